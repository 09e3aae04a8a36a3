//! One search layer, two engines.
//!
//! The desk searches through [`SearchEngine`]; the server picks the engine: [`TantivyEngine`]
//! (embedded, an index in the data directory, the default) or [`MeilisearchEngine`] (when
//! `SWITCHBOARD_MEILISEARCH_URL` is set: one index every replica shares). Both hold the same
//! [`SearchDoc`]s: tickets today, and knowledge chunks and tips later, told apart by [`DocKind`]
//! and kept apart by workspace. What a searcher may see is decided here, by [`Audience`], so no
//! caller can forget it: staff see their workspace's documents whole; a customer sees only their
//! own tickets' subject and public messages, and public knowledge.
//!
//! This crate knows nothing of the database: the desk builds documents from it and keeps the
//! index current from the event stream (`switchboard_desk::search`).

mod analysis;
mod meilisearch_engine;
mod snippet;
mod tantivy_engine;

use std::fmt;

pub use analysis::{QueryTerm, query_terms, typo_budget};
pub use meilisearch_engine::{Http as MeilisearchHttp, MeilisearchEngine};
pub use snippet::{Fragment, Snippet};
pub use tantivy_engine::TantivyEngine;

/// What kind of thing a document is. Each kind has its own id space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// A ticket: subject, every entry, requester, tags.
    Ticket,
    /// A chunk of a knowledge document (the knowledge base builds these).
    Chunk,
    /// A tip learned from a resolved ticket (the answer bot builds these).
    Tip,
}

impl DocKind {
    /// The stable name stored in the index.
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Ticket => "ticket",
            DocKind::Chunk => "chunk",
            DocKind::Tip => "tip",
        }
    }

    /// The kind a stored name stands for.
    pub fn parse(s: &str) -> Option<DocKind> {
        match s {
            "ticket" => Some(DocKind::Ticket),
            "chunk" => Some(DocKind::Chunk),
            "tip" => Some(DocKind::Tip),
            _ => None,
        }
    }
}

/// A document's identity: its kind and the id of the row it was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DocKey {
    pub kind: DocKind,
    pub id: i64,
}

impl DocKey {
    /// A ticket's document.
    pub fn ticket(id: i64) -> DocKey {
        DocKey { kind: DocKind::Ticket, id }
    }

    /// The key as stored (`ticket-42`): letters, digits and `-`, which Meilisearch accepts as a
    /// primary key too.
    pub fn encode(&self) -> String {
        format!("{}-{}", self.kind.as_str(), self.id)
    }

    /// The key a stored string stands for.
    pub fn decode(s: &str) -> Option<DocKey> {
        let (kind, id) = s.split_once('-')?;
        Some(DocKey { kind: DocKind::parse(kind)?, id: id.parse().ok()? })
    }
}

impl fmt::Display for DocKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

/// One searchable document. Text is split by who may read it: `public_text` is what the
/// document's owner (a ticket's requester) or, for public knowledge, anyone may see;
/// `internal_text` is for staff only (internal notes, system entries).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchDoc {
    pub key: DocKey,
    pub workspace_id: i64,
    /// The contact who may find this document as a customer (a ticket's requester).
    pub owner_contact_id: Option<i64>,
    /// Visible to every customer of the workspace (public knowledge documents, the help center).
    pub public: bool,
    /// A ticket's subject; a chunk's document title and heading path; a tip's question.
    pub title: String,
    /// Public messages (a ticket's replies), a chunk's text, a tip's answer.
    pub public_text: String,
    /// Internal notes and system entries: staff only.
    pub internal_text: String,
    /// The requester's name and address (staff only).
    pub people: String,
    /// Tags, space-separated (staff only).
    pub tags: String,
    /// When the source last changed, ms since the epoch (ties in ranking go to the newest).
    pub updated_at: i64,
}

/// Who is searching, which decides what they may find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// A staff member: every document of the workspace, every field.
    Staff,
    /// A signed-in customer: their own tickets (subject and public messages) and public
    /// documents' public text.
    Customer { contact_id: i64 },
    /// Nobody signed in (the help center): public documents only.
    Anonymous,
}

/// The fields a match can be found in, as the results name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Title,
    PublicText,
    InternalText,
    People,
    Tags,
}

impl Field {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::PublicText => "public_text",
            Field::InternalText => "internal_text",
            Field::People => "people",
            Field::Tags => "tags",
        }
    }

    /// Every field, in the order a snippet prefers them (messages first: that is what people
    /// search for; the subject is on screen anyway).
    pub const SNIPPET_ORDER: [Field; 5] =
        [Field::PublicText, Field::InternalText, Field::Title, Field::People, Field::Tags];

    /// What an audience may match and read.
    pub fn visible_to(audience: Audience) -> &'static [Field] {
        match audience {
            Audience::Staff => &[Field::Title, Field::PublicText, Field::InternalText, Field::People, Field::Tags],
            Audience::Customer { .. } | Audience::Anonymous => &[Field::Title, Field::PublicText],
        }
    }

    /// The text of this field in a document.
    pub fn of(self, d: &SearchDoc) -> &str {
        match self {
            Field::Title => &d.title,
            Field::PublicText => &d.public_text,
            Field::InternalText => &d.internal_text,
            Field::People => &d.people,
            Field::Tags => &d.tags,
        }
    }
}

/// The longest query text taken, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// The most words of a query that count (the rest are ignored, like Meilisearch's 10-word limit).
pub const MAX_QUERY_WORDS: usize = 10;
/// The most hits one search returns ranked.
pub const MAX_HITS: usize = 10_000;

/// A search: text, in one workspace, of some kinds, for an audience.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub workspace_id: i64,
    pub kinds: Vec<DocKind>,
    pub text: String,
    pub audience: Audience,
    /// How many hits to return ranked, at most [`MAX_HITS`].
    pub limit: usize,
}

/// One ranked match.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub key: DocKey,
    pub score: f32,
}

/// The ranked matches and how many there are in all.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHits {
    pub hits: Vec<Hit>,
    /// Every match, not only those returned.
    pub total: u64,
    /// `total` is an estimate from the engine (Meilisearch's `estimatedTotalHits`), not a count.
    pub total_estimated: bool,
}

/// What can go wrong in an engine.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The index is held by another process (the embedded engine allows one writer per index).
    #[error("the search index is in use by another process: {0}")]
    Locked(String),
    /// The engine could not be reached or refused the request.
    #[error("search engine: {0}")]
    Engine(String),
}

/// A search engine: holds documents, finds them, and says where they matched.
///
/// Writes become visible and durable at [`SearchEngine::commit`]; a crash before it loses the
/// writes since the last commit, which is why callers move their event cursor only after it.
#[async_trait::async_trait]
pub trait SearchEngine: Send + Sync + fmt::Debug {
    /// A name for this index, stable across restarts (the event cursor is stored under it).
    fn index_name(&self) -> String;
    /// Whether several processes write this index (a search server): then they take turns.
    fn is_shared(&self) -> bool {
        false
    }
    /// Adds or replaces documents (by key).
    async fn upsert(&self, docs: Vec<SearchDoc>) -> Result<(), SearchError>;
    /// Removes documents; unknown keys are ignored.
    async fn delete(&self, keys: Vec<DocKey>) -> Result<(), SearchError>;
    /// Removes every document of a kind (before a rebuild).
    async fn clear(&self, kind: DocKind) -> Result<(), SearchError>;
    /// Makes every write so far durable and visible to searches.
    async fn commit(&self) -> Result<(), SearchError>;
    /// The best `limit` matches, best first, and the total.
    async fn search(&self, q: &SearchQuery) -> Result<SearchHits, SearchError>;
    /// Where each of `keys` matched `q`, as a short highlighted excerpt of a field the audience
    /// may read; keys that do not match (or are not visible) are left out.
    async fn snippets(&self, q: &SearchQuery, keys: &[DocKey]) -> Result<Vec<(DocKey, Snippet)>, SearchError>;
    /// How many documents the index holds and its size on disk in bytes (when it has one).
    async fn stats(&self) -> Result<IndexStats, SearchError>;
}

/// An index's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexStats {
    pub documents: u64,
    pub disk_bytes: Option<u64>,
}
