//! The chip description: mesh, per-core limits, cost model (cycles per event), network-on-chip and
//! energy constants. Loaded from TOML ([`ChipDesc::from_toml`]) or taken from a preset
//! ([`crate::presets`]); [`ChipDesc::validate`] rejects anything out of range with an error that names the
//! field, the value and the allowed range.
//!
//! Every number of a preset carries its source in `crate::presets` and in `hw-notes/emulator-presets.md`.

use crate::error::EmuError;
use serde::{Deserialize, Serialize};

/// A whole chip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipDesc {
    /// Name (free text).
    pub name: String,
    /// Clock frequency the cycle costs are expressed in, MHz (asynchronous chips: a nominal clock).
    pub clock_mhz: f64,
    /// Tiles and cores.
    pub mesh: Mesh,
    /// Per-core capacity.
    pub limits: CoreLimits,
    /// Cycles per event.
    pub cost: CostModel,
    /// Network-on-chip.
    pub noc: NocDesc,
    /// Energy per event and static power.
    pub energy: EnergyModel,
}

/// 2-D mesh of tiles; cores are numbered tile-major (`core = tile · cores_per_tile + k`), tiles
/// row-major (`tile = y · width + x`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mesh {
    /// Tiles in x (east-west).
    pub width: u32,
    /// Tiles in y (north-south).
    pub height: u32,
    /// Cores sharing one router.
    pub cores_per_tile: u32,
}

impl Mesh {
    /// Number of tiles.
    pub fn tiles(&self) -> usize {
        self.width as usize * self.height as usize
    }
    /// Number of cores.
    pub fn cores(&self) -> usize {
        self.tiles() * self.cores_per_tile as usize
    }
    /// Tile of a core.
    pub fn tile_of(&self, core: usize) -> usize {
        core / self.cores_per_tile as usize
    }
    /// (x, y) of a tile.
    pub fn xy(&self, tile: usize) -> (u32, u32) {
        ((tile % self.width as usize) as u32, (tile / self.width as usize) as u32)
    }
}

/// How synapses are laid out in a core's synapse memory (`hardware.md` §1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "kebab-case")]
pub enum SynEncoding {
    /// nengo-loihi's `SynapseConfig.bits_per_axon`: per presynaptic axon with n synapses on the core,
    /// n·(weight_bits + index_bits) + `header_bits`, rounded up to `word_bits`. Index bits are 0 when the
    /// row is dense on the core (every local neuron has a synapse), else ⌈log2(local neurons)⌉ clamped to
    /// at least `min_index_bits`.
    Sparse {
        /// Header bits per synapse group (4 + 6 on Loihi).
        header_bits: u32,
        /// Memory word width (64 on Loihi).
        word_bits: u32,
        /// Smallest index width (6 on Loihi).
        min_index_bits: u32,
    },
    /// A dense crossbar / weight SRAM: every (axon, neuron) pair costs `weight_bits` (ReckOn,
    /// BrainScaleS-2, a microcontroller array).
    Dense,
}

/// Per-core limits. A mapping that exceeds any of them is rejected naming the limit and the values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreLimits {
    /// Neurons (compartments) per core.
    pub neurons: u32,
    /// Synapse memory per core, bits.
    pub syn_mem_bits: u64,
    /// Bits stored per synaptic weight (the network's `weight_bits` must not exceed it).
    pub weight_bits: u8,
    /// Input axons (presynaptic sources) per core.
    pub input_axons: u32,
    /// Output axons (neuron × destination-core fan-out edges) per core.
    pub output_axons: u32,
    /// Synapse memory layout.
    pub encoding: SynEncoding,
}

/// Cycles charged for synaptic learning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "kebab-case")]
pub enum LearnCost {
    /// A learning engine that touches one synapse per `cycles` (Loihi: 6 cycles per pairwise-STDP update).
    PerSynapse {
        /// Cycles per weight update.
        cycles: u32,
    },
    /// A vector processor with row-wise synapse access (BrainScaleS-2 PPU): every learning row (axon with a
    /// non-zero trace) costs ⌈local neurons / lanes⌉ vectors of `cycles_per_vector`.
    RowVector {
        /// Lanes per vector (128 × 8-bit on BrainScaleS-2).
        lanes: u32,
        /// Cycles per vector (loads, operations, stores).
        cycles_per_vector: u32,
    },
}

/// Cycles per event (`hardware.md` §5.2). Phase costs are:
/// * deliver: `axon_in` per event received;
/// * integrate: `syn_op` per ⌈stored synapses of the row / `syn_lanes`⌉ per active row, `trace` per ε^x
///   and STD/STP update;
/// * fire: `neuron_inactive` per neuron that did not spike, `neuron_active` per spiking neuron, `trace`
///   per ẽ^f update;
/// * route: `spike_out` per spike, `msg_out` per packet;
/// * learn: see [`LearnCost`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostModel {
    /// Per incoming spike packet (axon lookup).
    pub axon_in: u32,
    /// Per synapse read and accumulated (per `syn_lanes` synapses).
    pub syn_op: u32,
    /// Synapses processed per `syn_op` (1 on Loihi, 16 on ReckOn's 128-bit words).
    pub syn_lanes: u32,
    /// Neuron update without a spike.
    pub neuron_inactive: u32,
    /// Neuron update with a spike.
    pub neuron_active: u32,
    /// Trace update (ε^x, ẽ^f, ε^o, STD/STP).
    pub trace: u32,
    /// Per spiking neuron (spike out).
    pub spike_out: u32,
    /// Per packet sent (message out).
    pub msg_out: u32,
    /// Synaptic learning.
    pub learn: LearnCost,
    /// Barrier = ⌈(base + per_tile·(tiles − 1)) / 1000⌉ cycles.
    pub barrier_base_millicycles: u64,
    /// Per additional tile, millicycles.
    pub barrier_per_tile_millicycles: u64,
}

impl CostModel {
    /// Barrier cycles for `tiles` tiles (rounded **up**: a barrier cannot complete early).
    pub fn barrier_cycles(&self, tiles: usize) -> u64 {
        let mc = self.barrier_base_millicycles + self.barrier_per_tile_millicycles * (tiles.max(1) as u64 - 1);
        mc.div_ceil(1000)
    }
}

/// Network-on-chip parameters (`hardware.md` §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NocDesc {
    /// Routing policy.
    pub routing: crate::noc::RoutingKind,
    /// Cycles per east-west hop.
    pub hop_ew: u32,
    /// Cycles per north-south hop.
    pub hop_ns: u32,
    /// Cycles from injection to ejection inside one tile.
    pub local: u32,
    /// Packets a link (or an ejection port) accepts per cycle.
    pub link_packets_per_cycle: u32,
    /// Packets each router input buffer holds (back-pressure when full).
    pub buffer_packets: u32,
    /// Packet width in bits.
    pub packet_bits: u32,
    /// Packets a tile's injection (local) queue holds; a core whose packet finds it full stalls until
    /// a slot frees (back-pressure, counted as blocked). 0 = unbounded (the presets of the single-layer
    /// path, whose W1 figures were recorded that way).
    #[serde(default)]
    pub inject_packets: u32,
}

/// Energy per event in picojoules and static power (`hardware.md` §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnergyModel {
    /// Per incoming packet.
    pub axon_in_pj: f64,
    /// Per synaptic op (per stored synapse of an active row).
    pub syn_op_pj: f64,
    /// Neuron update without spike.
    pub neuron_inactive_pj: f64,
    /// Neuron update with spike.
    pub neuron_active_pj: f64,
    /// Trace update.
    pub trace_pj: f64,
    /// Per spike.
    pub spike_out_pj: f64,
    /// Per packet sent.
    pub msg_out_pj: f64,
    /// Per synaptic weight update.
    pub learn_pj: f64,
    /// Per east-west hop.
    pub hop_ew_pj: f64,
    /// Per north-south hop.
    pub hop_ns_pj: f64,
    /// Per within-tile delivery.
    pub local_pj: f64,
    /// Static power per core, mW (charged for every core of the chip over the whole timestep).
    pub static_mw_per_core: f64,
}

fn check_u(field: &'static str, v: u64, min: u64, max: u64) -> Result<(), EmuError> {
    if v < min || v > max {
        return Err(EmuError::Desc { field, value: v.to_string(), min: min.to_string(), max: max.to_string() });
    }
    Ok(())
}

fn check_f(field: &'static str, v: f64, min: f64, max: f64) -> Result<(), EmuError> {
    if !v.is_finite() || v < min || v > max {
        return Err(EmuError::Desc { field, value: v.to_string(), min: min.to_string(), max: max.to_string() });
    }
    Ok(())
}

impl ChipDesc {
    /// Parse and validate a TOML description.
    pub fn from_toml(text: &str) -> Result<Self, EmuError> {
        let d: ChipDesc = toml::from_str(text).map_err(|e| EmuError::Toml(e.to_string()))?;
        d.validate()?;
        Ok(d)
    }

    /// The description as TOML (round-trips through [`ChipDesc::from_toml`]).
    pub fn to_toml(&self) -> String {
        // Serialising plain structs of numbers and strings cannot fail.
        toml::to_string(self).unwrap_or_default()
    }

    /// Check every field's range.
    pub fn validate(&self) -> Result<(), EmuError> {
        check_f("clock_mhz", self.clock_mhz, 0.001, 100_000.0)?;
        check_u("mesh.width", self.mesh.width as u64, 1, 256)?;
        check_u("mesh.height", self.mesh.height as u64, 1, 256)?;
        check_u("mesh.cores_per_tile", self.mesh.cores_per_tile as u64, 1, 64)?;
        check_u("cores (width x height x cores_per_tile)", self.mesh.cores() as u64, 1, 65_536)?;
        let l = &self.limits;
        check_u("limits.neurons", l.neurons as u64, 1, 65_535)?;
        check_u("limits.syn_mem_bits", l.syn_mem_bits, 1, 1 << 44)?;
        check_u("limits.weight_bits", l.weight_bits as u64, 1, 16)?;
        check_u("limits.input_axons", l.input_axons as u64, 1, 65_535)?;
        check_u("limits.output_axons", l.output_axons as u64, 1, u32::MAX as u64)?;
        if let SynEncoding::Sparse { header_bits, word_bits, min_index_bits } = l.encoding {
            check_u("limits.encoding.header_bits", header_bits as u64, 0, 1024)?;
            check_u("limits.encoding.word_bits", word_bits as u64, 1, 4096)?;
            check_u("limits.encoding.min_index_bits", min_index_bits as u64, 0, 16)?;
        }
        let c = &self.cost;
        let cyc = 1_000_000u64;
        check_u("cost.axon_in", c.axon_in as u64, 0, cyc)?;
        check_u("cost.syn_op", c.syn_op as u64, 0, cyc)?;
        check_u("cost.syn_lanes", c.syn_lanes as u64, 1, 4096)?;
        check_u("cost.neuron_inactive", c.neuron_inactive as u64, 0, cyc)?;
        check_u("cost.neuron_active", c.neuron_active as u64, 0, cyc)?;
        check_u("cost.trace", c.trace as u64, 0, cyc)?;
        check_u("cost.spike_out", c.spike_out as u64, 0, cyc)?;
        check_u("cost.msg_out", c.msg_out as u64, 0, cyc)?;
        match c.learn {
            LearnCost::PerSynapse { cycles } => check_u("cost.learn.cycles", cycles as u64, 0, cyc)?,
            LearnCost::RowVector { lanes, cycles_per_vector } => {
                check_u("cost.learn.lanes", lanes as u64, 1, 4096)?;
                check_u("cost.learn.cycles_per_vector", cycles_per_vector as u64, 0, cyc)?;
            }
        }
        check_u("cost.barrier_base_millicycles", c.barrier_base_millicycles, 0, 1 << 40)?;
        check_u("cost.barrier_per_tile_millicycles", c.barrier_per_tile_millicycles, 0, 1 << 32)?;
        let n = &self.noc;
        check_u("noc.hop_ew", n.hop_ew as u64, 0, cyc)?;
        check_u("noc.hop_ns", n.hop_ns as u64, 0, cyc)?;
        check_u("noc.local", n.local as u64, 0, cyc)?;
        check_u("noc.link_packets_per_cycle", n.link_packets_per_cycle as u64, 1, 1024)?;
        check_u("noc.buffer_packets", n.buffer_packets as u64, 1, 1 << 20)?;
        check_u("noc.packet_bits", n.packet_bits as u64, 8, 1024)?;
        check_u("noc.inject_packets", n.inject_packets as u64, 0, 1 << 20)?;
        let e = &self.energy;
        let pj = 1e9;
        check_f("energy.axon_in_pj", e.axon_in_pj, 0.0, pj)?;
        check_f("energy.syn_op_pj", e.syn_op_pj, 0.0, pj)?;
        check_f("energy.neuron_inactive_pj", e.neuron_inactive_pj, 0.0, pj)?;
        check_f("energy.neuron_active_pj", e.neuron_active_pj, 0.0, pj)?;
        check_f("energy.trace_pj", e.trace_pj, 0.0, pj)?;
        check_f("energy.spike_out_pj", e.spike_out_pj, 0.0, pj)?;
        check_f("energy.msg_out_pj", e.msg_out_pj, 0.0, pj)?;
        check_f("energy.learn_pj", e.learn_pj, 0.0, pj)?;
        check_f("energy.hop_ew_pj", e.hop_ew_pj, 0.0, pj)?;
        check_f("energy.hop_ns_pj", e.hop_ns_pj, 0.0, pj)?;
        check_f("energy.local_pj", e.local_pj, 0.0, pj)?;
        check_f("energy.static_mw_per_core", e.static_mw_per_core, 0.0, 1e6)?;
        Ok(())
    }

    /// Synapse-memory bits one presynaptic row costs on a core with `local` neurons when `stored` of them
    /// have a synapse (sparse: 0 bits for an empty row; dense: always a full row).
    pub fn row_bits(&self, stored: u64, local: u64) -> u64 {
        let wb = self.limits.weight_bits as u64;
        match self.limits.encoding {
            SynEncoding::Dense => local * wb,
            SynEncoding::Sparse { .. } if stored == 0 => 0,
            SynEncoding::Sparse { header_bits, word_bits, min_index_bits } => {
                let idx = if stored >= local {
                    0
                } else {
                    (u64::BITS - (local - 1).leading_zeros()).max(min_index_bits) as u64
                };
                let bits = stored * (wb + idx) + header_bits as u64;
                bits.div_ceil(word_bits as u64) * word_bits as u64
            }
        }
    }
}
