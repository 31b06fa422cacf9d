//! The `LustreVolume` custom resource (`lustre.fsx.dev/v1alpha1`).
//!
//! The spec is kept to plain structs and unit enums so that the generated OpenAPI schema is
//! structural. Defaults live in `#[serde(default)]` attributes (and therefore in the schema), and
//! every field carries a doc comment, which becomes its `kubectl explain` text.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A shared Amazon FSx for Lustre file system, exposed to the namespace as a bound
/// PersistentVolumeClaim.
///
/// The operator creates (or adopts) the file system, a security group that opens Lustre's ports,
/// a StorageClass, a PersistentVolume and the claim, and reports them in `status`.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "lustre.fsx.dev",
    version = "v1alpha1",
    kind = "LustreVolume",
    plural = "lustrevolumes",
    shortname = "lv",
    namespaced,
    status = "LustreVolumeStatus",
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Capacity","type":"integer","jsonPath":".status.capacityGiB","description":"Storage capacity in GiB"}"#,
    printcolumn = r#"{"name":"Deployment","type":"string","jsonPath":".spec.deploymentType"}"#,
    printcolumn = r#"{"name":"FileSystem","type":"string","jsonPath":".status.fileSystemId"}"#,
    printcolumn = r#"{"name":"Claim","type":"string","jsonPath":".status.claimName"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct LustreVolumeSpec {
    /// Storage capacity in GiB. SCRATCH_1: 1200, 2400 or a multiple of 3600 (cannot grow).
    /// SCRATCH_2, PERSISTENT_1 and PERSISTENT_2 on SSD: 1200, 2400 or a multiple of 2400.
    /// PERSISTENT_1 on HDD: a multiple of 6000 (12 MB/s/TiB) or 1800 (40 MB/s/TiB).
    /// May only grow. Required unless `fileSystemId` adopts an existing file system.
    #[serde(rename = "storageCapacityGiB", default, skip_serializing_if = "Option::is_none")]
    pub storage_capacity_gib: Option<i32>,

    /// FSx for Lustre deployment type: SCRATCH_1, SCRATCH_2 (default), PERSISTENT_1 or
    /// PERSISTENT_2. Immutable.
    #[serde(default)]
    pub deployment_type: DeploymentType,

    /// Storage type: SSD (default) or HDD (PERSISTENT_1 only). Immutable.
    #[serde(default)]
    pub storage_type: StorageType,

    /// Throughput per TiB of storage, in MB/s/TiB. Required for PERSISTENT_1 (SSD: 50, 100 or
    /// 200; HDD: 12 or 40) and PERSISTENT_2 (125, 250, 500 or 1000); not allowed for scratch.
    /// Changes in place on persistent SSD, up or down, among the values the class allows (FSx
    /// replaces the file servers: minutes to about an hour of lower availability); HDD cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_unit_storage_throughput: Option<i32>,

    /// SSD read cache for HDD file systems: NONE or READ. Required with storageType HDD, not
    /// allowed otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drive_cache_type: Option<DriveCacheType>,

    /// Lustre version: "2.10", "2.12" or "2.15" (default). PERSISTENT_2 needs 2.12 or later.
    /// Upgrades in place (newer only, among the class's versions).
    #[serde(default)]
    pub lustre_version: LustreVersion,

    /// Metadata performance of a PERSISTENT_2 file system (Lustre 2.15): mode AUTOMATIC (FSx
    /// sizes it with the storage) or USER_PROVISIONED with `iops` (1500, 3000, 6000, 12000, then
    /// multiples of 12000 up to 192000), at most what the class allows. The IOPS only grow, in
    /// place, at least 6 hours apart (FSx's rule); it cannot be removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_configuration: Option<MetadataSpec>,

    /// Data compression: NONE (default) or LZ4. Changes in place (new writes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_compression: Option<DataCompression>,

    /// KMS key for encryption at rest (PERSISTENT_1 and PERSISTENT_2 only). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,

    /// Weekly maintenance window start, UTC, as d:HH:MM with d = 1 (Monday) to 7 (Sunday).
    /// Changes in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly_maintenance_start_time: Option<String>,

    /// Days to keep automatic daily backups, 0 to 90 (persistent types only; 0 disables them),
    /// at most what the class allows. Changes in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic_backup_retention_days: Option<i32>,

    /// Extra AWS tags for the file system and the security group (at most 40; keys starting
    /// with `lustre.fsx.dev/` are reserved for the operator).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,

    /// The LustreClass whose policy this volume follows (network, limits, S3 prefixes, who may
    /// use it). Omitted: the class annotated `lustre.fsx.dev/is-default-class: "true"`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,

    /// Availability zone to create the file system in, among those the class offers (default:
    /// the class's first subnet). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,

    /// Root squash: true (root on clients acts as the class's UID:GID, except from the class's
    /// no-squash NIDs) or false (root stays root). Omitted: as the class says. Turning it on needs
    /// a class with `rootSquash`; turning it off needs one whose `rootSquash.allowDisable` is
    /// true. Changes in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_squash: Option<bool>,

    /// Filled in by the operator from the class, never read from or written to the API: a
    /// tenant cannot name a subnet, CIDR or security group.
    #[serde(skip)]
    #[schemars(skip)]
    pub network: NetworkSpec,

    /// Lustre logging of data repository events to CloudWatch Logs: DISABLED, WARN_ONLY,
    /// ERROR_ONLY or WARN_ERROR, to the class's `logDestination` (FSx's default log group
    /// `/aws/fsx/lustre` when the class names none). Omitted: as FSx sets it. Changes in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<LogLevel>,

    /// Filled in by the operator from the class and `rootSquash`, never read from or written to
    /// the API: the RootSquashConfiguration to ask FSx for, (UID:GID, no-squash NIDs); "0:0"
    /// means none. None: the volume and its class say nothing.
    #[serde(skip)]
    #[schemars(skip)]
    pub root_squash_configuration: Option<(String, Vec<String>)>,

    /// Filled in by the operator from the class, never read from or written to the API: the
    /// CloudWatch Logs group ARN logs go to (the class's `logDestination`).
    #[serde(skip)]
    #[schemars(skip)]
    pub log_destination: Option<String>,

    /// Links to S3: data repository associations (`associations`, Lustre 2.12 or later, not
    /// SCRATCH_1), or the legacy import/export link (`importPath`, SCRATCH_1, SCRATCH_2 and
    /// PERSISTENT_1 only); not both. Every S3 path must fall under the class's S3 prefixes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Spec>,

    /// What the operator does before it deletes the file system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<OnDeleteSpec>,

    /// The PersistentVolumeClaim the operator creates in this namespace.
    #[serde(default)]
    pub claim: ClaimSpec,

    /// Mount options written to the StorageClass and the PersistentVolume (default: flock).
    #[serde(default = "default_mount_options")]
    pub mount_options: Vec<String>,

    /// What happens to the AWS file system and security group when this LustreVolume is
    /// deleted: Delete (default when the operator created the file system) or Retain (default
    /// when `fileSystemId` adopts one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,

    /// Adopt this existing file system (fs-...) instead of creating one. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_system_id: Option<String>,
}

/// Network placement of the file system, as the operator takes it from the LustreClass.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSpec {
    /// The subnet (subnet-...) the file system is created in. Immutable.
    pub subnet_id: String,

    /// Use these existing security groups instead of a managed one. They must admit TCP 988
    /// and 1018-1023 from themselves or the subnet; the operator checks before creating.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_group_ids: Vec<String>,

    /// Security groups of the clients (for example the EKS node or cluster security group)
    /// that the managed security group admits on the Lustre ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_security_group_ids: Vec<String>,

    /// CIDR ranges of clients that the managed security group admits on the Lustre ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_cidrs: Vec<String>,
}

/// The file system's links to S3.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Spec {
    /// Data repository associations: each links a directory of the file system to an S3 prefix,
    /// with automatic import and export of changes. At most 8; their paths must not overlap
    /// (`/` only as the only one). Adding, editing and removing them is applied to the file system.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub associations: Vec<AssociationSpec>,

    /// When an association is removed from this list: KeepData (default) keeps the files it
    /// brought into the file system; DeleteData deletes them from the file system (S3 is never
    /// touched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_association_removal: Option<AssociationRemoval>,

    /// s3://bucket[/prefix] to import from. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_path: Option<String>,

    /// s3://bucket[/prefix] to export to; must be in the import bucket. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_path: Option<String>,

    /// Which S3 changes are imported automatically: NONE, NEW, NEW_CHANGED or
    /// NEW_CHANGED_DELETED. Needs importPath.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_import_policy: Option<AutoImportPolicy>,
}

/// One data repository association: a directory of the file system linked to an S3 prefix.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssociationSpec {
    /// Directory of the file system, starting with `/` and without a trailing `/` (for example
    /// `/datasets`); `/` links the whole file system and must then be the only association.
    /// The key of the list: one association per path.
    pub file_system_path: String,

    /// The S3 location, s3://bucket/prefix/, under the class's S3 prefixes for this namespace.
    /// Cannot change for an existing fileSystemPath.
    pub data_repository_path: String,

    /// Import the metadata of the files already in S3 when the association is created.
    /// Cannot change for an existing fileSystemPath.
    #[serde(default)]
    pub batch_import_metadata_on_create: bool,

    /// Stripe size of imported files, in MiB (1 to 512000; FSx's default is 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_file_chunk_size: Option<i32>,

    /// S3 changes imported into the file system automatically: any of NEW, CHANGED, DELETED.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auto_import_events: Vec<S3Event>,

    /// File system changes exported to S3 automatically: any of NEW, CHANGED, DELETED.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auto_export_events: Vec<S3Event>,
}

/// A kind of change that an association imports or exports automatically.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
pub enum S3Event {
    #[serde(rename = "NEW")]
    New,
    #[serde(rename = "CHANGED")]
    Changed,
    #[serde(rename = "DELETED")]
    Deleted,
}

impl S3Event {
    pub fn as_str(self) -> &'static str {
        match self {
            S3Event::New => "NEW",
            S3Event::Changed => "CHANGED",
            S3Event::Deleted => "DELETED",
        }
    }
}

/// What happens to the files an association brought in when it is removed.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum AssociationRemoval {
    #[default]
    KeepData,
    DeleteData,
}

/// Steps before the file system is deleted.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnDeleteSpec {
    /// Export every file to S3 (through each association, or the legacy exportPath) and wait
    /// for the export to succeed before the file system is deleted. If the export fails, the
    /// file system is kept and the volume's DataExported condition says why; retry by setting
    /// the annotation `lustre.fsx.dev/retry-export` to a new value, or set this to false to
    /// delete without exporting. Applies only when the file system is deleted (not with Retain).
    #[serde(default)]
    pub export_to_s3: bool,
}

/// The claim data scientists mount.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimSpec {
    /// Name of the PersistentVolumeClaim (default: the LustreVolume's name). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,

    /// Mount read-only (access mode ReadOnlyMany instead of ReadWriteMany).
    #[serde(default)]
    pub read_only: bool,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeploymentType {
    #[serde(rename = "SCRATCH_1")]
    Scratch1,
    #[default]
    #[serde(rename = "SCRATCH_2")]
    Scratch2,
    #[serde(rename = "PERSISTENT_1")]
    Persistent1,
    #[serde(rename = "PERSISTENT_2")]
    Persistent2,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum StorageType {
    #[default]
    #[serde(rename = "SSD")]
    Ssd,
    #[serde(rename = "HDD")]
    Hdd,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DriveCacheType {
    #[serde(rename = "NONE")]
    None,
    #[serde(rename = "READ")]
    Read,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum LustreVersion {
    #[serde(rename = "2.10")]
    V2_10,
    #[serde(rename = "2.12")]
    V2_12,
    #[default]
    #[serde(rename = "2.15")]
    V2_15,
}

/// What FSx logs (data repository events).
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum LogLevel {
    #[serde(rename = "DISABLED")]
    Disabled,
    #[serde(rename = "WARN_ONLY")]
    WarnOnly,
    #[serde(rename = "ERROR_ONLY")]
    ErrorOnly,
    #[serde(rename = "WARN_ERROR")]
    WarnError,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Disabled => "DISABLED",
            LogLevel::WarnOnly => "WARN_ONLY",
            LogLevel::ErrorOnly => "ERROR_ONLY",
            LogLevel::WarnError => "WARN_ERROR",
        }
    }
}

/// Metadata performance (PERSISTENT_2).
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetadataSpec {
    /// AUTOMATIC or USER_PROVISIONED.
    pub mode: MetadataMode,
    /// Metadata IOPS, with USER_PROVISIONED only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1500, max = 192000))]
    pub iops: Option<i32>,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum MetadataMode {
    #[serde(rename = "AUTOMATIC")]
    Automatic,
    #[serde(rename = "USER_PROVISIONED")]
    UserProvisioned,
}

impl MetadataMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MetadataMode::Automatic => "AUTOMATIC",
            MetadataMode::UserProvisioned => "USER_PROVISIONED",
        }
    }
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DataCompression {
    #[serde(rename = "NONE")]
    None,
    #[serde(rename = "LZ4")]
    Lz4,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum AutoImportPolicy {
    #[serde(rename = "NONE")]
    None,
    #[serde(rename = "NEW")]
    New,
    #[serde(rename = "NEW_CHANGED")]
    NewChanged,
    #[serde(rename = "NEW_CHANGED_DELETED")]
    NewChangedDeleted,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    Delete,
    Retain,
}

impl DeletionPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionPolicy::Delete => "Delete",
            DeletionPolicy::Retain => "Retain",
        }
    }

    /// The policy a [`crate::tags::DELETION_POLICY`] tag value names (None: not a policy).
    pub fn parse(value: &str) -> Option<DeletionPolicy> {
        match value {
            "Delete" => Some(DeletionPolicy::Delete),
            "Retain" => Some(DeletionPolicy::Retain),
            _ => None,
        }
    }
}

/// Where the volume is in its life.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Phase {
    Pending,
    Creating,
    Available,
    Updating,
    Deleting,
    Failed,
    Lost,
}

/// What the operator observed and did.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LustreVolumeStatus {
    /// Pending, Creating, Available, Updating, Deleting, Failed or Lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// The FSx file system ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_system_id: Option<String>,
    /// The file system's DNS name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    /// The Lustre mount name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_name: Option<String>,
    /// The managed security group (or the first given one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_name: Option<String>,
    /// Phase of the claim: Pending, Bound or Lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_phase: Option<String>,
    /// The file system's FSx lifecycle (CREATING, AVAILABLE, UPDATING, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
    /// The capacity FSx reports, in GiB.
    #[serde(rename = "capacityGiB", default, skip_serializing_if = "Option::is_none")]
    pub capacity_gib: Option<i32>,
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The throughput FSx reports, MB/s per TiB (persistent types).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_unit_storage_throughput: Option<i32>,
    /// Changes of the spec not applied to the file system yet, each with what it waits for
    /// (FSx makes one update at a time, and storage increases at least 6 hours apart).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_changes: Vec<String>,
    /// When FSx allows the next pending change that waits for a window (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_update_allowed_at: Option<String>,
    /// The administrative actions FSx runs on the file system now: type, status, progress and
    /// the values it moves to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub administrative_actions: Vec<AdministrativeActionStatus>,
    /// The data repository associations as FSx reports them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub associations: Vec<AssociationStatus>,
    /// SecurityGroupReady, FileSystemReady, AssociationsReady, ClaimBound, DataExported and Ready.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// One administrative action as FSx reports it.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdministrativeActionStatus {
    /// FILE_SYSTEM_UPDATE, STORAGE_OPTIMIZATION, THROUGHPUT_OPTIMIZATION, IOPS_OPTIMIZATION, ...
    #[serde(rename = "type")]
    pub action_type: String,
    /// PENDING, IN_PROGRESS, UPDATED_OPTIMIZING, ...
    pub status: String,
    /// How far FSx is, in percent, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_percent: Option<i32>,
    /// The values it moves to, e.g. "perUnitStorageThroughput 250".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// One data repository association as FSx reports it.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssociationStatus {
    /// The directory of the file system (the key of `spec.s3.associations`).
    pub file_system_path: String,
    /// The linked S3 location.
    pub data_repository_path: String,
    /// The association's ID (dra-...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub association_id: Option<String>,
    /// FSx lifecycle: CREATING, AVAILABLE, UPDATING, MISCONFIGURED, DELETING or FAILED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
    /// FSx's explanation when the association failed or is misconfigured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

fn default_mount_options() -> Vec<String> {
    vec!["flock".to_string()]
}

impl DeploymentType {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentType::Scratch1 => "SCRATCH_1",
            DeploymentType::Scratch2 => "SCRATCH_2",
            DeploymentType::Persistent1 => "PERSISTENT_1",
            DeploymentType::Persistent2 => "PERSISTENT_2",
        }
    }
    pub(crate) fn is_scratch(self) -> bool {
        matches!(self, DeploymentType::Scratch1 | DeploymentType::Scratch2)
    }
    pub fn is_persistent(self) -> bool {
        !self.is_scratch()
    }
}

impl StorageType {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageType::Ssd => "SSD",
            StorageType::Hdd => "HDD",
        }
    }
}

impl DriveCacheType {
    pub fn as_str(self) -> &'static str {
        match self {
            DriveCacheType::None => "NONE",
            DriveCacheType::Read => "READ",
        }
    }
}

impl LustreVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            LustreVersion::V2_10 => "2.10",
            LustreVersion::V2_12 => "2.12",
            LustreVersion::V2_15 => "2.15",
        }
    }
}

impl DataCompression {
    pub fn as_str(self) -> &'static str {
        match self {
            DataCompression::None => "NONE",
            DataCompression::Lz4 => "LZ4",
        }
    }
}

impl AutoImportPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoImportPolicy::None => "NONE",
            AutoImportPolicy::New => "NEW",
            AutoImportPolicy::NewChanged => "NEW_CHANGED",
            AutoImportPolicy::NewChangedDeleted => "NEW_CHANGED_DELETED",
        }
    }
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Creating => "Creating",
            Phase::Available => "Available",
            Phase::Updating => "Updating",
            Phase::Deleting => "Deleting",
            Phase::Failed => "Failed",
            Phase::Lost => "Lost",
        }
    }
}

impl LustreVolumeSpec {
    /// The data repository associations asked for (none without `s3`).
    pub fn associations(&self) -> &[AssociationSpec] {
        self.s3.as_ref().map(|s3| s3.associations.as_slice()).unwrap_or_default()
    }

    /// Whether the file system is linked to S3 (associations or the legacy import path).
    pub fn is_s3_linked(&self) -> bool {
        self.s3.as_ref().is_some_and(|s3| !s3.associations.is_empty() || s3.import_path.is_some())
    }

    /// Whether the file system is exported to S3 before it is deleted.
    pub fn exports_before_delete(&self) -> bool {
        self.on_delete.as_ref().is_some_and(|d| d.export_to_s3)
    }

    /// The deletion policy in force: the explicit one, else Retain for an adopted file system
    /// and Delete for one the operator created.
    pub fn effective_deletion_policy(&self) -> DeletionPolicy {
        self.deletion_policy.unwrap_or(if self.file_system_id.is_some() {
            DeletionPolicy::Retain
        } else {
            DeletionPolicy::Delete
        })
    }
}

impl LustreVolume {
    /// Name of the claim: `spec.claim.name` or the LustreVolume's own name.
    pub fn claim_name(&self) -> String {
        self.spec.claim.name.clone().unwrap_or_else(|| self.metadata.name.clone().unwrap_or_default())
    }
}
