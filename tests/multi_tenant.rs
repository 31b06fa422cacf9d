//! End to end, the way the operator runs: ONE operator process watching ALL namespaces, one AWS
//! account (the emulator), several tenant namespaces each with its own LustreClass (selected by a
//! namespace label), and inputs a tenant should not get away with.
//!
//! An operator watching every namespace sees every LustreVolume of this test binary's control
//! plane, so these tests live in their own binary and run one at a time: each [`Cluster`] holds
//! a process-wide lock until it is dropped, and dropping it removes everything its tenants left
//! (see `testkit::cluster`). Unless a test says otherwise the operator keeps the default resync
//! (300 s), so a stable volume makes no AWS call and "no AWS call for the refused volume" can be
//! measured on the shared account's call counter.

use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use lustre_api::class::ClassAdoption;
use lustre_api::{tags, LustreVolume, Phase};
use serde_json::json;
use testkit::volumes::{condition, emulator, is_ready, scratch_volume, volume, DEADLINE};
use testkit::{wait_for, wait_gone, wait_until, Cluster, OperatorOptions, Tenant};

/// Waits for Ready=True on a tenant's volume; a failure carries the operator's log.
async fn ready(c: &Cluster, t: &Tenant, name: &str) -> anyhow::Result<LustreVolume> {
    wait_for(&t.lvs(), name, DEADLINE, "condition Ready=True", is_ready)
        .await
        .with_context(|| format!("operator log:\n{}", c.operator_log()))
}

/// Waits for Ready=False with `reason`; returns the volume and the condition's message.
async fn refused(c: &Cluster, t: &Tenant, name: &str, reason: &str) -> anyhow::Result<(LustreVolume, String)> {
    let lv = wait_for(&t.lvs(), name, DEADLINE, &format!("Ready=False {reason}"), |lv| {
        condition(lv, "Ready").is_some_and(|c| c.status == "False" && c.reason == reason)
    })
    .await
    .with_context(|| format!("operator log:\n{}", c.operator_log()))?;
    let message = condition(&lv, "Ready").map(|c| c.message.clone()).unwrap_or_default();
    Ok((lv, message))
}

/// A LustreVolume of `class` with `spec` merged over a SCRATCH_2 1200 GiB spec.
fn volume_with(name: &str, class: &str, spec: serde_json::Value) -> LustreVolume {
    let mut v = json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": name},
                       "spec": {"storageCapacityGiB": 1200, "className": class}});
    if let (Some(base), serde_json::Value::Object(extra)) = (v["spec"].as_object_mut(), spec) {
        base.extend(extra);
    }
    volume(v)
}

fn uid(lv: &LustreVolume) -> String {
    lv.metadata.uid.clone().unwrap_or_default()
}

/// PVs the operator labelled for volumes of `namespace`.
async fn pvs_of(c: &Cluster, namespace: &str) -> anyhow::Result<Vec<PersistentVolume>> {
    let selected = ListParams::default().labels(&format!("{}={namespace}", tags::LABEL_OWNER_NAMESPACE));
    Ok(Api::<PersistentVolume>::all(c.client.clone()).list(&selected).await?.items)
}

#[tokio::test]
async fn adopting_another_tenants_live_file_system_is_refused_and_shows_nothing_of_it() -> anyhow::Result<()> {
    let c = Cluster::start("adopt", 2, emulator(Duration::from_secs(1)), OperatorOptions::default(), |_, _| {}).await?;
    let (a, b) = (c.tenant(0), c.tenant(1));
    a.lvs().create(&PostParams::default(), &scratch_volume("data", &a.class)).await?;
    let data = ready(&c, a, "data").await?;
    let fs_id = data.status.as_ref().and_then(|s| s.file_system_id.clone()).context("A's file system")?;

    // B's class lets B adopt exactly that file system: only "no other live volume owns it" is left.
    c.update_class(1, |class| {
        class.adoption = Some(ClassAdoption {
            file_system_ids: vec![fs_id.clone()],
            namespaces: vec![b.ns.clone()],
            ..Default::default()
        })
    })
    .await?;
    let steal = volume_with("steal", &b.class, json!({"fileSystemId": fs_id, "storageCapacityGiB": null}));
    b.lvs().create(&PostParams::default(), &steal).await?;
    let (stolen, message) = refused(&c, b, "steal", "AdoptionRefused").await?;
    assert!(message.contains("belongs to another LustreVolume"), "{message}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stolen = b.lvs().get("steal").await.unwrap_or(stolen);
    let st = stolen.status.clone().unwrap_or_default();
    assert_eq!(st.file_system_id, None, "B's status shows nothing of A's file system: {st:?}");
    assert_eq!(st.dns_name, None, "{st:?}");
    assert_eq!(st.mount_name, None, "{st:?}");
    assert_eq!(st.persistent_volume_name, None, "{st:?}");
    assert!(pvs_of(&c, &b.ns).await?.is_empty(), "B got a PV");
    assert!(b.api::<PersistentVolumeClaim>().list(&ListParams::default()).await?.items.is_empty(), "B got a claim");
    // A is untouched and still served.
    let data = ready(&c, a, "data").await?;
    assert_eq!(data.status.as_ref().and_then(|s| s.file_system_id.as_deref()), Some(fs_id.as_str()));
    assert_eq!(c.file_systems_of(&uid(&data)).len(), 1, "A's file system still carries A's owner tag");
    b.lvs().delete("steal", &DeleteParams::default()).await?;
    wait_gone(&b.lvs(), "steal", DEADLINE).await.with_context(|| c.operator_log())?;
    assert_eq!(c.inventory().file_systems.len(), 1, "deleting the refused adoption deleted nothing");

    // Adoption a class does not allow (A's class has no `adoption`; the admission policy is not
    // installed here): the operator refuses it before any AWS call.
    let before = c.calls().total();
    let own = volume_with("own", &a.class, json!({"fileSystemId": fs_id, "storageCapacityGiB": null}));
    a.lvs().create(&PostParams::default(), &own).await?;
    let (_, message) = refused(&c, a, "own", "ClassRejected").await?;
    assert!(message.contains("does not allow adopting file systems"), "{message}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(c.calls().total(), before, "a refused adoption makes no AWS call: {:?}", c.calls());
    Ok(())
}

#[tokio::test]
async fn a_volume_the_operator_cannot_parse_is_reported_and_the_others_go_on() -> anyhow::Result<()> {
    let mut c =
        Cluster::start("parse", 3, emulator(Duration::from_secs(1)), OperatorOptions::default(), |_, _| {}).await?;
    for i in 0..2 {
        let t = c.tenant(i);
        t.lvs().create(&PostParams::default(), &scratch_volume("before", &t.class)).await?;
        ready(&c, t, "before").await?;
    }

    // Store a volume the operator's types cannot hold: the CRD without its int32 maximum for a
    // moment (a schema change, say), a capacity above i32::MAX that passes the CEL step rule.
    // The operator is down meanwhile, so the volume is in its very first list when it starts
    // (where one bad object would fail a typed watch as a whole).
    c.kill_operator();
    let mut crd = serde_json::to_value(lustre_api::crd())?;
    let capacity = &mut crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        ["storageCapacityGiB"];
    capacity.as_object_mut().context("storageCapacityGiB schema")?.remove("maximum").context("a maximum")?;
    testkit::apply_crd(&c.client, &crd).await?;
    let bad: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": "huge"},
        "spec": {"storageCapacityGiB": 2_147_484_000_u64, "className": c.tenant(2).class}
    }))?;
    let created = c.tenant(2).raw_lvs().create(&PostParams::default(), &bad).await;
    testkit::install_crds(&c.client).await?;
    created.context("creating the unparseable volume")?;

    c.start_operator().await?;
    let port = c.operator.as_ref().context("operator")?.metrics_port;
    assert_eq!(testkit::http_status(port, "/readyz").await, Some(200), "ready despite the unparseable volume");
    let events: Api<Event> = c.tenant(2).api();
    wait_until(DEADLINE, "a CannotParse Warning event on huge", || {
        let events = events.clone();
        async move {
            let list = events.list(&ListParams::default()).await.map_err(|e| e.to_string())?;
            let found = list.items.iter().any(|e| {
                e.reason.as_deref() == Some("CannotParse")
                    && e.type_.as_deref() == Some("Warning")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("huge")
            });
            Ok(found)
        }
    })
    .await
    .with_context(|| c.operator_log())?;

    // Both other tenants are still reconciled: their volumes stay ready, new ones are served.
    for i in 0..2 {
        let t = c.tenant(i);
        ready(&c, t, "before").await?;
        t.lvs().create(&PostParams::default(), &scratch_volume("after", &t.class)).await?;
        let after = ready(&c, t, "after").await?;
        let st = after.status.clone().unwrap_or_default();
        assert_eq!(st.phase, Some(Phase::Available), "{st:?}");
        assert_eq!(st.claim_phase.as_deref(), Some("Bound"), "{st:?}");
    }
    let huge = c.tenant(2).raw_lvs().get("huge").await?;
    assert!(huge.metadata.finalizers.unwrap_or_default().is_empty(), "the skipped volume was not touched");
    assert!(huge.data.get("status").is_none_or(serde_json::Value::is_null), "nor given a status");
    assert_eq!(c.inventory().file_systems.len(), 4, "nothing was created for the unparseable volume");
    Ok(())
}

#[tokio::test]
async fn the_managed_group_admits_exactly_the_class_sources() -> anyhow::Result<()> {
    // Rules are re-checked at resync only: 5 s instead of 300 s so the test sees the revocation.
    let options = OperatorOptions { resync_secs: 5, poll_interval_secs: 1, ..Default::default() };
    let c = Cluster::start("rules", 2, emulator(Duration::from_secs(1)), options, |i, class| {
        if i == 0 {
            class.network.client_cidrs = vec!["10.20.0.0/16".into()];
        }
    })
    .await?;
    let (a, b) = (c.tenant(0), c.tenant(1));
    a.lvs().create(&PostParams::default(), &scratch_volume("data", &a.class)).await?;
    b.lvs().create(&PostParams::default(), &scratch_volume("data", &b.class)).await?;
    let sg_a = ready(&c, a, "data").await?.status.and_then(|s| s.security_group_id).context("A's group")?;
    let sg_b = ready(&c, b, "data").await?.status.and_then(|s| s.security_group_id).context("B's group")?;
    let rules = |sg: &str| -> Vec<(i32, i32, Option<String>, Option<String>)> {
        let mut r: Vec<_> = c
            .inventory()
            .security_group(sg)
            .map(|g| {
                g.ingress.iter().map(|r| (r.from_port, r.to_port, r.source_group_id.clone(), r.cidr.clone())).collect()
            })
            .unwrap_or_default();
        r.sort();
        r
    };
    let mut expected_a = vec![
        (988, 988, Some(sg_a.clone()), None),
        (988, 988, None, Some("10.20.0.0/16".to_string())),
        (1018, 1023, Some(sg_a.clone()), None),
        (1018, 1023, None, Some("10.20.0.0/16".to_string())),
    ];
    expected_a.sort();
    assert_eq!(rules(&sg_a), expected_a, "A's group admits its class's sources");
    let rules_b = rules(&sg_b);

    // Someone opens A's group to the world by hand.
    c.ec2()
        .await
        .authorize_security_group_ingress()
        .group_id(&sg_a)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(988)
                .to_port(988)
                .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await?;
    assert!(rules(&sg_a).iter().any(|r| r.3.as_deref() == Some("0.0.0.0/0")), "the extra rule is in place");
    wait_until(DEADLINE, "the 0.0.0.0/0 rule to be revoked", || {
        let open = rules(&sg_a).iter().any(|r| r.3.as_deref() == Some("0.0.0.0/0"));
        async move {
            if open {
                Err("still open".to_string())
            } else {
                Ok(true)
            }
        }
    })
    .await
    .with_context(|| c.operator_log())?;
    assert!(c.calls().count_outcome("ec2", "RevokeSecurityGroupIngress", "ok") >= 1, "{:?}", c.calls());
    assert_eq!(rules(&sg_a), expected_a, "exactly the class's rules remain");
    assert_eq!(rules(&sg_b), rules_b, "B's group is untouched");

    // A class that would open its groups to everyone is refused at admission.
    let mut open = c.classes().get(&a.class).await?;
    open.metadata = kube::api::ObjectMeta { name: Some(format!("{}-open", a.class)), ..Default::default() };
    open.status = None;
    open.spec.network.client_cidrs = vec!["0.0.0.0/0".into()];
    match c.classes().create(&PostParams::default(), &open).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 422, "{s:?}");
            assert!(s.message.contains("no wider than /8"), "{}", s.message);
        }
        other => panic!("a class with clientCidrs 0.0.0.0/0 was not refused: {other:?}"),
    }
    let widened = c.update_class(0, |class| class.network.client_cidrs = vec!["0.0.0.0/0".into()]).await;
    assert!(widened.is_err_and(|e| format!("{e:#}").contains("no wider than /8")), "nor can a class be widened to it");
    Ok(())
}

#[tokio::test]
async fn s3_paths_outside_the_prefix_and_namespace_quota_overruns_cost_no_aws_calls() -> anyhow::Result<()> {
    let c = Cluster::start("limits", 2, emulator(Duration::from_secs(1)), OperatorOptions::default(), |i, class| {
        if i == 0 {
            class.limits.max_capacity_gib_per_namespace = Some(2400);
            class.limits.max_volumes_per_namespace = Some(1);
        } else {
            class.s3_prefixes = vec!["s3://ml-data/${namespace}/".into()];
        }
    })
    .await?;
    let (a, b) = (c.tenant(0), c.tenant(1));
    a.lvs().create(&PostParams::default(), &scratch_volume("first", &a.class)).await?;
    ready(&c, a, "first").await?;
    let before = c.calls().total();

    let second = volume_with("second", &a.class, json!({"storageCapacityGiB": 2400}));
    let theirs = volume_with("theirs", &b.class, json!({"s3": {"importPath": format!("s3://ml-data/{}/train", a.ns)}}));
    let climb = volume_with(
        "climb",
        &b.class,
        json!({"s3": {"importPath": format!("s3://ml-data/{}/../{}/train", b.ns, a.ns)}}),
    );
    a.lvs().create(&PostParams::default(), &second).await?;
    b.lvs().create(&PostParams::default(), &theirs).await?;
    b.lvs().create(&PostParams::default(), &climb).await?;

    let (_, message) = refused(&c, a, "second", "ClassRejected").await?;
    assert!(message.contains("over its quota of 2400 GiB"), "the capacity quota is named: {message}");
    assert!(message.contains("its limit is 1"), "the volume quota is named: {message}");
    for name in ["theirs", "climb"] {
        let (_, message) = refused(&c, b, name, "ClassRejected").await?;
        assert!(message.contains("is outside what LustreClass"), "{name}: {message}");
        assert!(message.contains(&format!("s3://ml-data/{}/", b.ns)), "{name}: names B's prefix: {message}");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(c.calls().total(), before, "refused volumes make no AWS call: {:?}", c.calls());
    assert_eq!(c.inventory().file_systems.len(), 1, "only the first volume has a file system");
    assert!(ready(&c, a, "first").await.is_ok(), "the volume within the quota is unaffected");
    Ok(())
}

#[tokio::test]
async fn a_claim_name_taken_by_the_tenant_is_reported_and_never_touched() -> anyhow::Result<()> {
    let c = Cluster::start("claim", 2, emulator(Duration::from_secs(1)), OperatorOptions::default(), |_, _| {}).await?;
    let a = c.tenant(0);
    let claims: Api<PersistentVolumeClaim> = a.api();
    let mine: PersistentVolumeClaim = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "shared"},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": format!("by-hand-{}", a.ns),
                 "resources": {"requests": {"storage": "1Gi"}}}
    }))?;
    let mine = claims.create(&PostParams::default(), &mine).await?;
    a.lvs().create(&PostParams::default(), &volume_with("vol", &a.class, json!({"claim": {"name": "shared"}}))).await?;
    let (_, message) = refused(&c, a, "vol", "OwnershipConflict").await?;
    assert!(message.contains("shared") && message.contains("not owned by this LustreVolume"), "{message}");

    tokio::time::sleep(Duration::from_secs(3)).await;
    let now = claims.get("shared").await?;
    assert_eq!(now.metadata.uid, mine.metadata.uid, "the same claim");
    assert_eq!(now.metadata.resource_version, mine.metadata.resource_version, "not written at all");
    assert!(now.metadata.owner_references.unwrap_or_default().is_empty(), "no owner reference added");
    assert_eq!(now.status.and_then(|s| s.phase).as_deref(), Some("Pending"), "still unbound");
    assert_eq!(now.spec.and_then(|s| s.volume_name), None, "no volume named in it");
    let bound_to_it = Api::<PersistentVolume>::all(c.client.clone())
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|pv| {
            pv.spec
                .as_ref()
                .and_then(|s| s.claim_ref.as_ref())
                .is_some_and(|r| r.namespace.as_deref() == Some(a.ns.as_str()) && r.name.as_deref() == Some("shared"))
        })
        .count();
    assert_eq!(bound_to_it, 0, "no PV names the foreign claim");
    Ok(())
}

#[tokio::test]
async fn changing_claim_read_only_recreates_the_pv_and_claim_read_only() -> anyhow::Result<()> {
    let c =
        Cluster::start("readonly", 2, emulator(Duration::from_secs(1)), OperatorOptions::default(), |_, _| {}).await?;
    let a = c.tenant(0);
    a.lvs().create(&PostParams::default(), &scratch_volume("data", &a.class)).await?;
    let lv = ready(&c, a, "data").await?;
    let pv_name = lv.status.as_ref().and_then(|s| s.persistent_volume_name.clone()).context("PV name")?;
    let claims: Api<PersistentVolumeClaim> = a.api();
    let old_claim = claims.get("data").await?.metadata.uid;

    a.lvs()
        .patch("data", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"claim": {"readOnly": true}}})))
        .await?;
    let pvs: Api<PersistentVolume> = Api::all(c.client.clone());
    let pv = wait_for(&pvs, &pv_name, DEADLINE, "a read-only PV", |pv| {
        let spec = pv.spec.clone().unwrap_or_default();
        pv.metadata.deletion_timestamp.is_none()
            && spec.csi.as_ref().and_then(|c| c.read_only) == Some(true)
            && spec.access_modes == Some(vec!["ReadOnlyMany".to_string()])
    })
    .await
    .with_context(|| c.operator_log())?;
    let claim = wait_for(&claims, "data", DEADLINE, "a new read-only claim, Bound", |claim| {
        claim.metadata.uid != old_claim
            && claim.spec.as_ref().and_then(|s| s.access_modes.clone()) == Some(vec!["ReadOnlyMany".to_string()])
            && claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
    })
    .await
    .with_context(|| c.operator_log())?;
    let lv = ready(&c, a, "data").await?;
    assert_eq!(lv.status.as_ref().and_then(|s| s.claim_phase.as_deref()), Some("Bound"));
    let claim_ref = pv.spec.and_then(|s| s.claim_ref).context("the PV names its claim")?;
    let pv_now = pvs.get(&pv_name).await?;
    let bound = pv_now.spec.and_then(|s| s.claim_ref).and_then(|r| r.uid);
    assert_eq!(bound, claim.metadata.uid, "the PV is bound to the new claim");
    assert_eq!(claim_ref.name.as_deref(), Some("data"));
    assert_eq!(c.inventory().file_systems.len(), 1, "the file system is kept");
    Ok(())
}

#[tokio::test]
async fn a_permanent_aws_error_is_reported_with_what_to_change_and_not_retried() -> anyhow::Result<()> {
    // The account may hold one file system: A's takes it, B's CreateFileSystem meets the quota.
    let config = aws_emulator::EmulatorConfig { file_system_quota: 1, ..emulator(Duration::from_secs(1)) };
    let c = Cluster::start("quota", 2, config, OperatorOptions::default(), |_, _| {}).await?;
    let (a, b) = (c.tenant(0), c.tenant(1));
    a.lvs().create(&PostParams::default(), &scratch_volume("data", &a.class)).await?;
    ready(&c, a, "data").await?;
    b.lvs().create(&PostParams::default(), &scratch_volume("data", &b.class)).await?;
    let (lv, message) = refused(&c, b, "data", "AwsRefused").await?;
    assert!(message.contains("quota"), "the message says what to change: {message}");
    assert!(message.contains("ServiceLimitExceeded") || message.contains("limit"), "{message}");
    assert_eq!(lv.status.as_ref().and_then(|s| s.file_system_id.clone()), None);

    let refused_calls = || c.calls().count_outcome("fsx", "CreateFileSystem", "ServiceLimitExceeded");
    let at_refusal = refused_calls();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let total = refused_calls();
    assert!(
        total <= 2 && total - at_refusal <= 1,
        "no retry storm: {total} refused CreateFileSystem calls ({at_refusal} by the refusal)\n{}",
        c.operator_log()
    );
    assert_eq!(c.inventory().file_systems.len(), 1, "only A's file system");
    ready(&c, a, "data").await?;
    Ok(())
}

#[tokio::test]
async fn no_tenant_can_block_anothers_deletion_or_name_its_network() -> anyhow::Result<()> {
    let c = Cluster::start("apart", 2, emulator(Duration::from_secs(1)), OperatorOptions::default(), |_, _| {}).await?;
    let (a, b) = (c.tenant(0), c.tenant(1));
    assert_ne!(a.subnet_id, b.subnet_id, "the tenants' classes use different subnets");
    a.lvs().create(&PostParams::default(), &scratch_volume("data", &a.class)).await?;
    let a_lv = ready(&c, a, "data").await?;
    let a_uid = uid(&a_lv);
    let sg_a = a_lv.status.as_ref().and_then(|s| s.security_group_id.clone()).context("A's group")?;

    // B names A's subnet and group: a LustreVolume has no network field, so it is pruned.
    let sneaky: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": "data"},
        "spec": {"storageCapacityGiB": 1200, "className": b.class,
                 "network": {"subnetId": a.subnet_id, "securityGroupIds": [sg_a]}}
    }))?;
    let stored = b.raw_lvs().create(&PostParams::default(), &sneaky).await?;
    assert!(stored.data["spec"].get("network").is_none(), "the apiserver pruned spec.network: {:?}", stored.data);
    let b_lv = ready(&c, b, "data").await?;
    let b_uid = uid(&b_lv);
    let b_fs = c.file_systems_of(&b_uid);
    assert_eq!(b_fs.len(), 1);
    let b_groups = c.security_groups_of(&b_uid);
    assert_eq!(b_groups.len(), 1, "B has its own managed group");
    assert_eq!(b_fs[0].subnet_id, b.subnet_id, "B's file system is in B's class subnet");
    assert_eq!(b_fs[0].security_group_ids, vec![b_groups[0].id.clone()], "and only in B's group");
    assert!(!b_fs[0].security_group_ids.contains(&sg_a));

    // A deletes while B is live: everything of A goes, nothing of B.
    a.lvs().delete("data", &DeleteParams::default()).await?;
    wait_gone(&a.lvs(), "data", DEADLINE).await.with_context(|| c.operator_log())?;
    assert!(c.file_systems_of(&a_uid).is_empty(), "A's file system is gone: {:?}", c.inventory().file_systems);
    assert!(c.security_groups_of(&a_uid).is_empty(), "A's group is gone");
    assert!(c.inventory().security_group(&sg_a).is_none());
    assert!(pvs_of(&c, &a.ns).await?.is_empty(), "A's PV is gone");
    assert_eq!(c.file_systems_of(&b_uid).len(), 1, "B's file system stays");
    assert_eq!(c.security_groups_of(&b_uid).len(), 1, "B's group stays");
    let b_lv = ready(&c, b, "data").await?;
    assert_eq!(b_lv.status.and_then(|s| s.phase), Some(Phase::Available));
    Ok(())
}

#[tokio::test]
async fn a_volume_naming_no_class_gets_the_one_default_class() -> anyhow::Result<()> {
    // Safe to mark a default here: this binary runs one cluster at a time.
    let c =
        Cluster::start("default", 2, emulator(Duration::from_secs(1)), OperatorOptions::default(), |_, _| {}).await?;
    let (a, b) = (c.tenant(0), c.tenant(1));
    let mark_default = |name: &str, on: bool| {
        let classes = c.classes();
        let name = name.to_string();
        async move {
            let value = if on { json!("true") } else { serde_json::Value::Null };
            let patch = json!({"metadata": {"annotations": {lustre_api::class::DEFAULT_CLASS_ANNOTATION: value}}});
            classes.patch(&name, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(&patch)).await
        }
    };
    let without_class = |name: &str| -> anyhow::Result<LustreVolume> {
        Ok(serde_json::from_value(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume",
                                          "metadata": {"name": name}, "spec": {"storageCapacityGiB": 1200}}))?)
    };

    // No default yet: refused, nothing in AWS.
    let before = c.calls().total();
    a.lvs().create(&PostParams::default(), &without_class("plain")?).await?;
    let (_, message) = refused(&c, a, "plain", "ClassNotFound").await?;
    assert!(message.contains("no LustreClass is marked default"), "{message}");

    // A's class becomes the default: the volume is made in A's class subnet.
    mark_default(&a.class, true).await?;
    let lv = ready(&c, a, "plain").await?;
    let uid = lv.metadata.uid.clone().unwrap_or_default();
    let fs = c.file_systems_of(&uid);
    assert_eq!(fs.len(), 1, "one file system for the volume");
    assert_eq!(fs[0].subnet_id, a.subnet_id, "the default class's subnet");
    assert!(c.calls().total() > before);

    // Two defaults: a new volume without a class is refused with both named, and costs nothing.
    mark_default(&b.class, true).await?;
    let before = c.calls().total();
    a.lvs().create(&PostParams::default(), &without_class("ambiguous")?).await?;
    let (_, message) = refused(&c, a, "ambiguous", "ClassNotFound").await?;
    assert!(message.contains("2 LustreClasses are marked default"), "{message}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during = c.calls().total() - before;
    assert_eq!(during, 0, "no AWS call for a volume without a usable class");
    mark_default(&a.class, false).await?;
    mark_default(&b.class, false).await?;
    Ok(())
}

/// When kube-controller-manager last wrote the claim's status (its managed-fields entry: the
/// binder's own record of the write that made the claim Bound), in whole seconds.
fn bound_at(claim: &PersistentVolumeClaim) -> Option<i64> {
    claim
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| {
            m.manager.as_deref() == Some("kube-controller-manager") && m.subresource.as_deref() == Some("status")
        })
        .filter_map(|m| m.time.as_ref().map(|t| t.0.as_second()))
        .max()
}

#[tokio::test]
async fn claims_bind_the_standard_way_within_moments_and_never_to_another_namespace() -> anyhow::Result<()> {
    // kube-controller-manager runs at its defaults (15 s claim sync). The operator creates each
    // claim without volumeName, then the PV pre-bound to it by claimRef with the claim's UID; the
    // PV controller, woken by the PV, binds the pair at once. 20 volumes over two tenants.
    let c = Cluster::start("bind", 3, emulator(Duration::from_secs(1)), OperatorOptions::default(), |_, _| {}).await?;
    let (a, b, thief) = (c.tenant(0), c.tenant(1), c.tenant(2));
    let mut first_uid = None;
    for i in 0..10 {
        for t in [a, b] {
            let lv = t.lvs().create(&PostParams::default(), &scratch_volume(&format!("v{i}"), &t.class)).await?;
            first_uid.get_or_insert(uid(&lv));
        }
    }
    // A hostile tenant names the first volume's PV in a claim of its own before that PV exists
    // (the PV's name is public: lustre-<the volume's UID>).
    let target_pv = format!("lustre-{}", first_uid.context("uid")?);
    let foreign: PersistentVolumeClaim = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "grab"},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": target_pv, "volumeName": target_pv,
                 "resources": {"requests": {"storage": "1Gi"}}}
    }))?;
    thief.api::<PersistentVolumeClaim>().create(&PostParams::default(), &foreign).await?;

    let pvs: Api<PersistentVolume> = Api::all(c.client.clone());
    let mut delays = Vec::new();
    for i in 0..10 {
        for t in [a, b] {
            let name = format!("v{i}");
            let lv = ready(&c, t, &name).await?;
            assert_eq!(lv.status.as_ref().and_then(|s| s.claim_phase.as_deref()), Some("Bound"), "{name}");
            let claim = t.api::<PersistentVolumeClaim>().get(&name).await?;
            let pv_name = lv.status.as_ref().and_then(|s| s.persistent_volume_name.clone()).context("PV")?;
            let pv = pvs.get(&pv_name).await?;
            let claim_ref = pv.spec.as_ref().and_then(|s| s.claim_ref.clone()).context("claimRef")?;
            assert_eq!(claim_ref.uid, claim.metadata.uid, "{name}: the PV is pre-bound to the claim by UID");
            assert_eq!(claim_ref.namespace.as_deref(), Some(t.ns.as_str()));
            assert_eq!(claim.spec.as_ref().and_then(|s| s.volume_name.as_deref()), Some(pv_name.as_str()));
            let ours = claim
                .metadata
                .managed_fields
                .iter()
                .flatten()
                .filter(|m| m.manager.as_deref() == Some("lustre-operator"))
                .count();
            assert_eq!(
                ours, 1,
                "{name}: the operator wrote the claim once, at creation: {:?}",
                claim.metadata.managed_fields
            );
            let created = pv.metadata.creation_timestamp.as_ref().context("PV created")?.0.as_second();
            delays.push(bound_at(&claim).context("the binder's status write")? - created);
        }
    }
    // What this proves is the mechanism, not a speed (speed is the bench's job, where the binder's
    // part is a percentile): the PV wakes the binder, which binds at once. Were binding left to the
    // default 15 s claim sync, each delay would fall anywhere in 0-15 s, and all 20 under 10 s
    // would happen about 3 times in 10,000 (2/3 to the 20th). Both stamps are whole seconds, so a
    // 2.1 s bind on a loaded machine reads as 3; the figures are printed for the record.
    eprintln!("seconds from PV creation to Bound: {delays:?}");
    assert!(delays.iter().all(|d| (0..10).contains(d)), "seconds from PV creation to Bound: {delays:?}");

    // The hostile claim never binds the PV, and the PV still names its own claim.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let grab = thief.api::<PersistentVolumeClaim>().get("grab").await?;
    assert_eq!(grab.status.and_then(|s| s.phase).as_deref(), Some("Pending"), "the foreign claim stays unbound");
    let pv = pvs.get(&target_pv).await?;
    let claim_ref = pv.spec.and_then(|s| s.claim_ref).context("claimRef")?;
    assert_ne!(claim_ref.namespace.as_deref(), Some(thief.ns.as_str()), "the PV never names the foreign claim");
    assert_eq!(pv.status.and_then(|s| s.phase).as_deref(), Some("Bound"));
    Ok(())
}
