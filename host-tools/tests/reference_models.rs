//! The model-agnostic path (a GIF neuron written only as a generic `step`, Jacobians from duals), e-prop,
//! the task generators and encoders, and the trained-network file format.
#![allow(clippy::needless_range_loop)]
use plasticore::reference::algo::{bptt, rtrl, sequence_grad, Algorithm, BiasCorrection, OnlineOptions};
use plasticore::reference::gif::Gif;
use plasticore::reference::io::{ModelSpec, SavedNet, FORMAT, VERSION};
use plasticore::reference::model::{dual_jacobians, Neuron, NeuronModel, Presyn};
use plasticore::reference::net::{InitScales, LayerConfig, LossKind, NetConfig, Output, Params, Sequence, Target};
use plasticore::reference::rng::Rng;
use plasticore::tasks::{digits, dmts::DmtsConfig, evidence::EvidenceConfig, latency_encode, rate_encode};

fn gif() -> Gif {
    Gif { alpha_m: (-0.1f64).exp(), alpha_s: (-0.2f64).exp(), tau_i2_lo: 20.0, tau_i2_hi: 200.0, ..Gif::dms(3) }
}

fn seq(rng: &mut Rng, n_in: usize, t: usize, n_out: usize) -> Sequence {
    Sequence {
        inputs: (0..t).map(|_| (0..n_in).map(|_| if rng.bernoulli(0.4) { 1.0 } else { 0.0 }).collect()).collect(),
        targets: (0..t).map(|s| (s >= t / 2).then(|| Target::Values((0..n_out).map(|_| rng.normal()).collect()))).collect(),
    }
}

fn max_rel(a: &Params<f64>, b: &Params<f64>) -> f64 {
    let (fa, fb) = (a.flat(), b.flat());
    let s = fa.iter().fold(1e-300f64, |m, x| m.max(x.abs()));
    fa.iter().zip(&fb).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max) / s
}

#[test]
fn gif_gets_exact_gradients_without_hand_derived_jacobians() {
    let mut rng = Rng::new(5);
    // feed-forward: D-RTRL with dual-number D_t, D^f_t equals BPTT
    let cfg = NetConfig {
        layers: vec![LayerConfig { n_in: 4, n: 5, recurrent: false, neuron: gif(), presyn: Presyn::None }],
        output: Output::Membrane,
        loss: LossKind::Mse,
    };
    let p = Params::init(&cfg, &mut rng, InitScales { ff: 12.0, rec: 1.0, out: 1.0 });
    let s = seq(&mut rng, 4, 60, 5);
    let (_, gb) = bptt(&cfg, &p, &s).unwrap();
    let (_, gd) = sequence_grad(&cfg, &p, Algorithm::DRtrl { renorm: false }, OnlineOptions::default(), &s).unwrap();
    assert!(gb.flat().iter().any(|&x| x != 0.0));
    assert!(max_rel(&gb, &gd) < 1e-10, "GIF D-RTRL vs BPTT {}", max_rel(&gb, &gd));
    // recurrent: BPTT equals full RTRL
    let cfg = NetConfig {
        layers: vec![LayerConfig { n_in: 3, n: 4, recurrent: true, neuron: gif(), presyn: Presyn::None }],
        output: Output::LeakyReadout { n_out: 2, kappa: 0.7 },
        loss: LossKind::Mse,
    };
    let p = Params::init(&cfg, &mut rng, InitScales { ff: 12.0, rec: 2.0, out: 1.0 });
    let s = seq(&mut rng, 3, 50, 2);
    let (_, gb) = bptt(&cfg, &p, &s).unwrap();
    let (_, gr) = rtrl(&cfg, &p, &s).unwrap();
    assert!(gb.layers[0].w.iter().any(|&x| x != 0.0));
    assert!(max_rel(&gb, &gr) < 1e-9, "GIF BPTT vs RTRL {}", max_rel(&gb, &gr));
    // ES-D-RTRL on the dual-number path, against hand-derived values: with the loss on the first step
    // only, every gradient is the within-step term x_0 ⊗ (D^f_0·λ_0), which BPTT computes exactly. ES-D-
    // RTRL's traces at n = 0 are ε^x = x_0 and ε^f = (1 − α)·D^f_0, divided by c_0: with the Adam
    // correction c_0 = 1 − α the gradient equals BPTT's; with brainscale's reference correction
    // c_0 = 1 − (1 − α) = α it is BPTT's times (1 − α)/α (1/9 at α = 0.9) for W and b, while the readout
    // (exact trace ε^o = s_0) equals BPTT's.
    let s1 = Sequence {
        inputs: vec![vec![1.0, 1.0, 0.0]],
        targets: vec![Some(Target::Values(vec![1.0, -1.0]))],
    };
    let p1 = Params::init(&cfg, &mut rng, InitScales { ff: 40.0, rec: 2.0, out: 1.0 });
    let (_, gb1) = bptt(&cfg, &p1, &s1).unwrap();
    assert!(gb1.layers[0].w.iter().filter(|&&x| x != 0.0).count() >= 2, "the first step carries a gradient");
    let rel = |a: &[f64], b: &[f64], k: f64| {
        let s = b.iter().fold(1e-300f64, |m, x| m.max(x.abs()));
        a.iter().zip(b).map(|(x, y)| (x - k * y).abs()).fold(0.0, f64::max) / s
    };
    for (corr, k) in [(BiasCorrection::Adam, 1.0), (BiasCorrection::Reference, 0.1 / 0.9)] {
        let es = Algorithm::EsdRtrl { alpha: 0.9, correction: corr };
        let (_, ge) = sequence_grad(&cfg, &p1, es, OnlineOptions::default(), &s1).unwrap();
        assert!(rel(&ge.layers[0].w, &gb1.layers[0].w, k) < 1e-12, "{corr:?} W: {}", rel(&ge.layers[0].w, &gb1.layers[0].w, k));
        assert!(rel(&ge.layers[0].b, &gb1.layers[0].b, k) < 1e-12, "{corr:?} b");
        assert!(rel(&ge.readout, &gb1.readout, 1.0) < 1e-12, "{corr:?} readout");
    }
}

#[test]
fn model_spec_dispatch_keeps_closed_forms_and_duals_consistent() {
    let n = Neuron::lif(0.9).with_alif(0.98, 0.3).with_exp(0.8);
    let m = ModelSpec::Builtin(n);
    let mut rng = Rng::new(2);
    for _ in 0..50 {
        let h: Vec<f64> = (0..3).map(|_| rng.normal() + 0.7).collect();
        let (mut d1, mut f1, mut d2, mut f2) = ([0.0; 9], [0.0; 3], [0.0; 9], [0.0; 3]);
        m.jacobians(&h, 0.3, &mut d1, &mut f1);
        dual_jacobians(&m, &h, 0.3, &mut d2, &mut f2);
        for q in 0..9 {
            assert!((d1[q] - d2[q]).abs() < 1e-12);
        }
        for q in 0..3 {
            assert!((f1[q] - f2[q]).abs() < 1e-12);
        }
    }
}

#[test]
fn eprop_equals_detached_drtrl_without_readout_filter() {
    // with κ = 0 the e-prop eligibility trace is not filtered, and for a detached-reset LIF layer e-prop's
    // gradient is exactly D-RTRL's (same eligibility vectors, learning signal = within-step λ)
    let mut n = Neuron::lif((-0.1f64).exp()).with_exp((-0.2f64).exp());
    n.detach_reset = true;
    let cfg = NetConfig {
        layers: vec![LayerConfig { n_in: 4, n: 6, recurrent: true, neuron: n, presyn: Presyn::None }],
        output: Output::LeakyReadout { n_out: 2, kappa: 0.0 },
        loss: LossKind::Mse,
    };
    let mut rng = Rng::new(8);
    let p = Params::init(&cfg, &mut rng, InitScales { ff: 6.0, rec: 1.0, out: 1.0 });
    let s = seq(&mut rng, 4, 80, 2);
    let o = OnlineOptions::default();
    let (_, ge) = sequence_grad(&cfg, &p, Algorithm::Eprop, o, &s).unwrap();
    let (_, gd) = sequence_grad(&cfg, &p, Algorithm::DRtrl { renorm: false }, o, &s).unwrap();
    assert!(ge.layers[0].w.iter().any(|&x| x != 0.0));
    assert!(max_rel(&ge, &gd) < 1e-12, "e-prop vs D-RTRL {}", max_rel(&ge, &gd));
    // with the readout filter (κ ≠ 0) it adds the readout's temporal credit: see
    // `eprop_with_a_readout_filter_matches_a_hand_derived_gradient`
    // multi-layer e-prop is rejected, not mis-computed
    let deep = NetConfig { layers: vec![cfg.layers[0].clone(), LayerConfig { n_in: 6, ..cfg.layers[0].clone() }], ..cfg };
    let p2 = Params::zeros(&deep);
    assert!(sequence_grad(&deep, &p2, Algorithm::Eprop, o, &seq(&mut rng, 4, 5, 2)).is_err());
}

#[test]
fn eprop_with_a_readout_filter_matches_a_hand_derived_gradient() {
    // One input → one detached-reset LIF (delta synapse, α_m = 0.5, V_th = 1, ReluGrad(0.3, 1)) → one
    // leaky readout (κ = 0.5, V = 2), w = 0.6, b = 0, inputs x = [1, 1, 0], MSE target 1 on every step.
    // By hand: V = [0.6, 0.9, 0.45] (no spike: the readout stays 0, so e_t = 0 − 1 = −1 and the
    // learning signal L_t = V·e_t = −2); ψ_t/V_th = 0.3·(1 − |V_t − 1|) = [0.18, 0.27, 0.135].
    // Eligibility vector (detached LIF: D = α_m, D^f = 1): ε_t = 0.5·ε_{t−1} + x_t = [1, 1.5, 0.75];
    // eligibility trace e_t = ψ_t·ε_t = [0.18, 0.405, 0.10125]; filtered ē_t = κ·ē_{t−1} + e_t =
    // [0.18, 0.495, 0.34875]; ∂L/∂w = Σ_t ē_t·L_t = −2·1.02375 = −2.0475. Bias (x ≡ 1): ε = [1, 1.5, 1.75],
    // e = [0.18, 0.405, 0.23625], ē = [0.18, 0.495, 0.48375], ∂L/∂b = −2·1.15875 = −2.3175. With κ = 0
    // (no filter): ∂L/∂w = −2·0.68625 = −1.3725, as D-RTRL. The readout's gradient is 0 (no spikes).
    let mut n = Neuron::lif(0.5);
    n.detach_reset = true;
    let cfg = |kappa: f64| NetConfig {
        layers: vec![LayerConfig { n_in: 1, n: 1, recurrent: false, neuron: n, presyn: Presyn::None }],
        output: Output::LeakyReadout { n_out: 1, kappa },
        loss: LossKind::Mse,
    };
    let mut p = Params::zeros(&cfg(0.5));
    p.layers[0].w[0] = 0.6;
    p.readout[0] = 2.0;
    let s = Sequence {
        inputs: vec![vec![1.0], vec![1.0], vec![0.0]],
        targets: (0..3).map(|_| Some(Target::Values(vec![1.0]))).collect(),
    };
    let o = OnlineOptions::default();
    let (_, g) = sequence_grad(&cfg(0.5), &p, Algorithm::Eprop, o, &s).unwrap();
    assert!((g.layers[0].w[0] - (-2.0475)).abs() < 1e-12, "dL/dw {}", g.layers[0].w[0]);
    assert!((g.layers[0].b[0] - (-2.3175)).abs() < 1e-12, "dL/db {}", g.layers[0].b[0]);
    assert_eq!(g.readout[0], 0.0);
    let (_, g0) = sequence_grad(&cfg(0.0), &p, Algorithm::Eprop, o, &s).unwrap();
    assert!((g0.layers[0].w[0] - (-1.3725)).abs() < 1e-12, "κ = 0: dL/dw {}", g0.layers[0].w[0]);
}

#[test]
fn dmts_trials_have_the_spec_timing_and_labels() {
    let c = DmtsConfig::default();
    assert_eq!(c.steps(), 2010);
    let trials = c.trials(40, 3);
    let mut labels = [0; 2];
    for tr in &trials {
        assert_eq!(tr.seq.inputs.len(), 2010);
        let window: Vec<usize> = (0..2010).filter(|&t| tr.seq.targets[t].is_some()).collect();
        assert_eq!(window.first(), Some(&1510));
        assert_eq!(window.len(), 500);
        labels[tr.label] += 1;
        // the sample period carries much more input than the delay
        let count = |a: usize, b: usize| tr.seq.inputs[a..b].iter().flatten().sum::<f64>() / (b - a) as f64;
        assert!(count(10, 510) > 5.0 * count(510, 1510));
    }
    assert!(labels[0] > 5 && labels[1] > 5);
    // same seed, same trials
    assert_eq!(c.trials(2, 3)[1].seq, trials[1].seq);
}

#[test]
fn evidence_label_is_the_majority_side() {
    let c = EvidenceConfig::default();
    assert_eq!(c.steps(), 7 * 150 + 1000 + 150);
    for tr in c.trials(20, 9) {
        let (mut left, mut right) = (0.0, 0.0);
        for u in &tr.seq.inputs[..7 * 150] {
            left += u[..25].iter().sum::<f64>();
            right += u[25..50].iter().sum::<f64>();
        }
        // 7 cues × 100 ms × 25 channels × 40 Hz ≈ 100 spikes per cue: the majority side has more spikes
        if (left - right).abs() > 60.0 {
            assert_eq!(tr.label, (right > left) as usize);
        }
        assert_eq!(tr.seq.targets.iter().filter(|t| t.is_some()).count(), 150);
    }
}

#[test]
fn encoders_follow_the_spike_encoding_spec() {
    let x = [0.0, 4.0, 16.0, 8.0];
    let lat = latency_encode(&x, 16.0, 100);
    let firsts: Vec<Option<usize>> = (0..4).map(|i| (0..100).find(|&t| lat[t][i] > 0.0)).collect();
    assert_eq!(firsts, vec![None, Some(74), Some(0), Some(50)]);
    assert_eq!(lat.iter().flatten().sum::<f64>(), 3.0);
    let mut rng = Rng::new(1);
    let r = rate_encode(&[16.0, 0.0], 16.0, 0.2, 5000, &mut rng);
    let c0 = r.iter().map(|v| v[0]).sum::<f64>() / 5000.0;
    assert!((c0 - 0.2).abs() < 0.02, "rate {c0}");
    assert_eq!(r.iter().map(|v| v[1]).sum::<f64>(), 0.0);
}

/// The committed fixture: the first 500 rows of `digits.csv.gz` (`tests/fixtures/README.md`).
fn digits_fixture() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/digits-500.csv.gz")
}

#[test]
fn digits_parser_validates_and_the_fixture_loads() {
    let row: Vec<String> = (0..64).map(|i| (i % 17).to_string()).chain(["3".to_string()]).collect();
    let ok = digits::parse_csv(&row.join(",")).unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].label, 3);
    assert!(digits::parse_csv("1,2,3").is_err());
    let mut bad = row.clone();
    bad[5] = "17".into();
    assert!(digits::parse_csv(&bad.join(",")).is_err());
    assert!(digits::load(std::path::Path::new("/nonexistent/digits.csv.gz")).is_err());
    // Always runs, on the committed fixture: its 500 images, their labels, a rate-coded trial.
    let d = digits::load(&digits_fixture()).unwrap();
    assert_eq!(d.len(), 500);
    let mut counts = [0usize; 10];
    d.iter().for_each(|x| counts[x.label] += 1);
    assert_eq!(counts, [51, 52, 50, 53, 49, 50, 51, 50, 46, 48]);
    assert!(d.iter().all(|x| x.pixels.len() == 64 && x.pixels.iter().all(|&p| (0.0..=16.0).contains(&p))));
    let tr = digits::trial(&d[0], 100, 25, 0.2, 1);
    assert_eq!(tr.label, d[0].label);
    assert!(tr.seq.inputs.iter().flatten().sum::<f64>() > 100.0);
}

#[test]
#[ignore = "full digits: PLASTICORE_DATA=<dir with sklearn-digits/> cargo test -p plasticore --test reference_models -- --ignored (scripts/ci.sh runs it)"]
fn full_digits_file_has_1797_images_and_starts_with_the_fixture() {
    // Asked for and missing is an error, never a skip.
    let path = match std::env::var_os("PLASTICORE_DATA") {
        Some(d) => std::path::PathBuf::from(d).join("sklearn-digits/digits.csv.gz"),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(digits::DEFAULT_PATH),
    };
    assert!(
        path.exists(),
        "the full-data test was asked for but {} is missing: set PLASTICORE_DATA to the directory holding \
         sklearn-digits/ (shared/data)",
        path.display()
    );
    let d = digits::load(&path).unwrap();
    assert_eq!(d.len(), 1797);
    assert_eq!(d[..500], digits::load(&digits_fixture()).unwrap()[..]);
}

#[test]
fn saved_network_roundtrips_and_rejects_bad_files() {
    let cfg = NetConfig {
        layers: vec![LayerConfig { n_in: 3, n: 4, recurrent: true, neuron: ModelSpec::Gif(gif()), presyn: Presyn::None }],
        output: Output::LeakyReadout { n_out: 2, kappa: 0.8 },
        loss: LossKind::CrossEntropy,
    };
    let p = Params::init(&cfg, &mut Rng::new(1), InitScales::default());
    let s = SavedNet {
        format: FORMAT.into(),
        version: VERSION,
        task: "test".into(),
        algorithm: serde_json::json!("Bptt"),
        dt_ms: 1.0,
        config: cfg,
        params: p.clone(),
        metrics: serde_json::json!({}),
    };
    let dir = std::env::temp_dir().join(format!("plasticore-ref-{}", std::process::id()));
    let path = dir.join("net.json");
    s.save(&path).unwrap();
    let back = SavedNet::load(&path).unwrap();
    assert_eq!(back.params, p);
    assert!(!dir.join("net.json.tmp").exists());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(SavedNet::from_slice(text.replace(FORMAT, "other").as_bytes()).is_err());
    assert!(SavedNet::from_slice(&text.as_bytes()[..text.len() / 2]).is_err());
    let mut short = s.clone();
    short.params.readout.pop();
    assert!(SavedNet::from_slice(&serde_json::to_vec(&short).unwrap()).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
