//! Step 1: the volume under its LustreClass. Finds the class (`spec.className`, else the one
//! default class) in the watch cache, measures the namespace's use of it from the volume cache,
//! and applies [`lustre_api::policy::effective`]: the network, defaults and tags come from the
//! class, and a volume that breaks a class rule is refused before any AWS call.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, ResourceExt};
use lustre_api::policy::{self, NamespaceUsage};
use lustre_api::{LustreClass, LustreVolume};
use tokio::sync::broadcast;

/// The watch caches of classes and namespaces, and a signal whenever a class changes.
#[derive(Clone)]
pub(crate) struct ClassCache {
    pub(crate) classes: Store<LustreClass>,
    pub(crate) namespaces: Store<Namespace>,
    changed: broadcast::Sender<()>,
}

/// Why a volume cannot go ahead: the condition reason and what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) reason: &'static str,
    pub(crate) message: String,
}

impl ClassCache {
    /// Starts the two watches (they run until the process ends). A class that does not parse is
    /// reported on itself and left out; the others go on.
    pub(crate) fn start(client: &Client, events: crate::process::events::Events) -> ClassCache {
        let (classes, class_writer) = reflector::store::<LustreClass>();
        let (namespaces, namespace_writer) = reflector::store::<Namespace>();
        let (changed, _) = broadcast::channel(16);
        let class_events =
            reflector::reflector(class_writer, crate::process::tolerant_watch::class_events(client.clone(), events));
        let tx = changed.clone();
        // Volumes are re-reconciled when a class's spec or default annotation changes, or it
        // goes; not when only its status (the usage the operator writes) moves.
        let mut seen: BTreeMap<String, (Option<i64>, bool)> = BTreeMap::new();
        tokio::spawn(class_events.for_each(move |event| {
            let changed = match &event {
                Ok(watcher::Event::Apply(c) | watcher::Event::InitApply(c)) => {
                    let now = (c.metadata.generation, c.is_default());
                    seen.insert(c.name_any(), now) != Some(now)
                }
                Ok(watcher::Event::Delete(c)) => {
                    seen.remove(&c.name_any());
                    true
                }
                Ok(watcher::Event::Init) => false,
                Ok(watcher::Event::InitDone) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "watching LustreClasses");
                    false
                }
            };
            if changed {
                let _ = tx.send(());
            }
            futures::future::ready(())
        }));
        let namespace_events = reflector::reflector(
            namespace_writer,
            watcher(Api::<Namespace>::all(client.clone()), crate::process::cache_trim::watch_config())
                .modify(crate::process::cache_trim::trim),
        )
        .default_backoff()
        .touched_objects();
        tokio::spawn(namespace_events.for_each(|event| {
            if let Err(e) = &event {
                tracing::warn!(error = %e, "watching Namespaces");
            }
            futures::future::ready(())
        }));
        ClassCache { classes, namespaces, changed }
    }

    /// Both caches have their first list. Several tasks may wait at once (the volume and the
    /// data task controllers, the standby's readiness).
    pub(crate) async fn wait_until_ready(&self) -> bool {
        store_ready(&self.classes).await && store_ready(&self.namespaces).await
    }

    /// Fires (with no payload) whenever a class is created, changed or deleted.
    pub(crate) fn changes(&self) -> impl Stream<Item = ()> + Send + 'static {
        let rx = self.changed.subscribe();
        futures::stream::unfold(rx, |mut rx| async move {
            match rx.recv().await {
                Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => Some(((), rx)),
                Err(broadcast::error::RecvError::Closed) => None,
            }
        })
    }

    /// The class of `lv`: the one it names, else the single default class.
    pub(crate) fn class_of(&self, lv: &LustreVolume) -> Result<Arc<LustreClass>, Refusal> {
        class_of(&self.classes.state(), lv)
    }

    fn namespace_labels(&self, namespace: &str) -> BTreeMap<String, String> {
        self.namespaces.get(&ObjectRef::new(namespace)).and_then(|ns| ns.metadata.labels.clone()).unwrap_or_default()
    }

    /// The volume as its class makes it, or why it is refused.
    pub(crate) fn effective(&self, lv: &LustreVolume, volumes: &Store<LustreVolume>) -> Result<LustreVolume, Refusal> {
        let class = self.class_of(lv)?;
        let ns = lv.namespace().unwrap_or_default();
        // A volume whose file system exists keeps it: the namespace limits apply to new volumes.
        let usage = if has_file_system(lv) {
            NamespaceUsage::default()
        } else {
            usage_before(lv, &class, &volumes.state(), &self.classes.state())
        };
        policy::effective(lv, &class, &self.namespace_labels(&ns), usage).map_err(|e| Refusal {
            reason: "ClassRejected",
            message: format!("{e}; change the LustreVolume or ask the platform team"),
        })
    }

    /// For cleanup: the volume with its class's network and deletion policy when the class still
    /// exists (whatever else the class would refuse now); otherwise as it is, which deletes only
    /// what carries this volume's owner tag.
    pub(crate) fn for_cleanup(&self, lv: &LustreVolume) -> LustreVolume {
        let mut out = lv.clone();
        if let Ok(class) = self.class_of(lv) {
            if let Some(network) = class.spec.network_for(lv.spec.availability_zone.as_deref()) {
                out.spec.network = network;
            }
            if out.spec.deletion_policy.is_none() && out.spec.file_system_id.is_none() {
                out.spec.deletion_policy = class.spec.deletion_policy;
            }
        }
        out
    }
}

/// Waits until `store` has its first list (false: its writer is gone). Polls now and then:
/// kube's readiness signal wakes only the last of several waiters, so a plain wait can hang.
pub(crate) async fn store_ready<K>(store: &Store<K>) -> bool
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    loop {
        match tokio::time::timeout(std::time::Duration::from_millis(200), store.wait_until_ready()).await {
            Ok(Ok(())) => return true,
            Ok(Err(_)) => return false,
            Err(_) => {}
        }
    }
}

/// Each class's usage (volumes and capacity, in all and per namespace) from the volume cache.
pub(crate) fn usage_by_class(
    classes: &[Arc<LustreClass>],
    volumes: &[Arc<LustreVolume>],
) -> BTreeMap<String, lustre_api::LustreClassStatus> {
    let mut per: BTreeMap<String, BTreeMap<String, lustre_api::class::NamespaceUsage>> =
        classes.iter().map(|c| (c.name_any(), BTreeMap::new())).collect();
    for lv in volumes.iter().filter(|v| v.metadata.deletion_timestamp.is_none()) {
        let Ok(class) = class_of(classes, lv) else { continue };
        let ns = lv.namespace().unwrap_or_default();
        let gib = lv.status.as_ref().and_then(|s| s.capacity_gib).or(lv.spec.storage_capacity_gib).unwrap_or_default();
        let entry = per
            .entry(class.name_any())
            .or_default()
            .entry(ns.clone())
            .or_insert_with(|| lustre_api::class::NamespaceUsage { namespace: ns, volumes: 0, capacity_gib: 0 });
        entry.volumes += 1;
        entry.capacity_gib += i64::from(gib);
    }
    per.into_iter()
        .map(|(class, namespaces)| {
            let namespaces: Vec<_> = namespaces.into_values().collect();
            let status = lustre_api::LustreClassStatus {
                volumes: namespaces.iter().map(|n| n.volumes).sum(),
                capacity_gib: namespaces.iter().map(|n| n.capacity_gib).sum(),
                namespaces,
            };
            (class, status)
        })
        .collect()
}

/// Keeps every class's status equal to its usage (written only when it changed). Needs the
/// volumes of all namespaces, so it runs only when the operator watches all of them.
pub(crate) async fn report_usage(client: Client, cache: ClassCache, volumes: Store<LustreVolume>) {
    let api: Api<LustreClass> = Api::all(client);
    let params =
        kube::api::PatchParams { field_manager: Some(crate::ownership::FIELD_MANAGER.into()), ..Default::default() };
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        let classes = cache.classes.state();
        for (name, usage) in usage_by_class(&classes, &volumes.state()) {
            let current =
                classes.iter().find(|c| c.name_any() == name).and_then(|c| c.status.clone()).unwrap_or_default();
            if current == usage {
                continue;
            }
            let patch =
                serde_json::json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreClass", "status": usage});
            if let Err(e) = api.patch_status(&name, &params, &kube::api::Patch::Merge(&patch)).await {
                tracing::warn!(class = %name, error = %e, "could not write the class's usage");
            }
        }
    }
}

fn has_file_system(lv: &LustreVolume) -> bool {
    lv.status.as_ref().is_some_and(|s| s.file_system_id.is_some())
}

/// The class `lv` names, else the single default class.
fn class_of(classes: &[Arc<LustreClass>], lv: &LustreVolume) -> Result<Arc<LustreClass>, Refusal> {
    match &lv.spec.class_name {
        Some(name) => classes.iter().find(|c| c.name_any() == *name).cloned().ok_or_else(|| Refusal {
            reason: "ClassNotFound",
            message: format!("LustreClass {name} does not exist; set spec.className to an existing class"),
        }),
        None => {
            let defaults: Vec<&Arc<LustreClass>> = classes.iter().filter(|c| c.is_default()).collect();
            match defaults.as_slice() {
                [one] => Ok(Arc::clone(one)),
                [] => Err(Refusal {
                    reason: "ClassNotFound",
                    message: "no LustreClass is marked default (annotation lustre.fsx.dev/is-default-class: \"true\"); set spec.className".into(),
                }),
                several => Err(Refusal {
                    reason: "ClassNotFound",
                    message: format!(
                        "{} LustreClasses are marked default ({}); set spec.className",
                        several.len(),
                        several.iter().map(|c| c.name_any()).collect::<Vec<_>>().join(", ")
                    ),
                }),
            }
        }
    }
}

/// Whether `other` comes before `lv` (created earlier; the name breaks ties).
fn earlier(other: &LustreVolume, lv: &LustreVolume) -> bool {
    let key = |v: &LustreVolume| (v.metadata.creation_timestamp.clone().map(|t| t.0), v.name_any());
    key(other) < key(lv)
}

/// What the namespace's earlier volumes of the same class use: the namespace limits are first
/// come, first served, and refused or deleting volumes use nothing.
fn usage_before(
    lv: &LustreVolume,
    class: &LustreClass,
    volumes: &[Arc<LustreVolume>],
    classes: &[Arc<LustreClass>],
) -> NamespaceUsage {
    let ns = lv.namespace();
    let class_name = class.name_any();
    let counted = volumes.iter().filter(|other| {
        other.namespace() == ns
            && other.uid() != lv.uid()
            && other.metadata.deletion_timestamp.is_none()
            && (has_file_system(other) || (earlier(other, lv) && !refused(other)))
            && class_of(classes, other).is_ok_and(|c| c.name_any() == class_name)
    });
    counted.fold(NamespaceUsage::default(), |mut u, other| {
        u.volumes += 1;
        u.capacity_gib += i64::from(other.spec.storage_capacity_gib.unwrap_or_default());
        u
    })
}

/// Whether the operator refused the volume (it uses no quota).
fn refused(lv: &LustreVolume) -> bool {
    let ready = lv.status.iter().flat_map(|s| s.conditions.iter()).find(|c| c.type_ == lustre_api::conditions::READY);
    ready.is_some_and(|c| matches!(c.reason.as_str(), "ClassRejected" | "ClassNotFound" | "InvalidSpec"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, default: bool) -> Arc<LustreClass> {
        let mut c: LustreClass = serde_json::from_value(serde_json::json!({
            "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreClass",
            "metadata": {"name": name},
            "spec": {"network": {"subnets": [{"subnetId": "subnet-0123456789abcdef0"}]}}
        }))
        .expect("class parses");
        if default {
            c.metadata.annotations =
                Some(BTreeMap::from([(lustre_api::class::DEFAULT_CLASS_ANNOTATION.to_string(), "true".to_string())]));
        }
        Arc::new(c)
    }

    fn volume(name: &str, class: Option<&str>, created: i64, gib: i32) -> Arc<LustreVolume> {
        let mut lv = crate::fixtures::volume("team-a", name, name, serde_json::json!({"storageCapacityGiB": gib}));
        lv.spec.class_name = class.map(str::to_string);
        lv.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::from_second(1_800_000_000 + created).expect("valid time"),
        ));
        Arc::new(lv)
    }

    #[test]
    fn usage_is_summed_per_class_and_namespace() {
        let classes = vec![class("fast", false), class("standard", true)];
        let volumes = vec![
            volume("a", None, 0, 1200),
            volume("b", Some("standard"), 0, 2400),
            volume("c", Some("fast"), 0, 1200),
        ];
        let usage = usage_by_class(&classes, &volumes);
        assert_eq!((usage["standard"].volumes, usage["standard"].capacity_gib), (2, 3600));
        assert_eq!(usage["standard"].namespaces[0].namespace, "team-a");
        assert_eq!((usage["fast"].volumes, usage["fast"].capacity_gib), (1, 1200));
    }

    #[test]
    fn named_class_or_the_single_default() {
        let classes = vec![class("fast", false), class("standard", true)];
        assert_eq!(class_of(&classes, &volume("v", Some("fast"), 0, 1200)).map(|c| c.name_any()), Ok("fast".into()));
        assert_eq!(class_of(&classes, &volume("v", None, 0, 1200)).map(|c| c.name_any()), Ok("standard".into()));
        let missing = class_of(&classes, &volume("v", Some("gone"), 0, 1200)).err().map(|r| r.reason);
        assert_eq!(missing, Some("ClassNotFound"));
        let two_defaults = vec![class("a", true), class("b", true)];
        let err = class_of(&two_defaults, &volume("v", None, 0, 1200)).err().map(|r| r.message);
        assert!(err.is_some_and(|m| m.contains("2 LustreClasses are marked default")));
    }

    #[test]
    fn usage_counts_earlier_volumes_of_the_same_class_in_the_namespace() {
        let classes = vec![class("fast", false), class("standard", true)];
        let me = volume("me", None, 10, 1200);
        let earlier_same = volume("a", Some("standard"), 5, 2400);
        let later_same = volume("z", None, 20, 4800);
        let other_class = volume("b", Some("fast"), 1, 1200);
        let mut refused_one = (*volume("c", None, 2, 9600)).clone();
        refused_one.status = Some(lustre_api::LustreVolumeStatus {
            conditions: vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                type_: "Ready".into(),
                status: "False".into(),
                reason: "ClassRejected".into(),
                message: String::new(),
                observed_generation: None,
                last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
                ),
            }],
            ..Default::default()
        });
        let volumes = vec![me.clone(), earlier_same, later_same, other_class, Arc::new(refused_one)];
        let used = usage_before(&me, &classes[1], &volumes, &classes);
        assert_eq!(used, NamespaceUsage { volumes: 1, capacity_gib: 2400 });
    }
}
