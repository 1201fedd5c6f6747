//! W1 built straight into frozen cores (`w1::build_frozen` + `Emulator::with_frozen_synapses`, the
//! 3-bytes-per-synapse path `plasticore bench w1` takes) against the network-wide build (`w1::build` +
//! `Emulator::with_mapping`, which copies every core's rows out of the network): the same storage bit
//! for bit (row offsets, columns, weights, stored counts, synapse-memory usage), and then the same
//! spikes, states, cycles, energy and packets on every step, on one tile and across tiles, 1 and 2
//! threads.

use plasticore_core::prelude::*;
use plasticore_core::rng::XorShift32;
use plasticore_emu::{mapping, presets, w1, ChipDesc, EmuOptions, Emulator, NoObserver, StepReport};

fn chip(preset: &str, core_neurons: u32) -> ChipDesc {
    let mut c = presets::preset(preset).unwrap();
    c.limits.neurons = core_neurons;
    c.validate().unwrap();
    c
}

fn both(chip: &ChipDesc, n: usize, seed: u32, threads: usize) -> (Emulator, Emulator) {
    let opts = EmuOptions { threads, ..EmuOptions::default() };
    let w = w1::build(n, seed).unwrap();
    let (m, _) = mapping::partition(chip, &w.spec).unwrap();
    let old = Emulator::with_mapping(chip.clone(), w.spec.clone(), m.clone(), opts).unwrap();
    let len = (chip.limits.neurons as usize).min(n);
    let f = w1::build_frozen(n, seed, len).unwrap();
    assert_eq!(f.out_degree, w.out_degree);
    assert_eq!((f.weight_frac, f.clipped), (w.weight_frac, w.clipped));
    assert_eq!(f.cores.len(), m.hidden.len());
    let new = Emulator::with_frozen_synapses(chip.clone(), f.spec, m, opts, f.cores).unwrap();
    (old, new)
}

fn same_storage(a: &Emulator, b: &Emulator) {
    assert_eq!(a.usage(), b.usage(), "synapse-memory usage");
    assert_eq!(a.cores().len(), b.cores().len());
    for (i, (x, y)) in a.cores().iter().zip(b.cores()).enumerate() {
        let (fx, fy) = (x.frozen_synapses().unwrap(), y.frozen_synapses().unwrap());
        assert_eq!(fx.csr().row_start, fy.csr().row_start, "core {i}: row offsets");
        assert_eq!(fx.csr().cols, fy.csr().cols, "core {i}: columns");
        assert_eq!(fx.weights(), fy.weights(), "core {i}: weights");
        assert_eq!(x.stored(), y.stored(), "core {i}: stored per row");
        assert_eq!((x.first, x.len), (y.first, y.len));
    }
}

fn same_run(mut a: Emulator, mut b: Emulator, steps: u32) -> u64 {
    let mut g = XorShift32::new(99);
    let mut input = Vec::new();
    let mut spikes = 0;
    for t in 0..steps {
        w1::inputs(&mut g, &mut input);
        let ra: StepReport = a.step(Timestep(t), &input, Target::None, &mut NoObserver).unwrap();
        let rb: StepReport = b.step(Timestep(t), &input, Target::None, &mut NoObserver).unwrap();
        assert_eq!(a.last_spikes(), b.last_spikes(), "step {t}: spikes");
        assert_eq!(ra.cycles, rb.cycles, "step {t}: cycles");
        assert_eq!(ra.energy.total().to_bits(), rb.energy.total().to_bits(), "step {t}: energy");
        assert_eq!((ra.packets, ra.syn_events), (rb.packets, rb.syn_events), "step {t}: packets, synaptic ops");
        spikes += ra.spikes as u64;
    }
    assert_eq!(a.hidden_state(), b.hidden_state());
    spikes
}

#[test]
fn frozen_build_equals_the_network_wide_build_on_one_tile_and_across_tiles() {
    // 2500 neurons in slices of 1000: three cores, the last one shorter.
    for (preset, threads) in [("loihi-xl", 1), ("loihi-xl-tiles", 2)] {
        let c = chip(preset, 1000);
        let (a, b) = both(&c, 2500, 3, threads);
        assert_eq!(a.cores().len(), 3);
        same_storage(&a, &b);
        let spikes = same_run(a, b, 120);
        assert!(spikes > 500, "{preset}: the network is active ({spikes} spikes)");
    }
}

#[test]
fn bench_placement_takes_the_frozen_path_and_falls_back_where_memory_limits() {
    // loihi-xl: the neuron-limited slices fit, `place` builds frozen cores directly.
    let c = chip("loihi-xl", 700);
    let (e, deg, frac) = w1::place(c.clone(), 1500, EmuOptions::default(), 5, 1).unwrap();
    let (old, _) = both(&c, 1500, 5, 1);
    same_storage(&old, &e);
    let w = w1::build(1500, 5).unwrap();
    assert_eq!((deg, frac), (w.out_degree, w.weight_frac));
    // loihi at N = 1000: synapse memory splits the layer below the neuron limit, so `place` takes the
    // partitioner's search on the network-wide build; the chip equals `with_mapping`'s.
    let (e, _, _) = w1::place(presets::loihi(), 1000, EmuOptions::default(), 1, 1).unwrap();
    let w = w1::build(1000, 1).unwrap();
    let (m, _) = mapping::partition(&presets::loihi(), &w.spec).unwrap();
    assert_eq!(e.mapping(), &m);
    let old = Emulator::with_mapping(presets::loihi(), w.spec, m, EmuOptions::default()).unwrap();
    same_storage(&old, &e);
}

#[test]
fn frozen_synapses_are_refused_when_they_do_not_match() {
    let c = chip("loihi-xl", 1000);
    let f = w1::build_frozen(1500, 1, 1000).unwrap();
    let (m, _) = mapping::partition(&c, &f.spec).unwrap();
    // Too few sets.
    let mut one = w1::build_frozen(1500, 1, 1000).unwrap().cores;
    one.truncate(1);
    assert!(Emulator::with_frozen_synapses(c.clone(), f.spec.clone(), m.clone(), EmuOptions::default(), one).is_err());
    // Synapses in the network as well.
    let w = w1::build(1500, 1).unwrap();
    let err = Emulator::with_frozen_synapses(c.clone(), w.spec, m.clone(), EmuOptions::default(), f.cores).err().unwrap();
    assert!(err.to_string().contains("must be empty"), "{err}");
    // Slices of the wrong length.
    let g = w1::build_frozen(1500, 1, 750).unwrap();
    assert!(Emulator::with_frozen_synapses(c, g.spec, m, EmuOptions::default(), g.cores).is_err());
}

#[test]
fn synapse_bytes_are_three_per_synapse_plus_row_offsets() {
    let f = w1::build_frozen(2000, 1, 1000).unwrap();
    let stored: usize = f.cores.iter().map(|c| c.synapses()).sum();
    let axons = w1::INPUTS + 2000;
    assert_eq!(f.synapse_bytes(), 3 * stored + 2 * 4 * (axons + 1));
    let edges: u64 = f.out_degree.iter().map(|&d| d as u64).sum();
    assert!(stored as u64 <= edges && stored as u64 > edges * 9 / 10, "stored {stored} of {edges} edges");
}
