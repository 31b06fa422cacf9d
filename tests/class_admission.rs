//! The LustreClass admission policy (`manifests/class-admission-policy.yaml`) on the real
//! kube-apiserver: a class judges the volumes that name it (or all that name none, when it is
//! the default), and a tenant's apply is rejected with the class's message. Two tenants, one
//! allowed by the class's namespace selector and one not.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use lustre_api::{LustreClass, LustreVolume};
use serde_json::{json, Value};

fn volume(name: &str, spec: Value) -> Result<LustreVolume> {
    Ok(serde_json::from_value(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume",
                                     "metadata": {"name": name}, "spec": spec}))?)
}

/// The apiserver's verdict on a dry-run create: Ok, or the rejection message.
async fn verdict(api: &Api<LustreVolume>, lv: &LustreVolume) -> Result<std::result::Result<(), String>> {
    match api.create(&PostParams { dry_run: true, ..Default::default() }, lv).await {
        Ok(_) => Ok(Ok(())),
        Err(kube::Error::Api(e)) if e.code == 422 || e.code == 403 || e.code == 400 => Ok(Err(e.message)),
        Err(e) => Err(e.into()),
    }
}

#[tokio::test]
async fn a_class_rejects_what_it_does_not_allow_at_apply_time() -> Result<()> {
    testkit::install_crypto_provider();
    let allowed = testkit::namespace("tenant-a").await?;
    let outsider = testkit::namespace("tenant-b").await?;
    let client = allowed.client.clone();
    testkit::install_crds(&client).await?;
    testkit::tenancy::apply_admission_policy(&client).await?;
    // tenant-a carries the label the class selects; tenant-b does not.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let label = json!({"metadata": {"labels": {"lustre-test/team": allowed.name}}});
    namespaces.patch(&allowed.name, &PatchParams::default(), &Patch::Merge(&label)).await?;

    let class_name = format!("policy-{}", allowed.name);
    let class: LustreClass = serde_json::from_value(json!({
        "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreClass",
        "metadata": {"name": class_name},
        "spec": {
            "network": {"subnets": [{"subnetId": "subnet-0123456789abcdef0", "availabilityZone": "us-east-1a"}]},
            "namespaceSelector": {"matchLabels": {"lustre-test/team": allowed.name}},
            "deploymentTypes": ["SCRATCH_2", "PERSISTENT_2"],
            "perUnitStorageThroughputs": [125],
            "limits": {"maxCapacityGiB": 4800},
            "s3Prefixes": ["s3://ml-data/${namespace}/"],
        }
    }))?;
    let classes: Api<LustreClass> = Api::all(client.clone());
    classes.create(&PostParams::default(), &class).await?;

    let a: Api<LustreVolume> = allowed.api();
    let b: Api<LustreVolume> = outsider.api();
    let mine = |spec: Value| {
        let mut spec = spec;
        spec["className"] = json!(class_name);
        spec
    };
    let s3 = |path: String| mine(json!({"storageCapacityGiB": 1200, "s3": {"importPath": path}}));
    let dra = |path: String| {
        mine(json!({"storageCapacityGiB": 1200, "deploymentType": "PERSISTENT_2", "perUnitStorageThroughput": 125,
                    "s3": {"associations": [{"fileSystemPath": "/datasets", "dataRepositoryPath": path}]}}))
    };
    let cases: Vec<(&str, &Api<LustreVolume>, Value, Option<&str>)> = vec![
        ("allowed", &a, mine(json!({"storageCapacityGiB": 2400})), None),
        (
            "persistent-2",
            &a,
            mine(
                json!({"storageCapacityGiB": 2400, "deploymentType": "PERSISTENT_2", "perUnitStorageThroughput": 125}),
            ),
            None,
        ),
        (
            "scratch-1",
            &a,
            mine(json!({"storageCapacityGiB": 1200, "deploymentType": "SCRATCH_1"})),
            Some("allows deploymentType SCRATCH_2, PERSISTENT_2, not SCRATCH_1"),
        ),
        (
            "throughput",
            &a,
            mine(
                json!({"storageCapacityGiB": 2400, "deploymentType": "PERSISTENT_2", "perUnitStorageThroughput": 1000}),
            ),
            Some("does not allow perUnitStorageThroughput 1000"),
        ),
        ("too-big", &a, mine(json!({"storageCapacityGiB": 7200})), Some("does not allow storageCapacityGiB 7200")),
        ("own-prefix", &a, s3(format!("s3://ml-data/{}/train", allowed.name)), None),
        ("other-prefix", &a, s3(format!("s3://ml-data/{}/train", outsider.name)), Some("the S3 paths must fall under")),
        (
            "climb-out",
            &a,
            s3(format!("s3://ml-data/{}/../{}", allowed.name, outsider.name)),
            Some("the S3 paths must fall under"),
        ),
        ("association-own-prefix", &a, dra(format!("s3://ml-data/{}/datasets/", allowed.name)), None),
        (
            "association-other-prefix",
            &a,
            dra(format!("s3://ml-data/{}/datasets/", outsider.name)),
            Some("the S3 paths must fall under"),
        ),
        (
            "zone",
            &a,
            mine(json!({"storageCapacityGiB": 1200, "availabilityZone": "us-east-1c"})),
            Some("has no subnet in us-east-1c"),
        ),
        ("adopt", &a, mine(json!({"fileSystemId": "fs-0123456789abcdef0"})), Some("does not allow namespace")),
        (
            "retain",
            &a,
            mine(json!({"storageCapacityGiB": 1200, "deletionPolicy": "Retain"})),
            Some("does not let volumes choose deletionPolicy Retain"),
        ),
        ("outsider", &b, mine(json!({"storageCapacityGiB": 1200})), Some("may not use LustreClass")),
        // Another class's volumes are not this class's business.
        (
            "other-class",
            &b,
            json!({"storageCapacityGiB": 1200, "className": "someone-else", "deploymentType": "SCRATCH_1"}),
            None,
        ),
    ];
    // The policy is enforced a moment after it is created: wait for the first refusal.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let probe = volume("probe", cases[2].2.clone())?;
        if verdict(&a, &probe).await?.is_err() {
            break;
        }
        if std::time::Instant::now() > deadline {
            bail!("the admission policy never took effect");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut wrong = Vec::new();
    for (name, api, spec, expected) in &cases {
        let got = verdict(api, &volume(name, spec.clone())?).await?;
        match (expected, &got) {
            (None, Ok(())) => {}
            (Some(text), Err(message)) if message.contains(text) => {}
            _ => wrong.push(format!("{name}: expected {expected:?}, got {got:?}")),
        }
    }
    classes.delete(&class_name, &DeleteParams::default()).await?;
    assert!(wrong.is_empty(), "{} of {} cases wrong:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
    Ok(())
}

#[tokio::test]
async fn match_expressions_admit_exactly_the_namespaces_the_operator_admits() -> Result<()> {
    // The admission policy's reading of a namespaceSelector's matchExpressions against the
    // operator's (kube's own `Selector`, in lustre_api::policy::selector_matches), namespace by
    // namespace on the real apiserver.
    testkit::install_crypto_provider();
    let first = testkit::namespace("expr").await?;
    let client = first.client.clone();
    testkit::install_crds(&client).await?;
    testkit::tenancy::apply_admission_policy(&client).await?;
    let selector = json!({"matchExpressions": [
        {"key": "team", "operator": "In", "values": ["ml", "vision"]},
        {"key": "frozen", "operator": "DoesNotExist"},
        {"key": "tier", "operator": "NotIn", "values": ["restricted"]},
    ]});
    let class_name = format!("expr-{}", first.name);
    let class: LustreClass = serde_json::from_value(json!({
        "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreClass", "metadata": {"name": class_name},
        "spec": {"network": {"subnets": [{"subnetId": "subnet-0123456789abcdef0"}]}, "namespaceSelector": selector}
    }))?;
    let classes: Api<LustreClass> = Api::all(client.clone());
    classes.create(&PostParams::default(), &class).await?;
    let selector = class.spec.namespace_selector.clone().context("selector")?;
    // A refused namespace first: waiting for its refusal is waiting for the policy to take effect.
    let label_sets: Vec<Value> = vec![
        json!({"team": "other"}),
        json!({"team": "ml"}),
        json!({"team": "vision", "tier": "dev"}),
        json!({"team": "ml", "frozen": "yes"}),
        json!({}),
        json!({"team": "vision", "tier": "restricted"}),
        json!({"tier": "dev"}),
    ];
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut tenants = vec![first];
    for _ in 1..label_sets.len() {
        tenants.push(testkit::namespace("expr").await?);
    }
    let spec = json!({"storageCapacityGiB": 1200, "className": class_name});
    let (mut wrong, mut admitted) = (Vec::new(), 0);
    for (tenant, labels) in tenants.iter().zip(&label_sets) {
        let patch = json!({"metadata": {"labels": labels}});
        let ns = namespaces.patch(&tenant.name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        let operator_says =
            lustre_api::policy::selector_matches(&selector, &ns.metadata.labels.clone().unwrap_or_default());
        admitted += usize::from(operator_says);
        // The policy takes effect a moment after it is created: ask until it answers as the
        // operator does or the deadline passes.
        let api: Api<LustreVolume> = tenant.api();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let got = loop {
            let got = verdict(&api, &volume("probe", spec.clone())?).await?;
            if got.is_ok() == operator_says || std::time::Instant::now() > deadline {
                break got;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        if got.is_ok() != operator_says {
            wrong.push(format!("labels {labels}: operator {operator_says}, admission {got:?}"));
        } else if let Err(message) = &got {
            assert!(message.contains("may not use LustreClass"), "{message}");
        }
    }
    classes.delete(&class_name, &DeleteParams::default()).await?;
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(admitted, 2, "the fixture admits two of seven namespaces");
    Ok(())
}
