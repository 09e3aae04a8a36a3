//! WhatsApp channel use cases: the workspace's business numbers (admins), the durable inbox of
//! webhook notifications, the chat skills' conversation state and lookups, and the template
//! message offered outside the 24-hour customer-service window. The adapter in
//! `channels/whatsapp` calls these and never touches the store.

use switchboard_domain::*;
use switchboard_store::*;

use crate::outbox::truncate;
use crate::retry::{retry_on_conflict, retrying};
use crate::sealed::SecretKind;
use crate::tickets::live;
use crate::{Desk, DeskError, OpenTicket, RequesterRef, ThreadEntry, require};

/// Thread keys of tickets opened by the WhatsApp chat skills start with this.
pub const WHATSAPP_THREAD_PREFIX: &str = "whatsapp:";

/// A business number as an admin enters it; `access_token: None` keeps the stored one.
#[derive(Debug, Clone, Default)]
pub struct WhatsappNumberInput {
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub access_token: Option<String>,
    pub template_name: Option<String>,
    pub template_language: Option<String>,
}

/// What the adapter needs to reach the Graph API as one number.
#[derive(Debug, Clone)]
pub struct WhatsappRoute {
    pub workspace_id: WorkspaceId,
    /// The number's channel account.
    pub account_id: i64,
    pub phone_number_id: String,
    /// The decrypted access token; never logged or returned over the API.
    pub access_token: String,
    /// The approved template (name, language) offered outside the 24-hour window.
    pub template: Option<(String, String)>,
}

/// How a WhatsApp contact is known to the desk: found by their WhatsApp id, or by a phone number
/// on an existing contact (a business partner the desk already knows).
#[derive(Debug, Clone)]
pub struct WhatsappContact {
    pub contact: ContactRecord,
    pub identity_kind: IdentityKind,
    pub identity_value: String,
}

fn optional(field: &str, v: Option<&str>, max: usize) -> Result<Option<String>, DeskError> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if v.chars().count() > max => {
            Err(DeskError::invalid(field, format!("must be at most {max} characters")))
        }
        Some(v) => Ok(Some(without_nul(v).into_owned())),
    }
}

impl Desk {
    fn route_of(&self, n: WhatsappNumberRecord) -> Result<WhatsappRoute, DeskError> {
        Ok(WhatsappRoute {
            workspace_id: n.workspace_id,
            account_id: n.id,
            access_token: self.open_sealed(SecretKind::WhatsappToken, &n.access_token_enc)?,
            template: n.template_name.zip(n.template_language),
            phone_number_id: n.phone_number_id,
        })
    }

    // ---- numbers (admins) ----

    /// The workspace's WhatsApp business numbers.
    pub async fn whatsapp_numbers(&self, actor: &Actor) -> Result<Vec<WhatsappNumberRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        Ok(self.store().read().await?.list_whatsapp_numbers(actor.workspace_id).await?)
    }

    /// Adds a number (`id: None`, token required) or changes one; the token is write-only.
    pub async fn save_whatsapp_number(
        &self,
        actor: &Actor,
        id: Option<i64>,
        input: WhatsappNumberInput,
    ) -> Result<WhatsappNumberRecord, DeskError> {
        require(actor, Permission::Admin)?;
        let pn = input.phone_number_id.trim();
        if pn.is_empty() || pn.len() > 40 || !pn.chars().all(|c| c.is_ascii_digit()) {
            return Err(DeskError::invalid("phoneNumberId", "must be Meta's numeric phone number id"));
        }
        let display = optional("displayPhoneNumber", Some(&input.display_phone_number), 40)?.unwrap_or_default();
        let token = optional("accessToken", input.access_token.as_deref(), 1000)?;
        if id.is_none() && token.is_none() {
            return Err(DeskError::invalid("accessToken", "is required for a new number"));
        }
        let template_name = optional("templateName", input.template_name.as_deref(), 512)?;
        let template_language = optional("templateLanguage", input.template_language.as_deref(), 20)?;
        if template_name.is_some() != template_language.is_some() {
            return Err(DeskError::invalid("templateLanguage", "give the template's name and language together"));
        }
        let token_enc = token.as_deref().map(|t| self.seal(SecretKind::WhatsappToken, t)).transpose()?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let saved = tx
                .upsert_whatsapp_number(
                    actor.workspace_id,
                    id,
                    pn,
                    &display,
                    token_enc.as_deref(),
                    template_name.as_deref(),
                    template_language.as_deref(),
                    self.now(),
                )
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => DeskError::NotFound("WhatsApp number"),
                    other => crate::admin::conflict_as_field("phoneNumberId", "this phone number id")(other),
                })?;
            tx.commit().await?;
            Ok(saved)
        })
        .await
    }

    /// Removes a number; notifications for it are then recorded and skipped.
    pub async fn delete_whatsapp_number(&self, actor: &Actor, id: i64) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            if !tx.delete_whatsapp_number(actor.workspace_id, id).await? {
                return Err(DeskError::NotFound("WhatsApp number"));
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    // ---- routing and the inbox (the channel adapter) ----

    /// The workspace and credentials of the number a notification names; `None` for a number no
    /// workspace has added.
    pub async fn whatsapp_route(&self, phone_number_id: &str) -> Result<Option<WhatsappRoute>, DeskError> {
        let n = self.store().read().await?.whatsapp_number_by_phone_id(phone_number_id).await?;
        n.map(|n| self.route_of(n)).transpose()
    }

    /// The number to answer a contact from: the one they last wrote to, else the workspace's first.
    pub async fn whatsapp_route_for(&self, ws: WorkspaceId, wa_id: &str) -> Result<Option<WhatsappRoute>, DeskError> {
        let number = answering_number(&mut self.store().read().await?, ws, wa_id).await?;
        number.map(|n| self.route_of(n)).transpose()
    }

    /// The number to answer a ticket from: the one it is answered on (`account`, the ticket's
    /// channel account), else as [`Desk::whatsapp_route_for`] (a ticket from before numbers were
    /// recorded on tickets, or whose number was removed).
    pub async fn whatsapp_route_for_ticket(
        &self,
        ws: WorkspaceId,
        account: Option<i64>,
        wa_id: &str,
    ) -> Result<Option<WhatsappRoute>, DeskError> {
        let number = ticket_number(&mut self.store().read().await?, ws, account, wa_id).await?;
        number.map(|n| self.route_of(n)).transpose()
    }

    /// Stores a verified notification durably before the webhook acknowledges it.
    pub async fn store_whatsapp_notification(&self, body: &str) -> Result<i64, DeskError> {
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let id = tx.insert_whatsapp_inbox(&without_nul(body), self.now()).await?;
            tx.commit().await?;
            Ok(id)
        })
        .await
    }

    /// A stored notification that still needs processing.
    pub async fn pending_whatsapp_notification(&self, id: i64) -> Result<Option<WhatsappInboxRecord>, DeskError> {
        let n = self.store().read().await?.whatsapp_inbox_by_id(id).await?;
        Ok(n.filter(|n| n.processed_at.is_none()))
    }

    /// Unprocessed notifications received at least `min_age_ms` ago (the crash sweep).
    pub async fn pending_whatsapp_notifications(&self, min_age_ms: i64, limit: i64) -> Result<Vec<i64>, DeskError> {
        Ok(self.store().read().await?.pending_whatsapp_inbox(self.now() - min_age_ms, limit).await?)
    }

    /// Records an attempt at a notification; `done` takes it out of the inbox.
    pub async fn finish_whatsapp_notification(&self, id: i64, done: bool, note: Option<&str>) -> Result<(), DeskError> {
        let note = note.map(|n| truncate(&without_nul(n), 1000));
        retrying(|| async {
            let mut tx = self.store().write().await?;
            tx.finish_whatsapp_inbox(id, done, note.as_deref(), self.now()).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// Forgets processed notifications and handled message ids older than `keep_ms`. Meta
    /// redelivers for up to 7 days, so anything kept longer than that is only for inspection.
    pub async fn purge_whatsapp_inbox(&self, keep_ms: i64) -> Result<u64, DeskError> {
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let n = tx.purge_whatsapp_inbox(self.now() - keep_ms).await?;
            tx.commit().await?;
            Ok(n)
        })
        .await
    }

    /// Whether an inbound message id has been handled before.
    pub async fn whatsapp_message_seen(&self, wamid: &str) -> Result<bool, DeskError> {
        Ok(self.store().read().await?.whatsapp_message_seen(&without_nul(wamid)).await?)
    }

    /// Records an inbound message id as handled.
    pub async fn mark_whatsapp_message_seen(&self, actor: &Actor, wamid: &str) -> Result<(), DeskError> {
        require(actor, Permission::Manage)?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            tx.mark_whatsapp_message_seen(actor.workspace_id, &without_nul(wamid), self.now()).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    // ---- chat skills ----

    /// Where the contact is in a chat skill.
    pub async fn whatsapp_conversation(
        &self,
        actor: &Actor,
        wa_id: &str,
    ) -> Result<Option<WhatsappConversationRecord>, DeskError> {
        require(actor, Permission::Manage)?;
        Ok(self.store().read().await?.whatsapp_conversation(actor.workspace_id, wa_id).await?)
    }

    /// Moves the contact to a step of a chat skill (`"menu"` when none).
    pub async fn set_whatsapp_conversation(
        &self,
        actor: &Actor,
        wa_id: &str,
        phone_number_id: &str,
        step: &str,
        subject: Option<&str>,
    ) -> Result<(), DeskError> {
        require(actor, Permission::Manage)?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let subject = subject.map(without_nul);
            let wa_id = without_nul(wa_id);
            tx.save_whatsapp_conversation(
                actor.workspace_id,
                &wa_id,
                phone_number_id,
                step,
                subject.as_deref(),
                self.now(),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// The contact behind a WhatsApp id: by that id, else by the phone number on an existing
    /// contact (so a known business partner is the requester); created when neither is known.
    pub async fn whatsapp_contact(
        &self,
        actor: &Actor,
        wa_id: &str,
        profile_name: Option<&str>,
    ) -> Result<WhatsappContact, DeskError> {
        require(actor, Permission::Manage)?;
        let ws = actor.workspace_id;
        let wa_id = validate_name("from", wa_id)?;
        // Nearly every message comes from a known contact: look without the write lock first,
        // then again under it, since another message may have added the contact meanwhile.
        if let Some(found) = known_whatsapp_contact(&mut self.store().read().await?, ws, &wa_id).await? {
            return Ok(found);
        }
        retry_on_conflict(|| async {
            let mut tx = self.store().write().await?;
            if let Some(found) = known_whatsapp_contact(&mut tx, ws, &wa_id).await? {
                return Ok(found);
            }
            let name = profile_name.map(str::trim).filter(|n| !n.is_empty()).unwrap_or(&wa_id);
            let new = NewContact {
                name: validate_name("profile.name", name)?,
                phone: Some(format!("+{wa_id}")),
                whatsapp_id: Some(wa_id.clone()),
                ..Default::default()
            };
            let c = tx.insert_contact(ws, &new, self.now()).await?;
            tx.commit().await?;
            Ok(WhatsappContact { contact: c, identity_kind: IdentityKind::Whatsapp, identity_value: wa_id.clone() })
        })
        .await
    }

    /// `support.create_ticket`: opens a chat-originated ticket (source `chat`) for the contact,
    /// answered on WhatsApp. `external_message_id` is the message that gave the description.
    pub async fn open_chat_ticket(
        &self,
        actor: &Actor,
        contact: &ContactRecord,
        wa_id: &str,
        subject: &str,
        description: &str,
        external_message_id: &str,
    ) -> Result<TicketRecord, DeskError> {
        require(actor, Permission::Manage)?;
        let input = OpenTicket {
            subject: subject.to_string(),
            description: Some(description.to_string()),
            requester: RequesterRef::Contact(contact.id),
            priority: None,
            source: Some(Source::Chat),
            queue_id: None,
            help_topic_id: None,
            assignee_id: None,
            tags: Vec::new(),
            resolution_due_at: None,
            attachments: Vec::new(),
        };
        let ws = actor.workspace_id;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            // One key per ticket (keys are unique); later messages are matched by ticket, not key.
            let key = format!("{WHATSAPP_THREAD_PREFIX}{wa_id}:{external_message_id}");
            let (t, entry) = self
                .insert_ticket(
                    &mut tx,
                    actor,
                    contact,
                    &input,
                    Channel::Whatsapp,
                    Some(key.clone()),
                    Some(external_message_id.into()),
                )
                .await?;
            if let Some(number) = answering_number(&mut tx, ws, wa_id).await? {
                tx.set_ticket_channel_account(ws, t.id, number.id).await?;
            }
            tx.commit().await?;
            self.publish(vec![live(&t, "ticket.opened", Some(entry), false)]);
            Ok(t)
        })
        .await
    }

    /// `support.list_my_tickets`: the requester's most recent tickets, newest first.
    pub async fn requester_tickets(
        &self,
        actor: &Actor,
        contact: ContactId,
        limit: i64,
    ) -> Result<Vec<TicketRecord>, DeskError> {
        require(actor, Permission::View)?;
        let q =
            TicketQuery { requester_id: Some(contact), ..TicketQuery::new(actor.workspace_id, limit.clamp(1, 100)) };
        Ok(self.store().read().await?.list_tickets(&q).await?)
    }

    /// `support.get_ticket_status`: a ticket by number, only when `contact` is its requester;
    /// `None` alike for a missing ticket, someone else's, or text that is not a number.
    pub async fn requester_ticket_by_number(
        &self,
        actor: &Actor,
        contact: ContactId,
        number: &str,
    ) -> Result<Option<TicketRecord>, DeskError> {
        require(actor, Permission::View)?;
        let mut tx = self.store().read().await?;
        let prefix = tx.workspace_by_id(actor.workspace_id).await?.ticket_prefix;
        let Some(seq) = TicketNumber::parse_seq(number.trim(), &prefix) else { return Ok(None) };
        let t = tx.ticket_by_number(actor.workspace_id, seq).await?;
        Ok(t.filter(|t| t.requester_id == contact))
    }

    /// The requester's most recent ticket that is not closed.
    pub async fn open_ticket_of_requester(
        &self,
        actor: &Actor,
        contact: ContactId,
    ) -> Result<Option<TicketRecord>, DeskError> {
        let tickets = self.requester_tickets(actor, contact, 20).await?;
        Ok(tickets.into_iter().find(|t| t.status != TicketStatus::Closed))
    }

    /// Keeps something the channel sent that the desk cannot show (an unknown message type) as a
    /// system entry on the ticket. Idempotent on the channel's message id.
    pub async fn add_channel_system_entry(
        &self,
        actor: &Actor,
        ticket: TicketId,
        channel: Channel,
        external_message_id: &str,
        body: &str,
    ) -> Result<EntryId, DeskError> {
        require(actor, Permission::Manage)?;
        let ws = actor.workspace_id;
        let body = validate_body("body", body)?;
        // Two deliveries of one message race on the entry's unique channel id: the loser reruns
        // and finds the winner's entry.
        retry_on_conflict(|| async {
            let mut tx = self.store().write().await?;
            if let Some(e) = tx.entry_by_external_id(ws, channel, external_message_id).await? {
                return Ok(e.id);
            }
            let t = tx.ticket_by_id(ws, ticket).await?.ok_or(DeskError::NotFound("ticket"))?;
            let id = tx
                .insert_entry(&NewEntry {
                    workspace_id: ws,
                    ticket_id: t.id,
                    kind: EntryKind::System,
                    author_user_id: None,
                    author_contact_id: None,
                    channel,
                    external_message_id: Some(external_message_id.to_string()),
                    body: body.clone(),
                    delivery_status: None,
                    created_at: self.now(),
                })
                .await?;
            tx.commit().await?;
            self.publish(vec![live(&t, "entry.created", Some(id), false)]);
            Ok(id)
        })
        .await
    }

    // ---- outside the customer-service window ----

    /// Sends the number's approved template on a WhatsApp ticket, which Meta allows outside the
    /// 24-hour window (a free-form reply is not). Goes out through the outbox like any reply.
    pub async fn reply_with_whatsapp_template(
        &self,
        actor: &Actor,
        ticket: TicketId,
    ) -> Result<ThreadEntry, DeskError> {
        require(actor, Permission::Manage)?;
        let ws = actor.workspace_id;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let t = tx.ticket_by_id(ws, ticket).await?.ok_or(DeskError::NotFound("ticket"))?;
            if t.channel != Channel::Whatsapp {
                return Err(DeskError::invalid("ticketId", "is not a WhatsApp ticket"));
            }
            if t.status == TicketStatus::Closed {
                return Err(DeskError::invalid("ticketId", "the ticket is closed; reopen it first"));
            }
            let requester = tx.contact_by_id(ws, t.requester_id).await?.ok_or(DeskError::NotFound("contact"))?;
            let wa_id = requester.whatsapp_id.clone().unwrap_or_default();
            let number = ticket_number(&mut tx, ws, t.channel_account_id, &wa_id)
                .await?
                .ok_or_else(|| DeskError::invalid("ticketId", "the workspace has no WhatsApp number"))?;
            let (Some(name), Some(language)) = (number.template_name.clone(), number.template_language.clone()) else {
                return Err(DeskError::invalid("template", "no template is configured for this WhatsApp number"));
            };
            let now = self.now();
            let body = format!("Template message \"{name}\" ({language}), sent to reopen the conversation.");
            let entry = tx
                .insert_entry(&NewEntry {
                    workspace_id: ws,
                    ticket_id: t.id,
                    kind: EntryKind::Reply,
                    author_user_id: actor.user_id(),
                    author_contact_id: None,
                    channel: Channel::Whatsapp,
                    external_message_id: None,
                    body,
                    delivery_status: Some(DeliveryStatus::Pending),
                    created_at: now,
                })
                .await?;
            tx.insert_whatsapp_template_entry(ws, entry, &name, &language).await?;
            // A reply like any other: first response, SLA targets, history and webhooks; no
            // message-text automation, since the text is ours, not the agent's.
            let written = crate::tickets::WrittenReply { entry_id: entry, at: now, delivery: Some(Channel::Whatsapp) };
            let e = self.finish_reply(tx, actor, t, written, None, None).await?;
            Ok(ThreadEntry { entry: e, attachments: Vec::new(), mentions: Vec::new() })
        })
        .await
    }

    /// The template (name, language) an outbound entry is to be sent as, if it is one.
    pub async fn whatsapp_template_of_entry(&self, entry: EntryId) -> Result<Option<(String, String)>, DeskError> {
        Ok(self.store().read().await?.whatsapp_template_entry(entry).await?)
    }
}

/// The contact a WhatsApp id belongs to: by that id, else by their phone number (WhatsApp ids
/// are the number in international form without the plus).
async fn known_whatsapp_contact(
    tx: &mut Tx,
    ws: WorkspaceId,
    wa_id: &str,
) -> Result<Option<WhatsappContact>, DeskError> {
    if let Some(c) = tx.contact_by_identity(ws, IdentityKind::Whatsapp, wa_id).await? {
        return Ok(Some(WhatsappContact {
            contact: c,
            identity_kind: IdentityKind::Whatsapp,
            identity_value: wa_id.into(),
        }));
    }
    for phone in [format!("+{wa_id}"), wa_id.to_string()] {
        if let Some(c) = tx.contact_by_identity(ws, IdentityKind::Phone, &phone).await? {
            return Ok(Some(WhatsappContact { contact: c, identity_kind: IdentityKind::Phone, identity_value: phone }));
        }
    }
    Ok(None)
}

/// The number a ticket is answered from: its channel account, else the one the requester last
/// wrote to, else the workspace's first.
async fn ticket_number(
    tx: &mut Tx,
    ws: WorkspaceId,
    account: Option<i64>,
    wa_id: &str,
) -> Result<Option<WhatsappNumberRecord>, DeskError> {
    if let Some(id) = account
        && let Some(n) = tx.list_whatsapp_numbers(ws).await?.into_iter().find(|n| n.id == id)
    {
        return Ok(Some(n));
    }
    answering_number(tx, ws, wa_id).await
}

/// The number to answer a contact from: the one they last wrote to, else the workspace's first.
async fn answering_number(
    tx: &mut Tx,
    ws: WorkspaceId,
    wa_id: &str,
) -> Result<Option<WhatsappNumberRecord>, DeskError> {
    let numbers = tx.list_whatsapp_numbers(ws).await?;
    let last = tx.whatsapp_conversation(ws, wa_id).await?.map(|c| c.phone_number_id);
    let i = last.and_then(|pn| numbers.iter().position(|n| n.phone_number_id == pn)).unwrap_or(0);
    Ok(numbers.into_iter().nth(i))
}
