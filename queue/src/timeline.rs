//! A batch's timeline: which worker held which job when, and how each
//! lease ended, as spans ([`spans`]) and as a standalone SVG document
//! ([`render_svg`]), both built from the batch's events
//! ([`JobQueue::events`](crate::JobQueue::events)).

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::model::{EventKind, JobEvent, JobId, JobKind};

/// One job's time on one worker: from its claim to its end.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    /// The job.
    pub job: JobId,
    /// What it proves.
    pub kind: JobKind,
    /// Its layer.
    pub layer: u32,
    /// Its index within the layer.
    pub position: u32,
    /// The worker that held the lease (`?` if the event named none).
    pub worker: String,
    /// The attempt, as the claim recorded it.
    pub attempt: Option<u32>,
    /// When the lease was claimed (Unix ms).
    pub claimed_ms: f64,
    /// When it ended, or the last event's time if it is still open (Unix ms).
    pub end_ms: f64,
    /// How it ended.
    pub outcome: Outcome,
}

/// How a span ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Its proof was accepted.
    Accepted,
    /// A call under a token no longer current was refused (a zero-length
    /// span marks a late result after the lease was taken over).
    RefusedStale,
    /// Its proof did not verify.
    RefusedInvalid,
    /// The worker reported a failure, or the job was parked.
    Failed,
    /// The worker gave the lease back.
    Released,
    /// Taken over by another claim.
    Expired,
    /// Still leased at the last event.
    Open,
}

impl Outcome {
    /// The outcome's name (the event's spelling; `open` for open spans).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::RefusedStale => "refused_stale",
            Outcome::RefusedInvalid => "refused_invalid",
            Outcome::Failed => "failed",
            Outcome::Released => "released",
            Outcome::Expired => "expired",
            Outcome::Open => "open",
        }
    }
}

/// Builds spans from a batch's events (ordered by id): a `claimed` event
/// opens a span for (job, worker, fencing token); `accepted`,
/// `refused_stale`, `refused_invalid`, `failed` and `released` from the same
/// worker (and with the same token when the event has one) close it with
/// that outcome; `expired` closes the previous holder's span as
/// [`Outcome::Expired`]; `parked` closes any open span of the job as
/// [`Outcome::Failed`]. A `refused_stale` matching no open span (the late
/// result of a worker that lost its lease) becomes a zero-length
/// [`Outcome::RefusedStale`] span at the event's time. Spans still open at
/// the end are [`Outcome::Open`] and end at the last event's time. Spans
/// come in claim order.
pub fn spans(events: &[JobEvent]) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    // Open spans: (index into `spans`, fencing token of the claim).
    let mut open: Vec<(usize, Option<i64>)> = Vec::new();
    let last_ms = events
        .iter()
        .map(|e| e.at_ms)
        .fold(f64::NEG_INFINITY, f64::max);
    let new_span = |e: &JobEvent, outcome| Span {
        job: e.job,
        kind: e.kind,
        layer: e.layer,
        position: e.position,
        worker: e.worker.clone().unwrap_or_else(|| "?".into()),
        attempt: e.attempt,
        claimed_ms: e.at_ms,
        end_ms: e.at_ms,
        outcome,
    };
    for e in events {
        let outcome = match e.event {
            EventKind::Claimed => {
                open.push((spans.len(), e.fencing_token));
                spans.push(new_span(e, Outcome::Open));
                continue;
            }
            EventKind::Accepted => Outcome::Accepted,
            EventKind::RefusedStale => Outcome::RefusedStale,
            EventKind::RefusedInvalid => Outcome::RefusedInvalid,
            EventKind::Failed => Outcome::Failed,
            EventKind::Released => Outcome::Released,
            EventKind::Expired => Outcome::Expired,
            EventKind::Parked => {
                open.retain(|&(i, _)| {
                    let keep = spans[i].job != e.job;
                    if !keep {
                        spans[i].end_ms = e.at_ms;
                        spans[i].outcome = Outcome::Failed;
                    }
                    keep
                });
                continue;
            }
            _ => continue,
        };
        let found = open.iter().position(|&(i, token)| {
            let s = &spans[i];
            s.job == e.job
                && e.worker.as_deref().is_none_or(|w| w == s.worker)
                && (e.fencing_token.is_none() || token.is_none() || token == e.fencing_token)
        });
        if let Some(k) = found {
            let (i, _) = open.remove(k);
            spans[i].end_ms = e.at_ms;
            spans[i].outcome = outcome;
        } else if outcome == Outcome::RefusedStale {
            spans.push(new_span(e, outcome));
        }
    }
    for (i, _) in open {
        spans[i].end_ms = last_ms.max(spans[i].claimed_ms);
    }
    spans
}

/// Escapes `&`, `<`, `>`, `"` and `'` for SVG text and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Fill colour of a job kind.
fn kind_colour(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Chunk => "#4e79a7",
        JobKind::Aggregate => "#f28e2b",
        JobKind::Final => "#59a14f",
    }
}

/// Outline attributes that say an outcome.
fn outcome_style(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Accepted => r##"stroke="#222" stroke-width="1""##,
        Outcome::Open => {
            r##"stroke="#222" stroke-width="1.5" stroke-dasharray="4 3" fill-opacity="0.6""##
        }
        Outcome::Released => {
            r##"stroke="#888" stroke-width="1.5" stroke-dasharray="1 2" fill-opacity="0.4""##
        }
        _ => r##"stroke="#d62728" stroke-width="2" fill-opacity="0.45""##,
    }
}

/// A tick step (1, 2 or 5 times a power of ten seconds) giving at most
/// about eight ticks over `total_s`.
fn tick_step(total_s: f64) -> f64 {
    let raw = total_s / 8.0;
    let mag = 10f64.powf(raw.log10().floor());
    let m = [1.0, 2.0, 5.0].into_iter().find(|&m| m * mag >= raw);
    m.unwrap_or(10.0) * mag
}

const WIDTH: f64 = 960.0;
const LEFT: f64 = 150.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const LANE: f64 = 28.0;
const SVG: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" font-family="sans-serif""#;

/// Appends a `<text>` element at (x, y) with extra attributes; escapes `content`.
fn text(out: &mut String, (x, y): (f64, f64), attrs: &str, content: &str) {
    let content = esc(content);
    let _ = writeln!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}"{attrs}>{content}</text>"#
    );
}

/// Appends a `<rect>` ([x, y, width, height]) with extra attributes and an
/// optional `<title>` tooltip (escaped).
fn rect(out: &mut String, [x, y, w, h]: [f64; 4], attrs: &str, title: Option<&str>) {
    let _ = write!(
        out,
        r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" {attrs}"#
    );
    let _ = match title {
        Some(t) => writeln!(out, "><title>{}</title></rect>", esc(t)),
        None => writeln!(out, "/>"),
    };
}

/// Renders the timeline of batch `batch` as a standalone SVG document: a
/// header (batch, job count, workers, wall time), one lane per worker
/// (sorted by name), time on the x axis from the batch's first event (ticks
/// in seconds), one rectangle per [`Span`] coloured by job kind and
/// outlined by [`Outcome`] (accepted solid, refused/failed/expired red,
/// released grey dotted, open dashed) with a `<title>` tooltip, a marker at
/// each acceptance, and a legend. Every string is escaped. Without events:
/// a small SVG saying so.
pub fn render_svg(batch: i64, events: &[JobEvent]) -> String {
    if events.is_empty() {
        let body = format!(r#"<text x="10" y="25">batch {batch}: no events</text>"#);
        return format!("{SVG} font-size=\"12\" width=\"400\" height=\"40\">\n{body}\n</svg>\n");
    }
    let spans = spans(events);
    let (t0, t1) = events
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), e| {
            (a.min(e.at_ms), b.max(e.at_ms))
        });
    let total_ms = (t1 - t0).max(1.0);
    let plot_w = WIDTH - LEFT - RIGHT;
    let x_of = |ms: f64| LEFT + (ms - t0) / total_ms * plot_w;
    let workers: BTreeSet<&str> = spans.iter().map(|s| s.worker.as_str()).collect();
    let workers: Vec<&str> = workers.into_iter().collect();
    let jobs = events.iter().map(|e| e.job).collect::<BTreeSet<_>>().len();
    let axis_y = TOP + LANE * workers.len().max(1) as f64 + 10.0;
    let height = axis_y + 90.0;
    let mut out = format!("{SVG} font-size=\"12\" width=\"{WIDTH}\" height=\"{height}\">\n");
    out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n");
    let wall_s = (t1 - t0) / 1000.0;
    let header = format!(
        "batch {batch}: {jobs} jobs, {} workers, wall {wall_s:.3} s",
        workers.len()
    );
    let bold = r#" font-size="14" font-weight="bold""#;
    text(&mut out, (10.0, 20.0), bold, &header);
    out.push_str("<g class=\"lanes\">\n");
    for (i, w) in workers.iter().enumerate() {
        let y = TOP + LANE * i as f64;
        let fill = [r##"fill="#f4f4f4""##, r##"fill="#fafafa""##][i % 2];
        rect(&mut out, [LEFT, y, plot_w, LANE], fill, None);
        let label_at = (LEFT - 8.0, y + LANE / 2.0 + 4.0);
        text(&mut out, label_at, r#" text-anchor="end""#, w);
    }
    if workers.is_empty() {
        text(&mut out, (LEFT + 8.0, TOP + 18.0), "", "no job claimed yet");
    }
    out.push_str("</g>\n<g class=\"axis\" stroke=\"#999\">\n");
    let total_s = total_ms / 1000.0;
    let step = tick_step(total_s);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let (x2, tick_y) = (WIDTH - RIGHT, axis_y + 4.0);
    let _ = writeln!(
        out,
        r#"<line x1="{LEFT}" y1="{axis_y}" x2="{x2}" y2="{axis_y}"/>"#
    );
    let mut k = 0u32;
    while f64::from(k) * step <= total_s * (1.0 + 1e-9) {
        let t = f64::from(k) * step;
        let x = x_of(t0 + t * 1000.0);
        let dash = r#"stroke-dasharray="1 3""#;
        let _ = writeln!(
            out,
            r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{tick_y}" {dash}/>"#
        );
        let attrs = r##" text-anchor="middle" stroke="none" fill="#333""##;
        text(
            &mut out,
            (x, axis_y + 16.0),
            attrs,
            &format!("{t:.decimals$} s"),
        );
        k += 1;
    }
    out.push_str("</g>\n<g class=\"spans\">\n");
    for s in &spans {
        let lane = workers.iter().position(|w| *w == s.worker).unwrap_or(0);
        let y = TOP + LANE * lane as f64 + 5.0;
        let x = x_of(s.claimed_ms);
        let w = (x_of(s.end_ms) - x).max(2.0);
        let attempt = s.attempt.map_or("-".to_string(), |a| a.to_string());
        let (outcome, ms) = (s.outcome.as_str(), s.end_ms - s.claimed_ms);
        let title = format!(
            "job {} ({}, layer {}, position {}), worker {}, attempt {attempt}, {outcome}, {ms:.0} ms",
            s.job, s.kind, s.layer, s.position, s.worker
        );
        let (fill, style) = (kind_colour(s.kind), outcome_style(s.outcome));
        let attrs = format!(r#"fill="{fill}" {style}"#);
        rect(&mut out, [x, y, w, LANE - 10.0], &attrs, Some(&title));
        if s.outcome == Outcome::Accepted {
            let end = x + w;
            let _ = writeln!(
                out,
                r##"<path d="M{end:.1} {y:.1} l-4 -5 h8 z" fill="#111"/>"##
            );
        }
    }
    out.push_str("</g>\n<g class=\"legend\">\n");
    let ly = axis_y + 32.0;
    for (i, kind) in JobKind::ALL.iter().enumerate() {
        let x = 10.0 + 130.0 * i as f64;
        let attrs = format!(r##"fill="{}" stroke="#222""##, kind_colour(*kind));
        rect(&mut out, [x, ly, 14.0, 12.0], &attrs, None);
        text(&mut out, (x + 20.0, ly + 10.0), "", kind.as_str());
    }
    let outcomes = [
        (Outcome::Accepted, "accepted (▼ marker)"),
        (Outcome::Failed, "refused / failed / expired"),
        (Outcome::Released, "released"),
        (Outcome::Open, "open"),
    ];
    for (i, (outcome, label)) in outcomes.into_iter().enumerate() {
        let (x, y) = (10.0 + 180.0 * i as f64, ly + 24.0);
        let attrs = format!(r##"fill="#ccc" {}"##, outcome_style(outcome));
        rect(&mut out, [x, y, 14.0, 12.0], &attrs, None);
        text(&mut out, (x + 20.0, y + 10.0), "", label);
    }
    out.push_str("</g>\n</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventKind::*;

    /// An event of job `job` (a chunk below 10, a final proof from 10).
    fn ev(id: i64, job: i64, at: f64, w: Option<&str>, event: EventKind, tok: i64) -> JobEvent {
        let kind = if job < 10 {
            JobKind::Chunk
        } else {
            JobKind::Final
        };
        let (worker, fencing_token) = (w.map(String::from), Some(tok));
        let (layer, position, attempt, detail) = (0, job as u32, Some(1), None);
        let job = JobId(job);
        JobEvent {
            id,
            job,
            kind,
            layer,
            position,
            at_ms: at,
            worker,
            event,
            fencing_token,
            attempt,
            detail,
        }
    }

    /// (worker, claimed, end, outcome) of each span.
    fn brief(events: &[JobEvent]) -> Vec<(String, f64, f64, Outcome)> {
        let spans = spans(events).into_iter();
        spans
            .map(|s| (s.worker, s.claimed_ms, s.end_ms, s.outcome))
            .collect()
    }

    fn sp(w: &str, claimed: f64, end: f64, outcome: Outcome) -> (String, f64, f64, Outcome) {
        (w.to_string(), claimed, end, outcome)
    }

    #[test]
    fn two_workers_one_accepted_job_each() {
        let events = [
            ev(1, 1, 1000.0, Some("a"), Claimed, 1),
            ev(2, 2, 1100.0, Some("b"), Claimed, 2),
            ev(3, 1, 1500.0, Some("a"), Heartbeat, 1),
            ev(4, 2, 2100.0, Some("b"), Accepted, 2),
            ev(5, 1, 2500.0, Some("a"), Accepted, 1),
        ];
        let want = [
            sp("a", 1000.0, 2500.0, Outcome::Accepted),
            sp("b", 1100.0, 2100.0, Outcome::Accepted),
        ];
        assert_eq!(brief(&events), want);
    }

    #[test]
    fn reassignment_keeps_the_late_stale_result() {
        let events = [
            ev(1, 1, 0.0, Some("a"), Claimed, 1),
            ev(2, 1, 3000.0, Some("a"), Expired, 1),
            ev(3, 1, 3000.0, Some("b"), Claimed, 2),
            ev(4, 1, 4000.0, Some("b"), Accepted, 2),
            ev(5, 1, 4500.0, Some("a"), RefusedStale, 1),
        ];
        let want = [
            sp("a", 0.0, 3000.0, Outcome::Expired),
            sp("b", 3000.0, 4000.0, Outcome::Accepted),
            sp("a", 4500.0, 4500.0, Outcome::RefusedStale),
        ];
        assert_eq!(brief(&events), want);
        assert!(render_svg(1, &events).contains("refused_stale"));
    }

    #[test]
    fn refused_invalid_then_parked() {
        let events = [
            ev(1, 1, 0.0, Some("a"), Claimed, 1),
            ev(2, 1, 800.0, Some("a"), RefusedInvalid, 1),
            ev(3, 1, 900.0, Some("b"), Claimed, 2),
            ev(4, 1, 950.0, None, Parked, 2),
        ];
        let want = [
            sp("a", 0.0, 800.0, Outcome::RefusedInvalid),
            sp("b", 900.0, 950.0, Outcome::Failed),
        ];
        assert_eq!(brief(&events), want);
    }

    #[test]
    fn open_span_ends_at_the_last_event() {
        let events = [
            ev(1, 1, 0.0, Some("a"), Claimed, 1),
            ev(2, 1, 700.0, Some("a"), Heartbeat, 1),
            ev(3, 2, 900.0, None, Enqueued, 0),
        ];
        assert_eq!(brief(&events), [sp("a", 0.0, 900.0, Outcome::Open)]);
        assert!(render_svg(1, &events).contains(r#"stroke-dasharray="4 3""#));
    }

    #[test]
    fn svg_lanes_escaping_and_balance() {
        let evil = "a<b&\"c'";
        let events = [
            ev(1, 1, 0.0, Some(evil), Claimed, 1),
            ev(2, 11, 10.0, Some("zeta"), Claimed, 2),
            ev(3, 1, 1200.0, Some(evil), Accepted, 1),
            ev(4, 11, 2400.0, Some("zeta"), Failed, 2),
        ];
        let svg = render_svg(42, &events);
        assert!(svg.contains(">a&lt;b&amp;&quot;c&#39;</text>"), "{svg}");
        assert!(svg.contains(">zeta</text>") && !svg.contains(evil));
        assert!(svg.contains("batch 42: 2 jobs, 2 workers, wall 2.400 s"));
        let count = |pat: &str| svg.matches(pat).count();
        assert_eq!(count("<title>"), 2);
        assert_eq!(count("<g>"), 0);
        for (open, close) in [("<svg", "</svg>"), ("<g ", "</g>"), ("<text", "</text>")] {
            assert!(count(open) > 0, "{open}");
            assert_eq!(count(open), count(close), "{open}");
        }
        let empty = render_svg(7, &[]);
        assert!(empty.starts_with("<svg") && empty.trim_end().ends_with("</svg>"));
        assert!(empty.contains("batch 7: no events</text>"));
    }
}
