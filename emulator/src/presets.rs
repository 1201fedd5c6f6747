//! Chip presets. Every number names its source; `hardware.md` is `/work/shared/spec/hardware.md` and the
//! same table lives in `hw-notes/emulator-presets.md`. "\[assumption\]" marks a value with no published
//! source: it is a placeholder to calibrate, never a target.
//!
//! Rounding of published nanosecond figures to cycles at a nominal 1 GHz (`hardware.md` §5.2): nearest,
//! ties up (4.1 ns → 4, 6.5 ns → 7, 2.1 ns → 2, 5.3 → 5, 8.4 → 8), except the synaptic op, which §5.2
//! fixes at 4 cycles (≥ 3.5 ns).

use crate::chip::{ChipDesc, CoreLimits, CostModel, EnergyModel, LearnCost, Mesh, NocDesc, SynEncoding};
use crate::error::EmuError;
use crate::noc::RoutingKind;

/// Names accepted by [`preset`].
pub const PRESET_NAMES: [&str; 7] = ["loihi", "loihi-sana-fe", "reckon", "brainscales2", "mcu", "loihi-xl", "loihi-xl-tiles"];

/// The preset called `name`.
pub fn preset(name: &str) -> Result<ChipDesc, EmuError> {
    match name {
        "loihi" => Ok(loihi()),
        "loihi-sana-fe" => Ok(loihi_sana_fe()),
        "reckon" => Ok(reckon()),
        "brainscales2" => Ok(brainscales2()),
        "mcu" => Ok(mcu()),
        "loihi-xl" => Ok(loihi_xl()),
        "loihi-xl-tiles" => Ok(loihi_xl_tiles()),
        _ => Err(EmuError::UnknownPreset(name.to_string())),
    }
}

/// Loihi per-core limits: 1024 compartments, 16,384 × 64-bit synapse words, ≤ 4096 input axons and
/// ≤ 4096 output axons (Davies et al. 2018; nengo-loihi `MAX_COMPARTMENTS`, `MAX_SYNAPSE_BITS`,
/// `MAX_IN_AXONS`, `MAX_OUT_AXONS`; `hardware.md` §1.2, §5.1). Synapse encoding: nengo-loihi
/// `SynapseConfig.bits_per_axon`, 4 + 6 header bits, 64-bit words, index bits from {0, 6..12}
/// (`hardware.md` §1.2). 8-bit weights: §5.1 default.
fn loihi_limits() -> CoreLimits {
    CoreLimits {
        neurons: 1024,
        syn_mem_bits: 16_384 * 64,
        weight_bits: 8,
        input_axons: 4096,
        output_axons: 4096,
        encoding: SynEncoding::Sparse { header_bits: 4 + 6, word_bits: 64, min_index_bits: 6 },
    }
}

/// Loihi NoC: hop 4.1 ns E-W, 6.5 ns N-S, 2.1 ns within a tile (Davies 2018 Table 2); 3.44 Gspike/s
/// per tile cross-section → 3 packets per 1 ns cycle (derived, floor); router buffers of 4 packets
/// \[assumption: §5.3 suggests 4–8 flits\]; 32-bit spike packets (Davies 2021); XY routing (§5.3,
/// assumption consistent with Davies).
fn loihi_noc() -> NocDesc {
    NocDesc {
        routing: RoutingKind::Xy,
        hop_ew: 4,
        hop_ns: 7,
        local: 2,
        link_packets_per_cycle: 3,
        buffer_packets: 4,
        packet_bits: 32,
        inject_packets: 0,
    }
}

/// `loihi`: Intel Loihi with the **pre-silicon** constants of Davies et al. 2018 Table 2 (0.75 V), on
/// the cost model of `hardware.md` §5.2 at a nominal 1 GHz (1 cycle = 1 ns).
/// * Mesh 8 × 4 tiles × 4 cores = 128 cores (inferred, SANA-FE preset; §5.3).
/// * Cycles: message in 16 (SANA-FE 16 ns, §5.2 default), synaptic op 4 (≥ 3.5 ns), neuron 5 / 8
///   (5.3 / 8.4 ns inactive / active), spike out 2 (2.1 ns within tile), message out 5 (SANA-FE 5.1 ns),
///   trace update 5 \[assumption: ≈ inactive neuron update, §5.2\], learning 6 per synapse (6.1 ns
///   pairwise STDP), barrier 113 + 11.4·(tiles − 1) (linear fit of 113–465 ns over 1–32 tiles, §5.2).
/// * Energy (pJ): synaptic op 23.6, neuron 52 / 81, learning 120, hop 3.0 E-W / 4.0 N-S, within tile 1.7
///   (Davies Table 2); message in / spike out / message out 0 (not published separately: the within-tile
///   1.7 pJ and the hop energies carry the traffic); trace update 52 \[assumption: = inactive neuron\];
///   static 0.8 mW per core (≈ 104 mW per chip, derived from Frady et al. 2020, §5.4).
pub fn loihi() -> ChipDesc {
    ChipDesc {
        name: "loihi (pre-silicon, Davies 2018 Table 2)".into(),
        clock_mhz: 1000.0,
        mesh: Mesh { width: 8, height: 4, cores_per_tile: 4 },
        limits: loihi_limits(),
        cost: CostModel {
            axon_in: 16,
            syn_op: 4,
            syn_lanes: 1,
            neuron_inactive: 5,
            neuron_active: 8,
            trace: 5,
            spike_out: 2,
            msg_out: 5,
            learn: LearnCost::PerSynapse { cycles: 6 },
            barrier_base_millicycles: 113_000,
            barrier_per_tile_millicycles: 11_400,
        },
        noc: loihi_noc(),
        energy: EnergyModel {
            axon_in_pj: 0.0,
            syn_op_pj: 23.6,
            neuron_inactive_pj: 52.0,
            neuron_active_pj: 81.0,
            trace_pj: 52.0,
            spike_out_pj: 0.0,
            msg_out_pj: 0.0,
            learn_pj: 120.0,
            hop_ew_pj: 3.0,
            hop_ns_pj: 4.0,
            local_pj: 1.7,
            static_mw_per_core: 0.8,
        },
    }
}

/// `loihi-sana-fe`: Loihi with the **silicon-calibrated** constants of SANA-FE (Boyle et al., IEEE TCAD
/// 2025, `arch/loihi.yaml`; `hardware.md` §1.3, §5.4), same mesh, limits and NoC latencies as `loihi`.
/// * Cycles (1 GHz): message in 16 (16 ns), synaptic op 4 (dense 3.8 ns), neuron 6 inactive (soma
///   access 6.0 ns) / 10 active (6.0 + 3.7 ns), spike out 30 (30 ns), message out 5 (5.1 ns); trace 6
///   \[assumption: = soma access\]; learning 6 per synapse and barrier as `loihi` (SANA-FE has no learning
///   stage; Davies 2018).
/// * Energy (pJ): synaptic op 35.5 (dense), neuron 51.2 inactive / 72.8 active (51.2 + 21.6), spike out
///   69.3, message out 111, hop 3.0 E-W / 4.2 N-S (SANA-FE); within tile 1.7 and learning 120 (Davies
///   2018); trace 51.2 \[assumption: = soma access\]; message in 0 (not given); static 0.8 mW per core
///   (Frady 2020, derived).
pub fn loihi_sana_fe() -> ChipDesc {
    let mut d = loihi();
    d.name = "loihi-sana-fe (silicon-calibrated, SANA-FE)".into();
    d.cost.neuron_inactive = 6;
    d.cost.neuron_active = 10;
    d.cost.trace = 6;
    d.cost.spike_out = 30;
    d.energy = EnergyModel {
        axon_in_pj: 0.0,
        syn_op_pj: 35.5,
        neuron_inactive_pj: 51.2,
        neuron_active_pj: 72.8,
        trace_pj: 51.2,
        spike_out_pj: 69.3,
        msg_out_pj: 111.0,
        learn_pj: 120.0,
        hop_ew_pj: 3.0,
        hop_ns_pj: 4.2,
        local_pj: 1.7,
        static_mw_per_core: 0.8,
    };
    d
}

/// `reckon`: one ReckOn core (Frenkel & Indiveri, ISSCC 2022; `ChFrenkel/ReckOn`; `hardware.md` §1.2).
/// * 256 recurrent neurons; input axons 512 = 256 virtual inputs + 256 recurrent; output axons 256
///   (derived: one core, each neuron drives its own recurrent row); weight SRAMs 64 kB input + 64 kB
///   recurrent of 8-bit weights, dense (ReckOn doc).
/// * Clock 100 MHz \[assumption: §5.2 suggests 100–300 MHz for synchronous presets\].
/// * Cycles: 16 synapses per cycle (one 128-bit word of 8-bit weights, ReckOn doc); learning 16 weights
///   per word, 2 cycles per word (read + write) \[assumption on the cycles\]; message in, neuron update
///   (2 neurons per 128-bit word), trace update, spike out 1 cycle each \[assumption\]; no NoC and no
///   barrier (single core, tick-based).
/// * Energy: 5.3 pJ per synaptic op at 0.5 V (paper abstract), an all-in figure, so every other
///   per-event energy and static power are 0 here.
pub fn reckon() -> ChipDesc {
    ChipDesc {
        name: "reckon (Frenkel & Indiveri ISSCC 2022)".into(),
        clock_mhz: 100.0,
        mesh: Mesh { width: 1, height: 1, cores_per_tile: 1 },
        limits: CoreLimits {
            neurons: 256,
            syn_mem_bits: (64 + 64) * 1024 * 8,
            weight_bits: 8,
            input_axons: 512,
            output_axons: 256,
            encoding: SynEncoding::Dense,
        },
        cost: CostModel {
            axon_in: 1,
            syn_op: 1,
            syn_lanes: 16,
            neuron_inactive: 1,
            neuron_active: 1,
            trace: 1,
            spike_out: 1,
            msg_out: 0,
            learn: LearnCost::RowVector { lanes: 16, cycles_per_vector: 2 },
            barrier_base_millicycles: 0,
            barrier_per_tile_millicycles: 0,
        },
        noc: NocDesc {
            routing: RoutingKind::Xy,
            hop_ew: 0,
            hop_ns: 0,
            local: 0,
            link_packets_per_cycle: 1,
            buffer_packets: 1,
            packet_bits: 32,
            inject_packets: 0,
        },
        energy: EnergyModel {
            axon_in_pj: 0.0,
            syn_op_pj: 5.3,
            neuron_inactive_pj: 0.0,
            neuron_active_pj: 0.0,
            trace_pj: 0.0,
            spike_out_pj: 0.0,
            msg_out_pj: 0.0,
            learn_pj: 0.0,
            hop_ew_pj: 0.0,
            hop_ns_pj: 0.0,
            local_pj: 0.0,
            static_mw_per_core: 0.0,
        },
    }
}

/// `brainscales2`: the digital side of BrainScaleS-2 (Pehle et al. 2022; Billaudelle 2022;
/// `hardware.md` §1.2, §5.2). Analog neurons and synapses cost no digital cycles; learning runs on the
/// two PPUs (one per vertical half), modelled as two cores of 256 neurons.
/// * Per half: 256 neurons (2 rows × 256 split in halves), 256 inputs per neuron (synapse rows), 6-bit
///   weights in a dense array: 256 × 256 × 6 bits (doc). Output axons 256 [assumption: one route per
///   neuron through the on-chip router].
/// * PPU clock 250 MHz \[assumption: the PPU clock is an open item, §6\].
/// * Learning: row-wise vector access, 128 lanes of 8 bits (6-bit weights), 7 cycles per vector =
///   2 loads + 3 ops + 2 stores \[assumption on k = 3, §5.2\]; trace update 1 cycle \[assumption\].
/// * Energy: whole chip 57 mW during the Pong R-STDP demo (Wunderlich et al. 2019) charged as static
///   power, 28.5 mW per half; per-event energies are not published (0).
pub fn brainscales2() -> ChipDesc {
    ChipDesc {
        name: "brainscales2 (HICANN-X digital side, PPU learning)".into(),
        clock_mhz: 250.0,
        mesh: Mesh { width: 1, height: 1, cores_per_tile: 2 },
        limits: CoreLimits {
            neurons: 256,
            syn_mem_bits: 256 * 256 * 6,
            weight_bits: 6,
            input_axons: 256,
            output_axons: 256,
            encoding: SynEncoding::Dense,
        },
        cost: CostModel {
            axon_in: 0,
            syn_op: 0,
            syn_lanes: 1,
            neuron_inactive: 0,
            neuron_active: 0,
            trace: 1,
            spike_out: 0,
            msg_out: 0,
            learn: LearnCost::RowVector { lanes: 128, cycles_per_vector: 7 },
            barrier_base_millicycles: 0,
            barrier_per_tile_millicycles: 0,
        },
        noc: NocDesc {
            routing: RoutingKind::Xy,
            hop_ew: 0,
            hop_ns: 0,
            local: 0,
            link_packets_per_cycle: 1,
            buffer_packets: 1,
            packet_bits: 32,
            inject_packets: 0,
        },
        energy: EnergyModel {
            axon_in_pj: 0.0,
            syn_op_pj: 0.0,
            neuron_inactive_pj: 0.0,
            neuron_active_pj: 0.0,
            trace_pj: 0.0,
            spike_out_pj: 0.0,
            msg_out_pj: 0.0,
            learn_pj: 0.0,
            hop_ew_pj: 0.0,
            hop_ns_pj: 0.0,
            local_pj: 0.0,
            static_mw_per_core: 57.0 / 2.0,
        },
    }
}

/// `mcu`: one Cortex-M4F-class microcontroller running the core from RAM. **Cycle costs derived from the
/// firmware's measured Cortex-M4 instruction counts** (`firmware/BENCH.md`, phase split of
/// `bash firmware/profile.sh`: learning steps 300–319 (index from 0) of `firmware/images/reference.pcimg`,
/// 62 259 instructions per step, refitted after issue 14's last firmware session), one instruction = one
/// cycle \[assumption: CPI 1, not measured\]; each cost is a phase's instructions per step divided by the
/// events the emulator charges in that phase, rounded to nearest (derivation in
/// `hw-notes/emulator-presets.md`):
/// * learning 10 per weight update (layer learn with `grad_factors` + readout learn 32 515 / 3 303.9
///   updates);
/// * synaptic op 8 per 3 synapses (`syn_lanes` 3: the dense binary-event loop sums three rows into each
///   dendritic sum per load and store, `layer::add_rows`, ≈ 2.7 instructions per synapse; from the code,
///   as before, not fitted);
/// * trace 16 ((integrate 8 483 − 8/3 × 2 003.2 synaptic ops) / 192 ε^x decays);
/// * neuron 93 active and inactive alike ((fire 13 905 − 16 × 128 ẽ^f) / 128; the window cannot tell
///   them apart) — a learning fire: inference-only networks are overcharged (their fire is a cheaper
///   specialised loop; predicted vs measured per reference inference step in `hw-notes/emulator-presets.md`);
/// * message in 29 (`Net::step` deliver and glue 702 / 24.6 events); spike out and message out 0 (one
///   core: a spike is a list entry, counted in the glue).
///
/// Still \[assumption\]: 64 MHz; 512 neurons, 1024 input axons, 512 output axons; 128 kB of 16-bit
/// weights, dense; energy 50 pJ per cycle of each event, static 1 mW.
pub fn mcu() -> ChipDesc {
    let pj = 50.0;
    // Cycles per event (derived above; instructions at CPI 1).
    let (axon_in, syn_op, neuron, trace, learn) = (29u32, 8u32, 93u32, 16u32, 10u32);
    ChipDesc {
        name: "mcu (Cortex-M4F class, costs from the firmware's measured instructions)".into(),
        clock_mhz: 64.0,
        mesh: Mesh { width: 1, height: 1, cores_per_tile: 1 },
        limits: CoreLimits {
            neurons: 512,
            syn_mem_bits: 128 * 1024 * 8,
            weight_bits: 16,
            input_axons: 1024,
            output_axons: 512,
            encoding: SynEncoding::Dense,
        },
        cost: CostModel {
            axon_in,
            syn_op,
            syn_lanes: 3,
            neuron_inactive: neuron,
            neuron_active: neuron,
            trace,
            spike_out: 0,
            msg_out: 0,
            learn: LearnCost::PerSynapse { cycles: learn },
            barrier_base_millicycles: 0,
            barrier_per_tile_millicycles: 0,
        },
        noc: NocDesc {
            routing: RoutingKind::Xy,
            hop_ew: 0,
            hop_ns: 0,
            local: 0,
            link_packets_per_cycle: 1,
            buffer_packets: 1,
            packet_bits: 32,
            inject_packets: 0,
        },
        energy: EnergyModel {
            axon_in_pj: axon_in as f64 * pj,
            syn_op_pj: syn_op as f64 * pj,
            neuron_inactive_pj: neuron as f64 * pj,
            neuron_active_pj: neuron as f64 * pj,
            trace_pj: trace as f64 * pj,
            spike_out_pj: 0.0,
            msg_out_pj: 0.0,
            learn_pj: learn as f64 * pj,
            hop_ew_pj: 0.0,
            hop_ns_pj: 0.0,
            local_pj: 0.0,
            static_mw_per_core: 1.0,
        },
    }
}

/// `loihi-xl`: a **hypothetical** chip for workloads Loihi 1 refuses (W1 at N = 4000 and 16000): the
/// `loihi` pre-silicon cycle and energy constants and NoC, with 8192 neurons per core (Loihi 2's derived
/// 1 M / 128, `hardware.md` §1.1) and the axon and synapse-memory limits lifted (65,535 input axons,
/// 2³² − 1 output axons, 2⁴⁰ synapse bits), on an 8 × 8 × 4 mesh. Not a real chip: use it for
/// throughput studies only.
pub fn loihi_xl() -> ChipDesc {
    let mut d = loihi();
    d.name = "loihi-xl (hypothetical: loihi constants, lifted per-core limits)".into();
    d.mesh = Mesh { width: 8, height: 8, cores_per_tile: 4 };
    d.limits.neurons = 8192;
    d.limits.input_axons = 65_535;
    d.limits.output_axons = u32::MAX;
    d.limits.syn_mem_bits = 1 << 40;
    d
}

/// `loihi-xl-tiles`: `loihi-xl` with **one core per tile** on a 16 × 16 mesh (256 cores), so that every
/// pair of cores talks over mesh links (W1 at N = 16000 in 8192-neuron cores sits on two neighbouring
/// tiles instead of one) and a bounded injection queue of 16 packets per tile (back-pressure into the
/// cores; \[assumption\]: Loihi's per-core output buffering is not published, `hardware.md` §5.3). Same
/// cycle and energy constants as `loihi`; hypothetical, for studies of traffic crossing links.
pub fn loihi_xl_tiles() -> ChipDesc {
    let mut d = loihi_xl();
    d.name = "loihi-xl-tiles (hypothetical: loihi-xl, one core per tile, bounded injection)".into();
    d.mesh = Mesh { width: 16, height: 16, cores_per_tile: 1 };
    d.noc.inject_packets = 16;
    d
}
