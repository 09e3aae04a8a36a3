//! The Meilisearch engine: one index on a Meilisearch server, shared by every replica.
//!
//! Requests go through `meilisearch-sdk` with our reqwest 0.13 plugged in as its HTTP client
//! ([`Http`]), so the tree holds no reqwest of the SDK's own. Writes are Meilisearch tasks: each
//! write enqueues one and remembers its uid, and [`SearchEngine::commit`] waits until every one
//! of them has succeeded (an enqueued task is already durable on the server; commit is where it
//! becomes visible). What may be found is decided by the same scope as the embedded engine:
//! workspace, kinds and audience as a filter expression, the audience's fields as
//! `attributesToSearchOn`, and every query word required (`matchingStrategy: all`). Excerpts are
//! cut here from the stored fields, by the same code as the embedded engine's, so both mark the
//! same words.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use meilisearch_sdk::client::Client;
use meilisearch_sdk::documents::DocumentDeletionQuery;
use meilisearch_sdk::errors::{Error as SdkError, ErrorCode};
use meilisearch_sdk::indexes::Index;
use meilisearch_sdk::request::{HttpClient, Method, parse_response};
use meilisearch_sdk::search::{MatchingStrategies, Selectors};
use meilisearch_sdk::settings::{MinWordSizeForTypos, PaginationSetting, Settings, TypoToleranceSettings};
use meilisearch_sdk::tasks::Task;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::analysis::{STOP_WORDS, query_terms};
use crate::snippet::{Snippet, best_snippet};
use crate::{
    Audience, DocKey, DocKind, Field, Hit, IndexStats, MAX_HITS, MAX_QUERY_CHARS, SearchDoc, SearchEngine, SearchError,
    SearchHits, SearchQuery,
};

/// The index's primary key: [`DocKey::encode`] (`ticket-42`).
const PRIMARY_KEY: &str = "key";
/// The longest a commit waits for its tasks; past it the commit fails and the caller's cursor
/// stays (the tasks go on, and the same writes are made again next round, harmlessly).
const TASK_TIMEOUT: Duration = Duration::from_secs(300);
/// The attributes a filter may name: the scope of every search, and `key` for excerpts.
const FILTERABLE: [&str; 5] = ["workspace", "kind", "owner", "public", "key"];
/// The text fields, most important first (Meilisearch's `attribute` ranking rule reads the order).
const SEARCHABLE: [&str; 5] = ["title", "public_text", "internal_text", "people", "tags"];

fn engine_err(e: impl std::fmt::Display) -> SearchError {
    SearchError::Engine(format!("meilisearch: {e}"))
}

/// The SDK's HTTP client over our reqwest 0.13 (built by the caller with the process's TLS
/// setup), adding `Authorization: Bearer` when an API key is configured.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    api_key: Option<String>,
}

impl Http {
    /// A client for a server, with its API key (the master key or a key allowed the index).
    pub fn new(client: reqwest::Client, api_key: Option<String>) -> Http {
        Http { client, api_key }
    }
}

/// Query parameters as Meilisearch reads them: `key=value`, lists comma-separated.
fn query_pairs(query: &impl Serialize) -> Result<Vec<(String, String)>, SdkError> {
    let serde_json::Value::Object(map) = serde_json::to_value(query)? else { return Ok(Vec::new()) };
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(map
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let value = match v {
                serde_json::Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(","),
                other => scalar(other),
            };
            (k.clone(), value)
        })
        .collect())
}

#[async_trait::async_trait]
impl HttpClient for Http {
    async fn stream_request<
        Query: Serialize + Send + Sync,
        Body: futures_util::io::AsyncRead + Send + Sync + 'static,
        Output: DeserializeOwned + 'static,
    >(
        &self,
        url: &str,
        method: Method<Query, Body>,
        content_type: &str,
        expected_status_code: u16,
    ) -> Result<Output, SdkError> {
        use futures_util::io::AsyncReadExt;

        let verb = match &method {
            Method::Get { .. } => reqwest::Method::GET,
            Method::Post { .. } => reqwest::Method::POST,
            Method::Patch { .. } => reqwest::Method::PATCH,
            Method::Put { .. } => reqwest::Method::PUT,
            Method::Delete { .. } => reqwest::Method::DELETE,
        };
        let mut request = self.client.request(verb, url).query(&query_pairs(method.query())?);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = method.into_body() {
            // Our bodies are documents and settings already in memory: read whole, sent whole.
            let mut buf = Vec::new();
            std::pin::pin!(body).read_to_end(&mut buf).await.map_err(|e| SdkError::Other(Box::new(e)))?;
            request = request.header(reqwest::header::CONTENT_TYPE, content_type).body(buf);
        }
        let response = request.send().await.map_err(|e| SdkError::Other(Box::new(e)))?;
        let status = response.status().as_u16();
        let mut body = response.text().await.map_err(|e| SdkError::Other(Box::new(e)))?;
        if body.is_empty() {
            body = "null".into();
        }
        parse_response(status, expected_status_code, &body, url.to_string())
    }
}

/// A document as the index stores it. `owner` is null for documents no customer owns.
#[derive(Debug, Serialize, Deserialize)]
struct MeiliDoc {
    key: String,
    kind: String,
    id: i64,
    workspace: i64,
    owner: Option<i64>,
    public: bool,
    updated_at: i64,
    title: String,
    public_text: String,
    internal_text: String,
    people: String,
    tags: String,
}

impl MeiliDoc {
    fn of(d: &SearchDoc) -> MeiliDoc {
        MeiliDoc {
            key: d.key.encode(),
            kind: d.key.kind.as_str().into(),
            id: d.key.id,
            workspace: d.workspace_id,
            owner: d.owner_contact_id,
            public: d.public,
            updated_at: d.updated_at,
            title: d.title.clone(),
            public_text: d.public_text.clone(),
            internal_text: d.internal_text.clone(),
            people: d.people.clone(),
            tags: d.tags.clone(),
        }
    }

    fn into_doc(self) -> Option<SearchDoc> {
        Some(SearchDoc {
            key: DocKey::decode(&self.key)?,
            workspace_id: self.workspace,
            owner_contact_id: self.owner,
            public: self.public,
            title: self.title,
            public_text: self.public_text,
            internal_text: self.internal_text,
            people: self.people,
            tags: self.tags,
            updated_at: self.updated_at,
        })
    }
}

/// A task's uid as the SDK asks for it.
struct TaskUid(u32);

impl AsRef<u32> for TaskUid {
    fn as_ref(&self) -> &u32 {
        &self.0
    }
}

#[derive(Deserialize)]
struct KeyOnly {
    key: String,
}

/// The index settings: the text fields searchable (subject first: it ranks above the same word
/// in a message, as it counts double in the embedded engine), the scope's fields filterable,
/// typo tolerance as the embedded engine counts it, the same stop words, and as many hits as a
/// search may ask for.
fn index_settings() -> Settings {
    Settings::new()
        .with_searchable_attributes(SEARCHABLE)
        .with_filterable_attributes(FILTERABLE)
        .with_stop_words(STOP_WORDS.iter().copied())
        .with_typo_tolerance(TypoToleranceSettings {
            enabled: Some(true),
            min_word_size_for_typos: Some(MinWordSizeForTypos { one_typo: Some(5), two_typos: Some(9) }),
            ..TypoToleranceSettings::default()
        })
        .with_pagination(PaginationSetting { max_total_hits: MAX_HITS })
}

/// A filter string literal (Meilisearch strings are double-quoted, `\` escapes).
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Workspace, kinds and audience, as a filter expression: what may be found at all.
fn scope_filter(q: &SearchQuery) -> String {
    let kinds: Vec<String> = q.kinds.iter().map(|k| quoted(k.as_str())).collect();
    let mut f = format!("workspace = {} AND kind IN [{}]", q.workspace_id, kinds.join(", "));
    match q.audience {
        Audience::Staff => {}
        Audience::Customer { contact_id } => f.push_str(&format!(" AND (owner = {contact_id} OR public = true)")),
        Audience::Anonymous => f.push_str(" AND public = true"),
    }
    f
}

/// The engine over one Meilisearch index.
pub struct MeilisearchEngine {
    client: Client<Http>,
    index: Index<Http>,
    name: String,
    /// Tasks enqueued since the last commit.
    pending: Mutex<Vec<u32>>,
}

impl std::fmt::Debug for MeilisearchEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeilisearchEngine").field("index", &self.index.uid).finish()
    }
}

impl MeilisearchEngine {
    /// Opens the index `uid` on the server at `url`, creating it when missing, and brings its
    /// settings up to date. The engine's [`SearchEngine::index_name`] includes the index's
    /// creation time, so an index deleted and created again on the server is a new index (no
    /// cursor) and is rebuilt from the database.
    pub async fn open(url: &str, http: Http, uid: &str) -> Result<MeilisearchEngine, SearchError> {
        let url = url.trim_end_matches('/');
        let client = Client::new_with_client(url, http.api_key.clone(), http);
        let engine = MeilisearchEngine {
            index: client.index(uid),
            client,
            name: String::new(),
            pending: Mutex::new(Vec::new()),
        };
        let info = match engine.client.get_raw_index(uid).await {
            Ok(info) => info,
            Err(SdkError::Meilisearch(e)) if e.error_code == ErrorCode::IndexNotFound => {
                let task = engine.client.create_index(uid, Some(PRIMARY_KEY)).await.map_err(engine_err)?;
                engine.wait(&[task.task_uid]).await?;
                engine.client.get_raw_index(uid).await.map_err(engine_err)?
            }
            Err(e) => return Err(engine_err(e)),
        };
        if info["primaryKey"].as_str().is_some_and(|k| k != PRIMARY_KEY) {
            return Err(SearchError::Engine(format!(
                "meilisearch: the index {uid} has the primary key {}, not {PRIMARY_KEY}: is it another application's?",
                info["primaryKey"]
            )));
        }
        let created = info["createdAt"].as_str().unwrap_or_default().to_string();
        let task = engine.index.set_settings(&index_settings()).await.map_err(engine_err)?;
        engine.wait(&[task.task_uid]).await?;
        Ok(MeilisearchEngine { name: format!("meilisearch-{uid}-{created}"), ..engine })
    }

    /// The index's uid on the server.
    pub fn uid(&self) -> &str {
        &self.index.uid
    }

    fn enqueued(&self, task: u32) {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).push(task);
    }

    /// Waits until every task in `tasks` has succeeded; the first failed one is the error.
    async fn wait(&self, tasks: &[u32]) -> Result<(), SearchError> {
        let deadline = Instant::now() + TASK_TIMEOUT;
        for uid in tasks {
            let mut pause = Duration::from_millis(10);
            loop {
                match self.client.get_task(TaskUid(*uid)).await.map_err(engine_err)? {
                    Task::Succeeded { .. } => break,
                    Task::Failed { content } => {
                        return Err(SearchError::Engine(format!(
                            "meilisearch: task {uid} failed: {} ({})",
                            content.error.error_message, content.error.error_link
                        )));
                    }
                    Task::Enqueued { .. } | Task::Processing { .. } => {}
                }
                if Instant::now() > deadline {
                    return Err(SearchError::Engine(format!("meilisearch: task {uid} still not processed")));
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(250));
            }
        }
        Ok(())
    }

    async fn delete_where(&self, filter: &str) -> Result<(), SearchError> {
        let mut query = DocumentDeletionQuery::new(&self.index);
        query.with_filter(filter);
        let task = self.index.delete_documents_with(&query).await.map_err(engine_err)?;
        self.enqueued(task.task_uid);
        Ok(())
    }
}

#[async_trait::async_trait]
impl SearchEngine for MeilisearchEngine {
    fn index_name(&self) -> String {
        self.name.clone()
    }

    fn is_shared(&self) -> bool {
        true
    }

    async fn upsert(&self, docs: Vec<SearchDoc>) -> Result<(), SearchError> {
        if docs.is_empty() {
            return Ok(());
        }
        let docs: Vec<MeiliDoc> = docs.iter().map(MeiliDoc::of).collect();
        let task = self.index.add_or_replace(&docs, Some(PRIMARY_KEY)).await.map_err(engine_err)?;
        self.enqueued(task.task_uid);
        Ok(())
    }

    async fn delete(&self, keys: Vec<DocKey>) -> Result<(), SearchError> {
        if keys.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = keys.iter().map(DocKey::encode).collect();
        let task = self.index.delete_documents(&ids).await.map_err(engine_err)?;
        self.enqueued(task.task_uid);
        Ok(())
    }

    async fn clear(&self, kind: DocKind) -> Result<(), SearchError> {
        self.delete_where(&format!("kind = {}", quoted(kind.as_str()))).await
    }

    async fn commit(&self) -> Result<(), SearchError> {
        let tasks = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let result = self.wait(&tasks).await;
        if result.is_err() {
            // Not lost: waited for again at the next commit (a failed one fails it again).
            self.pending.lock().unwrap_or_else(|e| e.into_inner()).splice(0..0, tasks);
        }
        result
    }

    async fn search(&self, q: &SearchQuery) -> Result<SearchHits, SearchError> {
        if query_terms(&q.text).is_empty() || q.kinds.is_empty() {
            return Ok(SearchHits { hits: Vec::new(), total: 0, total_estimated: false });
        }
        let text: String = q.text.chars().take(MAX_QUERY_CHARS).collect();
        let filter = scope_filter(q);
        let fields: Vec<&str> = Field::visible_to(q.audience).iter().map(|f| f.as_str()).collect();
        let limit = q.limit.clamp(1, MAX_HITS);
        let results = self
            .index
            .search()
            .with_query(&text)
            .with_filter(&filter)
            .with_attributes_to_search_on(&fields)
            .with_attributes_to_retrieve(Selectors::Some(&["key"][..]))
            .with_matching_strategy(MatchingStrategies::ALL)
            .with_show_ranking_score(true)
            .with_limit(limit)
            .execute::<KeyOnly>()
            .await
            .map_err(engine_err)?;
        let hits: Vec<Hit> = results
            .hits
            .iter()
            .filter_map(|h| {
                let key = DocKey::decode(&h.result.key)?;
                Some(Hit { key, score: h.ranking_score.unwrap_or_default() as f32 })
            })
            .collect();
        // Meilisearch estimates the total; when every match came back, the count is exact.
        let estimate = results.estimated_total_hits.or(results.total_hits).unwrap_or(hits.len()) as u64;
        let (total, total_estimated) =
            if estimate <= hits.len() as u64 { (hits.len() as u64, false) } else { (estimate, true) };
        Ok(SearchHits { hits, total, total_estimated })
    }

    async fn snippets(&self, q: &SearchQuery, keys: &[DocKey]) -> Result<Vec<(DocKey, Snippet)>, SearchError> {
        let terms = query_terms(&q.text);
        if terms.is_empty() || keys.is_empty() || q.kinds.is_empty() {
            return Ok(Vec::new());
        }
        // The documents themselves, within the same scope (a placeholder search: no text), so
        // a key outside the searcher's reach is never read.
        let wanted: Vec<String> = keys.iter().map(|k| quoted(&k.encode())).collect();
        let filter = format!("{} AND key IN [{}]", scope_filter(q), wanted.join(", "));
        let results = self
            .index
            .search()
            .with_filter(&filter)
            .with_limit(keys.len())
            .execute::<MeiliDoc>()
            .await
            .map_err(engine_err)?;
        let fields = Field::visible_to(q.audience);
        let mut out: Vec<(DocKey, Snippet)> = results
            .hits
            .into_iter()
            .filter_map(|h| h.result.into_doc())
            .filter_map(|d| best_snippet(&d, fields, &terms).map(|s| (d.key, s)))
            .collect();
        out.sort_by_key(|(k, _)| keys.iter().position(|x| x == k));
        Ok(out)
    }

    async fn stats(&self) -> Result<IndexStats, SearchError> {
        let stats = self.index.get_stats().await.map_err(engine_err)?;
        // The server's disk is its own business (and shared with its other indexes).
        Ok(IndexStats { documents: stats.number_of_documents as u64, disk_bytes: None })
    }
}
