//! One shared poller follows every tracked file system with batched `DescribeFileSystems` calls
//! (up to 50 IDs per call) instead of one call per volume, and wakes the controller for a volume
//! only when its file system changed.
//!
//! Each tick polls the file systems that are changing (CREATING, UPDATING, DELETING,
//! MISCONFIGURED, or with an update running) and, once per resync period, all of them, so a file
//! system deleted behind our back is noticed. A stable fleet costs `ceil(n / 50)` calls per
//! resync and nothing in between.
//!
//! Which file system a volume follows is set in one place, [`FileSystemPoller::follow`]; our own
//! changes (create, grow, delete) call [`FileSystemPoller::refresh`] so the next look asks FSx.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::Stream;
use kube::runtime::reflector::ObjectRef;
use lustre_api::LustreVolume;
use tokio::sync::{mpsc, Notify};

use crate::aws::{Aws, AwsError, FileSystem};

/// FSx's limit on IDs per DescribeFileSystems call.
pub(crate) const BATCH: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Observed {
    Present(FileSystem),
    Gone,
}

struct State {
    /// File system ID -> the volume following it.
    tracked: HashMap<String, ObjectRef<LustreVolume>>,
    /// Volume -> the file system it follows (the inverse of `tracked`).
    followed: HashMap<ObjectRef<LustreVolume>, String>,
    observed: HashMap<String, Observed>,
    last_sweep: Instant,
}

struct Inner {
    aws: Aws,
    state: Mutex<State>,
    subscribers: Mutex<Vec<mpsc::UnboundedSender<ObjectRef<LustreVolume>>>>,
    wake: Notify,
    interval: Duration,
    resync: Duration,
}

/// Cheap to clone; all clones share one cache.
#[derive(Clone)]
pub struct FileSystemPoller {
    inner: Arc<Inner>,
}

impl FileSystemPoller {
    pub fn new(aws: Aws, interval: Duration, resync: Duration) -> FileSystemPoller {
        FileSystemPoller {
            inner: Arc::new(Inner {
                aws,
                state: Mutex::new(State {
                    tracked: HashMap::new(),
                    followed: HashMap::new(),
                    observed: HashMap::new(),
                    last_sweep: Instant::now(),
                }),
                subscribers: Mutex::new(Vec::new()),
                wake: Notify::new(),
                interval,
                resync,
            }),
        }
    }

    /// Volumes whose file system changed; feed it to `Controller::reconcile_on`.
    pub(crate) fn subscribe(&self) -> impl Stream<Item = ObjectRef<LustreVolume>> + Send + 'static {
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.lock_subscribers().push(tx);
        futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }

    /// The one place that decides what a volume follows: `Some(id)` follows that file system
    /// from now on (and nothing else for this volume); `None` stops following and forgets.
    pub(crate) fn follow(&self, owner: &ObjectRef<LustreVolume>, fs_id: Option<&str>) {
        let mut guard = self.lock_state();
        let s = &mut *guard;
        let previous = s.followed.get(owner).cloned();
        if previous.as_deref() == fs_id {
            return;
        }
        if let Some(old) = previous {
            s.tracked.remove(&old);
            s.observed.remove(&old);
            s.followed.remove(owner);
        }
        if let Some(id) = fs_id {
            s.tracked.insert(id.to_string(), owner.clone());
            s.followed.insert(owner.clone(), id.to_string());
        }
    }

    /// Forget the cached state so the next [`observe`](Self::observe) asks AWS (after we changed it).
    pub(crate) fn refresh(&self, fs_id: &str) {
        self.lock_state().observed.remove(fs_id);
        self.inner.wake.notify_one();
    }

    /// The file system as last seen: from the cache, or one DescribeFileSystems call the first
    /// time. `None` when FSx says it does not exist.
    pub(crate) async fn observe(&self, fs_id: &str) -> Result<Option<FileSystem>, AwsError> {
        if let Some(seen) = self.lock_state().observed.get(fs_id) {
            return Ok(match seen {
                Observed::Present(info) => Some(info.clone()),
                Observed::Gone => None,
            });
        }
        let seen = match self.inner.aws.describe_file_systems(&[fs_id.to_string()]).await {
            Ok(mut found) => found.pop().map(Observed::Present).unwrap_or(Observed::Gone),
            Err(e) if e.is_not_found() => Observed::Gone,
            Err(e) => return Err(e),
        };
        self.lock_state().observed.insert(fs_id.to_string(), seen.clone());
        Ok(match seen {
            Observed::Present(info) => Some(info),
            Observed::Gone => None,
        })
    }

    /// Polls forever.
    pub async fn run(self) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.inner.interval) => {}
                _ = self.inner.wake.notified() => {
                    // Let several invalidations coalesce into one batch.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            self.tick().await;
        }
    }

    /// One round: describe what needs it in batches of 50 and wake owners whose file system changed.
    pub(crate) async fn tick(&self) {
        let ids: Vec<String> = {
            let mut s = self.lock_state();
            let sweep = s.last_sweep.elapsed() >= self.inner.resync;
            if sweep {
                s.last_sweep = Instant::now();
            }
            let mut ids: Vec<String> = s
                .tracked
                .keys()
                .filter(|id| {
                    sweep
                        || match s.observed.get(*id) {
                            None => true,
                            Some(Observed::Present(info)) => info.in_transition(),
                            Some(Observed::Gone) => false,
                        }
                })
                .cloned()
                .collect();
            ids.sort();
            ids
        };
        for batch in ids.chunks(BATCH) {
            let results = self.describe_batch(batch).await;
            let mut changed = Vec::new();
            {
                let mut s = self.lock_state();
                for (id, seen) in results {
                    let before = s.observed.insert(id.clone(), seen.clone());
                    if before.as_ref() != Some(&seen) {
                        if let Some(owner) = s.tracked.get(&id) {
                            changed.push(owner.clone());
                        }
                    }
                }
            }
            for owner in changed {
                self.notify(owner);
            }
        }
    }

    /// Describes a batch; when FSx rejects it because one ID is gone, splits it in halves to find
    /// which (log2(50) extra calls at worst), so one deleted file system cannot blind the rest.
    async fn describe_batch(&self, batch: &[String]) -> Vec<(String, Observed)> {
        let mut out = Vec::new();
        let mut pending: Vec<&[String]> = vec![batch];
        while let Some(ids) = pending.pop() {
            match self.inner.aws.describe_file_systems(ids).await {
                Ok(found) => {
                    let mut by_id: HashMap<String, FileSystem> = found.into_iter().map(|f| (f.id.clone(), f)).collect();
                    for id in ids {
                        out.push((id.clone(), by_id.remove(id).map(Observed::Present).unwrap_or(Observed::Gone)));
                    }
                }
                Err(e) if e.is_not_found() => {
                    if ids.len() == 1 {
                        out.push((ids[0].clone(), Observed::Gone));
                    } else {
                        let (a, b) = ids.split_at(ids.len() / 2);
                        pending.push(a);
                        pending.push(b);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, ids = ids.len(), "polling file systems failed; will retry next tick");
                }
            }
        }
        out
    }

    fn notify(&self, owner: ObjectRef<LustreVolume>) {
        self.lock_subscribers().retain(|tx| tx.send(owner.clone()).is_ok());
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_subscribers(&self) -> std::sync::MutexGuard<'_, Vec<mpsc::UnboundedSender<ObjectRef<LustreVolume>>>> {
        self.inner.subscribers.lock().unwrap_or_else(|p| p.into_inner())
    }
}
