//! `make bench`: N LustreVolumes created at once against the local control plane and the AWS
//! emulator. Measures time to all Ready, AWS calls by operation (the batched poller's effect),
//! AWS calls while stable, time to delete everything, and the operator's peak memory.
//!
//! Usage: lustre-bench [VOLUMES] [CREATE_SECONDS]   (defaults 50 and 5)

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use aws_emulator::{Emulator, EmulatorConfig};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use lustre_api::{LustreClass, LustreVolume};
use testkit::{install_crds, test_class_spec, ControlPlane, OperatorOptions, OperatorProcess};

const NS: &str = "bench";

fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(50);
    let create_secs: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5);

    let t = Instant::now();
    let cp = tokio::task::spawn_blocking(ControlPlane::start).await??;
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
    let emulator = Emulator::start(EmulatorConfig {
        create_duration: Duration::from_secs(create_secs),
        delete_duration: Duration::from_secs(2),
        ..Default::default()
    })
    .await?;
    // The class every volume names: the emulator's first subnet, usable from the bench namespace.
    let seed = emulator.seed();
    let class = LustreClass::new(
        NS,
        test_class_spec(&seed.subnet_ids[0], seed.availability_zones.first().map(String::as_str), NS)?,
    );
    Api::<LustreClass>::all(client.clone()).create(&PostParams::default(), &class).await?;
    let op = OperatorProcess::start(
        cp.kubeconfig(),
        &emulator.endpoint(),
        NS,
        &OperatorOptions { poll_interval_secs: 1, ..Default::default() },
        cp.dir().join("operator.log"),
    )
    .await?;
    let pid = op.pid().unwrap_or(0);

    let lvs: Api<LustreVolume> = Api::namespaced(client.clone(), NS);
    let t = Instant::now();
    for i in 0..n {
        let lv: LustreVolume = serde_json::from_value(serde_json::json!({
            "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": format!("vol-{i:04}")},
            "spec": {"storageCapacityGiB": 1200, "className": NS}
        }))?;
        lvs.create(&PostParams::default(), &lv).await?;
    }
    loop {
        let ready = lvs
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .filter(|lv| {
                lv.status
                    .as_ref()
                    .is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
            .count();
        if ready == n {
            break;
        }
        if t.elapsed() > Duration::from_secs(600) {
            bail!("only {ready}/{n} ready after 600s; operator log:\n{}", op.log_tail(30));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let to_ready = t.elapsed();
    let calls = emulator.calls();
    let mut by_op = BTreeMap::new();
    for opname in ["CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "DescribeSecurityGroups", "DescribeSubnets"]
    {
        by_op.insert(opname, calls.count("ec2", opname));
    }
    for opname in ["CreateFileSystem", "DescribeFileSystems"] {
        by_op.insert(opname, calls.count("fsx", opname));
    }
    let total_to_ready = calls.total();

    emulator.reset_calls();
    tokio::time::sleep(Duration::from_secs(15)).await;
    let stable_calls = emulator.calls().total();

    let t = Instant::now();
    for i in 0..n {
        lvs.delete(&format!("vol-{i:04}"), &DeleteParams::default()).await?;
    }
    while !lvs.list(&ListParams::default()).await?.items.is_empty() {
        if t.elapsed() > Duration::from_secs(600) {
            bail!("volumes not deleted after 600s");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let to_deleted = t.elapsed();
    let inv = emulator.inventory();
    let leftover_fs = inv.file_systems.len();
    let rss = peak_rss_mib(pid);

    println!("## lustre-bench: {n} volumes, emulator creation time {create_secs}s, poll interval 1s");
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| control plane start (cached binaries) | {:.1} s |", cp_start.as_secs_f64());
    println!("| create {n} volumes -> all Ready (claims Bound) | {:.1} s |", to_ready.as_secs_f64());
    println!("| AWS calls until all Ready | {total_to_ready} ({:.1} per volume) |", total_to_ready as f64 / n as f64);
    for (k, v) in &by_op {
        println!("| - {k} | {v} |");
    }
    println!("| AWS calls in 15 s of stable state | {stable_calls} |");
    println!("| delete {n} volumes -> all gone | {:.1} s |", to_deleted.as_secs_f64());
    println!("| file systems left in AWS | {leftover_fs} |");
    println!("| operator peak RSS (VmHWM) | {rss:.1} MiB |");
    if leftover_fs != 0 {
        bail!("file systems were left behind");
    }
    Ok(())
}
