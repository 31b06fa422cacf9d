//! Test kit: a real local control plane (etcd, kube-apiserver, kube-controller-manager), a fresh
//! namespace per test, the operator under test ([`operator`]), LustreVolume fixtures
//! ([`volumes`]), and waits with deadlines and readable failures ([`wait`]). All test support of
//! the workspace lives here; the `e2e` package holds only tests.
//!
//! One control plane per test binary ([`shared`]), started on first use and killed when the test
//! process exits; tests inside that binary each get their own namespace. Several test binaries
//! may run at once: each has its own ports, data folder and processes.

pub mod cluster;
pub mod control_plane;
pub mod operator;
pub mod process;
pub mod tenancy;
pub mod volumes;
pub mod wait;

use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use kube::Client;

pub use cluster::{Cluster, Tenant, TENANT_LABEL};
pub use control_plane::{binaries_dir, client_from_kubeconfig, workspace_root, ControlPlane};
pub use operator::{
    apply_crd, http_status, install_crds, log_dir, metric_sum, operator_binary, test_class_spec, Harness, Launch,
    OperatorOptions, OperatorProcess,
};
pub use wait::{wait_for, wait_gone, wait_until};

/// Installs rustls' ring provider once (several crypto back ends are linked into the tests).
pub fn install_crypto_provider() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The control plane shared by every test of this test binary.
pub fn shared() -> Result<&'static ControlPlane> {
    static SHARED: OnceLock<std::result::Result<ControlPlane, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            // Started from a plain thread: the start-up probes run their own small runtime.
            let started = std::thread::spawn(|| ControlPlane::start().map_err(|e| format!("{e:#}")))
                .join()
                .unwrap_or_else(|_| Err("control plane start-up panicked".into()));
            if let Ok(cp) = &started {
                remove_at_exit(cp);
            }
            started
        })
        .as_ref()
        .map_err(|e| anyhow!("the local control plane could not start: {e}"))
}

/// The shared control plane lives in a static, which is never dropped: at process exit, kill its
/// components and remove its data folder (what `Drop` does for every other control plane).
fn remove_at_exit(cp: &ControlPlane) {
    static AT_EXIT: OnceLock<(Vec<u32>, std::path::PathBuf)> = OnceLock::new();
    extern "C" fn stop_and_remove() {
        if let Some((pids, dir)) = AT_EXIT.get() {
            for pid in pids {
                // SAFETY: plain kill(2) on our own children's pids.
                unsafe {
                    libc::kill(*pid as i32, libc::SIGKILL);
                }
            }
            // A killed process may still be closing files for a moment.
            for _ in 0..20 {
                if std::fs::remove_dir_all(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    }
    if AT_EXIT.set((cp.pids(), cp.dir().to_path_buf())).is_ok() {
        // SAFETY: registers a plain function with libc; it runs once, at exit.
        unsafe {
            libc::atexit(stop_and_remove);
        }
    }
}

/// A client and a fresh namespace for one test.
pub struct TestNamespace {
    pub client: Client,
    pub name: String,
}

impl TestNamespace {
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }
}

/// Creates a namespace named `<prefix>-<random>` on the shared control plane.
pub async fn namespace(prefix: &str) -> Result<TestNamespace> {
    let cp = tokio::task::spawn_blocking(shared).await??;
    let client = cp.client().await?;
    let name = format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}
    }))?;
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await?;
    Ok(TestNamespace { client, name })
}

/// Runs `cleanup` against the shared control plane from a `Drop`: on its own thread and runtime
/// (a test's runtime cannot be blocked on from inside, and the test's client belongs to that
/// runtime), with its own client, for at most `limit`. A failure is printed, never raised: the
/// test's own outcome stands.
pub fn clean_up_after<F, Fut>(what: &str, limit: std::time::Duration, cleanup: F)
where
    F: FnOnce(kube::Client) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let worker = std::thread::spawn(move || -> anyhow::Result<()> {
        let cp = shared()?;
        let kubeconfig = cp.kubeconfig().to_path_buf();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async move {
            let client = client_from_kubeconfig(&kubeconfig).await?;
            tokio::time::timeout(limit, cleanup(client)).await.unwrap_or(Ok(()))
        })
    });
    match worker.join() {
        Ok(Err(e)) => eprintln!("could not clean up {what}: {e:#}"),
        Err(_) => eprintln!("could not clean up {what}: the cleanup panicked"),
        Ok(Ok(())) => {}
    }
}
