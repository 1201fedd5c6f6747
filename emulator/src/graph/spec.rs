//! [`GraphNetworkSpec`]: a `plasticore_core::graph::GraphConfig` plus the weights of every population
//! (dense or compressed rows, in the population's axon layout) and of the readout: what to place on the
//! chip when the network is a graph.

use crate::error::EmuError;
use crate::network::{NetworkSpec, SparseWeights};
use plasticore_core::format::Weight;
use plasticore_core::graph::{BiasMode, GraphConfig, LambdaSource, Layout, Population, Projection, ProjPresyn, ReadoutSpec, Source};
use plasticore_core::readout::Feedback;
use plasticore_core::layer::Csr;

/// The weights of one population, in its axon layout (the blocks of its incoming projections, plastic
/// projections first, each in listed order; see `plasticore_core::graph`), columns = the population's
/// neurons (population-local indices).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PopWeights {
    /// `axons × neurons`, row-major by axon: every pair is a synapse, zero or not.
    Dense(Vec<Weight>),
    /// Compressed rows: exactly the listed synapses exist (a listed zero is a synapse that can learn,
    /// an unlisted pair is none), as core-nostd's `Csr` topology.
    Sparse(SparseWeights),
}

/// A graph network to place on the chip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphNetworkSpec {
    /// Populations, projections, readout, loss window, learning switch.
    pub config: GraphConfig,
    /// One entry per population.
    pub weights: Vec<PopWeights>,
    /// Readout weights V, `neurons of the readout's population × outputs`, row-major by neuron.
    pub readout_weights: Vec<Weight>,
    /// Initial per-neuron biases, one entry per population: empty for a population with
    /// `BiasMode::None`, one i32 per neuron otherwise (the units of `LayerMut::set_bias`: the model's
    /// input units y, Q.`state_frac`; Loihi CUBA: `bias_mant ≪ bias_exp`). A `Learned` bias moves with
    /// its ES-D-RTRL gradient on the core holding the neuron (`GraphMut`'s bits). An empty `Vec` (no
    /// entry at all) means no population has a bias.
    pub bias: Vec<Vec<i32>>,
    /// Per-neuron thresholds and decays, one entry per population: empty for a population with
    /// `ParamMode::Shared`, one validated `ParamSlot` per neuron with `ParamMode::PerNeuron` (what
    /// `LayerMut::set_neuron_params` takes; constant, so not in snapshots). An empty `Vec` means no
    /// population has them.
    pub params: Vec<Vec<plasticore_core::neuron::ParamSlot>>,
    /// Learning epoch in timesteps: 0 or 1 = online; k > 1 = accumulate every step and apply after every
    /// timestep t with (t + 1) mod k = 0 (as `GraphUpdate::Accumulate` + `GraphMut::apply`).
    pub learn_epoch: u32,
}

impl GraphNetworkSpec {
    /// Today's single-layer network as a one-population graph: an input projection of all `inputs`
    /// channels (delay 0) and, when recurrent, a delay-1 projection of the population onto itself, both
    /// plastic, in the same axon layout; dense stays dense, a sparse network's stored (non-zero) synapses
    /// become compressed rows. Needs a readout (a graph always has one).
    pub fn from_network(net: &NetworkSpec) -> Result<Self, EmuError> {
        net.validate()?;
        let ro = net.readout.as_ref().ok_or_else(|| EmuError::Network("a graph needs a readout; this network has none".into()))?;
        let too_many = || EmuError::Network("more populations or projections than a graph holds".into());
        let mut populations = heapless::Vec::new();
        let lambda = match net.feedback {
            Feedback::Symmetric => LambdaSource::Symmetric,
            Feedback::Random { seed } => LambdaSource::RandomFeedback { seed },
            Feedback::External => LambdaSource::External,
        };
        populations.push(Population { neurons: net.neurons as u16, layer: net.layer, lambda, bias: BiasMode::None, params: plasticore_core::graph::ParamMode::Shared }).map_err(|_| too_many())?;
        let mut projections = heapless::Vec::new();
        if net.inputs > 0 {
            let p = Projection { source: Source::Input { first: 0, width: net.inputs as u16 }, target: 0, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit };
            projections.push(p).map_err(|_| too_many())?;
        }
        if net.recurrent {
            let p = Projection { source: Source::Population(0), target: 0, delay: 1, learn: true, shift: 0, presyn: ProjPresyn::Inherit };
            projections.push(p).map_err(|_| too_many())?;
        }
        let config = GraphConfig {
            inputs: net.inputs as u16,
            populations,
            projections,
            readout: ReadoutSpec { source: 0, outputs: ro.outputs as u16, config: ro.config },
            window: net.window,
            learn: net.learn,
        };
        let weights = if net.sparse {
            let mut sw = SparseWeights { row_start: vec![0], ..Default::default() };
            for a in 0..net.axons() {
                net.for_each_stored(a, 0, net.neurons, |j, w| {
                    sw.cols.push(j);
                    sw.weights.push(w);
                });
                sw.row_start.push(sw.cols.len() as u32);
            }
            PopWeights::Sparse(sw)
        } else {
            PopWeights::Dense(net.weights.clone())
        };
        let spec = GraphNetworkSpec { config, weights: vec![weights], readout_weights: ro.weights.clone(), bias: Vec::new(), params: Vec::new(), learn_epoch: net.learn_epoch };
        spec.validate()?;
        Ok(spec)
    }

    /// The compressed-row topologies, one per population (`None` = dense), as `GraphConfig::layout`
    /// takes them.
    pub fn topology(&self) -> Vec<Option<Csr<'_>>> {
        self.weights
            .iter()
            .map(|w| match w {
                PopWeights::Dense(_) => None,
                PopWeights::Sparse(s) => Some(Csr { row_start: &s.row_start, cols: &s.cols }),
            })
            .collect()
    }

    /// Validate the graph (core-nostd's rules), every weight array's size and range, and that the
    /// populations' neurons fit the chip-side global spike ids (Σ neurons ≤ 65536). Returns the layout.
    pub fn validate(&self) -> Result<Layout, EmuError> {
        let np = self.config.populations.len();
        if self.weights.len() != np {
            return Err(EmuError::Network(format!("{} weight arrays for {np} populations", self.weights.len())));
        }
        let lay = self.config.layout(&self.topology())?;
        if !self.bias.is_empty() && self.bias.len() != np {
            return Err(EmuError::Network(format!("{} bias arrays for {np} populations", self.bias.len())));
        }
        for (p, pop) in self.config.populations.iter().enumerate() {
            let found = self.bias.get(p).map_or(0, Vec::len);
            let want = if pop.bias == BiasMode::None { 0 } else { pop.neurons as usize };
            if found != want {
                return Err(EmuError::Network(format!(
                    "population {p}: bias mode {:?} takes {want} biases, found {found}",
                    pop.bias
                )));
            }
        }
        if !self.params.is_empty() && self.params.len() != np {
            return Err(EmuError::Network(format!("{} per-neuron parameter arrays for {np} populations", self.params.len())));
        }
        for (p, pop) in self.config.populations.iter().enumerate() {
            let found = self.params.get(p).map_or(0, Vec::len);
            let want = if pop.params == plasticore_core::graph::ParamMode::Shared { 0 } else { pop.neurons as usize };
            if found != want {
                return Err(EmuError::Network(format!(
                    "population {p}: parameter mode {:?} takes {want} per-neuron parameter records, found {found}",
                    pop.params
                )));
            }
        }
        if lay.neurons > 1 << 16 {
            return Err(EmuError::Network(format!("{} neurons in all; the emulator's spike ids take at most 65536", lay.neurons)));
        }
        for (p, w) in self.weights.iter().enumerate() {
            let l = lay.pops[p];
            let wmax = self.config.populations[p].layer.formats.weight_max();
            let ws = match w {
                PopWeights::Dense(d) => {
                    if d.len() != l.axons * l.neurons {
                        return Err(EmuError::Network(format!(
                            "population {p}: dense weights {} × {} = {} expected, found {}",
                            l.axons,
                            l.neurons,
                            l.axons * l.neurons,
                            d.len()
                        )));
                    }
                    d
                }
                PopWeights::Sparse(s) => {
                    if s.weights.len() != s.cols.len() {
                        return Err(EmuError::Network(format!(
                            "population {p}: compressed weights: {} entries, {} weights",
                            s.cols.len(),
                            s.weights.len()
                        )));
                    }
                    &s.weights
                }
            };
            if let Some(x) = ws.iter().find(|x| (x.0 as i32).abs() > wmax) {
                return Err(EmuError::Network(format!("population {p}: weight {} outside ±{wmax}", x.0)));
            }
        }
        let ro = &self.config.readout;
        let n = lay.pops[ro.source as usize].neurons;
        let o = ro.outputs as usize;
        if self.readout_weights.len() != n * o {
            return Err(EmuError::Network(format!(
                "readout weights: expected {n} × {o} = {}, found {}",
                n * o,
                self.readout_weights.len()
            )));
        }
        let wmax = ro.config.formats.weight_max();
        if let Some(x) = self.readout_weights.iter().find(|x| (x.0 as i32).abs() > wmax) {
            return Err(EmuError::Network(format!("readout weight {} outside ±{wmax}", x.0)));
        }
        Ok(lay)
    }

    /// The per-neuron parameter records of neurons `first..first + len` of population `p` (empty when it
    /// shares its model's scalars).
    pub fn params_slice(&self, p: usize, first: usize, len: usize) -> &[plasticore_core::neuron::ParamSlot] {
        self.params.get(p).and_then(|b| b.get(first..first + len)).unwrap_or(&[])
    }

    /// The biases of neurons `first..first + len` of population `p` (empty without a bias).
    pub fn bias_slice(&self, p: usize, first: usize, len: usize) -> &[i32] {
        self.bias.get(p).and_then(|b| b.get(first..first + len)).unwrap_or(&[])
    }

    /// Is population `p` stored in compressed rows?
    pub fn is_sparse(&self, p: usize) -> bool {
        matches!(self.weights.get(p), Some(PopWeights::Sparse(_)))
    }

    /// Call `f(j, w)` for every synapse of row `a` of population `p` onto its neurons
    /// `first..first + len` (`j` local to the slice, ascending). Dense: every pair; compressed: the listed
    /// ones. Unvalidated input gives an empty row, never a panic.
    pub fn for_each_synapse(&self, p: usize, neurons: usize, a: usize, first: usize, len: usize, mut f: impl FnMut(u16, Weight)) {
        match self.weights.get(p) {
            Some(PopWeights::Sparse(c)) => {
                let (s, e) = match (c.row_start.get(a), c.row_start.get(a + 1)) {
                    (Some(&s), Some(&e)) if s <= e => (s as usize, e as usize),
                    _ => return,
                };
                let (Some(cols), Some(ws)) = (c.cols.get(s..e), c.weights.get(s..e)) else { return };
                let k0 = cols.partition_point(|&j| (j as usize) < first);
                for (&j, &w) in cols[k0..].iter().zip(&ws[k0..]) {
                    if j as usize >= first + len {
                        break;
                    }
                    f((j as usize - first) as u16, w);
                }
            }
            Some(PopWeights::Dense(d)) => {
                if let Some(row) = d.get(a * neurons + first..a * neurons + first + len) {
                    for (j, &w) in row.iter().enumerate() {
                        f(j as u16, w);
                    }
                }
            }
            None => {}
        }
    }

    /// Synapses of row `a` of population `p` onto `first..first + len`.
    pub fn row_count(&self, p: usize, neurons: usize, a: usize, first: usize, len: usize) -> u32 {
        match self.weights.get(p) {
            Some(PopWeights::Sparse(c)) => {
                let (s, e) = match (c.row_start.get(a), c.row_start.get(a + 1)) {
                    (Some(&s), Some(&e)) if s <= e => (s as usize, e as usize),
                    _ => return 0,
                };
                let Some(cols) = c.cols.get(s..e) else { return 0 };
                let lo = cols.partition_point(|&j| (j as usize) < first);
                let hi = cols.partition_point(|&j| (j as usize) < first + len);
                (hi - lo) as u32
            }
            Some(PopWeights::Dense(_)) => len.min(neurons.saturating_sub(first)) as u32,
            None => 0,
        }
    }
}
