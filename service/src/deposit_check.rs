//! The check of a batch's L1 queue operations against L1's queue, before
//! execution: deposits and forced withdrawals share the queue (one index
//! space), and each one the batch consumes must be the one L1 queued at its
//! queue index, field by field: a deposit's sender, account, key, asset and
//! amount; a forced withdrawal's owner (the sender that queued it), account
//! and asset (L1 queues it with amount 0; its amount, the whole balance, is
//! the executor's to compute). An operation L1 has not queued yet makes the
//! batch wait; one that differs (or of the other kind) makes the service
//! refuse the batch ([`Mismatch`], reason [`MISMATCH_REASON`] for a
//! deposit, [`FORCED_MISMATCH_REASON`] for a forced withdrawal), so the
//! sequencer can replace it.
//!
//! Only the operations in queue order from the executor's next queue index
//! are checked: a batch whose queue operations are out of order is the
//! executor's to reject, with its own reason (it would otherwise wait for a
//! queue index L1 may never reach).

use std::fmt;

use zklanes_executor::field::fr_to_hex;
use zklanes_executor::tx::{Deposit, ForcedWithdraw, TxBody};
use zklanes_executor::Batch;
use zklanes_l1::log::DepositEvent;

use crate::l1_view::{L1View, L1ViewError};

/// The reason label of a batch refused for a deposit L1 did not queue as
/// the batch has it (the record's error starts with it; the failure
/// metric's `reason`).
pub const MISMATCH_REASON: &str = "l1_deposit_mismatch";

/// The reason label of a batch refused for a forced withdrawal L1 did not
/// queue as the batch has it.
pub const FORCED_MISMATCH_REASON: &str = "l1_forced_withdrawal_mismatch";

/// The kind of an L1 queue operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueKind {
    /// A deposit (`deposit`, `depositNewAccount`).
    Deposit,
    /// A forced withdrawal (`forceWithdraw`, by the account's owner; L1
    /// queues it with amount 0).
    ForcedWithdrawal,
}

impl QueueKind {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Deposit => "deposit",
            Self::ForcedWithdrawal => "forced withdrawal",
        }
    }

    /// The reason label of a batch refused for one of this kind.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Deposit => MISMATCH_REASON,
            Self::ForcedWithdrawal => FORCED_MISMATCH_REASON,
        }
    }

    /// The kind of an L1 event (a forced withdrawal's amount is 0).
    pub fn of_event(event: &DepositEvent) -> Self {
        if event.is_forced_withdrawal() {
            Self::ForcedWithdrawal
        } else {
            Self::Deposit
        }
    }
}

impl fmt::Display for QueueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An L1 queue operation of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueOp<'a> {
    /// A deposit.
    Deposit(&'a Deposit),
    /// A forced withdrawal.
    ForcedWithdrawal(&'a ForcedWithdraw),
}

impl QueueOp<'_> {
    /// Its queue index.
    pub fn queue_index(self) -> u64 {
        match self {
            Self::Deposit(d) => d.queue_index,
            Self::ForcedWithdrawal(f) => f.queue_index,
        }
    }

    /// Its kind.
    pub fn kind(self) -> QueueKind {
        match self {
            Self::Deposit(_) => QueueKind::Deposit,
            Self::ForcedWithdrawal(_) => QueueKind::ForcedWithdrawal,
        }
    }
}

/// A field of a queue operation that can differ from L1's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueField {
    /// The kind: L1 queued a deposit where the batch has a forced
    /// withdrawal, or the other way round.
    Kind,
    /// A deposit's L1 sender.
    Sender,
    /// A forced withdrawal's owner (the L1 sender that queued it).
    Owner,
    /// The account (assigned by L1 for a creating deposit).
    Account,
    /// A deposit's key (the zero key on L1 for a top-up).
    Key,
    /// The asset.
    Asset,
    /// A deposit's amount.
    Amount,
}

/// The fields of a deposit (the name kept from before forced withdrawals).
pub type DepositField = QueueField;

impl QueueField {
    /// The field's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Kind => "kind",
            Self::Sender => "sender",
            Self::Owner => "owner",
            Self::Account => "account",
            Self::Key => "key",
            Self::Asset => "asset",
            Self::Amount => "amount",
        }
    }
}

impl fmt::Display for QueueField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A queue operation of the batch that differs from the one L1 queued at
/// its queue index (the first field that differs).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{}: the {kind} at queue index {queue_index} differs from L1's in its {field}: the batch \
     has {batch}, L1 queued {l1}",
    .kind.reason()
)]
pub struct Mismatch {
    /// The queue index.
    pub queue_index: u64,
    /// The kind of the batch's operation.
    pub kind: QueueKind,
    /// The field.
    pub field: QueueField,
    /// The batch's value.
    pub batch: String,
    /// L1's value.
    pub l1: String,
}

impl Mismatch {
    /// Its reason label ([`MISMATCH_REASON`] or [`FORCED_MISMATCH_REASON`]).
    pub fn reason(&self) -> &'static str {
        self.kind.reason()
    }
}

/// What the check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every queue operation checked is the one L1 queued.
    Matches,
    /// L1 has not queued the operation at this queue index yet: the batch
    /// waits.
    NotQueued {
        /// The queue index.
        queue_index: u64,
        /// What the batch has there.
        kind: QueueKind,
    },
    /// An operation differs from L1's: the batch is refused.
    Mismatch(Mismatch),
}

fn addr(a: &[u8; 20]) -> String {
    format!("0x{}", hex::encode(a))
}

/// L1 queued the other kind at `queue_index`.
fn other_kind(queue_index: u64, kind: QueueKind, event: &DepositEvent) -> Mismatch {
    Mismatch {
        queue_index,
        kind,
        field: QueueField::Kind,
        batch: format!("a {kind}"),
        l1: format!("a {}", QueueKind::of_event(event)),
    }
}

/// The first field in which `d` differs from `event` (L1's queue event at
/// the same queue index), if any.
pub fn compare(d: &Deposit, event: &DepositEvent) -> Option<Mismatch> {
    if event.is_forced_withdrawal() {
        return Some(other_kind(d.queue_index, QueueKind::Deposit, event));
    }
    let differ = |field, batch: String, l1: String| Mismatch {
        queue_index: d.queue_index,
        kind: QueueKind::Deposit,
        field,
        batch,
        l1,
    };
    let key = |x, y| format!("({}, {})", fr_to_hex(x), fr_to_hex(y));
    if d.l1_sender != event.sender {
        return Some(differ(
            QueueField::Sender,
            addr(&d.l1_sender),
            addr(&event.sender),
        ));
    }
    if d.account != event.account {
        return Some(differ(
            QueueField::Account,
            d.account.to_string(),
            event.account.to_string(),
        ));
    }
    if d.pubkey.x != event.pubkey_x || d.pubkey.y != event.pubkey_y {
        return Some(differ(
            QueueField::Key,
            key(&d.pubkey.x, &d.pubkey.y),
            key(&event.pubkey_x, &event.pubkey_y),
        ));
    }
    if d.asset != event.asset {
        return Some(differ(
            QueueField::Asset,
            d.asset.to_string(),
            event.asset.to_string(),
        ));
    }
    if d.amount != event.amount {
        return Some(differ(
            QueueField::Amount,
            d.amount.to_string(),
            event.amount.to_string(),
        ));
    }
    None
}

/// The first field in which the forced withdrawal `f` differs from `event`
/// (L1's queue event at the same queue index), if any: L1 must have queued
/// a forced withdrawal (amount 0) of the same account and asset, sent by
/// the same owner.
pub fn compare_forced(f: &ForcedWithdraw, event: &DepositEvent) -> Option<Mismatch> {
    if !event.is_forced_withdrawal() {
        return Some(other_kind(
            f.queue_index,
            QueueKind::ForcedWithdrawal,
            event,
        ));
    }
    let differ = |field, batch: String, l1: String| Mismatch {
        queue_index: f.queue_index,
        kind: QueueKind::ForcedWithdrawal,
        field,
        batch,
        l1,
    };
    if f.l1_owner != event.sender {
        return Some(differ(
            QueueField::Owner,
            addr(&f.l1_owner),
            addr(&event.sender),
        ));
    }
    if f.account != event.account {
        return Some(differ(
            QueueField::Account,
            f.account.to_string(),
            event.account.to_string(),
        ));
    }
    if f.asset != event.asset {
        return Some(differ(
            QueueField::Asset,
            f.asset.to_string(),
            event.asset.to_string(),
        ));
    }
    None
}

/// Checks `ops` (in batch order) against `view`, from queue index
/// `next_deposit` (the executor's next one) while they are in order; the
/// first problem wins.
pub fn check_queue<'a>(
    view: &dyn L1View,
    ops: impl IntoIterator<Item = QueueOp<'a>>,
    next_deposit: u64,
) -> Result<Verdict, L1ViewError> {
    for (expected, op) in (next_deposit..).zip(ops) {
        let queue_index = op.queue_index();
        if queue_index != expected {
            // Out of order: the executor rejects the batch.
            break;
        }
        let Some(event) = view.deposit(queue_index)? else {
            return Ok(Verdict::NotQueued {
                queue_index,
                kind: op.kind(),
            });
        };
        if event.queue_index != queue_index {
            return Err(L1ViewError::Corrupt {
                reason: format!(
                    "asked for the queue event at queue index {}, got the one at {}",
                    queue_index, event.queue_index
                ),
            });
        }
        let differs = match op {
            QueueOp::Deposit(d) => compare(d, &event),
            QueueOp::ForcedWithdrawal(f) => compare_forced(f, &event),
        };
        if let Some(m) = differs {
            return Ok(Verdict::Mismatch(m));
        }
    }
    Ok(Verdict::Matches)
}

/// Checks `deposits` alone (in batch order) against `view`, as
/// [`check_queue`] does.
pub fn check_deposits<'a>(
    view: &dyn L1View,
    deposits: impl IntoIterator<Item = &'a Deposit>,
    next_deposit: u64,
) -> Result<Verdict, L1ViewError> {
    check_queue(
        view,
        deposits.into_iter().map(QueueOp::Deposit),
        next_deposit,
    )
}

/// The deposits of `batch`, in order.
pub fn deposits(batch: &Batch) -> impl Iterator<Item = &Deposit> {
    batch.txs.iter().filter_map(|t| match &t.body {
        TxBody::Deposit(d) => Some(d),
        _ => None,
    })
}

/// The L1 queue operations of `batch` (deposits and forced withdrawals),
/// in order.
pub fn queue_ops(batch: &Batch) -> impl Iterator<Item = QueueOp<'_>> {
    batch.txs.iter().filter_map(|t| match &t.body {
        TxBody::Deposit(d) => Some(QueueOp::Deposit(d)),
        TxBody::ForcedWithdraw(f) => Some(QueueOp::ForcedWithdrawal(f)),
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
            Verdict::NotQueued {
                queue_index: 4,
                kind: QueueKind::Deposit
            }
        );
        let mut bad = ds.clone();
        bad[0].amount = 1;
        assert!(matches!(
            check_deposits(&l1, &bad, 3).unwrap(),
            Verdict::Mismatch(Mismatch { queue_index: 3, .. })
        ));
    }

    fn forced(queue_index: u64, account: u32, asset: u32) -> ForcedWithdraw {
        ForcedWithdraw {
            queue_index,
            account,
            asset,
            l1_owner: [7; 20],
        }
    }

    /// L1's queue of `ops`, as L1 queues them.
    fn queue_of(ops: &[QueueOp<'_>]) -> Queue {
        Queue(
            ops.iter()
                .map(|op| {
                    let e = match op {
                        QueueOp::Deposit(d) => DepositEvent::from_deposit(d),
                        QueueOp::ForcedWithdrawal(f) => DepositEvent::from_forced(f),
                    };
                    (op.queue_index(), e)
                })
                .collect(),
        )
    }

    #[test]
    fn forced_withdrawals_share_the_queue_and_are_checked_like_deposits() {
        let (d0, f1, d2) = (deposit(0, 1, 5), forced(1, 1, 2), deposit(2, 1, 0));
        let ops = [
            QueueOp::Deposit(&d0),
            QueueOp::ForcedWithdrawal(&f1),
            QueueOp::Deposit(&d2),
        ];
        let l1 = queue_of(&ops);
        assert_eq!(check_queue(&l1, ops, 0).unwrap(), Verdict::Matches);
        // Not queued yet: the batch waits, naming the forced withdrawal.
        let partial = queue_of(&ops[..1]);
        assert_eq!(
            check_queue(&partial, ops, 0).unwrap(),
            Verdict::NotQueued {
                queue_index: 1,
                kind: QueueKind::ForcedWithdrawal
            }
        );
        // Each field that differs is named, with its own reason.
        type Tamper = fn(&mut ForcedWithdraw);
        let cases: [(QueueField, Tamper); 3] = [
            (QueueField::Owner, |f| f.l1_owner[19] = 8),
            (QueueField::Account, |f| f.account = 2),
            (QueueField::Asset, |f| f.asset = 3),
        ];
        for (field, tamper) in cases {
            let mut bad = f1.clone();
            tamper(&mut bad);
            let ops = [QueueOp::Deposit(&d0), QueueOp::ForcedWithdrawal(&bad)];
            let Verdict::Mismatch(m) = check_queue(&l1, ops, 0).unwrap() else {
                panic!("{field} not caught");
            };
            assert_eq!(
                (m.queue_index, m.kind, m.field),
                (1, QueueKind::ForcedWithdrawal, field)
            );
            assert_eq!(m.reason(), FORCED_MISMATCH_REASON);
            let text = m.to_string();
            assert!(
                text.starts_with(FORCED_MISMATCH_REASON)
                    && text.contains("the forced withdrawal at queue index 1")
                    && text.contains(&format!("its {field}")),
                "{text}"
            );
        }
    }

    #[test]
    fn the_other_kind_at_a_queue_index_is_a_mismatch() {
        // The batch has a forced withdrawal where L1 queued a deposit.
        let d = deposit(0, 1, 5);
        let f = forced(0, 1, 2);
        let Verdict::Mismatch(m) = check_queue(
            &queue_of(&[QueueOp::Deposit(&d)]),
            [QueueOp::ForcedWithdrawal(&f)],
            0,
        )
        .unwrap() else {
            panic!("kind not caught");
        };
        assert_eq!(
            (m.kind, m.field),
            (QueueKind::ForcedWithdrawal, QueueField::Kind)
        );
        assert!(
            m.to_string()
                .ends_with("the batch has a forced withdrawal, L1 queued a deposit"),
            "{m}"
        );
        // The batch has a deposit where L1 queued a forced withdrawal.
        let Verdict::Mismatch(m) = check_queue(
            &queue_of(&[QueueOp::ForcedWithdrawal(&f)]),
            [QueueOp::Deposit(&d)],
            0,
        )
        .unwrap() else {
            panic!("kind not caught");
        };
        assert_eq!((m.kind, m.field), (QueueKind::Deposit, QueueField::Kind));
        assert_eq!(m.reason(), MISMATCH_REASON);
    }

    #[test]
    fn a_batchs_queue_operations_are_its_deposits_and_forced_withdrawals() {
        let d = deposit(0, 1, 5);
        let f = forced(1, 1, 2);
        let batch = Batch {
            version: zklanes_executor::batch::BATCH_VERSION,
            chain_id: 1,
            number: 0,
            txs: vec![
                zklanes_executor::tx::SignedTx {
                    body: TxBody::Deposit(d.clone()),
                    signature: None,
                },
                zklanes_executor::tx::SignedTx {
                    body: TxBody::ForcedWithdraw(f.clone()),
                    signature: None,
                },
            ],
        };
        assert_eq!(
            queue_ops(&batch).collect::<Vec<_>>(),
            vec![QueueOp::Deposit(&d), QueueOp::ForcedWithdrawal(&f)]
        );
        assert_eq!(deposits(&batch).count(), 1);
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
