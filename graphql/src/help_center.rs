//! The portal's help center (public knowledge documents) and the Background jobs page over
//! GraphQL. Conversion only: the desk decides who may see what.

use async_graphql::{Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_desk::store::{BackgroundJobRecord, KnowledgeDocumentRecord};
use switchboard_desk::{self as desk_api, HelpCenterHit, KnowledgeFormat as Format};

use crate::knowledge::KnowledgeFormat;
use crate::search::SnippetFragment;
use crate::types::{id, remote_enum, time};

/// A public knowledge document, as the help center shows it to customers.
pub struct HelpCenterArticle(pub KnowledgeDocumentRecord);

#[Object]
impl HelpCenterArticle {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The article's text; render it as text (Markdown shown as written), never as HTML.
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn format(&self) -> KnowledgeFormat {
        Format::parse(&self.0.format).into()
    }
    async fn folder_id(&self) -> Option<ID> {
        self.0.folder_id.map(id)
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        time(self.0.updated_at)
    }
}

/// An article that matched a help center search, with where it matched best.
#[derive(SimpleObject)]
pub struct HelpCenterSearchHit {
    pub article_id: ID,
    pub title: String,
    /// The headings above the best matching part, outermost first.
    pub heading_path: Vec<String>,
    pub score: f64,
    /// An excerpt with the matched words marked; render as text, never as HTML.
    pub fragments: Vec<SnippetFragment>,
}

impl From<HelpCenterHit> for HelpCenterSearchHit {
    fn from(h: HelpCenterHit) -> Self {
        HelpCenterSearchHit {
            article_id: id(h.document_id),
            title: h.title,
            heading_path: h.heading_path,
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
        }
    }
}

remote_enum!(
    /// What a background job does: a knowledge URL source's sync, or a re-index of the workspace.
    BackgroundJobKind => "desk_api::BackgroundJobKind" { KnowledgeSync, Reindex });

remote_enum!(
    /// Where a background job is: waiting for a worker, running, or finished either way.
    BackgroundJobState => "desk_api::BackgroundJobState" { Queued, Running, Completed, Failed });

/// Long-running work on the Background jobs page: a URL sync or a re-index.
pub struct BackgroundJob(pub BackgroundJobRecord);

#[Object]
impl BackgroundJob {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn kind(&self) -> BackgroundJobKind {
        desk_api::BackgroundJobKind::parse(&self.0.kind).into()
    }
    async fn state(&self) -> BackgroundJobState {
        desk_api::BackgroundJobState::parse(&self.0.state).into()
    }
    /// What it works on: a source's URL, or what a re-index rewrites.
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    /// The URL source a sync fetches.
    async fn source_id(&self) -> Option<ID> {
        self.0.source_id.map(id)
    }
    /// How much is done, of `total`.
    async fn processed(&self) -> i64 {
        self.0.processed
    }
    /// How much there is to do, once known.
    async fn total(&self) -> Option<i64> {
        self.0.total
    }
    /// Why it failed.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// Who asked for it; null for the job runner's own schedule.
    async fn requested_by(&self) -> Option<&str> {
        self.0.requested_by.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at.map(time)
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at.map(time)
    }
}
