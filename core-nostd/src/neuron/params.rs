//! Per-neuron parameters: a threshold and the decays of each neuron, where the model has them
//! (`hardware.md` §2.1: Loihi holds `vth`, `du`, `dv` per compartment; LIF/ALIF populations trained
//! with per-neuron τ and V_th need the same).
//!
//! | model | `threshold` | `decay` | `adapt` |
//! |---|---|---|---|
//! | LIF | V_th, Q.`state_frac` | α_m, Q.`decay_frac` | must be 0 |
//! | ALIF | V_th, Q.`state_frac` | α_m, Q.`decay_frac` | ρ (adaptation decay), Q.`decay_frac` |
//! | Loihi CUBA | `vth_mant` (0..=131071; θ = vth ≪ 6) | `dv` (0..=4095) | `du` (0..=4095) |
//!
//! Everything else (reset, synapse, α_s and the gain k, ALIF's β, the surrogate's amplitude and width,
//! Loihi's weight exponent and wrap) stays the population's. The values are validated by the same
//! constructor as the scalar ones ([`crate::neuron::Lif::new`], ...) when a [`ParamSlot`] is built, which
//! also precomputes what the datapath would otherwise divide for (the surrogate's 1/Δ and its zero bound,
//! LIF's leak Jacobian). A neuron run with the slot of its population's own scalar values gives the same
//! bits as the scalar path, because the fire loop then calls the very same `update` on a model whose
//! fields equal the scalar model's (`tests/neuron_params.rs`).

use super::{decay_mul, Alif, AlifParams, Lif, LifParams, LoihiCuba, LoihiParams, NeuronKind};
use crate::arith::sat_i32;
use crate::error::{check_range, ConfigError, Field};
use crate::format::{Decay, Voltage, JAC_FRAC};
use crate::layer::LayerConfig;

/// The per-neuron values of one neuron as a user (or an image) gives them; units per model in the
/// module table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NeuronParams {
    /// V_th (LIF/ALIF, Q.`state_frac`) or `vth_mant` (Loihi).
    pub threshold: i32,
    /// α_m (LIF/ALIF, Q.`decay_frac`) or `dv` (Loihi).
    pub decay: u32,
    /// ρ (ALIF, Q.`decay_frac`), `du` (Loihi), 0 (LIF).
    pub adapt: u32,
}

impl NeuronParams {
    /// The scalar values of a model (what every neuron of a population without per-neuron arrays uses).
    pub fn of(kind: &NeuronKind) -> Self {
        match kind {
            NeuronKind::Lif(m) => NeuronParams { threshold: m.params().threshold.0, decay: m.params().decay.0, adapt: 0 },
            NeuronKind::Alif(m) => {
                let p = m.params();
                NeuronParams { threshold: p.threshold.0, decay: p.decay.0, adapt: p.adapt_decay.0 }
            }
            NeuronKind::LoihiCuba(m) => {
                let p = m.params();
                NeuronParams { threshold: p.vth_mant as i32, decay: p.dv as u32, adapt: p.du as u32 }
            }
        }
    }
}

/// One neuron's validated parameters as the datapath uses them (32 bytes: the three values of
/// [`NeuronParams`], LIF's leak Jacobian, and the surrogate's Q.32 reciprocal of Δ with its zero
/// bound). Built only by [`ParamSlot::new`] (or [`ParamSlot::EMPTY`], all zero: a neuron with V_th = 0
/// and no surrogate support); a slot built for another configuration than the one it runs with gives
/// that configuration's arithmetic on other values, never a panic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ParamSlot {
    pub(crate) threshold: i32,
    pub(crate) decay: u32,
    pub(crate) adapt: u32,
    /// LIF: D_VV when ψ = 0 (α_m in Q3.28). Others: 0.
    pub(crate) jac_leak: i32,
    pub(crate) inv_delta_q32: u64,
    pub(crate) zero_from: u64,
}

impl ParamSlot {
    /// An all-zero slot (for `const` storage; overwritten by [`ParamSlot::new`] before use).
    pub const EMPTY: ParamSlot = ParamSlot { threshold: 0, decay: 0, adapt: 0, jac_leak: 0, inv_delta_q32: 0, zero_from: 0 };

    /// Validate `p` for the neuron model and formats of `cfg` through the model's own constructor (same
    /// ranges and errors as the scalar parameters: decays ≤ 1.0, V_th ≥ 2^-4 for LIF/ALIF, Loihi's
    /// register ranges; LIF's `adapt` must be 0) and precompute the datapath's constants.
    pub fn new(cfg: &LayerConfig, p: NeuronParams) -> Result<Self, ConfigError> {
        let f = &cfg.formats;
        match cfg.neuron {
            NeuronKind::Lif(m) => {
                check_range(Field::Decay, p.adapt as i64, 0, 0)?;
                let l = Lif::new(LifParams { decay: Decay(p.decay), threshold: Voltage(p.threshold), ..*m.params() }, f)?;
                let jac_leak = sat_i32(decay_mul(1i64 << JAC_FRAC, p.decay, f.decay_frac as u32)).0;
                let (inv, zero) = l.surrogate().reciprocal();
                Ok(ParamSlot { threshold: p.threshold, decay: p.decay, adapt: 0, jac_leak, inv_delta_q32: inv, zero_from: zero })
            }
            NeuronKind::Alif(m) => {
                let a = Alif::new(
                    AlifParams { decay: Decay(p.decay), adapt_decay: Decay(p.adapt), threshold: Voltage(p.threshold), ..*m.params() },
                    f,
                )?;
                let (inv, zero) = a.surrogate().reciprocal();
                Ok(ParamSlot { threshold: p.threshold, decay: p.decay, adapt: p.adapt, jac_leak: 0, inv_delta_q32: inv, zero_from: zero })
            }
            NeuronKind::LoihiCuba(m) => {
                check_range(Field::LoihiRegister, p.threshold as i64, 0, 131_071)?;
                check_range(Field::LoihiRegister, p.decay as i64, 0, 4095)?;
                check_range(Field::LoihiRegister, p.adapt as i64, 0, 4095)?;
                let l = LoihiCuba::new(
                    LoihiParams { vth_mant: p.threshold as u32, dv: p.decay as u16, du: p.adapt as u16, ..*m.params() },
                    f,
                )?;
                let (inv, zero) = l.surrogate().reciprocal();
                Ok(ParamSlot { threshold: p.threshold, decay: p.decay, adapt: p.adapt, jac_leak: 0, inv_delta_q32: inv, zero_from: zero })
            }
        }
    }

    /// The values it was built from.
    pub fn values(&self) -> NeuronParams {
        NeuronParams { threshold: self.threshold, decay: self.decay, adapt: self.adapt }
    }
}
