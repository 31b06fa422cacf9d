//! The `LustreVolume` and `LustreClass` API: types, defaults, admission rules, validation and
//! the class policy. No clients here.

pub mod class;
pub mod crd;
pub mod policy;
pub mod tags;
pub mod types;
pub mod validation;

pub use class::{LustreClass, LustreClassSpec, LustreClassStatus};
pub use crd::{class_crd, crd, crd_yaml};
pub use types::*;
pub use validation::{validate, validate_network, InvalidSpec, Violation};
