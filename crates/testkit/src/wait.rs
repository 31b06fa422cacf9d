//! Waiting for an object to reach a state, with a deadline and a failure message that shows
//! what was expected and what the object looked like at the end.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use kube::api::Api;
use serde::de::DeserializeOwned;
use serde::Serialize;

const POLL: Duration = Duration::from_millis(200);

/// Polls `name` until `pred` holds; fails after `timeout` with `what` and the last object seen.
pub async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    timeout: Duration,
    what: &str,
    pred: impl Fn(&K) -> bool,
) -> Result<K>
where
    K: kube::Resource + Clone + DeserializeOwned + Serialize + Debug,
{
    let deadline = Instant::now() + timeout;
    let mut last: Option<K> = None;
    let mut last_err = None;
    loop {
        match api.get_opt(name).await {
            Ok(Some(obj)) => {
                if pred(&obj) {
                    return Ok(obj);
                }
                last = Some(obj);
            }
            Ok(None) => last = None,
            Err(e) => last_err = Some(e.to_string()),
        }
        if Instant::now() > deadline {
            let seen = match &last {
                Some(obj) => serde_yaml::to_string(obj).unwrap_or_else(|_| format!("{obj:?}")),
                None => "<not found>".into(),
            };
            bail!(
                "timed out after {timeout:?} waiting for {what} on {name}\nlast error: {}\nlast seen:\n{seen}",
                last_err.unwrap_or_else(|| "none".into())
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls until `name` no longer exists; fails after `timeout` showing the object.
pub async fn wait_gone<K>(api: &Api<K>, name: &str, timeout: Duration) -> Result<()>
where
    K: kube::Resource + Clone + DeserializeOwned + Serialize + Debug,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = match api.get_opt(name).await? {
            None => return Ok(()),
            Some(obj) => obj,
        };
        if Instant::now() > deadline {
            bail!(
                "timed out after {timeout:?} waiting for {name} to be deleted\nlast seen:\n{}",
                serde_yaml::to_string(&last).unwrap_or_default()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls an arbitrary async condition; `describe` explains the state on failure.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, String>>,
{
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    loop {
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(state) => last = state,
        }
        if Instant::now() > deadline {
            bail!("timed out after {timeout:?} waiting for {what}; last state: {last}");
        }
        tokio::time::sleep(POLL).await;
    }
}
