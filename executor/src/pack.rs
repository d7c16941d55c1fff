//! Bit packing of small integers into field elements, most significant field first.
//!
//! The circuits pack the same fields in the same order, so a packed value is
//! a canonical commitment to its fields as long as each is range-checked.

use crate::field::Fr;

/// Accumulates `(value, bits)` fields into one field element.
#[derive(Clone, Copy, Debug)]
pub struct Packer {
    acc: Fr,
    bits: u32,
}

/// The most bits one packed element may hold (keeps it below the modulus).
pub const MAX_PACKED_BITS: u32 = 253;

impl Packer {
    /// An empty packer.
    pub fn new() -> Self {
        Self {
            acc: Fr::from(0u64),
            bits: 0,
        }
    }

    /// Appends `value` as a `bits`-wide field. Panics if `value` does not fit
    /// or the element would exceed [`MAX_PACKED_BITS`]; callers pass range-checked values.
    pub fn push(mut self, value: u128, bits: u32) -> Self {
        assert!(
            bits <= 128 && (bits == 128 || value >> bits == 0),
            "field does not fit its width"
        );
        self.bits += bits;
        assert!(self.bits <= MAX_PACKED_BITS, "packed element too wide");
        self.acc = self.acc * pow2(bits) + Fr::from(value);
        self
    }

    /// Appends a 160-bit L1 address.
    pub fn push_address(self, addr: &[u8; 20]) -> Self {
        let hi = u32::from_be_bytes(addr[..4].try_into().expect("4 bytes")) as u128;
        let lo = u128::from_be_bytes(addr[4..].try_into().expect("16 bytes"));
        self.push(hi, 32).push(lo, 128)
    }

    /// Bits used so far.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// The packed element.
    pub fn finish(self) -> Fr {
        self.acc
    }
}

impl Default for Packer {
    fn default() -> Self {
        Self::new()
    }
}

/// `2^bits` as a field element.
pub fn pow2(bits: u32) -> Fr {
    if bits < 128 {
        Fr::from(1u128 << bits)
    } else {
        Fr::from(1u128 << 127) * Fr::from(1u128 << (bits - 127))
    }
}
