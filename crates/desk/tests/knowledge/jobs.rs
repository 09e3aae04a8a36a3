//! The Background jobs page's rows: a scheduled URL sync queued, running and completed (or
//! failed with its error), "Sync now" as its own row, and a re-index queued from the web that
//! the runner takes once and that reports its progress as it goes.

use switchboard_desk::domain::*;
use switchboard_desk::*;

use std::sync::Arc;

use switchboard_desk::search_layer::{
    DocKey, DocKind, IndexStats, SearchDoc, SearchEngine, SearchError, SearchHits, SearchQuery, Snippet, TantivyEngine,
};

use super::sources::{source, sources_env};
use super::*;

fn states(jobs: &[switchboard_desk::store::BackgroundJobRecord]) -> Vec<(String, String)> {
    jobs.iter().map(|j| (j.kind.clone(), j.state.clone())).collect()
}

#[tokio::test]
async fn url_syncs_show_as_queued_running_then_completed_or_failed() {
    let s = sources_env("kb_jobs_sync").await;
    let (desk, admin) = (&s.desk, &s.kb.env.admin);
    let url = format!("{}/page", s.base);
    let saved = desk.save_knowledge_source(admin, source(&url, None)).await.unwrap();
    let id = saved.source.id;

    // The runner's tick queues it: one row, however often it sees the source due.
    let due = desk.queue_knowledge_syncs(10).await.unwrap();
    assert_eq!(due, vec![(id, NOW)]);
    desk.queue_knowledge_syncs(10).await.unwrap();
    let jobs = desk.background_jobs(admin).await.unwrap();
    assert_eq!(states(&jobs), [("knowledge_sync".into(), "queued".into())]);
    assert_eq!((jobs[0].subject.as_str(), jobs[0].source_id, jobs[0].started_at), (url.as_str(), Some(id), None));

    assert!(desk.run_knowledge_sync(id, NOW).await.unwrap());
    let jobs = desk.background_jobs(admin).await.unwrap();
    assert_eq!(states(&jobs), [("knowledge_sync".into(), "completed".into())], "the queued row, finished");
    assert_eq!((jobs[0].processed, jobs[0].total), (1, Some(1)));
    assert_eq!((jobs[0].started_at, jobs[0].finished_at), (Some(NOW), Some(NOW)));
    assert_eq!(jobs[0].error, None);

    // "Sync now" of a failing page: its own row, failed, with the error the source shows.
    s.page.set(500, "text/plain", "down");
    s.clock.set(NOW + 60_000);
    let failed = desk.sync_knowledge_source(admin, id).await.unwrap();
    let jobs = desk.background_jobs(admin).await.unwrap();
    assert_eq!(
        states(&jobs),
        [("knowledge_sync".into(), "failed".into()), ("knowledge_sync".into(), "completed".into())]
    );
    assert_eq!(jobs[0].error, failed.source.last_error);
    assert!(jobs[0].error.as_deref().unwrap().contains("500"), "{:?}", jobs[0].error);
    assert_eq!(jobs[0].requested_by.as_deref(), Some(admin.label.as_str()));

    // A queued sync whose source was synced another way meanwhile leaves no row behind.
    s.clock.set(NOW + 200 * 60_000);
    let due = desk.queue_knowledge_syncs(10).await.unwrap();
    assert_eq!(due.len(), 1);
    desk.sync_knowledge_source(admin, id).await.unwrap();
    assert!(!desk.run_knowledge_sync(id, due[0].1).await.unwrap());
    let jobs = desk.background_jobs(admin).await.unwrap();
    assert!(jobs.iter().all(|j| j.state != "queued"), "{:?}", states(&jobs));

    // Other workspaces see none of it; customers are refused.
    let other = desk.create_workspace("beta", "Beta", "BT", "UTC", "General").await.unwrap();
    assert!(desk.background_jobs(&Actor::system(other.id)).await.unwrap().is_empty());
    let ticket = desk.open_ticket(admin, opening("Hi", "cust@example.com", None)).await.unwrap();
    let customer = Actor {
        workspace_id: admin.workspace_id,
        kind: ActorKind::Contact { id: ticket.requester_id },
        label: "C".into(),
    };
    assert!(matches!(desk.background_jobs(&customer).await, Err(DeskError::Forbidden(_))));
}

#[tokio::test]
async fn a_reindex_from_the_web_is_queued_runs_once_and_reports_its_progress() {
    let env = env("kb_jobs_reindex", NOW).await;
    let index = tempfile::tempdir().unwrap();
    let engine = Arc::new(PausingEngine::new(TantivyEngine::open(index.path()).unwrap()));
    env.desk.set_search_engine(engine.clone());
    let (desk, admin) = (&env.desk, &env.admin);
    for i in 0..1_050 {
        desk.open_ticket(admin, opening(&format!("Printer {i} is jammed"), &format!("c{i}@example.com"), None))
            .await
            .unwrap();
    }
    desk.save_knowledge_document(admin, paste("Toner", "Shake the toner cartridge.")).await.unwrap();
    let other = desk.create_workspace("beta", "Beta", "BT", "UTC", "General").await.unwrap();
    let beta = Actor::system(other.id);
    desk.open_ticket(&beta, opening("Beta printer", "b@example.com", None)).await.unwrap();
    // Leave the index empty of all of it, as a lost index would be.
    desk.rebuild_search_index(|_, _| {}).await.unwrap();
    desk.search_engine().unwrap().clear(DocKind::Ticket).await.unwrap();
    desk.search_engine().unwrap().clear(DocKind::Chunk).await.unwrap();
    desk.search_engine().unwrap().commit().await.unwrap();
    let found = |text: &'static str| async move {
        let f = TicketFilter { text: Some(text.into()), ..Default::default() };
        desk.list_tickets(admin, &f, 100, None).await.unwrap().total
    };
    assert_eq!(found("jammed").await, 0);

    let agent = staff(desk, admin, Role::Agent, "agent@acme.test").await;
    assert!(matches!(desk.start_reindex(&agent).await, Err(DeskError::Forbidden(_))));
    let job = desk.start_reindex(admin).await.unwrap();
    assert_eq!((job.kind.as_str(), job.state.as_str(), job.processed), ("reindex", "queued", 0));
    assert_eq!(desk.start_reindex(admin).await.unwrap().id, job.id, "one re-index at a time");
    assert_eq!(desk.runnable_reindex_jobs(10).await.unwrap().iter().map(|(id, _)| *id).collect::<Vec<_>>(), [job.id]);

    // The runner takes it; its progress shows part-way: the engine holds the second page back
    // until the page has been read while the job runs.
    engine.pause_before_second_page();
    let run = {
        let desk = desk.clone();
        tokio::spawn(async move { desk.run_reindex_job(job.id).await })
    };
    engine.reached.notified().await;
    let part_way = desk.background_jobs(admin).await.unwrap().remove(0);
    assert_eq!(
        (part_way.state.as_str(), part_way.processed, part_way.total),
        ("running", 500, Some(1_051)),
        "the first page of 500 tickets is counted while the rest waits"
    );
    engine.resume.notify_one();
    assert!(run.await.unwrap().unwrap());
    assert!(!desk.run_reindex_job(job.id).await.unwrap(), "a finished job is not run again");
    let done = desk.background_jobs(admin).await.unwrap().remove(0);
    assert_eq!(done.state, "completed", "{:?}", done.error);
    assert_eq!((done.processed, done.total), (1_051, Some(1_051)), "1,050 tickets and 1 document of this workspace");
    assert!(done.started_at.is_some() && done.finished_at.is_some());
    assert!(desk.runnable_reindex_jobs(10).await.unwrap().is_empty());

    assert_eq!(found("jammed").await, 1_050);
    assert_eq!(desk.knowledge_search(admin, "toner", 5).await.unwrap().len(), 1);
    // Only this workspace was written.
    let f = TicketFilter { text: Some("printer".into()), ..Default::default() };
    assert_eq!(desk.list_tickets(&beta, &f, 10, None).await.unwrap().total, 0);
}

/// A tantivy index that, once told to, stops before writing its second page of documents until
/// the test lets it go on: a re-index's progress can then be read part-way, whatever the speed.
#[derive(Debug)]
struct PausingEngine {
    inner: TantivyEngine,
    armed: std::sync::atomic::AtomicBool,
    upserts: std::sync::atomic::AtomicUsize,
    reached: tokio::sync::Notify,
    resume: tokio::sync::Notify,
}

impl PausingEngine {
    fn new(inner: TantivyEngine) -> Self {
        Self {
            inner,
            armed: false.into(),
            upserts: 0.into(),
            reached: tokio::sync::Notify::new(),
            resume: tokio::sync::Notify::new(),
        }
    }

    fn pause_before_second_page(&self) {
        self.upserts.store(0, std::sync::atomic::Ordering::SeqCst);
        self.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl SearchEngine for PausingEngine {
    fn index_name(&self) -> String {
        self.inner.index_name()
    }
    async fn upsert(&self, docs: Vec<SearchDoc>) -> Result<(), SearchError> {
        let n = self.upserts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n == 1 && self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.reached.notify_one();
            self.resume.notified().await;
        }
        self.inner.upsert(docs).await
    }
    async fn delete(&self, keys: Vec<DocKey>) -> Result<(), SearchError> {
        self.inner.delete(keys).await
    }
    async fn clear(&self, kind: DocKind) -> Result<(), SearchError> {
        self.inner.clear(kind).await
    }
    async fn commit(&self) -> Result<(), SearchError> {
        self.inner.commit().await
    }
    async fn search(&self, q: &SearchQuery) -> Result<SearchHits, SearchError> {
        self.inner.search(q).await
    }
    async fn snippets(&self, q: &SearchQuery, keys: &[DocKey]) -> Result<Vec<(DocKey, Snippet)>, SearchError> {
        self.inner.snippets(q, keys).await
    }
    async fn stats(&self) -> Result<IndexStats, SearchError> {
        self.inner.stats().await
    }
}
