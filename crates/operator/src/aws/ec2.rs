//! EC2 calls (subnets and security groups), one small function each.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, ResourceType, Tag, TagSpecification, UserIdGroupPair};

use super::{Aws, AwsError, ErrorKind, IngressRule, SecurityGroup, Subnet};

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

    /// Adds inbound TCP rules; rules that already exist are not an error.
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn authorize_ingress(&self, group_id: &str, rules: &[IngressRule]) -> Result<(), AwsError> {
        let permissions: Vec<IpPermission> = rules.iter().map(ip_permission).collect();
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

    /// Removes inbound TCP rules (exactly as they were added).
    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn revoke_ingress(&self, group_id: &str, rules: &[IngressRule]) -> Result<(), AwsError> {
        let permissions: Vec<IpPermission> = rules.iter().map(ip_permission).collect();
        let request = self.ec2.revoke_security_group_ingress().group_id(group_id).set_ip_permissions(Some(permissions));
        self.call("ec2", "RevokeSecurityGroupIngress", || request.send()).await.map(|_| ())
    }

    #[tracing::instrument(skip(self), err)]
    pub(crate) async fn delete_security_group(&self, group_id: &str) -> Result<(), AwsError> {
        let request = self.ec2.delete_security_group().group_id(group_id);
        self.call("ec2", "DeleteSecurityGroup", || request.send()).await.map(|_| ())
    }
}

fn ip_permission(rule: &IngressRule) -> IpPermission {
    let b = IpPermission::builder().ip_protocol("tcp").from_port(rule.from_port).to_port(rule.to_port);
    if rule.source.starts_with("sg-") {
        b.user_id_group_pairs(UserIdGroupPair::builder().group_id(&rule.source).build()).build()
    } else {
        b.ip_ranges(IpRange::builder().cidr_ip(&rule.source).description("lustre-operator client").build()).build()
    }
}

pub(super) fn security_group(sg: &aws_sdk_ec2::types::SecurityGroup) -> SecurityGroup {
    let mut ingress = Vec::new();
    for p in sg.ip_permissions() {
        let proto = p.ip_protocol().unwrap_or_default();
        if proto != "tcp" && proto != "6" && proto != "-1" {
            continue;
        }
        let (from_port, to_port) =
            if proto == "-1" { (0, 65535) } else { (p.from_port().unwrap_or(0), p.to_port().unwrap_or(0)) };
        let sources = p
            .user_id_group_pairs()
            .iter()
            .filter_map(|pair| pair.group_id())
            .chain(p.ip_ranges().iter().filter_map(|range| range.cidr_ip()));
        ingress.extend(sources.map(|source| IngressRule { from_port, to_port, source: source.to_string() }));
    }
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
