//! Opening tickets: by staff or an integrator, from the customer portal, and the shared insert that
//! applies help-topic defaults, routing rules, auto-assignment and SLA targets.

use super::*;

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

impl Desk {
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
        let lives_on = ticket_channel(source, channel);
        // Routing reads the ticket as the caller and the help topic shaped it.
        let mut escalated = false;
        let mut routed = Routed { queue_id: None, assignee_id: assignee, priority, escalated, tags };
        let facts = routing_facts(
            &routed,
            &subject,
            &description,
            source,
            lives_on,
            requester.requester_type,
            topic.as_ref().map(|t| t.id),
        );
        let rules = self.routing_rules(tx, ws).await?;
        let routed_by = match first_matching_rule(&rules, &facts) {
            Some(rule) => {
                if let Some(q) = self.apply_routing_outcome(tx, ws, rule, &mut routed).await? {
                    queue = q;
                }
                Some(rule.name.clone())
            }
            None => None,
        };
        Routed { assignee_id: assignee, priority, escalated, tags, .. } = routed;
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
                channel: lives_on,
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
        self.emit_event(tx, actor, &t, EventKind::TicketOpened, serde_json::json!({ "source": source.as_str() }))
            .await?;
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
}

/// The channel a new ticket's staff replies go out on: the one it came in on when that channel
/// delivers replies (a chat-skill ticket has source `chat` but is answered on the messaging
/// channel it came in on), else the one its source names.
fn ticket_channel(source: Source, came_in_on: Channel) -> Channel {
    if came_in_on.delivers_replies() { came_in_on } else { Channel::for_source(source) }
}
