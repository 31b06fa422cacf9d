//! Data repository associations and tasks as the operator's data workflows use them, through the
//! unmodified aws-sdk-fsx client: one association processed at a time per file system, FSx's
//! association rules, task lifecycles with file counts, injected task failures, cancellation,
//! DeleteFileSystem refused while a task runs, and ClientRequestToken idempotency.

mod common;

use std::time::Duration;

use aws_emulator::{Emulator, EmulatorConfig};
use aws_sdk_fsx::operation::create_data_repository_association::builders::CreateDataRepositoryAssociationFluentBuilder;
use aws_sdk_fsx::operation::create_data_repository_task::builders::CreateDataRepositoryTaskFluentBuilder;
use aws_sdk_fsx::types::{
    AutoExportPolicy, AutoImportPolicy, CompletionReport, DataRepositoryLifecycle, DataRepositoryTask,
    DataRepositoryTaskFilter, DataRepositoryTaskFilterName, DataRepositoryTaskLifecycle, DataRepositoryTaskType,
    DurationSinceLastAccess, EventType, FileSystemLifecycle, ReleaseConfiguration, ReportFormat, ReportScope,
    S3DataRepositoryConfiguration, Tag, Unit,
};
use common::*;

const SEC: Duration = Duration::from_secs(1);

/// A paused emulator with default durations (FS/DRA create 2 s, DRA update 2 s, delete 1 s,
/// task PENDING 1 s then EXECUTING 2 s) and a Lustre security group.
async fn setup(name: &str) -> (Emulator, Clients, String, String) {
    let (emu, c, seed, sg) = paused_with_sg(EmulatorConfig::default(), name).await;
    (emu, c, seed.subnet_ids[0].clone(), sg)
}

/// A PERSISTENT_2 (2.15) file system, still CREATING.
async fn p2_fs(c: &Clients, subnet: &str, sg: &str) -> String {
    create_fs(&c.fsx, subnet, sg).lustre_configuration(persistent2(125)).created_id().await
}

async fn dra_id(b: CreateDataRepositoryAssociationFluentBuilder) -> String {
    b.send().await.expect("CreateDataRepositoryAssociation").association.and_then(|a| a.association_id).expect("id")
}

async fn dra_lifecycle(c: &Clients, id: &str) -> DataRepositoryLifecycle {
    let d = c.fsx.describe_data_repository_associations().association_ids(id).send().await.expect("describe dra");
    d.associations()[0].lifecycle().cloned().expect("lifecycle")
}

/// A PERSISTENT_2 file system linked at /data to s3://bucket/data/, both AVAILABLE.
async fn linked_fs(emu: &Emulator, c: &Clients, subnet: &str, sg: &str) -> (String, String) {
    let fs = p2_fs(c, subnet, sg).await;
    let a = dra_id(dra(&c.fsx, &fs, "/data", "s3://bucket/data/")).await;
    emu.advance_clock(2 * SEC);
    assert_eq!(dra_lifecycle(c, &a).await, DataRepositoryLifecycle::Available);
    (fs, a)
}

fn export(c: &Clients, fs: &str) -> CreateDataRepositoryTaskFluentBuilder {
    task_request(&c.fsx, fs, DataRepositoryTaskType::Export)
}

async fn task_id(b: CreateDataRepositoryTaskFluentBuilder) -> String {
    b.send().await.expect("CreateDataRepositoryTask").data_repository_task.and_then(|t| t.task_id).expect("id")
}

async fn task(c: &Clients, id: &str) -> DataRepositoryTask {
    let d = c.fsx.describe_data_repository_tasks().task_ids(id).send().await.expect("describe task");
    d.data_repository_tasks()[0].clone()
}

/// (TotalCount, SucceededCount, FailedCount).
fn counts(t: &DataRepositoryTask) -> (i64, i64, i64) {
    let s = t.status().expect("Status");
    (s.total_count().expect("total"), s.succeeded_count().expect("succeeded"), s.failed_count().expect("failed"))
}

fn lifecycle(t: &DataRepositoryTask) -> DataRepositoryTaskLifecycle {
    t.lifecycle().cloned().expect("lifecycle")
}

#[tokio::test]
async fn associations_are_processed_one_at_a_time_per_file_system() {
    let (emu, c, subnet, sg) = setup("serial").await;
    // Requested while the file system is CREATING: allowed, all three wait.
    let fs = p2_fs(&c, &subnet, &sg).await;
    let a = dra_id(dra(&c.fsx, &fs, "/a", "s3://bucket/a/")).await;
    let b = dra_id(dra(&c.fsx, &fs, "/b", "s3://bucket/b/")).await;
    let d = dra_id(dra(&c.fsx, &fs, "/d", "s3://bucket/d/")).await;
    emu.advance_clock(SEC);
    for id in [&a, &b, &d] {
        assert_eq!(dra_lifecycle(&c, id).await, DataRepositoryLifecycle::Creating);
    }
    // The file system is AVAILABLE at 2 s and so is the first association; the second starts then.
    emu.advance_clock(SEC);
    let fs_now = c.fsx.describe_file_systems().file_system_ids(&fs).send().await.expect("describe fs");
    assert_eq!(fs_now.file_systems()[0].lifecycle(), Some(&FileSystemLifecycle::Available));
    assert_eq!(dra_lifecycle(&c, &a).await, DataRepositoryLifecycle::Available);
    assert_eq!(dra_lifecycle(&c, &b).await, DataRepositoryLifecycle::Creating);
    emu.advance_clock(Duration::from_millis(1900));
    assert_eq!(dra_lifecycle(&c, &b).await, DataRepositoryLifecycle::Creating, "its 2 s started at 2 s");
    emu.advance_clock(Duration::from_millis(100));
    assert_eq!(dra_lifecycle(&c, &b).await, DataRepositoryLifecycle::Available);
    assert_eq!(dra_lifecycle(&c, &d).await, DataRepositoryLifecycle::Creating);
    emu.advance_clock(2 * SEC);
    assert_eq!(dra_lifecycle(&c, &d).await, DataRepositoryLifecycle::Available);

    // Updates queue the same way (2 s each), and so do deletions (1 s each).
    for id in [&a, &b] {
        c.fsx
            .update_data_repository_association()
            .association_id(id)
            .imported_file_chunk_size(2048)
            .send()
            .await
            .expect("update");
    }
    emu.advance_clock(2 * SEC);
    assert_eq!(dra_lifecycle(&c, &a).await, DataRepositoryLifecycle::Available);
    assert_eq!(dra_lifecycle(&c, &b).await, DataRepositoryLifecycle::Updating);
    emu.advance_clock(2 * SEC);
    assert_eq!(dra_lifecycle(&c, &b).await, DataRepositoryLifecycle::Available);
    for id in [&a, &b] {
        c.fsx.delete_data_repository_association().association_id(id).send().await.expect("delete");
    }
    emu.advance_clock(SEC);
    let err = c.fsx.describe_data_repository_associations().association_ids(&a).send().await.expect_err("a gone");
    assert_eq!(code(err), "DataRepositoryAssociationNotFound");
    assert_eq!(dra_lifecycle(&c, &b).await, DataRepositoryLifecycle::Deleting);
    emu.advance_clock(SEC);
    let inv = emu.inventory();
    assert!(inv.association(&b).is_none(), "b gone after its own second");
    let left = inv.association(&d).expect("d left");
    assert_eq!(
        (left.lifecycle.as_str(), left.file_system_id.as_str(), left.file_system_path.as_str()),
        ("AVAILABLE", fs.as_str(), "/d")
    );

    // Another file system's queue is independent, and one large clock jump gives the same result
    // as many small ones (the lazy engine chains each association's start to the previous end).
    let fs2 = p2_fs(&c, &subnet, &sg).await;
    let ids = [
        dra_id(dra(&c.fsx, &fs2, "/x", "s3://bucket/x/")).await,
        dra_id(dra(&c.fsx, &fs2, "/y", "s3://bucket/y/")).await,
        dra_id(dra(&c.fsx, &fs2, "/z", "s3://bucket/z/")).await,
    ];
    let other = dra_id(dra(&c.fsx, &fs, "/e", "s3://bucket/e/")).await;
    emu.advance_clock(Duration::from_millis(5900));
    let inv = emu.inventory();
    let states: Vec<&str> = ids.iter().map(|id| inv.association(id).map_or("gone", |a| a.lifecycle.as_str())).collect();
    assert_eq!(states, ["AVAILABLE", "AVAILABLE", "CREATING"]);
    assert_eq!(inv.association(&other).map(|a| a.lifecycle.as_str()), Some("AVAILABLE"), "fs is not blocked by fs2");
    emu.advance_clock(Duration::from_millis(100));
    assert_eq!(emu.inventory().association(&ids[2]).map(|a| a.lifecycle.as_str()), Some("AVAILABLE"));
}

#[tokio::test]
async fn association_rules() {
    let (emu, c, subnet, sg) = setup("rules").await;
    let fs = p2_fs(&c, &subnet, &sg).await;
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(dra_id(dra(&c.fsx, &fs, &format!("/ns{i}"), &format!("s3://bucket/p{i}/"))).await);
    }
    let err = dra(&c.fsx, &fs, "/ns8", "s3://bucket/p8/").send().await.expect_err("9th");
    assert_eq!(code(err), "BadRequest");
    c.fsx.delete_data_repository_association().association_id(&ids[7]).send().await.expect("delete one");
    for (path, repo, why) in [
        ("/ns0/sub", "s3://bucket/q/", "file system path inside another's"),
        ("/", "s3://bucket/q/", "/ only as the sole association"),
        ("/q", "s3://bucket/p0/deeper/", "repository path inside another's"),
        ("q", "s3://bucket/q/", "FileSystemPath must start with /"),
        ("/q", "bucket/q/", "DataRepositoryPath must be s3://"),
    ] {
        let err = dra(&c.fsx, &fs, path, repo).send().await.expect_err(why);
        assert_eq!(code(err), "BadRequest", "{why}");
    }
    let events = AutoExportPolicy::builder().events(EventType::New).events(EventType::New).build();
    let err = dra(&c.fsx, &fs, "/q", "s3://bucket/q/")
        .s3(S3DataRepositoryConfiguration::builder().auto_export_policy(events).build())
        .send()
        .await
        .expect_err("repeated event");
    assert_eq!(code(err), "BadRequest");

    // SCRATCH_1, version 2.10 and the legacy ImportPath link allow none.
    let scratch1 = create_fs(&c.fsx, &subnet, &sg).lustre_configuration(scratch1()).created_id().await;
    let v210 = create_fs(&c.fsx, &subnet, &sg).file_system_type_version("2.10").created_id().await;
    let legacy = create_fs(&c.fsx, &subnet, &sg)
        .lustre_configuration(scratch2_importing("s3://bucket/legacy"))
        .created_id()
        .await;
    emu.advance_clock(3 * SEC);
    for (id, why) in [(&scratch1, "SCRATCH_1"), (&v210, "2.10"), (&legacy, "ImportPath link")] {
        let err = dra(&c.fsx, id, "/a", "s3://bucket/a/").send().await.expect_err(why);
        assert_eq!(code(err), "BadRequest", "{why}");
        let m = message(dra(&c.fsx, id, "/a", "s3://bucket/a/").send().await.expect_err(why));
        assert!(!m.is_empty(), "{why}: a message");
    }
    let scratch2 = create_fs(&c.fsx, &subnet, &sg).created_id().await;
    dra_id(dra(&c.fsx, &scratch2, "/", "s3://bucket/all/")).await;
    let err = dra(&c.fsx, "fs-0123456789abcdef0", "/a", "s3://bucket/a/").send().await.expect_err("no fs");
    assert_eq!(code(err), "FileSystemNotFound");
}

#[tokio::test]
async fn association_update_applies_export_events_and_delete_removes_it() {
    let (emu, c, subnet, sg) = setup("update").await;
    let fs = p2_fs(&c, &subnet, &sg).await;
    let s3 = S3DataRepositoryConfiguration::builder()
        .auto_import_policy(AutoImportPolicy::builder().events(EventType::New).build())
        .auto_export_policy(AutoExportPolicy::builder().events(EventType::New).build())
        .build();
    let id = dra_id(
        dra(&c.fsx, &fs, "/team", "s3://bucket/team/").s3(s3).tags(Tag::builder().key("owner").value("vol-1").build()),
    )
    .await;
    let err = c.fsx.update_data_repository_association().association_id(&id).send().await.expect_err("creating");
    assert_eq!(code(err), "BadRequest");
    emu.advance_clock(2 * SEC);
    let updated = c
        .fsx
        .update_data_repository_association()
        .association_id(&id)
        .s3(S3DataRepositoryConfiguration::builder()
            .auto_import_policy(AutoImportPolicy::builder().events(EventType::New).build())
            .auto_export_policy(
                AutoExportPolicy::builder()
                    .events(EventType::New)
                    .events(EventType::Changed)
                    .events(EventType::Deleted)
                    .build(),
            )
            .build())
        .send()
        .await
        .expect("update")
        .association
        .expect("association");
    assert_eq!(updated.lifecycle(), Some(&DataRepositoryLifecycle::Updating));
    let export_events = |a: &aws_sdk_fsx::types::DataRepositoryAssociation| -> Vec<String> {
        a.s3()
            .and_then(|s| s.auto_export_policy())
            .map(|p| p.events().iter().map(|e| e.as_str().to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(export_events(&updated), ["NEW", "CHANGED", "DELETED"]);
    let err = c.fsx.update_data_repository_association().association_id(&id).send().await.expect_err("updating");
    assert_eq!(code(err), "BadRequest");
    emu.advance_clock(2 * SEC);
    let d = c.fsx.describe_data_repository_associations().association_ids(&id).send().await.expect("describe");
    let a = &d.associations()[0];
    assert_eq!(a.lifecycle(), Some(&DataRepositoryLifecycle::Available));
    assert_eq!(export_events(a), ["NEW", "CHANGED", "DELETED"]);
    assert_eq!(a.tags().len(), 1);
    let inv = emu.inventory();
    let info = inv.association(&id).expect("in inventory");
    assert_eq!(info.auto_export_events.as_deref(), Some(&["NEW".to_string(), "CHANGED".into(), "DELETED".into()][..]));
    assert_eq!(info.auto_import_events.as_deref(), Some(&["NEW".to_string()][..]));
    assert_eq!(info.data_repository_path, "s3://bucket/team/");
    assert_eq!(info.tags.get("owner").map(String::as_str), Some("vol-1"));

    let deleted = c
        .fsx
        .delete_data_repository_association()
        .association_id(&id)
        .delete_data_in_file_system(true)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.lifecycle(), Some(&DataRepositoryLifecycle::Deleting));
    assert_eq!(deleted.delete_data_in_file_system(), Some(true));
    c.fsx.delete_data_repository_association().association_id(&id).send().await.expect("delete again: idempotent");
    emu.advance_clock(SEC);
    let err = c.fsx.describe_data_repository_associations().association_ids(&id).send().await.expect_err("gone");
    assert_eq!(code(err), "DataRepositoryAssociationNotFound");
    let all = c.fsx.describe_data_repository_associations().send().await.expect("list");
    assert!(all.associations().is_empty());
    assert!(emu.inventory().data_repository_associations.is_empty());
}

#[tokio::test]
async fn task_runs_pending_executing_succeeded_with_counts() {
    let (emu, c, subnet, sg) = setup("task").await;
    let (fs, dra) = linked_fs(&emu, &c, &subnet, &sg).await;
    let report = CompletionReport::builder()
        .enabled(true)
        .path("s3://bucket/data/reports")
        .format(ReportFormat::ReportCsv20191124)
        .scope(ReportScope::FailedFilesOnly)
        .build();
    let created = export(&c, &fs)
        .paths("data/dir1")
        .paths("data/results.csv")
        .report(report)
        .tags(Tag::builder().key("lustre.example.com/owner").value("ns/export-1").build())
        .send()
        .await
        .expect("create")
        .data_repository_task
        .expect("task");
    let id = created.task_id().expect("id").to_string();
    assert_eq!(lifecycle(&created), DataRepositoryTaskLifecycle::Pending);
    assert_eq!(counts(&created), (0, 0, 0));
    assert!(created.resource_arn().is_some_and(|a| a.ends_with(&format!(":task/{id}"))));
    assert_eq!(lifecycle(&task(&c, &id).await), DataRepositoryTaskLifecycle::Pending);

    emu.advance_clock(SEC);
    let t = task(&c, &id).await;
    assert_eq!(lifecycle(&t), DataRepositoryTaskLifecycle::Executing);
    assert!(t.start_time().is_some() && t.end_time().is_none());
    let (total, succeeded, failed) = counts(&t);
    assert!((21..=1001).contains(&total), "a directory of 20-1000 files plus one file: {total}");
    assert_eq!((succeeded, failed), (0, 0));

    emu.advance_clock(SEC);
    let (total_mid, succeeded, failed) = counts(&task(&c, &id).await);
    assert_eq!(total_mid, total);
    assert!(succeeded > 0 && succeeded < total && failed == 0, "half way: {succeeded}/{total}");
    assert_eq!(emu.inventory().task(&id).map(|t| t.succeeded_count), Some(succeeded));

    emu.advance_clock(SEC);
    let t = task(&c, &id).await;
    assert_eq!(lifecycle(&t), DataRepositoryTaskLifecycle::Succeeded);
    assert_eq!(counts(&t), (total, total, 0));
    let (start, end) = (t.start_time().expect("start").secs(), t.end_time().expect("end").secs());
    assert_eq!(end - start, 2);
    assert!(t.failure_details().is_none());
    let r = t.report().expect("report echoed");
    assert_eq!(
        (r.enabled(), r.path(), r.format(), r.scope()),
        (
            Some(true),
            Some("s3://bucket/data/reports"),
            Some(&ReportFormat::ReportCsv20191124),
            Some(&ReportScope::FailedFilesOnly)
        )
    );
    assert_eq!(t.paths(), ["data/dir1", "data/results.csv"]);

    // After a crash the operator finds its task by owner tag.
    let all = c.fsx.describe_data_repository_tasks().send().await.expect("list");
    let mine: Vec<&DataRepositoryTask> = all
        .data_repository_tasks()
        .iter()
        .filter(|t| {
            t.tags().iter().any(|g| g.key() == Some("lustre.example.com/owner") && g.value() == Some("ns/export-1"))
        })
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].task_id(), Some(id.as_str()));

    // Filters.
    let filter =
        |n: DataRepositoryTaskFilterName, v: &str| DataRepositoryTaskFilter::builder().name(n).values(v).build();
    let by = |f: DataRepositoryTaskFilter| {
        let c = c.fsx.clone();
        async move {
            c.describe_data_repository_tasks().filters(f).send().await.expect("filter").data_repository_tasks().len()
        }
    };
    assert_eq!(by(filter(DataRepositoryTaskFilterName::FileSystemId, &fs)).await, 1);
    assert_eq!(by(filter(DataRepositoryTaskFilterName::FileSystemId, "fs-0123456789abcdef0")).await, 0);
    assert_eq!(by(filter(DataRepositoryTaskFilterName::TaskLifecycle, "SUCCEEDED")).await, 1);
    assert_eq!(by(filter(DataRepositoryTaskFilterName::TaskLifecycle, "EXECUTING")).await, 0);
    assert_eq!(by(filter(DataRepositoryTaskFilterName::DataRepoAssociationId, &dra)).await, 1);

    // The same paths give the same counts; no paths covers every linked directory.
    let again = task_id(export(&c, &fs).paths("data/dir1").paths("data/results.csv")).await;
    emu.advance_clock(3 * SEC);
    assert_eq!(counts(&task(&c, &again).await), (total, total, 0));
    let import = task_id(task_request(&c.fsx, &fs, DataRepositoryTaskType::Import)).await;
    emu.advance_clock(3 * SEC);
    let t = task(&c, &import).await;
    assert_eq!(lifecycle(&t), DataRepositoryTaskLifecycle::Succeeded);
    assert!(counts(&t).0 >= 20);
    assert!(t.status().and_then(|s| s.released_capacity()).is_none(), "only release tasks release capacity");

    let inv = emu.inventory();
    let info = inv.task(&id).expect("task in inventory");
    assert_eq!(
        (info.task_type.as_str(), info.lifecycle.as_str(), info.file_system_id.as_str()),
        ("EXPORT_TO_REPOSITORY", "SUCCEEDED", fs.as_str())
    );
    assert_eq!((info.total_count, info.succeeded_count, info.failed_count), (total, total, 0));
    assert_eq!(info.paths, ["data/dir1", "data/results.csv"]);
    assert_eq!(info.tags.get("lustre.example.com/owner").map(String::as_str), Some("ns/export-1"));
    assert!(info.end_time.is_some() && info.failure_message.is_none());
    assert_eq!(inv.data_repository_tasks.len(), 3);
}

#[tokio::test]
async fn task_request_validation() {
    let (emu, c, subnet, sg) = setup("validate").await;
    let unlinked = p2_fs(&c, &subnet, &sg).await;
    let (fs, _) = linked_fs(&emu, &c, &subnet, &sg).await;
    let err = export(&c, &unlinked).send().await.expect_err("not linked");
    assert_eq!(code(err), "BadRequest");
    let release = || task_request(&c.fsx, &fs, DataRepositoryTaskType::Eviction);
    let days = |unit: Option<Unit>, value: Option<i64>| {
        ReleaseConfiguration::builder()
            .duration_since_last_access(DurationSinceLastAccess::builder().set_unit(unit).set_value(value).build())
            .build()
    };
    let many: Vec<String> = (0..101).map(|i| format!("dir{i}")).collect();
    let cases: Vec<(&str, CreateDataRepositoryTaskFluentBuilder)> = vec![
        (
            "AUTO_RELEASE_DATA is File Cache only",
            task_request(&c.fsx, &fs, DataRepositoryTaskType::AutoTriggeredEviction),
        ),
        ("CapacityToRelease is File Cache only", release().capacity_to_release(10)),
        ("ReleaseConfiguration on an export", export(&c, &fs).release_configuration(days(Some(Unit::Days), Some(1)))),
        ("Unit required", release().release_configuration(days(None, Some(1)))),
        ("Value required", release().release_configuration(days(Some(Unit::Days), None))),
        ("Value >= 0", release().release_configuration(days(Some(Unit::Days), Some(-1)))),
        ("Unit DAYS only", release().release_configuration(days(Some(Unit::from("HOURS")), Some(1)))),
        ("export paths are relative", export(&c, &fs).paths("/data/dir1")),
        ("release paths are relative or /", release().paths("/data")),
        ("export paths are not S3", export(&c, &fs).paths("s3://bucket/data/")),
        (
            "import S3 paths must be linked",
            task_request(&c.fsx, &fs, DataRepositoryTaskType::Import).paths("s3://other-bucket/x"),
        ),
        ("at most 100 paths", export(&c, &fs).set_paths(Some(many.clone()))),
        (
            "report format required",
            export(&c, &fs).report(
                CompletionReport::builder()
                    .enabled(true)
                    .path("s3://bucket/data/r")
                    .scope(ReportScope::FailedFilesOnly)
                    .build(),
            ),
        ),
        (
            "report path in a linked bucket",
            export(&c, &fs).report(
                CompletionReport::builder()
                    .enabled(true)
                    .path("s3://elsewhere/r")
                    .format(ReportFormat::ReportCsv20191124)
                    .scope(ReportScope::FailedFilesOnly)
                    .build(),
            ),
        ),
    ];
    for (why, call) in cases {
        let err = call.send().await.expect_err(why);
        assert_eq!(code(err), "BadRequest", "{why}");
    }
    let err = export(&c, "fs-0123456789abcdef0").send().await.expect_err("no fs");
    assert_eq!(code(err), "FileSystemNotFound");
    assert!(emu.inventory().data_repository_tasks.is_empty(), "no refused call left a task");

    // 100 paths is fine; a release of everything (/) reports released capacity.
    let hundred = task_id(export(&c, &fs).set_paths(Some(many[..100].to_vec()))).await;
    c.fsx.cancel_data_repository_task().task_id(&hundred).send().await.expect("cancel");
    let rel = task_id(release().paths("/").release_configuration(days(Some(Unit::Days), Some(30)))).await;
    emu.advance_clock(3 * SEC);
    let t = task(&c, &rel).await;
    assert_eq!(lifecycle(&t), DataRepositoryTaskLifecycle::Succeeded);
    let d = t.release_configuration().and_then(|r| r.duration_since_last_access()).expect("echoed");
    assert_eq!((d.unit(), d.value()), (Some(&Unit::Days), Some(30)));
    let released = t.status().and_then(|s| s.released_capacity()).expect("ReleasedCapacity");
    assert!(released > 0 && released < 1200, "{released} GiB");
    assert_eq!(emu.inventory().task(&rel).and_then(|t| t.released_capacity), Some(released));
    // Without a ReleaseConfiguration a release task uses 0 days.
    let rel0 = task(&c, &task_id(release().paths("data")).await).await;
    let d = rel0.release_configuration().and_then(|r| r.duration_since_last_access()).expect("default");
    assert_eq!((d.unit(), d.value()), (Some(&Unit::Days), Some(0)));
}

#[tokio::test]
async fn injected_failures_fail_tasks_until_cleared() {
    let (emu, c, subnet, sg) = setup("fail").await;
    let (fs, _) = linked_fs(&emu, &c, &subnet, &sg).await;
    emu.fail_tasks(Some(&fs), "Access denied to s3://bucket/data/");
    assert_eq!(emu.task_failures().len(), 1);
    assert_eq!(emu.task_failures()[0].file_system_id.as_deref(), Some(fs.as_str()));
    let id = task_id(export(&c, &fs).paths("data/dir1")).await;
    emu.advance_clock(2 * SEC);
    assert_eq!(lifecycle(&task(&c, &id).await), DataRepositoryTaskLifecycle::Executing);
    emu.advance_clock(SEC);
    let t = task(&c, &id).await;
    assert_eq!(lifecycle(&t), DataRepositoryTaskLifecycle::Failed);
    assert_eq!(t.failure_details().and_then(|f| f.message()), Some("Access denied to s3://bucket/data/"));
    let (total, succeeded, failed) = counts(&t);
    assert!(failed > 0 && succeeded + failed == total, "{succeeded} + {failed} = {total}");
    assert!(t.end_time().is_some());
    let inv = emu.inventory();
    let info = inv.task(&id).expect("inventory");
    assert_eq!(info.failure_message.as_deref(), Some("Access denied to s3://bucket/data/"));
    assert_eq!(info.failed_count, failed);
    // Failed tasks do not block the next one, nor DeleteFileSystem.
    emu.clear_task_failures();
    assert!(emu.task_failures().is_empty());
    let ok = task_id(export(&c, &fs)).await;
    emu.advance_clock(3 * SEC);
    assert_eq!(lifecycle(&task(&c, &ok).await), DataRepositoryTaskLifecycle::Succeeded);

    // Armed while a task executes: that task fails too; armed and cleared while one is still
    // PENDING: it never executed under the failure, so it succeeds.
    let running = task_id(export(&c, &fs)).await;
    emu.advance_clock(Duration::from_millis(1500));
    emu.fail_tasks(None, "injected");
    emu.advance_clock(2 * SEC);
    let t = task(&c, &running).await;
    assert_eq!(
        (lifecycle(&t), t.failure_details().and_then(|f| f.message())),
        (DataRepositoryTaskLifecycle::Failed, Some("injected"))
    );
    emu.clear_task_failures();
    let pending = task_id(export(&c, &fs)).await;
    emu.fail_tasks(None, "injected");
    emu.clear_task_failures();
    emu.advance_clock(3 * SEC);
    assert_eq!(lifecycle(&task(&c, &pending).await), DataRepositoryTaskLifecycle::Succeeded);

    // The same over the admin API; DELETE /_emulator/faults clears task failures too.
    let http = http();
    let base = format!("{}/_emulator", emu.endpoint());
    let r = http
        .put(format!("{base}/task-failures"))
        .json(&serde_json::json!({"message": "boom"}))
        .send()
        .await
        .expect("arm");
    assert!(r.status().is_success());
    let armed: Vec<aws_emulator::TaskFailure> =
        http.get(format!("{base}/task-failures")).send().await.expect("list").json().await.expect("json");
    assert_eq!((armed.len(), armed[0].file_system_id.as_deref(), armed[0].message.as_str()), (1, None, "boom"));
    let id = task_id(export(&c, &fs)).await;
    emu.advance_clock(3 * SEC);
    assert_eq!(task(&c, &id).await.failure_details().and_then(|f| f.message()), Some("boom"));
    let r = http
        .put(format!("{base}/task-failures"))
        .json(&serde_json::json!({"file_system_id": fs}))
        .send()
        .await
        .expect("arm for one fs, default message");
    assert!(r.status().is_success());
    assert_eq!(emu.task_failures().len(), 2);
    assert!(http.delete(format!("{base}/task-failures")).send().await.expect("clear").status().is_success());
    assert!(emu.task_failures().is_empty());
    http.put(format!("{base}/task-failures")).json(&serde_json::json!({})).send().await.expect("arm");
    let t = task(&c, &task_id(export(&c, &fs)).await).await;
    assert_eq!(lifecycle(&t), DataRepositoryTaskLifecycle::Pending);
    assert!(http.delete(format!("{base}/faults")).send().await.expect("clear faults").status().is_success());
    assert!(emu.task_failures().is_empty());
    emu.advance_clock(3 * SEC);
    assert_eq!(lifecycle(&task(&c, t.task_id().expect("id")).await), DataRepositoryTaskLifecycle::Succeeded);
    emu.fail_tasks(None, "x");
    emu.clear_faults();
    assert!(emu.task_failures().is_empty(), "clear_faults disarms task failures");
}

#[tokio::test]
async fn cancel_freezes_counts_and_ends_canceled() {
    let (emu, c, subnet, sg) = setup("cancel").await;
    let (fs, _) = linked_fs(&emu, &c, &subnet, &sg).await;
    let id = task_id(export(&c, &fs).paths("data/big")).await;
    emu.advance_clock(2 * SEC);
    let cancel = c.fsx.cancel_data_repository_task().task_id(&id).send().await.expect("cancel");
    assert_eq!(
        (cancel.lifecycle(), cancel.task_id()),
        (Some(&DataRepositoryTaskLifecycle::Canceling), Some(id.as_str()))
    );
    let t = task(&c, &id).await;
    assert_eq!(lifecycle(&t), DataRepositoryTaskLifecycle::Canceled);
    assert!(t.end_time().is_some());
    let (total, succeeded, failed) = counts(&t);
    assert!(succeeded > 0 && succeeded < total && failed == 0, "{succeeded}/{total}");
    emu.advance_clock(5 * SEC);
    assert_eq!(counts(&task(&c, &id).await), (total, succeeded, 0), "frozen");
    let err = c.fsx.cancel_data_repository_task().task_id(&id).send().await.expect_err("ended");
    assert_eq!(code(err), "DataRepositoryTaskEnded");
    let err = c.fsx.cancel_data_repository_task().task_id("task-0123456789abcdef0").send().await.expect_err("unknown");
    assert_eq!(code(err), "DataRepositoryTaskNotFound");
    // Cancelled while PENDING: it never started, so no counts.
    let pending = task_id(export(&c, &fs)).await;
    c.fsx.cancel_data_repository_task().task_id(&pending).send().await.expect("cancel pending");
    let t = task(&c, &pending).await;
    assert_eq!((lifecycle(&t), counts(&t)), (DataRepositoryTaskLifecycle::Canceled, (0, 0, 0)));
    assert!(t.start_time().is_none());
    // A finished task cannot be cancelled either.
    let done = task_id(export(&c, &fs)).await;
    emu.advance_clock(3 * SEC);
    let err = c.fsx.cancel_data_repository_task().task_id(&done).send().await.expect_err("succeeded");
    assert_eq!(code(err), "DataRepositoryTaskEnded");
}

#[tokio::test]
async fn delete_file_system_is_refused_while_a_task_runs() {
    let (emu, c, subnet, sg) = setup("busy").await;
    let (fs, _) = linked_fs(&emu, &c, &subnet, &sg).await;
    let id = task_id(export(&c, &fs)).await;
    let err = c.fsx.delete_file_system().file_system_id(&fs).send().await.expect_err("pending");
    let status = match &err {
        aws_sdk_fsx::error::SdkError::ServiceError(e) => e.raw().status().as_u16(),
        other => panic!("{other:?}"),
    };
    assert_eq!(status, 400);
    let m = message(err);
    assert!(m.contains(&id) && m.contains("PENDING"), "{m}");
    emu.advance_clock(SEC);
    let err = c.fsx.delete_file_system().file_system_id(&fs).send().await.expect_err("executing");
    assert_eq!(code(err), "BadRequest");
    let err = export(&c, &fs).send().await.expect_err("one task at a time");
    assert_eq!(code(err), "DataRepositoryTaskExecuting");
    emu.advance_clock(2 * SEC);
    assert_eq!(lifecycle(&task(&c, &id).await), DataRepositoryTaskLifecycle::Succeeded);
    let deleted = c.fsx.delete_file_system().file_system_id(&fs).send().await.expect("delete once the task ended");
    assert_eq!(deleted.lifecycle(), Some(&FileSystemLifecycle::Deleting));
    let d = c.fsx.describe_data_repository_associations().send().await.expect("dras");
    assert!(d.associations().iter().all(|a| a.lifecycle() == Some(&DataRepositoryLifecycle::Deleting)));
    emu.advance_clock(SEC);
    let inv = emu.inventory();
    assert!(inv.file_system(&fs).is_none());
    assert!(inv.data_repository_associations.is_empty() && inv.data_repository_tasks.is_empty());
}

#[tokio::test]
async fn client_request_token_returns_the_same_task() {
    let (emu, c, subnet, sg) = setup("token").await;
    let (fs, _) = linked_fs(&emu, &c, &subnet, &sg).await;
    let first = task_id(export(&c, &fs).paths("data").client_request_token("export-vol-1")).await;
    emu.advance_clock(SEC);
    // A retry after a lost answer: the same task, although another would be refused now.
    let retry = export(&c, &fs).paths("data").client_request_token("export-vol-1").send().await.expect("retry");
    let t = retry.data_repository_task().expect("task");
    assert_eq!(t.task_id(), Some(first.as_str()));
    assert_eq!(lifecycle(t), DataRepositoryTaskLifecycle::Executing);
    let err =
        export(&c, &fs).paths("other").client_request_token("export-vol-1").send().await.expect_err("other params");
    assert_eq!(code(err), "IncompatibleParameterError");
    let err = export(&c, &fs).paths("data").client_request_token("bad token!").send().await.expect_err("format");
    assert_eq!(code(err), "BadRequest");
    assert_eq!(emu.inventory().data_repository_tasks.len(), 1);
    emu.advance_clock(2 * SEC);
    let again = export(&c, &fs).paths("data").client_request_token("export-vol-1").send().await.expect("after the end");
    assert_eq!(again.data_repository_task().and_then(|t| t.task_id()), Some(first.as_str()));
    assert_eq!(again.data_repository_task().map(lifecycle), Some(DataRepositoryTaskLifecycle::Succeeded));
    assert_eq!(emu.inventory().data_repository_tasks.len(), 1);
}
