//! One-time sign-in links to the My Tickets portal, sent by email: for customers who wrote in
//! by email and never set a password, and for those who forgot theirs.
//!
//! Asking for a link answers the same whether or not the address belongs to a customer, so the
//! form cannot be used to learn who writes to the helpdesk. A link works once, for
//! [`SIGN_IN_LINK_TTL_MS`]; signing in with it retires the customer's other links. Only the
//! token's SHA-256 identifies a link; the token itself stays sealed in the row just until the
//! job runner hands it to the [`SignInLinkSender`] (the email channel), which may run in another
//! process or after a restart, and is dropped once the email is sent or given up.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use switchboard_domain::{EmailAddress, Millis, SendStatus, SignInLinkId, WorkspaceId};
use switchboard_store::CustomerSignInLinkRecord;

use crate::auth::{client_key, named_workspace, random_token, rate_limited, sha256_hex};
use crate::outbox::attempt_result;
use crate::sealed::SecretKind;
use crate::{DeliveryOutcome, Desk, DeskError, LoginResult, SIGN_IN_FAILURE_WINDOW_MS};

/// How long a sign-in link works.
pub const SIGN_IN_LINK_TTL_MS: Millis = 15 * 60_000;
/// At most this many links per customer in [`SIGN_IN_LINK_TTL_MS`]; further requests send
/// nothing (and still answer the same), so the form cannot flood anyone's inbox.
pub const SIGN_IN_LINKS_PER_WINDOW: i64 = 3;
/// At most this many link requests per client (whatever the addresses) in the sign-in window:
/// one caller cannot walk a list of addresses, or fill many inboxes.
pub const MAX_CLIENT_LINK_REQUESTS: i64 = 20;
/// `sign_in_attempts.kind` of a request for a link.
const LINK_REQUEST: &str = "link_request";
/// Sign-in link tokens start with this, so a pasted one is recognisable.
pub const SIGN_IN_TOKEN_PREFIX: &str = "sbl_";
/// Used, failed and expired links are kept this long after expiry (for support questions
/// such as "I never got the link"), then deleted.
const SIGN_IN_LINK_KEEP_MS: Millis = 7 * 86_400_000;

/// Everything the email channel needs to send one sign-in link.
#[derive(Clone)]
pub struct SignInLinkMail {
    /// The link's row; the job runner's key.
    pub link_id: SignInLinkId,
    /// Send attempts made before this one.
    pub attempts: i64,
    pub workspace_id: WorkspaceId,
    /// The workspace's name, for the email's wording.
    pub workspace_name: String,
    pub customer_name: String,
    pub customer_email: String,
    /// The secret the link carries: the portal's `/portal/sign-in#<token>`.
    pub token: String,
    pub expires_at: Millis,
}

impl std::fmt::Debug for SignInLinkMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInLinkMail")
            .field("link_id", &self.link_id)
            .field("attempts", &self.attempts)
            .field("workspace_id", &self.workspace_id)
            .field("customer_email", &self.customer_email)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// The channel that delivers sign-in links (email), registered with the job runner.
pub trait SignInLinkSender: Send + Sync {
    /// Sends one link; never panics on bad data, answers `Failed` instead.
    fn send_sign_in_link<'a>(
        &'a self,
        mail: &'a SignInLinkMail,
    ) -> Pin<Box<dyn Future<Output = DeliveryOutcome> + Send + 'a>>;
}

fn bad_link() -> DeskError {
    DeskError::Unauthenticated(
        "this sign-in link is not valid: it was already used, it expired, or it is mistyped".into(),
    )
}

impl Desk {
    /// Sends a one-time sign-in link to every customer with this email address (in
    /// `workspace`, a slug, when given). Answers `Ok` alike whether or not there is such a
    /// customer; only a malformed address is an error, and a `client` (the caller's address;
    /// `None` in-process) that asked too often is refused whatever the address.
    pub async fn request_customer_sign_in_link(
        &self,
        email: &str,
        workspace: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<(), DeskError> {
        let email = EmailAddress::parse("email", email)?;
        let now = self.now();
        let key = client_key(client);
        // One read for the lookup and the client's count; the write lock only to record.
        let (found, asked) = {
            let mut tx = self.store().read().await?;
            let found = tx.contacts_by_email(email.as_str()).await?;
            let asked = match client {
                Some(_) => {
                    tx.count_client_sign_in_attempts(LINK_REQUEST, &key, now - SIGN_IN_FAILURE_WINDOW_MS).await?
                }
                None => 0,
            };
            (found, asked)
        };
        let workspace = named_workspace(workspace);
        let found: Vec<_> =
            found.into_iter().filter(|(_, slug)| workspace.as_ref().is_none_or(|w| w == slug)).collect();
        // Counted whatever the address, so the refusal says nothing about it.
        if asked >= MAX_CLIENT_LINK_REQUESTS {
            return Err(rate_limited("too many sign-in link requests from your network"));
        }
        // In-process requests for unknown addresses end here, without taking the write lock.
        if found.is_empty() && client.is_none() {
            return Ok(());
        }
        let mut tx = self.store().write().await?;
        if client.is_some() {
            tx.record_sign_in_attempt(LINK_REQUEST, email.as_str(), &key, now).await?;
        }
        for (contact, slug) in found {
            let recent =
                tx.count_sign_in_links_since(contact.workspace_id, contact.id, now - SIGN_IN_LINK_TTL_MS).await?;
            if recent >= SIGN_IN_LINKS_PER_WINDOW {
                tracing::info!(workspace = %slug, contact = contact.id.0, "sign-in link not sent: rate limit");
                continue;
            }
            let token = random_token(SIGN_IN_TOKEN_PREFIX);
            let sealed = self.seal(SecretKind::SignInLink, &token)?;
            tx.insert_sign_in_link(
                contact.workspace_id,
                contact.id,
                &sha256_hex(&token),
                &sealed,
                now,
                now + SIGN_IN_LINK_TTL_MS,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Signs a customer in with the token of a sign-in link; the link (and any other of theirs)
    /// stops working.
    pub async fn login_customer_with_link(&self, token: &str) -> Result<LoginResult, DeskError> {
        let token = token.trim();
        if !token.starts_with(SIGN_IN_TOKEN_PREFIX) || token.len() > 200 {
            return Err(bad_link());
        }
        let now = self.now();
        let mut tx = self.store().write().await?;
        let link = tx.use_sign_in_link(&sha256_hex(token), now).await?.ok_or_else(bad_link)?;
        tx.retire_sign_in_links(link.workspace_id, link.contact_id, now).await?;
        let contact = tx.contact_by_id(link.workspace_id, link.contact_id).await?.ok_or_else(bad_link)?;
        tx.commit().await?;
        self.contact_login(&contact, now)
    }

    /// Sign-in links whose email is due now, with the attempts made so far; for the job runner.
    pub async fn due_customer_sign_in_links(&self, limit: i64) -> Result<Vec<(SignInLinkId, i64)>, DeskError> {
        Ok(self.store().read().await?.due_sign_in_links(self.now(), limit).await?)
    }

    /// A link whose email is still to send, with what the email needs; `None` once it is sent,
    /// given up, used or expired (an expired link's email is given up here).
    pub async fn customer_sign_in_mail(&self, link_id: SignInLinkId) -> Result<Option<SignInLinkMail>, DeskError> {
        let mut tx = self.store().read().await?;
        let Some(link) = tx.sign_in_link_by_id(link_id).await?.filter(|l| l.send_status == SendStatus::Pending) else {
            return Ok(None);
        };
        let live = link.used_at.is_none() && link.expires_at > self.now();
        let Some(sealed) = link.token_sealed.as_deref().filter(|_| live) else {
            drop(tx);
            return self.give_up_sign_in_mail(&link, "the link expired or was used before its email went out").await;
        };
        let workspace = tx.workspace_by_id(link.workspace_id).await?;
        let contact = tx.contact_by_id(link.workspace_id, link.contact_id).await?;
        let Some((contact, email)) = contact.and_then(|c| c.email.clone().map(|e| (c, e))) else {
            drop(tx);
            return self.give_up_sign_in_mail(&link, "the customer no longer has an email address").await;
        };
        Ok(Some(SignInLinkMail {
            link_id: link.id,
            attempts: link.send_attempts,
            workspace_id: link.workspace_id,
            workspace_name: workspace.name,
            customer_name: contact.name,
            customer_email: email,
            token: self.open_sealed(SecretKind::SignInLink, sealed)?,
            expires_at: link.expires_at,
        }))
    }

    async fn give_up_sign_in_mail(
        &self,
        link: &CustomerSignInLinkRecord,
        why: &str,
    ) -> Result<Option<SignInLinkMail>, DeskError> {
        let mut tx = self.store().write().await?;
        tx.record_sign_in_link_attempt(link.id, link.send_attempts, SendStatus::Failed, self.now(), Some(why)).await?;
        tx.commit().await?;
        Ok(None)
    }

    /// Records a send attempt: sent, retried after the outbox's backoff (while the link is
    /// still valid), or failed for good. False when another worker recorded this attempt.
    pub async fn record_customer_sign_in_attempt(
        &self,
        mail: &SignInLinkMail,
        outcome: &DeliveryOutcome,
        retry_base_ms: i64,
    ) -> Result<bool, DeskError> {
        let now = self.now();
        let (mut status, mut next, error) = attempt_result(outcome, mail.attempts, retry_base_ms, now);
        // A retry that would come after the link expired is not worth waiting for.
        if status == SendStatus::Pending && next >= mail.expires_at {
            (status, next) = (SendStatus::Failed, now);
        }
        let mut tx = self.store().write().await?;
        let recorded =
            tx.record_sign_in_link_attempt(mail.link_id, mail.attempts, status, next, error.as_deref()).await?;
        tx.commit().await?;
        Ok(recorded)
    }

    /// Deletes sign-in links a week after they expired, and sign-in attempts that no longer
    /// count; returns how many links.
    pub async fn prune_customer_sign_in_links(&self) -> Result<u64, DeskError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let n = tx.prune_sign_in_links(now - SIGN_IN_LINK_KEEP_MS).await?;
        tx.prune_sign_in_attempts(now - SIGN_IN_FAILURE_WINDOW_MS).await?;
        tx.commit().await?;
        Ok(n)
    }
}
