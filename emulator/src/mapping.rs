//! Placement: contiguous slices of the hidden layer, one per core, in core order, plus one core for the
//! readout. The partitioner ([`partition`]) picks the largest slice length that respects every per-core
//! limit; [`Mapping::from_lengths`] takes a user's slices, which [`check`] validates the same way.
//!
//! Per-core counts, following nengo-loihi's accounting (`hardware.md` §1.2):
//! * **neurons**: the slice length (the readout core: the readout units).
//! * **input axons**: every presynaptic axon of the layer (a core receives the whole presynaptic
//!   population, as nengo-loihi counts a dense connection: W1 at N = 4000 needs 4100 > 4096).
//! * **output axons**: local neurons × destination cores (every hidden core when recurrent, plus the
//!   readout core): W1 at N = 16000 in 1024-neuron cores needs 1024 × 16 = 16384 > 4096.
//! * **synapse memory**: Σ over presynaptic rows of [`ChipDesc::row_bits`] with the row's stored
//!   synapses on the core (non-zero weights; every synapse when learning, since any weight may change).

use crate::chip::{ChipDesc, SynEncoding};
use crate::error::EmuError;
use crate::network::NetworkSpec;

/// One core's contiguous slice of hidden neurons `[first, first + len)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    /// First global neuron.
    pub first: usize,
    /// Number of neurons.
    pub len: usize,
}

/// Where everything lives: hidden slice i on logical core i; the readout on logical core `readout_core`.
/// Logical core i is physical core `i · stride` (stride 1 packs cores tile by tile; stride =
/// cores per tile puts one core on each tile, spreading traffic over the mesh).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// Hidden slices, in core order (logical core i holds `hidden[i]`).
    pub hidden: Vec<Slice>,
    /// Logical core of the readout (the next free core, or the last hidden core on a chip with no free
    /// core).
    pub readout_core: Option<usize>,
    /// Physical core of logical core i = i · stride (≥ 1).
    pub stride: usize,
}

/// What one core uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoreUsage {
    /// Neurons.
    pub neurons: u64,
    /// Input axons.
    pub input_axons: u64,
    /// Output axons.
    pub output_axons: u64,
    /// Synapse-memory bits.
    pub syn_bits: u64,
}

impl Mapping {
    /// Slices of the given lengths, in order (they must sum to the number of neurons; checked by
    /// [`check`]).
    pub fn from_lengths(lengths: &[usize], with_readout: bool, cores: usize) -> Mapping {
        let mut first = 0;
        let hidden: Vec<Slice> = lengths
            .iter()
            .map(|&len| {
                let s = Slice { first, len };
                first += len;
                s
            })
            .collect();
        let readout_core = with_readout.then(|| if hidden.len() < cores { hidden.len() } else { hidden.len().saturating_sub(1) });
        Mapping { hidden, readout_core, stride: 1 }
    }

    /// The same slices with logical core i on physical core i · `stride`.
    pub fn spread(mut self, stride: usize) -> Mapping {
        self.stride = stride.max(1);
        self
    }

    /// Logical cores in use.
    pub fn cores_used(&self) -> usize {
        self.hidden.len().max(self.readout_core.map(|c| c + 1).unwrap_or(0))
    }

    /// Physical core of logical core `i`.
    pub fn physical(&self, i: usize) -> usize {
        i.saturating_mul(self.stride.max(1))
    }

    /// Physical cores the mapping spans (highest physical core + 1).
    pub fn cores_spanned(&self) -> usize {
        self.physical(self.cores_used().max(1) - 1).saturating_add(1)
    }
}

/// Stored synapses of each presynaptic row on the core holding `s` (what synaptic ops and memory charge):
/// the non-zero weights, or the whole row on a dense synapse array or when a dense network learns.
pub fn stored_per_row(chip: &ChipDesc, net: &NetworkSpec, s: Slice) -> Vec<u32> {
    (0..net.axons())
        .map(|a| {
            if (net.learn && !net.sparse) || matches!(chip.limits.encoding, SynEncoding::Dense) {
                s.len as u32
            } else {
                let mut k = 0u32;
                net.for_each_stored(a, s.first, s.len, |_, _| k += 1);
                k
            }
        })
        .collect()
}

fn usage(chip: &ChipDesc, net: &NetworkSpec, m: &Mapping, core: usize, with_memory: bool) -> CoreUsage {
    let s = m.hidden[core];
    let mut dest = if net.recurrent { m.hidden.len() as u64 } else { 0 };
    if let Some(r) = m.readout_core {
        if !(net.recurrent && r < m.hidden.len()) {
            dest += 1;
        }
    }
    let syn_bits = if with_memory {
        stored_per_row(chip, net, s).iter().map(|&st| chip.row_bits(st as u64, s.len as u64)).sum()
    } else {
        0
    };
    CoreUsage { neurons: s.len as u64, input_axons: net.axons() as u64, output_axons: s.len as u64 * dest, syn_bits }
}

fn over(core: usize, first: usize, end: usize, limit: &'static str, count: u64, max: u64) -> Result<(), EmuError> {
    if count > max {
        Err(EmuError::Capacity { core, first, end, limit, count, max, over: count - max })
    } else {
        Ok(())
    }
}

/// Check a mapping against every limit, in the order neurons, output axons, input axons, synapse memory,
/// then the chip's core count. Returns each hidden core's usage (then the readout core's, if separate).
pub fn check(chip: &ChipDesc, net: &NetworkSpec, m: &Mapping) -> Result<Vec<CoreUsage>, EmuError> {
    check_limits(chip, net, m, true)
}

fn check_limits(chip: &ChipDesc, net: &NetworkSpec, m: &Mapping, memory: bool) -> Result<Vec<CoreUsage>, EmuError> {
    let l = &chip.limits;
    if net.layer.formats.weight_bits > l.weight_bits {
        return Err(EmuError::WeightBits { needed: net.layer.formats.weight_bits, available: l.weight_bits });
    }
    let mut first = 0;
    for s in &m.hidden {
        if s.first != first || s.len == 0 {
            return Err(EmuError::Network(format!(
                "mapping: slices must be contiguous and non-empty (slice at {} of length {}, expected start {first})",
                s.first, s.len
            )));
        }
        first += s.len;
    }
    if first != net.neurons {
        return Err(EmuError::Network(format!("mapping covers {first} neurons, the network has {}", net.neurons)));
    }
    let mut out = Vec::new();
    for core in 0..m.hidden.len() {
        let u = usage(chip, net, m, core, memory);
        let s = m.hidden[core];
        let end = s.first + s.len;
        over(core, s.first, end, "neurons", u.neurons, l.neurons as u64)?;
        over(core, s.first, end, "output axons", u.output_axons, l.output_axons as u64)?;
        over(core, s.first, end, "input axons", u.input_axons, l.input_axons as u64)?;
        if memory {
            over(core, s.first, end, "synapse memory bits", u.syn_bits, l.syn_mem_bits)?;
        }
        out.push(u);
    }
    if let (Some(r), Some(ro)) = (m.readout_core, &net.readout) {
        let bits = net.neurons as u64 * ro.outputs as u64 * ro.config.formats.weight_bits as u64;
        let u = CoreUsage { neurons: ro.outputs as u64, input_axons: net.neurons as u64, output_axons: 0, syn_bits: bits };
        if r >= m.hidden.len() {
            over(r, 0, 0, "neurons", u.neurons, l.neurons as u64)?;
            over(r, 0, 0, "input axons", u.input_axons, l.input_axons as u64)?;
            if memory {
                over(r, 0, 0, "synapse memory bits", u.syn_bits, l.syn_mem_bits)?;
            }
            out.push(u);
        }
    }
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
    Ok(out)
}

fn uniform(net: &NetworkSpec, len: usize, cores: usize) -> Mapping {
    let n = net.neurons;
    let k = n.div_ceil(len);
    let lengths: Vec<usize> = (0..k).map(|i| len.min(n - i * len)).collect();
    Mapping::from_lengths(&lengths, net.readout.is_some(), cores)
}

/// Contiguous slices of equal length (the last may be shorter): the largest length within the neuron
/// limit; if synapse memory does not fit, the largest length that fits it (binary search). Errors name
/// the first limit exceeded (at the neuron-limited length for the axon limits, as nengo-loihi reports).
pub fn partition(chip: &ChipDesc, net: &NetworkSpec) -> Result<(Mapping, Vec<CoreUsage>), EmuError> {
    net.validate()?;
    let cores = chip.mesh.cores();
    let l0 = (chip.limits.neurons as usize).min(net.neurons);
    let m0 = uniform(net, l0, usize::MAX);
    // Axon and neuron limits first (they hardly change with the slice length).
    check_limits(chip, net, &m0, false)
        .or_else(|e| if matches!(e, EmuError::TooManyCores { .. }) { Ok(Vec::new()) } else { Err(e) })?;
    let fits = |len: usize| -> bool {
        let m = uniform(net, len, usize::MAX);
        m.hidden.iter().all(|s| {
            let bits: u64 = stored_per_row(chip, net, *s).iter().map(|&st| chip.row_bits(st as u64, s.len as u64)).sum();
            bits <= chip.limits.syn_mem_bits
        })
    };
    let len = if fits(l0) {
        l0
    } else {
        let (mut lo, mut hi) = (0usize, l0); // fits(lo) (0 = none found), !fits(hi)
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
    let m = uniform(net, len, cores);
    let usage = check(chip, net, &m)?;
    Ok((m, usage))
}
