//! UpdateFileSystem: FSx for Lustre's day-two changes, one at a time.
//!
//! Sources: the FSx API model (UpdateFileSystem, UpdateFileSystemLustreConfiguration,
//! UpdateFileSystemLustreMetadataConfiguration, LustreReadCacheConfiguration,
//! AdministrativeAction) and the FSx for Lustre user guide pages managing-storage-capacity,
//! managing-metadata-performance, switch-provisioning-mode, managing-throughput-capacity and the
//! monitoring-* pages.
//!
//! A *heavy* change (StorageCapacity, PerUnitStorageThroughput, ThroughputCapacity,
//! MetadataConfiguration, FileSystemTypeVersion, DataReadCacheConfiguration) puts the file system
//! in UPDATING for `update_duration` and adds a FILE_SYSTEM_UPDATE action carrying its
//! `TargetFileSystemValues`; when UPDATING ends the new values are usable and, for capacity,
//! throughput and IOPS increases, a STORAGE_/THROUGHPUT_/IOPS_OPTIMIZATION runs for its configured
//! duration while the FILE_SYSTEM_UPDATE shows UPDATED_OPTIMIZING. *Simple* settings (maintenance
//! window, backups, compression, logging, root squash, AutoImportPolicy) apply at once.
//!
//! One update at a time: while an administrative action is PENDING or IN_PROGRESS (the UPDATING
//! phase and every optimization) any UpdateFileSystem is `BadRequest`. For heavy changes that is
//! FSx's documented rule ("rejected while another increase or its storage optimization runs").
//! For the simple settings the user guide only says they are updatable "one update at a time"
//! (fsx-lustre-api.md section 13) and no source says FSx accepts them during an update, so they
//! are refused as well rather than silently mixed into a running one.

use serde_json::{json, Map, Value};

use super::file_systems::{log_config, metadata_iops, not_found, read_cache, render, root_squash};
use super::validate;
use crate::error::{ApiError, ApiResult};
use crate::model::{ActionSchedule, AdminAction, FileSystem, PendingUpdate, State};
use crate::request::Ctx;
use crate::wire::json::Fields;

/// FSx's answer to a storage-capacity update while another update runs, verbatim: the
/// aws-fsx-csi-driver matches this exact text (`pkg/cloud/cloud.go`,
/// `isBadRequestUpdateInProgress`). The other kinds of update get the same sentence with their
/// own noun.
pub(crate) const STORAGE_UPDATE_IN_PROGRESS: &str =
    "Unable to perform the storage capacity update. There is an update already in progress.";

const OP: &str = "UpdateFileSystem";

fn dur(d: std::time::Duration) -> chrono::Duration {
    crate::clock::span(d)
}

fn in_progress(what: &str) -> ApiError {
    ApiError::bad_request(format!("Unable to perform the {what} update. There is an update already in progress."))
}

/// A window as FSx words it: "6 hours" (or the configured length in seconds).
fn window(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    match secs / 3600 {
        1 if secs == 3600 => "1 hour".to_string(),
        h if h > 0 && secs.is_multiple_of(3600) => format!("{h} hours"),
        _ => format!("{secs} seconds"),
    }
}

/// The 6 h rule for storage. The user guide: no further increase "until 6 hours after the last
/// increase was requested, or until the storage optimization process has completed, whichever
/// time is longer" (the optimization half is the one-at-a-time rule). The wording follows FSx's
/// refusals: "Unable to perform the storage capacity update." (aws-fsx-csi-driver, above) and
/// "cannot start until at least 6 hours have passed since the last storage capacity update"
/// (observed from FSx, quoted in public FSx test notes).
fn storage_window(d: std::time::Duration) -> ApiError {
    ApiError::bad_request(format!(
        "Unable to perform the storage capacity update. The storage capacity update cannot start until at least {} have passed since the last storage capacity update.",
        window(d)
    ))
}

/// The 6 h rule for metadata IOPS ("metadata performance increase requests are at least 6 hours
/// apart", user guide managing-metadata-performance), worded like the storage one (FSx's own
/// text for this case was not found).
fn metadata_window(d: std::time::Duration) -> ApiError {
    ApiError::bad_request(format!(
        "Unable to perform the metadata configuration update. The metadata IOPS increase cannot start until at least {} have passed since the last metadata IOPS increase.",
        window(d)
    ))
}

/// What one UpdateFileSystem asks for, checked against the file system; applied only if every
/// check passed.
#[derive(Default)]
struct Plan {
    /// LustreConfiguration members applied at once.
    simple: Map<String, Value>,
    auto_import: Option<String>,
    storage_capacity: Option<i64>,
    throughput: Option<i64>,
    throughput_capacity: Option<i64>,
    read_cache: Option<Value>,
    metadata: Option<Value>,
    version: Option<String>,
    /// `TargetFileSystemValues` of the FILE_SYSTEM_UPDATE: top-level members and
    /// LustreConfiguration members.
    target: Map<String, Value>,
    target_lustre: Map<String, Value>,
    /// The optimizations that follow the UPDATING phase, with their durations.
    optimizations: Vec<(&'static str, std::time::Duration)>,
    metadata_increase: bool,
}

impl Plan {
    fn heavy(&self) -> bool {
        !self.target.is_empty() || !self.target_lustre.is_empty()
    }
}

/// The noun FSx's refusal uses for the first heavy change a request asks for.
fn kind(req: &Map<String, Value>, lustre: &Map<String, Value>) -> &'static str {
    if req.contains_key("StorageCapacity") {
        "storage capacity"
    } else if lustre.contains_key("PerUnitStorageThroughput") || lustre.contains_key("ThroughputCapacity") {
        "throughput capacity"
    } else if lustre.contains_key("MetadataConfiguration") {
        "metadata configuration"
    } else if req.contains_key("FileSystemTypeVersion") {
        "file system type version"
    } else if lustre.contains_key("DataReadCacheConfiguration") {
        "data read cache configuration"
    } else {
        "file system"
    }
}

// Long on purpose, it reads better whole: FSx's checks in the order it applies them, then the change.
pub(crate) fn update(state: &mut State, ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let id = req.req_str("FileSystemId")?;
    // "A string ... that Amazon FSx uses to ensure idempotent updates" (API model): a retry with
    // the same token and parameters answers the file system as it is now, starting nothing new.
    let token = req.opt_str("ClientRequestToken")?;
    if let Some(same) = super::token_lookup(state, OP, token, req)? {
        if let Some(fs) = state.file_systems.get(&same) {
            return Ok(json!({ "FileSystem": render(fs, ctx) }));
        }
    }
    let used: i64 = state.file_systems.values().map(|f| f.storage_capacity).sum();
    let fs = state.file_systems.get(id).ok_or_else(|| not_found(id))?;
    let lustre_in = req.opt_obj("LustreConfiguration")?.cloned().unwrap_or_default();

    match fs.lifecycle.as_str() {
        "AVAILABLE" | "MISCONFIGURED" | "UPDATING" => {}
        other => return Err(ApiError::bad_request(format!("Unable to update file system {id} while it is {other}"))),
    }
    if fs.lifecycle == "UPDATING" || fs.pending_update.is_some() || fs.admin_actions.iter().any(AdminAction::running) {
        return Err(match kind(req, &lustre_in) {
            "storage capacity" => ApiError::bad_request(STORAGE_UPDATE_IN_PROGRESS),
            other => in_progress(other),
        });
    }
    // "You cannot scale metadata performance and file system storage capacity concurrently"
    // (user guide, managing-metadata-performance).
    if req.contains_key("StorageCapacity") && lustre_in.contains_key("MetadataConfiguration") {
        return Err(ApiError::bad_request(
            "Unable to perform the update. Metadata performance and storage capacity cannot be scaled concurrently; update them in separate requests.",
        ));
    }

    let mut plan = Plan::default();
    if let Some(c) = req.opt_i64("StorageCapacity")? {
        storage_capacity(fs, ctx, c, used, &mut plan)?;
    }
    if let Some(t) = lustre_in.opt_i64("PerUnitStorageThroughput")? {
        per_unit_throughput(fs, ctx, t, &mut plan)?;
    }
    if let Some(t) = lustre_in.opt_i64("ThroughputCapacity")? {
        throughput_capacity(fs, ctx, t, &mut plan)?;
    }
    if let Some(cache) = lustre_in.opt_obj("DataReadCacheConfiguration")? {
        if fs.storage_type != "INTELLIGENT_TIERING" {
            return Err(ApiError::bad_request(
                "DataReadCacheConfiguration is only supported for INTELLIGENT_TIERING storage",
            ));
        }
        let tc = plan.throughput_capacity.or_else(|| current_throughput_capacity(fs)).unwrap_or_default();
        let cache = read_cache(cache, tc)?;
        plan.target_lustre.insert("DataReadCacheConfiguration".into(), cache.clone());
        plan.read_cache = Some(cache);
    }
    if let Some(meta) = lustre_in.opt_obj("MetadataConfiguration")? {
        metadata(fs, ctx, meta, &mut plan)?;
    }
    if let Some(v) = req.opt_str("FileSystemTypeVersion")? {
        validate::version(&fs.deployment_type, v)?;
        if validate::version_rank(v) <= validate::version_rank(&fs.version) {
            return Err(ApiError::bad_request(format!(
                "FileSystemTypeVersion can only be upgraded; current version is {}",
                fs.version
            )));
        }
        plan.target.insert("FileSystemTypeVersion".into(), json!(v));
        plan.version = Some(v.to_string());
    }
    simple_settings(fs, ctx, &lustre_in, &mut plan)?;

    let Some(fs) = state.file_systems.get_mut(id) else {
        return Err(not_found(id));
    };
    apply(fs, ctx, plan);
    let rendered = render(fs, ctx);
    super::token_remember(state, ctx, OP, token, req, id);
    Ok(json!({ "FileSystem": rendered }))
}

fn current_metadata(fs: &FileSystem) -> Option<(&str, i64)> {
    let meta = fs.lustre.get("MetadataConfiguration")?;
    Some((meta.get("Mode")?.as_str()?, meta.get("Iops")?.as_i64()?))
}

fn current_throughput_capacity(fs: &FileSystem) -> Option<i64> {
    fs.lustre.get("ThroughputCapacity").and_then(Value::as_i64)
}

fn efa(fs: &FileSystem) -> bool {
    fs.lustre.get("EfaEnabled").and_then(Value::as_bool) == Some(true)
}

/// Increase only, in the deployment's (or EFA's) steps; SCRATCH_1 and INTELLIGENT_TIERING never;
/// 6 h after the last increase request; in USER_PROVISIONED metadata mode the IOPS must already
/// cover the new capacity's automatic value (terraform-provider-aws issue 44432 / PR 44456: "if
/// storage_capacity is increased from 1200 to 2400, metadata_configuration.iops must be at least
/// 3000, and it must be increased before storage_capacity").
fn storage_capacity(fs: &FileSystem, ctx: &Ctx<'_>, c: i64, used: i64, plan: &mut Plan) -> ApiResult<()> {
    if fs.deployment_type == "SCRATCH_1" {
        return Err(ApiError::bad_request("Storage capacity of SCRATCH_1 file systems cannot be increased"));
    }
    if fs.storage_type == "INTELLIGENT_TIERING" {
        return Err(ApiError::bad_request(
            "StorageCapacity cannot be set for INTELLIGENT_TIERING storage; its storage capacity is elastic",
        ));
    }
    if c <= fs.storage_capacity {
        return Err(ApiError::bad_request(format!(
            "The new storage capacity ({c} GiB) must be larger than the current storage capacity ({} GiB)",
            fs.storage_capacity
        )));
    }
    if efa(fs) {
        validate::efa_capacity(fs.throughput, c)?;
    } else {
        validate::capacity(&fs.deployment_type, &fs.storage_type, fs.throughput, c)?;
    }
    let automatic = validate::automatic_metadata_iops(c);
    match current_metadata(fs) {
        Some(("USER_PROVISIONED", iops)) if iops < automatic => {
            return Err(ApiError::bad_request(format!(
                "Unable to perform the storage capacity update. A file system with {c} GiB of storage capacity needs at least {automatic} metadata IOPS in USER_PROVISIONED mode (it has {iops}); increase the metadata IOPS first."
            )))
        }
        Some(("AUTOMATIC", _)) => plan.metadata = Some(json!({"Mode": "AUTOMATIC", "Iops": automatic})),
        _ => {}
    }
    if let Some(last) = fs.last_storage_increase {
        if ctx.now < last + dur(ctx.cfg.storage_increase_cooldown) {
            return Err(storage_window(ctx.cfg.storage_increase_cooldown));
        }
    }
    if used - fs.storage_capacity + c > i64::try_from(ctx.cfg.storage_quota_gib).unwrap_or(i64::MAX) {
        return Err(ApiError::new("ServiceLimitExceeded", "Account limit for total storage exceeded")
            .with_field("Limit", "TOTAL_STORAGE"));
    }
    plan.target.insert("StorageCapacity".into(), json!(c));
    plan.storage_capacity = Some(c);
    plan.optimizations.push(("STORAGE_OPTIMIZATION", ctx.cfg.storage_optimization_duration));
    Ok(())
}

/// Up or down, persistent SSD only (PERSISTENT_1 50/100/200, PERSISTENT_2 125/250/500/1000),
/// never HDD, never EFA-enabled (fsx-lustre-api.md section 13).
fn per_unit_throughput(fs: &FileSystem, ctx: &Ctx<'_>, t: i64, plan: &mut Plan) -> ApiResult<()> {
    if !validate::is_persistent(&fs.deployment_type) || fs.storage_type != "SSD" {
        return Err(ApiError::bad_request(
            "PerUnitStorageThroughput can only be changed on persistent SSD file systems",
        ));
    }
    if efa(fs) {
        return Err(ApiError::bad_request("PerUnitStorageThroughput cannot be changed on EFA-enabled file systems"));
    }
    validate::throughput(&fs.deployment_type, &fs.storage_type, Some(t))?;
    if fs.throughput == Some(t) {
        return Err(ApiError::bad_request(format!(
            "The file system already has a PerUnitStorageThroughput of {t} MB/s/TiB"
        )));
    }
    plan.target_lustre.insert("PerUnitStorageThroughput".into(), json!(t));
    plan.throughput = Some(t);
    plan.optimizations.push(("THROUGHPUT_OPTIMIZATION", ctx.cfg.throughput_optimization_duration));
    Ok(())
}

/// INTELLIGENT_TIERING only: increase only, in steps of 4000 MBps (API model,
/// UpdateFileSystemLustreConfiguration.ThroughputCapacity: "You can only increase your file
/// system's throughput").
fn throughput_capacity(fs: &FileSystem, ctx: &Ctx<'_>, t: i64, plan: &mut Plan) -> ApiResult<()> {
    if fs.storage_type != "INTELLIGENT_TIERING" {
        return Err(ApiError::bad_request(
            "ThroughputCapacity is only supported for INTELLIGENT_TIERING storage; use PerUnitStorageThroughput",
        ));
    }
    validate::throughput_capacity(t)?;
    let current = current_throughput_capacity(fs).unwrap_or_default();
    if t <= current {
        return Err(ApiError::bad_request(format!(
            "ThroughputCapacity can only be increased; the current throughput capacity is {current} MBps"
        )));
    }
    plan.target_lustre.insert("ThroughputCapacity".into(), json!(t));
    plan.throughput_capacity = Some(t);
    plan.optimizations.push(("THROUGHPUT_OPTIMIZATION", ctx.cfg.throughput_optimization_duration));
    Ok(())
}

/// PERSISTENT_2 created with a metadata configuration only ("You cannot add or update the
/// metadata configuration ... if the metadata configuration is not specified at the time of file
/// system creation", user guide managing-metadata-performance). USER_PROVISIONED: `Iops` required,
/// never lower than now; AUTOMATIC (SSD only, no `Iops`): only if the current IOPS do not exceed
/// the automatic value for the capacity (switch-provisioning-mode: "If ... the current Metadata
/// IOPS value is greater than the automated default, Amazon FSx rejects the request"). Increases
/// at least `metadata_increase_cooldown` apart.
// Long on purpose, it reads better whole: one rule of the metadata configuration after another.
fn metadata(fs: &FileSystem, ctx: &Ctx<'_>, meta: &Map<String, Value>, plan: &mut Plan) -> ApiResult<()> {
    if fs.deployment_type != "PERSISTENT_2" {
        return Err(ApiError::bad_request("MetadataConfiguration is only supported for PERSISTENT_2"));
    }
    let Some((current_mode, current_iops)) = current_metadata(fs) else {
        return Err(ApiError::bad_request(
            "The metadata configuration can only be updated on file systems created with a MetadataConfiguration",
        ));
    };
    let mode = meta.opt_str("Mode")?.unwrap_or(current_mode);
    validate::one_of("MetadataConfiguration.Mode", mode, &["AUTOMATIC", "USER_PROVISIONED"])?;
    let iops = meta.opt_i64("Iops")?;
    let tiering = fs.storage_type == "INTELLIGENT_TIERING";
    let new_iops = match (mode, iops) {
        ("AUTOMATIC", _) if tiering => {
            return Err(ApiError::bad_request(
                "AUTOMATIC metadata mode is not supported for INTELLIGENT_TIERING file systems; use USER_PROVISIONED",
            ))
        }
        ("AUTOMATIC", Some(_)) => {
            return Err(ApiError::bad_request(
                "Iops cannot be set when Mode is AUTOMATIC; switch to USER_PROVISIONED to set the metadata IOPS",
            ))
        }
        ("AUTOMATIC", None) if current_mode == "AUTOMATIC" => {
            return Err(ApiError::bad_request("The file system's metadata configuration is already AUTOMATIC"))
        }
        ("AUTOMATIC", None) => {
            let automatic = validate::automatic_metadata_iops(fs.storage_capacity);
            if current_iops > automatic {
                return Err(ApiError::bad_request(format!(
                    "Unable to switch the metadata configuration to AUTOMATIC: the current {current_iops} metadata IOPS exceed the {automatic} IOPS AUTOMATIC mode provisions for {} GiB, and downscaling metadata IOPS is not supported",
                    fs.storage_capacity
                )));
            }
            automatic
        }
        (_, None) => return Err(ApiError::bad_request("Iops is required when Mode is USER_PROVISIONED")),
        (_, Some(i)) => {
            metadata_iops(&fs.storage_type, i)?;
            if i < current_iops {
                return Err(ApiError::bad_request(format!(
                    "Metadata Iops can only be increased; the file system has {current_iops}"
                )));
            }
            if i == current_iops && current_mode == "USER_PROVISIONED" {
                return Err(ApiError::bad_request(format!("The file system already has {i} metadata IOPS")));
            }
            i
        }
    };
    if new_iops > current_iops {
        if let Some(last) = fs.last_metadata_increase {
            if ctx.now < last + dur(ctx.cfg.metadata_increase_cooldown) {
                return Err(metadata_window(ctx.cfg.metadata_increase_cooldown));
            }
        }
        plan.metadata_increase = true;
        plan.optimizations.push(("IOPS_OPTIMIZATION", ctx.cfg.iops_optimization_duration));
    }
    let value = json!({"Mode": mode, "Iops": new_iops});
    plan.target_lustre.insert("MetadataConfiguration".into(), value.clone());
    plan.metadata = Some(value);
    Ok(())
}

/// The settings applied at once, validated like CreateFileSystem's.
fn simple_settings(fs: &FileSystem, ctx: &Ctx<'_>, lustre_in: &Map<String, Value>, plan: &mut Plan) -> ApiResult<()> {
    let persistent = validate::is_persistent(&fs.deployment_type);
    if let Some(w) = lustre_in.opt_str("WeeklyMaintenanceStartTime")? {
        validate::weekly_time(w)?;
        plan.simple.insert("WeeklyMaintenanceStartTime".into(), json!(w));
    }
    if let Some(d) = lustre_in.opt_str("DailyAutomaticBackupStartTime")? {
        if !persistent {
            return Err(ApiError::bad_request("Automatic backups are not supported for SCRATCH deployment types"));
        }
        validate::daily_time(d)?;
        plan.simple.insert("DailyAutomaticBackupStartTime".into(), json!(d));
    }
    if let Some(r) = lustre_in.opt_i64("AutomaticBackupRetentionDays")? {
        if !persistent && r > 0 {
            return Err(ApiError::bad_request("Automatic backups are not supported for SCRATCH deployment types"));
        }
        if !(0..=90).contains(&r) {
            return Err(ApiError::bad_request("AutomaticBackupRetentionDays must be between 0 and 90"));
        }
        if persistent {
            plan.simple.insert("AutomaticBackupRetentionDays".into(), json!(r));
        }
    }
    if let Some(c) = lustre_in.opt_str("DataCompressionType")? {
        validate::one_of("DataCompressionType", c, &["NONE", "LZ4"])?;
        plan.simple.insert("DataCompressionType".into(), json!(c));
    }
    if let Some(l) = log_config(lustre_in, ctx)? {
        plan.simple.insert("LogConfiguration".into(), l);
    }
    if let Some(rs) = root_squash(lustre_in)? {
        plan.simple.insert("RootSquashConfiguration".into(), rs);
    }
    if let Some(p) = lustre_in.opt_str("AutoImportPolicy")? {
        validate::one_of("AutoImportPolicy", p, &["NONE", "NEW", "NEW_CHANGED", "NEW_CHANGED_DELETED"])?;
        if !fs.lustre.contains_key("DataRepositoryConfiguration") {
            return Err(ApiError::bad_request("AutoImportPolicy requires a file system linked to S3 with ImportPath"));
        }
        plan.auto_import = Some(p.to_string());
    }
    Ok(())
}

/// Applies the simple settings, and starts the heavy update: UPDATING until `update_duration`
/// passes, a FILE_SYSTEM_UPDATE (IN_PROGRESS, then UPDATED_OPTIMIZING while its optimizations
/// run) followed by each optimization (PENDING until UPDATING ends, then IN_PROGRESS).
fn apply(fs: &mut FileSystem, ctx: &Ctx<'_>, plan: Plan) {
    let heavy = plan.heavy();
    let Plan { simple, auto_import, mut target, target_lustre, optimizations, .. } = plan;
    for (k, v) in simple {
        fs.lustre.insert(k, v);
    }
    if let Some(p) = auto_import {
        if let Some(Value::Object(drc)) = fs.lustre.get_mut("DataRepositoryConfiguration") {
            drc.insert("AutoImportPolicy".into(), json!(p));
        }
    }
    if !heavy {
        return;
    }
    let now = ctx.now;
    let updated_at = now + dur(ctx.cfg.update_duration);
    let completes_at = optimizations.iter().map(|(_, d)| updated_at + dur(*d)).max().unwrap_or(updated_at);
    if plan.storage_capacity.is_some() {
        fs.last_storage_increase = Some(now);
    }
    if plan.metadata_increase {
        fs.last_metadata_increase = Some(now);
    }
    fs.lifecycle = "UPDATING".into();
    fs.pending_update = Some(PendingUpdate {
        started_at: now,
        done_at: updated_at,
        storage_capacity: plan.storage_capacity,
        throughput: plan.throughput,
        version: plan.version,
        metadata: plan.metadata,
        throughput_capacity: plan.throughput_capacity,
        read_cache: plan.read_cache,
    });
    if !target_lustre.is_empty() {
        target.insert("LustreConfiguration".into(), Value::Object(target_lustre));
    }
    fs.admin_actions.push(AdminAction {
        action_type: "FILE_SYSTEM_UPDATE".into(),
        status: "IN_PROGRESS".into(),
        progress_percent: None,
        request_time: now,
        target,
        failure_message: None,
        schedule: Some(ActionSchedule { starts_at: now, updated_at, completes_at }),
    });
    for (action_type, d) in optimizations {
        let end = updated_at + dur(d);
        let starts_now = updated_at <= now;
        fs.admin_actions.push(AdminAction {
            action_type: action_type.into(),
            status: if starts_now { "IN_PROGRESS" } else { "PENDING" }.into(),
            progress_percent: None,
            request_time: now,
            target: Map::new(),
            failure_message: None,
            schedule: Some(ActionSchedule { starts_at: updated_at, updated_at: end, completes_at: end }),
        });
    }
    // DescribeFileSystems lists at most 50 (the API model); the oldest go first.
    if fs.admin_actions.len() > 50 {
        let excess = fs.admin_actions.len() - 50;
        fs.admin_actions.drain(..excess);
    }
}
