//! Test fixtures shared by every module's unit tests (`#[cfg(test)]` only).

use lustre_api::LustreVolume;
use serde_json::{json, Value};

/// The UID most fixtures use: 36 characters, like the apiserver's.
pub(crate) const UID: &str = "0c8a3e2a-4a55-4f8e-9d43-3c8f9d3b1e11";

/// A LustreVolume `namespace/name` with `uid` and `spec` (JSON, as a user writes it), parsed the
/// way the operator parses the apiserver's answer. Panics on a spec that does not parse: a test's
/// own mistake.
pub(crate) fn volume(namespace: &str, name: &str, uid: &str, spec: Value) -> LustreVolume {
    let mut lv: LustreVolume = serde_json::from_value(json!({
        "apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume",
        "metadata": {"name": name, "namespace": namespace, "uid": uid},
        "spec": spec,
    }))
    .expect("the fixture's spec parses");
    lv.metadata.uid = Some(uid.to_string());
    lv
}

/// The same with a status (JSON).
pub(crate) fn volume_with_status(namespace: &str, name: &str, uid: &str, spec: Value, status: Value) -> LustreVolume {
    let mut lv = volume(namespace, name, uid, spec);
    lv.status = serde_json::from_value(status).expect("the fixture's status parses");
    lv
}
