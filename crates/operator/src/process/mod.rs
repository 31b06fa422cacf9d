//! What the process runs beside the controllers.

pub mod admin;
pub mod allocator;
pub(crate) mod cache_trim;
pub(crate) mod events;
pub mod leader;
pub mod limits;
pub mod metrics;
pub(crate) mod tolerant_watch;
