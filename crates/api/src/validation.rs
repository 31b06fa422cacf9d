//! Spec validation done by the operator before any AWS call.
//!
//! The apiserver already enforces the CEL rules in [`crate::crd`]; this module checks the same
//! constraints again (a CRD installed from an older chart may lack a rule) and the ones CEL cannot
//! express well: CIDR syntax, bucket agreement of the S3 paths, reserved tag keys.

use std::net::Ipv4Addr;

use crate::tags::RESERVED_PREFIX;
use crate::types::{DeploymentType, LustreVolumeSpec, StorageType};

/// One thing wrong with a spec: the field and what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: &'static str,
    pub message: String,
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

/// Capacities FSx accepts for a deployment / storage type / throughput at creation.
pub fn capacity_is_valid(deployment: DeploymentType, storage: StorageType, throughput: Option<i32>, gib: i32) -> bool {
    if gib < 1200 && storage == StorageType::Ssd {
        return false;
    }
    match (deployment, storage) {
        (DeploymentType::Scratch1, _) => gib == 1200 || gib == 2400 || gib % 3600 == 0,
        (_, StorageType::Ssd) => gib == 1200 || gib == 2400 || gib % 2400 == 0,
        (_, StorageType::Hdd) => {
            let step = if throughput == Some(12) { 6000 } else { 1800 };
            gib > 0 && gib % step == 0
        }
    }
}

/// Throughput values FSx accepts, or None when throughput must be absent.
pub fn allowed_throughputs(deployment: DeploymentType, storage: StorageType) -> Option<&'static [i32]> {
    match (deployment, storage) {
        (DeploymentType::Scratch1 | DeploymentType::Scratch2, _) => None,
        (DeploymentType::Persistent1, StorageType::Ssd) => Some(&[50, 100, 200]),
        (DeploymentType::Persistent1, StorageType::Hdd) => Some(&[12, 40]),
        (DeploymentType::Persistent2, _) => Some(&[125, 250, 500, 1000]),
    }
}

/// Checks a spec on its own (create and every reconcile).
pub fn validate(spec: &LustreVolumeSpec) -> Result<(), InvalidSpec> {
    let mut v = Vec::new();
    let mut bad = |field: &'static str, message: String| v.push(Violation { field, message });
    let dt = spec.deployment_type;
    let st = spec.storage_type;

    match spec.storage_capacity_gib {
        None if spec.file_system_id.is_none() => bad(
            ".storageCapacityGiB",
            "storageCapacityGiB is required unless fileSystemId adopts an existing file system".into(),
        ),
        Some(gib) if !capacity_is_valid(dt, st, spec.per_unit_storage_throughput, gib) => bad(
            ".storageCapacityGiB",
            match (dt, st) {
                (DeploymentType::Scratch1, _) => {
                    format!("{gib} GiB is not valid for SCRATCH_1: use 1200, 2400 or a multiple of 3600")
                }
                (_, StorageType::Ssd) => {
                    format!("{gib} GiB is not valid for {} on SSD: use 1200, 2400 or a multiple of 2400", dt.as_str())
                }
                (_, StorageType::Hdd) => {
                    format!("{gib} GiB is not valid on HDD: use a multiple of 6000 (12 MB/s/TiB) or 1800 (40 MB/s/TiB)")
                }
            },
        ),
        _ => {}
    }

    match (allowed_throughputs(dt, st), spec.per_unit_storage_throughput) {
        (None, Some(_)) => bad(
            ".perUnitStorageThroughput",
            format!("perUnitStorageThroughput is not allowed for {}; remove it", dt.as_str()),
        ),
        (Some(allowed), None) => bad(
            ".perUnitStorageThroughput",
            format!("perUnitStorageThroughput is required for {} on {}: one of {allowed:?}", dt.as_str(), st.as_str()),
        ),
        (Some(allowed), Some(t)) if !allowed.contains(&t) => bad(
            ".perUnitStorageThroughput",
            format!(
                "perUnitStorageThroughput {t} is not valid for {} on {}: use one of {allowed:?}",
                dt.as_str(),
                st.as_str()
            ),
        ),
        _ => {}
    }

    if st == StorageType::Hdd && dt != DeploymentType::Persistent1 {
        bad(".storageType", "storageType HDD is only available with deploymentType PERSISTENT_1; use SSD".into());
    }
    match (st, spec.drive_cache_type) {
        (StorageType::Hdd, None) => {
            bad(".driveCacheType", "driveCacheType (NONE or READ) is required with storageType HDD".into())
        }
        (StorageType::Ssd, Some(_)) => {
            bad(".driveCacheType", "driveCacheType is only allowed with storageType HDD; remove it".into())
        }
        _ => {}
    }
    if spec.kms_key_id.is_some() && dt.is_scratch() {
        bad(".kmsKeyId", "kmsKeyId is only allowed for PERSISTENT_1 and PERSISTENT_2; remove it".into());
    }
    if dt == DeploymentType::Persistent2 && spec.lustre_version == crate::types::LustreVersion::V2_10 {
        bad(".lustreVersion", "PERSISTENT_2 needs lustreVersion 2.12 or 2.15".into());
    }
    if let Some(days) = spec.automatic_backup_retention_days {
        if !(0..=90).contains(&days) {
            bad(".automaticBackupRetentionDays", "automaticBackupRetentionDays must be between 0 and 90".into());
        } else if days > 0 && dt.is_scratch() {
            bad(
                ".automaticBackupRetentionDays",
                "automaticBackupRetentionDays is only available for PERSISTENT_1 and PERSISTENT_2; remove it".into(),
            );
        }
    }
    if let Some(w) = &spec.weekly_maintenance_start_time {
        if !is_weekly_time(w) {
            bad(
                ".weeklyMaintenanceStartTime",
                format!("{w:?} is not d:HH:MM in UTC with d from 1 (Monday) to 7 (Sunday)"),
            );
        }
    }

    let net = &spec.network;
    if !is_aws_id(&net.subnet_id, "subnet-") {
        bad(".network.subnetId", format!("{:?} is not a subnet ID such as subnet-0123456789abcdef0", net.subnet_id));
    }
    for sg in net.security_group_ids.iter().chain(&net.client_security_group_ids) {
        if !is_aws_id(sg, "sg-") {
            bad(".network", format!("{sg:?} is not a security group ID such as sg-0123456789abcdef0"));
        }
    }
    if !net.security_group_ids.is_empty() && (!net.client_security_group_ids.is_empty() || !net.client_cidrs.is_empty())
    {
        bad(".network", "network.clientSecurityGroupIds and network.clientCidrs configure the managed security group; with network.securityGroupIds, open the Lustre ports in those groups instead".into());
    }
    for cidr in &net.client_cidrs {
        if parse_cidr(cidr).is_none() {
            bad(".network.clientCidrs", format!("{cidr:?} is not an IPv4 CIDR such as 10.0.0.0/16"));
        }
    }

    if let Some(s3) = &spec.s3 {
        if dt == DeploymentType::Persistent2 {
            bad(".s3", "s3 is only available for SCRATCH_1, SCRATCH_2 and PERSISTENT_1".into());
        }
        let import_bucket = s3.import_path.as_deref().map(s3_bucket);
        if let Some(None) = import_bucket {
            bad(".s3.importPath", "s3.importPath must be an S3 URL such as s3://bucket/prefix".into());
        }
        match (&s3.export_path, &import_bucket) {
            (Some(_), None) => bad(".s3.exportPath", "s3.exportPath needs s3.importPath".into()),
            (Some(export), Some(Some(ib))) => match s3_bucket(export) {
                None => bad(".s3.exportPath", "s3.exportPath must be an S3 URL such as s3://bucket/prefix".into()),
                Some(eb) if eb != *ib => {
                    bad(".s3.exportPath", format!("s3.exportPath must be in the import bucket {ib:?}, not {eb:?}"))
                }
                _ => {}
            },
            _ => {}
        }
        if s3.auto_import_policy.is_some() && s3.import_path.is_none() {
            bad(".s3.autoImportPolicy", "s3.autoImportPolicy needs s3.importPath".into());
        }
    }

    if let Some(id) = &spec.file_system_id {
        if !is_aws_id(id, "fs-") {
            bad(".fileSystemId", format!("{id:?} is not a file system ID such as fs-0123456789abcdef0"));
        }
    }
    for key in spec.tags.keys() {
        if key.starts_with(RESERVED_PREFIX) || key.starts_with("aws:") {
            bad(".tags", format!("tag key {key:?} is reserved; the operator sets {RESERVED_PREFIX}* tags itself"));
        }
        if key.is_empty() || key.len() > 128 {
            bad(".tags", format!("tag key {key:?} must be 1 to 128 characters"));
        }
    }
    if spec.tags.len() > 40 {
        bad(".tags", "at most 40 tags (FSx allows 50 and the operator adds its own)".into());
    }
    if let Some(name) = &spec.claim.name {
        if !is_dns_label(name) {
            bad(
                ".claim.name",
                format!("{name:?} is not a valid claim name (lowercase letters, digits and '-', at most 63)"),
            );
        }
    }
    if spec.mount_options.iter().any(|o| o.is_empty() || o.contains(char::is_whitespace)) {
        bad(".mountOptions", "mount options must be non-empty and contain no spaces".into());
    }

    if v.is_empty() {
        Ok(())
    } else {
        Err(InvalidSpec(v))
    }
}

/// Checks an update against the previous spec (immutable fields, capacity that only grows).
pub fn validate_update(old: &LustreVolumeSpec, new: &LustreVolumeSpec) -> Result<(), InvalidSpec> {
    let mut v = Vec::new();
    let mut immutable = |changed: bool, field: &'static str| {
        if changed {
            v.push(Violation {
                field,
                message: format!("spec{field} is immutable; create a new LustreVolume to change it"),
            });
        }
    };
    immutable(old.deployment_type != new.deployment_type, ".deploymentType");
    immutable(old.storage_type != new.storage_type, ".storageType");
    immutable(old.network.subnet_id != new.network.subnet_id, ".network.subnetId");
    immutable(old.kms_key_id != new.kms_key_id, ".kmsKeyId");
    immutable(old.lustre_version != new.lustre_version, ".lustreVersion");
    immutable(old.file_system_id != new.file_system_id, ".fileSystemId");
    immutable(old.claim.name != new.claim.name, ".claim.name");
    if let (Some(o), n) = (old.storage_capacity_gib, new.storage_capacity_gib) {
        if n.is_none_or(|n| n < o) {
            v.push(Violation {
                field: ".storageCapacityGiB",
                message: format!("storageCapacityGiB can only grow (was {o})"),
            });
        }
    }
    if v.is_empty() {
        Ok(())
    } else {
        Err(InvalidSpec(v))
    }
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
pub fn parse_cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (addr, len) = s.split_once('/')?;
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
    fn network_and_s3_checks() {
        let mut s = spec(base());
        s.network = NetworkSpec {
            subnet_id: "subnet-0123456789abcdef0".into(),
            security_group_ids: vec!["sg-0123456789abcdef0".into()],
            client_security_group_ids: vec![],
            client_cidrs: vec!["10.0.0.0/33".into()],
        };
        let f = fields(validate(&s));
        assert!(f.contains(&".network") && f.contains(&".network.clientCidrs"), "{f:?}");

        let mut s = spec(base());
        s.s3 = Some(S3Spec {
            import_path: Some("s3://data/in".into()),
            export_path: Some("s3://other/out".into()),
            auto_import_policy: None,
        });
        assert_eq!(fields(validate(&s)), vec![".s3.exportPath"]);
        s.s3 = Some(S3Spec {
            import_path: Some("s3://data/in".into()),
            export_path: Some("s3://data/out".into()),
            auto_import_policy: None,
        });
        assert!(validate(&s).is_ok());
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
    fn updates_keep_immutable_fields_and_only_grow() {
        let old = spec(base());
        let mut new = old.clone();
        new.storage_capacity_gib = Some(2400);
        assert!(validate_update(&old, &new).is_ok());
        new.storage_capacity_gib = Some(1200);
        new.deployment_type = DeploymentType::Persistent2;
        let mut grown = new.clone();
        grown.storage_capacity_gib = Some(2400);
        assert_eq!(fields(validate_update(&grown, &new)), vec![".storageCapacityGiB"]);
        assert_eq!(fields(validate_update(&old, &new)), vec![".deploymentType"]);
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
