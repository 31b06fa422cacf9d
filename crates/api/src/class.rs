//! The `LustreClass` custom resource (`lustre.fsx.dev/v1alpha1`, cluster-scoped): the platform
//! team's policy for LustreVolumes, like a StorageClass. Where and how file systems are made
//! (network, KMS key, tags, defaults), what tenants may choose (allowed values and limits, S3
//! prefixes), and who may use it (a namespace selector). Tenants name a class; they cannot widen it.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::types::{DataCompression, DeletionPolicy, DeploymentType, LustreVersion, StorageType};

/// Annotation that makes a class the default for volumes that name none (value "true").
pub const DEFAULT_CLASS_ANNOTATION: &str = "lustre.fsx.dev/is-default-class";
/// What `${namespace}` in an S3 prefix is replaced with.
pub const NAMESPACE_PLACEHOLDER: &str = "${namespace}";

/// A platform team's policy for FSx for Lustre volumes: the network they are created in, the
/// options tenants may choose and their limits, the S3 prefixes they may link, and which
/// namespaces may use it. LustreVolumes name a class in `spec.className` (or get the default
/// class, annotated `lustre.fsx.dev/is-default-class: "true"`).
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "lustre.fsx.dev",
    version = "v1alpha1",
    kind = "LustreClass",
    plural = "lustreclasses",
    shortname = "lc",
    status = "LustreClassStatus",
    printcolumn = r#"{"name":"Default","type":"string","jsonPath":".metadata.annotations.lustre\\.fsx\\.dev/is-default-class"}"#,
    printcolumn = r#"{"name":"Volumes","type":"integer","jsonPath":".status.volumes"}"#,
    printcolumn = r#"{"name":"CapacityGiB","type":"integer","jsonPath":".status.capacityGiB"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct LustreClassSpec {
    /// Where the file systems are created and who may reach them. Only the class sets the
    /// network: a LustreVolume cannot name a subnet, CIDR or security group.
    pub network: ClassNetwork,

    /// Namespaces whose LustreVolumes may use this class (a label selector; omitted: every
    /// namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,

    /// Deployment types volumes may use; the first is the default. Default: [SCRATCH_2].
    #[serde(default = "default_deployment_types")]
    pub deployment_types: Vec<DeploymentType>,

    /// Storage types volumes may use; the first is the default. Default: [SSD].
    #[serde(default = "default_storage_types")]
    pub storage_types: Vec<StorageType>,

    /// Throughputs (MB/s/TiB) persistent volumes may use; the first valid one for the volume's
    /// type is its default. Empty: every value FSx accepts, no default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_unit_storage_throughputs: Vec<i32>,

    /// Lustre versions volumes may use; the first is the default. Default: ["2.15"].
    #[serde(default = "default_lustre_versions")]
    pub lustre_versions: Vec<LustreVersion>,

    /// Data compression for volumes that do not choose (NONE or LZ4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_compression: Option<DataCompression>,

    /// The longest automatic backup retention, in days (0-90), a volume may ask for. Default 0:
    /// no automatic backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_backup_retention_days: Option<i32>,

    /// The most metadata IOPS (USER_PROVISIONED) a volume may ask for. Omitted: volumes may not
    /// provision metadata IOPS (AUTOMATIC only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_metadata_iops: Option<i32>,

    /// Weekly maintenance window for volumes that do not choose one (d:HH:MM, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly_maintenance_start_time: Option<String>,

    /// Mount options volumes may use. Empty: only the class default `flock`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_mount_options: Vec<String>,

    /// KMS keys persistent volumes may use; the first is the default. Empty: the AWS-managed key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kms_key_ids: Vec<String>,

    /// Deletion policy for volumes that do not choose: Delete (default) or Retain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,

    /// Whether volumes may choose `deletionPolicy: Retain` themselves (default false).
    #[serde(default)]
    pub allow_retain: bool,

    /// Capacity limits per volume and per namespace.
    #[serde(default)]
    pub limits: ClassLimits,

    /// S3 locations volumes may link. Empty: no S3 link at all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub s3_prefixes: Vec<String>,

    /// Tags added to every AWS resource of the class's volumes (cost allocation). A volume's
    /// own tags never override them, nor the operator's `lustre.fsx.dev/*` tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,

    /// The CloudWatch Logs group ARN (its name starting with /aws/fsx) the class's volumes log
    /// to when they set `logLevel`. Omitted: FSx's default group /aws/fsx/lustre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub log_destination: Option<String>,

    /// Root squash for the class's volumes (on unless a volume turns it off where allowed).
    /// Omitted: no root squash, and volumes may not ask for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_squash: Option<ClassRootSquash>,

    /// Whether and what volumes may adopt with `fileSystemId`. Omitted: no adoption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adoption: Option<ClassAdoption>,
}

/// The network of a class's file systems.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassNetwork {
    /// Subnets file systems may be created in, one per availability zone; the first is the
    /// default. A volume may choose another by `availabilityZone`.
    pub subnets: Vec<ClassSubnet>,

    /// Use these existing security groups instead of a managed one per volume. They must admit
    /// TCP 988 and 1018-1023 from themselves or the subnet; the operator checks before creating.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_group_ids: Vec<String>,

    /// Security groups of the clients (the EKS node or cluster security group) that each managed
    /// security group admits on the Lustre ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_security_group_ids: Vec<String>,

    /// CIDR ranges of clients that each managed security group admits on the Lustre ports.
    /// 0.0.0.0/0 is refused: Lustre has no authentication of its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_cidrs: Vec<String>,
}

/// One subnet a class offers.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassSubnet {
    /// The subnet ID (subnet-...).
    pub subnet_id: String,
    /// Its availability zone (for example us-east-1a), which volumes may ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
}

/// Capacity limits of a class.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassLimits {
    /// Smallest storageCapacityGiB a volume may ask for.
    #[serde(rename = "minCapacityGiB", default, skip_serializing_if = "Option::is_none")]
    pub min_capacity_gib: Option<i32>,
    /// Largest storageCapacityGiB a volume may ask for.
    #[serde(rename = "maxCapacityGiB", default, skip_serializing_if = "Option::is_none")]
    pub max_capacity_gib: Option<i32>,
    /// Total storageCapacityGiB of this class's volumes in one namespace.
    #[serde(rename = "maxCapacityGiBPerNamespace", default, skip_serializing_if = "Option::is_none")]
    pub max_capacity_gib_per_namespace: Option<i64>,
    /// Number of this class's volumes in one namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_volumes_per_namespace: Option<i32>,
}

/// Root squash as the class sets it.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassRootSquash {
    /// The UID:GID root on clients acts as (default 65534:65534, nobody).
    #[serde(default = "default_squash")]
    #[schemars(length(max = 32))]
    pub squash: String,
    /// Clients whose root stays root (Lustre NIDs such as 10.0.1.6@tcp or 10.0.[2-10].[1-255]@tcp),
    /// at most 64.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub no_squash_nids: Vec<String>,
    /// Whether volumes may turn root squash off (`spec.rootSquash: false`).
    #[serde(default)]
    pub allow_disable: bool,
}

fn default_squash() -> String {
    "65534:65534".to_string()
}

/// What volumes of a class may adopt.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassAdoption {
    /// File systems (fs-...) that may be adopted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_system_ids: Vec<String>,
    /// A tag (key=value) that file systems must carry to be adopted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_tag: Option<ClassTag>,
    /// Namespaces whose volumes may adopt (empty: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
}

/// One AWS tag.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassTag {
    /// Tag key.
    pub key: String,
    /// Tag value.
    pub value: String,
}

/// Usage of the class.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LustreClassStatus {
    /// Volumes using the class.
    #[serde(default)]
    pub volumes: i32,
    /// Their total storageCapacityGiB.
    #[serde(rename = "capacityGiB", default)]
    pub capacity_gib: i64,
    /// Usage per namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<NamespaceUsage>,
}

/// Usage of a class in one namespace.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceUsage {
    /// The namespace.
    pub namespace: String,
    /// Volumes of the class in it.
    pub volumes: i32,
    /// Their total storageCapacityGiB.
    #[serde(rename = "capacityGiB")]
    pub capacity_gib: i64,
}

fn default_deployment_types() -> Vec<DeploymentType> {
    vec![DeploymentType::Scratch2]
}

fn default_storage_types() -> Vec<StorageType> {
    vec![StorageType::Ssd]
}

fn default_lustre_versions() -> Vec<LustreVersion> {
    vec![LustreVersion::V2_15]
}

impl LustreClass {
    /// Whether the class carries the default-class annotation.
    pub fn is_default(&self) -> bool {
        self.metadata.annotations.as_ref().and_then(|a| a.get(DEFAULT_CLASS_ANNOTATION)).map(String::as_str)
            == Some("true")
    }
}

impl LustreClassSpec {
    /// The S3 prefixes for `namespace`, with `${namespace}` substituted.
    pub fn s3_prefixes_for(&self, namespace: &str) -> Vec<String> {
        self.s3_prefixes.iter().map(|p| p.replace(NAMESPACE_PLACEHOLDER, namespace)).collect()
    }

    /// The network of a volume asking for `zone`: its subnet and the class's client sources or
    /// existing groups. None when the class has no subnet there.
    pub fn network_for(&self, zone: Option<&str>) -> Option<crate::types::NetworkSpec> {
        self.subnet_for(zone).map(|subnet| crate::types::NetworkSpec {
            subnet_id: subnet.subnet_id.clone(),
            security_group_ids: self.network.security_group_ids.clone(),
            client_security_group_ids: self.network.client_security_group_ids.clone(),
            client_cidrs: self.network.client_cidrs.clone(),
        })
    }

    /// The subnet for a volume asking for `zone` (None: the class's first subnet).
    pub fn subnet_for(&self, zone: Option<&str>) -> Option<&ClassSubnet> {
        match zone {
            None => self.network.subnets.first(),
            Some(z) => self.network.subnets.iter().find(|s| s.availability_zone.as_deref() == Some(z)),
        }
    }
}

/// Whether `url` falls under `prefix` (both s3:// URLs): it starts with the prefix and its
/// trailing slash. FSx reads a data repository path as a string prefix, so the prefix itself
/// without the slash (`s3://b/team-a`) is outside: it would also reach `s3://b/team-ab/`.
pub fn s3_path_within(url: &str, prefix: &str) -> bool {
    let (Some(url), Some(prefix)) = (url.strip_prefix("s3://"), prefix.strip_prefix("s3://")) else {
        return false;
    };
    if url.split('/').any(|segment| segment == ".." || segment == ".") {
        return false;
    }
    if prefix.ends_with('/') {
        url.starts_with(prefix)
    } else {
        url.starts_with(&format!("{prefix}/"))
    }
}

/// Whether `url` is outside `prefix` only for lacking its trailing slash (`s3://b/team-a` for
/// `s3://b/team-a/`): the refusal then says to add it.
pub fn s3_path_lacks_trailing_slash(url: &str, prefix: &str) -> bool {
    !url.ends_with('/') && !s3_path_within(url, prefix) && s3_path_within(&format!("{url}/"), prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_paths_must_start_at_a_boundary_of_the_prefix() {
        // (path, prefix, within, lacks only the trailing slash)
        let cases = [
            ("s3://ml-data/team-a/train", "s3://ml-data/team-a/", true, false),
            ("s3://ml-data/team-a/", "s3://ml-data/team-a/", true, false),
            ("s3://ml-data/team-a/x", "s3://ml-data/team-a", true, false),
            // FSx would read it as a string prefix, reaching s3://ml-data/team-ab/ too.
            ("s3://ml-data/team-a", "s3://ml-data/team-a/", false, true),
            ("s3://ml-data/team-a", "s3://ml-data/team-a", false, true),
            ("s3://ml-data", "s3://ml-data/", false, true),
            ("s3://ml-data/team-ab/train", "s3://ml-data/team-a/", false, false),
            ("s3://ml-data/team-ab", "s3://ml-data/team-a/", false, false),
            ("s3://ml-data/team-a/../team-b", "s3://ml-data/team-a/", false, false),
            ("s3://other/team-a", "s3://ml-data/team-a/", false, false),
            ("ml-data/team-a", "s3://ml-data/team-a/", false, false),
        ];
        for (path, prefix, within, lacks_slash) in cases {
            assert_eq!(s3_path_within(path, prefix), within, "{path} under {prefix}");
            assert_eq!(s3_path_lacks_trailing_slash(path, prefix), lacks_slash, "{path} under {prefix}");
        }
    }

    #[test]
    fn namespace_is_substituted_in_prefixes() {
        let spec: LustreClassSpec = serde_json::from_value(serde_json::json!({
            "network": {"subnets": [{"subnetId": "subnet-0123456789abcdef0"}]},
            "s3Prefixes": ["s3://ml-data/${namespace}/", "s3://shared/datasets/"]
        }))
        .expect("parses");
        assert_eq!(spec.s3_prefixes_for("team-a"), vec!["s3://ml-data/team-a/", "s3://shared/datasets/"]);
        assert_eq!(spec.deployment_types, vec![DeploymentType::Scratch2]);
        assert_eq!(spec.subnet_for(None).map(|s| s.subnet_id.as_str()), Some("subnet-0123456789abcdef0"));
        assert_eq!(spec.subnet_for(Some("us-east-1b")), None);
    }
}
