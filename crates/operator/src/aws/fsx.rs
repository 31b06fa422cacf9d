//! FSx calls, one small function each.

use aws_sdk_fsx::types::{
    AutoImportPolicyType, CreateFileSystemLustreConfiguration, DataCompressionType,
    DeleteFileSystemLustreConfiguration, DriveCacheType, FileSystemType, LustreDeploymentType, StorageType, Tag,
};

use super::{Aws, AwsError, ErrorKind, FileSystem, FileSystemRequest, Lifecycle, Priority};

impl Aws {
    /// Describes up to 50 file systems by ID (`FileSystemNotFound` if any is unknown);
    /// `priority`: which queue of the call budget it waits in.
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn describe_file_systems(
        &self,
        ids: &[String],
        priority: Priority,
    ) -> Result<Vec<FileSystem>, AwsError> {
        let request = self.fsx.describe_file_systems().set_file_system_ids(Some(ids.to_vec()));
        let out = self.call_refined("fsx", "DescribeFileSystems", priority, || request.send(), |_| None).await?;
        Ok(out.file_systems().iter().map(file_system).collect())
    }

    /// Every file system of the account, all types (pages through it).
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn all_file_systems(&self) -> Result<Vec<FileSystem>, AwsError> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let request = self.fsx.describe_file_systems().set_next_token(token.clone());
            let out = self.call("fsx", "DescribeFileSystems", || request.send()).await?;
            found.extend(out.file_systems().iter().map(file_system));
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    /// Creates a Lustre file system (idempotent through the request's client token).
    #[tracing::instrument(skip(self, request), fields(token = %request.client_request_token), err)]
    pub(crate) async fn create_file_system(&self, request: &FileSystemRequest) -> Result<FileSystem, AwsError> {
        let r = request;
        let mut lustre = CreateFileSystemLustreConfiguration::builder()
            .deployment_type(LustreDeploymentType::from(r.deployment_type.as_str()))
            .set_per_unit_storage_throughput(r.per_unit_storage_throughput)
            .set_drive_cache_type(r.drive_cache_type.map(|d| DriveCacheType::from(d.as_str())))
            .set_data_compression_type(r.data_compression.map(|c| DataCompressionType::from(c.as_str())))
            .set_weekly_maintenance_start_time(r.weekly_maintenance_start_time.clone())
            .set_automatic_backup_retention_days(r.automatic_backup_retention_days)
            .set_import_path(r.import_path.clone())
            .set_export_path(r.export_path.clone());
        if let Some(p) = r.auto_import_policy {
            lustre = lustre.auto_import_policy(AutoImportPolicyType::from(p.as_str()));
        }
        if let Some((level, dest)) = &r.log {
            lustre = lustre.log_configuration(log_configuration(level, dest.as_deref()));
        }
        if let Some((squash, nids)) = &r.root_squash {
            lustre = lustre.root_squash_configuration(root_squash(squash, nids));
        }
        if let Some((mode, iops)) = &r.metadata {
            let m = aws_sdk_fsx::types::CreateFileSystemLustreMetadataConfiguration::builder()
                .mode(aws_sdk_fsx::types::MetadataConfigurationMode::from(mode.as_str()))
                .set_iops(*iops)
                .build();
            lustre = lustre.metadata_configuration(m);
        }
        let tags: Vec<Tag> = r.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        let call = self
            .fsx
            .create_file_system()
            .client_request_token(&r.client_request_token)
            .file_system_type(FileSystemType::Lustre)
            .storage_capacity(r.capacity_gib)
            .storage_type(StorageType::from(r.storage_type.as_str()))
            .subnet_ids(&r.subnet_id)
            .set_security_group_ids(Some(r.security_group_ids.clone()))
            .file_system_type_version(r.lustre_version.as_str())
            .set_kms_key_id(r.kms_key_id.clone())
            .lustre_configuration(lustre.build())
            .set_tags(Some(tags));
        // Creations wait for their own budget first, then for the shared one.
        self.wait_for(self.creations.as_ref(), Priority::Change).await;
        let out = self
            .call_refined("fsx", "CreateFileSystem", Priority::Change, || call.send(), network_settings_kind)
            .await?;
        out.file_system().map(file_system).ok_or_else(|| AwsError {
            operation: "CreateFileSystem",
            kind: ErrorKind::Transient,
            code: "MalformedResponse".into(),
            message: "CreateFileSystem answered without a file system".into(),
        })
    }

    /// One UpdateFileSystem with what `update` changes; `token` makes a retried call the same one.
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn update_file_system(
        &self,
        id: &str,
        update: &super::model::FileSystemUpdate,
        token: &str,
    ) -> Result<(), AwsError> {
        let metadata = update.metadata.as_ref().map(|(mode, iops)| {
            aws_sdk_fsx::types::UpdateFileSystemLustreMetadataConfiguration::builder()
                .mode(aws_sdk_fsx::types::MetadataConfigurationMode::from(mode.as_str()))
                .set_iops(*iops)
                .build()
        });
        let lustre = aws_sdk_fsx::types::UpdateFileSystemLustreConfiguration::builder()
            .set_root_squash_configuration(update.root_squash.as_ref().map(|(s, n)| root_squash(s, n)))
            .set_log_configuration(update.log.as_ref().map(|(l, d)| log_configuration(l, d.as_deref())))
            .set_metadata_configuration(metadata)
            .set_per_unit_storage_throughput(update.per_unit_storage_throughput)
            .set_data_compression_type(update.data_compression.as_deref().map(DataCompressionType::from))
            .set_weekly_maintenance_start_time(update.weekly_maintenance_start_time.clone())
            .set_automatic_backup_retention_days(update.automatic_backup_retention_days)
            .build();
        let request = self
            .fsx
            .update_file_system()
            .file_system_id(id)
            .client_request_token(token)
            .set_storage_capacity(update.capacity_gib)
            .set_file_system_type_version(update.lustre_version.clone())
            .lustre_configuration(lustre);
        self.call("fsx", "UpdateFileSystem", || request.send()).await.map(|_| ())
    }

    /// Sets `tags` on the resource `arn` (a file system the operator created).
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn tag_resource(&self, arn: &str, tags: &[(&str, &str)]) -> Result<(), AwsError> {
        let tags: Vec<Tag> = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect();
        let request = self.fsx.tag_resource().resource_arn(arn).set_tags(Some(tags));
        self.call("fsx", "TagResource", || request.send()).await.map(|_| ())
    }

    /// Deletes a file system; `skip_final_backup` None sends no Lustre delete configuration (what
    /// scratch file systems need).
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn delete_file_system(&self, id: &str, skip_final_backup: Option<bool>) -> Result<(), AwsError> {
        let mut request = self.fsx.delete_file_system().file_system_id(id);
        if let Some(skip) = skip_final_backup {
            let lustre = DeleteFileSystemLustreConfiguration::builder().skip_final_backup(skip).build();
            request = request.lustre_configuration(lustre);
        }
        self.call("fsx", "DeleteFileSystem", || request.send()).await.map(|_| ())
    }
}

fn file_system(fs: &aws_sdk_fsx::types::FileSystem) -> FileSystem {
    let lustre = fs.lustre_configuration();
    FileSystem {
        id: fs.file_system_id().unwrap_or_default().to_string(),
        arn: fs.resource_arn().map(str::to_string),
        persistent: lustre.and_then(|l| l.deployment_type()).is_some_and(|d| d.as_str().starts_with("PERSISTENT")),
        s3_linked: lustre.and_then(|l| l.data_repository_configuration()).is_some(),
        is_lustre: fs.file_system_type() == Some(&FileSystemType::Lustre),
        lifecycle: Lifecycle::from_fsx(fs.lifecycle().map(|l| l.as_str()).unwrap_or_default()),
        dns_name: fs.dns_name().map(str::to_string),
        mount_name: lustre.and_then(|l| l.mount_name()).map(str::to_string),
        capacity_gib: fs.storage_capacity(),
        created_at_ms: fs.creation_time().and_then(|t| t.to_millis().ok()),
        failure: fs.failure_details().and_then(|f| f.message()).map(str::to_string),
        tags: fs
            .tags()
            .iter()
            .map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string()))
            .collect(),
        actions: fs.administrative_actions().iter().map(admin_action).collect(),
        per_unit_storage_throughput: lustre.and_then(|l| l.per_unit_storage_throughput()),
        data_compression: lustre.and_then(|l| l.data_compression_type()).map(|c| c.as_str().to_string()),
        weekly_maintenance_start_time: lustre.and_then(|l| l.weekly_maintenance_start_time()).map(str::to_string),
        automatic_backup_retention_days: lustre.and_then(|l| l.automatic_backup_retention_days()),
        hdd: fs.storage_type().is_some_and(|t| t.as_str() == "HDD"),
        metadata_mode: lustre
            .and_then(|l| l.metadata_configuration())
            .and_then(|m| m.mode())
            .map(|m| m.as_str().to_string()),
        metadata_iops: lustre.and_then(|l| l.metadata_configuration()).and_then(|m| m.iops()),
        lustre_version: fs.file_system_type_version().map(str::to_string),
        log: lustre.and_then(|l| l.log_configuration()).map(|c| {
            (c.level().map(|l| l.as_str()).unwrap_or("DISABLED").to_string(), c.destination().map(str::to_string))
        }),
        root_squash: lustre
            .and_then(|l| l.root_squash_configuration())
            .and_then(|r| r.root_squash().map(|s| (s.to_string(), r.no_squash_nids().to_vec()))),
        actions_in_progress: fs
            .administrative_actions()
            .iter()
            .filter(|a| a.status().is_some_and(|s| matches!(s.as_str(), "PENDING" | "IN_PROGRESS")))
            .map(|a| {
                format!(
                    "{} {} {}%",
                    a.administrative_action_type().map(|t| t.as_str()).unwrap_or("UPDATE"),
                    a.status().map(|s| s.as_str()).unwrap_or(""),
                    a.progress_percent().unwrap_or(0)
                )
            })
            .collect(),
    }
}

fn log_configuration(level: &str, destination: Option<&str>) -> aws_sdk_fsx::types::LustreLogCreateConfiguration {
    aws_sdk_fsx::types::LustreLogCreateConfiguration::builder()
        .level(aws_sdk_fsx::types::LustreAccessAuditLogLevel::from(level))
        .set_destination(destination.map(str::to_string))
        .build()
}

fn root_squash(squash: &str, nids: &[String]) -> aws_sdk_fsx::types::LustreRootSquashConfiguration {
    aws_sdk_fsx::types::LustreRootSquashConfiguration::builder()
        .root_squash(squash)
        .set_no_squash_nids((!nids.is_empty()).then(|| nids.to_vec()))
        .build()
}

fn admin_action(a: &aws_sdk_fsx::types::AdministrativeAction) -> super::model::AdminAction {
    let target = a.target_file_system_values();
    super::model::AdminAction {
        action_type: a.administrative_action_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
        status: a.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
        progress_percent: a.progress_percent(),
        requested_at_ms: a.request_time().and_then(|t| t.to_millis().ok()),
        target_capacity_gib: target.and_then(|t| t.storage_capacity()),
        target_throughput: target.and_then(|t| t.lustre_configuration()).and_then(|l| l.per_unit_storage_throughput()),
        target_metadata_iops: target
            .and_then(|t| t.lustre_configuration())
            .and_then(|l| l.metadata_configuration())
            .and_then(|m| m.iops()),
    }
}

/// InvalidNetworkSettings naming a subnet or a security group that does not exist will not fix
/// itself (terminal); without one it is the rules not being visible yet (transient).
fn network_settings_kind(e: &aws_sdk_fsx::operation::create_file_system::CreateFileSystemError) -> Option<ErrorKind> {
    match e {
        aws_sdk_fsx::operation::create_file_system::CreateFileSystemError::InvalidNetworkSettings(n)
            if n.invalid_subnet_id().is_some() || n.invalid_security_group_id().is_some() =>
        {
            Some(ErrorKind::Terminal)
        }
        aws_sdk_fsx::operation::create_file_system::CreateFileSystemError::InvalidNetworkSettings(_) => {
            Some(ErrorKind::Transient)
        }
        _ => None,
    }
}
