//! What the email channel needs from the core: mailboxes (admin settings with write-only
//! secrets), the record of every received message (dedupe, the quarantine, the original's
//! download), threading look-ups, bounces and the acknowledgement rate limit.
//!
//! The adapter in `channels/email` decides everything that can be decided from the message
//! itself; these methods are the few places it needs the database.

use sha2::{Digest, Sha256};
use switchboard_domain::*;
use switchboard_store::email_records::*;
use switchboard_store::*;

use crate::outbox::truncate;
use crate::sealed::SecretKind;
use crate::{Desk, DeskError, NewAttachment, require};

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

fn optional(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
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

impl Desk {
    /// The workspace's mailboxes (secrets stay encrypted or hashed).
    pub async fn email_mailboxes(&self, actor: &Actor) -> Result<Vec<MailboxRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        Ok(self.store().read().await?.list_mailboxes(actor.workspace_id).await?)
    }

    /// Creates (`id` None) or updates a mailbox. Returns it with the inbound-endpoint secret when a
    /// new one was made: it is shown only this once.
    pub async fn save_email_mailbox(
        &self,
        actor: &Actor,
        id: Option<i64>,
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
                .map(|p| self.seal(SecretKind::MailboxPassword, &p))
                .transpose()?,
            imap_folder: optional(&s.imap_folder).unwrap_or_else(|| "INBOX".into()),
            imap_processed_folder: optional(&s.imap_processed_folder),
            imap_host,
            smtp_host,
            smtp_port,
            smtp_security,
            smtp_user: optional(&s.smtp_user),
            smtp_password_enc: optional(&s.smtp_password)
                .map(|p| self.seal(SecretKind::MailboxPassword, &p))
                .transpose()?,
            inbound_secret_hash: secret.as_deref().map(secret_hash),
            ack_enabled: s.ack_enabled,
            ack_template,
        };
        let mut tx = self.store().write().await?;
        // Updating a mailbox that is not the workspace's updates no row: not found.
        let rec = tx.upsert_mailbox(actor.workspace_id, id, &input, self.now()).await.map_err(|e| match e {
            StoreError::NotFound => DeskError::NotFound("mailbox"),
            StoreError::Conflict(_) => DeskError::invalid("address", "another mailbox of this workspace has it"),
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok((rec, secret))
    }

    /// Deletes a mailbox; its tickets stay.
    pub async fn delete_email_mailbox(&self, actor: &Actor, id: i64) -> Result<bool, DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        let done = tx.delete_mailbox(actor.workspace_id, id).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// The mailbox behind the inbound endpoint, when `secret` is its inbound secret.
    pub async fn email_mailbox_for_inbound(&self, id: i64, secret: &str) -> Result<MailboxRecord, DeskError> {
        let bad = || DeskError::Unauthenticated("unknown mailbox or wrong secret".into());
        let m = self.store().read().await?.mailbox_for_inbound(id).await?.ok_or_else(bad)?;
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

    /// Every enabled mailbox with IMAP settings, across workspaces: for the poller.
    pub async fn email_imap_mailboxes(&self) -> Result<Vec<MailboxRecord>, DeskError> {
        Ok(self.store().read().await?.imap_mailboxes().await?)
    }

    /// A mailbox by id within `ws`, for the system's own use (the sender, the poller).
    pub async fn email_mailbox_of(&self, ws: WorkspaceId, id: i64) -> Result<Option<MailboxRecord>, DeskError> {
        Ok(self.store().read().await?.mailbox_by_id(ws, id).await?)
    }

    /// The mailbox a ticket came in through, else the workspace's first enabled one.
    pub async fn email_mailbox_for_ticket(
        &self,
        ws: WorkspaceId,
        ticket: TicketId,
    ) -> Result<Option<MailboxRecord>, DeskError> {
        let mut tx = self.store().read().await?;
        if let Some(id) = tx.ticket_mailbox(ws, ticket).await?
            && let Some(m) = tx.mailbox_by_id(ws, id).await?
        {
            return Ok(Some(m));
        }
        Ok(tx.list_mailboxes(ws).await?.into_iter().find(|m| m.enabled))
    }

    /// The mailbox that sends the workspace's own messages (sign-in links): its first enabled
    /// mailbox with an SMTP server.
    pub async fn email_mailbox_for_notices(&self, ws: WorkspaceId) -> Result<Option<MailboxRecord>, DeskError> {
        let mailboxes = self.store().read().await?.list_mailboxes(ws).await?;
        Ok(mailboxes.into_iter().find(|m| m.enabled && m.smtp_host.is_some()))
    }

    /// The decrypted passwords of a mailbox.
    pub fn email_credentials(&self, m: &MailboxRecord) -> Result<MailboxCredentials, DeskError> {
        let open = |enc: &Option<String>| -> Result<Option<String>, DeskError> {
            enc.as_deref().map(|e| self.open_sealed(SecretKind::MailboxPassword, e)).transpose()
        };
        Ok(MailboxCredentials {
            imap_password: open(&m.imap_password_enc)?,
            smtp_password: open(&m.smtp_password_enc)?,
        })
    }

    /// Moves the poller's cursor once the messages up to `last_uid` are committed.
    pub async fn set_email_imap_cursor(
        &self,
        m: &MailboxRecord,
        uid_validity: i64,
        last_uid: i64,
    ) -> Result<(), DeskError> {
        let mut tx = self.store().write().await?;
        tx.set_imap_cursor(m.workspace_id, m.id, uid_validity, last_uid).await?;
        tx.commit().await?;
        Ok(())
    }

    /// What became of a message this mailbox received before, if it did.
    pub async fn email_received(
        &self,
        mailbox: &MailboxRecord,
        key: &str,
    ) -> Result<Option<EmailMessageRecord>, DeskError> {
        Ok(self.store().read().await?.email_message_by_key(mailbox.id, key).await?)
    }

    /// Records a received message (its original kept in the blob store) and, for a ticket it
    /// opened, that the ticket belongs to this mailbox.
    pub async fn record_received_email(&self, r: &ReceivedEmail<'_>, opened: bool) -> Result<(), DeskError> {
        let sha = self.blobs().put(r.raw).await?;
        let mut tx = self.store().write().await?;
        let m = r.mailbox;
        tx.insert_email_message(&NewEmailMessage {
            workspace_id: m.workspace_id,
            mailbox_id: m.id,
            dedupe_key: r.dedupe_key,
            outcome: r.outcome,
            reason: r.reason,
            from_address: r.from_address,
            subject: r.subject,
            ticket_id: r.ticket_id,
            entry_id: r.entry_id,
            raw_sha256: &sha,
            raw_size: r.raw.len() as i64,
            created_at: self.now(),
        })
        .await?;
        if let (true, Some(t)) = (opened, r.ticket_id) {
            tx.set_ticket_mailbox(m.workspace_id, t, m.id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Received messages with `outcome` (`quarantined`, `auto_reply`, `bounce`, `ticket`), newest first.
    pub async fn email_messages(
        &self,
        actor: &Actor,
        outcome: &str,
        limit: i64,
    ) -> Result<Vec<EmailMessageRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        Ok(self.store().read().await?.list_email_messages(actor.workspace_id, outcome, limit.clamp(1, 500)).await?)
    }

    /// The original bytes of a received message, for admins.
    pub async fn email_original(&self, actor: &Actor, id: i64) -> Result<(EmailMessageRecord, Vec<u8>), DeskError> {
        require(actor, Permission::Admin)?;
        let rec = self
            .store()
            .read()
            .await?
            .email_message_by_id(actor.workspace_id, id)
            .await?
            .ok_or(DeskError::NotFound("email message"))?;
        let bytes = self.blobs().get(&rec.raw_sha256).await?;
        Ok((rec, bytes))
    }

    /// The ticket of the newest of `message_ids` (angle-bracketed Message-IDs) that is one of
    /// the workspace's email entries, ours or the customer's.
    pub async fn email_ticket_by_message_ids(
        &self,
        ws: WorkspaceId,
        message_ids: &[String],
    ) -> Result<Option<TicketId>, DeskError> {
        let mut tx = self.store().read().await?;
        for id in message_ids.iter().rev() {
            if let Some(e) = tx.entry_by_external_id(ws, Channel::Email, id).await? {
                return Ok(Some(e.ticket_id));
            }
        }
        Ok(None)
    }

    /// The ticket numbered `number` when its prefix is `prefix` and `sender` is its requester:
    /// a tag anyone can type must not let a stranger write on someone else's ticket.
    pub async fn email_ticket_by_number(
        &self,
        ws: WorkspaceId,
        prefix: &str,
        number: i64,
        sender: &str,
    ) -> Result<Option<TicketId>, DeskError> {
        let t = self.store().read().await?.ticket_by_number(ws, number).await?;
        Ok(t.filter(|t| t.ticket_prefix.eq_ignore_ascii_case(prefix) && requested_by(t, sender)).map(|t| t.id))
    }

    /// The ticket `id` when it exists and `sender` is its requester (see
    /// [`Desk::email_ticket_by_number`]).
    pub async fn email_ticket_of_requester(
        &self,
        ws: WorkspaceId,
        id: TicketId,
        sender: &str,
    ) -> Result<Option<TicketId>, DeskError> {
        let t = self.store().read().await?.ticket_by_id(ws, id).await?;
        Ok(t.filter(|t| requested_by(t, sender)).map(|t| t.id))
    }

    /// A bounce of the message we sent as `bounced_message_id`: marks that entry's delivery
    /// failed and adds an internal note with the report (and the bounce itself) to its ticket.
    /// Returns the ticket, or `None` when the bounced message is not ours.
    pub async fn record_email_bounce(
        &self,
        ws: WorkspaceId,
        bounced_message_id: &str,
        diagnostic: &str,
        report: &NewAttachment,
    ) -> Result<Option<(TicketId, EntryId)>, DeskError> {
        let diagnostic = truncate(diagnostic, 1000);
        // The failed delivery and the note with the report commit together.
        let mut tx = self.store().write().await?;
        let Some(bounced) = tx.entry_by_external_id(ws, Channel::Email, bounced_message_id).await? else {
            return Ok(None);
        };
        tx.set_entry_delivery(ws, bounced.id, DeliveryStatus::Failed, Some(&diagnostic), None).await?;
        let t = self.load_ticket(&mut tx, ws, bounced.ticket_id).await?;
        let body = validate_body("body", &format!("The reply could not be delivered: {diagnostic}"))?;
        let note = tx
            .insert_entry(&NewEntry {
                workspace_id: ws,
                ticket_id: t.id,
                kind: EntryKind::Note,
                author_user_id: None,
                author_contact_id: None,
                channel: Channel::Email,
                external_message_id: None,
                body,
                delivery_status: None,
                created_at: self.now(),
            })
            .await?;
        self.store_attachments(&mut tx, &t, note, std::slice::from_ref(report)).await?;
        let system = Actor::system(ws);
        self.emit(
            &mut tx,
            &system,
            &t,
            "entry.created",
            serde_json::json!({ "entryId": note.0, "public": false, "bounce": true }),
        )
        .await?;
        tx.commit().await?;
        Ok(Some((t.id, note)))
    }

    /// Deletes acknowledgement records older than any window counts ([`MAX_ACK_WINDOW_MS`]);
    /// the job runner's sweep. Returns how many.
    pub async fn prune_email_acknowledgements(&self) -> Result<u64, DeskError> {
        let mut tx = self.store().write().await?;
        let n = tx.prune_acknowledgements(self.now() - MAX_ACK_WINDOW_MS).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Whether `sender` may get another acknowledgement: fewer than `max` in the last `window_ms`.
    /// Counts this one when it may.
    async fn take_email_acknowledgement(
        &self,
        ws: WorkspaceId,
        sender: &str,
        max: i64,
        window_ms: i64,
    ) -> Result<bool, DeskError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        if tx.count_acknowledgements(ws, sender, now - window_ms.min(MAX_ACK_WINDOW_MS)).await? >= max {
            return Ok(false);
        }
        tx.insert_acknowledgement(ws, sender, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// The longest acknowledgement window counted (longer ones are cut to it); records older than
/// this are pruned.
pub const MAX_ACK_WINDOW_MS: i64 = 86_400_000;

/// The acknowledgement sent when no template is set.
pub const DEFAULT_ACK_TEMPLATE: &str = "Hello {{requester.name}},\n\nWe have received your message and opened ticket \
     {{ticket.number}} ({{ticket.subject}}). Reply to this email to add to it.\n\n{{workspace.name}}";

impl Desk {
    /// Sends a new email ticket's acknowledgement through the outbox, rendered from `template`
    /// (or [`DEFAULT_ACK_TEMPLATE`]), unless `sender` had `max` already within `window_ms`.
    /// Returns whether one was queued.
    pub async fn acknowledge_email_ticket(
        &self,
        ws: WorkspaceId,
        ticket: TicketId,
        template: Option<&str>,
        max: i64,
        window_ms: i64,
    ) -> Result<bool, DeskError> {
        let (t, workspace) = {
            let mut tx = self.store().read().await?;
            let t = self.load_ticket(&mut tx, ws, ticket).await?;
            (t, tx.workspace_by_id(ws).await?)
        };
        let Some(sender) = t.requester_email.clone() else { return Ok(false) };
        if !self.take_email_acknowledgement(ws, &sender, max, window_ms).await? {
            return Ok(false);
        }
        let ctx = crate::follow_ups::template_context(
            &t,
            &workspace.name,
            ActorVars { name: workspace.name.clone(), email: None },
        );
        let body = render_template(template.unwrap_or(DEFAULT_ACK_TEMPLATE), &ctx)?;
        self.reply(&Actor::system(ws), ticket, &body, Vec::new(), None).await?;
        Ok(true)
    }
}

fn requested_by(t: &TicketRecord, sender: &str) -> bool {
    t.requester_email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(sender))
}
