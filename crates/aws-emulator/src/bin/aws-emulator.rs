//! `aws-emulator --port N [--state-file F] [--create-seconds S] [--create-spread-seconds S] ...`: the emulator as a process.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use aws_emulator::{Emulator, EmulatorConfig};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Amazon FSx for Lustre + EC2 security-group emulator")]
struct Args {
    #[arg(long, env = "AWS_EMULATOR_PORT", default_value_t = 4566)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Persist state here (atomically, after every mutating call) and reload it at start.
    #[arg(long)]
    state_file: Option<PathBuf>,
    #[arg(long, default_value_t = 2.0)]
    create_seconds: f64,
    /// Each file system's creation takes create-seconds plus up to this much more, fixed by its ID.
    #[arg(long, default_value_t = 0.0)]
    create_spread_seconds: f64,
    #[arg(long, default_value_t = 1.0)]
    delete_seconds: f64,
    #[arg(long, default_value_t = 2.0)]
    update_seconds: f64,
    /// STORAGE_OPTIMIZATION after a storage-capacity increase's UPDATING phase.
    #[arg(long, default_value_t = 2.0)]
    storage_optimization_seconds: f64,
    /// THROUGHPUT_OPTIMIZATION after a throughput change's UPDATING phase.
    #[arg(long, default_value_t = 2.0)]
    throughput_optimization_seconds: f64,
    /// IOPS_OPTIMIZATION after a metadata IOPS increase's UPDATING phase.
    #[arg(long, default_value_t = 2.0)]
    iops_optimization_seconds: f64,
    /// Minimum time between two storage-capacity increase requests (FSx: 6 h).
    #[arg(long, default_value_t = 6.0 * 3600.0)]
    storage_increase_cooldown_seconds: f64,
    /// Minimum time between two metadata IOPS increase requests (FSx: 6 h).
    #[arg(long, default_value_t = 6.0 * 3600.0)]
    metadata_increase_cooldown_seconds: f64,
    #[arg(long, default_value_t = 1.0)]
    task_pending_seconds: f64,
    #[arg(long, default_value_t = 2.0)]
    task_seconds: f64,
    #[arg(long, default_value_t = 8.0 * 3600.0)]
    token_window_seconds: f64,
    #[arg(long, default_value_t = 0.0)]
    network_check_delay_seconds: f64,
    #[arg(long, default_value_t = 100)]
    file_system_quota: u32,
    #[arg(long, default_value_t = 100_800)]
    storage_quota_gib: u64,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long, default_value = "123456789012")]
    account_id: String,
    /// Accept DeleteFileSystem while CREATING (default: BadRequest).
    #[arg(long)]
    allow_delete_while_creating: bool,
    #[arg(long, default_value_t = 1.0)]
    clock_scale: f64,
}

fn secs(name: &str, v: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(v).map_err(|e| anyhow::anyhow!("--{name}: {e}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber_init();
    let a = Args::parse();
    let config = EmulatorConfig {
        create_duration: secs("create-seconds", a.create_seconds)?,
        create_spread: secs("create-spread-seconds", a.create_spread_seconds)?,
        delete_duration: secs("delete-seconds", a.delete_seconds)?,
        update_duration: secs("update-seconds", a.update_seconds)?,
        storage_optimization_duration: secs("storage-optimization-seconds", a.storage_optimization_seconds)?,
        throughput_optimization_duration: secs("throughput-optimization-seconds", a.throughput_optimization_seconds)?,
        iops_optimization_duration: secs("iops-optimization-seconds", a.iops_optimization_seconds)?,
        storage_increase_cooldown: secs("storage-increase-cooldown-seconds", a.storage_increase_cooldown_seconds)?,
        metadata_increase_cooldown: secs("metadata-increase-cooldown-seconds", a.metadata_increase_cooldown_seconds)?,
        task_pending_duration: secs("task-pending-seconds", a.task_pending_seconds)?,
        task_duration: secs("task-seconds", a.task_seconds)?,
        token_window: secs("token-window-seconds", a.token_window_seconds)?,
        network_check_delay: secs("network-check-delay-seconds", a.network_check_delay_seconds)?,
        file_system_quota: a.file_system_quota,
        storage_quota_gib: a.storage_quota_gib,
        state_file: a.state_file,
        region: a.region,
        account_id: a.account_id,
        allow_delete_while_creating: a.allow_delete_while_creating,
        clock_scale: a.clock_scale,
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::start_on(config, SocketAddr::new(a.bind, a.port)).await?;
    println!("aws-emulator listening on {}", emulator.endpoint());
    tokio::signal::ctrl_c().await?;
    emulator.shutdown().await;
    Ok(())
}

fn tracing_subscriber_init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: a log file gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
}
