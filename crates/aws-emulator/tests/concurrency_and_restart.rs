//! 200 concurrent clients against one emulator, and state surviving a restart.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use aws_emulator::EmulatorConfig;
use aws_sdk_fsx::types::FileSystemType;
use common::*;

#[derive(Default)]
struct Told {
    live_groups: Vec<String>,
    deleted_groups: Vec<String>,
    live_file_systems: Vec<String>,
    deleted_file_systems: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_clients_leave_a_consistent_inventory() {
    let cfg = EmulatorConfig {
        create_duration: Duration::ZERO,
        delete_duration: Duration::ZERO,
        allow_delete_while_creating: true,
        file_system_quota: 1000,
        storage_quota_gib: 10_000_000,
        ..EmulatorConfig::default()
    };
    let emu = emulator(cfg).await;
    let seed = emu.seed();
    let endpoint = emu.endpoint();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let endpoint = endpoint.clone();
        let vpc = seed.vpc_id.clone();
        let subnet = seed.subnet_ids[i % 3].clone();
        tasks.push(tokio::spawn(async move {
            let c = clients(&endpoint).await;
            let mut told = Told::default();
            let sg = lustre_sg(&c.ec2, &vpc, &format!("client-{i}")).await;
            if i % 2 == 0 {
                // Security group only; every fourth client deletes it again.
                if i % 4 == 0 {
                    c.ec2.delete_security_group().group_id(&sg).send().await.expect("delete sg");
                    told.deleted_groups.push(sg);
                } else {
                    told.live_groups.push(sg);
                }
                return told;
            }
            let fs = c
                .fsx
                .create_file_system()
                .file_system_type(FileSystemType::Lustre)
                .storage_capacity(1200)
                .subnet_ids(&subnet)
                .security_group_ids(&sg)
                .lustre_configuration(scratch2())
                .client_request_token(format!("client-{i}"))
                .created_id()
                .await;
            if i % 4 == 1 {
                c.fsx.delete_file_system().file_system_id(&fs).send().await.expect("delete fs");
                // The group is free once the file system has left DELETING.
                let mut attempts = 0;
                loop {
                    match c.ec2.delete_security_group().group_id(&sg).send().await {
                        Ok(_) => break,
                        Err(e) => {
                            let c = code(e);
                            assert!(c == "DependencyViolation" && attempts < 50, "delete sg: {c}");
                            attempts += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
                told.deleted_file_systems.push(fs);
                told.deleted_groups.push(sg);
            } else {
                told.live_file_systems.push(fs);
                told.live_groups.push(sg);
            }
            told
        }));
    }
    let mut all = Told::default();
    for t in tasks {
        let told = t.await.expect("client task");
        all.live_groups.extend(told.live_groups);
        all.deleted_groups.extend(told.deleted_groups);
        all.live_file_systems.extend(told.live_file_systems);
        all.deleted_file_systems.extend(told.deleted_file_systems);
    }
    let inv = emu.inventory();
    let groups: BTreeSet<&str> = inv.security_groups.iter().map(|g| g.id.as_str()).collect();
    let file_systems: BTreeSet<&str> = inv.file_systems.iter().map(|f| f.id.as_str()).collect();
    for g in &all.live_groups {
        assert!(groups.contains(g.as_str()), "told {g} exists");
    }
    for g in &all.deleted_groups {
        assert!(!groups.contains(g.as_str()), "told {g} is deleted");
    }
    for f in &all.live_file_systems {
        assert!(file_systems.contains(f.as_str()), "told {f} exists");
    }
    for f in &all.deleted_file_systems {
        assert!(!file_systems.contains(f.as_str()), "told {f} is deleted");
    }
    assert_eq!(all.live_groups.len() + all.deleted_groups.len(), 200);
    assert_eq!(groups.len(), all.live_groups.len() + 1, "plus the default group");
    assert_eq!(file_systems.len(), all.live_file_systems.len());
    assert_eq!(all.live_file_systems.len(), 50);
    assert_eq!(inv.network_interfaces.len(), 2 * all.live_file_systems.len());
    let calls = emu.calls();
    assert_eq!(calls.count_outcome("ec2", "CreateSecurityGroup", "ok"), 200);
    assert_eq!(calls.count_outcome("fsx", "CreateFileSystem", "ok"), 100);
    assert_eq!(calls.count_outcome("fsx", "DeleteFileSystem", "ok"), 50);
}

#[tokio::test]
async fn state_file_survives_a_library_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let cfg = EmulatorConfig { state_file: Some(path.clone()), ..EmulatorConfig::default() };
    let (sg, fs) = {
        let (emu, c) = start(cfg.clone()).await;
        let seed = emu.seed();
        let sg = lustre_sg(&c.ec2, &seed.vpc_id, "persisted").await;
        let fs = create_fs(&c.fsx, &seed.subnet_ids[0], &sg).created_id().await;
        emu.shutdown().await;
        (sg, fs)
    };
    assert!(path.exists());
    let (emu, c) = start(cfg).await;
    let inv = emu.inventory();
    assert!(inv.security_group(&sg).is_some_and(|g| g.ingress.len() == 2));
    assert!(inv.file_system(&fs).is_some());
    c.fsx.describe_file_systems().file_system_ids(&fs).send().await.expect("still there");
    let err = c.ec2.delete_security_group().group_id(&sg).send().await.expect_err("ENIs survived too");
    assert_eq!(code(err), "DependencyViolation");
}

#[tokio::test]
async fn state_file_survives_a_binary_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let exe = env!("CARGO_BIN_EXE_aws-emulator");
    let spawn = |port: u16| {
        ChildGuard(
            std::process::Command::new(exe)
                .args(["--port", &port.to_string(), "--state-file"])
                .arg(&path)
                .args(["--create-seconds", "0.1"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn aws-emulator"),
        )
    };
    let port = free_port();
    let child = spawn(port);
    assert!(wait_for_port(port, Duration::from_secs(20)), "binary listens");
    let c = clients(&format!("http://127.0.0.1:{port}")).await;
    let vpc = c.ec2.describe_vpcs().send().await.expect("vpcs").vpcs()[0].vpc_id().expect("vpc").to_string();
    let subnet =
        c.ec2.describe_subnets().send().await.expect("subnets").subnets()[0].subnet_id().expect("subnet").to_string();
    let sg = lustre_sg(&c.ec2, &vpc, "bin").await;
    let fs = create_fs(&c.fsx, &subnet, &sg).created_id().await;
    drop(child);

    let port = free_port();
    let _child = spawn(port);
    assert!(wait_for_port(port, Duration::from_secs(20)), "binary listens again");
    let c = clients(&format!("http://127.0.0.1:{port}")).await;
    let d = c.fsx.describe_file_systems().file_system_ids(&fs).send().await.expect("fs survived");
    assert_eq!(d.file_systems()[0].lifecycle().map(|l| l.as_str()), Some("AVAILABLE"));
    c.ec2.describe_security_groups().group_ids(&sg).send().await.expect("sg survived");
}
