//! Prints the native single-thread Poseidon compression rate.
use std::time::Instant;
use zklanes_executor::{field::Fr, poseidon};
fn main() {
    let n = 200_000;
    let mut acc = Fr::from(1u64);
    let t = Instant::now();
    for i in 0..n {
        acc = poseidon::compress(poseidon::Tag::Node, acc, Fr::from(i as u64));
    }
    let s = t.elapsed().as_secs_f64();
    println!("{:.0} hashes/s ({acc})", n as f64 / s);
}
