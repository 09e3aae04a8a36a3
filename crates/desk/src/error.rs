use switchboard_domain::{ErrorCode, ValidationError};
use switchboard_store::StoreError;

use crate::auth::WorkspaceChoice;

/// Why a desk operation refused or failed. Transports map each variant to a stable code.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// Does not exist, or not visible to this actor (the two are never told apart).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// An input was rejected; the error names the field.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The change collides with the current state (a duplicate name, a ticket claimed by someone else).
    #[error("{0}")]
    Conflict(String),
    /// Like [`DeskError::Conflict`], on a named input: the value is taken (a channel account another
    /// workspace linked), so the caller can show the refusal under that field.
    #[error("{}", .0.message)]
    ConflictOn(ValidationError),
    /// The password fits accounts in several workspaces (so it was proven): the caller signs in
    /// again naming one of these.
    #[error("this password signs in to several workspaces; choose one and send its slug as `workspace`")]
    ChooseWorkspace(Vec<WorkspaceChoice>),
    /// Too many attempts (failed sign-ins with one email address); try again later.
    #[error("{0}")]
    RateLimited(String),
    /// The database kept aborting this change to let concurrent changes of the same rows through
    /// (deadlocks, serialization conflicts), more times than the desk reruns it; nothing of it
    /// was saved, and sending it again can succeed. Holds the database's words, for the log.
    #[error("other changes to the same records kept this one from finishing; nothing was saved, send it again")]
    Busy(String),
    /// Something broke on our side; the cause is logged, never shown.
    #[error("internal error")]
    Internal(String),
}

impl DeskError {
    /// A validation error on `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> DeskError {
        DeskError::Validation(ValidationError::new(field, message))
    }

    /// A conflict on `field`: its value is taken.
    pub fn conflict_on(field: &str, message: impl Into<String>) -> DeskError {
        DeskError::ConflictOn(ValidationError::new(field, message))
    }

    /// The code callers read for this error. A workspace choice is `VALIDATION` (on `workspace`),
    /// as callers from before the choice was offered expect.
    pub fn code(&self) -> ErrorCode {
        match self {
            DeskError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            DeskError::Forbidden(_) => ErrorCode::Forbidden,
            DeskError::NotFound(_) => ErrorCode::NotFound,
            DeskError::Validation(_) | DeskError::ChooseWorkspace(_) => ErrorCode::Validation,
            DeskError::Conflict(_) | DeskError::ConflictOn(_) => ErrorCode::Conflict,
            DeskError::RateLimited(_) => ErrorCode::RateLimited,
            DeskError::Busy(_) => ErrorCode::Unavailable,
            DeskError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<StoreError> for DeskError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => DeskError::NotFound("record"),
            StoreError::Conflict(what) => DeskError::Conflict(format!("already exists ({what})")),
            // Bad input the validators let through: a clear refusal the caller can act on (an
            // inbound message is quarantined rather than retried), with the driver's words logged.
            StoreError::Refused(cause) => {
                tracing::warn!(%cause, "the database refused a value");
                DeskError::invalid("input", "holds a value the database cannot store")
            }
            StoreError::Aborted(cause) => DeskError::Busy(cause),
            other => {
                tracing::error!(error = %other, "storage failure");
                DeskError::Internal(other.to_string())
            }
        }
    }
}

impl From<switchboard_search::SearchError> for DeskError {
    fn from(e: switchboard_search::SearchError) -> Self {
        tracing::error!(error = %e, "search engine failure");
        DeskError::Internal(e.to_string())
    }
}
