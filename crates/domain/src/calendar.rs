//! Business hours: when the SLA clock runs, and the pausable clock itself.
//!
//! Opening hours are wall-clock times in the calendar's zone, but elapsed business time is counted
//! in real (UTC) time, so an open interval that spans a DST change is an hour shorter or longer.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::{Millis, ValidationError, parse_time_zone};

const MINUTE: Millis = 60_000;
const HOUR: Millis = 60 * MINUTE;
const DAY_MINUTES: u16 = 24 * 60;
const WEEKDAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// Holidays could in principle close every open weekday; this many closed days in a row means "never".
const MAX_CLOSED_RUN_DAYS: u32 = 3 * 366;
/// Keeps absurd targets and ranges from scanning for ever; no SLA is measured in decades.
const MAX_SCAN_DAYS: u32 = 25 * 366;

/// When a calendar's hours are open, in its own time zone, with holidays closed all day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CalendarSpec", into = "CalendarSpec")]
pub struct BusinessCalendar {
    tz: Tz,
    /// Indexed from Monday: sorted, disjoint, non-touching `[opens, closes)` minutes of the local day.
    week: [Vec<(u16, u16)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

/// A business calendar as entered, e.g. from JSON; [`CalendarSpec::validate`] checks it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarSpec {
    /// An IANA time zone name such as `Europe/Berlin`.
    pub time_zone: String,
    /// Opening intervals; several entries for one weekday make split shifts.
    #[serde(default)]
    pub schedule: Vec<DayHours>,
    /// Dates closed all day, as `YYYY-MM-DD` in the calendar's zone.
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// One opening interval on one weekday, in local wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DayHours {
    /// `mon` to `sun` (full English names are accepted too).
    pub weekday: String,
    /// `HH:MM`, from `00:00` to `23:59`.
    pub opens: String,
    /// `HH:MM` after `opens`; `24:00` means midnight at the end of the day.
    pub closes: String,
}

/// A ticket's SLA clock: it runs in business hours only and stands still while paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaClock {
    /// When the clock started, usually when the ticket was created.
    pub started_at: Millis,
    /// Set while the ticket waits on the customer.
    pub paused_at: Option<Millis>,
    /// Business minutes spent paused in earlier pauses; they push every target back.
    pub paused_minutes: i64,
}

fn field_at(path: &str, rest: &str) -> String {
    if path.is_empty() { rest.to_string() } else { format!("{path}.{rest}") }
}

fn parse_clock(field: &str, value: &str) -> Result<u16, ValidationError> {
    let bad = || ValidationError::new(field, format!("{value:?} is not a time of day; expected HH:MM such as 09:00"));
    let (h, m) = value.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m > 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn format_clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl CalendarSpec {
    /// Checks the spec; error fields are `timeZone`, `schedule[2].opens`, `holidays[1]` and so on.
    pub fn validate(&self) -> Result<BusinessCalendar, ValidationError> {
        self.validate_at("")
    }

    /// Like [`CalendarSpec::validate`], with error fields under `path`, e.g. `calendar.timeZone`.
    pub fn validate_at(&self, path: &str) -> Result<BusinessCalendar, ValidationError> {
        let tz = parse_time_zone(&field_at(path, "timeZone"), &self.time_zone)?;

        // (weekday index, opens, closes, schedule index)
        let mut entries = Vec::with_capacity(self.schedule.len());
        for (i, day) in self.schedule.iter().enumerate() {
            let at = field_at(path, &format!("schedule[{i}]"));
            let weekday = day.weekday.trim().parse::<Weekday>().map_err(|_| {
                ValidationError::new(
                    format!("{at}.weekday"),
                    format!("{:?} is not a weekday; expected one of: {}", day.weekday, WEEKDAY_NAMES.join(", ")),
                )
            })?;
            let opens = parse_clock(&format!("{at}.opens"), &day.opens)?;
            let closes = parse_clock(&format!("{at}.closes"), &day.closes)?;
            if opens == DAY_MINUTES {
                return Err(ValidationError::new(format!("{at}.opens"), "24:00 can only close a day"));
            }
            if closes <= opens {
                // Hours past midnight would belong to two weekdays; make the admin say which.
                return Err(ValidationError::new(
                    format!("{at}.closes"),
                    format!("must be after opens ({}); split hours past midnight over two days", day.opens),
                ));
            }
            entries.push((weekday.num_days_from_monday() as usize, opens, closes, i));
        }

        entries.sort_unstable_by_key(|&(w, opens, _, _)| (w, opens));
        for pair in entries.windows(2) {
            let ((w1, _, closes1, i1), (w2, opens2, _, i2)) = (pair[0], pair[1]);
            if w1 == w2 && opens2 < closes1 {
                let (first, second) = (i1.min(i2), i1.max(i2));
                return Err(ValidationError::new(
                    field_at(path, &format!("schedule[{second}]")),
                    format!("overlaps schedule[{first}] on {}", WEEKDAY_NAMES[w1]),
                ));
            }
        }

        let mut week: [Vec<(u16, u16)>; 7] = Default::default();
        for (w, opens, closes, _) in entries {
            match week[w].last_mut() {
                Some(last) if last.1 == opens => last.1 = closes,
                _ => week[w].push((opens, closes)),
            }
        }
        if week.iter().all(Vec::is_empty) {
            return Err(ValidationError::new(
                field_at(path, "schedule"),
                "has no open hours, so the SLA clock would never run",
            ));
        }

        let mut holidays = BTreeSet::new();
        for (i, date) in self.holidays.iter().enumerate() {
            let parsed = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|_| {
                ValidationError::new(
                    field_at(path, &format!("holidays[{i}]")),
                    format!("{date:?} is not a date; expected YYYY-MM-DD"),
                )
            })?;
            holidays.insert(parsed);
        }

        Ok(BusinessCalendar { tz, week, holidays })
    }
}

impl TryFrom<CalendarSpec> for BusinessCalendar {
    type Error = ValidationError;
    fn try_from(spec: CalendarSpec) -> Result<Self, Self::Error> {
        spec.validate()
    }
}

impl From<BusinessCalendar> for CalendarSpec {
    fn from(calendar: BusinessCalendar) -> Self {
        calendar.to_spec()
    }
}

/// Maps a local wall-clock time to an instant: the earliest one in a fold, and in a gap the
/// transition itself, which is the first instant whose wall clock has passed `local`.
fn local_to_utc(tz: Tz, local: NaiveDateTime) -> Option<Millis> {
    if let Some(t) = tz.from_local_datetime(&local).earliest() {
        return Some(t.timestamp_millis());
    }
    let wall = |t: Millis| Utc.timestamp_millis_opt(t).single().map(|u| u.with_timezone(&tz).naive_local());
    // Real offsets stay within ±16h, so `lo` is surely before `local` on the wall clock and `hi` after.
    let naive = local.and_utc().timestamp_millis();
    let (mut lo, mut hi) = (naive - 26 * HOUR, naive + 26 * HOUR);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if wall(mid)? >= local {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

impl BusinessCalendar {
    /// What a calendar returns when its hours never open again within its search horizon.
    pub const FAR_FUTURE: Millis = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

    /// A calendar that is open around the clock every day.
    pub fn always_open(tz: Tz) -> Self {
        Self { tz, week: std::array::from_fn(|_| vec![(0, DAY_MINUTES)]), holidays: BTreeSet::new() }
    }

    /// The calendar's time zone.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// The calendar as a spec, with touching intervals merged; validating it gives this calendar back.
    pub fn to_spec(&self) -> CalendarSpec {
        let schedule = self
            .week
            .iter()
            .zip(WEEKDAY_NAMES)
            .flat_map(|(hours, name)| {
                hours.iter().map(move |&(opens, closes)| DayHours {
                    weekday: name.to_string(),
                    opens: format_clock(opens),
                    closes: format_clock(closes),
                })
            })
            .collect();
        let holidays = self.holidays.iter().map(|d| d.format("%Y-%m-%d").to_string()).collect();
        CalendarSpec { time_zone: self.tz.name().to_string(), schedule, holidays }
    }

    /// True if the hours are open at `t` (opening instant included, closing instant excluded).
    pub fn is_open(&self, t: Millis) -> bool {
        self.open_spans(t).next().is_some_and(|(start, _)| start == t)
    }

    /// `t` itself if the hours are open then, else the instant they next open.
    pub fn next_open(&self, t: Millis) -> Millis {
        self.open_spans(t).next().map_or(Self::FAR_FUTURE.max(t), |(start, _)| start)
    }

    /// The instant at which `minutes` of open time have passed since `start`, counting from the
    /// next opening if `start` is outside hours.
    pub fn add_business_minutes(&self, start: Millis, minutes: i64) -> Millis {
        let mut remaining = minutes.max(0).saturating_mul(MINUTE);
        for (open, close) in self.open_spans(start) {
            if remaining <= close - open {
                return open + remaining;
            }
            remaining -= close - open;
        }
        Self::FAR_FUTURE.max(start)
    }

    /// Whole minutes of open time in `[from, to)`; 0 if `to <= from`.
    pub fn business_minutes_between(&self, from: Millis, to: Millis) -> i64 {
        if to <= from {
            return 0;
        }
        let open: Millis =
            self.open_spans(from).take_while(|&(open, _)| open < to).map(|(open, close)| close.min(to) - open).sum();
        open / MINUTE
    }

    fn hours_on(&self, date: NaiveDate) -> &[(u16, u16)] {
        if self.holidays.contains(&date) { &[] } else { &self.week[date.weekday().num_days_from_monday() as usize] }
    }

    fn instant(&self, date: NaiveDate, minute: u16) -> Option<Millis> {
        let (date, minute) = if minute == DAY_MINUTES { (date.succ_opt()?, 0) } else { (date, minute) };
        local_to_utc(self.tz, date.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?)
    }

    /// Open intervals as instants, in order, clipped to start no earlier than `from`.
    fn open_spans(&self, from: Millis) -> OpenSpans<'_> {
        // Starting a day early costs one lookup and spares reasoning about folds around midnight.
        let day = Utc
            .timestamp_millis_opt(from)
            .single()
            .map(|t| t.with_timezone(&self.tz).date_naive())
            .and_then(|d| d.pred_opt());
        OpenSpans { calendar: self, from, day, next_interval: 0, day_had_span: false, closed_run: 0, scanned: 0 }
    }
}

struct OpenSpans<'a> {
    calendar: &'a BusinessCalendar,
    from: Millis,
    /// `None` once the scan is over.
    day: Option<NaiveDate>,
    next_interval: usize,
    day_had_span: bool,
    closed_run: u32,
    scanned: u32,
}

impl Iterator for OpenSpans<'_> {
    type Item = (Millis, Millis);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let day = self.day?;
            if let Some(&(opens, closes)) = self.calendar.hours_on(day).get(self.next_interval) {
                self.next_interval += 1;
                let (Some(open), Some(close)) = (self.calendar.instant(day, opens), self.calendar.instant(day, closes))
                else {
                    self.day = None;
                    return None;
                };
                // Hours that fall wholly inside a DST gap collapse to nothing.
                let open = open.max(self.from);
                if close > open {
                    self.day_had_span = true;
                    return Some((open, close));
                }
                continue;
            }
            self.closed_run = if self.day_had_span { 0 } else { self.closed_run + 1 };
            self.scanned += 1;
            if self.closed_run > MAX_CLOSED_RUN_DAYS || self.scanned > MAX_SCAN_DAYS {
                self.day = None;
                return None;
            }
            self.day = day.succ_opt();
            self.next_interval = 0;
            self.day_had_span = false;
        }
    }
}

impl SlaClock {
    /// A running clock started at `now`.
    pub fn start(now: Millis) -> Self {
        Self { started_at: now, paused_at: None, paused_minutes: 0 }
    }

    /// True while the clock stands still.
    pub fn is_paused(&self) -> bool {
        self.paused_at.is_some()
    }

    /// Stops the clock at `now`; pausing a paused clock keeps the first pause.
    pub fn pause(&mut self, now: Millis) {
        if self.paused_at.is_none() {
            // Time before the start never counted, so it must not be credited back either.
            self.paused_at = Some(now.max(self.started_at));
        }
    }

    /// Restarts the clock at `now`, crediting the business minutes it stood still.
    pub fn resume(&mut self, now: Millis, calendar: &BusinessCalendar) {
        if let Some(paused_at) = self.paused_at.take() {
            self.paused_minutes = self.paused_minutes.saturating_add(calendar.business_minutes_between(paused_at, now));
        }
    }

    /// When `target_minutes` of business time will have run; `None` while paused.
    pub fn due(&self, calendar: &BusinessCalendar, target_minutes: i64) -> Option<Millis> {
        if self.is_paused() {
            return None;
        }
        Some(calendar.add_business_minutes(self.started_at, target_minutes.saturating_add(self.paused_minutes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Millis {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    fn hours(weekday: &str, opens: &str, closes: &str) -> DayHours {
        DayHours { weekday: weekday.into(), opens: opens.into(), closes: closes.into() }
    }

    fn spec(zone: &str, schedule: Vec<DayHours>, holidays: &[&str]) -> CalendarSpec {
        CalendarSpec { time_zone: zone.into(), schedule, holidays: holidays.iter().map(|h| h.to_string()).collect() }
    }

    fn weekdays(opens: &str, closes: &str) -> Vec<DayHours> {
        ["mon", "tue", "wed", "thu", "fri"].iter().map(|d| hours(d, opens, closes)).collect()
    }

    fn office(zone: &str, holidays: &[&str]) -> BusinessCalendar {
        spec(zone, weekdays("09:00", "17:00"), holidays).validate().unwrap()
    }

    fn every_day(zone: &str, opens: &str, closes: &str) -> BusinessCalendar {
        let schedule = WEEKDAY_NAMES.iter().map(|d| hours(d, opens, closes)).collect();
        spec(zone, schedule, &[]).validate().unwrap()
    }

    fn berlin() -> Tz {
        "Europe/Berlin".parse().unwrap()
    }

    #[test]
    fn target_runs_across_the_weekend() {
        let cal = office("Europe/Berlin", &[]);
        // Friday 16 January 2026.
        let due = cal.add_business_minutes(ms("2026-01-16T16:00:00+01:00"), 120);
        assert_eq!(due, ms("2026-01-19T10:00:00+01:00"));
        // Exactly used up at closing time: due then, not at the next opening.
        assert_eq!(cal.add_business_minutes(ms("2026-01-16T16:00:00+01:00"), 60), ms("2026-01-16T17:00:00+01:00"));
    }

    #[test]
    fn holidays_are_skipped() {
        // Good Friday, 3 April 2026.
        let cal = office("Europe/Berlin", &["2026-04-03"]);
        let due = cal.add_business_minutes(ms("2026-04-02T16:00:00+02:00"), 120);
        assert_eq!(due, ms("2026-04-06T10:00:00+02:00"));
        assert!(!cal.is_open(ms("2026-04-03T12:00:00+02:00")));
    }

    #[test]
    fn counting_starts_when_hours_open() {
        let cal = office("Europe/Berlin", &[]);
        // Saturday 17 January 2026.
        assert_eq!(cal.add_business_minutes(ms("2026-01-17T11:00:00+01:00"), 30), ms("2026-01-19T09:30:00+01:00"));
        assert_eq!(cal.add_business_minutes(ms("2026-01-19T07:00:00+01:00"), 30), ms("2026-01-19T09:30:00+01:00"));
        assert_eq!(cal.add_business_minutes(ms("2026-01-17T11:00:00+01:00"), 0), ms("2026-01-19T09:00:00+01:00"));
        assert_eq!(cal.next_open(ms("2026-01-17T11:00:00+01:00")), ms("2026-01-19T09:00:00+01:00"));
        assert_eq!(cal.next_open(ms("2026-01-19T10:00:00+01:00")), ms("2026-01-19T10:00:00+01:00"));
    }

    #[test]
    fn opening_and_closing_instants() {
        let cal = office("Europe/Berlin", &[]);
        assert!(cal.is_open(ms("2026-01-19T09:00:00+01:00")));
        assert!(cal.is_open(ms("2026-01-19T16:59:59.999+01:00")));
        assert!(!cal.is_open(ms("2026-01-19T17:00:00+01:00")));
        assert!(!cal.is_open(ms("2026-01-19T08:59:59.999+01:00")));
        let always = BusinessCalendar::always_open(berlin());
        assert!(always.is_open(ms("2026-01-17T03:00:00Z")));
        assert_eq!(always.next_open(ms("2026-01-17T03:00:00Z")), ms("2026-01-17T03:00:00Z"));
    }

    #[test]
    fn hours_are_local_to_the_calendar_zone() {
        let cal = office("America/New_York", &[]);
        // 02:00 UTC on Tuesday the 10th is 22:00 on Monday the 9th in New York (EDT since the 8th).
        let t = ms("2026-03-10T02:00:00Z");
        assert!(!cal.is_open(t));
        assert_eq!(cal.next_open(t), ms("2026-03-10T09:00:00-04:00"));
        assert_eq!(cal.add_business_minutes(t, 60), ms("2026-03-10T14:00:00Z"));
        assert!(cal.is_open(ms("2026-03-09T20:59:00Z")));
        assert!(!cal.is_open(ms("2026-03-09T21:00:00Z")));
    }

    #[test]
    fn a_day_around_the_clock_follows_real_time_across_dst() {
        let cal = BusinessCalendar::always_open(berlin());
        // Spring forward on Sunday 29 March 2026: that day lasts 23 hours.
        let due = cal.add_business_minutes(ms("2026-03-28T12:00:00+01:00"), 1440);
        assert_eq!(due, ms("2026-03-29T13:00:00+02:00"));
        assert_eq!(due, ms("2026-03-29T11:00:00Z"));
        assert_eq!(
            cal.business_minutes_between(ms("2026-03-29T00:00:00+01:00"), ms("2026-03-30T00:00:00+02:00")),
            1380
        );
        // Fall back on Sunday 25 October 2026: that day lasts 25 hours.
        let due = cal.add_business_minutes(ms("2026-10-24T12:00:00+02:00"), 1440);
        assert_eq!(due, ms("2026-10-25T11:00:00+01:00"));
        assert_eq!(due, ms("2026-10-25T10:00:00Z"));
        assert_eq!(
            cal.business_minutes_between(ms("2026-10-25T00:00:00+02:00"), ms("2026-10-26T00:00:00+01:00")),
            1500
        );
    }

    #[test]
    fn office_hours_ignore_a_dst_change_at_night() {
        let daily = every_day("Europe/Berlin", "09:00", "17:00");
        assert_eq!(
            daily.business_minutes_between(ms("2026-03-29T00:00:00+01:00"), ms("2026-03-30T00:00:00+02:00")),
            480
        );
        assert_eq!(
            daily.business_minutes_between(ms("2026-10-25T00:00:00+02:00"), ms("2026-10-26T00:00:00+01:00")),
            480
        );
        assert_eq!(daily.add_business_minutes(ms("2026-03-28T16:00:00+01:00"), 120), ms("2026-03-29T10:00:00+02:00"));
        let cal = office("Europe/Berlin", &[]);
        assert_eq!(cal.add_business_minutes(ms("2026-03-27T16:00:00+01:00"), 120), ms("2026-03-30T10:00:00+02:00"));
        assert_eq!(cal.add_business_minutes(ms("2026-10-23T16:00:00+02:00"), 120), ms("2026-10-26T10:00:00+01:00"));
    }

    #[test]
    fn opening_in_a_gap_or_fold() {
        // 02:30 does not exist on 29 March in Berlin and happens twice on 25 October.
        let cal = every_day("Europe/Berlin", "02:30", "04:00");
        assert_eq!(cal.next_open(ms("2026-03-29T00:00:00+01:00")), ms("2026-03-29T03:00:00+02:00"));
        assert_eq!(cal.business_minutes_between(ms("2026-03-29T00:00:00+01:00"), ms("2026-03-29T12:00:00+02:00")), 60);
        assert_eq!(cal.next_open(ms("2026-10-25T00:00:00+02:00")), ms("2026-10-25T02:30:00+02:00"));
        assert_eq!(cal.business_minutes_between(ms("2026-10-25T00:00:00+02:00"), ms("2026-10-25T12:00:00+01:00")), 150);
    }

    #[test]
    fn split_shifts() {
        let schedule = vec![hours("mon", "13:00", "17:00"), hours("mon", "09:00", "12:00")];
        let cal = spec("Europe/Berlin", schedule, &[]).validate().unwrap();
        assert_eq!(cal.add_business_minutes(ms("2026-01-19T11:30:00+01:00"), 60), ms("2026-01-19T13:30:00+01:00"));
        assert_eq!(cal.add_business_minutes(ms("2026-01-19T11:30:00+01:00"), 30), ms("2026-01-19T12:00:00+01:00"));
        assert!(!cal.is_open(ms("2026-01-19T12:30:00+01:00")));
        assert_eq!(cal.next_open(ms("2026-01-19T12:30:00+01:00")), ms("2026-01-19T13:00:00+01:00"));
        assert_eq!(cal.business_minutes_between(ms("2026-01-19T08:00:00+01:00"), ms("2026-01-19T18:00:00+01:00")), 420);
        // Next Monday, since Monday is the only open day.
        assert_eq!(cal.add_business_minutes(ms("2026-01-19T16:00:00+01:00"), 120), ms("2026-01-26T10:00:00+01:00"));
    }

    #[test]
    fn minutes_between_across_days() {
        let cal = office("Europe/Berlin", &[]);
        // Friday 15:00 to Tuesday 10:00: 120 + 480 + 60.
        assert_eq!(cal.business_minutes_between(ms("2026-01-16T15:00:00+01:00"), ms("2026-01-20T10:00:00+01:00")), 660);
        assert_eq!(cal.business_minutes_between(ms("2026-01-17T00:00:00+01:00"), ms("2026-01-19T00:00:00+01:00")), 0);
        assert_eq!(cal.business_minutes_between(ms("2026-01-20T10:00:00+01:00"), ms("2026-01-16T15:00:00+01:00")), 0);
        assert_eq!(cal.business_minutes_between(ms("2026-01-19T10:00:00+01:00"), ms("2026-01-19T10:00:59+01:00")), 0);
    }

    #[test]
    fn adding_and_measuring_agree() {
        let cals = [
            office("Europe/Berlin", &["2026-04-03", "2026-04-06"]),
            BusinessCalendar::always_open(berlin()),
            every_day("America/New_York", "00:00", "24:00"),
            spec("Asia/Kolkata", vec![hours("sun", "22:00", "24:00"), hours("mon", "00:00", "06:00")], &[])
                .validate()
                .unwrap(),
        ];
        let starts = ["2026-03-06T23:10:00Z", "2026-03-27T16:45:00Z", "2026-10-24T01:00:00Z", "2026-04-02T12:00:00Z"];
        for cal in &cals {
            for start in starts {
                for minutes in [0, 1, 59, 480, 1440, 10_000] {
                    let due = cal.add_business_minutes(ms(start), minutes);
                    assert_eq!(cal.business_minutes_between(ms(start), due), minutes, "{start} + {minutes}");
                }
            }
        }
    }

    #[test]
    fn long_targets_and_closed_calendars_stay_bounded() {
        let cal = office("Europe/Berlin", &[]);
        let start = ms("2026-01-19T09:00:00+01:00");
        // A year of office hours: 52 weeks of 5 × 8 hours.
        let due = cal.add_business_minutes(start, 52 * 5 * 480);
        assert_eq!(due, ms("2027-01-15T17:00:00+01:00"));
        assert_eq!(cal.add_business_minutes(start, i64::MAX), BusinessCalendar::FAR_FUTURE);

        // Open on Mondays only, and every Monday for four years is a holiday.
        let first = NaiveDate::from_ymd_opt(2026, 1, 19).unwrap();
        let mondays: Vec<String> =
            (0..210).map(|w| (first + chrono::Duration::weeks(w)).format("%Y-%m-%d").to_string()).collect();
        let refs: Vec<&str> = mondays.iter().map(String::as_str).collect();
        let closed = spec("Europe/Berlin", vec![hours("mon", "09:00", "17:00")], &refs).validate().unwrap();
        assert_eq!(closed.add_business_minutes(start, 60), BusinessCalendar::FAR_FUTURE);
        assert_eq!(closed.next_open(start), BusinessCalendar::FAR_FUTURE);
        assert!(!closed.is_open(start));
    }

    #[test]
    fn pausing_during_hours_pushes_the_target_back() {
        let cal = office("Europe/Berlin", &[]);
        let mut clock = SlaClock::start(ms("2026-01-19T09:00:00+01:00"));
        assert_eq!(clock.due(&cal, 480), Some(ms("2026-01-19T17:00:00+01:00")));
        clock.pause(ms("2026-01-19T10:00:00+01:00"));
        assert!(clock.is_paused());
        assert_eq!(clock.due(&cal, 480), None);
        // A second pause keeps the first.
        clock.pause(ms("2026-01-19T11:00:00+01:00"));
        clock.resume(ms("2026-01-19T11:30:00+01:00"), &cal);
        assert_eq!(clock.paused_minutes, 90);
        assert_eq!(clock.due(&cal, 480), Some(ms("2026-01-20T10:30:00+01:00")));
        // Resuming a running clock changes nothing.
        clock.resume(ms("2026-01-19T12:00:00+01:00"), &cal);
        assert_eq!(clock.paused_minutes, 90);
    }

    #[test]
    fn pausing_over_a_weekend_counts_open_minutes_only() {
        let cal = office("Europe/Berlin", &[]);
        let mut clock = SlaClock::start(ms("2026-01-15T09:00:00+01:00"));
        clock.pause(ms("2026-01-16T16:00:00+01:00"));
        clock.resume(ms("2026-01-19T10:00:00+01:00"), &cal);
        assert_eq!(clock.paused_minutes, 120);
        // 960 minutes from Thursday 09:00 is Friday 17:00, then 120 paused minutes more.
        assert_eq!(clock.due(&cal, 960), Some(ms("2026-01-19T11:00:00+01:00")));
    }

    #[test]
    fn pausing_before_the_start_credits_nothing_early() {
        let cal = BusinessCalendar::always_open(berlin());
        let mut clock = SlaClock::start(ms("2026-01-19T09:00:00Z"));
        clock.pause(ms("2026-01-19T08:00:00Z"));
        clock.resume(ms("2026-01-19T09:30:00Z"), &cal);
        assert_eq!(clock.paused_minutes, 30);
    }

    #[test]
    fn validation_names_the_field() {
        let err = |s: CalendarSpec| s.validate().unwrap_err().field;
        assert_eq!(err(spec("Mars/Olympus", weekdays("09:00", "17:00"), &[])), "timeZone");
        let mut schedule = weekdays("09:00", "17:00");
        schedule[1] = hours("tue", "17:00", "09:00");
        assert_eq!(err(spec("Europe/Berlin", schedule, &[])), "schedule[1].closes");
        let mut schedule = weekdays("09:00", "17:00");
        schedule.push(hours("wed", "12:00", "18:00"));
        assert_eq!(err(spec("Europe/Berlin", schedule, &[])), "schedule[5]");
        assert_eq!(err(spec("Europe/Berlin", vec![], &[])), "schedule");
        assert_eq!(
            err(spec("Europe/Berlin", weekdays("09:00", "17:00"), &["2026-12-25", "2026-02-30"])),
            "holidays[1]"
        );
        assert_eq!(err(spec("Europe/Berlin", vec![hours("funday", "09:00", "17:00")], &[])), "schedule[0].weekday");
        assert_eq!(err(spec("Europe/Berlin", vec![hours("mon", "9am", "17:00")], &[])), "schedule[0].opens");
        assert_eq!(err(spec("Europe/Berlin", vec![hours("mon", "24:00", "24:00")], &[])), "schedule[0].opens");
        assert_eq!(err(spec("Europe/Berlin", vec![hours("mon", "09:00", "24:30")], &[])), "schedule[0].closes");
        assert_eq!(err(spec("Europe/Berlin", vec![hours("mon", "09:00", "09:00")], &[])), "schedule[0].closes");

        let nested = spec("Europe/Berlin", vec![hours("mon", "09:00", "12:00"), hours("mon", "13:00", "11:00")], &[]);
        assert_eq!(nested.validate_at("calendar").unwrap_err().field, "calendar.schedule[1].closes");
        assert_eq!(
            spec("Nowhere", vec![], &[]).validate_at("input.calendar").unwrap_err().field,
            "input.calendar.timeZone"
        );
    }

    #[test]
    fn spec_round_trips_with_touching_hours_merged() {
        let schedule = vec![
            hours("mon", "12:00", "24:00"),
            hours("Monday", "00:00", "12:00"),
            hours("tue", "09:00", "12:00"),
            hours("tue", "13:00", "17:00"),
        ];
        let cal = spec("Europe/Berlin", schedule, &["2026-12-25"]).validate().unwrap();
        let back = cal.to_spec();
        assert_eq!(
            back,
            spec(
                "Europe/Berlin",
                vec![hours("mon", "00:00", "24:00"), hours("tue", "09:00", "12:00"), hours("tue", "13:00", "17:00")],
                &["2026-12-25"],
            )
        );
        assert_eq!(back.validate().unwrap(), cal);
        assert_eq!(BusinessCalendar::always_open(berlin()).to_spec().validate().unwrap().time_zone(), berlin());
    }
}
