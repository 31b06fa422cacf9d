//! The in-memory model of every resource, the lazy lifecycle engine and persistence.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::EmulatorConfig;

pub type Tags = BTreeMap<String, String>;

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

/// Where a rule admits traffic from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSource {
    Cidr(String),
    Group(String),
}

/// One atomic security-group rule (one protocol/port range, one source).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SgRule {
    pub id: String,
    pub egress: bool,
    /// "tcp", "udp", "icmp" or "-1".
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    pub source: RuleSource,
    pub description: Option<String>,
    pub added_at: DateTime<Utc>,
}

impl SgRule {
    pub fn same_permission(&self, other: &SgRule) -> bool {
        self.egress == other.egress
            && self.protocol == other.protocol
            && self.from_port == other.from_port
            && self.to_port == other.to_port
            && self.source == other.source
    }

    pub fn admits_tcp_port(&self, port: i32) -> bool {
        !self.egress
            && (self.protocol == "-1" || (self.protocol == "tcp" && self.from_port <= port && port <= self.to_port))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    pub tags: Tags,
    pub rules: Vec<SgRule>,
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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminAction {
    pub action_type: String,
    pub status: String,
    pub progress_percent: Option<i64>,
    pub request_time: DateTime<Utc>,
    pub target: Map<String, Value>,
}

/// An update in flight; applied when `done_at` passes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingUpdate {
    pub started_at: DateTime<Utc>,
    pub done_at: DateTime<Utc>,
    pub storage_capacity: Option<i64>,
    pub throughput: Option<i64>,
    pub version: Option<String>,
    pub metadata: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileSystem {
    pub id: String,
    pub owner_id: String,
    pub created_at: DateTime<Utc>,
    pub lifecycle: String,
    pub failure_message: Option<String>,
    pub storage_capacity: i64,
    pub storage_type: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub security_group_ids: Vec<String>,
    pub eni_ids: Vec<String>,
    pub dns_name: String,
    pub kms_key_id: Option<String>,
    pub version: String,
    pub deployment_type: String,
    pub throughput: Option<i64>,
    pub mount_name: String,
    /// The remaining LustreConfiguration members, as returned by DescribeFileSystems.
    pub lustre: Map<String, Value>,
    pub tags: Tags,
    pub admin_actions: Vec<AdminAction>,
    pub pending_update: Option<PendingUpdate>,
    pub deleting_since: Option<DateTime<Utc>>,
    pub last_storage_increase: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Association {
    pub id: String,
    pub file_system_id: String,
    pub lifecycle: String,
    pub file_system_path: String,
    pub data_repository_path: String,
    pub batch_import: bool,
    pub imported_file_chunk_size: i64,
    pub s3: Option<Value>,
    pub tags: Tags,
    pub created_at: DateTime<Utc>,
    pub changed_at: DateTime<Utc>,
    pub failure_message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub file_system_id: String,
    pub task_type: String,
    pub lifecycle: String,
    pub paths: Vec<String>,
    pub report: Value,
    pub tags: Tags,
    pub created_at: DateTime<Utc>,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    pub capacity_to_release: Option<i64>,
}

/// A remembered ClientRequestToken.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenEntry {
    pub resource_id: String,
    pub params: Value,
    pub at: DateTime<Utc>,
}

/// Every resource the emulator knows. Cloned for snapshots, serialised for the state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub seed: Seed,
    pub saved_at: DateTime<Utc>,
    pub vpcs: BTreeMap<String, Vpc>,
    pub subnets: BTreeMap<String, Subnet>,
    pub security_groups: BTreeMap<String, SecurityGroup>,
    pub network_interfaces: BTreeMap<String, NetworkInterface>,
    pub file_systems: BTreeMap<String, FileSystem>,
    pub associations: BTreeMap<String, Association>,
    pub tasks: BTreeMap<String, Task>,
    pub tokens: BTreeMap<String, TokenEntry>,
    /// Counter for deterministic IDs handed out by `add_subnet`.
    pub next_seeded: u64,
}

pub fn seeded_id(prefix: &str, n: u64) -> String {
    format!("{prefix}-0e5eed{n:011x}")
}

impl State {
    /// A fresh account: one default VPC 10.0.0.0/16, three subnets, the VPC's default group.
    pub fn seeded(now: DateTime<Utc>, region: &str) -> State {
        let vpc_id = seeded_id("vpc", 1);
        let sg_id = seeded_id("sg", 1);
        let azs: Vec<String> = ["a", "b", "c"].iter().map(|s| format!("{region}{s}")).collect();
        let cidrs: Vec<String> = (1..=3).map(|i| format!("10.0.{i}.0/24")).collect();
        let subnet_ids: Vec<String> = (1..=3).map(|i| seeded_id("subnet", i)).collect();
        let mut state = State {
            seed: Seed {
                vpc_id: vpc_id.clone(),
                vpc_cidr: "10.0.0.0/16".to_string(),
                subnet_ids: subnet_ids.clone(),
                subnet_cidrs: cidrs.clone(),
                availability_zones: azs.clone(),
                default_security_group_id: sg_id.clone(),
            },
            saved_at: now,
            vpcs: BTreeMap::new(),
            subnets: BTreeMap::new(),
            security_groups: BTreeMap::new(),
            network_interfaces: BTreeMap::new(),
            file_systems: BTreeMap::new(),
            associations: BTreeMap::new(),
            tasks: BTreeMap::new(),
            tokens: BTreeMap::new(),
            next_seeded: 4,
        };
        state.vpcs.insert(
            vpc_id.clone(),
            Vpc { id: vpc_id.clone(), cidr: "10.0.0.0/16".to_string(), is_default: true, tags: Tags::new() },
        );
        for ((id, cidr), az) in subnet_ids.iter().zip(&cidrs).zip(&azs) {
            state.subnets.insert(
                id.clone(),
                Subnet {
                    id: id.clone(),
                    vpc_id: vpc_id.clone(),
                    cidr: cidr.clone(),
                    az: az.clone(),
                    tags: Tags::new(),
                },
            );
        }
        state.security_groups.insert(sg_id.clone(), default_group(&sg_id, &vpc_id, now));
        state
    }

    /// Advances every lifecycle to what `now` implies. Called before every observation.
    pub fn tick(&mut self, now: DateTime<Utc>, cfg: &EmulatorConfig) {
        let dur = crate::clock::span;
        let mut gone = Vec::new();
        for fs in self.file_systems.values_mut() {
            match fs.lifecycle.as_str() {
                "CREATING" if now >= fs.created_at + dur(cfg.create_duration) => fs.lifecycle = "AVAILABLE".into(),
                "DELETING" => {
                    if let Some(since) = fs.deleting_since {
                        if now >= since + dur(cfg.delete_duration) {
                            gone.push(fs.id.clone());
                        }
                    }
                }
                "UPDATING" => advance_update(fs, now),
                _ => {}
            }
        }
        for id in gone {
            self.remove_file_system(&id);
        }
        let fs_available: BTreeMap<String, bool> =
            self.file_systems.iter().map(|(id, fs)| (id.clone(), fs.lifecycle == "AVAILABLE")).collect();
        let mut gone_dras = Vec::new();
        for dra in self.associations.values_mut() {
            let fs_ok = fs_available.get(&dra.file_system_id).copied().unwrap_or(false);
            match dra.lifecycle.as_str() {
                "CREATING" if fs_ok && now >= dra.changed_at + dur(cfg.create_duration) => {
                    dra.lifecycle = "AVAILABLE".into();
                    dra.changed_at = now;
                }
                "UPDATING" if now >= dra.changed_at + dur(cfg.update_duration) => {
                    dra.lifecycle = "AVAILABLE".into();
                    dra.changed_at = now;
                }
                "DELETING" if now >= dra.changed_at + dur(cfg.delete_duration) => gone_dras.push(dra.id.clone()),
                _ => {}
            }
        }
        for id in gone_dras {
            self.associations.remove(&id);
        }
        for task in self.tasks.values_mut() {
            let fs_ok = fs_available.get(&task.file_system_id).copied().unwrap_or(false);
            match task.lifecycle.as_str() {
                "PENDING" if fs_ok => {
                    task.lifecycle = "EXECUTING".into();
                    task.start_time = Some(now);
                }
                "CANCELING" => {
                    task.lifecycle = "CANCELED".into();
                    task.end_time = Some(now);
                }
                _ => {}
            }
            if task.lifecycle == "EXECUTING" {
                if let Some(start) = task.start_time {
                    if now >= start + dur(cfg.task_duration) {
                        task.lifecycle = "SUCCEEDED".into();
                        task.end_time = Some(start + dur(cfg.task_duration));
                    }
                }
            }
        }
        let window = dur(cfg.token_window);
        self.tokens.retain(|_, t| now < t.at + window);
    }

    /// Removes a file system with its ENIs, associations and tasks.
    pub fn remove_file_system(&mut self, id: &str) -> bool {
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

    pub fn next_seeded_id(&mut self, prefix: &str) -> String {
        let id = seeded_id(prefix, self.next_seeded);
        self.next_seeded += 1;
        id
    }

    pub fn inventory(&self) -> Inventory {
        Inventory {
            vpcs: self.vpcs.values().cloned().collect(),
            subnets: self.subnets.values().cloned().collect(),
            file_systems: self
                .file_systems
                .values()
                .map(|fs| FileSystemInfo {
                    id: fs.id.clone(),
                    lifecycle: fs.lifecycle.clone(),
                    failure_message: fs.failure_message.clone(),
                    tags: fs.tags.clone(),
                    subnet_id: fs.subnet_id.clone(),
                    vpc_id: fs.vpc_id.clone(),
                    security_group_ids: fs.security_group_ids.clone(),
                    network_interface_ids: fs.eni_ids.clone(),
                    storage_capacity: fs.storage_capacity,
                    storage_type: fs.storage_type.clone(),
                    deployment_type: fs.deployment_type.clone(),
                    per_unit_storage_throughput: fs.throughput,
                    file_system_type_version: fs.version.clone(),
                    dns_name: fs.dns_name.clone(),
                    mount_name: fs.mount_name.clone(),
                })
                .collect(),
            security_groups: self
                .security_groups
                .values()
                .map(|sg| SecurityGroupInfo {
                    id: sg.id.clone(),
                    name: sg.name.clone(),
                    description: sg.description.clone(),
                    vpc_id: sg.vpc_id.clone(),
                    tags: sg.tags.clone(),
                    ingress: sg.rules.iter().filter(|r| !r.egress).map(RuleInfo::from).collect(),
                    egress: sg.rules.iter().filter(|r| r.egress).map(RuleInfo::from).collect(),
                })
                .collect(),
            network_interfaces: self.network_interfaces.values().cloned().collect(),
            data_repository_associations: self
                .associations
                .values()
                .map(|a| AssociationInfo {
                    id: a.id.clone(),
                    file_system_id: a.file_system_id.clone(),
                    lifecycle: a.lifecycle.clone(),
                    file_system_path: a.file_system_path.clone(),
                    data_repository_path: a.data_repository_path.clone(),
                    tags: a.tags.clone(),
                })
                .collect(),
            data_repository_tasks: self
                .tasks
                .values()
                .map(|t| TaskInfo {
                    id: t.id.clone(),
                    file_system_id: t.file_system_id.clone(),
                    task_type: t.task_type.clone(),
                    lifecycle: t.lifecycle.clone(),
                    tags: t.tags.clone(),
                })
                .collect(),
        }
    }

    /// Writes the state atomically: a temporary file in the same directory, then a rename.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".tmp.{}", std::process::id()));
        let tmp = std::path::PathBuf::from(tmp);
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    }

    pub fn load(path: &Path) -> anyhow::Result<Option<State>> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

fn advance_update(fs: &mut FileSystem, now: DateTime<Utc>) {
    let Some(update) = fs.pending_update.clone() else {
        fs.lifecycle = "AVAILABLE".into();
        return;
    };
    if now >= update.done_at {
        if let Some(c) = update.storage_capacity {
            fs.storage_capacity = c;
            fs.last_storage_increase = Some(update.done_at);
        }
        if let Some(t) = update.throughput {
            fs.throughput = Some(t);
        }
        if let Some(v) = update.version {
            fs.version = v;
        }
        if let Some(m) = update.metadata {
            fs.lustre.insert("MetadataConfiguration".into(), m);
        }
        for action in &mut fs.admin_actions {
            if action.status == "IN_PROGRESS" || action.status == "PENDING" {
                action.status = "COMPLETED".into();
                action.progress_percent = Some(100);
            }
        }
        fs.pending_update = None;
        fs.lifecycle = "AVAILABLE".into();
    } else {
        let total = (update.done_at - update.started_at).num_milliseconds().max(1);
        let done = (now - update.started_at).num_milliseconds().clamp(0, total);
        let pct = done * 100 / total;
        for action in &mut fs.admin_actions {
            if action.status == "IN_PROGRESS" || action.status == "PENDING" {
                action.status = "IN_PROGRESS".into();
                action.progress_percent = Some(pct);
            }
        }
    }
}

pub fn default_group(id: &str, vpc_id: &str, now: DateTime<Utc>) -> SecurityGroup {
    SecurityGroup {
        id: id.to_string(),
        name: "default".to_string(),
        description: "default VPC security group".to_string(),
        vpc_id: vpc_id.to_string(),
        tags: Tags::new(),
        rules: vec![
            SgRule {
                id: seeded_id("sgr", 1),
                egress: false,
                protocol: "-1".into(),
                from_port: -1,
                to_port: -1,
                source: RuleSource::Group(id.to_string()),
                description: None,
                added_at: now - chrono::Duration::days(1),
            },
            egress_all(seeded_id("sgr", 2), now - chrono::Duration::days(1)),
        ],
    }
}

pub fn egress_all(id: String, now: DateTime<Utc>) -> SgRule {
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

/// A serialisable snapshot of every resource, for oracle tests and benchmarks.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Inventory {
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
    pub file_systems: Vec<FileSystemInfo>,
    pub security_groups: Vec<SecurityGroupInfo>,
    pub network_interfaces: Vec<NetworkInterface>,
    pub data_repository_associations: Vec<AssociationInfo>,
    pub data_repository_tasks: Vec<TaskInfo>,
}

impl Inventory {
    pub fn file_system(&self, id: &str) -> Option<&FileSystemInfo> {
        self.file_systems.iter().find(|f| f.id == id)
    }

    pub fn security_group(&self, id: &str) -> Option<&SecurityGroupInfo> {
        self.security_groups.iter().find(|s| s.id == id)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileSystemInfo {
    pub id: String,
    pub lifecycle: String,
    pub failure_message: Option<String>,
    pub tags: Tags,
    pub subnet_id: String,
    pub vpc_id: String,
    pub security_group_ids: Vec<String>,
    pub network_interface_ids: Vec<String>,
    pub storage_capacity: i64,
    pub storage_type: String,
    pub deployment_type: String,
    pub per_unit_storage_throughput: Option<i64>,
    pub file_system_type_version: String,
    pub dns_name: String,
    pub mount_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecurityGroupInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    pub tags: Tags,
    pub ingress: Vec<RuleInfo>,
    pub egress: Vec<RuleInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleInfo {
    pub id: String,
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    pub cidr: Option<String>,
    pub source_group_id: Option<String>,
}

impl From<&SgRule> for RuleInfo {
    fn from(r: &SgRule) -> Self {
        let (cidr, source_group_id) = match &r.source {
            RuleSource::Cidr(c) => (Some(c.clone()), None),
            RuleSource::Group(g) => (None, Some(g.clone())),
        };
        RuleInfo {
            id: r.id.clone(),
            protocol: r.protocol.clone(),
            from_port: r.from_port,
            to_port: r.to_port,
            cidr,
            source_group_id,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssociationInfo {
    pub id: String,
    pub file_system_id: String,
    pub lifecycle: String,
    pub file_system_path: String,
    pub data_repository_path: String,
    pub tags: Tags,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskInfo {
    pub id: String,
    pub file_system_id: String,
    pub task_type: String,
    pub lifecycle: String,
    pub tags: Tags,
}

/// Parses `a.b.c.d/n` into (network, prefix length).
pub fn parse_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (ip, len) = cidr.split_once('/')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    let len: u32 = len.parse().ok()?;
    if len > 32 {
        return None;
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some((u32::from(ip) & mask, len))
}

/// True when `outer` contains all of `inner`.
pub fn cidr_contains(outer: &str, inner: &str) -> bool {
    match (parse_cidr(outer), parse_cidr(inner)) {
        (Some((o, ol)), Some((i, il))) => {
            let mask = if ol == 0 { 0 } else { u32::MAX << (32 - ol) };
            ol <= il && (i & mask) == o
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        assert!(cidr_contains("10.0.0.0/16", "10.0.1.0/24"));
        assert!(cidr_contains("0.0.0.0/0", "10.0.1.0/24"));
        assert!(!cidr_contains("10.0.2.0/24", "10.0.1.0/24"));
        assert!(!cidr_contains("10.0.1.0/25", "10.0.1.0/24"));
    }

    #[test]
    fn seeded_ids_are_deterministic() {
        let a = State::seeded(Utc::now(), "us-east-1");
        let b = State::seeded(Utc::now(), "us-east-1");
        assert_eq!(a.seed, b.seed);
        assert_eq!(a.seed.subnet_ids[0], "subnet-0e5eed00000000001");
        assert_eq!(a.seed.vpc_id.len(), "vpc-".len() + 17);
    }
}
