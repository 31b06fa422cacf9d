//! Ingress rules of every shape EC2 describes (all protocols, UDP, IPv6 ranges, prefix lists,
//! group and IPv4 sources) through the real SDK: stored and described faithfully, revoked only
//! by exactly their protocol, ports and source (`InvalidPermission.NotFound` otherwise, and
//! nothing revoked). The round trip runs on this emulator and, when `moto_server` is installed,
//! on moto, so both agree on what an operator revoking by hand-made shapes meets.

mod common;

use aws_emulator::EmulatorConfig;
use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, PrefixListId};
use aws_sdk_ec2::Client as Ec2;
use common::*;

/// The S3 gateway prefix list of us-east-1 (ours takes any well-formed `pl-` ID).
const OURS_PREFIX_LIST: &str = "pl-63a5400a";

fn all_from(cidr: &str) -> IpPermission {
    IpPermission::builder().ip_protocol("-1").ip_ranges(IpRange::builder().cidr_ip(cidr).build()).build()
}

fn udp_from(port: i32, cidr: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("udp")
        .from_port(port)
        .to_port(port)
        .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
        .build()
}

fn tcp_from_ipv6(port: i32, cidr: &str) -> IpPermission {
    tcp(port, port).ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).build()).build()
}

fn tcp_from_prefix_list(from: i32, to: i32, id: &str) -> IpPermission {
    tcp(from, to).prefix_list_ids(PrefixListId::builder().prefix_list_id(id).build()).build()
}

/// One IpPermission per source, with the protocol and ports exactly as described.
fn split(p: &IpPermission) -> Vec<IpPermission> {
    let base = || {
        IpPermission::builder().set_ip_protocol(p.ip_protocol.clone()).set_from_port(p.from_port).set_to_port(p.to_port)
    };
    let groups = p.user_id_group_pairs().iter().map(|g| base().user_id_group_pairs(g.clone()).build());
    let v4 = p.ip_ranges().iter().map(|r| base().ip_ranges(r.clone()).build());
    let v6 = p.ipv6_ranges().iter().map(|r| base().ipv6_ranges(r.clone()).build());
    let lists = p.prefix_list_ids().iter().map(|l| base().prefix_list_ids(l.clone()).build());
    groups.chain(v4).chain(v6).chain(lists).collect()
}

/// (protocol, from, to, source) of every ingress rule of `sg`, sorted.
async fn shapes(ec2: &Ec2, sg: &str) -> Vec<(String, Option<i32>, Option<i32>, String)> {
    let d = ec2.describe_security_groups().group_ids(sg).send().await.expect("describe");
    let mut out: Vec<_> = d.security_groups()[0]
        .ip_permissions()
        .iter()
        .flat_map(split)
        .map(|p| {
            let source = p
                .user_id_group_pairs()
                .iter()
                .filter_map(|g| g.group_id())
                .chain(p.ip_ranges().iter().filter_map(|r| r.cidr_ip()))
                .chain(p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()))
                .chain(p.prefix_list_ids().iter().filter_map(|l| l.prefix_list_id()))
                .collect::<Vec<_>>()
                .join(",");
            (p.ip_protocol().unwrap_or_default().to_string(), p.from_port(), p.to_port(), source)
        })
        .collect();
    out.sort();
    out
}

/// Authorize four hand-made shapes, refuse revokes of the wrong protocol or source, revoke each
/// as described, and refuse revoking it again. `atomic`: a refused revoke of several rules
/// removes none (AWS and ours; not moto).
async fn round_trip(ec2: &Ec2, sg: &str, prefix_list: &str, atomic: bool) {
    let hand_made = [
        all_from("10.9.0.0/16"),
        udp_from(988, "10.0.0.0/16"),
        tcp_from_ipv6(988, "2001:db8::/64"),
        tcp_from_prefix_list(1018, 1023, prefix_list),
    ];
    authorize(ec2, sg, &hand_made).send().await.expect("authorize every shape");
    let described = shapes(ec2, sg).await;
    let expected = {
        let mut e = vec![
            ("-1".to_string(), None, None, "10.9.0.0/16".to_string()),
            ("tcp".to_string(), Some(1018), Some(1023), prefix_list.to_string()),
            ("tcp".to_string(), Some(988), Some(988), "2001:db8::/64".to_string()),
            ("udp".to_string(), Some(988), Some(988), "10.0.0.0/16".to_string()),
        ];
        e.sort();
        e
    };
    assert_eq!(described, expected, "every shape is described as authorized");

    // The same source and ports under another protocol, or another source: not found, and the
    // whole call revokes nothing.
    let wrong = [
        // The UDP rule's source and port, as TCP.
        from_cidr(988, 988, "10.0.0.0/16"),
        // The all-protocol rule read as TCP 0-65535 (what the operator used to send), or as UDP.
        from_cidr(0, 65535, "10.9.0.0/16"),
        udp_from(988, "10.9.0.0/16"),
        // The IPv6 rule with another range.
        tcp_from_ipv6(988, "2001:db8:1::/64"),
        // The prefix-list rule with other ports.
        tcp_from_prefix_list(988, 988, prefix_list),
    ];
    for w in &wrong {
        let err = revoke(ec2, sg, std::slice::from_ref(w)).send().await.expect_err("no such rule");
        assert_eq!(code(err), "InvalidPermission.NotFound", "{w:?}");
    }
    let err = revoke(ec2, sg, &[udp_from(988, "10.0.0.0/16"), from_cidr(988, 988, "10.0.0.0/16")])
        .send()
        .await
        .expect_err("one of two is missing");
    assert_eq!(code(err), "InvalidPermission.NotFound");
    if atomic {
        assert_eq!(shapes(ec2, sg).await, expected, "a refused revoke removes nothing");
    } else {
        // moto 5.2.1 removes the rules it found before it fails; AWS documents that a
        // non-default VPC revokes none of them.
        authorize(ec2, sg, &[udp_from(988, "10.0.0.0/16")]).send().await.expect("put back");
        assert_eq!(shapes(ec2, sg).await, expected);
    }

    // Each rule sent back exactly as described goes.
    let d = ec2.describe_security_groups().group_ids(sg).send().await.expect("describe");
    let as_described: Vec<IpPermission> = d.security_groups()[0].ip_permissions().iter().flat_map(split).collect();
    assert_eq!(as_described.len(), 4);
    for p in &as_described {
        revoke(ec2, sg, std::slice::from_ref(p)).send().await.unwrap_or_else(|e| panic!("revoke {p:?}: {e:?}"));
        let err = revoke(ec2, sg, std::slice::from_ref(p)).send().await.expect_err("gone");
        assert_eq!(code(err), "InvalidPermission.NotFound", "{p:?}");
    }
    assert!(shapes(ec2, sg).await.is_empty(), "every hand-made rule is revoked");
}

#[tokio::test]
async fn every_rule_shape_round_trips_on_ours() {
    let (emu, c) = start(EmulatorConfig::default()).await;
    let seed = emu.seed();
    let sg = create_sg(&c.ec2, &seed.vpc_id, "shapes", "rule shapes").await;
    round_trip(&c.ec2, &sg, OURS_PREFIX_LIST, true).await;
}

#[tokio::test]
async fn every_rule_shape_round_trips_on_moto() {
    let (_guard, endpoint) = match start_moto() {
        Ok(v) => v,
        Err(why) => {
            println!("SKIPPED moto parity run: {why}");
            return;
        }
    };
    let c = clients(&endpoint).await;
    let vpc = c.ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.expect("moto vpc");
    let vpc_id = vpc.vpc.and_then(|v| v.vpc_id).expect("vpc id");
    let list = c
        .ec2
        .create_managed_prefix_list()
        .prefix_list_name("clients")
        .address_family("IPv4")
        .max_entries(5)
        .send()
        .await
        .expect("moto prefix list");
    let list_id = list.prefix_list.and_then(|l| l.prefix_list_id).expect("prefix list id");
    let sg = create_sg(&c.ec2, &vpc_id, "shapes", "rule shapes").await;
    round_trip(&c.ec2, &sg, &list_id, false).await;
}

/// What only ours shows: the inventory's sources, DescribeSecurityGroupRules' fields, the
/// ip-permission filters and the refusals of malformed sources.
#[tokio::test]
async fn ours_stores_every_source_kind_and_refuses_malformed_ones() {
    let (emu, c) = start(EmulatorConfig::default()).await;
    let seed = emu.seed();
    let ec2 = &c.ec2;
    let sg = create_sg(ec2, &seed.vpc_id, "kinds", "rule kinds").await;
    let rules = [
        all_from("10.9.0.0/16"),
        tcp_from_ipv6(988, "2001:db8::/64"),
        tcp_from_prefix_list(988, 988, OURS_PREFIX_LIST),
        from_group(988, 988, &sg),
        // A numbered protocol (ESP) opens every port: no ports are kept or shown.
        IpPermission::builder()
            .ip_protocol("50")
            .from_port(1)
            .to_port(2)
            .ip_ranges(IpRange::builder().cidr_ip("10.8.0.0/16").build())
            .build(),
    ];
    authorize(ec2, &sg, &rules).send().await.expect("authorize");
    let inv = emu.inventory();
    let g = inv.security_group(&sg).expect("group");
    // (protocol, which source field is set, its value): exactly one source per stored rule.
    let kinds: Vec<(&str, &str, &str)> = g
        .ingress
        .iter()
        .map(|r| {
            let sources = [
                ("cidr", &r.cidr),
                ("ipv6_cidr", &r.ipv6_cidr),
                ("prefix_list_id", &r.prefix_list_id),
                ("source_group_id", &r.source_group_id),
            ];
            let set: Vec<(&str, &str)> =
                sources.into_iter().filter_map(|(field, v)| v.as_deref().map(|v| (field, v))).collect();
            assert_eq!(set.len(), 1, "{r:?}");
            (r.protocol.as_str(), set[0].0, set[0].1)
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("-1", "cidr", "10.9.0.0/16"),
            ("tcp", "ipv6_cidr", "2001:db8::/64"),
            ("tcp", "prefix_list_id", OURS_PREFIX_LIST),
            ("tcp", "source_group_id", sg.as_str()),
            ("50", "cidr", "10.8.0.0/16"),
        ]
    );
    let described = shapes(ec2, &sg).await;
    assert!(described.contains(&("50".into(), None, None, "10.8.0.0/16".into())), "{described:?}");

    let listed = ec2.describe_security_group_rules().filters(filter("group-id", &sg)).send().await.expect("rules");
    let ingress: Vec<_> = listed.security_group_rules().iter().filter(|r| r.is_egress() == Some(false)).collect();
    assert!(ingress.iter().any(|r| r.cidr_ipv6() == Some("2001:db8::/64")));
    assert!(ingress.iter().any(|r| r.prefix_list_id() == Some(OURS_PREFIX_LIST)));

    for (name, value) in [("ip-permission.ipv6-cidr", "2001:db8::/64"), ("ip-permission.prefix-list-id", "pl-*")] {
        let found = ec2.describe_security_groups().filters(filter(name, value)).send().await.expect("filter");
        let ids: Vec<_> = found.security_groups().iter().filter_map(|g| g.group_id()).collect();
        assert_eq!(ids, vec![sg.as_str()], "{name}");
    }

    let malformed = [
        (tcp_from_ipv6(988, "2001:db8::/129"), "InvalidParameterValue"),
        (tcp_from_ipv6(988, "10.0.0.0/16"), "InvalidParameterValue"),
        (tcp_from_prefix_list(988, 988, "pl-xyz"), "InvalidPrefixListId.Malformed"),
        (
            IpPermission::builder()
                .ip_protocol("256")
                .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
                .build(),
            "InvalidParameterValue",
        ),
    ];
    for (p, expected) in malformed {
        let err = authorize(ec2, &sg, std::slice::from_ref(&p)).send().await.expect_err("malformed");
        assert_eq!(code(err), expected, "{p:?}");
    }
}

fn filter(name: &str, value: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder().name(name).values(value).build()
}
