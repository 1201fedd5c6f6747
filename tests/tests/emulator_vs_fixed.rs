//! The scenario suite on the emulator against the fixed-point core: tolerance **zero** (the emulator has
//! no arithmetic of its own, ARCHITECTURE.md's invariant). Every scenario of `scenario::suite()` runs on
//! `plasticore_emu::Emulator` mapped over three cores (hidden slices of 3 + 3 + 2 neurons and a readout
//! core) and on `Net::step`; spikes, neuron states, ẽ^f, ε^x, hidden and readout weights, r, ε^o and the
//! loss must be equal at every step. `Accumulate` scenarios apply their accumulators every 50 steps
//! (`Net::apply`; the emulator's `learn_epoch` = 50).
use plasticore_core::net::{Accumulator, Timestep, UpdateMode};
use plasticore_core::readout::Target;
use plasticore_emu::mapping::Mapping;
use plasticore_emu::network::{NetworkSpec, ReadoutSpec};
use plasticore_emu::{presets, EmuOptions, Emulator, NoObserver};
use plasticore_tests::fixed::{net_config, Fixed};
use plasticore_core::prelude::Weight;
use plasticore_tests::scenario::{suite, Mode, Scenario, StepTarget, N, NI, O, P};

const EPOCH: u32 = 50;

fn run<const S: usize>(sc: &Scenario) -> u64 {
    let mut fx = Fixed::<S>::new(sc);
    let cfg = net_config(sc);
    let (w, v) = sc.weights();
    let spec = NetworkSpec {
        layer: cfg.layer,
        inputs: NI,
        neurons: N,
        recurrent: true,
        weights: w.iter().map(|&m| Weight(m)).collect(),
        csr: None,
        sparse: false,
        readout: Some(ReadoutSpec { config: cfg.readout, outputs: O, weights: v.iter().map(|&m| Weight(m)).collect() }),
        feedback: cfg.feedback,
        window: cfg.window,
        learn: true,
        learn_epoch: if sc.mode == Mode::Accumulate { EPOCH } else { 1 },
    };
    let chip = presets::loihi();
    let m = Mapping::from_lengths(&[3, 3, 2], true, chip.mesh.cores());
    let mut emu = Emulator::with_mapping(chip, spec, m, EmuOptions { threads: 2, ..EmuOptions::default() }).unwrap();
    let mut acc: Box<Accumulator<P, N, O>> = Box::new(Accumulator::new());
    let mut compared = 0u64;
    for t in 0..sc.steps {
        let input = sc.input(t);
        let tgt = sc.target(t);
        let target = match &tgt {
            StepTarget::None => Target::None,
            StepTarget::Values(v) => Target::Values(v),
            StepTarget::Class(c) => Target::Class(*c),
            StepTarget::Lambda(l) => Target::Lambda(l),
        };
        let net = fx.net();
        let mode = match sc.mode {
            Mode::Online => UpdateMode::Online,
            Mode::Accumulate => UpdateMode::Accumulate(&mut acc),
        };
        let a = net.step(Timestep(t), &input, target, mode).unwrap();
        if sc.mode == Mode::Accumulate && (t + 1) % EPOCH == 0 {
            net.apply(&mut acc).unwrap();
        }
        let b = emu.step(Timestep(t), &input, target, &mut NoObserver).unwrap();
        let ctx = format!("{} step {t}", sc.name);
        assert_eq!(a.loss_q16, b.loss_q16, "{ctx}: loss");
        assert_eq!(net.spikes(), emu.last_spikes(), "{ctx}: spikes");
        assert_eq!(net.weights(), &emu.hidden_weights()[..], "{ctx}: hidden weights");
        let ro = emu.readout().unwrap();
        assert_eq!(net.readout_weights(), ro.weights(), "{ctx}: readout weights");
        assert_eq!(&net.outputs()[..], ro.outputs(), "{ctx}: r");
        let (st, et, xt) = {
            let l = net.layer().unwrap();
            (l.state().to_vec(), l.etrace().to_vec(), l.xtrace().to_vec())
        };
        assert_eq!(st, emu.hidden_state(), "{ctx}: neuron states");
        assert_eq!(et, emu.hidden_etrace(), "{ctx}: etrace");
        for c in emu.cores() {
            assert_eq!(&xt[..], c.xtrace(), "{ctx}: xtrace");
        }
        assert_eq!(net.readout().unwrap().otrace(), ro.otrace(), "{ctx}: otrace");
        compared += 1;
    }
    let (w0, _) = sc.weights();
    let net = fx.net();
    assert!(net.weights().iter().zip(&w0).any(|(a, &b)| a.0 != b), "{}: hidden weights never moved", sc.name);
    compared
}

#[test]
fn emulator_equals_core_bit_for_bit_on_every_scenario() {
    for sc in suite() {
        let n = match sc.states() {
            1 => run::<1>(&sc),
            2 => run::<2>(&sc),
            _ => run::<3>(&sc),
        };
        assert_eq!(n, sc.steps as u64);
    }
}
