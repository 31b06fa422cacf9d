//! lustre-operator: LustreVolume -> security group -> FSx for Lustre file system ->
//! StorageClass, PersistentVolume and PersistentVolumeClaim, with status.
//!
//! Layers, lowest first: `aws` (the SDK hidden behind domain values), `ownership` (tags, names,
//! "is it ours"), `metrics`, `events`, `file_system_poller`, `context` (what every reconcile
//! shares); `class_policy` (the volume under its LustreClass); the steps `security_group`, `file_system`, `kubernetes_objects`; `status` (pure
//! composition); `controller` (the driver); `data_task` (the LustreDataTask controller, which
//! `controller` starts next to the volume controller). `leader` and `admin` serve `main`.

pub mod admin;
pub mod allocator;
pub mod apiserver_requests;
pub mod aws;
mod cache_trim;
mod class_policy;
mod context;
pub mod controller;
mod data_repository_associations;
mod data_task;
mod error;
mod events;
mod file_system;
pub mod file_system_poller;
mod final_export;
mod kubernetes_objects;
pub mod leader;
pub mod metrics;
mod ownership;
mod security_group;
mod status;
mod volume_watch;

pub use context::{Context, Timing};
