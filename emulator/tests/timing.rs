//! Timing and energy, each number computed by hand:
//! * `cycles_for_hand_built_activity`: per-phase cycles of one step on one core, and latency = slowest
//!   core + drain + barrier (with the recurrent packet's local delivery as the drain).
//! * `energy_equals_sum_of_event_costs`: the same step's energy = Σ events × per-event energy + static.
//! * `hop_latency_is_hops_times_hop_cost`: no contention → hops × hop cost (E-W and N-S differ).
//! * `contention_delay_by_hand`: two packets want one link in the same cycle; the loser waits one cycle.
//! * `back_pressure_by_hand`: a 1-packet buffer throttles three packets to one every three cycles.
//! * `barrier_formula`: 113 + 11.4·(tiles − 1) cycles on `loihi`, rounded up, and in a real step.

use plasticore_core::format::Weight;
use plasticore_core::net::Timestep;
use plasticore_core::readout::Target;
use plasticore_emu::chip::ChipDesc;
use plasticore_emu::mapping::Mapping;
use plasticore_emu::noc::mesh::{MeshSim, Packet};
use plasticore_emu::{presets, Cycle, EmuOptions, Emulator, NoObserver};

mod common;

const CHIP: &str = r#"
name = "hand"
clock_mhz = 1000.0

[mesh]
width = 2
height = 1
cores_per_tile = 2

[limits]
neurons = 16
syn_mem_bits = 100000
weight_bits = 8
input_axons = 64
output_axons = 64
encoding = { kind = "sparse", header_bits = 10, word_bits = 64, min_index_bits = 6 }

[cost]
axon_in = 3
syn_op = 2
syn_lanes = 1
neuron_inactive = 5
neuron_active = 7
trace = 11
spike_out = 13
msg_out = 17
learn = { kind = "per-synapse", cycles = 19 }
barrier_base_millicycles = 100000
barrier_per_tile_millicycles = 50500

[noc]
routing = "xy"
hop_ew = 4
hop_ns = 7
local = 2
link_packets_per_cycle = 1
buffer_packets = 4
packet_bits = 32

[energy]
axon_in_pj = 1.0
syn_op_pj = 10.0
neuron_inactive_pj = 100.0
neuron_active_pj = 1000.0
trace_pj = 0.5
spike_out_pj = 10000.0
msg_out_pj = 100000.0
learn_pj = 0.25
hop_ew_pj = 3.0
hop_ns_pj = 4.0
local_pj = 0.125
static_mw_per_core = 0.001
"#;

/// 2 inputs → 3 neurons (delta LIF, threshold 1.0, weights Q.6), recurrent, one core.
/// Row 0 = [127, 0, 5] (neuron 0 spikes on input 0, 1.98 > 1), row 1 = 0, recurrent rows 0.
fn hand_net() -> plasticore_emu::NetworkSpec {
    let mut spec = common::random_net(1, 2, 3, None, false, false, false, 0);
    spec.weights = vec![Weight(0); 5 * 3];
    spec.weights[0] = Weight(127);
    spec.weights[2] = Weight(5);
    spec
}

#[test]
fn cycles_for_hand_built_activity() {
    let chip = ChipDesc::from_toml(CHIP).unwrap();
    let m = Mapping::from_lengths(&[3], false, chip.mesh.cores());
    let mut emu = Emulator::with_mapping(chip, hand_net(), m, EmuOptions::default()).unwrap();
    let mut stats = plasticore_emu::Stats::default();
    let r = emu.step(Timestep(0), &[0], Target::None, &mut stats).unwrap();
    assert_eq!(r.spikes, 1);
    // deliver: 1 event × 3; integrate: row 0 stores 2 synapses × 2; fire: 2 × 5 + 1 × 7;
    // route: 1 spike × 13 + 1 packet (to itself, recurrent) × 17.
    let (d, i, f, ro) = (3, 4, 17, 13 + 17);
    let c = &stats.busy;
    assert_eq!(c[0], d + i + f + ro);
    // The packet is injected at d+i+f+13+17 = 54 and delivered within the tile 2 cycles later.
    assert_eq!(r.slowest_core, Cycle(54));
    assert_eq!(r.drain, Cycle(2));
    assert_eq!(r.barrier, Cycle(100)); // one tile in use: ⌈100000/1000⌉
    assert_eq!(r.cycles, Cycle(54 + 2 + 100));
    // Step 1: no input; the recurrent event on axon 2 + 0 has an empty row (0 stored synapses).
    let r = emu.step(Timestep(1), &[], Target::None, &mut stats).unwrap();
    // V of neuron 0 was reset by subtraction: (1.98 − 1)·0.9 = 0.89 < 1, no spike; neuron 2 decays to
    // 0.9·5/64. So: deliver 1 × 3, integrate 0, fire 3 × 5, no route.
    assert_eq!(r.spikes, 0);
    assert_eq!(r.slowest_core, Cycle(3 + 15));
    assert_eq!(r.drain, Cycle(0));
    assert_eq!(r.cycles, Cycle(18 + 100));
    assert_eq!(emu.time().cycles, Cycle(156 + 118));
}

#[test]
fn energy_equals_sum_of_event_costs() {
    let chip = ChipDesc::from_toml(CHIP).unwrap();
    let m = Mapping::from_lengths(&[3], false, chip.mesh.cores());
    let mut emu = Emulator::with_mapping(chip, hand_net(), m, EmuOptions::default()).unwrap();
    let r = emu.step(Timestep(0), &[0], Target::None, &mut NoObserver).unwrap();
    // deliver 1 event × 1; integrate 2 syn × 10; fire 2 × 100 + 1 × 1000; route 1 spike × 10000 +
    // 1 packet × 100000; NoC: 1 within-tile delivery × 0.125; static 0.001 mW × 4 cores × 156 ns.
    let e = r.energy;
    assert_eq!(e.phases, [1.0, 20.0, 1200.0, 110000.0, 0.0]);
    assert_eq!(e.noc, 0.125);
    assert!((e.static_ - 0.001 * 4.0 * 156.0).abs() < 1e-12);
    assert!((e.total() - (1.0 + 20.0 + 1200.0 + 110000.0 + 0.125 + 0.624)).abs() < 1e-9);
}

#[test]
fn learning_cycles_and_energy_per_weight_update() {
    // Same network with learning and an external λ on every neuron: ε^x ≠ 0 on axons 0 (input) only at
    // step 0, λ ≠ 0 where ẽ^f ≠ 0; weight updates = rows × active columns as counted by the core.
    let chip = ChipDesc::from_toml(CHIP).unwrap();
    let mut spec = hand_net();
    spec.learn = true;
    spec.window = plasticore_core::net::LossWindow::ALWAYS;
    let m = Mapping::from_lengths(&[3], false, chip.mesh.cores());
    let mut emu = Emulator::with_mapping(chip, spec, m, EmuOptions::default()).unwrap();
    let lam = [65536, 65536, 65536];
    let mut stats = plasticore_emu::Stats::default();
    let r = emu.step(Timestep(0), &[0], Target::Lambda(&lam), &mut stats).unwrap();
    let wu = r.ops.weight_updates as u64;
    assert!(wu > 0, "the step must learn");
    // Learning stores every synapse (any weight may change): row 0 costs 3 synaptic ops × 2.
    // Traces: integrate 5 ε^x updates, fire 3 ẽ^f updates, × 11 cycles; learn wu × 19 after route.
    // One row (axon 0) has ε^x ≠ 0 and every neuron has ẽ^f ≠ 0 and λ ≠ 0: wu = 1 × 3.
    assert_eq!(wu, 3);
    assert_eq!(stats.busy[0], 3 + 6 + 5 * 11 + 17 + 3 * 11 + 30 + wu * 19);
    assert_eq!(r.energy.phases[4], wu as f64 * 0.25);
    assert_eq!(r.energy.phases[1], 30.0 + 5.0 * 0.5);
}

fn mesh_sim(buffer: u32, k: u32) -> (MeshSim, ChipDesc) {
    let mut chip = ChipDesc::from_toml(CHIP).unwrap();
    chip.mesh = plasticore_emu::chip::Mesh { width: 4, height: 3, cores_per_tile: 1 };
    chip.noc.buffer_packets = buffer;
    chip.noc.link_packets_per_cycle = k;
    (MeshSim::new(chip.mesh, chip.noc), chip)
}

#[test]
fn hop_latency_is_hops_times_hop_cost() {
    let (mut sim, _) = mesh_sim(4, 1);
    let mut out = Vec::new();
    let (mut links, mut local) = (vec![0; 48], vec![0; 12]);
    // core = tile = y·4 + x.
    for (src, dst, ew, ns) in [(0u32, 11u32, 3u64, 2u64), (11, 0, 3, 2), (5, 6, 1, 0), (1, 9, 0, 2), (7, 4, 3, 0), (3, 3, 0, 0)] {
        let p = [Packet { src, dst, inject: Cycle(10), tag: 0 }];
        let st = sim.run(&p, &mut out, &mut links, &mut local);
        let lat = if src == dst { 2 } else { ew * 4 + ns * 7 };
        assert_eq!(out[0].arrive, Cycle(10 + lat), "{src}->{dst}");
        assert_eq!((out[0].hops_ew as u64, out[0].hops_ns as u64), (ew, ns));
        assert_eq!(out[0].delay, 0);
        assert_eq!(st.blocked, 0);
    }
    // XY: 0 → 11 uses the east links of tiles 0, 1, 2 then the south links of tiles 3 and 7.
    assert_eq!(links[0], 1);
    assert_eq!(links[4], 1);
    assert_eq!(links[8], 1);
    assert_eq!(links[3 * 4 + 3], 1);
    assert_eq!(links[7 * 4 + 3], 1);
}

#[test]
fn contention_delay_by_hand() {
    // A: tile 0 → tile 2, injected at 0, reaches tile 1 at 4 and wants its east link at cycle 4.
    // B: tile 1 → tile 2, injected at 4, wants the same link at cycle 4. One packet per cycle; the
    // round-robin pointer starts at the local port, so B goes at 4 (arrives 8) and A at 5 (arrives 9).
    let (mut sim, _) = mesh_sim(4, 1);
    let p = [Packet { src: 0, dst: 2, inject: Cycle(0), tag: 0 }, Packet { src: 1, dst: 2, inject: Cycle(4), tag: 1 }];
    let mut out = Vec::new();
    let st = sim.run(&p, &mut out, &mut [0; 48], &mut [0; 12]);
    assert_eq!(out[1].arrive, Cycle(8));
    assert_eq!(out[0].arrive, Cycle(9));
    assert_eq!(out[0].delay, 1);
    assert_eq!(out[1].delay, 0);
    assert_eq!((st.delayed, st.delay_cycles), (1, 1));
    // With 2 packets per cycle on a link there is no contention.
    let (mut sim, _) = mesh_sim(4, 2);
    let st = sim.run(&p, &mut out, &mut [0; 48], &mut [0; 12]);
    assert_eq!((out[0].arrive, out[1].arrive, st.delayed), (Cycle(8), Cycle(8), 0));
}

#[test]
fn back_pressure_by_hand() {
    // Three packets tile 0 → tile 2 at cycle 0, 1-packet buffers, 1 packet per cycle, 4-cycle hops.
    let (mut sim, _) = mesh_sim(1, 1);
    let p: Vec<Packet> = (0..3).map(|i| Packet { src: 0, dst: 2, inject: Cycle(0), tag: i }).collect();
    let mut out = Vec::new();
    let st = sim.run(&p, &mut out, &mut [0; 48], &mut [0; 12]);
    // P0: leaves tile 0 at 0 (reserving tile 1's only slot), is at tile 1 at 4, leaves at 4, arrives 8.
    // P1: blocked at 1, 2, 3, 4 (the slot frees when P0 leaves tile 1 at 4, after tile 0 was visited
    //     that cycle), leaves at 5, at tile 1 at 9, leaves at 9 (P0 left tile 2's slot at 8), arrives 13.
    // P2: blocked at 6, 7, 8, 9 (P1 holds tile 1's slot until 9), leaves at 10, arrives 18.
    let arrive: Vec<u64> = out.iter().map(|d| d.arrive.0).collect();
    assert_eq!(arrive, vec![8, 13, 18]);
    assert_eq!(st.blocked, 8);
    assert_eq!(out.iter().map(|d| d.delay).collect::<Vec<_>>(), vec![0, 5, 10]);
}

#[test]
fn bounded_injection_queue_back_pressure_by_hand() {
    // The packets of back_pressure_by_hand with an injection queue of one packet: P1 and P2 find it full
    // at 0 and wait in their core (2 refusals); P1 enters at 1 (P0 left at 0); P2 is refused at 1..=5
    // (P1 holds the slot until it leaves at 5), enters at 6. The link refusals are those of
    // back_pressure_by_hand (P1 at 1..=4, P2 at 6..=9); the link is the bottleneck, so the arrivals are
    // unchanged: 2 + 5 + 8 = 15 refusals.
    let (mut sim, mut chip) = mesh_sim(1, 1);
    chip.noc.inject_packets = 1;
    let mut sim_b = MeshSim::new(chip.mesh, chip.noc);
    let p: Vec<Packet> = (0..3).map(|i| Packet { src: 0, dst: 2, inject: Cycle(0), tag: i }).collect();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let st = sim.run(&p, &mut a, &mut [0; 48], &mut [0; 12]);
    let st_b = sim_b.run(&p, &mut b, &mut [0; 48], &mut [0; 12]);
    assert_eq!(b.iter().map(|d| d.arrive.0).collect::<Vec<_>>(), vec![8, 13, 18]);
    assert_eq!(a, b);
    assert_eq!((st.blocked, st_b.blocked), (8, 15));
    // Packets that stay on their tile take the cycle loop when the injection queue is bounded: two
    // packets at cycle 0 into a one-packet queue, one served per cycle: P1 enters at 1, served at 1.
    let q = [Packet { src: 5, dst: 5, inject: Cycle(0), tag: 0 }, Packet { src: 5, dst: 5, inject: Cycle(0), tag: 1 }];
    let st = sim_b.run(&q, &mut b, &mut [0; 48], &mut [0; 12]);
    assert_eq!((b[0].arrive.0, b[1].arrive.0, st.blocked), (2, 3, 1));
}

#[test]
fn arbitration_state_decides_contention_and_restores() {
    // Batch 1: one packet tile 1 → tile 2 moves tile 1's east-port round-robin pointer past the local
    // queue. Batch 2 is contention_delay_by_hand's: now the packet from the west (A) wins at cycle 4
    // (arrives 8) and B goes at 5 (arrives 9), the reverse of a fresh router.
    let (mut sim, chip) = mesh_sim(4, 1);
    let mut out = Vec::new();
    sim.run(&[Packet { src: 1, dst: 2, inject: Cycle(0), tag: 9 }], &mut out, &mut [0; 48], &mut [0; 12]);
    let saved = sim.arbitration().to_vec();
    let p = [Packet { src: 0, dst: 2, inject: Cycle(0), tag: 0 }, Packet { src: 1, dst: 2, inject: Cycle(4), tag: 1 }];
    sim.run(&p, &mut out, &mut [0; 48], &mut [0; 12]);
    assert_eq!((out[0].arrive, out[1].arrive), (Cycle(8), Cycle(9)));
    // A fresh router given the saved state routes batch 2 the same; without it, the other way round.
    let mut restored = MeshSim::new(chip.mesh, chip.noc);
    restored.set_arbitration(&saved).unwrap();
    let mut out2 = Vec::new();
    restored.run(&p, &mut out2, &mut [0; 48], &mut [0; 12]);
    assert_eq!(out2, out);
    let mut fresh = MeshSim::new(chip.mesh, chip.noc);
    fresh.run(&p, &mut out2, &mut [0; 48], &mut [0; 12]);
    assert_eq!((out2[0].arrive, out2[1].arrive), (Cycle(9), Cycle(8)));
    // A state of the wrong size or with a port index out of range is refused.
    assert!(fresh.set_arbitration(&saved[1..]).is_err());
    let mut bad = saved.clone();
    bad[0] = 5;
    assert!(fresh.set_arbitration(&bad).is_err());
}

#[test]
fn barrier_formula() {
    let c = presets::loihi().cost;
    assert_eq!(c.barrier_cycles(1), 113);
    assert_eq!(c.barrier_cycles(2), 125); // 124.4 rounded up
    assert_eq!(c.barrier_cycles(32), 467); // 113 + 353.4 = 466.4 rounded up
    for tiles in 1..=32u64 {
        let exact_milli = 113_000 + 11_400 * (tiles - 1);
        assert_eq!(c.barrier_cycles(tiles as usize), exact_milli.div_ceil(1000));
    }
    // A mapping over 3 tiles (9 cores of 4 per tile) pays the 3-tile barrier, and latency adds up.
    let spec = common::random_net(4, 3, 9, None, false, false, false, 50);
    let chip = presets::loihi();
    let m = Mapping::from_lengths(&[1; 9], false, chip.mesh.cores());
    let mut check = common::LatencyCheck::new(&chip, 1);
    let mut emu = Emulator::with_mapping(chip, spec, m, EmuOptions::default()).unwrap();
    for t in 0..20 {
        // The latency is the last phase or arrival the observer saw, plus the 3-tile barrier.
        let r = emu.step(Timestep(t), &[0, 1, 2], Target::None, &mut check).unwrap();
        assert_eq!(r.barrier, Cycle(c.barrier_cycles(3)));
    }
    assert_eq!(check.steps, 20);
    assert!(check.drained > 0, "some step ends with packets still in the network (a non-zero drain)");
}

#[test]
fn single_core_presets_with_a_colocated_readout_by_hand() {
    // 2 inputs → 2 recurrent delta-LIF neurons (threshold 1.0, Q.6 weights) → 1 readout on the same
    // (only) core, no learning. Input 0 drives neuron 0 with 127/64 (spikes) and neuron 1 with 5/64.
    // Every cycle count below is read from the preset's own cost table, so the test follows the table.
    for name in ["reckon", "mcu"] {
        let chip = presets::preset(name).unwrap();
        let (c, local) = (chip.cost, chip.noc.local as u64);
        let mut spec = common::random_net(1, 2, 2, Some(1), false, false, false, 0);
        spec.weights = vec![Weight(0); 4 * 2];
        spec.weights[0] = Weight(127);
        spec.weights[1] = Weight(5);
        let m = Mapping::from_lengths(&[2], true, chip.mesh.cores());
        let mut emu = Emulator::with_mapping(chip, spec, m, EmuOptions::default()).unwrap();
        assert_eq!(emu.readout().unwrap().core, 0, "{name}: the readout shares the only core");
        let lanes = |k: u64| k.div_ceil(c.syn_lanes as u64);
        let (ax, syn, inact, act) = (c.axon_in as u64, c.syn_op as u64, c.neuron_inactive as u64, c.neuron_active as u64);
        // Step 0: deliver 1 event; integrate its dense row (2 stored synapses, in lanes); fire 1 inactive
        // + 1 active neuron; route 1 spike out + 1 packet (to this core, which serves the recurrent rows
        // and the readout); the packet arrives `local` cycles later; the readout then takes 1 event
        // (1 output, in lanes) and updates its 1 unit. No learning, no NoC hop, barrier for 1 tile.
        let r_end = ax + lanes(2) * syn + inact + act + c.spike_out as u64 + c.msg_out as u64;
        let ro = ax + lanes(1) * syn + inact;
        let r = emu.step(Timestep(0), &[0], Target::None, &mut NoObserver).unwrap();
        assert_eq!(r.spikes, 1, "{name}");
        assert_eq!(r.cycles, Cycle(r_end + local + ro + c.barrier_cycles(1)), "{name} step 0");
        // Step 1: no input; neuron 0's recurrent event reads its (dense, all-zero) row; V_0 = 0.98·0.9
        // and V_1 = 0.9·5/64 stay below threshold: 2 inactive updates, no packet; the readout (no event)
        // updates its unit.
        let r = emu.step(Timestep(1), &[], Target::None, &mut NoObserver).unwrap();
        assert_eq!(r.spikes, 0, "{name}");
        assert_eq!(r.cycles, Cycle(ax + lanes(2) * syn + 2 * inact + inact + c.barrier_cycles(1)), "{name} step 1");
    }
}
