//! Day two: changes of a live volume sent to FSx the way FSx allows them.
//!
//! What the spec asks for is compared with what FSx reports (never with what the operator sent
//! before, so a restart between an UpdateFileSystem and its status write sends nothing again:
//! FSx shows the change made or under way). FSx makes one update at a time and at least 6 hours
//! between two storage increases; the operator never sends an update FSx would refuse for those:
//! while an administrative action runs, or before a window opens, the changes wait in
//! `status.pendingChanges` (with `nextUpdateAllowedAt`), coalesced, and go when allowed. Settings
//! FSx applies at once (compression, maintenance window, backups) go together in one call; a
//! change FSx works on for a while (capacity, throughput) goes alone, capacity first. "Now" is
//! FSx's clock (the `Date` of its answers), against which its request times are judged.

use lustre_api::{DataCompression, LustreVolume};

use crate::aws::{FileSystem, FileSystemUpdate, Lifecycle};
use crate::context::Context;
use crate::error::{Error, Result};

/// FSx's wait between two storage increases.
pub(crate) const STORAGE_INCREASE_WINDOW_MS: i64 = 6 * 3600 * 1000;

/// What to do now: one update to send (if any), and what waits, with why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) send: Option<FileSystemUpdate>,
    /// What this pass sends, in words ("perUnitStorageThroughput 125 -> 250").
    pub(crate) sending: Vec<String>,
    /// What waits, in words, with what it waits for.
    pub(crate) pending: Vec<String>,
    /// When the earliest window a pending change waits for opens (FSx's clock, ms).
    pub(crate) next_allowed_at_ms: Option<i64>,
}

fn compression_name(c: DataCompression) -> &'static str {
    c.as_str()
}

/// The plan for `lv` (its class applied) on `fs` at FSx time `now_ms`. Pure.
pub(crate) fn plan(lv: &LustreVolume, fs: &FileSystem, now_ms: i64) -> Plan {
    let s = &lv.spec;
    let mut simple = FileSystemUpdate::default();
    let mut simple_words = Vec::new();
    if let Some(want) = s.data_compression.map(compression_name) {
        let have = fs.data_compression.as_deref().unwrap_or("NONE");
        if want != have {
            simple.data_compression = Some(want.to_string());
            simple_words.push(format!("dataCompression {have} -> {want}"));
        }
    }
    if let Some(want) = s.weekly_maintenance_start_time.as_deref() {
        if fs.weekly_maintenance_start_time.as_deref() != Some(want) {
            simple.weekly_maintenance_start_time = Some(want.to_string());
            let have = fs.weekly_maintenance_start_time.as_deref().unwrap_or("none");
            simple_words.push(format!("weeklyMaintenanceStartTime {have} -> {want}"));
        }
    }
    if let Some(want) = s.automatic_backup_retention_days {
        let have = fs.automatic_backup_retention_days.unwrap_or(0);
        if s.deployment_type.is_persistent() && want != have {
            simple.automatic_backup_retention_days = Some(want);
            simple_words.push(format!("automaticBackupRetentionDays {have} -> {want}"));
        }
    }
    if let Some((squash, nids)) = &s.root_squash_configuration {
        let (have, have_nids) = fs.root_squash.clone().unwrap_or_else(|| ("0:0".to_string(), Vec::new()));
        let mut want_nids = nids.clone();
        let mut have_sorted = have_nids;
        want_nids.sort();
        have_sorted.sort();
        if *squash != have || (squash != "0:0" && want_nids != have_sorted) {
            simple.root_squash = Some((squash.clone(), nids.clone()));
            let word = |s: &str| if s == "0:0" { "off".to_string() } else { s.to_string() };
            simple_words.push(format!("rootSquash {} -> {}", word(&have), word(squash)));
        }
    }
    if let Some(level) = s.log_level {
        let want_dest = s.log_destination.clone().filter(|_| level != lustre_api::LogLevel::Disabled);
        let (have, have_dest) = fs.log.clone().unwrap_or_else(|| ("DISABLED".to_string(), None));
        let dest_differs = want_dest.is_some() && want_dest != have_dest;
        if level.as_str() != have || dest_differs {
            simple.log = Some((level.as_str().to_string(), want_dest));
            simple_words.push(format!("logLevel {have} -> {}", level.as_str()));
        }
    }
    let mut capacity = None;
    if let (Some(want), Some(have)) = (s.storage_capacity_gib, fs.capacity_gib) {
        if want > have {
            capacity = Some((have, want));
        }
    }
    let mut throughput = None;
    if let (Some(want), Some(have)) = (s.per_unit_storage_throughput, fs.per_unit_storage_throughput) {
        if want != have && s.deployment_type.is_persistent() && !fs.hdd {
            throughput = Some((have, want));
        }
    }
    let metadata = metadata_change(lv, fs);
    // The changes FSx works on for a while, in the order they go: (words, request, window).
    let mut heavy: Vec<(String, FileSystemUpdate, Option<i64>)> = Vec::new();
    if let Some((have, want)) = capacity {
        let update = FileSystemUpdate { capacity_gib: Some(want), ..Default::default() };
        let opens = last_increase_ms(fs, |a| a.target_capacity_gib.is_some()).map(|t| t + STORAGE_INCREASE_WINDOW_MS);
        heavy.push((format!("storageCapacityGiB {have} -> {want}"), update, opens));
    }
    if let Some((words, m)) = metadata {
        let update = FileSystemUpdate { metadata: Some(m), ..Default::default() };
        let opens = last_increase_ms(fs, |a| a.target_metadata_iops.is_some()).map(|t| t + STORAGE_INCREASE_WINDOW_MS);
        heavy.push((words, update, opens));
    }
    if let Some((have, want)) = throughput {
        let update = FileSystemUpdate { per_unit_storage_throughput: Some(want), ..Default::default() };
        heavy.push((format!("perUnitStorageThroughput {have} -> {want}"), update, None));
    }
    // Newer only (admission refuses older); a file system FSx reports newer is left alone.
    if let Some(have) = fs.lustre_version.as_deref() {
        let want = s.lustre_version.as_str();
        if version_rank(want) > version_rank(have) {
            let update = FileSystemUpdate { lustre_version: Some(want.to_string()), ..Default::default() };
            heavy.push((format!("lustreVersion {have} -> {want}"), update, None));
        }
    }
    let mut plan = Plan::default();
    let all: Vec<String> = simple_words.iter().cloned().chain(heavy.iter().map(|(w, _, _)| w.clone())).collect();
    if all.is_empty() {
        return plan;
    }

    // One update at a time: nothing while FSx works on the file system.
    let running: Vec<String> =
        fs.actions.iter().filter(|a| a.running()).map(|a| format!("{} {}", a.action_type, a.status)).collect();
    if fs.lifecycle != Lifecycle::Available || !running.is_empty() {
        let what = if running.is_empty() { format!("the file system is {}", fs.lifecycle) } else { running.join(", ") };
        plan.pending = all.into_iter().map(|w| format!("{w}: waiting for {what} to finish")).collect();
        return plan;
    }
    if simple.has_changes() {
        plan.send = Some(simple);
        plan.sending = simple_words;
        plan.pending = heavy
            .into_iter()
            .map(|(w, _, _)| format!("{w}: after the settings update (one update at a time)"))
            .collect();
        return plan;
    }
    // The first whose window is open goes; the others wait, for their window or for it.
    let mut sent: Option<String> = None;
    for (words, update, opens) in heavy {
        let window = opens.filter(|t| *t > now_ms);
        match (&sent, window) {
            (None, None) => {
                plan.send = Some(update);
                plan.sending = vec![words.clone()];
                sent = Some(words);
            }
            (_, Some(t)) => {
                plan.next_allowed_at_ms = Some(plan.next_allowed_at_ms.map_or(t, |n| n.min(t)));
                plan.pending.push(format!("{words}: FSx allows one such increase every 6 hours"));
            }
            (Some(first), None) => plan.pending.push(format!("{words}: after {first}")),
        }
    }
    plan
}

fn version_rank(v: &str) -> u32 {
    match v {
        "2.10" => 1,
        "2.12" => 2,
        "2.15" => 3,
        _ => 0,
    }
}

/// When the latest increase of one kind (`kind` picks its actions) was asked for (FSx's clock).
fn last_increase_ms(fs: &FileSystem, kind: impl Fn(&crate::aws::AdminAction) -> bool) -> Option<i64> {
    fs.actions
        .iter()
        .filter(|a| a.action_type == "FILE_SYSTEM_UPDATE" && kind(a))
        .filter_map(|a| a.requested_at_ms)
        .max()
}

/// The metadata change the spec asks for, in words and as (mode, IOPS): more IOPS, or a change
/// of mode. Fewer IOPS are never asked (FSx cannot lower them; admission refuses it too).
fn metadata_change(lv: &LustreVolume, fs: &FileSystem) -> Option<(String, (String, Option<i32>))> {
    let want = lv.spec.metadata_configuration?;
    let have_mode = fs.metadata_mode.as_deref()?;
    let want_mode = want.mode.as_str();
    let more = matches!((want.iops, fs.metadata_iops), (Some(w), Some(h)) if w > h);
    if want_mode == have_mode && !more {
        return None;
    }
    let have = format!("{have_mode} {}", fs.metadata_iops.map(|i| i.to_string()).unwrap_or_default());
    let wanted = format!("{want_mode} {}", want.iops.map(|i| i.to_string()).unwrap_or_default());
    Some((format!("metadataConfiguration {} -> {}", have.trim(), wanted.trim()), (want_mode.to_string(), want.iops)))
}

/// Sends what [`plan`] allows now. Ok with the plan (its `pending` goes to status); a refusal FSx
/// still answers (a rule not modelled here) is reported with FSx's message and tried again at
/// the resync, not before.
pub(crate) async fn apply(ctx: &Context, lv: &LustreVolume, fs: &FileSystem) -> Result<Plan> {
    if lv.spec.file_system_id.is_some() {
        return Ok(Plan::default());
    }
    let plan = plan(lv, fs, ctx.aws.clock.now_ms());
    let Some(update) = &plan.send else { return Ok(plan) };
    let token = crate::ownership::idempotency_token(
        crate::ownership::TokenPurpose::Update,
        crate::ownership::uid(lv),
        &[&update.fingerprint()],
    );
    match ctx.aws.update_file_system(&fs.id, update, &token).await {
        Ok(()) => {
            ctx.poller.refresh(&fs.id);
            let note = format!("asked FSx to change {}: {}", fs.id, plan.sending.join(", "));
            ctx.events.normal(lv, "UpdateRequested", &note).await;
            Ok(plan)
        }
        Err(e) if e.is("BadRequest") || e.is("IncompatibleParameterError") || e.is("UnsupportedOperation") => {
            Err(Error::UpdateRefused(format!(
                "FSx refused to change {} ({}): {}; the operator tries again at the next resync",
                fs.id,
                plan.sending.join(", "),
                e.message
            )))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::AdminAction;

    const HOUR: i64 = 3600 * 1000;

    fn lv(spec: serde_json::Value) -> LustreVolume {
        crate::fixtures::volume("ml", "train", "u-1", spec)
    }

    fn p2(capacity: i32, throughput: i32) -> FileSystem {
        FileSystem {
            id: "fs-1".into(),
            is_lustre: true,
            lifecycle: Lifecycle::Available,
            capacity_gib: Some(capacity),
            per_unit_storage_throughput: Some(throughput),
            persistent: true,
            ..Default::default()
        }
    }

    fn spec(capacity: i32, throughput: i32, extra: serde_json::Value) -> serde_json::Value {
        let mut s = serde_json::json!({"storageCapacityGiB": capacity, "deploymentType": "PERSISTENT_2",
                                       "perUnitStorageThroughput": throughput,
                                       "network": {"subnetId": "subnet-0123456789abcdef0"}});
        if let (Some(base), serde_json::Value::Object(more)) = (s.as_object_mut(), extra) {
            base.extend(more);
        }
        s
    }

    #[test]
    fn nothing_to_do_sends_nothing() {
        let p = plan(&lv(spec(1200, 125, serde_json::json!({}))), &p2(1200, 125), 0);
        assert_eq!(p, Plan::default());
    }

    #[test]
    fn a_throughput_change_goes_alone_and_says_what() {
        let p = plan(&lv(spec(1200, 250, serde_json::json!({}))), &p2(1200, 125), 0);
        assert_eq!(p.send.as_ref().and_then(|u| u.per_unit_storage_throughput), Some(250));
        assert_eq!(p.sending, vec!["perUnitStorageThroughput 125 -> 250".to_string()]);
        assert!(p.pending.is_empty());
    }

    #[test]
    fn while_fsx_works_everything_waits_and_nothing_is_sent() {
        let mut fs = p2(1200, 125);
        fs.actions.push(AdminAction {
            action_type: "FILE_SYSTEM_UPDATE".into(),
            status: "IN_PROGRESS".into(),
            ..Default::default()
        });
        let p = plan(&lv(spec(2400, 250, serde_json::json!({"dataCompression": "LZ4"}))), &fs, 0);
        assert_eq!(p.send, None);
        assert_eq!(p.pending.len(), 3, "{:?}", p.pending);
        assert!(p.pending.iter().all(|w| w.contains("FILE_SYSTEM_UPDATE IN_PROGRESS")));
        fs.actions[0].status = "COMPLETED".into();
        fs.lifecycle = Lifecycle::Updating;
        assert_eq!(plan(&lv(spec(2400, 250, serde_json::json!({}))), &fs, 0).send, None, "not while UPDATING");
    }

    #[test]
    fn settings_go_together_first_then_capacity_then_throughput() {
        let v =
            lv(spec(2400, 250, serde_json::json!({"dataCompression": "LZ4", "weeklyMaintenanceStartTime": "2:03:00"})));
        let p = plan(&v, &p2(1200, 125), 0);
        let sent = p.send.clone().expect("an update");
        assert_eq!(
            (sent.data_compression.as_deref(), sent.weekly_maintenance_start_time.as_deref()),
            (Some("LZ4"), Some("2:03:00"))
        );
        assert_eq!((sent.capacity_gib, sent.per_unit_storage_throughput), (None, None), "heavy changes go alone");
        assert_eq!(p.pending.len(), 2);
        // Settings applied: capacity next, throughput after it.
        let mut fs = p2(1200, 125);
        fs.data_compression = Some("LZ4".into());
        fs.weekly_maintenance_start_time = Some("2:03:00".into());
        let p = plan(&v, &fs, 0);
        assert_eq!(p.send.as_ref().and_then(|u| u.capacity_gib), Some(2400));
        assert_eq!(
            p.pending,
            vec!["perUnitStorageThroughput 125 -> 250: after storageCapacityGiB 1200 -> 2400".to_string()]
        );
    }

    #[test]
    fn a_second_storage_increase_waits_for_its_window_and_throughput_goes_meanwhile() {
        let mut fs = p2(2400, 125);
        fs.actions.push(AdminAction {
            action_type: "FILE_SYSTEM_UPDATE".into(),
            status: "COMPLETED".into(),
            requested_at_ms: Some(10 * HOUR),
            target_capacity_gib: Some(2400),
            ..Default::default()
        });
        let v = lv(spec(4800, 125, serde_json::json!({})));
        let p = plan(&v, &fs, 12 * HOUR);
        assert_eq!(p.send, None, "no increase inside the 6 hours");
        assert_eq!(p.next_allowed_at_ms, Some(16 * HOUR));
        assert!(p.pending[0].contains("one such increase every 6 hours"));
        assert_eq!(plan(&v, &fs, 16 * HOUR).send.and_then(|u| u.capacity_gib), Some(4800), "sent once it opens");
        let both = lv(spec(4800, 500, serde_json::json!({})));
        let p = plan(&both, &fs, 12 * HOUR);
        assert_eq!(p.send.and_then(|u| u.per_unit_storage_throughput), Some(500), "throughput has no window");
        assert_eq!(p.next_allowed_at_ms, Some(16 * HOUR));
    }

    #[test]
    fn metadata_iops_grow_after_capacity_with_their_own_window() {
        let mut fs = p2(1200, 125);
        fs.metadata_mode = Some("USER_PROVISIONED".into());
        fs.metadata_iops = Some(1500);
        let v = lv(spec(
            1200,
            125,
            serde_json::json!({"metadataConfiguration": {"mode": "USER_PROVISIONED", "iops": 3000}}),
        ));
        let p = plan(&v, &fs, 0);
        let m = p.send.as_ref().and_then(|u| u.metadata.clone());
        assert_eq!(m, Some(("USER_PROVISIONED".to_string(), Some(3000))));
        assert_eq!(p.sending, vec!["metadataConfiguration USER_PROVISIONED 1500 -> USER_PROVISIONED 3000".to_string()]);
        fs.actions.push(AdminAction {
            action_type: "FILE_SYSTEM_UPDATE".into(),
            status: "COMPLETED".into(),
            requested_at_ms: Some(HOUR),
            target_metadata_iops: Some(1500),
            ..Default::default()
        });
        let p = plan(&v, &fs, 2 * HOUR);
        assert_eq!(p.send, None);
        assert_eq!(p.next_allowed_at_ms, Some(7 * HOUR));
        let fewer = lv(spec(
            1200,
            125,
            serde_json::json!({"metadataConfiguration": {"mode": "USER_PROVISIONED", "iops": 1500}}),
        ));
        fs.metadata_iops = Some(3000);
        assert_eq!(plan(&fewer, &fs, 8 * HOUR), Plan::default(), "fewer IOPS are never asked");
    }

    #[test]
    fn root_squash_goes_with_the_settings_and_only_when_it_differs() {
        let mut v = lv(spec(1200, 125, serde_json::json!({})));
        v.spec.root_squash_configuration = Some(("0:0".into(), Vec::new()));
        let mut fs = p2(1200, 125);
        assert_eq!(plan(&v, &fs, 0), Plan::default(), "no configuration at FSx is no squash");
        v.spec.root_squash_configuration = Some(("65534:65534".into(), vec!["10.0.1.6@tcp".into()]));
        let p = plan(&v, &fs, 0);
        assert_eq!(p.sending, vec!["rootSquash off -> 65534:65534".to_string()]);
        fs.root_squash = Some(("65534:65534".into(), vec!["10.0.1.6@tcp".into()]));
        assert_eq!(plan(&v, &fs, 0), Plan::default());
        v.spec.root_squash_configuration = Some(("65534:65534".into(), vec!["10.0.2.9@tcp".into()]));
        assert!(plan(&v, &fs, 0).send.and_then(|u| u.root_squash).is_some(), "other no-squash NIDs");
    }

    #[test]
    fn the_lustre_version_is_upgraded_never_downgraded() {
        let mut fs = p2(1200, 125);
        fs.lustre_version = Some("2.12".into());
        let v = lv(spec(1200, 125, serde_json::json!({"lustreVersion": "2.15"})));
        assert_eq!(plan(&v, &fs, 0).send.and_then(|u| u.lustre_version).as_deref(), Some("2.15"));
        fs.lustre_version = Some("2.15".into());
        let older = lv(spec(1200, 125, serde_json::json!({"lustreVersion": "2.12"})));
        assert_eq!(plan(&older, &fs, 0), Plan::default());
    }

    #[test]
    fn what_fsx_cannot_change_is_not_asked() {
        let mut hdd = p2(6000, 12);
        hdd.hdd = true;
        let v =
            lv(serde_json::json!({"storageCapacityGiB": 6000, "deploymentType": "PERSISTENT_1", "storageType": "HDD",
                                      "perUnitStorageThroughput": 40, "driveCacheType": "NONE",
                                      "network": {"subnetId": "subnet-0123456789abcdef0"}}));
        assert_eq!(plan(&v, &hdd, 0).send, None, "HDD throughput never changes");
        let scratch = lv(serde_json::json!({"storageCapacityGiB": 1200, "automaticBackupRetentionDays": 0,
                                            "network": {"subnetId": "subnet-0123456789abcdef0"}}));
        let mut fs = p2(1200, 125);
        fs.per_unit_storage_throughput = None;
        assert_eq!(plan(&scratch, &fs, 0), Plan::default(), "no backups on scratch");
    }
}
