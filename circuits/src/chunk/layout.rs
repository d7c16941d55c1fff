//! The chunk circuit's layout: the lookup bits of every zklanes circuit,
//! the rows halo2 reserves, and the smallest `k` that holds a shape. The
//! prover sizes its keys from here.

use super::{assign_chunk, empty_trace, ChunkChips, ChunkShape};
use crate::cost::{measure_at, Cost};

/// Lookup bits used by zklanes circuits.
pub const LOOKUP_BITS: usize = 8;

/// Rows halo2 reserves at the end of every column (blinding factors).
pub const MIN_UNUSABLE_ROWS: usize = 9;

/// The cost of the chunk circuit of `shape` (all slots cost the same, so an
/// empty trace measures it), and the smallest `k` whose rows hold its chip
/// tables with room for halo2's blinding rows.
pub fn chunk_layout(shape: &ChunkShape) -> (Cost, usize) {
    let empty = empty_trace(shape, Default::default());
    let (cost, _) = measure_at(22, |ctx, t| {
        let mut chips = ChunkChips {
            range: t.range,
            ecc: t.ecc,
            table: t.table,
            muls: t.muls,
        };
        assign_chunk(ctx, &mut chips, &empty, shape).expect("an empty trace builds");
    });
    let k = (cost.table_rows() + 64)
        .next_power_of_two()
        .trailing_zeros()
        .max(10) as usize;
    (cost, k)
}
