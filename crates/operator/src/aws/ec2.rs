//! EC2 calls (subnets and security groups), one small function each.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, Tag, TagSpecification, UserIdGroupPair,
};

use super::model::{Protocol, RuleSource};
use super::{Aws, AwsError, ErrorKind, IngressRule, SecurityGroup, Subnet};

/// The description the operator gives the CIDR rules it adds.
const CLIENT_RULE_DESCRIPTION: &str = "lustre-operator client";

impl Aws {
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn describe_subnet(&self, subnet_id: &str) -> Result<Subnet, AwsError> {
        let known = || self.subnets.lock().unwrap_or_else(|p| p.into_inner()).get(subnet_id).cloned();
        if let Some(subnet) = known() {
            return Ok(subnet);
        }
        // A burst of new volumes asks at once: the first asks EC2, the others wait for its answer.
        let _one_at_a_time = self.subnet_misses.lock().await;
        if let Some(subnet) = known() {
            return Ok(subnet);
        }
        let out =
            self.call("ec2", "DescribeSubnets", || self.ec2.describe_subnets().subnet_ids(subnet_id).send()).await?;
        let subnet = out.subnets().first().ok_or_else(|| AwsError {
            operation: "DescribeSubnets",
            kind: ErrorKind::NotFound,
            code: "InvalidSubnetID.NotFound".into(),
            message: format!("The subnet ID '{subnet_id}' does not exist"),
        })?;
        let found = Subnet {
            vpc_id: subnet.vpc_id().unwrap_or_default().to_string(),
            cidr: subnet.cidr_block().unwrap_or_default().to_string(),
        };
        self.subnets.lock().unwrap_or_else(|p| p.into_inner()).insert(subnet_id.to_string(), found.clone());
        Ok(found)
    }

    /// Security groups by ID; `InvalidGroup.NotFound` when one is missing.
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn describe_security_groups(&self, ids: &[String]) -> Result<Vec<SecurityGroup>, AwsError> {
        let request = self.ec2.describe_security_groups().set_group_ids(Some(ids.to_vec()));
        let out = self.call("ec2", "DescribeSecurityGroups", || request.send()).await?;
        Ok(out.security_groups().iter().map(security_group).collect())
    }

    /// The security group named `name` in `vpc_id`, if any.
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn security_group_named(
        &self,
        vpc_id: &str,
        name: &str,
    ) -> Result<Option<SecurityGroup>, AwsError> {
        let request = self
            .ec2
            .describe_security_groups()
            .filters(Filter::builder().name("group-name").values(name).build())
            .filters(Filter::builder().name("vpc-id").values(vpc_id).build());
        let out = self.call("ec2", "DescribeSecurityGroups", || request.send()).await?;
        Ok(out.security_groups().first().map(security_group))
    }

    /// Creates a security group with its tags in the same call (no window without the tag).
    #[tracing::instrument(skip(self, tags), err)]
    pub(crate) async fn create_security_group(
        &self,
        vpc_id: &str,
        name: &str,
        description: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let spec = TagSpecification::builder()
            .resource_type(ResourceType::SecurityGroup)
            .set_tags(Some(tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
            .build();
        let request = self
            .ec2
            .create_security_group()
            .group_name(name)
            .description(description)
            .vpc_id(vpc_id)
            .tag_specifications(spec);
        let out = self.call("ec2", "CreateSecurityGroup", || request.send()).await?;
        Ok(out.group_id().unwrap_or_default().to_string())
    }

    /// Adds inbound rules; rules that already exist are not an error.
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn authorize_ingress(&self, group_id: &str, rules: &[IngressRule]) -> Result<(), AwsError> {
        let permissions: Vec<IpPermission> =
            rules.iter().map(|r| ip_permission(r, Some(CLIENT_RULE_DESCRIPTION))).collect();
        let request =
            self.ec2.authorize_security_group_ingress().group_id(group_id).set_ip_permissions(Some(permissions));
        match self.call("ec2", "AuthorizeSecurityGroupIngress", || request.send()).await {
            Ok(_) => Ok(()),
            Err(e) if e.is("InvalidPermission.Duplicate") && rules.len() > 1 => {
                // One of them exists: add the others one by one.
                for rule in rules {
                    Box::pin(self.authorize_ingress(group_id, std::slice::from_ref(rule))).await?;
                }
                Ok(())
            }
            Err(e) if e.is("InvalidPermission.Duplicate") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Removes inbound rules, each sent back in exactly the shape DescribeSecurityGroups gave
    /// (protocol, ports, source), since EC2 matches all of it. Returns the rules EC2 did not find
    /// (gone already): a non-default VPC refuses the whole call with `InvalidPermission.NotFound`,
    /// a default VPC revokes the others and lists them as `UnknownIpPermissions`.
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn revoke_ingress(
        &self,
        group_id: &str,
        rules: &[IngressRule],
    ) -> Result<Vec<IngressRule>, AwsError> {
        let permissions: Vec<IpPermission> = rules.iter().map(|r| ip_permission(r, None)).collect();
        let request = self.ec2.revoke_security_group_ingress().group_id(group_id).set_ip_permissions(Some(permissions));
        match self.call("ec2", "RevokeSecurityGroupIngress", || request.send()).await {
            Ok(out) if out.unknown_ip_permissions().is_empty() => Ok(Vec::new()),
            Ok(out) => {
                let unknown: Vec<IngressRule> = out.unknown_ip_permissions().iter().flat_map(ingress_rules).collect();
                let not_found: Vec<IngressRule> = rules.iter().filter(|r| unknown.contains(r)).cloned().collect();
                // EC2 may list them in another shape than asked: then which ones is unknown.
                Ok(if not_found.is_empty() { rules.to_vec() } else { not_found })
            }
            Err(e) if e.is("InvalidPermission.NotFound") && rules.len() > 1 => {
                // Nothing was revoked: one by one, the others go.
                let mut not_found = Vec::new();
                for rule in rules {
                    not_found.extend(Box::pin(self.revoke_ingress(group_id, std::slice::from_ref(rule))).await?);
                }
                Ok(not_found)
            }
            Err(e) if e.is("InvalidPermission.NotFound") => Ok(rules.to_vec()),
            Err(e) => Err(e),
        }
    }

    /// Sets `tags` on security group `group_id` (one the operator created).
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn tag_security_group(&self, group_id: &str, tags: &[(&str, &str)]) -> Result<(), AwsError> {
        let tags: Vec<aws_sdk_ec2::types::Tag> =
            tags.iter().map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(*k).value(*v).build()).collect();
        let request = self.ec2.create_tags().resources(group_id).set_tags(Some(tags));
        self.call("ec2", "CreateTags", || request.send()).await.map(|_| ())
    }

    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn delete_security_group(&self, group_id: &str) -> Result<(), AwsError> {
        let request = self.ec2.delete_security_group().group_id(group_id);
        self.call("ec2", "DeleteSecurityGroup", || request.send()).await.map(|_| ())
    }
}

/// The IpPermission of one rule; `description` goes on CIDR and prefix-list sources (EC2 needs
/// none to revoke).
fn ip_permission(rule: &IngressRule, description: Option<&str>) -> IpPermission {
    let b = IpPermission::builder()
        .ip_protocol(rule.protocol.as_ec2())
        .set_from_port(rule.ports.map(|(from, _)| from))
        .set_to_port(rule.ports.map(|(_, to)| to));
    let b = match &rule.source {
        RuleSource::Group(id) => b.user_id_group_pairs(UserIdGroupPair::builder().group_id(id).build()),
        RuleSource::Ipv4(cidr) => {
            b.ip_ranges(IpRange::builder().cidr_ip(cidr).set_description(description.map(str::to_string)).build())
        }
        RuleSource::Ipv6(cidr) => {
            b.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).set_description(description.map(str::to_string)).build())
        }
        RuleSource::PrefixList(id) => b.prefix_list_ids(
            PrefixListId::builder().prefix_list_id(id).set_description(description.map(str::to_string)).build(),
        ),
    };
    b.build()
}

/// One rule per source of an IpPermission, with its protocol and ports as EC2 gave them.
fn ingress_rules(p: &IpPermission) -> Vec<IngressRule> {
    let protocol = Protocol::from_ec2(p.ip_protocol().unwrap_or_default());
    let ports = match (p.from_port(), p.to_port()) {
        (Some(from), Some(to)) => Some((from, to)),
        _ => None,
    };
    let groups = p.user_id_group_pairs().iter().filter_map(|g| g.group_id()).map(|id| RuleSource::Group(id.into()));
    let ipv4 = p.ip_ranges().iter().filter_map(|r| r.cidr_ip()).map(|c| RuleSource::Ipv4(c.into()));
    let ipv6 = p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()).map(|c| RuleSource::Ipv6(c.into()));
    let lists =
        p.prefix_list_ids().iter().filter_map(|l| l.prefix_list_id()).map(|id| RuleSource::PrefixList(id.into()));
    groups
        .chain(ipv4)
        .chain(ipv6)
        .chain(lists)
        .map(|source| IngressRule { protocol: protocol.clone(), ports, source })
        .collect()
}

pub(super) fn security_group(sg: &aws_sdk_ec2::types::SecurityGroup) -> SecurityGroup {
    let ingress = sg.ip_permissions().iter().flat_map(ingress_rules).collect();
    SecurityGroup {
        id: sg.group_id().unwrap_or_default().to_string(),
        vpc_id: sg.vpc_id().unwrap_or_default().to_string(),
        tags: sg
            .tags()
            .iter()
            .map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string()))
            .collect(),
        ingress,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(id: &str) -> UserIdGroupPair {
        UserIdGroupPair::builder().user_id("123456789012").group_id(id).build()
    }

    /// What DescribeSecurityGroups answers, and the rules read from it, each revoked as one
    /// IpPermission of exactly its protocol, ports and source.
    #[test]
    fn every_described_shape_is_revoked_as_described() {
        let v4 = |c: &str| IpRange::builder().cidr_ip(c).description("by hand").build();
        let v6 = |c: &str| Ipv6Range::builder().cidr_ipv6(c).build();
        let pl = |id: &str| PrefixListId::builder().prefix_list_id(id).build();
        let cases: Vec<(&str, IpPermission, Vec<IngressRule>)> = vec![
            (
                "all protocols from a CIDR, no ports",
                IpPermission::builder().ip_protocol("-1").ip_ranges(v4("10.9.0.0/16")).build(),
                vec![IngressRule::new("-1", None, "10.9.0.0/16")],
            ),
            (
                "UDP 988 from a CIDR",
                IpPermission::builder()
                    .ip_protocol("udp")
                    .from_port(988)
                    .to_port(988)
                    .ip_ranges(v4("10.9.0.0/16"))
                    .build(),
                vec![IngressRule::new("udp", Some((988, 988)), "10.9.0.0/16")],
            ),
            (
                "TCP from an IPv6 range",
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(988)
                    .to_port(988)
                    .ipv6_ranges(v6("2001:db8::/64"))
                    .build(),
                vec![IngressRule::new("tcp", Some((988, 988)), "2001:db8::/64")],
            ),
            (
                "TCP from a prefix list",
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(1018)
                    .to_port(1023)
                    .prefix_list_ids(pl("pl-63a5400a"))
                    .build(),
                vec![IngressRule::new("tcp", Some((1018, 1023)), "pl-63a5400a")],
            ),
            (
                "ICMP echo from a group",
                IpPermission::builder()
                    .ip_protocol("icmp")
                    .from_port(8)
                    .to_port(-1)
                    .user_id_group_pairs(pair("sg-b"))
                    .build(),
                vec![IngressRule::new("icmp", Some((8, -1)), "sg-b")],
            ),
            (
                "one permission with every kind of source",
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(988)
                    .to_port(988)
                    .user_id_group_pairs(pair("sg-a"))
                    .ip_ranges(v4("10.0.0.0/16"))
                    .ipv6_ranges(v6("::/0"))
                    .prefix_list_ids(pl("pl-1"))
                    .build(),
                ["sg-a", "10.0.0.0/16", "::/0", "pl-1"].iter().map(|s| IngressRule::tcp(988, 988, s)).collect(),
            ),
        ];
        for (what, described, rules) in cases {
            let read = ingress_rules(&described);
            assert_eq!(read, rules, "{what}");
            for rule in &read {
                let sent = ip_permission(rule, None);
                assert_eq!(sent.ip_protocol(), described.ip_protocol(), "{what}");
                assert_eq!((sent.from_port(), sent.to_port()), (described.from_port(), described.to_port()), "{what}");
                let sources = sent.user_id_group_pairs().len()
                    + sent.ip_ranges().len()
                    + sent.ipv6_ranges().len()
                    + sent.prefix_list_ids().len();
                assert_eq!(sources, 1, "{what}: one source per revoked rule");
                assert_eq!(ingress_rules(&sent), vec![rule.clone()], "{what}: the same shape goes back");
            }
        }
    }

    #[test]
    fn only_cidr_rules_the_operator_adds_carry_its_description() {
        let cidr = ip_permission(&IngressRule::tcp(988, 988, "10.0.0.0/16"), Some(CLIENT_RULE_DESCRIPTION));
        assert_eq!(cidr.ip_ranges()[0].description(), Some(CLIENT_RULE_DESCRIPTION));
        let revoked = ip_permission(&IngressRule::tcp(988, 988, "10.0.0.0/16"), None);
        assert_eq!(revoked.ip_ranges()[0].description(), None);
        let group = ip_permission(&IngressRule::tcp(988, 988, "sg-a"), Some(CLIENT_RULE_DESCRIPTION));
        assert_eq!(group.user_id_group_pairs()[0].group_id(), Some("sg-a"));
        assert_eq!(group.user_id_group_pairs()[0].description(), None);
    }
}
