//! The embedded L1 (`zklanes serve --l1 embedded`): the project's own L1
//! chain in revm, so the demo and the tests need nothing installed. It
//! holds the real Rollup contract (`zklanes_l1::chain::L1Chain`), deployed
//! at the empty state's root, and queues the deposits the operator posts
//! (`POST /v1/l1/deposits`) by calling its `depositNewAccount` or
//! `deposit`: L1's own rules apply (account ids assigned by L1, the key
//! checked, the asset and amount in range), and what L1 queued is what the
//! driver checks batches against ([`L1View`]). A request of amount 0 is a
//! forced withdrawal: `forceWithdraw(account, asset)` sent by the request's
//! sender, which the contract refuses unless it is the account's L1 owner
//! (and the asset registered), queued in the same queue as an event of
//! amount 0.
//!
//! What it is not: a settlement layer or a custody. Its verifier
//! ([`REFUSING_VERIFIER`]) refuses every proof, so nothing is finalized on
//! it; and its assets are test tokens minted to each deposit's sender as
//! the deposit is made (a faucet), registered on first use.
//!
//! Persistence: the record of the chain is its deposit journal,
//! `DATA/l1/deposits.jsonl`, one `DepositEvent` per line as L1 queued it
//! (a forced withdrawal's with amount 0),
//! appended and fsynced before the deposit is acknowledged. At start the
//! chain is deployed afresh and every journaled deposit is queued again
//! through the contract (the chain is deterministic): each must get the
//! queue index and account id it had, or the start is refused. A torn last
//! line (a crash mid-append, never acknowledged) is dropped.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, RwLock};

use serde::Deserialize;
use zklanes_executor::field::{fr_to_hex, Fr};
use zklanes_executor::params::TREE_DEPTH;
use zklanes_executor::signature::PublicKey;
use zklanes_executor::tx::{hex_addr, Deposit, ForcedWithdraw, L1Address};
use zklanes_l1::chain::{revert_reason, L1Chain};
use zklanes_l1::error::EvmError;
use zklanes_l1::log::{dec_u128, DepositEvent};
use zklanes_l1::rollup::{creates_account, Genesis};

use crate::l1_view::{L1View, L1ViewError};

/// The journal's file name in the embedded L1's directory.
pub const JOURNAL: &str = "deposits.jsonl";

/// Largest body of `POST /v1/l1/deposits`, bytes.
pub const MAX_REQUEST_BYTES: usize = 4096;

/// Creation bytecode of the embedded chain's verifier: its runtime code is
/// `PUSH1 0 PUSH1 0 REVERT`, so every proof is refused (the embedded chain
/// queues deposits; it does not settle).
pub const REFUSING_VERIFIER: [u8; 17] = [
    0x60, 0x05, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x05, 0x60, 0x00, 0xf3, // copy and return
    0x60, 0x00, 0x60, 0x00, 0xfd, // runtime: revert(0, 0)
];

/// Why the embedded L1 failed.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedL1Error {
    /// The journal could not be read or written (retryable: a full disk;
    /// nothing was acknowledged, and the chain is rebuilt without it).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A journal line does not decode (not retryable: a corrupted disk).
    #[error("{path}, line {line}: not a deposit event: {reason}")]
    Journal {
        /// The journal.
        path: PathBuf,
        /// The line (from 1).
        line: usize,
        /// Why.
        reason: String,
    },
    /// The chain could not be deployed (not retryable: the pinned solc is
    /// missing or the contract does not compile).
    #[error("embedded L1: {0}")]
    Evm(EvmError),
    /// A journaled deposit was not queued again as it was (not retryable:
    /// the contract changed its rules under the journal).
    #[error("embedded L1 replay, queue index {queue_index}: {reason}")]
    Replay {
        /// The queue index.
        queue_index: u64,
        /// What differs.
        reason: String,
    },
    /// The deposit request is malformed (not retryable: fix the request).
    #[error("{reason}")]
    Invalid {
        /// Why.
        reason: String,
    },
    /// L1 refused the deposit or forced withdrawal (its `require` reason;
    /// not retryable).
    #[error("L1 refused the {what}: {reason}")]
    Refused {
        /// `deposit` or `forced withdrawal`.
        what: &'static str,
        /// The contract's reason.
        reason: String,
    },
    /// The chain could not be rebuilt after a failed deposit (not
    /// retryable here: restart the service, which rebuilds it from the
    /// journal).
    #[error("the embedded L1 is unusable until a restart: {reason}")]
    Broken {
        /// Why.
        reason: String,
    },
}

impl EmbeddedL1Error {
    /// Whether the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Io { .. })
    }

    /// A short reason label (the HTTP error code).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Io { .. } => "storage",
            Self::Journal { .. } => "journal",
            Self::Evm(_) => "l1",
            Self::Replay { .. } => "replay",
            Self::Invalid { .. } => "malformed",
            Self::Refused { .. } => "refused",
            Self::Broken { .. } => "broken",
        }
    }

    /// The HTTP status that answers it.
    pub fn status(&self) -> u16 {
        match self {
            Self::Invalid { .. } => 400,
            Self::Refused { .. } => 422,
            Self::Io { .. } => 503,
            _ => 500,
        }
    }
}

/// A deposit the operator asks the embedded L1 to queue: a creating one
/// names the new account's key (L1 assigns the account id), a top-up names
/// an account L1 assigned. JSON: `{"sender": "0x…", "pubkey": {"x":
/// "0x…", "y": "0x…"}, "asset": 1, "amount": "1000"}`, or `"account": 3`
/// instead of `"pubkey"`. Amount `"0"` (a deposit's is at least 1) asks
/// for a forced withdrawal instead: `{"sender": OWNER, "account": 3,
/// "asset": 2, "amount": "0"}`, sent by the account's L1 owner, queued as
/// L1 queues it (an event of amount 0).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepositRequest {
    /// The L1 address that sends it.
    #[serde(with = "hex_addr")]
    pub sender: L1Address,
    /// The account a top-up credits.
    #[serde(default)]
    pub account: Option<u32>,
    /// The key of the account a creating deposit creates.
    #[serde(default)]
    pub pubkey: Option<PublicKey>,
    /// The asset.
    pub asset: u32,
    /// The amount (a decimal string).
    #[serde(with = "dec_u128")]
    pub amount: u128,
}

/// What a request asks L1 to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
enum QueueRequest {
    /// A deposit.
    Deposit(Deposit),
    /// A forced withdrawal.
    Forced(ForcedWithdraw),
}

impl DepositRequest {
    /// Whether it asks for a forced withdrawal (amount 0).
    pub fn is_forced_withdrawal(&self) -> bool {
        self.amount == 0
    }

    /// What it asks L1 to queue at `queue_index`.
    fn op(&self, queue_index: u64) -> Result<QueueRequest, EmbeddedL1Error> {
        if !self.is_forced_withdrawal() {
            return self.deposit(queue_index).map(QueueRequest::Deposit);
        }
        match (self.account, self.pubkey) {
            (Some(account), None) => Ok(QueueRequest::Forced(ForcedWithdraw {
                queue_index,
                account,
                asset: self.asset,
                l1_owner: self.sender,
            })),
            _ => Err(EmbeddedL1Error::Invalid {
                reason: "amount 0 asks for a forced withdrawal: it names the `account` (its \
                         owner sends it), never a `pubkey`"
                    .into(),
            }),
        }
    }

    /// The deposit as the chain's helpers take it (`queue_index` and a
    /// creating deposit's `account` are L1's to assign).
    fn deposit(&self, queue_index: u64) -> Result<Deposit, EmbeddedL1Error> {
        let zero = PublicKey {
            x: Fr::from(0u64),
            y: Fr::from(0u64),
        };
        let (account, pubkey) = match (self.account, self.pubkey) {
            (Some(a), None) => (a, zero),
            (None, Some(k)) if k == zero => {
                return Err(EmbeddedL1Error::Invalid {
                    reason: "the zero key names no account: a top-up gives `account`".into(),
                })
            }
            (None, Some(k)) => (0, k),
            _ => {
                return Err(EmbeddedL1Error::Invalid {
                    reason: "give exactly one of `pubkey` (a new account) and `account` (a top-up)"
                        .into(),
                })
            }
        };
        Ok(Deposit {
            queue_index,
            l1_sender: self.sender,
            account,
            pubkey,
            asset: self.asset,
            amount: self.amount,
        })
    }
}

/// The operation that queues `event` again.
fn op_of(event: &DepositEvent) -> QueueRequest {
    if event.is_forced_withdrawal() {
        return QueueRequest::Forced(ForcedWithdraw {
            queue_index: event.queue_index,
            account: event.account,
            asset: event.asset,
            l1_owner: event.sender,
        });
    }
    QueueRequest::Deposit(Deposit {
        queue_index: event.queue_index,
        l1_sender: event.sender,
        account: event.account,
        pubkey: event.pubkey(),
        asset: event.asset,
        amount: event.amount,
    })
}

/// Queues `op` on `chain` as L1 takes it (a deposit's sender is given the
/// asset first); returns the queue index and account L1 gave it.
fn queue_op(chain: &mut L1Chain, op: &QueueRequest) -> Result<(u64, u32), EvmError> {
    match op {
        QueueRequest::Deposit(d) => {
            chain.provide(d)?;
            let q = chain.queue(d)?;
            debug_assert_eq!(q.creates, creates_account(d));
            Ok((q.index, q.account))
        }
        // `forceWithdraw` from the owner: the contract refuses anyone else,
        // and an asset it has not registered (nothing to withdraw).
        QueueRequest::Forced(f) => Ok((
            chain.force_withdraw(f.l1_owner, f.account, f.asset)?.0,
            f.account,
        )),
    }
}

/// The event L1 emits for `op`, queued at `queue_index` for `account`.
fn event_of(op: &QueueRequest, queue_index: u64, account: u32) -> DepositEvent {
    match op {
        QueueRequest::Deposit(d) => DepositEvent {
            queue_index,
            sender: d.l1_sender,
            account,
            pubkey_x: d.pubkey.x,
            pubkey_y: d.pubkey.y,
            asset: d.asset,
            amount: d.amount,
        },
        QueueRequest::Forced(f) => DepositEvent::from_forced(&ForcedWithdraw {
            queue_index,
            ..f.clone()
        }),
    }
}

/// A deposit request for the chain's thread, with where to answer.
struct Job {
    request: DepositRequest,
    reply: mpsc::Sender<Result<DepositEvent, EmbeddedL1Error>>,
}

/// The chain's thread: revm's EVM is not `Send`, so one thread owns the
/// chain and the journal, and queues the requests one at a time.
struct Worker {
    chain: L1Chain,
    path: PathBuf,
    journal: File,
    /// Bytes of the journal's acknowledged lines.
    journal_len: u64,
    /// What the view reads: the deposit events by queue index (from 0).
    events: Arc<RwLock<Vec<DepositEvent>>>,
    /// Set when the chain could not be rebuilt after a failed deposit.
    broken: Option<String>,
}

/// The embedded L1 chain (on its own thread) and what it queued.
pub struct EmbeddedL1 {
    path: PathBuf,
    events: Arc<RwLock<Vec<DepositEvent>>>,
    jobs: mpsc::Sender<Job>,
}

/// A fresh chain with `events` queued again, each checked. The Rollup
/// contract starts at the empty state's root (the service's genesis).
fn replay(events: &[DepositEvent]) -> Result<L1Chain, EmbeddedL1Error> {
    let empty = zklanes_executor::smt::empty_hashes()[TREE_DEPTH];
    let genesis_root =
        zklanes_pipeline::hex::fr_from_hex(&fr_to_hex(&empty)).expect("a field element");
    let mut chain = L1Chain::deploy(&REFUSING_VERIFIER, &genesis_root, Genesis::default())
        .map_err(EmbeddedL1Error::Evm)?;
    for (i, event) in events.iter().enumerate() {
        let replay = |reason: String| EmbeddedL1Error::Replay {
            queue_index: event.queue_index,
            reason,
        };
        if event.queue_index != i as u64 {
            return Err(replay(format!("journaled as line {}", i + 1)));
        }
        let (index, account) = queue_op(&mut chain, &op_of(event))
            .map_err(|e| replay(revert_reason(&e).unwrap_or_else(|| e.to_string())))?;
        if index != event.queue_index || account != event.account {
            return Err(replay(format!(
                "queued again at index {index} for account {account}, journaled for account {}",
                event.account
            )));
        }
    }
    Ok(chain)
}

/// Reads the journal: its events and the length of its whole lines. A
/// torn last line (no newline) is not counted.
fn read_journal(path: &Path) -> Result<(Vec<DepositEvent>, u64), EmbeddedL1Error> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(EmbeddedL1Error::Io {
                path: path.to_owned(),
                source,
            })
        }
    };
    let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if whole < bytes.len() {
        tracing::warn!(
            stage = "l1",
            path = %path.display(),
            bytes = bytes.len() - whole,
            "dropping the journal's torn last line (never acknowledged)"
        );
    }
    let mut events = Vec::new();
    for (i, line) in bytes[..whole].split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let event = serde_json::from_slice(line).map_err(|e| EmbeddedL1Error::Journal {
            path: path.to_owned(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        events.push(event);
    }
    Ok((events, whole as u64))
}

impl EmbeddedL1 {
    /// Opens the embedded L1 in `dir` (created if needed): deploys the
    /// chain on its own thread and queues the journal's deposits again.
    pub fn open(dir: &Path) -> Result<Self, EmbeddedL1Error> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| EmbeddedL1Error::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(JOURNAL);
        let (events, journal_len) = read_journal(&path)?;
        let journal = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        journal.set_len(journal_len).map_err(io(&path))?;
        journal.sync_all().map_err(io(&path))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
        let count = events.len();
        let events = Arc::new(RwLock::new(events));
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (ready, started) = mpsc::channel();
        let (shared, journal_path) = (events.clone(), path.clone());
        std::thread::Builder::new()
            .name("embedded-l1".into())
            .spawn(move || {
                let replayed = replay(&shared.read().unwrap_or_else(|e| e.into_inner()));
                let chain = match replayed {
                    Ok(chain) => chain,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                let mut worker = Worker {
                    chain,
                    path: journal_path,
                    journal,
                    journal_len,
                    events: shared,
                    broken: None,
                };
                for job in inbox {
                    let _ = job.reply.send(worker.queue(&job.request));
                }
            })
            .map_err(io(dir))?;
        started.recv().unwrap_or_else(|_| {
            Err(EmbeddedL1Error::Broken {
                reason: "the chain's thread stopped while starting".into(),
            })
        })?;
        tracing::info!(
            stage = "l1",
            path = %path.display(),
            deposits = count,
            "embedded L1 chain ready (deposits replayed from its journal)"
        );
        Ok(Self { path, events, jobs })
    }

    /// The journal's path.
    pub fn journal(&self) -> &Path {
        &self.path
    }

    /// How many deposits L1 has queued.
    pub fn queued(&self) -> u64 {
        self.events.read().unwrap_or_else(|e| e.into_inner()).len() as u64
    }

    /// Queues `request` through the Rollup contract (the sender is given
    /// the asset first: a test token minted, or ETH), journals what L1
    /// queued (fsynced) and returns it. On any failure nothing is
    /// journaled and the chain is rebuilt from the journal, so it holds
    /// exactly the acknowledged deposits. Blocks while earlier requests
    /// are queued.
    pub fn queue(&self, request: &DepositRequest) -> Result<DepositEvent, EmbeddedL1Error> {
        let stopped = || EmbeddedL1Error::Broken {
            reason: "the chain's thread stopped".into(),
        };
        let (reply, answer) = mpsc::channel();
        self.jobs
            .send(Job {
                request: request.clone(),
                reply,
            })
            .map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }
}

impl Worker {
    fn queue(&mut self, request: &DepositRequest) -> Result<DepositEvent, EmbeddedL1Error> {
        if let Some(reason) = &self.broken {
            return Err(EmbeddedL1Error::Broken {
                reason: reason.clone(),
            });
        }
        let events = self.events.clone();
        let index = events.read().unwrap_or_else(|e| e.into_inner()).len() as u64;
        let op = request.op(index)?;
        let result = match queue_op(&mut self.chain, &op) {
            Ok((queued, account)) if queued == index => {
                let event = event_of(&op, queued, account);
                self.append(&event).map(|()| event)
            }
            Ok((queued, _)) => Err(EmbeddedL1Error::Replay {
                queue_index: queued,
                reason: format!("queued at index {queued}, {index} expected"),
            }),
            Err(e @ EvmError::Solc { .. }) => Err(EmbeddedL1Error::Evm(e)),
            Err(e) => Err(EmbeddedL1Error::Refused {
                what: match op {
                    QueueRequest::Deposit(_) => "deposit",
                    QueueRequest::Forced(_) => "forced withdrawal",
                },
                reason: revert_reason(&e).unwrap_or_else(|| e.to_string()),
            }),
        };
        let mut events = events.write().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(event) => {
                events.push(event.clone());
                Ok(event)
            }
            Err(e) => {
                match replay(&events) {
                    Ok(chain) => self.chain = chain,
                    Err(r) => self.broken = Some(r.to_string()),
                }
                Err(e)
            }
        }
    }

    /// Appends `event` to the journal and syncs it; on failure the journal
    /// is cut back to its acknowledged lines.
    fn append(&mut self, event: &DepositEvent) -> Result<(), EmbeddedL1Error> {
        let mut line = serde_json::to_vec(event).expect("a deposit event encodes");
        line.push(b'\n');
        let written = self
            .journal
            .write_all(&line)
            .and_then(|()| self.journal.sync_data());
        if let Err(source) = written {
            let _ = self.journal.set_len(self.journal_len);
            return Err(EmbeddedL1Error::Io {
                path: self.path.clone(),
                source,
            });
        }
        self.journal_len += line.len() as u64;
        Ok(())
    }
}

impl L1View for EmbeddedL1 {
    fn deposit(&self, queue_index: u64) -> Result<Option<DepositEvent>, L1ViewError> {
        let events = self.events.read().unwrap_or_else(|e| e.into_inner());
        Ok(usize::try_from(queue_index)
            .ok()
            .and_then(|i| events.get(i))
            .cloned())
    }

    fn name(&self) -> &'static str {
        "embedded"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zklanes_executor::signature::SecretKey;

    fn create(seed: u64) -> DepositRequest {
        DepositRequest {
            sender: [seed as u8; 20],
            account: None,
            pubkey: Some(SecretKey::from_seed(seed).public()),
            asset: 1,
            amount: 1_000,
        }
    }

    fn top_up(account: u32) -> DepositRequest {
        DepositRequest {
            sender: [9; 20],
            account: Some(account),
            pubkey: None,
            asset: 2,
            amount: 5,
        }
    }

    #[test]
    fn deposits_are_queued_by_l1s_rules_and_replayed_from_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let l1 = EmbeddedL1::open(dir.path()).unwrap();
        let a = l1.queue(&create(1)).unwrap();
        assert_eq!((a.queue_index, a.account), (0, 1));
        // Refused by L1: nothing queued, and the chain goes on as before.
        let e = l1.queue(&top_up(7)).unwrap_err();
        assert!(matches!(e, EmbeddedL1Error::Refused { .. }), "{e}");
        assert!(e.to_string().contains("account not assigned"), "{e}");
        let mut bad = create(2);
        bad.account = Some(1);
        assert!(matches!(
            l1.queue(&bad).unwrap_err(),
            EmbeddedL1Error::Invalid { .. }
        ));
        let b = l1.queue(&top_up(1)).unwrap();
        assert_eq!((b.queue_index, b.account), (1, 1));
        assert_eq!(b.pubkey_x, Fr::from(0u64), "a top-up carries the zero key");
        let c = l1.queue(&create(3)).unwrap();
        assert_eq!((c.queue_index, c.account), (2, 2));
        assert_eq!(l1.deposit(1).unwrap(), Some(b.clone()));
        assert_eq!(l1.deposit(3).unwrap(), None);
        drop(l1);

        // A torn last line (never acknowledged) is dropped at start.
        let journal = dir.path().join(JOURNAL);
        let mut f = OpenOptions::new().append(true).open(&journal).unwrap();
        f.write_all(b"{\"queue_index\":3,").unwrap();
        drop(f);
        let l1 = EmbeddedL1::open(dir.path()).unwrap();
        assert_eq!(l1.queued(), 3);
        assert_eq!(l1.deposit(2).unwrap(), Some(c));
        let d = l1.queue(&create(4)).unwrap();
        assert_eq!((d.queue_index, d.account), (3, 3));
        let text = std::fs::read_to_string(&journal).unwrap();
        assert_eq!(text.lines().count(), 4, "{text}");
    }

    fn force(account: u32, sender: u8, asset: u32) -> DepositRequest {
        DepositRequest {
            sender: [sender; 20],
            account: Some(account),
            pubkey: None,
            asset,
            amount: 0,
        }
    }

    #[test]
    fn forced_withdrawals_are_queued_from_the_owner_and_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join(JOURNAL);
        let lines = || {
            std::fs::read_to_string(&journal)
                .unwrap_or_default()
                .lines()
                .count()
        };
        let l1 = EmbeddedL1::open(dir.path()).unwrap();
        let a = l1.queue(&create(1)).unwrap();
        assert_eq!((a.queue_index, a.account), (0, 1));
        // Amount 0 with a key: malformed (a forced withdrawal names its
        // account), nothing queued.
        let mut bad = create(2);
        bad.amount = 0;
        let e = l1.queue(&bad).unwrap_err();
        assert!(matches!(e, EmbeddedL1Error::Invalid { .. }), "{e}");
        assert_eq!(e.status(), 400);
        // Not sent by the account's owner, or of an account L1 never
        // assigned: refused, nothing journaled.
        for (request, why) in [
            (force(1, 9, 1), "not the account's owner"),
            (force(5, 1, 1), "not the account's owner"),
            (force(1, 1, 2), "asset not registered"),
        ] {
            let e = l1.queue(&request).unwrap_err();
            assert!(
                matches!(
                    e,
                    EmbeddedL1Error::Refused {
                        what: "forced withdrawal",
                        ..
                    }
                ),
                "{e}"
            );
            assert_eq!(e.status(), 422);
            assert!(e.to_string().contains(why), "{e}");
            assert_eq!(l1.queued(), 1);
            assert_eq!(lines(), 1);
        }
        // From the owner: queued in the deposits' queue, amount 0.
        let f = l1.queue(&force(1, 1, 1)).unwrap();
        assert_eq!((f.queue_index, f.account, f.asset), (1, 1, 1));
        assert!(f.is_forced_withdrawal());
        assert_eq!(
            f,
            DepositEvent::from_forced(&ForcedWithdraw {
                queue_index: 1,
                account: 1,
                asset: 1,
                l1_owner: [1; 20],
            })
        );
        let b = l1.queue(&top_up(1)).unwrap();
        assert_eq!(b.queue_index, 2);
        assert_eq!(l1.deposit(1).unwrap(), Some(f.clone()));
        drop(l1);
        // Replayed from the journal at start, in the same queue order.
        let l1 = EmbeddedL1::open(dir.path()).unwrap();
        assert_eq!(l1.queued(), 3);
        assert_eq!(l1.deposit(1).unwrap(), Some(f));
        // The top-up registered asset 2: it can be forced out now.
        let c = l1.queue(&force(1, 1, 2)).unwrap();
        assert_eq!((c.queue_index, c.asset), (3, 2));
        assert_eq!(lines(), 4);
    }

    #[test]
    fn a_corrupt_journal_line_refuses_the_start() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(JOURNAL), b"not json\n").unwrap();
        let e = EmbeddedL1::open(dir.path()).err().expect("refused");
        assert!(matches!(e, EmbeddedL1Error::Journal { line: 1, .. }), "{e}");
        assert!(!e.is_retryable());
    }
}
