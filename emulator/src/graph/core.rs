//! [`PopCore`]: a core holding a contiguous slice of one population of a graph. It owns run-time-sized
//! buffers, builds core-nostd's `LayerMut` over them (population-local neuron offset, plastic axons as
//! the graph lays them out) and calls its phases; its delay buffer holds the spikes that arrived for
//! later timesteps. No neuron or learning arithmetic of its own.

use crate::core_unit::CoreOps;
use crate::error::EmuError;
use crate::graph::spec::GraphNetworkSpec;
use crate::storage::LayerStore;
use plasticore_core::format::Weight;
use plasticore_core::graph::{backprop_partial, downstream_delta, BiasMode, LamOf, Layout, Source};
use plasticore_core::layer::{AxonGroup, Csr, LayerConfig, LayerMut, LayerScalars, Signal};

/// One incoming projection of the core's population, in axon-block order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Incoming {
    /// Projection index.
    pub q: usize,
    /// First axon of its block.
    pub block: usize,
    /// Its source.
    pub source: Source,
    /// Its delay.
    pub delay: u8,
}

/// A core holding neurons `first..first + len` of population `population`.
pub struct PopCore {
    /// Population index.
    pub population: usize,
    /// First population-local neuron.
    pub first: usize,
    /// Local neurons.
    pub len: usize,
    pub(crate) axons: usize,
    pub(crate) plastic: usize,
    pub(crate) cfg: LayerConfig,
    /// Weights (dense `axons × len`, or compressed rows), states, traces, counters.
    pub(crate) store: LayerStore,
    pub(crate) row_start: Vec<u32>,
    pub(crate) cols: Vec<u16>,
    pub(crate) sparse: bool,
    /// Synapses per row on this core.
    pub(crate) stored: Vec<u32>,
    pub(crate) incoming: Vec<Incoming>,
    /// Delay buffer: `ring[slot · incoming.len() + k]` lists the source neurons (population-local) whose
    /// spikes reach this core through incoming projection k at the step whose ring slot is `slot`.
    pub(crate) ring: Vec<Vec<u16>>,
    pub(crate) active: Vec<u16>,
    pub(crate) spikes: Vec<u16>,
    pub(crate) listed: usize,
    pub(crate) ops: CoreOps,
    /// Σ B·e of its neurons (Q.signal_frac) for this step's learning signal.
    pub(crate) fb: Vec<i32>,
    /// δ of its neurons (backprop scratch).
    pub(crate) delta: Vec<i32>,
    /// Exact partial sums Σ_i W·δ of one backprop, one per source neuron of the upstream population.
    pub(crate) partial: Vec<i64>,
    /// Synapses read by the last backprop.
    pub(crate) backprop_ops: u32,
    /// Weight-update accumulator in learning-epoch mode (its weights, then its neurons when the bias
    /// learns, as `LayerMut::accumulate` takes it), else empty.
    pub(crate) acc_w: Vec<i32>,
    /// The population's bias mode.
    pub(crate) bias_mode: BiasMode,
    /// Biases of its neurons (empty with `BiasMode::None`), given to `LayerMut::set_bias`.
    pub(crate) bias: Vec<i32>,
    /// Per-neuron thresholds and decays of its neurons (empty when the population shares its model's),
    /// given to `LayerMut::set_neuron_params`.
    pub(crate) params: Vec<plasticore_core::neuron::ParamSlot>,
    /// The population's axon groups (per-projection weight shifts and STD/STP), given to
    /// `LayerMut::set_axon_groups`; empty when the population has none (every core holds all its
    /// axon rows in the graph's layout, so the population's groups apply as they are).
    pub(crate) groups: Vec<AxonGroup>,
}

/// How many events of one incoming projection a core keeps this step, so that its active list is
/// `GraphMut`'s restricted to the rows it stores (see [`PopCore::deliver`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keep {
    /// An input projection: the first `n` in-range events of the host's list, in order.
    First(u32),
    /// A population projection: the source's spikes with a local id below this (ascending order).
    Below(u32),
}

impl PopCore {
    /// Buffers for the slice, with its synapses copied out of the network.
    pub(crate) fn new(spec: &GraphNetworkSpec, lay: &Layout, population: usize, first: usize, len: usize, stored: Vec<u32>) -> Result<Self, EmuError> {
        let cfg = spec.config.populations[population].layer;
        let l = lay.pops[population];
        let sparse = spec.is_sparse(population);
        let (mut weights, mut row_start, mut cols) = (Vec::new(), Vec::new(), Vec::new());
        if sparse {
            row_start.push(0u32);
            for a in 0..l.axons {
                spec.for_each_synapse(population, l.neurons, a, first, len, |j, w| {
                    cols.push(j);
                    weights.push(w);
                });
                if weights.len() > u32::MAX as usize {
                    return Err(EmuError::Network("more than 2^32 - 1 synapses on one core".into()));
                }
                row_start.push(weights.len() as u32);
            }
            Csr { row_start: &row_start, cols: &cols }.validate(l.axons, len)?;
        } else {
            weights.reserve(l.axons * len);
            for a in 0..l.axons {
                spec.for_each_synapse(population, l.neurons, a, first, len, |_, w| weights.push(w));
            }
        }
        let mut incoming = Vec::new();
        for pass in [true, false] {
            for (q, pr) in spec.config.projections.iter().enumerate() {
                if pr.target as usize == population && pr.learn == pass {
                    incoming.push(Incoming { q, block: lay.block[q], source: pr.source, delay: pr.delay });
                }
            }
        }
        let groups = if l.grouped { spec.config.axon_groups(lay)[l.group_off..l.group_off + l.groups].to_vec() } else { Vec::new() };
        let mut store = LayerStore::new(weights, l.axons, len, l.states);
        // STD/STP state only for the axons whose projection has it (the population's layout).
        store.presyn = vec![[0; 2]; l.presyn];
        store.efficacy = vec![0; l.presyn];
        let mut c = PopCore {
            population,
            first,
            len,
            axons: l.axons,
            plastic: l.plastic,
            cfg,
            store,
            row_start,
            cols,
            sparse,
            stored,
            ring: vec![Vec::new(); lay.depth * incoming.len()],
            incoming,
            active: Vec::with_capacity(l.axons),
            spikes: vec![0; len],
            listed: 0,
            ops: CoreOps::default(),
            fb: vec![0; len],
            delta: vec![0; len],
            partial: Vec::new(),
            backprop_ops: 0,
            acc_w: Vec::new(),
            bias_mode: spec.config.populations[population].bias,
            bias: spec.bias_slice(population, first, len).to_vec(),
            params: spec.params_slice(population, first, len).to_vec(),
            groups,
        };
        c.view()?.reset_state();
        Ok(c)
    }

    /// The core's datapath over its buffers.
    pub fn view(&mut self) -> Result<LayerMut<'_>, EmuError> {
        let b = self.store.buffers();
        let mut v = if self.sparse {
            let csr = Csr { row_start: &self.row_start, cols: &self.cols };
            LayerMut::new_sparse_validated(&self.cfg, b, csr, self.axons, self.len, self.first as u32)?
        } else {
            LayerMut::new(&self.cfg, b, self.axons, self.len, self.first as u32)?
        };
        v.set_plastic_axons(self.plastic);
        if !self.groups.is_empty() {
            v.set_axon_groups(&self.groups)?;
        }
        if self.bias_mode != BiasMode::None {
            v.set_bias(&mut self.bias, self.bias_mode == BiasMode::Learned)?;
        }
        if !self.params.is_empty() {
            v.set_neuron_params(&self.params)?;
        }
        Ok(v)
    }

    /// Entries of the learning-epoch accumulator: its weights, then its neurons when the bias learns.
    pub(crate) fn accumulator_len(&self) -> usize {
        self.store.weights.len() + if self.bias_mode == BiasMode::Learned { self.len } else { 0 }
    }

    /// Phase **deliver**: the active list in the graph's order (incoming projections in block order;
    /// input events as filtered by the host, in their order; a population's spikes ascending), each
    /// projection cut by `keep` (one entry per incoming projection). `GraphMut` caps a population's
    /// active list at its axon count and drops the events beyond it; the host computes from the whole
    /// list where that cut falls in each projection ([`Keep`]), so a core that stores only some rows
    /// (and so sees only some events) keeps exactly the events `GraphMut` keeps on those rows, whatever
    /// it was sent. Empties this step's delay slots.
    pub(crate) fn deliver(&mut self, head: usize, depth: usize, inputs: &[Vec<u16>], keep: &[Keep]) {
        let mut ops = CoreOps::default();
        self.active.clear();
        let k_in = self.incoming.len();
        for (k, inc) in self.incoming.iter().enumerate() {
            let keep = keep.get(k).copied().unwrap_or(Keep::First(0));
            match (inc.source, keep) {
                (Source::Input { first, width }, Keep::First(n)) => {
                    let slot = (head + depth - inc.delay as usize) % depth;
                    let evs = inputs.get(slot).map(|v| &v[..]).unwrap_or(&[]);
                    for &e in evs.iter().filter(|&&e| e >= first && e - first < width).take(n as usize) {
                        self.active.push((inc.block + (e - first) as usize) as u16);
                    }
                }
                (Source::Population(_), keep) => {
                    let below = if let Keep::Below(b) = keep { b } else { 0 };
                    let v = &mut self.ring[head * k_in + k];
                    v.sort_unstable();
                    for &e in v.iter().take_while(|&&e| (e as u32) < below) {
                        self.active.push((inc.block + e as usize) as u16);
                    }
                    v.clear();
                }
                _ => {}
            }
        }
        ops.events_in = self.active.len() as u32;
        ops.syn_stored = self.active.iter().map(|&a| self.stored.get(a as usize).copied().unwrap_or(0) as u64).sum();
        self.ops = ops;
    }

    /// Phase **integrate**: `LayerMut::integrate` over the active list.
    pub(crate) fn integrate(&mut self, learn: bool) -> Result<(), EmuError> {
        let active = std::mem::take(&mut self.active);
        let r = self.view().map(|mut l| l.integrate(&active, learn));
        self.active = active;
        self.ops.integrate = r?;
        Ok(())
    }

    /// Phase **fire**: `LayerMut::fire`, listing the local spikes.
    pub(crate) fn fire(&mut self, learn: bool) -> Result<(), EmuError> {
        let mut spikes = std::mem::take(&mut self.spikes);
        let r = self.view().map(|mut l| l.fire(learn, &mut spikes));
        self.spikes = spikes;
        let (f, listed) = r?;
        self.ops.fire = f;
        self.listed = listed;
        Ok(())
    }

    /// Backprop, downstream side: δ of the local neurons from their learning signal (core-nostd's
    /// `downstream_delta`), then the exact partial sums Σ_i W_{j→i}·δ_i over the local columns of rows
    /// `block + j`, j < `upstream` (core-nostd's `backprop_partial`), into `partial`.
    pub(crate) fn backprop(&mut self, lam: Option<&[i32]>, dvdy: i32, block: usize, upstream: usize) {
        let sf = self.cfg.formats.signal_frac as u32;
        let lam_of = match lam {
            Some(l) => LamOf::Lambda(l),
            None => LamOf::Feedback(&self.fb),
        };
        downstream_delta(lam_of, &self.store.psi, sf, dvdy, &mut self.delta);
        let topo = self.sparse.then(|| Csr { row_start: &self.row_start, cols: &self.cols });
        self.partial.clear();
        let mut n = 0u32;
        for j in 0..upstream {
            let (s, k) = backprop_partial(topo, &self.store.weights, self.len, self.axons, block + j, &self.delta);
            self.partial.push(s);
            n = n.saturating_add(k);
        }
        self.backprop_ops = self.backprop_ops.saturating_add(n);
    }

    /// Phase **learn** with this core's learning signal (`lambda` = its slice of the host's λ, else its
    /// `fb`): `LayerMut::learn`, or `LayerMut::accumulate` into the epoch accumulator.
    pub(crate) fn learn(&mut self, lambda: Option<&[i32]>, accumulate: bool) -> Result<(), EmuError> {
        let fb = std::mem::take(&mut self.fb);
        let sig = match lambda {
            Some(l) => Signal::Lambda(l),
            None => Signal::Feedback(&fb),
        };
        let r = if accumulate {
            let mut acc = std::mem::take(&mut self.acc_w);
            let r = self.view().and_then(|mut v| Ok(v.accumulate(sig, &mut acc)?));
            self.acc_w = acc;
            r
        } else {
            self.view().map(|mut v| v.learn(sig))
        };
        self.fb = fb;
        self.ops.learn = r?;
        Ok(())
    }

    /// End of a learning epoch: `LayerMut::apply_accumulated`.
    pub(crate) fn apply_accumulated(&mut self) -> Result<(), EmuError> {
        let mut acc = std::mem::take(&mut self.acc_w);
        let r = self.view().and_then(|mut v| Ok(v.apply_accumulated(&mut acc)?));
        self.acc_w = acc;
        self.ops.learn.add(&r?);
        Ok(())
    }

    /// Local spikes of the last `fire` (local indices, ascending).
    pub fn spikes(&self) -> &[u16] {
        &self.spikes[..self.listed]
    }
    /// The weights as a dense `axons × len` matrix (zeros where a compressed core has no synapse).
    pub fn dense_weights(&self) -> Vec<Weight> {
        if !self.sparse {
            return self.store.weights.clone();
        }
        let mut w = vec![Weight(0); self.axons * self.len];
        for a in 0..self.axons {
            let (s, e) = (self.row_start[a] as usize, self.row_start[a + 1] as usize);
            for (&j, &v) in self.cols[s..e].iter().zip(&self.store.weights[s..e]) {
                w[a * self.len + j as usize] = v;
            }
        }
        w
    }
    /// Stored weights (dense rows or compressed rows).
    pub fn weights(&self) -> &[Weight] {
        &self.store.weights
    }
    /// Neuron states (`len × states`).
    pub fn state(&self) -> &[i32] {
        &self.store.state
    }
    /// ẽ^f (`len × states`).
    pub fn etrace(&self) -> &[i32] {
        &self.store.etrace
    }
    /// ε^x of the population's axons as this core sees them (exact on every row with a synapse here;
    /// rows without one receive no spikes on this core and are never read).
    pub fn xtrace(&self) -> &[u16] {
        &self.store.xtrace
    }
    /// Synapses per row on this core.
    pub fn stored(&self) -> &[u32] {
        &self.stored
    }
    /// Σ B·e of the last learning step (Q.signal_frac; λ = ψ·this).
    pub fn feedback(&self) -> &[i32] {
        &self.fb
    }
    /// ψ of the last `fire` with learning on.
    pub fn psi(&self) -> &[i32] {
        &self.store.psi
    }
    /// Biases of its neurons (empty without a bias).
    pub fn bias(&self) -> &[i32] {
        &self.bias
    }
    /// Counters.
    pub fn scalars(&self) -> &LayerScalars {
        &self.store.scalars
    }
    /// What the core did this timestep.
    pub fn ops(&self) -> &CoreOps {
        &self.ops
    }
}
