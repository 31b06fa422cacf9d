//! Fault injection, call counters, the lifecycle clock and the admin HTTP API.

mod common;

use std::time::{Duration, Instant};

use aws_emulator::{EmulatorConfig, Fault, Inventory};
use common::*;

#[tokio::test]
async fn error_rate_faults_use_each_services_codes() {
    let (emu, c) = start(EmulatorConfig::default()).await;
    emu.set_fault("DescribeFileSystems", Fault::throttle(1.0));
    let err = c.fsx.describe_file_systems().send().await.expect_err("throttled");
    assert_eq!(code(err), "ThrottlingException");
    emu.set_fault("DescribeSecurityGroups", Fault::throttle(1.0));
    let err = c.ec2.describe_security_groups().send().await.expect_err("throttled");
    assert_eq!(code(err), "RequestLimitExceeded");
    emu.set_fault("DescribeVpcs", Fault::error("InternalServerError", 1.0));
    let err = c.ec2.describe_vpcs().send().await.expect_err("500");
    assert_eq!(code(err), "InternalServerError");
    let calls = emu.calls();
    assert_eq!(calls.count_outcome("fsx", "DescribeFileSystems", "ThrottlingException"), 1);
    assert_eq!(calls.count_outcome("ec2", "DescribeSecurityGroups", "RequestLimitExceeded"), 1);
    assert_eq!(calls.count_outcome("ec2", "DescribeVpcs", "InternalServerError"), 1);
    assert_eq!(calls.total(), 3);
    emu.clear_faults();
    c.fsx.describe_file_systems().send().await.expect("clear");
    emu.reset_calls();
    assert_eq!(emu.calls().total(), 0);

    // A fault that fires a limited number of times.
    emu.set_fault("CreateSecurityGroup", Fault::throttle(1.0).times(2));
    let vpc = emu.seed().vpc_id;
    for _ in 0..2 {
        let err = sg_request(&c.ec2, &vpc, "t", "d").send().await.expect_err("throttled");
        assert_eq!(code(err), "RequestLimitExceeded");
    }
    sg_request(&c.ec2, &vpc, "t", "d").send().await.expect("third succeeds");
    assert_eq!(emu.calls().count("ec2", "CreateSecurityGroup"), 3);
    assert_eq!(emu.calls().count_outcome("ec2", "CreateSecurityGroup", "ok"), 1);
    // Throttled calls were not applied.
    assert_eq!(emu.inventory().security_groups.iter().filter(|g| g.name == "t").count(), 1);

    // A rate between 0 and 1 fails some calls.
    emu.set_fault("*", Fault::throttle(0.5));
    let mut failures = 0;
    for _ in 0..60 {
        if c.fsx.describe_file_systems().send().await.is_err() {
            failures += 1;
        }
    }
    assert!((5..=55).contains(&failures), "{failures}");
}

#[tokio::test]
async fn latency_fault_delays_the_answer() {
    let (emu, c) = start(EmulatorConfig::default()).await;
    emu.set_fault("DescribeSubnets", Fault::latency(Duration::from_millis(300)));
    let t = Instant::now();
    c.ec2.describe_subnets().send().await.expect("slow but fine");
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn apply_then_drop_fails_the_client_but_keeps_the_resource() {
    let (emu, c) = start(EmulatorConfig::default()).await;
    let seed = emu.seed();
    emu.set_fault("CreateSecurityGroup", Fault::drop_after_apply().times(1));
    let dropped = sg_request(&c.ec2, &seed.vpc_id, "dropped", "d");
    let err = dropped.clone().send().await.expect_err("dropped");
    assert!(
        !matches!(err, aws_sdk_ec2::error::SdkError::ServiceError(_)),
        "a transport failure, not a service error: {err:?}"
    );
    assert!(emu.inventory().security_groups.iter().any(|g| g.name == "dropped"), "the change was applied");
    let err = dropped.send().await.expect_err("retry");
    assert_eq!(code(err), "InvalidGroup.Duplicate");

    let sg = lustre_sg(&c.ec2, &seed.vpc_id, "fs-drop").await;
    emu.set_fault("CreateFileSystem", Fault::drop_after_apply().times(1));
    assert!(create_fs(&c.fsx, &seed.subnet_ids[0], &sg).send().await.is_err());
    assert_eq!(emu.inventory().file_systems.len(), 1);
}

#[tokio::test]
async fn apply_then_delay_lets_a_test_kill_the_caller() {
    let (emu, c) = start(EmulatorConfig::default()).await;
    let vpc = emu.seed().vpc_id;
    emu.set_fault("CreateSecurityGroup", Fault::delay_after_apply(Duration::from_secs(30)));
    let ec2 = c.ec2.clone();
    let call = tokio::spawn(async move { sg_request(&ec2, &vpc, "slow", "d").send().await });
    let deadline = Instant::now() + Duration::from_secs(5);
    while !emu.inventory().security_groups.iter().any(|g| g.name == "slow") {
        assert!(Instant::now() < deadline, "the change should be applied before the answer");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!call.is_finished());
    call.abort();
    assert!(call.await.is_err(), "the caller was killed");
}

#[tokio::test]
async fn clock_pause_and_advance_drive_lifecycles() {
    let cfg = EmulatorConfig { create_duration: Duration::from_secs(600), ..EmulatorConfig::default() };
    let (emu, c, seed, sg) = started_with_sg(cfg, "clock").await;
    emu.pause_clock();
    let id = create_fs(&c.fsx, &seed.subnet_ids[0], &sg).created_id().await;
    emu.advance_clock(Duration::from_secs(599));
    assert_eq!(emu.inventory().file_system(&id).map(|f| f.lifecycle.clone()).as_deref(), Some("CREATING"));
    emu.advance_clock(Duration::from_secs(1));
    assert_eq!(emu.inventory().file_system(&id).map(|f| f.lifecycle.clone()).as_deref(), Some("AVAILABLE"));
    emu.resume_clock();
}

#[tokio::test]
async fn real_time_lifecycle_without_clock_control() {
    let cfg = EmulatorConfig { create_duration: Duration::from_millis(200), ..EmulatorConfig::default() };
    let (_emu, c, seed, sg) = started_with_sg(cfg, "rt").await;
    let id = create_fs(&c.fsx, &seed.subnet_ids[0], &sg).created_id().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let d = c.fsx.describe_file_systems().file_system_ids(&id).send().await.expect("describe");
    assert_eq!(d.file_systems()[0].lifecycle().map(|l| l.as_str()), Some("AVAILABLE"));
}

#[tokio::test]
async fn admin_http_api() {
    let (emu, c) = start(EmulatorConfig::default()).await;
    let http = http();
    let base = format!("{}/_emulator", emu.endpoint());
    assert_eq!(http.get(format!("{base}/health")).send().await.expect("health").text().await.expect("text"), "ok");
    let seed: serde_json::Value =
        http.get(format!("{base}/seed")).send().await.expect("seed").json().await.expect("json");
    assert_eq!(seed["subnet_ids"].as_array().map(Vec::len), Some(3));
    let cfg: serde_json::Value =
        http.get(format!("{base}/config")).send().await.expect("config").json().await.expect("json");
    assert_eq!(cfg["region"], "us-east-1");

    // Faults over HTTP.
    let r = http
        .put(format!("{base}/faults/DescribeFileSystems"))
        .json(&serde_json::json!({"error_rate": 1.0, "error_code": "InternalServerError"}))
        .send()
        .await
        .expect("set fault");
    assert!(r.status().is_success());
    let err = c.fsx.describe_file_systems().send().await.expect_err("fault");
    assert_eq!(code(err), "InternalServerError");
    let faults: serde_json::Value =
        http.get(format!("{base}/faults")).send().await.expect("faults").json().await.expect("json");
    assert_eq!(faults["DescribeFileSystems"]["error_rate"], 1.0);
    http.delete(format!("{base}/faults")).send().await.expect("clear");
    c.fsx.describe_file_systems().send().await.expect("cleared");

    // Calls over HTTP.
    let calls: aws_emulator::CallLog =
        http.get(format!("{base}/calls")).send().await.expect("calls").json().await.expect("json");
    assert_eq!(calls.count("fsx", "DescribeFileSystems"), 2);
    http.delete(format!("{base}/calls")).send().await.expect("reset");
    assert_eq!(emu.calls().total(), 0);

    // Clock and lifecycles over HTTP.
    let seed_ids = emu.seed();
    let sg = lustre_sg(&c.ec2, &seed_ids.vpc_id, "admin").await;
    http.post(format!("{base}/clock/pause")).send().await.expect("pause");
    let id = create_fs(&c.fsx, &seed_ids.subnet_ids[0], &sg).created_id().await;
    let clock: serde_json::Value = http
        .post(format!("{base}/clock/advance"))
        .json(&serde_json::json!({"seconds": 5}))
        .send()
        .await
        .expect("advance")
        .json()
        .await
        .expect("json");
    assert_eq!(clock["paused"], true);
    let inv: Inventory =
        http.get(format!("{base}/inventory")).send().await.expect("inventory").json().await.expect("json");
    assert_eq!(inv.file_system(&id).map(|f| f.lifecycle.as_str()), Some("AVAILABLE"));
    let r = http
        .post(format!("{base}/file-systems/{id}/lifecycle"))
        .json(&serde_json::json!({"lifecycle": "FAILED", "message": "disk on fire"}))
        .send()
        .await
        .expect("force");
    assert!(r.status().is_success());
    assert_eq!(
        emu.inventory().file_system(&id).and_then(|f| f.failure_message.clone()).as_deref(),
        Some("disk on fire")
    );
    let r = http
        .post(format!("{base}/security-groups/{sg}/revoke-ingress"))
        .json(&serde_json::json!({"from_port": 988, "to_port": 988}))
        .send()
        .await
        .expect("revoke");
    assert!(r.status().is_success());
    assert_eq!(emu.inventory().security_group(&sg).map(|g| g.ingress.len()), Some(1));
    assert!(http.delete(format!("{base}/file-systems/{id}")).send().await.expect("delete fs").status().is_success());
    assert!(http.delete(format!("{base}/file-systems/{id}")).send().await.expect("delete fs").status() == 404);
    assert!(http.delete(format!("{base}/security-groups/{sg}")).send().await.expect("delete sg").status().is_success());
    assert!(emu.inventory().security_group(&sg).is_none());
    let added: serde_json::Value = http
        .post(format!("{base}/subnets"))
        .json(&serde_json::json!({"cidr": "10.0.20.0/24", "az": "us-east-1b"}))
        .send()
        .await
        .expect("subnet")
        .json()
        .await
        .expect("json");
    let subnet_id = added["subnet_id"].as_str().expect("id").to_string();
    c.ec2.describe_subnets().subnet_ids(&subnet_id).send().await.expect("new subnet visible");
    http.post(format!("{base}/clock/resume")).send().await.expect("resume");
    assert!(emu.calls().service_total("ec2") > 0);
}
