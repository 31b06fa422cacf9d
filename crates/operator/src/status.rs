//! Status and conditions. `lastTransitionTime` moves only when a condition's status changes, and
//! the status is written only when something in it changed, so a stable volume causes no writes
//! and the controller never triggers itself.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, Patch, PatchParams};
use lustre_api::{LustreVolume, LustreVolumeStatus, Phase};
use serde_json::{json, Value};

use crate::controller::FIELD_MANAGER;
use crate::error::Result;

pub const SECURITY_GROUP_READY: &str = "SecurityGroupReady";
pub const FILE_SYSTEM_READY: &str = "FileSystemReady";
pub const CLAIM_BOUND: &str = "ClaimBound";
pub const READY: &str = "Ready";

/// Sets condition `type_`, keeping its transition time unless its status flips.
pub fn set_condition(
    status: &mut LustreVolumeStatus,
    type_: &str,
    ok: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    let value = if ok { "True" } else { "False" };
    let message: String = message.chars().take(1024).collect();
    match status.conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => {
            if c.status != value {
                c.last_transition_time = Time(k8s_openapi::jiff::Timestamp::now());
            }
            c.status = value.into();
            c.reason = reason.into();
            c.message = message;
            c.observed_generation = generation;
        }
        None => status.conditions.push(Condition {
            type_: type_.into(),
            status: value.into(),
            reason: reason.into(),
            message,
            observed_generation: generation,
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::now()),
        }),
    }
}

/// Phase for an FSx lifecycle.
pub fn phase_for_lifecycle(lifecycle: &str) -> Phase {
    match lifecycle {
        "CREATING" => Phase::Creating,
        "AVAILABLE" => Phase::Available,
        "UPDATING" => Phase::Updating,
        "DELETING" => Phase::Deleting,
        "FAILED" | "MISCONFIGURED" => Phase::Failed,
        _ => Phase::Pending,
    }
}

/// Writes `new` as the status of `lv` if it differs from what `lv` has. Returns whether it wrote.
pub async fn write_if_changed(api: &Api<LustreVolume>, lv: &LustreVolume, new: &LustreVolumeStatus) -> Result<bool> {
    let old = lv.status.clone().unwrap_or_default();
    if &old == new {
        return Ok(false);
    }
    let name = lv.metadata.name.as_deref().unwrap_or_default();
    // A merge patch: fields absent from `new` are sent as null so they are removed.
    let mut body = serde_json::to_value(new).unwrap_or(Value::Null);
    if let (Value::Object(map), Value::Object(old_map)) = (&mut body, serde_json::to_value(&old).unwrap_or(Value::Null))
    {
        for key in old_map.keys() {
            map.entry(key.clone()).or_insert(Value::Null);
        }
    }
    let patch = json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "status": body});
    api.patch_status(
        name,
        &PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() },
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_moves_only_on_a_status_flip() {
        let mut s = LustreVolumeStatus::default();
        set_condition(&mut s, READY, false, "Creating", "a", Some(1));
        let t0 = s.conditions[0].last_transition_time.clone();
        std::thread::sleep(std::time::Duration::from_millis(5));
        set_condition(&mut s, READY, false, "Creating", "b", Some(2));
        assert_eq!(s.conditions[0].last_transition_time, t0);
        assert_eq!(s.conditions[0].message, "b");
        set_condition(&mut s, READY, true, "Bound", "c", Some(2));
        assert!(s.conditions[0].last_transition_time > t0);
        assert_eq!(s.conditions.len(), 1);
    }

    #[test]
    fn lifecycles_map_to_phases() {
        assert_eq!(phase_for_lifecycle("CREATING"), Phase::Creating);
        assert_eq!(phase_for_lifecycle("AVAILABLE"), Phase::Available);
        assert_eq!(phase_for_lifecycle("MISCONFIGURED"), Phase::Failed);
    }
}
