//! Steps 4-6: the StorageClass, PersistentVolume and PersistentVolumeClaim that expose the file
//! system. The `desired_*` functions are pure (unit-tested from fixtures); `apply_*` write them
//! with server-side apply under one field manager.
//!
//! Namespaced owners cannot own cluster-scoped objects, so the StorageClass and the PV carry
//! owner labels, are watched by label and are deleted by the finalizer. The claim is owned
//! (owner reference) by the LustreVolume.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{
    CSIPersistentVolumeSource, ObjectReference, PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeSpec, Pod, VolumeResourceRequirements,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use std::sync::Arc;

use kube::runtime::reflector::{ObjectRef, Store};
use kube::Resource;
use lustre_api::LustreVolume;
use serde_json::json;

use crate::aws::FileSystem;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::ownership::FIELD_MANAGER;
use crate::ownership::{cluster_object_name, labelled_for, owner_labels, owns_object};

/// The provisioner named in our StorageClasses. No provisioner by that name exists, so nobody can
/// create file systems through the class (unlike `fsx.csi.aws.com`, which would let any
/// namespace create file systems with our subnet and security group).
pub(crate) const STATIC_PROVISIONER: &str = "lustre.fsx.dev/static";
/// The CSI driver that mounts the volume on the nodes.
pub(crate) const CSI_DRIVER: &str = "fsx.csi.aws.com";

/// The watch caches of the objects the operator made (labelled with its owner labels); every
/// read comes from here. A claim of the same name that the operator did not make is not in the
/// cache: creating it then answers 409, and only that rare path reads the claim from the apiserver.
#[derive(Clone)]
pub(crate) struct ObjectCaches {
    pub(crate) claims: Store<PersistentVolumeClaim>,
    pub(crate) volumes: Store<PersistentVolume>,
    pub(crate) classes: Store<StorageClass>,
    /// Claims this process created that the claim cache may not show yet (a busy apiserver
    /// delivers the watch event later than the PV's or the StorageClass's, which wake the
    /// volume): without it such a pass would try the create again (409, then a GET).
    created_claims: Arc<Recent<ObjectRef<PersistentVolumeClaim>, PersistentVolumeClaim>>,
    /// What deletion confirmed at the apiserver, by volume UID.
    settled: Arc<Recent<(String, Settled), ()>>,
    /// The last list of a namespace's pods (only which pod names which claim), shared for
    /// [`POD_LIST_MEMORY`] by every volume of the namespace whose claim is held: a thousand
    /// claims waiting in kube-controller-manager's queue cost a few lists, not one per volume
    /// and pass. The lock is held across the list, so passes asking at once share one.
    pod_lists: Arc<tokio::sync::Mutex<HashMap<String, (Instant, PodClaims)>>>,
}

/// Which pod (by name) names which claims.
type PodClaims = Arc<Vec<(String, Vec<String>)>>;

/// How long a list of a namespace's pods names the users of its held claims.
const POD_LIST_MEMORY: Duration = Duration::from_secs(5);

/// How long what this process did stands in for what the caches do not show yet.
const RECENT_MEMORY: Duration = Duration::from_secs(60);

/// What this process did moments ago, each entry kept for [`RECENT_MEMORY`].
struct Recent<K, V>(Mutex<HashMap<K, (V, Instant)>>);

impl<K, V> Default for Recent<K, V> {
    fn default() -> Self {
        Recent(Mutex::new(HashMap::new()))
    }
}

impl<K: Eq + std::hash::Hash, V> Recent<K, V> {
    /// The entries younger than [`RECENT_MEMORY`] (older ones are dropped here).
    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<K, (V, Instant)>> {
        let mut entries = self.0.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, (_, at)| at.elapsed() < RECENT_MEMORY);
        entries
    }

    fn remember(&self, key: K, value: V) {
        self.live().insert(key, (value, Instant::now()));
    }
}

impl ObjectCaches {
    pub(crate) fn new(
        claims: Store<PersistentVolumeClaim>,
        volumes: Store<PersistentVolume>,
        classes: Store<StorageClass>,
    ) -> Self {
        ObjectCaches {
            claims,
            volumes,
            classes,
            created_claims: Arc::default(),
            settled: Arc::default(),
            pod_lists: Arc::default(),
        }
    }

    /// Which pod of `namespace` names which claim, from a list at most [`POD_LIST_MEMORY`] old.
    async fn claim_users_in(&self, ctx: &Context, namespace: &str) -> Result<PodClaims> {
        let mut lists = self.pod_lists.lock().await;
        lists.retain(|_, (at, _)| at.elapsed() < POD_LIST_MEMORY);
        if let Some((_, users)) = lists.get(namespace) {
            return Ok(users.clone());
        }
        let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
        let listed = pods.list(&ListParams::default()).await?;
        let users: PodClaims = Arc::new(
            listed.items.iter().map(|p| (p.metadata.name.clone().unwrap_or_default(), claims_named(p))).collect(),
        );
        lists.insert(namespace.to_string(), (Instant::now(), users.clone()));
        Ok(users)
    }

    /// The cached claim, else one this process created moments ago that the cache lacks.
    fn claim(&self, namespace: &str, name: &str) -> Option<Arc<PersistentVolumeClaim>> {
        let key = ObjectRef::new(name).within(namespace);
        let mut created = self.created_claims.live();
        match self.claims.get(&key) {
            Some(cached) => {
                created.remove(&key);
                Some(cached)
            }
            None => created.get(&key).map(|(claim, _)| Arc::new(claim.clone())),
        }
    }

    fn remember_created(&self, claim: &PersistentVolumeClaim) {
        self.created_claims.remember(ObjectRef::from_obj(claim), claim.clone());
    }

    fn volume(&self, name: &str) -> Option<Arc<PersistentVolume>> {
        self.volumes.get(&ObjectRef::new(name))
    }

    fn class(&self, name: &str) -> Option<Arc<StorageClass>> {
        self.classes.get(&ObjectRef::new(name))
    }
}

/// Whether a create failed because the object exists already.
fn already_exists(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

/// A claim's phase as the PV binder reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClaimPhase {
    Pending,
    Bound,
    Lost,
    Other(String),
}

impl ClaimPhase {
    fn from_status(phase: Option<&str>) -> ClaimPhase {
        match phase {
            None | Some("Pending") => ClaimPhase::Pending,
            Some("Bound") => ClaimPhase::Bound,
            Some("Lost") => ClaimPhase::Lost,
            Some(other) => ClaimPhase::Other(other.to_string()),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            ClaimPhase::Pending => "Pending",
            ClaimPhase::Bound => "Bound",
            ClaimPhase::Lost => "Lost",
            ClaimPhase::Other(s) => s,
        }
    }
}

pub(crate) fn desired_storage_class(lv: &LustreVolume) -> StorageClass {
    StorageClass {
        metadata: ObjectMeta {
            name: Some(cluster_object_name(lv)),
            labels: Some(owner_labels(lv)),
            ..Default::default()
        },
        provisioner: STATIC_PROVISIONER.into(),
        reclaim_policy: Some("Retain".into()),
        volume_binding_mode: Some("Immediate".into()),
        allow_volume_expansion: Some(false),
        mount_options: Some(lv.spec.mount_options.clone()),
        ..Default::default()
    }
}

fn access_mode(lv: &LustreVolume) -> &'static str {
    if lv.spec.claim.read_only {
        "ReadOnlyMany"
    } else {
        "ReadWriteMany"
    }
}

/// The size Kubernetes sees: what FSx reports, else what the spec asks.
fn storage(lv: &LustreVolume, fs: &FileSystem) -> BTreeMap<String, Quantity> {
    let capacity = fs.capacity_gib.or(lv.spec.storage_capacity_gib).unwrap_or_default();
    BTreeMap::from([("storage".to_string(), Quantity(format!("{capacity}Gi")))])
}

pub(crate) fn desired_persistent_volume(lv: &LustreVolume, fs: &FileSystem) -> PersistentVolume {
    let attributes = BTreeMap::from([
        ("dnsname".to_string(), fs.dns_name.clone().unwrap_or_default()),
        ("mountname".to_string(), fs.mount_name.clone().unwrap_or_default()),
    ]);
    PersistentVolume {
        metadata: ObjectMeta {
            name: Some(cluster_object_name(lv)),
            labels: Some(owner_labels(lv)),
            ..Default::default()
        },
        spec: Some(PersistentVolumeSpec {
            capacity: Some(storage(lv, fs)),
            access_modes: Some(vec![access_mode(lv).to_string()]),
            persistent_volume_reclaim_policy: Some("Retain".into()),
            storage_class_name: Some(cluster_object_name(lv)),
            mount_options: Some(lv.spec.mount_options.clone()),
            csi: Some(CSIPersistentVolumeSource {
                driver: CSI_DRIVER.into(),
                volume_handle: fs.id.clone(),
                read_only: Some(lv.spec.claim.read_only),
                volume_attributes: Some(attributes),
                ..Default::default()
            }),
            claim_ref: Some(ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("PersistentVolumeClaim".into()),
                namespace: lv.metadata.namespace.clone(),
                name: Some(lv.claim_name()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) fn desired_claim(lv: &LustreVolume, fs: &FileSystem) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(lv.claim_name()),
            namespace: lv.metadata.namespace.clone(),
            labels: Some(owner_labels(lv)),
            owner_references: lv.controller_owner_ref(&()).map(|o| vec![o]),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec![access_mode(lv).to_string()]),
            storage_class_name: Some(cluster_object_name(lv)),
            // No `volumeName`: the claim is made first, then the PV pre-bound to it by
            // `claimRef` {namespace, name, uid}, as external provisioners do. The PV controller,
            // woken by the new PV, binds the pair at once (PV status, then the claim's
            // `volumeName`, annotations and status: all its writes, none of ours). The claim's
            // UID in the PV is what keeps every other claim off it.
            resources: Some(VolumeResourceRequirements { requests: Some(storage(lv, fs)), ..Default::default() }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn create_params() -> PostParams {
    PostParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() }
}

fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

/// Applies the volume's StorageClass (restoring it if someone deleted it).
pub(crate) async fn apply_storage_class(ctx: &Context, caches: &ObjectCaches, lv: &LustreVolume) -> Result<()> {
    let name = cluster_object_name(lv);
    let classes: Api<StorageClass> = Api::all(ctx.client.clone());
    let desired_sc = desired_storage_class(lv);
    match caches.class(&name) {
        // StorageClass parameters are immutable: only create; labels are re-applied below.
        None => match classes.create(&create_params(), &desired_sc).await {
            Err(e) if !already_exists(&e) => return Err(e.into()),
            _ => {}
        },
        Some(existing) if existing.metadata.labels != desired_sc.metadata.labels => {
            classes
                .patch(
                    &name,
                    &apply_params(),
                    &Patch::Apply(&json!({
                        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                        "metadata": {"name": name, "labels": owner_labels(lv)}, "provisioner": STATIC_PROVISIONER,
                    })),
                )
                .await?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// Applies the PV (restoring it if someone deleted it), bound to `claim` (the one this volume
/// created) by its UID.
pub(crate) async fn apply_persistent_volume(
    ctx: &Context,
    caches: &ObjectCaches,
    lv: &LustreVolume,
    fs: &FileSystem,
    claim: &Claim,
) -> Result<()> {
    let claim_uid = claim.uid.as_deref();
    let name = cluster_object_name(lv);
    let volumes: Api<PersistentVolume> = Api::all(ctx.client.clone());
    let desired = desired_persistent_volume(lv, fs);
    match caches.volume(&name).map(|pv| (*pv).clone()) {
        // Our claim is bound, so the PV exists: the cache has not seen it yet.
        None if claim.phase == ClaimPhase::Bound => {}
        // The claim is seconds old and an earlier pass made it: that pass made the PV right after
        // (this pass was woken by the claim before the PV reached the cache). Had it failed in
        // between, the pass after the claim's first seconds creates the PV.
        None if claim.new && !claim.created_now => {}
        None => {
            let mut desired = desired;
            if let Some(r) = desired.spec.as_mut().and_then(|s| s.claim_ref.as_mut()) {
                r.uid = claim_uid.map(str::to_string);
            }
            match volumes.create(&create_params(), &desired).await {
                // The cache is behind: it exists; the next pass sees it.
                Err(e) if !already_exists(&e) => return Err(e.into()),
                _ => {}
            }
        }
        // Going away (a read-only change replaces it): made again once it is gone, never its
        // claim deleted a second time.
        Some(existing) if existing.metadata.deletion_timestamp.is_some() && labelled_for(&existing.metadata, lv) => {
            return Err(Error::Waiting(format!(
                "waiting for PersistentVolume {name} to be deleted before it is made again"
            )));
        }
        Some(existing) if read_only(&existing) != lv.spec.claim.read_only && labelled_for(&existing.metadata, lv) => {
            // A PV's source and a claim's access modes cannot change: replace both. Both are
            // deleted now and each waits for its protection: the claim while pods use it, the PV
            // while it is bound to the claim. The passes after wait for the PV to go (the branch
            // above), then make the claim and the PV again. The PV goes first so that no pass
            // makes a new claim while the old PV still stands.
            match volumes.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
            let mode = if lv.spec.claim.read_only { "read-only" } else { "read-write" };
            let note = format!("re-creating PersistentVolume {name} and claim {} {mode}", lv.claim_name());
            ctx.events.normal(lv, "ClaimAccessChanging", &note).await;
            delete_claim(ctx, caches, lv).await?;
            return Err(Error::Waiting(note));
        }
        Some(existing) if bound_uid(&existing).is_some_and(|uid| Some(uid) != claim_uid) => {
            // Released by an earlier claim of this name: point it at the claim that exists now.
            let rebind = json!({"spec": {"claimRef": {"uid": claim_uid, "resourceVersion": null}}});
            volumes.patch(&name, &PatchParams::default(), &Patch::Merge(&rebind)).await?;
        }
        Some(existing) => {
            // claimRef is an atomic struct that the PV binder completes (uid, resourceVersion):
            // it is set at creation only, so applying never takes it back from the binder.
            let spec = desired.spec.clone().unwrap_or_default();
            let have = existing.spec.clone().unwrap_or_default();
            if existing.metadata.labels != desired.metadata.labels
                || have.capacity != spec.capacity
                || have.mount_options != spec.mount_options
            {
                let patch = json!({
                    "apiVersion": "v1", "kind": "PersistentVolume",
                    "metadata": {"name": name, "labels": desired.metadata.labels},
                    "spec": {"capacity": spec.capacity, "mountOptions": spec.mount_options},
                });
                volumes.patch(&name, &apply_params(), &Patch::Apply(&patch)).await?;
            }
        }
    }
    Ok(())
}

/// The conflict when the claim's name is taken by a claim this volume did not create.
fn claim_taken(lv: &LustreVolume) -> Error {
    Error::Conflict(format!(
        "a PersistentVolumeClaim named {} already exists in {} and is not owned by this LustreVolume; delete it or set spec.claim.name to another name",
        lv.claim_name(),
        lv.metadata.namespace.as_deref().unwrap_or_default()
    ))
}

/// The UID of the claim the PV is bound to, if any.
fn bound_uid(pv: &PersistentVolume) -> Option<&str> {
    pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).and_then(|r| r.uid.as_deref())
}

/// Whether the PV mounts read-only.
fn read_only(pv: &PersistentVolume) -> bool {
    pv.spec.as_ref().and_then(|s| s.csi.as_ref()).and_then(|c| c.read_only).unwrap_or(false)
}

/// How long a claim counts as new: the binder binds a claim and its PV within moments.
pub(crate) const NEW_CLAIM: std::time::Duration = std::time::Duration::from_secs(5);

/// The claim as the volume's objects need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) phase: ClaimPhase,
    pub(crate) uid: Option<String>,
    /// Created moments ago (this call, or within [`NEW_CLAIM`]): the PV binder is about to bind it.
    pub(crate) new: bool,
    /// Created by this call.
    pub(crate) created_now: bool,
}

pub(crate) async fn ensure_claim(
    ctx: &Context,
    caches: &ObjectCaches,
    lv: &LustreVolume,
    fs: &FileSystem,
) -> Result<Claim> {
    let ns = lv.metadata.namespace.as_deref().unwrap_or_default();
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), ns);
    let mut created_now = false;
    let claim = match caches.claim(ns, &lv.claim_name()).map(|c| (*c).clone()) {
        Some(c) => {
            if !owns_object(&c.metadata, lv) {
                return Err(claim_taken(lv));
            }
            c
        }
        None => {
            // Created before its PV, so the PV can name the claim's UID and only this claim can
            // ever bind it. A claim's spec is immutable once bound: create it, never rewrite it.
            match claims.create(&create_params(), &desired_claim(lv, fs)).await {
                Ok(c) => {
                    created_now = true;
                    caches.remember_created(&c);
                    // No event: the phase event to Available names the claim.
                    tracing::info!(volume = %crate::ownership::display(lv), claim = %lv.claim_name(), "created claim");
                    c
                }
                // Someone else's claim of that name (not in our cache), or ours not cached yet.
                Err(e) if already_exists(&e) => {
                    let existing = claims.get(&lv.claim_name()).await?;
                    if !owns_object(&existing.metadata, lv) {
                        return Err(claim_taken(lv));
                    }
                    existing
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let phase = ClaimPhase::from_status(claim.status.as_ref().and_then(|s| s.phase.as_deref()));
    let age =
        claim.metadata.creation_timestamp.as_ref().map(|t| k8s_openapi::jiff::Timestamp::now().duration_since(t.0));
    let new = created_now || age.is_some_and(|a| a.as_secs() < NEW_CLAIM.as_secs() as i64);
    Ok(Claim { phase, uid: claim.metadata.uid, new, created_now })
}

/// What deletion has confirmed at the apiserver for a volume (by UID), so that later passes ask
/// the cache alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Settled {
    /// The claim is gone.
    Claim,
    /// The PV is gone.
    Volume,
    /// The StorageClass is gone.
    Class,
}

impl ObjectCaches {
    /// Whether deletion confirmed `what` for this volume moments ago. Only a volume being deleted
    /// remembers: it never goes back to making objects, and its UID names no other volume.
    fn settled(&self, lv: &LustreVolume, what: Settled) -> bool {
        lv.metadata.deletion_timestamp.is_some()
            && self.settled.live().contains_key(&(crate::ownership::uid(lv).to_string(), what))
    }

    fn settle(&self, lv: &LustreVolume, what: Settled) {
        if lv.metadata.deletion_timestamp.is_some() {
            self.settled.remember((crate::ownership::uid(lv).to_string(), what), ());
        }
    }
}

/// How long a claim may be in deletion before the wait's message names what holds it:
/// kube-controller-manager's pvc-protection controller lets an unused claim go within moments, so
/// the first passes of a deletion ask nothing more.
const CLAIM_HELD_AFTER: Duration = Duration::from_secs(5);

/// Deletes the volume's claim; Ok once it is gone.
///
/// Whether a pod still uses the claim is kube-controller-manager's decision: its pvc-protection
/// finalizer stays on the claim while any pod uses it, so the file system waits for the claim's
/// absence and for nothing else. The cache answers while it shows the claim; that the claim is
/// gone is confirmed once at the apiserver (a cache that is behind must never let the file system
/// go while a claim exists). Once the claim has been in deletion for [`CLAIM_HELD_AFTER`], the
/// wait's message names the pods that hold it (a list of the claim's namespace), or the
/// finalizers when no pod does.
pub(crate) async fn delete_claim(ctx: &Context, caches: &ObjectCaches, lv: &LustreVolume) -> Result<()> {
    if caches.settled(lv, Settled::Claim) {
        return Ok(());
    }
    let ns = lv.metadata.namespace.as_deref().unwrap_or_default();
    let name = lv.claim_name();
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), ns);
    let claim = match caches.claim(ns, &name) {
        Some(cached) => (*cached).clone(),
        None => match claims.get_opt(&name).await? {
            Some(claim) => claim,
            None => {
                caches.settle(lv, Settled::Claim);
                return Ok(());
            }
        },
    };
    if !owns_object(&claim.metadata, lv) {
        return Ok(()); // not ours: never touch it
    }
    let Some(since) = claim.metadata.deletion_timestamp.as_ref() else {
        return match claims.delete(&name, &DeleteParams::default()).await {
            Err(kube::Error::Api(s)) if s.code == 404 => {
                caches.settle(lv, Settled::Claim);
                Ok(())
            }
            Err(e) => Err(e.into()),
            // Gone at once (no protection finalizer).
            Ok(either) if either.is_right() => {
                caches.settle(lv, Settled::Claim);
                Ok(())
            }
            Ok(_) => Err(Error::ClaimGoing(format!("waiting for PersistentVolumeClaim {name} to be deleted"))),
        };
    };
    let held_for = k8s_openapi::jiff::Timestamp::now().duration_since(since.0);
    if held_for.as_secs() < CLAIM_HELD_AFTER.as_secs() as i64 {
        return Err(Error::ClaimGoing(format!("waiting for PersistentVolumeClaim {name} to be deleted")));
    }
    let users: Vec<String> = caches
        .claim_users_in(ctx, ns)
        .await?
        .iter()
        .filter(|(_, claims)| claims.contains(&name))
        .map(|(pod, _)| pod.clone())
        .collect();
    if users.is_empty() {
        let finalizers = claim.metadata.finalizers.clone().unwrap_or_default().join(", ");
        return Err(Error::ClaimHeld(format!(
            "waiting for PersistentVolumeClaim {name} to be deleted; no pod uses it, its finalizers ({finalizers}) hold it; the file system is kept until then"
        )));
    }
    Err(Error::ClaimHeld(format!(
        "waiting for pod(s) {} to stop using PersistentVolumeClaim {name}; the file system is kept until then",
        users.join(", ")
    )))
}

/// The claims a pod names among its volumes, whatever its phase (a finished pod still holds its
/// claim until it is deleted, as kube-controller-manager sees it too).
fn claims_named(pod: &Pod) -> Vec<String> {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| v.persistent_volume_claim.as_ref().map(|c| c.claim_name.clone()))
        .collect()
}

/// The pods that name claim `name` among their volumes.
#[cfg(test)]
fn claim_users(pods: &[Pod], name: &str) -> Vec<String> {
    pods.iter().filter(|p| claims_named(p).iter().any(|c| c == name)).filter_map(|p| p.metadata.name.clone()).collect()
}

/// Deletes the PV and the StorageClass (not found is done). The cache answers while it shows
/// them; an object the cache lacks is looked up once at the apiserver, so that one made moments
/// ago is not left behind.
pub(crate) async fn delete_storage_class_and_volume(
    ctx: &Context,
    caches: &ObjectCaches,
    lv: &LustreVolume,
) -> Result<()> {
    let name = cluster_object_name(lv);
    let cached = caches.volume(&name).map(|pv| pv.metadata.clone());
    delete_labelled::<PersistentVolume>(ctx, caches, lv, &name, cached, Settled::Volume).await?;
    let cached = caches.class(&name).map(|sc| sc.metadata.clone());
    delete_labelled::<StorageClass>(ctx, caches, lv, &name, cached, Settled::Class).await
}

/// Deletes the cluster-scoped object `name` if it carries this volume's labels and is not being
/// deleted already (asked once is enough: the PV waits for its protection finalizer).
async fn delete_labelled<K>(
    ctx: &Context,
    caches: &ObjectCaches,
    lv: &LustreVolume,
    name: &str,
    cached: Option<ObjectMeta>,
    gone: Settled,
) -> Result<()>
where
    K: Resource<Scope = k8s_openapi::ClusterResourceScope> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    <K as Resource>::DynamicType: Default,
{
    if caches.settled(lv, gone) {
        return Ok(());
    }
    let api: Api<K> = Api::all(ctx.client.clone());
    let meta = match cached {
        Some(meta) => meta,
        None => match api.get_opt(name).await? {
            Some(obj) => obj.meta().clone(),
            None => {
                caches.settle(lv, gone);
                return Ok(());
            }
        },
    };
    if labelled_for(&meta, lv) && meta.deletion_timestamp.is_none() {
        match api.delete(name, &DeleteParams::default()).await {
            Ok(answer) => {
                // Held by a finalizer (the PV's protection): asked once is enough. Else gone at
                // once (the answer is the object as it was, or a status): no pass looks again.
                let held =
                    answer.left().is_some_and(|obj| obj.meta().finalizers.as_ref().is_some_and(|f| !f.is_empty()));
                if !held {
                    caches.settle(lv, gone);
                }
            }
            Err(kube::Error::Api(s)) if s.code == 404 => caches.settle(lv, gone),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(read_only: bool) -> LustreVolume {
        let spec = json!({"storageCapacityGiB": 1200, "network": {"subnetId": "subnet-0123456789abcdef0"},
                          "claim": {"readOnly": read_only}});
        crate::fixtures::volume("ml", "train", "1234-abcd", spec)
    }

    fn fs() -> FileSystem {
        FileSystem {
            id: "fs-0123456789abcdef0".into(),
            lifecycle: crate::aws::Lifecycle::Available,
            dns_name: Some("fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com".into()),
            mount_name: Some("abcdefgh".into()),
            capacity_gib: Some(1200),
            ..Default::default()
        }
    }

    #[test]
    fn persistent_volume_points_at_the_file_system_and_prebinds_the_claim() {
        let pv = desired_persistent_volume(&lv(false), &fs());
        let spec = pv.spec.expect("spec");
        let csi = spec.csi.expect("csi");
        assert_eq!(csi.driver, "fsx.csi.aws.com");
        assert_eq!(csi.volume_handle, "fs-0123456789abcdef0");
        let attrs = csi.volume_attributes.expect("attributes");
        assert_eq!(attrs["dnsname"], "fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com");
        assert_eq!(attrs["mountname"], "abcdefgh");
        assert_eq!(spec.access_modes, Some(vec!["ReadWriteMany".to_string()]));
        assert_eq!(spec.persistent_volume_reclaim_policy.as_deref(), Some("Retain"));
        assert_eq!(spec.mount_options, Some(vec!["flock".to_string()]));
        let claim_ref = spec.claim_ref.expect("claimRef");
        assert_eq!((claim_ref.namespace.as_deref(), claim_ref.name.as_deref()), (Some("ml"), Some("train")));
        assert_eq!(spec.capacity.expect("capacity")["storage"].0, "1200Gi");
    }

    #[test]
    fn read_only_volumes_are_read_only_many() {
        let pv = desired_persistent_volume(&lv(true), &fs());
        assert_eq!(pv.spec.expect("spec").access_modes, Some(vec!["ReadOnlyMany".to_string()]));
    }

    #[test]
    fn storage_class_cannot_provision() {
        let sc = desired_storage_class(&lv(false));
        assert_eq!(sc.provisioner, STATIC_PROVISIONER);
        assert_ne!(sc.provisioner, CSI_DRIVER);
        assert_eq!(sc.reclaim_policy.as_deref(), Some("Retain"));
        assert_eq!(sc.volume_binding_mode.as_deref(), Some("Immediate"));
        assert_eq!(sc.metadata.labels.expect("labels")[lustre_api::tags::OWNER_UID], "1234-abcd");
    }

    #[test]
    fn claim_is_owned_and_left_for_the_binder_to_bind() {
        let c = desired_claim(&lv(false), &fs());
        let owner = &c.metadata.owner_references.expect("owner")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
            ("LustreVolume", "1234-abcd", Some(true))
        );
        assert_eq!(c.metadata.annotations, None, "the binder's annotations are the binder's");
        let spec = c.spec.expect("spec");
        assert_eq!(spec.storage_class_name.as_deref(), Some("lustre-1234-abcd"), "its own class");
        assert_eq!(spec.volume_name, None, "the PV names the claim (claimRef with its UID), never the other way");
        assert_eq!(c.status, None, "a claim's status is the binder's");
    }

    fn pod(name: &str, claim: &str, node: Option<&str>, phase: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "ml"},
            "spec": {"nodeName": node, "containers": [{"name": "c"}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}},
                                 {"name": "scratch", "emptyDir": {}}]},
            "status": {"phase": phase}
        }))
        .expect("fixture parses")
    }

    #[test]
    fn every_pod_that_names_the_claim_uses_it_scheduled_or_not_running_or_done() {
        let pods = vec![
            pod("running", "train", Some("node-a"), "Running"),
            pod("pending", "train", None, "Pending"),
            pod("finished", "train", Some("node-a"), "Succeeded"),
            pod("other", "eval", Some("node-a"), "Running"),
        ];
        assert_eq!(claim_users(&pods, "train"), vec!["running", "pending", "finished"]);
        assert!(claim_users(&pods, "nobody").is_empty());
        assert!(claim_users(&[], "train").is_empty());
    }

    #[test]
    fn only_a_volume_being_deleted_remembers_what_deletion_confirmed() {
        let caches = ObjectCaches::new(
            kube::runtime::reflector::store().0,
            kube::runtime::reflector::store().0,
            kube::runtime::reflector::store().0,
        );
        let live = lv(false);
        caches.settle(&live, Settled::Claim);
        assert!(!caches.settled(&live, Settled::Claim), "a live volume re-makes its claim: nothing is remembered");
        let mut doomed = lv(false);
        doomed.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now()));
        assert!(!caches.settled(&doomed, Settled::Claim));
        caches.settle(&doomed, Settled::Claim);
        assert!(caches.settled(&doomed, Settled::Claim));
        assert!(!caches.settled(&doomed, Settled::Volume), "each fact on its own");
        let mut other = doomed.clone();
        other.metadata.uid = Some("5678-efgh".into());
        assert!(!caches.settled(&other, Settled::Claim), "by UID");
    }
}
