//! The call counter: how many calls each (service, operation, outcome) saw.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One counter row. `outcome` is "ok" or the error code returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCount {
    pub service: String,
    pub operation: String,
    pub outcome: String,
    pub count: u64,
}

/// A snapshot of the call counter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLog {
    pub calls: Vec<CallCount>,
}

impl CallLog {
    /// Calls of `operation` on `service` ("fsx" or "ec2"), all outcomes.
    pub fn count(&self, service: &str, operation: &str) -> u64 {
        self.calls.iter().filter(|c| c.service == service && c.operation == operation).map(|c| c.count).sum()
    }

    pub fn count_outcome(&self, service: &str, operation: &str, outcome: &str) -> u64 {
        self.calls
            .iter()
            .filter(|c| c.service == service && c.operation == operation && c.outcome == outcome)
            .map(|c| c.count)
            .sum()
    }

    pub fn service_total(&self, service: &str) -> u64 {
        self.calls.iter().filter(|c| c.service == service).map(|c| c.count).sum()
    }

    pub fn total(&self) -> u64 {
        self.calls.iter().map(|c| c.count).sum()
    }
}

#[derive(Debug, Default)]
pub(crate) struct CallCounter {
    counts: BTreeMap<(String, String, String), u64>,
}

impl CallCounter {
    pub(crate) fn record(&mut self, service: &str, operation: &str, outcome: &str) {
        *self.counts.entry((service.to_string(), operation.to_string(), outcome.to_string())).or_default() += 1;
    }

    pub(crate) fn snapshot(&self) -> CallLog {
        CallLog {
            calls: self
                .counts
                .iter()
                .map(|((service, operation, outcome), count)| CallCount {
                    service: service.clone(),
                    operation: operation.clone(),
                    outcome: outcome.clone(),
                    count: *count,
                })
                .collect(),
        }
    }

    pub(crate) fn reset(&mut self) {
        self.counts.clear();
    }
}
