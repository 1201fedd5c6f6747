//! Float → fixed-point weight scales: the per-projection power-of-two scale search that keeps activity
//! alive (issue 11, item 1; the image writing and the network configuration are the graph network's).
//!
//! A projection's weights become mantissas `m = clamp(round(w·2^f), ±(2^(b−1) − 1))` of `b` bits (8 or 16
//! on the chips; 2..=16 accepted) with one binary point `f` per projection: the value is `m·2^−f`, as the
//! core's `Weight` with `weight_frac = f` (`core-nostd/src/format.rs`). Rounding is to nearest, ties away
//! from zero (`f64::round`, the configuration-time rounding); out-of-range values saturate and are counted.
//! A large `f` keeps small weights but clips large ones; a small `f` keeps large weights but rounds small
//! ones to 0 — and a population whose input weights round to 0 goes silent, one whose inhibition is
//! clipped saturates. Which `f` is right depends on the activity, so the search measures it.
//!
//! Module tree:
//! - this file: [`Projection`] (what is quantized), [`Activity`] and the [`Calibration`] trait (how a
//!   network with given weights behaves on calibration inputs), errors;
//! - [`weights`]: quantizing one weight vector at a given `f`, with counts of zeroed and clipped weights;
//! - [`search`]: the search over `f` per projection and the report of silent / saturated populations;
//! - [`float_net`]: a [`Calibration`] over the float reference (`reference::net`) with quantized weights
//!   substituted ("fake quantization": the weight rounding is modelled, the state formats are not).
//!
//! Contract of a [`Calibration`]: `run` is deterministic (same weights → same activities), reports one
//! [`Activity`] per population in the order of `populations()`, and takes the weights of every projection
//! in the order the projections were given to [`search::search`].
pub mod float_net;
pub mod search;
pub mod weights;

/// One projection (a block of synapses from one source population to one target population).
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// Name used in reports, e.g. `L0.in`.
    pub name: String,
    /// Name of the population it drives (one of [`Calibration::populations`]).
    pub target: String,
    /// Source neurons (rows).
    pub n_source: usize,
    /// Target neurons (columns).
    pub n_target: usize,
    /// Float weights, row-major `w[i*n_target + j]`, threshold units.
    pub w: Vec<f64>,
}

impl Projection {
    /// Check shape and finiteness.
    pub fn validate(&self) -> Result<(), QuantizeError> {
        if self.w.len() != self.n_source * self.n_target {
            return Err(QuantizeError::Shape { projection: self.name.clone(), expected: self.n_source * self.n_target, got: self.w.len() });
        }
        if let Some(i) = self.w.iter().position(|v| !v.is_finite()) {
            return Err(QuantizeError::NonFinite { projection: self.name.clone(), index: i });
        }
        Ok(())
    }
}

/// What one population did on the calibration inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Activity {
    /// Spikes per neuron per step (`None` for a non-spiking population such as a readout).
    pub rate: Option<f64>,
    /// Low end of the membrane (or output) range: its 1st percentile over neurons and steps, threshold units.
    pub lo: f64,
    /// High end: the 99th percentile.
    pub hi: f64,
}

/// How a network behaves with given weights (see the module doc for the contract).
pub trait Calibration {
    /// Population names, in the order [`Calibration::run`] reports them.
    fn populations(&self) -> Vec<String>;
    /// Run the calibration inputs with `weights[k]` as the weights of projection k; one activity per
    /// population.
    fn run(&mut self, weights: &[Vec<f64>]) -> Result<Vec<Activity>, QuantizeError>;
}

/// Why a quantization could not be done.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum QuantizeError {
    /// Weight bits outside 2..=16 or an empty / reversed range of binary points.
    #[error("invalid quantization configuration: {0}")]
    Config(String),
    /// A projection's weight count is not n_source × n_target.
    #[error("projection {projection}: {got} weights, expected {expected}")]
    Shape {
        /// Projection.
        projection: String,
        /// n_source × n_target.
        expected: usize,
        /// Found.
        got: usize,
    },
    /// A weight is NaN or infinite.
    #[error("projection {projection}: weight {index} is not finite")]
    NonFinite {
        /// Projection.
        projection: String,
        /// Flat index.
        index: usize,
    },
    /// A projection targets a population the calibration does not know.
    #[error("projection {projection} targets `{target}`, which is not a population of the network")]
    UnknownTarget {
        /// Projection.
        projection: String,
        /// Its target.
        target: String,
    },
    /// The calibration failed or broke its contract.
    #[error("calibration: {0}")]
    Calibration(String),
    /// A float layer the fixed-point core cannot hold ([`float_net::core_layers`]).
    #[error("layer {layer} (per-neuron population): {field}: {problem}")]
    Unconvertible {
        /// Layer index.
        layer: usize,
        /// The field (or array) at fault.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

#[cfg(test)]
mod tests;
