//! Day two: a live volume changed in place the way FSx allows it. One operator on all
//! namespaces, the admission policy installed (the class decides how far a tenant may go),
//! tenants as real users; the emulator enforces FSx's rules and keeps its own clock, which the
//! tests advance instead of waiting hours.

use std::time::Duration;

use anyhow::Context as _;
use aws_emulator::{EmulatorConfig, Fault};
use kube::api::{Patch, PatchParams, PostParams};
use lustre_api::{DeploymentType, LustreVolume, Phase};
use serde_json::json;
use testkit::volumes::{is_ready, volume, DEADLINE};
use testkit::{wait_for, Cluster, OperatorOptions, Tenant};

fn emulator() -> EmulatorConfig {
    EmulatorConfig {
        create_duration: Duration::from_secs(1),
        delete_duration: Duration::from_secs(1),
        update_duration: Duration::from_secs(3),
        ..EmulatorConfig::default()
    }
}

async fn cluster(prefix: &str) -> anyhow::Result<Cluster> {
    let mut c = Cluster::start(prefix, 1, emulator(), OperatorOptions::default(), |_, class| {
        class.deployment_types = vec![DeploymentType::Persistent2];
        class.per_unit_storage_throughputs = vec![125, 250, 500];
        class.max_metadata_iops = Some(6000);
    })
    .await?;
    testkit::tenancy::apply_admission_policy(&c.client).await?;
    c.tenants_as_users().await?;
    Ok(c)
}

fn persistent(t: &Tenant, name: &str) -> LustreVolume {
    volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": name},
                  "spec": {"storageCapacityGiB": 1200, "deploymentType": "PERSISTENT_2",
                           "perUnitStorageThroughput": 125, "className": t.class}}))
}

async fn ready(c: &Cluster, t: &Tenant, name: &str) -> anyhow::Result<LustreVolume> {
    wait_for(&t.lvs(), name, DEADLINE, "condition Ready=True", is_ready)
        .await
        .with_context(|| format!("operator log:\n{}", c.operator_log()))
}

async fn edit(t: &Tenant, name: &str, spec: serde_json::Value) -> anyhow::Result<Result<(), String>> {
    match t.lvs().patch(name, &PatchParams::default(), &Patch::Merge(&json!({"spec": spec}))).await {
        Ok(_) => Ok(Ok(())),
        Err(kube::Error::Api(e)) if matches!(e.code, 400 | 403 | 422) => Ok(Err(e.message)),
        Err(e) => Err(e.into()),
    }
}

fn updates(c: &Cluster) -> u64 {
    c.calls().count("fsx", "UpdateFileSystem")
}

/// Waits until `look` at the volume `uid`'s file system in the emulator's inventory satisfies
/// `done`; a failure names the last value and carries the operator's log.
async fn until_fsx<T: std::fmt::Debug>(
    c: &Cluster,
    uid: &str,
    what: &str,
    look: impl Fn(&aws_emulator::FileSystemInfo) -> T,
    done: impl Fn(&T) -> bool,
) -> anyhow::Result<()> {
    testkit::wait_until(Duration::from_secs(120), what, || {
        let now = c.file_systems_of(uid).first().map(&look);
        let reached = now.as_ref().is_some_and(&done);
        async move {
            if reached {
                Ok(true)
            } else {
                Err(format!("{now:?}"))
            }
        }
    })
    .await
    .with_context(|| c.operator_log())
}

#[tokio::test]
async fn raising_throughput_for_a_training_run_is_one_update_then_the_new_value() -> anyhow::Result<()> {
    let c = cluster("throughput").await?;
    let t = c.tenant(0);
    t.lvs().create(&PostParams::default(), &persistent(t, "train")).await?;
    ready(&c, t, "train").await?;
    assert_eq!(updates(&c), 0);

    assert_eq!(edit(t, "train", json!({"perUnitStorageThroughput": 250})).await?, Ok(()));
    wait_for(&t.lvs(), "train", DEADLINE, "phase Updating", |lv| {
        lv.status.as_ref().and_then(|s| s.phase) == Some(Phase::Updating)
    })
    .await
    .with_context(|| c.operator_log())?;
    let done = wait_for(&t.lvs(), "train", DEADLINE, "Available at 250 MB/s/TiB", |lv| {
        let st = lv.status.as_ref();
        st.and_then(|s| s.phase) == Some(Phase::Available)
            && st.and_then(|s| s.per_unit_storage_throughput) == Some(250)
            && is_ready(lv)
    })
    .await
    .with_context(|| c.operator_log())?;
    assert_eq!(updates(&c), 1, "exactly one UpdateFileSystem");
    assert!(done.status.as_ref().is_some_and(|s| s.pending_changes.is_empty()));
    let fs = c.file_systems_of(done.metadata.uid.as_deref().unwrap_or_default());
    assert_eq!(fs[0].per_unit_storage_throughput, Some(250), "FSx has it");

    // What the class does not allow is refused at admission, and costs no AWS call.
    let calls = c.calls().total();
    let refused = edit(t, "train", json!({"perUnitStorageThroughput": 1000})).await?;
    assert!(refused.is_err_and(|m| m.contains("perUnitStorageThroughput 1000")), "the class allows 125, 250, 500");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(c.calls().total(), calls, "no AWS call for a refused edit");
    Ok(())
}

#[tokio::test]
async fn edits_made_while_fsx_works_wait_and_go_together() -> anyhow::Result<()> {
    let c = cluster("coalesce").await?;
    let t = c.tenant(0);
    t.lvs().create(&PostParams::default(), &persistent(t, "data")).await?;
    ready(&c, t, "data").await?;
    assert_eq!(edit(t, "data", json!({"perUnitStorageThroughput": 500})).await?, Ok(()));
    wait_for(&t.lvs(), "data", DEADLINE, "phase Updating", |lv| {
        lv.status.as_ref().and_then(|s| s.phase) == Some(Phase::Updating)
    })
    .await
    .with_context(|| c.operator_log())?;
    // Two edits while FSx works: they wait, shown in status, and go in one call afterwards.
    assert_eq!(edit(t, "data", json!({"dataCompression": "LZ4"})).await?, Ok(()));
    assert_eq!(edit(t, "data", json!({"weeklyMaintenanceStartTime": "6:04:30"})).await?, Ok(()));
    let waiting = wait_for(&t.lvs(), "data", DEADLINE, "both edits pending", |lv| {
        lv.status.as_ref().is_some_and(|s| s.pending_changes.len() == 2)
    })
    .await
    .with_context(|| c.operator_log())?;
    let pending = waiting.status.map(|s| s.pending_changes).unwrap_or_default();
    assert!(pending.iter().all(|p| p.contains("waiting for")), "{pending:?}");
    assert_eq!(updates(&c), 1, "nothing sent while FSx works");
    wait_for(&t.lvs(), "data", DEADLINE, "everything applied", |lv| {
        lv.status.as_ref().is_some_and(|s| s.pending_changes.is_empty() && s.phase == Some(Phase::Available))
            && is_ready(lv)
    })
    .await
    .with_context(|| c.operator_log())?;
    assert_eq!(updates(&c), 2, "the two waiting edits went in one call");
    let lv = t.lvs().get("data").await?;
    let fs = &c.file_systems_of(lv.metadata.uid.as_deref().unwrap_or_default())[0];
    assert_eq!(fs.per_unit_storage_throughput, Some(500));
    Ok(())
}

#[tokio::test]
async fn a_second_storage_increase_waits_for_fsx_s_six_hours_on_its_clock() -> anyhow::Result<()> {
    let c = cluster("window").await?;
    let t = c.tenant(0);
    t.lvs().create(&PostParams::default(), &persistent(t, "grow")).await?;
    ready(&c, t, "grow").await?;
    assert_eq!(edit(t, "grow", json!({"storageCapacityGiB": 2400})).await?, Ok(()));
    wait_for(&t.lvs(), "grow", Duration::from_secs(120), "2400 GiB available", |lv| {
        lv.status.as_ref().is_some_and(|s| s.capacity_gib == Some(2400) && s.administrative_actions.is_empty())
            && is_ready(lv)
    })
    .await
    .with_context(|| c.operator_log())?;
    assert_eq!(updates(&c), 1);

    // Inside FSx's 6 hours: kept, shown with when it may go, and not sent.
    assert_eq!(edit(t, "grow", json!({"storageCapacityGiB": 4800})).await?, Ok(()));
    let waiting = wait_for(&t.lvs(), "grow", DEADLINE, "nextUpdateAllowedAt", |lv| {
        lv.status.as_ref().is_some_and(|s| s.next_update_allowed_at.is_some())
    })
    .await
    .with_context(|| c.operator_log())?;
    let st = waiting.status.clone().unwrap_or_default();
    assert!(st.pending_changes.iter().any(|p| p.contains("6 hours")), "{:?}", st.pending_changes);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(updates(&c), 1, "no update FSx would refuse for its window");

    // Once FSx's clock passes the window, it goes by itself.
    c.emulator.advance_clock(Duration::from_secs(6 * 3600 + 60));
    wait_for(&t.lvs(), "grow", Duration::from_secs(120), "4800 GiB", |lv| {
        lv.status.as_ref().is_some_and(|s| s.capacity_gib == Some(4800) && s.next_update_allowed_at.is_none())
    })
    .await
    .with_context(|| c.operator_log())?;
    assert_eq!(updates(&c), 2);
    assert_eq!(c.calls().count_outcome("fsx", "UpdateFileSystem", "BadRequest"), 0, "never refused");
    Ok(())
}

#[tokio::test]
async fn an_operator_killed_after_its_update_sends_no_second_one() -> anyhow::Result<()> {
    let mut c = cluster("killupdate").await?;
    let (lvs, class) = (c.tenant(0).lvs(), c.tenant(0).class.clone());
    let t_volume = volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume",
        "metadata": {"name": "crash"},
        "spec": {"storageCapacityGiB": 1200, "deploymentType": "PERSISTENT_2", "perUnitStorageThroughput": 125,
                 "className": class}}));
    lvs.create(&PostParams::default(), &t_volume).await?;
    ready(&c, c.tenant(0), "crash").await?;
    // FSx applies the update but its answer is held back; the operator dies waiting for it.
    c.emulator.set_fault("UpdateFileSystem", Fault::delay_after_apply(Duration::from_secs(120)).times(1));
    assert_eq!(edit(c.tenant(0), "crash", json!({"perUnitStorageThroughput": 250})).await?, Ok(()));
    testkit::wait_until(DEADLINE, "the update to reach FSx", || {
        let n = updates(&c);
        async move { Ok(n == 1) }
    })
    .await?;
    c.kill_operator();
    c.emulator.clear_faults();
    c.start_operator().await?;
    wait_for(&lvs, "crash", Duration::from_secs(120), "Available at 250", |lv| {
        lv.status
            .as_ref()
            .is_some_and(|s| s.per_unit_storage_throughput == Some(250) && s.phase == Some(Phase::Available))
    })
    .await
    .with_context(|| c.operator_log())?;
    assert_eq!(updates(&c), 1, "the restarted operator saw FSx at work and sent nothing again");
    Ok(())
}

#[tokio::test]
async fn metadata_iops_grow_in_place_within_what_the_class_allows() -> anyhow::Result<()> {
    let c = cluster("metadata").await?;
    let t = c.tenant(0);
    let v =
        volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": "meta"},
        "spec": {"storageCapacityGiB": 1200, "deploymentType": "PERSISTENT_2", "perUnitStorageThroughput": 125,
                 "className": t.class, "metadataConfiguration": {"mode": "USER_PROVISIONED", "iops": 1500}}}));
    t.lvs().create(&PostParams::default(), &v).await?;
    let lv = ready(&c, t, "meta").await?;
    let uid = lv.metadata.uid.clone().unwrap_or_default();
    let iops = |c: &Cluster| c.file_systems_of(&uid).first().and_then(|f| f.metadata_iops);
    assert_eq!(iops(&c), Some(1500), "made with its metadata configuration");

    // Past the class's 6000: refused at admission, no AWS call.
    let calls = c.calls().total();
    let refused =
        edit(t, "meta", json!({"metadataConfiguration": {"mode": "USER_PROVISIONED", "iops": 12000}})).await?;
    assert!(refused.is_err_and(|m| m.contains("metadata IOPS")), "the class allows at most 6000");
    assert_eq!(c.calls().total(), calls);
    // Lowering is refused by the CRD: FSx cannot.
    let lower = edit(t, "meta", json!({"metadataConfiguration": {"mode": "USER_PROVISIONED", "iops": 1200}})).await?;
    assert!(lower.is_err());

    assert_eq!(
        edit(t, "meta", json!({"metadataConfiguration": {"mode": "USER_PROVISIONED", "iops": 6000}})).await?,
        Ok(())
    );
    until_fsx(&c, &uid, "6000 metadata IOPS at FSx", |f| f.metadata_iops, |i| *i == Some(6000)).await?;
    assert_eq!(updates(&c), 1, "one UpdateFileSystem");
    Ok(())
}

#[tokio::test]
async fn root_squash_follows_the_class_and_turns_off_and_on_where_it_allows() -> anyhow::Result<()> {
    let c = cluster("squash").await?;
    let squash = |allow_disable: bool| lustre_api::class::ClassRootSquash {
        squash: "65534:65534".into(),
        no_squash_nids: vec!["10.0.1.6@tcp".into()],
        allow_disable,
    };
    c.update_class(0, |class| class.root_squash = Some(squash(true))).await?;
    let t = c.tenant(0);
    t.lvs().create(&PostParams::default(), &persistent(t, "shared")).await?;
    let lv = ready(&c, t, "shared").await?;
    let uid = lv.metadata.uid.clone().unwrap_or_default();
    let squashed = |c: &Cluster| c.file_systems_of(&uid).first().and_then(|f| f.root_squash.clone());
    assert_eq!(squashed(&c).as_deref(), Some("65534:65534"), "made with the class's root squash");

    for (on, want, calls) in [(false, "0:0", 1), (true, "65534:65534", 2)] {
        assert_eq!(edit(t, "shared", json!({"rootSquash": on})).await?, Ok(()));
        let what = format!("root squash {want} at FSx");
        until_fsx(&c, &uid, &what, |f| f.root_squash.clone(), |r| r.as_deref() == Some(want)).await?;
        assert_eq!(updates(&c), calls, "one UpdateFileSystem per change");
    }

    // A class that keeps root squash on: turning it off is refused at admission.
    c.update_class(0, |class| class.root_squash = Some(squash(false))).await?;
    let refused = edit(t, "shared", json!({"rootSquash": false})).await?;
    assert!(refused.is_err_and(|m| m.contains("root squash off")), "the class does not allow it");
    Ok(())
}

#[tokio::test]
async fn the_lustre_version_is_upgraded_in_place_and_never_downgraded() -> anyhow::Result<()> {
    let c = cluster("upgrade").await?;
    c.update_class(0, |class| {
        class.lustre_versions = vec![lustre_api::LustreVersion::V2_12, lustre_api::LustreVersion::V2_15]
    })
    .await?;
    let t = c.tenant(0);
    let v =
        volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": "old"},
        "spec": {"storageCapacityGiB": 1200, "deploymentType": "PERSISTENT_2", "perUnitStorageThroughput": 125,
                 "lustreVersion": "2.12", "className": t.class}}));
    t.lvs().create(&PostParams::default(), &v).await?;
    let lv = ready(&c, t, "old").await?;
    let uid = lv.metadata.uid.clone().unwrap_or_default();
    let version = |c: &Cluster| c.file_systems_of(&uid).first().map(|f| f.file_system_type_version.clone());
    assert_eq!(version(&c).as_deref(), Some("2.12"));
    assert_eq!(edit(t, "old", json!({"lustreVersion": "2.15"})).await?, Ok(()));
    until_fsx(&c, &uid, "Lustre 2.15 at FSx", |f| f.file_system_type_version.clone(), |v| v == "2.15").await?;
    assert_eq!(updates(&c), 1);
    let back = edit(t, "old", json!({"lustreVersion": "2.12"})).await?;
    assert!(back.is_err_and(|m| m.contains("can only be upgraded")));
    Ok(())
}

#[tokio::test]
async fn logging_goes_to_the_class_s_log_group_and_changes_in_place() -> anyhow::Result<()> {
    let c = cluster("logging").await?;
    let account = c.emulator.config().account_id.clone();
    let group = format!("arn:aws:logs:us-east-1:{account}:log-group:/aws/fsx/platform");
    c.update_class(0, |class| class.log_destination = Some(group.clone())).await?;
    let t = c.tenant(0);
    let v =
        volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": "logs"},
        "spec": {"storageCapacityGiB": 1200, "deploymentType": "PERSISTENT_2", "perUnitStorageThroughput": 125,
                 "className": t.class, "logLevel": "WARN_ERROR"}}));
    t.lvs().create(&PostParams::default(), &v).await?;
    let lv = ready(&c, t, "logs").await?;
    let uid = lv.metadata.uid.clone().unwrap_or_default();
    let log = |c: &Cluster| c.file_systems_of(&uid).first().and_then(|f| f.log.clone());
    assert_eq!(log(&c), Some(("WARN_ERROR".to_string(), Some(group.clone()))), "made logging to the class's group");
    assert_eq!(edit(t, "logs", json!({"logLevel": "DISABLED"})).await?, Ok(()));
    let off = |l: &Option<(String, Option<String>)>| l.as_ref().is_some_and(|(level, _)| level == "DISABLED");
    until_fsx(&c, &uid, "logging off at FSx", |f| f.log.clone(), off).await?;
    assert_eq!(updates(&c), 1);
    Ok(())
}
