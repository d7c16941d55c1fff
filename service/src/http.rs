//! The HTTP API: `POST /v1/batches` (JSON or binary body), `GET
//! /v1/batches/{n}`, `GET /healthz` and `GET /metrics` (Prometheus text).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::failpoint::failpoint;
use crate::ingest::{append, decode, IngestError, IngestRules, Ingested};
use crate::state::Shared;

/// State of the handlers.
#[derive(Clone)]
pub struct Api {
    /// Shared with the worker.
    pub shared: Arc<Shared>,
    /// Ingestion rules.
    pub rules: IngestRules,
}

/// The router.
pub fn router(api: Api) -> Router {
    let limit = api.rules.max_bytes.saturating_mul(2).max(1 << 16);
    Router::new()
        .route("/v1/batches", post(submit))
        .route("/v1/batches/{n}", get(status))
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(api)
}

/// Decodes, validates and durably appends one event.
pub fn ingest(
    api: &Api,
    body: &[u8],
    content_type: Option<&str>,
    source: &str,
) -> Result<Ingested, IngestError> {
    let result = decode(body, content_type, &api.rules).and_then(|batch| {
        let _guard = api.shared.ingest.lock().unwrap_or_else(|e| e.into_inner());
        append(
            &api.shared.log,
            &batch,
            api.shared.next.load(Ordering::SeqCst),
            &api.rules,
        )
    });
    let m = &api.shared.metrics;
    match &result {
        Ok(Ingested::Accepted(r)) => {
            m.add("zklanes_events_accepted_total", "", 1);
            tracing::info!(
                batch = r.batch,
                stage = "ingest",
                txs = r.txs,
                source,
                "batch event accepted"
            );
            failpoint("before_ack");
            api.shared.notify();
        }
        Ok(Ingested::Duplicate(r)) => {
            m.add("zklanes_events_duplicate_total", "", 1);
            tracing::info!(
                batch = r.batch,
                stage = "ingest",
                source,
                "duplicate batch event ignored"
            );
        }
        Err(e) => {
            m.add(
                "zklanes_events_rejected_total",
                &format!("reason=\"{}\"", e.reason()),
                1,
            );
            if let IngestError::Conflict {
                batch,
                stored,
                received,
            } = e
            {
                tracing::error!(
                    alert = true,
                    batch,
                    stage = "ingest",
                    stored,
                    received,
                    source,
                    "conflicting batch under an existing number"
                );
            } else {
                tracing::warn!(stage = "ingest", source, error = %e, "batch event refused");
            }
        }
    }
    result
}

async fn submit(State(api): State<Api>, headers: HeaderMap, body: Bytes) -> Response {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let api2 = api.clone();
    let result =
        tokio::task::spawn_blocking(move || ingest(&api2, &body, ct.as_deref(), "http")).await;
    match result {
        Ok(Ok(Ingested::Accepted(r))) => (
            StatusCode::ACCEPTED,
            Json(json!({"batch": r.batch, "status": "accepted", "hash": r.hash})),
        )
            .into_response(),
        Ok(Ok(Ingested::Duplicate(r))) => (
            StatusCode::OK,
            Json(
                json!({"batch": r.batch, "status": "duplicate", "stage": r.stage, "hash": r.hash}),
            ),
        )
            .into_response(),
        Ok(Err(e)) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            Json(json!({"error": e.reason(), "message": e.to_string()})),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": "internal", "message": e.to_string()})),
        )
            .into_response(),
    }
}

async fn status(State(api): State<Api>, Path(n): Path<String>) -> Response {
    let Ok(n) = n.parse::<u64>() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "bad_number", "message": format!("{n:?} is not a batch number")})),
        )
            .into_response();
    };
    match api.shared.log.record(n) {
        Ok(Some(r)) => Json(r).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "unknown_batch", "message": format!("no batch {n}")})),
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "storage", "message": e.to_string()})),
        )
            .into_response(),
    }
}

async fn health(State(api): State<Api>) -> Response {
    Json(json!({
        "status": if api.shared.stop.load(Ordering::SeqCst) { "stopping" } else { "ok" },
        "next_batch": api.shared.next.load(Ordering::SeqCst),
    }))
    .into_response()
}

async fn metrics(State(api): State<Api>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        api.shared.metrics.render(),
    )
        .into_response()
}
