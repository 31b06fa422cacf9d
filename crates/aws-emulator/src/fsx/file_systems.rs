//! CreateFileSystem, DescribeFileSystems, UpdateFileSystem, DeleteFileSystem.

use chrono::Duration as ChronoDuration;
use rand::Rng;
use serde_json::{json, Map, Value};

use super::{epoch, page, parse_tags, render_tags, s3_bucket, token_lookup, token_remember, validate};
use crate::cidr::{cidr_contains, parse_cidr};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::model::{AdminAction, FileSystem, NetworkInterface, PendingUpdate, RuleSource, State, Tags};
use crate::request::Ctx;
use crate::wire::json::Fields;

const OP: &str = "CreateFileSystem";
pub(crate) const LNET_MESSAGE: &str =
    "The file system cannot be created because the security groups do not permit Lustre LNET network traffic on port 988";

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
    let capacity = match req.opt_i64("StorageCapacity")? {
        Some(c) => c,
        None if storage_type == "INTELLIGENT_TIERING" => 0,
        None => return Err(ApiError::bad_request("StorageCapacity is required")),
    };
    if storage_type != "INTELLIGENT_TIERING" {
        validate::capacity(&deployment, &storage_type, throughput, capacity)?;
    }
    let version = req
        .opt_str("FileSystemTypeVersion")?
        .map(str::to_string)
        .unwrap_or_else(|| ctx.cfg.default_file_system_type_version.clone());
    validate::version(&deployment, &version)?;
    let kms = req.opt_str("KmsKeyId")?;
    if kms.is_some() && !validate::is_persistent(&deployment) {
        return Err(ApiError::bad_request("KmsKeyId is only supported for PERSISTENT deployment types"));
    }
    let tags = parse_tags(req, "Tags")?.unwrap_or_default();
    let lustre = lustre_config(&lustre_in, &deployment, &storage_type)?;

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
fn lustre_config(input: &Map<String, Value>, deployment: &str, storage: &str) -> ApiResult<Map<String, Value>> {
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
    out.insert("LogConfiguration".into(), log_config(input)?.unwrap_or_else(|| json!({"Level": "DISABLED"})));
    if let Some(rs) = root_squash(input)? {
        out.insert("RootSquashConfiguration".into(), rs);
    }
    if let Some(meta) = input.opt_obj("MetadataConfiguration")? {
        if deployment != "PERSISTENT_2" {
            return Err(ApiError::bad_request("MetadataConfiguration is only supported for PERSISTENT_2"));
        }
        out.insert("MetadataConfiguration".into(), metadata(meta, None)?);
    }
    Ok(out)
}

fn log_config(input: &Map<String, Value>) -> ApiResult<Option<Value>> {
    let Some(log) = input.opt_obj("LogConfiguration")? else {
        return Ok(None);
    };
    let level = log.opt_str("Level")?.ok_or_else(|| ApiError::bad_request("LogConfiguration.Level is required"))?;
    validate::one_of("LogConfiguration.Level", level, &["DISABLED", "WARN_ONLY", "ERROR_ONLY", "WARN_ERROR"])?;
    let mut out = json!({"Level": level});
    if let Some(dest) = log.opt_str("Destination")? {
        out["Destination"] = json!(dest);
    }
    Ok(Some(out))
}

fn root_squash(input: &Map<String, Value>) -> ApiResult<Option<Value>> {
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
        out.insert("NoSquashNids".into(), json!(nids));
    }
    Ok(Some(Value::Object(out)))
}

fn metadata(meta: &Map<String, Value>, current_iops: Option<i64>) -> ApiResult<Value> {
    let mode = meta.opt_str("Mode")?.unwrap_or("AUTOMATIC");
    validate::one_of("MetadataConfiguration.Mode", mode, &["AUTOMATIC", "USER_PROVISIONED"])?;
    let iops = meta.opt_i64("Iops")?;
    match (mode, iops) {
        ("USER_PROVISIONED", None) => {
            return Err(ApiError::bad_request("Iops is required when Mode is USER_PROVISIONED"))
        }
        ("AUTOMATIC", Some(_)) => return Err(ApiError::bad_request("Iops cannot be set when Mode is AUTOMATIC")),
        (_, Some(i))
            if !([1500, 3000, 6000, 12000].contains(&i) || (i % 12000 == 0 && (12000..=192_000).contains(&i))) =>
        {
            return Err(ApiError::bad_request(format!("Invalid metadata Iops {i}")))
        }
        _ => {}
    }
    if let (Some(cur), Some(new)) = (current_iops, iops) {
        if new < cur {
            return Err(ApiError::bad_request("Metadata Iops can only be increased"));
        }
    }
    Ok(json!({"Mode": mode, "Iops": iops.unwrap_or(1500)}))
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
        "StorageCapacity": fs.storage_capacity,
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
    if let Some(k) = &fs.kms_key_id {
        out["KmsKeyId"] = json!(k);
    }
    if let Some(m) = &fs.failure_message {
        out["FailureDetails"] = json!({"Message": m});
    }
    if !fs.admin_actions.is_empty() {
        out["AdministrativeActions"] = Value::Array(
            fs.admin_actions
                .iter()
                .map(|a| {
                    let mut v = json!({
                        "AdministrativeActionType": a.action_type,
                        "Status": a.status,
                        "RequestTime": epoch(a.request_time),
                        "TargetFileSystemValues": a.target,
                    });
                    if let Some(p) = a.progress_percent {
                        v["ProgressPercent"] = json!(p);
                    }
                    v
                })
                .collect(),
        );
    }
    out
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

// Long on purpose, it reads better whole: FSx's UpdateFileSystem checks in the order FSx applies them, then the change.
pub(crate) fn update(state: &mut State, ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let id = req.req_str("FileSystemId")?;
    if let Some(t) = req.opt_str("ClientRequestToken")? {
        super::check_token(t)?;
    }
    let cfg = ctx.cfg;
    let used: i64 = state.file_systems.values().map(|f| f.storage_capacity).sum();
    let fs = state.file_systems.get_mut(id).ok_or_else(|| not_found(id))?;
    let lustre_in = req.opt_obj("LustreConfiguration")?.cloned().unwrap_or_default();
    let new_capacity = req.opt_i64("StorageCapacity")?;
    let new_throughput = lustre_in.opt_i64("PerUnitStorageThroughput")?;
    let new_version = req.opt_str("FileSystemTypeVersion")?;
    let new_meta = lustre_in.opt_obj("MetadataConfiguration")?;
    let heavy = new_capacity.is_some() || new_throughput.is_some() || new_version.is_some() || new_meta.is_some();

    match fs.lifecycle.as_str() {
        "AVAILABLE" | "MISCONFIGURED" => {}
        "UPDATING" if heavy => return Err(ApiError::bad_request("There is an update already in progress")),
        "UPDATING" => {}
        other => return Err(ApiError::bad_request(format!("Unable to update file system {id} while it is {other}"))),
    }

    let mut target = Map::new();
    if let Some(c) = new_capacity {
        if fs.deployment_type == "SCRATCH_1" {
            return Err(ApiError::bad_request("Storage capacity of SCRATCH_1 file systems cannot be increased"));
        }
        if fs.storage_type == "INTELLIGENT_TIERING" {
            return Err(ApiError::bad_request("StorageCapacity cannot be set for INTELLIGENT_TIERING storage"));
        }
        if c <= fs.storage_capacity {
            return Err(ApiError::bad_request(format!(
                "The new storage capacity ({c} GiB) must be larger than the current storage capacity ({} GiB)",
                fs.storage_capacity
            )));
        }
        validate::capacity(&fs.deployment_type, &fs.storage_type, fs.throughput, c)?;
        if let Some(last) = fs.last_storage_increase {
            if ctx.now < last + dur(cfg.storage_increase_cooldown) {
                return Err(ApiError::bad_request(
                    "Storage capacity can only be increased 6 hours after the last increase or after storage optimization finishes",
                ));
            }
        }
        if used - fs.storage_capacity + c > i64::try_from(cfg.storage_quota_gib).unwrap_or(i64::MAX) {
            return Err(ApiError::new("ServiceLimitExceeded", "Account limit for total storage exceeded")
                .with_field("Limit", "TOTAL_STORAGE"));
        }
        target.insert("StorageCapacity".into(), json!(c));
    }
    if let Some(t) = new_throughput {
        if !validate::is_persistent(&fs.deployment_type) || fs.storage_type != "SSD" {
            return Err(ApiError::bad_request(
                "PerUnitStorageThroughput can only be changed on persistent SSD file systems",
            ));
        }
        validate::throughput(&fs.deployment_type, &fs.storage_type, Some(t))?;
        target.insert("LustreConfiguration".into(), json!({"PerUnitStorageThroughput": t}));
    }
    if let Some(v) = new_version {
        validate::version(&fs.deployment_type, v)?;
        if validate::version_rank(v) <= validate::version_rank(&fs.version) {
            return Err(ApiError::bad_request(format!(
                "FileSystemTypeVersion can only be upgraded; current version is {}",
                fs.version
            )));
        }
        target.insert("FileSystemTypeVersion".into(), json!(v));
    }
    let meta = match new_meta {
        Some(m) => {
            if fs.deployment_type != "PERSISTENT_2" {
                return Err(ApiError::bad_request("MetadataConfiguration is only supported for PERSISTENT_2"));
            }
            let current = fs.lustre.get("MetadataConfiguration").and_then(|m| m.get("Iops")).and_then(Value::as_i64);
            Some(metadata(m, current)?)
        }
        None => None,
    };

    // Simple settings, validated before anything changes.
    let mut simple = Map::new();
    if let Some(w) = lustre_in.opt_str("WeeklyMaintenanceStartTime")? {
        validate::weekly_time(w)?;
        simple.insert("WeeklyMaintenanceStartTime".into(), json!(w));
    }
    if let Some(d) = lustre_in.opt_str("DailyAutomaticBackupStartTime")? {
        validate::daily_time(d)?;
        simple.insert("DailyAutomaticBackupStartTime".into(), json!(d));
    }
    if let Some(r) = lustre_in.opt_i64("AutomaticBackupRetentionDays")? {
        if !validate::is_persistent(&fs.deployment_type) && r > 0 {
            return Err(ApiError::bad_request("Automatic backups are not supported for SCRATCH deployment types"));
        }
        if !(0..=90).contains(&r) {
            return Err(ApiError::bad_request("AutomaticBackupRetentionDays must be between 0 and 90"));
        }
        simple.insert("AutomaticBackupRetentionDays".into(), json!(r));
    }
    if let Some(c) = lustre_in.opt_str("DataCompressionType")? {
        validate::one_of("DataCompressionType", c, &["NONE", "LZ4"])?;
        simple.insert("DataCompressionType".into(), json!(c));
    }
    if let Some(l) = log_config(&lustre_in)? {
        simple.insert("LogConfiguration".into(), l);
    }
    if let Some(rs) = root_squash(&lustre_in)? {
        simple.insert("RootSquashConfiguration".into(), rs);
    }
    let auto_import = lustre_in.opt_str("AutoImportPolicy")?;
    if let Some(p) = auto_import {
        validate::one_of("AutoImportPolicy", p, &["NONE", "NEW", "NEW_CHANGED", "NEW_CHANGED_DELETED"])?;
        if !fs.lustre.contains_key("DataRepositoryConfiguration") {
            return Err(ApiError::bad_request("AutoImportPolicy requires a file system linked to S3 with ImportPath"));
        }
    }

    // Apply.
    for (k, v) in simple {
        fs.lustre.insert(k, v);
    }
    if let Some(p) = auto_import {
        if let Some(Value::Object(drc)) = fs.lustre.get_mut("DataRepositoryConfiguration") {
            drc.insert("AutoImportPolicy".into(), json!(p));
        }
    }
    if heavy {
        fs.lifecycle = "UPDATING".into();
        fs.pending_update = Some(PendingUpdate {
            started_at: ctx.now,
            done_at: ctx.now + dur(cfg.update_duration),
            storage_capacity: new_capacity,
            throughput: new_throughput,
            version: new_version.map(str::to_string),
            metadata: meta,
        });
        fs.admin_actions.push(AdminAction {
            action_type: "FILE_SYSTEM_UPDATE".into(),
            status: "IN_PROGRESS".into(),
            progress_percent: Some(0),
            request_time: ctx.now,
            target,
        });
        if fs.admin_actions.len() > 50 {
            let excess = fs.admin_actions.len() - 50;
            fs.admin_actions.drain(..excess);
        }
    }
    Ok(json!({ "FileSystem": render(fs, ctx) }))
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
