//! The email channel's rows: mailboxes (channel accounts, migration 0014) and received messages
//! (channel messages), read from and written to the core's generic channel tables.

use switchboard_desk::domain::{ChannelAccountId, ChannelMessageId, EntryId, Millis, TicketId, WorkspaceId};
use switchboard_desk::store::{
    ChannelAccountInput, ChannelAccountRecord, ChannelMessageRecord, StoreError, decode_json,
};

/// A mailbox: where a workspace's customers write to, and how we read and send its mail.
/// The passwords stay encrypted here and the inbound secret is only a hash.
#[derive(Debug, Clone)]
pub struct MailboxRecord {
    pub id: ChannelAccountId,
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
#[derive(Debug, Clone)]
pub struct EmailMessageRecord {
    pub id: ChannelMessageId,
    pub workspace_id: WorkspaceId,
    pub mailbox_id: ChannelAccountId,
    pub dedupe_key: String,
    /// `ticket`, `auto_reply`, `bounce` or `quarantined`.
    pub outcome: String,
    pub reason: Option<String>,
    pub from_address: Option<String>,
    pub subject: Option<String>,
    pub ticket_id: Option<TicketId>,
    pub entry_id: Option<EntryId>,
    /// The original in the blob store; `None` once transcript retention removed it with the
    /// ticket's transcript (every received message is kept, so nothing else clears it).
    pub raw_sha256: Option<String>,
    pub raw_size: i64,
    pub created_at: Millis,
}

/// A received message to record.
#[derive(Debug, Clone)]
pub struct NewEmailMessage<'a> {
    pub workspace_id: WorkspaceId,
    pub mailbox_id: ChannelAccountId,
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

/// The email channel's key in the generic channel tables.
pub const EMAIL_CHANNEL: &str = "email";

/// A mailbox's `settings` JSON in its channel account.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct MailboxSettingsJson {
    address: String,
    imap_host: Option<String>,
    imap_port: i64,
    imap_security: String,
    imap_user: Option<String>,
    imap_folder: String,
    imap_processed_folder: Option<String>,
    smtp_host: Option<String>,
    smtp_port: i64,
    smtp_security: String,
    smtp_user: Option<String>,
    ack_enabled: bool,
    ack_template: Option<String>,
}

/// A mailbox's `secrets` JSON: the passwords sealed, the inbound secret hashed.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct MailboxSecretsJson {
    imap_password: Option<String>,
    smtp_password: Option<String>,
    inbound_secret_hash: Option<String>,
}

/// A mailbox's `state` JSON: the IMAP poller's cursor.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct MailboxStateJson {
    imap_uid_validity: Option<i64>,
    #[serde(default)]
    imap_last_uid: i64,
}

impl MailboxRecord {
    /// The mailbox a channel account of the email channel holds.
    pub fn from_account(a: &ChannelAccountRecord) -> Result<MailboxRecord, StoreError> {
        let s: MailboxSettingsJson = decode_json(&a.settings)?;
        let k: MailboxSecretsJson = decode_json(&a.secrets)?;
        let st: MailboxStateJson = decode_json(&a.state)?;
        Ok(MailboxRecord {
            id: a.id,
            workspace_id: a.workspace_id,
            name: a.name.clone(),
            address: s.address,
            enabled: a.enabled,
            imap_host: s.imap_host,
            imap_port: s.imap_port,
            imap_security: s.imap_security,
            imap_user: s.imap_user,
            imap_password_enc: k.imap_password,
            imap_folder: s.imap_folder,
            imap_processed_folder: s.imap_processed_folder,
            imap_uid_validity: st.imap_uid_validity,
            imap_last_uid: st.imap_last_uid,
            smtp_host: s.smtp_host,
            smtp_port: s.smtp_port,
            smtp_security: s.smtp_security,
            smtp_user: s.smtp_user,
            smtp_password_enc: k.smtp_password,
            inbound_secret_hash: k.inbound_secret_hash,
            ack_enabled: s.ack_enabled,
            ack_template: s.ack_template,
            created_at: a.created_at,
            updated_at: a.updated_at,
        })
    }
}

impl MailboxInput {
    /// The channel account this input writes; `stored` secrets are kept where the input has none.
    pub fn to_account(&self, stored: Option<&MailboxRecord>) -> ChannelAccountInput {
        let settings = MailboxSettingsJson {
            address: self.address.clone(),
            imap_host: self.imap_host.clone(),
            imap_port: self.imap_port,
            imap_security: self.imap_security.clone(),
            imap_user: self.imap_user.clone(),
            imap_folder: self.imap_folder.clone(),
            imap_processed_folder: self.imap_processed_folder.clone(),
            smtp_host: self.smtp_host.clone(),
            smtp_port: self.smtp_port,
            smtp_security: self.smtp_security.clone(),
            smtp_user: self.smtp_user.clone(),
            ack_enabled: self.ack_enabled,
            ack_template: self.ack_template.clone(),
        };
        // Secrets are write-only: none in the input keeps the stored one.
        let secrets = MailboxSecretsJson {
            imap_password: self.imap_password_enc.clone().or_else(|| stored.and_then(|m| m.imap_password_enc.clone())),
            smtp_password: self.smtp_password_enc.clone().or_else(|| stored.and_then(|m| m.smtp_password_enc.clone())),
            inbound_secret_hash: self
                .inbound_secret_hash
                .clone()
                .or_else(|| stored.and_then(|m| m.inbound_secret_hash.clone())),
        };
        ChannelAccountInput {
            channel: EMAIL_CHANNEL.into(),
            external_key: self.address.clone(),
            name: self.name.clone(),
            enabled: self.enabled,
            global_route: false,
            settings: serde_json::to_string(&settings).unwrap_or_default(),
            secrets: serde_json::to_string(&secrets).unwrap_or_default(),
        }
    }
}

/// The state JSON of a mailbox's account with the poller's cursor at `uid_validity`/`last_uid`.
pub fn imap_cursor_state(uid_validity: i64, last_uid: i64) -> String {
    let st = MailboxStateJson { imap_uid_validity: Some(uid_validity), imap_last_uid: last_uid };
    serde_json::to_string(&st).unwrap_or_default()
}

impl EmailMessageRecord {
    /// A message the email channel received, as the generic table holds it.
    pub fn from_channel_message(m: ChannelMessageRecord) -> EmailMessageRecord {
        EmailMessageRecord {
            id: m.id,
            workspace_id: m.workspace_id,
            // Every message the email channel records names its mailbox; 0 would mean none.
            mailbox_id: m.account_id.unwrap_or(ChannelAccountId(0)),
            dedupe_key: m.external_key,
            outcome: m.outcome,
            reason: m.reason,
            from_address: m.sender,
            subject: m.subject,
            ticket_id: m.ticket_id,
            entry_id: m.entry_id,
            raw_sha256: m.raw_sha256,
            raw_size: m.raw_size.unwrap_or_default(),
            created_at: m.created_at,
        }
    }
}
