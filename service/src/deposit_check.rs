//! The check of a batch's deposits against L1's queue, before execution:
//! each deposit the batch consumes must be the one L1 queued at its queue
//! index, field by field (sender, account, key, asset, amount). A deposit
//! L1 has not queued yet makes the batch wait; one that differs makes the
//! service refuse the batch ([`Mismatch`], reason [`MISMATCH_REASON`]), so
//! the sequencer can replace it.
//!
//! Only the deposits in queue order from the executor's next queue index
//! are checked: a batch whose deposits are out of order is the executor's
//! to reject, with its own reason (it would otherwise wait for a queue
//! index L1 may never reach).

use std::fmt;

use zklanes_executor::field::fr_to_hex;
use zklanes_executor::tx::{Deposit, TxBody};
use zklanes_executor::Batch;
use zklanes_l1::log::DepositEvent;

use crate::l1_view::{L1View, L1ViewError};

/// The reason label of a batch refused for a deposit L1 did not queue as
/// the batch has it (the record's error starts with it; the failure
/// metric's `reason`).
pub const MISMATCH_REASON: &str = "l1_deposit_mismatch";

/// A field of a deposit that can differ from L1's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepositField {
    /// The L1 sender.
    Sender,
    /// The account credited (assigned by L1 for a creating deposit).
    Account,
    /// The key (the zero key on L1 for a top-up).
    Key,
    /// The asset.
    Asset,
    /// The amount.
    Amount,
}

impl DepositField {
    /// The field's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sender => "sender",
            Self::Account => "account",
            Self::Key => "key",
            Self::Asset => "asset",
            Self::Amount => "amount",
        }
    }
}

impl fmt::Display for DepositField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A deposit of the batch that differs from the one L1 queued at its
/// queue index (the first field that differs).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{MISMATCH_REASON}: the deposit at queue index {queue_index} differs from L1's in its \
     {field}: the batch has {batch}, L1 queued {l1}"
)]
pub struct Mismatch {
    /// The queue index.
    pub queue_index: u64,
    /// The field.
    pub field: DepositField,
    /// The batch's value.
    pub batch: String,
    /// L1's value.
    pub l1: String,
}

/// What the check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every deposit checked is the one L1 queued.
    Matches,
    /// L1 has not queued the deposit at this queue index yet: the batch
    /// waits.
    NotQueued {
        /// The queue index.
        queue_index: u64,
    },
    /// A deposit differs from L1's: the batch is refused.
    Mismatch(Mismatch),
}

/// The first field in which `d` differs from `event` (L1's deposit at the
/// same queue index), if any.
pub fn compare(d: &Deposit, event: &DepositEvent) -> Option<Mismatch> {
    let differ = |field, batch: String, l1: String| Mismatch {
        queue_index: d.queue_index,
        field,
        batch,
        l1,
    };
    let addr = |a: &[u8; 20]| format!("0x{}", hex::encode(a));
    let key = |x, y| format!("({}, {})", fr_to_hex(x), fr_to_hex(y));
    if d.l1_sender != event.sender {
        return Some(differ(
            DepositField::Sender,
            addr(&d.l1_sender),
            addr(&event.sender),
        ));
    }
    if d.account != event.account {
        return Some(differ(
            DepositField::Account,
            d.account.to_string(),
            event.account.to_string(),
        ));
    }
    if d.pubkey.x != event.pubkey_x || d.pubkey.y != event.pubkey_y {
        return Some(differ(
            DepositField::Key,
            key(&d.pubkey.x, &d.pubkey.y),
            key(&event.pubkey_x, &event.pubkey_y),
        ));
    }
    if d.asset != event.asset {
        return Some(differ(
            DepositField::Asset,
            d.asset.to_string(),
            event.asset.to_string(),
        ));
    }
    if d.amount != event.amount {
        return Some(differ(
            DepositField::Amount,
            d.amount.to_string(),
            event.amount.to_string(),
        ));
    }
    None
}

/// Checks `deposits` (in batch order) against `view`, from queue index
/// `next_deposit` (the executor's next one) while they are in order; the
/// first problem wins.
pub fn check_deposits<'a>(
    view: &dyn L1View,
    deposits: impl IntoIterator<Item = &'a Deposit>,
    next_deposit: u64,
) -> Result<Verdict, L1ViewError> {
    for (expected, d) in (next_deposit..).zip(deposits) {
        if d.queue_index != expected {
            // Out of order: the executor rejects the batch.
            break;
        }
        let Some(event) = view.deposit(d.queue_index)? else {
            return Ok(Verdict::NotQueued {
                queue_index: d.queue_index,
            });
        };
        if event.queue_index != d.queue_index {
            return Err(L1ViewError::Corrupt {
                reason: format!(
                    "asked for the deposit at queue index {}, got the one at {}",
                    d.queue_index, event.queue_index
                ),
            });
        }
        if let Some(m) = compare(d, &event) {
            return Ok(Verdict::Mismatch(m));
        }
    }
    Ok(Verdict::Matches)
}

/// The deposits of `batch`, in order.
pub fn deposits(batch: &Batch) -> impl Iterator<Item = &Deposit> {
    batch.txs.iter().filter_map(|t| match &t.body {
        TxBody::Deposit(d) => Some(d),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use zklanes_executor::field::Fr;
    use zklanes_executor::signature::PublicKey;

    struct Queue(BTreeMap<u64, DepositEvent>);

    impl L1View for Queue {
        fn deposit(&self, queue_index: u64) -> Result<Option<DepositEvent>, L1ViewError> {
            Ok(self.0.get(&queue_index).cloned())
        }
        fn name(&self) -> &'static str {
            "test"
        }
    }

    fn deposit(queue_index: u64, account: u32, key: u64) -> Deposit {
        Deposit {
            queue_index,
            l1_sender: [7; 20],
            account,
            pubkey: PublicKey {
                x: Fr::from(key),
                y: Fr::from(key * 3),
            },
            asset: 2,
            amount: 1_000,
        }
    }

    fn queue(ds: &[Deposit]) -> Queue {
        Queue(
            ds.iter()
                .map(|d| (d.queue_index, DepositEvent::from_deposit(d)))
                .collect(),
        )
    }

    #[test]
    fn the_deposits_l1_queued_match() {
        let ds = [deposit(0, 1, 5), deposit(1, 1, 0)];
        assert_eq!(
            check_deposits(&queue(&ds), &ds, 0).unwrap(),
            Verdict::Matches
        );
    }

    #[test]
    fn each_field_that_differs_is_named() {
        let l1 = deposit(0, 1, 5);
        type Tamper = fn(&mut Deposit);
        let cases: [(DepositField, Tamper); 5] = [
            (DepositField::Sender, |d| d.l1_sender[0] = 8),
            (DepositField::Account, |d| d.account = 2),
            (DepositField::Key, |d| d.pubkey.y = Fr::from(1u64)),
            (DepositField::Asset, |d| d.asset = 3),
            (DepositField::Amount, |d| d.amount = 1_001),
        ];
        for (field, tamper) in cases {
            let mut d = l1.clone();
            tamper(&mut d);
            let Verdict::Mismatch(m) =
                check_deposits(&queue(std::slice::from_ref(&l1)), [&d], 0).unwrap()
            else {
                panic!("{field} not caught");
            };
            assert_eq!((m.queue_index, m.field), (0, field));
            let text = m.to_string();
            assert!(text.starts_with(MISMATCH_REASON), "{text}");
            assert!(text.contains(&format!("its {field}")), "{text}");
        }
    }

    #[test]
    fn a_top_up_must_carry_the_zero_key_l1_queued() {
        let l1 = deposit(0, 1, 0);
        let d = deposit(0, 1, 5);
        let Verdict::Mismatch(m) = check_deposits(&queue(&[l1]), [&d], 0).unwrap() else {
            panic!("key not caught");
        };
        assert_eq!(m.field, DepositField::Key);
    }

    #[test]
    fn a_deposit_not_queued_waits_and_a_mismatch_before_it_wins() {
        let ds = [deposit(3, 1, 5), deposit(4, 2, 6)];
        let l1 = queue(&ds[..1]);
        assert_eq!(
            check_deposits(&l1, &ds, 3).unwrap(),
            Verdict::NotQueued { queue_index: 4 }
        );
        let mut bad = ds.clone();
        bad[0].amount = 1;
        assert!(matches!(
            check_deposits(&l1, &bad, 3).unwrap(),
            Verdict::Mismatch(Mismatch { queue_index: 3, .. })
        ));
    }

    #[test]
    fn deposits_out_of_order_are_left_to_the_executor() {
        let ds = [deposit(5, 1, 5)];
        assert_eq!(
            check_deposits(&queue(&[]), &ds, 0).unwrap(),
            Verdict::Matches
        );
    }

    #[test]
    fn an_event_at_the_wrong_index_is_corrupt() {
        let d = deposit(0, 1, 5);
        let mut ev = DepositEvent::from_deposit(&d);
        ev.queue_index = 9;
        let l1 = Queue([(0, ev)].into_iter().collect());
        let e = check_deposits(&l1, [&d], 0).unwrap_err();
        assert!(!e.is_retryable(), "{e}");
    }
}
