//! The Rollup contract (`contracts/ZklanesRollup.sol`): its bytecode with
//! constructor arguments, the calldata of its functions (ABI-encoded here;
//! the contract's argument types are few and fixed), including exit mode's
//! (`activateExitMode`, `exit`, `exitLiquidity`, `refundDeposit`), and its
//! queue's hash chain ([`queue_link`] for a deposit, [`forced_queue_link`]
//! for a forced withdrawal), computed natively.

use ark_ff::{BigInteger, PrimeField as _, Zero as _};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use revm::primitives::{keccak256, Address};
use zklanes_executor::field::Fr as NativeFr;
use zklanes_executor::params::TREE_DEPTH;
use zklanes_executor::tx::{Deposit, ForcedWithdraw, L1Address};

use crate::error::EvmError;
use crate::host::selector;
use crate::solc::compile_solidity_with;
use crate::withdrawals::WithdrawalProof;
use zklanes_aggregator::node::NODE_INSTANCES;
use zklanes_executor::l1::{L1Batch, QueueOp};

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Genesis {
    /// The number of the first batch it accepts.
    pub first_batch: u64,
    /// The queue index of the first deposit (or forced withdrawal) it queues.
    pub first_deposit: u64,
    /// The id of the first account it creates (accounts `1..first_account`
    /// exist already; 1 on a new chain).
    pub first_account: u32,
    /// Blocks the oldest unconsumed queue entry may wait before anyone can
    /// switch the contract to exit mode ([`DEFAULT_EXIT_DEADLINE_BLOCKS`]
    /// by default; a few blocks in tests).
    pub exit_deadline_blocks: u64,
    /// The L1 owners of accounts that exist at the checkpoint
    /// (`1..first_account`), for those that need one (a forced withdrawal
    /// is queued by its account's owner; exit mode pays the owner). Empty
    /// on a new chain.
    pub owners: Vec<(u32, L1Address)>,
}

/// The default exit deadline: 7 days of 12-second L1 blocks.
pub const DEFAULT_EXIT_DEADLINE_BLOCKS: u64 = 7 * 24 * 60 * 60 / 12;

impl Default for Genesis {
    fn default() -> Self {
        Self {
            first_batch: 0,
            first_deposit: 0,
            first_account: 1,
            exit_deadline_blocks: DEFAULT_EXIT_DEADLINE_BLOCKS,
            owners: Vec::new(),
        }
    }
}

impl Genesis {
    /// The checkpoint right before the batch (or bundle) numbered
    /// `first_batch` that consumed the L1 queue operations `queue` (in
    /// queue order, [`L1Batch::queue`]): the first one's queue index; as
    /// the first account the one its first creating deposit creates, or
    /// else one past the highest account it tops up or withdraws from (the
    /// lowest checkpoint that knows every account); and as the genesis
    /// owners the owners of its forced withdrawals from accounts that exist
    /// before it (a batch's own creating deposits record the owners of the
    /// accounts they create).
    pub fn checkpoint(first_batch: u64, queue: &[QueueOp]) -> Self {
        let created = queue.iter().find_map(|op| match op {
            QueueOp::Deposit(d) if creates_account(d) => Some(d.account),
            _ => None,
        });
        let first_account = created.unwrap_or_else(|| {
            queue
                .iter()
                .map(|op| match op {
                    QueueOp::Deposit(d) => d.account,
                    QueueOp::ForcedWithdraw(f) => f.account,
                })
                .map(|a| a.saturating_add(1))
                .max()
                .unwrap_or(1)
        });
        let mut owners: Vec<(u32, L1Address)> = Vec::new();
        for op in queue {
            if let QueueOp::ForcedWithdraw(f) = op {
                if f.account < first_account && !owners.iter().any(|(a, _)| *a == f.account) {
                    owners.push((f.account, f.l1_owner));
                }
            }
        }
        Self {
            first_batch,
            first_deposit: queue.first().map_or(0, QueueOp::queue_index),
            first_account: first_account.max(1),
            owners,
            ..Self::default()
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

/// The contract's creation bytecode, compiled with the optimizer: its
/// runtime code must fit EIP-170's 24,576 bytes, which it only does
/// optimized.
pub fn creation_code() -> Result<Vec<u8>, EvmError> {
    compile_solidity_with(SOURCE, Some("ZklanesRollup"), true)
}

/// Creation bytecode with `constructor(verifier, poseidon, genesis_root,
/// first_batch, first_deposit, first_account, exit_deadline_blocks,
/// genesisAccounts, genesisOwners)` appended. The deployer is the
/// contract's governor (it registers the assets).
pub fn deployment(
    verifier: Address,
    poseidon: Address,
    genesis_root: &Fr,
    genesis: &Genesis,
) -> Result<Vec<u8>, EvmError> {
    let mut code = creation_code()?;
    code.extend(encode(vec![
        Arg::Static(vec![word_address(&verifier.0 .0)]),
        Arg::Static(vec![word_address(&poseidon.0 .0)]),
        Arg::Static(vec![word_fr(genesis_root)]),
        Arg::Static(vec![word_u128(genesis.first_batch as u128)]),
        Arg::Static(vec![word_u128(genesis.first_deposit as u128)]),
        Arg::Static(vec![word_u128(genesis.first_account as u128)]),
        Arg::Static(vec![word_u128(genesis.exit_deadline_blocks as u128)]),
        array(
            genesis
                .owners
                .iter()
                .map(|(a, _)| vec![word_u128(*a as u128)])
                .collect(),
        ),
        array(
            genesis
                .owners
                .iter()
                .map(|(_, o)| vec![word_address(o)])
                .collect(),
        ),
    ]));
    Ok(code)
}

/// Calldata of `registerAsset(asset, token)` (`Address::ZERO`: ETH).
pub fn register_asset_calldata(asset: u32, token: Address) -> Vec<u8> {
    call(
        "registerAsset(uint32,address)",
        vec![
            Arg::Static(vec![word_u128(asset as u128)]),
            Arg::Static(vec![word_address(&token.0 .0)]),
        ],
    )
}

/// Calldata of the getter `assets(asset)`: `(token, registered)`.
pub fn assets_calldata(asset: u32) -> Vec<u8> {
    call(
        "assets(uint32)",
        vec![Arg::Static(vec![word_u128(asset as u128)])],
    )
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

/// Calldata of `forceWithdraw(account, asset)`: queues a forced
/// withdrawal of `account`'s whole balance of `asset` to the sender (who
/// must be the account's L1 owner).
pub fn force_withdraw_calldata(account: u32, asset: u32) -> Vec<u8> {
    call(
        "forceWithdraw(uint32,uint32)",
        vec![
            Arg::Static(vec![word_u128(account as u128)]),
            Arg::Static(vec![word_u128(asset as u128)]),
        ],
    )
}

/// Calldata of the getter `queueHash(index)`: the queue word before
/// deposit `index` (the link in its high 224 bits, the block that queued
/// deposit `index − 1` in its low 32: [`queue_word_link`],
/// [`queue_word_block`]).
pub fn queue_hash_calldata(index: u64) -> Vec<u8> {
    call(
        "queueHash(uint64)",
        vec![Arg::Static(vec![word_u128(index as u128)])],
    )
}

/// Bytes of a queue word that hold its block number (the low 32 bits).
const QUEUE_BLOCK_BYTES: usize = 4;

/// The link of a queue word: its high 224 bits, the block bits cleared.
pub fn queue_word_link(word: &[u8; 32]) -> [u8; 32] {
    let mut link = *word;
    link[32 - QUEUE_BLOCK_BYTES..].fill(0);
    link
}

/// The L1 block number a queue word records (its low 32 bits, the block
/// number mod 2^32): the block
/// that queued the deposit before it.
pub fn queue_word_block(word: &[u8; 32]) -> u64 {
    u64::from(u32::from_be_bytes(
        word[32 - QUEUE_BLOCK_BYTES..].try_into().expect("4 bytes"),
    ))
}

/// The deposit queue's next link after `prev` (a queue word or link; its
/// block bits are ignored) when `d` is queued, as the contract chains it:
/// the top 224 bits of `keccak256(link(prev) ‖ account(4) ‖ asset(4) ‖
/// amount(16) ‖ sender(20) ‖ keyHash(32))`, block bits zero, the key hash
/// the executor's `PublicKey::hash` of `d`'s key (of the zero key for a
/// top-up, which is the contract's `zeroKeyHash`). 224 bits keep 2^112
/// collision resistance; the contract stores the link with the queuing
/// block in the low 32 bits.
pub fn queue_link(prev: &[u8; 32], d: &Deposit) -> [u8; 32] {
    link(
        prev,
        d.account,
        d.asset,
        d.amount,
        &d.l1_sender,
        &word_native(&d.pubkey.hash()),
    )
}

/// The queue's next link after `prev` when the forced withdrawal `f` is
/// queued: as [`queue_link`] for an entry of amount 0, the zero key's hash
/// and the owner as the sender.
pub fn forced_queue_link(prev: &[u8; 32], f: &ForcedWithdraw) -> [u8; 32] {
    let zero_key = zklanes_executor::signature::PublicKey {
        x: NativeFr::zero(),
        y: NativeFr::zero(),
    };
    link(
        prev,
        f.account,
        f.asset,
        0,
        &f.l1_owner,
        &word_native(&zero_key.hash()),
    )
}

/// The queue's next link after `prev` for an entry with these fields.
fn link(
    prev: &[u8; 32],
    account: u32,
    asset: u32,
    amount: u128,
    sender: &L1Address,
    key_hash: &Word,
) -> [u8; 32] {
    let mut packed = Vec::with_capacity(108);
    packed.extend_from_slice(&queue_word_link(prev));
    packed.extend_from_slice(&account.to_be_bytes());
    packed.extend_from_slice(&asset.to_be_bytes());
    packed.extend_from_slice(&amount.to_be_bytes());
    packed.extend_from_slice(sender);
    packed.extend_from_slice(key_hash);
    queue_word_link(&keccak256(&packed).0)
}

/// Calldata of `finalize(firstBatch, batches, instances, data, proof)`:
/// `batches` consecutive batches from `first_batch` on (a bundle when more
/// than one) under one proof, with their public data (`l1.data`, one word
/// per element).
pub fn finalize_calldata(
    first_batch: u64,
    batches: u64,
    instances: &[Fr],
    l1: &L1Batch,
    proof: &[u8],
) -> Vec<u8> {
    assert_eq!(instances.len(), NODE_INSTANCES, "final proof instances");
    call(
        &format!("finalize(uint64,uint64,uint256[{NODE_INSTANCES}],uint256[],bytes)"),
        vec![
            Arg::Static(vec![word_u128(first_batch as u128)]),
            Arg::Static(vec![word_u128(batches as u128)]),
            Arg::Static(instances.iter().map(word_fr).collect()),
            array(l1.data.iter().map(|d| vec![word_native(d)]).collect()),
            bytes(proof),
        ],
    )
}

/// Calldata of `claim(firstBatch, index, to, asset, amount, proof)`: the
/// leaf `proof.index` of the withdrawal tree of the finalize from
/// `first_batch` on, with its path ([`crate::withdrawals`]). The contract
/// pays it once, to `to`, who must send it.
pub fn claim_calldata(first_batch: u64, proof: &WithdrawalProof) -> Vec<u8> {
    call(
        "claim(uint64,uint256,address,uint32,uint128,bytes32[])",
        vec![
            Arg::Static(vec![word_u128(first_batch as u128)]),
            Arg::Static(vec![word_u128(proof.index as u128)]),
            Arg::Static(vec![word_address(&proof.withdrawal.to)]),
            Arg::Static(vec![word_u128(proof.withdrawal.asset as u128)]),
            Arg::Static(vec![word_u128(proof.withdrawal.amount)]),
            array(proof.siblings.iter().map(|s| vec![*s]).collect()),
        ],
    )
}

/// Calldata of the getter `withdrawalRoot(firstBatch)`: `(root, count)`,
/// the top 224 bits of the withdrawal tree's root (`bytes28`) and its
/// number of leaves, zeros when that finalize made no withdrawal.
pub fn withdrawal_root_calldata(first_batch: u64) -> Vec<u8> {
    call(
        "withdrawalRoot(uint64)",
        vec![Arg::Static(vec![word_u128(first_batch as u128)])],
    )
}

/// Calldata of `isClaimed(firstBatch, index)`.
pub fn is_claimed_calldata(first_batch: u64, index: u64) -> Vec<u8> {
    call(
        "isClaimed(uint64,uint256)",
        vec![
            Arg::Static(vec![word_u128(first_batch as u128)]),
            Arg::Static(vec![word_u128(index as u128)]),
        ],
    )
}

/// Calldata of `activateExitMode()`.
pub fn activate_exit_mode_calldata() -> Vec<u8> {
    call("activateExitMode()", vec![])
}

fn siblings_arg(siblings: &[NativeFr; TREE_DEPTH]) -> Arg {
    Arg::Static(siblings.iter().map(word_native).collect())
}

/// Calldata of `exit(account, asset, balance, siblings)`: the balance
/// leaf's Merkle path, leaf level first.
pub fn exit_calldata(
    account: u32,
    asset: u32,
    balance: u128,
    siblings: &[NativeFr; TREE_DEPTH],
) -> Vec<u8> {
    call(
        &format!("exit(uint32,uint32,uint128,uint256[{TREE_DEPTH}])"),
        vec![
            Arg::Static(vec![word_u128(account as u128)]),
            Arg::Static(vec![word_u128(asset as u128)]),
            Arg::Static(vec![word_u128(balance)]),
            siblings_arg(siblings),
        ],
    )
}

/// Calldata of `exitLiquidity(account, pool, shares, shareSiblings,
/// poolLo, poolHi, poolSiblings)`: the shares' balance leaf and the pool's
/// leaf (packed as `Pool::packed`), each with its Merkle path.
pub fn exit_liquidity_calldata(
    account: u32,
    pool: u32,
    shares: u128,
    share_siblings: &[NativeFr; TREE_DEPTH],
    pool_packed: (NativeFr, NativeFr),
    pool_siblings: &[NativeFr; TREE_DEPTH],
) -> Vec<u8> {
    call(
        &format!(
            "exitLiquidity(uint32,uint32,uint128,uint256[{TREE_DEPTH}],uint256,uint256,uint256[{TREE_DEPTH}])"
        ),
        vec![
            Arg::Static(vec![word_u128(account as u128)]),
            Arg::Static(vec![word_u128(pool as u128)]),
            Arg::Static(vec![word_u128(shares)]),
            siblings_arg(share_siblings),
            Arg::Static(vec![word_native(&pool_packed.0)]),
            Arg::Static(vec![word_native(&pool_packed.1)]),
            siblings_arg(pool_siblings),
        ],
    )
}

/// Calldata of `refundDeposit(index, account, asset, amount, sender,
/// keyHash)` for the queued deposit `d` (its key hash `PublicKey::hash`,
/// the zero key's for a top-up).
pub fn refund_deposit_calldata(d: &Deposit) -> Vec<u8> {
    call(
        "refundDeposit(uint64,uint32,uint32,uint128,address,uint256)",
        vec![
            Arg::Static(vec![word_u128(d.queue_index as u128)]),
            Arg::Static(vec![word_u128(d.account as u128)]),
            Arg::Static(vec![word_u128(d.asset as u128)]),
            Arg::Static(vec![word_u128(d.amount)]),
            Arg::Static(vec![word_address(&d.l1_sender)]),
            Arg::Static(vec![word_native(&d.pubkey.hash())]),
        ],
    )
}

/// Calldata of the getter `accountOwner(account)`.
pub fn account_owner_calldata(account: u32) -> Vec<u8> {
    call(
        "accountOwner(uint32)",
        vec![Arg::Static(vec![word_u128(account as u128)])],
    )
}

/// Calldata of the getter `exited(leafIndex)`.
pub fn exited_calldata(leaf_index: u64) -> Vec<u8> {
    call(
        "exited(uint256)",
        vec![Arg::Static(vec![word_u128(leaf_index as u128)])],
    )
}

/// Calldata of the getter `refunded(index)`.
pub fn refunded_calldata(index: u64) -> Vec<u8> {
    call(
        "refunded(uint64)",
        vec![Arg::Static(vec![word_u128(index as u128)])],
    )
}
