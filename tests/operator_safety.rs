//! End to end: crash safety (SIGKILL at the worst moments), status loss, drift (file system
//! deleted behind our back, PV/claim/rule deleted), and invalid specs that must cost nothing.

use std::time::Duration;

use anyhow::Context as _;
use aws_emulator::Fault;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use lustre_api::Phase;
use serde_json::json;
use testkit::volumes::{condition, emulator, is_ready, ready, scratch_volume, volume, DEADLINE};
use testkit::{wait_for, wait_gone, wait_until, Harness, OperatorOptions};

/// Waits until the emulator's inventory satisfies `pred`.
async fn inventory_until(
    h: &Harness,
    what: &str,
    pred: impl Fn(&aws_emulator::Inventory) -> bool,
) -> anyhow::Result<()> {
    wait_until(DEADLINE, what, || {
        let inv = h.emulator.inventory();
        let ok = pred(&inv);
        async move {
            if ok {
                Ok(true)
            } else {
                Err(format!("{} file systems, {} security groups", inv.file_systems.len(), inv.security_groups.len()))
            }
        }
    })
    .await
}

#[tokio::test]
async fn killed_after_create_file_system_is_applied_restarts_without_a_second_file_system() -> anyhow::Result<()> {
    let mut h = Harness::start("crashfs", emulator(Duration::from_secs(1)), OperatorOptions::default()).await?;
    // The file system is created but the answer is held back: the operator never learns its ID.
    h.emulator.set_fault("CreateFileSystem", Fault::delay_after_apply(Duration::from_secs(120)).times(1));
    h.lvs().create(&PostParams::default(), &scratch_volume("crash", &h.class)).await?;
    inventory_until(&h, "the file system to exist", |inv| inv.file_systems.len() == 1).await?;
    h.kill_operator();
    let lv = h.lvs().get("crash").await?;
    assert!(lv.status.as_ref().and_then(|s| s.file_system_id.as_ref()).is_none(), "the ID never reached status");
    h.emulator.clear_faults();
    h.start_operator().await?;
    let lv = ready(&h, "crash").await?;
    let inv = h.emulator.inventory();
    assert_eq!(inv.file_systems.len(), 1, "still exactly one file system");
    assert_eq!(lv.status.and_then(|s| s.file_system_id), Some(inv.file_systems[0].id.clone()));
    assert_eq!(
        h.emulator.calls().count("fsx", "CreateFileSystem"),
        1,
        "the restarted operator found it by tag instead of creating"
    );
    assert_eq!(h.managed_security_groups().len(), 1);
    Ok(())
}

#[tokio::test]
async fn killed_after_create_security_group_restarts_without_a_second_group() -> anyhow::Result<()> {
    let mut h = Harness::start("crashsg", emulator(Duration::from_secs(1)), OperatorOptions::default()).await?;
    h.emulator.set_fault("CreateSecurityGroup", Fault::delay_after_apply(Duration::from_secs(120)).times(1));
    h.lvs().create(&PostParams::default(), &scratch_volume("crash", &h.class)).await?;
    let default_sg = h.emulator.seed().default_security_group_id;
    inventory_until(&h, "the security group to exist", move |inv| {
        inv.security_groups.iter().any(|g| g.id != default_sg)
    })
    .await?;
    h.kill_operator();
    h.emulator.clear_faults();
    h.start_operator().await?;
    ready(&h, "crash").await?;
    assert_eq!(h.managed_security_groups().len(), 1, "still exactly one security group");
    assert_eq!(h.emulator.calls().count("ec2", "CreateSecurityGroup"), 1);
    assert_eq!(h.emulator.inventory().file_systems.len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_restart_rewrites_nothing_and_creates_nothing() -> anyhow::Result<()> {
    let mut h = Harness::start("restart", emulator(Duration::from_secs(1)), OperatorOptions::default()).await?;
    let names: Vec<String> = (0..6).map(|i| format!("vol-{i}")).collect();
    for name in &names {
        h.lvs().create(&PostParams::default(), &scratch_volume(name, &h.class)).await?;
    }
    let mut versions = Vec::new();
    for name in &names {
        versions.push(ready(&h, name).await?.metadata.resource_version);
    }
    h.kill_operator();
    h.emulator.reset_calls();
    h.start_operator().await?;
    // Every volume looked at once by the new process, then a moment for anything it set off.
    let op = h.operator.as_ref().context("operator")?;
    wait_until(DEADLINE, "the restarted operator to reconcile every volume", || async {
        let done = testkit::metric_sum(&op.metrics().await, "lustre_operator_reconciles_total");
        if done >= names.len() as f64 {
            Ok(true)
        } else {
            Err(format!("{done} reconciles"))
        }
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (name, before) in names.iter().zip(&versions) {
        let now = h.lvs().get(name).await?;
        // A volume judged before the class cache had its first list would be written
        // ClassNotFound, then Ready again.
        assert_eq!(&now.metadata.resource_version, before, "{name} was rewritten: {:?}", now.status);
    }
    let calls = h.emulator.calls();
    assert_eq!(calls.count("fsx", "CreateFileSystem") + calls.count("ec2", "CreateSecurityGroup"), 0);
    assert!(calls.total() <= 4, "one batched look at the file systems and groups, not one per volume: {calls:?}");
    Ok(())
}

#[tokio::test]
async fn wiped_status_comes_back_with_the_same_ids_and_no_create_calls() -> anyhow::Result<()> {
    let mut h = Harness::start("wipe", emulator(Duration::from_secs(1)), OperatorOptions::default()).await?;
    h.lvs().create(&PostParams::default(), &scratch_volume("wipe", &h.class)).await?;
    let before = ready(&h, "wipe").await?.status.context("status")?;
    h.kill_operator();
    h.lvs().patch_status("wipe", &PatchParams::default(), &Patch::Merge(&json!({"status": null}))).await?;
    assert!(h.lvs().get("wipe").await?.status.and_then(|s| s.file_system_id).is_none(), "status was wiped");
    h.emulator.reset_calls();
    h.start_operator().await?;
    let after = ready(&h, "wipe").await?.status.context("status")?;
    assert_eq!(after.file_system_id, before.file_system_id);
    assert_eq!(after.security_group_id, before.security_group_id);
    assert_eq!(after.persistent_volume_name, before.persistent_volume_name);
    let calls = h.emulator.calls();
    assert_eq!(calls.count("fsx", "CreateFileSystem"), 0);
    assert_eq!(calls.count("ec2", "CreateSecurityGroup"), 0);
    Ok(())
}

#[tokio::test]
async fn drift_is_repaired_and_a_lost_file_system_is_reported_not_recreated() -> anyhow::Result<()> {
    let h = Harness::start(
        "drift",
        emulator(Duration::from_secs(1)),
        OperatorOptions { resync_secs: 2, ..Default::default() },
    )
    .await?;
    h.lvs().create(&PostParams::default(), &scratch_volume("drift", &h.class)).await?;
    let lv = ready(&h, "drift").await?;
    let st = lv.status.clone().context("status")?;
    let sg = st.security_group_id.clone().context("sg")?;
    let pv_name = st.persistent_volume_name.clone().context("pv")?;

    // A security-group rule removed in the console comes back.
    h.emulator.revoke_ingress_out_of_band(&sg, 1018, 1023)?;
    let sg2 = sg.clone();
    inventory_until(&h, "the 1018-1023 rule to be restored", move |inv| {
        inv.security_groups
            .iter()
            .any(|g| g.id == sg2 && g.ingress.iter().any(|r| r.from_port == 1018 && r.to_port == 1023))
    })
    .await?;

    // A deleted claim comes back and binds again.
    let claims: Api<PersistentVolumeClaim> = h.ns.api();
    let old_uid = claims.get("drift").await?.metadata.uid;
    claims.delete("drift", &DeleteParams::default()).await?;
    wait_for(&claims, "drift", DEADLINE, "a new claim, Bound", |c| {
        c.metadata.uid != old_uid && c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
    })
    .await
    .with_context(|| h.operator_log())?;

    // A PV removed for good (finalizer stripped) comes back and the claim binds to it again.
    let pvs: Api<PersistentVolume> = Api::all(h.ns.client.clone());
    let old_pv_uid = pvs.get(&pv_name).await?.metadata.uid;
    pvs.delete(&pv_name, &DeleteParams::default()).await?;
    pvs.patch(&pv_name, &PatchParams::default(), &Patch::Merge(&json!({"metadata": {"finalizers": null}}))).await.ok();
    wait_for(&pvs, &pv_name, DEADLINE, "a re-created PV", |p| {
        p.metadata.uid != old_pv_uid && p.metadata.deletion_timestamp.is_none()
    })
    .await
    .with_context(|| h.operator_log())?;
    wait_for(&h.lvs(), "drift", DEADLINE, "Ready again", is_ready).await?;

    // A file system deleted behind our back: Lost, an event, and no new file system.
    let fs_id = st.file_system_id.clone().context("fs")?;
    h.emulator.delete_file_system_out_of_band(&fs_id)?;
    let lost = wait_for(&h.lvs(), "drift", DEADLINE, "phase Lost", |lv| {
        lv.status.as_ref().and_then(|s| s.phase) == Some(Phase::Lost)
    })
    .await
    .with_context(|| h.operator_log())?;
    assert!(condition(&lost, "Ready").is_some_and(|c| c.status == "False" && c.message.contains(&fs_id)));
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(h.emulator.calls().count("fsx", "CreateFileSystem"), 1, "never silently re-created");
    let events: Api<k8s_openapi::api::events::v1::Event> = h.ns.api();
    let found = events.list(&Default::default()).await?.items.into_iter().any(|e| e.reason.as_deref() == Some("Lost"));
    assert!(found, "a Lost event was published");
    Ok(())
}

#[tokio::test]
async fn invalid_specs_are_rejected_with_the_rule_message_and_cost_no_aws_calls() -> anyhow::Result<()> {
    // The class allows both buckets: only validate() has something to say about the S3 link below.
    let h = Harness::start_with("invalid", emulator(Duration::from_secs(1)), OperatorOptions::default(), |class| {
        class.s3_prefixes = vec!["s3://data/".into(), "s3://elsewhere/".into()]
    })
    .await?;
    let base = |name: &str, extra: serde_json::Value| {
        let mut v = json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": name},
                           "spec": {"storageCapacityGiB": 1200, "className": h.class}});
        if let (Some(spec), serde_json::Value::Object(extra)) = (v["spec"].as_object_mut(), extra) {
            spec.extend(extra);
        }
        volume(v)
    };
    let cases = [
        ("cap", json!({"storageCapacityGiB": 1000}), "storageCapacityGiB for SCRATCH_2, PERSISTENT_1 and PERSISTENT_2 on SSD must be 1200, 2400 or a multiple of 2400"),
        ("thr", json!({"perUnitStorageThroughput": 125}), "perUnitStorageThroughput is not allowed for SCRATCH_1 and SCRATCH_2"),
        ("hdd", json!({"storageType": "HDD", "driveCacheType": "READ", "storageCapacityGiB": 6000}), "storageType HDD is only available with deploymentType PERSISTENT_1"),
    ];
    for (name, extra, message) in cases {
        match h.lvs().create(&PostParams::default(), &base(name, extra)).await {
            Err(kube::Error::Api(s)) => {
                assert_eq!(s.code, 422, "{name}: {s:?}");
                assert!(s.message.contains(message), "{name}: message was {}", s.message);
            }
            other => panic!("{name}: expected a 422 rejection, got {other:?}"),
        }
    }

    // What CEL cannot see (an export bucket other than the import bucket) is a condition, with no AWS call.
    let bucket = base("bucket", json!({"s3": {"importPath": "s3://data/in", "exportPath": "s3://elsewhere/out"}}));
    h.lvs().create(&PostParams::default(), &bucket).await?;
    let rejected = wait_for(&h.lvs(), "bucket", DEADLINE, "Ready=False InvalidSpec", |lv| {
        condition(lv, "Ready").is_some_and(|c| c.reason == "InvalidSpec")
    })
    .await?;
    assert!(
        condition(&rejected, "Ready").is_some_and(|c| c.message.contains("s3.exportPath must be in the import bucket"))
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.emulator.calls().total(), 0, "invalid specs make no AWS call");
    h.lvs().delete("bucket", &DeleteParams::default()).await?;
    wait_gone(&h.lvs(), "bucket", DEADLINE).await?;
    assert_eq!(h.emulator.calls().count("fsx", "CreateFileSystem"), 0);

    // Updates: shrinking and changing the deployment type are refused by the apiserver.
    h.lvs().create(&PostParams::default(), &base("grow", json!({"storageCapacityGiB": 2400}))).await?;
    ready(&h, "grow").await?;
    h.emulator.reset_calls();
    for (patch, message) in [
        (json!({"spec": {"storageCapacityGiB": 1200}}), "storageCapacityGiB can only grow"),
        (
            json!({"spec": {"deploymentType": "PERSISTENT_2", "perUnitStorageThroughput": 125}}),
            "deploymentType is immutable",
        ),
    ] {
        match h.lvs().patch("grow", &PatchParams::default(), &Patch::Merge(&patch)).await {
            Err(kube::Error::Api(s)) => {
                assert_eq!(s.code, 422, "{s:?}");
                assert!(s.message.contains(message), "message was {}", s.message);
            }
            other => panic!("expected a 422 rejection, got {other:?}"),
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.emulator.calls().total(), 0, "rejected updates make no AWS call");
    Ok(())
}

#[tokio::test]
async fn a_failed_file_system_is_terminal_and_reports_the_fsx_message() -> anyhow::Result<()> {
    let h = Harness::start("failed", emulator(Duration::from_secs(3600)), OperatorOptions::default()).await?;
    h.lvs().create(&PostParams::default(), &scratch_volume("doomed", &h.class)).await?;
    let creating = wait_for(&h.lvs(), "doomed", DEADLINE, "a file system ID in status", |lv| {
        lv.status.as_ref().is_some_and(|s| s.file_system_id.is_some())
    })
    .await?;
    let fs_id = creating.status.and_then(|s| s.file_system_id).context("fs id")?;
    h.emulator.force_lifecycle(&fs_id, "FAILED", Some("The subnet ran out of IP addresses"))?;
    let failed = wait_for(&h.lvs(), "doomed", DEADLINE, "phase Failed", |lv| {
        lv.status.as_ref().and_then(|s| s.phase) == Some(Phase::Failed)
    })
    .await
    .with_context(|| h.operator_log())?;
    let cond = condition(&failed, "FileSystemReady").context("FileSystemReady")?;
    assert_eq!(cond.status, "False");
    assert!(cond.message.contains("The subnet ran out of IP addresses"), "{}", cond.message);
    assert_eq!(h.emulator.calls().count("fsx", "CreateFileSystem"), 1, "a failed file system is not replaced");
    Ok(())
}

/// An EC2 client on the emulator, as a person with console access would use it.
async fn ec2(h: &Harness) -> aws_sdk_ec2::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(h.emulator.endpoint())
        .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "static"))
        .load()
        .await;
    aws_sdk_ec2::Client::new(&config)
}

#[tokio::test]
async fn existing_security_groups_are_checked_and_the_missing_rule_is_named() -> anyhow::Result<()> {
    // The operator starts once the class names the group, so it never sees the class without it.
    let mut h =
        Harness::prepare("existing", emulator(Duration::from_secs(1)), OperatorOptions::default(), |_| {}).await?;
    let ec2 = ec2(&h).await;
    let seed = h.emulator.seed();
    let group = ec2
        .create_security_group()
        .group_name("team-lustre")
        .description("hand-made")
        .vpc_id(&seed.vpc_id)
        .send()
        .await?;
    let group_id = group.group_id().context("group id")?.to_string();
    // Only port 988: the 1018-1023 range is missing.
    ec2.authorize_security_group_ingress()
        .group_id(&group_id)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(988)
                .to_port(988)
                .user_id_group_pairs(aws_sdk_ec2::types::UserIdGroupPair::builder().group_id(&group_id).build())
                .build(),
        )
        .send()
        .await?;
    h.update_class(|class| class.network.security_group_ids = vec![group_id.clone()]).await?;
    h.start_operator().await?;
    h.lvs().create(&PostParams::default(), &scratch_volume("byo", &h.class)).await?;
    let blocked = wait_for(&h.lvs(), "byo", DEADLINE, "SecurityGroupReady=False naming 1018-1023", |lv| {
        condition(lv, "SecurityGroupReady").is_some_and(|c| c.status == "False" && c.message.contains("TCP 1018-1023"))
    })
    .await
    .with_context(|| h.operator_log())?;
    assert!(!condition(&blocked, "SecurityGroupReady").is_some_and(|c| c.message.contains("TCP 988")), "988 is open");
    assert_eq!(h.emulator.calls().count("fsx", "CreateFileSystem"), 0, "FSx is not asked while a rule is missing");

    // The platform team adds the rule; the operator notices on its retry and creates.
    ec2.authorize_security_group_ingress()
        .group_id(&group_id)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(1018)
                .to_port(1023)
                .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip(&seed.subnet_cidrs[0]).build())
                .build(),
        )
        .send()
        .await?;
    ready(&h, "byo").await?;
    assert_eq!(h.emulator.calls().count("ec2", "CreateSecurityGroup"), 1, "only the test's own group; none managed");
    assert_eq!(h.emulator.inventory().file_systems[0].security_group_ids, vec![group_id.clone()]);
    h.lvs().delete("byo", &DeleteParams::default()).await?;
    wait_gone(&h.lvs(), "byo", DEADLINE).await?;
    assert!(h.emulator.inventory().security_groups.iter().any(|g| g.id == group_id), "a given group is never deleted");
    Ok(())
}

#[tokio::test]
async fn invalid_network_settings_right_after_adding_rules_is_retried() -> anyhow::Result<()> {
    // New rules stay invisible to FSx's check for 3 s, as AWS's eventual consistency does.
    let config = aws_emulator::EmulatorConfig {
        network_check_delay: Duration::from_secs(3),
        ..emulator(Duration::from_secs(1))
    };
    let h = Harness::start("netdelay", config, OperatorOptions::default()).await?;
    h.lvs().create(&PostParams::default(), &scratch_volume("eventual", &h.class)).await?;
    ready(&h, "eventual").await?;
    let calls = h.emulator.calls();
    assert!(
        calls.count_outcome("fsx", "CreateFileSystem", "InvalidNetworkSettings") >= 1,
        "the first create met the delay"
    );
    assert_eq!(calls.count_outcome("fsx", "CreateFileSystem", "ok"), 1);
    assert_eq!(h.emulator.inventory().file_systems.len(), 1);
    Ok(())
}

#[tokio::test]
async fn volumes_without_a_usable_class_are_refused_with_what_to_change_and_cost_nothing() -> anyhow::Result<()> {
    let h = Harness::start_with("noclass", emulator(Duration::from_secs(1)), OperatorOptions::default(), |class| {
        class.limits.max_capacity_gib = Some(1200)
    })
    .await?;
    let missing = format!("{}-missing", h.class);
    h.lvs().create(&PostParams::default(), &scratch_volume("orphan", &missing)).await?;
    let orphan = wait_for(&h.lvs(), "orphan", DEADLINE, "Ready=False ClassNotFound", |lv| {
        condition(lv, "Ready").is_some_and(|c| c.status == "False" && c.reason == "ClassNotFound")
    })
    .await
    .with_context(|| h.operator_log())?;
    assert!(condition(&orphan, "Ready").is_some_and(|c| c.message.contains(&missing)), "the message names the class");

    let mut big = scratch_volume("big", &h.class);
    big.spec.storage_capacity_gib = Some(2400);
    h.lvs().create(&PostParams::default(), &big).await?;
    let refused = wait_for(&h.lvs(), "big", DEADLINE, "Ready=False ClassRejected", |lv| {
        condition(lv, "Ready").is_some_and(|c| c.status == "False" && c.reason == "ClassRejected")
    })
    .await
    .with_context(|| h.operator_log())?;
    let message = condition(&refused, "Ready").map(|c| c.message.clone()).unwrap_or_default();
    assert!(message.contains("1200 GiB"), "the message says what the class allows: {message}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(h.emulator.calls().total(), 0, "a volume without a usable class makes no AWS call");
    for name in ["orphan", "big"] {
        h.lvs().delete(name, &DeleteParams::default()).await?;
        wait_gone(&h.lvs(), name, DEADLINE).await.with_context(|| h.operator_log())?;
    }
    Ok(())
}

#[tokio::test]
async fn the_call_budget_bounds_the_operators_aws_call_rate() -> anyhow::Result<()> {
    const RATE: u32 = 3;
    let options = OperatorOptions { aws_max_calls_per_second: Some(RATE), ..Default::default() };
    let h = Harness::start("budget", emulator(Duration::from_secs(1)), options).await?;
    let names: Vec<String> = (0..6).map(|i| format!("budget-{i}")).collect();
    for name in &names {
        h.lvs().create(&PostParams::default(), &scratch_volume(name, &h.class)).await?;
    }
    // Sample the emulator's call count until all are Ready.
    let mut samples: Vec<(std::time::Instant, u64)> = Vec::new();
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        samples.push((std::time::Instant::now(), h.emulator.calls().total()));
        let ready = futures_ready(&h, &names).await?;
        if ready == names.len() {
            break;
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "{ready} of 6 Ready:\n{}", h.operator_log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A token bucket of RATE tokens refilled at RATE per second: in any interval of length t at
    // most RATE + RATE * t calls start (one more for a call in flight at a sample's edge).
    for (i, (t0, c0)) in samples.iter().enumerate() {
        for (t1, c1) in &samples[i + 1..] {
            let allowed = f64::from(RATE) * (1.0 + t1.duration_since(*t0).as_secs_f64()) + 1.0;
            anyhow::ensure!(((c1 - c0) as f64) <= allowed, "{} calls in {:?}", c1 - c0, t1.duration_since(*t0));
        }
    }
    let total = samples.last().map(|s| s.1).unwrap_or_default();
    assert!(total >= 24, "6 volumes make at least 4 calls each: {total}");
    let metrics = h.operator.as_ref().context("operator")?.metrics().await;
    let waited: f64 = metrics
        .lines()
        .find(|l| l.starts_with("lustre_operator_aws_budget_wait_seconds_total"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    assert!(waited > 0.0, "the budget made calls wait:\n{metrics}");
    Ok(())
}

async fn futures_ready(h: &Harness, names: &[String]) -> anyhow::Result<usize> {
    let mut ready = 0;
    for name in names {
        if h.lvs().get(name).await.map(|lv| is_ready(&lv)).unwrap_or(false) {
            ready += 1;
        }
    }
    Ok(ready)
}

/// The ingress rules of `sg` in the emulator's inventory as (protocol, from, to, source), sorted.
fn ingress_shapes(h: &Harness, sg: &str) -> Vec<(String, i32, i32, String)> {
    let mut rules: Vec<_> = h
        .emulator
        .inventory()
        .security_group(sg)
        .map(|g| {
            g.ingress
                .iter()
                .map(|r| {
                    let source = [&r.source_group_id, &r.cidr, &r.ipv6_cidr, &r.prefix_list_id]
                        .into_iter()
                        .find_map(|s| s.clone())
                        .unwrap_or_default();
                    (r.protocol.clone(), r.from_port, r.to_port, source)
                })
                .collect()
        })
        .unwrap_or_default();
    rules.sort();
    rules
}

#[tokio::test]
async fn hand_made_rules_of_every_shape_are_revoked_as_ec2_describes_them() -> anyhow::Result<()> {
    use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, PrefixListId};
    // Rules are re-checked once the resync period has passed: 2 s, so the next pass looks.
    let options = OperatorOptions { resync_secs: 2, ..Default::default() };
    let h = Harness::start("shapes", emulator(Duration::from_secs(1)), options).await?;
    h.lvs().create(&PostParams::default(), &scratch_volume("shapes", &h.class)).await?;
    let sg = ready(&h, "shapes").await?.status.and_then(|s| s.security_group_id).context("managed group")?;
    let operators = ingress_shapes(&h, &sg);
    assert!(
        !operators.is_empty() && operators.iter().all(|r| r.0 == "tcp"),
        "the operator's own rules are TCP: {operators:?}"
    );

    // Someone widens the managed group by hand with every shape the console offers.
    let cidr = |c: &str| IpRange::builder().cidr_ip(c).build();
    let hand_made = [
        IpPermission::builder().ip_protocol("-1").ip_ranges(cidr("10.9.0.0/16")).build(),
        IpPermission::builder().ip_protocol("udp").from_port(988).to_port(988).ip_ranges(cidr("10.0.0.0/16")).build(),
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(988)
            .to_port(988)
            .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("2001:db8::/64").build())
            .build(),
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(1018)
            .to_port(1023)
            .prefix_list_ids(PrefixListId::builder().prefix_list_id("pl-63a5400a").build())
            .build(),
    ];
    ec2(&h)
        .await
        .authorize_security_group_ingress()
        .group_id(&sg)
        .set_ip_permissions(Some(hand_made.to_vec()))
        .send()
        .await?;
    assert_eq!(ingress_shapes(&h, &sg).len(), operators.len() + 4, "the hand-made rules are in place");
    h.emulator.reset_calls();

    // A pass: the annotation wakes the volume, the resync period makes it look at the rules.
    let poke = json!({"metadata": {"annotations": {"lustre-test/poke": "rules"}}});
    h.lvs().patch("shapes", &PatchParams::default(), &Patch::Merge(&poke)).await?;
    let sg2 = sg.clone();
    let wanted = operators.clone();
    wait_until(DEADLINE, "every hand-made rule to be revoked", || {
        let now = ingress_shapes(&h, &sg2);
        let done = now == wanted;
        async move {
            if done {
                Ok(true)
            } else {
                Err(format!("rules now: {now:?}"))
            }
        }
    })
    .await
    .with_context(|| h.operator_log())?;

    // Another pass or two, then: nothing came back, nothing failed, nothing is wedged.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(ingress_shapes(&h, &sg), operators, "exactly the operator's rules remain");
    let calls = h.emulator.calls();
    let revokes = calls.count("ec2", "RevokeSecurityGroupIngress");
    assert!(revokes >= 1, "{calls:?}");
    assert_eq!(calls.count_outcome("ec2", "RevokeSecurityGroupIngress", "ok"), revokes, "no failed revoke: {calls:?}");
    assert_eq!(calls.count("ec2", "AuthorizeSecurityGroupIngress"), 0, "the operator's rules were never lost");
    let lv = h.lvs().get("shapes").await?;
    assert!(is_ready(&lv), "{:?}", lv.status);
    let conditions = lv.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default();
    let wedged = conditions
        .iter()
        .filter(|c| c.status != "True")
        .find(|c| c.message.contains("InvalidPermission") || c.message.contains("security group"));
    assert!(wedged.is_none(), "no condition carries a security-group error: {conditions:?}");
    let events: Api<k8s_openapi::api::events::v1::Event> = h.ns.api();
    let notes: Vec<String> = events
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("SecurityGroupRulesRevoked"))
        .filter_map(|e| e.note)
        .collect();
    for shape in [
        "all protocols from 10.9.0.0/16",
        "UDP 988 from 10.0.0.0/16",
        "TCP 988 from 2001:db8::/64",
        "TCP 1018-1023 from pl-63a5400a",
    ] {
        assert!(notes.iter().any(|n| n.contains(shape)), "an event names {shape}: {notes:?}");
    }
    Ok(())
}
