//! Fidelity: the emulator's spikes, weights, states and traces equal a direct core-nostd run bit for bit,
//! for any mapping, with and without learning.
//! * `const_generic_net_equals_emulator`: the const-generic `Net` (the single-core reference of §8.1)
//!   against the emulator under four mappings, learning with a readout and symmetric feedback.
//! * `external_lambda_learning_equals_reference`: learning driven by a host λ, no readout.
//! * `random_networks_and_mappings` (property): random sizes, weights, neuron variants, mappings,
//!   dense or sparse (CSR) storage, inference or learning, against one `LayerMut` (`new` or
//!   `new_sparse`) + `ReadoutMut` over the whole network.

mod common;
use common::*;
use plasticore_core::prelude::*;
use plasticore_core::rng::XorShift32;
use plasticore_emu::mapping::Mapping;
use plasticore_emu::network::NetworkSpec;
use plasticore_emu::{presets, EmuOptions, Emulator, NoObserver};
use proptest::prelude::*;

const EXT: usize = 4;
const N: usize = 8;
const P: usize = EXT + N;
const O: usize = 2;

#[test]
fn const_generic_net_equals_emulator() {
    let spec = random_net(5, EXT, N, Some(O), true, true, false, 60);
    let steps = 60;
    let inputs = random_inputs(5, EXT, steps, 40);
    let targets = random_targets(5, O, steps);
    for lengths in [vec![8], vec![3, 5], vec![1, 2, 5], vec![2, 2, 2, 2]] {
        let mut net = symmetric_net(&spec);
        let chip = presets::loihi();
        let m = Mapping::from_lengths(&lengths, true, chip.mesh.cores());
        let mut emu = Emulator::with_mapping(chip, spec.clone(), m, EmuOptions::default()).unwrap();
        let mut learned = false;
        for t in 0..steps {
            let tg = Target::Values(&targets[t]);
            let a = net.step(Timestep(t as u32), &inputs[t], tg, UpdateMode::Online).unwrap();
            let b = emu.step(Timestep(t as u32), &inputs[t], tg, &mut NoObserver).unwrap();
            assert_eq!(a.loss_q16, b.loss_q16, "{lengths:?} step {t}: loss");
            learned |= a.ops.weight_updates > 0;
            assert_eq!(a.ops.spikes, b.ops.spikes, "{lengths:?} step {t}: spikes");
            assert_eq!(net.weights(), &emu.hidden_weights()[..], "{lengths:?} step {t}: weights");
            assert_eq!(net.readout_weights(), emu.readout().unwrap().weights(), "{lengths:?} step {t}");
            assert_eq!(&net.outputs()[..], emu.readout().unwrap().outputs(), "{lengths:?} step {t}");
            let l = net.layer().unwrap();
            assert_eq!(l.state(), &emu.hidden_state()[..], "{lengths:?} step {t}: state");
            assert_eq!(l.etrace(), &emu.hidden_etrace()[..], "{lengths:?} step {t}: etrace");
            for c in emu.cores() {
                assert_eq!(l.xtrace(), c.xtrace(), "{lengths:?} step {t}: xtrace");
            }
        }
        assert!(learned, "the test must exercise learning");
        assert_ne!(net.weights(), &spec.weights[..], "weights must have moved");
    }
}

#[test]
fn learning_epochs_equal_net_accumulate_and_apply() {
    // Hidden-layer learning from a host λ, accumulated over epochs of 5 steps and applied at their end;
    // the Net's readout integrates but does not learn on λ steps, so only the hidden layer is compared.
    let mut spec = random_net(6, EXT, N, None, true, false, true, 60);
    spec.learn_epoch = 5;
    let steps = 42;
    let inputs = random_inputs(6, EXT, steps, 40);
    let mut g = XorShift32::new(8);
    let lams: Vec<Vec<i32>> = (0..steps).map(|_| (0..N).map(|_| (g.next_u32() % 131072) as i32 - 65536).collect()).collect();
    for lengths in [vec![8], vec![3, 5], vec![1, 1, 6]] {
        let mut net = dense_net::<1>(&spec, readout_config(1), Feedback::External);
        let mut acc: Accumulator<P, N, O> = Accumulator::new();
        let chip = presets::loihi();
        let m = Mapping::from_lengths(&lengths, false, chip.mesh.cores());
        let mut emu = Emulator::with_mapping(chip, spec.clone(), m, EmuOptions { threads: 2, ..EmuOptions::default() }).unwrap();
        for t in 0..steps {
            let tg = Target::Lambda(&lams[t]);
            net.step(Timestep(t as u32), &inputs[t], tg, UpdateMode::Accumulate(&mut acc)).unwrap();
            if (t + 1) % 5 == 0 {
                net.apply(&mut acc).unwrap();
            }
            emu.step(Timestep(t as u32), &inputs[t], tg, &mut NoObserver).unwrap();
            assert_eq!(net.weights(), &emu.hidden_weights()[..], "{lengths:?} step {t}: weights");
            let l = net.layer().unwrap();
            assert_eq!(l.state(), &emu.hidden_state()[..], "{lengths:?} step {t}: state");
            assert_eq!(l.etrace(), &emu.hidden_etrace()[..], "{lengths:?} step {t}: etrace");
        }
        assert_ne!(net.weights(), &spec.weights[..], "weights must have moved");
    }
}

#[test]
fn readout_learning_epochs_equal_net_accumulate_and_apply() {
    // Hidden layer and readout both learn from the readout's error (symmetric feedback), accumulated over
    // epochs of 4 steps and applied at their end (hidden, then readout, as `Net::apply`), against the
    // const-generic `Net` in `Accumulate` mode: weights, readout weights and outputs every step.
    let steps = 45;
    // (Dense storage: the const-generic `Net` is dense, and in a sparse network a zero weight cannot learn.)
    for (seed, lengths, threads) in [(7u32, vec![8], 1), (8, vec![3, 5], 2), (9, vec![1, 2, 5], 2)] {
        let mut spec = random_net(seed, EXT, N, Some(O), true, true, false, 60);
        spec.learn_epoch = 4;
        let ro = spec.readout.clone().unwrap();
        let inputs = random_inputs(seed, EXT, steps, 40);
        let targets = random_targets(seed, O, steps);
        let mut net = symmetric_net(&spec);
        let mut acc: Accumulator<P, N, O> = Accumulator::new();
        let chip = presets::loihi();
        let m = Mapping::from_lengths(&lengths, true, chip.mesh.cores());
        let mut emu = Emulator::with_mapping(chip, spec.clone(), m, EmuOptions { threads, ..EmuOptions::default() }).unwrap();
        let mut applied = 0;
        for t in 0..steps {
            let tg = Target::Values(&targets[t]);
            let a = net.step(Timestep(t as u32), &inputs[t], tg, UpdateMode::Accumulate(&mut acc)).unwrap();
            if (t + 1) % 4 == 0 {
                applied += net.apply(&mut acc).unwrap().weight_updates;
            }
            let b = emu.step(Timestep(t as u32), &inputs[t], tg, &mut NoObserver).unwrap();
            let ctx = format!("seed {seed} {lengths:?} step {t}");
            assert_eq!(a.loss_q16, b.loss_q16, "{ctx}: loss");
            assert_eq!(net.weights(), &emu.hidden_weights()[..], "{ctx}: weights");
            assert_eq!(net.readout_weights(), emu.readout().unwrap().weights(), "{ctx}: readout weights");
            assert_eq!(&net.outputs()[..], emu.readout().unwrap().outputs(), "{ctx}: outputs");
            let l = net.layer().unwrap();
            assert_eq!(l.state(), &emu.hidden_state()[..], "{ctx}: state");
        }
        assert!(applied > 0, "the test must apply updates");
        assert_ne!(net.readout_weights(), &ro.weights[..], "readout weights must have moved");
    }
}

#[test]
fn external_lambda_learning_equals_reference() {
    let spec = random_net(9, 6, 20, None, true, false, true, 50);
    let steps = 40;
    let inputs = random_inputs(9, 6, steps, 50);
    let mut g = XorShift32::new(3);
    let lams: Vec<Vec<i32>> = (0..steps).map(|_| (0..20).map(|_| (g.next_u32() % 131072) as i32 - 65536).collect()).collect();
    let chip = presets::loihi();
    let m = Mapping::from_lengths(&[7, 6, 7], false, chip.mesh.cores());
    let mut emu = Emulator::with_mapping(chip, spec.clone(), m, EmuOptions::default()).unwrap();
    let mut r = Reference::new(&spec);
    for t in 0..steps {
        let tg = Target::Lambda(&lams[t]);
        let (sp, _) = r.step(t as u32, &inputs[t], tg);
        emu.step(Timestep(t as u32), &inputs[t], tg, &mut NoObserver).unwrap();
        assert_eq!(emu.last_spikes(), &sp[..], "step {t}: spikes");
        assert_same(&emu, &r, &format!("step {t}"));
    }
    assert_ne!(emu.hidden_weights(), spec.weights, "weights must have moved");
}

/// A const-generic `Net` with `spec`'s layer and hidden weights (dense, recurrent, learning) and the
/// given readout and feedback.
fn dense_net<const S: usize>(spec: &NetworkSpec, readout: ReadoutConfig, feedback: Feedback) -> Box<Net<P, N, O, S>> {
    let mut net: Box<Net<P, N, O, S>> = Box::default();
    net.configure(NetConfig { layer: spec.layer, readout, feedback, window: spec.window, recurrent: true, learn: true })
        .unwrap();
    for a in 0..P {
        for j in 0..N {
            net.set_weight(a, j, spec.weights[a * N + j]).unwrap();
        }
    }
    net
}

/// The const-generic `Net` equal to `spec` (dense, recurrent, learning, symmetric feedback), weights loaded.
fn symmetric_net(spec: &NetworkSpec) -> Box<Net<P, N, O, 2>> {
    let ro = spec.readout.as_ref().unwrap();
    let mut net = dense_net::<2>(spec, ro.config, Feedback::Symmetric);
    for j in 0..N {
        for k in 0..O {
            net.set_readout_weight(j, k, ro.weights[j * O + k]).unwrap();
        }
    }
    net
}

fn lengths_from(seed: u32, n: usize) -> Vec<usize> {
    let mut g = XorShift32::new(seed);
    let mut out = Vec::new();
    let mut left = n;
    while left > 0 {
        let l = 1 + (g.next_u32() as usize % left.min(9));
        out.push(l);
        left -= l;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn random_networks_and_mappings(
        seed in any::<u32>(),
        ext in 1usize..10,
        n in 1usize..28,
        readout in prop::option::of(1usize..4),
        learn in any::<bool>(),
        expon in any::<bool>(),
        hard in any::<bool>(),
        density in 20u32..100,
        threads in 1usize..3,
        sparse in any::<bool>(),
    ) {
        let mut spec = random_net(seed, ext, n, readout, learn, expon, hard, density);
        spec.sparse = sparse;
        let steps = 30;
        let inputs = random_inputs(seed, ext, steps, 40);
        let targets = random_targets(seed, readout.unwrap_or(1), steps);
        let chip = presets::loihi();
        let lengths = lengths_from(seed ^ 5, n);
        let m = Mapping::from_lengths(&lengths, readout.is_some(), chip.mesh.cores());
        let opts = EmuOptions { threads, ..EmuOptions::default() };
        let mut emu = Emulator::with_mapping(chip, spec.clone(), m, opts).unwrap();
        let mut r = Reference::new(&spec);
        for t in 0..steps {
            let tg = if readout.is_some() { Target::Values(&targets[t]) } else { Target::None };
            let (sp, loss) = r.step(t as u32, &inputs[t], tg);
            let rep = emu.step(Timestep(t as u32), &inputs[t], tg, &mut NoObserver).unwrap();
            prop_assert_eq!(emu.last_spikes(), &sp[..], "step {} spikes, mapping {:?}", t, lengths);
            prop_assert_eq!(rep.loss_q16, loss);
            assert_same(&emu, &r, &format!("step {t}, mapping {lengths:?}"));
        }
    }
}

#[test]
fn single_core_presets_with_a_colocated_readout() {
    // reckon and mcu have one core: the readout shares it with the hidden slice. brainscales2 has two
    // 256-neuron halves, 6-bit weights and row-vector (PPU) learning.
    for name in ["reckon", "mcu", "brainscales2"] {
        let mut spec = random_net(12, 5, 16, Some(2), true, true, false, 60);
        if name == "brainscales2" {
            spec.layer.formats.weight_bits = 6;
            for w in spec.weights.iter_mut() {
                w.0 = w.0.clamp(-31, 31);
            }
        }
        let chip = presets::preset(name).unwrap();
        let mut check = LatencyCheck::new(&chip, 1);
        let mut emu = Emulator::new(chip, spec.clone(), EmuOptions::default()).unwrap();
        let mut r = Reference::new(&spec);
        let inputs = random_inputs(12, 5, 30, 50);
        let targets = random_targets(12, 2, 30);
        let mut cycles = 0;
        for t in 0..30 {
            let tg = Target::Values(&targets[t]);
            let (sp, _) = r.step(t as u32, &inputs[t], tg);
            // Latency against the observed phases and arrivals (`LatencyCheck`); the hand-computed cycles
            // of a co-located readout on these presets are in `timing.rs`.
            let rep = emu.step(Timestep(t as u32), &inputs[t], tg, &mut check).unwrap();
            assert_eq!(emu.last_spikes(), &sp[..], "{name} step {t}");
            cycles += rep.cycles.0;
        }
        assert_same(&emu, &r, name);
        assert!(cycles > 0, "{name}: timing must charge something");
        if name != "brainscales2" {
            assert_eq!(emu.readout().unwrap().core, 0, "{name}: readout co-located on the only core");
        }
    }
}

#[test]
fn compressed_rows_and_frozen_cores_equal_reference() {
    // A sparse network that does not learn runs on frozen cores (compact 8-bit synapses, core-nostd's
    // `integrate_frozen`); given as a dense matrix or as compressed rows (with some listed zeros, which
    // are not synapses), it equals the direct run over `new_sparse`, for several mappings and threads.
    for seed in [3u32, 17, 99] {
        let (ext, n) = (7, 23);
        let mut spec = random_net(seed, ext, n, Some(2), false, seed % 2 == 0, true, 45);
        spec.sparse = true;
        let mut csr = plasticore_emu::SparseWeights { row_start: vec![0], ..Default::default() };
        let mut g = XorShift32::new(seed);
        for a in 0..ext + n {
            for j in 0..n {
                let w = spec.weights[a * n + j];
                if w.0 != 0 || g.next_u32().is_multiple_of(8) {
                    csr.cols.push(j as u16);
                    csr.weights.push(w);
                }
            }
            csr.row_start.push(csr.cols.len() as u32);
        }
        let mut rows = spec.clone();
        rows.weights = Vec::new();
        rows.csr = Some(csr);
        let inputs = random_inputs(seed, ext, 40, 40);
        let targets = random_targets(seed, 2, 40);
        for (k, net) in [spec.clone(), rows].into_iter().enumerate() {
            let chip = presets::loihi();
            let lengths = lengths_from(seed ^ k as u32, n);
            let m = Mapping::from_lengths(&lengths, true, chip.mesh.cores());
            let opts = EmuOptions { threads: 1 + k, ..EmuOptions::default() };
            let mut emu = Emulator::with_mapping(chip, net, m, opts).unwrap();
            assert!(emu.cores().iter().all(|c| c.is_frozen() && c.weights().is_empty()));
            assert_eq!(emu.hidden_weights(), spec.weights);
            let mut r = Reference::new(&spec);
            for t in 0..40 {
                let tg = Target::Values(&targets[t]);
                let (sp, loss) = r.step(t as u32, &inputs[t], tg);
                let rep = emu.step(Timestep(t as u32), &inputs[t], tg, &mut NoObserver).unwrap();
                assert_eq!(emu.last_spikes(), &sp[..], "seed {seed} form {k} step {t}");
                assert_eq!(rep.loss_q16, loss);
                assert_same(&emu, &r, &format!("seed {seed} form {k} step {t}"));
            }
        }
    }
}
