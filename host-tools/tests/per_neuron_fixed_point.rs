//! Per-neuron thresholds and decays from a float network to the chip (issue 10 item 1, the per-neuron
//! arrays end to end):
//! * `image write --from-float` and `quantize -o` fill `ParamMode::PerNeuron` records from a
//!   `plasticore-float-net` v2 layer whose θ or β differ across neurons (θ_j → Q.state_frac, β_j →
//!   Q.decay_frac, nearest, the scalar path's conversions), fold per-neuron gains into weight columns,
//!   and write exactly the old bytes for a layer whose values are uniform;
//! * what the core cannot hold is refused naming the layer and the field;
//! * `run` and `compare` carry the records: chip and core learn the same bits;
//! * end to end: `nir import` of the shipped fixture `fixtures/nir/per_neuron_2layer.nir` (64 → 24 LIF →
//!   12 LIF recurrent → leaky readout of 10; θ_j ∈ [0.75, 1.5] in steps of 1/16 and β_j ∈ [0.8125, 0.9375]
//!   in steps of 1/64, both deliberately non-uniform) → `image write --from-float` → the emulated `loihi`
//!   chip, against the float reference on the imported network.
//!
//! Tolerance of the end-to-end test, derived from the formats (Formats::DEFAULT: Q.16 membrane, Q.24
//! decays, 8-bit weights). The fixture's weights are multiples of 2^-6 with |w| < 0.5 (readout 2^-7),
//! stored exactly at the simple scale's weight_frac ≥ 6 (checked); θ_j (multiples of 2^-4) is exact in
//! Q.16 and β_j (multiples of 2^-6) exact in Q.24 (the f64 NIR round trip moves them by < 1e-12, far
//! below ½·2^-24; the records are checked to hold exactly θ_j·2^16 and β_j·2^24); inputs are 0/1, so
//! every dendritic sum is exact. The one rounding left is the core's β_j·V, nearest to Q.16: ≤ ½·2^-16
//! per step, decaying with β_j, so while both runs agree on every spike |V_chip − V_float| ≤
//! ½·2^-16/(1 − β_j) ≤ 8·2^-16 ≈ 1.2e-4 for β_j ≤ 0.9375 (the hard reset zeroes the error of a neuron
//! that fires), plus 1e-9 for the float side's own rounding and the import's gains within 1e-12 of 1.
//! A spike may differ only where the float membrane is within that bound of θ_j; after the first
//! difference the runs are compared by spike counts only (printed).
// the simulations index several arrays with the same t, j, as the equations do
#![allow(clippy::needless_range_loop)]
use plasticore::nir::float_net::{from_saved_net, ExportOptions};
use plasticore::nir::h5::FloatWidth;
use plasticore::nir::lower::Method;
use plasticore::quantize::float_net::core_layers;
use plasticore::reference::io::{ModelSpec, SavedNet, FORMAT};
use plasticore::reference::model::{Neuron, Presyn, ResetMode, Synapse};
use plasticore::reference::net::{forward_step, LayerConfig, LayerParams, LossKind, NetConfig, NetState, Output, Params, StepRecord};
use plasticore::reference::per_neuron::{PerNeuron, PnReset, PnSpiking, PnSynapse};
use plasticore::reference::scalar::Surrogate;
use plasticore_core::graph::image::{GraphImage, PopWeights as ImgWeights};
use plasticore_core::graph::ParamMode;
use plasticore_core::net::Timestep;
use plasticore_core::neuron::{NeuronParams, ParamSlot};
use plasticore_core::readout::Target;
use plasticore_emu::graph::{GraphEmulator, GraphNetworkSpec};
use plasticore_emu::observe::NoObserver;
use plasticore_emu::{presets, EmuOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_plasticore"));
    c.env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE");
    c
}
/// Run the CLI: (success, stdout + stderr).
fn cli(args: &[&str]) -> (bool, String) {
    let o = bin().args(args).output().unwrap();
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}
fn ok(args: &[&str]) -> String {
    let (good, out) = cli(args);
    assert!(good, "{args:?} failed: {out}");
    out
}
fn fixture(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    assert!(p.exists(), "fixture missing: {}", p.display());
    p
}
fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("plasticore-pnfx-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
fn s(p: &Path) -> String {
    p.display().to_string()
}
/// The last line of stdout that is a JSON object.
fn json(out: &str) -> serde_json::Value {
    let l = out.lines().rev().find(|l| l.starts_with('{')).expect("no JSON line");
    serde_json::from_str(l).unwrap()
}

mod common;
use common::Rng;

const N_IN: usize = 64;
const H1: usize = 24;
const H2: usize = 12;
const N_OUT: usize = 10;

/// θ_j: 0.75 .. 1.5 in steps of 1/16 (exact in Q.16), different per neuron and per layer.
fn theta(l: usize, j: usize) -> f64 {
    0.75 + ((j * 5 + l * 3) % 13) as f64 / 16.0
}
/// β_j: 0.8125 .. 0.9375 in steps of 1/64 (exact in Q.24).
fn beta(l: usize, j: usize) -> f64 {
    0.8125 + ((j * 7 + l) % 9) as f64 / 64.0
}

fn per_neuron_lif(l: usize, n: usize) -> PerNeuron {
    PerNeuron {
        alpha_m: (0..n).map(|j| beta(l, j)).collect(),
        gain_m: vec![1.0; n],
        leak: vec![0.0; n],
        synapse: None,
        spiking: Some(PnSpiking { v_th: (0..n).map(|j| theta(l, j)).collect(), v_reset: vec![0.0; n], reset: PnReset::Value, detach_reset: false }),
        surrogate: Surrogate::default(),
    }
}

fn saved(layers: Vec<LayerConfig<ModelSpec>>, params: Vec<LayerParams<f64>>, readout: Vec<f64>) -> SavedNet {
    let mut s = SavedNet {
        format: FORMAT.into(),
        version: 2,
        task: "per-neuron fixture".into(),
        algorithm: serde_json::json!({}),
        dt_ms: 1.0,
        config: NetConfig { layers, output: Output::LeakyReadout { n_out: N_OUT, kappa: 0.75 }, loss: LossKind::CrossEntropy },
        params: Params { layers: params, readout },
        metrics: serde_json::json!({}),
    };
    s.version = s.required_version();
    s
}

/// The fixture network (the source of `fixtures/nir/per_neuron_2layer.nir`): 64 → 24 per-neuron LIF →
/// 12 per-neuron LIF (recurrent) → leaky readout of 10, hard reset to 0, weights multiples of 2^-6.
fn fixture_net() -> SavedNet {
    let mut r = Rng(0x5EED_0010);
    let mut w = |n: usize, lo: f64, span: f64| -> Vec<f64> { (0..n).map(|_| ((r.next() * span + lo) * 64.0).round() / 64.0).collect() };
    let l0 = LayerParams { w: w(N_IN * H1, -0.28, 0.6), b: vec![0.0; H1] };
    let l1 = LayerParams { w: w((H1 + H2) * H2, -0.33, 0.7), b: vec![0.0; H2] };
    let mut r = Rng(0xC0DE_0010);
    let readout = (0..H2 * N_OUT).map(|_| ((r.next() - 0.5) * 128.0).round() / 128.0).collect();
    let layer = |l: usize, n_in: usize, n: usize, recurrent: bool| LayerConfig { n_in, n, recurrent, neuron: ModelSpec::PerNeuron(per_neuron_lif(l, n)), presyn: Presyn::None };
    saved(vec![layer(0, N_IN, H1, false), layer(1, H1, H2, true)], vec![l0, l1], readout)
}

/// The NIR bytes of the fixture (float64, Euler: the discretisation the import inverts).
fn fixture_nir_bytes() -> Vec<u8> {
    from_saved_net(&fixture_net(), ExportOptions { method: Method::Euler, width: FloatWidth::F64 }).unwrap().to_bytes().unwrap()
}

/// The committed fixture is what `fixture_net` exports (regenerate with `PLASTICORE_BLESS=1`).
#[test]
fn shipped_nir_fixture_is_the_documented_network() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nir/per_neuron_2layer.nir");
    let bytes = fixture_nir_bytes();
    if std::env::var_os("PLASTICORE_BLESS").is_some() {
        std::fs::write(&path, &bytes).unwrap();
    }
    assert!(std::fs::read(&path).unwrap() == bytes, "{} differs from fixture_net()'s export (PLASTICORE_BLESS=1 rewrites it)", path.display());
}

/// `nir import` of the fixture: the per-neuron network (v2) with the fixture's θ_j and β_j.
fn import_fixture(d: &Path) -> (PathBuf, SavedNet) {
    let net = d.join("net.json");
    ok(&["nir", "import", &s(&fixture("nir/per_neuron_2layer.nir")), "-o", &s(&net)]);
    let sn = SavedNet::load(&net).unwrap();
    assert_eq!(sn.version, 2, "per-neuron layers import as v2");
    (net, sn)
}

/// The per-neuron records of every population of an image (empty for a shared one) and its modes.
fn records(bytes: &[u8]) -> Vec<(ParamMode, Vec<NeuronParams>)> {
    let img = GraphImage::parse(bytes).unwrap();
    let d = img.desc().unwrap();
    (0..d.populations.len()).map(|p| (d.populations[p].params, img.population_params(&d, p).unwrap().collect())).collect()
}

#[test]
fn differing_theta_and_beta_fill_per_neuron_records_in_image_write_and_quantize() {
    let d = tmpdir("records");
    let (net, sn) = import_fixture(&d);
    let img = d.join("w.pcimg");
    ok(&["image", "write", "--from-float", &s(&net), "--out", &s(&img)]);
    let bytes = std::fs::read(&img).unwrap();
    let recs = records(&bytes);
    for (l, n) in [(0, H1), (1, H2)] {
        assert_eq!(recs[l].0, ParamMode::PerNeuron, "population {l}");
        let want: Vec<NeuronParams> =
            (0..n).map(|j| NeuronParams { threshold: (theta(l, j) * 65536.0) as i32, decay: (beta(l, j) * 16777216.0) as u32, adapt: 0 }).collect();
        assert_eq!(recs[l].1, want, "population {l}: θ_j·2^16 and β_j·2^24, exactly");
    }
    // the weights are stored exactly (the gains came back as exactly 1 or were snapped)
    let gi = GraphImage::parse(&bytes).unwrap();
    let desc = gi.desc().unwrap();
    for l in 0..2 {
        let f = desc.populations[l].layer.formats.weight_frac;
        let ImgWeights::Dense(w) = gi.population_weights(&desc, l).unwrap() else { panic!("dense") };
        let wq: Vec<f64> = w.map(|x| x.0 as f64 / (1u64 << f) as f64).collect();
        assert_eq!(wq, sn.params.layers[l].w, "layer {l}: weights exact (weight_frac {f})");
    }
    // quantize -o writes the same records (the scales are searched, the records are not)
    let q = d.join("q.pcimg");
    ok(&["quantize", "--net", &s(&net), "--events", &s(&fixture("digits500-test-50.npz")), "--bits", "8", "--calib", "8", "-o", &s(&q)]);
    let qrecs = records(&std::fs::read(&q).unwrap());
    assert_eq!(qrecs, recs, "quantize -o and image write --from-float write the same per-neuron records");
    let info = ok(&["image", "info", &s(&q)]);
    assert_eq!(info.matches("thresholds/decays per neuron").count(), 2, "{info}");
    let _ = std::fs::remove_dir_all(&d);
}

/// Per-neuron gains c_j (no synaptic current) fold into weight column j and leaks l_j into bias j; a
/// synaptic current's gains c_j·a_j fold as c_j·a_j / max_k c_k·a_k with the maximum as the
/// population's gain. The result runs like the original layer (float reference, spikes identical).
#[test]
fn per_neuron_gains_fold_into_weight_columns() {
    let mut net = fixture_net();
    let ModelSpec::PerNeuron(p0) = &mut net.config.layers[0].neuron else { panic!() };
    p0.gain_m = (0..H1).map(|j| 0.5 + (j % 4) as f64 / 4.0).collect();
    p0.leak = (0..H1).map(|j| (j % 3) as f64 / 64.0).collect();
    let ModelSpec::PerNeuron(p1) = &mut net.config.layers[1].neuron else { panic!() };
    p1.gain_m = (0..H2).map(|j| 0.25 + (j % 2) as f64 / 4.0).collect();
    p1.synapse = Some(PnSynapse { alpha_s: vec![0.5; H2], gain_s: (0..H2).map(|j| 1.0 + (j % 3) as f64).collect() });
    let c = core_layers(&net).unwrap();
    let w0 = &net.params.layers[0].w;
    let ModelSpec::PerNeuron(q0) = &c.config.layers[0].neuron else { panic!("per-neuron") };
    assert!(q0.gain_m.iter().all(|&g| g == 1.0) && q0.leak.iter().all(|&x| x == 0.0));
    for j in 0..H1 {
        assert_eq!(c.params.layers[0].w[5 * H1 + j], w0[5 * H1 + j] * (0.5 + (j % 4) as f64 / 4.0), "column {j} times c_j");
        assert_eq!(c.params.layers[0].b[j], (j % 3) as f64 / 64.0, "bias j + l_j");
    }
    let ModelSpec::PerNeuron(q1) = &c.config.layers[1].neuron else { panic!("per-neuron") };
    let kmax = (0..H2).map(|j| (0.25 + (j % 2) as f64 / 4.0) * (1.0 + (j % 3) as f64)).fold(0.0, f64::max);
    assert!(q1.gain_m.iter().all(|&g| g == kmax), "the population's gain is max c·a = {kmax}");
    // same dynamics: spikes identical over 300 steps of the float reference
    let mut r = Rng(77);
    let xs: Vec<Vec<f64>> = (0..300).map(|_| (0..N_IN).map(|_| (r.next() < 0.3) as u8 as f64).collect()).collect();
    let run = |sn: &SavedNet| -> Vec<Vec<f64>> {
        let mut st = NetState::<f64>::new(&sn.config);
        let mut rec = StepRecord::default();
        xs.iter()
            .map(|u| {
                forward_step(&sn.config, &sn.params, &mut st, u, &mut rec);
                rec.layers.iter().flat_map(|l| l.s.clone()).collect()
            })
            .collect()
    };
    let (a, b) = (run(&net), run(&c));
    assert_eq!(a, b, "folded gains: same spikes");
    assert!(a.iter().flatten().filter(|&&z| z == 1.0).count() > 300, "the layers fire");
}

/// A layer whose values are uniform writes exactly the bytes of its built-in LIF twin (the converter's
/// output before per-neuron records existed), in `image write --from-float` and `quantize -o`; with and
/// without a synaptic current, gains ≠ 1 folded the same way.
#[test]
fn uniform_per_neuron_layers_write_the_builtin_bytes() {
    let d = tmpdir("uniform");
    let base = fixture_net();
    let uniform = |l: usize, n: usize, syn: bool| {
        let mut p = per_neuron_lif(l, n);
        p.alpha_m = vec![0.875; n];
        p.gain_m = vec![0.5; n];
        p.spiking.as_mut().unwrap().v_th = vec![1.0; n];
        if syn {
            p.synapse = Some(PnSynapse { alpha_s: vec![0.75; n], gain_s: vec![1.5; n] });
        }
        p
    };
    let mut v2 = base.clone();
    v2.config.layers[0].neuron = ModelSpec::PerNeuron(uniform(0, H1, false));
    v2.config.layers[1].neuron = ModelSpec::PerNeuron(uniform(1, H2, true));
    let mut v1 = base.clone();
    let mut n0 = Neuron::lif(0.875);
    n0.reset = ResetMode::Hard;
    let mut n1 = n0;
    n1.synapse = Synapse::Exponential { alpha_s: 0.75, gain: 0.5 * 1.5 };
    v1.config.layers[0].neuron = ModelSpec::Builtin(n0);
    v1.config.layers[1].neuron = ModelSpec::Builtin(n1);
    v1.params.layers[0].w.iter_mut().for_each(|w| *w *= 0.5);
    v1.version = v1.required_version();
    assert_eq!(v1.version, 1);
    v1.save(&d.join("v1.json")).unwrap();
    v2.save(&d.join("v2.json")).unwrap();
    let mut imgs = Vec::new();
    for v in ["v1", "v2"] {
        let (i, q) = (d.join(format!("{v}.pcimg")), d.join(format!("{v}.q.pcimg")));
        ok(&["image", "write", "--from-float", &s(&d.join(format!("{v}.json"))), "--out", &s(&i)]);
        ok(&["quantize", "--net", &s(&d.join(format!("{v}.json"))), "--events", &s(&fixture("digits500-test-50.npz")), "--bits", "8", "--calib", "4", "-o", &s(&q)]);
        imgs.push((std::fs::read(&i).unwrap(), std::fs::read(&q).unwrap()));
    }
    assert!(imgs[0].0 == imgs[1].0, "image write: a uniform per-neuron network writes its built-in twin's bytes");
    assert!(imgs[0].1 == imgs[1].1, "quantize -o: a uniform per-neuron network writes its built-in twin's bytes");
    assert!(records(&imgs[1].0).iter().all(|(m, v)| *m == ParamMode::Shared && v.is_empty()), "no per-neuron records");
    let _ = std::fs::remove_dir_all(&d);
}

/// What the core cannot hold is refused naming the layer and the field, in the library and the CLI.
#[test]
fn unrepresentable_per_neuron_layers_are_refused_by_layer_and_field() {
    type Mutation = Box<dyn Fn(&mut PerNeuron)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        ("v_reset", Box::new(|p| p.spiking.as_mut().unwrap().v_reset[3] = -0.1), "v_reset[3] = -0.1"),
        ("reset", Box::new(|p| p.spiking.as_mut().unwrap().reset = PnReset::SubtractUndecayed), "undecayed"),
        ("spiking", Box::new(|p| p.spiking = None), "non-spiking"),
        ("alpha_s", Box::new(|p| p.synapse = Some(PnSynapse { alpha_s: (0..H2).map(|j| 0.5 + j as f64 / 64.0).collect(), gain_s: vec![1.0; H2] })), "differs across its 12 neurons"),
        ("leak", Box::new(|p| {
            p.synapse = Some(PnSynapse { alpha_s: vec![0.5; H2], gain_s: vec![1.0; H2] });
            p.leak[2] = 0.01;
        }), "with a synaptic current"),
    ];
    let d = tmpdir("refused");
    for (field, mutate, what) in cases {
        let mut net = fixture_net();
        let ModelSpec::PerNeuron(p) = &mut net.config.layers[1].neuron else { panic!() };
        mutate(p);
        let e = core_layers(&net).unwrap_err().to_string();
        assert!(!e.contains("calibration") && e.contains("layer 1") && e.contains(&format!("{field}:")) && e.contains(what), "{field}: {e}");
        let f = d.join(format!("{field}.json"));
        net.save(&f).unwrap();
        let (good, out) = cli(&["image", "write", "--from-float", &s(&f), "--out", &s(&d.join("x.pcimg"))]);
        assert!(!good && out.trim_end().lines().count() == 1 && out.contains("layer 1") && out.contains(field), "{field}: {out}");
    }
    // the shipped example lif_2layer.nir: per-neuron τ converts, but its v_reset = −0.1 does not
    let lif = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/nir-examples/lif_2layer.nir");
    assert!(lif.exists(), "the shared NIR examples are missing: {}", lif.display());
    ok(&["nir", "import", &s(&lif), "-o", &s(&d.join("lif.json")), "--dt", "0.001"]);
    let (good, out) = cli(&["image", "write", "--from-float", &s(&d.join("lif.json")), "--out", &s(&d.join("lif.pcimg"))]);
    assert!(!good && out.contains("layer 0") && out.contains("v_reset"), "{out}");
    let _ = std::fs::remove_dir_all(&d);
}

/// `run` on a per-neuron image: chip and core learn the same bits (learnt images byte for byte, with
/// the per-neuron records carried into the learnt image), and learning moved weights.
#[test]
fn chip_and_core_learn_the_same_bits_on_a_per_neuron_image() {
    let d = tmpdir("backends");
    let (_, mut sn) = import_fixture(&d);
    // NIR carries no loss (import says MSE); `run` gives class targets, which the core's readout learns
    // from with cross-entropy only
    sn.config.loss = LossKind::CrossEntropy;
    let net = d.join("net-ce.json");
    sn.save(&net).unwrap();
    let img = d.join("net.pcimg");
    ok(&["image", "write", "--from-float", &s(&net), "--out", &s(&img), "--lr-shift", "8", "--readout-lr-shift", "10"]);
    let mut res = Vec::new();
    for be in ["chip", "core"] {
        let out = ok(&[
            "run", "--image", &s(&img), "--events", &s(&fixture("digits500-train-50.npz")), "--limit", "30", "--test-events",
            &s(&fixture("digits500-test-50.npz")), "--epochs", "2", "--learn", "--backend", be, "-o", &s(&d.join(format!("{be}.pcimg"))),
        ]);
        res.push((json(&out), std::fs::read(d.join(format!("{be}.pcimg"))).unwrap()));
    }
    let ((cj, cb), (kj, kb)) = (&res[0], &res[1]);
    let before = std::fs::read(&img).unwrap();
    assert!(cb != &before, "learning changed no weight: vacuous");
    assert!(cb == kb, "learnt images differ between chip and core");
    assert_eq!(records(cb), records(&before), "the per-neuron records are carried into the learnt image");
    for k in ["accuracy_train_per_epoch", "accuracy_test_per_epoch", "rate_learning_per_population", "rate_inference_per_population", "saturations"] {
        assert_eq!(cj[k], kj[k], "{k}");
    }
    // compare runs the float twin with the image's per-neuron values (dequantized), also when the float
    // file has one θ and β per population (here their means): the twin then still spikes with the image
    let mut flat = sn.clone();
    for l in &mut flat.config.layers {
        let ModelSpec::PerNeuron(pn) = &mut l.neuron else { panic!() };
        let n = pn.n() as f64;
        let (b, t) = (pn.alpha_m.iter().sum::<f64>() / n, pn.spiking.as_ref().unwrap().v_th.iter().sum::<f64>() / n);
        pn.alpha_m.iter_mut().for_each(|x| *x = b);
        pn.spiking.as_mut().unwrap().v_th.iter_mut().for_each(|x| *x = t);
    }
    let flat_net = d.join("flat.json");
    flat.save(&flat_net).unwrap();
    for (what, f) in [("per-neuron file", &net), ("uniform file", &flat_net)] {
        let out = ok(&[
            "compare", "--net", &s(f), "--image", &s(&img), "--events", &s(&fixture("digits500-train-50.npz")), "--limit", "20", "--test-events",
            &s(&fixture("digits500-test-50.npz")), "--grad-samples", "4",
        ]);
        let j = json(&out);
        eprintln!("{what}: {j}");
        for p in 0..2 {
            let a = j[format!("spike_agreement_L{p}")].as_f64().unwrap();
            assert!(j[format!("spike_agreement_pass_L{p}")] == true && a > 0.99, "{what}: population {p} spike agreement {a}: {j}");
        }
        assert_eq!(j["grad_cosine_fixed_float_esd_pass"], true, "{what}: {j}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// An MSE readout (what `nir import` gives: NIR carries no loss) learns from class labels through their
/// one-hot vectors (`backend::ClassTargets`): `run --learn` changes its weights, chip and core learn the
/// same bits, and `compare --learn` gives the float twin the same one-hot targets (its gradient check passes).
#[test]
fn an_mse_readout_learns_one_hot_targets_on_chip_core_and_float() {
    let d = tmpdir("mse");
    let (net, sn) = import_fixture(&d);
    assert_eq!(sn.config.loss, LossKind::Mse, "the fixture imports with an MSE readout");
    let img = d.join("net.pcimg");
    ok(&["image", "write", "--from-float", &s(&net), "--out", &s(&img), "--lr-shift", "8", "--readout-lr-shift", "10"]);
    let before = std::fs::read(&img).unwrap();
    let mut learnt = Vec::new();
    for be in ["chip", "core"] {
        let o = d.join(format!("{be}.pcimg"));
        ok(&[
            "run", "--image", &s(&img), "--events", &s(&fixture("digits500-train-50.npz")), "--limit", "20", "--epochs", "1", "--learn",
            "--backend", be, "-o", &s(&o),
        ]);
        learnt.push(std::fs::read(&o).unwrap());
    }
    assert!(learnt[0] != before, "an MSE readout learnt nothing from the labels");
    assert!(learnt[0] == learnt[1], "learnt images differ between chip and core");
    let out = ok(&[
        "compare", "--net", &s(&net), "--image", &s(&img), "--events", &s(&fixture("digits500-train-50.npz")), "--limit", "10", "--test-events",
        &s(&fixture("digits500-test-50.npz")), "--grad-samples", "4", "--learn",
    ]);
    let j = json(&out);
    assert_eq!(j["grad_cosine_fixed_float_esd_pass"], true, "{j}");
    assert!(j["weight_drift_pass"] == true, "{j}");
    let _ = std::fs::remove_dir_all(&d);
}

/// End to end (module documentation): the imported fixture's per-neuron θ_j and β_j reach the chip —
/// membranes within ½·2^-16/(1 − β_j) of the float reference while spikes agree — and replacing every
/// neuron's record by the population mean changes the chip's spike counts.
#[test]
fn imported_per_neuron_network_on_the_loihi_chip_agrees_with_float() {
    let d = tmpdir("e2e");
    let (net, sn) = import_fixture(&d);
    let img = d.join("net.pcimg");
    ok(&["image", "write", "--from-float", &s(&net), "--out", &s(&img), "--no-learn"]);
    let bytes = std::fs::read(&img).unwrap();
    let spec: GraphNetworkSpec = plasticore_emu::graph::spec_from_image(&bytes).unwrap().0;
    assert!(spec.params.iter().all(|v| !v.is_empty()), "both populations per neuron");
    let steps = 300;
    let mut r = Rng(0xC0FF_EE12);
    let events: Vec<Vec<u16>> = (0..steps).map(|_| (0..N_IN as u16).filter(|_| r.next() < 0.3).collect()).collect();
    // per step and population: (step, population, spiking neurons, membranes)
    type Visit<'v> = &'v mut dyn FnMut(usize, usize, &[u16], &[i32]);
    let chip_run = |spec: GraphNetworkSpec, f: Visit<'_>| {
        let mut emu = GraphEmulator::new(presets::loihi(), spec, EmuOptions { timing: false, ..EmuOptions::default() }).unwrap();
        for t in 0..steps {
            emu.step(Timestep(t as u32), &events[t], Target::None, &[], &mut NoObserver).unwrap();
            for p in 0..2 {
                f(t, p, &emu.spikes(p), &emu.gather(p, |c| c.state()));
            }
        }
    };
    // float reference of the imported (v2) network
    let mut st = NetState::<f64>::new(&sn.config);
    let mut rec = StepRecord::default();
    let mut float: Vec<Vec<(Vec<f64>, Vec<f64>)>> = Vec::new(); // [t][layer] (spikes, membranes)
    for t in 0..steps {
        let u: Vec<f64> = (0..N_IN).map(|c| events[t].contains(&(c as u16)) as u8 as f64).collect();
        forward_step(&sn.config, &sn.params, &mut st, &u, &mut rec);
        float.push(
            sn.config
                .layers
                .iter()
                .enumerate()
                .map(|(l, c)| {
                    let ModelSpec::PerNeuron(pn) = &c.neuron else { panic!("per-neuron") };
                    let (s_n, m) = (plasticore::reference::model::NeuronModel::n_states(pn), plasticore::reference::model::NeuronModel::membrane_index(pn));
                    (rec.layers[l].s.clone(), (0..c.n).map(|j| st.layers[l].h[j * s_n + m]).collect())
                })
                .collect(),
        );
    }
    let ns = [H1, H2];
    let mut counts = [vec![0u32; H1], vec![0u32; H2]];
    let mut fcounts = [vec![0u32; H1], vec![0u32; H2]];
    let mut diverged = None;
    let mut max_dv = 0f64;
    chip_run(spec.clone(), &mut |t, p, spk, v| {
        let (fs, fv) = &float[t][p];
        let mut z = vec![0.0; ns[p]];
        spk.iter().for_each(|&j| z[j as usize] = 1.0);
        for j in 0..ns[p] {
            counts[p][j] += z[j] as u32;
            fcounts[p][j] += fs[j] as u32;
        }
        if diverged.is_some() {
            return;
        }
        assert_eq!(v.len(), ns[p], "one state per LIF neuron");
        for j in 0..ns[p] {
            let bound = 0.5 * 2f64.powi(-16) / (1.0 - beta(p, j)) + 1e-9;
            let dv = (v[j] as f64 / 65536.0 - fv[j]).abs();
            max_dv = max_dv.max(dv);
            assert!(dv <= bound, "population {p} neuron {j} step {t}: |V_chip − V_float| = {dv:e} > {bound:e} while spikes agree");
            if z[j] != fs[j] {
                assert!((fv[j] - theta(p, j)).abs() <= bound, "population {p} neuron {j} step {t}: spikes differ with the float membrane {} not within {bound:e} of θ_j = {}", fv[j], theta(p, j));
                diverged = Some((t, p, j));
            }
        }
    });
    let tot = |c: &[Vec<u32>; 2], p: usize| c[p].iter().sum::<u32>();
    println!(
        "per-neuron e2e: {steps} steps; spikes chip/float layer 1 {}/{}, layer 2 {}/{}; first disagreement (step, population, neuron) {diverged:?}; max |dV| before it {max_dv:e}",
        tot(&counts, 0),
        tot(&fcounts, 0),
        tot(&counts, 1),
        tot(&fcounts, 1)
    );
    if diverged.is_none() {
        assert_eq!(counts, fcounts, "no disagreement: identical counts");
    }
    assert!(tot(&fcounts, 0) > 200 && tot(&fcounts, 1) > 50, "both layers must fire for the test to mean anything");
    // control: every record replaced by the population's mean θ and β (what averaging would do) changes
    // the chip's spike counts, so the per-neuron values are what the chip ran
    let mut mean = spec.clone();
    for (p, slots) in mean.params.iter_mut().enumerate() {
        let n = slots.len() as i64;
        let th = slots.iter().map(|s| s.values().threshold as i64).sum::<i64>() / n;
        let de = slots.iter().map(|s| s.values().decay as i64).sum::<i64>() / n;
        let slot = ParamSlot::new(&mean.config.populations[p].layer, NeuronParams { threshold: th as i32, decay: de as u32, adapt: 0 }).unwrap();
        slots.iter_mut().for_each(|s| *s = slot);
    }
    let mut mcounts = [vec![0u32; H1], vec![0u32; H2]];
    chip_run(mean, &mut |_, p, spk, _| spk.iter().for_each(|&j| mcounts[p][j as usize] += 1));
    println!("mean records: spikes layer 1 {}, layer 2 {}", tot(&mcounts, 0), tot(&mcounts, 1));
    assert_ne!(mcounts, counts, "the mean records give the same spikes: the per-neuron values did not matter");
    let _ = std::fs::remove_dir_all(&d);
}

/// `nir export` of a per-neuron image exports every neuron's θ and β (dequantized, here exactly the
/// fixture's), not the population's scalar fields; re-import gives them back.
#[test]
fn per_neuron_image_exports_to_nir_with_its_records() {
    let d = tmpdir("export");
    let (net, _) = import_fixture(&d);
    let img = d.join("net.pcimg");
    ok(&["image", "write", "--from-float", &s(&net), "--out", &s(&img)]);
    let nir = d.join("back.nir");
    ok(&["nir", "export", &s(&img), "-o", &s(&nir), "--dtype", "f64"]);
    ok(&["nir", "import", &s(&nir), "-o", &s(&d.join("back.json"))]);
    let back = SavedNet::load(&d.join("back.json")).unwrap();
    for (l, n) in [(0, H1), (1, H2)] {
        let ModelSpec::PerNeuron(pn) = &back.config.layers[l].neuron else { panic!("layer {l}: per-neuron") };
        for j in 0..n {
            assert!((pn.alpha_m[j] - beta(l, j)).abs() <= 1e-12, "layer {l} neuron {j}: β {} vs {}", pn.alpha_m[j], beta(l, j));
            let th = pn.spiking.as_ref().unwrap().v_th[j];
            assert!((th - theta(l, j)).abs() <= 1e-12, "layer {l} neuron {j}: θ {th} vs {}", theta(l, j));
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// A per-neuron value outside the core's range (θ_j below the LIF minimum 2^-4) is an error naming the
/// layer and the neuron, never a clamp.
#[test]
fn out_of_range_per_neuron_values_are_named_by_layer_and_neuron() {
    let d = tmpdir("range");
    let mut net = fixture_net();
    let ModelSpec::PerNeuron(p) = &mut net.config.layers[1].neuron else { panic!() };
    p.spiking.as_mut().unwrap().v_th[7] = 0.01;
    let f = d.join("bad.json");
    net.save(&f).unwrap();
    let (good, out) = cli(&["image", "write", "--from-float", &s(&f), "--out", &s(&d.join("x.pcimg"))]);
    assert!(!good && out.trim_end().lines().count() == 1 && out.contains("layer 1 neuron 7"), "{out}");
    assert!(!d.join("x.pcimg").exists(), "nothing written");
    let _ = std::fs::remove_dir_all(&d);
}
