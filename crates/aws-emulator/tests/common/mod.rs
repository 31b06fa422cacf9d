//! The one fixture of the integration tests: starting the emulator (in process, or moto), building
//! SDK and raw HTTP clients, and the security groups and file systems most tests need.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_emulator::{Emulator, EmulatorConfig, Seed};
use aws_sdk_ec2::operation::authorize_security_group_ingress::builders::AuthorizeSecurityGroupIngressFluentBuilder;
use aws_sdk_ec2::operation::create_security_group::builders::CreateSecurityGroupFluentBuilder;
use aws_sdk_ec2::operation::revoke_security_group_ingress::builders::RevokeSecurityGroupIngressFluentBuilder;
use aws_sdk_ec2::types::{IpPermission, IpRange, UserIdGroupPair};
use aws_sdk_ec2::Client as Ec2;
use aws_sdk_fsx::error::{ErrorMetadata, ProvideErrorMetadata, SdkError};
use aws_sdk_fsx::operation::create_data_repository_association::builders::CreateDataRepositoryAssociationFluentBuilder;
use aws_sdk_fsx::operation::create_data_repository_task::builders::CreateDataRepositoryTaskFluentBuilder;
use aws_sdk_fsx::operation::create_file_system::builders::CreateFileSystemFluentBuilder;
use aws_sdk_fsx::types::builders::CreateFileSystemLustreConfigurationBuilder;
use aws_sdk_fsx::types::{
    CompletionReport, CreateFileSystemLustreConfiguration, DataRepositoryTaskType, FileSystem, FileSystemType,
    LustreDeploymentType,
};
use aws_sdk_fsx::Client as Fsx;

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

/// Adds a Lustre security group `sg_name` (see [`lustre_sg`]) in the seeded VPC of a started emulator.
async fn with_sg((emu, c): (Emulator, Clients), sg_name: &str) -> (Emulator, Clients, Seed, String) {
    let seed = emu.seed();
    let sg = lustre_sg(&c.ec2, &seed.vpc_id, sg_name).await;
    (emu, c, seed, sg)
}

/// An emulator started with `config`, and a Lustre security group `sg_name` in its seeded VPC.
pub async fn started_with_sg(config: EmulatorConfig, sg_name: &str) -> (Emulator, Clients, Seed, String) {
    with_sg(start(config).await, sg_name).await
}

/// The same with the clock paused first (see [`start_paused`]).
pub async fn paused_with_sg(config: EmulatorConfig, sg_name: &str) -> (Emulator, Clients, Seed, String) {
    with_sg(start_paused(config).await, sg_name).await
}

/// The metadata of a service error, or a description of any other SDK error.
fn service_error<E, R>(err: SdkError<E, R>) -> Result<ErrorMetadata, String>
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(e) => Ok(e.err().meta().clone()),
        other => Err(format!("{other:?}")),
    }
}

/// The error code of an SDK error, or a description of a non-service error.
pub fn code<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(err: SdkError<E, R>) -> String {
    service_error(err)
        .map_or_else(|other| format!("<not a service error: {other}>"), |m| m.code().unwrap_or("<no code>").into())
}

/// The error message of an SDK error, or a description of a non-service error.
pub fn message<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(err: SdkError<E, R>) -> String {
    service_error(err).map_or_else(|other| other, |m| m.message().unwrap_or("").into())
}

pub fn tcp(from: i32, to: i32) -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
    IpPermission::builder().ip_protocol("tcp").from_port(from).to_port(to)
}

pub fn self_ref(sg: &str) -> UserIdGroupPair {
    UserIdGroupPair::builder().group_id(sg).build()
}

/// TCP `from`-`to` from the members of group `sg`.
pub fn from_group(from: i32, to: i32, sg: &str) -> IpPermission {
    tcp(from, to).user_id_group_pairs(self_ref(sg)).build()
}

/// TCP `from`-`to` from a CIDR block.
pub fn from_cidr(from: i32, to: i32, cidr: &str) -> IpPermission {
    tcp(from, to).ip_ranges(IpRange::builder().cidr_ip(cidr).build()).build()
}

/// The two Lustre rules (TCP 988 and 1018-1023) admitting the members of group `sg`.
pub fn lnet_from(sg: &str) -> [IpPermission; 2] {
    [from_group(988, 988, sg), from_group(1018, 1023, sg)]
}

/// A CreateSecurityGroup request.
pub fn sg_request(ec2: &Ec2, vpc_id: &str, name: &str, description: &str) -> CreateSecurityGroupFluentBuilder {
    ec2.create_security_group().group_name(name).description(description).vpc_id(vpc_id)
}

/// Creates a group without rules and returns its ID (panics on failure: tests only).
pub async fn create_sg(ec2: &Ec2, vpc_id: &str, name: &str, description: &str) -> String {
    sg_request(ec2, vpc_id, name, description).send().await.expect("create security group").group_id.expect("group id")
}

/// An AuthorizeSecurityGroupIngress request for `rules` on group `sg`.
pub fn authorize(ec2: &Ec2, sg: &str, rules: &[IpPermission]) -> AuthorizeSecurityGroupIngressFluentBuilder {
    ec2.authorize_security_group_ingress().group_id(sg).set_ip_permissions(Some(rules.to_vec()))
}

/// A RevokeSecurityGroupIngress request for `rules` on group `sg`.
pub fn revoke(ec2: &Ec2, sg: &str, rules: &[IpPermission]) -> RevokeSecurityGroupIngressFluentBuilder {
    ec2.revoke_security_group_ingress().group_id(sg).set_ip_permissions(Some(rules.to_vec()))
}

/// Creates a group admitting Lustre traffic (TCP 988, 1018-1023) from itself.
pub async fn lustre_sg(ec2: &Ec2, vpc_id: &str, name: &str) -> String {
    let sg = create_sg(ec2, vpc_id, name, "lustre").await;
    authorize(ec2, &sg, &lnet_from(&sg)).send().await.expect("authorize");
    sg
}

fn lustre(deployment: LustreDeploymentType) -> CreateFileSystemLustreConfigurationBuilder {
    CreateFileSystemLustreConfiguration::builder().deployment_type(deployment)
}

pub fn scratch1() -> CreateFileSystemLustreConfiguration {
    lustre(LustreDeploymentType::Scratch1).build()
}

pub fn scratch2() -> CreateFileSystemLustreConfiguration {
    lustre(LustreDeploymentType::Scratch2).build()
}

/// SCRATCH_2 linked to S3 the legacy way, by ImportPath.
pub fn scratch2_importing(import_path: &str) -> CreateFileSystemLustreConfiguration {
    lustre(LustreDeploymentType::Scratch2).import_path(import_path).build()
}

pub fn persistent2(throughput: i32) -> CreateFileSystemLustreConfiguration {
    lustre(LustreDeploymentType::Persistent2).per_unit_storage_throughput(throughput).build()
}

/// Sends a CreateFileSystem and returns the new file system, or its ID (panics on failure: tests only).
#[allow(dead_code)] // not every test binary creates file systems
pub trait CreateFs {
    fn created(self) -> impl std::future::Future<Output = FileSystem>;
    fn created_id(self) -> impl std::future::Future<Output = String>;
}

impl CreateFs for CreateFileSystemFluentBuilder {
    async fn created(self) -> FileSystem {
        self.send().await.expect("CreateFileSystem").file_system.expect("a file system")
    }
    async fn created_id(self) -> String {
        self.created().await.file_system_id.expect("an ID")
    }
}

/// A CreateFileSystem builder for a SCRATCH_2 1200 GiB file system.
pub fn create_fs(fsx: &Fsx, subnet: &str, sg: &str) -> CreateFileSystemFluentBuilder {
    fsx.create_file_system()
        .file_system_type(FileSystemType::Lustre)
        .storage_capacity(1200)
        .subnet_ids(subnet)
        .security_group_ids(sg)
        .lustre_configuration(scratch2())
}

/// A CreateDataRepositoryAssociation request linking `fs_path` of file system `fs` to `repo`.
pub fn dra(fsx: &Fsx, fs: &str, fs_path: &str, repo: &str) -> CreateDataRepositoryAssociationFluentBuilder {
    fsx.create_data_repository_association().file_system_id(fs).file_system_path(fs_path).data_repository_path(repo)
}

pub fn no_report() -> CompletionReport {
    CompletionReport::builder().enabled(false).build()
}

/// A CreateDataRepositoryTask request of type `ty` on file system `fs`, without a completion report.
pub fn task_request(fsx: &Fsx, fs: &str, ty: DataRepositoryTaskType) -> CreateDataRepositoryTaskFluentBuilder {
    fsx.create_data_repository_task().file_system_id(fs).r#type(ty).report(no_report())
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
