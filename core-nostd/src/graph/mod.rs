//! A network as a graph: populations of neurons and the projections between them, stepped as the ordered
//! phases of `es-d-rtrl.md` §8.1, with the learning signal of deep networks (§4.1, §4.3).
//!
//! * A **population** is a group of neurons with one neuron model and one [`LayerConfig`] (formats, trace
//!   decay α, learning rate, seed) and a learning-signal source ([`LambdaSource`]).
//! * A **projection** carries spikes from a **source** (a range of external input channels, or a
//!   population) to a **target** population, after an axonal **delay** of 0..=[`MAX_DELAY`] timesteps,
//!   and is plastic or frozen. Its synapses are one block of rows in the target's weight matrix (dense or
//!   compressed rows, [`crate::layer::Csr`]); its input traces ε^x are those rows' traces (§4.3: layer l's
//!   ε^x uses layer l−1's spikes). It has its own **weight shift** s ([`Projection::shift`], §8.2: a
//!   stored mantissa m is m·2^s LSBs of the target's weight format) and its own **STD/STP**
//!   ([`Projection::presyn`], §1.5; [`ProjPresyn::Inherit`] takes the target's [`LayerConfig::presyn`],
//!   the one choice before per-projection kinds). A population whose projections all have shift 0 and
//!   its own STD/STP runs the `LayerMut` loops unchanged; otherwise its projections become
//!   [`crate::layer::AxonGroup`]s ([`GraphConfig::axon_groups`], [`PopLayout::grouped`]) and STD/STP
//!   state exists only for the axons of projections that have it ([`Layout::presyn`]).
//! * One **readout** reads any population.
//!
//! Each population is run by the same [`crate::layer::LayerMut`] phases as a single layer, over a slice
//! of pooled storage: its axons are the concatenation of its incoming projections' blocks, plastic
//! projections first (in the order they are listed), then frozen ones
//! ([`crate::layer::LayerMut::set_plastic_axons`]). So no neuron or learning arithmetic is written twice,
//! and a graph of one population with an input projection and a delay-1 recurrent projection is today's
//! [`crate::net::Net`], bit for bit (`tests/graph.rs`).
//!
//! # Timing of spikes
//! Populations are updated in the order they are listed. A spike emitted at step t by a source is
//! delivered through a projection of delay d at step t + d. A projection of delay 0 must come from an
//! input range or from a population listed earlier than its target (a feed-forward edge inside the
//! step); every other edge (recurrent, or backwards in the list) needs d ≥ 1. Input events are delayed
//! the same way.
//!
//! # Learning signal of a population (§8.1 item 6 for deep networks)
//! * [`LambdaSource::Symmetric`]: the within-step spatial backprop of §4.1 with the transposed weights.
//!   For population p, Σ_k B_kj·e_k becomes
//!   `fb_p[j] = Σ_k V_jk·e_k` (if p feeds the readout) `+ Σ_{delay-0 projections p→m} Σ_i W_ji·δ_m[i]`,
//!   where `δ_m[i] = λ_m[i]·c_m` is the error at the dendritic input of downstream neuron i, λ_m its
//!   learning signal (ψ·fb, the value its own update uses) and c_m = ∂V_t/∂y_t of its model (1 for a
//!   delta synapse, the gain k for an exponential synapse, 1 for Loihi CUBA). Populations are visited in
//!   reverse order so δ_m exists before p needs it. Fixed-point cost per learning step: one multiply
//!   per downstream neuron with ψ ≠ 0 (δ), and one multiply-add per synapse of each delay-0 projection
//!   out of p whose source neuron has ψ ≠ 0 (the rows of silent-surrogate neurons are skipped), i.e. at
//!   most O(synapses) operations like the forward pass, and O(N) memory (one δ scratch of the largest
//!   population, one fb per neuron). A Symmetric population with neither a readout nor a delay-0
//!   projection out of it has no signal and is rejected at configuration.
//! * [`LambdaSource::RandomFeedback`]: direct feedback alignment from the readout error with a fixed
//!   random matrix B_kj = hash(seed, j, k) in the readout's weight format, computed when used, never
//!   stored ([`crate::readout::Feedback::Random`]); no weight transport.
//! * [`LambdaSource::External`]: λ written by the host or a neighbouring core, passed to the step.
//!
//! Rounding and overflow of the backprop: δ_m = λ_m·c_m (Q.signal_frac × Q3.28 → Q.signal_frac,
//! **nearest**, **saturating** i32); the sum Σ m·δ of the stored mantissas in i64 (|m| < 2¹⁵, |δ| < 2³¹,
//! at most 2¹⁶ terms per row: exact), then → Q.signal_frac by the target's `weight_frac` minus the
//! projection's weight shift s (the effective weights m·2^s; **nearest** for a right shift, a left shift
//! **saturating** at the i64 range, then **saturating** i32).

pub mod image;
mod image_run;
mod run;
mod store;

pub use image_run::{graph_summary, run_graph, step_graph};
pub use run::{backprop_finish, backprop_partial, backprop_shift, downstream_delta, GraphBuffers, GraphMut, GraphScalars, GraphUpdate, LamOf, PoolBuffers};
pub use store::Graph;
pub use crate::neuron::{NeuronParams, ParamSlot};

use crate::error::{check_range, ConfigError, Field};
use crate::layer::{AxonGroup, Csr, LayerConfig};
use crate::presyn::{Depression, Facilitation, PresynKind};
use crate::net::LossWindow;
use crate::neuron::{NeuronKind, Synapse};
use crate::readout::ReadoutConfig;

/// Most populations in one graph.
pub const MAX_POPULATIONS: usize = 8;
/// Most projections in one graph.
pub const MAX_PROJECTIONS: usize = 16;
/// Longest axonal delay, in timesteps.
pub const MAX_DELAY: u8 = 15;

/// Where a projection's spikes come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Source {
    /// External input channels `first .. first + width`.
    Input {
        /// First channel.
        first: u16,
        /// Number of channels (≥ 1).
        width: u16,
    },
    /// The spikes of a population (its index in [`GraphConfig::populations`]).
    Population(u8),
}

/// A projection's input-side STD/STP (`es-d-rtrl.md` §1.5), as parameters: [`GraphConfig::layout`]
/// validates them against the target population's formats (`Depression::new`, `Facilitation::new`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProjPresyn {
    /// The target population's [`LayerConfig::presyn`] (the one choice before per-projection STD/STP,
    /// and what a graph image without a projection-format section says).
    #[default]
    Inherit,
    /// No STD/STP: spikes enter as 1.0 and the projection's axons keep no STD/STP state.
    None,
    /// Short-term depression.
    Depression(crate::presyn::DepressionParams),
    /// Short-term facilitation and depression.
    Facilitation(crate::presyn::FacilitationParams),
}

/// A projection: the synapses from a source onto a target population.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Projection {
    /// Source of the spikes.
    pub source: Source,
    /// Target population index.
    pub target: u8,
    /// Axonal delay in timesteps, 0..=[`MAX_DELAY`] (see the module docs for when 0 is allowed).
    pub delay: u8,
    /// Plastic: its weights learn (ES-D-RTRL, §8.1 item 7). Frozen projections keep no input trace.
    pub learn: bool,
    /// Weight shift s, 0..=[`crate::layer::MAX_WEIGHT_SHIFT`]: a stored mantissa m of this projection
    /// is m·2^s LSBs of the target's weight format, w = m·2^(s − weight_frac) (`es-d-rtrl.md` §8.2; the
    /// arithmetic, rounding and overflow are [`crate::layer::AxonGroup`]'s). 0: today's weights.
    pub shift: u8,
    /// STD/STP of this projection's axons. Per-projection kinds ([`ProjPresyn::None`],
    /// `Depression`, `Facilitation`) need the target's [`LayerConfig::presyn`] to be `None`; with a
    /// population-wide kind every projection onto it must [`ProjPresyn::Inherit`] it.
    pub presyn: ProjPresyn,
}

impl Projection {
    /// A projection with shift 0 and its target's STD/STP ([`ProjPresyn::Inherit`]): the projection
    /// as it was before per-projection formats.
    pub const fn new(source: Source, target: u8, delay: u8, learn: bool) -> Self {
        Projection { source, target, delay, learn, shift: 0, presyn: ProjPresyn::Inherit }
    }
}

/// Where a population's learning signal comes from (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LambdaSource {
    /// Within-step backprop with the transposed downstream and readout weights.
    Symmetric,
    /// Direct feedback alignment from the readout error with a hashed random matrix.
    RandomFeedback {
        /// Seed of the matrix.
        seed: u32,
    },
    /// λ passed to the step by the caller.
    External,
}

/// Whether a population's neurons have a bias b_j (one i32 each, see
/// [`crate::layer::LayerMut::set_bias`] for its units) and whether it learns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BiasMode {
    /// No bias (the fire loop has no bias term).
    #[default]
    None,
    /// A fixed per-neuron bias (Loihi CUBA: the per-compartment `bias_mant ≪ bias_exp`).
    Fixed,
    /// A bias learnt with its ES-D-RTRL gradient Δb = −η·ẽ^f·λ (LIF and ALIF).
    Learned,
}

/// Whether a population's neurons have their own threshold and decays ([`crate::neuron::params`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ParamMode {
    /// Every neuron uses the population's scalar values (the fire loop is the scalar one).
    #[default]
    Shared,
    /// One [`crate::neuron::ParamSlot`] per neuron in the pooled storage
    /// ([`crate::graph::PoolBuffers::params`]); a freshly configured [`Graph`] fills them with the scalar values.
    PerNeuron,
}

/// A population of neurons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Population {
    /// Number of neurons, 1..=65535.
    pub neurons: u16,
    /// Neuron model, formats, trace decay, learning rate, seed.
    pub layer: LayerConfig,
    /// Learning-signal source.
    pub lambda: LambdaSource,
    /// Per-neuron bias.
    pub bias: BiasMode,
    /// Per-neuron threshold and decays, or the population's scalars.
    pub params: ParamMode,
}

/// The readout of a graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReadoutSpec {
    /// Population it reads.
    pub source: u8,
    /// Number of outputs, 1..=256.
    pub outputs: u16,
    /// Formats, κ, loss, learning rate, seed.
    pub config: ReadoutConfig,
}

/// A whole network: populations, projections, readout, loss window, learning switch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphConfig {
    /// Number of external input channels.
    pub inputs: u16,
    /// Populations, updated in this order.
    pub populations: heapless::Vec<Population, MAX_POPULATIONS>,
    /// Projections.
    pub projections: heapless::Vec<Projection, MAX_PROJECTIONS>,
    /// Readout.
    pub readout: ReadoutSpec,
    /// Steps on which the error is applied and learning happens.
    pub window: LossWindow,
    /// Learning on (traces and weight updates); off: inference only.
    pub learn: bool,
}

/// Where a population's data lives in the pooled buffers, and its axon layout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PopLayout {
    /// Neurons.
    pub neurons: usize,
    /// State variables per neuron.
    pub states: usize,
    /// Axons (Σ of its incoming projections' widths).
    pub axons: usize,
    /// Plastic axons (the first ones).
    pub plastic: usize,
    /// First neuron in the pooled per-neuron buffers.
    pub neuron_off: usize,
    /// First entry in the pooled state / ẽ^f buffers (neurons × states each).
    pub state_off: usize,
    /// First axon in the pooled per-axon buffers.
    pub axon_off: usize,
    /// First weight in the pooled weight buffer.
    pub weight_off: usize,
    /// Number of weights (axons × neurons dense, or the listed synapses).
    pub weights: usize,
    /// ∂V_t/∂y_t of the model in Q3.28 (the c of the module docs).
    pub dvdy: i32,
    /// Its bias mode.
    pub bias: BiasMode,
    /// Whether its neurons have per-neuron parameters.
    pub params: ParamMode,
    /// First slot of its per-neuron parameters in the pooled slots (which hold only the populations
    /// with [`ParamMode::PerNeuron`], in order).
    pub param_off: usize,
    /// First entry of its part of a [`crate::graph::GraphUpdate::Accumulate`] accumulator.
    pub acc_off: usize,
    /// Entries of that part: its weights, then its neurons when the bias learns.
    pub acc_len: usize,
    /// Whether its projections have shifts or STD/STP of their own (then its `LayerMut` gets
    /// [`crate::layer::LayerMut::set_axon_groups`] with [`GraphConfig::axon_groups`]'s entries
    /// `group_off..group_off + groups`; otherwise it runs as before per-projection formats existed).
    pub grouped: bool,
    /// First of its axon groups ([`GraphConfig::axon_groups`]), when grouped.
    pub group_off: usize,
    /// Its axon groups (its projections), when grouped; else 0.
    pub groups: usize,
    /// First entry in the pooled STD/STP state and efficacy buffers.
    pub presyn_off: usize,
    /// Its STD/STP entries: the axons of its projections with STD/STP (all axons when its
    /// [`LayerConfig::presyn`] has one and it is not grouped; 0 without STD/STP).
    pub presyn: usize,
}

/// The computed layout of a validated [`GraphConfig`]: pooled buffer sizes and offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Per population (the first `populations` entries are used).
    pub pops: [PopLayout; MAX_POPULATIONS],
    /// Number of populations.
    pub populations: usize,
    /// First row of each projection inside its target population's axons.
    pub block: [usize; MAX_PROJECTIONS],
    /// Ring depth of the spike history: the longest delay + 1.
    pub depth: usize,
    /// Entries of one history row: inputs + Σ neurons.
    pub hist_stride: usize,
    /// Σ neurons.
    pub neurons: usize,
    /// Σ neurons × states.
    pub states: usize,
    /// Σ axons.
    pub axons: usize,
    /// Σ STD/STP entries (the pooled `presyn` and `efficacy` lengths).
    pub presyn: usize,
    /// Σ weights.
    pub weights: usize,
    /// Largest population's axon count.
    pub max_axons: usize,
    /// Largest population.
    pub max_neurons: usize,
    /// Readout inputs × outputs.
    pub readout_weights: usize,
    /// Entries of an `Accumulate` accumulator: every population's part, then the readout's weights.
    pub accumulator: usize,
    /// Per-neuron parameter slots: Σ neurons of the populations with [`ParamMode::PerNeuron`].
    pub param_slots: usize,
}

impl Layout {
    /// Bytes of the populations' storage ([`crate::layer::MemoryReport::layer_with_presyn`] summed over
    /// the populations) with `weight_bytes` per synapse (2 for [`crate::format::Weight`], 1 for
    /// [`crate::format::Weight8`]); STD/STP state and efficacies (12 bytes) only for the axons that have
    /// them ([`PopLayout::presyn`], the pooled buffers' real length); a bias adds 4 bytes and per-neuron
    /// parameters 32 bytes per neuron to `state`. The readout, spike history and scratch are not
    /// included. A [`Graph`] owner's arrays are sized by its const generics (for example STD/STP state
    /// for all `AX` axons), so it may reserve more than this.
    pub fn memory(&self, weight_bytes: usize) -> crate::layer::MemoryReport {
        let mut m = crate::layer::MemoryReport { weights: 0, traces: 0, state: 0 };
        for l in &self.pops[..self.populations] {
            let r = crate::layer::MemoryReport::layer_with_presyn(l.weights, l.axons, l.presyn, l.neurons, l.states, weight_bytes);
            m.weights += r.weights;
            m.traces += r.traces;
            m.state += r.state + if l.bias != BiasMode::None { 4 * l.neurons } else { 0 };
        }
        m.state += core::mem::size_of::<crate::neuron::ParamSlot>() * self.param_slots;
        m
    }

    /// Entries of the spike-history buffer (depth × stride).
    pub fn hist_len(&self) -> usize {
        self.depth * self.hist_stride
    }

    /// Entries of the history-count buffer (depth × (1 + populations)).
    pub fn hist_counts(&self) -> usize {
        self.depth * (1 + self.populations)
    }
}

impl GraphConfig {
    /// The STD/STP of projection `q`, validated against its target's formats: its own kind, or its
    /// target's [`LayerConfig::presyn`] for [`ProjPresyn::Inherit`]. An own kind onto a population that
    /// has a population-wide STD/STP is inconsistent (`Presyn` with `Projection`).
    pub fn projection_presyn(&self, q: usize) -> Result<PresynKind, ConfigError> {
        let bad = ConfigError::OutOfRange { field: Field::Projection, value: q as i64, min: 0, max: self.projections.len() as i64 - 1 };
        let pr = self.projections.get(q).ok_or(bad)?;
        let pop = self.populations.get(pr.target as usize).ok_or(bad)?;
        let f = &pop.layer.formats;
        let own = match pr.presyn {
            ProjPresyn::Inherit => return Ok(pop.layer.presyn),
            ProjPresyn::None => PresynKind::None,
            ProjPresyn::Depression(d) => PresynKind::Depression(Depression::new(d, f)?),
            ProjPresyn::Facilitation(d) => PresynKind::Facilitation(Facilitation::new(d, f)?),
        };
        if !matches!(pop.layer.presyn, PresynKind::None) {
            return Err(ConfigError::Inconsistent { field: Field::Presyn, with: Field::Projection });
        }
        Ok(own)
    }

    /// The axon groups of the grouped populations ([`PopLayout::grouped`]) for a `layout` this
    /// configuration produced: population p's are entries `group_off..group_off + groups`, one per
    /// projection onto it in axon-block order, with its shift, its STD/STP ([`Self::projection_presyn`])
    /// and its STD/STP state offset inside the population's `presyn` entries. Unused entries are
    /// [`AxonGroup::EMPTY`].
    pub fn axon_groups(&self, lay: &Layout) -> [AxonGroup; MAX_PROJECTIONS] {
        let mut out = [AxonGroup::EMPTY; MAX_PROJECTIONS];
        for (p, l) in lay.pops[..lay.populations].iter().enumerate() {
            if !l.grouped {
                continue;
            }
            let (mut k, mut state) = (l.group_off, 0u32);
            for pass in [true, false] {
                for (q, pr) in self.projections.iter().enumerate() {
                    if pr.target as usize != p || pr.learn != pass {
                        continue;
                    }
                    let start = lay.block[q] as u32;
                    let end = start + self.source_width(pr.source) as u32;
                    let presyn = self.projection_presyn(q).unwrap_or(PresynKind::None);
                    if let Some(g) = out.get_mut(k) {
                        *g = AxonGroup { start, end, shift: pr.shift, presyn, state };
                    }
                    if !matches!(presyn, PresynKind::None) {
                        state += end - start;
                    }
                    k += 1;
                }
            }
        }
        out
    }

    /// The width of a projection's source.
    pub fn source_width(&self, s: Source) -> usize {
        match s {
            Source::Input { width, .. } => width as usize,
            Source::Population(p) => self.populations.get(p as usize).map_or(0, |q| q.neurons as usize),
        }
    }

    /// Validate the graph against `topology` (one entry per population, `None` = dense; an empty slice
    /// means all dense) and compute the pooled layout. Checks every index, width, delay rule, every
    /// population's [`LayerConfig`] for its axon count, the readout, and that every population has a
    /// learning signal.
    pub fn layout(&self, topology: &[Option<Csr<'_>>]) -> Result<Layout, ConfigError> {
        let np = self.populations.len();
        check_range(Field::Population, np as i64, 1, MAX_POPULATIONS as i64)?;
        if !topology.is_empty() && topology.len() != np {
            return Err(ConfigError::SizeMismatch { field: Field::Population, expected: np, found: topology.len() });
        }
        let mut pops = [PopLayout::default(); MAX_POPULATIONS];
        let mut block = [0usize; MAX_PROJECTIONS];
        let mut depth = 1usize;
        for pr in &self.projections {
            check_range(Field::Projection, pr.target as i64, 0, np as i64 - 1)?;
            check_range(Field::Delay, pr.delay as i64, 0, MAX_DELAY as i64)?;
            match pr.source {
                Source::Input { first, width } => {
                    check_range(Field::Axons, width as i64, 1, u16::MAX as i64)?;
                    check_range(Field::Axons, first as i64 + width as i64, 1, self.inputs as i64)?;
                }
                Source::Population(s) => {
                    check_range(Field::Projection, s as i64, 0, np as i64 - 1)?;
                    if pr.delay == 0 && s >= pr.target {
                        // A delay-0 edge must run forward in the update order.
                        return Err(ConfigError::Inconsistent { field: Field::Delay, with: Field::Population });
                    }
                }
            }
            depth = depth.max(pr.delay as usize + 1);
        }
        let (mut n_off, mut s_off, mut a_off, mut w_off, mut acc_off) = (0usize, 0usize, 0usize, 0usize, 0usize);
        let (mut max_a, mut max_n, mut param_off) = (0usize, 0usize, 0usize);
        let (mut presyn_off, mut group_off) = (0usize, 0usize);
        for (p, pop) in self.populations.iter().enumerate() {
            let n = pop.neurons as usize;
            check_range(Field::Neurons, n as i64, 1, u16::MAX as i64)?;
            // Axon blocks: plastic projections first, then frozen ones, each in listed order.
            let mut axons = 0usize;
            let mut plastic = 0usize;
            // Per-projection formats: grouped when a shift or an STD/STP differs from the population's.
            let (mut grouped, mut presyn, mut groups, mut any_presyn) = (false, 0usize, 0usize, false);
            let (mut smax, mut widest) = (0u8, 0usize);
            for pass in [true, false] {
                for (q, pr) in self.projections.iter().enumerate() {
                    if pr.target as usize == p && pr.learn == pass {
                        block[q] = axons;
                        let width = self.source_width(pr.source);
                        axons += width;
                        if pass {
                            plastic = axons;
                        }
                        // The common case (shift 0, inherited STD/STP) without the checks below.
                        let kind = if pr.shift == 0 && matches!(pr.presyn, ProjPresyn::Inherit) {
                            pop.layer.presyn
                        } else {
                            check_range(Field::WeightShift, pr.shift as i64, 0, crate::layer::MAX_WEIGHT_SHIFT as i64)?;
                            let kind = self.projection_presyn(q)?;
                            grouped |= pr.shift != 0 || kind != pop.layer.presyn;
                            kind
                        };
                        if !matches!(kind, PresynKind::None) {
                            presyn += width;
                            any_presyn = true;
                        }
                        if groups == 0 || pr.shift > smax {
                            (smax, widest) = (pr.shift, q);
                        }
                        groups += 1;
                    }
                }
            }
            let states = pop.layer.neuron.states();
            pop.layer.validate(axons, states)?;
            if grouped {
                if any_presyn && matches!(pop.layer.neuron, NeuronKind::LoihiCuba(_)) {
                    return Err(ConfigError::Unsupported { field: Field::Presyn });
                }
                // The dendritic sum with the shifts (`layer::AxonGroup`): at most `axons` events, each
                // row at most max|m|·2^(largest shift)·2^frac per neuron.
                let frac = if any_presyn { crate::format::ACC_EFF_FRAC } else { 0 };
                let bound = ((axons as u64) * (pop.layer.formats.weight_max() as u64)) << (smax as u32 + frac);
                if bound > i32::MAX as u64 {
                    return Err(ConfigError::ProjectionOverflow { projection: widest as u8, shift: smax });
                }
            } else {
                groups = 0;
            }
            if pop.bias == BiasMode::Learned && matches!(pop.layer.neuron, NeuronKind::LoihiCuba(_)) {
                return Err(ConfigError::Unsupported { field: Field::Population });
            }
            let weights = match topology.get(p).copied().flatten() {
                Some(csr) => {
                    csr.validate(axons, n)?;
                    csr.cols.len()
                }
                None => axons * n,
            };
            pops[p] = PopLayout {
                neurons: n,
                states,
                axons,
                plastic,
                neuron_off: n_off,
                state_off: s_off,
                axon_off: a_off,
                weight_off: w_off,
                weights,
                dvdy: dvdy(&pop.layer),
                bias: pop.bias,
                params: pop.params,
                param_off,
                acc_off,
                acc_len: weights + if pop.bias == BiasMode::Learned { n } else { 0 },
                grouped,
                group_off,
                groups,
                presyn_off,
                presyn,
            };
            presyn_off += presyn;
            group_off += groups;
            acc_off += pops[p].acc_len;
            if pop.params == ParamMode::PerNeuron {
                param_off += n;
            }
            n_off += n;
            s_off += n * states;
            a_off += axons;
            w_off += weights;
            max_a = max_a.max(axons);
            max_n = max_n.max(n);
        }
        let ro = &self.readout;
        check_range(Field::Population, ro.source as i64, 0, np as i64 - 1)?;
        let n_ro = pops[ro.source as usize].neurons;
        let acc_off = acc_off;
        ro.config.validate(n_ro, ro.outputs as usize)?;
        if self.window.start > self.window.end {
            return Err(ConfigError::Inconsistent { field: Field::LossWindow, with: Field::LossWindow });
        }
        for (p, pop) in self.populations.iter().enumerate() {
            if pop.lambda == LambdaSource::Symmetric {
                let feeds_readout = ro.source as usize == p;
                let downstream = self
                    .projections
                    .iter()
                    .any(|q| q.delay == 0 && q.source == Source::Population(p as u8));
                if !feeds_readout && !downstream {
                    return Err(ConfigError::Inconsistent { field: Field::Feedback, with: Field::Population });
                }
            }
        }
        Ok(Layout {
            pops,
            populations: np,
            block,
            depth,
            hist_stride: self.inputs as usize + n_off,
            neurons: n_off,
            states: s_off,
            axons: a_off,
            presyn: presyn_off,
            weights: w_off,
            max_axons: max_a,
            max_neurons: max_n,
            readout_weights: n_ro * ro.outputs as usize,
            accumulator: acc_off + n_ro * ro.outputs as usize,
            param_slots: param_off,
        })
    }
}

/// ∂V_t/∂y_t in Q3.28 (**nearest**, saturating) for the model of a population: 1 for a delta synapse and
/// for Loihi CUBA (v_t = decayed v + u_t, u_t = decayed u + y_t), the gain k for an exponential synapse.
fn dvdy(layer: &LayerConfig) -> i32 {
    let one = 1i32 << crate::format::JAC_FRAC;
    let synapse = match layer.neuron {
        NeuronKind::Lif(m) => m.params().synapse,
        NeuronKind::Alif(m) => m.params().synapse,
        NeuronKind::LoihiCuba(_) => return one,
    };
    match synapse {
        Synapse::Delta => one,
        Synapse::Expon { gain, .. } => crate::neuron::decay_to_jac(gain.0, layer.formats.decay_frac as u32),
    }
}
