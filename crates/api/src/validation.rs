//! Spec validation done by the operator before any AWS call.
//!
//! The apiserver already enforces the CEL rules and size limits in [`crate::crd`]; this module
//! checks the same constraints again, with the same messages (a CRD installed from an older chart
//! may lack a rule), and the ones CEL cannot express: CIDR syntax, bucket agreement of the S3
//! paths, reserved tag keys. `tests/cel_parity.rs` holds both sides to the same verdicts.
//! Transition rules (immutable fields, capacity that only grows) live only in the CRD: the
//! operator never sees the previous spec.

use std::net::Ipv4Addr;

use crate::rules::*;
use crate::tags::RESERVED_PREFIX;
use crate::types::{AssociationSpec, DeploymentType, LustreVersion, LustreVolumeSpec, StorageType};

/// One thing wrong with a spec: the field and what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: &'static str,
    pub message: String,
}

impl From<&SpecRule> for Violation {
    fn from(rule: &SpecRule) -> Self {
        Violation { field: rule.field_path, message: rule.message.to_string() }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "spec{}: {}", self.field, self.message)
    }
}

/// All violations of a spec, joined for a condition message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct InvalidSpec(pub Vec<Violation>);

/// Throughput values FSx accepts, or None when throughput must be absent.
pub(crate) fn allowed_throughputs(deployment: DeploymentType, storage: StorageType) -> Option<&'static [i32]> {
    match (deployment, storage) {
        (DeploymentType::Scratch1 | DeploymentType::Scratch2, _) => None,
        (DeploymentType::Persistent1, StorageType::Ssd) => Some(&[50, 100, 200]),
        (DeploymentType::Persistent1, StorageType::Hdd) => Some(&[12, 40]),
        (DeploymentType::Persistent2, _) => Some(&[125, 250, 500, 1000]),
    }
}

/// The first capacity rule `gib` breaks at creation, if any (the CEL rules of the same name).
pub(crate) fn capacity_violation(
    deployment: DeploymentType,
    storage: StorageType,
    throughput: Option<i32>,
    gib: i32,
) -> Option<&'static SpecRule> {
    let standard_step = |multiple: i32| gib == 1200 || gib == 2400 || gib % multiple == 0;
    if deployment == DeploymentType::Scratch1 && !standard_step(3600) {
        Some(&CAPACITY_SCRATCH_1)
    } else if deployment != DeploymentType::Scratch1 && storage == StorageType::Ssd && !standard_step(2400) {
        Some(&CAPACITY_SSD)
    } else if storage == StorageType::Hdd && throughput.is_some_and(|t| gib % if t == 12 { 6000 } else { 1800 } != 0) {
        Some(&CAPACITY_HDD)
    } else if gib < 1200 {
        Some(&CAPACITY_MINIMUM)
    } else {
        None
    }
}

/// Checks the network the operator took from the LustreClass (the class CRD's rules, re-checked
/// because a class installed from an older chart may lack one).
pub fn validate_network(net: &crate::types::NetworkSpec) -> Result<(), InvalidSpec> {
    let mut v: Vec<Violation> = Vec::new();
    if !is_aws_id(&net.subnet_id, "subnet-") {
        v.push(Violation::from(&SUBNET_ID_FORMAT));
    }
    if !net.security_group_ids.iter().all(|sg| is_aws_id(sg, "sg-")) {
        v.push(Violation::from(&SECURITY_GROUP_ID_FORMAT));
    }
    if !net.client_security_group_ids.iter().all(|sg| is_aws_id(sg, "sg-")) {
        v.push(Violation::from(&CLIENT_SECURITY_GROUP_ID_FORMAT));
    }
    if !net.security_group_ids.is_empty() && (!net.client_security_group_ids.is_empty() || !net.client_cidrs.is_empty())
    {
        v.push(Violation::from(&NETWORK_EXCLUSIVE));
    }
    if !net.client_cidrs.iter().all(|c| parse_cidr(c).is_some_and(|(_, len)| len >= 8)) {
        v.push(Violation::from(&CLIENT_CIDR_FORMAT));
    }
    if v.is_empty() {
        Ok(())
    } else {
        Err(InvalidSpec(v))
    }
}

/// Checks a spec on its own (create and every reconcile): the CEL rules of [`crate::crd`] with
/// their messages, at most one violation per field, plus what CEL cannot express.
// Long on purpose, it reads better whole: one check per CEL rule of the CRD, in the CRD's order, so the parity test and a reader can compare the two lists line by line.
pub fn validate(spec: &LustreVolumeSpec) -> Result<(), InvalidSpec> {
    let mut v: Vec<Violation> = Vec::new();
    let mut broken = |rule: &SpecRule| {
        if !v.iter().any(|x| x.field == rule.field_path) {
            v.push(Violation::from(rule));
        }
    };
    let dt = spec.deployment_type;
    let st = spec.storage_type;

    match spec.storage_capacity_gib {
        None if spec.file_system_id.is_none() => broken(&CAPACITY_REQUIRED),
        Some(gib) => {
            if let Some(rule) = capacity_violation(dt, st, spec.per_unit_storage_throughput, gib) {
                broken(rule);
            }
        }
        None => {}
    }

    match (allowed_throughputs(dt, st), spec.per_unit_storage_throughput) {
        (None, Some(_)) => broken(&THROUGHPUT_NOT_FOR_SCRATCH),
        (Some(_), None) => broken(&THROUGHPUT_REQUIRED),
        (Some(allowed), Some(t)) if !allowed.contains(&t) => broken(match (dt, st) {
            (DeploymentType::Persistent1, StorageType::Ssd) => &THROUGHPUT_PERSISTENT_1_SSD,
            (DeploymentType::Persistent1, StorageType::Hdd) => &THROUGHPUT_PERSISTENT_1_HDD,
            _ => &THROUGHPUT_PERSISTENT_2,
        }),
        _ => {}
    }

    if st == StorageType::Hdd && dt != DeploymentType::Persistent1 {
        broken(&HDD_ONLY_PERSISTENT_1);
    }
    match (st, spec.drive_cache_type) {
        (StorageType::Hdd, None) => broken(&DRIVE_CACHE_REQUIRED),
        (StorageType::Ssd, Some(_)) => broken(&DRIVE_CACHE_ONLY_HDD),
        _ => {}
    }
    if spec.kms_key_id.is_some() && dt.is_scratch() {
        broken(&KMS_ONLY_PERSISTENT);
    }
    if dt == DeploymentType::Persistent2 && spec.lustre_version == LustreVersion::V2_10 {
        broken(&PERSISTENT_2_VERSION);
    }
    if let Some(m) = spec.metadata_configuration {
        if dt != DeploymentType::Persistent2 || spec.lustre_version != LustreVersion::V2_15 {
            broken(&METADATA_ONLY_PERSISTENT_2);
        }
        let iops_ok = match (m.mode, m.iops) {
            (crate::types::MetadataMode::Automatic, iops) => iops.is_none(),
            (crate::types::MetadataMode::UserProvisioned, None) => false,
            (crate::types::MetadataMode::UserProvisioned, Some(i)) => {
                [1500, 3000, 6000, 12000].contains(&i) || (i > 0 && i % 12000 == 0 && i <= 192_000)
            }
        };
        if !iops_ok {
            broken(&METADATA_IOPS);
        }
    }
    if let Some(days) = spec.automatic_backup_retention_days {
        if !(0..=90).contains(&days) {
            broken(&BACKUP_DAYS_RANGE);
        } else if days > 0 && dt.is_scratch() {
            broken(&BACKUP_ONLY_PERSISTENT);
        }
    }
    if spec.weekly_maintenance_start_time.as_deref().is_some_and(|w| !is_weekly_time(w)) {
        broken(&WEEKLY_MAINTENANCE_FORMAT);
    }

    if let Some(s3) = &spec.s3 {
        let legacy = s3.import_path.is_some() || s3.export_path.is_some() || s3.auto_import_policy.is_some();
        if dt == DeploymentType::Persistent2 && legacy {
            broken(&S3_NOT_PERSISTENT_2);
        }
        if !s3.associations.is_empty() {
            if dt == DeploymentType::Scratch1 || spec.lustre_version == LustreVersion::V2_10 {
                broken(&ASSOCIATIONS_SUPPORTED);
            }
            if legacy {
                broken(&ASSOCIATIONS_NOT_WITH_LEGACY);
            }
            if let Some(rule) = association_violation(&s3.associations) {
                broken(rule);
            }
        }
        if s3.import_path.is_none() && (s3.export_path.is_some() || s3.auto_import_policy.is_some()) {
            broken(&S3_NEEDS_IMPORT_PATH);
        }
        if s3.import_path.as_deref().is_some_and(|p| s3_bucket(p).is_none()) {
            broken(&S3_IMPORT_PATH_URL);
        }
        if s3.export_path.as_deref().is_some_and(|p| s3_bucket(p).is_none()) {
            broken(&S3_EXPORT_PATH_URL);
        }
    }

    if spec.exports_before_delete() && !spec.is_s3_linked() {
        broken(&EXPORT_ON_DELETE_NEEDS_LINK);
    }

    if spec.file_system_id.as_deref().is_some_and(|id| !is_aws_id(id, "fs-")) {
        broken(&FILE_SYSTEM_ID_FORMAT);
    }
    if spec.claim.name.as_deref().is_some_and(|name| !is_dns_label(name)) {
        broken(&CLAIM_NAME_FORMAT);
    }
    if spec.mount_options.iter().any(|o| o.is_empty() || o.contains(char::is_whitespace)) {
        broken(&MOUNT_OPTIONS_FORMAT);
    }

    // The schema's size limits (a CRD from an older chart may lack them).
    if let Ok(json) = serde_json::to_value(spec) {
        for limit in LIMITS.iter().filter(|l| l.exceeded_by(&json)) {
            v.push(Violation { field: limit.field, message: limit.message.to_string() });
        }
    }

    // What CEL cannot express: CIDR syntax, the export bucket, reserved tag keys.
    if let Some(s3) = &spec.s3 {
        if let (Some(ib), Some(eb)) =
            (s3.import_path.as_deref().and_then(s3_bucket), s3.export_path.as_deref().and_then(s3_bucket))
        {
            if ib != eb {
                v.push(Violation {
                    field: ".s3.exportPath",
                    message: format!("s3.exportPath must be in the import bucket {ib:?}, not {eb:?}"),
                });
            }
        }
    }
    for key in spec.tags.keys() {
        if key.starts_with(RESERVED_PREFIX) || key.starts_with("aws:") {
            v.push(Violation {
                field: ".tags",
                message: format!("tag key {key:?} is reserved; the operator sets {RESERVED_PREFIX}* tags itself"),
            });
        }
        if key.is_empty() || key.chars().count() > 128 {
            v.push(Violation { field: ".tags", message: format!("tag key {key:?} must be 1 to 128 characters") });
        }
    }

    if v.is_empty() {
        Ok(())
    } else {
        Err(InvalidSpec(v))
    }
}

/// The first association rule the list breaks (the CEL rules of the same name, in their order).
fn association_violation(list: &[AssociationSpec]) -> Option<&'static SpecRule> {
    let pairs = || {
        list.iter()
            .enumerate()
            .flat_map(|(i, a)| list.iter().enumerate().filter(move |(j, _)| *j != i).map(move |(_, b)| (a, b)))
    };
    let dir = |p: &str| if p.ends_with('/') { p.to_string() } else { format!("{p}/") };
    if !list.iter().all(|a| is_file_system_path(&a.file_system_path)) {
        Some(&ASSOCIATION_PATH_FORMAT)
    } else if !list.iter().all(|a| is_s3_url_without_climbing(&a.data_repository_path)) {
        Some(&ASSOCIATION_REPOSITORY_URL)
    } else if pairs().any(|(a, b)| {
        let (x, y) = (&a.file_system_path, &b.file_system_path);
        x == y || x == "/" || y == "/" || y.starts_with(&format!("{x}/"))
    }) {
        Some(&ASSOCIATION_PATHS_DISJOINT)
    } else if pairs().any(|(a, b)| dir(&b.data_repository_path).starts_with(&dir(&a.data_repository_path))) {
        Some(&ASSOCIATION_REPOSITORIES_DISJOINT)
    } else if list.iter().any(|a| a.imported_file_chunk_size.is_some_and(|c| !(1..=512_000).contains(&c))) {
        Some(&ASSOCIATION_CHUNK_SIZE)
    } else {
        None
    }
}

/// `/`, or `/` followed by non-empty segments other than `.` and `..`, without a trailing `/`.
pub(crate) fn is_file_system_path(p: &str) -> bool {
    p == "/"
        || p.strip_prefix('/')
            .is_some_and(|rest| rest.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != ".."))
}

/// An s3://bucket[/key] URL whose key has no `..` segment.
pub(crate) fn is_s3_url_without_climbing(p: &str) -> bool {
    s3_bucket(p).is_some() && !p.contains("/../") && !p.ends_with("/..")
}

fn is_aws_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|hex| {
        (8..=17).contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    })
}

fn is_weekly_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && (b'1'..=b'7').contains(&b[0])
        && b[1] == b':'
        && b[4] == b':'
        && s[2..4].parse::<u8>().is_ok_and(|h| h < 24 && b[2].is_ascii_digit() && b[3].is_ascii_digit())
        && s[5..7].parse::<u8>().is_ok_and(|m| m < 60 && b[5].is_ascii_digit() && b[6].is_ascii_digit())
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The bucket of an `s3://bucket[/prefix]` URL.
pub fn s3_bucket(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("s3://")?;
    let bucket = rest.split('/').next()?;
    (bucket.len() >= 3
        && bucket.len() <= 63
        && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'))
    .then_some(bucket)
}

/// Parses an IPv4 CIDR into (address, prefix length).
/// The prefix length is plain decimal (no sign, no leading zero), as the class CRD's `cidr()` wants.
pub fn parse_cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (addr, len) = s.split_once('/')?;
    let plain = !len.is_empty() && len.bytes().all(|b| b.is_ascii_digit()) && (len == "0" || !len.starts_with('0'));
    plain.then_some(())?;
    let len: u8 = len.parse().ok()?;
    (len <= 32).then_some(())?;
    Some((addr.parse().ok()?, len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{DriveCacheType, NetworkSpec, S3Spec};

    fn spec(json: serde_json::Value) -> LustreVolumeSpec {
        serde_json::from_value(json).expect("test spec parses")
    }
    fn base() -> serde_json::Value {
        serde_json::json!({"storageCapacityGiB": 1200, "network": {"subnetId": "subnet-0123456789abcdef0"}})
    }
    fn fields(r: Result<(), InvalidSpec>) -> Vec<&'static str> {
        r.err().map(|e| e.0.into_iter().map(|v| v.field).collect()).unwrap_or_default()
    }
    fn capacity_is_valid(deployment: DeploymentType, storage: StorageType, throughput: Option<i32>, gib: i32) -> bool {
        capacity_violation(deployment, storage, throughput, gib).is_none()
    }

    #[test]
    fn defaults_are_scratch2_ssd_2_15_flock() {
        let s = spec(base());
        assert_eq!(s.deployment_type, DeploymentType::Scratch2);
        assert_eq!(s.storage_type, StorageType::Ssd);
        assert_eq!(s.lustre_version.as_str(), "2.15");
        assert_eq!(s.mount_options, vec!["flock".to_string()]);
        assert_eq!(s.effective_deletion_policy(), crate::types::DeletionPolicy::Delete);
        assert!(validate(&s).is_ok());
    }

    #[test]
    fn capacity_steps() {
        use DeploymentType::*;
        assert!(capacity_is_valid(Scratch1, StorageType::Ssd, None, 3600));
        assert!(!capacity_is_valid(Scratch1, StorageType::Ssd, None, 4800));
        assert!(capacity_is_valid(Scratch2, StorageType::Ssd, None, 4800));
        assert!(!capacity_is_valid(Scratch2, StorageType::Ssd, None, 1000));
        assert!(!capacity_is_valid(Scratch2, StorageType::Ssd, None, 3600));
        assert!(capacity_is_valid(Persistent1, StorageType::Hdd, Some(12), 6000));
        assert!(!capacity_is_valid(Persistent1, StorageType::Hdd, Some(12), 1800));
        assert!(capacity_is_valid(Persistent1, StorageType::Hdd, Some(40), 1800));
        assert!(!capacity_is_valid(Persistent1, StorageType::Hdd, Some(40), 0));
    }

    #[test]
    fn invalid_specs_name_the_field() {
        let mut j = base();
        j["storageCapacityGiB"] = 1000.into();
        assert_eq!(fields(validate(&spec(j))), vec![".storageCapacityGiB"]);

        let mut j = base();
        j["perUnitStorageThroughput"] = 125.into();
        assert_eq!(fields(validate(&spec(j))), vec![".perUnitStorageThroughput"]);

        let mut j = base();
        j["storageType"] = "HDD".into();
        j["driveCacheType"] = "READ".into();
        j["storageCapacityGiB"] = 6000.into();
        assert!(fields(validate(&spec(j))).contains(&".storageType"));

        let mut j = base();
        j["deploymentType"] = "PERSISTENT_2".into();
        assert_eq!(fields(validate(&spec(j))), vec![".perUnitStorageThroughput"]);
    }

    #[test]
    fn persistent_hdd_is_valid_with_cache() {
        let mut s = spec(base());
        s.deployment_type = DeploymentType::Persistent1;
        s.storage_type = StorageType::Hdd;
        s.per_unit_storage_throughput = Some(12);
        s.storage_capacity_gib = Some(6000);
        s.drive_cache_type = Some(DriveCacheType::Read);
        assert!(validate(&s).is_ok(), "{:?}", validate(&s));
        s.drive_cache_type = None;
        assert_eq!(fields(validate(&s)), vec![".driveCacheType"]);
    }

    #[test]
    fn messages_are_the_cel_rule_messages() {
        let mut j = base();
        j["deploymentType"] = "PERSISTENT_2".into();
        j["perUnitStorageThroughput"] = 125.into();
        j["lustreVersion"] = "2.10".into();
        let err = validate(&spec(j)).expect_err("2.10 on PERSISTENT_2 is invalid");
        assert_eq!(err.0, vec![Violation::from(&PERSISTENT_2_VERSION)]);
        assert_eq!(err.to_string(), format!("spec.lustreVersion: {}", PERSISTENT_2_VERSION.message));
    }

    #[test]
    fn size_limits_are_checked() {
        let mut s = spec(base());
        s.tags = (0..41).map(|i| (format!("k{i}"), "v".to_string())).collect();
        s.mount_options = vec!["x".repeat(129)];
        let err = validate(&s).expect_err("41 tags and a long mount option are invalid");
        let messages: Vec<&str> = err.0.iter().map(|v| v.message.as_str()).collect();
        assert!(messages.contains(&"at most 40 tags (FSx allows 50 and the operator adds its own)"), "{messages:?}");
        assert!(messages.contains(&"each mount option must be at most 128 characters"), "{messages:?}");
    }

    #[test]
    fn network_and_s3_checks() {
        let mut s = spec(base());
        s.network = NetworkSpec {
            subnet_id: "subnet-0123456789abcdef0".into(),
            security_group_ids: vec!["sg-0123456789abcdef0".into()],
            client_security_group_ids: vec![],
            client_cidrs: vec!["10.0.0.0/33".into()],
        };
        let f = fields(validate_network(&s.network));
        assert!(f.contains(&".network") && f.contains(&".network.clientCidrs"), "{f:?}");
        s.network.security_group_ids.clear();
        s.network.client_cidrs = vec!["0.0.0.0/0".into()];
        assert_eq!(fields(validate_network(&s.network)), vec![".network.clientCidrs"]);
        s.network.client_cidrs = vec!["10.0.0.0/16".into()];
        assert!(validate_network(&s.network).is_ok());

        let mut s = spec(base());
        s.s3 = Some(S3Spec {
            import_path: Some("s3://data/in".into()),
            export_path: Some("s3://other/out".into()),
            auto_import_policy: None,
            ..Default::default()
        });
        assert_eq!(fields(validate(&s)), vec![".s3.exportPath"]);
        s.s3 = Some(S3Spec {
            import_path: Some("s3://data/in".into()),
            export_path: Some("s3://data/out".into()),
            auto_import_policy: None,
            ..Default::default()
        });
        assert!(validate(&s).is_ok());
    }

    #[test]
    fn associations_follow_fsx_rules() {
        let mut s = spec(base());
        s.deployment_type = DeploymentType::Persistent2;
        s.per_unit_storage_throughput = Some(125);
        let a = |fs: &str, repo: &str| AssociationSpec {
            file_system_path: fs.into(),
            data_repository_path: repo.into(),
            ..Default::default()
        };
        let with = |s: &LustreVolumeSpec, list: Vec<AssociationSpec>| {
            let mut s = s.clone();
            s.s3 = Some(S3Spec { associations: list, ..Default::default() });
            s
        };
        let ok =
            with(&s, vec![a("/datasets", "s3://ml-data/team/datasets/"), a("/results", "s3://ml-data/team/results")]);
        assert!(validate(&ok).is_ok(), "{:?}", validate(&ok));
        let message = |s: &LustreVolumeSpec| validate(s).err().map(|e| e.to_string()).unwrap_or_default();
        let nested = with(&s, vec![a("/data", "s3://ml-data/a/"), a("/data/sub", "s3://ml-data/b/")]);
        assert!(message(&nested).contains(ASSOCIATION_PATHS_DISJOINT.message));
        let root = with(&s, vec![a("/", "s3://ml-data/a/"), a("/x", "s3://ml-data/b/")]);
        assert!(message(&root).contains(ASSOCIATION_PATHS_DISJOINT.message));
        let repos = with(&s, vec![a("/a", "s3://ml-data/a"), a("/b", "s3://ml-data/a/b/")]);
        assert!(message(&repos).contains(ASSOCIATION_REPOSITORIES_DISJOINT.message));
        let siblings = with(&s, vec![a("/a", "s3://ml-data/a/"), a("/ab", "s3://ml-data/ab/")]);
        assert!(validate(&siblings).is_ok());
        let trailing = with(&s, vec![a("/a/", "s3://ml-data/a/")]);
        assert!(message(&trailing).contains(ASSOCIATION_PATH_FORMAT.message));
        let mut scratch1 = ok.clone();
        scratch1.deployment_type = DeploymentType::Scratch1;
        scratch1.per_unit_storage_throughput = None;
        assert!(message(&scratch1).contains(ASSOCIATIONS_SUPPORTED.message));
        let mut legacy = ok.clone();
        legacy.deployment_type = DeploymentType::Persistent1;
        legacy.per_unit_storage_throughput = Some(50);
        if let Some(s3) = legacy.s3.as_mut() {
            s3.import_path = Some("s3://ml-data/team/in".into());
        }
        assert!(message(&legacy).contains(ASSOCIATIONS_NOT_WITH_LEGACY.message));
        let nine = with(&s, (0..9).map(|i| a(&format!("/d{i}"), &format!("s3://ml-data/d{i}/"))).collect());
        assert!(message(&nine).contains("at most 8 s3.associations"));
        let mut export = s.clone();
        export.on_delete = Some(crate::types::OnDeleteSpec { export_to_s3: true });
        assert!(message(&export).contains(EXPORT_ON_DELETE_NEEDS_LINK.message));
        let mut export_ok = ok.clone();
        export_ok.on_delete = Some(crate::types::OnDeleteSpec { export_to_s3: true });
        assert!(validate(&export_ok).is_ok());
    }

    #[test]
    fn reserved_tags_and_bad_ids_are_rejected() {
        let mut s = spec(base());
        s.tags.insert("lustre.fsx.dev/owner-uid".into(), "x".into());
        s.file_system_id = Some("fs-XYZ".into());
        let f = fields(validate(&s));
        assert!(f.contains(&".tags") && f.contains(&".fileSystemId"), "{f:?}");
    }

    #[test]
    fn cidr_prefix_lengths_are_plain_decimal() {
        assert_eq!(parse_cidr("10.0.0.0/16").map(|(_, l)| l), Some(16));
        assert_eq!(parse_cidr("0.0.0.0/0").map(|(_, l)| l), Some(0));
        assert!(parse_cidr("10.0.0.0/016").is_none());
        assert!(parse_cidr("10.0.0.0/+16").is_none());
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("10.0.0.0/").is_none());
    }

    #[test]
    fn weekly_time_format() {
        assert!(is_weekly_time("7:03:00"));
        assert!(!is_weekly_time("8:03:00"));
        assert!(!is_weekly_time("1:24:00"));
        assert!(!is_weekly_time("1:2:00"));
        assert!(!is_weekly_time("1:+2:00"));
    }
}
