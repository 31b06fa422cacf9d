//! A data task's status, composed (purely) from the previous status and what one pass saw: the
//! task blocked before it started, FSx busy with another task, or the FSx task itself. Times
//! come from FSx, or from `now` once (a time already set is kept), so a pass that saw nothing new
//! composes the same status and nothing is written.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use lustre_api::{DataTaskPhase, LustreDataTask, LustreDataTaskStatus};

use super::admission::Blocked;
use crate::aws::{Task, TaskLifecycle};

/// What one pass over a data task saw.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seen {
    /// The task cannot start (yet).
    Blocked(Blocked),
    /// FSx runs another task on the file system (DataRepositoryTaskExecuting).
    Busy { file_system_id: String, message: String },
    /// FSx refused to start it (the error's reason and text); retried with backoff.
    StartFailed { reason: &'static str, message: String },
    /// The FSx task (boxed: it is much larger than the other variants).
    Task(Box<Task>),
    /// The FSx task in status no longer exists (its file system was deleted, say).
    Lost(String),
    /// The FSx task in status is not this object's (not tagged with its UID): why. Nothing of it
    /// is shown, followed or cancelled.
    NotOwned(String),
}

/// The phase FSx's task lifecycle stands for, with a condition-style reason.
pub(crate) fn phase_of(lifecycle: &TaskLifecycle) -> (DataTaskPhase, &'static str) {
    match lifecycle {
        TaskLifecycle::Pending => (DataTaskPhase::Pending, "TaskPending"),
        TaskLifecycle::Executing => (DataTaskPhase::Running, "TaskRunning"),
        TaskLifecycle::Canceling => (DataTaskPhase::Running, "TaskCanceling"),
        TaskLifecycle::Succeeded => (DataTaskPhase::Succeeded, "TaskSucceeded"),
        TaskLifecycle::Failed => (DataTaskPhase::Failed, "TaskFailed"),
        TaskLifecycle::Canceled => (DataTaskPhase::Canceled, "TaskCanceled"),
        TaskLifecycle::Other(_) => (DataTaskPhase::Pending, "TaskLifecycleUnknown"),
    }
}

/// The new status after a pass that saw `seen`.
pub(crate) fn compose(previous: &LustreDataTaskStatus, seen: &Seen, now: Timestamp) -> LustreDataTaskStatus {
    let mut st = previous.clone();
    match seen {
        Seen::Blocked(Blocked::Refused { reason, message }) => {
            st.phase = Some(DataTaskPhase::Failed);
            set_reason(&mut st, reason, message);
            st.completion_time.get_or_insert(Time(now));
        }
        Seen::Blocked(Blocked::Waiting { reason, message, .. }) => {
            st.phase = Some(DataTaskPhase::Pending);
            set_reason(&mut st, reason, message);
        }
        Seen::Busy { file_system_id, message } => {
            st.phase = Some(DataTaskPhase::Pending);
            st.file_system_id = Some(file_system_id.clone());
            let message = format!("another data repository task runs on {file_system_id}; waiting for it ({message})");
            set_reason(&mut st, "WaitingForOtherTask", &message);
        }
        Seen::StartFailed { reason, message } => {
            st.phase = Some(DataTaskPhase::Pending);
            set_reason(&mut st, reason, message);
        }
        Seen::Task(task) => from_task(&mut st, task, now),
        Seen::Lost(id) => {
            st.phase = Some(DataTaskPhase::Failed);
            st.lifecycle = None;
            let message = format!("FSx no longer knows data repository task {id} (was its file system deleted?)");
            set_reason(&mut st, "TaskLost", &message);
            st.completion_time.get_or_insert(Time(now));
        }
        Seen::NotOwned(message) => {
            // What status said about that task came from whoever wrote it: none of it is kept.
            st = LustreDataTaskStatus { completion_time: st.completion_time.take(), ..Default::default() };
            st.phase = Some(DataTaskPhase::Failed);
            set_reason(&mut st, super::admission::NOT_OWNED, message);
            st.completion_time.get_or_insert(Time(now));
        }
    }
    st
}

/// Why the FSx task `fsx`, which status.taskId names, is not `owner_uid`'s (None: it is).
pub(crate) fn not_owned(fsx: &Task, owner_uid: &str) -> Option<String> {
    let found = crate::ownership::ownership_mismatch(fsx, owner_uid)?;
    Some(format!(
        "status.taskId names FSx task {}, which is not this LustreDataTask's: it carries {found} (this object's \
         UID is {owner_uid}); nothing was done: it is neither followed nor cancelled (create a new LustreDataTask)",
        fsx.id
    ))
}

/// The status right after CreateDataRepositoryTask answered (or an earlier one was adopted):
/// the task ID must be in status before anything else can fail.
pub(crate) fn started(previous: &LustreDataTaskStatus, task: &Task, now: Timestamp) -> LustreDataTaskStatus {
    let mut st = previous.clone();
    from_task(&mut st, task, now);
    st
}

fn from_task(st: &mut LustreDataTaskStatus, task: &Task, now: Timestamp) {
    let (phase, reason) = phase_of(&task.lifecycle);
    st.phase = Some(phase);
    st.task_id = Some(task.id.clone());
    st.file_system_id = Some(task.file_system_id.clone());
    st.lifecycle = Some(task.lifecycle.to_string());
    st.total_count = task.total;
    st.succeeded_count = task.succeeded;
    st.failed_count = task.failed;
    st.released_capacity = task.released_capacity;
    st.progress = task.total.map(|total| {
        let done = task.succeeded.unwrap_or_default() + task.failed.unwrap_or_default();
        format!("{done}/{total}")
    });
    st.report_path = task.report_path.clone();
    st.start_time = task.start_time.and_then(time).or(st.start_time.take());
    if phase.is_finished() {
        let ended = task.end_time.and_then(time);
        st.completion_time = ended.or(st.completion_time.take()).or(Some(Time(now)));
    }
    let message = match (&task.failure, phase) {
        (Some(failure), DataTaskPhase::Failed) => format!("FSx task {} failed: {failure}", task.id),
        _ => {
            let progress = st.progress.as_deref().map(|p| format!(", {p} files")).unwrap_or_default();
            format!("FSx task {} on {} is {}{progress}", task.id, task.file_system_id, task.lifecycle)
        }
    };
    set_reason(st, reason, &message);
}

fn time(epoch_seconds: i64) -> Option<Time> {
    Timestamp::from_second(epoch_seconds).ok().map(Time)
}

fn set_reason(st: &mut LustreDataTaskStatus, reason: &str, message: &str) {
    st.reason = Some(reason.to_string());
    st.message = Some(message.chars().take(1024).collect());
}

/// Whether the FSx task still runs (PENDING or EXECUTING): it is cancelled on delete.
pub(crate) fn is_cancellable(lifecycle: &TaskLifecycle) -> bool {
    matches!(lifecycle, TaskLifecycle::Pending | TaskLifecycle::Executing)
}

/// For a finished task with `ttlSecondsAfterFinished`: how long until it is deleted (zero: now).
/// None: it is kept (no TTL, or not finished).
pub(crate) fn ttl_left(task: &LustreDataTask, st: &LustreDataTaskStatus, now: Timestamp) -> Option<Duration> {
    let ttl = task.spec.ttl_seconds_after_finished?;
    if !st.phase.is_some_and(DataTaskPhase::is_finished) {
        return None;
    }
    let finished = st.completion_time.as_ref().map(|t| t.0).unwrap_or(now);
    let deadline = finished.as_second().saturating_add(i64::from(ttl.max(0)));
    let left = deadline.saturating_sub(now.as_second());
    Some(Duration::from_secs(u64::try_from(left).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).expect("a valid timestamp")
    }

    fn fsx(lifecycle: TaskLifecycle) -> Task {
        let running = lifecycle != TaskLifecycle::Pending;
        let ended = matches!(lifecycle, TaskLifecycle::Succeeded | TaskLifecycle::Failed | TaskLifecycle::Canceled);
        Task {
            id: "task-0123456789abcdef0".into(),
            file_system_id: "fs-0123456789abcdef0".into(),
            task_type: "EXPORT_TO_REPOSITORY".into(),
            lifecycle,
            total: Some(10),
            succeeded: Some(if ended { 9 } else { 3 }),
            failed: Some(if ended { 1 } else { 0 }),
            start_time: running.then_some(1_800_000_010),
            end_time: ended.then_some(1_800_000_070),
            report_path: Some("s3://ml-data/team-a/reports".into()),
            ..Default::default()
        }
    }

    fn seen(lifecycle: TaskLifecycle) -> Seen {
        Seen::Task(Box::new(fsx(lifecycle)))
    }

    fn task(ttl: Option<i32>) -> LustreDataTask {
        let mut task: LustreDataTask = serde_json::from_value(serde_json::json!({
            "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreDataTask",
            "metadata": {"name": "export", "namespace": "team-a"},
            "spec": {"volumeName": "train", "type": "Export"}
        }))
        .expect("fixture parses");
        task.spec.ttl_seconds_after_finished = ttl;
        task
    }

    #[test]
    fn fsx_lifecycles_become_phases_with_counts_progress_and_times() {
        let running = compose(&LustreDataTaskStatus::default(), &seen(TaskLifecycle::Executing), t(20));
        assert_eq!(running.phase, Some(DataTaskPhase::Running));
        assert_eq!(running.lifecycle.as_deref(), Some("EXECUTING"), "status shows FSx's spelling");
        assert_eq!(running.task_id.as_deref(), Some("task-0123456789abcdef0"));
        assert_eq!(running.progress.as_deref(), Some("3/10"));
        assert_eq!(running.start_time, Some(Time(t(10))));
        assert_eq!(running.completion_time, None);
        assert_eq!(running.reason.as_deref(), Some("TaskRunning"));

        let done = compose(&running, &seen(TaskLifecycle::Succeeded), t(90));
        assert_eq!(done.lifecycle.as_deref(), Some("SUCCEEDED"));
        assert_eq!(done.phase, Some(DataTaskPhase::Succeeded));
        assert_eq!((done.total_count, done.succeeded_count, done.failed_count), (Some(10), Some(9), Some(1)));
        assert_eq!(done.progress.as_deref(), Some("10/10"));
        assert_eq!(done.completion_time, Some(Time(t(70))), "FSx's end time, not the pass's clock");
        assert_eq!(done.report_path.as_deref(), Some("s3://ml-data/team-a/reports"));
        assert_eq!(compose(&done, &seen(TaskLifecycle::Succeeded), t(500)), done, "a second look changes nothing");

        let mut failed_task = fsx(TaskLifecycle::Failed);
        failed_task.failure = Some("the report path is not accessible".into());
        let failed = compose(&running, &Seen::Task(Box::new(failed_task)), t(90));
        assert_eq!((failed.phase, failed.reason.as_deref()), (Some(DataTaskPhase::Failed), Some("TaskFailed")));
        assert!(failed.message.as_deref().is_some_and(|m| m.contains("the report path is not accessible")));

        assert_eq!(phase_of(&TaskLifecycle::Canceled).0, DataTaskPhase::Canceled);
        assert_eq!(phase_of(&TaskLifecycle::Canceling).0, DataTaskPhase::Running);
        assert_eq!(phase_of(&TaskLifecycle::Pending).0, DataTaskPhase::Pending);
        assert_eq!(
            phase_of(&TaskLifecycle::Other("PAUSED".into())),
            (DataTaskPhase::Pending, "TaskLifecycleUnknown"),
            "a lifecycle FSx added is pending, and says so"
        );
        let unknown = compose(&running, &seen(TaskLifecycle::Other("PAUSED".into())), t(95));
        assert_eq!(unknown.lifecycle.as_deref(), Some("PAUSED"), "an unknown lifecycle is shown as FSx said it");
    }

    #[test]
    fn blocked_tasks_wait_or_fail_and_times_are_set_once() {
        let wait = Blocked::Waiting { reason: "VolumeNotFound", message: "no volume".into(), retry: Duration::ZERO };
        let pending = compose(&LustreDataTaskStatus::default(), &Seen::Blocked(wait.clone()), t(0));
        assert_eq!((pending.phase, pending.reason.as_deref()), (Some(DataTaskPhase::Pending), Some("VolumeNotFound")));
        assert_eq!(compose(&pending, &Seen::Blocked(wait), t(30)), pending, "no write while waiting");

        let refused = Blocked::Refused { reason: "ClassRejected", message: "outside".into() };
        let failed = compose(&pending, &Seen::Blocked(refused.clone()), t(40));
        assert_eq!((failed.phase, failed.completion_time.clone()), (Some(DataTaskPhase::Failed), Some(Time(t(40)))));
        assert_eq!(compose(&failed, &Seen::Blocked(refused), t(99)).completion_time, Some(Time(t(40))));

        let busy = compose(
            &pending,
            &Seen::Busy { file_system_id: "fs-1".into(), message: "A task is already running".into() },
            t(5),
        );
        assert_eq!((busy.phase, busy.reason.as_deref()), (Some(DataTaskPhase::Pending), Some("WaitingForOtherTask")));

        let lost = compose(&busy, &Seen::Lost("task-1".into()), t(7));
        assert_eq!((lost.phase, lost.reason.as_deref()), (Some(DataTaskPhase::Failed), Some("TaskLost")));
    }

    #[test]
    fn a_task_in_status_that_is_not_ours_fails_and_shows_nothing_of_it() {
        let uid = "0f8e7a4c-1b2d-4c3e-9f00-123456789abc";
        let ours = |t: &mut Task| {
            t.tags.insert(lustre_api::tags::OWNER_UID.into(), uid.into());
            t.tags.insert(lustre_api::tags::MANAGED_BY.into(), lustre_api::tags::MANAGED_BY_VALUE.into());
        };
        // (what, change to a task of ours, not ours)
        type Row = (&'static str, fn(&mut Task), bool);
        let table: Vec<Row> = vec![
            ("ours", |_| {}, false),
            (
                "another owner's",
                |t| {
                    t.tags.insert(lustre_api::tags::OWNER_UID.into(), "someone-else".into());
                },
                true,
            ),
            ("untagged", |t| t.tags.clear(), true),
            (
                "not managed by the operator",
                |t| {
                    t.tags.remove(lustre_api::tags::MANAGED_BY);
                },
                true,
            ),
        ];
        for (what, change, refused) in table {
            let mut task = fsx(TaskLifecycle::Executing);
            ours(&mut task);
            change(&mut task);
            let why = not_owned(&task, uid);
            assert_eq!(why.is_some(), refused, "{what}: {why:?}");
            let Some(why) = why else { continue };
            assert!(why.contains("task-0123456789abcdef0") && why.contains("nothing was done"), "{what}: {why}");
            assert!(!why.contains("someone-else"), "{what}: the other owner is not shown: {why}");
        }

        // A forged status (another tenant's running task) becomes Failed, with nothing of it kept.
        let forged = compose(&LustreDataTaskStatus::default(), &seen(TaskLifecycle::Executing), t(20));
        let failed = compose(&forged, &Seen::NotOwned("not ours".into()), t(30));
        assert_eq!((failed.phase, failed.reason.as_deref()), (Some(DataTaskPhase::Failed), Some("NotOwned")));
        assert_eq!(
            (failed.task_id.clone(), failed.file_system_id.clone(), failed.lifecycle.clone()),
            (None, None, None)
        );
        assert_eq!((failed.total_count, failed.progress.clone(), failed.start_time.clone()), (None, None, None));
        assert_eq!(failed.completion_time, Some(Time(t(30))));
        assert_eq!(compose(&failed, &Seen::NotOwned("not ours".into()), t(99)), failed, "written once");
    }

    #[test]
    fn ttl_counts_from_completion() {
        let done = compose(&LustreDataTaskStatus::default(), &seen(TaskLifecycle::Succeeded), t(90));
        assert_eq!(ttl_left(&task(None), &done, t(100)), None, "no TTL: kept");
        assert_eq!(ttl_left(&task(Some(60)), &done, t(100)), Some(Duration::from_secs(30)));
        assert_eq!(ttl_left(&task(Some(2)), &done, t(100)), Some(Duration::ZERO));
        let running = compose(&LustreDataTaskStatus::default(), &seen(TaskLifecycle::Executing), t(20));
        assert_eq!(ttl_left(&task(Some(0)), &running, t(100)), None, "not finished");
        assert!(is_cancellable(&TaskLifecycle::Executing) && is_cancellable(&TaskLifecycle::Pending));
        assert!(!is_cancellable(&TaskLifecycle::Canceling) && !is_cancellable(&TaskLifecycle::Other("PAUSED".into())));
    }
}
