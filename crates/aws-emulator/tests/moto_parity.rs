//! The same security-group and file-system scenarios against this emulator and against moto's
//! server (when `moto_server` is installed), so both stay honest about the AWS behaviour they share.
//! Where moto differs, the difference is listed in the crate README.
//!
//! Data repository associations and tasks cannot be cross-checked: moto 5.2.1's FSx backend
//! (`moto/fsx/responses.py`) implements only CreateFileSystem, DescribeFileSystems,
//! DeleteFileSystem, CreateBackup, DeleteBackup, DescribeBackups, TagResource, UntagResource and
//! ListTagsForResource. Create/Describe/Update/DeleteDataRepositoryAssociation(s) and
//! Create/Describe/CancelDataRepositoryTask(s) all answer HTTP 500 there. `data_repository_scenario`
//! pins that gap (it fails once moto implements one of them: the cue to add a real parity scenario)
//! and checks that ours serves the same calls; their behaviour is tested in `data_workflows.rs`.
//!
//! UpdateFileSystem is not implemented by moto 5.2.1 either (HTTP 500), and its CreateFileSystem
//! stores LustreConfiguration as sent without any rule. `day_two_scenario` checks what both share
//! (valid INTELLIGENT_TIERING and EFA creates are accepted and echoed) and pins the rest: an
//! INTELLIGENT_TIERING create with a StorageCapacity (refused by FSx: its storage is elastic) and
//! UpdateFileSystem; their FSx rules are tested in `file_system_updates.rs`.

mod common;

use aws_emulator::{Emulator, EmulatorConfig};
use aws_sdk_ec2::types::Filter;
use aws_sdk_fsx::types::{
    CreateFileSystemLustreConfiguration, CreateFileSystemLustreMetadataConfiguration, DataRepositoryTaskType,
    FileSystemType, LustreDeploymentType, LustreReadCacheConfiguration, LustreReadCacheSizingMode,
    MetadataConfigurationMode, StorageType, UpdateFileSystemLustreConfiguration,
};
use common::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ours,
    Moto,
}

/// One endpoint under test with a VPC and a subnet to use.
struct Target {
    kind: Kind,
    c: Clients,
    vpc_id: String,
    subnet_id: String,
}

async fn ours() -> (Emulator, Target) {
    let (emu, c) = start(EmulatorConfig::default()).await;
    let seed = emu.seed();
    let t = Target { kind: Kind::Ours, c, vpc_id: seed.vpc_id, subnet_id: seed.subnet_ids[0].clone() };
    (emu, t)
}

async fn moto() -> Option<(ChildGuard, Target)> {
    let (guard, endpoint) = match start_moto() {
        Ok(v) => v,
        Err(why) => {
            println!("SKIPPED moto parity run: {why}");
            return None;
        }
    };
    let c = clients(&endpoint).await;
    let vpc = c.ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.expect("moto vpc");
    let vpc_id = vpc.vpc.and_then(|v| v.vpc_id).expect("vpc id");
    let subnet = c.ec2.create_subnet().vpc_id(&vpc_id).cidr_block("10.0.1.0/24").availability_zone("us-east-1a");
    let subnet_id = subnet.send().await.expect("moto subnet").subnet.and_then(|s| s.subnet_id).expect("subnet id");
    Some((guard, Target { kind: Kind::Moto, c, vpc_id, subnet_id }))
}

async fn security_group_scenario(t: &Target) {
    let ec2 = &t.c.ec2;
    let sg = create_sg(ec2, &t.vpc_id, "parity", "parity test").await;
    assert!(sg.starts_with("sg-"), "{sg}");
    let err = sg_request(ec2, &t.vpc_id, "parity", "again").send().await.expect_err("dup");
    assert_eq!(code(err), "InvalidGroup.Duplicate", "{:?}", t.kind);

    let by_name = Filter::builder().name("group-name").values("parity").build();
    let by_vpc = Filter::builder().name("vpc-id").values(&t.vpc_id).build();
    let found = ec2.describe_security_groups().filters(by_name).filters(by_vpc).send().await.expect("describe");
    assert_eq!(found.security_groups().len(), 1);
    let g = &found.security_groups()[0];
    assert_eq!(g.group_id(), Some(sg.as_str()));
    assert_eq!(g.ip_permissions_egress().len(), 1, "default egress rule ({:?})", t.kind);

    let from_vpc = [from_cidr(1018, 1023, "10.0.0.0/16")];
    authorize(ec2, &sg, &[from_group(988, 988, &sg), from_vpc[0].clone()]).send().await.expect("authorize");
    let err = authorize(ec2, &sg, &[from_group(988, 988, &sg)]).send().await.expect_err("duplicate rule");
    assert_eq!(code(err), "InvalidPermission.Duplicate", "{:?}", t.kind);
    let d = ec2.describe_security_groups().group_ids(&sg).send().await.expect("by id");
    let perms = d.security_groups()[0].ip_permissions();
    assert_eq!(perms.len(), 2, "{:?}: {perms:?}", t.kind);

    revoke(ec2, &sg, &from_vpc).send().await.expect("revoke");
    let err = revoke(ec2, &sg, &from_vpc).send().await.expect_err("revoke again");
    assert_eq!(code(err), "InvalidPermission.NotFound", "{:?}", t.kind);

    ec2.delete_security_group().group_id(&sg).send().await.expect("delete");
    let err = ec2.describe_security_groups().group_ids(&sg).send().await.expect_err("gone");
    assert_eq!(code(err), "InvalidGroup.NotFound", "{:?}", t.kind);
    let err = ec2.delete_security_group().group_id(&sg).send().await.expect_err("gone");
    assert_eq!(code(err), "InvalidGroup.NotFound", "{:?}", t.kind);
}

async fn file_system_scenario(t: &Target) {
    let sg = lustre_sg(&t.c.ec2, &t.vpc_id, "parity-fs").await;
    let created = create_fs(&t.c.fsx, &t.subnet_id, &sg).created().await;
    let id = created.file_system_id().expect("id").to_string();
    assert!(id.starts_with("fs-"), "{id}");
    assert_eq!(created.storage_capacity(), Some(1200));
    assert_eq!(created.file_system_type(), Some(&FileSystemType::Lustre));
    assert!(created.dns_name().is_some());

    let d = t.c.fsx.describe_file_systems().file_system_ids(&id).send().await.expect("describe");
    assert_eq!(d.file_systems().len(), 1);
    assert_eq!(d.file_systems()[0].file_system_id(), Some(id.as_str()));
    let all = t.c.fsx.describe_file_systems().send().await.expect("describe all");
    assert!(all.file_systems().iter().any(|f| f.file_system_id() == Some(id.as_str())));

    if t.kind == Kind::Ours {
        // Ours models the lifecycle: deleting while CREATING is refused by default.
        let err = t.c.fsx.delete_file_system().file_system_id(&id).send().await.expect_err("creating");
        assert_eq!(code(err), "BadRequest");
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    }
    t.c.fsx.delete_file_system().file_system_id(&id).send().await.expect("delete");
    if t.kind == Kind::Ours {
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    match t.c.fsx.describe_file_systems().file_system_ids(&id).send().await {
        Err(err) => assert_eq!(code(err), "FileSystemNotFound", "{:?}", t.kind),
        // moto removes the file system at once but answers an unknown ID with an empty list.
        Ok(d) => assert!(t.kind == Kind::Moto && d.file_systems().is_empty(), "{:?}: {d:?}", t.kind),
    }
}

/// The HTTP status of a call: 200, or its error's.
fn status<T, E>(r: &Result<T, aws_sdk_fsx::error::SdkError<E>>) -> u16 {
    match r {
        Ok(_) => 200,
        Err(e) => e.raw_response().map_or(0, |raw| raw.status().as_u16()),
    }
}

async fn data_repository_scenario(t: &Target) {
    let sg = lustre_sg(&t.c.ec2, &t.vpc_id, "parity-dra").await;
    let fs = create_fs(&t.c.fsx, &t.subnet_id, &sg).created_id().await;
    let fsx = &t.c.fsx;
    const UNKNOWN_DRA: &str = "dra-0123456789abcdef0";
    let update_unknown = fsx.update_data_repository_association().association_id(UNKNOWN_DRA);
    let statuses = [
        status(&fsx.describe_data_repository_associations().send().await),
        status(&fsx.describe_data_repository_tasks().send().await),
        // Allowed while the file system is CREATING.
        status(&dra(fsx, &fs, "/a", "s3://bucket/a/").send().await),
        // Unknown association: DataRepositoryAssociationNotFound.
        status(&update_unknown.imported_file_chunk_size(2048).send().await),
        status(&fsx.delete_data_repository_association().association_id(UNKNOWN_DRA).send().await),
        // The file system is not AVAILABLE yet: BadRequest.
        status(&task_request(fsx, &fs, DataRepositoryTaskType::Export).send().await),
        // Unknown task: DataRepositoryTaskNotFound.
        status(&fsx.cancel_data_repository_task().task_id("task-0123456789abcdef0").send().await),
    ];
    match t.kind {
        Kind::Ours => assert_eq!(statuses, [200, 200, 200, 400, 400, 400, 400]),
        Kind::Moto => assert_eq!(statuses, [500; 7], "moto implements a DRA/task call now: add a parity scenario"),
    }
}

fn user_metadata(iops: i32) -> CreateFileSystemLustreMetadataConfiguration {
    CreateFileSystemLustreMetadataConfiguration::builder()
        .mode(MetadataConfigurationMode::UserProvisioned)
        .iops(iops)
        .build()
}

async fn day_two_scenario(t: &Target) {
    let ec2 = &t.c.ec2;
    let sg = lustre_sg(ec2, &t.vpc_id, "parity-efa").await;
    let all = aws_sdk_ec2::types::IpPermission::builder().ip_protocol("-1").user_id_group_pairs(self_ref(&sg)).build();
    authorize(ec2, &sg, &[all]).send().await.expect("all traffic from itself");
    let fsx = &t.c.fsx;

    // A valid INTELLIGENT_TIERING create: accepted and echoed by both.
    let cache = LustreReadCacheConfiguration::builder()
        .sizing_mode(LustreReadCacheSizingMode::ProportionalToThroughputCapacity)
        .build();
    let tiering_lc = CreateFileSystemLustreConfiguration::builder()
        .deployment_type(LustreDeploymentType::Persistent2)
        .throughput_capacity(4000)
        .data_read_cache_configuration(cache)
        .metadata_configuration(user_metadata(6000));
    let tiering = || {
        fsx.create_file_system()
            .file_system_type(FileSystemType::Lustre)
            .storage_type(StorageType::IntelligentTiering)
            .subnet_ids(&t.subnet_id)
            .security_group_ids(&sg)
            .lustre_configuration(tiering_lc.clone().build())
    };
    let it = tiering().created().await;
    let id = it.file_system_id().expect("id").to_string();
    let d = fsx.describe_file_systems().file_system_ids(&id).send().await.expect("describe");
    let f = &d.file_systems()[0];
    assert_eq!(f.storage_type(), Some(&StorageType::IntelligentTiering), "{:?}", t.kind);
    let l = f.lustre_configuration().expect("lustre");
    assert_eq!(l.throughput_capacity(), Some(4000), "{:?}", t.kind);
    let meta = l.metadata_configuration().expect("metadata");
    assert_eq!((meta.mode(), meta.iops()), (Some(&MetadataConfigurationMode::UserProvisioned), Some(6000)));

    // A valid EFA create (38400 GiB at 125 MB/s/TiB, a metadata configuration): both accept it.
    let efa_lc = CreateFileSystemLustreConfiguration::builder()
        .deployment_type(LustreDeploymentType::Persistent2)
        .per_unit_storage_throughput(125)
        .efa_enabled(true)
        .metadata_configuration(user_metadata(12000))
        .build();
    let efa = create_fs(fsx, &t.subnet_id, &sg).storage_capacity(38400).lustre_configuration(efa_lc).created().await;
    assert_eq!(efa.lustre_configuration().and_then(|l| l.efa_enabled()), Some(true), "{:?}", t.kind);

    // Pinned differences: moto validates nothing and has no UpdateFileSystem.
    let window = UpdateFileSystemLustreConfiguration::builder().weekly_maintenance_start_time("2:03:00").build();
    let statuses = [
        // FSx refuses a StorageCapacity on INTELLIGENT_TIERING (BadRequest).
        status(&tiering().storage_capacity(1200).send().await),
        // Ours: the file system is still CREATING (BadRequest); moto: not implemented.
        status(&fsx.update_file_system().file_system_id(&id).lustre_configuration(window).send().await),
    ];
    match t.kind {
        Kind::Ours => assert_eq!(statuses, [400, 400]),
        Kind::Moto => assert_eq!(statuses, [200, 500], "moto validates or updates now: cross-check the rules"),
    }
}

/// Each scenario as two tests: one against ours, one against moto (skipped when it is not installed).
macro_rules! on_ours_and_moto {
    ($scenario:ident: $on_ours:ident, $on_moto:ident) => {
        #[tokio::test]
        async fn $on_ours() {
            let (_emu, t) = ours().await;
            $scenario(&t).await;
        }

        #[tokio::test]
        async fn $on_moto() {
            let Some((_guard, t)) = moto().await else { return };
            $scenario(&t).await;
        }
    };
}

on_ours_and_moto!(security_group_scenario: security_groups_match_on_ours, security_groups_match_on_moto);
on_ours_and_moto!(file_system_scenario: file_systems_match_on_ours, file_systems_match_on_moto);
on_ours_and_moto!(
    data_repository_scenario: data_repository_calls_on_ours, data_repository_calls_are_not_implemented_on_moto
);
on_ours_and_moto!(day_two_scenario: day_two_rules_on_ours, day_two_rules_are_not_implemented_on_moto);
