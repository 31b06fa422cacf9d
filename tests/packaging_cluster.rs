//! Packaging against the local kube-apiserver: the one packaging test binary that needs the
//! control plane (the test kit starts it once for this binary), so every packaging test that
//! talks to a server is here.
//!
//! - the rendered chart: every document of every value set is sent as a server-side apply dry
//!   run, so schema errors (a misspelt field, a wrong type) fail here rather than at install time;
//!   the operator's pod passes the restricted Pod Security Standard; `helm install` prints its notes;
//! - the examples are accepted by a dry run with the CRDs installed, and broken ones are refused;
//! - the real operator binary runs with exactly the chart's RBAC (a token of the chart's
//!   ServiceAccount) and environment, watching every namespace or one.
//!
//! The LustreVolume, LustreClass and LustreDataTask CRDs are applied for real first, because dry
//! runs of custom objects need them to exist.

#[path = "common/packaging.rs"]
mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery;
use kube::Client;
use serde_json::Value;
use testkit::process::ManagedChild;

use common::{
    api_for, client_setup, committed_crds, dry_run_apply, gvk_of, kind, name, of_kind, one_of_kind, parse_documents,
    read, render, run_helm, str_list, DryRun, CHART, CLASS_EXAMPLES, EXAMPLES, MANAGER, POD_EXAMPLE, TASK_EXAMPLE,
    VALUE_SETS,
};

/// Kinds every value set renders.
const ALWAYS_RENDERED: &[&str] =
    &["CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Service", "Deployment"];

/// Examples broken on purpose: (path, the field set (added when absent), its new value as JSON,
/// what the refusal names, why it must be refused).
type Broken = (&'static str, &'static [&'static str], &'static str, &'static str, &'static str);
const BROKEN_EXAMPLES: &[Broken] = &[
    (EXAMPLES[0], &["spec", "storageCapacityGiB"], "1000", "storageCapacityGiB", "1000 GiB must be rejected"),
    (
        CLASS_EXAMPLES[0],
        &["spec", "network", "clientCidrs"],
        r#"["0.0.0.0/0"]"#,
        "clientCidrs",
        "0.0.0.0/0 must be rejected",
    ),
];

/// The API resource of one of the operator's kinds (lustre.fsx.dev/v1alpha1).
async fn lustre_resource(client: &Client, kind: &str) -> Result<ApiResource> {
    Ok(discovery::pinned_kind(client, &GroupVersionKind::gvk("lustre.fsx.dev", "v1alpha1", kind)).await?.0)
}

// ---------------------------------------------------------------------------------------------
// the rendered chart

#[tokio::test]
async fn rendered_chart_is_accepted_by_server_side_dry_run() -> Result<()> {
    client_setup();
    let ns = testkit::namespace("pkg-chart").await?;
    for sets in VALUE_SETS {
        let docs = render(&ns.name, sets)?;
        let kinds: BTreeSet<&str> = docs.iter().map(kind).collect();
        for k in ALWAYS_RENDERED {
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
// the examples

#[tokio::test]
async fn examples_are_accepted_by_server_side_dry_run_with_the_crds_installed() -> Result<()> {
    client_setup();
    let ns = testkit::namespace("pkg-examples").await?;
    for crd in committed_crds()? {
        testkit::apply_crd(&ns.client, &crd).await?;
    }
    let mut paths: Vec<&str> = CLASS_EXAMPLES.to_vec();
    paths.extend(EXAMPLES);
    paths.push(POD_EXAMPLE);
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
    for &(path, field, value, expected, why) in BROKEN_EXAMPLES {
        let mut bad = parse_documents(&read(path)?)?.remove(0);
        if bad["metadata"].get("namespace").is_some() {
            bad["metadata"]["namespace"] = Value::String(ns.name.clone());
        }
        *field.iter().fold(&mut bad, |v, key| &mut v[*key]) = serde_json::from_str(value)?;
        let err = dry_run_apply(&ns.client, &bad, &ns.name, &[]).await.err().context(why)?;
        assert!(format!("{err:#}").contains(expected), "{err:#}");
    }
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
        let (ar, caps) = discovery::pinned_kind(&ns.client, &gvk_of(doc)?).await?;
        let api = api_for(&ns.client, &ar, &caps.scope, doc, &ns.name);
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
    let class_ar = lustre_resource(&ns.client, "LustreClass").await?;
    let classes: Api<DynamicObject> = Api::all_with(ns.client.clone(), &class_ar);
    classes.patch(&release, &PatchParams::apply(MANAGER), &Patch::Apply(&class)).await?;

    // A LustreVolume of that class gets the operator's finalizer (patch on lustrevolumes is
    // allowed), and the class reports it in its status (patch on lustreclasses/status; only when
    // watching every namespace).
    let mut lv = parse_documents(&read(EXAMPLES[0])?)?.remove(0);
    lv["metadata"]["namespace"] = Value::String(tenant.clone());
    lv["spec"]["className"] = Value::String(release.clone());
    let ar = lustre_resource(&ns.client, "LustreVolume").await?;
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
    let task_ar = lustre_resource(&ns.client, "LustreDataTask").await?;
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

// ---------------------------------------------------------------------------------------------
// tenants' roles

/// The answer's HTTP code (0 for success).
fn code<T>(r: &std::result::Result<T, kube::Error>) -> u16 {
    match r {
        Ok(_) => 0,
        Err(kube::Error::Api(e)) => e.code,
        Err(_) => 1,
    }
}

#[tokio::test]
async fn tenants_use_the_operators_kinds_through_kubernetes_own_roles() -> Result<()> {
    use k8s_openapi::api::rbac::v1::RoleBinding;
    use kube::api::PostParams;
    use lustre_api::{LustreClass, LustreVolume};
    client_setup();
    let ns = testkit::namespace("tenant-roles").await?;
    for crd in committed_crds()? {
        testkit::apply_crd(&ns.client, &crd).await?;
    }
    // The chart's aggregated roles; kube-controller-manager folds them into edit, admin and view.
    let docs = render("lustre-operator", &[])?;
    let tenant_roles: Vec<&Value> =
        of_kind(&docs, "ClusterRole").into_iter().filter(|d| name(d).contains("-tenant-")).collect();
    assert_eq!(tenant_roles.len(), 2, "an edit and a view role");
    let (ar, caps) = discovery::pinned_kind(&ns.client, &gvk_of(tenant_roles[0])?).await?;
    for role in &tenant_roles {
        api_for(&ns.client, &ar, &caps.scope, role, &ns.name)
            .patch(name(role), &PatchParams::apply(MANAGER).force(), &Patch::Apply(*role))
            .await?;
    }
    // A namespace editor and a namespace viewer, bound to Kubernetes' own roles only.
    let (editor, viewer) = (format!("editor-{}", ns.name), format!("viewer-{}", ns.name));
    for (user, role) in [(&editor, "edit"), (&viewer, "view")] {
        let binding: RoleBinding = serde_json::from_value(serde_json::json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": format!("{role}-binding"), "namespace": ns.name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]
        }))?;
        Api::<RoleBinding>::namespaced(ns.client.clone(), &ns.name).create(&PostParams::default(), &binding).await?;
    }
    let volume: LustreVolume = serde_json::from_value(serde_json::json!({
        "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": "mine"},
        "spec": {"storageCapacityGiB": 1200, "className": "standard"}
    }))?;
    let as_editor: Api<LustreVolume> = Api::namespaced(testkit::tenancy::client_as(&editor).await?, &ns.name);
    // Aggregation takes a moment.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let created = as_editor.create(&PostParams::default(), &volume).await;
        match code(&created) {
            0 => break,
            403 if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(500)).await,
            other => bail!("a namespace editor could not create a LustreVolume ({other}): {:?}", created.err()),
        }
    }
    let status = serde_json::json!({"status": {"phase": "Available", "fileSystemId": "fs-0123456789abcdef0"}});
    let forged = as_editor.patch_status("mine", &PatchParams::default(), &Patch::Merge(&status)).await;
    assert_eq!(code(&forged), 403, "an editor may not write a volume's status");
    let classes: Api<LustreClass> = Api::all(testkit::tenancy::client_as(&editor).await?);
    let class: LustreClass = serde_json::from_value(serde_json::json!({
        "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreClass", "metadata": {"name": format!("mine-{}", ns.name)},
        "spec": {"network": {"subnets": [{"subnetId": "subnet-0123456789abcdef0"}]}}
    }))?;
    assert_eq!(code(&classes.create(&PostParams::default(), &class).await), 403, "nor create a class");
    let as_viewer: Api<LustreVolume> = Api::namespaced(testkit::tenancy::client_as(&viewer).await?, &ns.name);
    assert_eq!(code(&as_viewer.get("mine").await), 0, "a viewer reads volumes");
    let mut other = volume.clone();
    other.metadata.name = Some("theirs".into());
    assert_eq!(code(&as_viewer.create(&PostParams::default(), &other).await), 403, "and writes none");
    assert_eq!(code(&as_editor.delete("mine", &Default::default()).await), 0, "an editor deletes its volume");

    let rbac: Api<DynamicObject> = Api::all_with(ns.client.clone(), &ar);
    for role in &tenant_roles {
        let _ = rbac.delete(name(role), &Default::default()).await;
    }
    Ok(())
}
