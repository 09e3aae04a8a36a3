//! A ticket's thread as staff see it: entries (replies, notes, system entries) and their attachments.

use super::*;

remote_enum!(
    /// Public reply, internal note, or system event.
    EntryKind => "d::EntryKind" { Reply, Note, System });

/// A file attached to an entry; download it from `url` with the same bearer token.
pub struct Attachment(pub AttachmentRecord);

#[Object]
impl Attachment {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    async fn url(&self) -> String {
        format!("/attachments/{}", self.0.id.0)
    }
}

/// An entry of a ticket's thread, as staff see it.
pub struct Entry(pub ThreadEntry);

#[Object]
impl Entry {
    async fn id(&self) -> ID {
        id(self.0.entry.id.0)
    }
    async fn kind(&self) -> EntryKind {
        self.0.entry.kind.into()
    }
    /// True for internal notes and system entries: never shown to the requester.
    async fn internal(&self) -> bool {
        self.0.entry.kind != d::EntryKind::Reply
    }
    async fn body(&self) -> &str {
        &self.0.entry.body
    }
    async fn channel(&self) -> Channel {
        self.0.entry.channel.into()
    }
    async fn author_name(&self) -> Option<&str> {
        self.0.entry.author_name.as_deref()
    }
    /// The staff author, for replies and notes written by staff.
    async fn author_user_id(&self) -> Option<ID> {
        self.0.entry.author_user_id.map(|u| id(u.0))
    }
    /// The requester author, for messages from the customer.
    async fn author_contact_id(&self) -> Option<ID> {
        self.0.entry.author_contact_id.map(|c| id(c.0))
    }
    async fn external_message_id(&self) -> Option<&str> {
        self.0.entry.external_message_id.as_deref()
    }
    /// For replies delivered through a channel: pending, sent, delivered, read or failed.
    async fn delivery_status(&self) -> Option<&str> {
        self.0.entry.delivery_status.as_deref()
    }
    async fn delivery_error(&self) -> Option<&str> {
        self.0.entry.delivery_error.as_deref()
    }
    /// Staff mentioned with `@handle` in a note.
    async fn mentions(&self) -> Vec<ID> {
        self.0.mentions.iter().map(|u| id(u.0)).collect()
    }
    async fn attachments(&self) -> Vec<Attachment> {
        self.0.attachments.iter().cloned().map(Attachment).collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.entry.created_at)
    }
}
