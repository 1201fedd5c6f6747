//! Adaptive-threshold LIF (`es-d-rtrl.md` §1.3), with delta or exponential synapse.
//!
//! Slots: 0 = V, 1 = a (adaptation), 2 = g (exponential synapse only). With Δ = V_th, β in state units:
//!
//! ```text
//! v̂_{t−1} = (V_{t−1} − V_th − β·a_{t−1}) / Δ;   s_{t−1} = H(v̂_{t−1});   ψ = ψ(v̂_{t−1})
//! V_t = α_m·(V_{t−1} − R·s_{t−1}) + input      (input = y_t, or k·g_t with g_t = α_s·g_{t−1} + y_t)
//! a_t = ρ·(a_{t−1} + s_{t−1})
//! ```
//! Jacobian (reset attached; R = Δ soft, V_{t−1} hard; with `detach_reset` every ψ term is 0):
//! `D_VV = α_m·(1 − R·ψ/Δ)`, `D_Va = α_m·R·β·ψ/Δ`, `D_aV = ρ·ψ/Δ`, `D_aa = ρ·(1 − β·ψ/Δ)`,
//! plus `D_gg = α_s`, `D_Vg = k·α_s`; `D^f = [1, 0]` (delta) or `[k, 0, 1]` (expon).
//!
//! Rounding **nearest** on every product; V, a, g **saturate** at the i32 range (counted).

use super::{decay_mul, decay_to_jac, Fired, Jacobian, LeakyCommon, NeuronModel, Reset, SurrogateParams, Synapse};
use crate::arith::{sat_i32, shift_nearest, shr_nearest};
use crate::error::{check_range, ConfigError, Field};
use crate::format::{Decay, Formats, Voltage, JAC_FRAC};

/// User parameters of an ALIF neuron.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AlifParams {
    /// α_m, Q.`decay_frac`.
    pub decay: Decay,
    /// ρ = e^{−dt/τ_a}, Q.`decay_frac`.
    pub adapt_decay: Decay,
    /// β: threshold increase per unit of a, Q.`state_frac`, 0..=16.
    pub beta: Voltage,
    /// V_th = Δ, Q.`state_frac`.
    pub threshold: Voltage,
    /// Soft or hard reset.
    pub reset: Reset,
    /// Stop the surrogate gradient through the reset and the adaptation.
    pub detach_reset: bool,
    /// Delta or exponential synapse.
    pub synapse: Synapse,
    /// ReluGrad parameters.
    pub surrogate: SurrogateParams,
}

/// A validated ALIF neuron.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Alif {
    p: AlifParams,
    c: LeakyCommon,
}

impl Alif {
    /// Validate `p` against `fmt`.
    pub fn new(p: AlifParams, fmt: &Formats) -> Result<Self, ConfigError> {
        let c = LeakyCommon::new(p.decay, p.threshold, p.synapse, p.surrogate, fmt)?;
        check_range(Field::Decay, p.adapt_decay.0 as i64, 0, 1i64 << fmt.decay_frac)?;
        check_range(Field::Beta, p.beta.0 as i64, 0, 16i64 << fmt.state_frac)?;
        Ok(Alif { p, c })
    }

    /// The parameters it was built from.
    pub fn params(&self) -> &AlifParams {
        &self.p
    }

    pub(crate) fn surrogate(&self) -> &super::Surrogate {
        &self.c.sur
    }

    #[inline(always)]
    fn dist(&self, v: i64, a: i64) -> i64 {
        v - self.p.threshold.0 as i64 - shr_nearest(self.p.beta.0 as i64 * a, self.c.sf)
    }
}

impl NeuronModel for Alif {
    fn states(&self) -> usize {
        match self.p.synapse {
            Synapse::Delta => 2,
            Synapse::Expon { .. } => 3,
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
        let a0 = st[1] as i64;
        let d0 = self.dist(v0, a0);
        let s0 = d0 > 0;
        let r = match self.p.reset {
            Reset::Soft => th,
            Reset::Hard => v0,
        };
        let base = if s0 { v0 - r } else { v0 };
        let (term, sg) = self.c.synaptic_term(self.p.synapse, st.get_mut(2), y);
        let v = decay_mul(base, self.p.decay.0, self.c.df).saturating_add(term);
        let spike_unit = if s0 { 1i64 << self.c.sf } else { 0 };
        let (a, sa) = sat_i32(decay_mul(a0 + spike_unit, self.p.adapt_decay.0, self.c.df));
        let (v, sv) = sat_i32(v);
        let sat = sg | sa | sv;
        st[0] = v;
        st[1] = a;
        let learning = jac.is_some();
        if let Some(j) = jac {
            let am = self.p.decay.0 as i64;
            let rho = self.p.adapt_decay.0 as i64;
            let one = 1i64 << JAC_FRAC;
            let (rpd, pd) = if self.p.detach_reset {
                (0, 0)
            } else {
                let psi = self.c.sur.psi(d0);
                let pd = self.c.sur.over_delta_jac(psi); // ψ/Δ, Q28
                let rpd = match self.p.reset {
                    Reset::Soft => shift_nearest(psi as i64, JAC_FRAC as i32 - self.c.sur.signal_frac() as i32),
                    Reset::Hard => shr_nearest(v0.saturating_mul(pd), self.c.sf),
                };
                (rpd, pd)
            };
            let beta = self.p.beta.0 as i64;
            let bpd = shr_nearest(beta.saturating_mul(pd), self.c.sf); // β·ψ/Δ, Q28
            let brpd = shr_nearest(beta.saturating_mul(rpd), self.c.sf); // R·β·ψ/Δ, Q28
            j.d[0][0] = sat_i32(shr_nearest((one - rpd).saturating_mul(am), self.c.df)).0;
            j.d[0][1] = sat_i32(shr_nearest(brpd.saturating_mul(am), self.c.df)).0;
            j.d[1][0] = sat_i32(shr_nearest(pd.saturating_mul(rho), self.c.df)).0;
            j.d[1][1] = sat_i32(shr_nearest((one - bpd).saturating_mul(rho), self.c.df)).0;
            match self.p.synapse {
                Synapse::Delta => {
                    j.df[0] = 1 << JAC_FRAC;
                    j.df[1] = 0;
                }
                Synapse::Expon { decay, gain } => {
                    let k = decay_to_jac(gain.0, self.c.df);
                    j.d[2][2] = decay_to_jac(decay.0, self.c.df);
                    j.d[0][2] = sat_i32(shr_nearest(k as i64 * decay.0 as i64, self.c.df)).0;
                    j.d[2][0] = 0;
                    j.d[2][1] = 0;
                    j.d[1][2] = 0;
                    j.df[0] = k;
                    j.df[1] = 0;
                    j.df[2] = 1 << JAC_FRAC;
                }
            }
        }
        let d1 = self.dist(v as i64, a as i64);
        let psi = if learning { self.c.sur.psi(d1) } else { 0 };
        Fired { spike: d1 > 0, psi, saturated: sat }
    }

    #[inline(always)]
    fn with_slot(&self, s: &super::ParamSlot) -> Self {
        let mut m = *self;
        m.p.threshold = Voltage(s.threshold);
        m.p.decay = Decay(s.decay);
        m.p.adapt_decay = Decay(s.adapt);
        m.c.sur = m.c.sur.with_reciprocal(s.inv_delta_q32, s.zero_from);
        m
    }

}
