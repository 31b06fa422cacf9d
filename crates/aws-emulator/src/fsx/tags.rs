//! TagResource, UntagResource, ListTagsForResource on file systems, associations and tasks.

use serde_json::{json, Map, Value};

use super::{page, parse_tags, render_tags};
use crate::error::{ApiError, ApiResult};
use crate::model::{State, Tags};
use crate::request::Ctx;
use crate::wire::json::Fields;

fn not_found(arn: &str) -> ApiError {
    ApiError::new("ResourceNotFound", format!("The resource ARN '{arn}' does not exist")).with_field("ResourceARN", arn)
}

/// Resolves an ARN to the tag map of the resource it names.
fn tags_of<'s>(state: &'s mut State, ctx: &Ctx<'_>, arn: &str) -> ApiResult<&'s mut Tags> {
    let prefix = ctx.arn("fsx", "");
    let Some(resource) = arn.strip_prefix(&prefix) else {
        if arn.starts_with("arn:") {
            return Err(not_found(arn));
        }
        return Err(ApiError::bad_request(format!("Invalid ResourceARN: {arn}")));
    };
    let mut parts = resource.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("file-system"), Some(id), None, None) => {
            state.file_systems.get_mut(id).map(|f| &mut f.tags).ok_or_else(|| not_found(arn))
        }
        (Some("association"), Some(fs), Some(id), None) => state
            .associations
            .get_mut(id)
            .filter(|a| a.file_system_id == fs)
            .map(|a| &mut a.tags)
            .ok_or_else(|| not_found(arn)),
        (Some("task"), Some(id), None, None) => {
            state.tasks.get_mut(id).map(|t| &mut t.tags).ok_or_else(|| not_found(arn))
        }
        _ => Err(not_found(arn)),
    }
}

pub(crate) fn tag(state: &mut State, ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let arn = req.req_str("ResourceARN")?;
    let new = parse_tags(req, "Tags")?.ok_or_else(|| ApiError::bad_request("Tags is required"))?;
    if new.is_empty() {
        return Err(ApiError::bad_request("Tags must contain at least one tag"));
    }
    let tags = tags_of(state, ctx, arn)?;
    let mut merged = tags.clone();
    merged.extend(new);
    if merged.len() > 50 {
        return Err(ApiError::bad_request("A resource can have at most 50 tags"));
    }
    *tags = merged;
    Ok(json!({}))
}

pub(crate) fn untag(state: &mut State, ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let arn = req.req_str("ResourceARN")?;
    let keys = req.opt_str_list("TagKeys")?.ok_or_else(|| ApiError::bad_request("TagKeys is required"))?;
    let tags = tags_of(state, ctx, arn)?;
    for k in keys {
        tags.remove(&k);
    }
    Ok(json!({}))
}

pub(crate) fn list(state: &mut State, ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let arn = req.req_str("ResourceARN")?;
    let max = req.opt_i64("MaxResults")?;
    let token = req.opt_str("NextToken")?;
    let tags = tags_of(state, ctx, arn)?.clone();
    let (items, next) = page(tags.into_iter().collect::<Vec<_>>(), max, token, 2_147_483_647)?;
    let mut out = json!({ "Tags": render_tags(&items.into_iter().collect()) });
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}
