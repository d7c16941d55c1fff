//! Shared builders for executor tests.
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zklanes_executor::exec::{execute, Engine, ExecConfig, ExecOutput};
use zklanes_executor::params::DEFAULT_CHAIN_ID;
use zklanes_executor::signature::{PublicKey, SecretKey};
use zklanes_executor::state::State;
use zklanes_executor::tx::*;
use zklanes_executor::BatchError;

pub const CHAIN: u32 = DEFAULT_CHAIN_ID;

/// Deterministic per-account keys.
pub fn key(account: u32) -> SecretKey {
    SecretKey::from_seed(1_000 + account as u64)
}

pub fn pk(account: u32) -> PublicKey {
    key(account).public()
}

pub fn sign(body: TxBody) -> SignedTx {
    sign_on(body, CHAIN)
}

pub fn sign_on(body: TxBody, chain: u32) -> SignedTx {
    let signature = body
        .signer()
        .map(|(a, _)| key(a).sign(&body.message(chain).unwrap()));
    SignedTx { body, signature }
}

pub fn deposit(queue_index: u64, account: u32, asset: u32, amount: u128) -> SignedTx {
    SignedTx {
        body: TxBody::Deposit(Deposit {
            queue_index,
            l1_sender: [7; 20],
            account,
            pubkey: pk(account),
            asset,
            amount,
        }),
        signature: None,
    }
}

/// A forced withdrawal queued on L1 by the account's owner.
pub fn forced_withdraw(queue_index: u64, account: u32, asset: u32) -> SignedTx {
    SignedTx {
        body: TxBody::ForcedWithdraw(ForcedWithdraw {
            queue_index,
            account,
            asset,
            l1_owner: [7; 20],
        }),
        signature: None,
    }
}

pub fn transfer(from: u32, to: u32, asset: u32, amount: u128, nonce: u32) -> SignedTx {
    sign(TxBody::Transfer(Transfer {
        from,
        to,
        asset,
        amount,
        nonce,
    }))
}

pub fn run(
    state: &State,
    txs: &[SignedTx],
    engine: Engine,
    threads: usize,
) -> Result<ExecOutput, BatchError> {
    execute(
        state,
        txs,
        &ExecConfig {
            threads,
            chain_id: CHAIN,
            engine,
        },
    )
}

/// Compares everything but timing metrics.
pub fn same(a: &Result<ExecOutput, BatchError>, b: &Result<ExecOutput, BatchError>) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => {
            x.receipts == y.receipts && x.diff == y.diff && x.next_deposit == y.next_deposit
        }
        (Err(x), Err(y)) => x == y,
        _ => false,
    }
}

/// A random batch over a key universe of `universe` account ids: deposits
/// create accounts on first touch; transfers, pool creation, liquidity and
/// swaps follow. Mostly valid, sometimes not (unknown accounts, balances,
/// nonces, slippage), so error paths are compared too.
pub fn random_batch(seed: u64, universe: u32, len: usize, valid_bias: f64) -> Vec<SignedTx> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut txs = Vec::with_capacity(len);
    let mut known: Vec<u32> = Vec::new();
    let mut nonces = std::collections::HashMap::<u32, u32>::new();
    let mut queue = 0u64;
    let mut pool_created = false;
    let pick = |rng: &mut ChaCha8Rng, known: &Vec<u32>| -> u32 {
        if !known.is_empty() && rng.gen_bool(0.9) {
            known[rng.gen_range(0..known.len())]
        } else {
            rng.gen_range(1..=universe)
        }
    };
    while txs.len() < len {
        let r = rng.gen_range(0..100);
        let honest = rng.gen_bool(valid_bias);
        match r {
            0..=24 => {
                let a = rng.gen_range(1..=universe);
                let asset = rng.gen_range(1..=2);
                txs.push(deposit(
                    queue,
                    a,
                    asset,
                    rng.gen_range(1..=1_000_000_000u128),
                ));
                queue += 1;
                if !known.contains(&a) {
                    known.push(a);
                }
            }
            25..=69 => {
                let from = pick(&mut rng, &known);
                let mut to = pick(&mut rng, &known);
                if to == from {
                    to = if from == universe { 1 } else { from + 1 };
                }
                let n = nonces.entry(from).or_default();
                let nonce = if honest {
                    *n
                } else {
                    n.wrapping_add(rng.gen_range(0..3))
                };
                let amount = if honest {
                    rng.gen_range(1..=1_000u128)
                } else {
                    rng.gen_range(1..=10_000_000_000u128)
                };
                txs.push(transfer(from, to, 1, amount, nonce));
                *n += 1;
            }
            70..=74 if !pool_created && !known.is_empty() => {
                let a = known[0];
                let n = nonces.entry(a).or_default();
                txs.push(sign(TxBody::CreatePool(CreatePool {
                    account: a,
                    pool: 1,
                    token_a: 1,
                    token_b: 2,
                    fee_bps: 30,
                    nonce: *n,
                })));
                *n += 1;
                pool_created = true;
            }
            75..=84 => {
                let a = pick(&mut rng, &known);
                let n = nonces.entry(a).or_default();
                let amt = rng.gen_range(10_000..=1_000_000u128);
                txs.push(sign(TxBody::AddLiquidity(AddLiquidity {
                    account: a,
                    pool: 1,
                    amount_a: amt,
                    amount_b: amt + rng.gen_range(0..1000),
                    min_lp: 0,
                    nonce: *n,
                })));
                *n += 1;
            }
            85..=94 => {
                let a = pick(&mut rng, &known);
                let n = nonces.entry(a).or_default();
                txs.push(sign(TxBody::Swap(Swap {
                    account: a,
                    pool: 1,
                    a_to_b: rng.gen_bool(0.5),
                    amount_in: rng.gen_range(1..=100_000u128),
                    min_out: if honest { 0 } else { rng.gen_range(0..1000) },
                    nonce: *n,
                })));
                *n += 1;
            }
            95..=96 => {
                // A forced withdrawal: of a known account (or, dishonest,
                // maybe an unknown one), the whole balance of token 1 or 2.
                let account = pick(&mut rng, &known);
                txs.push(forced_withdraw(queue, account, rng.gen_range(1..=2)));
                queue += 1;
            }
            _ => {
                let a = pick(&mut rng, &known);
                let n = nonces.entry(a).or_default();
                txs.push(sign(TxBody::Withdraw(Withdraw {
                    account: a,
                    asset: 1,
                    amount: rng.gen_range(1..=100u128),
                    l1_address: [9; 20],
                    nonce: *n,
                })));
                *n += 1;
            }
        }
    }
    txs
}
