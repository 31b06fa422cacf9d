//! End to end: two operator replicas with leader election (`LEADER_ELECT=true`, `POD_NAMESPACE`,
//! distinct `POD_NAME`s) in one namespace. Both are ready once their caches sync; only the holder
//! of the Lease reconciles; when the leader is SIGKILLed right after CreateFileSystem is applied
//! (its answer held back), the standby takes over within the lease duration and finds the file
//! system instead of creating a second one.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use aws_emulator::Fault;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, PostParams};
use lustre_api::Phase;
use testkit::volumes::{emulator, is_ready, scratch_volume, DEADLINE};
use testkit::{metric_sum, wait_for, wait_until, Harness, Launch, OperatorOptions, OperatorProcess};

/// The lease the operator holds (main.rs: Lease `lustre-operator` in POD_NAMESPACE, 15 s).
const LEASE: &str = "lustre-operator";
const LEASE_DURATION: Duration = Duration::from_secs(15);

/// One replica: its pod name and process.
struct Replica {
    name: String,
    process: OperatorProcess,
}

/// Two replicas watching the harness's namespace, whose Lease lives there too. Started one after
/// the other; each is ready (/readyz 200) before the next starts.
async fn replicas(h: &Harness, logs: &std::path::Path) -> anyhow::Result<Vec<Replica>> {
    let cp = tokio::task::spawn_blocking(testkit::shared).await??;
    let options = OperatorOptions { leader_elect: true, ..h.options.clone() };
    let mut out = Vec::new();
    for i in 0..2 {
        let name = format!("lustre-operator-{i}");
        let launch = Launch { pod_name: Some(name.clone()), ..Launch::namespace(&h.ns.name) };
        let log = logs.join(format!("{name}.log"));
        let process = OperatorProcess::launch(cp.kubeconfig(), &h.emulator.endpoint(), &launch, &options, log).await?;
        out.push(Replica { name, process });
    }
    Ok(out)
}

/// The Lease's holder, once someone holds it.
async fn holder(h: &Harness) -> anyhow::Result<String> {
    let leases: Api<Lease> = h.ns.api();
    let lease = wait_for(&leases, LEASE, DEADLINE, "a Lease holder", |l| {
        l.spec.as_ref().and_then(|s| s.holder_identity.as_ref()).is_some()
    })
    .await?;
    Ok(lease.spec.and_then(|s| s.holder_identity).unwrap_or_default())
}

/// The value of the first sample of `metric` in a /metrics text whose line starts with it (0 when absent).
fn logs(replicas: &[Replica]) -> String {
    replicas.iter().map(|r| format!("--- {}:\n{}", r.name, r.process.log_tail(40))).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn only_the_leader_reconciles_and_the_standby_is_ready() -> anyhow::Result<()> {
    let h = Harness::prepare("leader", emulator(Duration::from_secs(1)), OperatorOptions::default(), |_| {}).await?;
    let logs_dir = testkit::log_dir("leader")?;
    let replicas = replicas(&h, logs_dir.path()).await?;
    for r in &replicas {
        assert_eq!(testkit::http_status(r.process.metrics_port, "/readyz").await, Some(200), "{} is ready", r.name);
    }
    let leader = holder(&h).await?;
    let (lead, standby) = match replicas.iter().position(|r| r.name == leader) {
        Some(0) => (&replicas[0], &replicas[1]),
        Some(_) => (&replicas[1], &replicas[0]),
        None => anyhow::bail!("the Lease is held by {leader}, neither replica"),
    };

    h.lvs().create(&PostParams::default(), &scratch_volume("elect", &h.class)).await?;
    let lv = wait_for(&h.lvs(), "elect", DEADLINE, "Ready=True", is_ready).await.with_context(|| logs(&replicas))?;
    assert_eq!(h.emulator.calls().count("fsx", "CreateFileSystem"), 1);
    assert_eq!(h.emulator.inventory().file_systems.len(), 1);

    // The standby made no AWS call and reconciled nothing; the leader did it all.
    let (lead_metrics, standby_metrics) = (lead.process.metrics().await, standby.process.metrics().await);
    assert_eq!(metric_sum(&standby_metrics, "lustre_operator_aws_calls_total"), 0.0, "standby:\n{standby_metrics}");
    assert_eq!(metric_sum(&standby_metrics, "lustre_operator_reconciles_total"), 0.0, "standby:\n{standby_metrics}");
    assert!(metric_sum(&lead_metrics, "lustre_operator_aws_calls_total") > 0.0, "leader:\n{lead_metrics}");
    assert_eq!(
        metric_sum(&lead_metrics, "lustre_operator_aws_calls_total{service=\"fsx\",operation=\"CreateFileSystem\""),
        1.0
    );

    // No writes by the standby: every event on the volume is the leader's, one per transition,
    // and the status is not written again once stable.
    let events: Api<Event> = h.ns.api();
    let mine: Vec<Event> = events
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        // On the volume: kube-controller-manager's own events on the claim "elect" are not ours.
        .filter(|e| e.regarding.as_ref().is_some_and(|r| r.kind.as_deref() == Some("LustreVolume")))
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("elect"))
        .collect();
    assert!(!mine.is_empty(), "the leader published events");
    for e in &mine {
        assert_eq!(e.reporting_instance.as_deref(), Some(leader.as_str()), "event {:?} by the standby", e.reason);
    }
    let available = mine.iter().filter(|e| e.reason.as_deref() == Some("Available")).count();
    assert_eq!(available, 1, "one transition to Available, written once");
    let rv = lv.metadata.resource_version.clone();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(h.lvs().get("elect").await?.metadata.resource_version, rv, "no status writes once stable");
    assert_eq!(holder(&h).await?, leader, "the leader kept its Lease");
    Ok(())
}

#[tokio::test]
async fn the_standby_takes_over_a_create_the_killed_leader_never_saw_answered() -> anyhow::Result<()> {
    let h = Harness::prepare("takeover", emulator(Duration::from_secs(1)), OperatorOptions::default(), |_| {}).await?;
    let logs_dir = testkit::log_dir("takeover")?;
    let mut replicas = replicas(&h, logs_dir.path()).await?;
    let leader = holder(&h).await?;
    let lead = replicas.iter().position(|r| r.name == leader).context("the leader is one of the replicas")?;
    let standby_name = replicas[1 - lead].name.clone();

    // The file system is created, but its answer is held back: the leader never learns its ID.
    h.emulator.set_fault("CreateFileSystem", Fault::delay_after_apply(Duration::from_secs(120)).times(1));
    h.lvs().create(&PostParams::default(), &scratch_volume("crash", &h.class)).await?;
    wait_until(DEADLINE, "the file system to exist", || {
        let n = h.emulator.inventory().file_systems.len();
        async move {
            if n == 1 {
                Ok(true)
            } else {
                Err(format!("{n} file systems"))
            }
        }
    })
    .await
    .with_context(|| logs(&replicas))?;
    replicas[lead].process.kill();
    let killed = Instant::now();
    h.emulator.clear_faults();
    assert!(h.lvs().get("crash").await?.status.and_then(|s| s.file_system_id).is_none(), "the ID never reached status");

    let within = LEASE_DURATION + Duration::from_secs(5);
    let leases: Api<Lease> = h.ns.api();
    wait_for(&leases, LEASE, within, "the standby to hold the Lease", |l| {
        l.spec.as_ref().and_then(|s| s.holder_identity.as_deref()) == Some(standby_name.as_str())
    })
    .await
    .with_context(|| logs(&replicas))?;
    let took_over = killed.elapsed();
    let remaining = within.saturating_sub(killed.elapsed());
    let lv = wait_for(&h.lvs(), "crash", remaining, "phase Available", |lv| {
        lv.status.as_ref().and_then(|s| s.phase) == Some(Phase::Available)
    })
    .await
    .with_context(|| format!("Lease taken over after {took_over:?}\n{}", logs(&replicas)))?;
    eprintln!("Lease taken over {took_over:?} after the kill; Available after {:?}", killed.elapsed());

    let inv = h.emulator.inventory();
    assert_eq!(inv.file_systems.len(), 1, "exactly one file system");
    assert_eq!(lv.status.and_then(|s| s.file_system_id), Some(inv.file_systems[0].id.clone()));
    assert_eq!(h.emulator.calls().count("fsx", "CreateFileSystem"), 1, "the new leader found it by tag");
    assert_eq!(h.managed_security_groups().len(), 1);
    wait_for(&h.lvs(), "crash", DEADLINE, "Ready=True", is_ready).await.with_context(|| logs(&replicas))?;
    Ok(())
}
