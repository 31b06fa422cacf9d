//! Leader election on a coordination.k8s.io Lease: only the holder reconciles. The holder renews
//! every `duration / 3`; if it cannot renew before the lease expires it exits, so two replicas
//! never write at once.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, PostParams};
use kube::Client;
use serde_json::json;

pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    pub duration: Duration,
}

fn now() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

/// Blocks until this process holds the lease, then keeps renewing it in the background.
pub async fn acquire(client: Client, cfg: LeaseConfig) -> anyhow::Result<()> {
    let api: Api<Lease> = Api::namespaced(client, &cfg.namespace);
    loop {
        if try_acquire(&api, &cfg).await? {
            tracing::info!(lease = %cfg.name, identity = %cfg.identity, "became leader");
            break;
        }
        // A standby looks every second, so it takes over within a second of the lease expiring.
        tokio::time::sleep(Duration::from_secs(1).min(cfg.duration / 5)).await;
    }
    tokio::spawn(async move {
        let mut last_ok = std::time::Instant::now();
        loop {
            tokio::time::sleep(cfg.duration / 3).await;
            match try_acquire(&api, &cfg).await {
                Ok(true) => last_ok = std::time::Instant::now(),
                Ok(false) => {
                    tracing::error!("lost the leader lease to another replica; exiting");
                    std::process::exit(1);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not renew the leader lease");
                    if last_ok.elapsed() > cfg.duration {
                        tracing::error!("leader lease expired; exiting");
                        std::process::exit(1);
                    }
                }
            }
        }
    });
    Ok(())
}

async fn try_acquire(api: &Api<Lease>, cfg: &LeaseConfig) -> anyhow::Result<bool> {
    let seconds = i32::try_from(cfg.duration.as_secs()).unwrap_or(15);
    match api.get_opt(&cfg.name).await? {
        None => {
            let lease: Lease = serde_json::from_value(json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": cfg.name},
                "spec": {"holderIdentity": cfg.identity, "leaseDurationSeconds": seconds}
            }))?;
            let mut lease = lease;
            if let Some(spec) = lease.spec.as_mut() {
                spec.acquire_time = Some(now());
                spec.renew_time = Some(now());
            }
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e.into()),
            }
        }
        Some(mut lease) => {
            let spec = lease.spec.get_or_insert_with(Default::default);
            let mine = spec.holder_identity.as_deref() == Some(cfg.identity.as_str());
            let expired = match (&spec.renew_time, spec.lease_duration_seconds) {
                (Some(renew), Some(d)) => {
                    let age = k8s_openapi::jiff::Timestamp::now().duration_since(renew.0);
                    age.as_millis() >= i128::from(d) * 1000
                }
                _ => true,
            };
            if !mine && !expired {
                return Ok(false);
            }
            if !mine {
                spec.acquire_time = Some(now());
                spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            }
            spec.holder_identity = Some(cfg.identity.clone());
            spec.lease_duration_seconds = Some(seconds);
            spec.renew_time = Some(now());
            // replace() sends the resourceVersion we read: a concurrent writer makes this 409.
            match api.replace(&cfg.name, &PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e.into()),
            }
        }
    }
}
