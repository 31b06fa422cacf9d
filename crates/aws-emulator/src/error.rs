//! The one error type every handler returns; the wire modules render it in each protocol's shape.

use serde_json::{Map, Value};

/// An AWS API error: code, message, HTTP status and extra members (FSx errors carry fields such
/// as `Parameter` or `Limit`).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    pub status: u16,
    pub fields: Map<String, Value>,
}

impl ApiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        let status = match code {
            "InternalServerError" | "InternalError" | "InternalFailure" => 500,
            "RequestLimitExceeded" | "ServiceUnavailable" | "Unavailable" => 503,
            "RequestEntityTooLarge" => 413,
            _ => 400,
        };
        ApiError { code: code.to_string(), message: message.into(), status, fields: Map::new() }
    }

    pub fn with_field(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(key.to_string(), value.into());
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new("BadRequest", message)
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new("SerializationException", message)
    }

    pub fn invalid_parameter_value(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterValue", message)
    }

    pub fn missing_parameter(name: &str) -> Self {
        Self::new("MissingParameter", format!("The request must contain the parameter {name}"))
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;
