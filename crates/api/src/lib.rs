//! The `LustreVolume`, `LustreClass` and `LustreDataTask` API: types, defaults, admission rules, validation and
//! the class policy. No clients here.

pub mod class;
pub mod conditions;
pub mod crd;
pub mod policy;
pub mod rules;
pub mod tags;
pub mod task;
pub mod types;
pub mod validation;

pub use class::{LustreClass, LustreClassSpec, LustreClassStatus};
pub use crd::{class_crd, crd, crd_yaml, task_crd};
pub use task::{validate_task, DataTaskPhase, DataTaskType, LustreDataTask, LustreDataTaskSpec, LustreDataTaskStatus};
pub use types::*;
pub use validation::{validate, validate_network, InvalidSpec, Violation};
