//! The operator's budget of AWS calls per second: a token bucket every call takes a token from
//! before it is sent. The SDK's own retries are off (the controller retries, with backoff per
//! volume), so the budget bounds every request the operator makes, retries included.

use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Bucket {
    /// Tokens left; negative while callers wait for reserved tokens.
    tokens: f64,
    refilled: Instant,
}

/// At most `rate` calls per second on average, `rate` at once at most (the bucket's size).
pub struct CallBudget {
    rate: f64,
    bucket: Mutex<Bucket>,
}

impl CallBudget {
    /// `None` for 0: no budget.
    pub fn per_second(rate: u32) -> Option<CallBudget> {
        (rate > 0).then(|| CallBudget {
            rate: f64::from(rate),
            bucket: Mutex::new(Bucket { tokens: f64::from(rate), refilled: Instant::now() }),
        })
    }

    /// Reserves one call and returns how long the caller must wait before making it.
    fn reserve(&self, now: Instant) -> Duration {
        let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        let earned = now.saturating_duration_since(b.refilled).as_secs_f64() * self.rate;
        b.tokens = (b.tokens + earned).min(self.rate);
        b.refilled = now;
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / self.rate)
        }
    }

    /// Waits until the call fits in the budget; returns how long it waited.
    pub async fn take(&self) -> Duration {
        let wait = self.reserve(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_the_rate_passes_then_calls_are_spaced_by_one_over_the_rate() {
        let budget = CallBudget::per_second(10).expect("a budget");
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(budget.reserve(t0), Duration::ZERO);
        }
        // The 11th to 15th calls at the same instant wait 0.1 s more each.
        let waits: Vec<u128> = (0..5).map(|_| budget.reserve(t0).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 300, 400, 500]);
        // After a full second idle the bucket is full again (never more than its size).
        let later = t0 + Duration::from_secs(3);
        for _ in 0..10 {
            assert_eq!(budget.reserve(later), Duration::ZERO);
        }
        assert!(budget.reserve(later) > Duration::ZERO);
        assert!(CallBudget::per_second(0).is_none(), "0 means no budget");
    }

    #[test]
    fn over_any_window_the_calls_stay_within_the_budget() {
        // 1000 callers arriving at once at 20 calls per second: the i-th may go at
        // max(0, (i - 20 + 1) / 20) s, so any 1 s window holds at most 20 + 20 calls... and the
        // long-run rate is 20 per second.
        let budget = CallBudget::per_second(20).expect("a budget");
        let t0 = Instant::now();
        let starts: Vec<f64> = (0..1000).map(|_| budget.reserve(t0).as_secs_f64()).collect();
        let last = starts.last().copied().unwrap_or_default();
        assert!((last - (1000.0 - 20.0) / 20.0).abs() < 1e-6, "{last}");
        for w in 0..50 {
            let (from, to) = (w as f64, w as f64 + 1.0);
            let in_window = starts.iter().filter(|s| **s >= from && **s < to).count();
            assert!(in_window <= 40, "window {w}: {in_window}");
        }
    }
}
