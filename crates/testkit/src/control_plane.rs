//! A real Kubernetes control plane on loopback: etcd, kube-apiserver (TLS, client-certificate
//! admin, service-account signing keys) and kube-controller-manager (PersistentVolume binder,
//! garbage collector, namespace controller, ...), built from source by
//! `scripts/build-control-plane.sh`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};

use crate::process::{free_port, port_open, ManagedChild};

/// The folder with etcd, kube-apiserver, kube-controller-manager and helm, building them first
/// when they are missing. `LUSTRE_OPERATOR_K8S_BIN` overrides the lookup.
pub fn binaries_dir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("LUSTRE_OPERATOR_K8S_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let script = workspace_root().join("scripts/build-control-plane.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!("{} failed ({}); see the messages above", script.display(), out.status);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = stdout.lines().last().unwrap_or("").trim();
    if dir.is_empty() {
        bail!("{} printed no binary folder", script.display());
    }
    Ok(PathBuf::from(dir))
}

/// The repository root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// A running control plane. Stops (and removes its data) on drop.
pub struct ControlPlane {
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    apiserver_port: u16,
    etcd_port: u16,
    // Field order is stop order: controller-manager, then apiserver, then etcd.
    controller_manager: Option<ManagedChild>,
    apiserver: Option<ManagedChild>,
    etcd: Option<ManagedChild>,
}

impl ControlPlane {
    /// Starts etcd, kube-apiserver and kube-controller-manager on free loopback ports and waits
    /// until all three are healthy. Blocking (call it from `spawn_blocking` in async code).
    pub fn start() -> Result<ControlPlane> {
        Self::start_with(false)
    }

    /// [`start`](Self::start), and with `audit` the apiserver writes every request's metadata
    /// (user agent, verb, resource) to [`audit_log`](Self::audit_log), one JSON object a line.
    pub fn start_with(audit: bool) -> Result<ControlPlane> {
        let bin = binaries_dir()?;
        let mut last_err = None;
        // A free port can be taken between our probe and the server's bind; try again then.
        for _ in 0..3 {
            match Self::start_once(&bin, audit) {
                Ok(cp) => return Ok(cp),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow!("control plane did not start")))
    }

    // Long on purpose, it reads better whole: etcd, kube-apiserver and kube-controller-manager started in order, each with its flags in one list.
    fn start_once(bin: &Path, audit: bool) -> Result<ControlPlane> {
        remove_abandoned_data_dirs(&std::env::temp_dir());
        let dir = tempfile::Builder::new().prefix(DATA_DIR_PREFIX).tempdir()?;
        let d = dir.path();
        std::fs::write(d.join(OWNER_FILE), process_identity(std::process::id()).unwrap_or_default())?;
        let pki = Pki::write(d)?;
        let etcd_port = free_port()?;
        let peer_port = free_port()?;
        let apiserver_port = free_port()?;
        let kcm_port = free_port()?;

        let mut etcd_cmd = Command::new(bin.join("etcd"));
        etcd_cmd.args([
            "--name=default".to_string(),
            format!("--data-dir={}", d.join("etcd").display()),
            format!("--listen-client-urls=http://127.0.0.1:{etcd_port}"),
            format!("--advertise-client-urls=http://127.0.0.1:{etcd_port}"),
            format!("--listen-peer-urls=http://127.0.0.1:{peer_port}"),
            format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}"),
            format!("--initial-cluster=default=http://127.0.0.1:{peer_port}"),
            "--unsafe-no-fsync=true".into(),
            "--log-level=warn".into(),
        ]);
        let mut etcd = ManagedChild::spawn("etcd", etcd_cmd, &d.join("etcd.log"))?;
        poll_blocking(Duration::from_secs(30), "etcd to accept connections", || {
            etcd.check_running()?;
            Ok(http_get_ok(etcd_port, "/health"))
        })?;

        let mut api_cmd = Command::new(bin.join("kube-apiserver"));
        api_cmd.args([
            format!("--etcd-servers=http://127.0.0.1:{etcd_port}"),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={apiserver_port}"),
            format!("--cert-dir={}", d.join("apiserver-certs").display()),
            format!("--tls-cert-file={}", pki.serving_cert.display()),
            format!("--tls-private-key-file={}", pki.serving_key.display()),
            format!("--client-ca-file={}", pki.ca_cert.display()),
            format!("--service-account-key-file={}", pki.sa_public.display()),
            format!("--service-account-signing-key-file={}", pki.sa_private.display()),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
            "--service-cluster-ip-range=10.96.0.0/16".into(),
            "--authorization-mode=RBAC".into(),
            // No kubelets and no default ServiceAccounts on demand: pods are stored, never run.
            "--disable-admission-plugins=ServiceAccount".into(),
            "--profiling=false".into(),
            "--v=1".into(),
        ]);
        if audit {
            let policy = d.join("audit-policy.yaml");
            std::fs::write(
                &policy,
                "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n",
            )?;
            api_cmd.args([
                format!("--audit-policy-file={}", policy.display()),
                format!("--audit-log-path={}", d.join(AUDIT_LOG).display()),
                "--audit-log-format=json".into(),
                "--audit-log-mode=blocking".into(),
            ]);
        }
        let mut apiserver = ManagedChild::spawn("kube-apiserver", api_cmd, &d.join("kube-apiserver.log"))?;

        let kubeconfig = d.join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_yaml(apiserver_port, &pki))?;
        poll_blocking(Duration::from_secs(90), "kube-apiserver to become ready", || {
            apiserver.check_running()?;
            Ok(port_open(apiserver_port) && readyz(&kubeconfig))
        })?;

        let mut kcm_cmd = Command::new(bin.join("kube-controller-manager"));
        kcm_cmd.args([
            format!("--kubeconfig={}", kubeconfig.display()),
            format!("--authentication-kubeconfig={}", kubeconfig.display()),
            format!("--authorization-kubeconfig={}", kubeconfig.display()),
            "--leader-elect=false".into(),
            "--bind-address=127.0.0.1".into(),
            format!("--secure-port={kcm_port}"),
            format!("--cert-dir={}", d.join("kcm-certs").display()),
            format!("--service-account-private-key-file={}", pki.sa_private.display()),
            format!("--root-ca-file={}", pki.ca_cert.display()),
            format!("--cluster-signing-cert-file={}", pki.ca_cert.display()),
            format!("--cluster-signing-key-file={}", pki.ca_key.display()),
            "--use-service-account-credentials=false".into(),
            "--controllers=*".into(),
            // The claim sync period stays at its default (15 s): tests see the binding delays
            // users see.
            // Its client rate limit too (20 requests per second, burst 30), unless a bench sets
            // LUSTRE_KCM_API_QPS to show what a larger one changes (a bind takes three writes).
            "--v=1".into(),
        ]);
        if let Ok(qps) = std::env::var("LUSTRE_KCM_API_QPS") {
            kcm_cmd.args([format!("--kube-api-qps={qps}"), format!("--kube-api-burst={qps}")]);
        }
        let mut kcm = ManagedChild::spawn("kube-controller-manager", kcm_cmd, &d.join("kube-controller-manager.log"))?;
        poll_blocking(Duration::from_secs(60), "kube-controller-manager to serve", || {
            kcm.check_running()?;
            Ok(port_open(kcm_port))
        })?;

        Ok(ControlPlane {
            dir,
            kubeconfig,
            apiserver_port,
            etcd_port,
            controller_manager: Some(kcm),
            apiserver: Some(apiserver),
            etcd: Some(etcd),
        })
    }

    /// Path of the admin kubeconfig.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The apiserver's audit log (written when started with `audit`).
    pub fn audit_log(&self) -> PathBuf {
        self.dir.path().join(AUDIT_LOG)
    }

    /// Folder holding certificates, data and the components' logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn apiserver_port(&self) -> u16 {
        self.apiserver_port
    }

    pub fn etcd_port(&self) -> u16 {
        self.etcd_port
    }

    /// Process IDs of the running components.
    pub fn pids(&self) -> Vec<u32> {
        [&self.controller_manager, &self.apiserver, &self.etcd]
            .iter()
            .filter_map(|c| c.as_ref().and_then(ManagedChild::pid))
            .collect()
    }

    /// Ports the components listen on (apiserver, etcd).
    pub fn ports(&self) -> Vec<u16> {
        vec![self.apiserver_port, self.etcd_port]
    }

    /// A new client for the admin user. Create one per tokio runtime (per test).
    pub async fn client(&self) -> Result<Client> {
        client_from_kubeconfig(&self.kubeconfig).await
    }

    /// Stops controller-manager, apiserver and etcd, in that order, and waits for them.
    pub fn stop(&mut self) {
        for child in [&mut self.controller_manager, &mut self.apiserver, &mut self.etcd] {
            if let Some(mut c) = child.take() {
                c.stop(Duration::from_secs(5));
            }
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.stop();
    }
}

const AUDIT_LOG: &str = "audit.log";

/// Every control plane's data folder (etcd alone preallocates 64 MB) starts with this.
const DATA_DIR_PREFIX: &str = "lustre-cp-";
/// The file in a data folder naming the process that owns it (`<pid> <start time>`).
const OWNER_FILE: &str = "owner";

/// `<pid> <start time in clock ticks>` of a live process: a pid alone can be reused.
fn process_identity(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22 (starttime) counted from the first field after the command's closing paren.
    let start = stat.rsplit_once(')')?.1.split_whitespace().nth(19)?;
    Some(format!("{pid} {start}"))
}

/// Removes the data folders of control planes whose test process has exited. A test binary's
/// shared control plane lives in a static that is never dropped, and a killed process drops
/// nothing, so without this every run would leave its folders in the temporary directory.
pub fn remove_abandoned_data_dirs(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_data_dir = entry.file_name().to_string_lossy().starts_with(DATA_DIR_PREFIX);
        if !is_data_dir || !path.is_dir() {
            continue;
        }
        if owner_gone(&path) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

fn owner_gone(dir: &Path) -> bool {
    match std::fs::read_to_string(dir.join(OWNER_FILE)) {
        Ok(owner) => {
            let pid = owner.split_whitespace().next().and_then(|p| p.parse::<u32>().ok());
            match pid {
                Some(pid) => process_identity(pid).as_deref() != Some(owner.trim()),
                None => true,
            }
        }
        // Written by a kit without owner files, or still being set up: only once clearly old.
        Err(_) => std::fs::metadata(dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(6 * 3600)),
    }
}

/// A kube client from a kubeconfig file.
pub async fn client_from_kubeconfig(path: &Path) -> Result<Client> {
    crate::install_crypto_provider();
    let kc = Kubeconfig::read_from(path)?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

fn readyz(kubeconfig: &Path) -> bool {
    let kubeconfig = kubeconfig.to_path_buf();
    let probe = async move {
        let client = client_from_kubeconfig(&kubeconfig).await.ok()?;
        let req = http::Request::get("/readyz").body(Vec::new()).ok()?;
        let text = client.request_text(req).await.ok()?;
        Some(text.trim() == "ok")
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()
        .and_then(|rt| rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), probe).await.ok().flatten() }))
        .unwrap_or(false)
}

/// Plain HTTP/1.0 GET on loopback; true on a 200 answer.
fn http_get_ok(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(300))
    else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes()).is_err() {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200")
}

/// Polls `check` every 100 ms until it answers true, fails, or `timeout` passes. Blocking: the
/// start-up probes run outside any async runtime (tests use the async [`crate::wait_until`]).
fn poll_blocking(timeout: Duration, what: &str, mut check: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if check()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Pki {
    ca_cert: PathBuf,
    ca_key: PathBuf,
    serving_cert: PathBuf,
    serving_key: PathBuf,
    admin_cert: PathBuf,
    admin_key: PathBuf,
    sa_private: PathBuf,
    sa_public: PathBuf,
}

impl Pki {
    /// A throwaway CA, the apiserver's serving certificate, an admin client certificate
    /// (group system:masters) and the service-account signing key pair.
    fn write(dir: &Path) -> Result<Pki> {
        let pki = dir.join("pki");
        std::fs::create_dir_all(&pki)?;
        let file = |name: &str| pki.join(name);

        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.distinguished_name.push(DnType::CommonName, "lustre-operator test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, &ca_key);

        let serving_key = KeyPair::generate()?;
        let mut serving = CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "kubernetes".to_string(),
            "kubernetes.default.svc".to_string(),
            "10.96.0.1".to_string(),
        ])?;
        serving.distinguished_name.push(DnType::CommonName, "kube-apiserver");
        serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let serving_cert = serving.signed_by(&serving_key, &issuer)?;

        let admin_key = KeyPair::generate()?;
        let mut admin = CertificateParams::new(Vec::<String>::new())?;
        admin.distinguished_name.push(DnType::CommonName, "admin");
        admin.distinguished_name.push(DnType::OrganizationName, "system:masters");
        admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let admin_cert = admin.signed_by(&admin_key, &issuer)?;

        let sa_key = KeyPair::generate()?;

        let out = Pki {
            ca_cert: file("ca.crt"),
            ca_key: file("ca.key"),
            serving_cert: file("apiserver.crt"),
            serving_key: file("apiserver.key"),
            admin_cert: file("admin.crt"),
            admin_key: file("admin.key"),
            sa_private: file("sa.key"),
            sa_public: file("sa.pub"),
        };
        std::fs::write(&out.ca_cert, ca_cert.pem())?;
        std::fs::write(&out.ca_key, ca_key.serialize_pem())?;
        std::fs::write(&out.serving_cert, serving_cert.pem())?;
        std::fs::write(&out.serving_key, serving_key.serialize_pem())?;
        std::fs::write(&out.admin_cert, admin_cert.pem())?;
        std::fs::write(&out.admin_key, admin_key.serialize_pem())?;
        std::fs::write(&out.sa_private, sa_key.serialize_pem())?;
        std::fs::write(&out.sa_public, sa_key.public_key_pem())?;
        Ok(out)
    }
}

fn kubeconfig_yaml(port: u16, pki: &Pki) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:{port}
    certificate-authority: {ca}
users:
- name: admin
  user:
    client-certificate: {cert}
    client-key: {key}
contexts:
- name: local
  context:
    cluster: local
    user: admin
current-context: local
",
        ca = pki.ca_cert.display(),
        cert = pki.admin_cert.display(),
        key = pki.admin_key.display(),
    )
}
