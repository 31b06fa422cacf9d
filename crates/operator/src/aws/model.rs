//! The domain values the steps exchange with the AWS boundary. No SDK type appears here: the
//! steps build these from a LustreVolume and read them back, and `aws::fsx` / `aws::ec2` convert.

use std::collections::BTreeMap;

use lustre_api::{
    AssociationSpec, AutoImportPolicy, DataCompression, DeploymentType, DriveCacheType, LustreVersion, S3Event,
    StorageType,
};

/// An FSx file system's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Lifecycle {
    #[default]
    Creating,
    Available,
    Updating,
    Deleting,
    Failed,
    Misconfigured,
    MisconfiguredUnavailable,
    /// A value this operator does not know (FSx added one).
    Other(String),
}

impl Lifecycle {
    pub(crate) fn from_fsx(value: &str) -> Lifecycle {
        match value {
            "CREATING" => Lifecycle::Creating,
            "AVAILABLE" => Lifecycle::Available,
            "UPDATING" => Lifecycle::Updating,
            "DELETING" => Lifecycle::Deleting,
            "FAILED" => Lifecycle::Failed,
            "MISCONFIGURED" => Lifecycle::Misconfigured,
            "MISCONFIGURED_UNAVAILABLE" => Lifecycle::MisconfiguredUnavailable,
            other => Lifecycle::Other(other.to_string()),
        }
    }

    /// FSx's own spelling (also what status shows).
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Lifecycle::Creating => "CREATING",
            Lifecycle::Available => "AVAILABLE",
            Lifecycle::Updating => "UPDATING",
            Lifecycle::Deleting => "DELETING",
            Lifecycle::Failed => "FAILED",
            Lifecycle::Misconfigured => "MISCONFIGURED",
            Lifecycle::MisconfiguredUnavailable => "MISCONFIGURED_UNAVAILABLE",
            Lifecycle::Other(s) => s,
        }
    }

    /// Clients can mount the file system.
    pub(crate) fn is_mountable(&self) -> bool {
        matches!(self, Lifecycle::Available | Lifecycle::Updating)
    }
}

impl std::fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the operator needs to know about a file system.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct FileSystem {
    pub(crate) id: String,
    /// FSx file system type is LUSTRE (DescribeFileSystems by ID answers for every type).
    pub(crate) is_lustre: bool,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) dns_name: Option<String>,
    pub(crate) mount_name: Option<String>,
    pub(crate) capacity_gib: Option<i32>,
    pub(crate) failure: Option<String>,
    pub(crate) tags: BTreeMap<String, String>,
    /// Administrative actions in progress, as "TYPE STATUS PERCENT%".
    pub(crate) actions_in_progress: Vec<String>,
    /// FSx's CreationTime, milliseconds since the epoch.
    pub(crate) created_at_ms: Option<i64>,
}

impl FileSystem {
    /// Lifecycles in which the file system is still changing on its own.
    pub(crate) fn in_transition(&self) -> bool {
        matches!(
            self.lifecycle,
            Lifecycle::Creating | Lifecycle::Updating | Lifecycle::Deleting | Lifecycle::Misconfigured
        ) || !self.actions_in_progress.is_empty()
    }
}

/// A CreateFileSystem request, built from a LustreVolume by the file-system step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileSystemRequest {
    pub(crate) client_request_token: String,
    pub(crate) capacity_gib: i32,
    pub(crate) deployment_type: DeploymentType,
    pub(crate) storage_type: StorageType,
    pub(crate) per_unit_storage_throughput: Option<i32>,
    pub(crate) drive_cache_type: Option<DriveCacheType>,
    pub(crate) data_compression: Option<DataCompression>,
    pub(crate) lustre_version: LustreVersion,
    pub(crate) kms_key_id: Option<String>,
    pub(crate) weekly_maintenance_start_time: Option<String>,
    pub(crate) automatic_backup_retention_days: Option<i32>,
    pub(crate) import_path: Option<String>,
    pub(crate) export_path: Option<String>,
    pub(crate) auto_import_policy: Option<AutoImportPolicy>,
    pub(crate) subnet_id: String,
    pub(crate) security_group_ids: Vec<String>,
    pub(crate) tags: BTreeMap<String, String>,
}

/// A data repository association's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AssociationLifecycle {
    Creating,
    Available,
    Misconfigured,
    Updating,
    Deleting,
    Failed,
    /// A value this operator does not know (FSx added one), or none (empty).
    Other(String),
}

impl AssociationLifecycle {
    pub(crate) fn from_fsx(value: &str) -> AssociationLifecycle {
        match value {
            "CREATING" => AssociationLifecycle::Creating,
            "AVAILABLE" => AssociationLifecycle::Available,
            "MISCONFIGURED" => AssociationLifecycle::Misconfigured,
            "UPDATING" => AssociationLifecycle::Updating,
            "DELETING" => AssociationLifecycle::Deleting,
            "FAILED" => AssociationLifecycle::Failed,
            other => AssociationLifecycle::Other(other.to_string()),
        }
    }

    /// FSx's own spelling (also what status shows).
    pub(crate) fn as_str(&self) -> &str {
        match self {
            AssociationLifecycle::Creating => "CREATING",
            AssociationLifecycle::Available => "AVAILABLE",
            AssociationLifecycle::Misconfigured => "MISCONFIGURED",
            AssociationLifecycle::Updating => "UPDATING",
            AssociationLifecycle::Deleting => "DELETING",
            AssociationLifecycle::Failed => "FAILED",
            AssociationLifecycle::Other(s) => s,
        }
    }
}

/// No lifecycle in FSx's answer: empty, as the SDK's missing value was shown before.
impl Default for AssociationLifecycle {
    fn default() -> Self {
        AssociationLifecycle::Other(String::new())
    }
}

impl std::fmt::Display for AssociationLifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A data repository association as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Association {
    pub(crate) id: String,
    pub(crate) file_system_path: String,
    pub(crate) data_repository_path: String,
    pub(crate) lifecycle: AssociationLifecycle,
    pub(crate) imported_file_chunk_size: Option<i32>,
    pub(crate) import_events: Vec<S3Event>,
    pub(crate) export_events: Vec<S3Event>,
    pub(crate) failure: Option<String>,
    pub(crate) tags: BTreeMap<String, String>,
}

/// A CreateDataRepositoryAssociation request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AssociationRequest {
    pub(crate) client_request_token: String,
    pub(crate) file_system_id: String,
    pub(crate) spec: AssociationSpec,
    pub(crate) tags: BTreeMap<String, String>,
}

/// A data repository task's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TaskLifecycle {
    Pending,
    Executing,
    Succeeded,
    Failed,
    Canceling,
    Canceled,
    /// A value this operator does not know (FSx added one), or none (empty).
    Other(String),
}

impl TaskLifecycle {
    pub(crate) fn from_fsx(value: &str) -> TaskLifecycle {
        match value {
            "PENDING" => TaskLifecycle::Pending,
            "EXECUTING" => TaskLifecycle::Executing,
            "SUCCEEDED" => TaskLifecycle::Succeeded,
            "FAILED" => TaskLifecycle::Failed,
            "CANCELING" => TaskLifecycle::Canceling,
            "CANCELED" => TaskLifecycle::Canceled,
            other => TaskLifecycle::Other(other.to_string()),
        }
    }

    /// FSx's own spelling (also what status shows, and what DescribeDataRepositoryTasks filters on).
    pub(crate) fn as_str(&self) -> &str {
        match self {
            TaskLifecycle::Pending => "PENDING",
            TaskLifecycle::Executing => "EXECUTING",
            TaskLifecycle::Succeeded => "SUCCEEDED",
            TaskLifecycle::Failed => "FAILED",
            TaskLifecycle::Canceling => "CANCELING",
            TaskLifecycle::Canceled => "CANCELED",
            TaskLifecycle::Other(s) => s,
        }
    }

    /// PENDING, EXECUTING or CANCELING: FSx refuses another task and DeleteFileSystem.
    pub(crate) fn is_running(&self) -> bool {
        matches!(self, TaskLifecycle::Pending | TaskLifecycle::Executing | TaskLifecycle::Canceling)
    }
}

/// No lifecycle in FSx's answer: empty, as the SDK's missing value was shown before.
impl Default for TaskLifecycle {
    fn default() -> Self {
        TaskLifecycle::Other(String::new())
    }
}

impl std::fmt::Display for TaskLifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A data repository task as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Task {
    pub(crate) id: String,
    pub(crate) file_system_id: String,
    /// FSx's type: EXPORT_TO_REPOSITORY, IMPORT_METADATA_FROM_REPOSITORY, ...
    pub(crate) task_type: String,
    pub(crate) lifecycle: TaskLifecycle,
    pub(crate) total: Option<i64>,
    pub(crate) succeeded: Option<i64>,
    pub(crate) failed: Option<i64>,
    pub(crate) released_capacity: Option<i64>,
    /// Seconds since the epoch.
    pub(crate) start_time: Option<i64>,
    pub(crate) end_time: Option<i64>,
    pub(crate) failure: Option<String>,
    pub(crate) report_path: Option<String>,
    pub(crate) tags: BTreeMap<String, String>,
}

impl Task {
    /// PENDING or EXECUTING (or CANCELING): FSx refuses another task and DeleteFileSystem.
    pub(crate) fn is_running(&self) -> bool {
        self.lifecycle.is_running()
    }
}

/// A CreateDataRepositoryTask request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskRequest {
    pub(crate) client_request_token: String,
    pub(crate) file_system_id: String,
    /// FSx's type name.
    pub(crate) task_type: &'static str,
    pub(crate) paths: Vec<String>,
    /// None: no completion report.
    pub(crate) report_path: Option<String>,
    /// Release tasks: DurationSinceLastAccess in days.
    pub(crate) min_days_since_last_access: Option<i32>,
    pub(crate) tags: BTreeMap<String, String>,
}

/// A security group as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SecurityGroup {
    pub(crate) id: String,
    pub(crate) vpc_id: String,
    pub(crate) tags: BTreeMap<String, String>,
    /// Inbound TCP rules.
    pub(crate) ingress: Vec<IngressRule>,
}

/// A subnet's VPC and CIDR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subnet {
    pub(crate) vpc_id: String,
    pub(crate) cidr: String,
}

/// One inbound TCP rule: ports `from_port..=to_port` from `source` (a group ID or a CIDR).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct IngressRule {
    pub(crate) from_port: i32,
    pub(crate) to_port: i32,
    pub(crate) source: String,
}

impl IngressRule {
    /// Whether this rule admits at least what `wanted` asks (same source, covering port range).
    pub(crate) fn covers(&self, wanted: &IngressRule) -> bool {
        self.source == wanted.source && self.from_port <= wanted.from_port && self.to_port >= wanted.to_port
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_round_trips_fsx_spelling() {
        for s in
            ["CREATING", "AVAILABLE", "UPDATING", "DELETING", "FAILED", "MISCONFIGURED", "MISCONFIGURED_UNAVAILABLE"]
        {
            assert_eq!(Lifecycle::from_fsx(s).as_str(), s);
        }
        assert_eq!(Lifecycle::from_fsx("NEW_STATE"), Lifecycle::Other("NEW_STATE".into()));
        assert!(Lifecycle::Updating.is_mountable() && !Lifecycle::Creating.is_mountable());
    }

    #[test]
    fn association_lifecycle_round_trips_fsx_spelling() {
        for s in ["CREATING", "AVAILABLE", "MISCONFIGURED", "UPDATING", "DELETING", "FAILED"] {
            let parsed = AssociationLifecycle::from_fsx(s);
            assert!(!matches!(parsed, AssociationLifecycle::Other(_)), "{s} is known");
            assert_eq!(parsed.as_str(), s);
            assert_eq!(parsed.to_string(), s);
        }
        assert_eq!(AssociationLifecycle::from_fsx("NEW_STATE"), AssociationLifecycle::Other("NEW_STATE".into()));
        assert_eq!(AssociationLifecycle::from_fsx("NEW_STATE").as_str(), "NEW_STATE");
        assert_eq!(AssociationLifecycle::from_fsx("available"), AssociationLifecycle::Other("available".into()));
        assert_eq!(AssociationLifecycle::default().as_str(), "", "no lifecycle in the answer shows as empty");
        assert_eq!(AssociationLifecycle::from_fsx(""), AssociationLifecycle::default());
    }

    #[test]
    fn task_lifecycle_round_trips_fsx_spelling() {
        for s in ["PENDING", "EXECUTING", "SUCCEEDED", "FAILED", "CANCELING", "CANCELED"] {
            let parsed = TaskLifecycle::from_fsx(s);
            assert!(!matches!(parsed, TaskLifecycle::Other(_)), "{s} is known");
            assert_eq!(parsed.as_str(), s);
            assert_eq!(parsed.to_string(), s);
        }
        assert_eq!(TaskLifecycle::from_fsx("PAUSED"), TaskLifecycle::Other("PAUSED".into()));
        assert_eq!(TaskLifecycle::from_fsx("PAUSED").as_str(), "PAUSED");
        assert_eq!(TaskLifecycle::default().as_str(), "", "no lifecycle in the answer shows as empty");
        assert_eq!(TaskLifecycle::from_fsx(""), TaskLifecycle::default());
    }

    #[test]
    fn running_tasks_are_pending_executing_or_canceling() {
        for (s, running) in [
            ("PENDING", true),
            ("EXECUTING", true),
            ("CANCELING", true),
            ("SUCCEEDED", false),
            ("FAILED", false),
            ("CANCELED", false),
            ("PAUSED", false),
            ("", false),
        ] {
            let task = Task { lifecycle: TaskLifecycle::from_fsx(s), ..Default::default() };
            assert_eq!(task.is_running(), running, "{s}");
        }
    }

    #[test]
    fn rule_coverage_needs_same_source_and_a_wider_range() {
        let wide = IngressRule { from_port: 0, to_port: 65535, source: "sg-a".into() };
        let want = IngressRule { from_port: 988, to_port: 988, source: "sg-a".into() };
        assert!(wide.covers(&want));
        assert!(!want.covers(&wide));
        assert!(!IngressRule { source: "sg-b".into(), ..wide }.covers(&want));
    }
}
