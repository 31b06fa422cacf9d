//! The one status write of both controllers: a merge patch of the status subresource, sent only
//! when something changed.

use kube::api::{Api, Patch, PatchParams};
use kube::Resource;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::Result;
use crate::ownership::FIELD_MANAGER;

/// Writes `new` as the status of `name` if it differs from `old` (what the apiserver has).
/// Returns whether it wrote. For any of the operator's kinds (LustreVolume, LustreDataTask).
pub(crate) async fn write_if_changed<K, S>(api: &Api<K>, name: &str, old: &S, new: &S) -> Result<bool>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize + PartialEq,
{
    if old == new {
        return Ok(false);
    }
    // A merge patch: fields absent from `new` are sent as null so they are removed.
    let mut body = serde_json::to_value(new).unwrap_or(Value::Null);
    let old_body = serde_json::to_value(old).unwrap_or(Value::Null);
    // What the apiserver would store is the same (times differ below the second they keep).
    if body == old_body {
        return Ok(false);
    }
    if let (Value::Object(map), Value::Object(old_map)) = (&mut body, &old_body) {
        for key in old_map.keys() {
            map.entry(key.clone()).or_insert(Value::Null);
        }
        let changed: Vec<&str> = map
            .iter()
            .filter(|(k, v)| old_map.get(k.as_str()).unwrap_or(&Value::Null) != *v)
            .map(|(k, _)| k.as_str())
            .collect();
        tracing::debug!(name, ?changed, "writing status");
    }
    let patch = json!({"apiVersion": K::api_version(&()), "kind": K::kind(&()), "status": body});
    let params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() };
    api.patch_status(name, &params, &Patch::Merge(&patch)).await?;
    Ok(true)
}
