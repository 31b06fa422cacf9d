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

/// A data repository association as the operator sees it.
#[allow(dead_code)] // used by the association step (being written on main)
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Association {
    pub(crate) id: String,
    pub(crate) file_system_path: String,
    pub(crate) data_repository_path: String,
    /// FSx's spelling: CREATING, AVAILABLE, UPDATING, MISCONFIGURED, DELETING, FAILED.
    pub(crate) lifecycle: String,
    pub(crate) imported_file_chunk_size: Option<i32>,
    pub(crate) import_events: Vec<S3Event>,
    pub(crate) export_events: Vec<S3Event>,
    pub(crate) failure: Option<String>,
    pub(crate) tags: BTreeMap<String, String>,
}

/// A CreateDataRepositoryAssociation request.
#[allow(dead_code)] // used by the association step (being written on main)
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AssociationRequest {
    pub(crate) client_request_token: String,
    pub(crate) file_system_id: String,
    pub(crate) spec: AssociationSpec,
    pub(crate) tags: BTreeMap<String, String>,
}

/// A data repository task as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Task {
    pub(crate) id: String,
    pub(crate) file_system_id: String,
    /// FSx's type: EXPORT_TO_REPOSITORY, IMPORT_METADATA_FROM_REPOSITORY, ...
    pub(crate) task_type: String,
    /// FSx's spelling: PENDING, EXECUTING, SUCCEEDED, FAILED, CANCELING, CANCELED.
    pub(crate) lifecycle: String,
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
    #[allow(dead_code)] // for DeleteFileSystem while a task runs (being written on main)
    pub(crate) fn is_running(&self) -> bool {
        matches!(self.lifecycle.as_str(), "PENDING" | "EXECUTING" | "CANCELING")
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
    fn rule_coverage_needs_same_source_and_a_wider_range() {
        let wide = IngressRule { from_port: 0, to_port: 65535, source: "sg-a".into() };
        let want = IngressRule { from_port: 988, to_port: 988, source: "sg-a".into() };
        assert!(wide.covers(&want));
        assert!(!want.covers(&wide));
        assert!(!IngressRule { source: "sg-b".into(), ..wide }.covers(&want));
    }
}
