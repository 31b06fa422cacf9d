//! Step 2: the security group that lets Lustre traffic in (TCP 988 and 1018-1023).
//!
//! Managed mode: found by the owner-UID tag, else created in the subnet's VPC with its tags in
//! the same call; inbound rules from itself and from the client groups/CIDRs, missing ones
//! re-added. Existing-groups mode: the given groups are checked (never changed) before the file
//! system is created, and a missing rule is named in the condition.

use lustre_api::LustreVolume;

use crate::aws::{IngressRule, SecurityGroup};
use crate::context::{Check, Context};
use crate::error::{Error, Result};
use crate::ownership;

/// Lustre's LNET port and the range its clients use.
pub(crate) const LUSTRE_PORTS: [(i32, i32); 2] = [(988, 988), (1018, 1023)];

/// What the step found or made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SecurityGroups {
    /// The groups to give CreateFileSystem.
    pub(crate) ids: Vec<String>,
    /// Whether the operator manages (and may delete) the first one.
    pub(crate) managed: bool,
}

/// The inbound rules a managed group must have.
pub(crate) fn desired_rules(group_id: &str, lv: &LustreVolume) -> Vec<IngressRule> {
    let net = &lv.spec.network;
    desired_rules_for(group_id, &net.client_security_group_ids, &net.client_cidrs)
}

/// The inbound rules a managed group must have: both Lustre port ranges from itself and from
/// every client source, and nothing else.
pub(crate) fn desired_rules_for(group_id: &str, client_groups: &[String], client_cidrs: &[String]) -> Vec<IngressRule> {
    let sources =
        std::iter::once(group_id.to_string()).chain(client_groups.iter().cloned()).chain(client_cidrs.iter().cloned());
    let mut rules: Vec<IngressRule> = sources
        .flat_map(|source| LUSTRE_PORTS.iter().map(move |(from, to)| IngressRule::tcp(*from, *to, &source)))
        .collect();
    rules.sort();
    rules.dedup();
    rules
}

/// Rules of `wanted` that `group` lacks.
pub(crate) fn missing_rules(group: &SecurityGroup, wanted: &[IngressRule]) -> Vec<IngressRule> {
    wanted.iter().filter(|w| !group.ingress.iter().any(|have| have.covers(w))).cloned().collect()
}

/// Rules `group` has that `wanted` does not list, of any protocol and source: someone widened
/// the group by hand. Each is kept as EC2 described it, so revoking it names exactly that rule.
pub(crate) fn extra_rules(group: &SecurityGroup, wanted: &[IngressRule]) -> Vec<IngressRule> {
    group.ingress.iter().filter(|have| !wanted.contains(have)).cloned().collect()
}

/// For existing groups: the ports none of them opens to the file system's own traffic (from one
/// of the groups, or from a CIDR that covers the subnet). Empty when Lustre can run.
pub(crate) fn unopened_ports(groups: &[SecurityGroup], subnet_cidr: &str) -> Vec<(i32, i32)> {
    let ids: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
    LUSTRE_PORTS
        .iter()
        .filter(|(from, to)| {
            !groups.iter().any(|g| {
                g.ingress.iter().any(|r| {
                    r.admits_tcp(*from, *to)
                        && (r.source.group_id().is_some_and(|id| ids.contains(&id))
                            || r.source.ipv4_cidr().is_some_and(|cidr| cidr_covers(cidr, subnet_cidr)))
                })
            })
        })
        .copied()
        .collect()
}

fn cidr_covers(outer: &str, inner: &str) -> bool {
    let (Some((oa, ol)), Some((ia, il))) =
        (lustre_api::validation::parse_cidr(outer), lustre_api::validation::parse_cidr(inner))
    else {
        return false;
    };
    if ol > il {
        return false;
    }
    let mask = if ol == 0 { 0 } else { u32::MAX << (32 - u32::from(ol)) };
    (u32::from(oa) & mask) == (u32::from(ia) & mask)
}

/// The security groups of `lv` for this pass. An adopted file system keeps its own (nothing to
/// check); once the file system exists, groups checked within this resync period are not checked
/// again; otherwise they are checked, and a managed group's missing rules re-added.
pub(crate) async fn settle(
    ctx: &Context,
    lv: &LustreVolume,
    known: Option<(&str, bool)>,
    file_system_exists: bool,
) -> Result<SecurityGroups> {
    if lv.spec.file_system_id.is_some() {
        return Ok(SecurityGroups { ids: Vec::new(), managed: false });
    }
    let uid = ownership::uid(lv);
    // What the check depends on: a class edit of the groups or client sources makes the next
    // pass (every class change wakes its volumes) check again at once, not at the resync.
    let version = sources_version(lv);
    if file_system_exists && ctx.fresh(Check::SecurityGroup, uid, version) {
        return Ok(match known {
            Some((id, true)) => SecurityGroups { ids: vec![id.to_string()], managed: true },
            _ => given_groups(lv, known.map(|(id, _)| id)),
        });
    }
    let checked = if file_system_exists { keep(ctx, lv, known).await } else { ensure(ctx, lv, None, true).await };
    ctx.checked(Check::SecurityGroup, uid, version, checked.is_ok());
    checked
}

/// A digest of the network settings the security-group check follows (in-process only).
fn sources_version(lv: &LustreVolume) -> u64 {
    use std::hash::{Hash, Hasher};
    let net = &lv.spec.network;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&net.security_group_ids, &net.client_security_group_ids, &net.client_cidrs).hash(&mut h);
    h.finish()
}

/// For a file system that exists, the groups it was made with stay (FSx cannot change them): a
/// managed group (the one in status, else the one carrying the owner tag) keeps following the
/// class's client sources even if the class lists given groups now; a file system made with
/// given groups never gets a managed group later (it could not be attached). Switching a class
/// between the two modes thus neither leaks a group nor wedges a volume; it applies to new
/// volumes.
async fn keep(ctx: &Context, lv: &LustreVolume, known: Option<(&str, bool)>) -> Result<SecurityGroups> {
    let uid = ownership::uid(lv);
    let managed_id = match known {
        Some((id, true)) => Some(id.to_string()),
        // The group in status is a given one: the file system has no managed group.
        Some((_, false)) => None,
        None => ownership::the_one_owned(ctx.aws.security_groups_tagged(lustre_api::tags::OWNER_UID, uid).await?, uid)?
            .map(|g| g.id),
    };
    match managed_id {
        Some(id) => {
            let mut managed = lv.clone();
            managed.spec.network.security_group_ids.clear();
            ensure(ctx, &managed, Some(&id), false).await
        }
        None => Ok(given_groups(lv, known.map(|(id, _)| id))),
    }
}

/// The given groups of a file system made with them: the class's list while it still has one,
/// else the one recorded in status.
fn given_groups(lv: &LustreVolume, recorded: Option<&str>) -> SecurityGroups {
    let listed = &lv.spec.network.security_group_ids;
    let ids = if listed.is_empty() { recorded.map(str::to_string).into_iter().collect() } else { listed.clone() };
    SecurityGroups { ids, managed: false }
}

/// Makes sure the security groups exist and admit Lustre traffic. `need_check` is false once the
/// file system exists and the groups are user-given (they cannot be changed on the file system).
async fn ensure(ctx: &Context, lv: &LustreVolume, known_id: Option<&str>, need_check: bool) -> Result<SecurityGroups> {
    let net = &lv.spec.network;
    if !net.security_group_ids.is_empty() {
        if need_check {
            let groups = ctx.aws.describe_security_groups(&net.security_group_ids).await?;
            let subnet = ctx.aws.describe_subnet(&net.subnet_id).await?;
            let unopened = unopened_ports(&groups, &subnet.cidr);
            if !unopened.is_empty() {
                let ports: Vec<String> = unopened
                    .iter()
                    .map(|(f, t)| if f == t { format!("TCP {f}") } else { format!("TCP {f}-{t}") })
                    .collect();
                return Err(Error::Network(format!(
                    "security groups {} do not admit {} from themselves or the subnet {}; add an inbound rule for {} with one of the groups (or {}) as source",
                    net.security_group_ids.join(", "),
                    ports.join(" and "),
                    subnet.cidr,
                    ports.join(" and "),
                    subnet.cidr
                )));
            }
        }
        return Ok(SecurityGroups { ids: net.security_group_ids.clone(), managed: false });
    }

    let uid = ownership::uid(lv);
    let group = match known_id {
        Some(id) => ctx.aws.describe_security_group(id).await?,
        None => None,
    };
    let group = match group {
        Some(g) => {
            ownership::check_ours(&g, uid)?;
            g
        }
        None => find_or_create(ctx, lv).await?,
    };
    let wanted = desired_rules(&group.id, lv);
    let extra = extra_rules(&group, &wanted);
    if !extra.is_empty() {
        tracing::info!(group = %group.id, rules = extra.len(), "revoking inbound rules the spec does not list");
        let not_found = ctx.aws.revoke_ingress(&group.id, &extra).await?;
        if !not_found.is_empty() {
            let gone: Vec<String> = not_found.iter().map(ToString::to_string).collect();
            tracing::warn!(group = %group.id, rules = %gone.join(", "), "EC2 did not find inbound rules it had described; gone already");
        }
        let revoked: Vec<String> = extra.iter().filter(|r| !not_found.contains(r)).map(ToString::to_string).collect();
        if !revoked.is_empty() {
            let note = format!(
                "revoked {} inbound rule(s) not in the spec from {}: {}",
                revoked.len(),
                group.id,
                revoked.join(", ")
            );
            ctx.events.normal(lv, "SecurityGroupRulesRevoked", &note).await;
        }
    }
    let missing = missing_rules(&group, &wanted);
    if !missing.is_empty() {
        tracing::info!(group = %group.id, rules = missing.len(), "adding missing Lustre ingress rules");
        ctx.aws.authorize_ingress(&group.id, &missing).await?;
        // A new group's first rules need no event of their own (the status names the group);
        // rules put back into a group that had others are drift repaired: say so.
        if !group.ingress.is_empty() {
            let note = format!("added {} inbound rule(s) for Lustre to {}", missing.len(), group.id);
            ctx.events.normal(lv, "SecurityGroupRulesAdded", &note).await;
        }
    }
    Ok(SecurityGroups { ids: vec![group.id], managed: true })
}

async fn find_or_create(ctx: &Context, lv: &LustreVolume) -> Result<SecurityGroup> {
    let uid = ownership::uid(lv);
    let found = ctx.aws.security_groups_tagged(lustre_api::tags::OWNER_UID, uid).await?;
    if let Some(group) = ownership::the_one_owned(found, uid)? {
        return Ok(group);
    }
    let subnet = ctx.aws.describe_subnet(&lv.spec.network.subnet_id).await?;
    let name = ownership::security_group_name(lv);
    let description = format!("Lustre traffic for LustreVolume {}", ownership::display(lv));
    let id = match ctx.aws.create_security_group(&subnet.vpc_id, &name, &description, &ownership::owner_tags(lv)).await
    {
        Ok(id) => id,
        Err(e) if e.is("InvalidGroup.Duplicate") => {
            // Created by an earlier attempt that the tag lookup did not see yet.
            match ctx.aws.security_group_named(&subnet.vpc_id, &name).await? {
                Some(g) if ownership::is_ours(&g, uid) => return Ok(g),
                _ => {
                    return Err(Error::Conflict(format!(
                        "a security group named {name} exists in {} without our owner tag",
                        subnet.vpc_id
                    )))
                }
            }
        }
        Err(e) => return Err(e.into()),
    };
    // No event: the status names the group (one event until Ready, the phase event to Available).
    tracing::info!(volume = %ownership::display(lv), group = %id, vpc = %subnet.vpc_id, "created security group");
    Ok(SecurityGroup { id, vpc_id: subnet.vpc_id, tags: ownership::owner_tags(lv), ingress: Vec::new() })
}

/// Deletes the managed group if it carries this volume's owner tag. Ok once it is gone, with its
/// ID if this call deleted it (the cleanup's final event names it);
/// `DependencyViolation` (ENIs of a file system still deleting) becomes `Error::Waiting` for a retry.
pub(crate) async fn delete(ctx: &Context, lv: &LustreVolume, known_id: Option<&str>) -> Result<Option<String>> {
    // Looked up whatever the class says now: it may have switched to given groups since.
    let uid = ownership::uid(lv);
    let group = match known_id {
        Some(id) => ctx.aws.describe_security_group(id).await?,
        None => ownership::the_one_owned(ctx.aws.security_groups_tagged(lustre_api::tags::OWNER_UID, uid).await?, uid)?,
    };
    let Some(g) = group else { return Ok(None) };
    if !ownership::is_ours(&g, uid) {
        let note = format!("security group {} is not tagged with this volume's UID; leaving it", g.id);
        ctx.events.warning(lv, "NotOwned", &note).await;
        return Ok(None);
    }
    match ctx.aws.delete_security_group(&g.id).await {
        Ok(()) => {
            tracing::info!(volume = %ownership::display(lv), group = %g.id, "deleted security group");
            return Ok(Some(g.id));
        }
        Err(e) if e.is_not_found() => {}
        Err(e) if e.is("DependencyViolation") => {
            return Err(Error::Waiting(format!(
                "security group {} is still in use by network interfaces; retrying",
                g.id
            )))
        }
        Err(e) => return Err(e.into()),
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(id: &str, ingress: &[(i32, i32, &str)]) -> SecurityGroup {
        let ingress = ingress.iter().map(|(f, t, s)| IngressRule::tcp(*f, *t, s)).collect();
        SecurityGroup { id: id.into(), vpc_id: "vpc-1".into(), tags: Default::default(), ingress }
    }

    fn shaped(id: &str, ingress: Vec<IngressRule>) -> SecurityGroup {
        SecurityGroup { id: id.into(), vpc_id: "vpc-1".into(), tags: Default::default(), ingress }
    }

    #[test]
    fn existing_groups_must_open_both_port_ranges() {
        let ok = group("sg-a", &[(988, 988, "sg-a"), (1018, 1023, "10.0.1.0/24")]);
        assert!(unopened_ports(&[ok], "10.0.1.0/24").is_empty());
        let wide = group("sg-a", &[(0, 65535, "10.0.0.0/16")]);
        assert!(unopened_ports(&[wide], "10.0.1.0/24").is_empty());
        let half = group("sg-a", &[(988, 988, "sg-a")]);
        assert_eq!(unopened_ports(&[half], "10.0.1.0/24"), vec![(1018, 1023)]);
        let other = group("sg-a", &[(988, 988, "192.168.0.0/16"), (1018, 1023, "sg-other")]);
        assert_eq!(unopened_ports(&[other], "10.0.1.0/24").len(), 2);
    }

    #[test]
    fn missing_rules_compares_ranges_and_sources() {
        let wanted = vec![IngressRule::tcp(988, 988, "sg-a"), IngressRule::tcp(1018, 1023, "sg-a")];
        let g = group("sg-a", &[(988, 988, "sg-a")]);
        assert_eq!(missing_rules(&g, &wanted), vec![wanted[1].clone()]);
        let g = group("sg-a", &[(988, 988, "sg-a"), (1018, 1023, "sg-a")]);
        assert!(missing_rules(&g, &wanted).is_empty());
    }

    #[test]
    fn rules_not_listed_are_extra_even_when_a_listed_rule_covers_them() {
        let wanted = desired_rules_for("sg-a", &[], &["10.0.0.0/16".to_string()]);
        let g = group(
            "sg-a",
            &[(988, 988, "sg-a"), (988, 988, "0.0.0.0/0"), (1018, 1023, "10.0.0.0/16"), (22, 22, "sg-a")],
        );
        let extra = extra_rules(&g, &wanted);
        assert_eq!(extra, vec![IngressRule::tcp(988, 988, "0.0.0.0/0"), IngressRule::tcp(22, 22, "sg-a")]);
    }

    /// Hand-made rules of every shape EC2 describes: each is extra exactly as described (so the
    /// revoke names it), and only TCP or all-protocol rules from the right source count as present.
    #[test]
    fn rules_of_every_shape_are_extra_as_described_and_only_matching_ones_cover() {
        let wanted = desired_rules_for("sg-a", &[], &["10.0.0.0/16".to_string()]);
        let rule = IngressRule::new;
        // (hand-made rule, covers TCP 988 from 10.0.0.0/16)
        let cases = [
            (rule("-1", None, "10.0.0.0/16"), true),
            (rule("-1", None, "10.9.0.0/16"), false),
            (rule("udp", Some((988, 988)), "10.0.0.0/16"), false),
            (rule("tcp", Some((988, 988)), "2001:db8::/64"), false),
            (rule("tcp", Some((988, 988)), "pl-63a5400a"), false),
            (rule("icmp", Some((-1, -1)), "10.0.0.0/16"), false),
            (rule("50", None, "10.0.0.0/16"), false),
            (rule("tcp", Some((0, 65535)), "10.0.0.0/16"), true),
        ];
        for (hand_made, covers) in cases {
            let mut ingress = wanted.clone();
            ingress.push(hand_made.clone());
            let g = shaped("sg-a", ingress);
            assert_eq!(extra_rules(&g, &wanted), vec![hand_made.clone()], "{hand_made}");
            assert!(missing_rules(&g, &wanted).is_empty(), "{hand_made}");
            let only = shaped("sg-a", vec![hand_made.clone()]);
            let want_988 = IngressRule::tcp(988, 988, "10.0.0.0/16");
            assert_eq!(!missing_rules(&only, &wanted).contains(&want_988), covers, "{hand_made}");
        }
    }

    #[test]
    fn desired_rules_are_tcp_from_the_group_and_every_client_source() {
        let rules = desired_rules_for("sg-a", &["sg-c".to_string()], &["10.0.0.0/16".to_string()]);
        let shown: Vec<String> = rules.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "TCP 988 from sg-a",
                "TCP 988 from sg-c",
                "TCP 988 from 10.0.0.0/16",
                "TCP 1018-1023 from sg-a",
                "TCP 1018-1023 from sg-c",
                "TCP 1018-1023 from 10.0.0.0/16",
            ]
        );
    }

    #[test]
    fn existing_groups_count_only_tcp_or_all_traffic_from_themselves_or_the_subnet() {
        let rule = IngressRule::new;
        let cases = [
            ("all protocols from the subnet's VPC", vec![rule("-1", None, "10.0.0.0/16")], 0),
            ("all protocols from itself", vec![rule("-1", None, "sg-a")], 0),
            (
                "UDP on both ranges",
                vec![rule("udp", Some((988, 988)), "sg-a"), rule("udp", Some((1018, 1023)), "sg-a")],
                2,
            ),
            ("IPv6 everywhere", vec![rule("tcp", Some((0, 65535)), "::/0")], 2),
            ("a prefix list", vec![rule("-1", None, "pl-1")], 2),
            ("TCP 988 only", vec![IngressRule::tcp(988, 988, "10.0.1.0/24")], 1),
        ];
        for (what, ingress, unopened) in cases {
            assert_eq!(unopened_ports(&[shaped("sg-a", ingress)], "10.0.1.0/24").len(), unopened, "{what}");
        }
    }

    #[test]
    fn cidr_cover() {
        assert!(cidr_covers("10.0.0.0/16", "10.0.1.0/24"));
        assert!(!cidr_covers("10.0.1.0/24", "10.0.0.0/16"));
        assert!(cidr_covers("0.0.0.0/0", "10.0.1.0/24"));
        assert!(!cidr_covers("10.1.0.0/16", "10.0.1.0/24"));
    }
}
