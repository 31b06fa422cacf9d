//! EC2 operations and errors through the real aws-sdk-ec2 client, and raw wire-level errors.

mod common;

use aws_emulator::EmulatorConfig;
use aws_sdk_ec2::types::{Filter, IpPermission, ResourceType, Tag, TagSpecification};
use common::*;

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

#[tokio::test]
async fn seeded_vpc_and_subnets() {
    let (emu, c) = start(EmulatorConfig::default()).await;
    let seed = emu.seed();
    assert_eq!(seed.subnet_ids.len(), 3);
    assert_eq!(seed.vpc_cidr, "10.0.0.0/16");
    let vpcs = c.ec2.describe_vpcs().vpc_ids(&seed.vpc_id).send().await.expect("vpcs");
    assert_eq!(vpcs.vpcs()[0].cidr_block(), Some("10.0.0.0/16"));
    assert_eq!(vpcs.vpcs()[0].is_default(), Some(true));
    let subnets = c.ec2.describe_subnets().filters(filter("vpc-id", &seed.vpc_id)).send().await.expect("subnets");
    let mut azs: Vec<_> = subnets.subnets().iter().filter_map(|s| s.availability_zone().map(str::to_string)).collect();
    azs.sort();
    assert_eq!(azs, vec!["us-east-1a", "us-east-1b", "us-east-1c"]);
    let one = c.ec2.describe_subnets().subnet_ids(&seed.subnet_ids[0]).send().await.expect("subnet");
    assert_eq!(one.subnets()[0].cidr_block(), Some("10.0.1.0/24"));
    assert_eq!(one.subnets()[0].vpc_id(), Some(seed.vpc_id.as_str()));

    let err = c.ec2.describe_subnets().subnet_ids("subnet-0123456789abcdef0").send().await.expect_err("unknown");
    assert_eq!(code(err), "InvalidSubnetID.NotFound");
    let err = c.ec2.describe_vpcs().vpc_ids("vpc-0123456789abcdef0").send().await.expect_err("unknown");
    assert_eq!(code(err), "InvalidVpcID.NotFound");
    let err = c.ec2.describe_subnets().filters(filter("no-such-filter", "x")).send().await.expect_err("filter");
    assert_eq!(code(err), "InvalidParameterValue");

    let added = emu.add_subnet("10.0.9.0/24", "us-east-1a");
    assert_eq!(
        added,
        emu.add_subnet("10.0.10.0/24", "us-east-1b").replace("05", "04"),
        "deterministic, sequential IDs"
    );
    let s = c.ec2.describe_subnets().subnet_ids(&added).send().await.expect("added");
    assert_eq!(s.subnets()[0].cidr_block(), Some("10.0.9.0/24"));
    // Deterministic across emulators.
    let (emu2, _) = start(EmulatorConfig::default()).await;
    assert_eq!(emu2.seed(), seed);
}

#[tokio::test]
async fn security_group_crud_filters_and_errors() {
    let (emu, c) = start(EmulatorConfig::default()).await;
    let vpc = emu.seed().vpc_id;
    let owner = Tag::builder().key("owner").value("uid-1").build();
    let tagged = TagSpecification::builder().resource_type(ResourceType::SecurityGroup).tags(owner).build();
    let created =
        sg_request(&c.ec2, &vpc, "lustre-a", "for lustre").tag_specifications(tagged).send().await.expect("create");
    let sg = created.group_id().expect("id").to_string();
    assert!(sg.starts_with("sg-") && sg.len() == 20, "{sg}");
    assert_eq!(created.tags().len(), 1);

    let err = sg_request(&c.ec2, &vpc, "lustre-a", "x").send().await.expect_err("dup");
    assert_eq!(code(err), "InvalidGroup.Duplicate");
    let err = sg_request(&c.ec2, "vpc-0123456789abcdef0", "x", "x").send().await.expect_err("vpc");
    assert_eq!(code(err), "InvalidVpcID.NotFound");
    let err = c.ec2.create_security_group().group_name("no-description").vpc_id(&vpc).send().await;
    assert!(err.is_err(), "missing description is rejected");

    for f in [
        filter("group-name", "lustre-a"),
        filter("group-id", &sg),
        filter("tag:owner", "uid-1"),
        filter("tag-key", "owner"),
        filter("group-name", "lustre-*"),
    ] {
        let d = c.ec2.describe_security_groups().filters(f.clone()).send().await.expect("describe");
        assert_eq!(d.security_groups().len(), 1, "{f:?}");
        assert_eq!(d.security_groups()[0].group_id(), Some(sg.as_str()));
    }
    let d = c.ec2.describe_security_groups().filters(filter("vpc-id", &vpc)).send().await.expect("by vpc");
    assert_eq!(d.security_groups().len(), 2, "default group + ours");
    let d = c.ec2.describe_security_groups().group_ids(&sg).send().await.expect("by id");
    let g = &d.security_groups()[0];
    assert_eq!(g.group_name(), Some("lustre-a"));
    assert_eq!(g.description(), Some("for lustre"));
    assert_eq!(g.vpc_id(), Some(vpc.as_str()));
    assert!(g.ip_permissions().is_empty());
    let egress = g.ip_permissions_egress();
    assert_eq!(egress.len(), 1);
    assert_eq!(egress[0].ip_protocol(), Some("-1"));
    assert_eq!(egress[0].ip_ranges()[0].cidr_ip(), Some("0.0.0.0/0"));

    let err = c.ec2.describe_security_groups().group_ids("sg-0123456789abcdef0").send().await.expect_err("unknown");
    assert_eq!(code(err), "InvalidGroup.NotFound");

    // Tags.
    c.ec2.create_tags().resources(&sg).tags(Tag::builder().key("extra").value("1").build()).send().await.expect("tag");
    assert_eq!(emu.inventory().security_group(&sg).map(|g| g.tags.len()), Some(2));
    c.ec2.delete_tags().resources(&sg).tags(Tag::builder().key("extra").build()).send().await.expect("untag");
    assert_eq!(emu.inventory().security_group(&sg).map(|g| g.tags.len()), Some(1));
    let tag = Tag::builder().key("a").value("b").build();
    let err = c.ec2.create_tags().resources("sg-0123456789abcdef0").tags(tag).send().await.expect_err("unknown");
    assert_eq!(code(err), "InvalidGroup.NotFound");

    c.ec2.delete_security_group().group_id(&sg).send().await.expect("delete");
    let err = c.ec2.delete_security_group().group_id(&sg).send().await.expect_err("gone");
    assert_eq!(code(err), "InvalidGroup.NotFound");
    assert!(emu.inventory().security_group(&sg).is_none());
    assert_eq!(emu.calls().count_outcome("ec2", "DeleteSecurityGroup", "InvalidGroup.NotFound"), 1);
    let default = emu.seed().default_security_group_id;
    let err = c.ec2.delete_security_group().group_id(&default).send().await.expect_err("default");
    assert_eq!(code(err), "CannotDelete");
}

#[tokio::test]
async fn ingress_rules_authorize_revoke_and_describe() {
    let (emu, c) = start(EmulatorConfig::default()).await;
    let vpc = emu.seed().vpc_id;
    let sg = create_sg(&c.ec2, &vpc, "rules", "d").await;
    let rules = [from_group(988, 988, &sg), from_cidr(1018, 1023, "10.0.0.0/16")];
    let auth = authorize(&c.ec2, &sg, &rules).send().await.expect("authorize");
    assert_eq!(auth.r#return(), Some(true));
    assert_eq!(auth.security_group_rules().len(), 2);
    assert!(auth.security_group_rules()[0].security_group_rule_id().is_some_and(|id| id.starts_with("sgr-")));

    for (group, rule, why, expected) in [
        (sg.as_str(), from_group(988, 988, &sg), "duplicate", "InvalidPermission.Duplicate"),
        ("sg-0123456789abcdef0", from_cidr(988, 988, "10.0.0.0/16"), "unknown group", "InvalidGroup.NotFound"),
        (sg.as_str(), from_cidr(988, 988, "10.0.0.300/16"), "bad cidr", "InvalidParameterValue"),
    ] {
        let err = authorize(&c.ec2, group, &[rule]).send().await.expect_err(why);
        assert_eq!(code(err), expected, "{why}");
    }

    let d = c.ec2.describe_security_groups().group_ids(&sg).send().await.expect("describe");
    let perms = d.security_groups()[0].ip_permissions();
    assert_eq!(perms.len(), 2);
    let p988 = perms.iter().find(|p| p.from_port() == Some(988)).expect("988");
    assert_eq!(p988.user_id_group_pairs()[0].group_id(), Some(sg.as_str()));
    let p1018 = perms.iter().find(|p| p.from_port() == Some(1018)).expect("1018");
    assert_eq!(p1018.to_port(), Some(1023));
    assert_eq!(p1018.ip_ranges()[0].cidr_ip(), Some("10.0.0.0/16"));

    let rules = c.ec2.describe_security_group_rules().filters(filter("group-id", &sg)).send().await.expect("rules");
    assert_eq!(rules.security_group_rules().len(), 3, "two ingress + default egress");
    assert_eq!(rules.security_group_rules().iter().filter(|r| r.is_egress() == Some(true)).count(), 1);

    let from_itself = [from_group(988, 988, &sg)];
    revoke(&c.ec2, &sg, &from_itself).send().await.expect("revoke");
    let err = revoke(&c.ec2, &sg, &from_itself).send().await.expect_err("already revoked");
    assert_eq!(code(err), "InvalidPermission.NotFound");
    let inv = emu.inventory();
    let g = inv.security_group(&sg).expect("group");
    assert_eq!(g.ingress.len(), 1);
    assert_eq!(g.ingress[0].from_port, 1018);
    assert_eq!(g.egress.len(), 1);

    // Out of band: the console removes a rule.
    emu.revoke_ingress_out_of_band(&sg, 1018, 1023).expect("oob revoke");
    assert!(emu.inventory().security_group(&sg).expect("group").ingress.is_empty());
    assert!(emu.revoke_ingress_out_of_band(&sg, 1018, 1023).is_err());

    // A group referenced by another group's rule cannot be deleted.
    let other = create_sg(&c.ec2, &vpc, "other", "d").await;
    let all_traffic = IpPermission::builder().ip_protocol("-1").user_id_group_pairs(self_ref(&sg)).build();
    authorize(&c.ec2, &other, &[all_traffic]).send().await.expect("all traffic");
    let err = c.ec2.delete_security_group().group_id(&sg).send().await.expect_err("referenced");
    assert_eq!(code(err), "DependencyViolation");
    emu.delete_security_group_out_of_band(&sg).expect("oob delete");
    let err = c.ec2.describe_security_groups().group_ids(&sg).send().await.expect_err("gone");
    assert_eq!(code(err), "InvalidGroup.NotFound");
}

#[tokio::test]
async fn network_interfaces_of_file_systems() {
    let (emu, c) = start(EmulatorConfig::default()).await;
    let seed = emu.seed();
    let sg = lustre_sg(&c.ec2, &seed.vpc_id, "eni").await;
    let fs = create_fs(&c.fsx, &seed.subnet_ids[2], &sg).created().await;
    let enis = c.ec2.describe_network_interfaces().filters(filter("group-id", &sg)).send().await.expect("enis");
    assert_eq!(enis.network_interfaces().len(), 2);
    let mut ids: Vec<String> =
        enis.network_interfaces().iter().filter_map(|e| e.network_interface_id().map(str::to_string)).collect();
    ids.sort();
    let mut expected = fs.network_interface_ids().to_vec();
    expected.sort();
    assert_eq!(ids, expected);
    for e in enis.network_interfaces() {
        assert!(e.network_interface_id().is_some_and(|id| id.starts_with("eni-") && id.len() == 21));
        assert_eq!(e.subnet_id(), Some(seed.subnet_ids[2].as_str()));
        assert!(e.private_ip_address().is_some_and(|ip| ip.starts_with("10.0.3.")));
    }
    let unknown = "eni-0123456789abcdef0";
    let err = c.ec2.describe_network_interfaces().network_interface_ids(unknown).send().await.expect_err("unknown");
    assert_eq!(code(err), "InvalidNetworkInterfaceID.NotFound");
    assert_eq!(emu.inventory().network_interfaces.len(), 2);
}

#[tokio::test]
async fn describe_security_groups_pages() {
    let (emu, c) = start(EmulatorConfig::default()).await;
    let vpc = emu.seed().vpc_id;
    for i in 0..7 {
        sg_request(&c.ec2, &vpc, &format!("p{i}"), "d").send().await.expect("sg");
    }
    let first = c.ec2.describe_security_groups().max_results(5).send().await.expect("page 1");
    assert_eq!(first.security_groups().len(), 5);
    let next = first.next_token().expect("token").to_string();
    let second = c.ec2.describe_security_groups().max_results(5).next_token(next).send().await.expect("page 2");
    assert_eq!(second.security_groups().len(), 3);
    assert!(second.next_token().is_none());
}

/// Raw requests: what the SDK never sends must still get AWS's error shapes.
#[tokio::test]
async fn malformed_requests_get_aws_error_shapes() {
    let (emu, _) = start(EmulatorConfig::default()).await;
    let http = http();
    let url = emu.endpoint();
    let fsx = |target: &str, body: Vec<u8>| {
        http.post(&url)
            .header("X-Amz-Target", target)
            .header("Content-Type", "application/x-amz-json-1.1")
            .body(body)
            .send()
    };
    const DESCRIBE: &str = "AWSSimbaAPIService_v20180301.DescribeFileSystems";
    let r = fsx(DESCRIBE, b"{\"FileSystemIds\":".to_vec()).await.expect("send");
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()), Some("SerializationException"));
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["__type"], "SerializationException");
    assert!(body["message"].is_string());

    let big = vec![b' '; 1024 * 1024 + 10];
    for (target, body, expected) in [
        (DESCRIBE, b"{\"FileSystemIds\": 7}".to_vec(), "SerializationException"),
        ("AWSSimbaAPIService_v20180301.LaunchRockets", b"{}".to_vec(), "UnknownOperationException"),
        ("SomethingElse.DescribeFileSystems", b"{}".to_vec(), "UnknownOperationException"),
        (DESCRIBE, big.clone(), "SerializationException"),
    ] {
        let body: serde_json::Value = fsx(target, body).await.expect("send").json().await.expect("json");
        assert_eq!(body["__type"], expected, "{target}");
    }

    let ec2 = |body: &str| {
        http.post(&url).header("Content-Type", "application/x-www-form-urlencoded").body(body.to_string()).send()
    };
    let r = ec2("Action=LaunchRockets&Version=2016-11-15").await.expect("send");
    assert_eq!(r.status(), 400);
    let text = r.text().await.expect("text");
    assert!(text.contains("<Code>InvalidAction</Code>") && text.contains("<RequestID>"), "{text}");
    for (body, expected) in [
        ("Version=2016-11-15", "MissingParameter"),
        ("Action=CreateSecurityGroup&Version=2016-11-15&GroupName=x", "MissingParameter"),
        ("Action=DescribeSecurityGroups&Version=2016-11-15&MaxResults=abc", "InvalidParameterValue"),
        (
            "Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupId=sg-0e5eed00000000001&IpPermissions.1.IpProtocol=tcp",
            "InvalidParameterValue",
        ),
    ] {
        let text = ec2(body).await.expect("send").text().await.expect("text");
        assert!(text.contains(&format!("<Code>{expected}</Code>")), "{body}: {text}");
    }
    let r = http.post(&url).body(big).send().await.expect("send");
    assert!(r.text().await.expect("text").contains("<Code>InvalidParameterValue</Code>"));
    let ok = ec2("Action=DescribeVpcs&Version=2016-11-15").await.expect("send").text().await.expect("text");
    assert!(
        ok.contains("<DescribeVpcsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>"),
        "{ok}"
    );
    assert!(emu.calls().count("fsx", "unknown") >= 1);
    assert_eq!(emu.calls().count_outcome("ec2", "LaunchRockets", "InvalidAction"), 1);
}
