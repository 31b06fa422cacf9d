//! lustre-operator: LustreVolume -> security group -> FSx for Lustre file system ->
//! StorageClass, PersistentVolume and PersistentVolumeClaim, with status.
//!
//! Folders by job, lowest first:
//! - `aws/`: the SDK hidden behind domain values, its call budget and the file-system poller;
//! - `process/`: what the process runs beside the controllers (admin endpoints, metrics, events,
//!   leader election, the apiserver request limit, the allocator, watch-cache trimming, and
//!   `limits`, every throughput knob in one place);
//! - `ownership` (tags, names, tokens: what makes a resource ours), `error`, `class_policy` (a
//!   volume under its LustreClass), `quota` (its namespace limits, reserved), `context` (what every
//!   reconcile shares);
//! - `volume/`: the LustreVolume controller (`mod.rs` the driver) and one file per step:
//!   `security_group`, `file_system`, `kubernetes_objects` (StorageClass, PV, claim),
//!   `associations`, `final_export`; `status` (pure composition), `watch`;
//! - `data_task/`: the LustreDataTask controller.
//!
//! `main.rs` wires them together and starts both controllers.

pub mod aws;
mod class_policy;
mod context;
pub mod data_task;
mod error;
#[cfg(test)]
mod fixtures;
mod ownership;
pub mod process;
mod quota;
mod status_write;
pub mod volume;

pub use context::{Context, Timing};
