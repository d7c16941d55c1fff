//! Small executor batches that exercise every transaction type, shared by
//! the circuit tests, `zklanes circuit-stats` and the proving tests.

use zklanes_executor::batch::{Batch, BATCH_VERSION};
use zklanes_executor::signature::SecretKey;
use zklanes_executor::tx::{
    AddLiquidity, CreatePool, Deposit, ForcedWithdraw, RemoveLiquidity, SignedTx, Swap, Transfer,
    TxBody, Withdraw,
};

/// The key of showcase account `a`.
pub fn key(a: u32) -> SecretKey {
    SecretKey::from_seed(a as u64)
}

/// Signs `body` with its signer's showcase key (deposits stay unsigned).
pub fn sign(body: TxBody, chain_id: u32) -> SignedTx {
    let signature = body.signer().map(|(a, _)| {
        let msg = body.message(chain_id).expect("signed type");
        key(a).sign(&msg)
    });
    SignedTx { body, signature }
}

/// The L1 sender of the showcase deposit at `queue_index`.
pub fn l1_sender(queue_index: u64) -> [u8; 20] {
    let mut l1_sender = [0u8; 20];
    l1_sender[0] = 0xab;
    l1_sender[12] = 0x5c;
    l1_sender[19] = queue_index as u8;
    l1_sender
}

/// A deposit from a fixed L1 sender, creating the account with its showcase key.
pub fn deposit(queue_index: u64, account: u32, asset: u32, amount: u128) -> TxBody {
    let l1_sender = l1_sender(queue_index);
    TxBody::Deposit(Deposit {
        queue_index,
        l1_sender,
        account,
        pubkey: key(account).public(),
        asset,
        amount,
    })
}

/// Thirteen transactions, every type at least once: deposits (creating and
/// topping up), a pool creation, a first and a later liquidity mint, swaps
/// both ways, a transfer, a burn, a withdrawal and, last, a forced
/// withdrawal of account 2's token 2 by its owner (the sender of the
/// deposit that created it).
pub fn showcase_txs(chain_id: u32) -> Vec<SignedTx> {
    let bodies = vec![
        deposit(0, 1, 1, 10_000_000),
        deposit(1, 1, 2, 20_000_000),
        deposit(2, 2, 1, 500),
        TxBody::CreatePool(CreatePool {
            account: 1,
            pool: 1,
            token_a: 1,
            token_b: 2,
            fee_bps: 30,
            nonce: 0,
        }),
        TxBody::AddLiquidity(AddLiquidity {
            account: 1,
            pool: 1,
            amount_a: 1_000_000,
            amount_b: 2_000_000,
            min_lp: 1,
            nonce: 1,
        }),
        TxBody::Swap(Swap {
            account: 1,
            pool: 1,
            a_to_b: true,
            amount_in: 1_000,
            min_out: 1_900,
            nonce: 2,
        }),
        TxBody::Transfer(Transfer {
            from: 1,
            to: 2,
            asset: 2,
            amount: 77,
            nonce: 3,
        }),
        TxBody::AddLiquidity(AddLiquidity {
            account: 1,
            pool: 1,
            amount_a: 3_000,
            amount_b: 5_000,
            min_lp: 0,
            nonce: 4,
        }),
        TxBody::Swap(Swap {
            account: 2,
            pool: 1,
            a_to_b: false,
            amount_in: 50,
            min_out: 1,
            nonce: 0,
        }),
        TxBody::RemoveLiquidity(RemoveLiquidity {
            account: 1,
            pool: 1,
            lp_amount: 10_000,
            min_a: 1,
            min_b: 1,
            nonce: 5,
        }),
        TxBody::Withdraw(Withdraw {
            account: 2,
            asset: 1,
            amount: 3,
            l1_address: [
                0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
                0xff, 0x01, 0x02, 0x03, 0x04, 0x05,
            ],
            nonce: 1,
        }),
        deposit(3, 2, 2, 9),
        TxBody::ForcedWithdraw(ForcedWithdraw {
            queue_index: 4,
            account: 2,
            asset: 2,
            l1_owner: l1_sender(2),
        }),
    ];
    bodies.into_iter().map(|b| sign(b, chain_id)).collect()
}

/// [`showcase_txs`] as batch 0.
pub fn showcase_batch(chain_id: u32) -> Batch {
    Batch {
        version: BATCH_VERSION,
        chain_id,
        number: 0,
        txs: showcase_txs(chain_id),
    }
}

/// The showcase batch executed in memory (empty genesis) into chunks of
/// `capacity` transactions: real executor traces.
pub fn showcase_chunks(chain_id: u32, capacity: usize) -> Vec<zklanes_executor::trace::ChunkTrace> {
    let mut r = zklanes_executor::Rollup::in_memory(zklanes_executor::RollupConfig {
        chain_id,
        chunk_capacity: capacity,
        threads: 2,
        ..Default::default()
    });
    r.apply(&showcase_batch(chain_id))
        .expect("the showcase batch is valid")
        .chunks
}
