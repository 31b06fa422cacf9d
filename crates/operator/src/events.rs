//! Kubernetes events on the LustreVolume and the LustreDataTask: every phase transition and every
//! error.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::Resource;

#[derive(Clone)]
pub(crate) struct Events {
    recorder: Recorder,
}

impl Events {
    pub(crate) fn new(client: kube::Client) -> Events {
        let reporter = Reporter { controller: "lustre-operator".into(), instance: std::env::var("POD_NAME").ok() };
        Events { recorder: Recorder::new(client, reporter) }
    }

    pub(crate) async fn normal<K: Resource<DynamicType = ()>>(&self, object: &K, reason: &str, note: &str) {
        self.publish(object, EventType::Normal, reason, note).await;
    }

    pub(crate) async fn warning<K: Resource<DynamicType = ()>>(&self, object: &K, reason: &str, note: &str) {
        self.publish(object, EventType::Warning, reason, note).await;
    }

    /// A warning on any object (one the operator could not even parse, say).
    pub(crate) async fn warning_on(&self, object: &ObjectReference, reason: &str, note: &str) {
        self.publish_on(object, EventType::Warning, reason, note).await;
    }

    async fn publish<K: Resource<DynamicType = ()>>(&self, object: &K, type_: EventType, reason: &str, note: &str) {
        self.publish_on(&object.object_ref(&()), type_, reason, note).await;
    }

    async fn publish_on(&self, object: &ObjectReference, type_: EventType, reason: &str, note: &str) {
        let event = Event {
            type_,
            reason: reason.into(),
            note: Some(note.chars().take(1000).collect()),
            action: "Reconcile".into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, object).await {
            tracing::warn!(error = %e, reason, "could not publish event");
        }
    }
}
