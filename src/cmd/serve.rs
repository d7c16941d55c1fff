//! `zklanes serve`: the batch pipeline service (the `zklanes-service` crate).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use zklanes_executor::params::{DEFAULT_CHAIN_ID, DEMO_CHUNK_CAPACITY};
use zklanes_pipeline::config::ProofConfig;
use zklanes_pipeline::data_dir::DataDir;
use zklanes_pipeline::setup::ProverSetup;
use zklanes_service::config::{L1Source, ProofLevel, QueueConfig, ServiceConfig};
use zklanes_service::error::ServiceError;
use zklanes_service::json_rpc_l1::{self, JsonRpcL1, JsonRpcL1Config};
use zklanes_service::listener::Limits;
use zklanes_service::sequencer::SequencerKey;
use zklanes_service::serve::{run as serve, EXIT_ABANDONED};

/// How far the service proves each batch (`--proof-level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Level {
    /// Chunk proofs, aggregation, the final EVM proof and its L1 calldata.
    Final,
    /// Verified chunk proofs only.
    Chunks,
}

impl From<Level> for ProofLevel {
    fn from(l: Level) -> Self {
        match l {
            Level::Final => ProofLevel::Final,
            Level::Chunks => ProofLevel::Chunks,
        }
    }
}

/// Where the service reads L1 from (`--l1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum L1 {
    /// Nowhere: deposits are not checked against L1 (a warning says so).
    None,
    /// The embedded L1 chain in revm, persisted in `DATA_DIR/l1`; the
    /// operator queues deposits with `POST /v1/l1/deposits`.
    Embedded,
    /// The Rollup contract's `DepositQueued` events, read from an Ethereum
    /// node over JSON-RPC (`--l1-rpc-url`, `--rollup-address`).
    JsonRpc,
}

/// Arguments of `serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Data directory: event log, executor state, proofs, key cache.
    #[arg(long)]
    data_dir: PathBuf,
    /// Listen address (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8545")]
    listen: SocketAddr,
    /// Also ingest batch files dropped into this folder.
    #[arg(long)]
    watch: Option<PathBuf>,
    /// Prover workers.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Slots per chunk.
    #[arg(long, default_value_t = DEMO_CHUNK_CAPACITY)]
    capacity: usize,
    /// Chain id: batches of another chain are refused.
    #[arg(long, default_value_t = DEFAULT_CHAIN_ID)]
    chain_id: u32,
    /// How far to prove each batch.
    #[arg(long, value_enum, default_value_t = Level::Final)]
    proof_level: Level,
    /// Most batches one final proof settles: consecutive batches already
    /// executed when a proof starts are bundled (within the tree's width in
    /// chunks), so one L1 verification settles them all.
    #[arg(long, default_value_t = 1)]
    max_bundle: usize,
    /// Log format.
    #[arg(long, default_value = "pretty")]
    pub log_format: String,
    /// Largest batch event, bytes.
    #[arg(long, default_value_t = 16 << 20)]
    max_event_bytes: usize,
    /// Key cache (default: `$ZKLANES_CACHE_DIR`, else `DATA_DIR/keys`).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Powers-of-Tau params directory (default: development SRS, insecure).
    #[arg(long)]
    params_dir: Option<PathBuf>,
    /// File holding the bearer token every write must carry (default:
    /// `DATA_DIR/auth-token`, generated with mode 0600 on first start).
    #[arg(long)]
    auth_token_file: Option<PathBuf>,
    /// Listen on a non-loopback address although no TLS is served.
    #[arg(long)]
    insecure_listen: bool,
    /// Retries of a failed step. Past them a batch whose own proof or
    /// execution keeps failing is parked (health 503 "parked", resumed by
    /// `POST /v1/batches/N/retry`); any other failure is fatal (health 503
    /// "failed", exit 1).
    #[arg(long, default_value_t = 5)]
    max_retries: u32,
    /// The sequencer's Ethereum address: every batch must carry its
    /// signature (header `Zklanes-Signature`, or `NAME.sig` in the watched
    /// folder). See `zklanes sequencer`.
    #[arg(long)]
    sequencer_key: Option<SequencerKey>,
    /// Seconds one proof at k = 18 may take; doubled per k above, halved
    /// per k below, summed over a step's proofs. A step past it exits the
    /// service (1) and counts as a failure of its batch.
    #[arg(long, default_value_t = 300.0)]
    proof_deadline: f64,
    /// Seconds a shutdown waits for the proof in flight (after the
    /// connections' 5 s) before abandoning it (exit status 3).
    #[arg(long, default_value_t = 10.0)]
    drain_secs: f64,
    /// Where L1 is read from: before executing a batch, its deposits are
    /// checked against the deposits L1 queued (a batch waits for one not
    /// queued yet and is rejected for one that differs). `embedded`: the
    /// project's own L1 chain in revm, in `DATA_DIR/l1`. `json-rpc`: the
    /// Rollup contract's deposit events, read from an Ethereum node.
    #[arg(long, value_enum, default_value_t = L1::None)]
    l1: L1,
    /// `--l1 json-rpc`: the node's JSON-RPC endpoint, `http://HOST:PORT[/PATH]`
    /// (plain HTTP: a local node, or a TLS-terminating proxy on loopback).
    #[arg(long, required_if_eq("l1", "json-rpc"))]
    l1_rpc_url: Option<String>,
    /// `--l1 json-rpc`: the Rollup contract's address (0x and 40 hex digits).
    #[arg(long, required_if_eq("l1", "json-rpc"), value_parser = parse_address)]
    rollup_address: Option<[u8; 20]>,
    /// `--l1 json-rpc`: the block the Rollup contract was deployed in (its
    /// events are searched from it).
    #[arg(long, default_value_t = 0)]
    l1_from_block: u64,
    /// `--l1 json-rpc`: the newest block read: `finalized` (only deposits
    /// no reorg can undo are acted on), or for devnets and tests `safe`,
    /// `latest` or a 0x block number.
    #[arg(long, default_value = json_rpc_l1::DEFAULT_BLOCK_TAG)]
    l1_block_tag: String,
    /// Prove on the PostgreSQL job queue at this URL instead of in process:
    /// each batch's proof tree is enqueued as jobs that `zklanes worker`
    /// processes (on any machines) prove; the service checks and assembles
    /// their proofs. Default: in process, nothing installed.
    #[arg(long)]
    queue: Option<String>,
    /// Schema of the queue's tables (created if missing).
    #[arg(long, requires = "queue")]
    queue_schema: Option<String>,
    /// Attempts per proof job before it is parked (and its batch with it).
    #[arg(long, default_value_t = zklanes_queue::DEFAULT_MAX_ATTEMPTS, requires = "queue")]
    queue_max_attempts: u32,
}

fn parse_address(s: &str) -> std::result::Result<[u8; 20], String> {
    json_rpc_l1::parse_address(s)
}

/// The L1 source `a` names.
fn l1_source(a: &ServeArgs) -> Result<L1Source> {
    if a.l1 != L1::JsonRpc && (a.l1_rpc_url.is_some() || a.rollup_address.is_some()) {
        anyhow::bail!("--l1-rpc-url and --rollup-address need --l1 json-rpc");
    }
    Ok(match a.l1 {
        L1::None => L1Source::None,
        L1::Embedded => L1Source::Embedded,
        L1::JsonRpc => {
            let (Some(url), Some(rollup)) = (&a.l1_rpc_url, a.rollup_address) else {
                anyhow::bail!("--l1 json-rpc needs --l1-rpc-url and --rollup-address");
            };
            let cfg = JsonRpcL1Config {
                from_block: a.l1_from_block,
                block_tag: a.l1_block_tag.clone(),
                ..JsonRpcL1Config::new(url.clone(), rollup)
            };
            // Checked here, before anything starts.
            JsonRpcL1::new(cfg.clone())?;
            L1Source::JsonRpc(cfg)
        }
    })
}

/// Runs `serve`.
pub fn run(a: ServeArgs) -> Result<()> {
    let l1 = l1_source(&a)?;
    let data = DataDir::new(&a.data_dir);
    let mut setup = ProverSetup::with_workers(Some(data.keys(a.cache_dir.as_deref())), a.workers);
    setup.params_dir = a.params_dir.clone();
    if setup.params_dir.is_none() {
        tracing::warn!("SRS: development setup, INSECURE (its secret is public)");
    }
    let cfg = ServiceConfig {
        data_dir: data,
        listen: a.listen,
        watch: a.watch,
        proof: ProofConfig::two_chunks_on(a.capacity.max(1), a.chain_id),
        level: a.proof_level.into(),
        setup,
        max_bytes: a.max_event_bytes,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        max_bundle: a.max_bundle.max(1),
        auth_token_file: a.auth_token_file,
        insecure_listen: a.insecure_listen,
        limits: Limits::for_this_process(),
        max_retries: a.max_retries,
        sequencer: a.sequencer_key,
        proof_deadline: seconds(a.proof_deadline, "--proof-deadline")?,
        drain: seconds(a.drain_secs, "--drain-secs")?,
        l1,
        queue: a.queue.map(|url| QueueConfig {
            url,
            schema: a.queue_schema,
            max_attempts: a.queue_max_attempts.max(1),
        }),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let r = rt.block_on(serve(cfg));
    // Requests still blocking on the log are not waited for.
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    if let Err(e @ ServiceError::Abandoned { .. }) = &r {
        eprintln!("zklanes serve: {e}");
        std::process::exit(EXIT_ABANDONED);
    }
    Ok(r?)
}

fn seconds(s: f64, flag: &str) -> Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(s)
        .with_context(|| format!("{flag} {s}: not a number of seconds"))
}
