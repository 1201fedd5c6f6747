//! Placement of a graph: every population split into contiguous slices, one slice per core, plus one
//! core for the readout, checked against every per-core limit of the chip; and the routing tables that
//! follow from it.
//!
//! Per-core counts (nengo-loihi's accounting, `hardware.md` §1.2), for a core holding neurons
//! `first..first + len` of population p:
//! * **neurons**: `len`;
//! * **input axons**: the axons of p that reach the core: the width of every dense incoming projection,
//!   and the rows of a compressed one with at least one synapse on the core (axons of other populations
//!   are never there);
//! * **output axons**: `len` × the destination cores of the core's routing entry (one axon per local
//!   neuron and destination core, as Loihi's output axons);
//! * **synapse memory**: Σ over p's rows of [`ChipDesc::row_bits`] with the row's synapses on the core
//!   (every synapse of a dense population, or on a chip with a dense synapse array);
//! * **weight bits**: the population's weight format must fit the chip's synapse word.
//!
//! Routing (Loihi's axon routing, `hardware.md`): a spike leaves its core as **one packet per destination
//! core** of the source core's [`RouteEntry`] list; the destination core fans it out to the projections
//! listed in the entry. The destinations of a core are the cores holding at least one synapse from its
//! slice through some projection (every core of the target population for a dense projection), plus
//! the readout core when the population feeds the readout. Nothing is broadcast.

use crate::chip::{ChipDesc, SynEncoding};
use crate::error::EmuError;
use crate::graph::spec::GraphNetworkSpec;
use crate::mapping::CoreUsage;
use plasticore_core::graph::{Layout, Source};

/// One core's slice: neurons `first..first + len` of `population`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PopSlice {
    /// Population index.
    pub population: usize,
    /// First population-local neuron.
    pub first: usize,
    /// Number of neurons (≥ 1).
    pub len: usize,
}

/// Where everything of a graph lives: logical core i holds `cores[i]`; the readout is on logical core
/// `readout_core` (its own core, or shared with a population slice on a full chip). Logical core i is
/// physical core `placement[i]` when a placement is given ([`GraphMapping::placed`]), else `i · stride`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphMapping {
    /// Slices in logical core order (any population order; each population's slices must cover it
    /// contiguously, see [`check`]).
    pub cores: Vec<PopSlice>,
    /// Logical core of the readout.
    pub readout_core: usize,
    /// Physical core of logical core i = i · stride (≥ 1), unless `placement` is given.
    pub stride: usize,
    /// Explicit placement: the physical core of each logical core (`cores_used()` distinct entries,
    /// each below the chip's core count; checked by [`check`]), or empty for `i · stride`.
    pub placement: Vec<usize>,
}

/// One destination of a source core's spikes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteEntry {
    /// Logical destination core.
    pub dst: usize,
    /// Projections (indices into `GraphConfig::projections`) through which the spike reaches synapses
    /// on that core.
    pub projections: Vec<usize>,
    /// The readout lives on that core and reads the spike.
    pub readout: bool,
}

impl GraphMapping {
    /// Slices of the given lengths per population (population order, then slice order), the readout on
    /// the next free core (or the last one when the chip has `cores` or fewer).
    pub fn from_lengths(lengths: &[Vec<usize>], cores: usize) -> GraphMapping {
        let mut out = Vec::new();
        for (p, ls) in lengths.iter().enumerate() {
            let mut first = 0;
            for &len in ls {
                out.push(PopSlice { population: p, first, len });
                first += len;
            }
        }
        let readout_core = if out.len() < cores { out.len() } else { out.len().saturating_sub(1) };
        GraphMapping { cores: out, readout_core, stride: 1, placement: Vec::new() }
    }

    /// The same slices with logical core i on physical core `placement[i]` (one entry per logical core
    /// in use, all distinct; [`check`] rejects anything else, naming the limit).
    pub fn placed(mut self, placement: Vec<usize>) -> GraphMapping {
        self.placement = placement;
        self
    }

    /// The same slices with logical core i on physical core i · `stride`.
    pub fn spread(mut self, stride: usize) -> GraphMapping {
        self.stride = stride.max(1);
        self
    }

    /// Logical cores in use.
    pub fn cores_used(&self) -> usize {
        self.cores.len().max(self.readout_core + 1)
    }

    /// Physical core of logical core `i` (`placement[i]`, or `i · stride` without a placement).
    pub fn physical(&self, i: usize) -> usize {
        match self.placement.get(i) {
            Some(&p) => p,
            None => i.saturating_mul(self.stride.max(1)),
        }
    }

    /// Physical cores the mapping spans (one past the highest physical core in use).
    pub fn cores_spanned(&self) -> usize {
        (0..self.cores_used().max(1)).map(|i| self.physical(i)).max().unwrap_or(0).saturating_add(1)
    }
}

/// Synapses of each of population p's rows on the core holding `s` (what synaptic ops and memory charge).
pub fn stored_per_row(chip: &ChipDesc, spec: &GraphNetworkSpec, lay: &Layout, s: PopSlice) -> Vec<u32> {
    let l = lay.pops[s.population];
    (0..l.axons)
        .map(|a| {
            if !spec.is_sparse(s.population) || matches!(chip.limits.encoding, SynEncoding::Dense) {
                s.len as u32
            } else {
                spec.row_count(s.population, l.neurons, a, s.first, s.len)
            }
        })
        .collect()
}

/// The routing tables: per logical core, its destinations (ascending logical core).
pub fn routes(spec: &GraphNetworkSpec, lay: &Layout, m: &GraphMapping) -> Vec<Vec<RouteEntry>> {
    let cfg = &spec.config;
    let mut out = Vec::with_capacity(m.cores.len());
    for s in &m.cores {
        let mut entries: Vec<RouteEntry> = Vec::new();
        let mut add = |dst: usize, q: Option<usize>| {
            let e = match entries.iter_mut().position(|e| e.dst == dst) {
                Some(i) => &mut entries[i],
                None => {
                    entries.push(RouteEntry { dst, ..Default::default() });
                    entries.last_mut().expect("just pushed")
                }
            };
            match q {
                Some(q) => e.projections.push(q),
                None => e.readout = true,
            }
        };
        for (q, pr) in cfg.projections.iter().enumerate() {
            if pr.source != Source::Population(s.population as u8) {
                continue;
            }
            let mt = pr.target as usize;
            let lm = lay.pops[mt];
            let block = lay.block[q];
            for (d, t) in m.cores.iter().enumerate() {
                if t.population != mt {
                    continue;
                }
                let reaches = !spec.is_sparse(mt)
                    || (s.first..s.first + s.len).any(|j| spec.row_count(mt, lm.neurons, block + j, t.first, t.len) > 0);
                if reaches {
                    add(d, Some(q));
                }
            }
        }
        if cfg.readout.source as usize == s.population {
            add(m.readout_core, None);
        }
        entries.sort_by_key(|e| e.dst);
        out.push(entries);
    }
    out
}

fn over(s: PopSlice, core: usize, limit: &'static str, count: u64, max: u64) -> Result<(), EmuError> {
    if count > max {
        Err(EmuError::PopCapacity { population: s.population, core, first: s.first, end: s.first + s.len, limit, count, max, over: count - max })
    } else {
        Ok(())
    }
}

/// Input axons of the core holding `s`: dense incoming projections' widths, compressed rows with a
/// synapse on the core.
fn input_axons(spec: &GraphNetworkSpec, lay: &Layout, s: PopSlice, stored: &[u32]) -> u64 {
    let l = lay.pops[s.population];
    if spec.is_sparse(s.population) {
        (0..l.axons).filter(|&a| spec.row_count(s.population, l.neurons, a, s.first, s.len) > 0).count() as u64
    } else {
        stored.len() as u64
    }
}

/// Check a mapping: each population covered by contiguous non-empty slices, then per core, in this
/// order, weight bits, neurons, output axons, input axons, synapse memory (errors name the population,
/// the core and the limit), the readout core, and the chip's core count. Returns each core's usage (then
/// the readout core's, when it is separate) and the routing tables.
pub fn check(chip: &ChipDesc, spec: &GraphNetworkSpec, lay: &Layout, m: &GraphMapping) -> Result<(Vec<CoreUsage>, Vec<Vec<RouteEntry>>), EmuError> {
    check_cover(lay, m)?;
    let l = &chip.limits;
    let routes = routes(spec, lay, m);
    let mut usage = Vec::with_capacity(m.cores.len() + 1);
    for (c, s) in m.cores.iter().enumerate() {
        let pop = &spec.config.populations[s.population];
        over(*s, c, "weight bits", pop.layer.formats.weight_bits as u64, l.weight_bits as u64)?;
        let stored = stored_per_row(chip, spec, lay, *s);
        let u = CoreUsage {
            neurons: s.len as u64,
            input_axons: input_axons(spec, lay, *s, &stored),
            output_axons: s.len as u64 * routes[c].len() as u64,
            syn_bits: stored.iter().map(|&st| chip.row_bits(st as u64, s.len as u64)).sum(),
        };
        over(*s, c, "neurons", u.neurons, l.neurons as u64)?;
        over(*s, c, "output axons", u.output_axons, l.output_axons as u64)?;
        over(*s, c, "input axons", u.input_axons, l.input_axons as u64)?;
        over(*s, c, "synapse memory bits", u.syn_bits, l.syn_mem_bits)?;
        usage.push(u);
    }
    let ro = &spec.config.readout;
    if m.readout_core >= m.cores.len() {
        let n = lay.pops[ro.source as usize].neurons as u64;
        let o = ro.outputs as u64;
        let u = CoreUsage { neurons: o, input_axons: n, output_axons: 0, syn_bits: n * o * ro.config.formats.weight_bits as u64 };
        let core = m.readout_core;
        let fail = |limit, count, max| EmuError::Capacity { core, first: 0, end: 0, limit, count, max, over: count - max };
        for (limit, count, max) in [
            ("readout neurons", u.neurons, l.neurons as u64),
            ("readout input axons", u.input_axons, l.input_axons as u64),
            ("readout synapse memory bits", u.syn_bits, l.syn_mem_bits),
        ] {
            if count > max {
                return Err(fail(limit, count, max));
            }
        }
        usage.push(u);
    }
    check_placement(chip, m)?;
    let needed = m.cores_spanned();
    if needed > chip.mesh.cores() {
        return Err(EmuError::TooManyCores {
            needed,
            available: chip.mesh.cores(),
            width: chip.mesh.width,
            height: chip.mesh.height,
            per_tile: chip.mesh.cores_per_tile,
        });
    }
    Ok((usage, routes))
}

/// An explicit placement: one physical core per logical core in use, each on the chip, no two alike.
fn check_placement(chip: &ChipDesc, m: &GraphMapping) -> Result<(), EmuError> {
    if m.placement.is_empty() {
        return Ok(());
    }
    let (used, avail) = (m.cores_used(), chip.mesh.cores());
    if m.placement.len() != used {
        return Err(EmuError::Network(format!(
            "mapping: placement: {} physical cores given for {used} logical cores in use (one per logical core)",
            m.placement.len()
        )));
    }
    let mut owner = vec![usize::MAX; avail];
    for (i, &p) in m.placement.iter().enumerate() {
        let Some(o) = owner.get_mut(p) else {
            return Err(EmuError::Network(format!(
                "mapping: placement: logical core {i} on physical core {p}, the chip has {avail} cores ({} x {} tiles x {})",
                chip.mesh.width, chip.mesh.height, chip.mesh.cores_per_tile
            )));
        };
        if *o != usize::MAX {
            return Err(EmuError::Network(format!(
                "mapping: placement: logical cores {} and {i} both on physical core {p} (one logical core per physical core)",
                *o
            )));
        }
        *o = i;
    }
    Ok(())
}

fn check_cover(lay: &Layout, m: &GraphMapping) -> Result<(), EmuError> {
    for p in 0..lay.populations {
        let mut slices: Vec<PopSlice> = m.cores.iter().copied().filter(|s| s.population == p).collect();
        slices.sort_by_key(|s| s.first);
        let mut next = 0;
        for s in &slices {
            if s.first != next || s.len == 0 {
                return Err(EmuError::Network(format!(
                    "mapping: population {p}: slices must be contiguous and non-empty (slice at {} of length {}, expected start {next})",
                    s.first, s.len
                )));
            }
            next += s.len;
        }
        if next != lay.pops[p].neurons {
            return Err(EmuError::Network(format!("mapping covers {next} neurons of population {p}, it has {}", lay.pops[p].neurons)));
        }
    }
    if let Some(s) = m.cores.iter().find(|s| s.population >= lay.populations) {
        return Err(EmuError::Network(format!("mapping: population {} does not exist", s.population)));
    }
    Ok(())
}

/// Equal slices of each population (the last may be shorter): per population the largest length within
/// the neuron limit whose slices fit input axons and synapse memory (binary search), then the whole
/// mapping is checked ([`check`]; output axons depend on every population's split). An error names the
/// population and the limit.
pub fn partition(chip: &ChipDesc, spec: &GraphNetworkSpec) -> Result<GraphMapping, EmuError> {
    let lay = spec.validate()?;
    let l = &chip.limits;
    let mut lengths = Vec::new();
    for p in 0..lay.populations {
        let n = lay.pops[p].neurons;
        let split = |len: usize| -> Vec<usize> { (0..n.div_ceil(len)).map(|i| len.min(n - i * len)).collect() };
        let fits = |len: usize| -> bool {
            let mut first = 0;
            split(len).into_iter().all(|k| {
                let s = PopSlice { population: p, first, len: k };
                first += k;
                let stored = stored_per_row(chip, spec, &lay, s);
                let bits: u64 = stored.iter().map(|&st| chip.row_bits(st as u64, k as u64)).sum();
                bits <= l.syn_mem_bits && input_axons(spec, &lay, s, &stored) <= l.input_axons as u64
            })
        };
        let l0 = (l.neurons as usize).clamp(1, n);
        let len = if fits(l0) {
            l0
        } else {
            let (mut lo, mut hi) = (0usize, l0);
            while hi - lo > 1 {
                let mid = (lo + hi) / 2;
                if fits(mid) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            lo.max(1)
        };
        lengths.push(split(len));
    }
    let m = GraphMapping::from_lengths(&lengths, chip.mesh.cores());
    check(chip, spec, &lay, &m)?;
    Ok(m)
}
