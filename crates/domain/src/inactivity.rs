//! Proactive follow-ups and inactivity auto-close: what a quiet ticket is due for.

use crate::Millis;

const HOUR: Millis = 3_600_000;
const DAY: Millis = 24 * HOUR;

/// A workspace's inactivity auto-close settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InactivityPolicy {
    /// Close after this many days without activity.
    pub close_after_days: i64,
    /// Warn the requester this many days before closing.
    pub warn_days_before: Option<i64>,
    /// Escalated tickets get this longer period instead.
    pub escalated_close_after_days: Option<i64>,
}

/// What a quiet ticket is due for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InactivityStep {
    /// Tell the requester the ticket closes at `closes_at` unless they reply.
    Warn { closes_at: Millis },
    /// Close it as unresponsive.
    Close,
}

impl InactivityPolicy {
    /// The step due for a ticket last active at `last_activity` (and warned at `warned_at`, if
    /// ever), or none. A warning is given once per quiet spell: a warning older than the last
    /// activity no longer counts.
    pub fn step(
        &self,
        now: Millis,
        last_activity: Millis,
        escalated: bool,
        warned_at: Option<Millis>,
    ) -> Option<InactivityStep> {
        let days = match (escalated, self.escalated_close_after_days) {
            (true, Some(d)) => d.max(self.close_after_days),
            _ => self.close_after_days,
        };
        let closes_at = last_activity + days * DAY;
        if now >= closes_at {
            return Some(InactivityStep::Close);
        }
        let warned = warned_at.is_some_and(|w| w >= last_activity);
        match self.warn_days_before {
            Some(w) if w > 0 && !warned && now >= closes_at - w * DAY => Some(InactivityStep::Warn { closes_at }),
            _ => None,
        }
    }
}

/// True when an open ticket without messages for `stale_after_hours` is due its one follow-up
/// for this quiet spell.
pub fn is_stale(now: Millis, last_message_at: Millis, stale_after_hours: i64, nudged_at: Option<Millis>) -> bool {
    now >= last_message_at + stale_after_hours * HOUR && nudged_at.is_none_or(|n| n < last_message_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: InactivityPolicy =
        InactivityPolicy { close_after_days: 7, warn_days_before: Some(2), escalated_close_after_days: Some(14) };

    #[test]
    fn warns_before_closing_once_per_quiet_spell() {
        assert_eq!(POLICY.step(4 * DAY, 0, false, None), None);
        assert_eq!(POLICY.step(5 * DAY, 0, false, None), Some(InactivityStep::Warn { closes_at: 7 * DAY }));
        assert_eq!(POLICY.step(6 * DAY, 0, false, Some(5 * DAY)), None, "already warned");
        assert_eq!(POLICY.step(7 * DAY, 0, false, Some(5 * DAY)), Some(InactivityStep::Close));
        // The customer answered after the warning: a new spell, and the old warning does not count.
        assert_eq!(
            POLICY.step(11 * DAY, 6 * DAY, false, Some(5 * DAY)),
            Some(InactivityStep::Warn { closes_at: 13 * DAY })
        );
    }

    #[test]
    fn escalated_tickets_get_the_longer_period() {
        assert_eq!(POLICY.step(8 * DAY, 0, true, None), None);
        assert_eq!(POLICY.step(12 * DAY, 0, true, None), Some(InactivityStep::Warn { closes_at: 14 * DAY }));
        assert_eq!(POLICY.step(14 * DAY, 0, true, Some(12 * DAY)), Some(InactivityStep::Close));
        let no_warning = InactivityPolicy { warn_days_before: None, ..POLICY };
        assert_eq!(no_warning.step(6 * DAY, 0, false, None), None);
    }

    #[test]
    fn stale_once_per_quiet_spell() {
        assert!(!is_stale(23 * HOUR, 0, 24, None));
        assert!(is_stale(24 * HOUR, 0, 24, None));
        assert!(!is_stale(30 * HOUR, 0, 24, Some(24 * HOUR)));
        assert!(is_stale(60 * HOUR, 30 * HOUR, 24, Some(24 * HOUR)));
    }
}
