//! WhatsApp channel use cases: the workspace's business numbers (admins), the durable inbox of
//! webhook notifications, the chat skills' conversation state and lookups, and the template
//! message offered outside the 24-hour customer-service window. The adapter calls these; they
//! reach the database through the channel's own queries and the desk's channel kit.

use std::future::Future;

use switchboard_desk::channel_kit::{ChannelSecret, live_event, require, retry_on_conflict, retrying, truncate};
use switchboard_desk::domain::*;
use switchboard_desk::store::{
    ContactIdentity, ContactRecord, IdentityKind, NewContact, NewEntry, StoreError, TicketRecord, Tx,
};
use switchboard_desk::{Desk, DeskError, InboundMessage, IngestOutcome, OpenTicket, RequesterRef, ThreadEntry};

use crate::queries;
use crate::records::*;

/// A number's Graph API access token; the label derives its key and never changes.
const ACCESS_TOKEN: ChannelSecret =
    ChannelSecret { label: "switchboard whatsapp tokens v1", name: "a WhatsApp access token" };

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
    pub account_id: ChannelAccountId,
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

/// The contact a WhatsApp id belongs to: by that id, else by their phone number (WhatsApp ids
/// are the number in international form without the plus).
async fn known_whatsapp_contact(
    tx: &mut Tx,
    ws: WorkspaceId,
    wa_id: &str,
) -> Result<Option<WhatsappContact>, DeskError> {
    if let Some(c) = tx.contact_by_identity(ws, IdentityKind::Channel(Channel::Whatsapp), wa_id).await? {
        return Ok(Some(WhatsappContact {
            contact: c,
            identity_kind: IdentityKind::Channel(Channel::Whatsapp),
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
    account: Option<ChannelAccountId>,
    wa_id: &str,
) -> Result<Option<WhatsappNumberRecord>, DeskError> {
    if let Some(id) = account
        && let Some(n) = queries::list_whatsapp_numbers(tx, ws).await?.into_iter().find(|n| n.id == id)
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
    let numbers = queries::list_whatsapp_numbers(tx, ws).await?;
    let last = queries::whatsapp_conversation(tx, ws, wa_id).await?.map(|c| c.phone_number_id);
    let i = last.and_then(|pn| numbers.iter().position(|n| n.phone_number_id == pn)).unwrap_or(0);
    Ok(numbers.into_iter().nth(i))
}

/// The WhatsApp channel's use cases on the desk: numbers, the inbox, the chat skills' state and
/// the template reply. Implemented for [`Desk`]; bring it into scope to call them.
pub trait WhatsappDesk {
    /// Takes in a message like [`Desk::ingest`]; a ticket it opens records `account` (the number
    /// the contact wrote to, which its replies go out from) in the same transaction, so no ticket
    /// is ever left without its number.
    fn ingest_whatsapp(
        &self,
        actor: &Actor,
        msg: InboundMessage,
        account: ChannelAccountId,
    ) -> impl Future<Output = Result<IngestOutcome, DeskError>> + Send;

    /// The workspace's WhatsApp business numbers.
    fn whatsapp_numbers(
        &self,
        actor: &Actor,
    ) -> impl Future<Output = Result<Vec<WhatsappNumberRecord>, DeskError>> + Send;

    /// Adds a number (`id: None`, token required) or changes one; the token is write-only.
    fn save_whatsapp_number(
        &self,
        actor: &Actor,
        id: Option<ChannelAccountId>,
        input: WhatsappNumberInput,
    ) -> impl Future<Output = Result<WhatsappNumberRecord, DeskError>> + Send;

    /// Removes a number; notifications for it are then recorded and skipped.
    fn delete_whatsapp_number(
        &self,
        actor: &Actor,
        id: ChannelAccountId,
    ) -> impl Future<Output = Result<(), DeskError>> + Send;

    /// The workspace and credentials of the number a notification names; `None` for a number no
    /// workspace has added.
    fn whatsapp_route(
        &self,
        phone_number_id: &str,
    ) -> impl Future<Output = Result<Option<WhatsappRoute>, DeskError>> + Send;

    /// The number to answer a contact from: the one they last wrote to, else the workspace's first.
    fn whatsapp_route_for(
        &self,
        ws: WorkspaceId,
        wa_id: &str,
    ) -> impl Future<Output = Result<Option<WhatsappRoute>, DeskError>> + Send;

    /// The number to answer a ticket from: the one it is answered on (`account`, the ticket's
    /// channel account), else as [`Desk::whatsapp_route_for`] (a ticket from before numbers were
    /// recorded on tickets, or whose number was removed).
    fn whatsapp_route_for_ticket(
        &self,
        ws: WorkspaceId,
        account: Option<ChannelAccountId>,
        wa_id: &str,
    ) -> impl Future<Output = Result<Option<WhatsappRoute>, DeskError>> + Send;

    /// Stores a verified notification durably before the webhook acknowledges it.
    fn store_whatsapp_notification(
        &self,
        body: &str,
    ) -> impl Future<Output = Result<WhatsappInboxId, DeskError>> + Send;

    /// A stored notification that still needs processing.
    fn pending_whatsapp_notification(
        &self,
        id: WhatsappInboxId,
    ) -> impl Future<Output = Result<Option<WhatsappInboxRecord>, DeskError>> + Send;

    /// Unprocessed notifications received at least `min_age_ms` ago (the crash sweep).
    fn pending_whatsapp_notifications(
        &self,
        min_age_ms: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<WhatsappInboxId>, DeskError>> + Send;

    /// Records an attempt at a notification; `done` takes it out of the inbox.
    fn finish_whatsapp_notification(
        &self,
        id: WhatsappInboxId,
        done: bool,
        note: Option<&str>,
    ) -> impl Future<Output = Result<(), DeskError>> + Send;

    /// Forgets processed notifications and handled message ids older than `keep_ms`. Meta
    /// redelivers for up to 7 days, so anything kept longer than that is only for inspection.
    fn purge_whatsapp_inbox(&self, keep_ms: i64) -> impl Future<Output = Result<u64, DeskError>> + Send;

    /// Whether an inbound message id has been handled before.
    fn whatsapp_message_seen(&self, wamid: &str) -> impl Future<Output = Result<bool, DeskError>> + Send;

    /// Records an inbound message id as handled.
    fn mark_whatsapp_message_seen(
        &self,
        actor: &Actor,
        wamid: &str,
    ) -> impl Future<Output = Result<(), DeskError>> + Send;

    /// Where the contact is in a chat skill.
    fn whatsapp_conversation(
        &self,
        actor: &Actor,
        wa_id: &str,
    ) -> impl Future<Output = Result<Option<WhatsappConversationRecord>, DeskError>> + Send;

    /// Moves the contact to a step of a chat skill (`"menu"` when none).
    fn set_whatsapp_conversation(
        &self,
        actor: &Actor,
        wa_id: &str,
        phone_number_id: &str,
        step: &str,
        subject: Option<&str>,
    ) -> impl Future<Output = Result<(), DeskError>> + Send;

    /// The contact behind a WhatsApp id: by that id, else by the phone number on an existing
    /// contact (so a known business partner is the requester); created when neither is known.
    fn whatsapp_contact(
        &self,
        actor: &Actor,
        wa_id: &str,
        profile_name: Option<&str>,
    ) -> impl Future<Output = Result<WhatsappContact, DeskError>> + Send;

    /// `support.create_ticket`: opens a chat-originated ticket (source `chat`) for the contact,
    /// answered on WhatsApp. `external_message_id` is the message that gave the description.
    fn open_chat_ticket(
        &self,
        actor: &Actor,
        contact: &ContactRecord,
        wa_id: &str,
        subject: &str,
        description: &str,
        external_message_id: &str,
    ) -> impl Future<Output = Result<TicketRecord, DeskError>> + Send;

    /// Sends the number's approved template on a WhatsApp ticket, which Meta allows outside the
    /// 24-hour window (a free-form reply is not). Goes out through the outbox like any reply.
    fn reply_with_whatsapp_template(
        &self,
        actor: &Actor,
        ticket: TicketId,
    ) -> impl Future<Output = Result<ThreadEntry, DeskError>> + Send;

    /// The template (name, language) an outbound entry is to be sent as, if it is one.
    fn whatsapp_template_of_entry(
        &self,
        entry: EntryId,
    ) -> impl Future<Output = Result<Option<(String, String)>, DeskError>> + Send;
}

impl WhatsappDesk for Desk {
    async fn ingest_whatsapp(
        &self,
        actor: &Actor,
        msg: InboundMessage,
        account: ChannelAccountId,
    ) -> Result<IngestOutcome, DeskError> {
        require(actor, Permission::Manage)?;
        let ws = actor.workspace_id;
        retry_on_conflict(|| async {
            let mut tx = self.store().write().await?;
            let (outcome, events) = self.ingest_in_tx(&mut tx, actor, &msg).await?;
            if outcome.opened {
                tx.set_ticket_channel_account(ws, outcome.ticket_id, account).await?;
            }
            tx.commit().await?;
            self.publish_live(events);
            Ok(outcome)
        })
        .await
    }

    async fn whatsapp_numbers(&self, actor: &Actor) -> Result<Vec<WhatsappNumberRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        Ok(queries::list_whatsapp_numbers(&mut self.store().read().await?, actor.workspace_id).await?)
    }

    async fn save_whatsapp_number(
        &self,
        actor: &Actor,
        id: Option<ChannelAccountId>,
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
        let token_enc = token.as_deref().map(|t| self.seal_channel_secret(ACCESS_TOKEN, t)).transpose()?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let saved = queries::upsert_whatsapp_number(
                &mut tx,
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
                StoreError::Conflict(_) => DeskError::invalid("phoneNumberId", "this phone number id is already taken"),
                other => other.into(),
            })?;
            tx.commit().await?;
            Ok(saved)
        })
        .await
    }

    async fn delete_whatsapp_number(&self, actor: &Actor, id: ChannelAccountId) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            if !queries::delete_whatsapp_number(&mut tx, actor.workspace_id, id).await? {
                return Err(DeskError::NotFound("WhatsApp number"));
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn whatsapp_route(&self, phone_number_id: &str) -> Result<Option<WhatsappRoute>, DeskError> {
        let n = queries::whatsapp_number_by_phone_id(&mut self.store().read().await?, phone_number_id).await?;
        n.map(|n| route_of(self, n)).transpose()
    }

    async fn whatsapp_route_for(&self, ws: WorkspaceId, wa_id: &str) -> Result<Option<WhatsappRoute>, DeskError> {
        let number = answering_number(&mut self.store().read().await?, ws, wa_id).await?;
        number.map(|n| route_of(self, n)).transpose()
    }

    async fn whatsapp_route_for_ticket(
        &self,
        ws: WorkspaceId,
        account: Option<ChannelAccountId>,
        wa_id: &str,
    ) -> Result<Option<WhatsappRoute>, DeskError> {
        let number = ticket_number(&mut self.store().read().await?, ws, account, wa_id).await?;
        number.map(|n| route_of(self, n)).transpose()
    }

    async fn store_whatsapp_notification(&self, body: &str) -> Result<WhatsappInboxId, DeskError> {
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let id = queries::insert_whatsapp_inbox(&mut tx, &without_nul(body), self.now()).await?;
            tx.commit().await?;
            Ok(id)
        })
        .await
    }

    async fn pending_whatsapp_notification(
        &self,
        id: WhatsappInboxId,
    ) -> Result<Option<WhatsappInboxRecord>, DeskError> {
        let n = queries::whatsapp_inbox_by_id(&mut self.store().read().await?, id).await?;
        Ok(n.filter(|n| n.processed_at.is_none()))
    }

    async fn pending_whatsapp_notifications(
        &self,
        min_age_ms: i64,
        limit: i64,
    ) -> Result<Vec<WhatsappInboxId>, DeskError> {
        Ok(queries::pending_whatsapp_inbox(&mut self.store().read().await?, self.now() - min_age_ms, limit).await?)
    }

    async fn finish_whatsapp_notification(
        &self,
        id: WhatsappInboxId,
        done: bool,
        note: Option<&str>,
    ) -> Result<(), DeskError> {
        let note = note.map(|n| truncate(&without_nul(n), 1000));
        retrying(|| async {
            let mut tx = self.store().write().await?;
            queries::finish_whatsapp_inbox(&mut tx, id, done, note.as_deref(), self.now()).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn purge_whatsapp_inbox(&self, keep_ms: i64) -> Result<u64, DeskError> {
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let n = queries::purge_whatsapp_inbox(&mut tx, self.now() - keep_ms).await?;
            tx.commit().await?;
            Ok(n)
        })
        .await
    }

    async fn whatsapp_message_seen(&self, wamid: &str) -> Result<bool, DeskError> {
        Ok(queries::whatsapp_message_seen(&mut self.store().read().await?, &without_nul(wamid)).await?)
    }

    async fn mark_whatsapp_message_seen(&self, actor: &Actor, wamid: &str) -> Result<(), DeskError> {
        require(actor, Permission::Manage)?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            queries::mark_whatsapp_message_seen(&mut tx, actor.workspace_id, &without_nul(wamid), self.now()).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn whatsapp_conversation(
        &self,
        actor: &Actor,
        wa_id: &str,
    ) -> Result<Option<WhatsappConversationRecord>, DeskError> {
        require(actor, Permission::Manage)?;
        Ok(queries::whatsapp_conversation(&mut self.store().read().await?, actor.workspace_id, wa_id).await?)
    }

    async fn set_whatsapp_conversation(
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
            queries::save_whatsapp_conversation(
                &mut tx,
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

    async fn whatsapp_contact(
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
                identities: vec![ContactIdentity::new(Channel::Whatsapp, wa_id.clone())],
                ..Default::default()
            };
            let c = tx.insert_contact(ws, &new, self.now()).await?;
            tx.commit().await?;
            Ok(WhatsappContact {
                contact: c,
                identity_kind: IdentityKind::Channel(Channel::Whatsapp),
                identity_value: wa_id.clone(),
            })
        })
        .await
    }

    async fn open_chat_ticket(
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
                .insert_ticket_in_tx(
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
            self.publish_live(vec![live_event(&t, "ticket.opened", Some(entry), false)]);
            Ok(t)
        })
        .await
    }

    async fn reply_with_whatsapp_template(&self, actor: &Actor, ticket: TicketId) -> Result<ThreadEntry, DeskError> {
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
            let wa_id = requester.identity(Channel::Whatsapp).unwrap_or_default().to_string();
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
            queries::insert_whatsapp_template_entry(&mut tx, ws, entry, &name, &language).await?;
            // A reply like any other: first response, SLA targets, history and webhooks; no
            // message-text automation, since the text is ours, not the agent's.
            let e = self.finish_reply_in_tx(tx, actor, t, entry, now, Some(Channel::Whatsapp)).await?;
            Ok(ThreadEntry { entry: e, attachments: Vec::new(), mentions: Vec::new() })
        })
        .await
    }

    async fn whatsapp_template_of_entry(&self, entry: EntryId) -> Result<Option<(String, String)>, DeskError> {
        Ok(queries::whatsapp_template_entry(&mut self.store().read().await?, entry).await?)
    }
}

fn route_of(desk: &Desk, n: WhatsappNumberRecord) -> Result<WhatsappRoute, DeskError> {
    Ok(WhatsappRoute {
        workspace_id: n.workspace_id,
        account_id: n.id,
        access_token: desk.open_channel_secret(ACCESS_TOKEN, &n.access_token_enc)?,
        template: n.template_name.zip(n.template_language),
        phone_number_id: n.phone_number_id,
    })
}
