//! Knowledge URL sources against a real HTTP server on loopback (allowed by the operator's
//! outbound policy, as a webhook receiver is in the webhook tests): syncs, versions only for a
//! changed page, failures shown as Sync failed with their error, redirects re-checked by the
//! guard, and every health state reached by moving the manual clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use switchboard_desk::domain::*;
use switchboard_desk::egress::OutboundGuard;
use switchboard_desk::*;

use super::*;

const MINUTE: Millis = 60_000;
const DAY: Millis = 24 * 60 * MINUTE;

/// What the test server's `/page` answers: status, content type and body, changed by the test.
#[derive(Clone)]
pub(crate) struct Page(Arc<Mutex<(u16, &'static str, String)>>);

impl Page {
    pub(crate) fn set(&self, status: u16, content_type: &'static str, body: &str) {
        *self.0.lock().unwrap() = (status, content_type, body.to_string());
    }
}

async fn page(State(p): State<Page>) -> Response {
    let (status, content_type, body) = p.0.lock().unwrap().clone();
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    (StatusCode::from_u16(status).unwrap(), headers, body).into_response()
}

fn redirect(to: &'static str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}

/// A web server on a loopback port: `/page` as the test sets it, `/slow` answering after five
/// seconds, `/big` just over 5 MB, redirects to `/page` and to private and metadata addresses.
async fn web_server(p: Page) -> String {
    let app = axum::Router::new()
        .route("/page", get(page))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route("/big", get(|| async { ([(header::CONTENT_TYPE, "text/plain")], "a".repeat(MAX_KNOWLEDGE_BYTES + 1)) }))
        .route("/moved", get(|| async { redirect("/page") }))
        .route("/to-private", get(|| async { redirect("http://10.0.0.7/admin") }))
        .route("/to-metadata", get(|| async { redirect("http://169.254.169.254/latest/meta-data/") }))
        .route("/to-other-loopback", get(|| async { redirect("http://127.0.0.2:9/") }))
        .with_state(p);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

const GUIDE: &str = "<!doctype html><html><head><title>Printer guide</title><script>var x = 1;</script></head>\
    <body><h1>Printers</h1><h2>Jams</h2><p>Open tray B to clear a paper jam.</p></body></html>";
const GUIDE_CHANGED: &str = "<html><head><title>Printer guide</title></head><body><h1>Printers</h1>\
    <h2>Toner</h2><p>Shake the toner cartridge before you replace it.</p></body></html>";

pub(crate) struct Sources {
    pub(crate) kb: Kb,
    pub(crate) desk: Desk,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) page: Page,
    pub(crate) base: String,
}

/// A knowledge base whose desk may reach 127.0.0.1 (and nothing else private), with its own
/// manual clock and a one-second fetch limit.
pub(crate) async fn sources_env(label: &str) -> Sources {
    let kb = kb_env(label).await;
    let clock = Arc::new(ManualClock::at(NOW));
    let guard = OutboundGuard::with_policy(OutboundPolicy::parse("127.0.0.1").unwrap());
    let desk = kb
        .env
        .desk
        .with_clock(clock.clone())
        .with_outbound(guard)
        .with_knowledge_fetch(KnowledgeFetchSettings { timeout: Duration::from_secs(1) });
    let page = Page(Arc::new(Mutex::new((200, "text/html; charset=utf-8", GUIDE.to_string()))));
    let base = web_server(page.clone()).await;
    Sources { kb, desk, clock, page, base }
}

pub(crate) fn source(url: &str, minutes: Option<i64>) -> KnowledgeSourceInput {
    KnowledgeSourceInput { url: url.into(), refresh_minutes: minutes }
}

async fn chunk_ids(desk: &Desk, admin: &Actor, doc: i64) -> Vec<i64> {
    desk.knowledge_chunks(admin, doc).await.unwrap().iter().map(|c| c.id).collect()
}

#[tokio::test]
async fn a_url_source_syncs_and_only_a_changed_page_makes_a_version_and_a_re_index() {
    let s = sources_env("kb_source_sync").await;
    let (desk, admin) = (&s.desk, &s.kb.env.admin);
    let url = format!("{}/page", s.base);

    let saved = desk.save_knowledge_source(admin, source(&url, None)).await.unwrap();
    assert_eq!(saved.source.refresh_minutes, DEFAULT_REFRESH_MINUTES);
    assert_eq!(saved.health, KnowledgeSourceHealth::NeverSynced);
    assert_eq!(saved.source.next_sync_at, NOW, "due for its first sync at once");
    assert_eq!(desk.due_knowledge_sources(10).await.unwrap(), vec![(saved.source.id, NOW)]);

    let synced = desk.sync_knowledge_source(admin, saved.source.id).await.unwrap();
    assert_eq!(synced.health, KnowledgeSourceHealth::Healthy, "{:?}", synced.source.last_error);
    assert_eq!(synced.source.last_synced_at, Some(NOW));
    assert_eq!(synced.source.next_sync_at, NOW + 180 * MINUTE);
    let doc_id = synced.source.document_id.unwrap();
    let doc = desk.knowledge_document(admin, doc_id).await.unwrap().unwrap();
    assert_eq!((doc.origin.as_str(), doc.title.as_str(), doc.version), ("url", "Printer guide", 1));
    assert!(!doc.body.contains("var x"), "scripts are not text: {}", doc.body);
    let chunks = desk.knowledge_chunks(admin, doc_id).await.unwrap();
    assert_eq!(heading_path(&chunks[0].heading_path), ["Printers", "Jams"], "headings kept");
    catch_up(desk).await;
    let hits = desk.knowledge_search(admin, "paper jam", 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].chunk.document_id, doc_id);

    // The same page again: no version, no new chunks, nothing for the index to do.
    let before = chunk_ids(desk, admin, doc_id).await;
    s.clock.set(NOW + 5 * MINUTE);
    let again = desk.sync_knowledge_source(admin, saved.source.id).await.unwrap();
    assert_eq!(again.source.last_synced_at, Some(NOW + 5 * MINUTE));
    assert_eq!(desk.knowledge_versions(admin, doc_id).await.unwrap().len(), 1);
    assert_eq!(chunk_ids(desk, admin, doc_id).await, before);
    assert_eq!(desk.search_backlog().await.unwrap(), 0, "an unchanged page is not re-indexed");

    // A changed page: a version, new chunks, and search follows.
    s.page.set(200, "text/html", GUIDE_CHANGED);
    s.clock.set(NOW + 10 * MINUTE);
    desk.sync_knowledge_source(admin, saved.source.id).await.unwrap();
    let versions = desk.knowledge_versions(admin, doc_id).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), [2, 1]);
    assert_ne!(chunk_ids(desk, admin, doc_id).await, before);
    assert!(desk.search_backlog().await.unwrap() > 0, "a changed page is re-indexed");
    catch_up(desk).await;
    assert_eq!(desk.knowledge_search(admin, "toner cartridge", 10).await.unwrap().len(), 1);
    assert!(desk.knowledge_search(admin, "paper jam", 10).await.unwrap().is_empty());

    // A URL document follows its page: no edits, no reverts.
    let edit = KnowledgeDocumentInput {
        id: Some(doc_id),
        title: "Mine".into(),
        body: "edited".into(),
        format: KnowledgeFormat::Text,
        folder_id: None,
        public: None,
    };
    assert_eq!(validation(desk.save_knowledge_document(admin, edit).await.unwrap_err()).0, "id");
    assert_eq!(validation(desk.revert_knowledge_document(admin, doc_id, 1).await.unwrap_err()).0, "id");

    // Saving the URL again changes its interval, not the source.
    let resaved = desk.save_knowledge_source(admin, source(&url, Some(15))).await.unwrap();
    assert_eq!((resaved.source.id, resaved.source.refresh_minutes), (saved.source.id, 15));
    assert_eq!(desk.knowledge_sources(admin).await.unwrap().len(), 1);

    // Deleting the source takes its document (and its chunks leave the index).
    desk.delete_knowledge_source(admin, saved.source.id).await.unwrap();
    assert!(desk.knowledge_document(admin, doc_id).await.unwrap().is_none());
    catch_up(desk).await;
    assert!(desk.knowledge_search(admin, "toner", 10).await.unwrap().is_empty());
    assert!(desk.knowledge_sources(admin).await.unwrap().is_empty());
}

#[tokio::test]
async fn saving_a_source_validates_the_url_and_the_interval_by_field() {
    let s = sources_env("kb_source_validate").await;
    let (desk, admin) = (&s.desk, &s.kb.env.admin);
    let url = format!("{}/page", s.base);
    let (field, message) = validation(desk.save_knowledge_source(admin, source(&url, Some(14))).await.unwrap_err());
    assert_eq!(field, "refreshMinutes");
    assert!(message.contains("15"), "{message}");
    let (field, _) =
        validation(desk.save_knowledge_source(admin, source("ftp://files.example/x", None)).await.unwrap_err());
    assert_eq!(field, "url");
    let (field, message) =
        validation(desk.save_knowledge_source(admin, source("http://10.0.0.7/wiki", None)).await.unwrap_err());
    assert_eq!(field, "url");
    assert!(message.contains("private"), "{message}");
    // An agent reads sources but cannot add one.
    let agent = staff(desk, admin, Role::Agent, "agent@acme.test").await;
    assert!(matches!(desk.save_knowledge_source(&agent, source(&url, None)).await, Err(DeskError::Forbidden(_))));
    desk.save_knowledge_source(admin, source(&url, Some(15))).await.unwrap();
    assert_eq!(desk.knowledge_sources(&agent).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_500_a_timeout_and_refused_redirects_show_sync_failed_with_the_error() {
    let s = sources_env("kb_source_fail").await;
    let (desk, admin) = (&s.desk, &s.kb.env.admin);
    let add = |path: &str| source(&format!("{}{path}", s.base), Some(15));

    let page = desk.save_knowledge_source(admin, add("/page")).await.unwrap().source;
    let first = desk.sync_knowledge_source(admin, page.id).await.unwrap();
    let doc_id = first.source.document_id.unwrap();
    s.page.set(500, "text/html", "<h1>Oops</h1>");
    let failed = desk.sync_knowledge_source(admin, page.id).await.unwrap();
    assert_eq!(failed.health, KnowledgeSourceHealth::SyncFailed);
    let error = failed.source.last_error.clone().unwrap();
    assert!(error.contains("500"), "{error}");
    assert_eq!(failed.source.last_synced_at, first.source.last_synced_at, "the last success stays");
    let doc = desk.knowledge_document(admin, doc_id).await.unwrap().unwrap();
    assert_eq!((doc.version, doc.title.as_str()), (1, "Printer guide"), "a failure keeps the content");
    // Listed with its error, as the Knowledge page shows it.
    let listed = desk.knowledge_sources(admin).await.unwrap();
    assert_eq!(listed[0].health, KnowledgeSourceHealth::SyncFailed);
    assert_eq!(listed[0].source.last_error.as_deref(), Some(error.as_str()));

    let cases: [(&str, &[&str]); 6] = [
        ("/slow", &["did not answer within 1 s"]),
        ("/to-private", &["redirected to http://10.0.0.7/admin", "private network address"]),
        ("/to-metadata", &["redirected to http://169.254.169.254/", "link-local"]),
        ("/to-other-loopback", &["redirected to http://127.0.0.2:9/", "loopback address"]),
        ("/big", &["larger than 5 MB"]),
        ("/nothing-here", &["404"]),
    ];
    for (path, expected) in cases {
        let src = desk.save_knowledge_source(admin, add(path)).await.unwrap().source;
        let started = std::time::Instant::now();
        let v = desk.sync_knowledge_source(admin, src.id).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(4), "{path} took {:?}", started.elapsed());
        assert_eq!(v.health, KnowledgeSourceHealth::SyncFailed, "{path}");
        assert!(v.source.document_id.is_none(), "{path}");
        let error = v.source.last_error.unwrap();
        for e in expected {
            assert!(error.contains(e), "{path}: {error:?} should contain {e:?}");
        }
    }

    // A redirect within what the policy allows is followed, and a success clears the error.
    s.page.set(200, "text/plain", "Plain text answers about fax machines.");
    let moved = desk.save_knowledge_source(admin, add("/moved")).await.unwrap().source;
    let v = desk.sync_knowledge_source(admin, moved.id).await.unwrap();
    assert_eq!(v.health, KnowledgeSourceHealth::Healthy, "{:?}", v.source.last_error);
    let doc = desk.knowledge_document(admin, v.source.document_id.unwrap()).await.unwrap().unwrap();
    assert_eq!(doc.body, "Plain text answers about fax machines.");
    let v = desk.sync_knowledge_source(admin, page.id).await.unwrap();
    assert_eq!((v.health, v.source.last_error), (KnowledgeSourceHealth::Healthy, None));

    s.page.set(200, "application/pdf", "%PDF-1.4");
    let v = desk.sync_knowledge_source(admin, page.id).await.unwrap();
    assert!(v.source.last_error.unwrap().contains("application/pdf, not HTML or text"));
}

#[tokio::test]
async fn every_health_state_is_reached_with_the_manual_clock() {
    let s = sources_env("kb_source_health").await;
    let (desk, admin) = (&s.desk, &s.kb.env.admin);
    let health = || async { desk.knowledge_sources(admin).await.unwrap()[0].health };
    let alerts = || async {
        desk.knowledge_freshness_alerts(admin).await.unwrap().into_iter().map(|(_, why)| why).collect::<Vec<_>>()
    };
    let id = desk.save_knowledge_source(admin, source(&format!("{}/page", s.base), Some(15))).await.unwrap().source.id;
    assert_eq!(health().await, KnowledgeSourceHealth::NeverSynced);

    s.page.set(503, "text/plain", "maintenance");
    desk.sync_knowledge_source(admin, id).await.unwrap();
    assert_eq!(health().await, KnowledgeSourceHealth::SyncFailed);

    // The job runner's path: due (a minute after the failure, not a whole interval), claimed
    // once, synced.
    s.page.set(200, "text/html", GUIDE);
    let retry = NOW + MINUTE;
    let t0 = NOW + 15 * MINUTE;
    s.clock.set(t0);
    let due = desk.due_knowledge_sources(10).await.unwrap();
    assert_eq!(due, vec![(id, retry)]);
    assert!(desk.run_knowledge_sync(id, retry).await.unwrap());
    assert!(!desk.run_knowledge_sync(id, retry).await.unwrap(), "a second job for the same due time does nothing");
    assert_eq!(health().await, KnowledgeSourceHealth::Healthy);
    assert!(alerts().await.is_empty());
    assert!(desk.due_knowledge_sources(10).await.unwrap().is_empty());

    // Due at t0 + 15 min; late by less than the grace is still healthy.
    s.clock.set(t0 + 29 * MINUTE);
    assert_eq!(health().await, KnowledgeSourceHealth::Healthy);
    s.clock.set(t0 + 30 * MINUTE + 1);
    assert_eq!(health().await, KnowledgeSourceHealth::SyncOverdue);
    assert!(alerts().await.is_empty(), "overdue is not yet stale");
    s.clock.set(t0 + 45 * MINUTE + 1);
    assert_eq!(health().await, KnowledgeSourceHealth::StaleSync);
    assert_eq!(alerts().await, [KnowledgeFreshness::StaleSync]);

    // Synced on time for 30 days, and never returned by a search.
    let t1 = t0 + 30 * DAY + MINUTE;
    s.clock.set(t1);
    desk.sync_knowledge_source(admin, id).await.unwrap();
    assert_eq!(health().await, KnowledgeSourceHealth::NeverRetrieved);
    assert_eq!(alerts().await, [KnowledgeFreshness::NeverRetrieved]);

    // A search that returns its chunk makes it healthy again.
    catch_up(desk).await;
    assert_eq!(desk.knowledge_search(admin, "paper jam", 10).await.unwrap().len(), 1);
    let listed = desk.knowledge_sources(admin).await.unwrap();
    assert_eq!(listed[0].source.last_retrieved_at, Some(t1));
    assert_eq!(listed[0].health, KnowledgeSourceHealth::Healthy);
    assert!(alerts().await.is_empty());
    // ...for 30 days.
    s.clock.set(t1 + 30 * DAY + MINUTE);
    desk.sync_knowledge_source(admin, id).await.unwrap();
    assert_eq!(health().await, KnowledgeSourceHealth::NeverRetrieved);
}

#[tokio::test]
async fn a_failing_source_is_retried_sooner_with_backoff_and_back_on_its_interval_after_a_success() {
    let s = sources_env("kb_source_backoff").await;
    let (desk, admin) = (&s.desk, &s.kb.env.admin);
    let id = desk.save_knowledge_source(admin, source(&format!("{}/page", s.base), Some(15))).await.unwrap().source.id;
    s.page.set(500, "text/plain", "down");
    let mut now = NOW;
    // 1, 2, 4, 8 minutes after each failure in a row, then never later than the 15-minute interval.
    for expected in [1, 2, 4, 8, 15, 15] {
        let v = desk.sync_knowledge_source(admin, id).await.unwrap();
        assert_eq!(v.health, KnowledgeSourceHealth::SyncFailed);
        assert_eq!(v.source.next_sync_at, now + expected * MINUTE, "after {} failures", v.source.failures);
        now = v.source.next_sync_at;
        s.clock.set(now);
    }
    s.page.set(200, "text/html", GUIDE);
    let v = desk.sync_knowledge_source(admin, id).await.unwrap();
    assert_eq!((v.health, v.source.failures), (KnowledgeSourceHealth::Healthy, 0));
    assert_eq!(v.source.next_sync_at, now + 15 * MINUTE, "back on its interval");
    s.page.set(500, "text/plain", "down again");
    let v = desk.sync_knowledge_source(admin, id).await.unwrap();
    assert_eq!(v.source.next_sync_at, now + MINUTE, "a new run of failures starts at a minute again");
}
