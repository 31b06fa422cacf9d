//! Emulator configuration: durations, quotas and the switches for behaviour AWS does not document.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything that shapes the emulator's behaviour. `Default` gives fast lifecycles suited to tests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmulatorConfig {
    /// CREATING -> AVAILABLE (file systems and data repository associations), before the spread.
    pub create_duration: Duration,
    /// Creation-time spread: a resource's creation takes `create_duration + f * create_spread`,
    /// f in [0, 1) fixed by its ID (see [`EmulatorConfig::create_duration_for`]), so that creations
    /// started together do not all end at one instant (AWS: 5 to 15 minutes). Zero (the default):
    /// every creation takes exactly `create_duration`.
    #[serde(default)]
    pub create_spread: Duration,
    /// DELETING -> gone.
    pub delete_duration: Duration,
    /// UPDATING -> AVAILABLE after UpdateFileSystem / UpdateDataRepositoryAssociation.
    pub update_duration: Duration,
    /// PENDING -> EXECUTING for data repository tasks (AWS: a short, undocumented wait).
    pub task_pending_duration: Duration,
    /// EXECUTING -> SUCCEEDED (or FAILED) for data repository tasks.
    pub task_duration: Duration,
    /// How long a ClientRequestToken is remembered (AWS: undocumented).
    pub token_window: Duration,
    /// Security-group rules younger than this are invisible to CreateFileSystem's network check.
    pub network_check_delay: Duration,
    /// Lustre file systems per account (AWS default 100).
    pub file_system_quota: u32,
    /// Total Lustre storage in GiB per account (AWS default 100800).
    pub storage_quota_gib: u64,
    /// Where state is persisted (atomically, after every mutating call).
    pub state_file: Option<PathBuf>,
    pub region: String,
    pub account_id: String,
    /// DeleteFileSystem while CREATING: accepted (true) or `BadRequest` (false, default). AWS: unverified.
    pub allow_delete_while_creating: bool,
    /// Minimum time between two storage-capacity increase requests, counted from the last request
    /// (AWS: 6 h; the storage optimization of the last increase must also have ended).
    pub storage_increase_cooldown: Duration,
    /// Minimum time between two metadata IOPS increase requests (AWS: 6 h).
    #[serde(default = "six_hours")]
    pub metadata_increase_cooldown: Duration,
    /// STORAGE_OPTIMIZATION after a storage-capacity increase's UPDATING phase (AWS: hours to
    /// days; the new capacity is usable meanwhile).
    #[serde(default = "two_seconds")]
    pub storage_optimization_duration: Duration,
    /// THROUGHPUT_OPTIMIZATION after a throughput change's UPDATING phase.
    #[serde(default = "two_seconds")]
    pub throughput_optimization_duration: Duration,
    /// IOPS_OPTIMIZATION after a metadata IOPS increase's UPDATING phase.
    #[serde(default = "two_seconds")]
    pub iops_optimization_duration: Duration,
    /// Emulated seconds per real second (1.0 = real time).
    pub clock_scale: f64,
    /// Default FileSystemTypeVersion when the request has none.
    pub default_file_system_type_version: String,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            create_duration: Duration::from_secs(2),
            create_spread: Duration::ZERO,
            delete_duration: Duration::from_secs(1),
            update_duration: Duration::from_secs(2),
            task_pending_duration: Duration::from_secs(1),
            task_duration: Duration::from_secs(2),
            token_window: Duration::from_secs(8 * 3600),
            network_check_delay: Duration::ZERO,
            file_system_quota: 100,
            storage_quota_gib: 100_800,
            state_file: None,
            region: "us-east-1".to_string(),
            account_id: "123456789012".to_string(),
            allow_delete_while_creating: false,
            storage_increase_cooldown: six_hours(),
            metadata_increase_cooldown: six_hours(),
            storage_optimization_duration: two_seconds(),
            throughput_optimization_duration: two_seconds(),
            iops_optimization_duration: two_seconds(),
            clock_scale: 1.0,
            default_file_system_type_version: "2.15".to_string(),
        }
    }
}

fn six_hours() -> Duration {
    Duration::from_secs(6 * 3600)
}

fn two_seconds() -> Duration {
    Duration::from_secs(2)
}

impl EmulatorConfig {
    /// How long the file system (or data repository association) with this ID stays CREATING:
    /// `create_duration + f * create_spread`, where f in [0, 1) is a fixed hash of the ID (the same
    /// in every process and build), so a caller can compute the moment it becomes AVAILABLE.
    pub fn create_duration_for(&self, id: &str) -> Duration {
        if self.create_spread.is_zero() {
            return self.create_duration;
        }
        // f = top 32 bits of the hash / 2^32; integer arithmetic, exact and never overflowing
        // (Duration::MAX in nanoseconds < 2^94, times 2^32 < 2^128).
        let f = spread_hash(id) >> 32;
        let extra = (self.create_spread.as_nanos() * u128::from(f)) >> 32;
        let secs = u64::try_from(extra / 1_000_000_000).unwrap_or(u64::MAX);
        let nanos = u32::try_from(extra % 1_000_000_000).unwrap_or(0);
        self.create_duration.saturating_add(Duration::new(secs, nanos))
    }
}

/// FNV-1a 64 over the ID's bytes, then the SplitMix64 finalizer so that IDs differing only in
/// their last characters still land far apart. Fixed: not std's randomly seeded `DefaultHasher`.
fn spread_hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        (0..100u64).map(|i| format!("fs-{:017x}", 0x0a1b_2c3d_4e5f_0000 + i)).collect()
    }

    #[test]
    fn zero_spread_keeps_the_create_duration() {
        let cfg = EmulatorConfig { create_duration: Duration::from_millis(1500), ..EmulatorConfig::default() };
        assert!(cfg.create_spread.is_zero(), "the default spread is zero");
        for id in ids() {
            assert_eq!(cfg.create_duration_for(&id), Duration::from_millis(1500));
        }
    }

    #[test]
    fn spread_durations_stay_in_bounds_and_differ() {
        let base = Duration::from_secs(5);
        let spread = Duration::from_secs(10);
        let cfg = EmulatorConfig { create_duration: base, create_spread: spread, ..EmulatorConfig::default() };
        let durations: Vec<Duration> = ids().iter().map(|id| cfg.create_duration_for(id)).collect();
        for d in &durations {
            assert!(*d >= base && *d < base + spread, "{d:?} outside [{base:?}, {:?})", base + spread);
        }
        let distinct: std::collections::BTreeSet<Duration> = durations.iter().copied().collect();
        assert!(distinct.len() > 90, "only {} distinct durations over 100 IDs", distinct.len());
        // Spread over the whole range, not bunched at one end.
        let low = durations.iter().filter(|d| **d < base + spread / 2).count();
        assert!((20..=80).contains(&low), "{low} of 100 in the lower half");
    }

    #[test]
    fn same_id_same_duration() {
        let cfg = EmulatorConfig {
            create_duration: Duration::from_secs(300),
            create_spread: Duration::from_secs(600),
            ..EmulatorConfig::default()
        };
        let again = cfg.clone();
        for id in ids() {
            assert_eq!(cfg.create_duration_for(&id), again.create_duration_for(&id));
        }
        // Fixed across processes and builds: pinned values.
        assert_eq!(spread_hash("fs-0123456789abcdef0"), 0x55df_81a2_7163_a285);
        assert_eq!(cfg.create_duration_for("fs-0123456789abcdef0"), Duration::from_nanos(501_265_012_007));
        assert_ne!(cfg.create_duration_for("fs-0123456789abcdef0"), cfg.create_duration_for("fs-0123456789abcdef1"));
    }

    #[test]
    fn huge_spreads_do_not_overflow() {
        let cfg = EmulatorConfig {
            create_duration: Duration::MAX,
            create_spread: Duration::MAX,
            ..EmulatorConfig::default()
        };
        assert_eq!(cfg.create_duration_for("fs-x"), Duration::MAX);
        let cfg = EmulatorConfig {
            create_duration: Duration::ZERO,
            create_spread: Duration::MAX,
            ..EmulatorConfig::default()
        };
        assert!(cfg.create_duration_for("fs-x") < Duration::MAX);
    }
}
