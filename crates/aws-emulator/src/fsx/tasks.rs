//! Data repository tasks: Create/Describe/Cancel.
//!
//! File counts are deterministic: a path names one file when its last component has an extension,
//! else a directory of 20-1000 files derived from a stable (FNV-1a) hash of the path; a task without
//! paths covers every linked directory of the file system.

use serde_json::{json, Map, Value};

use super::associations::overlaps;
use super::{epoch, page, parse_tags, render_tags, s3_bucket, token_lookup, token_remember, validate};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::model::{Association, State, Task};
use crate::request::Ctx;
use crate::wire::json::Fields;

const OP: &str = "CreateDataRepositoryTask";
const EXPORT: &str = "EXPORT_TO_REPOSITORY";
const IMPORT: &str = "IMPORT_METADATA_FROM_REPOSITORY";
const RELEASE: &str = "RELEASE_DATA_FROM_FILESYSTEM";
const MAX_PATHS: usize = 100;

fn not_found(id: &str) -> ApiError {
    ApiError::new("DataRepositoryTaskNotFound", format!("Data repository task '{id}' does not exist."))
}

pub(crate) fn render(t: &Task, ctx: &Ctx<'_>) -> Value {
    let counts = t.counts_at(ctx.now, ctx.cfg);
    let last_updated = match t.lifecycle.as_str() {
        "EXECUTING" => ctx.now,
        _ => t.end_time.or(t.start_time).unwrap_or(t.created_at),
    };
    let mut status = json!({
        "TotalCount": counts.total,
        "SucceededCount": counts.succeeded,
        "FailedCount": counts.failed,
        "LastUpdatedTime": epoch(last_updated),
    });
    if t.task_type == RELEASE && t.start_time.is_some() {
        status["ReleasedCapacity"] = json!(Task::released_capacity(counts));
    }
    let mut out = json!({
        "TaskId": t.id,
        "Lifecycle": t.lifecycle,
        "Type": t.task_type,
        "CreationTime": epoch(t.created_at),
        "ResourceARN": ctx.arn("fsx", &format!("task/{}", t.id)),
        "Tags": render_tags(&t.tags),
        "FileSystemId": t.file_system_id,
        "Paths": t.paths,
        "Report": t.report,
        "Status": status,
    });
    if let Some(s) = t.start_time {
        out["StartTime"] = epoch(s);
    }
    if let Some(e) = t.end_time {
        out["EndTime"] = epoch(e);
    }
    if let Some(r) = &t.release_configuration {
        out["ReleaseConfiguration"] = r.clone();
    }
    if let (Some(m), "FAILED") = (&t.failure_message, t.lifecycle.as_str()) {
        out["FailureDetails"] = json!({"Message": m});
    }
    out
}

/// FNV-1a: stable across runs and Rust versions, unlike the standard library's hasher.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Files under one task path: 1 for a file (`name.ext`), else 20-1000 by the path's hash.
pub(crate) fn files_under(path: &str) -> i64 {
    let trimmed = path.trim_end_matches('/');
    let last = trimmed.rsplit('/').next().unwrap_or("");
    if !path.ends_with('/') && last.chars().skip(1).any(|c| c == '.') {
        return 1;
    }
    20 + i64::try_from(fnv1a(trimmed) % 981).unwrap_or(0)
}

/// The S3 buckets a file system is linked to (legacy ImportPath/ExportPath, or its associations).
fn linked_buckets(state: &State, fs_id: &str) -> Vec<String> {
    let mut out: Vec<String> = state
        .associations
        .values()
        .filter(|a| a.file_system_id == fs_id && a.lifecycle != "DELETING")
        .filter_map(|a| s3_bucket(&a.data_repository_path).map(str::to_string))
        .collect();
    if let Some(link) = state.file_systems.get(fs_id).and_then(|fs| fs.lustre.get("DataRepositoryConfiguration")) {
        for key in ["ImportPath", "ExportPath"] {
            if let Some(b) = link.get(key).and_then(Value::as_str).and_then(s3_bucket) {
                out.push(b.to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Files a task will process: per given path, or per linked directory when it names none.
fn planned_total(state: &State, fs_id: &str, task_type: &str, paths: &[String]) -> i64 {
    if !paths.is_empty() {
        return paths.iter().map(|p| files_under(p)).sum();
    }
    let mut roots: Vec<String> = state
        .associations
        .values()
        .filter(|a| a.file_system_id == fs_id && a.lifecycle != "DELETING")
        .map(|a| if task_type == IMPORT { a.data_repository_path.clone() } else { a.file_system_path.clone() })
        .collect();
    if roots.is_empty() {
        roots.push("/".to_string());
    }
    roots.iter().map(|p| files_under(p)).sum()
}

/// `Paths`: at most 100, each 0-4096 characters without line breaks or NUL; export and release
/// paths are relative to the mount point (release also takes `/` for the whole file system),
/// import paths are relative or `s3://` in a linked bucket.
fn check_paths(task_type: &str, paths: &[String], buckets: &[String]) -> ApiResult<()> {
    if paths.len() > MAX_PATHS {
        return Err(ApiError::bad_request(format!("Paths can contain at most {MAX_PATHS} paths, got {}", paths.len())));
    }
    for p in paths {
        if p.chars().count() > 4096
            || p.chars().any(|c| matches!(c, '\0' | '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}'))
        {
            return Err(ApiError::bad_request("Each path must be at most 4096 characters without line breaks"));
        }
        if let Some(rest) = p.strip_prefix("s3://") {
            if task_type != IMPORT {
                return Err(ApiError::bad_request(format!(
                    "Path '{p}' is an S3 path; {task_type} paths are on the file system, relative to its mount point"
                )));
            }
            match s3_bucket(p) {
                Some(b) if buckets.iter().any(|l| l == b) => {}
                Some(b) => {
                    return Err(ApiError::bad_request(format!(
                        "Path '{p}' is not in a data repository linked to the file system (bucket {b})"
                    )))
                }
                None => return Err(ApiError::bad_request(format!("Path 's3://{rest}' is not a valid S3 path"))),
            }
        } else if p.starts_with('/') && !(task_type == RELEASE && p == "/") {
            return Err(ApiError::bad_request(format!(
                "Path '{p}' must be relative to the file system's mount point (for /mnt/fsx/path1 give path1){}",
                if task_type == RELEASE { "; use / alone to release every exported file" } else { "" }
            )));
        }
    }
    Ok(())
}

/// `Report`: `Enabled` required; when true, `Path` (s3:// in a linked bucket), `Format` and `Scope`.
fn check_report(req: &Map<String, Value>, buckets: &[String]) -> ApiResult<Value> {
    let report = req.opt_obj("Report")?.ok_or_else(|| ApiError::bad_request("Report is required"))?;
    let enabled = report.opt_bool("Enabled")?.ok_or_else(|| ApiError::bad_request("Report.Enabled is required"))?;
    if !enabled {
        let mut out = json!({"Enabled": false});
        for key in ["Path", "Format", "Scope"] {
            if let Some(v) = report.opt_str(key)? {
                out[key] = json!(v);
            }
        }
        return Ok(out);
    }
    let required = |key: &str| -> ApiResult<&str> {
        report
            .opt_str(key)?
            .ok_or_else(|| ApiError::bad_request(format!("Report.{key} is required when Report.Enabled is true")))
    };
    let path = required("Path")?;
    match s3_bucket(path) {
        None => return Err(ApiError::bad_request(format!("Report.Path '{path}' must be an s3:// path"))),
        Some(b) if !buckets.iter().any(|l| l == b) => {
            return Err(ApiError::bad_request(format!(
                "Report.Path '{path}' must be in a data repository linked to the file system"
            )))
        }
        Some(_) => {}
    }
    let format = required("Format")?;
    validate::one_of("Report.Format", format, &["REPORT_CSV_20191124"])?;
    let scope = required("Scope")?;
    validate::one_of("Report.Scope", scope, &["FAILED_FILES_ONLY"])?;
    Ok(json!({"Enabled": true, "Path": path, "Format": format, "Scope": scope}))
}

/// `ReleaseConfiguration.DurationSinceLastAccess {Unit: DAYS, Value >= 0}`: release tasks only;
/// omitted means 0 days.
fn check_release(req: &Map<String, Value>, task_type: &str) -> ApiResult<Option<Value>> {
    let given = req.opt_obj("ReleaseConfiguration")?;
    if task_type != RELEASE {
        return match given {
            Some(_) => Err(ApiError::bad_request(format!(
                "ReleaseConfiguration is only supported for {RELEASE} tasks, not {task_type}"
            ))),
            None => Ok(None),
        };
    }
    let (unit, value) = match given.map(|g| g.opt_obj("DurationSinceLastAccess")).transpose()?.flatten() {
        None => ("DAYS", 0),
        Some(d) => {
            let unit = d.opt_str("Unit")?.ok_or_else(|| {
                ApiError::bad_request("ReleaseConfiguration.DurationSinceLastAccess.Unit is required")
            })?;
            validate::one_of("ReleaseConfiguration.DurationSinceLastAccess.Unit", unit, &["DAYS"])?;
            let value = d.opt_i64("Value")?.ok_or_else(|| {
                ApiError::bad_request("ReleaseConfiguration.DurationSinceLastAccess.Value is required")
            })?;
            if value < 0 {
                return Err(ApiError::bad_request(format!(
                    "ReleaseConfiguration.DurationSinceLastAccess.Value must be at least 0, got {value}"
                )));
            }
            (unit, value)
        }
    };
    Ok(Some(json!({"DurationSinceLastAccess": {"Unit": unit, "Value": value}})))
}

pub(crate) fn create(state: &mut State, ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let token = req.opt_str("ClientRequestToken")?;
    if let Some(id) = token_lookup(state, OP, token, req)? {
        if let Some(t) = state.tasks.get(&id) {
            return Ok(json!({ "DataRepositoryTask": render(t, ctx) }));
        }
    }
    let task_type = req.req_str("Type")?;
    if task_type == "AUTO_RELEASE_DATA" {
        return Err(ApiError::bad_request(
            "AUTO_RELEASE_DATA tasks are supported only on Amazon File Cache, not on FSx for Lustre",
        ));
    }
    validate::one_of("Type", task_type, &[EXPORT, IMPORT, RELEASE])?;
    if req.opt_i64("CapacityToRelease")?.is_some() {
        return Err(ApiError::bad_request(
            "CapacityToRelease is supported only for Amazon File Cache AUTO_RELEASE_DATA tasks",
        ));
    }
    let fs_id = req.req_str("FileSystemId")?;
    let paths = req.opt_str_list("Paths")?.unwrap_or_default();
    let tags = parse_tags(req, "Tags")?.unwrap_or_default();
    let release = check_release(req, task_type)?;
    let fs = state.file_systems.get(fs_id).ok_or_else(|| super::file_systems::not_found(fs_id))?;
    if fs.lifecycle != "AVAILABLE" && fs.lifecycle != "UPDATING" {
        return Err(ApiError::bad_request(format!(
            "File system {fs_id} is {}; tasks need an AVAILABLE file system",
            fs.lifecycle
        )));
    }
    let buckets = linked_buckets(state, fs_id);
    if buckets.is_empty() {
        return Err(ApiError::bad_request(format!("File system {fs_id} is not linked to a data repository")));
    }
    let report = check_report(req, &buckets)?;
    check_paths(task_type, &paths, &buckets)?;
    if let Some(busy) = state
        .tasks
        .values()
        .find(|t| t.file_system_id == fs_id && matches!(t.lifecycle.as_str(), "PENDING" | "EXECUTING" | "CANCELING"))
    {
        return Err(ApiError::new(
            "DataRepositoryTaskExecuting",
            format!("Data repository task {} is already {} on file system {fs_id}", busy.id, busy.lifecycle),
        ));
    }
    let task = Task {
        id: ids::new_id("task"),
        file_system_id: fs_id.to_string(),
        task_type: task_type.to_string(),
        lifecycle: "PENDING".into(),
        total_count: planned_total(state, fs_id, task_type, &paths),
        paths,
        report,
        tags,
        created_at: ctx.now,
        start_time: None,
        end_time: None,
        release_configuration: release,
        succeeded_count: 0,
        failed_count: 0,
        fail_with: None,
        failure_message: None,
    };
    let out = json!({ "DataRepositoryTask": render(&task, ctx) });
    let id = task.id.clone();
    state.tasks.insert(id.clone(), task);
    token_remember(state, ctx, OP, token, req, &id);
    Ok(out)
}

/// True when the task works on data of the association: same file system, and no paths (the whole
/// file system) or a path overlapping the association's directory (or, for S3 paths, its prefix).
fn touches(t: &Task, a: &Association) -> bool {
    t.file_system_id == a.file_system_id
        && (t.paths.is_empty()
            || t.paths.iter().any(|p| {
                if p.starts_with("s3://") {
                    overlaps(p, &a.data_repository_path)
                } else if t.task_type == IMPORT {
                    true
                } else {
                    overlaps(&format!("/{}", p.trim_start_matches('/')), &a.file_system_path)
                }
            }))
}

pub(crate) fn describe(state: &mut State, ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let ids = req.opt_str_list("TaskIds")?;
    let filters = super::associations::filters(req)?;
    let max = req.opt_i64("MaxResults")?;
    let token = req.opt_str("NextToken")?;
    let mut selected: Vec<&Task> = match &ids {
        Some(ids) => ids.iter().map(|id| state.tasks.get(id).ok_or_else(|| not_found(id))).collect::<ApiResult<_>>()?,
        None => state.tasks.values().collect(),
    };
    for (name, values) in &filters {
        match name.as_str() {
            "file-system-id" => selected.retain(|t| values.contains(&t.file_system_id)),
            "task-lifecycle" => selected.retain(|t| values.contains(&t.lifecycle)),
            "data-repository-association-id" => {
                selected.retain(|t| values.iter().filter_map(|id| state.associations.get(id)).any(|a| touches(t, a)))
            }
            "file-cache-id" => selected.clear(),
            other => return Err(ApiError::bad_request(format!("Invalid filter name: {other}"))),
        }
    }
    selected.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    let (items, next) = page(selected, max, token, 2_147_483_647)?;
    let mut out = json!({ "DataRepositoryTasks": items.into_iter().map(|t| render(t, ctx)).collect::<Vec<_>>() });
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}

pub(crate) fn cancel(state: &mut State, ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let id = req.req_str("TaskId")?;
    let t = state.tasks.get_mut(id).ok_or_else(|| not_found(id))?;
    match t.lifecycle.as_str() {
        "PENDING" | "EXECUTING" => {
            // Files already processed stay processed; the counts freeze here.
            let counts = t.counts_at(ctx.now, ctx.cfg);
            t.succeeded_count = counts.succeeded;
            t.failed_count = counts.failed;
            t.lifecycle = "CANCELING".into();
        }
        "CANCELING" => {}
        _ => {
            return Err(ApiError::new(
                "DataRepositoryTaskEnded",
                format!("Data repository task {id} has already ended ({})", t.lifecycle),
            ))
        }
    }
    Ok(json!({"Lifecycle": "CANCELING", "TaskId": id}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_counts_are_stable_and_plausible() {
        assert_eq!(files_under("dir1/report.csv"), 1);
        assert_eq!(files_under("dir1"), files_under("dir1/"));
        let n = files_under("dir1");
        assert!((20..=1000).contains(&n), "{n}");
        assert_eq!(n, files_under("dir1"), "deterministic");
        assert!((20..=1000).contains(&files_under("/")));
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn paths_by_type() {
        let buckets = vec!["bucket".to_string()];
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_paths(EXPORT, &p(&["dir1", "a/b.txt"]), &buckets).is_ok());
        assert!(check_paths(EXPORT, &p(&["/dir1"]), &buckets).is_err());
        assert!(check_paths(EXPORT, &p(&["s3://bucket/x"]), &buckets).is_err());
        assert!(check_paths(RELEASE, &p(&["/"]), &buckets).is_ok());
        assert!(check_paths(RELEASE, &p(&["/x"]), &buckets).is_err());
        assert!(check_paths(IMPORT, &p(&["s3://bucket/prefix", "rel"]), &buckets).is_ok());
        assert!(check_paths(IMPORT, &p(&["s3://other/prefix"]), &buckets).is_err());
        assert!(check_paths(EXPORT, &p(&["a\nb"]), &buckets).is_err());
        let many: Vec<String> = (0..101).map(|i| format!("d{i}")).collect();
        assert!(check_paths(EXPORT, &many, &buckets).is_err());
        assert!(check_paths(EXPORT, &many[..100], &buckets).is_ok());
    }
}
