//! Packaging, the examples of manifests/examples/ (no control plane): they parse as LustreVolumes,
//! LustreClasses and a LustreDataTask that pass validation and fit together (each volume within
//! its class's policy in namespace `ml`, the task on the S3-linked volume), and the pod example
//! mounts the scratch claim.
//!
//! That the API server accepts them with the CRDs installed is checked in `packaging_cluster.rs`.

#[path = "common/packaging.rs"]
mod common;

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use common::{example, kind, parse_documents, read, CLASS_EXAMPLES, EXAMPLES, POD_EXAMPLE, TASK_EXAMPLE};

/// The labels of a tenant namespace, as manifests/README.md sets one up.
fn tenant_labels(namespace: &str) -> BTreeMap<String, String> {
    [("kubernetes.io/metadata.name", namespace), ("lustre.fsx.dev/tenant", "true")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn examples_parse_as_valid_volumes_and_classes_that_fit_together() -> Result<()> {
    use lustre_api::class::DEFAULT_CLASS_ANNOTATION;
    use lustre_api::policy::{effective, NamespaceUsage};
    use lustre_api::{AutoImportPolicy, DeletionPolicy, DeploymentType, LustreClass, LustreVolume, StorageType};
    let volumes: Vec<LustreVolume> = EXAMPLES.iter().map(|p| example(p)).collect::<Result<_>>()?;
    let classes: Vec<LustreClass> = CLASS_EXAMPLES.iter().map(|p| example(p)).collect::<Result<_>>()?;
    // Namespace `ml` as manifests/README.md sets it up.
    let labels = tenant_labels("ml");
    for (path, lv) in EXAMPLES.iter().zip(&volumes) {
        assert_eq!(lv.metadata.namespace.as_deref(), Some("ml"), "{path}");
        let class = classes
            .iter()
            .find(|c| c.metadata.name == lv.spec.class_name)
            .unwrap_or_else(|| panic!("{path} names one of the example classes"));
        assert!(class.metadata.namespace.is_none(), "LustreClasses are cluster-scoped");
        if let Err(e) = lustre_api::validate(&lv.spec) {
            panic!("{path} fails validation: {e}");
        }
        let made = effective(lv, class, &labels, NamespaceUsage::default())
            .unwrap_or_else(|e| panic!("{path} breaks its class's policy: {e}"));
        assert_eq!(made.spec.network.subnet_id, class.spec.network.subnets[0].subnet_id, "{path}");
        assert_eq!(made.spec.network.client_security_group_ids.len(), 1, "{path}");
        if let Err(e) = lustre_api::validate_network(&made.spec.network) {
            panic!("{path}: the class's network fails validation: {e}");
        }
    }

    let (scratch_class, s3_class) = (&classes[0], &classes[1]);
    assert!(scratch_class.is_default(), "{} is the default class", CLASS_EXAMPLES[0]);
    assert!(!s3_class.is_default(), "only one default class");
    assert_eq!(
        scratch_class.metadata.annotations.as_ref().and_then(|a| a.get(DEFAULT_CLASS_ANNOTATION)).map(String::as_str),
        Some("true")
    );
    assert!(scratch_class.spec.namespace_selector.is_some());
    assert!(scratch_class.spec.limits.max_capacity_gib.is_some());
    assert!(scratch_class.spec.limits.max_capacity_gib_per_namespace.is_some());
    assert!(s3_class.spec.allow_retain);
    assert_eq!(s3_class.spec.s3_prefixes_for("ml"), vec!["s3://ml-datasets/ml/".to_string()]);

    let scratch = &volumes[0];
    assert_eq!(scratch.metadata.name.as_deref(), Some("training-scratch"));
    assert_eq!(scratch.spec.deployment_type, DeploymentType::Scratch2);
    assert_eq!(scratch.spec.storage_capacity_gib, Some(1200));
    assert_eq!(scratch.claim_name(), "training-scratch");

    let p = &volumes[1].spec;
    assert_eq!(p.deployment_type, DeploymentType::Persistent1);
    assert_eq!(p.storage_type, StorageType::Ssd);
    assert_eq!(p.storage_capacity_gib, Some(2400));
    assert_eq!(p.per_unit_storage_throughput, Some(200));
    assert_eq!(p.deletion_policy, Some(DeletionPolicy::Retain));
    let s3 = p.s3.as_ref().context("persistent example has s3")?;
    assert_eq!(s3.auto_import_policy, Some(AutoImportPolicy::NewChanged));
    let bucket = |u: &Option<String>| u.as_deref().and_then(lustre_api::validation::s3_bucket).map(str::to_string);
    assert!(bucket(&s3.import_path).is_some());
    assert_eq!(bucket(&s3.import_path), bucket(&s3.export_path), "import and export in one bucket");

    // Another namespace may not link namespace ml's prefix.
    let mut elsewhere = volumes[1].clone();
    elsewhere.metadata.namespace = Some("research".into());
    let research = tenant_labels("research");
    assert!(effective(&elsewhere, s3_class, &research, NamespaceUsage::default()).is_err());

    // The data task example runs on the S3-linked example volume, in its namespace, and its report
    // goes where the volume's class lets namespace ml write.
    let task: lustre_api::LustreDataTask = example(TASK_EXAMPLE)?;
    if let Err(e) = lustre_api::validate_task(&task.spec) {
        panic!("{TASK_EXAMPLE} fails validation: {e}");
    }
    assert_eq!(task.metadata.namespace, volumes[1].metadata.namespace, "{TASK_EXAMPLE}");
    assert_eq!(Some(&task.spec.volume_name), volumes[1].metadata.name.as_ref(), "{TASK_EXAMPLE}");
    assert!(volumes[1].spec.is_s3_linked(), "a data task needs an S3-linked volume");
    let prefixes = s3_class.spec.s3_prefixes_for("ml");
    for path in task.s3_paths() {
        assert!(
            prefixes.iter().any(|p| lustre_api::class::s3_path_within(path, p)),
            "{TASK_EXAMPLE}: {path} is outside {prefixes:?}"
        );
    }

    // The pod example mounts the scratch claim at /data.
    let docs = parse_documents(&read(POD_EXAMPLE)?)?;
    assert_eq!(docs.len(), 1);
    let doc = &docs[0];
    assert_eq!(doc["metadata"]["namespace"], "ml");
    let pod = if kind(doc) == "Pod" { &doc["spec"] } else { &doc["spec"]["template"]["spec"] };
    let volume = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["persistentVolumeClaim"]["claimName"] == "training-scratch")
        .context("no volume from claim training-scratch")?;
    let mounted = pod["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["volumeMounts"].as_array().cloned().unwrap_or_default())
        .any(|m| m["name"] == volume["name"] && m["mountPath"] == "/data");
    assert!(mounted, "claim training-scratch is mounted at /data");
    Ok(())
}
