//! The LustreVolume controller: the reconcile driver, a thin pipeline over its step modules.
//!
//! Apply: validate -> observe the file system -> security group -> create the file system (its ID
//! written to status at once) -> grow -> StorageClass + PV -> claim -> data repository
//! associations; then [`status::compose`]
//! turns what was observed into the new status, written once if it changed. Cleanup (finalizer):
//! claim (gone once kube-controller-manager lets it go) -> PV + StorageClass -> running tasks done and, when asked, the export
//! to S3 succeeded -> file system (wait until gone) -> security group.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{finalizer, Event as FinalizerEvent};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::watcher;
use kube::runtime::WatchStreamExt;
use kube::ResourceExt;
use lustre_api::{tags, DeletionPolicy, LustreVolume, LustreVolumeStatus, Phase};

pub(crate) mod associations;
pub(crate) mod day_two;
pub(crate) mod file_system;
pub(crate) mod final_export;
pub(crate) mod kubernetes_objects;
pub mod orphans;
pub(crate) mod security_group;
pub(crate) mod status;

use self::file_system::{Doomed, Observed, Removal};
use self::kubernetes_objects as k8s;
use self::status::{Next, Observation, Step};
use crate::class_policy::{store_ready, Refusal};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::ownership::{self, FINALIZER};
use crate::process::cache_trim::trim;
use crate::process::limits;
use crate::process::tolerant_watch::volume_events;

/// What one controller's reconciliations share: the context and that controller's volume cache
/// (the namespace limits are measured from it).
pub(crate) struct Scope {
    ctx: Arc<Context>,
    volumes: Store<LustreVolume>,
    /// The claims, PVs and StorageClasses this controller made, from its watches.
    objects: k8s::ObjectCaches,
}

fn key(lv: &LustreVolume) -> String {
    format!("{}/{}", lv.namespace().unwrap_or_default(), lv.name_any())
}

fn api(ctx: &Context, lv: &LustreVolume) -> Api<LustreVolume> {
    Api::namespaced(ctx.client.clone(), &lv.namespace().unwrap_or_default())
}

/// The LustreVolume controller over all namespaces or one, and its volume cache (the
/// LustreDataTask controller of the same namespaces finds its volumes there). The future runs it
/// until shutdown; `ready` is set once its caches have synced.
pub fn controller(
    ctx: Arc<Context>,
    namespace: Option<String>,
    ready: Arc<AtomicBool>,
    sweep: orphans::Sweep,
) -> (impl std::future::Future<Output = ()> + Send + 'static, Store<LustreVolume>) {
    let Watches { reader, volumes, claims, pvs, storage_classes, objects } = watches(&ctx, namespace.as_deref());
    let controller = Controller::for_stream(volumes, reader)
        .owns_stream(claims)
        .watches_stream(pvs, owner_of)
        .watches_stream(storage_classes, owner_of)
        .reconcile_on(ctx.poller.subscribe())
        .reconcile_on(ctx.quota.subscribe(namespace.as_deref()))
        .reconcile_all_on(ctx.classes.changes())
        .with_config(kube::runtime::controller::Config::default().concurrency(limits::CONCURRENT_PASSES))
        .shutdown_on_signal();
    let store = controller.store();
    tokio::spawn(orphans::run(ctx.clone(), sweep, namespace.clone(), store.clone(), objects.clone()));
    let scope = Arc::new(Scope { ctx: ctx.clone(), volumes: store.clone(), objects });
    if namespace.is_none() {
        tokio::spawn(crate::class_policy::report_usage(ctx.client.clone(), ctx.classes.clone(), store.clone()));
    }
    tokio::spawn(announce_ready(ctx.classes.clone(), store.clone(), ready));
    let run = controller.run(reconcile, error_policy, scope).for_each(|res| async move {
        match res {
            Ok((obj, _)) => tracing::debug!(object = %obj, "reconciled"),
            Err(e) => tracing::debug!(error = %e, "reconcile failed"),
        }
    });
    (run, store)
}

/// One watch's stream of changed objects.
type Changes<K> = futures::stream::BoxStream<'static, std::result::Result<K, kube::runtime::watcher::Error>>;

/// The watch streams the controller is driven by, and the caches of the objects it made.
struct Watches {
    reader: Store<LustreVolume>,
    volumes: Changes<LustreVolume>,
    claims: Changes<PersistentVolumeClaim>,
    pvs: Changes<PersistentVolume>,
    storage_classes: Changes<StorageClass>,
    objects: k8s::ObjectCaches,
}

/// The LustreVolume watch (gated until every other cache has its first list) and the watches of
/// the claims, PVs and StorageClasses the operator labelled, each into its cache.
fn watches(ctx: &Context, namespace: Option<&str>) -> Watches {
    let mut selector = format!("{}={}", tags::MANAGED_BY, tags::MANAGED_BY_VALUE);
    if let Some(ns) = namespace {
        selector.push_str(&format!(",{}={ns}", tags::LABEL_OWNER_NAMESPACE));
    }
    let labelled = crate::process::cache_trim::watch_config().labels(&selector);
    let claims: Api<PersistentVolumeClaim> = match namespace {
        Some(ns) => Api::namespaced(ctx.client.clone(), ns),
        None => Api::all(ctx.client.clone()),
    };
    let (reader, writer) = reflector::store();
    let volumes = reflector::reflector(writer, volume_events(ctx.client.clone(), namespace, ctx.events.clone()));
    let (claims_cache, claims_writer) = reflector::store();
    let (volumes_cache, volumes_writer) = reflector::store();
    let (classes_cache, classes_writer) = reflector::store();
    let claim_events =
        reflector::reflector(claims_writer, watcher(claims, labelled.clone()).modify(trim)).default_backoff();
    let pv_events = reflector::reflector(
        volumes_writer,
        watcher(Api::<PersistentVolume>::all(ctx.client.clone()), labelled.clone()).modify(trim),
    )
    .default_backoff();
    let sc_events = reflector::reflector(
        classes_writer,
        watcher(Api::<StorageClass>::all(ctx.client.clone()), labelled).modify(trim),
    )
    .default_backoff();
    // No volume is looked at before the classes, namespaces, claims, PVs and StorageClasses have
    // their first lists (the controller polls the watches of the last three meanwhile): a volume
    // judged against an empty class cache would be written ClassNotFound and then Ready again,
    // two writes and a false alarm per volume at every restart.
    let gate = (ctx.classes.clone(), claims_cache.clone(), volumes_cache.clone(), classes_cache.clone());
    let volumes = futures::stream::once(async move {
        let (policy, claims, pvs, storage_classes) = gate;
        let _synced = policy.wait_until_ready().await
            && store_ready(&claims).await
            && store_ready(&pvs).await
            && store_ready(&storage_classes).await;
        volumes.touched_objects()
    })
    .flatten();
    Watches {
        reader,
        volumes: volumes.boxed(),
        claims: claim_events.touched_objects().boxed(),
        pvs: pv_events.touched_objects().boxed(),
        storage_classes: sc_events.touched_objects().boxed(),
        objects: k8s::ObjectCaches::new(claims_cache, volumes_cache, classes_cache),
    }
}

/// Sets `ready` once the class cache and the controller's volume cache have synced.
async fn announce_ready(classes: crate::class_policy::ClassCache, store: Store<LustreVolume>, ready: Arc<AtomicBool>) {
    if !classes.wait_until_ready().await {
        return;
    }
    // The store's readiness signal wakes only one waiter (the controller's own runner), so poll it
    // again now and then instead of waiting once.
    loop {
        match tokio::time::timeout(Duration::from_millis(200), store.wait_until_ready()).await {
            Ok(Ok(())) => {
                ready.store(true, Ordering::SeqCst);
                tracing::info!("caches synced; ready");
                return;
            }
            Ok(Err(_)) => return,
            Err(_) => {}
        }
    }
}

/// Maps a labelled PV or StorageClass back to its LustreVolume.
fn owner_of<K: kube::Resource>(obj: K) -> Option<ObjectRef<LustreVolume>> {
    let labels = obj.meta().labels.as_ref()?;
    let ns = labels.get(tags::LABEL_OWNER_NAMESPACE)?;
    let name = labels.get(tags::LABEL_OWNER_NAME)?;
    Some(ObjectRef::new(name).within(ns))
}

/// One pass (at most [`limits::CONCURRENT_PASSES`] at once: the controller's concurrency).
async fn reconcile(lv: Arc<LustreVolume>, scope: Arc<Scope>) -> Result<Action> {
    Box::pin(pass(lv, scope)).await
}

async fn pass(lv: Arc<LustreVolume>, scope: Arc<Scope>) -> Result<Action> {
    let start = Instant::now();
    let ctx = &scope.ctx;
    let api = api(ctx, &lv);
    let result = finalizer(&api, FINALIZER, lv.clone(), |event| async {
        match event {
            FinalizerEvent::Apply(lv) => Box::pin(apply(&lv, &scope)).await,
            FinalizerEvent::Cleanup(lv) => Box::pin(cleanup(&ctx.classes.for_cleanup(&lv), &scope)).await,
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
        Err(e) => ctx.metrics.failed(e.category()),
    }
    result
}

fn error_policy(lv: Arc<LustreVolume>, error: &Error, scope: Arc<Scope>) -> Action {
    let ctx = &scope.ctx;
    let k = key(&lv);
    tracing::warn!(object = %k, category = error.category(), error = %error, "reconcile failed");
    let delay = match error {
        Error::Waiting(_) => ctx.next_backoff(&k, Duration::from_millis(500), Duration::from_secs(10)),
        // The claim's removal wakes the volume; this is the safety net.
        Error::ClaimGoing(_) => Duration::from_secs(1),
        // Likewise; the passes in between only refresh which pods hold it.
        Error::ClaimHeld(_) => ctx.next_backoff(&k, Duration::from_secs(5), Duration::from_secs(60)),
        // The poller wakes the volume when FSx has removed it; each pass would ask FSx afresh.
        Error::Exporting(_) | Error::FileSystemDeleting(_) => ctx.timing.in_transition,
        // Only a person can fix it (an annotation or a spec edit wakes the volume up).
        Error::ExportFailed(_) => return Action::requeue(ctx.timing.resync),
        Error::Network(_) => ctx.next_backoff(&k, Duration::from_secs(1), Duration::from_secs(60)),
        Error::Aws(e) if e.is_retryable() => ctx.next_backoff(&k, Duration::from_secs(1), Duration::from_secs(60)),
        // Only a person can fix it: no retry storm, a look at each resync.
        Error::AwsRefused(_) => return Action::requeue(ctx.timing.resync),
        // The restore-from annotation decides; setting it wakes the volume.
        Error::PreviousFileSystem(_) => return Action::requeue(ctx.timing.resync),
        // FSx refused an update for a rule not modelled: not before the resync.
        Error::UpdateRefused(_) => return Action::requeue(ctx.timing.resync),
        Error::Conflict(_) | Error::AdoptionRefused(_) => {
            ctx.next_backoff(&k, Duration::from_secs(30), Duration::from_secs(600))
        }
        _ => ctx.next_backoff(&k, Duration::from_millis(500), Duration::from_secs(300)),
    };
    Action::requeue(delay)
}

/// The volume as its class makes it, checked, and within its namespace's limits (reserved in
/// the quota ledger, last: only a volume that may go ahead holds a reservation); or why it may
/// not go ahead. No AWS call.
fn admit(lv: &LustreVolume, scope: &Scope) -> std::result::Result<LustreVolume, Refusal> {
    let ctx = &scope.ctx;
    let invalid = |reason, e: lustre_api::InvalidSpec| Refusal {
        reason,
        message: format!("{e}; edit the LustreVolume to fix it"),
    };
    let checked = lustre_api::validate(&lv.spec).map_err(|e| invalid("InvalidSpec", e)).and_then(|()| {
        let (effective, class) = ctx.classes.effective(lv)?;
        lustre_api::validate_network(&effective.spec.network).map_err(|e| Refusal {
            reason: "ClassRejected",
            message: format!("the LustreClass's network is invalid: {e}; ask the platform team to fix the class"),
        })?;
        lustre_api::validate(&effective.spec).map_err(|e| invalid("ClassRejected", e))?;
        Ok((effective, class))
    });
    match checked {
        Ok((effective, class)) => {
            ctx.classes.reserve(lv, &class, &scope.volumes, &ctx.quota)?;
            Ok(effective)
        }
        Err(refusal) => {
            ctx.quota.refused_otherwise(lv);
            Err(refusal)
        }
    }
}

/// admit -> observe -> act -> compose -> one status write.
async fn apply(lv: &LustreVolume, scope: &Scope) -> Result<Action> {
    let ctx = &scope.ctx;
    let api = api(ctx, lv);
    // What the apiserver holds; moves forward with the early write of a new file system's ID.
    let mut written = lv.status.clone().unwrap_or_default();
    let mut obs = Observation::default();
    match admit(lv, scope) {
        Err(refusal) => obs.refusal = Some(refusal),
        Ok(effective) => {
            if let Err(failure) =
                Box::pin(act(&effective, lv.spec.deletion_policy, scope, &api, &mut written, &mut obs)).await
            {
                obs.failure = Some(failure);
            }
        }
    }
    match &obs.file_system {
        Observed::Present(fs) => follow(ctx, lv, Some(&fs.id)),
        Observed::Lost(_) => follow(ctx, lv, None),
        Observed::Absent => {}
    }
    if obs.claim_new && obs.claim == Some(k8s::ClaimPhase::Pending) && obs.failure.is_none() {
        // The binder binds a new claim within moments, and the binding wakes this volume: that
        // pass writes the status once, straight to Ready, instead of a write now and one then.
        // Should the binding not come, the pass after the claim's first seconds writes it.
        return Ok(Action::requeue(k8s::NEW_CLAIM));
    }
    let new = status::compose(lv, &written, &obs, Timestamp::now());
    Box::pin(publish(lv, ctx, &api, &written, &new, obs.failure.as_ref().map(|(_, e)| e))).await?;
    if let Some((_, e)) = obs.failure {
        return Err(e);
    }
    let next = status::next(&obs);
    // A change waiting for one of FSx's windows: looked at again every little while (FSx's
    // clock, which decides, comes with its answers); each look costs one DescribeFileSystems.
    if let (Some(opens), Observed::Present(fs)) =
        (obs.day_two.as_ref().and_then(|p| p.next_allowed_at_ms), &obs.file_system)
    {
        let until = u64::try_from(opens.saturating_sub(ctx.aws.clock.now_ms())).unwrap_or(0);
        ctx.poller.refresh(&fs.id);
        return Ok(Action::requeue(Duration::from_millis(until).min(ctx.timing.in_transition)));
    }
    tracing::debug!(
        volume = %lv.name_any(),
        ?next,
        claim = ?obs.claim,
        associations_settled = ?obs.associations.as_ref().map(|a| a.settled),
        "pass done"
    );
    Ok(match next {
        Next::AwaitChange => Action::await_change(),
        Next::Resync => Action::requeue(ctx.timing.resync),
        Next::Soon => Action::requeue(ctx.timing.in_transition),
    })
}

/// The steps of one pass, recording what they see in `obs`. Stops at the first failure.
/// `explicit_policy`: the deletion policy the volume's own spec sets (`lv` has its class's
/// default filled in).
///
/// Each step's future is boxed, here and in `reconcile`, `apply` and `remove_everything`: a pass
/// waiting in one step then holds that step's state only, not room for the largest of all steps.
/// Unboxed, each reconcile's future was 26 KB (25,952 bytes, `size_of_val` in a release build),
/// and 1000 volumes reconciling at once held 26 MiB in them (heaptrack); boxed, it is 3.3 KB plus
/// the step under way (at most about 5 KB).
async fn act(
    lv: &LustreVolume,
    explicit_policy: Option<DeletionPolicy>,
    scope: &Scope,
    api: &Api<LustreVolume>,
    written: &mut LustreVolumeStatus,
    obs: &mut Observation,
) -> std::result::Result<(), (Step, Error)> {
    let ctx = &scope.ctx;
    let at = |step: Step| move |e: Error| (step, e);
    let volumes = scope.volumes.clone();
    let alive = move |uid: &str| volumes.state().iter().any(|v| v.uid().as_deref() == Some(uid));
    let found = Box::pin(file_system::find(ctx, lv, written.file_system_id.as_deref(), &alive))
        .await
        .map_err(at(Step::FileSystem))?;
    if let (Observed::Present(fs), Some(_)) = (&found, &lv.spec.file_system_id) {
        // Nothing of a file system this volume may not adopt is shown or followed.
        let class = ctx.classes.class_of(lv).ok();
        let owner = fs.tags.get(tags::OWNER_UID);
        let volumes = scope.volumes.state();
        let owner_alive = owner.is_some_and(|uid| volumes.iter().any(|v| v.uid().as_ref() == Some(uid)));
        let adopted_by = first_adopter(&volumes, lv, &fs.id);
        let adoption = class.as_ref().and_then(|c| c.spec.adoption.as_ref());
        file_system::check_adoptable(fs, lv, adoption, owner_alive, adopted_by.as_deref())
            .map_err(at(Step::FileSystem))?;
    }
    obs.file_system = found;
    if matches!(obs.file_system, Observed::Lost(_)) {
        return Ok(());
    }
    let exists = matches!(obs.file_system, Observed::Present(_));
    // Whether the group in status is the one the operator manages (else the class's given one).
    let known_managed = written
        .conditions
        .iter()
        .any(|c| c.type_ == lustre_api::conditions::SECURITY_GROUP_READY && c.reason == "Managed");
    let known = written.security_group_id.as_deref().map(|id| (id, known_managed));
    let groups = Box::pin(security_group::settle(ctx, lv, known, exists)).await.map_err(at(Step::SecurityGroup))?;
    obs.security_groups = Some(groups.clone());
    if !exists {
        let fs = Box::pin(file_system::create(ctx, lv, &groups.ids)).await.map_err(at(Step::FileSystem))?;
        follow_created(ctx, lv, &fs);
        obs.file_system = Observed::Present(fs);
        // Crash safety: the new ID is in status before anything else can fail. What this pass
        // saw so far is written with it, so the pass's final write is usually not needed.
        let early = status::compose(lv, written, obs, Timestamp::now());
        Box::pin(status::write_if_changed(api, &lv.name_any(), written, &early)).await.map_err(at(Step::FileSystem))?;
        *written = early;
    }
    let Observed::Present(fs) = &obs.file_system else { return Ok(()) };
    obs.day_two = Some(Box::pin(day_two::apply(ctx, lv, fs)).await.map_err(at(Step::FileSystem))?);
    Box::pin(file_system::keep_policy_recorded(ctx, lv, explicit_policy, fs)).await.map_err(at(Step::FileSystem))?;
    if fs.lifecycle.is_mountable() {
        // Class, claim, PV: the claim's class exists when the binder first looks at the claim,
        // and the PV, created last, names the claim's UID so that only this claim can bind it.
        Box::pin(k8s::apply_storage_class(ctx, &scope.objects, lv)).await.map_err(at(Step::KubernetesObjects))?;
        let claim =
            Box::pin(k8s::ensure_claim(ctx, &scope.objects, lv, fs)).await.map_err(at(Step::KubernetesObjects))?;
        Box::pin(k8s::apply_persistent_volume(ctx, &scope.objects, lv, fs, &claim))
            .await
            .map_err(at(Step::KubernetesObjects))?;
        obs.claim = Some(claim.phase);
        obs.claim_new = claim.new;
    }
    obs.associations =
        Box::pin(associations::settle(ctx, lv, fs, &written.associations)).await.map_err(at(Step::Associations))?;
    Ok(())
}

/// Another live volume that adopts `fs_id` and came first, as namespace/name: at most one live
/// volume adopts a file system. First: the one already following it (its ID in status), then
/// the one created earlier (whole seconds; the UID breaks ties).
fn first_adopter(volumes: &[Arc<LustreVolume>], lv: &LustreVolume, fs_id: &str) -> Option<String> {
    let following = |v: &LustreVolume| v.status.as_ref().and_then(|s| s.file_system_id.as_deref()) == Some(fs_id);
    let order = |v: &LustreVolume| (!following(v), v.metadata.creation_timestamp.clone().map(|t| t.0), v.uid());
    volumes
        .iter()
        .filter(|v| v.uid() != lv.uid() && v.metadata.deletion_timestamp.is_none())
        .filter(|v| v.spec.file_system_id.as_deref() == Some(fs_id))
        .filter(|v| order(v) < order(lv))
        .min_by_key(|v| order(v))
        .map(|v| key(v))
}

/// With [`follow_created`], the one place that tells the poller which file system a volume
/// follows (None: stop).
fn follow(ctx: &Context, lv: &LustreVolume, fs_id: Option<&str>) {
    ctx.poller.follow(&ObjectRef::from(lv), fs_id);
}

/// Follows a file system this pass created: CreateFileSystem's answer counts as its first look.
fn follow_created(ctx: &Context, lv: &LustreVolume, fs: &crate::aws::FileSystem) {
    ctx.poller.created(&ObjectRef::from(lv), fs);
}

/// Writes the status if it changed, with an event when the phase moved or a new error appeared.
async fn publish(
    lv: &LustreVolume,
    ctx: &Context,
    api: &Api<LustreVolume>,
    old: &LustreVolumeStatus,
    new: &LustreVolumeStatus,
    failure: Option<&Error>,
) -> Result<()> {
    if !status::write_if_changed(api, &lv.name_any(), old, new).await? {
        return Ok(());
    }
    // Pending and Creating need no event of their own: the status says them, with the new file
    // system's ID, and a new volume's one event until Ready is the phase event to Available. (Its
    // requests until Ready: 3 creates, the finalizer, 2 status writes, and
    // that event.)
    let phase_event = old.phase != new.phase && !matches!(new.phase, Some(Phase::Pending | Phase::Creating));
    if phase_event {
        if let Some(phase) = new.phase {
            let ready = status::ready(new).map(|(_, message)| message).unwrap_or_default();
            let before = old.phase.map(|p| p.as_str()).unwrap_or("none");
            let mut note = format!("phase {before} -> {}: {ready}", phase.as_str());
            if let Some(id) = new.file_system_id.as_ref().filter(|id| !ready.contains(id.as_str())) {
                note.push_str(&format!(" (file system {id})"));
            }
            if matches!(phase, Phase::Failed | Phase::Lost) {
                ctx.events.warning(lv, phase.as_str(), &note).await;
            } else {
                ctx.events.normal(lv, phase.as_str(), &note).await;
            }
        }
    }
    if let Some(e) = failure {
        // Into Deleting, the phase event says it: its note is the Ready message ("waiting for
        // file system fs-... to be deleted", or the pods that still use the claim).
        let said = phase_event && new.phase == Some(Phase::Deleting);
        if status::ready(old) != status::ready(new) && !said {
            match e {
                Error::FileSystemDeleting(_) => ctx.events.normal(lv, "FileSystemDeleting", &e.to_string()).await,
                Error::Waiting(_) | Error::ClaimHeld(_) => ctx.events.normal(lv, e.reason(), &e.to_string()).await,
                _ => ctx.events.warning(lv, e.reason(), &e.to_string()).await,
            }
        }
    }
    Ok(())
}

async fn cleanup(lv: &LustreVolume, scope: &Scope) -> Result<Action> {
    let ctx = &scope.ctx;
    let previous = lv.status.clone().unwrap_or_default();
    match Box::pin(remove_everything(lv, scope, &previous)).await {
        Ok((removal, group)) => {
            let mut note = match removal {
                Removal::Retained(id) => {
                    format!("cleanup finished; file system {id} retained (its recorded Retain policy)")
                }
                Removal::Kept => "cleanup finished; the file system was not this volume's to delete".to_string(),
                Removal::Gone | Removal::Deleting(_) => "cleanup finished (Delete policy)".to_string(),
            };
            if let Some(id) = group {
                note.push_str(&format!("; deleted security group {id}"));
            }
            ctx.events.normal(lv, "Deleted", &note).await;
            Ok(Action::await_change())
        }
        // Moments after the claim's deletion: its removal wakes the volume, nothing to report yet.
        Err(e @ Error::ClaimGoing(_)) => Err(e),
        Err(e) => {
            let new = status::deleting(lv, &previous, &e, Timestamp::now());
            if let Err(write) = Box::pin(publish(lv, ctx, &api(ctx, lv), &previous, &new, Some(&e))).await {
                tracing::warn!(error = %write, "could not write the deletion status");
            }
            Err(e)
        }
    }
}

/// Removes what the volume made, in order. Ok once done, with what became of the file system and
/// the security group's ID if this pass deleted it.
async fn remove_everything(
    lv: &LustreVolume,
    scope: &Scope,
    st: &LustreVolumeStatus,
) -> Result<(Removal, Option<String>)> {
    let ctx = &scope.ctx;
    let objects = &scope.objects;
    Box::pin(k8s::delete_claim(ctx, objects, lv)).await?;
    Box::pin(k8s::delete_storage_class_and_volume(ctx, objects, lv)).await?;
    let removal = match Box::pin(file_system::doomed(ctx, lv, st.file_system_id.as_deref())).await? {
        Doomed::Removed(removal) => removal,
        Doomed::Live(fs) => {
            follow(ctx, lv, Some(&fs.id));
            Box::pin(final_export::before_delete(ctx, lv, &fs)).await?;
            Box::pin(file_system::delete(ctx, lv, &fs)).await?
        }
    };
    match &removal {
        Removal::Deleting(id) => {
            follow(ctx, lv, Some(id));
            return Err(Error::FileSystemDeleting(format!("waiting for file system {id} to be deleted")));
        }
        Removal::Gone | Removal::Kept | Removal::Retained(_) => follow(ctx, lv, None),
    }
    let mut group = None;
    // A retained file system keeps its group (it is still in use); an adopted one never had ours.
    if !matches!(removal, Removal::Retained(_)) && lv.spec.file_system_id.is_none() {
        // The group in status only when it is the managed one; else found by the owner tag.
        let managed = st
            .conditions
            .iter()
            .any(|c| c.type_ == lustre_api::conditions::SECURITY_GROUP_READY && c.reason == "Managed");
        let known = st.security_group_id.as_deref().filter(|_| managed);
        group = Box::pin(security_group::delete(ctx, lv, known)).await?;
    }
    ctx.forget(ownership::uid(lv));
    // Its namespace's quota frees: the volumes it refused are judged again at once.
    ctx.quota.release(lv);
    Ok((removal, group))
}
