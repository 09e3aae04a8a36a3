//! GraphQL types of business-hours calendars.

use async_graphql::{Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_desk::DeskError;
use switchboard_desk::domain as d;
use switchboard_desk::store::CalendarRecord;

use crate::types::{id, time};

/// A day of the week, for business hours.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    /// The spelling calendar specs store, e.g. `mon`.
    fn key(self) -> &'static str {
        match self {
            Weekday::Monday => "mon",
            Weekday::Tuesday => "tue",
            Weekday::Wednesday => "wed",
            Weekday::Thursday => "thu",
            Weekday::Friday => "fri",
            Weekday::Saturday => "sat",
            Weekday::Sunday => "sun",
        }
    }

    fn parse(s: &str) -> Option<Weekday> {
        Some(match s.trim().parse::<chrono::Weekday>().ok()? {
            chrono::Weekday::Mon => Weekday::Monday,
            chrono::Weekday::Tue => Weekday::Tuesday,
            chrono::Weekday::Wed => Weekday::Wednesday,
            chrono::Weekday::Thu => Weekday::Thursday,
            chrono::Weekday::Fri => Weekday::Friday,
            chrono::Weekday::Sat => Weekday::Saturday,
            chrono::Weekday::Sun => Weekday::Sunday,
        })
    }
}

/// A business-hours calendar: when the SLA clocks of the policies using it run.
pub struct Calendar {
    record: CalendarRecord,
    spec: d::CalendarSpec,
}

crate::stamp::version_stamp!(CalendarStamp, "CalendarInput", "calendar");

impl Calendar {
    /// Reads the stored spec; one that does not parse is an internal error.
    pub(crate) fn new(record: CalendarRecord) -> Result<Calendar, DeskError> {
        let spec = serde_json::from_str(&record.spec)
            .map_err(|e| DeskError::Internal(format!("calendar {} has an unreadable spec: {e}", record.id)))?;
        Ok(Calendar { record, spec })
    }
}

#[Object]
impl Calendar {
    async fn id(&self) -> ID {
        id(self.record.id.0)
    }
    async fn name(&self) -> &str {
        &self.record.name
    }
    /// IANA time zone the hours are in, e.g. `Europe/Berlin`.
    async fn time_zone(&self) -> &str {
        &self.spec.time_zone
    }
    /// Opening intervals, Monday first; several on one weekday make split shifts.
    async fn schedule(&self) -> Result<Vec<DayHours>, DeskError> {
        self.spec
            .schedule
            .iter()
            .map(|h| {
                let weekday = Weekday::parse(&h.weekday).ok_or_else(|| {
                    DeskError::Internal(format!("calendar {} has an unknown weekday {:?}", self.record.id, h.weekday))
                })?;
                Ok(DayHours { weekday, opens: h.opens.clone(), closes: h.closes.clone() })
            })
            .collect()
    }
    /// Dates closed all day, as `YYYY-MM-DD` in the calendar's zone.
    async fn holidays(&self) -> &[String] {
        &self.spec.holidays
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.record.created_at)
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        time(self.record.updated_at)
    }
    #[graphql(flatten)]
    async fn stamp(&self) -> CalendarStamp {
        CalendarStamp::of(self.record.version, &self.record.updated_by)
    }
}

/// One opening interval on one weekday, in the calendar's wall-clock time.
#[derive(SimpleObject)]
pub struct DayHours {
    pub weekday: Weekday,
    /// `HH:MM`.
    pub opens: String,
    /// `HH:MM` after `opens`; `24:00` is midnight at the end of the day.
    pub closes: String,
}

/// One opening interval as an admin writes it.
#[derive(InputObject)]
pub struct DayHoursInput {
    pub weekday: Weekday,
    /// `HH:MM`, from `00:00` to `23:59`.
    pub opens: String,
    /// `HH:MM` after `opens`; `24:00` means midnight at the end of the day.
    pub closes: String,
}

/// A business-hours calendar as an admin writes it.
#[derive(InputObject)]
pub struct CalendarInput {
    pub name: String,
    /// An IANA time zone name such as `Europe/Berlin`.
    pub time_zone: String,
    /// Opening intervals; hours past midnight go on the next weekday.
    pub schedule: Vec<DayHoursInput>,
    /// Dates closed all day, as `YYYY-MM-DD`.
    #[graphql(default)]
    pub holidays: Vec<String>,
    /// The calendar's `version` when the form was loaded, for an update: a save over a newer
    /// version is refused with CONFLICT naming who saved it and when. Without it the save
    /// applies whatever was saved since (as before versions existed).
    pub version: Option<i64>,
}

impl CalendarInput {
    /// The domain's spec; the desk validates it (errors name `schedule[2].opens` and so on).
    pub(crate) fn spec(&self) -> d::CalendarSpec {
        d::CalendarSpec {
            time_zone: self.time_zone.clone(),
            schedule: self
                .schedule
                .iter()
                .map(|h| d::DayHours {
                    weekday: h.weekday.key().to_string(),
                    opens: h.opens.clone(),
                    closes: h.closes.clone(),
                })
                .collect(),
            holidays: self.holidays.clone(),
        }
    }
}
