//! Packaging, the generated copies cannot drift (no control plane): manifests/install.yaml is a
//! fresh render of the chart, the chart's CRDs are manifests/crd.yaml, and the chart's admission
//! policy is manifests/class-admission-policy.yaml.
//!
//! After changing the chart (or regenerating the CRD), run `scripts/render-install.sh` to refresh
//! manifests/install.yaml; `install_yaml_equals_a_fresh_render_of_the_chart` fails until then.

#[path = "common/packaging.rs"]
mod common;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{ensure, Context, Result};
use serde_json::Value;
use testkit::workspace_root;

use common::{committed_crds, helm, kind, name, of_kind, parse_documents, read, render, CHART};

const POLICY: &str = "manifests/class-admission-policy.yaml";
const CHART_POLICY: &str = "charts/lustre-operator/files/class-admission-policy.yaml";

/// The chart's CRD files, in manifests/crd.yaml's order: (file under crds/, scope, short name).
const CHART_CRDS: &[(&str, &str, &str)] = &[
    ("lustrevolume.yaml", "Namespaced", "lv"),
    ("lustreclass.yaml", "Cluster", "lc"),
    ("lustredatatask.yaml", "Namespaced", "ldt"),
];

fn tempfile_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("packaging-{}-{name}", std::process::id()))
}

// ---------------------------------------------------------------------------------------------
// manifests/install.yaml

#[test]
fn install_yaml_equals_a_fresh_render_of_the_chart() -> Result<()> {
    let fresh = tempfile_path("install.yaml");
    let out = Command::new("bash")
        .arg(workspace_root().join("scripts/render-install.sh"))
        .arg(&fresh)
        .env("HELM", helm()?)
        .output()?;
    ensure!(out.status.success(), "render-install.sh failed: {}", String::from_utf8_lossy(&out.stderr));
    let fresh_text = std::fs::read_to_string(&fresh)?;
    let _ = std::fs::remove_file(&fresh);
    let committed = read("manifests/install.yaml")?;
    assert!(
        committed == fresh_text,
        "manifests/install.yaml differs from a fresh render of {CHART} (chart or CRD changed); run scripts/render-install.sh and commit the result"
    );

    // And the render is what it claims to be: a Namespace, then the chart with default values.
    let docs = parse_documents(&committed)?;
    assert_eq!(kind(&docs[0]), "Namespace");
    assert_eq!(name(&docs[0]), "lustre-operator");
    let chart = render("lustre-operator", &[])?;
    assert_eq!(docs[1..], chart[..], "install.yaml = Namespace + default render");
    for doc in &docs[1..] {
        if let Some(ns) = doc["metadata"]["namespace"].as_str() {
            assert_eq!(ns, "lustre-operator", "{} {}", kind(doc), name(doc));
        }
    }
    let has_crd_dir =
        workspace_root().join(CHART).join("crds").read_dir().map(|mut d| d.next().is_some()).unwrap_or(false);
    assert_eq!(
        !of_kind(&docs, "CustomResourceDefinition").is_empty(),
        has_crd_dir,
        "the CRD is included iff the chart has one"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// the chart ships the same CRDs as manifests/crd.yaml

#[test]
fn chart_crds_are_the_generated_crds() -> Result<()> {
    // manifests/crd.yaml is `lustre-operator crd` output (crates/operator/tests/crd_drift.rs checks
    // that); the chart ships the same three documents, one per file.
    let manifest = read("manifests/crd.yaml")?;
    let committed = committed_crds()?; // exactly three, in CHART_CRDS's order
    let mut chart_texts = Vec::new();
    for (&(file, scope, short), doc) in CHART_CRDS.iter().zip(&committed) {
        let path = format!("{CHART}/crds/{file}");
        let text = read(&path).with_context(|| format!("the chart ships {}", name(doc)))?;
        let docs = parse_documents(&text)?;
        assert_eq!(docs.len(), 1, "{path}");
        assert_eq!(kind(&docs[0]), "CustomResourceDefinition");
        assert_eq!(&docs[0], doc, "{path} differs from its document in manifests/crd.yaml; run `make crd`");
        assert_eq!(docs[0]["spec"]["scope"], scope, "{path}");
        assert_eq!(docs[0]["spec"]["names"]["shortNames"], serde_json::json!([short]), "{path}");
        chart_texts.push(text);
    }
    assert!(
        manifest == chart_texts.join("---\n"),
        "{CHART}/crds/ differs from manifests/crd.yaml byte for byte; regenerate them with `make crd`"
    );
    assert_eq!(
        std::fs::read_dir(workspace_root().join(CHART).join("crds"))?.count(),
        3,
        "{CHART}/crds/ holds exactly lustrevolume.yaml, lustreclass.yaml and lustredatatask.yaml"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// the chart ships the LustreClass admission policy of manifests/class-admission-policy.yaml

#[test]
fn chart_admission_policy_is_the_manifests_policy() -> Result<()> {
    // One source of truth: the chart's copy (helm cannot read outside the chart) is the same file.
    let source = read(POLICY)?;
    assert!(
        read(CHART_POLICY)? == source,
        "{CHART_POLICY} differs from {POLICY}; copy it: cp {POLICY} {CHART_POLICY} (then scripts/render-install.sh)"
    );
    // The rendered chart carries exactly those documents (with the chart's labels added).
    let mut expected = parse_documents(&source)?;
    let docs = render("lustre-operator", &[])?;
    let mut rendered: Vec<Value> = docs
        .iter()
        .filter(|d| matches!(kind(d), "ValidatingAdmissionPolicy" | "ValidatingAdmissionPolicyBinding"))
        .cloned()
        .collect();
    assert_eq!(rendered.len(), 2, "the policy and its binding");
    for doc in &mut rendered {
        let labels = doc["metadata"].as_object_mut().context("metadata")?.remove("labels").context("labels")?;
        assert_eq!(labels["app.kubernetes.io/part-of"], "lustre-operator");
    }
    for doc in &mut expected {
        doc["metadata"].as_object_mut().context("metadata")?.remove("labels");
    }
    assert_eq!(rendered, expected, "the chart renders {POLICY}");
    // And install.yaml has it.
    let install = parse_documents(&read("manifests/install.yaml")?)?;
    for doc in &expected {
        assert!(
            install.iter().any(|d| kind(d) == kind(doc) && name(d) == name(doc)),
            "manifests/install.yaml lacks {} {}",
            kind(doc),
            name(doc)
        );
    }
    // Off when asked.
    let off = render("lustre-operator", &["admissionPolicy.enabled=false"])?;
    assert!(!off.iter().any(|d| kind(d).starts_with("ValidatingAdmissionPolicy")));
    Ok(())
}
