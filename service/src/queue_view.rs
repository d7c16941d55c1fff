//! What the service shows of the job queue (`serve --queue`): a batch's
//! jobs in its status, and the queue's gauges and counters in `/metrics`.
//! Each read is bounded by [`READ_TIMEOUT`]: a slow database delays a
//! status or a scrape, never the listener.

use std::time::Duration;

use serde_json::{json, Value};
use zklanes_queue::{JobQueue, JobState};

/// Longest a status or a scrape waits for the queue.
pub const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// The jobs of queue batch `batch`: kind, layer, position, state, attempts,
/// lease holder, who proved it and how long it took, last error.
pub async fn jobs_json(queue: &JobQueue, batch: i64) -> Value {
    match tokio::time::timeout(READ_TIMEOUT, queue.batch_status(batch)).await {
        Ok(Ok(status)) => Value::Array(
            status
                .jobs
                .iter()
                .map(|j| {
                    json!({
                        "id": j.id.0,
                        "kind": j.kind.as_str(),
                        "layer": j.layer,
                        "position": j.position,
                        "state": j.state.as_str(),
                        "attempts": j.attempts,
                        "max_attempts": j.max_attempts,
                        "leased_to": j.owner,
                        "lease_expired": j.lease_expired,
                        "proved_by": j.proved_by,
                        "prove_ms": j.prove_ms,
                        "verify_ms": j.verify_ms,
                        "proof_bytes": j.proof_bytes,
                        "last_error": j.last_error,
                    })
                })
                .collect(),
        ),
        Ok(Err(e)) => json!({"error": "queue", "message": e.to_string()}),
        Err(_) => json!({"error": "queue", "message": "the queue did not answer in time"}),
    }
}

/// One per-worker counter's value.
type WorkerFigure = fn(&zklanes_queue::WorkerTotals) -> f64;

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The queue's metrics in the Prometheus text format:
/// `zklanes_queue_jobs{kind,state}` (depth), `zklanes_queue_events_total{event}`
/// (claims, expiries (reassignments), acceptances, refusals stale and
/// invalid, failures, parkings, releases), `zklanes_queue_claim_wait_seconds`
/// (sum, count and max of claim latency), and per worker
/// `zklanes_queue_worker_proofs_total`, `..._prove_seconds_total`,
/// `..._verify_seconds_total`. Empty if the queue does not answer in time
/// (`zklanes_queue_up` says which).
pub async fn metrics_text(queue: &JobQueue) -> String {
    let read = async {
        let depth = queue.depth().await?;
        let events = queue.event_counts().await?;
        let workers = queue.worker_totals().await?;
        let latency = queue.claim_latency().await?;
        Ok::<_, zklanes_queue::QueueError>((depth, events, workers, latency))
    };
    let Ok(Ok((depth, events, workers, (claims, wait, longest)))) =
        tokio::time::timeout(READ_TIMEOUT, read).await
    else {
        return "# TYPE zklanes_queue_up gauge\nzklanes_queue_up 0\n".into();
    };
    let mut out = String::from("# TYPE zklanes_queue_up gauge\nzklanes_queue_up 1\n");
    out += "# TYPE zklanes_queue_jobs gauge\n";
    for kind in zklanes_queue::JobKind::ALL {
        for state in JobState::ALL {
            out += &format!(
                "zklanes_queue_jobs{{kind=\"{}\",state=\"{}\"}} {}\n",
                kind.as_str(),
                state.as_str(),
                depth.get(*kind, *state)
            );
        }
    }
    out += "# TYPE zklanes_queue_events_total counter\n";
    for (event, n) in events {
        out += &format!(
            "zklanes_queue_events_total{{event=\"{}\"}} {n}\n",
            event.as_str()
        );
    }
    out += &format!(
        "# TYPE zklanes_queue_claim_wait_seconds summary\n\
         zklanes_queue_claim_wait_seconds_sum {wait}\n\
         zklanes_queue_claim_wait_seconds_count {claims}\n\
         # TYPE zklanes_queue_claim_wait_seconds_max gauge\n\
         zklanes_queue_claim_wait_seconds_max {longest}\n"
    );
    let per_worker: [(&str, WorkerFigure); 3] = [
        ("zklanes_queue_worker_proofs_total", |w| w.proofs as f64),
        ("zklanes_queue_worker_prove_seconds_total", |w| {
            w.prove_ms / 1e3
        }),
        ("zklanes_queue_worker_verify_seconds_total", |w| {
            w.verify_ms / 1e3
        }),
    ];
    for (name, value) in per_worker {
        out += &format!("# TYPE {name} counter\n");
        for w in &workers {
            out += &format!("{name}{{worker=\"{}\"}} {}\n", label(&w.worker), value(w));
        }
    }
    out
}
