//! A run-time-sized network to place on the chip: one hidden layer (optionally recurrent) and an optional
//! readout, with the semantics of `plasticore_core::net::Net` (which is the single-core reference).

use crate::error::EmuError;
use plasticore_core::format::Weight;
use plasticore_core::layer::{Csr, LayerConfig};
use plasticore_core::net::LossWindow;
use plasticore_core::readout::{Feedback, ReadoutConfig};

/// The readout of a network.
#[derive(Clone, Debug)]
pub struct ReadoutSpec {
    /// Configuration.
    pub config: ReadoutConfig,
    /// Number of readout units (1..=256).
    pub outputs: usize,
    /// V, `neurons × outputs`, row-major by hidden neuron.
    pub weights: Vec<Weight>,
}

/// Hidden weights in compressed rows, for networks too large to write as a dense matrix (W1 at N = 16000
/// would need 515 MB): the synapses of axon `a` are `cols[row_start[a]..row_start[a + 1]]` (global neuron
/// indices, strictly increasing) with `weights` at the same positions. A listed zero weight is the same as
/// an unlisted synapse (a sparse core stores neither), so a matrix gives the same chip whichever way it
/// is written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SparseWeights {
    /// Row offsets, `axons + 1` entries from 0 to the number of entries.
    pub row_start: Vec<u32>,
    /// Postsynaptic (global) neuron of each entry.
    pub cols: Vec<u16>,
    /// Weight of each entry.
    pub weights: Vec<Weight>,
}

/// A network: `inputs` external axons (+ `neurons` recurrent axons when `recurrent`) → `neurons` hidden
/// neurons → optional readout. Axon `inputs + j` carries hidden neuron j's spike of the previous step.
#[derive(Clone, Debug)]
pub struct NetworkSpec {
    /// Hidden-layer configuration (neuron model, formats, learning rate, seed).
    pub layer: LayerConfig,
    /// External input axons.
    pub inputs: usize,
    /// Hidden neurons.
    pub neurons: usize,
    /// Recurrent connections (the last `neurons` axons).
    pub recurrent: bool,
    /// Hidden weights, `axons() × neurons`, row-major by axon (empty when `csr` holds them).
    pub weights: Vec<Weight>,
    /// The hidden weights in compressed rows instead of `weights` (only with `sparse`).
    pub csr: Option<SparseWeights>,
    /// Sparse connectivity: a zero weight is a missing synapse, which is not stored, never read and never
    /// learns (cores hold compressed rows and call `LayerMut::new_sparse_validated`). Dense: every
    /// (axon, neuron) pair is a synapse, zero or not.
    pub sparse: bool,
    /// Readout, if any.
    pub readout: Option<ReadoutSpec>,
    /// Learning-signal source (without a readout only `External` can drive learning).
    pub feedback: Feedback,
    /// Steps on which the error is applied and learning happens.
    pub window: LossWindow,
    /// Learning on.
    pub learn: bool,
    /// Learning epoch in timesteps: 0 or 1 = online (`LayerMut::learn` every step, O(N) memory);
    /// k > 1 = `LayerMut::accumulate` every step (O(N²) accumulators) and `apply_accumulated` after every
    /// timestep t with (t + 1) mod k = 0, as `Net`'s `UpdateMode::Accumulate` + `Net::apply`; a learning
    /// readout likewise (`ReadoutMut::accumulate` / `apply_accumulated`, O(N·O) accumulators).
    pub learn_epoch: u32,
}

impl NetworkSpec {
    /// Presynaptic axons of the hidden layer.
    pub fn axons(&self) -> usize {
        self.inputs + if self.recurrent { self.neurons } else { 0 }
    }

    /// Check sizes and the core's configuration rules.
    pub fn validate(&self) -> Result<(), EmuError> {
        if self.neurons == 0 || self.neurons > u16::MAX as usize {
            return Err(EmuError::Network(format!("neurons = {} must be in 1..=65535", self.neurons)));
        }
        let axons = self.axons();
        if axons == 0 || axons > u16::MAX as usize {
            return Err(EmuError::Network(format!("axons = {axons} must be in 1..=65535")));
        }
        self.layer.validate(axons, self.layer.neuron.states())?;
        let wmax = self.layer.formats.weight_max();
        if let Some(c) = &self.csr {
            if !self.sparse {
                return Err(EmuError::Network("hidden weights in compressed rows need `sparse`".into()));
            }
            if !self.weights.is_empty() {
                return Err(EmuError::Network("hidden weights given twice (dense `weights` and `csr`)".into()));
            }
            Csr { row_start: &c.row_start, cols: &c.cols }.validate(axons, self.neurons)?;
            if c.weights.len() != c.cols.len() {
                return Err(EmuError::Network(format!(
                    "compressed hidden weights: {} entries, {} weights",
                    c.cols.len(),
                    c.weights.len()
                )));
            }
            if let Some(w) = c.weights.iter().find(|w| (w.0 as i32).abs() > wmax) {
                return Err(EmuError::Network(format!("hidden weight {} outside ±{wmax}", w.0)));
            }
        } else {
            if self.weights.len() != axons * self.neurons {
                return Err(EmuError::Network(format!(
                    "hidden weights: expected {} × {} = {}, found {}",
                    axons,
                    self.neurons,
                    axons * self.neurons,
                    self.weights.len()
                )));
            }
            if let Some(w) = self.weights.iter().find(|w| (w.0 as i32).abs() > wmax) {
                return Err(EmuError::Network(format!("hidden weight {} outside ±{wmax}", w.0)));
            }
        }
        if let Some(r) = &self.readout {
            r.config.validate(self.neurons, r.outputs)?;
            if r.weights.len() != self.neurons * r.outputs {
                return Err(EmuError::Network(format!(
                    "readout weights: expected {} × {} = {}, found {}",
                    self.neurons,
                    r.outputs,
                    self.neurons * r.outputs,
                    r.weights.len()
                )));
            }
            let wmax = r.config.formats.weight_max();
            if let Some(w) = r.weights.iter().find(|w| (w.0 as i32).abs() > wmax) {
                return Err(EmuError::Network(format!("readout weight {} outside ±{wmax}", w.0)));
            }
        }
        Ok(())
    }

    /// Call `f(j, w)` for every synapse of axon `a` onto the neurons `first..first + len` that a sparse
    /// core stores: the non-zero weights, `j` local and ascending, whether the network gives its matrix
    /// densely or in compressed rows. (A dense core stores every pair and does not use this.)
    pub fn for_each_stored(&self, a: usize, first: usize, len: usize, mut f: impl FnMut(u16, Weight)) {
        match &self.csr {
            Some(c) => {
                // Unvalidated input gives an empty row, never a panic.
                let (s, e) = match (c.row_start.get(a), c.row_start.get(a + 1)) {
                    (Some(&s), Some(&e)) => (s as usize, e as usize),
                    _ => return,
                };
                let (Some(cols), Some(ws)) = (c.cols.get(s..e), c.weights.get(s..e)) else { return };
                let k0 = cols.partition_point(|&j| (j as usize) < first);
                for (&j, &w) in cols[k0..].iter().zip(&ws[k0..]) {
                    if j as usize >= first + len {
                        break;
                    }
                    if w.0 != 0 {
                        f((j as usize - first) as u16, w);
                    }
                }
            }
            None => {
                let n = self.neurons;
                if let Some(row) = self.weights.get(a * n + first..a * n + first + len) {
                    for (j, &w) in row.iter().enumerate() {
                        if w.0 != 0 {
                            f(j as u16, w);
                        }
                    }
                }
            }
        }
    }

    /// The hidden weights as a dense `axons × neurons` matrix (zeros where there is no synapse).
    pub fn dense_weights(&self) -> Vec<Weight> {
        match &self.csr {
            None => self.weights.clone(),
            Some(_) => {
                let n = self.neurons;
                let mut w = vec![Weight(0); self.axons() * n];
                for a in 0..self.axons() {
                    self.for_each_stored(a, 0, n, |j, v| w[a * n + j as usize] = v);
                }
                w
            }
        }
    }
}
