//! A layer of neurons with its synapses, ES-D-RTRL traces and on-chip learning rule (`es-d-rtrl.md` §8.1).
//!
//! The datapath is written once, over slices ([`LayerMut`]), so the same code runs a const-generic
//! [`Layer`] on a microcontroller and a run-time-sized slice of a network on an emulated core. One
//! timestep is a list of phases, called by the owner in this order:
//!
//! 1. [`LayerMut::integrate`]: STD/STP step (if any), dendritic sums over the rows of *active* axons only
//!    (event-driven), and the input traces ε^x ← α·ε^x + x.
//! 2. [`LayerMut::fire`]: neuron update, spikes, ψ(v̂_t), the Jacobians D_t, D^f_t and the neuron traces
//!    ẽ^f ← α·D_t·ẽ^f + D^f_t (stored divided by (1 − α), §8.1 item 3).
//! 3. (the owner routes spikes and computes the learning signal)
//! 4. [`LayerMut::learn`] (online, stochastic rounding) or [`LayerMut::accumulate`] +
//!    [`LayerMut::apply_accumulated`]: ΔW_ij = −η·ε^x_i·ẽ^f_{j,V}·λ_j.
//!
//! Each phase returns [`OpCounts`] so a cost model can charge cycles without repeating any arithmetic.
//! After [`LayerMut::new`] has checked every length, no phase can fail or panic: out-of-range axon ids in
//! an event list are dropped and counted, every overflow saturates and is counted in [`Saturations`].

use crate::arith::{clamp_i64, sat_i32, shift_nearest, shr_nearest, shr_nearest_i32, shr_nearest_narrow};
use crate::error::{ConfigError, Field};
use crate::format::{round_shift, round_shift_i128, Decay, Formats, Rounding, Weight, WeightStore, ACC_EFF_FRAC, EFF_FRAC, JAC_FRAC};
use crate::format::{ROUND_NEAREST, ROUND_STOCHASTIC, ROUND_TRUNCATE};
use crate::neuron::{Jacobian, LifInference, LifLearning, NeuronKind, NeuronModel, ParamSlot, Reset};
use crate::presyn::{Presyn, PresynKind};
use crate::rng;

mod buckets;
mod frozen;
mod groups;
pub use frozen::{compact_weights, FrozenCsr, RowHint};
pub use groups::{AxonGroup, MAX_AXON_GROUPS, MAX_WEIGHT_SHIFT};

/// Learning rate η = `mant` · 2^-`shift` (ReckOn-style shift-based rate, no multiplier needed when
/// `mant` is a power of two).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LearningRate {
    /// Mantissa.
    pub mant: u16,
    /// Right shift, 0..=40.
    pub shift: u8,
}

/// Configuration of one layer. Validate with [`LayerConfig::validate`] (the constructors do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LayerConfig {
    /// Number formats.
    pub formats: Formats,
    /// Neuron model.
    pub neuron: NeuronKind,
    /// Input-side plasticity.
    pub presyn: PresynKind,
    /// ES-D-RTRL trace decay α (Q.`decay_frac`, < 1): the rank r gives α = (r − 1)/(r + 1).
    pub trace_decay: Decay,
    /// Learning rate η of the hidden weights. The (1 − α) of ε^f is folded into it (§8.1).
    pub learning_rate: LearningRate,
    /// Seed of the stochastic-rounding hash.
    pub seed: u32,
}

impl LayerConfig {
    /// Check formats, decays and the accumulator bound for `axons` inputs, and that the model has `states`
    /// state variables.
    pub fn validate(&self, axons: usize, states: usize) -> Result<(), ConfigError> {
        let f = &self.formats;
        f.validate()?;
        crate::error::check_range(Field::Decay, self.trace_decay.0 as i64, 0, (1i64 << f.decay_frac) - 1)?;
        crate::error::check_range(Field::LearningRate, self.learning_rate.shift as i64, 0, 40)?;
        crate::error::check_range(Field::Axons, axons as i64, 1, u16::MAX as i64)?;
        if self.neuron.states() != states {
            return Err(ConfigError::SizeMismatch {
                field: Field::States,
                expected: self.neuron.states(),
                found: states,
            });
        }
        if matches!(self.neuron, NeuronKind::LoihiCuba(_)) && !matches!(self.presyn, PresynKind::None) {
            return Err(ConfigError::Unsupported { field: Field::Presyn });
        }
        // Σ over all axons of |w|·2^acc_frac must stay below 2^31.
        let bound = ((axons as u64) * (f.weight_max() as u64)) << self.acc_frac();
        if bound > i32::MAX as u64 {
            return Err(ConfigError::AccumulatorOverflow { axons, weight_bits: f.weight_bits });
        }
        Ok(())
    }

    /// Extra fractional bits of the dendritic sum (12 with STD/STP, else 0).
    pub fn acc_frac(&self) -> u32 {
        if matches!(self.presyn, PresynKind::None) {
            0
        } else {
            ACC_EFF_FRAC
        }
    }
}

/// Operation counts of one phase: what a cost model charges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OpCounts {
    /// Synapses read and accumulated (active rows × row length).
    pub syn_ops: u32,
    /// Active input events (rows read).
    pub events_in: u32,
    /// Neuron state updates.
    pub neuron_updates: u32,
    /// Trace updates (ε^x per axon, ẽ^f per neuron, ε^o per readout input).
    pub trace_updates: u32,
    /// STD/STP state updates.
    pub presyn_updates: u32,
    /// Weight updates (active rows × active columns).
    pub weight_updates: u32,
    /// Spikes emitted.
    pub spikes: u32,
}

impl OpCounts {
    /// Field-wise sum (saturating).
    pub fn add(&mut self, o: &OpCounts) {
        self.syn_ops = self.syn_ops.saturating_add(o.syn_ops);
        self.events_in = self.events_in.saturating_add(o.events_in);
        self.neuron_updates = self.neuron_updates.saturating_add(o.neuron_updates);
        self.trace_updates = self.trace_updates.saturating_add(o.trace_updates);
        self.presyn_updates = self.presyn_updates.saturating_add(o.presyn_updates);
        self.weight_updates = self.weight_updates.saturating_add(o.weight_updates);
        self.spikes = self.spikes.saturating_add(o.spikes);
    }
}

/// Cumulative counts of chip effects (saturations, dropped events): counted instead of panicking.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Saturations {
    /// Neuron state (V, g, a, Loihi v) clamped.
    pub state: u32,
    /// ε^x clamped at its maximum.
    pub xtrace: u32,
    /// ẽ^f clamped at the i32 range.
    pub etrace: u32,
    /// A weight clamped at ±(2^(b−1) − 1).
    pub weight: u32,
    /// A per-neuron gradient factor or accumulator clamped.
    pub grad: u32,
    /// Input events naming an axon that does not exist (dropped).
    pub dropped_events: u32,
}

impl Saturations {
    /// Total number of chip effects (for strict modes).
    pub fn total(&self) -> u64 {
        self.state as u64
            + self.xtrace as u64
            + self.etrace as u64
            + self.weight as u64
            + self.grad as u64
            + self.dropped_events as u64
    }
}

/// Small per-layer scalars that live with the buffers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LayerScalars {
    /// Chip-effect counters.
    pub sat: Saturations,
    /// Learning steps so far: incremented by every `integrate` with learning on, and part of every
    /// stochastic-rounding key of that step (trace decays, online updates). **Wraps** after 2³² learning
    /// steps (step 2³² reuses step 0's random words; `hw-notes/formats.md`, `tests/boundaries.rs`).
    pub updates: u32,
}

/// The learning signal handed to [`LayerMut::learn`], one entry per local neuron, Q.`signal_frac`.
#[derive(Clone, Copy, Debug)]
pub enum Signal<'a> {
    /// Σ_k B_kj·e_k from the readout (symmetric or random feedback): the layer multiplies by ψ(v̂_t).
    Feedback(&'a [i32]),
    /// λ_j itself, written by the host or a neighbouring core (`External`).
    Lambda(&'a [i32]),
}

/// Mutable borrows of every buffer of a layer (or of a core's slice of one). Lengths are checked by
/// [`LayerMut::new`]: `axons` rows × `neurons` columns of weights, `neurons × states` state and ẽ^f,
/// `axons` ε^x, STD/STP states and efficacies (`axons` of each, or fewer — none without STD/STP — for a
/// layer whose axon groups say which axons have them, [`LayerMut::set_axon_groups`]), `neurons`
/// accumulators, ψ and gradient factors.
pub struct Buffers<'a, W: WeightStore = Weight> {
    /// Weights, row-major by presynaptic axon (`weights[axon * neurons + j]`).
    pub weights: &'a mut [W],
    /// Neuron states, `neurons × states`, slot 0 = V.
    pub state: &'a mut [i32],
    /// ẽ^f, `neurons × states`, Q.`etrace_frac`.
    pub etrace: &'a mut [i32],
    /// ε^x per axon, Q.`trace_frac`.
    pub xtrace: &'a mut [u16],
    /// STD/STP state per axon.
    pub presyn: &'a mut [[i32; 2]],
    /// Released efficacy per axon this step (Q.16).
    pub efficacy: &'a mut [i32],
    /// Dendritic accumulators per neuron (emptied by `fire`).
    pub acc: &'a mut [i32],
    /// ψ(v̂_t) per neuron, Q.`signal_frac`.
    pub psi: &'a mut [i32],
    /// Per-neuron gradient factor G_j (scratch of `learn`).
    pub grad: &'a mut [i64],
    /// Counters and update count.
    pub scalars: &'a mut LayerScalars,
}

/// Fixed sparse connectivity in compressed-sparse-row form: the synapses of axon `a` are
/// `weights[row_start[a]..row_start[a + 1]]`, onto the local neurons `cols[row_start[a]..row_start[a + 1]]`
/// (strictly increasing within a row). A missing synapse does not exist: it is never read and never
/// learns (a chip's synapse memory holds only the listed ones). `row_start` has `axons + 1` entries,
/// starting at 0 and ending at the number of synapses.
#[derive(Clone, Copy, Debug)]
pub struct Csr<'a> {
    /// Row offsets, `axons + 1` entries.
    pub row_start: &'a [u32],
    /// Local neuron index of each synapse.
    pub cols: &'a [u16],
}

impl Csr<'_> {
    /// Check the structure for `axons` × `neurons` (O(synapses), once).
    pub fn validate(&self, axons: usize, neurons: usize) -> Result<(), ConfigError> {
        let bad = |expected: usize, found: usize| ConfigError::SizeMismatch { field: Field::Buffer, expected, found };
        if self.row_start.len() != axons + 1 {
            return Err(bad(axons + 1, self.row_start.len()));
        }
        if self.row_start[0] != 0 || self.row_start[axons] as usize != self.cols.len() {
            return Err(bad(self.cols.len(), self.row_start[axons] as usize));
        }
        for a in 0..axons {
            let (s, e) = (self.row_start[a] as usize, self.row_start[a + 1] as usize);
            if e < s || e > self.cols.len() {
                return Err(bad(s, e));
            }
            let mut prev: Option<u16> = None;
            for &c in &self.cols[s..e] {
                if c as usize >= neurons || prev.is_some_and(|p| c <= p) {
                    return Err(ConfigError::OutOfRange {
                        field: Field::Neurons,
                        value: c as i64,
                        min: prev.map_or(0, |p| p as i64 + 1),
                        max: neurons as i64 - 1,
                    });
                }
                prev = Some(c);
            }
        }
        Ok(())
    }

    /// The O(axons) part of [`Csr::validate`]: `row_start` has `axons + 1` non-decreasing entries from 0
    /// to `cols.len()`. It is what keeps every slice of the datapath in bounds (column indices are looked
    /// up with `get`), not what makes the sums right: use it only for a structure that passed
    /// [`Csr::validate`] once (see [`LayerMut::new_sparse_validated`]).
    pub fn validate_bounds(&self, axons: usize) -> Result<(), ConfigError> {
        let bad = |expected: usize, found: usize| ConfigError::SizeMismatch { field: Field::Buffer, expected, found };
        if self.row_start.len() != axons + 1 {
            return Err(bad(axons + 1, self.row_start.len()));
        }
        if self.row_start[0] != 0 || self.row_start[axons] as usize != self.cols.len() {
            return Err(bad(self.cols.len(), self.row_start[axons] as usize));
        }
        if let Some(w) = self.row_start.windows(2).find(|w| w[1] < w[0]) {
            return Err(bad(w[0] as usize, w[1] as usize));
        }
        Ok(())
    }

    #[inline(always)]
    fn range(&self, a: usize) -> (usize, usize) {
        match (self.row_start.get(a), self.row_start.get(a + 1)) {
            (Some(&s), Some(&e)) => (s as usize, e as usize),
            _ => (0, 0),
        }
    }
}

/// The datapath of one layer over borrowed buffers.
pub struct LayerMut<'a, W: WeightStore = Weight> {
    cfg: &'a LayerConfig,
    b: Buffers<'a, W>,
    topo: Option<Csr<'a>>,
    axons: usize,
    n: usize,
    s: usize,
    offset: u32,
    force_dense: bool,
    plastic: usize,
    bias: Option<&'a mut [i32]>,
    learn_bias: bool,
    rounding: Rounding,
    params: Option<&'a [ParamSlot]>,
    /// Per-range weight shift and STD/STP ([`LayerMut::set_axon_groups`]); `None`: shift 0 and the
    /// configuration's STD/STP on every axon (the loops as before groups existed).
    groups: Option<&'a [AxonGroup]>,
    /// Whether the dendritic sum has [`ACC_EFF_FRAC`] extra fractional bits: the configuration has
    /// STD/STP ([`LayerConfig::acc_frac`]), or with groups any group has it ([`LayerMut::acc_frac`]).
    fractional: bool,
}

impl<'a, W: WeightStore> LayerMut<'a, W> {
    /// Check every buffer length against `axons` × `neurons` and the model's state count.
    /// `neuron_offset` is the global index of local neuron 0 (a core holding a slice of a layer passes its
    /// first neuron, so stochastic rounding is identical whatever the mapping).
    pub fn new(
        cfg: &'a LayerConfig,
        b: Buffers<'a, W>,
        axons: usize,
        neurons: usize,
        neuron_offset: u32,
    ) -> Result<Self, ConfigError> {
        Self::build(cfg, b, None, axons, neurons, neuron_offset)
    }

    /// Like [`LayerMut::new`] with fixed sparse connectivity: `b.weights` holds one weight per listed
    /// synapse (`csr.cols.len()`), in CSR order.
    pub fn new_sparse(
        cfg: &'a LayerConfig,
        b: Buffers<'a, W>,
        csr: Csr<'a>,
        axons: usize,
        neurons: usize,
        neuron_offset: u32,
    ) -> Result<Self, ConfigError> {
        csr.validate(axons, neurons)?;
        Self::build(cfg, b, Some(csr), axons, neurons, neuron_offset)
    }

    /// Like [`LayerMut::new_sparse`] for a structure that already passed [`Csr::validate`] for these
    /// `axons` × `neurons` (an emulator core rebuilds its `LayerMut` every timestep over the same fixed
    /// structure): only [`Csr::validate_bounds`] is checked, O(axons) instead of O(synapses). A structure
    /// that was changed after validation can give wrong sums but never an out-of-bounds access.
    pub fn new_sparse_validated(
        cfg: &'a LayerConfig,
        b: Buffers<'a, W>,
        csr: Csr<'a>,
        axons: usize,
        neurons: usize,
        neuron_offset: u32,
    ) -> Result<Self, ConfigError> {
        csr.validate_bounds(axons)?;
        Self::build(cfg, b, Some(csr), axons, neurons, neuron_offset)
    }

    fn build(
        cfg: &'a LayerConfig,
        b: Buffers<'a, W>,
        topo: Option<Csr<'a>>,
        axons: usize,
        neurons: usize,
        neuron_offset: u32,
    ) -> Result<Self, ConfigError> {
        let s = cfg.neuron.states();
        cfg.validate(axons, s)?;
        if cfg.formats.weight_bits > W::BITS {
            return Err(ConfigError::OutOfRange { field: Field::WeightBits, value: cfg.formats.weight_bits as i64, min: 2, max: W::BITS as i64 });
        }
        let check = |expected: usize, found: usize| {
            if expected == found {
                Ok(())
            } else {
                Err(ConfigError::SizeMismatch { field: Field::Buffer, expected, found })
            }
        };
        check(topo.map_or(axons * neurons, |c| c.cols.len()), b.weights.len())?;
        check(neurons * s, b.state.len())?;
        check(neurons * s, b.etrace.len())?;
        check(axons, b.xtrace.len())?;
        // STD/STP state: one per axon with the configuration's STD/STP; without it the buffers may be
        // shorter (a graph gives only the axons of its projections with STD/STP, set by
        // `set_axon_groups`, which checks their length), but never longer than the axons.
        if !matches!(cfg.presyn, PresynKind::None) || b.presyn.len() > axons {
            check(axons, b.presyn.len())?;
        }
        check(b.presyn.len(), b.efficacy.len())?;
        check(neurons, b.acc.len())?;
        check(neurons, b.psi.len())?;
        check(neurons, b.grad.len())?;
        Ok(LayerMut { cfg, b, topo, axons, n: neurons, s, offset: neuron_offset, force_dense: false, plastic: axons, bias: None, learn_bias: false, rounding: Rounding::Stochastic, params: None, groups: None, fractional: !matches!(cfg.presyn, PresynKind::None) })
    }

    /// Always take the dense weight-update loop (for tests and benchmarks that check the sparse and dense
    /// loops give the same bits; results never depend on it).
    pub fn force_dense_learning(&mut self, on: bool) {
        self.force_dense = on;
    }

    /// How [`LayerMut::learn`] and [`LayerMut::apply_accumulated`] round a weight (and bias) update to
    /// the LSB ([`Rounding`]; default [`Rounding::Stochastic`], the rule before this setting existed, bit
    /// for bit). Every mode saturates at the range (counted). [`LayerMut::accumulate`] is unaffected (it
    /// keeps 16 fractional bits, rounded nearest).
    pub fn set_rounding(&mut self, rounding: Rounding) {
        self.rounding = rounding;
    }

    /// The rounding mode of the weight updates ([`LayerMut::set_rounding`]).
    pub fn rounding(&self) -> Rounding {
        self.rounding
    }

    /// Only axons `0..k` are plastic (clamped to the axon count): axons ≥ k still integrate but never get
    /// an input trace ε^x, so their rows never learn (a graph puts the rows of its frozen projections
    /// last). The default is every axon; a layer whose axons are all plastic gives the same bits as
    /// before this existed.
    pub fn set_plastic_axons(&mut self, k: usize) {
        self.plastic = k.min(self.axons);
    }

    /// Give the neurons a bias b_j (one i32 per local neuron, in the model's input units y: Q.`state_frac`
    /// for LIF/ALIF, added to y_t like any input; raw voltage units for Loihi CUBA, where it replaces the
    /// bias register of the compartment: Loihi's per-compartment `bias_mant ≪ bias_exp`). With `learn`,
    /// [`LayerMut::learn`] moves it by its ES-D-RTRL gradient Δb_j = −η·ẽ^f_{j,V}·λ_j (ε^x = 1),
    /// stochastically rounded, **saturating** at the i32 range (counted as weight saturations), and
    /// [`LayerMut::accumulate`] / [`LayerMut::apply_accumulated`] then take `axons × neurons + neurons`
    /// accumulators (the bias's last). Fails if the length is not the neuron count.
    pub fn set_bias(&mut self, bias: &'a mut [i32], learn: bool) -> Result<(), ConfigError> {
        if bias.len() != self.n {
            return Err(ConfigError::SizeMismatch { field: Field::Buffer, expected: self.n, found: bias.len() });
        }
        self.bias = Some(bias);
        self.learn_bias = learn;
        Ok(())
    }

    /// Give every neuron its own threshold and decays ([`crate::neuron::params`]): one [`ParamSlot`] per
    /// local neuron, each built by [`ParamSlot::new`] for this layer's configuration. `fire` then runs
    /// the model's own update on neuron j's values, so ψ, the Jacobians D_t, D^f_t and hence ẽ^f and the
    /// learning use them too; without this call (the default) the scalar values of the configuration
    /// apply and `fire` takes its scalar loops unchanged. Fails if the length is not the neuron count or
    /// a slot was not built for this neuron model (its LIF `adapt` must be 0; O(neurons) check).
    pub fn set_neuron_params(&mut self, params: &'a [ParamSlot]) -> Result<(), ConfigError> {
        if params.len() != self.n {
            return Err(ConfigError::SizeMismatch { field: Field::Buffer, expected: self.n, found: params.len() });
        }
        if matches!(self.cfg.neuron, NeuronKind::Lif(_)) {
            if let Some(s) = params.iter().find(|s| s.adapt != 0) {
                return Err(ConfigError::OutOfRange { field: Field::Decay, value: s.adapt as i64, min: 0, max: 0 });
            }
        }
        self.params = Some(params);
        Ok(())
    }

    /// [`LayerMut::set_neuron_params`] without the O(neurons) model check, for owners whose slots were
    /// built for this configuration (a graph's pooled storage); the length is still checked.
    pub(crate) fn set_neuron_params_trusted(&mut self, params: &'a [ParamSlot]) -> Result<(), ConfigError> {
        if params.len() != self.n {
            return Err(ConfigError::SizeMismatch { field: Field::Buffer, expected: self.n, found: params.len() });
        }
        self.params = Some(params);
        Ok(())
    }

    /// The per-neuron parameters, if given.
    pub fn neuron_params(&self) -> Option<&[ParamSlot]> {
        self.params
    }

    /// The bias, if one was given.
    pub fn bias(&self) -> Option<&[i32]> {
        self.bias.as_deref()
    }

    /// Accumulator length [`LayerMut::accumulate`] and [`LayerMut::apply_accumulated`] expect.
    pub fn accumulator_len(&self) -> usize {
        self.b.weights.len() + if self.learns_bias() { self.n } else { 0 }
    }

    fn learns_bias(&self) -> bool {
        self.learn_bias && self.bias.is_some()
    }

    /// Online bias update from the gradient factors of this step (before `learn_rows`, which may reuse
    /// the scratch): Δb_j = floor((G_j·2^trace_frac·2^lsb + r) / 2³²), r a 32-bit word of
    /// `row_key(seed ^ SALT_BIAS, step, axons)` and the global neuron (or the layer's other
    /// [`Rounding`] of G_j·2^trace_frac·2^lsb·2⁻³²); exact in i128.
    fn learn_bias_online(&mut self) -> u32 {
        let frac = self.acc_frac();
        let (Some(bias), Some(sh)) = (self.bias.as_deref_mut(), Self::lsb_shift_of(self.cfg, frac)) else { return 0 };
        let tf = self.cfg.formats.trace_frac as u32;
        let key = rng::row_key(self.cfg.seed ^ rng::SALT_BIAS, self.b.scalars.updates, self.axons as u32);
        let mut sat = 0u32;
        let mut moved = 0u32;
        for (j, b) in bias.iter_mut().enumerate() {
            let g = unpack(self.b.grad.get(j).copied().unwrap_or(0)).0;
            if g == 0 {
                continue;
            }
            moved += 1;
            let r = rng::cell(key, self.offset.wrapping_add(j as u32)) as i128;
            let d = round_shift_i128((g as i128) << (tf + sh), 32, r, self.rounding);
            let v = *b as i128 + d;
            let c = v.clamp(i32::MIN as i128 + 1, i32::MAX as i128);
            sat += (c != v) as u32;
            *b = c as i32;
        }
        self.b.scalars.sat.weight = self.b.scalars.sat.weight.saturating_add(sat);
        moved
    }

    fn lsb_shift_of(cfg: &LayerConfig, f: u32) -> Option<u32> {
        let one = match cfg.neuron {
            NeuronKind::Lif(m) => m.input(1 << f, f),
            NeuronKind::Alif(m) => m.input(1 << f, f),
            NeuronKind::LoihiCuba(m) => m.input(1 << f, f),
        };
        (one > 0 && one.count_ones() == 1).then(|| one.trailing_zeros())
    }

    /// The synapses of `axon`: `(local neuron, weight)` in column order (dense: every neuron; compressed:
    /// the listed ones). An axon out of range has none. For readers of the weights that need the row
    /// structure (a graph's within-step backprop through a downstream projection).
    pub fn row(&self, axon: usize) -> impl Iterator<Item = (usize, W)> + '_ {
        row_of(self.topo, self.b.weights, self.n, self.axons, axon)
    }

    /// Extra fractional bits of the dendritic sum: [`ACC_EFF_FRAC`] (12) when the configuration, or with
    /// groups any group, has STD/STP, else 0. A value known to be one of the two (not a loaded number),
    /// so the fire loops fold it as they did with [`LayerConfig::acc_frac`].
    #[inline(always)]
    pub fn acc_frac(&self) -> u32 {
        if self.fractional {
            ACC_EFF_FRAC
        } else {
            0
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LayerConfig {
        self.cfg
    }

    /// Reset neuron state, traces and STD/STP state (sequence start); weights and counters are kept.
    pub fn reset_state(&mut self) {
        self.b.state.fill(0);
        self.b.etrace.fill(0);
        self.b.xtrace.fill(0);
        self.b.acc.fill(0);
        self.b.psi.fill(0);
        self.b.efficacy.fill(0);
        if let Some(groups) = self.groups {
            groups::reset_presyn(groups, self.b.presyn);
            return;
        }
        let init = match self.cfg.presyn {
            PresynKind::None => [0, 0],
            PresynKind::Depression(m) => m.init(),
            PresynKind::Facilitation(m) => m.init(),
        };
        self.b.presyn.fill(init);
    }

    /// Phase **integrate**: advance STD/STP, add the weight rows of the `active` axons into the dendritic
    /// accumulators, and (if `learn`) advance the learning-step counter and update ε^x ← α·ε^x + x (decay
    /// rounded **stochastically**, see [`rng::decay_stochastic`]; sum **saturating** at 2^trace_bits − 1). Only rows of active axons are read. Axon ids ≥ `axons`, and events beyond the
    /// first `axons` valid ones, are dropped and counted; a repeated axon adds its row once per event.
    pub fn integrate(&mut self, active: &[u16], learn: bool) -> OpCounts {
        if self.groups.is_some() {
            return self.integrate_grouped(active, learn);
        }
        let mut c = OpCounts::default();
        let n = self.n;
        let fractional = !matches!(self.cfg.presyn, PresynKind::None);
        if fractional {
            self.presyn_step(active);
            c.presyn_updates = self.axons as u32;
        }
        // At most `axons` events are integrated per step (a chip's input buffer holds one event per axon
        // per step); this is also what bounds the dendritic sum so it cannot overflow. Further events and
        // events naming a missing axon are dropped and counted.
        let mut taken = 0usize;
        // Dense rows of binary events are summed several at a time (`add_rows`): one read-modify-write
        // of each dendritic sum per group of rows instead of per row. Integer addition in i32 without
        // overflow (the bound above) is associative, so the sums are the same bits in any grouping.
        let grouped = self.topo.is_none() && !fractional;
        let mut pend = [0usize; ROWS_AT_ONCE];
        let mut np = 0;
        for &a in active {
            let a = a as usize;
            if a >= self.axons || taken == self.axons {
                self.b.scalars.sat.dropped_events = self.b.scalars.sat.dropped_events.saturating_add(1);
                continue;
            }
            taken += 1;
            if grouped {
                if let Some(p) = pend.get_mut(np) {
                    *p = a;
                    np += 1;
                }
                if np == ROWS_AT_ONCE {
                    add_rows(self.b.acc, self.b.weights, n, &pend);
                    np = 0;
                }
                c.syn_ops += n as u32;
                c.events_in += 1;
                continue;
            }
            // Efficacy rounded to 12 bits (nearest); products exact in i32 by the validated bound.
            let x = if fractional { shr_nearest(self.b.efficacy[a] as i64, EFF_FRAC - ACC_EFF_FRAC) as i32 } else { 1 };
            match self.topo {
                None => {
                    let row = &self.b.weights[a * n..(a + 1) * n];
                    if fractional {
                        for (acc, w) in self.b.acc.iter_mut().zip(row) {
                            *acc += w.get() * x;
                        }
                    } else {
                        for (acc, w) in self.b.acc.iter_mut().zip(row) {
                            *acc += w.get();
                        }
                    }
                    c.syn_ops += n as u32;
                }
                Some(csr) => {
                    let (s, e) = csr.range(a);
                    let (cols, ws) = (&csr.cols[s..e], &self.b.weights[s..e]);
                    // Column ids were validated < neurons, so `get_mut` never misses; it only keeps the
                    // loop free of panics. The binary-spike loop has no multiply.
                    // For a validated structure the sum cannot overflow (one synapse per axon and neuron);
                    // `wrapping_add` only keeps a structure broken after validation (see
                    // `new_sparse_validated`) from panicking.
                    if fractional {
                        for (&col, w) in cols.iter().zip(ws) {
                            if let Some(acc) = self.b.acc.get_mut(col as usize) {
                                *acc = acc.wrapping_add(w.get() * x);
                            }
                        }
                    } else {
                        for (&col, w) in cols.iter().zip(ws) {
                            if let Some(acc) = self.b.acc.get_mut(col as usize) {
                                *acc = acc.wrapping_add(w.get());
                            }
                        }
                    }
                    c.syn_ops += (e - s) as u32;
                }
            }
            c.events_in += 1;
        }
        if let Some(rest) = pend.get(..np) {
            add_rows(self.b.acc, self.b.weights, n, rest);
        }
        if learn {
            self.input_traces(active, fractional);
            c.trace_updates += self.plastic as u32;
        }
        c
    }

    /// The learning part of **integrate**: advance the learning-step counter and update
    /// ε^x ← α·ε^x + x (see [`LayerMut::integrate`]), over the same events the sums took.
    #[inline(never)]
    fn input_traces(&mut self, active: &[u16], fractional: bool) {
        let fmt = self.cfg.formats;
        let step = self.b.scalars.updates.wrapping_add(1);
        self.b.scalars.updates = step;
        let alpha = self.cfg.trace_decay.0;
        let df = fmt.decay_frac as u32;
        let key = rng::row_key(self.cfg.seed ^ rng::SALT_TRACE, step, 0);
        // α < 2^df (validated), so the decay is one multiply-add's high word (`rng::decay_hi`, the same
        // integer as `rng::decay_stochastic`).
        let ka = alpha << (32 - df);
        for (i, t) in self.b.xtrace.iter_mut().enumerate() {
            if *t != 0 {
                *t = rng::decay_hi(*t, ka, rng::cell(key, i as u32));
            }
        }
        let max = fmt.trace_max();
        let tf = fmt.trace_frac as u32;
        let plastic = self.plastic;
        for &a in active.iter().filter(|&&a| (a as usize) < self.axons).take(self.axons) {
            let a = a as usize;
            if a >= plastic {
                continue;
            }
            let x = if fractional {
                shift_nearest(self.b.efficacy[a] as i64, tf as i32 - EFF_FRAC as i32).max(0) as u32
            } else {
                1u32 << tf
            };
            let v = self.b.xtrace[a] as u32 + x;
            if v > max {
                self.b.xtrace[a] = max as u16;
                self.b.scalars.sat.xtrace = self.b.scalars.sat.xtrace.saturating_add(1);
            } else {
                self.b.xtrace[a] = v as u16;
            }
        }
    }

    fn presyn_step(&mut self, active: &[u16]) {
        // Mark active axons in the sign bit of slot 0 (efficacies are never negative), then step every
        // axon once: a duplicate event marks once.
        for &a in active {
            if let Some(st) = self.b.presyn.get_mut(a as usize) {
                if st[0] >= 0 {
                    st[0] = -st[0] - 1;
                }
            }
        }
        match self.cfg.presyn {
            PresynKind::None => {}
            PresynKind::Depression(m) => step_all(&m, self.b.presyn, self.b.efficacy),
            PresynKind::Facilitation(m) => step_all(&m, self.b.presyn, self.b.efficacy),
        }
    }

    /// Phase **fire**: update every neuron from its dendritic sum (which is emptied), write the indices
    /// of the neurons that spiked into `spikes` (local indices, ascending; at most `spikes.len()`, the
    /// rest are counted in `OpCounts::spikes` but not listed) and return the counts with the number
    /// listed. If `learn`, also record ψ(v̂_t) and update ẽ^f (see [`update_etrace`]).
    pub fn fire(&mut self, learn: bool, spikes: &mut [u16]) -> (OpCounts, usize) {
        // One loop per (model, learn, bias, per-neuron parameters): the per-neuron body has no branch
        // on any of them.
        if self.params.is_some() {
            return self.fire_per_neuron(learn, spikes);
        }
        if self.bias.is_some() {
            return match (self.cfg.neuron, learn) {
                (NeuronKind::Lif(m), true) => self.fire_with::<_, true, true, false>(&m, spikes),
                (NeuronKind::Lif(m), false) => self.fire_with::<_, false, true, false>(&m, spikes),
                (NeuronKind::Alif(m), true) => self.fire_with::<_, true, true, false>(&m, spikes),
                (NeuronKind::Alif(m), false) => self.fire_with::<_, false, true, false>(&m, spikes),
                (NeuronKind::LoihiCuba(m), true) => self.fire_with::<_, true, true, false>(&m, spikes),
                (NeuronKind::LoihiCuba(m), false) => self.fire_with::<_, false, true, false>(&m, spikes),
            };
        }
        match (self.cfg.neuron, learn) {
            (NeuronKind::Lif(m), true) => match (m.learning(self.acc_frac()), m.params().reset, m.params().detach_reset) {
                (Some(f), Reset::Soft, false) => self.fire_lif_learning::<true, false>(&f, spikes),
                (Some(f), Reset::Soft, true) => self.fire_lif_learning::<true, true>(&f, spikes),
                (Some(f), Reset::Hard, true) => self.fire_lif_learning::<false, true>(&f, spikes),
                _ => self.fire_with::<_, true, false, false>(&m, spikes),
            },
            (NeuronKind::Lif(m), false) => match (m.inference(self.acc_frac()), m.states(), m.params().reset) {
                (Some(f), 1, Reset::Soft) => self.fire_lif_inference::<1, false, true>(&f, spikes),
                (Some(f), 1, Reset::Hard) => self.fire_lif_inference::<1, false, false>(&f, spikes),
                (Some(f), _, Reset::Soft) => self.fire_lif_inference::<2, true, true>(&f, spikes),
                (Some(f), _, Reset::Hard) => self.fire_lif_inference::<2, true, false>(&f, spikes),
                (None, ..) => self.fire_with::<_, false, false, false>(&m, spikes),
            },
            (NeuronKind::Alif(m), true) => self.fire_with::<_, true, false, false>(&m, spikes),
            (NeuronKind::Alif(m), false) => self.fire_with::<_, false, false, false>(&m, spikes),
            (NeuronKind::LoihiCuba(m), true) => self.fire_with::<_, true, false, false>(&m, spikes),
            (NeuronKind::LoihiCuba(m), false) => self.fire_with::<_, false, false, false>(&m, spikes),
        }
    }

    /// `fire` with per-neuron parameters: the general loop with each neuron's model from its slot
    /// (out of line, so the scalar loops above are untouched by it).
    #[inline(never)]
    fn fire_per_neuron(&mut self, learn: bool, spikes: &mut [u16]) -> (OpCounts, usize) {
        match (self.cfg.neuron, learn, self.bias.is_some()) {
            (NeuronKind::Lif(m), true, false) => self.fire_with::<_, true, false, true>(&m, spikes),
            (NeuronKind::Lif(m), false, false) => self.fire_with::<_, false, false, true>(&m, spikes),
            (NeuronKind::Lif(m), true, true) => self.fire_with::<_, true, true, true>(&m, spikes),
            (NeuronKind::Lif(m), false, true) => self.fire_with::<_, false, true, true>(&m, spikes),
            (NeuronKind::Alif(m), true, false) => self.fire_with::<_, true, false, true>(&m, spikes),
            (NeuronKind::Alif(m), false, false) => self.fire_with::<_, false, false, true>(&m, spikes),
            (NeuronKind::Alif(m), true, true) => self.fire_with::<_, true, true, true>(&m, spikes),
            (NeuronKind::Alif(m), false, true) => self.fire_with::<_, false, true, true>(&m, spikes),
            (NeuronKind::LoihiCuba(m), true, false) => self.fire_with::<_, true, false, true>(&m, spikes),
            (NeuronKind::LoihiCuba(m), false, false) => self.fire_with::<_, false, false, true>(&m, spikes),
            (NeuronKind::LoihiCuba(m), true, true) => self.fire_with::<_, true, true, true>(&m, spikes),
            (NeuronKind::LoihiCuba(m), false, true) => self.fire_with::<_, false, true, true>(&m, spikes),
        }
    }

    /// `fire` without learning for a LIF layer in the common case of [`Lif::inference`]: the same
    /// arithmetic as [`Self::fire_with`] (see `LifInference::step`), with the configuration's branches
    /// out of the loop and no per-neuron slicing; `tests/fire_inference.rs` checks the bits against
    /// the general loop. `S` = states per neuron (2 with `EXPON`).
    fn fire_lif_inference<const S: usize, const EXPON: bool, const SOFT: bool>(
        &mut self,
        f: &LifInference,
        spikes: &mut [u16],
    ) -> (OpCounts, usize) {
        let mut c = OpCounts { neuron_updates: self.n as u32, ..OpCounts::default() };
        let mut listed = 0usize;
        let mut sat_state = 0u32;
        let n = self.n.min(self.b.acc.len()).min(self.b.state.len() / S);
        // Blocks of 32 neurons: first the updates, with no data-dependent store (a spike sets a bit
        // of the block's mask), then the block's spikes listed in ascending order from the mask
        // (host W1 N = 1000, perf samples of fire: 1265-1335 -> 413-431 against listing inside the
        // update loop; Cortex-M4 inference 31 898 -> 32 573 instructions per step).
        const BLOCK: usize = 32;
        let accs = self.b.acc[..n].chunks_mut(BLOCK);
        let states = self.b.state[..n * S].chunks_mut(BLOCK * S);
        for (bi, (accs, states)) in accs.zip(states).enumerate() {
            let mut fired = 0u32;
            for (k, (acc, st)) in accs.iter_mut().zip(states.chunks_exact_mut(S)).enumerate() {
                let mut g = if EXPON { st[S - 1] } else { 0 };
                let (spike, sat) = f.step::<EXPON, SOFT>(*acc, &mut st[0], &mut g);
                if EXPON {
                    st[S - 1] = g;
                }
                *acc = 0;
                sat_state += sat as u32;
                fired |= (spike as u32) << k;
            }
            while fired != 0 {
                let k = fired.trailing_zeros() as usize;
                fired &= fired - 1;
                if let Some(slot) = spikes.get_mut(listed) {
                    *slot = (bi * BLOCK + k) as u16;
                    listed += 1;
                }
                c.spikes += 1;
            }
        }
        let sat = &mut self.b.scalars.sat;
        sat.state = sat.state.saturating_add(sat_state);
        (c, listed)
    }

    /// `fire` with learning for a LIF layer with a delta synapse in the common case of
    /// [`Lif::learning`]: the arithmetic of [`Self::fire_with`] (the model's update with its Jacobian,
    /// then [`update_etrace`]) with the configuration's branches out of the loop, D_VV as a scalar and
    /// no per-neuron slicing (see `LifLearning::step` and [`etrace_delta`]); `tests/fire_inference.rs`
    /// checks the bits against the model's update and `update_etrace` neuron by neuron.
    fn fire_lif_learning<const SOFT: bool, const DETACH: bool>(&mut self, f: &LifLearning, spikes: &mut [u16]) -> (OpCounts, usize) {
        let mut c = OpCounts { neuron_updates: self.n as u32, trace_updates: self.n as u32, ..OpCounts::default() };
        let mut listed = 0usize;
        let mut sat_state = 0u32;
        let mut sat_e = 0u32;
        // 2^etrace_frac (etrace_frac ≤ 28): an i32.
        let unit = unit_df(&self.cfg.formats) as i32;
        let alpha = self.cfg.trace_decay.0;
        let df = self.cfg.formats.decay_frac as u32;
        // The buffers hold at least n entries each (validated by `LayerMut::new`); the `min`s keep the
        // loops free of panics anyway.
        let n = self.n.min(self.b.acc.len()).min(self.b.state.len()).min(self.b.psi.len()).min(self.b.etrace.len());
        // Two passes, so that each keeps its constants in registers on a register-poor core: the
        // neuron updates (D_VV parked in the dendritic sum, which `fire` empties anyway), then ẽ^f.
        let (accs, states, psis) = (&mut self.b.acc[..n], &mut self.b.state[..n], &mut self.b.psi[..n]);
        for j in 0..n {
            let (spike, sat, p, d_vv) = f.step::<SOFT, DETACH>(accs[j], &mut states[j]);
            accs[j] = d_vv;
            psis[j] = p;
            sat_state += sat as u32;
            if spike {
                if let Some(slot) = spikes.get_mut(listed) {
                    *slot = j as u16;
                    listed += 1;
                }
                c.spikes += 1;
            }
        }
        for (acc, e) in accs.iter_mut().zip(&mut self.b.etrace[..n]) {
            let (en, se) = etrace_delta(*e, *acc, alpha, df, unit);
            *acc = 0;
            *e = en;
            sat_e += se as u32;
        }
        let sat = &mut self.b.scalars.sat;
        sat.state = sat.state.saturating_add(sat_state);
        sat.etrace = sat.etrace.saturating_add(sat_e);
        (c, listed)
    }

    #[inline(always)]
    fn fire_with<M: NeuronModel + Copy, const LEARN: bool, const BIAS: bool, const PARAMS: bool>(
        &mut self,
        m0: &M,
        spikes: &mut [u16],
    ) -> (OpCounts, usize) {
        let learn = LEARN;
        let s = self.s;
        let acc_frac = self.acc_frac();
        let mut c = OpCounts { neuron_updates: self.n as u32, ..OpCounts::default() };
        let mut listed = 0usize;
        let mut jac = Jacobian::default();
        let unit = unit_df(&self.cfg.formats);
        let mut sat_state = 0u32;
        let mut sat_e = 0u32;
        let params = self.params.unwrap_or(&[]);
        for j in 0..self.n {
            // Per-neuron parameters: the model with neuron j's values (a missing slot, impossible after
            // `set_neuron_params`' length check, keeps the scalar ones).
            let mj;
            let m = if PARAMS {
                mj = match params.get(j) {
                    Some(s) => m0.with_slot(s),
                    None => *m0,
                };
                &mj
            } else {
                m0
            };
            let y = m.input(self.b.acc[j], acc_frac);
            self.b.acc[j] = 0;
            let st = &mut self.b.state[j * s..(j + 1) * s];
            let f = if BIAS {
                let b = self.bias.as_deref().and_then(|b| b.get(j)).copied().unwrap_or(0);
                if learn {
                    m.update_biased(st, y, b, Some(&mut jac))
                } else {
                    m.update_biased(st, y, b, None)
                }
            } else if learn {
                m.update(st, y, Some(&mut jac))
            } else {
                m.update(st, y, None)
            };
            sat_state += f.saturated as u32;
            if learn {
                self.b.psi[j] = f.psi;
                let e = &mut self.b.etrace[j * s..(j + 1) * s];
                sat_e += update_etrace_with(e, &jac, self.cfg.trace_decay.0, &self.cfg.formats, unit);
            }
            if f.spike {
                if listed < spikes.len() {
                    spikes[listed] = j as u16;
                    listed += 1;
                }
                c.spikes += 1;
            }
        }
        if learn {
            c.trace_updates = self.n as u32;
        }
        let sat = &mut self.b.scalars.sat;
        sat.state = sat.state.saturating_add(sat_state);
        sat.etrace = sat.etrace.saturating_add(sat_e);
        (c, listed)
    }

    /// Compute the per-neuron gradient factor G_j = −η·ẽ^f_{j,V}·λ_j scaled so that
    /// ΔW_ij[LSB] = ε^x_i[raw]·G_j / 2³² (see `hw-notes/formats.md`), **saturated** to ±(2⁴⁷ − 1)
    /// (counted), packed with 16 bits of the column's random word (a zero G_j is stored as 0, so an entry
    /// is non-zero exactly when its G_j is). Returns the number of non-zero G_j.
    #[inline(never)]
    fn grad_factors(&mut self, signal: Signal<'_>) -> (usize, bool) {
        let f = &self.cfg.formats;
        let gf = f.signal_frac as u32;
        // Exponent of 2 that turns ẽ·λ·mant into Q32 weight LSBs per ε^x LSB.
        let e = 32 + f.weight_frac as i32
            - f.trace_frac as i32
            - f.etrace_frac as i32
            - gf as i32
            - self.cfg.learning_rate.shift as i32;
        let mant = self.cfg.learning_rate.mant as i128;
        let lim = (1i64 << 47) - 1;
        let step = self.b.scalars.updates;
        let seed = self.cfg.seed;
        let mut active = 0usize;
        let mut narrow = true;
        let mut sat = 0u32;
        // ψ and the scratch hold exactly n entries (checked by `LayerMut::new`), so this is n; the
        // bound lets the compiler drop the per-neuron index checks of the scan.
        let n = self.n.min(self.b.psi.len()).min(self.b.grad.len());
        // The narrow path below needs the scale to be a right shift by 1..=31 and the mantissa below
        // 2¹⁵ (then |ẽ·λ·mant| < 2⁶² for |ẽ·λ| ≤ 2⁴⁷): decided once per call.
        let sh = (-e) as u32;
        let narrow_path = (1..=31).contains(&sh) && mant < 1 << 15;
        let mant64 = mant as i64;
        for j in 0..n {
            // The narrow common case, in 32-bit operands: λ = ψ·b (nearest; feedback) as in the general
            // path or the given λ; ẽ·λ one 32×32 product with |ẽ·λ| ≤ 2⁴⁷; its product with the
            // mantissa shifted as two words. When G lies in (−2³¹, 2³¹) (`shr_nearest_narrow`) it is the
            // integer of the general path, needs no clamp (lim = 2⁴⁷ − 1) and keeps `narrow`; otherwise
            // the general path recomputes the column.
            if narrow_path {
                let lam = match signal {
                    Signal::Feedback(fb) => {
                        let psi = self.b.psi[j];
                        if psi == 0 {
                            self.b.grad[j] = 0;
                            continue;
                        }
                        let b = fb.get(j).copied().unwrap_or(0);
                        ((psi as u32) <= 2 << gf && b.unsigned_abs() < 1 << 30).then(|| shr_nearest_i32(psi as i64 * b as i64, gf))
                    }
                    Signal::Lambda(l) => Some(l.get(j).copied().unwrap_or(0)),
                };
                if let Some(lam) = lam {
                    let et = self.b.etrace[j * self.s];
                    if lam == 0 || et == 0 {
                        self.b.grad[j] = 0;
                        continue;
                    }
                    if let Some(g) = column_factor_narrow(lam, et, mant64, sh) {
                        // G = 0 is stored as 0 (no word needed: floor(r / 2³²) = 0), so a non-zero
                        // entry means G ≠ 0.
                        self.b.grad[j] = if g != 0 { pack(g as i64, rng::col_word(seed, step, self.offset.wrapping_add(j as u32))) } else { 0 };
                        active += (g != 0) as usize;
                        continue;
                    }
                }
            }
            // The general path (any signal, shift and width), out of line and cold: the loop above
            // keeps its values in registers.
            let Some((g, s)) = self.column_general(j, signal, e, lim) else {
                self.b.grad[j] = 0;
                continue;
            };
            sat += s as u32;
            self.b.grad[j] = if g != 0 { pack(g, rng::col_word(seed, step, self.offset.wrapping_add(j as u32))) } else { 0 };
            active += (g != 0) as usize;
            narrow &= g.unsigned_abs() < 1 << 31;
        }
        self.b.scalars.sat.grad = self.b.scalars.sat.grad.saturating_add(sat);
        (active, narrow)
    }

    /// G_j of column `j` for [`LayerMut::grad_factors`] by the general path: λ_j from `signal` (ψ·b
    /// rounded **nearest**, or the given λ), then [`column_factor`] (−ẽ·λ·mant·2^e, **saturated** to
    /// ±`lim`, the flag says so). `None` when λ_j = 0 or ẽ_j = 0 (then G_j = 0 and the column's random
    /// word is not needed).
    #[cold]
    #[inline(never)]
    fn column_general(&self, j: usize, signal: Signal<'_>, e: i32, lim: i64) -> Option<(i64, bool)> {
        let gf = self.cfg.formats.signal_frac as u32;
        let lam = match signal {
            Signal::Feedback(fb) => {
                let psi = self.b.psi.get(j).copied().unwrap_or(0);
                if psi == 0 {
                    return None;
                }
                let b = fb.get(j).copied().unwrap_or(0);
                if (psi as u32) <= 2 << gf && b.unsigned_abs() < 1 << 30 {
                    // 0 < ψ ≤ 2^(gf+1) (the surrogate's amplitude ≤ 2) and |b| < 2³⁰: |ψ·b| / 2^gf
                    // ≤ 2³¹ − 2, so the nearest shift is an i32 (`shr_nearest_i32`, same integer).
                    shr_nearest_i32(psi as i64 * b as i64, gf) as i64
                } else {
                    shr_nearest(psi as i64 * b as i64, gf)
                }
            }
            Signal::Lambda(l) => l.get(j).copied().unwrap_or(0) as i64,
        };
        let et = self.b.etrace.get(j * self.s).copied().unwrap_or(0) as i64;
        if lam == 0 || et == 0 {
            // G_j = 0: the column's random word cannot move a weight (floor(r / 2³²) = 0), so its
            // hash is skipped (most columns: ψ = 0 away from the threshold).
            return None;
        }
        Some(column_factor(lam, et, e, self.cfg.learning_rate.mant as i128, lim))
    }

    /// Phase **learn**, `Online` mode: ΔW_ij = −η·ε^x_i·ẽ^f_{j,V}·λ_j applied now, rounded to the weight
    /// LSB **stochastically** (expectation exact to 2⁻³² LSB) with the word
    /// `row_key(seed, step, axon) ^ col_word(seed, step, global neuron)` ([`rng::col_word`]), and
    /// **saturated** at the weight range (counted). Call after this step's `integrate` (which advances the
    /// step counter). Only
    /// rows with ε^x ≠ 0 and columns with λ ≠ 0 cost work (counted as `weight_updates`).
    pub fn learn(&mut self, signal: Signal<'_>) -> OpCounts {
        // When every |G_j| < 2³¹ (`narrow`) the exact product x·G comes from 32-bit operands (one SMULL
        // on a Cortex-M4); otherwise from 64-bit ones. Both compute the same integer.
        let (active_cols, narrow) = self.grad_factors(signal);
        if active_cols == 0 {
            return OpCounts::default();
        }
        if let Some(groups) = self.groups {
            return self.learn_grouped(groups, active_cols, narrow);
        }
        let biases = if self.learns_bias() { self.learn_bias_online() } else { 0 };
        // One loop per (width, rounding mode): the per-pair body has no branch on either.
        let (sat, pairs) = match (narrow, self.rounding) {
            (true, Rounding::Stochastic) => self.learn_rows::<true, ROUND_STOCHASTIC>(active_cols),
            (false, Rounding::Stochastic) => self.learn_rows::<false, ROUND_STOCHASTIC>(active_cols),
            (true, Rounding::Nearest) => self.learn_rows_apart::<true, ROUND_NEAREST>(active_cols),
            (false, Rounding::Nearest) => self.learn_rows_apart::<false, ROUND_NEAREST>(active_cols),
            (true, Rounding::Truncate) => self.learn_rows_apart::<true, ROUND_TRUNCATE>(active_cols),
            (false, Rounding::Truncate) => self.learn_rows_apart::<false, ROUND_TRUNCATE>(active_cols),
        };
        self.b.scalars.sat.weight = self.b.scalars.sat.weight.saturating_add(sat);
        OpCounts { weight_updates: pairs + biases, ..OpCounts::default() }
    }

    /// [`LayerMut::learn_rows`] out of line, for the non-default rounding modes: their loops stay out of
    /// the caller's inlined code, which keeps the default path's codegen as it was (measured on the
    /// Cortex-M4 firmware, `firmware/BENCH-notes.md`).
    #[inline(never)]
    fn learn_rows_apart<const NARROW: bool, const M: u8>(&mut self, active_cols: usize) -> (u32, u32) {
        self.learn_rows::<NARROW, M>(active_cols)
    }

    /// The weight-update loops of [`LayerMut::learn`]; returns (saturations, updated pairs).
    #[inline(always)]
    fn learn_rows<const NARROW: bool, const M: u8>(&mut self, active_cols: usize) -> (u32, u32) {
        let upd = self.b.scalars.updates;
        let n = self.n;
        let wmax = self.cfg.formats.weight_max();
        let seed = self.cfg.seed;
        let mut sat = 0u32;
        let mut pairs = 0u32;
        if let Some(csr) = self.topo {
            for (i, &x) in self.b.xtrace.iter().enumerate() {
                if x == 0 {
                    continue;
                }
                let key = rng::row_key(seed, upd, i as u32);
                let (s, e) = csr.range(i);
                for (&j, w) in csr.cols[s..e].iter().zip(&mut self.b.weights[s..e]) {
                    let p = self.b.grad.get(j as usize).copied().unwrap_or(0);
                    if unpack(p).0 == 0 {
                        continue;
                    }
                    pairs += 1;
                    sat += update_cell::<W, NARROW, M>(w, x, p, key, wmax) as u32;
                }
            }
            return (sat, pairs);
        }
        // Few active columns (λ ≠ 0 only near threshold): list them once in the dendritic accumulator,
        // which `fire` left empty and `integrate` expects empty again, and visit only those. Many: a
        // branch-free dense row. Both give identical bits (a zero G_j adds floor(r / 2³²) = 0), so the
        // switch point is a per-target speed choice: a scalar MCU wins with the list up to half the
        // columns; a host with wide vectors runs the dense row faster until fewer than 1/8 are active
        // (measured with `benches/layer_step.rs`: 18.0 µs listed vs 12.9 µs dense at ~1/7 active).
        // A scalar MCU lists the columns whatever their number (with the narrow grouped loop below a
        // listed step visits a fraction of the pairs; the dense row visited every column: on the
        // reference image's steps 1–3, 65–73 of 128 columns active, the learn phase went from 194 k to
        // 46 k instructions per step, `firmware/BENCH-notes.md`).
        const DENSE_RATIO: usize = if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) { 8 } else { 1 };
        let sparse = active_cols * DENSE_RATIO <= n && !self.force_dense;
        // The grouped loop skips pairs by the stochastic word's top bits: stochastic rounding only.
        if sparse && NARROW && M == ROUND_STOCHASTIC && n <= 1 << 16 {
            // Compact the active columns into `grad[..active_cols]` as [`Listed`] entries grouped by the
            // top bits of their random word, so that each row visits only the pairs whose update can be
            // non-zero (`layer/buckets.rs`); the scratch is rewritten by the next `grad_factors`.
            let k = active_cols;
            let uk = rng::update_key(seed, upd);
            // Many listed columns: two classes of |G| per sign (`buckets::SPLIT_FROM`).
            if k >= buckets::SPLIT_FROM {
                let mut start = [0u32; buckets::NB + 1];
                if let Some(gq) = buckets::list_and_group_split(&mut self.b.grad[..n], k, self.b.acc, &mut start) {
                    let list = &self.b.grad[..k];
                    let rows = buckets::learn_bucketed_narrow_split(self.b.weights, self.b.xtrace, n, list, &start, gq, uk, wmax, &mut sat);
                    return (sat, rows * k as u32);
                }
            }
            let (start, gmax) = buckets::list_and_group(&mut self.b.grad[..n], k, self.b.acc);
            let list = &self.b.grad[..k];
            let gq = [buckets::coarse(gmax[0]), buckets::coarse(gmax[1])];
            let rows = buckets::learn_bucketed_narrow(self.b.weights, self.b.xtrace, n, list, &start, gq, uk, wmax, &mut sat);
            return (sat, rows * k as u32);
        }
        if sparse {
            let mut k = 0;
            for (j, &g) in self.b.grad.iter().enumerate() {
                if unpack(g).0 != 0 {
                    self.b.acc[k] = j as i32;
                    k += 1;
                }
            }
        }
        let mut rows = 0u32;
        for (i, &x) in self.b.xtrace.iter().enumerate() {
            if x == 0 {
                continue;
            }
            rows += 1;
            let key = rng::row_key(seed, upd, i as u32);
            let row = &mut self.b.weights[i * n..(i + 1) * n];
            if sparse {
                sat += update_listed::<W, NARROW, M>(row, &self.b.acc[..active_cols], self.b.grad, x, key, wmax);
            } else {
                for (w, &p) in row.iter_mut().zip(self.b.grad.iter()) {
                    sat += update_cell::<W, NARROW, M>(w, x, p, key, wmax) as u32;
                }
            }
        }
        if sparse {
            self.b.acc[..active_cols].fill(0);
        }
        (sat, rows * active_cols as u32)
    }

    /// Phase **learn**, `Accumulate` mode: add ΔW (in weight LSB · 2⁻¹⁶, rounded **nearest**, i32
    /// **saturating**, counted) into `acc` (`axons × neurons`, same layout as the weights); apply later with
    /// [`LayerMut::apply_accumulated`]. Extra memory: O(N²), one i32 per synapse. Returns the counts and
    /// fails only if `acc` has the wrong length.
    pub fn accumulate(&mut self, signal: Signal<'_>, acc: &mut [i32]) -> Result<OpCounts, ConfigError> {
        if acc.len() != self.accumulator_len() {
            return Err(ConfigError::SizeMismatch { field: Field::Buffer, expected: self.accumulator_len(), found: acc.len() });
        }
        let (acc, acc_b) = acc.split_at_mut(self.b.weights.len());
        let (active_cols, _) = self.grad_factors(signal);
        let mut c = OpCounts::default();
        if active_cols == 0 {
            return Ok(c);
        }
        let n = self.n;
        let mut sat = 0u32;
        let mut rows = 0u32;
        let mut pairs = 0u32;
        for (i, &x) in self.b.xtrace.iter().enumerate() {
            if x == 0 {
                continue;
            }
            rows += 1;
            let mut add = |a: &mut i32, p: i64| {
                let g = unpack(p).0;
                let (v, s) = sat_i32(*a as i64 + shr_nearest(x as i64 * g, 16));
                sat += s as u32;
                *a = v;
            };
            match self.topo {
                None => {
                    for (a, &g) in acc[i * n..(i + 1) * n].iter_mut().zip(self.b.grad.iter()) {
                        add(a, g);
                    }
                }
                Some(csr) => {
                    let (s, e) = csr.range(i);
                    for (&j, a) in csr.cols[s..e].iter().zip(&mut acc[s..e]) {
                        let p = self.b.grad.get(j as usize).copied().unwrap_or(0);
                        pairs += (unpack(p).0 != 0) as u32;
                        add(a, p);
                    }
                }
            }
        }
        // The bias: a row with ε^x = 1.0 (2^trace_frac raw), in the same units as the weights' sums.
        let one = 1i64 << self.cfg.formats.trace_frac;
        let mut biases = 0u32;
        for (a, &p) in acc_b.iter_mut().zip(self.b.grad.iter()) {
            let g = unpack(p).0;
            if g != 0 {
                biases += 1;
                let (v, s) = sat_i32(*a as i64 + shr_nearest(one * g, 16));
                sat += s as u32;
                *a = v;
            }
        }
        self.b.scalars.sat.grad = self.b.scalars.sat.grad.saturating_add(sat);
        c.weight_updates = if self.topo.is_some() { pairs } else { rows * active_cols as u32 } + biases;
        Ok(c)
    }

    /// Apply and clear an accumulator filled by [`LayerMut::accumulate`]: W += acc·2⁻¹⁶ rounded
    /// **stochastically** (or by the layer's other [`Rounding`], [`LayerMut::set_rounding`]),
    /// **saturated** at the weight range (counted).
    pub fn apply_accumulated(&mut self, acc: &mut [i32]) -> Result<OpCounts, ConfigError> {
        if acc.len() != self.accumulator_len() {
            return Err(ConfigError::SizeMismatch { field: Field::Buffer, expected: self.accumulator_len(), found: acc.len() });
        }
        let (acc, acc_b) = acc.split_at_mut(self.b.weights.len());
        let upd = self.b.scalars.updates;
        // One loop per rounding mode (no branch on it per synapse).
        let (mut sat, mut count) = match self.rounding {
            _ if self.groups.is_some() => self.apply_rows_grouped(acc),
            Rounding::Stochastic => self.apply_rows::<ROUND_STOCHASTIC>(acc),
            Rounding::Nearest => self.apply_rows::<ROUND_NEAREST>(acc),
            Rounding::Truncate => self.apply_rows::<ROUND_TRUNCATE>(acc),
        };
        // The bias: b += acc·2^lsb·2⁻¹⁶ rounded **stochastically** (or by the layer's mode),
        // **saturating** (counted).
        let mode = self.rounding;
        let frac = self.acc_frac();
        if let (Some(bias), Some(sh)) = (self.bias.as_deref_mut(), Self::lsb_shift_of(self.cfg, frac)) {
            let key = rng::row_key(self.cfg.seed ^ rng::SALT_APPLY ^ rng::SALT_BIAS, upd, self.axons as u32);
            for (j, (b, a)) in bias.iter_mut().zip(acc_b.iter_mut()).enumerate() {
                if *a == 0 {
                    continue;
                }
                count += 1;
                let r = (rng::cell(key, self.offset.wrapping_add(j as u32)) >> 16) as i128;
                let v = *b as i128 + round_shift_i128((*a as i128) << sh, 16, r, mode);
                let c = v.clamp(i32::MIN as i128 + 1, i32::MAX as i128);
                sat += (c != v) as u32;
                *b = c as i32;
                *a = 0;
            }
        }
        self.b.scalars.sat.weight = self.b.scalars.sat.weight.saturating_add(sat);
        Ok(OpCounts { weight_updates: count, ..OpCounts::default() })
    }

    /// The weight part of [`LayerMut::apply_accumulated`] for the rounding mode tagged `M`; returns
    /// (saturations, applied synapses).
    fn apply_rows<const M: u8>(&mut self, acc: &mut [i32]) -> (u32, u32) {
        let upd = self.b.scalars.updates;
        let n = self.n;
        let wmax = self.cfg.formats.weight_max() as i64;
        let mut sat = 0u32;
        let mut count = 0u32;
        for i in 0..self.axons {
            let key = rng::row_key(self.cfg.seed ^ rng::SALT_APPLY, upd, i as u32);
            let (s, e) = match self.topo {
                None => (i * n, (i + 1) * n),
                Some(csr) => csr.range(i),
            };
            let (Some(row), Some(arow)) = (self.b.weights.get_mut(s..e), acc.get_mut(s..e)) else { continue };
            for (k, (w, a)) in row.iter_mut().zip(arow.iter_mut()).enumerate() {
                if *a == 0 {
                    continue;
                }
                let j = match self.topo {
                    None => k,
                    Some(csr) => csr.cols[s + k] as usize,
                };
                count += 1;
                let r = rng::cell(key, self.offset.wrapping_add(j as u32)) >> 16;
                let d = round_shift::<M>(*a as i64, 16, r as i64);
                let (v, s) = clamp_i64(w.get() as i64 + d, -wmax, wmax);
                sat += s as u32;
                *w = W::from_clamped(v as i32);
                *a = 0;
            }
        }
        (sat, count)
    }

    /// Read-only view of the weights (row-major by axon).
    pub fn weights(&self) -> &[W] {
        self.b.weights
    }
    /// Read-only view of the states (`neurons × states`).
    pub fn state(&self) -> &[i32] {
        self.b.state
    }
    /// Read-only view of ẽ^f.
    pub fn etrace(&self) -> &[i32] {
        self.b.etrace
    }
    /// Read-only view of ε^x.
    pub fn xtrace(&self) -> &[u16] {
        self.b.xtrace
    }
    /// ψ(v̂_t) recorded by the last `fire` with learning on.
    pub fn psi(&self) -> &[i32] {
        self.b.psi
    }
    /// STD/STP state per axon (Q.16; slot use per model, see [`crate::presyn`]).
    pub fn presyn(&self) -> &[[i32; 2]] {
        self.b.presyn
    }
    /// Counters.
    pub fn scalars(&self) -> &LayerScalars {
        self.b.scalars
    }
}

/// The synapses of one axon as `(local neuron, weight)`, dense or compressed (see [`LayerMut::row`]):
/// usable on a layer's raw storage without building a [`LayerMut`].
pub fn row_of<'w, W: WeightStore>(
    topo: Option<Csr<'w>>,
    weights: &'w [W],
    neurons: usize,
    axons: usize,
    axon: usize,
) -> impl Iterator<Item = (usize, W)> + 'w {
    let (cols, ws): (&'w [u16], &'w [W]) = match topo {
        _ if axon >= axons => (&[], &[]),
        Some(csr) => {
            let (s, e) = csr.range(axon);
            (csr.cols.get(s..e).unwrap_or(&[]), weights.get(s..e).unwrap_or(&[]))
        }
        None => (&[], weights.get(axon * neurons..(axon + 1) * neurons).unwrap_or(&[])),
    };
    let dense = topo.is_none();
    ws.iter().enumerate().map(move |(k, &w)| (if dense { k } else { cols.get(k).copied().unwrap_or(0) as usize }, w))
}

/// G of one column from λ and ẽ^f_V (both non-zero): −ẽ·λ·mant·2^e rounded **nearest** (e < 0) or
/// shifted left (e ≥ 0), **saturated** to ±`lim` (the flag says so). Exact for every input: i64 words in
/// the common cases, i128 otherwise.
#[inline(always)]
fn column_factor(lam: i64, et: i64, e: i32, mant: i128, lim: i64) -> (i64, bool) {
    // The common case in i64 words: |ẽ·λ| < 2⁴⁷ from 32-bit operands, so the product with the 16-bit
    // mantissa is < 2⁶³ (no check needed), and G is clamped in i64: the same integers as the general
    // paths below.
    if lam as i32 as i64 == lam && (-63..0).contains(&e) {
        let p = -(et * lam);
        if p.unsigned_abs() < 1 << 47 {
            let g = shr_nearest(p * mant as i64, (-e) as u32);
            return if g > lim {
                (lim, true)
            } else if g < -lim {
                (-lim, true)
            } else {
                (g, false)
            };
        }
    }
    let p64 = if lam as i32 as i64 == lam { (-(et * lam)).checked_mul(mant as i64) } else { None };
    let g = if let (Some(p), true) = (p64, (-63..0).contains(&e)) {
        // The common case in 64 bits (|ẽ·λ| < 2⁶² from 32-bit operands, the product with the mantissa
        // checked): the same integer as the i128 expression below.
        shr_nearest(p, (-e) as u32) as i128
    } else if e >= 0 {
        let p = -(et as i128 * lam as i128 * mant);
        p.saturating_mul(1i128 << e.min(100))
    } else {
        let p = -(et as i128 * lam as i128 * mant);
        let sh = (-e) as u32;
        if sh >= 127 {
            0
        } else {
            (p + (1i128 << (sh - 1))) >> sh
        }
    };
    if g > lim as i128 {
        (lim, true)
    } else if g < -(lim as i128) {
        (-lim, true)
    } else {
        (g as i64, false)
    }
}

/// [`column_factor`] in 32-bit operands for a right shift `sh` in 1..=31 and `mant` < 2¹⁵: ẽ·λ is one
/// 32 × 32 product; when |ẽ·λ| ≤ 2⁴⁷ (so |ẽ·λ·mant| < 2⁶²) and G lies in (−2³¹, 2³¹)
/// ([`shr_nearest_narrow`]) it returns `Some(G)`, the same integer as [`column_factor`], which then
/// cannot saturate (lim = 2⁴⁷ − 1); otherwise `None` (the caller takes [`column_factor`]).
#[inline(always)]
fn column_factor_narrow(lam: i32, et: i32, mant: i64, sh: u32) -> Option<i32> {
    let q = et as i64 * lam as i64;
    // |q| ≤ 2⁴⁷ (|q| ≤ 2⁶² from two i32, so the add cannot overflow).
    if ((q + (1 << 47)) as u64) <= 1 << 48 {
        shr_nearest_narrow(-q * mant, sh)
    } else {
        None
    }
}

/// Pack a gradient factor (|G| < 2⁴⁷) with the top 16 bits of its column's random word into the i64
/// scratch (`grad` buffer layout: G·2¹⁶ | word ≫ 16).
#[inline(always)]
fn pack(g: i64, word: u32) -> i64 {
    (g << 16) | (word >> 16) as i64
}

/// Inverse of [`pack`]: G and the column word's contribution to the random word (its top 16 bits).
/// The synapse's word is `row_key ^ column bits`: uniform, and its top 16 bits differ pairwise
/// independently between the synapses of a row.
#[inline(always)]
fn unpack(p: i64) -> (i64, u32) {
    (p >> 16, ((p as u32) & 0xFFFF) << 16)
}

/// One synapse of the online update: `w ← clamp(w + floor((x·G + r) / 2³²), ±wmax)` with
/// `r = key ^ column bits` (or x·G·2⁻³² rounded by the [`Rounding`] tagged `M`); returns whether it
/// saturated. `NARROW` promises |G| < 2³¹ so the exact
/// product can come from 32-bit operands. |x·G + r| < 2⁶³ (x < 2¹⁶, |G| < 2⁴⁷), so the shifted result
/// fits an i32, and the add to the weight saturates before the clamp.
#[inline(always)]
fn update_cell<W: WeightStore, const NARROW: bool, const M: u8>(w: &mut W, x: u16, p: i64, key: u32, wmax: i32) -> bool {
    let (g, cw) = unpack(p);
    let r = (key ^ cw) as i64;
    let xg = if NARROW { (x as i32 as i64) * (g as i32 as i64) } else { x as i64 * g };
    // Stochastic: (x·G + r) >> 32 as before; the other modes round x·G·2⁻³² without r.
    let d = round_shift::<M>(xg, 32, r);
    let v = w.get().saturating_add(d as i32);
    let c = v.clamp(-wmax, wmax);
    *w = W::from_clamped(c);
    c != v
}

/// One active column of the narrow listed loop, packed in an i64 of the `grad` scratch: bits 0–31 G_j
/// (|G| < 2³¹), bits 32–47 the top 16 bits of the column's random word, bits 48–63 the column j. One
/// 8-byte load per (row, column) pair gives the factor, the random bits and the index.
#[derive(Clone, Copy)]
struct Listed(i64);

impl Listed {
    #[inline(always)]
    fn new(g: i32, cw: u32, j: u16) -> Self {
        Listed((g as u32 as i64) | ((((j as u32) << 16) | (cw >> 16)) as i64) << 32)
    }
}

/// One pair of the narrow listed loop (`layer/buckets.rs`): `w ← clamp(w + floor((x·G + r) / 2³²), ±wmax)`
/// with `r = key ^ column bits`, the same integer as [`update_cell`]. Here |x·G| < 2⁴⁷, so |d| ≤ 2¹⁵
/// and w + d cannot overflow an i32; the range test is one unsigned compare, and the clamp runs only
/// when it fails (counted in `sat`, touched only then). `false` if the entry's column is outside the row
/// (impossible for a list built by `learn_rows`, which then stops the row instead of panicking).
#[inline(always)]
fn narrow_pair<W: WeightStore>(row: &mut [W], e: i64, x: i64, key: u32, wmax: i32, sat: &mut u32) -> bool {
    let hi = (e >> 32) as u32;
    let r = (key ^ (hi << 16)) as i64;
    let d = ((x * (e as i32 as i64) + r) >> 32) as i32;
    // Most sub-LSB updates round to 0: then the weight is neither read nor written.
    if d == 0 {
        return true;
    }
    let Some(w) = row.get_mut((hi >> 16) as usize) else { return false };
    let v = w.get() + d;
    if (v + wmax) as u32 > 2 * wmax as u32 {
        clamp_counted(w, v, wmax, sat);
    } else {
        *w = W::from_clamped(v);
    }
    true
}

/// The rare branch of the weight loops: store `v` clamped to ±`wmax` (**saturate**) and count it. Out of
/// line and cold so that the hot loop keeps its registers for the common case.
#[cold]
#[inline(never)]
pub(crate) fn clamp_counted<W: WeightStore>(w: &mut W, v: i32, wmax: i32, sat: &mut u32) {
    *sat += 1;
    *w = W::from_clamped(v.clamp(-wmax, wmax));
}

/// The listed-column loop of one row, kept out of line so that on a register-poor core (Cortex-M0/M4)
/// the allocator sees only this loop's handful of live values. Returns the saturation count.
#[inline(never)]
fn update_listed<W: WeightStore, const NARROW: bool, const M: u8>(row: &mut [W], cols: &[i32], grad: &[i64], x: u16, key: u32, wmax: i32) -> u32 {
    let mut sat = 0;
    for &j in cols {
        let j = j as usize;
        let (Some(w), Some(&p)) = (row.get_mut(j), grad.get(j)) else { continue };
        sat += update_cell::<W, NARROW, M>(w, x, p, key, wmax) as u32;
    }
    sat
}

/// Dense rows of binary events summed per call in [`LayerMut::integrate`].
const ROWS_AT_ONCE: usize = 3;

/// `acc[j] += Σ_r w[r·n + j]` over the rows `rows` (1 ..= [`ROWS_AT_ONCE`], each < axons so in range;
/// an out-of-range row is skipped). The sum of a column over the rows is formed first, then added: the
/// same integer as adding the rows one by one, since nothing overflows (at most `axons` rows of
/// |w| < 2¹⁵, the bound [`LayerMut::integrate`] keeps).
#[inline(always)]
fn add_rows<W: WeightStore>(acc: &mut [i32], weights: &[W], n: usize, rows: &[usize]) {
    let row = |a: usize| weights.get(a * n..(a + 1) * n);
    match *rows {
        [a, b, c] => {
            if let (Some(ra), Some(rb), Some(rc)) = (row(a), row(b), row(c)) {
                for (((s, wa), wb), wc) in acc.iter_mut().zip(ra).zip(rb).zip(rc) {
                    *s += wa.get() + wb.get() + wc.get();
                }
            }
        }
        [a, b] => {
            if let (Some(ra), Some(rb)) = (row(a), row(b)) {
                for ((s, wa), wb) in acc.iter_mut().zip(ra).zip(rb) {
                    *s += wa.get() + wb.get();
                }
            }
        }
        [a] => {
            if let Some(ra) = row(a) {
                for (s, wa) in acc.iter_mut().zip(ra) {
                    *s += wa.get();
                }
            }
        }
        _ => {}
    }
}

fn step_all<P: Presyn>(m: &P, st: &mut [[i32; 2]], eff: &mut [i32]) {
    for (s, e) in st.iter_mut().zip(eff.iter_mut()) {
        let spike = s[0] < 0;
        if spike {
            s[0] = -s[0] - 1;
        }
        *e = m.step(s, spike);
    }
}

/// ẽ^f ← α·(D_t·ẽ^f) + D^f_t for one neuron (`states` entries), returning how many entries saturated.
/// Products D·ẽ are i64 (Q.28+etrace_frac) summed **saturating**, shifted to Q.etrace_frac (**nearest**),
/// multiplied by α (Q.decay_frac, **nearest**), and D^f is added after rounding it from Q.28
/// (**nearest**); the result **saturates** at the i32 range.
#[inline(always)]
pub fn update_etrace(e: &mut [i32], jac: &Jacobian, alpha: u32, f: &Formats) -> u32 {
    update_etrace_with(e, jac, alpha, f, unit_df(f))
}

/// [`update_etrace`] for one state with D^f = 1 (a delta synapse) and D_VV = `d` (Q3.28): the same
/// integers as its one-state branch (`unit` = [`unit_df`]), returning (ẽ^f, saturated).
#[inline(always)]
///
/// In 32 bits where that is exact: α < 2^df (validated trace decay < 1.0, df ≤ 30) makes
/// |ᾶ·α / 2^df| < |ᾶ| ≤ 2³¹, so the nearest shift is an i32 ([`shr_nearest_i32`]); `unit` =
/// 2^etrace_frac ≤ 2²⁸ is ≥ 0, so the sum can only overflow upwards, where the general `sat_i32` gives
/// i32::MAX.
fn etrace_delta(e: i32, d: i32, alpha: u32, df: u32, unit: i32) -> (i32, bool) {
    let de = sat_i32(shr_nearest(d as i64 * e as i64, JAC_FRAC)).0;
    let scaled = shr_nearest_i32(de as i64 * alpha as i32 as i64, df);
    match scaled.checked_add(unit) {
        Some(v) => (v, false),
        None => (i32::MAX, true),
    }
}

/// D^f = 1 (Q3.28) rounded to Q.etrace_frac: the term a delta synapse adds to ẽ^f every step.
#[inline(always)]
fn unit_df(f: &Formats) -> i64 {
    shift_nearest(1i64 << JAC_FRAC, f.etrace_frac as i32 - JAC_FRAC as i32)
}

/// [`update_etrace`] with `unit` = [`unit_df`]`(f)` computed once by the caller.
#[inline(always)]
fn update_etrace_with(e: &mut [i32], jac: &Jacobian, alpha: u32, f: &Formats, unit: i64) -> u32 {
    let s = e.len();
    let df_shift = JAC_FRAC as i32 - f.etrace_frac as i32;
    if s == 1 {
        // One state (LIF with a delta synapse): the loop below with a single product, which cannot
        // overflow (|d|, |ẽ| ≤ 2³¹), and ᾶ·α exact from 32-bit operands (α ≤ 2³⁰ by validation).
        let de = sat_i32(shr_nearest(jac.d[0][0] as i64 * e[0] as i64, JAC_FRAC)).0 as i64;
        let scaled = shr_nearest(de * alpha as i64, f.decay_frac as u32);
        let add = if jac.df[0] == 1 << JAC_FRAC { unit } else { shift_nearest(jac.df[0] as i64, -df_shift) };
        let (v, st) = sat_i32(scaled + add);
        e[0] = v;
        return st as u32;
    }
    let mut old = [0i64; 3];
    for (o, &v) in old.iter_mut().zip(e.iter()) {
        *o = v as i64;
    }
    let mut sat = 0;
    for (k, ek) in e.iter_mut().enumerate() {
        let mut acc = 0i64;
        for (&d, &o) in jac.d[k].iter().zip(old.iter()).take(s) {
            // |d|, |o| ≤ 2³¹: the product is < 2⁶² and cannot overflow; the sum of three can, so it
            // saturates.
            acc = acc.saturating_add(d as i64 * o);
        }
        let de = sat_i32(shr_nearest(acc, JAC_FRAC)).0 as i64;
        let scaled = shr_nearest(de * alpha as i64, f.decay_frac as u32);
        let add = shift_nearest(jac.df[k] as i64, -df_shift);
        let (v, st) = sat_i32(scaled + add);
        sat += st as u32;
        *ek = v;
    }
    sat
}

/// Bytes of each kind of memory a layer of `axons` × `neurons` × `states` uses (storage types of the
/// format table; trace memory is O(axons + neurons), i.e. O(N)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MemoryReport {
    /// Synaptic weights: 2 bytes per synapse ([`crate::format::Weight`]) or 1 ([`crate::format::Weight8`]).
    pub weights: usize,
    /// Eligibility traces: ε^x (2 bytes per axon) + ẽ^f (4 bytes per neuron state).
    pub traces: usize,
    /// Neuron and synapse state, STD/STP state, efficacies, accumulators, ψ and gradient scratch.
    pub state: usize,
}

impl MemoryReport {
    /// Memory of one dense layer with two-byte weights.
    pub const fn layer(axons: usize, neurons: usize, states: usize) -> Self {
        Self::layer_with(axons * neurons, axons, neurons, states, 2)
    }

    /// Memory of one layer with `synapses` stored synapses of `weight_bytes` each (1 or 2; compressed
    /// rows add their 2-byte column and 4-byte row offsets, counted here as state when given by the
    /// caller: this counts the learning layer's own buffers).
    pub const fn layer_with(synapses: usize, axons: usize, neurons: usize, states: usize, weight_bytes: usize) -> Self {
        Self::layer_with_presyn(synapses, axons, axons, neurons, states, weight_bytes)
    }

    /// [`Self::layer_with`] where only `presyn_axons` of the `axons` carry STD/STP state (8 bytes) and an
    /// efficacy (4 bytes): a graph population whose projections have STD/STP of their own
    /// ([`crate::graph::PopLayout::presyn`]; 0 without STD/STP). The fixed-size [`Layer`] owner stores
    /// them for every axon.
    pub const fn layer_with_presyn(
        synapses: usize,
        axons: usize,
        presyn_axons: usize,
        neurons: usize,
        states: usize,
        weight_bytes: usize,
    ) -> Self {
        MemoryReport {
            weights: weight_bytes * synapses,
            traces: 2 * axons + 4 * neurons * states,
            state: 4 * neurons * states + 8 * presyn_axons + 4 * presyn_axons + 4 * neurons + 4 * neurons + 8 * neurons,
        }
    }

    /// Total bytes.
    pub const fn total(&self) -> usize {
        self.weights + self.traces + self.state
    }

    /// Bytes per synapse of the weight memory (1 or 2: what learning adds per synapse is nothing, since
    /// the traces are per axon and per neuron).
    pub const fn bytes_per_synapse(synapses: usize, r: &MemoryReport) -> usize {
        if synapses == 0 {
            0
        } else {
            r.weights / synapses
        }
    }

    /// Bytes per neuron of everything that is not a weight (traces, state, scratch), rounded up: the O(N)
    /// cost of learning on chip, for `neurons` neurons (their axons' share included).
    pub const fn bytes_per_neuron(neurons: usize, r: &MemoryReport) -> usize {
        if neurons == 0 {
            0
        } else {
            (r.traces + r.state).div_ceil(neurons)
        }
    }
}

/// A layer whose storage is sized at compile time: `P` presynaptic axons, `N` neurons, `S` state
/// variables per neuron (1 for LIF, 2 for LIF+Expon and ALIF, 3 for ALIF+Expon and Loihi uses 2).
/// [`Layer::new`] is `const` (a layer can live in a `static`); [`Layer::configure`] validates and loads
/// the configuration.
pub struct Layer<const P: usize, const N: usize, const S: usize> {
    cfg: crate::slot::ConfigSlot<LayerConfig>,
    weights: [[Weight; N]; P],
    state: [[i32; S]; N],
    etrace: [[i32; S]; N],
    xtrace: [u16; P],
    presyn: [[i32; 2]; P],
    efficacy: [i32; P],
    acc: [i32; N],
    psi: [i32; N],
    grad: [i64; N],
    scalars: LayerScalars,
}

impl<const P: usize, const N: usize, const S: usize> Default for Layer<P, N, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const P: usize, const N: usize, const S: usize> Layer<P, N, S> {
    /// Bytes used by this layer's storage.
    pub const MEMORY: MemoryReport = MemoryReport::layer(P, N, S);

    /// An unconfigured, zeroed layer (usable in `static` initialisers).
    pub const fn new() -> Self {
        Layer {
            cfg: crate::slot::ConfigSlot::empty(),
            weights: [[Weight(0); N]; P],
            state: [[0; S]; N],
            etrace: [[0; S]; N],
            xtrace: [0; P],
            presyn: [[0; 2]; P],
            efficacy: [0; P],
            acc: [0; N],
            psi: [0; N],
            grad: [0; N],
            scalars: LayerScalars { sat: Saturations {
                state: 0,
                xtrace: 0,
                etrace: 0,
                weight: 0,
                grad: 0,
                dropped_events: 0,
            }, updates: 0 },
        }
    }

    /// Validate `cfg` for this size, store it and reset all state (weights are kept).
    pub fn configure(&mut self, cfg: LayerConfig) -> Result<(), ConfigError> {
        cfg.validate(P, S)?;
        if N == 0 || N > u16::MAX as usize {
            return Err(ConfigError::OutOfRange { field: Field::Neurons, value: N as i64, min: 1, max: 65535 });
        }
        self.cfg.set(cfg);
        if let Ok(mut l) = self.view() {
            l.reset_state();
        }
        Ok(())
    }

    /// Set weight (`axon`, `neuron`); out-of-range indices are rejected.
    pub fn set_weight(&mut self, axon: usize, neuron: usize, w: Weight) -> Result<(), ConfigError> {
        let max = self.cfg.get().map(|c| c.formats.weight_max()).unwrap_or(i16::MAX as i32);
        crate::error::check_range(Field::Weight, w.0 as i64, -(max as i64), max as i64)?;
        match self.weights.get_mut(axon).and_then(|r| r.get_mut(neuron)) {
            Some(slot) => {
                *slot = w;
                Ok(())
            }
            None => Err(ConfigError::OutOfRange { field: Field::Axons, value: axon as i64, min: 0, max: P as i64 - 1 }),
        }
    }

    /// Weight (`axon`, `neuron`), or `None` out of range.
    pub fn weight(&self, axon: usize, neuron: usize) -> Option<Weight> {
        self.weights.get(axon).and_then(|r| r.get(neuron)).copied()
    }

    /// Counters.
    pub fn scalars(&self) -> &LayerScalars {
        &self.scalars
    }

    pub(crate) fn scalars_mut(&mut self) -> &mut LayerScalars {
        &mut self.scalars
    }

    /// Weights, row-major by axon.
    pub fn weights(&self) -> &[Weight] {
        self.weights.as_flattened()
    }

    /// Feed weights, states and traces into a checksum.
    pub fn hash_into(&self, h: &mut crate::checksum::Fnv) {
        for w in self.weights.as_flattened() {
            h.write(&w.0.to_le_bytes());
        }
        for v in self.state.as_flattened().iter().chain(self.etrace.as_flattened()) {
            h.write(&v.to_le_bytes());
        }
        for t in &self.xtrace {
            h.write(&t.to_le_bytes());
        }
    }

    /// The datapath over this layer's storage (fails only if the layer was never configured).
    pub fn view(&mut self) -> Result<LayerMut<'_>, ConfigError> {
        let cfg = self.cfg.get().ok_or(ConfigError::NotConfigured)?;
        LayerMut::new(
            cfg,
            Buffers {
                weights: self.weights.as_flattened_mut(),
                state: self.state.as_flattened_mut(),
                etrace: self.etrace.as_flattened_mut(),
                xtrace: &mut self.xtrace,
                presyn: &mut self.presyn,
                efficacy: &mut self.efficacy,
                acc: &mut self.acc,
                psi: &mut self.psi,
                grad: &mut self.grad,
                scalars: &mut self.scalars,
            },
            P,
            N,
            0,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::XorShift32;

    /// The 32-bit column factor of `grad_factors`' narrow path is the general one's integer whenever it
    /// answers, never claims a saturated G, and answers for the ordinary magnitudes (so the test is not
    /// vacuous); at the edges of its range (|ẽ·λ| = 2⁴⁷, G = ±(2³¹ − 1), −2³¹) it answers or defers
    /// exactly as the general result says.
    #[test]
    fn narrow_column_factor_equals_the_general_one() {
        let lim = (1i64 << 47) - 1;
        let mut r = XorShift32::new(0xC01_F4C7);
        let mut answered = 0u32;
        for k in 0..200_000u32 {
            let sh = 1 + r.next_u32() % 31;
            let mant = match k % 3 {
                0 => 1,
                1 => (r.next_u32() % (1 << 15)) as i64,
                _ => (1 << 15) - 1,
            };
            let pick = |r: &mut XorShift32| -> i32 {
                match r.next_u32() % 6 {
                    0 => i32::MIN,
                    1 => i32::MAX,
                    2 => 0,
                    _ => (r.next_u32() as i32) >> (r.next_u32() % 32),
                }
            };
            let (lam, et) = if k % 5 == 0 {
                // ẽ·λ at ±2⁴⁷ and its neighbours.
                let q = [1i64 << 47, (1 << 47) - 1, (1 << 47) + 1][(k / 5 % 3) as usize];
                let et = 1i32 << 24;
                let lam = (q / et as i64) as i32;
                (if k % 2 == 0 { lam } else { -lam }, et)
            } else if k % 7 == 0 {
                // G at the edges of the i32 range: ẽ·λ·mant ≈ ±2³¹·2^sh.
                let target = ((1i64 << 31) - (k as i64 % 3)) << sh;
                let lam = 1 << 20;
                ((if k % 2 == 0 { lam } else { -lam }), (target / lam as i64).clamp(i32::MIN as i64, i32::MAX as i64) as i32)
            } else {
                (pick(&mut r), pick(&mut r))
            };
            if lam == 0 || et == 0 || mant == 0 {
                continue;
            }
            let general = column_factor(lam as i64, et as i64, -(sh as i32), mant as i128, lim);
            match column_factor_narrow(lam, et, mant, sh) {
                Some(g) => {
                    answered += 1;
                    assert_eq!((g as i64, false), general, "λ={lam} ẽ={et} mant={mant} sh={sh}");
                    assert_ne!(g, i32::MIN);
                }
                None => {
                    // Deferred: the general G is outside (−2³¹, 2³¹), or |ẽ·λ| > 2⁴⁷.
                    let q = (et as i64 * lam as i64).unsigned_abs();
                    assert!(q > 1 << 47 || general.0.unsigned_abs() >= 1 << 31, "deferred an in-range G: λ={lam} ẽ={et} mant={mant} sh={sh} G={general:?}");
                }
            }
        }
        assert!(answered > 20_000, "the narrow path answered only {answered} times");
    }
}
