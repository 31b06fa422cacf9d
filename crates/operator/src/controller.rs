//! The reconcile driver: a thin sequence over the step modules.
//!
//! Apply: validate -> find the file system -> security group -> create the file system (ID to
//! status at once) -> StorageClass + PV -> claim -> status. Cleanup (finalizer): claim (wait for
//! pods) -> PV + StorageClass -> file system (wait until gone) -> security group.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{finalizer, Event as FinalizerEvent};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use lustre_api::{tags, LustreVolume, LustreVolumeStatus, Phase};
use rand::Rng;

use crate::aws::{Aws, FileSystemInfo};
use crate::error::{Error, Result};
use crate::events::Events;
use crate::file_system::{self, Observed};
use crate::file_system_poller::FileSystemPoller;
use crate::kubernetes_objects as k8s;
use crate::metrics::Metrics;
use crate::security_group;
use crate::status::{self, CLAIM_BOUND, FILE_SYSTEM_READY, READY, SECURITY_GROUP_READY};

pub const FINALIZER: &str = "lustre.fsx.dev/cleanup";
pub const FIELD_MANAGER: &str = "lustre-operator";

/// Timing knobs.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Full re-check of a stable volume (security-group rules, Kubernetes objects).
    pub resync: Duration,
    /// Safety requeue while something is changing (the poller usually wakes us first).
    pub in_transition: Duration,
}

/// Shared by every reconciliation.
pub struct Context {
    pub client: Client,
    pub aws: Aws,
    pub poller: FileSystemPoller,
    pub metrics: Metrics,
    pub events: Events,
    pub timing: Timing,
    backoff: Mutex<HashMap<String, u32>>,
    /// When each volume's security group was last checked (it is re-checked once per resync).
    security_group_checked: Mutex<HashMap<String, Instant>>,
}

impl Context {
    pub fn new(client: Client, aws: Aws, poller: FileSystemPoller, metrics: Metrics, timing: Timing) -> Context {
        Context {
            events: Events::new(client.clone()),
            client,
            aws,
            poller,
            metrics,
            timing,
            backoff: Mutex::new(HashMap::new()),
            security_group_checked: Mutex::new(HashMap::new()),
        }
    }

    /// Next delay for `key` after a failure: exponential from `base` up to `max`, with ±20% jitter.
    fn next_backoff(&self, key: &str, base: Duration, max: Duration) -> Duration {
        let mut map = self.backoff.lock().unwrap_or_else(|p| p.into_inner());
        let attempts = map.entry(key.to_string()).or_insert(0);
        let exp = base.saturating_mul(1u32 << (*attempts).min(16));
        *attempts += 1;
        let delay = exp.min(max);
        let jitter = rand::rng().random_range(0.8..1.2);
        delay.mul_f64(jitter)
    }

    /// Whether the security group of `uid` was checked less than a resync period ago.
    fn security_group_fresh(&self, uid: &str) -> bool {
        let map = self.security_group_checked.lock().unwrap_or_else(|p| p.into_inner());
        map.get(uid).is_some_and(|t| t.elapsed() < self.timing.resync)
    }

    fn security_group_verified(&self, uid: &str, ok: bool) {
        let mut map = self.security_group_checked.lock().unwrap_or_else(|p| p.into_inner());
        if ok {
            map.insert(uid.to_string(), Instant::now());
        } else {
            map.remove(uid);
        }
    }

    fn reset_backoff(&self, key: &str) {
        self.backoff.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

fn key(lv: &LustreVolume) -> String {
    format!("{}/{}", lv.namespace().unwrap_or_default(), lv.name_any())
}

/// Runs one controller over `api` (all namespaces or one) until shutdown.
pub async fn run(
    ctx: Arc<Context>,
    api: Api<LustreVolume>,
    namespace: Option<String>,
    ready: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut selector = format!("{}={}", tags::MANAGED_BY, tags::MANAGED_BY_VALUE);
    if let Some(ns) = &namespace {
        selector.push_str(&format!(",{}={ns}", tags::LABEL_OWNER_NAMESPACE));
    }
    let labelled = watcher::Config::default().labels(&selector);
    let claims: Api<PersistentVolumeClaim> = match &namespace {
        Some(ns) => Api::namespaced(ctx.client.clone(), ns),
        None => Api::all(ctx.client.clone()),
    };
    let controller = Controller::new(api, watcher::Config::default())
        .owns(claims, labelled.clone())
        .watches(Api::<PersistentVolume>::all(ctx.client.clone()), labelled.clone(), owner_of)
        .watches(Api::<StorageClass>::all(ctx.client.clone()), labelled, owner_of)
        .reconcile_on(ctx.poller.subscribe())
        .shutdown_on_signal();
    let store = controller.store();
    tokio::spawn(async move {
        // The store's readiness signal wakes only one waiter (the controller's own runner), so
        // poll it again now and then instead of waiting once.
        loop {
            match tokio::time::timeout(Duration::from_millis(200), store.wait_until_ready()).await {
                Ok(Ok(())) => {
                    ready.store(true, std::sync::atomic::Ordering::SeqCst);
                    tracing::info!("caches synced; ready");
                    return;
                }
                Ok(Err(_)) => return,
                Err(_) => {}
            }
        }
    });
    controller
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            match res {
                Ok((obj, _)) => tracing::debug!(object = %obj, "reconciled"),
                Err(e) => tracing::debug!(error = %e, "reconcile failed"),
            }
        })
        .await;
}

/// Maps a labelled PV or StorageClass back to its LustreVolume.
fn owner_of<K: kube::Resource>(obj: K) -> Option<ObjectRef<LustreVolume>> {
    let labels = obj.meta().labels.as_ref()?;
    let ns = labels.get(tags::LABEL_OWNER_NAMESPACE)?;
    let name = labels.get(tags::LABEL_OWNER_NAME)?;
    Some(ObjectRef::new(name).within(ns))
}

async fn reconcile(lv: Arc<LustreVolume>, ctx: Arc<Context>) -> Result<Action> {
    let start = Instant::now();
    let ns = lv.namespace().unwrap_or_default();
    let api: Api<LustreVolume> = Api::namespaced(ctx.client.clone(), &ns);
    let result = finalizer(&api, FINALIZER, lv.clone(), |event| async {
        match event {
            FinalizerEvent::Apply(lv) => apply(&lv, &ctx, &api).await,
            FinalizerEvent::Cleanup(lv) => cleanup(&lv, &ctx, &api).await,
        }
    })
    .await
    .map_err(|e| match e {
        kube::runtime::finalizer::Error::ApplyFailed(e) | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
        kube::runtime::finalizer::Error::AddFinalizer(e) | kube::runtime::finalizer::Error::RemoveFinalizer(e) => {
            Error::Kube(e)
        }
        other => Error::Finalizer(other.to_string()),
    });
    ctx.metrics.reconciled(start.elapsed());
    match &result {
        Ok(_) => ctx.reset_backoff(&key(&lv)),
        Err(e) => {
            ctx.metrics.failed(e.category());
            report_error(&lv, &ctx, &api, e).await;
        }
    }
    result
}

/// Puts the error in the Ready condition (if it changed) and in an event.
async fn report_error(lv: &LustreVolume, ctx: &Context, api: &Api<LustreVolume>, e: &Error) {
    // Work from the latest object: the finalizer may have changed it.
    let Ok(Some(latest)) = api.get_opt(&lv.name_any()).await else { return };
    let mut st = latest.status.clone().unwrap_or_default();
    status::set_condition(&mut st, READY, false, e.reason(), &e.to_string(), latest.metadata.generation);
    match status::write_if_changed(api, &latest, &st).await {
        Ok(true) => {
            if matches!(e, Error::Waiting(_)) {
                ctx.events.normal(&latest, e.reason(), &e.to_string()).await;
            } else {
                ctx.events.warning(&latest, e.reason(), &e.to_string()).await;
            }
        }
        Ok(false) => {}
        Err(err) => tracing::warn!(error = %err, "could not write the error to status"),
    }
}

fn error_policy(lv: Arc<LustreVolume>, error: &Error, ctx: Arc<Context>) -> Action {
    let k = key(&lv);
    tracing::warn!(object = %k, category = error.category(), error = %error, "reconcile failed");
    let delay = match error {
        Error::Waiting(_) => ctx.next_backoff(&k, Duration::from_millis(500), Duration::from_secs(10)),
        Error::Network(_) => ctx.next_backoff(&k, Duration::from_secs(1), Duration::from_secs(60)),
        Error::Conflict(_) => ctx.next_backoff(&k, Duration::from_secs(30), Duration::from_secs(600)),
        Error::InvalidSpec(_) => return Action::await_change(),
        _ => ctx.next_backoff(&k, Duration::from_millis(500), Duration::from_secs(300)),
    };
    Action::requeue(delay)
}

async fn apply(lv: &LustreVolume, ctx: &Context, api: &Api<LustreVolume>) -> Result<Action> {
    let generation = lv.metadata.generation;
    let mut st = lv.status.clone().unwrap_or_default();
    st.observed_generation = generation;
    st.claim_name = Some(lv.claim_name());

    // 1. Validate: an invalid spec makes no AWS call and waits for an edit.
    if let Err(invalid) = lustre_api::validate(&lv.spec) {
        let message = format!("{invalid}; edit the LustreVolume to fix it");
        if st.phase.is_none() {
            st.phase = Some(Phase::Pending);
        }
        status::set_condition(&mut st, READY, false, "InvalidSpec", &message, generation);
        finish(lv, ctx, api, st).await?;
        return Ok(Action::await_change());
    }

    // 2. Find the file system (by ID or owner tag) before anything is created.
    let found = file_system::find(ctx, lv, st.file_system_id.as_deref()).await?;
    if let Some(Observed::Lost(id)) = &found {
        st.phase = Some(Phase::Lost);
        st.lifecycle = None;
        let msg = format!(
            "file system {id} no longer exists in FSx (deleted outside the operator); it is not re-created automatically. Delete this LustreVolume and create a new one to get a new file system"
        );
        status::set_condition(&mut st, FILE_SYSTEM_READY, false, "Lost", &msg, generation);
        status::set_condition(&mut st, READY, false, "Lost", &msg, generation);
        ctx.poller.untrack(id);
        finish(lv, ctx, api, st).await?;
        return Ok(Action::await_change());
    }
    let existing = match found {
        Some(Observed::Present(fs)) => Some(fs),
        _ => None,
    };
    if let Some(fs) = &existing {
        if st.file_system_id.as_deref() != Some(fs.id.as_str()) {
            st.file_system_id = Some(fs.id.clone());
            status::write_if_changed(api, lv, &st).await?;
        }
    }

    // 3. Security group (needed before creating; user-given groups are checked only then).
    let uid = crate::names::uid(lv).to_string();
    let sgs = match (adopted_groups(lv), &st.security_group_id) {
        (Some(sgs), _) => Ok(sgs),
        // Checked within this resync period and the file system exists: nothing to re-check.
        (None, Some(id)) if existing.is_some() && ctx.security_group_fresh(&uid) => {
            Ok(security_group::SecurityGroups {
                ids: if lv.spec.network.security_group_ids.is_empty() {
                    vec![id.clone()]
                } else {
                    lv.spec.network.security_group_ids.clone()
                },
                managed: lv.spec.network.security_group_ids.is_empty(),
            })
        }
        (None, _) => {
            let checked = security_group::ensure(ctx, lv, st.security_group_id.as_deref(), existing.is_none()).await;
            ctx.security_group_verified(&uid, checked.is_ok());
            checked
        }
    };
    let sgs = match sgs {
        Ok(sgs) => sgs,
        Err(e @ (Error::Network(_) | Error::Conflict(_))) => {
            status::set_condition(&mut st, SECURITY_GROUP_READY, false, e.reason(), &e.to_string(), generation);
            if st.phase.is_none() {
                st.phase = Some(Phase::Pending);
            }
            finish_quietly(lv, api, &st).await;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    let sg_message = if lv.spec.file_system_id.is_some() {
        "the adopted file system keeps its own security groups".to_string()
    } else if sgs.managed {
        format!("{} admits TCP 988 and 1018-1023", sgs.ids.join(", "))
    } else {
        format!("using existing security groups {}", sgs.ids.join(", "))
    };
    let sg_reason = match (lv.spec.file_system_id.is_some(), sgs.managed) {
        (true, _) => "Adopted",
        (false, true) => "Managed",
        (false, false) => "Existing",
    };
    status::set_condition(&mut st, SECURITY_GROUP_READY, true, sg_reason, &sg_message, generation);
    if st.security_group_id.as_deref() != sgs.ids.first().map(String::as_str) {
        st.security_group_id = sgs.ids.first().cloned();
        status::write_if_changed(api, lv, &st).await?;
    }

    // 4. File system: create when none exists; its ID goes to status before anything else.
    let fs = match existing {
        Some(fs) => fs,
        None => {
            st.phase = Some(Phase::Creating);
            let fs = file_system::create(ctx, lv, &sgs.ids).await?;
            st.file_system_id = Some(fs.id.clone());
            status::write_if_changed(api, lv, &st).await?;
            fs
        }
    };
    file_system::follow(ctx, lv, &fs).await?;
    let usable = describe_file_system(&mut st, &fs, generation);

    // 5-6. StorageClass, PV and claim once the file system can be mounted.
    if usable {
        k8s::apply_storage_class_and_volume(ctx, lv, &fs).await?;
        st.storage_class_name = Some(crate::names::cluster_object_name(lv));
        st.persistent_volume_name = Some(crate::names::cluster_object_name(lv));
        let phase = k8s::ensure_claim(ctx, lv, &fs).await?;
        let bound = phase.as_deref() == Some("Bound");
        status::set_condition(
            &mut st,
            CLAIM_BOUND,
            bound,
            if bound { "Bound" } else { "Pending" },
            &format!("PersistentVolumeClaim {} is {}", lv.claim_name(), phase.as_deref().unwrap_or("Pending")),
            generation,
        );
        st.claim_phase = Some(phase.unwrap_or_else(|| "Pending".into()));
        if bound {
            status::set_condition(
                &mut st,
                READY,
                true,
                "Bound",
                &format!("mount PersistentVolumeClaim {}", lv.claim_name()),
                generation,
            );
        } else {
            status::set_condition(&mut st, READY, false, "ClaimPending", "waiting for the claim to bind", generation);
        }
    } else {
        let reason = st.phase.map(|p| p.as_str()).unwrap_or("Pending");
        status::set_condition(
            &mut st,
            READY,
            false,
            reason,
            &format!("file system {} is {}", fs.id, fs.lifecycle),
            generation,
        );
    }
    let stable = usable && !fs.in_transition() && st.claim_phase.as_deref() == Some("Bound");
    let terminal = fs.lifecycle == "FAILED";
    finish(lv, ctx, api, st).await?;
    Ok(if terminal {
        Action::await_change()
    } else if stable {
        Action::requeue(ctx.timing.resync)
    } else {
        Action::requeue(ctx.timing.in_transition)
    })
}

/// An adopted file system already has its network: no security-group step.
fn adopted_groups(lv: &LustreVolume) -> Option<security_group::SecurityGroups> {
    lv.spec.file_system_id.as_ref().map(|_| security_group::SecurityGroups { ids: Vec::new(), managed: false })
}

/// Copies what FSx says into status; true when the file system can be mounted.
fn describe_file_system(st: &mut LustreVolumeStatus, fs: &FileSystemInfo, generation: Option<i64>) -> bool {
    st.file_system_id = Some(fs.id.clone());
    st.lifecycle = Some(fs.lifecycle.clone());
    st.dns_name = fs.dns_name.clone();
    st.mount_name = fs.mount_name.clone();
    st.capacity_gib = fs.capacity_gib;
    let mut phase = status::phase_for_lifecycle(&fs.lifecycle);
    if phase == Phase::Available && !fs.actions_in_progress.is_empty() {
        phase = Phase::Updating;
    }
    st.phase = Some(phase);
    let usable = matches!(fs.lifecycle.as_str(), "AVAILABLE" | "UPDATING");
    let (reason, message) = match fs.lifecycle.as_str() {
        "AVAILABLE" if fs.actions_in_progress.is_empty() => {
            ("Available".to_string(), format!("{} is AVAILABLE", fs.id))
        }
        "AVAILABLE" | "UPDATING" => {
            ("Updating".to_string(), format!("{} is being updated: {}", fs.id, fs.actions_in_progress.join(", ")))
        }
        "FAILED" => (
            "Failed".to_string(),
            format!("{} failed: {}", fs.id, fs.failure.clone().unwrap_or_else(|| "no details from FSx".into())),
        ),
        "MISCONFIGURED" => (
            "Misconfigured".to_string(),
            format!(
                "{} is MISCONFIGURED (recoverable): {}; check its security groups and KMS key",
                fs.id,
                fs.failure.clone().unwrap_or_default()
            ),
        ),
        other => (title_case(other), format!("{} is {other}", fs.id)),
    };
    status::set_condition(st, FILE_SYSTEM_READY, usable, &reason, &message, generation);
    usable
}

fn title_case(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut c = lower.chars();
    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_else(|| "Unknown".into())
}

/// Writes the status if it changed and emits an event when the phase moved.
async fn finish(lv: &LustreVolume, ctx: &Context, api: &Api<LustreVolume>, st: LustreVolumeStatus) -> Result<()> {
    let before = lv.status.as_ref().and_then(|s| s.phase);
    let after = st.phase;
    let ready_message = st.conditions.iter().find(|c| c.type_ == READY).map(|c| c.message.clone()).unwrap_or_default();
    if status::write_if_changed(api, lv, &st).await? && before != after {
        if let Some(phase) = after {
            let note = format!(
                "phase {} -> {}: {ready_message}",
                before.map(|p| p.as_str()).unwrap_or("none"),
                phase.as_str()
            );
            if matches!(phase, Phase::Failed | Phase::Lost) {
                ctx.events.warning(lv, phase.as_str(), &note).await;
            } else {
                ctx.events.normal(lv, phase.as_str(), &note).await;
            }
        }
    }
    Ok(())
}

async fn finish_quietly(lv: &LustreVolume, api: &Api<LustreVolume>, st: &LustreVolumeStatus) {
    if let Err(e) = status::write_if_changed(api, lv, st).await {
        tracing::warn!(error = %e, "could not write status");
    }
}

async fn cleanup(lv: &LustreVolume, ctx: &Context, api: &Api<LustreVolume>) -> Result<Action> {
    let mut st = lv.status.clone().unwrap_or_default();
    if st.phase != Some(Phase::Deleting) {
        st.phase = Some(Phase::Deleting);
        finish(lv, ctx, api, st.clone()).await?;
    }
    k8s::delete_claim(ctx, lv).await?;
    k8s::delete_storage_class_and_volume(ctx, lv).await?;
    file_system::delete(ctx, lv, st.file_system_id.as_deref()).await?;
    if lv.spec.effective_deletion_policy() == lustre_api::DeletionPolicy::Delete && lv.spec.file_system_id.is_none() {
        security_group::delete(ctx, lv, st.security_group_id.as_deref()).await?;
    }
    ctx.security_group_verified(crate::names::uid(lv), false);
    ctx.events
        .normal(lv, "Deleted", &format!("cleanup finished ({:?} policy)", lv.spec.effective_deletion_policy()))
        .await;
    Ok(Action::await_change())
}
