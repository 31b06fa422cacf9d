//! DescribeVpcs, DescribeSubnets, DescribeNetworkInterfaces.

use super::{any_glob, invalid_filter, page, tag_filter};
use crate::error::{ApiError, ApiResult};
use crate::model::State;
use crate::request::Ctx;
use crate::wire::form::Form;
use crate::wire::xml::Xml;

pub(crate) fn describe_vpcs(state: &mut State, ctx: &Ctx<'_>, form: &Form, xml: &mut Xml) -> ApiResult<()> {
    let ids = form.list("VpcId");
    let mut vpcs: Vec<_> = if ids.is_empty() {
        state.vpcs.values().collect()
    } else {
        ids.iter()
            .map(|id| {
                state
                    .vpcs
                    .get(id)
                    .ok_or_else(|| ApiError::new("InvalidVpcID.NotFound", format!("The vpc ID '{id}' does not exist")))
            })
            .collect::<ApiResult<_>>()?
    };
    for (name, values) in form.filters()? {
        let known = matches!(
            name.as_str(),
            "vpc-id"
                | "is-default"
                | "cidr"
                | "cidr-block"
                | "cidr-block-association.cidr-block"
                | "state"
                | "owner-id"
        );
        if !known && tag_filter(&name, &values, &Default::default()).is_none() {
            return Err(invalid_filter(&name));
        }
        vpcs.retain(|v| match name.as_str() {
            "vpc-id" => any_glob(&values, &v.id),
            "is-default" => any_glob(&values, if v.is_default { "true" } else { "false" }),
            "cidr" | "cidr-block" | "cidr-block-association.cidr-block" => any_glob(&values, &v.cidr),
            "state" => any_glob(&values, "available"),
            "owner-id" => any_glob(&values, &ctx.cfg.account_id),
            _ => tag_filter(&name, &values, &v.tags).unwrap_or(true),
        });
    }
    let (vpcs, next) = page(vpcs, form)?;
    xml.open("vpcSet");
    for v in vpcs {
        xml.open("item")
            .leaf("vpcId", &v.id)
            .leaf("ownerId", &ctx.cfg.account_id)
            .leaf("state", "available")
            .leaf("cidrBlock", &v.cidr)
            .leaf("dhcpOptionsId", "dopt-0e5eed00000000001")
            .leaf("instanceTenancy", "default")
            .leaf("isDefault", v.is_default)
            .tag_set(&v.tags)
            .close("item");
    }
    xml.close("vpcSet");
    xml.opt_leaf("nextToken", next);
    Ok(())
}

pub(crate) fn describe_subnets(state: &mut State, ctx: &Ctx<'_>, form: &Form, xml: &mut Xml) -> ApiResult<()> {
    let ids = form.list("SubnetId");
    let mut subnets: Vec<_> = if ids.is_empty() {
        state.subnets.values().collect()
    } else {
        ids.iter()
            .map(|id| {
                state.subnets.get(id).ok_or_else(|| {
                    ApiError::new("InvalidSubnetID.NotFound", format!("The subnet ID '{id}' does not exist"))
                })
            })
            .collect::<ApiResult<_>>()?
    };
    for (name, values) in form.filters()? {
        let known = matches!(
            name.as_str(),
            "subnet-id"
                | "vpc-id"
                | "availability-zone"
                | "cidr"
                | "cidr-block"
                | "cidrBlock"
                | "state"
                | "default-for-az"
                | "owner-id"
        );
        if !known && tag_filter(&name, &values, &Default::default()).is_none() {
            return Err(invalid_filter(&name));
        }
        subnets.retain(|s| match name.as_str() {
            "subnet-id" => any_glob(&values, &s.id),
            "vpc-id" => any_glob(&values, &s.vpc_id),
            "availability-zone" => any_glob(&values, &s.az),
            "cidr" | "cidr-block" | "cidrBlock" => any_glob(&values, &s.cidr),
            "state" => any_glob(&values, "available"),
            "default-for-az" => any_glob(&values, "false"),
            "owner-id" => any_glob(&values, &ctx.cfg.account_id),
            _ => tag_filter(&name, &values, &s.tags).unwrap_or(true),
        });
    }
    let (subnets, next) = page(subnets, form)?;
    xml.open("subnetSet");
    for s in subnets {
        let free = crate::cidr::parse_cidr(&s.cidr).map(|(_, len)| (1u64 << (32 - len)).saturating_sub(5)).unwrap_or(0);
        let az_id =
            format!("use1-az{}", s.az.chars().last().map(|c| (c as u32).saturating_sub('a' as u32) + 1).unwrap_or(1));
        xml.open("item")
            .leaf("subnetId", &s.id)
            .leaf("subnetArn", format!("arn:aws:ec2:{}:{}:subnet/{}", ctx.cfg.region, ctx.cfg.account_id, s.id))
            .leaf("state", "available")
            .leaf("vpcId", &s.vpc_id)
            .leaf("cidrBlock", &s.cidr)
            .leaf("availableIpAddressCount", free)
            .leaf("availabilityZone", &s.az)
            .leaf("availabilityZoneId", az_id)
            .leaf("defaultForAz", false)
            .leaf("mapPublicIpOnLaunch", false)
            .leaf("ownerId", &ctx.cfg.account_id)
            .tag_set(&s.tags)
            .close("item");
    }
    xml.close("subnetSet");
    xml.opt_leaf("nextToken", next);
    Ok(())
}

// Long on purpose, it reads better whole: EC2's filters one after another, then the XML answer in EC2's field order.
pub(crate) fn describe_network_interfaces(
    state: &mut State,
    ctx: &Ctx<'_>,
    form: &Form,
    xml: &mut Xml,
) -> ApiResult<()> {
    let ids = form.list("NetworkInterfaceId");
    let mut enis: Vec<_> = if ids.is_empty() {
        state.network_interfaces.values().collect()
    } else {
        ids.iter()
            .map(|id| {
                state.network_interfaces.get(id).ok_or_else(|| {
                    ApiError::new(
                        "InvalidNetworkInterfaceID.NotFound",
                        format!("The networkInterface ID '{id}' does not exist"),
                    )
                })
            })
            .collect::<ApiResult<_>>()?
    };
    for (name, values) in form.filters()? {
        let known = matches!(
            name.as_str(),
            "network-interface-id"
                | "subnet-id"
                | "vpc-id"
                | "group-id"
                | "availability-zone"
                | "description"
                | "status"
                | "owner-id"
                | "requester-managed"
                | "private-ip-address"
                | "addresses.private-ip-address"
        );
        if !known && tag_filter(&name, &values, &Default::default()).is_none() {
            return Err(invalid_filter(&name));
        }
        enis.retain(|e| match name.as_str() {
            "network-interface-id" => any_glob(&values, &e.id),
            "subnet-id" => any_glob(&values, &e.subnet_id),
            "vpc-id" => any_glob(&values, &e.vpc_id),
            "group-id" => e.group_ids.iter().any(|g| any_glob(&values, g)),
            "availability-zone" => any_glob(&values, &e.availability_zone),
            "description" => any_glob(&values, &e.description),
            "status" => any_glob(&values, "in-use"),
            "owner-id" => any_glob(&values, &ctx.cfg.account_id),
            "requester-managed" => any_glob(&values, "true"),
            "private-ip-address" | "addresses.private-ip-address" => any_glob(&values, &e.private_ip),
            _ => tag_filter(&name, &values, &e.tags).unwrap_or(true),
        });
    }
    let (enis, next) = page(enis, form)?;
    xml.open("networkInterfaceSet");
    for e in enis {
        xml.open("item")
            .leaf("networkInterfaceId", &e.id)
            .leaf("subnetId", &e.subnet_id)
            .leaf("vpcId", &e.vpc_id)
            .leaf("availabilityZone", &e.availability_zone)
            .leaf("description", &e.description)
            .leaf("ownerId", &ctx.cfg.account_id)
            .leaf("requesterId", "AROAEMULATORFSX")
            .leaf("requesterManaged", true)
            .leaf("status", "in-use")
            .leaf("macAddress", "02:00:00:00:00:01")
            .leaf("privateIpAddress", &e.private_ip)
            .leaf("sourceDestCheck", true)
            .leaf("interfaceType", "interface")
            .open("groupSet");
        for g in &e.group_ids {
            let name = state.security_groups.get(g).map(|sg| sg.name.clone()).unwrap_or_default();
            xml.open("item").leaf("groupId", g).leaf("groupName", name).close("item");
        }
        xml.close("groupSet").tag_set(&e.tags).close("item");
    }
    xml.close("networkInterfaceSet");
    xml.opt_leaf("nextToken", next);
    Ok(())
}
