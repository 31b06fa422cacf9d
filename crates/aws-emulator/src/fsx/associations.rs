//! Data repository associations (DRAs): Create/Describe/Update/Delete.

use serde_json::{json, Map, Value};

use super::{epoch, page, parse_tags, render_tags, s3_bucket, token_lookup, token_remember, validate};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::model::{Association, State};
use crate::request::Ctx;
use crate::wire::json::Fields;

const OP: &str = "CreateDataRepositoryAssociation";
const MAX_PER_FS: usize = 8;

fn not_found(id: &str) -> ApiError {
    ApiError::new("DataRepositoryAssociationNotFound", format!("Data repository association '{id}' does not exist."))
}

pub(crate) fn render(a: &Association, ctx: &Ctx<'_>) -> Value {
    let mut out = json!({
        "AssociationId": a.id,
        "ResourceARN": ctx.arn("fsx", &format!("association/{}/{}", a.file_system_id, a.id)),
        "FileSystemId": a.file_system_id,
        "Lifecycle": a.lifecycle,
        "FileSystemPath": a.file_system_path,
        "DataRepositoryPath": a.data_repository_path,
        "BatchImportMetaDataOnCreate": a.batch_import,
        "ImportedFileChunkSize": a.imported_file_chunk_size,
        "Tags": render_tags(&a.tags),
        "CreationTime": epoch(a.created_at),
    });
    if let Some(s3) = &a.s3 {
        out["S3"] = s3.clone();
    }
    if let Some(m) = &a.failure_message {
        out["FailureDetails"] = json!({"Message": m});
    }
    out
}

/// Validates `S3: {AutoImportPolicy: {Events}, AutoExportPolicy: {Events}}`.
fn s3_config(req: &Map<String, Value>) -> ApiResult<Option<Value>> {
    let Some(s3) = req.opt_obj("S3")? else {
        return Ok(None);
    };
    let mut out = Map::new();
    for policy in ["AutoImportPolicy", "AutoExportPolicy"] {
        if let Some(p) = s3.opt_obj(policy)? {
            let events = p.opt_str_list("Events")?.unwrap_or_default();
            for e in &events {
                validate::one_of(&format!("S3.{policy}.Events"), e, &["NEW", "CHANGED", "DELETED"])?;
            }
            let mut dedup = events.clone();
            dedup.sort();
            dedup.dedup();
            if dedup.len() != events.len() {
                return Err(ApiError::bad_request(format!("S3.{policy}.Events must not repeat an event")));
            }
            out.insert(policy.into(), json!({"Events": events}));
        }
    }
    Ok(Some(Value::Object(out)))
}

fn chunk_size(req: &Map<String, Value>) -> ApiResult<Option<i64>> {
    match req.opt_i64("ImportedFileChunkSize")? {
        Some(c) if !(1..=512_000).contains(&c) => {
            Err(ApiError::bad_request("ImportedFileChunkSize must be between 1 and 512000 MiB"))
        }
        other => Ok(other),
    }
}

/// True when one path is the other or contains it.
pub(crate) fn overlaps(a: &str, b: &str) -> bool {
    let norm = |p: &str| format!("{}/", p.trim_end_matches('/'));
    let (a, b) = (norm(a), norm(b));
    a.starts_with(&b) || b.starts_with(&a)
}

pub(crate) fn create(state: &mut State, ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let token = req.opt_str("ClientRequestToken")?;
    if let Some(id) = token_lookup(state, OP, token, req)? {
        if let Some(a) = state.associations.get(&id) {
            return Ok(json!({ "Association": render(a, ctx) }));
        }
    }
    let fs_id = req.req_str("FileSystemId")?;
    let fs = state.file_systems.get(fs_id).ok_or_else(|| super::file_systems::not_found(fs_id))?;
    if fs.deployment_type == "SCRATCH_1" || fs.version == "2.10" {
        return Err(ApiError::bad_request(
            "Data repository associations are supported only on FileSystemTypeVersion 2.12 or later and not on SCRATCH_1",
        ));
    }
    if fs.lustre.contains_key("DataRepositoryConfiguration") {
        return Err(ApiError::bad_request(
            "This file system is linked to S3 with ImportPath; it cannot have data repository associations",
        ));
    }
    if matches!(fs.lifecycle.as_str(), "DELETING" | "FAILED") {
        return Err(ApiError::bad_request(format!("File system {fs_id} is {}", fs.lifecycle)));
    }
    let fs_path = req.opt_str("FileSystemPath")?.unwrap_or("/");
    if !fs_path.starts_with('/') || fs_path.len() > 4096 {
        return Err(ApiError::bad_request("FileSystemPath must start with /"));
    }
    let repo_path = req.req_str("DataRepositoryPath")?;
    if s3_bucket(repo_path).is_none() {
        return Err(ApiError::bad_request(format!("DataRepositoryPath '{repo_path}' must be s3://bucket/prefix/")));
    }
    let existing: Vec<&Association> =
        state.associations.values().filter(|a| a.file_system_id == fs_id && a.lifecycle != "DELETING").collect();
    if existing.len() >= MAX_PER_FS {
        return Err(ApiError::bad_request(format!(
            "A file system can have at most {MAX_PER_FS} data repository associations"
        )));
    }
    if !existing.is_empty() && (fs_path == "/" || existing.iter().any(|a| a.file_system_path == "/")) {
        return Err(ApiError::bad_request("FileSystemPath / can only be used by the only data repository association"));
    }
    if let Some(a) = existing.iter().find(|a| overlaps(&a.file_system_path, fs_path)) {
        return Err(ApiError::bad_request(format!(
            "FileSystemPath {fs_path} overlaps {} of {}",
            a.file_system_path, a.id
        )));
    }
    if let Some(a) = existing.iter().find(|a| overlaps(&a.data_repository_path, repo_path)) {
        return Err(ApiError::bad_request(format!("DataRepositoryPath {repo_path} overlaps that of {}", a.id)));
    }
    let chunk = chunk_size(req)?.unwrap_or(1024);
    let s3 = s3_config(req)?;
    let tags = parse_tags(req, "Tags")?.unwrap_or_default();
    let batch = req.opt_bool("BatchImportMetaDataOnCreate")?.unwrap_or(false);
    let a = Association {
        id: ids::new_id("dra"),
        file_system_id: fs_id.to_string(),
        lifecycle: "CREATING".into(),
        file_system_path: fs_path.to_string(),
        data_repository_path: repo_path.to_string(),
        batch_import: batch,
        imported_file_chunk_size: chunk,
        s3,
        tags,
        created_at: ctx.now,
        changed_at: ctx.now,
        failure_message: None,
        seq: state.next_association_seq(),
        processing_since: None,
    };
    let out = json!({ "Association": render(&a, ctx) });
    let id = a.id.clone();
    state.associations.insert(id.clone(), a);
    token_remember(state, ctx, OP, token, req, &id);
    Ok(out)
}

pub(crate) fn describe(state: &mut State, ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let ids = req.opt_str_list("AssociationIds")?;
    let filters = filters(req)?;
    let max = req.opt_i64("MaxResults")?;
    let token = req.opt_str("NextToken")?;
    let mut selected: Vec<&Association> = match &ids {
        Some(ids) => {
            ids.iter().map(|id| state.associations.get(id).ok_or_else(|| not_found(id))).collect::<ApiResult<_>>()?
        }
        None => state.associations.values().collect(),
    };
    for (name, values) in &filters {
        match name.as_str() {
            "file-system-id" => selected.retain(|a| values.contains(&a.file_system_id)),
            "data-repository-type" => selected.retain(|_| values.iter().any(|v| v == "S3")),
            "file-cache-id" => selected.clear(),
            other => return Err(ApiError::bad_request(format!("Invalid filter name: {other}"))),
        }
    }
    selected.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    let (items, next) = page(selected, max, token, 25)?;
    let mut out = json!({ "Associations": items.into_iter().map(|a| render(a, ctx)).collect::<Vec<_>>() });
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}

pub(crate) fn filters(req: &Map<String, Value>) -> ApiResult<Vec<(String, Vec<String>)>> {
    req.opt_obj_list("Filters")?
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            let name = f.opt_str("Name")?.ok_or_else(|| ApiError::bad_request("Filter Name is required"))?;
            Ok((name.to_string(), f.opt_str_list("Values")?.unwrap_or_default()))
        })
        .collect()
}

pub(crate) fn update(state: &mut State, ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let id = req.req_str("AssociationId")?;
    let chunk = chunk_size(req)?;
    let s3 = s3_config(req)?;
    let a = state.associations.get_mut(id).ok_or_else(|| not_found(id))?;
    if a.lifecycle != "AVAILABLE" && a.lifecycle != "MISCONFIGURED" {
        return Err(ApiError::bad_request(format!("Unable to update association {id} while it is {}", a.lifecycle)));
    }
    if let Some(c) = chunk {
        a.imported_file_chunk_size = c;
    }
    if s3.is_some() {
        a.s3 = s3;
    }
    state.enqueue_association(id, "UPDATING", ctx.now);
    let a = state.associations.get(id).ok_or_else(|| not_found(id))?;
    Ok(json!({ "Association": render(a, ctx) }))
}

pub(crate) fn delete(state: &mut State, ctx: &Ctx<'_>, req: &Map<String, Value>) -> ApiResult<Value> {
    let id = req.req_str("AssociationId")?;
    let delete_data = req.opt_bool("DeleteDataInFileSystem")?.unwrap_or(false);
    let a = state.associations.get(id).ok_or_else(|| not_found(id))?;
    if a.lifecycle != "DELETING" {
        state.enqueue_association(id, "DELETING", ctx.now);
    }
    Ok(json!({"AssociationId": id, "Lifecycle": "DELETING", "DeleteDataInFileSystem": delete_data}))
}
