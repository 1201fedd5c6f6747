//! [`GraphMut`]: one timestep of a graph over borrowed, pooled buffers. The phases, in this order
//! (`es-d-rtrl.md` §8.1, per population in list order):
//!
//! 1. **deliver**: this step's input events into the spike history; each population's active axons
//!    are gathered from the history slots of its projections' delays.
//! 2. **integrate** + 3. **fire** (per population, in order): [`LayerMut::integrate`], [`LayerMut::fire`];
//!    the spikes go into the history (a delay-0 projection reads them in the same step).
//! 4. **readout**: r ← κ·r + V·s of the readout's population, ε^o.
//! 5. **error** inside the loss window.
//! 6. **learning signal** (per population, in reverse order; see the module docs of [`crate::graph`]).
//! 7. **learn**: every population with a signal, then the readout; online or accumulated.

use super::{GraphConfig, LambdaSource, Layout, PopLayout, Source, MAX_POPULATIONS, MAX_PROJECTIONS};
use crate::arith::{sat_i32, shift_nearest, shr_nearest};
use crate::checksum::Fnv;
use crate::error::{ConfigError, Field};
use crate::format::{Rounding, Weight, WeightStore, JAC_FRAC};
use crate::layer::{row_of, AxonGroup, Buffers, Csr, LayerMut, LayerScalars, OpCounts, Signal};
use crate::net::{StepReport, Timestep};
use crate::readout::{Feedback, ReadoutBuffers, ReadoutMut, Target};

/// The per-population buffers, pooled: population p uses the ranges of its [`PopLayout`].
pub struct PoolBuffers<'a, W: WeightStore = Weight> {
    /// Weights (Σ of each population's weights; row-major by axon, or CSR order), 16-bit
    /// ([`Weight`]) or 8-bit ([`crate::format::Weight8`], one byte per synapse: every population's
    /// `weight_bits` must then be ≤ 8).
    pub weights: &'a mut [W],
    /// Neuron states (Σ neurons × states).
    pub state: &'a mut [i32],
    /// ẽ^f (Σ neurons × states).
    pub etrace: &'a mut [i32],
    /// ε^x (Σ axons).
    pub xtrace: &'a mut [u16],
    /// STD/STP state ([`Layout::presyn`]: only the axons that have STD/STP, population p at
    /// `PopLayout::presyn_off`).
    pub presyn: &'a mut [[i32; 2]],
    /// Released efficacies ([`Layout::presyn`], as `presyn`).
    pub efficacy: &'a mut [i32],
    /// Dendritic accumulators (Σ neurons).
    pub acc: &'a mut [i32],
    /// ψ(v̂_t) (Σ neurons).
    pub psi: &'a mut [i32],
    /// Gradient scratch (Σ neurons).
    pub grad: &'a mut [i64],
    /// Per-neuron biases (Σ neurons; entries of populations without a bias are unused).
    pub bias: &'a mut [i32],
    /// Per-neuron thresholds and decays ([`Layout::param_slots`]: the neurons of the populations with
    /// [`super::ParamMode::PerNeuron`] only, population p at `PopLayout::param_off`; each slot built by
    /// [`crate::neuron::ParamSlot::new`] for its population's configuration).
    pub params: &'a mut [crate::neuron::ParamSlot],
    /// Counters, one per population.
    pub scalars: &'a mut [LayerScalars],
}

/// Graph-level counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GraphScalars {
    /// Ring position of the current step in the spike history.
    pub head: u8,
    /// Input events dropped (channel out of range, or more events than channels in one step) and
    /// population events dropped (more than a population's axons in one step).
    pub dropped: u32,
}

/// Every buffer of a graph (lengths from [`Layout`]).
pub struct GraphBuffers<'a, W: WeightStore = Weight> {
    /// Per-population storage.
    pub pool: PoolBuffers<'a, W>,
    /// Readout storage (`readout_weights` weights, `outputs` r/e/scratch, readout-source ε^o).
    pub readout: ReadoutBuffers<'a>,
    /// Σ_k B_kj·e_k per neuron (Σ neurons), Q.`signal_frac` of its population.
    pub fb: &'a mut [i32],
    /// Spike history, `depth` rows of `hist_stride` entries: inputs, then each population.
    pub hist: &'a mut [u16],
    /// Spikes listed per (row, source), `depth × (1 + populations)`.
    pub hist_count: &'a mut [u16],
    /// Active-axon scratch (largest population's axons).
    pub active: &'a mut [u16],
    /// Spike scratch (largest population).
    pub spikes: &'a mut [u16],
    /// δ scratch of the backprop (largest population).
    pub delta: &'a mut [i32],
    /// Counters.
    pub scalars: &'a mut GraphScalars,
}

/// How weights move at [`GraphMut::step`].
pub enum GraphUpdate<'b> {
    /// Apply every step with stochastic rounding.
    Online,
    /// Sum into an accumulator of [`Layout::accumulator`] i32 (each population's part at its
    /// `acc_off`: weights, then a learnt bias; then the readout's weights); apply with [`GraphMut::apply`].
    Accumulate(&'b mut [i32]),
}

/// A population's learning signal for this step.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sig {
    None,
    /// Σ B·e in `fb` (the layer multiplies by ψ).
    Feedback,
    /// λ itself from the caller, at this offset of the external slice.
    Lambda(usize),
}

/// The datapath of a whole graph over borrowed buffers.
pub struct GraphMut<'a, W: WeightStore = Weight> {
    cfg: &'a GraphConfig,
    lay: Layout,
    topo: [Option<Csr<'a>>; MAX_POPULATIONS],
    b: GraphBuffers<'a, W>,
    /// Weight-update rounding per population ([`GraphMut::set_rounding`]).
    rounding: [Rounding; MAX_POPULATIONS],
    /// Weight-update rounding of the readout ([`GraphMut::set_readout_rounding`]).
    readout_rounding: Rounding,
    /// Axon groups of the grouped populations ([`GraphConfig::axon_groups`]).
    groups: [AxonGroup; MAX_PROJECTIONS],
}

impl<W: WeightStore> PoolBuffers<'_, W> {
    /// The [`LayerMut`] of population `p` (None only if the pool does not hold it, which
    /// [`GraphMut::new`] rules out).
    fn view<'s>(&'s mut self, cfg: &'s GraphConfig, lay: &Layout, topo: Option<Csr<'s>>, groups: &'s [AxonGroup], p: usize) -> Option<LayerMut<'s, W>> {
        let l = lay.pops.get(p).filter(|_| p < lay.populations)?;
        let lc = &cfg.populations.get(p)?.layer;
        let ns = l.neurons * l.states;
        let b = Buffers {
            weights: self.weights.get_mut(l.weight_off..l.weight_off + l.weights)?,
            state: self.state.get_mut(l.state_off..l.state_off + ns)?,
            etrace: self.etrace.get_mut(l.state_off..l.state_off + ns)?,
            xtrace: self.xtrace.get_mut(l.axon_off..l.axon_off + l.axons)?,
            presyn: self.presyn.get_mut(l.presyn_off..l.presyn_off + l.presyn)?,
            efficacy: self.efficacy.get_mut(l.presyn_off..l.presyn_off + l.presyn)?,
            acc: self.acc.get_mut(l.neuron_off..l.neuron_off + l.neurons)?,
            psi: self.psi.get_mut(l.neuron_off..l.neuron_off + l.neurons)?,
            grad: self.grad.get_mut(l.neuron_off..l.neuron_off + l.neurons)?,
            scalars: self.scalars.get_mut(p)?,
        };
        let mut v = match topo {
            Some(csr) => LayerMut::new_sparse_validated(lc, b, csr, l.axons, l.neurons, 0).ok()?,
            None => LayerMut::new(lc, b, l.axons, l.neurons, 0).ok()?,
        };
        v.set_plastic_axons(l.plastic);
        if l.grouped {
            v.set_axon_groups(groups.get(l.group_off..l.group_off + l.groups)?).ok()?;
        }
        if l.bias != super::BiasMode::None {
            let b = self.bias.get_mut(l.neuron_off..l.neuron_off + l.neurons)?;
            v.set_bias(b, l.bias == super::BiasMode::Learned).ok()?;
        }
        if l.params == super::ParamMode::PerNeuron {
            let s = self.params.get(l.param_off..l.param_off + l.neurons)?;
            v.set_neuron_params_trusted(s).ok()?;
        }
        Some(v)
    }
}

fn check(field: Field, expected: usize, found: usize) -> Result<(), ConfigError> {
    if expected == found {
        Ok(())
    } else {
        Err(ConfigError::SizeMismatch { field, expected, found })
    }
}

impl<'a, W: WeightStore> GraphMut<'a, W> {
    /// Validate `cfg` with `topology` (see [`GraphConfig::layout`]) and check every buffer length against
    /// the layout. After this, [`GraphMut::step`] fails only on a wrong external-λ length.
    pub fn new(cfg: &'a GraphConfig, topology: &[Option<Csr<'a>>], b: GraphBuffers<'a, W>) -> Result<Self, ConfigError> {
        let lay = cfg.layout(topology)?;
        // The weight storage must hold every population's mantissas (8-bit storage: weight_bits ≤ 8).
        if let Some(p) = cfg.populations.iter().find(|p| p.layer.formats.weight_bits > W::BITS) {
            let wb = p.layer.formats.weight_bits as i64;
            return Err(ConfigError::OutOfRange { field: Field::WeightBits, value: wb, min: 2, max: W::BITS as i64 });
        }
        let p = &b.pool;
        let f = Field::Buffer;
        check(f, lay.weights, p.weights.len())?;
        check(f, lay.states, p.state.len())?;
        check(f, lay.states, p.etrace.len())?;
        check(f, lay.axons, p.xtrace.len())?;
        check(f, lay.presyn, p.presyn.len())?;
        check(f, lay.presyn, p.efficacy.len())?;
        check(f, lay.neurons, p.acc.len())?;
        check(f, lay.neurons, p.psi.len())?;
        check(f, lay.neurons, p.grad.len())?;
        check(f, lay.populations, p.scalars.len())?;
        check(f, lay.neurons, p.bias.len())?;
        check(f, lay.param_slots, p.params.len())?;
        check(f, lay.neurons, b.fb.len())?;
        check(f, lay.hist_len(), b.hist.len())?;
        check(f, lay.hist_counts(), b.hist_count.len())?;
        check(f, lay.max_axons, b.active.len())?;
        check(f, lay.max_neurons, b.spikes.len())?;
        check(f, lay.max_neurons, b.delta.len())?;
        let mut topo = [None; MAX_POPULATIONS];
        for (t, s) in topo.iter_mut().zip(topology) {
            *t = *s;
        }
        let groups = if lay.pops[..lay.populations].iter().any(|l| l.grouped) { cfg.axon_groups(&lay) } else { [AxonGroup::EMPTY; MAX_PROJECTIONS] };
        let mut g = GraphMut { cfg, lay, topo, b, rounding: [Rounding::Stochastic; MAX_POPULATIONS], readout_rounding: Rounding::Stochastic, groups };
        // The readout's buffers are checked by building it once, and every grouped population's axon
        // groups (the dendritic-sum bound was proven by `layout`) by building its view once.
        g.readout()?;
        for p in 0..g.lay.populations {
            if g.lay.pops[p].grouped {
                g.population(p)?;
            }
        }
        Ok(g)
    }

    /// The configuration.
    pub fn config(&self) -> &GraphConfig {
        self.cfg
    }

    /// The pooled layout.
    pub fn layout(&self) -> &Layout {
        &self.lay
    }

    /// How population `pop`'s weight (and bias) updates are rounded in [`GraphMut::step`]'s online
    /// learning and in [`GraphMut::apply`] ([`Rounding`]; default [`Rounding::Stochastic`], bit for bit
    /// the rule before this setting existed), for the life of this `GraphMut` (a new view starts at the
    /// default). [`LayerMut::set_rounding`] on the population's view does the work. Fails if `pop` is not
    /// a population.
    pub fn set_rounding(&mut self, pop: usize, rounding: Rounding) -> Result<(), ConfigError> {
        match self.rounding.get_mut(pop).filter(|_| pop < self.lay.populations) {
            Some(r) => {
                *r = rounding;
                Ok(())
            }
            None => Err(ConfigError::OutOfRange {
                field: Field::Population,
                value: pop as i64,
                min: 0,
                max: self.lay.populations as i64 - 1,
            }),
        }
    }

    /// How the readout's weight updates are rounded (online and in [`GraphMut::apply`]), for the life of
    /// this `GraphMut`, as [`GraphMut::set_rounding`] for a population ([`ReadoutMut::set_rounding`] does
    /// the work).
    pub fn set_readout_rounding(&mut self, rounding: Rounding) {
        self.readout_rounding = rounding;
    }

    /// The datapath of population `p` (for inspection or phase-by-phase driving).
    pub fn population(&mut self, p: usize) -> Result<LayerMut<'_, W>, ConfigError> {
        let topo = self.topo.get(p).copied().flatten();
        self.b.pool.view(self.cfg, &self.lay, topo, &self.groups, p).ok_or(ConfigError::OutOfRange {
            field: Field::Population,
            value: p as i64,
            min: 0,
            max: self.lay.populations as i64 - 1,
        })
    }

    /// The readout datapath.
    pub fn readout(&mut self) -> Result<ReadoutMut<'_>, ConfigError> {
        let ro = &self.cfg.readout;
        let n = self.lay.pops[ro.source as usize].neurons;
        let mut r = readout_view(&mut self.b.readout, &ro.config, n, ro.outputs as usize)?;
        r.set_rounding(self.readout_rounding);
        Ok(r)
    }

    /// Start a new sequence: neuron states, traces, readout state and the spike history are cleared;
    /// weights, counters and the learning-step counters are kept.
    pub fn reset_state(&mut self) {
        for p in 0..self.lay.populations {
            let topo = self.topo[p];
            if let Some(mut v) = self.b.pool.view(self.cfg, &self.lay, topo, &self.groups, p) {
                v.reset_state();
            }
        }
        if let Ok(mut r) = self.readout() {
            r.reset_state();
        }
        self.b.hist_count.fill(0);
        self.b.fb.fill(0);
        self.b.scalars.head = 0;
    }

    /// The spikes population `p` emitted in the last step (local indices, ascending).
    pub fn spikes(&self, p: usize) -> &[u16] {
        let Some(l) = self.lay.pops.get(p).filter(|_| p < self.lay.populations) else { return &[] };
        let head = self.b.scalars.head as usize;
        let n = self.b.hist_count.get(head * (1 + self.lay.populations) + 1 + p).copied().unwrap_or(0) as usize;
        let base = head * self.lay.hist_stride + self.cfg.inputs as usize + l.neuron_off;
        self.b.hist.get(base..base + n).unwrap_or(&[])
    }

    /// Weights of population `p` (row-major by axon, or CSR order).
    pub fn weights(&self, p: usize) -> &[W] {
        match self.lay.pops.get(p).filter(|_| p < self.lay.populations) {
            Some(l) => self.b.pool.weights.get(l.weight_off..l.weight_off + l.weights).unwrap_or(&[]),
            None => &[],
        }
    }

    /// Biases of population `p` (zeros for a population without one).
    pub fn bias(&self, p: usize) -> &[i32] {
        match self.lay.pops.get(p).filter(|_| p < self.lay.populations) {
            Some(l) => self.b.pool.bias.get(l.neuron_off..l.neuron_off + l.neurons).unwrap_or(&[]),
            None => &[],
        }
    }

    /// Per-neuron parameter slots of population `p` (empty for a population with shared parameters).
    pub fn neuron_params(&self, p: usize) -> &[crate::neuron::ParamSlot] {
        match self.lay.pops.get(p).filter(|_| p < self.lay.populations && self.lay.pops[p].params == super::ParamMode::PerNeuron) {
            Some(l) => self.b.pool.params.get(l.param_off..l.param_off + l.neurons).unwrap_or(&[]),
            None => &[],
        }
    }

    /// Neuron states of population `p` (`neurons × states`).
    pub fn state(&self, p: usize) -> &[i32] {
        match self.lay.pops.get(p).filter(|_| p < self.lay.populations) {
            Some(l) => self.b.pool.state.get(l.state_off..l.state_off + l.neurons * l.states).unwrap_or(&[]),
            None => &[],
        }
    }

    /// The learning signals' Σ B·e of the last learning step, per neuron of population `p`
    /// (Q.`signal_frac`): the λ of neuron j is ψ_j times this.
    pub fn feedback(&self, p: usize) -> &[i32] {
        match self.lay.pops.get(p).filter(|_| p < self.lay.populations) {
            Some(l) => self.b.fb.get(l.neuron_off..l.neuron_off + l.neurons).unwrap_or(&[]),
            None => &[],
        }
    }

    /// ψ(v̂_t) of population `p` recorded by the last `fire` with learning on.
    pub fn psi(&self, p: usize) -> &[i32] {
        match self.lay.pops.get(p).filter(|_| p < self.lay.populations) {
            Some(l) => self.b.pool.psi.get(l.neuron_off..l.neuron_off + l.neurons).unwrap_or(&[]),
            None => &[],
        }
    }

    /// Counters of population `p`.
    pub fn saturations(&self, p: usize) -> Option<crate::layer::Saturations> {
        self.b.pool.scalars.get(p).map(|s| s.sat)
    }

    /// Graph-level counters.
    pub fn scalars(&self) -> &GraphScalars {
        self.b.scalars
    }

    /// Readout outputs r_k.
    pub fn outputs(&self) -> &[i32] {
        self.b.readout.r
    }

    /// Counters of the readout.
    pub fn readout_saturations(&self) -> crate::layer::Saturations {
        *self.b.readout.sat
    }

    /// Readout weights V.
    pub fn readout_weights(&self) -> &[Weight] {
        self.b.readout.weights
    }

    /// FNV-1a over every population's weights, states, ẽ^f and ε^x (in population order) and the
    /// readout's weights, r and ε^o: for one population, the same bytes as [`crate::net::Net::checksum`].
    pub fn checksum(&self) -> u32 {
        let mut h = Fnv::new();
        let p = &self.b.pool;
        for l in &self.lay.pops[..self.lay.populations] {
            let ns = l.neurons * l.states;
            let slices = (
                p.weights.get(l.weight_off..l.weight_off + l.weights).unwrap_or(&[]),
                p.state.get(l.state_off..l.state_off + ns).unwrap_or(&[]),
                p.etrace.get(l.state_off..l.state_off + ns).unwrap_or(&[]),
                p.xtrace.get(l.axon_off..l.axon_off + l.axons).unwrap_or(&[]),
            );
            // As i16 whatever the storage: 8-bit storage hashes like 16-bit storage of the same mantissas.
            for w in slices.0 {
                h.write(&(w.get() as i16).to_le_bytes());
            }
            for v in slices.1.iter().chain(slices.2) {
                h.write(&v.to_le_bytes());
            }
            for t in slices.3 {
                h.write(&t.to_le_bytes());
            }
            if l.bias != super::BiasMode::None {
                for b in p.bias.get(l.neuron_off..l.neuron_off + l.neurons).unwrap_or(&[]) {
                    h.write(&b.to_le_bytes());
                }
            }
        }
        for w in self.b.readout.weights.iter() {
            h.write(&w.0.to_le_bytes());
        }
        for r in self.b.readout.r.iter() {
            h.write(&r.to_le_bytes());
        }
        for t in self.b.readout.otrace.iter() {
            h.write(&t.to_le_bytes());
        }
        h.finish()
    }

    /// Number of λ values [`GraphMut::step`] expects in `external`: the neurons of every
    /// [`LambdaSource::External`] population, concatenated in population order.
    pub fn external_len(&self) -> usize {
        self.cfg
            .populations
            .iter()
            .zip(&self.lay.pops)
            .filter(|(p, _)| p.lambda == LambdaSource::External)
            .map(|(_, l)| l.neurons)
            .sum()
    }

    /// One timestep (module docs for the phases). `input` lists the external channels that spike at `t`
    /// (channels ≥ `inputs`, and events beyond one per channel, are dropped and counted); `target`
    /// applies only inside the loss window; `external` holds λ (Q.`signal_frac`) for the
    /// [`LambdaSource::External`] populations ([`GraphMut::external_len`] values, or empty: then those
    /// populations do not learn this step). Fails only on a wrong `external` length or accumulator
    /// length, or a target that does not fit the readout ([`Target::check`]), before any state changes.
    pub fn step(&mut self, t: Timestep, input: &[u16], target: Target<'_>, external: &[i32], mode: GraphUpdate<'_>) -> Result<StepReport, ConfigError> {
        target.check(self.cfg.readout.config.loss, self.cfg.readout.outputs as usize)?;
        let ext_len = self.external_len();
        if !external.is_empty() && external.len() != ext_len {
            return Err(ConfigError::SizeMismatch { field: Field::Feedback, expected: ext_len, found: external.len() });
        }
        if let GraphUpdate::Accumulate(acc) = &mode {
            check(Field::Buffer, self.lay.accumulator, acc.len())?;
        }
        let cfg = self.cfg;
        let lay = self.lay;
        let topo = self.topo;
        let rounding = self.rounding;
        let readout_rounding = self.readout_rounding;
        let groups = &self.groups;
        let GraphBuffers { pool, readout, fb, hist, hist_count, active, spikes, delta, scalars } = &mut self.b;
        let (np, depth, stride, inputs) = (lay.populations, lay.depth, lay.hist_stride, cfg.inputs as usize);
        let learn = cfg.learn;
        let mut ops = OpCounts::default();
        let mut dropped = 0u32;
        // 1. deliver: this step's input events into the history row.
        let head = (scalars.head as usize + 1) % depth;
        scalars.head = head as u8;
        let (row, crow) = (head * stride, head * (1 + np));
        let mut n_in = 0usize;
        for &a in input {
            if (a as usize) < inputs && n_in < inputs {
                hist[row + n_in] = a;
                n_in += 1;
            } else {
                dropped += 1;
            }
        }
        hist_count[crow] = n_in as u16;
        // 2–3. integrate and fire, population by population.
        for p in 0..np {
            let l = lay.pops[p];
            let mut k = 0usize;
            for pass in [true, false] {
                for (q, pr) in cfg.projections.iter().enumerate() {
                    if pr.target as usize != p || pr.learn != pass {
                        continue;
                    }
                    let slot = (head + depth - pr.delay as usize) % depth;
                    let (src, off) = match pr.source {
                        Source::Input { .. } => (0, 0),
                        Source::Population(s) => (1 + s as usize, inputs + lay.pops[s as usize].neuron_off),
                    };
                    let cnt = hist_count[slot * (1 + np) + src] as usize;
                    let base = slot * stride + off;
                    let block = lay.block[q];
                    for &e in &hist[base..base + cnt] {
                        let a = match pr.source {
                            Source::Input { first, width } if e >= first && (e - first) < width => block + (e - first) as usize,
                            Source::Input { .. } => continue,
                            Source::Population(_) => block + e as usize,
                        };
                        if k < l.axons {
                            active[k] = a as u16;
                            k += 1;
                        } else {
                            dropped += 1;
                        }
                    }
                }
            }
            let listed = match pool.view(cfg, &lay, topo[p], groups, p) {
                Some(mut v) => {
                    ops.add(&v.integrate(&active[..k], learn));
                    let (c, listed) = v.fire(learn, &mut spikes[..l.neurons]);
                    ops.add(&c);
                    listed
                }
                None => 0,
            };
            let base = row + inputs + l.neuron_off;
            hist[base..base + listed].copy_from_slice(&spikes[..listed]);
            hist_count[crow + 1 + p] = listed as u16;
        }
        // 4. readout
        let ro = &cfg.readout;
        let src = ro.source as usize;
        let sl = lay.pops[src];
        let mut r = readout_view(readout, &ro.config, sl.neurons, ro.outputs as usize)?;
        r.set_rounding(readout_rounding);
        let n_src = hist_count[crow + 1 + src] as usize;
        let sbase = row + inputs + sl.neuron_off;
        ops.add(&r.integrate(&hist[sbase..sbase + n_src], learn));
        // 5. error
        let in_window = cfg.window.contains(t);
        let target = if in_window { target } else { Target::None };
        let loss = r.error(target);
        // 6. learning signals, downstream first.
        let mut sig = [Sig::None; MAX_POPULATIONS];
        if learn && in_window {
            let mut ext_off = [0usize; MAX_POPULATIONS];
            let mut o = 0;
            for (p, pop) in cfg.populations.iter().enumerate() {
                if pop.lambda == LambdaSource::External {
                    ext_off[p] = o;
                    o += lay.pops[p].neurons;
                }
            }
            for p in (0..np).rev() {
                let l = lay.pops[p];
                let pop = &cfg.populations[p];
                let nr = l.neuron_off..l.neuron_off + l.neurons;
                sig[p] = match pop.lambda {
                    LambdaSource::External if !external.is_empty() => Sig::Lambda(ext_off[p]),
                    LambdaSource::External => Sig::None,
                    LambdaSource::RandomFeedback { seed } if loss.is_some() => {
                        r.feedback_where(Feedback::Random { seed }, 0, &pool.psi[nr.clone()], &mut fb[nr]);
                        Sig::Feedback
                    }
                    LambdaSource::RandomFeedback { .. } => Sig::None,
                    LambdaSource::Symmetric => {
                        let mut any = false;
                        if src == p && loss.is_some() {
                            r.feedback_where(Feedback::Symmetric, 0, &pool.psi[nr.clone()], &mut fb[nr.clone()]);
                            any = true;
                        } else {
                            fb[nr.clone()].fill(0);
                        }
                        for (q, pr) in cfg.projections.iter().enumerate() {
                            if pr.delay != 0 || pr.source != Source::Population(p as u8) {
                                continue;
                            }
                            let m = pr.target as usize;
                            let lm = lay.pops[m];
                            let sf_m = cfg.populations[m].layer.formats.signal_frac as i32;
                            let lam_m = match sig[m] {
                                Sig::None => continue,
                                Sig::Feedback => LamOf::Feedback(&fb[lm.neuron_off..lm.neuron_off + lm.neurons]),
                                Sig::Lambda(o) => LamOf::Lambda(&external[o..o + lm.neurons]),
                            };
                            // δ_m = λ_m·c_m (Q.sf_m), nearest, saturating.
                            downstream_delta(lam_m, &pool.psi[lm.neuron_off..lm.neuron_off + lm.neurons], sf_m as u32, lm.dvdy, &mut delta[..lm.neurons]);
                            // The effective weights m·2^s of a projection with shift s: the exact sum of
                            // the mantissas' products, scaled by 2^s in the one rounding.
                            let shift = backprop_shift(cfg, p, m) + pr.shift as i32;
                            let wm = &pool.weights[lm.weight_off..lm.weight_off + lm.weights];
                            backprop_rows(
                                &BackpropIn { topo: topo[m], weights: wm, lm: &lm, block: lay.block[q], shift, delta: &delta[..lm.neurons] },
                                &pool.psi[nr.clone()],
                                &mut fb[nr.clone()],
                                &mut ops,
                            );
                            any = true;
                        }
                        if any {
                            Sig::Feedback
                        } else {
                            Sig::None
                        }
                    }
                };
            }
        }
        // 7. learn: populations in order, then the readout.
        let mut mode = mode;
        for p in 0..np {
            let l = lay.pops[p];
            let signal = match sig[p] {
                Sig::None => continue,
                Sig::Feedback => Signal::Feedback(&fb[l.neuron_off..l.neuron_off + l.neurons]),
                Sig::Lambda(o) => Signal::Lambda(&external[o..o + l.neurons]),
            };
            let Some(mut v) = pool.view(cfg, &lay, topo[p], groups, p) else { continue };
            v.set_rounding(rounding[p]);
            match &mut mode {
                GraphUpdate::Online => ops.add(&v.learn(signal)),
                GraphUpdate::Accumulate(acc) => {
                    ops.add(&v.accumulate(signal, &mut acc[l.acc_off..l.acc_off + l.acc_len])?)
                }
            }
        }
        if learn && in_window && loss.is_some() {
            match &mut mode {
                GraphUpdate::Online => ops.add(&r.learn()),
                GraphUpdate::Accumulate(acc) => ops.add(&r.accumulate(&mut acc[lay.accumulator - lay.readout_weights..])?),
            }
        }
        scalars.dropped = scalars.dropped.saturating_add(dropped);
        Ok(StepReport { ops, loss_q16: loss })
    }

    /// Apply an accumulator filled by [`GraphUpdate::Accumulate`] steps (end of a learning epoch).
    pub fn apply(&mut self, acc: &mut [i32]) -> Result<OpCounts, ConfigError> {
        check(Field::Buffer, self.lay.accumulator, acc.len())?;
        let mut c = OpCounts::default();
        for p in 0..self.lay.populations {
            let l = self.lay.pops[p];
            if let Some(mut v) = self.b.pool.view(self.cfg, &self.lay, self.topo[p], &self.groups, p) {
                v.set_rounding(self.rounding[p]);
                c.add(&v.apply_accumulated(&mut acc[l.acc_off..l.acc_off + l.acc_len])?);
            }
        }
        let w = self.lay.accumulator - self.lay.readout_weights;
        c.add(&self.readout()?.apply_accumulated(&mut acc[w..])?);
        Ok(c)
    }
}

fn readout_view<'s>(b: &'s mut ReadoutBuffers<'_>, cfg: &'s crate::readout::ReadoutConfig, n: usize, o: usize) -> Result<ReadoutMut<'s>, ConfigError> {
    ReadoutMut::new(
        cfg,
        ReadoutBuffers {
            weights: &mut *b.weights,
            r: &mut *b.r,
            otrace: &mut *b.otrace,
            err: &mut *b.err,
            grad: &mut *b.grad,
            sat: &mut *b.sat,
            updates: &mut *b.updates,
        },
        n,
        o,
    )
}

/// λ of a downstream population: from its Σ B·e (times ψ) or given.
#[derive(Clone, Copy)]
pub enum LamOf<'s> {
    /// Σ B·e per neuron (Q.sf); λ = ψ·fb.
    Feedback(&'s [i32]),
    /// λ itself (Q.sf).
    Lambda(&'s [i32]),
}

/// δ_i = λ_i·c (Q.sf), λ_i = ψ_i·fb_i (Q.sf, **nearest**, as the layer's own update forms it) or given;
/// the product with c (Q3.28) **nearest**, **saturating** i32. Elementwise, so a slice of a population
/// (one core's neurons, with its own `psi` and `lam` slices) gives the same δ as the whole population.
pub fn downstream_delta(lam: LamOf<'_>, psi: &[i32], sf: u32, c: i32, out: &mut [i32]) {
    for (i, d) in out.iter_mut().enumerate() {
        let l = match lam {
            LamOf::Feedback(fb) => {
                let p = psi.get(i).copied().unwrap_or(0) as i64;
                if p == 0 {
                    0
                } else {
                    shr_nearest(p * fb.get(i).copied().unwrap_or(0) as i64, sf)
                }
            }
            LamOf::Lambda(l) => l.get(i).copied().unwrap_or(0) as i64,
        };
        let l = sat_i32(l).0 as i64;
        *d = if c == 1 << JAC_FRAC { l as i32 } else { sat_i32(shr_nearest(l * c as i64, JAC_FRAC)).0 };
    }
}

/// Exponent of the backprop through a delay-0 projection from population `p` into population `m`:
/// from Q.(weight_frac_m + signal_frac_m) to Q.signal_frac_p (the `shift` of [`backprop_finish`]), for
/// mantissas of shift 0: a projection with weight shift s adds s (its effective weights are m·2^s).
pub fn backprop_shift(cfg: &GraphConfig, p: usize, m: usize) -> i32 {
    let (Some(pp), Some(pm)) = (cfg.populations.get(p), cfg.populations.get(m)) else { return 0 };
    let fm = pm.layer.formats;
    pp.layer.formats.signal_frac as i32 - fm.signal_frac as i32 - fm.weight_frac as i32
}

/// Σ_i W_{a→i}·δ\[i\] over the synapses of row `axon` of a weight block of `neurons` columns (dense
/// `weights` row-major by axon, or `topo`'s compressed rows): exact in i64 (|W| < 2¹⁵, |δ| < 2³¹, at most
/// 2¹⁶ terms), with the number of synapses read. A population split over cores by columns gives partial
/// sums whose i64 total is this sum exactly (addition of exact integers is associative).
pub fn backprop_partial<W: WeightStore>(topo: Option<Csr<'_>>, weights: &[W], neurons: usize, axons: usize, axon: usize, delta: &[i32]) -> (i64, u32) {
    let mut acc = 0i64;
    let mut n = 0u32;
    for (i, w) in row_of(topo, weights, neurons, axons, axon) {
        acc += w.get() as i64 * delta.get(i).copied().unwrap_or(0) as i64;
        n += 1;
    }
    (acc, n)
}

/// fb ← fb + (Σ W·δ → Q.sf_p): the exact sum rounded **nearest** by `shift`, added **saturating** i32.
/// The one rounding of a projection's contribution.
pub fn backprop_finish(fb: &mut i32, sum: i64, shift: i32) {
    *fb = sat_i32(*fb as i64 + shift_nearest(sum, shift)).0;
}

/// What one delay-0 projection p → m contributes to p's backprop.
struct BackpropIn<'s, W: WeightStore> {
    topo: Option<Csr<'s>>,
    weights: &'s [W],
    lm: &'s PopLayout,
    block: usize,
    /// Exponent from Q.(weight_frac_m + sf_m) to Q.sf_p.
    shift: i32,
    delta: &'s [i32],
}

/// fb_p[j] += Σ_i W_{j→i}·δ_m[i] for the source neurons j with ψ ≠ 0 (the others have λ = 0 whatever
/// fb is): exact i64 sum, then **nearest** to Q.sf_p, **saturating** i32.
fn backprop_rows<W: WeightStore>(b: &BackpropIn<'_, W>, psi_p: &[i32], fb: &mut [i32], ops: &mut OpCounts) {
    for (j, f) in fb.iter_mut().enumerate() {
        if psi_p.get(j).copied().unwrap_or(0) == 0 {
            continue;
        }
        let (acc, n) = backprop_partial(b.topo, b.weights, b.lm.neurons, b.lm.axons, b.block + j, b.delta);
        ops.syn_ops = ops.syn_ops.saturating_add(n);
        backprop_finish(f, acc, b.shift);
    }
}
