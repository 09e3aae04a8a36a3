//! The portal's help center: the workspace's public knowledge documents, browsed by folder,
//! searched, and suggested while a customer types a new ticket's subject.
//!
//! Only documents an admin made public appear, and only the caller's own workspace's: the list
//! and article reads ask the database for public rows of the caller's workspace, and searches ask
//! the engine for public chunks only (the anonymous audience, whoever asks) and then check every
//! hit against the database again, so an index that trails a change (a document made private a
//! moment ago) cannot show it. Customers and staff with the view permission may read it (staff
//! to see what customers see).

use switchboard_domain::{Actor, Permission};
use switchboard_search::{Audience, DocKey, DocKind, SearchEngine, SearchQuery, Snippet};
use switchboard_store::{KnowledgeDocumentRecord, KnowledgeFolderRecord};

use crate::knowledge::heading_path;
use crate::{Desk, DeskError, require};

/// The most articles one help center search returns.
pub const MAX_HELP_CENTER_HITS: usize = 20;

/// An article that matched a help center search: its best chunk's headings and excerpt.
#[derive(Debug, Clone)]
pub struct HelpCenterHit {
    pub document_id: i64,
    pub title: String,
    /// The headings above the best matching part, outermost first.
    pub heading_path: Vec<String>,
    pub score: f32,
    pub snippet: Option<Snippet>,
}

fn help_center_access(actor: &Actor) -> Result<(), DeskError> {
    if actor.contact_id().is_some() {
        return Ok(());
    }
    require(actor, Permission::View)
}

impl Desk {
    /// The folders holding at least one public document, by name.
    pub async fn help_center_folders(&self, actor: &Actor) -> Result<Vec<KnowledgeFolderRecord>, DeskError> {
        help_center_access(actor)?;
        let mut tx = self.store().read().await?;
        let docs = tx.public_knowledge_documents(actor.workspace_id).await?;
        let folders = tx.knowledge_folders(actor.workspace_id).await?;
        Ok(folders.into_iter().filter(|f| docs.iter().any(|d| d.folder_id == Some(f.id))).collect())
    }

    /// The public documents by title: all, or one folder's (`Some(None)`: outside any folder).
    pub async fn help_center_articles(
        &self,
        actor: &Actor,
        folder: Option<Option<i64>>,
    ) -> Result<Vec<KnowledgeDocumentRecord>, DeskError> {
        help_center_access(actor)?;
        let docs = self.store().read().await?.public_knowledge_documents(actor.workspace_id).await?;
        Ok(match folder {
            None => docs,
            Some(f) => docs.into_iter().filter(|d| d.folder_id == f).collect(),
        })
    }

    /// One public document; NOT_FOUND for any other (private, another workspace's, gone).
    pub async fn help_center_article(&self, actor: &Actor, id: i64) -> Result<KnowledgeDocumentRecord, DeskError> {
        help_center_access(actor)?;
        self.store()
            .read()
            .await?
            .knowledge_document_by_id(actor.workspace_id, id)
            .await?
            .filter(|d| d.public)
            .ok_or(DeskError::NotFound("help center article"))
    }

    /// The public articles matching `text`, best first, one hit per article (its best part).
    /// What the portal's search box and its new-ticket suggestions show. Blank text finds
    /// nothing.
    pub async fn help_center_search(
        &self,
        actor: &Actor,
        text: &str,
        limit: usize,
    ) -> Result<Vec<HelpCenterHit>, DeskError> {
        help_center_access(actor)?;
        crate::knowledge::check_search_text(text)?;
        let limit = limit.clamp(1, MAX_HELP_CENTER_HITS);
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        let engine: &dyn SearchEngine = self
            .search_engine()
            .map(|e| e.as_ref())
            .ok_or_else(|| DeskError::Internal("no search engine is configured".into()))?;
        let q = SearchQuery {
            workspace_id: actor.workspace_id.0,
            kinds: vec![DocKind::Chunk],
            text: text.to_string(),
            audience: Audience::Anonymous,
            // Several chunks of one article may lead; take enough to fill `limit` articles.
            limit: limit * 5,
        };
        let hits = engine.search(&q).await?;
        let ids: Vec<i64> = hits.hits.iter().map(|h| h.key.id).collect();
        let chunks = self.store().read().await?.knowledge_chunks_by_ids(actor.workspace_id, &ids).await?;
        let mut best: Vec<(DocKey, HelpCenterHit)> = Vec::new();
        for h in &hits.hits {
            let Some(c) = chunks.iter().find(|c| c.id == h.key.id && c.document_public) else { continue };
            if best.iter().any(|(_, b)| b.document_id == c.document_id) {
                continue;
            }
            best.push((
                h.key,
                HelpCenterHit {
                    document_id: c.document_id,
                    title: c.document_title.clone(),
                    heading_path: heading_path(&c.heading_path),
                    score: h.score,
                    snippet: None,
                },
            ));
            if best.len() == limit {
                break;
            }
        }
        let keys: Vec<DocKey> = best.iter().map(|(k, _)| *k).collect();
        let mut snippets = engine.snippets(&q, &keys).await?;
        Ok(best
            .into_iter()
            .map(|(k, mut hit)| {
                hit.snippet = snippets.iter().position(|(s, _)| *s == k).map(|i| snippets.swap_remove(i).1);
                hit
            })
            .collect())
    }
}
