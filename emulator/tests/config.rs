//! Chip descriptions and mappings: presets are valid and round-trip through TOML; bad descriptions and
//! over-capacity mappings are refused with errors that name the limit and the values (W1 on `loihi`
//! fails exactly as nengo-loihi reports).

mod common;
use plasticore_emu::chip::ChipDesc;
use plasticore_emu::mapping::{self, Mapping};
use plasticore_emu::presets::{self, PRESET_NAMES};
use plasticore_emu::{w1, EmuError, EmuOptions, Emulator};

#[test]
fn presets_validate_and_round_trip_through_toml() {
    for name in PRESET_NAMES {
        let d = presets::preset(name).unwrap();
        d.validate().unwrap();
        let back = ChipDesc::from_toml(&d.to_toml()).unwrap();
        assert_eq!(back, d, "{name}");
    }
    assert!(matches!(presets::preset("truenorth"), Err(EmuError::UnknownPreset(_))));
}

#[test]
fn bad_descriptions_name_field_and_values() {
    let good = presets::loihi().to_toml();
    let e = ChipDesc::from_toml(&good.replace("width = 8", "width = 0")).unwrap_err();
    assert_eq!(e.to_string(), "chip description: mesh.width = 0 is outside 1..=256");
    let e = ChipDesc::from_toml(&good.replace("syn_op_pj = 23.6", "syn_op_pj = -1.0")).unwrap_err();
    assert!(e.to_string().contains("energy.syn_op_pj = -1"), "{e}");
    let e = ChipDesc::from_toml(&good.replace("link_packets_per_cycle = 3", "link_packets_per_cycle = 0")).unwrap_err();
    assert!(e.to_string().contains("noc.link_packets_per_cycle = 0 is outside 1..=1024"), "{e}");
    let e = ChipDesc::from_toml(&format!("{good}\nbogus = 1\n")).unwrap_err();
    assert!(matches!(e, EmuError::Toml(_)), "{e}");
    let e = ChipDesc::from_toml("name = \"x\"").unwrap_err();
    assert!(matches!(e, EmuError::Toml(_)), "{e}");
    let e = ChipDesc::from_toml(&good.replace("routing = \"xy\"", "routing = \"zigzag\"")).unwrap_err();
    assert!(matches!(e, EmuError::Toml(_)), "{e}");
}

#[test]
fn w1_on_loihi_is_refused_as_nengo_loihi_does() {
    let chip = presets::loihi();
    let w = w1::build(4000, 1).unwrap();
    let e = mapping::partition(&chip, &w.spec).unwrap_err();
    assert_eq!(
        e,
        EmuError::Capacity { core: 0, first: 0, end: 1024, limit: "input axons", count: 4100, max: 4096, over: 4 }
    );
    assert_eq!(e.to_string(), "core 0 (neurons 0..1024): 4100 input axons > 4096 per core (over by 4)");
    let w = w1::build(16000, 1).unwrap();
    let e = Emulator::new(chip, w.spec, EmuOptions::default()).err().unwrap();
    assert_eq!(
        e.to_string(),
        "core 0 (neurons 0..1024): 16384 output axons > 4096 per core (over by 12288)"
    );
}

#[test]
fn w1_at_1000_fits_loihi_by_synapse_memory() {
    let chip = presets::loihi();
    let w = w1::build(1000, 1).unwrap();
    let (m, usage) = mapping::partition(&chip, &w.spec).unwrap();
    assert!(m.hidden.len() >= 2, "1100 axons × ~100 synapses × 18 bits needs more than one core");
    for u in &usage {
        assert!(u.syn_bits <= chip.limits.syn_mem_bits);
        assert_eq!(u.input_axons, 1100);
    }
    // The same network on one core is refused by synapse memory.
    let one = Mapping::from_lengths(&[1000], false, chip.mesh.cores());
    match mapping::check(&chip, &w.spec, &one) {
        Err(EmuError::Capacity { limit: "synapse memory bits", count, max, .. }) => assert!(count > max),
        other => panic!("expected a synapse-memory error, got {other:?}"),
    }
}

#[test]
fn other_rejections() {
    // 6-bit synapses cannot hold 8-bit weights.
    let spec = common::random_net(1, 4, 8, None, false, false, false, 50);
    let e = Emulator::new(presets::brainscales2(), spec.clone(), EmuOptions::default()).err().unwrap();
    assert_eq!(e, EmuError::WeightBits { needed: 8, available: 6 });
    // More cores than the chip has.
    let chip = presets::reckon();
    let m = Mapping::from_lengths(&[4, 4], false, chip.mesh.cores());
    assert!(matches!(mapping::check(&chip, &spec, &m), Err(EmuError::TooManyCores { needed: 2, available: 1, .. })));
    // A placement stride that runs off the chip.
    let m = Mapping::from_lengths(&[4, 4], false, 128).spread(usize::MAX);
    assert!(matches!(mapping::check(&presets::loihi(), &spec, &m), Err(EmuError::TooManyCores { .. })));
    let m = Mapping::from_lengths(&[4, 4], false, 128).spread(200);
    assert!(matches!(mapping::check(&presets::loihi(), &spec, &m), Err(EmuError::TooManyCores { needed: 201, .. })));
    // Non-contiguous or incomplete mappings.
    let mut m = Mapping::from_lengths(&[4, 4], false, 128);
    m.hidden[1].first = 5;
    assert!(matches!(mapping::check(&presets::loihi(), &spec, &m), Err(EmuError::Network(_))));
    let m = Mapping::from_lengths(&[4, 3], false, 128);
    assert!(matches!(mapping::check(&presets::loihi(), &spec, &m), Err(EmuError::Network(_))));
    // Neurons per core.
    let big = common::random_net(1, 4, 300, None, false, false, false, 10);
    let m = Mapping::from_lengths(&[300], false, 1);
    match mapping::check(&presets::reckon(), &big, &m) {
        Err(EmuError::Capacity { limit: "neurons", count: 300, max: 256, over: 44, .. }) => {}
        other => panic!("{other:?}"),
    }
    // Weight count mismatch.
    let mut bad = spec;
    bad.weights.pop();
    assert!(matches!(Emulator::new(presets::loihi(), bad, EmuOptions::default()), Err(EmuError::Network(_))));
}
