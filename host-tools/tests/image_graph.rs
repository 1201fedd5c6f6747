//! `plasticore image` with graph images (format version 2). Questions answered:
//! * does `image write --from-float` turn a stacked float network (`plasticore-float-net` v1) into a graph
//!   image whose populations, projections and weights are what the simple scale promises (the largest
//!   power-of-two `weight_frac` at which max |w| fits the weight bits; mantissa = round(w·2^f))?
//! * does `image info` print the graph (populations, models, sizes, projections with delays and learn
//!   flags, memory per synapse and per neuron)?
//! * does `image run` on a v2 image print the RESULT line a direct `plasticore_core::graph` run gives,
//!   and does a v1 preset image still run, with the same line as its one-population graph? Does
//!   `--emulator` give that line on the emulated chip (compressed rows, learnt biases)?
//! * are biases carried (learnt, Q.16) and files the core cannot hold (membrane outputs) refused?
use plasticore::reference::io::{ModelSpec, SavedNet};
use plasticore::reference::model::{Neuron, Presyn};
use plasticore::reference::net::{LayerConfig, LayerParams, LossKind, NetConfig, Output, Params};
use plasticore_core::graph::image::{GraphImage, PopWeights};
use plasticore_core::graph::{self, BiasMode, Graph, Source};
use plasticore_core::image::Runner;
use plasticore_core::rng::XorShift32;
use std::path::{Path, PathBuf};
use std::process::{Command, Output as ProcOutput};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_plasticore"))
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("plasticore-imgv2-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ok(o: ProcOutput) -> String {
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

const I: usize = 8;
const H1: usize = 12;
const H2: usize = 10;

/// 8 inputs → 12 LIF (feed-forward, STD inputs) → 10 ALIF with exponential synapse (recurrent) → 2.
fn float_net(zero_some: bool) -> SavedNet {
    let lif = Neuron::lif(0.9);
    let alif = Neuron::lif(0.85).with_alif(0.97, 0.2).with_exp(0.7);
    let config = NetConfig {
        layers: vec![
            LayerConfig { n_in: I, n: H1, recurrent: false, neuron: ModelSpec::Builtin(lif), presyn: Presyn::Std { u: 0.3, decay_d: 0.9 } },
            LayerConfig { n_in: H1, n: H2, recurrent: true, neuron: ModelSpec::Builtin(alif), presyn: Presyn::None },
        ],
        output: Output::LeakyReadout { n_out: 2, kappa: 0.8 },
        loss: LossKind::Mse,
    };
    let mut r = XorShift32::new(41);
    let mut u = |s: f64| (r.next_u32() as f64 / u32::MAX as f64 * 2.0 - 1.0) * s;
    let mut w0: Vec<f64> = (0..I * H1).map(|_| u(1.4)).collect();
    let w1: Vec<f64> = (0..(H1 + H2) * H2).map(|_| u(0.45)).collect();
    if zero_some {
        for (k, w) in w0.iter_mut().enumerate() {
            if k % 3 == 0 {
                *w = 0.0;
            }
        }
    }
    let readout = (0..H2 * 2).map(|_| u(0.3)).collect();
    let params = Params {
        layers: vec![LayerParams { w: w0, b: vec![0.0; H1] }, LayerParams { w: w1, b: vec![0.0; H2] }],
        readout,
    };
    SavedNet {
        format: "plasticore-float-net".into(),
        version: 1,
        task: "test".into(),
        algorithm: serde_json::json!({ "EsdRtrl": { "alpha": 0.8, "correction": "Reference" } }),
        dt_ms: 1.0,
        config,
        params,
        metrics: serde_json::json!({}),
    }
}

fn save(d: &Path, name: &str, n: &SavedNet) -> String {
    let p = d.join(name);
    n.save(&p).unwrap();
    p.to_string_lossy().into()
}

/// The simple scale, written independently of the command: the largest f ≤ 15 with round(m·2^f) ≤ 127.
fn expected_frac(ws: &[f64]) -> u8 {
    let m = ws.iter().fold(0f64, |a, w| a.max(w.abs()));
    (0..=15u8).rev().find(|&f| (m * (1u32 << f) as f64).round() <= 127.0).unwrap()
}

/// 22 neurons, 12·1 + 10·3 states, 8 + 22 axons, 8·12 + 22·10 weights, 2 outputs, history 2 × 30,
/// STD/STP state for all 30 axons (the float net's first layer has STD on its 8 inputs).
type Two = Graph<22, 42, 30, 316, 2, 60, 0, plasticore_core::format::Weight, 30>;

#[test]
fn from_float_writes_the_graph_info_prints_it_and_run_equals_a_direct_core_run() {
    let d = tmpdir("ff");
    let net = float_net(false);
    let f = save(&d, "net.json", &net);
    let img_path = d.join("two.pcimg");
    let ip = img_path.to_string_lossy().to_string();
    let out = ok(bin().args(["image", "write", "--from-float", &f, "--out", &ip, "--steps", "300"]).output().unwrap());
    assert!(out.contains("simple scale") && out.contains("issue 11"), "{out}");
    let bytes = std::fs::read(&img_path).unwrap();

    // Structure and weights.
    let img = GraphImage::parse(&bytes).unwrap();
    assert_eq!(img.version(), 2);
    let desc = img.desc().unwrap();
    assert_eq!(desc.populations.len(), 2);
    let shape: Vec<_> = desc.projections.iter().map(|p| (p.source, p.target, p.delay, p.learn)).collect();
    assert_eq!(
        shape,
        vec![
            (Source::Input { first: 0, width: I as u16 }, 0, 0, true),
            (Source::Population(0), 1, 0, true),
            (Source::Population(1), 1, 1, true)
        ]
    );
    for (p, lp) in net.params.layers.iter().enumerate() {
        let frac = expected_frac(&lp.w);
        let pd = &desc.populations[p];
        assert_eq!(pd.layer.formats.weight_frac, frac, "population {p}");
        let PopWeights::Dense(ws) = img.population_weights(&desc, p).unwrap() else { panic!("dense expected") };
        let ws: Vec<i16> = ws.map(|w| w.0).collect();
        let want: Vec<i16> = lp.w.iter().map(|w| (w * (1u32 << frac) as f64).round() as i16).collect();
        assert_eq!(ws, want, "population {p}");
        // The scale uses the range: the largest mantissa is in the upper half of ±127.
        assert!(ws.iter().map(|w| w.unsigned_abs()).max().unwrap() > 63, "population {p}");
    }
    assert_eq!(desc.readout.config.formats.weight_frac, expected_frac(&net.params.readout));

    // info prints the graph.
    let info = ok(bin().args(["image", "info", &ip]).output().unwrap());
    for needle in [
        "version 2",
        "population 0: 12 neurons, LIF (delta) + STD",
        "population 1: 10 neurons, ALIF (exponential synapse) (3 states)",
        "projection 0: inputs 0..8 -> population 0, delay 0, plastic",
        "projection 2: population 1 -> population 1, delay 1, plastic",
        "B/synapse",
        "B/neuron",
        "configuration: valid",
    ] {
        assert!(info.contains(needle), "missing {needle:?} in:\n{info}");
    }

    // run = a direct run of the same image on the core's Graph owner.
    let line = ok(bin().args(["image", "run", &ip]).output().unwrap());
    let mut g: Box<Two> = Box::default();
    img.load(&mut g).unwrap();
    let stim = img.stimulus().unwrap().unwrap();
    let mut v = g.view().unwrap();
    let want = graph::run_graph(&mut Runner::new(stim), &mut v, &mut [0; I], &mut [0; 2]).unwrap();
    assert_eq!(line.trim(), want.to_string());
    assert_eq!(want.steps, 300);
    assert!(want.spikes > 100, "the network should be active: {want}");
}

#[test]
fn from_float_sparse_stores_compressed_rows_and_runs() {
    let d = tmpdir("sparse");
    let net = float_net(true);
    let f = save(&d, "net.json", &net);
    let ip = d.join("s.pcimg").to_string_lossy().to_string();
    ok(bin().args(["image", "write", "--from-float", &f, "--out", &ip, "--sparse", "--steps", "50"]).output().unwrap());
    let bytes = std::fs::read(&ip).unwrap();
    let img = GraphImage::parse(&bytes).unwrap();
    let desc = img.desc().unwrap();
    let PopWeights::Compressed(c) = img.population_weights(&desc, 0).unwrap() else { panic!("compressed expected") };
    let nonzero = net.params.layers[0].w.iter().filter(|w| **w != 0.0).count();
    assert_eq!(c.synapses(), nonzero);
    assert!(nonzero < I * H1);
    let info = ok(bin().args(["image", "info", &ip]).output().unwrap());
    assert!(info.contains(&format!("compressed rows, 8 axons, {nonzero} synapses")), "{info}");
    let line = ok(bin().args(["image", "run", &ip]).output().unwrap());
    assert!(line.starts_with("RESULT steps=50 "), "{line}");
    // On the emulated chip (every population split over cores): the same RESULT line, or a clear refusal
    // on a chip without the cores for it.
    let out = ok(bin().args(["image", "run", &ip, "--emulator", "loihi"]).output().unwrap());
    assert!(out.contains("ok: emulator == host") && out.contains(&format!("emulator {}", line.trim())), "{out}");
    let e = bin().args(["image", "run", &ip, "--emulator", "mcu"]).output().unwrap();
    assert!(!e.status.success() && String::from_utf8_lossy(&e.stderr).contains("does not fit the chip"), "{}", String::from_utf8_lossy(&e.stderr));
}

#[test]
fn from_float_carries_biases_and_refuses_what_the_core_cannot_hold() {
    let d = tmpdir("refuse");
    let mut biased = float_net(false);
    biased.params.layers[1].b[3] = 0.25;
    let f = save(&d, "b.json", &biased);
    let ip = d.join("b.pcimg").to_string_lossy().to_string();
    ok(bin().args(["image", "write", "--from-float", &f, "--out", &ip]).output().unwrap());
    let bytes = std::fs::read(&ip).unwrap();
    let img = GraphImage::parse(&bytes).unwrap();
    let desc = img.desc().unwrap();
    assert_eq!(desc.populations[0].bias, BiasMode::None);
    assert_eq!(desc.populations[1].bias, BiasMode::Learned);
    let b: Vec<i32> = img.population_bias(&desc, 1).unwrap().collect();
    assert_eq!(b, [0, 0, 0, 16384, 0, 0, 0, 0, 0, 0], "0.25 in Q.16");
    ok(bin().args(["image", "run", &ip]).output().unwrap());
    // The learnt bias runs on the emulated chip to the host's bits.
    let out = ok(bin().args(["image", "run", &ip, "--emulator", "loihi"]).output().unwrap());
    assert!(out.contains("ok: emulator == host"), "{out}");
    ok(bin().args(["image", "write", "--from-float", &f, "--out", &ip, "--drop-bias"]).output().unwrap());
    let bytes = std::fs::read(&ip).unwrap();
    let img = GraphImage::parse(&bytes).unwrap();
    assert_eq!(img.desc().unwrap().populations[1].bias, BiasMode::None);
    let mut membrane = float_net(false);
    membrane.config.output = Output::Membrane;
    membrane.params.readout.clear();
    let f = save(&d, "m.json", &membrane);
    let e = bin().args(["image", "write", "--from-float", &f, "--out", &ip]).output().unwrap();
    assert!(!e.status.success() && String::from_utf8_lossy(&e.stderr).contains("LeakyReadout"));
    let e = bin().args(["image", "write", "--out", &ip]).output().unwrap();
    assert!(!e.status.success(), "neither --preset nor --from-float must be an error");
}

#[test]
fn a_v1_preset_still_runs_and_equals_its_one_population_graph() {
    let d = tmpdir("v1");
    let ip = d.join("smoke.pcimg").to_string_lossy().to_string();
    ok(bin().args(["image", "write", "--preset", "smoke", "--out", &ip]).output().unwrap());
    let line = ok(bin().args(["image", "run", &ip]).output().unwrap());
    let info = ok(bin().args(["image", "info", &ip]).output().unwrap());
    assert!(info.contains("version 1"), "{info}");
    let bytes = std::fs::read(&ip).unwrap();
    let img = GraphImage::parse(&bytes).unwrap();
    assert_eq!(img.version(), 1);
    let mut g: Box<Graph<8, 8, 12, 96, 2, 24>> = Box::default();
    img.load(&mut g).unwrap();
    let mut v = g.view().unwrap();
    let s = graph::run_graph(&mut Runner::new(img.stimulus().unwrap().unwrap()), &mut v, &mut [0; 4], &mut [0; 2]).unwrap();
    assert_eq!(line.trim(), s.to_string());
}
