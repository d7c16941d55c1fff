//! The production L1 view (`zklanes serve --l1 json-rpc`): the Rollup
//! contract's `DepositQueued` events, read from an Ethereum node over
//! JSON-RPC (`eth_getLogs`).
//!
//! The contract queues deposits and forced withdrawals in one queue and
//! emits one event per entry:
//!
//! ```solidity
//! event DepositQueued(uint64 indexed queueIndex, address indexed sender,
//!     uint32 account, uint256 pubkeyX, uint256 pubkeyY, uint32 asset, uint128 amount);
//! ```
//!
//! `topic0` is the keccak-256 of [`DEPOSIT_QUEUED_SIGNATURE`], `topic1` the
//! queue index and `topic2` the sender (each a 32-byte word), and the data
//! is five ABI words: account, key x, key y, asset, amount. A forced
//! withdrawal is the same event with amount 0 and the zero key
//! ([`DepositEvent::is_forced_withdrawal`]).
//!
//! [`JsonRpcL1::deposit`]`(i)` asks the node for the logs of the contract
//! with `topics = [topic0, word(i)]` from the deployment block
//! ([`JsonRpcL1Config::from_block`]) to the configured block tag
//! ([`JsonRpcL1Config::block_tag`], default `finalized`: only events of
//! finalized L1 blocks are acted on, so no reorg can change a deposit once
//! a batch was checked against it; `safe` or `latest` are for devnets and
//! tests). What the node answers:
//! - no log: `Ok(None)`, L1 has not queued (or not finalized) it yet;
//! - one log: decoded, every word checked against its type (a `uint32`
//!   that does not fit, a key coordinate not below the BN254 scalar field's
//!   modulus r, a sender topic that is not an address, data that is not
//!   exactly five words) and the log's address against the contract's;
//! - any of these wrong, or two logs for one index: [`L1ViewError::Corrupt`]
//!   (not retryable: the service stops, no batch can be checked);
//! - the node unreachable, refused, slow past the timeout, an HTTP status
//!   other than 2xx, a JSON-RPC error, an answer that is not a JSON-RPC
//!   answer, or one larger than [`MAX_RESPONSE_BYTES`]:
//!   [`L1ViewError::Unavailable`] (retryable: the batch waits, the check is
//!   retried with backoff).
//!
//! Events read under the `finalized` tag are final, so they are cached (at
//! most [`CACHE_CAPACITY`], the lowest queue indexes evicted first: the
//! driver checks indexes in increasing order); a `None` is never cached,
//! and under another tag nothing is.
//!
//! Transport: a small blocking HTTP/1.1 client over `std::net` (one
//! request per connection, `Connection: close`; `Content-Length`,
//! chunked and close-delimited bodies), bounded by
//! [`JsonRpcL1Config::timeout`] for connecting, sending and reading
//! together (name resolution excepted: it is the system resolver's) and by
//! [`MAX_RESPONSE_BYTES`]. Plain `http://` only: no TLS is spoken, so
//! point it at a local node, or at a TLS-terminating proxy on loopback
//! for a remote one. [`L1View::deposit`] is synchronous: it blocks the
//! calling thread for up to the timeout. The driver calls it on its own
//! thread; called from a task of a multi-threaded tokio runtime it runs
//! under `block_in_place`, and it must not be called from a
//! current-thread runtime's task.
//!
//! What is not done: no `eth_chainId` or contract-code check at start (the
//! address is trusted as configured), no failover between nodes, no
//! WebSocket subscription (the driver polls with backoff while a batch
//! waits).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha3::{Digest, Keccak256};
use zklanes_executor::field::fr_from_bytes;
use zklanes_executor::tx::L1Address;
use zklanes_l1::log::DepositEvent;

use crate::l1_view::{L1View, L1ViewError};

/// The canonical signature of the Rollup contract's queue event; its
/// keccak-256 is the event's `topic0`.
pub const DEPOSIT_QUEUED_SIGNATURE: &str =
    "DepositQueued(uint64,address,uint32,uint256,uint256,uint32,uint128)";

/// The largest response body read from the node (1 MiB); a larger one is
/// [`L1ViewError::Unavailable`]. One queue index matches at most one log of
/// about 1 KiB, so only a misbehaving node or proxy comes near it.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// The largest response head (status line and headers).
const MAX_HEAD_BYTES: usize = 64 << 10;

/// The default request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The default block tag (`--l1-block-tag`).
pub const DEFAULT_BLOCK_TAG: &str = "finalized";

/// The most events cached.
pub const CACHE_CAPACITY: usize = 4096;

/// `topic0` of `DepositQueued`: keccak-256 of [`DEPOSIT_QUEUED_SIGNATURE`].
pub fn deposit_queued_topic() -> [u8; 32] {
    Keccak256::digest(DEPOSIT_QUEUED_SIGNATURE.as_bytes()).into()
}

/// Parses an L1 address: `0x` and 40 hex digits (either case; the
/// checksum of a mixed-case address is not checked).
pub fn parse_address(s: &str) -> Result<L1Address, String> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or_else(|| format!("{s:?} is not an address (0x and 40 hex digits)"))?;
    let raw = hex::decode(digits)
        .map_err(|_| format!("{s:?} is not an address (0x and 40 hex digits)"))?;
    raw.try_into()
        .map_err(|_| format!("{s:?} is not an address (0x and 40 hex digits)"))
}

/// Where and how the JSON-RPC view reads L1 (`zklanes serve --l1 json-rpc`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonRpcL1Config {
    /// The node's JSON-RPC endpoint, `http://HOST[:PORT][/PATH]`
    /// (`--l1-rpc-url`; port 80 by default). Plain HTTP only: for a remote
    /// node, put a TLS-terminating proxy on loopback in front of it.
    pub url: String,
    /// The Rollup contract's address (`--rollup-address`): only its events
    /// are read.
    pub rollup_address: L1Address,
    /// The block the contract was deployed in (`--l1-from-block`): logs are
    /// searched from it (0 searches the whole chain, which some nodes
    /// refuse or answer slowly).
    pub from_block: u64,
    /// The newest block searched (`--l1-block-tag`): `finalized` (the
    /// default: a reorg cannot change a deposit once a batch was checked
    /// against it), `safe` or `latest` (devnets and tests: a reorg could),
    /// or a block number as a `0x` quantity.
    pub block_tag: String,
    /// The bound of one request: connecting, sending and reading the
    /// answer (default [`DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
}

impl JsonRpcL1Config {
    /// The configuration of `url` and `rollup_address` with the defaults:
    /// from block 0, block tag `finalized`, timeout 10 s.
    pub fn new(url: impl Into<String>, rollup_address: L1Address) -> Self {
        Self {
            url: url.into(),
            rollup_address,
            from_block: 0,
            block_tag: DEFAULT_BLOCK_TAG.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Why a [`JsonRpcL1Config`] is refused.
#[derive(Debug, thiserror::Error)]
pub enum JsonRpcL1ConfigError {
    /// The URL is not `http://HOST[:PORT][/PATH]`.
    #[error("--l1-rpc-url {url:?}: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The block tag is none of `finalized`, `safe`, `latest` or a `0x`
    /// block number.
    #[error("--l1-block-tag {tag:?}: not finalized, safe, latest or a 0x block number")]
    BlockTag {
        /// The tag.
        tag: String,
    },
    /// A zero timeout.
    #[error("the L1 JSON-RPC timeout must be more than zero")]
    Timeout,
}

/// The endpoint, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Endpoint {
    /// The host, as resolved (brackets of an IPv6 literal removed).
    host: String,
    /// The port.
    port: u16,
    /// The `Host` header: the authority as written.
    authority: String,
    /// The request target.
    path: String,
}

impl Endpoint {
    fn parse(url: &str) -> Result<Self, JsonRpcL1ConfigError> {
        let bad = |reason: &str| JsonRpcL1ConfigError::Url {
            url: url.into(),
            reason: reason.into(),
        };
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("https://") {
            return Err(bad(
                "https is not spoken: use http:// to a local node, or to a TLS-terminating \
                 proxy on loopback in front of a remote one",
            ));
        }
        if !lower.starts_with("http://") {
            return Err(bad("not an http:// URL"));
        }
        let rest = &url["http://".len()..];
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if path.contains('#') {
            return Err(bad("a fragment is not allowed"));
        }
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        if path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(bad("the path has spaces or control characters"));
        }
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        if authority.contains('@') {
            return Err(bad("credentials in the URL are not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6
                .find(']')
                .ok_or_else(|| bad("an unclosed [ in the host"))?;
            let host = &v6[..end];
            match &v6[end + 1..] {
                "" => (host, None),
                p => (
                    host,
                    Some(
                        p.strip_prefix(':')
                            .ok_or_else(|| bad("junk after the host"))?,
                    ),
                ),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
        {
            return Err(bad("not a host name or address"));
        }
        let port = match port {
            None => 80,
            Some(p) => p.parse().map_err(|_| bad("not a port number"))?,
        };
        Ok(Self {
            host: host.into(),
            port,
            authority: authority.into(),
            path,
        })
    }
}

/// Whether `tag` is a block tag the view accepts.
fn valid_block_tag(tag: &str) -> bool {
    match tag {
        "finalized" | "safe" | "latest" => true,
        _ => tag.strip_prefix("0x").is_some_and(|d| {
            !d.is_empty()
                && d.len() <= 16
                && d.bytes().all(|b| b.is_ascii_hexdigit())
                && (d == "0" || !d.starts_with('0'))
        }),
    }
}

/// The L1 view over an Ethereum node's JSON-RPC (see the module doc).
#[derive(Debug)]
pub struct JsonRpcL1 {
    cfg: JsonRpcL1Config,
    endpoint: Endpoint,
    topic0: [u8; 32],
    /// Events read under the `finalized` tag, by queue index.
    cache: Mutex<BTreeMap<u64, DepositEvent>>,
    /// Requests sent (the JSON-RPC ids).
    requests: AtomicU64,
}

impl JsonRpcL1 {
    /// The view `cfg` describes; nothing is sent yet.
    pub fn new(cfg: JsonRpcL1Config) -> Result<Self, JsonRpcL1ConfigError> {
        let endpoint = Endpoint::parse(&cfg.url)?;
        if !valid_block_tag(&cfg.block_tag) {
            return Err(JsonRpcL1ConfigError::BlockTag {
                tag: cfg.block_tag.clone(),
            });
        }
        if cfg.timeout.is_zero() {
            return Err(JsonRpcL1ConfigError::Timeout);
        }
        Ok(Self {
            cfg,
            endpoint,
            topic0: deposit_queued_topic(),
            cache: Mutex::new(BTreeMap::new()),
            requests: AtomicU64::new(0),
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &JsonRpcL1Config {
        &self.cfg
    }

    /// How many requests it has sent to the node.
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Whether what it reads is final, hence cached.
    fn caches(&self) -> bool {
        self.cfg.block_tag == "finalized"
    }

    /// The `eth_getLogs` request for `queue_index`.
    fn request(&self, id: u64, queue_index: u64) -> Value {
        json!({
            "jsonrpc": "2.0",
            "id": id,
            "method": "eth_getLogs",
            "params": [{
                "address": format!("0x{}", hex::encode(self.cfg.rollup_address)),
                "topics": [hex_word(&self.topic0), hex_word(&u64_word(queue_index))],
                "fromBlock": format!("0x{:x}", self.cfg.from_block),
                "toBlock": self.cfg.block_tag,
            }],
        })
    }

    /// Sends one JSON-RPC request and returns its `result`.
    fn call(&self, request: &Value, id: u64) -> Result<Value, L1ViewError> {
        let body = serde_json::to_vec(request).expect("a JSON value always encodes");
        let unavailable = |reason: String| L1ViewError::Unavailable {
            reason: format!("{}: {reason}", self.cfg.url),
        };
        let (status, answer) = blocking(|| post(&self.endpoint, &body, self.cfg.timeout))
            .map_err(|e| unavailable(e.to_string()))?;
        let parsed: Option<Value> = serde_json::from_slice(&answer).ok();
        let rpc_error = parsed
            .as_ref()
            .and_then(|v| v.get("error"))
            .filter(|e| !e.is_null())
            .map(describe_rpc_error);
        if !(200..300).contains(&status) {
            let detail = rpc_error.unwrap_or_else(|| snippet(&answer));
            return Err(unavailable(format!("HTTP {status}: {detail}")));
        }
        if let Some(e) = rpc_error {
            return Err(unavailable(format!("JSON-RPC error: {e}")));
        }
        let Some(Value::Object(mut answer_obj)) = parsed else {
            return Err(unavailable(format!(
                "the answer is not a JSON-RPC answer: {}",
                snippet(&answer)
            )));
        };
        if answer_obj.get("id") != Some(&json!(id)) {
            return Err(unavailable(format!(
                "the answer is to request {}, not {id}",
                answer_obj.get("id").unwrap_or(&Value::Null)
            )));
        }
        answer_obj
            .remove("result")
            .ok_or_else(|| unavailable("the answer has neither result nor error".into()))
    }
}

impl L1View for JsonRpcL1 {
    fn deposit(&self, queue_index: u64) -> Result<Option<DepositEvent>, L1ViewError> {
        if let Some(e) = lock(&self.cache).get(&queue_index) {
            return Ok(Some(e.clone()));
        }
        let id = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let result = self.call(&self.request(id, queue_index), id)?;
        let logs = match result {
            Value::Array(logs) => logs,
            other => {
                return Err(L1ViewError::Unavailable {
                    reason: format!(
                        "{}: eth_getLogs answered {}, not a list of logs",
                        self.cfg.url,
                        truncate(&other.to_string())
                    ),
                })
            }
        };
        let event = decode_logs(&logs, &self.cfg.rollup_address, &self.topic0, queue_index)
            .map_err(|reason| L1ViewError::Corrupt {
                reason: format!("the DepositQueued log of queue index {queue_index}: {reason}"),
            })?;
        if let (Some(e), true) = (&event, self.caches()) {
            let mut cache = lock(&self.cache);
            cache.insert(queue_index, e.clone());
            while cache.len() > CACHE_CAPACITY {
                cache.pop_first();
            }
        }
        Ok(event)
    }

    fn name(&self) -> &'static str {
        "json-rpc"
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs blocking `f`, under `block_in_place` on a multi-threaded tokio
/// runtime's thread (a worker is not blocked).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// A JSON-RPC error object in one line.
fn describe_rpc_error(e: &Value) -> String {
    match (e.get("code"), e.get("message").and_then(Value::as_str)) {
        (Some(code), Some(message)) => format!("{code}: {}", truncate(message)),
        _ => truncate(&e.to_string()),
    }
}

/// The start of a body, for a reason.
fn snippet(body: &[u8]) -> String {
    if body.is_empty() {
        return "an empty body".into();
    }
    truncate(&String::from_utf8_lossy(body))
}

fn truncate(s: &str) -> String {
    const MAX: usize = 200;
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// `0x` and the 64 hex digits of a word.
fn hex_word(w: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(w))
}

/// A `uint64` as an ABI word.
fn u64_word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

/// The log's `field`, a string.
fn str_field<'a>(log: &'a Value, field: &str) -> Result<&'a str, String> {
    log.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no {field} string"))
}

/// `0x`-hex bytes.
fn hex_bytes(s: &str, what: &str) -> Result<Vec<u8>, String> {
    let digits = s
        .strip_prefix("0x")
        .ok_or_else(|| format!("{what} {:?} is not 0x-hex", truncate(s)))?;
    hex::decode(digits).map_err(|_| format!("{what} {:?} is not 0x-hex", truncate(s)))
}

/// A word whose value must fit `bits` bits.
fn uint(w: &[u8; 32], bits: usize, what: &str) -> Result<u128, String> {
    let lead = 32 - bits / 8;
    if w[..lead].iter().any(|&b| b != 0) {
        return Err(format!(
            "{what} 0x{} does not fit a uint{bits}",
            hex::encode(w)
        ));
    }
    let mut v = [0u8; 16];
    v.copy_from_slice(&w[16..]);
    Ok(u128::from_be_bytes(v))
}

/// The one event among `logs` (an `eth_getLogs` answer for `queue_index`),
/// checked against the contract's layout; `None` for no log. The `Err` is
/// why the record is corrupt.
fn decode_logs(
    logs: &[Value],
    rollup: &L1Address,
    topic0: &[u8; 32],
    queue_index: u64,
) -> Result<Option<DepositEvent>, String> {
    // A removed log was reorged out (a node answers `getLogs` with live
    // logs only, but the flag is honoured).
    let live: Vec<&Value> = logs
        .iter()
        .filter(|l| l.get("removed").and_then(Value::as_bool) != Some(true))
        .collect();
    match live.as_slice() {
        [] => Ok(None),
        [log] => decode_log(log, rollup, topic0, queue_index).map(Some),
        more => Err(format!(
            "{} logs for one queue index (transactions {})",
            more.len(),
            more.iter()
                .map(|l| l
                    .get("transactionHash")
                    .and_then(Value::as_str)
                    .unwrap_or("?"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// One log, checked against the contract's layout.
fn decode_log(
    log: &Value,
    rollup: &L1Address,
    topic0: &[u8; 32],
    queue_index: u64,
) -> Result<DepositEvent, String> {
    let address = hex_bytes(str_field(log, "address")?, "the address")?;
    if address.as_slice() != rollup {
        return Err(format!(
            "emitted by 0x{}, not the Rollup contract 0x{}",
            hex::encode(&address),
            hex::encode(rollup)
        ));
    }
    let topics = log
        .get("topics")
        .and_then(Value::as_array)
        .ok_or("no topics list")?
        .iter()
        .map(|t| {
            let raw = hex_bytes(t.as_str().ok_or("a topic is not a string")?, "a topic")?;
            <[u8; 32]>::try_from(raw).map_err(|r| format!("a topic of {} bytes", r.len()))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let [t0, t1, t2] = topics.as_slice() else {
        return Err(format!("{} topics, not 3", topics.len()));
    };
    if t0 != topic0 {
        return Err(format!("topic0 {} is not DepositQueued's", hex_word(t0)));
    }
    let index = uint(t1, 64, "the queueIndex topic")? as u64;
    if index != queue_index {
        return Err(format!("its queueIndex topic is {index}"));
    }
    uint(t2, 160, "the sender topic")?;
    let sender: L1Address = t2[12..].try_into().expect("20 bytes");
    let data = hex_bytes(str_field(log, "data")?, "the data")?;
    if data.len() != 5 * 32 {
        return Err(format!(
            "{} bytes of data, not the 5 words account, pubkeyX, pubkeyY, asset, amount",
            data.len()
        ));
    }
    let words: Vec<[u8; 32]> = data
        .chunks_exact(32)
        .map(|c| c.try_into().expect("32 bytes"))
        .collect();
    let key = |w: &[u8; 32], what: &str| {
        fr_from_bytes(w).ok_or_else(|| {
            format!(
                "{what} 0x{} is not below the BN254 scalar modulus",
                hex::encode(w)
            )
        })
    };
    Ok(DepositEvent {
        queue_index,
        sender,
        account: uint(&words[0], 32, "account")? as u32,
        pubkey_x: key(&words[1], "pubkeyX")?,
        pubkey_y: key(&words[2], "pubkeyY")?,
        asset: uint(&words[3], 32, "asset")? as u32,
        amount: uint(&words[4], 128, "amount")?,
    })
}

/// Why an HTTP exchange failed.
#[derive(Debug, thiserror::Error)]
enum HttpError {
    #[error("resolving {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error("connecting to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Io(std::io::Error),
    #[error("the answer is larger than the {} KiB limit", MAX_RESPONSE_BYTES >> 10)]
    TooLarge,
    #[error("malformed HTTP answer: {0}")]
    Malformed(String),
}

/// POSTs `body` (JSON) to `ep` and reads the answer: its status and body,
/// all within `timeout`.
fn post(ep: &Endpoint, body: &[u8], timeout: Duration) -> Result<(u16, Vec<u8>), HttpError> {
    let deadline = Instant::now() + timeout;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(HttpError::Timeout(timeout))
    };
    let addrs: Vec<_> = (ep.host.as_str(), ep.port)
        .to_socket_addrs()
        .map_err(|source| HttpError::Resolve {
            host: ep.host.clone(),
            source,
        })?
        .collect();
    let mut stream = None;
    let mut last = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, left()?) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) if is_timeout(&e) => return Err(HttpError::Timeout(timeout)),
            Err(source) => {
                last = Some(HttpError::Connect {
                    addr: addr.to_string(),
                    source,
                })
            }
        }
    }
    let mut stream = stream.ok_or_else(|| {
        last.unwrap_or_else(|| HttpError::Resolve {
            host: ep.host.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
        })
    })?;
    let io = |e: std::io::Error| {
        if is_timeout(&e) {
            HttpError::Timeout(timeout)
        } else {
            HttpError::Io(e)
        }
    };
    let _ = stream.set_nodelay(true);
    let mut request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Accept: application/json\r\nUser-Agent: zklanes\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        ep.path,
        ep.authority,
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    stream.set_write_timeout(Some(left()?)).map_err(io)?;
    stream.write_all(&request).map_err(io)?;
    stream.flush().map_err(io)?;

    let mut buf = Vec::with_capacity(8 << 10);
    let mut chunk = [0u8; 16 << 10];
    let mut head: Option<Head> = None;
    loop {
        if let Some(h) = &head {
            if let Some(done) = h.complete(&buf[h.len..])? {
                return Ok((h.status, done));
            }
        }
        stream.set_read_timeout(Some(left()?)).map_err(io)?;
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        };
        if n == 0 {
            // The peer closed: the body ends here if it may.
            return match &head {
                Some(h) => h.at_eof(&buf[h.len..]).map(|b| (h.status, b)),
                None => Err(HttpError::Malformed(
                    "the connection closed before the headers ended".into(),
                )),
            };
        }
        buf.extend_from_slice(&chunk[..n]);
        if head.is_none() {
            head = Head::parse(&buf)?;
        }
        let body_len = head.as_ref().map_or(0, |h| buf.len() - h.len);
        // Chunk framing adds a little to the body: allowed once over.
        if body_len > MAX_RESPONSE_BYTES + (MAX_RESPONSE_BYTES >> 4) {
            return Err(HttpError::TooLarge);
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

/// How a body is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    Close,
}

/// A response head.
#[derive(Debug)]
struct Head {
    /// Its length, the blank line included.
    len: usize,
    status: u16,
    framing: Framing,
}

impl Head {
    /// The head at the start of `buf`, `None` while incomplete.
    fn parse(buf: &[u8]) -> Result<Option<Self>, HttpError> {
        let malformed = |s: &str| HttpError::Malformed(s.into());
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            if buf.len() > MAX_HEAD_BYTES {
                return Err(malformed("headers larger than 64 KiB"));
            }
            return Ok(None);
        };
        let text = std::str::from_utf8(&buf[..end]).map_err(|_| malformed("non-UTF-8 headers"))?;
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let (version, code) = (parts.next(), parts.next());
        if !version.is_some_and(|v| v.starts_with("HTTP/1.")) {
            return Err(HttpError::Malformed(format!(
                "status line {:?}",
                truncate(status_line)
            )));
        }
        let status: u16 = code
            .filter(|c| c.len() == 3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| {
                HttpError::Malformed(format!("status line {:?}", truncate(status_line)))
            })?;
        if status < 200 {
            return Err(HttpError::Malformed(format!(
                "an informational answer ({status})"
            )));
        }
        let (mut length, mut chunked) = (None, false);
        for line in lines {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| HttpError::Malformed(format!("header {:?}", truncate(line))))?;
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                let n: usize = value
                    .parse()
                    .map_err(|_| HttpError::Malformed(format!("Content-Length {value:?}")))?;
                if length.is_some_and(|l| l != n) {
                    return Err(malformed("two different Content-Length headers"));
                }
                length = Some(n);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                let last = value.rsplit(',').next().unwrap_or_default().trim();
                if !last.eq_ignore_ascii_case("chunked") {
                    return Err(HttpError::Malformed(format!("Transfer-Encoding {value:?}")));
                }
                chunked = true;
            }
        }
        let framing = match (chunked, length) {
            (true, _) => Framing::Chunked,
            (false, Some(n)) if n > MAX_RESPONSE_BYTES => return Err(HttpError::TooLarge),
            (false, Some(n)) => Framing::Length(n),
            (false, None) => Framing::Close,
        };
        Ok(Some(Self {
            len: end + 4,
            status,
            framing,
        }))
    }

    /// The body, if `body` (what was read after the head) holds all of it.
    fn complete(&self, body: &[u8]) -> Result<Option<Vec<u8>>, HttpError> {
        match self.framing {
            Framing::Length(n) if body.len() >= n => Ok(Some(body[..n].to_vec())),
            Framing::Length(_) | Framing::Close => Ok(None),
            // A chunked body ends with CRLF: only then is it decoded.
            Framing::Chunked if body.ends_with(b"\r\n") => dechunk(body),
            Framing::Chunked => Ok(None),
        }
    }

    /// The body when the peer closed after `body`.
    fn at_eof(&self, body: &[u8]) -> Result<Vec<u8>, HttpError> {
        match self.framing {
            Framing::Close if body.len() > MAX_RESPONSE_BYTES => Err(HttpError::TooLarge),
            Framing::Close => Ok(body.to_vec()),
            _ => self.complete(body)?.ok_or_else(|| {
                HttpError::Malformed("the connection closed before the body ended".into())
            }),
        }
    }
}

/// A chunked body, if `raw` holds all of it (trailers ignored).
fn dechunk(raw: &[u8]) -> Result<Option<Vec<u8>>, HttpError> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let Some(eol) = raw[at..].windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&raw[at..at + eol])
            .map_err(|_| HttpError::Malformed("a chunk size line".into()))?;
        let size = line.split(';').next().unwrap_or_default().trim();
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(HttpError::Malformed(format!(
                "chunk size {:?}",
                truncate(size)
            )));
        }
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| HttpError::Malformed(format!("chunk size {:?}", truncate(size))))?;
        at += eol + 2;
        if size == 0 {
            // Trailers, then the blank line.
            loop {
                let Some(eol) = raw[at..].windows(2).position(|w| w == b"\r\n") else {
                    return Ok(None);
                };
                at += eol + 2;
                if eol == 0 {
                    return Ok(Some(out));
                }
            }
        }
        // Checked before any arithmetic on `size`: a hostile size near
        // `usize::MAX` must be refused, not wrap around.
        if size > MAX_RESPONSE_BYTES.saturating_sub(out.len()) {
            return Err(HttpError::TooLarge);
        }
        let Some(end) = at.checked_add(size).and_then(|e| e.checked_add(2)) else {
            return Err(HttpError::TooLarge);
        };
        if raw.len() < end {
            return Ok(None);
        }
        if &raw[at + size..at + size + 2] != b"\r\n" {
            return Err(HttpError::Malformed("a chunk not ended by CRLF".into()));
        }
        out.extend_from_slice(&raw[at..at + size]);
        at += size + 2;
    }
}

#[cfg(test)]
mod tests;
