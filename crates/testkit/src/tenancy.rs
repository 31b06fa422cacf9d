//! What a cluster's platform team installs for its tenants, for the tests that need it: the
//! LustreClass admission policy of `manifests/class-admission-policy.yaml`, and tenants as real
//! users (impersonated by the admin client) with a namespace role, not cluster-admin.

use anyhow::{Context, Result};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{json, Value};

/// Applies every document of the admission policy file (server-side apply, idempotent). The
/// policy is cluster-wide: only test binaries whose every test wants it should install it.
pub async fn apply_admission_policy(client: &Client) -> Result<()> {
    let text = std::fs::read_to_string(crate::workspace_root().join("manifests/class-admission-policy.yaml"))?;
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let value: Value = serde::Deserialize::deserialize(doc)?;
        if value.is_null() {
            continue;
        }
        let (group, version) = value["apiVersion"].as_str().context("apiVersion")?.split_once('/').context("group")?;
        let kind = value["kind"].as_str().context("kind")?;
        let lower = kind.to_ascii_lowercase();
        let plural = match lower.strip_suffix('y') {
            Some(stem) => format!("{stem}ies"),
            None => format!("{lower}s"),
        };
        let resource = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), &plural);
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let name = value["metadata"]["name"].as_str().context("name")?;
        api.patch(name, &PatchParams::apply("lustre-e2e-platform").force(), &Patch::Apply(&value)).await?;
    }
    Ok(())
}

/// The user name a tenant namespace's person has in these tests.
pub fn tenant_user(namespace: &str) -> String {
    format!("tenant:{namespace}")
}

/// Gives the tenant user of `namespace` what a namespace editor has over the operator's kinds
/// and the claims and pods it mounts (no `*/status`, nothing cluster-scoped), and returns a
/// client that acts as that user.
pub async fn tenant_client(admin: &Client, namespace: &str) -> Result<Client> {
    let user = tenant_user(namespace);
    let role: Role = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "lustre-tenant", "namespace": namespace},
        "rules": [
            {"apiGroups": ["lustre.fsx.dev"], "resources": ["lustrevolumes", "lustredatatasks"],
             "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
            {"apiGroups": [""], "resources": ["persistentvolumeclaims", "pods"],
             "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
            {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["get", "list", "watch"]}
        ]
    }))?;
    let binding: RoleBinding = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "lustre-tenant", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "lustre-tenant"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]
    }))?;
    let params = PatchParams::apply("lustre-e2e-platform").force();
    Api::<Role>::namespaced(admin.clone(), namespace).patch("lustre-tenant", &params, &Patch::Apply(&role)).await?;
    Api::<RoleBinding>::namespaced(admin.clone(), namespace)
        .patch("lustre-tenant", &params, &Patch::Apply(&binding))
        .await?;
    client_as(&user).await
}

/// A client of this test binary's control plane acting as `user` (impersonated by the admin):
/// what RBAC refuses that user, the apiserver refuses this client.
pub async fn client_as(user: &str) -> Result<Client> {
    let cp = tokio::task::spawn_blocking(crate::shared).await??;
    let kc = Kubeconfig::read_from(cp.kubeconfig())?;
    let mut config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    config.auth_info.impersonate = Some(user.to_string());
    Ok(Client::try_from(config)?)
}
