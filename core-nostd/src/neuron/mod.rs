//! Neuron models, one file each, behind [`NeuronModel`]; [`NeuronKind`] selects one.
//!
//! # Contract of a [`NeuronModel`]
//! * A neuron has `states()` (1..=3) i32 state variables; **slot 0 is always the membrane V** (the only
//!   state that receives a learning signal, `es-d-rtrl.md` §4.5), the other slots are model-specific and
//!   listed in each model's docs.
//! * [`NeuronModel::update`] advances one neuron by one timestep: it reads h_{t−1} from `st` and the
//!   dendritic input `y_t` (already in the model's state units, see [`NeuronModel::input`]), writes h_t,
//!   and returns the spike s_t, the surrogate ψ(v̂_t) at the new state (for λ_t), and whether any state
//!   saturated.
//! * When asked, it also writes the per-neuron Jacobians of the *same* step (`es-d-rtrl.md` §1):
//!   `D_t[k][l] = ∂h_t[k]/∂h_{t−1}[l]` evaluated at (h_{t−1}, y_t) and `D^f_t[k] = ∂h_t[k]/∂y_t`, in
//!   Q3.28 ([`crate::format::JAC_FRAC`]), rows and columns in slot order; unused entries are 0.
//! * It never panics, never allocates, and every rounding and overflow is the one its docs state.
//! * It is a pure function of (params, h_{t−1}, y_t): the same inputs give the same bits on every target.

pub mod alif;
pub mod lif;
pub mod loihi;
pub mod params;
pub mod surrogate;

pub use alif::{Alif, AlifParams};
pub use lif::{Lif, LifParams};
pub(crate) use lif::{LifInference, LifLearning};
pub use loihi::{LoihiCuba, LoihiParams, Wrap24};
pub use params::{NeuronParams, ParamSlot};
pub use surrogate::{Surrogate, SurrogateParams};

use crate::format::Decay;

/// Per-neuron, per-step Jacobians in Q3.28, slot order (see the module contract).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Jacobian {
    /// `d[k][l] = ∂h_t[k] / ∂h_{t−1}[l]`.
    pub d: [[i32; 3]; 3],
    /// `df[k] = ∂h_t[k] / ∂y_t`.
    pub df: [i32; 3],
}

/// What one neuron update produced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fired {
    /// s_t: the neuron spiked at this step.
    pub spike: bool,
    /// ψ(v̂_t) at the new state, Q.`signal_frac` (the surrogate factor of λ_t).
    pub psi: i32,
    /// Some state variable saturated (counted by the layer).
    pub saturated: bool,
}

/// How the membrane is reset after a spike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Reset {
    /// Subtract Δ = V_th − V_reset (reset by subtraction).
    Soft,
    /// Set to V_reset = 0 (`V_th` replaced by stop-gradient(V_{t−1}) in the reset term).
    Hard,
}

/// Postsynaptic synapse kind (AlignPost): how the weighted input y_t enters the neuron.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Synapse {
    /// y_t is added straight to V after the leak; D^f_V = 1.
    Delta,
    /// Exponential current: g_t = α_s·g_{t−1} + y_t and V receives `gain`·g_t (same step).
    /// `gain` is (1 − α_m)·R·c in the reference models and 1 for Loihi-style CUBA (W1).
    Expon {
        /// α_s = e^{−dt/τ_s}, Q.`decay_frac`.
        decay: Decay,
        /// k, Q.`decay_frac`.
        gain: Decay,
    },
}

/// One neuron model (see the module-level contract).
pub trait NeuronModel {
    /// Number of i32 state variables per neuron (1..=3); slot 0 is V.
    fn states(&self) -> usize;
    /// Convert the dendritic accumulator (sum of weight mantissas, times 2^`acc_frac`) into the model's
    /// input units y_t.
    fn input(&self, acc: i32, acc_frac: u32) -> i64;
    /// Advance one neuron by one step (see the contract). `jac` is written only if it is `Some`.
    fn update(&self, st: &mut [i32], y: i64, jac: Option<&mut Jacobian>) -> Fired;
    /// [`NeuronModel::update`] with a per-neuron bias `b` in input units: by default added to y_t
    /// (**saturating**), so it enters like any input and D^f is unchanged; a model whose hardware adds its
    /// bias elsewhere overrides this (Loihi CUBA: into v, replacing the bias register).
    #[inline(always)]
    fn update_biased(&self, st: &mut [i32], y: i64, b: i32, jac: Option<&mut Jacobian>) -> Fired {
        self.update(st, y.saturating_add(b as i64), jac)
    }
    /// This model with one neuron's threshold and decays ([`ParamSlot`], validated for this model and
    /// formats); every other parameter is kept. No arithmetic beyond field copies (and Loihi's two
    /// decay complements), so [`NeuronModel::update`] on the result is the scalar arithmetic on the
    /// neuron's values.
    fn with_slot(&self, s: &ParamSlot) -> Self
    where
        Self: Sized;
}

/// The neuron model of a layer: a plain enum so a layer's model is chosen at run time and dispatched once
/// per phase, not per neuron.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NeuronKind {
    /// Leaky integrate-and-fire (soft/hard reset, delta/exponential synapse).
    Lif(Lif),
    /// Adaptive-threshold LIF.
    Alif(Alif),
    /// Loihi's bit-accurate CUBA-LIF.
    LoihiCuba(LoihiCuba),
}

impl NeuronKind {
    /// Number of state variables per neuron.
    pub fn states(&self) -> usize {
        match self {
            NeuronKind::Lif(m) => m.states(),
            NeuronKind::Alif(m) => m.states(),
            NeuronKind::LoihiCuba(m) => m.states(),
        }
    }
}

/// What LIF and ALIF share: the validated surrogate and the format constants of the layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct LeakyCommon {
    pub(crate) sur: Surrogate,
    pub(crate) sf: u32,
    pub(crate) df: u32,
    wshift: i32,
}

impl LeakyCommon {
    /// Validate the membrane decay, the synapse and the surrogate against `fmt`.
    pub(crate) fn new(
        decay: Decay,
        threshold: crate::format::Voltage,
        synapse: Synapse,
        surrogate: SurrogateParams,
        fmt: &crate::format::Formats,
    ) -> Result<Self, crate::error::ConfigError> {
        use crate::error::{check_range, Field};
        fmt.validate()?;
        let one = 1i64 << fmt.decay_frac;
        check_range(Field::Decay, decay.0 as i64, 0, one)?;
        if let Synapse::Expon { decay, gain } = synapse {
            check_range(Field::Decay, decay.0 as i64, 0, one)?;
            check_range(Field::Gain, gain.0 as i64, 0, 4 * one)?;
        }
        Ok(LeakyCommon {
            sur: Surrogate::new(surrogate, threshold, fmt.state_frac as u32, fmt.signal_frac as u32)?,
            sf: fmt.state_frac as u32,
            df: fmt.decay_frac as u32,
            wshift: fmt.state_frac as i32 - fmt.weight_frac as i32,
        })
    }

    /// `state_frac − weight_frac`.
    #[inline(always)]
    pub(crate) fn wshift(&self) -> i32 {
        self.wshift
    }

    /// Dendritic sum → state units: a shift by `state_frac − weight_frac − acc_frac` (**nearest**).
    #[inline(always)]
    pub(crate) fn input(&self, acc: i32, acc_frac: u32) -> i64 {
        let s = self.wshift - acc_frac as i32;
        if (0..32).contains(&s) {
            // An i32 shifted left by < 32 fits an i64: the saturating shift cannot saturate.
            (acc as i64) << s
        } else {
            crate::arith::shift_nearest(acc as i64, s)
        }
    }

    /// The synaptic term added to the leaked membrane: y_t (delta) or k·g_t with g_t = α_s·g_{t−1} + y_t
    /// written back to `g` (exponential; g **saturates**, flagged). Products round **nearest**.
    #[inline(always)]
    pub(crate) fn synaptic_term(&self, synapse: Synapse, g: Option<&mut i32>, y: i64) -> (i64, bool) {
        match (synapse, g) {
            (Synapse::Expon { decay, gain }, Some(g)) => {
                let (gn, sat) = crate::arith::sat_i32(decay_mul(*g as i64, decay.0, self.df).saturating_add(y));
                *g = gn;
                (decay_mul(gn as i64, gain.0, self.df), sat)
            }
            _ => (y, false),
        }
    }
}

/// Multiply `x` (Q.`sf` state) by a decay or gain `d` (Q.`df`), rounding **nearest**; the i64 product
/// **saturates** (only reachable with a gain near its 4.0 limit on a state near the i32 range).
#[inline(always)]
pub(crate) fn decay_mul(x: i64, d: u32, df: u32) -> i64 {
    // The common case, x in the i32 range: |x·d| < 2³¹·2³² = 2⁶³, so the product is exact and the
    // saturating multiply (a long sequence on a 32-bit core) would return the same integer.
    let p = if x as i32 as i64 == x { (x as i32 as i64) * d as i64 } else { x.saturating_mul(d as i64) };
    crate::arith::shr_nearest(p, df)
}

/// A decay (Q.`df`) as a Q3.28 Jacobian entry (**nearest**, saturating).
#[inline(always)]
pub(crate) fn decay_to_jac(d: u32, df: u32) -> i32 {
    crate::arith::sat_i32(crate::arith::shift_nearest(d as i64, crate::format::JAC_FRAC as i32 - df as i32)).0
}
