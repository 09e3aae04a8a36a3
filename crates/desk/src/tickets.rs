//! Tickets, one module per concern: `open` (staff, integrators, the portal), `ingest` (messages from
//! channels), `thread` (replies, notes, after-close messages, reading the thread), `update` (field
//! changes, claim, close, reopen, rating), `read` (the ticket list, counts, one ticket) and
//! `history` (the audit trail and domain events). What they share lives here: loading a ticket the
//! actor may see, checking the rows a ticket refers to, storing attachments, live events.

mod history;
mod ingest;
mod open;
mod read;
mod thread;
mod update;

pub use ingest::*;
pub use open::*;
pub use read::*;
pub use thread::*;
pub use update::*;

use switchboard_domain::*;
use switchboard_store::*;

use crate::retry::{retry_on_conflict, retrying};
use crate::support::SlaInputs;
use crate::{Desk, DeskError, LiveEvent, Routed, require, routing_facts};
pub(crate) use history::rfc3339;
use history::{Changes, opt_string};

/// Largest attachment accepted, in bytes.
pub const MAX_ATTACHMENT_BYTES: usize = 25 * 1024 * 1024;

/// A file to attach to a new entry.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

pub(crate) fn live(t: &TicketRecord, kind: &'static str, entry_id: Option<EntryId>, internal: bool) -> LiveEvent {
    LiveEvent {
        workspace_id: t.workspace_id,
        kind: kind.into(),
        ticket_id: t.id,
        ticket_number: t.display_number(),
        requester_id: t.requester_id,
        entry_id,
        internal,
    }
}

/// Staff with view permission see their workspace's tickets (every load is scoped to it), a
/// customer (or a channel acting for one) only tickets they requested. Anything else is "not
/// found".
fn check_visible(actor: &Actor, t: TicketRecord) -> Result<TicketRecord, DeskError> {
    match actor.requester_scope() {
        Some(c) if t.requester_id == c => Ok(t),
        Some(_) => Err(DeskError::NotFound("ticket")),
        None => {
            require(actor, Permission::View)?;
            Ok(t)
        }
    }
}

impl Desk {
    pub(crate) async fn load_ticket(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        id: TicketId,
    ) -> Result<TicketRecord, DeskError> {
        tx.ticket_by_id(ws, id).await?.ok_or(DeskError::NotFound("ticket"))
    }

    /// Loads a ticket the actor may see (see [`check_visible`]).
    pub(crate) async fn visible_ticket(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        id: TicketId,
    ) -> Result<TicketRecord, DeskError> {
        check_visible(actor, self.load_ticket(tx, actor.workspace_id, id).await?)
    }

    pub(crate) async fn check_assignee(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        id: UserId,
        field: &str,
    ) -> Result<UserRecord, DeskError> {
        tx.user_by_id(ws, id)
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| DeskError::invalid(field, "no active staff member with this id in the workspace"))
    }

    pub(crate) async fn check_queue(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        id: QueueId,
        field: &str,
    ) -> Result<QueueRecord, DeskError> {
        tx.queue_by_id(ws, id).await?.ok_or_else(|| DeskError::invalid(field, "no queue with this id in the workspace"))
    }

    pub(crate) async fn check_help_topic(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        id: HelpTopicId,
        field: &str,
    ) -> Result<HelpTopicRecord, DeskError> {
        tx.help_topic_by_id(ws, id)
            .await?
            .ok_or_else(|| DeskError::invalid(field, "no help topic with this id in the workspace"))
    }

    pub(crate) async fn store_attachments(
        &self,
        tx: &mut Tx,
        t: &TicketRecord,
        entry: EntryId,
        files: &[NewAttachment],
    ) -> Result<Vec<AttachmentRecord>, DeskError> {
        let mut stored = Vec::with_capacity(files.len());
        for (i, f) in files.iter().enumerate() {
            let field = format!("attachments[{i}]");
            if f.bytes.len() > MAX_ATTACHMENT_BYTES {
                return Err(DeskError::invalid(
                    &field,
                    format!("is larger than {} MiB", MAX_ATTACHMENT_BYTES / (1024 * 1024)),
                ));
            }
            let name = validate_name(&field, &f.file_name)?;
            let sha = self.blobs().put(&f.bytes).await?;
            let ct = without_nul(f.content_type.trim());
            let ct = if ct.is_empty() { "application/octet-stream" } else { ct.as_ref() };
            let (size, now) = (f.bytes.len() as i64, self.now());
            let id = tx.insert_attachment(t.workspace_id, t.id, entry, &name, ct, size, &sha, now).await?;
            stored.push(AttachmentRecord {
                id,
                workspace_id: t.workspace_id,
                ticket_id: t.id,
                entry_id: entry,
                file_name: name,
                content_type: ct.to_string(),
                size_bytes: size,
                sha256: sha,
                created_at: now,
            });
        }
        Ok(stored)
    }
}
