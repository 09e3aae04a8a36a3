//! Manager alerts: when support metrics need a manager's attention.
//!
//! Each alert is a condition over counts the store provides. An alert notifies when its
//! condition starts holding and stays quiet while it keeps holding, so a queue that stays deep
//! does not page managers every minute; once the condition clears, the next crossing notifies
//! again.

use crate::{Millis, NotificationKind};

/// Fewer ratings than this in either week make a satisfaction share too noisy to compare.
pub const MIN_RATINGS_FOR_CSAT_ALERT: i64 = 5;

/// The satisfaction comparison window: this week against the week before.
pub const CSAT_WINDOW_MS: Millis = 7 * 24 * 3_600_000;

/// One manager alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagerAlert {
    /// Unassigned or escalated tickets exceed the threshold.
    QueueDepth,
    /// The satisfied share of ratings dropped by the threshold in points.
    CsatDrop,
    /// Escalations within the window exceed the threshold.
    EscalationSpike,
}

impl ManagerAlert {
    /// The notification kind; its spelling is also the stored alert name.
    pub fn kind(self) -> NotificationKind {
        match self {
            ManagerAlert::QueueDepth => NotificationKind::QueueDepth,
            ManagerAlert::CsatDrop => NotificationKind::CsatDrop,
            ManagerAlert::EscalationSpike => NotificationKind::EscalationSpike,
        }
    }
}

/// Ratings in a window: how many, and how many were satisfied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RatingCounts {
    pub total: i64,
    pub satisfied: i64,
}

impl RatingCounts {
    /// The satisfied share in whole percent; `None` below the minimum sample.
    pub fn satisfied_percent(self) -> Option<i64> {
        (self.total >= MIN_RATINGS_FOR_CSAT_ALERT).then(|| self.satisfied * 100 / self.total)
    }
}

/// The satisfied share fell by at least `drop_points` from `before` to `now`: both shares, in
/// percent, or `None` when it did not (or either week has too few ratings to say).
pub fn csat_drop(before: RatingCounts, now: RatingCounts, drop_points: i64) -> Option<(i64, i64)> {
    let (was, is) = (before.satisfied_percent()?, now.satisfied_percent()?);
    (was - is >= drop_points.max(1)).then_some((was, is))
}

/// What to do with an alert given whether it was raised and whether its condition holds now:
/// `Some(true)` raise (and notify), `Some(false)` clear, `None` leave as it is.
pub fn alert_transition(raised: bool, holds: bool) -> Option<bool> {
    (raised != holds).then_some(holds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(total: i64, satisfied: i64) -> RatingCounts {
        RatingCounts { total, satisfied }
    }

    #[test]
    fn a_drop_of_the_threshold_or_more_alerts() {
        assert_eq!(csat_drop(counts(10, 9), counts(10, 7), 20), Some((90, 70)));
        assert_eq!(csat_drop(counts(10, 9), counts(10, 8), 20), None, "10 points is under 20");
        assert_eq!(csat_drop(counts(10, 7), counts(10, 9), 20), None, "a rise is no drop");
    }

    #[test]
    fn too_few_ratings_never_alert() {
        assert_eq!(csat_drop(counts(4, 4), counts(10, 0), 10), None);
        assert_eq!(csat_drop(counts(10, 10), counts(4, 0), 10), None);
        assert_eq!(counts(4, 4).satisfied_percent(), None);
        assert_eq!(counts(5, 4).satisfied_percent(), Some(80));
    }

    #[test]
    fn alerts_notify_on_the_crossing_only() {
        assert_eq!(alert_transition(false, true), Some(true), "starts holding: raise");
        assert_eq!(alert_transition(true, true), None, "still holding: stay quiet");
        assert_eq!(alert_transition(true, false), Some(false), "cleared: re-arm");
        assert_eq!(alert_transition(false, false), None);
    }
}
