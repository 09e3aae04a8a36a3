//! Rows for customers' sign-in links.

use switchboard_domain::*;

/// A one-time sign-in link to the My Tickets portal, and the state of the email carrying it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerSignInLinkRecord {
    pub id: SignInLinkId,
    pub workspace_id: WorkspaceId,
    pub contact_id: ContactId,
    pub token_hash: String,
    /// The token sealed for the email; cleared once the email is sent, given up or the link used.
    pub token_sealed: Option<String>,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub used_at: Option<Millis>,
    #[sqlx(try_from = "String")]
    pub send_status: SendStatus,
    pub send_attempts: i64,
    pub next_attempt_at: Millis,
    pub last_error: Option<String>,
}
