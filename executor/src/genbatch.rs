//! Synthetic signed batches for benchmarks, tests and the demo.
//!
//! A generated batch starts with its genesis: deposits that create and fund
//! the accounts, pool creations and initial liquidity. The deposits follow
//! the L1 Rollup contract's rules: the first deposit to an account creates
//! it and names its key, and accounts are created in order 1, 2, 3, … (L1
//! assigns the Nth created account the id N); later deposits to it top it
//! up and carry the zero key `(0, 0)`, as L1 queues them. The workload
//! follows:
//! - `transfers`: random transfers of token 1 between random accounts;
//! - `hot-swaps`: every swap on pool 1;
//! - `spread-swaps`: swaps over 1,000 pools (pairs of tokens 3..=48);
//! - `mixed`: about 60% transfers, 20% swaps on the 2 hot pools, 9% liquidity
//!   adds and removes, 1% withdrawals and 10% spread swaps.
//!
//! The generator simulates pools and nonces so every batch is valid, and sets
//! each swap's minimum output 1% under the exact output.
//!
//! Keys are synthetic: account `a` has secret key `base + a`, so the public
//! keys come from point additions (fast for a million accounts). They are
//! for test data only.

use ark_ec::{twisted_edwards::Projective, AffineRepr, CurveGroup};
use ark_ed_on_bn254::{EdwardsConfig, Fr as Scalar};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::amm;
use crate::batch::{Batch, BATCH_VERSION};
use crate::field::Fr;
use crate::params::*;
use crate::signature::{PublicKey, SecretKey, Signature};
use crate::state::Pool;
use crate::tx::*;

/// A synthetic workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Independent transfers.
    Transfers,
    /// Every swap on one pool.
    HotSwaps,
    /// Swaps over 1,000 pools.
    SpreadSwaps,
    /// The mixed DeFi workload.
    Mixed,
    /// Every transaction type over the two hot pools, with a genesis of a
    /// few transactions, ending with a forced withdrawal (the last
    /// account's token 2): batches small enough to prove end to end (the
    /// demo, the end-to-end tests).
    Compact,
}

impl Workload {
    /// All workloads.
    pub const ALL: [Workload; 4] = [
        Workload::Transfers,
        Workload::HotSwaps,
        Workload::SpreadSwaps,
        Workload::Mixed,
    ];

    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Transfers => "transfers",
            Workload::HotSwaps => "hot-swaps",
            Workload::SpreadSwaps => "spread-swaps",
            Workload::Mixed => "mixed",
            Workload::Compact => "compact",
        }
    }

    /// Parses a CLI name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .chain([Workload::Compact])
            .find(|w| w.name() == s)
    }
}

/// Generator settings.
#[derive(Clone, Copy, Debug)]
pub struct GenConfig {
    /// Workload.
    pub workload: Workload,
    /// Workload transactions (genesis comes on top).
    pub txs: usize,
    /// Accounts (at least 2).
    pub accounts: u32,
    /// Seed.
    pub seed: u64,
    /// Chain id.
    pub chain_id: u32,
    /// Sign transactions. Without signing, signed types carry an invalid
    /// placeholder signature: only for measuring the execution phase alone.
    pub sign: bool,
}

/// A generated genesis and workload.
pub struct Generated {
    /// Deposits, pool creations and initial liquidity.
    pub genesis: Vec<SignedTx>,
    /// The workload.
    pub workload: Vec<SignedTx>,
}

impl Generated {
    /// Genesis and workload as one batch (number 0).
    pub fn into_batch(self, chain_id: u32) -> Batch {
        let mut txs = self.genesis;
        txs.extend(self.workload);
        Batch {
            version: BATCH_VERSION,
            chain_id,
            number: 0,
            txs,
        }
    }
}

/// Hot pools (tokens 1 and 2).
pub const HOT_POOLS: [u32; 2] = [1, 2];
/// First spread-pool token.
const SPREAD_TOKEN_FIRST: u32 = 3;
/// Number of spread tokens: C(46, 2) = 1035 pairs.
const SPREAD_TOKENS: u32 = 46;
/// Number of spread pools.
pub const SPREAD_POOLS: u32 = 1000;
/// First spread pool id.
const SPREAD_POOL_FIRST: u32 = 3;
const BIG: u128 = 1_000_000_000_000_000_000_000_000; // 1e24
const LIQ: u128 = 1_000_000_000_000_000_000_000; // 1e21 per side

/// Synthetic key material: `sk_a = base + a`.
pub struct Keys {
    base: Scalar,
    public: Vec<PublicKey>,
}

impl Keys {
    /// Keys of accounts `0..=accounts` (index 0 unused).
    pub fn new(seed: u64, accounts: u32) -> Self {
        let base = SecretKey::from_seed(seed);
        let b = crate::signature::base_point().into_group();
        let mut p: Projective<EdwardsConfig> = base.public_point().into_group();
        let mut pts = Vec::with_capacity(accounts as usize + 1);
        for _ in 0..=accounts {
            pts.push(p);
            p += b;
        }
        let public = Projective::normalize_batch(&pts)
            .into_iter()
            .map(|a| PublicKey { x: a.x, y: a.y })
            .collect();
        Self {
            base: base.scalar(),
            public,
        }
    }

    /// The secret key of account `a`.
    pub fn secret(&self, a: u32) -> SecretKey {
        SecretKey::from_scalar(self.base + Scalar::from(a as u64))
    }

    /// The public key of account `a`.
    pub fn public(&self, a: u32) -> PublicKey {
        self.public[a as usize]
    }
}

fn spread_pair(i: u32) -> (u32, u32) {
    // The i-th pair (x < y) of spread tokens in lexicographic order.
    let mut k = i;
    for x in 0..SPREAD_TOKENS {
        let row = SPREAD_TOKENS - 1 - x;
        if k < row {
            return (SPREAD_TOKEN_FIRST + x, SPREAD_TOKEN_FIRST + x + 1 + k);
        }
        k -= row;
    }
    unreachable!("pair index below C(46, 2)")
}

fn spread_token(account: u32) -> u32 {
    SPREAD_TOKEN_FIRST + account % SPREAD_TOKENS
}

struct Sim {
    rng: ChaCha8Rng,
    accounts: u32,
    nonces: Vec<u32>,
    pools: FxHashMap<u32, Pool>,
    lp: FxHashMap<(u32, u32), u128>,
    pools_of_token: FxHashMap<u32, Vec<u32>>,
    queue: u64,
    /// Accounts `1..next_account` have been created by a deposit.
    next_account: u32,
    out: Vec<TxBody>,
}

impl Sim {
    fn next_nonce(&mut self, a: u32) -> u32 {
        let n = self.nonces[a as usize];
        self.nonces[a as usize] += 1;
        n
    }

    /// A deposit as L1 queues it: the first one to `account` (which must be
    /// the next account id) creates it with its key, later ones carry the
    /// zero key.
    fn deposit(&mut self, keys: &Keys, account: u32, asset: u32, amount: u128) {
        let mut l1_sender = [0u8; 20];
        l1_sender[16..].copy_from_slice(&account.to_be_bytes());
        let pubkey = if account < self.next_account {
            PublicKey {
                x: Fr::from(0u64),
                y: Fr::from(0u64),
            }
        } else {
            assert_eq!(account, self.next_account, "accounts are created in order");
            self.next_account += 1;
            keys.public(account)
        };
        self.out.push(TxBody::Deposit(Deposit {
            queue_index: self.queue,
            l1_sender,
            account,
            pubkey,
            asset,
            amount,
        }));
        self.queue += 1;
    }

    fn create_pool(&mut self, pool: u32, token_a: u32, token_b: u32, fee_bps: u16) {
        let nonce = self.next_nonce(1);
        self.out.push(TxBody::CreatePool(CreatePool {
            account: 1,
            pool,
            token_a,
            token_b,
            fee_bps,
            nonce,
        }));
        self.pools.insert(
            pool,
            Pool {
                token_a,
                token_b,
                fee_bps,
                reserve_a: 0,
                reserve_b: 0,
                lp_supply: 0,
            },
        );
        self.pools_of_token.entry(token_a).or_default().push(pool);
        self.pools_of_token.entry(token_b).or_default().push(pool);
    }

    fn add_liquidity(&mut self, account: u32, pool: u32, amount_a: u128) {
        let p = self.pools[&pool];
        let amount_b = if p.lp_supply == 0 {
            amount_a
        } else {
            amm::mul_div(amount_a, p.reserve_b, p.reserve_a) + 1
        };
        let minted = amm::lp_minted(amount_a, amount_b, p.reserve_a, p.reserve_b, p.lp_supply);
        let user = if p.lp_supply == 0 {
            minted - MINIMUM_LIQUIDITY
        } else {
            minted
        };
        let nonce = self.next_nonce(account);
        self.out.push(TxBody::AddLiquidity(AddLiquidity {
            account,
            pool,
            amount_a,
            amount_b,
            min_lp: user,
            nonce,
        }));
        let p = self.pools.get_mut(&pool).expect("pool exists");
        p.reserve_a += amount_a;
        p.reserve_b += amount_b;
        p.lp_supply += minted;
        *self.lp.entry((account, pool)).or_default() += user;
    }

    fn remove_liquidity(&mut self, account: u32, pool: u32) -> bool {
        let held = self.lp.get(&(account, pool)).copied().unwrap_or(0);
        if held < 2 {
            return false;
        }
        let lp_amount = held / 2;
        let p = self.pools[&pool];
        let out_a = amm::mul_div(lp_amount, p.reserve_a, p.lp_supply);
        let out_b = amm::mul_div(lp_amount, p.reserve_b, p.lp_supply);
        if out_a == 0 || out_b == 0 {
            return false;
        }
        let nonce = self.next_nonce(account);
        self.out.push(TxBody::RemoveLiquidity(RemoveLiquidity {
            account,
            pool,
            lp_amount,
            min_a: out_a,
            min_b: out_b,
            nonce,
        }));
        let p = self.pools.get_mut(&pool).expect("pool exists");
        p.reserve_a -= out_a;
        p.reserve_b -= out_b;
        p.lp_supply -= lp_amount;
        *self.lp.get_mut(&(account, pool)).expect("held") -= lp_amount;
        true
    }

    fn swap(&mut self, account: u32, pool: u32, a_to_b: bool, amount_in: u128) {
        let p = self.pools[&pool];
        let (rin, rout) = if a_to_b {
            (p.reserve_a, p.reserve_b)
        } else {
            (p.reserve_b, p.reserve_a)
        };
        let out = amm::swap_out(amount_in, rin, rout, p.fee_bps);
        let nonce = self.next_nonce(account);
        self.out.push(TxBody::Swap(Swap {
            account,
            pool,
            a_to_b,
            amount_in,
            min_out: out - out / 100,
            nonce,
        }));
        let p = self.pools.get_mut(&pool).expect("pool exists");
        if a_to_b {
            p.reserve_a += amount_in;
            p.reserve_b -= out;
        } else {
            p.reserve_b += amount_in;
            p.reserve_a -= out;
        }
    }

    fn account(&mut self) -> u32 {
        self.rng.gen_range(1..=self.accounts)
    }

    fn transfer(&mut self) {
        let from = self.account();
        let mut to = self.account();
        if to == from {
            to = if from == self.accounts { 1 } else { from + 1 };
        }
        let nonce = self.next_nonce(from);
        let amount = self.rng.gen_range(1..=1_000_000u128);
        self.out.push(TxBody::Transfer(Transfer {
            from,
            to,
            asset: 1,
            amount,
            nonce,
        }));
    }

    fn hot_swap(&mut self, pool: u32) {
        let account = self.account();
        let a_to_b = self.rng.gen_bool(0.5);
        let amount_in = self
            .rng
            .gen_range(1_000_000_000_000u128..=1_000_000_000_000_000);
        self.swap(account, pool, a_to_b, amount_in);
    }

    fn spread_swap(&mut self) {
        let account = self.account();
        let token = spread_token(account);
        let candidates = &self.pools_of_token[&token];
        let pool = candidates[self.rng.gen_range(0..candidates.len())];
        let a_to_b = self.pools[&pool].token_a == token;
        let amount_in = self
            .rng
            .gen_range(1_000_000_000_000u128..=1_000_000_000_000_000);
        self.swap(account, pool, a_to_b, amount_in);
    }
}

impl Sim {
    /// A withdrawal of a little of token 1 to a random L1 address.
    fn withdraw(&mut self) {
        let account = self.account();
        let nonce = self.next_nonce(account);
        let mut l1_address = [0u8; 20];
        self.rng.fill(&mut l1_address[..]);
        self.out.push(TxBody::Withdraw(Withdraw {
            account,
            asset: 1,
            amount: 1_000_000,
            l1_address,
            nonce,
        }));
    }
}

impl Sim {
    /// A forced withdrawal of `account`'s whole balance of `asset`, queued
    /// on L1 by the account's owner (the sender of its creating deposit).
    fn forced_withdraw(&mut self, account: u32, asset: u32) {
        let mut l1_owner = [0u8; 20];
        l1_owner[16..].copy_from_slice(&account.to_be_bytes());
        self.out.push(TxBody::ForcedWithdraw(ForcedWithdraw {
            queue_index: self.queue,
            account,
            asset,
            l1_owner,
        }));
        self.queue += 1;
    }
}

/// Generates a genesis and a workload.
pub fn generate(cfg: &GenConfig) -> Generated {
    assert!(
        cfg.accounts >= 2 && cfg.accounts <= MAX_ACCOUNT,
        "2..=MAX_ACCOUNT accounts"
    );
    let keys = Keys::new(cfg.seed, cfg.accounts);
    let mut sim = Sim {
        rng: ChaCha8Rng::seed_from_u64(cfg.seed),
        accounts: cfg.accounts,
        nonces: vec![0; cfg.accounts as usize + 1],
        pools: FxHashMap::default(),
        lp: FxHashMap::default(),
        pools_of_token: FxHashMap::default(),
        queue: 0,
        next_account: 1,
        out: Vec::new(),
    };
    let w = cfg.workload;
    let spread = matches!(w, Workload::SpreadSwaps | Workload::Mixed);
    let hot = matches!(w, Workload::HotSwaps | Workload::Mixed | Workload::Compact);
    // Genesis: the liquidity provider (account 1) holds every token.
    let last_token = if spread {
        SPREAD_TOKEN_FIRST + SPREAD_TOKENS - 1
    } else {
        2
    };
    for token in 1..=last_token {
        sim.deposit(&keys, 1, token, BIG * 50);
    }
    for a in 2..=cfg.accounts {
        sim.deposit(&keys, a, 1, BIG);
        if hot {
            sim.deposit(&keys, a, 2, BIG);
        }
        if spread {
            sim.deposit(&keys, a, spread_token(a), BIG);
        }
    }
    if hot {
        sim.create_pool(HOT_POOLS[0], 1, 2, DEFAULT_FEE_BPS);
        sim.create_pool(HOT_POOLS[1], 1, 2, 5);
        for p in HOT_POOLS {
            sim.add_liquidity(1, p, LIQ * 1000);
        }
    }
    if spread {
        for i in 0..SPREAD_POOLS {
            let (a, b) = spread_pair(i);
            sim.create_pool(SPREAD_POOL_FIRST + i, a, b, DEFAULT_FEE_BPS);
        }
        for i in 0..SPREAD_POOLS {
            sim.add_liquidity(1, SPREAD_POOL_FIRST + i, LIQ);
        }
    }
    let genesis_len = sim.out.len();
    for _ in 0..cfg.txs {
        match w {
            Workload::Transfers => sim.transfer(),
            Workload::HotSwaps => sim.hot_swap(HOT_POOLS[0]),
            Workload::SpreadSwaps => sim.spread_swap(),
            Workload::Mixed => {
                let r = sim.rng.gen_range(0..100u32);
                match r {
                    0..=59 => sim.transfer(),
                    60..=79 => {
                        let p = HOT_POOLS[(r % 2) as usize];
                        sim.hot_swap(p)
                    }
                    80..=88 => {
                        let account = sim.account();
                        let pool = HOT_POOLS[(r % 2) as usize];
                        if r % 3 != 0 || !sim.remove_liquidity(account, pool) {
                            let amount = sim
                                .rng
                                .gen_range(1_000_000_000_000u128..=1_000_000_000_000_000_000);
                            sim.add_liquidity(account, pool, amount);
                        }
                    }
                    89 => sim.withdraw(),
                    _ => sim.spread_swap(),
                }
            }
            Workload::Compact => {
                let r = sim.rng.gen_range(0..100u32);
                let pool = HOT_POOLS[(r % 2) as usize];
                match r {
                    0..=44 => sim.transfer(),
                    45..=69 => sim.hot_swap(pool),
                    70..=89 => {
                        let account = sim.account();
                        if r % 2 == 0 || !sim.remove_liquidity(account, pool) {
                            let amount = sim
                                .rng
                                .gen_range(1_000_000_000_000u128..=1_000_000_000_000_000_000);
                            sim.add_liquidity(account, pool, amount);
                        }
                    }
                    _ => sim.withdraw(),
                }
            }
        }
    }
    if w == Workload::Compact && cfg.txs > 0 {
        // Every transaction type, the L1 queue's forced withdrawal too: the
        // last account's owner takes out its whole balance of token 2 (last,
        // so no generated transaction needs that balance afterwards).
        sim.forced_withdraw(cfg.accounts, 2);
    }
    let bodies = sim.out;
    let sign = |body: TxBody| -> SignedTx {
        let signature = match body.signer() {
            None => None,
            Some((a, _)) if cfg.sign => {
                let msg = body.message(cfg.chain_id).expect("signed type");
                Some(keys.secret(a).sign(&msg))
            }
            Some(_) => Some(Signature {
                r_x: Fr::from(0u64),
                r_y: Fr::from(1u64),
                s: [0; 32],
            }),
        };
        SignedTx { body, signature }
    };
    let mut all: Vec<SignedTx> = bodies.into_par_iter().map(sign).collect();
    let workload = all.split_off(genesis_len);
    Generated {
        genesis: all,
        workload,
    }
}
