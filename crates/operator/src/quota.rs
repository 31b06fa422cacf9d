//! The per-namespace limits of the LustreClasses (`limits.maxCapacityGiBPerNamespace`,
//! `limits.maxVolumesPerNamespace`), held as reservations: a [`Ledger`] in memory.
//!
//! Why a ledger and not a read of the volume cache: up to
//! [`CONCURRENT_PASSES`](crate::process::limits::CONCURRENT_PASSES) passes run at once, and a
//! pass that only reads the cache cannot see the volume another pass admitted a moment ago and
//! has not created yet (volumes made in the same second even tie on `creationTimestamp`), so a
//! burst of creations could pass together, and growth of an existing volume was never counted.
//!
//! The design:
//! - One leader runs the passes, so the ledger lives in its memory ([`Context`](crate::Context)).
//!   It holds, per volume UID, the capacity the volume was admitted with (a reservation), or that
//!   its cleanup finished (it holds nothing, whatever its cached status still shows).
//! - Judging and reserving happen together, under one lock ([`Ledger::reserve`]): the usage of a
//!   (class, namespace) is every other volume of that class and namespace in the cache, taken
//!   under the lock, that holds a reservation (at its reserved GiB) or has a file system (at
//!   what the file system has, or its spec when the operator applied that spec, whichever is
//!   more). A volume is in the cache before its pass starts, so the snapshot holds every volume
//!   another pass reserved for; a reservation whose volume left the cache is forgotten.
//! - A volume without a file system is judged as a new volume (one more volume, its capacity); a
//!   volume with a file system only when it asks for more than it has, and then only its
//!   capacity, the new against the limit: refused, it keeps (and counts at) what it has, and no
//!   UpdateFileSystem is made. A reservation that covers what the volume asks is not judged
//!   again (a class narrowed later stops no admitted creation or growth midway).
//! - A reservation goes when its volume is refused (one with a file system keeps what it has),
//!   and when its cleanup finishes ([`Ledger::release`]). Whenever what a volume counts for
//!   falls, the volumes of its namespace refused by a limit are sent to [`Ledger::subscribe`]'s
//!   streams (`Controller::reconcile_on`) and judged again at once; nothing else wakes them, so
//!   a refused volume costs no AWS call and no status write while nothing changes.
//! - After a restart the ledger is empty and rebuilds itself from the cache: volumes with file
//!   systems count as above whether or not they hold a reservation (they hold their capacity
//!   regardless), and every other volume is judged again, first come first served, as its pass
//!   comes.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use futures::Stream;
use kube::runtime::reflector::ObjectRef;
use kube::ResourceExt;
use lustre_api::policy::{Ask, NamespaceUsage};
use lustre_api::LustreVolume;
use tokio::sync::mpsc;

/// One volume of the namespace, from the cache, and whether it is of the class being judged.
pub(crate) struct Peer {
    pub(crate) volume: Arc<LustreVolume>,
    pub(crate) same_class: bool,
}

/// What a volume holds in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Hold {
    /// Admitted with this many GiB.
    Reserved { namespace: String, gib: i64 },
    /// Its cleanup finished: it holds nothing until it leaves the cache.
    Released { namespace: String },
}

impl Hold {
    fn namespace(&self) -> &str {
        match self {
            Hold::Reserved { namespace, .. } | Hold::Released { namespace } => namespace,
        }
    }
}

#[derive(Default)]
struct State {
    /// By volume UID.
    holds: HashMap<String, Hold>,
    /// Volumes refused by a namespace limit, by namespace and UID: woken when usage there falls.
    refused: HashMap<String, HashMap<String, ObjectRef<LustreVolume>>>,
    /// Each controller's channel, with the namespace it watches (None: all).
    subscribers: Vec<(Option<String>, mpsc::UnboundedSender<ObjectRef<LustreVolume>>)>,
}

/// The reservations of the namespace limits (see the module's documentation).
#[derive(Default)]
pub(crate) struct Ledger {
    state: Mutex<State>,
}

fn uid(lv: &LustreVolume) -> &str {
    lv.metadata.uid.as_deref().unwrap_or_default()
}

fn has_file_system(lv: &LustreVolume) -> bool {
    lv.status.as_ref().is_some_and(|s| s.file_system_id.is_some())
}

fn spec_gib(lv: &LustreVolume) -> Option<i64> {
    lv.spec.storage_capacity_gib.map(i64::from)
}

/// What the volume's file system has (its spec while status does not say yet).
fn file_system_gib(lv: &LustreVolume) -> i64 {
    lv.status.as_ref().and_then(|s| s.capacity_gib).map(i64::from).or(spec_gib(lv)).unwrap_or_default()
}

/// Whether the operator applied the volume's current spec (a pass went through without refusal
/// or failure): a growth it asks for was admitted then.
fn applied(lv: &LustreVolume) -> bool {
    lv.status.as_ref().and_then(|s| s.observed_generation) == lv.metadata.generation
}

/// What `lv` counts for in its namespace's usage (None: nothing, and it is not one of its volumes).
fn counted(hold: Option<&Hold>, lv: &LustreVolume) -> Option<i64> {
    match hold {
        Some(Hold::Reserved { gib, .. }) => Some(*gib),
        Some(Hold::Released { .. }) => None,
        None if has_file_system(lv) => {
            let asked = if applied(lv) { spec_gib(lv).unwrap_or_default() } else { 0 };
            Some(file_system_gib(lv).max(asked))
        }
        None => None,
    }
}

impl Ledger {
    pub(crate) fn new() -> Ledger {
        Ledger::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refused volumes of `namespace` (None: of all) to look at again, their namespace's usage
    /// having fallen; feed it to `Controller::reconcile_on`.
    pub(crate) fn subscribe(
        &self,
        namespace: Option<&str>,
    ) -> impl Stream<Item = ObjectRef<LustreVolume>> + Send + 'static {
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.lock().subscribers.push((namespace.map(str::to_string), tx));
        futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }

    /// Judges `lv` against its namespace's limits and reserves what it asks for, atomically.
    /// `namespace` gives the volumes of its namespace in the cache (called under the lock);
    /// `judge` the class's limits for what the others use and what `lv` asks. Refused, `lv`
    /// holds only what its file system has, and is looked at again when usage falls.
    pub(crate) fn reserve<E>(
        &self,
        lv: &LustreVolume,
        namespace: impl FnOnce() -> Vec<Peer>,
        judge: impl FnOnce(NamespaceUsage, Ask) -> Result<(), E>,
    ) -> Result<(), E> {
        let me = uid(lv).to_string();
        let ns = lv.namespace().unwrap_or_default();
        let mut guard = self.lock();
        let s = &mut *guard;
        let peers = namespace();
        // Forget what volumes that left the cache held or were refused.
        let live: HashSet<&str> = peers.iter().map(|p| uid(&p.volume)).chain([me.as_str()]).collect();
        s.holds.retain(|u, hold| hold.namespace() != ns || live.contains(u.as_str()));
        if let Some(refused) = s.refused.get_mut(&ns) {
            refused.retain(|u, _| live.contains(u.as_str()));
        }
        let usage = peers
            .iter()
            .filter(|p| p.same_class && uid(&p.volume) != me)
            .filter_map(|p| counted(s.holds.get(uid(&p.volume)), &p.volume))
            .fold(NamespaceUsage::default(), |mut u, gib| {
                u.volumes += 1;
                u.capacity_gib += gib;
                u
            });

        let before = counted(s.holds.get(&me), lv).unwrap_or_default();
        let reserved = match s.holds.get(&me) {
            Some(Hold::Reserved { gib, .. }) => Some(*gib),
            _ => None,
        };
        let fs = has_file_system(lv);
        let have = if fs { file_system_gib(lv) } else { 0 };
        let (ask, need) = if fs {
            // An adopted file system is not grown: it holds what it has.
            let to = if lv.spec.file_system_id.is_some() { have } else { spec_gib(lv).unwrap_or(have).max(have) };
            (Ask::Grow { from_gib: have, to_gib: to }, to)
        } else {
            (Ask::New { gib: spec_gib(lv) }, spec_gib(lv).unwrap_or_default())
        };
        let admitted = reserved.is_some_and(|r| r >= need);
        let verdict = if admitted || (fs && need <= have) { Ok(()) } else { judge(usage, ask) };
        let hold = match (&verdict, admitted) {
            (Ok(()), true) => reserved,
            (Ok(()), false) => Some(need),
            (Err(_), _) if fs => Some(have),
            (Err(_), _) => None,
        };
        match hold {
            Some(gib) => s.holds.insert(me.clone(), Hold::Reserved { namespace: ns.clone(), gib }),
            None => s.holds.remove(&me),
        };
        let refused = s.refused.entry(ns.clone()).or_default();
        if verdict.is_err() {
            refused.insert(me, ObjectRef::from(lv));
        } else {
            refused.remove(&me);
        }
        if hold.unwrap_or_default() < before {
            wake(s, &ns);
        }
        verdict
    }

    /// `lv` was refused for another reason than its namespace's limits: without a file system it
    /// gives its reservation back; with one it keeps (at least) what it has.
    pub(crate) fn refused_otherwise(&self, lv: &LustreVolume) {
        let me = uid(lv).to_string();
        let ns = lv.namespace().unwrap_or_default();
        let mut guard = self.lock();
        let s = &mut *guard;
        let before = counted(s.holds.get(&me), lv).unwrap_or_default();
        if has_file_system(lv) {
            let reserved = match s.holds.get(&me) {
                Some(Hold::Reserved { gib, .. }) => *gib,
                _ => 0,
            };
            let gib = file_system_gib(lv).max(reserved);
            s.holds.insert(me.clone(), Hold::Reserved { namespace: ns.clone(), gib });
        } else {
            s.holds.remove(&me);
        }
        if let Some(refused) = s.refused.get_mut(&ns) {
            refused.remove(&me);
        }
        if counted(s.holds.get(&me), lv).unwrap_or_default() < before {
            wake(s, &ns);
        }
    }

    /// The cleanup of `lv` finished: it holds nothing any more, and the volumes of its namespace
    /// that a limit refused are looked at again.
    pub(crate) fn release(&self, lv: &LustreVolume) {
        let me = uid(lv).to_string();
        let ns = lv.namespace().unwrap_or_default();
        let mut guard = self.lock();
        let s = &mut *guard;
        let before = counted(s.holds.get(&me), lv);
        s.holds.insert(me.clone(), Hold::Released { namespace: ns.clone() });
        if let Some(refused) = s.refused.get_mut(&ns) {
            refused.remove(&me);
        }
        if before.is_some() {
            wake(s, &ns);
        }
    }
}

/// Sends the volumes of `namespace` refused by a limit to every subscriber (each is judged again
/// and, still refused, registers again).
fn wake(s: &mut State, namespace: &str) {
    let Some(refused) = s.refused.remove(namespace) else { return };
    if refused.is_empty() {
        return;
    }
    tracing::debug!(namespace, volumes = refused.len(), "namespace usage fell; judging its refused volumes again");
    s.subscribers.retain(|(watched, tx)| {
        watched.as_deref().is_some_and(|w| w != namespace) || refused.values().all(|r| tx.send(r.clone()).is_ok())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The class allows 3600 GiB per namespace (and `max_volumes` volumes).
    fn judge(max_volumes: i32) -> impl Fn(NamespaceUsage, Ask) -> Result<(), String> {
        move |usage, ask| {
            let gib = match ask {
                Ask::New { gib } => gib.unwrap_or_default(),
                Ask::Grow { to_gib, .. } => to_gib,
            };
            let new = matches!(ask, Ask::New { .. });
            if usage.capacity_gib + gib > 3600 || (new && usage.volumes + 1 > max_volumes) {
                Err(format!("{} GiB and {} volume(s) in use", usage.capacity_gib, usage.volumes))
            } else {
                Ok(())
            }
        }
    }

    /// A volume of team-a asking for `gib`; `fs`: it has a file system of `have` GiB (asking for
    /// more, its spec was raised since the operator applied it).
    fn volume(name: &str, gib: i32, fs: Option<i32>) -> Arc<LustreVolume> {
        let spec = serde_json::json!({"storageCapacityGiB": gib});
        let mut lv = match fs {
            None => crate::fixtures::volume("team-a", name, name, spec),
            Some(have) => crate::fixtures::volume_with_status(
                "team-a",
                name,
                name,
                spec,
                serde_json::json!({"fileSystemId": "fs-0123456789abcdef0", "capacityGiB": have, "observedGeneration": 1}),
            ),
        };
        lv.metadata.generation = Some(if fs.is_some_and(|have| gib > have) { 2 } else { 1 });
        Arc::new(lv)
    }

    fn peers(volumes: &[Arc<LustreVolume>]) -> Vec<Peer> {
        volumes.iter().map(|v| Peer { volume: v.clone(), same_class: true }).collect()
    }

    fn reserve(ledger: &Ledger, lv: &LustreVolume, cache: &[Arc<LustreVolume>]) -> bool {
        ledger.reserve(lv, || peers(cache), judge(10)).is_ok()
    }

    #[test]
    fn concurrent_reservations_that_together_exceed_the_limit_let_exactly_one_in() {
        // (what the namespace has, the two volumes asking at once, how many pass)
        type Case = (Vec<Arc<LustreVolume>>, [Arc<LustreVolume>; 2], usize);
        let cases: [Case; 4] = [
            (vec![volume("a", 2400, Some(2400))], [volume("x", 1200, None), volume("y", 1200, None)], 1),
            (vec![], [volume("x", 2400, None), volume("y", 2400, None)], 1),
            (vec![volume("a", 1200, Some(1200))], [volume("x", 1200, None), volume("y", 1200, None)], 2),
            // A growth and a creation racing for the last 1200 GiB.
            (vec![volume("a", 1200, Some(1200))], [volume("g", 2400, Some(1200)), volume("y", 1200, None)], 1),
        ];
        for (existing, asking, passing) in cases {
            let ledger = Arc::new(Ledger::new());
            let cache: Arc<Vec<_>> = Arc::new(existing.iter().chain(asking.iter()).cloned().collect());
            let barrier = Arc::new(std::sync::Barrier::new(2));
            let threads: Vec<_> = asking
                .iter()
                .cloned()
                .map(|lv| {
                    let (ledger, cache, barrier) = (ledger.clone(), cache.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        reserve(&ledger, &lv, &cache)
                    })
                })
                .collect();
            let passed = threads.into_iter().map(|t| t.join()).filter(|r| matches!(r, Ok(true))).count();
            assert_eq!(passed, passing, "{:?}", asking.iter().map(|v| v.name_any()).collect::<Vec<_>>());
        }
    }

    #[test]
    fn growth_is_counted_and_a_refused_growth_keeps_what_it_has() {
        let ledger = Ledger::new();
        let a = volume("a", 1200, Some(1200));
        let grown = volume("b", 2400, Some(1200));
        let c = volume("c", 1200, Some(1200));
        let cache = vec![a.clone(), grown.clone(), c.clone()];
        // (volume, passes, its reservation afterwards)
        let steps = [(&a, true, 1200), (&c, true, 1200), (&grown, false, 1200)];
        for (lv, passes, holds) in steps {
            assert_eq!(reserve(&ledger, lv, &cache), passes, "{}", lv.name_any());
            let hold = ledger.lock().holds.get(uid(lv)).cloned();
            assert_eq!(hold, Some(Hold::Reserved { namespace: "team-a".into(), gib: holds }), "{}", lv.name_any());
        }
        // Counted at what it holds, not at what it asked: a new 1200 GiB volume does not fit
        // (3600 in use), and once `c` is gone the growth does.
        let new = volume("n", 1200, None);
        let with_new: Vec<_> = cache.iter().cloned().chain([new.clone()]).collect();
        assert!(!reserve(&ledger, &new, &with_new));
        ledger.release(&c);
        assert!(reserve(&ledger, &grown, &with_new), "the growth fits once c is released");
        assert!(!reserve(&ledger, &new, &with_new), "and then takes the room");
    }

    #[test]
    fn a_release_lets_the_next_one_in_and_wakes_the_refused() {
        let ledger = Ledger::new();
        let mut woken = Box::pin(ledger.subscribe(None));
        let mut elsewhere = Box::pin(ledger.subscribe(Some("team-b")));
        let volumes: Vec<_> = ["v1", "v2", "v3", "v4"].iter().map(|n| volume(n, 1200, None)).collect();
        let passed: Vec<bool> = volumes.iter().map(|v| reserve(&ledger, v, &volumes)).collect();
        assert_eq!(passed, vec![true, true, true, false], "3600 GiB: three of 1200");
        assert!(!reserve(&ledger, &volumes[3], &volumes), "judged again, still refused");
        let mut next = || {
            let waker = futures::task::noop_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            match woken.as_mut().poll_next(&mut cx) {
                std::task::Poll::Ready(r) => r.map(|r| r.name),
                std::task::Poll::Pending => None,
            }
        };
        assert_eq!(next(), None, "nothing woken while usage holds");
        // v2's cleanup finishes: it still shows in the cache, but counts for nothing.
        ledger.release(&volumes[1]);
        assert_eq!(next().as_deref(), Some("v4"), "the refused volume is judged again at once");
        assert_eq!(next(), None);
        let waker = futures::task::noop_waker();
        let polled = elsewhere.as_mut().poll_next(&mut std::task::Context::from_waker(&waker));
        assert!(polled.is_pending(), "the controller of another namespace is not woken");
        assert!(reserve(&ledger, &volumes[3], &volumes), "and now fits");
        // Another burst after a restart: a new ledger counts the file systems the cache shows.
        let restarted = Ledger::new();
        let cache = vec![volume("a", 2400, Some(2400)), volume("b", 1200, Some(1200)), volume("n", 1200, None)];
        assert!(!reserve(&restarted, &cache[2], &cache), "the file systems hold their capacity");
    }

    #[test]
    fn the_volume_limit_counts_new_volumes_only_and_refusals_give_back() {
        let ledger = Ledger::new();
        let a = volume("a", 1200, Some(1200));
        let grown = volume("b", 2400, Some(1200));
        let new = volume("n", 1200, None);
        let cache = vec![a.clone(), grown.clone(), new.clone()];
        let limited = |lv: &LustreVolume| ledger.reserve(lv, || peers(&cache), judge(2)).is_ok();
        assert!(limited(&a));
        assert!(limited(&grown), "growth is not one more volume");
        assert!(!limited(&new), "a third volume is over the limit of 2");
        // An admitted volume refused for another reason (its class narrowed) gives its place back.
        let other = volume("o", 1200, None);
        let cache = vec![a.clone(), other.clone()];
        assert!(ledger.reserve(&other, || peers(&cache), judge(2)).is_ok());
        ledger.refused_otherwise(&other);
        assert_eq!(ledger.lock().holds.get("o"), None);
        ledger.refused_otherwise(&a);
        assert_eq!(ledger.lock().holds.get("a"), Some(&Hold::Reserved { namespace: "team-a".into(), gib: 1200 }));
    }
}
