//! Ingest: a message from any channel becomes a new ticket or a reply on its thread, once.

use super::*;

/// A message that arrived on a channel, as an adapter hands it to [`Desk::ingest`].
#[derive(Debug, Clone)]
pub struct InboundMessage {
    pub channel: Channel,
    /// The channel's conversation key (a thread's root message, a chat with one person, a ticket's
    /// own channel), as the channel keeps it.
    pub thread_key: Option<String>,
    /// A ticket the adapter already matched (by headers or a number in the subject).
    pub ticket_id: Option<TicketId>,
    /// The channel's id of this message; a second message with the same id changes nothing.
    pub external_message_id: String,
    pub sender_kind: IdentityKind,
    pub sender_value: String,
    pub sender_name: Option<String>,
    /// Subject for a new ticket; the first line of the text when absent.
    pub subject: Option<String>,
    pub text: String,
    pub attachments: Vec<NewAttachment>,
}

/// What ingest did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestOutcome {
    pub ticket_id: TicketId,
    pub entry_id: EntryId,
    /// A new ticket was opened for it.
    pub opened: bool,
    /// The message had been ingested before; nothing changed.
    pub duplicate: bool,
}

impl Desk {
    /// Takes in a message from any channel: finds or creates the sender's contact, finds the
    /// ticket (matched by the adapter, or by thread key) or opens one, and appends the message.
    /// Idempotent on (channel, external message id): a redelivered message changes nothing.
    pub async fn ingest(&self, actor: &Actor, msg: InboundMessage) -> Result<IngestOutcome, DeskError> {
        require(actor, Permission::Manage)?;
        retry_on_conflict(|| self.ingest_once(actor, &msg)).await
    }

    async fn ingest_once(&self, actor: &Actor, msg: &InboundMessage) -> Result<IngestOutcome, DeskError> {
        let mut tx = self.store().write().await?;
        let (outcome, events) = self.ingest_in(&mut tx, actor, msg).await?;
        tx.commit().await?;
        self.publish(events);
        Ok(outcome)
    }

    /// [`Desk::ingest`]'s work inside the caller's transaction, so a channel's own bookkeeping
    /// commits with the message or not at all. Returns the live events to publish after the
    /// commit; the caller retries the whole transaction on a conflict.
    pub(crate) async fn ingest_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        msg: &InboundMessage,
    ) -> Result<(IngestOutcome, Vec<LiveEvent>), DeskError> {
        let ws = actor.workspace_id;
        // Ids and keys are compared, not shown: a NUL in one is replaced like in any text, so the
        // same message always finds itself.
        let ext = without_nul(msg.external_message_id.trim());
        let ext = ext.as_ref();
        if ext.is_empty() || ext.len() > 500 {
            return Err(DeskError::invalid("externalMessageId", "must be 1-500 characters"));
        }
        let text = validate_body("text", &msg.text)?;
        if let Some(e) = tx.entry_by_external_id(ws, msg.channel, ext).await? {
            let outcome = IngestOutcome { ticket_id: e.ticket_id, entry_id: e.id, opened: false, duplicate: true };
            return Ok((outcome, Vec::new()));
        }
        let sender_value = match msg.sender_kind {
            IdentityKind::Email => EmailAddress::parse("sender", &msg.sender_value)?.as_str().to_string(),
            _ => validate_name("sender", &msg.sender_value)?,
        };
        let contact = match tx.contact_by_identity(ws, msg.sender_kind, &sender_value).await? {
            Some(c) => c,
            None => {
                let name =
                    msg.sender_name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| sender_value.clone());
                let new =
                    NewContact::known_by(validate_name("senderName", &name)?, msg.sender_kind, sender_value.clone());
                tx.insert_contact(ws, &new, self.now()).await?
            }
        };
        let thread_key =
            msg.thread_key.as_deref().map(str::trim).filter(|k| !k.is_empty()).map(|k| without_nul(k).into_owned());
        let mut existing = match msg.ticket_id {
            Some(id) => Some(self.load_ticket(tx, ws, id).await?),
            None => match &thread_key {
                Some(k) => match tx.ticket_id_by_thread_key(ws, k).await? {
                    Some(id) => Some(self.load_ticket(tx, ws, id).await?),
                    None => None,
                },
                None => None,
            },
        };
        // A closed ticket stays closed: a new message on its thread opens a fresh ticket, which
        // takes over the thread key.
        if let Some(t) = existing.as_mut().filter(|t| t.status == TicketStatus::Closed) {
            if t.thread_key.is_some() {
                t.thread_key = None;
                tx.clear_thread_key(ws, t.id).await?;
            }
            existing = None;
        }
        let (outcome, events) = match existing {
            Some(mut t) => {
                let entry = tx
                    .insert_entry(&NewEntry {
                        workspace_id: ws,
                        ticket_id: t.id,
                        kind: EntryKind::Reply,
                        author_user_id: None,
                        author_contact_id: Some(contact.id),
                        channel: msg.channel,
                        external_message_id: Some(ext.to_string()),
                        body: text.clone(),
                        delivery_status: None,
                        created_at: self.now(),
                    })
                    .await;
                let entry = entry?;
                self.store_attachments(tx, &t, entry, &msg.attachments).await?;
                let mut events = vec![live(&t, "entry.created", Some(entry), false)];
                let now = self.now();
                t.last_message_at = Some(now);
                t.last_customer_message_at = Some(now);
                if t.requester_id == contact.id && matches!(t.status, TicketStatus::Waiting | TicketStatus::Resolved) {
                    self.customer_replied(tx, actor, &mut t).await?;
                    events.push(live(&t, "ticket.updated", None, false));
                } else {
                    t.updated_at = now;
                    tx.save_ticket(&t).await?;
                }
                self.emit_event(
                    tx,
                    actor,
                    &t,
                    EventKind::EntryCreated,
                    serde_json::json!({ "entryId": entry.0, "channel": msg.channel.as_str() }),
                )
                .await?;
                let ticket_id = t.id;
                self.run_automation(tx, t, &[AutomationEvent::Message(text)]).await?;
                (IngestOutcome { ticket_id, entry_id: entry, opened: false, duplicate: false }, events)
            }
            None => {
                let subject = msg.subject.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| {
                    text.lines().next().unwrap_or_default().chars().take(MAX_SUBJECT_CHARS).collect()
                });
                let input = OpenTicket {
                    subject,
                    description: Some(text),
                    requester: RequesterRef::Contact(contact.id),
                    priority: None,
                    source: Some(Source::for_channel(msg.channel)),
                    queue_id: None,
                    help_topic_id: None,
                    assignee_id: None,
                    tags: Vec::new(),
                    resolution_due_at: None,
                    attachments: msg.attachments.clone(),
                };
                let (t, entry) = self
                    .insert_ticket(tx, actor, &contact, &input, msg.channel, thread_key, Some(ext.to_string()))
                    .await?;
                (
                    IngestOutcome { ticket_id: t.id, entry_id: entry, opened: true, duplicate: false },
                    vec![live(&t, "ticket.opened", Some(entry), false)],
                )
            }
        };
        Ok((outcome, events))
    }

    /// The requester wrote back: a ticket waiting on them (or resolved) needs staff again.
    pub(super) async fn customer_replied(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        t: &mut TicketRecord,
    ) -> Result<(), DeskError> {
        let old = t.status;
        let before = SlaInputs::of(t);
        let change = check_transition(old, TicketStatus::Open, None)?;
        t.status = TicketStatus::Open;
        if change == StatusChange::Reopen {
            t.resolved_at = None;
        }
        t.updated_at = self.now();
        self.sync_sla(tx, t, before).await?;
        tx.save_ticket(t).await?;
        self.write_history(
            tx,
            actor,
            t,
            &[NewHistory { field: "status", old_value: Some(old.to_string()), new_value: Some("open".into()) }],
        )
        .await?;
        let kind = if change == StatusChange::Reopen { EventKind::TicketReopened } else { EventKind::TicketUpdated };
        self.emit_event(tx, actor, t, kind, serde_json::json!({})).await
    }
}
