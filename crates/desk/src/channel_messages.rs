//! What a chat channel reports about messages beyond new customer messages: staff answering from
//! the channel itself (a chat member with a staff role), messages edited or deleted there, and
//! the durable inbox a channel stores its events in before processing them. Nothing here names a
//! channel.

use switchboard_domain::*;
use switchboard_store::*;

use crate::support::SlaInputs;
use crate::tickets::{live, rfc3339};
use crate::{Desk, DeskError, IngestOutcome, NewAttachment, require};

/// A staff member's message written in the channel (not through the helpdesk): a staff reply
/// that is already where the requester reads it, so nothing is delivered.
#[derive(Debug, Clone)]
pub struct ChannelStaffMessage {
    pub channel: Channel,
    pub ticket_id: TicketId,
    pub external_message_id: String,
    /// How the author is known on the channel; a staff member linked to it is the author.
    pub author_external_id: String,
    /// The author's name on the channel, for an author no staff member is linked to.
    pub author_name: String,
    pub text: String,
    pub attachments: Vec<NewAttachment>,
    /// An internal note written in the channel (staff marking a chat message as internal): recorded as a
    /// note, which stamps no first response and runs no message automation.
    pub internal: bool,
}

/// The key a closed ticket's transcript is archived under (see
/// [`Desk::archive_channel_conversation`]), so the ticket can find it again.
pub fn transcript_key(ticket: TicketId) -> String {
    format!("transcript-{}", ticket.0)
}

/// Longest text kept of an edited or deleted message in the history.
const HISTORY_TEXT_CHARS: usize = 2000;

fn clipped(text: &str) -> String {
    text.chars().take(HISTORY_TEXT_CHARS).collect()
}

impl Desk {
    /// Records a staff reply written in the channel: attributed to the staff member linked to the
    /// author's channel identity, else to the channel's name for them; it stamps the first
    /// response like any staff reply and runs automation. An internal one is an internal note.
    /// Idempotent on the message id.
    pub async fn record_channel_staff_message(
        &self,
        actor: &Actor,
        m: ChannelStaffMessage,
    ) -> Result<IngestOutcome, DeskError> {
        require(actor, Permission::Manage)?;
        let ws = actor.workspace_id;
        let text = validate_body("text", &m.text)?;
        let author_name = validate_name("authorName", &m.author_name)?;
        crate::retry::retry_on_conflict(|| async {
            let mut tx = self.store().write().await?;
            if let Some(e) = tx.entry_by_external_id(ws, m.channel, &m.external_message_id).await? {
                return Ok(IngestOutcome { ticket_id: e.ticket_id, entry_id: e.id, opened: false, duplicate: true });
            }
            let mut t = self.load_ticket(&mut tx, ws, m.ticket_id).await?;
            let linked = match tx.staff_by_identity(ws, m.channel.as_str(), &m.author_external_id).await? {
                Some(id) => tx.user_by_id(ws, id).await?.filter(|u| u.active),
                None => None,
            };
            let author = match &linked {
                Some(u) => {
                    Actor { workspace_id: ws, kind: ActorKind::User { id: u.id, role: u.role }, label: u.name.clone() }
                }
                None => {
                    Actor { workspace_id: ws, kind: ActorKind::System, label: format!("{author_name} ({})", m.channel) }
                }
            };
            let now = self.now();
            let entry = tx
                .insert_entry(&NewEntry {
                    workspace_id: ws,
                    ticket_id: t.id,
                    kind: if m.internal { EntryKind::Note } else { EntryKind::Reply },
                    author_user_id: linked.as_ref().map(|u| u.id),
                    author_contact_id: None,
                    channel: m.channel,
                    external_message_id: Some(m.external_message_id.clone()),
                    body: text.clone(),
                    delivery_status: None,
                    created_at: now,
                })
                .await?;
            if linked.is_none() {
                tx.set_entry_author_label(ws, entry, &author_name).await?;
            }
            self.store_attachments(&mut tx, &t, entry, &m.attachments).await?;
            if m.internal {
                let extra = serde_json::json!({ "entryId": entry.0, "public": false, "channel": m.channel.as_str() });
                self.emit_event(&mut tx, &author, &t, EventKind::EntryCreated, extra).await?;
                tx.commit().await?;
                self.publish(vec![live(&t, "entry.created", Some(entry), true)]);
                return Ok(IngestOutcome { ticket_id: t.id, entry_id: entry, opened: false, duplicate: false });
            }
            let before = SlaInputs::of(&t);
            let mut changes = Vec::new();
            t.last_message_at = Some(now);
            if t.first_responded_at.is_none() {
                t.first_responded_at = Some(now);
                changes.push(NewHistory {
                    field: "first_responded_at",
                    old_value: None,
                    new_value: Some(rfc3339(now)),
                });
            }
            t.updated_at = now;
            self.sync_sla(&mut tx, &mut t, before).await?;
            tx.save_ticket(&t).await?;
            self.write_history(&mut tx, &author, &t, &changes).await?;
            let extra = serde_json::json!({ "entryId": entry.0, "public": true, "channel": m.channel.as_str() });
            self.emit_event(&mut tx, &author, &t, EventKind::EntryCreated, extra).await?;
            let events = vec![live(&t, "entry.created", Some(entry), false)];
            let ticket_id = t.id;
            self.run_automation(&mut tx, t, &[AutomationEvent::Message(text.clone())]).await?;
            tx.commit().await?;
            self.publish(events);
            Ok(IngestOutcome { ticket_id, entry_id: entry, opened: false, duplicate: false })
        })
        .await
    }

    /// A message the channel says was edited: the entry keeps what was first received, and the
    /// ticket's history records the new text (old and new), so the record never silently changes.
    /// Returns false when the message is no entry (or the text is unchanged).
    pub async fn record_channel_message_edit(
        &self,
        actor: &Actor,
        channel: Channel,
        external_message_id: &str,
        author_label: &str,
        new_text: &str,
    ) -> Result<bool, DeskError> {
        self.record_channel_message_change(actor, channel, external_message_id, author_label, Some(new_text)).await
    }

    /// A message the channel says was deleted: the entry stays, and the history records that it
    /// was deleted on the channel, with the text it had.
    pub async fn record_channel_message_deletion(
        &self,
        actor: &Actor,
        channel: Channel,
        external_message_id: &str,
        author_label: &str,
    ) -> Result<bool, DeskError> {
        self.record_channel_message_change(actor, channel, external_message_id, author_label, None).await
    }

    async fn record_channel_message_change(
        &self,
        actor: &Actor,
        channel: Channel,
        external_message_id: &str,
        author_label: &str,
        new_text: Option<&str>,
    ) -> Result<bool, DeskError> {
        require(actor, Permission::Manage)?;
        let ws = actor.workspace_id;
        crate::retry::retrying(|| async {
            let mut tx = self.store().write().await?;
            let Some(e) = tx.entry_by_external_id(ws, channel, external_message_id).await? else { return Ok(false) };
            let t = self.load_ticket(&mut tx, ws, e.ticket_id).await?;
            // The latest text: the last edit recorded for this message, else the entry's own.
            let key = format!("entry {} ({channel} message {external_message_id})", e.id.0);
            let history = tx.list_history(ws, t.id).await?;
            let last = history
                .iter()
                .rev()
                .find(|h| h.field == "message_edited" && h.old_value.as_deref().is_some_and(|o| o.starts_with(&key)))
                .and_then(|h| h.new_value.clone())
                .unwrap_or_else(|| e.body.clone());
            let change = match new_text {
                Some(text) if text.trim() == last.trim() => return Ok(false),
                Some(text) => {
                    NewHistory { field: "message_edited", old_value: Some(key.clone()), new_value: Some(clipped(text)) }
                }
                None => NewHistory {
                    field: "message_deleted",
                    old_value: Some(format!("{key}: {}", clipped(&last))),
                    new_value: None,
                },
            };
            let who = Actor { workspace_id: ws, kind: ActorKind::System, label: author_label.to_string() };
            self.write_history(&mut tx, &who, &t, &[change]).await?;
            tx.commit().await?;
            self.publish(vec![live(&t, "ticket.updated", None, false)]);
            Ok(true)
        })
        .await
    }

    // ---- conversations kept in step with the channel ----

    /// Closed tickets of `channel` whose conversation is still on the channel (their thread key is
    /// set), across workspaces: (workspace, ticket, thread key).
    pub async fn closed_channel_conversations(
        &self,
        channel: Channel,
        limit: i64,
    ) -> Result<Vec<(WorkspaceId, TicketId, String)>, DeskError> {
        Ok(self.store().read().await?.closed_tickets_with_thread(channel.as_str(), limit).await?)
    }

    /// Open tickets of `channel` with a conversation on it, after `after` by id, across workspaces.
    pub async fn open_channel_conversations(
        &self,
        channel: Channel,
        after: TicketId,
        limit: i64,
    ) -> Result<Vec<(WorkspaceId, TicketId, String)>, DeskError> {
        Ok(self.store().read().await?.open_tickets_with_thread(channel.as_str(), after, limit).await?)
    }

    /// What the channel recorded about an entry (a JSON object), e.g. the intake form's answers;
    /// for the desk's side of whoever may read the entry's ticket.
    pub async fn entry_channel_meta(
        &self,
        actor: &Actor,
        entry: EntryId,
    ) -> Result<Option<serde_json::Value>, DeskError> {
        // Whoever may read the entry's ticket on the desk's side: staff with View, or a channel
        // acting for its requester. Customers never read what a channel records.
        if !actor.is_staff_side() {
            return Err(DeskError::NotFound("entry"));
        }
        let mut tx = self.store().read().await?;
        let e = tx.entry_by_id(actor.workspace_id, entry).await?.ok_or(DeskError::NotFound("entry"))?;
        self.visible_ticket(&mut tx, actor, e.ticket_id).await?;
        let meta = tx.entry_channel_meta(e.id).await?;
        Ok(meta.and_then(|m| serde_json::from_str(&m).ok()))
    }

    /// Keeps something from the channel as a system entry on the ticket, with its files: what
    /// the desk cannot show as a message (an unknown message type), or a closed ticket's archived
    /// conversation (a transcript). Idempotent on the channel's `key`: returns the entry and
    /// whether it was added now (false when an earlier call added it).
    pub async fn add_channel_system_entry(
        &self,
        actor: &Actor,
        ticket: TicketId,
        channel: Channel,
        key: &str,
        body: &str,
        files: &[NewAttachment],
    ) -> Result<(EntryId, bool), DeskError> {
        require(actor, Permission::Manage)?;
        let ws = actor.workspace_id;
        let body = validate_body("body", body)?;
        // Two deliveries of one message race on the entry's unique channel key: the loser reruns
        // and finds the winner's entry.
        crate::retry::retry_on_conflict(|| async {
            let mut tx = self.store().write().await?;
            if let Some(e) = tx.entry_by_external_id(ws, channel, key).await? {
                return Ok((e.id, false));
            }
            let t = self.load_ticket(&mut tx, ws, ticket).await?;
            let entry = tx
                .insert_entry(&NewEntry {
                    workspace_id: ws,
                    ticket_id: t.id,
                    kind: EntryKind::System,
                    author_user_id: None,
                    author_contact_id: None,
                    channel,
                    external_message_id: Some(key.to_string()),
                    body: body.clone(),
                    delivery_status: None,
                    created_at: self.now(),
                })
                .await?;
            self.store_attachments(&mut tx, &t, entry, files).await?;
            tx.commit().await?;
            self.publish(vec![live(&t, "entry.created", Some(entry), false)]);
            Ok((entry, true))
        })
        .await
    }

    /// The transcript archived when the ticket closed (the system entry holding its files), if
    /// its channel archived one.
    pub async fn ticket_transcript(
        &self,
        actor: &Actor,
        ticket: TicketId,
    ) -> Result<Option<crate::ThreadEntry>, DeskError> {
        let key = transcript_key(ticket);
        let thread = self.thread(actor, ticket).await?;
        Ok(thread.into_iter().find(|e| {
            e.entry.kind == EntryKind::System && e.entry.external_message_id.as_deref() == Some(key.as_str())
        }))
    }

    /// The ticket's conversation is gone from the channel (archived and deleted): it no longer
    /// holds the channel's key, so nothing on the channel reaches it any more.
    pub async fn release_channel_conversation(&self, actor: &Actor, ticket: TicketId) -> Result<(), DeskError> {
        require(actor, Permission::Manage)?;
        let mut tx = self.store().write().await?;
        tx.clear_thread_key(actor.workspace_id, ticket).await?;
        tx.commit().await?;
        Ok(())
    }

    // ---- the durable inbox ----

    /// Stores a channel event before it is processed; `None` when the same key was stored
    /// before (a replay or redelivery).
    pub async fn store_channel_event(
        &self,
        channel: Channel,
        key: &str,
        payload: &str,
    ) -> Result<Option<ChannelInboxId>, DeskError> {
        let mut tx = self.store().write().await?;
        let id = tx.insert_channel_inbox(channel.as_str(), key, payload, self.now()).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A stored event not yet processed.
    pub async fn pending_channel_event(&self, id: ChannelInboxId) -> Result<Option<ChannelInboxRecord>, DeskError> {
        let row = self.store().read().await?.channel_inbox_row(id).await?;
        Ok(row.filter(|r| r.processed_at.is_none()))
    }

    /// Events of `channel` stored at least `min_age_ms` ago and not processed yet (a crash
    /// interrupted them), oldest first.
    pub async fn pending_channel_events(
        &self,
        channel: Channel,
        min_age_ms: i64,
        limit: i64,
    ) -> Result<Vec<ChannelInboxId>, DeskError> {
        let before = self.now() - min_age_ms;
        Ok(self.store().read().await?.pending_channel_inbox(channel.as_str(), before, limit).await?)
    }

    /// Marks a stored event processed, or counts a failed attempt with the reason.
    pub async fn finish_channel_event(
        &self,
        id: ChannelInboxId,
        done: bool,
        note: Option<&str>,
    ) -> Result<(), DeskError> {
        let mut tx = self.store().write().await?;
        tx.finish_channel_inbox(id, done, note, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets processed events older than `keep_ms`; returns how many.
    pub async fn prune_channel_events(&self, channel: Channel, keep_ms: i64) -> Result<u64, DeskError> {
        let mut tx = self.store().write().await?;
        let n = tx.prune_channel_inbox(channel.as_str(), self.now() - keep_ms).await?;
        tx.commit().await?;
        Ok(n)
    }
}
