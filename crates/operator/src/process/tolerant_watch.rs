//! Watches of the operator's own kinds (LustreVolume, LustreClass) tolerant of objects it cannot
//! parse (stored before a schema change, say). A typed watch fails its whole list on one such
//! object, and then nothing is reconciled (for a class: no volume of any class) and the operator
//! never becomes ready. Here every object is parsed on its own: one that does not parse is
//! reported (a log line and a Warning event on it, once per version) and left out, and the
//! others go on.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::{Client, Resource};
use lustre_api::{LustreClass, LustreVolume};
use serde::de::DeserializeOwned;

use crate::process::events::Events;

/// Watch events of LustreVolumes in `namespace` (None: all), unparseable objects left out.
pub(crate) fn volume_events(
    client: Client,
    namespace: Option<&str>,
    events: Events,
) -> impl Stream<Item = Result<Event<LustreVolume>, watcher::Error>> + Send + 'static {
    let resource = ApiResource::erase::<LustreVolume>(&());
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client, ns, &resource),
        None => Api::all_with(client, &resource),
    };
    tolerant(api, events)
}

/// Watch events of every LustreClass, unparseable classes left out (their volumes then report
/// the class as not found, and every other class goes on).
pub(crate) fn class_events(
    client: Client,
    events: Events,
) -> impl Stream<Item = Result<Event<LustreClass>, watcher::Error>> + Send + 'static {
    tolerant(Api::all_with(client, &ApiResource::erase::<LustreClass>(&())), events)
}

fn tolerant<K>(
    api: Api<DynamicObject>,
    events: Events,
) -> impl Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()> + DeserializeOwned + Send + 'static,
{
    let reported: Arc<Mutex<HashSet<String>>> = Arc::default();
    watcher::watcher(api, crate::process::cache_trim::watch_config()).default_backoff().filter_map(move |event| {
        let (events, reported) = (events.clone(), reported.clone());
        async move {
            let event = match event {
                Err(e) => return Some(Err(e)),
                Ok(event) => event,
            };
            let typed = match event {
                Event::Apply(o) => parse(o, &events, &reported).await.map(Event::Apply),
                Event::InitApply(o) => parse(o, &events, &reported).await.map(Event::InitApply),
                Event::Delete(o) => parse(o, &events, &reported).await.map(Event::Delete),
                Event::Init => Some(Event::Init),
                Event::InitDone => Some(Event::InitDone),
            };
            typed.map(Ok)
        }
    })
}

/// The typed object, or None (reported once per version) when it does not parse.
async fn parse<K>(object: DynamicObject, events: &Events, reported: &Mutex<HashSet<String>>) -> Option<K>
where
    K: Resource<DynamicType = ()> + DeserializeOwned,
{
    let error = match serde_json::to_value(&object).and_then(serde_json::from_value::<K>) {
        Ok(mut typed) => {
            crate::process::cache_trim::trim(&mut typed);
            return Some(typed);
        }
        Err(e) => e,
    };
    let kind = K::kind(&()).to_string();
    let meta = &object.metadata;
    let version =
        format!("{}@{}", meta.uid.as_deref().unwrap_or_default(), meta.resource_version.as_deref().unwrap_or_default());
    let first = reported.lock().unwrap_or_else(|p| p.into_inner()).insert(version);
    let (ns, name) = (meta.namespace.clone().unwrap_or_default(), meta.name.clone().unwrap_or_default());
    if first {
        tracing::error!(kind = %kind, namespace = %ns, name = %name, error = %error, "object cannot be parsed; skipping it");
        let reference = ObjectReference {
            api_version: Some(K::api_version(&()).to_string()),
            kind: Some(kind.clone()),
            namespace: meta.namespace.clone(),
            name: meta.name.clone(),
            uid: meta.uid.clone(),
            resource_version: meta.resource_version.clone(),
            ..Default::default()
        };
        let note =
            format!("lustre-operator cannot read this {kind} ({error}); it is skipped until it is fixed or deleted");
        events.warning_on(&reference, "CannotParse", &note).await;
    }
    None
}
