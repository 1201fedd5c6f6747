//! The emulator checks a step's target at its boundary, as `Net::step` does: an MSE target of the wrong
//! length is an error before the step (the chip's state, time and counters do not move), never a target
//! padded with zeros. An external λ (`Target::Lambda` with `Feedback::External`) must hold one value per
//! hidden neuron: the emulator refuses any other length before the step, where core-nostd's `Net::step`
//! pads a shorter one with zeros (its `Target::check` does not know the neuron count); the last test
//! documents that difference.

mod common;
use common::*;
use plasticore_core::prelude::*;
use plasticore_emu::mapping::Mapping;
use plasticore_emu::{presets, EmuError, EmuOptions, Emulator, NoObserver};

#[test]
fn mse_target_of_the_wrong_length_is_an_error_before_the_step() {
    let spec = random_net(71, 4, 12, Some(2), true, false, false, 70);
    let chip = presets::loihi();
    let m = Mapping::from_lengths(&[5, 7], true, chip.mesh.cores());
    let mut emu = Emulator::with_mapping(chip, spec, m, EmuOptions::default()).unwrap();
    let inputs = random_inputs(3, 4, 10, 40);
    let targets = random_targets(4, 2, 10);
    for t in 0..10 {
        emu.step(Timestep(t as u32), &inputs[t], Target::Values(&targets[t]), &mut NoObserver).unwrap();
    }
    let before = emu.snapshot_bytes();
    for bad in [&[][..], &[1 << 16][..], &[1, 2, 3][..]] {
        let e = emu.step(Timestep(10), &inputs[0], Target::Values(bad), &mut NoObserver).unwrap_err();
        assert!(
            matches!(e, EmuError::Core(ConfigError::SizeMismatch { field: Field::Target, expected: 2, found }) if found == bad.len()),
            "{e}"
        );
        assert_eq!(emu.snapshot_bytes(), before, "a rejected step changed the chip");
    }
    emu.step(Timestep(10), &inputs[0], Target::Values(&targets[0]), &mut NoObserver).unwrap();
    assert_ne!(emu.snapshot_bytes(), before);
}

#[test]
fn external_lambda_of_the_wrong_length_is_an_error_before_the_step() {
    let spec = random_net(72, 4, 12, None, true, false, false, 70);
    let chip = presets::loihi();
    let m = Mapping::from_lengths(&[5, 7], false, chip.mesh.cores());
    let mut emu = Emulator::with_mapping(chip, spec, m, EmuOptions::default()).unwrap();
    let inputs = random_inputs(3, 4, 10, 40);
    let lam: Vec<i32> = (0..12i32).map(|j| (j - 6) << 10).collect();
    for (t, inp) in inputs.iter().enumerate() {
        emu.step(Timestep(t as u32), inp, Target::Lambda(&lam), &mut NoObserver).unwrap();
    }
    let before = emu.snapshot_bytes();
    for bad in [&lam[..11], &lam[..0], &[1; 13][..]] {
        let e = emu.step(Timestep(10), &inputs[0], Target::Lambda(bad), &mut NoObserver).unwrap_err();
        assert!(
            matches!(e, EmuError::Core(ConfigError::SizeMismatch { field: Field::Target, expected: 12, found }) if found == bad.len()),
            "{e}"
        );
        assert_eq!(emu.snapshot_bytes(), before, "a rejected step changed the chip");
    }
    emu.step(Timestep(10), &inputs[0], Target::Lambda(&lam), &mut NoObserver).unwrap();
    assert_ne!(emu.snapshot_bytes(), before);
}

/// Documents core-nostd's behaviour that the emulator refuses: its layer (what `Net::step` runs with
/// `Feedback::External`) takes an external λ shorter than the neurons and gives the missing neurons
/// λ = 0: the same weights as the zero-padded λ.
#[test]
fn core_nostd_pads_a_short_external_lambda_with_zeros() {
    let spec = random_net(72, 4, 12, None, true, false, false, 70);
    let lam: Vec<i32> = (0..12i32).map(|j| if j < 11 { (j - 6) << 12 } else { 0 }).collect();
    let inputs = random_inputs(3, 4, 10, 40);
    let run = |l: &[i32]| {
        let mut r = Reference::new(&spec);
        for (t, inp) in inputs.iter().enumerate() {
            r.step(t as u32, inp, Target::Lambda(l));
        }
        r.dense_weights()
    };
    assert_eq!(run(&lam[..11]), run(&lam), "a short λ is the zero-padded λ");
    let mut other = lam.clone();
    other[11] = 1 << 14;
    assert_ne!(run(&other), run(&lam), "the last neuron's λ matters, so the padding is observable");
}
