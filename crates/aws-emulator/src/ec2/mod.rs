//! Amazon EC2 (query protocol): VPCs, subnets, security groups, rules, tags, network interfaces.

mod network;
mod security_groups;
mod tags;

use crate::error::{ApiError, ApiResult};
use crate::fsx::Ctx;
use crate::state::{State, Tags};
use crate::wire::form::Form;
use crate::wire::xml::Xml;

pub use security_groups::{delete_group_out_of_band, revoke_out_of_band};

pub const THROTTLING: &str = "RequestLimitExceeded";
pub const API_VERSION: &str = "2016-11-15";

pub const OPERATIONS: &[(&str, bool)] = &[
    ("DescribeVpcs", false),
    ("DescribeSubnets", false),
    ("CreateSecurityGroup", true),
    ("DescribeSecurityGroups", false),
    ("AuthorizeSecurityGroupIngress", true),
    ("RevokeSecurityGroupIngress", true),
    ("DeleteSecurityGroup", true),
    ("CreateTags", true),
    ("DeleteTags", true),
    ("DescribeNetworkInterfaces", false),
    ("DescribeSecurityGroupRules", false),
];

pub fn operation(name: &str) -> Option<bool> {
    OPERATIONS.iter().find(|(op, _)| *op == name).map(|(_, m)| *m)
}

pub fn invalid_action(action: &str) -> ApiError {
    ApiError::new("InvalidAction", format!("The action {action} is not valid for this web service."))
}

/// Handles one action; returns the XML inside `<ActionResponse>` after `<requestId>`.
pub fn handle(state: &mut State, ctx: &Ctx<'_>, action: &str, form: &Form) -> ApiResult<String> {
    let mut xml = Xml::new();
    match action {
        "DescribeVpcs" => network::describe_vpcs(state, ctx, form, &mut xml)?,
        "DescribeSubnets" => network::describe_subnets(state, ctx, form, &mut xml)?,
        "DescribeNetworkInterfaces" => network::describe_network_interfaces(state, ctx, form, &mut xml)?,
        "CreateSecurityGroup" => security_groups::create(state, ctx, form, &mut xml)?,
        "DescribeSecurityGroups" => security_groups::describe(state, ctx, form, &mut xml)?,
        "AuthorizeSecurityGroupIngress" => security_groups::authorize(state, ctx, form, &mut xml)?,
        "RevokeSecurityGroupIngress" => security_groups::revoke(state, ctx, form, &mut xml)?,
        "DeleteSecurityGroup" => security_groups::delete(state, ctx, form, &mut xml)?,
        "DescribeSecurityGroupRules" => security_groups::describe_rules(state, ctx, form, &mut xml)?,
        "CreateTags" => tags::create(state, form, &mut xml)?,
        "DeleteTags" => tags::delete(state, form, &mut xml)?,
        other => return Err(invalid_action(other)),
    }
    Ok(xml.finish())
}

/// EC2 filter values accept `*` and `?` wildcards.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

pub fn any_glob(values: &[String], text: &str) -> bool {
    values.iter().any(|v| glob(v, text))
}

/// `tag:KEY`, `tag-key`, `tag-value`: `Some(matches)`, or `None` for another filter.
pub fn tag_filter(name: &str, values: &[String], tags: &Tags) -> Option<bool> {
    if let Some(key) = name.strip_prefix("tag:") {
        return Some(tags.get(key).is_some_and(|v| any_glob(values, v)));
    }
    match name {
        "tag-key" => Some(tags.keys().any(|k| any_glob(values, k))),
        "tag-value" => Some(tags.values().any(|v| any_glob(values, v))),
        _ => None,
    }
}

pub fn invalid_filter(name: &str) -> ApiError {
    ApiError::new("InvalidParameterValue", format!("The filter '{name}' is invalid"))
}

/// Offset paging with an opaque NextToken; EC2 MaxResults is 5..=1000.
pub fn page<T>(items: Vec<T>, form: &Form) -> ApiResult<(Vec<T>, Option<String>)> {
    let max = match form.int("MaxResults")? {
        None => usize::MAX,
        Some(m) if (5..=1000).contains(&m) => usize::try_from(m).unwrap_or(1000),
        Some(m) => {
            return Err(ApiError::invalid_parameter_value(format!(
                "Value ( {m} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000."
            )))
        }
    };
    let start = match form.get("NextToken") {
        None | Some("") => 0,
        Some(t) => t
            .strip_prefix("nt-")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| ApiError::new("InvalidNextToken", "The specified token is invalid"))?,
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(max).collect();
    let end = start.saturating_add(page.len());
    Ok((page, (end < total).then(|| format!("nt-{end}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("lustre-*", "lustre-abc"));
        assert!(glob("*", ""));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a*d", "abc"));
    }
}
