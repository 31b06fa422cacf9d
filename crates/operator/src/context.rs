//! What every reconciliation shares: the clients, the file-system poller, metrics, events,
//! timing, per-volume backoff and the field manager / finalizer names. The steps depend on this
//! module; nothing here depends on a step or on the controller.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::Client;
use rand::Rng;

use crate::aws::Aws;
use crate::class_policy::ClassCache;
use crate::events::Events;
use crate::file_system_poller::FileSystemPoller;
use crate::metrics::Metrics;

/// The finalizer that runs the cleanup.
pub(crate) const FINALIZER: &str = "lustre.fsx.dev/cleanup";
/// The one field manager of every write.
pub(crate) const FIELD_MANAGER: &str = "lustre-operator";

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
    backoff: Mutex<HashMap<String, u32>>,
    /// When each volume's security group was last checked (it is re-checked once per resync).
    security_group_checked: Mutex<HashMap<String, Instant>>,
}

impl Context {
    /// Starts the class and namespace watches too (call it inside the runtime).
    pub fn new(client: Client, aws: Aws, poller: FileSystemPoller, metrics: Metrics, timing: Timing) -> Context {
        Context {
            events: Events::new(client.clone()),
            classes: ClassCache::start(&client),
            client,
            aws,
            poller,
            metrics,
            timing,
            backoff: Mutex::new(HashMap::new()),
            security_group_checked: Mutex::new(HashMap::new()),
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

    /// Whether the security group of `uid` was checked less than a resync period ago.
    pub(crate) fn security_group_fresh(&self, uid: &str) -> bool {
        let map = self.security_group_checked.lock().unwrap_or_else(|p| p.into_inner());
        map.get(uid).is_some_and(|t| t.elapsed() < self.timing.resync)
    }

    /// Records the outcome of a security-group check (a failed one is re-checked next time).
    pub(crate) fn security_group_checked(&self, uid: &str, ok: bool) {
        let mut map = self.security_group_checked.lock().unwrap_or_else(|p| p.into_inner());
        if ok {
            map.insert(uid.to_string(), Instant::now());
        } else {
            map.remove(uid);
        }
    }
}
