//! Poseidon inside a halo2-base circuit: compressions requested while the
//! builder generates its witness are proven by the custom-gate
//! [`PoseidonConfig`] chip, and tied back to the builder's cells by copy
//! constraints.
//!
//! # How it fits together
//!
//! 1. While building, [`HashTable::compress`] witnesses the output with
//!    `ctx.load_witness` and records the request (three input cells, one
//!    output cell). Nothing constrains the output yet.
//! 2. In `synthesize`, [`ChipTables::assign`] lays one permutation block per
//!    request (then one scalar-multiplication block per request, in the same
//!    columns) into one region, loads the block's input and output cells
//!    into the builder's copy manager as external cells, and adds an
//!    equality between each request cell and its block cell.
//! 3. The builder then synthesizes; its copy manager imposes all equalities,
//!    ours included.
//!
//! # Assumptions
//!
//! `assign` must run before the builder's own `synthesize` in the same call,
//! and the circuit's `k` must leave room for `BLOCK_ROWS` rows per request.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::{BaseCircuitParams, BaseConfig};
use halo2_base::halo2_proofs::circuit::{Layouter, Region, SimpleFloorPlanner};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::plonk::{Circuit, ConstraintSystem, Error};
use halo2_base::virtual_region::copy_constraints::SharedCopyConstraintManager;
use halo2_base::{AssignedValue, Context};
use zklanes_executor::poseidon::compress_fr;

use crate::field::{to_halo2, to_native};
use crate::poseidon::{PermutationCells, PoseidonConfig, BLOCK_ROWS};
use crate::scalar_mul::{ScalarMulConfig, ScalarMulTable};

/// One requested compression.
#[derive(Clone, Debug)]
struct Request {
    inputs: [AssignedValue<Fr>; 3],
    output: AssignedValue<Fr>,
}

/// The compressions a circuit requested, to be proven by the Poseidon chip.
#[derive(Clone, Debug, Default)]
pub struct HashTable {
    requests: Vec<Request>,
}

impl HashTable {
    /// `compress(inputs[0], inputs[1], inputs[2])` (the first input is the
    /// domain tag): witnesses the output and records the request.
    pub fn compress(
        &mut self,
        ctx: &mut Context<Fr>,
        inputs: [AssignedValue<Fr>; 3],
    ) -> AssignedValue<Fr> {
        let [t, a, b] = inputs.map(|x| to_native(x.value()));
        let out = to_halo2(&compress_fr(t, a, b));
        self.compress_claiming(ctx, inputs, out)
    }

    /// Like [`compress`](Self::compress) but witnesses `claimed` as the
    /// output. Only for negative tests: a wrong claim must fail the circuit.
    #[doc(hidden)]
    pub fn compress_claiming(
        &mut self,
        ctx: &mut Context<Fr>,
        inputs: [AssignedValue<Fr>; 3],
        claimed: Fr,
    ) -> AssignedValue<Fr> {
        let output = ctx.load_witness(claimed);
        self.requests.push(Request { inputs, output });
        output
    }

    /// Number of requested compressions.
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// Whether nothing was requested.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// Rows the table needs.
    pub fn rows(&self) -> usize {
        self.requests.len() * BLOCK_ROWS
    }

    /// Assigns the permutations from `offset` of `region` (taking
    /// [`rows`](Self::rows) rows); [`bind`](Self::bind) then ties them to
    /// the requests.
    pub fn assign_blocks(
        &self,
        config: &PoseidonConfig,
        region: &mut Region<'_, Fr>,
        offset: usize,
    ) -> Result<Vec<PermutationCells>, Error> {
        self.requests
            .iter()
            .enumerate()
            .map(|(i, r)| {
                config.assign(
                    region,
                    offset + i * BLOCK_ROWS,
                    r.inputs.map(|x| *x.value()),
                )
            })
            .collect()
    }

    /// Records the copy constraints binding assigned permutations (from
    /// [`assign_blocks`](Self::assign_blocks)) to the requests: inputs and
    /// output.
    pub fn bind(
        &self,
        blocks: Vec<PermutationCells>,
        copy_manager: &SharedCopyConstraintManager<Fr>,
    ) {
        let mut cm = copy_manager.lock().expect("copy manager lock");
        for (r, block) in self.requests.iter().zip(blocks) {
            let pairs = r
                .inputs
                .iter()
                .zip(block.input)
                .chain(std::iter::once((&r.output, block.output[0])));
            for (virtual_cell, raw) in pairs {
                let external = cm.load_external_cell(raw);
                let cell = virtual_cell.cell.expect("builder cells are tagged");
                cm.advice_equalities.push((cell, external));
            }
        }
    }
}

/// Every chip table of a circuit: the requests recorded while building,
/// whose outputs are bound only once the table is laid out.
///
/// [`ChipTables::assign`] destructures the struct whole, and
/// [`HashedCircuit`]'s `synthesize` destructures its configuration whole,
/// so a table or chip added here and not laid out does not compile (a
/// scalar-multiplication table configured but never assigned once left
/// every product a free witness).
#[derive(Clone, Debug, Default)]
pub struct ChipTables {
    /// Requested Poseidon compressions.
    pub poseidon: HashTable,
    /// Requested scalar multiplications.
    pub scalar_muls: ScalarMulTable,
}

impl ChipTables {
    /// Rows the tables need (the circuit's `k` must cover them): both share
    /// the Poseidon chip's columns, the multiplications after the
    /// permutations.
    pub fn rows(&self) -> usize {
        let Self {
            poseidon,
            scalar_muls,
        } = self;
        poseidon.rows() + scalar_muls.rows()
    }

    /// Lays out every table in one region of the Poseidon chip's columns
    /// (the permutations, then the multiplications) and binds it to its
    /// requests (see the module docs); runs before the builder's own
    /// `synthesize`. With `witness_gen_only` (proving with a key that
    /// already holds the constraints) only the witness is assigned.
    pub fn assign(
        &self,
        poseidon_config: &PoseidonConfig,
        scalar_mul_config: &ScalarMulConfig,
        layouter: &mut impl Layouter<Fr>,
        copy_manager: &SharedCopyConstraintManager<Fr>,
        witness_gen_only: bool,
    ) -> Result<(), Error> {
        let Self {
            poseidon,
            scalar_muls,
        } = self;
        let (perms, muls) = layouter.assign_region(
            || "chip tables",
            |mut region| {
                let perms = poseidon.assign_blocks(poseidon_config, &mut region, 0)?;
                let muls =
                    scalar_muls.assign_blocks(scalar_mul_config, &mut region, poseidon.rows())?;
                Ok((perms, muls))
            },
        )?;
        if !witness_gen_only {
            poseidon.bind(perms, copy_manager);
            scalar_muls.bind(muls, copy_manager);
        }
        Ok(())
    }
}

/// A halo2-base circuit plus its chip tables (Poseidon compressions and
/// scalar multiplications).
pub struct HashedCircuit {
    /// The builder holding the circuit's generic-gate witness.
    pub builder: BaseCircuitBuilder<Fr>,
    /// Its chip tables, laid out in `synthesize`.
    pub tables: ChipTables,
}

impl HashedCircuit {
    /// A circuit from a builder and its tables.
    pub fn new(
        builder: BaseCircuitBuilder<Fr>,
        table: HashTable,
        scalar_muls: ScalarMulTable,
    ) -> Self {
        Self {
            builder,
            tables: ChipTables {
                poseidon: table,
                scalar_muls,
            },
        }
    }

    /// Rows the chip tables need (the circuit's `k` must cover them).
    pub fn table_rows(&self) -> usize {
        self.tables.rows()
    }
}

/// Configuration of a [`HashedCircuit`].
#[derive(Clone, Debug)]
pub struct HashedConfig {
    /// halo2-base's gate (and range) configuration.
    pub base: BaseConfig<Fr>,
    /// The Poseidon chip.
    pub poseidon: PoseidonConfig,
    /// The scalar multiplication chip.
    pub scalar_mul: ScalarMulConfig,
}

impl Circuit<Fr> for HashedCircuit {
    type Config = HashedConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = BaseCircuitParams;

    fn params(&self) -> Self::Params {
        self.builder.params()
    }

    fn without_witnesses(&self) -> Self {
        unimplemented!("build the circuit for keygen with the builder's Keygen stage instead")
    }

    fn configure_with_params(
        meta: &mut ConstraintSystem<Fr>,
        params: Self::Params,
    ) -> Self::Config {
        let base = BaseConfig::configure(meta, params);
        let poseidon = PoseidonConfig::configure(meta);
        let scalar_mul = ScalarMulConfig::configure(meta, poseidon.cols, poseidon.constants[0]);
        HashedConfig {
            base,
            poseidon,
            scalar_mul,
        }
    }

    fn configure(_: &mut ConstraintSystem<Fr>) -> Self::Config {
        unreachable!("configured with params")
    }

    fn synthesize(
        &self,
        config: Self::Config,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        // Destructured whole: a configured chip must be laid out here.
        let HashedConfig {
            base,
            poseidon,
            scalar_mul,
        } = config;
        let witness_gen_only = self.builder.witness_gen_only();
        self.tables.assign(
            &poseidon,
            &scalar_mul,
            &mut layouter,
            &self.builder.core().copy_manager,
            witness_gen_only,
        )?;
        self.builder.synthesize(base, layouter)
    }
}
