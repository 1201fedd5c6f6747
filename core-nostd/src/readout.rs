//! The leaky readout, its error and its learning (`es-d-rtrl.md` §8.1 items 4–7):
//!
//! ```text
//! r_k ← κ·r_k + Σ_j V_jk·s_j          (event-driven over the hidden spikes s_t of this step)
//! ε^o_j ← κ·ε^o_j + s_j
//! e_k = r_k − target_k (MSE)  or  softmax(r)_k − onehot_k (cross-entropy, exp from a table)
//! ΔV_jk = −η_o·e_k·ε^o_j              (stochastic rounding, saturating)
//! feedback_j = Σ_k B_jk·e_k            (B = V: symmetric; B = hashed random matrix: random feedback)
//! ```
//! Storage is row-major by hidden neuron j (`weights[j * outputs + k]`), so a spike reads one row and the
//! feedback of neuron j is one row too. Formats follow the layer table: r in Q.`state_frac`, e and
//! feedback in Q.`signal_frac`, ε^o like ε^x.

use crate::arith::{clamp_i64, exp2_neg, log2_q16, sat_i32, shift_nearest, shr_nearest};
use crate::error::{ConfigError, Field};
use crate::format::{round_shift, Decay, Formats, Rounding, Weight, ROUND_NEAREST, ROUND_STOCHASTIC, ROUND_TRUNCATE};
use crate::layer::{LearningRate, OpCounts, Saturations};
use crate::rng;

/// Loss of the readout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Loss {
    /// ½·Σ_k (r_k − target_k)²; e = r − target.
    Mse,
    /// Softmax cross-entropy; e = softmax(r) − onehot.
    CrossEntropy,
}

/// How the hidden layer's learning signal is formed (`es-d-rtrl.md` §8.1 item 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Feedback {
    /// B = V (the readout weights): the reference's single-step backprop for one hidden layer.
    Symmetric,
    /// A fixed random matrix B_jk = hash(seed, j, k) in the weight format (no weight transport, no storage).
    Random {
        /// Seed of the hashed matrix.
        seed: u32,
    },
    /// λ is written by the host or a neighbouring core.
    External,
}

/// Target of one step.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// No target: outside the loss window, no error and no learning.
    None,
    /// Regression targets, one per output, Q.`signal_frac` (for `Loss::Mse`).
    Values(&'a [i32]),
    /// Class index (for `Loss::CrossEntropy`).
    Class(u16),
    /// External learning signal λ for the hidden neurons, Q.`signal_frac` (for `Feedback::External`); the
    /// readout does not learn on such a step.
    Lambda(&'a [i32]),
}

impl Target<'_> {
    /// Check this target against a readout of `outputs` units trained with `loss`, once, before a step
    /// (the API boundary: [`crate::net::Net::step`] and the emulator's step call it first and return the
    /// error before touching any state). A `Values` target of an MSE readout must hold exactly one value
    /// per output ([`ConfigError::SizeMismatch`] on [`Field::Target`]; a shorter one used to be padded with
    /// zeros, i.e. trained towards 0), and a `Class` target of a cross-entropy readout must name an output
    /// ([`ConfigError::OutOfRange`] on [`Field::Target`]). `None`, `Lambda` and a target of the other loss's
    /// kind carry no readout target and pass (the readout ignores them).
    pub fn check(&self, loss: Loss, outputs: usize) -> Result<(), ConfigError> {
        match (loss, *self) {
            (Loss::Mse, Target::Values(v)) if v.len() != outputs => {
                Err(ConfigError::SizeMismatch { field: Field::Target, expected: outputs, found: v.len() })
            }
            (Loss::CrossEntropy, Target::Class(c)) if c as usize >= outputs => Err(ConfigError::OutOfRange {
                field: Field::Target,
                value: c as i64,
                min: 0,
                max: outputs as i64 - 1,
            }),
            _ => Ok(()),
        }
    }
}

/// Readout configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReadoutConfig {
    /// Formats (weights, state r, traces ε^o, signals e).
    pub formats: Formats,
    /// κ = e^{−dt/τ_o}, Q.`decay_frac`, < 1.
    pub decay: Decay,
    /// Loss.
    pub loss: Loss,
    /// η_o.
    pub learning_rate: LearningRate,
    /// Stochastic-rounding seed.
    pub seed: u32,
}

impl ReadoutConfig {
    /// Validate for `inputs` hidden neurons and `outputs` units.
    pub fn validate(&self, inputs: usize, outputs: usize) -> Result<(), ConfigError> {
        self.formats.validate()?;
        crate::error::check_range(Field::Decay, self.decay.0 as i64, 0, (1i64 << self.formats.decay_frac) - 1)?;
        crate::error::check_range(Field::LearningRate, self.learning_rate.shift as i64, 0, 40)?;
        crate::error::check_range(Field::Outputs, outputs as i64, 1, 256)?;
        crate::error::check_range(Field::Neurons, inputs as i64, 1, u16::MAX as i64)?;
        if (inputs as u64) * (self.formats.weight_max() as u64) > i32::MAX as u64 {
            return Err(ConfigError::AccumulatorOverflow { axons: inputs, weight_bits: self.formats.weight_bits });
        }
        Ok(())
    }
}

/// Buffers of a readout.
pub struct ReadoutBuffers<'a> {
    /// V, `inputs × outputs`, row-major by hidden neuron.
    pub weights: &'a mut [Weight],
    /// r_k, Q.`state_frac`.
    pub r: &'a mut [i32],
    /// ε^o_j, like ε^x.
    pub otrace: &'a mut [u16],
    /// e_k of the last `error`, Q.`signal_frac`.
    pub err: &'a mut [i32],
    /// Scratch: per-output gradient factor.
    pub grad: &'a mut [i64],
    /// Counters (`state` = r saturations, `xtrace` = ε^o, `weight`, `grad`, `dropped_events`).
    pub sat: &'a mut Saturations,
    /// Learning-step counter (advanced by `integrate` with learning on). It **wraps** after 2³² learning
    /// steps, documented and tested (`tests/boundaries.rs`): step 2³² uses the random words of step 0
    /// (see `hw-notes/formats.md`).
    pub updates: &'a mut u32,
}

/// The readout datapath over borrowed buffers.
pub struct ReadoutMut<'a> {
    cfg: &'a ReadoutConfig,
    b: ReadoutBuffers<'a>,
    n: usize,
    o: usize,
    rounding: Rounding,
}

/// `sat_i32(x >> s)` (floor, then **saturating** to i32) for `s` ≤ 31 (weight_frac ≤ 15 is validated):
/// the shifted value's low word is a funnel shift of x's two words, and it fits an i32 exactly when the
/// shifted high word is the sign extension of that low word (one compare on a 32-bit core, instead of a
/// variable 64-bit shift and a 64-bit range check). With x = Σ + 2^(s−1) (0 for s = 0) this is
/// `sat_i32(shr_nearest(Σ, s))`, the **nearest** shift of [`shr_nearest`], for |Σ| < 2⁶².
#[inline(always)]
const fn shr_sat_i32(x: i64, s: u32) -> i32 {
    let s = s & 31;
    let hi = (x >> 32) as i32;
    // (hi << 1) << (31 − s) is hi << (32 − s) without a shift by 32 when s = 0.
    let g = (((x as u32) >> s) | (((hi as u32) << 1) << (31 - s))) as i32;
    if hi >> s == g >> 31 {
        g
    } else if hi < 0 {
        i32::MIN
    } else {
        i32::MAX
    }
}

/// One weight of the readout's narrow online update (`e` = G in the low word, the column word in the high
/// word, |G| < 2³¹): d = (x·G + r) ≫ 32 rounded by the tag `M` with r = `key` ^ column word; |d| ≤ 2¹⁵,
/// so w + d fits an i32 and one unsigned compare tests the weight range (**saturate**, counted).
#[inline(always)]
fn narrow_cell<const M: u8>(w: &mut Weight, e: i64, xw: i64, key: u32, wm: i32, sat: &mut u32) {
    let r = key ^ (e >> 32) as u32;
    let d = round_shift::<M>(xw * (e as i32 as i64), 32, r as i64) as i32;
    if d == 0 {
        return;
    }
    let v = w.0 as i32 + d;
    if (v + wm) as u32 > 2 * wm as u32 {
        crate::layer::clamp_counted(w, v, wm, sat);
    } else {
        *w = Weight(v as i16);
    }
}

impl<'a> ReadoutMut<'a> {
    /// Check the buffer lengths for `inputs` hidden neurons and `outputs` units.
    pub fn new(cfg: &'a ReadoutConfig, b: ReadoutBuffers<'a>, inputs: usize, outputs: usize) -> Result<Self, ConfigError> {
        cfg.validate(inputs, outputs)?;
        let check = |expected: usize, found: usize| {
            if expected == found {
                Ok(())
            } else {
                Err(ConfigError::SizeMismatch { field: Field::Buffer, expected, found })
            }
        };
        check(inputs * outputs, b.weights.len())?;
        check(outputs, b.r.len())?;
        check(inputs, b.otrace.len())?;
        check(outputs, b.err.len())?;
        check(outputs, b.grad.len())?;
        Ok(ReadoutMut { cfg, b, n: inputs, o: outputs, rounding: Rounding::Stochastic })
    }

    /// How [`ReadoutMut::learn`] and [`ReadoutMut::apply_accumulated`] round a weight update to the LSB
    /// ([`Rounding`]; default [`Rounding::Stochastic`], the rule before this setting existed, bit for
    /// bit). Every mode saturates at the weight range (counted).
    pub fn set_rounding(&mut self, rounding: Rounding) {
        self.rounding = rounding;
    }

    /// Clear r, ε^o and e (sequence start).
    pub fn reset_state(&mut self) {
        self.b.r.fill(0);
        self.b.otrace.fill(0);
        self.b.err.fill(0);
    }

    /// Phase **integrate**: r ← κ·r (**nearest**) + Σ rows of the spiking neurons (exact, then
    /// **saturating** to i32), and if `learn`, advance the learning-step counter and update
    /// ε^o ← κ·ε^o + s (decay **stochastic** as ε^x, sum **saturating**).
    pub fn integrate(&mut self, spikes: &[u16], learn: bool) -> OpCounts {
        let f = self.cfg.formats;
        let df = f.decay_frac as u32;
        let kappa = self.cfg.decay.0 as i64;
        let o = self.o;
        let mut c = OpCounts::default();
        // Sum the rows of the spiking neurons in the gradient scratch (exact: at most `inputs` rows of
        // |w| ≤ wmax, validated to fit), then r ← κ·r + sum once.
        if o == 4 && spikes.len() < 1 << 16 {
            self.sum_rows_narrow::<4>(spikes, &mut c);
        } else {
            self.sum_rows(spikes, &mut c);
        }
        let sums = &*self.b.grad;
        let sh = f.state_frac as u32 - f.weight_frac as u32;
        let mut sat = 0;
        for (r, &s) in self.b.r.iter_mut().zip(sums.iter()) {
            let v = shr_nearest(*r as i64 * kappa, df).saturating_add(s << sh);
            let (v, st) = sat_i32(v);
            sat += st as u32;
            *r = v;
        }
        self.b.sat.state = self.b.sat.state.saturating_add(sat);
        c.neuron_updates = o as u32;
        if learn {
            let step = self.b.updates.wrapping_add(1);
            *self.b.updates = step;
            let key = rng::row_key(self.cfg.seed ^ rng::SALT_TRACE, step, 0);
            // decay_stochastic(t, κ, df, cell(key, j)) = ⌊(t·κ + ⌊r / 2^(32−df)⌋) / 2^df⌋ is
            // ⌊(t·κ·2^(32−df) + r) / 2³²⌋ (nested floors of divisions by powers of two), the high word
            // of one 32×32 → 64 multiply-add: κ < 2^df (validated), so κ·2^(32−df) fits a u32, and the
            // quotient is < 2¹⁶ as before (bit for bit: `otrace_decay_matches_decay_stochastic`).
            // cell(key, j) = mix32(key ^ j·0x85EB_CA77), the product advanced by one add per trace.
            let ka = (kappa as u32) << (32 - df);
            let mut jm = 0u32;
            for t in self.b.otrace.iter_mut() {
                let m = jm;
                jm = jm.wrapping_add(0x85EB_CA77);
                if *t != 0 {
                    *t = rng::decay_hi(*t, ka, rng::mix32(key ^ m));
                }
            }
            let max = f.trace_max();
            let one = 1u32 << f.trace_frac;
            for &j in spikes {
                if let Some(t) = self.b.otrace.get_mut(j as usize) {
                    let v = *t as u32 + one;
                    if v > max {
                        *t = max as u16;
                        self.b.sat.xtrace = self.b.sat.xtrace.saturating_add(1);
                    } else {
                        *t = v as u16;
                    }
                }
            }
            c.trace_updates = self.n as u32;
        }
        c
    }

    /// The row sums of [`ReadoutMut::integrate`] into the gradient scratch (i64: exact for any number of
    /// spikes), counting the events and the dropped ones (index ≥ inputs).
    fn sum_rows(&mut self, spikes: &[u16], c: &mut OpCounts) {
        let o = self.o;
        let sums = &mut *self.b.grad;
        sums.fill(0);
        for &j in spikes {
            let j = j as usize;
            if j >= self.n {
                self.b.sat.dropped_events = self.b.sat.dropped_events.saturating_add(1);
                continue;
            }
            for (s, w) in sums.iter_mut().zip(self.b.weights.get(j * o..(j + 1) * o).unwrap_or(&[])) {
                *s += w.0 as i64;
            }
            c.events_in += 1;
            c.syn_ops += o as u32;
        }
    }

    /// [`ReadoutMut::sum_rows`] for `O` (= `self.o`) outputs and fewer than 2¹⁶ spikes,
    /// written to the gradient scratch: the same integers (each sum is of fewer than 2¹⁶ weights of
    /// |w| ≤ 2¹⁵, so it is exact in an i32), with the `O` sums in registers and each row a fixed-size
    /// array (no per-output loop or bounds check). Counts the events and the dropped ones as before.
    #[inline(always)]
    fn sum_rows_narrow<const O: usize>(&mut self, spikes: &[u16], c: &mut OpCounts) {
        let rows = self.b.weights.as_chunks::<O>().0;
        let mut sums = [0i32; O];
        let mut dropped = 0u32;
        for &j in spikes {
            if let Some(row) = rows.get(j as usize) {
                for (s, w) in sums.iter_mut().zip(row.iter()) {
                    *s += w.0 as i32;
                }
            } else {
                dropped += 1;
            }
        }
        let events = spikes.len() as u32 - dropped;
        self.b.sat.dropped_events = self.b.sat.dropped_events.saturating_add(dropped);
        c.events_in = events;
        c.syn_ops = events * O as u32;
        for (g, &s) in self.b.grad.iter_mut().zip(sums.iter()) {
            *g = s as i64;
        }
    }

    /// Phase **error**: e_k from the target; returns the loss of this step in Q.16 (½Σe² for MSE,
    /// −ln p_target for cross-entropy), or `None` when there is no target (e is then 0).
    /// Softmax: p_k = 2^(−(r_max − r_k)·log2 e) from [`exp2_neg`] (table, **floor**), normalised with one
    /// integer division (**floor**); the log of the loss uses [`log2_q16`].
    ///
    /// This phase has no error path: a target that [`Target::check`] rejects (MSE values of the wrong
    /// length, a class ≥ outputs) counts as no target here (`None`, e = 0, nothing learns), never as a
    /// zero-padded one. Callers check the target at their boundary ([`ReadoutMut::check_target`]).
    pub fn error(&mut self, target: Target<'_>) -> Option<i64> {
        let f = self.cfg.formats;
        let gf = f.signal_frac as u32;
        let to_sig = gf as i32 - f.state_frac as i32;
        match (self.cfg.loss, target) {
            (Loss::Mse, Target::Values(t)) if t.len() == self.o => {
                let mut l = 0i64;
                for ((ek, &r), &tk) in self.b.err.iter_mut().zip(self.b.r.iter()).zip(t) {
                    let e = sat_i32(shift_nearest(r as i64, to_sig) - tk as i64).0;
                    *ek = e;
                    l = l.saturating_add(shr_nearest((e as i64) * (e as i64), 2 * gf - 16 + 1));
                }
                Some(l)
            }
            (Loss::CrossEntropy, Target::Class(c)) if (c as usize) < self.o => {
                let c = c as usize;
                let rmax = self.b.r.iter().copied().max().unwrap_or(0) as i64;
                // log2(e) in Q.16.
                const LOG2E_Q16: i64 = 94_548;
                // exp values in the gradient scratch (no stack array: this runs on 16 KiB parts).
                let p = &mut *self.b.grad;
                let mut sum = 0u64;
                for (pk, &r) in p.iter_mut().zip(self.b.r.iter()) {
                    let z = rmax - r as i64; // ≥ 0, Q.state_frac
                    let x = shift_nearest(z, 16 - f.state_frac as i32).saturating_mul(LOG2E_Q16) >> 16;
                    let v = exp2_neg(x.clamp(0, u32::MAX as i64) as u32);
                    *pk = v as i64;
                    sum += v as u64;
                }
                // sum ≥ 65536 (the maximum contributes 1.0), so the division is safe.
                let one = 1u64 << gf;
                for (k, (e, &pk)) in self.b.err.iter_mut().zip(p.iter()).enumerate() {
                    let pk = ((pk as u64 * one) / sum) as i64;
                    let y = if k == c { one as i64 } else { 0 };
                    *e = (pk - y) as i32;
                }
                // −ln p_c = ln(sum) − ln(p_c) = (log2 sum − log2 p_c)·ln 2.
                let pc = p.get(c).copied().unwrap_or(0).max(1) as u64;
                p.fill(0);
                const LN2_Q16: i64 = 45_426;
                Some(((log2_q16(sum) - log2_q16(pc)) * LN2_Q16) >> 16)
            }
            _ => {
                self.b.err.fill(0);
                None
            }
        }
    }

    /// [`Target::check`] for this readout's loss and outputs.
    pub fn check_target(&self, target: Target<'_>) -> Result<(), ConfigError> {
        target.check(self.cfg.loss, self.o)
    }

    /// Feedback Σ_k B_jk·e_k for hidden neurons `first..first + out.len()`, Q.`signal_frac` (**nearest**,
    /// **saturating**). For `External` it writes zeros.
    pub fn feedback(&self, kind: Feedback, first: usize, out: &mut [i32]) {
        self.feedback_masked(kind, first, None, out);
    }

    /// [`ReadoutMut::feedback`] for the neurons whose surrogate ψ (`psi[i]`, as recorded by the hidden
    /// layer's `fire`) is non-zero, and 0 for the others: their learning signal λ = ψ·feedback is 0
    /// either way, so the layer's update is the same bit for bit and the skipped sums cost nothing.
    pub fn feedback_where(&self, kind: Feedback, first: usize, psi: &[i32], out: &mut [i32]) {
        self.feedback_masked(kind, first, Some(psi), out);
    }

    fn feedback_masked(&self, kind: Feedback, first: usize, psi: Option<&[i32]>, out: &mut [i32]) {
        // The symmetric case with ψ for the reference's output count: one specialised row walk.
        if let (Feedback::Symmetric, Some(p), 4) = (kind, psi, self.o) {
            return self.feedback_symmetric::<4>(first, p, out);
        }
        match psi {
            // One ψ per output entry: the scan walks both slices together (no per-entry index check).
            Some(p) if p.len() >= out.len() => {
                for (i, (fb, &q)) in out.iter_mut().zip(p).enumerate() {
                    *fb = if q == 0 { 0 } else { self.feedback_of(kind, first + i) };
                }
            }
            _ => {
                for (i, fb) in out.iter_mut().enumerate() {
                    if psi.is_some_and(|p| p.get(i).copied().unwrap_or(0) == 0) {
                        *fb = 0;
                        continue;
                    }
                    *fb = self.feedback_of(kind, first + i);
                }
            }
        }
    }

    /// [`ReadoutMut::feedback_where`] for `Feedback::Symmetric` and `O` (= `self.o`) outputs, the same
    /// integers as [`ReadoutMut::feedback_of`]: the rows of V from neuron `first` on (`O` weights each,
    /// so no per-neuron bounds check), e in registers, and the **nearest** shift and **saturation**
    /// folded into [`shr_sat_i32`] with the rounding half added up front. Entries past the last row or
    /// past `psi` are 0, as in the general path (no row: the sum is 0; no ψ: masked).
    fn feedback_symmetric<const O: usize>(&self, first: usize, psi: &[i32], out: &mut [i32]) {
        let wf = self.cfg.formats.weight_frac as u32;
        let half = (1i64 << wf) >> 1;
        let (Ok(err), Some(start)) = (<&[i32; O]>::try_from(&*self.b.err), first.checked_mul(O)) else {
            out.fill(0);
            return;
        };
        let err = *err;
        let rows = self.b.weights.get(start..).unwrap_or(&[]).as_chunks::<O>().0;
        let n = out.len().min(psi.len()).min(rows.len());
        let (head, tail) = out.split_at_mut(n);
        for ((fb, &q), row) in head.iter_mut().zip(psi).zip(rows) {
            *fb = if q == 0 {
                0
            } else {
                let mut acc = half;
                for (w, &e) in row.iter().zip(err.iter()) {
                    acc += w.0 as i64 * e as i64;
                }
                shr_sat_i32(acc, wf)
            };
        }
        tail.fill(0);
    }

    /// Σ_k B_jk·e_k of hidden neuron `j`, Q.`signal_frac` (**nearest**, **saturating**); 0 for `External`.
    #[inline(always)]
    fn feedback_of(&self, kind: Feedback, j: usize) -> i32 {
        let wf = self.cfg.formats.weight_frac as u32;
        let wbits = self.cfg.formats.weight_bits as u32;
        let wmax = self.cfg.formats.weight_max();
        let mut acc = 0i64;
        match kind {
            Feedback::Symmetric => {
                if let Some(row) = self.b.weights.get(j * self.o..(j + 1) * self.o) {
                    for (w, &e) in row.iter().zip(self.b.err.iter()) {
                        acc += w.0 as i64 * e as i64;
                    }
                }
            }
            Feedback::Random { seed } => {
                let key = rng::row_key(seed, 0x5EED_FEED, j as u32);
                for (k, &e) in self.b.err.iter().enumerate() {
                    let b = ((rng::cell(key, k as u32) as i32) >> (32 - wbits)).clamp(-wmax, wmax);
                    acc += b as i64 * e as i64;
                }
            }
            Feedback::External => {}
        }
        sat_i32(shr_nearest(acc, wf)).0
    }

    fn grad_factors(&mut self) -> u32 {
        let f = self.cfg.formats;
        let e = 32 + f.weight_frac as i32 - f.trace_frac as i32 - f.signal_frac as i32 - self.cfg.learning_rate.shift as i32;
        let mant = self.cfg.learning_rate.mant as i64;
        let lim = 1i64 << 47;
        let mut cols = 0u32;
        let mut gsat = 0u32;
        for (g, &err) in self.b.grad.iter_mut().zip(self.b.err.iter()) {
            let (v, s) = clamp_i64(shift_nearest(-(err as i64) * mant, e), -lim, lim);
            gsat += s as u32;
            *g = v;
            cols += (v != 0) as u32;
        }
        self.b.sat.grad = self.b.sat.grad.saturating_add(gsat);
        cols
    }

    /// Phase **learn** (online): ΔV_jk = −η_o·e_k·ε^o_j, **stochastic** rounding with the word
    /// `row_key(seed, step, j) ^ col_word(seed, step, k)` (as the hidden layer's online update; or the
    /// readout's other [`Rounding`], [`ReadoutMut::set_rounding`]), **saturating** (counted). Call after
    /// this step's `integrate`. Leaves `grad` as scratch.
    pub fn learn(&mut self) -> OpCounts {
        let cols = self.grad_factors();
        let upd = *self.b.updates;
        if cols == 0 {
            return OpCounts::default();
        }
        let narrow = self.b.grad.iter().all(|g| g.unsigned_abs() < 1 << 31);
        let seed = self.cfg.seed;
        if narrow {
            // Pack each output's G (32 bits) with its column word (high 32 bits): one load per weight.
            for (k, g) in self.b.grad.iter_mut().enumerate() {
                *g = (*g as i32 as u32 as i64) | ((rng::col_word(seed, upd, k as u32) as i64) << 32);
            }
        }
        // One loop per (width, rounding mode): no branch on either per weight.
        let (rows, sat) = match (narrow, self.rounding) {
            (true, Rounding::Stochastic) if self.o == 4 => self.learn_rows_narrow::<4>(),
            (true, Rounding::Stochastic) => self.learn_rows::<true, ROUND_STOCHASTIC>(),
            (false, Rounding::Stochastic) => self.learn_rows::<false, ROUND_STOCHASTIC>(),
            (true, Rounding::Nearest) => self.learn_rows_apart::<true, ROUND_NEAREST>(),
            (false, Rounding::Nearest) => self.learn_rows_apart::<false, ROUND_NEAREST>(),
            (true, Rounding::Truncate) => self.learn_rows_apart::<true, ROUND_TRUNCATE>(),
            (false, Rounding::Truncate) => self.learn_rows_apart::<false, ROUND_TRUNCATE>(),
        };
        self.b.sat.weight = self.b.sat.weight.saturating_add(sat);
        OpCounts { weight_updates: rows * cols, ..OpCounts::default() }
    }

    /// [`ReadoutMut::learn_rows`] out of line for the non-default rounding modes (keeps the default path's
    /// inlined code as it was; `firmware/BENCH-notes.md`).
    #[inline(never)]
    fn learn_rows_apart<const NARROW: bool, const M: u8>(&mut self) -> (u32, u32) {
        self.learn_rows::<NARROW, M>()
    }

    /// The weight loops of [`ReadoutMut::learn`] for the rounding mode tagged `M` (stochastic: the word
    /// `row_key ^ col_word`, as before); returns (rows with ε^o ≠ 0, saturations).
    #[inline(always)]
    fn learn_rows<const NARROW: bool, const M: u8>(&mut self) -> (u32, u32) {
        let wmax = self.cfg.formats.weight_max() as i64;
        let upd = *self.b.updates;
        let seed = self.cfg.seed;
        let o = self.o;
        let mut rows = 0u32;
        let mut sat = 0u32;
        // Rows of `o` weights, one per hidden neuron (the weights hold exactly inputs × outputs).
        for (j, (row, &x)) in self.b.weights.chunks_exact_mut(o.max(1)).zip(self.b.otrace.iter()).enumerate() {
            if x == 0 {
                continue;
            }
            rows += 1;
            let key = rng::row_key(seed, upd, j as u32);
            if NARROW {
                // |G| < 2³¹: the exact x·G from 32-bit operands, |d| ≤ 2¹⁵ so w + d fits an i32, and one
                // unsigned compare tests the range (same integers as the general loop below).
                let (xw, wm) = (x as i32 as i64, wmax as i32);
                for (w, &e) in row.iter_mut().zip(self.b.grad.iter()) {
                    narrow_cell::<M>(w, e, xw, key, wm, &mut sat);
                }
                continue;
            }
            for (k, (w, &g)) in row.iter_mut().zip(self.b.grad.iter()).enumerate() {
                let d = round_shift::<M>(x as i64 * g, 32, (key ^ rng::col_word(seed, upd, k as u32)) as i64);
                let (v, s) = clamp_i64(w.0 as i64 + d, -wmax, wmax);
                sat += s as u32;
                *w = Weight(v as i16);
            }
        }
        (rows, sat)
    }

    /// [`ReadoutMut::learn_rows`] for narrow factors, stochastic rounding and `O` (= `self.o`) outputs:
    /// the same integers (the word `row_key ^ col_word`, d = (x·G + r) ≫ 32, the weight range tested
    /// with one unsigned compare), with each row a fixed-size array so that the `O` cells of a row are
    /// written out (no per-cell loop counter, pointer or bounds check).
    #[inline(never)]
    fn learn_rows_narrow<const O: usize>(&mut self) -> (u32, u32) {
        let wm = self.cfg.formats.weight_max();
        let ukey = rng::update_key(self.cfg.seed, *self.b.updates);
        let (mut rows, mut sat) = (0u32, 0u32);
        let Ok(grad) = <&[i64; O]>::try_from(&*self.b.grad) else {
            return (0, 0);
        };
        // The rows with ε^o ≠ 0: a scan over ε^o, then the row (one index each, no zip bookkeeping).
        let ws = self.b.weights.as_chunks_mut::<O>().0;
        let n = ws.len().min(self.b.otrace.len());
        let (ws, xs) = (&mut ws[..n], &self.b.otrace[..n]);
        let mut j = 0;
        loop {
            while j < n && xs[j] == 0 {
                j += 1;
            }
            if j >= n {
                break;
            }
            let (row, x) = (&mut ws[j], xs[j]);
            rows += 1;
            // black_box is the identity (same bits); as an optimisation barrier it keeps LLVM from
            // re-associating mix32's last `h ^ h >> 16` into every cell's `key ^ col` (two XORs and one
            // more live register per cell on the Cortex-M4: firmware/BENCH-notes.md).
            let key = core::hint::black_box(rng::row_key_in(ukey, j as u32));
            j += 1;
            let xw = x as i32 as i64;
            for (w, &e) in row.iter_mut().zip(grad.iter()) {
                narrow_cell::<ROUND_STOCHASTIC>(w, e, xw, key, wm, &mut sat);
            }
        }
        (rows, sat)
    }

    /// `Accumulate` mode: add ΔV (weight LSB · 2⁻¹⁶, **nearest**, **saturating**, counted) into `acc`
    /// (`inputs × outputs`, the weight layout). Fails only on a wrong `acc` length.
    pub fn accumulate(&mut self, acc: &mut [i32]) -> Result<OpCounts, ConfigError> {
        if acc.len() != self.b.weights.len() {
            return Err(ConfigError::SizeMismatch { field: Field::Buffer, expected: self.b.weights.len(), found: acc.len() });
        }
        let cols = self.grad_factors();
        if cols == 0 {
            return Ok(OpCounts::default());
        }
        let o = self.o;
        let mut rows = 0u32;
        let mut sat = 0u32;
        for (j, &x) in self.b.otrace.iter().enumerate() {
            if x == 0 {
                continue;
            }
            rows += 1;
            for (a, &g) in acc[j * o..(j + 1) * o].iter_mut().zip(self.b.grad.iter()) {
                let (v, s) = sat_i32(*a as i64 + shr_nearest(x as i64 * g, 16));
                sat += s as u32;
                *a = v;
            }
        }
        self.b.sat.grad = self.b.sat.grad.saturating_add(sat);
        Ok(OpCounts { weight_updates: rows * cols, ..OpCounts::default() })
    }

    /// Apply and clear an accumulator filled by [`ReadoutMut::accumulate`]: V += acc·2⁻¹⁶ rounded
    /// **stochastically** (salted stream keyed by the learning-step counter; or by the readout's other
    /// [`Rounding`], [`ReadoutMut::set_rounding`]), **saturated** at the weight range (counted). Fails
    /// only on a wrong `acc` length.
    pub fn apply_accumulated(&mut self, acc: &mut [i32]) -> Result<OpCounts, ConfigError> {
        if acc.len() != self.b.weights.len() {
            return Err(ConfigError::SizeMismatch { field: Field::Buffer, expected: self.b.weights.len(), found: acc.len() });
        }
        let (count, sat) = match self.rounding {
            Rounding::Stochastic => self.apply_rows::<ROUND_STOCHASTIC>(acc),
            Rounding::Nearest => self.apply_rows::<ROUND_NEAREST>(acc),
            Rounding::Truncate => self.apply_rows::<ROUND_TRUNCATE>(acc),
        };
        self.b.sat.weight = self.b.sat.weight.saturating_add(sat);
        Ok(OpCounts { weight_updates: count, ..OpCounts::default() })
    }

    /// The loop of [`ReadoutMut::apply_accumulated`] for the rounding mode tagged `M`; returns
    /// (applied weights, saturations).
    fn apply_rows<const M: u8>(&mut self, acc: &mut [i32]) -> (u32, u32) {
        let wmax = self.cfg.formats.weight_max() as i64;
        let upd = *self.b.updates;
        let o = self.o;
        let (mut count, mut sat) = (0u32, 0u32);
        for (j, (wrow, arow)) in self.b.weights.chunks_mut(o).zip(acc.chunks_mut(o)).enumerate() {
            let key = rng::row_key(self.cfg.seed ^ rng::SALT_APPLY, upd, j as u32);
            for (k, (w, a)) in wrow.iter_mut().zip(arow.iter_mut()).enumerate() {
                if *a == 0 {
                    continue;
                }
                let rnd = rng::cell(key, k as u32) >> 16;
                let (v, s) = clamp_i64(w.0 as i64 + round_shift::<M>(*a as i64, 16, rnd as i64), -wmax, wmax);
                sat += s as u32;
                *w = Weight(v as i16);
                *a = 0;
                count += 1;
            }
        }
        (count, sat)
    }

    /// r_k (Q.`state_frac`).
    pub fn output(&self) -> &[i32] {
        self.b.r
    }
    /// e_k of the last `error` (Q.`signal_frac`).
    pub fn err(&self) -> &[i32] {
        self.b.err
    }
    /// V (row-major by hidden neuron).
    pub fn weights(&self) -> &[Weight] {
        self.b.weights
    }
    /// ε^o.
    pub fn otrace(&self) -> &[u16] {
        self.b.otrace
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Decay, Formats};
    use crate::prelude::LearningRate;
    use crate::rng::XorShift32;

    /// `feedback_where` equals `feedback` where ψ ≠ 0 and is 0 elsewhere, for both feedback kinds.
    #[test]
    fn masked_feedback_matches_full_feedback() {
        let f = Formats::DEFAULT;
        let cfg = ReadoutConfig {
            formats: f,
            decay: Decay((1 << f.decay_frac) / 5 * 4),
            loss: Loss::Mse,
            learning_rate: LearningRate { mant: 1, shift: 6 },
            seed: 7,
        };
        let (n, o) = (24, 3);
        let mut rng = XorShift32::new(0x1234_5678);
        let mut weights: [Weight; 72] = core::array::from_fn(|_| Weight((rng.next_u32() % 121) as i16 - 60));
        let (mut r, mut otrace, mut err, mut grad) = ([0i32; 3], [0u16; 24], [0i32; 3], [0i64; 3]);
        let (mut sat, mut updates) = (Saturations::default(), 0u32);
        let b = ReadoutBuffers {
            weights: &mut weights,
            r: &mut r,
            otrace: &mut otrace,
            err: &mut err,
            grad: &mut grad,
            sat: &mut sat,
            updates: &mut updates,
        };
        let mut ro = ReadoutMut::new(&cfg, b, n, o).unwrap();
        ro.integrate(&[1, 4, 9, 16, 23], true);
        assert!(ro.error(Target::Values(&[1 << 16, -(1 << 15), 3 << 14])).is_some());
        let psi: [i32; 24] = core::array::from_fn(|i| if i % 3 == 0 { 0 } else { (i as i32) << 10 });
        for kind in [Feedback::Symmetric, Feedback::Random { seed: 99 }] {
            let (mut full, mut masked) = ([0i32; 24], [-1i32; 24]);
            ro.feedback(kind, 0, &mut full);
            ro.feedback_where(kind, 0, &psi, &mut masked);
            assert!(full.iter().any(|&v| v != 0));
            for i in 0..n {
                assert_eq!(masked[i], if psi[i] == 0 { 0 } else { full[i] }, "{kind:?} neuron {i}");
            }
        }
    }

    /// Buffers of a readout with 24 hidden neurons and 4 outputs (the specialised output count).
    #[derive(Clone)]
    struct Bufs4 {
        weights: [Weight; 96],
        r: [i32; 4],
        otrace: [u16; 24],
        err: [i32; 4],
        grad: [i64; 4],
        sat: Saturations,
        updates: u32,
    }

    impl Bufs4 {
        fn view<'a>(&'a mut self, cfg: &'a ReadoutConfig) -> ReadoutMut<'a> {
            let b = ReadoutBuffers {
                weights: &mut self.weights,
                r: &mut self.r,
                otrace: &mut self.otrace,
                err: &mut self.err,
                grad: &mut self.grad,
                sat: &mut self.sat,
                updates: &mut self.updates,
            };
            ReadoutMut::new(cfg, b, 24, 4).unwrap()
        }
    }

    /// A word that is often at an end of its range: `ends[i]` with probability 1/4, else random.
    fn pick(g: &mut XorShift32, ends: &[i64], random: i64) -> i64 {
        let u = g.next_u32();
        if u.is_multiple_of(4) {
            ends[(u >> 2) as usize % ends.len()]
        } else {
            random
        }
    }

    fn random_bufs(g: &mut XorShift32) -> Bufs4 {
        let w_ends = [i16::MIN as i64, i16::MAX as i64, -127, 127, 0, 1, -1];
        let e_ends = [i32::MIN as i64, i32::MAX as i64, 0, -1, 1, 1 << 16, -(1 << 16)];
        let t_ends = [0, 0, 0, 1, u16::MAX as i64];
        let mut b = Bufs4 {
            weights: [Weight(0); 96],
            r: [0; 4],
            otrace: [0; 24],
            err: [0; 4],
            grad: [0; 4],
            sat: Saturations::default(),
            updates: g.next_u32(),
        };
        let small = g.next_u32().is_multiple_of(2);
        for w in b.weights.iter_mut() {
            let v = g.next_u32() as i16 as i64;
            let v = if small { v % 200 } else { v };
            *w = Weight(pick(g, &w_ends, v) as i16);
        }
        for e in b.err.iter_mut() {
            let v = g.next_u32() as i32 as i64;
            let v = if small { v >> 12 } else { v };
            *e = pick(g, &e_ends, v) as i32;
        }
        for t in b.otrace.iter_mut() {
            let v = g.next_u32() as u16 as i64;
            *t = pick(g, &t_ends, v) as u16;
        }
        for r in b.r.iter_mut() {
            *r = g.next_u32() as i32 >> (g.next_u32() % 32);
        }
        b
    }

    fn cfg4(g: &mut XorShift32) -> ReadoutConfig {
        let mut f = Formats::DEFAULT;
        f.weight_bits = [8, 12, 16][g.next_u32() as usize % 3];
        f.weight_frac = [0, 6, f.weight_bits - 1][g.next_u32() as usize % 3];
        f.decay_frac = 8 + (g.next_u32() % 23) as u8;
        let one = 1u32 << f.decay_frac;
        let decay = [0, 1, one - 1, g.next_u32() % one][g.next_u32() as usize % 4];
        let cfg = ReadoutConfig {
            formats: f,
            decay: Decay(decay),
            loss: Loss::Mse,
            learning_rate: LearningRate { mant: 1, shift: 6 },
            seed: g.next_u32(),
        };
        cfg.validate(24, 4).unwrap();
        cfg
    }

    /// `shr_sat_i32(x + 2^(s−1), s)` (the feedback's shift) equals `sat_i32(shr_nearest(x, s))` for every
    /// shift 0..=31, at the ends of the i32 result (values that just fit, that just saturate, and the
    /// rounding ties around them) and for random |x| < 2⁶¹.
    #[test]
    fn feedback_shift_equals_nearest_then_saturate() {
        let mut g = XorShift32::new(0x05A7_0001);
        for s in 0..=31u32 {
            let half = (1i64 << s) >> 1;
            let check = |x: i64| {
                let want = sat_i32(shr_nearest(x, s)).0;
                assert_eq!(shr_sat_i32(x + half, s), want, "x={x} s={s}");
            };
            for base in [i32::MAX as i64, i32::MAX as i64 + 1, i32::MIN as i64, i32::MIN as i64 - 1, 0, 1, -1] {
                let one = 1i64 << s;
                for d in [-one - 1, -one, -one + 1, -half - 1, -half, -half + 1, -1, 0, 1, half - 1, half, half + 1, one - 1, one] {
                    check((base << s) + d);
                }
            }
            for _ in 0..4000 {
                let x = ((g.next_u32() as u64) << 32 | g.next_u32() as u64) as i64;
                check(x >> (3 + g.next_u32() % 60));
            }
        }
    }

    /// The ε^o decay's single multiply-add `decay_hi(t, κ·2^(32−df), r)` equals `rng::decay_stochastic(t, κ,
    /// df, r)` for every validated decay_frac (8..=30), decays 0, 1, 2^df − 1 and random below 2^df, traces
    /// and random words at their ends.
    #[test]
    fn otrace_decay_matches_decay_stochastic() {
        let mut g = XorShift32::new(0x05A7_0002);
        for df in 8..=30u32 {
            let one = 1u32 << df;
            for k in 0..6000 {
                let t = [0, 1, u16::MAX, g.next_u32() as u16][k % 4];
                let a = [0, 1, one - 1, g.next_u32() % one, g.next_u32() % one][k % 5];
                let r = [0, u32::MAX, g.next_u32()][k % 3];
                let want = rng::decay_stochastic(t, a, df, r);
                assert_eq!(rng::decay_hi(t, a << (32 - df), r), want, "t={t} a={a} df={df} r={r}");
            }
        }
    }

    /// The loops specialised for 4 outputs give the general loops' bits: the symmetric feedback
    /// (`feedback_where` vs `feedback_of` per neuron, for offsets, ragged ψ and output lengths, weights
    /// over the whole i16 range and errors over the whole i32 range), the row sums of `integrate` (vs
    /// `sum_rows`, with dropped and repeated spikes), the narrow stochastic weight update (vs
    /// `learn_rows::<true, ROUND_STOCHASTIC>`, weights past the weight range included), and the ε^o decay
    /// of `integrate` (vs `rng::decay_stochastic` with `rng::cell` as documented).
    #[test]
    fn specialised_readout_loops_match_the_general_ones() {
        let mut g = XorShift32::new(0x05A7_0003);
        // How often the interesting cases came up (each must, or the comparison proves little).
        let (mut fb_sat, mut fb_nonzero, mut dropped, mut moved, mut clamped, mut decayed) = (0, 0, 0, 0, 0, 0);
        for trial in 0..3000 {
            let cfg = cfg4(&mut g);
            let b0 = random_bufs(&mut g);

            // Feedback.
            let mut b = b0.clone();
            let ro = b.view(&cfg);
            let first = [0usize, 1, 5, 23, 24, 30][g.next_u32() as usize % 6];
            let len = [0usize, 7, 19, 24][g.next_u32() as usize % 4];
            let plen = if g.next_u32().is_multiple_of(3) { g.next_u32() as usize % 25 } else { 24 };
            let psi: [i32; 24] =
                core::array::from_fn(|_| if g.next_u32().is_multiple_of(3) { 0 } else { g.next_u32() as i32 | 1 });
            let mut out = [0x5EED_i32; 24];
            ro.feedback_where(Feedback::Symmetric, first, &psi[..plen], &mut out[..len]);
            for (i, &got) in out[..len].iter().enumerate() {
                let want = match psi[..plen].get(i) {
                    Some(&q) if q != 0 => ro.feedback_of(Feedback::Symmetric, first + i),
                    _ => 0,
                };
                assert_eq!(got, want, "trial {trial} feedback of neuron {} (first {first})", first + i);
                fb_sat += (want == i32::MAX || want == i32::MIN) as u32;
                fb_nonzero += (want != 0) as u32;
            }
            assert!(out[len..].iter().all(|&v| v == 0x5EED), "trial {trial}: wrote past the output");

            // Row sums.
            let spikes: [u16; 16] = core::array::from_fn(|_| (g.next_u32() % 30) as u16);
            let k = g.next_u32() as usize % 17;
            let (mut ba, mut bb) = (b0.clone(), b0.clone());
            let (mut ca, mut cb) = (OpCounts::default(), OpCounts::default());
            ba.view(&cfg).sum_rows_narrow::<4>(&spikes[..k], &mut ca);
            bb.view(&cfg).sum_rows(&spikes[..k], &mut cb);
            assert_eq!((ba.grad, ca, ba.sat), (bb.grad, cb, bb.sat), "trial {trial} sums of {:?}", &spikes[..k]);
            dropped += ba.sat.dropped_events;

            // Narrow stochastic weight update on packed (G, column word) factors.
            let (mut ba, mut bb) = (b0.clone(), b0.clone());
            for gk in ba.grad.iter_mut() {
                let ends = [i32::MAX as i64, -(i32::MAX as i64), 0, 1, -1];
                let v = g.next_u32() as i32 as i64 >> (g.next_u32() % 32);
                let gq = pick(&mut g, &ends, v).max(-(i32::MAX as i64));
                *gk = (gq as i32 as u32 as i64) | ((g.next_u32() as i64) << 32);
            }
            bb.grad = ba.grad;
            let ra = ba.view(&cfg).learn_rows_narrow::<4>();
            let rb = bb.view(&cfg).learn_rows::<true, ROUND_STOCHASTIC>();
            assert_eq!((ra, ba.weights), (rb, bb.weights), "trial {trial} weight update");
            moved += (ba.weights != b0.weights) as u32;
            clamped += ra.1;

            // ε^o decay of a learning integrate without spikes.
            let mut b = b0.clone();
            b.view(&cfg).integrate(&[], true);
            let step = b0.updates.wrapping_add(1);
            let key = rng::row_key(cfg.seed ^ rng::SALT_TRACE, step, 0);
            for (j, (&t, &t0)) in b.otrace.iter().zip(b0.otrace.iter()).enumerate() {
                let df = cfg.formats.decay_frac as u32;
                let want = if t0 == 0 { 0 } else { rng::decay_stochastic(t0, cfg.decay.0, df, rng::cell(key, j as u32)) };
                assert_eq!(t, want, "trial {trial} ε^o of neuron {j}");
                decayed += (t != 0 && t != t0) as u32;
            }
        }
        let seen = [
            ("saturated feedback", fb_sat),
            ("non-zero feedback", fb_nonzero),
            ("dropped spikes", dropped),
            ("updated rows", moved),
            ("clamped weights", clamped),
            ("decayed traces", decayed),
        ];
        for (what, n) in seen {
            assert!(n > 50, "only {n} cases of {what}");
        }
    }
}
