//! Follow-ups: what happens after a ticket closes (the CSAT request and the post-close
//! follow-up) and the manager alerts (queue depth, CSAT drop, escalation spike), here; the
//! follow-ups on quiet tickets and inactivity auto-close, in [`inactivity`]. The job runner's
//! sweeps call [`Desk::after_close_and_alerts`] and [`Desk::follow_up_quiet_tickets`]; admins
//! set each through the settings they define.

use switchboard_domain::{
    Actor, ActorVars, CSAT_WINDOW_MS, CloseReason, EventKind, ManagerAlert, Millis, Permission, RatingCounts,
    RequesterVars, TemplateContext, TicketVars, WorkspaceId, WorkspaceVars, alert_transition, csat_drop,
    render_template, validate_template, without_nul,
};
use switchboard_store::{SettingsForm, TicketRecord};

use crate::{Desk, DeskError, FormVersion, require};

mod inactivity;

pub use inactivity::*;

const DAY: Millis = 24 * 3_600_000;
/// Tickets closed longer ago than this get no after-close message, so switching the feature on
/// does not write to every customer of the past.
const AFTER_CLOSE_HORIZON: Millis = 14 * DAY;
const CSAT_REQUEST: &str = "csat_request";
const POST_CLOSE: &str = "post_close";
const NEGATIVE_CSAT: &str = "negative_csat";

const DEFAULT_CSAT_REQUEST: &str = "Your ticket {{ticket.number}} ({{ticket.subject}}) is closed. How did we do? \
Rate the help you got from 1 to 5 on your My Tickets page; it takes a second and helps {{workspace.name}} improve.";
const DEFAULT_POST_CLOSE: &str = "We closed {{ticket.number}} ({{ticket.subject}}) a little while ago. Is everything \
still working? If not, just reply and we will pick it up again.";

/// The after-close messages, as an admin sets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterCloseSettings {
    /// Ask the requester for a rating once their ticket closes (unless they already rated).
    pub csat_request_enabled: bool,
    /// The rating request, a template with the canned-response variables; a default when `None`.
    pub csat_request_message: Option<String>,
    /// Ask whether the issue stayed resolved this many days after close; off when `None`.
    /// Tickets closed for inactivity are skipped.
    pub post_close_follow_up_days: Option<i64>,
    /// The post-close question, a template; a default when `None`.
    pub post_close_follow_up_message: Option<String>,
    /// Sent when the requester rates the ticket 1 or 2 of 5, a template; none when `None`.
    pub negative_csat_message: Option<String>,
    /// Reopen a ticket its requester rated 1 or 2 of 5.
    pub negative_csat_reopen: bool,
}

/// Manager alert thresholds, as an admin sets them; each is off when `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerAlertSettings {
    /// Alert when more tickets than this are unassigned or escalated and not yet resolved.
    pub queue_depth: Option<i64>,
    /// Alert when the satisfied share of this week's ratings is this many points under last week's.
    pub csat_drop_percent: Option<i64>,
    /// Alert when more tickets than this escalate within the window.
    pub escalation_spike: Option<i64>,
    /// The escalation window, in minutes.
    pub escalation_window_minutes: i64,
}

/// What one after-close and alert sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AfterCloseReport {
    pub csat_requests: usize,
    pub post_close_follow_ups: usize,
    /// Manager alerts raised (each one notification).
    pub alerts: usize,
}

fn template_field(field: &str, message: Option<String>) -> Result<Option<String>, DeskError> {
    match message.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => {
            let m = without_nul(m);
            validate_template(field, &m)?;
            Ok(Some(m.into_owned()))
        }
        None => Ok(None),
    }
}

fn threshold(field: &str, v: Option<i64>, max: i64) -> Result<Option<i64>, DeskError> {
    match v {
        Some(n) if !(1..=max).contains(&n) => Err(DeskError::invalid(field, format!("must be between 1 and {max}"))),
        other => Ok(other),
    }
}

/// The template variables for an automatic message on `t`, sent in the workspace's name.
pub(crate) fn template_context(t: &TicketRecord, workspace_name: &str, actor: ActorVars) -> TemplateContext {
    TemplateContext {
        actor,
        ticket: TicketVars {
            number: t.display_number(),
            subject: t.subject.clone(),
            status: t.status.to_string(),
            priority: t.priority.to_string(),
            queue: t.queue_name.clone(),
            help_topic: t.help_topic_name.clone().unwrap_or_default(),
        },
        requester: RequesterVars { name: t.requester_name.clone(), email: t.requester_email.clone() },
        workspace: WorkspaceVars { name: workspace_name.to_string() },
    }
}

impl Desk {
    /// The workspace's after-close messages.
    pub async fn after_close_settings(&self, actor: &Actor) -> Result<AfterCloseSettings, DeskError> {
        require(actor, Permission::View)?;
        let s = self.store().read().await?.workspace_settings(actor.workspace_id).await?;
        Ok(AfterCloseSettings {
            csat_request_enabled: s.csat_request_enabled,
            csat_request_message: s.csat_request_message,
            post_close_follow_up_days: s.post_close_follow_up_days,
            post_close_follow_up_message: s.post_close_follow_up_message,
            negative_csat_message: s.negative_csat_message,
            negative_csat_reopen: s.negative_csat_reopen,
        })
    }

    /// Saves the after-close messages; a message with an unknown variable is refused. `version` is
    /// the form's (see [`Desk::settings_version`]): a newer one is refused, `None` saves over
    /// whatever is there.
    pub async fn save_after_close_settings(
        &self,
        actor: &Actor,
        input: AfterCloseSettings,
        version: Option<i64>,
    ) -> Result<(AfterCloseSettings, FormVersion), DeskError> {
        require(actor, Permission::Admin)?;
        let saved = AfterCloseSettings {
            csat_request_enabled: input.csat_request_enabled,
            csat_request_message: template_field("csatRequestMessage", input.csat_request_message)?,
            post_close_follow_up_days: threshold("postCloseFollowUpDays", input.post_close_follow_up_days, 90)?,
            post_close_follow_up_message: template_field(
                "postCloseFollowUpMessage",
                input.post_close_follow_up_message,
            )?,
            negative_csat_message: template_field("negativeCsatMessage", input.negative_csat_message)?,
            negative_csat_reopen: input.negative_csat_reopen,
        };
        let mut tx = self.store().write().await?;
        let mut s = tx.workspace_settings_for_update(actor.workspace_id).await?;
        let taken = self.take_settings_version(&mut tx, actor, SettingsForm::AfterClose, version).await?;
        s.csat_request_enabled = saved.csat_request_enabled;
        s.csat_request_message = saved.csat_request_message.clone();
        s.post_close_follow_up_days = saved.post_close_follow_up_days;
        s.post_close_follow_up_message = saved.post_close_follow_up_message.clone();
        s.negative_csat_message = saved.negative_csat_message.clone();
        s.negative_csat_reopen = saved.negative_csat_reopen;
        tx.save_workspace_settings(actor.workspace_id, &s, self.now()).await?;
        tx.commit().await?;
        Ok((saved, taken))
    }

    /// The workspace's manager alert thresholds.
    pub async fn manager_alert_settings(&self, actor: &Actor) -> Result<ManagerAlertSettings, DeskError> {
        require(actor, Permission::View)?;
        let s = self.store().read().await?.workspace_settings(actor.workspace_id).await?;
        Ok(ManagerAlertSettings {
            queue_depth: s.alert_queue_depth,
            csat_drop_percent: s.alert_csat_drop_percent,
            escalation_spike: s.alert_escalation_spike,
            escalation_window_minutes: s.alert_escalation_window_minutes,
        })
    }

    /// Saves the manager alert thresholds. `version` is the form's (see
    /// [`Desk::settings_version`]): a newer one is refused, `None` saves over whatever is there.
    pub async fn save_manager_alert_settings(
        &self,
        actor: &Actor,
        input: ManagerAlertSettings,
        version: Option<i64>,
    ) -> Result<(ManagerAlertSettings, FormVersion), DeskError> {
        require(actor, Permission::Admin)?;
        let saved = ManagerAlertSettings {
            queue_depth: threshold("queueDepth", input.queue_depth, 1_000_000)?,
            csat_drop_percent: threshold("csatDropPercent", input.csat_drop_percent, 100)?,
            escalation_spike: threshold("escalationSpike", input.escalation_spike, 1_000_000)?,
            escalation_window_minutes: threshold(
                "escalationWindowMinutes",
                Some(input.escalation_window_minutes),
                7 * 24 * 60,
            )?
            .unwrap_or(60),
        };
        let mut tx = self.store().write().await?;
        let mut s = tx.workspace_settings_for_update(actor.workspace_id).await?;
        let taken = self.take_settings_version(&mut tx, actor, SettingsForm::ManagerAlerts, version).await?;
        s.alert_queue_depth = saved.queue_depth;
        s.alert_csat_drop_percent = saved.csat_drop_percent;
        s.alert_escalation_spike = saved.escalation_spike;
        s.alert_escalation_window_minutes = saved.escalation_window_minutes;
        tx.save_workspace_settings(actor.workspace_id, &s, self.now()).await?;
        tx.commit().await?;
        Ok((saved, taken))
    }

    /// The job runner's sweep: in every workspace, sends due CSAT requests and post-close
    /// follow-ups, then raises (or clears) manager alerts, notifying managers of each alert
    /// that starts holding.
    pub async fn after_close_and_alerts(&self) -> Result<AfterCloseReport, DeskError> {
        let mut report = AfterCloseReport::default();
        let workspaces = self.store().read().await?.workspace_ids().await?;
        for ws in workspaces {
            let s = self.store().read().await?.workspace_settings(ws).await?;
            let now = self.now();
            if s.csat_request_enabled {
                let template = s.csat_request_message.as_deref().unwrap_or(DEFAULT_CSAT_REQUEST);
                report.csat_requests += self
                    .send_after_close(ws, CSAT_REQUEST, now - AFTER_CLOSE_HORIZON, now + 1, None, true, template)
                    .await?;
            }
            if let Some(days) = s.post_close_follow_up_days {
                let template = s.post_close_follow_up_message.as_deref().unwrap_or(DEFAULT_POST_CLOSE);
                let due_before = now - days * DAY;
                // Inactivity closes are skipped: the customer already stopped answering.
                let skip = Some(CloseReason::UserUnresponsive.as_str());
                report.post_close_follow_ups += self
                    .send_after_close(
                        ws,
                        POST_CLOSE,
                        due_before - AFTER_CLOSE_HORIZON,
                        due_before + 1,
                        skip,
                        false,
                        template,
                    )
                    .await?;
            }
            report.alerts += self.check_manager_alerts(ws, &s, now).await?;
        }
        Ok(report)
    }

    /// What follows a poor rating, as the workspace set it: a message to the requester (once per
    /// ticket) and reopening the ticket. Returns the ticket as it is afterwards.
    pub(crate) async fn after_negative_rating(&self, t: TicketRecord) -> Result<TicketRecord, DeskError> {
        let ws = t.workspace_id;
        let mut tx = self.store().read().await?;
        let s = tx.workspace_settings(ws).await?;
        let workspace = tx.workspace_by_id(ws).await?;
        drop(tx);
        if let Some(template) = &s.negative_csat_message {
            let actor = ActorVars { name: workspace.name.clone(), email: None };
            match render_template(template, &template_context(&t, &workspace.name, actor)) {
                Ok(body) => {
                    self.post_after_close(ws, t.id, NEGATIVE_CSAT, &body).await?;
                }
                Err(e) => tracing::warn!(ticket = t.id.0, error = %e, "negative-rating template failed"),
            }
        }
        if s.negative_csat_reopen && !t.status.is_active() {
            return self.reopen(&Actor::system(ws), t.id).await;
        }
        Ok(t)
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_after_close(
        &self,
        ws: WorkspaceId,
        kind: &str,
        closed_from: Millis,
        closed_to: Millis,
        skip_reason: Option<&str>,
        unrated_only: bool,
        template: &str,
    ) -> Result<usize, DeskError> {
        let mut sent = 0;
        let mut seen = std::collections::HashSet::new();
        loop {
            let mut tx = self.store().read().await?;
            let due =
                tx.closed_without_follow_up(ws, kind, closed_from, closed_to, skip_reason, unrated_only, 100).await?;
            let workspace = tx.workspace_by_id(ws).await?;
            drop(tx);
            // A ticket that comes back was not sent (it changed meanwhile): stop rather than spin.
            if due.iter().all(|id| seen.contains(id)) {
                return Ok(sent);
            }
            seen.extend(due.iter().copied());
            for id in due {
                let Some(t) = self.store().read().await?.ticket_by_id(ws, id).await? else { continue };
                let actor = ActorVars { name: workspace.name.clone(), email: None };
                let body = match render_template(template, &template_context(&t, &workspace.name, actor)) {
                    Ok(b) => b,
                    // Validated at save time; a template that still fails must not stall the
                    // sweep, so the ticket is marked done without a message.
                    Err(e) => {
                        tracing::warn!(ticket = id.0, error = %e, kind, "after-close template failed");
                        let mut tx = self.store().write().await?;
                        tx.insert_follow_up(id, kind, self.now()).await?;
                        tx.commit().await?;
                        continue;
                    }
                };
                if self.post_after_close(ws, id, kind, &body).await? {
                    sent += 1;
                }
            }
        }
    }

    async fn check_manager_alerts(
        &self,
        ws: WorkspaceId,
        s: &switchboard_store::WorkspaceSettingsRecord,
        now: Millis,
    ) -> Result<usize, DeskError> {
        // Most workspaces set no alert: no write transaction (SQLite's one writer) for them.
        if s.alert_queue_depth.is_none() && s.alert_csat_drop_percent.is_none() && s.alert_escalation_spike.is_none() {
            return Ok(0);
        }
        let mut raised = 0;
        let mut tx = self.store().write().await?;
        let mut checks: Vec<(ManagerAlert, Option<String>)> = Vec::new();
        if let Some(max) = s.alert_queue_depth {
            let depth = tx.queue_depth(ws).await?;
            checks.push((
                ManagerAlert::QueueDepth,
                (depth > max).then(|| format!("{depth} tickets are unassigned or escalated (threshold {max})")),
            ));
        }
        if let Some(points) = s.alert_csat_drop_percent {
            let count = |(total, satisfied)| RatingCounts { total, satisfied };
            let before = count(tx.csat_counts(ws, now - 2 * CSAT_WINDOW_MS, now - CSAT_WINDOW_MS).await?);
            let week = count(tx.csat_counts(ws, now - CSAT_WINDOW_MS, now + 1).await?);
            checks.push((
                ManagerAlert::CsatDrop,
                csat_drop(before, week, points).map(|(was, is)| {
                    format!("Satisfaction fell from {was}% to {is}% over the last 7 days (threshold {points} points)")
                }),
            ));
        }
        if let Some(max) = s.alert_escalation_spike {
            let minutes = s.alert_escalation_window_minutes;
            let n = tx.count_events_since(ws, EventKind::TicketEscalated, now - minutes * 60_000).await?;
            checks.push((
                ManagerAlert::EscalationSpike,
                (n > max).then(|| format!("{n} tickets escalated in the last {minutes} minutes (threshold {max})")),
            ));
        }
        for (alert, message) in checks {
            let was = tx.manager_alert_raised(ws, alert.kind().as_str()).await?;
            if let Some(now_raised) = alert_transition(was, message.is_some()) {
                tx.set_manager_alert(ws, alert.kind().as_str(), now_raised, now).await?;
                if let Some(m) = message {
                    tx.insert_notification(ws, alert.kind(), None, &m, now).await?;
                    raised += 1;
                }
            }
        }
        tx.commit().await?;
        Ok(raised)
    }
}
