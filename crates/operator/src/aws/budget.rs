//! The operator's budget of AWS calls per second: a token bucket every call takes a token from
//! before it is sent. The SDK's own retries are off (the controller retries, with backoff per
//! volume), so the budget bounds every request the operator makes, retries included.
//!
//! Calls that wait are served in two queues, the first before the second. The first holds only
//! the file-system poller's looks at creations that may have finished (and at IDs it has not
//! seen yet): a burst of a thousand new volumes queues three thousand calls, and the look that
//! finds the first file systems AVAILABLE must not wait behind all of them. Everything else
//! waits in order in the second (lookups that share a call keep gathering while they wait).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

/// Which queue a call waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// The poller's looks at creations: served first.
    Read = 0,
    /// Everything else, in order.
    Change = 1,
}

struct State {
    /// Tokens in the bucket (at most `rate`).
    tokens: f64,
    refilled: Instant,
    /// Callers waiting for a token, by priority.
    waiting: [VecDeque<oneshot::Sender<()>>; 2],
    /// A task hands out tokens to the waiting callers.
    dispensing: bool,
}

impl State {
    fn refill(&mut self, rate: f64) {
        let now = Instant::now();
        let earned = now.saturating_duration_since(self.refilled).as_secs_f64() * rate;
        self.tokens = (self.tokens + earned).min(rate);
        self.refilled = now;
    }

    fn anyone_waiting(&self) -> bool {
        self.waiting.iter().any(|q| !q.is_empty())
    }
}

/// At most `rate` calls per second on average, `rate` at once at most (the bucket's size).
pub struct CallBudget {
    rate: f64,
    state: Mutex<State>,
}

impl CallBudget {
    /// `None` for 0: no budget.
    pub fn per_second(rate: u32) -> Option<CallBudget> {
        (rate > 0).then(|| CallBudget {
            rate: f64::from(rate),
            state: Mutex::new(State {
                tokens: f64::from(rate),
                refilled: Instant::now(),
                waiting: [VecDeque::new(), VecDeque::new()],
                dispensing: false,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the call fits in the budget; returns how long it waited.
    pub async fn take(self: &Arc<Self>, priority: Priority) -> Duration {
        let start = Instant::now();
        let turn = {
            let mut s = self.lock();
            s.refill(self.rate);
            if !s.anyone_waiting() && s.tokens >= 1.0 {
                s.tokens -= 1.0;
                return Duration::ZERO;
            }
            let (tx, rx) = oneshot::channel();
            s.waiting[priority as usize].push_back(tx);
            if !s.dispensing {
                s.dispensing = true;
                tokio::spawn(self.clone().dispense());
            }
            rx
        };
        // A caller that gives up (its future dropped) leaves its token to the next one.
        let _ = turn.await;
        start.elapsed()
    }

    /// Hands a token to the first waiting caller, reads first, as the bucket refills; ends when
    /// nobody waits.
    async fn dispense(self: Arc<Self>) {
        loop {
            let wait = {
                let mut s = self.lock();
                s.refill(self.rate);
                while s.tokens >= 1.0 {
                    let next = match s.waiting[0].pop_front() {
                        Some(tx) => Some(tx),
                        None => s.waiting[1].pop_front(),
                    };
                    let Some(tx) = next else { break };
                    if tx.send(()).is_ok() {
                        s.tokens -= 1.0;
                    }
                }
                if !s.anyone_waiting() {
                    s.dispensing = false;
                    return;
                }
                Duration::from_secs_f64((1.0 - s.tokens).max(0.0) / self.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts `n` callers of `priority` at once; each reports when (seconds from `t0`) it got
    /// its token.
    fn callers(
        budget: &Arc<CallBudget>,
        priority: Priority,
        n: usize,
        t0: Instant,
    ) -> Vec<tokio::task::JoinHandle<f64>> {
        (0..n)
            .map(|_| {
                let budget = budget.clone();
                tokio::spawn(async move {
                    budget.take(priority).await;
                    t0.elapsed().as_secs_f64()
                })
            })
            .collect()
    }

    async fn times(handles: Vec<tokio::task::JoinHandle<f64>>) -> Vec<f64> {
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.expect("caller"));
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_the_rate_passes_then_calls_are_spaced_by_one_over_the_rate() {
        let budget = Arc::new(CallBudget::per_second(10).expect("a budget"));
        let t0 = Instant::now();
        let burst = times(callers(&budget, Priority::Change, 10, t0)).await;
        assert!(burst.iter().all(|t| *t < 0.001), "{burst:?}");
        let more = times(callers(&budget, Priority::Change, 5, t0)).await;
        let ms: Vec<u64> = more.iter().map(|t| (t * 1000.0).round() as u64).collect();
        assert_eq!(ms, vec![100, 200, 300, 400, 500]);
        // After a long idle the bucket is full again, never more than its size.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let t1 = Instant::now();
        let again = times(callers(&budget, Priority::Change, 11, t1)).await;
        assert_eq!(again.iter().filter(|t| **t < 0.001).count(), 10, "{again:?}");
        assert!(CallBudget::per_second(0).is_none(), "0 means no budget");
    }

    #[tokio::test(start_paused = true)]
    async fn reads_go_before_changes_that_queued_earlier() {
        let budget = Arc::new(CallBudget::per_second(20).expect("a budget"));
        let t0 = Instant::now();
        // A thousand changes queue up (50 s of budget), then a read arrives.
        let changes = callers(&budget, Priority::Change, 1000, t0);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let read = times(callers(&budget, Priority::Read, 1, t0)).await;
        assert!(read[0] < 1.1, "the read waited {} s behind the changes", read[0]);
        let changes = times(changes).await;
        let last = changes.iter().copied().fold(0.0, f64::max);
        // 1000 changes + 1 read at 20 per second after a burst of 20.
        assert!((last - (1001.0 - 20.0) / 20.0).abs() < 0.01, "{last}");
    }

    #[tokio::test(start_paused = true)]
    async fn over_any_window_the_calls_stay_within_the_budget() {
        let budget = Arc::new(CallBudget::per_second(20).expect("a budget"));
        let t0 = Instant::now();
        let mut handles = callers(&budget, Priority::Change, 600, t0);
        handles.extend(callers(&budget, Priority::Read, 400, t0));
        let starts = times(handles).await;
        for w in 0..50 {
            let (from, to) = (w as f64, w as f64 + 1.0);
            let in_window = starts.iter().filter(|s| **s >= from && **s < to).count();
            // The burst of 20 plus 20 a second.
            assert!(in_window <= 40, "window {w}: {in_window}");
        }
        let last = starts.iter().copied().fold(0.0, f64::max);
        assert!((last - (1000.0 - 20.0) / 20.0).abs() < 0.01, "{last}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_that_gives_up_leaves_its_token_to_the_next() {
        let budget = Arc::new(CallBudget::per_second(1).expect("a budget"));
        let t0 = Instant::now();
        budget.take(Priority::Change).await; // the bucket's one token
        let gives_up = {
            let budget = budget.clone();
            tokio::spawn(
                async move { tokio::time::timeout(Duration::from_millis(10), budget.take(Priority::Read)).await },
            )
        };
        assert!(gives_up.await.expect("task").is_err(), "timed out");
        let next = times(callers(&budget, Priority::Change, 1, t0)).await;
        assert!((next[0] - 1.0).abs() < 0.01, "{next:?}");
    }
}
