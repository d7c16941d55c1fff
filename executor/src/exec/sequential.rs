//! The sequential reference executor: one transaction after another, every
//! check inline, in the order the protocol defines. Everything else is
//! checked against it.

use ark_ed_on_bn254::EdwardsAffine;

use super::apply::{apply_tx, ApplyError, Receipt};
use super::overlay::Overlay;
use super::ExecOutput;
use crate::error::{BatchError, TxError};
use crate::signature;
use crate::state::{Key, Leaf, State};
use crate::tx::{SignedTx, TxBody};

/// Checks that do not need state, in protocol order: widths, then signature
/// presence, then deposit queue order. Returns the queue index a deposit consumes.
pub(crate) fn static_check(tx: &SignedTx) -> Result<(), TxError> {
    tx.body.check_widths()?;
    match (&tx.body, &tx.signature) {
        (TxBody::Deposit(_) | TxBody::ForcedWithdraw(_), Some(_)) => {
            Err(TxError::UnexpectedSignature)
        }
        (TxBody::Deposit(_) | TxBody::ForcedWithdraw(_), None) => Ok(()),
        (_, None) => Err(TxError::MissingSignature),
        (_, Some(_)) => Ok(()),
    }
}

/// Runs a batch sequentially over `state` (which it does not modify).
pub fn execute_sequential(
    state: &State,
    txs: &[SignedTx],
    chain_id: u32,
) -> Result<ExecOutput, BatchError> {
    let mut view = Overlay::new(state);
    let mut receipts: Vec<Receipt> = Vec::with_capacity(txs.len());
    let mut next_deposit = state.next_deposit;
    for (index, tx) in txs.iter().enumerate() {
        let fail = |reason| BatchError::Tx { index, reason };
        static_check(tx).map_err(fail)?;
        match (&tx.body, &tx.signature) {
            (body, _) if body.queue_index().is_some() => {
                let got = body.queue_index().expect("guarded");
                if got != next_deposit {
                    return Err(fail(TxError::DepositOutOfOrder {
                        expected: next_deposit,
                        got,
                    }));
                }
                next_deposit += 1;
            }
            (body, Some(sig)) => {
                let (account, _) = body.signer().expect("signed types have a signer");
                let Leaf::Account(acc) = view.read(Key::Account(account)) else {
                    return Err(fail(TxError::UnknownAccount { account }));
                };
                let msg = body.message(chain_id).expect("signed types have a message");
                let pk = EdwardsAffine::new_unchecked(acc.pubkey.x, acc.pubkey.y);
                signature::verify(&pk, &msg, sig)
                    .map_err(|reason| fail(TxError::BadSignature { reason }))?;
            }
            (_, None) => unreachable!("static_check requires a signature"),
        }
        match apply_tx(&view, &tx.body) {
            Ok((receipt, writes)) => {
                receipts.push(receipt);
                for (k, l) in writes {
                    view.set(k, l);
                }
            }
            Err(ApplyError::Tx(reason)) => return Err(fail(reason)),
            Err(ApplyError::Invariant(e)) => return Err(BatchError::Internal { reason: e.0 }),
        }
    }
    Ok(ExecOutput {
        receipts,
        diff: view.into_diff(),
        next_deposit,
        metrics: Default::default(),
    })
}
