//! The Rollup contract (`contracts/ZklanesRollup.sol`): its bytecode with
//! constructor arguments, and the calldata of its functions (ABI-encoded
//! here; the contract's argument types are few and fixed).

use ark_ff::{BigInteger, PrimeField as _, Zero as _};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use revm::primitives::Address;
use zklanes_executor::field::Fr as NativeFr;
use zklanes_executor::tx::{Deposit, Withdraw};

use crate::error::EvmError;
use crate::host::selector;
use crate::solc::compile_solidity;
use zklanes_aggregator::node::NODE_INSTANCES;
use zklanes_executor::l1::L1Batch;

/// The contract's Solidity source.
pub const SOURCE: &str = include_str!("../../contracts/ZklanesRollup.sol");

/// One ABI word.
type Word = [u8; 32];

/// An argument of a call, in the ABI's two classes.
enum Arg {
    /// Static: encoded in place (a value, or a fixed-size array of values).
    Static(Vec<Word>),
    /// Dynamic: an offset in place, then its encoding in the tail (a
    /// dynamic array's length and elements, or `bytes`).
    Dynamic(Vec<u8>),
}

fn word_fr(f: &Fr) -> Word {
    let mut w = f.to_repr();
    w.as_mut().reverse();
    let mut out = [0u8; 32];
    out.copy_from_slice(w.as_ref());
    out
}

fn word_native(f: &NativeFr) -> Word {
    let be = f.into_bigint().to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - be.len()..].copy_from_slice(&be);
    out
}

fn word_u128(v: u128) -> Word {
    let mut w = [0u8; 32];
    w[16..].copy_from_slice(&v.to_be_bytes());
    w
}

fn word_address(a: &[u8; 20]) -> Word {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a);
    w
}

/// A dynamic array of static elements of `words` words each.
fn array(elements: Vec<Vec<Word>>) -> Arg {
    let mut out = word_u128(elements.len() as u128).to_vec();
    for w in elements.into_iter().flatten() {
        out.extend(w);
    }
    Arg::Dynamic(out)
}

fn bytes(b: &[u8]) -> Arg {
    let mut out = word_u128(b.len() as u128).to_vec();
    out.extend(b);
    out.resize(out.len() + (32 - b.len() % 32) % 32, 0);
    Arg::Dynamic(out)
}

/// ABI encoding of `args` (head, then tail).
fn encode(args: Vec<Arg>) -> Vec<u8> {
    let head_len: usize = args
        .iter()
        .map(|a| match a {
            Arg::Static(w) => 32 * w.len(),
            Arg::Dynamic(_) => 32,
        })
        .sum();
    let mut head = Vec::with_capacity(head_len);
    let mut tail = Vec::new();
    for a in args {
        match a {
            Arg::Static(words) => words.iter().for_each(|w| head.extend(w)),
            Arg::Dynamic(enc) => {
                head.extend(word_u128((head_len + tail.len()) as u128));
                tail.extend(enc);
            }
        }
    }
    head.extend(tail);
    head
}

fn call(signature: &str, args: Vec<Arg>) -> Vec<u8> {
    let mut data = selector(signature).to_vec();
    data.extend(encode(args));
    data
}

/// Where the contract's history starts: a new chain (`Default`) or a
/// checkpoint (used to settle one batch of a longer history on a fresh
/// chain, as `zklanes verify` does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Genesis {
    /// The number of the first batch it accepts.
    pub first_batch: u64,
    /// The queue index of the first deposit it queues.
    pub first_deposit: u64,
    /// The id of the first account it creates (accounts `1..first_account`
    /// exist already; 1 on a new chain).
    pub first_account: u32,
}

impl Default for Genesis {
    fn default() -> Self {
        Self {
            first_batch: 0,
            first_deposit: 0,
            first_account: 1,
        }
    }
}

impl Genesis {
    /// The checkpoint right before the batch (or bundle) numbered
    /// `first_batch` that consumed `deposits` (in queue order): its first
    /// deposit's queue index, and as the first account the one its first
    /// creating deposit creates, or else one past the highest account it
    /// tops up (the lowest checkpoint that accepts every top-up).
    pub fn checkpoint(first_batch: u64, deposits: &[Deposit]) -> Self {
        let first_account = match deposits.iter().find(|d| creates_account(d)) {
            Some(d) => d.account,
            None => deposits
                .iter()
                .map(|d| d.account.saturating_add(1))
                .max()
                .unwrap_or(1),
        };
        Self {
            first_batch,
            first_deposit: deposits.first().map_or(0, |d| d.queue_index),
            first_account: first_account.max(1),
        }
    }
}

/// Whether L1 queues `d` as a creating deposit (`depositNewAccount`: a
/// key, an account id L1 assigns) rather than a top-up of an existing
/// account (`deposit`: an id L1 assigned, the zero key in its queue item).
/// A deposit that names the zero key `(0, 0)` is a top-up: that point is
/// not on the curve, so it never creates an account.
pub fn creates_account(d: &Deposit) -> bool {
    !(d.pubkey.x.is_zero() && d.pubkey.y.is_zero())
}

/// Creation bytecode with `constructor(verifier, poseidon, genesis_root,
/// first_batch, first_deposit, first_account, fan_ins)` appended.
pub fn deployment(
    verifier: Address,
    poseidon: Address,
    genesis_root: &Fr,
    genesis: Genesis,
    fan_ins: &[usize],
) -> Result<Vec<u8>, EvmError> {
    let mut code = compile_solidity(SOURCE, Some("ZklanesRollup"))?;
    code.extend(encode(vec![
        Arg::Static(vec![word_address(&verifier.0 .0)]),
        Arg::Static(vec![word_address(&poseidon.0 .0)]),
        Arg::Static(vec![word_fr(genesis_root)]),
        Arg::Static(vec![word_u128(genesis.first_batch as u128)]),
        Arg::Static(vec![word_u128(genesis.first_deposit as u128)]),
        Arg::Static(vec![word_u128(genesis.first_account as u128)]),
        array(
            fan_ins
                .iter()
                .map(|f| vec![word_u128(*f as u128)])
                .collect(),
        ),
    ]));
    Ok(code)
}

/// Calldata that queues `d` (sent from `d.l1_sender`; the contract assigns
/// the queue index): `depositNewAccount(pubkeyX, pubkeyY, asset, amount)`
/// when it creates an account ([`creates_account`]; L1 assigns the id,
/// `d.account` is what the batch expects it to be), else `deposit(account,
/// asset, amount)`.
pub fn deposit_calldata(d: &Deposit) -> Vec<u8> {
    if creates_account(d) {
        call(
            "depositNewAccount(uint256,uint256,uint32,uint128)",
            vec![
                Arg::Static(vec![word_native(&d.pubkey.x)]),
                Arg::Static(vec![word_native(&d.pubkey.y)]),
                Arg::Static(vec![word_u128(d.asset as u128)]),
                Arg::Static(vec![word_u128(d.amount)]),
            ],
        )
    } else {
        call(
            "deposit(uint32,uint32,uint128)",
            vec![
                Arg::Static(vec![word_u128(d.account as u128)]),
                Arg::Static(vec![word_u128(d.asset as u128)]),
                Arg::Static(vec![word_u128(d.amount)]),
            ],
        )
    }
}

/// Calldata of `depositNewAccount(pubkeyX, pubkeyY, asset, amount)` with raw
/// key words (coordinates need not be canonical field elements: this is how
/// a test sends one at or above the modulus).
pub fn deposit_new_account_calldata(
    pubkey_x: [u8; 32],
    pubkey_y: [u8; 32],
    asset: u32,
    amount: u128,
) -> Vec<u8> {
    call(
        "depositNewAccount(uint256,uint256,uint32,uint128)",
        vec![
            Arg::Static(vec![pubkey_x]),
            Arg::Static(vec![pubkey_y]),
            Arg::Static(vec![word_u128(asset as u128)]),
            Arg::Static(vec![word_u128(amount)]),
        ],
    )
}

/// Calldata of the getter `depositItems(index)`.
pub fn deposit_item_calldata(index: u64) -> Vec<u8> {
    call(
        "depositItems(uint64)",
        vec![Arg::Static(vec![word_u128(index as u128)])],
    )
}

fn withdrawal_words(w: &Withdraw) -> Vec<Word> {
    vec![
        word_u128(w.account as u128),
        word_u128(w.asset as u128),
        word_u128(w.amount),
        word_address(&w.l1_address),
    ]
}

/// Calldata of `finalize(firstBatch, batches, instances, depositCounts,
/// withdrawals, withdrawalCounts, proof)`: `batches` consecutive batches
/// from `first_batch` on (a bundle when more than one) under one proof.
pub fn finalize_calldata(
    first_batch: u64,
    batches: u64,
    instances: &[Fr],
    l1: &L1Batch,
    proof: &[u8],
) -> Vec<u8> {
    assert_eq!(instances.len(), NODE_INSTANCES, "final proof instances");
    let counts = |c: &[u32]| array(c.iter().map(|n| vec![word_u128(*n as u128)]).collect());
    call(
        &format!(
            "finalize(uint64,uint64,uint256[{NODE_INSTANCES}],uint32[],(uint32,uint32,uint128,address)[],uint32[],bytes)"
        ),
        vec![
            Arg::Static(vec![word_u128(first_batch as u128)]),
            Arg::Static(vec![word_u128(batches as u128)]),
            Arg::Static(instances.iter().map(word_fr).collect()),
            counts(&l1.deposit_counts),
            array(l1.withdrawals.iter().map(withdrawal_words).collect()),
            counts(&l1.withdrawal_counts),
            bytes(proof),
        ],
    )
}

/// Calldata of the getter `claimable(to, asset)`.
pub fn claimable_calldata(to: &[u8; 20], asset: u32) -> Vec<u8> {
    call(
        "claimable(address,uint32)",
        vec![
            Arg::Static(vec![word_address(to)]),
            Arg::Static(vec![word_u128(asset as u128)]),
        ],
    )
}

/// Calldata of `claim(asset)`.
pub fn claim_calldata(asset: u32) -> Vec<u8> {
    call(
        "claim(uint32)",
        vec![Arg::Static(vec![word_u128(asset as u128)])],
    )
}
