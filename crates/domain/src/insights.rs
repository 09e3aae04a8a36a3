//! Insights: what one ticket adds to the daily rollups, and how the rollups' counters turn back
//! into the numbers a support lead reads (medians, shares, CSAT).
//!
//! Every counter is additive, so a ticket's contribution (its *share*) can be taken out and put
//! back when the ticket changes: the rollups then always equal what a rebuild from the tickets
//! would write. Durations are kept as histograms of minutes, so medians and p90s come out of sums
//! too, exact to the minute below an hour and to the bucket's start above (see
//! [`duration_bucket`]).

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::{BusinessCalendar, Millis, SlaTarget};

/// The counters a rollup row can hold; the stored name is `as_str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InsightMetric {
    /// Tickets opened, on the day they were opened.
    Opened,
    /// Tickets resolved or closed (and not reopened since), on the day they were resolved.
    Closed,
    /// Closed tickets that had been escalated to staff.
    ClosedEscalated,
    /// Reopenings, on the day of each.
    Reopened,
    /// Open to the first staff reply, wall clock: a histogram (bucket = minutes).
    FirstResponse,
    /// The same in the business hours of the ticket's SLA policy's calendar.
    FirstResponseBusiness,
    /// Open to resolution, wall clock: a histogram.
    Resolution,
    /// The same in business hours.
    ResolutionBusiness,
    /// An SLA first-response target met, on the day it was decided.
    SlaFirstResponseMet,
    /// An SLA first-response target missed.
    SlaFirstResponseMissed,
    /// An SLA resolution target met.
    SlaResolutionMet,
    /// An SLA resolution target missed.
    SlaResolutionMissed,
    /// Ratings by value (bucket = the 1-5 rating), on the day the requester rated.
    Csat,
    /// Per staff member: tickets they closed.
    StaffClosed,
    /// Per staff member: tickets they claimed (assigned to themselves).
    StaffClaimed,
    /// Per staff member: tickets they answered first among their own replies, with the seconds
    /// from open to that reply in `StaffFirstResponseSeconds`.
    StaffFirstResponses,
    /// Per staff member: seconds from open to their first public reply, summed.
    StaffFirstResponseSeconds,
    /// Per staff member: seconds from open to resolution of tickets they closed, summed.
    StaffResolutionSeconds,
    /// Per staff member: public replies (internal notes excluded).
    StaffMessages,
    /// Per staff member: ratings on tickets they closed.
    StaffCsatRated,
    /// Per staff member: satisfied ratings on tickets they closed.
    StaffCsatSatisfied,
}

impl InsightMetric {
    /// Every metric.
    pub const ALL: &'static [InsightMetric] = &[
        InsightMetric::Opened,
        InsightMetric::Closed,
        InsightMetric::ClosedEscalated,
        InsightMetric::Reopened,
        InsightMetric::FirstResponse,
        InsightMetric::FirstResponseBusiness,
        InsightMetric::Resolution,
        InsightMetric::ResolutionBusiness,
        InsightMetric::SlaFirstResponseMet,
        InsightMetric::SlaFirstResponseMissed,
        InsightMetric::SlaResolutionMet,
        InsightMetric::SlaResolutionMissed,
        InsightMetric::Csat,
        InsightMetric::StaffClosed,
        InsightMetric::StaffClaimed,
        InsightMetric::StaffFirstResponses,
        InsightMetric::StaffFirstResponseSeconds,
        InsightMetric::StaffResolutionSeconds,
        InsightMetric::StaffMessages,
        InsightMetric::StaffCsatRated,
        InsightMetric::StaffCsatSatisfied,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            InsightMetric::Opened => "opened",
            InsightMetric::Closed => "closed",
            InsightMetric::ClosedEscalated => "closed_escalated",
            InsightMetric::Reopened => "reopened",
            InsightMetric::FirstResponse => "first_response",
            InsightMetric::FirstResponseBusiness => "first_response_business",
            InsightMetric::Resolution => "resolution",
            InsightMetric::ResolutionBusiness => "resolution_business",
            InsightMetric::SlaFirstResponseMet => "sla_first_response_met",
            InsightMetric::SlaFirstResponseMissed => "sla_first_response_missed",
            InsightMetric::SlaResolutionMet => "sla_resolution_met",
            InsightMetric::SlaResolutionMissed => "sla_resolution_missed",
            InsightMetric::Csat => "csat",
            InsightMetric::StaffClosed => "staff_closed",
            InsightMetric::StaffClaimed => "staff_claimed",
            InsightMetric::StaffFirstResponses => "staff_first_responses",
            InsightMetric::StaffFirstResponseSeconds => "staff_first_response_seconds",
            InsightMetric::StaffResolutionSeconds => "staff_resolution_seconds",
            InsightMetric::StaffMessages => "staff_messages",
            InsightMetric::StaffCsatRated => "staff_csat_rated",
            InsightMetric::StaffCsatSatisfied => "staff_csat_satisfied",
        }
    }

    /// The metric stored as `s`, if any.
    pub fn parse(s: &str) -> Option<InsightMetric> {
        InsightMetric::ALL.iter().copied().find(|m| m.as_str() == s)
    }
}

/// Whether a 1-5 rating counts as satisfied: 4 and 5 do, 1 to 3 do not. The two-button scale
/// (Helpful / Not helpful, as the Discord rating DM asks) is stored on the same scale as 5 and 1,
/// so Helpful is satisfied and Not helpful is not.
pub fn csat_satisfied(rating: i64) -> bool {
    rating >= 4
}

/// The rating the two-button scale stores: Helpful 5, Not helpful 1.
pub fn helpful_rating(helpful: bool) -> i64 {
    if helpful { 5 } else { 1 }
}

/// The histogram bucket (its first minute) a duration of `minutes` falls in: every minute below
/// an hour, then 5 minutes below 4 hours, 15 below a day, an hour below a week, and whole days.
pub fn duration_bucket(minutes: i64) -> i64 {
    let m = minutes.max(0);
    match m {
        0..60 => m,
        60..240 => m - m % 5,
        240..1440 => m - m % 15,
        1440..10_080 => m - m % 60,
        _ => m - m % 1440,
    }
}

/// The nearest-rank percentile `p` (0 < p <= 1) of a histogram of durations (bucket start in
/// minutes to count), as the start of the bucket it falls in; `None` when empty.
pub fn histogram_percentile(hist: &BTreeMap<i64, i64>, p: f64) -> Option<i64> {
    let total: i64 = hist.values().sum();
    if total <= 0 {
        return None;
    }
    let rank = ((p * total as f64).ceil() as i64).clamp(1, total);
    let mut seen = 0;
    for (bucket, n) in hist {
        seen += n;
        if seen >= rank {
            return Some(*bucket);
        }
    }
    hist.keys().next_back().copied()
}

/// The local date of `at` in `tz`.
pub fn local_date(at: Millis, tz: Tz) -> NaiveDate {
    Utc.timestamp_millis_opt(at).single().unwrap_or_default().with_timezone(&tz).date_naive()
}

/// What the rollups need to know about one ticket, as it is now.
#[derive(Debug, Clone, Default)]
pub struct TicketInsightFacts {
    pub created_at: Millis,
    pub first_responded_at: Option<Millis>,
    /// When it was resolved (closing resolves too); none while it needs work.
    pub resolved_at: Option<Millis>,
    pub escalated: bool,
    pub first_response_due_at: Option<Millis>,
    pub resolution_due_at: Option<Millis>,
    /// Targets with a recorded breach, with their due times.
    pub breaches: Vec<(SlaTarget, Millis)>,
    pub csat_rating: Option<i64>,
    pub csat_rated_at: Option<Millis>,
    /// Public staff replies: (author, when), in order.
    pub staff_replies: Vec<(i64, Millis)>,
    /// Self-assignments: (staff member, when).
    pub claims: Vec<(i64, Millis)>,
    /// The staff member recorded as having resolved or closed it last, if any.
    pub closer: Option<i64>,
    /// When it was reopened.
    pub reopens: Vec<Millis>,
}

/// One counter a ticket adds to: the local day, the staff member (0 for the ticket's own
/// counters), the metric, the histogram bucket (0 for plain counters) and the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShareKey {
    pub day: NaiveDate,
    pub staff_id: i64,
    pub metric: InsightMetric,
    pub bucket: i64,
}

/// Everything one ticket adds to the rollups: its counters, summed per key.
pub type Share = BTreeMap<ShareKey, i64>;

fn minutes(from: Millis, to: Millis) -> i64 {
    (to - from).max(0) / 60_000
}

/// What a ticket adds to the rollups, with days in `tz` and business time in `calendar` (its
/// SLA policy's, or every minute when it has none).
pub fn ticket_share(f: &TicketInsightFacts, tz: Tz, calendar: &BusinessCalendar) -> Share {
    let mut s = Share::new();
    let mut add = |at: Millis, staff_id: i64, metric: InsightMetric, bucket: i64, n: i64| {
        if n != 0 {
            *s.entry(ShareKey { day: local_date(at, tz), staff_id, metric, bucket }).or_default() += n;
        }
    };
    add(f.created_at, 0, InsightMetric::Opened, 0, 1);
    if let Some(r) = f.first_responded_at {
        add(r, 0, InsightMetric::FirstResponse, duration_bucket(minutes(f.created_at, r)), 1);
        let business = calendar.business_minutes_between(f.created_at, r);
        add(r, 0, InsightMetric::FirstResponseBusiness, duration_bucket(business), 1);
    }
    if let Some(r) = f.resolved_at {
        add(r, 0, InsightMetric::Closed, 0, 1);
        if f.escalated {
            add(r, 0, InsightMetric::ClosedEscalated, 0, 1);
        }
        add(r, 0, InsightMetric::Resolution, duration_bucket(minutes(f.created_at, r)), 1);
        let business = calendar.business_minutes_between(f.created_at, r);
        add(r, 0, InsightMetric::ResolutionBusiness, duration_bucket(business), 1);
        if let Some(closer) = f.closer {
            add(r, closer, InsightMetric::StaffClosed, 0, 1);
            add(r, closer, InsightMetric::StaffResolutionSeconds, 0, (r - f.created_at).max(0) / 1000);
        }
    }
    let breached = |target: SlaTarget| f.breaches.iter().any(|(t, _)| *t == target);
    let breach_due = |target: SlaTarget| f.breaches.iter().find(|(t, _)| *t == target).map(|(_, d)| *d);
    // A target counts once, on the day it was decided: when it was achieved, or when its breach
    // came due while still pending.
    let targets = [
        (
            SlaTarget::FirstResponse,
            f.first_response_due_at,
            f.first_responded_at,
            InsightMetric::SlaFirstResponseMet,
            InsightMetric::SlaFirstResponseMissed,
        ),
        (
            SlaTarget::Resolution,
            f.resolution_due_at,
            f.resolved_at,
            InsightMetric::SlaResolutionMet,
            InsightMetric::SlaResolutionMissed,
        ),
    ];
    for (target, due, achieved, met, missed) in targets {
        match (due, achieved) {
            (Some(due), Some(at)) if at <= due && !breached(target) => add(at, 0, met, 0, 1),
            (Some(_), Some(at)) => add(at, 0, missed, 0, 1),
            (_, None) if breached(target) => {
                let due = breach_due(target).or(due).unwrap_or(f.created_at);
                add(due, 0, missed, 0, 1);
            }
            _ => {}
        }
    }
    if let (Some(rating), Some(at)) = (f.csat_rating, f.csat_rated_at) {
        add(at, 0, InsightMetric::Csat, rating.clamp(1, 5), 1);
        if let Some(closer) = f.closer.filter(|_| f.resolved_at.is_some()) {
            add(at, closer, InsightMetric::StaffCsatRated, 0, 1);
            add(at, closer, InsightMetric::StaffCsatSatisfied, 0, i64::from(csat_satisfied(rating)));
        }
    }
    let mut answered: Vec<i64> = Vec::new();
    for (staff, at) in &f.staff_replies {
        add(*at, *staff, InsightMetric::StaffMessages, 0, 1);
        if !answered.contains(staff) {
            answered.push(*staff);
            add(*at, *staff, InsightMetric::StaffFirstResponses, 0, 1);
            add(*at, *staff, InsightMetric::StaffFirstResponseSeconds, 0, (*at - f.created_at).max(0) / 1000);
        }
    }
    for (staff, at) in &f.claims {
        add(*at, *staff, InsightMetric::StaffClaimed, 0, 1);
    }
    for at in &f.reopens {
        add(*at, 0, InsightMetric::Reopened, 0, 1);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Millis {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn buckets_are_exact_below_an_hour_and_coarser_above() {
        assert_eq!(duration_bucket(0), 0);
        assert_eq!(duration_bucket(59), 59);
        assert_eq!(duration_bucket(62), 60);
        assert_eq!(duration_bucket(239), 235);
        assert_eq!(duration_bucket(250), 240);
        assert_eq!(duration_bucket(1530), 1500, "an hour at a time above a day");
        assert_eq!(duration_bucket(20_000), 18_720);
        assert_eq!(duration_bucket(-5), 0);
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let hist: BTreeMap<i64, i64> = [(5, 1), (10, 1), (20, 1), (40, 1)].into_iter().collect();
        assert_eq!(histogram_percentile(&hist, 0.5), Some(10), "rank 2 of 4");
        assert_eq!(histogram_percentile(&hist, 0.9), Some(40), "rank 4 of 4");
        assert_eq!(histogram_percentile(&BTreeMap::new(), 0.5), None);
    }

    #[test]
    fn both_rating_scales_map_to_satisfied_explicitly() {
        assert!(!csat_satisfied(1) && !csat_satisfied(2) && !csat_satisfied(3));
        assert!(csat_satisfied(4) && csat_satisfied(5));
        assert!(csat_satisfied(helpful_rating(true)));
        assert!(!csat_satisfied(helpful_rating(false)));
    }

    #[test]
    fn days_fall_in_the_workspace_time_zone_across_a_dst_change() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        // 23:30 UTC on the night clocks went forward (2026-03-29 02:00 local) is already the
        // 30th in Berlin (01:30 CEST); the evening before, 22:30 UTC is still the 28th's 23:30.
        assert_eq!(local_date(ms("2026-03-29T23:30:00Z"), tz).to_string(), "2026-03-30");
        assert_eq!(local_date(ms("2026-03-28T22:30:00Z"), tz).to_string(), "2026-03-28");
        assert_eq!(local_date(ms("2026-03-28T23:30:00Z"), tz).to_string(), "2026-03-29");
    }

    #[test]
    fn a_ticket_adds_its_counters_on_the_days_they_happened() {
        let tz: Tz = "UTC".parse().unwrap();
        let cal = BusinessCalendar::always_open(tz);
        let f = TicketInsightFacts {
            created_at: ms("2026-01-01T10:00:00Z"),
            first_responded_at: Some(ms("2026-01-01T10:30:00Z")),
            resolved_at: Some(ms("2026-01-02T10:00:00Z")),
            first_response_due_at: Some(ms("2026-01-01T11:00:00Z")),
            resolution_due_at: Some(ms("2026-01-01T18:00:00Z")),
            breaches: vec![(SlaTarget::Resolution, ms("2026-01-01T18:00:00Z"))],
            csat_rating: Some(5),
            csat_rated_at: Some(ms("2026-01-03T09:00:00Z")),
            staff_replies: vec![(7, ms("2026-01-01T10:30:00Z")), (7, ms("2026-01-01T12:00:00Z"))],
            closer: Some(7),
            ..Default::default()
        };
        let s = ticket_share(&f, tz, &cal);
        let get = |day: &str, staff: i64, metric: InsightMetric, bucket: i64| {
            s.get(&ShareKey { day: day.parse().unwrap(), staff_id: staff, metric, bucket }).copied()
        };
        assert_eq!(get("2026-01-01", 0, InsightMetric::Opened, 0), Some(1));
        assert_eq!(get("2026-01-01", 0, InsightMetric::FirstResponse, 30), Some(1));
        assert_eq!(get("2026-01-01", 0, InsightMetric::SlaFirstResponseMet, 0), Some(1));
        assert_eq!(get("2026-01-02", 0, InsightMetric::Closed, 0), Some(1));
        assert_eq!(get("2026-01-02", 0, InsightMetric::SlaResolutionMissed, 0), Some(1));
        assert_eq!(get("2026-01-02", 0, InsightMetric::Resolution, 1440), Some(1));
        assert_eq!(get("2026-01-03", 0, InsightMetric::Csat, 5), Some(1));
        assert_eq!(get("2026-01-03", 7, InsightMetric::StaffCsatSatisfied, 0), Some(1));
        assert_eq!(get("2026-01-01", 7, InsightMetric::StaffMessages, 0), Some(2));
        assert_eq!(get("2026-01-01", 7, InsightMetric::StaffFirstResponses, 0), Some(1));
        assert_eq!(get("2026-01-01", 7, InsightMetric::StaffFirstResponseSeconds, 0), Some(1800));
        assert_eq!(get("2026-01-02", 7, InsightMetric::StaffResolutionSeconds, 0), Some(86_400));
    }
}
