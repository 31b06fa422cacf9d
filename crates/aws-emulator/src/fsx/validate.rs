//! FSx for Lustre's validation rules: capacities, throughput, versions, formats.

use crate::error::{ApiError, ApiResult};

pub(crate) const DEPLOYMENT_TYPES: &[&str] = &["SCRATCH_1", "SCRATCH_2", "PERSISTENT_1", "PERSISTENT_2"];
pub(crate) const VERSIONS: &[&str] = &["2.10", "2.12", "2.15"];

pub(crate) fn is_persistent(deployment: &str) -> bool {
    deployment.starts_with("PERSISTENT")
}

pub(crate) fn deployment_type(value: &str) -> ApiResult<()> {
    if DEPLOYMENT_TYPES.contains(&value) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("Invalid DeploymentType: {value}")))
    }
}

pub(crate) fn storage_type(deployment: &str, storage: &str) -> ApiResult<()> {
    match storage {
        "SSD" => Ok(()),
        "HDD" if deployment == "PERSISTENT_1" => Ok(()),
        "INTELLIGENT_TIERING" if deployment == "PERSISTENT_2" => Ok(()),
        "HDD" | "INTELLIGENT_TIERING" => Err(ApiError::bad_request(format!(
            "StorageType {storage} is not supported for deployment type {deployment}"
        ))),
        other => Err(ApiError::bad_request(format!("Invalid StorageType: {other}"))),
    }
}

/// Allowed PerUnitStorageThroughput values (MB/s/TiB); empty for scratch.
pub(crate) fn throughputs(deployment: &str, storage: &str) -> &'static [i64] {
    match (deployment, storage) {
        ("PERSISTENT_1", "SSD") => &[50, 100, 200],
        ("PERSISTENT_1", "HDD") => &[12, 40],
        ("PERSISTENT_2", "SSD") => &[125, 250, 500, 1000],
        _ => &[],
    }
}

pub(crate) fn throughput(deployment: &str, storage: &str, value: Option<i64>) -> ApiResult<()> {
    if !is_persistent(deployment) || storage == "INTELLIGENT_TIERING" {
        return match value {
            None => Ok(()),
            Some(_) => Err(ApiError::bad_request(format!(
                "PerUnitStorageThroughput is not supported for deployment type {deployment}"
            ))),
        };
    }
    let Some(value) = value else {
        return Err(ApiError::bad_request(format!(
            "PerUnitStorageThroughput is required for deployment type {deployment}"
        )));
    };
    let allowed = throughputs(deployment, storage);
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ApiError::new(
            "InvalidPerUnitStorageThroughput",
            format!(
                "Invalid PerUnitStorageThroughput {value} for {deployment} {storage}; allowed values are {allowed:?}"
            ),
        ))
    }
}

/// Valid StorageCapacity (GiB) for the deployment, storage type and throughput.
pub(crate) fn capacity_valid(deployment: &str, storage: &str, throughput: Option<i64>, capacity: i64) -> bool {
    if capacity <= 0 {
        return false;
    }
    match (deployment, storage, throughput) {
        (_, "INTELLIGENT_TIERING", _) => true,
        ("PERSISTENT_1", "HDD", Some(12)) => capacity % 6000 == 0,
        ("PERSISTENT_1", "HDD", _) => capacity % 1800 == 0,
        ("SCRATCH_1", _, _) => capacity == 1200 || capacity == 2400 || capacity % 3600 == 0,
        _ => capacity == 1200 || capacity == 2400 || capacity % 2400 == 0,
    }
}

pub(crate) fn capacity(deployment: &str, storage: &str, throughput: Option<i64>, capacity: i64) -> ApiResult<()> {
    if capacity_valid(deployment, storage, throughput, capacity) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Invalid storage capacity {capacity} GiB for {deployment} {storage}: {}",
            match (deployment, storage, throughput) {
                ("PERSISTENT_1", "HDD", Some(12)) => "use a multiple of 6000 GiB",
                ("PERSISTENT_1", "HDD", _) => "use a multiple of 1800 GiB",
                ("SCRATCH_1", _, _) => "use 1200, 2400 or a multiple of 3600 GiB",
                _ => "use 1200, 2400 or a multiple of 2400 GiB",
            }
        )))
    }
}

pub(crate) fn version(deployment: &str, version: &str) -> ApiResult<()> {
    if !VERSIONS.contains(&version) {
        return Err(ApiError::bad_request(format!("Invalid FileSystemTypeVersion: {version}")));
    }
    if deployment == "PERSISTENT_2" && version == "2.10" {
        return Err(ApiError::bad_request("PERSISTENT_2 file systems require FileSystemTypeVersion 2.12 or later"));
    }
    Ok(())
}

pub(crate) fn version_rank(version: &str) -> usize {
    VERSIONS.iter().position(|v| *v == version).unwrap_or(0)
}

/// `d:HH:MM`, d in 1..=7.
pub(crate) fn weekly_time(value: &str) -> ApiResult<()> {
    let ok = value.len() == 7
        && value
            .split_once(':')
            .is_some_and(|(d, hm)| matches!(d, "1" | "2" | "3" | "4" | "5" | "6" | "7") && hh_mm(hm));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("Invalid WeeklyMaintenanceStartTime: {value}")))
    }
}

pub(crate) fn daily_time(value: &str) -> ApiResult<()> {
    if hh_mm(value) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("Invalid DailyAutomaticBackupStartTime: {value}")))
    }
}

fn hh_mm(value: &str) -> bool {
    match value.split_once(':') {
        Some((h, m)) if h.len() == 2 && m.len() == 2 => {
            matches!(h.parse::<u32>(), Ok(h) if h < 24) && matches!(m.parse::<u32>(), Ok(m) if m < 60)
        }
        _ => false,
    }
}

pub(crate) fn one_of(field: &str, value: &str, allowed: &[&str]) -> ApiResult<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("Invalid {field}: {value}; allowed values are {allowed:?}")))
    }
}

/// INTELLIGENT_TIERING `ThroughputCapacity` (MBps): 4000 or multiples of 4000 up to 2,000,000
/// (API model, CreateFileSystemLustreConfiguration.ThroughputCapacity; user guide,
/// managing-throughput-capacity).
pub(crate) const IT_THROUGHPUT_STEP: i64 = 4000;
pub(crate) const IT_THROUGHPUT_MAX: i64 = 2_000_000;

pub(crate) fn throughput_capacity(value: i64) -> ApiResult<()> {
    if value >= IT_THROUGHPUT_STEP && value % IT_THROUGHPUT_STEP == 0 && value <= IT_THROUGHPUT_MAX {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Invalid ThroughputCapacity {value} MBps: use 4000 MBps or a multiple of 4000 MBps up to {IT_THROUGHPUT_MAX}"
        )))
    }
}

/// The SSD read cache sizes (GiB) an INTELLIGENT_TIERING file system of `throughput_capacity`
/// MBps accepts with `SizingMode` USER_PROVISIONED: 32 to 131072 GiB per 4000 MBps (API model,
/// LustreReadCacheConfiguration.SizeGiB).
pub(crate) fn read_cache_bounds(throughput_capacity: i64) -> (i64, i64) {
    let units = (throughput_capacity / IT_THROUGHPUT_STEP).max(1);
    (32 * units, 131_072 * units)
}

/// Whether `iops` is a valid metadata IOPS value for the storage type: SSD 1500, 3000, 6000,
/// 12000, then multiples of 12000 up to 192000; INTELLIGENT_TIERING 6000 or 12000 (API model,
/// CreateFileSystemLustreMetadataConfiguration.Iops).
pub(crate) fn metadata_iops_valid(storage: &str, iops: i64) -> bool {
    if storage == "INTELLIGENT_TIERING" {
        return iops == 6000 || iops == 12000;
    }
    [1500, 3000, 6000, 12000].contains(&iops) || (iops % 12000 == 0 && (12000..=192_000).contains(&iops))
}

/// The metadata IOPS FSx provisions in AUTOMATIC mode for an SSD capacity (GiB): 1200 GiB 1500,
/// 2400 GiB 3000, 4800-9600 GiB 6000, 12000-45600 GiB 12000, from 48000 GiB 12000 per 24000 GiB
/// (user guide, performance.html#dne-metadata-performance), at most 192000.
pub(crate) fn automatic_metadata_iops(capacity: i64) -> i64 {
    if capacity <= 1200 {
        1500
    } else if capacity <= 2400 {
        3000
    } else if capacity <= 9600 {
        6000
    } else if capacity < 48_000 {
        12000
    } else {
        (12000 * (capacity / 24000)).min(192_000)
    }
}

/// EFA-enabled file systems grow in steps of 38400 / 19200 / 9600 / 4800 GiB at
/// 125 / 250 / 500 / 1000 MB/s/TiB (user guide, managing-storage-capacity).
pub(crate) fn efa_capacity_step(throughput: Option<i64>) -> Option<i64> {
    match throughput {
        Some(125) => Some(38400),
        Some(250) => Some(19200),
        Some(500) => Some(9600),
        Some(1000) => Some(4800),
        _ => None,
    }
}

pub(crate) fn efa_capacity(throughput: Option<i64>, capacity: i64) -> ApiResult<()> {
    match efa_capacity_step(throughput) {
        Some(step) if capacity > 0 && capacity % step == 0 => Ok(()),
        Some(step) => Err(ApiError::bad_request(format!(
            "Invalid storage capacity {capacity} GiB for an EFA-enabled file system at {} MB/s/TiB: use a multiple of {step} GiB",
            throughput.unwrap_or_default()
        ))),
        None => Err(ApiError::bad_request(
            "EFA-enabled file systems require PERSISTENT_2 SSD with PerUnitStorageThroughput 125, 250, 500 or 1000",
        )),
    }
}

/// A Lustre NID for `NoSquashNids`: `10.0.1.6@tcp` or with ranges, `10.0.[2-10].[1-255]@tcp`
/// (API model, LustreRootSquashConfiguration.NoSquashNids).
pub(crate) fn no_squash_nid(nid: &str) -> bool {
    let Some(address) = nid.strip_suffix("@tcp") else {
        return false;
    };
    let parts: Vec<&str> = address.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && match p.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                    Some(range) => range.split_once('-').is_some_and(|(a, b)| octet(a) && octet(b)),
                    None => octet(p),
                }
        })
}

fn octet(s: &str) -> bool {
    !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u16>().is_ok_and(|n| n < 256)
}

/// A `LogConfiguration.Destination`: a CloudWatch Logs log group ARN in the file system's
/// region and account whose name begins with `/aws/fsx` (API model, LustreLogCreateConfiguration).
pub(crate) fn log_destination(dest: &str, region: &str, account: &str) -> ApiResult<()> {
    let prefix = format!("arn:aws:logs:{region}:{account}:log-group:");
    let ok = dest.strip_prefix(&prefix).is_some_and(|name| name.trim_end_matches(":*").starts_with("/aws/fsx"));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Invalid LogConfiguration.Destination {dest}: use a CloudWatch Logs log group ARN ({prefix}/aws/fsx...) in the file system's region and account"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities() {
        assert!(capacity_valid("SCRATCH_1", "SSD", None, 1200));
        assert!(capacity_valid("SCRATCH_1", "SSD", None, 3600));
        assert!(!capacity_valid("SCRATCH_1", "SSD", None, 4800));
        assert!(capacity_valid("SCRATCH_2", "SSD", None, 4800));
        assert!(!capacity_valid("PERSISTENT_2", "SSD", Some(125), 3600));
        assert!(capacity_valid("PERSISTENT_1", "HDD", Some(12), 6000));
        assert!(!capacity_valid("PERSISTENT_1", "HDD", Some(12), 1800));
        assert!(capacity_valid("PERSISTENT_1", "HDD", Some(40), 1800));
        assert!(!capacity_valid("SCRATCH_2", "SSD", None, 0));
    }

    #[test]
    fn times() {
        assert!(weekly_time("1:03:30").is_ok());
        assert!(weekly_time("8:03:30").is_err());
        assert!(weekly_time("1:24:00").is_err());
        assert!(daily_time("23:59").is_ok());
        assert!(daily_time("2:00").is_err());
    }

    #[test]
    fn automatic_metadata_iops_follows_the_user_guide_table() {
        for (gib, iops) in [(1200, 1500), (2400, 3000), (4800, 6000), (9600, 6000), (12000, 12000), (45600, 12000)] {
            assert_eq!(automatic_metadata_iops(gib), iops, "{gib} GiB");
        }
        for (gib, iops) in [(48000, 24000), (72000, 36000), (96000, 48000), (600_000, 192_000)] {
            assert_eq!(automatic_metadata_iops(gib), iops, "{gib} GiB");
        }
    }

    #[test]
    fn metadata_iops_values() {
        for ok in [1500, 3000, 6000, 12000, 24000, 192_000] {
            assert!(metadata_iops_valid("SSD", ok), "{ok}");
        }
        for bad in [0, 1000, 9000, 18000, 204_000] {
            assert!(!metadata_iops_valid("SSD", bad), "{bad}");
        }
        assert!(metadata_iops_valid("INTELLIGENT_TIERING", 6000));
        assert!(!metadata_iops_valid("INTELLIGENT_TIERING", 1500));
        assert!(!metadata_iops_valid("INTELLIGENT_TIERING", 24000));
    }

    #[test]
    fn efa_steps_and_read_cache_bounds() {
        assert!(efa_capacity(Some(125), 38400).is_ok());
        assert!(efa_capacity(Some(125), 19200).is_err());
        assert!(efa_capacity(Some(1000), 4800).is_ok());
        assert!(efa_capacity(Some(1000), 2400).is_err());
        assert!(efa_capacity(Some(500), 28800).is_ok());
        assert_eq!(read_cache_bounds(4000), (32, 131_072));
        assert_eq!(read_cache_bounds(8000), (64, 262_144));
        assert!(throughput_capacity(4000).is_ok());
        assert!(throughput_capacity(6000).is_err());
        assert!(throughput_capacity(2_004_000).is_err());
    }

    #[test]
    fn nids_and_log_destinations() {
        for ok in ["10.0.1.6@tcp", "10.0.[2-10].[1-255]@tcp"] {
            assert!(no_squash_nid(ok), "{ok}");
        }
        for bad in ["10.0.1.6", "10.0.1@tcp", "10.0.1.256@tcp", "10.0.[2].1@tcp", "a.b.c.d@tcp"] {
            assert!(!no_squash_nid(bad), "{bad}");
        }
        let arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/fsx/lustre";
        assert!(log_destination(arn, "us-east-1", "123456789012").is_ok());
        assert!(log_destination(&format!("{arn}:*"), "us-east-1", "123456789012").is_ok());
        assert!(log_destination(arn, "eu-west-1", "123456789012").is_err());
        let other = "arn:aws:logs:us-east-1:123456789012:log-group:/my/logs";
        assert!(log_destination(other, "us-east-1", "123456789012").is_err());
    }
}
