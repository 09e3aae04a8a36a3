//! Knowledge URL sources through the binary: a saved source is synced by the job runner on its
//! own (no "sync now"), its page becomes a URL document, and "sync now" against a failing page
//! shows Sync failed with the error. The page is served on loopback, which the test server's
//! outbound policy allows.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use crate::support::*;

#[derive(Clone, Default)]
struct Site {
    status: Arc<AtomicU16>,
    fetches: Arc<AtomicUsize>,
}

async fn page(State(site): State<Site>) -> impl IntoResponse {
    site.fetches.fetch_add(1, Ordering::SeqCst);
    let status = StatusCode::from_u16(site.status.load(Ordering::SeqCst)).unwrap();
    let html = "<html><head><title>Returns policy</title></head><body><h1>Returns</h1>\
                <p>Items can be returned within 30 days with the receipt.</p></body></html>";
    (status, [(header::CONTENT_TYPE, "text/html")], html)
}

const SOURCES: &str = "{ knowledgeSources { id health lastSyncedAt lastError documentId } }";

#[tokio::test]
async fn the_job_runner_syncs_a_saved_source_and_sync_now_shows_a_failure() {
    let ws = workspace().await;
    let site = Site::default();
    site.status.store(200, Ordering::SeqCst);
    let app = axum::Router::new().route("/returns", axum::routing::get(page)).with_state(site.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/returns", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let refused = gql(
        Some(&ws.admin),
        "mutation($u: String!) { saveKnowledgeSource(input: { url: $u, refreshMinutes: 5 }) { id } }",
        json!({ "u": url }),
    )
    .await;
    assert_error(&refused, "VALIDATION", Some("refreshMinutes"));

    let saved = ok(
        &ws.admin,
        "mutation($u: String!) { saveKnowledgeSource(input: { url: $u, refreshMinutes: 15 }) { id health refreshMinutes } }",
        json!({ "u": url }),
    )
    .await;
    assert_eq!(saved["saveKnowledgeSource"]["health"], "NEVER_SYNCED");
    let id = saved["saveKnowledgeSource"]["id"].as_str().unwrap().to_string();

    // Nobody asks for a sync: the job runner finds the new source due and fetches it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let source = loop {
        let list = ok(&ws.admin, SOURCES, json!({})).await;
        let s = list["knowledgeSources"][0].clone();
        if !s["lastSyncedAt"].is_null() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "the job runner never synced the source: {s}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(source["health"], "HEALTHY", "{source}");
    assert_eq!(site.fetches.load(Ordering::SeqCst), 1, "synced once");
    let doc = ok(
        &ws.admin,
        "query($id: ID!) { knowledgeDocument(id: $id) { title origin body version } }",
        json!({ "id": source["documentId"] }),
    )
    .await;
    assert_eq!(doc["knowledgeDocument"]["title"], "Returns policy");
    assert_eq!(doc["knowledgeDocument"]["origin"], "URL");
    assert!(doc["knowledgeDocument"]["body"].as_str().unwrap().starts_with("# Returns"), "{doc}");

    site.status.store(500, Ordering::SeqCst);
    let synced =
        ok(&ws.admin, "mutation($id: ID!) { syncKnowledgeSource(id: $id) { health lastError } }", json!({ "id": id }))
            .await;
    assert_eq!(synced["syncKnowledgeSource"]["health"], "SYNC_FAILED");
    let error = synced["syncKnowledgeSource"]["lastError"].as_str().unwrap();
    assert!(error.contains("500"), "{error}");
    let list = ok(&ws.admin, SOURCES, json!({})).await;
    assert_eq!(list["knowledgeSources"][0]["lastError"], error);
}

const JOBS: &str = "{ backgroundJobs { id kind state subject processed total error startedAt finishedAt } }";

/// Waits until the newest background job of `kind` is finished, and returns it.
async fn finished_job(token: &str, kind: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let list = ok(token, JOBS, json!({})).await;
        let job = list["backgroundJobs"].as_array().unwrap().iter().find(|j| j["kind"] == kind).cloned();
        if let Some(j) = job.filter(|j| j["state"] == "COMPLETED" || j["state"] == "FAILED") {
            return j;
        }
        assert!(std::time::Instant::now() < deadline, "the job runner never finished a {kind} job: {list}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn background_jobs_show_url_syncs_and_a_reindex_run_by_the_job_runner() {
    let ws = workspace().await;
    let site = Site::default();
    site.status.store(200, Ordering::SeqCst);
    let app = axum::Router::new().route("/returns", axum::routing::get(page)).with_state(site.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/returns", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    ok(
        &ws.admin,
        "mutation($u: String!) { saveKnowledgeSource(input: { url: $u, refreshMinutes: 15 }) { id } }",
        json!({ "u": url }),
    )
    .await;
    let sync = finished_job(&ws.admin, "KNOWLEDGE_SYNC").await;
    assert_eq!(sync["state"], "COMPLETED", "{sync}");
    assert_eq!((sync["processed"].as_i64(), sync["total"].as_i64()), (Some(1), Some(1)));
    assert_eq!(sync["subject"], url.as_str());
    assert!(!sync["startedAt"].is_null() && !sync["finishedAt"].is_null(), "{sync}");

    // A re-index asked for on the web: queued, then run by the job runner to the last document.
    open_ticket(&ws, "Reindex me: the scanner is offline").await;
    let refused = gql(Some(&ws.agent), "mutation { reindexSearch { id } }", json!({})).await;
    assert_error(&refused, "FORBIDDEN", None);
    let queued = ok(&ws.admin, "mutation { reindexSearch { id kind state processed } }", json!({})).await;
    assert_eq!(queued["reindexSearch"]["kind"], "REINDEX");
    assert!(["QUEUED", "RUNNING"].contains(&queued["reindexSearch"]["state"].as_str().unwrap()), "{queued}");
    let done = finished_job(&ws.admin, "REINDEX").await;
    assert_eq!(done["state"], "COMPLETED", "{done}");
    assert_eq!(done["id"], queued["reindexSearch"]["id"]);
    let total = done["total"].as_i64().unwrap();
    assert!(total >= 2, "this workspace's tickets and its URL document: {done}");
    assert_eq!(done["processed"].as_i64(), Some(total));
    // Agents read the page; other workspaces see none of it.
    let seen = ok(&ws.agent, JOBS, json!({})).await;
    assert_eq!(seen["backgroundJobs"].as_array().unwrap().len(), 2);
    let other = workspace().await;
    assert_eq!(ok(&other.admin, JOBS, json!({})).await["backgroundJobs"], json!([]));
}

#[tokio::test]
async fn the_help_center_shows_customers_public_articles_only_and_suggests_them() {
    let ws = workspace().await;
    let save = "mutation($t: String!, $b: String!, $p: Boolean) {
        saveKnowledgeDocument(input: { title: $t, body: $b, format: MARKDOWN, public: $p }) { id public } }";
    let public = ok(
        &ws.admin,
        save,
        json!({ "t": "Resetting your password", "b": "# Passwords\nUse the Forgot password link to reset it.", "p": true }),
    )
    .await;
    let article = public["saveKnowledgeDocument"]["id"].as_str().unwrap().to_string();
    assert_eq!(public["saveKnowledgeDocument"]["public"], true);
    let private = ok(
        &ws.admin,
        save,
        json!({ "t": "Password vault runbook", "b": "Internal: the password vault master key rotation.", "p": null }),
    )
    .await;
    let runbook = private["saveKnowledgeDocument"]["id"].as_str().unwrap().to_string();
    assert_eq!(private["saveKnowledgeDocument"]["public"], false);
    let other = workspace().await;
    ok(&other.admin, save, json!({ "t": "Other password help", "b": "Other workspace password help.", "p": true }))
        .await;

    let search = "query($q: String!) { helpCenterSearch(text: $q, first: 5) { articleId title fragments { text highlighted } } }";
    // The suggestion a customer gets while typing a subject, once the index has the article.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let hits = loop {
        let r = ok(&ws.customer, search, json!({ "q": "forgot pasword" })).await;
        if !r["helpCenterSearch"].as_array().unwrap().is_empty() {
            break r["helpCenterSearch"].clone();
        }
        assert!(std::time::Instant::now() < deadline, "the article was never found");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(hits.as_array().unwrap().len(), 1, "{hits}");
    assert_eq!(hits[0]["articleId"], article.as_str());
    let text = hits.to_string();
    assert!(!text.contains("vault") && !text.contains("Other"), "{text}");

    let list = ok(&ws.customer, "{ helpCenterArticles { id title } helpCenterFolders { id } }", json!({})).await;
    assert_eq!(list["helpCenterArticles"], json!([{ "id": article, "title": "Resetting your password" }]));
    let read =
        ok(&ws.customer, "query($id: ID!) { helpCenterArticle(id: $id) { title body } }", json!({ "id": article }))
            .await;
    assert!(read["helpCenterArticle"]["body"].as_str().unwrap().contains("Forgot password"));
    let hidden =
        gql(Some(&ws.customer), "query($id: ID!) { helpCenterArticle(id: $id) { title } }", json!({ "id": runbook }))
            .await;
    assert_error(&hidden, "NOT_FOUND", None);
    let foreign = gql(
        Some(&other.customer),
        "query($id: ID!) { helpCenterArticle(id: $id) { title } }",
        json!({ "id": article }),
    )
    .await;
    assert_error(&foreign, "NOT_FOUND", None);
    // Customers still never reach the staff knowledge base.
    let staff_only = gql(Some(&ws.customer), "{ knowledgeDocuments { id } }", json!({})).await;
    assert_error(&staff_only, "FORBIDDEN", None);

    // Taken out of the help center, it is gone for customers at once.
    ok(
        &ws.admin,
        "mutation($id: ID!) { setKnowledgeDocumentPublic(id: $id, public: false) { public } }",
        json!({ "id": article }),
    )
    .await;
    let r = ok(&ws.customer, search, json!({ "q": "forgot password" })).await;
    assert_eq!(r["helpCenterSearch"], json!([]));
    let list = ok(&ws.customer, "{ helpCenterArticles { id } }", json!({})).await;
    assert_eq!(list["helpCenterArticles"], json!([]));
}
