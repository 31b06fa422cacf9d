//! What every request handler of either service gets besides the state, and the shape of a
//! service's operation table. Neither service depends on the other; both depend on this.

use chrono::{DateTime, Utc};

use crate::config::EmulatorConfig;

/// The request context: the configuration and the emulated time the request runs at.
pub(crate) struct Ctx<'a> {
    pub(crate) cfg: &'a EmulatorConfig,
    pub(crate) now: DateTime<Utc>,
}

impl Ctx<'_> {
    /// `arn:aws:<service>:<region>:<account>:<resource>`.
    pub(crate) fn arn(&self, service: &str, resource: &str) -> String {
        format!("arn:aws:{service}:{}:{}:{resource}", self.cfg.region, self.cfg.account_id)
    }
}

/// One row of a service's operation table: the wire name, whether it changes the state (then it
/// runs all-or-nothing and is persisted), and the function that serves it.
pub(crate) struct Operation<H: 'static> {
    pub(crate) name: &'static str,
    pub(crate) mutating: bool,
    pub(crate) handler: H,
}

/// The row of `table` named `name`.
pub(crate) fn find<H>(table: &'static [Operation<H>], name: &str) -> Option<&'static Operation<H>> {
    table.iter().find(|op| op.name == name)
}
