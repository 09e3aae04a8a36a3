//! The SLA views of the ticket list, computed in the workspace's time zone.

use chrono::{Datelike, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::{Millis, SlaTarget, ValidationError};

/// The SLA filter of the ticket list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaFilter {
    /// The next SLA target falls on today's date in the workspace's time zone.
    DueToday,
    /// The next SLA target falls in this Monday-to-Sunday week in the workspace's time zone.
    DueThisWeek,
    /// The next SLA target has passed.
    Overdue,
    /// Not yet overdue, but less than `share` of the target's time is left.
    AtRisk,
    /// A target was missed (a breach is recorded), whatever is due next.
    Breached,
}

/// A filter on `sla_due_at` (the ticket's next pending SLA target) that storage can apply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SlaWindow {
    /// `from <= sla_due_at < to`.
    Between { from: Millis, to: Millis },
    /// `sla_due_at < now`.
    Before { now: Millis },
    /// `now <= sla_due_at` and `sla_due_at - now <= share * (sla_due_at - sla_started_at)`.
    AtRisk { now: Millis, share: f64 },
    /// A breach is recorded for the ticket.
    Breached,
}

/// Parses an IANA time zone name such as `Europe/Berlin`.
pub fn parse_time_zone(field: &str, name: &str) -> Result<Tz, ValidationError> {
    name.parse::<Tz>().map_err(|_| ValidationError::new(field, format!("{name:?} is not an IANA time zone")))
}

fn local_midnight(tz: Tz, date: chrono::NaiveDate) -> Millis {
    // A day can start inside a DST gap in a few zones; take the first instant that exists.
    let mut t = date.and_time(NaiveTime::MIN);
    loop {
        if let Some(dt) = tz.from_local_datetime(&t).earliest() {
            return dt.with_timezone(&Utc).timestamp_millis();
        }
        t += Duration::minutes(15);
    }
}

/// Turns an SLA filter into bounds on `sla_due_at` for `now` in the zone `tz`.
pub fn sla_window(filter: SlaFilter, now: Millis, tz: Tz, at_risk_share: f64) -> SlaWindow {
    let today = Utc.timestamp_millis_opt(now).single().unwrap_or_default().with_timezone(&tz).date_naive();
    match filter {
        SlaFilter::Overdue => SlaWindow::Before { now },
        SlaFilter::AtRisk => SlaWindow::AtRisk { now, share: at_risk_share },
        SlaFilter::Breached => SlaWindow::Breached,
        SlaFilter::DueToday => {
            SlaWindow::Between { from: local_midnight(tz, today), to: local_midnight(tz, today + Duration::days(1)) }
        }
        SlaFilter::DueThisWeek => {
            let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
            SlaWindow::Between { from: local_midnight(tz, monday), to: local_midnight(tz, monday + Duration::days(7)) }
        }
    }
}

/// The local dates of the last `days` days up to `now`'s date in `tz`, oldest first, each with
/// the instant its midnight falls on; for counting events per day.
pub fn local_days(now: Millis, tz: Tz, days: u32) -> Vec<(chrono::NaiveDate, Millis)> {
    let today = Utc.timestamp_millis_opt(now).single().unwrap_or_default().with_timezone(&tz).date_naive();
    (0..i64::from(days)).rev().map(|back| today - Duration::days(back)).map(|d| (d, local_midnight(tz, d))).collect()
}

/// The index in `days` (from [`local_days`]) of the day `at` falls on, if any.
pub fn day_index(days: &[(chrono::NaiveDate, Millis)], at: Millis) -> Option<usize> {
    days.iter().rposition(|(_, start)| *start <= at)
}

/// The SLA targets a ticket still has to meet, with their due times: the first response until
/// someone on staff has replied, and the resolution.
pub fn pending_sla_targets(
    first_response_due_at: Option<Millis>,
    first_responded_at: Option<Millis>,
    resolution_due_at: Option<Millis>,
) -> impl Iterator<Item = (SlaTarget, Millis)> {
    let first = first_response_due_at.filter(|_| first_responded_at.is_none()).map(|d| (SlaTarget::FirstResponse, d));
    first.into_iter().chain(resolution_due_at.map(|d| (SlaTarget::Resolution, d)))
}

/// The next SLA target still pending on a ticket, which `sla_due_at` stores; none once the
/// ticket no longer needs work.
pub fn next_sla_due(
    status: crate::TicketStatus,
    first_response_due_at: Option<Millis>,
    first_responded_at: Option<Millis>,
    resolution_due_at: Option<Millis>,
) -> Option<Millis> {
    if !status.is_active() {
        return None;
    }
    pending_sla_targets(first_response_due_at, first_responded_at, resolution_due_at).map(|(_, due)| due).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Millis {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn due_today_is_the_local_day() {
        let tz: Tz = "America/New_York".parse().unwrap();
        // 02:00 UTC on the 10th is still the 9th in New York.
        let w = sla_window(SlaFilter::DueToday, ms("2026-03-10T02:00:00Z"), tz, 0.25);
        assert_eq!(w, SlaWindow::Between { from: ms("2026-03-09T04:00:00Z"), to: ms("2026-03-10T04:00:00Z") });
    }

    #[test]
    fn week_spans_a_dst_change() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        // Wednesday 25 March 2026; clocks go forward on Sunday the 29th.
        let w = sla_window(SlaFilter::DueThisWeek, ms("2026-03-25T12:00:00Z"), tz, 0.25);
        assert_eq!(w, SlaWindow::Between { from: ms("2026-03-22T23:00:00Z"), to: ms("2026-03-29T22:00:00Z") });
    }

    #[test]
    fn trend_days_are_local_and_survive_a_dst_change() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let days = local_days(ms("2026-03-30T10:00:00Z"), tz, 3);
        let dates: Vec<String> = days.iter().map(|(d, _)| d.to_string()).collect();
        assert_eq!(dates, ["2026-03-28", "2026-03-29", "2026-03-30"]);
        // The 29th starts at 23:00 UTC on the 28th (CET) and lasts 23 hours (CEST from 02:00).
        assert_eq!(days[1].1, ms("2026-03-28T23:00:00Z"));
        assert_eq!(days[2].1, ms("2026-03-29T22:00:00Z"));
        assert_eq!(day_index(&days, ms("2026-03-29T21:59:59Z")), Some(1));
        assert_eq!(day_index(&days, ms("2026-03-29T22:00:00Z")), Some(2));
        assert_eq!(day_index(&days, ms("2026-03-27T22:59:59Z")), None, "before the first day");
    }

    #[test]
    fn next_due_is_the_earliest_pending_target() {
        use crate::TicketStatus::*;
        assert_eq!(next_sla_due(Open, Some(10), None, Some(50)), Some(10));
        assert_eq!(next_sla_due(Open, Some(10), Some(5), Some(50)), Some(50));
        assert_eq!(next_sla_due(Waiting, None, None, Some(50)), Some(50));
        assert_eq!(next_sla_due(Resolved, Some(10), None, Some(50)), None);
        assert_eq!(next_sla_due(Open, None, None, None), None);
    }

    #[test]
    fn zone_names_are_validated() {
        assert!(parse_time_zone("timeZone", "Europe/Berlin").is_ok());
        assert_eq!(parse_time_zone("timeZone", "Mars/Olympus").unwrap_err().field, "timeZone");
    }
}
