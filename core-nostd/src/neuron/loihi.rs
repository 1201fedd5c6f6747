//! Loihi's CUBA-LIF compartment, bit for bit (`hardware.md` §2.1–§2.2, following Lava's
//! `PyLifModelBitAcc` arithmetic and, by default, nengo-loihi's two's-complement wrap; [`Wrap24::Lava`]
//! selects Lava's range instead).
//!
//! Slots: 0 = v (membrane, raw 24-bit), 1 = u (current, raw 24-bit). Per step, with `acc` the sum of the
//! integer weights of the active synapses:
//!
//! ```text
//! a_in = acc ≪ weight_exp   (or acc ≫ −weight_exp: arithmetic shift, floor, as Lava's right_shift)
//! u ← wrap( tdiv(u, 4096 − (du + 1)) + (a_in ≪ 6) )               tdiv: trunc-mag, 64-bit product
//! v ← clamp( tdiv(v, 4096 − dv) + u + (bias_mant ≪ bias_exp), ±(2²³ − 1) )
//! s = v > (vth ≪ 6)    (strict);    on a spike v ← 0 (hard reset, same step)
//! ```
//! `wrap` is [`Wrap24::TwosComplement`] (nengo-loihi, range [−2²³, 2²³ − 1], the default) or
//! [`Wrap24::Lava`] (Lava's `AbstractPyLifModelFixed`, range (−2²³, 2²³]: an exact −2²³ is stored as
//! +2²³). The two agree everywhere except where the wrapped sum is exactly ±2²³, and there u differs by
//! 2²⁴ (a sign flip), so v and the spikes diverge for the rest of the run (`tests/loihi_mode.rs`).
//!
//! Not modelled: refractory periods and nengo's vmin/vmax registers (documented in `hw-notes/`); the one-
//! step synaptic delay of Lava's Dense process is a property of the delivery, not of this arithmetic: the
//! caller presents spikes at the step they act.
//!
//! For learning, the reset is treated as detached: `D = [[δv, δu], [0, δu]]` with δ = (4096 − d)/4096 and
//! `D^f = [1, 1]` per unit of (a_in ≪ 6); ψ uses v̂ = (v − θ)/θ with θ = vth ≪ 6 before the reset.

use super::{Fired, Jacobian, NeuronModel, Surrogate, SurrogateParams};
use crate::arith::{clamp_i64, tdiv12, wrap24};

/// How the 24-bit current register u wraps (every result is congruent modulo 2²⁴; only the
/// representative of ±2²³ differs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Wrap24 {
    /// Two's complement, range [−2²³, 2²³ − 1] (nengo-loihi's `overflow_signed`; +2²³ becomes −2²³).
    #[default]
    TwosComplement,
    /// Lava's convention, range (−2²³, 2²³]: Lava subtracts 2²⁴ when u > 2²³ and adds it when u ≤ −2²³,
    /// so an exact −2²³ becomes +2²³ and +2²³ is kept. Here applied modulo 2²⁴ for any sum (Lava's single
    /// add/subtract gives the same result whenever its result is in range, i.e. for |sum| < 3·2²³).
    Lava,
}

impl Wrap24 {
    /// Wrap `x` into this convention's 24-bit range (**wrap**, by specification).
    #[inline(always)]
    pub const fn apply(self, x: i64) -> i32 {
        let t = wrap24(x);
        match self {
            Wrap24::TwosComplement => t,
            Wrap24::Lava => {
                if t == -(1 << 23) {
                    1 << 23
                } else {
                    t
                }
            }
        }
    }
}
use crate::error::{check_range, ConfigError, Field};
use crate::format::{Formats, Voltage, JAC_FRAC};

/// Loihi registers of one compartment group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LoihiParams {
    /// Current decay, 12-bit (0..=4095); the effective decay is `du + 1`.
    pub du: u16,
    /// Voltage decay, 12-bit (0..=4095).
    pub dv: u16,
    /// Bias mantissa, signed 13-bit (−4096..=4095).
    pub bias_mant: i16,
    /// Bias exponent, 3-bit (0..=7).
    pub bias_exp: u8,
    /// Threshold mantissa, 17-bit (0..=131071); θ = vth ≪ 6. 0 is accepted as Lava accepts it (a spike
    /// whenever v > 0); its surrogate is then normalised as if vth = 1 (v̂ = v / 64), since (v − θ)/θ
    /// has no value at θ = 0.
    pub vth_mant: u32,
    /// Weight exponent (−8..=7): the dendritic sum is shifted by it before the ≪ 6 alignment.
    pub weight_exp: i8,
    /// ReluGrad parameters for learning (Q.`signal_frac`).
    pub surrogate: SurrogateParams,
    /// Wrap convention of the current register u (default two's complement).
    pub wrap: Wrap24,
}

/// Largest |v|: the voltage register saturates at ±(2²³ − 1).
pub const V_MAX: i32 = (1 << 23) - 1;

/// A validated Loihi CUBA-LIF compartment group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LoihiCuba {
    p: LoihiParams,
    sur: Surrogate,
    ku: u32,
    kv: u32,
    bias: i32,
    theta: i32,
}

impl LoihiCuba {
    /// Validate the registers (ranges of `hardware.md` §2.1).
    pub fn new(p: LoihiParams, fmt: &Formats) -> Result<Self, ConfigError> {
        fmt.validate()?;
        check_range(Field::LoihiRegister, p.du as i64, 0, 4095)?;
        check_range(Field::LoihiRegister, p.dv as i64, 0, 4095)?;
        check_range(Field::LoihiRegister, p.bias_mant as i64, -4096, 4095)?;
        check_range(Field::LoihiRegister, p.bias_exp as i64, 0, 7)?;
        check_range(Field::LoihiRegister, p.vth_mant as i64, 0, 131_071)?;
        check_range(Field::LoihiRegister, p.weight_exp as i64, -8, 7)?;
        let theta = (p.vth_mant << 6) as i32;
        let sur = Surrogate::new(p.surrogate, Voltage(theta.max(1 << 6)), 0, fmt.signal_frac as u32)?;
        Ok(LoihiCuba {
            p,
            sur,
            ku: 4096 - (p.du as u32 + 1),
            kv: 4096 - p.dv as u32,
            bias: (p.bias_mant as i32) << p.bias_exp,
            theta,
        })
    }

    /// The registers it was built from.
    pub fn params(&self) -> &LoihiParams {
        &self.p
    }

    pub(crate) fn surrogate(&self) -> &Surrogate {
        &self.sur
    }

    /// θ = vth ≪ 6 (raw units).
    pub fn threshold(&self) -> i32 {
        self.theta
    }
}

impl NeuronModel for LoihiCuba {
    fn states(&self) -> usize {
        2
    }

    /// `(acc ≫ −weight_exp or acc ≪ weight_exp) ≪ 6`; the right shift floors (Lava's `right_shift`).
    /// STD/STP efficacies are rejected for this model, so `acc_frac` is always 0.
    #[inline(always)]
    fn input(&self, acc: i32, _acc_frac: u32) -> i64 {
        let a = acc as i64;
        let a = if self.p.weight_exp >= 0 { a << self.p.weight_exp } else { a >> (-self.p.weight_exp) };
        a << 6
    }

    #[inline(always)]
    fn update(&self, st: &mut [i32], y: i64, jac: Option<&mut Jacobian>) -> Fired {
        self.update_biased(st, y, self.bias, jac)
    }

    /// The per-compartment bias `b` (raw v units, `bias_mant ≪ bias_exp`) replaces the register's.
    #[inline(always)]
    fn update_biased(&self, st: &mut [i32], y: i64, b: i32, jac: Option<&mut Jacobian>) -> Fired {
        let u = self.p.wrap.apply(tdiv12(st[1], self.ku) as i64 + y);
        let (v, sat) = clamp_i64(
            tdiv12(st[0], self.kv) as i64 + u as i64 + b as i64,
            -(V_MAX as i64),
            V_MAX as i64,
        );
        let spike = v > self.theta as i64;
        let learning = jac.is_some();
        if let Some(j) = jac {
            let du = (self.ku as i32) << (JAC_FRAC - 12);
            j.d[0][0] = (self.kv as i32) << (JAC_FRAC - 12);
            j.d[0][1] = du;
            j.d[1][0] = 0;
            j.d[1][1] = du;
            j.df[0] = 1 << JAC_FRAC;
            j.df[1] = 1 << JAC_FRAC;
        }
        let psi = if learning { self.sur.psi(v - self.theta as i64) } else { 0 };
        st[1] = u;
        st[0] = if spike { 0 } else { v as i32 };
        Fired { spike, psi, saturated: sat }
    }

    /// `vth`, `dv`, `du` of one compartment. The values are **clamped** to their register ranges first (a
    /// slot validated for Loihi is already inside them; one built for another model then cannot
    /// underflow the decay complements).
    #[inline(always)]
    fn with_slot(&self, s: &super::ParamSlot) -> Self {
        let mut m = *self;
        let vth = (s.threshold as u32).min(131_071);
        m.p.vth_mant = vth;
        m.p.dv = s.decay.min(4095) as u16;
        m.p.du = s.adapt.min(4095) as u16;
        m.kv = 4096 - m.p.dv as u32;
        m.ku = 4096 - (m.p.du as u32 + 1);
        m.theta = (vth << 6) as i32;
        m.sur = m.sur.with_reciprocal(s.inv_delta_q32, s.zero_from);
        m
    }

}
