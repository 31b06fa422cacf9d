//! Amazon EC2 (query protocol): VPCs, subnets, security groups, rules, tags, network interfaces.

mod network;
mod security_groups;
mod tags;

use crate::error::{ApiError, ApiResult};
use crate::model::{State, Tags};
use crate::request::{self, Ctx, Operation};
use crate::wire::form::Form;
use crate::wire::xml::Xml;

pub(crate) use security_groups::{delete_group_out_of_band, revoke_out_of_band};

pub(crate) const THROTTLING: &str = "RequestLimitExceeded";

/// What serves one EC2 action: it writes the XML that follows `<requestId>` in the answer.
pub(crate) type Handler = fn(&mut State, &Ctx<'_>, &Form, &mut Xml) -> ApiResult<()>;

const fn op(name: &'static str, mutating: bool, handler: Handler) -> Operation<Handler> {
    Operation { name, mutating, handler }
}

/// Every EC2 action the emulator implements; the only list of them.
pub(crate) const OPERATIONS: &[Operation<Handler>] = &[
    op("DescribeVpcs", false, network::describe_vpcs),
    op("DescribeSubnets", false, network::describe_subnets),
    op("CreateSecurityGroup", true, security_groups::create),
    op("DescribeSecurityGroups", false, security_groups::describe),
    op("AuthorizeSecurityGroupIngress", true, security_groups::authorize),
    op("RevokeSecurityGroupIngress", true, security_groups::revoke),
    op("DeleteSecurityGroup", true, security_groups::delete),
    op("CreateTags", true, tags::create),
    op("DeleteTags", true, tags::delete),
    op("DescribeNetworkInterfaces", false, network::describe_network_interfaces),
    op("DescribeSecurityGroupRules", false, security_groups::describe_rules),
];

/// The action named `name`, if the emulator implements it.
pub(crate) fn operation(name: &str) -> Option<&'static Operation<Handler>> {
    request::find(OPERATIONS, name)
}

pub(crate) fn invalid_action(action: &str) -> ApiError {
    ApiError::new("InvalidAction", format!("The action {action} is not valid for this web service."))
}

/// Runs one action; returns the XML inside `<ActionResponse>` after `<requestId>`.
pub(crate) fn handle(state: &mut State, ctx: &Ctx<'_>, op: &Operation<Handler>, form: &Form) -> ApiResult<String> {
    let mut xml = Xml::new();
    (op.handler)(state, ctx, form, &mut xml)?;
    Ok(xml.finish())
}

/// EC2 filter values accept `*` and `?` wildcards.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
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

pub(crate) fn any_glob(values: &[String], text: &str) -> bool {
    values.iter().any(|v| glob(v, text))
}

/// `tag:KEY`, `tag-key`, `tag-value`: `Some(matches)`, or `None` for another filter.
pub(crate) fn tag_filter(name: &str, values: &[String], tags: &Tags) -> Option<bool> {
    if let Some(key) = name.strip_prefix("tag:") {
        return Some(tags.get(key).is_some_and(|v| any_glob(values, v)));
    }
    match name {
        "tag-key" => Some(tags.keys().any(|k| any_glob(values, k))),
        "tag-value" => Some(tags.values().any(|v| any_glob(values, v))),
        _ => None,
    }
}

pub(crate) fn invalid_filter(name: &str) -> ApiError {
    ApiError::new("InvalidParameterValue", format!("The filter '{name}' is invalid"))
}

/// Offset paging with an opaque NextToken; EC2 MaxResults is 5..=1000.
pub(crate) fn page<T>(items: Vec<T>, form: &Form) -> ApiResult<(Vec<T>, Option<String>)> {
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
