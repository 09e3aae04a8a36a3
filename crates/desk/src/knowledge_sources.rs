//! Knowledge URL sources: a page the workspace keeps in its knowledge base, fetched through the
//! outbound guard and synced again every `refresh_minutes` by the job runner (or now, on request).
//!
//! A successful sync turns the page into text (HTML headings kept as Markdown headings) and saves
//! it as the source's document (origin `url`) through the same path as a paste: a changed page
//! makes a version and a re-index, an unchanged one neither. Every attempt records its time and
//! error on the source, and the source's health (see [`KnowledgeSourceHealth`]) is computed from
//! those times, so nothing needs to run for a source to turn stale or overdue.
//!
//! Who syncs: the job runner asks for [`Desk::due_knowledge_sources`] every tick and queues a job
//! per due source keyed by the source and its due time; the job calls
//! [`Desk::run_knowledge_sync`], which first moves the due time ahead by a claim (compare and set
//! on the due time it saw), so of several workers or replicas that saw it due one syncs, and one
//! that dies mid-sync leaves it due again when the claim runs out.

use std::time::Duration;

use switchboard_domain::{Actor, Millis, Permission, check_webhook_url};
use switchboard_store::{BackgroundJobRecord, KnowledgeSourceRecord, NewKnowledgeDocument};

use crate::background_jobs::finish_sync_job;

use crate::knowledge::{KnowledgeFormat, KnowledgeSaved, MAX_KNOWLEDGE_BYTES};
use crate::knowledge_text::html_to_text;
use crate::{Desk, DeskError, require};

/// The interval a source gets when none is given: three hours.
pub const DEFAULT_REFRESH_MINUTES: i64 = 180;
/// The shortest interval.
pub const MIN_REFRESH_MINUTES: i64 = 15;
/// The longest interval: 30 days.
pub const MAX_REFRESH_MINUTES: i64 = 30 * 24 * 60;
/// How late a scheduled sync may run before the source is "Sync overdue".
pub const OVERDUE_GRACE_MS: Millis = 15 * 60_000;
/// Content older than this many intervals is "Stale sync": several scheduled syncs in a row did
/// not bring the page.
pub const STALE_AFTER_INTERVALS: i64 = 3;
/// A source none of whose chunks any knowledge search returned for this long is "Never retrieved".
pub const UNRETRIEVED_AFTER_MS: Millis = 30 * 24 * 3_600_000;
/// How long a sync may hold its claim on a source before another may take it.
const SYNC_CLAIM_MS: Millis = 10 * 60_000;
/// Redirects followed (each one checked by the guard) before a sync gives up.
const MAX_REDIRECTS: usize = 5;
/// The default time limit of one fetch, redirects included.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(20);
/// A search marks a source retrieved at most this often (a write per search would be waste).
const RETRIEVAL_RESOLUTION_MS: Millis = 3_600_000;
const MAX_ERROR_CHARS: usize = 500;
/// The first retry after a failed sync.
const FIRST_RETRY_MS: Millis = 60_000;
const MAX_TITLE_CHARS: usize = 200;

/// A source's health, as the Knowledge page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnowledgeSourceHealth {
    /// Synced on schedule, no error, and retrieved by searches.
    Healthy,
    /// The content is older than [`STALE_AFTER_INTERVALS`] intervals: it may be outdated.
    StaleSync,
    /// The scheduled sync is more than [`OVERDUE_GRACE_MS`] late.
    SyncOverdue,
    /// The last attempt failed (its error is on the source).
    SyncFailed,
    /// Added, not fetched yet.
    NeverSynced,
    /// Indexed, but no knowledge search returned it in [`UNRETRIEVED_AFTER_MS`].
    NeverRetrieved,
}

/// Why a source is among the freshness alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnowledgeFreshness {
    /// Its content is stale (whatever else is wrong with it).
    StaleSync,
    /// No search used it in 30 days.
    NeverRetrieved,
}

/// True when the page's content is older than the stale threshold.
fn content_stale(s: &KnowledgeSourceRecord, now: Millis) -> bool {
    s.last_synced_at.is_some_and(|t| now - t > STALE_AFTER_INTERVALS * s.refresh_minutes * 60_000)
}

/// True when the source has had content for 30 days and no search returned it in that time.
fn unretrieved(s: &KnowledgeSourceRecord, now: Millis) -> bool {
    let Some(first) = s.first_synced_at else { return false };
    now - s.last_retrieved_at.unwrap_or(first).max(first) > UNRETRIEVED_AFTER_MS
}

/// A source's health at `now`. The first that applies wins: Never synced, Sync failed, Stale
/// sync, Sync overdue, Never retrieved, Healthy.
pub fn knowledge_source_health(s: &KnowledgeSourceRecord, now: Millis) -> KnowledgeSourceHealth {
    if s.last_synced_at.is_none() && s.last_error.is_none() {
        KnowledgeSourceHealth::NeverSynced
    } else if s.last_error.is_some() {
        KnowledgeSourceHealth::SyncFailed
    } else if content_stale(s, now) {
        KnowledgeSourceHealth::StaleSync
    } else if now > s.next_sync_at + OVERDUE_GRACE_MS {
        KnowledgeSourceHealth::SyncOverdue
    } else if unretrieved(s, now) {
        KnowledgeSourceHealth::NeverRetrieved
    } else {
        KnowledgeSourceHealth::Healthy
    }
}

/// Why a source is a freshness alert at `now`, if it is: stale content (even when its health
/// shows the failure behind it first) or no retrieval in 30 days.
pub fn knowledge_freshness(s: &KnowledgeSourceRecord, now: Millis) -> Option<KnowledgeFreshness> {
    if content_stale(s, now) {
        Some(KnowledgeFreshness::StaleSync)
    } else if unretrieved(s, now) {
        Some(KnowledgeFreshness::NeverRetrieved)
    } else {
        None
    }
}

/// A source with its health at the time it was read.
#[derive(Debug, Clone)]
pub struct KnowledgeSourceView {
    pub source: KnowledgeSourceRecord,
    pub health: KnowledgeSourceHealth,
}

/// A source added or changed: the page's URL and how often to fetch it again.
#[derive(Debug, Clone)]
pub struct KnowledgeSourceInput {
    pub url: String,
    /// Minutes between syncs; [`DEFAULT_REFRESH_MINUTES`] when not given.
    pub refresh_minutes: Option<i64>,
}

/// A page as a sync fetched it.
#[derive(Debug)]
struct FetchedPage {
    title: String,
    text: String,
    format: KnowledgeFormat,
}

/// The HTTP settings of knowledge syncs.
#[derive(Debug, Clone, Copy)]
pub struct KnowledgeFetchSettings {
    /// Time limit of one fetch, redirects included.
    pub timeout: Duration,
}

impl Default for KnowledgeFetchSettings {
    fn default() -> Self {
        KnowledgeFetchSettings { timeout: DEFAULT_FETCH_TIMEOUT }
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { s.chars().take(max).collect::<String>() + "…" }
}

/// The text of an HTML page's `<title>`, if it has one.
fn html_title(html: &str) -> Option<String> {
    let head = &html[..html.len().min(64 * 1024)];
    let lower = head.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let title = html_to_text(&head[start..end]).split_whitespace().collect::<Vec<_>>().join(" ");
    (!title.is_empty()).then(|| clip(&title, MAX_TITLE_CHARS))
}

/// The error chain of a failed request: "error sending request" alone says nothing.
fn describe(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// How soon a source is tried again after `failures` failed syncs in a row: a minute after the
/// first, doubling each time, never later than its interval (a page down for a moment is back
/// in the knowledge base soon, one down for good costs a fetch per interval).
pub fn retry_after_failures(failures: i64, interval_ms: Millis) -> Millis {
    let doublings = u32::try_from((failures - 1).clamp(0, 20)).unwrap_or(20);
    (FIRST_RETRY_MS << doublings).min(interval_ms)
}

fn validate_refresh(minutes: Option<i64>) -> Result<i64, DeskError> {
    let m = minutes.unwrap_or(DEFAULT_REFRESH_MINUTES);
    if !(MIN_REFRESH_MINUTES..=MAX_REFRESH_MINUTES).contains(&m) {
        return Err(DeskError::invalid(
            "refreshMinutes",
            format!("must be from {MIN_REFRESH_MINUTES} to {MAX_REFRESH_MINUTES} minutes"),
        ));
    }
    Ok(m)
}

impl Desk {
    /// Adds a URL source (due for its first sync now), or changes the interval of the
    /// workspace's source for that URL. Admins.
    pub async fn save_knowledge_source(
        &self,
        actor: &Actor,
        input: KnowledgeSourceInput,
    ) -> Result<KnowledgeSourceView, DeskError> {
        require(actor, Permission::Admin)?;
        let refresh = validate_refresh(input.refresh_minutes)?;
        let url = check_webhook_url("url", &input.url, self.outbound().policy()).map_err(DeskError::Validation)?;
        self.outbound().check_saved_host("url", url.host(), url.port(), None).await.map_err(DeskError::Validation)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let s = tx.save_knowledge_source(actor.workspace_id, url.as_str(), refresh, now, &actor.label).await?;
        tx.commit().await?;
        Ok(KnowledgeSourceView { health: knowledge_source_health(&s, now), source: s })
    }

    /// The workspace's URL sources with their health, by URL. Staff.
    pub async fn knowledge_sources(&self, actor: &Actor) -> Result<Vec<KnowledgeSourceView>, DeskError> {
        crate::knowledge::read_access(actor)?;
        let now = self.now();
        let list = self.store().read().await?.knowledge_sources(actor.workspace_id).await?;
        Ok(list
            .into_iter()
            .map(|s| KnowledgeSourceView { health: knowledge_source_health(&s, now), source: s })
            .collect())
    }

    /// The freshness alerts: sources whose content is stale or that no search used in 30 days.
    pub async fn knowledge_freshness_alerts(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(KnowledgeSourceView, KnowledgeFreshness)>, DeskError> {
        let now = self.now();
        Ok(self
            .knowledge_sources(actor)
            .await?
            .into_iter()
            .filter_map(|v| knowledge_freshness(&v.source, now).map(|f| (v, f)))
            .collect())
    }

    /// Deletes a source and the document holding its page. Admins.
    pub async fn delete_knowledge_source(&self, actor: &Actor, id: i64) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let mut tx = self.store().write().await?;
        let s = tx
            .knowledge_source_by_id(id)
            .await?
            .filter(|s| s.workspace_id == ws)
            .ok_or(DeskError::NotFound("knowledge source"))?;
        tx.delete_knowledge_source(ws, id).await?;
        if let Some(doc) = s.document_id {
            self.remove_document(&mut tx, ws, doc).await?;
        }
        tx.commit().await?;
        self.inner.search.wake.notify_one();
        Ok(())
    }

    /// Syncs a source now ("Sync now") and returns it as the sync left it; CONFLICT while another
    /// sync of it runs. Admins.
    pub async fn sync_knowledge_source(&self, actor: &Actor, id: i64) -> Result<KnowledgeSourceView, DeskError> {
        require(actor, Permission::Admin)?;
        let s = self
            .store()
            .read()
            .await?
            .knowledge_source_by_id(id)
            .await?
            .filter(|s| s.workspace_id == actor.workspace_id)
            .ok_or(DeskError::NotFound("knowledge source"))?;
        if !self.claim_source(&s).await? {
            return Err(DeskError::Conflict("a sync of this source is running; try again in a moment".into()));
        }
        let job = self.begin_sync_job(&s, None, Some(actor.label.clone())).await?;
        let s = self.sync_claimed(s, job).await?;
        Ok(KnowledgeSourceView { health: knowledge_source_health(&s, self.now()), source: s })
    }

    /// Sources due for a sync now, every workspace's, with the due time each was seen with (the
    /// job runner's key for it).
    pub async fn due_knowledge_sources(&self, limit: i64) -> Result<Vec<(i64, Millis)>, DeskError> {
        Ok(self.store().read().await?.due_knowledge_sources(self.now(), limit).await?)
    }

    /// Syncs a source the job runner found due at `due_at`; false (and nothing done) when it is
    /// gone or another worker claimed it first.
    pub async fn run_knowledge_sync(&self, id: i64, due_at: Millis) -> Result<bool, DeskError> {
        let key = crate::background_jobs::knowledge_sync_key(id, due_at);
        let source = self.store().read().await?.knowledge_source_by_id(id).await?;
        let claimed = match source {
            Some(s) if s.next_sync_at == due_at && self.claim_source(&s).await? => s,
            _ => {
                self.forget_sync_job(&key).await?;
                return Ok(false);
            }
        };
        let job = self.begin_sync_job(&claimed, Some(key), None).await?;
        self.sync_claimed(claimed, job).await?;
        Ok(true)
    }

    async fn claim_source(&self, s: &KnowledgeSourceRecord) -> Result<bool, DeskError> {
        let mut tx = self.store().write().await?;
        let now = self.now();
        let claimed = tx.claim_knowledge_source(s.id, s.next_sync_at, now, now + SYNC_CLAIM_MS).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    /// Fetches a claimed source's page and records the outcome: the document saved (a version
    /// and a re-index only when the text changed), or the error; the next sync one interval on.
    async fn sync_claimed(
        &self,
        claimed: KnowledgeSourceRecord,
        job: BackgroundJobRecord,
    ) -> Result<KnowledgeSourceRecord, DeskError> {
        let fetched = self.fetch_page(&claimed.url).await;
        let mut tx = self.store().write().await?;
        // Re-read: the source may have been deleted or its interval changed during the fetch.
        let Some(mut s) = tx.knowledge_source_by_id(claimed.id).await? else {
            let now = self.now();
            finish_sync_job(&mut tx, job, Some("the source was deleted during the sync".into()), now).await?;
            tx.commit().await?;
            return Err(DeskError::NotFound("knowledge source"));
        };
        let ws = s.workspace_id;
        let now = self.now();
        s.last_attempt_at = Some(now);
        let interval = s.refresh_minutes * 60_000;
        s.next_sync_at = now + interval;
        let page = fetched
            .and_then(|p| if p.text.trim().is_empty() { Err("the page has no text".to_string()) } else { Ok(p) });
        match page {
            Ok(page) => {
                let by = Actor { label: format!("URL sync: {}", clip(&s.url, 100)), ..Actor::system(ws) };
                let current = match s.document_id {
                    Some(doc) => tx.knowledge_document_by_id(ws, doc).await?,
                    None => None,
                };
                let saved: KnowledgeSaved = match current {
                    Some(d) => {
                        let folder = d.folder_id;
                        self.change_document(&mut tx, &by, d, page.title, page.text, page.format, folder).await?
                    }
                    None => {
                        let new = NewKnowledgeDocument {
                            folder_id: None,
                            title: page.title,
                            body: page.text,
                            format: page.format.as_str().into(),
                            origin: "url".into(),
                            file_name: None,
                            content_hash: String::new(),
                            created_by: Some(by.label.clone()),
                            public: false,
                        };
                        self.insert_document(&mut tx, ws, new, page.format).await?
                    }
                };
                s.document_id = Some(saved.document.id);
                s.last_synced_at = Some(now);
                s.first_synced_at = s.first_synced_at.or(Some(now));
                s.last_error = None;
                s.failures = 0;
            }
            Err(e) => {
                tracing::info!(source = s.id, error = %e, "knowledge source sync failed");
                s.last_error = Some(clip(&e, MAX_ERROR_CHARS));
                s.failures += 1;
                s.next_sync_at = now + retry_after_failures(s.failures, interval);
            }
        }
        tx.record_knowledge_sync(&s).await?;
        finish_sync_job(&mut tx, job, s.last_error.clone(), now).await?;
        tx.commit().await?;
        self.inner.search.wake.notify_one();
        Ok(s)
    }

    /// Fetches `url` through the outbound guard: each hop's URL checked and its host resolved by
    /// the guard before any connection (literal addresses included), redirects followed by hand
    /// up to [`MAX_REDIRECTS`], at most [`MAX_KNOWLEDGE_BYTES`] read, all within the time limit.
    async fn fetch_page(&self, url: &str) -> Result<FetchedPage, String> {
        let timeout = self.inner.knowledge_fetch.timeout;
        match tokio::time::timeout(timeout, self.fetch_hops(url)).await {
            Ok(r) => r,
            Err(_) => Err(format!("the page did not answer within {} s", timeout.as_secs_f64())),
        }
    }

    async fn fetch_hops(&self, url: &str) -> Result<FetchedPage, String> {
        let client = self.knowledge_client()?;
        let guard = self.outbound();
        let mut current = url.to_string();
        for hop in 0..=MAX_REDIRECTS {
            let refused = |e: String| {
                if hop == 0 {
                    format!("refused: {e}")
                } else {
                    format!("redirected to {current}, which is refused: {e}")
                }
            };
            let checked = check_webhook_url("url", &current, guard.policy()).map_err(|e| refused(e.message))?;
            guard.resolve("url", checked.host(), checked.port()).await.map_err(|e| refused(e.to_string()))?;
            let mut resp = client
                .get(checked.as_str())
                .header(reqwest::header::ACCEPT, "text/html, application/xhtml+xml, text/markdown, text/plain;q=0.9")
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        format!("the page did not answer within {} s", self.inner.knowledge_fetch.timeout.as_secs_f64())
                    } else {
                        describe(&e)
                    }
                })?;
            let status = resp.status();
            if status.is_redirection() {
                let location = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| format!("the page answered {status} without a Location"))?;
                let base = reqwest::Url::parse(checked.as_str()).map_err(|e| e.to_string())?;
                current =
                    base.join(location).map_err(|e| format!("the redirect to {location:?} is not a URL: {e}"))?.into();
                continue;
            }
            if !status.is_success() {
                return Err(format!("the page answered {status}"));
            }
            let content_type = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
            if resp.content_length().is_some_and(|n| n > MAX_KNOWLEDGE_BYTES as u64) {
                return Err(format!("the page is larger than {} MB", MAX_KNOWLEDGE_BYTES >> 20));
            }
            let mut bytes = Vec::new();
            while let Some(piece) = resp.chunk().await.map_err(|e| describe(&e))? {
                if bytes.len() + piece.len() > MAX_KNOWLEDGE_BYTES {
                    return Err(format!("the page is larger than {} MB", MAX_KNOWLEDGE_BYTES >> 20));
                }
                bytes.extend_from_slice(&piece);
            }
            if bytes.contains(&0) {
                return Err("the page is not text (a binary file?)".into());
            }
            let body = String::from_utf8_lossy(&bytes);
            let body = body.strip_prefix('\u{feff}').unwrap_or(&body);
            let sniffed_html = || {
                let start = body.trim_start().get(..15).unwrap_or_default().to_ascii_lowercase();
                start.starts_with("<!doctype html") || start.starts_with("<html")
            };
            let fallback_title = || clip(checked.as_str(), MAX_TITLE_CHARS);
            return match content_type.as_deref() {
                Some("text/html" | "application/xhtml+xml") => Ok(FetchedPage {
                    title: html_title(body).unwrap_or_else(fallback_title),
                    text: html_to_text(body),
                    format: KnowledgeFormat::Markdown,
                }),
                None if sniffed_html() => Ok(FetchedPage {
                    title: html_title(body).unwrap_or_else(fallback_title),
                    text: html_to_text(body),
                    format: KnowledgeFormat::Markdown,
                }),
                Some("text/markdown" | "text/x-markdown") => Ok(FetchedPage {
                    title: fallback_title(),
                    text: body.to_string(),
                    format: KnowledgeFormat::Markdown,
                }),
                Some("text/plain") | None => {
                    Ok(FetchedPage { title: fallback_title(), text: body.to_string(), format: KnowledgeFormat::Text })
                }
                Some(other) => Err(format!("the page is {other}, not HTML or text")),
            };
        }
        Err(format!("more than {MAX_REDIRECTS} redirects"))
    }

    /// The client knowledge syncs fetch with: no proxy, no redirects of its own, every name
    /// resolved by the outbound guard.
    fn knowledge_client(&self) -> Result<reqwest::Client, String> {
        if let Some(c) = self.inner.knowledge_client.get() {
            return Ok(c.clone());
        }
        let timeout = self.inner.knowledge_fetch.timeout;
        let client = crate::egress::http_client_builder()
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(std::sync::Arc::new(crate::egress::GuardedResolver::new(self.outbound().clone(), Vec::new())))
            .user_agent(concat!("Switchboard-Knowledge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the HTTP client could not be built: {e}"))?;
        Ok(self.inner.knowledge_client.get_or_init(|| client).clone())
    }

    /// Records that a knowledge search returned chunks of these URL documents.
    pub(crate) async fn mark_sources_retrieved(
        &self,
        ws: switchboard_domain::WorkspaceId,
        documents: &[i64],
    ) -> Result<(), DeskError> {
        if documents.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.mark_knowledge_sources_retrieved(ws, documents, now, now - RETRIEVAL_RESOLUTION_MS).await?;
        tx.commit().await?;
        Ok(())
    }
}
