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
