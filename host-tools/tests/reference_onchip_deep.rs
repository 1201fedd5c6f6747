//! The float on-chip rule on deep networks (spec §8.1 with §4.1/§4.3 learning signals): with `Symmetric`
//! feedback in every layer, accumulation and bias learning, ΔW^l = −η/(1−α)·∇_{W^l}(ES-D-RTRL) and
//! Δb^l = −η/(1−α)·∇_{b^l} for every layer, because the within-step backprop through the next layer's
//! feed-forward weights is ES-D-RTRL's λ (§4.1); per-layer random feedback and external λ are
//! reproducible and checked for shape.
#![allow(clippy::needless_range_loop)]
use plasticore::reference::algo::{sequence_grad, Algorithm, BiasCorrection, OnlineOptions};
use plasticore::reference::model::{Neuron, Presyn};
use plasticore::reference::net::{InitScales, LayerConfig, LossKind, NetConfig, Output, Params, Sequence, Target};
use plasticore::reference::onchip::{DeepOptions, Feedback, OnChip, OnChipConfig, UpdateMode};
use plasticore::reference::rng::Rng;

fn net(exp: bool) -> NetConfig<Neuron> {
    let mut n = Neuron::lif((-1.0f64 / 10.0).exp());
    if exp {
        n = n.with_exp((-1.0f64 / 5.0).exp());
    }
    NetConfig {
        layers: vec![
            LayerConfig { n_in: 5, n: 8, recurrent: false, neuron: n, presyn: Presyn::None },
            LayerConfig { n_in: 8, n: 6, recurrent: true, neuron: n, presyn: Presyn::None },
        ],
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
fn accumulated_deep_symmetric_rule_equals_scaled_es_gradient_in_every_layer() {
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
        let deep = DeepOptions { per_layer: vec![], learn_bias: true };
        let mut chip = OnChip::with_deep(cfg.clone(), p.clone(), oc, deep).unwrap();
        for (u, t) in s.inputs.iter().zip(&s.targets) {
            chip.step(u, t.as_ref(), None).unwrap();
        }
        let acc = chip.accumulated();
        for l in 0..2 {
            let (gw, gb) = (&g.layers[l].w, &g.layers[l].b);
            assert!(gw.iter().any(|&x| x != 0.0), "layer {l}: ES gradient is all zero: the test would be vacuous");
            for q in 0..gw.len() {
                let want = -eta / (1.0 - alpha) * gw[q];
                assert!((acc.layers[l].w[q] - want).abs() < 1e-9 * (1.0 + want.abs()), "exp {exp} W{l}[{q}]: {} vs {want}", acc.layers[l].w[q]);
            }
            assert!(gb.iter().any(|&x| x != 0.0), "layer {l}: bias gradient all zero");
            for q in 0..gb.len() {
                let want = -eta / (1.0 - alpha) * gb[q];
                assert!((acc.layers[l].b[q] - want).abs() < 1e-9 * (1.0 + want.abs()), "exp {exp} b{l}[{q}]: {} vs {want}", acc.layers[l].b[q]);
            }
        }
        for q in 0..g.readout.len() {
            let want = -eta_o * g.readout[q];
            assert!((acc.readout[q] - want).abs() < 1e-9 * (1.0 + want.abs()), "V[{q}]");
        }
    }
}

#[test]
fn per_layer_sources_learn_and_external_lambda_is_checked() {
    let cfg = net(false);
    let mut rng = Rng::new(4);
    let p = Params::init(&cfg, &mut rng, InitScales { ff: 4.0, rec: 1.0, out: 1.0 });
    let s = seq(&mut rng, 60);
    let b0: Vec<f64> = (0..8 * 3).map(|_| rng.normal()).collect();
    let b1: Vec<f64> = (0..6 * 3).map(|_| rng.normal()).collect();
    let oc = OnChipConfig { alpha: 0.9, eta: 2e-3, eta_o: 5e-3, feedback: Feedback::Symmetric, mode: UpdateMode::Online };
    for per_layer in [
        vec![Feedback::RandomFeedback(b0.clone()), Feedback::RandomFeedback(b1.clone())],
        vec![Feedback::Symmetric, Feedback::RandomFeedback(b1.clone())],
    ] {
        let deep = DeepOptions { per_layer: per_layer.clone(), learn_bias: false };
        let mut chip = OnChip::with_deep(cfg.clone(), p.clone(), oc.clone(), deep).unwrap();
        let mut losses = Vec::new();
        for _ in 0..40 {
            chip.reset();
            losses.push(s.inputs.iter().zip(&s.targets).map(|(u, t)| chip.step(u, t.as_ref(), None).unwrap()).sum::<f64>());
        }
        let (first, last) = (losses[0], *losses.last().unwrap());
        assert!(last < 0.5 * first, "{per_layer:?}: loss {first} -> {last}");
        assert!(chip.params.layers[0].w != p.layers[0].w, "the first layer did not learn");
    }
    // External on the first layer: λ of 8 values per step, checked.
    let deep = DeepOptions { per_layer: vec![Feedback::External, Feedback::Symmetric], learn_bias: false };
    let mut chip = OnChip::with_deep(cfg.clone(), p.clone(), oc.clone(), deep).unwrap();
    assert_eq!(chip.external_len(), 8);
    let t = Target::Values(vec![0.0; 3]);
    assert!(chip.step(&[0.0; 5], Some(&t), None).is_err());
    assert!(chip.step(&[0.0; 5], Some(&t), Some(&[0.0; 6])).is_err());
    assert!(chip.step(&[0.0; 5], Some(&t), Some(&[0.1; 8])).is_ok());
    assert_eq!(chip.lambda(0), &[0.1; 8]);
    // Wrong sizes at construction.
    let bad = DeepOptions { per_layer: vec![Feedback::Symmetric], learn_bias: false };
    assert!(OnChip::with_deep(cfg.clone(), p.clone(), oc.clone(), bad).is_err());
    let bad = DeepOptions { per_layer: vec![Feedback::RandomFeedback(b1), Feedback::Symmetric], learn_bias: false };
    assert!(OnChip::with_deep(cfg, p, oc, bad).is_err());
}
