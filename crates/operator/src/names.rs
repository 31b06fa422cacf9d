//! Names derived from the owner's UID: stable across restarts, unique per LustreVolume.

use lustre_api::LustreVolume;

/// The owner's UID ("" for an object not read from the apiserver).
pub fn uid(lv: &LustreVolume) -> &str {
    lv.metadata.uid.as_deref().unwrap_or_default()
}

/// "namespace/name", for messages.
pub fn display(lv: &LustreVolume) -> String {
    format!(
        "{}/{}",
        lv.metadata.namespace.as_deref().unwrap_or_default(),
        lv.metadata.name.as_deref().unwrap_or_default()
    )
}

/// Name of the StorageClass and the PersistentVolume (cluster-scoped, so named by UID).
pub fn cluster_object_name(lv: &LustreVolume) -> String {
    format!("lustre-{}", uid(lv))
}

/// Name of the managed security group (unique per VPC).
pub fn security_group_name(lv: &LustreVolume) -> String {
    format!("lustre-operator-{}", uid(lv))
}

/// CreateFileSystem's idempotency token: 1-63 characters of [A-Za-z0-9_.-].
pub fn client_request_token(lv: &LustreVolume) -> String {
    format!("lustre-{}", uid(lv))
}
