//! FSx operations and errors through the real aws-sdk-fsx client.

mod common;

use std::time::Duration;

use aws_emulator::EmulatorConfig;
use aws_sdk_fsx::types::{
    AdministrativeActionType, AutoImportPolicyType, CompletionReport, CreateFileSystemLustreConfiguration,
    DataRepositoryAssociation, DataRepositoryLifecycle, DataRepositoryTaskLifecycle, DataRepositoryTaskType,
    DriveCacheType, EventType, FileSystemLifecycle, Filter, FilterName, LustreDeploymentType,
    S3DataRepositoryConfiguration, Status, StorageType, Tag, UpdateFileSystemLustreConfiguration,
};
use common::*;

fn fast() -> EmulatorConfig {
    EmulatorConfig::default()
}

#[tokio::test]
async fn create_describe_and_lifecycle_to_available() {
    let (emu, c, seed, sg) = paused_with_sg(fast(), "fs-sg").await;
    let created = create_fs(&c.fsx, &seed.subnet_ids[0], &sg)
        .lustre_configuration(persistent2(125))
        .tags(Tag::builder().key("Name").value("vol").build())
        .client_request_token("tok-1")
        .created()
        .await;
    let id = created.file_system_id().expect("id").to_string();
    assert!(id.starts_with("fs-") && id.len() == 20 && id[3..].chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    assert_eq!(created.lifecycle(), Some(&FileSystemLifecycle::Creating));
    assert_eq!(created.dns_name(), Some(format!("{id}.fsx.us-east-1.amazonaws.com").as_str()));
    assert_eq!(created.resource_arn(), Some(format!("arn:aws:fsx:us-east-1:123456789012:file-system/{id}").as_str()));
    assert_eq!(created.owner_id(), Some("123456789012"));
    assert_eq!(created.vpc_id(), Some(seed.vpc_id.as_str()));
    assert_eq!(created.subnet_ids(), &[seed.subnet_ids[0].clone()]);
    assert_eq!(created.storage_capacity(), Some(1200));
    assert_eq!(created.storage_type(), Some(&StorageType::Ssd));
    assert_eq!(created.file_system_type_version(), Some("2.15"));
    assert!(created.creation_time().is_some());
    assert_eq!(created.network_interface_ids().len(), 2);
    let lustre = created.lustre_configuration().expect("lustre");
    let mount = lustre.mount_name().expect("mount name");
    assert!(mount.len() == 8 && mount.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()), "{mount}");
    assert_eq!(lustre.deployment_type(), Some(&LustreDeploymentType::Persistent2));
    assert_eq!(lustre.per_unit_storage_throughput(), Some(125));
    assert_eq!(created.tags()[0].key(), Some("Name"));

    // ENIs carry the security group; the group cannot be deleted while they exist.
    let eni_ids = Some(created.network_interface_ids().to_vec());
    let enis = c.ec2.describe_network_interfaces().set_network_interface_ids(eni_ids).send().await.expect("enis");
    for eni in enis.network_interfaces() {
        assert_eq!(eni.groups()[0].group_id(), Some(sg.as_str()));
        assert_eq!(eni.subnet_id(), Some(seed.subnet_ids[0].as_str()));
    }

    emu.advance_clock(Duration::from_secs(3));
    let described = c.fsx.describe_file_systems().file_system_ids(&id).send().await.expect("describe");
    assert_eq!(described.file_systems()[0].lifecycle(), Some(&FileSystemLifecycle::Available));
    let inv = emu.inventory();
    let fs = inv.file_system(&id).expect("in inventory");
    assert_eq!(fs.lifecycle, "AVAILABLE");
    assert_eq!(fs.security_group_ids, vec![sg.clone()]);
    assert_eq!(fs.tags.get("Name").map(String::as_str), Some("vol"));
    assert_eq!(fs.deployment_type, "PERSISTENT_2");
    assert_eq!(emu.calls().count("fsx", "CreateFileSystem"), 1);
    assert_eq!(emu.calls().count_outcome("fsx", "DescribeFileSystems", "ok"), 1);
}

#[tokio::test]
async fn scratch_1_mount_name_is_fsx() {
    let (_emu, c, seed, sg) = paused_with_sg(fast(), "s1").await;
    let fs = create_fs(&c.fsx, &seed.subnet_ids[1], &sg).lustre_configuration(scratch1()).created().await;
    assert_eq!(fs.lustre_configuration().and_then(|l| l.mount_name()), Some("fsx"));
}

#[tokio::test]
async fn client_request_token_is_idempotent_within_the_window() {
    let cfg = EmulatorConfig { token_window: Duration::from_secs(300), ..fast() };
    let (emu, c, seed, sg) = paused_with_sg(cfg, "tok").await;
    let with_token = |token: &str| create_fs(&c.fsx, &seed.subnet_ids[0], &sg).client_request_token(token);
    let first = with_token("abc").send().await.expect("first");
    let again = with_token("abc").send().await.expect("again");
    let id = first.file_system().and_then(|f| f.file_system_id()).expect("id");
    assert_eq!(again.file_system().and_then(|f| f.file_system_id()), Some(id));
    let err = with_token("abc").storage_capacity(2400).send().await.expect_err("other params");
    assert_eq!(code(err), "IncompatibleParameterError");
    assert_eq!(emu.inventory().file_systems.len(), 1);
    emu.advance_clock(Duration::from_secs(301));
    let later = with_token("abc").send().await.expect("after window");
    assert_ne!(later.file_system().and_then(|f| f.file_system_id()), Some(id));
    assert_eq!(emu.inventory().file_systems.len(), 2);
    let bad = with_token("has space").send().await.expect_err("bad token");
    assert_eq!(code(bad), "BadRequest");
}

#[tokio::test]
async fn create_validation_errors() {
    let (emu, c, seed, sg) = paused_with_sg(fast(), "val").await;
    let subnet = seed.subnet_ids[0].clone();
    let lc = CreateFileSystemLustreConfiguration::builder;
    let s2 = || lc().deployment_type(LustreDeploymentType::Scratch2);
    let p1 = |throughput: i32| {
        lc().deployment_type(LustreDeploymentType::Persistent1).per_unit_storage_throughput(throughput)
    };
    let p2 = || lc().deployment_type(LustreDeploymentType::Persistent2);
    let fs = || create_fs(&c.fsx, &subnet, &sg);
    let with = |lustre: CreateFileSystemLustreConfiguration| fs().lustre_configuration(lustre);
    let hdd = |gib: i32| fs().storage_type(StorageType::Hdd).storage_capacity(gib);
    let cases: Vec<(&str, aws_sdk_fsx::operation::create_file_system::builders::CreateFileSystemFluentBuilder, &str)> = vec![
        ("scratch2 1000 GiB", fs().storage_capacity(1000), "BadRequest"),
        ("scratch2 3600 GiB", fs().storage_capacity(3600), "BadRequest"),
        ("scratch1 4800 GiB", fs().storage_capacity(4800).lustre_configuration(scratch1()), "BadRequest"),
        ("persistent1 throughput 125", with(p1(125).build()), "InvalidPerUnitStorageThroughput"),
        ("persistent2 without throughput", with(p2().build()), "BadRequest"),
        ("scratch2 with throughput", with(s2().per_unit_storage_throughput(50).build()), "BadRequest"),
        (
            "HDD on persistent2",
            fs().storage_type(StorageType::Hdd).lustre_configuration(persistent2(125)),
            "BadRequest",
        ),
        (
            "HDD 12 with 1800 GiB",
            hdd(1800).lustre_configuration(p1(12).drive_cache_type(DriveCacheType::None).build()),
            "BadRequest",
        ),
        ("HDD without drive cache", hdd(6000).lustre_configuration(p1(12).build()), "BadRequest"),
        ("persistent2 on 2.10", with(persistent2(125)).file_system_type_version("2.10"), "BadRequest"),
        ("version 9.9", fs().file_system_type_version("9.9"), "BadRequest"),
        ("kms on scratch", fs().kms_key_id("arn:aws:kms:us-east-1:123456789012:key/x"), "BadRequest"),
        ("import path not s3", with(scratch2_importing("http://bucket/x")), "InvalidImportPath"),
        (
            "export path other bucket",
            with(s2().import_path("s3://bucket-a/in").export_path("s3://bucket-b/out").build()),
            "InvalidExportPath",
        ),
        (
            "import path on persistent2",
            with(p2().per_unit_storage_throughput(125).import_path("s3://bucket-a/in").build()),
            "BadRequest",
        ),
        (
            "chunk size too large",
            with(s2().import_path("s3://bucket-a/in").imported_file_chunk_size(600_000).build()),
            "BadRequest",
        ),
        ("bad maintenance window", with(s2().weekly_maintenance_start_time("9:99:99").build()), "BadRequest"),
        ("unknown subnet", create_fs(&c.fsx, "subnet-0123456789abcdef0", &sg), "InvalidNetworkSettings"),
        ("unknown security group", create_fs(&c.fsx, &subnet, "sg-0123456789abcdef0"), "InvalidNetworkSettings"),
        ("two subnets", fs().subnet_ids(&seed.subnet_ids[1]), "InvalidNetworkSettings"),
    ];
    for (name, request, expected) in cases {
        let err = request.send().await.expect_err(name);
        assert_eq!(code(err), expected, "{name}");
    }
    assert!(emu.inventory().file_systems.is_empty(), "no failed create may leave a file system");
    assert!(emu.inventory().network_interfaces.is_empty(), "no failed create may leave an ENI");
    // Valid variants succeed.
    fs().storage_capacity(4800).send().await.expect("scratch2 4800");
    hdd(6000).lustre_configuration(p1(12).drive_cache_type(DriveCacheType::Read).build()).send().await.expect("hdd 12");
    let legacy_link = s2()
        .import_path("s3://bucket-a/in")
        .export_path("s3://bucket-a/out")
        .auto_import_policy(AutoImportPolicyType::NewChanged)
        .build();
    let linked = with(legacy_link).created().await;
    let drc = linked.lustre_configuration().and_then(|l| l.data_repository_configuration()).expect("drc");
    assert_eq!(drc.import_path(), Some("s3://bucket-a/in"));
    assert_eq!(drc.auto_import_policy(), Some(&AutoImportPolicyType::NewChanged));
}

#[tokio::test]
async fn network_check_requires_lnet_rules() {
    let (emu, c) = start_paused(fast()).await;
    let seed = emu.seed();
    let subnet = seed.subnet_ids[0].clone(); // 10.0.1.0/24
    let new_sg = |name: &'static str| create_sg(&c.ec2, &seed.vpc_id, name, "d");
    let empty = new_sg("empty").await;
    let err = create_fs(&c.fsx, &subnet, &empty).send().await.expect_err("no rules");
    let msg = message(err);
    assert!(msg.contains("do not permit Lustre LNET network traffic on port 988"), "{msg}");

    let only_988 = new_sg("only-988").await;
    authorize(&c.ec2, &only_988, &[from_group(988, 988, &only_988)]).send().await.expect("auth");
    assert_eq!(
        code(create_fs(&c.fsx, &subnet, &only_988).send().await.expect_err("no 1018")),
        "InvalidNetworkSettings"
    );

    let wrong_cidr = new_sg("wrong-cidr").await;
    authorize(&c.ec2, &wrong_cidr, &[from_cidr(988, 1023, "10.0.2.0/24")]).send().await.expect("auth");
    assert_eq!(code(create_fs(&c.fsx, &subnet, &wrong_cidr).send().await.expect_err("cidr")), "InvalidNetworkSettings");

    let vpc_cidr = new_sg("vpc-cidr").await;
    let vpc_rules = [from_cidr(988, 988, "10.0.0.0/16"), from_cidr(1018, 1023, "10.0.0.0/16")];
    authorize(&c.ec2, &vpc_cidr, &vpc_rules).send().await.expect("auth");
    create_fs(&c.fsx, &subnet, &vpc_cidr).send().await.expect("cidr containing the subnet is enough");

    // Two groups: one referencing the other counts.
    let a = new_sg("pair-a").await;
    let b = new_sg("pair-b").await;
    authorize(&c.ec2, &a, &lnet_from(&b)).send().await.expect("auth");
    create_fs(&c.fsx, &subnet, &a).security_group_ids(&b).send().await.expect("rule referencing one of the groups");
    // Omitted security groups = the VPC's default group, which admits itself.
    create_fs(&c.fsx, &subnet, &a).set_security_group_ids(None).send().await.expect("default group");
}

#[tokio::test]
async fn network_check_delay_hides_new_rules() {
    let cfg = EmulatorConfig { network_check_delay: Duration::from_secs(10), ..fast() };
    let (emu, c, seed, sg) = paused_with_sg(cfg, "delayed").await;
    let err = create_fs(&c.fsx, &seed.subnet_ids[0], &sg).send().await.expect_err("rules too new");
    assert_eq!(code(err), "InvalidNetworkSettings");
    emu.advance_clock(Duration::from_secs(11));
    create_fs(&c.fsx, &seed.subnet_ids[0], &sg).send().await.expect("rules visible now");
}

#[tokio::test]
async fn quotas_give_service_limit_exceeded() {
    let cfg = EmulatorConfig { file_system_quota: 2, storage_quota_gib: 3600, ..fast() };
    let (emu, c, seed, sg) = paused_with_sg(cfg, "quota").await;
    let err = create_fs(&c.fsx, &seed.subnet_ids[0], &sg).storage_capacity(4800).send().await.expect_err("storage");
    assert_eq!(code(err), "ServiceLimitExceeded");
    create_fs(&c.fsx, &seed.subnet_ids[0], &sg).send().await.expect("1");
    create_fs(&c.fsx, &seed.subnet_ids[0], &sg).send().await.expect("2");
    let err = create_fs(&c.fsx, &seed.subnet_ids[0], &sg).send().await.expect_err("count");
    assert_eq!(code(err), "ServiceLimitExceeded");
    assert_eq!(emu.calls().count_outcome("fsx", "CreateFileSystem", "ServiceLimitExceeded"), 2);
}

#[tokio::test]
async fn describe_pages_and_errors() {
    let (_emu, c, seed, sg) = paused_with_sg(fast(), "page").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(create_fs(&c.fsx, &seed.subnet_ids[0], &sg).created_id().await);
    }
    let first = c.fsx.describe_file_systems().max_results(2).send().await.expect("page 1");
    assert_eq!(first.file_systems().len(), 2);
    let token = first.next_token().expect("next token").to_string();
    let second = c.fsx.describe_file_systems().max_results(2).next_token(token).send().await.expect("page 2");
    assert_eq!((second.file_systems().len(), second.next_token()), (1, None), "the last page");
    let mut seen: Vec<String> = first
        .file_systems()
        .iter()
        .chain(second.file_systems())
        .filter_map(|f| f.file_system_id().map(str::to_string))
        .collect();
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);

    let err = c.fsx.describe_file_systems().file_system_ids("fs-0123456789abcdef0").send().await.expect_err("unknown");
    assert_eq!(code(err), "FileSystemNotFound");
    let many: Vec<String> = (0..51).map(|i| format!("fs-{i:017x}")).collect();
    let err = c.fsx.describe_file_systems().set_file_system_ids(Some(many)).send().await.expect_err("51 ids");
    assert_eq!(code(err), "BadRequest");
    let err = c.fsx.describe_file_systems().next_token("garbage").send().await.expect_err("bad token");
    assert_eq!(code(err), "BadRequest");
}

#[tokio::test]
async fn update_storage_and_throughput() {
    let (emu, c, seed, sg) = paused_with_sg(fast(), "upd").await;
    let id = create_fs(&c.fsx, &seed.subnet_ids[0], &sg).lustre_configuration(persistent2(125)).created_id().await;
    let update = |id: &str| c.fsx.update_file_system().file_system_id(id);
    let err = update(&id).storage_capacity(2400).send().await.expect_err("while creating");
    assert_eq!(code(err), "BadRequest");
    emu.advance_clock(Duration::from_secs(3));

    let updated = update(&id).storage_capacity(2400).send().await.expect("grow");
    let f = updated.file_system.expect("fs");
    assert_eq!(f.lifecycle(), Some(&FileSystemLifecycle::Updating));
    let action = &f.administrative_actions()[0];
    assert_eq!(action.administrative_action_type(), Some(&AdministrativeActionType::FileSystemUpdate));
    assert_eq!(action.status(), Some(&Status::InProgress));
    assert_eq!(action.target_file_system_values().and_then(|t| t.storage_capacity()), Some(2400));

    let err = update(&id).storage_capacity(4800).send().await.expect_err("second");
    assert!(message(err).contains("update already in progress"));

    // UPDATING for update_duration (2 s), then the new capacity is usable while the
    // STORAGE_OPTIMIZATION (2 s) runs; its ProgressPercent moves with the clock (the details are
    // in file_system_updates.rs).
    emu.advance_clock(Duration::from_secs(3));
    let mid = c.fsx.describe_file_systems().file_system_ids(&id).send().await.expect("describe");
    let f = &mid.file_systems()[0];
    assert_eq!((f.lifecycle(), f.storage_capacity()), (Some(&FileSystemLifecycle::Available), Some(2400)));
    let optimization = &f.administrative_actions()[1];
    assert_eq!(optimization.administrative_action_type(), Some(&AdministrativeActionType::StorageOptimization));
    let pct = optimization.progress_percent().expect("progress");
    assert!((40..=60).contains(&pct), "{pct}");
    emu.advance_clock(Duration::from_secs(1));
    let done = c.fsx.describe_file_systems().file_system_ids(&id).send().await.expect("describe");
    let f = &done.file_systems()[0];
    assert_eq!(f.lifecycle(), Some(&FileSystemLifecycle::Available));
    assert_eq!(f.storage_capacity(), Some(2400));
    assert_eq!(f.administrative_actions()[0].status(), Some(&Status::Completed));

    for (gib, why) in [(4800, "cooldown"), (1200, "shrink")] {
        let err = update(&id).storage_capacity(gib).send().await.expect_err(why);
        assert_eq!(code(err), "BadRequest", "{why}");
    }
    emu.advance_clock(Duration::from_secs(6 * 3600 + 1));
    let err = update(&id).storage_capacity(3000).send().await.expect_err("bad step");
    assert_eq!(code(err), "BadRequest");
    update(&id).storage_capacity(4800).send().await.expect("grow again");
    emu.advance_clock(Duration::from_secs(5));

    let lustre = |id: &str, lc: UpdateFileSystemLustreConfiguration| update(id).lustre_configuration(lc);
    let lc = UpdateFileSystemLustreConfiguration::builder;
    lustre(&id, lc().per_unit_storage_throughput(250).build()).send().await.expect("throughput");
    emu.advance_clock(Duration::from_secs(5));
    let f = c.fsx.describe_file_systems().file_system_ids(&id).send().await.expect("describe");
    assert_eq!(f.file_systems()[0].lustre_configuration().and_then(|l| l.per_unit_storage_throughput()), Some(250));
    let err = lustre(&id, lc().per_unit_storage_throughput(300).build()).send().await.expect_err("bad value");
    assert_eq!(code(err), "InvalidPerUnitStorageThroughput");
    let window = lc().weekly_maintenance_start_time("2:04:30").build();
    let f = lustre(&id, window).send().await.expect("maintenance window");
    assert_eq!(
        f.file_system().and_then(|f| f.lustre_configuration()).and_then(|l| l.weekly_maintenance_start_time()),
        Some("2:04:30")
    );
    let err = update("fs-0123456789abcdef0").storage_capacity(2400).send().await.expect_err("unknown");
    assert_eq!(code(err), "FileSystemNotFound");

    // SCRATCH_1 cannot grow; persistent HDD cannot change throughput.
    let s1 = create_fs(&c.fsx, &seed.subnet_ids[0], &sg).lustre_configuration(scratch1()).created_id().await;
    emu.advance_clock(Duration::from_secs(3));
    let err = update(&s1).storage_capacity(3600).send().await.expect_err("scratch1 grow");
    assert_eq!(code(err), "BadRequest");
}

#[tokio::test]
async fn delete_lifecycle_and_security_group_dependency() {
    let (emu, c, seed, sg) = paused_with_sg(fast(), "del").await;
    let id = create_fs(&c.fsx, &seed.subnet_ids[0], &sg).created_id().await;
    let err = c.fsx.delete_file_system().file_system_id(&id).send().await.expect_err("while creating");
    assert_eq!(code(err), "BadRequest");
    emu.advance_clock(Duration::from_secs(3));
    for why in ["delete", "delete again while deleting"] {
        let deleted = c.fsx.delete_file_system().file_system_id(&id).send().await.expect(why);
        assert_eq!(deleted.lifecycle(), Some(&FileSystemLifecycle::Deleting), "{why}");
    }
    let d = c.fsx.describe_file_systems().file_system_ids(&id).send().await.expect("still there");
    assert_eq!(d.file_systems()[0].lifecycle(), Some(&FileSystemLifecycle::Deleting));

    let err = c.ec2.delete_security_group().group_id(&sg).send().await.expect_err("in use");
    assert_eq!(code(err), "DependencyViolation");
    emu.advance_clock(Duration::from_secs(2));
    let err = c.fsx.describe_file_systems().file_system_ids(&id).send().await.expect_err("gone");
    assert_eq!(code(err), "FileSystemNotFound");
    assert!(emu.inventory().network_interfaces.is_empty());
    c.ec2.delete_security_group().group_id(&sg).send().await.expect("deletable now");
    let err = c.fsx.delete_file_system().file_system_id(&id).send().await.expect_err("gone");
    assert_eq!(code(err), "FileSystemNotFound");
}

#[tokio::test]
async fn scratch_deletes_take_no_delete_configuration() {
    let (emu, c, seed, sg) = paused_with_sg(fast(), "scratch-del").await;
    let id = create_fs(&c.fsx, &seed.subnet_ids[0], &sg).created_id().await;
    emu.advance_clock(Duration::from_secs(3));
    let with_config =
        aws_sdk_fsx::types::DeleteFileSystemLustreConfiguration::builder().skip_final_backup(true).build();
    let delete = c.fsx.delete_file_system().file_system_id(&id);
    let err =
        delete.clone().lustre_configuration(with_config).send().await.expect_err("scratch with a delete configuration");
    assert_eq!(code(err), "BadRequest");
    delete.send().await.expect("scratch without one");
}

#[tokio::test]
async fn delete_while_creating_can_be_allowed() {
    let cfg = EmulatorConfig { allow_delete_while_creating: true, ..fast() };
    let (_emu, c, seed, sg) = paused_with_sg(cfg, "early").await;
    let id = create_fs(&c.fsx, &seed.subnet_ids[0], &sg).created_id().await;
    c.fsx.delete_file_system().file_system_id(&id).send().await.expect("delete while creating");
}

#[tokio::test]
async fn tags_on_file_systems() {
    let (emu, c, seed, sg) = paused_with_sg(fast(), "tags").await;
    let fs = create_fs(&c.fsx, &seed.subnet_ids[0], &sg).created().await;
    let arn = fs.resource_arn().expect("arn").to_string();
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    let tags = vec![tag("owner", "me"), tag("env", "test")];
    c.fsx.tag_resource().resource_arn(&arn).set_tags(Some(tags)).send().await.expect("tag");
    let listed = c.fsx.list_tags_for_resource().resource_arn(&arn).send().await.expect("list");
    assert_eq!(listed.tags().len(), 2);
    c.fsx.untag_resource().resource_arn(&arn).tag_keys("env").send().await.expect("untag");
    let listed = c.fsx.list_tags_for_resource().resource_arn(&arn).send().await.expect("list");
    assert_eq!(listed.tags().len(), 1);
    assert_eq!(emu.inventory().file_systems[0].tags.get("owner").map(String::as_str), Some("me"));
    let unknown = "arn:aws:fsx:us-east-1:123456789012:file-system/fs-0123456789abcdef0";
    let err = c.fsx.list_tags_for_resource().resource_arn(unknown).send().await.expect_err("unknown");
    assert_eq!(code(err), "ResourceNotFound");
    let err = c.fsx.tag_resource().resource_arn("not-an-arn").tags(tag("a", "b")).send().await.expect_err("bad arn");
    assert_eq!(code(err), "BadRequest");
}

#[tokio::test]
async fn data_repository_associations() {
    let (emu, c, seed, sg) = paused_with_sg(fast(), "dra").await;
    let fs_id = create_fs(&c.fsx, &seed.subnet_ids[0], &sg).lustre_configuration(persistent2(125)).created_id().await;
    let s3 = S3DataRepositoryConfiguration::builder()
        .auto_import_policy(
            aws_sdk_fsx::types::AutoImportPolicy::builder().events(EventType::New).events(EventType::Changed).build(),
        )
        .build();
    // Can be requested while the file system is CREATING.
    let created = dra(&c.fsx, &fs_id, "/ns1", "s3://bucket/p1/").s3(s3).send().await.expect("create dra");
    let created = created.association.expect("association");
    let dra_id = created.association_id().expect("id").to_string();
    assert!(dra_id.starts_with("dra-"));
    assert_eq!(created.lifecycle(), Some(&DataRepositoryLifecycle::Creating));
    for (path, repo, why, expected) in [
        ("/ns1/sub", "s3://bucket/p2/", "overlap", "BadRequest"),
        ("/", "s3://bucket/p3/", "root", "BadRequest"),
        ("/ns2", "bucket/p3", "s3 path", "BadRequest"),
    ] {
        let err = dra(&c.fsx, &fs_id, path, repo).send().await.expect_err(why);
        assert_eq!(code(err), expected, "{why}");
    }
    emu.advance_clock(Duration::from_secs(5));
    let by_fs = Filter::builder().name(FilterName::FileSystemId).values(&fs_id).build();
    let listed = c.fsx.describe_data_repository_associations().filters(by_fs).send().await.expect("describe");
    let found: &DataRepositoryAssociation = &listed.associations()[0];
    assert_eq!(found.lifecycle(), Some(&DataRepositoryLifecycle::Available));
    let err = c.fsx.describe_data_repository_associations().max_results(30).send().await.expect_err("max 25");
    assert_eq!(code(err), "BadRequest");
    let update = c.fsx.update_data_repository_association().association_id(&dra_id);
    update.imported_file_chunk_size(2048).send().await.expect("update");
    emu.advance_clock(Duration::from_secs(3));
    let delete = c.fsx.delete_data_repository_association().association_id(&dra_id);
    let deleted = delete.delete_data_in_file_system(false).send().await.expect("delete");
    assert_eq!(deleted.lifecycle(), Some(&DataRepositoryLifecycle::Deleting));
    emu.advance_clock(Duration::from_secs(2));
    let err = c.fsx.describe_data_repository_associations().association_ids(&dra_id).send().await.expect_err("gone");
    assert_eq!(code(err), "DataRepositoryAssociationNotFound");
    let err = c.fsx.delete_data_repository_association().association_id(&dra_id).send().await.expect_err("gone");
    assert_eq!(code(err), "DataRepositoryAssociationNotFound");

    // SCRATCH_1 has no DRAs.
    let s1 = create_fs(&c.fsx, &seed.subnet_ids[0], &sg).lustre_configuration(scratch1()).created_id().await;
    for (fs, why, expected) in
        [(s1.as_str(), "scratch1", "BadRequest"), ("fs-0123456789abcdef0", "no fs", "FileSystemNotFound")]
    {
        let err = dra(&c.fsx, fs, "/a", "s3://bucket/a/").send().await.expect_err(why);
        assert_eq!(code(err), expected, "{why}");
    }
}

#[tokio::test]
async fn data_repository_tasks() {
    let (emu, c, seed, sg) = paused_with_sg(fast(), "task").await;
    let fs_id = create_fs(&c.fsx, &seed.subnet_ids[0], &sg)
        .lustre_configuration(scratch2_importing("s3://bucket/in"))
        .created_id()
        .await;
    let export = || task_request(&c.fsx, &fs_id, DataRepositoryTaskType::Export);
    let err = export().send().await.expect_err("creating");
    assert_eq!(code(err), "BadRequest");
    emu.advance_clock(Duration::from_secs(3));
    let task = export().paths("dir1").send().await.expect("task").data_repository_task.expect("task");
    let task_id = task.task_id().expect("id").to_string();
    assert!(task_id.starts_with("task-"));
    let err = export().send().await.expect_err("one at a time");
    assert_eq!(code(err), "DataRepositoryTaskExecuting");
    let err = c.fsx.delete_file_system().file_system_id(&fs_id).send().await.expect_err("task running");
    assert_eq!(code(err), "BadRequest");
    let cancel = c.fsx.cancel_data_repository_task().task_id(&task_id).send().await.expect("cancel");
    assert_eq!(cancel.lifecycle(), Some(&DataRepositoryTaskLifecycle::Canceling));
    let d = c.fsx.describe_data_repository_tasks().task_ids(&task_id).send().await.expect("describe");
    assert_eq!(d.data_repository_tasks()[0].lifecycle(), Some(&DataRepositoryTaskLifecycle::Canceled));
    let err = c.fsx.cancel_data_repository_task().task_id(&task_id).send().await.expect_err("ended");
    assert_eq!(code(err), "DataRepositoryTaskEnded");
    let err =
        c.fsx.describe_data_repository_tasks().task_ids("task-0123456789abcdef0").send().await.expect_err("unknown");
    assert_eq!(code(err), "DataRepositoryTaskNotFound");
    let second = task_request(&c.fsx, &fs_id, DataRepositoryTaskType::Import).send().await.expect("second");
    let second_id = second.data_repository_task().and_then(|t| t.task_id()).expect("id").to_string();
    emu.advance_clock(Duration::from_secs(1));
    c.fsx.describe_data_repository_tasks().send().await.expect("tick to executing");
    emu.advance_clock(Duration::from_secs(3));
    let d = c.fsx.describe_data_repository_tasks().task_ids(&second_id).send().await.expect("describe");
    assert_eq!(d.data_repository_tasks()[0].lifecycle(), Some(&DataRepositoryTaskLifecycle::Succeeded));
    let without_path = CompletionReport::builder().enabled(true).build();
    let err = export().report(without_path).send().await.expect_err("report path required");
    assert_eq!(code(err), "BadRequest");
    assert_eq!(emu.inventory().data_repository_tasks.len(), 2);
}

#[tokio::test]
async fn forced_lifecycles_and_out_of_band_delete() {
    let (emu, c, seed, sg) = paused_with_sg(fast(), "force").await;
    let id = create_fs(&c.fsx, &seed.subnet_ids[0], &sg).created_id().await;
    emu.force_lifecycle(&id, "FAILED", Some("boom")).expect("force");
    let d = c.fsx.describe_file_systems().file_system_ids(&id).send().await.expect("describe");
    let f = &d.file_systems()[0];
    assert_eq!(f.lifecycle(), Some(&FileSystemLifecycle::Failed));
    assert_eq!(f.failure_details().and_then(|d| d.message()), Some("boom"));
    emu.force_lifecycle(&id, "MISCONFIGURED", None).expect("force");
    let d = c.fsx.describe_file_systems().file_system_ids(&id).send().await.expect("describe");
    assert_eq!(d.file_systems()[0].lifecycle(), Some(&FileSystemLifecycle::Misconfigured));
    assert!(emu.force_lifecycle(&id, "WEIRD", None).is_err());
    assert!(emu.force_lifecycle("fs-0123456789abcdef0", "FAILED", None).is_err());
    emu.delete_file_system_out_of_band(&id).expect("oob delete");
    let err = c.fsx.describe_file_systems().file_system_ids(&id).send().await.expect_err("gone");
    assert_eq!(code(err), "FileSystemNotFound");
    c.ec2.delete_security_group().group_id(&sg).send().await.expect("group free");
}
