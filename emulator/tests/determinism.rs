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
