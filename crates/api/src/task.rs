//! The `LustreDataTask` custom resource: one FSx data repository task (export to S3, import of S3
//! metadata, or release of file data) on a LustreVolume of the same namespace, reported like a Job.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::rules::{r, Bound, Limit, SpecRule};
use crate::validation::{is_s3_url_without_climbing, InvalidSpec, Violation};

/// A data repository task on the file system of a LustreVolume in this namespace: export files
/// to S3, import S3 metadata, or release file data that is safely in S3. The operator starts it
/// once, follows it and reports its progress; deleting a running task cancels it.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "lustre.fsx.dev",
    version = "v1alpha1",
    kind = "LustreDataTask",
    plural = "lustredatatasks",
    shortname = "ldt",
    namespaced,
    status = "LustreDataTaskStatus",
    printcolumn = r#"{"name":"Volume","type":"string","jsonPath":".spec.volumeName"}"#,
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.type"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Progress","type":"string","jsonPath":".status.progress","description":"Files done (succeeded + failed) of the total"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct LustreDataTaskSpec {
    /// The LustreVolume, in this namespace, whose file system the task runs on.
    pub volume_name: String,

    /// Export (file system to S3), ImportMetadata (S3 metadata into the file system) or Release
    /// (free file data that is already exported to S3; it is read back from S3 when next used).
    #[serde(rename = "type")]
    pub task_type: DataTaskType,

    /// What the task covers (default: everything). Export and Release: paths in the file system
    /// relative to its root, such as `results/run-7`. ImportMetadata: S3 URLs under the
    /// volume's associations. At most 100.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,

    /// Where FSx writes the completion report (failed files only), s3://bucket/prefix, under the
    /// class's S3 prefixes for this namespace. Omitted: no report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_path: Option<String>,

    /// Release only: release only files not read or written for at least this many days
    /// (default 0: every exported file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_days_since_last_access: Option<i32>,

    /// Delete this LustreDataTask this many seconds after it finished (the FSx task record is
    /// kept by FSx). Omitted: keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i32>,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DataTaskType {
    Export,
    ImportMetadata,
    Release,
}

impl DataTaskType {
    /// FSx's name of the task type.
    pub fn fsx_type(self) -> &'static str {
        match self {
            DataTaskType::Export => "EXPORT_TO_REPOSITORY",
            DataTaskType::ImportMetadata => "IMPORT_METADATA_FROM_REPOSITORY",
            DataTaskType::Release => "RELEASE_DATA_FROM_FILESYSTEM",
        }
    }
}

/// Where the task is, like a Job.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DataTaskPhase {
    /// Waiting for the volume, or for FSx to start it.
    Pending,
    Running,
    Succeeded,
    Failed,
    Canceled,
}

impl DataTaskPhase {
    pub fn is_finished(self) -> bool {
        matches!(self, DataTaskPhase::Succeeded | DataTaskPhase::Failed | DataTaskPhase::Canceled)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            DataTaskPhase::Pending => "Pending",
            DataTaskPhase::Running => "Running",
            DataTaskPhase::Succeeded => "Succeeded",
            DataTaskPhase::Failed => "Failed",
            DataTaskPhase::Canceled => "Canceled",
        }
    }
}

/// What the operator and FSx report about the task.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LustreDataTaskStatus {
    /// Pending, Running, Succeeded, Failed or Canceled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<DataTaskPhase>,
    /// The FSx task ID (task-...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// The file system the task runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_system_id: Option<String>,
    /// FSx lifecycle: PENDING, EXECUTING, SUCCEEDED, FAILED, CANCELING or CANCELED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
    /// When FSx started the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the task ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// Files the task covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_count: Option<i64>,
    /// Files done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succeeded_count: Option<i64>,
    /// Files that failed (listed in the report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_count: Option<i64>,
    /// Release tasks: the capacity released, as FSx reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_capacity: Option<i64>,
    /// "done/total" files, for the printer column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// Where the completion report is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_path: Option<String>,
    /// Why the task is waiting, failed or was refused (FSx's failure message when FSx failed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The reason behind `message` (VolumeNotFound, ClassRejected, InvalidSpec, TaskFailed, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub(crate) const TASK_VOLUME_NAME: SpecRule = r(
    "self.volumeName.matches('^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')",
    "volumeName must name a LustreVolume of this namespace (a DNS label of at most 63 characters)",
    ".volumeName",
);
pub(crate) const TASK_RELATIVE_PATHS: SpecRule = r(
    "self.type == 'ImportMetadata' || !has(self.paths) || self.paths.all(p, size(p) > 0 && !p.startsWith('/') && !p.contains('://') && !p.matches('(^|/)\\\\.\\\\.(/|$)'))",
    "paths of Export and Release tasks must be relative to the file system's root, such as results/run-7, not S3 URLs, without .. segments",
    ".paths",
);
pub(crate) const TASK_IMPORT_PATHS: SpecRule = r(
    "self.type != 'ImportMetadata' || !has(self.paths) || self.paths.all(p, p.matches('^s3://[a-z0-9.-]{3,63}(/|$)') && !p.matches('/\\\\.\\\\.(/|$)'))",
    "paths of ImportMetadata tasks must be S3 URLs (s3://bucket/prefix) without .. segments",
    ".paths",
);
pub(crate) const TASK_REPORT_PATH: SpecRule = r(
    "!has(self.reportPath) || (self.reportPath.matches('^s3://[a-z0-9.-]{3,63}(/|$)') && !self.reportPath.matches('/\\\\.\\\\.(/|$)'))",
    "reportPath must be an S3 URL (s3://bucket/prefix) without .. segments",
    ".reportPath",
);
pub(crate) const TASK_RELEASE_ONLY: SpecRule = r(
    "!has(self.minDaysSinceLastAccess) || self.type == 'Release'",
    "minDaysSinceLastAccess is only for Release tasks; remove it",
    ".minDaysSinceLastAccess",
);

/// Rules on the LustreDataTask spec (create).
pub const TASK_RULES: &[SpecRule] =
    &[TASK_VOLUME_NAME, TASK_RELATIVE_PATHS, TASK_IMPORT_PATHS, TASK_REPORT_PATH, TASK_RELEASE_ONLY];

/// The spec of a task is fixed once created: FSx runs a task once.
pub const TASK_TRANSITION_RULES: &[SpecRule] =
    &[r("self == oldSelf", "a LustreDataTask's spec cannot change; create a new LustreDataTask", "")];

/// Integer bounds of the LustreDataTask spec.
pub const TASK_INT_BOUNDS: &[(&str, i64, i64)] =
    &[(".minDaysSinceLastAccess", 0, 36_500), (".ttlSecondsAfterFinished", 0, 2_147_483_647)];

/// The checks of [`TASK_RULES`] and limits, again in the operator (a CRD installed from an older
/// chart may lack one), with the same messages.
pub fn validate_task(spec: &LustreDataTaskSpec) -> Result<(), InvalidSpec> {
    let mut v: Vec<Violation> = Vec::new();
    let name = &spec.volume_name;
    let label = !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !label {
        v.push(Violation::from(&TASK_VOLUME_NAME));
    }
    let climbs = |p: &str| p.split('/').any(|seg| seg == "..");
    match spec.task_type {
        DataTaskType::ImportMetadata => {
            if !spec.paths.iter().all(|p| is_s3_url_without_climbing(p)) {
                v.push(Violation::from(&TASK_IMPORT_PATHS));
            }
        }
        DataTaskType::Export | DataTaskType::Release => {
            if !spec.paths.iter().all(|p| !p.is_empty() && !p.starts_with('/') && !p.contains("://") && !climbs(p)) {
                v.push(Violation::from(&TASK_RELATIVE_PATHS));
            }
        }
    }
    if spec.report_path.as_deref().is_some_and(|p| !is_s3_url_without_climbing(p)) {
        v.push(Violation::from(&TASK_REPORT_PATH));
    }
    if spec.min_days_since_last_access.is_some() && spec.task_type != DataTaskType::Release {
        v.push(Violation::from(&TASK_RELEASE_ONLY));
    }
    if let Ok(json) = serde_json::to_value(spec) {
        for limit in TASK_LIMITS.iter().filter(|l| l.exceeded_by(&json)) {
            v.push(Violation { field: limit.field, message: limit.message.to_string() });
        }
    }
    for (field, min, max) in TASK_INT_BOUNDS {
        let value = match *field {
            ".minDaysSinceLastAccess" => spec.min_days_since_last_access,
            _ => spec.ttl_seconds_after_finished,
        };
        if value.is_some_and(|x| i64::from(x) < *min || i64::from(x) > *max) {
            v.push(Violation { field, message: format!("spec{field} must be between {min} and {max}") });
        }
    }
    if v.is_empty() {
        Ok(())
    } else {
        Err(InvalidSpec(v))
    }
}

/// The size limits of the LustreDataTask spec.
pub const TASK_LIMITS: &[Limit] = &[
    Limit { field: ".volumeName", bound: Bound::Length, max: 63, message: "volumeName must be at most 63 characters" },
    Limit { field: ".paths", bound: Bound::Items, max: 100, message: "at most 100 paths (FSx's limit)" },
    Limit {
        field: ".paths",
        bound: Bound::ItemLength,
        max: 4096,
        message: "each path must be at most 4096 characters",
    },
    Limit {
        field: ".reportPath",
        bound: Bound::Length,
        max: 1024,
        message: "reportPath must be at most 1024 characters",
    },
];

impl LustreDataTask {
    /// The S3 locations the task touches (report and import paths), for the class's prefixes.
    pub fn s3_paths(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.spec.report_path.iter().map(String::as_str).collect();
        if self.spec.task_type == DataTaskType::ImportMetadata {
            out.extend(self.spec.paths.iter().map(String::as_str));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: serde_json::Value) -> LustreDataTaskSpec {
        serde_json::from_value(v).expect("fixture parses")
    }

    #[test]
    fn paths_follow_the_task_type() {
        let ok = spec(serde_json::json!({"volumeName": "train", "type": "Export", "paths": ["results/run-7"]}));
        assert!(validate_task(&ok).is_ok());
        let abs = spec(serde_json::json!({"volumeName": "train", "type": "Export", "paths": ["/results"]}));
        assert!(validate_task(&abs).is_err());
        let climb = spec(serde_json::json!({"volumeName": "train", "type": "Release", "paths": ["a/../../b"]}));
        assert!(validate_task(&climb).is_err());
        let import =
            spec(serde_json::json!({"volumeName": "train", "type": "ImportMetadata", "paths": ["s3://bkt/ml/x"]}));
        assert!(validate_task(&import).is_ok());
        let import_rel = spec(serde_json::json!({"volumeName": "train", "type": "ImportMetadata", "paths": ["x"]}));
        assert!(validate_task(&import_rel).is_err());
        let days = spec(serde_json::json!({"volumeName": "train", "type": "Export", "minDaysSinceLastAccess": 3}));
        assert!(validate_task(&days).is_err());
        let release = spec(serde_json::json!({"volumeName": "train", "type": "Release", "minDaysSinceLastAccess": 3}));
        assert!(validate_task(&release).is_ok());
    }
}
