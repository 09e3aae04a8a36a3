//! Who is calling, and what signing in returns.

use super::*;

/// Who is calling.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Viewer {
    /// `user`, `contact` or `api_token`.
    pub kind: String,
    pub name: String,
    /// Permission keys held (none for customers).
    pub permissions: Vec<String>,
    pub user_id: Option<ID>,
    pub contact_id: Option<ID>,
    /// Read by `me` when a password field is asked for.
    #[graphql(skip)]
    pub password: Option<switchboard_desk::PasswordState>,
}

#[ComplexObject]
impl Viewer {
    async fn workspace(&self, ctx: &Context<'_>) -> Result<Workspace, DeskError> {
        Ok(Workspace(desk(ctx).workspace(actor(ctx)?).await?))
    }

    /// Whether the caller has a password to sign in with; customers who only use emailed
    /// links have none until they set one with `changePassword`.
    async fn has_password(&self) -> bool {
        self.password.is_some_and(|p| p.has_password)
    }

    /// Whether `changePassword` needs the current password: not for 15 minutes after a
    /// customer signs in with an emailed link (a forgotten password is reset that way).
    async fn current_password_required(&self) -> bool {
        self.password.is_none_or(|p| p.current_required)
    }
}

/// A signed-in staff member's token.
#[derive(SimpleObject)]
pub struct LoginPayload {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// A signed-in customer's token.
#[derive(SimpleObject)]
pub struct CustomerLoginPayload {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub contact: Contact,
}

/// A fresh session after a password change: the token to use from now on.
#[derive(SimpleObject)]
pub struct Session {
    /// Send as `Authorization: Bearer <token>`; the caller's earlier tokens no longer work.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}
