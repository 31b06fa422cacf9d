//! The HTTP front: routes FSx (by `X-Amz-Target`) and EC2 (by `Action`) on one endpoint, applies
//! faults, counts calls, and renders each service's wire format.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State as AxumState};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;

use crate::error::ApiError;
use crate::model::State;
use crate::request::{Ctx, Operation};
use crate::shared::{lock, Shared};
use crate::wire::{form::Form, json, xml};
use crate::{admin, ec2, fsx, ids};

/// Requests above this size are rejected, like AWS does.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().nest("/_emulator", admin::router()).fallback(api).with_state(shared)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Service {
    Fsx,
    Ec2,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Fsx => "fsx",
            Service::Ec2 => "ec2",
        }
    }

    fn throttling(self) -> &'static str {
        match self {
            Service::Fsx => fsx::THROTTLING,
            Service::Ec2 => ec2::THROTTLING,
        }
    }

    fn error(self, err: &ApiError, request_id: &str) -> Response {
        match self {
            Service::Fsx => json::error_response(err, request_id),
            Service::Ec2 => xml::error_response(err, request_id),
        }
    }
}

/// A parsed request: which operation (a row of its service's table), and its input.
enum Parsed {
    Fsx(&'static Operation<fsx::Handler>, serde_json::Map<String, serde_json::Value>),
    Ec2(&'static Operation<ec2::Handler>, Form),
}

impl Parsed {
    fn operation(&self) -> &'static str {
        match self {
            Parsed::Fsx(op, _) => op.name,
            Parsed::Ec2(op, _) => op.name,
        }
    }

    fn mutating(&self) -> bool {
        match self {
            Parsed::Fsx(op, _) => op.mutating,
            Parsed::Ec2(op, _) => op.mutating,
        }
    }

    /// Runs the operation on the state.
    fn run(&self, state: &mut State, ctx: &Ctx<'_>) -> Result<Answer, ApiError> {
        match self {
            Parsed::Fsx(op, input) => (op.handler)(state, ctx, input).map(Answer::Json),
            Parsed::Ec2(op, form) => ec2::handle(state, ctx, op, form).map(Answer::Xml),
        }
    }
}

async fn api(AxumState(shared): AxumState<Arc<Shared>>, request: Request) -> Response {
    let request_id = ids::request_id();
    let (parts, body) = request.into_parts();
    let target = parts.headers.get("x-amz-target").map(|v| v.to_str().unwrap_or("").to_string());
    let service = if target.is_some() { Service::Fsx } else { Service::Ec2 };

    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            let err = match service {
                Service::Fsx => {
                    ApiError::serialization(format!("Could not read the request body (at most 1 MiB): {e}"))
                }
                Service::Ec2 => {
                    ApiError::invalid_parameter_value(format!("Could not read the request body (at most 1 MiB): {e}"))
                }
            };
            return finish(&shared, service, "unknown", Err(err), &request_id);
        }
    };

    let parsed = match (&target, &parts.method) {
        (Some(target), _) => parse_fsx(target, &bytes),
        (None, &Method::GET) => parse_ec2(parts.uri.query().unwrap_or("").as_bytes()),
        (None, _) => parse_ec2(&bytes),
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err((op, err)) => return finish(&shared, service, &op, Err(err), &request_id),
    };
    let op = parsed.operation();

    let decision = lock(&shared.faults).decide(op, service.throttling());
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    if let Some(code) = &decision.error_code {
        let message = match code.as_str() {
            "ThrottlingException" => "Rate exceeded".to_string(),
            "RequestLimitExceeded" => "Request limit exceeded.".to_string(),
            _ => "An internal error occurred (injected fault).".to_string(),
        };
        return finish(&shared, service, op, Err(ApiError::new(code, message)), &request_id);
    }

    let run = |state: &mut State, ctx: &Ctx<'_>| parsed.run(state, ctx);
    let result = if parsed.mutating() { shared.mutate(run) } else { shared.with_state(run) };
    let response = finish(&shared, service, op, result.map(|a| (op.to_string(), a)), &request_id);

    if let Some(delay) = decision.delay_after_apply {
        tokio::time::sleep(delay).await;
    }
    if decision.drop_after_apply {
        return dropped_connection();
    }
    response
}

enum Answer {
    Json(serde_json::Value),
    Xml(String),
}

fn parse_fsx(target: &str, bytes: &Bytes) -> Result<Parsed, (String, ApiError)> {
    let op = match target.strip_prefix(fsx::TARGET_PREFIX) {
        Some(name) => match fsx::operation(name) {
            Some(op) => op,
            None => return Err((name.to_string(), fsx::unknown_operation(name))),
        },
        None => return Err(("unknown".to_string(), fsx::unknown_operation(target))),
    };
    match json::parse_body(bytes) {
        Ok(input) => Ok(Parsed::Fsx(op, input)),
        Err(e) => Err((op.name.to_string(), e)),
    }
}

fn parse_ec2(bytes: &[u8]) -> Result<Parsed, (String, ApiError)> {
    let form = Form::parse(bytes).map_err(|e| ("unknown".to_string(), e))?;
    let action = match form.get("Action") {
        Some(a) if !a.is_empty() => a.to_string(),
        _ => return Err(("unknown".to_string(), ApiError::missing_parameter("Action"))),
    };
    let Some(op) = ec2::operation(&action) else {
        return Err((action.clone(), ec2::invalid_action(&action)));
    };
    match form.get("Version") {
        None => Err((action, ApiError::missing_parameter("Version"))),
        Some(_) => Ok(Parsed::Ec2(op, form)),
    }
}

/// Counts the call and renders its answer.
fn finish(
    shared: &Shared,
    service: Service,
    op: &str,
    result: Result<(String, Answer), ApiError>,
    request_id: &str,
) -> Response {
    let outcome = match &result {
        Ok(_) => "ok".to_string(),
        Err(e) => e.code.clone(),
    };
    lock(&shared.calls).record(service.name(), op, &outcome);
    let mut response = match result {
        Ok((_, Answer::Json(v))) => json::ok_response(&v, request_id),
        Ok((action, Answer::Xml(inner))) => xml::ok_response(&action, &inner, request_id),
        Err(e) => {
            tracing::debug!(service = service.name(), op, code = %e.code, message = %e.message, "request failed");
            service.error(&e, request_id)
        }
    };
    // AWS answers with its own time in `Date` (clients use it to correct clock skew); so does the
    // emulator, from its own clock, so that a test that advances the clock moves "now" for the
    // client too (the operator's FSx time windows follow it).
    let date = shared.clock.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(value) = HeaderValue::from_str(&date) {
        response.headers_mut().insert(header::DATE, value);
    }
    response
}

/// A response whose body fails mid-stream: hyper aborts the connection, so the client sees a
/// transport failure although the request was applied.
fn dropped_connection() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped by fault injection"))
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    response
}
