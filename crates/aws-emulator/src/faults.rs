//! Per-operation fault injection: error rates, latency, "apply then drop" and "apply then delay".

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// A fault armed for one operation (or `*` for every operation).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Fault {
    /// Probability 0..=1 that a call fails before it is applied.
    pub error_rate: f64,
    /// The code of that failure; default `ThrottlingException` (FSx) / `RequestLimitExceeded` (EC2).
    pub error_code: Option<String>,
    /// Added before the call is handled.
    #[serde(with = "duration_ms", rename = "latency_ms")]
    pub latency: Duration,
    /// Apply the call, then drop the connection so the client sees a failure.
    pub apply_then_drop: bool,
    /// Apply the call, then hold the response this long.
    #[serde(with = "opt_duration_ms", rename = "apply_then_delay_ms")]
    pub apply_then_delay: Option<Duration>,
    /// How many calls this fault affects before it disarms itself; `None` = until cleared.
    pub times: Option<u32>,
}

impl Fault {
    pub fn error(code: &str, rate: f64) -> Self {
        Fault { error_rate: rate, error_code: Some(code.to_string()), ..Fault::default() }
    }

    pub fn throttle(rate: f64) -> Self {
        Fault { error_rate: rate, ..Fault::default() }
    }

    pub fn latency(latency: Duration) -> Self {
        Fault { latency, ..Fault::default() }
    }

    pub fn drop_after_apply() -> Self {
        Fault { apply_then_drop: true, ..Fault::default() }
    }

    pub fn delay_after_apply(delay: Duration) -> Self {
        Fault { apply_then_delay: Some(delay), ..Fault::default() }
    }

    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }
}

/// What the server must do with one call.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FaultDecision {
    pub(crate) latency: Duration,
    pub(crate) error_code: Option<String>,
    pub(crate) drop_after_apply: bool,
    pub(crate) delay_after_apply: Option<Duration>,
}

#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    faults: BTreeMap<String, Fault>,
}

impl FaultTable {
    pub(crate) fn set(&mut self, operation: &str, fault: Fault) {
        self.faults.insert(operation.to_string(), fault);
    }

    pub(crate) fn clear(&mut self) {
        self.faults.clear();
    }

    pub(crate) fn list(&self) -> BTreeMap<String, Fault> {
        self.faults.clone()
    }

    /// Rolls the dice for one call; `default_error` is the service's throttling code.
    pub(crate) fn decide(&mut self, operation: &str, default_error: &str) -> FaultDecision {
        let key = if self.faults.contains_key(operation) { operation } else { "*" };
        let Some(fault) = self.faults.get_mut(key) else {
            return FaultDecision::default();
        };
        let rate = if fault.error_rate.is_finite() { fault.error_rate.clamp(0.0, 1.0) } else { 0.0 };
        let fails = rate > 0.0 && rand::rng().random_bool(rate);
        let decision = FaultDecision {
            latency: fault.latency,
            error_code: fails.then(|| fault.error_code.clone().unwrap_or_else(|| default_error.to_string())),
            drop_after_apply: !fails && fault.apply_then_drop,
            delay_after_apply: if fails { None } else { fault.apply_then_delay },
        };
        let triggered = decision != FaultDecision::default();
        if triggered {
            if let Some(times) = fault.times.as_mut() {
                *times = times.saturating_sub(1);
                if *times == 0 {
                    self.faults.remove(key);
                }
            }
        }
        decision
    }
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

mod opt_duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_disarms() {
        let mut table = FaultTable::default();
        table.set("CreateFileSystem", Fault::throttle(1.0).times(2));
        assert!(table.decide("CreateFileSystem", "ThrottlingException").error_code.is_some());
        assert!(table.decide("CreateFileSystem", "ThrottlingException").error_code.is_some());
        assert!(table.decide("CreateFileSystem", "ThrottlingException").error_code.is_none());
        assert!(table.decide("Other", "X").error_code.is_none());
    }

    #[test]
    fn json_shape() {
        let f: Fault = serde_json::from_str(r#"{"error_rate":0.5,"latency_ms":10,"apply_then_delay_ms":200}"#)
            .expect("valid fault JSON");
        assert_eq!(f.latency, Duration::from_millis(10));
        assert_eq!(f.apply_then_delay, Some(Duration::from_millis(200)));
    }
}
