//! What one GraphQL request may cost, checked before it runs.
//!
//! async-graphql's depth and complexity limits visit each fragment once, wherever and however
//! often it is spread, and its own recursion check walks every spread without memoising: a
//! document of fragments that each spread the previous one twice doubles the work per level
//! while every limit sees a tiny query. So before async-graphql sees a document, this extension
//! parses it, counts what it asks for with every fragment expanded (memoised per fragment, so the
//! count itself is linear in the document), refuses what is over the caller's budget, and hands
//! async-graphql the document with its fragments inlined, so the depth and complexity limits then
//! measure what will really run.
//!
//! Memory is bounded by the same numbers: the inlined document holds at most `max_selections`
//! selections, and what execution builds is bounded by the complexity limit (each field at most
//! one value, lists by their page size). The request around the document (its variables above
//! all) is bounded before it is parsed, by the server's edge (`crates/server/src/graphql_edge.rs`:
//! bytes, JSON values and nesting, per caller, on every transport). Time is bounded by `timeout`
//! around execution; parsing and validation are linear in a document capped at `max_bytes`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextPrepareRequest, NextValidation,
};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, InlineFragment, Selection, SelectionSet,
};
use async_graphql::{
    ErrorExtensionValues, IntrospectionMode, Name, Pos, Positioned, Request, Response, ServerError, ServerResult,
    ValidationResult, Value,
};
use switchboard_desk::domain::{Actor, ErrorCode};

/// What one request may ask for; anonymous callers get a smaller budget than signed-in ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Bytes of the query document.
    pub max_bytes: usize,
    /// Fields and fragments selected, counted with every fragment spread expanded.
    pub max_selections: usize,
    /// async-graphql's complexity (each field 1, lists times their page size), fragments expanded.
    pub max_complexity: usize,
    /// Aliased fields written in the document.
    pub max_aliases: usize,
    /// Fragment definitions in the document.
    pub max_fragments: usize,
    /// Directives written in the document.
    pub max_directives: usize,
    /// Operations defined in the document.
    pub max_operations: usize,
}

impl Budget {
    /// A caller without a token: enough to sign in, reset a password, or read the public pages.
    pub const ANONYMOUS: Budget = Budget {
        max_bytes: 8 * 1024,
        max_selections: 200,
        max_complexity: 500,
        max_aliases: 10,
        max_fragments: 10,
        max_directives: 10,
        max_operations: 5,
    };

    /// A signed-in caller (staff, customer or API token): the web UI's largest screens fit with room.
    pub const SIGNED_IN: Budget = Budget {
        max_bytes: 64 * 1024,
        max_selections: 2_000,
        max_complexity: crate::MAX_COMPLEXITY,
        max_aliases: 100,
        max_fragments: 100,
        max_directives: 100,
        max_operations: 20,
    };
}

/// Who may ask the schema about itself (`__schema`, `__type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Introspection {
    /// Anyone.
    On,
    /// Signed-in callers only.
    SignedIn,
    /// No one: the checked-in `schema.graphql` documents the API.
    Off,
}

impl Introspection {
    fn allows(self, signed_in: bool) -> bool {
        match self {
            Introspection::On => true,
            Introspection::SignedIn => signed_in,
            Introspection::Off => false,
        }
    }
}

/// What each request may do, installed by `build_schema`.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    pub anonymous: Budget,
    pub signed_in: Budget,
    /// Longest a query or mutation may run (subscriptions are long-lived and are not bounded).
    pub timeout: Duration,
    pub introspection: Introspection,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            anonymous: Budget::ANONYMOUS,
            signed_in: Budget::SIGNED_IN,
            timeout: Duration::from_secs(30),
            introspection: Introspection::SignedIn,
        }
    }
}

impl ExtensionFactory for RequestLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

/// A GraphQL error with a stable code, for refusals made before any resolver runs.
pub(crate) fn refusal(code: ErrorCode, message: String, pos: Option<Pos>) -> ServerError {
    let mut e = ServerError::new(message, pos);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", Value::from(code.as_str()));
    e.extensions = Some(ext);
    e
}

fn too_big(message: String) -> ServerError {
    refusal(ErrorCode::QueryTooLarge, message, None)
}

impl RequestLimits {
    fn budget(&self, signed_in: bool) -> Budget {
        if signed_in { self.signed_in } else { self.anonymous }
    }
}

#[async_trait::async_trait]
impl Extension for RequestLimits {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        // The HTTP handler puts the caller in the request's data; a WebSocket in its session data.
        let signed_in =
            request.data.contains_key(&std::any::TypeId::of::<Actor>()) || ctx.data_opt::<Actor>().is_some();
        let budget = self.budget(signed_in);
        let doc = checked_document(&request.query, &budget, signed_in)?;
        if !self.introspection.allows(signed_in) {
            if let Some(pos) = introspection_field(&doc) {
                let why = if self.introspection == Introspection::Off {
                    "introspection is turned off on this server; graphql/schema.graphql documents the API"
                } else {
                    "introspection needs a signed-in caller; graphql/schema.graphql documents the API"
                };
                return Err(refusal(ErrorCode::IntrospectionDisabled, why.into(), Some(pos)));
            }
            request.introspection_mode = IntrospectionMode::Disabled;
        }
        request.set_parsed_query(doc);
        next.run(ctx, request).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let signed_in = ctx.data_opt::<Actor>().is_some();
        let budget = self.budget(signed_in);
        if result.complexity > budget.max_complexity {
            return Err(vec![too_big(format!(
                "the query's complexity is {} (lists count their page size); at most {} is allowed{}",
                result.complexity,
                budget.max_complexity,
                sign_in_hint(signed_in)
            ))]);
        }
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        match tokio::time::timeout(self.timeout, next.run(ctx, operation_name)).await {
            Ok(resp) => resp,
            Err(_) => Response::from_errors(vec![refusal(
                ErrorCode::Timeout,
                format!("the request took longer than {} seconds and was stopped", self.timeout.as_secs_f32()),
                None,
            )]),
        }
    }
}

fn sign_in_hint(signed_in: bool) -> &'static str {
    if signed_in { "" } else { " without signing in" }
}

/// Parses `query` and checks it against `budget`; returns it with every fragment inlined.
pub fn checked_document(query: &str, budget: &Budget, signed_in: bool) -> ServerResult<ExecutableDocument> {
    let hint = sign_in_hint(signed_in);
    if query.len() > budget.max_bytes {
        return Err(too_big(format!(
            "the query document is {} bytes; at most {} are allowed{hint}",
            query.len(),
            budget.max_bytes
        )));
    }
    let doc = async_graphql::parser::parse_query(query).map_err(|e| {
        let e = ServerError::from(e);
        refusal(ErrorCode::BadRequest, crate::errors::truncated(e.message), e.locations.first().copied())
    })?;
    let written = Written::count(&doc);
    let operations = doc.operations.iter().count();
    for (what, n, max) in [
        ("operations", operations, budget.max_operations),
        ("fragments", doc.fragments.len(), budget.max_fragments),
        ("aliases", written.aliases, budget.max_aliases),
        ("directives", written.directives, budget.max_directives),
    ] {
        if n > max {
            return Err(too_big(format!("the query has {n} {what}; at most {max} are allowed{hint}")));
        }
    }
    let mut expansion = Expansion { doc: &doc, sizes: HashMap::new() };
    let mut selections = 0usize;
    for (_, op) in doc.operations.iter() {
        selections = selections.saturating_add(expansion.size(&op.node.selection_set.node, 1)?.0);
    }
    if selections > budget.max_selections {
        return Err(too_big(format!(
            "the query selects {selections} fields once its fragments are expanded; at most {} are allowed{hint}",
            budget.max_selections
        )));
    }
    Ok(inline_fragments(doc))
}

/// Where an operation asks for `__schema` or `__type` (only the root type has them), in a
/// document whose fragments are inlined.
fn introspection_field(doc: &ExecutableDocument) -> Option<Pos> {
    fn in_root(set: &SelectionSet) -> Option<Pos> {
        set.items.iter().find_map(|s| match &s.node {
            Selection::Field(f) => matches!(f.node.name.node.as_str(), "__schema" | "__type").then_some(f.pos),
            Selection::InlineFragment(i) => in_root(&i.node.selection_set.node),
            Selection::FragmentSpread(_) => None,
        })
    }
    doc.operations.iter().find_map(|(_, op)| in_root(&op.node.selection_set.node))
}

/// What the document has as written (not expanded).
#[derive(Default)]
struct Written {
    aliases: usize,
    directives: usize,
}

impl Written {
    fn count(doc: &ExecutableDocument) -> Written {
        let mut w = Written::default();
        for (_, op) in doc.operations.iter() {
            w.directives += op.node.directives.len();
            w.selection_set(&op.node.selection_set.node);
        }
        for f in doc.fragments.values() {
            w.directives += f.node.directives.len();
            w.selection_set(&f.node.selection_set.node);
        }
        w
    }

    /// Nesting is bounded by the parser's own recursion limit, so recursing here is safe.
    fn selection_set(&mut self, set: &SelectionSet) {
        for s in &set.items {
            self.directives += s.node.directives().len();
            match &s.node {
                Selection::Field(f) => {
                    self.aliases += usize::from(f.node.alias.is_some());
                    self.selection_set(&f.node.selection_set.node);
                }
                Selection::InlineFragment(i) => self.selection_set(&i.node.selection_set.node),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
}

/// Deepest nesting of selection sets accepted once fragments are expanded (async-graphql's own
/// recursion limit). The parser bounds nesting per definition only: a chain of fragments, each
/// nesting deep and spreading the next at its bottom, would otherwise recurse here, in the
/// inlining and in async-graphql's validation deep enough to overflow a worker's stack.
const MAX_NESTING: usize = 32;

/// Counts selections with fragments expanded, each fragment's size and height computed once.
struct Expansion<'a> {
    doc: &'a ExecutableDocument,
    /// `(selections, height)` per fragment; `None` while it is being counted: meeting it again is
    /// a cycle.
    sizes: HashMap<&'a Name, Option<(usize, usize)>>,
}

impl<'a> Expansion<'a> {
    /// The selections in `set` and how many levels of selection sets it holds, refusing a set
    /// whose bottom lies deeper than [`MAX_NESTING`] below the operation (`depth` is its level).
    fn size(&mut self, set: &'a SelectionSet, depth: usize) -> ServerResult<(usize, usize)> {
        let too_deep = || {
            refusal(
                ErrorCode::QueryTooLarge,
                format!("the query nests more than {MAX_NESTING} levels once its fragments are expanded"),
                None,
            )
        };
        if set.items.is_empty() {
            return Ok((0, 0));
        }
        if depth > MAX_NESTING {
            return Err(too_deep());
        }
        let (mut n, mut height) = (0usize, 0usize);
        for s in &set.items {
            let (inner, inner_height) = match &s.node {
                Selection::Field(f) => self.size(&f.node.selection_set.node, depth + 1)?,
                Selection::InlineFragment(i) => self.size(&i.node.selection_set.node, depth + 1)?,
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    match self.sizes.get(name) {
                        // Counted before, maybe from a shallower place: its height still counts here.
                        Some(Some((_, h))) if depth + h > MAX_NESTING => return Err(too_deep()),
                        Some(Some(counted)) => *counted,
                        Some(None) => {
                            return Err(refusal(
                                ErrorCode::BadRequest,
                                format!("fragment {name} spreads itself, directly or through other fragments"),
                                Some(spread.pos),
                            ));
                        }
                        // Unknown fragments are left to async-graphql's validation to name.
                        None => match self.doc.fragments.get_key_value(name) {
                            None => (0, 0),
                            Some((key, fragment)) => {
                                self.sizes.insert(key, None);
                                let counted = self.size(&fragment.node.selection_set.node, depth + 1)?;
                                self.sizes.insert(key, Some(counted));
                                counted
                            }
                        },
                    }
                }
            };
            n = n.saturating_add(1).saturating_add(inner);
            height = height.max(inner_height);
        }
        Ok((n, height + 1))
    }
}

/// Replaces every spread of a known fragment by the same selection as an inline fragment on the
/// fragment's type (the spread's directives kept): the same query, which async-graphql's limits
/// can measure. Spreads of unknown fragments stay for validation to name. Only called on a
/// document whose expanded size was checked and which has no fragment cycles.
fn inline_fragments(mut doc: ExecutableDocument) -> ExecutableDocument {
    let fragments = std::mem::take(&mut doc.fragments);
    match &mut doc.operations {
        DocumentOperations::Single(op) => inline_selection_set(&mut op.node.selection_set.node, &fragments),
        DocumentOperations::Multiple(ops) => {
            for op in ops.values_mut() {
                inline_selection_set(&mut op.node.selection_set.node, &fragments);
            }
        }
    }
    doc
}

fn inline_selection_set(set: &mut SelectionSet, fragments: &HashMap<Name, Positioned<FragmentDefinition>>) {
    for s in &mut set.items {
        let pos = s.pos;
        match &mut s.node {
            Selection::Field(f) => inline_selection_set(&mut f.node.selection_set.node, fragments),
            Selection::InlineFragment(i) => inline_selection_set(&mut i.node.selection_set.node, fragments),
            Selection::FragmentSpread(spread) => {
                let Some(fragment) = fragments.get(&spread.node.fragment_name.node) else { continue };
                let mut selection_set = fragment.node.selection_set.clone();
                inline_selection_set(&mut selection_set.node, fragments);
                let inline = InlineFragment {
                    type_condition: Some(fragment.node.type_condition.clone()),
                    directives: std::mem::take(&mut spread.node.directives),
                    selection_set,
                };
                *s = Positioned::new(Selection::InlineFragment(Positioned::new(inline, spread.pos)), pos);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_within_the_byte_budget_is_refused_without_exhausting_the_stack() {
        // A test thread has the same 2 MiB stack as a tokio worker.
        let budget = Budget::SIGNED_IN;
        let levels = budget.max_bytes / 5;
        let doc = format!("{}{}", "{ a ".repeat(levels), "}".repeat(levels));
        assert!(doc.len() <= budget.max_bytes);
        let e = checked_document(&doc, &budget, true).unwrap_err();
        assert!(e.message.len() < 1_000, "{}", e.message);
        let e = checked_document(&"[".repeat(budget.max_bytes), &budget, true).unwrap_err();
        assert!(e.message.len() < 1_000, "{}", e.message);
    }

    #[test]
    fn a_chain_of_deep_fragments_is_refused_without_exhausting_the_stack() {
        // Each fragment nests 60 levels and spreads the next at its bottom: within the parser's
        // per-definition limit and the byte budget, 6,000 levels once expanded.
        let budget = Budget::SIGNED_IN;
        let fragments = budget.max_fragments;
        let mut doc = String::from("{ ...F0 }");
        for i in 0..fragments {
            let next = if i + 1 < fragments { format!("...F{} ", i + 1) } else { "b ".into() };
            doc += &format!(" fragment F{i} on Query {{ {}{next}{} }}", "a { ".repeat(60), "}".repeat(60));
        }
        assert!(doc.len() <= budget.max_bytes, "{} bytes", doc.len());
        let e = checked_document(&doc, &budget, true).unwrap_err();
        assert!(e.message.contains("nests more than"), "{}", e.message);
        // Shallow chains are fine, and so is a deep fragment spread from a shallow place first.
        let ok = "{ ...A x { ...A } } fragment A on Query { a { b { c } } }";
        assert!(checked_document(ok, &budget, true).is_ok());
    }

    #[test]
    fn expansion_is_counted_once_per_fragment_and_inlined() {
        let doc = "query { ...B } fragment A on Query { a b } fragment B on Query { ...A x { ...A } }";
        let inlined = checked_document(doc, &Budget::SIGNED_IN, true).unwrap();
        assert!(inlined.fragments.is_empty());
        // B = spread(A: 2 fields) + x(1 + spread(A)) = 1 + 2 + 1 + 1 + 2 = 7, plus B's own spread.
        let tight = Budget { max_selections: 7, ..Budget::SIGNED_IN };
        assert!(checked_document(doc, &tight, true).is_err());
        let enough = Budget { max_selections: 8, ..Budget::SIGNED_IN };
        assert!(checked_document(doc, &enough, true).is_ok());
    }
}
