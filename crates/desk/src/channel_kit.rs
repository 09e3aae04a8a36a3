//! What a channel crate builds its own use cases from, beyond the desk's public operations: the
//! steps of an operation inside one open transaction (ingest, reply, history, attachments), so a
//! channel's own bookkeeping on its own tables commits together with the ticket it concerns; the
//! retry wrappers every write runs under; permission checks; and secrets sealed under a key of
//! the channel's own. Every step that acts for someone checks the Manage permission itself, as
//! the whole operations do.
//!
//! The core never names a channel: each channel crate keeps its queries, records and use cases
//! and reaches the database through [`switchboard_store::Tx`].

use std::future::Future;

use switchboard_domain::*;
use switchboard_store::*;

use crate::sealed::SecretKind;
use crate::{Desk, DeskError, InboundMessage, IngestOutcome, LiveEvent, NewAttachment, ThreadEntry};

/// Runs `op` again (up to a few times) when the database aborted it to let a concurrent
/// transaction through; every channel write runs under this, like the desk's own.
pub async fn retrying<T, F, Fut>(op: F) -> Result<T, DeskError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DeskError>>,
{
    crate::retry::retrying(op).await
}

/// [`retrying`], and also on a unique-index conflict: for writes where such an index decides a
/// race (the rerun finds the winner's row).
pub async fn retry_on_conflict<T, F, Fut>(op: F) -> Result<T, DeskError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DeskError>>,
{
    crate::retry::retry_on_conflict(op).await
}

/// Refuses the call unless the actor holds `perm`.
pub fn require(actor: &Actor, perm: Permission) -> Result<(), DeskError> {
    crate::require(actor, perm)
}

/// `s` cut to at most `max` characters.
pub fn truncate(s: &str, max: usize) -> String {
    crate::outbox::truncate(s, max)
}

/// The placeholders a ticket's templates (acknowledgements, follow-ups) are rendered with.
pub fn template_context(t: &TicketRecord, workspace_name: &str, actor: ActorVars) -> TemplateContext {
    crate::follow_ups::template_context(t, workspace_name, actor)
}

/// The live event telling subscribers that `t` changed (`kind`), for [`Desk::publish_live`].
pub fn live_event(t: &TicketRecord, kind: &'static str, entry_id: Option<EntryId>, internal: bool) -> LiveEvent {
    crate::tickets::live(t, kind, entry_id, internal)
}

/// A kind of secret a channel seals (a password, an access token): `label` derives its
/// key from the server's secret and must never change once secrets are stored under it; `name`
/// says what it is in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelSecret {
    pub label: &'static str,
    pub name: &'static str,
}

impl Desk {
    /// Seals a channel's secret for storage (see [`ChannelSecret`]).
    pub fn seal_channel_secret(&self, kind: ChannelSecret, plain: &str) -> Result<String, DeskError> {
        self.seal(SecretKind::Channel(kind), plain)
    }

    /// Opens what [`Desk::seal_channel_secret`] stored.
    pub fn open_channel_secret(&self, kind: ChannelSecret, stored: &str) -> Result<String, DeskError> {
        self.open_sealed(SecretKind::Channel(kind), stored)
    }

    /// Tells live subscribers about a committed change; call it after the commit.
    pub fn publish_live(&self, events: Vec<LiveEvent>) {
        self.publish(events)
    }

    /// Takes in a message inside `tx` (see [`Desk::ingest`]); the caller commits, then publishes
    /// the returned events.
    pub async fn ingest_in_tx(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        msg: &InboundMessage,
    ) -> Result<(IngestOutcome, Vec<LiveEvent>), DeskError> {
        crate::require(actor, Permission::Manage)?;
        self.ingest_in(tx, actor, msg).await
    }

    /// The workspace's ticket `id` inside `tx` (locked on PostgreSQL), or NOT_FOUND.
    pub async fn ticket_in_tx(&self, tx: &mut Tx, ws: WorkspaceId, id: TicketId) -> Result<TicketRecord, DeskError> {
        self.load_ticket(tx, ws, id).await
    }

    /// Stores files on an entry of `t` inside `tx`.
    pub async fn store_attachments_in_tx(
        &self,
        tx: &mut Tx,
        t: &TicketRecord,
        entry: EntryId,
        files: &[NewAttachment],
    ) -> Result<Vec<AttachmentRecord>, DeskError> {
        self.store_attachments(tx, t, entry, files).await
    }

    /// Writes the history row, domain event and webhooks of `kind` on `t` inside `tx`.
    pub async fn emit_in_tx(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        t: &TicketRecord,
        kind: EventKind,
        extra: serde_json::Value,
    ) -> Result<(), DeskError> {
        crate::require(actor, Permission::Manage)?;
        self.emit_event(tx, actor, t, kind, extra).await
    }

    /// A public reply inside `tx` (see [`Desk::reply`]); the caller commits and publishes.
    pub async fn reply_in_tx(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        ticket: TicketId,
        body: &str,
    ) -> Result<(ThreadEntry, Vec<LiveEvent>), DeskError> {
        crate::require(actor, Permission::Manage)?;
        self.reply_in(tx, actor, ticket, body, &[], None).await
    }

    /// Finishes a reply entry the channel wrote itself (`entry_id`, written `at`, going out on
    /// `delivery`): first response, SLA targets, history and webhooks, then commits `tx`.
    pub async fn finish_reply_in_tx(
        &self,
        tx: Tx,
        actor: &Actor,
        t: TicketRecord,
        entry_id: EntryId,
        at: Millis,
        delivery: Option<Channel>,
    ) -> Result<EntryRecord, DeskError> {
        crate::require(actor, Permission::Manage)?;
        let written = crate::tickets::WrittenReply { entry_id, at, delivery };
        self.finish_reply(tx, actor, t, written, None, None).await
    }

    /// Opens a ticket for `requester` inside `tx`, on `channel`, under `thread_key`.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_ticket_in_tx(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        requester: &ContactRecord,
        input: &crate::OpenTicket,
        channel: Channel,
        thread_key: Option<String>,
        external_message_id: Option<String>,
    ) -> Result<(TicketRecord, EntryId), DeskError> {
        crate::require(actor, Permission::Manage)?;
        self.insert_ticket(tx, actor, requester, input, channel, thread_key, external_message_id).await
    }
}
