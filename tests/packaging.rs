//! Packaging: the Helm chart, the rendered install manifest, the IAM policy and the examples.
//!
//! The chart is linted and rendered with the helm binary that `scripts/build-control-plane.sh`
//! builds, and every rendered document is sent to the local kube-apiserver as a server-side apply
//! dry run, so schema errors (a misspelt field, a wrong type) fail here rather than at install
//! time. The LustreVolume, LustreClass and LustreDataTask CRDs are applied for real first, because
//! dry runs of custom objects need them to exist.
//!
//! After changing the chart (or regenerating the CRD), run `scripts/render-install.sh` to refresh
//! manifests/install.yaml; `install_yaml_equals_a_fresh_render_of_the_chart` fails until then.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{self, Scope};
use kube::Client;
use serde_json::Value;
use testkit::process::ManagedChild;
use testkit::workspace_root;

const CHART: &str = "charts/lustre-operator";
const MANAGER: &str = "packaging-test";
const MANAGED_BY_CONDITION: &str = "aws:ResourceTag/lustre.fsx.dev/managed-by";
const MANAGED_BY_REQUEST: &str = "aws:RequestTag/lustre.fsx.dev/managed-by";

// ---------------------------------------------------------------------------------------------
// helpers

fn helm() -> Result<PathBuf> {
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
fn run_helm(args: &[&str]) -> Result<String> {
    let out = Command::new(helm()?).args(args).current_dir(workspace_root()).output().context("running helm")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!("helm {} failed ({}):\n{}\n{}", args.join(" "), out.status, stdout, String::from_utf8_lossy(&out.stderr));
    }
    Ok(stdout)
}

/// `helm template` of the chart into `namespace` with `--set` values, CRDs included.
fn render(namespace: &str, sets: &[&str]) -> Result<Vec<Value>> {
    let mut args = vec!["template", "lustre-operator", CHART, "--namespace", namespace, "--include-crds"];
    for s in sets {
        args.push("--set");
        args.push(s);
    }
    parse_documents(&run_helm(&args)?)
}

/// Every non-empty YAML document of a multi-document stream, as JSON values.
fn parse_documents(text: &str) -> Result<Vec<Value>> {
    let mut docs = Vec::new();
    for de in serde_yaml::Deserializer::from_str(text) {
        let v: Value = serde::Deserialize::deserialize(de).context("parsing a YAML document")?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or_default()
}

fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or_default()
}

fn of_kind<'a>(docs: &'a [Value], k: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| kind(d) == k).collect()
}

fn one_of_kind<'a>(docs: &'a [Value], k: &str) -> &'a Value {
    let found = of_kind(docs, k);
    assert_eq!(found.len(), 1, "expected exactly one {k}, found {}", found.len());
    found[0]
}

fn str_list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(workspace_root().join(path)).with_context(|| format!("reading {path}"))
}

fn client_setup() {
    testkit::install_crypto_provider();
}

/// Outcome of dry-running one document.
enum DryRun {
    Accepted,
    Skipped(String),
}

/// Server-side apply dry run of one document, its kind resolved through discovery. Namespaced
/// objects without a namespace go to `default_ns`. Kinds the server does not know are skipped
/// (only allowed for kinds listed in `optional_kinds`; anything else is an error).
async fn dry_run_apply(client: &Client, doc: &Value, default_ns: &str, optional_kinds: &[&str]) -> Result<DryRun> {
    let api_version = doc["apiVersion"].as_str().context("document without apiVersion")?;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind(doc));
    let (ar, caps) = match discovery::pinned_kind(client, &gvk).await {
        Ok(found) => found,
        Err(e) if optional_kinds.contains(&kind(doc)) => {
            return Ok(DryRun::Skipped(format!("{api_version} {} is not served by this cluster ({e})", kind(doc))));
        }
        Err(e) => bail!("cannot resolve {api_version} {} through discovery: {e}", kind(doc)),
    };
    let api: Api<DynamicObject> = match caps.scope {
        Scope::Namespaced => {
            let ns = doc["metadata"]["namespace"].as_str().unwrap_or(default_ns);
            Api::namespaced_with(client.clone(), ns, &ar)
        }
        Scope::Cluster => Api::all_with(client.clone(), &ar),
    };
    api.patch(name(doc), &PatchParams::apply(MANAGER).dry_run(), &Patch::Apply(doc))
        .await
        .with_context(|| format!("server-side dry-run apply of {} {} was rejected", kind(doc), name(doc)))?;
    Ok(DryRun::Accepted)
}

/// The three CRDs as committed in manifests/crd.yaml (`lustre-operator crd` output):
/// LustreVolume, LustreClass, then LustreDataTask.
fn committed_crds() -> Result<Vec<Value>> {
    let docs = parse_documents(&read("manifests/crd.yaml")?)?;
    let names: Vec<&str> = docs.iter().map(name).collect();
    ensure!(
        names == ["lustrevolumes.lustre.fsx.dev", "lustreclasses.lustre.fsx.dev", "lustredatatasks.lustre.fsx.dev"],
        "manifests/crd.yaml holds {names:?}, expected the LustreVolume, LustreClass and LustreDataTask CRDs"
    );
    Ok(docs)
}

/// Value sets the chart is rendered with in the tests below.
const VALUE_SETS: &[&[&str]] = &[
    &[],
    &["serviceMonitor.enabled=false", "leaderElect=true"],
    &["leaderElect=false", "admissionPolicy.enabled=false"],
    &["replicaCount=2", "leaderElect=false"],
    &[
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
    ],
];

// ---------------------------------------------------------------------------------------------
// (a) lint

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
// (b) server-side dry run of the rendered chart

#[tokio::test]
async fn rendered_chart_is_accepted_by_server_side_dry_run() -> Result<()> {
    client_setup();
    let ns = testkit::namespace("pkg-chart").await?;
    for sets in VALUE_SETS {
        let docs = render(&ns.name, sets)?;
        let kinds: BTreeSet<&str> = docs.iter().map(kind).collect();
        for k in
            ["CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Service", "Deployment"]
        {
            assert!(kinds.contains(k), "values {sets:?}: no {k} rendered (kinds: {kinds:?})");
        }
        let monitor = sets.contains(&"serviceMonitor.enabled=true");
        assert_eq!(kinds.contains("ServiceMonitor"), monitor, "values {sets:?}: ServiceMonitor rendered iff enabled");
        let leader = !sets.contains(&"leaderElect=false") || sets.contains(&"replicaCount=2");
        let lease_role = docs.iter().any(|d| kind(d) == "Role" && name(d).ends_with("-leader-election"));
        assert_eq!(lease_role, leader, "values {sets:?}: lease Role iff leader election");
        let policy = !sets.contains(&"admissionPolicy.enabled=false");
        for k in ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"] {
            assert_eq!(kinds.contains(k), policy, "values {sets:?}: {k} iff admissionPolicy.enabled");
        }

        // CRDs for real first: custom objects (none in the chart today) would need them.
        for crd in of_kind(&docs, "CustomResourceDefinition") {
            testkit::apply_crd(&ns.client, crd).await?;
        }
        let mut accepted = 0;
        for doc in docs.iter().filter(|d| kind(d) != "CustomResourceDefinition") {
            // The Roles of watched namespaces (ml, research) go to this test's namespace: the dry
            // run judges the object, and those namespaces do not exist here.
            let mut doc = doc.clone();
            if doc["metadata"]["namespace"].as_str().is_some_and(|n| n != ns.name) {
                doc["metadata"]["namespace"] = Value::String(ns.name.clone());
            }
            let doc = &doc;
            match dry_run_apply(&ns.client, doc, &ns.name, &["ServiceMonitor"])
                .await
                .with_context(|| format!("values {sets:?}"))?
            {
                DryRun::Accepted => accepted += 1,
                DryRun::Skipped(reason) => println!("values {sets:?}: skipped {} {}: {reason}", kind(doc), name(doc)),
            }
        }
        let expected =
            docs.len() - of_kind(&docs, "CustomResourceDefinition").len() - of_kind(&docs, "ServiceMonitor").len();
        assert!(accepted >= expected, "values {sets:?}: {accepted} of {expected} documents accepted");
        println!("values {sets:?}: {accepted} documents accepted by the dry run");
    }
    Ok(())
}

/// A Pod made from the Deployment's template, for Pod Security admission (which judges Pods,
/// not Deployments).
fn pod_from_deployment(docs: &[Value], namespace: &str) -> Value {
    let deployment = one_of_kind(docs, "Deployment");
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "pod-security-check", "namespace": namespace,
                     "labels": deployment["spec"]["template"]["metadata"]["labels"]},
        "spec": deployment["spec"]["template"]["spec"],
    })
}

#[tokio::test]
async fn operator_pod_passes_the_restricted_pod_security_standard() -> Result<()> {
    client_setup();
    let ns = testkit::namespace("pkg-pss").await?;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(ns.client.clone());
    let labels = serde_json::json!({"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }}});
    namespaces.patch(&ns.name, &PatchParams::default(), &Patch::Merge(&labels)).await?;

    let docs = render(&ns.name, &[])?;
    // The ServiceAccount for real: Pod admission looks it up.
    let sa = one_of_kind(&docs, "ServiceAccount");
    let sas: Api<k8s_openapi::api::core::v1::ServiceAccount> = Api::namespaced(ns.client.clone(), &ns.name);
    sas.patch(name(sa), &PatchParams::apply(MANAGER).force(), &Patch::Apply(sa)).await?;

    match dry_run_apply(&ns.client, &pod_from_deployment(&docs, &ns.name), &ns.name, &[]).await? {
        DryRun::Accepted => {}
        DryRun::Skipped(reason) => bail!("{reason}"),
    }

    // The namespace really enforces: a weakened security context is refused.
    let weak = render(&ns.name, &["securityContext.allowPrivilegeEscalation=true"])?;
    let err = dry_run_apply(&ns.client, &pod_from_deployment(&weak, &ns.name), &ns.name, &[])
        .await
        .err()
        .context("a pod allowing privilege escalation must be refused in a restricted namespace")?;
    assert!(format!("{err:#}").contains("PodSecurity"), "{err:#}");
    Ok(())
}

#[tokio::test]
async fn helm_install_dry_run_renders_the_notes() -> Result<()> {
    client_setup();
    let ns = testkit::namespace("pkg-notes").await?;
    let kubeconfig = tokio::task::spawn_blocking(testkit::shared).await??.kubeconfig().to_path_buf();
    let kubeconfig = kubeconfig.to_string_lossy().into_owned();
    let install = |sets: &'static str| {
        run_helm(&[
            "install",
            "lustre-operator",
            CHART,
            "--namespace",
            &ns.name,
            "--dry-run=client",
            "--kubeconfig",
            &kubeconfig,
            "--set",
            sets,
        ])
    };
    let out = install("watchNamespaces={ml}")?;
    let notes = out.split("NOTES:").nth(1).context("helm printed no NOTES")?;
    println!("{notes}");
    assert!(notes.contains(&format!("installed in namespace {}", ns.name)), "{notes}");
    assert!(notes.contains("Watching: ml"), "{notes}");
    assert!(notes.contains("create-pod-identity-association"), "without IRSA the notes explain Pod Identity: {notes}");
    let out = install("serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::111122223333:role/x")?;
    let notes = out.split("NOTES:").nth(1).context("helm printed no NOTES")?;
    assert!(!notes.contains("create-pod-identity-association"), "{notes}");
    assert!(notes.contains("Watching: all namespaces"), "{notes}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// (c) RBAC

/// (API group, resource, verb) triples.
type Grants = BTreeSet<(String, String, String)>;

fn triples(rules: &[(&str, &str, &[&str])]) -> Grants {
    let mut out = Grants::new();
    for (group, resource, verbs) in rules {
        for verb in *verbs {
            out.insert((group.to_string(), resource.to_string(), verb.to_string()));
        }
    }
    out
}

/// Every (group, resource, verb) a Role or ClusterRole grants.
fn granted(role: &Value) -> Grants {
    let mut out = Grants::new();
    for rule in role["rules"].as_array().into_iter().flatten() {
        for group in str_list(&rule["apiGroups"]) {
            for resource in str_list(&rule["resources"]) {
                for verb in str_list(&rule["verbs"]) {
                    out.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    out
}

#[test]
fn rendered_rbac_grants_no_secrets_and_no_wildcards_but_what_the_operator_needs() -> Result<()> {
    for sets in VALUE_SETS {
        let docs = render("lustre-operator", sets)?;
        let roles: Vec<&Value> = docs.iter().filter(|d| matches!(kind(d), "Role" | "ClusterRole")).collect();
        assert!(!roles.is_empty(), "values {sets:?}: no Role or ClusterRole rendered");
        for role in &roles {
            let rules = role["rules"].as_array().cloned().unwrap_or_default();
            assert!(!rules.is_empty(), "{} {} has no rules", kind(role), name(role));
            for rule in rules {
                let resources = str_list(&rule["resources"]);
                let verbs = str_list(&rule["verbs"]);
                let groups = str_list(&rule["apiGroups"]);
                let what = format!("values {sets:?}: {} {} rule {rule}", kind(role), name(role));
                assert!(rule.get("nonResourceURLs").is_none(), "{what}: nonResourceURLs");
                assert!(
                    !resources.iter().any(|r| r == "*" || r.starts_with("*/") || r.ends_with("/*")),
                    "{what}: wildcard resource"
                );
                assert!(!verbs.iter().any(|v| v == "*"), "{what}: wildcard verb");
                assert!(!groups.iter().any(|g| g == "*"), "{what}: wildcard API group");
                assert!(
                    !resources.iter().any(|r| r == "secrets" || r.starts_with("secrets/")),
                    "{what}: grants secrets"
                );
                assert!(
                    !verbs.iter().any(|v| matches!(v.as_str(), "escalate" | "bind" | "impersonate")),
                    "{what}: privilege verbs"
                );
            }
        }

        // Exactly what the operator calls (crates/operator/src), no more and no less: see the
        // comment at the top of templates/clusterrole.yaml.
        let watched: Vec<String> = sets
            .iter()
            .find_map(|s| s.strip_prefix("watchNamespaces={"))
            .map(|l| l.trim_end_matches('}').split(',').map(str::to_string).collect())
            .unwrap_or_default();
        let namespaced = triples(&[
            ("lustre.fsx.dev", "lustrevolumes", &["list", "watch", "patch"]),
            ("lustre.fsx.dev", "lustrevolumes/status", &["patch"]),
            ("lustre.fsx.dev", "lustredatatasks", &["list", "watch", "patch", "delete"]),
            ("lustre.fsx.dev", "lustredatatasks/status", &["patch"]),
            ("", "persistentvolumeclaims", &["get", "list", "watch", "create", "delete"]),
            ("", "pods", &["list"]),
            ("events.k8s.io", "events", &["create", "patch"]),
        ]);
        let mut cluster = triples(&[
            ("lustre.fsx.dev", "lustreclasses", &["list", "watch"]),
            ("", "namespaces", &["list", "watch"]),
            ("", "persistentvolumes", &["get", "list", "watch", "create", "patch", "delete"]),
            ("storage.k8s.io", "storageclasses", &["get", "list", "watch", "create", "patch", "delete"]),
        ]);
        let cluster_role = one_of_kind(&docs, "ClusterRole");
        if watched.is_empty() {
            // Class usage is only reported when every namespace is watched.
            cluster.extend(triples(&[("lustre.fsx.dev", "lustreclasses/status", &["patch"])]));
            cluster.extend(namespaced.iter().cloned());
            assert!(
                !docs.iter().any(|d| kind(d) == "Role" && !name(d).ends_with("-leader-election")),
                "values {sets:?}: no namespaced Role without watchNamespaces"
            );
        } else {
            // No cluster-wide access to claims, pods, volumes or events.
            for rule in cluster_role["rules"].as_array().into_iter().flatten() {
                for r in str_list(&rule["resources"]) {
                    assert!(
                        !matches!(
                            r.as_str(),
                            "persistentvolumeclaims"
                                | "persistentvolumeclaims/status"
                                | "pods"
                                | "events"
                                | "lustrevolumes"
                                | "lustrevolumes/status"
                                | "lustredatatasks"
                                | "lustredatatasks/status"
                        ),
                        "values {sets:?}: the ClusterRole grants {r} although watchNamespaces is set"
                    );
                }
            }
            let roles: Vec<&Value> =
                of_kind(&docs, "Role").into_iter().filter(|r| !name(r).ends_with("-leader-election")).collect();
            let mut in_namespaces: Vec<&str> =
                roles.iter().map(|r| r["metadata"]["namespace"].as_str().unwrap_or("")).collect();
            in_namespaces.sort();
            assert_eq!(
                in_namespaces,
                watched.iter().map(String::as_str).collect::<Vec<_>>(),
                "one Role per watched namespace"
            );
            for role in roles {
                assert_eq!(granted(role), namespaced, "values {sets:?}: Role in {}", role["metadata"]["namespace"]);
                let binding = of_kind(&docs, "RoleBinding")
                    .into_iter()
                    .find(|b| {
                        b["metadata"]["namespace"] == role["metadata"]["namespace"]
                            && b["roleRef"]["name"] == role["metadata"]["name"]
                    })
                    .context("each watched namespace's Role is bound")?;
                assert_eq!(binding["roleRef"]["kind"], "Role");
            }
        }
        assert_eq!(granted(cluster_role), cluster, "values {sets:?}: the ClusterRole");

        // The lease Role: leases only, namespaced to the release.
        for role in of_kind(&docs, "Role").into_iter().filter(|r| name(r).ends_with("-leader-election")) {
            assert_eq!(role["metadata"]["namespace"], "lustre-operator");
            let mut verbs = BTreeSet::new();
            for rule in role["rules"].as_array().into_iter().flatten() {
                assert_eq!(str_list(&rule["apiGroups"]), vec!["coordination.k8s.io"]);
                assert_eq!(str_list(&rule["resources"]), vec!["leases"]);
                verbs.extend(str_list(&rule["verbs"]));
            }
            assert_eq!(verbs, BTreeSet::from(["create".to_string(), "get".into(), "update".into()]));
        }

        // Bindings point at the rendered ServiceAccount.
        let sa = one_of_kind(&docs, "ServiceAccount");
        for binding in docs.iter().filter(|d| matches!(kind(d), "RoleBinding" | "ClusterRoleBinding")) {
            assert_eq!(binding["subjects"].as_array().map(Vec::len), Some(1), "one subject");
            assert_eq!(binding["subjects"][0]["kind"], "ServiceAccount");
            assert_eq!(binding["subjects"][0]["name"], sa["metadata"]["name"]);
            assert_eq!(binding["subjects"][0]["namespace"], "lustre-operator");
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// (d) the Deployment

/// The readiness probe's path of the Deployment's container.
fn c_default_readiness(deployment: &Value) -> &str {
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"].as_str().unwrap_or("")
}

fn env<'a>(container: &'a Value, var: &str) -> Option<&'a Value> {
    container["env"].as_array()?.iter().find(|e| e["name"] == var)
}

#[test]
fn deployment_is_hardened_and_wired_to_the_operator_flags() -> Result<()> {
    let docs = render("lustre-operator", &[])?;
    let deployment = one_of_kind(&docs, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array().context("no containers")?;
    assert_eq!(containers.len(), 1);
    let c = &containers[0];

    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["runAsUser"], 65532);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(str_list(&sc["capabilities"]["drop"]), vec!["ALL"]);
    assert!(sc["capabilities"].get("add").is_none(), "no capabilities added");
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    assert!(sc.get("privileged").is_none_or(|p| p == false));

    assert_eq!(c["resources"]["requests"]["cpu"], "50m");
    assert_eq!(c["resources"]["requests"]["memory"], "128Mi");
    assert_eq!(c["resources"]["limits"]["memory"], "256Mi");

    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["ports"][0]["containerPort"], 8080);
    assert_eq!(c["image"], "ghcr.io/lustre-operator/lustre-operator:0.1.0");
    assert_eq!(str_list(&c["args"]), vec!["run"]);
    assert_eq!(pod["serviceAccountName"], one_of_kind(&docs, "ServiceAccount")["metadata"]["name"]);

    let pod_ns = env(c, "POD_NAMESPACE").context("POD_NAMESPACE")?;
    assert_eq!(pod_ns["valueFrom"]["fieldRef"]["fieldPath"], "metadata.namespace");
    let value = |var: &str| env(c, var).and_then(|e| e["value"].as_str()).map(str::to_string);
    assert_eq!(value("AWS_REGION").as_deref(), Some("us-east-1"));
    assert_eq!(env(c, "AWS_ENDPOINT_URL"), None, "no endpoint override by default");
    assert_eq!(env(c, "WATCH_NAMESPACES"), None, "all namespaces by default (unset)");
    assert_eq!(value("METRICS_ADDR").as_deref(), Some("0.0.0.0:8080"));
    assert_eq!(value("LEADER_ELECT").as_deref(), Some("true"));
    assert_eq!(value("LOG_FORMAT").as_deref(), Some("json"));
    assert_eq!(value("POLL_INTERVAL").as_deref(), Some("15"));
    assert_eq!(value("RESYNC_INTERVAL").as_deref(), Some("600"));
    assert_eq!(value("AWS_MAX_CALLS_PER_SECOND").as_deref(), Some("100"));
    assert_eq!(value("AWS_MAX_CREATIONS_PER_SECOND").as_deref(), Some("10"));
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
    let docs = render("lustre-operator", VALUE_SETS[4])?;
    let c = &one_of_kind(&docs, "Deployment")["spec"]["template"]["spec"]["containers"][0];
    let value = |var: &str| env(c, var).and_then(|e| e["value"].as_str()).map(str::to_string);
    assert_eq!(value("AWS_REGION").as_deref(), Some("eu-west-1"));
    assert_eq!(value("AWS_ENDPOINT_URL").as_deref(), Some("http://aws-emulator.test:4566"));
    assert_eq!(value("WATCH_NAMESPACES").as_deref(), Some("ml,research"));
    assert_eq!(value("LOG_FORMAT").as_deref(), Some("text"));
    assert_eq!(value("POLL_INTERVAL").as_deref(), Some("30"));
    assert_eq!(value("RUST_LOG").as_deref(), Some("debug"));
    let sa = one_of_kind(&docs, "ServiceAccount");
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::111122223333:role/lustre-operator"
    );
    let monitor = one_of_kind(&docs, "ServiceMonitor");
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
// (e) manifests/install.yaml cannot drift

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

fn tempfile_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("packaging-{}-{name}", std::process::id()))
}

// ---------------------------------------------------------------------------------------------
// the chart ships the same CRD as manifests/crd.yaml

#[test]
fn chart_crds_are_the_generated_crds() -> Result<()> {
    // manifests/crd.yaml is `lustre-operator crd` output (crates/operator/tests/crd_drift.rs checks
    // that); the chart ships the same three documents, one per file.
    let manifest = read("manifests/crd.yaml")?;
    let committed = committed_crds()?;
    let mut chart_texts = Vec::new();
    for (file, doc, scope, short) in [
        ("lustrevolume.yaml", &committed[0], "Namespaced", "lv"),
        ("lustreclass.yaml", &committed[1], "Cluster", "lc"),
        ("lustredatatask.yaml", &committed[2], "Namespaced", "ldt"),
    ] {
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

const POLICY: &str = "manifests/class-admission-policy.yaml";
const CHART_POLICY: &str = "charts/lustre-operator/files/class-admission-policy.yaml";

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

// ---------------------------------------------------------------------------------------------
// (f) IAM policy

#[test]
fn iam_policy_scopes_every_mutation_to_operator_tagged_resources() -> Result<()> {
    let policy: Value =
        serde_json::from_str(&read("manifests/iam-policy.json")?).context("iam-policy.json is not JSON")?;
    assert_eq!(policy["Version"], "2012-10-17");
    let statements = policy["Statement"].as_array().context("Statement is not a list")?;
    let mut allowed = BTreeSet::new();
    let mut sids = BTreeSet::new();
    for st in statements {
        let sid = st["Sid"].as_str().context("every statement has a Sid (manifests/README.md explains them)")?;
        assert!(sids.insert(sid.to_string()), "duplicate Sid {sid}");
        assert_eq!(st["Effect"], "Allow", "{sid}");
        assert!(st.get("NotAction").is_none() && st.get("NotResource").is_none(), "{sid}: no NotAction/NotResource");
        let actions = str_list(&st["Action"]);
        assert!(!actions.is_empty(), "{sid}: no actions");
        let cond = &st["Condition"];
        let resource_tagged = cond["StringEquals"][MANAGED_BY_CONDITION] == "lustre-operator";
        let request_tagged = cond["StringEquals"][MANAGED_BY_REQUEST] == "lustre-operator";
        for action in &actions {
            assert!(!action.contains('*'), "{sid}: wildcard action {action}");
            let (_, op) = action.split_once(':').context("service:Action")?;
            allowed.insert(action.clone());
            let mutating =
                ["Delete", "Update", "Revoke", "Authorize", "Untag", "Cancel"].iter().any(|p| op.starts_with(p));
            if mutating {
                assert!(
                    resource_tagged,
                    "{sid}: {action} must be conditioned on {MANAGED_BY_CONDITION} = lustre-operator"
                );
            }
            match action.as_str() {
                "fsx:CreateFileSystem"
                | "ec2:CreateSecurityGroup"
                | "fsx:CreateDataRepositoryAssociation"
                | "fsx:CreateDataRepositoryTask" => {
                    assert!(request_tagged, "{sid}: {action} needs {MANAGED_BY_REQUEST} = lustre-operator");
                    assert!(
                        str_list(&cond["ForAnyValue:StringEquals"]["aws:TagKeys"])
                            .contains(&"lustre.fsx.dev/owner-uid".to_string()),
                        "{sid}: {action} needs aws:TagKeys with the owner tag"
                    );
                    assert_eq!(
                        cond["Null"]["aws:RequestTag/lustre.fsx.dev/owner-uid"], "false",
                        "{sid}: owner tag required"
                    );
                }
                "ec2:CreateTags" => {
                    // EC2 names the creating call in ec2:CreateAction.
                    let on_create = cond["StringEquals"]["ec2:CreateAction"] == "CreateSecurityGroup" && request_tagged;
                    assert!(on_create || resource_tagged, "{sid}: {action} only on create or on managed resources");
                }
                "fsx:TagResource" => {
                    // FSx has no CreateAction key: the tags given to CreateFileSystem are authorised
                    // as fsx:TagResource with the request's tags, so on create the statement asks
                    // for the same request tags as CreateTaggedFileSystem.
                    let on_create = request_tagged
                        && str_list(&cond["ForAnyValue:StringEquals"]["aws:TagKeys"])
                            .contains(&"lustre.fsx.dev/owner-uid".to_string())
                        && cond["Null"]["aws:RequestTag/lustre.fsx.dev/owner-uid"] == "false";
                    assert!(on_create || resource_tagged, "{sid}: {action} only on create or on managed resources");
                }
                "fsx:CreateBackup" => {
                    // The file system backed up must be a managed one; the new backup itself
                    // carries no tag yet, so a statement without the condition names backups only.
                    for r in str_list(&st["Resource"]) {
                        assert!(
                            resource_tagged || r.starts_with("arn:aws:fsx:*:*:backup/"),
                            "{sid}: final backups of managed file systems only ({r})"
                        );
                    }
                }
                "iam:CreateServiceLinkedRole" => {
                    let mut names = str_list(&cond["StringEquals"]["iam:AWSServiceName"]);
                    names.sort();
                    assert_eq!(names, vec!["fsx.amazonaws.com", "s3.data-source.lustre.fsx.amazonaws.com"], "{sid}");
                }
                "iam:AttachRolePolicy" | "iam:PutRolePolicy" => {
                    for r in str_list(&st["Resource"]) {
                        assert!(
                            r.starts_with(
                                "arn:aws:iam::*:role/aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/"
                            ),
                            "{sid}: {r}"
                        );
                    }
                }
                "ec2:GetSecurityGroupsForVpc" => {} // read-only; a dependent action of CreateFileSystem
                _ if op.starts_with("Describe") || op.starts_with("List") => {}
                _ if mutating => {} // checked above
                other => panic!("{sid}: {other} is not one of the actions manifests/README.md explains"),
            }
            if op.starts_with("Create")
                && !matches!(action.as_str(), "fsx:CreateBackup" | "iam:CreateServiceLinkedRole" | "ec2:CreateTags")
            {
                assert!(request_tagged, "{sid}: {action} creates without {MANAGED_BY_REQUEST}");
            }
            // Only condition keys the service authorization reference documents (a key IAM does not
            // know never matches, and the statement silently allows nothing).
            for (_, keys) in cond.as_object().into_iter().flatten() {
                for key in keys.as_object().into_iter().flatten().map(|(k, _)| k) {
                    let known = key.starts_with("aws:RequestTag/")
                        || key.starts_with("aws:ResourceTag/")
                        || key == "aws:TagKeys"
                        || (key == "ec2:CreateAction" && action == "ec2:CreateTags")
                        || (key == "iam:AWSServiceName" && action == "iam:CreateServiceLinkedRole");
                    assert!(known, "{sid}: condition key {key} is not documented for {action}");
                }
            }
            assert!(
                !(op.starts_with("Describe") || op.starts_with("List") || op.starts_with("Get")) || cond.is_null(),
                "{sid}: read actions are kept apart from conditioned statements"
            );
        }
        assert!(!matches!(&st["Resource"], Value::Null), "{sid}: no Resource");
        if str_list(&st["Resource"]) == ["*"] {
            let read_only = actions
                .iter()
                .all(|a| a.split(':').nth(1).is_some_and(|op| op.starts_with("Describe") || op.starts_with("List")));
            assert!(read_only || !cond.is_null(), "{sid}: Resource * only for reads or with a condition");
        }
    }
    for needed in [
        "fsx:CreateFileSystem",
        "fsx:DescribeFileSystems",
        "fsx:UpdateFileSystem",
        "fsx:DeleteFileSystem",
        "fsx:TagResource",
        "fsx:ListTagsForResource",
        "fsx:CreateBackup",
        "fsx:CreateDataRepositoryTask",
        "fsx:DescribeDataRepositoryTasks",
        "fsx:CancelDataRepositoryTask",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeNetworkInterfaces",
        "ec2:CreateSecurityGroup",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:DeleteSecurityGroup",
        "ec2:CreateTags",
        "iam:CreateServiceLinkedRole",
    ] {
        assert!(allowed.contains(needed), "the policy does not allow {needed}");
    }
    // Nothing the operator never calls: it tags only on create and never removes tags.
    for unused in ["fsx:UntagResource", "ec2:DeleteTags"] {
        assert!(!allowed.contains(unused), "the policy allows {unused}, which the operator never calls");
    }
    // Every statement is explained.
    let readme = read("manifests/README.md")?;
    for sid in &sids {
        assert!(readme.contains(&format!("`{sid}`")), "manifests/README.md does not explain statement {sid}");
    }
    Ok(())
}

/// parliament (PyPI, installed by scripts/prerequisites.sh) finds nothing above LOW in the policy.
#[test]
fn iam_policy_passes_parliament_with_no_finding_above_low() -> Result<()> {
    let policy = std::fs::File::open(workspace_root().join("manifests/iam-policy.json"))?;
    let out = Command::new("parliament")
        .args(["--json", "--minimum_severity", "MEDIUM"])
        .stdin(policy)
        .output()
        .context("parliament is not installed: run scripts/prerequisites.sh (pip install parliament==1.6.4)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let findings: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        findings.is_empty() && out.status.success(),
        "parliament found issues above LOW in manifests/iam-policy.json ({}):\n{}\n{}",
        out.status,
        findings.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// (g) examples

const EXAMPLES: &[&str] = &[
    "manifests/examples/scratch-training.yaml",
    "manifests/examples/persistent-s3.yaml",
    "manifests/examples/persistent-2-with-s3.yaml",
];
const CLASS_EXAMPLES: &[&str] =
    &["manifests/examples/class-scratch-training.yaml", "manifests/examples/class-persistent-s3.yaml"];
const TASK_EXAMPLE: &str = "manifests/examples/data-task-export.yaml";

/// The one document of `path`, as `T`.
fn example<T: serde::de::DeserializeOwned>(path: &str) -> Result<T> {
    let docs = parse_documents(&read(path)?)?;
    ensure!(docs.len() == 1, "{path} holds {} documents", docs.len());
    serde_json::from_value(docs[0].clone()).with_context(|| format!("{path} does not parse"))
}

#[test]
fn examples_parse_as_valid_volumes_and_classes_that_fit_together() -> Result<()> {
    use lustre_api::class::DEFAULT_CLASS_ANNOTATION;
    use lustre_api::policy::{effective, NamespaceUsage};
    use lustre_api::{AutoImportPolicy, DeletionPolicy, DeploymentType, LustreClass, LustreVolume, StorageType};
    let volumes: Vec<LustreVolume> = EXAMPLES.iter().map(|p| example(p)).collect::<Result<_>>()?;
    let classes: Vec<LustreClass> = CLASS_EXAMPLES.iter().map(|p| example(p)).collect::<Result<_>>()?;
    // Namespace `ml` as manifests/README.md sets it up.
    let labels = [("kubernetes.io/metadata.name", "ml"), ("lustre.fsx.dev/tenant", "true")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
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
    let research = [("kubernetes.io/metadata.name", "research"), ("lustre.fsx.dev/tenant", "true")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
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
    let docs = parse_documents(&read("manifests/examples/pod-using-claim.yaml")?)?;
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

#[tokio::test]
async fn examples_are_accepted_by_server_side_dry_run_with_the_crds_installed() -> Result<()> {
    client_setup();
    let ns = testkit::namespace("pkg-examples").await?;
    for crd in committed_crds()? {
        testkit::apply_crd(&ns.client, &crd).await?;
    }
    let mut paths: Vec<&str> = CLASS_EXAMPLES.to_vec();
    paths.extend(EXAMPLES);
    paths.push("manifests/examples/pod-using-claim.yaml");
    paths.push(TASK_EXAMPLE);
    for path in paths {
        for mut doc in parse_documents(&read(path)?)? {
            // The examples target namespace `ml`; the test sends them to its own namespace.
            if doc["metadata"].get("namespace").is_some() {
                doc["metadata"]["namespace"] = Value::String(ns.name.clone());
            }
            match dry_run_apply(&ns.client, &doc, &ns.name, &[]).await.with_context(|| path.to_string())? {
                DryRun::Accepted => println!("{path}: accepted"),
                DryRun::Skipped(reason) => bail!("{path}: {reason}"),
            }
        }
    }
    // The dry run really checks the CRDs' rules: broken examples are rejected.
    let mut bad = parse_documents(&read(EXAMPLES[0])?)?.remove(0);
    bad["metadata"]["namespace"] = Value::String(ns.name.clone());
    bad["spec"]["storageCapacityGiB"] = Value::from(1000);
    let err = dry_run_apply(&ns.client, &bad, &ns.name, &[]).await.err().context("1000 GiB must be rejected")?;
    assert!(format!("{err:#}").contains("storageCapacityGiB"), "{err:#}");
    let mut bad = parse_documents(&read(CLASS_EXAMPLES[0])?)?.remove(0);
    bad["spec"]["network"]["clientCidrs"] = serde_json::json!(["0.0.0.0/0"]);
    let err = dry_run_apply(&ns.client, &bad, &ns.name, &[]).await.err().context("0.0.0.0/0 must be rejected")?;
    assert!(format!("{err:#}").contains("clientCidrs"), "{err:#}");
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

// ---------------------------------------------------------------------------------------------
// the image (not built here: no Docker engine; the Dockerfile says so)

#[test]
fn dockerfile_builds_a_non_root_image_running_the_operator() -> Result<()> {
    let text = read("Dockerfile")?;
    let instructions: Vec<String> =
        text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect();
    let froms: Vec<&String> = instructions.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert!(froms.len() >= 2, "multi-stage: {froms:?}");
    assert!(froms[0].starts_with("FROM rust:1-bookworm"), "{froms:?}");
    let runtime = froms.last().map(|s| s.as_str()).unwrap_or_default();
    assert!(
        runtime.starts_with("FROM gcr.io/distroless/cc-debian12:nonroot")
            || runtime.starts_with("FROM debian:bookworm-slim"),
        "runtime image: {runtime}"
    );
    // Dependencies are cooked before the sources are copied into the builder.
    let cook =
        instructions.iter().position(|l| l.contains("cargo chef cook")).context("no dependency-caching layer")?;
    let build = instructions
        .iter()
        .rposition(|l| l.contains("cargo build --release") && l.contains("-p lustre-operator"))
        .context("no release build of lustre-operator")?;
    assert!(cook < build);
    assert!(instructions[cook..build].iter().any(|l| l.starts_with("COPY . .")), "sources copied after cooking");
    let last_stage = instructions.iter().rposition(|l| l.starts_with("FROM ")).unwrap_or_default();
    let tail = &instructions[last_stage..];
    assert!(tail.iter().any(|l| l == "USER 65532:65532" || l == "USER 65532"), "non-root user 65532: {tail:?}");
    assert!(tail.iter().any(|l| l == r#"ENTRYPOINT ["/lustre-operator"]"#), "{tail:?}");
    assert!(tail.iter().any(|l| l == r#"CMD ["run"]"#), "{tail:?}");
    assert!(
        text.lines().take(5).any(|l| l.starts_with('#') && l.contains("no Docker engine")),
        "the header says it was not built here"
    );

    let ignore = read(".dockerignore")?;
    let entries: Vec<&str> = ignore.lines().map(str::trim).collect();
    assert!(entries.contains(&"target/") || entries.contains(&"target"), "{entries:?}");
    assert!(entries.contains(&".git"), "{entries:?}");
    // The chart runs what the image expects.
    let docs = render("lustre-operator", &[])?;
    let c = &one_of_kind(&docs, "Deployment")["spec"]["template"]["spec"]["containers"][0];
    assert!(c.get("command").is_none(), "the chart keeps the image's ENTRYPOINT");
    assert_eq!(str_list(&c["args"]), vec!["run"]);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// the real operator runs with exactly the chart's RBAC and environment

/// A kubeconfig for the chart's ServiceAccount: the admin kubeconfig's cluster with a bound
/// token of that account, so the operator gets exactly the chart's RBAC.
async fn service_account_kubeconfig(
    client: &Client,
    namespace: &str,
    sa: &str,
    dir: &std::path::Path,
) -> Result<PathBuf> {
    use k8s_openapi::api::authentication::v1::TokenRequest;
    use k8s_openapi::api::core::v1::ServiceAccount;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    let request: TokenRequest = serde_json::from_value(serde_json::json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"audiences": [], "expirationSeconds": 3600}
    }))?;
    let issued: TokenRequest = sas
        .create_subresource("token", sa, &Default::default(), &request)
        .await
        .context("TokenRequest for the chart's ServiceAccount")?;
    let token = issued.status.context("token request without status")?.token;

    let cp = tokio::task::spawn_blocking(testkit::shared).await??;
    let admin: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(cp.kubeconfig())?)?;
    let cluster = admin["clusters"][0]["cluster"].clone();
    let config = serde_json::json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "test", "cluster": serde_json::to_value(&cluster)?}],
        "users": [{"name": sa, "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": sa, "namespace": namespace}}],
        "current-context": "test",
    });
    let path = dir.join(format!("kubeconfig-{namespace}"));
    std::fs::write(&path, serde_yaml::to_string(&config)?)?;
    Ok(path)
}

#[tokio::test]
async fn operator_runs_with_exactly_the_chart_rbac_and_environment() -> Result<()> {
    operator_runs_with_the_chart_rbac(false).await
}

/// The same with `watchNamespaces` set: claims, pods, volumes and events only through the Role in
/// the watched namespace (not the release's), cluster-wide only what is cluster-scoped.
#[tokio::test]
async fn operator_runs_with_exactly_the_chart_rbac_when_watching_one_namespace() -> Result<()> {
    operator_runs_with_the_chart_rbac(true).await
}

async fn operator_runs_with_the_chart_rbac(namespaced: bool) -> Result<()> {
    use k8s_openapi::api::coordination::v1::Lease;
    client_setup();
    let ns = testkit::namespace("pkg-run").await?;
    // Where the volume lives: the release namespace, or another namespace that is watched.
    let watched = if namespaced { Some(testkit::namespace("pkg-run-watched").await?) } else { None };
    let tenant = watched.as_ref().map_or(ns.name.clone(), |w| w.name.clone());
    let port = testkit::process::free_port()?;
    // The release is named after the namespace so that its ClusterRole is this test's own.
    let release = ns.name.clone();
    let port_value = format!("metrics.port={port}");
    let mut args = vec!["template", &release, CHART, "--namespace", &ns.name, "--include-crds", "--set", &port_value];
    let watch_value = format!("watchNamespaces={{{tenant}}}");
    if namespaced {
        args.extend(["--set", &watch_value]);
    }
    let text = run_helm(&args)?;
    let docs = parse_documents(&text)?;
    for crd in of_kind(&docs, "CustomResourceDefinition") {
        testkit::apply_crd(&ns.client, crd).await?;
    }
    // RBAC and ServiceAccount for real.
    for doc in docs
        .iter()
        .filter(|d| matches!(kind(d), "ServiceAccount" | "ClusterRole" | "ClusterRoleBinding" | "Role" | "RoleBinding"))
    {
        let api_version = doc["apiVersion"].as_str().unwrap_or_default();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let (ar, caps) = discovery::pinned_kind(&ns.client, &GroupVersionKind::gvk(group, version, kind(doc))).await?;
        let api: Api<DynamicObject> = match caps.scope {
            Scope::Namespaced => {
                Api::namespaced_with(ns.client.clone(), doc["metadata"]["namespace"].as_str().unwrap_or(&ns.name), &ar)
            }
            Scope::Cluster => Api::all_with(ns.client.clone(), &ar),
        };
        api.patch(name(doc), &PatchParams::apply(MANAGER).force(), &Patch::Apply(doc))
            .await
            .with_context(|| format!("applying {} {}", kind(doc), name(doc)))?;
    }
    let sa = name(one_of_kind(&docs, "ServiceAccount")).to_string();
    let dir = std::env::temp_dir();
    let kubeconfig = service_account_kubeconfig(&ns.client, &ns.name, &sa, &dir).await?;

    // The container's environment, as the kubelet would set it.
    let deployment = one_of_kind(&docs, "Deployment");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let pod_name = format!("{release}-pod");
    let mut cmd = Command::new(testkit::operator_binary()?);
    cmd.args(str_list(&container["args"])).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for e in container["env"].as_array().into_iter().flatten() {
        let var = e["name"].as_str().unwrap_or_default();
        let value = match (e["value"].as_str(), e["valueFrom"]["fieldRef"]["fieldPath"].as_str()) {
            (Some(v), _) => v.to_string(),
            (None, Some("metadata.namespace")) => ns.name.clone(),
            (None, Some("metadata.name")) => pod_name.clone(),
            other => bail!("unexpected env source for {var}: {other:?}"),
        };
        cmd.env(var, value);
    }
    // Outside the pod: the ServiceAccount's kubeconfig, and AWS pointed at a closed port (nothing
    // here needs AWS to answer).
    let log = dir.join(format!("operator-{}.log", ns.name));
    cmd.env("KUBECONFIG", &kubeconfig)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", testkit::process::free_port()?))
        .env("RUST_LOG", "info");
    // Killed when the test ends, however it ends.
    let mut operator = ManagedChild::spawn("lustre-operator", cmd, &log)?;

    // Ready means the caches synced (list/watch allowed); a standby is ready too, so the Lease
    // (held soon after, nobody else wants it) is waited for on its own.
    let deadline = Instant::now() + Duration::from_secs(60);
    while testkit::http_status(port, "/readyz").await != Some(200) {
        operator.check_running()?;
        ensure!(Instant::now() < deadline, "not ready within 60s with the chart's RBAC:\n{}", operator.log_tail(15));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(testkit::http_status(port, "/healthz").await, Some(200));
    let leases: Api<Lease> = Api::namespaced(ns.client.clone(), &ns.name);
    loop {
        let holder = leases.get_opt("lustre-operator").await?.and_then(|l| l.spec).and_then(|s| s.holder_identity);
        if holder.as_deref() == Some(pod_name.as_str()) {
            break;
        }
        operator.check_running()?;
        ensure!(Instant::now() < deadline, "the Lease is not held by {pod_name} (holder {holder:?})");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A LustreClass (cluster-scoped, so named after the release) for this namespace only.
    let mut class = parse_documents(&read(CLASS_EXAMPLES[0])?)?.remove(0);
    class["metadata"] = serde_json::json!({"name": release});
    class["spec"]["namespaceSelector"] = serde_json::json!({"matchLabels": {"kubernetes.io/metadata.name": tenant}});
    let class_ar =
        discovery::pinned_kind(&ns.client, &GroupVersionKind::gvk("lustre.fsx.dev", "v1alpha1", "LustreClass"))
            .await?
            .0;
    let classes: Api<DynamicObject> = Api::all_with(ns.client.clone(), &class_ar);
    classes.patch(&release, &PatchParams::apply(MANAGER), &Patch::Apply(&class)).await?;

    // A LustreVolume of that class gets the operator's finalizer (patch on lustrevolumes is
    // allowed), and the class reports it in its status (patch on lustreclasses/status; only when
    // watching every namespace).
    let mut lv = parse_documents(&read(EXAMPLES[0])?)?.remove(0);
    lv["metadata"]["namespace"] = Value::String(tenant.clone());
    lv["spec"]["className"] = Value::String(release.clone());
    let ar = discovery::pinned_kind(&ns.client, &GroupVersionKind::gvk("lustre.fsx.dev", "v1alpha1", "LustreVolume"))
        .await?
        .0;
    let lvs: Api<DynamicObject> = Api::namespaced_with(ns.client.clone(), &tenant, &ar);
    lvs.patch(name(&lv), &PatchParams::apply(MANAGER), &Patch::Apply(&lv)).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let obj = lvs.get(name(&lv)).await?;
        let used = namespaced || classes.get(&release).await?.data["status"]["volumes"].as_i64() == Some(1);
        if obj.metadata.finalizers.as_ref().is_some_and(|f| !f.is_empty()) && used {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "no finalizer or no class usage (status.volumes 1) after 30s:\n{}",
            operator.log_tail(15)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // LustreDataTasks: one waits for a volume that does not exist (list, watch, the finalizer's
    // patch, a status patch); one on the scratch volume, which is not linked to S3, fails at once
    // and is deleted by the operator (ttlSecondsAfterFinished 0: delete).
    let task_ar =
        discovery::pinned_kind(&ns.client, &GroupVersionKind::gvk("lustre.fsx.dev", "v1alpha1", "LustreDataTask"))
            .await?
            .0;
    let tasks: Api<DynamicObject> = Api::namespaced_with(ns.client.clone(), &tenant, &task_ar);
    for (task, volume, ttl) in [("waits", "missing", None), ("expires", name(&lv), Some(0))] {
        let mut doc = serde_json::json!({
            "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreDataTask",
            "metadata": {"name": task, "namespace": tenant}, "spec": {"volumeName": volume, "type": "Export"}
        });
        if let Some(ttl) = ttl {
            doc["spec"]["ttlSecondsAfterFinished"] = Value::from(ttl);
        }
        tasks.patch(task, &PatchParams::apply(MANAGER), &Patch::Apply(&doc)).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waits = tasks.get("waits").await?;
        let pending = waits.data["status"]["reason"] == "VolumeNotFound"
            && waits.metadata.finalizers.as_ref().is_some_and(|f| f.iter().any(|f| f == "lustre.fsx.dev/data-task"));
        if pending && tasks.get_opt("expires").await?.is_none() {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "data tasks: no finalizer and VolumeNotFound on waits, or expires not deleted:\n{}",
            operator.log_tail(15)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tasks.delete("waits", &Default::default()).await?;
    while tasks.get_opt("waits").await?.is_some() {
        ensure!(Instant::now() < deadline, "the finalizer of waits was not removed:\n{}", operator.log_tail(15));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    let text = std::fs::read_to_string(operator.log_path()).unwrap_or_default();
    assert!(!text.to_lowercase().contains("forbidden"), "the operator was refused something:\n{text}");
    drop(operator);
    let _ = std::fs::remove_file(&log);

    // Leave nothing cluster-scoped behind.
    let _ = classes.delete(&release, &Default::default()).await;
    for doc in docs.iter().filter(|d| matches!(kind(d), "ClusterRole" | "ClusterRoleBinding")) {
        let gvk = GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", kind(doc));
        let (ar, _) = discovery::pinned_kind(&ns.client, &gvk).await?;
        let api: Api<DynamicObject> = Api::all_with(ns.client.clone(), &ar);
        let _ = api.delete(name(doc), &Default::default()).await;
    }
    let _ = std::fs::remove_file(&kubeconfig);
    drop(watched);
    Ok(())
}
