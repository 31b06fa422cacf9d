//! The one fixture of the integration tests: starting the emulator (in process, or moto), building
//! SDK and raw HTTP clients, and the security groups and file systems most tests need.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_emulator::{Emulator, EmulatorConfig};
use aws_sdk_ec2::types::{IpPermission, UserIdGroupPair};
use aws_sdk_fsx::types::{CreateFileSystemLustreConfiguration, FileSystemType, LustreDeploymentType};

pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region("us-east-1")
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

pub struct Clients {
    pub fsx: aws_sdk_fsx::Client,
    pub ec2: aws_sdk_ec2::Client,
}

pub async fn clients(endpoint: &str) -> Clients {
    let cfg = sdk_config(endpoint).await;
    Clients { fsx: aws_sdk_fsx::Client::new(&cfg), ec2: aws_sdk_ec2::Client::new(&cfg) }
}

/// Starts an in-process emulator on a free port.
pub async fn emulator(config: EmulatorConfig) -> Emulator {
    Emulator::start(config).await.expect("emulator starts")
}

/// Starts an in-process emulator and builds SDK clients for it.
pub async fn start(config: EmulatorConfig) -> (Emulator, Clients) {
    let emu = emulator(config).await;
    let c = clients(&emu.endpoint()).await;
    (emu, c)
}

/// A plain HTTP client for raw wire-level requests and the admin API.
pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// A config with the clock paused at start: lifecycles move only when the test advances it.
pub async fn start_paused(config: EmulatorConfig) -> (Emulator, Clients) {
    let (emu, c) = start(config).await;
    emu.pause_clock();
    (emu, c)
}

/// The error code of an SDK error, or a description of a non-service error.
pub fn code<E, R>(err: aws_sdk_fsx::error::SdkError<E, R>) -> String
where
    E: aws_sdk_fsx::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match err {
        aws_sdk_fsx::error::SdkError::ServiceError(e) => e.err().code().unwrap_or("<no code>").to_string(),
        other => format!("<not a service error: {other:?}>"),
    }
}

pub fn message<E, R>(err: aws_sdk_fsx::error::SdkError<E, R>) -> String
where
    E: aws_sdk_fsx::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match err {
        aws_sdk_fsx::error::SdkError::ServiceError(e) => e.err().message().unwrap_or("").to_string(),
        other => format!("{other:?}"),
    }
}

pub fn tcp(from: i32, to: i32) -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
    IpPermission::builder().ip_protocol("tcp").from_port(from).to_port(to)
}

pub fn self_ref(sg: &str) -> UserIdGroupPair {
    UserIdGroupPair::builder().group_id(sg).build()
}

/// Creates a group admitting Lustre traffic (TCP 988, 1018-1023) from itself.
pub async fn lustre_sg(ec2: &aws_sdk_ec2::Client, vpc_id: &str, name: &str) -> String {
    let sg = ec2
        .create_security_group()
        .group_name(name)
        .description("lustre")
        .vpc_id(vpc_id)
        .send()
        .await
        .expect("create security group")
        .group_id
        .expect("group id");
    ec2.authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(tcp(988, 988).user_id_group_pairs(self_ref(&sg)).build())
        .ip_permissions(tcp(1018, 1023).user_id_group_pairs(self_ref(&sg)).build())
        .send()
        .await
        .expect("authorize");
    sg
}

pub fn scratch2() -> CreateFileSystemLustreConfiguration {
    CreateFileSystemLustreConfiguration::builder().deployment_type(LustreDeploymentType::Scratch2).build()
}

pub fn persistent2(throughput: i32) -> CreateFileSystemLustreConfiguration {
    CreateFileSystemLustreConfiguration::builder()
        .deployment_type(LustreDeploymentType::Persistent2)
        .per_unit_storage_throughput(throughput)
        .build()
}

/// A CreateFileSystem builder for a SCRATCH_2 1200 GiB file system.
/// Sends a CreateFileSystem and returns the new file system's ID (panics on failure: tests only).
#[allow(dead_code)] // not every test binary creates file systems
pub trait CreateFs {
    fn created_id(self) -> impl std::future::Future<Output = String>;
}

impl CreateFs for aws_sdk_fsx::operation::create_file_system::builders::CreateFileSystemFluentBuilder {
    async fn created_id(self) -> String {
        self.send().await.expect("CreateFileSystem").file_system.and_then(|f| f.file_system_id).expect("an ID")
    }
}

pub fn create_fs(
    fsx: &aws_sdk_fsx::Client,
    subnet: &str,
    sg: &str,
) -> aws_sdk_fsx::operation::create_file_system::builders::CreateFileSystemFluentBuilder {
    fsx.create_file_system()
        .file_system_type(FileSystemType::Lustre)
        .storage_capacity(1200)
        .subnet_ids(subnet)
        .security_group_ids(sg)
        .lustre_configuration(scratch2())
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A child process killed (by its own PID) when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts moto_server on a free port, or says why not.
pub fn start_moto() -> Result<(ChildGuard, String), String> {
    let found = Command::new("moto_server").arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !matches!(found, Ok(s) if s.success()) {
        return Err("moto_server is not on PATH (pip install 'moto[server]==5.2.1')".to_string());
    }
    let port = free_port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not spawn moto_server: {e}"))?;
    let guard = ChildGuard(child);
    if !wait_for_port(port, Duration::from_secs(30)) {
        return Err(format!("moto_server did not listen on port {port} within 30 s"));
    }
    Ok((guard, format!("http://127.0.0.1:{port}")))
}
