//! The emulator checks a step's target at its boundary, as `Net::step` does: an MSE target of the wrong
//! length is an error before the step (the chip's state, time and counters do not move), never a target
//! padded with zeros.

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
