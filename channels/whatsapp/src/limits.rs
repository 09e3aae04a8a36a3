//! Throughput limits for sending, as token buckets.
//!
//! Meta's Cloud API takes up to 80 messages per second per business phone number (error 130429
//! beyond that), and about one message every 6 seconds to the same WhatsApp user, with bursts of
//! up to 45 messages borrowed from later (error 131056, the "pair rate limit"). See
//! <https://developers.facebook.com/docs/whatsapp/throughput> and the pair rate limit section of
//! <https://developers.facebook.com/docs/whatsapp/cloud-api/overview>.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Messages per second per business number.
pub const NUMBER_PER_SECOND: f64 = 80.0;
/// Burst to one recipient.
pub const RECIPIENT_BURST: f64 = 45.0;
/// Sustained rate to one recipient: one message per 6 seconds.
pub const RECIPIENT_PER_SECOND: f64 = 1.0 / 6.0;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key; a reservation may drive a bucket negative, which is the wait owed.
#[derive(Debug)]
pub struct Buckets {
    capacity: f64,
    per_second: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Buckets {
    /// Buckets holding `capacity` tokens, refilled at `per_second`.
    pub fn new(capacity: f64, per_second: f64) -> Buckets {
        Buckets { capacity, per_second, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `key` and says how long to wait before using it; `None` (nothing
    /// taken) when that wait would exceed `max_wait`.
    pub fn reserve(&self, key: &str, now: Instant, max_wait: Duration) -> Option<Duration> {
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        // Forget full buckets now and then, so one-off recipients do not accumulate.
        if map.len() > 10_000 {
            let full_after = self.capacity / self.per_second;
            map.retain(|_, b| now.duration_since(b.at).as_secs_f64() < full_after);
        }
        let b = map.entry(key.to_string()).or_insert(Bucket { tokens: self.capacity, at: now });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        let tokens = (b.tokens + elapsed * self.per_second).min(self.capacity);
        let wait = if tokens >= 1.0 { 0.0 } else { (1.0 - tokens) / self.per_second };
        let wait = Duration::from_secs_f64(wait);
        if wait > max_wait {
            return None;
        }
        b.tokens = tokens - 1.0;
        b.at = now;
        Some(wait)
    }
}

/// The two limits every send goes through.
#[derive(Debug)]
pub struct SendLimits {
    pub per_number: Buckets,
    pub per_recipient: Buckets,
}

impl Default for SendLimits {
    fn default() -> Self {
        SendLimits {
            per_number: Buckets::new(NUMBER_PER_SECOND, NUMBER_PER_SECOND),
            per_recipient: Buckets::new(RECIPIENT_BURST, RECIPIENT_PER_SECOND),
        }
    }
}

impl SendLimits {
    /// Waits for a slot to send from `number` to `recipient`; false when the recipient's slot
    /// is further away than `max_wait` (the caller retries later instead of holding a worker).
    pub async fn acquire(&self, number: &str, recipient: &str, max_wait: Duration) -> bool {
        let now = Instant::now();
        let Some(pair) = self.per_recipient.reserve(&format!("{number}:{recipient}"), now, max_wait) else {
            return false;
        };
        let numberwait = self.per_number.reserve(number, now, Duration::from_secs(3600)).unwrap_or_default();
        let wait = pair.max(numberwait);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recipient_gets_a_burst_then_one_message_per_six_seconds() {
        let b = Buckets::new(RECIPIENT_BURST, RECIPIENT_PER_SECOND);
        let t0 = Instant::now();
        for _ in 0..45 {
            assert_eq!(b.reserve("pn:491", t0, Duration::ZERO), Some(Duration::ZERO));
        }
        // The 46th must wait, and a caller that cannot wait gets nothing (and takes nothing).
        assert_eq!(b.reserve("pn:491", t0, Duration::from_secs(1)), None);
        let wait = b.reserve("pn:491", t0, Duration::from_secs(60)).unwrap();
        assert!((5.9..=6.1).contains(&wait.as_secs_f64()), "{wait:?}");
        // Another recipient is not affected.
        assert_eq!(b.reserve("pn:492", t0, Duration::ZERO), Some(Duration::ZERO));
    }

    #[test]
    fn a_number_sends_eighty_per_second() {
        let b = Buckets::new(NUMBER_PER_SECOND, NUMBER_PER_SECOND);
        let t0 = Instant::now();
        for _ in 0..80 {
            assert_eq!(b.reserve("pn", t0, Duration::ZERO), Some(Duration::ZERO));
        }
        let wait = b.reserve("pn", t0, Duration::from_secs(1)).unwrap();
        assert!((0.012..=0.013).contains(&wait.as_secs_f64()), "{wait:?}");
        assert_eq!(b.reserve("pn", t0 + Duration::from_secs(1), Duration::ZERO), Some(Duration::ZERO));
    }
}
