//! lustre-operator: LustreVolume -> security group -> FSx for Lustre file system ->
//! StorageClass, PersistentVolume and PersistentVolumeClaim, with status.
//!
//! One module per step (`security_group`, `file_system`, `kubernetes_objects`), one module for
//! the AWS surface (`aws`), the shared `file_system_poller`, and `controller`, which drives them.

pub mod admin;
pub mod aws;
pub mod controller;
pub mod error;
pub mod events;
pub mod file_system;
pub mod file_system_poller;
pub mod kubernetes_objects;
pub mod leader;
pub mod metrics;
pub mod names;
pub mod security_group;
pub mod status;
