//! The resource model: every record the emulator keeps (VPCs, subnets, security groups and their
//! rules, network interfaces, file systems, data repository associations and tasks, idempotency
//! tokens) and the `State` that holds them all. The records that appear in the public
//! [`Inventory`](crate::Inventory) (`Seed`, `Vpc`, `Subnet`, `NetworkInterface`, `Tags`) are public.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub type Tags = BTreeMap<String, String>;

/// The records of one kind by ID. Cloning one is O(1) (the tree is shared until written), so the
/// all-or-nothing backup a mutating request takes (`Shared::mutate`) costs a path copy of the
/// records it writes, not a copy of the account.
pub(crate) type Table<V> = imbl::OrdMap<String, V>;

/// What `BTreeMap` offers and a [`Table`] lacks, written so that only the records that change are
/// copied out of a shared tree.
pub(crate) trait TableExt<V> {
    /// Keeps the records `keep` says yes to.
    fn retain(&mut self, keep: impl FnMut(&String, &V) -> bool);
    /// Runs `change` on every record `wants` picks (the others are left shared).
    fn update_where(&mut self, wants: impl FnMut(&V) -> bool, change: impl FnMut(&mut V));
}

/// The keys of the records `pick` says yes to (read first, written after: a write may copy).
fn keys_where<V: Clone>(table: &Table<V>, mut pick: impl FnMut(&String, &V) -> bool) -> Vec<String> {
    table.iter().filter(|(k, v)| pick(k, v)).map(|(k, _)| k.clone()).collect()
}

impl<V: Clone> TableExt<V> for Table<V> {
    fn retain(&mut self, mut keep: impl FnMut(&String, &V) -> bool) {
        for k in keys_where(self, |k, v| !keep(k, v)) {
            self.remove(&k);
        }
    }

    fn update_where(&mut self, mut wants: impl FnMut(&V) -> bool, mut change: impl FnMut(&mut V)) {
        for k in keys_where(self, |_, v| wants(v)) {
            if let Some(v) = self.get_mut(&k) {
                change(v);
            }
        }
    }
}

/// The seeded default network: deterministic IDs tests can rely on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seed {
    pub vpc_id: String,
    pub vpc_cidr: String,
    pub subnet_ids: Vec<String>,
    pub subnet_cidrs: Vec<String>,
    pub availability_zones: Vec<String>,
    pub default_security_group_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vpc {
    pub id: String,
    pub cidr: String,
    pub is_default: bool,
    pub tags: Tags,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub cidr: String,
    pub az: String,
    pub tags: Tags,
}

/// Where a rule admits traffic from: one entry of an IpPermission's `IpRanges`, `Groups`,
/// `Ipv6Ranges` or `PrefixListIds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RuleSource {
    /// An IPv4 CIDR (`CidrIp`).
    Cidr(String),
    Group(String),
    /// An IPv6 CIDR (`CidrIpv6`).
    Ipv6(String),
    /// A prefix list ID (`PrefixListId`).
    PrefixList(String),
}

/// One atomic security-group rule (one protocol/port range, one source).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SgRule {
    pub(crate) id: String,
    pub(crate) egress: bool,
    /// "tcp", "udp", "icmp", "icmpv6", "-1" or another protocol number ("50").
    pub(crate) protocol: String,
    /// -1 and -1 when the protocol has no ports ("-1" and numbered protocols: every port).
    pub(crate) from_port: i32,
    pub(crate) to_port: i32,
    pub(crate) source: RuleSource,
    pub(crate) description: Option<String>,
    pub(crate) added_at: DateTime<Utc>,
}

impl SgRule {
    pub(crate) fn same_permission(&self, other: &SgRule) -> bool {
        self.egress == other.egress
            && self.protocol == other.protocol
            && self.from_port == other.from_port
            && self.to_port == other.to_port
            && self.source == other.source
    }

    /// Whether EC2 shows ports for the rule's protocol (TCP, UDP, ICMP and ICMPv6 types and codes).
    pub(crate) fn has_ports(&self) -> bool {
        has_ports(&self.protocol)
    }

    pub(crate) fn admits_tcp_port(&self, port: i32) -> bool {
        !self.egress
            && (self.protocol == "-1" || (self.protocol == "tcp" && self.from_port <= port && port <= self.to_port))
    }
}

/// Whether a (normalised) protocol has ports: "-1" and numbered protocols open every port.
pub(crate) fn has_ports(protocol: &str) -> bool {
    matches!(protocol, "tcp" | "udp" | "icmp" | "icmpv6")
}

impl RuleSource {
    /// The CIDR, group ID or prefix-list ID.
    pub(crate) fn peer(&self) -> &str {
        match self {
            RuleSource::Cidr(s) | RuleSource::Group(s) | RuleSource::Ipv6(s) | RuleSource::PrefixList(s) => s,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SecurityGroup {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) vpc_id: String,
    pub(crate) tags: Tags,
    pub(crate) rules: Vec<SgRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkInterface {
    pub id: String,
    pub subnet_id: String,
    pub vpc_id: String,
    pub availability_zone: String,
    pub group_ids: Vec<String>,
    pub private_ip: String,
    pub description: String,
    pub file_system_id: Option<String>,
    pub tags: Tags,
}

/// One entry of a file system's `AdministrativeActions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AdminAction {
    /// FILE_SYSTEM_UPDATE, STORAGE_OPTIMIZATION, THROUGHPUT_OPTIMIZATION or IOPS_OPTIMIZATION.
    pub(crate) action_type: String,
    /// PENDING, IN_PROGRESS, UPDATED_OPTIMIZING, COMPLETED or FAILED, as `schedule` implies.
    pub(crate) status: String,
    pub(crate) progress_percent: Option<i64>,
    pub(crate) request_time: DateTime<Utc>,
    /// `TargetFileSystemValues` (FILE_SYSTEM_UPDATE only; empty for the optimizations).
    pub(crate) target: Map<String, Value>,
    /// `FailureDetails.Message` once FAILED.
    #[serde(default)]
    pub(crate) failure_message: Option<String>,
    /// When the status moves; `None` only in state files written before schedules existed
    /// (such an action completes at the next observation).
    #[serde(default)]
    pub(crate) schedule: Option<ActionSchedule>,
}

/// An administrative action's timeline: PENDING before `starts_at`, IN_PROGRESS until
/// `updated_at`, UPDATED_OPTIMIZING until `completes_at` (a FILE_SYSTEM_UPDATE whose optimization
/// still runs), COMPLETED from then on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ActionSchedule {
    pub(crate) starts_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) completes_at: DateTime<Utc>,
}

/// An update in flight; its values are applied (and UPDATING ends) when `done_at` passes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingUpdate {
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) done_at: DateTime<Utc>,
    pub(crate) storage_capacity: Option<i64>,
    pub(crate) throughput: Option<i64>,
    pub(crate) version: Option<String>,
    pub(crate) metadata: Option<Value>,
    /// INTELLIGENT_TIERING `ThroughputCapacity` (MBps).
    #[serde(default)]
    pub(crate) throughput_capacity: Option<i64>,
    /// INTELLIGENT_TIERING `DataReadCacheConfiguration`.
    #[serde(default)]
    pub(crate) read_cache: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FileSystem {
    pub(crate) id: String,
    pub(crate) owner_id: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) lifecycle: String,
    pub(crate) failure_message: Option<String>,
    pub(crate) storage_capacity: i64,
    pub(crate) storage_type: String,
    pub(crate) vpc_id: String,
    pub(crate) subnet_id: String,
    pub(crate) security_group_ids: Vec<String>,
    pub(crate) eni_ids: Vec<String>,
    pub(crate) dns_name: String,
    pub(crate) kms_key_id: Option<String>,
    pub(crate) version: String,
    pub(crate) deployment_type: String,
    pub(crate) throughput: Option<i64>,
    pub(crate) mount_name: String,
    /// The remaining LustreConfiguration members, as returned by DescribeFileSystems.
    pub(crate) lustre: Map<String, Value>,
    pub(crate) tags: Tags,
    pub(crate) admin_actions: Vec<AdminAction>,
    pub(crate) pending_update: Option<PendingUpdate>,
    pub(crate) deleting_since: Option<DateTime<Utc>>,
    /// When the last storage-capacity increase was requested (the 6 h window counts from it).
    pub(crate) last_storage_increase: Option<DateTime<Utc>>,
    /// When the last metadata IOPS increase was requested.
    #[serde(default)]
    pub(crate) last_metadata_increase: Option<DateTime<Utc>>,
}

impl FileSystem {
    /// Drops the update in flight (its values never apply) and fails its unfinished
    /// administrative actions with `message` as their `FailureDetails`.
    pub(crate) fn abort_update(&mut self, message: &str) {
        self.pending_update = None;
        for a in &mut self.admin_actions {
            if !matches!(a.status.as_str(), "COMPLETED" | "FAILED") {
                a.status = "FAILED".into();
                a.failure_message = Some(message.to_string());
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Association {
    pub(crate) id: String,
    pub(crate) file_system_id: String,
    pub(crate) lifecycle: String,
    pub(crate) file_system_path: String,
    pub(crate) data_repository_path: String,
    pub(crate) batch_import: bool,
    pub(crate) imported_file_chunk_size: i64,
    pub(crate) s3: Option<Value>,
    pub(crate) tags: Tags,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) changed_at: DateTime<Utc>,
    pub(crate) failure_message: Option<String>,
    /// Place in its file system's queue: FSx processes one CREATING / UPDATING / DELETING
    /// association of a file system at a time, oldest request first.
    #[serde(default)]
    pub(crate) seq: u64,
    /// When this association became the one its file system is processing (`None` while it waits).
    #[serde(default)]
    pub(crate) processing_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Task {
    pub(crate) id: String,
    pub(crate) file_system_id: String,
    pub(crate) task_type: String,
    pub(crate) lifecycle: String,
    pub(crate) paths: Vec<String>,
    pub(crate) report: Value,
    pub(crate) tags: Tags,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) start_time: Option<DateTime<Utc>>,
    pub(crate) end_time: Option<DateTime<Utc>>,
    /// `ReleaseConfiguration` as echoed (RELEASE_DATA_FROM_FILESYSTEM only).
    #[serde(default)]
    pub(crate) release_configuration: Option<Value>,
    /// Files the task processes (fixed at creation; shown from EXECUTING on).
    #[serde(default)]
    pub(crate) total_count: i64,
    /// Counts frozen when the task ended or was cancelled.
    #[serde(default)]
    pub(crate) succeeded_count: i64,
    #[serde(default)]
    pub(crate) failed_count: i64,
    /// Set when an injected failure caught this task executing: it ends FAILED with this message.
    #[serde(default)]
    pub(crate) fail_with: Option<String>,
    /// `FailureDetails.Message` once FAILED.
    #[serde(default)]
    pub(crate) failure_message: Option<String>,
}

/// An armed task failure (see `Emulator::fail_tasks`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ArmedTaskFailure {
    pub(crate) message: String,
    pub(crate) armed_at: DateTime<Utc>,
}

/// A remembered ClientRequestToken.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TokenEntry {
    pub(crate) resource_id: String,
    pub(crate) params: Value,
    pub(crate) at: DateTime<Utc>,
}

/// Every resource the emulator knows. Cloned for snapshots, serialised for the state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) seed: Seed,
    pub(crate) saved_at: DateTime<Utc>,
    pub(crate) vpcs: Table<Vpc>,
    pub(crate) subnets: Table<Subnet>,
    pub(crate) security_groups: Table<SecurityGroup>,
    pub(crate) network_interfaces: Table<NetworkInterface>,
    pub(crate) file_systems: Table<FileSystem>,
    pub(crate) associations: Table<Association>,
    pub(crate) tasks: Table<Task>,
    pub(crate) tokens: Table<TokenEntry>,
    /// Counter for deterministic IDs handed out by `add_subnet`.
    pub(crate) next_seeded: u64,
    /// Orders association requests (see `Association::seq`).
    #[serde(default)]
    pub(crate) next_seq: u64,
    /// Injected task failures by file system ID, `*` for every file system.
    #[serde(default)]
    pub(crate) task_failures: Table<ArmedTaskFailure>,
}

impl State {
    /// Removes a file system with its ENIs, associations and tasks.
    pub(crate) fn remove_file_system(&mut self, id: &str) -> bool {
        let Some(fs) = self.file_systems.remove(id) else {
            return false;
        };
        for eni in &fs.eni_ids {
            self.network_interfaces.remove(eni);
        }
        self.associations.retain(|_, a| a.file_system_id != id);
        self.tasks.retain(|_, t| t.file_system_id != id);
        true
    }
}

/// The all-traffic egress rule every new security group starts with.
pub(crate) fn egress_all(id: String, now: DateTime<Utc>) -> SgRule {
    SgRule {
        id,
        egress: true,
        protocol: "-1".into(),
        from_port: -1,
        to_port: -1,
        source: RuleSource::Cidr("0.0.0.0/0".into()),
        description: None,
        added_at: now,
    }
}
