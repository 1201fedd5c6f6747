//! Determinism: the same run with 1, 2 and 3 worker threads (each emulator builds its own explicit
//! rayon pool) gives identical spikes, weights, states, traces, cycle counts and energy; and turning the
//! timing model off changes no functional result.

mod common;
use common::*;
use plasticore_core::prelude::*;
use plasticore_emu::mapping::Mapping;
use plasticore_emu::{presets, EmuOptions, Emulator, NoObserver, StepReport};

fn run(threads: usize, timing: bool) -> (Emulator, Vec<StepReport>, Vec<Vec<u16>>) {
    let spec = random_net(21, 10, 60, Some(3), true, true, false, 50);
    let chip = presets::loihi();
    let m = Mapping::from_lengths(&[9, 11, 7, 13, 8, 12], true, chip.mesh.cores());
    let mut emu = Emulator::with_mapping(chip, spec, m, EmuOptions { threads, timing, strict: false }).unwrap();
    let inputs = random_inputs(21, 10, 80, 30);
    let targets = random_targets(21, 3, 80);
    let mut reps = Vec::new();
    let mut spikes = Vec::new();
    for t in 0..80 {
        reps.push(emu.step(Timestep(t as u32), &inputs[t], Target::Values(&targets[t]), &mut NoObserver).unwrap());
        spikes.push(emu.last_spikes().to_vec());
    }
    (emu, reps, spikes)
}

#[test]
fn identical_for_1_2_3_threads() {
    let (a, ra, sa) = run(1, true);
    assert!(ra.iter().map(|r| r.spikes).sum::<u32>() > 0, "the run must spike");
    assert!(ra.iter().any(|r| r.ops.weight_updates > 0), "the run must learn");
    for threads in [2, 3] {
        let (b, rb, sb) = run(threads, true);
        assert_eq!(sa, sb, "{threads} threads: spikes");
        assert_eq!(ra, rb, "{threads} threads: reports (cycles, energy, counts)");
        assert_eq!(a.hidden_weights(), b.hidden_weights());
        assert_eq!(a.hidden_state(), b.hidden_state());
        assert_eq!(a.hidden_etrace(), b.hidden_etrace());
        assert_eq!(a.readout().unwrap().weights(), b.readout().unwrap().weights());
        assert_eq!(a.snapshot_bytes(), b.snapshot_bytes(), "{threads} threads: whole chip state");
    }
}

#[test]
fn timing_off_changes_no_functional_result() {
    let (a, ra, sa) = run(1, true);
    let (b, rb, sb) = run(2, false);
    assert_eq!(sa, sb);
    assert_eq!(a.hidden_weights(), b.hidden_weights());
    assert_eq!(a.hidden_state(), b.hidden_state());
    assert_eq!(a.readout().unwrap().outputs(), b.readout().unwrap().outputs());
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(x.ops, y.ops);
        assert_eq!(x.loss_q16, y.loss_q16);
        assert_eq!(y.cycles.0, 0, "timing off reports no cycles");
        assert!(x.cycles.0 > 0);
    }
}

#[test]
fn placement_changes_timing_not_results() {
    let spec = random_net(23, 10, 60, Some(3), true, false, false, 50);
    let chip = presets::loihi();
    let inputs = random_inputs(23, 10, 40, 30);
    let targets = random_targets(23, 3, 40);
    let run = |stride: usize| {
        let m = Mapping::from_lengths(&[15; 4], true, chip.mesh.cores()).spread(stride);
        let mut e = Emulator::with_mapping(chip.clone(), spec.clone(), m, EmuOptions::default()).unwrap();
        let mut stats = plasticore_emu::Stats::default();
        let mut cycles = 0;
        for t in 0..40 {
            cycles += e.step(Timestep(t as u32), &inputs[t], Target::Values(&targets[t]), &mut stats).unwrap().cycles.0;
        }
        (e, stats, cycles)
    };
    let (a, sa, ca) = run(1);
    let (b, sb, cb) = run(4);
    assert_eq!(a.hidden_weights(), b.hidden_weights());
    assert_eq!(a.hidden_state(), b.hidden_state());
    assert_eq!(a.readout().unwrap().weights(), b.readout().unwrap().weights());
    // Packed: 5 cores on tiles 0-1; spread: one per tile, tiles 0-4 along the first row.
    assert_eq!(sa.packets, sb.packets);
    assert!(sb.link_load.iter().sum::<u64>() > sa.link_load.iter().sum::<u64>());
    assert_ne!(ca, cb);
}
