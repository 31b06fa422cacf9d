//! Security groups and their ingress rules.

use super::{any_glob, invalid_filter, page, tag_filter};
use crate::cidr::parse_cidr;
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::model::{egress_all, has_ports, RuleSource, SecurityGroup, SgRule, State, TableExt, Tags};
use crate::request::Ctx;
use crate::wire::form::Form;
use crate::wire::xml::Xml;

pub(crate) fn group_not_found(id: &str) -> ApiError {
    ApiError::new("InvalidGroup.NotFound", format!("The security group '{id}' does not exist"))
}

fn check_group_id(id: &str) -> ApiResult<()> {
    if ids::is_well_formed(id, "sg") {
        Ok(())
    } else {
        Err(ApiError::new("InvalidGroupId.Malformed", format!("Invalid id: \"{id}\" (expecting \"sg-...\")")))
    }
}

/// Resolves `GroupId`, or `GroupName` in the default VPC.
fn target_group(state: &State, form: &Form) -> ApiResult<String> {
    if let Some(id) = form.get("GroupId").filter(|s| !s.is_empty()) {
        check_group_id(id)?;
        return state.security_groups.contains_key(id).then(|| id.to_string()).ok_or_else(|| group_not_found(id));
    }
    if let Some(name) = form.get("GroupName").filter(|s| !s.is_empty()) {
        let vpc = &state.seed.vpc_id;
        return state
            .security_groups
            .values()
            .find(|g| &g.vpc_id == vpc && g.name == name)
            .map(|g| g.id.clone())
            .ok_or_else(|| {
                ApiError::new(
                    "InvalidGroup.NotFound",
                    format!("The security group '{name}' does not exist in default VPC '{vpc}'"),
                )
            });
    }
    Err(ApiError::missing_parameter("GroupId"))
}

/// Tags from `TagSpecification.N` for `resource_type`.
fn tag_specifications(form: &Form, resource_type: &str) -> ApiResult<Tags> {
    let mut tags = Tags::new();
    for n in form.indices("TagSpecification") {
        let spec = form.sub(&format!("TagSpecification.{n}"));
        let rt = spec.get("ResourceType").unwrap_or_default();
        if rt != resource_type {
            return Err(ApiError::invalid_parameter_value(format!(
                "'{rt}' is not a valid taggable resource type for this operation."
            )));
        }
        for (k, v) in spec.tags("Tag")? {
            tags.insert(k, v.unwrap_or_default());
        }
    }
    if tags.len() > 50 {
        return Err(ApiError::new("TagLimitExceeded", "The maximum number of tags for a resource is 50"));
    }
    Ok(tags)
}

pub(crate) fn create(state: &mut State, ctx: &Ctx<'_>, form: &Form, xml: &mut Xml) -> ApiResult<()> {
    let name = form.require("GroupName")?;
    let description = form.require("GroupDescription")?;
    if name.len() > 255 || description.len() > 255 {
        return Err(ApiError::invalid_parameter_value("GroupName and GroupDescription are at most 255 characters"));
    }
    if name.starts_with("sg-") {
        return Err(ApiError::invalid_parameter_value("Group names may not be in the format sg-*"));
    }
    if name == "default" {
        return Err(ApiError::new("InvalidGroup.Reserved", "The security group 'default' is reserved"));
    }
    let vpc_id = match form.get("VpcId").filter(|s| !s.is_empty()) {
        Some(v) => v.to_string(),
        None => state.seed.vpc_id.clone(),
    };
    if !state.vpcs.contains_key(&vpc_id) {
        return Err(ApiError::new("InvalidVpcID.NotFound", format!("The vpc ID '{vpc_id}' does not exist")));
    }
    let tags = tag_specifications(form, "security-group")?;
    if state.security_groups.values().any(|g| g.vpc_id == vpc_id && g.name == name) {
        return Err(ApiError::new(
            "InvalidGroup.Duplicate",
            format!("The security group '{name}' already exists for VPC '{vpc_id}'"),
        ));
    }
    let id = ids::new_id("sg");
    let group = SecurityGroup {
        id: id.clone(),
        name: name.to_string(),
        description: description.to_string(),
        vpc_id,
        tags: tags.clone(),
        rules: vec![egress_all(ids::new_id("sgr"), ctx.now)],
    };
    state.security_groups.insert(id.clone(), group);
    xml.leaf("groupId", &id).leaf("securityGroupArn", arn(ctx, &id));
    if !tags.is_empty() {
        xml.tag_set(&tags);
    }
    Ok(())
}

fn arn(ctx: &Ctx<'_>, id: &str) -> String {
    ctx.arn("ec2", &format!("security-group/{id}"))
}

pub(crate) fn describe(state: &mut State, ctx: &Ctx<'_>, form: &Form, xml: &mut Xml) -> ApiResult<()> {
    let ids = form.list("GroupId");
    let names = form.list("GroupName");
    let mut groups: Vec<&SecurityGroup> = if !ids.is_empty() {
        let mut out = Vec::new();
        for id in &ids {
            check_group_id(id)?;
            out.push(state.security_groups.get(id).ok_or_else(|| group_not_found(id))?);
        }
        out
    } else {
        state.security_groups.values().collect()
    };
    if !names.is_empty() {
        let vpc = state.seed.vpc_id.clone();
        for n in &names {
            if !groups.iter().any(|g| g.vpc_id == vpc && &g.name == n) {
                return Err(ApiError::new(
                    "InvalidGroup.NotFound",
                    format!("The security group '{n}' does not exist in default VPC '{vpc}'"),
                ));
            }
        }
        groups.retain(|g| g.vpc_id == vpc && names.contains(&g.name));
    }
    for (name, values) in form.filters()? {
        let known = matches!(
            name.as_str(),
            "group-name"
                | "group-id"
                | "vpc-id"
                | "description"
                | "owner-id"
                | "ip-permission.from-port"
                | "ip-permission.to-port"
                | "ip-permission.cidr"
                | "ip-permission.ipv6-cidr"
                | "ip-permission.prefix-list-id"
                | "ip-permission.group-id"
                | "ip-permission.protocol"
        );
        if !known && tag_filter(&name, &values, &Tags::new()).is_none() {
            return Err(invalid_filter(&name));
        }
        let ingress = |g: &SecurityGroup, f: &dyn Fn(&SgRule) -> bool| g.rules.iter().filter(|r| !r.egress).any(f);
        groups.retain(|g| match name.as_str() {
            "group-name" => any_glob(&values, &g.name),
            "group-id" => any_glob(&values, &g.id),
            "vpc-id" => any_glob(&values, &g.vpc_id),
            "description" => any_glob(&values, &g.description),
            "owner-id" => any_glob(&values, &ctx.cfg.account_id),
            "ip-permission.from-port" => ingress(g, &|r| any_glob(&values, &r.from_port.to_string())),
            "ip-permission.to-port" => ingress(g, &|r| any_glob(&values, &r.to_port.to_string())),
            "ip-permission.protocol" => ingress(g, &|r| any_glob(&values, &r.protocol)),
            "ip-permission.cidr" => ingress(g, &|r| matches!(&r.source, RuleSource::Cidr(c) if any_glob(&values, c))),
            "ip-permission.ipv6-cidr" => {
                ingress(g, &|r| matches!(&r.source, RuleSource::Ipv6(c) if any_glob(&values, c)))
            }
            "ip-permission.prefix-list-id" => {
                ingress(g, &|r| matches!(&r.source, RuleSource::PrefixList(p) if any_glob(&values, p)))
            }
            "ip-permission.group-id" => {
                ingress(g, &|r| matches!(&r.source, RuleSource::Group(s) if any_glob(&values, s)))
            }
            _ => tag_filter(&name, &values, &g.tags).unwrap_or(true),
        });
    }
    let (groups, next) = page(groups, form)?;
    xml.open("securityGroupInfo");
    for g in groups {
        xml.open("item")
            .leaf("ownerId", &ctx.cfg.account_id)
            .leaf("groupId", &g.id)
            .leaf("groupName", &g.name)
            .leaf("groupDescription", &g.description)
            .leaf("vpcId", &g.vpc_id)
            .leaf("securityGroupArn", arn(ctx, &g.id));
        permissions(xml, ctx, "ipPermissions", g.rules.iter().filter(|r| !r.egress));
        permissions(xml, ctx, "ipPermissionsEgress", g.rules.iter().filter(|r| r.egress));
        xml.tag_set(&g.tags).close("item");
    }
    xml.close("securityGroupInfo");
    xml.opt_leaf("nextToken", next);
    Ok(())
}

/// Protocol, from port, to port.
type PortKey = (String, i32, i32);

/// Groups atomic rules back into IpPermissions (one per protocol and port range).
fn permissions<'a>(xml: &mut Xml, ctx: &Ctx<'_>, element: &str, rules: impl Iterator<Item = &'a SgRule>) {
    let mut grouped: Vec<(PortKey, Vec<&SgRule>)> = Vec::new();
    for r in rules {
        let key = (r.protocol.clone(), r.from_port, r.to_port);
        match grouped.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(r),
            None => grouped.push((key, vec![r])),
        }
    }
    xml.open(element);
    for ((protocol, from, to), rules) in grouped {
        xml.open("item").leaf("ipProtocol", &protocol);
        // All-protocol rules (and numbered protocols) have no ports: EC2 shows none.
        if has_ports(&protocol) {
            xml.leaf("fromPort", from).leaf("toPort", to);
        }
        xml.open("groups");
        for r in &rules {
            if let RuleSource::Group(g) = &r.source {
                xml.open("item")
                    .leaf("userId", &ctx.cfg.account_id)
                    .leaf("groupId", g)
                    .opt_leaf("description", r.description.as_ref())
                    .close("item");
            }
        }
        xml.close("groups").open("ipRanges");
        for r in &rules {
            if let RuleSource::Cidr(c) = &r.source {
                xml.open("item").leaf("cidrIp", c).opt_leaf("description", r.description.as_ref()).close("item");
            }
        }
        xml.close("ipRanges").open("ipv6Ranges");
        for r in &rules {
            if let RuleSource::Ipv6(c) = &r.source {
                xml.open("item").leaf("cidrIpv6", c).opt_leaf("description", r.description.as_ref()).close("item");
            }
        }
        xml.close("ipv6Ranges").open("prefixListIds");
        for r in &rules {
            if let RuleSource::PrefixList(p) = &r.source {
                xml.open("item").leaf("prefixListId", p).opt_leaf("description", r.description.as_ref()).close("item");
            }
        }
        xml.close("prefixListIds").close("item");
    }
    xml.close(element);
}

/// EC2's spelling of a protocol: the names of TCP, UDP, ICMP and ICMPv6 (given as name or
/// number), "-1" for all, and any other protocol number 0-255 as the number.
fn normalize_protocol(p: &str) -> ApiResult<String> {
    let unknown =
        || ApiError::invalid_parameter_value(format!("Invalid value '{p}' for IP protocol. Unknown protocol."));
    match p.to_ascii_lowercase().as_str() {
        "tcp" | "6" => Ok("tcp".into()),
        "udp" | "17" => Ok("udp".into()),
        "icmp" | "1" => Ok("icmp".into()),
        "icmpv6" | "58" => Ok("icmpv6".into()),
        "-1" | "all" => Ok("-1".into()),
        number => number.parse::<u8>().map(|n| n.to_string()).map_err(|_| unknown()),
    }
}

/// An IPv6 CIDR `addr/len` (len at most 128).
fn is_ipv6_cidr(cidr: &str) -> bool {
    cidr.split_once('/')
        .is_some_and(|(ip, len)| ip.parse::<std::net::Ipv6Addr>().is_ok() && len.parse::<u8>().is_ok_and(|l| l <= 128))
}

/// Parses the permissions of an Authorize/Revoke request into atomic rules (ids and times unset).
// Long on purpose, it reads better whole: EC2's IpPermissions decoding, field by field, as the query protocol nests them.
fn requested_rules(state: &State, ctx: &Ctx<'_>, form: &Form) -> ApiResult<Vec<SgRule>> {
    let mut perms: Vec<Form> =
        form.indices("IpPermissions").into_iter().map(|n| form.sub(&format!("IpPermissions.{n}"))).collect();
    if perms.is_empty() && form.get("IpProtocol").is_some() {
        perms.push(form.clone());
    }
    let mut out = Vec::new();
    for p in perms {
        let protocol = normalize_protocol(p.require("IpProtocol")?)?;
        let (from, to) = if !has_ports(&protocol) {
            // "-1" and numbered protocols open every port, whatever ports are given.
            (-1, -1)
        } else {
            match (p.int("FromPort")?, p.int("ToPort")?) {
                (Some(f), Some(t)) => (f, t),
                // ICMPv6 ports are optional: none means every type and code.
                (None, None) if protocol == "icmpv6" => (-1, -1),
                _ => {
                    return Err(ApiError::invalid_parameter_value(format!(
                        "Invalid value 'Must specify both from and to ports with {}.' for portRange",
                        protocol.to_uppercase()
                    )))
                }
            }
        };
        if (protocol == "tcp" || protocol == "udp")
            && (!(0..=65535).contains(&from) || !(0..=65535).contains(&to) || from > to)
        {
            return Err(ApiError::invalid_parameter_value(format!("Invalid port range {from}-{to}")));
        }
        let mut sources = Vec::new();
        for n in p.indices("IpRanges") {
            let r = p.sub(&format!("IpRanges.{n}"));
            let cidr = r.require("CidrIp")?;
            if parse_cidr(cidr).is_none() {
                return Err(ApiError::invalid_parameter_value(format!("CIDR block {cidr} is malformed")));
            }
            sources.push((RuleSource::Cidr(cidr.to_string()), r.get("Description").map(str::to_string)));
        }
        for n in p.indices("Ipv6Ranges") {
            let r = p.sub(&format!("Ipv6Ranges.{n}"));
            let cidr = r.require("CidrIpv6")?;
            if !is_ipv6_cidr(cidr) {
                return Err(ApiError::invalid_parameter_value(format!("CIDR block {cidr} is malformed")));
            }
            sources.push((RuleSource::Ipv6(cidr.to_ascii_lowercase()), r.get("Description").map(str::to_string)));
        }
        for n in p.indices("PrefixListIds") {
            let r = p.sub(&format!("PrefixListIds.{n}"));
            let id = r.require("PrefixListId")?;
            if !ids::is_well_formed(id, "pl") {
                return Err(ApiError::new(
                    "InvalidPrefixListId.Malformed",
                    format!("Invalid id: \"{id}\" (expecting \"pl-...\")"),
                ));
            }
            sources.push((RuleSource::PrefixList(id.to_string()), r.get("Description").map(str::to_string)));
        }
        for n in p.indices("Groups") {
            let g = p.sub(&format!("Groups.{n}"));
            let id = match (g.get("GroupId"), g.get("GroupName")) {
                (Some(id), _) => id.to_string(),
                (None, Some(name)) => state
                    .security_groups
                    .values()
                    .find(|sg| sg.name == name && sg.vpc_id == state.seed.vpc_id)
                    .map(|sg| sg.id.clone())
                    .ok_or_else(|| group_not_found(name))?,
                (None, None) => return Err(ApiError::missing_parameter(&format!("Groups.{n}.GroupId"))),
            };
            if !state.security_groups.contains_key(&id) {
                return Err(group_not_found(&id));
            }
            sources.push((RuleSource::Group(id), g.get("Description").map(str::to_string)));
        }
        if let Some(cidr) = p.get("CidrIp") {
            if parse_cidr(cidr).is_none() {
                return Err(ApiError::invalid_parameter_value(format!("CIDR block {cidr} is malformed")));
            }
            sources.push((RuleSource::Cidr(cidr.to_string()), None));
        }
        if sources.is_empty() {
            return Err(ApiError::missing_parameter("IpPermissions.N.IpRanges, Ipv6Ranges, PrefixListIds or Groups"));
        }
        for (source, description) in sources {
            out.push(SgRule {
                id: String::new(),
                egress: false,
                protocol: protocol.clone(),
                from_port: from,
                to_port: to,
                source,
                description,
                added_at: ctx.now,
            });
        }
    }
    if out.is_empty() {
        return Err(ApiError::missing_parameter("IpPermissions"));
    }
    Ok(out)
}

fn describe_rule(r: &SgRule) -> String {
    let peer = r.source.peer();
    if r.has_ports() {
        format!(
            "peer: {peer}, {}, from port: {}, to port: {}, ALLOW",
            r.protocol.to_uppercase(),
            r.from_port,
            r.to_port
        )
    } else {
        format!("peer: {peer}, {}, ALLOW", if r.protocol == "-1" { "ALL" } else { &r.protocol })
    }
}

pub(crate) fn authorize(state: &mut State, ctx: &Ctx<'_>, form: &Form, xml: &mut Xml) -> ApiResult<()> {
    let group_id = target_group(state, form)?;
    let mut rules = requested_rules(state, ctx, form)?;
    let group = state.security_groups.get_mut(&group_id).ok_or_else(|| group_not_found(&group_id))?;
    for (i, r) in rules.iter().enumerate() {
        if group.rules.iter().any(|e| e.same_permission(r)) || rules[..i].iter().any(|e| e.same_permission(r)) {
            return Err(ApiError::new(
                "InvalidPermission.Duplicate",
                format!("the specified rule \"{}\" already exists", describe_rule(r)),
            ));
        }
    }
    if group.rules.len() + rules.len() > 120 {
        return Err(ApiError::new(
            "RulesPerSecurityGroupLimitExceeded",
            "The maximum number of rules per security group has been reached.",
        ));
    }
    for r in &mut rules {
        r.id = ids::new_id("sgr");
    }
    group.rules.extend(rules.iter().cloned());
    xml.leaf("return", true).open("securityGroupRuleSet");
    for r in &rules {
        rule_xml(xml, ctx, &group_id, r);
    }
    xml.close("securityGroupRuleSet");
    Ok(())
}

fn rule_xml(xml: &mut Xml, ctx: &Ctx<'_>, group_id: &str, r: &SgRule) {
    xml.open("item")
        .leaf("securityGroupRuleId", &r.id)
        .leaf("groupId", group_id)
        .leaf("groupOwnerId", &ctx.cfg.account_id)
        .leaf("isEgress", r.egress)
        .leaf("ipProtocol", &r.protocol)
        .leaf("fromPort", r.from_port)
        .leaf("toPort", r.to_port);
    match &r.source {
        RuleSource::Cidr(c) => {
            xml.leaf("cidrIpv4", c);
        }
        RuleSource::Ipv6(c) => {
            xml.leaf("cidrIpv6", c);
        }
        RuleSource::PrefixList(p) => {
            xml.leaf("prefixListId", p);
        }
        RuleSource::Group(g) => {
            xml.open("referencedGroupInfo")
                .leaf("groupId", g)
                .leaf("userId", &ctx.cfg.account_id)
                .close("referencedGroupInfo");
        }
    }
    xml.opt_leaf("description", r.description.as_ref())
        .leaf(
            "securityGroupRuleArn",
            format!("arn:aws:ec2:{}:{}:security-group-rule/{}", ctx.cfg.region, ctx.cfg.account_id, r.id),
        )
        .open("tagSet")
        .close("tagSet")
        .close("item");
}

pub(crate) fn revoke(state: &mut State, ctx: &Ctx<'_>, form: &Form, xml: &mut Xml) -> ApiResult<()> {
    let group_id = target_group(state, form)?;
    let rule_ids = form.list("SecurityGroupRuleId");
    let requested = if rule_ids.is_empty() { requested_rules(state, ctx, form)? } else { Vec::new() };
    let group = state.security_groups.get_mut(&group_id).ok_or_else(|| group_not_found(&group_id))?;
    let mut remove = Vec::new();
    for id in &rule_ids {
        match group.rules.iter().position(|r| &r.id == id && !r.egress) {
            Some(i) => remove.push(i),
            None => {
                return Err(ApiError::new(
                    "InvalidSecurityGroupRuleId.NotFound",
                    format!("The security group rule ID '{id}' does not exist"),
                ))
            }
        }
    }
    for r in &requested {
        match group.rules.iter().position(|e| e.same_permission(r)) {
            Some(i) => remove.push(i),
            None => {
                return Err(ApiError::new(
                    "InvalidPermission.NotFound",
                    "The specified rule does not exist in this security group.",
                ))
            }
        }
    }
    remove.sort_unstable();
    remove.dedup();
    let mut revoked = Vec::new();
    for i in remove.into_iter().rev() {
        revoked.push(group.rules.remove(i));
    }
    xml.leaf("return", true).open("revokedSecurityGroupRuleSet");
    for r in revoked.iter().rev() {
        rule_xml(xml, ctx, &group_id, r);
    }
    xml.close("revokedSecurityGroupRuleSet");
    Ok(())
}

pub(crate) fn delete(state: &mut State, _ctx: &Ctx<'_>, form: &Form, xml: &mut Xml) -> ApiResult<()> {
    let id = target_group(state, form)?;
    let group = state.security_groups.get(&id).ok_or_else(|| group_not_found(&id))?;
    if group.name == "default" {
        return Err(ApiError::new(
            "CannotDelete",
            format!("the specified group: \"{id}\" name: \"default\" cannot be deleted by a user"),
        ));
    }
    let dependent = state.network_interfaces.values().any(|e| e.group_ids.contains(&id))
        || state
            .security_groups
            .values()
            .any(|g| g.id != id && g.rules.iter().any(|r| r.source == RuleSource::Group(id.clone())));
    if dependent {
        return Err(ApiError::new("DependencyViolation", format!("resource {id} has a dependent object")));
    }
    state.security_groups.remove(&id);
    xml.leaf("return", true).leaf("groupId", &id);
    Ok(())
}

pub(crate) fn describe_rules(state: &mut State, ctx: &Ctx<'_>, form: &Form, xml: &mut Xml) -> ApiResult<()> {
    let ids = form.list("SecurityGroupRuleId");
    let mut rules: Vec<(&str, &SgRule)> =
        state.security_groups.values().flat_map(|g| g.rules.iter().map(move |r| (g.id.as_str(), r))).collect();
    if !ids.is_empty() {
        for id in &ids {
            if !rules.iter().any(|(_, r)| &r.id == id) {
                return Err(ApiError::new(
                    "InvalidSecurityGroupRuleId.NotFound",
                    format!("The security group rule ID '{id}' does not exist"),
                ));
            }
        }
        rules.retain(|(_, r)| ids.contains(&r.id));
    }
    for (name, values) in form.filters()? {
        match name.as_str() {
            "group-id" => rules.retain(|(g, _)| any_glob(&values, g)),
            "security-group-rule-id" => rules.retain(|(_, r)| any_glob(&values, &r.id)),
            "is-egress" => rules.retain(|(_, r)| any_glob(&values, if r.egress { "true" } else { "false" })),
            n if n.starts_with("tag") => rules.retain(|_| false),
            _ => return Err(invalid_filter(&name)),
        }
    }
    let (rules, next) = page(rules, form)?;
    xml.open("securityGroupRuleSet");
    for (g, r) in rules {
        rule_xml(xml, ctx, g, r);
    }
    xml.close("securityGroupRuleSet");
    xml.opt_leaf("nextToken", next);
    Ok(())
}

/// The console's "delete security group": no dependency check; ENIs lose the group.
pub(crate) fn delete_group_out_of_band(state: &mut State, id: &str) -> ApiResult<()> {
    state.security_groups.remove(id).ok_or_else(|| group_not_found(id))?;
    let source = RuleSource::Group(id.to_string());
    state.network_interfaces.update_where(|e| e.group_ids.iter().any(|g| g == id), |e| e.group_ids.retain(|g| g != id));
    state
        .file_systems
        .update_where(|f| f.security_group_ids.iter().any(|g| g == id), |f| f.security_group_ids.retain(|g| g != id));
    state
        .security_groups
        .update_where(|g| g.rules.iter().any(|r| r.source == source), |g| g.rules.retain(|r| r.source != source));
    Ok(())
}

/// The console's "delete inbound rule": removes every ingress rule with exactly these ports.
pub(crate) fn revoke_out_of_band(state: &mut State, id: &str, from_port: i32, to_port: i32) -> ApiResult<usize> {
    let group = state.security_groups.get_mut(id).ok_or_else(|| group_not_found(id))?;
    let before = group.rules.len();
    group.rules.retain(|r| r.egress || r.from_port != from_port || r.to_port != to_port);
    let removed = before - group.rules.len();
    if removed == 0 {
        return Err(ApiError::new(
            "InvalidPermission.NotFound",
            "The specified rule does not exist in this security group.",
        ));
    }
    Ok(removed)
}
