//! The witness of a slot: one transaction of a chunk trace mapped to the
//! values the slot loads (zeros for padding). No constraint is made here;
//! every value is checked by the slot that loads it.

use ethnum::U256;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zklanes_executor::params::TREE_DEPTH;
use zklanes_executor::state::Leaf;
use zklanes_executor::trace::{LeafUpdate, TxTrace};
use zklanes_executor::tx::TxBody;

use super::ChunkError;
use crate::field::to_halo2;
use crate::merkle::{SLOT_LEVELS, TOP_LEVELS};

/// Leaves of the signer group (account leaf plus three balances).
pub(super) const SIGNER_LEAVES: usize = 4;
/// Leaves of the other group (one write plus one read).
pub(super) const OTHER_LEAVES: usize = 2;

/// The witness of one slot (zeros for padding), before any constraint.
#[derive(Clone)]
pub(super) struct SlotWitness {
    pub(super) ty: usize,
    pub(super) account: u128,
    pub(super) nonce: u128,
    pub(super) to: u128,
    pub(super) asset: u128,
    pub(super) pool: u128,
    pub(super) a_to_b: u128,
    /// Amount, amount in, amount A or LP amount.
    pub(super) x1: u128,
    /// Min out, amount B or min A.
    pub(super) x2: u128,
    /// Min LP or min B.
    pub(super) x3: u128,
    /// Receipt outputs.
    pub(super) o1: u128,
    pub(super) o2: u128,
    pub(super) b_is_min: u128,
    /// L1 address as 32 + 72 + 56 bits.
    pub(super) l1: [u128; 3],
    pub(super) dep_key: (Fr, Fr),
    pub(super) exists: u128,
    pub(super) old_key: (Fr, Fr),
    pub(super) old_nonce: u128,
    pub(super) balances: [u128; 3],
    pub(super) recv_balance: u128,
    pub(super) recv_leaf: Fr,
    /// Token A, token B, fee, reserve A, reserve B, supply.
    pub(super) pool_fields: [u128; 6],
    pub(super) signer_low: [[Fr; SLOT_LEVELS]; SIGNER_LEAVES],
    pub(super) signer_top: [Fr; TOP_LEVELS],
    pub(super) other_low: [[Fr; SLOT_LEVELS]; OTHER_LEAVES],
    pub(super) other_top: [Fr; TOP_LEVELS],
    pub(super) sig_r: (Fr, Fr),
    pub(super) sig_s: Fr,
}

impl SlotWitness {
    /// An empty slot: every field zero, the signature point the identity.
    pub(super) fn padding() -> Self {
        Self {
            ty: 0,
            account: 0,
            nonce: 0,
            to: 0,
            asset: 0,
            pool: 0,
            a_to_b: 0,
            x1: 0,
            x2: 0,
            x3: 0,
            o1: 0,
            o2: 0,
            b_is_min: 0,
            l1: [0; 3],
            dep_key: (Fr::zero(), Fr::zero()),
            exists: 0,
            old_key: (Fr::zero(), Fr::zero()),
            old_nonce: 0,
            balances: [0; 3],
            recv_balance: 0,
            recv_leaf: Fr::zero(),
            pool_fields: [0; 6],
            signer_low: [[Fr::zero(); SLOT_LEVELS]; SIGNER_LEAVES],
            signer_top: [Fr::zero(); TOP_LEVELS],
            other_low: [[Fr::zero(); SLOT_LEVELS]; OTHER_LEAVES],
            other_top: [Fr::zero(); TOP_LEVELS],
            // The identity: the signature point is always on the curve.
            sig_r: (Fr::zero(), Fr::one()),
            sig_s: Fr::zero(),
        }
    }
}

fn split_l1(a: &[u8; 20]) -> [u128; 3] {
    let hi = u32::from_be_bytes(a[..4].try_into().expect("4 bytes")) as u128;
    let lo = u128::from_be_bytes(a[4..].try_into().expect("16 bytes"));
    [hi, lo >> 56, lo & ((1 << 56) - 1)]
}

/// `floor(b·s/r_b) < floor(a·s/r_a)`: the B side gives the minimum.
fn b_side_is_min(a: u128, b: u128, ra: u128, rb: u128, s: u128) -> bool {
    if s == 0 || ra == 0 || rb == 0 {
        return false;
    }
    let sa = U256::from(a) * U256::from(s) / U256::from(ra);
    let sb = U256::from(b) * U256::from(s) / U256::from(rb);
    sb < sa
}

/// Maps one transaction of a trace to its slot witness.
pub(super) fn slot_witness(index: usize, t: &TxTrace) -> Result<SlotWitness, ChunkError> {
    let bad = |reason: &str| ChunkError::BadTrace {
        index,
        reason: reason.into(),
    };
    let body = &t.tx.body;
    let mut w = SlotWitness::padding();
    w.ty = body.tx_type() as usize;
    let (signer_n, total) = match body {
        TxBody::Deposit(_) | TxBody::Withdraw(_) | TxBody::ForcedWithdraw(_) => (2, 2),
        TxBody::Transfer(_) => (2, 4),
        TxBody::Swap(_) => (3, 4),
        TxBody::AddLiquidity(_) | TxBody::RemoveLiquidity(_) => (4, 5),
        TxBody::CreatePool(_) => (1, 2),
    };
    if t.updates.len() != total {
        return Err(bad("wrong number of leaf updates for the type"));
    }
    if t.updates.iter().any(|u| u.siblings.len() != TREE_DEPTH) {
        return Err(bad("siblings of wrong length"));
    }
    let low =
        |u: &LeafUpdate| -> [Fr; SLOT_LEVELS] { std::array::from_fn(|i| to_halo2(&u.siblings[i])) };
    let top = |u: &LeafUpdate| -> [Fr; TOP_LEVELS] {
        std::array::from_fn(|i| to_halo2(&u.siblings[SLOT_LEVELS + i]))
    };
    let (signer, other) = t.updates.split_at(signer_n);
    for (i, u) in signer.iter().enumerate() {
        w.signer_low[i] = low(u);
    }
    w.signer_top = top(&signer[0]);
    for (i, u) in other.iter().enumerate() {
        w.other_low[i] = low(u);
    }
    if let Some(u) = other.first() {
        w.other_top = top(u);
    }
    match signer[0].old {
        Leaf::Empty => {}
        Leaf::Account(a) => {
            w.exists = 1;
            w.old_key = (to_halo2(&a.pubkey.x), to_halo2(&a.pubkey.y));
            w.old_nonce = a.nonce as u128;
        }
        _ => return Err(bad("the account slot holds another leaf")),
    }
    for (i, u) in signer[1..].iter().enumerate() {
        w.balances[i] = match u.old {
            Leaf::Empty => 0,
            Leaf::Balance(b) => b,
            _ => return Err(bad("a balance slot holds another leaf")),
        };
    }
    let mut pool_of = |u: &LeafUpdate| -> Result<(), ChunkError> {
        match u.old {
            Leaf::Pool(p) => {
                w.pool_fields = [
                    p.token_a as u128,
                    p.token_b as u128,
                    p.fee_bps as u128,
                    p.reserve_a,
                    p.reserve_b,
                    p.lp_supply,
                ];
                Ok(())
            }
            _ => Err(bad("a pool transaction's pool slot holds no pool")),
        }
    };
    [w.o1, w.o2] = t.receipt.outputs;
    match body {
        TxBody::Deposit(d) => {
            w.account = d.account as u128;
            w.asset = d.asset as u128;
            w.x1 = d.amount;
            w.l1 = split_l1(&d.l1_sender);
            w.dep_key = (to_halo2(&d.pubkey.x), to_halo2(&d.pubkey.y));
        }
        TxBody::Transfer(x) => {
            w.account = x.from as u128;
            w.nonce = x.nonce as u128;
            w.to = x.to as u128;
            w.asset = x.asset as u128;
            w.x1 = x.amount;
            w.recv_balance = match other[0].old {
                Leaf::Empty => 0,
                Leaf::Balance(b) => b,
                _ => return Err(bad("the receiver's balance slot holds another leaf")),
            };
            w.recv_leaf = to_halo2(&other[1].old.hash());
        }
        TxBody::Swap(x) => {
            w.account = x.account as u128;
            w.nonce = x.nonce as u128;
            w.pool = x.pool as u128;
            w.a_to_b = x.a_to_b as u128;
            w.x1 = x.amount_in;
            w.x2 = x.min_out;
            pool_of(&other[0])?;
        }
        TxBody::AddLiquidity(x) => {
            w.account = x.account as u128;
            w.nonce = x.nonce as u128;
            w.pool = x.pool as u128;
            w.x1 = x.amount_a;
            w.x2 = x.amount_b;
            w.x3 = x.min_lp;
            pool_of(&other[0])?;
            let [_, _, _, ra, rb, s] = w.pool_fields;
            w.b_is_min = b_side_is_min(x.amount_a, x.amount_b, ra, rb, s) as u128;
        }
        TxBody::RemoveLiquidity(x) => {
            w.account = x.account as u128;
            w.nonce = x.nonce as u128;
            w.pool = x.pool as u128;
            w.x1 = x.lp_amount;
            w.x2 = x.min_a;
            w.x3 = x.min_b;
            pool_of(&other[0])?;
        }
        TxBody::Withdraw(x) => {
            w.account = x.account as u128;
            w.nonce = x.nonce as u128;
            w.asset = x.asset as u128;
            w.x1 = x.amount;
            w.l1 = split_l1(&x.l1_address);
        }
        TxBody::ForcedWithdraw(x) => {
            // The amount is the receipt's `o1` (the whole balance).
            w.account = x.account as u128;
            w.asset = x.asset as u128;
            w.l1 = split_l1(&x.l1_owner);
        }
        TxBody::CreatePool(x) => {
            w.account = x.account as u128;
            w.nonce = x.nonce as u128;
            w.pool = x.pool as u128;
            w.pool_fields = [
                x.token_a as u128,
                x.token_b as u128,
                x.fee_bps as u128,
                0,
                0,
                0,
            ];
        }
    }
    if body.signer().is_some() {
        let sig =
            t.tx.signature
                .as_ref()
                .ok_or_else(|| bad("a signed transaction without a signature"))?;
        w.sig_r = (to_halo2(&sig.r_x), to_halo2(&sig.r_y));
        let mut le = sig.s;
        le.reverse();
        w.sig_s = Fr::from_bytes(&le).unwrap_or(Fr::zero());
    }
    Ok(w)
}
