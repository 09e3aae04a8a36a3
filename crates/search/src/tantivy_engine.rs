//! The embedded engine: a tantivy index in the data directory.
//!
//! One process writes an index at a time (tantivy's lock file): the server, or `switchboard
//! reindex` while the server is stopped. Searches read the last commit; a commit reloads the
//! reader at once, so a search after [`SearchEngine::commit`] sees what was written.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field as TField, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::analysis::{ANALYZER, QueryTerm, analyzer, query_terms};
use crate::snippet::{Snippet, best_snippet};
use crate::{
    Audience, DocKey, DocKind, Field, Hit, IndexStats, MAX_HITS, SearchDoc, SearchEngine, SearchError, SearchHits,
    SearchQuery,
};

/// The writer's indexing memory: enough for a batch of a few thousand tickets between commits.
const WRITER_MEMORY: usize = 64 << 20;
/// Bumped when the schema or analysis changes: an index of another version is rebuilt.
const SCHEMA_VERSION: &str = "2";
/// The fast-field columns a hit's key is read from (no stored document is loaded for it).
const ID_COLUMN: &str = "id";
const KIND_COLUMN: &str = "kind_code";

#[derive(Clone, Copy)]
struct Fields {
    key: TField,
    kind: TField,
    id: TField,
    kind_code: TField,
    workspace: TField,
    owner: TField,
    public: TField,
    updated_at: TField,
    title: TField,
    public_text: TField,
    internal_text: TField,
    people: TField,
    tags: TField,
}

impl Fields {
    fn text(&self, f: Field) -> TField {
        match f {
            Field::Title => self.title,
            Field::PublicText => self.public_text,
            Field::InternalText => self.internal_text,
            Field::People => self.people,
            Field::Tags => self.tags,
        }
    }
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    // Frequencies for BM25; no positions (no phrase queries), which keeps the index smaller.
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default().set_tokenizer(ANALYZER).set_index_option(IndexRecordOption::WithFreqs),
        )
        .set_stored();
    let fields = Fields {
        key: b.add_text_field("key", STRING | STORED),
        kind: b.add_text_field("kind", STRING),
        id: b.add_i64_field(ID_COLUMN, FAST),
        kind_code: b.add_u64_field(KIND_COLUMN, FAST),
        workspace: b.add_i64_field("workspace", INDEXED),
        owner: b.add_i64_field("owner", INDEXED | STORED),
        public: b.add_u64_field("public", INDEXED | STORED),
        updated_at: b.add_i64_field("updated_at", STORED),
        title: b.add_text_field("title", text.clone()),
        public_text: b.add_text_field("public_text", text.clone()),
        internal_text: b.add_text_field("internal_text", text.clone()),
        people: b.add_text_field("people", text.clone()),
        tags: b.add_text_field("tags", text),
    };
    (b.build(), fields)
}

/// A kind as its fast-field code (stable: stored in the index).
fn kind_code(kind: DocKind) -> u64 {
    match kind {
        DocKind::Ticket => 1,
        DocKind::Chunk => 2,
        DocKind::Tip => 3,
    }
}

fn kind_of_code(code: u64) -> Option<DocKind> {
    match code {
        1 => Some(DocKind::Ticket),
        2 => Some(DocKind::Chunk),
        3 => Some(DocKind::Tip),
        _ => None,
    }
}

/// The tantivy engine over one index directory.
#[derive(Clone)]
pub struct TantivyEngine {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    name: String,
    fields: Fields,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
}

impl std::fmt::Debug for TantivyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TantivyEngine").field("dir", &self.inner.dir).finish()
    }
}

fn engine_err(e: impl std::fmt::Display) -> SearchError {
    SearchError::Engine(e.to_string())
}

impl TantivyEngine {
    /// Opens the index in `dir`, creating it when missing. An index written by another schema
    /// version is removed and started again (it is derived data; the caller rebuilds it, as it
    /// does for a new index: [`SearchEngine::index_name`] changes with it).
    pub fn open(dir: &Path) -> Result<TantivyEngine, SearchError> {
        std::fs::create_dir_all(dir).map_err(engine_err)?;
        let version_file = dir.join("switchboard-index");
        let stamp = std::fs::read_to_string(&version_file).ok();
        let current = stamp.as_deref().and_then(|s| s.split_once(' ')).filter(|(v, _)| *v == SCHEMA_VERSION);
        let instance = match current {
            Some((_, instance)) => instance.trim().to_string(),
            None => {
                // A new index (or one of another version): start empty under a new name.
                for entry in std::fs::read_dir(dir).map_err(engine_err)?.flatten() {
                    let p = entry.path();
                    let _ = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
                }
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or_default();
                let instance = format!("{:x}{:x}", nanos, std::process::id());
                std::fs::write(&version_file, format!("{SCHEMA_VERSION} {instance}\n")).map_err(engine_err)?;
                instance
            }
        };
        let (schema, fields) = schema();
        let mmap = MmapDirectory::open(dir).map_err(engine_err)?;
        let index = Index::open_or_create(mmap, schema).map_err(engine_err)?;
        index.tokenizers().register(ANALYZER, analyzer());
        let writer = index.writer(WRITER_MEMORY).map_err(|e| match e {
            tantivy::TantivyError::LockFailure(..) => SearchError::Locked(dir.display().to_string()),
            e => engine_err(e),
        })?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(engine_err)?;
        Ok(TantivyEngine {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                name: format!("tantivy-{instance}"),
                fields,
                reader,
                writer: Mutex::new(writer),
            }),
        })
    }

    fn to_doc(&self, d: &SearchDoc) -> TantivyDocument {
        let f = &self.inner.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.key, d.key.encode());
        doc.add_text(f.kind, d.key.kind.as_str());
        doc.add_i64(f.id, d.key.id);
        doc.add_u64(f.kind_code, kind_code(d.key.kind));
        doc.add_i64(f.workspace, d.workspace_id);
        doc.add_i64(f.owner, d.owner_contact_id.unwrap_or(-1));
        doc.add_u64(f.public, u64::from(d.public));
        doc.add_i64(f.updated_at, d.updated_at);
        for field in Field::SNIPPET_ORDER {
            doc.add_text(f.text(field), field.of(d));
        }
        doc
    }

    fn read_doc(&self, doc: &TantivyDocument, workspace_id: i64) -> Option<SearchDoc> {
        let f = &self.inner.fields;
        let text = |field: TField| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let key = DocKey::decode(doc.get_first(f.key).and_then(|v| v.as_str())?)?;
        let owner = doc.get_first(f.owner).and_then(|v| v.as_i64()).filter(|o| *o >= 0);
        Some(SearchDoc {
            key,
            workspace_id,
            owner_contact_id: owner,
            public: doc.get_first(f.public).and_then(|v| v.as_u64()) == Some(1),
            title: text(f.title),
            public_text: text(f.public_text),
            internal_text: text(f.internal_text),
            people: text(f.people),
            tags: text(f.tags),
            updated_at: doc.get_first(f.updated_at).and_then(|v| v.as_i64()).unwrap_or_default(),
        })
    }

    /// Workspace, kinds and audience: what may be found at all. Scores nothing.
    fn scope(&self, q: &SearchQuery) -> Vec<(Occur, Box<dyn Query>)> {
        let f = &self.inner.fields;
        let term = |t: Term| -> Box<dyn Query> { Box::new(TermQuery::new(t, IndexRecordOption::Basic)) };
        // Filters score 0, so ranking is the text's alone.
        let filter =
            |q: Box<dyn Query>| -> (Occur, Box<dyn Query>) { (Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0))) };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            vec![filter(term(Term::from_field_i64(f.workspace, q.workspace_id)))];
        let kinds: Vec<(Occur, Box<dyn Query>)> =
            q.kinds.iter().map(|k| (Occur::Should, term(Term::from_field_text(f.kind, k.as_str())))).collect();
        clauses.push(filter(Box::new(BooleanQuery::new(kinds))));
        match q.audience {
            Audience::Staff => {}
            Audience::Customer { contact_id } => {
                let own_or_public = vec![
                    (Occur::Should, term(Term::from_field_i64(f.owner, contact_id))),
                    (Occur::Should, term(Term::from_field_u64(f.public, 1))),
                ];
                clauses.push(filter(Box::new(BooleanQuery::new(own_or_public))));
            }
            Audience::Anonymous => clauses.push(filter(term(Term::from_field_u64(f.public, 1)))),
        }
        clauses
    }

    /// Every term must match in some field the audience may read; an exact match scores by
    /// BM25 (the subject counts double), a match within the typo budget adds a small constant.
    fn text_query(&self, terms: &[QueryTerm], fields: &[Field]) -> Box<dyn Query> {
        let f = &self.inner.fields;
        let per_term = terms
            .iter()
            .map(|t| {
                let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                for field in fields {
                    let term = Term::from_field_text(f.text(*field), &t.stem);
                    let exact: Box<dyn Query> = Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs));
                    let weight = if *field == Field::Title { 2.0 } else { 1.0 };
                    alternatives.push((Occur::Should, Box::new(BoostQuery::new(exact, weight))));
                    if t.typos > 0 {
                        let fuzzy = FuzzyTermQuery::new(term, t.typos, true);
                        alternatives.push((Occur::Should, Box::new(ConstScoreQuery::new(Box::new(fuzzy), 0.1))));
                    }
                }
                (Occur::Must, Box::new(BooleanQuery::new(alternatives)) as Box<dyn Query>)
            })
            .collect();
        Box::new(BooleanQuery::new(per_term))
    }

    fn search_sync(&self, q: &SearchQuery) -> Result<SearchHits, SearchError> {
        let terms = query_terms(&q.text);
        if terms.is_empty() || q.kinds.is_empty() {
            return Ok(SearchHits { hits: Vec::new(), total: 0, total_estimated: false });
        }
        let mut clauses = self.scope(q);
        clauses.push((Occur::Must, self.text_query(&terms, Field::visible_to(q.audience))));
        let query = BooleanQuery::new(clauses);
        let searcher = self.inner.reader.searcher();
        let limit = q.limit.clamp(1, MAX_HITS);
        let (top, total) =
            searcher.search(&query, &(TopDocs::with_limit(limit).order_by_score(), Count)).map_err(engine_err)?;
        // Keys come from the fast-field columns, one pair per segment: loading each hit's stored
        // document (all its text, lz4-compressed in blocks) cost ~20 µs a hit, most of a search.
        let mut columns = Vec::with_capacity(searcher.segment_readers().len());
        for reader in searcher.segment_readers() {
            let ff = reader.fast_fields();
            columns.push((ff.i64(ID_COLUMN).map_err(engine_err)?, ff.u64(KIND_COLUMN).map_err(engine_err)?));
        }
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let (ids, kinds) = &columns[addr.segment_ord as usize];
            let key = ids
                .first(addr.doc_id)
                .zip(kinds.first(addr.doc_id).and_then(kind_of_code))
                .map(|(id, kind)| DocKey { kind, id });
            if let Some(key) = key {
                hits.push(Hit { key, score });
            }
        }
        // Equal scores go to the newest document (the highest id) first.
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.key.id.cmp(&a.key.id)));
        Ok(SearchHits { hits, total: total as u64, total_estimated: false })
    }

    fn snippets_sync(&self, q: &SearchQuery, keys: &[DocKey]) -> Result<Vec<(DocKey, Snippet)>, SearchError> {
        let terms = query_terms(&q.text);
        if terms.is_empty() || keys.is_empty() {
            return Ok(Vec::new());
        }
        let f = &self.inner.fields;
        let mut clauses = self.scope(q);
        let wanted: Vec<(Occur, Box<dyn Query>)> = keys
            .iter()
            .map(|k| {
                let t = Term::from_field_text(f.key, &k.encode());
                (Occur::Should, Box::new(TermQuery::new(t, IndexRecordOption::Basic)) as Box<dyn Query>)
            })
            .collect();
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(wanted))));
        let searcher = self.inner.reader.searcher();
        let top = searcher
            .search(&BooleanQuery::new(clauses), &TopDocs::with_limit(keys.len()).order_by_score())
            .map_err(engine_err)?;
        let fields = Field::visible_to(q.audience);
        let mut out = Vec::new();
        for (_, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr).map_err(engine_err)?;
            if let Some(d) = self.read_doc(&doc, q.workspace_id)
                && let Some(s) = best_snippet(&d, fields, &terms)
            {
                out.push((d.key, s));
            }
        }
        // In the order asked for.
        out.sort_by_key(|(k, _)| keys.iter().position(|x| x == k));
        Ok(out)
    }

    fn writer(&self) -> Result<std::sync::MutexGuard<'_, IndexWriter>, SearchError> {
        self.inner.writer.lock().map_err(|_| SearchError::Engine("the index writer panicked".into()))
    }

    /// Runs blocking index work off the async workers.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&TantivyEngine) -> Result<T, SearchError> + Send + 'static,
    ) -> Result<T, SearchError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me)).await.map_err(engine_err)?
    }
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries.flatten().map(|e| e.metadata().map(|m| if m.is_file() { m.len() } else { 0 }).unwrap_or(0)).sum()
        })
        .unwrap_or(0)
}

#[async_trait::async_trait]
impl SearchEngine for TantivyEngine {
    fn index_name(&self) -> String {
        self.inner.name.clone()
    }

    async fn upsert(&self, docs: Vec<SearchDoc>) -> Result<(), SearchError> {
        self.blocking(move |me| {
            let w = me.writer()?;
            for d in &docs {
                w.delete_term(Term::from_field_text(me.inner.fields.key, &d.key.encode()));
                w.add_document(me.to_doc(d)).map_err(engine_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn delete(&self, keys: Vec<DocKey>) -> Result<(), SearchError> {
        self.blocking(move |me| {
            let w = me.writer()?;
            for k in &keys {
                w.delete_term(Term::from_field_text(me.inner.fields.key, &k.encode()));
            }
            Ok(())
        })
        .await
    }

    async fn clear(&self, kind: DocKind) -> Result<(), SearchError> {
        self.blocking(move |me| {
            me.writer()?.delete_term(Term::from_field_text(me.inner.fields.kind, kind.as_str()));
            Ok(())
        })
        .await
    }

    async fn commit(&self) -> Result<(), SearchError> {
        self.blocking(|me| {
            me.writer()?.commit().map_err(engine_err)?;
            me.inner.reader.reload().map_err(engine_err)
        })
        .await
    }

    async fn search(&self, q: &SearchQuery) -> Result<SearchHits, SearchError> {
        let q = q.clone();
        self.blocking(move |me| me.search_sync(&q)).await
    }

    async fn snippets(&self, q: &SearchQuery, keys: &[DocKey]) -> Result<Vec<(DocKey, Snippet)>, SearchError> {
        let (q, keys) = (q.clone(), keys.to_vec());
        self.blocking(move |me| me.snippets_sync(&q, &keys)).await
    }

    async fn stats(&self) -> Result<IndexStats, SearchError> {
        self.blocking(|me| {
            Ok(IndexStats {
                documents: me.inner.reader.searcher().num_docs(),
                disk_bytes: Some(dir_size(&me.inner.dir)),
            })
        })
        .await
    }
}
