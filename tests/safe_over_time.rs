//! Safe over time, the way the operator runs: one operator on all namespaces, the LustreClass
//! admission policy installed, tenants as real users with a namespace role (not cluster-admin).
//! What happens after a volume is made: its class narrowed, edited or deleted.
//!
//! The admission policy is cluster-wide, so these tests live in a binary of their own (every
//! test here wants it); one [`Cluster`] at a time, as in `multi_tenant`.

use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use lustre_api::{tags, DeletionPolicy, DeploymentType, LustreVolume};
use serde_json::json;
use testkit::volumes::{condition, emulator, is_ready, volume, DEADLINE};
use testkit::{wait_for, wait_gone, Cluster, OperatorOptions, Tenant};

async fn cluster(
    prefix: &str,
    tenants: usize,
    class: impl Fn(usize, &mut lustre_api::LustreClassSpec),
) -> anyhow::Result<Cluster> {
    let mut c =
        Cluster::start(prefix, tenants, emulator(Duration::from_secs(1)), OperatorOptions::default(), class).await?;
    testkit::tenancy::apply_admission_policy(&c.client).await?;
    c.tenants_as_users().await?;
    Ok(c)
}

async fn ready(c: &Cluster, t: &Tenant, name: &str) -> anyhow::Result<LustreVolume> {
    wait_for(&t.lvs(), name, DEADLINE, "condition Ready=True", is_ready)
        .await
        .with_context(|| format!("operator log:\n{}", c.operator_log()))
}

fn uid(lv: &LustreVolume) -> String {
    lv.metadata.uid.clone().unwrap_or_default()
}

/// The apiserver's answer to a tenant's merge patch: Ok, or the rejection message.
async fn tenant_patch(t: &Tenant, name: &str, patch: serde_json::Value) -> anyhow::Result<Result<(), String>> {
    match t.lvs().patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => Ok(Ok(())),
        Err(kube::Error::Api(e)) if matches!(e.code, 400 | 403 | 422) => Ok(Err(e.message)),
        Err(e) => Err(e.into()),
    }
}

#[tokio::test]
async fn narrowing_a_class_never_traps_its_volumes_or_their_namespace() -> anyhow::Result<()> {
    let c = cluster("narrow", 1, |_, class| {
        class.deployment_types = vec![DeploymentType::Scratch2, DeploymentType::Persistent2];
        class.limits.max_capacity_gib = Some(4800);
        class.s3_prefixes = vec!["s3://ml-data/${namespace}/".into()];
    })
    .await?;
    let t = c.tenant(0);
    let linked = |name: &str| {
        volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": name},
            "spec": {"storageCapacityGiB": 2400, "className": t.class,
                     "s3": {"importPath": format!("s3://ml-data/{}/in/", t.ns), "exportPath": format!("s3://ml-data/{}/out/", t.ns)},
                     "onDelete": {"exportToS3": true}}}))
    };
    for name in ["keep", "rest"] {
        t.lvs().create(&PostParams::default(), &linked(name)).await?;
    }
    let keep = ready(&c, t, "keep").await?;
    let rest = ready(&c, t, "rest").await?;

    // The platform narrows every rule these volumes were made under: capacity, type, S3 prefixes
    // and the namespaces that may use the class at all.
    c.update_class(0, |class| {
        class.deployment_types = vec![DeploymentType::Persistent2];
        class.limits.max_capacity_gib = Some(1200);
        class.s3_prefixes = vec!["s3://ml-data/elsewhere/".into()];
        class.namespace_selector =
            Some(serde_json::from_value(json!({"matchLabels": {"nobody": "here"}})).expect("selector"));
    })
    .await?;

    // What the tenant does not change is not judged again: metadata edits, and the recovery edit
    // of turning the export before deletion off.
    let note = json!({"metadata": {"annotations": {"team": "vision"}}});
    assert_eq!(tenant_patch(t, "keep", note).await?, Ok(()), "a metadata edit of a volume of a narrowed class");
    let export_off = json!({"spec": {"onDelete": {"exportToS3": false}}});
    assert_eq!(tenant_patch(t, "keep", export_off).await?, Ok(()), "turning the export off");
    // What the tenant changes is judged against the class as it is now.
    let grow = tenant_patch(t, "keep", json!({"spec": {"storageCapacityGiB": 4800}})).await?;
    let refusal = grow.err().context("growing past the narrowed limit must be refused")?;
    assert!(refusal.contains("storageCapacityGiB 4800"), "the message names the field: {refusal}");

    // The operator reports what the narrowing means for the volume it already has.
    let reported = wait_for(&t.lvs(), "keep", DEADLINE, "Ready=False ClassRejected", |lv| {
        condition(lv, "Ready").is_some_and(|c| c.status == "False" && c.reason == "ClassRejected")
    })
    .await
    .with_context(|| c.operator_log())?;
    let message = condition(&reported, "Ready").map(|c| c.message.clone()).unwrap_or_default();
    assert!(message.contains("may not use"), "the condition says what the class no longer allows: {message}");

    // It stays deletable: the tenant deletes it, and its file system goes without an export.
    let exports_before = c.calls().count("fsx", "CreateDataRepositoryTask");
    t.lvs().delete("keep", &DeleteParams::default()).await?;
    wait_gone(&t.lvs(), "keep", DEADLINE).await.with_context(|| c.operator_log())?;
    assert!(c.file_systems_of(&uid(&keep)).is_empty(), "the narrowed volume's file system is deleted");
    assert!(c.security_groups_of(&uid(&keep)).is_empty(), "and its security group");
    assert_eq!(c.calls().count("fsx", "CreateDataRepositoryTask"), exports_before, "the export was turned off");

    // And its namespace can be deleted: the other volume (export still on, to S3 paths the class
    // no longer lists) goes with it, exporting first as it was promised when it was made.
    Api::<Namespace>::all(c.client.clone()).delete(&t.ns, &DeleteParams::default()).await?;
    wait_gone(&Api::<Namespace>::all(c.client.clone()), &t.ns, Duration::from_secs(180))
        .await
        .with_context(|| c.operator_log())?;
    assert!(c.file_systems_of(&uid(&rest)).is_empty(), "the namespace's last file system is deleted");
    Ok(())
}

#[tokio::test]
async fn the_deletion_policy_is_the_one_recorded_when_the_volume_was_made() -> anyhow::Result<()> {
    let c = cluster("policy", 1, |_, class| {
        class.deletion_policy = Some(DeletionPolicy::Retain);
    })
    .await?;
    let t = c.tenant(0);
    for name in ["promised", "orphaned-class", "changed-mind"] {
        let v =
            volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": name},
                              "spec": {"storageCapacityGiB": 1200, "className": t.class}}));
        t.lvs().create(&PostParams::default(), &v).await?;
    }
    let promised = ready(&c, t, "promised").await?;
    let orphaned = ready(&c, t, "orphaned-class").await?;
    let changed = ready(&c, t, "changed-mind").await?;
    for lv in [&promised, &orphaned, &changed] {
        let fs = c.file_systems_of(&uid(lv));
        assert_eq!(fs.len(), 1);
        assert_eq!(fs[0].tags.get(tags::DELETION_POLICY).map(String::as_str), Some("Retain"), "recorded at creation");
    }

    // The tenant chooses Delete for one volume (no class permission needed for Delete): one
    // TagResource, the record follows.
    let tag_calls = c.calls().count("fsx", "TagResource");
    assert_eq!(tenant_patch(t, "changed-mind", json!({"spec": {"deletionPolicy": "Delete"}})).await?, Ok(()));
    testkit::wait_until(DEADLINE, "the recorded policy follows the volume's edit", || async {
        let fs = c.file_systems_of(&uid(&changed));
        let now = fs.first().and_then(|f| f.tags.get(tags::DELETION_POLICY).cloned());
        if now.as_deref() == Some("Delete") {
            Ok(true)
        } else {
            Err(format!("tag is {now:?}"))
        }
    })
    .await
    .with_context(|| c.operator_log())?;
    assert_eq!(c.calls().count("fsx", "TagResource"), tag_calls + 1, "one TagResource for the one edit");

    // The platform then makes the class Delete: nothing recorded changes, and no tag call.
    c.update_class(0, |class| class.deletion_policy = Some(DeletionPolicy::Delete)).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(c.calls().count("fsx", "TagResource"), tag_calls + 1, "a class edit retags nothing");

    // Deleting the volume made under Retain keeps its file system (and the group it needs).
    let deletes = c.calls().count("fsx", "DeleteFileSystem");
    t.lvs().delete("promised", &DeleteParams::default()).await?;
    wait_gone(&t.lvs(), "promised", DEADLINE).await.with_context(|| c.operator_log())?;
    let kept = c.file_systems_of(&uid(&promised));
    assert_eq!(kept.len(), 1, "the promised Retain holds although the class says Delete now");
    assert_eq!(kept[0].lifecycle, "AVAILABLE");
    assert_eq!(c.security_groups_of(&uid(&promised)).len(), 1, "a retained file system keeps its group");

    // Deleting the class itself changes nothing either.
    c.classes().delete(&t.class, &DeleteParams::default()).await?;
    t.lvs().delete("orphaned-class", &DeleteParams::default()).await?;
    wait_gone(&t.lvs(), "orphaned-class", DEADLINE).await.with_context(|| c.operator_log())?;
    assert_eq!(c.file_systems_of(&uid(&orphaned)).len(), 1, "Retain holds with the class gone");
    assert_eq!(c.calls().count("fsx", "DeleteFileSystem"), deletes, "no file system promised Retain was deleted");

    // The volume whose own spec chose Delete is deleted, group and all.
    t.lvs().delete("changed-mind", &DeleteParams::default()).await?;
    wait_gone(&t.lvs(), "changed-mind", DEADLINE).await.with_context(|| c.operator_log())?;
    assert!(c.file_systems_of(&uid(&changed)).is_empty(), "the volume's own Delete is honoured");
    assert!(c.security_groups_of(&uid(&changed)).is_empty());
    assert_eq!(c.calls().count("fsx", "DeleteFileSystem"), deletes + 1);
    Ok(())
}

#[tokio::test]
async fn a_class_the_operator_cannot_parse_is_reported_and_every_other_class_goes_on() -> anyhow::Result<()> {
    let mut c = cluster("badclass", 2, |_, _| {}).await?;
    // Store a class the operator's types cannot hold: the CRD without its int32 maximum for a
    // moment (a schema change, say), a limit above i32::MAX. The operator is down meanwhile, so
    // the class is in its very first list (where one bad object would fail a typed watch).
    c.kill_operator();
    let mut crd = serde_json::to_value(lustre_api::class_crd())?;
    let limit = &mut crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        ["limits"]["properties"]["maxCapacityGiB"];
    limit.as_object_mut().context("maxCapacityGiB schema")?.remove("maximum").context("a maximum")?;
    testkit::apply_crd(&c.client, &crd).await?;
    let classes: Api<kube::api::DynamicObject> =
        Api::all_with(c.client.clone(), &kube::api::ApiResource::erase::<lustre_api::LustreClass>(&()));
    let bad_name = format!("unreadable-{}", c.tenant(1).ns);
    let bad: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreClass", "metadata": {"name": bad_name},
        "spec": {"network": {"subnets": [{"subnetId": c.tenant(1).subnet_id}]}, "limits": {"maxCapacityGiB": 3_000_000_000_u64}}
    }))?;
    let created = classes.create(&PostParams::default(), &bad).await;
    testkit::install_crds(&c.client).await?;
    created.context("creating the unparseable class")?;

    c.start_operator().await?;
    let port = c.operator.as_ref().context("operator")?.metrics_port;
    assert_eq!(testkit::http_status(port, "/readyz").await, Some(200), "ready despite the unparseable class");
    // The other classes work: a volume of tenant 0's class is made.
    let t = c.tenant(0);
    let v =
        volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": "works"},
                          "spec": {"storageCapacityGiB": 1200, "className": t.class}}));
    t.lvs().create(&PostParams::default(), &v).await?;
    ready(&c, t, "works").await?;
    // A volume naming the unreadable class is refused with what to change, at no AWS cost.
    let calls = c.calls().total();
    let u = c.tenant(1);
    let v =
        volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": "stuck"},
                          "spec": {"storageCapacityGiB": 1200, "className": bad_name}}));
    Api::<LustreVolume>::namespaced(c.client.clone(), &u.ns).create(&PostParams::default(), &v).await?;
    let refused = wait_for(&u.lvs(), "stuck", DEADLINE, "Ready=False ClassNotFound", |lv| {
        condition(lv, "Ready").is_some_and(|c| c.status == "False" && c.reason == "ClassNotFound")
    })
    .await
    .with_context(|| c.operator_log())?;
    let message = condition(&refused, "Ready").map(|c| c.message.clone()).unwrap_or_default();
    assert!(message.contains(&bad_name), "{message}");
    assert_eq!(c.calls().total(), calls, "no AWS call for the volume of the unreadable class");
    assert!(c.operator_log().contains("cannot be parsed"), "the operator says which object it skips");
    assert!(!c.operator_log().contains('\x1b'), "text logs written to a file carry no ANSI colour codes");
    classes.delete(&bad_name, &DeleteParams::default()).await?;
    Ok(())
}

#[tokio::test]
async fn a_file_system_another_namespace_left_behind_is_adopted_only_when_listed_by_id() -> anyhow::Result<()> {
    let c = cluster("released", 2, |_, class| {
        class.allow_retain = true;
    })
    .await?;
    let (a, b) = (c.tenant(0), c.tenant(1));
    // Tenant A makes a volume with Retain and deletes it: its file system stays, tagged with A's
    // namespace.
    let v =
        volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": "data"},
                          "spec": {"storageCapacityGiB": 1200, "className": a.class, "deletionPolicy": "Retain"}}));
    a.lvs().create(&PostParams::default(), &v).await?;
    let data = ready(&c, a, "data").await?;
    let fs_id = data.status.as_ref().and_then(|s| s.file_system_id.clone()).context("A's file system")?;
    a.lvs().delete("data", &DeleteParams::default()).await?;
    wait_gone(&a.lvs(), "data", DEADLINE).await?;
    c.emulator.tag_file_system(&fs_id, "shareable", "yes")?;

    // B's class lets B adopt file systems tagged shareable=yes: not one that A's namespace made.
    c.update_class(1, |class| {
        class.adoption = Some(lustre_api::class::ClassAdoption {
            required_tag: Some(lustre_api::class::ClassTag { key: "shareable".into(), value: "yes".into() }),
            namespaces: vec![b.ns.clone()],
            ..Default::default()
        })
    })
    .await?;
    let adopt = |name: &str| {
        volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": name},
                      "spec": {"className": b.class, "fileSystemId": fs_id}}))
    };
    b.lvs().create(&PostParams::default(), &adopt("taken")).await?;
    let refused = wait_for(&b.lvs(), "taken", DEADLINE, "adoption refused", |lv| {
        condition(lv, "Ready").is_some_and(|c| c.status == "False" && c.message.contains("made by namespace"))
    })
    .await
    .with_context(|| c.operator_log())?;
    assert!(refused.status.as_ref().and_then(|s| s.file_system_id.as_deref()).is_none(), "nothing of it is shown");

    // Listed by ID, it may be adopted: by one live volume, not two.
    c.update_class(1, |class| {
        if let Some(adoption) = class.adoption.as_mut() {
            adoption.file_system_ids = vec![fs_id.clone()];
        }
    })
    .await?;
    ready(&c, b, "taken").await?;
    b.lvs().create(&PostParams::default(), &adopt("second")).await?;
    wait_for(&b.lvs(), "second", DEADLINE, "a second adopter refused", |lv| {
        condition(lv, "Ready").is_some_and(|c| c.status == "False" && c.message.contains("adopted it first"))
    })
    .await
    .with_context(|| c.operator_log())?;
    assert_eq!(c.calls().count("fsx", "DeleteFileSystem"), 0, "nothing was deleted along the way");
    Ok(())
}

#[tokio::test]
async fn what_a_volume_left_behind_is_swept_under_the_policy_it_was_made_with() -> anyhow::Result<()> {
    // Sweeps every 2 s from 2 s after start; an orphan is handled once it has been one for 4 s.
    let options = OperatorOptions { orphan_sweep: (2, 2, 4), ..OperatorOptions::default() };
    let mut c = Cluster::start("orphans", 2, emulator(Duration::from_secs(1)), options, |_, class| {
        class.allow_retain = true;
    })
    .await?;
    testkit::tenancy::apply_admission_policy(&c.client).await?;
    c.tenants_as_users().await?;
    let (a_lvs, b_lvs, a_ns) = (c.tenant(0).lvs(), c.tenant(1).lvs(), c.tenant(0).ns.clone());
    let make = |t: &Tenant, name: &str, policy: &str| {
        volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": name},
                      "spec": {"storageCapacityGiB": 1200, "className": t.class, "deletionPolicy": policy}}))
    };
    a_lvs.create(&PostParams::default(), &make(c.tenant(0), "dropped", "Delete")).await?;
    a_lvs.create(&PostParams::default(), &make(c.tenant(0), "kept", "Retain")).await?;
    b_lvs.create(&PostParams::default(), &make(c.tenant(1), "live", "Delete")).await?;
    let dropped = ready(&c, c.tenant(0), "dropped").await?;
    let kept = ready(&c, c.tenant(0), "kept").await?;
    let live = ready(&c, c.tenant(1), "live").await?;

    // While the operator is down, the tenant takes its finalizers away and deletes both volumes:
    // no cleanup ever runs for them.
    c.kill_operator();
    for name in ["dropped", "kept"] {
        let strip = json!({"metadata": {"finalizers": null}});
        a_lvs.patch(name, &PatchParams::default(), &Patch::Merge(&strip)).await?;
        a_lvs.delete(name, &DeleteParams::default()).await?;
        wait_gone(&a_lvs, name, DEADLINE).await?;
    }
    assert_eq!(c.file_systems_of(&uid(&dropped)).len(), 1, "left behind, for now");
    c.start_operator().await?;

    // The Delete one goes, file system, group, PV and StorageClass.
    testkit::wait_until(Duration::from_secs(120), "the dropped volume's resources swept", || async {
        let fs = c.file_systems_of(&uid(&dropped)).len();
        let sg = c.security_groups_of(&uid(&dropped)).len();
        let pv = Api::<k8s_openapi::api::core::v1::PersistentVolume>::all(c.client.clone())
            .get_opt(&format!("lustre-{}", uid(&dropped)))
            .await
            .map_err(|e| e.to_string())?
            .is_some();
        if fs == 0 && sg == 0 && !pv {
            Ok(true)
        } else {
            Err(format!("file systems {fs}, groups {sg}, PV {pv}"))
        }
    })
    .await
    .with_context(|| c.operator_log())?;
    // The Retain one keeps its file system and the group it needs; its Kubernetes objects go.
    let retained = c.file_systems_of(&uid(&kept));
    assert_eq!(retained.len(), 1, "Retain: the file system is kept");
    assert_eq!(retained[0].lifecycle, "AVAILABLE");
    assert_eq!(c.security_groups_of(&uid(&kept)).len(), 1, "and its group");
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(c.client.clone(), &a_ns);
    testkit::wait_until(DEADLINE, "an OrphanKept event naming the retained file system", || {
        let (events, id) = (events.clone(), retained[0].id.clone());
        async move {
            let list = events.list(&Default::default()).await.map_err(|e| e.to_string())?;
            Ok(list.items.iter().any(|e| {
                e.reason.as_deref() == Some("OrphanKept") && e.note.as_deref().is_some_and(|n| n.contains(&id))
            }))
        }
    })
    .await
    .with_context(|| c.operator_log())?;
    let metrics = c.operator.as_ref().context("operator")?.metrics().await;
    let count = |resource: &str, action: &str| {
        testkit::metric_sum(
            &metrics,
            &format!("lustre_operator_orphans_total{{resource=\"{resource}\",action=\"{action}\"}}"),
        )
    };
    assert_eq!(count("file_system", "deleted"), 1.0, "{metrics}");
    assert_eq!(count("file_system", "kept"), 1.0);
    // The other tenant's live volume is untouched, and nothing was deleted twice.
    assert!(is_ready(&b_lvs.get("live").await?));
    assert_eq!(c.file_systems_of(&uid(&live)).len(), 1);
    assert_eq!(c.calls().count("fsx", "DeleteFileSystem"), 1, "one file system deleted, once");
    Ok(())
}

#[tokio::test]
async fn a_class_change_reaches_its_volumes_within_seconds_not_at_the_resync() -> anyhow::Result<()> {
    // The test cluster's resync is 300 s: anything seen within 60 s came from the class watch.
    let c = cluster("classedit", 1, |_, class| class.network.client_cidrs = vec!["10.20.0.0/16".into()]).await?;
    let t = c.tenant(0);
    let v =
        volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": "data"},
                          "spec": {"storageCapacityGiB": 1200, "className": t.class}}));
    t.lvs().create(&PostParams::default(), &v).await?;
    let sg = ready(&c, t, "data").await?.status.and_then(|s| s.security_group_id).context("managed group")?;
    let cidrs = |sg: &str| -> Vec<String> {
        let mut found: Vec<String> = c
            .inventory()
            .security_group(sg)
            .map(|g| g.ingress.iter().filter_map(|r| r.cidr.clone()).collect())
            .unwrap_or_default();
        found.sort();
        found.dedup();
        found
    };
    assert_eq!(cidrs(&sg), vec!["10.20.0.0/16".to_string()]);

    // The platform moves the clients to another range: the group follows, both ways.
    c.update_class(0, |class| class.network.client_cidrs = vec!["10.30.0.0/16".into()]).await?;
    testkit::wait_until(Duration::from_secs(60), "the group to admit exactly the new range", || {
        let now = cidrs(&sg);
        async move {
            if now == vec!["10.30.0.0/16".to_string()] {
                Ok(true)
            } else {
                Err(format!("{now:?}"))
            }
        }
    })
    .await
    .with_context(|| c.operator_log())?;
    assert!(is_ready(&t.lvs().get("data").await?), "still Ready");
    Ok(())
}

/// The namespace quota is a reservation, not a read of the cache: a burst of creations cannot
/// pass together, growth counts (refused, it costs no AWS call and the volume keeps its size),
/// and a refused volume is judged again as soon as a deletion frees room, not at the next resync
/// (300 s here).
#[tokio::test]
async fn the_namespace_quota_holds_for_a_burst_and_for_growth_and_frees_at_once() -> anyhow::Result<()> {
    let c = cluster("quota", 1, |_, class| class.limits.max_capacity_gib_per_namespace = Some(3600)).await?;
    let t = c.tenant(0);
    let make = |name: &str| {
        volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": name},
                      "spec": {"storageCapacityGiB": 1200, "className": t.class}}))
    };
    let volumes: Vec<LustreVolume> = ["q1", "q2", "q3", "q4"].into_iter().map(make).collect();
    let (api, post) = (t.lvs(), PostParams::default());
    let burst = tokio::join!(
        api.create(&post, &volumes[0]),
        api.create(&post, &volumes[1]),
        api.create(&post, &volumes[2]),
        api.create(&post, &volumes[3])
    );
    let uids = [uid(&burst.0?), uid(&burst.1?), uid(&burst.2?), uid(&burst.3?)];
    let name = |lv: &LustreVolume| lv.metadata.name.clone().unwrap_or_default();
    let refusal = |lv: &LustreVolume| {
        condition(lv, "Ready").filter(|c| c.status == "False" && c.reason == "ClassRejected").map(|c| c.message.clone())
    };
    let list = || async {
        api.list(&kube::api::ListParams::default()).await.map(|l| l.items).map_err(|e| format!("listing: {e}"))
    };
    let file_systems = || uids.iter().map(|u| c.file_systems_of(u)).collect::<Vec<_>>();

    // (a) Four of 1200 GiB at once under 3600: exactly three are made, the fourth is refused.
    testkit::wait_until(DEADLINE, "three volumes Ready and one refused by the quota", || async {
        let items = list().await?;
        let ready = items.iter().filter(|lv| is_ready(lv)).count();
        let refused = items.iter().filter(|lv| refusal(lv).is_some()).count();
        if (ready, refused) == (3, 1) {
            Ok(true)
        } else {
            Err(format!("{ready} Ready, {refused} refused"))
        }
    })
    .await
    .with_context(|| c.operator_log())?;
    let items = list().await.map_err(anyhow::Error::msg)?;
    let late = items.iter().find(|lv| refusal(lv).is_some()).context("the refused volume")?;
    let message = refusal(late).unwrap_or_default();
    assert!(message.contains("over its quota of 3600 GiB (3600 GiB in use)"), "names the limit and the use: {message}");
    assert!(c.file_systems_of(&uid(late)).is_empty(), "the refused volume has no file system");
    let made: usize = file_systems().iter().map(Vec::len).sum();
    assert_eq!(made, 3, "the account holds exactly three file systems for the namespace");
    assert_eq!(c.calls().count("fsx", "CreateFileSystem"), 3, "no CreateFileSystem for the refused volume");
    let late = name(late);
    let ready: Vec<String> = items.iter().filter(|lv| is_ready(lv)).map(name).collect();

    // (c) A deletion frees 1200 GiB: the refused volume is made within moments, not at a resync.
    t.lvs().delete(&ready[0], &DeleteParams::default()).await?;
    let freed = std::time::Instant::now();
    wait_for(&t.lvs(), &late, Duration::from_secs(60), "Ready=True once the quota freed", is_ready)
        .await
        .with_context(|| c.operator_log())?;
    eprintln!("the refused volume was Ready {:?} after the deletion that freed the quota", freed.elapsed());
    wait_gone(&t.lvs(), &ready[0], DEADLINE).await.with_context(|| c.operator_log())?;
    let made: usize = file_systems().iter().map(Vec::len).sum();
    assert_eq!(made, 3, "one file system went, one was made: {:?}", file_systems());

    // (b) Growing a Ready volume past the quota is refused at no AWS cost; it keeps its 1200 GiB.
    let grown = &ready[1];
    assert_eq!(tenant_patch(t, grown, json!({"spec": {"storageCapacityGiB": 2400}})).await?, Ok(()));
    let refused = wait_for(&t.lvs(), grown, DEADLINE, "the growth refused by the quota", |lv| {
        refusal(lv).is_some_and(|m| m.contains("growing to 2400 GiB"))
    })
    .await
    .with_context(|| c.operator_log())?;
    let message = refusal(&refused).unwrap_or_default();
    assert!(
        message.contains("over its quota of 3600 GiB") && message.contains("keeps working at 1200 GiB"),
        "{message}"
    );
    assert!(message.contains("maxCapacityGiBPerNamespace"), "says what to change: {message}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(c.calls().count("fsx", "UpdateFileSystem"), 0, "no UpdateFileSystem for a refused growth");
    let still = t.lvs().get(grown).await?;
    assert_eq!(still.metadata.resource_version, refused.metadata.resource_version, "no status writes while refused");
    let st = still.status.clone().unwrap_or_default();
    assert_eq!((st.phase.map(|p| p.as_str()), st.capacity_gib), (Some("Available"), Some(1200)), "{st:?}");
    let fs = c.file_systems_of(&uid(&still));
    assert_eq!(
        fs.iter().map(|f| (f.lifecycle.as_str(), f.storage_capacity)).collect::<Vec<_>>(),
        [("AVAILABLE", 1200)]
    );

    // Another deletion makes room for the growth: judged again at once, one UpdateFileSystem.
    t.lvs().delete(&ready[2], &DeleteParams::default()).await?;
    testkit::wait_until(Duration::from_secs(60), "the growth admitted once the quota freed", || async {
        match c.calls().count("fsx", "UpdateFileSystem") {
            0 => Err("no UpdateFileSystem yet".to_string()),
            n => Ok(n == 1),
        }
    })
    .await
    .with_context(|| c.operator_log())?;
    assert_eq!(c.calls().count("fsx", "UpdateFileSystem"), 1);
    Ok(())
}

#[tokio::test]
async fn switching_a_class_between_managed_and_given_groups_neither_leaks_nor_wedges() -> anyhow::Result<()> {
    let c = cluster("sgmode", 1, |_, _| {}).await?;
    let t = c.tenant(0);
    let make = |name: &str| {
        volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": name},
                      "spec": {"storageCapacityGiB": 1200, "className": t.class}}))
    };
    t.lvs().create(&PostParams::default(), &make("managed-first")).await?;
    let first = ready(&c, t, "managed-first").await?;
    let managed = first.status.as_ref().and_then(|s| s.security_group_id.clone()).context("managed group")?;

    // The platform switches the class to a group of its own that admits Lustre from itself.
    let ec2 = c.ec2().await;
    let seed = c.emulator.seed();
    let given = ec2
        .create_security_group()
        .group_name(format!("platform-lustre-{}", t.ns))
        .description("platform's Lustre group")
        .vpc_id(&seed.vpc_id)
        .send()
        .await?
        .group_id()
        .context("group id")?
        .to_string();
    for (from, to) in [(988, 988), (1018, 1023)] {
        ec2.authorize_security_group_ingress()
            .group_id(&given)
            .ip_permissions(
                aws_sdk_ec2::types::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(from)
                    .to_port(to)
                    .user_id_group_pairs(aws_sdk_ec2::types::UserIdGroupPair::builder().group_id(&given).build())
                    .build(),
            )
            .send()
            .await?;
    }
    c.update_class(0, |class| class.network.security_group_ids = vec![given.clone()]).await?;
    t.lvs().create(&PostParams::default(), &make("given-later")).await?;
    let later = ready(&c, t, "given-later").await?;
    assert_eq!(c.file_systems_of(&uid(&later))[0].security_group_ids, vec![given.clone()]);
    // The first volume keeps the group its file system was made with, still managed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let first_now = t.lvs().get("managed-first").await?;
    assert!(is_ready(&first_now), "the volume made under the managed mode stays Ready");
    assert_eq!(first_now.status.as_ref().and_then(|s| s.security_group_id.as_deref()), Some(managed.as_str()));

    // And back: no managed group is made for the file system made with the given one.
    c.update_class(0, |class| class.network.security_group_ids.clear()).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(is_ready(&t.lvs().get("given-later").await?), "the volume made under the given mode stays Ready");
    assert!(c.security_groups_of(&uid(&later)).is_empty(), "no group it could not use");
    assert_eq!(c.calls().count("ec2", "CreateSecurityGroup"), 2, "the first volume's group and the platform's");

    // Deleting both leaves the platform's group and no managed one.
    for name in ["managed-first", "given-later"] {
        t.lvs().delete(name, &DeleteParams::default()).await?;
        wait_gone(&t.lvs(), name, DEADLINE).await.with_context(|| c.operator_log())?;
    }
    assert!(
        c.security_groups_of(&uid(&first)).is_empty(),
        "the managed group is deleted although the class lists a given one"
    );
    assert!(c.inventory().security_group(&given).is_some(), "the platform's group is never touched");
    Ok(())
}
