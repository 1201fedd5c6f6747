//! Number formats: the one table of every fixed-point quantity in the core (mirrored in
//! `hw-notes/formats.md`).
//!
//! Storage types are fixed at compile time (so a core has a known size and can live in a `static`); the
//! bit widths and binary-point positions inside them are run-time [`Formats`], so a quantization study can
//! sweep them without recompiling. `Qm.f` below means a two's-complement value with `f` fractional bits.
//!
//! | role | type | storage | format (default) | overflow | rounding into it |
//! |---|---|---|---|---|---|
//! | weight W, readout V | [`Weight`] / [`Weight8`] | i16 / i8 (learning layer, ≤ 8 bits) | mantissa, `weight_bits` 2–16 (8), value = m·2^-`weight_frac` (6); symmetric range ±(2^(b−1)−1) | saturate, counted | stochastic by default, or nearest / truncate ([`Rounding`]) |
//! | membrane V, current g, adaptation a, readout r | [`Voltage`] | i32 | Q.`state_frac` 4–24 (16); threshold 1.0 | saturate, counted | nearest |
//! | Loihi u | [`Voltage`] | i32 | raw 24-bit | **wrap** at ±2²³ (two's complement, or Lava's range: `neuron::Wrap24`) | trunc-mag |
//! | Loihi v | [`Voltage`] | i32 | raw 24-bit | saturate at ±(2²³−1) | trunc-mag |
//! | decays α_m, α_s, ρ, κ, α; gain k | [`Decay`] | u32 | Q.`decay_frac` 8–30 (24), value in [0, 2^(32−f)) | rejected at config | nearest (config time) |
//! | input / output trace ε^x, ε^o | [`Trace`] | u16 | unsigned, `trace_bits` 4–16 (16), Q.`trace_frac` (8) | saturate, counted | nearest |
//! | neuron trace ẽ^f = ε^f/(1−α) | [`ETrace`] | i32 | Q.`etrace_frac` 8–28 (24) | saturate, counted | nearest |
//! | ψ, error e, learning signal λ | [`Signal`] | i32 | Q.`signal_frac` 8–24 (16) | saturate | nearest |
//! | Jacobian entries D, D^f | i32 | i32 | Q3.28 ([`JAC_FRAC`]), computed per step | saturate | nearest |
//! | STD/STP efficacies x, u | [`Efficacy`] | i32 | Q.16 ([`EFF_FRAC`]), in [0, 1] | clamp to [0, 1] | nearest |
//! | per-projection weight shift s (graph projection, [`crate::layer::AxonGroup`]) | u8 | u8 | 0..=15: a mantissa m of the projection is m·2^s weight LSBs, w = m·2^(s − `weight_frac`) | rejected at config | online update ΔW·2^−s: stochastic with the shift folded into the one right shift (⌊(⌊x·G/2^s⌋ + r)/2³²⌋, expectation exact to 2⁻³² LSB), or nearest / truncate of x·G·2^−(32+s); apply: acc·2^−(16+s) with a (16+s)-bit random word |
//! | dendritic sum Σ w | i32 | i32 | weight LSBs (·2^-12 with STD/STP on any axon of the layer); a shifted row adds (m·x)·2^s | proven not to overflow at config (axons · max\|m\| · 2^(largest s) · 2^frac < 2³¹) | exact |
//! | weight-update accumulator | i32 | i32 | weight LSB·2^-16 | saturate, counted | nearest |
//!
//! Every product is formed in i64 (or i128 for the O(N) learning-rate scaling) before it is rounded.

use crate::error::{check_range, ConfigError, Field};
use fixed::types::I32F32;

/// Fractional bits of the per-step Jacobian entries D and D^f (Q3.28, range ±8).
pub const JAC_FRAC: u32 = 28;
/// How a weight update (ΔW in weight LSBs with fractional bits, online or from an accumulator) is
/// rounded to the weight's LSB. Every mode then **saturates** at the weight range (counted) like the
/// default. Selected per layer with [`crate::layer::LayerMut::set_rounding`], per readout with
/// [`crate::readout::ReadoutMut::set_rounding`] and per graph population with
/// [`crate::graph::GraphMut::set_rounding`]; the choice is dispatched outside the weight loops (const
/// generics over the `ROUND_*` tags), so the default costs nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Rounding {
    /// **Stochastic**: floor(Δ + r) with r uniform in [0, 1) from the counter-based stream
    /// ([`crate::rng`]); unbiased. The default, bit for bit the rule before this setting existed.
    #[default]
    Stochastic,
    /// **Nearest, ties away from zero**: sign(Δ)·floor(|Δ| + ½) (so +2.5 → 3, −2.5 → −3, −0.4 → 0).
    /// Draws no random word.
    Nearest,
    /// **Truncate toward zero**: sign(Δ)·floor(|Δ|) (so +2.7 → 2, −2.7 → −2). Draws no random word.
    Truncate,
}

/// Tag of [`Rounding::Stochastic`].
pub(crate) const ROUND_STOCHASTIC: u8 = 0;
/// Tag of [`Rounding::Nearest`].
pub(crate) const ROUND_NEAREST: u8 = 1;
/// Tag of [`Rounding::Truncate`].
pub(crate) const ROUND_TRUNCATE: u8 = 2;

/// `p · 2^-s` rounded by the mode with tag `M` ([`Rounding`]); `r` (in [0, 2^s)) is the stochastic
/// word, unused by the other modes. `1 ≤ s < 64`, and |p| + 2^s must not overflow an i64 (callers pass
/// |p| < 2⁶³ − 2^s: the products of a trace and a saturated gradient factor, or an i32 accumulator).
/// Exact: the result is the rounded integer for every such p.
#[inline(always)]
pub(crate) const fn round_shift<const M: u8>(p: i64, s: u32, r: i64) -> i64 {
    match M {
        ROUND_STOCHASTIC => (p + r) >> s,
        _ => {
            let half = if M == ROUND_NEAREST { 1u64 << (s - 1) } else { 0 };
            let m = ((p.unsigned_abs() + half) >> s) as i64;
            if p < 0 {
                -m
            } else {
                m
            }
        }
    }
}

/// [`round_shift`] in i128, for the bias updates (the mode chosen at run time: these loops are O(N)).
#[inline(always)]
pub(crate) const fn round_shift_i128(p: i128, s: u32, r: i128, mode: Rounding) -> i128 {
    match mode {
        Rounding::Stochastic => (p + r) >> s,
        _ => {
            let half = if matches!(mode, Rounding::Nearest) { 1u128 << (s - 1) } else { 0 };
            let m = ((p.unsigned_abs() + half) >> s) as i128;
            if p < 0 {
                -m
            } else {
                m
            }
        }
    }
}

/// Fractional bits of STD/STP efficacies (Q.16, range [0, 1]).
pub const EFF_FRAC: u32 = 16;
/// Extra fractional bits of the dendritic accumulator when inputs carry STD/STP efficacies.
pub const ACC_EFF_FRAC: u32 = 12;

macro_rules! role {
    ($(#[$m:meta])* $name:ident, $raw:ty) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[repr(transparent)]
        pub struct $name(pub $raw);
        impl $name {
            /// The raw stored integer.
            #[inline(always)]
            pub const fn raw(self) -> $raw {
                self.0
            }
        }
    };
}

role!(
    /// Synaptic weight mantissa: value = m · 2^-`weight_frac`, |m| ≤ 2^(`weight_bits`−1) − 1.
    Weight,
    i16
);
role!(
    /// A one-byte synaptic weight mantissa (`es-d-rtrl.md` §8.2: i8 mantissa, value m·2^-`weight_frac`,
    /// `weight_bits` ≤ 8): the storage of a learning layer whose synapse memory holds one byte per synapse.
    Weight8,
    i8
);

/// How a learning layer stores its weight mantissas: [`Weight`] (i16, `weight_bits` ≤ 16) or
/// [`Weight8`] (i8, `weight_bits` ≤ 8, one byte per synapse). The datapath reads and writes through this
/// trait only, so both storages give the same bits for the same network (every stored value lies in
/// ±(2^(weight_bits−1) − 1), which both types hold exactly).
pub trait WeightStore: Copy + Default + PartialEq + core::fmt::Debug {
    /// Bits of the storage type (the largest `weight_bits` it holds).
    const BITS: u8;
    /// The zero mantissa (for `const` initialisers).
    const ZERO: Self;
    /// The mantissa.
    fn get(self) -> i32;
    /// A mantissa already clamped to ±(2^(weight_bits−1) − 1) (so it fits; values outside wrap, which the
    /// datapath never produces).
    fn from_clamped(v: i32) -> Self;
}

impl WeightStore for Weight {
    const BITS: u8 = 16;
    const ZERO: Self = Weight(0);
    #[inline(always)]
    fn get(self) -> i32 {
        self.0 as i32
    }
    #[inline(always)]
    fn from_clamped(v: i32) -> Self {
        Weight(v as i16)
    }
}

impl WeightStore for Weight8 {
    const BITS: u8 = 8;
    const ZERO: Self = Weight8(0);
    #[inline(always)]
    fn get(self) -> i32 {
        self.0 as i32
    }
    #[inline(always)]
    fn from_clamped(v: i32) -> Self {
        Weight8(v as i8)
    }
}

role!(
    /// Membrane voltage, synaptic current, adaptation or readout state: Q.`state_frac` in an i32
    /// (raw 24-bit registers in the Loihi mode).
    Voltage,
    i32
);
role!(
    /// Decay factor or gain: unsigned Q.`decay_frac` in a u32.
    Decay,
    u32
);
role!(
    /// Presynaptic (ε^x) or readout-input (ε^o) eligibility trace: unsigned Q.`trace_frac`, saturating at
    /// 2^`trace_bits` − 1.
    Trace,
    u16
);
role!(
    /// Per-neuron eligibility trace ẽ^f = ε^f / (1 − α): Q.`etrace_frac` in an i32.
    ETrace,
    i32
);
role!(
    /// Surrogate derivative ψ, error e or learning signal λ: Q.`signal_frac` in an i32.
    Signal,
    i32
);
role!(
    /// STD/STP efficacy (release fraction, facilitation): Q.16 in [0, 1].
    Efficacy,
    i32
);

/// Run-time bit widths and binary points of every quantity (see the module table). Validate with
/// [`Formats::validate`]; every constructor that takes formats does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Formats {
    /// Weight mantissa bits including sign, 2..=16.
    pub weight_bits: u8,
    /// Weight binary point: w = m·2^-weight_frac, 0..=15 and ≤ `state_frac`.
    pub weight_frac: u8,
    /// Fractional bits of V, g, a, r (i32), 4..=24.
    pub state_frac: u8,
    /// Fractional bits of decays (u32), 8..=30.
    pub decay_frac: u8,
    /// Bits of ε^x / ε^o (u16, unsigned), 4..=16.
    pub trace_bits: u8,
    /// Fractional bits of ε^x / ε^o, 0..trace_bits (a spike, 1.0, must be representable).
    pub trace_frac: u8,
    /// Fractional bits of ẽ^f (i32), 8..=28.
    pub etrace_frac: u8,
    /// Fractional bits of ψ, e, λ (i32), 8..=24.
    pub signal_frac: u8,
}

impl Formats {
    /// The defaults of `es-d-rtrl.md` §8.2: 8-bit weights with 6 fractional bits (±1.98), Q.16 state,
    /// Q.24 decays, 16-bit ε^x with 8 fractional bits, Q.24 ẽ^f, Q.16 signals.
    pub const DEFAULT: Formats = Formats {
        weight_bits: 8,
        weight_frac: 6,
        state_frac: 16,
        decay_frac: 24,
        trace_bits: 16,
        trace_frac: 8,
        etrace_frac: 24,
        signal_frac: 16,
    };

    /// Check every range and cross-constraint.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range(Field::WeightBits, self.weight_bits as i64, 2, 16)?;
        check_range(Field::WeightFrac, self.weight_frac as i64, 0, 15)?;
        check_range(Field::StateFrac, self.state_frac as i64, 4, 24)?;
        check_range(Field::DecayFrac, self.decay_frac as i64, 8, 30)?;
        check_range(Field::TraceBits, self.trace_bits as i64, 4, 16)?;
        check_range(Field::TraceFrac, self.trace_frac as i64, 0, self.trace_bits as i64 - 1)?;
        check_range(Field::EtraceFrac, self.etrace_frac as i64, 8, 28)?;
        check_range(Field::SignalFrac, self.signal_frac as i64, 8, 24)?;
        if self.weight_frac > self.state_frac {
            return Err(ConfigError::Inconsistent { field: Field::WeightFrac, with: Field::StateFrac });
        }
        Ok(())
    }

    /// Largest weight mantissa, 2^(bits−1) − 1 (the range is symmetric so negation never saturates).
    #[inline(always)]
    pub const fn weight_max(&self) -> i32 {
        (1 << (self.weight_bits - 1)) - 1
    }

    /// Largest trace value, 2^trace_bits − 1.
    #[inline(always)]
    pub const fn trace_max(&self) -> u32 {
        (1u32 << self.trace_bits) - 1
    }

    /// Convert a weight given as `I32F32` to a mantissa, rounding **nearest** and **saturating** to the
    /// weight range (the flag says whether it saturated).
    pub fn weight(&self, w: I32F32) -> (Weight, bool) {
        let m = to_frac(w, self.weight_frac);
        let max = self.weight_max() as i64;
        let (v, s) = crate::arith::clamp_i64(m, -max, max);
        (Weight(v as i16), s)
    }

    /// Convert a voltage-like value to Q.`state_frac` (**nearest**); rejects values outside the i32 range.
    pub fn voltage(&self, v: I32F32, field: Field) -> Result<Voltage, ConfigError> {
        let m = to_frac(v, self.state_frac);
        check_range(field, m, i32::MIN as i64, i32::MAX as i64)?;
        Ok(Voltage(m as i32))
    }

    /// Convert a decay or gain to Q.`decay_frac` (**nearest**); rejects negative values and values that do
    /// not fit (≥ 2^(32−decay_frac)).
    pub fn decay(&self, d: I32F32, field: Field) -> Result<Decay, ConfigError> {
        let m = to_frac(d, self.decay_frac);
        check_range(field, m, 0, u32::MAX as i64)?;
        Ok(Decay(m as u32))
    }

    /// Convert a signal (ψ amplitude, target, λ) to Q.`signal_frac` (**nearest**).
    pub fn signal(&self, s: I32F32, field: Field) -> Result<Signal, ConfigError> {
        let m = to_frac(s, self.signal_frac);
        check_range(field, m, i32::MIN as i64, i32::MAX as i64)?;
        Ok(Signal(m as i32))
    }

    /// Value of a weight mantissa as `I32F32` (exact).
    pub fn weight_value(&self, w: Weight) -> I32F32 {
        from_frac(w.0 as i64, self.weight_frac)
    }
    /// Value of a state variable as `I32F32` (exact for state_frac ≤ 32).
    pub fn voltage_value(&self, v: Voltage) -> I32F32 {
        from_frac(v.0 as i64, self.state_frac)
    }
    /// Value of an ε^x / ε^o trace as `I32F32` (exact).
    pub fn trace_value(&self, t: Trace) -> I32F32 {
        from_frac(t.0 as i64, self.trace_frac)
    }
    /// Value of ẽ^f as `I32F32` (exact).
    pub fn etrace_value(&self, e: ETrace) -> I32F32 {
        from_frac(e.0 as i64, self.etrace_frac)
    }
    /// Value of a signal as `I32F32` (exact).
    pub fn signal_value(&self, s: Signal) -> I32F32 {
        from_frac(s.0 as i64, self.signal_frac)
    }
}

impl Default for Formats {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// `round(x · 2^frac)` (**nearest**) from an `I32F32`, in i64 (saturating).
pub fn to_frac(x: I32F32, frac: u8) -> i64 {
    crate::arith::shift_nearest(x.to_bits(), frac as i32 - 32)
}

/// `m · 2^-frac` as an `I32F32` (exact for frac ≤ 32; saturates outside the I32F32 range).
pub fn from_frac(m: i64, frac: u8) -> I32F32 {
    I32F32::from_bits(crate::arith::shift_nearest(m, 32 - frac as i32))
}
