//! Leaf hashes and leaf updates in-circuit equal the executor's, and every
//! declared width is enforced.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::GateChip;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context};
use zklanes_circuits::ecc::EccChip;
use zklanes_circuits::field::to_halo2;
use zklanes_circuits::hash_table::{HashTable, HashedCircuit};
use zklanes_circuits::leaves::{account_leaf, balance_leaf, pool_leaf, pubkey_hash, PoolCells};
use zklanes_circuits::merkle::update;
use zklanes_executor::params::TREE_DEPTH;
use zklanes_executor::signature::SecretKey;
use zklanes_executor::smt::{root_from_path, Tree};
use zklanes_executor::state::{Account, Leaf, Pool};

const K: usize = 13;

/// Runs `f` in a range-enabled builder; `f` returns the cells to expose.
fn prove(
    expected: Vec<Fr>,
    f: impl FnOnce(
        &mut Context<Fr>,
        &halo2_base::gates::RangeChip<Fr>,
        &mut HashTable,
    ) -> Vec<AssignedValue<Fr>>,
) -> bool {
    let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock)
        .use_k(K)
        .use_lookup_bits(8)
        .use_instance_columns(1);
    let range = builder.range_chip();
    let mut table = HashTable::default();
    let out = f(builder.main(0), &range, &mut table);
    builder.assigned_instances[0].extend(out);
    builder.calculate_params(Some(9));
    let circuit = HashedCircuit::new(builder, table, Default::default());
    MockProver::run(K as u32, &circuit, vec![expected])
        .expect("synthesis")
        .verify()
        .is_ok()
}

fn account() -> Account {
    let mut a = Account::new(SecretKey::from_seed(8).public());
    a.nonce = 41;
    a
}

fn account_case(exists: u64, nonce: u64, expected: Fr) -> bool {
    let a = account();
    prove(vec![expected], |ctx, range, table| {
        let pk = EccChip::default().load_point(ctx, to_halo2(&a.pubkey.x), to_halo2(&a.pubkey.y));
        let h = pubkey_hash(ctx, table, pk);
        let e = ctx.load_witness(Fr::from(exists));
        let n = ctx.load_witness(Fr::from(nonce));
        vec![account_leaf(ctx, range, table, e, h, n)]
    })
}

#[test]
fn account_leaf_matches_the_executor() {
    let expected = to_halo2(&Leaf::Account(account()).hash());
    assert!(account_case(1, 41, expected));
    assert!(account_case(0, 41, to_halo2(&Leaf::Empty.hash())));
    assert!(!account_case(1, 42, expected));
    assert!(
        !account_case(2, 41, expected + expected),
        "exists must be boolean"
    );
    assert!(
        !account_case(1, 1 << 32, to_halo2(&Leaf::Account(account()).hash())),
        "nonce width"
    );
}

fn balance_case(balance: u128, expected: Fr) -> bool {
    prove(vec![expected], |ctx, range, table| {
        let b = ctx.load_witness(to_halo2(&zklanes_executor::field::Fr::from(balance)));
        vec![balance_leaf(ctx, range, table, b)]
    })
}

#[test]
fn balance_leaf_matches_the_executor() {
    for b in [1u128, 77, (1 << 112) - 1] {
        assert!(
            balance_case(b, to_halo2(&Leaf::Balance(b).hash())),
            "balance {b}"
        );
    }
    assert!(balance_case(0, Fr::zero()));
    assert!(!balance_case(5, to_halo2(&Leaf::Balance(6).hash())));
}

#[test]
fn balance_width_is_enforced() {
    // 2^112 passes no range check, whatever the claimed leaf.
    let over = 1u128 << 112;
    let native = zklanes_executor::poseidon::compress(
        zklanes_executor::poseidon::Tag::BalanceLeaf,
        zklanes_executor::field::Fr::from(over),
        zklanes_executor::field::Fr::from(0u64),
    );
    assert!(!balance_case(over, to_halo2(&native)));
}

fn pool() -> Pool {
    Pool {
        token_a: 3,
        token_b: 2047,
        fee_bps: 30,
        reserve_a: 10u128.pow(30),
        reserve_b: (1 << 112) - 1,
        lp_supply: 12345,
    }
}

fn pool_case(p: Pool, expected: Fr) -> bool {
    prove(vec![expected], |ctx, range, table| {
        let w = |ctx: &mut Context<Fr>, v: u128| {
            ctx.load_witness(to_halo2(&zklanes_executor::field::Fr::from(v)))
        };
        let cells = PoolCells {
            token_a: w(ctx, p.token_a as u128),
            token_b: w(ctx, p.token_b as u128),
            fee_bps: w(ctx, p.fee_bps as u128),
            reserve_a: w(ctx, p.reserve_a),
            reserve_b: w(ctx, p.reserve_b),
            lp_supply: w(ctx, p.lp_supply),
        };
        let e = ctx.load_witness(Fr::one());
        vec![pool_leaf(ctx, range, table, e, &cells)]
    })
}

#[test]
fn pool_leaf_matches_the_executor() {
    assert!(pool_case(pool(), to_halo2(&Leaf::Pool(pool()).hash())));
    let mut other = pool();
    other.reserve_a += 1;
    assert!(!pool_case(other, to_halo2(&Leaf::Pool(pool()).hash())));
}

/// A field past its width could alias another pool's packing: refused.
#[test]
fn pool_widths_are_enforced() {
    let mut p = pool();
    p.token_b = 4096;
    let (lo, hi) = p.packed_unchecked();
    let native =
        zklanes_executor::poseidon::compress(zklanes_executor::poseidon::Tag::PoolLeaf, lo, hi);
    assert!(!pool_case(p, to_halo2(&native)));
}

trait PackedUnchecked {
    fn packed_unchecked(&self) -> (zklanes_executor::field::Fr, zklanes_executor::field::Fr);
}

impl PackedUnchecked for Pool {
    /// The packing without width checks (the executor's `packed` refuses).
    fn packed_unchecked(&self) -> (zklanes_executor::field::Fr, zklanes_executor::field::Fr) {
        use zklanes_executor::field::Fr as N;
        use zklanes_executor::pack::pow2;
        let lo = N::from(self.token_a) * pow2(12 + 14 + 112)
            + N::from(self.token_b) * pow2(14 + 112)
            + N::from(self.fee_bps as u64) * pow2(112)
            + N::from(self.reserve_a);
        let hi = N::from(self.reserve_b) * pow2(112) + N::from(self.lp_supply);
        (lo, hi)
    }
}

fn update_case(index: u64, old: Leaf, new: Leaf, claimed_old_root: Option<Fr>) -> bool {
    let mut tree = Tree::default();
    let fill: Vec<(u64, zklanes_executor::field::Fr)> = (0..20u64)
        .map(|i| {
            (
                (i * 7919) % 4096 + (i << 14),
                Leaf::Balance(i as u128 + 1).hash(),
            )
        })
        .collect();
    tree.apply(&fill);
    tree.apply(&[(index, old.hash())]);
    let sibs = tree.siblings(index);
    let old_root = to_halo2(&tree.root());
    let new_root = to_halo2(&root_from_path(index, new.hash(), &sibs));
    assert_eq!(
        old_root,
        to_halo2(&root_from_path(index, old.hash(), &sibs))
    );
    prove(
        vec![claimed_old_root.unwrap_or(old_root), new_root],
        |ctx, _range, table| {
            let gate = GateChip::<Fr>::default();
            let i = ctx.load_witness(Fr::from(index));
            let o = ctx.load_witness(to_halo2(&old.hash()));
            let n = ctx.load_witness(to_halo2(&new.hash()));
            let s: [AssignedValue<Fr>; TREE_DEPTH] =
                std::array::from_fn(|l| ctx.load_witness(to_halo2(&sibs[l])));
            let u = update(ctx, &gate, table, i, o, n, &s);
            vec![u.old_root, u.new_root]
        },
    )
}

#[test]
fn update_roots_match_the_executor() {
    let idx = (77u64 << 12) | 5;
    assert!(update_case(idx, Leaf::Balance(10), Leaf::Balance(3), None));
    assert!(update_case(
        idx,
        Leaf::Empty,
        Leaf::Account(account()),
        None
    ));
    assert!(!update_case(
        idx,
        Leaf::Balance(10),
        Leaf::Balance(3),
        Some(Fr::from(9u64))
    ));
}

/// Two updates of one account's leaves with the shared top path give the
/// executor's roots around both, and every binding holds.
fn pair_case(tamper: usize) -> bool {
    use zklanes_circuits::merkle::{update_pair, PairLeaf, SLOT_LEVELS, TOP_LEVELS};
    let account = 77u64;
    let (slot_a, slot_b) = (0u64, 5u64);
    let mut tree = Tree::default();
    let fill: Vec<(u64, zklanes_executor::field::Fr)> = (0..20u64)
        .map(|i| {
            (
                (i * 7919) % 4096 + (i << 14),
                Leaf::Balance(i as u128 + 1).hash(),
            )
        })
        .collect();
    tree.apply(&fill);
    let (ia, ib) = ((account << 12) | slot_a, (account << 12) | slot_b);
    let (a_old, b_old) = (Leaf::Account(account_at(3)), Leaf::Balance(900));
    tree.apply(&[(ia, a_old.hash()), (ib, b_old.hash())]);
    let (a_new, b_new) = (Leaf::Account(account_at(4)), Leaf::Balance(850));
    let root0 = to_halo2(&tree.root());
    let sa = tree.siblings(ia);
    tree.apply(&[(ia, a_new.hash())]);
    let sb = tree.siblings(ib);
    tree.apply(&[(ib, b_new.hash())]);
    let root2 = to_halo2(&tree.root());
    assert_eq!(
        sa[SLOT_LEVELS..],
        sb[SLOT_LEVELS..],
        "the top path is shared"
    );
    prove(vec![root0, root2], |ctx, range, table| {
        let w =
            |ctx: &mut Context<Fr>, v: zklanes_executor::field::Fr| ctx.load_witness(to_halo2(&v));
        let acct = ctx.load_witness(Fr::from(account));
        let slot_a = ctx.load_witness(Fr::from(slot_a));
        let slot_b = ctx.load_witness(Fr::from(slot_b));
        let mut b_old_v = b_old.hash();
        if tamper == 1 {
            b_old_v += zklanes_executor::field::Fr::from(1u64);
        }
        let (ao, an, bo, bn) = (
            w(ctx, a_old.hash()),
            w(ctx, a_new.hash()),
            w(ctx, b_old_v),
            w(ctx, b_new.hash()),
        );
        let mut sb_low: [AssignedValue<Fr>; SLOT_LEVELS] = std::array::from_fn(|l| w(ctx, sb[l]));
        if tamper == 2 {
            sb_low[3] = w(ctx, sb[3] + zklanes_executor::field::Fr::from(1u64));
        }
        let sa_low: [AssignedValue<Fr>; SLOT_LEVELS] = std::array::from_fn(|l| w(ctx, sa[l]));
        let mut top: [AssignedValue<Fr>; TOP_LEVELS] =
            std::array::from_fn(|l| w(ctx, sa[SLOT_LEVELS + l]));
        if tamper == 3 {
            top[7] = w(
                ctx,
                sa[SLOT_LEVELS + 7] + zklanes_executor::field::Fr::from(1u64),
            );
        }
        let gate = &range.gate;
        let one = ctx.load_constant(Fr::one());
        let u = update_pair(
            ctx,
            gate,
            table,
            acct,
            PairLeaf {
                slot: slot_a,
                old: ao,
                new: an,
                low_siblings: &sa_low,
            },
            PairLeaf {
                slot: slot_b,
                old: bo,
                new: bn,
                low_siblings: &sb_low,
            },
            &top,
            one,
        );
        vec![u.old_root, u.new_root]
    })
}

fn account_at(nonce: u32) -> Account {
    let mut a = account();
    a.nonce = nonce;
    a
}

#[test]
fn pair_update_matches_two_executor_updates() {
    assert!(pair_case(0));
    assert!(
        !pair_case(1),
        "b's old leaf is bound to the state between the updates"
    );
    assert!(!pair_case(2), "b's low siblings are bound");
    assert!(!pair_case(3), "the top path is bound");
}
