//! An emulator of the Amazon FSx for Lustre and EC2 (VPC, subnet, security-group, ENI) APIs that
//! the unmodified `aws-sdk-fsx` and `aws-sdk-ec2` clients talk to through their endpoint URL.
//!
//! One HTTP endpoint serves both services: FSx requests are recognised by `X-Amz-Target`, EC2
//! requests by their form-encoded `Action`. Lifecycles advance lazily from an emulated clock that
//! tests can pause and advance; faults, an inventory and a call counter make it a test oracle.
//! See the crate README for the admin API and the behaviours AWS does not document.

mod admin;
mod calls;
mod cidr;
mod clock;
mod config;
mod ec2;
mod error;
mod faults;
mod fsx;
mod ids;
mod inventory;
mod lifecycle;
mod model;
mod ops;
mod persistence;
mod request;
mod seed;
mod server;
mod shared;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use calls::{CallCount, CallLog};
pub use config::EmulatorConfig;
pub use error::ApiError;
pub use faults::Fault;
pub use inventory::{AssociationInfo, FileSystemInfo, Inventory, RuleInfo, SecurityGroupInfo, TaskFailure, TaskInfo};
pub use model::{NetworkInterface, Seed, Subnet, Tags, Vpc};

use shared::{lock, Shared};

/// A running emulator. The server stops when this is dropped.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Emulator {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start(config: EmulatorConfig) -> anyhow::Result<Emulator> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn start_on(config: EmulatorConfig, addr: SocketAddr) -> anyhow::Result<Emulator> {
        let shared = Arc::new(Shared::new(config)?);
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        let addr = listener.local_addr()?;
        let app = server::router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "emulator server stopped");
            }
        });
        Ok(Emulator { shared, addr, shutdown: Some(tx), task })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.shared.config
    }

    /// The seeded default VPC, its three subnets and its default security group.
    pub fn seed(&self) -> Seed {
        ops::seed(&self.shared)
    }

    pub fn inventory(&self) -> Inventory {
        ops::inventory(&self.shared)
    }

    pub fn calls(&self) -> CallLog {
        lock(&self.shared.calls).snapshot()
    }

    pub fn reset_calls(&self) {
        lock(&self.shared.calls).reset();
    }

    /// Arms a fault for `operation` (e.g. "CreateFileSystem", "AuthorizeSecurityGroupIngress", or "*").
    pub fn set_fault(&self, operation: &str, fault: Fault) {
        lock(&self.shared.faults).set(operation, fault);
    }

    /// Disarms every operation fault and every task failure armed with [`Emulator::fail_tasks`].
    pub fn clear_faults(&self) {
        ops::clear_faults(&self.shared);
    }

    /// Makes data repository tasks fail: every task of `file_system_id` (`None`: of any file
    /// system) that is EXECUTING at any moment from now until [`Emulator::clear_task_failures`]
    /// ends FAILED at its normal end time, with `FailureDetails.Message = message`, a
    /// `FailedCount` > 0 and an `EndTime`. A file system's own failure takes precedence over `None`'s.
    pub fn fail_tasks(&self, file_system_id: Option<&str>, message: &str) {
        ops::fail_tasks(&self.shared, file_system_id, message);
    }

    /// Disarms every task failure; tasks already caught by one still fail.
    pub fn clear_task_failures(&self) {
        ops::clear_task_failures(&self.shared);
    }

    /// The armed task failures.
    pub fn task_failures(&self) -> Vec<TaskFailure> {
        ops::task_failures(&self.shared)
    }

    pub fn pause_clock(&self) {
        self.shared.clock.pause();
    }

    pub fn resume_clock(&self) {
        self.shared.clock.resume();
    }

    pub fn advance_clock(&self, d: Duration) {
        self.shared.clock.advance(d);
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.shared.clock.now()
    }

    /// Forces a file system into AVAILABLE, CREATING, UPDATING, DELETING, FAILED or MISCONFIGURED;
    /// `message` becomes `FailureDetails.Message`.
    pub fn force_lifecycle(&self, fs_id: &str, lifecycle: &str, message: Option<&str>) -> anyhow::Result<()> {
        ops::force_lifecycle(&self.shared, fs_id, lifecycle, message)
    }

    /// Removes a file system (and its ENIs, associations and tasks) at once.
    pub fn delete_file_system_out_of_band(&self, fs_id: &str) -> anyhow::Result<()> {
        ops::delete_file_system_out_of_band(&self.shared, fs_id)
    }

    /// Sets tag `key` = `value` on a file system, as someone with console access would.
    pub fn tag_file_system(&self, fs_id: &str, key: &str, value: &str) -> anyhow::Result<()> {
        ops::tag_file_system(&self.shared, fs_id, key, value)
    }

    /// Removes a security group without the dependency check; ENIs and rules lose it.
    pub fn delete_security_group_out_of_band(&self, sg_id: &str) -> anyhow::Result<()> {
        ops::delete_security_group_out_of_band(&self.shared, sg_id)
    }

    /// Removes every ingress rule of the group with exactly these ports.
    pub fn revoke_ingress_out_of_band(&self, sg_id: &str, from_port: i32, to_port: i32) -> anyhow::Result<()> {
        ops::revoke_ingress_out_of_band(&self.shared, sg_id, from_port, to_port)
    }

    /// Adds a subnet to the seeded VPC; returns its (deterministic) ID. An invalid CIDR yields an
    /// empty string; use [`Emulator::try_add_subnet`] to see the error.
    pub fn add_subnet(&self, cidr: &str, az: &str) -> String {
        self.try_add_subnet(cidr, az).unwrap_or_default()
    }

    pub fn try_add_subnet(&self, cidr: &str, az: &str) -> anyhow::Result<String> {
        ops::add_subnet(&self.shared, cidr, az)
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}
