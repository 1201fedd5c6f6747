//! A complete on-chip learner: one recurrent (or feed-forward) hidden layer and a leaky readout, with
//! storage sized at compile time. [`Net::step`] runs one timestep as the ordered phases of
//! `es-d-rtrl.md` §8.1:
//!
//! 1. **deliver**: x_t = [external events of this step ; hidden spikes of the previous step]
//! 2. **integrate** (hidden): STD/STP, dendritic sums of the active rows, ε^x
//! 3. **fire** (hidden): neurons, spikes s_t, ψ, D_t, ẽ^f
//! 4. **readout**: r ← κ·r + V·s_t, ε^o
//! 5. **error**: e_t inside the loss window
//! 6. **learning signal**: λ_j = ψ_j·Σ_k B_jk·e_k (or external λ)
//! 7. **learn**: ΔW (hidden) and ΔV (readout), online or accumulated
//!
//! The caller passes the timestep in; nothing here reads a clock.

use crate::error::{check_range, ConfigError, Field};
use crate::format::Weight;
use crate::checksum::Fnv;
use crate::layer::{Layer, LayerConfig, LayerMut, LayerScalars, MemoryReport, OpCounts, Saturations, Signal};
use crate::readout::{Feedback, ReadoutBuffers, ReadoutConfig, ReadoutMut, Target};

/// A timestep index, counted from the start of the current sequence (the caller owns time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Timestep(pub u32);

/// Steps `[start, end)` of a sequence on which the error is applied and learning happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LossWindow {
    /// First step inside the window.
    pub start: u32,
    /// First step after the window.
    pub end: u32,
}

impl LossWindow {
    /// Every step.
    pub const ALWAYS: LossWindow = LossWindow { start: 0, end: u32::MAX };

    /// Is `t` inside?
    pub fn contains(&self, t: Timestep) -> bool {
        t.0 >= self.start && t.0 < self.end
    }
}

/// Configuration of a [`Net`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NetConfig {
    /// Hidden layer.
    pub layer: LayerConfig,
    /// Readout.
    pub readout: ReadoutConfig,
    /// Learning-signal source.
    pub feedback: Feedback,
    /// Loss window.
    pub window: LossWindow,
    /// Recurrent: the last `N` axons carry the hidden spikes of the previous step. Otherwise all `P` axons
    /// are external.
    pub recurrent: bool,
    /// Learning on (traces and weight updates). Off: inference only.
    pub learn: bool,
}

/// Per-synapse accumulators of the `Accumulate` update mode: O(P·N + N·O) i32, i.e. O(N²) memory.
pub struct Accumulator<const P: usize, const N: usize, const O: usize> {
    hidden: [[i32; N]; P],
    readout: [[i32; O]; N],
}

impl<const P: usize, const N: usize, const O: usize> Default for Accumulator<P, N, O> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const P: usize, const N: usize, const O: usize> Accumulator<P, N, O> {
    /// Bytes of accumulator memory.
    pub const BYTES: usize = 4 * (P * N + N * O);

    /// Zeroed accumulators.
    pub const fn new() -> Self {
        Accumulator { hidden: [[0; N]; P], readout: [[0; O]; N] }
    }

    /// The hidden-layer sums (weight LSB · 2⁻¹⁶), row-major by axon.
    pub fn hidden(&self) -> &[i32] {
        self.hidden.as_flattened()
    }

    /// The readout sums (weight LSB · 2⁻¹⁶), row-major by hidden neuron.
    pub fn readout(&self) -> &[i32] {
        self.readout.as_flattened()
    }
}

/// How weights move at [`Net::step`].
pub enum UpdateMode<'a, const P: usize, const N: usize, const O: usize> {
    /// Apply every step with stochastic rounding (O(N) extra memory).
    Online,
    /// Sum into the accumulator; apply with [`Net::apply`].
    Accumulate(&'a mut Accumulator<P, N, O>),
}

/// What one step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StepReport {
    /// Operation counts of all phases.
    pub ops: OpCounts,
    /// Loss of this step in Q.16, when a target was given inside the window.
    pub loss_q16: Option<i64>,
}

/// The disjoint borrows one step works with.
struct Parts<'a, const P: usize, const N: usize> {
    l: LayerMut<'a>,
    r: ReadoutMut<'a>,
    prev: &'a mut heapless::Vec<u16, N>,
    active: &'a mut heapless::Vec<u16, P>,
    spikes: &'a mut [u16; N],
    fb: &'a mut [i32; N],
    cfg: NetConfig,
}

/// Readout storage sized at compile time.
struct ReadoutStore<const N: usize, const O: usize> {
    weights: [[Weight; O]; N],
    r: [i32; O],
    otrace: [u16; N],
    err: [i32; O],
    grad: [i64; O],
    sat: Saturations,
    updates: u32,
}

/// Hidden layer (`P` axons, `N` neurons, `S` states) + readout (`O` outputs), sized at compile time.
/// With `recurrent`, `P − N` axons are external inputs.
pub struct Net<const P: usize, const N: usize, const O: usize, const S: usize> {
    cfg: crate::slot::ConfigSlot<NetConfig>,
    layer: Layer<P, N, S>,
    ro: ReadoutStore<N, O>,
    prev: heapless::Vec<u16, N>,
    active: heapless::Vec<u16, P>,
    spikes: [u16; N],
    fb: [i32; N],
}

const ZERO_SAT: Saturations =
    Saturations { state: 0, xtrace: 0, etrace: 0, weight: 0, grad: 0, dropped_events: 0 };

impl<const P: usize, const N: usize, const O: usize, const S: usize> Default for Net<P, N, O, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const P: usize, const N: usize, const O: usize, const S: usize> Net<P, N, O, S> {
    /// Bytes of weights, traces and state (hidden layer + readout; the `Accumulate` mode's
    /// [`Accumulator`] is separate and O(N²)).
    pub const MEMORY: MemoryReport = {
        let l = MemoryReport::layer(P, N, S);
        MemoryReport {
            weights: l.weights + 2 * N * O,
            traces: l.traces + 2 * N,
            state: l.state + 4 * O + 4 * O + 8 * O + 2 * N + 2 * P + 2 * N + 4 * N,
        }
    };

    /// An unconfigured, zeroed network (usable in a `static`).
    pub const fn new() -> Self {
        Net {
            cfg: crate::slot::ConfigSlot::empty(),
            layer: Layer::new(),
            ro: ReadoutStore {
                weights: [[Weight(0); O]; N],
                r: [0; O],
                otrace: [0; N],
                err: [0; O],
                grad: [0; O],
                sat: ZERO_SAT,
                updates: 0,
            },
            prev: heapless::Vec::new(),
            active: heapless::Vec::new(),
            spikes: [0; N],
            fb: [0; N],
        }
    }

    /// Number of external input axons.
    pub fn external_inputs(&self) -> usize {
        match self.cfg.get() {
            Some(c) if c.recurrent => P - N,
            _ => P,
        }
    }

    /// Validate and load `cfg`, resetting all state (weights are kept): neuron state, traces, readout
    /// state, and the learning-step and chip-effect counters of the layer and the readout, so that a
    /// network configured (or loaded from an image) twice runs as a new one (found by the image fuzz
    /// target's reload property; `tests/boundaries.rs`).
    pub fn configure(&mut self, cfg: NetConfig) -> Result<(), ConfigError> {
        if cfg.recurrent && P <= N {
            return Err(ConfigError::SizeMismatch { field: Field::Axons, expected: N + 1, found: P });
        }
        cfg.readout.validate(N, O)?;
        self.layer.configure(cfg.layer)?;
        self.cfg.set(cfg);
        self.reset_state();
        *self.layer.scalars_mut() = LayerScalars::default();
        (self.ro.updates, self.ro.sat) = (0, Saturations::default());
        Ok(())
    }

    /// The loaded configuration.
    pub fn config(&self) -> Option<&NetConfig> {
        self.cfg.get()
    }

    /// Start a new sequence: clear neuron state, traces, readout state and pending spikes.
    pub fn reset_state(&mut self) {
        if let Ok(mut l) = self.layer.view() {
            l.reset_state();
        }
        self.ro.r = [0; O];
        self.ro.otrace = [0; N];
        self.ro.err = [0; O];
        self.prev.clear();
    }

    /// Set a hidden weight.
    pub fn set_weight(&mut self, axon: usize, neuron: usize, w: Weight) -> Result<(), ConfigError> {
        self.layer.set_weight(axon, neuron, w)
    }

    /// Set a readout weight V (hidden `neuron` → `output`).
    pub fn set_readout_weight(&mut self, neuron: usize, output: usize, w: Weight) -> Result<(), ConfigError> {
        let max = self.cfg.get().map(|c| c.readout.formats.weight_max()).unwrap_or(i16::MAX as i32);
        check_range(Field::Weight, w.0 as i64, -(max as i64), max as i64)?;
        match self.ro.weights.get_mut(neuron).and_then(|r| r.get_mut(output)) {
            Some(s) => {
                *s = w;
                Ok(())
            }
            None => Err(ConfigError::OutOfRange { field: Field::Outputs, value: output as i64, min: 0, max: O as i64 - 1 }),
        }
    }

    /// Hidden layer datapath (for inspection or phase-by-phase driving).
    pub fn layer(&mut self) -> Result<LayerMut<'_>, ConfigError> {
        self.layer.view()
    }

    fn split(&mut self) -> Result<Parts<'_, P, N>, ConfigError> {
        let cfg = *self.cfg.get().ok_or(ConfigError::NotConfigured)?;
        let Net { layer, ro, prev, active, spikes, fb, cfg: stored } = self;
        let stored = stored.get().ok_or(ConfigError::NotConfigured)?;
        let l = layer.view()?;
        let r = ReadoutMut::new(
            &stored.readout,
            ReadoutBuffers {
                weights: ro.weights.as_flattened_mut(),
                r: &mut ro.r,
                otrace: &mut ro.otrace,
                err: &mut ro.err,
                grad: &mut ro.grad,
                sat: &mut ro.sat,
                updates: &mut ro.updates,
            },
            N,
            O,
        )?;
        Ok(Parts { l, r, prev, active, spikes, fb, cfg })
    }

    /// Readout datapath.
    pub fn readout(&mut self) -> Result<ReadoutMut<'_>, ConfigError> {
        self.split().map(|p| p.r)
    }

    /// One timestep (see the module docs for the phase order). `input` lists the external axons that
    /// spike at `t` (ids ≥ the number of external inputs are dropped and counted); `target` applies only
    /// inside the loss window. Fails only if the network was never configured or if `target` does not fit
    /// the readout ([`Target::check`]: MSE values of the wrong length, a class ≥ outputs), and then before
    /// any state changes.
    pub fn step(
        &mut self,
        t: Timestep,
        input: &[u16],
        target: Target<'_>,
        mode: UpdateMode<'_, P, N, O>,
    ) -> Result<StepReport, ConfigError> {
        let Parts { mut l, mut r, prev, active, spikes, fb, cfg } = self.split()?;
        r.check_target(target)?;
        let n_ext = if cfg.recurrent { P - N } else { P };
        let mut ops = OpCounts::default();
        let mut dropped = 0u32;
        // 1. deliver
        active.clear();
        for &a in input {
            if (a as usize) < n_ext {
                // The list holds P events (the layer integrates at most P per step anyway); more are
                // dropped and counted.
                if active.push(a).is_err() {
                    dropped += 1;
                }
            } else {
                dropped += 1;
            }
        }
        if cfg.recurrent {
            for &j in prev.iter() {
                if active.push((n_ext + j as usize) as u16).is_err() {
                    dropped += 1;
                }
            }
        }
        let learn = cfg.learn;
        // 2. integrate
        ops.add(&l.integrate(active, learn));
        // 3. fire
        let (c, listed) = l.fire(learn, spikes);
        ops.add(&c);
        prev.clear();
        for &j in &spikes[..listed] {
            let _ = prev.push(j);
        }
        // 4. readout
        ops.add(&r.integrate(&spikes[..listed], learn));
        // 5. error
        let in_window = cfg.window.contains(t);
        let target = if in_window { target } else { Target::None };
        let loss = r.error(target);
        // 6-7. learning signal and learning
        if learn && in_window {
            let hidden_signal = match (cfg.feedback, target) {
                (Feedback::External, Target::Lambda(lam)) => Some(Signal::Lambda(lam)),
                (Feedback::External, _) => None,
                (kind, _) if loss.is_some() => {
                    r.feedback_where(kind, 0, l.psi(), fb);
                    Some(Signal::Feedback(fb))
                }
                _ => None,
            };
            match mode {
                UpdateMode::Online => {
                    if let Some(sig) = hidden_signal {
                        ops.add(&l.learn(sig));
                    }
                    if loss.is_some() {
                        ops.add(&r.learn());
                    }
                }
                UpdateMode::Accumulate(acc) => {
                    if let Some(sig) = hidden_signal {
                        ops.add(&l.accumulate(sig, acc.hidden.as_flattened_mut())?);
                    }
                    if loss.is_some() {
                        ops.add(&r.accumulate(acc.readout.as_flattened_mut())?);
                    }
                }
            }
        }
        let sat = &mut self.layer.scalars_mut().sat;
        sat.dropped_events = sat.dropped_events.saturating_add(dropped);
        Ok(StepReport { ops, loss_q16: loss })
    }

    /// Apply an accumulator filled by `UpdateMode::Accumulate` steps (end of a learning epoch).
    pub fn apply(&mut self, acc: &mut Accumulator<P, N, O>) -> Result<OpCounts, ConfigError> {
        let Parts { mut l, mut r, .. } = self.split()?;
        let mut c = l.apply_accumulated(acc.hidden.as_flattened_mut())?;
        c.add(&r.apply_accumulated(acc.readout.as_flattened_mut())?);
        Ok(c)
    }

    /// Hidden-layer chip-effect counters.
    pub fn saturations(&self) -> (Saturations, Saturations) {
        (self.layer.scalars().sat, self.ro.sat)
    }

    /// Readout weights V.
    pub fn readout_weights(&self) -> &[Weight] {
        self.ro.weights.as_flattened()
    }

    /// Hidden weights (row-major by axon).
    pub fn weights(&self) -> &[Weight] {
        self.layer.weights()
    }

    /// Readout outputs r_k.
    pub fn outputs(&self) -> &[i32; O] {
        &self.ro.r
    }

    /// The hidden neurons that spiked at the last step (ascending; the recurrent input of the next step).
    pub fn spikes(&self) -> &[u16] {
        &self.prev
    }

    /// FNV-1a hash over every weight, neuron state, trace and readout value: the checksum that host,
    /// emulator and firmware runs compare.
    pub fn checksum(&self) -> u32 {
        let mut h = Fnv::new();
        self.layer.hash_into(&mut h);
        for w in self.ro.weights.as_flattened() {
            h.write(&w.0.to_le_bytes());
        }
        for r in &self.ro.r {
            h.write(&r.to_le_bytes());
        }
        for t in &self.ro.otrace {
            h.write(&t.to_le_bytes());
        }
        h.finish()
    }
}

