//! Amazon FSx (awsJson1.1, target prefix `AWSSimbaAPIService_v20180301.`).

mod associations;
mod file_systems;
mod tags;
mod tasks;
mod update;
mod validate;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::model::{State, Tags, TokenEntry};
use crate::request::{self, Ctx, Operation};
use crate::wire::json::Fields;

pub(crate) const TARGET_PREFIX: &str = "AWSSimbaAPIService_v20180301.";
pub(crate) const THROTTLING: &str = "ThrottlingException";

/// What serves one FSx operation.
pub(crate) type Handler = fn(&mut State, &Ctx<'_>, &Map<String, Value>) -> ApiResult<Value>;

const fn op(name: &'static str, mutating: bool, handler: Handler) -> Operation<Handler> {
    Operation { name, mutating, handler }
}

/// Every FSx operation the emulator implements; the only list of them.
pub(crate) const OPERATIONS: &[Operation<Handler>] = &[
    op("CreateFileSystem", true, file_systems::create),
    op("DescribeFileSystems", false, file_systems::describe),
    op("UpdateFileSystem", true, update::update),
    op("DeleteFileSystem", true, file_systems::delete),
    op("TagResource", true, tags::tag),
    op("UntagResource", true, tags::untag),
    op("ListTagsForResource", false, tags::list),
    op("CreateDataRepositoryAssociation", true, associations::create),
    op("DescribeDataRepositoryAssociations", false, associations::describe),
    op("UpdateDataRepositoryAssociation", true, associations::update),
    op("DeleteDataRepositoryAssociation", true, associations::delete),
    op("CreateDataRepositoryTask", true, tasks::create),
    op("DescribeDataRepositoryTasks", false, tasks::describe),
    op("CancelDataRepositoryTask", true, tasks::cancel),
];

/// The operation named `name`, if the emulator implements it.
pub(crate) fn operation(name: &str) -> Option<&'static Operation<Handler>> {
    request::find(OPERATIONS, name)
}

pub(crate) fn unknown_operation(op: &str) -> ApiError {
    ApiError::new("UnknownOperationException", format!("Unknown operation {op}"))
}

/// Epoch seconds with fractions, as awsJson1.1 timestamps are.
pub(crate) fn epoch(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

pub(crate) fn render_tags(tags: &Tags) -> Value {
    Value::Array(tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect())
}

/// Parses `Tags: [{Key, Value}]`, 50 at most.
pub(crate) fn parse_tags(req: &Map<String, Value>, key: &str) -> ApiResult<Option<Tags>> {
    let Some(list) = req.opt_obj_list(key)? else {
        return Ok(None);
    };
    if list.len() > 50 {
        return Err(ApiError::bad_request("A resource can have at most 50 tags"));
    }
    let mut tags = Tags::new();
    for t in list {
        let k = t.opt_str("Key")?.ok_or_else(|| ApiError::bad_request("Tag Key is required"))?;
        let v = t.opt_str("Value")?.unwrap_or("");
        if k.is_empty() || k.len() > 128 || v.len() > 256 || k.starts_with("aws:") {
            return Err(ApiError::bad_request(format!("Invalid tag key or value: {k}")));
        }
        tags.insert(k.to_string(), v.to_string());
    }
    Ok(Some(tags))
}

/// ClientRequestToken: 1-63 characters `[A-Za-z0-9_.-]`.
pub(crate) fn check_token(token: &str) -> ApiResult<()> {
    let ok = !token.is_empty()
        && token.len() <= 63
        && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request("ClientRequestToken must be 1-63 characters of [A-Za-z0-9_.-]"))
    }
}

/// Idempotency: `Ok(Some(id))` when the token was already used with the same parameters.
pub(crate) fn token_lookup(
    state: &State,
    op: &str,
    token: Option<&str>,
    req: &Map<String, Value>,
) -> ApiResult<Option<String>> {
    let Some(token) = token else {
        return Ok(None);
    };
    check_token(token)?;
    match state.tokens.get(&format!("{op}:{token}")) {
        None => Ok(None),
        Some(entry) if entry.params == token_params(req) => Ok(Some(entry.resource_id.clone())),
        Some(_) => Err(ApiError::new(
            "IncompatibleParameterError",
            "The request's ClientRequestToken was already used with different parameters",
        )
        .with_field("Parameter", "ClientRequestToken")),
    }
}

pub(crate) fn token_remember(
    state: &mut State,
    ctx: &Ctx<'_>,
    op: &str,
    token: Option<&str>,
    req: &Map<String, Value>,
    id: &str,
) {
    if let Some(token) = token {
        state.tokens.insert(
            format!("{op}:{token}"),
            TokenEntry { resource_id: id.to_string(), params: token_params(req), at: ctx.now },
        );
    }
}

fn token_params(req: &Map<String, Value>) -> Value {
    let mut params = req.clone();
    params.remove("ClientRequestToken");
    Value::Object(params)
}

/// Offset paging with an opaque NextToken.
pub(crate) fn page<T>(
    items: Vec<T>,
    max_results: Option<i64>,
    next_token: Option<&str>,
    max_allowed: i64,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let max = match max_results {
        None => max_allowed,
        Some(m) if (1..=max_allowed).contains(&m) => m,
        Some(m) => {
            return Err(ApiError::bad_request(format!("MaxResults must be between 1 and {max_allowed}, got {m}")))
        }
    };
    let start = match next_token {
        None => 0,
        Some(t) => t
            .strip_prefix("nt-")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| ApiError::bad_request("Invalid NextToken"))?,
    };
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(max).collect();
    let end = start.saturating_add(page.len());
    let next = (end < total).then(|| format!("nt-{end}"));
    Ok((page, next))
}

/// `s3://bucket[/prefix]`: returns the bucket.
pub(crate) fn s3_bucket(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("s3://")?;
    let bucket = rest.split('/').next()?;
    let ok = (3..=63).contains(&bucket.len())
        && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !rest.contains("//")
        && path.len() <= 4357;
    ok.then_some(bucket)
}
