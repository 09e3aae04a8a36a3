//! Processing a stored notification: routing each change to its workspace by phone number id,
//! recording status updates, and handing each message to the chat skills or the open ticket.
//!
//! The body is read as JSON first and each entry, change, contact, status and message on its own,
//! so one item Meta (or a new API version) shapes unexpectedly is noted with its place and reason
//! and the items beside it are still handled. A message that cannot be read but has an id and a
//! sender is kept on the contact's ticket as a system entry, never silently dropped.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use switchboard_desk::domain::{Actor, Channel, DeliveryStatus, TicketId};
use switchboard_desk::{DeskError, InboundMessage, NewAttachment};

use crate::{WhatsappContact, WhatsappDesk, WhatsappInboxId, WhatsappRoute};

use crate::payload::{Contact, Message, Metadata, Status};
use crate::{GraphError, WhatsappChannel};

/// A notification still failing after this many attempts is set aside (kept, with its note).
const MAX_ATTEMPTS: i64 = 8;
/// How long a replica may take over one notification before another may try it too (a dead
/// replica's row waits this long; a live one is done in seconds).
const NOTIFICATION_LEASE: std::time::Duration = std::time::Duration::from_secs(300);

/// Why handling one message did not finish.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Try the notification again later (Graph API or database trouble).
    Transient(String),
    /// This message cannot be handled; note it and go on.
    Permanent(String),
}

impl From<DeskError> for Failure {
    fn from(e: DeskError) -> Self {
        match e {
            DeskError::Validation(v) => Failure::Permanent(format!("{}: {}", v.field, v.message)),
            DeskError::NotFound(what) => Failure::Permanent(format!("{what} not found")),
            other => Failure::Transient(other.to_string()),
        }
    }
}

impl From<GraphError> for Failure {
    fn from(e: GraphError) -> Self {
        match e {
            GraphError::Transient(m) => Failure::Transient(m),
            GraphError::Permanent(m) => Failure::Permanent(m),
        }
    }
}

/// Who wrote, as the skills need them.
pub(crate) struct Sender<'a> {
    pub route: &'a WhatsappRoute,
    pub actor: Actor,
    pub wa_id: String,
    pub contact: WhatsappContact,
}

impl WhatsappChannel {
    /// Processes one stored notification; every entry, change, message and status in it.
    pub async fn process_notification(&self, id: WhatsappInboxId) {
        // The webhook's own task and every replica's sweep may reach for the same row: the one
        // holding its lease processes it, the others leave it be.
        let lease = format!("whatsapp.inbox.{id}");
        match self.desk.take_lease(&lease, NOTIFICATION_LEASE).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(error = %e, id = id.0, "taking a WhatsApp notification's lease failed; the sweep will retry");
                return;
            }
        }
        self.process_leased_notification(id).await;
        if let Err(e) = self.desk.release_lease(&lease).await {
            tracing::warn!(error = %e, id = id.0, "releasing a WhatsApp notification's lease failed; it runs out by itself");
        }
    }

    async fn process_leased_notification(&self, id: WhatsappInboxId) {
        let row = match self.desk.pending_whatsapp_notification(id).await {
            Ok(Some(row)) => row,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, id = id.0, "reading a WhatsApp notification failed; the sweep will retry");
                return;
            }
        };
        let mut notes = Vec::new();
        let retry = match serde_json::from_str::<Value>(&row.body) {
            Err(e) => {
                notes.push(format!("not a WhatsApp notification: {e}"));
                false
            }
            Ok(body) => self.process_body(&body, &mut notes).await,
        };
        let done = !retry || row.attempts + 1 >= MAX_ATTEMPTS;
        let note = (!notes.is_empty()).then(|| notes.join("; "));
        if let Some(n) = &note {
            tracing::info!(id = id.0, note = %n, "WhatsApp notification processed with notes");
        }
        if let Err(e) = self.desk.finish_whatsapp_notification(id, done, note.as_deref()).await {
            tracing::warn!(error = %e, id = id.0, "recording a WhatsApp notification as processed failed");
        }
    }

    /// Handles every item of a notification body; returns whether something should be retried.
    async fn process_body(&self, body: &Value, notes: &mut Vec<String>) -> bool {
        if !body.is_object() {
            notes.push("not a WhatsApp notification: the body is not a JSON object".into());
            return false;
        }
        match body.get("object") {
            Some(Value::String(o)) if o == "whatsapp_business_account" => {}
            other => notes.push(format!("object {} is not \"whatsapp_business_account\"", shown(other))),
        }
        let mut retry = false;
        for (e, entry) in items(body, "entry", "entry", notes).iter().enumerate() {
            let at = format!("entry[{e}].changes");
            for (c, change) in items(entry, "changes", &at, notes).iter().enumerate() {
                retry |= self.process_change(&format!("{at}[{c}]"), change, notes).await;
            }
        }
        retry
    }

    /// One change (`at` is where it sits in the body, for the notes); returns whether to retry.
    async fn process_change(&self, at: &str, change: &Value, notes: &mut Vec<String>) -> bool {
        let field = change.get("field");
        let Some(value) = change.get("value").filter(|_| field.and_then(Value::as_str) == Some("messages")) else {
            notes.push(format!("{at}: field {} ignored", shown(field)));
            return false;
        };
        let meta = match value.get("metadata").map(Metadata::deserialize) {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                notes.push(malformed(&format!("{at}.value.metadata"), &e));
                return false;
            }
            None => {
                notes.push(format!("{at}: a change without metadata"));
                return false;
            }
        };
        let route = match self.desk.whatsapp_route(&meta.phone_number_id).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                // Recorded (in the inbox, with this note) and skipped: redelivering it would not
                // make the number known.
                notes.push(format!("{at}: unknown phone number id {}", meta.phone_number_id));
                return false;
            }
            Err(e) => {
                notes.push(format!("{at}: {e}"));
                return true;
            }
        };
        let mut retry = false;
        let contacts: Vec<Contact> = parsed(value, "contacts", &format!("{at}.value.contacts"), notes);
        let names: HashMap<&str, &str> =
            contacts.iter().filter_map(|c| Some((c.wa_id.as_str(), c.profile.as_ref()?.name.as_deref()?))).collect();
        for status in parsed::<Status>(value, "statuses", &format!("{at}.value.statuses"), notes) {
            if let Err(e) = self.record_status(&route, &status).await {
                notes.push(format!("status of {}: {e}", status.id));
                retry = true;
            }
        }
        let at = format!("{at}.value.messages");
        for (i, item) in items(value, "messages", &at, notes).iter().enumerate() {
            let message = Message::deserialize(item);
            let (id, from) = match &message {
                Ok(m) => (m.id.as_str(), m.from.as_str()),
                Err(e) => {
                    notes.push(malformed(&format!("{at}[{i}]"), e));
                    // Kept on the ticket when it can still be filed under an id and a sender.
                    match (item.get("id").and_then(Value::as_str), item.get("from").and_then(Value::as_str)) {
                        (Some(id), Some(from)) if !id.is_empty() && !from.is_empty() => (id, from),
                        _ => continue,
                    }
                }
            };
            let content = message.as_ref().map_err(|e| e.to_string());
            match self.handle_message(&route, id, from, content, names.get(from).copied()).await {
                Ok(()) => {}
                Err(Failure::Permanent(e)) => notes.push(format!("message {id}: {e}")),
                Err(Failure::Transient(e)) => {
                    notes.push(format!("message {id}: {e}"));
                    retry = true;
                }
            }
        }
        retry
    }

    async fn record_status(&self, route: &WhatsappRoute, s: &Status) -> Result<(), DeskError> {
        let status = match s.status.as_str() {
            "sent" => DeliveryStatus::Sent,
            "delivered" => DeliveryStatus::Delivered,
            "read" => DeliveryStatus::Read,
            "failed" => DeliveryStatus::Failed,
            // "deleted", "warning" and whatever comes next say nothing about delivery.
            _ => return Ok(()),
        };
        let error =
            (!s.errors.is_empty()).then(|| s.errors.iter().map(|e| e.describe()).collect::<Vec<_>>().join("; "));
        let matched = self
            .desk
            .record_delivery_report(route.workspace_id, Channel::Whatsapp, &s.id, status, error.as_deref())
            .await?;
        if !matched {
            // Bot messages of the chat skills are not entries; their reports match nothing.
            tracing::debug!(wamid = %s.id, "a WhatsApp status for a message that is not an entry");
        }
        Ok(())
    }

    /// One message, by its id and sender; `content` is the message, or why it could not be read.
    async fn handle_message(
        &self,
        route: &WhatsappRoute,
        id: &str,
        from: &str,
        content: Result<&Message, String>,
        name: Option<&str>,
    ) -> Result<(), Failure> {
        // Meta redelivers; a message handled before changes nothing (a skill step must not run twice).
        if self.desk.whatsapp_message_seen(id).await? {
            return Ok(());
        }
        // The number's adapter, not the system: it may ingest and read, never administer.
        let actor = Actor::channel(route.workspace_id, Channel::Whatsapp, Some(route.account_id));
        let contact = self.desk.whatsapp_contact(&actor, from, name).await?;
        // From here on it acts for this contact: it reads their tickets and no one else's.
        let actor = actor.for_requester(contact.contact.id);
        let sender = Sender { route, actor, wa_id: from.to_string(), contact };
        let m = match content {
            Ok(m) => m,
            Err(reason) => {
                let result = self.keep_unreadable(&sender, id, &reason).await;
                if !matches!(result, Err(Failure::Transient(_))) {
                    self.desk.mark_whatsapp_message_seen(&sender.actor, id).await?;
                }
                return result;
            }
        };
        let result = match m.kind.as_str() {
            "text" => match &m.text {
                Some(t) => self.on_text(&sender, &m.id, &t.body).await,
                None => self.keep_unknown(&sender, m).await,
            },
            "interactive" => {
                let reply = m.interactive.as_ref().and_then(|i| i.button_reply.as_ref().or(i.list_reply.as_ref()));
                match reply {
                    Some(r) => self.on_choice(&sender, &r.id).await,
                    None => self.keep_unknown(&sender, m).await,
                }
            }
            // A quick-reply button of a template message: its payload or label, as text.
            "button" => match &m.button {
                Some(b) => {
                    let text = if b.text.is_empty() { &b.payload } else { &b.text };
                    self.on_text(&sender, &m.id, text).await
                }
                None => self.keep_unknown(&sender, m).await,
            },
            "image" | "document" | "audio" | "video" => self.on_media(&sender, m).await,
            _ => self.keep_unknown(&sender, m).await,
        };
        match result {
            // A message that cannot be handled is still marked, so redelivery does not loop on it.
            Ok(()) | Err(Failure::Permanent(_)) => self.desk.mark_whatsapp_message_seen(&sender.actor, &m.id).await?,
            Err(Failure::Transient(_)) => {}
        }
        result
    }

    /// Media: fetched through the Graph API and added to the contact's open ticket (or a new one).
    async fn on_media(&self, s: &Sender<'_>, m: &Message) -> Result<(), Failure> {
        let Some(part) = m.image.as_ref().or(m.document.as_ref()).or(m.audio.as_ref()).or(m.video.as_ref()) else {
            return self.keep_unknown(s, m).await;
        };
        let media = self.graph.download_media(&part.id, &s.route.access_token).await?;
        let content_type = part.mime_type.clone().unwrap_or(media.mime_type);
        let ext = content_type.split('/').nth(1).and_then(|e| e.split(';').next()).unwrap_or("bin");
        let file_name = part.filename.clone().unwrap_or_else(|| format!("{}-{}.{ext}", m.kind, part.id));
        let text = part
            .caption
            .clone()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| format!("({} {file_name})", m.kind));
        let attachment = NewAttachment { file_name, content_type, bytes: media.bytes };
        let open = self.desk.open_ticket_of_requester(&s.actor, s.contact.contact.id).await?;
        self.add_to_thread(s, open.map(|t| t.id), &m.id, &text, vec![attachment]).await
    }

    /// A message type the desk cannot show: kept as a system entry, never dropped.
    async fn keep_unknown(&self, s: &Sender<'_>, m: &Message) -> Result<(), Failure> {
        let text = format!(
            "A WhatsApp message of type \"{}\" arrived that Switchboard cannot show; the contact may need to send it another way.",
            if m.kind.is_empty() { "unknown" } else { &m.kind }
        );
        self.keep_as_system_entry(s, &m.id, &text).await
    }

    /// A message whose content could not be read (a field of an unexpected type): kept with why.
    async fn keep_unreadable(&self, s: &Sender<'_>, wamid: &str, reason: &str) -> Result<(), Failure> {
        let reason: String = reason.chars().take(300).collect();
        let text = format!(
            "A WhatsApp message arrived that Switchboard could not read ({reason}); the contact may need to send it again."
        );
        self.keep_as_system_entry(s, wamid, &text).await
    }

    /// Keeps `text` as a system entry on the contact's open ticket, or opens a ticket with it.
    async fn keep_as_system_entry(&self, s: &Sender<'_>, wamid: &str, text: &str) -> Result<(), Failure> {
        match self.desk.open_ticket_of_requester(&s.actor, s.contact.contact.id).await? {
            Some(t) => {
                self.desk.add_channel_system_entry(&s.actor, t.id, Channel::Whatsapp, wamid, text, &[]).await?;
                Ok(())
            }
            None => self.add_to_thread(s, None, wamid, text, Vec::new()).await,
        }
    }

    /// Adds a message to the contact's open ticket (`open`, which the caller looked up) through
    /// ingest, or opens a WhatsApp ticket when there is none.
    pub(crate) async fn add_to_thread(
        &self,
        s: &Sender<'_>,
        open: Option<TicketId>,
        wamid: &str,
        text: &str,
        attachments: Vec<NewAttachment>,
    ) -> Result<(), Failure> {
        let msg = InboundMessage {
            channel: Channel::Whatsapp,
            thread_key: None,
            ticket_id: open,
            external_message_id: wamid.to_string(),
            sender_kind: s.contact.identity_kind,
            sender_value: s.contact.identity_value.clone(),
            sender_name: Some(s.contact.contact.name.clone()),
            subject: None,
            text: text.to_string(),
            attachments,
        };
        // A new ticket records the number the contact wrote to, which its replies go out from.
        self.desk.ingest_whatsapp(&s.actor, msg, s.route.account_id).await?;
        Ok(())
    }
}

/// The list under `key` of `parent`; a missing one is empty, anything else is noted and skipped.
fn items<'a>(parent: &'a Value, key: &str, at: &str, notes: &mut Vec<String>) -> &'a [Value] {
    match parent.get(key) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(list)) => list,
        Some(other) => {
            notes.push(format!("{at}: expected a list, found {}", kind_of(other)));
            &[]
        }
    }
}

/// Each item of the list under `key` that reads as a `T`; the others are noted with their place.
fn parsed<T: for<'de> Deserialize<'de>>(parent: &Value, key: &str, at: &str, notes: &mut Vec<String>) -> Vec<T> {
    items(parent, key, at, notes)
        .iter()
        .enumerate()
        .filter_map(|(i, item)| T::deserialize(item).map_err(|e| notes.push(malformed(&format!("{at}[{i}]"), &e))).ok())
        .collect()
}

fn malformed(at: &str, e: &serde_json::Error) -> String {
    tracing::warn!(at, error = %e, "a malformed item in a WhatsApp notification");
    format!("{at}: {e}")
}

fn shown(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => format!("{s:?}"),
        Some(other) => kind_of(other).to_string(),
        None => "(missing)".into(),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
