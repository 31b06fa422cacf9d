//! awsJson1.1: JSON bodies in and out; errors as `{"__type", "message"}` plus `x-amzn-errortype`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

pub(crate) const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

pub(crate) fn ok_response(body: &Value, request_id: &str) -> Response {
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    set_headers(&mut response, request_id);
    response
}

pub(crate) fn error_response(err: &ApiError, request_id: &str) -> Response {
    let mut body = Map::new();
    body.insert("__type".to_string(), Value::String(err.code.clone()));
    body.insert("message".to_string(), Value::String(err.message.clone()));
    for (k, v) in &err.fields {
        body.insert(k.clone(), v.clone());
    }
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, Value::Object(body).to_string()).into_response();
    set_headers(&mut response, request_id);
    if let Ok(v) = HeaderValue::from_str(&err.code) {
        response.headers_mut().insert("x-amzn-errortype", v);
    }
    response
}

fn set_headers(response: &mut Response, request_id: &str) {
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
}

/// Parses an FSx request body: must be a JSON object (an empty body counts as `{}`).
pub(crate) fn parse_body(bytes: &[u8]) -> ApiResult<Map<String, Value>> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::serialization("Start of structure or map found where not expected")),
        Err(e) => Err(ApiError::serialization(format!("Could not parse request body: {e}"))),
    }
}

/// Typed access to a JSON request object; wrong types are `SerializationException`s, like AWS.
pub(crate) trait Fields {
    fn opt_str(&self, key: &str) -> ApiResult<Option<&str>>;
    fn opt_i64(&self, key: &str) -> ApiResult<Option<i64>>;
    fn opt_bool(&self, key: &str) -> ApiResult<Option<bool>>;
    fn opt_obj(&self, key: &str) -> ApiResult<Option<&Map<String, Value>>>;
    fn opt_str_list(&self, key: &str) -> ApiResult<Option<Vec<String>>>;
    fn opt_obj_list(&self, key: &str) -> ApiResult<Option<Vec<&Map<String, Value>>>>;

    fn req_str(&self, key: &str) -> ApiResult<&str> {
        self.opt_str(key)?.ok_or_else(|| ApiError::bad_request(format!("{key} is required")))
    }
}

fn type_error(key: &str, expected: &str) -> ApiError {
    ApiError::serialization(format!("Unexpected type for field {key}: expected {expected}"))
}

impl Fields for Map<String, Value> {
    fn opt_str(&self, key: &str) -> ApiResult<Option<&str>> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(type_error(key, "string")),
        }
    }

    fn opt_i64(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| type_error(key, "integer")),
            Some(_) => Err(type_error(key, "integer")),
        }
    }

    fn opt_bool(&self, key: &str) -> ApiResult<Option<bool>> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(type_error(key, "boolean")),
        }
    }

    fn opt_obj(&self, key: &str) -> ApiResult<Option<&Map<String, Value>>> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(type_error(key, "structure")),
        }
    }

    fn opt_str_list(&self, key: &str) -> ApiResult<Option<Vec<String>>> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(|| type_error(key, "list of strings")))
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(_) => Err(type_error(key, "list")),
        }
    }

    fn opt_obj_list(&self, key: &str) -> ApiResult<Option<Vec<&Map<String, Value>>>> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_object().ok_or_else(|| type_error(key, "list of structures")))
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(_) => Err(type_error(key, "list")),
        }
    }
}
