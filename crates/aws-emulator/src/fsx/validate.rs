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
}
