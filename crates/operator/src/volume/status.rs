//! Status composition, a pure function: the spec, the previous status and what this pass
//! observed (an [`Observation`]) give the new status: phase, fields and conditions.
//! `lastTransitionTime` moves only when a condition's status flips, and the status is written
//! only when something in it changed, so a stable volume causes no writes and the controller
//! never triggers itself.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use lustre_api::{LustreVolume, LustreVolumeStatus, Phase};

use crate::aws::{AssociationLifecycle, FileSystem, Lifecycle};
use crate::class_policy::Refusal;
use crate::error::Error;
use crate::volume::associations::{all_available, Associations};
use crate::volume::file_system::Observed;
use crate::volume::kubernetes_objects::ClaimPhase;
use crate::volume::security_group::SecurityGroups;

pub(crate) use crate::status_write::write_if_changed;
pub(crate) use lustre_api::conditions::{
    ASSOCIATIONS_READY, CLAIM_BOUND, DATA_EXPORTED, FILE_SYSTEM_READY, READY, SECURITY_GROUP_READY,
};

/// The step a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    SecurityGroup,
    FileSystem,
    KubernetesObjects,
    Associations,
}

/// What one pass over a volume saw and did.
#[derive(Debug)]
pub(crate) struct Observation {
    /// The volume may not go ahead (invalid spec, no class, refused by its class): the
    /// condition reason and what to change. No step ran.
    pub(crate) refusal: Option<Refusal>,
    pub(crate) file_system: Observed,
    /// The security groups, once that step succeeded.
    pub(crate) security_groups: Option<SecurityGroups>,
    /// The claim's phase, once the StorageClass, PV and claim were applied.
    pub(crate) claim: Option<ClaimPhase>,
    /// The claim is new (the PV binder binds it within moments).
    pub(crate) claim_new: bool,
    /// The data repository associations, when that step looked at them this pass.
    pub(crate) associations: Option<Associations>,
    /// The day-two step's plan, when it ran this pass: what it sent and what waits.
    pub(crate) day_two: Option<super::day_two::Plan>,
    /// The error that stopped the pass, and where.
    pub(crate) failure: Option<(Step, Error)>,
}

impl Default for Observation {
    fn default() -> Self {
        Observation {
            refusal: None,
            file_system: Observed::Absent,
            security_groups: None,
            claim: None,
            claim_new: false,
            associations: None,
            day_two: None,
            failure: None,
        }
    }
}

/// What the controller should do after a pass that did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Only a spec edit can change anything (invalid spec, Lost, FAILED).
    AwaitChange,
    /// Stable: come back at the next resync.
    Resync,
    /// Something is still changing.
    Soon,
}

/// The phase FSx's lifecycle stands for.
pub(crate) fn phase_for(fs: &FileSystem) -> Phase {
    match fs.lifecycle {
        Lifecycle::Creating => Phase::Creating,
        Lifecycle::Available if fs.actions_in_progress.is_empty() => Phase::Available,
        Lifecycle::Available | Lifecycle::Updating => Phase::Updating,
        Lifecycle::Deleting => Phase::Deleting,
        Lifecycle::Failed | Lifecycle::Misconfigured | Lifecycle::MisconfiguredUnavailable => Phase::Failed,
        Lifecycle::Other(_) => Phase::Pending,
    }
}

/// The new status of `lv` after a pass that observed `obs`.
// Long on purpose, it reads better whole: the status's fields top to bottom, each from what the pass observed: split up, the order in which conditions and the phase are decided would be spread over several functions.
pub(crate) fn compose(
    lv: &LustreVolume,
    previous: &LustreVolumeStatus,
    obs: &Observation,
    now: Timestamp,
) -> LustreVolumeStatus {
    let generation = lv.metadata.generation;
    let mut st = previous.clone();
    let set = |st: &mut LustreVolumeStatus, type_: &str, ok: bool, reason: &str, message: &str| {
        set_condition(st, type_, ok, reason, message, generation, now)
    };
    // The generation counts as observed only when this pass applied it.
    if obs.refusal.is_none() && obs.failure.is_none() {
        st.observed_generation = generation;
    }
    st.claim_name = Some(lv.claim_name());

    if let Some(refusal) = &obs.refusal {
        st.phase.get_or_insert(Phase::Pending);
        set(&mut st, READY, false, refusal.reason, &refusal.message);
        return st;
    }
    if let Observed::Lost(id) = &obs.file_system {
        st.phase = Some(Phase::Lost);
        st.lifecycle = None;
        let message = format!(
            "file system {id} no longer exists in FSx (deleted outside the operator); it is not re-created \
             automatically. Delete this LustreVolume and create a new one to get a new file system"
        );
        set(&mut st, FILE_SYSTEM_READY, false, "Lost", &message);
        set(&mut st, READY, false, "Lost", &message);
        return st;
    }

    match (&obs.security_groups, &obs.failure) {
        (Some(sgs), _) => {
            let (reason, message) = if lv.spec.file_system_id.is_some() {
                ("Adopted", "the adopted file system keeps its own security groups".to_string())
            } else if sgs.managed {
                ("Managed", format!("{} admits TCP 988 and 1018-1023", sgs.ids.join(", ")))
            } else {
                ("Existing", format!("using existing security groups {}", sgs.ids.join(", ")))
            };
            set(&mut st, SECURITY_GROUP_READY, true, reason, &message);
            st.security_group_id = sgs.ids.first().cloned();
        }
        (None, Some((Step::SecurityGroup, e @ (Error::Network(_) | Error::Conflict(_))))) => {
            set(&mut st, SECURITY_GROUP_READY, false, e.reason(), &e.to_string());
        }
        (None, _) => {}
    }

    match &obs.file_system {
        Observed::Present(fs) => {
            st.file_system_id = Some(fs.id.clone());
            st.lifecycle = Some(fs.lifecycle.as_str().to_string());
            st.dns_name = fs.dns_name.clone();
            st.mount_name = fs.mount_name.clone();
            st.capacity_gib = fs.capacity_gib;
            st.per_unit_storage_throughput = fs.per_unit_storage_throughput;
            st.administrative_actions = fs.actions.iter().filter(|a| a.running()).map(action_status).collect();
            if let Some(plan) = &obs.day_two {
                st.pending_changes = plan.pending.clone();
                st.next_update_allowed_at =
                    plan.next_allowed_at_ms.and_then(|ms| Timestamp::from_millisecond(ms).ok()).map(|t| t.to_string());
            }
            let phase = phase_for(fs);
            st.phase = Some(phase);
            let (reason, message) = file_system_condition(fs);
            set(&mut st, FILE_SYSTEM_READY, fs.lifecycle.is_mountable(), &reason, &message);
            match (&obs.claim, fs.lifecycle.is_mountable()) {
                (Some(claim), true) => {
                    let bound = *claim == ClaimPhase::Bound;
                    let name = lv.claim_name();
                    let message = format!("PersistentVolumeClaim {name} is {}", claim.as_str());
                    set(&mut st, CLAIM_BOUND, bound, if bound { "Bound" } else { "Pending" }, &message);
                    st.claim_phase = Some(claim.as_str().to_string());
                    st.storage_class_name = Some(crate::ownership::cluster_object_name(lv));
                    st.persistent_volume_name = Some(crate::ownership::cluster_object_name(lv));
                    if bound {
                        let mut message = format!("mount PersistentVolumeClaim {name}");
                        if !st.pending_changes.is_empty() {
                            message.push_str(&format!("; pending: {}", st.pending_changes.join("; ")));
                        }
                        set(&mut st, READY, true, "Bound", &message);
                    } else {
                        set(&mut st, READY, false, "ClaimPending", "waiting for the claim to bind");
                    }
                }
                (None, true) => {}
                (_, false) => {
                    let message = format!("file system {} is {}", fs.id, fs.lifecycle);
                    set(&mut st, READY, false, phase.as_str(), &message);
                }
            }
        }
        Observed::Absent | Observed::Lost(_) => {
            st.phase.get_or_insert(Phase::Pending);
        }
    }
    compose_associations(lv, &mut st, obs, generation, now);

    if let Some((_, e)) = &obs.failure {
        set(&mut st, READY, false, e.reason(), &e.to_string());
    }
    st
}

/// An administrative action as the status shows it.
fn action_status(a: &crate::aws::AdminAction) -> lustre_api::AdministrativeActionStatus {
    let target = match (a.target_capacity_gib, a.target_throughput) {
        (Some(gib), _) => Some(format!("storageCapacityGiB {gib}")),
        (None, Some(t)) => Some(format!("perUnitStorageThroughput {t}")),
        (None, None) => None,
    };
    lustre_api::AdministrativeActionStatus {
        action_type: a.action_type.clone(),
        status: a.status.clone(),
        progress_percent: a.progress_percent,
        target,
    }
}

/// The associations and their condition; Ready waits for them.
fn compose_associations(
    lv: &LustreVolume,
    st: &mut LustreVolumeStatus,
    obs: &Observation,
    generation: Option<i64>,
    now: Timestamp,
) {
    if let Some(a) = &obs.associations {
        st.associations = a.statuses.clone();
    }
    if lv.spec.associations().is_empty() && st.associations.is_empty() {
        st.conditions.retain(|c| c.type_ != ASSOCIATIONS_READY);
        return;
    }
    let available = all_available(lv, &st.associations);
    let (reason, message) = if available {
        ("Available", format!("{} association(s) AVAILABLE", st.associations.len()))
    } else {
        let pending: Vec<String> = st
            .associations
            .iter()
            .filter(|a| {
                a.lifecycle.as_deref().map(AssociationLifecycle::from_fsx) != Some(AssociationLifecycle::Available)
            })
            .map(|a| {
                let state = a.lifecycle.as_deref().unwrap_or("not created");
                match &a.message {
                    Some(m) => format!("{} is {state}: {m}", a.file_system_path),
                    None => format!("{} is {state}", a.file_system_path),
                }
            })
            .collect();
        let failed = st.associations.iter().any(|a| {
            matches!(
                a.lifecycle.as_deref().map(AssociationLifecycle::from_fsx),
                Some(AssociationLifecycle::Failed | AssociationLifecycle::Misconfigured)
            ) || (a.lifecycle.is_none() && a.message.is_some())
        });
        let message = if pending.is_empty() { "waiting for FSx".to_string() } else { pending.join("; ") };
        (if failed { "AssociationFailed" } else { "AssociationsPending" }, message)
    };
    set_condition(st, ASSOCIATIONS_READY, available, reason, &message, generation, now);
    let ready = st.conditions.iter().any(|c| c.type_ == READY && c.status == "True");
    if ready && !available {
        set_condition(
            st,
            READY,
            false,
            reason,
            &format!("the claim is bound; associations: {message}"),
            generation,
            now,
        );
    }
}

/// The status while the finalizer cleans up: phase Deleting and, while it waits or fails, why.
pub(crate) fn deleting(
    lv: &LustreVolume,
    previous: &LustreVolumeStatus,
    failure: &Error,
    now: Timestamp,
) -> LustreVolumeStatus {
    let mut st = previous.clone();
    st.phase = Some(Phase::Deleting);
    let generation = lv.metadata.generation;
    set_condition(&mut st, READY, false, failure.reason(), &failure.to_string(), generation, now);
    if matches!(failure, Error::Exporting(_) | Error::ExportFailed(_)) {
        set_condition(&mut st, DATA_EXPORTED, false, failure.reason(), &failure.to_string(), generation, now);
    }
    st
}

/// What to do after a pass that did not fail.
pub(crate) fn next(obs: &Observation) -> Next {
    if obs.refusal.is_some() {
        return Next::AwaitChange;
    }
    match &obs.file_system {
        Observed::Lost(_) => Next::AwaitChange,
        Observed::Present(fs) if fs.lifecycle == Lifecycle::Failed => Next::AwaitChange,
        Observed::Present(fs)
            if fs.lifecycle.is_mountable()
                && !fs.in_transition()
                && obs.claim == Some(ClaimPhase::Bound)
                && obs.associations.as_ref().is_none_or(|a| a.settled) =>
        {
            Next::Resync
        }
        _ => Next::Soon,
    }
}

fn file_system_condition(fs: &FileSystem) -> (String, String) {
    let id = &fs.id;
    match &fs.lifecycle {
        Lifecycle::Available if fs.actions_in_progress.is_empty() => ("Available".into(), format!("{id} is AVAILABLE")),
        Lifecycle::Available | Lifecycle::Updating => {
            ("Updating".into(), format!("{id} is being updated: {}", fs.actions_in_progress.join(", ")))
        }
        Lifecycle::Failed => (
            "Failed".into(),
            format!("{id} failed: {}", fs.failure.clone().unwrap_or_else(|| "no details from FSx".into())),
        ),
        Lifecycle::Misconfigured => (
            "Misconfigured".into(),
            format!(
                "{id} is MISCONFIGURED (recoverable): {}; check its security groups and KMS key",
                fs.failure.clone().unwrap_or_default()
            ),
        ),
        other => (pascal_case(other.as_str()), format!("{id} is {other}")),
    }
}

/// "MISCONFIGURED_UNAVAILABLE" -> "MisconfiguredUnavailable" (a condition reason).
fn pascal_case(s: &str) -> String {
    let mut out: String = s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut c = lower.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect();
    if out.is_empty() {
        out = "Unknown".into();
    }
    out
}

/// Sets condition `type_`, keeping its transition time unless its status flips.
pub(crate) fn set_condition(
    status: &mut LustreVolumeStatus,
    type_: &str,
    ok: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    let value = if ok { "True" } else { "False" };
    let message: String = message.chars().take(1024).collect();
    match status.conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => {
            if c.status != value {
                c.last_transition_time = Time(now);
            }
            c.status = value.into();
            c.reason = reason.into();
            c.message = message;
            c.observed_generation = generation;
        }
        None => status.conditions.push(Condition {
            type_: type_.into(),
            status: value.into(),
            reason: reason.into(),
            message,
            observed_generation: generation,
            last_transition_time: Time(now),
        }),
    }
}

/// The Ready condition's (reason, message), to tell whether it changed.
pub(crate) fn ready(st: &LustreVolumeStatus) -> Option<(&str, &str)> {
    st.conditions.iter().find(|c| c.type_ == READY).map(|c| (c.reason.as_str(), c.message.as_str()))
}

#[cfg(test)]
mod tests;
