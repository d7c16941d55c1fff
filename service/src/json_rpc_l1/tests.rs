//! Tests of the JSON-RPC L1 view against an in-process JSON-RPC endpoint
//! (axum on 127.0.0.1:0) that answers `eth_getLogs` as a node does, from
//! logs ABI-encoded by the contract's event layout, filtering by address,
//! topics and block range; not against a real Ethereum node.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use sha3::{Digest, Keccak256};
use zklanes_executor::field::{fr_to_bytes, Fr};

use super::*;

const ROLLUP: L1Address = [0xaa; 20];
const OTHER: L1Address = [0xbb; 20];
const ALICE: L1Address = [0x11; 20];
const BOB: L1Address = [0x22; 20];
/// The deployment block the views are configured with.
const FROM: u64 = 7;
/// BN254's scalar modulus r.
const R: &str = "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";

/// The `DepositQueued` declaration of contracts/ZklanesRollup.sol: its
/// canonical signature and which parameters are indexed.
fn contract_event() -> (String, Vec<bool>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contracts/ZklanesRollup.sol"
    );
    let src = std::fs::read_to_string(path).expect("the Rollup contract's source");
    let start = src
        .find("event DepositQueued(")
        .expect("the contract declares DepositQueued")
        + "event DepositQueued(".len();
    let end = start + src[start..].find(')').expect("a closed parameter list");
    let (mut types, mut indexed) = (Vec::new(), Vec::new());
    for param in src[start..end].split(',') {
        let words: Vec<&str> = param.split_whitespace().collect();
        types.push(words[0].to_string());
        indexed.push(words.contains(&"indexed"));
    }
    (format!("DepositQueued({})", types.join(",")), indexed)
}

/// topic0 as the node computes it: from the contract's source.
fn contract_topic0() -> [u8; 32] {
    Keccak256::digest(contract_event().0.as_bytes()).into()
}

fn uint_word(v: u128) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[16..].copy_from_slice(&v.to_be_bytes());
    w
}

fn addr_word(a: &L1Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a);
    w
}

/// A log on the node.
#[derive(Clone, Debug)]
struct Log {
    address: L1Address,
    topics: Vec<[u8; 32]>,
    data: Vec<u8>,
    block: u64,
}

impl Log {
    /// The log the contract emits for `e`, in `block`.
    fn of(e: &DepositEvent, block: u64) -> Self {
        let mut data = Vec::new();
        for w in [
            uint_word(e.account.into()),
            fr_to_bytes(&e.pubkey_x),
            fr_to_bytes(&e.pubkey_y),
            uint_word(e.asset.into()),
            uint_word(e.amount),
        ] {
            data.extend_from_slice(&w);
        }
        Self {
            address: ROLLUP,
            topics: vec![
                contract_topic0(),
                uint_word(e.queue_index.into()),
                addr_word(&e.sender),
            ],
            data,
            block,
        }
    }

    /// Word `i` of the data set to `w`.
    fn with_word(mut self, i: usize, w: [u8; 32]) -> Self {
        self.data[i * 32..(i + 1) * 32].copy_from_slice(&w);
        self
    }

    fn json(&self, n: usize) -> Value {
        json!({
            "address": format!("0x{}", hex::encode(self.address)),
            "topics": self.topics.iter().map(|t| format!("0x{}", hex::encode(t))).collect::<Vec<_>>(),
            "data": format!("0x{}", hex::encode(&self.data)),
            "blockNumber": format!("0x{:x}", self.block),
            "blockHash": format!("0x{}", hex::encode(uint_word(self.block.into()))),
            "transactionHash": format!("0x{}", hex::encode(uint_word(1000 + n as u128))),
            "transactionIndex": "0x0",
            "logIndex": format!("0x{n:x}"),
            "removed": false,
        })
    }
}

fn new_account(queue_index: u64) -> DepositEvent {
    DepositEvent {
        queue_index,
        sender: ALICE,
        account: 3,
        pubkey_x: Fr::from(123_456_789u64),
        pubkey_y: -Fr::from(5u64),
        asset: 1,
        amount: u128::MAX,
    }
}

fn top_up(queue_index: u64) -> DepositEvent {
    DepositEvent {
        queue_index,
        sender: BOB,
        account: u32::MAX,
        pubkey_x: Fr::from(0u64),
        pubkey_y: Fr::from(0u64),
        asset: 2,
        amount: 1000,
    }
}

fn forced(queue_index: u64) -> DepositEvent {
    DepositEvent {
        queue_index,
        sender: ALICE,
        account: 3,
        pubkey_x: Fr::from(0u64),
        pubkey_y: Fr::from(0u64),
        asset: 1,
        amount: 0,
    }
}

/// How the node answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Normal,
    /// HTTP 500.
    Status500,
    /// A JSON-RPC error.
    RpcError,
    /// No answer for 5 s.
    Slow,
    /// A 2 MiB body.
    Huge,
    /// Logs of every address (a node ignoring the filter).
    IgnoreAddress,
    /// An answer to another request.
    WrongId,
}

struct NodeState {
    logs: Vec<Log>,
    finalized: u64,
    safe: u64,
    latest: u64,
    mode: Mode,
    requests: Vec<Value>,
}

/// An in-process JSON-RPC endpoint answering `eth_getLogs`.
struct Node {
    /// Serves the endpoint; dropped with the node (a request still
    /// sleeping, [`Mode::Slow`], is dropped with it).
    _rt: tokio::runtime::Runtime,
    url: String,
    state: Arc<Mutex<NodeState>>,
}

impl Node {
    /// Blocks up to 10 finalized, 15 safe, 20 latest.
    fn start(logs: Vec<Log>) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(Mutex::new(NodeState {
            logs,
            finalized: 10,
            safe: 15,
            latest: 20,
            mode: Mode::Normal,
            requests: Vec::new(),
        }));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/", post(rpc))
            .with_state(state.clone());
        rt.spawn(async move { axum::serve(listener, app).await });
        Self {
            _rt: rt,
            url,
            state,
        }
    }

    fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    fn requests(&self) -> Vec<Value> {
        self.state.lock().unwrap().requests.clone()
    }

    fn config(&self) -> JsonRpcL1Config {
        JsonRpcL1Config {
            from_block: FROM,
            timeout: Duration::from_millis(500),
            ..JsonRpcL1Config::new(self.url.clone(), ROLLUP)
        }
    }

    fn view(&self) -> JsonRpcL1 {
        JsonRpcL1::new(self.config()).unwrap()
    }
}

fn rpc_error(id: &Value, code: i64, message: &str) -> Response {
    axum::Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
        .into_response()
}

/// A block parameter as a node reads it.
fn block(v: Option<&Value>, s: &NodeState) -> Option<u64> {
    match v.and_then(Value::as_str).unwrap_or("latest") {
        "latest" => Some(s.latest),
        "safe" => Some(s.safe),
        "finalized" => Some(s.finalized),
        "earliest" => Some(0),
        hex => u64::from_str_radix(hex.strip_prefix("0x")?, 16).ok(),
    }
}

/// Whether a filter's address or topic entry admits `have`.
fn admits(filter: Option<&Value>, have: &str) -> bool {
    match filter {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.eq_ignore_ascii_case(have),
        Some(Value::Array(any)) => {
            any.is_empty()
                || any
                    .iter()
                    .any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(have)))
        }
        Some(_) => false,
    }
}

async fn rpc(State(state): State<Arc<Mutex<NodeState>>>, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return rpc_error(&Value::Null, -32700, "parse error");
    };
    let mode = {
        let mut s = state.lock().unwrap();
        s.requests.push(req.clone());
        s.mode
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    match mode {
        Mode::Status500 => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response()
        }
        Mode::RpcError => return rpc_error(&id, -32000, "header not found"),
        Mode::Slow => tokio::time::sleep(Duration::from_secs(5)).await,
        Mode::Huge => {
            return ([("content-type", "application/json")], vec![b' '; 2 << 20]).into_response()
        }
        _ => {}
    }
    if req.get("method").and_then(Value::as_str) != Some("eth_getLogs") {
        return rpc_error(&id, -32601, "the method does not exist");
    }
    let s = state.lock().unwrap();
    let filter = &req["params"][0];
    let (Some(from), Some(to)) = (
        block(filter.get("fromBlock"), &s),
        block(filter.get("toBlock"), &s),
    ) else {
        return rpc_error(&id, -32602, "invalid block");
    };
    let topics = filter
        .get("topics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let logs: Vec<Value> = s
        .logs
        .iter()
        .enumerate()
        .filter(|(_, l)| from <= l.block && l.block <= to.min(s.latest))
        .filter(|(_, l)| {
            s.mode == Mode::IgnoreAddress
                || admits(
                    filter.get("address"),
                    &format!("0x{}", hex::encode(l.address)),
                )
        })
        .filter(|(_, l)| {
            topics.len() <= l.topics.len()
                && topics
                    .iter()
                    .zip(&l.topics)
                    .all(|(f, t)| admits(Some(f), &format!("0x{}", hex::encode(t))))
        })
        .map(|(n, l)| l.json(n))
        .collect();
    let id = if s.mode == Mode::WrongId {
        json!(id.as_u64().unwrap_or(0) + 100)
    } else {
        id
    };
    axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": logs})).into_response()
}

fn unavailable(r: Result<Option<DepositEvent>, L1ViewError>) -> String {
    match r {
        Err(e @ L1ViewError::Unavailable { .. }) => {
            assert!(e.is_retryable());
            e.to_string()
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

fn corrupt(r: Result<Option<DepositEvent>, L1ViewError>) -> String {
    match r {
        Err(e @ L1ViewError::Corrupt { .. }) => {
            assert!(!e.is_retryable());
            e.to_string()
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn the_signature_is_the_contracts_event() {
    let (signature, indexed) = contract_event();
    assert_eq!(signature, DEPOSIT_QUEUED_SIGNATURE);
    // queueIndex and sender are topics 1 and 2; the rest is data.
    assert_eq!(indexed, [true, true, false, false, false, false, false]);
    assert_eq!(deposit_queued_topic(), contract_topic0());
    let expected: [u8; 32] =
        Keccak256::digest(b"DepositQueued(uint64,address,uint32,uint256,uint256,uint32,uint128)")
            .into();
    assert_eq!(deposit_queued_topic(), expected);
}

#[test]
fn deposits_and_forced_withdrawals_decode() {
    let events = [new_account(0), top_up(1), forced(2)];
    let node = Node::start(events.iter().map(|e| Log::of(e, 8)).collect());
    let view = node.view();
    assert_eq!(view.name(), "json-rpc");
    for e in &events {
        assert_eq!(view.deposit(e.queue_index).unwrap().as_ref(), Some(e));
    }
    assert!(!view.deposit(0).unwrap().unwrap().is_forced_withdrawal());
    assert!(view.deposit(2).unwrap().unwrap().is_forced_withdrawal());
    assert_eq!(view.deposit(3).unwrap(), None);
    assert_eq!(view.deposit(u64::MAX).unwrap(), None);
}

#[test]
fn the_request_names_the_contract_the_event_the_index_and_the_tag() {
    let node = Node::start(vec![Log::of(&top_up(5), 8)]);
    node.view().deposit(5).unwrap().unwrap();
    let requests = node.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r["jsonrpc"], "2.0");
    assert_eq!(r["method"], "eth_getLogs");
    let f = &r["params"][0];
    assert_eq!(f["address"], format!("0x{}", "aa".repeat(20)));
    assert_eq!(
        f["topics"],
        json!([
            format!("0x{}", hex::encode(contract_topic0())),
            format!("0x{}5", "0".repeat(63)),
        ])
    );
    assert_eq!(f["fromBlock"], "0x7");
    assert_eq!(f["toBlock"], "finalized");
}

#[test]
fn only_finalized_events_count_by_default() {
    // Index 0 in a finalized block, 1 in a safe one, 2 in the latest only,
    // 3 before the deployment block.
    let node = Node::start(vec![
        Log::of(&top_up(0), 10),
        Log::of(&top_up(1), 15),
        Log::of(&top_up(2), 20),
        Log::of(&top_up(3), FROM - 1),
    ]);
    let finalized = node.view();
    assert!(finalized.deposit(0).unwrap().is_some());
    assert_eq!(finalized.deposit(1).unwrap(), None);
    assert_eq!(finalized.deposit(2).unwrap(), None);
    assert_eq!(finalized.deposit(3).unwrap(), None);
    let tagged = |tag: &str| {
        JsonRpcL1::new(JsonRpcL1Config {
            block_tag: tag.into(),
            ..node.config()
        })
        .unwrap()
    };
    let safe = tagged("safe");
    assert!(safe.deposit(1).unwrap().is_some());
    assert_eq!(safe.deposit(2).unwrap(), None);
    let latest = tagged("latest");
    assert_eq!(latest.deposit(2).unwrap(), Some(top_up(2)));
    assert_eq!(tagged("0xf").deposit(2).unwrap(), None);
    assert_eq!(
        node.requests().last().unwrap()["params"][0]["toBlock"],
        "0xf"
    );
}

#[test]
fn finalized_events_are_cached_and_nothing_else_is() {
    let node = Node::start(vec![Log::of(&top_up(0), 9), Log::of(&top_up(1), 20)]);
    let view = node.view();
    assert!(view.deposit(0).unwrap().is_some());
    assert_eq!(node.requests().len(), 1);
    // Cached: no request, even with the node gone wrong.
    node.set_mode(Mode::Status500);
    assert_eq!(view.deposit(0).unwrap(), Some(top_up(0)));
    assert_eq!(node.requests().len(), 1);
    assert_eq!(view.requests_sent(), 1);
    node.set_mode(Mode::Normal);
    // A missing one is asked for every time.
    assert_eq!(view.deposit(1).unwrap(), None);
    assert_eq!(view.deposit(1).unwrap(), None);
    assert_eq!(node.requests().len(), 3);
    // Under `latest` nothing is final, so nothing is cached.
    let latest = JsonRpcL1::new(JsonRpcL1Config {
        block_tag: "latest".into(),
        ..node.config()
    })
    .unwrap();
    assert!(latest.deposit(1).unwrap().is_some());
    assert!(latest.deposit(1).unwrap().is_some());
    assert_eq!(node.requests().len(), 5);
}

#[test]
fn the_cache_is_bounded() {
    let high = CACHE_CAPACITY as u64 + 5;
    let node = Node::start(vec![Log::of(&top_up(high), 8)]);
    let view = node.view();
    lock(&view.cache).extend((0..CACHE_CAPACITY as u64).map(|i| (i, top_up(i))));
    assert_eq!(view.deposit(high).unwrap(), Some(top_up(high)));
    assert_eq!(node.requests().len(), 1);
    // The lowest index made room.
    let cache = lock(&view.cache);
    assert_eq!(cache.len(), CACHE_CAPACITY);
    assert!(!cache.contains_key(&0));
    assert!(cache.contains_key(&1) && cache.contains_key(&high));
}

#[test]
fn two_logs_for_one_index_are_corrupt() {
    let node = Node::start(vec![
        Log::of(&top_up(0), 8),
        Log::of(&top_up(1), 8),
        Log::of(&forced(1), 9),
    ]);
    let view = node.view();
    assert!(view.deposit(0).unwrap().is_some());
    let reason = corrupt(view.deposit(1));
    assert!(reason.contains("2 logs for one queue index"), "{reason}");
    assert!(reason.contains("queue index 1"), "{reason}");
}

#[test]
fn a_log_of_another_contract_is_corrupt() {
    let mut log = Log::of(&top_up(0), 8);
    log.address = OTHER;
    let node = Node::start(vec![log]);
    let view = node.view();
    // A node filters it out...
    assert_eq!(view.deposit(0).unwrap(), None);
    // ...one that does not is not believed.
    node.set_mode(Mode::IgnoreAddress);
    let reason = corrupt(view.deposit(0));
    assert!(reason.contains("not the Rollup contract"), "{reason}");
}

#[test]
fn malformed_words_are_corrupt() {
    let r: [u8; 32] = hex::decode(R).unwrap().try_into().unwrap();
    let mut r_minus_1 = r;
    r_minus_1[31] -= 1;
    let over = |i: usize, byte: usize| {
        let mut w = [0u8; 32];
        w[byte] = 1;
        Log::of(&new_account(i as u64), 8).with_word(i % 5, w)
    };
    let mut logs = vec![
        over(0, 27),                                          // account > uint32
        Log::of(&new_account(1), 8).with_word(1, r),          // pubkeyX = r
        Log::of(&new_account(2), 8).with_word(2, [0xff; 32]), // pubkeyY > r
        over(3, 27),                                          // asset > uint32
        over(4, 15),                                          // amount > uint128
    ];
    // Data of 4 words.
    let mut short = Log::of(&new_account(5), 8);
    short.data.truncate(4 * 32);
    logs.push(short);
    // A sender topic that is not an address.
    let mut sender = Log::of(&new_account(6), 8);
    sender.topics[2][0] = 1;
    logs.push(sender);
    // A fourth topic (another event's layout).
    let mut extra = Log::of(&new_account(7), 8);
    extra.topics.push([0; 32]);
    logs.push(extra);
    // The largest key coordinate that is in range decodes.
    logs.push(Log::of(&new_account(8), 8).with_word(1, r_minus_1));
    let node = Node::start(logs);
    let view = node.view();
    for (i, needle) in [
        "account",
        "pubkeyX",
        "pubkeyY",
        "asset",
        "amount",
        "128 bytes of data",
        "sender topic",
        "4 topics",
    ]
    .into_iter()
    .enumerate()
    {
        let reason = corrupt(view.deposit(i as u64));
        assert!(reason.contains(needle), "index {i}: {reason}");
    }
    let e = view.deposit(8).unwrap().unwrap();
    assert_eq!(e.pubkey_x, -Fr::from(1u64));
}

#[test]
fn node_failures_are_unavailable() {
    let node = Node::start(vec![Log::of(&top_up(0), 8)]);
    let view = node.view();
    node.set_mode(Mode::Status500);
    let reason = unavailable(view.deposit(0));
    assert!(
        reason.contains("HTTP 500") && reason.contains("upstream exploded"),
        "{reason}"
    );
    node.set_mode(Mode::RpcError);
    let reason = unavailable(view.deposit(0));
    assert!(
        reason.contains("JSON-RPC error") && reason.contains("header not found"),
        "{reason}"
    );
    node.set_mode(Mode::WrongId);
    let reason = unavailable(view.deposit(0));
    assert!(reason.contains("the answer is to request"), "{reason}");
    node.set_mode(Mode::Huge);
    let reason = unavailable(view.deposit(0));
    assert!(
        reason.contains("larger than the 1024 KiB limit"),
        "{reason}"
    );
    node.set_mode(Mode::Slow);
    let t = std::time::Instant::now();
    let reason = unavailable(view.deposit(0));
    assert!(reason.contains("no answer within"), "{reason}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    // Recovered: it reads again.
    node.set_mode(Mode::Normal);
    assert_eq!(view.deposit(0).unwrap(), Some(top_up(0)));
}

#[test]
fn a_refused_connection_is_unavailable() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let view = JsonRpcL1::new(JsonRpcL1Config::new(
        format!("http://127.0.0.1:{port}"),
        ROLLUP,
    ))
    .unwrap();
    let reason = unavailable(view.deposit(0));
    assert!(reason.contains("connecting to 127.0.0.1"), "{reason}");
}

/// A server that answers one connection with `response`, written in
/// pieces; returns the request it read.
fn raw_server(response: Vec<u8>) -> (String, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/rpc?x=1", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).unwrap();
            req.extend_from_slice(&buf[..n]);
            if let Some(end) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&req[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap();
                if req.len() >= end + 4 + len {
                    break;
                }
            }
            assert!(n > 0, "the client closed early");
        }
        // A small answer trickles in, a large one is poured.
        let small = response.len() < 4096;
        for piece in response.chunks(if small { 7 } else { 64 << 10 }) {
            if s.write_all(piece).and_then(|_| s.flush()).is_err() {
                break;
            }
            if small {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        req
    });
    (url, handle)
}

fn answer(logs: &[Log]) -> Vec<u8> {
    let logs: Vec<Value> = logs.iter().enumerate().map(|(n, l)| l.json(n)).collect();
    serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": 1, "result": logs})).unwrap()
}

fn raw_view(url: String) -> JsonRpcL1 {
    JsonRpcL1::new(JsonRpcL1Config {
        timeout: Duration::from_secs(5),
        ..JsonRpcL1Config::new(url, ROLLUP)
    })
    .unwrap()
}

#[test]
fn a_chunked_answer_is_read() {
    let body = answer(&[Log::of(&new_account(0), 8)]);
    let mut response =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for piece in body.chunks(100) {
        response.extend_from_slice(format!("{:x};ext=1\r\n", piece.len()).as_bytes());
        response.extend_from_slice(piece);
        response.extend_from_slice(b"\r\n");
    }
    response.extend_from_slice(b"0\r\nX-Trailer: 1\r\n\r\n");
    let (url, server) = raw_server(response);
    let view = raw_view(url);
    assert_eq!(view.deposit(0).unwrap(), Some(new_account(0)));
    let req = String::from_utf8(server.join().unwrap()).unwrap();
    assert!(req.starts_with("POST /rpc?x=1 HTTP/1.1\r\n"), "{req}");
    assert!(req.contains("\r\nHost: 127.0.0.1:"), "{req}");
    assert!(
        req.contains("\r\nContent-Type: application/json\r\n"),
        "{req}"
    );
    assert!(req.contains("\r\nConnection: close\r\n"), "{req}");
}

#[test]
fn a_close_delimited_answer_is_read_and_bounded() {
    let body = answer(&[Log::of(&forced(0), 8)]);
    let mut response = b"HTTP/1.0 200 OK\r\n\r\n".to_vec();
    response.extend_from_slice(&body);
    let (url, server) = raw_server(response);
    assert_eq!(raw_view(url).deposit(0).unwrap(), Some(forced(0)));
    server.join().unwrap();

    let mut response = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
    response.resize(response.len() + (3 << 20), b' ');
    let (url, server) = raw_server(response);
    let reason = unavailable(raw_view(url).deposit(0));
    assert!(
        reason.contains("larger than the 1024 KiB limit"),
        "{reason}"
    );
    server.join().unwrap();
}

#[test]
fn a_truncated_or_garbled_answer_is_unavailable() {
    let (url, server) =
        raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\"".to_vec());
    let reason = unavailable(raw_view(url).deposit(0));
    assert!(reason.contains("closed before the body ended"), "{reason}");
    server.join().unwrap();
    let (url, server) = raw_server(b"SSH-2.0-OpenSSH\r\n\r\n".to_vec());
    let reason = unavailable(raw_view(url).deposit(0));
    assert!(reason.contains("malformed HTTP answer"), "{reason}");
    server.join().unwrap();
    let (url, server) =
        raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnot json!".to_vec());
    let reason = unavailable(raw_view(url).deposit(0));
    assert!(reason.contains("not a JSON-RPC answer"), "{reason}");
    server.join().unwrap();
    let body = br#"{"jsonrpc":"2.0","id":1,"result":"0x1"}"#;
    let mut response =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    response.extend_from_slice(body);
    let (url, server) = raw_server(response);
    let reason = unavailable(raw_view(url).deposit(0));
    assert!(reason.contains("not a list of logs"), "{reason}");
    server.join().unwrap();
}

#[test]
fn it_runs_from_a_runtime_task() {
    let node = Node::start(vec![Log::of(&top_up(0), 8)]);
    let view = Arc::new(node.view());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let v = view.clone();
    let got = rt.block_on(rt.spawn(async move { v.deposit(0) })).unwrap();
    assert_eq!(got.unwrap(), Some(top_up(0)));
    drop(rt);
}

#[test]
fn configurations_are_checked() {
    let ep = Endpoint::parse("http://127.0.0.1:8545").unwrap();
    assert_eq!(
        (
            ep.host.as_str(),
            ep.port,
            ep.authority.as_str(),
            ep.path.as_str()
        ),
        ("127.0.0.1", 8545, "127.0.0.1:8545", "/")
    );
    let ep = Endpoint::parse("HTTP://node.internal/rpc/v1?key=k").unwrap();
    assert_eq!(
        (ep.host.as_str(), ep.port, ep.path.as_str()),
        ("node.internal", 80, "/rpc/v1?key=k")
    );
    let ep = Endpoint::parse("http://[::1]:8545/").unwrap();
    assert_eq!((ep.host.as_str(), ep.port), ("::1", 8545));
    let ep = Endpoint::parse("http://localhost?x").unwrap();
    assert_eq!((ep.host.as_str(), ep.path.as_str()), ("localhost", "/?x"));
    let e = Endpoint::parse("https://mainnet.example").unwrap_err();
    assert!(e.to_string().contains("TLS-terminating proxy"), "{e}");
    for bad in [
        "ftp://x",
        "127.0.0.1:8545",
        "http://",
        "http://:8545",
        "http://h:port",
        "http://h:70000",
        "http://user:pw@h",
        "http://h/a b",
        "http://h/#frag",
        "http://[::1",
    ] {
        assert!(Endpoint::parse(bad).is_err(), "{bad}");
    }
    let url = "http://127.0.0.1:1".to_string();
    for good in ["finalized", "safe", "latest", "0x0", "0x1f"] {
        let cfg = JsonRpcL1Config {
            block_tag: good.into(),
            ..JsonRpcL1Config::new(url.clone(), ROLLUP)
        };
        assert!(JsonRpcL1::new(cfg).is_ok(), "{good}");
    }
    for bad in [
        "pending",
        "earliest",
        "Finalized",
        "10",
        "0x",
        "0x01",
        "0xg",
    ] {
        let cfg = JsonRpcL1Config {
            block_tag: bad.into(),
            ..JsonRpcL1Config::new(url.clone(), ROLLUP)
        };
        assert!(
            matches!(
                JsonRpcL1::new(cfg),
                Err(JsonRpcL1ConfigError::BlockTag { .. })
            ),
            "{bad}"
        );
    }
    let cfg = JsonRpcL1Config {
        timeout: Duration::ZERO,
        ..JsonRpcL1Config::new(url, ROLLUP)
    };
    assert!(matches!(
        JsonRpcL1::new(cfg),
        Err(JsonRpcL1ConfigError::Timeout)
    ));
    assert_eq!(
        parse_address(&format!("0x{}", "Aa".repeat(20))).unwrap(),
        ROLLUP
    );
    for bad in [
        "aa".repeat(20),
        format!("0x{}", "aa".repeat(19)),
        "0xzz".into(),
    ] {
        assert!(parse_address(&bad).is_err(), "{bad}");
    }
}
