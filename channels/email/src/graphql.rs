//! GraphQL for the email channel: mailboxes (admins; passwords and the inbound secret are
//! write-only) and the received-mail log, where admins find quarantined messages and why.
//! [`EmailQuery`] and [`EmailMutation`] are merged into the schema by the server.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_desk::DeskError;
use switchboard_desk::domain::ChannelAccountId;

use crate::records::{EmailMessageRecord, MailboxRecord};
use crate::{EmailDesk, MailboxSettings};
use switchboard_graphql::{actor, desk, id, parse_id, time};

/// A mailbox customers write to: how it is read (IMAP, or the inbound endpoint) and how replies
/// are sent (SMTP). Passwords are never shown, only whether one is set.
#[derive(SimpleObject)]
pub struct EmailMailbox {
    pub id: ID,
    pub name: String,
    /// The address replies come from.
    pub address: String,
    pub enabled: bool,
    pub imap_host: Option<String>,
    pub imap_port: i64,
    /// `tls`, `starttls` or `plain`.
    pub imap_security: String,
    pub imap_user: Option<String>,
    pub imap_password_set: bool,
    pub imap_folder: String,
    /// Where taken messages are moved; they are only marked seen without one.
    pub imap_processed_folder: Option<String>,
    pub smtp_host: Option<String>,
    pub smtp_port: i64,
    pub smtp_security: String,
    pub smtp_user: Option<String>,
    pub smtp_password_set: bool,
    /// Where an MTA or a provider posts raw messages, with the inbound secret as a bearer token.
    pub inbound_path: String,
    /// Sends an acknowledgement when mail opens a ticket.
    pub ack_enabled: bool,
    /// The acknowledgement's template (a canned-response template); the default when empty.
    pub ack_template: Option<String>,
}

impl From<MailboxRecord> for EmailMailbox {
    fn from(m: MailboxRecord) -> Self {
        EmailMailbox {
            id: id(m.id.0),
            inbound_path: format!("/inbound/email/{}", m.id),
            name: m.name,
            address: m.address,
            enabled: m.enabled,
            imap_host: m.imap_host,
            imap_port: m.imap_port,
            imap_security: m.imap_security,
            imap_user: m.imap_user,
            imap_password_set: m.imap_password_enc.is_some(),
            imap_folder: m.imap_folder,
            imap_processed_folder: m.imap_processed_folder,
            smtp_host: m.smtp_host,
            smtp_port: m.smtp_port,
            smtp_security: m.smtp_security,
            smtp_user: m.smtp_user,
            smtp_password_set: m.smtp_password_enc.is_some(),
            ack_enabled: m.ack_enabled,
            ack_template: m.ack_template,
        }
    }
}

/// A mailbox's settings. Passwords left out keep the stored ones.
#[derive(InputObject)]
pub struct EmailMailboxInput {
    pub name: String,
    pub address: String,
    #[graphql(default = true)]
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
    #[graphql(default)]
    pub ack_enabled: bool,
    pub ack_template: Option<String>,
    /// Makes a new inbound secret (a new mailbox always gets one).
    #[graphql(default)]
    pub rotate_inbound_secret: bool,
}

impl From<EmailMailboxInput> for MailboxSettings {
    fn from(i: EmailMailboxInput) -> Self {
        MailboxSettings {
            name: i.name,
            address: i.address,
            enabled: i.enabled,
            imap_host: i.imap_host,
            imap_port: i.imap_port,
            imap_security: i.imap_security,
            imap_user: i.imap_user,
            imap_password: i.imap_password,
            imap_folder: i.imap_folder,
            imap_processed_folder: i.imap_processed_folder,
            smtp_host: i.smtp_host,
            smtp_port: i.smtp_port,
            smtp_security: i.smtp_security,
            smtp_user: i.smtp_user,
            smtp_password: i.smtp_password,
            ack_enabled: i.ack_enabled,
            ack_template: i.ack_template,
            rotate_inbound_secret: i.rotate_inbound_secret,
        }
    }
}

/// A saved mailbox, with its new inbound secret when one was made: shown this once.
#[derive(SimpleObject)]
pub struct SavedEmailMailbox {
    pub mailbox: EmailMailbox,
    pub inbound_secret: Option<String>,
}

/// What became of a received message.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum EmailOutcome {
    /// It is on a ticket.
    Ticket,
    /// An automatic answer: opened nothing.
    AutoReply,
    /// A delivery report for a reply we sent.
    Bounce,
    /// Unreadable or too large; the reason says why.
    Quarantined,
}

impl EmailOutcome {
    fn key(self) -> &'static str {
        match self {
            EmailOutcome::Ticket => "ticket",
            EmailOutcome::AutoReply => "auto_reply",
            EmailOutcome::Bounce => "bounce",
            EmailOutcome::Quarantined => "quarantined",
        }
    }
}

/// A message a mailbox received.
#[derive(SimpleObject)]
pub struct EmailMessage {
    pub id: ID,
    pub mailbox_id: ID,
    pub outcome: EmailOutcome,
    pub reason: Option<String>,
    pub from_address: Option<String>,
    pub subject: Option<String>,
    pub ticket_id: Option<ID>,
    pub size_bytes: i64,
    pub received_at: DateTime<Utc>,
}

impl From<EmailMessageRecord> for EmailMessage {
    fn from(m: EmailMessageRecord) -> Self {
        let outcome = [EmailOutcome::Ticket, EmailOutcome::AutoReply, EmailOutcome::Bounce]
            .into_iter()
            .find(|o| o.key() == m.outcome)
            .unwrap_or(EmailOutcome::Quarantined);
        EmailMessage {
            id: id(m.id.0),
            mailbox_id: id(m.mailbox_id.0),
            outcome,
            reason: m.reason,
            from_address: m.from_address,
            subject: m.subject,
            ticket_id: m.ticket_id.map(|t| id(t.0)),
            size_bytes: m.raw_size,
            received_at: time(m.created_at),
        }
    }
}

/// The email channel's reads, merged into the schema's `Query`.
#[derive(Debug, Default)]
pub struct EmailQuery;

#[Object]
impl EmailQuery {
    /// The workspace's email mailboxes (admins).
    async fn email_mailboxes(&self, ctx: &Context<'_>) -> Result<Vec<EmailMailbox>, DeskError> {
        Ok(desk(ctx).email_mailboxes(actor(ctx)?).await?.into_iter().map(EmailMailbox::from).collect())
    }

    /// Received mail by outcome, newest first; `QUARANTINED` lists what could not be taken and
    /// why (admins).
    async fn email_messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "EmailOutcome::Quarantined")] outcome: EmailOutcome,
        limit: Option<i64>,
    ) -> Result<Vec<EmailMessage>, DeskError> {
        let list = desk(ctx).email_messages(actor(ctx)?, outcome.key(), limit.unwrap_or(50)).await?;
        Ok(list.into_iter().map(EmailMessage::from).collect())
    }

    /// A received message as it came in (quarantined ones are cut to their first 64 KiB) (admins).
    async fn email_original(&self, ctx: &Context<'_>, id: ID) -> Result<String, DeskError> {
        let (_, bytes) = desk(ctx).email_original(actor(ctx)?, parse_id(&id, "id")?).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// The email channel's changes, merged into the schema's `Mutation`.
#[derive(Debug, Default)]
pub struct EmailMutation;

#[Object]
impl EmailMutation {
    /// Creates an email mailbox, or updates one when `id` is given (admins). A new mailbox's
    /// inbound secret is in the answer, this once.
    async fn save_email_mailbox(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        input: EmailMailboxInput,
    ) -> Result<SavedEmailMailbox, DeskError> {
        let id = id.as_ref().map(|m| parse_id::<ChannelAccountId>(m, "id")).transpose()?;
        let (m, secret) = desk(ctx).save_email_mailbox(actor(ctx)?, id, &input.into()).await?;
        Ok(SavedEmailMailbox { mailbox: m.into(), inbound_secret: secret })
    }

    /// Deletes an email mailbox; its tickets stay (admins).
    async fn delete_email_mailbox(&self, ctx: &Context<'_>, id: ID) -> Result<bool, DeskError> {
        let id = parse_id::<ChannelAccountId>(&id, "id")?;
        if !desk(ctx).delete_email_mailbox(actor(ctx)?, id).await? {
            return Err(DeskError::NotFound("mailbox"));
        }
        Ok(true)
    }
}
