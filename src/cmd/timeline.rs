//! `zklanes timeline`: a batch's proof jobs over time, one lane per
//! worker, drawn from the job queue's records (an SVG file).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use zklanes_queue::timeline::{render_svg, spans};
use zklanes_queue::{JobQueue, QueueOptions};

/// Arguments of `timeline`.
#[derive(Args)]
pub struct TimelineArgs {
    /// The job queue's PostgreSQL URL.
    #[arg(long)]
    queue: String,
    /// Schema of the queue's tables.
    #[arg(long)]
    queue_schema: Option<String>,
    /// The batch (a bundle's first batch).
    #[arg(long)]
    batch: i64,
    /// The SVG file to write.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `timeline`.
pub fn run(a: TimelineArgs) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let events = rt.block_on(async {
        let options = QueueOptions {
            schema: a.queue_schema.clone(),
            ..Default::default()
        };
        let queue = JobQueue::connect(&a.queue, options).await?;
        let events = queue.events(a.batch).await;
        queue.close().await;
        events
    })?;
    let svg = render_svg(a.batch, &events);
    std::fs::write(&a.out, svg).with_context(|| format!("writing {}", a.out.display()))?;
    let spans = spans(&events);
    let mut workers: Vec<&str> = spans.iter().map(|s| s.worker.as_str()).collect();
    workers.sort_unstable();
    workers.dedup();
    println!(
        "{}",
        serde_json::json!({
            "batch": a.batch,
            "events": events.len(),
            "spans": spans.len(),
            "workers": workers,
            "out": a.out.display().to_string(),
        })
    );
    Ok(())
}
