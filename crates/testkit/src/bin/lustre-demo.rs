//! `make demo`: a local control plane, the AWS emulator and the operator; applies the platform
//! team's scratch class (pointed at the emulator's subnet), then the scratch example from the
//! tenant namespace, follows it to Available with a bound claim, shows how a pod mounts it,
//! deletes it and shows that nothing is left in AWS. Then the data workflow: a PERSISTENT_2
//! volume linked to S3 by two associations, a LustreDataTask exporting results once it is Ready,
//! and its deletion exporting everything to S3 first.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aws_emulator::{Emulator, EmulatorConfig};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, PostParams};
use lustre_api::class::ClassSubnet;
use lustre_api::{DataTaskPhase, LustreClass, LustreDataTask, LustreVolume};
use testkit::{install_crds, ControlPlane, OperatorOptions, OperatorProcess};

const NAMESPACE: &str = "ml";

fn step(msg: &str) {
    println!("\n==> {msg}");
}

#[tokio::main]
async fn main() {
    match run().await {
        Ok(()) => println!(
            "\nDemo finished: volumes were created, bound, linked to S3, exported and deleted; nothing is left in AWS."
        ),
        Err(e) => {
            eprintln!("\nDemo FAILED: {e:#}");
            std::process::exit(1);
        }
    }
}

// Long on purpose, it reads better whole: the demo's story, printed step by step in the order a user reads it.
async fn run() -> Result<()> {
    let root = testkit::workspace_root();
    step("Starting the local control plane (etcd, kube-apiserver, kube-controller-manager)");
    let started = Instant::now();
    let cp = tokio::task::spawn_blocking(ControlPlane::start).await??;
    println!("    ready in {:.1}s; kubeconfig: {}", started.elapsed().as_secs_f64(), cp.kubeconfig().display());
    let client = cp.client().await?;
    install_crds(&client).await?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                // A tenant namespace: the class admits namespaces labelled lustre.fsx.dev/tenant=true.
                serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": NAMESPACE, "labels": {"lustre.fsx.dev/tenant": "true"}}}),
            )?,
        )
        .await?;

    step("Starting the AWS emulator (FSx + EC2; file systems take 8 s to create)");
    let emulator = Emulator::start(EmulatorConfig {
        create_duration: Duration::from_secs(8),
        delete_duration: Duration::from_secs(3),
        ..Default::default()
    })
    .await?;
    let seed = emulator.seed();
    println!("    endpoint {}; VPC {} with subnets {}", emulator.endpoint(), seed.vpc_id, seed.subnet_ids.join(", "));

    step("Starting lustre-operator");
    let log = cp.dir().join("operator.log");
    let operator = OperatorProcess::start(
        cp.kubeconfig(),
        &emulator.endpoint(),
        NAMESPACE,
        &OperatorOptions { poll_interval_secs: 1, ..Default::default() },
        log.clone(),
    )
    .await?;
    println!("    ready; metrics on http://127.0.0.1:{}/metrics; log: {}", operator.metrics_port, log.display());

    step("The platform team applies manifests/examples/class-scratch-training.yaml");
    let text = std::fs::read_to_string(root.join("manifests/examples/class-scratch-training.yaml"))
        .context("reading the scratch class example")?;
    let mut class: LustreClass = serde_yaml::from_str(&text).context("parsing the scratch class example")?;
    // The example names a real account's subnets and node group; point it at the emulator's.
    class.spec.network.subnets = vec![ClassSubnet {
        subnet_id: seed.subnet_ids[0].clone(),
        availability_zone: seed.availability_zones.first().cloned(),
    }];
    class.spec.network.client_security_group_ids.clear();
    class.spec.network.client_cidrs = vec![seed.vpc_cidr.clone()];
    println!(
        "    (subnets -> {} in {}, clients -> {} for the emulator)",
        seed.subnet_ids[0],
        seed.availability_zones.first().map(String::as_str).unwrap_or("-"),
        seed.vpc_cidr
    );
    let class_name = class.metadata.name.clone().context("the class example has a name")?;
    Api::<LustreClass>::all(client.clone()).create(&PostParams::default(), &class).await?;
    println!("    LustreClass {class_name} (default: {})", class.is_default());

    step(&format!("A data scientist applies manifests/examples/scratch-training.yaml in namespace {NAMESPACE}"));
    let text = std::fs::read_to_string(root.join("manifests/examples/scratch-training.yaml"))
        .context("reading the scratch example")?;
    let mut lv: LustreVolume = serde_yaml::from_str(&text).context("parsing the scratch example")?;
    let name = lv.metadata.name.clone().context("the example has a name")?;
    lv.metadata.namespace = Some(NAMESPACE.into());
    let lvs: Api<LustreVolume> = Api::namespaced(client.clone(), NAMESPACE);
    lvs.create(&PostParams::default(), &lv).await?;

    step("Waiting for the volume (live status)");
    let started = Instant::now();
    let mut last_line = String::new();
    let ready = loop {
        let lv = lvs.get(&name).await?;
        let st = lv.status.clone().unwrap_or_default();
        let ready = st.conditions.iter().find(|c| c.type_ == "Ready");
        let line = format!(
            "phase={:<9} lifecycle={:<9} fileSystem={:<21} claim={} ({})",
            st.phase.map(|p| p.as_str()).unwrap_or("-"),
            st.lifecycle.as_deref().unwrap_or("-"),
            st.file_system_id.as_deref().unwrap_or("-"),
            st.claim_name.as_deref().unwrap_or("-"),
            st.claim_phase.as_deref().unwrap_or("-"),
        );
        if line != last_line {
            println!("    [{:>5.1}s] {line}", started.elapsed().as_secs_f64());
            last_line = line;
        } else {
            print!(".");
            let _ = std::io::stdout().flush();
        }
        if ready.is_some_and(|c| c.status == "True") {
            break lv;
        }
        if started.elapsed() > Duration::from_secs(180) {
            bail!(
                "the volume was not Ready after 180s; last status: {last_line}; operator log:\n{}",
                operator.log_tail(30)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };

    step("Status");
    let mut shown = ready.clone();
    shown.metadata.managed_fields = None;
    println!("{}", serde_yaml::to_string(&shown.status)?);
    let st = ready.status.clone().unwrap_or_default();
    step("How a data scientist mounts it (manifests/examples/pod-using-claim.yaml)");
    println!(
        "    volumes:\n    - name: data\n      persistentVolumeClaim:\n        claimName: {}\n    # the FSx CSI driver on the node mounts {}@tcp:/{} at the container's mountPath",
        st.claim_name.as_deref().unwrap_or_default(),
        st.dns_name.as_deref().unwrap_or_default(),
        st.mount_name.as_deref().unwrap_or_default()
    );
    let inv = emulator.inventory();
    println!(
        "\n    AWS now holds {} file system(s) and {} security group(s) besides the VPC default",
        inv.file_systems.len(),
        inv.security_groups.iter().filter(|g| g.id != seed.default_security_group_id).count()
    );

    step(&format!("Deleting LustreVolume {name}"));
    lvs.delete(&name, &DeleteParams::default()).await?;
    let started = Instant::now();
    let mut last_phase = String::new();
    while let Some(lv) = lvs.get_opt(&name).await? {
        let st = lv.status.unwrap_or_default();
        let msg = st.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap_or_default();
        let line = format!("phase={} {msg}", st.phase.map(|p| p.as_str()).unwrap_or("-"));
        if line != last_phase {
            println!("    [{:>5.1}s] {line}", started.elapsed().as_secs_f64());
            last_phase = line;
        }
        if started.elapsed() > Duration::from_secs(120) {
            bail!("the volume was not deleted after 120s; operator log:\n{}", operator.log_tail(30));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!("    deleted in {:.1}s", started.elapsed().as_secs_f64());
    let inv = emulator.inventory();
    let groups: Vec<_> = inv.security_groups.iter().filter(|g| g.id != seed.default_security_group_id).collect();
    println!(
        "    emulator inventory: {} file system(s), {} security group(s) besides the VPC default",
        inv.file_systems.len(),
        groups.len()
    );
    if !inv.file_systems.is_empty() || !groups.is_empty() {
        bail!("AWS resources were left behind: {:?} {:?}", inv.file_systems, groups);
    }
    let calls = emulator.calls();
    println!(
        "    AWS calls: {} in all (CreateFileSystem {}, DescribeFileSystems {}, CreateSecurityGroup {})",
        calls.total(),
        calls.count("fsx", "CreateFileSystem"),
        calls.count("fsx", "DescribeFileSystems"),
        calls.count("ec2", "CreateSecurityGroup")
    );
    data_workflow(&root, &client, &emulator, &operator).await?;
    drop(operator);
    drop(cp);
    Ok(())
}

/// Prints `line` when it changed since the last call (and a dot otherwise).
fn show(started: Instant, line: String, last: &mut String) {
    if line != *last {
        println!("    [{:>5.1}s] {line}", started.elapsed().as_secs_f64());
        *last = line;
    } else {
        print!(".");
        let _ = std::io::stdout().flush();
    }
}

/// The data workflow: associations, an export task once Ready, export before delete.
// Long on purpose, it reads better whole: the second half of the demo's story, step by step.
async fn data_workflow(
    root: &std::path::Path,
    client: &kube::Client,
    emulator: &Emulator,
    operator: &OperatorProcess,
) -> Result<()> {
    let seed = emulator.seed();
    step("The platform team applies manifests/examples/class-persistent-s3.yaml (S3 under s3://ml-datasets/<namespace>/)");
    let text = std::fs::read_to_string(root.join("manifests/examples/class-persistent-s3.yaml"))?;
    let mut class: LustreClass = serde_yaml::from_str(&text).context("parsing the S3 class example")?;
    class.spec.network.subnets = vec![ClassSubnet {
        subnet_id: seed.subnet_ids[0].clone(),
        availability_zone: seed.availability_zones.first().cloned(),
    }];
    class.spec.network.client_security_group_ids.clear();
    class.spec.network.client_cidrs = vec![seed.vpc_cidr.clone()];
    class.spec.kms_key_ids.clear();
    Api::<LustreClass>::all(client.clone()).create(&PostParams::default(), &class).await?;
    println!("    (subnets, clients and the KMS key pointed at the emulator)");

    step("A data scientist applies manifests/examples/persistent-2-with-s3.yaml: /datasets and /results linked to S3");
    let text = std::fs::read_to_string(root.join("manifests/examples/persistent-2-with-s3.yaml"))?;
    let lv: LustreVolume = serde_yaml::from_str(&text).context("parsing the S3 volume example")?;
    let name = lv.metadata.name.clone().context("the example has a name")?;
    let lvs: Api<LustreVolume> = Api::namespaced(client.clone(), NAMESPACE);
    lvs.create(&PostParams::default(), &lv).await?;
    let started = Instant::now();
    let mut last = String::new();
    loop {
        let lv = lvs.get(&name).await?;
        let st = lv.status.clone().unwrap_or_default();
        let associations: Vec<String> = st
            .associations
            .iter()
            .map(|a| format!("{}={}", a.file_system_path, a.lifecycle.as_deref().unwrap_or("-")))
            .collect();
        let line = format!(
            "phase={:<9} claim={:<7} associations=[{}]",
            st.phase.map(|p| p.as_str()).unwrap_or("-"),
            st.claim_phase.as_deref().unwrap_or("-"),
            associations.join(" ")
        );
        show(started, line, &mut last);
        if st.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True") {
            break;
        }
        if started.elapsed() > Duration::from_secs(180) {
            bail!("{name} was not Ready after 180s; operator log:\n{}", operator.log_tail(30));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    step("Training wrote its results; a LustreDataTask exports results/ to S3 (manifests/examples/data-task-export.yaml)");
    let text = std::fs::read_to_string(root.join("manifests/examples/data-task-export.yaml"))?;
    let mut task: LustreDataTask = serde_yaml::from_str(&text).context("parsing the data task example")?;
    task.metadata.namespace = Some(NAMESPACE.into());
    task.spec.volume_name = name.clone();
    let task_name = task.metadata.name.clone().context("the task example has a name")?;
    let tasks: Api<LustreDataTask> = Api::namespaced(client.clone(), NAMESPACE);
    tasks.create(&PostParams::default(), &task).await?;
    let started = Instant::now();
    let mut last = String::new();
    let done = loop {
        let t = tasks.get(&task_name).await?;
        let st = t.status.clone().unwrap_or_default();
        let line = format!(
            "phase={:<9} task={} progress={}",
            st.phase.map(|p| p.as_str()).unwrap_or("-"),
            st.task_id.as_deref().unwrap_or("-"),
            st.progress.as_deref().unwrap_or("-")
        );
        show(started, line, &mut last);
        if st.phase.is_some_and(|p| p.is_finished()) {
            break st;
        }
        if started.elapsed() > Duration::from_secs(120) {
            bail!("the task did not finish in 120s; operator log:\n{}", operator.log_tail(30));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    if done.phase != Some(DataTaskPhase::Succeeded) {
        bail!("the export task ended {:?}: {}", done.phase, done.message.unwrap_or_default());
    }
    println!(
        "    exported {} of {} files ({} failed)",
        done.succeeded_count.unwrap_or_default(),
        done.total_count.unwrap_or_default(),
        done.failed_count.unwrap_or_default()
    );

    step(&format!("Deleting LustreVolume {name}: onDelete.exportToS3 exports everything before the file system goes"));
    lvs.delete(&name, &DeleteParams::default()).await?;
    let started = Instant::now();
    let mut last = String::new();
    while let Some(lv) = lvs.get_opt(&name).await? {
        let st = lv.status.unwrap_or_default();
        let msg = st.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap_or_default();
        show(started, format!("phase={} {msg}", st.phase.map(|p| p.as_str()).unwrap_or("-")), &mut last);
        if started.elapsed() > Duration::from_secs(120) {
            bail!("{name} was not deleted after 120s; operator log:\n{}", operator.log_tail(30));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!("    deleted in {:.1}s", started.elapsed().as_secs_f64());
    let inv = emulator.inventory();
    let groups: Vec<_> = inv.security_groups.iter().filter(|g| g.id != seed.default_security_group_id).collect();
    if !inv.file_systems.is_empty() || !groups.is_empty() || !inv.data_repository_associations.is_empty() {
        bail!("AWS resources were left behind: {:?} {:?}", inv.file_systems, groups);
    }
    let calls = emulator.calls();
    println!(
        "    AWS: nothing left; data repository tasks started: {} (the LustreDataTask and the export before delete), associations created: {}",
        calls.count("fsx", "CreateDataRepositoryTask"),
        calls.count("fsx", "CreateDataRepositoryAssociation")
    );
    Ok(())
}
