//! Quantizing one weight vector: `m = clamp(round(w·2^f), ±(2^(b−1) − 1))`, value `m·2^−f`.
//!
//! Rounding: nearest, ties away from zero (`f64::round`). Overflow: saturate to the symmetric range
//! ±(2^(b−1) − 1) (the core's `Weight` range), counted in [`QuantStats::clipped`]. `f` may be negative
//! (a weight LSB above 1, as Loihi's `weight_exp > 0`).

/// What quantizing one vector did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QuantStats {
    /// Weights.
    pub n: usize,
    /// Non-zero float weights that became 0.
    pub zeroed: usize,
    /// Weights saturated at ±(2^(b−1) − 1).
    pub clipped: usize,
    /// Root-mean-square error of the values, threshold units.
    pub rms_err: f64,
    /// Largest |w| of the float weights.
    pub max_abs: f64,
}

/// Largest mantissa of `bits` bits: 2^(bits−1) − 1 (`bits` is clamped to 2..=16, the range the search
/// accepts, so no input can overflow the shift).
pub fn max_mantissa(bits: u8) -> i32 {
    (1i32 << (bits.clamp(2, 16) - 1)) - 1
}

/// Mantissas of `w` at `bits` bits and binary point `frac` (`bits` in 2..=16, checked by the caller).
pub fn mantissas(w: &[f64], bits: u8, frac: i8) -> (Vec<i32>, QuantStats) {
    let m_max = max_mantissa(bits) as f64;
    let scale = 2f64.powi(frac as i32);
    let mut st = QuantStats { n: w.len(), ..Default::default() };
    let mut se = 0.0;
    let m: Vec<i32> = w
        .iter()
        .map(|&v| {
            st.max_abs = st.max_abs.max(v.abs());
            let r = (v * scale).round();
            let c = r.clamp(-m_max, m_max);
            if c != r {
                st.clipped += 1;
            }
            if c == 0.0 && v != 0.0 {
                st.zeroed += 1;
            }
            let e = c / scale - v;
            se += e * e;
            c as i32
        })
        .collect();
    st.rms_err = if w.is_empty() { 0.0 } else { (se / w.len() as f64).sqrt() };
    (m, st)
}

/// The values `m·2^−frac` of [`mantissas`] (what a fixed-point run computes with).
pub fn quantize(w: &[f64], bits: u8, frac: i8) -> (Vec<f64>, QuantStats) {
    let (m, st) = mantissas(w, bits, frac);
    let inv = 2f64.powi(-(frac as i32));
    (m.into_iter().map(|m| m as f64 * inv).collect(), st)
}

/// The largest binary point at which no weight saturates: ⌊log2((2^(b−1) − 1) / max|w|)⌋ (checked by
/// rounding, so a weight that rounds up to the limit still fits); `None` if every weight is 0.
pub fn no_clip_frac(w: &[f64], bits: u8) -> Option<i32> {
    let max_abs = w.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    if max_abs == 0.0 {
        return None;
    }
    let m_max = max_mantissa(bits) as f64;
    let mut f = (m_max / max_abs).log2().floor() as i32;
    // the log can be off by one at exact powers of two; settle it with the rounding the quantizer uses
    while (max_abs * 2f64.powi(f)).round() > m_max {
        f -= 1;
    }
    while (max_abs * 2f64.powi(f + 1)).round() <= m_max {
        f += 1;
    }
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn representable_values_are_exact_and_rounding_is_to_nearest_away_from_zero() {
        let w = [0.5, -0.25, 1.984375, 0.0, 0.0078125, 0.01171875, -0.01171875];
        let (m, st) = mantissas(&w, 8, 6);
        // 0.0078125·64 = 0.5 → 1 (tie away from zero); 0.01171875·64 = 0.75 → 1
        assert_eq!(m, vec![32, -16, 127, 0, 1, 1, -1]);
        assert_eq!((st.zeroed, st.clipped), (0, 0));
        let (v, _) = quantize(&[0.5, -0.25, 1.984375], 8, 6);
        assert_eq!(v, vec![0.5, -0.25, 1.984375]);
    }

    #[test]
    fn saturation_is_symmetric_and_counted_and_small_weights_count_as_zeroed() {
        let (m, st) = mantissas(&[3.0, -3.0, 0.001, -0.001, 0.0], 8, 6);
        assert_eq!(m, vec![127, -127, 0, 0, 0]);
        assert_eq!((st.clipped, st.zeroed, st.n), (2, 2, 5));
        let (m, _) = mantissas(&[1e9, -1e9], 16, 15);
        assert_eq!(m, vec![32767, -32767]);
        // negative binary point: LSB 4
        let (v, _) = quantize(&[9.0, -7.0], 8, -2);
        assert_eq!(v, vec![8.0, -8.0]);
    }

    #[test]
    fn the_no_clip_point_is_the_largest_that_does_not_saturate() {
        // 8 bits: 127 / 1.0 → 2^6 = 64 fits, 2^7 = 128 does not: the core's default weight_frac 6
        assert_eq!(no_clip_frac(&[0.3, -1.0], 8), Some(6));
        assert_eq!(no_clip_frac(&[1.984375], 8), Some(6));
        assert_eq!(no_clip_frac(&[1.99], 8), Some(6), "1.99·64 = 127.36 rounds to 127: fits");
        assert_eq!(no_clip_frac(&[1.995], 8), Some(5), "1.995·64 = 127.68 rounds to 128: does not");
        assert_eq!(no_clip_frac(&[50.0], 8), Some(1));
        assert_eq!(no_clip_frac(&[0.001], 16), Some(24));
        assert_eq!(no_clip_frac(&[0.0, 0.0], 8), None);
        for (w, bits) in [(0.37, 8u8), (5.5, 16), (1e-3, 8), (126.6, 8), (127.4, 8)] {
            let f = no_clip_frac(&[w], bits).unwrap() as i8;
            assert_eq!(mantissas(&[w], bits, f).1.clipped, 0, "{w} at frac {f}");
            assert_eq!(mantissas(&[w], bits, f + 1).1.clipped, 1, "{w} at frac {}", f + 1);
        }
    }
}
