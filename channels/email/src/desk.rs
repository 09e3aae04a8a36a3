//! The email channel's use cases on the desk: mailboxes (admin settings with write-only
//! secrets), the record of every received message (dedupe, the quarantine, the original's
//! download), threading look-ups, bounces and the acknowledgement rate limit.
//!
//! The adapter decides everything that can be decided from the message itself; these methods
//! are the few places it needs the database, through the desk's channel kit so that its own
//! bookkeeping commits with the ticket.

use std::future::Future;

use sha2::{Digest, Sha256};
use switchboard_desk::channel_kit::{ChannelSecret, require, retry_on_conflict, retrying, template_context, truncate};
use switchboard_desk::domain::*;
use switchboard_desk::store::{NewEntry, StoreError, TicketRecord, Tx};
use switchboard_desk::{Desk, DeskError, InboundMessage, IngestOutcome, LiveEvent, NewAttachment};

use crate::queries;
use crate::records::*;

/// A mailbox's IMAP and SMTP passwords; the label derives their key and never changes.
const MAILBOX_PASSWORD: ChannelSecret =
    ChannelSecret { label: "switchboard mailbox passwords v1", name: "a mailbox password" };

/// A mailbox's settings as an admin submits them. Passwords are write-only: `None` keeps the
/// stored one.
#[derive(Debug, Clone, Default)]
pub struct MailboxSettings {
    pub name: String,
    pub address: String,
    pub enabled: bool,
    pub imap_host: Option<String>,
    pub imap_port: Option<i64>,
    pub imap_security: Option<String>,
    pub imap_user: Option<String>,
    pub imap_password: Option<String>,
    pub imap_folder: Option<String>,
    pub imap_processed_folder: Option<String>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<i64>,
    pub smtp_security: Option<String>,
    pub smtp_user: Option<String>,
    pub smtp_password: Option<String>,
    pub ack_enabled: bool,
    pub ack_template: Option<String>,
    /// Makes a new inbound-endpoint secret (always done for a new mailbox).
    pub rotate_inbound_secret: bool,
}

/// A mailbox's passwords, decrypted for the adapter that logs in with them.
#[derive(Debug, Clone, Default)]
pub struct MailboxCredentials {
    pub imap_password: Option<String>,
    pub smtp_password: Option<String>,
}

/// How a mailbox acknowledges the tickets its mail opens.
#[derive(Debug, Clone, Copy)]
pub struct AcknowledgementPolicy<'a> {
    /// The mailbox's template; [`DEFAULT_ACK_TEMPLATE`] when `None`.
    pub template: Option<&'a str>,
    /// At most this many acknowledgements to one sender within `window_ms`.
    pub max_per_sender: i64,
    pub window_ms: i64,
}

/// A message from a mailbox, as the adapter records it.
#[derive(Debug, Clone)]
pub struct ReceivedEmail<'a> {
    pub mailbox: &'a MailboxRecord,
    pub dedupe_key: &'a str,
    pub outcome: &'a str,
    pub reason: Option<&'a str>,
    pub from_address: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub ticket_id: Option<TicketId>,
    pub entry_id: Option<EntryId>,
    pub raw: &'a [u8],
}

const SECURITY_MODES: [&str; 3] = ["tls", "starttls", "plain"];

fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::new().chain_update(b"switchboard inbound email v1").chain_update(secret).finalize())
}

/// What asking for an original that transcript retention removed answers.
pub const ORIGINAL_REMOVED: &str = "the original of this message was removed by transcript retention";

/// Longest message key stored as it is; longer ones are stored as their hash.
const MAX_STORED_KEY_BYTES: usize = 500;

/// A message's key (its Message-ID or content hash) as stored and looked up: without NULs, and
/// hashed when longer than [`MAX_STORED_KEY_BYTES`], since a unique index cannot hold a key of
/// any length (PostgreSQL refuses index rows over about 2.7 KB) and the same message must always
/// find itself.
fn stored_key(key: &str) -> String {
    let key = without_nul(key.trim());
    if key.len() <= MAX_STORED_KEY_BYTES {
        return key.into_owned();
    }
    format!("sha256:{}", hex::encode(Sha256::digest(key.as_bytes())))
}

fn optional(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| without_nul(s).into_owned())
}

fn security(field: &str, v: &Option<String>, default: &str) -> Result<String, DeskError> {
    let v = optional(v).unwrap_or_else(|| default.to_string()).to_ascii_lowercase();
    if SECURITY_MODES.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(DeskError::invalid(field, "must be tls, starttls or plain"))
    }
}

fn port(field: &str, v: Option<i64>, default: i64) -> Result<i64, DeskError> {
    let v = v.unwrap_or(default);
    if (1..=65535).contains(&v) { Ok(v) } else { Err(DeskError::invalid(field, "must be a port from 1 to 65535")) }
}

/// The longest acknowledgement window counted (longer ones are cut to it); records older than
/// this are pruned.
pub const MAX_ACK_WINDOW_MS: i64 = 86_400_000;

/// The acknowledgement sent when no template is set.
pub const DEFAULT_ACK_TEMPLATE: &str = "Hello {{requester.name}},\n\nWe have received your message and opened ticket \
     {{ticket.number}} ({{ticket.subject}}). Reply to this email to add to it.\n\n{{workspace.name}}";

fn requested_by(t: &TicketRecord, sender: &str) -> bool {
    t.requester_email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(sender))
}

/// The email channel's use cases on the desk: mailboxes, received messages, threading look-ups,
/// bounces and acknowledgements. Implemented for [`Desk`]; bring it into scope to call them.
pub trait EmailDesk {
    /// The workspace's mailboxes (secrets stay encrypted or hashed).
    fn email_mailboxes(&self, actor: &Actor) -> impl Future<Output = Result<Vec<MailboxRecord>, DeskError>> + Send;

    /// Creates (`id` None) or updates a mailbox. Returns it with the inbound-endpoint secret when a
    /// new one was made: it is shown only this once.
    fn save_email_mailbox(
        &self,
        actor: &Actor,
        id: Option<ChannelAccountId>,
        s: &MailboxSettings,
    ) -> impl Future<Output = Result<(MailboxRecord, Option<String>), DeskError>> + Send;

    /// Deletes a mailbox; its tickets stay.
    fn delete_email_mailbox(
        &self,
        actor: &Actor,
        id: ChannelAccountId,
    ) -> impl Future<Output = Result<bool, DeskError>> + Send;

    /// The mailbox behind the inbound endpoint, when `secret` is its inbound secret.
    fn email_mailbox_for_inbound(
        &self,
        id: ChannelAccountId,
        secret: &str,
    ) -> impl Future<Output = Result<MailboxRecord, DeskError>> + Send;

    /// Every enabled mailbox with IMAP settings, across workspaces: for the poller.
    fn email_imap_mailboxes(&self) -> impl Future<Output = Result<Vec<MailboxRecord>, DeskError>> + Send;

    /// A mailbox by id within `ws`, for the system's own use (the sender, the poller).
    fn email_mailbox_of(
        &self,
        ws: WorkspaceId,
        id: ChannelAccountId,
    ) -> impl Future<Output = Result<Option<MailboxRecord>, DeskError>> + Send;

    /// The mailbox a ticket came in through, else the workspace's first enabled one.
    fn email_mailbox_for_ticket(
        &self,
        ws: WorkspaceId,
        ticket: TicketId,
    ) -> impl Future<Output = Result<Option<MailboxRecord>, DeskError>> + Send;

    /// The mailbox that sends the workspace's own messages (sign-in links): its first enabled
    /// mailbox with an SMTP server.
    fn email_mailbox_for_notices(
        &self,
        ws: WorkspaceId,
    ) -> impl Future<Output = Result<Option<MailboxRecord>, DeskError>> + Send;

    /// The decrypted passwords of a mailbox.
    fn email_credentials(&self, m: &MailboxRecord) -> Result<MailboxCredentials, DeskError>;

    /// Moves the poller's cursor once the messages up to `last_uid` are committed.
    fn set_email_imap_cursor(
        &self,
        m: &MailboxRecord,
        uid_validity: i64,
        last_uid: i64,
    ) -> impl Future<Output = Result<(), DeskError>> + Send;

    /// What became of a message the workspace's mailboxes received before, if one did.
    fn email_received(
        &self,
        mailbox: &MailboxRecord,
        key: &str,
    ) -> impl Future<Output = Result<Option<EmailMessageRecord>, DeskError>> + Send;

    /// Records a message that opened or joined no ticket (quarantined, an auto-reply, a bounce),
    /// its original kept in the blob store.
    fn record_received_email(&self, r: &ReceivedEmail<'_>) -> impl Future<Output = Result<(), DeskError>> + Send;

    /// Takes in a message that goes on a ticket, with the mailbox's bookkeeping in the same
    /// transaction: the record of the message, the new ticket's link to this mailbox, and its
    /// acknowledgement (an outbox row the sender delivers later, unless `ack` is `None` or the
    /// sender had enough of them). A crash leaves all of it or none, and a redelivered message
    /// finds its record and acknowledges nothing again. `r`'s outcome, ticket and entry are
    /// taken from the ingest.
    fn ingest_email(
        &self,
        r: &ReceivedEmail<'_>,
        msg: &InboundMessage,
        ack: Option<AcknowledgementPolicy<'_>>,
    ) -> impl Future<Output = Result<IngestOutcome, DeskError>> + Send;

    /// Received messages with `outcome` (`quarantined`, `auto_reply`, `bounce`, `ticket`), newest first.
    fn email_messages(
        &self,
        actor: &Actor,
        outcome: &str,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<EmailMessageRecord>, DeskError>> + Send;

    /// The original bytes of a received message, for admins; a `CONFLICT` saying so once
    /// transcript retention removed it.
    fn email_original(
        &self,
        actor: &Actor,
        id: ChannelMessageId,
    ) -> impl Future<Output = Result<(EmailMessageRecord, Vec<u8>), DeskError>> + Send;

    /// The ticket of the newest of `message_ids` (angle-bracketed Message-IDs) that is one of
    /// the workspace's email entries, ours or the customer's.
    fn email_ticket_by_message_ids(
        &self,
        ws: WorkspaceId,
        message_ids: &[String],
    ) -> impl Future<Output = Result<Option<TicketId>, DeskError>> + Send;

    /// The ticket numbered `number` when its prefix is `prefix` and `sender` is its requester:
    /// a tag anyone can type must not let a stranger write on someone else's ticket.
    fn email_ticket_by_number(
        &self,
        ws: WorkspaceId,
        prefix: &str,
        number: i64,
        sender: &str,
    ) -> impl Future<Output = Result<Option<TicketId>, DeskError>> + Send;

    /// The ticket `id` when it exists and `sender` is its requester (see
    /// [`Desk::email_ticket_by_number`]).
    fn email_ticket_of_requester(
        &self,
        ws: WorkspaceId,
        id: TicketId,
        sender: &str,
    ) -> impl Future<Output = Result<Option<TicketId>, DeskError>> + Send;

    /// A bounce (whose own id is `bounce_id`: its Message-ID or dedupe key) of the message we
    /// sent as `bounced_message_id`: marks that entry's delivery failed and adds an internal note
    /// with the report (and the bounce itself) to its ticket. Idempotent like every inbound
    /// message: the note carries `bounce_id` under the entries' unique (channel, external id), so
    /// a bounce delivered twice, even at the same moment, finds the first note. Returns the
    /// ticket and the note, or `None` when the bounced message is not ours.
    fn record_email_bounce(
        &self,
        ws: WorkspaceId,
        bounce_id: &str,
        bounced_message_id: &str,
        diagnostic: &str,
        report: &NewAttachment,
    ) -> impl Future<Output = Result<Option<(TicketId, EntryId)>, DeskError>> + Send;

    /// Deletes acknowledgement records older than any window counts ([`MAX_ACK_WINDOW_MS`]);
    /// the job runner's sweep. Returns how many.
    fn prune_email_acknowledgements(&self) -> impl Future<Output = Result<u64, DeskError>> + Send;

    /// Sends a new email ticket's acknowledgement through the outbox, rendered from `template`
    /// (or [`DEFAULT_ACK_TEMPLATE`]), unless `sender` had `max` already within `window_ms`.
    /// Returns whether one was queued.
    fn acknowledge_email_ticket(
        &self,
        ws: WorkspaceId,
        ticket: TicketId,
        template: Option<&str>,
        max: i64,
        window_ms: i64,
    ) -> impl Future<Output = Result<bool, DeskError>> + Send;
}

impl EmailDesk for Desk {
    async fn email_mailboxes(&self, actor: &Actor) -> Result<Vec<MailboxRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        Ok(queries::list_mailboxes(&mut self.store().read().await?, actor.workspace_id).await?)
    }

    async fn save_email_mailbox(
        &self,
        actor: &Actor,
        id: Option<ChannelAccountId>,
        s: &MailboxSettings,
    ) -> Result<(MailboxRecord, Option<String>), DeskError> {
        require(actor, Permission::Admin)?;
        let name = validate_name("name", &s.name)?;
        let address = EmailAddress::parse("address", &s.address)?.as_str().to_string();
        let imap_host = optional(&s.imap_host);
        if imap_host.is_some() && optional(&s.imap_user).is_none() {
            return Err(DeskError::invalid("imapUser", "is required with an IMAP host"));
        }
        let ack_template = optional(&s.ack_template);
        if let Some(t) = &ack_template {
            validate_template("ackTemplate", t)?;
        }
        let imap_port = port("imapPort", s.imap_port, 993)?;
        let imap_security = security("imapSecurity", &s.imap_security, "tls")?;
        let smtp_host = optional(&s.smtp_host);
        let smtp_port = port("smtpPort", s.smtp_port, 587)?;
        let smtp_security = security("smtpSecurity", &s.smtp_security, "starttls")?;
        // The admin learns now, not at the first poll, that a host is off limits; the channel
        // checks again when it connects, since DNS answers change.
        for (field, host, port, security, security_field) in [
            ("imapHost", &imap_host, imap_port, &imap_security, "imapSecurity"),
            ("smtpHost", &smtp_host, smtp_port, &smtp_security, "smtpSecurity"),
        ] {
            if let Some(host) = host {
                let cleartext = (security == "plain").then_some(security_field);
                let port = u16::try_from(port).unwrap_or_default();
                self.outbound().check_saved_host(field, host, port, cleartext).await?;
            }
        }
        let secret = (id.is_none() || s.rotate_inbound_secret).then(|| hex::encode(rand::random::<[u8; 24]>()));
        let input = MailboxInput {
            name,
            address,
            enabled: s.enabled,
            imap_port,
            imap_security,
            imap_user: optional(&s.imap_user),
            imap_password_enc: optional(&s.imap_password)
                .map(|p| self.seal_channel_secret(MAILBOX_PASSWORD, &p))
                .transpose()?,
            imap_folder: optional(&s.imap_folder).unwrap_or_else(|| "INBOX".into()),
            imap_processed_folder: optional(&s.imap_processed_folder),
            imap_host,
            smtp_host,
            smtp_port,
            smtp_security,
            smtp_user: optional(&s.smtp_user),
            smtp_password_enc: optional(&s.smtp_password)
                .map(|p| self.seal_channel_secret(MAILBOX_PASSWORD, &p))
                .transpose()?,
            inbound_secret_hash: secret.as_deref().map(secret_hash),
            ack_enabled: s.ack_enabled,
            ack_template,
        };
        retrying(|| async {
            let mut tx = self.store().write().await?;
            // Updating a mailbox that is not the workspace's updates no row: not found.
            let rec = queries::upsert_mailbox(&mut tx, actor.workspace_id, id, &input, self.now()).await.map_err(
                |e| match e {
                    StoreError::NotFound => DeskError::NotFound("mailbox"),
                    StoreError::Conflict(_) => {
                        DeskError::invalid("address", "another mailbox of this workspace has it")
                    }
                    other => other.into(),
                },
            )?;
            tx.commit().await?;
            Ok((rec, secret.clone()))
        })
        .await
    }

    async fn delete_email_mailbox(&self, actor: &Actor, id: ChannelAccountId) -> Result<bool, DeskError> {
        require(actor, Permission::Admin)?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let done = queries::delete_mailbox(&mut tx, actor.workspace_id, id).await?;
            tx.commit().await?;
            Ok(done)
        })
        .await
    }

    async fn email_mailbox_for_inbound(&self, id: ChannelAccountId, secret: &str) -> Result<MailboxRecord, DeskError> {
        let bad = || DeskError::Unauthenticated("unknown mailbox or wrong secret".into());
        let m = queries::mailbox_for_inbound(&mut self.store().read().await?, id).await?.ok_or_else(bad)?;
        let Some(stored) = &m.inbound_secret_hash else { return Err(bad()) };
        // Both sides are hashes of equal length; comparing every byte keeps the time flat.
        let given = secret_hash(secret);
        let same =
            stored.len() == given.len() && stored.bytes().zip(given.bytes()).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0;
        if !same || !m.enabled {
            return Err(bad());
        }
        Ok(m)
    }

    async fn email_imap_mailboxes(&self) -> Result<Vec<MailboxRecord>, DeskError> {
        Ok(queries::imap_mailboxes(&mut self.store().read().await?).await?)
    }

    async fn email_mailbox_of(
        &self,
        ws: WorkspaceId,
        id: ChannelAccountId,
    ) -> Result<Option<MailboxRecord>, DeskError> {
        Ok(queries::mailbox_by_id(&mut self.store().read().await?, ws, id).await?)
    }

    async fn email_mailbox_for_ticket(
        &self,
        ws: WorkspaceId,
        ticket: TicketId,
    ) -> Result<Option<MailboxRecord>, DeskError> {
        let mut tx = self.store().read().await?;
        if let Some(id) = queries::ticket_mailbox(&mut tx, ws, ticket).await?
            && let Some(m) = queries::mailbox_by_id(&mut tx, ws, id).await?
        {
            return Ok(Some(m));
        }
        Ok(queries::list_mailboxes(&mut tx, ws).await?.into_iter().find(|m| m.enabled))
    }

    async fn email_mailbox_for_notices(&self, ws: WorkspaceId) -> Result<Option<MailboxRecord>, DeskError> {
        let mailboxes = queries::list_mailboxes(&mut self.store().read().await?, ws).await?;
        Ok(mailboxes.into_iter().find(|m| m.enabled && m.smtp_host.is_some()))
    }

    fn email_credentials(&self, m: &MailboxRecord) -> Result<MailboxCredentials, DeskError> {
        let open = |enc: &Option<String>| -> Result<Option<String>, DeskError> {
            enc.as_deref().map(|e| self.open_channel_secret(MAILBOX_PASSWORD, e)).transpose()
        };
        Ok(MailboxCredentials {
            imap_password: open(&m.imap_password_enc)?,
            smtp_password: open(&m.smtp_password_enc)?,
        })
    }

    async fn set_email_imap_cursor(
        &self,
        m: &MailboxRecord,
        uid_validity: i64,
        last_uid: i64,
    ) -> Result<(), DeskError> {
        retrying(|| async {
            let mut tx = self.store().write().await?;
            queries::set_imap_cursor(&mut tx, m.workspace_id, m.id, uid_validity, last_uid).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn email_received(
        &self,
        mailbox: &MailboxRecord,
        key: &str,
    ) -> Result<Option<EmailMessageRecord>, DeskError> {
        Ok(queries::email_message_by_key(&mut self.store().read().await?, mailbox.workspace_id, &stored_key(key))
            .await?)
    }

    async fn record_received_email(&self, r: &ReceivedEmail<'_>) -> Result<(), DeskError> {
        let sha = self.blobs().put(r.raw).await?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            insert_received_email(self, &mut tx, r, &sha).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn ingest_email(
        &self,
        r: &ReceivedEmail<'_>,
        msg: &InboundMessage,
        ack: Option<AcknowledgementPolicy<'_>>,
    ) -> Result<IngestOutcome, DeskError> {
        let m = r.mailbox;
        // The mailbox's adapter, not the system: it may ingest, never administer.
        let actor = Actor::channel(m.workspace_id, Channel::Email, Some(m.id));
        let sha = self.blobs().put(r.raw).await?;
        retry_on_conflict(|| async {
            let mut tx = self.store().write().await?;
            let (outcome, mut events) = self.ingest_in_tx(&mut tx, &actor, msg).await?;
            let record = ReceivedEmail {
                outcome: "ticket",
                reason: None,
                ticket_id: Some(outcome.ticket_id),
                entry_id: Some(outcome.entry_id),
                ..r.clone()
            };
            insert_received_email(self, &mut tx, &record, &sha).await?;
            if outcome.opened {
                tx.set_ticket_channel_account(m.workspace_id, outcome.ticket_id, m.id).await?;
                if let Some(policy) = ack {
                    events.extend(acknowledge_in(self, &mut tx, m.workspace_id, outcome.ticket_id, policy).await?);
                }
            }
            tx.commit().await?;
            self.publish_live(events);
            Ok(outcome)
        })
        .await
    }

    async fn email_messages(
        &self,
        actor: &Actor,
        outcome: &str,
        limit: i64,
    ) -> Result<Vec<EmailMessageRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        Ok(queries::list_email_messages(
            &mut self.store().read().await?,
            actor.workspace_id,
            outcome,
            limit.clamp(1, 500),
        )
        .await?)
    }

    async fn email_original(
        &self,
        actor: &Actor,
        id: ChannelMessageId,
    ) -> Result<(EmailMessageRecord, Vec<u8>), DeskError> {
        require(actor, Permission::Admin)?;
        let rec = queries::email_message_by_id(&mut self.store().read().await?, actor.workspace_id, id)
            .await?
            .ok_or(DeskError::NotFound("email message"))?;
        let Some(sha) = &rec.raw_sha256 else {
            return Err(DeskError::Conflict(ORIGINAL_REMOVED.into()));
        };
        let bytes = self.blobs().get(sha).await?;
        Ok((rec, bytes))
    }

    async fn email_ticket_by_message_ids(
        &self,
        ws: WorkspaceId,
        message_ids: &[String],
    ) -> Result<Option<TicketId>, DeskError> {
        let mut tx = self.store().read().await?;
        for id in message_ids.iter().rev() {
            if let Some(e) = tx.entry_by_external_id(ws, Channel::Email, &without_nul(id)).await? {
                return Ok(Some(e.ticket_id));
            }
        }
        Ok(None)
    }

    async fn email_ticket_by_number(
        &self,
        ws: WorkspaceId,
        prefix: &str,
        number: i64,
        sender: &str,
    ) -> Result<Option<TicketId>, DeskError> {
        let t = self.store().read().await?.ticket_by_number(ws, number).await?;
        Ok(t.filter(|t| t.ticket_prefix.eq_ignore_ascii_case(prefix) && requested_by(t, sender)).map(|t| t.id))
    }

    async fn email_ticket_of_requester(
        &self,
        ws: WorkspaceId,
        id: TicketId,
        sender: &str,
    ) -> Result<Option<TicketId>, DeskError> {
        let t = self.store().read().await?.ticket_by_id(ws, id).await?;
        Ok(t.filter(|t| requested_by(t, sender)).map(|t| t.id))
    }

    async fn record_email_bounce(
        &self,
        ws: WorkspaceId,
        bounce_id: &str,
        bounced_message_id: &str,
        diagnostic: &str,
        report: &NewAttachment,
    ) -> Result<Option<(TicketId, EntryId)>, DeskError> {
        let diagnostic = truncate(&without_nul(diagnostic), 1000);
        let (bounce_id, bounced_id) = (stored_key(bounce_id), without_nul(bounced_message_id));
        if bounce_id.is_empty() {
            return Err(DeskError::invalid("bounceId", "must not be empty"));
        }
        retry_on_conflict(|| record_email_bounce_once(self, ws, &bounce_id, &bounced_id, &diagnostic, report)).await
    }

    async fn prune_email_acknowledgements(&self) -> Result<u64, DeskError> {
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let n = queries::prune_acknowledgements(&mut tx, self.now() - MAX_ACK_WINDOW_MS).await?;
            tx.commit().await?;
            Ok(n)
        })
        .await
    }

    async fn acknowledge_email_ticket(
        &self,
        ws: WorkspaceId,
        ticket: TicketId,
        template: Option<&str>,
        max: i64,
        window_ms: i64,
    ) -> Result<bool, DeskError> {
        let policy = AcknowledgementPolicy { template, max_per_sender: max, window_ms };
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let events = acknowledge_in(self, &mut tx, ws, ticket, policy).await?;
            tx.commit().await?;
            let queued = !events.is_empty();
            self.publish_live(events);
            Ok(queued)
        })
        .await
    }
}

async fn insert_received_email(desk: &Desk, tx: &mut Tx, r: &ReceivedEmail<'_>, sha: &str) -> Result<(), DeskError> {
    let m = r.mailbox;
    let (key, reason) = (stored_key(r.dedupe_key), r.reason.map(without_nul));
    let (from, subject) = (r.from_address.map(without_nul), r.subject.map(without_nul));
    queries::insert_email_message(
        tx,
        &NewEmailMessage {
            workspace_id: m.workspace_id,
            mailbox_id: m.id,
            dedupe_key: &key,
            outcome: r.outcome,
            reason: reason.as_deref(),
            from_address: from.as_deref(),
            subject: subject.as_deref(),
            ticket_id: r.ticket_id,
            entry_id: r.entry_id,
            raw_sha256: sha,
            raw_size: r.raw.len() as i64,
            created_at: desk.now(),
        },
    )
    .await?;
    Ok(())
}

async fn record_email_bounce_once(
    desk: &Desk,
    ws: WorkspaceId,
    bounce_id: &str,
    bounced_message_id: &str,
    diagnostic: &str,
    report: &NewAttachment,
) -> Result<Option<(TicketId, EntryId)>, DeskError> {
    // The failed delivery and the note with the report commit together.
    let mut tx = desk.store().write().await?;
    if let Some(note) = tx.entry_by_external_id(ws, Channel::Email, bounce_id).await? {
        return Ok(Some((note.ticket_id, note.id)));
    }
    let Some(bounced) = tx.entry_by_external_id(ws, Channel::Email, bounced_message_id).await? else {
        return Ok(None);
    };
    tx.set_entry_delivery(ws, bounced.id, DeliveryStatus::Failed, Some(diagnostic), None).await?;
    let t = desk.ticket_in_tx(&mut tx, ws, bounced.ticket_id).await?;
    let body = validate_body("body", &format!("The reply could not be delivered: {diagnostic}"))?;
    let note = tx
        .insert_entry(&NewEntry {
            workspace_id: ws,
            ticket_id: t.id,
            kind: EntryKind::Note,
            author_user_id: None,
            author_contact_id: None,
            channel: Channel::Email,
            external_message_id: Some(bounce_id.to_string()),
            body,
            delivery_status: None,
            created_at: desk.now(),
        })
        .await?;
    desk.store_attachments_in_tx(&mut tx, &t, note, std::slice::from_ref(report)).await?;
    // The mailbox's adapter records the report, as it records the mail it reads.
    let adapter = Actor::channel(ws, Channel::Email, t.channel_account_id).for_requester(t.requester_id);
    desk.emit_in_tx(
        &mut tx,
        &adapter,
        &t,
        EventKind::EntryCreated,
        serde_json::json!({ "entryId": note.0, "public": false, "bounce": true }),
    )
    .await?;
    tx.commit().await?;
    Ok(Some((t.id, note)))
}

/// Queues the acknowledgement (a system reply and its outbox row) in the caller's
/// transaction, counting it against the sender's limit there too. Returns the live events of
/// the reply, none when nothing was queued. A template that cannot be rendered sends nothing
/// and is logged: it must not keep the ticket out.
async fn acknowledge_in(
    desk: &Desk,
    tx: &mut Tx,
    ws: WorkspaceId,
    ticket: TicketId,
    policy: AcknowledgementPolicy<'_>,
) -> Result<Vec<LiveEvent>, DeskError> {
    let t = desk.ticket_in_tx(tx, ws, ticket).await?;
    let Some(sender) = t.requester_email.clone() else { return Ok(Vec::new()) };
    let now = desk.now();
    let since = now - policy.window_ms.min(MAX_ACK_WINDOW_MS);
    if queries::count_acknowledgements(tx, ws, &sender, since).await? >= policy.max_per_sender {
        return Ok(Vec::new());
    }
    let workspace = tx.workspace_by_id(ws).await?;
    let ctx = template_context(&t, &workspace.name, ActorVars { name: workspace.name.clone(), email: None });
    let template = policy.template.unwrap_or(DEFAULT_ACK_TEMPLATE);
    let body = match render_template(template, &ctx).and_then(|b| validate_body("ackTemplate", &b)) {
        Ok(body) => body,
        Err(e) => {
            tracing::warn!(error = %e, ticket = ticket.0, "email acknowledgement not sent");
            return Ok(Vec::new());
        }
    };
    queries::insert_acknowledgement(tx, ws, &sender, now).await?;
    // Sent by the mailbox's adapter for the requester it acknowledges, not by the system.
    let adapter = Actor::channel(ws, Channel::Email, t.channel_account_id).for_requester(t.requester_id);
    let (_, events) = desk.reply_in_tx(tx, &adapter, ticket, &body).await?;
    Ok(events)
}
