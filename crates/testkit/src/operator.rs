//! The operator under test: the real `lustre-operator` binary as its own process (so a test can
//! SIGKILL it), pointed at the shared control plane and at an in-process AWS emulator.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_emulator::{Emulator, EmulatorConfig};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::{discovery, Client};
use lustre_api::class::{ClassNetwork, ClassSubnet};
use lustre_api::{LustreClass, LustreClassSpec, LustreVolume};
use serde_json::Value;

use crate::control_plane::workspace_root;
use crate::process::{free_port, ManagedChild};
use crate::{namespace, TestNamespace};

/// Path of the operator binary: `$LUSTRE_OPERATOR_BIN` when set (it must exist; `make bench`
/// points it at the release build), otherwise the workspace's debug build, built when missing.
pub fn operator_binary() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("LUSTRE_OPERATOR_BIN").filter(|b| !b.is_empty()) {
        let bin = PathBuf::from(bin);
        if !bin.exists() {
            bail!("LUSTRE_OPERATOR_BIN={} does not exist", bin.display());
        }
        return Ok(bin);
    }
    let target =
        std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| workspace_root().join("target"));
    let bin = target.join("debug/lustre-operator");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "lustre-operator"])
            .current_dir(workspace_root())
            .status()
            .context("running cargo build -p lustre-operator")?;
        if !status.success() {
            bail!("cargo build -p lustre-operator failed");
        }
    }
    // `cargo test -p e2e` does not rebuild the operator: a test must not pass or fail on code
    // that is no longer in the tree.
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).context("reading the operator binary's time")?;
    let root = workspace_root();
    let newest = ["crates/operator", "crates/api"].iter().filter_map(|dir| newest_change(&root.join(dir))).max();
    if newest.is_some_and(|t| t > built) {
        bail!(
            "{} is older than the operator's sources; run `cargo build -p lustre-operator` first \
             (`make test` and `cargo test --workspace` build it)",
            bin.display()
        );
    }
    Ok(bin)
}

/// The latest modification time of the `.rs` and `Cargo.toml` files under `dir`.
fn newest_change(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let time = if path.is_dir() {
            newest_change(&path)
        } else if path.extension().is_some_and(|e| e == "rs") || path.ends_with("Cargo.toml") {
            entry.metadata().and_then(|m| m.modified()).ok()
        } else {
            None
        };
        newest = newest.max(time);
    }
    newest
}

/// Installs (or updates) the CRDs, LustreVolume ([`lustre_api::crd`]), LustreClass
/// ([`lustre_api::class_crd`]) and LustreDataTask ([`lustre_api::task_crd`]), and waits until
/// all are served.
pub async fn install_crds(client: &Client) -> Result<()> {
    apply_crd(client, &serde_json::to_value(lustre_api::crd())?).await?;
    apply_crd(client, &serde_json::to_value(lustre_api::class_crd())?).await?;
    apply_crd(client, &serde_json::to_value(lustre_api::task_crd())?).await
}

/// Applies a CRD for real (server-side apply, forced) and waits until it is Established and its
/// kind is discoverable and listable.
pub async fn apply_crd(client: &Client, crd: &Value) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = crd["metadata"]["name"].as_str().context("CRD without metadata.name")?;
    crds.patch(name, &PatchParams::apply("testkit").force(), &Patch::Apply(crd))
        .await
        .with_context(|| format!("applying CRD {name}"))?;
    crate::wait::wait_for(&crds, name, Duration::from_secs(60), "the CRD to be Established", |c| {
        c.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Established" && c.status == "True"))
    })
    .await?;
    // Discovery and the new endpoint lag the Established condition by a moment.
    let gvk = GroupVersionKind::gvk(
        crd["spec"]["group"].as_str().unwrap_or_default(),
        crd["spec"]["versions"][0]["name"].as_str().unwrap_or_default(),
        crd["spec"]["names"]["kind"].as_str().unwrap_or_default(),
    );
    crate::wait::wait_until(Duration::from_secs(30), &format!("{name} to be served"), || {
        let (client, gvk) = (client.clone(), gvk.clone());
        async move {
            let (ar, _) = discovery::pinned_kind(&client, &gvk).await.map_err(|e| e.to_string())?;
            let api: Api<DynamicObject> = Api::all_with(client, &ar);
            api.list(&Default::default()).await.map(|_| true).map_err(|e| e.to_string())
        }
    })
    .await
}

/// Options for the operator process.
#[derive(Clone, Debug)]
pub struct OperatorOptions {
    pub poll_interval_secs: u64,
    pub resync_secs: u64,
    pub leader_elect: bool,
    /// `--aws-max-calls-per-second`; None: the operator's default.
    pub aws_max_calls_per_second: Option<u32>,
    /// `--orphan-sweep-after`, `--orphan-sweep-every`, `--orphan-grace` in seconds. The default
    /// here puts the first sweep an hour after start, past the end of any test: tests count the
    /// operator's AWS calls, and a sweep (two calls for the whole operator) landing in a counted
    /// window would be noise. The sweep's own tests set it short.
    pub orphan_sweep: (u64, u64, u64),
}

impl Default for OperatorOptions {
    fn default() -> Self {
        OperatorOptions {
            poll_interval_secs: 1,
            resync_secs: 300,
            leader_elect: false,
            aws_max_calls_per_second: None,
            orphan_sweep: (3600, 600, 600),
        }
    }
}

/// Which namespaces an operator process watches and which pod it pretends to be.
#[derive(Clone, Debug, Default)]
pub struct Launch {
    /// `--namespaces`; empty: no flag at all, the operator watches every namespace.
    pub namespaces: Vec<String>,
    /// `POD_NAMESPACE`: where the leader Lease lives (and the operator's own namespace).
    pub pod_namespace: String,
    /// `POD_NAME`: the leader-election identity and the events' reporting instance.
    pub pod_name: Option<String>,
}

impl Launch {
    /// Watching only `namespace`, which is also the pod's namespace (what every [`Harness`] does).
    pub fn namespace(namespace: &str) -> Launch {
        Launch { namespaces: vec![namespace.to_string()], pod_namespace: namespace.to_string(), pod_name: None }
    }

    /// Watching every namespace, as a cluster-wide install runs; the pod lives in `pod_namespace`.
    pub fn all_namespaces(pod_namespace: &str) -> Launch {
        Launch { namespaces: Vec::new(), pod_namespace: pod_namespace.to_string(), pod_name: None }
    }
}

/// A running operator process.
pub struct OperatorProcess {
    child: ManagedChild,
    pub metrics_port: u16,
}

impl OperatorProcess {
    /// Starts the operator watching `namespace` and waits until /readyz answers 200.
    pub async fn start(
        kubeconfig: &std::path::Path,
        endpoint: &str,
        namespace: &str,
        opts: &OperatorOptions,
        log: PathBuf,
    ) -> Result<OperatorProcess> {
        OperatorProcess::launch(kubeconfig, endpoint, &Launch::namespace(namespace), opts, log).await
    }

    /// Starts the operator as `launch` says (which namespaces, which pod) and waits until /readyz
    /// answers 200.
    pub async fn launch(
        kubeconfig: &std::path::Path,
        endpoint: &str,
        launch: &Launch,
        opts: &OperatorOptions,
        log: PathBuf,
    ) -> Result<OperatorProcess> {
        let bin = operator_binary()?;
        let port = free_port()?;
        let mut cmd = Command::new(bin);
        cmd.arg("run");
        if !launch.namespaces.is_empty() {
            cmd.arg(format!("--namespaces={}", launch.namespaces.join(",")));
        }
        cmd.arg(format!("--metrics-addr=127.0.0.1:{port}"))
            .arg("--log-format=text")
            .arg(format!("--poll-interval={}", opts.poll_interval_secs))
            .arg(format!("--resync-interval={}", opts.resync_secs))
            .args(opts.aws_max_calls_per_second.map(|n| format!("--aws-max-calls-per-second={n}")))
            .arg(format!("--orphan-sweep-after={}", opts.orphan_sweep.0))
            .arg(format!("--orphan-sweep-every={}", opts.orphan_sweep.1))
            .arg(format!("--orphan-grace={}", opts.orphan_sweep.2))
            // Never inherited: an empty namespace list must mean every namespace.
            .env_remove("WATCH_NAMESPACES")
            .env_remove("LEADER_ELECT")
            .env_remove("POD_NAME")
            .env("KUBECONFIG", kubeconfig)
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("POD_NAMESPACE", &launch.pod_namespace)
            .env("RUST_LOG", "info,lustre_operator=debug,kube=warn,aws=warn,hyper=warn");
        if let Some(pod) = &launch.pod_name {
            cmd.env("POD_NAME", pod);
        }
        if opts.leader_elect {
            cmd.env("LEADER_ELECT", "true");
        }
        let mut child = ManagedChild::spawn("lustre-operator", cmd, &log)?;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            child.check_running()?;
            if http_status(port, "/readyz").await == Some(200) {
                return Ok(OperatorProcess { child, metrics_port: port });
            }
            if std::time::Instant::now() > deadline {
                bail!("operator not ready after 60s; log:\n{}", child.log_tail(40));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.check_running().is_ok()
    }

    /// The whole log of this process.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.child.log_path()).unwrap_or_default()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.pid()
    }

    /// SIGKILL, no cleanup: a crash.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    pub fn log_tail(&self, lines: usize) -> String {
        self.child.log_tail(lines)
    }

    /// The /metrics text.
    pub async fn metrics(&self) -> String {
        http_get(self.metrics_port, "/metrics").await.unwrap_or_default()
    }
}

/// The sum of the samples in Prometheus text whose line starts with `prefix` (a metric name, or a
/// name with some of its labels: `name{label="value"`); 0 when there is none.
pub fn metric_sum(metrics: &str, prefix: &str) -> f64 {
    metrics.lines().filter(|l| l.starts_with(prefix)).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
}

/// A temporary folder for process logs (removed when dropped).
pub fn log_dir(prefix: &str) -> Result<tempfile::TempDir> {
    Ok(tempfile::Builder::new().prefix(&format!("lustre-e2e-{prefix}-")).tempdir()?)
}

/// The status code of a plain HTTP GET on 127.0.0.1:`port`, or None when nothing answers.
pub async fn http_status(port: u16, path: &str) -> Option<u16> {
    let text = http_raw(port, path).await?;
    text.split_whitespace().nth(1)?.parse().ok()
}

async fn http_get(port: u16, path: &str) -> Option<String> {
    let text = http_raw(port, path).await?;
    text.split_once("\r\n\r\n").map(|(_, body)| body.to_string())
}

async fn http_raw(port: u16, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::time::timeout(Duration::from_millis(500), tokio::net::TcpStream::connect(("127.0.0.1", port)))
        .await
        .ok()?
        .ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut buf)).await.ok()?.ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Everything one end-to-end test needs: a namespace on the shared control plane with the CRDs,
/// a fresh emulator, the test's own LustreClass and an operator process watching that namespace.
///
/// The class is cluster-scoped, so it is named after the namespace ([`Harness::class`]); it offers
/// the emulator's first seeded subnet (with its availability zone), no client sources, and only
/// the test's namespace may use it. It is deleted when the harness is dropped.
pub struct Harness {
    pub ns: TestNamespace,
    pub emulator: Emulator,
    pub operator: Option<OperatorProcess>,
    pub options: OperatorOptions,
    /// The name of the test's LustreClass (the namespace's name).
    pub class: String,
    /// The class's subnet: the emulator's first seeded subnet.
    pub subnet_id: String,
    /// That subnet's availability zone, when the emulator's seed has one.
    pub availability_zone: Option<String>,
    log_dir: tempfile::TempDir,
    restarts: u32,
}

/// The LustreClass a harness starts with: `subnet` (in `zone`) as the only subnet, no client
/// sources, every other field at its default, usable only from `namespace`.
pub fn test_class_spec(subnet: &str, zone: Option<&str>, namespace: &str) -> Result<LustreClassSpec> {
    let mut spec: LustreClassSpec = serde_json::from_value(serde_json::json!({
        "network": {"subnets": []},
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    }))?;
    spec.network = ClassNetwork {
        subnets: vec![ClassSubnet { subnet_id: subnet.to_string(), availability_zone: zone.map(str::to_string) }],
        ..ClassNetwork::default()
    };
    Ok(spec)
}

impl Harness {
    /// A harness with the default test class, the operator running.
    pub async fn start(prefix: &str, config: EmulatorConfig, options: OperatorOptions) -> Result<Harness> {
        Harness::start_with(prefix, config, options, |_| {}).await
    }

    /// A harness whose class is changed by `class` before it is created (limits, adoption,
    /// `allowRetain`, S3 prefixes...), the operator running.
    pub async fn start_with(
        prefix: &str,
        config: EmulatorConfig,
        options: OperatorOptions,
        class: impl FnOnce(&mut LustreClassSpec),
    ) -> Result<Harness> {
        let mut h = Harness::prepare(prefix, config, options, class).await?;
        h.start_operator().await?;
        Ok(h)
    }

    /// Everything but the operator: for tests that must prepare AWS (and update the class with
    /// [`Harness::update_class`]) before the operator first reads the class. Start it with
    /// [`Harness::start_operator`].
    pub async fn prepare(
        prefix: &str,
        config: EmulatorConfig,
        options: OperatorOptions,
        class: impl FnOnce(&mut LustreClassSpec),
    ) -> Result<Harness> {
        let ns = namespace(prefix).await?;
        install_crds(&ns.client).await?;
        let emulator = Emulator::start(config).await?;
        let seed = emulator.seed();
        let subnet_id = seed.subnet_ids.first().cloned().context("emulator has a seeded subnet")?;
        let availability_zone = seed.availability_zones.first().cloned();
        let log_dir = tempfile::Builder::new().prefix(&format!("lustre-e2e-{prefix}-")).tempdir()?;
        let mut spec = test_class_spec(&subnet_id, availability_zone.as_deref(), &ns.name)?;
        class(&mut spec);
        let mut object = LustreClass::new(&ns.name, spec);
        object.metadata.labels = Some([("app.kubernetes.io/part-of".to_string(), "lustre-e2e".to_string())].into());
        Api::<LustreClass>::all(ns.client.clone())
            .create(&PostParams::default(), &object)
            .await
            .with_context(|| format!("creating LustreClass {}", ns.name))?;
        let class = ns.name.clone();
        Ok(Harness { ns, emulator, operator: None, options, class, subnet_id, availability_zone, log_dir, restarts: 0 })
    }

    /// Starts (or restarts) the operator process.
    pub async fn start_operator(&mut self) -> Result<()> {
        let cp = tokio::task::spawn_blocking(crate::shared).await??;
        self.restarts += 1;
        let log = self.log_dir.path().join(format!("operator-{}.log", self.restarts));
        self.operator = Some(
            OperatorProcess::start(cp.kubeconfig(), &self.emulator.endpoint(), &self.ns.name, &self.options, log)
                .await?,
        );
        Ok(())
    }

    /// SIGKILLs the operator.
    pub fn kill_operator(&mut self) {
        if let Some(mut op) = self.operator.take() {
            op.kill();
        }
    }

    pub fn lvs(&self) -> Api<LustreVolume> {
        Api::namespaced(self.ns.client.clone(), &self.ns.name)
    }

    /// LustreClasses (cluster-scoped).
    pub fn classes(&self) -> Api<LustreClass> {
        Api::all(self.ns.client.clone())
    }

    /// Changes the test's class: reads it, applies `change` to its spec and replaces it (retrying
    /// on a conflict with the operator's status writes). Returns the class as stored.
    pub async fn update_class(&self, change: impl Fn(&mut LustreClassSpec)) -> Result<LustreClass> {
        let classes = self.classes();
        for _ in 0..5 {
            let mut class = classes.get(&self.class).await?;
            change(&mut class.spec);
            match classes.replace(&self.class, &PostParams::default(), &class).await {
                Err(kube::Error::Api(s)) if s.code == 409 => continue,
                other => return other.with_context(|| format!("updating LustreClass {}", self.class)),
            }
        }
        bail!("LustreClass {} kept changing under the update", self.class)
    }

    /// The operator's recent log, for failure messages.
    pub fn operator_log(&self) -> String {
        self.operator.as_ref().map(|o| o.log_tail(60)).unwrap_or_default()
    }

    /// Security groups other than the VPC's default one.
    pub fn managed_security_groups(&self) -> Vec<aws_emulator::SecurityGroupInfo> {
        let default = self.emulator.seed().default_security_group_id;
        self.emulator.inventory().security_groups.into_iter().filter(|g| g.id != default).collect()
    }
}

impl Drop for Harness {
    /// Deletes the test's LustreClass (cluster-scoped: the namespace does not take it along).
    /// Runs on its own thread and runtime: a test's runtime cannot be blocked on from inside, and
    /// the test's client belongs to that runtime.
    fn drop(&mut self) {
        let name = self.class.clone();
        crate::clean_up_after(&format!("LustreClass {name}"), Duration::from_secs(10), move |client| async move {
            match Api::<LustreClass>::all(client).delete(&name, &DeleteParams::default()).await {
                Ok(_) | Err(kube::Error::Api(_)) => Ok(()),
                Err(e) => Err(e.into()),
            }
        });
    }
}
