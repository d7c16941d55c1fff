//! States at the extremes of the protocol widths, for the executor↔circuit
//! tests: a state seeded with given leaves and its tree, honest chunk traces
//! of a batch executed over it, and a forced one-transaction trace that
//! applies given writes without the executor's checks (negative tests).
//!
//! Seeded states are states the executor can reach: reserves of `2^112 − 1`
//! take 2^16 add-liquidity transactions of `MAX_AMOUNT`, which is too slow
//! to hash here, so the leaves are written directly.
#![allow(dead_code)]

use zklanes_circuits::fixtures;
use zklanes_executor::amm;
use zklanes_executor::error::BatchError;
use zklanes_executor::exec::{execute, Engine, ExecConfig, Receipt};
use zklanes_executor::field::Fr;
use zklanes_executor::params::{MAX_AMOUNT, MAX_BALANCE};
use zklanes_executor::smt::Tree;
use zklanes_executor::state::{Account, Key, Leaf, Pool, State};
use zklanes_executor::trace::{self, ChunkTrace, LeafUpdate, TxTrace, TRACE_VERSION};
use zklanes_executor::tx::{SignedTx, Swap, TxBody};

/// A state and its tree.
#[derive(Clone)]
pub struct Seeded {
    /// The leaves.
    pub state: State,
    /// Their tree.
    pub tree: Tree,
}

impl Seeded {
    /// The state holding exactly `leaves` (deposit queue at 0).
    pub fn new(leaves: &[(Key, Leaf)]) -> Self {
        let mut state = State::default();
        for (k, l) in leaves {
            state.set(*k, *l);
        }
        let mut tree = Tree::default();
        let hashed: Vec<(u64, Fr)> = leaves.iter().map(|(k, l)| (k.index(), l.hash())).collect();
        tree.apply(&hashed);
        Self { state, tree }
    }

    /// The executor over this state: the chunk traces of `txs` as batch 0.
    pub fn run(
        &self,
        txs: &[SignedTx],
        chain_id: u32,
        capacity: usize,
    ) -> Result<Vec<ChunkTrace>, BatchError> {
        let cfg = ExecConfig {
            threads: 2,
            chain_id,
            engine: Engine::Parallel,
        };
        let out = execute(&self.state, txs, &cfg)?;
        let mut tree = self.tree.clone();
        let c = trace::commit(
            &self.state,
            &mut tree,
            txs,
            &out.receipts,
            0,
            chain_id,
            capacity,
        )?;
        Ok(c.chunks)
    }

    /// A chunk holding only `tx` with `receipt`, whose leaf updates are
    /// `writes` (circuit order) with their real paths: the witness the
    /// executor would give if it accepted the transaction. Commitments are
    /// left at zero (check against the circuit's own public inputs).
    pub fn forced(
        &self,
        tx: SignedTx,
        receipt: Receipt,
        writes: &[(Key, Leaf)],
        chain_id: u32,
        capacity: usize,
    ) -> ChunkTrace {
        let prev_root = self.tree.root();
        let mut tree = self.tree.clone();
        let hashed: Vec<(u64, Fr)> = writes.iter().map(|(k, l)| (k.index(), l.hash())).collect();
        let (paths, ..) = tree.apply(&hashed);
        let mut view = self.state.clone();
        let updates = writes
            .iter()
            .zip(&paths)
            .map(|((k, new), p)| {
                let old = view.get(*k);
                view.set(*k, *new);
                LeafUpdate {
                    index: k.index(),
                    old,
                    new: *new,
                    siblings: p.siblings.to_vec(),
                }
            })
            .collect();
        let signer_key =
            tx.body
                .signer()
                .and_then(|(a, _)| match self.state.get(Key::Account(a)) {
                    Leaf::Account(acc) => Some(acc.pubkey),
                    _ => None,
                });
        let mut t = ChunkTrace {
            version: TRACE_VERSION,
            chain_id,
            batch: 0,
            chunk: 0,
            capacity: capacity as u32,
            prev_root,
            new_root: tree.root(),
            txs: vec![TxTrace {
                tx,
                receipt,
                signer_key,
                root_before: prev_root,
                updates,
                pubdata: vec![],
            }],
            deposits: vec![],
            withdrawals: vec![],
            pubdata_commitment: Fr::from(0u64),
            challenge: Fr::from(0u64),
            content_hash: [0; 32],
        };
        t.content_hash = t.compute_hash();
        t
    }

    /// The writes of `swap` paying `out`, without any check (circuit order:
    /// signer account, balance in, balance out, pool).
    pub fn swap_writes(&self, s: &Swap, out: u128) -> Vec<(Key, Leaf)> {
        let Leaf::Account(mut acc) = self.state.get(Key::Account(s.account)) else {
            panic!("no signer account")
        };
        acc.nonce += 1;
        let Leaf::Pool(mut p) = self.state.get(Key::Pool(s.pool)) else {
            panic!("no pool")
        };
        let (tin, tout) = if s.a_to_b {
            (p.token_a, p.token_b)
        } else {
            (p.token_b, p.token_a)
        };
        let bal = |asset| match self.state.get(Key::Balance(s.account, asset)) {
            Leaf::Balance(b) => b,
            _ => 0,
        };
        if s.a_to_b {
            p.reserve_a += s.amount_in;
            p.reserve_b -= out;
        } else {
            p.reserve_b += s.amount_in;
            p.reserve_a -= out;
        }
        vec![
            (Key::Account(s.account), Leaf::Account(acc)),
            (
                Key::Balance(s.account, tin),
                Leaf::balance(bal(tin) - s.amount_in),
            ),
            (
                Key::Balance(s.account, tout),
                Leaf::balance(bal(tout) + out),
            ),
            (Key::Pool(s.pool), Leaf::Pool(p)),
        ]
    }
}

/// Reserve A of [`deep_pool`]: the largest balance.
pub const DEEP_RA: u128 = MAX_BALANCE;
/// Reserve B of [`deep_pool`].
pub const DEEP_RB: u128 = 1 << 100;
/// LP supply of [`deep_pool`].
pub const DEEP_SUPPLY: u128 = 1 << 106;
/// Fee of [`deep_pool`].
pub const DEEP_FEE: u16 = 30;

/// Reserves of [`deep_pool`]'s pool 2.
pub const WIDE_R: u128 = 1 << 90;
/// LP supply of [`deep_pool`]'s pool 2.
pub const WIDE_SUPPLY: u128 = 1 << 111;

/// Two pools at the widths' edges and accounts 1 and 2 (showcase keys,
/// nonce 0):
/// - pool 1 (tokens 1/2, fee 30): reserves `2^112 − 1` and `2^100`, supply
///   `2^106`, so swaps pay up to 2^112 and burns pay above 2^96;
/// - pool 2 (tokens 3/4, fee 30): reserves `2^90`, supply `2^111`, so a mint
///   of `2^90 − 1` of each pays `2^111 − 2^21` shares (supply just below
///   2^112) and one of `2^90` overflows the supply.
///
/// Account 1 holds `MAX_AMOUNT` of token 2, `2^112 − 1 − MAX_AMOUNT` of
/// token 3 (a deposit of `MAX_AMOUNT` fills it exactly) and `2^105` shares
/// of pool 1; account 2 holds `MAX_AMOUNT` of tokens 1 to 4.
pub fn deep_pool() -> Seeded {
    let account = |a: u32| Leaf::Account(Account::new(fixtures::key(a).public()));
    Seeded::new(&[
        (Key::Account(1), account(1)),
        (Key::Account(2), account(2)),
        (Key::Balance(1, 2), Leaf::Balance(MAX_AMOUNT)),
        (Key::Balance(1, 3), Leaf::Balance(MAX_BALANCE - MAX_AMOUNT)),
        (Key::Balance(1, Pool::lp_asset(1)), Leaf::Balance(1 << 105)),
        (Key::Balance(2, 1), Leaf::Balance(MAX_AMOUNT)),
        (Key::Balance(2, 2), Leaf::Balance(MAX_AMOUNT)),
        (Key::Balance(2, 3), Leaf::Balance(MAX_AMOUNT)),
        (Key::Balance(2, 4), Leaf::Balance(MAX_AMOUNT)),
        (
            Key::Pool(1),
            Leaf::Pool(Pool {
                token_a: 1,
                token_b: 2,
                fee_bps: DEEP_FEE,
                reserve_a: DEEP_RA,
                reserve_b: DEEP_RB,
                lp_supply: DEEP_SUPPLY,
            }),
        ),
        (
            Key::Pool(2),
            Leaf::Pool(Pool {
                token_a: 3,
                token_b: 4,
                fee_bps: 30,
                reserve_a: WIDE_R,
                reserve_b: WIDE_R,
                lp_supply: WIDE_SUPPLY,
            }),
        ),
    ])
}

/// The largest B→A input into [`deep_pool`] whose output is at most
/// `MAX_AMOUNT` (one more unit pays above it).
pub fn deep_largest_fitting_in() -> u128 {
    let (mut lo, mut hi) = (1u128, MAX_AMOUNT);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if amm::swap_out(mid, DEEP_RB, DEEP_RA, DEEP_FEE) <= MAX_AMOUNT {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// A signed B→A swap of account 2 (nonce 0) into pool 1.
pub fn deep_swap(amount_in: u128, chain_id: u32) -> SignedTx {
    fixtures::sign(
        TxBody::Swap(Swap {
            account: 2,
            pool: 1,
            a_to_b: false,
            amount_in,
            min_out: 1,
            nonce: 0,
        }),
        chain_id,
    )
}
