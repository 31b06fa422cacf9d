//! What the watch caches keep of each object: everything the operator reads, without the managed
//! fields and kubectl's last-applied copy (together often more than half of a small object). At a
//! thousand volumes the caches hold four thousand objects of ours, plus the namespaces. And how
//! they fill: lists in small pages.

use kube::runtime::watcher;
use kube::Resource;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Objects per page of a watch's list. Each page is held whole while it is parsed, and glibc keeps
/// what it used: with kube's default of 500, a restarted operator that had listed 1000 volumes and
/// their claims, PVs and StorageClasses held 42 MiB of anonymous memory, against 32 MiB in the
/// process that created them; with pages of 100 about 2 MiB less (BENCHMARKS.md). It costs four
/// more list requests per 1000 objects at each start.
pub(crate) const LIST_PAGE: u32 = 100;

/// Every watch of the operator: lists in pages of [`LIST_PAGE`].
pub(crate) fn watch_config() -> watcher::Config {
    watcher::Config::default().page_size(LIST_PAGE)
}

/// Drops what no reconcile reads from a cached object.
pub(crate) fn trim<K: Resource>(object: &mut K) {
    let meta = object.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Namespace;

    #[test]
    fn managed_fields_and_the_last_applied_copy_go_and_the_rest_stays() {
        let mut ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": "team-a",
                "labels": {"tenant": "a"},
                "annotations": {LAST_APPLIED: "{...}", "lustre.fsx.dev/retry-export": "1"},
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}]
            }
        }))
        .expect("a namespace");
        trim(&mut ns);
        assert_eq!(ns.metadata.managed_fields, None);
        let annotations = ns.metadata.annotations.expect("annotations");
        assert_eq!(annotations.keys().collect::<Vec<_>>(), vec!["lustre.fsx.dev/retry-export"]);
        assert_eq!(ns.metadata.labels.expect("labels")["tenant"], "a");
    }
}
