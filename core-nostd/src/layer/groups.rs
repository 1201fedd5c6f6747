//! Axon groups: consecutive ranges of a layer's axons, each with its own weight shift and its own
//! STD/STP (a graph's projections: `es-d-rtrl.md` §8.2, "i8 mantissa and a per-projection shift", and
//! §1.5, STD/STP on the axons whose projection has it). Set by [`LayerMut::set_axon_groups`]; a layer
//! without groups runs the loops of `layer.rs` unchanged.
//!
//! # Arithmetic of a group with shift s (0..=[`MAX_WEIGHT_SHIFT`])
//! * A stored mantissa m is the weight m·2^s in the layer's weight LSBs, i.e. w = m·2^(s − weight_frac).
//! * **integrate**: the row adds (m·x)·2^s to the dendritic sum, x = 1 (binary spike; 2^12 when some
//!   group of the layer has STD/STP) or the axon's released efficacy rounded to 12 bits (**nearest**)
//!   when its group has STD/STP. **Exact**: [`LayerMut::set_axon_groups`] proves the sum cannot
//!   overflow an i32 (axons · max|m| · 2^(largest s) · 2^frac ≤ 2³¹ − 1; a repeated axon adds its row once
//!   per event, at most `axons` events per step, so this covers the worst case), else refuses.
//! * **learn** (online): the update of the layer's formats, ΔW·2⁻ˢ in mantissa LSBs:
//!   d = ⌊(⌊x·G / 2ˢ⌋ + r) / 2³²⌋ for stochastic rounding (r the 32-bit word of today's loops), i.e.
//!   ⌊(x·G + r·2ˢ) / 2^(32+s)⌋: the extra shift is folded into the one right shift, so it stays
//!   stochastic rounding with expectation x·G·2^−(32+s) to within 2⁻³² LSB (the truncation of x·G at
//!   2ˢ, as today's expectation is exact to the 2⁻³² LSB of G). Nearest and truncate round x·G·2^−(32+s)
//!   exactly. The mantissa **saturates** at ±(2^(b−1) − 1) of its storage (counted), as without groups.
//!   The rows of a group with s > 0 (and every row of a grouped layer) take the listed or compressed
//!   loop, not the bucketed one of `layer/buckets.rs`, whose "update can be non-zero" bound assumes
//!   s = 0 (its bound stays valid for s > 0, since |⌊x·G/2ˢ⌋| ≤ |x·G|, but it is not used here).
//! * **apply_accumulated**: the accumulator holds ΔW in layer LSB·2⁻¹⁶; a row of shift s adds
//!   acc·2^−(16+s) mantissa LSBs, stochastically with a (16+s)-bit word (the cell word ≫ (16 − s)):
//!   exact stochastic rounding. With s = 0 every formula above is today's, bit for bit.
//! * The bias, the traces and the learning signal do not depend on the groups.

use super::{unpack, LayerMut, OpCounts};
use crate::arith::{clamp_i64, shift_nearest, shr_nearest};
use crate::error::{check_range, ConfigError, Field};
use crate::format::{round_shift, WeightStore, ACC_EFF_FRAC, EFF_FRAC, ROUND_NEAREST, ROUND_STOCHASTIC, ROUND_TRUNCATE};
use crate::format::Rounding;
use crate::neuron::NeuronKind;
use crate::presyn::{Presyn, PresynKind};
use crate::rng;

/// Largest weight shift of an axon group (a projection): a mantissa then counts 2¹⁵ weight LSBs, the
/// range of a 16-bit mantissa with an 8-bit one.
pub const MAX_WEIGHT_SHIFT: u8 = 15;
/// Most axon groups of one layer (a graph's projections onto one population).
pub const MAX_AXON_GROUPS: usize = crate::graph::MAX_PROJECTIONS;

/// A range of a layer's axons with its own weight shift and STD/STP (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AxonGroup {
    /// First axon.
    pub start: u32,
    /// One past the last axon.
    pub end: u32,
    /// Weight shift s, 0..=[`MAX_WEIGHT_SHIFT`]: a stored mantissa m means m·2^s weight LSBs.
    pub shift: u8,
    /// STD/STP of these axons ([`PresynKind::None`]: spikes enter as 1.0 and the group has no state).
    pub presyn: PresynKind,
    /// First entry of the group's STD/STP states and efficacies in the layer's buffers (`end − start`
    /// entries; groups with STD/STP in axon order, packed; unused without STD/STP).
    pub state: u32,
}

impl AxonGroup {
    /// An empty group (axons 0..0, shift 0, no STD/STP): a filler for fixed-size arrays, refused by
    /// [`LayerMut::set_axon_groups`].
    pub const EMPTY: AxonGroup = AxonGroup { start: 0, end: 0, shift: 0, presyn: PresynKind::None, state: 0 };

    fn width(&self) -> usize {
        (self.end - self.start) as usize
    }
    fn has_presyn(&self) -> bool {
        !matches!(self.presyn, PresynKind::None)
    }
}

/// The group holding axon `a` (groups are consecutive from axon 0, checked by `set_axon_groups`).
#[inline(always)]
fn group_of(groups: &[AxonGroup], a: usize) -> Option<&AxonGroup> {
    groups.iter().find(|g| a < g.end as usize)
}

/// STD/STP state index of axon `a`, if its group has STD/STP.
#[inline(always)]
fn state_of(groups: &[AxonGroup], a: usize) -> Option<usize> {
    group_of(groups, a).filter(|g| g.has_presyn()).map(|g| g.state as usize + a - g.start as usize)
}

/// Initial STD/STP state of every group that has one.
#[cold]
#[inline(never)]
pub(super) fn reset_presyn(groups: &[AxonGroup], presyn: &mut [[i32; 2]]) {
    for g in groups {
        let init = match g.presyn {
            PresynKind::None => continue,
            PresynKind::Depression(m) => m.init(),
            PresynKind::Facilitation(m) => m.init(),
        };
        let s = g.state as usize;
        if let Some(st) = presyn.get_mut(s..s + g.width()) {
            st.fill(init);
        }
    }
}

/// One synapse of the online update of a row with shift `s`: [`super::update_cell`]'s arithmetic with
/// the extra right shift (module docs); identical to it for s = 0. Returns whether it saturated.
#[inline(always)]
fn update_cell_shifted<W: WeightStore, const NARROW: bool, const M: u8>(w: &mut W, x: u16, p: i64, key: u32, wmax: i32, s: u32) -> bool {
    let (g, cw) = unpack(p);
    let r = (key ^ cw) as i64;
    let xg = if NARROW { (x as i32 as i64) * (g as i32 as i64) } else { x as i64 * g };
    // |x·G| < 2⁶³: ⌊x·G/2ˢ⌋ + r cannot overflow, and the result fits an i32 (< 2³¹).
    let d = if M == ROUND_STOCHASTIC { ((xg >> s) + r) >> 32 } else { round_shift::<M>(xg, 32 + s, 0) };
    let v = w.get().saturating_add(d as i32);
    let c = v.clamp(-wmax, wmax);
    *w = W::from_clamped(c);
    c != v
}

impl<'a, W: WeightStore> LayerMut<'a, W> {
    /// Give the axons per-range weight shifts and STD/STP: `groups` must cover axons `0..axons` in
    /// order with consecutive ranges (at most [`MAX_AXON_GROUPS`]); each group's shift is
    /// 0..=[`MAX_WEIGHT_SHIFT`]; the groups with STD/STP hold their state at consecutive offsets
    /// `state` from 0, and the layer's STD/STP buffers have exactly their total width. If the
    /// configuration has STD/STP ([`LayerConfig::presyn`](super::LayerConfig::presyn) not `None`), every
    /// group must have that same kind. The dendritic sum then has 12 extra fractional bits exactly when
    /// some group has STD/STP. Refuses (and changes nothing) if the dendritic sum could overflow
    /// (module docs: axons · max|m| · 2^(largest shift) · 2^frac > 2³¹ − 1), or a Loihi CUBA layer
    /// is given STD/STP. See the module docs for the arithmetic; a single group of shift 0 with the
    /// configuration's STD/STP gives the bits of a layer without groups.
    pub fn set_axon_groups(&mut self, groups: &'a [AxonGroup]) -> Result<(), ConfigError> {
        check_range(Field::Projection, groups.len() as i64, 1, MAX_AXON_GROUPS as i64)?;
        let (mut next, mut state, mut any, mut smax) = (0u32, 0u32, false, 0u32);
        for g in groups {
            if g.start != next || g.end <= g.start {
                return Err(ConfigError::SizeMismatch { field: Field::Axons, expected: next as usize, found: g.start as usize });
            }
            check_range(Field::WeightShift, g.shift as i64, 0, MAX_WEIGHT_SHIFT as i64)?;
            if !matches!(self.cfg.presyn, PresynKind::None) && g.presyn != self.cfg.presyn {
                return Err(ConfigError::Inconsistent { field: Field::Presyn, with: Field::Projection });
            }
            if g.has_presyn() {
                if matches!(self.cfg.neuron, NeuronKind::LoihiCuba(_)) {
                    return Err(ConfigError::Unsupported { field: Field::Presyn });
                }
                if g.state != state {
                    return Err(ConfigError::SizeMismatch { field: Field::Presyn, expected: state as usize, found: g.state as usize });
                }
                state += g.end - g.start;
                any = true;
            }
            smax = smax.max(g.shift as u32);
            next = g.end;
        }
        if next as usize != self.axons {
            return Err(ConfigError::SizeMismatch { field: Field::Axons, expected: self.axons, found: next as usize });
        }
        if state as usize != self.b.presyn.len() {
            return Err(ConfigError::SizeMismatch { field: Field::Buffer, expected: state as usize, found: self.b.presyn.len() });
        }
        let frac = if any { ACC_EFF_FRAC } else { 0 };
        // axons < 2¹⁶, max|m| < 2¹⁵, shift ≤ 15, frac ≤ 12: < 2⁵⁸, exact in u64.
        let bound = ((self.axons as u64) * (self.cfg.formats.weight_max() as u64)) << (smax + frac);
        if bound > i32::MAX as u64 {
            return Err(ConfigError::AccumulatorOverflow { axons: self.axons, weight_bits: self.cfg.formats.weight_bits });
        }
        self.groups = Some(groups);
        self.fractional = any;
        Ok(())
    }

    /// The axon groups, if set.
    pub fn axon_groups(&self) -> Option<&[AxonGroup]> {
        self.groups
    }

    /// [`LayerMut::integrate`] with groups (module docs): the same events, drops and order as without.
    /// Out of line and cold, so that the default loops' code (the firmware's) is not changed by it.
    #[cold]
    #[inline(never)]
    pub(super) fn integrate_grouped(&mut self, active: &[u16], learn: bool) -> OpCounts {
        let mut c = OpCounts::default();
        let Some(groups) = self.groups else { return c };
        let n = self.n;
        // STD/STP: mark the active axons that have it in the sign bit of slot 0 (a duplicate marks once),
        // then step every axon of every group with STD/STP once.
        for &a in active {
            if let Some(st) = state_of(groups, a as usize).and_then(|i| self.b.presyn.get_mut(i)) {
                if st[0] >= 0 {
                    st[0] = -st[0] - 1;
                }
            }
        }
        for g in groups {
            let r = g.state as usize..g.state as usize + g.width();
            let (Some(st), Some(eff)) = (self.b.presyn.get_mut(r.clone()), self.b.efficacy.get_mut(r)) else { continue };
            match g.presyn {
                PresynKind::None => continue,
                PresynKind::Depression(m) => super::step_all(&m, st, eff),
                PresynKind::Facilitation(m) => super::step_all(&m, st, eff),
            }
            c.presyn_updates += g.width() as u32;
        }
        let one = 1i32 << self.acc_frac();
        let mut taken = 0usize;
        for &a in active {
            let a = a as usize;
            if a >= self.axons || taken == self.axons {
                self.b.scalars.sat.dropped_events = self.b.scalars.sat.dropped_events.saturating_add(1);
                continue;
            }
            taken += 1;
            let Some(g) = group_of(groups, a) else { continue };
            // Efficacy rounded to 12 bits (nearest); the shifted products are exact in i32 by the bound
            // `set_axon_groups` proved.
            let x = match state_of(groups, a).and_then(|i| self.b.efficacy.get(i)) {
                Some(&e) => shr_nearest(e as i64, EFF_FRAC - ACC_EFF_FRAC) as i32,
                None => one,
            };
            let s = g.shift as u32;
            match self.topo {
                None => {
                    let Some(row) = self.b.weights.get(a * n..(a + 1) * n) else { continue };
                    if x == 1 && s == 0 {
                        for (acc, w) in self.b.acc.iter_mut().zip(row) {
                            *acc += w.get();
                        }
                    } else {
                        for (acc, w) in self.b.acc.iter_mut().zip(row) {
                            *acc += (w.get() * x) << s;
                        }
                    }
                    c.syn_ops += n as u32;
                }
                Some(csr) => {
                    let (s0, e0) = csr.range(a);
                    let (Some(cols), Some(ws)) = (csr.cols.get(s0..e0), self.b.weights.get(s0..e0)) else { continue };
                    // `wrapping_add` as in `integrate`: only a structure broken after validation could
                    // need it.
                    for (&col, w) in cols.iter().zip(ws) {
                        if let Some(acc) = self.b.acc.get_mut(col as usize) {
                            *acc = acc.wrapping_add((w.get() * x) << s);
                        }
                    }
                    c.syn_ops += (e0 - s0) as u32;
                }
            }
            c.events_in += 1;
        }
        if learn {
            self.input_traces_grouped(groups, active);
            c.trace_updates += self.plastic as u32;
        }
        c
    }

    /// ε^x ← α·ε^x + x with groups: x = 1.0, or the released efficacy for an axon with STD/STP (the
    /// rounding and saturation of [`LayerMut::integrate`]).
    fn input_traces_grouped(&mut self, groups: &[AxonGroup], active: &[u16]) {
        let fmt = self.cfg.formats;
        let step = self.b.scalars.updates.wrapping_add(1);
        self.b.scalars.updates = step;
        let alpha = self.cfg.trace_decay.0;
        let df = fmt.decay_frac as u32;
        let key = rng::row_key(self.cfg.seed ^ rng::SALT_TRACE, step, 0);
        for (i, t) in self.b.xtrace.iter_mut().enumerate() {
            if *t != 0 {
                *t = rng::decay_stochastic(*t, alpha, df, rng::cell(key, i as u32));
            }
        }
        let max = fmt.trace_max();
        let tf = fmt.trace_frac as u32;
        for &a in active.iter().filter(|&&a| (a as usize) < self.axons).take(self.axons) {
            let a = a as usize;
            if a >= self.plastic {
                continue;
            }
            let x = match state_of(groups, a).and_then(|i| self.b.efficacy.get(i)) {
                Some(&e) => shift_nearest(e as i64, tf as i32 - EFF_FRAC as i32).max(0) as u32,
                None => 1u32 << tf,
            };
            let Some(t) = self.b.xtrace.get_mut(a) else { continue };
            let v = *t as u32 + x;
            if v > max {
                *t = max as u16;
                self.b.scalars.sat.xtrace = self.b.scalars.sat.xtrace.saturating_add(1);
            } else {
                *t = v as u16;
            }
        }
    }

    /// [`LayerMut::learn`]'s bias update and weight loops with groups, per (width, rounding mode). Out of
    /// line and cold, as [`LayerMut::integrate_grouped`].
    #[cold]
    #[inline(never)]
    pub(super) fn learn_grouped(&mut self, groups: &[AxonGroup], active_cols: usize, narrow: bool) -> OpCounts {
        let biases = if self.learns_bias() { self.learn_bias_online() } else { 0 };
        let (sat, pairs) = match (narrow, self.rounding) {
            (true, Rounding::Stochastic) => self.learn_grouped_rows::<true, ROUND_STOCHASTIC>(groups, active_cols),
            (false, Rounding::Stochastic) => self.learn_grouped_rows::<false, ROUND_STOCHASTIC>(groups, active_cols),
            (true, Rounding::Nearest) => self.learn_grouped_rows::<true, ROUND_NEAREST>(groups, active_cols),
            (false, Rounding::Nearest) => self.learn_grouped_rows::<false, ROUND_NEAREST>(groups, active_cols),
            (true, Rounding::Truncate) => self.learn_grouped_rows::<true, ROUND_TRUNCATE>(groups, active_cols),
            (false, Rounding::Truncate) => self.learn_grouped_rows::<false, ROUND_TRUNCATE>(groups, active_cols),
        };
        self.b.scalars.sat.weight = self.b.scalars.sat.weight.saturating_add(sat);
        OpCounts { weight_updates: pairs + biases, ..OpCounts::default() }
    }

    /// Every row with ε^x ≠ 0, group by group with its shift: compressed rows visit their listed
    /// synapses with G ≠ 0; dense rows visit the active columns, listed once in the dendritic
    /// accumulator (empty between `fire` and the next `integrate`, emptied again here). Returns
    /// (saturations, updated pairs) counted as without groups.
    #[inline(never)]
    fn learn_grouped_rows<const NARROW: bool, const M: u8>(&mut self, groups: &[AxonGroup], active_cols: usize) -> (u32, u32) {
        let upd = self.b.scalars.updates;
        let n = self.n;
        let wmax = self.cfg.formats.weight_max();
        let seed = self.cfg.seed;
        let (mut sat, mut pairs) = (0u32, 0u32);
        let mut k = 0usize;
        if self.topo.is_none() {
            for (j, &g) in self.b.grad.iter().enumerate() {
                if unpack(g).0 != 0 {
                    if let Some(slot) = self.b.acc.get_mut(k) {
                        *slot = j as i32;
                        k += 1;
                    }
                }
            }
        }
        let mut rows = 0u32;
        for g in groups {
            let s = g.shift as u32;
            for i in g.start as usize..g.end as usize {
                let x = self.b.xtrace.get(i).copied().unwrap_or(0);
                if x == 0 {
                    continue;
                }
                let key = rng::row_key(seed, upd, i as u32);
                match self.topo {
                    Some(csr) => {
                        let (s0, e0) = csr.range(i);
                        let (Some(cols), Some(ws)) = (csr.cols.get(s0..e0), self.b.weights.get_mut(s0..e0)) else { continue };
                        for (&j, w) in cols.iter().zip(ws) {
                            let p = self.b.grad.get(j as usize).copied().unwrap_or(0);
                            if unpack(p).0 == 0 {
                                continue;
                            }
                            pairs += 1;
                            sat += update_cell_shifted::<W, NARROW, M>(w, x, p, key, wmax, s) as u32;
                        }
                    }
                    None => {
                        rows += 1;
                        let Some(row) = self.b.weights.get_mut(i * n..(i + 1) * n) else { continue };
                        for &j in &self.b.acc[..k] {
                            let (Some(w), Some(&p)) = (row.get_mut(j as usize), self.b.grad.get(j as usize)) else { continue };
                            sat += update_cell_shifted::<W, NARROW, M>(w, x, p, key, wmax, s) as u32;
                        }
                    }
                }
            }
        }
        if self.topo.is_none() {
            self.b.acc[..k].fill(0);
            pairs = rows * active_cols as u32;
        }
        (sat, pairs)
    }

    /// The weight part of [`LayerMut::apply_accumulated`] with groups, per rounding mode.
    #[cold]
    #[inline(never)]
    pub(super) fn apply_rows_grouped(&mut self, acc: &mut [i32]) -> (u32, u32) {
        let Some(groups) = self.groups else { return (0, 0) };
        match self.rounding {
            Rounding::Stochastic => self.apply_grouped::<ROUND_STOCHASTIC>(groups, acc),
            Rounding::Nearest => self.apply_grouped::<ROUND_NEAREST>(groups, acc),
            Rounding::Truncate => self.apply_grouped::<ROUND_TRUNCATE>(groups, acc),
        }
    }

    /// W += acc·2^−(16+s) per row of shift s (module docs), **saturating** (counted); clears `acc`.
    fn apply_grouped<const M: u8>(&mut self, groups: &[AxonGroup], acc: &mut [i32]) -> (u32, u32) {
        let upd = self.b.scalars.updates;
        let n = self.n;
        let wmax = self.cfg.formats.weight_max() as i64;
        let (mut sat, mut count) = (0u32, 0u32);
        for g in groups {
            let s = g.shift as u32;
            for i in g.start as usize..g.end as usize {
                let key = rng::row_key(self.cfg.seed ^ rng::SALT_APPLY, upd, i as u32);
                let (s0, e0) = match self.topo {
                    None => (i * n, (i + 1) * n),
                    Some(csr) => csr.range(i),
                };
                let (Some(row), Some(arow)) = (self.b.weights.get_mut(s0..e0), acc.get_mut(s0..e0)) else { continue };
                for (k, (w, a)) in row.iter_mut().zip(arow.iter_mut()).enumerate() {
                    if *a == 0 {
                        continue;
                    }
                    let j = match self.topo {
                        None => k,
                        Some(csr) => csr.cols.get(s0 + k).copied().unwrap_or(0) as usize,
                    };
                    count += 1;
                    // A (16 + s)-bit stochastic word (s ≤ 15): the cell word's top bits, as without
                    // groups for s = 0.
                    let r = rng::cell(key, self.offset.wrapping_add(j as u32)) >> (16 - s);
                    let d = round_shift::<M>(*a as i64, 16 + s, r as i64);
                    let (v, st) = clamp_i64(w.get() as i64 + d, -wmax, wmax);
                    sat += st as u32;
                    *w = W::from_clamped(v as i32);
                    *a = 0;
                }
            }
        }
        (sat, count)
    }
}
