//! The inventory: a serialisable, public snapshot of every resource, for oracle tests, benchmarks
//! and the admin API.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::EmulatorConfig;
use crate::model::{ArmedTaskFailure, NetworkInterface, RuleSource, SgRule, State, Subnet, Tags, Task, Vpc};

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

    pub fn association(&self, id: &str) -> Option<&AssociationInfo> {
        self.data_repository_associations.iter().find(|a| a.id == id)
    }

    pub fn task(&self, id: &str) -> Option<&TaskInfo> {
        self.data_repository_tasks.iter().find(|t| t.id == id)
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
    /// The metadata configuration's IOPS (PERSISTENT_2), when it has one.
    pub metadata_iops: Option<i64>,
    /// RootSquashConfiguration.RootSquash (UID:GID), when it has one.
    pub root_squash: Option<String>,
    /// LogConfiguration (Level, Destination), when it has one.
    pub log: Option<(String, Option<String>)>,
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
    /// An IPv4 source.
    pub cidr: Option<String>,
    pub source_group_id: Option<String>,
    #[serde(default)]
    pub ipv6_cidr: Option<String>,
    #[serde(default)]
    pub prefix_list_id: Option<String>,
}

impl From<&SgRule> for RuleInfo {
    fn from(r: &SgRule) -> Self {
        let mut info = RuleInfo {
            id: r.id.clone(),
            protocol: r.protocol.clone(),
            from_port: r.from_port,
            to_port: r.to_port,
            cidr: None,
            source_group_id: None,
            ipv6_cidr: None,
            prefix_list_id: None,
        };
        let slot = match &r.source {
            RuleSource::Cidr(_) => &mut info.cidr,
            RuleSource::Group(_) => &mut info.source_group_id,
            RuleSource::Ipv6(_) => &mut info.ipv6_cidr,
            RuleSource::PrefixList(_) => &mut info.prefix_list_id,
        };
        *slot = Some(r.source.peer().to_string());
        info
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
    /// `S3.AutoImportPolicy.Events` (`None`: no import policy).
    #[serde(default)]
    pub auto_import_events: Option<Vec<String>>,
    /// `S3.AutoExportPolicy.Events` (`None`: no export policy).
    #[serde(default)]
    pub auto_export_events: Option<Vec<String>>,
    #[serde(default)]
    pub imported_file_chunk_size: i64,
    #[serde(default)]
    pub batch_import_meta_data_on_create: bool,
    #[serde(default)]
    pub failure_message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskInfo {
    pub id: String,
    pub file_system_id: String,
    pub task_type: String,
    pub lifecycle: String,
    pub tags: Tags,
    #[serde(default)]
    pub paths: Vec<String>,
    /// `Status.TotalCount` / `SucceededCount` / `FailedCount` as DescribeDataRepositoryTasks shows them now.
    #[serde(default)]
    pub total_count: i64,
    #[serde(default)]
    pub succeeded_count: i64,
    #[serde(default)]
    pub failed_count: i64,
    /// `Status.ReleasedCapacity` (GiB), RELEASE_DATA_FROM_FILESYSTEM tasks once started.
    #[serde(default)]
    pub released_capacity: Option<i64>,
    /// `FailureDetails.Message` of a FAILED task.
    #[serde(default)]
    pub failure_message: Option<String>,
    #[serde(default)]
    pub creation_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub end_time: Option<DateTime<Utc>>,
}

/// A task failure armed with `Emulator::fail_tasks` (`file_system_id: None` = every file system).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFailure {
    pub file_system_id: Option<String>,
    pub message: String,
    pub armed_at: DateTime<Utc>,
}

impl TaskFailure {
    pub(crate) fn from_entry(key: &str, f: &ArmedTaskFailure) -> Self {
        TaskFailure {
            file_system_id: (key != "*").then(|| key.to_string()),
            message: f.message.clone(),
            armed_at: f.armed_at,
        }
    }
}

fn events(s3: Option<&Value>, policy: &str) -> Option<Vec<String>> {
    let list = s3?.get(policy)?.get("Events")?.as_array()?;
    Some(list.iter().filter_map(Value::as_str).map(str::to_string).collect())
}

fn task_info(t: &Task, now: DateTime<Utc>, cfg: &EmulatorConfig) -> TaskInfo {
    let counts = t.counts_at(now, cfg);
    TaskInfo {
        id: t.id.clone(),
        file_system_id: t.file_system_id.clone(),
        task_type: t.task_type.clone(),
        lifecycle: t.lifecycle.clone(),
        tags: t.tags.clone(),
        paths: t.paths.clone(),
        total_count: counts.total,
        succeeded_count: counts.succeeded,
        failed_count: counts.failed,
        released_capacity: (t.task_type == "RELEASE_DATA_FROM_FILESYSTEM" && t.start_time.is_some())
            .then(|| Task::released_capacity(counts)),
        failure_message: if t.lifecycle == "FAILED" { t.failure_message.clone() } else { None },
        creation_time: Some(t.created_at),
        start_time: t.start_time,
        end_time: t.end_time,
    }
}

impl State {
    /// The public snapshot of this state.
    pub(crate) fn inventory(&self, now: DateTime<Utc>, cfg: &EmulatorConfig) -> Inventory {
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
                    metadata_iops: fs
                        .lustre
                        .get("MetadataConfiguration")
                        .and_then(|m| m.get("Iops"))
                        .and_then(serde_json::Value::as_i64),
                    log: fs.lustre.get("LogConfiguration").map(|l| {
                        let get = |k: &str| l.get(k).and_then(serde_json::Value::as_str).map(str::to_string);
                        (get("Level").unwrap_or_default(), get("Destination"))
                    }),
                    root_squash: fs
                        .lustre
                        .get("RootSquashConfiguration")
                        .and_then(|r| r.get("RootSquash"))
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_string),
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
                    auto_import_events: events(a.s3.as_ref(), "AutoImportPolicy"),
                    auto_export_events: events(a.s3.as_ref(), "AutoExportPolicy"),
                    imported_file_chunk_size: a.imported_file_chunk_size,
                    batch_import_meta_data_on_create: a.batch_import,
                    failure_message: a.failure_message.clone(),
                })
                .collect(),
            data_repository_tasks: self.tasks.values().map(|t| task_info(t, now, cfg)).collect(),
        }
    }
}
