//! CreateFileSystem, DescribeFileSystems, DeleteFileSystem, and the LustreConfiguration members
//! CreateFileSystem and UpdateFileSystem (`update.rs`) share.

use chrono::Duration as ChronoDuration;
use rand::Rng;
use serde_json::{json, Map, Value};

use super::{epoch, page, parse_tags, render_tags, s3_bucket, token_lookup, token_remember, validate};
use crate::cidr::{cidr_contains, parse_cidr};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::model::{FileSystem, NetworkInterface, RuleSource, State, Tags};
use crate::request::Ctx;
use crate::wire::json::Fields;

const OP: &str = "CreateFileSystem";
pub(crate) const LNET_MESSAGE: &str =
    "The file system cannot be created because the security groups do not permit Lustre LNET network traffic on port 988";
/// FSx's message, verbatim from the user guide (cannot-create-fs, "Cannot create an EFA-enabled
/// file system because of misconfigured security group"). The error code is not documented:
/// `InvalidNetworkSettings`, as for the LNET check.
pub(crate) const EFA_MESSAGE: &str = "Insufficient security group permissions to create an EFA-enabled file system. Update security group to allow all internal inbound and outbound traffic.";

pub(crate) fn not_found(id: &str) -> ApiError {
    ApiError::new("FileSystemNotFound", format!("File system '{id}' does not exist.")).with_field("FileSystemId", id)
}

fn dur(d: std::time::Duration) -> ChronoDuration {
    crate::clock::span(d)
}

// Long on purpose, it reads better whole: FSx's CreateFileSystem checks in the order FSx applies them (the first failing one is the error the SDK sees), then the record.
pub(crate) fn create(state: &mut State, ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let token = req.opt_str("ClientRequestToken")?;
    if let Some(id) = token_lookup(state, OP, token, req)? {
        if let Some(fs) = state.file_systems.get(&id) {
            return Ok(json!({ "FileSystem": render(fs, ctx) }));
        }
    }
    let fs_type = req.opt_str("FileSystemType")?.ok_or_else(|| ApiError::bad_request("FileSystemType is required"))?;
    match fs_type {
        "LUSTRE" => {}
        "WINDOWS" | "ONTAP" | "OPENZFS" => {
            return Err(ApiError::new("UnsupportedOperation", format!("FileSystemType {fs_type} is not emulated")))
        }
        other => return Err(ApiError::bad_request(format!("Invalid FileSystemType: {other}"))),
    }
    let lustre_in = req.opt_obj("LustreConfiguration")?.cloned().unwrap_or_default();
    let deployment = lustre_in.opt_str("DeploymentType")?.unwrap_or("SCRATCH_1").to_string();
    validate::deployment_type(&deployment)?;
    let storage_type = req.opt_str("StorageType")?.unwrap_or("SSD").to_string();
    validate::storage_type(&deployment, &storage_type)?;
    let throughput = lustre_in.opt_i64("PerUnitStorageThroughput")?;
    validate::throughput(&deployment, &storage_type, throughput)?;
    let tiering = storage_type == "INTELLIGENT_TIERING";
    // INTELLIGENT_TIERING storage is elastic: no StorageCapacity (API model, CreateFileSystem).
    let capacity = match (req.opt_i64("StorageCapacity")?, tiering) {
        (Some(_), true) => {
            return Err(ApiError::bad_request(
                "StorageCapacity is not supported for INTELLIGENT_TIERING storage; its storage capacity is elastic",
            ))
        }
        (None, true) => 0,
        (Some(c), false) => c,
        (None, false) => return Err(ApiError::bad_request("StorageCapacity is required")),
    };
    if !tiering {
        validate::capacity(&deployment, &storage_type, throughput, capacity)?;
    }
    // EFA: PERSISTENT_2 with a metadata configuration, capacity in EFA steps (user guide,
    // managing-storage-capacity and efa-file-systems).
    let efa = lustre_in.opt_bool("EfaEnabled")?.unwrap_or(false);
    if efa {
        if deployment != "PERSISTENT_2" {
            return Err(ApiError::bad_request("EfaEnabled is only supported for PERSISTENT_2 file systems"));
        }
        if !lustre_in.contains_key("MetadataConfiguration") {
            return Err(ApiError::bad_request("EFA-enabled file systems require a MetadataConfiguration"));
        }
        if !tiering {
            validate::efa_capacity(throughput, capacity)?;
        }
    }
    let version = req
        .opt_str("FileSystemTypeVersion")?
        .map(str::to_string)
        .unwrap_or_else(|| ctx.cfg.default_file_system_type_version.clone());
    validate::version(&deployment, &version)?;
    // "Enhanced metadata is available only for 2.15 file systems" (user guide,
    // managing-metadata-performance).
    if lustre_in.contains_key("MetadataConfiguration") && version != "2.15" {
        return Err(ApiError::bad_request(format!(
            "A MetadataConfiguration requires FileSystemTypeVersion 2.15 (requested {version})"
        )));
    }
    let kms = req.opt_str("KmsKeyId")?;
    if kms.is_some() && !validate::is_persistent(&deployment) {
        return Err(ApiError::bad_request("KmsKeyId is only supported for PERSISTENT deployment types"));
    }
    let tags = parse_tags(req, "Tags")?.unwrap_or_default();
    let lustre = lustre_config(&lustre_in, ctx, &deployment, &storage_type, capacity)?;

    // Network: exactly one subnet that exists; security groups that exist in its VPC and admit LNET.
    let subnet_ids = req.opt_str_list("SubnetIds")?.unwrap_or_default();
    let subnet_id = match subnet_ids.as_slice() {
        [one] => one.clone(),
        [] => return Err(ApiError::bad_request("SubnetIds is required")),
        _ => {
            return Err(ApiError::new("InvalidNetworkSettings", "Lustre file systems support exactly one subnet")
                .with_field("InvalidSubnetId", subnet_ids.get(1).cloned().unwrap_or_default()))
        }
    };
    let subnet = state.subnets.get(&subnet_id).cloned().ok_or_else(|| {
        ApiError::new("InvalidNetworkSettings", format!("The subnet ID '{subnet_id}' does not exist"))
            .with_field("InvalidSubnetId", subnet_id.as_str())
    })?;
    let mut sg_ids = req.opt_str_list("SecurityGroupIds")?.unwrap_or_default();
    if sg_ids.len() > 50 {
        return Err(ApiError::bad_request("At most 50 SecurityGroupIds are allowed"));
    }
    sg_ids.dedup();
    if sg_ids.is_empty() {
        if let Some(default) = state.security_groups.values().find(|g| g.vpc_id == subnet.vpc_id && g.name == "default")
        {
            sg_ids.push(default.id.clone());
        }
    }
    for sg in &sg_ids {
        match state.security_groups.get(sg) {
            Some(g) if g.vpc_id == subnet.vpc_id => {}
            _ => {
                return Err(ApiError::new(
                    "InvalidNetworkSettings",
                    format!("The security group '{sg}' does not exist in the subnet's VPC"),
                )
                .with_field("InvalidSecurityGroupId", sg.as_str()))
            }
        }
    }
    check_lnet(state, ctx, &subnet.cidr, &sg_ids)?;
    if efa {
        check_efa(state, ctx, &subnet.cidr, &sg_ids)?;
    }

    // Quotas.
    let count = state.file_systems.len() as u64;
    if count >= u64::from(ctx.cfg.file_system_quota) {
        return Err(ApiError::new(
            "ServiceLimitExceeded",
            format!("Account limit of {} file systems exceeded", ctx.cfg.file_system_quota),
        )
        .with_field("Limit", "FILE_SYSTEM_COUNT"));
    }
    let used: i64 = state.file_systems.values().map(|f| f.storage_capacity).sum();
    if used.saturating_add(capacity) > i64::try_from(ctx.cfg.storage_quota_gib).unwrap_or(i64::MAX) {
        return Err(ApiError::new(
            "ServiceLimitExceeded",
            format!("Account limit of {} GiB total storage exceeded", ctx.cfg.storage_quota_gib),
        )
        .with_field("Limit", "TOTAL_STORAGE"));
    }

    let id = ids::new_id("fs");
    let mut eni_ids = Vec::new();
    for _ in 0..2 {
        let eni = NetworkInterface {
            id: ids::new_id("eni"),
            subnet_id: subnet.id.clone(),
            vpc_id: subnet.vpc_id.clone(),
            availability_zone: subnet.az.clone(),
            group_ids: sg_ids.clone(),
            private_ip: random_ip(&subnet.cidr),
            description: format!("ENI for Lustre file system {id}"),
            file_system_id: Some(id.clone()),
            tags: Tags::new(),
        };
        eni_ids.push(eni.id.clone());
        state.network_interfaces.insert(eni.id.clone(), eni);
    }
    let fs = FileSystem {
        id: id.clone(),
        owner_id: ctx.cfg.account_id.clone(),
        created_at: ctx.now,
        lifecycle: "CREATING".into(),
        failure_message: None,
        storage_capacity: capacity,
        storage_type,
        vpc_id: subnet.vpc_id.clone(),
        subnet_id: subnet.id.clone(),
        security_group_ids: sg_ids,
        eni_ids,
        dns_name: format!("{id}.fsx.{}.amazonaws.com", ctx.cfg.region),
        kms_key_id: kms.map(str::to_string),
        version,
        mount_name: if deployment == "SCRATCH_1" { "fsx".into() } else { ids::mount_name() },
        deployment_type: deployment,
        throughput,
        lustre,
        tags,
        admin_actions: Vec::new(),
        pending_update: None,
        deleting_since: None,
        last_storage_increase: None,
        last_metadata_increase: None,
    };
    let rendered = render(&fs, ctx);
    state.file_systems.insert(id.clone(), fs);
    token_remember(state, ctx, OP, token, req, &id);
    Ok(json!({ "FileSystem": rendered }))
}

/// The synchronous LNET check: TCP 988 and 1018-1023 from one of the groups or from a CIDR
/// containing the subnet, counting only rules older than `network_check_delay`.
fn check_lnet(state: &State, ctx: &Ctx<'_>, subnet_cidr: &str, sg_ids: &[String]) -> ApiResult<()> {
    let visible_before = ctx.now - dur(ctx.cfg.network_check_delay);
    let admits = |port: i32| {
        sg_ids.iter().filter_map(|id| state.security_groups.get(id)).any(|g| {
            g.rules.iter().any(|r| {
                r.added_at <= visible_before
                    && r.admits_tcp_port(port)
                    && match &r.source {
                        RuleSource::Group(src) => sg_ids.contains(src),
                        RuleSource::Cidr(c) => cidr_contains(c, subnet_cidr),
                        // The file servers' IPv4 traffic; prefix lists' entries are not modelled.
                        RuleSource::Ipv6(_) | RuleSource::PrefixList(_) => false,
                    }
            })
        })
    };
    if !admits(988) {
        return Err(ApiError::new("InvalidNetworkSettings", LNET_MESSAGE));
    }
    if !(1018..=1023).all(admits) {
        return Err(ApiError::new(
            "InvalidNetworkSettings",
            "The file system cannot be created because the security groups do not permit Lustre LNET network traffic on ports 1018-1023",
        ));
    }
    Ok(())
}

/// An EFA-enabled file system's groups must allow all traffic (protocol -1) to and from
/// themselves, inbound and outbound (user guide, limit-access-security-groups, EFA-enabled
/// security groups): a rule naming one of the groups, or a CIDR containing the subnet.
fn check_efa(state: &State, ctx: &Ctx<'_>, subnet_cidr: &str, sg_ids: &[String]) -> ApiResult<()> {
    let visible_before = ctx.now - dur(ctx.cfg.network_check_delay);
    let allows_all = |egress: bool| {
        sg_ids.iter().filter_map(|id| state.security_groups.get(id)).any(|g| {
            g.rules.iter().any(|r| {
                r.added_at <= visible_before
                    && r.egress == egress
                    && r.protocol == "-1"
                    && match &r.source {
                        RuleSource::Group(peer) => sg_ids.contains(peer),
                        RuleSource::Cidr(c) => cidr_contains(c, subnet_cidr),
                        RuleSource::Ipv6(_) | RuleSource::PrefixList(_) => false,
                    }
            })
        })
    };
    if allows_all(false) && allows_all(true) {
        Ok(())
    } else {
        Err(ApiError::new("InvalidNetworkSettings", EFA_MESSAGE))
    }
}

fn random_ip(cidr: &str) -> String {
    match parse_cidr(cidr) {
        Some((net, len)) if len < 31 => {
            let hosts = (1u32 << (32 - len)).saturating_sub(5).max(1);
            let ip = net.saturating_add(4).saturating_add(rand::rng().random_range(0..hosts));
            std::net::Ipv4Addr::from(ip).to_string()
        }
        _ => "10.0.0.4".into(),
    }
}

/// Validates the create-time LustreConfiguration and returns what DescribeFileSystems will show
/// (besides DeploymentType, PerUnitStorageThroughput and MountName, which live on the model).
// Long on purpose, it reads better whole: one field of LustreConfiguration after another, each with FSx's rule for it.
fn lustre_config(
    input: &Map<String, Value>,
    ctx: &Ctx<'_>,
    deployment: &str,
    storage: &str,
    capacity: i64,
) -> ApiResult<Map<String, Value>> {
    let mut out = Map::new();
    let persistent = validate::is_persistent(deployment);
    let weekly = match input.opt_str("WeeklyMaintenanceStartTime")? {
        Some(w) => {
            validate::weekly_time(w)?;
            w.to_string()
        }
        None => format!(
            "{}:{:02}:{:02}",
            rand::rng().random_range(1..=7),
            rand::rng().random_range(0..24),
            rand::rng().random_range(0..60)
        ),
    };
    out.insert("WeeklyMaintenanceStartTime".into(), json!(weekly));

    // The legacy S3 link.
    let import = input.opt_str("ImportPath")?;
    let export = input.opt_str("ExportPath")?;
    let chunk = input.opt_i64("ImportedFileChunkSize")?;
    let auto_import = input.opt_str("AutoImportPolicy")?;
    if import.is_some() || export.is_some() || chunk.is_some() || auto_import.is_some() {
        if deployment == "PERSISTENT_2" {
            return Err(ApiError::bad_request(
                "ImportPath, ExportPath, ImportedFileChunkSize and AutoImportPolicy are not supported for PERSISTENT_2; use data repository associations",
            ));
        }
        let import = import.ok_or_else(|| {
            if export.is_some() {
                ApiError::new("InvalidExportPath", "ExportPath requires ImportPath")
            } else {
                ApiError::bad_request("ImportedFileChunkSize and AutoImportPolicy require ImportPath")
            }
        })?;
        let bucket = s3_bucket(import).ok_or_else(|| {
            ApiError::new(
                "InvalidImportPath",
                format!("The import path '{import}' is not a valid S3 path (s3://bucket/prefix)"),
            )
        })?;
        let export = match export {
            Some(e) => {
                if s3_bucket(e) != Some(bucket) {
                    return Err(ApiError::new(
                        "InvalidExportPath",
                        format!("The export path '{e}' must be in the import path's bucket '{bucket}'"),
                    ));
                }
                e.to_string()
            }
            None => format!("s3://{bucket}/FSxLustre{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")),
        };
        let chunk = chunk.unwrap_or(1024);
        if !(1..=512_000).contains(&chunk) {
            return Err(ApiError::bad_request("ImportedFileChunkSize must be between 1 and 512000 MiB"));
        }
        let auto_import = auto_import.unwrap_or("NONE");
        validate::one_of("AutoImportPolicy", auto_import, &["NONE", "NEW", "NEW_CHANGED", "NEW_CHANGED_DELETED"])?;
        out.insert(
            "DataRepositoryConfiguration".into(),
            json!({"Lifecycle": "AVAILABLE", "ImportPath": import, "ExportPath": export, "ImportedFileChunkSize": chunk, "AutoImportPolicy": auto_import}),
        );
    }

    match (storage, input.opt_str("DriveCacheType")?) {
        ("HDD", None) => return Err(ApiError::bad_request("DriveCacheType is required for HDD storage")),
        ("HDD", Some(d)) => {
            validate::one_of("DriveCacheType", d, &["NONE", "READ"])?;
            out.insert("DriveCacheType".into(), json!(d));
        }
        (_, Some(_)) => return Err(ApiError::bad_request("DriveCacheType is only supported for HDD storage")),
        _ => {}
    }
    let compression = input.opt_str("DataCompressionType")?.unwrap_or("NONE");
    validate::one_of("DataCompressionType", compression, &["NONE", "LZ4"])?;
    out.insert("DataCompressionType".into(), json!(compression));

    let retention = input.opt_i64("AutomaticBackupRetentionDays")?;
    let daily = input.opt_str("DailyAutomaticBackupStartTime")?;
    let copy_tags = input.opt_bool("CopyTagsToBackups")?;
    if !persistent && (retention.is_some_and(|r| r > 0) || daily.is_some() || copy_tags == Some(true)) {
        return Err(ApiError::bad_request("Automatic backups are not supported for SCRATCH deployment types"));
    }
    if let Some(r) = retention {
        if !(0..=90).contains(&r) {
            return Err(ApiError::bad_request("AutomaticBackupRetentionDays must be between 0 and 90"));
        }
    }
    if let Some(d) = daily {
        validate::daily_time(d)?;
        out.insert("DailyAutomaticBackupStartTime".into(), json!(d));
    }
    if persistent {
        out.insert("AutomaticBackupRetentionDays".into(), json!(retention.unwrap_or(0)));
        out.insert("CopyTagsToBackups".into(), json!(copy_tags.unwrap_or(false)));
    }
    out.insert("LogConfiguration".into(), log_config(input, ctx)?.unwrap_or_else(|| json!({"Level": "DISABLED"})));
    if let Some(rs) = root_squash(input)? {
        out.insert("RootSquashConfiguration".into(), rs);
    }
    let tiering = storage == "INTELLIGENT_TIERING";
    match input.opt_obj("MetadataConfiguration")? {
        Some(_) if deployment != "PERSISTENT_2" => {
            return Err(ApiError::bad_request("MetadataConfiguration is only supported for PERSISTENT_2"))
        }
        Some(meta) => {
            out.insert("MetadataConfiguration".into(), create_metadata(meta, storage, capacity)?);
        }
        // "For Intelligent-Tiering file systems, you must choose User-provisioned mode" (user
        // guide, managing-metadata-performance).
        None if tiering => {
            return Err(ApiError::bad_request(
                "INTELLIGENT_TIERING file systems require a MetadataConfiguration with Mode USER_PROVISIONED",
            ))
        }
        None => {}
    }
    // INTELLIGENT_TIERING: ThroughputCapacity (MBps) and the SSD read cache, both required.
    let throughput_capacity = input.opt_i64("ThroughputCapacity")?;
    let cache = input.opt_obj("DataReadCacheConfiguration")?;
    if tiering {
        let tc = throughput_capacity
            .ok_or_else(|| ApiError::bad_request("ThroughputCapacity is required for INTELLIGENT_TIERING storage"))?;
        validate::throughput_capacity(tc)?;
        let cache = cache.ok_or_else(|| {
            ApiError::bad_request("DataReadCacheConfiguration is required for INTELLIGENT_TIERING storage")
        })?;
        out.insert("ThroughputCapacity".into(), json!(tc));
        out.insert("DataReadCacheConfiguration".into(), read_cache(cache, tc)?);
    } else if throughput_capacity.is_some() {
        return Err(ApiError::bad_request(
            "ThroughputCapacity is only supported for INTELLIGENT_TIERING storage; use PerUnitStorageThroughput",
        ));
    } else if cache.is_some() {
        return Err(ApiError::bad_request(
            "DataReadCacheConfiguration is only supported for INTELLIGENT_TIERING storage",
        ));
    }
    if let Some(efa) = input.opt_bool("EfaEnabled")? {
        out.insert("EfaEnabled".into(), json!(efa));
    }
    Ok(out)
}

/// `LogConfiguration` as DescribeFileSystems shows it. The API model
/// (LustreLogCreateConfiguration): no Destination with Level DISABLED; a Destination is a
/// CloudWatch Logs group ARN in the file system's region and account named `/aws/fsx...`;
/// without one FSx logs to `/aws/fsx/lustre`.
pub(super) fn log_config(input: &Map<String, Value>, ctx: &Ctx<'_>) -> ApiResult<Option<Value>> {
    let Some(log) = input.opt_obj("LogConfiguration")? else {
        return Ok(None);
    };
    let level = log.opt_str("Level")?.ok_or_else(|| ApiError::bad_request("LogConfiguration.Level is required"))?;
    validate::one_of("LogConfiguration.Level", level, &["DISABLED", "WARN_ONLY", "ERROR_ONLY", "WARN_ERROR"])?;
    let dest = log.opt_str("Destination")?;
    if level == "DISABLED" {
        if dest.is_some() {
            return Err(ApiError::bad_request("LogConfiguration.Destination cannot be set when Level is DISABLED"));
        }
        return Ok(Some(json!({"Level": level})));
    }
    if let Some(d) = dest {
        validate::log_destination(d, &ctx.cfg.region, &ctx.cfg.account_id)?;
    }
    let dest = dest.map_or_else(|| ctx.arn("logs", "log-group:/aws/fsx/lustre"), str::to_string);
    Ok(Some(json!({"Level": level, "Destination": dest})))
}

pub(super) fn root_squash(input: &Map<String, Value>) -> ApiResult<Option<Value>> {
    let Some(rs) = input.opt_obj("RootSquashConfiguration")? else {
        return Ok(None);
    };
    let mut out = Map::new();
    if let Some(squash) = rs.opt_str("RootSquash")? {
        let ok = squash.split_once(':').is_some_and(|(u, g)| u.parse::<u32>().is_ok() && g.parse::<u32>().is_ok());
        if !ok {
            return Err(ApiError::bad_request("RootSquash must be UID:GID"));
        }
        out.insert("RootSquash".into(), json!(squash));
    }
    if let Some(nids) = rs.opt_str_list("NoSquashNids")? {
        if nids.len() > 64 {
            return Err(ApiError::bad_request("At most 64 NoSquashNids are allowed"));
        }
        if let Some(bad) = nids.iter().find(|n| !validate::no_squash_nid(n)) {
            return Err(ApiError::bad_request(format!(
                "Invalid NoSquashNids entry {bad}: use a Lustre NID such as 10.0.1.6@tcp or 10.0.[2-10].[1-255]@tcp"
            )));
        }
        out.insert("NoSquashNids".into(), json!(nids));
    }
    Ok(Some(Value::Object(out)))
}

/// The create-time `MetadataConfiguration` (API model, CreateFileSystemLustreMetadataConfiguration):
/// `Mode` required; AUTOMATIC (SSD only) takes no `Iops` and gets FSx's automatic value for the
/// capacity; USER_PROVISIONED needs `Iops` valid for the storage type.
fn create_metadata(meta: &Map<String, Value>, storage: &str, capacity: i64) -> ApiResult<Value> {
    let mode = meta.opt_str("Mode")?.ok_or_else(|| ApiError::bad_request("MetadataConfiguration.Mode is required"))?;
    validate::one_of("MetadataConfiguration.Mode", mode, &["AUTOMATIC", "USER_PROVISIONED"])?;
    match (mode, meta.opt_i64("Iops")?) {
        ("AUTOMATIC", _) if storage == "INTELLIGENT_TIERING" => Err(ApiError::bad_request(
            "AUTOMATIC metadata mode is not supported for INTELLIGENT_TIERING file systems; use USER_PROVISIONED",
        )),
        ("AUTOMATIC", Some(_)) => Err(ApiError::bad_request("Iops cannot be set when Mode is AUTOMATIC")),
        ("AUTOMATIC", None) => Ok(json!({"Mode": mode, "Iops": validate::automatic_metadata_iops(capacity)})),
        (_, None) => Err(ApiError::bad_request("Iops is required when Mode is USER_PROVISIONED")),
        (_, Some(i)) => {
            metadata_iops(storage, i)?;
            Ok(json!({"Mode": mode, "Iops": i}))
        }
    }
}

pub(super) fn metadata_iops(storage: &str, iops: i64) -> ApiResult<()> {
    if validate::metadata_iops_valid(storage, iops) {
        Ok(())
    } else if storage == "INTELLIGENT_TIERING" {
        Err(ApiError::bad_request(format!("Invalid metadata Iops {iops} for INTELLIGENT_TIERING: use 6000 or 12000")))
    } else {
        Err(ApiError::bad_request(format!(
            "Invalid metadata Iops {iops}: use 1500, 3000, 6000, 12000 or a multiple of 12000 up to 192000"
        )))
    }
}

/// `DataReadCacheConfiguration` for an INTELLIGENT_TIERING file system of `throughput_capacity`
/// MBps (API model, LustreReadCacheConfiguration): `SizeGiB` with USER_PROVISIONED only, 32 to
/// 131072 GiB per 4000 MBps.
pub(super) fn read_cache(cache: &Map<String, Value>, throughput_capacity: i64) -> ApiResult<Value> {
    let mode = cache
        .opt_str("SizingMode")?
        .ok_or_else(|| ApiError::bad_request("DataReadCacheConfiguration.SizingMode is required"))?;
    validate::one_of(
        "DataReadCacheConfiguration.SizingMode",
        mode,
        &["NO_CACHE", "USER_PROVISIONED", "PROPORTIONAL_TO_THROUGHPUT_CAPACITY"],
    )?;
    match (mode, cache.opt_i64("SizeGiB")?) {
        ("USER_PROVISIONED", None) => Err(ApiError::bad_request(
            "DataReadCacheConfiguration.SizeGiB is required when SizingMode is USER_PROVISIONED",
        )),
        ("USER_PROVISIONED", Some(size)) => {
            let (min, max) = validate::read_cache_bounds(throughput_capacity);
            if (min..=max).contains(&size) {
                Ok(json!({"SizingMode": mode, "SizeGiB": size}))
            } else {
                Err(ApiError::bad_request(format!(
                    "Invalid DataReadCacheConfiguration.SizeGiB {size}: with {throughput_capacity} MBps of throughput capacity use {min} to {max} GiB (32 to 131072 GiB per 4000 MBps)"
                )))
            }
        }
        (_, Some(_)) => Err(ApiError::bad_request(format!(
            "DataReadCacheConfiguration.SizeGiB can only be set when SizingMode is USER_PROVISIONED (not {mode})"
        ))),
        (_, None) => Ok(json!({"SizingMode": mode})),
    }
}

pub(crate) fn render(fs: &FileSystem, ctx: &Ctx<'_>) -> Value {
    let mut lustre = fs.lustre.clone();
    lustre.insert("DeploymentType".into(), json!(fs.deployment_type));
    lustre.insert("MountName".into(), json!(fs.mount_name));
    if let Some(t) = fs.throughput {
        lustre.insert("PerUnitStorageThroughput".into(), json!(t));
    }
    let mut out = json!({
        "OwnerId": fs.owner_id,
        "CreationTime": epoch(fs.created_at),
        "FileSystemId": fs.id,
        "FileSystemType": "LUSTRE",
        "Lifecycle": fs.lifecycle,
        "StorageType": fs.storage_type,
        "VpcId": fs.vpc_id,
        "SubnetIds": [fs.subnet_id],
        "NetworkInterfaceIds": fs.eni_ids,
        "DNSName": fs.dns_name,
        "ResourceARN": ctx.arn("fsx", &format!("file-system/{}", fs.id)),
        "Tags": render_tags(&fs.tags),
        "LustreConfiguration": lustre,
        "FileSystemTypeVersion": fs.version,
    });
    // INTELLIGENT_TIERING storage is elastic: no StorageCapacity (unverified: FSx may show one).
    if fs.storage_type != "INTELLIGENT_TIERING" {
        out["StorageCapacity"] = json!(fs.storage_capacity);
    }
    if let Some(k) = &fs.kms_key_id {
        out["KmsKeyId"] = json!(k);
    }
    if let Some(m) = &fs.failure_message {
        out["FailureDetails"] = json!({"Message": m});
    }
    if !fs.admin_actions.is_empty() {
        out["AdministrativeActions"] = Value::Array(fs.admin_actions.iter().map(render_action).collect());
    }
    out
}

/// One `AdministrativeActions` entry as aws-sdk-fsx's `AdministrativeAction` parses it:
/// `TargetFileSystemValues` (a FileSystem) for FILE_SYSTEM_UPDATE only, `ProgressPercent` for the
/// optimizations only (the API model), `FailureDetails.Message` once FAILED.
fn render_action(a: &crate::model::AdminAction) -> Value {
    let mut v = json!({
        "AdministrativeActionType": a.action_type,
        "Status": a.status,
        "RequestTime": epoch(a.request_time),
    });
    if !a.target.is_empty() {
        v["TargetFileSystemValues"] = Value::Object(a.target.clone());
    }
    if let Some(p) = a.progress_percent {
        v["ProgressPercent"] = json!(p);
    }
    if let Some(m) = &a.failure_message {
        v["FailureDetails"] = json!({"Message": m});
    }
    v
}

pub(crate) fn describe(state: &mut State, ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let ids = req.opt_str_list("FileSystemIds")?;
    let max = req.opt_i64("MaxResults")?;
    let token = req.opt_str("NextToken")?;
    let selected: Vec<&FileSystem> = match &ids {
        Some(ids) => {
            if ids.len() > 50 {
                return Err(ApiError::bad_request("FileSystemIds may contain at most 50 IDs"));
            }
            let mut out: Vec<&FileSystem> = Vec::new();
            for id in ids {
                let fs = state.file_systems.get(id).ok_or_else(|| not_found(id))?;
                if !out.iter().any(|f| f.id == fs.id) {
                    out.push(fs);
                }
            }
            out
        }
        None => {
            let mut all: Vec<&FileSystem> = state.file_systems.values().collect();
            all.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
            all
        }
    };
    let (items, next) = page(selected, max, token, 2_147_483_647)?;
    let mut out = json!({ "FileSystems": items.into_iter().map(|f| render(f, ctx)).collect::<Vec<_>>() });
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}

pub(crate) fn delete(state: &mut State, ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let id = req.req_str("FileSystemId")?;
    if let Some(t) = req.opt_str("ClientRequestToken")? {
        super::check_token(t)?;
    }
    let lustre_in = req.opt_obj("LustreConfiguration")?.cloned().unwrap_or_default();
    let skip_backup = lustre_in.opt_bool("SkipFinalBackup")?.unwrap_or(true);
    let backup_tags = super::parse_tags(&lustre_in, "FinalBackupTags")?;
    // AWS: "retry when the data repository task is finished (with a status of CANCELED,
    // SUCCEEDED, or FAILED)", so a CANCELING task blocks the delete too.
    let busy_task = state
        .tasks
        .values()
        .find(|t| t.file_system_id == id && matches!(t.lifecycle.as_str(), "PENDING" | "EXECUTING" | "CANCELING"))
        .map(|t| (t.id.clone(), t.lifecycle.clone()));
    let linked_by_association = state.associations.values().any(|a| a.file_system_id == id);
    let fs = state.file_systems.get_mut(id).ok_or_else(|| not_found(id))?;
    match fs.lifecycle.as_str() {
        "DELETING" => return Ok(json!({"FileSystemId": id, "Lifecycle": "DELETING", "LustreResponse": {}})),
        "CREATING" if !ctx.cfg.allow_delete_while_creating => {
            return Err(ApiError::bad_request(format!(
                "Unable to delete file system {id} while it is being created; retry later"
            )))
        }
        _ => {}
    }
    if let Some((task, lifecycle)) = busy_task {
        return Err(ApiError::bad_request(format!(
            "Unable to delete file system {id} while data repository task {task} is {lifecycle}; retry when the task is finished (CANCELED, SUCCEEDED or FAILED)"
        )));
    }
    if !validate::is_persistent(&fs.deployment_type) && req.contains_key("LustreConfiguration") {
        return Err(ApiError::bad_request(format!(
            "Scratch file system {id} does not take a delete configuration; remove LustreConfiguration"
        )));
    }
    let mut response = json!({});
    if !skip_backup {
        if !validate::is_persistent(&fs.deployment_type)
            || fs.lustre.contains_key("DataRepositoryConfiguration")
            || linked_by_association
        {
            return Err(ApiError::bad_request(
                "Final backups are only supported for persistent file systems not linked to S3; set SkipFinalBackup to true",
            ));
        }
        response["FinalBackupId"] = json!(ids::new_id("backup"));
        if let Some(t) = backup_tags {
            response["FinalBackupTags"] = render_tags(&t);
        }
    }
    fs.lifecycle = "DELETING".into();
    fs.deleting_since = Some(ctx.now);
    fs.pending_update = None;
    let dras: Vec<String> = state
        .associations
        .values()
        .filter(|a| a.file_system_id == id && a.lifecycle != "DELETING")
        .map(|a| a.id.clone())
        .collect();
    for dra in dras {
        state.enqueue_association(&dra, "DELETING", ctx.now);
    }
    Ok(json!({"FileSystemId": id, "Lifecycle": "DELETING", "LustreResponse": response}))
}
