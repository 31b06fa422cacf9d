//! `lustre-operator run` starts the controller; `lustre-operator crd` prints the CRD.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use lustre_operator::aws::poller::FileSystemPoller;
use lustre_operator::aws::{Aws, CallBudget};
use lustre_operator::process::limits;
use lustre_operator::process::metrics::Metrics;
use lustre_operator::process::{admin, leader};
use lustre_operator::{data_task, volume};
use lustre_operator::{Context, Timing};

#[derive(Parser)]
#[command(name = "lustre-operator", version, about = "Amazon FSx for Lustre volumes for Kubernetes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controller.
    Run(RunArgs),
    /// Print the CustomResourceDefinitions (LustreVolume, LustreClass, LustreDataTask) as YAML.
    Crd,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Text,
}

#[derive(Parser)]
struct RunArgs {
    /// AWS region. The endpoint comes from the standard AWS_ENDPOINT_URL when set.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    /// Namespaces to watch, comma-separated; empty watches all.
    #[arg(long, env = "WATCH_NAMESPACES", value_delimiter = ',', default_value = "")]
    namespaces: Vec<String>,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "METRICS_ADDR", default_value = "0.0.0.0:8080")]
    metrics_addr: SocketAddr,
    /// Hold a Lease before reconciling (for more than one replica).
    #[arg(long, env = "LEADER_ELECT", default_value_t = false)]
    leader_elect: bool,
    /// Namespace of the leader Lease (defaults to POD_NAMESPACE).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    lease_namespace: String,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "json")]
    log_format: LogFormat,
    /// Seconds between polls of file systems that are changing (batched DescribeFileSystems); a
    /// running data task is looked at every min(this, 5) seconds.
    #[arg(long, env = "POLL_INTERVAL", default_value_t = 15)]
    poll_interval: u64,
    /// Seconds between full re-checks of stable volumes (AWS drift, security-group rules).
    #[arg(long, env = "RESYNC_INTERVAL", default_value_t = 600)]
    resync_interval: u64,
    /// At most this many AWS calls per second, FSx and EC2 together, in bursts of at most as many
    /// (a token bucket; 0: no limit). The SDK's own retries are off, so this bounds every request;
    /// throttled calls are retried by the controller with backoff per volume.
    #[arg(long, env = "AWS_MAX_CALLS_PER_SECOND", default_value_t = limits::AWS_CALLS_PER_SECOND)]
    aws_max_calls_per_second: u32,
    /// Of those, at most this many CreateFileSystem calls per second (a token bucket of the same
    /// size; 0: no limit of their own). File systems then finish no faster than the cluster's PV
    /// binder marks their PVs Bound (kube-controller-manager binds about 20 a second at its
    /// default client rate), and a runaway apply creates file systems at a bounded pace.
    #[arg(long, env = "AWS_MAX_CREATIONS_PER_SECOND", default_value_t = limits::AWS_CREATIONS_PER_SECOND)]
    aws_max_creations_per_second: u32,
    /// Seconds after start of the first sweep for orphans: what the operator made for a
    /// LustreVolume that is gone (its finalizer removed by hand, or deleted while the operator
    /// was down). One FSx listing and one DescribeSecurityGroups per sweep.
    #[arg(long, env = "ORPHAN_SWEEP_AFTER", default_value_t = 120)]
    orphan_sweep_after: u64,
    /// Seconds between two sweeps for orphans.
    #[arg(long, env = "ORPHAN_SWEEP_EVERY", default_value_t = 600)]
    orphan_sweep_every: u64,
    /// Seconds something must have been an orphan (seen so by sweeps that far apart) before the
    /// sweep deletes it (under the deletion policy recorded on it) or reports keeping it.
    #[arg(long, env = "ORPHAN_GRACE", default_value_t = 600)]
    orphan_grace: u64,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd => {
            print!("{}", lustre_api::crd_yaml());
            Ok(())
        }
        Command::Run(args) => {
            lustre_operator::process::allocator::limit_arenas();
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(args))
        }
    }
}

/// The operator's User-Agent towards the apiserver.
const USER_AGENT: &str = concat!("lustre-operator/", env!("CARGO_PKG_VERSION"));

async fn run(args: RunArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (client, lease_client) = kube_clients().await?;
    let metrics = Metrics::new();
    let ready = Arc::new(AtomicBool::new(false));
    tokio::spawn({
        let (ready, metrics, addr) = (ready.clone(), metrics.clone(), args.metrics_addr);
        async move {
            if let Err(e) = admin::serve(addr, ready, metrics).await {
                tracing::error!(error = %e, "admin server failed");
                std::process::exit(1);
            }
        }
    });
    let ctx = Arc::new(context(&args, client, metrics).await);
    if args.leader_elect {
        lead(&args, &ctx, &ready, lease_client).await?;
    }
    tokio::spawn(shut_down_within_10_seconds());

    let sweep = volume::orphans::Sweep {
        first_after: Duration::from_secs(args.orphan_sweep_after),
        every: Duration::from_secs(args.orphan_sweep_every.max(1)),
        grace: Duration::from_secs(args.orphan_grace),
    };
    let namespaces: Vec<String> = args.namespaces.into_iter().filter(|n| !n.is_empty()).collect();
    tracing::info!(region = %args.region, namespaces = ?namespaces, "starting lustre-operator");
    if namespaces.is_empty() {
        controllers(ctx, None, ready, sweep).await;
    } else {
        // One pair of controllers per namespace; ready once all have synced.
        let flags: Vec<Arc<AtomicBool>> = namespaces.iter().map(|_| Arc::new(AtomicBool::new(false))).collect();
        tokio::spawn({
            let flags = flags.clone();
            async move {
                loop {
                    if flags.iter().all(|f| f.load(std::sync::atomic::Ordering::SeqCst)) {
                        ready.store(true, std::sync::atomic::Ordering::SeqCst);
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
        let runs =
            namespaces.iter().zip(flags).map(|(ns, flag)| controllers(ctx.clone(), Some(ns.clone()), flag, sweep));
        futures::future::join_all(runs).await;
    }
    Ok(())
}

/// The operator's client (at most `limits::APISERVER_IN_FLIGHT` requests in flight) and the
/// leader lease's own: a renewal never queues behind a burst of passes.
async fn kube_clients() -> anyhow::Result<(kube::Client, kube::Client)> {
    let mut config = kube::Config::infer().await.context("finding the Kubernetes configuration")?;
    // The apiserver's audit log and metrics name the operator by this.
    config.headers.push((http::header::USER_AGENT, http::HeaderValue::from_static(USER_AGENT)));
    let lease_client = kube::Client::try_from(config.clone()).context("connecting to Kubernetes")?;
    let client = kube::client::ClientBuilder::try_from(config)
        .context("connecting to Kubernetes")?
        .with_layer(&limits::apiserver_in_flight())
        .build();
    Ok((client, lease_client))
}

/// What every reconcile shares: the AWS clients under their budgets, the poller, the timing.
async fn context(args: &RunArgs, client: kube::Client, metrics: Metrics) -> Context {
    // No SDK retries: the controller retries with backoff per volume, and the call budget then
    // bounds every request the operator makes.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(args.region.clone()))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let aws = Aws::new(
        &sdk,
        metrics.clone(),
        CallBudget::per_second(args.aws_max_calls_per_second),
        CallBudget::per_second(args.aws_max_creations_per_second),
    );
    let resync = Duration::from_secs(args.resync_interval.max(1));
    let poller = FileSystemPoller::new(aws.clone(), Duration::from_secs(args.poll_interval.max(1)), resync);
    tokio::spawn(poller.clone().run());
    let timing = Timing {
        resync,
        in_transition: Duration::from_secs(args.poll_interval.max(1) * 4),
        // A running data task is looked at every few seconds: the poll interval, at most 5 s.
        task_poll: Duration::from_secs(args.poll_interval.clamp(1, 5)),
    };
    Context::new(client, aws, poller, metrics, timing)
}

/// Waits until this replica holds the leader lease. A standby replica is ready once its caches
/// have synced (so a rolling update can go on); only the holder runs the controllers, and so only
/// it writes.
async fn lead(args: &RunArgs, ctx: &Arc<Context>, ready: &Arc<AtomicBool>, client: kube::Client) -> anyhow::Result<()> {
    tokio::spawn({
        let (ctx, ready) = (ctx.clone(), ready.clone());
        async move {
            if ctx.caches_synced().await {
                ready.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
    });
    let identity = std::env::var("POD_NAME").unwrap_or_else(|_| format!("lustre-operator-{}", std::process::id()));
    let lease = leader::LeaseConfig {
        namespace: args.lease_namespace.clone(),
        name: "lustre-operator".into(),
        identity,
        duration: Duration::from_secs(15),
    };
    leader::acquire(client, lease).await
}

/// The controllers shut down gracefully on SIGTERM/SIGINT; never take longer than 10 s.
async fn shut_down_within_10_seconds() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => futures::future::pending::<()>().await } } => {}
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    tracing::warn!("graceful shutdown took longer than 10s; exiting");
    std::process::exit(0);
}

/// Both controllers over all namespaces or one: the LustreVolume controller, and beside it the
/// LustreDataTask controller, which finds its volumes in the first one's cache.
async fn controllers(
    ctx: Arc<Context>,
    namespace: Option<String>,
    ready: Arc<AtomicBool>,
    sweep: volume::orphans::Sweep,
) {
    let (volumes, store) = volume::controller(ctx.clone(), namespace.clone(), ready, sweep);
    let tasks = data_task::run(ctx, namespace, store);
    futures::future::join(volumes, tasks).await;
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,kube=warn,aws=warn,hyper=warn".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder.json().init(),
        // Colours only on a terminal: a log file or a collector gets plain text.
        LogFormat::Text => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout())).init(),
    }
}
