//! The knowledge base: pasted, uploaded and URL-synced (`knowledge_sources.rs`) documents in folders, per workspace, with a version
//! per content change (deduplicated by content hash, the last 50 kept), chunked under their
//! headings and indexed in the search layer as `Chunk` documents.
//!
//! A change writes the document, its version and its chunks, and an event
//! (`knowledge.document.changed` / `.deleted`) naming the document and the chunk ids it removed,
//! in one transaction. The search indexer applies those events like a ticket's
//! (`crate::search`), so a crash between the commit and the index loses nothing. Staff of the
//! workspace read; admins write; customers never see any of it here.

use sha2::{Digest, Sha256};
use switchboard_domain::{Actor, EventKind, Millis, Permission, WorkspaceId};
use switchboard_search::{Audience, DocKey, DocKind, SearchDoc, SearchEngine, SearchQuery, Snippet};
use switchboard_store::{
    KnowledgeChunkRecord, KnowledgeDocumentRecord, KnowledgeFolderRecord, KnowledgeVersionRecord, NewKnowledgeChunk,
    NewKnowledgeDocument, Tx,
};

use crate::knowledge_text::{Chunk, LineChange, chunk, compare_lines, html_to_text};
use crate::{Desk, DeskError, require};

/// The largest document, uploaded or pasted.
pub const MAX_KNOWLEDGE_BYTES: usize = 5 * 1024 * 1024;
/// Versions kept per document (the current one included).
pub const KEPT_VERSIONS: i64 = 50;
/// The file endings an upload may have, and the format each is read as.
pub const UPLOAD_FORMATS: [(&str, KnowledgeFormat); 7] = [
    ("txt", KnowledgeFormat::Text),
    ("md", KnowledgeFormat::Markdown),
    ("markdown", KnowledgeFormat::Markdown),
    ("html", KnowledgeFormat::Html),
    ("htm", KnowledgeFormat::Html),
    ("json", KnowledgeFormat::Json),
    ("csv", KnowledgeFormat::Csv),
];
const MAX_TITLE_CHARS: usize = 200;
const MAX_FOLDER_CHARS: usize = 100;
const MAX_FILE_NAME_CHARS: usize = 255;
/// Event kinds the search indexer applies.
pub(crate) const CHANGED_EVENT: EventKind = EventKind::KnowledgeDocumentChanged;
pub(crate) const DELETED_EVENT: EventKind = EventKind::KnowledgeDocumentDeleted;

/// How a document's body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnowledgeFormat {
    Text,
    Markdown,
    Html,
    Json,
    Csv,
}

impl KnowledgeFormat {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            KnowledgeFormat::Text => "text",
            KnowledgeFormat::Markdown => "markdown",
            KnowledgeFormat::Html => "html",
            KnowledgeFormat::Json => "json",
            KnowledgeFormat::Csv => "csv",
        }
    }

    /// The format a stored name stands for (`text` for anything unknown).
    pub fn parse(s: &str) -> KnowledgeFormat {
        match s {
            "markdown" => KnowledgeFormat::Markdown,
            "html" => KnowledgeFormat::Html,
            "json" => KnowledgeFormat::Json,
            "csv" => KnowledgeFormat::Csv,
            _ => KnowledgeFormat::Text,
        }
    }
}

/// A paste or an edit: a new document without `id`.
#[derive(Debug, Clone)]
pub struct KnowledgeDocumentInput {
    pub id: Option<i64>,
    pub title: String,
    pub body: String,
    pub format: KnowledgeFormat,
    pub folder_id: Option<i64>,
    /// In the portal's help center; `None` keeps it as it is (a new document: not public).
    pub public: Option<bool>,
}

/// One uploaded file.
#[derive(Debug, Clone)]
pub struct KnowledgeUpload {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A saved document and whether the save changed its content (made a version).
#[derive(Debug, Clone)]
pub struct KnowledgeSaved {
    pub document: KnowledgeDocumentRecord,
    pub changed: bool,
}

/// A past version beside the current content, line by line.
#[derive(Debug, Clone)]
pub struct KnowledgeComparison {
    pub past: KnowledgeVersionRecord,
    pub current: KnowledgeDocumentRecord,
    pub lines: Vec<(LineChange, String)>,
}

/// A chunk that matched a knowledge search.
#[derive(Debug, Clone)]
pub struct KnowledgeHit {
    pub chunk: KnowledgeChunkRecord,
    pub heading_path: Vec<String>,
    pub score: f32,
    pub snippet: Option<Snippet>,
}

/// The content hash a save is deduplicated by.
fn content_hash(format: KnowledgeFormat, title: &str, body: &str) -> String {
    let mut h = Sha256::new();
    for part in [format.as_str(), title, body] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// A document's chunks, as they are stored.
fn chunks_of(format: KnowledgeFormat, body: &str) -> Vec<NewKnowledgeChunk> {
    let pieces: Vec<Chunk> = match format {
        KnowledgeFormat::Markdown => chunk(body, true),
        KnowledgeFormat::Html => chunk(&html_to_text(body), true),
        KnowledgeFormat::Text | KnowledgeFormat::Json | KnowledgeFormat::Csv => chunk(body, false),
    };
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, c)| NewKnowledgeChunk {
            position: i as i64,
            heading_path: serde_json::to_string(&c.heading_path).unwrap_or_else(|_| "[]".into()),
            text: c.text,
        })
        .collect()
}

/// A stored heading path.
pub fn heading_path(stored: &str) -> Vec<String> {
    serde_json::from_str(stored).unwrap_or_default()
}

/// A chunk's search document: found by its document's title, its headings and its text.
pub(crate) fn chunk_doc(c: &KnowledgeChunkRecord) -> SearchDoc {
    let mut title = c.document_title.clone();
    for h in heading_path(&c.heading_path) {
        title.push_str(" › ");
        title.push_str(&h);
    }
    SearchDoc {
        key: DocKey { kind: DocKind::Chunk, id: c.id },
        workspace_id: c.workspace_id.0,
        owner_contact_id: None,
        public: c.document_public,
        title,
        public_text: c.text.clone(),
        internal_text: String::new(),
        people: String::new(),
        tags: String::new(),
        updated_at: c.document_updated_at,
    }
}

fn validate_title(field: &str, title: &str) -> Result<String, DeskError> {
    let t = title.trim();
    if t.is_empty() {
        return Err(DeskError::invalid(field, "is empty; give the document a title"));
    }
    if t.chars().count() > MAX_TITLE_CHARS {
        return Err(DeskError::invalid(field, format!("is longer than {MAX_TITLE_CHARS} characters")));
    }
    if t.chars().any(char::is_control) {
        return Err(DeskError::invalid(field, "holds control characters"));
    }
    Ok(t.to_string())
}

fn validate_body(field: &str, body: &str) -> Result<(), DeskError> {
    if body.trim().is_empty() {
        return Err(DeskError::invalid(field, "is empty"));
    }
    if body.len() > MAX_KNOWLEDGE_BYTES {
        return Err(DeskError::invalid(field, format!("is larger than {} MB", MAX_KNOWLEDGE_BYTES >> 20)));
    }
    if body.contains('\0') {
        return Err(DeskError::invalid(field, "holds a NUL character; it is not text"));
    }
    Ok(())
}

/// An upload's format and text, or why it is refused (the message names the file).
fn read_upload(field: &str, u: &KnowledgeUpload) -> Result<(String, KnowledgeFormat, String), DeskError> {
    // Only the last path part: browsers send a bare name, other clients may not.
    let name = u.file_name.rsplit(['/', '\\']).next().unwrap_or_default().trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_FILE_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(DeskError::invalid(
            field,
            format!("`{}`: the file name is empty, too long or not text", u.file_name),
        ));
    }
    let allowed = UPLOAD_FORMATS.iter().map(|(e, _)| format!(".{e}")).collect::<Vec<_>>().join(" ");
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let Some((_, format)) = UPLOAD_FORMATS.iter().find(|(e, _)| *e == ext) else {
        let what = if ext.is_empty() { "a file without an ending".to_string() } else { format!(".{ext} files") };
        return Err(DeskError::invalid(field, format!("`{name}`: {what} are not accepted; upload one of {allowed}")));
    };
    if u.bytes.len() > MAX_KNOWLEDGE_BYTES {
        return Err(DeskError::invalid(
            field,
            format!("`{name}`: {} bytes is over the {} MB limit", u.bytes.len(), MAX_KNOWLEDGE_BYTES >> 20),
        ));
    }
    let text = std::str::from_utf8(&u.bytes)
        .ok()
        .filter(|t| !t.contains('\0'))
        .ok_or_else(|| DeskError::invalid(field, format!("`{name}`: is not UTF-8 text (a binary file?)")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(DeskError::invalid(field, format!("`{name}`: is empty")));
    }
    Ok((name, *format, text.to_string()))
}

pub(crate) fn read_access(actor: &Actor) -> Result<(), DeskError> {
    if actor.contact_id().is_some() {
        return Err(DeskError::Forbidden("the knowledge base is for staff".into()));
    }
    require(actor, Permission::View)
}

impl Desk {
    /// The workspace's folders by name.
    pub async fn knowledge_folders(&self, actor: &Actor) -> Result<Vec<KnowledgeFolderRecord>, DeskError> {
        read_access(actor)?;
        Ok(self.store().read().await?.knowledge_folders(actor.workspace_id).await?)
    }

    /// Creates a folder (names are unique in a workspace).
    pub async fn create_knowledge_folder(&self, actor: &Actor, name: &str) -> Result<KnowledgeFolderRecord, DeskError> {
        require(actor, Permission::Admin)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_FOLDER_CHARS || name.chars().any(char::is_control) {
            return Err(DeskError::invalid("name", format!("must be 1 to {MAX_FOLDER_CHARS} characters of text")));
        }
        let mut tx = self.store().write().await?;
        if tx.knowledge_folders(actor.workspace_id).await?.iter().any(|f| f.name == name) {
            return Err(DeskError::invalid("name", format!("a folder named `{name}` exists already")));
        }
        let f = tx.insert_knowledge_folder(actor.workspace_id, name, self.now()).await?;
        tx.commit().await?;
        Ok(f)
    }

    /// Deletes a folder; its documents move out of it (none is deleted).
    pub async fn delete_knowledge_folder(&self, actor: &Actor, id: i64) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        if !tx.delete_knowledge_folder(actor.workspace_id, id).await? {
            return Err(DeskError::NotFound("knowledge folder"));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The workspace's documents by title: all, or one folder's (`Some(None)`: outside any).
    pub async fn knowledge_documents(
        &self,
        actor: &Actor,
        folder: Option<Option<i64>>,
    ) -> Result<Vec<KnowledgeDocumentRecord>, DeskError> {
        read_access(actor)?;
        Ok(self.store().read().await?.list_knowledge_documents(actor.workspace_id, folder).await?)
    }

    /// One document of the workspace.
    pub async fn knowledge_document(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<Option<KnowledgeDocumentRecord>, DeskError> {
        read_access(actor)?;
        Ok(self.store().read().await?.knowledge_document_by_id(actor.workspace_id, id).await?)
    }

    /// A document's chunks, in order.
    pub async fn knowledge_chunks(&self, actor: &Actor, id: i64) -> Result<Vec<KnowledgeChunkRecord>, DeskError> {
        read_access(actor)?;
        let mut tx = self.store().read().await?;
        let ids = tx.knowledge_chunk_ids(actor.workspace_id, id).await?;
        let mut chunks = tx.knowledge_chunks_by_ids(actor.workspace_id, &ids).await?;
        chunks.sort_by_key(|c| c.position);
        Ok(chunks)
    }

    /// Pastes a new document or edits one (title, body, format, folder). Content identical to
    /// the current makes no version and no re-index.
    pub async fn save_knowledge_document(
        &self,
        actor: &Actor,
        input: KnowledgeDocumentInput,
    ) -> Result<KnowledgeSaved, DeskError> {
        require(actor, Permission::Admin)?;
        let title = validate_title("title", &input.title)?;
        validate_body("body", &input.body)?;
        let mut tx = self.store().write().await?;
        let ws = actor.workspace_id;
        check_folder(&mut tx, ws, input.folder_id).await?;
        let saved = match input.id {
            None => {
                let new = NewKnowledgeDocument {
                    folder_id: input.folder_id,
                    title,
                    body: input.body,
                    format: input.format.as_str().into(),
                    origin: "paste".into(),
                    file_name: None,
                    content_hash: String::new(),
                    created_by: Some(actor.label.clone()),
                    public: input.public.unwrap_or(false),
                };
                self.insert_document(&mut tx, ws, new, input.format).await?
            }
            Some(id) => {
                let current =
                    tx.knowledge_document_by_id(ws, id).await?.ok_or(DeskError::NotFound("knowledge document"))?;
                refuse_url_document("id", &current)?;
                let mut saved = self
                    .change_document(&mut tx, actor, current, title, input.body, input.format, input.folder_id)
                    .await?;
                if let Some(public) = input.public {
                    saved.document = self.write_public(&mut tx, saved.document, public).await?;
                }
                saved
            }
        };
        tx.commit().await?;
        self.inner.search.wake.notify_one();
        Ok(saved)
    }

    /// Uploads files: each becomes a document titled by its name, or refreshes the document
    /// uploaded before under the same name. Every file is checked first; one refused refuses
    /// the whole upload (nothing is saved) with a VALIDATION error on `files[i]` naming it.
    pub async fn upload_knowledge_documents(
        &self,
        actor: &Actor,
        files: Vec<KnowledgeUpload>,
        folder_id: Option<i64>,
    ) -> Result<Vec<KnowledgeSaved>, DeskError> {
        require(actor, Permission::Admin)?;
        if files.is_empty() {
            return Err(DeskError::invalid("files", "is empty; choose at least one file"));
        }
        let mut read = Vec::with_capacity(files.len());
        for (i, f) in files.iter().enumerate() {
            let (name, format, text) = read_upload(&format!("files[{i}]"), f)?;
            if read.iter().any(|(n, _, _): &(String, KnowledgeFormat, String)| *n == name) {
                return Err(DeskError::invalid(&format!("files[{i}]"), format!("`{name}`: is in this upload twice")));
            }
            read.push((name, format, text));
        }
        let ws = actor.workspace_id;
        let mut tx = self.store().write().await?;
        check_folder(&mut tx, ws, folder_id).await?;
        let mut saved = Vec::with_capacity(read.len());
        for (name, format, text) in read {
            let title = name.rsplit_once('.').map_or(name.as_str(), |(stem, _)| stem).trim().to_string();
            let title = if title.is_empty() { name.clone() } else { title.chars().take(MAX_TITLE_CHARS).collect() };
            let s = match tx.knowledge_document_by_file(ws, &name).await? {
                Some(current) => {
                    // A refresh keeps the document's title (it may have been renamed) and folder.
                    let (title, folder) = (current.title.clone(), current.folder_id);
                    self.change_document(&mut tx, actor, current, title, text, format, folder).await?
                }
                None => {
                    let new = NewKnowledgeDocument {
                        folder_id,
                        title,
                        body: text,
                        format: format.as_str().into(),
                        origin: "upload".into(),
                        file_name: Some(name),
                        content_hash: String::new(),
                        created_by: Some(actor.label.clone()),
                        public: false,
                    };
                    self.insert_document(&mut tx, ws, new, format).await?
                }
            };
            saved.push(s);
        }
        tx.commit().await?;
        self.inner.search.wake.notify_one();
        Ok(saved)
    }

    /// Moves a document into a folder (`None`: out of any).
    pub async fn move_knowledge_document(
        &self,
        actor: &Actor,
        id: i64,
        folder_id: Option<i64>,
    ) -> Result<KnowledgeDocumentRecord, DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        check_folder(&mut tx, actor.workspace_id, folder_id).await?;
        let mut d = tx
            .knowledge_document_by_id(actor.workspace_id, id)
            .await?
            .ok_or(DeskError::NotFound("knowledge document"))?;
        d.folder_id = folder_id;
        tx.update_knowledge_document(&d).await?;
        tx.commit().await?;
        Ok(d)
    }

    /// Puts a document into the portal's help center (`public`) or takes it out; its chunks are
    /// indexed again so customers' searches follow at once. Any origin, URL pages included.
    /// Admins.
    pub async fn set_knowledge_document_public(
        &self,
        actor: &Actor,
        id: i64,
        public: bool,
    ) -> Result<KnowledgeDocumentRecord, DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        let d = tx
            .knowledge_document_by_id(actor.workspace_id, id)
            .await?
            .ok_or(DeskError::NotFound("knowledge document"))?;
        let d = self.write_public(&mut tx, d, public).await?;
        tx.commit().await?;
        self.inner.search.wake.notify_one();
        Ok(d)
    }

    /// Writes the public flag and, when it changed, the event that re-indexes the chunks (the
    /// flag is part of each chunk's search document).
    async fn write_public(
        &self,
        tx: &mut Tx,
        mut d: KnowledgeDocumentRecord,
        public: bool,
    ) -> Result<KnowledgeDocumentRecord, DeskError> {
        if d.public == public {
            return Ok(d);
        }
        d.public = public;
        tx.update_knowledge_document(&d).await?;
        let payload = serde_json::json!({ "documentId": d.id, "removedChunks": [] });
        tx.insert_event(d.workspace_id, None, CHANGED_EVENT, &payload, self.now()).await?;
        Ok(d)
    }

    /// Deletes a document with its versions; its chunks leave the index.
    pub async fn delete_knowledge_document(&self, actor: &Actor, id: i64) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let mut tx = self.store().write().await?;
        // A URL document goes with its source: left alone, the next sync would bring it back.
        if let Some(source) = tx.knowledge_source_of_document(ws, id).await? {
            tx.delete_knowledge_source(ws, source.id).await?;
        }
        if !self.remove_document(&mut tx, ws, id).await? {
            return Err(DeskError::NotFound("knowledge document"));
        }
        tx.commit().await?;
        self.inner.search.wake.notify_one();
        Ok(())
    }

    /// A document's versions, newest first (the first is the current content).
    pub async fn knowledge_versions(&self, actor: &Actor, id: i64) -> Result<Vec<KnowledgeVersionRecord>, DeskError> {
        read_access(actor)?;
        let mut tx = self.store().read().await?;
        tx.knowledge_document_by_id(actor.workspace_id, id).await?.ok_or(DeskError::NotFound("knowledge document"))?;
        Ok(tx.knowledge_versions(actor.workspace_id, id).await?)
    }

    /// A past version beside the current content.
    pub async fn compare_knowledge_version(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
    ) -> Result<KnowledgeComparison, DeskError> {
        read_access(actor)?;
        let mut tx = self.store().read().await?;
        let current = tx
            .knowledge_document_by_id(actor.workspace_id, id)
            .await?
            .ok_or(DeskError::NotFound("knowledge document"))?;
        let past = tx
            .knowledge_version(actor.workspace_id, id, version)
            .await?
            .ok_or(DeskError::NotFound("knowledge document version"))?;
        let lines = compare_lines(&past.body, &current.body);
        Ok(KnowledgeComparison { past, current, lines })
    }

    /// Makes a past version's content current again, as a new version (none when it is the
    /// current content already).
    pub async fn revert_knowledge_document(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
    ) -> Result<KnowledgeSaved, DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let mut tx = self.store().write().await?;
        let current = tx.knowledge_document_by_id(ws, id).await?.ok_or(DeskError::NotFound("knowledge document"))?;
        refuse_url_document("id", &current)?;
        let past = tx
            .knowledge_version(ws, id, version)
            .await?
            .ok_or_else(|| DeskError::invalid("version", format!("version {version} of this document is not kept")))?;
        let folder = current.folder_id;
        let format = KnowledgeFormat::parse(&past.format);
        let saved = self.change_document(&mut tx, actor, current, past.title, past.body, format, folder).await?;
        tx.commit().await?;
        self.inner.search.wake.notify_one();
        Ok(saved)
    }

    /// The knowledge chunks matching `text` best first, with the headings above each and where
    /// it matched. Staff only; the workspace's own documents only.
    pub async fn knowledge_search(
        &self,
        actor: &Actor,
        text: &str,
        limit: usize,
    ) -> Result<Vec<KnowledgeHit>, DeskError> {
        read_access(actor)?;
        check_search_text(text)?;
        let engine: &dyn SearchEngine = self
            .search_engine()
            .map(|e| e.as_ref())
            .ok_or_else(|| DeskError::Internal("no search engine is configured".into()))?;
        let q = SearchQuery {
            workspace_id: actor.workspace_id.0,
            kinds: vec![DocKind::Chunk],
            text: text.to_string(),
            audience: Audience::Staff,
            limit: limit.clamp(1, 100),
        };
        let hits = engine.search(&q).await?;
        let keys: Vec<DocKey> = hits.hits.iter().map(|h| h.key).collect();
        let mut snippets = engine.snippets(&q, &keys).await?;
        let ids: Vec<i64> = keys.iter().map(|k| k.id).collect();
        // The database decides what exists now (the index trails it by a moment).
        let chunks = self.store().read().await?.knowledge_chunks_by_ids(actor.workspace_id, &ids).await?;
        let mut out = Vec::with_capacity(chunks.len());
        for h in &hits.hits {
            let Some(c) = chunks.iter().find(|c| c.id == h.key.id) else { continue };
            let snippet = snippets.iter().position(|(k, _)| *k == h.key).map(|i| snippets.swap_remove(i).1);
            out.push(KnowledgeHit {
                heading_path: heading_path(&c.heading_path),
                chunk: c.clone(),
                score: h.score,
                snippet,
            });
        }
        let mut from_urls: Vec<i64> =
            out.iter().filter(|h| h.chunk.document_origin == "url").map(|h| h.chunk.document_id).collect();
        from_urls.sort_unstable();
        from_urls.dedup();
        // Source health wants to know what searches use; a failure to note it must not fail the search.
        if let Err(e) = self.mark_sources_retrieved(actor.workspace_id, &from_urls).await {
            tracing::warn!(error = %e, "recording knowledge source retrievals failed");
        }
        Ok(out)
    }

    /// Deletes a document with its versions and chunks, and tells the index which chunks left.
    pub(crate) async fn remove_document(&self, tx: &mut Tx, ws: WorkspaceId, id: i64) -> Result<bool, DeskError> {
        let removed = tx.knowledge_chunk_ids(ws, id).await?;
        if !tx.delete_knowledge_document(ws, id).await? {
            return Ok(false);
        }
        let payload = serde_json::json!({ "documentId": id, "removedChunks": removed });
        tx.insert_event(ws, None, DELETED_EVENT, &payload, self.now()).await?;
        Ok(true)
    }

    pub(crate) async fn insert_document(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        mut new: NewKnowledgeDocument,
        format: KnowledgeFormat,
    ) -> Result<KnowledgeSaved, DeskError> {
        let now = self.now();
        new.content_hash = content_hash(format, &new.title, &new.body);
        let d = tx.insert_knowledge_document(ws, &new, now).await?;
        tx.insert_knowledge_version(&version_of(&d, now)).await?;
        tx.replace_knowledge_chunks(ws, d.id, &chunks_of(format, &d.body)).await?;
        let payload = serde_json::json!({ "documentId": d.id, "removedChunks": [] });
        tx.insert_event(ws, None, CHANGED_EVENT, &payload, now).await?;
        Ok(KnowledgeSaved { document: d, changed: true })
    }

    /// Writes new content over a document: a version when the content hash changed, new chunks
    /// when the body or format did, an event for the index when either its chunks or its title
    /// (part of each chunk's search document) changed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn change_document(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        mut d: KnowledgeDocumentRecord,
        title: String,
        body: String,
        format: KnowledgeFormat,
        folder_id: Option<i64>,
    ) -> Result<KnowledgeSaved, DeskError> {
        let now = self.now();
        let hash = content_hash(format, &title, &body);
        let moved = d.folder_id != folder_id;
        if hash == d.content_hash {
            if moved {
                d.folder_id = folder_id;
                tx.update_knowledge_document(&d).await?;
            }
            return Ok(KnowledgeSaved { document: d, changed: false });
        }
        let rechunk = d.body != body || d.format != format.as_str();
        let retitled = d.title != title;
        d.title = title;
        d.body = body;
        d.format = format.as_str().into();
        d.content_hash = hash;
        d.folder_id = folder_id;
        d.version += 1;
        d.updated_at = now;
        d.updated_by = Some(actor.label.clone());
        tx.update_knowledge_document(&d).await?;
        tx.insert_knowledge_version(&version_of(&d, now)).await?;
        tx.prune_knowledge_versions(d.workspace_id, d.id, d.version - KEPT_VERSIONS + 1).await?;
        let removed = if rechunk {
            let old = tx.knowledge_chunk_ids(d.workspace_id, d.id).await?;
            tx.replace_knowledge_chunks(d.workspace_id, d.id, &chunks_of(format, &d.body)).await?;
            old
        } else {
            Vec::new()
        };
        if rechunk || retitled {
            let payload = serde_json::json!({ "documentId": d.id, "removedChunks": removed });
            tx.insert_event(d.workspace_id, None, CHANGED_EVENT, &payload, now).await?;
        }
        Ok(KnowledgeSaved { document: d, changed: true })
    }
}

fn version_of(d: &KnowledgeDocumentRecord, now: Millis) -> KnowledgeVersionRecord {
    KnowledgeVersionRecord {
        document_id: d.id,
        workspace_id: d.workspace_id,
        version: d.version,
        title: d.title.clone(),
        body: d.body.clone(),
        format: d.format.clone(),
        content_hash: d.content_hash.clone(),
        created_at: now,
        created_by: d.updated_by.clone(),
    }
}

/// A URL source's document follows its page: edits and reverts would be overwritten by the
/// next sync, so they are refused.
fn refuse_url_document(field: &str, d: &KnowledgeDocumentRecord) -> Result<(), DeskError> {
    if d.origin == "url" {
        return Err(DeskError::invalid(field, "is synced from a URL; change the page, or delete its source"));
    }
    Ok(())
}

async fn check_folder(tx: &mut Tx, ws: WorkspaceId, folder: Option<i64>) -> Result<(), DeskError> {
    if let Some(f) = folder
        && !tx.knowledge_folders(ws).await?.iter().any(|x| x.id == f)
    {
        return Err(DeskError::invalid("folderId", "is not a folder of this workspace"));
    }
    Ok(())
}

/// What a knowledge event asks of the index: the document to index again and chunks to drop.
pub(crate) fn event_work(kind: &EventKind, payload: &str) -> Option<(i64, Vec<i64>)> {
    if *kind != CHANGED_EVENT && *kind != DELETED_EVENT {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(payload).ok()?;
    let id = v.get("documentId")?.as_i64()?;
    let removed = v
        .get("removedChunks")
        .and_then(|r| r.as_array())
        .map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect())
        .unwrap_or_default();
    Some((id, removed))
}

/// The documents a page of events asks to index again, and the chunk keys to drop.
pub(crate) fn events_work(events: &[switchboard_store::EventRecord]) -> (Vec<i64>, Vec<DocKey>) {
    let mut documents = Vec::new();
    let mut removed = Vec::new();
    for e in events {
        if let Some((doc, chunks)) = event_work(&e.kind, &e.payload) {
            documents.push(doc);
            removed.extend(chunks.into_iter().map(|id| DocKey { kind: DocKind::Chunk, id }));
        }
    }
    documents.sort_unstable();
    documents.dedup();
    (documents, removed)
}

/// Writes every knowledge chunk of every workspace into the index again (a rebuild).
pub(crate) async fn rebuild_chunks(desk: &Desk, engine: &dyn SearchEngine) -> Result<u64, DeskError> {
    engine.clear(DocKind::Chunk).await?;
    let mut after = 0;
    let mut written = 0;
    loop {
        let mut tx = desk.store().read().await?;
        let ids = tx.knowledge_document_ids_after(after, 200).await?;
        let Some(last) = ids.last().copied() else { break };
        let chunks = tx.knowledge_chunks_of(&ids).await?;
        drop(tx);
        written += chunks.len() as u64;
        engine.upsert(chunks.iter().map(chunk_doc).collect()).await?;
        after = last;
    }
    Ok(written)
}

/// Refuses a search text longer than the search layer takes, naming the `text` argument.
pub(crate) fn check_search_text(text: &str) -> Result<(), DeskError> {
    if text.chars().count() > switchboard_search::MAX_QUERY_CHARS {
        return Err(DeskError::invalid(
            "text",
            format!("is longer than {} characters", switchboard_search::MAX_QUERY_CHARS),
        ));
    }
    Ok(())
}
