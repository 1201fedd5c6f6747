//! No panics on input from outside (property tests): arbitrary TOML text, arbitrary chip descriptions
//! that pass validation with arbitrary small networks, and hostile snapshots whose checksum was fixed up
//! after the damage (so the parser's own checks are exercised, not just the checksum). A snapshot that
//! is accepted must leave a chip that keeps stepping without panicking.

mod common;
use common::*;
use plasticore_core::prelude::*;
use plasticore_emu::chip::ChipDesc;
use plasticore_emu::mapping::{self, Mapping};
use plasticore_emu::snapshot::fnv64;
use plasticore_emu::{presets, EmuOptions, Emulator, NoObserver};
use proptest::prelude::*;

fn build() -> Emulator {
    let spec = random_net(71, 4, 12, Some(2), true, true, false, 70);
    let chip = presets::loihi();
    let m = Mapping::from_lengths(&[5, 7], true, chip.mesh.cores());
    Emulator::with_mapping(chip, spec, m, EmuOptions::default()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_toml_never_panics(text in "\\PC{0,400}") {
        let _ = ChipDesc::from_toml(&text);
    }

    #[test]
    fn mutated_preset_toml_never_panics(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<char>()), 1..6)) {
        let mut t: Vec<char> = presets::loihi().to_toml().chars().collect();
        for (i, c) in edits {
            let k = i.index(t.len());
            t[k] = c;
        }
        let s: String = t.into_iter().collect();
        if let Ok(d) = ChipDesc::from_toml(&s) {
            prop_assert!(d.validate().is_ok());
        }
    }

    #[test]
    fn random_chips_and_networks_never_panic(
        w in 1u32..4, h in 1u32..4, per in 1u32..4, neurons in 1u32..40, bits in 1u64..20_000,
        inax in 1u32..80, outax in 1u32..200, hop in 0u32..9, k in 1u32..4, buf in 1u32..4,
        ext in 1usize..8, n in 1usize..30, seed in any::<u32>(), ro in any::<bool>(), learn in any::<bool>(),
    ) {
        let mut chip = presets::loihi();
        chip.mesh = plasticore_emu::chip::Mesh { width: w, height: h, cores_per_tile: per };
        chip.limits.neurons = neurons;
        chip.limits.syn_mem_bits = bits;
        chip.limits.input_axons = inax;
        chip.limits.output_axons = outax;
        chip.noc.hop_ew = hop;
        chip.noc.link_packets_per_cycle = k;
        chip.noc.buffer_packets = buf;
        prop_assume!(chip.validate().is_ok());
        let spec = random_net(seed, ext, n, ro.then_some(2), learn, false, false, 50);
        if let Ok((m, usage)) = mapping::partition(&chip, &spec) {
            prop_assert_eq!(m.hidden.iter().map(|s| s.len).sum::<usize>(), n);
            prop_assert!(usage.iter().all(|u| u.neurons <= neurons as u64 && u.syn_bits <= bits));
            let mut check = LatencyCheck::new(&chip, m.stride);
            let mut e = Emulator::with_mapping(chip, spec, m, EmuOptions::default()).unwrap();
            let inputs = random_inputs(seed, ext, 10, 50);
            let tg = [0i32; 2];
            for (t, x) in inputs.iter().enumerate() {
                let target = if ro { Target::Values(&tg) } else { Target::None };
                // Latency = the later of the last phase and the last arrival, + the barrier (observer).
                e.step(Timestep(t as u32), x, target, &mut check).unwrap();
            }
            prop_assert_eq!(check.steps, 10);
        }
    }

    #[test]
    fn hostile_snapshots_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut a = build();
        let inputs = random_inputs(71, 4, 20, 50);
        let tg = [1000i32, -1000];
        for (t, x) in inputs.iter().enumerate().take(8) {
            a.step(Timestep(t as u32), x, Target::Values(&tg), &mut NoObserver).unwrap();
        }
        let mut bytes = a.snapshot_bytes();
        // Damage the payload (after the fingerprint), optionally truncate, then fix up length and checksum.
        for (i, v) in edits {
            let k = 36 + i.index(bytes.len() - 36);
            bytes[k] = v;
        }
        if truncate {
            let k = 36 + cut.index(bytes.len() - 36);
            bytes.truncate(k);
        }
        let len = (bytes.len() - 28) as u64;
        bytes[12..20].copy_from_slice(&len.to_le_bytes());
        let sum = fnv64(&bytes[28..]);
        bytes[20..28].copy_from_slice(&sum.to_le_bytes());
        let mut b = build();
        let before = b.snapshot_bytes();
        match b.restore_bytes(&bytes) {
            Err(_) => prop_assert_eq!(b.snapshot_bytes(), before),
            Ok(()) => {
                for (t, x) in inputs.iter().enumerate().skip(8) {
                    b.step(Timestep(t as u32), x, Target::Values(&tg), &mut NoObserver).unwrap();
                }
            }
        }
    }
}
