//! The step before a file system is deleted: no data repository task may be running (FSx
//! refuses DeleteFileSystem then), and with `spec.onDelete.exportToS3` every file is exported to
//! S3 by one EXPORT_TO_REPOSITORY task that must succeed first. A failed export keeps the file
//! system and says why; the annotation [`RETRY_ANNOTATION`] (a new value) starts another export.
//!
//! The export is found again by its tags (owner UID, purpose, attempt) and created with a client
//! request token of the same three, so a crash never starts a second export for one attempt.

use lustre_api::{DataTaskType, LustreVolume};

use crate::aws::{FileSystem, Task, TaskLifecycle, TaskRequest};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::ownership;

/// Set it to a new value to export again after a failed export before deletion.
pub const RETRY_ANNOTATION: &str = "lustre.fsx.dev/retry-export";
/// AWS tag on the operator's own export task: what it is for.
const PURPOSE_TAG: &str = "lustre.fsx.dev/purpose";
const PURPOSE: &str = "export-before-delete";
/// AWS tag on that task: the value of [`RETRY_ANNOTATION`] it answers ("0" before any retry).
const ATTEMPT_TAG: &str = "lustre.fsx.dev/attempt";

fn attempt(lv: &LustreVolume) -> String {
    lv.metadata.annotations.as_ref().and_then(|a| a.get(RETRY_ANNOTATION)).cloned().unwrap_or_else(|| "0".into())
}

/// The export task of this attempt: ours, for this purpose and attempt.
fn is_this_export(task: &Task, lv: &LustreVolume, attempt: &str) -> bool {
    ownership::is_ours(task, ownership::uid(lv))
        && task.tags.get(PURPOSE_TAG).map(String::as_str) == Some(PURPOSE)
        && task.tags.get(ATTEMPT_TAG).map(String::as_str) == Some(attempt)
}

fn request(lv: &LustreVolume, fs: &FileSystem, attempt: &str) -> TaskRequest {
    let mut tags = ownership::owner_tags(lv);
    tags.insert(PURPOSE_TAG.into(), PURPOSE.into());
    tags.insert(ATTEMPT_TAG.into(), attempt.chars().take(256).collect());
    TaskRequest {
        client_request_token: ownership::idempotency_token(
            ownership::TokenPurpose::Export,
            ownership::uid(lv),
            &[attempt],
        ),
        file_system_id: fs.id.clone(),
        task_type: DataTaskType::Export.fsx_type(),
        paths: Vec::new(),
        report_path: None,
        min_days_since_last_access: None,
        tags,
    }
}

fn progress(task: &Task) -> String {
    match (task.succeeded, task.total) {
        (Some(done), Some(total)) => format!("{done}/{total} files"),
        _ => "starting".into(),
    }
}

/// `Ok` once the file system may be deleted; `Exporting`/`Waiting` while a task runs;
/// `ExportFailed` when the export failed (the file system stays).
pub(crate) async fn before_delete(ctx: &Context, lv: &LustreVolume, fs: &FileSystem) -> Result<()> {
    // Only a file system linked to S3 can have tasks: the others cost no call.
    if !lv.spec.is_s3_linked() {
        return Ok(());
    }
    let attempt = attempt(lv);
    let tasks = ctx.aws.tasks_of(&fs.id, &[]).await?;
    let export = tasks.iter().filter(|t| is_this_export(t, lv, &attempt)).max_by_key(|t| t.start_time);
    if let Some(other) = tasks.iter().find(|t| t.is_running() && !is_this_export(t, lv, &attempt)) {
        return Err(Error::Waiting(format!(
            "waiting for data repository task {} ({}, {}) to finish before deleting file system {}",
            other.id, other.task_type, other.lifecycle, fs.id
        )));
    }
    if !lv.spec.exports_before_delete() {
        return Ok(());
    }
    let Some(task) = export else {
        let created = ctx.aws.create_task(&request(lv, fs, &attempt)).await?;
        let note = format!("exporting file system {} to S3 before deleting it (task {})", fs.id, created.id);
        ctx.events.normal(lv, "ExportingBeforeDelete", &note).await;
        return Err(Error::Exporting(note));
    };
    match task.lifecycle {
        TaskLifecycle::Succeeded => {
            let note =
                format!("export task {} succeeded ({}); deleting file system {}", task.id, progress(task), fs.id);
            ctx.events.normal(lv, "Exported", &note).await;
            Ok(())
        }
        TaskLifecycle::Failed | TaskLifecycle::Canceled => Err(Error::ExportFailed(format!(
            "the export to S3 before deletion did not succeed (task {} {}: {}); file system {} is kept with its data. \
             Fix the cause, then set the annotation {RETRY_ANNOTATION} to a new value to export again, or set \
             spec.onDelete.exportToS3 to false to delete without exporting",
            task.id,
            task.lifecycle,
            task.failure.as_deref().unwrap_or("no details from FSx"),
            fs.id
        ))),
        _ => Err(Error::Exporting(format!(
            "exporting file system {} to S3 before deleting it: task {} is {} ({})",
            fs.id,
            task.id,
            task.lifecycle,
            progress(task)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_attempt_has_its_own_token_and_tags() {
        let lv =
            crate::fixtures::volume("ml", "v", crate::fixtures::UID, serde_json::json!({"storageCapacityGiB": 1200}));
        let fs = FileSystem { id: "fs-0123456789abcdef0".into(), ..Default::default() };
        let first = request(&lv, &fs, "0");
        let second = request(&lv, &fs, "retry-1");
        assert_ne!(first.client_request_token, second.client_request_token);
        assert!(first.client_request_token.len() <= 63, "{}", first.client_request_token);
        assert_eq!(first.task_type, "EXPORT_TO_REPOSITORY");
        let task = Task { tags: first.tags.clone(), ..Default::default() };
        assert!(is_this_export(&task, &lv, "0"));
        assert!(!is_this_export(&task, &lv, "retry-1"));
        let mut other_owner = task.clone();
        other_owner.tags.insert(lustre_api::tags::OWNER_UID.into(), "someone-else".into());
        assert!(!is_this_export(&other_owner, &lv, "0"));
    }
}
