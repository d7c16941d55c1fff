//! Round constants and MDS matrix of Poseidon, derived exactly as the
//! reference script `generate_parameters_grain.sage` (Grassi et al.) does:
//! a Grain LFSR seeded with the instance parameters, rejection sampling of
//! field elements, and a Cauchy MDS matrix `M[i][j] = 1 / (x_i + y_j)`.
//!
//! The derivation is checked against the reference test vector
//! `poseidonperm_x5_254_3` in the tests of [`super`].

use ark_ff::{BigInteger, Field, PrimeField};

use crate::field::Fr;

/// The Grain LFSR of the Poseidon reference parameter generator.
struct Grain {
    state: [bool; 80],
}

impl Grain {
    /// Seeds the LFSR for a prime field of `field_bits` bits, the `x^alpha`
    /// S-box, width `t` and the given round numbers, then discards 160 bits.
    fn new(field_bits: u16, t: u16, r_f: u16, r_p: u16) -> Self {
        let mut bits = Vec::with_capacity(80);
        let mut push = |value: u64, width: u32| {
            for i in (0..width).rev() {
                bits.push((value >> i) & 1 == 1);
            }
        };
        push(1, 2); // prime field
        push(0, 4); // S-box x^alpha
        push(field_bits as u64, 12);
        push(t as u64, 12);
        push(r_f as u64, 10);
        push(r_p as u64, 10);
        push((1 << 30) - 1, 30);
        let mut state = [false; 80];
        state.copy_from_slice(&bits);
        let mut grain = Self { state };
        for _ in 0..160 {
            grain.step();
        }
        grain
    }

    fn step(&mut self) -> bool {
        let s = &self.state;
        let new = s[62] ^ s[51] ^ s[38] ^ s[23] ^ s[13] ^ s[0];
        self.state.copy_within(1.., 0);
        self.state[79] = new;
        new
    }

    /// One output bit: bits come in pairs, the second is kept when the first is 1.
    fn next_bit(&mut self) -> bool {
        loop {
            let keep = self.step();
            let bit = self.step();
            if keep {
                return bit;
            }
        }
    }

    /// `n` output bits read most significant first, as an integer in a field element
    /// when it is below the modulus (rejection sampling), else `None`.
    fn sample(&mut self, n: u32) -> Option<Fr> {
        let mut bits = Vec::with_capacity(n as usize);
        for _ in 0..n {
            bits.push(self.next_bit());
        }
        bits.reverse();
        let big = <Fr as PrimeField>::BigInt::from_bits_le(&bits);
        Fr::from_bigint(big)
    }

    /// `n` output bits as an integer reduced modulo p.
    fn reduced(&mut self, n: u32) -> Fr {
        let mut bytes = vec![0u8; n.div_ceil(8) as usize];
        let pad = bytes.len() as u32 * 8 - n;
        for i in 0..n {
            if self.next_bit() {
                let pos = (i + pad) as usize;
                bytes[pos / 8] |= 0x80 >> (pos % 8);
            }
        }
        Fr::from_be_bytes_mod_order(&bytes)
    }

    fn field_element(&mut self, n: u32) -> Fr {
        loop {
            if let Some(f) = self.sample(n) {
                return f;
            }
        }
    }
}

/// Round constants (`(r_f + r_p) * t` of them, round-major) and the MDS matrix.
pub(crate) fn generate<const T: usize>(r_f: usize, r_p: usize) -> (Vec<[Fr; T]>, [[Fr; T]; T]) {
    let n = Fr::MODULUS_BIT_SIZE;
    let mut grain = Grain::new(n as u16, T as u16, r_f as u16, r_p as u16);
    let rounds = r_f + r_p;
    let mut constants = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let mut row = [Fr::from(0u64); T];
        for c in row.iter_mut() {
            *c = grain.field_element(n);
        }
        constants.push(row);
    }
    // The reference draws 2t field elements (reduced modulo p, redrawn as a
    // whole on duplicates) for the Cauchy matrix. It then checks the matrix
    // against invariant-subspace attacks; the first draw passes for this
    // instance, which the reference test vector confirms.
    let xy = loop {
        let draw: Vec<Fr> = (0..2 * T).map(|_| grain.reduced(n)).collect();
        let distinct = draw.iter().enumerate().all(|(i, a)| !draw[..i].contains(a));
        if distinct {
            break draw;
        }
    };
    let mut mds = [[Fr::from(0u64); T]; T];
    for (i, row) in mds.iter_mut().enumerate() {
        for (j, m) in row.iter_mut().enumerate() {
            *m = (xy[i] + xy[T + j])
                .inverse()
                .expect("distinct x, y give nonzero sums");
        }
    }
    (constants, mds)
}
