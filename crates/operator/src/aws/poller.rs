//! One shared poller follows every tracked file system with batched `DescribeFileSystems` calls
//! (up to 50 IDs per call) instead of one call per volume, and wakes the controller for a volume
//! only when its file system changed. It also answers every other question the controller asks
//! FSx about file systems, so that many volumes share calls:
//!
//! - [`observe`](FileSystemPoller::observe) of an ID not yet seen joins the next tick's batch;
//! - [`owned_by`](FileSystemPoller::owned_by) (the lookup by owner tag before a create) is answered
//!   from one paged listing of the account that started after the question was asked, and that
//!   waited half a second for more questions: a burst of new volumes costs a few listings, not
//!   one per volume.
//!
//! Polling is adaptive. A file system that is CREATING is polled slowly (the poll interval) while
//! its creation cannot be finished yet, judged by the shortest creation this poller has seen
//! (from FSx's CreationTime to AVAILABLE), and every second once it can, backing off again the
//! longer it overruns; before any creation was seen, every twentieth of its age (2 s to the
//! interval: a burst of creations finishes as fast as it was created, and the first one seen
//! finishing is what lets the others be looked at every second). Other transitions (updates, deletion) are polled at a third of the poll interval;
//! stable file systems only at the resync sweep, so a stable fleet costs `ceil(n / 50)` calls per
//! resync and nothing in between. A call made anyway takes along, up to its 50 IDs, the creations
//! at least halfway to their next look, so creations on staggered schedules share calls. When a
//! batch names a file system that no longer exists (FSx then rejects the whole batch), one
//! listing of the account settles every such batch of the tick.
//!
//! Which file system a volume follows is set in one place, [`FileSystemPoller::follow`]; our own
//! changes call [`FileSystemPoller::refresh`] so the next look asks FSx (a grow), or hand it FSx's
//! answer, which stands for a look ([`FileSystemPoller::created`], [`FileSystemPoller::deleting`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::Stream;
use kube::runtime::reflector::ObjectRef;
use lustre_api::LustreVolume;
use tokio::sync::{mpsc, watch, Notify};

use crate::aws::{Aws, AwsError, ErrorKind, FileSystem, Lifecycle, Priority};

use crate::process::limits::DESCRIBE_BATCH as BATCH;
/// The fastest a file system is polled (once its creation may have finished).
const FAST: Duration = Duration::from_secs(1);
/// How long a listing for [`FileSystemPoller::owned_by`] waits for more questions to answer.
const GATHER: Duration = Duration::from_millis(500);
/// How long [`FileSystemPoller::observe`] waits for a tick before giving up (a transient error).
const OBSERVE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq)]
// Nearly every entry of the poller's map is Present: boxing it would add an allocation per file
// system and save nothing.
#[allow(clippy::large_enum_variant)]
enum Observed {
    Present(FileSystem),
    Gone,
}

impl Observed {
    fn into_option(self) -> Option<FileSystem> {
        match self {
            Observed::Present(fs) => Some(fs),
            Observed::Gone => None,
        }
    }
}

struct State {
    /// File system ID -> the volume following it.
    tracked: HashMap<String, ObjectRef<LustreVolume>>,
    /// Volume -> the file system it follows (the inverse of `tracked`).
    followed: HashMap<ObjectRef<LustreVolume>, String>,
    observed: HashMap<String, Observed>,
    /// When each file system was last described.
    last_polled: HashMap<String, Instant>,
    /// IDs someone awaits in [`FileSystemPoller::observe`].
    wanted: HashSet<String>,
    /// IDs we changed ourselves: their cached state is kept (to tell real changes) but not served.
    stale: HashSet<String>,
    /// What the last tick could not find out, by ID.
    failed: HashMap<String, AwsError>,
    /// The shortest creation seen (CreationTime to the first poll that saw AVAILABLE).
    creation_floor: Option<Duration>,
    /// Ticks started so far (an observer waits for one that started after it asked).
    ticks_started: u64,
    last_sweep: Instant,
}

/// The last listing of the account, for [`FileSystemPoller::owned_by`].
struct Listing {
    started: Instant,
    file_systems: Vec<FileSystem>,
}

struct Inner {
    aws: Aws,
    state: Mutex<State>,
    listing: tokio::sync::Mutex<Option<Listing>>,
    subscribers: Mutex<Vec<mpsc::UnboundedSender<ObjectRef<LustreVolume>>>>,
    wake: Notify,
    /// The number of the last tick that finished.
    ticks_finished: watch::Sender<u64>,
    interval: Duration,
    resync: Duration,
}

/// Cheap to clone; all clones share one cache.
#[derive(Clone)]
pub struct FileSystemPoller {
    inner: Arc<Inner>,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

/// How long ago `created_ms` was, at `now_ms` (zero if in the future).
fn age(created_ms: i64, now_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(now_ms - created_ms).unwrap_or(0))
}

/// The poller's schedule, a pure function: how long until a file system in transition is looked at
/// again, given the shortest creation seen so far (`floor`) and the poll interval. See the module
/// documentation; the table test below pins it.
fn schedule(fs: &FileSystem, floor: Option<Duration>, interval: Duration, now: i64) -> Duration {
    let moderate = (interval / 3).max(FAST);
    match (&fs.lifecycle, fs.created_at_ms, floor) {
        (Lifecycle::Creating, Some(created), Some(floor)) => {
            let age = age(created, now);
            // Start polling fast a little before the shortest creation seen.
            let window = floor.mul_f64(0.9).saturating_sub(FAST);
            if age < window {
                // Slowly, but never past the window's start by more than a fast poll.
                interval.min(window - age).max(FAST)
            } else {
                // The longer it overruns, the slower: 1 s for the first 10 s, up to `moderate`.
                ((age - window) / 10).clamp(FAST, moderate)
            }
        }
        // Nothing learnt yet: a twentieth of its age, between two seconds (no creation finishes
        // in its first seconds) and the poll interval.
        (Lifecycle::Creating, Some(created), None) => (age(created, now) / 20).max(2 * FAST).min(interval.max(FAST)),
        _ => moderate,
    }
}

/// The creations that ride along in a call made anyway: up to `room` (what is left of its batch
/// of 50), those at least halfway to their next look, the nearest first. Each costs nothing now
/// and is then not due on its own in a later tick, so many volumes created over several seconds,
/// each on its own schedule, come to share calls instead of each tick making one.
fn riders(room: usize, candidates: impl Iterator<Item = (String, f64)>) -> Vec<String> {
    let mut halfway: Vec<(String, f64)> = candidates.filter(|(_, progress)| *progress >= 0.5).collect();
    halfway.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    halfway.into_iter().take(room).map(|(id, _)| id).collect()
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
                    last_polled: HashMap::new(),
                    wanted: HashSet::new(),
                    stale: HashSet::new(),
                    failed: HashMap::new(),
                    creation_floor: None,
                    ticks_started: 0,
                    last_sweep: Instant::now(),
                }),
                listing: tokio::sync::Mutex::new(None),
                subscribers: Mutex::new(Vec::new()),
                wake: Notify::new(),
                ticks_finished: watch::Sender::new(0),
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
            s.stale.remove(&old);
            s.last_polled.remove(&old);
            s.followed.remove(owner);
        }
        if let Some(id) = fs_id {
            s.tracked.insert(id.to_string(), owner.clone());
            s.followed.insert(owner.clone(), id.to_string());
        }
    }

    /// A file system this process has just created, for `owner` to follow: FSx's answer to the
    /// create stands for a first look, so the next look is on the creation's schedule, not in
    /// the next tick (a burst of creates would otherwise cost a call for nearly every one).
    pub(crate) fn created(&self, owner: &ObjectRef<LustreVolume>, fs: &FileSystem) {
        self.follow(owner, Some(&fs.id));
        self.answered(fs.clone());
    }

    /// A file system this process has just asked FSx to delete: FSx answered the call, so the
    /// file system is DELETING, and that stands for a look; the next one is on a deletion's
    /// schedule, not in the next tick (a burst of deletions would otherwise cost a call for
    /// nearly every one).
    pub(crate) fn deleting(&self, fs: &FileSystem) {
        self.answered(FileSystem { lifecycle: Lifecycle::Deleting, ..fs.clone() });
    }

    /// An answer of FSx to one of our own calls, recorded as a look taken now.
    fn answered(&self, fs: FileSystem) {
        let mut s = self.lock_state();
        s.stale.remove(&fs.id);
        s.last_polled.insert(fs.id.clone(), Instant::now());
        s.observed.insert(fs.id.clone(), Observed::Present(fs));
    }

    /// The next [`observe`](Self::observe) asks AWS (after we changed it). The cached state is
    /// kept to compare with, so the answer wakes the volume only if something really changed.
    pub(crate) fn refresh(&self, fs_id: &str) {
        self.lock_state().stale.insert(fs_id.to_string());
        self.inner.wake.notify_one();
    }

    /// Whether the file system was last seen DELETING. The poller follows it until it is gone
    /// and wakes its owner then, so a pass that finds it so needs no fresh look.
    pub(crate) fn seen_deleting(&self, fs_id: &str) -> bool {
        let s = self.lock_state();
        !s.stale.contains(fs_id)
            && matches!(s.observed.get(fs_id), Some(Observed::Present(fs)) if fs.lifecycle == Lifecycle::Deleting)
    }

    /// The file system as last seen: from the cache, or from the next tick's batched call the
    /// first time. `None` when FSx says it does not exist.
    pub(crate) async fn observe(&self, fs_id: &str) -> Result<Option<FileSystem>, AwsError> {
        let mut finished = self.inner.ticks_finished.subscribe();
        let asked_after = {
            let mut s = self.lock_state();
            if let Some(seen) = s.observed.get(fs_id).filter(|_| !s.stale.contains(fs_id)) {
                return Ok(seen.clone().into_option());
            }
            s.wanted.insert(fs_id.to_string());
            s.ticks_started
        };
        self.inner.wake.notify_one();
        let answered = async {
            loop {
                if finished.wait_for(|done| *done > asked_after).await.is_err() {
                    return None;
                }
                let mut s = self.lock_state();
                if let Some(seen) = s.observed.get(fs_id).filter(|_| !s.stale.contains(fs_id)) {
                    return Some(Ok(seen.clone().into_option()));
                }
                if let Some(e) = s.failed.remove(fs_id) {
                    return Some(Err(e));
                }
                // Asked while that tick was already under way: the next one takes it.
                drop(s);
                finished.borrow_and_update();
            }
        };
        match tokio::time::timeout(OBSERVE_TIMEOUT, answered).await {
            Ok(Some(answer)) => answer,
            _ => Err(AwsError {
                operation: "DescribeFileSystems",
                kind: ErrorKind::Transient,
                code: "PollerUnavailable".into(),
                message: format!("no answer about {fs_id} from the file-system poller"),
            }),
        }
    }

    /// The Lustre file systems carrying `tag_key = tag_value`, from a listing of the account that
    /// started after this call: concurrent callers share one listing. A listing starts
    /// [`GATHER`] after the first question that needs it, so that a burst of new volumes, whose
    /// questions arrive over a second or more while FSx answers a listing in milliseconds, shares
    /// a few listings instead of making one per volume or two.
    pub(crate) async fn owned_by(&self, tag_key: &str, tag_value: &str) -> Result<Vec<FileSystem>, AwsError> {
        self.listed(|fs| fs.tags.get(tag_key).map(String::as_str) == Some(tag_value)).await
    }

    /// The Lustre file systems `keep` selects, from a shared listing as for [`Self::owned_by`].
    pub(crate) async fn listed(&self, keep: impl Fn(&FileSystem) -> bool) -> Result<Vec<FileSystem>, AwsError> {
        let asked = Instant::now();
        let mut listing = self.inner.listing.lock().await;
        let fresh = listing.as_ref().is_some_and(|l| l.started >= asked);
        if !fresh {
            // Questions asked meanwhile wait for the lock and are answered by this listing.
            tokio::time::sleep(GATHER.saturating_sub(asked.elapsed())).await;
            let started = Instant::now();
            let file_systems = self.inner.aws.all_file_systems().await?;
            *listing = Some(Listing { started, file_systems });
        }
        Ok(listing
            .as_ref()
            .map(|l| l.file_systems.iter().filter(|fs| fs.is_lustre && keep(fs)).cloned().collect())
            .unwrap_or_default())
    }

    /// Polls forever: a tick every second (most describe nothing), sooner when woken.
    pub async fn run(self) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(FAST) => {}
                _ = self.inner.wake.notified() => {
                    // Let several invalidations coalesce into one batch.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            self.tick().await;
        }
    }

    /// The IDs due for a look this tick, sorted.
    fn due(&self, s: &mut State) -> Vec<String> {
        let sweep = s.last_sweep.elapsed() >= self.inner.resync;
        if sweep {
            s.last_sweep = Instant::now();
        }
        let now = now_ms();
        let mut ids: Vec<String> = s
            .tracked
            .keys()
            .filter(|id| {
                sweep
                    || s.stale.contains(*id)
                    || match s.observed.get(*id) {
                        None => true,
                        Some(Observed::Present(fs)) if fs.in_transition() => {
                            let since = s.last_polled.get(*id).map(Instant::elapsed).unwrap_or(Duration::MAX);
                            since >= schedule(fs, s.creation_floor, self.inner.interval, now)
                        }
                        Some(_) => false,
                    }
            })
            .cloned()
            .chain(s.wanted.iter().chain(&s.stale).filter(|id| !s.tracked.contains_key(*id)).cloned())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Each tracked creation with how far it is into its wait for the next look (1.0: due).
    fn creations_in_progress<'a>(&self, s: &'a State) -> impl Iterator<Item = (String, f64)> + 'a {
        let now = now_ms();
        let interval = self.inner.interval;
        s.tracked.keys().filter_map(move |id| match s.observed.get(id) {
            Some(Observed::Present(fs)) if fs.lifecycle == Lifecycle::Creating => {
                let since = s.last_polled.get(id).map(Instant::elapsed)?;
                let every = schedule(fs, s.creation_floor, interval, now);
                Some((id.clone(), since.as_secs_f64() / every.as_secs_f64().max(0.001)))
            }
            _ => None,
        })
    }

    /// One round: describe what is due in batches of 50 and wake owners whose file system changed.
    pub(crate) async fn tick(&self) {
        let (ids, tick) = {
            let mut s = self.lock_state();
            s.ticks_started += 1;
            (self.due(&mut s), s.ticks_started)
        };
        let mut results: Vec<(String, Observed)> = Vec::new();
        let mut failed: Vec<(String, AwsError)> = Vec::new();
        let mut unresolved: Vec<String> = Vec::new();
        // Creations that may have finished (and IDs not seen yet) go first in the call budget;
        // deletions and updates wait their turn.
        let (urgent, rest): (Vec<String>, Vec<String>) = {
            let s = self.lock_state();
            let (mut urgent, rest): (Vec<String>, Vec<String>) =
                ids.into_iter().partition(|id| match s.observed.get(id) {
                    Some(Observed::Present(fs)) => fs.lifecycle == Lifecycle::Creating,
                    _ => true,
                });
            let room = (BATCH - urgent.len() % BATCH) % BATCH;
            if !urgent.is_empty() && room > 0 {
                let due: HashSet<&String> = urgent.iter().collect();
                let riders = riders(room, self.creations_in_progress(&s).filter(|(id, _)| !due.contains(id)));
                urgent.extend(riders);
            }
            (urgent, rest)
        };
        let batches =
            urgent.chunks(BATCH).map(|b| (b, Priority::Read)).chain(rest.chunks(BATCH).map(|b| (b, Priority::Change)));
        let (started, mut calls, mut looked_at) = (Instant::now(), 0u32, 0usize);
        for (batch, priority) in batches {
            calls += 1;
            looked_at += batch.len();
            match self.inner.aws.describe_file_systems(batch, priority).await {
                Ok(found) => {
                    let mut by_id: HashMap<String, FileSystem> = found.into_iter().map(|f| (f.id.clone(), f)).collect();
                    for id in batch {
                        results.push((id.clone(), by_id.remove(id).map(Observed::Present).unwrap_or(Observed::Gone)));
                    }
                }
                // One of them is gone and FSx rejects the whole batch: settled by one listing below.
                Err(e) if e.is_not_found() => unresolved.extend(batch.iter().cloned()),
                Err(e) => {
                    tracing::warn!(error = %e, ids = batch.len(), "polling file systems failed; will retry next tick");
                    failed.extend(batch.iter().map(|id| (id.clone(), e.clone())));
                }
            }
        }
        if !unresolved.is_empty() {
            match self.inner.aws.all_file_systems().await {
                Ok(all) => {
                    let mut by_id: HashMap<String, FileSystem> = all.into_iter().map(|f| (f.id.clone(), f)).collect();
                    for id in unresolved {
                        let seen = by_id.remove(&id).map(Observed::Present).unwrap_or(Observed::Gone);
                        results.push((id, seen));
                    }
                }
                Err(e) => failed.extend(unresolved.into_iter().map(|id| (id, e.clone()))),
            }
        }
        let changed = self.record(results, failed);
        if calls > 0 {
            tracing::debug!(
                tick,
                calls,
                looked_at,
                changed = changed.len(),
                took_ms = started.elapsed().as_millis() as u64,
                "poller tick"
            );
        }
        self.inner.ticks_finished.send_replace(tick);
        for owner in changed {
            self.notify(owner);
        }
    }

    /// Stores a tick's results; returns the owners whose file system changed.
    fn record(
        &self,
        results: Vec<(String, Observed)>,
        failed: Vec<(String, AwsError)>,
    ) -> Vec<ObjectRef<LustreVolume>> {
        let now = now_ms();
        let mut s = self.lock_state();
        let mut changed = Vec::new();
        for (id, seen) in results {
            s.wanted.remove(&id);
            s.stale.remove(&id);
            s.failed.remove(&id);
            s.last_polled.insert(id.clone(), Instant::now());
            if let Observed::Present(fs) = &seen {
                let was_creating = match s.observed.get(&id) {
                    Some(Observed::Present(before)) => before.lifecycle == Lifecycle::Creating,
                    _ => false,
                };
                if was_creating && fs.lifecycle == Lifecycle::Available {
                    if let Some(created) = fs.created_at_ms {
                        let took = age(created, now);
                        s.creation_floor = Some(s.creation_floor.map_or(took, |f| f.min(took)));
                    }
                }
            }
            let before = s.observed.insert(id.clone(), seen.clone());
            if before.as_ref() != Some(&seen) {
                if let Some(owner) = s.tracked.get(&id) {
                    changed.push(owner.clone());
                }
            }
        }
        for (id, e) in failed {
            if s.wanted.remove(&id) {
                s.failed.insert(id, e);
            }
        }
        changed
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

#[cfg(test)]
mod tests {
    use super::*;

    fn creating(created_at_ms: i64) -> FileSystem {
        FileSystem { lifecycle: Lifecycle::Creating, created_at_ms: Some(created_at_ms), ..Default::default() }
    }

    /// A poller at the default intervals (15 s, resync 600 s) asking an emulator of its own.
    async fn against_the_emulator() -> anyhow::Result<(aws_emulator::Emulator, FileSystemPoller)> {
        let emulator = aws_emulator::Emulator::start(aws_emulator::EmulatorConfig::default()).await?;
        let poller = FileSystemPoller::new(
            crate::aws::against(&emulator).await,
            Duration::from_secs(15),
            Duration::from_secs(600),
        );
        Ok((emulator, poller))
    }

    #[tokio::test]
    async fn a_file_system_just_created_is_not_looked_at_in_the_next_tick() -> anyhow::Result<()> {
        let (emulator, poller) = against_the_emulator().await?;
        let (a, b) = (ObjectRef::new("a").within("ns"), ObjectRef::new("b").within("ns"));
        let fs = |id: &str| FileSystem { id: id.into(), ..creating(now_ms()) };
        poller.created(&a, &fs("fs-0000000000000000a"));
        emulator.reset_calls();
        poller.tick().await;
        assert_eq!(emulator.calls().total(), 0, "the create's answer stands for a first look");
        let seen = poller.observe("fs-0000000000000000a").await?;
        assert_eq!(seen.map(|f| f.lifecycle), Some(Lifecycle::Creating));
        assert_eq!(emulator.calls().total(), 0, "served from the cache");
        // Followed without the create's answer: looked at in the next tick.
        poller.follow(&b, Some("fs-0000000000000000b"));
        poller.tick().await;
        assert!(emulator.calls().count("fsx", "DescribeFileSystems") >= 1);
        Ok(())
    }

    #[tokio::test]
    async fn a_file_system_just_deleted_is_not_looked_at_in_the_next_tick() -> anyhow::Result<()> {
        let (emulator, poller) = against_the_emulator().await?;
        let owner = ObjectRef::new("a").within("ns");
        let fs =
            FileSystem { id: "fs-0000000000000000a".into(), lifecycle: Lifecycle::Available, ..creating(now_ms()) };
        poller.created(&owner, &fs);
        poller.deleting(&fs);
        emulator.reset_calls();
        poller.tick().await;
        assert_eq!(emulator.calls().total(), 0, "the delete's answer stands for a look");
        assert!(poller.seen_deleting(&fs.id));
        let seen = poller.observe(&fs.id).await?;
        assert_eq!(seen.map(|f| f.lifecycle), Some(Lifecycle::Deleting));
        assert_eq!(emulator.calls().total(), 0, "served from the cache");
        Ok(())
    }

    #[tokio::test]
    async fn a_file_system_seen_deleting_needs_no_fresh_look_until_asked_for_one() -> anyhow::Result<()> {
        let (_emulator, poller) = against_the_emulator().await?;
        let owner = ObjectRef::new("a").within("ns");
        let id = "fs-0000000000000000a";
        poller.created(&owner, &FileSystem { id: id.into(), ..creating(now_ms()) });
        assert!(!poller.seen_deleting(id), "creating");
        poller.created(&owner, &FileSystem { id: id.into(), lifecycle: Lifecycle::Deleting, ..creating(now_ms()) });
        assert!(poller.seen_deleting(id));
        poller.refresh(id);
        assert!(!poller.seen_deleting(id), "a look was asked for: not known until it answers");
        assert!(!poller.seen_deleting("fs-00000000000000000"), "never seen");
        Ok(())
    }

    #[test]
    fn creations_halfway_to_their_next_look_ride_along_in_a_call_made_anyway() {
        let candidates = || {
            [("fs-a", 0.49), ("fs-b", 0.9), ("fs-c", 0.5), ("fs-d", 0.7), ("fs-e", 0.1)]
                .into_iter()
                .map(|(id, p)| (id.to_string(), p))
        };
        assert_eq!(riders(10, candidates()), vec!["fs-b", "fs-d", "fs-c"]);
        // Only what the batch has room for, the nearest first.
        assert_eq!(riders(2, candidates()), vec!["fs-b", "fs-d"]);
        assert!(riders(0, candidates()).is_empty());
    }

    #[test]
    fn the_schedule_follows_the_documented_table() {
        let (interval, floor, now) = (Duration::from_secs(15), Some(Duration::from_secs(300)), 10_000_000);
        let s = Duration::from_secs;
        let deleting = FileSystem { lifecycle: Lifecycle::Deleting, ..Default::default() };
        // (what, file system, shortest creation seen, poll interval, the wait until its next look)
        let table: Vec<(&str, FileSystem, Option<Duration>, Duration, Duration)> = vec![
            ("just created: the poll interval", creating(now - 10_000), floor, interval, interval),
            (
                "close to the window (0.9 x 300 - 1 = 269 s): not past it",
                creating(now - 260_000),
                floor,
                interval,
                s(9),
            ),
            ("in the window: every second", creating(now - 275_000), floor, interval, FAST),
            ("long overdue: backs off to a third of the interval", creating(now - 900_000), floor, interval, s(5)),
            ("nothing learnt yet, 5 s old: two seconds", creating(now - 5_000), None, interval, 2 * FAST),
            ("nothing learnt yet, interval below two seconds: the interval", creating(now - 5_000), None, FAST, FAST),
            ("nothing learnt yet, 37 s old: two seconds", creating(now - 37_000), None, interval, 2 * FAST),
            ("nothing learnt yet, 120 s old: a twentieth of its age", creating(now - 120_000), None, interval, s(6)),
            ("nothing learnt yet, 600 s old: at most the interval", creating(now - 600_000), None, interval, interval),
            ("not creating: a third of the interval", deleting.clone(), floor, interval, s(5)),
            ("not creating, short interval: every second", deleting, floor, s(2), FAST),
        ];
        for (what, fs, floor, interval, want) in table {
            assert_eq!(schedule(&fs, floor, interval, now), want, "{what}");
        }
    }
}
