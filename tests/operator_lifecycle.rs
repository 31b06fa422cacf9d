//! End to end, against the real control plane and the AWS emulator, with the operator as its own
//! process: the happy path, deletion (with a pod using the claim, with a claim that lingers,
//! during CREATING), adoption and
//! Retain.

use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use lustre_api::class::ClassAdoption;
use lustre_api::tags;
use serde_json::json;
use testkit::volumes::{condition, emulator, gone, is_ready, ready, scratch_volume, volume, DEADLINE};
use testkit::{wait_for, Harness, OperatorOptions};

#[tokio::test]
async fn happy_path_creates_one_of_everything_and_deletes_it_all() -> anyhow::Result<()> {
    let h = Harness::start("happy", emulator(Duration::from_secs(2)), OperatorOptions::default()).await?;
    h.lvs().create(&PostParams::default(), &scratch_volume("train", &h.class)).await?;
    let lv = ready(&h, "train").await?;
    let uid = lv.metadata.uid.clone().unwrap_or_default();
    let st = lv.status.clone().unwrap_or_default();

    // Exactly one group, its two rules, one file system.
    let calls = h.emulator.calls();
    assert_eq!(calls.count("ec2", "CreateSecurityGroup"), 1);
    assert_eq!(calls.count("fsx", "CreateFileSystem"), 1);
    assert_eq!(calls.count_outcome("ec2", "AuthorizeSecurityGroupIngress", "ok"), 1, "both rules in one call");
    let groups = h.managed_security_groups();
    assert_eq!(groups.len(), 1);
    let sg = &groups[0];
    assert_eq!(sg.tags.get(tags::OWNER_UID), Some(&uid));
    assert_eq!(sg.tags.get(tags::MANAGED_BY).map(String::as_str), Some("lustre-operator"));
    let mut rules: Vec<(i32, i32, Option<String>)> =
        sg.ingress.iter().map(|r| (r.from_port, r.to_port, r.source_group_id.clone())).collect();
    rules.sort();
    assert_eq!(rules, vec![(988, 988, Some(sg.id.clone())), (1018, 1023, Some(sg.id.clone()))]);
    let inv = h.emulator.inventory();
    assert_eq!(inv.file_systems.len(), 1);
    let fs = &inv.file_systems[0];
    assert_eq!(fs.tags.get(tags::OWNER_UID), Some(&uid));
    assert_eq!(fs.security_group_ids, vec![sg.id.clone()]);
    assert_eq!(fs.deployment_type, "SCRATCH_2");

    // Status.
    assert_eq!(st.phase, Some(lustre_api::Phase::Available));
    assert_eq!(st.file_system_id.as_deref(), Some(fs.id.as_str()));
    assert_eq!(st.security_group_id.as_deref(), Some(sg.id.as_str()));
    assert_eq!(st.dns_name.as_deref(), Some(fs.dns_name.as_str()));
    assert_eq!(st.mount_name.as_ref().map(String::len), Some(8));
    assert_eq!(st.capacity_gib, Some(1200));
    assert_eq!(st.claim_name.as_deref(), Some("train"));
    assert_eq!(st.claim_phase.as_deref(), Some("Bound"));
    assert_eq!(st.lifecycle.as_deref(), Some("AVAILABLE"));
    assert_eq!(st.observed_generation, lv.metadata.generation);
    for c in ["SecurityGroupReady", "FileSystemReady", "ClaimBound", "Ready"] {
        assert_eq!(
            condition(&lv, c).map(|c| c.status.as_str()),
            Some("True"),
            "condition {c}: {:?}",
            condition(&lv, c)
        );
    }

    // The PV, StorageClass and claim.
    let pv_name = st.persistent_volume_name.clone().context("status names the PV")?;
    let pv = Api::<PersistentVolume>::all(h.ns.client.clone()).get(&pv_name).await?;
    let spec = pv.spec.clone().context("pv spec")?;
    let csi = spec.csi.clone().context("csi")?;
    assert_eq!(csi.driver, "fsx.csi.aws.com");
    assert_eq!(csi.volume_handle, fs.id);
    let attrs = csi.volume_attributes.unwrap_or_default();
    assert_eq!(attrs.get("dnsname"), st.dns_name.as_ref());
    assert_eq!(attrs.get("mountname"), st.mount_name.as_ref());
    assert_eq!(spec.mount_options, Some(vec!["flock".to_string()]));
    assert_eq!(spec.access_modes, Some(vec!["ReadWriteMany".to_string()]));
    assert_eq!(spec.persistent_volume_reclaim_policy.as_deref(), Some("Retain"));
    assert_eq!(spec.capacity.unwrap_or_default().get("storage").map(|q| q.0.as_str()), Some("1200Gi"));
    let sc =
        Api::<StorageClass>::all(h.ns.client.clone()).get(st.storage_class_name.as_deref().unwrap_or_default()).await?;
    assert_eq!(sc.provisioner, "lustre.fsx.dev/static");
    assert_eq!(sc.reclaim_policy.as_deref(), Some("Retain"));
    assert_eq!(sc.volume_binding_mode.as_deref(), Some("Immediate"));
    let claim = h.ns.api::<PersistentVolumeClaim>().get("train").await?;
    // The standard binding: the PV is pre-bound to the claim by its UID; kube-controller-manager
    // wrote the claim's volumeName, its annotations and its status. The operator wrote the claim
    // once (its creation) and nothing of the binder's.
    assert_eq!(
        spec.claim_ref.as_ref().and_then(|r| r.uid.clone()),
        claim.metadata.uid.clone(),
        "the PV names the claim's UID"
    );
    assert_eq!(claim.spec.as_ref().and_then(|s| s.volume_name.as_deref()), Some(pv_name.as_str()), "bound to its PV");
    let annotations = claim.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(annotations.get("pv.kubernetes.io/bind-completed").map(String::as_str), Some("yes"), "{annotations:?}");
    let managers: Vec<(String, String, String)> = claim
        .metadata
        .managed_fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            (
                m.manager.unwrap_or_default(),
                m.subresource.unwrap_or_default(),
                m.fields_v1.map(|f| f.0.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    let ours: Vec<&(String, String, String)> = managers.iter().filter(|m| m.0 == "lustre-operator").collect();
    assert_eq!(ours.len(), 1, "one write of the operator's, its create: {managers:?}");
    assert_eq!(ours[0].1, "", "not the status subresource: {managers:?}");
    assert!(!ours[0].2.contains("bind-completed") && !ours[0].2.contains("volumeName"), "{managers:?}");
    assert!(
        managers.iter().any(|m| m.0 == "kube-controller-manager" && m.1 == "status" && m.2.contains("f:phase")),
        "the binder wrote the claim's status: {managers:?}"
    );
    assert_eq!(claim.status.and_then(|s| s.phase).as_deref(), Some("Bound"));
    assert_eq!(claim.metadata.owner_references.unwrap_or_default().first().map(|o| o.uid.clone()), Some(uid.clone()));

    // One event until Ready: Available, naming the claim and the file system.
    let event_api: Api<k8s_openapi::api::core::v1::Event> = h.ns.api();
    let volume_events = || async {
        let mut events: Vec<k8s_openapi::api::core::v1::Event> = event_api
            .list(&Default::default())
            .await?
            .items
            .into_iter()
            .filter(|e| e.involved_object.kind.as_deref() == Some("LustreVolume"))
            .collect();
        events.sort_by_key(|e| e.event_time.clone().map(|t| t.0));
        anyhow::Ok(
            events
                .into_iter()
                .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
                .collect::<Vec<(String, String)>>(),
        )
    };
    let events = volume_events().await?;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "Available", "{events:?}");
    assert!(events[0].1.contains("train") && events[0].1.contains(&fs.id), "{events:?}");

    // A stable volume costs no AWS calls and no status writes.
    let before_calls = h.emulator.calls().total();
    let before_rv = h.lvs().get("train").await?.metadata.resource_version;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(h.emulator.calls().total(), before_calls, "no AWS calls while stable");
    assert_eq!(h.lvs().get("train").await?.metadata.resource_version, before_rv, "no status writes while stable");

    // Deletion leaves nothing in AWS or Kubernetes.
    h.lvs().delete("train", &DeleteParams::default()).await?;
    gone(&h, "train").await?;
    assert!(h.emulator.inventory().file_systems.is_empty(), "{:?}", h.emulator.inventory().file_systems);
    assert!(h.managed_security_groups().is_empty());
    assert!(Api::<PersistentVolume>::all(h.ns.client.clone()).get_opt(&pv_name).await?.is_none());
    assert!(Api::<StorageClass>::all(h.ns.client.clone()).get_opt(&pv_name).await?.is_none());
    assert_eq!(h.emulator.calls().count_outcome("fsx", "DeleteFileSystem", "ok"), 1);
    // Two events for the deletion: the phase to Deleting naming the file system, and Deleted
    // naming the security group.
    let events = volume_events().await?;
    let reasons: Vec<&str> = events.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(reasons, vec!["Available", "Deleting", "Deleted"], "{events:?}");
    assert!(events[1].1.contains(&fs.id), "{events:?}");
    assert!(events[2].1.contains(&sg.id), "{events:?}");
    assert!(h
        .operator
        .as_ref()
        .context("operator")?
        .metrics()
        .await
        .contains("lustre_operator_aws_calls_total{service=\"fsx\",operation=\"CreateFileSystem\",outcome=\"ok\"} 1"));

    // The test's class is cluster-scoped: the harness deletes it when it goes.
    let (classes, class) = (h.classes(), h.class.clone());
    drop(h);
    assert!(classes.get_opt(&class).await?.is_none(), "LustreClass {class} outlived its harness");
    Ok(())
}

#[tokio::test]
async fn deletion_waits_for_pods_using_the_claim_and_says_which() -> anyhow::Result<()> {
    let h = Harness::start("inuse", emulator(Duration::from_secs(1)), OperatorOptions::default()).await?;
    h.lvs().create(&PostParams::default(), &scratch_volume("shared", &h.class)).await?;
    ready(&h, "shared").await?;
    // A pod scheduled to a node (no kubelet here): the claim's protection keeps it while it exists.
    let node_name = format!("node-{}", h.ns.name);
    let nodes: Api<Node> = Api::all(h.ns.client.clone());
    nodes
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node_name}}))?,
        )
        .await?;
    let pods: Api<Pod> = h.ns.api();
    pods.create(&PostParams::default(), &serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "trainer"},
        "spec": {"nodeName": node_name, "containers": [{"name": "c", "image": "busybox", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                 "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "shared"}}]}
    }))?).await?;

    h.lvs().delete("shared", &DeleteParams::default()).await?;
    let waiting = wait_for(&h.lvs(), "shared", DEADLINE, "Ready condition naming the pod", |lv| {
        condition(lv, "Ready").is_some_and(|c| c.message.contains("trainer"))
    })
    .await?;
    assert_eq!(waiting.status.and_then(|s| s.phase), Some(lustre_api::Phase::Deleting));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.emulator.inventory().file_systems.len(), 1, "the file system is kept while a pod uses the claim");
    assert_eq!(h.emulator.calls().count("fsx", "DeleteFileSystem"), 0);

    pods.delete("trainer", &DeleteParams { grace_period_seconds: Some(0), ..Default::default() }).await?;
    gone(&h, "shared").await?;
    assert!(h.emulator.inventory().file_systems.is_empty());
    assert!(h.managed_security_groups().is_empty());
    nodes.delete(&node_name, &DeleteParams::default()).await?;
    Ok(())
}

#[tokio::test]
async fn deletion_waits_for_the_claim_to_be_gone_whatever_holds_it() -> anyhow::Result<()> {
    // Whether the claim is still in use is kube-controller-manager's decision (its pvc-protection
    // finalizer): the file system waits for the claim's absence. A claim held by another
    // finalizer (here a tenant's) keeps the file system, and the condition says which.
    let h = Harness::start("linger", emulator(Duration::from_secs(1)), OperatorOptions::default()).await?;
    h.lvs().create(&PostParams::default(), &scratch_volume("held", &h.class)).await?;
    ready(&h, "held").await?;
    let claims: Api<PersistentVolumeClaim> = h.ns.api();
    let hold = json!({"metadata": {"finalizers": ["kubernetes.io/pvc-protection", "example.com/hold"]}});
    claims.patch("held", &PatchParams::default(), &Patch::Merge(&hold)).await?;

    h.lvs().delete("held", &DeleteParams::default()).await?;
    let waiting = wait_for(&h.lvs(), "held", DEADLINE, "Ready condition naming the finalizer", |lv| {
        condition(lv, "Ready").is_some_and(|c| c.message.contains("example.com/hold"))
    })
    .await?;
    assert_eq!(waiting.status.and_then(|s| s.phase), Some(lustre_api::Phase::Deleting));
    let claim = claims.get("held").await?;
    assert!(claim.metadata.deletion_timestamp.is_some(), "the claim is being deleted");
    // kube-controller-manager released its own finalizer (no pod uses the claim); the tenant's stays.
    assert_eq!(claim.metadata.finalizers.clone().unwrap_or_default(), vec!["example.com/hold".to_string()]);
    assert_eq!(h.emulator.calls().count("fsx", "DeleteFileSystem"), 0, "kept while the claim exists");
    assert_eq!(h.emulator.inventory().file_systems.len(), 1);

    let release = json!({"metadata": {"finalizers": null}});
    claims.patch("held", &PatchParams::default(), &Patch::Merge(&release)).await?;
    testkit::wait_gone(&claims, "held", DEADLINE).await?;
    gone(&h, "held").await?;
    assert!(h.emulator.inventory().file_systems.is_empty());
    assert!(h.managed_security_groups().is_empty());
    assert_eq!(h.emulator.calls().count("fsx", "DeleteFileSystem"), 1);
    Ok(())
}

#[tokio::test]
async fn deleting_during_creating_completes_once_the_file_system_is_gone() -> anyhow::Result<()> {
    let h = Harness::start("early", emulator(Duration::from_secs(3600)), OperatorOptions::default()).await?;
    h.lvs().create(&PostParams::default(), &scratch_volume("early", &h.class)).await?;
    wait_for(&h.lvs(), "early", DEADLINE, "phase Creating with a file system ID", |lv| {
        lv.status.as_ref().is_some_and(|s| s.file_system_id.is_some() && s.phase == Some(lustre_api::Phase::Creating))
    })
    .await?;
    h.lvs().delete("early", &DeleteParams::default()).await?;
    // Whether FSx accepts a delete while CREATING is unverified; either way the volume must go.
    tokio::time::sleep(Duration::from_secs(3)).await;
    if h.lvs().get_opt("early").await?.is_some() {
        h.emulator.advance_clock(Duration::from_secs(3600));
    }
    gone(&h, "early").await?;
    assert!(h.emulator.inventory().file_systems.is_empty(), "{:?}", h.emulator.inventory().file_systems);
    assert!(h.managed_security_groups().is_empty());
    assert_eq!(h.emulator.calls().count("fsx", "CreateFileSystem"), 1);
    Ok(())
}

#[tokio::test]
async fn retain_keeps_aws_resources_and_adoption_leaves_them_untouched() -> anyhow::Result<()> {
    let h = Harness::start_with("adopt", emulator(Duration::from_secs(1)), OperatorOptions::default(), |class| {
        class.allow_retain = true
    })
    .await?;
    let mut keep = scratch_volume("keep", &h.class);
    keep.spec.deletion_policy = Some(lustre_api::DeletionPolicy::Retain);
    h.lvs().create(&PostParams::default(), &keep).await?;
    let kept = ready(&h, "keep").await?;
    let fs_id = kept.status.as_ref().and_then(|s| s.file_system_id.clone()).context("fs id")?;
    let uid = kept.metadata.uid.clone().unwrap_or_default();
    h.lvs().delete("keep", &DeleteParams::default()).await?;
    gone(&h, "keep").await?;
    let inv = h.emulator.inventory();
    assert_eq!(inv.file_systems.len(), 1, "Retain keeps the file system");
    assert_eq!(inv.file_systems[0].tags.get(tags::OWNER_UID), Some(&uid), "and its owner tag");
    assert_eq!(h.managed_security_groups().len(), 1, "Retain keeps the security group");
    assert_eq!(h.emulator.calls().count("fsx", "DeleteFileSystem"), 0);

    h.emulator.reset_calls();
    // The platform team lets this namespace adopt exactly that file system.
    h.update_class(|class| {
        class.adoption = Some(ClassAdoption {
            file_system_ids: vec![fs_id.clone()],
            namespaces: vec![h.ns.name.clone()],
            ..Default::default()
        })
    })
    .await?;
    let adopt =
        volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": "adopt"},
        "spec": {"fileSystemId": fs_id, "className": h.class, "claim": {"name": "datasets", "readOnly": true}}}));
    h.lvs().create(&PostParams::default(), &adopt).await?;
    let adopted = ready(&h, "adopt").await?;
    assert_eq!(adopted.status.as_ref().and_then(|s| s.file_system_id.as_deref()), Some(fs_id.as_str()));
    let pv = Api::<PersistentVolume>::all(h.ns.client.clone())
        .get(adopted.status.as_ref().and_then(|s| s.persistent_volume_name.as_deref()).unwrap_or_default())
        .await?;
    let spec = pv.spec.context("pv spec")?;
    assert_eq!(spec.csi.map(|c| c.volume_handle), Some(fs_id.clone()));
    assert_eq!(spec.access_modes, Some(vec!["ReadOnlyMany".to_string()]));
    assert_eq!(
        h.ns.api::<PersistentVolumeClaim>().get("datasets").await?.status.and_then(|s| s.phase).as_deref(),
        Some("Bound")
    );

    h.lvs().delete("adopt", &DeleteParams::default()).await?;
    gone(&h, "adopt").await?;
    let calls = h.emulator.calls();
    for (service, op) in [
        ("fsx", "CreateFileSystem"),
        ("fsx", "DeleteFileSystem"),
        ("fsx", "UpdateFileSystem"),
        ("ec2", "CreateSecurityGroup"),
        ("ec2", "DeleteSecurityGroup"),
        ("ec2", "AuthorizeSecurityGroupIngress"),
    ] {
        assert_eq!(calls.count(service, op), 0, "adoption must not call {op}");
    }
    assert_eq!(h.emulator.inventory().file_systems.len(), 1, "the adopted file system stays");
    Ok(())
}

#[tokio::test]
async fn growing_capacity_updates_the_file_system_and_the_volume() -> anyhow::Result<()> {
    let h = Harness::start("grow", emulator(Duration::from_secs(1)), OperatorOptions::default()).await?;
    h.lvs().create(&PostParams::default(), &scratch_volume("grow", &h.class)).await?;
    ready(&h, "grow").await?;
    h.lvs()
        .patch(
            "grow",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&json!({"spec": {"storageCapacityGiB": 2400}})),
        )
        .await?;
    let grown = wait_for(&h.lvs(), "grow", DEADLINE, "capacity 2400 and Ready", |lv| {
        is_ready(lv) && lv.status.as_ref().and_then(|s| s.capacity_gib) == Some(2400)
    })
    .await
    .with_context(|| h.operator_log())?;
    assert_eq!(h.emulator.calls().count_outcome("fsx", "UpdateFileSystem", "ok"), 1);
    assert_eq!(h.emulator.inventory().file_systems[0].storage_capacity, 2400);
    assert_eq!(grown.status.as_ref().and_then(|s| s.observed_generation), grown.metadata.generation);
    let pv_name = grown.status.and_then(|s| s.persistent_volume_name).context("pv")?;
    let pv =
        wait_for(&Api::<PersistentVolume>::all(h.ns.client.clone()), &pv_name, DEADLINE, "PV capacity 2400Gi", |pv| {
            pv.spec.as_ref().and_then(|s| s.capacity.as_ref()).and_then(|c| c.get("storage")).map(|q| q.0.as_str())
                == Some("2400Gi")
        })
        .await?;
    assert_eq!(
        pv.spec.and_then(|s| s.csi).map(|c| c.volume_handle),
        Some(h.emulator.inventory().file_systems[0].id.clone())
    );
    Ok(())
}
