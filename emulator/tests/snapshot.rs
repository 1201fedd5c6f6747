//! Snapshots: a run saved mid-training and restored into a fresh chip continues bit for bit; files are
//! written atomically; damaged, truncated, foreign or wrong-version files are refused with a clear error
//! and leave the chip untouched.

mod common;
use common::*;
use plasticore_core::prelude::*;
use plasticore_emu::mapping::Mapping;
use plasticore_emu::{presets, EmuError, EmuOptions, Emulator, NoObserver};

fn build() -> Emulator {
    build_with(false, 1)
}

fn build_with(sparse: bool, epoch: u32) -> Emulator {
    let mut spec = random_net(33, 6, 30, if epoch > 1 { None } else { Some(2) }, true, true, true, 60);
    spec.sparse = sparse;
    spec.learn_epoch = epoch;
    let chip = presets::loihi_sana_fe();
    let m = Mapping::from_lengths(&[10, 5, 15], spec.readout.is_some(), chip.mesh.cores());
    Emulator::with_mapping(chip, spec, m, EmuOptions::default()).unwrap()
}

fn steps(emu: &mut Emulator, from: usize, to: usize) -> Vec<(Vec<u16>, plasticore_emu::StepReport)> {
    let inputs = random_inputs(33, 6, 60, 40);
    let targets = random_targets(33, 2, 60);
    let lam: Vec<i32> = (0..30).map(|j| (j * 4099 % 65536) - 32768).collect();
    (from..to)
        .map(|t| {
            let tg = if emu.readout().is_some() { Target::Values(&targets[t]) } else { Target::Lambda(&lam) };
            let r = emu.step(Timestep(t as u32), &inputs[t], tg, &mut NoObserver).unwrap();
            (emu.last_spikes().to_vec(), r)
        })
        .collect()
}

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("plasticore-emu-test-{}-{name}", std::process::id()))
}

#[test]
fn restored_run_continues_bit_for_bit() {
    let mut a = build();
    steps(&mut a, 0, 25);
    let path = tmp("cont.snap");
    a.save(&path).unwrap();
    assert!(!std::path::Path::new(&format!("{}.tmp", path.display())).exists(), "temp file renamed away");
    // The chip at the moment of saving: its clock, weights, neuron states and traces. (`last_spikes` is
    // the previous step's report, not state: the recurrent events it caused are in the saved inboxes.)
    let saved = (a.time(), a.hidden_weights(), a.hidden_state(), a.hidden_etrace());
    assert!(saved.0.steps == 25 && saved.0.cycles.0 > 0, "the saved chip has run: {:?}", saved.0);
    let ra = steps(&mut a, 25, 60);
    let mut b = build();
    b.load(&path).unwrap();
    // The restored chip is the saved one, clock included (not merely another copy of the same file).
    assert_eq!(b.time(), saved.0, "clock");
    assert_eq!(b.hidden_weights(), saved.1, "weights");
    assert_eq!(b.hidden_state(), saved.2, "neuron states");
    assert_eq!(b.hidden_etrace(), saved.3, "eligibility traces");
    // Every byte came back, the routers' arbitration state (format version 4) included.
    assert_eq!(b.snapshot_bytes(), std::fs::read(&path).unwrap());
    let rb = steps(&mut b, 25, 60);
    assert_eq!(ra, rb);
    assert!(ra.iter().any(|(_, r)| r.ops.weight_updates > 0), "training must continue");
    assert_eq!(a.snapshot_bytes(), b.snapshot_bytes());
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn sparse_learning_epochs_continue_bit_for_bit() {
    // Sparse storage and hidden-layer learning epochs of 4 steps, saved in the middle of an epoch.
    let mut a = build_with(true, 4);
    steps(&mut a, 0, 22);
    let bytes = a.snapshot_bytes();
    let ra = steps(&mut a, 22, 50);
    let mut b = build_with(true, 4);
    b.restore_bytes(&bytes).unwrap();
    assert_eq!(ra, steps(&mut b, 22, 50));
    assert_eq!(a.hidden_weights(), b.hidden_weights());
    assert!(ra.iter().any(|(_, r)| r.ops.weight_updates > 0));
    // Another structure (dense) refuses it.
    let mut c = build_with(false, 4);
    assert!(c.restore_bytes(&bytes).is_err());
}

#[test]
fn damaged_files_are_refused_and_leave_the_chip_untouched() {
    let mut a = build();
    steps(&mut a, 0, 10);
    let good = a.snapshot_bytes();
    let mut b = build();
    let before = b.snapshot_bytes();
    let expect = |r: Result<(), EmuError>, what: &str| match r {
        Err(EmuError::Snapshot(m)) => assert!(m.contains(what), "message `{m}` should mention `{what}`"),
        other => panic!("expected a snapshot error about {what}, got {other:?}"),
    };
    let mut flipped = good.clone();
    let k = flipped.len() - 7;
    flipped[k] ^= 0x10;
    expect(b.restore_bytes(&flipped), "checksum");
    expect(b.restore_bytes(&good[..good.len() - 3]), "length");
    expect(b.restore_bytes(&good[..10]), "too short");
    let mut magic = good.clone();
    magic[0] = b'X';
    expect(b.restore_bytes(&magic), "magic");
    let mut ver = good.clone();
    ver[8] = 99;
    expect(b.restore_bytes(&ver), "version");
    // A snapshot of another network.
    let other = {
        let spec = random_net(34, 6, 30, Some(2), true, true, true, 60);
        let chip = presets::loihi_sana_fe();
        let m = Mapping::from_lengths(&[30], true, chip.mesh.cores());
        Emulator::with_mapping(chip, spec, m, EmuOptions::default()).unwrap().snapshot_bytes()
    };
    expect(b.restore_bytes(&other), "different chip");
    assert_eq!(b.snapshot_bytes(), before, "failed loads must not change the chip");
    let missing = b.load(std::path::Path::new("/nonexistent/dir/x.snap"));
    assert!(matches!(missing, Err(EmuError::Io { .. })));
    b.restore_bytes(&good).unwrap();
    assert_eq!(b.snapshot_bytes(), good);
}

#[test]
fn frozen_cores_continue_bit_for_bit_and_fingerprint_their_weights() {
    // Sparse inference runs on frozen cores: their synapses are part of the network (fingerprint), not
    // of the state, so a chip with other frozen weights refuses the snapshot.
    let make = |bump: bool| {
        let mut spec = random_net(41, 6, 30, Some(2), false, true, true, 60);
        spec.sparse = true;
        if bump {
            if let Some(w) = spec.weights.iter_mut().find(|w| w.0 != 0 && w.0 < 100) {
                w.0 += 1;
            }
        }
        let chip = presets::loihi_sana_fe();
        let m = Mapping::from_lengths(&[10, 5, 15], true, chip.mesh.cores());
        Emulator::with_mapping(chip, spec, m, EmuOptions::default()).unwrap()
    };
    let mut a = make(false);
    assert!(a.cores().iter().all(|c| c.is_frozen()));
    steps(&mut a, 0, 20);
    let bytes = a.snapshot_bytes();
    let ra = steps(&mut a, 20, 50);
    let mut b = make(false);
    b.restore_bytes(&bytes).unwrap();
    assert_eq!(ra, steps(&mut b, 20, 50));
    assert!(make(true).restore_bytes(&bytes).is_err());
}

#[test]
fn readout_learning_epochs_continue_bit_for_bit() {
    // Hidden layer and readout learning in epochs of 4 steps, saved in the middle of an epoch: the
    // readout's accumulator is part of the state.
    let make = || {
        let mut spec = random_net(35, 6, 30, Some(2), true, true, true, 60);
        spec.learn_epoch = 4;
        let chip = presets::loihi_sana_fe();
        let m = Mapping::from_lengths(&[10, 5, 15], true, chip.mesh.cores());
        Emulator::with_mapping(chip, spec, m, EmuOptions::default()).unwrap()
    };
    let mut a = make();
    steps(&mut a, 0, 22);
    let bytes = a.snapshot_bytes();
    let ra = steps(&mut a, 22, 50);
    let mut b = make();
    b.restore_bytes(&bytes).unwrap();
    assert_eq!(ra, steps(&mut b, 22, 50));
    assert_eq!(a.readout().unwrap().weights(), b.readout().unwrap().weights());
    assert!(ra.iter().any(|(_, r)| r.ops.weight_updates > 0));
}
