//! Rows for entries (replies, notes), their mentions and attachments.

use switchboard_domain::*;

/// A thread entry with its author's display name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRecord {
    pub id: EntryId,
    pub ticket_id: TicketId,
    #[sqlx(try_from = "String")]
    pub kind: EntryKind,
    pub author_user_id: Option<UserId>,
    pub author_contact_id: Option<ContactId>,
    pub author_name: Option<String>,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    pub external_message_id: Option<String>,
    pub body: String,
    pub delivery_status: Option<String>,
    pub delivery_error: Option<String>,
    pub created_at: Millis,
}

/// What a new entry is created with.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    pub kind: EntryKind,
    pub author_user_id: Option<UserId>,
    pub author_contact_id: Option<ContactId>,
    pub channel: Channel,
    pub external_message_id: Option<String>,
    pub body: String,
    pub delivery_status: Option<DeliveryStatus>,
    pub created_at: Millis,
}

/// A stored file's metadata; the bytes live in the blob store under `sha256`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttachmentRecord {
    pub id: AttachmentId,
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    pub entry_id: EntryId,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: Millis,
}
