//! Owned, run-time-sized storage behind core-nostd's borrowed buffers: [`LayerStore`] for a layer (or a
//! core's slice of one, [`Buffers`]) and [`ReadoutStore`] for a readout ([`ReadoutBuffers`]). The
//! emulator's cores own them, and so does the direct reference of the emulator's tests, so the
//! field-by-field borrowing is written once.

use plasticore_core::format::Weight;
use plasticore_core::layer::{Buffers, LayerScalars, Saturations};
use plasticore_core::readout::ReadoutBuffers;

/// The buffers of `axons` × `neurons` with `states` state variables per neuron (lengths as
/// `LayerMut::new` checks them; `weights` as given: dense, compressed rows, or empty when frozen).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayerStore {
    /// Weights (see `Buffers::weights`).
    pub weights: Vec<Weight>,
    /// Neuron states, `neurons × states`.
    pub state: Vec<i32>,
    /// ẽ^f, `neurons × states`.
    pub etrace: Vec<i32>,
    /// ε^x per axon.
    pub xtrace: Vec<u16>,
    /// STD/STP state per axon.
    pub presyn: Vec<[i32; 2]>,
    /// Released efficacy per axon.
    pub efficacy: Vec<i32>,
    /// Dendritic accumulators per neuron.
    pub acc: Vec<i32>,
    /// ψ per neuron.
    pub psi: Vec<i32>,
    /// Gradient factors per neuron (scratch).
    pub grad: Vec<i64>,
    /// Counters and update count.
    pub scalars: LayerScalars,
}

impl LayerStore {
    /// Zeroed buffers around `weights`.
    pub fn new(weights: Vec<Weight>, axons: usize, neurons: usize, states: usize) -> Self {
        LayerStore {
            weights,
            state: vec![0; neurons * states],
            etrace: vec![0; neurons * states],
            xtrace: vec![0; axons],
            presyn: vec![[0; 2]; axons],
            efficacy: vec![0; axons],
            acc: vec![0; neurons],
            psi: vec![0; neurons],
            grad: vec![0; neurons],
            scalars: LayerScalars::default(),
        }
    }

    /// Borrow every buffer, for `LayerMut::new` and its siblings.
    pub fn buffers(&mut self) -> Buffers<'_> {
        Buffers {
            weights: &mut self.weights,
            state: &mut self.state,
            etrace: &mut self.etrace,
            xtrace: &mut self.xtrace,
            presyn: &mut self.presyn,
            efficacy: &mut self.efficacy,
            acc: &mut self.acc,
            psi: &mut self.psi,
            grad: &mut self.grad,
            scalars: &mut self.scalars,
        }
    }
}

/// The buffers of a readout of `outputs` units over `inputs` hidden neurons.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadoutStore {
    /// V, `inputs × outputs`.
    pub weights: Vec<Weight>,
    /// r_k.
    pub r: Vec<i32>,
    /// ε^o per input.
    pub otrace: Vec<u16>,
    /// Error per output.
    pub err: Vec<i32>,
    /// Gradient factors per output (scratch).
    pub grad: Vec<i64>,
    /// Counters.
    pub sat: Saturations,
    /// Learning steps so far.
    pub updates: u32,
}

impl ReadoutStore {
    /// Zeroed buffers around `weights`.
    pub fn new(weights: Vec<Weight>, inputs: usize, outputs: usize) -> Self {
        ReadoutStore {
            weights,
            r: vec![0; outputs],
            otrace: vec![0; inputs],
            err: vec![0; outputs],
            grad: vec![0; outputs],
            sat: Saturations::default(),
            updates: 0,
        }
    }

    /// Borrow every buffer, for `ReadoutMut::new`.
    pub fn buffers(&mut self) -> ReadoutBuffers<'_> {
        ReadoutBuffers {
            weights: &mut self.weights,
            r: &mut self.r,
            otrace: &mut self.otrace,
            err: &mut self.err,
            grad: &mut self.grad,
            sat: &mut self.sat,
            updates: &mut self.updates,
        }
    }
}

/// The pooled buffers of a whole graph behind `plasticore_core::graph::GraphMut` (the direct
/// reference the emulator's graph tests compare with, and a host-side owner of any graph, dense or
/// compressed).
pub struct GraphStore {
    /// Per-population storage (pool order).
    pub pool: LayerStore,
    /// Counters, one per population.
    pub scalars: Vec<LayerScalars>,
    /// Readout storage.
    pub readout: ReadoutStore,
    /// Σ B·e per neuron.
    pub fb: Vec<i32>,
    /// Per-neuron biases in pool order (GraphMut reads the entries of populations whose `BiasMode` is not `None`; zero until the caller sets them).
    pub bias: Vec<i32>,
    /// Per-neuron parameter records (`Layout::param_slots`: the populations with
    /// `ParamMode::PerNeuron`, in pool order; empty slots until the caller sets them).
    pub params: Vec<plasticore_core::neuron::ParamSlot>,
    /// Spike history.
    pub hist: Vec<u16>,
    /// History counts.
    pub hist_count: Vec<u16>,
    /// Active-axon scratch.
    pub active: Vec<u16>,
    /// Spike scratch.
    pub spikes: Vec<u16>,
    /// δ scratch.
    pub delta: Vec<i32>,
    /// Graph counters.
    pub gs: plasticore_core::graph::GraphScalars,
}

impl GraphStore {
    /// Zeroed buffers for `lay` around the populations' weights (concatenated in population order, each
    /// dense or in compressed-row order) and the readout's.
    pub fn new(lay: &plasticore_core::graph::Layout, weights: Vec<Weight>, readout_weights: Vec<Weight>, outputs: usize) -> Self {
        let mut pool = LayerStore::new(weights, lay.axons, lay.neurons, 1);
        // STD/STP state only for the axons that have it.
        pool.presyn = vec![[0; 2]; lay.presyn];
        pool.efficacy = vec![0; lay.presyn];
        pool.state = vec![0; lay.states];
        pool.etrace = vec![0; lay.states];
        let n_ro = readout_weights.len().checked_div(outputs).unwrap_or(0);
        GraphStore {
            pool,
            scalars: vec![LayerScalars::default(); lay.populations],
            readout: ReadoutStore::new(readout_weights, n_ro, outputs),
            fb: vec![0; lay.neurons],
            bias: vec![0; lay.neurons],
            params: vec![plasticore_core::neuron::ParamSlot::EMPTY; lay.param_slots],
            hist: vec![0; lay.hist_len()],
            hist_count: vec![0; lay.hist_counts()],
            active: vec![0; lay.max_axons],
            spikes: vec![0; lay.max_neurons],
            delta: vec![0; lay.max_neurons],
            gs: plasticore_core::graph::GraphScalars::default(),
        }
    }

    /// The graph datapath over these buffers (validates `cfg` with `topology`).
    pub fn view<'a>(
        &'a mut self,
        cfg: &'a plasticore_core::graph::GraphConfig,
        topology: &[Option<plasticore_core::layer::Csr<'a>>],
    ) -> Result<plasticore_core::graph::GraphMut<'a>, plasticore_core::error::ConfigError> {
        let p = &mut self.pool;
        let b = plasticore_core::graph::GraphBuffers {
            pool: plasticore_core::graph::PoolBuffers {
                weights: &mut p.weights,
                state: &mut p.state,
                etrace: &mut p.etrace,
                xtrace: &mut p.xtrace,
                presyn: &mut p.presyn,
                efficacy: &mut p.efficacy,
                acc: &mut p.acc,
                psi: &mut p.psi,
                grad: &mut p.grad,
                bias: &mut self.bias,
                // Per-neuron parameters are rejected by `GraphNetworkSpec::validate`.
                params: &mut self.params,
                scalars: &mut self.scalars,
            },
            readout: self.readout.buffers(),
            fb: &mut self.fb,
            hist: &mut self.hist,
            hist_count: &mut self.hist_count,
            active: &mut self.active,
            spikes: &mut self.spikes,
            delta: &mut self.delta,
            scalars: &mut self.gs,
        };
        plasticore_core::graph::GraphMut::new(cfg, topology, b)
    }
}
