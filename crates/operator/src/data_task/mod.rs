//! The LustreDataTask controller: one FSx data repository task per object, started at most once,
//! followed until it ends and reported like a Job.
//!
//! Apply: [`admission`] (valid spec, the volume of the task's own namespace from the volume
//! controller's cache, S3 paths under the class's prefixes, volume ready; then the file system
//! the volume's status names, as the poller has it described, must carry the volume's owner and
//! managed-by tags or be the one it adopted) -> [`fsx_task::start`] (adopt the task carrying this
//! object's UID tag, else create it with a token derived from the UID; its ID written to status
//! at once) -> follow it by ID, only while FSx shows it tagged with this object's UID ->
//! [`status::compose`], written only when it changed. A finished task makes no AWS call; with
//! `ttlSecondsAfterFinished` it is deleted that long after it ended. Cleanup (finalizer): a task
//! still running, looked up by ID and tagged with this object's UID, is cancelled once, then the
//! finalizer goes (FSx finishes the cancellation on its own).
//!
//! Statuses say where to look, never what may be done: whoever can write a status (a tenant
//! role over `*/status`, a restore tool) must not be able to point a task at another tenant's
//! file system or have another tenant's task cancelled. A mismatch fails the task with reason
//! `NotOwned` and makes no create or cancel call.

mod admission;
mod fsx_task;
mod status;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{finalizer, Event as FinalizerEvent};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::ResourceExt;
use lustre_api::{DataTaskPhase, LustreDataTask, LustreDataTaskStatus, LustreVolume};

use self::admission::Blocked;
use self::fsx_task::Started;
use self::status::Seen;
use crate::aws::TaskLifecycle;
use crate::class_policy::store_ready;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::ownership;

/// The finalizer that cancels a running FSx task when its LustreDataTask is deleted.
pub(crate) const FINALIZER: &str = "lustre.fsx.dev/data-task";

/// What the task reconciliations share: the context and the volume controller's cache (a task's
/// volume is read from it, never fetched).
struct Scope {
    ctx: Arc<Context>,
    volumes: Store<LustreVolume>,
}

/// Runs the LustreDataTask controller over `namespace` (None: all) until shutdown; `volumes` is
/// the cache of the volume controller watching the same namespaces.
pub async fn run(ctx: Arc<Context>, namespace: Option<String>, volumes: Store<LustreVolume>) {
    let api: Api<LustreDataTask> = match &namespace {
        Some(ns) => Api::namespaced(ctx.client.clone(), ns),
        None => Api::all(ctx.client.clone()),
    };
    // A task looks its volume up in the cache: wait for the first list of volumes and classes,
    // so no task is told its volume is missing while the operator starts.
    if !synced(&ctx, &volumes).await {
        return;
    }
    let scope = Arc::new(Scope { ctx, volumes });
    Controller::new(api, crate::process::cache_trim::watch_config())
        .shutdown_on_signal()
        .run(reconcile, error_policy, scope)
        .for_each(|res| async move {
            match res {
                Ok((obj, _)) => tracing::debug!(object = %obj, "data task reconciled"),
                Err(e) => tracing::debug!(error = %e, "data task reconcile failed"),
            }
        })
        .await;
}

/// Waits until the volume and class caches have their first list (false: they stopped).
async fn synced(ctx: &Context, volumes: &Store<LustreVolume>) -> bool {
    ctx.classes.wait_until_ready().await && store_ready(volumes).await
}

fn api(ctx: &Context, task: &LustreDataTask) -> Api<LustreDataTask> {
    Api::namespaced(ctx.client.clone(), &task.namespace().unwrap_or_default())
}

/// The backoff key (apart from the volumes' keys).
fn key(task: &LustreDataTask) -> String {
    format!("task/{}/{}", task.namespace().unwrap_or_default(), task.name_any())
}

/// The task's volume: `spec.volumeName` in the task's own namespace, never another.
fn volume_of(task: &LustreDataTask, volumes: &Store<LustreVolume>) -> Option<Arc<LustreVolume>> {
    volumes.get(&ObjectRef::new(&task.spec.volume_name).within(&task.namespace().unwrap_or_default()))
}

async fn reconcile(task: Arc<LustreDataTask>, scope: Arc<Scope>) -> Result<Action> {
    let start = Instant::now();
    let ctx = &scope.ctx;
    let result = finalizer(&api(ctx, &task), FINALIZER, task.clone(), |event| async {
        match event {
            FinalizerEvent::Apply(task) => apply(&task, &scope).await,
            FinalizerEvent::Cleanup(task) => cleanup(&task, &scope).await,
        }
    })
    .await
    .map_err(Error::from);
    ctx.metrics.reconciled(start.elapsed());
    if let Err(e) = &result {
        ctx.metrics.failed(e.category());
    }
    result
}

fn error_policy(task: Arc<LustreDataTask>, error: &Error, scope: Arc<Scope>) -> Action {
    let ctx = &scope.ctx;
    let k = key(&task);
    tracing::warn!(object = %k, category = error.category(), error = %error, "data task reconcile failed");
    let delay = match error {
        Error::Aws(e) if e.is_retryable() => ctx.next_backoff(&k, Duration::from_secs(1), Duration::from_secs(60)),
        // Only a person can fix these (permissions, quota, a conflicting tag): no retry storm.
        Error::AwsRefused(_) | Error::Conflict(_) => {
            ctx.next_backoff(&k, Duration::from_secs(30), Duration::from_secs(600))
        }
        _ => ctx.next_backoff(&k, Duration::from_millis(500), Duration::from_secs(300)),
    };
    Action::requeue(delay)
}

/// Finished: expire. Otherwise observe (and start) -> compose -> one status write.
async fn apply(task: &LustreDataTask, scope: &Scope) -> Result<Action> {
    let ctx = &scope.ctx;
    let api = api(ctx, task);
    let before = task.status.clone().unwrap_or_default();
    if before.phase.is_some_and(DataTaskPhase::is_finished) {
        return expire(task, &api, &before).await;
    }
    // What the apiserver holds; moves forward with the early write of a new task's ID.
    let mut written = before.clone();
    let seen = match observe(task, scope, &api, &mut written).await {
        Ok(seen) => seen,
        Err(e) => {
            // Before the task exists, what a person must fix is shown on the object.
            if written.task_id.is_none() && matches!(e, Error::AwsRefused(_) | Error::Conflict(_)) {
                let failed = Seen::StartFailed { reason: e.reason(), message: e.to_string() };
                let new = status::compose(&written, &failed, Timestamp::now());
                publish(task, ctx, &api, &before, &written, &new).await?;
            }
            return Err(e);
        }
    };
    let new = status::compose(&written, &seen, Timestamp::now());
    publish(task, ctx, &api, &before, &written, &new).await?;
    Ok(next(task, ctx, &seen, &new))
}

/// The FSx task in status, else (once the task may start) the one started now or earlier.
async fn observe(
    task: &LustreDataTask,
    scope: &Scope,
    api: &Api<LustreDataTask>,
    written: &mut LustreDataTaskStatus,
) -> Result<Seen> {
    let ctx = &scope.ctx;
    if let Some(id) = written.task_id.clone() {
        // The same call as before; only what it answers decides whether the task is ours.
        return Ok(match ctx.aws.task(&id).await? {
            Some(fsx) => match status::not_owned(&fsx, ownership::uid_of(task)) {
                None => Seen::Task(Box::new(fsx)),
                Some(why) => {
                    ctx.events.warning(task, admission::NOT_OWNED, &why).await;
                    Seen::NotOwned(why)
                }
            },
            None => Seen::Lost(id),
        });
    }
    let volume = volume_of(task, &scope.volumes);
    let (lv, file_system_id) = match admission::admit(task, volume.as_deref(), |lv| ctx.classes.class_of(lv)) {
        Ok(admitted) => admitted,
        Err(blocked) => return Ok(Seen::Blocked(blocked)),
    };
    if let Err(blocked) = check_target(scope, lv, &file_system_id).await? {
        return Ok(Seen::Blocked(blocked));
    }
    let fsx = match fsx_task::start(ctx, task, &file_system_id).await? {
        Started::Busy(message) => return Ok(Seen::Busy { file_system_id, message }),
        Started::Adopted(fsx) => fsx,
        Started::Created(fsx) => {
            let note = format!("started FSx task {} ({}) on {file_system_id}", fsx.id, fsx.task_type);
            ctx.events.normal(task, "Started", &note).await;
            fsx
        }
    };
    // Crash safety: the task ID is in status before anything else can fail.
    let early = status::started(written, &fsx, Timestamp::now());
    crate::status_write::write_if_changed(api, &task.name_any(), written, &early).await?;
    *written = early;
    Ok(Seen::Task(Box::new(fsx)))
}

/// Whether the task may start on `file_system_id`, the file system `lv`'s status names: decided
/// by the file system as FSx describes it ([`admission::check_target`]). The poller has it
/// described already when the volume controller follows it, as it does a ready volume's, so
/// this costs no AWS call; an ID it never saw joins the next tick's batched describe.
async fn check_target(
    scope: &Scope,
    lv: &LustreVolume,
    file_system_id: &str,
) -> Result<std::result::Result<(), Blocked>> {
    let ctx = &scope.ctx;
    let fs = ctx.poller.observe(file_system_id).await?;
    let adopted = lv.spec.file_system_id.is_some();
    let class = if adopted { ctx.classes.class_of(lv).ok() } else { None };
    let owner = fs.as_ref().and_then(|f| f.tags.get(lustre_api::tags::OWNER_UID));
    let owner_alive =
        adopted && owner.is_some_and(|uid| scope.volumes.state().iter().any(|v| v.uid().as_ref() == Some(uid)));
    let adoption = class.as_ref().and_then(|c| c.spec.adoption.as_ref());
    Ok(admission::check_target(lv, file_system_id, fs.as_ref(), adoption, owner_alive))
}

/// When to look again after a pass that saw `seen` (and composed `st`).
fn next(task: &LustreDataTask, ctx: &Context, seen: &Seen, st: &LustreDataTaskStatus) -> Action {
    let k = key(task);
    if let Seen::Busy { .. } = seen {
        // FSx runs one task at a time: wait for the other one, a little longer each time.
        return Action::requeue(ctx.next_backoff(&k, Duration::from_secs(5), Duration::from_secs(60)));
    }
    ctx.reset_backoff(&k);
    if st.phase.is_some_and(DataTaskPhase::is_finished) {
        return status::ttl_left(task, st, Timestamp::now()).map_or_else(Action::await_change, Action::requeue);
    }
    match seen {
        Seen::Blocked(Blocked::Waiting { retry, .. }) => Action::requeue(*retry),
        _ => Action::requeue(ctx.timing.task_poll),
    }
}

/// A finished task: no AWS call; deleted once its TTL after completion has passed.
async fn expire(task: &LustreDataTask, api: &Api<LustreDataTask>, st: &LustreDataTaskStatus) -> Result<Action> {
    match status::ttl_left(task, st, Timestamp::now()) {
        None => Ok(Action::await_change()),
        Some(left) if !left.is_zero() => Ok(Action::requeue(left)),
        Some(_) => {
            // Only this very object (a new one of the same name is not expired).
            let params = DeleteParams {
                preconditions: Some(Preconditions { uid: task.uid(), resource_version: None }),
                ..DeleteParams::default()
            };
            match api.delete(&task.name_any(), &params).await {
                Ok(_) => {
                    tracing::info!(object = %key(task), "deleted: ttlSecondsAfterFinished passed");
                    Ok(Action::await_change())
                }
                Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(Action::await_change()),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Writes the status if it changed, with an event when the phase moved during this pass.
async fn publish(
    task: &LustreDataTask,
    ctx: &Context,
    api: &Api<LustreDataTask>,
    before: &LustreDataTaskStatus,
    written: &LustreDataTaskStatus,
    new: &LustreDataTaskStatus,
) -> Result<()> {
    crate::status_write::write_if_changed(api, &task.name_any(), written, new).await?;
    let Some(phase) = new.phase.filter(|p| before.phase != Some(*p)) else {
        return Ok(());
    };
    let from = before.phase.map(DataTaskPhase::as_str).unwrap_or("none");
    let note = format!("phase {from} -> {}: {}", phase.as_str(), new.message.as_deref().unwrap_or_default());
    let reason = new.reason.as_deref().unwrap_or(phase.as_str());
    if phase == DataTaskPhase::Failed {
        ctx.events.warning(task, reason, &note).await;
    } else {
        ctx.events.normal(task, reason, &note).await;
    }
    Ok(())
}

/// The finalizer's cleanup: cancel a task of this object's that still runs (once), then let the
/// object go. What status says can only spare a call (finished, not running), never authorise
/// one: the task it names is looked up and cancelled only when FSx shows it tagged with this
/// object's UID.
async fn cleanup(task: &LustreDataTask, scope: &Scope) -> Result<Action> {
    let ctx = &scope.ctx;
    let st = task.status.clone().unwrap_or_default();
    if st.phase.is_some_and(DataTaskPhase::is_finished) {
        return Ok(Action::await_change());
    }
    let running = match &st.task_id {
        Some(_) if st.lifecycle.as_deref().is_some_and(|l| !status::is_cancellable(&TaskLifecycle::from_fsx(l))) => {
            None
        }
        Some(id) => match ctx.aws.task(id).await? {
            None => None,
            Some(fsx) => match status::not_owned(&fsx, ownership::uid_of(task)) {
                None => status::is_cancellable(&fsx.lifecycle).then_some(fsx.id),
                Some(why) => {
                    ctx.events.warning(task, admission::NOT_OWNED, &why).await;
                    // This object's own task, if one runs, is still found by its tag.
                    unrecorded(task, scope).await?
                }
            },
        },
        None => unrecorded(task, scope).await?,
    };
    if let Some(id) = running {
        fsx_task::cancel(ctx, &id).await?;
        ctx.events.normal(task, "Canceled", &format!("canceled FSx task {id}: the LustreDataTask was deleted")).await;
    }
    Ok(Action::await_change())
}

/// A running FSx task this object started whose ID never reached status (the operator stopped
/// right after CreateDataRepositoryTask), found by its owner tag on the volume's file system.
async fn unrecorded(task: &LustreDataTask, scope: &Scope) -> Result<Option<String>> {
    let volume = volume_of(task, &scope.volumes);
    let Some(fs_id) = volume.as_ref().and_then(|lv| lv.status.as_ref()?.file_system_id.clone()) else {
        return Ok(None);
    };
    Ok(fsx_task::find_running(&scope.ctx, task, &fs_id).await?.map(|t| t.id))
}
