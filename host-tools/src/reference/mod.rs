//! The float reference of the learning algorithms (issue 3): models, BPTT, D-RTRL, ES-D-RTRL, full RTRL,
//! e-prop, the on-chip rule of spec §8 in float, optimisers, and fast f32 kernels for the W2 workload.
//!
//! Code map:
//! - [`scalar`]: `f64`/`f32`/[`scalar::Dual`]; the spike function carries the surrogate derivative.
//! - [`model`]: [`model::NeuronModel`] (written once, generic over the scalar) and the built-in
//!   [`model::Neuron`] (LIF/ALIF × delta/exponential synapse, closed-form D_t, D^f_t), presynaptic STD/STP.
//! - [`net`]: multi-layer recurrent networks, the forward step, losses, the adjoint step.
//! - [`algo`]: BPTT, RTRL (oracle), D-RTRL, ES-D-RTRL, e-prop, batch gradients.
//! - [`optim`]: SGD, Adam, global-norm clipping.
//! - [`onchip`]: spec §8.1 in float.
//! - [`fast`]: specialised f32 kernels for W2 (LIF + exponential synapse), checked against [`algo`].
//! - [`gif`]: a GIF neuron (§1.6) that is not built in, written only as a generic `step`.
//! - [`coba_ei`]: the paper's EI-GIF neuron with three conductance (COBA) input ports, generic `step_ports`.
//! - [`io`]: the trained-network file format and [`io::ModelSpec`].
//! - [`train`]: the training loop of spec §4.2 and accuracy.
//! - [`rng`]: the seeded PRNG.
//! - [`plot`]: SVG line charts and atomic file writes for the study commands.
//! - [`study`]: the gradient-cosine and memory studies behind `plasticore grad-study` / `mem-study`.
// The kernels index several arrays with the spec's i, j, k indices; iterator chains would hide them.
#![allow(clippy::needless_range_loop)]

pub mod algo;
pub mod coba_ei;
pub mod fast;
pub mod gif;
pub mod io;
pub mod model;
pub mod net;
pub mod onchip;
pub mod optim;
pub mod per_neuron;
pub mod plot;
pub mod rng;
pub mod scalar;
pub mod study;
pub mod train;

/// Errors of the reference library (bad configurations, shapes, files).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RefError {
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(&'static str),
    /// A vector has the wrong length.
    #[error("shape mismatch for {what}: expected {expected}, got {got}")]
    Shape {
        /// What was checked.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// The combination is not supported by this algorithm.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// Reading or parsing a file failed.
    #[error("file error: {0}")]
    File(String),
}
