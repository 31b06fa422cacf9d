//! A LustreVolume under its LustreClass: the class's rules checked, its defaults and network
//! filled in. Pure: the operator calls [`effective`] before any AWS call and works on the
//! volume it returns; a violation becomes a condition that says what to change.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::class::{s3_path_lacks_trailing_slash, s3_path_within, LustreClass};
use crate::types::{DeletionPolicy, LustreVolume};
use crate::validation::{allowed_throughputs, InvalidSpec, Violation};

/// What the class's per-namespace limits are measured against: the other volumes of the same
/// class in the volume's namespace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NamespaceUsage {
    pub volumes: i32,
    pub capacity_gib: i64,
}

/// What a volume asks of its namespace's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// A volume without a file system yet: one more volume, with its capacity (None: not known
    /// before the file system is found, an adoption).
    New { gib: Option<i64> },
    /// A volume whose file system has `from_gib` asking for `to_gib`: only the capacity is judged
    /// (the volume is one of the namespace's already).
    Grow { from_gib: i64, to_gib: i64 },
}

/// The class's per-namespace limits for `ask`, with `usage` what the namespace's other volumes of
/// the class use. Each violation says what is used, the limit and what to change.
pub fn namespace_limits(class: &LustreClass, namespace: &str, usage: NamespaceUsage, ask: Ask) -> Vec<Violation> {
    let class_name = class.metadata.name.as_deref().unwrap_or_default();
    let limits = &class.spec.limits;
    let mut v = Vec::new();
    match ask {
        Ask::New { gib } => {
            if let (Some(gib), Some(max)) = (gib, limits.max_capacity_gib_per_namespace) {
                let total = usage.capacity_gib + gib;
                if total > max {
                    v.push(Violation { field: ".storageCapacityGiB", message: format!(
                        "namespace {namespace} would use {total} GiB of LustreClass {class_name}, over its quota of {max} GiB ({} GiB in use); ask for less or delete a volume",
                        usage.capacity_gib
                    )});
                }
            }
            if let Some(max) = limits.max_volumes_per_namespace.filter(|max| usage.volumes + 1 > *max) {
                v.push(Violation {
                    field: ".className",
                    message: format!(
                        "namespace {namespace} already has {} volume(s) of LustreClass {class_name}, its limit is {max}",
                        usage.volumes
                    ),
                });
            }
        }
        Ask::Grow { from_gib, to_gib } => {
            let total = usage.capacity_gib + to_gib;
            if let Some(max) = limits.max_capacity_gib_per_namespace.filter(|max| to_gib > from_gib && total > *max) {
                v.push(Violation { field: ".storageCapacityGiB", message: format!(
                    "growing to {to_gib} GiB would bring namespace {namespace} to {total} GiB of LustreClass {class_name}, over its quota of {max} GiB ({} GiB in use by its other volumes); the volume keeps working at {from_gib} GiB. Delete another volume of the class in {namespace} (it grows then), or ask the platform team to raise limits.maxCapacityGiBPerNamespace",
                    usage.capacity_gib
                )});
            }
        }
    }
    v
}

/// Whether `labels` match `selector`, by kube's own `Selector` (matchLabels and matchExpressions
/// with In, NotIn, Exists, DoesNotExist). A selector Kubernetes would refuse (an unknown
/// operator, In without values) matches nothing.
pub fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    use kube::core::{Selector, SelectorExt};
    Selector::try_from(selector.clone()).is_ok_and(|s| s.matches(labels))
}

/// The volume as the class makes it: network, KMS key, compression, maintenance window,
/// throughput, deletion policy and tags filled in from the class; or every rule of the class
/// it breaks, each saying what to change. The per-namespace limits are judged as for a new
/// volume, against `usage`.
pub fn effective(
    lv: &LustreVolume,
    class: &LustreClass,
    namespace_labels: &BTreeMap<String, String>,
    usage: NamespaceUsage,
) -> Result<LustreVolume, InvalidSpec> {
    let gib = lv.spec.storage_capacity_gib.map(i64::from);
    judged(lv, class, namespace_labels, Some((usage, Ask::New { gib })))
}

/// [`effective`] without the per-namespace limits: every other rule of the class. The operator
/// judges those limits apart ([`namespace_limits`]), under the lock of its reservations.
pub fn effective_apart_from_namespace_limits(
    lv: &LustreVolume,
    class: &LustreClass,
    namespace_labels: &BTreeMap<String, String>,
) -> Result<LustreVolume, InvalidSpec> {
    judged(lv, class, namespace_labels, None)
}

// Long on purpose, it reads better whole: one class rule after another, in the order the README's class table lists them; each is a few lines and none depends on a helper's state.
fn judged(
    lv: &LustreVolume,
    class: &LustreClass,
    namespace_labels: &BTreeMap<String, String>,
    limits: Option<(NamespaceUsage, Ask)>,
) -> Result<LustreVolume, InvalidSpec> {
    let class_name = class.metadata.name.as_deref().unwrap_or_default();
    let namespace = lv.metadata.namespace.as_deref().unwrap_or_default();
    let c = &class.spec;
    let mut out = lv.clone();
    let s = &mut out.spec;
    let mut v = Vec::new();
    let mut bad = |field: &'static str, message: String| v.push(Violation { field, message });

    if let Some(selector) = &c.namespace_selector {
        if !selector_matches(selector, namespace_labels) {
            bad(".className", format!("namespace {namespace} may not use LustreClass {class_name}; ask the platform team or use another class"));
        }
    }
    let names = |items: Vec<&str>| items.join(", ");
    if !c.deployment_types.contains(&s.deployment_type) {
        let allowed = names(c.deployment_types.iter().map(|d| d.as_str()).collect());
        bad(
            ".deploymentType",
            format!("LustreClass {class_name} allows deploymentType {allowed}, not {}", s.deployment_type.as_str()),
        );
    }
    if !c.storage_types.contains(&s.storage_type) {
        let allowed = names(c.storage_types.iter().map(|t| t.as_str()).collect());
        bad(
            ".storageType",
            format!("LustreClass {class_name} allows storageType {allowed}, not {}", s.storage_type.as_str()),
        );
    }
    if !c.lustre_versions.contains(&s.lustre_version) {
        let allowed = names(c.lustre_versions.iter().map(|l| l.as_str()).collect());
        bad(
            ".lustreVersion",
            format!("LustreClass {class_name} allows lustreVersion {allowed}, not {}", s.lustre_version.as_str()),
        );
    }
    let valid_for_type = allowed_throughputs(s.deployment_type, s.storage_type).unwrap_or(&[]);
    match s.per_unit_storage_throughput {
        Some(t) if !c.per_unit_storage_throughputs.is_empty() && !c.per_unit_storage_throughputs.contains(&t) => bad(
            ".perUnitStorageThroughput",
            format!(
                "LustreClass {class_name} allows perUnitStorageThroughput {:?}, not {t}",
                c.per_unit_storage_throughputs
            ),
        ),
        Some(_) => {}
        None => {
            s.per_unit_storage_throughput =
                c.per_unit_storage_throughputs.iter().copied().find(|t| valid_for_type.contains(t))
        }
    }
    if s.data_compression.is_none() {
        s.data_compression = c.data_compression;
    }
    if s.weekly_maintenance_start_time.is_none() {
        s.weekly_maintenance_start_time = c.weekly_maintenance_start_time.clone();
    }
    if let Some(iops) = s.metadata_configuration.and_then(|m| m.iops) {
        let max = c.max_metadata_iops.unwrap_or(0);
        if iops > max {
            let allowed = if max == 0 {
                "no user-provisioned metadata IOPS".to_string()
            } else {
                format!("at most {max} metadata IOPS")
            };
            bad(".metadataConfiguration", format!("LustreClass {class_name} allows {allowed}, not {iops}"));
        }
    }
    let max_days = c.max_backup_retention_days.unwrap_or(0);
    if s.automatic_backup_retention_days.unwrap_or(0) > max_days {
        bad(".automaticBackupRetentionDays", format!("LustreClass {class_name} keeps backups at most {max_days} days"));
    }
    for option in &s.mount_options {
        if option != "flock" && !c.allowed_mount_options.contains(option) {
            bad(".mountOptions", format!("mount option {option:?} is not allowed by LustreClass {class_name}"));
        }
    }
    match &s.kms_key_id {
        Some(key) if !c.kms_key_ids.contains(key) => {
            bad(
                ".kmsKeyId",
                format!("LustreClass {class_name} does not offer KMS key {key}; omit kmsKeyId to use the class's key"),
            );
        }
        Some(_) => {}
        None if s.deployment_type.is_persistent() => s.kms_key_id = c.kms_key_ids.first().cloned(),
        None => {}
    }
    match (s.deletion_policy, s.file_system_id.is_some()) {
        (Some(DeletionPolicy::Retain), false) if !c.allow_retain => bad(
            ".deletionPolicy",
            format!("LustreClass {class_name} does not let volumes choose deletionPolicy Retain; remove it"),
        ),
        (None, false) => s.deletion_policy = c.deletion_policy,
        _ => {}
    }

    if let Some(gib) = s.storage_capacity_gib {
        if let Some(min) = c.limits.min_capacity_gib.filter(|min| gib < *min) {
            bad(".storageCapacityGiB", format!("LustreClass {class_name} needs at least {min} GiB per volume"));
        }
        if let Some(max) = c.limits.max_capacity_gib.filter(|max| gib > *max) {
            bad(".storageCapacityGiB", format!("LustreClass {class_name} allows at most {max} GiB per volume"));
        }
    }
    if let Some((usage, ask)) = limits {
        for violation in namespace_limits(class, namespace, usage, ask) {
            bad(violation.field, violation.message);
        }
    }

    let prefixes = c.s3_prefixes_for(namespace);
    let s3_paths = s.s3.iter().flat_map(|s3| {
        s3.import_path
            .iter()
            .chain(s3.export_path.iter())
            .chain(s3.associations.iter().map(|a| &a.data_repository_path))
    });
    for path in s3_paths {
        if prefixes.iter().any(|p| s3_path_within(path, p)) {
            continue;
        }
        if let Some(prefix) = prefixes.iter().find(|p| s3_path_lacks_trailing_slash(path, p)) {
            bad(
                ".s3",
                format!(
                    "{path} lacks the trailing slash of LustreClass {class_name}'s prefix {prefix}: FSx reads an S3 path as a string prefix, so it would also reach every path starting with it, such as {path}-old/; add the trailing slash: {path}/"
                ),
            );
            continue;
        }
        let allowed = if prefixes.is_empty() { "no S3 location".to_string() } else { prefixes.join(", ") };
        bad(
            ".s3",
            format!("{path} is outside what LustreClass {class_name} allows namespace {namespace} to link: {allowed}"),
        );
    }

    if let Some(id) = &s.file_system_id {
        match &c.adoption {
            None => bad(".fileSystemId", format!("LustreClass {class_name} does not allow adopting file systems")),
            Some(a) if !a.namespaces.iter().any(|n| n == namespace) => bad(
                ".fileSystemId",
                format!("LustreClass {class_name} does not allow namespace {namespace} to adopt file systems"),
            ),
            Some(a) if a.required_tag.is_none() && !a.file_system_ids.contains(id) => {
                bad(".fileSystemId", format!("LustreClass {class_name} does not list {id} as adoptable"))
            }
            Some(_) => {}
        }
    }

    if s.log_level.is_some_and(|l| l != crate::types::LogLevel::Disabled) {
        if let Some(dest) = &c.log_destination {
            if !dest.starts_with("arn:aws:logs:") || !dest.contains(":log-group:/aws/fsx") {
                bad(".logLevel", format!("LustreClass {class_name}'s logDestination must be a CloudWatch Logs group ARN named /aws/fsx...; ask the platform team"));
            }
            s.log_destination = Some(dest.clone());
        }
    }
    match (&c.root_squash, s.root_squash) {
        (None, Some(true)) => bad(
            ".rootSquash",
            format!(
                "LustreClass {class_name} does not configure root squash; omit rootSquash or ask the platform team"
            ),
        ),
        (Some(rs), Some(false)) if !rs.allow_disable => {
            bad(".rootSquash", format!("LustreClass {class_name} does not let volumes turn root squash off"))
        }
        (Some(rs), on) => {
            let valid =
                rs.squash.split_once(':').is_some_and(|(u, g)| u.parse::<u32>().is_ok() && g.parse::<u32>().is_ok());
            if !valid {
                bad(
                    ".rootSquash",
                    format!(
                        "LustreClass {class_name}'s rootSquash.squash must be UID:GID, not {:?}; ask the platform team",
                        rs.squash
                    ),
                );
            }
            s.root_squash_configuration = Some(if on == Some(false) {
                ("0:0".to_string(), Vec::new())
            } else {
                (rs.squash.clone(), rs.no_squash_nids.clone())
            });
        }
        (None, _) => {}
    }
    match c.network_for(s.availability_zone.as_deref()) {
        Some(network) => s.network = network,
        None => {
            let zones: Vec<&str> = c.network.subnets.iter().filter_map(|s| s.availability_zone.as_deref()).collect();
            bad(
                ".availabilityZone",
                format!(
                    "LustreClass {class_name} has no subnet in {}; it offers {}",
                    s.availability_zone.as_deref().unwrap_or("any zone"),
                    if zones.is_empty() { "no zones".to_string() } else { zones.join(", ") }
                ),
            );
        }
    }
    // The class's tags win over the volume's (the operator's own are added last, over both).
    s.tags.extend(c.tags.clone());

    if v.is_empty() {
        Ok(out)
    } else {
        Err(InvalidSpec(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(extra: serde_json::Value) -> LustreClass {
        let mut spec = serde_json::json!({
            "network": {"subnets": [{"subnetId": "subnet-0aaaaaaaaaaaaaaaa", "availabilityZone": "us-east-1a"},
                                    {"subnetId": "subnet-0bbbbbbbbbbbbbbbb", "availabilityZone": "us-east-1b"}],
                        "clientCidrs": ["10.0.0.0/16"]},
            "s3Prefixes": ["s3://ml-data/${namespace}/"],
            "tags": {"cost-center": "ml-platform"},
            "limits": {"maxCapacityGiB": 4800, "maxCapacityGiBPerNamespace": 6000, "maxVolumesPerNamespace": 3}
        });
        if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
            s.extend(e.clone());
        }
        serde_json::from_value(serde_json::json!({
            "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreClass",
            "metadata": {"name": "scratch"}, "spec": spec
        }))
        .expect("class parses")
    }

    fn volume(spec: serde_json::Value) -> LustreVolume {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume",
            "metadata": {"name": "v", "namespace": "team-a"}, "spec": spec
        }))
        .expect("volume parses")
    }

    fn fields(r: Result<LustreVolume, InvalidSpec>) -> Vec<&'static str> {
        r.err().map(|e| e.0.into_iter().map(|v| v.field).collect()).unwrap_or_default()
    }

    fn labels() -> BTreeMap<String, String> {
        BTreeMap::from([("team".to_string(), "a".to_string())])
    }

    #[test]
    fn the_class_fills_in_the_network_and_its_tags_win() {
        let lv = volume(serde_json::json!({"storageCapacityGiB": 1200, "availabilityZone": "us-east-1b",
                                            "tags": {"cost-center": "mine", "owner": "alice"}}));
        let out = effective(&lv, &class(serde_json::json!({})), &labels(), NamespaceUsage::default()).expect("allowed");
        assert_eq!(out.spec.network.subnet_id, "subnet-0bbbbbbbbbbbbbbbb");
        assert_eq!(out.spec.network.client_cidrs, vec!["10.0.0.0/16".to_string()]);
        assert_eq!(out.spec.tags["cost-center"], "ml-platform");
        assert_eq!(out.spec.tags["owner"], "alice");
    }

    #[test]
    fn disallowed_choices_name_the_field_and_the_class() {
        let lv = volume(serde_json::json!({"storageCapacityGiB": 1200, "deploymentType": "PERSISTENT_2",
            "perUnitStorageThroughput": 125, "deletionPolicy": "Retain", "mountOptions": ["flock", "noatime"],
            "availabilityZone": "us-east-1c"}));
        let err =
            effective(&lv, &class(serde_json::json!({})), &labels(), NamespaceUsage::default()).expect_err("refused");
        let f: Vec<&str> = err.0.iter().map(|v| v.field).collect();
        assert_eq!(f, vec![".deploymentType", ".mountOptions", ".deletionPolicy", ".availabilityZone"]);
        assert!(err.to_string().contains("LustreClass scratch allows deploymentType SCRATCH_2"));
    }

    #[test]
    fn s3_paths_must_stay_under_the_namespace_prefix() {
        let ok =
            volume(serde_json::json!({"storageCapacityGiB": 1200, "s3": {"importPath": "s3://ml-data/team-a/train"}}));
        assert!(effective(&ok, &class(serde_json::json!({})), &labels(), NamespaceUsage::default()).is_ok());
        let other =
            volume(serde_json::json!({"storageCapacityGiB": 1200, "s3": {"importPath": "s3://ml-data/team-b/train"}}));
        assert_eq!(
            fields(effective(&other, &class(serde_json::json!({})), &labels(), NamespaceUsage::default())),
            vec![".s3"]
        );
    }

    #[test]
    fn an_s3_path_naming_the_prefix_without_its_slash_is_refused_saying_to_add_it() {
        let c = class(serde_json::json!({}));
        let judged = |path: &str| {
            let lv = volume(serde_json::json!({"storageCapacityGiB": 1200, "s3": {"importPath": path}}));
            effective(&lv, &c, &labels(), NamespaceUsage::default()).map(|_| ()).map_err(|e| e.to_string())
        };
        assert_eq!(judged("s3://ml-data/team-a/"), Ok(()));
        assert_eq!(judged("s3://ml-data/team-a/x"), Ok(()));
        let refused = judged("s3://ml-data/team-a").expect_err("the prefix without its slash");
        assert!(refused.contains("add the trailing slash: s3://ml-data/team-a/"), "{refused}");
        let outside = judged("s3://ml-data/team-ab").expect_err("another prefix");
        assert!(outside.contains("is outside what LustreClass scratch allows"), "{outside}");
    }

    #[test]
    fn per_volume_and_per_namespace_limits() {
        let c = class(serde_json::json!({}));
        let big = volume(serde_json::json!({"storageCapacityGiB": 7200}));
        let too_big = fields(effective(&big, &c, &labels(), NamespaceUsage::default()));
        assert_eq!(
            too_big,
            vec![".storageCapacityGiB", ".storageCapacityGiB"],
            "over the volume and the namespace limit"
        );
        let lv = volume(serde_json::json!({"storageCapacityGiB": 2400}));
        let used = NamespaceUsage { volumes: 2, capacity_gib: 4800 };
        let err = effective(&lv, &c, &labels(), used).expect_err("over quota");
        assert!(err.to_string().contains("would use 7200 GiB"), "{err}");
        let full = NamespaceUsage { volumes: 3, capacity_gib: 0 };
        assert_eq!(fields(effective(&lv, &c, &labels(), full)), vec![".className"]);
    }

    #[test]
    fn namespace_limits_count_a_new_volume_and_only_the_capacity_of_growth() {
        // The class allows 6000 GiB and 3 volumes per namespace.
        let c = class(serde_json::json!({}));
        let used = |volumes, capacity_gib| NamespaceUsage { volumes, capacity_gib };
        // (others' usage, ask, fields refused)
        let cases: [(NamespaceUsage, Ask, &[&str]); 9] = [
            (used(0, 0), Ask::New { gib: Some(6000) }, &[]),
            (used(1, 4800), Ask::New { gib: Some(1200) }, &[]),
            (used(1, 4800), Ask::New { gib: Some(2400) }, &[".storageCapacityGiB"]),
            (used(3, 0), Ask::New { gib: Some(1200) }, &[".className"]),
            (used(3, 4800), Ask::New { gib: None }, &[".className"]),
            // Growth: the volume is counted already; only the new capacity is judged.
            (used(2, 3600), Ask::Grow { from_gib: 1200, to_gib: 2400 }, &[]),
            (used(3, 3600), Ask::Grow { from_gib: 1200, to_gib: 2400 }, &[]),
            (used(1, 4800), Ask::Grow { from_gib: 1200, to_gib: 2400 }, &[".storageCapacityGiB"]),
            // Not growing (over a quota lowered since): the volume keeps what it has.
            (used(1, 6000), Ask::Grow { from_gib: 1200, to_gib: 1200 }, &[]),
        ];
        for (usage, ask, want) in cases {
            let got: Vec<&str> = namespace_limits(&c, "team-a", usage, ask).into_iter().map(|v| v.field).collect();
            assert_eq!(got, want, "{usage:?} {ask:?}");
        }
        let grow = namespace_limits(&c, "team-a", used(1, 4800), Ask::Grow { from_gib: 1200, to_gib: 2400 });
        let message = &grow[0].message;
        assert!(message.contains("7200 GiB of LustreClass scratch, over its quota of 6000 GiB"), "{message}");
        assert!(message.contains("4800 GiB in use") && message.contains("keeps working at 1200 GiB"), "{message}");
        assert!(message.contains("limits.maxCapacityGiBPerNamespace"), "says what to change: {message}");
        // `effective` judges a new volume; apart from the limits, only the other rules.
        let lv = volume(serde_json::json!({"storageCapacityGiB": 2400}));
        assert_eq!(fields(effective(&lv, &c, &labels(), used(3, 4800))), vec![".storageCapacityGiB", ".className"]);
        assert!(effective_apart_from_namespace_limits(&lv, &c, &labels()).is_ok());
    }

    #[test]
    fn namespace_selector_and_adoption_rules() {
        let c = class(serde_json::json!({"namespaceSelector": {"matchLabels": {"team": "b"}}}));
        let lv = volume(serde_json::json!({"storageCapacityGiB": 1200}));
        assert_eq!(fields(effective(&lv, &c, &labels(), NamespaceUsage::default())), vec![".className"]);

        let adopt = volume(serde_json::json!({"fileSystemId": "fs-0123456789abcdef0"}));
        assert_eq!(
            fields(effective(&adopt, &class(serde_json::json!({})), &labels(), NamespaceUsage::default())),
            vec![".fileSystemId"]
        );
        let allowing = class(
            serde_json::json!({"adoption": {"fileSystemIds": ["fs-0123456789abcdef0"], "namespaces": ["team-a"]}}),
        );
        assert!(effective(&adopt, &allowing, &labels(), NamespaceUsage::default()).is_ok());
        let other_ns = class(
            serde_json::json!({"adoption": {"fileSystemIds": ["fs-0123456789abcdef0"], "namespaces": ["team-b"]}}),
        );
        assert_eq!(fields(effective(&adopt, &other_ns, &labels(), NamespaceUsage::default())), vec![".fileSystemId"]);
    }

    #[test]
    fn class_defaults_fill_what_the_volume_leaves_open() {
        let c = class(serde_json::json!({"deploymentTypes": ["PERSISTENT_2"], "perUnitStorageThroughputs": [250],
            "kmsKeyIds": ["arn:aws:kms:us-east-1:111122223333:key/k"], "dataCompression": "LZ4", "deletionPolicy": "Retain"}));
        let lv = volume(serde_json::json!({"storageCapacityGiB": 2400, "deploymentType": "PERSISTENT_2"}));
        let out = effective(&lv, &c, &labels(), NamespaceUsage::default()).expect("allowed");
        assert_eq!(out.spec.per_unit_storage_throughput, Some(250));
        assert_eq!(out.spec.kms_key_id.as_deref(), Some("arn:aws:kms:us-east-1:111122223333:key/k"));
        assert_eq!(out.spec.data_compression.map(|d| d.as_str()), Some("LZ4"));
        assert_eq!(out.spec.effective_deletion_policy(), DeletionPolicy::Retain);
    }

    #[test]
    fn selector_expressions() {
        let sel: LabelSelector = serde_json::from_value(serde_json::json!({"matchExpressions": [
            {"key": "team", "operator": "In", "values": ["a", "b"]}, {"key": "frozen", "operator": "DoesNotExist"}]}))
        .expect("selector parses");
        assert!(selector_matches(&sel, &labels()));
        let mut frozen = labels();
        frozen.insert("frozen".into(), "yes".into());
        assert!(!selector_matches(&sel, &frozen));
        assert!(!selector_matches(&sel, &BTreeMap::new()));
    }
}
