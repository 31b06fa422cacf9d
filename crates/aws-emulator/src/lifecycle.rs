//! The lazy lifecycle engine: no timers; before every observation `State::tick` moves each file
//! system, association, task and idempotency token to what the emulated clock implies.
//!
//! File systems: CREATING for `EmulatorConfig::create_duration_for(id)` (`create_duration` plus a
//! share of `create_spread` fixed by the ID), then AVAILABLE. An UpdateFileSystem that changes
//! capacity, throughput, metadata or version: UPDATING until its values apply, while each
//! administrative action follows its `ActionSchedule` (FILE_SYSTEM_UPDATE IN_PROGRESS, then
//! UPDATED_OPTIMIZING while its STORAGE_/THROUGHPUT_/IOPS_OPTIMIZATION runs, then COMPLETED).
//!
//! Associations: FSx processes one CREATING / UPDATING / DELETING association of a file system at
//! a time, in request order; the others wait, and an association's duration counts from the
//! moment it becomes the one being processed (a creation lasts `create_duration_for` the
//! association's own ID). A CREATING association also waits for its file system to be AVAILABLE
//! (it can be requested while the file system is CREATING).
//!
//! Tasks: PENDING for `task_pending_duration`, EXECUTING for `task_duration` with counts growing
//! linearly, then SUCCEEDED, or FAILED when an injected failure (`State::task_failures`) was armed
//! while the task was still running.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use serde_json::json;

use crate::config::EmulatorConfig;
use crate::model::{AdminAction, FileSystem, State, TableExt, Task};

/// Association lifecycles that wait in their file system's queue.
pub(crate) fn in_progress(lifecycle: &str) -> bool {
    matches!(lifecycle, "CREATING" | "UPDATING" | "DELETING")
}

/// Task counts as DescribeDataRepositoryTasks shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TaskCounts {
    pub(crate) total: i64,
    pub(crate) succeeded: i64,
    pub(crate) failed: i64,
}

impl Task {
    /// How many of `total_count` files a failing task fails on (at least one).
    pub(crate) fn planned_failures(&self) -> i64 {
        if self.fail_with.is_some() {
            ((self.total_count + 9) / 10).clamp(1, self.total_count.max(1))
        } else {
            0
        }
    }

    /// The counts at `now`: zero while PENDING (and for a task cancelled before it started),
    /// growing linearly while EXECUTING, frozen once it ended or was cancelled.
    pub(crate) fn counts_at(&self, now: DateTime<Utc>, cfg: &EmulatorConfig) -> TaskCounts {
        let Some(start) = self.start_time else {
            return TaskCounts::default();
        };
        if self.lifecycle != "EXECUTING" {
            return TaskCounts { total: self.total_count, succeeded: self.succeeded_count, failed: self.failed_count };
        }
        let total_ms = i128::from(crate::clock::span(cfg.task_duration).num_milliseconds().max(1));
        let done_ms = i128::from((now - start).num_milliseconds()).clamp(0, total_ms);
        let part = |n: i64| i64::try_from(i128::from(n) * done_ms / total_ms).unwrap_or(n);
        let failed = self.planned_failures();
        TaskCounts { total: self.total_count, succeeded: part(self.total_count - failed), failed: part(failed) }
    }

    /// GiB released so far by a RELEASE_DATA_FROM_FILESYSTEM task: 8 MiB per released file,
    /// rounded up (at most 100 paths x 1000 files = 782 GiB, below the smallest Lustre capacity).
    pub(crate) fn released_capacity(counts: TaskCounts) -> i64 {
        (counts.succeeded * 8 + 1023) / 1024
    }
}

impl State {
    /// Advances every lifecycle to what `now` implies. Called before every observation.
    pub(crate) fn tick(&mut self, now: DateTime<Utc>, cfg: &EmulatorConfig) {
        let dur = crate::clock::span;
        // Only the records whose lifecycle moves are written (a write copies them out of a tree
        // that a request's backup may share).
        let created =
            |fs: &FileSystem| fs.lifecycle == "CREATING" && now >= fs.created_at + dur(cfg.create_duration_for(&fs.id));
        self.file_systems.update_where(created, |fs| fs.lifecycle = "AVAILABLE".into());
        let updating = |fs: &FileSystem| {
            fs.lifecycle == "UPDATING" || fs.pending_update.is_some() || fs.admin_actions.iter().any(|a| !a.finished())
        };
        self.file_systems.update_where(updating, |fs| advance_update(fs, now));
        let gone: Vec<String> = self
            .file_systems
            .values()
            .filter(|fs| fs.lifecycle == "DELETING")
            .filter(|fs| fs.deleting_since.is_some_and(|since| now >= since + dur(cfg.delete_duration)))
            .map(|fs| fs.id.clone())
            .collect();
        for id in gone {
            self.remove_file_system(&id);
        }
        self.tick_associations(now, cfg);
        self.tick_tasks(now, cfg);
        let window = dur(cfg.token_window);
        self.tokens.retain(|_, t| now < t.at + window);
    }

    /// Moves association `id` into CREATING, UPDATING or DELETING at `now`: it joins the back of its
    /// file system's queue, or keeps its place if it was already queued.
    pub(crate) fn enqueue_association(&mut self, id: &str, lifecycle: &str, now: DateTime<Utc>) {
        let queued = self.associations.get(id).map(|a| in_progress(&a.lifecycle));
        let seq = match queued {
            None => return,
            Some(true) => None,
            Some(false) => Some(self.next_association_seq()),
        };
        let Some(a) = self.associations.get_mut(id) else {
            return;
        };
        if let Some(seq) = seq {
            a.seq = seq;
        }
        a.lifecycle = lifecycle.to_string();
        a.changed_at = now;
        a.processing_since = None;
    }

    /// The next place in the association queues (request order).
    pub(crate) fn next_association_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq = seq.saturating_add(1);
        seq
    }

    fn tick_associations(&mut self, now: DateTime<Utc>, cfg: &EmulatorConfig) {
        let dur = crate::clock::span;
        let busy: BTreeSet<String> = self
            .associations
            .values()
            .filter(|a| in_progress(&a.lifecycle))
            .map(|a| a.file_system_id.clone())
            .collect();
        if busy.is_empty() {
            return;
        }
        // When each usable file system with queued associations became AVAILABLE.
        let ready: BTreeMap<String, DateTime<Utc>> = busy
            .iter()
            .filter_map(|id| self.file_systems.get(id))
            .filter(|fs| matches!(fs.lifecycle.as_str(), "AVAILABLE" | "UPDATING"))
            .map(|fs| (fs.id.clone(), (fs.created_at + dur(cfg.create_duration_for(&fs.id))).min(now)))
            .collect();
        for fs_id in busy {
            // When the previous association of this file system finished, in this tick.
            let mut free_at: Option<DateTime<Utc>> = None;
            while let Some(head_id) = self
                .associations
                .values()
                .filter(|a| a.file_system_id == fs_id && in_progress(&a.lifecycle))
                .min_by(|a, b| (a.seq, a.changed_at, &a.id).cmp(&(b.seq, b.changed_at, &b.id)))
                .map(|a| a.id.clone())
            {
                let Some(head) = self.associations.get_mut(&head_id) else { break };
                let requested = head.changed_at;
                let start = *head.processing_since.get_or_insert(free_at.map_or(requested, |f| f.max(requested)));
                let done = match head.lifecycle.as_str() {
                    "CREATING" => match ready.get(&fs_id) {
                        Some(r) => (start + dur(cfg.create_duration_for(&head.id))).max(*r),
                        None => break,
                    },
                    "UPDATING" => start + dur(cfg.update_duration),
                    _ => start + dur(cfg.delete_duration),
                };
                if done > now {
                    break;
                }
                if head.lifecycle == "DELETING" {
                    let id = head.id.clone();
                    self.associations.remove(&id);
                } else {
                    head.lifecycle = "AVAILABLE".into();
                    head.changed_at = done;
                    head.processing_since = None;
                }
                free_at = Some(done);
            }
        }
    }

    fn tick_tasks(&mut self, now: DateTime<Utc>, cfg: &EmulatorConfig) {
        let dur = crate::clock::span;
        // Looked up per task, not gathered from every file system on every call.
        let file_systems = &self.file_systems;
        let usable = |id: &String| {
            file_systems.get(id).is_some_and(|fs| matches!(fs.lifecycle.as_str(), "AVAILABLE" | "UPDATING"))
        };
        let moving = |t: &Task| matches!(t.lifecycle.as_str(), "PENDING" | "EXECUTING" | "CANCELING");
        let failures = &self.task_failures;
        self.tasks.update_where(moving, |task| {
            if task.lifecycle == "PENDING" && usable(&task.file_system_id) {
                let start = task.created_at + dur(cfg.task_pending_duration);
                if now >= start {
                    task.lifecycle = "EXECUTING".into();
                    task.start_time = Some(start);
                }
            }
            if task.lifecycle == "EXECUTING" {
                let Some(start) = task.start_time else {
                    return;
                };
                let end = start + dur(cfg.task_duration);
                if task.fail_with.is_none() {
                    let armed = failures.get(&task.file_system_id).or_else(|| failures.get("*"));
                    if let Some(f) = armed.filter(|f| f.armed_at < end) {
                        task.fail_with = Some(f.message.clone());
                    }
                }
                if now >= end {
                    let failed = task.planned_failures();
                    task.succeeded_count = task.total_count - failed;
                    task.failed_count = failed;
                    task.end_time = Some(end);
                    match task.fail_with.clone() {
                        Some(message) => {
                            task.lifecycle = "FAILED".into();
                            task.failure_message = Some(message);
                        }
                        None => task.lifecycle = "SUCCEEDED".into(),
                    }
                }
            }
            if task.lifecycle == "CANCELING" {
                task.lifecycle = "CANCELED".into();
                task.end_time = Some(now);
            }
        });
    }
}

/// Whether an administrative action's type reports `ProgressPercent` (the API model: "the
/// percentage-complete status of a STORAGE_OPTIMIZATION ... action"; the user guide tracks
/// throughput and IOPS optimization the same way). FILE_SYSTEM_UPDATE does not.
fn reports_progress(action_type: &str) -> bool {
    action_type.ends_with("_OPTIMIZATION")
}

impl AdminAction {
    /// COMPLETED or FAILED: nothing moves any more.
    pub(crate) fn finished(&self) -> bool {
        matches!(self.status.as_str(), "COMPLETED" | "FAILED")
    }

    /// PENDING or IN_PROGRESS: FSx takes no other update meanwhile (a FILE_SYSTEM_UPDATE in
    /// UPDATED_OPTIMIZING is not, but its optimization is).
    pub(crate) fn running(&self) -> bool {
        matches!(self.status.as_str(), "PENDING" | "IN_PROGRESS")
    }

    /// Moves the status (and ProgressPercent) to what `now` implies on the schedule.
    fn advance(&mut self, now: DateTime<Utc>) {
        if self.finished() {
            return;
        }
        let Some(s) = self.schedule else {
            // A record from an older state file: it has nothing left to wait for.
            self.status = "COMPLETED".into();
            self.progress_percent = reports_progress(&self.action_type).then_some(100);
            return;
        };
        let status = if now < s.starts_at {
            "PENDING"
        } else if now < s.updated_at {
            "IN_PROGRESS"
        } else if now < s.completes_at {
            "UPDATED_OPTIMIZING"
        } else {
            "COMPLETED"
        };
        self.status = status.into();
        self.progress_percent = match status {
            _ if !reports_progress(&self.action_type) => None,
            "PENDING" => None,
            "IN_PROGRESS" => {
                let total = (s.updated_at - s.starts_at).num_milliseconds().max(1);
                let done = (now - s.starts_at).num_milliseconds().clamp(0, total);
                Some(done * 100 / total)
            }
            _ => Some(100),
        };
    }
}

/// Applies an update whose UPDATING phase has ended (the new values are usable while any
/// optimization still runs) and moves every administrative action along its schedule.
fn advance_update(fs: &mut FileSystem, now: DateTime<Utc>) {
    match fs.pending_update.clone() {
        Some(update) if now >= update.done_at => {
            if let Some(c) = update.storage_capacity {
                fs.storage_capacity = c;
            }
            if let Some(t) = update.throughput {
                fs.throughput = Some(t);
            }
            if let Some(v) = update.version {
                fs.version = v;
            }
            if let Some(m) = update.metadata {
                fs.lustre.insert("MetadataConfiguration".into(), m);
            }
            if let Some(t) = update.throughput_capacity {
                fs.lustre.insert("ThroughputCapacity".into(), json!(t));
            }
            if let Some(c) = update.read_cache {
                fs.lustre.insert("DataReadCacheConfiguration".into(), c);
            }
            fs.pending_update = None;
            if fs.lifecycle == "UPDATING" {
                fs.lifecycle = "AVAILABLE".into();
            }
        }
        Some(_) => {}
        // Forced into UPDATING (admin API) with nothing to apply.
        None if fs.lifecycle == "UPDATING" => fs.lifecycle = "AVAILABLE".into(),
        None => {}
    }
    for action in &mut fs.admin_actions {
        action.advance(now);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::Tags;

    fn file_system(id: &str, created_at: DateTime<Utc>) -> FileSystem {
        FileSystem {
            id: id.to_string(),
            owner_id: "123456789012".into(),
            created_at,
            lifecycle: "CREATING".into(),
            failure_message: None,
            storage_capacity: 1200,
            storage_type: "SSD".into(),
            vpc_id: "vpc-1".into(),
            subnet_id: "subnet-1".into(),
            security_group_ids: Vec::new(),
            eni_ids: Vec::new(),
            dns_name: format!("{id}.fsx.us-east-1.amazonaws.com"),
            kms_key_id: None,
            version: "2.15".into(),
            deployment_type: "SCRATCH_2".into(),
            throughput: None,
            mount_name: "abcdefgh".into(),
            lustre: Default::default(),
            tags: Tags::new(),
            admin_actions: Vec::new(),
            pending_update: None,
            deleting_since: None,
            last_storage_increase: None,
            last_metadata_increase: None,
        }
    }

    /// Each file system turns AVAILABLE at `created_at + create_duration_for(id)`, not before.
    #[test]
    fn file_systems_become_available_after_their_own_spread_duration() {
        let cfg = EmulatorConfig {
            create_duration: Duration::from_secs(300),
            create_spread: Duration::from_secs(600),
            ..EmulatorConfig::default()
        };
        let t0 = Utc::now();
        let mut state = State::seeded(t0, "us-east-1");
        let ids: Vec<String> = (0..20).map(|i| format!("fs-0000000000000{i:04}")).collect();
        for id in &ids {
            state.file_systems.insert(id.clone(), file_system(id, t0));
        }
        let mut moments: Vec<DateTime<Utc>> =
            ids.iter().map(|id| t0 + crate::clock::span(cfg.create_duration_for(id))).collect();
        moments.sort();
        moments.dedup();
        assert!(moments.len() > 1, "the spread gives different AVAILABLE moments");
        for at in moments {
            let mut before = state.clone();
            before.tick(at - chrono::Duration::milliseconds(1), &cfg);
            let mut after = state.clone();
            after.tick(at, &cfg);
            for id in &ids {
                let due = t0 + crate::clock::span(cfg.create_duration_for(id));
                let expect = |t: DateTime<Utc>| if t >= due { "AVAILABLE" } else { "CREATING" };
                assert_eq!(
                    before.file_systems.get(id).map(|f| f.lifecycle.as_str()),
                    Some(expect(at - chrono::Duration::milliseconds(1)))
                );
                assert_eq!(after.file_systems.get(id).map(|f| f.lifecycle.as_str()), Some(expect(at)));
            }
        }
    }
}
