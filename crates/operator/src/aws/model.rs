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
    /// Its ARN (what TagResource names).
    pub(crate) arn: Option<String>,
    /// A PERSISTENT_1 or PERSISTENT_2 deployment.
    pub(crate) persistent: bool,
    /// Linked to S3 by ImportPath/ExportPath (FSx takes no backup of such a file system).
    pub(crate) s3_linked: bool,
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
    /// Every administrative action FSx reports (running and finished), oldest first.
    pub(crate) actions: Vec<AdminAction>,
    /// PerUnitStorageThroughput (persistent types).
    pub(crate) per_unit_storage_throughput: Option<i32>,
    /// DataCompressionType (NONE or LZ4).
    pub(crate) data_compression: Option<String>,
    pub(crate) weekly_maintenance_start_time: Option<String>,
    pub(crate) automatic_backup_retention_days: Option<i32>,
    /// HDD storage (its throughput cannot change).
    pub(crate) hdd: bool,
    /// The metadata configuration's mode and IOPS (PERSISTENT_2).
    pub(crate) metadata_mode: Option<String>,
    pub(crate) metadata_iops: Option<i32>,
    /// FileSystemTypeVersion ("2.10", "2.12", "2.15").
    pub(crate) lustre_version: Option<String>,
    /// The log configuration: (level, destination).
    pub(crate) log: Option<(String, Option<String>)>,
    /// The root squash configuration: (UID:GID, no-squash NIDs); None when FSx reports none.
    pub(crate) root_squash: Option<(String, Vec<String>)>,
    /// FSx's CreationTime, milliseconds since the epoch.
    pub(crate) created_at_ms: Option<i64>,
}

/// An UpdateFileSystem request: what changes (None: unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FileSystemUpdate {
    pub(crate) capacity_gib: Option<i32>,
    pub(crate) per_unit_storage_throughput: Option<i32>,
    pub(crate) data_compression: Option<String>,
    pub(crate) weekly_maintenance_start_time: Option<String>,
    pub(crate) automatic_backup_retention_days: Option<i32>,
    /// (mode, IOPS) of the metadata configuration.
    pub(crate) metadata: Option<(String, Option<i32>)>,
    /// (UID:GID, no-squash NIDs) of the root squash configuration.
    pub(crate) root_squash: Option<(String, Vec<String>)>,
    /// FileSystemTypeVersion to upgrade to.
    pub(crate) lustre_version: Option<String>,
    /// (level, destination) of the log configuration.
    pub(crate) log: Option<(String, Option<String>)>,
}

impl FileSystemUpdate {
    /// Settings FSx applies at once (everything but capacity and throughput).
    pub(crate) fn has_changes(&self) -> bool {
        *self != FileSystemUpdate::default()
    }

    /// A stable text of the values asked for (part of the request's idempotency token).
    pub(crate) fn fingerprint(&self) -> String {
        format!(
            "capacity={:?};throughput={:?};compression={:?};maintenance={:?};backups={:?};metadata={:?};squash={:?};version={:?};log={:?}",
            self.capacity_gib,
            self.per_unit_storage_throughput,
            self.data_compression,
            self.weekly_maintenance_start_time,
            self.automatic_backup_retention_days,
            self.metadata,
            self.root_squash,
            self.lustre_version,
            self.log
        )
    }
}

/// One administrative action of a file system, as FSx reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AdminAction {
    pub(crate) action_type: String,
    pub(crate) status: String,
    pub(crate) progress_percent: Option<i32>,
    /// When it was asked for, milliseconds since the epoch (FSx's clock).
    pub(crate) requested_at_ms: Option<i64>,
    /// The storage capacity it moves to, when it is a storage increase.
    pub(crate) target_capacity_gib: Option<i32>,
    /// The throughput it moves to, when it changes throughput.
    pub(crate) target_throughput: Option<i32>,
    /// The metadata IOPS it moves to, when it changes them.
    pub(crate) target_metadata_iops: Option<i32>,
}

impl AdminAction {
    /// Still running (FSx keeps finished ones in the list for a while).
    pub(crate) fn running(&self) -> bool {
        matches!(self.status.as_str(), "PENDING" | "IN_PROGRESS" | "UPDATED_OPTIMIZING")
    }
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
    /// (mode, IOPS) of the metadata configuration (PERSISTENT_2).
    pub(crate) metadata: Option<(String, Option<i32>)>,
    /// (UID:GID, no-squash NIDs) of the root squash configuration.
    pub(crate) root_squash: Option<(String, Vec<String>)>,
    /// (level, destination) of the log configuration.
    pub(crate) log: Option<(String, Option<String>)>,
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
    /// Its ARN (what TagResource names).
    pub(crate) arn: Option<String>,
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
    /// Inbound rules of every protocol and source, one per (protocol, ports, source).
    pub(crate) ingress: Vec<IngressRule>,
}

/// A subnet's VPC and CIDR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subnet {
    pub(crate) vpc_id: String,
    pub(crate) cidr: String,
}

/// A rule's IP protocol, as EC2 names it (`IpProtocol`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Protocol {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    /// `-1`: every protocol on every port.
    All,
    /// Another protocol number, as EC2 spelled it (EC2 opens all of its ports).
    Other(String),
}

impl Protocol {
    /// EC2 answers names for TCP, UDP, ICMP and ICMPv6, `-1` for all, and numbers for the rest;
    /// it accepts either spelling, so the numbers of the named ones read as the names.
    pub(crate) fn from_ec2(value: &str) -> Protocol {
        match value.to_ascii_lowercase().as_str() {
            "tcp" | "6" => Protocol::Tcp,
            "udp" | "17" => Protocol::Udp,
            "icmp" | "1" => Protocol::Icmp,
            "icmpv6" | "58" => Protocol::Icmpv6,
            "-1" => Protocol::All,
            _ => Protocol::Other(value.to_string()),
        }
    }

    /// EC2's own spelling (what Authorize/Revoke send).
    pub(crate) fn as_ec2(&self) -> &str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::Icmpv6 => "icmpv6",
            Protocol::All => "-1",
            Protocol::Other(s) => s,
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Protocol::All => f.write_str("all protocols"),
            Protocol::Other(n) => write!(f, "protocol {n}"),
            named => f.write_str(&named.as_ec2().to_ascii_uppercase()),
        }
    }
}

/// Where an inbound rule admits traffic from: one entry of an `IpPermission`'s source lists.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RuleSource {
    /// `UserIdGroupPairs[].GroupId`: a security group (this one, for self-referencing rules).
    Group(String),
    /// `IpRanges[].CidrIp`.
    Ipv4(String),
    /// `Ipv6Ranges[].CidrIpv6`.
    Ipv6(String),
    /// `PrefixListIds[].PrefixListId`.
    PrefixList(String),
}

impl RuleSource {
    /// A source by its written form: `sg-...` a group, `pl-...` a prefix list, a CIDR with `:`
    /// IPv6, any other an IPv4 CIDR (a spec's client groups and CIDRs read so).
    pub(crate) fn parse(value: &str) -> RuleSource {
        let value = value.to_string();
        if value.starts_with("sg-") {
            RuleSource::Group(value)
        } else if value.starts_with("pl-") {
            RuleSource::PrefixList(value)
        } else if value.contains(':') {
            RuleSource::Ipv6(value)
        } else {
            RuleSource::Ipv4(value)
        }
    }

    /// The group ID, CIDR or prefix-list ID.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            RuleSource::Group(s) | RuleSource::Ipv4(s) | RuleSource::Ipv6(s) | RuleSource::PrefixList(s) => s,
        }
    }

    /// The security group, if the source is one.
    pub(crate) fn group_id(&self) -> Option<&str> {
        match self {
            RuleSource::Group(id) => Some(id),
            _ => None,
        }
    }

    /// The IPv4 CIDR, if the source is one.
    pub(crate) fn ipv4_cidr(&self) -> Option<&str> {
        match self {
            RuleSource::Ipv4(cidr) => Some(cidr),
            _ => None,
        }
    }
}

impl std::fmt::Display for RuleSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One inbound rule as EC2 describes it: a protocol, its ports and one source. Revoking sends
/// back exactly this shape, since EC2 matches all three (`InvalidPermission.NotFound` otherwise).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct IngressRule {
    pub(crate) protocol: Protocol,
    /// `FromPort..=ToPort` (ICMP: type and code) as EC2 gave them; `None` when it gave none, as
    /// for all-protocol rules (every port).
    pub(crate) ports: Option<(i32, i32)>,
    pub(crate) source: RuleSource,
}

impl IngressRule {
    /// A rule from EC2 spellings: `protocol` as `IpProtocol`, `source` as [`RuleSource::parse`] reads it.
    #[cfg(test)]
    pub(crate) fn new(protocol: &str, ports: Option<(i32, i32)>, source: &str) -> IngressRule {
        IngressRule { protocol: Protocol::from_ec2(protocol), ports, source: RuleSource::parse(source) }
    }

    /// TCP ports `from..=to` from `source` (a group ID or a CIDR): the shape of every rule the
    /// operator adds.
    pub(crate) fn tcp(from: i32, to: i32, source: &str) -> IngressRule {
        IngressRule { protocol: Protocol::Tcp, ports: Some((from, to)), source: RuleSource::parse(source) }
    }

    /// Whether this rule admits TCP ports `from..=to` (from any source).
    pub(crate) fn admits_tcp(&self, from: i32, to: i32) -> bool {
        self.covers_traffic(&Protocol::Tcp, Some((from, to)))
    }

    /// Whether this rule admits at least what `wanted` asks: the same source, and either all
    /// protocols or the same protocol on a covering port range (a UDP rule never admits TCP).
    pub(crate) fn covers(&self, wanted: &IngressRule) -> bool {
        self.source == wanted.source && self.covers_traffic(&wanted.protocol, wanted.ports)
    }

    fn covers_traffic(&self, protocol: &Protocol, ports: Option<(i32, i32)>) -> bool {
        if self.protocol == Protocol::All {
            return true;
        }
        if &self.protocol != protocol {
            return false;
        }
        match (self.ports, ports) {
            // No ports on the rule: EC2 opens every port of the protocol.
            (None, _) => true,
            (Some(_), None) => false,
            (Some((from, to)), Some((want_from, want_to))) => from <= want_from && to >= want_to,
        }
    }
}

/// "TCP 988 from sg-1", "UDP 1018-1023 from 10.0.0.0/16", "all protocols from pl-1".
impl std::fmt::Display for IngressRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.protocol)?;
        match self.ports {
            Some((from, to)) if self.protocol != Protocol::All && from == to => write!(f, " {from}")?,
            Some((from, to)) if self.protocol != Protocol::All => write!(f, " {from}-{to}")?,
            _ => {}
        }
        write!(f, " from {}", self.source)
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
        let wide = IngressRule::tcp(0, 65535, "sg-a");
        let want = IngressRule::tcp(988, 988, "sg-a");
        assert!(wide.covers(&want));
        assert!(!want.covers(&wide));
        assert!(!IngressRule { source: RuleSource::Group("sg-b".into()), ..wide }.covers(&want));
    }

    #[test]
    fn coverage_by_protocol_ports_and_source() {
        let rule = IngressRule::new;
        let cidr = "10.0.0.0/16";
        let want = IngressRule::tcp(988, 988, cidr);
        let cases = [
            ("all protocols, no ports", rule("-1", None, cidr), true),
            ("all protocols, ports -1 as some tools send", rule("-1", Some((-1, -1)), cidr), true),
            ("all protocols from another CIDR", rule("-1", None, "10.1.0.0/16"), false),
            ("the same TCP rule", IngressRule::tcp(988, 988, cidr), true),
            ("TCP by number", rule("6", Some((988, 988)), cidr), true),
            ("a wider TCP range", IngressRule::tcp(900, 1000, cidr), true),
            ("a TCP range beside it", IngressRule::tcp(1018, 1023, cidr), false),
            ("UDP on the same port", rule("udp", Some((988, 988)), cidr), false),
            ("UDP on every port", rule("udp", Some((0, 65535)), cidr), false),
            ("ICMP", rule("icmp", Some((-1, -1)), cidr), false),
            ("a portless protocol number", rule("50", None, cidr), false),
            ("the same range from IPv6", rule("tcp", Some((988, 988)), "::/0"), false),
            ("the same range from a prefix list", rule("tcp", Some((988, 988)), "pl-1"), false),
            ("all protocols from a prefix list", rule("-1", None, "pl-1"), false),
        ];
        for (what, have, covers) in cases {
            assert_eq!(have.covers(&want), covers, "{what}: {have:?}");
        }
        assert!(rule("50", None, cidr).covers(&rule("50", None, cidr)), "a portless rule covers itself");
        assert!(rule("-1", None, cidr).admits_tcp(1018, 1023));
        assert!(!rule("udp", Some((0, 65535)), cidr).admits_tcp(988, 988));
    }

    #[test]
    fn protocols_read_as_ec2_spells_them() {
        let cases = [
            ("tcp", Protocol::Tcp, "tcp"),
            ("6", Protocol::Tcp, "tcp"),
            ("TCP", Protocol::Tcp, "tcp"),
            ("udp", Protocol::Udp, "udp"),
            ("17", Protocol::Udp, "udp"),
            ("icmp", Protocol::Icmp, "icmp"),
            ("icmpv6", Protocol::Icmpv6, "icmpv6"),
            ("58", Protocol::Icmpv6, "icmpv6"),
            ("-1", Protocol::All, "-1"),
            ("50", Protocol::Other("50".into()), "50"),
        ];
        for (ec2, parsed, sent) in cases {
            assert_eq!(Protocol::from_ec2(ec2), parsed, "{ec2}");
            assert_eq!(parsed.as_ec2(), sent, "{ec2}");
        }
    }

    #[test]
    fn rules_read_as_people_write_them() {
        let cases = [
            (IngressRule::tcp(988, 988, "sg-1"), "TCP 988 from sg-1"),
            (IngressRule::tcp(1018, 1023, "10.0.0.0/16"), "TCP 1018-1023 from 10.0.0.0/16"),
            (IngressRule::new("-1", None, "pl-1"), "all protocols from pl-1"),
            (IngressRule::new("udp", Some((988, 988)), "2001:db8::/32"), "UDP 988 from 2001:db8::/32"),
            (IngressRule::new("50", None, "10.0.0.0/8"), "protocol 50 from 10.0.0.0/8"),
        ];
        for (rule, text) in cases {
            assert_eq!(rule.to_string(), text);
        }
        let sources = [
            ("sg-9", RuleSource::Group("sg-9".into())),
            ("pl-63a5400a", RuleSource::PrefixList("pl-63a5400a".into())),
            ("10.0.0.0/8", RuleSource::Ipv4("10.0.0.0/8".into())),
            ("2001:db8::/32", RuleSource::Ipv6("2001:db8::/32".into())),
        ];
        for (written, parsed) in sources {
            assert_eq!(RuleSource::parse(written), parsed);
            assert_eq!(parsed.as_str(), written);
        }
    }
}
