//! Data repository tasks: Create/Describe/Cancel.

use serde_json::{json, Map, Value};

use super::{epoch, page, parse_tags, render_tags, s3_bucket, token_lookup, token_remember, validate};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::model::{State, Task};
use crate::request::Ctx;
use crate::wire::json::Fields;

const OP: &str = "CreateDataRepositoryTask";

fn not_found(id: &str) -> ApiError {
    ApiError::new("DataRepositoryTaskNotFound", format!("Data repository task '{id}' does not exist."))
}

pub(crate) fn render(t: &Task, ctx: &Ctx<'_>) -> Value {
    let succeeded = if t.lifecycle == "SUCCEEDED" { t.paths.len().max(1) } else { 0 };
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
        "Status": {
            "TotalCount": t.paths.len().max(1),
            "SucceededCount": succeeded,
            "FailedCount": 0,
            "LastUpdatedTime": epoch(t.end_time.or(t.start_time).unwrap_or(t.created_at)),
        },
    });
    if let Some(s) = t.start_time {
        out["StartTime"] = epoch(s);
    }
    if let Some(e) = t.end_time {
        out["EndTime"] = epoch(e);
    }
    if let Some(c) = t.capacity_to_release {
        out["CapacityToRelease"] = json!(c);
    }
    out
}

pub(crate) fn create(state: &mut State, ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let token = req.opt_str("ClientRequestToken")?;
    if let Some(id) = token_lookup(state, OP, token, req)? {
        if let Some(t) = state.tasks.get(&id) {
            return Ok(json!({ "DataRepositoryTask": render(t, ctx) }));
        }
    }
    let task_type = req.req_str("Type")?;
    validate::one_of(
        "Type",
        task_type,
        &[
            "EXPORT_TO_REPOSITORY",
            "IMPORT_METADATA_FROM_REPOSITORY",
            "RELEASE_DATA_FROM_FILESYSTEM",
            "AUTO_RELEASE_DATA",
        ],
    )?;
    let fs_id = req.req_str("FileSystemId")?;
    let report = req.opt_obj("Report")?.ok_or_else(|| ApiError::bad_request("Report is required"))?;
    let enabled = report.opt_bool("Enabled")?.ok_or_else(|| ApiError::bad_request("Report.Enabled is required"))?;
    let mut report_out = json!({"Enabled": enabled});
    if enabled {
        let path = report
            .opt_str("Path")?
            .ok_or_else(|| ApiError::bad_request("Report.Path is required when the report is enabled"))?;
        if s3_bucket(path).is_none() {
            return Err(ApiError::bad_request("Report.Path must be an s3:// path"));
        }
        let format = report.opt_str("Format")?.unwrap_or("REPORT_CSV_20191124");
        validate::one_of("Report.Format", format, &["REPORT_CSV_20191124"])?;
        let scope = report.opt_str("Scope")?.unwrap_or("FAILED_FILES_ONLY");
        validate::one_of("Report.Scope", scope, &["FAILED_FILES_ONLY"])?;
        report_out = json!({"Enabled": true, "Path": path, "Format": format, "Scope": scope});
    }
    let paths = req.opt_str_list("Paths")?.unwrap_or_default();
    if paths.len() > 100 {
        return Err(ApiError::bad_request("At most 100 Paths are allowed"));
    }
    let tags = parse_tags(req, "Tags")?.unwrap_or_default();
    let capacity = req.opt_i64("CapacityToRelease")?;
    let fs = state.file_systems.get(fs_id).ok_or_else(|| super::file_systems::not_found(fs_id))?;
    if fs.lifecycle != "AVAILABLE" && fs.lifecycle != "UPDATING" {
        return Err(ApiError::bad_request(format!(
            "File system {fs_id} is {}; tasks need an AVAILABLE file system",
            fs.lifecycle
        )));
    }
    let linked = fs.lustre.contains_key("DataRepositoryConfiguration")
        || state.associations.values().any(|a| a.file_system_id == fs_id && a.lifecycle != "DELETING");
    if !linked {
        return Err(ApiError::bad_request(format!("File system {fs_id} is not linked to a data repository")));
    }
    if state
        .tasks
        .values()
        .any(|t| t.file_system_id == fs_id && matches!(t.lifecycle.as_str(), "PENDING" | "EXECUTING" | "CANCELING"))
    {
        return Err(ApiError::new(
            "DataRepositoryTaskExecuting",
            format!("A data repository task is already running on {fs_id}"),
        ));
    }
    let task = Task {
        id: ids::new_id("task"),
        file_system_id: fs_id.to_string(),
        task_type: task_type.to_string(),
        lifecycle: "PENDING".into(),
        paths,
        report: report_out,
        tags,
        created_at: ctx.now,
        start_time: None,
        end_time: None,
        capacity_to_release: capacity,
    };
    let out = json!({ "DataRepositoryTask": render(&task, ctx) });
    let id = task.id.clone();
    state.tasks.insert(id.clone(), task);
    token_remember(state, ctx, OP, token, req, &id);
    Ok(out)
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
            "data-repository-association-id" | "file-cache-id" => {}
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

pub(crate) fn cancel(state: &mut State, _ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let id = req.req_str("TaskId")?;
    let t = state.tasks.get_mut(id).ok_or_else(|| not_found(id))?;
    match t.lifecycle.as_str() {
        "PENDING" | "EXECUTING" => t.lifecycle = "CANCELING".into(),
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
