//! The orphan sweep: what the operator made for a LustreVolume that no longer exists.
//!
//! A volume can vanish without its cleanup: a tenant patches the finalizer away and deletes it,
//! or it goes while the operator is down. Its file system, security group, PV and StorageClass
//! would stay forever, and repeating that exhausts the account's FSx quota for every tenant. The
//! sweep finds them by the operator's tags and labels (`managed-by` and the owner UID; nothing
//! without both is ever looked at) whose owner UID is no live LustreVolume in the watch cache,
//! and, once one has been an orphan for the grace period (seen so by two sweeps that far apart):
//!
//! - a file system is deleted when the deletion policy recorded on it at creation is `Delete`
//!   (a persistent one not linked to S3 with a final backup), and kept and reported when it is
//!   `Retain` or no policy is recorded; one that a live volume adopts (`spec.fileSystemId`) or
//!   names in its status is never touched;
//! - a security group is deleted once no file system of its owner is left;
//! - a PV or StorageClass is deleted (a PV's reclaim policy is Retain: the file system is not
//!   touched by that).
//!
//! Each is a Kubernetes event in the owner's namespace (regarding the Namespace) and a count in
//! `lustre_operator_orphans_total{resource,action}`. One sweep costs one FSx listing (paged) and
//! one DescribeSecurityGroups for the whole operator, not per volume; the first runs
//! `--orphan-sweep-after` after start, then every `--orphan-sweep-every`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ObjectReference, PersistentVolume};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams};
use kube::runtime::reflector::Store;
use kube::{Resource, ResourceExt};
use lustre_api::{tags, DeletionPolicy, LustreVolume};

use super::kubernetes_objects::ObjectCaches;
use crate::context::Context;

/// When the sweep runs and how long something must be an orphan before it is handled.
#[derive(Debug, Clone, Copy)]
pub struct Sweep {
    pub first_after: Duration,
    pub every: Duration,
    pub grace: Duration,
}

/// What the operator makes for a volume, as the sweep sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    FileSystem,
    SecurityGroup,
    PersistentVolume,
    StorageClass,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::FileSystem => "file_system",
            Kind::SecurityGroup => "security_group",
            Kind::PersistentVolume => "persistent_volume",
            Kind::StorageClass => "storage_class",
        }
    }
}

/// One resource carrying the operator's marks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marked {
    pub(crate) kind: Kind,
    pub(crate) id: String,
    pub(crate) owner_uid: String,
    pub(crate) owner_namespace: String,
    pub(crate) owner_name: String,
    /// For a file system: the deletion policy recorded on it.
    pub(crate) policy: Option<DeletionPolicy>,
}

impl Marked {
    fn key(&self) -> (Kind, String) {
        (self.kind, self.id.clone())
    }
}

/// What to do with an orphan now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not for the grace period yet (or its file system is still there, for a group).
    Wait,
    Delete,
    /// Left in place, with why.
    Keep(&'static str),
}

/// What the volumes in the cache say: who lives, and which file systems live volumes use.
#[derive(Debug, Default)]
pub(crate) struct Living {
    pub(crate) uids: HashSet<String>,
    /// File systems live volumes adopt or name in their status.
    pub(crate) file_systems: HashSet<String>,
}

impl Living {
    pub(crate) fn of(volumes: &[Arc<LustreVolume>]) -> Living {
        let mut living = Living::default();
        for lv in volumes {
            living.uids.extend(lv.uid());
            living.file_systems.extend(lv.spec.file_system_id.clone());
            living.file_systems.extend(lv.status.as_ref().and_then(|s| s.file_system_id.clone()));
        }
        living
    }
}

/// The resources among `marked` whose owner is gone, in the namespaces this operator watches
/// (`namespace`: one, or None for all).
pub(crate) fn orphans<'a>(marked: &'a [Marked], living: &Living, namespace: Option<&str>) -> Vec<&'a Marked> {
    marked
        .iter()
        .filter(|m| !m.owner_uid.is_empty() && !living.uids.contains(&m.owner_uid))
        .filter(|m| namespace.is_none_or(|ns| ns == m.owner_namespace))
        .filter(|m| !(m.kind == Kind::FileSystem && living.file_systems.contains(&m.id)))
        .collect()
}

/// The verdict on `orphan`, first seen orphaned at `since`; `owner_has_file_system`: a file
/// system of the same owner is still in the account.
pub(crate) fn verdict(
    orphan: &Marked,
    since: Instant,
    now: Instant,
    grace: Duration,
    owner_has_file_system: bool,
) -> Verdict {
    if now.saturating_duration_since(since) < grace {
        return Verdict::Wait;
    }
    match orphan.kind {
        Kind::FileSystem => match orphan.policy {
            Some(DeletionPolicy::Delete) => Verdict::Delete,
            Some(DeletionPolicy::Retain) => Verdict::Keep("its recorded deletion policy is Retain"),
            None => Verdict::Keep("no deletion policy is recorded on it"),
        },
        Kind::SecurityGroup if owner_has_file_system => Verdict::Wait,
        Kind::SecurityGroup | Kind::PersistentVolume | Kind::StorageClass => Verdict::Delete,
    }
}

fn marked_by_tags(kind: Kind, id: &str, t: &std::collections::BTreeMap<String, String>) -> Option<Marked> {
    if t.get(tags::MANAGED_BY).map(String::as_str) != Some(tags::MANAGED_BY_VALUE) {
        return None;
    }
    let get = |k: &str| t.get(k).cloned().unwrap_or_default();
    let owner_uid = t.get(tags::OWNER_UID).filter(|u| !u.is_empty())?.clone();
    Some(Marked {
        kind,
        id: id.to_string(),
        owner_uid,
        owner_namespace: get(tags::OWNER_NAMESPACE),
        owner_name: get(tags::OWNER_NAME),
        policy: t.get(tags::DELETION_POLICY).and_then(|v| DeletionPolicy::parse(v)),
    })
}

fn marked_object<K: Resource>(kind: Kind, object: &K) -> Option<Marked> {
    let labels = object.meta().labels.as_ref()?;
    let mut m = marked_by_tags(kind, object.meta().name.as_deref()?, labels)?;
    m.owner_namespace = labels.get(tags::LABEL_OWNER_NAMESPACE).cloned().unwrap_or_default();
    m.owner_name = labels.get(tags::LABEL_OWNER_NAME).cloned().unwrap_or_default();
    Some(m)
}

/// Runs the sweep forever (from `first_after` after start, every `every`).
pub(crate) async fn run(
    ctx: Arc<Context>,
    sweep: Sweep,
    namespace: Option<String>,
    volumes: Store<LustreVolume>,
    objects: ObjectCaches,
) {
    tokio::time::sleep(sweep.first_after).await;
    let mut first_seen: HashMap<(Kind, String), Seen> = HashMap::new();
    loop {
        if crate::class_policy::store_ready(&volumes).await {
            if let Err(e) = once(&ctx, &sweep, namespace.as_deref(), &volumes, &objects, &mut first_seen).await {
                tracing::warn!(error = %e, "orphan sweep failed; trying again at the next one");
            }
        }
        tokio::time::sleep(sweep.every).await;
    }
}

/// Since when a resource has been an orphan, and whether keeping it was reported.
#[derive(Debug, Clone, Copy)]
struct Seen {
    since: Instant,
    reported: bool,
}

/// One sweep. `first_seen` remembers since when each orphan has been one.
async fn once(
    ctx: &Context,
    sweep: &Sweep,
    namespace: Option<&str>,
    volumes: &Store<LustreVolume>,
    objects: &ObjectCaches,
    first_seen: &mut HashMap<(Kind, String), Seen>,
) -> crate::error::Result<()> {
    let file_systems = ctx.aws.all_file_systems().await?;
    let groups = ctx.aws.security_groups_tagged(tags::MANAGED_BY, tags::MANAGED_BY_VALUE).await?;
    let mut marked: Vec<Marked> = Vec::new();
    marked.extend(
        file_systems.iter().filter(|f| f.is_lustre).filter_map(|f| marked_by_tags(Kind::FileSystem, &f.id, &f.tags)),
    );
    marked.extend(groups.iter().filter_map(|g| marked_by_tags(Kind::SecurityGroup, &g.id, &g.tags)));
    marked.extend(objects.volumes.state().iter().filter_map(|pv| marked_object(Kind::PersistentVolume, pv.as_ref())));
    marked.extend(objects.classes.state().iter().filter_map(|sc| marked_object(Kind::StorageClass, sc.as_ref())));
    // The volumes are read after the resources: a volume made meanwhile is then seen alive.
    let living = Living::of(&volumes.state());
    let found = orphans(&marked, &living, namespace);
    let now = Instant::now();
    let keys: HashSet<(Kind, String)> = found.iter().map(|m| m.key()).collect();
    first_seen.retain(|k, _| keys.contains(k));
    let owners_with_file_systems: HashSet<&str> =
        marked.iter().filter(|m| m.kind == Kind::FileSystem).map(|m| m.owner_uid.as_str()).collect();
    for orphan in found {
        let seen = first_seen.entry(orphan.key()).or_insert(Seen { since: now, reported: false });
        let has_fs = owners_with_file_systems.contains(orphan.owner_uid.as_str());
        match verdict(orphan, seen.since, now, sweep.grace, has_fs) {
            Verdict::Wait => {}
            Verdict::Delete => {
                if let Err(e) = delete(ctx, orphan, &file_systems).await {
                    tracing::warn!(kind = orphan.kind.as_str(), id = %orphan.id, error = %e, "could not delete an orphan");
                    continue;
                }
                first_seen.remove(&orphan.key());
                report(ctx, orphan, "deleted", "OrphanDeleted", None).await;
            }
            // Reported once; the next sweeps say nothing new about it.
            Verdict::Keep(why) if !seen.reported => {
                seen.reported = true;
                report(ctx, orphan, "kept", "OrphanKept", Some(why)).await;
            }
            Verdict::Keep(_) => {}
        }
    }
    Ok(())
}

async fn delete(ctx: &Context, orphan: &Marked, file_systems: &[crate::aws::FileSystem]) -> crate::error::Result<()> {
    match orphan.kind {
        Kind::FileSystem => {
            let Some(fs) = file_systems.iter().find(|f| f.id == orphan.id) else { return Ok(()) };
            // Checked again on what FSx said, right before the call.
            if !crate::ownership::is_ours(fs, &orphan.owner_uid) || fs.lifecycle == crate::aws::Lifecycle::Deleting {
                return Ok(());
            }
            let skip_final_backup = fs.persistent.then_some(fs.s3_linked);
            match ctx.aws.delete_file_system(&fs.id, skip_final_backup).await {
                Err(e) if !e.is_not_found() => Err(e.into()),
                _ => Ok(()),
            }
        }
        Kind::SecurityGroup => match ctx.aws.delete_security_group(&orphan.id).await {
            Err(e) if !e.is_not_found() => Err(e.into()),
            _ => Ok(()),
        },
        Kind::PersistentVolume => delete_object::<PersistentVolume>(ctx, &orphan.id).await,
        Kind::StorageClass => delete_object::<StorageClass>(ctx, &orphan.id).await,
    }
}

/// Deletes a cluster-scoped object the operator labelled (a PV's deletion leaves its file
/// system alone: its reclaim policy is Retain).
async fn delete_object<K>(ctx: &Context, name: &str) -> crate::error::Result<()>
where
    K: Resource<Scope = k8s_openapi::ClusterResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::all(ctx.client.clone());
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn report(ctx: &Context, orphan: &Marked, action: &str, reason: &str, why: Option<&str>) {
    ctx.metrics.orphan(orphan.kind.as_str(), action);
    let what = match orphan.kind {
        Kind::FileSystem => format!("file system {}", orphan.id),
        Kind::SecurityGroup => format!("security group {}", orphan.id),
        Kind::PersistentVolume => format!("PersistentVolume {}", orphan.id),
        Kind::StorageClass => format!("StorageClass {}", orphan.id),
    };
    let owner = format!("LustreVolume {}/{} (UID {})", orphan.owner_namespace, orphan.owner_name, orphan.owner_uid);
    let note = match why {
        None => format!("{action} {what}: its {owner} is gone"),
        Some(why) => {
            format!("{action} {what}, whose {owner} is gone: {why}; delete it yourself when it is no longer needed")
        }
    };
    tracing::info!(kind = orphan.kind.as_str(), id = %orphan.id, owner = %owner, action, "orphan");
    if orphan.owner_namespace.is_empty() {
        return;
    }
    let reference = ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Namespace".into()),
        name: Some(orphan.owner_namespace.clone()),
        namespace: Some(orphan.owner_namespace.clone()),
        ..Default::default()
    };
    if why.is_some() {
        ctx.events.warning_on(&reference, reason, &note).await;
    } else {
        ctx.events.normal_on(&reference, reason, &note).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(id: &str, owner: &str, policy: Option<DeletionPolicy>) -> Marked {
        Marked {
            kind: Kind::FileSystem,
            id: id.into(),
            owner_uid: owner.into(),
            owner_namespace: "team-a".into(),
            owner_name: "train".into(),
            policy,
        }
    }

    #[test]
    fn only_what_a_gone_owner_made_in_a_watched_namespace_and_no_live_volume_uses() {
        let marked = vec![
            fs("fs-live", "u-live", Some(DeletionPolicy::Delete)),
            fs("fs-gone", "u-gone", Some(DeletionPolicy::Delete)),
            fs("fs-adopted", "u-gone-too", Some(DeletionPolicy::Delete)),
            Marked { owner_namespace: "team-b".into(), ..fs("fs-elsewhere", "u-gone", None) },
            Marked { kind: Kind::SecurityGroup, ..fs("sg-gone", "u-gone", None) },
        ];
        let living = Living {
            uids: HashSet::from(["u-live".to_string()]),
            file_systems: HashSet::from(["fs-adopted".to_string()]),
        };
        let ids = |ns: Option<&str>| orphans(&marked, &living, ns).iter().map(|m| m.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(None), vec!["fs-gone", "fs-elsewhere", "sg-gone"]);
        assert_eq!(ids(Some("team-a")), vec!["fs-gone", "sg-gone"], "an operator of one namespace sweeps only it");
    }

    #[test]
    fn the_grace_period_then_the_recorded_policy_decide() {
        let t0 = Instant::now();
        let grace = Duration::from_secs(600);
        let later = t0 + grace;
        let delete = fs("fs-1", "u", Some(DeletionPolicy::Delete));
        assert_eq!(verdict(&delete, t0, t0 + Duration::from_secs(599), grace, true), Verdict::Wait);
        assert_eq!(verdict(&delete, t0, later, grace, true), Verdict::Delete);
        assert!(matches!(
            verdict(&fs("fs-2", "u", Some(DeletionPolicy::Retain)), t0, later, grace, true),
            Verdict::Keep(_)
        ));
        assert!(matches!(verdict(&fs("fs-3", "u", None), t0, later, grace, true), Verdict::Keep(_)), "unknown: kept");
        let group = Marked { kind: Kind::SecurityGroup, ..fs("sg-1", "u", None) };
        assert_eq!(verdict(&group, t0, later, grace, true), Verdict::Wait, "the group outlives its file system");
        assert_eq!(verdict(&group, t0, later, grace, false), Verdict::Delete);
        let pv = Marked { kind: Kind::PersistentVolume, ..fs("lustre-u", "u", None) };
        assert_eq!(verdict(&pv, t0, later, grace, true), Verdict::Delete);
    }

    #[test]
    fn nothing_without_both_marks_is_looked_at() {
        let mut t = std::collections::BTreeMap::from([(tags::OWNER_UID.to_string(), "u".to_string())]);
        assert_eq!(marked_by_tags(Kind::FileSystem, "fs-1", &t), None, "an owner tag alone is not ours");
        t.insert(tags::MANAGED_BY.into(), tags::MANAGED_BY_VALUE.into());
        t.insert(tags::DELETION_POLICY.into(), "Delete".into());
        let m = marked_by_tags(Kind::FileSystem, "fs-1", &t).expect("marked");
        assert_eq!((m.owner_uid.as_str(), m.policy), ("u", Some(DeletionPolicy::Delete)));
        t.remove(tags::OWNER_UID);
        assert_eq!(marked_by_tags(Kind::FileSystem, "fs-1", &t), None, "no owner: never an orphan");
    }
}
