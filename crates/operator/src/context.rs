//! What every reconciliation shares: the clients, the file-system poller, metrics, events,
//! timing, the namespace-limit reservations and per-volume backoff. The steps depend on this
//! module; nothing here depends on a step or on the controller.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::Client;
use rand::Rng;

use crate::aws::poller::FileSystemPoller;
use crate::aws::Aws;
use crate::class_policy::ClassCache;
use crate::process::events::Events;
use crate::process::metrics::Metrics;
use crate::quota::Ledger;

/// Timing knobs.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Full re-check of a stable volume (security-group rules, Kubernetes objects).
    pub resync: Duration,
    /// Safety requeue while something is changing (the poller usually wakes us first).
    pub in_transition: Duration,
    /// Between two DescribeDataRepositoryTasks of a running data task (tasks have no poller).
    pub task_poll: Duration,
}

/// The checks that are skipped between resyncs once they found everything in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Check {
    SecurityGroup,
    Associations,
}

/// Shared by every reconciliation.
pub struct Context {
    pub(crate) client: Client,
    pub(crate) aws: Aws,
    pub(crate) poller: FileSystemPoller,
    pub(crate) metrics: Metrics,
    pub(crate) events: Events,
    pub(crate) timing: Timing,
    /// Watch caches of LustreClasses and Namespaces.
    pub(crate) classes: ClassCache,
    /// The reservations of the classes' namespace limits (`quota`).
    pub(crate) quota: Ledger,
    backoff: Mutex<HashMap<String, u32>>,
    /// When each (check, volume UID) last found everything in order, and for which version of
    /// what it checked: such a check is skipped until the next resync (no AWS call).
    checked: Mutex<HashMap<(Check, String), (u64, Instant)>>,
}

impl Context {
    /// Starts the class and namespace watches too (call it inside the runtime).
    pub fn new(client: Client, aws: Aws, poller: FileSystemPoller, metrics: Metrics, timing: Timing) -> Context {
        let events = Events::new(client.clone());
        Context {
            classes: ClassCache::start(&client, events.clone()),
            quota: Ledger::new(),
            events,
            client,
            aws,
            poller,
            metrics,
            timing,
            backoff: Mutex::new(HashMap::new()),
            checked: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until the class and namespace caches have their first list (false: they stopped).
    pub async fn caches_synced(&self) -> bool {
        self.classes.wait_until_ready().await
    }

    /// Next delay for `key` after a failure: exponential from `base` up to `max`, with ±20% jitter.
    pub(crate) fn next_backoff(&self, key: &str, base: Duration, max: Duration) -> Duration {
        let mut map = self.backoff.lock().unwrap_or_else(|p| p.into_inner());
        let attempts = map.entry(key.to_string()).or_insert(0);
        let exp = base.saturating_mul(1u32 << (*attempts).min(16));
        *attempts += 1;
        let delay = exp.min(max);
        let jitter = rand::rng().random_range(0.8..1.2);
        delay.mul_f64(jitter)
    }

    pub(crate) fn reset_backoff(&self, key: &str) {
        self.backoff.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    /// Whether `check` of volume `uid` found everything in order less than a resync period ago,
    /// for the same `version` of what it checks.
    pub(crate) fn fresh(&self, check: Check, uid: &str, version: u64) -> bool {
        let map = self.checked.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(check, uid.to_string())).is_some_and(|(v, t)| *v == version && t.elapsed() < self.timing.resync)
    }

    /// Records the outcome of `check` (one not in order is checked again next time).
    pub(crate) fn checked(&self, check: Check, uid: &str, version: u64, in_order: bool) {
        let mut map = self.checked.lock().unwrap_or_else(|p| p.into_inner());
        if in_order {
            map.insert((check, uid.to_string()), (version, Instant::now()));
        } else {
            map.remove(&(check, uid.to_string()));
        }
    }

    /// Forgets every check of volume `uid` (it is gone).
    pub(crate) fn forget(&self, uid: &str) {
        let mut map = self.checked.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|(_, u), _| u != uid);
    }
}
