//! AWS's time, as its answers give it (the `Date` header of every response). FSx's rules about
//! time (the 6 hours between two storage increases) are judged against the times FSx reports
//! (an administrative action's request time), so "now" must be FSx's clock, not this host's:
//! the offset between the two is kept from the latest answer, as the SDK does for clock skew.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use aws_sdk_fsx::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_fsx::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

/// Milliseconds to add to this host's clock to get AWS's (0 until an answer came).
#[derive(Debug, Default, Clone)]
pub struct ServerClock {
    offset_ms: Arc<AtomicI64>,
}

fn local_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl ServerClock {
    /// AWS's time now, in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        local_ms().saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Records the `Date` of an answer (whole seconds: an offset under a second is noise).
    pub(crate) fn observe(&self, date: &str) {
        let Ok(server) = DateTime::from_str(date, Format::HttpDate) else { return };
        let Ok(server_ms) = server.to_millis() else { return };
        let offset = server_ms - local_ms();
        let offset = if offset.abs() < 1000 { 0 } else { offset };
        self.offset_ms.store(offset, Ordering::Relaxed);
    }
}

impl Intercept for ServerClock {
    fn name(&self) -> &'static str {
        "ServerClock"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Some(date) = context.response().headers().get("date") {
            self.observe(date);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_time_follows_the_date_of_the_answers() {
        let clock = ServerClock::default();
        let before = clock.now_ms();
        assert!((before - local_ms()).abs() < 1000, "no answer yet: this host's time");
        // An answer six hours ahead (an emulator whose clock a test advanced).
        let ahead = DateTime::from_millis(local_ms() + 6 * 3600 * 1000).fmt(Format::HttpDate).expect("date");
        clock.observe(&ahead);
        let skew = clock.now_ms() - local_ms();
        assert!((6 * 3600 * 1000 - 2000..=6 * 3600 * 1000 + 1000).contains(&skew), "{skew}");
        clock.observe("not a date");
        assert!(clock.now_ms() - local_ms() > 3600 * 1000, "a bad header changes nothing");
    }
}
