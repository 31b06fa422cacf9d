//! LustreVolume fixtures and waits shared by the end-to-end tests of the operator.

use std::time::Duration;

use anyhow::Context as _;
use aws_emulator::EmulatorConfig;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use lustre_api::LustreVolume;
use serde_json::json;

use crate::{wait_for, wait_gone, Harness};

/// Generous deadline for anything the operator does (the emulator creates in seconds).
pub const DEADLINE: Duration = Duration::from_secs(90);

/// An emulator whose file systems take `create` to become AVAILABLE.
pub fn emulator(create: Duration) -> EmulatorConfig {
    EmulatorConfig { create_duration: create, delete_duration: Duration::from_secs(1), ..EmulatorConfig::default() }
}

/// A SCRATCH_2 1200 GiB volume of LustreClass `class` (a harness's is [`Harness::class`]).
pub fn scratch_volume(name: &str, class: &str) -> LustreVolume {
    volume(json!({"apiVersion": "lustre.fsx.dev/v1alpha1", "kind": "LustreVolume", "metadata": {"name": name},
                  "spec": {"storageCapacityGiB": 1200, "className": class}}))
}

/// A LustreVolume from JSON; panics (failing the test) when it does not parse.
pub fn volume(v: serde_json::Value) -> LustreVolume {
    serde_json::from_value(v).expect("test LustreVolume parses")
}

pub fn condition<'a>(lv: &'a LustreVolume, type_: &str) -> Option<&'a Condition> {
    lv.status.as_ref()?.conditions.iter().find(|c| c.type_ == type_)
}

pub fn is_ready(lv: &LustreVolume) -> bool {
    condition(lv, "Ready").is_some_and(|c| c.status == "True")
}

/// Waits for Ready=True; on failure the error carries the operator's log.
pub async fn ready(h: &Harness, name: &str) -> anyhow::Result<LustreVolume> {
    wait_for(&h.lvs(), name, DEADLINE, "condition Ready=True", is_ready)
        .await
        .with_context(|| format!("operator log:\n{}", h.operator_log()))
}

/// Waits until the LustreVolume is gone (finalizer done); on failure shows the operator's log.
pub async fn gone(h: &Harness, name: &str) -> anyhow::Result<()> {
    wait_gone(&h.lvs(), name, DEADLINE).await.with_context(|| format!("operator log:\n{}", h.operator_log()))
}
