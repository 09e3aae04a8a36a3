//! Integrators' API tokens.

use super::*;

/// An integrator's API token (the token itself is shown only once, at creation).
pub struct ApiToken(pub ApiTokenRecord);

#[Object]
impl ApiToken {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The first characters of the token, to recognise it.
    async fn prefix(&self) -> &str {
        &self.0.token_prefix
    }
    async fn scopes(&self) -> Vec<&str> {
        self.0.scopes.split(',').filter(|s| !s.is_empty()).collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        time_opt(self.0.last_used_at)
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        time_opt(self.0.revoked_at)
    }
}

/// A new API token: `token` is shown this once.
#[derive(SimpleObject)]
pub struct CreatedApiToken {
    pub token: String,
    pub api_token: ApiToken,
}
