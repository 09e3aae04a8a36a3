//! Changing a ticket: field patches (one or many tickets), claim and unclaim, close, reopen, and
//! the requester's rating.

use super::*;

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
    /// Why the ticket is escalated, for the `ticket.escalated` event and its quality flag (a
    /// requester's "Request human"); by default who escalated it.
    pub escalation_reason: Option<String>,
    /// `Some(None)` clears the resolution target.
    pub resolution_due_at: Option<Option<Millis>>,
}

/// The per-ticket outcome of a bulk update.
#[derive(Debug)]
pub struct BulkResult {
    pub ticket_id: TicketId,
    pub result: Result<TicketRecord, DeskError>,
}

impl Desk {
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
        self.emit_event(tx, actor, &t, EventKind::TicketUpdated, serde_json::json!({ "changed": changed })).await?;
        if escalated_now {
            let reason = p.escalation_reason.clone().unwrap_or_else(|| format!("escalated by {}", actor.label));
            self.escalated(tx, actor, &t, &reason).await?;
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
        self.emit_event(tx, actor, t, EventKind::TicketEscalated, serde_json::json!({ "reason": reason })).await
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
            self.emit_event(
                &mut tx,
                actor,
                &t,
                EventKind::TicketClosed,
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
            self.emit_event(&mut tx, actor, &t, EventKind::TicketReopened, serde_json::json!({})).await?;
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
            self.emit_event(&mut tx, actor, &t, EventKind::TicketRated, serde_json::json!({ "rating": rating }))
                .await?;
            if rating <= 2 {
                self.emit_event(&mut tx, actor, &t, EventKind::CsatNegative, serde_json::json!({ "rating": rating }))
                    .await?;
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
}

pub(super) fn apply_status(t: &mut TicketRecord, to: TicketStatus, change: StatusChange, now: Millis) {
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
