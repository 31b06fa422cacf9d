//! CreateTags and DeleteTags on security groups, VPCs, subnets and network interfaces.

use crate::error::{ApiError, ApiResult};
use crate::model::{State, Tags};
use crate::request::Ctx;
use crate::wire::form::Form;
use crate::wire::xml::Xml;

fn tags_mut<'s>(state: &'s mut State, id: &str) -> ApiResult<&'s mut Tags> {
    let prefix = id.split('-').next().unwrap_or_default();
    let found = match prefix {
        "sg" => state.security_groups.get_mut(id).map(|g| &mut g.tags),
        "vpc" => state.vpcs.get_mut(id).map(|v| &mut v.tags),
        "subnet" => state.subnets.get_mut(id).map(|s| &mut s.tags),
        "eni" => state.network_interfaces.get_mut(id).map(|e| &mut e.tags),
        _ => return Err(ApiError::new("InvalidID", format!("The ID '{id}' is not valid"))),
    };
    found.ok_or_else(|| match prefix {
        "sg" => super::security_groups::group_not_found(id),
        "vpc" => ApiError::new("InvalidVpcID.NotFound", format!("The vpc ID '{id}' does not exist")),
        "subnet" => ApiError::new("InvalidSubnetID.NotFound", format!("The subnet ID '{id}' does not exist")),
        _ => ApiError::new(
            "InvalidNetworkInterfaceID.NotFound",
            format!("The networkInterface ID '{id}' does not exist"),
        ),
    })
}

pub(crate) fn create(state: &mut State, _ctx: &Ctx<'_>, form: &Form, xml: &mut Xml) -> ApiResult<()> {
    let ids = form.list("ResourceId");
    if ids.is_empty() {
        return Err(ApiError::missing_parameter("ResourceId"));
    }
    let tags = form.tags("Tag")?;
    if tags.is_empty() {
        return Err(ApiError::missing_parameter("Tag"));
    }
    for (k, v) in &tags {
        if k.is_empty() || k.len() > 128 || v.as_ref().is_some_and(|v| v.len() > 256) || k.starts_with("aws:") {
            return Err(ApiError::invalid_parameter_value(format!("Tag key '{k}' or its value is invalid")));
        }
    }
    for id in &ids {
        let existing = tags_mut(state, id)?;
        let mut merged = existing.clone();
        merged.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone().unwrap_or_default())));
        if merged.len() > 50 {
            return Err(ApiError::new(
                "TagLimitExceeded",
                format!("The maximum number of tags for resource {id} is 50"),
            ));
        }
    }
    for id in &ids {
        let existing = tags_mut(state, id)?;
        existing.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone().unwrap_or_default())));
    }
    xml.leaf("return", true);
    Ok(())
}

pub(crate) fn delete(state: &mut State, _ctx: &Ctx<'_>, form: &Form, xml: &mut Xml) -> ApiResult<()> {
    let ids = form.list("ResourceId");
    if ids.is_empty() {
        return Err(ApiError::missing_parameter("ResourceId"));
    }
    let tags = form.tags("Tag")?;
    for id in &ids {
        tags_mut(state, id)?;
    }
    for id in &ids {
        let existing = tags_mut(state, id)?;
        if tags.is_empty() {
            existing.clear();
        }
        for (k, v) in &tags {
            if v.as_ref().is_none_or(|v| existing.get(k) == Some(v)) {
                existing.remove(k);
            }
        }
    }
    xml.leaf("return", true);
    Ok(())
}
