//! Data in and out of S3, end to end against the real control plane and the AWS emulator:
//! data repository associations follow `spec.s3.associations` (create, edit, remove), a
//! LustreDataTask exports through them (and reports FSx's failure), and
//! `onDelete.exportToS3` exports before the file system is deleted, keeping it when the export
//! fails. Inputs FSx or the class refuse cost no AWS call.

use std::time::Duration;

use anyhow::Context as _;
use kube::api::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use lustre_api::{DataTaskPhase, DeploymentType, LustreClassSpec, LustreDataTask, LustreVersion, LustreVolume};
use serde_json::{json, Value};
use testkit::volumes::{condition, emulator, gone, ready, volume, DEADLINE};
use testkit::{wait_for, wait_until, Harness, OperatorOptions};

/// The class of these tests: persistent and scratch types, every version, S3 under the namespace.
fn data_class(c: &mut LustreClassSpec) {
    c.deployment_types = vec![DeploymentType::Scratch2, DeploymentType::Persistent2, DeploymentType::Scratch1];
    c.lustre_versions = vec![LustreVersion::V2_15, LustreVersion::V2_12, LustreVersion::V2_10];
    c.s3_prefixes = vec!["s3://ml-data/${namespace}/".into()];
}

fn dra(fs_path: &str, repo: &str, export: &[&str]) -> Value {
    json!({"fileSystemPath": fs_path, "dataRepositoryPath": repo, "autoImportEvents": ["NEW", "CHANGED"],
           "autoExportEvents": export})
}

fn p2_volume(name: &str, class: &str, associations: Vec<Value>, export_on_delete: bool) -> LustreVolume {
    volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": name},
        "spec": {"storageCapacityGiB": 1200, "deploymentType": "PERSISTENT_2", "perUnitStorageThroughput": 125,
                 "className": class, "s3": {"associations": associations},
                 "onDelete": {"exportToS3": export_on_delete}}}))
}

fn associations_of(h: &Harness, fs_id: &str) -> Vec<aws_emulator::AssociationInfo> {
    h.emulator.inventory().data_repository_associations.into_iter().filter(|a| a.file_system_id == fs_id).collect()
}

fn all_available(lv: &LustreVolume, n: usize) -> bool {
    let st = lv.status.clone().unwrap_or_default();
    st.associations.len() == n && st.associations.iter().all(|a| a.lifecycle.as_deref() == Some("AVAILABLE"))
}

#[tokio::test]
async fn associations_follow_the_spec_create_edit_remove() -> anyhow::Result<()> {
    let h =
        Harness::start_with("dra", emulator(Duration::from_secs(2)), OperatorOptions::default(), data_class).await?;
    let ns = h.ns.name.clone();
    let datasets = format!("s3://ml-data/{ns}/datasets/");
    let results = format!("s3://ml-data/{ns}/results/");
    let lv =
        p2_volume("data", &h.class, vec![dra("/datasets", &datasets, &[]), dra("/results", &results, &["NEW"])], false);
    h.lvs().create(&PostParams::default(), &lv).await?;
    let lv = ready(&h, "data").await?;
    let uid = lv.metadata.uid.clone().unwrap_or_default();
    let st = lv.status.clone().unwrap_or_default();
    let fs_id = st.file_system_id.clone().context("file system in status")?;

    // Both AVAILABLE, in status and in FSx, each tagged with the owner, one create each.
    assert!(all_available(&lv, 2), "{:?}", st.associations);
    assert_eq!(condition(&lv, "AssociationsReady").map(|c| c.status.as_str()), Some("True"));
    let in_fsx = associations_of(&h, &fs_id);
    assert_eq!(in_fsx.len(), 2, "{in_fsx:?}");
    for a in &in_fsx {
        assert_eq!(a.lifecycle, "AVAILABLE");
        assert_eq!(a.tags.get(lustre_api::tags::OWNER_UID), Some(&uid));
        let reported = st.associations.iter().find(|s| s.file_system_path == a.file_system_path).context("reported")?;
        assert_eq!(reported.association_id.as_deref(), Some(a.id.as_str()));
    }
    let calls = h.emulator.calls();
    assert_eq!(calls.count("fsx", "CreateDataRepositoryAssociation"), 2);

    // Stable: no AWS call, no status write.
    let before = (h.emulator.calls().total(), h.lvs().get("data").await?.metadata.resource_version);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = (h.emulator.calls().total(), h.lvs().get("data").await?.metadata.resource_version);
    assert_eq!(before, after, "a stable volume with associations costs no AWS call and no write");

    // Edit the export events of /results: applied with one update.
    let edited = json!({"spec": {"s3": {"associations": [
        dra("/datasets", &datasets, &[]), dra("/results", &results, &["NEW", "CHANGED", "DELETED"])]}}});
    h.lvs().patch("data", &PatchParams::default(), &Patch::Merge(&edited)).await?;
    wait_until(DEADLINE, "the export events of /results in FSx", || async {
        Ok(associations_of(&h, &fs_id).iter().any(|a| {
            a.file_system_path == "/results"
                && a.lifecycle == "AVAILABLE"
                && a.auto_export_events.clone().unwrap_or_default() == ["NEW", "CHANGED", "DELETED"]
        }))
    })
    .await
    .with_context(|| h.operator_log())?;
    assert_eq!(h.emulator.calls().count("fsx", "UpdateDataRepositoryAssociation"), 1);
    let generation = h.lvs().get("data").await?.metadata.generation;
    wait_for(&h.lvs(), "data", DEADLINE, "Ready with the edit observed", |lv| {
        testkit::volumes::is_ready(lv) && lv.status.as_ref().and_then(|s| s.observed_generation) == generation
    })
    .await?;

    // Remove /datasets: it is deleted from FSx and from status; /results stays.
    let removed =
        json!({"spec": {"s3": {"associations": [dra("/results", &results, &["NEW", "CHANGED", "DELETED"])]}}});
    h.lvs().patch("data", &PatchParams::default(), &Patch::Merge(&removed)).await?;
    wait_until(DEADLINE, "/datasets deleted in FSx", || async {
        let left = associations_of(&h, &fs_id);
        Ok(left.len() == 1 && left[0].file_system_path == "/results")
    })
    .await
    .with_context(|| h.operator_log())?;
    let lv = wait_for(&h.lvs(), "data", DEADLINE, "one association reported", |lv| all_available(lv, 1)).await?;
    assert_eq!(lv.status.unwrap_or_default().associations[0].file_system_path, "/results");
    assert_eq!(h.emulator.calls().count("fsx", "DeleteDataRepositoryAssociation"), 1);
    assert_eq!(h.emulator.calls().count("fsx", "CreateDataRepositoryAssociation"), 2, "no re-create");

    // No export asked: deletion runs no task and leaves nothing.
    h.lvs().delete("data", &DeleteParams::default()).await?;
    gone(&h, "data").await?;
    assert_eq!(h.emulator.calls().count("fsx", "CreateDataRepositoryTask"), 0);
    assert!(h.emulator.inventory().file_systems.is_empty());
    Ok(())
}

#[tokio::test]
async fn export_before_delete_keeps_the_file_system_until_an_export_succeeded() -> anyhow::Result<()> {
    let h =
        Harness::start_with("export", emulator(Duration::from_secs(2)), OperatorOptions::default(), data_class).await?;
    let ns = h.ns.name.clone();

    // 1. The export fails: the file system stays, the condition says why, no retry storm.
    let lv = p2_volume("kept", &h.class, vec![dra("/out", &format!("s3://ml-data/{ns}/out/"), &[])], true);
    h.lvs().create(&PostParams::default(), &lv).await?;
    let lv = ready(&h, "kept").await?;
    let fs_id = lv.status.clone().unwrap_or_default().file_system_id.context("fs id")?;
    h.emulator.fail_tasks(Some(&fs_id), "Access denied writing to s3://ml-data (injected)");
    h.lvs().delete("kept", &DeleteParams::default()).await?;
    let lv = wait_for(&h.lvs(), "kept", DEADLINE, "DataExported=False ExportFailed", |lv| {
        condition(lv, "DataExported").is_some_and(|c| c.reason == "ExportFailed")
    })
    .await
    .with_context(|| h.operator_log())?;
    let message = condition(&lv, "DataExported").map(|c| c.message.clone()).unwrap_or_default();
    assert!(message.contains("Access denied writing to s3://ml-data (injected)"), "{message}");
    assert!(message.contains("lustre.fsx.dev/retry-export"), "the message says how to retry: {message}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let calls = h.emulator.calls();
    assert_eq!(calls.count("fsx", "CreateDataRepositoryTask"), 1, "one export, no retry loop");
    assert_eq!(calls.count("fsx", "DeleteFileSystem"), 0, "the file system is never deleted after a failed export");
    let fs = h.emulator.inventory().file_systems.into_iter().find(|f| f.id == fs_id).context("file system kept")?;
    assert_eq!(fs.lifecycle, "AVAILABLE");

    // 2. Fault cleared and the export retried: it succeeds, then the file system goes.
    h.emulator.clear_task_failures();
    let retry = json!({"metadata": {"annotations": {"lustre.fsx.dev/retry-export": "1"}}});
    h.lvs().patch("kept", &PatchParams::default(), &Patch::Merge(&retry)).await?;
    gone(&h, "kept").await?;
    let calls = h.emulator.calls();
    assert_eq!(calls.count("fsx", "CreateDataRepositoryTask"), 2, "one export per attempt");
    assert_eq!(calls.count("fsx", "DeleteFileSystem"), calls.count_outcome("fsx", "DeleteFileSystem", "ok"));

    // 3. A clean run: exactly one export, and FSx deletes only after it SUCCEEDED.
    let lv = p2_volume("clean", &h.class, vec![dra("/out", &format!("s3://ml-data/{ns}/clean/"), &[])], true);
    h.lvs().create(&PostParams::default(), &lv).await?;
    let lv = ready(&h, "clean").await?;
    let fs_id = lv.status.clone().unwrap_or_default().file_system_id.context("fs id")?;
    let tasks_before = h.emulator.calls().count("fsx", "CreateDataRepositoryTask");
    h.lvs().delete("clean", &DeleteParams::default()).await?;
    let mut seen: Vec<(String, Vec<String>)> = Vec::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while h.lvs().get_opt("clean").await?.is_some() {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "not deleted:\n{}", h.operator_log());
        let inv = h.emulator.inventory();
        if let Some(fs) = inv.file_systems.iter().find(|f| f.id == fs_id) {
            let tasks = inv.data_repository_tasks.iter().filter(|t| t.file_system_id == fs_id);
            seen.push((fs.lifecycle.clone(), tasks.map(|t| format!("{} {}", t.task_type, t.lifecycle)).collect()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(h.emulator.calls().count("fsx", "CreateDataRepositoryTask") - tasks_before, 1, "exactly one export");
    assert!(seen.iter().any(|(_, t)| t == &["EXPORT_TO_REPOSITORY SUCCEEDED".to_string()]), "{seen:?}");
    for (fs, tasks) in &seen {
        if fs == "DELETING" {
            assert_eq!(tasks, &["EXPORT_TO_REPOSITORY SUCCEEDED".to_string()], "deleted before the export: {seen:?}");
        }
    }
    assert!(h.emulator.inventory().file_systems.is_empty());
    Ok(())
}

#[tokio::test]
async fn association_inputs_fsx_or_the_class_refuse_cost_no_aws_call() -> anyhow::Result<()> {
    let h = Harness::start_with("dra-bad", emulator(Duration::from_secs(2)), OperatorOptions::default(), data_class)
        .await?;
    let ns = h.ns.name.clone();
    let ok = |path: &str| format!("s3://ml-data/{ns}/{path}/");
    let refused = |lv: LustreVolume, expected: &'static str| {
        let api = h.lvs();
        async move {
            let name = lv.metadata.name.clone().unwrap_or_default();
            match api.create(&PostParams::default(), &lv).await {
                Ok(_) => anyhow::bail!("{name} was admitted; expected a rejection containing {expected:?}"),
                Err(e) => anyhow::ensure!(e.to_string().contains(expected), "{name}: {e}"),
            }
            Ok(())
        }
    };
    // What admission refuses.
    let overlap =
        p2_volume("overlap", &h.class, vec![dra("/data", &ok("a"), &[]), dra("/data/sub", &ok("b"), &[])], false);
    refused(overlap, "must not overlap").await?;
    let nine = p2_volume(
        "nine",
        &h.class,
        (0..9).map(|i| dra(&format!("/d{i}"), &ok(&format!("d{i}")), &[])).collect(),
        false,
    );
    refused(nine, "s3.associations").await?;
    let mut scratch1 = p2_volume("scratch1", &h.class, vec![dra("/d", &ok("d"), &[])], false);
    scratch1.spec.deployment_type = DeploymentType::Scratch1;
    scratch1.spec.per_unit_storage_throughput = None;
    refused(scratch1, "s3.associations need lustreVersion 2.12 or 2.15").await?;
    let mut old = p2_volume("old", &h.class, vec![dra("/d", &ok("d"), &[])], false);
    old.spec.deployment_type = DeploymentType::Scratch2;
    old.spec.per_unit_storage_throughput = None;
    old.spec.lustre_version = LustreVersion::V2_10;
    refused(old, "s3.associations need lustreVersion 2.12 or 2.15").await?;

    // What only the class knows: another namespace's prefix. The operator refuses it.
    let elsewhere = p2_volume("elsewhere", &h.class, vec![dra("/d", "s3://ml-data/other-team/d/", &[])], false);
    h.lvs().create(&PostParams::default(), &elsewhere).await?;
    let lv = wait_for(&h.lvs(), "elsewhere", DEADLINE, "Ready=False ClassRejected", |lv| {
        condition(lv, "Ready").is_some_and(|c| c.reason == "ClassRejected")
    })
    .await
    .with_context(|| h.operator_log())?;
    let message = condition(&lv, "Ready").map(|c| c.message.clone()).unwrap_or_default();
    assert!(message.contains("s3://ml-data/other-team/d/"), "{message}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.emulator.calls().total(), 0, "{:?}", h.emulator.calls());
    Ok(())
}

#[tokio::test]
async fn a_data_task_on_associations_exports_and_reports_what_fsx_says_when_it_fails() -> anyhow::Result<()> {
    let h = Harness::start_with("dra-task", emulator(Duration::from_secs(2)), OperatorOptions::default(), data_class)
        .await?;
    let ns = h.ns.name.clone();
    let lv = p2_volume("data", &h.class, vec![dra("/results", &format!("s3://ml-data/{ns}/results/"), &[])], false);
    h.lvs().create(&PostParams::default(), &lv).await?;
    let lv = wait_for(&h.lvs(), "data", DEADLINE, "Ready with the association AVAILABLE", |lv| {
        testkit::volumes::is_ready(lv) && all_available(lv, 1)
    })
    .await
    .with_context(|| h.operator_log())?;
    let fs_id = lv.status.clone().unwrap_or_default().file_system_id.context("fs id")?;
    let tasks: Api<LustreDataTask> = h.ns.api();
    let task = |name: &str| -> anyhow::Result<LustreDataTask> {
        Ok(serde_json::from_value(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreDataTask",
            "metadata": {"name": name},
            "spec": {"volumeName": "data", "type": "Export", "paths": ["results/run-7"],
                     "reportPath": format!("s3://ml-data/{ns}/reports")}}))?)
    };
    let finished = |t: &LustreDataTask| t.status.as_ref().and_then(|s| s.phase).is_some_and(|p| p.is_finished());

    // Exported through the association: Succeeded with counts.
    tasks.create(&PostParams::default(), &task("export")?).await?;
    let done = wait_for(&tasks, "export", DEADLINE, "finished", finished).await.with_context(|| h.operator_log())?;
    let st = done.status.clone().unwrap_or_default();
    assert_eq!(st.phase, Some(DataTaskPhase::Succeeded), "{st:?}");
    assert!(st.total_count.unwrap_or_default() > 0 && st.succeeded_count == st.total_count, "{st:?}");
    assert_eq!(st.file_system_id.as_deref(), Some(fs_id.as_str()));

    // FSx fails the next one: Failed, with FSx's message.
    h.emulator.fail_tasks(Some(&fs_id), "S3 bucket policy denies s3:PutObject (injected)");
    tasks.create(&PostParams::default(), &task("denied")?).await?;
    let failed = wait_for(&tasks, "denied", DEADLINE, "finished", finished).await.with_context(|| h.operator_log())?;
    let st = failed.status.clone().unwrap_or_default();
    assert_eq!(st.phase, Some(DataTaskPhase::Failed), "{st:?}");
    assert!(st.message.unwrap_or_default().contains("S3 bucket policy denies s3:PutObject (injected)"));
    assert!(st.failed_count.unwrap_or_default() > 0);
    assert_eq!(h.emulator.calls().count("fsx", "CreateDataRepositoryTask"), 2, "one FSx task per LustreDataTask");
    Ok(())
}
