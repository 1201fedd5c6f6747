//! Frozen (non-learning) sparse synapses in compact form, and the **integrate** phase over them.
//!
//! A layer that never learns does not need 16-bit weights or the per-synapse room for updates: a
//! [`FrozenCsr`] holds its synapses as compressed rows of `i8` weights and `u16` local columns (3 bytes
//! per synapse instead of 4), validated once. [`LayerMut::integrate_frozen`] adds the rows of the active
//! axons from it and does everything else of [`LayerMut::integrate`] (STD/STP, dropped events, ε^x)
//! unchanged, so a layer integrated from a `FrozenCsr` built from its own weights gives **the same
//! accumulator bits** as [`LayerMut::integrate`]: the sums are the same wrapping i32 additions (which
//! commute, so no order of rows or synapses can change them), of the same values (an `i8` holds every
//! weight of at most 8 bits exactly). `tests/frozen.rs` checks this on random layers.
//!
//! The synapse memory of a large network does not fit in a host's caches, and each active row starts at
//! an address the hardware prefetcher cannot guess. A [`RowHint`] is told of the row `AHEAD` events
//! before it is read, so it can ask the memory system for it early (a software prefetch, outside this
//! crate, which has no `unsafe`); it receives shared slices only and cannot change any result.

use super::{Buffers, LayerConfig, LayerMut, OpCounts};
use crate::arith::shr_nearest;
use crate::error::{ConfigError, Field};
use crate::format::{Weight, ACC_EFF_FRAC, EFF_FRAC};
use crate::layer::Csr;
use crate::presyn::PresynKind;

/// Fixed sparse synapses of `axons` × `neurons`, compressed rows of `i8` weights and `u16` columns, in
/// storage the caller owns (`Vec`s on a host, arrays or flash on a chip). Validated once by
/// [`FrozenCsr::new`]; it gives no mutable access, so it stays valid.
///
/// Row `a` is `cols[row_start[a]..row_start[a + 1]]` (strictly increasing local neuron indices) with
/// `weights[..]` at the same positions, as [`Csr`].
#[derive(Clone, Debug)]
pub struct FrozenCsr<R, C, W> {
    row_start: R,
    cols: C,
    weights: W,
    axons: usize,
    neurons: usize,
}

impl<R: AsRef<[u32]>, C: AsRef<[u16]>, W: AsRef<[i8]>> FrozenCsr<R, C, W> {
    /// Check the structure for `axons` × `neurons` ([`Csr::validate`], O(synapses)) and that there is
    /// one weight per synapse.
    pub fn new(row_start: R, cols: C, weights: W, axons: usize, neurons: usize) -> Result<Self, ConfigError> {
        Csr { row_start: row_start.as_ref(), cols: cols.as_ref() }.validate(axons, neurons)?;
        if weights.as_ref().len() != cols.as_ref().len() {
            return Err(ConfigError::SizeMismatch {
                field: Field::Buffer,
                expected: cols.as_ref().len(),
                found: weights.as_ref().len(),
            });
        }
        Ok(FrozenCsr { row_start, cols, weights, axons, neurons })
    }

    /// Presynaptic axons.
    pub fn axons(&self) -> usize {
        self.axons
    }

    /// Local neurons.
    pub fn neurons(&self) -> usize {
        self.neurons
    }

    /// Stored synapses.
    pub fn synapses(&self) -> usize {
        self.cols.as_ref().len()
    }

    /// The structure as a [`Csr`] (row offsets and columns).
    pub fn csr(&self) -> Csr<'_> {
        Csr { row_start: self.row_start.as_ref(), cols: self.cols.as_ref() }
    }

    /// The weights, in CSR order.
    pub fn weights(&self) -> &[i8] {
        self.weights.as_ref()
    }

    /// Weight `k` (CSR order) as a [`Weight`] (exact).
    pub fn weight(&self, k: usize) -> Option<Weight> {
        self.weights.as_ref().get(k).map(|&w| Weight(w as i16))
    }

    /// The columns and weights of row `a` (empty for `a ≥ axons`).
    #[inline(always)]
    pub fn row(&self, a: usize) -> (&[u16], &[i8]) {
        let rs = self.row_start.as_ref();
        let (s, e) = match (rs.get(a), rs.get(a + 1)) {
            (Some(&s), Some(&e)) => (s as usize, e as usize),
            _ => (0, 0),
        };
        // Validated: s ≤ e ≤ synapses, so both `get`s hit; they only keep the datapath free of panics.
        (self.cols.as_ref().get(s..e).unwrap_or(&[]), self.weights.as_ref().get(s..e).unwrap_or(&[]))
    }

    /// The storage back.
    pub fn into_parts(self) -> (R, C, W) {
        (self.row_start, self.cols, self.weights)
    }
}

/// Copy a sparse layer's `i16` weights (CSR order, as [`LayerMut::new_sparse`] takes them) into `out`
/// as `i8`. Fails, naming the first, if a weight does not fit in 8 bits (`weight_bits` > 8).
pub fn compact_weights(weights: &[Weight], out: &mut [i8]) -> Result<(), ConfigError> {
    if out.len() != weights.len() {
        return Err(ConfigError::SizeMismatch { field: Field::Buffer, expected: weights.len(), found: out.len() });
    }
    for (o, w) in out.iter_mut().zip(weights) {
        *o = i8::try_from(w.0).map_err(|_| ConfigError::OutOfRange {
            field: Field::Weight,
            value: w.0 as i64,
            min: i8::MIN as i64,
            max: i8::MAX as i64,
        })?;
    }
    Ok(())
}

/// Told which synapse rows [`LayerMut::integrate_frozen`] will read soon: row k + `AHEAD` of the event
/// list just before row k is summed. Implementations may touch or prefetch the memory; they see shared
/// slices only, so they cannot change a result. `()` does nothing.
///
/// A host may also take over the summing of a row ([`RowHint::add_row`]) with a vector kernel this
/// crate cannot hold (it has no `unsafe` and no CPU-specific code); the default leaves it to the core.
pub trait RowHint {
    /// How many events ahead the hint is given (≥ 1).
    const AHEAD: usize = 2;
    /// Row `cols` / `weights` will be read soon.
    fn upcoming(&mut self, cols: &[u16], weights: &[i8]);
    /// Optionally sum one unscaled row: `acc[c] = acc[c].wrapping_add(w as i32)` for every synapse
    /// (`cols[i]`, `weights[i]`) with `c < acc.len()`, and return `true`; return `false` (the default)
    /// to leave the row to the core's own loop. The columns are strictly increasing (validated by
    /// [`FrozenCsr::new`]). An implementation **must give the same bits** as the core's loop; because
    /// wrapping adds commute, any order or grouping of the adds does (the emulator's AVX-512 kernel is
    /// checked against this loop in its `tests/simd.rs`).
    #[inline(always)]
    fn add_row(&mut self, acc: &mut [i32], cols: &[u16], weights: &[i8]) -> bool {
        let _ = (acc, cols, weights);
        false
    }
}

impl RowHint for () {
    #[inline(always)]
    fn upcoming(&mut self, _cols: &[u16], _weights: &[i8]) {}
}

impl<'a> LayerMut<'a> {
    /// A layer with **no synapses of its own** (`b.weights` empty), for a core whose synapses are all in
    /// a [`FrozenCsr`]: its `integrate` adds nothing and its `learn`, `accumulate` and
    /// `apply_accumulated` change nothing (there is no weight to change); [`LayerMut::integrate_frozen`]
    /// integrates. Checks the buffer lengths as [`LayerMut::new`], in O(1).
    pub fn new_frozen(
        cfg: &'a LayerConfig,
        b: Buffers<'a>,
        axons: usize,
        neurons: usize,
        neuron_offset: u32,
    ) -> Result<Self, ConfigError> {
        // An empty structure: every row range is (0, 0) (`Csr::range`), so no phase reads a synapse.
        Self::build(cfg, b, Some(Csr { row_start: &[], cols: &[] }), axons, neurons, neuron_offset)
    }

    /// Phase **integrate** with the synapses read from `syn` instead of the layer's own buffers (which
    /// this call does not read; a frozen core's layer has none, see [`LayerMut::new_frozen`]): STD/STP,
    /// dropped events, the learning step counter and ε^x exactly as [`LayerMut::integrate`], and the
    /// same dendritic sums. Overflow: the sums **wrap** in i32, as the CSR path's; when every |w| is
    /// within the format's `weight_max` the validated bound (axons · weight_max · 2^acc_frac < 2³¹)
    /// means they never do (`syn` is not checked against the format: a wider weight gives a wrong sum,
    /// never a panic). `hint` is told of upcoming rows. Fails only if `syn` is not `axons` × `neurons`
    /// of this layer.
    pub fn integrate_frozen<R, C, W, H>(
        &mut self,
        syn: &FrozenCsr<R, C, W>,
        active: &[u16],
        learn: bool,
        hint: &mut H,
    ) -> Result<OpCounts, ConfigError>
    where
        R: AsRef<[u32]>,
        C: AsRef<[u16]>,
        W: AsRef<[i8]>,
        H: RowHint,
    {
        if syn.axons != self.axons || syn.neurons != self.n {
            return Err(ConfigError::SizeMismatch {
                field: Field::Buffer,
                expected: self.axons * self.n,
                found: syn.axons * syn.neurons,
            });
        }
        let mut c = OpCounts::default();
        let fractional = !matches!(self.cfg.presyn, PresynKind::None);
        if fractional {
            self.presyn_step(active);
            c.presyn_updates = self.axons as u32;
        }
        let ahead = H::AHEAD.max(1);
        let mut taken = 0usize;
        for (k, &a) in active.iter().enumerate() {
            if let Some(&b) = active.get(k + ahead) {
                let (cols, ws) = syn.row(b as usize);
                hint.upcoming(cols, ws);
            }
            let a = a as usize;
            // The same event filter as `integrate`.
            if a >= self.axons || taken == self.axons {
                self.b.scalars.sat.dropped_events = self.b.scalars.sat.dropped_events.saturating_add(1);
                continue;
            }
            taken += 1;
            let (cols, ws) = syn.row(a);
            if fractional {
                // Efficacy rounded to 12 bits (nearest), as `integrate`.
                let x = shr_nearest(self.b.efficacy.get(a).copied().unwrap_or(0) as i64, EFF_FRAC - ACC_EFF_FRAC) as i32;
                add_row_scaled(self.b.acc, cols, ws, x);
            } else if !hint.add_row(self.b.acc, cols, ws) {
                add_row(self.b.acc, cols, ws);
            }
            c.syn_ops += cols.len() as u32;
            c.events_in += 1;
        }
        if learn {
            self.input_traces(active, fractional);
            c.trace_updates += self.axons as u32;
        }
        Ok(c)
    }
}

/// acc[col] += w over one row (wrapping; validated columns are < `acc.len()`, so `get_mut` never misses).
/// Four synapses per iteration: their columns differ (strictly increasing), so the four read-modify-
/// writes are independent and overlap.
#[inline(always)]
fn add_row(acc: &mut [i32], cols: &[u16], ws: &[i8]) {
    let mut cc = cols.chunks_exact(4);
    let mut wc = ws.chunks_exact(4);
    for (c4, w4) in (&mut cc).zip(&mut wc) {
        for i in 0..4 {
            if let Some(p) = acc.get_mut(c4[i] as usize) {
                *p = p.wrapping_add(w4[i] as i32);
            }
        }
    }
    for (&c, &w) in cc.remainder().iter().zip(wc.remainder()) {
        if let Some(p) = acc.get_mut(c as usize) {
            *p = p.wrapping_add(w as i32);
        }
    }
}

/// acc[col] += w·x over one row (|w·x| ≤ 127·2^12: exact in i32; the sum wraps as in `integrate`).
#[inline(always)]
fn add_row_scaled(acc: &mut [i32], cols: &[u16], ws: &[i8], x: i32) {
    for (&c, &w) in cols.iter().zip(ws) {
        if let Some(p) = acc.get_mut(c as usize) {
            *p = p.wrapping_add((w as i32).wrapping_mul(x));
        }
    }
}
