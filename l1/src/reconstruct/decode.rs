//! The decoder of a finalized entry's data words: typed operations, read
//! from the layout alone (documented in `docs/ARCHITECTURE.md` and the
//! executor's `commitments`), with no executor code.
//!
//! Each transaction is `type(1)` and its fields, big-endian, padded with
//! zeros to 62 bytes and split into two 31-byte words `e1 = bytes[0..31]`,
//! `e2 = bytes[31..62]`; a deposit has a third word, its key hash. So the
//! type is the top byte of `e1`'s 31 bytes, and a transaction takes 3 words
//! if it is a deposit, 2 otherwise (a forced withdrawal, type 8, too: its
//! `account(3) asset(2) amount(14) l1_owner(20)` fit two words). The
//! decoder refuses anything the
//! executor never writes: a word that is not a field element, a 31-byte
//! word with a non-zero top byte, an unknown type (0, the circuit's padding,
//! never appears in the data), a transaction cut short by the end of the
//! data, non-zero padding after the fields, and a field out of its range
//! (account 0 or above 2^20, an asset, pool or fee out of range, a zero
//! amount, a swap direction other than 0 or 1, pool tokens not ordered).
//! A forced withdrawal's amount may be zero: it moves the whole balance,
//! whatever it is.

use zklanes_executor::field::{fr_from_bytes, Fr};
use zklanes_executor::params::*;
use zklanes_executor::tx::L1Address;

use crate::log::Word;

/// Bytes of one transaction's two 31-byte words.
const TX_BYTES: usize = 62;
/// Bytes of a field word.
const ELEMENT_BYTES: usize = 31;

/// A transaction as its public data states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Type 1: an L1 deposit.
    Deposit {
        /// Credited account (created if empty).
        account: u32,
        /// Token.
        asset: u32,
        /// Amount.
        amount: u128,
        /// L1 sender.
        l1_sender: L1Address,
        /// Hash of the key named by the deposit (the zero key's for a top-up).
        key_hash: Fr,
    },
    /// Type 2: a transfer.
    Transfer {
        /// Signer.
        from: u32,
        /// Receiver.
        to: u32,
        /// Asset.
        asset: u32,
        /// Amount.
        amount: u128,
    },
    /// Type 3: an exact-input swap with its output.
    Swap {
        /// Signer.
        account: u32,
        /// Pool.
        pool: u32,
        /// Sells token A for token B.
        a_to_b: bool,
        /// Input.
        amount_in: u128,
        /// Output.
        amount_out: u128,
    },
    /// Type 4: liquidity added, with the LP shares the signer got.
    AddLiquidity {
        /// Signer.
        account: u32,
        /// Pool.
        pool: u32,
        /// Token A in.
        amount_a: u128,
        /// Token B in.
        amount_b: u128,
        /// LP shares credited to the signer (the locked minimum excluded).
        lp_minted: u128,
    },
    /// Type 5: liquidity removed, with the tokens paid out.
    RemoveLiquidity {
        /// Signer.
        account: u32,
        /// Pool.
        pool: u32,
        /// LP shares burned.
        lp_amount: u128,
        /// Token A out.
        out_a: u128,
        /// Token B out.
        out_b: u128,
    },
    /// Type 6: a withdrawal to L1.
    Withdraw {
        /// Signer.
        account: u32,
        /// Asset.
        asset: u32,
        /// Amount.
        amount: u128,
        /// L1 recipient.
        l1_address: L1Address,
    },
    /// Type 7: an empty pool created.
    CreatePool {
        /// Signer.
        account: u32,
        /// Pool id.
        pool: u32,
        /// Lower token.
        token_a: u32,
        /// Higher token.
        token_b: u32,
        /// Fee in basis points.
        fee_bps: u16,
    },
    /// Type 8: a forced withdrawal, queued on L1 by the account's owner:
    /// the account's whole balance of the asset goes to the owner.
    ForcedWithdraw {
        /// The account emptied.
        account: u32,
        /// A plain token.
        asset: u32,
        /// The amount moved: the account's whole balance (may be 0).
        amount: u128,
        /// The account's L1 owner, who queued it and is paid.
        l1_owner: L1Address,
    },
}

impl Op {
    /// The type's name.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Deposit { .. } => "deposit",
            Op::Transfer { .. } => "transfer",
            Op::Swap { .. } => "swap",
            Op::AddLiquidity { .. } => "add liquidity",
            Op::RemoveLiquidity { .. } => "remove liquidity",
            Op::Withdraw { .. } => "withdraw",
            Op::CreatePool { .. } => "create pool",
            Op::ForcedWithdraw { .. } => "forced withdrawal",
        }
    }
}

/// One decoded transaction and where its words start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedTx {
    /// Index of its first word in the data.
    pub word: usize,
    /// The operation.
    pub op: Op,
}

/// Why data words do not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A word is not below the BN254 scalar field modulus.
    #[error("word {word} is not a field element (not below the BN254 scalar modulus)")]
    NonCanonical {
        /// Word index.
        word: usize,
    },
    /// A word that carries 31 bytes of public data has a non-zero top byte.
    #[error("word {word} has a non-zero top byte 0x{byte:02x} (public data words hold 31 bytes)")]
    TooWide {
        /// Word index.
        word: usize,
        /// The top byte.
        byte: u8,
    },
    /// The type byte is not 1 to 8.
    #[error("word {word}: unknown transaction type {tx_type}")]
    UnknownType {
        /// Word index.
        word: usize,
        /// The type byte.
        tx_type: u8,
    },
    /// The data ends inside a transaction.
    #[error("word {word}: truncated {kind}: it needs {needed} words, {available} left")]
    Truncated {
        /// Word index of the transaction.
        word: usize,
        /// Its type.
        kind: &'static str,
        /// Words it needs.
        needed: usize,
        /// Words left in the data.
        available: usize,
    },
    /// A byte after the transaction's fields is not zero.
    #[error("word {word}: {kind} with non-zero padding byte {byte} of its 62")]
    NonZeroPadding {
        /// Word index of the transaction.
        word: usize,
        /// Its type.
        kind: &'static str,
        /// Offset of the first non-zero padding byte.
        byte: usize,
    },
    /// A field is outside the range the executor accepts.
    #[error("word {word}: {kind} with {field} = {value}, out of range")]
    OutOfRange {
        /// Word index of the transaction.
        word: usize,
        /// Its type.
        kind: &'static str,
        /// The field.
        field: &'static str,
        /// Its value.
        value: u128,
    },
}

/// The 31 data bytes of word `i`.
fn element(words: &[Word], i: usize) -> Result<[u8; ELEMENT_BYTES], DecodeError> {
    let w = &words[i];
    if fr_from_bytes(w).is_none() {
        return Err(DecodeError::NonCanonical { word: i });
    }
    if w[0] != 0 {
        return Err(DecodeError::TooWide {
            word: i,
            byte: w[0],
        });
    }
    Ok(w[1..].try_into().expect("31 bytes"))
}

/// Big-endian field reader over one transaction's 62 bytes, checking ranges.
struct Fields {
    bytes: [u8; TX_BYTES],
    pos: usize,
    word: usize,
    kind: &'static str,
}

impl Fields {
    fn uint(&mut self, n: usize) -> u128 {
        let v = self.bytes[self.pos..self.pos + n]
            .iter()
            .fold(0u128, |acc, b| (acc << 8) | *b as u128);
        self.pos += n;
        v
    }

    fn range(
        &self,
        field: &'static str,
        value: u128,
        lo: u128,
        hi: u128,
    ) -> Result<u128, DecodeError> {
        if value < lo || value > hi {
            return Err(DecodeError::OutOfRange {
                word: self.word,
                kind: self.kind,
                field,
                value,
            });
        }
        Ok(value)
    }

    /// A user account, `1..=MAX_ACCOUNT` (3 bytes).
    fn account(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let v = self.uint(3);
        Ok(self.range(field, v, 1, MAX_ACCOUNT as u128)? as u32)
    }

    /// An id of 2 bytes in `lo..=hi`.
    fn id(&mut self, field: &'static str, lo: u32, hi: u32) -> Result<u32, DecodeError> {
        let v = self.uint(2);
        Ok(self.range(field, v, lo as u128, hi as u128)? as u32)
    }

    /// A non-zero amount of `n` bytes (12: an amount, 14: a balance credit).
    fn amount(&mut self, field: &'static str, n: usize) -> Result<u128, DecodeError> {
        let v = self.uint(n);
        self.range(field, v, 1, u128::MAX)
    }

    fn address(&mut self) -> L1Address {
        let a = self.bytes[self.pos..self.pos + 20]
            .try_into()
            .expect("20 bytes");
        self.pos += 20;
        a
    }

    /// Checks that every byte after the fields is zero.
    fn end(self) -> Result<(), DecodeError> {
        match self.bytes[self.pos..].iter().position(|b| *b != 0) {
            Some(k) => Err(DecodeError::NonZeroPadding {
                word: self.word,
                kind: self.kind,
                byte: self.pos + k,
            }),
            None => Ok(()),
        }
    }
}

/// The name of a type byte, `None` when unknown.
fn kind(tx_type: u8) -> Option<&'static str> {
    Some(match tx_type {
        1 => "deposit",
        2 => "transfer",
        3 => "swap",
        4 => "add liquidity",
        5 => "remove liquidity",
        6 => "withdraw",
        7 => "create pool",
        8 => "forced withdrawal",
        _ => return None,
    })
}

/// Decodes one transaction's fields (type byte first).
fn fields(f: &mut Fields, key_hash: Option<Fr>) -> Result<Op, DecodeError> {
    let tx_type = f.uint(1) as u8;
    let op = match tx_type {
        1 => Op::Deposit {
            account: f.account("account")?,
            asset: f.id("asset", 1, MAX_TOKEN)?,
            amount: f.amount("amount", 12)?,
            l1_sender: f.address(),
            key_hash: key_hash.expect("a deposit has its key hash"),
        },
        2 => Op::Transfer {
            from: f.account("from")?,
            to: f.account("to")?,
            asset: f.id("asset", 1, MAX_ASSET)?,
            amount: f.amount("amount", 12)?,
        },
        3 => Op::Swap {
            account: f.account("account")?,
            pool: f.id("pool", 1, MAX_POOL)?,
            a_to_b: {
                let d = f.uint(1);
                f.range("a_to_b", d, 0, 1)? == 1
            },
            amount_in: f.amount("amount_in", 12)?,
            amount_out: f.amount("amount_out", 12)?,
        },
        4 => Op::AddLiquidity {
            account: f.account("account")?,
            pool: f.id("pool", 1, MAX_POOL)?,
            amount_a: f.amount("amount_a", 12)?,
            amount_b: f.amount("amount_b", 12)?,
            lp_minted: f.amount("lp_minted", 14)?,
        },
        5 => Op::RemoveLiquidity {
            account: f.account("account")?,
            pool: f.id("pool", 1, MAX_POOL)?,
            lp_amount: f.amount("lp_amount", 12)?,
            out_a: f.amount("out_a", 14)?,
            out_b: f.amount("out_b", 14)?,
        },
        6 => Op::Withdraw {
            account: f.account("account")?,
            asset: f.id("asset", 1, MAX_ASSET)?,
            amount: f.amount("amount", 12)?,
            l1_address: f.address(),
        },
        7 => {
            let account = f.account("account")?;
            let pool = f.id("pool", 1, MAX_POOL)?;
            let token_a = f.id("token_a", 1, MAX_TOKEN)?;
            let token_b = f.id("token_b", token_a + 1, MAX_TOKEN)?;
            let fee_bps = f.id("fee_bps", 0, MAX_FEE_BPS as u32)? as u16;
            Op::CreatePool {
                account,
                pool,
                token_a,
                token_b,
                fee_bps,
            }
        }
        8 => Op::ForcedWithdraw {
            account: f.account("account")?,
            asset: f.id("asset", 1, MAX_TOKEN)?,
            // The whole balance, zero included (14 bytes: below 2^112).
            amount: f.uint(14),
            l1_owner: f.address(),
        },
        _ => unreachable!("the type was checked"),
    };
    Ok(op)
}

/// Decodes a finalized entry's data words into its transactions, in order.
pub fn decode(words: &[Word]) -> Result<Vec<DecodedTx>, DecodeError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let e1 = element(words, i)?;
        let tx_type = e1[0];
        let kind = kind(tx_type).ok_or(DecodeError::UnknownType { word: i, tx_type })?;
        let needed = if tx_type == 1 { 3 } else { 2 };
        let available = words.len() - i;
        if available < needed {
            return Err(DecodeError::Truncated {
                word: i,
                kind,
                needed,
                available,
            });
        }
        let e2 = element(words, i + 1)?;
        let key_hash = if tx_type == 1 {
            Some(fr_from_bytes(&words[i + 2]).ok_or(DecodeError::NonCanonical { word: i + 2 })?)
        } else {
            None
        };
        let mut bytes = [0u8; TX_BYTES];
        bytes[..ELEMENT_BYTES].copy_from_slice(&e1);
        bytes[ELEMENT_BYTES..].copy_from_slice(&e2);
        let mut f = Fields {
            bytes,
            pos: 0,
            word: i,
            kind,
        };
        let op = fields(&mut f, key_hash)?;
        f.end()?;
        out.push(DecodedTx { word: i, op });
        i += needed;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words of one transaction's bytes (and a deposit's key hash).
    fn words(bytes: &[u8], key_hash: Option<Word>) -> Vec<Word> {
        let mut padded = [0u8; TX_BYTES];
        padded[..bytes.len()].copy_from_slice(bytes);
        let mut w1 = [0u8; 32];
        w1[1..].copy_from_slice(&padded[..31]);
        let mut w2 = [0u8; 32];
        w2[1..].copy_from_slice(&padded[31..]);
        let mut out = vec![w1, w2];
        out.extend(key_hash);
        out
    }

    fn transfer() -> Vec<u8> {
        let mut b = vec![2, 0, 0, 1, 0, 0, 2, 0, 1];
        b.extend(7u128.to_be_bytes()[4..].iter());
        b
    }

    #[test]
    fn transfer_decodes() {
        let d = decode(&words(&transfer(), None)).unwrap();
        assert_eq!(
            d,
            vec![DecodedTx {
                word: 0,
                op: Op::Transfer {
                    from: 1,
                    to: 2,
                    asset: 1,
                    amount: 7
                }
            }]
        );
    }

    #[test]
    fn create_pool_decodes_and_checks_token_order() {
        let b = [7, 0, 0, 3, 0, 9, 0, 1, 0, 2, 0, 30];
        let d = decode(&words(&b, None)).unwrap();
        assert_eq!(
            d[0].op,
            Op::CreatePool {
                account: 3,
                pool: 9,
                token_a: 1,
                token_b: 2,
                fee_bps: 30
            }
        );
        let swapped = [7, 0, 0, 3, 0, 9, 0, 2, 0, 1, 0, 30];
        assert!(matches!(
            decode(&words(&swapped, None)),
            Err(DecodeError::OutOfRange {
                field: "token_b",
                ..
            })
        ));
    }

    #[test]
    fn errors_are_typed() {
        let ok = words(&transfer(), None);
        // Type 0 (padding) and 9 are unknown.
        for t in [0u8, 9] {
            let mut w = ok.clone();
            w[0][1] = t;
            assert_eq!(
                decode(&w),
                Err(DecodeError::UnknownType {
                    word: 0,
                    tx_type: t
                })
            );
        }
        assert!(matches!(
            decode(&ok[..1]),
            Err(DecodeError::Truncated {
                needed: 2,
                available: 1,
                ..
            })
        ));
        let mut w = ok.clone();
        w[1][31] = 1;
        assert_eq!(
            decode(&w),
            Err(DecodeError::NonZeroPadding {
                word: 0,
                kind: "transfer",
                byte: 61
            })
        );
        let mut w = ok.clone();
        w[1] = [0xff; 32];
        assert_eq!(decode(&w), Err(DecodeError::NonCanonical { word: 1 }));
        let mut w = ok.clone();
        w[1][0] = 1;
        assert_eq!(decode(&w), Err(DecodeError::TooWide { word: 1, byte: 1 }));
        // Account 0 is the pool registry, never a signer.
        let mut w = ok;
        w[0][4] = 0;
        assert!(matches!(
            decode(&w),
            Err(DecodeError::OutOfRange {
                field: "from",
                value: 0,
                ..
            })
        ));
    }

    #[test]
    fn deposit_needs_its_key_hash() {
        let mut b = vec![1, 0, 0, 1, 0, 1];
        b.extend(5u128.to_be_bytes()[4..].iter());
        b.extend([0xaa; 20]);
        let w = words(&b, None);
        assert!(matches!(
            decode(&w),
            Err(DecodeError::Truncated {
                kind: "deposit",
                needed: 3,
                available: 2,
                ..
            })
        ));
        let w = words(&b, Some([0; 32]));
        assert_eq!(
            decode(&w).unwrap()[0].op,
            Op::Deposit {
                account: 1,
                asset: 1,
                amount: 5,
                l1_sender: [0xaa; 20],
                key_hash: Fr::from(0u64),
            }
        );
    }

    fn forced(amount: u128, asset: u16) -> Vec<u8> {
        let mut b = vec![8, 0, 0, 3];
        b.extend(asset.to_be_bytes());
        b.extend(amount.to_be_bytes()[2..].iter());
        b.extend([0xbb; 20]);
        b
    }

    #[test]
    fn forced_withdrawal_decodes_with_any_amount() {
        for amount in [0, 1, (1u128 << 112) - 1] {
            let b = forced(amount, 2);
            assert_eq!(b.len(), 40);
            assert_eq!(
                decode(&words(&b, None)).unwrap(),
                vec![DecodedTx {
                    word: 0,
                    op: Op::ForcedWithdraw {
                        account: 3,
                        asset: 2,
                        amount,
                        l1_owner: [0xbb; 20],
                    }
                }]
            );
        }
        // Two words, no key hash: a third word is the next transaction.
        let mut w = words(&forced(5, 2), None);
        w.extend(words(&transfer(), None));
        let d = decode(&w).unwrap();
        assert_eq!((d.len(), d[1].word), (2, 2));
        // A plain token only: asset 0 and LP shares are out of range.
        for asset in [0u16, (MAX_TOKEN + 1) as u16] {
            assert!(matches!(
                decode(&words(&forced(5, asset), None)),
                Err(DecodeError::OutOfRange {
                    kind: "forced withdrawal",
                    field: "asset",
                    ..
                })
            ));
        }
        let mut w = words(&forced(5, 2), None);
        w[1][31] = 1;
        assert_eq!(
            decode(&w),
            Err(DecodeError::NonZeroPadding {
                word: 0,
                kind: "forced withdrawal",
                byte: 61
            })
        );
    }
}
