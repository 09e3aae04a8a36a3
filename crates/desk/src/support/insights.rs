//! Insights: service metrics for a period, read from daily rollups the job runner keeps current
//! from the event stream ([`Desk::update_insights`]) and an operator can rebuild
//! ([`Desk::rebuild_insights`]).
//!
//! Each ticket's contribution (its share, see `switchboard_domain::ticket_share`) is stored
//! beside the rollups; when an event touches a ticket its old share is taken out and the new one
//! put in, in one transaction, so the rollups always equal a rebuild and ticket changes
//! themselves never write a rollup (the hot paths stay as they were).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use switchboard_domain::*;
use switchboard_store::*;

use crate::{Desk, DeskError, require};

/// The event stream cursor of the rollups.
const CURSOR: &str = "insights";
/// Events, or tickets of a rebuild, per transaction.
const BATCH: i64 = 500;
/// The longest custom range, in days.
pub const MAX_INSIGHT_DAYS: i64 = 366;

/// The period the insights page shows, in the workspace's time zone, today included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsightPeriod {
    Last7Days,
    Last30Days,
    Last90Days,
    /// From one local date to another, both included.
    Custom {
        from: NaiveDate,
        to: NaiveDate,
    },
}

/// First response or resolution times over a period, in minutes (see `duration_bucket` for the
/// precision): `None` when nothing was measured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DurationStats {
    pub count: i64,
    pub median_minutes: Option<i64>,
    pub p90_minutes: Option<i64>,
}

impl DurationStats {
    fn of(hist: Option<&BTreeMap<i64, i64>>) -> DurationStats {
        let empty = BTreeMap::new();
        let h = hist.unwrap_or(&empty);
        DurationStats {
            count: h.values().sum(),
            median_minutes: histogram_percentile(h, 0.5),
            p90_minutes: histogram_percentile(h, 0.9),
        }
    }
}

/// One local day of the period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InsightDay {
    pub date: NaiveDate,
    pub opened: i64,
    pub closed: i64,
    pub reopened: i64,
    /// Tickets opened and not closed by the end of the day.
    pub backlog: i64,
    pub csat_rated: i64,
    pub csat_satisfied: i64,
}

/// Tickets opened and closed on one day through one channel with one help topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsightVolume {
    pub date: NaiveDate,
    pub channel: String,
    pub help_topic_id: Option<HelpTopicId>,
    pub help_topic_name: Option<String>,
    pub opened: i64,
    pub closed: i64,
}

/// How often one SLA target was met over the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaAttainment {
    pub target: SlaTarget,
    pub met: i64,
    pub missed: i64,
}

impl SlaAttainment {
    /// The share met, or `None` when no target was decided.
    pub fn rate(&self) -> Option<f64> {
        share(self.met, self.met + self.missed)
    }
}

/// Ratings over the period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsatSummary {
    pub rated: i64,
    /// Ratings of 4 or 5 (Helpful is stored as 5): see `csat_satisfied`.
    pub satisfied: i64,
    /// How many of each rating, 1 to 5.
    pub by_rating: [i64; 5],
}

impl CsatSummary {
    /// The satisfied share, or `None` without ratings.
    pub fn satisfied_share(&self) -> Option<f64> {
        share(self.satisfied, self.rated)
    }
}

/// One staff member's row of the staff performance table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffPerformance {
    pub user_id: UserId,
    pub name: String,
    /// Tickets where they are recorded as the closer.
    pub closed: i64,
    /// Tickets they claimed.
    pub claimed: i64,
    /// Tickets they replied to publicly, and the seconds from open to their first reply, summed.
    pub first_responses: i64,
    pub first_response_seconds: i64,
    /// Seconds from open to close of the tickets they closed, summed.
    pub resolution_seconds: i64,
    /// Public replies (internal notes excluded).
    pub messages: i64,
    /// Ratings on tickets they closed, and how many were satisfied.
    pub csat_rated: i64,
    pub csat_satisfied: i64,
}

impl StaffPerformance {
    fn new(user_id: UserId, name: String) -> StaffPerformance {
        StaffPerformance {
            user_id,
            name,
            closed: 0,
            claimed: 0,
            first_responses: 0,
            first_response_seconds: 0,
            resolution_seconds: 0,
            messages: 0,
            csat_rated: 0,
            csat_satisfied: 0,
        }
    }

    /// Average minutes from open to their first public reply.
    pub fn avg_first_response_minutes(&self) -> Option<f64> {
        (self.first_responses > 0).then(|| self.first_response_seconds as f64 / 60.0 / self.first_responses as f64)
    }

    /// Average minutes from open to close of the tickets they closed.
    pub fn avg_resolution_minutes(&self) -> Option<f64> {
        (self.closed > 0).then(|| self.resolution_seconds as f64 / 60.0 / self.closed as f64)
    }

    /// The share of satisfied ratings on tickets they closed (CSAT is attributed to the closer).
    pub fn csat_rate(&self) -> Option<f64> {
        share(self.csat_satisfied, self.csat_rated)
    }
}

/// The insights of a period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Insights {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: Vec<InsightDay>,
    pub volume: Vec<InsightVolume>,
    pub opened: i64,
    pub closed: i64,
    /// Closed tickets that had been escalated to staff.
    pub closed_escalated: i64,
    pub reopened: i64,
    pub first_response: DurationStats,
    pub first_response_business: DurationStats,
    pub resolution: DurationStats,
    pub resolution_business: DurationStats,
    pub sla: Vec<SlaAttainment>,
    pub csat: CsatSummary,
    pub staff: Vec<StaffPerformance>,
}

impl Insights {
    /// Reopenings per closed ticket over the period, or `None` when none closed.
    pub fn reopen_rate(&self) -> Option<f64> {
        share(self.reopened, self.closed)
    }
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// What a rebuild did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsightRebuild {
    pub tickets: u64,
    pub rollup_rows: u64,
}

/// A share as stored: the ticket's queue, help topic (0: none) and channel, then its counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct StoredShare {
    q: i64,
    t: i64,
    c: String,
    /// (day, staff, metric, bucket, value)
    r: Vec<(String, i64, String, i64, i64)>,
}

impl StoredShare {
    fn rows(&self, sign: i64) -> impl Iterator<Item = InsightRollupRow> + '_ {
        self.r.iter().map(move |(day, staff, metric, bucket, value)| InsightRollupRow {
            day: day.clone(),
            queue_id: self.q,
            help_topic_id: self.t,
            channel: self.c.clone(),
            staff_id: *staff,
            metric: metric.clone(),
            bucket: *bucket,
            value: value * sign,
        })
    }
}

/// Per-batch caches: workspace time zones and SLA policies' calendars.
#[derive(Default)]
struct Calendars {
    zones: HashMap<WorkspaceId, Tz>,
    policies: HashMap<(WorkspaceId, Option<SlaPolicyId>), BusinessCalendar>,
}

/// Deltas of a batch, merged per workspace and counter before they are written.
type Deltas = BTreeMap<WorkspaceId, BTreeMap<InsightRollupRow, i64>>;

fn merge(deltas: &mut Deltas, ws: WorkspaceId, rows: impl Iterator<Item = InsightRollupRow>) {
    let per_ws = deltas.entry(ws).or_default();
    for mut r in rows {
        let v = std::mem::take(&mut r.value);
        *per_ws.entry(r).or_default() += v;
    }
}

impl Desk {
    /// Brings the rollups up to date with the event stream: every ticket an event touched since
    /// the last run gets its share recomputed. Returns how many events were read. The job runner
    /// calls this every tick.
    pub async fn update_insights(&self) -> Result<usize, DeskError> {
        let mut read = 0;
        loop {
            let mut peek = self.store().read().await?;
            let seen = peek.stream_cursor(CURSOR).await?;
            if peek.events_after(seen, 1).await?.is_empty() {
                break;
            }
            drop(peek);
            let mut tx = self.store().write().await?;
            let after = tx.lock_stream_cursor(CURSOR).await?;
            let events = tx.events_after(after, BATCH).await?;
            let Some(last) = events.last().map(EventRecord::position) else { break };
            let mut tickets: Vec<(WorkspaceId, TicketId)> =
                events.iter().filter_map(|e| e.ticket_id.map(|t| (e.workspace_id, t))).collect();
            tickets.sort_unstable();
            tickets.dedup();
            let mut deltas = Deltas::new();
            let mut cals = Calendars::default();
            for (ws, t) in tickets {
                self.recompute_share(&mut tx, ws, t, &mut cals, &mut deltas).await?;
            }
            write_deltas(&mut tx, deltas).await?;
            tx.set_stream_cursor(CURSOR, last).await?;
            tx.commit().await?;
            read += events.len();
            if (events.len() as i64) < BATCH {
                break;
            }
        }
        Ok(read)
    }

    /// Recomputes the workspace's rollups from its tickets, `BATCH` tickets per transaction,
    /// calling `progress(done, total)` after each. The job runner may keep running meanwhile:
    /// every recomputation replaces a ticket's share with its current one, whoever does it.
    pub async fn rebuild_insights(
        &self,
        ws: WorkspaceId,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<InsightRebuild, DeskError> {
        let total = {
            let mut tx = self.store().write().await?;
            tx.lock_stream_cursor(CURSOR).await?;
            tx.clear_insights(ws).await?;
            let total = tx.count_workspace_tickets(ws).await?;
            tx.commit().await?;
            total.max(0) as u64
        };
        progress(0, total);
        let mut done = 0u64;
        let mut after = TicketId(0);
        loop {
            let mut tx = self.store().write().await?;
            tx.lock_stream_cursor(CURSOR).await?;
            let ids = tx.workspace_ticket_ids_after(ws, after, BATCH).await?;
            let Some(last) = ids.last().copied() else { break };
            let mut deltas = Deltas::new();
            let mut cals = Calendars::default();
            for id in &ids {
                self.recompute_share(&mut tx, ws, *id, &mut cals, &mut deltas).await?;
            }
            write_deltas(&mut tx, deltas).await?;
            tx.commit().await?;
            done += ids.len() as u64;
            after = last;
            progress(done.min(total.max(done)), total.max(done));
            if (ids.len() as i64) < BATCH {
                break;
            }
        }
        let rows = self.store().read().await?.all_insight_rollups(ws).await?.len() as u64;
        Ok(InsightRebuild { tickets: done, rollup_rows: rows })
    }

    /// Every non-zero rollup row of a workspace (for checking a rebuild against the live rows).
    pub async fn insight_rollup_rows(&self, ws: WorkspaceId) -> Result<Vec<InsightRollupRow>, DeskError> {
        Ok(self.store().read().await?.all_insight_rollups(ws).await?)
    }

    /// Takes the ticket's stored share out of the rollups and puts its current one in (into
    /// `deltas`), and stores the new share.
    async fn recompute_share(
        &self,
        tx: &mut Tx,
        ws: WorkspaceId,
        ticket: TicketId,
        cals: &mut Calendars,
        deltas: &mut Deltas,
    ) -> Result<(), DeskError> {
        let old: Option<StoredShare> = match tx.insight_share(ticket).await? {
            Some(s) => Some(serde_json::from_str(&s).map_err(|e| DeskError::Internal(format!("insight share: {e}")))?),
            None => None,
        };
        let Some(row) = tx.insight_ticket_row(ws, ticket).await? else { return Ok(()) };
        let tz = match cals.zones.get(&ws) {
            Some(tz) => *tz,
            None => {
                let tz = parse_time_zone("timeZone", &tx.workspace_by_id(ws).await?.time_zone)?;
                cals.zones.insert(ws, tz);
                tz
            }
        };
        let key = (ws, row.sla_policy_id);
        let calendar = match cals.policies.get(&key) {
            Some(c) => c.clone(),
            None => {
                let calendar_id = match row.sla_policy_id {
                    Some(p) => tx.sla_policy_by_id(ws, p).await?.and_then(|p| p.calendar_id),
                    None => None,
                };
                let cal = self.calendar_for(tx, ws, calendar_id).await?;
                cals.policies.insert(key, cal.clone());
                cal
            }
        };
        let facts = self.insight_facts(tx, &row).await?;
        let counters = ticket_share(&facts, tz, &calendar);
        let new = StoredShare {
            q: row.queue_id.0,
            t: row.help_topic_id.map_or(0, |h| h.0),
            c: row.channel.clone(),
            r: counters
                .iter()
                .map(|(k, v)| (k.day.to_string(), k.staff_id, k.metric.as_str().to_string(), k.bucket, *v))
                .collect(),
        };
        if old.as_ref() == Some(&new) {
            return Ok(());
        }
        if let Some(old) = &old {
            merge(deltas, ws, old.rows(-1));
        }
        merge(deltas, ws, new.rows(1));
        let json = serde_json::to_string(&new).map_err(|e| DeskError::Internal(format!("insight share: {e}")))?;
        tx.save_insight_share(ws, ticket, &json).await?;
        Ok(())
    }

    async fn insight_facts(&self, tx: &mut Tx, row: &InsightTicketRow) -> Result<TicketInsightFacts, DeskError> {
        let ws = row.workspace_id;
        let breaches = tx.list_sla_breaches(ws, row.id).await?.into_iter().map(|b| (b.target, b.due_at)).collect();
        let staff_replies = tx.insight_staff_replies(ws, row.id).await?;
        let history = tx.insight_history(ws, row.id).await?;
        let done = |s: Option<&str>| matches!(s, Some("resolved" | "closed"));
        let mut closer = None;
        let mut claims = Vec::new();
        let mut reopens = Vec::new();
        for h in &history {
            match h.field.as_str() {
                "status" if done(h.new_value.as_deref()) && !done(h.old_value.as_deref()) => {
                    closer = h.actor_user_id.map(|u| u.0);
                }
                "status" if done(h.old_value.as_deref()) && !done(h.new_value.as_deref()) => {
                    reopens.push(h.created_at);
                }
                // A claim is an assignment a staff member made to themselves.
                "assignee" if h.actor_user_id.is_some() && h.new_value.as_deref() == Some(h.actor_label.as_str()) => {
                    if let Some(u) = h.actor_user_id {
                        claims.push((u.0, h.created_at));
                    }
                }
                _ => {}
            }
        }
        Ok(TicketInsightFacts {
            created_at: row.created_at,
            first_responded_at: row.first_responded_at,
            resolved_at: row.resolved_at,
            escalated: row.escalated,
            first_response_due_at: row.first_response_due_at,
            resolution_due_at: row.resolution_due_at,
            breaches,
            csat_rating: row.csat_rating,
            csat_rated_at: row.csat_rated_at,
            staff_replies,
            claims,
            closer: closer.filter(|_| row.resolved_at.is_some()),
            reopens,
        })
    }

    /// The insights of `period`, narrowed by `filter`. Insights are the support lead's view:
    /// they need the `service-desk.reassign` permission (supervisors and admins).
    pub async fn insights(
        &self,
        actor: &Actor,
        period: InsightPeriod,
        filter: &InsightFilter,
    ) -> Result<Insights, DeskError> {
        require(actor, Permission::Reassign)?;
        let ws = actor.workspace_id;
        let mut tx = self.store().read().await?;
        let tz = parse_time_zone("timeZone", &tx.workspace_by_id(ws).await?.time_zone)?;
        let today = local_date(self.now(), tz);
        let (from, to) = match period {
            InsightPeriod::Last7Days => (today - chrono::Duration::days(6), today),
            InsightPeriod::Last30Days => (today - chrono::Duration::days(29), today),
            InsightPeriod::Last90Days => (today - chrono::Duration::days(89), today),
            InsightPeriod::Custom { from, to } => {
                if to < from {
                    return Err(DeskError::invalid("to", "must not be before from"));
                }
                if (to - from).num_days() + 1 > MAX_INSIGHT_DAYS {
                    return Err(DeskError::invalid("to", format!("a range covers at most {MAX_INSIGHT_DAYS} days")));
                }
                (from, to)
            }
        };
        if let Some(c) = &filter.channel {
            Channel::parse(c, "channel")?;
        }
        let rows = tx.insight_rollup_sums(ws, &from.to_string(), &to.to_string(), filter).await?;
        let (opened_before, closed_before) = tx.insight_totals_before(ws, &from.to_string(), filter).await?;
        let topics: HashMap<i64, String> =
            tx.list_help_topics(ws).await?.into_iter().map(|h| (h.id.0, h.name)).collect();
        let users: HashMap<i64, String> = tx.list_users(ws).await?.into_iter().map(|u| (u.id.0, u.name)).collect();
        drop(tx);

        let n_days = (to - from).num_days() + 1;
        let mut out = Insights { from, to, ..Default::default() };
        out.days =
            (0..n_days).map(|i| InsightDay { date: from + chrono::Duration::days(i), ..Default::default() }).collect();
        let mut hists: HashMap<InsightMetric, BTreeMap<i64, i64>> = HashMap::new();
        let mut volume: BTreeMap<(NaiveDate, String, i64), (i64, i64)> = BTreeMap::new();
        let mut staff: BTreeMap<i64, StaffPerformance> = BTreeMap::new();
        let (mut fr_met, mut fr_missed, mut res_met, mut res_missed) = (0, 0, 0, 0);
        for r in rows {
            let Some(metric) = InsightMetric::parse(&r.metric) else { continue };
            let Ok(date) = r.day.parse::<NaiveDate>() else { continue };
            let day = usize::try_from((date - from).num_days()).ok().and_then(|i| out.days.get_mut(i));
            let Some(day) = day else { continue };
            let v = r.value;
            if r.staff_id != 0 {
                let s = staff.entry(r.staff_id).or_insert_with(|| {
                    let name = users.get(&r.staff_id).cloned().unwrap_or_else(|| format!("#{}", r.staff_id));
                    StaffPerformance::new(UserId(r.staff_id), name)
                });
                match metric {
                    InsightMetric::StaffClosed => s.closed += v,
                    InsightMetric::StaffClaimed => s.claimed += v,
                    InsightMetric::StaffFirstResponses => s.first_responses += v,
                    InsightMetric::StaffFirstResponseSeconds => s.first_response_seconds += v,
                    InsightMetric::StaffResolutionSeconds => s.resolution_seconds += v,
                    InsightMetric::StaffMessages => s.messages += v,
                    InsightMetric::StaffCsatRated => s.csat_rated += v,
                    InsightMetric::StaffCsatSatisfied => s.csat_satisfied += v,
                    _ => {}
                }
                continue;
            }
            match metric {
                InsightMetric::Opened => {
                    day.opened += v;
                    volume.entry((date, r.channel.clone(), r.help_topic_id)).or_default().0 += v;
                }
                InsightMetric::Closed => {
                    day.closed += v;
                    volume.entry((date, r.channel.clone(), r.help_topic_id)).or_default().1 += v;
                }
                InsightMetric::ClosedEscalated => out.closed_escalated += v,
                InsightMetric::Reopened => day.reopened += v,
                InsightMetric::FirstResponse
                | InsightMetric::FirstResponseBusiness
                | InsightMetric::Resolution
                | InsightMetric::ResolutionBusiness => {
                    *hists.entry(metric).or_default().entry(r.bucket).or_default() += v;
                }
                InsightMetric::SlaFirstResponseMet => fr_met += v,
                InsightMetric::SlaFirstResponseMissed => fr_missed += v,
                InsightMetric::SlaResolutionMet => res_met += v,
                InsightMetric::SlaResolutionMissed => res_missed += v,
                InsightMetric::Csat => {
                    let rating = r.bucket.clamp(1, 5);
                    day.csat_rated += v;
                    out.csat.rated += v;
                    out.csat.by_rating[(rating - 1) as usize] += v;
                    if csat_satisfied(rating) {
                        day.csat_satisfied += v;
                        out.csat.satisfied += v;
                    }
                }
                _ => {}
            }
        }
        let mut backlog = opened_before - closed_before;
        for d in &mut out.days {
            backlog += d.opened - d.closed;
            d.backlog = backlog;
            out.opened += d.opened;
            out.closed += d.closed;
            out.reopened += d.reopened;
        }
        out.volume = volume
            .into_iter()
            .map(|((date, channel, topic), (opened, closed))| InsightVolume {
                date,
                channel,
                help_topic_id: (topic != 0).then_some(HelpTopicId(topic)),
                help_topic_name: topics.get(&topic).cloned(),
                opened,
                closed,
            })
            .collect();
        out.first_response = DurationStats::of(hists.get(&InsightMetric::FirstResponse));
        out.first_response_business = DurationStats::of(hists.get(&InsightMetric::FirstResponseBusiness));
        out.resolution = DurationStats::of(hists.get(&InsightMetric::Resolution));
        out.resolution_business = DurationStats::of(hists.get(&InsightMetric::ResolutionBusiness));
        out.sla = vec![
            SlaAttainment { target: SlaTarget::FirstResponse, met: fr_met, missed: fr_missed },
            SlaAttainment { target: SlaTarget::Resolution, met: res_met, missed: res_missed },
        ];
        let mut staff: Vec<StaffPerformance> = staff.into_values().collect();
        staff.sort_by(|a, b| b.closed.cmp(&a.closed).then_with(|| a.name.cmp(&b.name)));
        out.staff = staff;
        Ok(out)
    }
}

async fn write_deltas(tx: &mut Tx, deltas: Deltas) -> Result<(), DeskError> {
    for (ws, rows) in deltas {
        let rows: Vec<InsightRollupRow> = rows
            .into_iter()
            .filter(|(_, v)| *v != 0)
            .map(|(mut r, v)| {
                r.value = v;
                r
            })
            .collect();
        if !rows.is_empty() {
            tx.add_insight_rollups(ws, &rows).await?;
        }
    }
    Ok(())
}
