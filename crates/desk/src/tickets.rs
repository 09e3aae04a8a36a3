//! Ticket use cases: open, ingest, reply, note, update, claim, close, reopen, and the reads.

use switchboard_domain::*;
use switchboard_store::*;

use crate::ops::SlaInputs;
use crate::retry::{retry_on_conflict, retrying};
use crate::{Desk, DeskError, LiveEvent, Routed, require};

/// Largest attachment accepted, in bytes.
pub const MAX_ATTACHMENT_BYTES: usize = 25 * 1024 * 1024;
/// Largest page of tickets.
pub const MAX_PAGE: i64 = 100;
/// How far a list's total is counted: past it the total reads "more than 10,000", so a page of a
/// huge queue costs no more than a page of a small one.
pub const TOTAL_CAP: i64 = 10_000;

/// A file to attach to a new entry.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Who a new ticket is for.
#[derive(Debug, Clone)]
pub enum RequesterRef {
    /// An existing contact of the workspace.
    Contact(ContactId),
    /// Found by email, or created with this name.
    Email { email: String, name: Option<String> },
}

/// A ticket opened by staff or an integrator.
#[derive(Debug, Clone)]
pub struct OpenTicket {
    pub subject: String,
    /// The requester's description; becomes the first entry of the thread.
    pub description: Option<String>,
    pub requester: RequesterRef,
    pub priority: Option<Priority>,
    pub source: Option<Source>,
    pub queue_id: Option<QueueId>,
    pub help_topic_id: Option<HelpTopicId>,
    pub assignee_id: Option<UserId>,
    pub tags: Vec<String>,
    pub resolution_due_at: Option<Millis>,
    pub attachments: Vec<NewAttachment>,
}

/// A message that arrived on a channel, as an adapter hands it to [`Desk::ingest`].
#[derive(Debug, Clone)]
pub struct InboundMessage {
    pub channel: Channel,
    /// The channel's conversation key (email thread root, WhatsApp contact, Discord channel).
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

/// Changes to a ticket's fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TicketPatch {
    pub subject: Option<String>,
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    /// `Some(None)` unassigns.
    pub assignee_id: Option<Option<UserId>>,
    pub queue_id: Option<QueueId>,
    /// `Some(None)` clears the help topic.
    pub help_topic_id: Option<Option<HelpTopicId>>,
    pub tags: Option<Vec<String>>,
    pub escalated: Option<bool>,
    /// `Some(None)` clears the resolution target.
    pub resolution_due_at: Option<Option<Millis>>,
}

/// A reply entry just written, for [`Desk::finish_reply`].
pub(crate) struct WrittenReply {
    pub(crate) entry_id: EntryId,
    /// When it was written: the activity stamps and the first response take this time.
    pub(crate) at: Millis,
    /// The channel it goes out on, when it does (an outbox row is queued).
    pub(crate) delivery: Option<Channel>,
}

/// The ticket list's filters as a caller states them.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub statuses: Vec<TicketStatus>,
    pub priorities: Vec<Priority>,
    pub assignee: AssigneeChoice,
    pub queue_id: Option<QueueId>,
    pub help_topic_id: Option<HelpTopicId>,
    pub tag: Option<String>,
    pub escalated: Option<bool>,
    /// Whose turn it is (see `Awaiting`); resolved and closed tickets match neither side.
    pub awaiting: Option<Awaiting>,
    pub sla: Option<SlaFilter>,
    pub text: Option<String>,
}

/// The "assigned to" filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AssigneeChoice {
    #[default]
    Anyone,
    Me,
    Unassigned,
    User(UserId),
}

/// One page of tickets.
#[derive(Debug, Clone)]
pub struct TicketPage {
    pub tickets: Vec<TicketRecord>,
    /// All tickets matching the filters, across pages, counted up to [`TOTAL_CAP`].
    pub total: i64,
    /// More tickets match than `total` says: counting stopped at the cap.
    pub total_capped: bool,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// For a text search through the search engine: where each ticket of the page matched.
    pub snippets: Vec<(TicketId, switchboard_search::Snippet)>,
}

/// A ticket's thread entry with its attachments and mentions.
#[derive(Debug, Clone)]
pub struct ThreadEntry {
    pub entry: EntryRecord,
    pub attachments: Vec<AttachmentRecord>,
    pub mentions: Vec<UserId>,
}

/// The per-ticket outcome of a bulk update.
#[derive(Debug)]
pub struct BulkResult {
    pub ticket_id: TicketId,
    pub result: Result<TicketRecord, DeskError>,
}

fn encode_cursor(t: &TicketRecord) -> String {
    format!("{}.{}", t.created_at, t.id.0)
}

fn decode_cursor(s: &str) -> Result<(Millis, TicketId), DeskError> {
    let bad = || DeskError::invalid("after", "is not a cursor this API returned");
    let (a, b) = s.split_once('.').ok_or_else(bad)?;
    Ok((a.parse().map_err(|_| bad())?, TicketId(b.parse().map_err(|_| bad())?)))
}

/// History shows times as RFC 3339 UTC, as people and the API read them.
fn rfc3339(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn opt_string<T: ToString>(v: Option<T>) -> Option<String> {
    v.map(|v| v.to_string())
}

/// Collects field changes for the history while a ticket record is edited in memory.
struct Changes(Vec<NewHistory>);

impl Changes {
    fn record(&mut self, field: &'static str, old: Option<String>, new: Option<String>) {
        if old != new {
            self.0.push(NewHistory { field, old_value: old, new_value: new });
        }
    }
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

fn event_payload(t: &TicketRecord, actor: &Actor, extra: serde_json::Value) -> serde_json::Value {
    let mut v = serde_json::json!({
        "ticketId": t.id.0,
        "number": t.display_number(),
        "subject": t.subject,
        "status": t.status.as_str(),
        "priority": t.priority.as_str(),
        "queueId": t.queue_id.0,
        "assigneeId": t.assignee_id.map(|a| a.0),
        "actor": actor.label,
    });
    if let (Some(obj), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
        obj.extend(more);
    }
    v
}

/// Staff with view permission see their workspace's tickets (every load is scoped to it), a
/// customer only tickets they requested. Anything else is "not found".
fn check_visible(actor: &Actor, t: TicketRecord) -> Result<TicketRecord, DeskError> {
    match actor.contact_id() {
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
    async fn visible_ticket(&self, tx: &mut Tx, actor: &Actor, id: TicketId) -> Result<TicketRecord, DeskError> {
        check_visible(actor, self.load_ticket(tx, actor.workspace_id, id).await?)
    }

    async fn write_history(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        t: &TicketRecord,
        changes: &[NewHistory],
    ) -> Result<(), DeskError> {
        if changes.is_empty() {
            return Ok(());
        }
        tx.insert_history(t.workspace_id, t.id, actor.user_id(), actor.contact_id(), &actor.label, changes, self.now())
            .await?;
        Ok(())
    }

    pub(crate) async fn emit(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        t: &TicketRecord,
        kind: &str,
        extra: serde_json::Value,
    ) -> Result<(), DeskError> {
        tx.insert_event(t.workspace_id, Some(t.id), kind, &event_payload(t, actor, extra), self.now()).await?;
        Ok(())
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

    async fn resolve_requester(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        r: &RequesterRef,
    ) -> Result<ContactRecord, DeskError> {
        match r {
            RequesterRef::Contact(id) => tx
                .contact_by_id(ws, *id)
                .await?
                .ok_or_else(|| DeskError::invalid("requester.contactId", "no contact with this id in the workspace")),
            RequesterRef::Email { email, name } => {
                let email = EmailAddress::parse("requester.email", email)?;
                if let Some(c) = tx.contact_by_identity(ws, IdentityKind::Email, email.as_str()).await? {
                    return Ok(c);
                }
                let name = match name.as_deref().filter(|n| !n.trim().is_empty()) {
                    Some(n) => validate_name("requester.name", n)?,
                    None => email.local_part().to_string(),
                };
                let new = NewContact { name, email: Some(email.as_str().to_string()), ..Default::default() };
                Ok(tx.insert_contact(ws, &new, self.now()).await?)
            }
        }
    }

    /// Inserts a ticket and its first entry, applying the help topic's defaults where the caller
    /// left a field unset. Shared by staff open, customer open and ingest.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_ticket(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        requester: &ContactRecord,
        input: &OpenTicket,
        channel: Channel,
        thread_key: Option<String>,
        external_message_id: Option<String>,
    ) -> Result<(TicketRecord, EntryId), DeskError> {
        let ws = actor.workspace_id;
        let subject = validate_subject("subject", &input.subject)?;
        let description = match input.description.as_deref() {
            Some(d) => validate_body("description", d)?,
            None => subject.clone(),
        };
        let description_text = format!("{subject}\n{description}");
        let mut tags = Vec::new();
        for (i, tag) in input.tags.iter().enumerate() {
            let tag = normalize_tag(&format!("tags[{i}]"), tag)?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        let topic = match input.help_topic_id {
            Some(id) => Some(self.check_help_topic(tx, ws, id, "helpTopicId").await?),
            None => None,
        };
        let queue = match input.queue_id.or(topic.as_ref().and_then(|t| t.default_queue_id)) {
            Some(id) => self.check_queue(tx, ws, id, "queueId").await?,
            None => tx
                .default_queue(ws)
                .await?
                .ok_or_else(|| DeskError::invalid("queueId", "the workspace has no default queue"))?,
        };
        let mut queue = queue;
        let mut assignee = match input.assignee_id.or(topic.as_ref().and_then(|t| t.default_assignee_id)) {
            Some(id) => Some(self.check_assignee(tx, ws, id, "assigneeId").await?.id),
            None => None,
        };
        let mut priority = match input.priority {
            Some(p) => p,
            None => match topic.as_ref().and_then(|t| t.default_priority.clone()) {
                Some(p) => Priority::parse(&p, "helpTopic.defaultPriority")?,
                None => Priority::Normal,
            },
        };
        let now = self.now();
        let source = input.source.unwrap_or(Source::Api);
        // Routing reads the ticket as the caller and the help topic shaped it.
        let facts = TicketFacts {
            priority,
            source,
            channel,
            requester_type: requester.requester_type,
            help_topic_id: topic.as_ref().map(|t| t.id),
            tags: tags.clone(),
            text: description_text.clone(),
        };
        let rules = self.routing_rules(tx, ws).await?;
        let mut escalated = false;
        let routed_by = match first_matching_rule(&rules, &facts) {
            Some(rule) => {
                let mut r = Routed { queue_id: None, assignee_id: assignee, priority, escalated, tags };
                if let Some(q) = self.apply_routing_outcome(tx, ws, rule, &mut r).await? {
                    queue = q;
                }
                Routed { assignee_id: assignee, priority, escalated, tags, .. } = r;
                Some(rule.name.clone())
            }
            None => None,
        };
        if assignee.is_none() {
            assignee = self.auto_assignee(tx, ws, &queue, false).await?.map(|u| u.id);
        }
        // Targets: an explicit due time wins, then the SLA policy, then the help topic's offset.
        let topic_due = topic.as_ref().and_then(|t| t.due_offset_minutes).map(|m| now + m * 60_000);
        let (first_response_due_at, policy_due, sla_policy_id) = match tx
            .sla_policy_for(ws, priority, topic.as_ref().map(|t| t.id))
            .await?
        {
            Some(p) => {
                let calendar = self.calendar_for(tx, ws, p.calendar_id).await?;
                let clock = SlaClock::start(now);
                (clock.due(&calendar, p.first_response_minutes), clock.due(&calendar, p.resolution_minutes), Some(p.id))
            }
            None => (None, None, None),
        };
        let due = input.resolution_due_at.or(policy_due).or(topic_due);
        let t = tx
            .insert_ticket(&NewTicket {
                workspace_id: ws,
                subject,
                status: TicketStatus::Open,
                priority,
                source,
                queue_id: queue.id,
                help_topic_id: topic.as_ref().map(|t| t.id),
                requester_id: requester.id,
                assignee_id: assignee,
                escalated,
                chat_originated: source == Source::Chat,
                thread_key,
                first_response_due_at,
                resolution_due_at: due,
                sla_due_at: next_sla_due(TicketStatus::Open, first_response_due_at, None, due),
                sla_policy_id,
                channel: ticket_channel(source, channel),
                created_at: now,
                tags: tags.clone(),
            })
            .await?;
        if !tags.is_empty() {
            tx.replace_ticket_tags(ws, t.id, &tags).await?;
        }
        let entry = tx
            .insert_entry(&NewEntry {
                workspace_id: ws,
                ticket_id: t.id,
                kind: EntryKind::Reply,
                author_user_id: None,
                author_contact_id: Some(requester.id),
                channel,
                external_message_id,
                body: description,
                delivery_status: None,
                created_at: now,
            })
            .await?;
        self.store_attachments(tx, &t, entry, &input.attachments).await?;
        let mut opened = vec![NewHistory { field: "status", old_value: None, new_value: Some("open".into()) }];
        if let Some(name) = &t.assignee_name {
            opened.push(NewHistory { field: "assignee", old_value: None, new_value: Some(name.clone()) });
        }
        if let Some(rule) = &routed_by {
            opened.push(NewHistory { field: "routing_rule", old_value: None, new_value: Some(rule.clone()) });
        }
        self.write_history(tx, actor, &t, &opened).await?;
        self.emit(tx, actor, &t, "ticket.opened", serde_json::json!({ "source": source.as_str() })).await?;
        let mut events = vec![AutomationEvent::TicketOpened, AutomationEvent::Message(description_text)];
        if escalated {
            let reason = format!("routing rule {}", routed_by.as_deref().unwrap_or_default());
            self.escalated(tx, actor, &t, &reason).await?;
            events.push(AutomationEvent::TicketEscalated);
        }
        let t = self.run_automation(tx, t, &events).await?;
        Ok((t, entry))
    }

    /// Opens a ticket on behalf of a requester (staff with manage permission, or an integrator).
    pub async fn open_ticket(&self, actor: &Actor, input: OpenTicket) -> Result<TicketRecord, DeskError> {
        require(actor, Permission::Manage)?;
        retry_on_conflict(|| async {
            let mut tx = self.store().write().await?;
            let requester = self.resolve_requester(&mut tx, actor.workspace_id, &input.requester).await?;
            let channel = Channel::for_source(input.source.unwrap_or(Source::Api));
            let (t, entry) = self.insert_ticket(&mut tx, actor, &requester, &input, channel, None, None).await?;
            tx.commit().await?;
            self.publish(vec![live(&t, "ticket.opened", Some(entry), false)]);
            Ok(t)
        })
        .await
    }

    /// Opens a ticket from the customer portal: the requester is the signed-in customer, and
    /// routing fields are left to the desk.
    pub async fn open_my_ticket(
        &self,
        actor: &Actor,
        subject: &str,
        description: &str,
        help_topic_id: Option<HelpTopicId>,
        attachments: Vec<NewAttachment>,
    ) -> Result<TicketRecord, DeskError> {
        let contact =
            actor.contact_id().ok_or_else(|| DeskError::Forbidden("only customers open tickets here".into()))?;
        let input = OpenTicket {
            subject: subject.to_string(),
            description: Some(validate_body("description", description)?),
            requester: RequesterRef::Contact(contact),
            priority: None,
            source: Some(Source::Portal),
            queue_id: None,
            help_topic_id,
            assignee_id: None,
            tags: Vec::new(),
            resolution_due_at: None,
            attachments,
        };
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let requester =
                tx.contact_by_id(actor.workspace_id, contact).await?.ok_or(DeskError::NotFound("contact"))?;
            let (t, entry) =
                self.insert_ticket(&mut tx, actor, &requester, &input, Channel::Portal, None, None).await?;
            tx.commit().await?;
            self.publish(vec![live(&t, "ticket.opened", Some(entry), false)]);
            Ok(t)
        })
        .await
    }

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
                let mut new = NewContact { name: validate_name("senderName", &name)?, ..Default::default() };
                let slot = match msg.sender_kind {
                    IdentityKind::Email => &mut new.email,
                    IdentityKind::Phone => &mut new.phone,
                    IdentityKind::Whatsapp => &mut new.whatsapp_id,
                    IdentityKind::Discord => &mut new.discord_user_id,
                };
                *slot = Some(sender_value.clone());
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
                self.emit(
                    tx,
                    actor,
                    &t,
                    "entry.created",
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
                    source: Some(source_for_channel(msg.channel)),
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
    async fn customer_replied(&self, tx: &mut Tx, actor: &Actor, t: &mut TicketRecord) -> Result<(), DeskError> {
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
        let kind = if change == StatusChange::Reopen { "ticket.reopened" } else { "ticket.updated" };
        self.emit(tx, actor, t, kind, serde_json::json!({})).await
    }

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
        if !matches!(actor.kind, ActorKind::System) {
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
        self.emit(tx, actor, &t, "entry.created", serde_json::json!({ "entryId": entry_id.0, "public": true })).await?;
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
            self.emit(
                &mut tx,
                &system,
                &t,
                "entry.created",
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
            self.emit(
                &mut tx,
                actor,
                &t,
                "entry.created",
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

    /// Changes a ticket's fields, recording each change in its history.
    pub async fn update_ticket(
        &self,
        actor: &Actor,
        ticket: TicketId,
        patch: TicketPatch,
    ) -> Result<TicketRecord, DeskError> {
        require(actor, Permission::Manage)?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let t = self.visible_ticket(&mut tx, actor, ticket).await?;
            let t = self.patch_ticket(&mut tx, actor, t, patch.clone()).await?;
            tx.commit().await?;
            self.publish(vec![live(&t, "ticket.updated", None, false)]);
            Ok(t)
        })
        .await
    }

    /// Applies `p` to `t`, which the caller loaded and checked in this transaction, then lets
    /// routing rules react to changed routed fields and automation to an escalation. Returns the
    /// ticket as saved.
    async fn patch_ticket(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        t: TicketRecord,
        p: TicketPatch,
    ) -> Result<TicketRecord, DeskError> {
        let routed = (t.priority, t.tags.clone(), t.help_topic_id);
        let was_escalated = t.escalated;
        let mut t = self.patch_ticket_quietly(tx, actor, t, p).await?;
        if routed != (t.priority, t.tags.clone(), t.help_topic_id) && t.status.is_active() {
            let requester = tx.contact_by_id(t.workspace_id, t.requester_id).await?;
            let requester_type = requester.map(|c| c.requester_type).unwrap_or(RequesterType::Manual);
            if let Some((rule, patch)) = self.route_patch(tx, &t, requester_type).await? {
                t = self.apply_route(tx, t, &rule, patch).await?;
            }
        }
        if !was_escalated && t.escalated {
            t = self.run_automation(tx, t, &[AutomationEvent::TicketEscalated]).await?;
        }
        Ok(t)
    }

    /// Applies `p` to `t` and saves it with its history and events, without routing or
    /// automation: what rules themselves use, so their edits cannot set each other off.
    pub(crate) async fn patch_ticket_quietly(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        mut t: TicketRecord,
        p: TicketPatch,
    ) -> Result<TicketRecord, DeskError> {
        let ws = actor.workspace_id;
        let now = self.now();
        let sla_before = SlaInputs::of(&t);
        let mut ch = Changes(Vec::new());
        if let Some(s) = &p.subject {
            let s = validate_subject("subject", s)?;
            ch.record("subject", Some(t.subject.clone()), Some(s.clone()));
            t.subject = s;
        }
        if let Some(to) = p.status {
            let change = check_transition(t.status, to, None)?;
            ch.record("status", Some(t.status.to_string()), Some(to.to_string()));
            apply_status(&mut t, to, change, now);
        }
        if let Some(pr) = p.priority {
            ch.record("priority", Some(t.priority.to_string()), Some(pr.to_string()));
            t.priority = pr;
        }
        if let Some(a) = p.assignee_id
            && a != t.assignee_id
        {
            // Taking a ticket away from someone else is a supervisor's call.
            if t.assignee_id.is_some_and(|cur| Some(cur) != actor.user_id()) {
                require(actor, Permission::Reassign)?;
            }
            let new_name = match a {
                Some(u) => Some(self.check_assignee(tx, ws, u, "assigneeId").await?.name),
                None => None,
            };
            ch.record("assignee", t.assignee_name.clone(), new_name.clone());
            t.assignee_id = a;
            t.assignee_name = new_name;
        }
        if let Some(q) = p.queue_id {
            let queue = self.check_queue(tx, ws, q, "queueId").await?;
            ch.record("queue", Some(t.queue_name.clone()), Some(queue.name.clone()));
            t.queue_id = q;
            t.queue_name = queue.name;
        }
        if let Some(h) = p.help_topic_id {
            let new_name = match h {
                Some(h) => Some(self.check_help_topic(tx, ws, h, "helpTopicId").await?.name),
                None => None,
            };
            ch.record("help_topic", t.help_topic_name.clone(), new_name.clone());
            t.help_topic_id = h;
            t.help_topic_name = new_name;
        }
        if let Some(tags) = &p.tags {
            let mut norm = Vec::new();
            for (i, tag) in tags.iter().enumerate() {
                let tag = normalize_tag(&format!("tags[{i}]"), tag)?;
                if !norm.contains(&tag) {
                    norm.push(tag);
                }
            }
            let joined = norm.join(",");
            if joined != t.tags {
                ch.record("tags", Some(t.tags.clone()), Some(joined.clone()));
                tx.replace_ticket_tags(ws, t.id, &norm).await?;
                t.tags = joined;
            }
        }
        let mut escalated_now = false;
        if let Some(e) = p.escalated {
            ch.record("escalated", Some(t.escalated.to_string()), Some(e.to_string()));
            escalated_now = e && !t.escalated;
            t.escalated = e;
        }
        if let Some(d) = p.resolution_due_at {
            ch.record("resolution_due_at", t.resolution_due_at.map(rfc3339), d.map(rfc3339));
            t.resolution_due_at = d;
        }
        if ch.0.is_empty() {
            return Ok(t);
        }
        t.updated_at = now;
        self.sync_sla(tx, &mut t, sla_before).await?;
        tx.save_ticket(&t).await?;
        self.write_history(tx, actor, &t, &ch.0).await?;
        let changed: Vec<&str> = ch.0.iter().map(|c| c.field).collect();
        self.emit(tx, actor, &t, "ticket.updated", serde_json::json!({ "changed": changed })).await?;
        if escalated_now {
            self.escalated(tx, actor, &t, &format!("escalated by {}", actor.label)).await?;
        }
        Ok(t)
    }

    /// Records an escalation: the `ticket.escalated` event with its reason, and a quality flag
    /// so someone reviews why the ticket needed it.
    pub(crate) async fn escalated(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        t: &TicketRecord,
        reason: &str,
    ) -> Result<(), DeskError> {
        tx.insert_quality_flag(t.workspace_id, t.id, QualityFlagKind::Escalated, reason, self.now()).await?;
        self.emit(tx, actor, t, "ticket.escalated", serde_json::json!({ "reason": reason })).await
    }

    /// Applies one patch to many tickets, each in its own transaction; the outcome is per ticket.
    pub async fn bulk_update(
        &self,
        actor: &Actor,
        tickets: &[TicketId],
        patch: TicketPatch,
    ) -> Result<Vec<BulkResult>, DeskError> {
        require(actor, Permission::Manage)?;
        if tickets.is_empty() || tickets.len() > MAX_PAGE as usize {
            return Err(DeskError::invalid("ticketIds", format!("name between 1 and {MAX_PAGE} tickets")));
        }
        let mut out = Vec::with_capacity(tickets.len());
        for id in tickets {
            out.push(BulkResult { ticket_id: *id, result: self.update_ticket(actor, *id, patch.clone()).await });
        }
        Ok(out)
    }

    /// Assigns the ticket to the acting staff member and starts work on it.
    pub async fn claim(&self, actor: &Actor, ticket: TicketId) -> Result<TicketRecord, DeskError> {
        require(actor, Permission::Manage)?;
        let me = actor.user_id().ok_or_else(|| DeskError::Forbidden("only staff members can claim tickets".into()))?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let t = self.visible_ticket(&mut tx, actor, ticket).await?;
            if let (Some(cur), Some(name)) = (t.assignee_id, &t.assignee_name)
                && cur != me
            {
                return Err(DeskError::Conflict(format!("already claimed by {name}")));
            }
            if !t.status.is_active() {
                return Err(DeskError::invalid(
                    "ticketId",
                    format!("a {} ticket cannot be claimed; reopen it first", t.status),
                ));
            }
            let patch = TicketPatch {
                assignee_id: Some(Some(me)),
                status: (t.status == TicketStatus::Open).then_some(TicketStatus::InProgress),
                ..Default::default()
            };
            let t = self.patch_ticket(&mut tx, actor, t, patch).await?;
            tx.commit().await?;
            self.publish(vec![live(&t, "ticket.updated", None, false)]);
            Ok(t)
        })
        .await
    }

    /// Releases a claimed ticket back to the queue.
    pub async fn unclaim(&self, actor: &Actor, ticket: TicketId) -> Result<TicketRecord, DeskError> {
        require(actor, Permission::Manage)?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let t = self.visible_ticket(&mut tx, actor, ticket).await?;
            if t.assignee_id.is_none() {
                return Err(DeskError::invalid("ticketId", "the ticket is not claimed"));
            }
            let patch = TicketPatch {
                assignee_id: Some(None),
                status: (t.status == TicketStatus::InProgress).then_some(TicketStatus::Open),
                ..Default::default()
            };
            let t = self.patch_ticket(&mut tx, actor, t, patch).await?;
            tx.commit().await?;
            self.publish(vec![live(&t, "ticket.updated", None, false)]);
            Ok(t)
        })
        .await
    }

    /// Closes a ticket with a reason and an optional note of at most 500 characters.
    pub async fn close(
        &self,
        actor: &Actor,
        ticket: TicketId,
        reason: CloseReason,
        note: Option<&str>,
    ) -> Result<TicketRecord, DeskError> {
        require(actor, Permission::Manage)?;
        let note = validate_close_note("note", note)?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let mut t = self.visible_ticket(&mut tx, actor, ticket).await?;
            let change = check_transition(t.status, TicketStatus::Closed, Some(reason))?;
            let before = SlaInputs::of(&t);
            let now = self.now();
            let mut ch = Changes(Vec::new());
            ch.record("status", Some(t.status.to_string()), Some("closed".into()));
            ch.record("close_reason", None, Some(reason.to_string()));
            ch.record("close_note", None, note.clone());
            apply_status(&mut t, TicketStatus::Closed, change, now);
            t.close_reason = Some(reason.to_string());
            t.close_note = note.clone();
            t.updated_at = now;
            self.sync_sla(&mut tx, &mut t, before).await?;
            tx.save_ticket(&t).await?;
            self.write_history(&mut tx, actor, &t, &ch.0).await?;
            self.emit(
                &mut tx,
                actor,
                &t,
                "ticket.closed",
                serde_json::json!({ "reason": reason.as_str(), "note": t.close_note }),
            )
            .await?;
            tx.commit().await?;
            self.publish(vec![live(&t, "ticket.closed", None, false)]);
            Ok(t)
        })
        .await
    }

    /// Reopens a resolved or closed ticket.
    pub async fn reopen(&self, actor: &Actor, ticket: TicketId) -> Result<TicketRecord, DeskError> {
        require(actor, Permission::Manage)?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let t = self.visible_ticket(&mut tx, actor, ticket).await?;
            if t.status.is_active() {
                return Err(DeskError::invalid(
                    "status",
                    format!("the ticket is {}, not resolved or closed", t.status),
                ));
            }
            let t = self
                .patch_ticket(&mut tx, actor, t, TicketPatch { status: Some(TicketStatus::Open), ..Default::default() })
                .await?;
            self.emit(&mut tx, actor, &t, "ticket.reopened", serde_json::json!({})).await?;
            tx.commit().await?;
            self.publish(vec![live(&t, "ticket.reopened", None, false)]);
            Ok(t)
        })
        .await
    }

    /// Records the requester's satisfaction rating (1-5) on a resolved or closed ticket.
    pub async fn rate_ticket(
        &self,
        actor: &Actor,
        ticket: TicketId,
        rating: i64,
        comment: Option<&str>,
    ) -> Result<TicketRecord, DeskError> {
        if actor.contact_id().is_none() {
            return Err(DeskError::Forbidden("only the requester rates a ticket".into()));
        }
        if !(1..=5).contains(&rating) {
            return Err(DeskError::invalid("rating", "must be between 1 and 5"));
        }
        let comment = validate_close_note("comment", comment)?;
        let t = retrying(|| async {
            let mut tx = self.store().write().await?;
            let mut t = self.visible_ticket(&mut tx, actor, ticket).await?;
            if t.status.is_active() {
                return Err(DeskError::invalid("ticketId", "only resolved or closed tickets can be rated"));
            }
            let mut ch = Changes(Vec::new());
            ch.record("csat_rating", opt_string(t.csat_rating), Some(rating.to_string()));
            t.csat_rating = Some(rating);
            t.csat_comment = comment.clone();
            t.updated_at = self.now();
            tx.save_ticket(&t).await?;
            tx.stamp_rating(t.workspace_id, t.id, t.updated_at).await?;
            self.write_history(&mut tx, actor, &t, &ch.0).await?;
            if rating <= 2 {
                self.emit(&mut tx, actor, &t, "csat.negative", serde_json::json!({ "rating": rating })).await?;
                let reason = format!("rated {rating} of 5");
                tx.insert_quality_flag(t.workspace_id, t.id, QualityFlagKind::NegativeCsat, &reason, self.now())
                    .await?;
                t = self.run_automation(&mut tx, t, &[AutomationEvent::CsatNegative]).await?;
            }
            tx.commit().await?;
            self.publish(vec![live(&t, "ticket.updated", None, false)]);
            Ok(t)
        })
        .await?;
        if rating <= 2 {
            return self.after_negative_rating(t).await;
        }
        Ok(t)
    }

    // ---- reads ----

    fn query_for(&self, actor: &Actor, f: &TicketFilter, tz: Tz, at_risk_share: f64) -> Result<TicketQuery, DeskError> {
        let mut q = TicketQuery::new(actor.workspace_id, 25);
        q.statuses = f.statuses.clone();
        q.priorities = f.priorities.clone();
        q.assignee = match f.assignee {
            AssigneeChoice::Anyone => AssigneeFilter::Any,
            AssigneeChoice::Unassigned => AssigneeFilter::Unassigned,
            AssigneeChoice::User(u) => AssigneeFilter::User(u),
            AssigneeChoice::Me => AssigneeFilter::User(
                actor
                    .user_id()
                    .ok_or_else(|| DeskError::invalid("filter.assignee", "\"me\" needs a signed-in staff member"))?,
            ),
        };
        q.queue_id = f.queue_id;
        q.help_topic_id = f.help_topic_id;
        q.tag = f.tag.as_deref().map(|t| normalize_tag("filter.tag", t)).transpose()?;
        q.escalated = f.escalated;
        q.awaiting = f.awaiting;
        q.sla = f.sla.map(|s| sla_window(s, self.now(), tz, at_risk_share));
        if let Some(text) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            if text.chars().count() > 200 {
                return Err(DeskError::invalid("filter.text", "at most 200 characters"));
            }
            q.text = Some(without_nul(text).into_owned());
        }
        Ok(q)
    }

    /// The storage query for a caller's filter, in their workspace's time zone and number form.
    async fn workspace_query(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        filter: &TicketFilter,
    ) -> Result<TicketQuery, DeskError> {
        let w = tx.workspace_by_id(actor.workspace_id).await?;
        let tz = parse_time_zone("timeZone", &w.time_zone).unwrap_or(Tz::UTC);
        // The workspace's at-risk share, read only when the filter needs it.
        let at_risk_percent = match filter.sla {
            Some(SlaFilter::AtRisk) => tx.workspace_settings(actor.workspace_id).await?.at_risk_percent,
            _ => WorkspaceSettingsRecord::default().at_risk_percent,
        };
        let mut q = self.query_for(actor, filter, tz, at_risk_percent as f64 / 100.0)?;
        if let Some(text) = &q.text {
            q.number = TicketNumber::parse_seq(text, &w.ticket_prefix);
        }
        Ok(q)
    }

    /// One page of the workspace's tickets, newest first, with the total. Customers get their own.
    pub async fn list_tickets(
        &self,
        actor: &Actor,
        filter: &TicketFilter,
        first: i64,
        after: Option<&str>,
    ) -> Result<TicketPage, DeskError> {
        if !(1..=MAX_PAGE).contains(&first) {
            return Err(DeskError::invalid("first", format!("must be between 1 and {MAX_PAGE}")));
        }
        let mut tx = self.store().read().await?;
        let mut q = self.workspace_query(&mut tx, actor, filter).await?;
        match actor.contact_id() {
            Some(c) => q.requester_id = Some(c),
            None => require(actor, Permission::View)?,
        }
        if let (Some(engine), Some(_)) = (self.search_engine().cloned(), &q.text) {
            return self.search_ticket_page(engine.as_ref(), actor, &mut tx, q, first, after).await;
        }
        let before = after.map(decode_cursor).transpose()?;
        let total = tx.count_tickets_up_to(&q, TOTAL_CAP).await?;
        q.before = before;
        q.limit = first + 1;
        let mut tickets = tx.list_tickets(&q).await?;
        let more = tickets.len() as i64 > first;
        tickets.truncate(first as usize);
        let next_cursor = if more { tickets.last().map(encode_cursor) } else { None };
        Ok(TicketPage { tickets, total: total.count, total_capped: total.capped, next_cursor, snippets: Vec::new() })
    }

    /// Ticket counts per status for the stats tiles, under every filter but status, each counted
    /// up to [`TOTAL_CAP`] like the list's total.
    pub async fn ticket_counts(
        &self,
        actor: &Actor,
        filter: &TicketFilter,
    ) -> Result<Vec<(TicketStatus, TicketTotal)>, DeskError> {
        require(actor, Permission::View)?;
        let mut tx = self.store().read().await?;
        let mut q = self.workspace_query(&mut tx, actor, filter).await?;
        let mut window_full = false;
        if let (Some(engine), Some(text)) = (self.search_engine().cloned(), q.text.take()) {
            window_full = self.narrow_to_search(engine.as_ref(), actor, &mut tx, &mut q, &text).await?;
        }
        let mut rows = tx.count_tickets_by_status(&q, TOTAL_CAP).await?;
        for (_, n) in &mut rows {
            n.capped |= window_full;
        }
        let none = TicketTotal { count: 0, capped: false };
        Ok(TicketStatus::ALL
            .iter()
            .map(|s| (*s, rows.iter().find(|(k, _)| k == s.as_str()).map_or(none, |(_, n)| *n)))
            .collect())
    }

    /// A ticket by id, if the actor may see it.
    pub async fn ticket(&self, actor: &Actor, id: TicketId) -> Result<TicketRecord, DeskError> {
        let mut tx = self.store().read().await?;
        self.visible_ticket(&mut tx, actor, id).await
    }

    /// A ticket by its number as people type it (`SD-00012`, `#12`), if the actor may see it.
    pub async fn ticket_by_number(&self, actor: &Actor, number: &str) -> Result<TicketRecord, DeskError> {
        let mut tx = self.store().read().await?;
        let prefix = tx.workspace_by_id(actor.workspace_id).await?.ticket_prefix;
        let seq = TicketNumber::parse_seq(number, &prefix)
            .ok_or_else(|| DeskError::invalid("number", format!("is not a ticket number like {prefix}-00012")))?;
        check_visible(actor, tx.ticket_by_number(actor.workspace_id, seq).await?.ok_or(DeskError::NotFound("ticket"))?)
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

    /// The ticket's change history (staff only).
    pub async fn history(&self, actor: &Actor, ticket: TicketId) -> Result<Vec<HistoryRecord>, DeskError> {
        require(actor, Permission::View)?;
        let mut tx = self.store().read().await?;
        let t = self.visible_ticket(&mut tx, actor, ticket).await?;
        Ok(tx.list_history(t.workspace_id, t.id).await?)
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

fn apply_status(t: &mut TicketRecord, to: TicketStatus, change: StatusChange, now: Millis) {
    t.status = to;
    match change {
        StatusChange::Resolve => t.resolved_at = Some(now),
        StatusChange::Reopen => {
            t.resolved_at = None;
            t.closed_at = None;
            t.close_reason = None;
            t.close_note = None;
        }
        StatusChange::Plain => {}
    }
    if to == TicketStatus::Closed {
        t.closed_at = Some(now);
        t.resolved_at.get_or_insert(now);
    }
}

/// The channel a new ticket's staff replies go out on: the one it came in on when that channel
/// delivers replies (a chat-skill ticket has source `chat` but is answered on WhatsApp), else the
/// one its source names.
fn ticket_channel(source: Source, came_in_on: Channel) -> Channel {
    if came_in_on.delivers_replies() { came_in_on } else { Channel::for_source(source) }
}

fn source_for_channel(c: Channel) -> Source {
    match c {
        Channel::Email => Source::Email,
        Channel::Whatsapp => Source::Whatsapp,
        Channel::Discord => Source::Discord,
        Channel::Portal => Source::Portal,
        Channel::Phone => Source::Phone,
        Channel::Web => Source::Chat,
        Channel::Api => Source::Api,
    }
}
