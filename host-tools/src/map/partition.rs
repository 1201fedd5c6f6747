//! Populations cut into slices within every per-core limit (the emulator's accounting:
//! `plasticore_emu::graph::mapping::check`, `hw-notes/emulator-graph.md`).
//!
//! Per population, the longest slice length (≤ the chip's neurons per core and the caller's cap) whose
//! slices all fit the core's **input axons** and **synapse memory** (binary search, as the emulator's own
//! partitioner); then the whole mapping is checked. **Output axons** (slice length × destination cores)
//! depend on how the *targets* are split, so when a source core is over, its population's length is
//! shortened in proportion and the check repeats (each round shortens one population, so it ends).
//! A population that does not fit even one neuron per core is an error naming it and the limit.
use super::MapError;
use plasticore_emu::graph::mapping::{check, stored_per_row};
use plasticore_emu::graph::{GraphMapping, GraphNetworkSpec, PopSlice};
use plasticore_emu::{ChipDesc, EmuError};

/// Slices of every population within every per-core limit of `chip`, at most `cap` neurons per core
/// (`None`: the chip's limit), readout on the next free core, no placement yet (logical order).
pub fn partition(chip: &ChipDesc, spec: &GraphNetworkSpec, cap: Option<usize>) -> Result<GraphMapping, MapError> {
    chip.validate()?;
    let lay = spec.validate()?;
    let l = &chip.limits;
    if cap == Some(0) {
        return Err(MapError::Options("neurons per core: the cap must be at least 1".into()));
    }
    let np = lay.populations;
    let mut max_len: Vec<usize> = (0..np).map(|p| (l.neurons as usize).min(cap.unwrap_or(usize::MAX)).clamp(1, lay.pops[p].neurons.max(1))).collect();
    let fail = |p: usize, detail: String| MapError::DoesNotFit { population: p, neurons: lay.pops[p].neurons, chip: chip.name.clone(), detail };
    for _round in 0..=np * 64 {
        let mut lengths = Vec::with_capacity(np);
        for p in 0..np {
            let n = lay.pops[p].neurons;
            let split = |len: usize| -> Vec<usize> { (0..n.div_ceil(len)).map(|i| len.min(n - i * len)).collect() };
            // The first limit a split breaks, with its count: None = every slice fits.
            let breaks = |len: usize| -> Option<(&'static str, u64, u64)> {
                let mut first = 0;
                for k in split(len) {
                    let s = PopSlice { population: p, first, len: k };
                    first += k;
                    let stored = stored_per_row(chip, spec, &lay, s);
                    let axons = if spec.is_sparse(p) {
                        (0..stored.len()).filter(|&a| spec.row_count(p, n, a, s.first, s.len) > 0).count() as u64
                    } else {
                        stored.len() as u64
                    };
                    if axons > l.input_axons as u64 {
                        return Some(("input axons", axons, l.input_axons as u64));
                    }
                    let bits: u64 = stored.iter().map(|&st| chip.row_bits(st as u64, k as u64)).sum();
                    if bits > l.syn_mem_bits {
                        return Some(("synapse memory bits", bits, l.syn_mem_bits));
                    }
                }
                None
            };
            let hi0 = max_len[p];
            let len = if breaks(hi0).is_none() {
                hi0
            } else {
                if let Some((limit, count, max)) = breaks(1) {
                    return Err(fail(p, format!("{limit}: {count} > {max} per core even with one neuron per core")));
                }
                let (mut lo, mut hi) = (1usize, hi0);
                while hi - lo > 1 {
                    let mid = (lo + hi) / 2;
                    if breaks(mid).is_none() {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                lo
            };
            lengths.push(split(len));
        }
        let m = GraphMapping::from_lengths(&lengths, chip.mesh.cores());
        match check(chip, spec, &lay, &m) {
            Ok(_) => return Ok(m),
            Err(EmuError::PopCapacity { population, limit: "output axons", count, max, .. }) => {
                let cur = lengths[population].first().copied().unwrap_or(1);
                if cur <= 1 {
                    return Err(fail(population, format!("output axons: {count} > {max} per core even with one neuron per core")));
                }
                // len × destinations ≤ max; destinations do not grow when this population is cut finer.
                let dest = count.div_ceil(cur as u64).max(1);
                max_len[population] = ((max / dest) as usize).clamp(1, cur - 1);
            }
            Err(EmuError::PopCapacity { population, limit, count, max, .. }) => {
                return Err(fail(population, format!("{limit}: {count} > {max} per core")));
            }
            Err(EmuError::TooManyCores { needed, available, .. }) => {
                return Err(MapError::Options(format!(
                    "the network needs {needed} cores within the per-core limits of {}, the chip has {available}",
                    chip.name
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(MapError::Options("partition: output axons did not settle (a bug)".into()))
}
