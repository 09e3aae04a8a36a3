//! Rows of the knowledge base (see `knowledge_queries.rs`): folders, documents, their versions
//! and the chunks the search index holds.

use switchboard_domain::*;

/// A folder of knowledge documents.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KnowledgeFolderRecord {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub created_at: Millis,
}

/// A pasted or uploaded knowledge document, as it is now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KnowledgeDocumentRecord {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub folder_id: Option<i64>,
    pub title: String,
    pub body: String,
    /// `text`, `markdown`, `html`, `json` or `csv`.
    pub format: String,
    /// `paste`, `upload` or `url` (a knowledge source's page).
    pub origin: String,
    /// An upload's file name (re-uploading it refreshes the document).
    pub file_name: Option<String>,
    pub content_hash: String,
    /// The current version's number.
    pub version: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub updated_by: Option<String>,
    /// In the portal's help center: every customer of the workspace may read it.
    pub public: bool,
}

/// What a new knowledge document is saved with.
#[derive(Debug, Clone)]
pub struct NewKnowledgeDocument {
    pub folder_id: Option<i64>,
    pub title: String,
    pub body: String,
    pub format: String,
    pub origin: String,
    pub file_name: Option<String>,
    pub content_hash: String,
    pub created_by: Option<String>,
    /// In the portal's help center.
    pub public: bool,
}

/// One saved state of a document's content.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KnowledgeVersionRecord {
    pub document_id: i64,
    pub workspace_id: WorkspaceId,
    pub version: i64,
    pub title: String,
    pub body: String,
    pub format: String,
    pub content_hash: String,
    pub created_at: Millis,
    pub created_by: Option<String>,
}

/// A piece of a document under its headings.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KnowledgeChunkRecord {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub document_id: i64,
    /// 0 for the document's first chunk.
    pub position: i64,
    /// The headings above the chunk, outermost first, as a JSON array of strings.
    pub heading_path: String,
    pub text: String,
    /// The document's title (the search document's title starts with it).
    pub document_title: String,
    /// When the document last changed.
    pub document_updated_at: Millis,
    /// The document's origin: `paste`, `upload` or `url`.
    pub document_origin: String,
    /// Whether the document is in the help center (customers may find the chunk).
    pub document_public: bool,
}

/// A chunk about to be written.
#[derive(Debug, Clone)]
pub struct NewKnowledgeChunk {
    pub position: i64,
    pub heading_path: String,
    pub text: String,
}

/// A URL the workspace keeps in its knowledge base, fetched again every `refresh_minutes`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KnowledgeSourceRecord {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub url: String,
    pub refresh_minutes: i64,
    /// The document holding the page's text, once a sync succeeded.
    pub document_id: Option<i64>,
    /// When the job runner syncs it next.
    pub next_sync_at: Millis,
    /// Set while a sync holds the source.
    pub syncing_until: Option<Millis>,
    pub last_attempt_at: Option<Millis>,
    /// The last successful sync.
    pub last_synced_at: Option<Millis>,
    pub first_synced_at: Option<Millis>,
    /// Why the last attempt failed; none after a success.
    pub last_error: Option<String>,
    /// The last time one of its chunks was among a knowledge search's results.
    pub last_retrieved_at: Option<Millis>,
    pub created_at: Millis,
    pub created_by: Option<String>,
    /// Failed syncs in a row (0 after a success): the next is tried sooner than the interval.
    pub failures: i64,
}

/// A row of the Background jobs page: a URL sync or a re-index, its state, progress and times.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BackgroundJobRecord {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    /// `knowledge_sync` or `reindex`.
    pub kind: String,
    /// `queued`, `running`, `completed` or `failed`.
    pub state: String,
    /// What it works on, for people (a source's URL).
    pub subject: String,
    pub source_id: Option<i64>,
    /// The scheduled sync it stands for (source and due time), when the runner queued it.
    pub dedup_key: Option<String>,
    pub processed: i64,
    pub total: Option<i64>,
    pub error: Option<String>,
    pub requested_by: Option<String>,
    pub created_at: Millis,
    pub started_at: Option<Millis>,
    pub finished_at: Option<Millis>,
    pub updated_at: Millis,
}
