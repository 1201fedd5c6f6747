//! Exactness of the gradient algorithms: BPTT = full RTRL (forward-mode) on random small recurrent networks
//! of every model; D-RTRL = BPTT for one feed-forward layer; finite differences = BPTT where the network is
//! differentiable; closed-form D_t, D^f_t, ∂s/∂h = forward-mode duals.
#![allow(clippy::needless_range_loop)]
use plasticore::reference::algo::{bptt, rtrl, sequence_grad, Algorithm, BiasCorrection, OnlineOptions};
use plasticore::reference::model::{dual_jacobians, Neuron, NeuronModel, Presyn, ResetMode};
use plasticore::reference::net::{InitScales, LayerConfig, LossKind, NetConfig, Output, Params, Sequence, Target};
use plasticore::reference::rng::Rng;
use plasticore::reference::scalar::{Dual, Scalar};

fn neurons() -> Vec<(String, Neuron)> {
    let am = (-1.0f64 / 5.0).exp();
    let mut v = Vec::new();
    for alif in [false, true] {
        for exp in [false, true] {
            for (rname, reset, det) in [("soft", ResetMode::Soft, false), ("hard", ResetMode::Hard, false), ("detached", ResetMode::Soft, true)] {
                let mut n = Neuron::lif(am);
                if alif {
                    n = n.with_alif((-1.0f64 / 30.0).exp(), 0.5);
                }
                if exp {
                    n = n.with_exp((-1.0f64 / 4.0).exp());
                }
                n.reset = reset;
                n.detach_reset = det;
                v.push((format!("{}+{}+{rname}", if alif { "ALIF" } else { "LIF" }, if exp { "exp" } else { "delta" }), n));
            }
        }
    }
    v
}

fn presyns() -> Vec<Presyn> {
    vec![
        Presyn::None,
        Presyn::Std { u: 0.3, decay_d: (-1.0f64 / 20.0).exp() },
        Presyn::Stp { u: 0.5, decay_f: (-1.0f64 / 10.0).exp(), decay_d: (-1.0f64 / 20.0).exp() },
    ]
}

fn random_seq(rng: &mut Rng, n_in: usize, t: usize, n_out: usize, loss: LossKind) -> Sequence {
    let inputs = (0..t).map(|_| (0..n_in).map(|_| if rng.bernoulli(0.3) { 1.0 } else { 0.0 }).collect()).collect();
    let targets = (0..t)
        .map(|s| {
            (s >= t / 3).then(|| match loss {
                LossKind::Mse => Target::Values((0..n_out).map(|_| rng.normal()).collect()),
                LossKind::CrossEntropy => Target::Class(rng.below(n_out)),
            })
        })
        .collect();
    Sequence { inputs, targets }
}

fn max_rel_diff(a: &Params<f64>, b: &Params<f64>) -> f64 {
    let (fa, fb) = (a.flat(), b.flat());
    let scale = fa.iter().fold(1.0f64, |m, x| m.max(x.abs()));
    fa.iter().zip(&fb).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max) / scale
}

#[test]
fn bptt_equals_full_rtrl_for_every_model() {
    // 12 neuron variants × 3 presynaptic filters, two recurrent layers + leaky readout, MSE and CE losses.
    // For each model, random networks are drawn until one propagates gradient through the surrogate into
    // layer 0 (at most 20 draws); every drawn network must match.
    let mut rng = Rng::new(7);
    let mut checked = 0;
    let mut reached = 0;
    for (name, n) in neurons() {
        for pre in presyns() {
            let loss = if checked % 2 == 0 { LossKind::Mse } else { LossKind::CrossEntropy };
            let cfg = NetConfig {
                layers: vec![
                    LayerConfig { n_in: 3, n: 4, recurrent: true, neuron: n, presyn: pre },
                    LayerConfig { n_in: 4, n: 3, recurrent: true, neuron: n, presyn: pre },
                ],
                output: Output::LeakyReadout { n_out: 2, kappa: 0.8 },
                loss,
            };
            for _draw in 0..20 {
                let p = Params::init(&cfg, &mut rng, InitScales { ff: 2.0, rec: 1.0, out: 1.0 });
                let seq = random_seq(&mut rng, 3, 40, 2, loss);
                let (lb, gb) = bptt(&cfg, &p, &seq).unwrap();
                let (lr, gr) = rtrl(&cfg, &p, &seq).unwrap();
                assert!((lb - lr).abs() < 1e-9, "{name} {pre:?}: loss {lb} vs {lr}");
                let d = max_rel_diff(&gb, &gr);
                assert!(d < 1e-9, "{name} {pre:?}: BPTT vs RTRL max rel diff {d}");
                if gb.layers[0].w.iter().any(|&g| g != 0.0) {
                    reached += 1;
                    break;
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 36);
    assert_eq!(reached, 36, "some model never propagated gradient into layer 0");
}

#[test]
fn drtrl_equals_bptt_for_one_feedforward_layer() {
    let mut rng = Rng::new(11);
    for (name, n) in neurons() {
        let cfg = NetConfig {
            layers: vec![LayerConfig { n_in: 4, n: 5, recurrent: false, neuron: n, presyn: Presyn::None }],
            output: Output::Membrane,
            loss: LossKind::Mse,
        };
        let p = Params::init(&cfg, &mut rng, InitScales { ff: 3.0, rec: 1.0, out: 1.0 });
        let seq = random_seq(&mut rng, 4, 40, 5, LossKind::Mse);
        let (_, gb) = bptt(&cfg, &p, &seq).unwrap();
        let (_, gd) = sequence_grad(&cfg, &p, Algorithm::DRtrl { renorm: false }, OnlineOptions::default(), &seq).unwrap();
        let d = max_rel_diff(&gb, &gd);
        assert!(d < 1e-10, "{name}: D-RTRL vs BPTT {d}");
    }
}

#[test]
fn finite_differences_match_bptt_on_readout_weights() {
    // readout weights enter linearly after the spikes: their gradient is exact and FD must agree
    let mut rng = Rng::new(5);
    let n = Neuron::lif((-1.0f64 / 10.0).exp()).with_exp((-1.0f64 / 5.0).exp());
    for loss in [LossKind::Mse, LossKind::CrossEntropy] {
        let cfg = NetConfig {
            layers: vec![LayerConfig { n_in: 3, n: 6, recurrent: true, neuron: n, presyn: Presyn::None }],
            output: Output::LeakyReadout { n_out: 3, kappa: 0.7 },
            loss,
        };
        let p = Params::init(&cfg, &mut rng, InitScales { ff: 6.0, rec: 1.0, out: 1.0 });
        let seq = random_seq(&mut rng, 3, 60, 3, loss);
        let (_, g) = bptt(&cfg, &p, &seq).unwrap();
        assert!(g.readout.iter().any(|&x| x != 0.0));
        for q in 0..p.readout.len() {
            let h = 1e-5;
            let mut pp = p.clone();
            pp.readout[q] += h;
            let lp = bptt(&cfg, &pp, &seq).unwrap().0;
            pp.readout[q] -= 2.0 * h;
            let lm = bptt(&cfg, &pp, &seq).unwrap().0;
            let fd = (lp - lm) / (2.0 * h);
            assert!((fd - g.readout[q]).abs() < 1e-6 * (1.0 + fd.abs()), "readout {q}: fd {fd} vs {}", g.readout[q]);
        }
    }
}

#[test]
fn finite_differences_match_bptt_without_threshold() {
    // threshold so high that nothing spikes and ψ ≡ 0 (surrogate height 0): pure leaky integration (+ adaptation
    // and exponential synapse); every parameter's FD gradient must equal BPTT
    let mut rng = Rng::new(9);
    for (name, mut n) in neurons() {
        n.v_th = 1e4;
        n.surrogate.height = 0.0;
        let cfg = NetConfig {
            layers: vec![LayerConfig { n_in: 3, n: 3, recurrent: true, neuron: n, presyn: Presyn::None }],
            output: Output::Membrane,
            loss: LossKind::Mse,
        };
        let p = Params::init(&cfg, &mut rng, InitScales::default());
        let seq = random_seq(&mut rng, 3, 30, 3, LossKind::Mse);
        let (_, g) = bptt(&cfg, &p, &seq).unwrap();
        let gf = g.flat();
        let mut nonzero = 0;
        for q in 0..p.len() {
            let h = 1e-5;
            let mut pp = p.clone();
            *pp.flat_mut()[q] += h;
            let lp = bptt(&cfg, &pp, &seq).unwrap().0;
            *pp.flat_mut()[q] -= 2.0 * h;
            let lm = bptt(&cfg, &pp, &seq).unwrap().0;
            let fd = (lp - lm) / (2.0 * h);
            assert!((fd - gf[q]).abs() < 1e-6 * (1.0 + fd.abs()), "{name} param {q}: fd {fd} vs {}", gf[q]);
            nonzero += (gf[q].abs() > 1e-8) as usize;
        }
        // the recurrent block sees no spikes, so only input weights and biases carry gradient
        assert!(nonzero >= 9 + 3, "{name}: too few non-zero gradients ({nonzero})");
    }
}

#[test]
fn closed_form_jacobians_match_dual_numbers() {
    let mut rng = Rng::new(13);
    for (name, n) in neurons() {
        let s = n.n_states();
        for _ in 0..200 {
            let h: Vec<f64> = (0..s).map(|_| rng.normal() * 0.8 + 0.5).collect();
            let y = rng.normal();
            let (mut d1, mut f1, mut d2, mut f2) = (vec![0.0; s * s], vec![0.0; s], vec![0.0; s * s], vec![0.0; s]);
            n.jacobians(&h, y, &mut d1, &mut f1);
            dual_jacobians(&n, &h, y, &mut d2, &mut f2);
            for q in 0..s * s {
                assert!((d1[q] - d2[q]).abs() < 1e-12, "{name}: D {d1:?} vs {d2:?}");
            }
            for q in 0..s {
                assert!((f1[q] - f2[q]).abs() < 1e-12, "{name}: Df {f1:?} vs {f2:?}");
            }
            // ∂s/∂h closed form vs duals through vhat
            let mut sg = vec![0.0; s];
            n.spike_grad(&h, &mut sg);
            for l in 0..s {
                let hd: Vec<Dual> = (0..s).map(|q| Dual::new(h[q], (q == l) as u8 as f64)).collect();
                let sd = n.vhat(&hd).spike(&n.surrogate);
                assert!((sd.d - sg[l]).abs() < 1e-12, "{name}: ds/dh");
            }
        }
    }
}

#[test]
fn spec_alif_jacobian_numbers() {
    // spec §1.3: τ_m = 5, τ_a = 100, β = 0.5, V = 0.8, a = 0.3 → [[0.659078, 0.079826], [0.193060, 0.893520]]
    let n = Neuron::lif((-0.2f64).exp()).with_alif((-0.01f64).exp(), 0.5);
    let (mut d, mut f) = ([0.0; 4], [0.0; 2]);
    n.jacobians(&[0.8, 0.3], 0.0, &mut d, &mut f);
    let want = [0.659078, 0.079826, 0.193060, 0.893520];
    for q in 0..4 {
        assert!((d[q] - want[q]).abs() < 1e-6, "{d:?}");
    }
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let n = Neuron::lif(0.9);
    let cfg = NetConfig {
        layers: vec![LayerConfig { n_in: 2, n: 2, recurrent: true, neuron: n, presyn: Presyn::None }],
        output: Output::LeakyReadout { n_out: 2, kappa: 0.5 },
        loss: LossKind::Mse,
    };
    let p = Params::zeros(&cfg);
    let bad = Sequence { inputs: vec![vec![1.0]], targets: vec![None] };
    assert!(bptt(&cfg, &p, &bad).is_err());
    let bad_t = Sequence { inputs: vec![vec![1.0, 0.0]], targets: vec![Some(Target::Class(0))] };
    assert!(bptt(&cfg, &p, &bad_t).is_err());
    let mut short = p.clone();
    short.readout.pop();
    let ok = Sequence { inputs: vec![vec![1.0, 0.0]], targets: vec![None] };
    assert!(bptt(&cfg, &short, &ok).is_err());
    let bad_alpha = Algorithm::EsdRtrl { alpha: 1.5, correction: BiasCorrection::None };
    assert!(sequence_grad(&cfg, &p, bad_alpha, OnlineOptions::default(), &ok).is_err());
    let mut bad_n = n;
    bad_n.v_th = -1.0;
    assert!(bad_n.validate().is_err());
}

#[test]
fn traces_from_loss_window_change_only_what_they_say() {
    // The paper's cosine script runs its warm-up without the trace algorithm: the traces are zero until the
    // loss window opens, the forward pass (and so the loss) is unchanged, and with a window from step 0 the
    // option changes nothing at all.
    use plasticore::reference::algo::OnlineLearner;
    let n = Neuron::lif((-0.1f64).exp()).with_exp((-0.1f64).exp());
    let cfg = NetConfig {
        layers: vec![LayerConfig { n_in: 4, n: 5, recurrent: true, neuron: n, presyn: Presyn::None }],
        output: Output::LeakyReadout { n_out: 2, kappa: 0.8 },
        loss: LossKind::Mse,
    };
    let mut rng = Rng::new(11);
    let p = Params::init(&cfg, &mut rng, InitScales { ff: 3.0, rec: 1.0, out: 1.0 });
    let seq = random_seq(&mut rng, 4, 30, 2, LossKind::Mse);
    let late = OnlineOptions { traces_from_loss_window: true, ..Default::default() };
    for algo in [Algorithm::DRtrl { renorm: false }, Algorithm::EsdRtrl { alpha: 0.9, correction: BiasCorrection::Reference }] {
        let (l0, g0) = sequence_grad(&cfg, &p, algo, OnlineOptions::default(), &seq).unwrap();
        let (l1, g1) = sequence_grad(&cfg, &p, algo, late, &seq).unwrap();
        assert_eq!(l0.to_bits(), l1.to_bits(), "{algo:?}: the forward pass must not change");
        assert!(max_rel_diff(&g0, &g1) > 1e-6, "{algo:?}: a late window must change the gradient");
        let mut all = seq.clone();
        all.targets.iter_mut().for_each(|t| *t = Some(Target::Values(vec![0.5, -0.5])));
        let (_, a0) = sequence_grad(&cfg, &p, algo, OnlineOptions::default(), &all).unwrap();
        let (_, a1) = sequence_grad(&cfg, &p, algo, late, &all).unwrap();
        assert_eq!(a0.flat(), a1.flat(), "{algo:?}: window from step 0");
    }
    let mut ol = OnlineLearner::new(&cfg, &p, Algorithm::DRtrl { renorm: false }, late).unwrap();
    let first = seq.targets.iter().position(|t| t.is_some()).unwrap();
    let mut started = false;
    for (t, (u, tg)) in seq.inputs.iter().zip(&seq.targets).enumerate() {
        ol.step(u, tg.as_ref());
        let zero = ol.drtrl_trace(0).unwrap().iter().all(|&v| v == 0.0);
        assert!(!(t < first && !zero), "step {t}: trace started before the window opened at {first}");
        started |= !zero;
    }
    assert!(started, "the traces never started");
}

#[test]
fn membrane_readout_gradients_are_exact() {
    // the standardised membrane readout couples all neurons of the last layer within a step; BPTT through it
    // must equal forward-mode RTRL, and D-RTRL must equal BPTT for a feed-forward layer and a memoryless
    // readout (λ_t is then the whole ∂L/∂h_t)
    let mut rng = Rng::new(11);
    for standardize in [false, true] {
        for (name, n) in neurons().into_iter().step_by(3) {
            let output = Output::MembraneReadout { n_out: 2, kappa: 0.8, standardize };
            let cfg = NetConfig {
                layers: vec![LayerConfig { n_in: 3, n: 4, recurrent: true, neuron: n, presyn: Presyn::None }],
                output,
                loss: LossKind::CrossEntropy,
            };
            let p = Params::init(&cfg, &mut rng, InitScales { ff: 2.0, rec: 1.0, out: 1.0 });
            let seq = random_seq(&mut rng, 3, 30, 2, LossKind::CrossEntropy);
            let (_, gb) = bptt(&cfg, &p, &seq).unwrap();
            let (_, gr) = rtrl(&cfg, &p, &seq).unwrap();
            let d = max_rel_diff(&gb, &gr);
            assert!(d < 1e-9, "{name} standardize={standardize}: BPTT vs RTRL {d}");
            assert!(gb.layers[0].w.iter().any(|&g| g != 0.0), "{name}: no gradient reached the layer");
            // κ = 0: the readout's own temporal path is not in the hidden layer's trace (as in brainscale)
            let ff = NetConfig {
                layers: vec![LayerConfig { recurrent: false, ..cfg.layers[0] }],
                output: Output::MembraneReadout { n_out: 2, kappa: 0.0, standardize },
                ..cfg
            };
            let p = Params::init(&ff, &mut rng, InitScales { ff: 2.0, rec: 1.0, out: 1.0 });
            let (_, gb) = bptt(&ff, &p, &seq).unwrap();
            let (_, gd) = sequence_grad(&ff, &p, Algorithm::DRtrl { renorm: false }, OnlineOptions::default(), &seq).unwrap();
            let d = max_rel_diff(&gb, &gd);
            assert!(d < 1e-9, "{name} standardize={standardize}: D-RTRL vs BPTT (feed-forward) {d}");
        }
    }
}
