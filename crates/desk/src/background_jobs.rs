//! The Background jobs page: URL syncs and re-indexing, each a row with its state (queued,
//! running, completed, failed), progress (processed of total) and times.
//!
//! The rows are an account for people; the work is the job runner's. A scheduled URL sync gets
//! its row when the runner queues it (keyed by the source and its due time, like the runner's own
//! job, so seeing it due again adds nothing) and the sync moves it along; "Sync now" writes a row
//! that starts running at once. A re-index asked for on the web is queued here and taken by the
//! runner ([`Desk::runnable_reindex_jobs`], [`Desk::run_reindex_job`]), which moves its progress
//! after every page, so the page shows it advance. A running job that stops moving for
//! [`STALLED_AFTER_MS`] lost its worker (a crash) and is taken again.

use switchboard_domain::{Actor, Millis, Permission, TicketId, WorkspaceId};
use switchboard_store::BackgroundJobRecord;

use crate::{Desk, DeskError, require};

/// Jobs kept per workspace (the newest; unfinished ones always).
pub const KEPT_JOBS: i64 = 200;
/// A running job whose progress has not moved for this long lost its worker.
pub const STALLED_AFTER_MS: Millis = 10 * 60_000;
/// Tickets per page of a workspace re-index (its progress moves after each).
const REINDEX_PAGE: i64 = 500;
/// How often a re-index commits what it wrote (a commit per page would cost more than the
/// pages at a million tickets); its last commit is at the end.
const REINDEX_COMMIT_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
/// Knowledge documents per page of a workspace re-index.
const REINDEX_DOCUMENT_PAGE: usize = 50;
/// The most rows the page lists.
const LISTED_JOBS: i64 = 100;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackgroundJobKind {
    /// A knowledge URL source's fetch and re-index.
    KnowledgeSync,
    /// Every search document of the workspace written again from the database.
    Reindex,
}

impl BackgroundJobKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BackgroundJobKind::KnowledgeSync => "knowledge_sync",
            BackgroundJobKind::Reindex => "reindex",
        }
    }

    /// The kind a stored name stands for.
    pub fn parse(s: &str) -> BackgroundJobKind {
        if s == "reindex" { BackgroundJobKind::Reindex } else { BackgroundJobKind::KnowledgeSync }
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackgroundJobState {
    Queued,
    Running,
    Completed,
    Failed,
}

impl BackgroundJobState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BackgroundJobState::Queued => "queued",
            BackgroundJobState::Running => "running",
            BackgroundJobState::Completed => "completed",
            BackgroundJobState::Failed => "failed",
        }
    }

    /// The state a stored name stands for.
    pub fn parse(s: &str) -> BackgroundJobState {
        match s {
            "running" => BackgroundJobState::Running,
            "completed" => BackgroundJobState::Completed,
            "failed" => BackgroundJobState::Failed,
            _ => BackgroundJobState::Queued,
        }
    }
}

/// The key of a scheduled sync's row: its source and the due time the runner saw.
pub fn knowledge_sync_key(source_id: i64, due_at: Millis) -> String {
    format!("knowledge-sync-{source_id}-{due_at}")
}

pub(crate) fn new_job(
    ws: WorkspaceId,
    kind: BackgroundJobKind,
    state: BackgroundJobState,
    subject: String,
    now: Millis,
) -> BackgroundJobRecord {
    BackgroundJobRecord {
        id: 0,
        workspace_id: ws,
        kind: kind.as_str().into(),
        state: state.as_str().into(),
        subject,
        source_id: None,
        dedup_key: None,
        processed: 0,
        total: None,
        error: None,
        requested_by: None,
        created_at: now,
        started_at: (state == BackgroundJobState::Running).then_some(now),
        finished_at: None,
        updated_at: now,
    }
}

impl Desk {
    /// The workspace's background jobs, newest first (staff).
    pub async fn background_jobs(&self, actor: &Actor) -> Result<Vec<BackgroundJobRecord>, DeskError> {
        crate::knowledge::read_access(actor)?;
        Ok(self.store().read().await?.background_jobs(actor.workspace_id, LISTED_JOBS).await?)
    }

    /// Queues a re-index of the workspace: every ticket and knowledge document written into the
    /// search index again from the database. The job runner runs it; its row shows the progress.
    /// A re-index already queued or running is returned instead of a second one. Admins.
    pub async fn start_reindex(&self, actor: &Actor) -> Result<BackgroundJobRecord, DeskError> {
        require(actor, Permission::Admin)?;
        if self.search_engine().is_none() {
            return Err(DeskError::Conflict("this server has no search engine to re-index".into()));
        }
        let ws = actor.workspace_id;
        let now = self.now();
        let mut tx = self.store().write().await?;
        if let Some(open) = tx.background_jobs(ws, LISTED_JOBS).await?.into_iter().find(|j| {
            j.kind == BackgroundJobKind::Reindex.as_str()
                && matches!(
                    BackgroundJobState::parse(&j.state),
                    BackgroundJobState::Queued | BackgroundJobState::Running
                )
        }) {
            return Ok(open);
        }
        let mut job =
            new_job(ws, BackgroundJobKind::Reindex, BackgroundJobState::Queued, "Tickets and knowledge".into(), now);
        job.requested_by = Some(actor.label.clone());
        job.dedup_key = Some(format!("reindex-{}-{now}", ws.0));
        let job = tx
            .insert_background_job(&job)
            .await?
            .ok_or_else(|| DeskError::Conflict("a re-index was just asked for; try again in a moment".into()))?;
        tx.commit().await?;
        Ok(job)
    }

    /// Re-index jobs waiting for a worker (queued, or stalled), any workspace's, with the time
    /// each last moved: the runner's.
    pub async fn runnable_reindex_jobs(&self, limit: i64) -> Result<Vec<(i64, Millis)>, DeskError> {
        let stale = self.now() - STALLED_AFTER_MS;
        Ok(self
            .store()
            .read()
            .await?
            .runnable_background_jobs(BackgroundJobKind::Reindex.as_str(), stale, limit)
            .await?)
    }

    /// Runs a queued re-index: claims it (false when another worker has it, or it is gone),
    /// writes the workspace's tickets and then its knowledge documents into the index page by
    /// page, moving the job's progress after each, and marks it completed, or failed with the
    /// error. A stalled job is started over (writing a document twice changes nothing).
    pub async fn run_reindex_job(&self, id: i64) -> Result<bool, DeskError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        if !tx.claim_background_job(id, now, now - STALLED_AFTER_MS).await? {
            return Ok(false);
        }
        let job = tx.background_job_by_id(id).await?.ok_or(DeskError::NotFound("background job"))?;
        tx.commit().await?;
        let outcome = self.reindex_workspace(job.clone()).await;
        let mut tx = self.store().write().await?;
        let mut job = tx.background_job_by_id(id).await?.unwrap_or(job);
        let now = self.now();
        job.finished_at = Some(now);
        job.updated_at = now;
        match &outcome {
            Ok(()) => job.state = BackgroundJobState::Completed.as_str().into(),
            Err(e) => {
                tracing::warn!(job = id, error = %e, "re-index failed");
                job.state = BackgroundJobState::Failed.as_str().into();
                job.error = Some(match e {
                    DeskError::Internal(_) => "the search index could not be written; see the server's log".into(),
                    e => e.to_string(),
                });
            }
        }
        tx.update_background_job(&job).await?;
        tx.prune_background_jobs(job.workspace_id, KEPT_JOBS).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn reindex_workspace(&self, mut job: BackgroundJobRecord) -> Result<(), DeskError> {
        let engine = self
            .search_engine()
            .cloned()
            .ok_or_else(|| DeskError::Conflict("this server has no search engine to re-index".into()))?;
        let ws = job.workspace_id;
        let mut tx = self.store().read().await?;
        let tickets = tx.count_workspace_tickets(ws).await?;
        let documents = tx.workspace_knowledge_document_ids(ws).await?;
        drop(tx);
        job.processed = 0;
        job.total = Some(tickets + documents.len() as i64);
        self.save_progress(&mut job).await?;
        let mut committed = std::time::Instant::now();
        let mut after = TicketId(0);
        loop {
            let mut tx = self.store().read().await?;
            let ids = tx.workspace_ticket_ids_after(ws, after, REINDEX_PAGE).await?;
            let Some(last) = ids.last().copied() else { break };
            let (docs, _) = crate::search::ticket_docs(&mut tx, &ids).await?;
            drop(tx);
            engine.upsert(docs).await?;
            if committed.elapsed() >= REINDEX_COMMIT_EVERY {
                engine.commit().await?;
                committed = std::time::Instant::now();
            }
            after = last;
            job.processed += ids.len() as i64;
            self.save_progress(&mut job).await?;
        }
        for page in documents.chunks(REINDEX_DOCUMENT_PAGE) {
            let chunks = self.store().read().await?.knowledge_chunks_of(page).await?;
            engine.upsert(chunks.iter().map(crate::knowledge::chunk_doc).collect()).await?;
            job.processed += page.len() as i64;
            self.save_progress(&mut job).await?;
        }
        engine.commit().await?;
        Ok(())
    }

    async fn save_progress(&self, job: &mut BackgroundJobRecord) -> Result<(), DeskError> {
        job.updated_at = self.now();
        if let Some(total) = job.total {
            job.total = Some(total.max(job.processed));
        }
        let mut tx = self.store().write().await?;
        tx.update_background_job(job).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues a row for each due knowledge source sync the runner is about to queue (keyed by
    /// source and due time: seen again, nothing is added), and returns them as
    /// [`Desk::due_knowledge_sources`] does.
    pub async fn queue_knowledge_syncs(&self, limit: i64) -> Result<Vec<(i64, Millis)>, DeskError> {
        let due = self.due_knowledge_sources(limit).await?;
        if due.is_empty() {
            return Ok(due);
        }
        let now = self.now();
        let mut tx = self.store().write().await?;
        for (source_id, due_at) in &due {
            let Some(s) = tx.knowledge_source_by_id(*source_id).await? else { continue };
            let mut job =
                new_job(s.workspace_id, BackgroundJobKind::KnowledgeSync, BackgroundJobState::Queued, s.url, now);
            job.source_id = Some(s.id);
            job.dedup_key = Some(knowledge_sync_key(*source_id, *due_at));
            job.total = Some(1);
            tx.insert_background_job(&job).await?;
        }
        tx.commit().await?;
        Ok(due)
    }
}

impl Desk {
    /// The row of a sync about to run: the runner's queued row for `key`, or a new one (Sync now,
    /// or a sync queued before this row existed), now running.
    pub(crate) async fn begin_sync_job(
        &self,
        s: &switchboard_store::KnowledgeSourceRecord,
        key: Option<String>,
        requested_by: Option<String>,
    ) -> Result<BackgroundJobRecord, DeskError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let queued = match &key {
            Some(k) => tx.background_job_by_key(k).await?,
            None => None,
        };
        let job = match queued {
            Some(mut j) => {
                j.state = BackgroundJobState::Running.as_str().into();
                j.started_at = Some(now);
                j.updated_at = now;
                tx.update_background_job(&j).await?;
                j
            }
            None => {
                let mut j = new_job(
                    s.workspace_id,
                    BackgroundJobKind::KnowledgeSync,
                    BackgroundJobState::Running,
                    s.url.clone(),
                    now,
                );
                j.source_id = Some(s.id);
                j.dedup_key = key;
                j.total = Some(1);
                j.requested_by = requested_by;
                match tx.insert_background_job(&j).await? {
                    Some(j) => j,
                    None => return Err(DeskError::Conflict("this sync has a row already".into())),
                }
            }
        };
        tx.commit().await?;
        Ok(job)
    }

    /// Drops the row of a scheduled sync that did not run (another worker, or "Sync now", took
    /// the source first).
    pub(crate) async fn forget_sync_job(&self, key: &str) -> Result<(), DeskError> {
        let mut tx = self.store().write().await?;
        tx.delete_queued_background_job(key).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Marks a sync's row finished, in the sync's own transaction.
pub(crate) async fn finish_sync_job(
    tx: &mut switchboard_store::Tx,
    mut job: BackgroundJobRecord,
    error: Option<String>,
    now: Millis,
) -> Result<(), DeskError> {
    job.processed = 1;
    job.total = Some(1);
    job.finished_at = Some(now);
    job.updated_at = now;
    job.state =
        if error.is_some() { BackgroundJobState::Failed } else { BackgroundJobState::Completed }.as_str().into();
    job.error = error;
    tx.update_background_job(&job).await?;
    tx.prune_background_jobs(job.workspace_id, KEPT_JOBS).await?;
    Ok(())
}
