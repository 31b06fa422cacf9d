//! Packaging, the Helm chart on its own (no control plane): `helm lint`, the rendered Deployment
//! and Service, and the documentation of every value.
//!
//! The chart is linted and rendered with the helm binary that `scripts/build-control-plane.sh`
//! builds. What the API server thinks of the rendered chart is in `packaging_cluster.rs`, its RBAC
//! in `packaging_rbac.rs`.

#[path = "common/packaging.rs"]
mod common;

use anyhow::{Context, Result};
use serde_json::{json, Value};

use common::{env, one_of_kind, read, render, run_helm, str_list, CHART, CUSTOM_VALUES};

// ---------------------------------------------------------------------------------------------
// lint

#[test]
fn helm_lint_passes_with_default_and_non_default_values() -> Result<()> {
    let out = run_helm(&["lint", "--strict", CHART])?;
    assert!(out.contains("0 chart(s) failed"), "{out}");
    let out = run_helm(&[
        "lint",
        "--strict",
        CHART,
        "--set",
        "replicaCount=3,serviceMonitor.enabled=true,leaderElect=false",
    ])?;
    assert!(out.contains("0 chart(s) failed"), "{out}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// the Deployment

/// The readiness probe's path of the Deployment's container.
fn c_default_readiness(deployment: &Value) -> &str {
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"].as_str().unwrap_or("")
}

/// Fields of the default Deployment's pod spec (JSON pointers from `spec.template.spec`) and the
/// values they are pinned to: the hardening, the resources, the probes, the image and its args.
fn pinned_pod_fields() -> Vec<(&'static str, Value)> {
    vec![
        ("/securityContext/runAsNonRoot", json!(true)),
        ("/securityContext/runAsUser", json!(65532)),
        ("/securityContext/seccompProfile/type", json!("RuntimeDefault")),
        ("/containers/0/securityContext/runAsNonRoot", json!(true)),
        ("/containers/0/securityContext/runAsUser", json!(65532)),
        ("/containers/0/securityContext/readOnlyRootFilesystem", json!(true)),
        ("/containers/0/securityContext/allowPrivilegeEscalation", json!(false)),
        ("/containers/0/securityContext/seccompProfile/type", json!("RuntimeDefault")),
        ("/containers/0/resources/requests/cpu", json!("50m")),
        ("/containers/0/resources/requests/memory", json!("128Mi")),
        ("/containers/0/resources/limits/memory", json!("256Mi")),
        ("/containers/0/livenessProbe/httpGet/path", json!("/healthz")),
        ("/containers/0/readinessProbe/httpGet/path", json!("/readyz")),
        ("/containers/0/ports/0/containerPort", json!(8080)),
        ("/containers/0/image", json!("ghcr.io/lustre-operator/lustre-operator:0.1.0")),
    ]
}

/// The container's environment with default values (`None`: the variable is absent).
const DEFAULT_ENV: &[(&str, Option<&str>)] = &[
    ("AWS_REGION", Some("us-east-1")),
    ("AWS_ENDPOINT_URL", None), // no endpoint override by default
    ("WATCH_NAMESPACES", None), // all namespaces by default (unset)
    ("METRICS_ADDR", Some("0.0.0.0:8080")),
    ("LEADER_ELECT", Some("true")),
    ("LOG_FORMAT", Some("json")),
    ("POLL_INTERVAL", Some("15")),
    ("RESYNC_INTERVAL", Some("600")),
    ("AWS_MAX_CALLS_PER_SECOND", Some("100")),
    ("AWS_MAX_CREATIONS_PER_SECOND", Some("10")),
];

/// The container's environment with `CUSTOM_VALUES`.
const CUSTOM_ENV: &[(&str, &str)] = &[
    ("AWS_REGION", "eu-west-1"),
    ("AWS_ENDPOINT_URL", "http://aws-emulator.test:4566"),
    ("WATCH_NAMESPACES", "ml,research"),
    ("LOG_FORMAT", "text"),
    ("POLL_INTERVAL", "30"),
    ("RUST_LOG", "debug"),
];

#[test]
fn deployment_is_hardened_and_wired_to_the_operator_flags() -> Result<()> {
    let docs = render("lustre-operator", &[])?;
    let deployment = one_of_kind(&docs, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array().context("no containers")?;
    assert_eq!(containers.len(), 1);
    let c = &containers[0];

    for (field, expected) in pinned_pod_fields() {
        assert_eq!(pod.pointer(field), Some(&expected), "spec.template.spec{field}");
    }
    let sc = &c["securityContext"];
    assert_eq!(str_list(&sc["capabilities"]["drop"]), vec!["ALL"]);
    assert!(sc["capabilities"].get("add").is_none(), "no capabilities added");
    assert!(sc.get("privileged").is_none_or(|p| p == false));
    assert_eq!(str_list(&c["args"]), vec!["run"]);
    assert_eq!(pod["serviceAccountName"], one_of_kind(&docs, "ServiceAccount")["metadata"]["name"]);

    let pod_ns = env(c, "POD_NAMESPACE").context("POD_NAMESPACE")?;
    assert_eq!(pod_ns["valueFrom"]["fieldRef"]["fieldPath"], "metadata.namespace");
    let value = |var: &str| env(c, var).and_then(|e| e["value"].as_str()).map(str::to_string);
    for &(var, expected) in DEFAULT_ENV {
        match expected {
            Some(expected) => assert_eq!(value(var).as_deref(), Some(expected), "{var}"),
            None => assert_eq!(env(c, var), None, "{var} is unset by default"),
        }
    }
    assert!(
        c["env"].as_array().into_iter().flatten().all(|e| e["valueFrom"].get("secretKeyRef").is_none()),
        "no secrets in env"
    );
    assert!(pod["volumes"].as_array().into_iter().flatten().all(|v| v.get("secret").is_none()), "no secret volumes");

    // The metrics Service selects the pod.
    let service = one_of_kind(&docs, "Service");
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (k, v) in service["spec"]["selector"].as_object().context("service selector")? {
        assert_eq!(&labels[k], v, "service selector {k}");
    }
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "metrics");

    // Non-default values reach the container.
    let custom = render("lustre-operator", CUSTOM_VALUES)?;
    let c = &one_of_kind(&custom, "Deployment")["spec"]["template"]["spec"]["containers"][0];
    let value = |var: &str| env(c, var).and_then(|e| e["value"].as_str()).map(str::to_string);
    for &(var, expected) in CUSTOM_ENV {
        assert_eq!(value(var).as_deref(), Some(expected), "{var}");
    }
    let sa = one_of_kind(&custom, "ServiceAccount");
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::111122223333:role/lustre-operator"
    );
    let monitor = one_of_kind(&custom, "ServiceMonitor");
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics");
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");

    // Leader election: forced on with several replicas; off (with Recreate) only when asked.
    let le = |sets: &[&str]| -> Result<(String, Value)> {
        let docs = render("lustre-operator", sets)?;
        let d = one_of_kind(&docs, "Deployment").clone();
        let v = env(&d["spec"]["template"]["spec"]["containers"][0], "LEADER_ELECT").context("LEADER_ELECT")?["value"]
            .clone();
        Ok((v.as_str().unwrap_or_default().to_string(), d["spec"]["strategy"]["type"].clone()))
    };
    assert_eq!(le(&["replicaCount=2", "leaderElect=false"])?.0, "true");
    let (off, strategy) = le(&["leaderElect=false"])?;
    assert_eq!(off, "false");
    assert_eq!(strategy, "Recreate");

    // `helm upgrade` with default values completes: the new pod becomes ready as a standby (its
    // caches synced, /readyz) before the old one, the Lease holder, is stopped. A decision, so
    // pinned here: surge one pod, never take the running one away first.
    let strategy = &deployment["spec"]["strategy"];
    assert_eq!(strategy["type"], "RollingUpdate");
    assert_eq!(strategy["rollingUpdate"]["maxSurge"], 1);
    assert_eq!(strategy["rollingUpdate"]["maxUnavailable"], 0);
    assert_eq!(c_default_readiness(deployment), "/readyz");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// values are documented

/// Dotted paths of every key in values.yaml (map keys only; lists are leaves).
fn value_keys(v: &serde_yaml::Value, prefix: &str, out: &mut Vec<String>) {
    if let serde_yaml::Value::Mapping(m) = v {
        for (k, child) in m {
            let key = k.as_str().unwrap_or_default();
            let path = if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
            out.push(path.clone());
            value_keys(child, &path, out);
        }
    }
}

#[test]
fn every_value_is_commented_and_listed_in_the_chart_readme() -> Result<()> {
    let text = read(&format!("{CHART}/values.yaml"))?;
    // Each key line is preceded by a comment line.
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') || t.starts_with('-') || !t.contains(':') {
            continue;
        }
        let prev = lines[..i].iter().rev().find(|l| !l.trim().is_empty()).map(|l| l.trim_start()).unwrap_or("");
        assert!(prev.starts_with('#'), "values.yaml line {}: `{}` has no comment above it", i + 1, line.trim());
    }
    let values: serde_yaml::Value = serde_yaml::from_str(&text)?;
    let mut keys = Vec::new();
    value_keys(&values, "", &mut keys);
    assert!(keys.len() > 30, "{keys:?}");
    let readme = read(&format!("{CHART}/README.md"))?;
    for key in &keys {
        assert!(readme.contains(&format!("| `{key}` |")), "{CHART}/README.md has no row for `{key}`");
    }
    // And no README row names a value that does not exist.
    for line in readme.lines().filter(|l| l.starts_with("| `")) {
        let key = line.trim_start_matches("| `").split('`').next().unwrap_or_default();
        assert!(keys.iter().any(|k| k == key), "{CHART}/README.md documents `{key}`, which values.yaml lacks");
    }
    Ok(())
}
