//! Tolerances of one step of the fixed-point core against the float rule started from the same state,
//! derived from the number formats (`core-nostd/src/format.rs`, `hw-notes/formats.md`) and the rounding
//! each operation states (`arith.rs`). Notation: L_s = 2^-state_frac, L_t = 2^-trace_frac,
//! L_e = 2^-etrace_frac, L_g = 2^-signal_frac, L_J = 2^-28 (Jacobian entries), values in real units.
//!
//! Because both backends start the step from the same state, weights and constants (the float reads the
//! core's quantized constants), each bound is the sum of the roundings of *one* step, propagated through
//! the step's own arithmetic:
//!
//! * **Dendritic input y.** Binary spikes: Σ w exact (mantissas shifted left). With STD/STP each efficacy
//!   is rounded to 12 bits (nearest, ≤ ½·2^-12) after its own step's rounding δ_eff, and the sum is
//!   shifted to Q.state_frac (nearest, ≤ ½ L_s): δy_j ≤ Σ_{active i} |w_ij|·(½·2^-12 + δ_eff) + ½ L_s.
//!   δ_eff: STD ½·2^-16 (the relaxation product; the release is x̃ itself); STP 2·2^-16 (u: one product,
//!   x̃: one product, release u·x̃: one product plus u's and x̃'s errors, each ≤ 1 at Q.16 scale).
//!   Presynaptic states: STD ≤ 1·2^-16 (two products), STP u ≤ 1·2^-16, x ≤ 2·2^-16.
//! * **Neuron states.** Every decay or gain product rounds nearest (≤ ½ L_s): LIF/ALIF delta
//!   δV ≤ ½ L_s + δy; exponential δg ≤ ½ L_s + δy, δV ≤ ½ L_s + k·δg + ½ L_s; ALIF δa ≤ ½ L_s. Loihi's
//!   decays truncate toward zero (< 1 raw LSB each): δu < 1, δv < 1 + δu = 2 (raw units; its input
//!   a_in ≪ 6 is exact with weight_exp ≥ 0).
//! * **Spikes.** Equal unless the float's d = V − V_th − β·a is within δd = δV + β·δa (+ ½ L_s for the
//!   core's rounding of β·a) of 0; such neurons are counted as ambiguous, not compared.
//! * **ψ.** The core forms |v̂|/width with two truncating products (|v̂| floored to L_g: < 1 L_g; width
//!   = 1 here, so its reciprocal is exact) and a reciprocal of Δ rounded nearest (relative error
//!   ≤ Δ_raw·2^-(33+state_frac) raw, times |v̂| ≤ 1), then rounds amp·(1 − r) nearest (½ L_g):
//!   δψ_arith ≤ ½ L_g + amp·(L_g + Δ_raw·2^-(33+sf)). At the new state, add amp/Δ·δd.
//! * **ẽ^f.** ẽ_k ← round(round(Σ_l D_kl·ẽ_l / 2²⁸)·α) + D^f_k: two nearest roundings (½ L_e each, the
//!   first scaled by α) and the errors of D. D's entries are Q3.28 from Q.decay_frac constants (exact
//!   shifts) with at most two nearest roundings (≤ 1 L_J in all) plus their dependence on ψ_{t−1}, which
//!   both backends evaluate on the same state, so only δψ_arith enters: δD_kl ≤ |∂D_kl/∂ψ|·δψ_arith +
//!   L_J with |∂D/∂ψ| = α_m·R/Δ (V row, LIF/ALIF), α_m·β·R/Δ, ρ/Δ, ρ·β/Δ (ALIF), 0 (Loihi, detached).
//!   D^f is 1 or k: Q.decay_frac → Q.28 → Q.etrace_frac are exact shifts at the default formats
//!   (etrace_frac = decay_frac = 24). So δẽ_k ≤ ½ L_e + α·(½ L_e + Σ_l δD_kl·|ẽ_l|).
//! * **ε^x, ε^o.** The decay is rounded stochastically: floor(x + u) is floor(x) or ceil(x), so < 1 L_t;
//!   the added spike is exact, an STD/STP efficacy is rounded to L_t (½ L_t) after δ_eff.
//! * **Readout.** r ← round(κ·r) + Σ V (exact): δr ≤ ½ L_s. MSE: e = r − target exactly in Q.signal_frac
//!   when signal_frac = state_frac: δe ≤ δr. Cross-entropy: see [`ce_error`].
//! * **Learning signal.** fb_j = round(Σ_k B_jk·e_k / 2^weight_frac) (exact products, one nearest
//!   rounding): δfb ≤ ½ L_g + Σ_k |B_jk|·δe_k; λ = round(ψ·fb): δλ ≤ ½ L_g + [ψ, fb]; External: λ exact.
//!   Here [a, b, …] = Π(|a| + δa) − Π|a|, the bound of a product's error from its factors' errors.
//! * **ΔW, ΔV** (in weight LSB). The core rounds G_j = −η·ẽ_j·λ_j to 2⁻³² LSB per ε^x LSB (nearest,
//!   ≤ ½·x_raw·2⁻³² after the multiply by x_raw), then either accumulates x·G rounded to 2⁻¹⁶ LSB
//!   (nearest, ½·2⁻¹⁶) or rounds it stochastically to an LSB (floor or ceil: < 1). So
//!   |ΔW_fixed − ΔW_float| ≤ η·2^weight_frac·[ε^x_i, ẽ_j, λ_j] + ½·x_raw·2⁻³² + (½·2⁻¹⁶ | 1); the
//!   readout likewise with [ε^o_j, e_k].

use crate::float::Constants;
use crate::scenario::{Model, Presyn, Scenario};

/// Bound of |Π a_i − Π a'_i| for |a_i − a'_i| ≤ δ_i (first argument: values, second: errors).
pub fn prod_err(f: &[(f64, f64)]) -> f64 {
    f.iter().map(|&(a, d)| a.abs() + d).product::<f64>() - f.iter().map(|&(a, _)| a.abs()).product::<f64>()
}

/// Largest absolute error of `arith::exp2_neg` in Q.16 LSB over its whole domain: the table entries are
/// rounded nearest (½), linear interpolation of the convex 2^-x over steps of 1/64 overestimates by at
/// most (1/64)²/8·ln²2·2¹⁶ = 0.96, the interpolation product is floored (the subtracted term, so < +1),
/// and the final shift floors (< −1). Checked against `f64` over every input by
/// `exp2_neg_error_is_within_its_derived_bound`.
pub const EXP2_ERR_LSB: f64 = 0.5 + 0.96 + 1.0;

/// Relative error of the softmax's log₂e constant (94 548 / 2¹⁶).
pub fn log2e_rel_err() -> f64 {
    (94_548.0 / 65_536.0 - std::f64::consts::LOG2_E).abs() / std::f64::consts::LOG2_E
}

/// Bound of |e_k fixed − e_k float| for the cross-entropy error, given the float outputs `r` and the
/// bound `dr` of each r's error. With z_k = r_max − r_k and V_k = 2^(−z_k·log₂e) (so p_k = V_k/ΣV):
/// the core's v_k differs from V_k by D_k ≤ V_k·ln2·(z_k·log₂e·ε_log2e + 2⁻¹⁶) (x_k = z_k·log₂e
/// floored to 2⁻¹⁶ with a rounded constant) + EXP2_ERR_LSB·2⁻¹⁶; the largest output has v = 1 exactly,
/// so ΣV, Σv ≥ 1 and |v_k/Σv − V_k/ΣV| ≤ D_k + p_k·ΣD; the division floors to L_g (< 1 L_g); and the
/// r errors move p_k by at most Σ_j |∂p_k/∂r_j|·2·dr ≤ 2·p_k·(1 − p_k)·2·dr ≤ 4·p_k·dr (z_k = r_max −
/// r_k carries two r errors).
pub fn ce_error(r: &[f64], dr: f64, signal_frac: u8) -> Vec<f64> {
    let m = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let big_v: Vec<f64> = r.iter().map(|&x| (x - m).exp()).collect();
    let sum: f64 = big_v.iter().sum();
    let lg = (-(signal_frac as f64)).exp2();
    let eps = log2e_rel_err();
    let d: Vec<f64> = r
        .iter()
        .zip(&big_v)
        .map(|(&x, &v)| {
            let z = m - x;
            v * std::f64::consts::LN_2 * (z * std::f64::consts::LOG2_E * eps + 65_536f64.recip()) * 1.001
                + EXP2_ERR_LSB / 65_536.0
        })
        .collect();
    let sd: f64 = d.iter().sum();
    big_v.iter().zip(&d).map(|(&v, &dk)| {
        let p = v / sum;
        dk + p * sd + lg + 4.0 * p * dr
    })
    .collect()
}

/// Per-scenario constants of the bounds.
pub struct Bounds {
    /// L_s (value units of the float's state: 2^-state_frac, 1 raw for Loihi).
    pub ls: f64,
    /// L_t.
    pub lt: f64,
    /// L_e.
    pub le: f64,
    /// L_g.
    pub lg: f64,
    /// L_J.
    pub lj: f64,
    /// δ_eff of the released efficacy.
    pub d_eff: f64,
    /// Error of each presynaptic state slot.
    pub d_pre: [f64; 2],
    /// δψ_arith.
    pub d_psi: f64,
    /// Threshold distance Δ (value units).
    pub delta: f64,
    /// ψ amplitude.
    pub amp: f64,
}

impl Bounds {
    /// The constants of `sc`.
    pub fn of(sc: &Scenario) -> Self {
        let f = sc.formats();
        let c = Constants::of(sc);
        let p2 = |e: u8| (-(e as f64)).exp2();
        let lg = p2(f.signal_frac);
        let (delta, delta_raw, sf) = match sc.model {
            Model::Loihi => (c.theta, c.theta, 0u8),
            _ => (1.0, 65_536.0, f.state_frac),
        };
        let (d_eff, d_pre) = match sc.presyn {
            Presyn::None => (0.0, [0.0, 0.0]),
            Presyn::Std => (0.5 * p2(16), [p2(16), 0.0]),
            Presyn::Stp => (2.0 * p2(16), [p2(16), 2.0 * p2(16)]),
        };
        Bounds {
            ls: sc.state_unit(),
            lt: p2(f.trace_frac),
            le: p2(f.etrace_frac),
            lg,
            lj: p2(28),
            d_eff,
            d_pre,
            d_psi: 0.5 * lg + c.amp * (lg + delta_raw * (-(33.0 + sf as f64)).exp2()),
            delta,
            amp: c.amp,
        }
    }
}
