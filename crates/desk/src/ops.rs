//! Support operations applied inside a ticket's transaction: auto-assignment, the SLA clock and
//! automation rules (routing rules, in `support/routing.rs`). The decisions are the domain's;
//! this module loads what they need and writes what they decide.

use switchboard_domain::*;
use switchboard_store::*;

use crate::{Desk, DeskError, TicketPatch};

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

/// The label history and events use for changes made by a rule.
pub(crate) fn rule_actor(ws: WorkspaceId, what: &str, name: &str) -> Actor {
    let mut a = Actor::system(ws);
    a.label = format!("{what} \u{201c}{name}\u{201d}");
    a
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
                let clock = clock_of(t);
                t.sla_policy_id = Some(p.id);
                if !clock.is_paused() {
                    t.first_response_due_at = clock.due(&calendar, p.first_response_minutes);
                    t.resolution_due_at = clock.due(&calendar, p.resolution_minutes);
                }
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
    /// pauses it, leaving waiting resumes it and pushes the targets out by the business time
    /// paused, and a new priority or help topic picks the policy again.
    pub(crate) async fn sync_sla(&self, tx: &mut Tx, t: &mut TicketRecord, before: SlaInputs) -> Result<(), DeskError> {
        let now = self.now();
        let mut recompute = before.priority != t.priority || before.help_topic_id != t.help_topic_id;
        if t.status == TicketStatus::Waiting && t.sla_paused_at.is_none() {
            t.sla_paused_at = Some(now);
        } else if t.status != TicketStatus::Waiting && t.sla_paused_at.is_some() {
            let mut clock = clock_of(t);
            let calendar = match t.sla_policy_id {
                Some(id) => {
                    let cal = tx.sla_policy_by_id(t.workspace_id, id).await?.and_then(|p| p.calendar_id);
                    self.calendar_for(tx, t.workspace_id, cal).await?
                }
                None => self.calendar_for(tx, t.workspace_id, None).await?,
            };
            clock.resume(now, &calendar);
            t.sla_paused_at = None;
            t.sla_paused_minutes = clock.paused_minutes;
            recompute = recompute || t.sla_policy_id.is_some();
        }
        if recompute {
            self.apply_sla_policy(tx, t).await?;
        }
        refresh_sla(t);
        Ok(())
    }

    /// Who a ticket in `queue` goes to under the queue's assignment mode (or round robin when
    /// `force_round_robin` and the queue is manual), advancing the queue's rotation cursor.
    pub(crate) async fn auto_assignee(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        queue: &QueueRecord,
        force_round_robin: bool,
    ) -> Result<Option<UserRecord>, DeskError> {
        let mode = match queue.assignment_mode {
            AssignmentMode::Manual if force_round_robin => AssignmentMode::RoundRobin,
            m => m,
        };
        if mode == AssignmentMode::Manual {
            return Ok(None);
        }
        // The cursor first: it locks the queue's rotation, so the loads below are the ones left by
        // the assignment before this one.
        let cursor = tx.round_robin_cursor(ws, queue.id).await?;
        let members: Vec<AssignmentCandidate> = tx
            .queue_member_loads(ws, queue.id)
            .await?
            .into_iter()
            .map(|m| AssignmentCandidate {
                user_id: m.user_id,
                on_break: m.on_break,
                weight: m.weight,
                open_assigned: m.open_assigned,
            })
            .collect();
        let Some(pick) = pick_assignee(mode, &members, cursor) else { return Ok(None) };
        tx.set_round_robin_cursor(ws, queue.id, pick).await?;
        Ok(tx.user_by_id(ws, pick).await?)
    }

    /// Runs the automation rules for each of `events` on `t` and applies what they plan, each
    /// action as a change attributed to its rule (so an escalation's reason names the rule).
    /// Returns the ticket as saved.
    pub(crate) async fn run_automation(
        &self,
        tx: &mut Tx,
        mut t: TicketRecord,
        events: &[AutomationEvent],
    ) -> Result<TicketRecord, DeskError> {
        let ws = t.workspace_id;
        let settings = tx.workspace_settings(ws).await?;
        let rules: Vec<AutomationRule> = match serde_json::from_str(&settings.automation_rules) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(workspace = ws.0, error = %e, "skipping unreadable automation rules");
                return Ok(t);
            }
        };
        if rules.is_empty() {
            return Ok(t);
        }
        let mut plan = Vec::new();
        for event in events {
            plan.extend(plan_automation(&rules, event.clone(), t.help_topic_id, t.escalated));
        }
        for step in plan {
            let actor = rule_actor(ws, "Automation rule", &step.rule_name);
            let mut patch = TicketPatch::default();
            match step.action {
                AutomationAction::AddTag { tag } => {
                    let mut tags = t.tag_list();
                    if tags.contains(&tag) {
                        continue;
                    }
                    tags.push(tag);
                    patch.tags = Some(tags);
                }
                AutomationAction::Escalate => patch.escalated = Some(true),
                AutomationAction::SetPriority { priority } => patch.priority = Some(priority),
                AutomationAction::AssignRoundRobin => {
                    if t.assignee_id.is_some() {
                        continue;
                    }
                    let queue = tx.queue_by_id(ws, t.queue_id).await?.ok_or(DeskError::NotFound("queue"))?;
                    match self.auto_assignee(tx, ws, &queue, true).await? {
                        Some(u) => patch.assignee_id = Some(Some(u.id)),
                        None => continue,
                    }
                }
                AutomationAction::Notify { message } => {
                    let text = message
                        .unwrap_or_else(|| format!("{}: {} ({})", step.rule_name, t.subject, t.display_number()));
                    tx.insert_notification(ws, "automation", Some(t.id), &text, self.now()).await?;
                    continue;
                }
            }
            t = self.patch_ticket_quietly(tx, &actor, t, patch).await?;
        }
        Ok(t)
    }
}
