//! `make bench`: N LustreVolumes created at once against the local control plane and the AWS
//! emulator, the operator running with its default settings (poll 15 s, resync 600 s).
//!
//! Measures, per volume, the latency from the moment FSx (the emulator) reports the file system
//! AVAILABLE to the moment the bench sees the volume's Ready condition turn True; the time from
//! apply to all Ready; AWS calls by operation until all Ready; AWS calls, LustreVolume writes and
//! apiserver requests during 15 s of stable state; apiserver requests by verb and resource; the
//! time and AWS calls to delete everything; and the operator's peak memory.
//!
//! AVAILABLE moment: the emulator's lifecycle is lazy and exact, a file system is AVAILABLE from
//! `CreationTime + EmulatorConfig::create_duration_for(id)` on (the creation time plus its share,
//! fixed by its ID, of `CREATE_SPREAD_SECONDS`). The bench reads every `CreationTime` once (one
//! DescribeFileSystems of its own, made after the "until Ready" call counts are taken and before
//! the stable window's counter reset) and maps the emulator clock onto the bench's monotonic clock.
//! Ready moment: a watch on LustreVolumes, timestamped when the event arrives. The span
//! AVAILABLE -> Ready is split at the moment the bench's watch on the operator's PVs first sees
//! the volume's PV and the moment its watch on claims first sees the claim Bound.
//!
//! Usage: lustre-bench [VOLUMES] [CREATE_SECONDS]   (defaults 100 and 37)
//! `CREATE_SPREAD_SECONDS` (default 0): each file system's creation takes CREATE_SECONDS plus up
//! to this much more (the emulator's `create_spread`), so the creations do not all end at once.
//! The operator binary is `$LUSTRE_OPERATOR_BIN` (the release build under `make bench`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aws_emulator::{CallLog, Emulator, EmulatorConfig};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, PersistentVolume, PersistentVolumeClaim};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::{watcher, WatchStreamExt};
use lustre_api::{tags, LustreClass, LustreVolume};
use testkit::{
    install_crds, metric_sum, operator_binary, test_class_spec, ControlPlane, OperatorOptions, OperatorProcess,
};

const NS: &str = "bench";
/// The operator's own defaults (`--poll-interval`, `--resync-interval` in crates/operator/src/main.rs).
const DEFAULT_POLL_SECS: u64 = 15;
const DEFAULT_RESYNC_SECS: u64 = 600;
const STABLE_WINDOW: Duration = Duration::from_secs(15);
/// The apiserver resources the operator (and the PV binder) touch for volumes.
fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}

/// What the bench's watch saw of one volume.
#[derive(Default)]
struct Seen {
    ready_at: Option<Instant>,
    file_system_id: Option<String>,
    resource_version: String,
    /// When the bench's PV watch first delivered the volume's PV.
    pv_seen_at: Option<Instant>,
    /// When the bench's claim watch first saw the volume's claim Bound.
    claim_bound_at: Option<Instant>,
}

#[derive(Default)]
struct Book {
    volumes: Mutex<BTreeMap<String, Seen>>,
    /// resourceVersion changes of any LustreVolume (creations, status writes, finalizers...).
    writes: AtomicU64,
    synced: AtomicU64,
    /// Volumes seen Failed or Lost, or refused by AWS (AwsRefused): terminal outcomes.
    terminal: Mutex<std::collections::BTreeSet<String>>,
    /// Volumes whose Ready condition said AwsThrottled at some point.
    throttled: Mutex<std::collections::BTreeSet<String>>,
}

impl Book {
    /// The per-volume record (a panicked watcher leaves it as it was).
    fn seen(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Seen>> {
        self.volumes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn is_ready(lv: &LustreVolume) -> bool {
    lv.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Watches the claims (named like their volumes) into `book` until the process ends.
async fn watch_claims(claims: Api<PersistentVolumeClaim>, book: Arc<Book>) {
    let mut stream = watcher(claims, watcher::Config::default()).default_backoff().boxed();
    while let Some(event) = stream.next().await {
        let now = Instant::now();
        let claim = match event {
            Ok(watcher::Event::Apply(c)) | Ok(watcher::Event::InitApply(c)) => c,
            _ => continue,
        };
        if claim.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Bound") {
            continue;
        }
        let mut volumes = book.seen();
        let seen = volumes.entry(claim.metadata.name.clone().unwrap_or_default()).or_default();
        seen.claim_bound_at.get_or_insert(now);
    }
}

/// Watches the operator's PersistentVolumes of the bench namespace into `book` until the process
/// ends; a PV belongs to the volume its owner-name label names.
async fn watch_pvs(pvs: Api<PersistentVolume>, book: Arc<Book>) {
    let selector = format!("{}={},{}={NS}", tags::MANAGED_BY, tags::MANAGED_BY_VALUE, tags::LABEL_OWNER_NAMESPACE);
    let mut stream = watcher(pvs, watcher::Config::default().labels(&selector)).default_backoff().boxed();
    while let Some(event) = stream.next().await {
        let now = Instant::now();
        let pv = match event {
            Ok(watcher::Event::Apply(pv)) | Ok(watcher::Event::InitApply(pv)) => pv,
            _ => continue,
        };
        let Some(volume) = pv.metadata.labels.as_ref().and_then(|l| l.get(tags::LABEL_OWNER_NAME)) else {
            continue;
        };
        book.seen().entry(volume.clone()).or_default().pv_seen_at.get_or_insert(now);
    }
}

/// Watches LustreVolumes into `book` until the process ends.
async fn watch(lvs: Api<LustreVolume>, book: Arc<Book>) {
    let mut stream = watcher(lvs, watcher::Config::default()).default_backoff().boxed();
    while let Some(event) = stream.next().await {
        let now = Instant::now();
        let lv = match event {
            Ok(watcher::Event::Apply(lv)) | Ok(watcher::Event::InitApply(lv)) => lv,
            Ok(watcher::Event::InitDone) => {
                book.synced.store(1, Ordering::SeqCst);
                continue;
            }
            _ => continue,
        };
        let name = lv.metadata.name.clone().unwrap_or_default();
        let rv = lv.metadata.resource_version.clone().unwrap_or_default();
        let mut volumes = book.seen();
        let seen = volumes.entry(name).or_default();
        if seen.resource_version != rv {
            seen.resource_version = rv;
            book.writes.fetch_add(1, Ordering::SeqCst);
        }
        if let Some(id) = lv.status.as_ref().and_then(|s| s.file_system_id.clone()) {
            seen.file_system_id = Some(id);
        }
        if seen.ready_at.is_none() && is_ready(&lv) {
            seen.ready_at = Some(now);
        }
        drop(volumes);
        let status = lv.status.as_ref();
        let phase = status.and_then(|s| s.phase).map(|p| p.as_str().to_string()).unwrap_or_default();
        let reason = status
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.reason.clone())
            .unwrap_or_default();
        let name = lv.metadata.name.clone().unwrap_or_default();
        if phase == "Failed" || phase == "Lost" || reason == "AwsRefused" {
            book.terminal.lock().unwrap_or_else(|e| e.into_inner()).insert(name.clone());
        }
        if reason == "AwsThrottled" {
            book.throttled.lock().unwrap_or_else(|e| e.into_inner()).insert(name);
        }
    }
}

/// A position in the apiserver's audit log.
fn audit_mark(cp: &ControlPlane) -> u64 {
    std::fs::metadata(cp.audit_log()).map(|m| m.len()).unwrap_or(0)
}

/// The operator's requests (User-Agent `lustre-operator/...`) completed between two marks of the
/// audit log, by "verb resource[/subresource]".
fn operator_requests(cp: &ControlPlane, from: u64, to: u64) -> Result<BTreeMap<String, u64>> {
    requests_of(cp, "lustre-operator/", from, to)
}

/// The requests of the client whose User-Agent starts with `agent` completed between two marks
/// of the audit log, by "verb resource[/subresource]".
fn requests_of(cp: &ControlPlane, agent: &str, from: u64, to: u64) -> Result<BTreeMap<String, u64>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(cp.audit_log()).context("opening the audit log")?;
    file.seek(SeekFrom::Start(from))?;
    let mut text = String::new();
    file.take(to.saturating_sub(from)).read_to_string(&mut text)?;
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let client = event["userAgent"].as_str().unwrap_or_default();
        if !client.starts_with(agent) || event["stage"] != "ResponseComplete" {
            continue;
        }
        let resource = event["objectRef"]["resource"].as_str().unwrap_or("-");
        let key = match event["objectRef"]["subresource"].as_str() {
            Some(sub) => format!("{} {resource}/{sub}", event["verb"].as_str().unwrap_or("?")),
            None => format!("{} {resource}", event["verb"].as_str().unwrap_or("?")),
        };
        *out.entry(key).or_default() += 1;
    }
    Ok(out)
}

/// Calls by "service:Operation".
fn by_operation(calls: &CallLog) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for c in &calls.calls {
        *out.entry(format!("{}:{}", c.service, c.operation)).or_default() += c.count;
    }
    out
}

/// One FSx JSON request straight over HTTP (not through the SDK, so the operator's figures are
/// not mixed with the bench's own client): the answer's JSON body.
async fn fsx_request(endpoint: &str, operation: &str, body: &serde_json::Value) -> Result<serde_json::Value> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/').to_string();
    let body = body.to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await?;
    let req = format!(
        "POST / HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: AWSSimbaAPIService_v20180301.{operation}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf);
    let (_, json) = text.split_once("\r\n\r\n").with_context(|| format!("{operation}: no HTTP body"))?;
    serde_json::from_str(json).with_context(|| format!("{operation} answered {json:.300}"))
}

/// One DescribeFileSystems (all pages): file system id -> CreationTime in ms.
async fn creation_times(endpoint: &str) -> Result<BTreeMap<String, i64>> {
    let mut out = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let body = match &token {
            Some(t) => serde_json::json!({ "NextToken": t }),
            None => serde_json::json!({}),
        };
        let v = fsx_request(endpoint, "DescribeFileSystems", &body).await?;
        for fs in v["FileSystems"].as_array().context("DescribeFileSystems: no FileSystems")? {
            if let (Some(id), Some(t)) = (fs["FileSystemId"].as_str(), fs["CreationTime"].as_f64()) {
                out.insert(id.to_string(), (t * 1000.0).round() as i64);
            }
        }
        match v["NextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => return Ok(out),
        }
    }
}

/// The `team` tag of the file systems that belong to someone else.
const FOREIGN_TEAM: &str = "someone-else";

/// Fills the account with `n` file systems no volume owns (another team's), eight requests at a
/// time: the operator's owner-tag lookups must page through them once per batch, not per volume.
async fn create_foreign_file_systems(endpoint: &str, subnet: &str, n: usize) -> Result<()> {
    let results: Vec<Result<serde_json::Value>> = futures::stream::iter(0..n)
        .map(|i| {
            let body = serde_json::json!({
                "ClientRequestToken": format!("foreign-{i}"),
                "FileSystemType": "LUSTRE",
                "StorageCapacity": 1200,
                "SubnetIds": [subnet],
                "LustreConfiguration": {"DeploymentType": "SCRATCH_2"},
                "Tags": [{"Key": "team", "Value": FOREIGN_TEAM}],
            });
            async move { fsx_request(endpoint, "CreateFileSystem", &body).await }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    for r in results {
        let v = r?;
        anyhow::ensure!(v.get("FileSystem").is_some(), "CreateFileSystem of a foreign file system answered {v}");
    }
    Ok(())
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[tokio::main]
async fn main() {
    // Everything the bench started (control plane, operator, emulator) is stopped when `bench`
    // returns; then the process ends, whatever task is still running. A bench left behind once
    // kept a core busy under the next runs (its watches retried a stopped apiserver
    // without pause, and the runtime waited for them).
    let code = match bench().await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("[bench] failed: {e:#}");
            1
        }
    };
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

// Long on purpose, it reads better whole: the benchmark's script, step after step (create, measure, idle, restart, delete), each step's figures next to it.
async fn bench() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let create_secs: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(37);
    let foreign: usize = std::env::var("FOREIGN_FILE_SYSTEMS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let spread = match std::env::var("CREATE_SPREAD_SECONDS") {
        Ok(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .with_context(|| format!("CREATE_SPREAD_SECONDS={v:?} is not a number of seconds"))?,
        Err(_) => Duration::ZERO,
    };
    let spread_secs = spread.as_secs_f64();
    let bin = operator_binary()?;
    println!(
        "[bench] {n} volumes, emulator creation time {create_secs} s + up to {spread_secs} s spread, operator {}",
        bin.display()
    );
    if foreign > 0 {
        println!("[bench] the account holds {foreign} file systems of someone else's before the first apply");
    }
    // The operator inherits the bench's environment, so these override its AWS budgets.
    let budget: Vec<String> = ["AWS_MAX_CALLS_PER_SECOND", "AWS_MAX_CREATIONS_PER_SECOND"]
        .iter()
        .filter_map(|var| std::env::var(var).ok().map(|v| format!("{var}={v}")))
        .collect();
    let budget = if budget.is_empty() { "default AWS budgets".to_string() } else { budget.join(", ") };
    println!("[bench] operator at its defaults: poll {DEFAULT_POLL_SECS} s, resync {DEFAULT_RESYNC_SECS} s, {budget}");

    let t = Instant::now();
    let cp = tokio::task::spawn_blocking(|| ControlPlane::start_with(true)).await??;
    let cp_start = t.elapsed();
    let client = cp.client().await?;
    install_crds(&client).await?;
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
            )?,
        )
        .await?;
    let defaults = EmulatorConfig::default();
    let emulator = Arc::new(
        Emulator::start(EmulatorConfig {
            create_duration: Duration::from_secs(create_secs),
            create_spread: spread,
            delete_duration: Duration::from_secs(2),
            // Room for every volume (the defaults are FSx's account quotas: 100 800 GiB).
            file_system_quota: defaults.file_system_quota.max((n + foreign) as u32 + 10),
            storage_quota_gib: defaults.storage_quota_gib.max(2 * 1200 * (n + foreign) as u64),
            ..defaults
        })
        .await?,
    );
    // The class every volume names: the emulator's first subnet, usable from the bench namespace.
    let seed = emulator.seed();
    let class = LustreClass::new(
        NS,
        test_class_spec(&seed.subnet_ids[0], seed.availability_zones.first().map(String::as_str), NS)?,
    );
    Api::<LustreClass>::all(client.clone()).create(&PostParams::default(), &class).await?;
    create_foreign_file_systems(&emulator.endpoint(), &seed.subnet_ids[0], foreign).await?;
    let options = OperatorOptions {
        poll_interval_secs: DEFAULT_POLL_SECS,
        resync_secs: DEFAULT_RESYNC_SECS,
        leader_elect: false,
        aws_max_calls_per_second: None,
        // The operator's defaults: the first orphan sweep 2 minutes after start, then every 10.
        orphan_sweep: (120, 600, 600),
    };
    let mut op =
        OperatorProcess::start(cp.kubeconfig(), &emulator.endpoint(), NS, &options, cp.dir().join("operator.log"))
            .await?;
    let pid = op.pid().unwrap_or(0);

    let lvs: Api<LustreVolume> = Api::namespaced(client.clone(), NS);
    let book = Arc::new(Book::default());
    tokio::spawn(watch(lvs.clone(), book.clone()));
    tokio::spawn(watch_claims(Api::namespaced(client.clone(), NS), book.clone()));
    tokio::spawn(watch_pvs(Api::all(client.clone()), book.clone()));
    while book.synced.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let the operator's start-up requests settle before the first apiserver scrape.
    tokio::time::sleep(Duration::from_secs(2)).await;
    emulator.reset_calls();
    let audit0 = audit_mark(&cp);

    // THROTTLE_PERCENT of every FSx and EC2 call answered with throttling for THROTTLE_SECONDS.
    let throttle_percent: u32 = std::env::var("THROTTLE_PERCENT").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let throttle_secs: u64 = std::env::var("THROTTLE_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(120);
    if throttle_percent > 0 {
        emulator.set_fault("*", aws_emulator::Fault::throttle(f64::from(throttle_percent) / 100.0));
        println!("[bench] {throttle_percent}% of AWS calls throttled for {throttle_secs} s from the first apply");
    }
    // The operator's call rate, sampled every second until all are Ready.
    let rate_samples = Arc::new(Mutex::new(Vec::<u64>::new()));
    let sampler = {
        let (emulator_calls, samples) = (emulator.clone(), rate_samples.clone());
        tokio::spawn(async move {
            let mut last = emulator_calls.calls().total();
            let started = Instant::now();
            let mut cleared = false;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let now = emulator_calls.calls().total();
                samples.lock().unwrap_or_else(|e| e.into_inner()).push(now.saturating_sub(last));
                last = now;
                if throttle_percent > 0 && !cleared && started.elapsed() >= Duration::from_secs(throttle_secs) {
                    emulator_calls.clear_faults();
                    cleared = true;
                }
            }
        })
    };
    let t0 = Instant::now();
    for i in 0..n {
        let lv: LustreVolume = serde_json::from_value(serde_json::json!({
            "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": format!("vol-{i:04}")},
            "spec": {"storageCapacityGiB": 1200, "className": NS}
        }))?;
        lvs.create(&PostParams::default(), &lv).await?;
    }
    let applied = t0.elapsed();
    let deadline = Duration::from_secs(600 + 2 * n as u64);
    loop {
        let ready = book.seen().values().filter(|s| s.ready_at.is_some()).count();
        if ready == n {
            break;
        }
        if t0.elapsed() > deadline {
            bail!("only {ready}/{n} ready after {deadline:?}; operator log:\n{}", op.log_tail(30));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready_calls = emulator.calls();
    let audit1 = audit_mark(&cp);
    sampler.abort();
    emulator.clear_faults();
    let rates = rate_samples.lock().unwrap_or_else(|e| e.into_inner()).clone();

    // The AVAILABLE moments, on the bench's clock (emulator clock scale 1).
    let created = creation_times(&emulator.endpoint()).await?;
    let (emu_now_ms, real_now) = (emulator.now().timestamp_millis(), Instant::now());
    let config = emulator.config();
    let mut parts: [Vec<f64>; 3] = Default::default();
    let (to_ready, mut latencies) = {
        let volumes = book.seen();
        let last = volumes.values().filter_map(|s| s.ready_at).max().unwrap_or(t0);
        let mut lat = Vec::new();
        for (name, seen) in volumes.iter() {
            let fs = seen.file_system_id.as_deref().with_context(|| format!("{name}: no fileSystemId"))?;
            let c = *created.get(fs).with_context(|| format!("{name}: {fs} not in DescribeFileSystems"))?;
            let create_ms = i64::try_from(config.create_duration_for(fs).as_millis()).unwrap_or(i64::MAX);
            let ago_ms = emu_now_ms - c.saturating_add(create_ms);
            let ready_ago = real_now.duration_since(seen.ready_at.unwrap_or(real_now)).as_secs_f64();
            lat.push(ago_ms as f64 / 1000.0 - ready_ago);
            // The same span in three parts: the operator's until the PV exists (the claim is
            // created just before it), the binder's, the operator's status write after the binding.
            let ago = |t: Option<Instant>| real_now.duration_since(t.unwrap_or(real_now)).as_secs_f64();
            let (pv_ago, bound_ago) = (ago(seen.pv_seen_at), ago(seen.claim_bound_at));
            parts[0].push(ago_ms as f64 / 1000.0 - pv_ago);
            parts[1].push(pv_ago - bound_ago);
            parts[2].push(bound_ago - ready_ago);
        }
        (last.duration_since(t0), lat)
    };
    latencies.sort_by(|a, b| a.total_cmp(b));
    for p in parts.iter_mut() {
        p.sort_by(|a, b| a.total_cmp(b));
    }

    emulator.reset_calls();
    let writes_before = book.writes.load(Ordering::SeqCst);
    let audit_stable0 = audit_mark(&cp);
    tokio::time::sleep(STABLE_WINDOW).await;
    let stable_calls = emulator.calls().total();
    let stable_writes = book.writes.load(Ordering::SeqCst) - writes_before;
    let stable_requests: u64 = operator_requests(&cp, audit_stable0, audit_mark(&cp))?.values().sum();
    let rss = peak_rss_mib(pid);

    // Restart: the new process re-verifies every Ready volume (one reconcile each).
    op.kill();
    emulator.reset_calls();
    let writes_before = book.writes.load(Ordering::SeqCst);
    let audit_restart0 = audit_mark(&cp);
    let t = Instant::now();
    op = OperatorProcess::start(cp.kubeconfig(), &emulator.endpoint(), NS, &options, cp.dir().join("operator-2.log"))
        .await?;
    let restart_ready = t.elapsed();
    loop {
        if metric_sum(&op.metrics().await, "lustre_operator_reconciles_total") >= n as f64 {
            break;
        }
        if t.elapsed() > deadline {
            bail!("the restarted operator did not reconcile {n} volumes in {deadline:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let restart_verified = t.elapsed();
    // Anything the re-verification still had in flight.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restart_calls = emulator.calls();
    let restart_writes = book.writes.load(Ordering::SeqCst) - writes_before;
    let restart_requests = operator_requests(&cp, audit_restart0, audit_mark(&cp))?;
    let rss_restarted = peak_rss_mib(op.pid().unwrap_or(0));
    let audit_delete0 = audit_mark(&cp);

    emulator.reset_calls();
    // All at once: 32 delete requests in flight. A loop of single deletes paced the deletion by
    // the bench's own round trips (about 12 a second while the apiserver was busy), and one
    // deletecollection request is no faster: the apiserver works through it one object at a time.
    let t = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| {
            let lvs = lvs.clone();
            async move { lvs.delete(&format!("vol-{i:04}"), &DeleteParams::default()).await.map(|_| ()) }
        })
        .buffer_unordered(32)
        .try_collect::<()>()
        .await?;
    let delete_request = t.elapsed();
    loop {
        // One item is enough to know whether any is left (a full list of 1000 every 250 ms
        // would load the apiserver the operator is using).
        let left = lvs.list(&ListParams::default().limit(1)).await?.items.len();
        if left == 0 {
            break;
        }
        if t.elapsed() > deadline {
            bail!("{left} volumes not deleted after {deadline:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let to_deleted = t.elapsed();
    let delete_calls = emulator.calls();
    let audit_delete1 = audit_mark(&cp);
    // Someone else's file systems stay; any other one left is a leak.
    let leftover_fs = emulator
        .inventory()
        .file_systems
        .iter()
        .filter(|f| f.tags.get("team").map(String::as_str) != Some(FOREIGN_TEAM))
        .count();

    let per = |x: f64| x / n as f64;
    println!();
    println!(
        "## lustre-bench: {n} volumes, emulator creation time {create_secs} s + spread {spread_secs} s \
         (`CREATE_SPREAD_SECONDS`), operator defaults (poll {DEFAULT_POLL_SECS} s)"
    );
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| control plane start (cached binaries) | {:.1} s |", cp_start.as_secs_f64());
    println!("| file systems of someone else's in the account (`FOREIGN_FILE_SYSTEMS`) | {foreign} |");
    println!("| create requests for {n} volumes (bench, sequential) | {:.1} s |", applied.as_secs_f64());
    println!("| apply -> all {n} Ready (claims Bound) | {:.1} s |", to_ready.as_secs_f64());
    println!(
        "| AVAILABLE -> Ready per volume: p50 / p90 / p99 / max | {:.2} / {:.2} / {:.2} / {:.2} s (min {:.2}) |",
        pct(&latencies, 0.50),
        pct(&latencies, 0.90),
        pct(&latencies, 0.99),
        pct(&latencies, 1.0),
        latencies.first().copied().unwrap_or(f64::NAN)
    );
    for (label, p) in [
        "- AVAILABLE -> PV created (operator)",
        "- PV created -> claim Bound (kube-controller-manager)",
        "- claim Bound -> Ready (operator's status write)",
    ]
    .iter()
    .zip(&parts)
    {
        println!(
            "| {label}: p50 / p90 / p99 / max | {:.2} / {:.2} / {:.2} / {:.2} s |",
            pct(p, 0.50),
            pct(p, 0.90),
            pct(p, 0.99),
            pct(p, 1.0)
        );
    }
    println!(
        "| AWS calls until all Ready | {} ({:.2} per volume) |",
        ready_calls.total(),
        per(ready_calls.total() as f64)
    );
    for (k, v) in by_operation(&ready_calls) {
        println!("| - {k} | {v} ({:.2} per volume) |", per(v as f64));
    }
    let busiest = rates.iter().max().copied().unwrap_or(0);
    let mean = rates.iter().sum::<u64>() as f64 / rates.len().max(1) as f64;
    println!("| AWS calls per second until all Ready (1 s samples): busiest / mean | {busiest} / {mean:.1} |");
    let throttled_calls: u64 = ready_calls
        .calls
        .iter()
        .filter(|c| c.outcome.contains("Throttl") || c.outcome == "RequestLimitExceeded")
        .map(|c| c.count)
        .sum();
    println!("| calls answered with throttling until all Ready | {throttled_calls} |");
    println!(
        "| volumes whose Ready condition said AwsThrottled | {} |",
        book.throttled.lock().unwrap_or_else(|e| e.into_inner()).len()
    );
    println!(
        "| volumes seen Failed, Lost or AwsRefused | {} |",
        book.terminal.lock().unwrap_or_else(|e| e.into_inner()).len()
    );
    println!("| AWS calls in {} s of stable state | {stable_calls} |", STABLE_WINDOW.as_secs());
    println!(
        "| LustreVolume writes (resourceVersion changes) in {} s of stable state | {stable_writes} |",
        STABLE_WINDOW.as_secs()
    );
    println!("| operator apiserver requests in {} s of stable state | {stable_requests} |", STABLE_WINDOW.as_secs());
    println!("| restart: operator ready (caches synced) | {:.1} s |", restart_ready.as_secs_f64());
    println!("| restart: all {n} volumes re-verified (reconciled once) | {:.1} s |", restart_verified.as_secs_f64());
    println!("| restart: AWS calls | {} |", restart_calls.total());
    for (k, v) in by_operation(&restart_calls) {
        println!("| - {k} | {v} |");
    }
    println!("| restart: LustreVolume writes | {restart_writes} |");
    let restart_total: u64 = restart_requests.values().sum();
    println!("| restart: operator apiserver requests | {restart_total} |");
    for (k, v) in &restart_requests {
        println!("| - {k} | {v} |");
    }
    println!(
        "| delete {n} volumes (32 requests in flight, all sent in {:.1} s) -> all gone | {:.1} s |",
        delete_request.as_secs_f64(),
        to_deleted.as_secs_f64()
    );
    println!(
        "| AWS calls during deletion | {} ({:.2} per volume) |",
        delete_calls.total(),
        per(delete_calls.total() as f64)
    );
    for (k, v) in by_operation(&delete_calls) {
        println!("| - {k} | {v} ({:.2} per volume) |", per(v as f64));
    }
    println!("| file systems left in AWS (not counting someone else's) | {leftover_fs} |");
    println!("| operator peak RSS (VmHWM), first process until all Ready and stable | {rss:.1} MiB |");
    println!("| operator peak RSS (VmHWM), restarted process until all re-verified (before deletion) | {rss_restarted:.1} MiB |");
    println!(
        "| operator peak RSS (VmHWM), restarted process until all deleted | {:.1} MiB |",
        peak_rss_mib(op.pid().unwrap_or(0)).max(rss_restarted)
    );
    println!();
    println!(
        "The operator's apiserver requests per volume (kube-apiserver audit log, User-Agent lustre-operator/*; \
         watches count when they end):"
    );
    println!();
    println!("| verb resource | apply -> all Ready | deletion |");
    println!("|---|---|---|");
    let create_phase = operator_requests(&cp, audit0, audit1)?;
    let delete_phase = operator_requests(&cp, audit_delete0, audit_delete1)?;
    let mut keys: Vec<&String> = create_phase.keys().chain(delete_phase.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let c = create_phase.get(k).copied().unwrap_or(0) as f64;
        let d = delete_phase.get(k).copied().unwrap_or(0) as f64;
        println!("| {k} | {:.2} | {:.2} |", per(c), per(d));
    }
    let (c, d): (u64, u64) = (create_phase.values().sum(), delete_phase.values().sum());
    println!("| **all** | **{:.2}** | **{:.2}** |", per(c as f64), per(d as f64));
    println!();
    println!(
        "kube-controller-manager's writes per volume until all Ready (audit log, User-Agent \
         kube-controller-manager/*; at its default 20 requests per second these pace the binding):"
    );
    println!();
    println!("| verb resource | apply -> all Ready |");
    println!("|---|---|");
    let kcm = requests_of(&cp, "kube-controller-manager/", audit0, audit1)?;
    let writes: Vec<(&String, &u64)> = kcm
        .iter()
        .filter(|(k, _)| !k.starts_with("get ") && !k.starts_with("list ") && !k.starts_with("watch "))
        .collect();
    for (k, n) in &writes {
        println!("| {k} | {:.2} |", per(**n as f64));
    }
    let all: u64 = writes.iter().map(|(_, n)| **n).sum();
    println!("| **all writes** | **{:.2}** |", per(all as f64));
    // The operator's log goes with the control plane's folder unless asked for.
    if let Ok(keep) = std::env::var("LUSTRE_BENCH_OPERATOR_LOG") {
        std::fs::copy(cp.dir().join("operator.log"), &keep).with_context(|| format!("copying the log to {keep}"))?;
        let _ = std::fs::copy(cp.dir().join("operator-2.log"), format!("{keep}.restarted"));
    }
    if leftover_fs != 0 {
        bail!("file systems were left behind");
    }
    Ok(())
}
