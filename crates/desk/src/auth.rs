//! Sign-in and credentials: argon2 password hashes, JWT access tokens, hashed API tokens.

use std::net::IpAddr;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use sha2::{Digest, Sha256};
use switchboard_domain::*;
use switchboard_store::{ApiTokenRecord, ContactRecord, UserRecord};

use crate::{Desk, DeskError, require};

/// Keys and lifetimes for access tokens.
#[derive(Clone)]
pub struct AuthConfig {
    /// HMAC key for JWT access tokens; every replica must share it.
    pub jwt_secret: Vec<u8>,
    /// How long an access token stays valid, in seconds.
    pub token_ttl_secs: i64,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("jwt_secret", &"<redacted>")
            .field("token_ttl_secs", &self.token_ttl_secs)
            .finish()
    }
}

/// The caller's password, as the account page needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordState {
    pub has_password: bool,
    /// Changing it asks for the current password.
    pub current_required: bool,
}

/// The caller's own account as a password change reads it.
struct OwnPassword {
    /// The access token's subject: `user:ID` or `contact:ID`.
    subject: String,
    email: Option<String>,
    hash: Option<String>,
    current_required: bool,
}

/// What a successful sign-in returns.
#[derive(Debug, Clone)]
pub struct LoginResult {
    /// The bearer token to send as `Authorization: Bearer ...`.
    pub token: String,
    /// When it stops working.
    pub expires_at: Millis,
    /// The actor the token stands for.
    pub actor: Actor,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Claims {
    /// `user:ID` or `contact:ID`.
    sub: String,
    ws: i64,
    iat: i64,
    exp: i64,
    /// When it was issued, to the millisecond, against `sessions_valid_after`; tokens from
    /// before this claim existed fall back to `iat`.
    #[serde(default)]
    iat_ms: Millis,
}

impl Claims {
    fn issued_ms(&self) -> Millis {
        if self.iat_ms > 0 { self.iat_ms } else { self.iat * 1000 }
    }
}

const API_TOKEN_PREFIX: &str = "sbt_";
/// Failed password sign-ins allowed per email address and client in
/// [`SIGN_IN_FAILURE_WINDOW_MS`]; then that client cannot sign in with that address until the
/// window has moved on. Per client, so nobody can lock someone else out by failing on purpose.
pub const MAX_SIGN_IN_FAILURES: i64 = 10;
/// Failed password sign-ins allowed per client, whatever the address, in the window: one
/// caller cannot try a password against many addresses. High enough for an office behind one
/// address.
pub const MAX_CLIENT_SIGN_IN_FAILURES: i64 = 100;
/// The window sign-in attempts are counted over.
pub const SIGN_IN_FAILURE_WINDOW_MS: Millis = 15 * 60_000;
/// `sign_in_attempts.kind` of a wrong password (or an unknown address).
const PASSWORD_FAILURE: &str = "password_failure";
const MIN_PASSWORD_CHARS: usize = 8;

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(field: &str, password: &str) -> Result<String, DeskError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(DeskError::invalid(field, format!("must be at least {MIN_PASSWORD_CHARS} characters")));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DeskError::Internal(format!("password hash: {e}")))
}

fn verify_password(hash: Option<&str>, password: &str) -> bool {
    // With no account, still spend the time of a verification so timing does not reveal which
    // emails exist. The dummy is a hash of a random string, computed once.
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(b"no account here", &salt).map(|h| h.to_string()).unwrap_or_default()
    });
    let (hash, real) = match hash {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let ok = PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok());
    ok && real
}

/// A secret token: `prefix` and 256 random bits, URL-safe.
pub(crate) fn random_token(prefix: &str) -> String {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
}

pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The key sign-in limits count a caller by: its IP address, for IPv6 its /64 (one
/// subscriber's usual allocation, all of it theirs to rotate through); '' in-process.
pub(crate) fn client_key(client: Option<IpAddr>) -> String {
    match client {
        None => String::new(),
        Some(IpAddr::V4(a)) => a.to_string(),
        Some(IpAddr::V6(a)) => match a.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = a.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// A refusal by a sign-in limit, saying when to try again.
pub(crate) fn rate_limited(what: &str) -> DeskError {
    DeskError::RateLimited(format!("{what}; try again in {} minutes", SIGN_IN_FAILURE_WINDOW_MS / 60_000))
}

fn bad_login() -> DeskError {
    DeskError::Unauthenticated("invalid email or password".into())
}

/// A workspace a sign-in may continue in, offered once the password fits accounts in several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceChoice {
    /// What to send back as `workspace`.
    pub slug: String,
    /// The workspace's name, for the person choosing.
    pub name: String,
}

/// A password sign-in checks at least this many accounts (the dummy hash stands in for the
/// missing ones), so its time does not tell whether, or in how many workspaces, an address has
/// an account. An address with more accounts than this costs one verification more per account.
pub const SIGN_IN_ACCOUNTS_CHECKED: usize = 3;

/// The candidates `password` fits, each `(account, its hash)`, checked at the cost of at
/// least `at_least` verifications. Argon2 is CPU-heavy on purpose, so it runs on the blocking
/// pool rather than holding up the async workers.
async fn accounts_fitting<T: Send + 'static>(
    candidates: Vec<(T, Option<String>)>,
    password: &str,
    at_least: usize,
) -> Result<Vec<T>, DeskError> {
    // One check at a time per core: each holds ~19 MiB for Argon2, and sign-ins need no account,
    // so without a bound a flood of them would fill memory and the blocking pool that mail
    // parsing and outbound DNS lookups share.
    static CHECKS: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    });
    let slot = CHECKS.acquire().await.map_err(|e| DeskError::Internal(format!("password check: {e}")))?;
    let password = password.to_string();
    let fits = tokio::task::spawn_blocking(move || fitting(candidates, &password, at_least, verify_password))
        .await
        .map_err(|e| DeskError::Internal(format!("password check: {e}")));
    drop(slot);
    fits
}

/// The work of [`accounts_fitting`], with the verification passed in so tests can count it.
fn fitting<T>(
    candidates: Vec<(T, Option<String>)>,
    password: &str,
    at_least: usize,
    verify: impl Fn(Option<&str>, &str) -> bool,
) -> Vec<T> {
    for _ in candidates.len()..at_least {
        // Kept from being optimised away: this time is the point.
        std::hint::black_box(verify(None, password));
    }
    // Every candidate is checked, even after a match, so the time stays the same.
    let checked: Vec<(T, bool)> =
        candidates.into_iter().map(|(account, hash)| (account, verify(hash.as_deref(), password))).collect();
    checked.into_iter().filter(|(_, fits)| *fits).map(|(account, _)| account).collect()
}

/// The slug `workspace` names as the caller typed it (slugs are lowercase); blank is the same
/// as not naming one.
pub(crate) fn named_workspace(workspace: Option<&str>) -> Option<String> {
    workspace.map(|w| w.trim().to_lowercase()).filter(|w| !w.is_empty())
}

pub(crate) fn user_actor(u: &UserRecord) -> Actor {
    Actor { workspace_id: u.workspace_id, kind: ActorKind::User { id: u.id, role: u.role }, label: u.name.clone() }
}

pub(crate) fn contact_actor(c: &ContactRecord) -> Actor {
    Actor { workspace_id: c.workspace_id, kind: ActorKind::Contact { id: c.id }, label: c.name.clone() }
}

fn token_actor(t: &ApiTokenRecord) -> Actor {
    let scopes = t.scopes.split(',').filter_map(Permission::from_key).collect();
    Actor {
        workspace_id: t.workspace_id,
        kind: ActorKind::ApiToken { id: t.id, scopes },
        label: format!("API token: {}", t.name),
    }
}

impl Desk {
    /// Runs one password sign-in for `email` from `client` under the failure limits: refused
    /// while this client has too many recent failures with the address (known or unknown
    /// alike, so the limit reveals nothing) or with any address; a wrong password counts one
    /// more; success (or a proven password that needs a choice of workspace) clears this
    /// client's count for the address.
    ///
    /// The attempt is recorded and committed before it is counted and the password checked, so
    /// concurrent guesses see each other: of N at once, only those within the limit go on.
    /// Refused attempts count too, so hammering keeps a client out.
    async fn throttled_sign_in<T>(
        &self,
        email: &EmailAddress,
        client: Option<IpAddr>,
        sign_in: impl AsyncFnOnce() -> Result<T, DeskError>,
    ) -> Result<T, DeskError> {
        let now = self.now();
        let since = now - SIGN_IN_FAILURE_WINDOW_MS;
        let key = client_key(client);
        let mut tx = self.store().write().await?;
        tx.record_sign_in_attempt(PASSWORD_FAILURE, email.as_str(), &key, now).await?;
        tx.commit().await?;
        let mut tx = self.store().read().await?;
        if tx.count_sign_in_attempts(PASSWORD_FAILURE, email.as_str(), &key, since).await? > MAX_SIGN_IN_FAILURES {
            return Err(rate_limited("too many failed sign-ins with this email address"));
        }
        if client.is_some()
            && tx.count_client_sign_in_attempts(PASSWORD_FAILURE, &key, since).await? > MAX_CLIENT_SIGN_IN_FAILURES
        {
            return Err(rate_limited("too many failed sign-ins from your network"));
        }
        drop(tx);
        let result = sign_in().await;
        // A choice of workspaces comes only after the password was proven: not a failure.
        if matches!(result, Ok(_) | Err(DeskError::ChooseWorkspace(_))) {
            let mut tx = self.store().write().await?;
            tx.clear_sign_in_attempts(PASSWORD_FAILURE, email.as_str(), &key).await?;
            tx.commit().await?;
        }
        result
    }

    /// A customer's session: an access token for `c`, issued as of `started` (when the sign-in
    /// began, so a password reset during it ends it too).
    pub(crate) fn contact_login(&self, c: &ContactRecord, started: Millis) -> Result<LoginResult, DeskError> {
        let (token, expires_at) = self.issue_token_at(format!("contact:{}", c.id), c.workspace_id, started)?;
        Ok(LoginResult { token, expires_at, actor: contact_actor(c) })
    }

    /// The `sessions_valid_after` that ends every session issued so far, one issued in this
    /// very millisecond included.
    pub(crate) fn session_cutoff(&self) -> Millis {
        self.now() + 1
    }

    fn issue_token_at(&self, subject: String, ws: WorkspaceId, now: Millis) -> Result<(String, Millis), DeskError> {
        let exp = now / 1000 + self.inner.auth.token_ttl_secs;
        let claims = Claims { sub: subject, ws: ws.0, iat: now / 1000, exp, iat_ms: now };
        let token =
            jsonwebtoken::encode(&Header::default(), &claims, &EncodingKey::from_secret(&self.inner.auth.jwt_secret))
                .map_err(|e| DeskError::Internal(format!("jwt encode: {e}")))?;
        Ok((token, exp * 1000))
    }

    /// The one account among `found` (account, workspace slug) that `password` fits, in
    /// `workspace` (a slug) when named. A wrong password, an unknown address and an unknown
    /// workspace fail alike and in the same time; a password that fits accounts in several
    /// workspaces gets [`DeskError::ChooseWorkspace`] with those workspaces only.
    async fn account_for_password<T: Send + 'static>(
        &self,
        found: Vec<(T, String)>,
        workspace: Option<&str>,
        password: &str,
        hash: impl Fn(&T) -> Option<String>,
        workspace_of: impl Fn(&T) -> WorkspaceId,
    ) -> Result<T, DeskError> {
        let workspace = named_workspace(workspace);
        let candidates = found
            .into_iter()
            .filter(|(_, slug)| workspace.as_ref().is_none_or(|w| w == slug))
            .map(|(account, _)| {
                let h = hash(&account);
                (account, h)
            })
            .collect();
        let mut fitting = accounts_fitting(candidates, password, SIGN_IN_ACCOUNTS_CHECKED).await?;
        if fitting.len() > 1 {
            let mut tx = self.store().read().await?;
            let mut choices = Vec::with_capacity(fitting.len());
            for account in &fitting {
                let w = tx.workspace_by_id(workspace_of(account)).await?;
                choices.push(WorkspaceChoice { slug: w.slug, name: w.name });
            }
            return Err(DeskError::ChooseWorkspace(choices));
        }
        fitting.pop().ok_or_else(bad_login)
    }

    /// Signs a staff member in by email and password. The address may belong to staff of
    /// several workspaces: the password decides whose account it is, and when it fits more
    /// than one the answer is [`DeskError::ChooseWorkspace`], to be followed by a sign-in
    /// naming one of them as `workspace` (a slug). `client` is the caller's address, for the
    /// failure limits (`None` in-process).
    pub async fn login_staff(
        &self,
        email: &str,
        password: &str,
        workspace: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<LoginResult, DeskError> {
        let started = self.now();
        let email = EmailAddress::parse("email", email).map_err(|_| bad_login())?;
        let user = self
            .throttled_sign_in(&email, client, async || {
                let found = self.store().read().await?.users_by_email(email.as_str()).await?;
                let found = found.into_iter().filter(|(u, _)| u.active).collect();
                self.account_for_password(found, workspace, password, |u| u.password_hash.clone(), |u| u.workspace_id)
                    .await
            })
            .await?;
        let (token, expires_at) = self.issue_token_at(format!("user:{}", user.id), user.workspace_id, started)?;
        Ok(LoginResult { token, expires_at, actor: user_actor(&user) })
    }

    /// Signs an external customer in to the portal by email and password; several workspaces
    /// are handled as in [`Desk::login_staff`].
    pub async fn login_customer(
        &self,
        email: &str,
        password: &str,
        workspace: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<LoginResult, DeskError> {
        let started = self.now();
        let email = EmailAddress::parse("email", email).map_err(|_| bad_login())?;
        let contact = self
            .throttled_sign_in(&email, client, async || {
                let found = self.store().read().await?.contacts_by_email(email.as_str()).await?;
                self.account_for_password(found, workspace, password, |c| c.password_hash.clone(), |c| c.workspace_id)
                    .await
            })
            .await?;
        self.contact_login(&contact, started)
    }

    /// Turns a bearer token (a JWT access token or an API token) into the actor it stands for.
    pub async fn authenticate(&self, bearer: &str) -> Result<Actor, DeskError> {
        let invalid = || DeskError::Unauthenticated("invalid or expired token".into());
        let mut tx = self.store().read().await?;
        if bearer.starts_with(API_TOKEN_PREFIX) {
            let token = tx
                .api_token_by_hash(&sha256_hex(bearer))
                .await?
                .filter(|t| t.revoked_at.is_none())
                .ok_or_else(invalid)?;
            drop(tx);
            // "Last used" to the minute is enough, and spares every API call a write.
            let now = self.now();
            if token.last_used_at.is_none_or(|t| now - t >= 60_000) {
                let mut w = self.store().write().await?;
                w.touch_api_token(token.id, now).await?;
                w.commit().await?;
            }
            return Ok(token_actor(&token));
        }
        let mut validation = Validation::default();
        validation.leeway = 5;
        let data =
            jsonwebtoken::decode::<Claims>(bearer, &DecodingKey::from_secret(&self.inner.auth.jwt_secret), &validation)
                .map_err(|_| invalid())?;
        let ws = WorkspaceId(data.claims.ws);
        let (kind, id) = data.claims.sub.split_once(':').ok_or_else(invalid)?;
        let id: i64 = id.parse().map_err(|_| invalid())?;
        // Signed out everywhere, password changed or reset, deactivated: older tokens are dead.
        let issued = data.claims.issued_ms();
        let current = |valid_after: Option<Millis>| valid_after.is_none_or(|v| issued >= v);
        match kind {
            "user" => {
                let u = tx.user_by_id(ws, UserId(id)).await?;
                let u = u.filter(|u| u.active && current(u.sessions_valid_after)).ok_or_else(invalid)?;
                Ok(user_actor(&u))
            }
            "contact" => {
                let c = tx.contact_by_id(ws, ContactId(id)).await?;
                let c = c.filter(|c| current(c.sessions_valid_after)).ok_or_else(invalid)?;
                Ok(contact_actor(&c))
            }
            _ => Err(invalid()),
        }
    }

    /// Ends every sign-in of the caller (staff or customer), on every device, this one
    /// included. API tokens are revoked one by one instead.
    pub async fn sign_out_everywhere(&self, actor: &Actor) -> Result<(), DeskError> {
        let cutoff = self.session_cutoff();
        let mut tx = self.store().write().await?;
        match actor.kind {
            ActorKind::User { id, .. } => tx.end_user_sessions(actor.workspace_id, id, cutoff).await?,
            ActorKind::Contact { id } => tx.end_contact_sessions(actor.workspace_id, id, cutoff).await?,
            _ => return Err(DeskError::invalid("token", "API tokens are revoked in the list of API tokens")),
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether the caller has a password, and whether changing it asks for the current one:
    /// not for a customer who signed in with an emailed link in the last
    /// [`SIGN_IN_LINK_TTL_MS`](crate::SIGN_IN_LINK_TTL_MS) (they just proved they own the inbox:
    /// that is how a forgotten password is reset, and how link-only customers set a first one).
    pub async fn password_state(&self, actor: &Actor) -> Result<PasswordState, DeskError> {
        Ok(match self.own_password(actor).await? {
            Some(p) => PasswordState { has_password: p.hash.is_some(), current_required: p.current_required },
            None => PasswordState { has_password: false, current_required: true },
        })
    }

    /// The caller's account and what a password change needs of it, in one read; `None` for
    /// callers without an account (API tokens, the system).
    async fn own_password(&self, actor: &Actor) -> Result<Option<OwnPassword>, DeskError> {
        let ws = actor.workspace_id;
        let mut tx = self.store().read().await?;
        Ok(Some(match actor.kind {
            ActorKind::User { id, .. } => {
                let u = tx.user_by_id(ws, id).await?.ok_or(DeskError::NotFound("user"))?;
                OwnPassword {
                    subject: format!("user:{id}"),
                    email: Some(u.email),
                    hash: u.password_hash,
                    current_required: true,
                }
            }
            ActorKind::Contact { id } => {
                let c = tx.contact_by_id(ws, id).await?.ok_or(DeskError::NotFound("contact"))?;
                let since = self.now() - crate::SIGN_IN_LINK_TTL_MS;
                let current_required = !tx.link_sign_in_since(ws, id, since).await?;
                OwnPassword {
                    subject: format!("contact:{id}"),
                    email: c.email,
                    hash: c.password_hash,
                    current_required,
                }
            }
            _ => return Ok(None),
        }))
    }

    /// Changes the caller's own password (staff, or a customer's portal password) after
    /// checking the current one, under the same failure limits as signing in, unless
    /// [`Desk::password_state`] says it is not asked for. Every other sign-in ends; the
    /// returned session replaces the caller's.
    pub async fn change_own_password(
        &self,
        actor: &Actor,
        current: &str,
        new: &str,
        client: Option<IpAddr>,
    ) -> Result<LoginResult, DeskError> {
        let hash = hash_password("newPassword", new)?;
        let ws = actor.workspace_id;
        let Some(OwnPassword { subject, email, hash: old_hash, current_required }) = self.own_password(actor).await?
        else {
            return Err(DeskError::invalid("token", "API tokens have no password"));
        };
        let email = email.as_deref().map(|e| EmailAddress::parse("email", e)).transpose()?;
        let Some(email) = email else {
            return Err(DeskError::invalid("newPassword", "this account has no email address to sign in with"));
        };
        // Not asked for just after signing in by emailed link: a reset, or a first password.
        if current_required {
            if old_hash.is_none() {
                let why = "sign in with a new emailed link, then set your password within 15 minutes";
                return Err(DeskError::invalid("currentPassword", why));
            }
            let checked = self
                .throttled_sign_in(&email, client, async || {
                    let fits = accounts_fitting(vec![((), old_hash.clone())], current, 1).await?;
                    if fits.is_empty() { Err(bad_login()) } else { Ok(()) }
                })
                .await;
            match checked {
                // Not UNAUTHENTICATED: the caller is signed in, and clients sign out on that code.
                Err(DeskError::Unauthenticated(_)) => {
                    return Err(DeskError::invalid("currentPassword", "is not your current password"));
                }
                other => other?,
            }
        }
        let cutoff = self.session_cutoff();
        let mut tx = self.store().write().await?;
        match actor.kind {
            ActorKind::User { id, .. } => tx.set_user_password(ws, id, &hash, cutoff).await?,
            ActorKind::Contact { id } => tx.set_contact_password(ws, id, &hash, cutoff).await?,
            _ => {}
        }
        tx.commit().await?;
        let (token, expires_at) = self.issue_token_at(subject, ws, cutoff)?;
        Ok(LoginResult { token, expires_at, actor: actor.clone() })
    }

    /// Creates an integrator API token with `scopes` (permission keys); the token is returned
    /// once and only its SHA-256 is kept.
    pub async fn create_api_token(
        &self,
        actor: &Actor,
        name: &str,
        scopes: &[String],
    ) -> Result<(String, ApiTokenRecord), DeskError> {
        require(actor, Permission::Admin)?;
        let name = validate_name("name", name)?;
        let mut perms = Vec::new();
        for (i, key) in scopes.iter().enumerate() {
            let p = Permission::from_key(key).ok_or_else(|| {
                DeskError::invalid(&format!("scopes[{i}]"), format!("unknown permission key {key:?}"))
            })?;
            if !perms.contains(&p) {
                perms.push(p);
            }
        }
        if perms.is_empty() {
            return Err(DeskError::invalid("scopes", "name at least one permission key"));
        }
        let token = random_token(API_TOKEN_PREFIX);
        let scopes = perms.iter().map(|p| p.key()).collect::<Vec<_>>().join(",");
        let mut tx = self.store().write().await?;
        let rec = tx
            .insert_api_token(
                actor.workspace_id,
                &name,
                &sha256_hex(&token),
                &token[..12],
                &scopes,
                actor.user_id(),
                self.now(),
            )
            .await?;
        tx.commit().await?;
        Ok((token, rec))
    }

    /// The workspace's API tokens (never the tokens themselves).
    pub async fn list_api_tokens(&self, actor: &Actor) -> Result<Vec<ApiTokenRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        Ok(self.store().read().await?.list_api_tokens(actor.workspace_id).await?)
    }

    /// Revokes an API token; it stops working at once.
    pub async fn revoke_api_token(&self, actor: &Actor, id: ApiTokenId) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        if !tx.revoke_api_token(actor.workspace_id, id, self.now()).await? {
            return Err(DeskError::NotFound("API token"));
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_counted_by_address_and_ipv6_by_its_64() {
        let key = |s: &str| client_key(Some(s.parse().unwrap()));
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7", "a mapped IPv4 address is that address");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:bbbb::9"), key("2001:db8:1:2:aaaa::1"), "one /64 is one client");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(client_key(None), "");
    }

    #[test]
    fn a_sign_in_costs_the_same_whatever_the_number_of_accounts() {
        let run = |hashes: &[Option<&str>]| {
            let calls = std::cell::Cell::new(0);
            let verify = |hash: Option<&str>, password: &str| {
                calls.set(calls.get() + 1);
                hash == Some(password)
            };
            let candidates = hashes.iter().enumerate().map(|(i, h)| (i, h.map(str::to_string))).collect();
            let fits = fitting(candidates, "secret", SIGN_IN_ACCOUNTS_CHECKED, verify);
            (fits, calls.get())
        };
        let n = SIGN_IN_ACCOUNTS_CHECKED;
        assert_eq!(run(&[]), (vec![], n), "no account: dummies only");
        assert_eq!(run(&[Some("secret")]), (vec![0], n));
        assert_eq!(run(&[Some("other"), None]), (vec![], n), "an account without a password costs the same");
        // Every account is checked even after a match, so the time tells nothing either.
        assert_eq!(run(&[Some("secret"), Some("other"), Some("secret")]), (vec![0, 2], n));
        assert_eq!(run(&[Some("x"); 5]), (vec![], 5), "past the padding, one check per account");
    }
}
