//! The emulator clock: real elapsed time, scaled, that tests can pause and advance.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// The clock never runs more than 100 years past its origin, so date arithmetic cannot overflow.
const MAX_ELAPSED: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A std duration as a chrono one, clamped to 100 years so date arithmetic cannot overflow.
pub(crate) fn span(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d.min(MAX_ELAPSED)).unwrap_or(chrono::Duration::zero())
}

#[derive(Debug)]
struct Inner {
    anchor_real: Instant,
    anchor_elapsed: Duration,
    paused: bool,
}

/// Emulated time = `origin` + elapsed, where elapsed grows with real time (times `scale`) unless
/// paused, and jumps forward on `advance`.
#[derive(Debug)]
pub(crate) struct Clock {
    origin: DateTime<Utc>,
    scale: f64,
    inner: Mutex<Inner>,
}

impl Clock {
    pub(crate) fn new(origin: DateTime<Utc>, scale: f64) -> Self {
        let scale = if scale.is_finite() && scale > 0.0 { scale } else { 1.0 };
        Clock {
            origin,
            scale,
            inner: Mutex::new(Inner { anchor_real: Instant::now(), anchor_elapsed: Duration::ZERO, paused: false }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn elapsed_of(&self, inner: &Inner) -> Duration {
        let elapsed = if inner.paused {
            inner.anchor_elapsed
        } else {
            inner.anchor_elapsed.saturating_add(
                Duration::try_from_secs_f64(inner.anchor_real.elapsed().as_secs_f64() * self.scale)
                    .unwrap_or(MAX_ELAPSED),
            )
        };
        elapsed.min(MAX_ELAPSED)
    }

    /// The current emulated time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let inner = self.lock();
        let elapsed = self.elapsed_of(&inner);
        self.origin + span(elapsed)
    }

    pub(crate) fn pause(&self) {
        let mut inner = self.lock();
        if !inner.paused {
            inner.anchor_elapsed = self.elapsed_of(&inner);
            inner.paused = true;
        }
    }

    pub(crate) fn resume(&self) {
        let mut inner = self.lock();
        if inner.paused {
            inner.anchor_real = Instant::now();
            inner.paused = false;
        }
    }

    pub(crate) fn advance(&self, by: Duration) {
        let mut inner = self.lock();
        let elapsed = self.elapsed_of(&inner);
        inner.anchor_elapsed = elapsed.saturating_add(by).min(MAX_ELAPSED);
        inner.anchor_real = Instant::now();
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.lock().paused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_and_advance() {
        let clock = Clock::new(Utc::now(), 1.0);
        clock.pause();
        let t0 = clock.now();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::from_secs(60));
        assert_eq!(clock.now() - t0, chrono::Duration::seconds(60));
        clock.resume();
        assert!(clock.now() >= t0 + chrono::Duration::seconds(60));
    }
}
