//! Leaky integrate-and-fire (`es-d-rtrl.md` §1.2, §1.4).
//!
//! Slots: 0 = V (membrane), 1 = g (synaptic current, exponential synapse only). Per step, with
//! s_{t−1} = H(V_{t−1} − V_th) (strict `>`), Δ = V_th (V_reset = 0):
//!
//! ```text
//! delta synapse:  V_t = α_m·(V_{t−1} − R·s_{t−1}) + y_t
//! expon synapse:  g_t = α_s·g_{t−1} + y_t;   V_t = α_m·(V_{t−1} − R·s_{t−1}) + k·g_t
//! R = Δ (soft reset) or V_{t−1} (hard reset: V_t = α_m·0 + input after a spike)
//! s_t = H(V_t − V_th)    (the reset of s_t is applied at step t+1, as in the reference)
//! ```
//! Jacobians (reset attached; with `detach_reset` the ψ terms vanish):
//! `D_VV = α_m·(1 − R·ψ_{t−1}/Δ)`, `D_gg = α_s`, `D_Vg = k·α_s`; `D^f = [1]` (delta) or `[k, 1]` (expon).
//!
//! Rounding: every decay product and the gain product round **nearest**; V and g **saturate** at the i32
//! range (counted).

use super::{decay_mul, decay_to_jac, Fired, Jacobian, LeakyCommon, NeuronModel, Reset, SurrogateParams, Synapse};
use crate::arith::{sat_i32, shift_nearest, shr_nearest, shr_nearest_i32};
use crate::error::ConfigError;
use crate::format::{Decay, Formats, Voltage, JAC_FRAC};

/// User parameters of a LIF neuron, in the layer's [`Formats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LifParams {
    /// α_m = e^{−dt/τ_m}, Q.`decay_frac`, at most 1.0.
    pub decay: Decay,
    /// V_th (= Δ, since V_reset = 0), Q.`state_frac`, at least 2^-4.
    pub threshold: Voltage,
    /// Soft or hard reset.
    pub reset: Reset,
    /// Stop the surrogate gradient through the reset (the DMS / EI scripts do).
    pub detach_reset: bool,
    /// Delta or exponential synapse.
    pub synapse: Synapse,
    /// ReluGrad parameters.
    pub surrogate: SurrogateParams,
}

/// A validated LIF neuron.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Lif {
    p: LifParams,
    c: LeakyCommon,
    /// D_VV when ψ(v̂_{t−1}) = 0: α_m as a Q3.28 Jacobian entry (the common case, computed once).
    jac_leak: i32,
}

impl Lif {
    /// Validate `p` against `fmt`.
    pub fn new(p: LifParams, fmt: &Formats) -> Result<Self, ConfigError> {
        let c = LeakyCommon::new(p.decay, p.threshold, p.synapse, p.surrogate, fmt)?;
        // decay_mul(2²⁸, α_m, df) below with R·ψ/Δ = 0, rounded and saturated the same way.
        let jac_leak = sat_i32(decay_mul(1i64 << JAC_FRAC, p.decay.0, c.df)).0;
        Ok(Lif { p, c, jac_leak })
    }

    /// The parameters it was built from.
    pub fn params(&self) -> &LifParams {
        &self.p
    }

    pub(crate) fn surrogate(&self) -> &super::Surrogate {
        &self.c.sur
    }

    /// The loop-invariant constants of an inference step (no Jacobian, no ψ) for a layer whose
    /// dendritic sums are in Q.`acc_frac` weight units, when the common case holds: the input shift
    /// `state_frac − weight_frac − acc_frac` is in 0..32 (so [`NeuronModel::input`] is a plain left
    /// shift), `decay_frac` ≥ 1 and V_th ≥ 0. `None` otherwise (the general loop then runs).
    pub(crate) fn inference(&self, acc_frac: u32) -> Option<LifInference> {
        let s = self.c.wshift() - acc_frac as i32;
        if !(0..32).contains(&s) || self.c.df == 0 || self.p.threshold.0 < 0 {
            return None;
        }
        let (ds, gain) = match self.p.synapse {
            Synapse::Delta => (0, 0),
            Synapse::Expon { decay, gain } => (decay.0 as i64, gain.0 as i64),
        };
        Some(LifInference { th: self.p.threshold.0, s: s as u32, df: self.c.df, am: self.p.decay.0 as i64, ds, gain })
    }
}

/// Constants of [`Lif`]'s inference step ([`Lif::inference`]), for [`LifInference::step`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct LifInference {
    th: i32,
    s: u32,
    df: u32,
    am: i64,
    ds: i64,
    gain: i64,
}

impl LifInference {
    /// One neuron, exactly [`NeuronModel::update`] with `jac = None` after [`NeuronModel::input`]
    /// (same roundings, same saturations), with the branches on the configuration taken out of the
    /// loop (`EXPON`: exponential synapse; `SOFT`: soft reset). Why each general step reduces to the
    /// one here, under the preconditions of [`Lif::inference`]:
    /// * input: `acc << s` with 0 ≤ s < 32 is exact in i64 (|y| < 2⁶²);
    /// * every decay or gain product has an i32 operand, so `decay_mul` is the exact product, and
    ///   `shr_nearest(p, df)` with df ≥ 1 is `(y >> 1) + (y & 1)` for y = p >> (df − 1);
    /// * the i64 `saturating_add`s cannot saturate: |α·x| ≤ |x| < 2³¹ (α ≤ 1), |k·g| < 2³³ (k ≤ 4),
    ///   |y| < 2⁶²;
    /// * with V_th ≥ 0 the reset base V − R is in the i32 range (soft: 0 < V − V_th ≤ V; hard: 0).
    ///
    /// Returns (spike, saturated). `v` is slot 0, `g` slot 1 (unused without `EXPON`).
    #[inline(always)]
    pub(crate) fn step<const EXPON: bool, const SOFT: bool>(&self, acc: i32, v: &mut i32, g: &mut i32) -> (bool, bool) {
        #[inline(always)]
        fn mul_nearest(x: i32, d: i64, df: u32) -> i64 {
            let y = (x as i64 * d) >> (df - 1);
            (y >> 1) + (y & 1)
        }
        let y = (acc as i64) << self.s;
        let (term, sg) = if EXPON {
            let (gn, sg) = sat_i32(mul_nearest(*g, self.ds, self.df) + y);
            *g = gn;
            (mul_nearest(gn, self.gain, self.df), sg)
        } else {
            (y, false)
        };
        let v0 = *v;
        let base = if v0 > self.th {
            if SOFT {
                v0 - self.th
            } else {
                0
            }
        } else {
            v0
        };
        let (vn, sv) = sat_i32(mul_nearest(base, self.am, self.df) + term);
        *v = vn;
        (vn > self.th, sg | sv)
    }
}

/// Constants of [`Lif`]'s learning step with a delta synapse ([`Lif::learning`]), for
/// [`LifLearning::step`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct LifLearning {
    inf: LifInference,
    sur: super::Surrogate,
    /// D_VV when R·ψ_{t−1}/Δ = 0 (Q3.28): α_m, or always with `detach_reset`.
    jac_leak: i32,
    /// `JAC_FRAC − signal_frac` (4..=20 by validation): ψ (Q.`signal_frac`) → Q3.28 is a left shift.
    psi_shift: u32,
    /// α_m ≤ 2^df ≤ 2³⁰ as an i32.
    am: i32,
    /// ψ's products as shifts ([`super::Surrogate::pow2_shifts`]), when Δ and the width allow it.
    psi_sh: Option<[u32; 4]>,
    /// `psi_sh` is `Some([0; 4])` (Δ = width = 1 with state_frac = signal_frac, the reference's
    /// formats): q = r = |d| in [`super::Surrogate::psi_shifted`], without its four variable shifts.
    psi_ident: bool,
}

impl Lif {
    /// The loop-invariant constants of a learning step when the inference preconditions hold
    /// ([`Lif::inference`]), the synapse is delta (one state) and the reset is soft, or hard with the
    /// reset detached (then D_VV does not depend on ψ_{t−1}). `None` otherwise (the general loop runs).
    pub(crate) fn learning(&self, acc_frac: u32) -> Option<LifLearning> {
        let inf = self.inference(acc_frac)?;
        let gf = self.c.sur.signal_frac();
        if !matches!(self.p.synapse, Synapse::Delta) || gf > JAC_FRAC {
            return None;
        }
        let jac_leak = match (self.p.reset, self.p.detach_reset) {
            (_, true) => decay_to_jac(self.p.decay.0, self.c.df),
            (Reset::Soft, false) => self.jac_leak,
            (Reset::Hard, false) => return None,
        };
        Some(LifLearning { inf, sur: self.c.sur, jac_leak, psi_shift: JAC_FRAC - gf, am: self.p.decay.0 as i32, psi_sh: self.c.sur.pow2_shifts(), psi_ident: self.c.sur.pow2_shifts() == Some([0; 4]) })
    }
}

impl LifLearning {
    /// One neuron, exactly [`NeuronModel::update`] with `jac = Some(..)` after [`NeuronModel::input`]
    /// for a delta synapse (same roundings, same saturations). Returns (spike, saturated, ψ(v̂_t),
    /// D_VV in Q3.28); D^f is 1 (Q3.28) for a delta synapse. `DETACH`: the reset is detached (D_VV =
    /// α_m, `jac_leak`); otherwise the reset is soft and D_VV = α_m·(1 − ψ_{t−1}) as in the general
    /// update:
    /// * ψ_{t−1} ≤ 2·2^gf (amplitude ≤ 2 by validation), so ψ·2^(28−gf) ≤ 2²⁹: the general
    ///   `shift_nearest` (a saturating left shift) is this exact i32 shift;
    /// * 2²⁸ − ψ·2^(28−gf) ∈ [−2²⁸, 2²⁸] is an i32, so `decay_mul` is the exact product rounded
    ///   **nearest** (df ≥ 1), and |result| ≤ 2²⁸ (α_m ≤ 1): the general `sat_i32` cannot saturate.
    #[inline(always)]
    pub(crate) fn step<const SOFT: bool, const DETACH: bool>(&self, acc: i32, v: &mut i32) -> (bool, bool, i32, i32) {
        let f = &self.inf;
        let (th, df) = (f.th, f.df);
        // α_m ≤ 2^df ≤ 2³⁰ (validated decay ≤ 1.0, decay_frac ≤ 30): an i32 operand, so each product
        // below is one 32 × 32 → 64 multiply.
        let am = self.am;
        let v0 = *v;
        // The reset base of `LifInference::step` (an i32: V_th ≥ 0).
        let base = if v0 > th {
            if SOFT {
                v0 - th
            } else {
                0
            }
        } else {
            v0
        };
        // α_m·base rounded nearest: |base·α_m / 2^df| ≤ |base| (α_m ≤ 1), and nearest rounding of a real
        // in [−2³¹, 2³¹ − 1] stays there, so the result is an i32 (`shr_nearest_i32`'s precondition).
        let leak = shr_nearest_i32(base as i64 * am as i64, df);
        // y = acc·2^s (0 ≤ s < 32). When it fits an i32 (checked by shifting back) the saturating i64
        // sum of the general update is the i32 add saturated at the overflow; otherwise the i64 form.
        let y = acc.wrapping_shl(f.s);
        let (vn, sat) = if y.wrapping_shr(f.s) == acc {
            match leak.checked_add(y) {
                Some(x) => (x, false),
                None => (if y < 0 { i32::MIN } else { i32::MAX }, true),
            }
        } else {
            sat_i32(leak as i64 + ((acc as i64) << f.s))
        };
        *v = vn;
        let d_vv = if DETACH {
            self.jac_leak
        } else {
            let psi0 = self.psi(magnitude(v0, th));
            if psi0 == 0 {
                self.jac_leak
            } else {
                let x = (1i32 << JAC_FRAC) - (psi0 << self.psi_shift);
                // |x·α_m / 2^df| ≤ 2²⁸: an i32.
                shr_nearest_i32(x as i64 * am as i64, df)
            }
        };
        (vn > th, sat, self.psi(magnitude(vn, th)), d_vv)
    }
}

impl LifLearning {
    /// ψ of |V − V_th|: the shifted form when the surrogate has one (same integer), else the general.
    #[inline(always)]
    fn psi(&self, mag: u32) -> i32 {
        if self.psi_ident {
            return self.sur.psi_shifted(mag, &[0; 4]);
        }
        match &self.psi_sh {
            Some(sh) => self.sur.psi_shifted(mag, sh),
            None => self.sur.psi_of_magnitude(mag as u64),
        }
    }
}

/// |v − th| for an i32 `v` and `th` ≥ 0, exactly: the difference lies in [−(2³² − 1), 2³¹ − 1], so its
/// magnitude is a u32, and the wrapping u32 subtraction of the larger minus the smaller is exact.
#[inline(always)]
fn magnitude(v: i32, th: i32) -> u32 {
    if v >= th {
        (v as u32).wrapping_sub(th as u32)
    } else {
        (th as u32).wrapping_sub(v as u32)
    }
}

impl NeuronModel for Lif {
    fn states(&self) -> usize {
        match self.p.synapse {
            Synapse::Delta => 1,
            Synapse::Expon { .. } => 2,
        }
    }

    #[inline(always)]
    fn input(&self, acc: i32, acc_frac: u32) -> i64 {
        self.c.input(acc, acc_frac)
    }

    #[inline(always)]
    fn update(&self, st: &mut [i32], y: i64, jac: Option<&mut Jacobian>) -> Fired {
        let th = self.p.threshold.0 as i64;
        let v0 = st[0] as i64;
        let d0 = v0 - th;
        let s0 = d0 > 0;
        let r = match self.p.reset {
            Reset::Soft => th,
            Reset::Hard => v0,
        };
        let base = if s0 { v0 - r } else { v0 };
        let (term, sg) = self.c.synaptic_term(self.p.synapse, st.get_mut(1), y);
        let (v, sv) = sat_i32(decay_mul(base, self.p.decay.0, self.c.df).saturating_add(term));
        let sat = sg | sv;
        st[0] = v;
        let learning = jac.is_some();
        if let Some(j) = jac {
            let am = self.p.decay.0;
            let d_vv = if self.p.detach_reset {
                decay_to_jac(am, self.c.df) as i64
            } else {
                let psi = self.c.sur.psi(d0);
                if psi == 0 {
                    // R·ψ/Δ = 0 for either reset (Hard: over_delta_jac(0) = 0).
                    self.jac_leak as i64
                } else {
                    // R·ψ/Δ in Q28: soft reset R = Δ gives ψ itself.
                    let rpd = match self.p.reset {
                        Reset::Soft => shift_nearest(psi as i64, JAC_FRAC as i32 - self.c.sur.signal_frac() as i32),
                        Reset::Hard => shr_nearest(v0.saturating_mul(self.c.sur.over_delta_jac(psi)), self.c.sf),
                    };
                    decay_mul((1i64 << JAC_FRAC) - rpd, am, self.c.df)
                }
            };
            j.d[0][0] = sat_i32(d_vv).0;
            match self.p.synapse {
                Synapse::Delta => j.df[0] = 1 << JAC_FRAC,
                Synapse::Expon { decay, gain } => {
                    let k = decay_to_jac(gain.0, self.c.df);
                    j.d[1][1] = decay_to_jac(decay.0, self.c.df);
                    j.d[1][0] = 0;
                    j.d[0][1] = sat_i32(shr_nearest(k as i64 * decay.0 as i64, self.c.df)).0;
                    j.df[0] = k;
                    j.df[1] = 1 << JAC_FRAC;
                }
            }
        }
        let psi = if learning { self.c.sur.psi(v as i64 - th) } else { 0 };
        Fired { spike: v as i64 > th, psi, saturated: sat }
    }

    #[inline(always)]
    fn with_slot(&self, s: &super::ParamSlot) -> Self {
        let mut m = *self;
        m.p.threshold = Voltage(s.threshold);
        m.p.decay = Decay(s.decay);
        m.jac_leak = s.jac_leak;
        m.c.sur = m.c.sur.with_reciprocal(s.inv_delta_q32, s.zero_from);
        m
    }

}
