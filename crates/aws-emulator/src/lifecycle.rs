//! The lazy lifecycle engine: no timers; before every observation `State::tick` moves each file
//! system, association, task and idempotency token to what the emulated clock implies.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::config::EmulatorConfig;
use crate::model::{FileSystem, State};

impl State {
    /// Advances every lifecycle to what `now` implies. Called before every observation.
    pub(crate) fn tick(&mut self, now: DateTime<Utc>, cfg: &EmulatorConfig) {
        let dur = crate::clock::span;
        let mut gone = Vec::new();
        for fs in self.file_systems.values_mut() {
            match fs.lifecycle.as_str() {
                "CREATING" if now >= fs.created_at + dur(cfg.create_duration) => fs.lifecycle = "AVAILABLE".into(),
                "DELETING" => {
                    if let Some(since) = fs.deleting_since {
                        if now >= since + dur(cfg.delete_duration) {
                            gone.push(fs.id.clone());
                        }
                    }
                }
                "UPDATING" => advance_update(fs, now),
                _ => {}
            }
        }
        for id in gone {
            self.remove_file_system(&id);
        }
        let fs_available: BTreeMap<String, bool> =
            self.file_systems.iter().map(|(id, fs)| (id.clone(), fs.lifecycle == "AVAILABLE")).collect();
        let mut gone_dras = Vec::new();
        for dra in self.associations.values_mut() {
            let fs_ok = fs_available.get(&dra.file_system_id).copied().unwrap_or(false);
            match dra.lifecycle.as_str() {
                "CREATING" if fs_ok && now >= dra.changed_at + dur(cfg.create_duration) => {
                    dra.lifecycle = "AVAILABLE".into();
                    dra.changed_at = now;
                }
                "UPDATING" if now >= dra.changed_at + dur(cfg.update_duration) => {
                    dra.lifecycle = "AVAILABLE".into();
                    dra.changed_at = now;
                }
                "DELETING" if now >= dra.changed_at + dur(cfg.delete_duration) => gone_dras.push(dra.id.clone()),
                _ => {}
            }
        }
        for id in gone_dras {
            self.associations.remove(&id);
        }
        for task in self.tasks.values_mut() {
            let fs_ok = fs_available.get(&task.file_system_id).copied().unwrap_or(false);
            match task.lifecycle.as_str() {
                "PENDING" if fs_ok => {
                    task.lifecycle = "EXECUTING".into();
                    task.start_time = Some(now);
                }
                "CANCELING" => {
                    task.lifecycle = "CANCELED".into();
                    task.end_time = Some(now);
                }
                _ => {}
            }
            if task.lifecycle == "EXECUTING" {
                if let Some(start) = task.start_time {
                    if now >= start + dur(cfg.task_duration) {
                        task.lifecycle = "SUCCEEDED".into();
                        task.end_time = Some(start + dur(cfg.task_duration));
                    }
                }
            }
        }
        let window = dur(cfg.token_window);
        self.tokens.retain(|_, t| now < t.at + window);
    }
}

fn advance_update(fs: &mut FileSystem, now: DateTime<Utc>) {
    let Some(update) = fs.pending_update.clone() else {
        fs.lifecycle = "AVAILABLE".into();
        return;
    };
    if now >= update.done_at {
        if let Some(c) = update.storage_capacity {
            fs.storage_capacity = c;
            fs.last_storage_increase = Some(update.done_at);
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
        for action in &mut fs.admin_actions {
            if action.status == "IN_PROGRESS" || action.status == "PENDING" {
                action.status = "COMPLETED".into();
                action.progress_percent = Some(100);
            }
        }
        fs.pending_update = None;
        fs.lifecycle = "AVAILABLE".into();
    } else {
        let total = (update.done_at - update.started_at).num_milliseconds().max(1);
        let done = (now - update.started_at).num_milliseconds().clamp(0, total);
        let pct = done * 100 / total;
        for action in &mut fs.admin_actions {
            if action.status == "IN_PROGRESS" || action.status == "PENDING" {
                action.status = "IN_PROGRESS".into();
                action.progress_percent = Some(pct);
            }
        }
    }
}
