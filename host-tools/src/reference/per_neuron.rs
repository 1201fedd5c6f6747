//! A population whose neurons each have their own parameters (`plasticore-float-net` v2): what a NIR
//! LIF / CubaLIF / IF / LI / CubaLI / Threshold population with per-neuron arrays becomes, run by the
//! float reference without averaging (issue 12).
//!
//! Per neuron j, input y_t (= x·W + b of the layer, the reference's y):
//! ```text
//! I_t = α_j·I_{t−1} + a_j·y_t                 (with a synaptic current; else I_t = y_t)
//! v'  = reset of the spike of step t−1 applied to v_{t−1}:
//!         value:              v' = v_reset_j  (if z_{t−1})
//!         subtract:           v' = v_{t−1} − θ_j·z_{t−1}
//!         subtract-undecayed: v' = v_{t−1}, and θ_j·z_{t−1} is taken off after the decay
//! v_t = β_j·v' + c_j·I_t + l_j (− θ_j·z_{t−1} for subtract-undecayed)
//! z_t = [v_t > θ_j] (strict; never for a non-spiking population)
//! ```
//! the same operations in the same order as `nir::sim` (so an imported network runs bit for bit like
//! `plasticore nir simulate`), and the discretisation table of `hw-notes/nir.md`.
//!
//! The per-neuron constants ride in the state vector as states that never change (what
//! [`NeuronModel::init_state_for`] is for): h = [I (if synaptic), v, β, c, l, (α, a if synaptic),
//! (θ, v_reset if spiking)]. `step` copies them; their D^f is 0, so they get no trace. The surrogate of
//! v̂ = (v − θ)/θ drives the gradient methods as for the built-in LIF; the value reset passes the gradient
//! as the built-in hard reset does (v − stop_gradient(v)·z + v_reset·z).
use super::model::NeuronModel;
use super::scalar::{Scalar, Surrogate};
use serde::{Deserialize, Serialize};

/// What a spike does to the membrane (NIR's file cannot say; `hw-notes/nir.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PnReset {
    /// v ← v_reset_j before the next update.
    Value,
    /// v ← v − θ_j before the next update (decays with v; the built-in soft reset).
    Subtract,
    /// θ_j is taken off after the next decay (snnTorch's `reset_mechanism="subtract"`).
    SubtractUndecayed,
}

/// Per-neuron synaptic current.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PnSynapse {
    /// Current decay α_j per step.
    pub alpha_s: Vec<f64>,
    /// Input gain a_j.
    pub gain_s: Vec<f64>,
}

/// Per-neuron spiking.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PnSpiking {
    /// Threshold θ_j (> 0).
    pub v_th: Vec<f64>,
    /// Reset value (used by [`PnReset::Value`]).
    pub v_reset: Vec<f64>,
    /// Reset mechanism of the population.
    pub reset: PnReset,
    /// Detach the reset spike (no surrogate through the reset term).
    pub detach_reset: bool,
}

/// A population with per-neuron parameters (module documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerNeuron {
    /// Membrane decay β_j per step.
    pub alpha_m: Vec<f64>,
    /// Membrane input gain c_j.
    pub gain_m: Vec<f64>,
    /// Constant membrane input l_j per step (NIR's v_leak·(1 − β)).
    pub leak: Vec<f64>,
    /// Synaptic current, if any.
    pub synapse: Option<PnSynapse>,
    /// Spiking; `None`: a non-spiking (LI) population whose membrane is read out.
    pub spiking: Option<PnSpiking>,
    /// Surrogate ψ.
    pub surrogate: Surrogate,
}

impl PerNeuron {
    /// Neurons (the length of the arrays).
    pub fn n(&self) -> usize {
        self.alpha_m.len()
    }

    /// Every array by name, for checks and conversions.
    pub fn arrays(&self) -> Vec<(&'static str, &[f64])> {
        let mut v: Vec<(&'static str, &[f64])> = vec![("alpha_m", &self.alpha_m), ("gain_m", &self.gain_m), ("leak", &self.leak)];
        if let Some(s) = &self.synapse {
            v.push(("alpha_s", &s.alpha_s));
            v.push(("gain_s", &s.gain_s));
        }
        if let Some(s) = &self.spiking {
            v.push(("v_th", &s.v_th));
            v.push(("v_reset", &s.v_reset));
        }
        v
    }

    /// Check that every array has `n` finite values and every threshold is > 0; the error names the
    /// parameter and the first bad neuron.
    pub fn validate(&self, n: usize) -> Result<(), String> {
        for (name, a) in self.arrays() {
            if a.len() != n {
                return Err(format!("per-neuron {name}: {} values for {n} neurons", a.len()));
            }
            if let Some(j) = a.iter().position(|x| !x.is_finite()) {
                return Err(format!("per-neuron {name}[{j}] = {} is not finite", a[j]));
            }
        }
        if let Some(s) = &self.spiking {
            if let Some(j) = s.v_th.iter().position(|&t| t <= 0.0) {
                return Err(format!("per-neuron v_th[{j}] = {} must be > 0", s.v_th[j]));
            }
        }
        if !(self.surrogate.height >= 0.0 && self.surrogate.width > 0.0) {
            return Err("surrogate height must be >= 0 and width > 0".into());
        }
        Ok(())
    }

    #[inline]
    fn m(&self) -> usize {
        self.synapse.is_some() as usize
    }
    /// Index of θ in the state vector (spiking only).
    #[inline]
    fn th_index(&self) -> usize {
        self.m() + 4 + 2 * self.synapse.is_some() as usize
    }
}

fn at(v: &[f64], j: usize) -> f64 {
    // a length mismatch is rejected by `validate` (the file loader calls it); NaN rather than a panic
    v.get(j).copied().unwrap_or(f64::NAN)
}

impl NeuronModel for PerNeuron {
    fn n_states(&self) -> usize {
        self.m() + 4 + 2 * self.synapse.is_some() as usize + 2 * self.spiking.is_some() as usize
    }
    fn membrane_index(&self) -> usize {
        self.m()
    }
    fn init_state_for(&self, j: usize) -> Vec<f64> {
        let mut h = Vec::with_capacity(self.n_states());
        if self.synapse.is_some() {
            h.push(0.0);
        }
        h.extend([0.0, at(&self.alpha_m, j), at(&self.gain_m, j), at(&self.leak, j)]);
        if let Some(s) = &self.synapse {
            h.extend([at(&s.alpha_s, j), at(&s.gain_s, j)]);
        }
        if let Some(s) = &self.spiking {
            h.extend([at(&s.v_th, j), at(&s.v_reset, j)]);
        }
        h
    }
    fn surrogate(&self) -> Surrogate {
        self.surrogate
    }
    #[inline]
    fn vhat<T: Scalar>(&self, h: &[T]) -> T {
        if self.spiking.is_none() {
            return T::cst(-1.0);
        }
        let th = h[self.th_index()];
        (h[self.m()] - th) / th
    }
    #[inline]
    fn step<T: Scalar>(&self, h_prev: &[T], y: T, h: &mut [T]) {
        let m = self.m();
        let s_n = self.n_states();
        h[m + 1..s_n].copy_from_slice(&h_prev[m + 1..s_n]);
        let (beta, c, l) = (h_prev[m + 1], h_prev[m + 2], h_prev[m + 3]);
        let mut v = h_prev[m];
        let mut after = T::zero();
        if let Some(sp) = &self.spiking {
            let z = self.vhat(h_prev).spike(&self.surrogate);
            let z = if sp.detach_reset { z.detach() } else { z };
            let (th, vr) = (h_prev[self.th_index()], h_prev[self.th_index() + 1]);
            match sp.reset {
                // z = 1: v − v = 0 exactly, then + v_reset: exactly v_reset; z = 0: v unchanged
                PnReset::Value => v = v - v.detach() * z + vr * z,
                PnReset::Subtract => v -= th * z,
                PnReset::SubtractUndecayed => after = th * z,
            }
        }
        let input = if self.synapse.is_some() {
            let (alpha, a) = (h_prev[m + 4], h_prev[m + 5]);
            let i = alpha * h_prev[0] + a * y;
            h[0] = i;
            i
        } else {
            y
        };
        h[m] = beta * v + c * input + l - after;
    }
}
