//! Support-ops configuration and the work time and events drive: business-hours calendars, SLA
//! policies and breaches, routing rules, automation rules, webhooks and their deliveries,
//! quality flags, manager notifications, canned response previews.

use rand::RngCore;
use switchboard_domain::*;
use switchboard_store::*;

use crate::follow_ups::template_context;
use crate::ops::routing_rule_of;
use crate::retry::retrying;
use crate::sealed::SecretKind;
use crate::{Desk, DeskError, require};

/// Most rows a log or list returns.
const MAX_LIST: i64 = 200;
/// Overdue tickets the breach scan handles per transaction.
const BREACH_BATCH: i64 = 200;

/// An SLA policy as an admin writes it.
#[derive(Debug, Clone)]
pub struct SlaPolicyChange {
    pub name: String,
    pub priority: Priority,
    pub help_topic_id: Option<HelpTopicId>,
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
    pub calendar_id: Option<CalendarId>,
}

/// A routing rule as an admin writes it.
#[derive(Debug, Clone)]
pub struct RoutingRuleChange {
    pub name: String,
    pub enabled: bool,
    /// Where it goes in the order; the end when absent.
    pub position: Option<i64>,
    pub join: RuleJoin,
    pub clauses: Vec<RoutingClause>,
    pub actions: Vec<RoutingAction>,
}

/// A routing rule as the API shows it.
#[derive(Debug, Clone)]
pub struct RoutingRuleView {
    pub id: RoutingRuleId,
    pub rule: RoutingRule,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// The outcome of saving the automation rule array.
#[derive(Debug, Clone)]
pub struct AutomationSave {
    /// The rules now in force.
    pub rules: Vec<AutomationRule>,
    /// One report per submitted rule.
    pub reports: Vec<RuleReport>,
    /// False when nothing was saved because a rule was invalid (and invalid rules were not to be dropped).
    pub saved: bool,
}

/// A webhook endpoint as an admin writes it.
#[derive(Debug, Clone)]
pub struct WebhookChange {
    pub name: String,
    pub url: String,
    pub enabled: bool,
    pub events: Vec<WebhookEvent>,
    /// A signing secret to use; one is generated for a new endpoint when absent.
    pub secret: Option<String>,
}

/// A saved endpoint, and its signing secret when it was just generated (shown once).
#[derive(Debug, Clone)]
pub struct SavedWebhook {
    pub webhook: WebhookRecord,
    pub new_secret: Option<String>,
}

/// A delivery ready to send: where, what, and the secret to sign it with.
#[derive(Debug, Clone)]
pub struct OutgoingDelivery {
    pub id: WebhookDeliveryId,
    pub url: String,
    pub event: String,
    pub body: String,
    pub secret: Vec<u8>,
    pub attempts: i64,
}

/// What one delivery attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub response_status: Option<u16>,
    pub latency_ms: i64,
    /// Why it failed; `None` for a 2xx answer.
    pub error: Option<String>,
}

/// The SLA settings of a workspace.
#[derive(Debug, Clone)]
pub struct SlaSettings {
    pub at_risk_percent: i64,
    pub alert_on_breach: bool,
}

fn validate_minutes(field: &str, v: i64) -> Result<i64, DeskError> {
    if (5..=525_600).contains(&v) {
        Ok(v)
    } else {
        Err(DeskError::invalid(field, "must be between 5 and 525600 minutes"))
    }
}

impl Desk {
    // ---- calendars and SLA policies ----

    /// The workspace's business-hours calendars.
    pub async fn calendars(&self, actor: &Actor) -> Result<Vec<CalendarRecord>, DeskError> {
        require(actor, Permission::View)?;
        Ok(self.store().read().await?.list_calendars(actor.workspace_id).await?)
    }

    /// Deletes a business-hours calendar (admins); refused while an SLA policy counts in it,
    /// naming the policies, since their tickets' targets would silently change meaning.
    pub async fn delete_calendar(&self, actor: &Actor, id: CalendarId) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let mut tx = self.store().write().await?;
        let mut users: Vec<String> = tx
            .list_sla_policies(ws)
            .await?
            .into_iter()
            .filter(|p| p.calendar_id == Some(id))
            .map(|p| format!("\u{201c}{}\u{201d}", p.name))
            .collect();
        users.sort();
        if !users.is_empty() {
            let (what, verb, them) =
                if users.len() == 1 { ("policy", "counts", "it") } else { ("policies", "count", "them") };
            let names = users.join(", ");
            let message =
                format!("the SLA {what} {names} {verb} in these business hours; give {them} other hours first");
            return Err(DeskError::Conflict(message));
        }
        // A missing calendar has no policies counting in it, so it gets here and is not deleted.
        if !tx.delete_calendar(ws, id).await? {
            return Err(DeskError::NotFound("calendar"));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Creates or updates a business-hours calendar.
    pub async fn save_calendar(
        &self,
        actor: &Actor,
        id: Option<CalendarId>,
        name: &str,
        spec: &CalendarSpec,
    ) -> Result<CalendarRecord, DeskError> {
        require(actor, Permission::Admin)?;
        let name = validate_name("name", name)?;
        let calendar = spec.validate()?;
        let json = serde_json::to_string(&calendar.to_spec()).map_err(|e| DeskError::Internal(e.to_string()))?;
        let mut tx = self.store().write().await?;
        if let Some(id) = id {
            tx.calendar_by_id(actor.workspace_id, id).await?.ok_or(DeskError::NotFound("calendar"))?;
        }
        let r = tx
            .upsert_calendar(actor.workspace_id, id, &name, &json, self.now())
            .await
            .map_err(crate::admin::conflict_as_field("name", "this name"))?;
        tx.commit().await?;
        Ok(r)
    }

    /// The workspace's SLA policies.
    pub async fn sla_policies(&self, actor: &Actor) -> Result<Vec<SlaPolicyRecord>, DeskError> {
        require(actor, Permission::View)?;
        Ok(self.store().read().await?.list_sla_policies(actor.workspace_id).await?)
    }

    /// Creates or updates an SLA policy. Targets apply to tickets opened (or re-prioritized) after.
    pub async fn save_sla_policy(
        &self,
        actor: &Actor,
        id: Option<SlaPolicyId>,
        input: SlaPolicyChange,
    ) -> Result<SlaPolicyRecord, DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let p = SlaPolicyInput {
            name: validate_name("name", &input.name)?,
            priority: input.priority,
            help_topic_id: input.help_topic_id,
            first_response_minutes: validate_minutes("firstResponseMinutes", input.first_response_minutes)?,
            resolution_minutes: validate_minutes("resolutionMinutes", input.resolution_minutes)?,
            calendar_id: input.calendar_id,
        };
        let mut tx = self.store().write().await?;
        if let Some(h) = p.help_topic_id {
            tx.help_topic_by_id(ws, h)
                .await?
                .ok_or_else(|| DeskError::invalid("helpTopicId", "no help topic with this id in the workspace"))?;
        }
        if let Some(c) = p.calendar_id {
            tx.calendar_by_id(ws, c)
                .await?
                .ok_or_else(|| DeskError::invalid("calendarId", "no calendar with this id in the workspace"))?;
        }
        if let Some(id) = id {
            tx.sla_policy_by_id(ws, id).await?.ok_or(DeskError::NotFound("SLA policy"))?;
        }
        let r = tx.upsert_sla_policy(ws, id, &p, self.now()).await.map_err(|e| match e {
            StoreError::Conflict(c) if c.contains("scope") || c.contains("priority") => {
                DeskError::invalid("priority", "another policy already covers this priority and help topic")
            }
            StoreError::Conflict(_) => DeskError::invalid("name", "this name is already taken"),
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(r)
    }

    /// Deletes an SLA policy; tickets keep the targets it gave them.
    pub async fn delete_sla_policy(&self, actor: &Actor, id: SlaPolicyId) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        if !tx.delete_sla_policy(actor.workspace_id, id).await? {
            return Err(DeskError::NotFound("SLA policy"));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The workspace's SLA settings.
    pub async fn sla_settings(&self, actor: &Actor) -> Result<SlaSettings, DeskError> {
        require(actor, Permission::View)?;
        let s = self.store().read().await?.workspace_settings(actor.workspace_id).await?;
        Ok(SlaSettings { at_risk_percent: s.at_risk_percent, alert_on_breach: s.alert_sla_breach })
    }

    /// Changes the share of a target left at which a ticket counts as at risk, and whether
    /// managers are notified of breaches.
    pub async fn save_sla_settings(&self, actor: &Actor, input: SlaSettings) -> Result<SlaSettings, DeskError> {
        require(actor, Permission::Admin)?;
        if !(1..=99).contains(&input.at_risk_percent) {
            return Err(DeskError::invalid("atRiskPercent", "must be between 1 and 99"));
        }
        let mut tx = self.store().write().await?;
        let mut s = tx.workspace_settings_for_update(actor.workspace_id).await?;
        s.at_risk_percent = input.at_risk_percent;
        s.alert_sla_breach = input.alert_on_breach;
        tx.save_workspace_settings(actor.workspace_id, &s, self.now()).await?;
        tx.commit().await?;
        Ok(input)
    }

    /// The SLA breaches recorded on a ticket.
    pub async fn sla_breaches(&self, actor: &Actor, ticket: TicketId) -> Result<Vec<SlaBreachRecord>, DeskError> {
        require(actor, Permission::View)?;
        let mut tx = self.store().read().await?;
        tx.ticket_by_id(actor.workspace_id, ticket).await?.ok_or(DeskError::NotFound("ticket"))?;
        Ok(tx.list_sla_breaches(actor.workspace_id, ticket).await?)
    }

    /// Records every SLA target missed by now, once per target per ticket: a breach row, the
    /// `sla.breach` event, a manager notification when the workspace wants one, and the
    /// `sla_breach` automation rules. Returns how many breaches were recorded. Reads only open
    /// tickets with a passed target (a partial index), so its cost follows those, not all tickets.
    pub async fn check_sla_breaches(&self) -> Result<usize, DeskError> {
        let now = self.now();
        let mut recorded = 0;
        let mut after: Option<(Millis, TicketId)> = None;
        loop {
            let (batch, last, breaches) = retrying(|| self.check_sla_batch(now, after)).await?;
            recorded += breaches;
            after = last;
            if batch < BREACH_BATCH {
                break;
            }
        }
        Ok(recorded)
    }

    /// One batch of [`Desk::check_sla_breaches`] in one transaction, from just after `after`:
    /// returns how many overdue tickets it read, where the next batch starts, and the breaches
    /// recorded.
    async fn check_sla_batch(
        &self,
        now: Millis,
        after: Option<(Millis, TicketId)>,
    ) -> Result<(i64, Option<(Millis, TicketId)>, usize), DeskError> {
        let mut recorded = 0;
        let mut tx = self.store().write().await?;
        let overdue = tx.overdue_tickets(now, after, BREACH_BATCH).await?;
        let Some(last) = overdue.last() else { return Ok((0, after, 0)) };
        let next_batch = Some((last.sla_next_check_at, last.id));
        let ids: Vec<TicketId> = overdue.iter().map(|t| t.id).collect();
        // The batch comes in due order; its tickets are locked in id order, all before any of them
        // is written (and before an automation rule takes a queue's rotation), like every change
        // that locks several tickets.
        tx.lock_tickets(&ids).await?;
        let known = tx.breached_targets(&ids).await?;
        let mut alerts: std::collections::HashMap<WorkspaceId, bool> = std::collections::HashMap::new();
        for o in &overdue {
            // Each ticket is read once per missed target, not on every scan until it
            // closes: the next check moves to the next target still ahead, or to none.
            let (mut missed, ahead): (Vec<_>, Vec<_>) =
                pending_sla_targets(o.first_response_due_at, o.first_responded_at, o.resolution_due_at)
                    .partition(|(_, due)| *due <= now);
            let next = ahead.iter().map(|(_, due)| *due).min();
            tx.set_sla_next_check(o.id, o.sla_next_check_at, next).await?;
            missed.retain(|(target, _)| !known.iter().any(|(id, k)| *id == o.id && k == target.as_str()));
            if missed.is_empty() {
                continue;
            }
            let actor = Actor::system(o.workspace_id);
            let Some(mut t) = tx.ticket_by_id(o.workspace_id, o.id).await? else { continue };
            // One settings read per workspace per batch, not per overdue ticket.
            let alert = match alerts.get(&o.workspace_id) {
                Some(a) => *a,
                None => {
                    let a = tx.workspace_settings(o.workspace_id).await?.alert_sla_breach;
                    alerts.insert(o.workspace_id, a);
                    a
                }
            };
            for (target, due) in missed {
                if !tx.insert_sla_breach(o.workspace_id, o.id, target, due, now).await? {
                    continue;
                }
                recorded += 1;
                let extra = serde_json::json!({ "target": target.as_str(), "dueAt": due });
                self.emit(&mut tx, &actor, &t, "sla.breach", extra).await?;
                if alert {
                    let what = match target {
                        SlaTarget::FirstResponse => "first response",
                        SlaTarget::Resolution => "resolution",
                    };
                    let msg = format!("{} missed its {what} target: {}", t.display_number(), t.subject);
                    tx.insert_notification(o.workspace_id, "sla.breach", Some(t.id), &msg, now).await?;
                }
                t = self.run_automation(&mut tx, t, &[AutomationEvent::SlaBreach]).await?;
            }
        }
        tx.commit().await?;
        Ok((overdue.len() as i64, next_batch, recorded))
    }

    // ---- routing rules ----

    /// The workspace's routing rules in the order they are tried.
    pub async fn routing_rule_list(&self, actor: &Actor) -> Result<Vec<RoutingRuleView>, DeskError> {
        require(actor, Permission::View)?;
        let rows = self.store().read().await?.list_routing_rules(actor.workspace_id).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                routing_rule_of(r).map(|rule| RoutingRuleView {
                    id: r.id,
                    rule,
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                })
            })
            .collect())
    }

    /// Creates or updates a routing rule; validation errors name the clause or action.
    pub async fn save_routing_rule(
        &self,
        actor: &Actor,
        id: Option<RoutingRuleId>,
        input: RoutingRuleChange,
    ) -> Result<RoutingRuleView, DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let rule = RoutingRule {
            name: input.name,
            enabled: input.enabled,
            position: input.position.unwrap_or(0),
            join: input.join,
            clauses: input.clauses,
            actions: input.actions,
        }
        .validate()?;
        let mut tx = self.store().write().await?;
        let (queues, users) = rule.references();
        for (field, q) in queues {
            self.check_queue(&mut tx, ws, q, &field).await?;
        }
        for (field, u) in users {
            self.check_assignee(&mut tx, ws, u, &field).await?;
        }
        for (i, c) in rule.clauses.iter().enumerate() {
            if c.field == ClauseField::HelpTopic {
                let id = HelpTopicId(c.value.parse().unwrap_or_default());
                self.check_help_topic(&mut tx, ws, id, &format!("clauses[{i}].value")).await?;
            }
        }
        let existing = tx.list_routing_rules(ws).await?;
        if let Some(id) = id
            && !existing.iter().any(|r| r.id == id)
        {
            return Err(DeskError::NotFound("routing rule"));
        }
        let position = match input.position {
            Some(p) => p,
            None => match id.and_then(|id| existing.iter().find(|r| r.id == id)) {
                Some(r) => r.position,
                None => existing.iter().map(|r| r.position).max().unwrap_or(0) + 10,
            },
        };
        let definition = serde_json::json!({ "join": rule.join, "clauses": rule.clauses, "actions": rule.actions });
        let saved = tx
            .upsert_routing_rule(ws, id, &rule.name, position, rule.enabled, &definition.to_string(), self.now())
            .await?;
        tx.commit().await?;
        Ok(RoutingRuleView {
            id: saved.id,
            rule: RoutingRule { position, ..rule },
            created_at: saved.created_at,
            updated_at: saved.updated_at,
        })
    }

    /// Puts the workspace's routing rules in the given order (every rule named exactly once).
    pub async fn reorder_routing_rules(
        &self,
        actor: &Actor,
        order: &[RoutingRuleId],
    ) -> Result<Vec<RoutingRuleView>, DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let mut tx = self.store().write().await?;
        let existing = tx.list_routing_rules(ws).await?;
        let mut sorted: Vec<i64> = order.iter().map(|r| r.0).collect();
        sorted.sort_unstable();
        let mut have: Vec<i64> = existing.iter().map(|r| r.id.0).collect();
        have.sort_unstable();
        if sorted != have {
            return Err(DeskError::invalid("ruleIds", "name every routing rule of the workspace exactly once"));
        }
        for (i, id) in order.iter().enumerate() {
            tx.set_routing_rule_position(ws, *id, (i as i64 + 1) * 10).await?;
        }
        tx.commit().await?;
        self.routing_rule_list(actor).await
    }

    /// Deletes a routing rule.
    pub async fn delete_routing_rule(&self, actor: &Actor, id: RoutingRuleId) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        if !tx.delete_routing_rule(actor.workspace_id, id).await? {
            return Err(DeskError::NotFound("routing rule"));
        }
        tx.commit().await?;
        Ok(())
    }

    // ---- automation rules ----

    /// The automation rules in force.
    pub async fn automation_rules(&self, actor: &Actor) -> Result<Vec<AutomationRule>, DeskError> {
        require(actor, Permission::View)?;
        let s = self.store().read().await?.workspace_settings(actor.workspace_id).await?;
        serde_json::from_str(&s.automation_rules).map_err(|e| DeskError::Internal(e.to_string()))
    }

    /// Saves the automation rule array (the seed's JSON format) and reports on every rule. With
    /// `drop_invalid` the valid rules are saved and the invalid ones left out, as the seed does;
    /// without it an invalid rule saves nothing, so no rule is lost unnoticed.
    pub async fn save_automation_rules(
        &self,
        actor: &Actor,
        json: &str,
        drop_invalid: bool,
    ) -> Result<AutomationSave, DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let mut parsed = parse_automation_rules(json)?;
        let mut tx = self.store().write().await?;
        let topics = tx.list_help_topics(ws).await?;
        // A rule scoped to a help topic that does not exist would never fire: say so.
        for report in parsed.reports.iter_mut().filter(|r| r.errors.is_empty()) {
            let Some(rule) = parsed.rules.iter().find(|r| Some(&r.id) == report.id.as_ref()) else { continue };
            if let Some(t) = &rule.ticket_type_id
                && !topics.iter().any(|h| h.id.0.to_string() == *t)
            {
                let field = format!("rules[{}].ticketTypeId", report.index);
                report.errors.push(ValidationError::new(field, "no help topic with this id in the workspace"));
            }
        }
        let valid: Vec<AutomationRule> = parsed
            .rules
            .into_iter()
            .filter(|r| parsed.reports.iter().any(|p| p.id.as_ref() == Some(&r.id) && p.errors.is_empty()))
            .collect();
        let all_valid = parsed.reports.iter().all(|r| r.errors.is_empty());
        if !all_valid && !drop_invalid {
            let current = tx.workspace_settings(ws).await?;
            let rules = serde_json::from_str(&current.automation_rules).unwrap_or_default();
            return Ok(AutomationSave { rules, reports: parsed.reports, saved: false });
        }
        let mut settings = tx.workspace_settings_for_update(ws).await?;
        settings.automation_rules = serde_json::to_string(&valid).map_err(|e| DeskError::Internal(e.to_string()))?;
        tx.save_workspace_settings(ws, &settings, self.now()).await?;
        tx.commit().await?;
        Ok(AutomationSave { rules: valid, reports: parsed.reports, saved: true })
    }

    // ---- webhooks ----

    /// The workspace's webhook endpoints.
    pub async fn webhooks(&self, actor: &Actor) -> Result<Vec<WebhookRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        Ok(self.store().read().await?.list_webhooks(actor.workspace_id).await?)
    }

    /// Creates or updates a webhook endpoint. The URL's host, and every address it resolves to
    /// now, must pass the operator's outbound policy.
    pub async fn save_webhook(
        &self,
        actor: &Actor,
        id: Option<WebhookId>,
        input: WebhookChange,
    ) -> Result<SavedWebhook, DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let name = validate_name("name", &input.name)?;
        let url = check_webhook_url("url", &input.url, self.outbound().policy())?;
        self.outbound().check_saved_host("url", url.host(), url.port(), None).await?;
        if input.events.is_empty() {
            return Err(DeskError::invalid("events", "choose at least one event"));
        }
        let mut events: Vec<&str> = input.events.iter().map(|e| e.as_str()).collect();
        events.sort_unstable();
        events.dedup();
        let new_secret = match (&input.secret, id) {
            (Some(s), _) if s.trim().len() < 16 || s.len() > 200 => {
                return Err(DeskError::invalid("secret", "must be 16-200 characters"));
            }
            (Some(_), _) => None,
            (None, None) => {
                let mut raw = [0u8; 24];
                rand::thread_rng().fill_bytes(&mut raw);
                Some(format!("whsec_{}", hex::encode(raw)))
            }
            (None, Some(_)) => None,
        };
        let secret_enc = match input.secret.as_deref().map(str::trim).or(new_secret.as_deref()) {
            Some(s) => Some(self.seal(SecretKind::WebhookSecret, s)?),
            None => None,
        };
        let mut tx = self.store().write().await?;
        if let Some(id) = id {
            tx.webhook_by_id(ws, id).await?.ok_or(DeskError::NotFound("webhook"))?;
        }
        let webhook = tx
            .upsert_webhook(
                ws,
                id,
                &name,
                url.as_str(),
                input.enabled,
                &events.join(","),
                secret_enc.as_deref(),
                self.now(),
            )
            .await
            .map_err(crate::admin::conflict_as_field("name", "this name"))?;
        tx.commit().await?;
        Ok(SavedWebhook { webhook, new_secret })
    }

    /// Deletes a webhook endpoint and its delivery log.
    pub async fn delete_webhook(&self, actor: &Actor, id: WebhookId) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        if !tx.delete_webhook(actor.workspace_id, id).await? {
            return Err(DeskError::NotFound("webhook"));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest deliveries of an endpoint.
    pub async fn webhook_deliveries(
        &self,
        actor: &Actor,
        id: WebhookId,
        limit: i64,
    ) -> Result<Vec<WebhookDeliveryRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().read().await?;
        tx.webhook_by_id(actor.workspace_id, id).await?.ok_or(DeskError::NotFound("webhook"))?;
        Ok(tx.list_webhook_deliveries(actor.workspace_id, id, limit.clamp(1, MAX_LIST)).await?)
    }

    /// Queues a `webhook.test` event for one endpoint, whatever its event selection.
    pub async fn send_test_webhook(&self, actor: &Actor, id: WebhookId) -> Result<WebhookDeliveryId, DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        let hook = tx.webhook_by_id(actor.workspace_id, id).await?.ok_or(DeskError::NotFound("webhook"))?;
        let now = self.now();
        let test_id = format!("evt_test_{}_{now}", hook.id);
        let body = webhook_body(
            &test_id,
            "webhook.test",
            now,
            &serde_json::json!({ "webhook": hook.name, "actor": actor.label }),
        );
        let delivery = tx.insert_webhook_delivery(actor.workspace_id, id, "webhook.test", &body, now).await?;
        tx.commit().await?;
        Ok(delivery)
    }

    /// Turns new domain events into webhook deliveries for the endpoints subscribed to them,
    /// reading the event stream from where it stopped last time. Returns the new deliveries.
    pub async fn dispatch_events(&self) -> Result<Vec<WebhookDeliveryId>, DeskError> {
        const CURSOR: &str = "webhooks";
        let mut created = Vec::new();
        loop {
            // Look before taking the write lock: most ticks find nothing new.
            let mut peek = self.store().read().await?;
            let seen = peek.stream_cursor(CURSOR).await?;
            if peek.events_after(seen, 1).await?.is_empty() {
                break;
            }
            drop(peek);
            let mut tx = self.store().write().await?;
            let after = tx.lock_stream_cursor(CURSOR).await?;
            let events = tx.events_after(after, 500).await?;
            let Some(last) = events.last().map(EventRecord::position) else { break };
            for e in &events {
                if WebhookEvent::parse("event", &e.kind).is_err() {
                    continue;
                }
                let hooks = tx.webhooks_for_event(e.workspace_id, &e.kind).await?;
                if hooks.is_empty() {
                    continue;
                }
                let data: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
                let body = webhook_body(&format!("evt_{}", e.id), &e.kind, e.created_at, &data);
                for h in hooks {
                    created.push(tx.insert_webhook_delivery(e.workspace_id, h.id, &e.kind, &body, self.now()).await?);
                }
            }
            tx.set_stream_cursor(CURSOR, last).await?;
            tx.commit().await?;
            if events.len() < 500 {
                break;
            }
        }
        Ok(created)
    }

    /// Pending deliveries whose next attempt is due, with the attempts made so far.
    pub async fn due_deliveries(&self) -> Result<Vec<(WebhookDeliveryId, i64)>, DeskError> {
        Ok(self.store().read().await?.due_webhook_deliveries(self.now(), 500).await?)
    }

    /// A pending delivery with what is needed to send it; `None` when it is no longer pending
    /// (delivered meanwhile, given up, or its endpoint was deleted or disabled).
    pub async fn delivery_to_send(&self, id: WebhookDeliveryId) -> Result<Option<OutgoingDelivery>, DeskError> {
        let mut tx = self.store().read().await?;
        let Some(d) = tx.webhook_delivery(id).await?.filter(|d| d.status == "pending") else { return Ok(None) };
        let Some(hook) = tx.webhook_by_id(d.workspace_id, d.webhook_id).await?.filter(|h| h.enabled) else {
            return Ok(None);
        };
        Ok(Some(OutgoingDelivery {
            id,
            url: hook.url,
            event: d.event,
            body: d.payload,
            secret: self.open_sealed(SecretKind::WebhookSecret, &hook.secret_enc)?.into_bytes(),
            attempts: d.attempts,
        }))
    }

    /// Records an attempt: delivered on a 2xx, else retried after a backoff of `retry_base_ms`
    /// times 3^(attempt-1) until the attempts run out. Returns when to try again, if at all.
    pub async fn record_attempt(
        &self,
        d: &OutgoingDelivery,
        outcome: AttemptOutcome,
        retry_base_ms: i64,
    ) -> Result<Option<Millis>, DeskError> {
        let now = self.now();
        let attempt = d.attempts + 1;
        let (status, next) = match &outcome.error {
            None => ("delivered", None),
            Some(_) => match retry_delay_ms(attempt, retry_base_ms) {
                Some(delay) => ("pending", Some(now + delay)),
                None => ("failed", None),
            },
        };
        let mut tx = self.store().write().await?;
        tx.record_delivery_attempt(
            d.id,
            &DeliveryAttempt {
                status,
                next_attempt_at: next.unwrap_or(now),
                response_status: outcome.response_status.map(i64::from),
                latency_ms: outcome.latency_ms,
                error: outcome.error,
                now,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(next)
    }

    // ---- quality flags and notifications ----

    /// Tickets flagged for review, open ones only unless `include_resolved`.
    pub async fn quality_flags(
        &self,
        actor: &Actor,
        include_resolved: bool,
    ) -> Result<Vec<QualityFlagRecord>, DeskError> {
        require(actor, Permission::View)?;
        Ok(self.store().read().await?.list_quality_flags(actor.workspace_id, include_resolved, MAX_LIST).await?)
    }

    /// Marks a flag reviewed.
    pub async fn resolve_quality_flag(&self, actor: &Actor, id: QualityFlagId) -> Result<QualityFlagRecord, DeskError> {
        require(actor, Permission::Manage)?;
        let mut tx = self.store().write().await?;
        let flag = tx
            .resolve_quality_flag(actor.workspace_id, id, actor.user_id(), self.now())
            .await?
            .ok_or(DeskError::NotFound("open quality flag"))?;
        tx.commit().await?;
        Ok(flag)
    }

    /// The newest notifications for the workspace's managers.
    pub async fn notifications(&self, actor: &Actor, limit: i64) -> Result<Vec<NotificationRecord>, DeskError> {
        require(actor, Permission::Reassign)?;
        Ok(self.store().read().await?.list_notifications(actor.workspace_id, limit.clamp(1, MAX_LIST)).await?)
    }

    // ---- canned responses ----

    /// Renders a canned response against a ticket as the acting staff member would send it.
    pub async fn preview_canned_response(
        &self,
        actor: &Actor,
        id: CannedResponseId,
        ticket: TicketId,
    ) -> Result<String, DeskError> {
        require(actor, Permission::View)?;
        let mut tx = self.store().read().await?;
        let r =
            tx.canned_response_by_id(actor.workspace_id, id).await?.ok_or(DeskError::NotFound("canned response"))?;
        let t = tx.ticket_by_id(actor.workspace_id, ticket).await?.ok_or(DeskError::NotFound("ticket"))?;
        self.render_canned(&mut tx, actor, &r, &t).await
    }

    /// Renders the canned response with this shortcut (e.g. `refund-policy`, with or without a
    /// leading `/`) against a ticket: how chat channels and the reply box expand a shortcut. A
    /// response scoped to another help topic than the ticket's is not offered.
    pub async fn render_canned_shortcut(
        &self,
        actor: &Actor,
        shortcut: &str,
        ticket: TicketId,
    ) -> Result<String, DeskError> {
        require(actor, Permission::View)?;
        let wanted = shortcut.trim().trim_start_matches('/');
        let mut tx = self.store().read().await?;
        let t = tx.ticket_by_id(actor.workspace_id, ticket).await?.ok_or(DeskError::NotFound("ticket"))?;
        let r = tx
            .list_canned_responses(actor.workspace_id)
            .await?
            .into_iter()
            .find(|r| r.shortcut.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(wanted)))
            .filter(|r| r.help_topic_id.is_none() || r.help_topic_id == t.help_topic_id)
            .ok_or_else(|| DeskError::invalid("shortcut", format!("no canned response has the shortcut {wanted:?}")))?;
        self.render_canned(&mut tx, actor, &r, &t).await
    }

    async fn render_canned(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        r: &CannedResponseRecord,
        t: &TicketRecord,
    ) -> Result<String, DeskError> {
        let ws = actor.workspace_id;
        let workspace = tx.workspace_by_id(ws).await?;
        let (actor_name, actor_email) = match actor.user_id() {
            Some(u) => match tx.user_by_id(ws, u).await? {
                Some(u) => (u.name, Some(u.email)),
                None => (actor.label.clone(), None),
            },
            None => (actor.label.clone(), None),
        };
        let ctx = template_context(t, &workspace.name, ActorVars { name: actor_name, email: actor_email });
        Ok(render_template(&r.body, &ctx)?)
    }
}

/// The JSON body of a webhook delivery: fixed when queued, so every retry sends the same bytes
/// and receivers can deduplicate on `id`.
fn webhook_body(id: &str, kind: &str, at: Millis, data: &serde_json::Value) -> String {
    let created = chrono::DateTime::from_timestamp_millis(at).unwrap_or_default();
    serde_json::json!({
        "id": id,
        "type": kind,
        "createdAt": created.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string()
}

/// Proactive follow-ups and inactivity auto-close, as an admin sets them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InactivitySettings {
    /// Follow up on open tickets quiet this many hours; off when `None`.
    pub stale_after_hours: Option<i64>,
    /// The follow-up text; a default when `None`.
    pub stale_message: Option<String>,
    /// Close tickets quiet this many days; off when `None`.
    pub auto_close_days: Option<i64>,
    /// Warn the requester this many days before closing.
    pub auto_close_warning_days: Option<i64>,
    /// A longer period for escalated tickets.
    pub auto_close_escalated_days: Option<i64>,
    /// Only the requester's messages count as activity.
    pub auto_close_customer_only: bool,
    /// Delete closed tickets' transcripts (messages and attachments) this many days after close.
    pub transcript_retention_days: Option<i64>,
}

/// What one follow-up sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowUpReport {
    pub nudged: usize,
    pub warned: usize,
    pub closed: usize,
    /// Closed tickets whose transcript was deleted.
    pub purged: usize,
}

const DEFAULT_STALE_MESSAGE: &str = "We have not heard from you in a while. Is there anything else we can help with? Just reply to keep this ticket open.";

/// A positive whole number of at most `max` (days or hours), or none.
fn in_range(field: &str, v: Option<i64>, max: i64) -> Result<Option<i64>, DeskError> {
    match v {
        Some(d) if !(1..=max).contains(&d) => Err(DeskError::invalid(field, format!("must be between 1 and {max}"))),
        other => Ok(other),
    }
}

impl Desk {
    /// The workspace's follow-up and auto-close settings.
    pub async fn inactivity_settings(&self, actor: &Actor) -> Result<InactivitySettings, DeskError> {
        require(actor, Permission::View)?;
        let s = self.store().read().await?.workspace_settings(actor.workspace_id).await?;
        Ok(InactivitySettings {
            stale_after_hours: s.stale_after_hours,
            stale_message: s.stale_message,
            auto_close_days: s.auto_close_days,
            auto_close_warning_days: s.auto_close_warning_days,
            auto_close_escalated_days: s.auto_close_escalated_days,
            auto_close_customer_only: s.auto_close_customer_only,
            transcript_retention_days: s.transcript_retention_days,
        })
    }

    /// Saves the follow-up, auto-close and transcript retention settings.
    pub async fn save_inactivity_settings(
        &self,
        actor: &Actor,
        input: InactivitySettings,
    ) -> Result<InactivitySettings, DeskError> {
        require(actor, Permission::Admin)?;
        let stale_after_hours = in_range("staleAfterHours", input.stale_after_hours, 24 * 365)?;
        let auto_close_days = in_range("autoCloseDays", input.auto_close_days, 365)?;
        let warning = in_range("autoCloseWarningDays", input.auto_close_warning_days, 365)?;
        let escalated = in_range("autoCloseEscalatedDays", input.auto_close_escalated_days, 365)?;
        let retention = in_range("transcriptRetentionDays", input.transcript_retention_days, 3650)?;
        if let (Some(w), Some(d)) = (warning, auto_close_days)
            && w >= d
        {
            return Err(DeskError::invalid("autoCloseWarningDays", "must be fewer days than autoCloseDays"));
        }
        if let (Some(e), Some(d)) = (escalated, auto_close_days)
            && e < d
        {
            return Err(DeskError::invalid("autoCloseEscalatedDays", "must be at least autoCloseDays"));
        }
        let stale_message = match input.stale_message.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            Some(m) => Some(validate_body("staleMessage", m)?),
            None => None,
        };
        let mut tx = self.store().write().await?;
        let mut s = tx.workspace_settings_for_update(actor.workspace_id).await?;
        s.stale_after_hours = stale_after_hours;
        s.stale_message = stale_message.clone();
        s.auto_close_days = auto_close_days;
        s.auto_close_warning_days = warning;
        s.auto_close_escalated_days = escalated;
        s.auto_close_customer_only = input.auto_close_customer_only;
        s.transcript_retention_days = retention;
        tx.save_workspace_settings(actor.workspace_id, &s, self.now()).await?;
        tx.commit().await?;
        Ok(InactivitySettings {
            stale_after_hours,
            stale_message,
            auto_close_days,
            auto_close_warning_days: warning,
            auto_close_escalated_days: escalated,
            auto_close_customer_only: input.auto_close_customer_only,
            transcript_retention_days: retention,
        })
    }

    /// Follows up on quiet tickets in every workspace that asked for it: one automatic message
    /// per quiet spell on stale open tickets, the auto-close warning, and the close itself
    /// (reason "user unresponsive"). Automatic messages go out like staff replies (through the
    /// ticket's channel) but are no activity and no first response.
    pub async fn follow_up_quiet_tickets(&self) -> Result<FollowUpReport, DeskError> {
        const DAY: Millis = 24 * 3_600_000;
        let mut report = FollowUpReport::default();
        let workspaces = self.store().read().await?.inactivity_workspaces().await?;
        for (ws, s) in workspaces {
            let system = Actor::system(ws);
            let now = self.now();
            if let Some(days) = s.transcript_retention_days {
                report.purged += self.purge_transcripts(ws, now - days * DAY).await?;
            }
            if let Some(hours) = s.stale_after_hours {
                let message = s.stale_message.clone().unwrap_or_else(|| DEFAULT_STALE_MESSAGE.to_string());
                for id in self.quiet(ws, now - hours * 3_600_000, false).await? {
                    let mut tx = self.store().write().await?;
                    let Some(mut t) = tx.ticket_by_id(ws, id).await? else { continue };
                    let last = t.last_message_at.unwrap_or(t.created_at);
                    // Waiting tickets wait on the customer by design: no nudge from our side.
                    if !matches!(t.status, TicketStatus::Open | TicketStatus::InProgress)
                        || !is_stale(now, last, hours, t.stale_nudged_at)
                    {
                        continue;
                    }
                    t.stale_nudged_at = Some(now);
                    tx.save_ticket(&t).await?;
                    tx.commit().await?;
                    self.reply(&system, id, &message, Vec::new(), None).await?;
                    report.nudged += 1;
                }
            }
            let Some(days) = s.auto_close_days else { continue };
            let policy = InactivityPolicy {
                close_after_days: days,
                warn_days_before: s.auto_close_warning_days,
                escalated_close_after_days: s.auto_close_escalated_days,
            };
            let earliest = days - s.auto_close_warning_days.unwrap_or(0);
            for id in self.quiet(ws, now - earliest * DAY, s.auto_close_customer_only).await? {
                let mut tx = self.store().write().await?;
                let Some(mut t) = tx.ticket_by_id(ws, id).await? else { continue };
                let last = if s.auto_close_customer_only { t.last_customer_message_at } else { t.last_message_at };
                match policy.step(now, last.unwrap_or(t.created_at), t.escalated, t.auto_close_warned_at) {
                    None => continue,
                    Some(InactivityStep::Warn { closes_at }) => {
                        t.auto_close_warned_at = Some(now);
                        tx.save_ticket(&t).await?;
                        tx.commit().await?;
                        let when = chrono::DateTime::from_timestamp_millis(closes_at).unwrap_or_default();
                        let text = format!(
                            "This ticket will be closed on {} (UTC) unless we hear from you. Reply to keep it open.",
                            when.format("%Y-%m-%d %H:%M")
                        );
                        self.reply(&system, id, &text, Vec::new(), None).await?;
                        report.warned += 1;
                    }
                    Some(InactivityStep::Close) => {
                        drop(tx);
                        let note = format!("Closed automatically after {days} days without activity");
                        self.close(&system, id, CloseReason::UserUnresponsive, Some(&note)).await?;
                        report.closed += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Deletes the transcripts of tickets closed before `closed_before`: their messages,
    /// attachment rows and, when nothing else holds them, the attachment bytes. The ticket row,
    /// its history and its events stay for reporting.
    async fn purge_transcripts(&self, ws: WorkspaceId, closed_before: Millis) -> Result<usize, DeskError> {
        let mut purged = 0;
        loop {
            let due = self.store().read().await?.purgeable_tickets(ws, closed_before, 100).await?;
            if due.is_empty() {
                return Ok(purged);
            }
            for id in due {
                let mut tx = self.store().write().await?;
                let shas = tx.purge_transcript(ws, id, self.now()).await?;
                let mut unused = Vec::new();
                for sha in shas {
                    if !tx.blob_in_use(&sha).await? {
                        unused.push(sha);
                    }
                }
                tx.commit().await?;
                for sha in unused {
                    self.blobs().delete_unless_recent(&sha, std::time::Duration::from_secs(3600)).await?;
                }
                purged += 1;
            }
        }
    }

    /// Every quiet ticket of a workspace, read page by page so none is starved.
    async fn quiet(&self, ws: WorkspaceId, before: Millis, customer_only: bool) -> Result<Vec<TicketId>, DeskError> {
        let mut out = Vec::new();
        let mut after = TicketId(0);
        loop {
            let page = self.store().read().await?.quiet_tickets(ws, before, customer_only, after, 500).await?;
            let Some(last) = page.last().copied() else { break };
            after = last;
            let full = page.len() == 500;
            out.extend(page);
            if !full {
                break;
            }
        }
        Ok(out)
    }
}

/// How far back the daily scan looks for closed tickets.
const SUGGESTION_WINDOW_DAYS: i64 = 30;

impl Desk {
    /// Finds staff replies repeated in at least three messages across two or more tickets closed
    /// in the last 30 days, in every workspace, and offers them as macros. Never creates a
    /// canned response by itself. Returns how many texts are on offer after the scan.
    pub async fn scan_macro_suggestions(&self) -> Result<usize, DeskError> {
        let now = self.now();
        let since = now - SUGGESTION_WINDOW_DAYS * 24 * 3_600_000;
        let mut offered = 0;
        for ws in self.store().read().await?.workspace_ids().await? {
            let replies = self.store().read().await?.staff_replies_on_closed(ws, since, 20_000).await?;
            let repeated = repeated_replies(&replies);
            if repeated.is_empty() {
                continue;
            }
            let mut tx = self.store().write().await?;
            for r in &repeated {
                tx.upsert_macro_suggestion(ws, &r.fingerprint, &r.body, r.occurrences as i64, r.tickets as i64, now)
                    .await?;
            }
            tx.commit().await?;
            offered += repeated.len();
        }
        Ok(offered)
    }

    /// Suggested macros waiting for a decision, most repeated first.
    pub async fn macro_suggestions(&self, actor: &Actor) -> Result<Vec<MacroSuggestionRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        Ok(self.store().read().await?.pending_macro_suggestions(actor.workspace_id).await?)
    }

    /// Turns a suggestion into a canned response with the given title and shortcut.
    pub async fn accept_macro_suggestion(
        &self,
        actor: &Actor,
        id: MacroSuggestionId,
        title: &str,
        shortcut: &str,
    ) -> Result<CannedResponseRecord, DeskError> {
        require(actor, Permission::Admin)?;
        let suggestion = self
            .store()
            .read()
            .await?
            .macro_suggestion(actor.workspace_id, id)
            .await?
            .filter(|s| s.status == "pending")
            .ok_or(DeskError::NotFound("pending macro suggestion"))?;
        let input = crate::CannedResponseInput {
            title: title.to_string(),
            shortcut: Some(shortcut.to_string()),
            body: suggestion.body,
            help_topic_id: None,
        };
        let canned = self.save_canned_response(actor, None, input).await?;
        let mut tx = self.store().write().await?;
        tx.decide_macro_suggestion(actor.workspace_id, id, "accepted", Some(canned.id), self.now()).await?;
        tx.commit().await?;
        Ok(canned)
    }

    /// Hides a suggestion for good.
    pub async fn dismiss_macro_suggestion(&self, actor: &Actor, id: MacroSuggestionId) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        tx.decide_macro_suggestion(actor.workspace_id, id, "dismissed", None, self.now())
            .await?
            .ok_or(DeskError::NotFound("pending macro suggestion"))?;
        tx.commit().await?;
        Ok(())
    }
}
