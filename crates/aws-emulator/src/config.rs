//! Emulator configuration: durations, quotas and the switches for behaviour AWS does not document.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything that shapes the emulator's behaviour. `Default` gives fast lifecycles suited to tests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmulatorConfig {
    /// CREATING -> AVAILABLE (file systems and data repository associations).
    pub create_duration: Duration,
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
    /// Minimum time between two storage-capacity increases (AWS: 6 h).
    pub storage_increase_cooldown: Duration,
    /// Emulated seconds per real second (1.0 = real time).
    pub clock_scale: f64,
    /// Default FileSystemTypeVersion when the request has none.
    pub default_file_system_type_version: String,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            create_duration: Duration::from_secs(2),
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
            storage_increase_cooldown: Duration::from_secs(6 * 3600),
            clock_scale: 1.0,
            default_file_system_type_version: "2.15".to_string(),
        }
    }
}
