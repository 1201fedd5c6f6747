//! Accuracy of the table functions of `arith.rs` against `f64`, over their whole input range (the figures
//! their docs state come from here). Questions answered:
//! * exp2_neg: is |exp2_neg(x) − 2¹⁶·2^(−x/2¹⁶)| within the bound derived from its construction, for every
//!   one of the 17·2¹⁶ inputs below 17 (and 0 beyond), and is the measured maximum the documented one?
//! * log2_q16: is log2_q16(x) − 2¹⁶·log2(x) within its derived bound for every x < 2²⁰ and for random x
//!   up to 2⁶⁴?
//!
//! Run with `--nocapture` to print the measured figures.

use plasticore_core::arith::{exp2_neg, log2_q16};
use plasticore_core::rng::XorShift32;

/// Derivation, in output LSB (Q.16) of the mantissa v before the final shift by the integer part i:
/// * the 64 table entries are 2¹⁶·2^(−k/64) rounded to nearest: each within ±0.5, so any convex
///   combination of two of them is within ±0.5 of the same combination of the exact values;
/// * the chord of the convex g(u) = 2¹⁶·2^(−u) over a step h = 1/64 lies above g by at most
///   h²/8·max g'' = (1/64)²/8·(ln 2)²·2¹⁶ = 0.9609 LSB, and never below it;
/// * v = a − floor((a − b)·frac / 2¹⁰): the floor of the subtracted term raises v by [0, 1).
///
/// So v − 2¹⁶·2^(−f) ∈ [−0.5, 2.461]. The result floor(v / 2^i) then lies in
/// [(−0.5)/2^i − 1, 2.461/2^i] around the true 2¹⁶·2^(−x/2¹⁶): at most 2.461 LSB above (at i = 0) and
/// less than 1.5 LSB below; relative error at most 2.461/2¹⁵ = 2^-13.7 for x < 1, and growing as the output
/// shrinks (the final floor's 1 LSB dominates: 2⁻⁸ at x ≈ 7, 100 % at x ≥ 16 where outputs are 0 or 1).
const EXP2_MANT_LO: f64 = -0.5;
const EXP2_MANT_HI: f64 = 0.5 + 0.961 + 1.0;
/// The measured maximum the docs state (`arith.rs`, `hw-notes/formats.md`): the largest error is 2.1407
/// LSB at x = 2580 (x = 0.0394).
const EXP2_DOC_MAX_ABS: f64 = 2.15;

#[test]
fn exp2_neg_is_within_its_derived_bound_over_its_whole_range() {
    // The chord bound, computed rather than typed.
    let chord = (1.0f64 / 64.0).powi(2) / 8.0 * std::f64::consts::LN_2.powi(2) * 65536.0;
    assert!(chord <= 0.961, "chord bound {chord}");
    let (mut max_err, mut min_err, mut arg_max) = (f64::MIN, f64::MAX, 0u32);
    let mut max_rel_small_x = 0.0f64; // x < 2 (outputs ≥ 1/4)
    let mut max_rel_by_int = [0.0f64; 17];
    for x in 0..(17u32 << 16) {
        let y = exp2_neg(x) as f64;
        let t = 65536.0 * (-(x as f64) / 65536.0).exp2();
        let i = (x >> 16) as i32;
        let e = y - t;
        let scale = (-i as f64).exp2();
        assert!(
            e >= EXP2_MANT_LO * scale - 1.0 && e <= EXP2_MANT_HI * scale,
            "x = {x}: exp2_neg = {y}, f64 {t:.4}, error {e:.4} LSB outside [{:.4}, {:.4}]",
            EXP2_MANT_LO * scale - 1.0,
            EXP2_MANT_HI * scale
        );
        if e > max_err {
            (max_err, arg_max) = (e, x);
        }
        min_err = min_err.min(e);
        let rel = e.abs() / t;
        max_rel_by_int[i as usize] = max_rel_by_int[i as usize].max(rel);
        if i <= 1 {
            max_rel_small_x = max_rel_small_x.max(rel);
        }
    }
    // From 17 on the result is 0 and the true value is at most half an LSB.
    let mut r = XorShift32::new(1);
    for k in 0..100_000u32 {
        let x = if k < 3 { [17 << 16, (17 << 16) + 1, u32::MAX][k as usize] } else { (17 << 16) + r.next_u32() % (u32::MAX - (17 << 16)) };
        assert_eq!(exp2_neg(x), 0, "x = {x}");
        assert!(65536.0 * (-(x as f64) / 65536.0).exp2() <= 0.5);
    }
    println!("exp2_neg: error in [{min_err:.4}, {max_err:.4}] LSB (max at x = {arg_max}); relative for x < 2: {max_rel_small_x:.3e} = 2^{:.2}", max_rel_small_x.log2());
    for (i, r) in max_rel_by_int.iter().enumerate() {
        println!("  x in [{i}, {}): max relative error 2^{:.2}", i + 1, r.log2());
    }
    // The documented figures: the maximum absolute error and the relative error at outputs ≥ 0.5.
    assert!(max_err <= EXP2_DOC_MAX_ABS && -min_err <= EXP2_DOC_MAX_ABS, "measured [{min_err}, {max_err}]");
    assert!(max_rel_small_x <= (-14.0f64).exp2(), "relative error for x < 2: {max_rel_small_x:e}");
}

/// Derivation for log2_q16, in Q.16 LSB: the 65 entries 2¹⁶·log2(1 + k/64) are rounded to nearest
/// (±0.5); the chord of the concave log2(1 + u) over h = 1/64 lies below it by at most
/// h²/8·max|f''|·2¹⁶ = (1/64)²/8·(1/ln 2)·2¹⁶ = 2.885 LSB; the interpolation floors (−1 LSB); the
/// mantissa is truncated to 22 fraction bits (at most 2⁻²²/ln 2·2¹⁶ = 0.023 LSB low). So the error lies
/// in [−4.41, +0.5] LSB, i.e. below 2⁻¹³ in log2 units as the doc says.
#[test]
fn log2_q16_is_within_its_derived_bound() {
    let (lo, hi) = (-0.5 - 2.8854 - 1.0 - 0.0226, 0.5);
    let (mut mn, mut mx) = (f64::MAX, f64::MIN);
    let mut r = XorShift32::new(2);
    let randoms = (0..400_000).map(|_| {
        let v = (r.next_u32() as u64) << 32 | r.next_u32() as u64;
        (v >> (r.next_u32() % 64)).max(1)
    });
    for x in (1u64..1 << 20).chain(randoms).chain([u64::MAX, 1 << 63, (1 << 22) + 1]) {
        let e = log2_q16(x) as f64 - (x as f64).log2() * 65536.0;
        assert!(e >= lo && e <= hi, "x = {x}: error {e:.4} LSB outside [{lo}, {hi}]");
        (mn, mx) = (mn.min(e), mx.max(e));
    }
    println!("log2_q16: error in [{mn:.4}, {mx:.4}] LSB of Q.16");
    assert!(mn.abs().max(mx) < 8.0, "below 2^-13 = 8 LSB");
}
