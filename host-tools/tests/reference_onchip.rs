//! The float on-chip rule (spec §8.1) against ES-D-RTRL: with symmetric feedback, accumulation, Δ = 1 and no
//! correction, ΔW = −η/(1−α)·∇_W(ES-D-RTRL) and ΔV = −η_o·∇_V exactly; online mode moves the loss down.
#![allow(clippy::needless_range_loop)]
use plasticore::reference::algo::{sequence_grad, Algorithm, BiasCorrection, OnlineOptions};
use plasticore::reference::model::{Neuron, Presyn};
use plasticore::reference::net::{InitScales, LayerConfig, LossKind, NetConfig, Output, Params, Sequence, Target};
use plasticore::reference::onchip::{Feedback, OnChip, OnChipConfig, UpdateMode};
use plasticore::reference::rng::Rng;

fn net(exp: bool) -> NetConfig<Neuron> {
    let mut n = Neuron::lif((-1.0f64 / 10.0).exp());
    if exp {
        n = n.with_exp((-1.0f64 / 5.0).exp());
    }
    NetConfig {
        layers: vec![LayerConfig { n_in: 5, n: 8, recurrent: true, neuron: n, presyn: Presyn::None }],
        output: Output::LeakyReadout { n_out: 3, kappa: (-0.2f64).exp() },
        loss: LossKind::Mse,
    }
}

fn seq(rng: &mut Rng, t: usize) -> Sequence {
    Sequence {
        inputs: (0..t).map(|_| (0..5).map(|_| if rng.bernoulli(0.3) { 1.0 } else { 0.0 }).collect()).collect(),
        targets: (0..t).map(|s| (s >= t / 2).then(|| Target::Values(vec![0.5, -0.2, 0.1]))).collect(),
    }
}

#[test]
fn accumulated_symmetric_rule_equals_scaled_es_gradient() {
    for exp in [false, true] {
        let cfg = net(exp);
        let mut rng = Rng::new(21);
        let p = Params::init(&cfg, &mut rng, InitScales { ff: 4.0, rec: 1.0, out: 1.0 });
        let s = seq(&mut rng, 80);
        let alpha = 0.9;
        let (eta, eta_o) = (1e-2, 3e-2);
        let algo = Algorithm::EsdRtrl { alpha, correction: BiasCorrection::None };
        let (_, g) = sequence_grad(&cfg, &p, algo, OnlineOptions::default(), &s).unwrap();
        let oc = OnChipConfig { alpha, eta, eta_o, feedback: Feedback::Symmetric, mode: UpdateMode::Accumulate };
        let mut chip = OnChip::new(cfg.clone(), p.clone(), oc).unwrap();
        for (u, t) in s.inputs.iter().zip(&s.targets) {
            chip.step(u, t.as_ref(), None).unwrap();
        }
        let acc = chip.accumulated();
        let gw = &g.layers[0].w;
        assert!(gw.iter().any(|&x| x != 0.0), "ES gradient is all zero: the test would be vacuous");
        for q in 0..gw.len() {
            let want = -eta / (1.0 - alpha) * gw[q];
            assert!((acc.layers[0].w[q] - want).abs() < 1e-10 * (1.0 + want.abs()), "W[{q}]: {} vs {want}", acc.layers[0].w[q]);
        }
        for q in 0..g.readout.len() {
            let want = -eta_o * g.readout[q];
            assert!((acc.readout[q] - want).abs() < 1e-10 * (1.0 + want.abs()), "V[{q}]");
        }
    }
}

#[test]
fn online_rule_reduces_the_loss() {
    let cfg = net(true);
    let mut rng = Rng::new(4);
    let p = Params::init(&cfg, &mut rng, InitScales { ff: 4.0, rec: 1.0, out: 1.0 });
    let s = seq(&mut rng, 60);
    let b: Vec<f64> = (0..8 * 3).map(|_| rng.normal()).collect();
    for fb in [Feedback::Symmetric, Feedback::RandomFeedback(b)] {
        let oc = OnChipConfig { alpha: 0.9, eta: 2e-3, eta_o: 5e-3, feedback: fb.clone(), mode: UpdateMode::Online };
        let mut chip = OnChip::new(cfg.clone(), p.clone(), oc).unwrap();
        let mut losses = Vec::new();
        for _epoch in 0..40 {
            chip.reset();
            let mut l = 0.0;
            for (u, t) in s.inputs.iter().zip(&s.targets) {
                l += chip.step(u, t.as_ref(), None).unwrap();
            }
            losses.push(l);
        }
        let (first, last) = (losses[0], *losses.last().unwrap());
        assert!(last < 0.5 * first, "{fb:?}: loss {first} -> {last}");
    }
}

#[test]
fn external_feedback_requires_lambda_and_checks_shapes() {
    let cfg = net(false);
    let p = Params::zeros(&cfg);
    let oc = OnChipConfig { alpha: 0.9, eta: 1e-3, eta_o: 1e-3, feedback: Feedback::External, mode: UpdateMode::Online };
    let mut chip = OnChip::new(cfg.clone(), p.clone(), oc).unwrap();
    let t = Target::Values(vec![0.0; 3]);
    assert!(chip.step(&[0.0; 5], Some(&t), None).is_err());
    assert!(chip.step(&[0.0; 5], Some(&t), Some(&[0.0; 7])).is_err());
    assert!(chip.step(&[0.0; 5], Some(&t), Some(&[0.0; 8])).is_ok());
    assert!(chip.step(&[0.0; 4], None, None).is_err());
    let bad = OnChipConfig { alpha: 1.0, eta: 1e-3, eta_o: 1e-3, feedback: Feedback::Symmetric, mode: UpdateMode::Online };
    assert!(OnChip::new(cfg, p, bad).is_err());
}
