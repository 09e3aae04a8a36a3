//! Rows of the email channel's tables (migration 0005).

use switchboard_domain::{EntryId, Millis, TicketId, WorkspaceId};

/// A mailbox: where a workspace's customers write to, and how we read and send its mail.
/// The passwords stay encrypted here and the inbound secret is only a hash.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MailboxRecord {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub address: String,
    pub enabled: bool,
    pub imap_host: Option<String>,
    pub imap_port: i64,
    pub imap_security: String,
    pub imap_user: Option<String>,
    pub imap_password_enc: Option<String>,
    pub imap_folder: String,
    pub imap_processed_folder: Option<String>,
    pub imap_uid_validity: Option<i64>,
    pub imap_last_uid: i64,
    pub smtp_host: Option<String>,
    pub smtp_port: i64,
    pub smtp_security: String,
    pub smtp_user: Option<String>,
    pub smtp_password_enc: Option<String>,
    pub inbound_secret_hash: Option<String>,
    pub ack_enabled: bool,
    pub ack_template: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A mailbox's settings as an admin writes them; `None` passwords keep the stored ones.
#[derive(Debug, Clone, Default)]
pub struct MailboxInput {
    pub name: String,
    pub address: String,
    pub enabled: bool,
    pub imap_host: Option<String>,
    pub imap_port: i64,
    pub imap_security: String,
    pub imap_user: Option<String>,
    pub imap_password_enc: Option<String>,
    pub imap_folder: String,
    pub imap_processed_folder: Option<String>,
    pub smtp_host: Option<String>,
    pub smtp_port: i64,
    pub smtp_security: String,
    pub smtp_user: Option<String>,
    pub smtp_password_enc: Option<String>,
    pub inbound_secret_hash: Option<String>,
    pub ack_enabled: bool,
    pub ack_template: Option<String>,
}

/// One message a mailbox received, with what became of it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EmailMessageRecord {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub mailbox_id: i64,
    pub dedupe_key: String,
    /// `ticket`, `auto_reply`, `bounce` or `quarantined`.
    pub outcome: String,
    pub reason: Option<String>,
    pub from_address: Option<String>,
    pub subject: Option<String>,
    pub ticket_id: Option<TicketId>,
    pub entry_id: Option<EntryId>,
    pub raw_sha256: String,
    pub raw_size: i64,
    pub created_at: Millis,
}

/// A received message to record.
#[derive(Debug, Clone)]
pub struct NewEmailMessage<'a> {
    pub workspace_id: WorkspaceId,
    pub mailbox_id: i64,
    pub dedupe_key: &'a str,
    pub outcome: &'a str,
    pub reason: Option<&'a str>,
    pub from_address: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub ticket_id: Option<TicketId>,
    pub entry_id: Option<EntryId>,
    pub raw_sha256: &'a str,
    pub raw_size: i64,
    pub created_at: Millis,
}
