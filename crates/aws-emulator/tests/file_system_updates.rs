//! UpdateFileSystem's rules, windows and administrative actions, and the CreateFileSystem rules
//! for INTELLIGENT_TIERING, EFA and metadata configurations, through the real aws-sdk-fsx client
//! on the emulator's own clock. moto 5.2.1 implements none of UpdateFileSystem and validates none
//! of these create rules (see `moto_parity.rs`), so every rule here is pinned to the FSx source
//! named beside it in `src/fsx/update.rs`, `src/fsx/file_systems.rs` and `src/fsx/validate.rs`.

mod common;

use std::time::Duration;

use aws_emulator::{Emulator, EmulatorConfig};
use aws_sdk_fsx::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_fsx::operation::create_file_system::builders::CreateFileSystemFluentBuilder;
use aws_sdk_fsx::operation::update_file_system::builders::UpdateFileSystemFluentBuilder;
use aws_sdk_fsx::types::builders::CreateFileSystemLustreConfigurationBuilder;
use aws_sdk_fsx::types::{
    AdministrativeAction, AdministrativeActionType, AutoImportPolicyType, CreateFileSystemLustreConfiguration,
    CreateFileSystemLustreMetadataConfiguration, DataCompressionType, DriveCacheType, FileSystem, FileSystemLifecycle,
    FileSystemType, LustreAccessAuditLogLevel, LustreDeploymentType, LustreLogCreateConfiguration,
    LustreReadCacheConfiguration, LustreReadCacheSizingMode, LustreRootSquashConfiguration, MetadataConfigurationMode,
    Status, StorageType, UpdateFileSystemLustreConfiguration, UpdateFileSystemLustreMetadataConfiguration,
};
use aws_sdk_fsx::Client as Fsx;
use common::*;

/// FSx's refusals, verbatim where a source quotes them (see `src/fsx/update.rs`).
const STORAGE_IN_PROGRESS: &str =
    "Unable to perform the storage capacity update. There is an update already in progress.";
const STORAGE_WINDOW: &str = "Unable to perform the storage capacity update. The storage capacity update cannot start until at least 6 hours have passed since the last storage capacity update.";
const METADATA_WINDOW: &str = "Unable to perform the metadata configuration update. The metadata IOPS increase cannot start until at least 6 hours have passed since the last metadata IOPS increase.";
const EFA_SG: &str = "Insufficient security group permissions to create an EFA-enabled file system. Update security group to allow all internal inbound and outbound traffic.";

const HOUR: u64 = 3600;

/// The code and message of a service error.
fn refusal<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(err: SdkError<E, R>) -> (String, String) {
    match err {
        SdkError::ServiceError(e) => {
            let meta = e.err().meta();
            (meta.code().unwrap_or_default().to_string(), meta.message().unwrap_or_default().to_string())
        }
        other => (format!("<not a service error: {other:?}>"), String::new()),
    }
}

/// Default durations (UPDATING 2 s, each optimization 2 s, windows 6 h) and room for many file systems.
fn config() -> EmulatorConfig {
    EmulatorConfig { file_system_quota: 1000, storage_quota_gib: 100_000_000, ..EmulatorConfig::default() }
}

/// A group admitting LNET and, for EFA, all traffic from itself (its default egress rule sends
/// everything anywhere).
async fn efa_sg(c: &Clients, vpc: &str) -> String {
    let sg = lustre_sg(&c.ec2, vpc, "efa").await;
    let all = aws_sdk_ec2::types::IpPermission::builder().ip_protocol("-1").user_id_group_pairs(self_ref(&sg)).build();
    authorize(&c.ec2, &sg, &[all]).send().await.expect("all traffic from itself");
    sg
}

fn lustre(deployment: LustreDeploymentType) -> CreateFileSystemLustreConfigurationBuilder {
    CreateFileSystemLustreConfiguration::builder().deployment_type(deployment)
}

fn p2() -> CreateFileSystemLustreConfigurationBuilder {
    lustre(LustreDeploymentType::Persistent2).per_unit_storage_throughput(125)
}

fn user_metadata(iops: i32) -> CreateFileSystemLustreMetadataConfiguration {
    CreateFileSystemLustreMetadataConfiguration::builder()
        .mode(MetadataConfigurationMode::UserProvisioned)
        .iops(iops)
        .build()
}

fn automatic_metadata() -> CreateFileSystemLustreMetadataConfiguration {
    CreateFileSystemLustreMetadataConfiguration::builder().mode(MetadataConfigurationMode::Automatic).build()
}

fn cache(mode: LustreReadCacheSizingMode, size: Option<i32>) -> LustreReadCacheConfiguration {
    LustreReadCacheConfiguration::builder().sizing_mode(mode).set_size_gib(size).build()
}

/// A valid INTELLIGENT_TIERING create: no StorageCapacity, 4000 MBps, a proportional read cache,
/// 6000 user-provisioned metadata IOPS.
fn tiering(fsx: &Fsx, subnet: &str, sg: &str) -> CreateFileSystemFluentBuilder {
    let lc = lustre(LustreDeploymentType::Persistent2)
        .throughput_capacity(4000)
        .data_read_cache_configuration(cache(LustreReadCacheSizingMode::ProportionalToThroughputCapacity, None))
        .metadata_configuration(user_metadata(6000));
    fsx.create_file_system()
        .file_system_type(FileSystemType::Lustre)
        .storage_type(StorageType::IntelligentTiering)
        .subnet_ids(subnet)
        .security_group_ids(sg)
        .lustre_configuration(lc.build())
}

/// The kinds of file system the update table runs on.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// PERSISTENT_2 SSD 125 MB/s/TiB, 1200 GiB, metadata USER_PROVISIONED 1500.
    P2User1500,
    /// The same with 3000 metadata IOPS (more than AUTOMATIC's 1500 at 1200 GiB).
    P2User3000,
    /// PERSISTENT_2 1200 GiB with metadata AUTOMATIC (1500 IOPS).
    P2Auto,
    /// PERSISTENT_2 1200 GiB created without a metadata configuration.
    P2Plain,
    /// PERSISTENT_1 SSD 50 MB/s/TiB, 1200 GiB.
    P1Ssd,
    /// PERSISTENT_1 SSD on FileSystemTypeVersion 2.10.
    P1V210,
    /// PERSISTENT_1 HDD 12 MB/s/TiB, 6000 GiB.
    P1Hdd,
    Scratch1,
    Scratch2,
    /// INTELLIGENT_TIERING, 4000 MBps, metadata USER_PROVISIONED 6000.
    Tiering,
    /// EFA-enabled PERSISTENT_2 125 MB/s/TiB, 38400 GiB, metadata AUTOMATIC.
    Efa,
}

fn create_request(fsx: &Fsx, subnet: &str, sg: &str, kind: Kind) -> CreateFileSystemFluentBuilder {
    let base = create_fs(fsx, subnet, sg);
    match kind {
        Kind::P2User1500 => base.lustre_configuration(p2().metadata_configuration(user_metadata(1500)).build()),
        Kind::P2User3000 => base.lustre_configuration(p2().metadata_configuration(user_metadata(3000)).build()),
        Kind::P2Auto => base.lustre_configuration(p2().metadata_configuration(automatic_metadata()).build()),
        Kind::P2Plain => base.lustre_configuration(p2().build()),
        Kind::P1Ssd => {
            base.lustre_configuration(lustre(LustreDeploymentType::Persistent1).per_unit_storage_throughput(50).build())
        }
        Kind::P1V210 => base
            .file_system_type_version("2.10")
            .lustre_configuration(lustre(LustreDeploymentType::Persistent1).per_unit_storage_throughput(50).build()),
        Kind::P1Hdd => base.storage_type(StorageType::Hdd).storage_capacity(6000).lustre_configuration(
            lustre(LustreDeploymentType::Persistent1)
                .per_unit_storage_throughput(12)
                .drive_cache_type(DriveCacheType::None)
                .build(),
        ),
        Kind::Scratch1 => base.lustre_configuration(scratch1()),
        Kind::Scratch2 => base,
        Kind::Tiering => tiering(fsx, subnet, sg),
        Kind::Efa => base
            .storage_capacity(38400)
            .lustre_configuration(p2().efa_enabled(true).metadata_configuration(automatic_metadata()).build()),
    }
}

/// Creates a file system of `kind` and waits (on the paused clock) until it is AVAILABLE.
async fn available(emu: &Emulator, c: &Clients, subnet: &str, sg: &str, kind: Kind) -> String {
    let id = create_request(&c.fsx, subnet, sg, kind).created_id().await;
    emu.advance_clock(Duration::from_secs(3));
    assert_eq!(describe(&c.fsx, &id).await.lifecycle(), Some(&FileSystemLifecycle::Available), "{kind:?}");
    id
}

async fn describe(fsx: &Fsx, id: &str) -> FileSystem {
    let d = fsx.describe_file_systems().file_system_ids(id).send().await.expect("describe");
    d.file_systems().first().cloned().expect("one file system")
}

fn lc() -> aws_sdk_fsx::types::builders::UpdateFileSystemLustreConfigurationBuilder {
    UpdateFileSystemLustreConfiguration::builder()
}

fn metadata(mode: Option<MetadataConfigurationMode>, iops: Option<i32>) -> UpdateFileSystemLustreConfiguration {
    let meta = UpdateFileSystemLustreMetadataConfiguration::builder().set_mode(mode).set_iops(iops).build();
    lc().metadata_configuration(meta).build()
}

fn user(iops: i32) -> UpdateFileSystemLustreConfiguration {
    metadata(Some(MetadataConfigurationMode::UserProvisioned), Some(iops))
}

fn to_automatic() -> UpdateFileSystemLustreConfiguration {
    metadata(Some(MetadataConfigurationMode::Automatic), None)
}

/// What an UpdateFileSystem must do.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Accepted: UPDATING with a FILE_SYSTEM_UPDATE action.
    Heavy,
    /// Accepted at once: still AVAILABLE, no administrative action.
    Simple,
    /// Refused with this code and a message containing this text; nothing changed.
    Refused(&'static str, &'static str),
}

use Expect::{Heavy, Refused, Simple};

type Edit = fn(UpdateFileSystemFluentBuilder) -> UpdateFileSystemFluentBuilder;

const BAD: &str = "BadRequest";

/// The table: (file system, what, the update, what FSx does). Sources: fsx-lustre-api.md
/// sections 2, 4, 12 and 13 and the comments in `src/fsx/update.rs`.
fn table() -> Vec<(Kind, &'static str, Edit, Expect)> {
    vec![
        // StorageCapacity: increase only, in steps; USER_PROVISIONED IOPS must cover the new size.
        (Kind::P2Auto, "grow 1200 -> 2400", |u| u.storage_capacity(2400), Heavy),
        (
            Kind::P2Auto,
            "grow to a wrong step",
            |u| u.storage_capacity(3600),
            Refused(BAD, "Invalid storage capacity 3600"),
        ),
        (Kind::P2Auto, "same capacity", |u| u.storage_capacity(1200), Refused(BAD, "must be larger")),
        (
            Kind::P2User1500,
            "grow past the IOPS",
            |u| u.storage_capacity(2400),
            Refused(BAD, "needs at least 3000 metadata IOPS"),
        ),
        (Kind::P2User3000, "grow within the IOPS", |u| u.storage_capacity(2400), Heavy),
        (Kind::Scratch1, "grow SCRATCH_1", |u| u.storage_capacity(3600), Refused(BAD, "SCRATCH_1")),
        (Kind::Scratch2, "grow SCRATCH_2", |u| u.storage_capacity(2400), Heavy),
        (Kind::P1Hdd, "grow HDD 12 by 6000", |u| u.storage_capacity(12000), Heavy),
        (Kind::P1Hdd, "grow HDD 12 off-step", |u| u.storage_capacity(9000), Refused(BAD, "multiple of 6000")),
        (Kind::Efa, "grow EFA by 38400", |u| u.storage_capacity(76800), Heavy),
        (Kind::Efa, "grow EFA off-step", |u| u.storage_capacity(40800), Refused(BAD, "multiple of 38400")),
        (Kind::Tiering, "StorageCapacity on tiering", |u| u.storage_capacity(2400), Refused(BAD, "elastic")),
        // PerUnitStorageThroughput: up or down on persistent SSD only, never HDD or EFA.
        (
            Kind::P2Plain,
            "P2 up to 250",
            |u| u.lustre_configuration(lc().per_unit_storage_throughput(250).build()),
            Heavy,
        ),
        (
            Kind::P2Plain,
            "P2 up to 1000",
            |u| u.lustre_configuration(lc().per_unit_storage_throughput(1000).build()),
            Heavy,
        ),
        (
            Kind::P2Plain,
            "P2 300",
            |u| u.lustre_configuration(lc().per_unit_storage_throughput(300).build()),
            Refused("InvalidPerUnitStorageThroughput", "allowed values are [125, 250, 500, 1000]"),
        ),
        (
            Kind::P2Plain,
            "P2 unchanged",
            |u| u.lustre_configuration(lc().per_unit_storage_throughput(125).build()),
            Refused(BAD, "already has a PerUnitStorageThroughput of 125"),
        ),
        (Kind::P1Ssd, "P1 up to 200", |u| u.lustre_configuration(lc().per_unit_storage_throughput(200).build()), Heavy),
        (
            Kind::P1Ssd,
            "P1 125",
            |u| u.lustre_configuration(lc().per_unit_storage_throughput(125).build()),
            Refused("InvalidPerUnitStorageThroughput", "allowed values are [50, 100, 200]"),
        ),
        (
            Kind::P1Hdd,
            "HDD 40",
            |u| u.lustre_configuration(lc().per_unit_storage_throughput(40).build()),
            Refused(BAD, "persistent SSD"),
        ),
        (
            Kind::Scratch2,
            "scratch 125",
            |u| u.lustre_configuration(lc().per_unit_storage_throughput(125).build()),
            Refused(BAD, "persistent SSD"),
        ),
        (
            Kind::Efa,
            "EFA 250",
            |u| u.lustre_configuration(lc().per_unit_storage_throughput(250).build()),
            Refused(BAD, "EFA-enabled"),
        ),
        (
            Kind::Tiering,
            "tiering 125",
            |u| u.lustre_configuration(lc().per_unit_storage_throughput(125).build()),
            Refused(BAD, "persistent SSD"),
        ),
        // ThroughputCapacity (INTELLIGENT_TIERING): increase only, steps of 4000.
        (
            Kind::Tiering,
            "tiering up to 8000",
            |u| u.lustre_configuration(lc().throughput_capacity(8000).build()),
            Heavy,
        ),
        (
            Kind::Tiering,
            "tiering 6000",
            |u| u.lustre_configuration(lc().throughput_capacity(6000).build()),
            Refused(BAD, "multiple of 4000"),
        ),
        (
            Kind::Tiering,
            "tiering unchanged",
            |u| u.lustre_configuration(lc().throughput_capacity(4000).build()),
            Refused(BAD, "can only be increased"),
        ),
        (
            Kind::P2Plain,
            "ThroughputCapacity on SSD",
            |u| u.lustre_configuration(lc().throughput_capacity(8000).build()),
            Refused(BAD, "only supported for INTELLIGENT_TIERING"),
        ),
        // DataReadCacheConfiguration (INTELLIGENT_TIERING): 32 to 131072 GiB per 4000 MBps.
        (
            Kind::Tiering,
            "read cache 64 GiB",
            |u| {
                let c = cache(LustreReadCacheSizingMode::UserProvisioned, Some(64));
                u.lustre_configuration(lc().data_read_cache_configuration(c).build())
            },
            Heavy,
        ),
        (
            Kind::Tiering,
            "read cache 20 GiB",
            |u| {
                let c = cache(LustreReadCacheSizingMode::UserProvisioned, Some(20));
                u.lustre_configuration(lc().data_read_cache_configuration(c).build())
            },
            Refused(BAD, "use 32 to 131072 GiB"),
        ),
        (
            Kind::Tiering,
            "no cache with a size",
            |u| {
                let c = cache(LustreReadCacheSizingMode::NoCache, Some(64));
                u.lustre_configuration(lc().data_read_cache_configuration(c).build())
            },
            Refused(BAD, "only be set when SizingMode is USER_PROVISIONED"),
        ),
        (
            Kind::P2Plain,
            "read cache on SSD",
            |u| {
                let c = cache(LustreReadCacheSizingMode::NoCache, None);
                u.lustre_configuration(lc().data_read_cache_configuration(c).build())
            },
            Refused(BAD, "only supported for INTELLIGENT_TIERING"),
        ),
        // MetadataConfiguration: PERSISTENT_2 created with one; IOPS only grow; AUTOMATIC back
        // only within the automatic value.
        (Kind::P2User1500, "IOPS 1500 -> 3000", |u| u.lustre_configuration(user(3000)), Heavy),
        (
            Kind::P2User1500,
            "IOPS 1000",
            |u| u.lustre_configuration(user(1000)),
            Refused(BAD, "Invalid metadata Iops 1000"),
        ),
        (Kind::P2User1500, "IOPS unchanged", |u| u.lustre_configuration(user(1500)), Refused(BAD, "already has 1500")),
        (Kind::P2User1500, "back to AUTOMATIC (1500 <= 1500)", |u| u.lustre_configuration(to_automatic()), Heavy),
        (
            Kind::P2User3000,
            "back to AUTOMATIC (3000 > 1500)",
            |u| u.lustre_configuration(to_automatic()),
            Refused(BAD, "downscaling metadata IOPS is not supported"),
        ),
        (Kind::P2User3000, "IOPS down", |u| u.lustre_configuration(user(1500)), Refused(BAD, "can only be increased")),
        (Kind::P2Auto, "AUTOMATIC -> USER_PROVISIONED 1500", |u| u.lustre_configuration(user(1500)), Heavy),
        (Kind::P2Auto, "AUTOMATIC -> USER_PROVISIONED 6000", |u| u.lustre_configuration(user(6000)), Heavy),
        (
            Kind::P2Auto,
            "USER_PROVISIONED without Iops",
            |u| u.lustre_configuration(metadata(Some(MetadataConfigurationMode::UserProvisioned), None)),
            Refused(BAD, "Iops is required"),
        ),
        (
            Kind::P2Auto,
            "AUTOMATIC with Iops",
            |u| u.lustre_configuration(metadata(Some(MetadataConfigurationMode::Automatic), Some(3000))),
            Refused(BAD, "Iops cannot be set when Mode is AUTOMATIC"),
        ),
        (
            Kind::P2Auto,
            "Iops while AUTOMATIC",
            |u| u.lustre_configuration(metadata(None, Some(3000))),
            Refused(BAD, "Iops cannot be set when Mode is AUTOMATIC"),
        ),
        (
            Kind::P2Auto,
            "AUTOMATIC again",
            |u| u.lustre_configuration(to_automatic()),
            Refused(BAD, "already AUTOMATIC"),
        ),
        (
            Kind::P2Plain,
            "metadata on a file system created without",
            |u| u.lustre_configuration(user(3000)),
            Refused(BAD, "created with a MetadataConfiguration"),
        ),
        (Kind::P1Ssd, "metadata on PERSISTENT_1", |u| u.lustre_configuration(user(3000)), Refused(BAD, "PERSISTENT_2")),
        (Kind::Tiering, "tiering IOPS 12000", |u| u.lustre_configuration(user(12000)), Heavy),
        (
            Kind::Tiering,
            "tiering AUTOMATIC",
            |u| u.lustre_configuration(to_automatic()),
            Refused(BAD, "not supported for INTELLIGENT_TIERING"),
        ),
        (
            Kind::Tiering,
            "tiering IOPS 24000",
            |u| u.lustre_configuration(user(24000)),
            Refused(BAD, "use 6000 or 12000"),
        ),
        (
            Kind::P2User3000,
            "capacity and IOPS at once",
            |u| u.storage_capacity(2400).lustre_configuration(user(6000)),
            Refused(BAD, "cannot be scaled concurrently"),
        ),
        // FileSystemTypeVersion: newer only.
        (Kind::P1V210, "2.10 -> 2.12", |u| u.file_system_type_version("2.12"), Heavy),
        (Kind::P1V210, "2.10 -> 2.10", |u| u.file_system_type_version("2.10"), Refused(BAD, "can only be upgraded")),
        (Kind::P2Plain, "2.15 -> 2.12", |u| u.file_system_type_version("2.12"), Refused(BAD, "can only be upgraded")),
        (Kind::P1V210, "2.9", |u| u.file_system_type_version("2.9"), Refused(BAD, "Invalid FileSystemTypeVersion")),
        // Simple settings: applied at once, validated like CreateFileSystem's.
        (
            Kind::P2Plain,
            "maintenance window",
            |u| u.lustre_configuration(lc().weekly_maintenance_start_time("3:10:00").build()),
            Simple,
        ),
        (
            Kind::P2Plain,
            "maintenance day 8",
            |u| u.lustre_configuration(lc().weekly_maintenance_start_time("8:00:00").build()),
            Refused(BAD, "Invalid WeeklyMaintenanceStartTime"),
        ),
        (
            Kind::P2Plain,
            "backups 30 days",
            |u| u.lustre_configuration(lc().automatic_backup_retention_days(30).build()),
            Simple,
        ),
        (
            Kind::P2Plain,
            "backups 91 days",
            |u| u.lustre_configuration(lc().automatic_backup_retention_days(91).build()),
            Refused(BAD, "between 0 and 90"),
        ),
        (
            Kind::Scratch2,
            "scratch backups",
            |u| u.lustre_configuration(lc().automatic_backup_retention_days(5).build()),
            Refused(BAD, "not supported for SCRATCH"),
        ),
        (
            Kind::Scratch2,
            "scratch backup time",
            |u| u.lustre_configuration(lc().daily_automatic_backup_start_time("01:00").build()),
            Refused(BAD, "not supported for SCRATCH"),
        ),
        (
            Kind::P2Plain,
            "backup time",
            |u| u.lustre_configuration(lc().daily_automatic_backup_start_time("01:00").build()),
            Simple,
        ),
        (
            Kind::P2Plain,
            "LZ4",
            |u| u.lustre_configuration(lc().data_compression_type(DataCompressionType::Lz4).build()),
            Simple,
        ),
        (
            Kind::P2Plain,
            "GZIP",
            |u| u.lustre_configuration(lc().data_compression_type(DataCompressionType::from("GZIP")).build()),
            Refused(BAD, "Invalid DataCompressionType"),
        ),
        (
            Kind::P2Plain,
            "logging to the default group",
            |u| {
                let log = LustreLogCreateConfiguration::builder().level(LustreAccessAuditLogLevel::WarnError).build();
                u.lustre_configuration(lc().log_configuration(log).build())
            },
            Simple,
        ),
        (
            Kind::P2Plain,
            "DISABLED with a destination",
            |u| {
                let log = LustreLogCreateConfiguration::builder()
                    .level(LustreAccessAuditLogLevel::Disabled)
                    .destination("arn:aws:logs:us-east-1:123456789012:log-group:/aws/fsx/mine")
                    .build();
                u.lustre_configuration(lc().log_configuration(log).build())
            },
            Refused(BAD, "cannot be set when Level is DISABLED"),
        ),
        (
            Kind::P2Plain,
            "a destination in another region",
            |u| {
                let log = LustreLogCreateConfiguration::builder()
                    .level(LustreAccessAuditLogLevel::ErrorOnly)
                    .destination("arn:aws:logs:eu-west-1:123456789012:log-group:/aws/fsx/mine")
                    .build();
                u.lustre_configuration(lc().log_configuration(log).build())
            },
            Refused(BAD, "Invalid LogConfiguration.Destination"),
        ),
        (
            Kind::P2Plain,
            "root squash",
            |u| {
                let rs = LustreRootSquashConfiguration::builder()
                    .root_squash("65534:65534")
                    .no_squash_nids("10.0.[2-10].[1-255]@tcp")
                    .build();
                u.lustre_configuration(lc().root_squash_configuration(rs).build())
            },
            Simple,
        ),
        (
            Kind::P2Plain,
            "a NID without @tcp",
            |u| {
                let rs = LustreRootSquashConfiguration::builder().root_squash("0:0").no_squash_nids("10.0.1.6").build();
                u.lustre_configuration(lc().root_squash_configuration(rs).build())
            },
            Refused(BAD, "Invalid NoSquashNids"),
        ),
        (
            Kind::P2Plain,
            "root squash not UID:GID",
            |u| {
                let rs = LustreRootSquashConfiguration::builder().root_squash("root").build();
                u.lustre_configuration(lc().root_squash_configuration(rs).build())
            },
            Refused(BAD, "UID:GID"),
        ),
        (
            Kind::P2Plain,
            "AutoImportPolicy without ImportPath",
            |u| u.lustre_configuration(lc().auto_import_policy(AutoImportPolicyType::New).build()),
            Refused(BAD, "linked to S3"),
        ),
    ]
}

#[tokio::test]
async fn accepted_and_refused_updates() {
    let (emu, c, seed, _) = paused_with_sg(config(), "unused").await;
    let sg = efa_sg(&c, &seed.vpc_id).await;
    let subnet = &seed.subnet_ids[0];
    for (kind, what, edit, expect) in table() {
        let id = available(&emu, &c, subnet, &sg, kind).await;
        let result = edit(c.fsx.update_file_system().file_system_id(&id)).send().await;
        let after = describe(&c.fsx, &id).await;
        match (expect, result) {
            (Heavy, Ok(out)) => {
                let fs = out.file_system.expect("the file system");
                assert_eq!(fs.lifecycle(), Some(&FileSystemLifecycle::Updating), "{what}");
                let action = fs.administrative_actions().first().expect("an action");
                assert_eq!(
                    action.administrative_action_type(),
                    Some(&AdministrativeActionType::FileSystemUpdate),
                    "{what}"
                );
                assert_eq!(action.status(), Some(&Status::InProgress), "{what}");
                assert!(action.target_file_system_values().is_some(), "{what}: TargetFileSystemValues");
            }
            (Simple, Ok(out)) => {
                let fs = out.file_system.expect("the file system");
                assert_eq!(fs.lifecycle(), Some(&FileSystemLifecycle::Available), "{what}");
                assert!(fs.administrative_actions().is_empty(), "{what}: {:?}", fs.administrative_actions());
            }
            (Refused(want_code, want_text), Err(err)) => {
                let (got_code, got_text) = refusal(err);
                assert_eq!(got_code, want_code, "{what}: {got_text}");
                assert!(got_text.contains(want_text), "{what}: {got_text:?} lacks {want_text:?}");
                assert_eq!(after.lifecycle(), Some(&FileSystemLifecycle::Available), "{what}: nothing changed");
                assert!(after.administrative_actions().is_empty(), "{what}: nothing changed");
            }
            (expect, got) => panic!("{kind:?} {what}: expected {expect:?}, got {got:?}"),
        }
    }
}

#[tokio::test]
async fn simple_settings_show_in_describe_at_once() {
    let (emu, c, seed, sg) = paused_with_sg(config(), "simple").await;
    let id = available(&emu, &c, &seed.subnet_ids[0], &sg, Kind::P2Plain).await;
    let log = LustreLogCreateConfiguration::builder().level(LustreAccessAuditLogLevel::WarnOnly).build();
    let edit = lc().weekly_maintenance_start_time("5:01:02").automatic_backup_retention_days(7).log_configuration(log);
    c.fsx.update_file_system().file_system_id(&id).lustre_configuration(edit.build()).send().await.expect("update");
    let fs = describe(&c.fsx, &id).await;
    let l = fs.lustre_configuration().expect("lustre");
    assert_eq!(l.weekly_maintenance_start_time(), Some("5:01:02"));
    assert_eq!(l.automatic_backup_retention_days(), Some(7));
    let log = l.log_configuration().expect("log");
    assert_eq!(log.level(), Some(&LustreAccessAuditLogLevel::WarnOnly));
    // No Destination given: FSx logs to /aws/fsx/lustre (API model, LustreLogCreateConfiguration).
    assert_eq!(log.destination(), Some("arn:aws:logs:us-east-1:123456789012:log-group:/aws/fsx/lustre"));
}

fn action<'a>(fs: &'a FileSystem, ty: &AdministrativeActionType) -> &'a AdministrativeAction {
    fs.administrative_actions()
        .iter()
        .rev()
        .find(|a| a.administrative_action_type() == Some(ty))
        .unwrap_or_else(|| panic!("no {ty:?} in {:?}", fs.administrative_actions()))
}

fn state_of(a: &AdministrativeAction) -> (Option<&Status>, Option<i32>) {
    (a.status(), a.progress_percent())
}

#[tokio::test]
async fn storage_increase_goes_updating_then_optimizing_with_progress() {
    let cfg = EmulatorConfig { storage_optimization_duration: Duration::from_secs(10), ..config() };
    let (emu, c, seed, sg) = paused_with_sg(cfg, "progress").await;
    let id = available(&emu, &c, &seed.subnet_ids[0], &sg, Kind::P2Auto).await;
    let requested = emu.now();
    let out = c.fsx.update_file_system().file_system_id(&id).storage_capacity(2400).send().await.expect("grow");
    let fs = out.file_system.expect("fs");
    assert_eq!(fs.lifecycle(), Some(&FileSystemLifecycle::Updating));
    // FILE_SYSTEM_UPDATE then STORAGE_OPTIMIZATION, as FSx lists them (aws-fsx-csi-driver's
    // cloud_test.go fixtures); only the former has TargetFileSystemValues, only the latter ProgressPercent.
    let types: Vec<_> = fs.administrative_actions().iter().filter_map(|a| a.administrative_action_type()).collect();
    assert_eq!(types, [&AdministrativeActionType::FileSystemUpdate, &AdministrativeActionType::StorageOptimization]);
    let update = action(&fs, &AdministrativeActionType::FileSystemUpdate);
    assert_eq!(state_of(update), (Some(&Status::InProgress), None));
    assert_eq!(update.target_file_system_values().and_then(|t| t.storage_capacity()), Some(2400));
    let request_time = update.request_time().expect("RequestTime").to_millis().expect("millis");
    assert!((request_time - requested.timestamp_millis()).abs() <= 1, "{request_time} vs {requested}");
    let optimization = action(&fs, &AdministrativeActionType::StorageOptimization);
    assert_eq!(state_of(optimization), (Some(&Status::Pending), None));
    assert!(optimization.target_file_system_values().is_none());

    emu.advance_clock(Duration::from_secs(1));
    let fs = describe(&c.fsx, &id).await;
    assert_eq!((fs.lifecycle(), fs.storage_capacity()), (Some(&FileSystemLifecycle::Updating), Some(1200)));

    // UPDATING ends after update_duration (2 s): the new capacity is usable while rebalancing.
    emu.advance_clock(Duration::from_secs(2));
    let fs = describe(&c.fsx, &id).await;
    assert_eq!((fs.lifecycle(), fs.storage_capacity()), (Some(&FileSystemLifecycle::Available), Some(2400)));
    let meta = fs.lustre_configuration().and_then(|l| l.metadata_configuration()).expect("metadata");
    assert_eq!(meta.iops(), Some(3000), "AUTOMATIC metadata IOPS follow the capacity");
    assert_eq!(
        state_of(action(&fs, &AdministrativeActionType::FileSystemUpdate)),
        (Some(&Status::UpdatedOptimizing), None)
    );
    assert_eq!(
        state_of(action(&fs, &AdministrativeActionType::StorageOptimization)),
        (Some(&Status::InProgress), Some(10))
    );

    emu.advance_clock(Duration::from_secs(4));
    let fs = describe(&c.fsx, &id).await;
    assert_eq!(
        state_of(action(&fs, &AdministrativeActionType::StorageOptimization)),
        (Some(&Status::InProgress), Some(50))
    );

    emu.advance_clock(Duration::from_secs(6));
    let fs = describe(&c.fsx, &id).await;
    assert_eq!(state_of(action(&fs, &AdministrativeActionType::FileSystemUpdate)), (Some(&Status::Completed), None));
    assert_eq!(
        state_of(action(&fs, &AdministrativeActionType::StorageOptimization)),
        (Some(&Status::Completed), Some(100))
    );
}

#[tokio::test]
async fn throughput_metadata_and_version_changes_run_their_own_actions() {
    let cfg = EmulatorConfig {
        throughput_optimization_duration: Duration::from_secs(4),
        iops_optimization_duration: Duration::from_secs(8),
        ..config()
    };
    let (emu, c, seed, sg) = paused_with_sg(cfg, "kinds").await;
    let subnet = &seed.subnet_ids[0];
    let update = |id: &str| c.fsx.update_file_system().file_system_id(id);

    let fs_id = available(&emu, &c, subnet, &sg, Kind::P2User1500).await;
    let out = update(&fs_id).lustre_configuration(lc().per_unit_storage_throughput(500).build()).send().await;
    let target = out.expect("throughput").file_system.expect("fs");
    let target = action(&target, &AdministrativeActionType::FileSystemUpdate).target_file_system_values().cloned();
    let lustre = target.and_then(|t| t.lustre_configuration().cloned()).expect("target LustreConfiguration");
    assert_eq!(lustre.per_unit_storage_throughput(), Some(500));
    emu.advance_clock(Duration::from_secs(4));
    let fs = describe(&c.fsx, &fs_id).await;
    assert_eq!(fs.lustre_configuration().and_then(|l| l.per_unit_storage_throughput()), Some(500));
    assert_eq!(
        state_of(action(&fs, &AdministrativeActionType::ThroughputOptimization)),
        (Some(&Status::InProgress), Some(50))
    );
    emu.advance_clock(Duration::from_secs(2));
    let fs = describe(&c.fsx, &fs_id).await;
    assert_eq!(
        state_of(action(&fs, &AdministrativeActionType::ThroughputOptimization)),
        (Some(&Status::Completed), Some(100))
    );
    assert_eq!(action(&fs, &AdministrativeActionType::FileSystemUpdate).status(), Some(&Status::Completed));

    update(&fs_id).lustre_configuration(user(3000)).send().await.expect("IOPS");
    emu.advance_clock(Duration::from_secs(4));
    let fs = describe(&c.fsx, &fs_id).await;
    let meta = fs.lustre_configuration().and_then(|l| l.metadata_configuration()).expect("metadata");
    assert_eq!((meta.mode(), meta.iops()), (Some(&MetadataConfigurationMode::UserProvisioned), Some(3000)));
    assert_eq!(
        state_of(action(&fs, &AdministrativeActionType::IopsOptimization)),
        (Some(&Status::InProgress), Some(25))
    );

    // A version upgrade has no optimization: COMPLETED when UPDATING ends.
    let old = available(&emu, &c, subnet, &sg, Kind::P1V210).await;
    let out = update(&old).file_system_type_version("2.15").send().await.expect("upgrade").file_system.expect("fs");
    assert_eq!(out.administrative_actions().len(), 1);
    emu.advance_clock(Duration::from_secs(2));
    let fs = describe(&c.fsx, &old).await;
    assert_eq!((fs.lifecycle(), fs.file_system_type_version()), (Some(&FileSystemLifecycle::Available), Some("2.15")));
    assert_eq!(state_of(action(&fs, &AdministrativeActionType::FileSystemUpdate)), (Some(&Status::Completed), None));

    // A tiering throughput increase runs THROUGHPUT_OPTIMIZATION too.
    let it = available(&emu, &c, subnet, &sg, Kind::Tiering).await;
    update(&it).lustre_configuration(lc().throughput_capacity(8000).build()).send().await.expect("8000 MBps");
    emu.advance_clock(Duration::from_secs(2));
    let fs = describe(&c.fsx, &it).await;
    assert_eq!(fs.lustre_configuration().and_then(|l| l.throughput_capacity()), Some(8000));
    assert_eq!(action(&fs, &AdministrativeActionType::ThroughputOptimization).status(), Some(&Status::InProgress));
}

#[tokio::test]
async fn an_interrupted_update_reports_failure_details() {
    let (emu, c, seed, sg) = paused_with_sg(config(), "fail").await;
    let id = available(&emu, &c, &seed.subnet_ids[0], &sg, Kind::P2Auto).await;
    c.fsx.update_file_system().file_system_id(&id).storage_capacity(2400).send().await.expect("grow");
    emu.force_lifecycle(&id, "MISCONFIGURED", Some("file servers unreachable")).expect("force");
    emu.advance_clock(Duration::from_secs(10));
    let fs = describe(&c.fsx, &id).await;
    assert_eq!(fs.storage_capacity(), Some(1200), "the interrupted update never applied");
    for a in fs.administrative_actions() {
        assert_eq!(a.status(), Some(&Status::Failed), "{a:?}");
        assert_eq!(a.failure_details().and_then(|f| f.message()), Some("file servers unreachable"));
    }
}

#[tokio::test]
async fn one_update_at_a_time() {
    let (emu, c, seed, sg) = paused_with_sg(config(), "one").await;
    let id = available(&emu, &c, &seed.subnet_ids[0], &sg, Kind::P2User3000).await;
    let update = || c.fsx.update_file_system().file_system_id(&id);
    let window = || lc().weekly_maintenance_start_time("4:00:00").build();
    update().storage_capacity(2400).send().await.expect("grow");

    // While UPDATING (FILE_SYSTEM_UPDATE IN_PROGRESS), then while STORAGE_OPTIMIZATION runs.
    for phase in ["updating", "optimizing"] {
        let err = update().storage_capacity(4800).send().await.expect_err(phase);
        assert_eq!(refusal(err), (BAD.to_string(), STORAGE_IN_PROGRESS.to_string()), "{phase}");
        let err =
            update().lustre_configuration(lc().per_unit_storage_throughput(250).build()).send().await.expect_err(phase);
        assert_eq!(
            message(err),
            "Unable to perform the throughput capacity update. There is an update already in progress.",
            "{phase}"
        );
        let err = update().lustre_configuration(user(6000)).send().await.expect_err(phase);
        assert!(message(err).contains("metadata configuration update. There is an update already in progress"));
        let err = update().file_system_type_version("2.15").send().await.expect_err(phase);
        assert!(message(err).contains("There is an update already in progress"), "{phase}");
        // Simple settings wait too (one update at a time; see src/fsx/update.rs).
        let err = update().lustre_configuration(window()).send().await.expect_err(phase);
        assert!(message(err).contains("There is an update already in progress"), "{phase}");
        emu.advance_clock(Duration::from_secs(3));
        let fs = describe(&c.fsx, &id).await;
        if phase == "updating" {
            assert_eq!(fs.lifecycle(), Some(&FileSystemLifecycle::Available));
            assert_eq!(action(&fs, &AdministrativeActionType::StorageOptimization).status(), Some(&Status::InProgress));
        }
    }
    // Both finished: the other kinds are free again (storage still waits for its 6 h).
    let fs = describe(&c.fsx, &id).await;
    assert!(fs.administrative_actions().iter().all(|a| a.status() == Some(&Status::Completed)), "{fs:?}");
    let out = update().lustre_configuration(window()).send().await.expect("window").file_system.expect("fs");
    assert_eq!(out.lustre_configuration().and_then(|l| l.weekly_maintenance_start_time()), Some("4:00:00"));
    update().lustre_configuration(lc().per_unit_storage_throughput(250).build()).send().await.expect("throughput");
}

#[tokio::test]
async fn a_retried_update_with_its_token_is_the_same_update() {
    let (emu, c, seed, sg) = paused_with_sg(config(), "token").await;
    let id = available(&emu, &c, &seed.subnet_ids[0], &sg, Kind::P2Auto).await;
    let grow =
        |gib: i32| c.fsx.update_file_system().file_system_id(&id).client_request_token("grow-1").storage_capacity(gib);
    grow(2400).send().await.expect("first");
    emu.advance_clock(Duration::from_secs(1));
    // The same token and parameters: FSx answers the update it already runs, not "in progress".
    let again = grow(2400).send().await.expect("retry").file_system.expect("fs");
    assert_eq!(again.administrative_actions().len(), 2, "still one FILE_SYSTEM_UPDATE and its optimization");
    let err = grow(4800).send().await.expect_err("same token, other parameters");
    assert_eq!(code(err), "IncompatibleParameterError");
}

#[tokio::test]
async fn six_hour_windows_on_the_emulator_clock() {
    let (emu, c, seed, sg) = paused_with_sg(config(), "windows").await;
    let subnet = &seed.subnet_ids[0];
    let id = available(&emu, &c, subnet, &sg, Kind::P2Auto).await;
    let grow = |gib: i32| c.fsx.update_file_system().file_system_id(&id).storage_capacity(gib).send();
    grow(2400).await.expect("first increase");
    // Finished after 4 s, yet the next increase waits 6 h from the request.
    emu.advance_clock(Duration::from_secs(5));
    let err = grow(4800).await.expect_err("within 6 h");
    assert_eq!(refusal(err), (BAD.to_string(), STORAGE_WINDOW.to_string()));
    emu.advance_clock(Duration::from_secs(6 * HOUR - 6));
    let err = grow(4800).await.expect_err("6 h minus 1 s");
    assert_eq!(message(err), STORAGE_WINDOW);
    emu.advance_clock(Duration::from_secs(2));
    grow(4800).await.expect("6 h after the last request");

    // Metadata IOPS increases at least 6 h apart; a storage increase is a separate window.
    let md = available(&emu, &c, subnet, &sg, Kind::P2User1500).await;
    let iops = |n: i32| c.fsx.update_file_system().file_system_id(&md).lustre_configuration(user(n)).send();
    iops(3000).await.expect("first IOPS increase");
    emu.advance_clock(Duration::from_secs(5));
    let err = iops(6000).await.expect_err("within 6 h");
    assert_eq!(refusal(err), (BAD.to_string(), METADATA_WINDOW.to_string()));
    c.fsx.update_file_system().file_system_id(&md).storage_capacity(2400).send().await.expect("storage is not blocked");
    emu.advance_clock(Duration::from_secs(6 * HOUR));
    iops(6000).await.expect("6 h later");
}

#[tokio::test]
async fn a_long_storage_optimization_holds_the_next_increase_past_6_hours() {
    let cfg = EmulatorConfig { storage_optimization_duration: Duration::from_secs(8 * HOUR), ..config() };
    let (emu, c, seed, sg) = paused_with_sg(cfg, "long").await;
    let id = available(&emu, &c, &seed.subnet_ids[0], &sg, Kind::Scratch2).await;
    let grow = |gib: i32| c.fsx.update_file_system().file_system_id(&id).storage_capacity(gib).send();
    grow(2400).await.expect("first");
    emu.advance_clock(Duration::from_secs(7 * HOUR));
    let fs = describe(&c.fsx, &id).await;
    assert_eq!((fs.lifecycle(), fs.storage_capacity()), (Some(&FileSystemLifecycle::Available), Some(2400)));
    let err = grow(4800).await.expect_err("optimization still running at 7 h");
    assert_eq!(message(err), STORAGE_IN_PROGRESS);
    emu.advance_clock(Duration::from_secs(HOUR + 3));
    grow(4800).await.expect("after the optimization ended");
}

#[tokio::test]
async fn windows_are_configurable() {
    let cfg = EmulatorConfig {
        storage_increase_cooldown: Duration::from_secs(60),
        metadata_increase_cooldown: Duration::from_secs(2 * HOUR),
        ..config()
    };
    let (emu, c, seed, sg) = paused_with_sg(cfg, "knobs").await;
    let subnet = &seed.subnet_ids[0];
    let id = available(&emu, &c, subnet, &sg, Kind::P2Auto).await;
    let grow = |gib: i32| c.fsx.update_file_system().file_system_id(&id).storage_capacity(gib).send();
    grow(2400).await.expect("grow");
    emu.advance_clock(Duration::from_secs(5));
    let err = grow(4800).await.expect_err("window");
    assert!(message(err).contains("at least 60 seconds have passed"));
    emu.advance_clock(Duration::from_secs(60));
    grow(4800).await.expect("after 60 s");

    let md = available(&emu, &c, subnet, &sg, Kind::P2User1500).await;
    let iops = |n: i32| c.fsx.update_file_system().file_system_id(&md).lustre_configuration(user(n)).send();
    iops(3000).await.expect("IOPS");
    emu.advance_clock(Duration::from_secs(5));
    let err = iops(6000).await.expect_err("IOPS window");
    assert!(message(err).contains("at least 2 hours have passed"));
    emu.advance_clock(Duration::from_secs(2 * HOUR));
    iops(6000).await.expect("after 2 h");
}

#[tokio::test]
async fn create_rules_for_tiering_efa_and_metadata() {
    let (emu, c, seed, _) = paused_with_sg(config(), "unused").await;
    let subnet = &seed.subnet_ids[0];
    let sg = efa_sg(&c, &seed.vpc_id).await;
    let lnet_only = lustre_sg(&c.ec2, &seed.vpc_id, "lnet-only").await;

    // A valid INTELLIGENT_TIERING file system: elastic (no StorageCapacity shown).
    let it = tiering(&c.fsx, subnet, &sg).created().await;
    assert_eq!(it.storage_type(), Some(&StorageType::IntelligentTiering));
    assert_eq!(it.storage_capacity(), None);
    let l = it.lustre_configuration().expect("lustre");
    assert_eq!(l.throughput_capacity(), Some(4000));
    let c_mode = l.data_read_cache_configuration().and_then(|c| c.sizing_mode());
    assert_eq!(c_mode, Some(&LustreReadCacheSizingMode::ProportionalToThroughputCapacity));
    assert_eq!(l.metadata_configuration().and_then(|m| m.iops()), Some(6000));

    // A valid EFA file system: 38400 GiB at 125 MB/s/TiB, metadata AUTOMATIC (12000 IOPS at 38400 GiB).
    let efa = create_request(&c.fsx, subnet, &sg, Kind::Efa).created().await;
    let l = efa.lustre_configuration().expect("lustre");
    assert_eq!(l.efa_enabled(), Some(true));
    assert_eq!(l.metadata_configuration().and_then(|m| m.iops()), Some(12000));
    // AUTOMATIC metadata at 2400 GiB: 3000 IOPS.
    let auto = create_request(&c.fsx, subnet, &sg, Kind::P2Auto).storage_capacity(2400).created().await;
    let meta = auto.lustre_configuration().and_then(|l| l.metadata_configuration()).expect("metadata");
    assert_eq!((meta.mode(), meta.iops()), (Some(&MetadataConfigurationMode::Automatic), Some(3000)));

    let tiering_lc = || {
        lustre(LustreDeploymentType::Persistent2)
            .throughput_capacity(4000)
            .data_read_cache_configuration(cache(LustreReadCacheSizingMode::NoCache, None))
            .metadata_configuration(user_metadata(6000))
    };
    let it_with = |lc: CreateFileSystemLustreConfiguration| tiering(&c.fsx, subnet, &sg).lustre_configuration(lc);
    let efa_lc = || p2().efa_enabled(true).metadata_configuration(automatic_metadata());
    let refused: Vec<(&str, CreateFileSystemFluentBuilder, &str, &str)> = vec![
        ("tiering with StorageCapacity", tiering(&c.fsx, subnet, &sg).storage_capacity(1200), BAD, "elastic"),
        ("tiering 6000 MBps", it_with(tiering_lc().throughput_capacity(6000).build()), BAD, "multiple of 4000"),
        (
            "tiering without ThroughputCapacity",
            it_with(tiering_lc().set_throughput_capacity(None).build()),
            BAD,
            "ThroughputCapacity is required",
        ),
        (
            "tiering without a read cache",
            it_with(tiering_lc().set_data_read_cache_configuration(None).build()),
            BAD,
            "DataReadCacheConfiguration is required",
        ),
        (
            "tiering read cache too small",
            it_with(
                tiering_lc()
                    .data_read_cache_configuration(cache(LustreReadCacheSizingMode::UserProvisioned, Some(16)))
                    .build(),
            ),
            BAD,
            "use 32 to 131072 GiB",
        ),
        (
            "tiering read cache without a size",
            it_with(
                tiering_lc()
                    .data_read_cache_configuration(cache(LustreReadCacheSizingMode::UserProvisioned, None))
                    .build(),
            ),
            BAD,
            "SizeGiB is required",
        ),
        (
            "tiering AUTOMATIC metadata",
            it_with(tiering_lc().metadata_configuration(automatic_metadata()).build()),
            BAD,
            "not supported for INTELLIGENT_TIERING",
        ),
        (
            "tiering 1500 IOPS",
            it_with(tiering_lc().metadata_configuration(user_metadata(1500)).build()),
            BAD,
            "use 6000 or 12000",
        ),
        (
            "tiering without metadata",
            it_with(tiering_lc().set_metadata_configuration(None).build()),
            BAD,
            "require a MetadataConfiguration",
        ),
        (
            "tiering with PerUnitStorageThroughput",
            it_with(tiering_lc().per_unit_storage_throughput(125).build()),
            BAD,
            "PerUnitStorageThroughput is not supported",
        ),
        (
            "tiering on 2.12",
            tiering(&c.fsx, subnet, &sg).file_system_type_version("2.12"),
            BAD,
            "requires FileSystemTypeVersion 2.15",
        ),
        (
            "tiering on PERSISTENT_1",
            tiering(&c.fsx, subnet, &sg).lustre_configuration(
                lustre(LustreDeploymentType::Persistent1)
                    .throughput_capacity(4000)
                    .data_read_cache_configuration(cache(LustreReadCacheSizingMode::NoCache, None))
                    .build(),
            ),
            BAD,
            "not supported for deployment type PERSISTENT_1",
        ),
        (
            "ThroughputCapacity on SSD",
            create_fs(&c.fsx, subnet, &sg).lustre_configuration(p2().throughput_capacity(4000).build()),
            BAD,
            "only supported for INTELLIGENT_TIERING",
        ),
        (
            "a read cache on SSD",
            create_fs(&c.fsx, subnet, &sg).lustre_configuration(
                p2().data_read_cache_configuration(cache(LustreReadCacheSizingMode::NoCache, None)).build(),
            ),
            BAD,
            "only supported for INTELLIGENT_TIERING",
        ),
        (
            "EFA at 1200 GiB",
            create_fs(&c.fsx, subnet, &sg).lustre_configuration(efa_lc().build()),
            BAD,
            "multiple of 38400",
        ),
        (
            "EFA 19200 GiB at 125",
            create_fs(&c.fsx, subnet, &sg).storage_capacity(19200).lustre_configuration(efa_lc().build()),
            BAD,
            "multiple of 38400",
        ),
        (
            "EFA without metadata",
            create_fs(&c.fsx, subnet, &sg)
                .storage_capacity(38400)
                .lustre_configuration(efa_lc().set_metadata_configuration(None).build()),
            BAD,
            "require a MetadataConfiguration",
        ),
        (
            "EFA on PERSISTENT_1",
            create_fs(&c.fsx, subnet, &sg).storage_capacity(38400).lustre_configuration(
                lustre(LustreDeploymentType::Persistent1).per_unit_storage_throughput(50).efa_enabled(true).build(),
            ),
            BAD,
            "only supported for PERSISTENT_2",
        ),
        (
            "EFA with an LNET-only group",
            create_request(&c.fsx, subnet, &lnet_only, Kind::Efa),
            "InvalidNetworkSettings",
            EFA_SG,
        ),
        (
            "metadata without Mode",
            create_fs(&c.fsx, subnet, &sg).lustre_configuration(
                p2().metadata_configuration(CreateFileSystemLustreMetadataConfiguration::builder().iops(3000).build())
                    .build(),
            ),
            BAD,
            "Mode is required",
        ),
        (
            "AUTOMATIC with Iops",
            create_fs(&c.fsx, subnet, &sg).lustre_configuration(
                p2().metadata_configuration(
                    CreateFileSystemLustreMetadataConfiguration::builder()
                        .mode(MetadataConfigurationMode::Automatic)
                        .iops(3000)
                        .build(),
                )
                .build(),
            ),
            BAD,
            "Iops cannot be set when Mode is AUTOMATIC",
        ),
        (
            "USER_PROVISIONED without Iops",
            create_fs(&c.fsx, subnet, &sg).lustre_configuration(
                p2().metadata_configuration(
                    CreateFileSystemLustreMetadataConfiguration::builder()
                        .mode(MetadataConfigurationMode::UserProvisioned)
                        .build(),
                )
                .build(),
            ),
            BAD,
            "Iops is required",
        ),
        (
            "9000 IOPS",
            create_fs(&c.fsx, subnet, &sg)
                .lustre_configuration(p2().metadata_configuration(user_metadata(9000)).build()),
            BAD,
            "Invalid metadata Iops 9000",
        ),
        (
            "metadata on SCRATCH_2",
            create_fs(&c.fsx, subnet, &sg).lustre_configuration(
                lustre(LustreDeploymentType::Scratch2).metadata_configuration(user_metadata(1500)).build(),
            ),
            BAD,
            "PERSISTENT_2",
        ),
        (
            "metadata on 2.12",
            create_fs(&c.fsx, subnet, &sg)
                .file_system_type_version("2.12")
                .lustre_configuration(p2().metadata_configuration(user_metadata(1500)).build()),
            BAD,
            "requires FileSystemTypeVersion 2.15",
        ),
    ];
    let before = emu.inventory().file_systems.len();
    for (what, request, want_code, want_text) in refused {
        let err = request.send().await.expect_err(what);
        let (got_code, got_text) = refusal(err);
        assert_eq!(got_code, want_code, "{what}: {got_text}");
        assert!(got_text.contains(want_text), "{what}: {got_text:?} lacks {want_text:?}");
    }
    assert_eq!(emu.inventory().file_systems.len(), before, "a refused create makes nothing");
}
