//! What the packaging tests share: running helm on the chart, reading the repository's files,
//! picking documents out of a rendered stream, and the server-side dry run.
//!
//! Included by every `tests/packaging_*.rs` binary with `#[path = "common/packaging.rs"] mod common;`;
//! each binary uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{self, Scope};
use kube::Client;
use serde_json::Value;
use testkit::workspace_root;

pub const CHART: &str = "charts/lustre-operator";
/// The field manager of every apply and dry run.
pub const MANAGER: &str = "packaging-test";

/// The example LustreVolumes, in the order the tests index them (scratch first, then S3-linked).
pub const EXAMPLES: &[&str] = &[
    "manifests/examples/scratch-training.yaml",
    "manifests/examples/persistent-s3.yaml",
    "manifests/examples/persistent-2-with-s3.yaml",
];
/// The example LustreClasses: the default scratch class, then the S3 class.
pub const CLASS_EXAMPLES: &[&str] =
    &["manifests/examples/class-scratch-training.yaml", "manifests/examples/class-persistent-s3.yaml"];
pub const TASK_EXAMPLE: &str = "manifests/examples/data-task-export.yaml";
pub const POD_EXAMPLE: &str = "manifests/examples/pod-using-claim.yaml";

/// The non-default values the chart is rendered with (the last of `VALUE_SETS`).
pub const CUSTOM_VALUES: &[&str] = &[
    "serviceMonitor.enabled=true",
    "aws.region=eu-west-1",
    "aws.endpointUrl=http://aws-emulator.test:4566",
    "watchNamespaces={ml,research}",
    "logFormat=text",
    "pollIntervalSeconds=30",
    "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::111122223333:role/lustre-operator",
    "nodeSelector.kubernetes\\.io/os=linux",
    "tolerations[0].key=dedicated,tolerations[0].operator=Exists",
    "extraEnv[0].name=RUST_LOG,extraEnv[0].value=debug",
];

/// Value sets the chart is rendered with by the rendering and RBAC tests.
pub const VALUE_SETS: &[&[&str]] = &[
    &[],
    &["serviceMonitor.enabled=false", "leaderElect=true"],
    &["leaderElect=false", "admissionPolicy.enabled=false"],
    &["replicaCount=2", "leaderElect=false"],
    CUSTOM_VALUES,
];

// ---------------------------------------------------------------------------------------------
// helm

/// The helm binary `scripts/build-control-plane.sh` builds (looked up once).
pub fn helm() -> Result<PathBuf> {
    static HELM: std::sync::OnceLock<std::result::Result<PathBuf, String>> = std::sync::OnceLock::new();
    HELM.get_or_init(|| {
        let helm = testkit::binaries_dir().map_err(|e| format!("{e:#}"))?.join("helm");
        if helm.is_file() {
            Ok(helm)
        } else {
            Err(format!("no helm binary at {}", helm.display()))
        }
    })
    .clone()
    .map_err(anyhow::Error::msg)
}

/// Runs helm in the workspace root and returns its stdout; fails with helm's output otherwise.
pub fn run_helm(args: &[&str]) -> Result<String> {
    let out = Command::new(helm()?).args(args).current_dir(workspace_root()).output().context("running helm")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!("helm {} failed ({}):\n{}\n{}", args.join(" "), out.status, stdout, String::from_utf8_lossy(&out.stderr));
    }
    Ok(stdout)
}

/// `helm template` of the chart into `namespace` with `--set` values, CRDs included.
pub fn render(namespace: &str, sets: &[&str]) -> Result<Vec<Value>> {
    let mut args = vec!["template", "lustre-operator", CHART, "--namespace", namespace, "--include-crds"];
    for s in sets {
        args.push("--set");
        args.push(s);
    }
    parse_documents(&run_helm(&args)?)
}

// ---------------------------------------------------------------------------------------------
// documents

/// Every non-empty YAML document of a multi-document stream, as JSON values.
pub fn parse_documents(text: &str) -> Result<Vec<Value>> {
    let mut docs = Vec::new();
    for de in serde_yaml::Deserializer::from_str(text) {
        let v: Value = serde::Deserialize::deserialize(de).context("parsing a YAML document")?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

pub fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or_default()
}

pub fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or_default()
}

pub fn of_kind<'a>(docs: &'a [Value], k: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| kind(d) == k).collect()
}

pub fn one_of_kind<'a>(docs: &'a [Value], k: &str) -> &'a Value {
    let found = of_kind(docs, k);
    assert_eq!(found.len(), 1, "expected exactly one {k}, found {}", found.len());
    found[0]
}

/// A string or a list of strings, as a list.
pub fn str_list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

/// The entry of `var` in a container's `env`.
pub fn env<'a>(container: &'a Value, var: &str) -> Option<&'a Value> {
    container["env"].as_array()?.iter().find(|e| e["name"] == var)
}

/// A file of the repository, by its path from the workspace root.
pub fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(workspace_root().join(path)).with_context(|| format!("reading {path}"))
}

/// The three CRDs as committed in manifests/crd.yaml (`lustre-operator crd` output):
/// LustreVolume, LustreClass, then LustreDataTask.
pub fn committed_crds() -> Result<Vec<Value>> {
    let docs = parse_documents(&read("manifests/crd.yaml")?)?;
    let names: Vec<&str> = docs.iter().map(name).collect();
    ensure!(
        names == ["lustrevolumes.lustre.fsx.dev", "lustreclasses.lustre.fsx.dev", "lustredatatasks.lustre.fsx.dev"],
        "manifests/crd.yaml holds {names:?}, expected the LustreVolume, LustreClass and LustreDataTask CRDs"
    );
    Ok(docs)
}

/// The one document of `path`, as `T`.
pub fn example<T: serde::de::DeserializeOwned>(path: &str) -> Result<T> {
    let docs = parse_documents(&read(path)?)?;
    ensure!(docs.len() == 1, "{path} holds {} documents", docs.len());
    serde_json::from_value(docs[0].clone()).with_context(|| format!("{path} does not parse"))
}

// ---------------------------------------------------------------------------------------------
// the API server

pub fn client_setup() {
    testkit::install_crypto_provider();
}

/// The group, version and kind of a document.
pub fn gvk_of(doc: &Value) -> Result<GroupVersionKind> {
    let api_version = doc["apiVersion"].as_str().context("document without apiVersion")?;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    Ok(GroupVersionKind::gvk(group, version, kind(doc)))
}

/// The API of `ar`: in the document's namespace (or `default_ns`) when namespaced.
pub fn api_for(client: &Client, ar: &ApiResource, scope: &Scope, doc: &Value, default_ns: &str) -> Api<DynamicObject> {
    match scope {
        Scope::Namespaced => {
            let ns = doc["metadata"]["namespace"].as_str().unwrap_or(default_ns);
            Api::namespaced_with(client.clone(), ns, ar)
        }
        Scope::Cluster => Api::all_with(client.clone(), ar),
    }
}

/// Outcome of dry-running one document.
pub enum DryRun {
    Accepted,
    Skipped(String),
}

/// Server-side apply dry run of one document, its kind resolved through discovery. Namespaced
/// objects without a namespace go to `default_ns`. Kinds the server does not know are skipped
/// (only allowed for kinds listed in `optional_kinds`; anything else is an error).
pub async fn dry_run_apply(client: &Client, doc: &Value, default_ns: &str, optional_kinds: &[&str]) -> Result<DryRun> {
    let gvk = gvk_of(doc)?;
    let api_version = doc["apiVersion"].as_str().unwrap_or_default();
    let (ar, caps) = match discovery::pinned_kind(client, &gvk).await {
        Ok(found) => found,
        Err(e) if optional_kinds.contains(&kind(doc)) => {
            return Ok(DryRun::Skipped(format!("{api_version} {} is not served by this cluster ({e})", kind(doc))));
        }
        Err(e) => bail!("cannot resolve {api_version} {} through discovery: {e}", kind(doc)),
    };
    let api = api_for(client, &ar, &caps.scope, doc, default_ns);
    api.patch(name(doc), &PatchParams::apply(MANAGER).dry_run(), &Patch::Apply(doc))
        .await
        .with_context(|| format!("server-side dry-run apply of {} {} was rejected", kind(doc), name(doc)))?;
    Ok(DryRun::Accepted)
}
