//! Search: ticket documents built from the database, kept current from the event stream, and
//! ticket search through the search layer (`switchboard_search`).
//!
//! The indexer reads the event stream like the webhook dispatcher does (by transaction id, so an
//! event committed late is never skipped), re-reads each changed ticket whole and writes its
//! document, commits the index, and only then moves its cursor in the database. A crash in
//! between leaves the cursor behind, and the same tickets are indexed again on restart: a
//! document is rebuilt from the ticket as it is, so doing it twice changes nothing. The cursor is
//! named after the index (`search:<index name>`): a new or rebuilt index has no cursor yet and is
//! rebuilt from the database instead of replaying the whole stream.
//!
//! Knowledge chunks and tips plug in the same way: a builder from their rows to [`SearchDoc`]s
//! (kind `Chunk` / `Tip`, `public` for the help center), written on their own events.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard_domain::{Actor, Permission, TicketId};
use switchboard_search::{Audience, DocKey, DocKind, SearchDoc, SearchEngine, SearchQuery, Snippet};
use switchboard_store::{EntrySearchRow, StreamPosition, TicketQuery, TicketSearchRow, Tx};

use crate::{Desk, DeskError};

/// Most text of one kind (public, internal) a ticket's document holds; past it the oldest text
/// is kept (where a conversation says what it is about).
const MAX_DOC_TEXT: usize = 256 * 1024;
/// Events read per indexing round.
const EVENTS_PER_ROUND: i64 = 1_000;
/// Tickets per page of a rebuild.
const REBUILD_PAGE: i64 = 500;
/// Ranked matches taken from the engine for one search; other filters narrow these.
pub const SEARCH_WINDOW: usize = 2_000;
/// A lease so only one replica writes a shared index (Meilisearch) at a time.
const LEASE_TTL: Duration = Duration::from_secs(60);

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildSummary {
    pub tickets: u64,
    pub documents: u64,
    pub disk_bytes: Option<u64>,
    pub elapsed: Duration,
}

/// The search engine a desk and the desks built from it share, and the indexer's wake-up call.
#[derive(Debug, Default)]
pub(crate) struct SearchSlot {
    engine: std::sync::OnceLock<Arc<dyn SearchEngine>>,
    /// Rung after a change commits, so the indexer need not wait for its next round.
    pub(crate) wake: tokio::sync::Notify,
}

fn cursor_name(engine: &dyn SearchEngine) -> String {
    format!("search:{}", engine.index_name())
}

/// The lease a rebuild of a shared index holds.
fn rebuild_lease(engine: &dyn SearchEngine) -> String {
    format!("{}:rebuild", cursor_name(engine))
}

fn truncated(mut s: String) -> String {
    if s.len() > MAX_DOC_TEXT {
        let mut cut = MAX_DOC_TEXT;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// A ticket's search document: subject, replies (public), notes and system entries (staff),
/// requester, tags.
fn ticket_doc(t: &TicketSearchRow, entries: &[&EntrySearchRow]) -> SearchDoc {
    let join = |public: bool| {
        let mut out = String::new();
        for e in entries.iter().filter(|e| (e.kind == "reply") == public) {
            if out.len() >= MAX_DOC_TEXT {
                break;
            }
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&e.body);
        }
        truncated(out)
    };
    SearchDoc {
        key: DocKey::ticket(t.id.0),
        workspace_id: t.workspace_id.0,
        owner_contact_id: Some(t.requester_id.0),
        public: false,
        title: t.subject.clone(),
        public_text: join(true),
        internal_text: join(false),
        people: match &t.requester_email {
            Some(email) => format!("{} {email}", t.requester_name),
            None => t.requester_name.clone(),
        },
        tags: t.tags.replace(',', " "),
        updated_at: t.updated_at,
    }
}

/// The documents of these tickets as the database holds them now, and the ids no longer there.
pub(crate) async fn ticket_docs(tx: &mut Tx, ids: &[TicketId]) -> Result<(Vec<SearchDoc>, Vec<TicketId>), DeskError> {
    let rows = tx.ticket_search_rows(ids).await?;
    let entries = tx.entry_search_rows(ids).await?;
    let mut by_ticket: HashMap<TicketId, Vec<&EntrySearchRow>> = HashMap::new();
    for e in &entries {
        by_ticket.entry(e.ticket_id).or_default().push(e);
    }
    let docs: Vec<SearchDoc> =
        rows.iter().map(|t| ticket_doc(t, by_ticket.get(&t.id).map(Vec::as_slice).unwrap_or_default())).collect();
    let gone = ids.iter().filter(|id| !rows.iter().any(|r| r.id == **id)).copied().collect();
    Ok((docs, gone))
}

impl Desk {
    /// Searches go through `engine` from now on, in this desk and every desk made from it.
    /// Without one, ticket search matches subjects and numbers in the database (as before the
    /// search layer); the server always sets one.
    pub fn set_search_engine(&self, engine: Arc<dyn SearchEngine>) {
        let _ = self.inner.search.engine.set(engine);
    }

    /// The search engine, when one is set.
    pub fn search_engine(&self) -> Option<&Arc<dyn SearchEngine>> {
        self.inner.search.engine.get()
    }

    /// Resolves when a change was committed through this desk since the last call (or at once,
    /// if one was committed before): the indexer's cue to run without waiting for its timer.
    pub async fn search_changes(&self) {
        self.inner.search.wake.notified().await;
    }

    /// Whether the index was never built (no cursor under its name): then
    /// [`Desk::rebuild_search_index`] should run before events are applied.
    pub async fn search_index_is_new(&self) -> Result<bool, DeskError> {
        let Some(engine) = self.search_engine() else { return Ok(false) };
        let mut tx = self.store().read().await?;
        Ok(!tx.stream_cursor_exists(&cursor_name(engine.as_ref())).await?)
    }

    /// How many committed events the index has not applied yet (0 without an engine). On
    /// PostgreSQL some may be waiting for older transactions to end before they can be read.
    pub async fn search_backlog(&self) -> Result<u64, DeskError> {
        let Some(engine) = self.search_engine() else { return Ok(0) };
        let mut tx = self.store().read().await?;
        let after = tx.stream_cursor(&cursor_name(engine.as_ref())).await?;
        Ok(u64::try_from(tx.events_behind(after).await?).unwrap_or(0))
    }

    /// Applies the events since the index's cursor: each ticket they name is indexed again from
    /// the database (or removed, when gone). Returns how many tickets were written. Another
    /// replica writing the same shared index meanwhile makes this a no-op (it holds the lease).
    pub async fn index_events(&self) -> Result<usize, DeskError> {
        let Some(engine) = self.search_engine().cloned() else { return Ok(0) };
        let cursor = cursor_name(engine.as_ref());
        let lease = format!("{cursor}:writer");
        let mut written = 0;
        loop {
            let mut tx = self.store().read().await?;
            let after = tx.stream_cursor(&cursor).await?;
            let events = tx.events_after(after, EVENTS_PER_ROUND).await?;
            drop(tx);
            let Some(last) = events.last().map(|e| e.position()) else { break };
            // A shared index is written by one replica at a time; the embedded one is this
            // process's own (a lease would only delay catching up after a crash).
            if engine.is_shared() && !self.take_lease(&lease, LEASE_TTL).await? {
                break;
            }
            let mut ids: Vec<TicketId> = events.iter().filter_map(|e| e.ticket_id).collect();
            ids.sort();
            ids.dedup();
            let (documents, removed_chunks) = crate::knowledge::events_work(&events);
            // A fresh snapshot, taken after the events were read: it sees every change they name.
            let mut tx = self.store().read().await?;
            let (docs, gone) = ticket_docs(&mut tx, &ids).await?;
            let chunks = tx.knowledge_chunks_of(&documents).await?;
            drop(tx);
            written += docs.len() + chunks.len();
            engine.upsert(docs).await?;
            engine.delete(gone.iter().map(|id| DocKey::ticket(id.0)).collect()).await?;
            // Removed chunk ids never come back (the table does not reuse ids), so dropping them
            // before writing the current chunks cannot drop a current one.
            engine.delete(removed_chunks).await?;
            engine.upsert(chunks.iter().map(crate::knowledge::chunk_doc).collect()).await?;
            engine.commit().await?;
            let mut tx = self.store().write().await?;
            tx.set_stream_cursor(&cursor, last).await?;
            tx.commit().await?;
            if (events.len() as i64) < EVENTS_PER_ROUND {
                break;
            }
        }
        Ok(written)
    }

    /// Rebuilds the index's ticket documents from the database, calling `progress(done, total)`
    /// after each page. The cursor then starts from the stream's head taken before the first
    /// read, so changes made during the rebuild are applied again after it (harmlessly).
    ///
    /// A shared index (Meilisearch) is rebuilt by one replica at a time: the rebuild holds the
    /// lease `search:<index name>:rebuild` (renewed after each page, released at the end), and a
    /// second one meanwhile fails with CONFLICT instead of clearing the index under the first.
    pub async fn rebuild_search_index(
        &self,
        progress: impl FnMut(u64, u64) + Send,
    ) -> Result<RebuildSummary, DeskError> {
        let engine = self
            .search_engine()
            .cloned()
            .ok_or_else(|| DeskError::Internal("no search engine is configured".into()))?;
        if !engine.is_shared() {
            return self.rebuild_unleased(engine, progress, None).await;
        }
        let lease = rebuild_lease(engine.as_ref());
        if !self.take_lease(&lease, LEASE_TTL).await? {
            return Err(DeskError::Conflict(
                "another replica is rebuilding this search index; it is searchable again when that ends".into(),
            ));
        }
        let result = self.rebuild_unleased(engine, progress, Some(&lease)).await;
        if let Err(e) = self.release_lease(&lease).await {
            tracing::warn!(error = %e, "giving back the search rebuild lease failed (it runs out on its own)");
        }
        result
    }

    async fn rebuild_unleased(
        &self,
        engine: Arc<dyn SearchEngine>,
        mut progress: impl FnMut(u64, u64) + Send,
        lease: Option<&str>,
    ) -> Result<RebuildSummary, DeskError> {
        let started = Instant::now();
        let cursor = cursor_name(engine.as_ref());
        let mut tx = self.store().read().await?;
        let head: StreamPosition = tx.stream_head().await?;
        let total = u64::try_from(tx.count_all_tickets().await?).unwrap_or(0);
        drop(tx);
        engine.clear(DocKind::Ticket).await?;
        let mut after = TicketId(0);
        let mut done = 0u64;
        progress(0, total);
        loop {
            let mut tx = self.store().read().await?;
            let ids = tx.ticket_ids_after(after, REBUILD_PAGE).await?;
            let Some(last) = ids.last().copied() else { break };
            let (docs, _) = ticket_docs(&mut tx, &ids).await?;
            drop(tx);
            done += docs.len() as u64;
            engine.upsert(docs).await?;
            after = last;
            progress(done, total.max(done));
            if let Some(lease) = lease
                && !self.take_lease(lease, LEASE_TTL).await?
            {
                return Err(DeskError::Conflict("another replica took over rebuilding this search index".into()));
            }
        }
        crate::knowledge::rebuild_chunks(self, engine.as_ref()).await?;
        engine.commit().await?;
        let mut tx = self.store().write().await?;
        tx.set_stream_cursor(&cursor, head).await?;
        tx.commit().await?;
        let stats = engine.stats().await?;
        Ok(RebuildSummary {
            tickets: done,
            documents: stats.documents,
            disk_bytes: stats.disk_bytes,
            elapsed: started.elapsed(),
        })
    }

    /// Where `text` matched these tickets, as `actor` may read it.
    pub(crate) async fn ticket_snippets(
        &self,
        engine: &dyn SearchEngine,
        actor: &Actor,
        text: &str,
        page: &[TicketId],
    ) -> Result<Vec<(TicketId, Snippet)>, DeskError> {
        let q = ticket_query(actor, text, page.len());
        let keys: Vec<DocKey> = page.iter().map(|id| DocKey::ticket(id.0)).collect();
        Ok(engine.snippets(&q, &keys).await?.into_iter().map(|(k, s)| (TicketId(k.id), s)).collect())
    }

    /// The engine's ranked matches for a ticket search by `actor`, best first, with the engine's
    /// total.
    pub(crate) async fn ranked_ticket_ids(
        &self,
        engine: &dyn SearchEngine,
        actor: &Actor,
        text: &str,
    ) -> Result<(Vec<TicketId>, u64), DeskError> {
        if actor.contact_id().is_none() && !actor.can(Permission::View) {
            return Err(DeskError::Forbidden("this needs the service-desk.view permission".into()));
        }
        let hits = engine.search(&ticket_query(actor, text, SEARCH_WINDOW)).await?;
        Ok((hits.hits.iter().map(|h| TicketId(h.key.id)).collect(), hits.total))
    }
}

fn ticket_query(actor: &Actor, text: &str, limit: usize) -> SearchQuery {
    SearchQuery {
        workspace_id: actor.workspace_id.0,
        kinds: vec![DocKind::Ticket],
        text: text.to_string(),
        audience: match actor.contact_id() {
            Some(c) => Audience::Customer { contact_id: c.0 },
            None => Audience::Staff,
        },
        limit,
    }
}

/// Whether a ticket query narrows by anything the engine does not know (status, queue, ...):
/// then the engine's matches go through the database's filters.
pub(crate) fn filters_beyond_search(q: &TicketQuery) -> bool {
    !q.statuses.is_empty()
        || !q.priorities.is_empty()
        || q.assignee != switchboard_store::AssigneeFilter::Any
        || q.queue_id.is_some()
        || q.help_topic_id.is_some()
        || q.tag.is_some()
        || q.escalated.is_some()
        || q.awaiting.is_some()
        || q.sla.is_some()
}

/// A page cursor of a search: how many ranked matches came before the page.
fn decode_search_cursor(s: &str) -> Result<usize, DeskError> {
    s.strip_prefix("search:")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| DeskError::invalid("after", "is not a cursor this API returned"))
}

impl Desk {
    /// A page of a ticket search (`q.text` set, an engine configured): the engine's best matches
    /// for what `actor` may read, narrowed by every other filter in the database, in rank order;
    /// a ticket whose number was typed comes first. The total is exact when the engine's matches
    /// all fit in [`SEARCH_WINDOW`], or when nothing but the text narrows them (the engine counts
    /// all of them, capped at `LIST_TOTAL_CAP` like the list); otherwise it is the matches found within
    /// the window, marked capped ("312+").
    pub(crate) async fn search_ticket_page(
        &self,
        engine: &dyn SearchEngine,
        actor: &Actor,
        tx: &mut Tx,
        mut q: TicketQuery,
        first: i64,
        after: Option<&str>,
    ) -> Result<crate::TicketPage, DeskError> {
        let offset = after.map(decode_search_cursor).transpose()?.unwrap_or(0);
        let text = q.text.take().unwrap_or_default();
        let (ranked, engine_total) = self.ranked_ticket_ids(engine, actor, &text).await?;
        let all_ranked = engine_total <= ranked.len() as u64;
        let by_number = match q.number.take() {
            Some(n) => tx
                .ticket_by_number(actor.workspace_id, n)
                .await?
                .filter(|t| actor.contact_id().is_none_or(|c| t.requester_id == c))
                .map(|t| t.id),
            None => None,
        };
        let mut candidates: Vec<TicketId> = by_number.into_iter().collect();
        candidates.extend(ranked.iter().filter(|id| Some(**id) != by_number));
        let narrowed = filters_beyond_search(&q);
        if narrowed || by_number.is_some() {
            let mut f = q.clone();
            f.ids = Some(candidates.clone());
            let allowed: std::collections::HashSet<TicketId> = tx.matching_ticket_ids(&f).await?.into_iter().collect();
            candidates.retain(|id| allowed.contains(id));
        }
        let cap = crate::LIST_TOTAL_CAP as u64;
        let (total, total_capped) = if all_ranked {
            (candidates.len() as u64, false)
        } else if !narrowed {
            let n = engine_total + u64::from(by_number.is_some_and(|id| !ranked.contains(&id)));
            if n > cap { (cap, true) } else { (n, false) }
        } else {
            (candidates.len() as u64, true)
        };
        let page: Vec<TicketId> = candidates.iter().skip(offset).take(first as usize).copied().collect();
        let mut tickets = if page.is_empty() {
            Vec::new()
        } else {
            // The requester filter stays on for customers: the page is loaded through the same
            // scope as the list, whatever the engine returned.
            let mut f = q.clone();
            f.ids = Some(page.clone());
            f.before = None;
            f.limit = page.len() as i64;
            tx.list_tickets(&f).await?
        };
        tickets.sort_by_key(|t| page.iter().position(|id| *id == t.id));
        let next = offset + page.len();
        let next_cursor = (next < candidates.len()).then(|| format!("search:{next}"));
        let snippets = self.ticket_snippets(engine, actor, &text, &page).await?;
        Ok(crate::TicketPage {
            tickets,
            total: i64::try_from(total).unwrap_or(i64::MAX),
            total_capped,
            next_cursor,
            snippets,
        })
    }
}

impl Desk {
    /// Turns a text filter into the engine's matches (`q.ids`), for counts under every other
    /// filter. True when the engine found more than [`SEARCH_WINDOW`]: counts are then lower
    /// bounds.
    pub(crate) async fn narrow_to_search(
        &self,
        engine: &dyn SearchEngine,
        actor: &Actor,
        tx: &mut Tx,
        q: &mut TicketQuery,
        text: &str,
    ) -> Result<bool, DeskError> {
        let (mut ids, total) = self.ranked_ticket_ids(engine, actor, text).await?;
        if let Some(n) = q.number.take()
            && let Some(t) = tx.ticket_by_number(actor.workspace_id, n).await?
            && !ids.contains(&t.id)
        {
            ids.push(t.id);
        }
        let full = total > ids.len() as u64;
        q.ids = Some(ids);
        Ok(full)
    }
}
