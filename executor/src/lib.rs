//! zklanes executor (work in progress).
pub mod field;
pub mod params;
pub mod poseidon;
