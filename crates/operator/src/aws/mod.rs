//! The whole AWS surface of the operator. The SDK clients are private to this module: steps hand
//! it domain values ([`FileSystemRequest`], IDs, [`IngressRule`]s) and get domain values back
//! ([`FileSystem`], [`SecurityGroup`], [`Subnet`]). Every call is one small function in
//! [`fsx`], [`data_repository`], [`ec2`] or [`security_group_lookup`] (lookups of many volumes' groups share calls), counted in the metrics by service, operation and outcome, and every
//! failure is classified from the SDK's error metadata into an [`ErrorKind`].

mod budget;
mod data_repository;
mod ec2;
mod fsx;
mod model;
pub mod poller;
mod security_group_lookup;
pub mod server_clock;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_fsx::error::{ProvideErrorMetadata, SdkError};

pub(crate) use model::{
    AdminAction, Association, AssociationLifecycle, AssociationRequest, FileSystem, FileSystemRequest,
    FileSystemUpdate, IngressRule, Lifecycle, SecurityGroup, Subnet, Task, TaskLifecycle, TaskRequest,
};

pub use budget::{CallBudget, Priority};

use crate::process::metrics::Metrics;

/// What the controller does about a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// AWS asked us to slow down: back off.
    Throttled,
    /// The request did not complete (network, timeout, 5xx): retry with backoff.
    Transient,
    /// The resource does not exist.
    NotFound,
    /// The resource exists or is in a state that conflicts with the request (duplicate,
    /// dependency, token reused with other parameters, a task running).
    Conflict,
    /// AWS refused the request as such; the code and message say why.
    Terminal,
}

/// An AWS call that failed: what kind of failure, AWS's error code and its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {code}: {message}")]
pub struct AwsError {
    pub(crate) operation: &'static str,
    pub(crate) kind: ErrorKind,
    /// AWS's error code, or the SDK's failure kind when the request never got an answer.
    pub(crate) code: String,
    pub(crate) message: String,
}

impl AwsError {
    pub(crate) fn is(&self, code: &str) -> bool {
        self.code == code
    }

    pub(crate) fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    /// Whether retrying the same call later may succeed on its own.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::Throttled | ErrorKind::Transient)
    }
}

/// Classifies an AWS error code (and the HTTP status it came with).
pub(crate) fn classify(code: &str, http_status: Option<u16>) -> ErrorKind {
    match code {
        "ThrottlingException"
        | "Throttling"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "RequestThrottled"
        | "SlowDown" => ErrorKind::Throttled,
        "InternalServerError" | "InternalError" | "InternalFailure" | "ServiceUnavailable" | "Unavailable" => {
            ErrorKind::Transient
        }
        "InvalidGroup.Duplicate"
        | "InvalidPermission.Duplicate"
        | "DependencyViolation"
        | "IncompatibleParameterError"
        | "DataRepositoryTaskExecuting"
        | "BackupInProgress" => ErrorKind::Conflict,
        c if c.ends_with("NotFound") || c.ends_with(".NotFound") => ErrorKind::NotFound,
        _ if http_status.is_some_and(|s| s >= 500) => ErrorKind::Transient,
        _ => ErrorKind::Terminal,
    }
}

/// Turns an SDK failure into an [`AwsError`], using the SDK's error variant and metadata only
/// (`refine` may reclassify a modelled service error from its typed fields).
fn from_sdk<E>(operation: &'static str, error: SdkError<E>, refine: fn(&E) -> Option<ErrorKind>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (kind, code) = match &error {
        SdkError::ConstructionFailure(_) => (ErrorKind::Terminal, "ConstructionFailure".to_string()),
        SdkError::TimeoutError(_) => (ErrorKind::Transient, "TimeoutError".to_string()),
        SdkError::DispatchFailure(_) => (ErrorKind::Transient, "DispatchFailure".to_string()),
        SdkError::ResponseError(_) => (ErrorKind::Transient, "ResponseError".to_string()),
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let refined = refine(service.err());
            match error.code() {
                Some(code) => (refined.unwrap_or_else(|| classify(code, Some(status))), code.to_string()),
                None => (refined.unwrap_or_else(|| classify("", Some(status))), format!("Http{status}")),
            }
        }
        _ => (ErrorKind::Transient, "Unknown".to_string()),
    };
    let message = error.message().map(str::to_string).unwrap_or_else(|| error_chain(&error));
    AwsError { operation, kind, code, message }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.join(": ")
}

/// FSx and EC2 clients, the call budget they share and the metrics they report to.
#[derive(Clone)]
pub struct Aws {
    fsx: aws_sdk_fsx::Client,
    ec2: aws_sdk_ec2::Client,
    metrics: Metrics,
    budget: Option<Arc<CallBudget>>,
    /// The budget of CreateFileSystem calls, taken before the shared one (`create_file_system`).
    creations: Option<Arc<CallBudget>>,
    /// Subnets never change their VPC or CIDR: each is described once.
    subnets: Arc<Mutex<HashMap<String, Subnet>>>,
    /// Taken while a subnet not yet known is described, so that it is described once.
    subnet_misses: Arc<tokio::sync::Mutex<()>>,
    /// Lookups of single security groups waiting to share a call.
    sg_lookups: Arc<security_group_lookup::Lookups>,
    /// AWS's time, from the `Date` of its answers.
    pub(crate) clock: server_clock::ServerClock,
}

impl Aws {
    /// `budget`: at most that many calls per second (None: no limit); `creations`: at most that
    /// many of them CreateFileSystem (None: no limit of their own). Give it an `SdkConfig` whose
    /// retries are off, so that the budget bounds every request.
    pub fn new(
        config: &aws_config::SdkConfig,
        metrics: Metrics,
        budget: Option<CallBudget>,
        creations: Option<CallBudget>,
    ) -> Aws {
        let clock = server_clock::ServerClock::default();
        let fsx = aws_sdk_fsx::config::Builder::from(config).interceptor(clock.clone()).build();
        let ec2 = aws_sdk_ec2::config::Builder::from(config).interceptor(clock.clone()).build();
        Aws {
            fsx: aws_sdk_fsx::Client::from_conf(fsx),
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
            clock,
            metrics,
            budget: budget.map(Arc::new),
            creations: creations.map(Arc::new),
            subnets: Arc::new(Mutex::new(HashMap::new())),
            subnet_misses: Arc::default(),
            sg_lookups: Arc::default(),
        }
    }

    /// Runs one SDK call, records it in the metrics and classifies its failure. `make` builds
    /// the call's future once the budget lets it go: a call waiting for its turn holds only its
    /// request, not the SDK's whole state machine (a thousand volumes wait at once).
    async fn call<T, E, F>(
        &self,
        service: &'static str,
        operation: &'static str,
        make: impl FnOnce() -> F,
    ) -> Result<T, AwsError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        F: Future<Output = Result<T, SdkError<E>>>,
    {
        self.call_refined(service, operation, Priority::Change, make, |_| None).await
    }

    /// Waits for a token of `budget` (None: no limit), and counts the wait in the metrics.
    async fn wait_for(&self, budget: Option<&Arc<CallBudget>>, priority: Priority) {
        if let Some(budget) = budget {
            let waited = budget.take(priority).await;
            if !waited.is_zero() {
                self.metrics.aws_budget_waited(waited);
            }
        }
    }

    /// [`call`](Self::call) waiting in the budget's `priority` queue, with `refine` looking at
    /// the typed service error first.
    async fn call_refined<T, E, F>(
        &self,
        service: &'static str,
        operation: &'static str,
        priority: Priority,
        make: impl FnOnce() -> F,
        refine: fn(&E) -> Option<ErrorKind>,
    ) -> Result<T, AwsError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        F: Future<Output = Result<T, SdkError<E>>>,
    {
        self.wait_for(self.budget.as_ref(), priority).await;
        let start = Instant::now();
        let result = Box::pin(make()).await;
        let elapsed = start.elapsed();
        match result {
            Ok(v) => {
                self.metrics.aws_call(service, operation, "ok", elapsed);
                Ok(v)
            }
            Err(e) => {
                let e = from_sdk(operation, e, refine);
                self.metrics.aws_call(service, operation, &e.code, elapsed);
                Err(e)
            }
        }
    }
}

/// The unmodified SDK clients pointed at an emulator, retries off and no budget: for unit tests
/// of code that calls AWS.
#[cfg(test)]
pub(crate) async fn against(emulator: &aws_emulator::Emulator) -> Aws {
    Aws::new(&test_sdk(emulator).await, crate::process::metrics::Metrics::new(), None, None)
}

#[cfg(test)]
async fn test_sdk(emulator: &aws_emulator::Emulator) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(emulator.endpoint())
        .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "static"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified_into_what_the_controller_acts_on() {
        assert_eq!(classify("ThrottlingException", Some(400)), ErrorKind::Throttled);
        assert_eq!(classify("RequestLimitExceeded", Some(503)), ErrorKind::Throttled);
        assert_eq!(classify("InternalServerError", Some(500)), ErrorKind::Transient);
        assert_eq!(classify("SomethingNew", Some(502)), ErrorKind::Transient);
        assert_eq!(classify("FileSystemNotFound", Some(400)), ErrorKind::NotFound);
        assert_eq!(classify("InvalidGroup.NotFound", Some(400)), ErrorKind::NotFound);
        assert_eq!(classify("DependencyViolation", Some(400)), ErrorKind::Conflict);
        assert_eq!(classify("IncompatibleParameterError", Some(400)), ErrorKind::Conflict);
        assert_eq!(classify("ServiceLimitExceeded", Some(400)), ErrorKind::Terminal);
        assert_eq!(classify("BadRequest", Some(400)), ErrorKind::Terminal);
    }

    #[tokio::test]
    async fn creations_have_a_budget_of_their_own_that_other_calls_do_not_wait_for() -> anyhow::Result<()> {
        let emulator = aws_emulator::Emulator::start(aws_emulator::EmulatorConfig::default()).await?;
        let seed = emulator.seed();
        // 2 creations a second (a bucket of 2), no budget for the rest.
        let aws = Aws::new(&test_sdk(&emulator).await, Metrics::new(), None, CallBudget::per_second(2));
        let request = |i: usize| FileSystemRequest {
            client_request_token: format!("token-{i}"),
            capacity_gib: 1200,
            deployment_type: Default::default(),
            storage_type: Default::default(),
            per_unit_storage_throughput: None,
            drive_cache_type: None,
            data_compression: None,
            lustre_version: Default::default(),
            metadata: None,
            root_squash: None,
            log: None,
            kms_key_id: None,
            weekly_maintenance_start_time: None,
            automatic_backup_retention_days: None,
            import_path: None,
            export_path: None,
            auto_import_policy: None,
            subnet_id: seed.subnet_ids[0].clone(),
            security_group_ids: vec![seed.default_security_group_id.clone()],
            tags: Default::default(),
        };
        let start = Instant::now();
        let creations = (0..6).map(|i| {
            let (aws, request) = (aws.clone(), request(i));
            async move { aws.create_file_system(&request).await.map(|_| start.elapsed()) }
        });
        let looks = (0..6).map(|_| {
            let aws = aws.clone();
            async move { aws.all_file_systems().await.map(|_| start.elapsed()) }
        });
        let (created, looked) =
            futures::future::join(futures::future::try_join_all(creations), futures::future::try_join_all(looks)).await;
        let mut created = created?;
        created.sort();
        // The bucket lets 2 go at once, then one every half second: the k-th creation (from 0)
        // is answered no sooner than (k - 1) / 2 s after the start.
        for (k, at) in created.iter().enumerate().skip(2) {
            let earliest = std::time::Duration::from_millis(500 * (k as u64 - 1));
            assert!(*at >= earliest, "creation {k} answered after {at:?}, before {earliest:?}");
        }
        // The looks did not queue behind the creations: all answered before the last creation.
        let last_creation = created.last().copied().unwrap_or_default();
        assert!(looked?.iter().all(|at| *at < last_creation), "looks waited for the creations' budget");
        assert_eq!(emulator.calls().count("fsx", "CreateFileSystem"), 6);
        Ok(())
    }

    #[test]
    fn sdk_failures_without_an_answer_are_transient() {
        let e: SdkError<aws_sdk_fsx::operation::describe_file_systems::DescribeFileSystemsError> =
            SdkError::timeout_error("took too long");
        let e = from_sdk("DescribeFileSystems", e, |_| None);
        assert_eq!((e.kind, e.code.as_str()), (ErrorKind::Transient, "TimeoutError"));
        assert!(e.is_retryable());
    }
}
