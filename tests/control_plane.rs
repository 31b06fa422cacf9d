//! The local control plane is a real Kubernetes: the PV binder binds claims, the garbage
//! collector follows owner references, CEL rules are enforced, and stopping leaves nothing behind.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, PostParams};
use kube::core::{DynamicObject, GroupVersionKind};
use kube::discovery::ApiResource;
use serde_json::json;
use testkit::{namespace, wait_for, wait_gone};

const T: Duration = Duration::from_secs(60);

fn from_json<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("test object parses")
}

#[tokio::test]
async fn static_fsx_pv_and_claim_bind_through_the_controller_manager() -> anyhow::Result<()> {
    let ns = namespace("bind").await?;
    let pv_name = format!("pv-{}", ns.name);
    let pv: PersistentVolume = from_json(json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": pv_name},
        "spec": {
            "capacity": {"storage": "1200Gi"},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "mountOptions": ["flock"],
            "csi": {"driver": "fsx.csi.aws.com", "volumeHandle": "fs-0123",
                    "volumeAttributes": {"dnsname": "fs-0123.fsx.us-east-1.amazonaws.com", "mountname": "abcdefgh"}}
        }
    }));
    let pvs: Api<PersistentVolume> = Api::all(ns.client.clone());
    pvs.create(&PostParams::default(), &pv).await?;
    let pvc: PersistentVolumeClaim = from_json(json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "", "volumeName": pv_name,
                 "resources": {"requests": {"storage": "1200Gi"}}}
    }));
    let pvcs: Api<PersistentVolumeClaim> = ns.api();
    pvcs.create(&PostParams::default(), &pvc).await?;

    let bound = wait_for(&pvcs, "data", T, "claim phase Bound", |c| {
        c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
    })
    .await?;
    assert_eq!(bound.spec.as_ref().and_then(|s| s.volume_name.as_deref()), Some(pv_name.as_str()));
    let pv = wait_for(&pvs, &pv_name, T, "volume phase Bound", |p| {
        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
    })
    .await?;
    let claim_ref = pv.spec.and_then(|s| s.claim_ref).expect("bound PV has a claimRef");
    assert_eq!(claim_ref.name.as_deref(), Some("data"));
    assert_eq!(claim_ref.namespace.as_deref(), Some(ns.name.as_str()));
    pvs.delete(&pv_name, &DeleteParams::default()).await?;
    Ok(())
}

#[tokio::test]
async fn garbage_collector_removes_dependents_of_a_deleted_owner() -> anyhow::Result<()> {
    let ns = namespace("gc").await?;
    let cms: Api<ConfigMap> = ns.api();
    let owner = cms
        .create(
            &PostParams::default(),
            &from_json(json!({
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}, "data": {"k": "v"}
            })),
        )
        .await?;
    let uid = owner.metadata.uid.clone().expect("created object has a uid");
    cms.create(
        &PostParams::default(),
        &from_json(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "dependent", "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}
            ]}
        })),
    )
    .await?;
    cms.delete("owner", &DeleteParams::default()).await?;
    wait_gone(&cms, "dependent", T).await?;
    assert!(cms.get_opt("owner").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn apiserver_enforces_cel_rules_with_their_message() -> anyhow::Result<()> {
    let ns = namespace("cel").await?;
    let crds: Api<CustomResourceDefinition> = Api::all(ns.client.clone());
    let group = format!("{}.cel.test", ns.name);
    let crd: CustomResourceDefinition = from_json(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("widgets.{group}")},
        "spec": {
            "group": group, "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {"spec": {"type": "object",
                    "properties": {"size": {"type": "integer"}},
                    "x-kubernetes-validations": [{"rule": "self.size % 1200 == 0", "message": "size must be a multiple of 1200"}]
                }}
            }}}]
        }
    }));
    crds.create(&PostParams::default(), &crd).await?;
    let gvk = GroupVersionKind::gvk(&group, "v1", "Widget");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "widgets");
    let widgets: Api<DynamicObject> = Api::namespaced_with(ns.client.clone(), &ns.name, &ar);
    let obj = |name: &str, size: i64| -> DynamicObject {
        from_json(
            json!({"apiVersion": format!("{group}/v1"), "kind": "Widget", "metadata": {"name": name}, "spec": {"size": size}}),
        )
    };
    // The CRD's endpoint appears shortly after creation.
    let mut created = None;
    for _ in 0..100 {
        match widgets.create(&PostParams::default(), &obj("good", 2400)).await {
            Ok(o) => {
                created = Some(o);
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 404 => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => return Err(e.into()),
        }
    }
    assert!(created.is_some(), "a valid object is accepted");
    let err = widgets.create(&PostParams::default(), &obj("bad", 1000)).await.expect_err("invalid object is rejected");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 422, "{s:?}");
            assert!(s.message.contains("size must be a multiple of 1200"), "message was: {}", s.message);
        }
        other => panic!("expected an API rejection, got {other:?}"),
    }
    crds.delete(&format!("widgets.{group}"), &DeleteParams::default()).await?;
    Ok(())
}

/// Starting and stopping twice in one process leaves no processes and no listening ports.
#[test]
fn control_plane_starts_and_stops_twice_without_leftovers() -> anyhow::Result<()> {
    for round in 0..2 {
        let mut cp = testkit::ControlPlane::start()?;
        let pids = cp.pids();
        let ports = cp.ports();
        assert_eq!(pids.len(), 3, "etcd, apiserver and controller-manager run");
        let rt = tokio::runtime::Runtime::new()?;
        let version = rt.block_on(async { anyhow::Ok(cp.client().await?.apiserver_version().await?) })?;
        assert_eq!(version.major, "1", "round {round}");
        assert_eq!(version.minor, "34", "round {round}");
        let dir = cp.dir().to_path_buf();
        cp.stop();
        drop(cp);
        for pid in pids {
            assert!(!testkit::process::process_alive(pid), "round {round}: pid {pid} still alive");
        }
        for port in ports {
            assert!(!testkit::process::port_open(port), "round {round}: port {port} still open");
        }
        assert!(!dir.exists(), "round {round}: {} was not removed", dir.display());
    }
    Ok(())
}
