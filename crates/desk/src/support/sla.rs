//! SLA policies, the workspace's SLA settings, the breach scan and the dashboard's trend, and the
//! SLA clock every ticket change keeps (targets from the policy, paused while waiting on the
//! customer).

use switchboard_domain::*;
use switchboard_store::*;

use crate::retry::retrying;
use crate::{Desk, DeskError, FormVersion, require};

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
    /// For an update: the policy's version when the form was loaded. A newer one (someone saved
    /// since) is refused; `None` saves over whatever is there (callers from before versions).
    pub version: Option<i64>,
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

/// One day of the SLA dashboard's trend, in the workspace's time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendDay {
    pub date: chrono::NaiveDate,
    pub opened: i64,
    pub breaches: i64,
    pub resolved: i64,
}

impl Desk {
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
            self.take_version(&mut tx, actor, EditedForm::SlaPolicy(id), "SLA policy", input.version).await?;
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
    /// managers are notified of breaches. `version` is the form's (see [`Desk::settings_version`]):
    /// a newer one is refused, `None` saves over whatever is there.
    pub async fn save_sla_settings(
        &self,
        actor: &Actor,
        input: SlaSettings,
        version: Option<i64>,
    ) -> Result<(SlaSettings, FormVersion), DeskError> {
        require(actor, Permission::Admin)?;
        if !(1..=99).contains(&input.at_risk_percent) {
            return Err(DeskError::invalid("atRiskPercent", "must be between 1 and 99"));
        }
        let mut tx = self.store().write().await?;
        let mut s = tx.workspace_settings_for_update(actor.workspace_id).await?;
        let taken = self.take_settings_version(&mut tx, actor, SettingsForm::Sla, version).await?;
        s.at_risk_percent = input.at_risk_percent;
        s.alert_sla_breach = input.alert_on_breach;
        tx.save_workspace_settings(actor.workspace_id, &s, self.now()).await?;
        tx.commit().await?;
        Ok((input, taken))
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
                self.emit_event(&mut tx, &actor, &t, EventKind::SlaBreach, extra).await?;
                if alert {
                    let what = match target {
                        SlaTarget::FirstResponse => "first response",
                        SlaTarget::Resolution => "resolution",
                    };
                    let msg = format!("{} missed its {what} target: {}", t.display_number(), t.subject);
                    tx.insert_notification(o.workspace_id, NotificationKind::SlaBreach, Some(t.id), &msg, now).await?;
                }
                t = self.run_automation(&mut tx, t, &[AutomationEvent::SlaBreach]).await?;
            }
        }
        tx.commit().await?;
        Ok((overdue.len() as i64, next_batch, recorded))
    }

    /// Tickets opened, SLA targets missed and tickets resolved per day over the last `days`
    /// days (today included), by the workspace's calendar.
    pub async fn sla_trend(&self, actor: &Actor, days: u32) -> Result<Vec<TrendDay>, DeskError> {
        require(actor, Permission::View)?;
        if !(1..=90).contains(&days) {
            return Err(DeskError::invalid("days", "must be between 1 and 90"));
        }
        let mut tx = self.store().read().await?;
        let tz = parse_time_zone("timeZone", &tx.workspace_by_id(actor.workspace_id).await?.time_zone)?;
        let bounds = local_days(self.now(), tz, days);
        let mut out: Vec<TrendDay> =
            bounds.iter().map(|(date, _)| TrendDay { date: *date, opened: 0, breaches: 0, resolved: 0 }).collect();
        for (kind, at) in tx.trend_events(actor.workspace_id, bounds[0].1).await? {
            let Some(day) = day_index(&bounds, at).and_then(|i| out.get_mut(i)) else { continue };
            match kind.as_str() {
                "opened" => day.opened += 1,
                "breach" => day.breaches += 1,
                _ => day.resolved += 1,
            }
        }
        Ok(out)
    }
}

// ---- the SLA clock, kept inside each ticket change's transaction ----

/// A ticket's fields as they were before a change, to tell what the SLA clock must react to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlaInputs {
    pub priority: Priority,
    pub help_topic_id: Option<HelpTopicId>,
}

impl SlaInputs {
    pub(crate) fn of(t: &TicketRecord) -> SlaInputs {
        SlaInputs { priority: t.priority, help_topic_id: t.help_topic_id }
    }
}

/// The next pending target, or none while the clock is paused or the ticket needs no work.
pub(crate) fn refresh_sla(t: &mut TicketRecord) {
    t.sla_due_at = if t.sla_paused_at.is_some() {
        None
    } else {
        next_sla_due(t.status, t.first_response_due_at, t.first_responded_at, t.resolution_due_at)
    };
}

fn clock_of(t: &TicketRecord) -> SlaClock {
    SlaClock {
        started_at: t.sla_started_at.unwrap_or(t.created_at),
        paused_at: t.sla_paused_at,
        paused_minutes: t.sla_paused_minutes,
    }
}

impl Desk {
    /// The business-hours calendar a policy counts in: its own, or every minute in the
    /// workspace's time zone.
    pub(crate) async fn calendar_for(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        calendar: Option<CalendarId>,
    ) -> Result<BusinessCalendar, DeskError> {
        if let Some(id) = calendar
            && let Some(c) = tx.calendar_by_id(ws, id).await?
        {
            let spec: CalendarSpec =
                serde_json::from_str(&c.spec).map_err(|e| DeskError::Internal(format!("calendar {id}: {e}")))?;
            return Ok(spec.validate()?);
        }
        let w = tx.workspace_by_id(ws).await?;
        Ok(BusinessCalendar::always_open(parse_time_zone("timeZone", &w.time_zone)?))
    }

    /// Sets the SLA targets of `t` from the policy for its priority and help topic, counting from
    /// when its clock started plus the time it spent paused. No policy leaves the targets as the
    /// caller set them (a help topic's due offset, an explicit resolution due time).
    pub(crate) async fn apply_sla_policy(&self, tx: &mut Tx, t: &mut TicketRecord) -> Result<(), DeskError> {
        match tx.sla_policy_for(t.workspace_id, t.priority, t.help_topic_id).await? {
            Some(p) => {
                let calendar = self.calendar_for(tx, t.workspace_id, p.calendar_id).await?;
                // While paused, the targets stand as if the clock had stopped at the pause:
                // resuming moves them by the time paused (see `sync_sla`).
                let clock = SlaClock { paused_at: None, ..clock_of(t) };
                t.sla_policy_id = Some(p.id);
                t.first_response_due_at = clock.due(&calendar, p.first_response_minutes);
                t.resolution_due_at = clock.due(&calendar, p.resolution_minutes);
            }
            None if t.sla_policy_id.is_some() => {
                // The policy no longer applies (priority changed): its targets go with it.
                t.sla_policy_id = None;
                t.first_response_due_at = None;
                t.resolution_due_at = None;
            }
            None => {}
        }
        Ok(())
    }

    /// Brings the SLA clock of `t` in line with a change from `before`: waiting on the customer
    /// pauses it, leaving waiting resumes it and pushes every due time still ahead when it paused
    /// out by the business time paused (a policy's targets, a help topic's offset, a due time the
    /// caller set alike), and a new priority or help topic picks the policy again.
    pub(crate) async fn sync_sla(&self, tx: &mut Tx, t: &mut TicketRecord, before: SlaInputs) -> Result<(), DeskError> {
        let now = self.now();
        let recompute = before.priority != t.priority || before.help_topic_id != t.help_topic_id;
        if t.status == TicketStatus::Waiting && t.sla_paused_at.is_none() {
            t.sla_paused_at = Some(now);
        } else if t.status != TicketStatus::Waiting
            && let Some(paused_at) = t.sla_paused_at
        {
            let mut clock = clock_of(t);
            let calendar = match t.sla_policy_id {
                Some(id) => {
                    let cal = tx.sla_policy_by_id(t.workspace_id, id).await?.and_then(|p| p.calendar_id);
                    self.calendar_for(tx, t.workspace_id, cal).await?
                }
                None => self.calendar_for(tx, t.workspace_id, None).await?,
            };
            let waited = clock.paused_minutes;
            clock.resume(now, &calendar);
            let waited = clock.paused_minutes - waited;
            t.sla_paused_at = None;
            t.sla_paused_minutes = clock.paused_minutes;
            // Shifting each due time rather than recomputing the policy's: a due time that did
            // not come from the policy (an explicit one wins over it at open) moves too. A
            // target already missed when the clock paused stays where it was missed.
            let extend = |due: Option<Millis>| match due {
                Some(d) if d > paused_at && waited > 0 => Some(calendar.add_business_minutes(d, waited)),
                other => other,
            };
            if t.first_responded_at.is_none() {
                t.first_response_due_at = extend(t.first_response_due_at);
            }
            t.resolution_due_at = extend(t.resolution_due_at);
        }
        if recompute {
            self.apply_sla_policy(tx, t).await?;
        }
        refresh_sla(t);
        Ok(())
    }
}
