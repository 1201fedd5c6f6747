//! Named fixed-point operations. Every function states its rounding rule and its overflow policy; the
//! datapath uses only these (and plain integer adds whose range is proven by validation), so each number
//! in the core has exactly one documented way of being rounded and of overflowing.
//!
//! Rounding names used throughout the crate:
//! * **nearest**: round to nearest, ties toward +∞ (add half an LSB, then floor).
//! * **floor**: toward −∞ (arithmetic shift right).
//! * **trunc-mag**: toward zero on the magnitude (Loihi's `sign(x)·(|x|·k ≫ 12)`).
//! * **stochastic**: floor(x + r) with r uniform in [0, 1) LSB, from [`crate::rng`].

/// `x · 2^-s`, rounded **nearest** (floor((x + 2^(s−1)) / 2^s), exactly, for every x: it is computed as
/// y = floor(x / 2^(s−1)), then floor(y / 2) + (y mod 2), so no intermediate can overflow and the
/// result never saturates). `s` must be < 64 (callers pass format constants validated at configuration
/// time).
#[inline(always)]
pub const fn shr_nearest(x: i64, s: u32) -> i64 {
    if s == 0 {
        x
    } else {
        let y = x >> (s - 1);
        (y >> 1) + (y & 1)
    }
}

/// [`shr_nearest`] for `0 ≤ s ≤ 31` when the caller has proven that the result fits an i32 and that
/// `x + 2^(s−1)` does not overflow (|x| < 2⁶² suffices): floor((x + 2^(s−1)) / 2^s), **nearest**, the
/// same integer. On a 32-bit core this is one 64-bit add and a funnel shift of the two words (the low
/// word of the shifted value is the whole result), instead of a variable 64-bit shift and a 64-bit
/// rounding step. Outside its preconditions it returns the low 32 bits of that value (never panics).
#[inline(always)]
pub const fn shr_nearest_i32(x: i64, s: u32) -> i32 {
    let s = s & 31;
    let q = x.wrapping_add((1i64 << s) >> 1);
    let lo = (q as u32) >> s;
    // (hi << 1) << (31 − s) is hi << (32 − s) without a shift by 32 when s = 0.
    let hi = (((q >> 32) as u32) << 1) << (31 - s);
    (lo | hi) as i32
}

/// [`shr_nearest`] for `0 ≤ s ≤ 31` and |x| < 2⁶² when the result lies in (−2³¹, 2³¹): `Some` of that
/// integer (floor((x + 2^(s−1)) / 2^s), **nearest**, the same as `shr_nearest(x, s)`), `None` when it does
/// not (no saturation: the caller takes its general path). On a 32-bit core: one 64-bit add, a funnel
/// shift, and one compare of the shifted high word with the result's sign (the shifted value fits an i32
/// exactly when its high word is the sign extension of its low word). −2³¹ is refused so that every
/// `Some` has |result| < 2³¹ (the "narrow" factor of the weight loops).
#[inline(always)]
pub const fn shr_nearest_narrow(x: i64, s: u32) -> Option<i32> {
    let s = s & 31;
    let q = x.wrapping_add((1i64 << s) >> 1);
    let hi = (q >> 32) as i32;
    // (hi << 1) << (31 − s) is hi << (32 − s) without a shift by 32 when s = 0.
    let g = (((q as u32) >> s) | (((hi as u32) << 1) << (31 - s))) as i32;
    if hi >> s == g >> 31 && g != i32::MIN {
        Some(g)
    } else {
        None
    }
}

/// `x · 2^s` for a signed shift: left shifts **saturate** at the i64 range, right shifts round **nearest**.
#[inline(always)]
pub const fn shift_nearest(x: i64, s: i32) -> i64 {
    if s >= 0 {
        sat_shl_i64(x, s as u32)
    } else {
        shr_nearest(x, (-s) as u32)
    }
}

/// `x · 2^s`, **saturating** at the i64 range. `s` < 63.
#[inline(always)]
pub const fn sat_shl_i64(x: i64, s: u32) -> i64 {
    if s == 0 {
        return x;
    }
    let lim = i64::MAX >> s;
    if x > lim {
        i64::MAX
    } else if x < -lim {
        -i64::MAX
    } else {
        x << s
    }
}

/// Clamp to `[lo, hi]` (**saturate**); the flag says whether clamping happened.
#[inline(always)]
pub const fn clamp_i64(x: i64, lo: i64, hi: i64) -> (i64, bool) {
    if x < lo {
        (lo, true)
    } else if x > hi {
        (hi, true)
    } else {
        (x, false)
    }
}

/// i64 → i32, **saturating**; the flag says whether it saturated.
#[inline(always)]
pub const fn sat_i32(x: i64) -> (i32, bool) {
    // In range iff the high word is the sign extension of the low one (one compare on a 32-bit core).
    let t = x as i32;
    if t as i64 == x {
        (t, false)
    } else if x < 0 {
        (i32::MIN, true)
    } else {
        (i32::MAX, true)
    }
}

/// Loihi's decay: `sign(x) · ((|x| · k) ≫ 12)`, i.e. multiply by `k/4096` with **trunc-mag** rounding.
/// The product is formed in 64 bits so it cannot overflow for 24-bit `x` and 13-bit `k`.
#[inline(always)]
pub const fn tdiv12(x: i32, k: u32) -> i32 {
    let m = ((x as i64).abs() * k as i64) >> 12;
    if x < 0 {
        -(m as i32)
    } else {
        m as i32
    }
}

/// **Wrap** to a 24-bit two's-complement value in [−2²³, 2²³ − 1] (Loihi's current register `u`).
#[inline(always)]
pub const fn wrap24(x: i64) -> i32 {
    (((x + (1 << 23)) & 0x00FF_FFFF) - (1 << 23)) as i32
}

/// `exp2_frac[i] = round(2^-(i/64) · 2^16)` for i in 0..64: the table behind [`exp2_neg`].
const EXP2_NEG_Q16: [u32; 64] = [
    65536, 64830, 64132, 63441, 62757, 62081, 61413, 60751, 60097, 59449, 58809, 58176, 57549, 56929, 56316,
    55709, 55109, 54515, 53928, 53347, 52773, 52204, 51642, 51085, 50535, 49991, 49452, 48920, 48393, 47871,
    47356, 46846, 46341, 45842, 45348, 44859, 44376, 43898, 43425, 42958, 42495, 42037, 41584, 41136, 40693,
    40255, 39821, 39392, 38968, 38548, 38133, 37722, 37316, 36914, 36516, 36123, 35734, 35349, 34968, 34591,
    34219, 33850, 33486, 33125,
];

/// `2^-x` for `x ≥ 0` given in Q.16, result in Q.16 (so 1.0 = 65536). The integer part of `x` is a shift
/// (**floor**), the top 6 fractional bits index a 64-entry table, and the next 10 bits interpolate linearly
/// (**floor**). Returns 0 for x ≥ 17 (the true value is then ≤ ½ LSB).
///
/// Error against `f64`, measured over all 17·2¹⁶ inputs below 17 by `tests/exp2_accuracy.rs`: within
/// [−1.0, +2.14] LSB absolute (maximum at x = 2580, i.e. 0.039), inside the derived bound
/// [−0.5·2⁻ⁱ − 1, +2.461·2⁻ⁱ] LSB for integer part i (table rounding ½ + chord of the convex curve 0.96 +
/// interpolation floor 1, then the final shift's floor). Relative error: ≤ 2⁻¹⁴ for x < 2 (outputs ≥ ¼);
/// below that the final floor's 1 LSB dominates and it roughly doubles per unit of x (2⁻⁸ at x ∈ [7, 8),
/// 100 % at x ≥ 16, where the output is 0 or 1).
#[inline]
pub const fn exp2_neg(x: u32) -> u32 {
    let int = x >> 16;
    if int >= 17 {
        return 0;
    }
    let idx = ((x >> 10) & 63) as usize;
    let frac = x & 1023;
    let a = EXP2_NEG_Q16[idx];
    let b = if idx == 63 { 32768 } else { EXP2_NEG_Q16[idx + 1] };
    let v = a - (((a - b) * frac) >> 10);
    v >> int
}

/// `log2(1 + i/64) · 2^16` for i in 0..=64: the table behind [`log2_q16`].
const LOG2_Q16: [u32; 65] = [
    0, 1466, 2909, 4331, 5732, 7112, 8473, 9814, 11136, 12440, 13727, 14996, 16248, 17484, 18704, 19909, 21098,
    22272, 23433, 24579, 25711, 26830, 27936, 29029, 30109, 31178, 32234, 33279, 34312, 35334, 36346, 37346,
    38336, 39316, 40286, 41246, 42196, 43137, 44068, 44990, 45904, 46809, 47705, 48593, 49472, 50344, 51207,
    52063, 52911, 53751, 54584, 55410, 56229, 57040, 57845, 58643, 59434, 60219, 60997, 61769, 62534, 63294,
    64047, 64794, 65536,
];

/// `log2(x)` for `x > 0` (an unsigned integer, interpreted by the caller with its own fraction), in Q.16.
/// The integer part is the position of the top bit; the mantissa's top 6 bits index a table and the next
/// bits interpolate linearly (**floor**); error within [−4.41, +0.5] LSB of Q.16 (derived; measured
/// [−3.99, +0.48] by `tests/exp2_accuracy.rs`), i.e. below 2⁻¹³ in log2 units. Returns 0 for `x = 0`
/// (callers never pass 0).
#[inline]
pub const fn log2_q16(x: u64) -> i64 {
    if x == 0 {
        return 0;
    }
    let msb = 63 - x.leading_zeros() as i64;
    // Normalise the mantissa to 1.m with 22 fraction bits.
    let m = if msb >= 22 { x >> (msb - 22) } else { x << (22 - msb) };
    let f = (m & ((1 << 22) - 1)) as u32;
    let idx = (f >> 16) as usize;
    let rem = f & 0xFFFF;
    let a = LOG2_Q16[idx];
    let b = LOG2_Q16[idx + 1];
    let v = a + (((b - a) * rem) >> 16);
    (msb << 16) + v as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rounding_ties_up() {
        assert_eq!(shr_nearest(3, 1), 2); // 1.5 -> 2
        assert_eq!(shr_nearest(-3, 1), -1); // -1.5 -> -1 (ties toward +inf)
        assert_eq!(shr_nearest(5, 2), 1); // 1.25 -> 1
        // Exact at the ends of the range: (2⁶³ − 1) / 16 rounds up to 2⁵⁹, no overflow.
        assert_eq!(shr_nearest(i64::MAX, 4), 1 << 59);
        assert_eq!(shr_nearest(i64::MIN, 4), i64::MIN >> 4);
        assert_eq!(shr_nearest(i64::MAX, 1), 1 << 62);
    }

    #[test]
    fn nearest_and_saturation_match_wide_reference() {
        // shr_nearest = floor((x + 2^(s−1)) / 2^s) computed in i128; sat_i32 = clamp to the i32 range.
        let mut r = crate::rng::XorShift32::new(0xA5A5_1234);
        let edge = [0i64, 1, -1, i64::MAX, i64::MIN, i64::MAX - 1, i64::MIN + 1, 1 << 31, -(1 << 31) - 1, 0];
        for k in 0..20_000 {
            let x = if k < edge.len() {
                edge[k]
            } else {
                let v = ((r.next_u32() as u64) << 32 | r.next_u32() as u64) as i64;
                v >> (r.next_u32() % 64)
            };
            for s in 0..64u32 {
                let want = if s == 0 { x as i128 } else { (x as i128 + (1i128 << (s - 1))) >> s };
                assert_eq!(shr_nearest(x, s) as i128, want, "x={x} s={s}");
            }
            for s in 1..32u32 {
                // Inputs whose nearest shift fits an i32 (the precondition of shr_nearest_i32).
                let y = x >> (32 - s);
                if y.unsigned_abs() < 1 << 62 && (shr_nearest(y, s) as i32 as i64) == shr_nearest(y, s) {
                    assert_eq!(shr_nearest_i32(y, s) as i64, shr_nearest(y, s), "y={y} s={s}");
                }
            }
            let want = x.clamp(i32::MIN as i64, i32::MAX as i64);
            assert_eq!(sat_i32(x), (want as i32, want != x), "x={x}");
        }
    }

    #[test]
    fn nearest_to_i32_at_the_ends_of_its_range() {
        for s in 1..32u32 {
            let h = 1i64 << (s - 1);
            // Largest and smallest x whose nearest shift is i32::MAX / i32::MIN, and their neighbours
            // inside the range.
            for x in [(i32::MAX as i64) << s, ((i32::MAX as i64) << s) + h - 1, (i32::MIN as i64) << s, ((i32::MIN as i64) << s) - h, 0, h, -h, h - 1, -h - 1] {
                assert_eq!(shr_nearest_i32(x, s) as i64, shr_nearest(x, s), "x={x} s={s}");
            }
        }
    }

    #[test]
    fn narrow_nearest_is_some_exactly_when_the_result_is_inside_the_open_i32_range() {
        // Against the wide formula: Some(the same integer) iff −2³¹ < result < 2³¹, for random x with
        // |x| < 2⁶² at every magnitude and the edges of the result range (±(2³¹ − 1), ±2³¹ and their
        // rounding neighbours), every s in 0..=31.
        let mut r = crate::rng::XorShift32::new(0x5EED_0042);
        for s in 0..32u32 {
            let h = if s == 0 { 0 } else { 1i64 << (s - 1) };
            let mut xs = [0i64; 16];
            for (k, e) in [i32::MAX as i64, -(i32::MAX as i64), 1 << 31, -(1i64 << 31)].iter().enumerate() {
                xs[4 * k] = e << s;
                xs[4 * k + 1] = (e << s) - h;
                xs[4 * k + 2] = (e << s) + h - (s > 0) as i64;
                xs[4 * k + 3] = (e << s) - h - 1;
            }
            let random = (0..4000).map(|_| {
                let v = ((r.next_u32() as u64) << 32 | r.next_u32() as u64) as i64;
                v >> (2 + r.next_u32() % 62)
            });
            for x in xs.into_iter().chain(random) {
                let want = shr_nearest(x, s);
                let inside = want > i32::MIN as i64 && want <= i32::MAX as i64;
                assert_eq!(shr_nearest_narrow(x, s), if inside { Some(want as i32) } else { None }, "x={x} s={s}");
            }
        }
    }

    #[test]
    fn loihi_primitives() {
        assert_eq!(tdiv12(-4097, 2048), -2048); // -2048.5 truncates toward zero
        assert_eq!(tdiv12(4097, 2048), 2048);
        assert_eq!(wrap24(1 << 23), -(1 << 23));
        assert_eq!(wrap24(-(1 << 23) - 1), (1 << 23) - 1);
        assert_eq!(wrap24(12345), 12345);
    }

    #[test]
    fn exp_and_log_tables_exact_points() {
        assert_eq!(exp2_neg(0), 65536);
        assert_eq!(exp2_neg(1 << 16), 32768);
        assert_eq!(exp2_neg(3 << 16), 8192);
        assert_eq!(log2_q16(1), 0);
        assert_eq!(log2_q16(8), 3 << 16);
        assert_eq!(log2_q16(1 << 40), 40 << 16);
    }
}
