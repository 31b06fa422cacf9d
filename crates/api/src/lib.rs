//! The `LustreVolume` API: types, defaults, admission rules and validation. No clients here.

pub mod crd;
pub mod tags;
pub mod types;
pub mod validation;

pub use crd::{crd, crd_yaml};
pub use types::*;
pub use validation::{validate, InvalidSpec, Violation};
