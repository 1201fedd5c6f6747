//! The surrogate derivative ψ = ReluGrad: ψ(v̂) = amplitude · max(0, 1 − |v̂| / width), with
//! v̂ = (V − V_th − β·a) / Δ (`es-d-rtrl.md` §1.1; every paper script uses amplitude 0.3, width 1).
//! Piecewise linear, so it needs one multiply and no table.

use crate::error::{check_range, ConfigError, Field};
use crate::format::{Formats, Signal, Voltage};

/// User parameters of ReluGrad.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SurrogateParams {
    /// Peak value at threshold, Q.`signal_frac` (0.3 in the paper).
    pub amplitude: Signal,
    /// Half-width in units of v̂, Q.`signal_frac` (1.0 in the paper).
    pub width: Signal,
}

impl SurrogateParams {
    /// The paper's ReluGrad(0.3, 1) in the given formats (0.3 rounded **nearest**).
    pub fn paper(fmt: &Formats) -> Self {
        let one = 1i64 << fmt.signal_frac;
        SurrogateParams {
            amplitude: Signal(((3 * one + 5) / 10) as i32),
            width: Signal(one as i32),
        }
    }
}

/// Validated ReluGrad with its precomputed reciprocals (no division on the datapath).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Surrogate {
    amp: i32,
    /// round(2^32 / Δ) where Δ is the threshold distance as a real value (Q.32 of 1/Δ).
    inv_delta_q32: u64,
    /// round(2^(gf+16) / width_raw): scales |v̂| (Q.gf) to |v̂|/width (Q.gf) with 16 guard bits.
    inv_width: u64,
    gf: u32,
    sf: u32,
    /// Smallest |V − V_th − β·a| (raw) for which ψ = 0: found once at configuration time with the exact
    /// datapath formula, so the early exit changes no result, and below it no product can overflow.
    zero_from: u64,
}

impl Surrogate {
    /// Validate and precompute. `delta` is Δ = V_th − V_reset in state units (`sf` fractional bits, the
    /// Loihi mode passes raw register units with `sf` = 0). Δ must be ≥ 2^-4 in value and the width > 0.
    pub fn new(p: SurrogateParams, delta: Voltage, sf: u32, gf: u32) -> Result<Self, ConfigError> {
        let one_gf = 1i64 << gf;
        check_range(Field::Surrogate, p.amplitude.0 as i64, 0, 2 * one_gf)?;
        check_range(Field::Surrogate, p.width.0 as i64, 1, 64 * one_gf)?;
        let min_delta = if sf >= 4 { 1i64 << (sf - 4) } else { 1 };
        check_range(Field::Threshold, delta.0 as i64, min_delta, i32::MAX as i64)?;
        let inv_delta_q32 = ((1u128 << (32 + sf)) + (delta.0 as u128 / 2)) / delta.0 as u128;
        let inv_width = ((1u128 << (gf + 16)) + (p.width.0 as u128 / 2)) / p.width.0 as u128;
        let mut sur = Surrogate {
            amp: p.amplitude.0,
            inv_delta_q32: inv_delta_q32 as u64,
            inv_width: inv_width as u64,
            gf,
            sf,
            zero_from: u64::MAX,
        };
        // Binary search for the first magnitude where the (monotone) saturating formula reaches ψ = 0.
        let (mut lo, mut hi) = (0u64, 1u64 << 40);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if sur.ratio_saturating(mid) >= 1u64 << gf {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        sur.zero_from = lo;
        Ok(sur)
    }

    /// |v̂|/width in Q.gf with saturating products (the reference formula; configuration time only).
    fn ratio_saturating(&self, mag: u64) -> u64 {
        let q = mag.saturating_mul(self.inv_delta_q32) >> (32 + self.sf - self.gf);
        q.saturating_mul(self.inv_width) >> 16
    }

    /// ψ(v̂) for `d` = V − V_th − β·a (state units), Q.`signal_frac`. Multiplications **saturate** (a
    /// saturated |v̂| is far outside the width, where ψ = 0 anyway); the final product rounds **nearest**.
    #[inline(always)]
    pub fn psi(&self, d: i64) -> i32 {
        self.psi_of_magnitude(d.unsigned_abs())
    }

    /// [`Surrogate::psi`] of `d` given `|d|` (ψ is even in d).
    #[inline(always)]
    pub(crate) fn psi_of_magnitude(&self, mag: u64) -> i32 {
        // Outside the support ψ = 0 (the common case: one compare). Inside it |d| < Δ·width·(1 + 2⁻¹⁶),
        // so |d|·(1/Δ) < 2^(32+sf+7) and the next product < 2^(gf+17): plain multiplies cannot overflow
        // and equal the saturating ones.
        if mag >= self.zero_from {
            return 0;
        }
        // |v̂| in Q.gf: |d| · (1/Δ) with the Q.32 reciprocal.
        let q = (mag * self.inv_delta_q32) >> (32 + self.sf - self.gf);
        // |v̂| / width in Q.gf.
        let r = (q * self.inv_width) >> 16;
        let one = 1u64 << self.gf;
        if r >= one {
            0
        } else {
            // amp·(1 − r) < 2^(2gf+2) and the result ≤ amp ≤ 2^(gf+1): the nearest shift fits an i32
            // (gf ≤ 24 by validation), so the 32-bit form gives the same integer.
            crate::arith::shr_nearest_i32(self.amp as i64 * (one - r) as i64, self.gf)
        }
    }

    /// x / Δ for a signal-like `x` (Q.gf) as a Q3.28 Jacobian entry (**nearest**, saturating): the factor
    /// ∂s/∂V = ψ/Δ of the ALIF and hard-reset Jacobians.
    #[inline(always)]
    pub fn over_delta_jac(&self, x: i32) -> i64 {
        // x·2^-gf · inv·2^-32 → Q28: shift by gf + 32 − 28.
        crate::arith::shr_nearest((x as i64).saturating_mul(self.inv_delta_q32 as i64), self.gf + 4)
    }

    /// The Q.32 reciprocal of Δ and the smallest |d| with ψ = 0 (what a per-neuron threshold changes).
    pub(crate) fn reciprocal(&self) -> (u64, u64) {
        (self.inv_delta_q32, self.zero_from)
    }

    /// This surrogate with another Δ's reciprocal and zero bound (from [`Surrogate::reciprocal`] of a
    /// surrogate validated with the same amplitude, width and formats).
    #[inline(always)]
    pub(crate) fn with_reciprocal(mut self, inv_delta_q32: u64, zero_from: u64) -> Self {
        self.inv_delta_q32 = inv_delta_q32;
        self.zero_from = zero_from;
        self
    }

    /// Fractional bits of ψ (`signal_frac`).
    pub fn signal_frac(&self) -> u32 {
        self.gf
    }

    /// When both reciprocals are powers of two (Δ and the width powers of two, e.g. the paper's Δ = 1,
    /// width = 1), the two products of [`Surrogate::psi`] are shifts: q = (|d|·2^a) ≫ (32 + sf − gf)
    /// and r = (q·2^b) ≫ 16 become `(|d| ≪ l1) ≫ r1` and `(q ≪ l2) ≫ r2` with one of each pair 0
    /// (a left shift by the exact power, or one floor by the combined power: nested floors of divisions
    /// by powers of two compose). Returns [l1, r1, l2, r2], all < 32, for [`Surrogate::psi_shifted`];
    /// `None` otherwise, or when the support reaches beyond the u32 range (`zero_from` > 2³² − 1, so
    /// that `psi_shifted` can test it in 32 bits).
    pub(crate) fn pow2_shifts(&self) -> Option<[u32; 4]> {
        if !self.inv_delta_q32.is_power_of_two() || !self.inv_width.is_power_of_two() || self.zero_from > u32::MAX as u64 {
            return None;
        }
        let (a, b) = (self.inv_delta_q32.trailing_zeros() as i32, self.inv_width.trailing_zeros() as i32);
        let qs = 32 + self.sf as i32 - self.gf as i32;
        let (l1, r1) = if a >= qs { (a - qs, 0) } else { (0, qs - a) };
        let (l2, r2) = if b >= 16 { (b - 16, 0) } else { (0, 16 - b) };
        let sh = [l1 as u32, r1 as u32, l2 as u32, r2 as u32];
        sh.iter().all(|&x| x < 32).then_some(sh)
    }

    /// [`Surrogate::psi`] of `d` given `|d|` as a u32 (every |V − V_th| of an i32 V and V_th ≥ 0 is one)
    /// and the shifts of [`Surrogate::pow2_shifts`]: the same integer in 32-bit words. Inside the support
    /// (|d| < `zero_from`) r < 2^gf (the formula is monotone and reaches 2^gf first at `zero_from`), and
    /// q ≤ (r + 1)·2^(16 − b) ≤ 2^(gf+6) ≤ 2³⁰ (width ≤ 64 gives b ≥ 10), so neither shift loses
    /// a bit the general u64 products keep; the final product and shift are those of `psi`.
    #[inline(always)]
    pub(crate) fn psi_shifted(&self, mag: u32, sh: &[u32; 4]) -> i32 {
        // zero_from ≤ 2³² − 1 when the shifts exist: the u32 compare is the general one.
        if mag >= self.zero_from as u32 {
            return 0;
        }
        let q = (mag << sh[0]) >> sh[1];
        let r = (q << sh[2]) >> sh[3];
        let one = 1u32 << self.gf;
        if r >= one {
            0
        } else {
            crate::arith::shr_nearest_i32(self.amp as i64 * (one - r) as i64, self.gf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_psi_equals_psi_when_the_reciprocals_are_powers_of_two() {
        let mut tried = 0;
        for sf in [4u32, 8, 12, 16, 20, 24] {
            for gf in [8u32, 12, 16, 20, 24] {
                for de in 0..8u32 {
                    for we in 0..7u32 {
                        // Δ = 2^(sf − 4 + de) raw (≥ 2^-4 in value), width = 2^(gf − 2 + we) raw (≤ 16).
                        let delta = 1i64 << (sf as i64 - 4 + de as i64).max(0);
                        if delta > i32::MAX as i64 {
                            continue;
                        }
                        let p = SurrogateParams { amplitude: Signal(((3i64 << gf) / 10) as i32), width: Signal(1 << (gf - 2 + we)) };
                        let Ok(sur) = Surrogate::new(p, Voltage(delta as i32), sf, gf) else { continue };
                        let Some(sh) = sur.pow2_shifts() else {
                            assert!(sur.zero_from > u32::MAX as u64, "powers of two: sf {sf} gf {gf} Δ {delta}");
                            continue;
                        };
                        tried += 1;
                        let z = sur.zero_from.min(u32::MAX as u64) as u32;
                        let step = (z / 3000).max(1);
                        let mut m = 0u32;
                        while m <= z.saturating_add(3) {
                            assert_eq!(sur.psi_shifted(m, &sh), sur.psi(m as i64), "sf {sf} gf {gf} Δ {delta} |d| {m}");
                            m = match m.checked_add(step) { Some(x) => x, None => break };
                        }
                        for m in [z.saturating_sub(1), z, u32::MAX] {
                            assert_eq!(sur.psi_shifted(m, &sh), sur.psi(m as i64));
                        }
                    }
                }
            }
        }
        assert!(tried > 500, "{tried}");
        // Not a power of two: no shifts.
        let p = SurrogateParams { amplitude: Signal(19661), width: Signal(65536) };
        assert!(Surrogate::new(p, Voltage(3 << 15), 16, 16).unwrap().pow2_shifts().is_none());
    }
}
