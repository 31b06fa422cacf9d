//! Out-of-band operations shared by the library API and the admin API.

use anyhow::{anyhow, bail};

use crate::cidr::parse_cidr;
use crate::inventory::{Inventory, TaskFailure};
use crate::model::{ArmedTaskFailure, Seed, Subnet, Tags};
use crate::shared::Shared;

pub(crate) fn seed(s: &Shared) -> Seed {
    s.with_state(|state, _| state.seed.clone())
}

pub(crate) fn inventory(s: &Shared) -> Inventory {
    s.with_state(|state, ctx| state.inventory(ctx.now, ctx.cfg))
}

pub(crate) const LIFECYCLES: &[&str] = &["AVAILABLE", "CREATING", "FAILED", "DELETING", "MISCONFIGURED", "UPDATING"];

pub(crate) fn force_lifecycle(s: &Shared, fs_id: &str, lifecycle: &str, message: Option<&str>) -> anyhow::Result<()> {
    if !LIFECYCLES.contains(&lifecycle) {
        bail!("unknown lifecycle {lifecycle}; expected one of {LIFECYCLES:?}");
    }
    s.mutate(|state, ctx| {
        let fs = state.file_systems.get_mut(fs_id).ok_or_else(|| anyhow!("file system {fs_id} does not exist"))?;
        fs.lifecycle = lifecycle.to_string();
        match lifecycle {
            "FAILED" | "MISCONFIGURED" => {
                let failure = message.unwrap_or("The file system failed (forced by the emulator)").to_string();
                fs.abort_update(&failure);
                fs.failure_message = Some(failure);
            }
            "DELETING" => {
                fs.deleting_since = Some(ctx.now);
                fs.failure_message = message.map(str::to_string);
            }
            "CREATING" => {
                fs.created_at = ctx.now;
                fs.failure_message = None;
            }
            _ => {
                fs.failure_message = message.map(str::to_string);
                fs.abort_update("The update was interrupted (lifecycle forced by the emulator)");
            }
        }
        Ok(())
    })
}

pub(crate) fn delete_file_system_out_of_band(s: &Shared, fs_id: &str) -> anyhow::Result<()> {
    s.mutate(
        |state, _| {
            if state.remove_file_system(fs_id) {
                Ok(())
            } else {
                Err(anyhow!("file system {fs_id} does not exist"))
            }
        },
    )
}

pub(crate) fn tag_file_system(s: &Shared, fs_id: &str, key: &str, value: &str) -> anyhow::Result<()> {
    s.mutate(|state, _| {
        let fs = state.file_systems.get_mut(fs_id).ok_or_else(|| anyhow!("file system {fs_id} does not exist"))?;
        fs.tags.insert(key.to_string(), value.to_string());
        Ok(())
    })
}

pub(crate) fn delete_security_group_out_of_band(s: &Shared, sg_id: &str) -> anyhow::Result<()> {
    s.mutate(|state, _| {
        crate::ec2::delete_group_out_of_band(state, sg_id).map_err(|e| anyhow!("{}: {}", e.code, e.message))
    })
}

pub(crate) fn revoke_ingress_out_of_band(s: &Shared, sg_id: &str, from_port: i32, to_port: i32) -> anyhow::Result<()> {
    s.mutate(|state, _| {
        crate::ec2::revoke_out_of_band(state, sg_id, from_port, to_port)
            .map(|_| ())
            .map_err(|e| anyhow!("{}: {}", e.code, e.message))
    })
}

pub(crate) fn add_subnet(s: &Shared, cidr: &str, az: &str) -> anyhow::Result<String> {
    let Some((net, len)) = parse_cidr(cidr) else {
        bail!("invalid CIDR {cidr}");
    };
    let normalized = format!("{}/{len}", std::net::Ipv4Addr::from(net));
    s.mutate(|state, _| {
        let id = state.next_seeded_id("subnet");
        let vpc_id = state.seed.vpc_id.clone();
        state.subnets.insert(
            id.clone(),
            Subnet { id: id.clone(), vpc_id, cidr: normalized.clone(), az: az.to_string(), tags: Tags::new() },
        );
        Ok(id)
    })
}

/// Arms a failure for every task of `file_system_id` (`None`: of every file system) still running
/// from now on, until [`clear_task_failures`].
pub(crate) fn fail_tasks(s: &Shared, file_system_id: Option<&str>, message: &str) {
    let key = file_system_id.unwrap_or("*").to_string();
    let message = message.to_string();
    let _: Result<(), std::convert::Infallible> = s.mutate(|state, ctx| {
        state.task_failures.insert(key, ArmedTaskFailure { message, armed_at: ctx.now });
        Ok(())
    });
}

pub(crate) fn clear_task_failures(s: &Shared) {
    let _: Result<(), std::convert::Infallible> = s.mutate(|state, _| {
        state.task_failures.clear();
        Ok(())
    });
}

pub(crate) fn task_failures(s: &Shared) -> Vec<TaskFailure> {
    s.with_state(|state, _| state.task_failures.iter().map(|(k, f)| TaskFailure::from_entry(k, f)).collect())
}

/// Clears every operation fault and every armed task failure.
pub(crate) fn clear_faults(s: &Shared) {
    crate::shared::lock(&s.faults).clear();
    clear_task_failures(s);
}
