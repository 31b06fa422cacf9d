//! Packaging, the chart's RBAC as rendered (no control plane): no secrets, no wildcards, no
//! privilege verbs, and exactly what the operator calls, cluster-wide or per watched namespace.
//!
//! That the operator really runs with these grants (and is refused nothing) is checked against
//! the API server in `packaging_cluster.rs` (`operator_runs_with_exactly_the_chart_rbac_*`).

#[path = "common/packaging.rs"]
mod common;

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use serde_json::Value;

use common::{kind, name, of_kind, one_of_kind, render, str_list, VALUE_SETS};

/// (API group, resource, verb) triples.
type Grants = BTreeSet<(String, String, String)>;

/// Rules as (API group, resource, verbs).
type Rules = &'static [(&'static str, &'static str, &'static [&'static str])];

/// What the operator calls in the namespaces it watches (crates/operator/src): see the comment at
/// the top of templates/clusterrole.yaml. Cluster-wide without `watchNamespaces`, else one Role per
/// watched namespace.
const NAMESPACED_GRANTS: Rules = &[
    ("lustre.fsx.dev", "lustrevolumes", &["list", "watch", "patch"]),
    ("lustre.fsx.dev", "lustrevolumes/status", &["patch"]),
    ("lustre.fsx.dev", "lustredatatasks", &["list", "watch", "patch", "delete"]),
    ("lustre.fsx.dev", "lustredatatasks/status", &["patch"]),
    ("", "persistentvolumeclaims", &["get", "list", "watch", "create", "delete"]),
    ("", "pods", &["list"]),
    ("events.k8s.io", "events", &["create", "patch"]),
];

/// What the operator calls on cluster-scoped objects: always in the ClusterRole.
const CLUSTER_GRANTS: Rules = &[
    ("lustre.fsx.dev", "lustreclasses", &["list", "watch"]),
    ("", "namespaces", &["list", "watch"]),
    ("", "persistentvolumes", &["get", "list", "watch", "create", "patch", "delete"]),
    ("storage.k8s.io", "storageclasses", &["get", "list", "watch", "create", "patch", "delete"]),
];

/// In the ClusterRole only when every namespace is watched: class usage is only reported then.
const ALL_NAMESPACES_GRANTS: Rules = &[("lustre.fsx.dev", "lustreclasses/status", &["patch"])];

/// Resources the ClusterRole must not name when `watchNamespaces` is set: no cluster-wide access
/// to claims, pods, volumes or events.
const NOT_CLUSTER_WIDE_WHEN_WATCHING: &[&str] = &[
    "persistentvolumeclaims",
    "persistentvolumeclaims/status",
    "pods",
    "events",
    "lustrevolumes",
    "lustrevolumes/status",
    "lustredatatasks",
    "lustredatatasks/status",
];

fn triples(rules: Rules) -> Grants {
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
        let namespaced = triples(NAMESPACED_GRANTS);
        let mut cluster = triples(CLUSTER_GRANTS);
        // The operator's own ClusterRole (the tenants' aggregated ones are checked below).
        let tenant_role = |d: &Value| name(d).ends_with("-tenant-edit") || name(d).ends_with("-tenant-view");
        let operator_roles: Vec<&Value> =
            of_kind(&docs, "ClusterRole").into_iter().filter(|d| !tenant_role(d)).collect();
        assert_eq!(operator_roles.len(), 1, "values {sets:?}: one ClusterRole of the operator's own");
        let cluster_role = operator_roles[0];
        for role in of_kind(&docs, "ClusterRole").into_iter().filter(|d| tenant_role(d)) {
            let labels = &role["metadata"]["labels"];
            let aggregated = ["edit", "admin", "view"]
                .iter()
                .any(|to| labels[format!("rbac.authorization.k8s.io/aggregate-to-{to}")] == "true");
            assert!(aggregated, "values {sets:?}: {} folds into a Kubernetes role", name(role));
            for rule in role["rules"].as_array().into_iter().flatten() {
                assert_eq!(str_list(&rule["apiGroups"]), vec!["lustre.fsx.dev"], "{}", name(role));
                for r in str_list(&rule["resources"]) {
                    assert!(!r.contains('/'), "{}: no subresource such as {r}", name(role));
                    let writes =
                        str_list(&rule["verbs"]).iter().any(|v| !matches!(v.as_str(), "get" | "list" | "watch"));
                    assert!(!(r == "lustreclasses" && writes), "{}: tenants never write classes", name(role));
                }
            }
        }
        if watched.is_empty() {
            // Class usage is only reported when every namespace is watched.
            cluster.extend(triples(ALL_NAMESPACES_GRANTS));
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
                        !NOT_CLUSTER_WIDE_WHEN_WATCHING.contains(&r.as_str()),
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
