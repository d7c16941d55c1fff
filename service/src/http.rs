//! The HTTP API: `POST /v1/batches` (JSON or binary body, the operator's
//! bearer token, and with `--sequencer-key` the sequencer's signature in
//! `Zklanes-Signature`), `POST /v1/batches/{n}/retry` (the operator resumes
//! a parked batch), `GET /v1/batches/{n}`, `GET /healthz`, `GET /readyz`
//! and `GET /metrics` (Prometheus text); with `--l1 embedded`, `POST
//! /v1/l1/deposits` (the operator queues a deposit, or with amount 0 a
//! forced withdrawal, on the embedded L1 chain; body at most
//! [`MAX_REQUEST_BYTES`]).
//!
//! Every request passes [`guard`] first: a loopback listener serves only
//! requests naming a loopback host; at most [`MAX_IN_FLIGHT`] requests run
//! at once (503 beyond); each has [`REQUEST_TIMEOUT`] to be read and
//! answered (408). A body is read up to the event limit and no further
//! (413). Writes need the token (401) and a ready service (503 with
//! `Retry-After` while starting or after a fatal failure).

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::auth::{loopback_host, Token};
use crate::embedded_l1::{DepositRequest, EmbeddedL1, MAX_REQUEST_BYTES};
use crate::event_log::Stage;
use crate::failpoint::failpoint;
use crate::ingest::{append, check_sequencer, decode, IngestError, IngestRules, Ingested};
use crate::metrics::{open_fds, render_gauges, resident_bytes};
use crate::state::{Health, Shared};

/// Requests handled at once at most.
pub const MAX_IN_FLIGHT: usize = 64;
/// Time to read a request (its body included) and answer it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// State of the handlers.
#[derive(Clone)]
pub struct Api {
    /// Shared with the driver.
    pub shared: Arc<Shared>,
    /// Ingestion rules.
    pub rules: IngestRules,
    /// The token writes must carry.
    pub token: Token,
    /// The listener is on a loopback address (then every request must name
    /// a loopback host).
    pub loopback: bool,
    /// Requests in flight.
    pub in_flight: Arc<Semaphore>,
    /// The embedded L1 chain (`--l1 embedded`; set once it is open, before
    /// the service is ready): `POST /v1/l1/deposits` is served only then.
    pub l1: Option<Arc<OnceLock<Arc<EmbeddedL1>>>>,
    /// The job queue (`--queue`; set once it is connected): the batch
    /// status shows its jobs and `/metrics` its depth and counters.
    pub queue: Arc<OnceLock<zklanes_queue::JobQueue>>,
}

/// The router.
pub fn router(api: Api) -> Router {
    let mut r = Router::new();
    if api.l1.is_some() {
        r = r.route(
            "/v1/l1/deposits",
            post(l1_deposit).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        );
    }
    r.route("/v1/batches", post(submit))
        .route("/v1/batches/{n}", get(status))
        .route("/v1/batches/{n}/retry", post(retry))
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(api.rules.max_bytes))
        .layer(from_fn_with_state(api.clone(), guard))
        .with_state(api)
}

fn refuse(status: StatusCode, error: &str, message: String) -> Response {
    (status, Json(json!({"error": error, "message": message}))).into_response()
}

/// Host, concurrency, deadline, credential and readiness checks.
async fn guard(State(api): State<Api>, req: Request, next: Next) -> Response {
    let m = &api.shared.metrics;
    if api.loopback && !loopback_host(req.headers()) {
        m.add("zklanes_http_refused_total", "reason=\"host\"", 1);
        return refuse(
            StatusCode::FORBIDDEN,
            "host",
            "this listener serves loopback hosts only (Host: 127.0.0.1:PORT or localhost)".into(),
        );
    }
    let Ok(_slot) = api.in_flight.clone().try_acquire_owned() else {
        m.add("zklanes_http_refused_total", "reason=\"busy\"", 1);
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!("{MAX_IN_FLIGHT} requests in flight"),
        );
    };
    if req.method() == Method::POST {
        if !api.token.admits(req.headers()) {
            m.add("zklanes_http_refused_total", "reason=\"unauthorized\"", 1);
            let mut r = refuse(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "writes need the operator's token: Authorization: Bearer TOKEN".into(),
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("valid"));
            return r;
        }
        let health = api.shared.health();
        if health != Health::Ready {
            let mut r = refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                format!("the service is not ready: {health:?}"),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, "5".parse().expect("valid"));
            return r;
        }
    }
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            m.add("zklanes_http_refused_total", "reason=\"timeout\"", 1);
            refuse(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!("the request took over {} s", REQUEST_TIMEOUT.as_secs()),
            )
        }
    }
}

/// Decodes, validates (the sequencer's `signature` included, when the
/// rules require one) and durably appends one event.
pub fn ingest(
    api: &Api,
    body: &[u8],
    content_type: Option<&str>,
    signature: Option<&str>,
    source: &str,
) -> Result<Ingested, IngestError> {
    let result = decode(body, content_type, &api.rules).and_then(|batch| {
        let signature = check_sequencer(&batch, signature, &api.rules)?;
        let _guard = api.shared.ingest.lock().unwrap_or_else(|e| e.into_inner());
        append(
            &api.shared.log,
            &batch,
            signature,
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

async fn submit(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            let e = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                // Read no further than the limit: the size is the declared one.
                let declared = headers
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok());
                IngestError::TooLarge {
                    bytes: declared.unwrap_or(api.rules.max_bytes + 1),
                    limit: api.rules.max_bytes,
                }
            } else {
                IngestError::Malformed {
                    reason: format!("the body could not be read: {e}"),
                }
            };
            api.shared.metrics.add(
                "zklanes_events_rejected_total",
                &format!("reason=\"{}\"", e.reason()),
                1,
            );
            return refuse(
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
                e.reason(),
                e.to_string(),
            );
        }
    };
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let sig = headers
        .get(crate::sequencer::HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let api2 = api.clone();
    let result = tokio::task::spawn_blocking(move || {
        ingest(&api2, &body, ct.as_deref(), sig.as_deref(), "http")
    })
    .await;
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
        Ok(Some(r)) => match api.queue.get() {
            None => Json(r).into_response(),
            Some(queue) => {
                // The queue's batch key is the bundle's first batch.
                let key = r.bundle.map_or(n, |b| b[0]) as i64;
                let jobs = crate::queue_view::jobs_json(queue, key).await;
                let mut v = serde_json::to_value(&r).unwrap_or_default();
                v["jobs"] = jobs;
                Json(v).into_response()
            }
        },
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

/// The operator queues a deposit on the embedded L1 chain: 200 with the
/// deposit event as L1 queued it (its `queue_index`, and its `account`,
/// assigned by L1 for a new account); 400 for a malformed request, 413
/// past [`MAX_REQUEST_BYTES`], 422 when L1 refuses it (the contract's
/// reason), 503 when the journal cannot be written (retry). Amount `"0"`
/// queues a forced withdrawal of `account`'s `asset` instead, sent by
/// `sender`, which must be the account's L1 owner (else 422); the answer
/// is its event (amount 0). Nothing is journaled for a refused request.
async fn l1_deposit(State(api): State<Api>, body: Result<Bytes, BytesRejection>) -> Response {
    let Some(chain) = api.l1.as_ref().and_then(|c| c.get()).cloned() else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the embedded L1 is not open yet".into(),
        );
    };
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("a deposit request has at most {MAX_REQUEST_BYTES} bytes"),
            )
        }
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "malformed",
                format!("the body could not be read: {e}"),
            )
        }
    };
    let request: DepositRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "malformed",
                format!("not a deposit request: {e}"),
            )
        }
    };
    let shared = api.shared.clone();
    let queued = tokio::task::spawn_blocking(move || {
        let r = chain.queue(&request);
        if r.is_ok() {
            shared.notify();
        }
        r
    })
    .await;
    let m = &api.shared.metrics;
    match queued {
        Ok(Ok(event)) => {
            let forced = event.is_forced_withdrawal();
            if forced {
                m.add("zklanes_l1_forced_withdrawals_total", "", 1);
            } else {
                m.add("zklanes_l1_deposits_total", "", 1);
            }
            tracing::info!(
                stage = "l1",
                queue_index = event.queue_index,
                account = event.account,
                asset = event.asset,
                forced,
                "{} queued on the embedded L1",
                if forced {
                    "forced withdrawal"
                } else {
                    "deposit"
                }
            );
            Json(event).into_response()
        }
        Ok(Err(e)) => {
            m.add(
                "zklanes_l1_deposits_refused_total",
                &format!("reason=\"{}\"", e.reason()),
                1,
            );
            tracing::warn!(stage = "l1", error = %e, "deposit not queued");
            refuse(
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                e.reason(),
                e.to_string(),
            )
        }
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

/// The operator resumes a parked batch (after fixing its cause): its
/// failure count is reset and it goes back to the stage it was parked at.
/// 409 unless the batch is parked.
async fn retry(State(api): State<Api>, Path(n): Path<String>) -> Response {
    let Ok(n) = n.parse::<u64>() else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_number",
            format!("{n:?} is not a batch number"),
        );
    };
    let shared = api.shared.clone();
    let result = tokio::task::spawn_blocking(move || {
        let _guard = shared.ingest.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut r) = shared.log.record(n)? else {
            return Ok(None);
        };
        if r.stage != Stage::Parked {
            return Ok(Some(Err(r.stage)));
        }
        r.stage = r.parked_from.take().unwrap_or(Stage::Accepted);
        r.failures = 0;
        shared.log.put(&r)?;
        shared.set_parked(n, None);
        shared.metrics.add("zklanes_batches_retried_total", "", 1);
        tracing::warn!(batch = n, stage = "retry", resume = ?r.stage, "parked batch retried by the operator");
        shared.notify();
        Ok::<_, crate::event_log::LogError>(Some(Ok(r.stage)))
    })
    .await;
    match result {
        Ok(Ok(Some(Ok(stage)))) => {
            Json(json!({"batch": n, "status": "retrying", "stage": stage})).into_response()
        }
        Ok(Ok(Some(Err(stage)))) => refuse(
            StatusCode::CONFLICT,
            "not_parked",
            format!("batch {n} is {stage:?}, not parked"),
        ),
        Ok(Ok(None)) => refuse(
            StatusCode::NOT_FOUND,
            "unknown_batch",
            format!("no batch {n}"),
        ),
        Ok(Err(e)) => refuse(StatusCode::SERVICE_UNAVAILABLE, "storage", e.to_string()),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

/// 200 while the pipeline progresses; 503 with the reason when a stage
/// failed fatally, or with the parked batches while one waits for the
/// operator (nothing after it is proven).
async fn health(State(api): State<Api>) -> Response {
    let next = api.shared.next.load(Ordering::SeqCst);
    let parked = api.shared.parked();
    match api.shared.health() {
        Health::Failed(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "failed", "reason": reason, "next_batch": next})),
        )
            .into_response(),
        _ if !parked.is_empty() => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "parked",
                "parked": parked
                    .iter()
                    .map(|(b, r)| json!({"batch": b, "reason": r}))
                    .collect::<Vec<_>>(),
                "next_batch": next,
            })),
        )
            .into_response(),
        h => Json(json!({
            "status": if api.shared.stop.load(Ordering::SeqCst) {
                "stopping"
            } else if h == Health::Starting {
                "starting"
            } else {
                "ok"
            },
            "next_batch": next,
        }))
        .into_response(),
    }
}

/// 200 once keys are loaded and the state reconciled, and while nothing
/// has failed; 503 otherwise.
async fn ready(State(api): State<Api>) -> Response {
    match api.shared.health() {
        Health::Ready if !api.shared.stop.load(Ordering::SeqCst) => {
            Json(json!({"ready": true})).into_response()
        }
        h => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ready": false, "health": format!("{h:?}")})),
        )
            .into_response(),
    }
}

async fn metrics(State(api): State<Api>) -> Response {
    let s = &api.shared;
    let proven = s.proven.load(Ordering::SeqCst);
    let accepted = s.log.accepted_height().unwrap_or(0).max(proven);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let oldest_age = if proven < accepted {
        s.log
            .record(proven)
            .ok()
            .flatten()
            .and_then(|r| r.accepted_at)
            .map_or(0, |t| now.saturating_sub(t))
    } else {
        0
    };
    let parked = s.parked().len();
    let up = s.health() == Health::Ready && !s.stop.load(Ordering::SeqCst) && parked == 0;
    let gauges = render_gauges(&[
        ("zklanes_up", f64::from(u8::from(up))),
        (
            "zklanes_committed_height",
            s.next.load(Ordering::SeqCst) as f64,
        ),
        ("zklanes_proven_height", proven as f64),
        ("zklanes_accepted_height", accepted as f64),
        ("zklanes_unproven_batches", (accepted - proven) as f64),
        ("zklanes_oldest_unproven_age_seconds", oldest_age as f64),
        ("zklanes_parked_batches", parked as f64),
        (
            "zklanes_process_resident_memory_bytes",
            resident_bytes().unwrap_or(0) as f64,
        ),
        ("zklanes_process_open_fds", open_fds().unwrap_or(0) as f64),
    ]);
    let queue = match api.queue.get() {
        Some(q) => crate::queue_view::metrics_text(q).await,
        None => String::new(),
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render() + &gauges + &queue,
    )
        .into_response()
}
