//! The outbox: public replies on tickets whose channel delivers them (`Channel::delivers_replies`)
//! wait here until that channel's adapter sends them.
//!
//! A reply writes its outbox row in the same transaction as the entry. The job runner hands each
//! due row to the [`ChannelSender`] registered for its channel and records the outcome on the row
//! and on the entry (`deliveryStatus`, `deliveryError`, and the channel's message id), retrying
//! transient failures with a backoff. Adapters never touch the store: they see an
//! [`OutboundMessage`] and answer a [`DeliveryOutcome`].

use std::future::Future;
use std::pin::Pin;

use switchboard_domain::{
    Channel, ChannelAccountId, DeliveryStatus, EntryId, Millis, OutboxId, SendStatus, TicketId, WorkspaceId,
    retry_delay_ms,
};
use switchboard_store::Tx;
use switchboard_store::records::ContactRecord;

use crate::{Desk, DeskError};

/// Everything a channel adapter needs to send one reply.
#[derive(Debug, Clone)]
pub struct OutboundMessage {
    /// The outbox row; adapters may use it to build a stable message id.
    pub outbox_id: OutboxId,
    /// Attempts made before this one.
    pub attempts: i64,
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    /// The ticket's number as people see it, e.g. `SD-00012`.
    pub ticket_number: String,
    pub ticket_subject: String,
    pub channel: Channel,
    /// The channel's conversation key the ticket was opened with, if any.
    pub thread_key: Option<String>,
    /// The channel account that answers the ticket (the one it came in on), if one is recorded.
    pub channel_account_id: Option<ChannelAccountId>,
    pub entry_id: EntryId,
    pub body: String,
    /// The staff member who wrote the reply, or `None` for automatic messages.
    pub author_name: Option<String>,
    /// Who the reply goes to, with their channel identities.
    pub requester: ContactRecord,
    /// The channel message ids already on the thread, oldest first (an email's `References`).
    pub thread_message_ids: Vec<String>,
    /// When the requester last wrote on the ticket (for a channel's service window).
    pub last_customer_message_at: Option<Millis>,
    pub attachments: Vec<OutboundAttachment>,
}

/// A file sent with a reply.
#[derive(Debug, Clone)]
pub struct OutboundAttachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// What happened when an adapter tried to send a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The channel accepted it; its id for the message, if it gave one.
    Sent { external_message_id: Option<String> },
    /// A transient failure (network, rate limit, 5xx): try again later.
    Retry { error: String },
    /// A permanent failure (bad address, message refused): do not try again.
    Failed { error: String },
}

/// A channel adapter's sending half, registered with the job runner.
pub trait ChannelSender: Send + Sync {
    /// The channel whose outbox rows this sender takes.
    fn channel(&self) -> Channel;
    /// Sends one reply; never panics on bad data, answers `Failed` instead.
    fn send<'a>(&'a self, msg: &'a OutboundMessage) -> Pin<Box<dyn Future<Output = DeliveryOutcome> + Send + 'a>>;
}

impl Desk {
    /// Tells the desk which channels have a registered sender (the server does, once, from its
    /// channel modules). From then on a reply that needs delivery on any other channel fails at
    /// once, with the reason on the entry, instead of waiting in the outbox for a sender that
    /// never comes. Until then every channel is taken to have one (desk-only tools and tests).
    pub fn register_reply_channels(&self, channels: Vec<Channel>) {
        if self.reply_channels().set(channels).is_err() {
            tracing::warn!("the reply channels were registered twice; the first list stays");
        }
    }

    /// Why a reply on `channel` cannot be delivered, if no sender is registered for it.
    fn missing_sender(&self, channel: Channel) -> Option<String> {
        let registered = self.reply_channels().get()?;
        (!registered.contains(&channel)).then(|| {
            format!("no channel module sends {channel} replies on this server, so this reply cannot be delivered")
        })
    }

    /// Fails the replies already waiting in the outbox on channels without a registered sender
    /// (written before this server knew better, or by a tool that never registers), with the
    /// same reason a new reply gets. Returns how many; nothing before the channels are registered.
    pub async fn fail_replies_without_sender(&self) -> Result<u64, DeskError> {
        let mut failed = 0;
        for &channel in Channel::ALL.iter().filter(|c| c.delivers_replies()) {
            let Some(reason) = self.missing_sender(channel) else { continue };
            loop {
                let mut tx = self.store().write().await?;
                // Retries scheduled for later are waiting too: every pending row, whenever due.
                let rows = tx.due_outbox(channel, Millis::MAX, 500).await?;
                if rows.is_empty() {
                    break;
                }
                for (id, attempts) in rows {
                    let Some(row) = tx.outbox_by_id(id).await? else { continue };
                    if tx.record_outbox_attempt(id, attempts, SendStatus::Failed, self.now(), Some(&reason)).await? {
                        tx.set_entry_delivery(
                            row.workspace_id,
                            row.entry_id,
                            DeliveryStatus::Failed,
                            Some(&reason),
                            None,
                        )
                        .await?;
                        failed += 1;
                    }
                }
                tx.commit().await?;
            }
        }
        Ok(failed)
    }

    /// Queues a public reply for delivery on `channel`: an outbox row, or, when no sender is
    /// registered for the channel, the entry marked failed with the reason.
    pub(crate) async fn queue_delivery(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        ticket: TicketId,
        entry: EntryId,
        channel: Channel,
        now: Millis,
    ) -> Result<(), DeskError> {
        match self.missing_sender(channel) {
            Some(reason) => tx.set_entry_delivery(ws, entry, DeliveryStatus::Failed, Some(&reason), None).await?,
            None => {
                tx.insert_outbox(ws, ticket, entry, channel, now).await?;
            }
        }
        Ok(())
    }

    /// Outbox rows of `channel` due now, with the attempts made so far; for the job runner.
    pub async fn due_outbox(&self, channel: Channel, limit: i64) -> Result<Vec<(OutboxId, i64)>, DeskError> {
        Ok(self.store().read().await?.due_outbox(channel, self.now(), limit).await?)
    }

    /// A pending outbox row with what is needed to send it; `None` once it is no longer pending.
    pub async fn outbound_message(&self, outbox_id: OutboxId) -> Result<Option<OutboundMessage>, DeskError> {
        let mut tx = self.store().read().await?;
        let Some(row) = tx.outbox_by_id(outbox_id).await?.filter(|r| r.status == SendStatus::Pending) else {
            return Ok(None);
        };
        let ws = row.workspace_id;
        let (Some(ticket), Some(entry)) =
            (tx.ticket_by_id(ws, row.ticket_id).await?, tx.entry_by_id(ws, row.entry_id).await?)
        else {
            return Ok(None);
        };
        let Some(requester) = tx.contact_by_id(ws, ticket.requester_id).await? else { return Ok(None) };
        let thread_message_ids = tx.thread_message_ids(ws, ticket.id, entry.id).await?;
        let files: Vec<_> =
            tx.list_attachments(ws, ticket.id).await?.into_iter().filter(|a| a.entry_id == entry.id).collect();
        drop(tx);
        let mut attachments = Vec::with_capacity(files.len());
        for a in files {
            let bytes = self.blobs().get(&a.sha256).await?;
            attachments.push(OutboundAttachment { file_name: a.file_name, content_type: a.content_type, bytes });
        }
        Ok(Some(OutboundMessage {
            outbox_id,
            attempts: row.attempts,
            workspace_id: ws,
            ticket_id: ticket.id,
            ticket_number: ticket.display_number(),
            ticket_subject: ticket.subject.clone(),
            channel: row.channel,
            thread_key: ticket.thread_key.clone(),
            channel_account_id: ticket.channel_account_id,
            entry_id: entry.id,
            body: entry.body,
            author_name: entry.author_user_id.and(entry.author_name),
            requester,
            thread_message_ids,
            last_customer_message_at: ticket.last_customer_message_at,
            attachments,
        }))
    }

    /// Records an attempt on the outbox row and its entry: sent, retried after a backoff of
    /// `retry_base_ms` times 3^(attempt-1), or failed for good. Returns the entry's new status;
    /// `None` when the row was no longer pending (another worker recorded this attempt).
    pub async fn record_outbox_attempt(
        &self,
        msg: &OutboundMessage,
        outcome: &DeliveryOutcome,
        retry_base_ms: i64,
    ) -> Result<Option<DeliveryStatus>, DeskError> {
        let (row_status, next, error) = attempt_result(outcome, msg.attempts, retry_base_ms, self.now());
        // A retry stays pending for the requester's eyes, with the last error shown to staff.
        let (status, external) = match (row_status, outcome) {
            (SendStatus::Sent, DeliveryOutcome::Sent { external_message_id }) => {
                (DeliveryStatus::Sent, external_message_id.as_deref())
            }
            (SendStatus::Pending, _) => (DeliveryStatus::Pending, None),
            _ => (DeliveryStatus::Failed, None),
        };
        let mut tx = self.store().write().await?;
        if !tx.record_outbox_attempt(msg.outbox_id, msg.attempts, row_status, next, error.as_deref()).await? {
            return Ok(None);
        }
        tx.set_entry_delivery(msg.workspace_id, msg.entry_id, status, error.as_deref(), external).await?;
        tx.commit().await?;
        Ok(Some(status))
    }

    /// Records what a channel later reports about a message it accepted (delivered, read,
    /// failed, or a bounce), found by the channel's id for it. Returns whether an entry matched.
    pub async fn record_delivery_report(
        &self,
        workspace: WorkspaceId,
        channel: Channel,
        external_message_id: &str,
        status: DeliveryStatus,
        error: Option<&str>,
    ) -> Result<bool, DeskError> {
        let mut tx = self.store().write().await?;
        let Some(entry) = tx.entry_by_external_id(workspace, channel, external_message_id).await? else {
            return Ok(false);
        };
        // Reports arrive out of order: "delivered" after "read" must not move the status back.
        let rank = |s: Option<&str>| match s {
            Some("sent") => 1,
            Some("delivered") => 2,
            Some("read") => 3,
            _ => 0,
        };
        if status != DeliveryStatus::Failed && rank(entry.delivery_status.as_deref()) >= rank(Some(status.as_str())) {
            return Ok(true);
        }
        let error = error.map(|e| truncate(e, 1000));
        tx.set_entry_delivery(workspace, entry.id, status, error.as_deref(), None).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// What an attempt makes of a delivery row: its status (`sent`, `pending` for a retry after the
/// backoff, or `failed` once the attempts are used up or the failure is permanent), when it is
/// next due, and the error to keep (cut to 1,000 characters). Shared by every row that is sent
/// with retries: outbox replies and sign-in link emails.
pub(crate) fn attempt_result(
    outcome: &DeliveryOutcome,
    attempts_before: i64,
    retry_base_ms: i64,
    now: Millis,
) -> (SendStatus, Millis, Option<String>) {
    match outcome {
        DeliveryOutcome::Sent { .. } => (SendStatus::Sent, now, None),
        DeliveryOutcome::Retry { error } => match retry_delay_ms(attempts_before + 1, retry_base_ms) {
            Some(delay) => (SendStatus::Pending, now + delay, Some(truncate(error, 1000))),
            None => (SendStatus::Failed, now, Some(truncate(error, 1000))),
        },
        DeliveryOutcome::Failed { error } => (SendStatus::Failed, now, Some(truncate(error, 1000))),
    }
}

/// `s` cut to at most `max` characters.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
