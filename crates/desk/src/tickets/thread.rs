//! The thread: public replies (and their delivery), internal notes, automatic after-close
//! messages, and reading the thread and its attachments.

use super::*;

/// A reply entry just written, for [`Desk::finish_reply`].
pub(crate) struct WrittenReply {
    pub(crate) entry_id: EntryId,
    /// When it was written: the activity stamps and the first response take this time.
    pub(crate) at: Millis,
    /// The channel it goes out on, when it does (an outbox row is queued).
    pub(crate) delivery: Option<Channel>,
}

/// A ticket's thread entry with its attachments and mentions.
#[derive(Debug, Clone)]
pub struct ThreadEntry {
    pub entry: EntryRecord,
    pub attachments: Vec<AttachmentRecord>,
    pub mentions: Vec<UserId>,
}

impl Desk {
    /// Posts a public reply. Staff replies go to the requester through the ticket's channel (an
    /// outbox row in the same transaction) and the first one stamps the first response; a
    /// customer's reply puts a waiting or resolved ticket back in front of staff.
    pub async fn reply(
        &self,
        actor: &Actor,
        ticket: TicketId,
        body: &str,
        attachments: Vec<NewAttachment>,
        then_status: Option<TicketStatus>,
    ) -> Result<ThreadEntry, DeskError> {
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let (entry, events) = self.reply_in(&mut tx, actor, ticket, body, &attachments, then_status).await?;
            tx.commit().await?;
            self.publish(events);
            Ok(entry)
        })
        .await
    }

    /// [`Desk::reply`] inside the caller's transaction, which commits it and then publishes the
    /// live events returned; for bookkeeping that must commit with the reply (an email ticket's
    /// acknowledgement commits with the ticket).
    pub(crate) async fn reply_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        ticket: TicketId,
        body: &str,
        attachments: &[NewAttachment],
        then_status: Option<TicketStatus>,
    ) -> Result<(ThreadEntry, Vec<LiveEvent>), DeskError> {
        let body = validate_body("body", body)?;
        let t = self.visible_ticket(tx, actor, ticket).await?;
        let staff = actor.is_staff_side();
        if staff {
            require(actor, Permission::Manage)?;
        } else if then_status.is_some() {
            return Err(DeskError::invalid("status", "customers cannot set the status"));
        }
        if t.status == TicketStatus::Closed {
            return Err(DeskError::invalid("ticketId", "the ticket is closed; reopen it first or open a new ticket"));
        }
        let now = self.now();
        let ticket_channel = t.channel;
        let channel = match (&actor.kind, staff) {
            (_, false) => Channel::Portal,
            (ActorKind::ApiToken { .. }, true) => Channel::Api,
            _ => Channel::Web,
        };
        let delivers = staff && ticket_channel.delivers_replies();
        let message = AutomationEvent::Message(body.clone());
        let entry_id = tx
            .insert_entry(&NewEntry {
                workspace_id: t.workspace_id,
                ticket_id: t.id,
                kind: EntryKind::Reply,
                author_user_id: actor.user_id(),
                author_contact_id: actor.contact_id(),
                channel: if delivers { ticket_channel } else { channel },
                external_message_id: None,
                body,
                delivery_status: delivers.then_some(DeliveryStatus::Pending),
                created_at: now,
            })
            .await?;
        let attachments = self.store_attachments(tx, &t, entry_id, attachments).await?;
        let delivery = delivers.then_some(ticket_channel);
        let written = WrittenReply { entry_id, at: now, delivery };
        let (entry, events) = self.finish_reply_in(tx, actor, t, written, then_status, Some(message)).await?;
        Ok((ThreadEntry { entry, attachments, mentions: Vec::new() }, events))
    }

    /// What every reply does once its entry is written: the activity stamps, the outbox row when
    /// it goes out on a channel, and for staff the first response, the status asked for, SLA
    /// targets and history (a customer's reply reopens a waiting or resolved ticket); then
    /// webhooks and automation, the commit and the live events.
    pub(crate) async fn finish_reply(
        &self,
        mut tx: Tx,
        actor: &Actor,
        t: TicketRecord,
        written: WrittenReply,
        then_status: Option<TicketStatus>,
        message: Option<AutomationEvent>,
    ) -> Result<EntryRecord, DeskError> {
        let (entry, events) = self.finish_reply_in(&mut tx, actor, t, written, then_status, message).await?;
        tx.commit().await?;
        self.publish(events);
        Ok(entry)
    }

    /// [`Desk::finish_reply`] without the commit: returns the live events to publish after it.
    async fn finish_reply_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        mut t: TicketRecord,
        written: WrittenReply,
        then_status: Option<TicketStatus>,
        message: Option<AutomationEvent>,
    ) -> Result<(EntryRecord, Vec<LiveEvent>), DeskError> {
        let WrittenReply { entry_id, at: now, delivery } = written;
        let staff = actor.is_staff_side();
        // Automatic messages (the system's follow-ups and warnings) are no activity.
        if !actor.is_automatic() {
            t.last_message_at = Some(now);
            if !staff {
                t.last_customer_message_at = Some(now);
            }
        }
        if let Some(channel) = delivery {
            self.queue_delivery(tx, t.workspace_id, t.id, entry_id, channel, now).await?;
        }
        let mut events = vec![live(&t, "entry.created", Some(entry_id), false)];
        let mut changes = Changes(Vec::new());
        let before = SlaInputs::of(&t);
        if staff {
            if t.first_responded_at.is_none() && actor.user_id().is_some() {
                t.first_responded_at = Some(now);
                changes.record("first_responded_at", None, Some(rfc3339(now)));
            }
            if let Some(to) = then_status {
                let change = check_transition(t.status, to, None)?;
                changes.record("status", Some(t.status.to_string()), Some(to.to_string()));
                apply_status(&mut t, to, change, now);
            }
            t.updated_at = now;
            self.sync_sla(tx, &mut t, before).await?;
            tx.save_ticket(&t).await?;
            self.write_history(tx, actor, &t, &changes.0).await?;
            if !changes.0.is_empty() {
                events.push(live(&t, "ticket.updated", None, false));
            }
        } else if matches!(t.status, TicketStatus::Waiting | TicketStatus::Resolved) {
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
            serde_json::json!({ "entryId": entry_id.0, "public": true }),
        )
        .await?;
        let ws = t.workspace_id;
        self.run_automation(tx, t, message.as_slice()).await?;
        let entry = tx.entry_by_id(ws, entry_id).await?.ok_or(DeskError::NotFound("entry"))?;
        Ok((entry, events))
    }

    /// Sends an automatic after-close message (`kind`: the CSAT request, the post-close
    /// follow-up, the answer to a poor rating) on a resolved or closed ticket, through its
    /// channel like a reply, at most once per kind. The status stays; returns whether the
    /// message was sent now.
    pub(crate) async fn post_after_close(
        &self,
        ws: WorkspaceId,
        id: TicketId,
        kind: &str,
        body: &str,
    ) -> Result<bool, DeskError> {
        let body = validate_body("body", body)?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let t = self.load_ticket(&mut tx, ws, id).await?;
            let now = self.now();
            if t.status.is_active() || !tx.insert_follow_up(id, kind, now).await? {
                return Ok(false);
            }
            let ticket_channel = t.channel;
            let delivers = ticket_channel.delivers_replies();
            let entry_id = tx
                .insert_entry(&NewEntry {
                    workspace_id: ws,
                    ticket_id: id,
                    kind: EntryKind::Reply,
                    author_user_id: None,
                    author_contact_id: None,
                    channel: if delivers { ticket_channel } else { Channel::Web },
                    external_message_id: None,
                    body: body.clone(),
                    delivery_status: delivers.then_some(DeliveryStatus::Pending),
                    created_at: now,
                })
                .await?;
            if delivers {
                self.queue_delivery(&mut tx, ws, id, entry_id, ticket_channel, now).await?;
            }
            let system = Actor::system(ws);
            self.emit_event(
                &mut tx,
                &system,
                &t,
                EventKind::EntryCreated,
                serde_json::json!({ "entryId": entry_id.0, "public": true, "followUp": kind }),
            )
            .await?;
            tx.commit().await?;
            self.publish(vec![live(&t, "entry.created", Some(entry_id), false)]);
            Ok(true)
        })
        .await
    }

    /// Adds an internal note, never shown to the requester. `@handle` mentions of staff (the
    /// local part of their email) are recorded on the note.
    pub async fn add_note(&self, actor: &Actor, ticket: TicketId, body: &str) -> Result<ThreadEntry, DeskError> {
        require(actor, Permission::Manage)?;
        let body = validate_body("body", body)?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let t = self.visible_ticket(&mut tx, actor, ticket).await?;
            let handles = mentions(&body);
            let mentioned: Vec<UserId> = if handles.is_empty() {
                Vec::new()
            } else {
                tx.list_users(t.workspace_id)
                    .await?
                    .into_iter()
                    .filter(|u| {
                        u.active
                            && EmailAddress::parse("email", &u.email)
                                .is_ok_and(|e| handles.iter().any(|h| h == e.local_part()))
                    })
                    .map(|u| u.id)
                    .collect()
            };
            let entry_id = tx
                .insert_entry(&NewEntry {
                    workspace_id: t.workspace_id,
                    ticket_id: t.id,
                    kind: EntryKind::Note,
                    author_user_id: actor.user_id(),
                    author_contact_id: None,
                    channel: if matches!(actor.kind, ActorKind::ApiToken { .. }) { Channel::Api } else { Channel::Web },
                    external_message_id: None,
                    body: body.clone(),
                    delivery_status: None,
                    created_at: self.now(),
                })
                .await?;
            tx.insert_mentions(t.workspace_id, entry_id, &mentioned).await?;
            let mention_ids: Vec<i64> = mentioned.iter().map(|u| u.0).collect();
            self.emit_event(
                &mut tx,
                actor,
                &t,
                EventKind::EntryCreated,
                serde_json::json!({ "entryId": entry_id.0, "public": false, "mentions": mention_ids }),
            )
            .await?;
            let entry = tx.entry_by_id(t.workspace_id, entry_id).await?.ok_or(DeskError::NotFound("entry"))?;
            tx.commit().await?;
            self.publish(vec![live(&t, "entry.created", Some(entry_id), true)]);
            Ok(ThreadEntry { entry, attachments: Vec::new(), mentions: mentioned })
        })
        .await
    }

    /// The ticket's thread, oldest first. Customers see public replies only.
    pub async fn thread(&self, actor: &Actor, ticket: TicketId) -> Result<Vec<ThreadEntry>, DeskError> {
        let mut tx = self.store().read().await?;
        let t = self.visible_ticket(&mut tx, actor, ticket).await?;
        let public_only = !actor.is_staff_side();
        let entries = tx.list_entries(t.workspace_id, t.id, public_only).await?;
        let attachments = tx.list_attachments(t.workspace_id, t.id).await?;
        let mentions = if public_only { Vec::new() } else { tx.mentions_of_entries(t.workspace_id, t.id).await? };
        Ok(entries
            .into_iter()
            .map(|e| ThreadEntry {
                attachments: attachments.iter().filter(|a| a.entry_id == e.id).cloned().collect(),
                mentions: mentions.iter().filter(|(id, _)| *id == e.id).map(|(_, u)| *u).collect(),
                entry: e,
            })
            .collect())
    }

    /// An attachment's metadata and bytes, if the actor may see the entry it belongs to.
    pub async fn attachment(&self, actor: &Actor, id: AttachmentId) -> Result<(AttachmentRecord, Vec<u8>), DeskError> {
        let mut tx = self.store().read().await?;
        let a = tx.attachment_by_id(actor.workspace_id, id).await?.ok_or(DeskError::NotFound("attachment"))?;
        self.visible_ticket(&mut tx, actor, a.ticket_id).await.map_err(|_| DeskError::NotFound("attachment"))?;
        if !actor.is_staff_side() {
            let e = tx.entry_by_id(actor.workspace_id, a.entry_id).await?.ok_or(DeskError::NotFound("attachment"))?;
            if e.kind != EntryKind::Reply {
                return Err(DeskError::NotFound("attachment"));
            }
        }
        drop(tx);
        let bytes = self.blobs().get(&a.sha256).await?;
        Ok((a, bytes))
    }
}
