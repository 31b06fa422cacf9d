//! Prometheus metrics: reconciles, failures by category, reconcile duration and AWS calls by
//! service, operation and outcome. No object names as labels (bounded cardinality).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CategoryLabels {
    category: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AwsLabels {
    service: String,
    operation: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OrphanLabels {
    resource: String,
    action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AwsLatencyLabels {
    service: String,
    operation: String,
}

/// Shared handle to the operator's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    reconciles: Counter,
    failures: Family<CategoryLabels, Counter>,
    reconcile_duration: Histogram,
    aws_calls: Family<AwsLabels, Counter>,
    aws_duration: Family<AwsLatencyLabels, Histogram>,
    aws_budget_wait: Counter<f64, std::sync::atomic::AtomicU64>,
    orphans: Family<OrphanLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("lustre_operator");
        let reconciles = Counter::default();
        let failures = Family::<CategoryLabels, Counter>::default();
        let reconcile_duration = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        let aws_calls = Family::<AwsLabels, Counter>::default();
        let aws_duration = Family::<AwsLatencyLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 14))
        });
        registry.register("reconciles", "Reconciliations run", reconciles.clone());
        registry.register("reconcile_failures", "Failed reconciliations by error category", failures.clone());
        registry.register("reconcile_duration_seconds", "Time spent in one reconciliation", reconcile_duration.clone());
        registry.register(
            "aws_calls",
            "AWS API calls by service, operation and outcome (ok or the error code)",
            aws_calls.clone(),
        );
        registry.register("aws_call_duration_seconds", "AWS API call latency", aws_duration.clone());
        let aws_budget_wait = Counter::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "aws_budget_wait_seconds",
            "Time AWS calls waited for the call budgets (--aws-max-calls-per-second, and for CreateFileSystem --aws-max-creations-per-second)",
            aws_budget_wait.clone(),
        );
        let orphans = Family::<OrphanLabels, Counter>::default();
        registry.register(
            "orphans",
            "Resources the operator made whose LustreVolume is gone, by resource and what the sweep did (deleted or kept)",
            orphans.clone(),
        );
        Metrics {
            orphans,
            registry: Arc::new(Mutex::new(registry)),
            reconciles,
            failures,
            reconcile_duration,
            aws_calls,
            aws_duration,
            aws_budget_wait,
        }
    }

    pub fn aws_budget_waited(&self, waited: Duration) {
        self.aws_budget_wait.inc_by(waited.as_secs_f64());
    }

    /// The orphan sweep deleted (or kept) one `resource`.
    pub fn orphan(&self, resource: &str, action: &str) {
        self.orphans.get_or_create(&OrphanLabels { resource: resource.into(), action: action.into() }).inc();
    }

    pub fn reconciled(&self, took: Duration) {
        self.reconciles.inc();
        self.reconcile_duration.observe(took.as_secs_f64());
    }

    pub fn failed(&self, category: &str) {
        self.failures.get_or_create(&CategoryLabels { category: category.to_string() }).inc();
    }

    pub fn aws_call(&self, service: &str, operation: &str, outcome: &str, took: Duration) {
        self.aws_calls
            .get_or_create(&AwsLabels { service: service.into(), operation: operation.into(), outcome: outcome.into() })
            .inc();
        self.aws_duration
            .get_or_create(&AwsLatencyLabels { service: service.into(), operation: operation.into() })
            .observe(took.as_secs_f64());
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        }
        out
    }
}
