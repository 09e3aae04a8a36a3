//! A Meilisearch double: the part of Meilisearch's REST API (v1) that the search layer uses, on
//! a local port, answering with Meilisearch's bodies, status codes and error objects
//! (`message`, `code`, `type`, `link`), so the production engine (`meilisearch-sdk` over our
//! reqwest), pointed at it by `SWITCHBOARD_MEILISEARCH_URL`, is checked on its wire format.
//!
//! It checks the wire format, not ranking: matching is by whole words (the last query word also
//! as a prefix, as Meilisearch does), lowercased, without typo tolerance, stemming or language
//! rules; the score counts matched words and the rank of the attribute they matched in.
//!
//! - `Authorization: Bearer <key>` when started with a key: none answers 401
//!   `missing_authorization_header`, a wrong one 403 `invalid_api_key` (`GET /health` is open).
//! - Indexes: `POST /indexes`, `GET /indexes`, `GET`/`DELETE /indexes/{uid}`,
//!   `GET /indexes/{uid}/stats`.
//! - Settings: `GET`/`PATCH`/`DELETE /indexes/{uid}/settings`; unknown settings are refused
//!   (`bad_request`); `searchableAttributes`, `filterableAttributes` (names only),
//!   `stopWords` and `pagination.maxTotalHits` take effect, the others are stored and returned.
//! - Documents: `POST` (add or replace) and `PUT` (add or update) `/indexes/{uid}/documents`
//!   (JSON, `?primaryKey=`, the index created when missing), `GET` one or a page,
//!   `DELETE` one or all, `POST .../documents/delete-batch` (ids) and `POST .../documents/delete`
//!   (`{filter}`).
//! - Tasks: every write answers `202` with a summarized task; tasks are processed in order a
//!   moment later (enqueued, then succeeded or failed with Meilisearch's error), and
//!   `GET /tasks/{uid}` and `GET /tasks` show them.
//! - Search: `POST /indexes/{uid}/search` with `q`, `filter` (a string or the array form),
//!   `limit`, `offset`, `attributesToRetrieve`, `attributesToSearchOn`, `matchingStrategy`
//!   (`all`, `last`), `showRankingScore`; answers `hits`, `estimatedTotalHits`, `limit`,
//!   `offset`, `query`, `processingTimeMs`. Filters: `=`, `!=`, `>`, `>=`, `<`, `<=`, `IN`,
//!   `NOT IN`, `EXISTS`, `NOT EXISTS`, `IS NULL`, `IS NOT NULL`, `NOT`, `AND`, `OR` and
//!   parentheses, on filterable attributes only; anything else is Meilisearch's
//!   `invalid_search_filter`. Search parameters Meilisearch has and the double does not
//!   implement (facets, sort, highlighting, cropping, pages, hybrid search, ...) are refused with
//!   a `bad_request` that says so, rather than ignored.
//! - Every request is logged ([`MeilisearchDouble::requests`]).

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};

/// One request the double received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub body: Value,
    pub authorization: Option<String>,
}

/// The running double. It stops when dropped.
#[derive(Debug)]
pub struct MeilisearchDouble {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
    worker: tokio::task::JoinHandle<()>,
}

impl Drop for MeilisearchDouble {
    fn drop(&mut self) {
        self.server.abort();
        self.worker.abort();
    }
}

#[derive(Debug)]
struct Shared {
    api_key: Option<String>,
    state: Mutex<Double>,
    wake: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Double {
    indexes: BTreeMap<String, IndexState>,
    tasks: Vec<TaskRec>,
    log: Vec<Request>,
    /// How long a task stays enqueued before it is processed.
    delay: Duration,
}

#[derive(Debug, Clone)]
struct IndexState {
    primary_key: Option<String>,
    created_at: String,
    updated_at: String,
    /// Documents by id, with the order they were first added (ties in ranking keep it).
    docs: BTreeMap<String, (u64, Map<String, Value>)>,
    next_seq: u64,
    settings: Map<String, Value>,
}

#[derive(Debug, Clone)]
enum Op {
    CreateIndex { primary_key: Option<String> },
    DeleteIndex,
    Settings(Map<String, Value>),
    ResetSettings,
    AddDocuments { docs: Vec<Map<String, Value>>, primary_key: Option<String>, replace: bool },
    DeleteIds(Vec<String>),
    DeleteFilter(Value),
    DeleteAll,
}

#[derive(Debug, Clone)]
struct TaskRec {
    uid: u32,
    index_uid: Option<String>,
    op: Op,
    status: &'static str,
    details: Value,
    error: Option<Value>,
    enqueued: Instant,
    enqueued_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    duration: Option<Duration>,
}

impl TaskRec {
    fn kind(&self) -> &'static str {
        match self.op {
            Op::CreateIndex { .. } => "indexCreation",
            Op::DeleteIndex => "indexDeletion",
            Op::Settings(_) | Op::ResetSettings => "settingsUpdate",
            Op::AddDocuments { .. } => "documentAdditionOrUpdate",
            Op::DeleteIds(_) | Op::DeleteFilter(_) | Op::DeleteAll => "documentDeletion",
        }
    }

    fn json(&self) -> Value {
        let mut t = json!({
            "uid": self.uid,
            "batchUid": if self.status == "enqueued" { Value::Null } else { json!(self.uid) },
            "indexUid": self.index_uid,
            "status": self.status,
            "type": self.kind(),
            "canceledBy": null,
            "details": self.details,
            "error": self.error,
            "duration": self.duration.map(|d| format!("PT{:.6}S", d.as_secs_f64())),
            "enqueuedAt": self.enqueued_at,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
        });
        if self.error.is_none() {
            t["error"] = Value::Null;
        }
        t
    }

    fn summary(&self) -> Value {
        json!({ "taskUid": self.uid, "indexUid": self.index_uid, "status": self.status, "type": self.kind(),
            "enqueuedAt": self.enqueued_at })
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Meilisearch's error object, with the type its code belongs to and the documentation link.
fn error_json(code: &str, message: impl Into<String>) -> Value {
    let kind = match code {
        "missing_authorization_header" | "invalid_api_key" => "auth",
        "internal" => "internal",
        _ => "invalid_request",
    };
    json!({ "message": message.into(), "code": code, "type": kind, "link": format!("https://docs.meilisearch.com/errors#{code}") })
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, axum::Json(error_json(code, message))).into_response()
}

fn not_found(uid: &str) -> Response {
    error(StatusCode::NOT_FOUND, "index_not_found", format!("Index `{uid}` not found."))
}

/// Index uids and document ids: letters, digits, `-` and `_`, at most 511 bytes.
fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 511 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The settings an index starts with (and a reset returns to), as Meilisearch lists them.
fn default_settings() -> Map<String, Value> {
    let v = json!({
        "displayedAttributes": ["*"],
        "searchableAttributes": ["*"],
        "filterableAttributes": [],
        "sortableAttributes": [],
        "rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness"],
        "stopWords": [],
        "nonSeparatorTokens": [],
        "separatorTokens": [],
        "dictionary": [],
        "synonyms": {},
        "distinctAttribute": null,
        "proximityPrecision": "byWord",
        "typoTolerance": { "enabled": true, "minWordSizeForTypos": { "oneTypo": 5, "twoTypos": 9 },
            "disableOnWords": [], "disableOnAttributes": [], "disableOnNumbers": false },
        "faceting": { "maxValuesPerFacet": 100, "sortFacetValuesBy": { "*": "alpha" } },
        "pagination": { "maxTotalHits": 1000 },
        "embedders": {},
        "searchCutoffMs": null,
        "localizedAttributes": null,
        "facetSearch": true,
        "prefixSearch": "indexingTime",
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Applies a settings update, checking each value's shape; `Err` is the error object.
fn merge_settings(current: &mut Map<String, Value>, update: &Map<String, Value>) -> Result<(), Value> {
    let defaults = default_settings();
    for (k, v) in update {
        let Some(default) = defaults.get(k) else {
            let known: Vec<String> = defaults.keys().map(|k| format!("`{k}`")).collect();
            return Err(error_json(
                "bad_request",
                format!("Unknown field `{k}`: expected one of {}", known.join(", ")),
            ));
        };
        if v.is_null() {
            current.insert(k.clone(), default.clone());
            continue;
        }
        let list_of_strings = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
        let code = format!("invalid_settings_{}", snake(k));
        match k.as_str() {
            "displayedAttributes"
            | "searchableAttributes"
            | "sortableAttributes"
            | "stopWords"
            | "rankingRules"
            | "nonSeparatorTokens"
            | "separatorTokens"
            | "dictionary"
                if !list_of_strings(v) =>
            {
                return Err(error_json(&code, format!("Invalid value type at `.{k}`: expected an array of strings")));
            }
            "filterableAttributes" if !list_of_strings(v) => {
                // Meilisearch also takes attribute patterns with features; the double does not.
                return Err(error_json(
                    &code,
                    format!("Invalid value type at `.{k}`: the double takes attribute names only"),
                ));
            }
            "pagination" if !v["maxTotalHits"].is_u64() => {
                return Err(error_json(
                    &code,
                    "Invalid value type at `.pagination.maxTotalHits`: expected a positive integer",
                ));
            }
            "typoTolerance" | "faceting" | "pagination" => {
                let (Some(cur), Some(new)) = (current.get(k).and_then(Value::as_object).cloned(), v.as_object()) else {
                    return Err(error_json(&code, format!("Invalid value type at `.{k}`: expected an object")));
                };
                let mut merged = cur;
                for (kk, vv) in new {
                    merged.insert(kk.clone(), vv.clone());
                }
                current.insert(k.clone(), Value::Object(merged));
                continue;
            }
            _ => {}
        }
        current.insert(k.clone(), v.clone());
    }
    Ok(())
}

fn snake(camel: &str) -> String {
    let mut out = String::new();
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

// ---- Filters ---------------------------------------------------------------------------------

/// A parsed filter expression.
#[derive(Debug, Clone)]
enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Compare { attr: String, op: &'static str, value: String },
    In { attr: String, values: Vec<String> },
    Exists(String),
    IsNull(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Op(&'static str),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Comma,
}

fn lex(s: &str) -> Result<Vec<(Tok, usize)>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((Tok::Open, at));
                i += 1;
            }
            ')' => {
                out.push((Tok::Close, at));
                i += 1;
            }
            '[' => {
                out.push((Tok::OpenBracket, at));
                i += 1;
            }
            ']' => {
                out.push((Tok::CloseBracket, at));
                i += 1;
            }
            ',' => {
                out.push((Tok::Comma, at));
                i += 1;
            }
            '=' => {
                out.push((Tok::Op("="), at));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push((Tok::Op("!="), at));
                i += 2;
            }
            '>' | '<' => {
                let eq = chars.get(i + 1) == Some(&'=');
                let op = match (c, eq) {
                    ('>', true) => ">=",
                    ('>', false) => ">",
                    ('<', true) => "<=",
                    _ => "<",
                };
                out.push((Tok::Op(op), at));
                i += if eq { 2 } else { 1 };
            }
            '"' | '\'' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(format!(
                                "Expression `{}` is missing the following closing delimiter: `{quote}`.",
                                chars[at..].iter().collect::<String>()
                            ));
                        }
                        Some('\\') if chars.get(i + 1).is_some() => {
                            s.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(&ch) if ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push((Tok::Quoted(s), at));
            }
            _ => {
                let mut s = String::new();
                while let Some(&ch) = chars.get(i) {
                    if ch.is_whitespace() || "()[],=!<>\"'".contains(ch) {
                        break;
                    }
                    s.push(ch);
                    i += 1;
                }
                if s.is_empty() {
                    return Err(format!("Unexpected character `{c}`."));
                }
                out.push((Tok::Word(s), at));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

const EXPECTED_OP: &str = "Was expecting an operation `=`, `!=`, `>=`, `>`, `<=`, `<`, `IN`, `NOT IN`, `TO`, `EXISTS`, `NOT EXISTS`, `IS NULL`, `IS NOT NULL`, `IS EMPTY`, `IS NOT EMPTY`, `CONTAINS`, `NOT CONTAINS`, `STARTS WITH`, `NOT STARTS WITH`, `_geoRadius`, or `_geoBoundingBox`";

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }

    fn keyword_at(&self, offset: usize, k: &str) -> bool {
        matches!(self.toks.get(self.pos + offset), Some((Tok::Word(w), _)) if w.eq_ignore_ascii_case(k))
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut parts = vec![self.and()?];
        while self.keyword("OR") {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Filter::Or(parts) })
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut parts = vec![self.not()?];
        while self.keyword("AND") {
            self.pos += 1;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Filter::And(parts) })
    }

    fn not(&mut self) -> Result<Filter, String> {
        if self.keyword("NOT") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn value(&mut self) -> Result<String, String> {
        match self.toks.get(self.pos).cloned() {
            Some((Tok::Word(w), _)) | Some((Tok::Quoted(w), _)) => {
                self.pos += 1;
                Ok(w)
            }
            _ => Err("Was expecting a value but instead got nothing.".into()),
        }
    }

    fn primary(&mut self) -> Result<Filter, String> {
        match self.toks.get(self.pos).cloned() {
            Some((Tok::Open, _)) => {
                self.pos += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Tok::Close) {
                    return Err("Expression is missing the following closing delimiter: `)`.".into());
                }
                self.pos += 1;
                Ok(inner)
            }
            Some((Tok::Word(attr), _)) | Some((Tok::Quoted(attr), _)) => {
                self.pos += 1;
                match self.toks.get(self.pos).cloned() {
                    Some((Tok::Op(op), _)) => {
                        self.pos += 1;
                        let value = self.value()?;
                        Ok(Filter::Compare { attr, op, value })
                    }
                    _ if self.keyword("IN") => {
                        self.pos += 1;
                        Ok(Filter::In { attr, values: self.list()? })
                    }
                    _ if self.keyword("NOT") && self.keyword_at(1, "IN") => {
                        self.pos += 2;
                        Ok(Filter::Not(Box::new(Filter::In { attr, values: self.list()? })))
                    }
                    _ if self.keyword("EXISTS") => {
                        self.pos += 1;
                        Ok(Filter::Exists(attr))
                    }
                    _ if self.keyword("NOT") && self.keyword_at(1, "EXISTS") => {
                        self.pos += 2;
                        Ok(Filter::Not(Box::new(Filter::Exists(attr))))
                    }
                    _ if self.keyword("IS") && self.keyword_at(1, "NULL") => {
                        self.pos += 2;
                        Ok(Filter::IsNull(attr))
                    }
                    _ if self.keyword("IS") && self.keyword_at(1, "NOT") && self.keyword_at(2, "NULL") => {
                        self.pos += 3;
                        Ok(Filter::Not(Box::new(Filter::IsNull(attr))))
                    }
                    _ => Err(format!("{EXPECTED_OP} at `{attr}`.")),
                }
            }
            _ => Err(format!("{EXPECTED_OP}.")),
        }
    }

    fn list(&mut self) -> Result<Vec<String>, String> {
        if self.peek() != Some(&Tok::OpenBracket) {
            return Err("Expected `[` after `IN` keyword.".into());
        }
        self.pos += 1;
        let mut values = Vec::new();
        loop {
            if self.peek() == Some(&Tok::CloseBracket) {
                self.pos += 1;
                return Ok(values);
            }
            values.push(self.value()?);
            match self.peek() {
                Some(Tok::Comma) => self.pos += 1,
                Some(Tok::CloseBracket) => {}
                _ => return Err("Expected matching `]` after the list of values.".into()),
            }
        }
    }
}

fn parse_expression(s: &str) -> Result<Filter, String> {
    let mut p = Parser { toks: lex(s)?, pos: 0 };
    if p.toks.is_empty() {
        return Ok(Filter::And(Vec::new()));
    }
    let f = p.or()?;
    if p.pos < p.toks.len() {
        let rest: String = s.chars().skip(p.toks[p.pos].1).collect();
        return Err(format!(
            "Found unexpected characters at the end of the filter: `{rest}`. You probably forgot an `OR` or an `AND` rule."
        ));
    }
    Ok(f)
}

/// A filter as a search or deletion sends it: an expression, or the array form (outer AND,
/// inner arrays OR).
fn parse_filter(v: &Value) -> Result<Filter, String> {
    match v {
        Value::Null => Ok(Filter::And(Vec::new())),
        Value::String(s) => parse_expression(s),
        Value::Array(items) => {
            let mut and = Vec::new();
            for item in items {
                match item {
                    Value::String(s) => and.push(parse_expression(s)?),
                    Value::Array(inner) => {
                        let mut or = Vec::new();
                        for i in inner {
                            let Some(s) = i.as_str() else {
                                return Err(format!("Invalid value type: expected a string, but found `{i}`."));
                            };
                            or.push(parse_expression(s)?);
                        }
                        and.push(Filter::Or(or));
                    }
                    other => {
                        return Err(format!("Invalid value type: expected a string or an array, but found `{other}`."));
                    }
                }
            }
            Ok(Filter::And(and))
        }
        other => Err(format!("Invalid value type: expected a string or an array, but found `{other}`.")),
    }
}

impl Filter {
    fn attributes(&self, out: &mut Vec<String>) {
        match self {
            Filter::And(v) | Filter::Or(v) => v.iter().for_each(|f| f.attributes(out)),
            Filter::Not(f) => f.attributes(out),
            Filter::Compare { attr, .. } | Filter::In { attr, .. } | Filter::Exists(attr) | Filter::IsNull(attr) => {
                out.push(attr.clone())
            }
        }
    }

    fn matches(&self, doc: &Map<String, Value>) -> bool {
        match self {
            Filter::And(v) => v.iter().all(|f| f.matches(doc)),
            Filter::Or(v) => v.iter().any(|f| f.matches(doc)),
            Filter::Not(f) => !f.matches(doc),
            Filter::Exists(attr) => doc.contains_key(attr),
            Filter::IsNull(attr) => doc.get(attr).is_some_and(Value::is_null),
            Filter::In { attr, values } => values.iter().any(|v| compare(doc.get(attr), "=", v)),
            Filter::Compare { attr, op, value } => compare(doc.get(attr), op, value),
        }
    }
}

/// Meilisearch compares numbers as numbers and everything else as lowercased strings (`true`
/// is the string of a boolean); an array matches when one of its values does.
fn compare(v: Option<&Value>, op: &str, literal: &str) -> bool {
    let Some(v) = v else { return op == "!=" };
    if let Value::Array(items) = v {
        return if op == "!=" {
            !items.iter().any(|i| compare(Some(i), "=", literal))
        } else {
            items.iter().any(|i| compare(Some(i), op, literal))
        };
    }
    let number = v.as_f64().zip(literal.parse::<f64>().ok());
    match op {
        "=" | "!=" => {
            let equal = match (v, number) {
                (_, Some((a, b))) => a == b,
                (Value::String(s), _) => s.to_lowercase() == literal.to_lowercase(),
                (Value::Bool(b), _) => b.to_string() == literal.to_lowercase(),
                _ => false,
            };
            equal == (op == "=")
        }
        _ => match number {
            Some((a, b)) => match op {
                ">" => a > b,
                ">=" => a >= b,
                "<" => a < b,
                _ => a <= b,
            },
            None => false,
        },
    }
}

/// Parses `filter` and checks every attribute it names is filterable; the error is the
/// message Meilisearch gives.
fn checked_filter(v: &Value, index_uid: &str, settings: &Map<String, Value>) -> Result<Filter, String> {
    let f = parse_filter(v)?;
    let filterable = strings(settings.get("filterableAttributes"));
    let mut attrs = Vec::new();
    f.attributes(&mut attrs);
    for a in attrs {
        if !filterable.contains(&a) {
            let available: Vec<String> = filterable.iter().map(|f| format!("`{f}`")).collect();
            return Err(format!(
                "Index `{index_uid}`: Attribute `{a}` is not filterable. Available filterable attribute patterns are: {}.",
                if available.is_empty() {
                    "This index does not have configured filterable attributes".to_string()
                } else {
                    available.join(", ")
                }
            ));
        }
    }
    Ok(f)
}

// ---- Search ----------------------------------------------------------------------------------

/// Words as the double reads them: runs of letters and digits, lowercased.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

const SEARCH_PARAMETERS: &[&str] = &[
    "q",
    "offset",
    "limit",
    "page",
    "hitsPerPage",
    "filter",
    "facets",
    "attributesToRetrieve",
    "retrieveVectors",
    "attributesToCrop",
    "cropLength",
    "cropMarker",
    "attributesToHighlight",
    "highlightPreTag",
    "highlightPostTag",
    "showMatchesPosition",
    "sort",
    "distinct",
    "matchingStrategy",
    "showRankingScore",
    "showRankingScoreDetails",
    "showPerformanceDetails",
    "rankingScoreThreshold",
    "attributesToSearchOn",
    "hybrid",
    "vector",
    "locales",
    "media",
];
const IMPLEMENTED: &[&str] = &[
    "q",
    "offset",
    "limit",
    "filter",
    "attributesToRetrieve",
    "matchingStrategy",
    "showRankingScore",
    "attributesToSearchOn",
];

/// A search's answer, or the code and message of its `400`.
fn search(index_uid: &str, index: &IndexState, body: &Map<String, Value>) -> Result<Value, (String, String)> {
    let bad = |code: &str, m: String| (code.to_string(), m);
    for k in body.keys() {
        if !SEARCH_PARAMETERS.contains(&k.as_str()) {
            let known: Vec<String> = SEARCH_PARAMETERS.iter().map(|k| format!("`{k}`")).collect();
            return Err(bad("bad_request", format!("Unknown field `{k}`: expected one of {}", known.join(", "))));
        }
        if !IMPLEMENTED.contains(&k.as_str()) && !body[k].is_null() {
            return Err(bad(
                "bad_request",
                format!("The Meilisearch double does not implement the search parameter `{k}`."),
            ));
        }
    }
    let q = match body.get("q") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(bad(
                "invalid_search_q",
                format!("Invalid value type at `.q`: expected a string, but found `{other}`"),
            ));
        }
    };
    let number = |k: &str, default: usize| -> Result<usize, (String, String)> {
        match body.get(k) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_u64().map(|n| n as usize).ok_or_else(|| {
                bad(
                    &format!("invalid_search_{}", snake(k)),
                    format!("Invalid value type at `.{k}`: expected a positive integer, but found `{v}`"),
                )
            }),
        }
    };
    let limit = number("limit", 20)?;
    let offset = number("offset", 0)?;
    let strategy = match body.get("matchingStrategy") {
        None | Some(Value::Null) => "last",
        Some(Value::String(s)) if s == "all" || s == "last" => s.as_str(),
        Some(Value::String(s)) if s == "frequency" => {
            return Err(bad(
                "bad_request",
                "The Meilisearch double does not implement `matchingStrategy: frequency`.".into(),
            ));
        }
        Some(v) => {
            return Err(bad(
                "invalid_search_matching_strategy",
                format!(
                    "Unknown value `{}` at `.matchingStrategy`: expected one of `last`, `all`, `frequency`",
                    v.as_str().unwrap_or(&v.to_string())
                ),
            ));
        }
    };
    let filter = match body.get("filter") {
        None => Filter::And(Vec::new()),
        Some(v) => checked_filter(v, index_uid, &index.settings).map_err(|m| bad("invalid_search_filter", m))?,
    };
    let searchable = strings(index.settings.get("searchableAttributes"));
    let all_searchable = searchable.iter().any(|s| s == "*");
    let mut fields: Vec<String> = if all_searchable {
        // Without a list, every attribute in the order first seen; the double takes them sorted.
        let mut f: Vec<String> = index.docs.values().flat_map(|(_, d)| d.keys().cloned()).collect();
        f.sort();
        f.dedup();
        f
    } else {
        searchable.clone()
    };
    if let Some(on) = body.get("attributesToSearchOn").filter(|v| !v.is_null()) {
        let Some(on) = on.as_array().map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect::<Vec<_>>())
        else {
            return Err(bad(
                "invalid_search_attributes_to_search_on",
                "Invalid value type at `.attributesToSearchOn`: expected an array".into(),
            ));
        };
        for a in &on {
            if !all_searchable && !searchable.contains(a) {
                let available: Vec<String> = searchable.iter().map(|s| format!("`{s}`")).collect();
                return Err(bad(
                    "invalid_search_attributes_to_search_on",
                    format!(
                        "Attribute `{a}` is not searchable. Available searchable attributes are: {}.",
                        available.join(", ")
                    ),
                ));
            }
        }
        fields.retain(|f| on.contains(f));
    }
    let retrieve: Option<Vec<String>> = match body.get("attributesToRetrieve") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let list = strings(Some(v));
            if list.iter().any(|s| s == "*") { None } else { Some(list) }
        }
    };
    let stop: HashSet<String> =
        strings(index.settings.get("stopWords")).into_iter().map(|s| s.to_lowercase()).collect();
    let mut query: Vec<String> = words(&q);
    let meaningful: Vec<String> = query.iter().filter(|w| !stop.contains(*w)).cloned().collect();
    if !meaningful.is_empty() {
        query = meaningful;
    }
    query.truncate(10);
    let max_total = index.settings.get("pagination").and_then(|p| p["maxTotalHits"].as_u64()).unwrap_or(1000) as usize;

    // Score: the share of query words found, each counting more in an earlier attribute.
    let score_of = |doc: &Map<String, Value>, terms: &[String]| -> Option<f64> {
        if terms.is_empty() {
            return Some(1.0);
        }
        let mut total = 0.0;
        for (i, term) in terms.iter().enumerate() {
            let prefix = i + 1 == terms.len();
            let hit = fields.iter().enumerate().find(|(_, f)| {
                let text = match doc.get(*f) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => return false,
                    Some(other) => other.to_string(),
                };
                words(&text).iter().any(|w| w == term || (prefix && w.starts_with(term.as_str())))
            });
            match hit {
                Some((rank, _)) => total += 1.0 / (1.0 + rank as f64 * 0.25),
                None => return None,
            }
        }
        Some(total / terms.len() as f64)
    };
    let mut found: Vec<(f64, u64, &Map<String, Value>)> = Vec::new();
    let mut seen = HashSet::new();
    // `all`: every word; `last`: then fewer and fewer words from the end, each round ranked below the last.
    let rounds = if strategy == "all" || query.is_empty() { 1 } else { query.len() };
    for round in 0..rounds {
        let terms = &query[..query.len() - round];
        let mut this: Vec<(f64, u64, &Map<String, Value>)> = Vec::new();
        for (id, (seq, doc)) in &index.docs {
            if seen.contains(id) || !filter.matches(doc) {
                continue;
            }
            if let Some(s) = score_of(doc, terms) {
                let s = s * (terms.len().max(1) as f64) / (query.len().max(1) as f64);
                this.push((s, *seq, doc));
                seen.insert(id.clone());
            }
        }
        this.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        found.extend(this);
    }
    let total = found.len();
    let show_score = body.get("showRankingScore").and_then(Value::as_bool).unwrap_or(false);
    let end = (offset + limit).min(max_total);
    let hits: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(end.saturating_sub(offset))
        .map(|(score, _, doc)| {
            let mut hit: Map<String, Value> = match &retrieve {
                None => (*doc).clone(),
                Some(keep) => {
                    doc.iter().filter(|(k, _)| keep.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
                }
            };
            if show_score {
                hit.insert("_rankingScore".into(), json!(score));
            }
            Value::Object(hit)
        })
        .collect();
    Ok(json!({
        "hits": hits,
        "query": q,
        "processingTimeMs": 0,
        "limit": limit,
        "offset": offset,
        "estimatedTotalHits": total,
    }))
}

// ---- Tasks -----------------------------------------------------------------------------------

impl Double {
    fn enqueue(&mut self, index_uid: Option<&str>, op: Op, details: Value) -> Value {
        let uid = self.tasks.len() as u32;
        let t = TaskRec {
            uid,
            index_uid: index_uid.map(String::from),
            op,
            status: "enqueued",
            details,
            error: None,
            enqueued: Instant::now(),
            enqueued_at: now(),
            started_at: None,
            finished_at: None,
            duration: None,
        };
        let summary = t.summary();
        self.tasks.push(t);
        summary
    }

    fn new_index(primary_key: Option<String>) -> IndexState {
        let at = now();
        IndexState {
            primary_key,
            created_at: at.clone(),
            updated_at: at,
            docs: BTreeMap::new(),
            next_seq: 0,
            settings: default_settings(),
        }
    }

    /// Processes the enqueued tasks that have waited `delay`, in order.
    fn process(&mut self) {
        let delay = self.delay;
        for i in 0..self.tasks.len() {
            if self.tasks[i].status != "enqueued" {
                continue;
            }
            if self.tasks[i].enqueued.elapsed() < delay {
                break;
            }
            let started = Instant::now();
            let started_at = now();
            let task = self.tasks[i].clone();
            let result = self.apply(&task);
            let t = &mut self.tasks[i];
            t.started_at = Some(started_at);
            match result {
                Ok(details) => {
                    t.status = "succeeded";
                    if let (Value::Object(d), Value::Object(extra)) = (&mut t.details, details) {
                        d.extend(extra);
                    }
                }
                Err(e) => {
                    t.status = "failed";
                    t.error = Some(e);
                }
            }
            t.finished_at = Some(now());
            t.duration = Some(started.elapsed());
            if let Some(ix) = t.index_uid.clone().and_then(|u| self.indexes.get_mut(&u)) {
                ix.updated_at = now();
            }
        }
    }

    fn apply(&mut self, task: &TaskRec) -> Result<Value, Value> {
        let uid = task.index_uid.clone().unwrap_or_default();
        let missing = || error_json("index_not_found", format!("Index `{uid}` not found."));
        match &task.op {
            Op::CreateIndex { primary_key } => {
                if self.indexes.contains_key(&uid) {
                    return Err(error_json("index_already_exists", format!("Index `{uid}` already exists.")));
                }
                self.indexes.insert(uid.clone(), Double::new_index(primary_key.clone()));
                Ok(json!({}))
            }
            Op::DeleteIndex => {
                let ix = self.indexes.remove(&uid).ok_or_else(missing)?;
                Ok(json!({ "deletedDocuments": ix.docs.len() }))
            }
            Op::Settings(update) => {
                let ix = self.indexes.entry(uid.clone()).or_insert_with(|| Double::new_index(None));
                merge_settings(&mut ix.settings, update)?;
                Ok(json!({}))
            }
            Op::ResetSettings => {
                let ix = self.indexes.get_mut(&uid).ok_or_else(missing)?;
                ix.settings = default_settings();
                Ok(json!({}))
            }
            Op::AddDocuments { docs, primary_key, replace } => {
                let ix = self.indexes.entry(uid.clone()).or_insert_with(|| Double::new_index(primary_key.clone()));
                match (&ix.primary_key, primary_key) {
                    (Some(have), Some(asked)) if have != asked => {
                        return Err(error_json(
                            "index_primary_key_already_exists",
                            format!("Index `{uid}`: Index already has a primary key: `{have}`."),
                        ));
                    }
                    (None, Some(asked)) => ix.primary_key = Some(asked.clone()),
                    (None, None) => {
                        let guess =
                            docs.first().and_then(|d| d.keys().find(|k| k.to_lowercase().ends_with("id")).cloned());
                        match guess {
                            Some(k) => ix.primary_key = Some(k),
                            None => {
                                return Err(error_json(
                                    "index_primary_key_no_candidate_found",
                                    format!(
                                        "Index `{uid}`: The primary key inference failed as the engine did not find any field ending with `id` in its name. Please specify the primary key manually using the `primaryKey` query parameter."
                                    ),
                                ));
                            }
                        }
                    }
                    _ => {}
                }
                let pk = ix.primary_key.clone().unwrap_or_default();
                let mut checked = Vec::new();
                for d in docs {
                    let id = match d.get(&pk) {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
                        Some(other) => {
                            return Err(error_json(
                                "invalid_document_id",
                                format!(
                                    "Document identifier `{other}` is invalid. A document identifier can be of type integer or string, only composed of alphanumeric characters (a-z A-Z 0-9), hyphens (-) and underscores (_), and can not be more than 511 bytes."
                                ),
                            ));
                        }
                        None => {
                            return Err(error_json(
                                "missing_document_id",
                                format!("Document doesn't have a `{pk}` attribute: `{}`.", Value::Object(d.clone())),
                            ));
                        }
                    };
                    if !valid_id(&id) {
                        return Err(error_json(
                            "invalid_document_id",
                            format!(
                                "Document identifier `\"{id}\"` is invalid. A document identifier can be of type integer or string, only composed of alphanumeric characters (a-z A-Z 0-9), hyphens (-) and underscores (_), and can not be more than 511 bytes."
                            ),
                        ));
                    }
                    checked.push((id, d.clone()));
                }
                let n = checked.len();
                for (id, d) in checked {
                    let seq = ix.next_seq;
                    match ix.docs.get_mut(&id) {
                        Some((_, old)) if !*replace => old.extend(d),
                        Some((_, old)) => *old = d,
                        None => {
                            ix.next_seq += 1;
                            ix.docs.insert(id, (seq, d));
                        }
                    }
                }
                Ok(json!({ "indexedDocuments": n }))
            }
            Op::DeleteIds(ids) => {
                let ix = self.indexes.get_mut(&uid).ok_or_else(missing)?;
                let n = ids.iter().filter(|id| ix.docs.remove(*id).is_some()).count();
                Ok(json!({ "deletedDocuments": n }))
            }
            Op::DeleteFilter(filter) => {
                let ix = self.indexes.get_mut(&uid).ok_or_else(missing)?;
                let f =
                    checked_filter(filter, &uid, &ix.settings).map_err(|m| error_json("invalid_document_filter", m))?;
                let before = ix.docs.len();
                ix.docs.retain(|_, (_, d)| !f.matches(d));
                Ok(json!({ "deletedDocuments": before - ix.docs.len() }))
            }
            Op::DeleteAll => {
                let ix = self.indexes.get_mut(&uid).ok_or_else(missing)?;
                let n = ix.docs.len();
                ix.docs.clear();
                Ok(json!({ "deletedDocuments": n }))
            }
        }
    }
}

// ---- HTTP ------------------------------------------------------------------------------------

type S = State<Arc<Shared>>;

async fn route(State(shared): S, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(String::from);
    let parsed: Result<Value, _> = if body.is_empty() { Ok(Value::Null) } else { serde_json::from_slice(&body) };
    let path = uri.path().trim_end_matches('/').to_string();
    {
        let mut s = shared.lock();
        s.log.push(Request {
            method: method.to_string(),
            path: path.clone(),
            query: uri.query().map(String::from),
            body: parsed.as_ref().ok().cloned().unwrap_or(Value::Null),
            authorization: authorization.clone(),
        });
    }
    if path == "/health" && method == Method::GET {
        return axum::Json(json!({ "status": "available" })).into_response();
    }
    if let Some(key) = &shared.api_key {
        match authorization.as_deref().and_then(|a| a.strip_prefix("Bearer ")) {
            None => {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "missing_authorization_header",
                    "The Authorization header is missing. It must use the bearer authorization method.",
                );
            }
            Some(given) if given != key => {
                return error(StatusCode::FORBIDDEN, "invalid_api_key", "The provided API key is invalid.");
            }
            Some(_) => {}
        }
    }
    let Ok(body) = parsed else {
        return error(StatusCode::BAD_REQUEST, "malformed_payload", "The json payload provided is malformed.");
    };
    let query: Vec<(String, String)> = uri.query().map(url_pairs).unwrap_or_default();
    let param = |k: &str| query.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone());
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut s = shared.lock();
    let accepted = |summary: Value| (StatusCode::ACCEPTED, axum::Json(summary)).into_response();
    let response = match (method.as_str(), segments.as_slice()) {
        ("GET", ["version"]) => axum::Json(
            json!({ "commitSha": "double", "commitDate": "2025-01-01T00:00:00Z", "pkgVersion": "1.x-double" }),
        )
        .into_response(),
        ("GET", ["tasks"]) => {
            let results: Vec<Value> = s.tasks.iter().rev().map(TaskRec::json).collect();
            axum::Json(json!({ "results": results, "total": results.len(), "limit": 20, "from": s.tasks.len().checked_sub(1), "next": null })).into_response()
        }
        ("GET", ["tasks", uid]) => match uid.parse::<usize>().ok().and_then(|u| s.tasks.get(u)) {
            Some(t) => axum::Json(t.json()).into_response(),
            None => error(StatusCode::NOT_FOUND, "task_not_found", format!("Task `{uid}` not found.")),
        },
        ("GET", ["indexes"]) => {
            let results: Vec<Value> = s.indexes.iter().map(|(uid, ix)| index_json(uid, ix)).collect();
            axum::Json(json!({ "results": results, "offset": 0, "limit": 20, "total": results.len() })).into_response()
        }
        ("POST", ["indexes"]) => {
            let Some(uid) = body["uid"].as_str().map(String::from) else {
                return error(StatusCode::BAD_REQUEST, "missing_index_uid", "Missing field `uid`");
            };
            if !valid_id(&uid) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_index_uid",
                    format!(
                        "`{uid}` is not a valid index uid. Index uid can be an integer or a string containing only alphanumeric characters, hyphens (-) and underscores (_), and can not be more than 512 bytes."
                    ),
                );
            }
            let pk = body["primaryKey"].as_str().map(String::from);
            accepted(s.enqueue(Some(&uid), Op::CreateIndex { primary_key: pk.clone() }, json!({ "primaryKey": pk })))
        }
        (m, ["indexes", uid, rest @ ..]) => {
            let uid = uid.to_string();
            let exists = s.indexes.contains_key(&uid);
            match (m, rest) {
                ("GET", []) => match s.indexes.get(&uid) {
                    Some(ix) => axum::Json(index_json(&uid, ix)).into_response(),
                    None => not_found(&uid),
                },
                ("DELETE", []) => accepted(s.enqueue(Some(&uid), Op::DeleteIndex, json!({ "deletedDocuments": null }))),
                ("GET", ["stats"]) => match s.indexes.get(&uid) {
                    Some(ix) => {
                        let mut distribution = Map::new();
                        for (_, d) in ix.docs.values() {
                            for k in d.keys() {
                                let n = distribution.get(k).and_then(Value::as_u64).unwrap_or(0);
                                distribution.insert(k.clone(), json!(n + 1));
                            }
                        }
                        let size: usize =
                            ix.docs.values().map(|(_, d)| Value::Object(d.clone()).to_string().len()).sum();
                        axum::Json(json!({
                            "numberOfDocuments": ix.docs.len(),
                            "rawDocumentDbSize": size,
                            "avgDocumentSize": size.checked_div(ix.docs.len()).unwrap_or(0),
                            "isIndexing": s.tasks.iter().any(|t| t.status == "enqueued" && t.index_uid.as_deref() == Some(uid.as_str())),
                            "numberOfEmbeddings": 0,
                            "numberOfEmbeddedDocuments": 0,
                            "fieldDistribution": distribution,
                        }))
                        .into_response()
                    }
                    None => not_found(&uid),
                },
                ("GET", ["settings"]) => match s.indexes.get(&uid) {
                    Some(ix) => axum::Json(Value::Object(ix.settings.clone())).into_response(),
                    None => not_found(&uid),
                },
                ("PATCH", ["settings"]) => {
                    let Value::Object(update) = body else {
                        return error(StatusCode::BAD_REQUEST, "bad_request", "Invalid value type: expected an object");
                    };
                    // Shapes are checked at once, as Meilisearch does, on a scratch copy.
                    let mut scratch = default_settings();
                    if let Err(e) = merge_settings(&mut scratch, &update) {
                        return (StatusCode::BAD_REQUEST, axum::Json(e)).into_response();
                    }
                    let details = Value::Object(update.clone());
                    accepted(s.enqueue(Some(&uid), Op::Settings(update), details))
                }
                ("DELETE", ["settings"]) => accepted(s.enqueue(Some(&uid), Op::ResetSettings, json!({}))),
                ("POST" | "PUT", ["documents"]) => {
                    let docs: Vec<Map<String, Value>> = match body {
                        Value::Array(items) if items.iter().all(Value::is_object) => items
                            .into_iter()
                            .filter_map(|v| match v {
                                Value::Object(m) => Some(m),
                                _ => None,
                            })
                            .collect(),
                        Value::Object(m) => vec![m],
                        _ => {
                            return error(
                                StatusCode::BAD_REQUEST,
                                "malformed_payload",
                                "The `json` payload provided is malformed. `Couldn't serialize document value: data are neither an object nor a list of objects`.",
                            );
                        }
                    };
                    let details = json!({ "receivedDocuments": docs.len(), "indexedDocuments": null });
                    let op = Op::AddDocuments { docs, primary_key: param("primaryKey"), replace: m == "POST" };
                    accepted(s.enqueue(Some(&uid), op, details))
                }
                ("GET", ["documents"]) => match s.indexes.get(&uid) {
                    Some(ix) => {
                        let limit = param("limit").and_then(|l| l.parse().ok()).unwrap_or(20usize);
                        let offset = param("offset").and_then(|l| l.parse().ok()).unwrap_or(0usize);
                        let mut docs: Vec<&(u64, Map<String, Value>)> = ix.docs.values().collect();
                        docs.sort_by_key(|(seq, _)| *seq);
                        let results: Vec<Value> =
                            docs.iter().skip(offset).take(limit).map(|(_, d)| Value::Object(d.clone())).collect();
                        axum::Json(
                            json!({ "results": results, "offset": offset, "limit": limit, "total": ix.docs.len() }),
                        )
                        .into_response()
                    }
                    None => not_found(&uid),
                },
                ("DELETE", ["documents"]) => {
                    accepted(s.enqueue(Some(&uid), Op::DeleteAll, json!({ "deletedDocuments": null })))
                }
                ("POST", ["documents", "delete-batch"]) => {
                    let Some(ids) = body.as_array() else {
                        return error(StatusCode::BAD_REQUEST, "bad_request", "Invalid value type: expected an array");
                    };
                    let ids: Vec<String> =
                        ids.iter().map(|v| v.as_str().map(String::from).unwrap_or_else(|| v.to_string())).collect();
                    let details = json!({ "providedIds": ids.len(), "deletedDocuments": null });
                    accepted(s.enqueue(Some(&uid), Op::DeleteIds(ids), details))
                }
                ("POST", ["documents", "delete"]) => {
                    let filter = body.get("filter").cloned().unwrap_or(Value::Null);
                    if filter.is_null() {
                        return error(StatusCode::BAD_REQUEST, "missing_document_filter", "Missing field `filter`");
                    }
                    if let Err(m) = parse_filter(&filter) {
                        return error(StatusCode::BAD_REQUEST, "invalid_document_filter", m);
                    }
                    let details =
                        json!({ "providedIds": 0, "deletedDocuments": null, "originalFilter": filter.to_string() });
                    accepted(s.enqueue(Some(&uid), Op::DeleteFilter(filter), details))
                }
                ("GET", ["documents", id]) => match s.indexes.get(&uid) {
                    Some(ix) => match ix.docs.get(*id) {
                        Some((_, d)) => axum::Json(Value::Object(d.clone())).into_response(),
                        None => {
                            error(StatusCode::NOT_FOUND, "document_not_found", format!("Document `{id}` not found."))
                        }
                    },
                    None => not_found(&uid),
                },
                ("DELETE", ["documents", id]) => {
                    let ids = vec![id.to_string()];
                    accepted(s.enqueue(
                        Some(&uid),
                        Op::DeleteIds(ids),
                        json!({ "providedIds": 1, "deletedDocuments": null }),
                    ))
                }
                ("POST", ["search"]) => {
                    let Some(ix) = s.indexes.get(&uid) else { return not_found(&uid) };
                    let body = match body {
                        Value::Object(m) => m,
                        Value::Null => Map::new(),
                        _ => {
                            return error(
                                StatusCode::BAD_REQUEST,
                                "bad_request",
                                "Invalid value type: expected an object",
                            );
                        }
                    };
                    match search(&uid, ix, &body) {
                        Ok(v) => axum::Json(v).into_response(),
                        Err((code, message)) => error(StatusCode::BAD_REQUEST, &code, message),
                    }
                }
                _ if !exists && m == "GET" => not_found(&uid),
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    };
    drop(s);
    shared.wake.notify_one();
    response
}

fn url_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decoding of a query component (`+` is a space).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn index_json(uid: &str, ix: &IndexState) -> Value {
    json!({ "uid": uid, "primaryKey": ix.primary_key, "createdAt": ix.created_at, "updatedAt": ix.updated_at })
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Double> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl MeilisearchDouble {
    /// Starts the double on a free port; with `api_key`, every route but `/health` wants it as
    /// `Authorization: Bearer`.
    pub async fn start(api_key: Option<&str>) -> anyhow::Result<MeilisearchDouble> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr: SocketAddr = listener.local_addr()?;
        let state = Arc::new(Shared {
            api_key: api_key.map(String::from),
            state: Mutex::new(Double { delay: Duration::from_millis(20), ..Double::default() }),
            wake: tokio::sync::Notify::new(),
        });
        let app = Router::new().route("/", any(route)).route("/{*rest}", any(route)).with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let worker_state = state.clone();
        let worker = tokio::spawn(async move {
            loop {
                let _ = tokio::time::timeout(Duration::from_millis(10), worker_state.wake.notified()).await;
                worker_state.lock().process();
            }
        });
        Ok(MeilisearchDouble { url: format!("http://{addr}"), state, server, worker })
    }

    /// How long tasks stay `enqueued` before they are processed (20 ms unless set).
    pub fn set_task_delay(&self, delay: Duration) {
        self.state.lock().delay = delay;
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().log.clone()
    }

    /// The documents of an index as stored (processed tasks only), in the order first added.
    pub fn documents(&self, index_uid: &str) -> Vec<Value> {
        let s = self.state.lock();
        let Some(ix) = s.indexes.get(index_uid) else { return Vec::new() };
        let mut docs: Vec<&(u64, Map<String, Value>)> = ix.docs.values().collect();
        docs.sort_by_key(|(seq, _)| *seq);
        docs.into_iter().map(|(_, d)| Value::Object(d.clone())).collect()
    }

    /// An index's settings, as `GET /indexes/{uid}/settings` shows them.
    pub fn settings(&self, index_uid: &str) -> Option<Value> {
        self.state.lock().indexes.get(index_uid).map(|ix| Value::Object(ix.settings.clone()))
    }

    /// Every task, as `GET /tasks/{uid}` shows it, oldest first.
    pub fn tasks(&self) -> Vec<Value> {
        self.state.lock().tasks.iter().map(TaskRec::json).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn filters_parse_and_match_as_meilisearch_reads_them() {
        let d = doc(json!({ "workspace": 1, "kind": "ticket", "owner": null, "public": true, "tags": ["a", "b"] }));
        let yes = [
            "workspace = 1 AND kind IN [\"ticket\", \"chunk\"]",
            "(owner = 10 OR public = true) AND workspace = 1",
            "NOT workspace = 2",
            "kind = TICKET",
            "owner IS NULL",
            "tags = b",
            "workspace >= 1 AND workspace < 2",
            "kind NOT IN [chunk]",
            "public EXISTS",
        ];
        for f in yes {
            assert!(parse_expression(f).unwrap().matches(&d), "{f}");
        }
        let no = ["workspace = 2", "owner = 10", "kind IN []", "missing EXISTS", "workspace != 1", "public = false"];
        for f in no {
            assert!(!parse_expression(f).unwrap().matches(&d), "{f}");
        }
        for bad in
            ["workspace", "workspace = ", "(workspace = 1", "workspace = 1 kind = 2", "a IN [b", "x TO y", "\"open"]
        {
            assert!(parse_expression(bad).is_err(), "{bad}");
        }
        let array = parse_filter(&json!(["workspace = 1", ["owner = 3", "public = true"]])).unwrap();
        assert!(array.matches(&d));
    }
}
