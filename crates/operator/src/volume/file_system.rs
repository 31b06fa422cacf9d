//! Step 3: the FSx for Lustre file system.
//!
//! Found by the ID in status, else by the owner-UID tag, else created with a client request
//! token derived from the UID. A file system that disappears is reported Lost, never re-created.
//! Its lifecycle is followed through the shared [`FileSystemPoller`](crate::aws::poller).

use lustre_api::class::ClassAdoption;
use lustre_api::{DeletionPolicy, LustreVolume};

use crate::aws::{ErrorKind, FileSystem, FileSystemRequest, Lifecycle};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::ownership;

/// What the file-system step saw.
#[derive(Debug, Clone, PartialEq)]
// One per pass, on the stack of the step that looks: nearly always Present, so boxing it would
// add an allocation per pass and save nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Observed {
    /// No file system yet (nothing in status, nothing carries the owner tag).
    Absent,
    Present(FileSystem),
    /// The file system in status (or the adopted one) no longer exists.
    Lost(String),
}

/// The CreateFileSystem request for `lv`, placed in `security_groups`.
pub(crate) fn desired(lv: &LustreVolume, security_groups: &[String]) -> FileSystemRequest {
    let s = &lv.spec;
    let s3 = s.s3.clone().unwrap_or_default();
    FileSystemRequest {
        client_request_token: ownership::client_request_token(lv),
        capacity_gib: s.storage_capacity_gib.unwrap_or_default(),
        deployment_type: s.deployment_type,
        storage_type: s.storage_type,
        per_unit_storage_throughput: s.per_unit_storage_throughput,
        drive_cache_type: s.drive_cache_type,
        data_compression: s.data_compression,
        lustre_version: s.lustre_version,
        metadata: s.metadata_configuration.map(|m| (m.mode.as_str().to_string(), m.iops)),
        root_squash: s.root_squash_configuration.clone(),
        log: s.log_level.map(|l| {
            (l.as_str().to_string(), s.log_destination.clone().filter(|_| l != lustre_api::LogLevel::Disabled))
        }),
        kms_key_id: s.kms_key_id.clone(),
        weekly_maintenance_start_time: s.weekly_maintenance_start_time.clone(),
        automatic_backup_retention_days: s.automatic_backup_retention_days,
        import_path: s3.import_path,
        export_path: s3.export_path,
        auto_import_policy: s3.auto_import_policy,
        subnet_id: s.network.subnet_id.clone(),
        security_group_ids: security_groups.to_vec(),
        tags: file_system_tags(lv),
    }
}

/// The owner tags, and the deletion policy in force as the volume and its class are now (the
/// class has filled in `spec.deletionPolicy` when the volume sets none).
fn file_system_tags(lv: &LustreVolume) -> std::collections::BTreeMap<String, String> {
    let mut tags = ownership::owner_tags(lv);
    tags.insert(lustre_api::tags::DELETION_POLICY.into(), lv.spec.effective_deletion_policy().as_str().into());
    tags
}

/// The deletion policy recorded on `fs` (None: a file system made before policies were recorded,
/// or a tag someone changed to something that is not a policy).
pub(crate) fn recorded_policy(fs: &FileSystem) -> Option<DeletionPolicy> {
    fs.tags.get(lustre_api::tags::DELETION_POLICY).and_then(|v| DeletionPolicy::parse(v))
}

/// The policy the tag of `fs` should say, when it does not say it now: the volume's own
/// `spec.deletionPolicy` (`explicit`) when it sets one, else what was recorded; a file system
/// without a record gets the policy in force now (`effective`: the volume under its class).
pub(crate) fn policy_to_record(
    recorded: Option<DeletionPolicy>,
    explicit: Option<DeletionPolicy>,
    effective: DeletionPolicy,
) -> Option<DeletionPolicy> {
    match (recorded, explicit) {
        (Some(r), Some(e)) if r != e => Some(e),
        (Some(_), _) => None,
        (None, e) => Some(e.unwrap_or(effective)),
    }
}

/// Keeps the deletion-policy tag of the volume's own file system true to [`policy_to_record`]:
/// a class edited later changes nothing recorded; an edit of the volume's spec does. One
/// TagResource when it changes, none otherwise.
pub(crate) async fn keep_policy_recorded(
    ctx: &Context,
    lv: &LustreVolume,
    explicit: Option<DeletionPolicy>,
    fs: &FileSystem,
) -> Result<()> {
    if lv.spec.file_system_id.is_some()
        || fs.lifecycle == Lifecycle::Deleting
        || !ownership::is_ours(fs, ownership::uid(lv))
    {
        return Ok(());
    }
    let recorded = recorded_policy(fs);
    let Some(want) = policy_to_record(recorded, explicit, lv.spec.effective_deletion_policy()) else { return Ok(()) };
    let Some(arn) = fs.arn.as_deref() else { return Ok(()) };
    ctx.aws.tag_resource(arn, &[(lustre_api::tags::DELETION_POLICY, want.as_str())]).await?;
    ctx.poller.refresh(&fs.id);
    if let Some(before) = recorded {
        let note = format!("deletion policy of {} is now {} (was {})", fs.id, want.as_str(), before.as_str());
        ctx.events.normal(lv, "DeletionPolicyChanged", &note).await;
    }
    Ok(())
}

/// Finds the file system of `lv` without creating anything: by the adopted ID, the ID in status,
/// or the owner tag. A file system made for an earlier volume of the same namespace and name,
/// whose owner is gone (`alive` says whether a UID is a live volume), is [`restore`]d or waited
/// about, never silently replaced by a second one.
pub(crate) async fn find(
    ctx: &Context,
    lv: &LustreVolume,
    status_id: Option<&str>,
    alive: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Observed> {
    let uid = ownership::uid(lv);
    if let Some(id) = lv.spec.file_system_id.as_deref().or(status_id) {
        return match ctx.poller.observe(id).await? {
            Some(fs) if lv.spec.file_system_id.is_none() && !ownership::is_ours(&fs, uid) => {
                // A restored status naming the earlier volume's file system.
                if is_predecessor(&fs, lv, alive) {
                    return restore(ctx, lv, fs).await;
                }
                ownership::check_ours(&fs, uid)?;
                Ok(Observed::Present(fs))
            }
            Some(fs) => Ok(Observed::Present(fs)),
            None => Ok(Observed::Lost(id.to_string())),
        };
    }
    // One listing answers both questions: this volume's file system, and an earlier one's.
    let mut found = ctx.poller.listed(|fs| ownership::is_ours(fs, uid) || same_owner_name(fs, lv)).await?;
    found.retain(|fs| fs.lifecycle != Lifecycle::Deleting);
    let (mine, others): (Vec<FileSystem>, Vec<FileSystem>) =
        found.into_iter().partition(|fs| ownership::is_ours(fs, uid));
    if let Some(fs) = ownership::the_one_owned(mine, uid)? {
        return Ok(Observed::Present(fs));
    }
    let mut earlier: Vec<FileSystem> = others.into_iter().filter(|fs| is_predecessor(fs, lv, alive)).collect();
    match earlier.len() {
        0 => Ok(Observed::Absent),
        1 => restore(ctx, lv, earlier.remove(0)).await,
        _ => {
            let ids: Vec<&str> = earlier.iter().map(|f| f.id.as_str()).collect();
            if let Some(id) = restore_from(lv).filter(|id| ids.contains(id)) {
                let fs = earlier.into_iter().find(|f| f.id == id).expect("listed");
                return restore(ctx, lv, fs).await;
            }
            if restore_from(lv) == Some(lustre_api::tags::RESTORE_NONE) {
                return Ok(Observed::Absent);
            }
            Err(Error::PreviousFileSystem(format!(
                "file systems {} were made for earlier LustreVolumes named {} and still exist; annotate this volume {}=<one of them> to take it over with its data, or {}={} to make a new, empty one",
                ids.join(", "),
                ownership::display(lv),
                lustre_api::tags::RESTORE_FROM_ANNOTATION,
                lustre_api::tags::RESTORE_FROM_ANNOTATION,
                lustre_api::tags::RESTORE_NONE
            )))
        }
    }
}

/// Whether `fs` was made by the operator for a volume of `lv`'s namespace and name.
fn same_owner_name(fs: &FileSystem, lv: &LustreVolume) -> bool {
    use lustre_api::tags::{MANAGED_BY, MANAGED_BY_VALUE, OWNER_NAME, OWNER_NAMESPACE};
    fs.tags.get(MANAGED_BY).map(String::as_str) == Some(MANAGED_BY_VALUE)
        && fs.tags.get(OWNER_NAMESPACE) == lv.metadata.namespace.as_ref()
        && fs.tags.get(OWNER_NAME) == lv.metadata.name.as_ref()
}

/// Whether `fs` is an earlier volume's of the same namespace and name, and that volume is gone.
pub(crate) fn is_predecessor(fs: &FileSystem, lv: &LustreVolume, alive: &(dyn Fn(&str) -> bool + Sync)) -> bool {
    let owner = fs.tags.get(lustre_api::tags::OWNER_UID).map(String::as_str).unwrap_or_default();
    same_owner_name(fs, lv) && !owner.is_empty() && owner != ownership::uid(lv) && !alive(owner)
}

fn restore_from(lv: &LustreVolume) -> Option<&str> {
    lv.metadata.annotations.as_ref()?.get(lustre_api::tags::RESTORE_FROM_ANNOTATION).map(String::as_str)
}

/// What to do with `earlier`, the file system of a gone volume of the same namespace and name:
/// take it over when the volume's restore-from annotation names it (its owner tags, its managed
/// security group's and its associations' are moved to this volume, so every later lookup by
/// the owner tag finds them), make a new one when it says `none`, else wait and say both ways.
async fn restore(ctx: &Context, lv: &LustreVolume, earlier: FileSystem) -> Result<Observed> {
    use lustre_api::tags::{OWNER_UID, RESTORE_FROM_ANNOTATION, RESTORE_NONE};
    match restore_from(lv) {
        Some(id) if id == earlier.id => {}
        Some(RESTORE_NONE) => return Ok(Observed::Absent),
        _ => {
            let owner = earlier.tags.get(OWNER_UID).cloned().unwrap_or_default();
            return Err(Error::PreviousFileSystem(format!(
                "file system {} was made for an earlier LustreVolume {} (UID {owner}, now gone) and still exists with its data; annotate this volume {RESTORE_FROM_ANNOTATION}={} to take it over, or {RESTORE_FROM_ANNOTATION}={RESTORE_NONE} to make a new, empty one",
                earlier.id,
                ownership::display(lv),
                earlier.id
            )));
        }
    }
    let (uid, old) = (ownership::uid(lv), earlier.tags.get(OWNER_UID).cloned().unwrap_or_default());
    let new_owner = [(OWNER_UID, uid)];
    for group in ctx.aws.security_groups_tagged(OWNER_UID, &old).await? {
        if group.tags.get(lustre_api::tags::MANAGED_BY).map(String::as_str) == Some(lustre_api::tags::MANAGED_BY_VALUE)
        {
            ctx.aws.tag_security_group(&group.id, &new_owner).await?;
        }
    }
    for association in ctx.aws.associations_of(&earlier.id).await? {
        if let (true, Some(arn)) = (ownership::is_ours(&association, &old), association.arn.as_deref()) {
            ctx.aws.tag_resource(arn, &new_owner).await?;
        }
    }
    // The file system last: until it carries the new UID, a retried pass comes back here.
    let arn = earlier.arn.as_deref().ok_or_else(|| Error::Waiting(format!("no ARN for {} yet", earlier.id)))?;
    ctx.aws.tag_resource(arn, &new_owner).await?;
    ctx.poller.refresh(&earlier.id);
    let note = format!(
        "took over file system {} of the earlier LustreVolume {} (UID {old}), with its data",
        earlier.id,
        ownership::display(lv)
    );
    ctx.events.normal(lv, "Restored", &note).await;
    let mut fs = earlier;
    fs.tags.insert(OWNER_UID.into(), uid.to_string());
    Ok(Observed::Present(fs))
}

/// Whether `lv` may adopt `fs`: a Lustre file system, not owned by another live LustreVolume
/// (`owner_alive` says whether the UID in its owner tag, if any, is another live volume), not
/// adopted already by another live volume (`adopted_by`: the earlier one, as namespace/name),
/// and allowed by the class: listed by ID, or carrying the class's required tag and made by no
/// other namespace (a file system one namespace released or left behind is another
/// namespace's only when the platform lists it by ID).
pub(crate) fn check_adoptable(
    fs: &FileSystem,
    lv: &LustreVolume,
    adoption: Option<&ClassAdoption>,
    owner_alive: bool,
    adopted_by: Option<&str>,
) -> Result<()> {
    let refuse = |why: String| Err(Error::AdoptionRefused(format!("cannot adopt {}: {why}", fs.id)));
    if !fs.is_lustre {
        return refuse("it is not an FSx for Lustre file system".into());
    }
    let owner = fs.tags.get(lustre_api::tags::OWNER_UID).map(String::as_str);
    if owner.is_some_and(|o| o != ownership::uid(lv)) && owner_alive {
        return refuse("it belongs to another LustreVolume".into());
    }
    if let Some(other) = adopted_by {
        return refuse(format!(
            "LustreVolume {other} adopted it first (one live volume per file system); delete that volume first"
        ));
    }
    let Some(adoption) = adoption else { return refuse("the LustreClass does not allow adoption".into()) };
    if adoption.file_system_ids.contains(&fs.id) {
        return Ok(());
    }
    let made_in = fs.tags.get(lustre_api::tags::OWNER_NAMESPACE).map(String::as_str);
    let namespace = lv.metadata.namespace.as_deref().unwrap_or_default();
    if let Some(other) = made_in.filter(|ns| *ns != namespace) {
        return refuse(format!(
            "it was made by namespace {other}; only a LustreClass that lists it in spec.adoption.fileSystemIds lets another namespace adopt it"
        ));
    }
    match &adoption.required_tag {
        Some(tag) if fs.tags.get(&tag.key) == Some(&tag.value) => Ok(()),
        Some(tag) => refuse(format!("the LustreClass only allows file systems tagged {}={}", tag.key, tag.value)),
        None => refuse("the LustreClass does not list it".into()),
    }
}

/// Creates the file system (idempotent through the client request token).
pub(crate) async fn create(ctx: &Context, lv: &LustreVolume, security_groups: &[String]) -> Result<FileSystem> {
    match ctx.aws.create_file_system(&desired(lv, security_groups)).await {
        Ok(fs) => {
            // No event: the status write that follows at once names the file system, and the
            // volume's one event until Ready is the phase event to Available.
            tracing::info!(
                volume = %crate::ownership::display(lv),
                file_system = %fs.id,
                security_groups = %security_groups.join(", "),
                "created file system"
            );
            Ok(fs)
        }
        Err(e) if e.is("InvalidNetworkSettings") && e.kind != ErrorKind::Terminal => Err(Error::Network(format!(
            "FSx rejected the network settings ({}); security-group rules can take a few seconds to apply, retrying",
            e.message
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Where the deletion of the file system stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Removal {
    /// Gone from FSx (or never created).
    Gone,
    /// Left in place under the Retain policy recorded on it (with its security group).
    Retained(String),
    /// Left in place: adopted, or not ours.
    Kept,
    /// FSx is deleting this file system.
    Deleting(String),
}

/// Whether FSx may take a final backup: a persistent type, not S3-linked, with backups kept.
fn final_backup(lv: &LustreVolume) -> bool {
    let s = &lv.spec;
    s.deployment_type.is_persistent() && s.s3.is_none() && s.automatic_backup_retention_days.unwrap_or(0) > 0
}

/// The file system a deletion has to deal with.
#[derive(Debug, Clone, PartialEq)]
// One per deletion pass (see Observed).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Doomed {
    /// Nothing to delete.
    Removed(Removal),
    /// Ours and live: delete it (after what must come first).
    Live(FileSystem),
}

/// Finds the file system the deletion of `lv` has to delete, if any: none that was adopted, none
/// that is not tagged with this volume's UID, none whose recorded policy is Retain. The policy
/// is the one recorded on the file system; only one made before policies were recorded falls
/// back to the volume's (with its class's default, as the class is now).
pub(crate) async fn doomed(ctx: &Context, lv: &LustreVolume, status_id: Option<&str>) -> Result<Doomed> {
    if lv.spec.file_system_id.is_some() {
        return Ok(Doomed::Removed(Removal::Kept));
    }
    let uid = ownership::uid(lv);
    let fs = match status_id {
        Some(id) => {
            // A fresh look before deciding, except while FSx deletes it (the poller follows that).
            if !ctx.poller.seen_deleting(id) {
                ctx.poller.refresh(id);
            }
            ctx.poller.observe(id).await?
        }
        None => ownership::the_one_owned(ctx.poller.owned_by(lustre_api::tags::OWNER_UID, uid).await?, uid)?,
    };
    let Some(fs) = fs else { return Ok(Doomed::Removed(Removal::Gone)) };
    if !ownership::is_ours(&fs, uid) {
        let note = format!("file system {} is not tagged with this volume's UID; leaving it", fs.id);
        ctx.events.warning(lv, "NotOwned", &note).await;
        return Ok(Doomed::Removed(Removal::Kept));
    }
    if fs.lifecycle == Lifecycle::Deleting {
        return Ok(Doomed::Removed(Removal::Deleting(fs.id)));
    }
    if recorded_policy(&fs).unwrap_or(lv.spec.effective_deletion_policy()) == DeletionPolicy::Retain {
        return Ok(Doomed::Removed(Removal::Retained(fs.id)));
    }
    Ok(Doomed::Live(fs))
}

/// Deletes `fs`, which [`doomed`] found. Scratch file systems get no delete configuration at all
/// (FSx rejects one); persistent ones take a final backup only where FSx allows it.
pub(crate) async fn delete(ctx: &Context, lv: &LustreVolume, fs: &FileSystem) -> Result<Removal> {
    let skip_final_backup = lv.spec.deployment_type.is_persistent().then(|| !final_backup(lv));
    match ctx.aws.delete_file_system(&fs.id, skip_final_backup).await {
        // The status write of this pass tells it (the phase event to Deleting, or the event
        // FileSystemDeleting when the phase was Deleting already).
        Ok(()) => tracing::info!(volume = %ownership::display(lv), file_system = %fs.id, "deleting file system"),
        Err(e) if e.is_not_found() => return Ok(Removal::Gone),
        Err(e) if e.is("BadRequest") || e.is("IncompatibleParameterError") => {
            return Err(Error::Waiting(format!("FSx cannot delete {} yet ({}): {}", fs.id, fs.lifecycle, e.message)))
        }
        Err(e) => return Err(e.into()),
    }
    // FSx's answer stands for the poller's next look: the file system is DELETING.
    ctx.poller.deleting(fs);
    Ok(Removal::Deleting(fs.id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(spec: serde_json::Value) -> LustreVolume {
        crate::fixtures::volume("ml", "train", "u-1", spec)
    }

    #[test]
    fn the_request_carries_the_spec_the_token_and_the_owner_tags() {
        let v = lv(serde_json::json!({
            "storageCapacityGiB": 2400, "deploymentType": "PERSISTENT_2", "perUnitStorageThroughput": 250,
            "network": {"subnetId": "subnet-0123456789abcdef0"}, "tags": {"team": "ml"}
        }));
        let r = desired(&v, &["sg-0123456789abcdef0".to_string()]);
        assert_eq!(
            r.client_request_token,
            crate::ownership::idempotency_token(crate::ownership::TokenPurpose::FileSystem, "u-1", &[])
        );
        assert_eq!((r.capacity_gib, r.per_unit_storage_throughput), (2400, Some(250)));
        assert_eq!(r.deployment_type.as_str(), "PERSISTENT_2");
        assert_eq!(r.security_group_ids, vec!["sg-0123456789abcdef0".to_string()]);
        assert_eq!(r.tags[lustre_api::tags::OWNER_UID], "u-1");
        assert_eq!(r.tags["team"], "ml");
        assert_eq!(r.import_path, None);
    }

    #[test]
    fn adoption_needs_lustre_no_live_owner_and_the_class_s_consent() {
        let v = lv(serde_json::json!({"fileSystemId": "fs-0123456789abcdef0"}));
        let mut fs = FileSystem { id: "fs-0123456789abcdef0".into(), is_lustre: true, ..Default::default() };
        let listed = ClassAdoption { file_system_ids: vec![fs.id.clone()], ..Default::default() };
        assert!(check_adoptable(&fs, &v, Some(&listed), false, None).is_ok());
        assert!(check_adoptable(&fs, &v, None, false, None).is_err());
        assert!(check_adoptable(&fs, &v, Some(&ClassAdoption::default()), false, None).is_err());
        let first = check_adoptable(&fs, &v, Some(&listed), false, Some("ml/first")).err().map(|e| e.to_string());
        assert!(first.is_some_and(|m| m.contains("ml/first adopted it first")), "one live adopter");
        fs.tags.insert(lustre_api::tags::OWNER_UID.into(), "someone-else".into());
        let err = check_adoptable(&fs, &v, Some(&listed), true, None).err().map(|e| e.to_string());
        assert!(err.is_some_and(|m| m.contains("belongs to another LustreVolume")));
        assert!(check_adoptable(&fs, &v, Some(&listed), false, None).is_ok(), "a released file system may be adopted");
        let tagged = ClassAdoption {
            required_tag: Some(lustre_api::class::ClassTag { key: "shareable".into(), value: "yes".into() }),
            ..Default::default()
        };
        assert!(check_adoptable(&fs, &v, Some(&tagged), false, None).is_err());
        fs.tags.insert("shareable".into(), "yes".into());
        assert!(check_adoptable(&fs, &v, Some(&tagged), false, None).is_ok());
        // Released by another namespace: only a listing by ID lets this one adopt it.
        fs.tags.insert(lustre_api::tags::OWNER_NAMESPACE.into(), "other-team".into());
        let err = check_adoptable(&fs, &v, Some(&tagged), false, None).err().map(|e| e.to_string());
        assert!(err.is_some_and(|m| m.contains("made by namespace other-team")));
        assert!(check_adoptable(&fs, &v, Some(&listed), false, None).is_ok());
        fs.tags.insert(lustre_api::tags::OWNER_NAMESPACE.into(), "ml".into());
        assert!(check_adoptable(&fs, &v, Some(&tagged), false, None).is_ok(), "its own namespace's");
        fs.is_lustre = false;
        assert!(check_adoptable(&fs, &v, Some(&tagged), false, None).is_err());
    }

    #[test]
    fn the_recorded_policy_changes_only_with_the_volume_s_own_spec() {
        use DeletionPolicy::{Delete, Retain};
        // (recorded, the volume's spec.deletionPolicy, in force now under the class) -> retag to
        let cases = [
            (Some(Retain), None, Delete, None), // the class became Delete: the record holds
            (Some(Retain), Some(Retain), Retain, None), // nothing to do
            (Some(Retain), Some(Delete), Delete, Some(Delete)), // the tenant chose Delete
            (Some(Delete), Some(Retain), Retain, Some(Retain)), // the tenant chose Retain (class allowed it)
            (Some(Delete), None, Retain, None), // the class became Retain: the record holds
            (None, None, Retain, Some(Retain)), // made before policies were recorded
            (None, Some(Delete), Retain, Some(Delete)),
        ];
        for (recorded, explicit, effective, want) in cases {
            assert_eq!(
                policy_to_record(recorded, explicit, effective),
                want,
                "{recorded:?} {explicit:?} {effective:?}"
            );
        }
        let mut fs = FileSystem::default();
        assert_eq!(recorded_policy(&fs), None);
        fs.tags.insert(lustre_api::tags::DELETION_POLICY.into(), "Retain".into());
        assert_eq!(recorded_policy(&fs), Some(Retain));
        fs.tags.insert(lustre_api::tags::DELETION_POLICY.into(), "retain-please".into());
        assert_eq!(recorded_policy(&fs), None);
        let v = lv(serde_json::json!({"storageCapacityGiB": 1200, "deletionPolicy": "Retain",
                                      "network": {"subnetId": "subnet-0123456789abcdef0"}}));
        assert_eq!(desired(&v, &[]).tags[lustre_api::tags::DELETION_POLICY], "Retain");
    }

    #[test]
    fn final_backup_only_for_persistent_unlinked_volumes_that_keep_backups() {
        let net = serde_json::json!({"subnetId": "subnet-0123456789abcdef0"});
        let scratch = lv(serde_json::json!({"storageCapacityGiB": 1200, "network": net}));
        assert!(!final_backup(&scratch));
        let persistent = lv(serde_json::json!({"storageCapacityGiB": 1200, "deploymentType": "PERSISTENT_1",
            "perUnitStorageThroughput": 50, "automaticBackupRetentionDays": 7, "network": net}));
        assert!(final_backup(&persistent));
        let mut linked = persistent.clone();
        linked.spec.s3 = Some(lustre_api::S3Spec { import_path: Some("s3://b/p".into()), ..Default::default() });
        assert!(!final_backup(&linked));
    }
}
