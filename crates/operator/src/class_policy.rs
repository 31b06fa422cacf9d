//! Step 1: the volume under its LustreClass. Finds the class (`spec.className`, else the one
//! default class) in the watch cache and applies its rules
//! ([`lustre_api::policy::effective_apart_from_namespace_limits`]): the network, defaults and
//! tags come from the class, and a volume that breaks a class rule is refused before any AWS
//! call. Then the namespace limits, judged and reserved at once in the [`Ledger`] (module
//! `quota`) against the namespace's volumes in the volume cache.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, ResourceExt};
use lustre_api::policy::{self, Ask};
use lustre_api::{InvalidSpec, LustreClass, LustreVolume};
use tokio::sync::broadcast;

use crate::quota::{Ledger, Peer};

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

    /// The volume as its class makes it, with the class; or why it is refused. The namespace
    /// limits are left to [`ClassCache::reserve`].
    pub(crate) fn effective(&self, lv: &LustreVolume) -> Result<(LustreVolume, Arc<LustreClass>), Refusal> {
        let class = self.class_of(lv)?;
        let ns = lv.namespace().unwrap_or_default();
        let effective = policy::effective_apart_from_namespace_limits(lv, &class, &self.namespace_labels(&ns))
            .map_err(|e| Refusal {
                reason: "ClassRejected",
                message: format!("{e}; change the LustreVolume or ask the platform team"),
            })?;
        Ok((effective, class))
    }

    /// Judges `lv` against the namespace limits of `class` and reserves what it asks for in
    /// `ledger`, at once: the other volumes counted are those of `volumes` (the controller's
    /// cache) in its namespace and class. A refused growth says the volume keeps its size.
    pub(crate) fn reserve(
        &self,
        lv: &LustreVolume,
        class: &LustreClass,
        volumes: &Store<LustreVolume>,
        ledger: &Ledger,
    ) -> Result<(), Refusal> {
        let ns = lv.namespace().unwrap_or_default();
        let class_name = class.name_any();
        let namespace = || {
            let classes = self.classes.state();
            let volumes = volumes.state();
            let of_namespace = volumes.into_iter().filter(|v| v.namespace().as_deref() == Some(ns.as_str()));
            of_namespace
                .map(|v| Peer {
                    same_class: class_of(&classes, &v).is_ok_and(|c| c.name_any() == class_name),
                    volume: v,
                })
                .collect()
        };
        ledger.reserve(lv, namespace, |usage, ask| {
            let violations = policy::namespace_limits(class, &ns, usage, ask);
            if violations.is_empty() {
                return Ok(());
            }
            let e = InvalidSpec(violations);
            let message = match ask {
                Ask::New { .. } => format!("{e}; change the LustreVolume or ask the platform team"),
                // Capacity never shrinks: the message says what else to do.
                Ask::Grow { .. } => e.to_string(),
            };
            Err(Refusal { reason: "ClassRejected", message })
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
    fn the_namespace_limits_count_the_same_class_in_the_same_namespace() {
        let mut standard = (*class("standard", true)).clone();
        standard.spec.limits.max_capacity_gib_per_namespace = Some(3600);
        let (classes, mut class_writer) = reflector::store::<LustreClass>();
        for c in [class("fast", false), Arc::new(standard.clone())] {
            class_writer.apply_watcher_event(&watcher::Event::Apply((*c).clone()));
        }
        let (namespaces, _namespace_writer) = reflector::store::<Namespace>();
        let cache = ClassCache { classes, namespaces, changed: broadcast::channel(1).0 };
        let with_fs = |ns: &str, name: &str, class: &str, gib: i32, have: i32| {
            crate::fixtures::volume_with_status(
                ns,
                name,
                name,
                serde_json::json!({"storageCapacityGiB": gib, "className": class}),
                serde_json::json!({"fileSystemId": "fs-0123456789abcdef0", "capacityGiB": have}),
            )
        };
        let (volumes, mut volume_writer) = reflector::store::<LustreVolume>();
        let me = (*volume("me", None, 10, 1200)).clone();
        let next = (*volume("next", Some("standard"), 11, 1200)).clone();
        // Raised from 1200 (generation 2), not applied yet: it counts at what it has.
        let mut grow = with_fs("team-a", "grow", "standard", 2400, 1200);
        grow.metadata.generation = Some(2);
        if let Some(st) = grow.status.as_mut() {
            st.observed_generation = Some(1);
        }
        for v in [
            with_fs("team-a", "a", "standard", 1200, 1200),
            with_fs("team-a", "other-class", "fast", 2400, 2400),
            with_fs("team-b", "other-namespace", "standard", 2400, 2400),
            grow.clone(),
            me.clone(),
            next.clone(),
        ] {
            volume_writer.apply_watcher_event(&watcher::Event::Apply(v));
        }
        let ledger = Ledger::new();
        // (volume, refused with): a (1200) and grow (counted at the 1200 GiB it has).
        assert_eq!(cache.reserve(&me, &standard, &volumes, &ledger), Ok(()), "1200 + 1200 + 1200");
        let refused = cache.reserve(&next, &standard, &volumes, &ledger).expect_err("over 3600 GiB");
        assert!(refused.message.contains("would use 4800 GiB of LustreClass standard, over its quota of 3600 GiB"));
        assert!(refused.message.contains("change the LustreVolume"), "{}", refused.message);
        let refused = cache.reserve(&grow, &standard, &volumes, &ledger).expect_err("growth over 3600 GiB");
        assert_eq!(refused.reason, "ClassRejected");
        assert!(refused.message.contains("growing to 2400 GiB"), "{}", refused.message);
        assert!(refused.message.contains("keeps working at 1200 GiB"), "{}", refused.message);
    }
}
