//! GraphQL types of insights: the service metrics of a period, read from the daily rollups.

use async_graphql::{Enum, ID, InputObject, Object, SimpleObject};
use switchboard_desk::domain as d;
use switchboard_desk::store::InsightFilter as StoreFilter;
use switchboard_desk::{self as desk_api, DeskError};

use crate::parse_id;
use crate::support::SlaTarget;
use crate::types::{Channel, id};

/// The period insights cover, in the workspace's time zone, today included.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum InsightPeriod {
    #[graphql(name = "LAST_7_DAYS")]
    Last7Days,
    #[graphql(name = "LAST_30_DAYS")]
    Last30Days,
    #[graphql(name = "LAST_90_DAYS")]
    Last90Days,
    /// From `from` to `to` (both included, at most 366 days).
    Custom,
}

/// Narrows every metric to one queue, help topic or channel.
#[derive(InputObject, Default)]
pub struct InsightFilterInput {
    pub queue_id: Option<ID>,
    /// Tickets with this help topic; `"none"` for tickets without one.
    pub help_topic_id: Option<ID>,
    pub channel: Option<Channel>,
}

/// Turns the API's period and filter into the desk's; dates are `YYYY-MM-DD`.
pub fn insight_args(
    period: InsightPeriod,
    from: Option<&str>,
    to: Option<&str>,
    filter: Option<InsightFilterInput>,
) -> Result<(desk_api::InsightPeriod, StoreFilter), DeskError> {
    let date = |field: &str, v: Option<&str>| -> Result<chrono::NaiveDate, DeskError> {
        let v = v.ok_or_else(|| DeskError::invalid(field, "a custom period needs from and to"))?;
        v.parse().map_err(|_| DeskError::invalid(field, "must be a date, YYYY-MM-DD"))
    };
    let period = match period {
        InsightPeriod::Last7Days => desk_api::InsightPeriod::Last7Days,
        InsightPeriod::Last30Days => desk_api::InsightPeriod::Last30Days,
        InsightPeriod::Last90Days => desk_api::InsightPeriod::Last90Days,
        InsightPeriod::Custom => desk_api::InsightPeriod::Custom { from: date("from", from)?, to: date("to", to)? },
    };
    let f = filter.unwrap_or_default();
    let help_topic_id = match f.help_topic_id {
        None => None,
        Some(h) if h.as_str() == "none" => Some(0),
        Some(h) => Some(parse_id::<d::HelpTopicId>(&h, "filter.helpTopicId")?.0),
    };
    let filter = StoreFilter {
        queue_id: f.queue_id.as_ref().map(|q| parse_id::<d::QueueId>(q, "filter.queueId")).transpose()?.map(|q| q.0),
        help_topic_id,
        channel: f.channel.map(|c| d::Channel::from(c).as_str().to_string()),
    };
    Ok((period, filter))
}

/// Durations in minutes: the median and the 90th percentile, exact to the minute below an hour,
/// then to 5 minutes below 4 hours, 15 minutes below a day, an hour below a week, and a day.
#[derive(SimpleObject)]
pub struct DurationStats {
    /// How many were measured.
    pub count: i64,
    pub median_minutes: Option<i64>,
    pub p90_minutes: Option<i64>,
}

impl From<desk_api::DurationStats> for DurationStats {
    fn from(s: desk_api::DurationStats) -> Self {
        DurationStats { count: s.count, median_minutes: s.median_minutes, p90_minutes: s.p90_minutes }
    }
}

/// One local day of the period.
#[derive(SimpleObject)]
pub struct InsightDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub opened: i64,
    /// Resolved or closed that day (and not reopened since).
    pub closed: i64,
    pub reopened: i64,
    /// Tickets opened and not closed by the end of the day.
    pub backlog: i64,
    pub csat_rated: i64,
    pub csat_satisfied: i64,
}

/// Tickets opened and closed on one day through one channel with one help topic.
#[derive(SimpleObject)]
pub struct InsightVolume {
    pub date: String,
    pub channel: Channel,
    pub help_topic_id: Option<ID>,
    pub help_topic_name: Option<String>,
    pub opened: i64,
    pub closed: i64,
}

/// How often one SLA target was met.
#[derive(SimpleObject)]
pub struct SlaAttainment {
    pub target: SlaTarget,
    pub met: i64,
    pub missed: i64,
    /// The share met (0 to 1); absent when no target was decided in the period.
    pub rate: Option<f64>,
}

/// How many ratings had one value.
#[derive(SimpleObject)]
pub struct CsatRatingCount {
    /// 1 to 5; Helpful is stored as 5 and Not helpful as 1.
    pub rating: i64,
    pub count: i64,
}

/// Customer satisfaction over the period: ratings of 4 and 5 (and Helpful) are satisfied, 1 to 3
/// (and Not helpful) are not.
#[derive(SimpleObject)]
pub struct CsatInsights {
    pub rated: i64,
    pub satisfied: i64,
    /// The satisfied share (0 to 1); absent without ratings.
    pub satisfied_share: Option<f64>,
    pub by_rating: Vec<CsatRatingCount>,
}

/// One staff member's row of the staff performance table.
#[derive(SimpleObject)]
pub struct StaffPerformance {
    pub user_id: ID,
    pub name: String,
    /// Tickets where they are recorded as the closer.
    pub closed: i64,
    /// Tickets they claimed.
    pub claimed: i64,
    /// Average minutes from open to their first public reply.
    pub avg_first_response_minutes: Option<f64>,
    /// Average minutes from open to close of the tickets they closed.
    pub avg_resolution_minutes: Option<f64>,
    /// Public replies sent (internal notes excluded).
    pub messages: i64,
    /// The share of satisfied ratings on tickets they closed (attributed to the closer).
    pub csat_rate: Option<f64>,
}

/// The answer bot's metrics: all absent ("no data yet") until the answer bot is built.
#[derive(SimpleObject, Default)]
pub struct BotInsights {
    /// Share of closed tickets the bot resolved without escalation.
    pub deflection_rate: Option<f64>,
    /// Closed tickets the bot resolved.
    pub bot_resolved: Option<i64>,
    /// The questions asked most often.
    pub top_questions: Option<Vec<String>>,
    /// Tips added in the period.
    pub tips_learned: Option<i64>,
    /// Escalations where the bot had no relevant content.
    pub knowledge_gaps: Option<i64>,
}

/// The service metrics of a period, narrowed by the filter.
pub struct Insights(pub desk_api::Insights);

#[Object]
impl Insights {
    /// The first local day covered, `YYYY-MM-DD`.
    async fn from(&self) -> String {
        self.0.from.to_string()
    }
    /// The last local day covered (included).
    async fn to(&self) -> String {
        self.0.to.to_string()
    }
    async fn opened(&self) -> i64 {
        self.0.opened
    }
    async fn closed(&self) -> i64 {
        self.0.closed
    }
    /// Closed tickets that had been escalated to staff.
    async fn closed_escalated(&self) -> i64 {
        self.0.closed_escalated
    }
    async fn reopened(&self) -> i64 {
        self.0.reopened
    }
    /// Reopenings per closed ticket (0 to 1 and more); absent when none closed.
    async fn reopen_rate(&self) -> Option<f64> {
        self.0.reopen_rate()
    }
    /// Each local day, oldest first.
    async fn days(&self) -> Vec<InsightDay> {
        self.0
            .days
            .iter()
            .map(|d| InsightDay {
                date: d.date.to_string(),
                opened: d.opened,
                closed: d.closed,
                reopened: d.reopened,
                backlog: d.backlog,
                csat_rated: d.csat_rated,
                csat_satisfied: d.csat_satisfied,
            })
            .collect()
    }
    /// Tickets opened and closed per day by channel and help topic.
    async fn volume(&self) -> Vec<InsightVolume> {
        self.0
            .volume
            .iter()
            .filter_map(|v| {
                Some(InsightVolume {
                    date: v.date.to_string(),
                    channel: d::Channel::parse(&v.channel, "channel").ok()?.into(),
                    help_topic_id: v.help_topic_id.map(|h| id(h.0)),
                    help_topic_name: v.help_topic_name.clone(),
                    opened: v.opened,
                    closed: v.closed,
                })
            })
            .collect()
    }
    /// Open to the first staff reply, wall clock.
    async fn first_response(&self) -> DurationStats {
        self.0.first_response.clone().into()
    }
    /// Open to the first staff reply, in the business hours of the ticket's SLA policy's
    /// calendar (wall clock for tickets without one).
    async fn first_response_business(&self) -> DurationStats {
        self.0.first_response_business.clone().into()
    }
    /// Open to resolution, wall clock.
    async fn resolution(&self) -> DurationStats {
        self.0.resolution.clone().into()
    }
    /// Open to resolution in business hours.
    async fn resolution_business(&self) -> DurationStats {
        self.0.resolution_business.clone().into()
    }
    /// SLA attainment per target, counted on the day each target was met or missed.
    async fn sla(&self) -> Vec<SlaAttainment> {
        self.0
            .sla
            .iter()
            .map(|s| SlaAttainment { target: s.target.into(), met: s.met, missed: s.missed, rate: s.rate() })
            .collect()
    }
    async fn csat(&self) -> CsatInsights {
        let c = &self.0.csat;
        CsatInsights {
            rated: c.rated,
            satisfied: c.satisfied,
            satisfied_share: c.satisfied_share(),
            by_rating: (1..=5).map(|r| CsatRatingCount { rating: r, count: c.by_rating[(r - 1) as usize] }).collect(),
        }
    }
    /// The staff performance table, most tickets closed first.
    async fn staff(&self) -> Vec<StaffPerformance> {
        self.0
            .staff
            .iter()
            .map(|s| StaffPerformance {
                user_id: id(s.user_id.0),
                name: s.name.clone(),
                closed: s.closed,
                claimed: s.claimed,
                avg_first_response_minutes: s.avg_first_response_minutes(),
                avg_resolution_minutes: s.avg_resolution_minutes(),
                messages: s.messages,
                csat_rate: s.csat_rate(),
            })
            .collect()
    }
    /// The answer bot's metrics: no data yet (every field null), never zeros that look real.
    async fn bot(&self) -> BotInsights {
        BotInsights::default()
    }
}
