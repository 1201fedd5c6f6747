//! Trained-network files and the neuron-model selector used by them.
//!
//! # File format (`plasticore-float-net`, versions 1 and 2)
//! A JSON object written by `plasticore train` (atomically) and read by [`SavedNet::load`]:
//! ```text
//! {
//!   "format": "plasticore-float-net", "version": 1,
//!   "task": "dmts", "algorithm": { "EsdRtrl": { "alpha": 0.99, "correction": "Reference" } },
//!   "dt_ms": 1.0,
//!   "config": {                                   // NetConfig<ModelSpec>
//!     "layers": [ { "n_in": 100, "n": 100, "recurrent": true,
//!                   "neuron": { "Gif": { ... } } | { "CobaEi": { ... } } | { "Builtin": { "kind": "Lif" | {"Alif": {"rho", "beta"}},
//!                               "synapse": "Delta" | {"Exponential": {"alpha_s", "gain"}},
//!                               "alpha_m", "v_th", "reset": "Soft"|"Hard", "detach_reset", "surrogate" } },
//!                   "presyn": "None" | {"Std": {"u", "decay_d"}} | {"Stp": {"u", "decay_f", "decay_d"}} } ],
//!     "output": { "LeakyReadout": { "n_out": 2, "kappa": 0.8187 } } | "Membrane"
//!               | { "MembraneReadout": { "n_out": 2, "kappa": 0.9048, "standardize": true } },
//!     "loss": "Mse" | "CrossEntropy" },
//!   "params": { "layers": [ { "w": [...], "b": [...] } ], "readout": [...] },
//!   "metrics": { "test_accuracy": 0.97, ... }      // free-form, informational
//! }
//! ```
//! Version 2 (written by this build; [`VERSION`]) adds one neuron variant, a population with per-neuron
//! parameters (`reference/per_neuron.rs`, what `nir import` writes where v1 would have to average):
//! ```text
//! "neuron": { "PerNeuron": { "alpha_m": [n], "gain_m": [n], "leak": [n],
//!             "synapse": null | { "alpha_s": [n], "gain_s": [n] },
//!             "spiking": null | { "v_th": [n], "v_reset": [n], "reset": "Value"|"Subtract"|"SubtractUndecayed",
//!                                 "detach_reset": false },
//!             "surrogate": { "height", "width" } } }
//! ```
//! Every array has the layer's n finite values (thresholds > 0), else loading fails naming the layer,
//! the parameter and the neuron. A version-1 file is read as before; one with a `PerNeuron` layer is
//! refused (it needs version 2). [`SavedNet::required_version`] is the oldest version that holds a network
//! (`nir import` writes it, so what v1 holds stays v1).
//!
//! Layouts: `w[i*n + j]` (row i = axon: the layer's inputs first, then its own neurons if recurrent; column
//! j = neuron); `readout[j*n_out + k]`. Synapses absent from a fixed connectivity mask (the COBA E/I network)
//! are stored as 0. Decays are per 1 ms step; V_reset = 0; units are threshold units.
use super::coba_ei::CobaEi;
use super::gif::Gif;
use super::model::{Neuron, NeuronModel};
use super::net::{NetConfig, Params};
use super::per_neuron::PerNeuron;
use super::scalar::{Scalar, Surrogate};
use super::RefError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A neuron model chosen at run time (built-in closed forms or the generic GIF).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ModelSpec {
    /// LIF/ALIF × delta/exponential.
    Builtin(Neuron),
    /// GIF with adaptation current (dual-number Jacobians).
    Gif(Gif),
    /// EI-GIF with COBA synapses, three input ports (dual-number Jacobians).
    CobaEi(CobaEi),
    /// A population with per-neuron parameters (version 2 files only; [`PerNeuron`]).
    PerNeuron(PerNeuron),
}

impl NeuronModel for ModelSpec {
    fn n_states(&self) -> usize {
        match self {
            ModelSpec::Builtin(m) => m.n_states(),
            ModelSpec::Gif(m) => m.n_states(),
            ModelSpec::CobaEi(m) => m.n_states(),
            ModelSpec::PerNeuron(m) => m.n_states(),
        }
    }
    fn membrane_index(&self) -> usize {
        match self {
            ModelSpec::Builtin(m) => m.membrane_index(),
            ModelSpec::Gif(m) => m.membrane_index(),
            ModelSpec::CobaEi(m) => m.membrane_index(),
            ModelSpec::PerNeuron(m) => m.membrane_index(),
        }
    }
    fn init_state_for(&self, j: usize) -> Vec<f64> {
        match self {
            ModelSpec::Builtin(m) => m.init_state_for(j),
            ModelSpec::Gif(m) => m.init_state_for(j),
            ModelSpec::CobaEi(m) => m.init_state_for(j),
            ModelSpec::PerNeuron(m) => m.init_state_for(j),
        }
    }
    fn surrogate(&self) -> Surrogate {
        match self {
            ModelSpec::Builtin(m) => m.surrogate(),
            ModelSpec::Gif(m) => m.surrogate(),
            ModelSpec::CobaEi(m) => m.surrogate(),
            ModelSpec::PerNeuron(m) => m.surrogate(),
        }
    }
    fn vhat<T: Scalar>(&self, h: &[T]) -> T {
        match self {
            ModelSpec::Builtin(m) => m.vhat(h),
            ModelSpec::Gif(m) => m.vhat(h),
            ModelSpec::CobaEi(m) => m.vhat(h),
            ModelSpec::PerNeuron(m) => m.vhat(h),
        }
    }
    fn step<T: Scalar>(&self, h_prev: &[T], y: T, h: &mut [T]) {
        match self {
            ModelSpec::Builtin(m) => m.step(h_prev, y, h),
            ModelSpec::Gif(m) => m.step(h_prev, y, h),
            ModelSpec::CobaEi(m) => m.step(h_prev, y, h),
            ModelSpec::PerNeuron(m) => m.step(h_prev, y, h),
        }
    }
    fn jacobians(&self, h_prev: &[f64], y: f64, d: &mut [f64], df: &mut [f64]) {
        match self {
            ModelSpec::Builtin(m) => m.jacobians(h_prev, y, d, df),
            ModelSpec::Gif(m) => m.jacobians(h_prev, y, d, df),
            ModelSpec::CobaEi(m) => m.jacobians(h_prev, y, d, df),
            ModelSpec::PerNeuron(m) => m.jacobians(h_prev, y, d, df),
        }
    }
    fn n_ports(&self) -> usize {
        match self {
            ModelSpec::Builtin(m) => m.n_ports(),
            ModelSpec::Gif(m) => m.n_ports(),
            ModelSpec::CobaEi(m) => m.n_ports(),
            ModelSpec::PerNeuron(m) => m.n_ports(),
        }
    }
    fn axon_port(&self, i: usize, n_in: usize) -> usize {
        match self {
            ModelSpec::Builtin(m) => m.axon_port(i, n_in),
            ModelSpec::Gif(m) => m.axon_port(i, n_in),
            ModelSpec::CobaEi(m) => m.axon_port(i, n_in),
            ModelSpec::PerNeuron(m) => m.axon_port(i, n_in),
        }
    }
    fn step_ports<T: Scalar>(&self, h_prev: &[T], y: &[T], h: &mut [T]) {
        match self {
            ModelSpec::Builtin(m) => m.step_ports(h_prev, y, h),
            ModelSpec::Gif(m) => m.step_ports(h_prev, y, h),
            ModelSpec::CobaEi(m) => m.step_ports(h_prev, y, h),
            ModelSpec::PerNeuron(m) => m.step_ports(h_prev, y, h),
        }
    }
    fn jacobians_ports(&self, h_prev: &[f64], y: &[f64], d: &mut [f64], df: &mut [f64]) {
        match self {
            ModelSpec::Builtin(m) => m.jacobians_ports(h_prev, y, d, df),
            ModelSpec::Gif(m) => m.jacobians_ports(h_prev, y, d, df),
            ModelSpec::CobaEi(m) => m.jacobians_ports(h_prev, y, d, df),
            ModelSpec::PerNeuron(m) => m.jacobians_ports(h_prev, y, d, df),
        }
    }
    fn spike_grad(&self, h: &[f64], out: &mut [f64]) {
        match self {
            ModelSpec::Builtin(m) => m.spike_grad(h, out),
            ModelSpec::Gif(m) => m.spike_grad(h, out),
            ModelSpec::CobaEi(m) => m.spike_grad(h, out),
            ModelSpec::PerNeuron(m) => m.spike_grad(h, out),
        }
    }
}

/// Format tag.
pub const FORMAT: &str = "plasticore-float-net";
/// Format version written by this build (the newest); [`SavedNet::load`] reads 1 and 2.
pub const VERSION: u32 = 2;
/// The oldest version still read.
pub const VERSION_MIN: u32 = 1;

/// A trained network file (see the module documentation for the layout).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedNet {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// Task it was trained on.
    pub task: String,
    /// Training algorithm (informational).
    pub algorithm: serde_json::Value,
    /// Step length in ms (1).
    pub dt_ms: f64,
    /// Architecture.
    pub config: NetConfig<ModelSpec>,
    /// Weights.
    pub params: Params<f64>,
    /// Free-form metrics.
    pub metrics: serde_json::Value,
}

impl SavedNet {
    /// The oldest version that holds this network: 2 with a [`ModelSpec::PerNeuron`] layer, else 1.
    pub fn required_version(&self) -> u32 {
        if self.config.layers.iter().any(|l| matches!(l.neuron, ModelSpec::PerNeuron(_))) {
            2
        } else {
            1
        }
    }
    /// Serialise and write atomically.
    pub fn save(&self, path: &Path) -> Result<(), RefError> {
        let s = serde_json::to_vec(self).map_err(|e| RefError::File(e.to_string()))?;
        super::plot::write_atomic(path, &s)
    }
    /// Read and validate (format, version, shapes, finite weights, model ranges).
    pub fn load(path: &Path) -> Result<Self, RefError> {
        let b = std::fs::read(path).map_err(|e| RefError::File(format!("{}: {e}", path.display())))?;
        Self::from_slice(&b)
    }
    /// Parse and validate from bytes.
    pub fn from_slice(b: &[u8]) -> Result<Self, RefError> {
        let s: SavedNet = serde_json::from_slice(b).map_err(|e| RefError::File(e.to_string()))?;
        if s.format != FORMAT || !(VERSION_MIN..=VERSION).contains(&s.version) {
            return Err(RefError::File(format!("not a {FORMAT} file of version {VERSION_MIN}..={VERSION} (format {:?}, version {})", s.format, s.version)));
        }
        s.config.validate()?;
        for (li, l) in s.config.layers.iter().enumerate() {
            match &l.neuron {
                ModelSpec::PerNeuron(p) => {
                    if s.version < 2 {
                        return Err(RefError::File(format!("layer {li}: per-neuron parameters need version 2, the file says {}", s.version)));
                    }
                    p.validate(l.n).map_err(|e| RefError::File(format!("layer {li}: {e}")))?;
                }
                ModelSpec::Builtin(n) => n.validate()?,
                ModelSpec::Gif(g) => g.validate()?,
                ModelSpec::CobaEi(m) => {
                    m.validate()?;
                    if l.n <= m.n_exc {
                        return Err(RefError::Config("COBA E/I: n_exc must be below the layer size"));
                    }
                }
            }
        }
        s.params.check(&s.config)?;
        Ok(s)
    }
}
