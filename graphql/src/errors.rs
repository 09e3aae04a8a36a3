//! One place that turns desk errors into GraphQL errors with a stable code.
//!
//! Resolvers return `DeskError` through async-graphql's `?` conversion, which keeps the error as
//! the source. This extension reads it back and sets `extensions.code` (and `field` for
//! validation errors), so no resolver can forget to. Internal causes are logged, never sent.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest, NextSubscribe};
use async_graphql::{Name, Response, Value};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use switchboard_desk::{DeskError, WorkspaceChoice};
use switchboard_domain::ErrorCode;

/// The error-code extension; installed by `build_schema`.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

/// How a desk error reads to API callers.
pub(crate) struct Coded {
    pub code: ErrorCode,
    /// The input at fault, for VALIDATION (and a CONFLICT on a named input).
    pub field: Option<String>,
    /// What the caller is told; internal causes are logged here and replaced.
    pub message: String,
}

/// The one table from desk errors to stable codes, used for top-level errors and for the
/// per-ticket errors inside bulk results alike.
pub(crate) fn coded(e: &DeskError) -> Coded {
    let field = match e {
        DeskError::Validation(v) | DeskError::ConflictOn(v) => Some(v.field.clone()),
        // VALIDATION on `workspace`, as callers from before the choice was offered expect.
        DeskError::ChooseWorkspace(_) => Some("workspace".into()),
        DeskError::Internal(cause) => {
            tracing::error!(%cause, "internal error in a GraphQL request");
            return Coded { code: e.code(), field: None, message: "internal error; it has been logged".into() };
        }
        _ => None,
    };
    Coded { code: e.code(), field, message: e.to_string() }
}

/// `extensions.workspaces` of a sign-in that needs a choice: `[{ slug, name }]`.
fn workspace_choices(choices: &[WorkspaceChoice]) -> Value {
    Value::List(
        choices
            .iter()
            .map(|w| {
                let mut o = async_graphql::indexmap::IndexMap::new();
                o.insert(Name::new("slug"), Value::from(w.slug.as_str()));
                o.insert(Name::new("name"), Value::from(w.name.as_str()));
                Value::Object(o)
            })
            .collect(),
    )
}

/// Longest error message sent: messages quote the caller's input (a syntax error quotes its
/// line), and a megabyte line must not come back.
const MAX_MESSAGE_CHARS: usize = 300;

/// `message`, cut to a length that quotes enough of the caller's input to find the fault.
pub(crate) fn truncated(message: String) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        None => message,
        Some((cut, _)) => format!("{}… (truncated)", &message[..cut]),
    }
}

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut resp = next.run(ctx).await;
        code_errors(&mut resp);
        resp
    }

    /// Subscriptions (and every operation sent over the WebSocket) answer through a stream,
    /// which the `request` hook does not see.
    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream)
            .map(|mut resp| {
                code_errors(&mut resp);
                resp
            })
            .boxed()
    }
}

/// Sets `extensions.code` (and `field`) on every error of a response.
fn code_errors(resp: &mut Response) {
    for err in &mut resp.errors {
        // No desk error inside: async-graphql's own (a malformed document, an unknown field,
        // a value that does not fit its type, a depth or complexity limit).
        let source = err.source::<DeskError>();
        let choices = match source {
            Some(DeskError::ChooseWorkspace(w)) => Some(workspace_choices(w)),
            _ => None,
        };
        let c = match source {
            Some(e) => coded(e),
            None => Coded { code: ErrorCode::BadRequest, field: None, message: err.message.clone() },
        };
        err.message = truncated(c.message);
        let ext = err.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", Value::from(c.code.as_str()));
        }
        if let Some(f) = c.field {
            ext.set("field", Value::from(f));
        }
        if let Some(w) = choices {
            ext.set("workspaces", w);
        }
    }
}
