//! Kubernetes events (events.k8s.io/v1) on the LustreVolume and the LustreDataTask: every phase
//! transition and every error.
//!
//! An event repeated within [`SERIES_WINDOW`] (same object, type, reason and note) becomes a
//! series on the first one, one patch of its count, instead of a new object. What is kept to do
//! that is only what the patch needs: the event's name, its count and when it was last seen, about
//! a hundred bytes per event. kube's `Recorder`, used before, keeps every whole event it sent for
//! six minutes; at 1000 volumes that table held about 12 MiB (measured with heaptrack), a fifth
//! of the operator's memory.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::Resource;
use serde_json::json;

/// How long a repeated event adds to the series of the first instead of making a new one.
const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);
/// The longest note sent (the apiserver refuses notes over 1 kB).
const NOTE_CHARACTERS: usize = 1000;
/// Who reports the events.
const CONTROLLER: &str = "lustre-operator";

/// An event already sent: enough to add to its series.
struct Sent {
    namespace: String,
    name: String,
    count: i32,
    last: Timestamp,
}

#[derive(Clone)]
pub(crate) struct Events {
    client: kube::Client,
    instance: String,
    /// Keyed by [`series_key`].
    sent: Arc<Mutex<HashMap<u64, Sent>>>,
}

/// What makes two events one series: the object, the type, the reason and the note.
fn series_key(object: &ObjectReference, type_: &str, reason: &str, note: &str) -> u64 {
    let mut h = DefaultHasher::new();
    (&object.namespace, &object.kind, &object.name, &object.uid, type_, reason, note).hash(&mut h);
    h.finish()
}

/// The name of an event about the object named `about`, made at `now`: `<about>.<nanoseconds in
/// hex>`, with `about` cut so that the whole stays a valid DNS subdomain of at most 253
/// characters (an object's own name may already be 253 long).
fn event_name(about: &str, now: Timestamp) -> String {
    let suffix = format!(".{:x}", now.as_nanosecond());
    let mut end = about.len().min(253 - suffix.len());
    while !about.is_char_boundary(end) {
        end -= 1;
    }
    // What is cut must still end in an alphanumeric character.
    let stem = about[..end].trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    format!("{stem}{suffix}")
}

/// A new event about `object`, made at `now`.
fn new_event(object: &ObjectReference, type_: &str, reason: &str, note: &str, instance: &str, now: Timestamp) -> Event {
    let about = object.name.as_deref().unwrap_or(CONTROLLER);
    Event {
        metadata: ObjectMeta {
            name: Some(event_name(about, now)),
            namespace: object.namespace.clone(),
            ..Default::default()
        },
        event_time: Some(MicroTime(now)),
        type_: Some(type_.into()),
        reason: Some(reason.into()),
        note: Some(note.into()),
        action: Some("Reconcile".into()),
        regarding: Some(object.clone()),
        reporting_controller: Some(CONTROLLER.into()),
        reporting_instance: Some(instance.into()),
        ..Default::default()
    }
}

impl Events {
    pub(crate) fn new(client: kube::Client) -> Events {
        let instance = std::env::var("POD_NAME").unwrap_or_else(|_| CONTROLLER.into());
        Events { client, instance, sent: Arc::default() }
    }

    pub(crate) async fn normal<K: Resource<DynamicType = ()>>(&self, object: &K, reason: &str, note: &str) {
        self.publish_on(&object.object_ref(&()), "Normal", reason, note).await;
    }

    pub(crate) async fn warning<K: Resource<DynamicType = ()>>(&self, object: &K, reason: &str, note: &str) {
        self.publish_on(&object.object_ref(&()), "Warning", reason, note).await;
    }

    /// A normal event on any object (a Namespace, say).
    pub(crate) async fn normal_on(&self, object: &ObjectReference, reason: &str, note: &str) {
        self.publish_on(object, "Normal", reason, note).await;
    }

    /// A warning on any object (one the operator could not even parse, say).
    pub(crate) async fn warning_on(&self, object: &ObjectReference, reason: &str, note: &str) {
        self.publish_on(object, "Warning", reason, note).await;
    }

    /// The earlier event of this series (namespace, name, count), forgetting those too old.
    fn earlier(&self, key: u64, now: Timestamp) -> Option<(String, String, i32)> {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.retain(|_, s| now.duration_since(s.last).unsigned_abs() < SERIES_WINDOW);
        if sent.capacity() > 64 && sent.capacity() > 4 * sent.len() {
            sent.shrink_to_fit();
        }
        sent.get(&key).map(|s| (s.namespace.clone(), s.name.clone(), s.count))
    }

    async fn publish_on(&self, object: &ObjectReference, type_: &str, reason: &str, note: &str) {
        let note: String = note.chars().take(NOTE_CHARACTERS).collect();
        let key = series_key(object, type_, reason, &note);
        let now = Timestamp::now();
        let result = match self.earlier(key, now) {
            Some((namespace, name, count)) => {
                let count = count + 1;
                let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
                let series = json!({"series": {"count": count, "lastObservedTime": MicroTime(now)}});
                match api.patch(&name, &PatchParams::default(), &Patch::Merge(&series)).await {
                    Ok(_) => Ok((namespace, name, count)),
                    Err(e) => {
                        // Gone (events expire after an hour) or refused: the next one starts anew.
                        self.sent.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
                        Err(e)
                    }
                }
            }
            None => {
                let event = new_event(object, type_, reason, &note, &self.instance, now);
                let namespace = object.namespace.clone().unwrap_or_else(|| "default".into());
                let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
                api.create(&PostParams::default(), &event)
                    .await
                    .map(|created| (namespace, created.metadata.name.unwrap_or_default(), 1))
            }
        };
        match result {
            Ok((namespace, name, count)) => {
                let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
                sent.insert(key, Sent { namespace, name, count, last: now });
            }
            Err(e) => tracing::warn!(error = %e, reason, "could not publish event"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(uid: &str) -> ObjectReference {
        ObjectReference {
            api_version: Some("lustre.fsx.dev/v1alpha1".into()),
            kind: Some("LustreVolume".into()),
            namespace: Some("ml".into()),
            name: Some("train".into()),
            uid: Some(uid.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_series_is_the_same_object_type_reason_and_note() {
        let key = series_key(&volume("u1"), "Warning", "AwsThrottled", "slow down");
        assert_eq!(key, series_key(&volume("u1"), "Warning", "AwsThrottled", "slow down"));
        assert_ne!(key, series_key(&volume("u2"), "Warning", "AwsThrottled", "slow down"), "a new volume of that name");
        assert_ne!(key, series_key(&volume("u1"), "Normal", "AwsThrottled", "slow down"));
        assert_ne!(key, series_key(&volume("u1"), "Warning", "AwsRefused", "slow down"));
        assert_ne!(key, series_key(&volume("u1"), "Warning", "AwsThrottled", "quota"), "a new message is a new event");
    }

    #[test]
    fn event_names_stay_valid_for_the_longest_object_names() {
        let now = Timestamp::from_second(1_800_000_000).expect("time");
        assert_eq!(event_name("train", now), format!("train.{:x}", now.as_nanosecond()));
        // A 253-character name (the most Kubernetes allows), and one whose cut ends in a dot.
        let longest = format!("{}.{}", "a".repeat(200), "b".repeat(52));
        let dotted = format!("{}.x{}", "a".repeat(234), "c".repeat(17));
        for about in [longest.as_str(), dotted.as_str()] {
            let name = event_name(about, now);
            assert!(name.len() <= 253, "{} characters", name.len());
            assert!(name.split('.').all(|label| !label.is_empty()), "{name}");
            assert!(name.starts_with("aaaa"));
        }
    }

    #[test]
    fn a_new_event_names_its_object_and_reporter() {
        let now = Timestamp::from_second(1_800_000_000).expect("time");
        let e = new_event(&volume("u1"), "Normal", "Available", "ready", "pod-1", now);
        assert_eq!(e.metadata.namespace.as_deref(), Some("ml"));
        assert!(e.metadata.name.as_deref().is_some_and(|n| n.starts_with("train.")), "{:?}", e.metadata.name);
        assert_eq!(e.regarding.as_ref().and_then(|r| r.uid.as_deref()), Some("u1"));
        assert_eq!(e.type_.as_deref(), Some("Normal"));
        assert_eq!((e.reason.as_deref(), e.note.as_deref()), (Some("Available"), Some("ready")));
        assert_eq!(e.reporting_controller.as_deref(), Some(CONTROLLER));
        assert_eq!(e.reporting_instance.as_deref(), Some("pod-1"));
        assert_eq!(e.event_time, Some(MicroTime(now)));
        assert!(e.series.is_none());
    }
}
