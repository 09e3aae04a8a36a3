//! Proactive follow-ups on quiet tickets, inactivity auto-close and transcript retention.

use switchboard_domain::*;

use switchboard_store::SettingsForm;

use crate::{Desk, DeskError, FormVersion, require};

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

/// The follow-up kind of the message that tells the requester their ticket closed for inactivity.
const INACTIVITY_CLOSE: &str = "inactivity_close";

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

    /// Saves the follow-up, auto-close and transcript retention settings. `version` is the form's
    /// (see [`Desk::settings_version`]): a newer one is refused, `None` saves over whatever is there.
    pub async fn save_inactivity_settings(
        &self,
        actor: &Actor,
        input: InactivitySettings,
        version: Option<i64>,
    ) -> Result<(InactivitySettings, FormVersion), DeskError> {
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
        let taken = self.take_settings_version(&mut tx, actor, SettingsForm::Inactivity, version).await?;
        s.stale_after_hours = stale_after_hours;
        s.stale_message = stale_message.clone();
        s.auto_close_days = auto_close_days;
        s.auto_close_warning_days = warning;
        s.auto_close_escalated_days = escalated;
        s.auto_close_customer_only = input.auto_close_customer_only;
        s.transcript_retention_days = retention;
        tx.save_workspace_settings(actor.workspace_id, &s, self.now()).await?;
        tx.commit().await?;
        let saved = InactivitySettings {
            stale_after_hours,
            stale_message,
            auto_close_days,
            auto_close_warning_days: warning,
            auto_close_escalated_days: escalated,
            auto_close_customer_only: input.auto_close_customer_only,
            transcript_retention_days: retention,
        };
        Ok((saved, taken))
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
                    // Every ticket still open gets the nudge (seed 000: "nudge customers on stale
                    // open tickets"), waiting ones first of all: they wait on the very customer
                    // the nudge goes to. The automatic message leaves the status as it is.
                    if !t.status.is_active() || !is_stale(now, last, hours, t.stale_nudged_at) {
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
                        let t = self.close(&system, id, CloseReason::UserUnresponsive, Some(&note)).await?;
                        // The customer hears of it where the ticket lives (seed: "Inactivity closes
                        // archive a transcript, post the close message"), once per ticket.
                        let message = format!(
                            "We closed {} ({}) after {days} days without activity. If you still need help, \
                             reply or open a new ticket.",
                            t.display_number(),
                            t.subject
                        );
                        self.post_after_close(ws, id, INACTIVITY_CLOSE, &message).await?;
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
                // The search index held the deleted messages: this event has it write the
                // ticket again without them.
                let payload = serde_json::json!({});
                tx.insert_event(ws, Some(id), EventKind::TicketTranscriptPurged, &payload, self.now()).await?;
                let mut unused = Vec::new();
                for sha in shas {
                    if !tx.blob_in_use(&sha).await? {
                        unused.push(sha);
                    }
                }
                tx.commit().await?;
                self.inner.search.wake.notify_one();
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
