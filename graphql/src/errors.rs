//! One place that turns desk errors into GraphQL errors with a stable code.
//!
//! Resolvers return `DeskError` through async-graphql's `?` conversion, which keeps the error as
//! the source. This extension reads it back and sets `extensions.code` (and `field` for
//! validation errors), so no resolver can forget to. Internal causes are logged, never sent.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest};
use async_graphql::{Response, ServerError, Value};
use switchboard_desk::DeskError;

/// The error-code extension; installed by `build_schema`.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

/// The stable code and public message for an error.
fn classify(err: &ServerError) -> (&'static str, Option<String>, Option<String>) {
    match err.source::<DeskError>() {
        Some(DeskError::Unauthenticated(_)) => ("UNAUTHENTICATED", None, None),
        Some(DeskError::Forbidden(_)) => ("FORBIDDEN", None, None),
        Some(DeskError::NotFound(_)) => ("NOT_FOUND", None, None),
        Some(DeskError::Validation(v)) => ("VALIDATION", Some(v.field.clone()), None),
        Some(DeskError::Conflict(_)) => ("CONFLICT", None, None),
        Some(DeskError::Internal(cause)) => {
            tracing::error!(%cause, "internal error in a GraphQL request");
            ("INTERNAL", None, Some("internal error; it has been logged".into()))
        }
        // Errors from async-graphql itself: a malformed document, an unknown field, a value
        // that does not fit the declared type, a depth or complexity limit.
        None => ("BAD_REQUEST", None, None),
    }
}

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut resp = next.run(ctx).await;
        for err in &mut resp.errors {
            let (code, field, message) = classify(err);
            if let Some(m) = message {
                err.message = m;
            }
            let ext = err.extensions.get_or_insert_with(Default::default);
            if ext.get("code").is_none() {
                ext.set("code", Value::from(code));
            }
            if let Some(f) = field {
                ext.set("field", Value::from(f));
            }
        }
        resp
    }
}
