//! Step 3: the FSx for Lustre file system.
//!
//! Found by the ID in status, else by the owner-UID tag, else created with a client request
//! token derived from the UID. A file system that disappears is reported Lost, never re-created.
//! Its lifecycle is followed through the shared [`FileSystemPoller`](crate::file_system_poller).

use aws_sdk_fsx::types::{
    AutoImportPolicyType, CreateFileSystemLustreConfiguration, DataCompressionType, DriveCacheType, FileSystemType,
    LustreDeploymentType, StorageType, Tag,
};
use kube::runtime::reflector::ObjectRef;
use lustre_api::{tags, DeletionPolicy, LustreVolume};

use crate::aws::FileSystemInfo;
use crate::controller::Context;
use crate::error::{Error, Result};
use crate::names;
use crate::security_group::owner_tags;

/// What the file-system step saw.
#[derive(Debug, Clone)]
pub enum Observed {
    Present(FileSystemInfo),
    /// The file system in status (or the adopted one) no longer exists.
    Lost(String),
}

/// Finds the file system of `lv` without creating anything: by the adopted ID, the ID in status,
/// or the owner tag.
pub async fn find(ctx: &Context, lv: &LustreVolume, status_id: Option<&str>) -> Result<Option<Observed>> {
    let uid = names::uid(lv);
    if let Some(id) = lv.spec.file_system_id.as_deref().or(status_id) {
        return Ok(Some(match ctx.poller.observe(id).await? {
            Some(info) => {
                if lv.spec.file_system_id.is_none() && info.tag(tags::OWNER_UID) != Some(uid) {
                    return Err(Error::Conflict(format!(
                        "file system {id} in status is not tagged {}={uid}; refusing to manage it",
                        tags::OWNER_UID
                    )));
                }
                Observed::Present(info)
            }
            None => Observed::Lost(id.to_string()),
        }));
    }
    let mut found = ctx.aws.find_file_systems_by_tag(tags::OWNER_UID, uid).await?;
    found.retain(|fs| fs.lifecycle != "DELETING");
    match found.len() {
        0 => Ok(None),
        1 => Ok(Some(Observed::Present(found.remove(0)))),
        n => Err(Error::Conflict(format!(
            "{n} file systems carry {}={uid}: {}; delete the extra ones",
            tags::OWNER_UID,
            found.iter().map(|f| f.id.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Creates the file system (idempotent through the client request token).
pub async fn create(ctx: &Context, lv: &LustreVolume, security_groups: &[String]) -> Result<FileSystemInfo> {
    let s = &lv.spec;
    let mut lustre = CreateFileSystemLustreConfiguration::builder()
        .deployment_type(LustreDeploymentType::from(s.deployment_type.as_str()));
    if let Some(t) = s.per_unit_storage_throughput {
        lustre = lustre.per_unit_storage_throughput(t);
    }
    if let Some(d) = s.drive_cache_type {
        lustre = lustre.drive_cache_type(DriveCacheType::from(d.as_str()));
    }
    if let Some(c) = s.data_compression {
        lustre = lustre.data_compression_type(DataCompressionType::from(c.as_str()));
    }
    if let Some(w) = &s.weekly_maintenance_start_time {
        lustre = lustre.weekly_maintenance_start_time(w);
    }
    if let Some(days) = s.automatic_backup_retention_days {
        lustre = lustre.automatic_backup_retention_days(days);
    }
    if let Some(s3) = &s.s3 {
        lustre = lustre.set_import_path(s3.import_path.clone()).set_export_path(s3.export_path.clone());
        if let Some(p) = s3.auto_import_policy {
            lustre = lustre.auto_import_policy(AutoImportPolicyType::from(p.as_str()));
        }
    }
    let tags: Vec<Tag> = owner_tags(lv).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
    let request = ctx
        .aws
        .fsx
        .create_file_system()
        .client_request_token(names::client_request_token(lv))
        .file_system_type(FileSystemType::Lustre)
        .storage_capacity(s.storage_capacity_gib.unwrap_or_default())
        .storage_type(StorageType::from(s.storage_type.as_str()))
        .subnet_ids(&s.network.subnet_id)
        .set_security_group_ids(Some(security_groups.to_vec()))
        .file_system_type_version(s.lustre_version.as_str())
        .set_kms_key_id(s.kms_key_id.clone())
        .lustre_configuration(lustre.build())
        .set_tags(Some(tags));
    match ctx.aws.create_file_system(request).await {
        Ok(info) => {
            ctx.events
                .normal(lv, "FileSystemCreated", &format!("created file system {} ({})", info.id, info.lifecycle))
                .await;
            Ok(info)
        }
        Err(e) if e.is("InvalidNetworkSettings") => Err(Error::Network(format!(
            "FSx rejected the network settings ({}); security-group rules can take a few seconds to apply, retrying",
            e.message
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Follows `fs` from now on and grows it when the spec asks for more capacity.
pub async fn follow(ctx: &Context, lv: &LustreVolume, fs: &FileSystemInfo) -> Result<()> {
    ctx.poller.track(&fs.id, ObjectRef::from(lv));
    let wanted = lv.spec.storage_capacity_gib;
    if lv.spec.file_system_id.is_none() && fs.lifecycle == "AVAILABLE" && fs.actions_in_progress.is_empty() {
        if let (Some(want), Some(have)) = (wanted, fs.capacity_gib) {
            if want > have {
                match ctx.aws.grow_file_system(&fs.id, want).await {
                    Ok(()) => {
                        ctx.poller.invalidate(&fs.id);
                        ctx.events
                            .normal(
                                lv,
                                "CapacityIncreaseRequested",
                                &format!("growing {} from {have} to {want} GiB", fs.id),
                            )
                            .await;
                    }
                    Err(e) if e.is("BadRequest") => {
                        // e.g. the 6-hour wait between increases: say so and retry later.
                        return Err(Error::Waiting(format!("cannot grow {} yet: {}", fs.id, e.message)));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(())
}

/// Deletes the file system when the policy says so and it carries this volume's owner tag.
/// Returns Ok once it is gone (or kept); `Error::Waiting` while FSx is still deleting it.
pub async fn delete(ctx: &Context, lv: &LustreVolume, status_id: Option<&str>) -> Result<()> {
    if lv.spec.effective_deletion_policy() == DeletionPolicy::Retain || lv.spec.file_system_id.is_some() {
        if let Some(id) = lv.spec.file_system_id.as_deref().or(status_id) {
            ctx.poller.untrack(id);
        }
        return Ok(());
    }
    let uid = names::uid(lv);
    let fs = match status_id {
        Some(id) => {
            ctx.poller.invalidate(id);
            ctx.poller.observe(id).await?
        }
        None => {
            let mut found = ctx.aws.find_file_systems_by_tag(tags::OWNER_UID, uid).await?;
            found.pop()
        }
    };
    let Some(fs) = fs else {
        if let Some(id) = status_id {
            ctx.poller.untrack(id);
        }
        return Ok(());
    };
    if fs.tag(tags::OWNER_UID) != Some(uid) {
        ctx.events
            .warning(lv, "NotOwned", &format!("file system {} is not tagged with this volume's UID; leaving it", fs.id))
            .await;
        ctx.poller.untrack(&fs.id);
        return Ok(());
    }
    ctx.poller.track(&fs.id, ObjectRef::from(lv));
    if fs.lifecycle != "DELETING" {
        // A final backup only where FSx can take one and the spec keeps backups at all.
        let s = &lv.spec;
        let backup =
            s.deployment_type.is_persistent() && s.s3.is_none() && s.automatic_backup_retention_days.unwrap_or(0) > 0;
        match ctx.aws.delete_file_system(&fs.id, !backup).await {
            Ok(()) => ctx.events.normal(lv, "FileSystemDeleting", &format!("deleting file system {}", fs.id)).await,
            Err(e) if e.is("FileSystemNotFound") => {
                ctx.poller.untrack(&fs.id);
                return Ok(());
            }
            Err(e) if e.is("BadRequest") || e.is("IncompatibleParameterError") => {
                return Err(Error::Waiting(format!(
                    "FSx cannot delete {} yet ({}): {}",
                    fs.id, fs.lifecycle, e.message
                )))
            }
            Err(e) => return Err(e.into()),
        }
        ctx.poller.invalidate(&fs.id);
    }
    Err(Error::Waiting(format!("waiting for file system {} to be deleted", fs.id)))
}
