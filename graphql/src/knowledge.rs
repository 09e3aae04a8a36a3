//! The knowledge base over GraphQL: documents in folders, uploads, versions with compare and
//! revert, and search over their chunks. Conversion only: the desk validates and checks who may.

use std::io::Read;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use switchboard_desk::store::{
    KnowledgeChunkRecord, KnowledgeDocumentRecord, KnowledgeFolderRecord, KnowledgeVersionRecord,
};
use switchboard_desk::{
    self as desk_api, DeskError, KnowledgeDocumentInput, KnowledgeFormat as Format, KnowledgeFreshness,
    KnowledgeSourceHealth as Health, KnowledgeSourceInput, KnowledgeSourceView, KnowledgeUpload, LineChange,
};

use crate::help_center::{BackgroundJob, HelpCenterArticle, HelpCenterSearchHit};
use crate::search::SnippetFragment;
use crate::types::{id, remote_enum, time};
use crate::{actor, desk, opt_id, parse_id};

remote_enum!(
    /// How a document's body is read (and highlighted in the editor).
    KnowledgeFormat => "Format" { Text, Markdown, Html, Json, Csv });

/// Where a document came from.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum KnowledgeOrigin {
    Paste,
    Upload,
    /// A URL source's page (see `knowledgeSources`); it follows the page and is not edited.
    Url,
}

/// A folder of knowledge documents.
pub struct KnowledgeFolder(pub KnowledgeFolderRecord);

#[Object]
impl KnowledgeFolder {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
}

/// A pasted or uploaded knowledge document.
pub struct KnowledgeDocument(pub KnowledgeDocumentRecord);

#[Object]
impl KnowledgeDocument {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn format(&self) -> KnowledgeFormat {
        Format::parse(&self.0.format).into()
    }
    async fn origin(&self) -> KnowledgeOrigin {
        match self.0.origin.as_str() {
            "upload" => KnowledgeOrigin::Upload,
            "url" => KnowledgeOrigin::Url,
            _ => KnowledgeOrigin::Paste,
        }
    }
    /// An upload's file name: uploading a file of this name again refreshes this document.
    async fn file_name(&self) -> Option<&str> {
        self.0.file_name.as_deref()
    }
    async fn folder_id(&self) -> Option<ID> {
        self.0.folder_id.map(id)
    }
    /// The current version's number (a save of identical content keeps it).
    async fn version(&self) -> i64 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        time(self.0.updated_at)
    }
    /// Who changed the content last.
    async fn updated_by(&self) -> Option<&str> {
        self.0.updated_by.as_deref()
    }
    /// In the portal's help center: every customer of the workspace may read and search it.
    async fn public(&self) -> bool {
        self.0.public
    }
    /// The kept versions, newest (the current content) first; at most 50.
    #[graphql(complexity = "50 * child_complexity")]
    async fn versions(&self, ctx: &Context<'_>) -> Result<Vec<KnowledgeDocumentVersion>, DeskError> {
        let list = desk(ctx).knowledge_versions(actor(ctx)?, self.0.id).await?;
        Ok(list.into_iter().map(KnowledgeDocumentVersion).collect())
    }
    /// A kept past version beside the current content, line by line.
    #[graphql(complexity = "500 * child_complexity")]
    async fn compare_version(&self, ctx: &Context<'_>, version: i64) -> Result<KnowledgeComparison, DeskError> {
        let c = desk(ctx).compare_knowledge_version(actor(ctx)?, self.0.id, version).await?;
        Ok(KnowledgeComparison {
            past: KnowledgeDocumentVersion(c.past),
            lines: c
                .lines
                .into_iter()
                .map(|(change, text)| KnowledgeLine {
                    change: match change {
                        LineChange::Same => KnowledgeLineChange::Same,
                        LineChange::Removed => KnowledgeLineChange::Removed,
                        LineChange::Added => KnowledgeLineChange::Added,
                    },
                    text,
                })
                .collect(),
        })
    }
    /// The document cut under its headings, as search finds it.
    #[graphql(complexity = "100 * child_complexity")]
    async fn chunks(&self, ctx: &Context<'_>) -> Result<Vec<KnowledgeChunk>, DeskError> {
        let list = desk(ctx).knowledge_chunks(actor(ctx)?, self.0.id).await?;
        Ok(list.into_iter().map(KnowledgeChunk).collect())
    }
}

/// One kept state of a document's content.
pub struct KnowledgeDocumentVersion(pub KnowledgeVersionRecord);

#[Object]
impl KnowledgeDocumentVersion {
    async fn version(&self) -> i64 {
        self.0.version
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn format(&self) -> KnowledgeFormat {
        Format::parse(&self.0.format).into()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
    async fn created_by(&self) -> Option<&str> {
        self.0.created_by.as_deref()
    }
}

/// How a line of a comparison relates the past version to the current content.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum KnowledgeLineChange {
    Same,
    /// Only in the past version.
    Removed,
    /// Only in the current content.
    Added,
}

/// A line of a comparison.
#[derive(SimpleObject)]
pub struct KnowledgeLine {
    pub change: KnowledgeLineChange,
    pub text: String,
}

/// A past version and its lines against the current content.
#[derive(SimpleObject)]
pub struct KnowledgeComparison {
    pub past: KnowledgeDocumentVersion,
    pub lines: Vec<KnowledgeLine>,
}

/// A piece of a document under its headings.
pub struct KnowledgeChunk(pub KnowledgeChunkRecord);

#[Object]
impl KnowledgeChunk {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn document_id(&self) -> ID {
        id(self.0.document_id)
    }
    async fn document_title(&self) -> &str {
        &self.0.document_title
    }
    /// 0 for the document's first chunk.
    async fn position(&self) -> i64 {
        self.0.position
    }
    /// The headings above the chunk, outermost first.
    async fn heading_path(&self) -> Vec<String> {
        desk_api::heading_path(&self.0.heading_path)
    }
    async fn text(&self) -> &str {
        &self.0.text
    }
}

/// A chunk that matched a knowledge search, with where it matched.
#[derive(SimpleObject)]
pub struct KnowledgeSearchHit {
    pub chunk: KnowledgeChunk,
    pub score: f64,
    /// An excerpt with the matched words marked; render as text, never as HTML.
    pub fragments: Vec<SnippetFragment>,
}

/// A paste, or an edit of a document (with `id`).
#[derive(InputObject)]
#[graphql(name = "KnowledgeDocumentInput")]
pub struct KnowledgeDocumentInputGql {
    pub id: Option<ID>,
    pub title: String,
    pub body: String,
    pub format: KnowledgeFormat,
    pub folder_id: Option<ID>,
    /// In the portal's help center; not given keeps it as it is (a new document is not public).
    pub public: Option<bool>,
}

remote_enum!(
/// A URL source's health, as the Knowledge page shows it.
KnowledgeSourceHealth => "Health" {
    /// Synced on schedule, no error, retrieved by searches.
    Healthy,
    /// The content is older than three intervals: it may be outdated.
    StaleSync,
    /// The scheduled sync is more than 15 minutes late.
    SyncOverdue,
    /// The last fetch or index failed; `lastError` says why.
    SyncFailed,
    /// Added, not fetched yet.
    NeverSynced,
    /// Indexed, but no knowledge search returned it in 30 days.
    NeverRetrieved,
});

/// A page the workspace keeps in its knowledge base, fetched again every `refreshMinutes`.
pub struct KnowledgeSource(pub KnowledgeSourceView);

#[Object]
impl KnowledgeSource {
    async fn id(&self) -> ID {
        id(self.0.source.id)
    }
    async fn url(&self) -> &str {
        &self.0.source.url
    }
    async fn refresh_minutes(&self) -> i64 {
        self.0.source.refresh_minutes
    }
    async fn health(&self) -> KnowledgeSourceHealth {
        self.0.health.into()
    }
    /// The document holding the page's text, once a sync succeeded.
    async fn document_id(&self) -> Option<ID> {
        self.0.source.document_id.map(id)
    }
    /// When the job runner syncs it next.
    async fn next_sync_at(&self) -> DateTime<Utc> {
        time(self.0.source.next_sync_at)
    }
    /// The last sync attempt, successful or not.
    async fn last_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.source.last_attempt_at.map(time)
    }
    /// The last successful sync.
    async fn last_synced_at(&self) -> Option<DateTime<Utc>> {
        self.0.source.last_synced_at.map(time)
    }
    /// Why the last attempt failed; null after a success.
    async fn last_error(&self) -> Option<&str> {
        self.0.source.last_error.as_deref()
    }
    /// The last time a knowledge search returned one of its chunks.
    async fn last_retrieved_at(&self) -> Option<DateTime<Utc>> {
        self.0.source.last_retrieved_at.map(time)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.source.created_at)
    }
}

remote_enum!(
/// Why a source is a freshness alert.
KnowledgeFreshnessReason => "KnowledgeFreshness" {
    /// Its content is older than three intervals.
    StaleSync,
    /// No knowledge search returned it in 30 days.
    NeverRetrieved,
});

/// A source that is a candidate for an update, a removal or a test search.
#[derive(SimpleObject)]
pub struct KnowledgeFreshnessAlert {
    pub source: KnowledgeSource,
    pub reason: KnowledgeFreshnessReason,
}

/// A URL source to add, or the interval of the workspace's source for that URL.
#[derive(InputObject)]
#[graphql(name = "KnowledgeSourceInput")]
pub struct KnowledgeSourceInputGql {
    /// An http or https page on a public address.
    pub url: String,
    /// Minutes between syncs: 15 or more; 180 when not given.
    pub refresh_minutes: Option<i64>,
}

/// The knowledge base's reads.
#[derive(Debug, Default)]
pub struct KnowledgeQuery;

/// The help center's and the Background jobs page's reads.
#[derive(Debug, Default)]
pub struct HelpCenterQuery;

#[Object]
impl KnowledgeQuery {
    /// The workspace's knowledge folders by name (staff).
    #[graphql(complexity = "200 * child_complexity")]
    async fn knowledge_folders(&self, ctx: &Context<'_>) -> Result<Vec<KnowledgeFolder>, DeskError> {
        Ok(desk(ctx).knowledge_folders(actor(ctx)?).await?.into_iter().map(KnowledgeFolder).collect())
    }

    /// The workspace's knowledge documents by title (staff): all, or one folder's.
    #[graphql(complexity = "200 * child_complexity")]
    async fn knowledge_documents(
        &self,
        ctx: &Context<'_>,
        folder_id: Option<ID>,
    ) -> Result<Vec<KnowledgeDocument>, DeskError> {
        let folder = opt_id::<i64>(&folder_id, "folderId")?.map(Some);
        Ok(desk(ctx).knowledge_documents(actor(ctx)?, folder).await?.into_iter().map(KnowledgeDocument).collect())
    }

    /// One knowledge document of the workspace (staff); NOT_FOUND for any other id.
    async fn knowledge_document(&self, ctx: &Context<'_>, id: ID) -> Result<KnowledgeDocument, DeskError> {
        let id = parse_id::<i64>(&id, "id")?;
        let d = desk(ctx).knowledge_document(actor(ctx)?, id).await?;
        Ok(KnowledgeDocument(d.ok_or(DeskError::NotFound("knowledge document"))?))
    }

    /// The workspace's URL sources with their health, by URL (staff).
    #[graphql(complexity = "100 * child_complexity")]
    async fn knowledge_sources(&self, ctx: &Context<'_>) -> Result<Vec<KnowledgeSource>, DeskError> {
        Ok(desk(ctx).knowledge_sources(actor(ctx)?).await?.into_iter().map(KnowledgeSource).collect())
    }

    /// Sources whose content is stale or that no search returned in 30 days (staff).
    #[graphql(complexity = "100 * child_complexity")]
    async fn knowledge_freshness_alerts(&self, ctx: &Context<'_>) -> Result<Vec<KnowledgeFreshnessAlert>, DeskError> {
        let alerts = desk(ctx).knowledge_freshness_alerts(actor(ctx)?).await?;
        Ok(alerts
            .into_iter()
            .map(|(v, why)| KnowledgeFreshnessAlert { source: KnowledgeSource(v), reason: why.into() })
            .collect())
    }

    /// The knowledge chunks matching `text`, best first, each with its document, headings and
    /// where it matched (staff; typos within Meilisearch's budget still match).
    #[graphql(complexity = "first.unwrap_or(10).clamp(1, 100) as usize * child_complexity")]
    async fn knowledge_search(
        &self,
        ctx: &Context<'_>,
        text: String,
        first: Option<i32>,
    ) -> Result<Vec<KnowledgeSearchHit>, DeskError> {
        let limit = first.unwrap_or(10).clamp(1, 100) as usize;
        let hits = desk(ctx).knowledge_search(actor(ctx)?, &text, limit).await?;
        Ok(hits
            .into_iter()
            .map(|h| KnowledgeSearchHit {
                score: f64::from(h.score),
                fragments: h
                    .snippet
                    .map(|s| {
                        s.fragments
                            .into_iter()
                            .map(|f| SnippetFragment { text: f.text, highlighted: f.highlighted })
                            .collect()
                    })
                    .unwrap_or_default(),
                chunk: KnowledgeChunk(h.chunk),
            })
            .collect())
    }
}

#[Object]
impl HelpCenterQuery {
    /// The help center's folders: those holding a public document, by name (customers and staff).
    #[graphql(complexity = "200 * child_complexity")]
    async fn help_center_folders(&self, ctx: &Context<'_>) -> Result<Vec<KnowledgeFolder>, DeskError> {
        Ok(desk(ctx).help_center_folders(actor(ctx)?).await?.into_iter().map(KnowledgeFolder).collect())
    }

    /// The help center's articles (public documents) by title: all, or one folder's (customers
    /// and staff).
    #[graphql(complexity = "200 * child_complexity")]
    async fn help_center_articles(
        &self,
        ctx: &Context<'_>,
        folder_id: Option<ID>,
    ) -> Result<Vec<HelpCenterArticle>, DeskError> {
        let folder = opt_id::<i64>(&folder_id, "folderId")?.map(Some);
        Ok(desk(ctx).help_center_articles(actor(ctx)?, folder).await?.into_iter().map(HelpCenterArticle).collect())
    }

    /// One help center article; NOT_FOUND for anything not public in the caller's workspace.
    async fn help_center_article(&self, ctx: &Context<'_>, id: ID) -> Result<HelpCenterArticle, DeskError> {
        let id = parse_id::<i64>(&id, "id")?;
        Ok(HelpCenterArticle(desk(ctx).help_center_article(actor(ctx)?, id).await?))
    }

    /// The help center's articles matching `text`, best first, one per article: the portal's
    /// search box, and its suggestions while a customer types a new ticket's subject.
    #[graphql(complexity = "first.unwrap_or(5).clamp(1, 20) as usize * child_complexity")]
    async fn help_center_search(
        &self,
        ctx: &Context<'_>,
        text: String,
        first: Option<i32>,
    ) -> Result<Vec<HelpCenterSearchHit>, DeskError> {
        let limit = first.unwrap_or(5).clamp(1, 20) as usize;
        let hits = desk(ctx).help_center_search(actor(ctx)?, &text, limit).await?;
        Ok(hits.into_iter().map(HelpCenterSearchHit::from).collect())
    }

    /// The workspace's background jobs (URL syncs, re-indexes), newest first, at most 100 (staff).
    #[graphql(complexity = "100 * child_complexity")]
    async fn background_jobs(&self, ctx: &Context<'_>) -> Result<Vec<BackgroundJob>, DeskError> {
        Ok(desk(ctx).background_jobs(actor(ctx)?).await?.into_iter().map(BackgroundJob).collect())
    }
}

/// The knowledge base's changes (admins).
#[derive(Debug, Default)]
pub struct KnowledgeMutation;

#[Object]
impl KnowledgeMutation {
    /// Pastes a new document (no `id`) or edits one: title, body, format, folder. Identical
    /// content makes no new version.
    async fn save_knowledge_document(
        &self,
        ctx: &Context<'_>,
        input: KnowledgeDocumentInputGql,
    ) -> Result<KnowledgeDocument, DeskError> {
        let input = KnowledgeDocumentInput {
            id: opt_id(&input.id, "input.id")?,
            title: input.title,
            body: input.body,
            format: input.format.into(),
            folder_id: opt_id(&input.folder_id, "input.folderId")?,
            public: input.public,
        };
        Ok(KnowledgeDocument(desk(ctx).save_knowledge_document(actor(ctx)?, input).await?.document))
    }

    /// Uploads .txt .md .markdown .html .htm .json or .csv files of at most 5 MB each; a file
    /// named like an earlier upload refreshes that document. Any other file refuses the upload
    /// (VALIDATION on `files[i]`, naming the file and why); nothing is saved then.
    #[graphql(complexity = "20 * child_complexity")]
    async fn upload_knowledge_documents(
        &self,
        ctx: &Context<'_>,
        files: Vec<Upload>,
        folder_id: Option<ID>,
    ) -> Result<Vec<KnowledgeDocument>, DeskError> {
        let actor = actor(ctx)?;
        let folder_id = opt_id(&folder_id, "folderId")?;
        let mut read = Vec::with_capacity(files.len());
        for (i, u) in files.iter().enumerate() {
            let field = format!("files[{i}]");
            let v = u.value(ctx).map_err(|_| DeskError::invalid(&field, "could not be read"))?;
            let name = v.filename.clone();
            let size = v.size().map_err(|_| DeskError::invalid(&field, "could not be read"))?;
            // Read one byte past the limit at most: the desk then names the file and the limit.
            let mut bytes = Vec::with_capacity(size.min(desk_api::MAX_KNOWLEDGE_BYTES as u64 + 1) as usize);
            v.into_read()
                .take(desk_api::MAX_KNOWLEDGE_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
                .map_err(|_| DeskError::invalid(&field, format!("`{name}`: could not be read")))?;
            read.push(KnowledgeUpload { file_name: name, bytes });
        }
        let saved = desk(ctx).upload_knowledge_documents(actor, read, folder_id).await?;
        Ok(saved.into_iter().map(|s| KnowledgeDocument(s.document)).collect())
    }

    /// Moves a document into a folder (no `folderId`: out of any).
    async fn move_knowledge_document(
        &self,
        ctx: &Context<'_>,
        id: ID,
        folder_id: Option<ID>,
    ) -> Result<KnowledgeDocument, DeskError> {
        let id = parse_id::<i64>(&id, "id")?;
        let folder_id = opt_id(&folder_id, "folderId")?;
        Ok(KnowledgeDocument(desk(ctx).move_knowledge_document(actor(ctx)?, id, folder_id).await?))
    }

    /// Deletes a document and its versions.
    async fn delete_knowledge_document(&self, ctx: &Context<'_>, id: ID) -> Result<bool, DeskError> {
        let id = parse_id::<i64>(&id, "id")?;
        desk(ctx).delete_knowledge_document(actor(ctx)?, id).await?;
        Ok(true)
    }

    /// Makes a kept version's content current again, as a new version.
    async fn revert_knowledge_document(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i64,
    ) -> Result<KnowledgeDocument, DeskError> {
        let id = parse_id::<i64>(&id, "id")?;
        Ok(KnowledgeDocument(desk(ctx).revert_knowledge_document(actor(ctx)?, id, version).await?.document))
    }

    /// Adds a URL source (synced by the job runner within seconds, then every `refreshMinutes`),
    /// or changes the interval of the workspace's source for that URL.
    async fn save_knowledge_source(
        &self,
        ctx: &Context<'_>,
        input: KnowledgeSourceInputGql,
    ) -> Result<KnowledgeSource, DeskError> {
        let input = KnowledgeSourceInput { url: input.url, refresh_minutes: input.refresh_minutes };
        Ok(KnowledgeSource(desk(ctx).save_knowledge_source(actor(ctx)?, input).await?))
    }

    /// Syncs a source now and returns it as the sync left it (its `health` and `lastError` say
    /// how it went).
    async fn sync_knowledge_source(&self, ctx: &Context<'_>, id: ID) -> Result<KnowledgeSource, DeskError> {
        let id = parse_id::<i64>(&id, "id")?;
        Ok(KnowledgeSource(desk(ctx).sync_knowledge_source(actor(ctx)?, id).await?))
    }

    /// Deletes a source and the document holding its page.
    async fn delete_knowledge_source(&self, ctx: &Context<'_>, id: ID) -> Result<bool, DeskError> {
        let id = parse_id::<i64>(&id, "id")?;
        desk(ctx).delete_knowledge_source(actor(ctx)?, id).await?;
        Ok(true)
    }

    /// Puts a document into the portal's help center (`public: true`) or takes it out.
    async fn set_knowledge_document_public(
        &self,
        ctx: &Context<'_>,
        id: ID,
        public: bool,
    ) -> Result<KnowledgeDocument, DeskError> {
        let id = parse_id::<i64>(&id, "id")?;
        Ok(KnowledgeDocument(desk(ctx).set_knowledge_document_public(actor(ctx)?, id, public).await?))
    }

    /// Queues a re-index of the workspace (every ticket and knowledge document written into the
    /// search index again); the Background jobs page shows its progress. A re-index already
    /// queued or running is returned instead of a second one.
    async fn reindex_search(&self, ctx: &Context<'_>) -> Result<BackgroundJob, DeskError> {
        Ok(BackgroundJob(desk(ctx).start_reindex(actor(ctx)?).await?))
    }

    /// Creates a knowledge folder.
    async fn create_knowledge_folder(&self, ctx: &Context<'_>, name: String) -> Result<KnowledgeFolder, DeskError> {
        Ok(KnowledgeFolder(desk(ctx).create_knowledge_folder(actor(ctx)?, &name).await?))
    }

    /// Deletes a folder; its documents stay, outside any folder.
    async fn delete_knowledge_folder(&self, ctx: &Context<'_>, id: ID) -> Result<bool, DeskError> {
        let id = parse_id::<i64>(&id, "id")?;
        desk(ctx).delete_knowledge_folder(actor(ctx)?, id).await?;
        Ok(true)
    }
}
