//! Transactions: what the sequencer sends, what each one signs, and the
//! public data it leaves behind.
//!
//! Every signed transaction carries the signer's account index and nonce. Its
//! [`Message`] packs the chain id, the type and every field into two field
//! elements; the signature binds all of them.

use serde::{Deserialize, Serialize};

use crate::field::Fr;
use crate::pack::Packer;
use crate::params::*;
use crate::signature::{PublicKey, Signature};

/// An L1 (Ethereum) address.
pub type L1Address = [u8; 20];

/// Transaction type ids, bound into signatures and public data. `0` is the
/// circuit's padding no-op and never appears in a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum TxType {
    /// L1 deposit (priority operation).
    Deposit = 1,
    /// Transfer between accounts.
    Transfer = 2,
    /// Exact-input swap on a pool.
    Swap = 3,
    /// Add liquidity to a pool.
    AddLiquidity = 4,
    /// Remove liquidity from a pool.
    RemoveLiquidity = 5,
    /// Withdraw to an L1 address.
    Withdraw = 6,
    /// Create an empty pool.
    CreatePool = 7,
    /// Forced withdrawal of a whole balance to the account's L1 owner
    /// (priority operation, queued on L1 by the owner).
    ForcedWithdraw = 8,
}

/// An L1 deposit: credits `amount` of `asset` to `account`, creating the
/// account with `pubkey` if it is empty (the key is ignored otherwise).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deposit {
    /// Position in the L1 deposit queue; batches consume it in order.
    pub queue_index: u64,
    /// L1 sender.
    #[serde(with = "hex_addr")]
    pub l1_sender: L1Address,
    /// Target account.
    pub account: u32,
    /// Key of the account if the deposit creates it.
    pub pubkey: PublicKey,
    /// Token.
    pub asset: u32,
    /// Amount.
    pub amount: u128,
}

/// A transfer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Sender (signer).
    pub from: u32,
    /// Receiver; must exist.
    pub to: u32,
    /// Asset.
    pub asset: u32,
    /// Amount, at least 1.
    pub amount: u128,
    /// Sender nonce.
    pub nonce: u32,
}

/// An exact-input swap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Swap {
    /// Signer.
    pub account: u32,
    /// Pool.
    pub pool: u32,
    /// `true`: sell token A for token B.
    pub a_to_b: bool,
    /// Input amount.
    pub amount_in: u128,
    /// Minimum output, else the batch is rejected.
    pub min_out: u128,
    /// Nonce.
    pub nonce: u32,
}

/// Adds liquidity: both amounts are taken in full (Uniswap v2 pair semantics).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddLiquidity {
    /// Signer.
    pub account: u32,
    /// Pool.
    pub pool: u32,
    /// Token A in.
    pub amount_a: u128,
    /// Token B in.
    pub amount_b: u128,
    /// Minimum LP shares minted.
    pub min_lp: u128,
    /// Nonce.
    pub nonce: u32,
}

/// Burns LP shares for a pro-rata share of the reserves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveLiquidity {
    /// Signer.
    pub account: u32,
    /// Pool.
    pub pool: u32,
    /// LP shares burned.
    pub lp_amount: u128,
    /// Minimum token A out.
    pub min_a: u128,
    /// Minimum token B out.
    pub min_b: u128,
    /// Nonce.
    pub nonce: u32,
}

/// A withdrawal to L1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdraw {
    /// Signer.
    pub account: u32,
    /// Asset.
    pub asset: u32,
    /// Amount.
    pub amount: u128,
    /// L1 recipient.
    #[serde(with = "hex_addr")]
    pub l1_address: L1Address,
    /// Nonce.
    pub nonce: u32,
}

/// Creates an empty pool `pool` for the token pair `token_a < token_b`.
///
/// Anyone may create a pool at a free pool id. Its LP asset id is
/// `LP_ASSET_BASE + pool`. Liquidity is added with [`AddLiquidity`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePool {
    /// Signer.
    pub account: u32,
    /// Pool id, `1..=MAX_POOL`, must be free.
    pub pool: u32,
    /// Lower token id.
    pub token_a: u32,
    /// Higher token id.
    pub token_b: u32,
    /// Fee in basis points, at most `MAX_FEE_BPS`.
    pub fee_bps: u16,
    /// Nonce.
    pub nonce: u32,
}

/// A forced withdrawal: the account's L1 owner queued it on L1 (in the
/// deposit queue, after every earlier deposit), so the operator must
/// process it in order like a deposit. It needs no signature and moves the
/// account's whole balance of `asset` (possibly zero) to `l1_owner`, who
/// claims it on L1. A user whose transactions are censored leaves this way,
/// and one left waiting past the deadline opens exit mode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForcedWithdraw {
    /// Position in the L1 queue; batches consume it in order.
    pub queue_index: u64,
    /// The account; it must exist (L1 only queues one for an account it
    /// created, whose creating deposit is earlier in the queue).
    pub account: u32,
    /// A plain token (`1..=MAX_TOKEN`).
    pub asset: u32,
    /// The account's L1 owner (the sender of its creating deposit), who
    /// queued it and is paid.
    #[serde(with = "hex_addr")]
    pub l1_owner: L1Address,
}

/// The body of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxBody {
    /// See [`Deposit`].
    Deposit(Deposit),
    /// See [`Transfer`].
    Transfer(Transfer),
    /// See [`Swap`].
    Swap(Swap),
    /// See [`AddLiquidity`].
    AddLiquidity(AddLiquidity),
    /// See [`RemoveLiquidity`].
    RemoveLiquidity(RemoveLiquidity),
    /// See [`Withdraw`].
    Withdraw(Withdraw),
    /// See [`CreatePool`].
    CreatePool(CreatePool),
    /// See [`ForcedWithdraw`].
    ForcedWithdraw(ForcedWithdraw),
}

/// A transaction as the sequencer sends it: the L1 queue's operations
/// (deposits and forced withdrawals) carry no signature, all others do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTx {
    /// The body.
    pub body: TxBody,
    /// The signature (absent for the L1 queue's operations).
    #[serde(default)]
    pub signature: Option<Signature>,
}

/// The two packed elements a signature covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    /// High element, below `2^245`.
    pub hi: Fr,
    /// Low element, below `2^253`.
    pub lo: Fr,
}

/// Bits of the message's high element (it shares a field element with the tag).
pub const MESSAGE_HI_BITS: u32 = 245;

impl Message {
    /// `Tag::Challenge + 2^8·hi`, the first state element of the challenge hash.
    pub fn tag_element(&self) -> Fr {
        crate::poseidon::Tag::Challenge.fr() + self.hi * crate::pack::pow2(8)
    }
}

impl TxBody {
    /// The type id.
    pub fn tx_type(&self) -> TxType {
        match self {
            TxBody::Deposit(_) => TxType::Deposit,
            TxBody::Transfer(_) => TxType::Transfer,
            TxBody::Swap(_) => TxType::Swap,
            TxBody::AddLiquidity(_) => TxType::AddLiquidity,
            TxBody::RemoveLiquidity(_) => TxType::RemoveLiquidity,
            TxBody::Withdraw(_) => TxType::Withdraw,
            TxBody::CreatePool(_) => TxType::CreatePool,
            TxBody::ForcedWithdraw(_) => TxType::ForcedWithdraw,
        }
    }

    /// The L1 queue index an L1 operation (deposit or forced withdrawal)
    /// consumes; `None` for the signed types.
    pub fn queue_index(&self) -> Option<u64> {
        match self {
            TxBody::Deposit(d) => Some(d.queue_index),
            TxBody::ForcedWithdraw(f) => Some(f.queue_index),
            _ => None,
        }
    }

    /// The signing account and nonce, `None` for the L1 queue's operations.
    pub fn signer(&self) -> Option<(u32, u32)> {
        match self {
            TxBody::Deposit(_) | TxBody::ForcedWithdraw(_) => None,
            TxBody::Transfer(t) => Some((t.from, t.nonce)),
            TxBody::Swap(t) => Some((t.account, t.nonce)),
            TxBody::AddLiquidity(t) => Some((t.account, t.nonce)),
            TxBody::RemoveLiquidity(t) => Some((t.account, t.nonce)),
            TxBody::Withdraw(t) => Some((t.account, t.nonce)),
            TxBody::CreatePool(t) => Some((t.account, t.nonce)),
        }
    }

    /// Checks every declared width (amounts, ids, fees). Runs before anything
    /// else, so packing and arithmetic never see an out-of-range value.
    pub fn check_widths(&self) -> Result<(), crate::error::TxError> {
        use crate::error::TxError::*;
        let amount = |a: u128| {
            if a > MAX_AMOUNT {
                Err(AmountTooLarge { amount: a })
            } else {
                Ok(())
            }
        };
        let account = |a: u32| {
            if a == POOL_REGISTRY_ACCOUNT || a > MAX_ACCOUNT {
                Err(InvalidAccountIndex { account: a })
            } else {
                Ok(())
            }
        };
        let asset = |a: u32| {
            if a == 0 || a > MAX_ASSET {
                Err(InvalidAsset { asset: a })
            } else {
                Ok(())
            }
        };
        let pool = |p: u32| {
            if p == 0 || p > MAX_POOL {
                Err(InvalidPoolId { pool: p })
            } else {
                Ok(())
            }
        };
        match self {
            TxBody::Deposit(d) => {
                account(d.account)?;
                if d.asset == 0 || d.asset > MAX_TOKEN {
                    return Err(InvalidAsset { asset: d.asset });
                }
                if d.queue_index >> QUEUE_INDEX_BITS != 0 {
                    return Err(QueueIndexTooLarge {
                        queue_index: d.queue_index,
                    });
                }
                amount(d.amount)
            }
            TxBody::Transfer(t) => {
                account(t.from)?;
                account(t.to)?;
                asset(t.asset)?;
                amount(t.amount)
            }
            TxBody::Swap(t) => {
                account(t.account)?;
                pool(t.pool)?;
                amount(t.amount_in)?;
                amount(t.min_out)
            }
            TxBody::AddLiquidity(t) => {
                account(t.account)?;
                pool(t.pool)?;
                amount(t.amount_a)?;
                amount(t.amount_b)?;
                amount(t.min_lp)
            }
            TxBody::RemoveLiquidity(t) => {
                account(t.account)?;
                pool(t.pool)?;
                amount(t.lp_amount)?;
                amount(t.min_a)?;
                amount(t.min_b)
            }
            TxBody::Withdraw(t) => {
                account(t.account)?;
                // L1 pays out plain tokens only: LP shares have no L1 token.
                if t.asset == 0 || t.asset > MAX_TOKEN {
                    return Err(InvalidAsset { asset: t.asset });
                }
                amount(t.amount)
            }
            TxBody::ForcedWithdraw(f) => {
                account(f.account)?;
                if f.asset == 0 || f.asset > MAX_TOKEN {
                    return Err(InvalidAsset { asset: f.asset });
                }
                if f.queue_index >> QUEUE_INDEX_BITS != 0 {
                    return Err(QueueIndexTooLarge {
                        queue_index: f.queue_index,
                    });
                }
                Ok(())
            }
            TxBody::CreatePool(t) => {
                account(t.account)?;
                pool(t.pool)?;
                if t.token_a == 0 || t.token_a >= t.token_b || t.token_b > MAX_TOKEN {
                    return Err(InvalidPoolTokens {
                        token_a: t.token_a,
                        token_b: t.token_b,
                    });
                }
                if t.fee_bps > MAX_FEE_BPS {
                    return Err(FeeTooLarge { fee_bps: t.fee_bps });
                }
                Ok(())
            }
        }
    }

    /// The signed message (`None` for the L1 queue's operations). Widths
    /// must have been checked.
    ///
    /// Layout, most significant field first (bits in parentheses):
    /// - every `lo` starts `type(4) chain_id(32) nonce(32) account(20)`;
    /// - transfer: `lo += to(20) asset(12) amount(96)`, `hi = 0`;
    /// - swap: `lo += pool(12) a_to_b(1) amount_in(96)`, `hi = min_out(96)`;
    /// - add liquidity: `lo += pool(12) amount_a(96)`, `hi = amount_b(96) min_lp(96)`;
    /// - remove liquidity: `lo += pool(12) lp_amount(96)`, `hi = min_a(96) min_b(96)`;
    /// - withdraw: `lo += asset(12) amount(96)`, `hi = l1_address(160)`;
    /// - create pool: `lo += pool(12) token_a(12) token_b(12) fee_bps(14)`, `hi = 0`.
    pub fn message(&self, chain_id: u32) -> Option<Message> {
        let (account, nonce) = self.signer()?;
        let head = Packer::new()
            .push(self.tx_type() as u128, 4)
            .push(chain_id as u128, CHAIN_ID_BITS)
            .push(nonce as u128, NONCE_BITS)
            .push(account as u128, ACCOUNT_BITS);
        let a = AMOUNT_BITS;
        let (lo, hi) = match self {
            TxBody::Deposit(_) | TxBody::ForcedWithdraw(_) => return None,
            TxBody::Transfer(t) => (
                head.push(t.to as u128, ACCOUNT_BITS)
                    .push(t.asset as u128, SLOT_BITS)
                    .push(t.amount, a),
                Packer::new(),
            ),
            TxBody::Swap(t) => (
                head.push(t.pool as u128, SLOT_BITS)
                    .push(t.a_to_b as u128, 1)
                    .push(t.amount_in, a),
                Packer::new().push(t.min_out, a),
            ),
            TxBody::AddLiquidity(t) => (
                head.push(t.pool as u128, SLOT_BITS).push(t.amount_a, a),
                Packer::new().push(t.amount_b, a).push(t.min_lp, a),
            ),
            TxBody::RemoveLiquidity(t) => (
                head.push(t.pool as u128, SLOT_BITS).push(t.lp_amount, a),
                Packer::new().push(t.min_a, a).push(t.min_b, a),
            ),
            TxBody::Withdraw(t) => (
                head.push(t.asset as u128, SLOT_BITS).push(t.amount, a),
                Packer::new().push_address(&t.l1_address),
            ),
            TxBody::CreatePool(t) => (
                head.push(t.pool as u128, SLOT_BITS)
                    .push(t.token_a as u128, SLOT_BITS)
                    .push(t.token_b as u128, SLOT_BITS)
                    .push(t.fee_bps as u128, FEE_BITS),
                Packer::new(),
            ),
        };
        debug_assert!(hi.bits() <= MESSAGE_HI_BITS);
        Some(Message {
            hi: hi.finish(),
            lo: lo.finish(),
        })
    }
}

/// Serde adapter: an L1 address as `0x…` hex (or raw bytes in binary formats).
pub mod hex_addr {
    use super::L1Address;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes.
    pub fn serialize<S: Serializer>(a: &L1Address, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&format!("0x{}", hex::encode(a)))
        } else {
            serde::Serialize::serialize(a, s)
        }
    }

    /// Deserializes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<L1Address, D::Error> {
        if d.is_human_readable() {
            let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            let raw = hex::decode(s.strip_prefix("0x").unwrap_or(&s))
                .map_err(serde::de::Error::custom)?;
            raw.try_into()
                .map_err(|_| serde::de::Error::custom("an L1 address has 20 bytes"))
        } else {
            <[u8; 20]>::deserialize(d)
        }
    }
}
