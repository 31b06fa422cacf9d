//! End to end: LustreDataTasks against the real control plane and the AWS emulator, with the
//! operator as its own process watching every namespace (a task of namespace B must never reach a
//! volume of namespace A, so the operator has to see both). One [`Cluster`] at a time (see
//! `testkit::cluster`); each test's tenants link a SCRATCH_2 volume to S3 with the legacy
//! `s3.importPath`, under their class's `s3Prefixes` (`s3://lustre-e2e/${namespace}/`).
//!
//! The assertions are on outcomes: the FSx tasks the emulated account holds (by owner tag), the
//! calls it answered, and the LustreDataTask objects.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use aws_emulator::{EmulatorConfig, Fault, TaskInfo};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use lustre_api::{tags, DataTaskPhase, LustreDataTask, LustreVolume};
use serde_json::json;
use testkit::volumes::{is_ready, volume, DEADLINE};
use testkit::{wait_for, wait_gone, Cluster, OperatorOptions, Tenant};

const BUCKET: &str = "lustre-e2e";

/// An emulator whose file systems are AVAILABLE after 1 s and whose tasks run for `task`.
fn emulator(task: Duration) -> EmulatorConfig {
    EmulatorConfig {
        create_duration: Duration::from_secs(1),
        delete_duration: Duration::from_secs(1),
        task_duration: task,
        ..EmulatorConfig::default()
    }
}

/// `tenants` tenants whose classes allow `s3://lustre-e2e/<namespace>/`, the operator running.
async fn cluster(prefix: &str, tenants: usize, config: EmulatorConfig) -> anyhow::Result<Cluster> {
    Cluster::start(prefix, tenants, config, OperatorOptions::default(), |_, class| {
        class.s3_prefixes = vec![format!("s3://{BUCKET}/${{namespace}}/")];
    })
    .await
}

/// A SCRATCH_2 1200 GiB volume of the tenant's class, linked to the tenant's S3 prefix.
fn linked_volume(t: &Tenant, name: &str) -> LustreVolume {
    volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": name},
                  "spec": {"storageCapacityGiB": 1200, "className": t.class,
                           "s3": {"importPath": format!("s3://{BUCKET}/{}/data", t.ns)}}}))
}

/// A LustreDataTask from its spec.
fn data_task(name: &str, spec: serde_json::Value) -> anyhow::Result<LustreDataTask> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreDataTask", "metadata": {"name": name}, "spec": spec
    }))?)
}

fn tasks(t: &Tenant) -> Api<LustreDataTask> {
    t.api()
}

fn phase(task: &LustreDataTask) -> Option<DataTaskPhase> {
    task.status.as_ref()?.phase
}

fn reason(task: &LustreDataTask) -> Option<&str> {
    task.status.as_ref()?.reason.as_deref()
}

/// Creates a linked volume and waits until it is Ready.
async fn ready_volume(c: &Cluster, t: &Tenant, name: &str) -> anyhow::Result<LustreVolume> {
    t.lvs().create(&PostParams::default(), &linked_volume(t, name)).await?;
    wait_for(&t.lvs(), name, DEADLINE, "condition Ready=True", is_ready)
        .await
        .with_context(|| format!("operator log:\n{}", c.operator_log()))
}

/// Waits for the task to reach `want`; a failure carries the operator's log.
async fn in_phase(c: &Cluster, t: &Tenant, name: &str, want: DataTaskPhase) -> anyhow::Result<LustreDataTask> {
    wait_for(&tasks(t), name, DEADLINE, &format!("phase {}", want.as_str()), |task| phase(task) == Some(want))
        .await
        .with_context(|| format!("operator log:\n{}", c.operator_log()))
}

/// The FSx tasks tagged with `uid` as their owner.
fn fsx_tasks_of(c: &Cluster, uid: &str) -> Vec<TaskInfo> {
    let inv = c.inventory();
    inv.data_repository_tasks
        .into_iter()
        .filter(|t| t.tags.get(tags::OWNER_UID).map(String::as_str) == Some(uid))
        .collect()
}

fn uid(task: &LustreDataTask) -> String {
    task.metadata.uid.clone().unwrap_or_default()
}

/// DescribeDataRepositoryTasks, CreateDataRepositoryTask and CancelDataRepositoryTask calls.
fn task_calls(c: &Cluster) -> u64 {
    let calls = c.calls();
    ["DescribeDataRepositoryTasks", "CreateDataRepositoryTask", "CancelDataRepositoryTask"]
        .iter()
        .map(|op| calls.count("fsx", op))
        .sum()
}

#[tokio::test]
async fn an_export_on_a_ready_volume_succeeds_once_with_counts_and_times() -> anyhow::Result<()> {
    let c = cluster("task-export", 1, emulator(Duration::from_secs(2))).await?;
    let t = c.tenant(0);
    let lv = ready_volume(&c, t, "train").await?;
    let fs_id = lv.status.as_ref().and_then(|s| s.file_system_id.clone()).context("the volume's file system")?;
    let report = format!("s3://{BUCKET}/{}/reports", t.ns);
    let spec = json!({"volumeName": "train", "type": "Export", "paths": ["results/run-7", "results/run-8"],
                      "reportPath": report});
    tasks(t).create(&PostParams::default(), &data_task("export", spec)?).await?;
    let done = in_phase(&c, t, "export", DataTaskPhase::Succeeded).await?;
    let st = done.status.clone().unwrap_or_default();

    // Exactly one FSx task, tagged with this object's UID, and the status reports it.
    assert_eq!(c.calls().count("fsx", "CreateDataRepositoryTask"), 1, "{:?}", c.calls());
    let fsx = fsx_tasks_of(&c, &uid(&done));
    assert_eq!(fsx.len(), 1, "{fsx:?}");
    assert_eq!(fsx[0].file_system_id, fs_id);
    assert_eq!(fsx[0].task_type, "EXPORT_TO_REPOSITORY");
    assert_eq!(fsx[0].lifecycle, "SUCCEEDED");
    assert_eq!(fsx[0].tags.get(tags::MANAGED_BY).map(String::as_str), Some(tags::MANAGED_BY_VALUE));
    assert_eq!(st.task_id.as_deref(), Some(fsx[0].id.as_str()));
    assert_eq!(st.file_system_id.as_deref(), Some(fs_id.as_str()));
    assert_eq!(st.lifecycle.as_deref(), Some("SUCCEEDED"));
    // The counts are FSx's (the emulator derives a file count per path).
    let total = fsx[0].total_count;
    assert!(total > 0, "{fsx:?}");
    assert_eq!((st.total_count, st.succeeded_count, st.failed_count), (Some(total), Some(total), Some(0)), "{st:?}");
    assert_eq!(st.progress, Some(format!("{total}/{total}")));
    assert_eq!(st.report_path.as_deref(), Some(report.as_str()));
    let (start, end) = (st.start_time.clone().context("startTime")?, st.completion_time.clone().context("end")?);
    assert!(start.0 <= end.0, "{st:?}");
    assert_eq!(st.reason.as_deref(), Some("TaskSucceeded"));
    assert!(done.metadata.finalizers.unwrap_or_default().iter().any(|f| f == "lustre.fsx.dev/data-task"));

    // A finished task costs no AWS call and no write.
    let rv = done.metadata.resource_version.clone();
    let idle = c.calls_during(Duration::from_secs(4)).await;
    assert_eq!(idle, 0, "AWS calls after the task finished: {:?}", c.calls());
    assert_eq!(tasks(t).get("export").await?.metadata.resource_version, rv, "no status write once finished");

    // Deleting a finished task cancels nothing.
    tasks(t).delete("export", &DeleteParams::default()).await?;
    wait_gone(&tasks(t), "export", DEADLINE).await.with_context(|| c.operator_log())?;
    assert_eq!(c.calls().count("fsx", "CancelDataRepositoryTask"), 0);
    Ok(())
}

#[tokio::test]
async fn an_operator_killed_right_after_create_leaves_exactly_one_fsx_task() -> anyhow::Result<()> {
    let mut c = cluster("task-kill", 1, emulator(Duration::from_secs(2))).await?;
    ready_volume(&c, c.tenant(0), "train").await?;
    // FSx applies the create but the answer is held back: the operator is killed before it sees
    // the task's ID, so nothing of it reaches the LustreDataTask's status.
    c.emulator.set_fault("CreateDataRepositoryTask", Fault::delay_after_apply(Duration::from_secs(30)).times(1));
    let t = c.tenant(0);
    tasks(t)
        .create(&PostParams::default(), &data_task("export", json!({"volumeName": "train", "type": "Export"}))?)
        .await?;
    let object_uid = uid(&tasks(t).get("export").await?);
    let deadline = Instant::now() + DEADLINE;
    while fsx_tasks_of(&c, &object_uid).is_empty() {
        anyhow::ensure!(Instant::now() < deadline, "no FSx task was created:\n{}", c.operator_log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.kill_operator();
    let before = tasks(c.tenant(0)).get("export").await?;
    assert_eq!(before.status.as_ref().and_then(|s| s.task_id.clone()), None, "killed before the ID was written");

    c.start_operator().await?;
    let t = c.tenant(0);
    let done = in_phase(&c, t, "export", DataTaskPhase::Succeeded).await?;
    let fsx = fsx_tasks_of(&c, &object_uid);
    assert_eq!(fsx.len(), 1, "one FSx task for one LustreDataTask: {fsx:?}");
    assert_eq!(c.inventory().data_repository_tasks.len(), 1);
    assert_eq!(done.status.as_ref().and_then(|s| s.task_id.as_deref()), Some(fsx[0].id.as_str()));
    assert_eq!(c.calls().count("fsx", "CreateDataRepositoryTask"), 1, "adopted by tag, not created again");
    Ok(())
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_adopted_not_repeated() -> anyhow::Result<()> {
    let c = cluster("task-drop", 1, emulator(Duration::from_secs(2))).await?;
    let t = c.tenant(0);
    ready_volume(&c, t, "train").await?;
    c.emulator.set_fault("CreateDataRepositoryTask", Fault::drop_after_apply().times(1));
    let spec = json!({"volumeName": "train", "type": "Release", "minDaysSinceLastAccess": 3});
    tasks(t).create(&PostParams::default(), &data_task("release", spec)?).await?;
    let done = in_phase(&c, t, "release", DataTaskPhase::Succeeded).await?;
    let fsx = fsx_tasks_of(&c, &uid(&done));
    assert_eq!(fsx.len(), 1, "{fsx:?}");
    assert_eq!(fsx[0].task_type, "RELEASE_DATA_FROM_FILESYSTEM");
    assert_eq!(c.inventory().data_repository_tasks.len(), 1);
    assert_eq!(done.status.as_ref().and_then(|s| s.task_id.as_deref()), Some(fsx[0].id.as_str()));
    Ok(())
}

#[tokio::test]
async fn deleting_a_running_task_cancels_it_and_the_next_task_waits_for_it() -> anyhow::Result<()> {
    let c = cluster("task-cancel", 1, emulator(Duration::from_secs(600))).await?;
    let t = c.tenant(0);
    ready_volume(&c, t, "train").await?;
    tasks(t)
        .create(&PostParams::default(), &data_task("first", json!({"volumeName": "train", "type": "Export"}))?)
        .await?;
    let first = in_phase(&c, t, "first", DataTaskPhase::Running).await?;
    let first_id = first.status.as_ref().and_then(|s| s.task_id.clone()).context("first's task ID")?;

    // FSx runs one task per file system: the second waits, and does not hammer FSx meanwhile.
    let spec =
        json!({"volumeName": "train", "type": "ImportMetadata", "paths": [format!("s3://{BUCKET}/{}/data/new", t.ns)]});
    tasks(t).create(&PostParams::default(), &data_task("second", spec)?).await?;
    wait_for(&tasks(t), "second", DEADLINE, "reason WaitingForOtherTask", |task| {
        phase(task) == Some(DataTaskPhase::Pending) && reason(task) == Some("WaitingForOtherTask")
    })
    .await
    .with_context(|| c.operator_log())?;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let refused = c.calls().count_outcome("fsx", "CreateDataRepositoryTask", "DataRepositoryTaskExecuting");
    assert!((1..=4).contains(&refused), "{refused} refused creates in ~8 s: backoff, not a hot loop");

    // Deleting the running task cancels it once, and the object goes without waiting for CANCELED.
    tasks(t).delete("first", &DeleteParams::default()).await?;
    wait_gone(&tasks(t), "first", DEADLINE).await.with_context(|| c.operator_log())?;
    let inv = c.inventory();
    let fsx = inv.data_repository_tasks.iter().find(|x| x.id == first_id).context("the first FSx task")?;
    assert!(matches!(fsx.lifecycle.as_str(), "CANCELING" | "CANCELED"), "{fsx:?}");
    assert_eq!(c.calls().count_outcome("fsx", "CancelDataRepositoryTask", "ok"), 1, "{:?}", c.calls());

    // Then the second one starts.
    let second = in_phase(&c, t, "second", DataTaskPhase::Running).await?;
    assert_eq!(fsx_tasks_of(&c, &uid(&second)).len(), 1);
    assert_eq!(c.calls().count_outcome("fsx", "CreateDataRepositoryTask", "ok"), 2, "{:?}", c.calls());
    tasks(t).delete("second", &DeleteParams::default()).await?;
    wait_gone(&tasks(t), "second", DEADLINE).await.with_context(|| c.operator_log())?;
    assert_eq!(c.calls().count_outcome("fsx", "CancelDataRepositoryTask", "ok"), 2);
    Ok(())
}

#[tokio::test]
async fn a_task_never_reaches_another_namespace_or_outside_its_class_prefixes() -> anyhow::Result<()> {
    let c = cluster("task-tenancy", 2, emulator(Duration::from_secs(2))).await?;
    let (a, b) = (c.tenant(0), c.tenant(1));
    ready_volume(&c, a, "data").await?;
    // A ready volume costs no AWS call until its resync (300 s): what follows is measured on the
    // account's call counter.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = c.calls().total();

    // B names A's volume: there is no "data" in B, so the task waits, whatever A has.
    tasks(b)
        .create(&PostParams::default(), &data_task("steal", json!({"volumeName": "data", "type": "Export"}))?)
        .await?;
    let steal = wait_for(&tasks(b), "steal", DEADLINE, "reason VolumeNotFound", |task| {
        phase(task) == Some(DataTaskPhase::Pending) && reason(task) == Some("VolumeNotFound")
    })
    .await
    .with_context(|| c.operator_log())?;
    let message = steal.status.as_ref().and_then(|s| s.message.clone()).unwrap_or_default();
    assert!(message.contains(&format!("namespace {}", b.ns)), "{message}");

    // A's own task writing its report into B's prefix is refused.
    let report = format!("s3://{BUCKET}/{}/reports", b.ns);
    let spec = json!({"volumeName": "data", "type": "Export", "reportPath": report});
    tasks(a).create(&PostParams::default(), &data_task("leak", spec)?).await?;
    let leak = in_phase(&c, a, "leak", DataTaskPhase::Failed).await?;
    assert_eq!(reason(&leak), Some("ClassRejected"));
    let message = leak.status.as_ref().and_then(|s| s.message.clone()).unwrap_or_default();
    assert!(message.contains(&report), "{message}");

    tokio::time::sleep(Duration::from_secs(3)).await;
    let steal = tasks(b).get("steal").await?;
    assert_eq!(reason(&steal), Some("VolumeNotFound"), "still waiting");
    assert_eq!(steal.status.as_ref().and_then(|s| s.file_system_id.clone()), None, "nothing of A's volume shown");
    assert_eq!(task_calls(&c), 0, "no FSx task call for either: {:?}", c.calls());
    assert_eq!(c.calls().total(), before, "no AWS call at all: {:?}", c.calls());

    // Both go when deleted, still without an AWS call.
    tasks(b).delete("steal", &DeleteParams::default()).await?;
    tasks(a).delete("leak", &DeleteParams::default()).await?;
    wait_gone(&tasks(b), "steal", DEADLINE).await.with_context(|| c.operator_log())?;
    wait_gone(&tasks(a), "leak", DEADLINE).await.with_context(|| c.operator_log())?;
    assert_eq!(c.calls().total(), before, "{:?}", c.calls());
    Ok(())
}

#[tokio::test]
async fn a_finished_task_is_deleted_after_its_ttl() -> anyhow::Result<()> {
    let c = cluster("task-ttl", 1, emulator(Duration::from_secs(1))).await?;
    let t = c.tenant(0);
    ready_volume(&c, t, "train").await?;
    let spec = json!({"volumeName": "train", "type": "Export", "ttlSecondsAfterFinished": 2});
    tasks(t).create(&PostParams::default(), &data_task("short-lived", spec)?).await?;
    let object_uid = uid(&tasks(t).get("short-lived").await?);
    // It is kept for 2 s after it finished (the emulator's times are whole seconds)...
    let done = in_phase(&c, t, "short-lived", DataTaskPhase::Succeeded).await?;
    let ended = done.status.and_then(|s| s.completion_time).context("completionTime")?.0;
    wait_gone(&tasks(t), "short-lived", DEADLINE).await.with_context(|| c.operator_log())?;
    // ...and then deleted by the operator.
    let kept = k8s_openapi::jiff::Timestamp::now().as_second() - ended.as_second();
    assert!(kept >= 2, "deleted {kept} s after completionTime, before ttlSecondsAfterFinished");
    let fsx = fsx_tasks_of(&c, &object_uid);
    assert_eq!(fsx.len(), 1, "{fsx:?}");
    assert_eq!(fsx[0].lifecycle, "SUCCEEDED", "deleted after it finished, not cancelled");
    assert_eq!(c.calls().count("fsx", "CancelDataRepositoryTask"), 0);
    Ok(())
}

/// The ID of the file system the volume's status names.
fn file_system_of(lv: &LustreVolume) -> anyhow::Result<String> {
    lv.status.as_ref().and_then(|s| s.file_system_id.clone()).context("the volume's file system")
}

/// What a tool with `*/status` rights (a restore, a tenant role written as `resources: ["*"]`)
/// can do: the volume's status as it is, but naming `file_system_id`. Written with the admin
/// client, as a merge patch of the whole status.
async fn forge_volume_status(c: &Cluster, t: &Tenant, name: &str, file_system_id: &str) -> anyhow::Result<()> {
    let api: Api<LustreVolume> = Api::namespaced(c.client.clone(), &t.ns);
    let mut status = serde_json::to_value(api.get_status(name).await?.status.unwrap_or_default())?;
    status["fileSystemId"] = json!(file_system_id);
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&json!({"status": status}))).await?;
    Ok(())
}

/// The same for a LustreDataTask: its status claims the FSx task `task_id` as its own, running.
async fn forge_task_status(c: &Cluster, t: &Tenant, name: &str, task_id: &str, fs_id: &str) -> anyhow::Result<()> {
    let api: Api<LustreDataTask> = Api::namespaced(c.client.clone(), &t.ns);
    let status = json!({"phase": "Running", "taskId": task_id, "fileSystemId": fs_id, "lifecycle": "EXECUTING",
                        "reason": "TaskRunning", "message": "forged"});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&json!({"status": status}))).await?;
    Ok(())
}

fn message(task: &LustreDataTask) -> String {
    task.status.as_ref().and_then(|s| s.message.clone()).unwrap_or_default()
}

#[tokio::test]
async fn a_forged_volume_status_cannot_aim_a_task_at_another_tenants_file_system() -> anyhow::Result<()> {
    let c = cluster("task-forged-fs", 2, emulator(Duration::from_secs(1))).await?;
    let (a, b) = (c.tenant(0), c.tenant(1));
    let fs_a = file_system_of(&ready_volume(&c, a, "data").await?)?;
    let fs_b = file_system_of(&ready_volume(&c, b, "data").await?)?;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // B's own task runs on B's file system, and checking that file system's tags costs no call:
    // the poller has it described already.
    let (describes, creates) =
        (c.calls().count("fsx", "DescribeFileSystems"), c.calls().count("fsx", "CreateDataRepositoryTask"));
    tasks(b)
        .create(&PostParams::default(), &data_task("own", json!({"volumeName": "data", "type": "Export"}))?)
        .await?;
    let own = in_phase(&c, b, "own", DataTaskPhase::Succeeded).await?;
    assert_eq!(own.status.as_ref().and_then(|s| s.file_system_id.clone()), Some(fs_b.clone()));
    assert_eq!(c.calls().count("fsx", "DescribeFileSystems"), describes, "no describe for the check: {:?}", c.calls());
    assert_eq!(c.calls().count("fsx", "CreateDataRepositoryTask"), creates + 1);

    // B's volume status is made to name A's file system right before B's next task is created,
    // and again until that task has been decided (the volume controller may rewrite it).
    let (before, creates) = (task_calls(&c), c.calls().count("fsx", "CreateDataRepositoryTask"));
    forge_volume_status(&c, b, "data", &fs_a).await?;
    let spec = json!({"volumeName": "data", "type": "Release"});
    tasks(b).create(&PostParams::default(), &data_task("steal", spec)?).await?;
    let deadline = Instant::now() + DEADLINE;
    let steal = loop {
        let steal = tasks(b).get("steal").await?;
        if phase(&steal).is_some_and(DataTaskPhase::is_finished) || phase(&steal) == Some(DataTaskPhase::Running) {
            break steal;
        }
        anyhow::ensure!(Instant::now() < deadline, "steal was not decided: {:?}\n{}", steal.status, c.operator_log());
        forge_volume_status(&c, b, "data", &fs_a).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!((phase(&steal), reason(&steal)), (Some(DataTaskPhase::Failed), Some("NotOwned")), "{:?}", steal.status);
    let why = message(&steal);
    assert!(why.contains(&fs_a) && why.contains("status.fileSystemId") && why.contains("nothing was done"), "{why}");
    assert!(why.contains("another owner's lustre.fsx.dev/owner-uid tag"), "{why}");
    let st = steal.status.clone().unwrap_or_default();
    assert_eq!((st.task_id, st.file_system_id), (None, None), "nothing of A's file system is shown");

    // On the AWS side: no task ever ran on A's file system, and the refusal made no task call.
    let on_a: Vec<TaskInfo> =
        c.inventory().data_repository_tasks.into_iter().filter(|t| t.file_system_id == fs_a).collect();
    assert!(on_a.is_empty(), "{on_a:?}");
    assert_eq!(c.calls().count("fsx", "CreateDataRepositoryTask"), creates, "{:?}", c.calls());
    assert_eq!(task_calls(&c), before, "no FSx task call at all for the refused task: {:?}", c.calls());
    assert!(fsx_tasks_of(&c, &uid(&steal)).is_empty());

    // Put B's status back for the volume controller (the test's own hygiene).
    forge_volume_status(&c, b, "data", &fs_b).await?;
    Ok(())
}

#[tokio::test]
async fn a_forged_task_id_cannot_have_another_tenants_task_followed_or_cancelled() -> anyhow::Result<()> {
    let mut c = cluster("task-forged-id", 2, emulator(Duration::from_secs(600))).await?;
    let (a, b) = (c.tenant(0), c.tenant(1));
    let fs_a = file_system_of(&ready_volume(&c, a, "data").await?)?;
    ready_volume(&c, b, "data").await?;
    tasks(a)
        .create(&PostParams::default(), &data_task("long", json!({"volumeName": "data", "type": "Export"}))?)
        .await?;
    let long = in_phase(&c, a, "long", DataTaskPhase::Running).await?;
    let a_task = long.status.as_ref().and_then(|s| s.task_id.clone()).context("A's FSx task")?;

    // B's task waits (its volume "ghost" does not exist), so it never starts one of its own.
    let waiting = |name: &'static str| {
        let (b, c) = (b, &c);
        async move {
            let spec = json!({"volumeName": "ghost", "type": "Export"});
            tasks(b).create(&PostParams::default(), &data_task(name, spec)?).await?;
            wait_for(&tasks(b), name, DEADLINE, "reason VolumeNotFound", |t| reason(t) == Some("VolumeNotFound"))
                .await
                .with_context(|| c.operator_log())
        }
    };

    // Followed: a status naming A's task fails B's task; nothing of A's task is shown.
    waiting("peek").await?;
    forge_task_status(&c, b, "peek", &a_task, &fs_a).await?;
    let peek = wait_for(&tasks(b), "peek", DEADLINE, "reason NotOwned", |t| reason(t) == Some("NotOwned"))
        .await
        .with_context(|| c.operator_log())?;
    assert_eq!(phase(&peek), Some(DataTaskPhase::Failed));
    let why = message(&peek);
    assert!(why.contains(&a_task) && why.contains("nothing was done"), "{why}");
    let st = peek.status.clone().unwrap_or_default();
    let shown = (st.task_id.as_deref(), st.file_system_id.as_deref(), st.lifecycle.as_deref(), st.total_count);
    assert_eq!(shown, (None, None, None, None), "{st:?}");
    tasks(b).delete("peek", &DeleteParams::default()).await?;
    wait_gone(&tasks(b), "peek", DEADLINE).await.with_context(|| c.operator_log())?;

    // Cancelled on delete: the forged status is the first thing the operator sees of the object
    // (it was down while the status was written and the object deleted).
    waiting("cancel").await?;
    c.kill_operator();
    forge_task_status(&c, c.tenant(1), "cancel", &a_task, &fs_a).await?;
    tasks(c.tenant(1)).delete("cancel", &DeleteParams::default()).await?;
    c.start_operator().await?;
    wait_gone(&tasks(c.tenant(1)), "cancel", DEADLINE).await.with_context(|| c.operator_log())?;

    // On the AWS side: no cancel call, and A's task still runs.
    assert_eq!(c.calls().count("fsx", "CancelDataRepositoryTask"), 0, "{:?}", c.calls());
    let inv = c.inventory();
    let fsx = inv.data_repository_tasks.iter().find(|t| t.id == a_task).context("A's FSx task")?;
    assert_eq!(fsx.lifecycle, "EXECUTING", "{fsx:?}");
    let long = tasks(c.tenant(0)).get("long").await?;
    assert_eq!(phase(&long), Some(DataTaskPhase::Running), "{:?}", long.status);
    Ok(())
}
