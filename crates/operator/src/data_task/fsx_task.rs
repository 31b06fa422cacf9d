//! Step 2 of a data task: the FSx data repository task itself. Started at most once per
//! LustreDataTask: an earlier task carrying its UID tag is adopted (after a crash between
//! CreateDataRepositoryTask and the status write), and the create call's client request token is
//! derived from the UID, so a retried call returns the same task.

use lustre_api::{DataTaskType, LustreDataTask};

use crate::aws::{Task, TaskLifecycle, TaskRequest};
use crate::context::Context;
use crate::error::Result;
use crate::ownership;

/// The CreateDataRepositoryTask request for `task` on file system `file_system_id`.
pub(crate) fn request(task: &LustreDataTask, file_system_id: &str) -> TaskRequest {
    let s = &task.spec;
    TaskRequest {
        client_request_token: ownership::task_request_token(task),
        file_system_id: file_system_id.to_string(),
        task_type: s.task_type.fsx_type(),
        paths: s.paths.clone(),
        report_path: s.report_path.clone(),
        // FSx wants a release configuration on every release task; 0 days releases every
        // exported file.
        min_days_since_last_access: match s.task_type {
            DataTaskType::Release => Some(s.min_days_since_last_access.unwrap_or(0)),
            DataTaskType::Export | DataTaskType::ImportMetadata => None,
        },
        tags: ownership::task_tags(task),
    }
}

/// What [`start`] did.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Started {
    /// An earlier pass had started it (found by the owner tag).
    Adopted(Task),
    /// Started now.
    Created(Task),
    /// FSx runs another task on the file system (its message); try again later.
    Busy(String),
}

/// Starts the FSx task of `task` on `file_system_id`, or adopts the one an earlier pass started.
pub(crate) async fn start(ctx: &Context, task: &LustreDataTask, file_system_id: &str) -> Result<Started> {
    if let Some(earlier) = find(ctx, task, file_system_id).await? {
        return Ok(Started::Adopted(earlier));
    }
    match ctx.aws.create_task(&request(task, file_system_id)).await {
        Ok(created) => Ok(Started::Created(created)),
        Err(e) if e.is("DataRepositoryTaskExecuting") => Ok(Started::Busy(e.message)),
        Err(e) => Err(e.into()),
    }
}

/// Cancels FSx task `id` (one that already ended, or is gone, is fine).
pub(crate) async fn cancel(ctx: &Context, id: &str) -> Result<()> {
    Ok(ctx.aws.cancel_task(id).await?)
}

/// The FSx task of `task` on `file_system_id` that an earlier pass started (found by its owner
/// tag): none, it, or a conflict when several carry the tag.
pub(crate) async fn find(ctx: &Context, task: &LustreDataTask, file_system_id: &str) -> Result<Option<Task>> {
    let found = ctx.aws.tasks_of(file_system_id, &[]).await?;
    ownership::the_one_owned(found, ownership::uid_of(task))
}

/// Of the tasks still running on `file_system_id`, the one `task` started, if any.
pub(crate) async fn find_running(ctx: &Context, task: &LustreDataTask, file_system_id: &str) -> Result<Option<Task>> {
    let found = ctx.aws.tasks_of(file_system_id, &[TaskLifecycle::Pending, TaskLifecycle::Executing]).await?;
    ownership::the_one_owned(found, ownership::uid_of(task))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(spec: serde_json::Value) -> LustreDataTask {
        let mut t: LustreDataTask = serde_json::from_value(serde_json::json!({
            "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreDataTask",
            "metadata": {"name": "export", "namespace": "team-a"}, "spec": spec
        }))
        .expect("fixture parses");
        t.metadata.uid = Some("0f8e7a4c-1b2d-4c3e-9f00-123456789abc".into());
        t
    }

    #[test]
    fn the_request_carries_the_spec_the_token_and_the_owner_tags() {
        let export = task(serde_json::json!({"volumeName": "train", "type": "Export", "paths": ["results/run-7"],
                                             "reportPath": "s3://ml-data/team-a/reports"}));
        let r = request(&export, "fs-0123456789abcdef0");
        assert_eq!(r.task_type, "EXPORT_TO_REPOSITORY");
        assert_eq!(r.paths, vec!["results/run-7".to_string()]);
        assert_eq!(r.report_path.as_deref(), Some("s3://ml-data/team-a/reports"));
        assert_eq!(r.min_days_since_last_access, None);
        assert_eq!(r.client_request_token, "task-9d9fc30df3f019349b1ee7f03effe735fb713ec7");
        assert_eq!(r.tags[lustre_api::tags::OWNER_UID], "0f8e7a4c-1b2d-4c3e-9f00-123456789abc");
        assert_eq!(request(&export, "fs-0123456789abcdef0"), r, "the same request every time (token reuse)");

        let release = task(serde_json::json!({"volumeName": "train", "type": "Release"}));
        assert_eq!(request(&release, "fs-1").min_days_since_last_access, Some(0));
        assert_eq!(request(&release, "fs-1").task_type, "RELEASE_DATA_FROM_FILESYSTEM");
    }
}
