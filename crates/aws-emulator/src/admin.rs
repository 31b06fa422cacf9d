//! The admin API under `/_emulator/...`: the same controls as the library calls, as JSON over HTTP.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::faults::Fault;
use crate::ops;
use crate::shared::{lock, Shared};

type S = State<Arc<Shared>>;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/config", get(|State(s): S| async move { Json(s.config.clone()) }))
        .route("/seed", get(|State(s): S| async move { Json(ops::seed(&s)) }))
        .route("/inventory", get(|State(s): S| async move { Json(ops::inventory(&s)) }))
        .route("/calls", get(|State(s): S| async move { Json(lock(&s.calls).snapshot()) }).delete(reset_calls))
        .route("/faults", get(|State(s): S| async move { Json(lock(&s.faults).list()) }).delete(clear_faults))
        .route("/faults/{operation}", put(set_fault))
        .route(
            "/task-failures",
            get(|State(s): S| async move { Json(ops::task_failures(&s)) }).put(fail_tasks).delete(clear_task_failures),
        )
        .route("/clock", get(clock))
        .route(
            "/clock/pause",
            post(|State(s): S| async move {
                s.clock.pause();
                clock(State(s)).await
            }),
        )
        .route(
            "/clock/resume",
            post(|State(s): S| async move {
                s.clock.resume();
                clock(State(s)).await
            }),
        )
        .route("/clock/advance", post(advance))
        .route("/file-systems/{id}/lifecycle", post(force_lifecycle))
        .route("/file-systems/{id}", delete(delete_file_system))
        .route("/security-groups/{id}", delete(delete_security_group))
        .route("/security-groups/{id}/revoke-ingress", post(revoke_ingress))
        .route("/subnets", post(add_subnet))
}

fn result(r: anyhow::Result<()>) -> Response {
    match r {
        Ok(()) => (StatusCode::OK, Json(json!({"ok": true}))).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, Json(json!({"error": e.to_string()}))).into_response(),
    }
}

async fn reset_calls(State(s): S) -> Response {
    lock(&s.calls).reset();
    result(Ok(()))
}

async fn clear_faults(State(s): S) -> Response {
    ops::clear_faults(&s);
    result(Ok(()))
}

#[derive(Deserialize)]
struct TaskFailureRequest {
    file_system_id: Option<String>,
    message: Option<String>,
}

const DEFAULT_TASK_FAILURE: &str = "The data repository task failed (injected by the emulator)";

async fn fail_tasks(State(s): S, Json(f): Json<TaskFailureRequest>) -> Response {
    ops::fail_tasks(&s, f.file_system_id.as_deref(), f.message.as_deref().unwrap_or(DEFAULT_TASK_FAILURE));
    result(Ok(()))
}

async fn clear_task_failures(State(s): S) -> Response {
    ops::clear_task_failures(&s);
    result(Ok(()))
}

async fn set_fault(State(s): S, Path(operation): Path<String>, Json(fault): Json<Fault>) -> Response {
    lock(&s.faults).set(&operation, fault);
    result(Ok(()))
}

async fn clock(State(s): S) -> Response {
    Json(json!({"now": s.clock.now().to_rfc3339(), "paused": s.clock.is_paused()})).into_response()
}

#[derive(Deserialize)]
struct Advance {
    seconds: f64,
}

async fn advance(State(s): S, Json(a): Json<Advance>) -> Response {
    match Duration::try_from_secs_f64(a.seconds) {
        Ok(d) => {
            s.clock.advance(d);
            clock(State(s)).await
        }
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e.to_string()}))).into_response(),
    }
}

#[derive(Deserialize)]
struct Lifecycle {
    lifecycle: String,
    message: Option<String>,
}

async fn force_lifecycle(State(s): S, Path(id): Path<String>, Json(l): Json<Lifecycle>) -> Response {
    result(ops::force_lifecycle(&s, &id, &l.lifecycle, l.message.as_deref()))
}

async fn delete_file_system(State(s): S, Path(id): Path<String>) -> Response {
    result(ops::delete_file_system_out_of_band(&s, &id))
}

async fn delete_security_group(State(s): S, Path(id): Path<String>) -> Response {
    result(ops::delete_security_group_out_of_band(&s, &id))
}

#[derive(Deserialize)]
struct Ports {
    from_port: i32,
    to_port: i32,
}

async fn revoke_ingress(State(s): S, Path(id): Path<String>, Json(p): Json<Ports>) -> Response {
    result(ops::revoke_ingress_out_of_band(&s, &id, p.from_port, p.to_port))
}

#[derive(Deserialize)]
struct NewSubnet {
    cidr: String,
    az: String,
}

async fn add_subnet(State(s): S, Json(n): Json<NewSubnet>) -> Response {
    match ops::add_subnet(&s, &n.cidr, &n.az) {
        Ok(id) => Json(json!({"subnet_id": id})).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e.to_string()}))).into_response(),
    }
}
