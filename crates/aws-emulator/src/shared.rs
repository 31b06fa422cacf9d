//! The state every request and library call shares, behind short-lived locks.

use std::sync::{Mutex, MutexGuard};

use crate::calls::CallCounter;
use crate::clock::Clock;
use crate::config::EmulatorConfig;
use crate::faults::FaultTable;
use crate::model::State;
use crate::request::Ctx;

pub(crate) struct Shared {
    pub(crate) config: EmulatorConfig,
    pub(crate) clock: Clock,
    pub(crate) state: Mutex<State>,
    pub(crate) calls: Mutex<CallCounter>,
    pub(crate) faults: Mutex<FaultTable>,
}

/// Locks a mutex, recovering from poisoning (a panicking holder must not wedge the emulator).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(crate) fn new(config: EmulatorConfig) -> anyhow::Result<Shared> {
        let now = chrono::Utc::now();
        let loaded = match &config.state_file {
            Some(path) => State::load(path)?,
            None => None,
        };
        let origin = loaded.as_ref().map_or(now, |s| s.saved_at.max(now));
        let state = loaded.unwrap_or_else(|| State::seeded(now, &config.region));
        Ok(Shared {
            clock: Clock::new(origin, config.clock_scale),
            state: Mutex::new(state),
            calls: Mutex::new(CallCounter::default()),
            faults: Mutex::new(FaultTable::default()),
            config,
        })
    }

    /// Runs `f` on the state after advancing lifecycles to the current emulated time.
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut State, &Ctx<'_>) -> R) -> R {
        let mut state = lock(&self.state);
        let now = self.clock.now();
        state.tick(now, &self.config);
        let ctx = Ctx { cfg: &self.config, now };
        f(&mut state, &ctx)
    }

    /// Runs a mutating `f`: all or nothing (the state is restored when `f` fails), then persisted.
    pub(crate) fn mutate<T, E>(&self, f: impl FnOnce(&mut State, &Ctx<'_>) -> Result<T, E>) -> Result<T, E> {
        self.with_state(|state, ctx| {
            let backup = state.clone();
            match f(state, ctx) {
                Ok(v) => {
                    self.persist(state, ctx);
                    Ok(v)
                }
                Err(e) => {
                    *state = backup;
                    Err(e)
                }
            }
        })
    }

    pub(crate) fn persist(&self, state: &mut State, ctx: &Ctx<'_>) {
        if let Some(path) = &self.config.state_file {
            state.saved_at = ctx.now;
            if let Err(e) = state.save(path) {
                tracing::warn!(error = %e, path = %path.display(), "could not write the state file");
            }
        }
    }
}
