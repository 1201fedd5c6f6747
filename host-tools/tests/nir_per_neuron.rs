//! `plasticore-float-net` v2: NIR populations with per-neuron arrays import without averaging and the
//! float reference runs them exactly (bit for bit against hand-written simulations and the NIR
//! simulator); v1 files still load; the fixed-point conversion refuses what the core cannot hold by
//! layer and parameter and converts uniform ones; bad arrays (wrong length, NaN, inf) are named.
// the hand-written simulations index several arrays with the same t, j, as the equations do
#![allow(clippy::needless_range_loop)]
use plasticore::nir::float_net::to_saved_net;
use plasticore::nir::graph::{NirFile, NodeKind};
use plasticore::nir::h5::{self, Entry, FloatWidth, Tree, Value};
use plasticore::nir::lower::{lower, Method, Options, ResetMechanism, UNIT_GAIN_SNAP};
use plasticore::nir::sim::{run, Trace};
use plasticore::nir::NirError;
use plasticore::quantize::float_net::core_layers;
use plasticore::reference::io::{ModelSpec, SavedNet};
use plasticore::reference::net::{forward_step, NetState, Output, StepRecord};
use plasticore::reference::per_neuron::PnReset;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn example_bytes(name: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/nir-examples").join(name)).unwrap()
}
fn load(name: &str) -> NirFile {
    NirFile::from_bytes(&example_bytes(name)).unwrap()
}

/// Seeded Bernoulli spike trains, `[t][channel]` (xorshift64).
fn spikes(t: usize, n: usize, p: f64, seed: u64) -> Vec<Vec<f64>> {
    let mut s = seed;
    (0..t)
        .map(|_| {
            (0..n)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    if ((s >> 11) as f64 / (1u64 << 53) as f64) < p {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

fn params(n: &NodeKind) -> BTreeMap<String, Vec<f64>> {
    match n {
        NodeKind::Known { floats, .. } => floats.iter().map(|(k, a)| (k.clone(), a.data.clone())).collect(),
        _ => panic!("not a parameter node"),
    }
}

/// y = b + Σ_i W[o][i]·x_i in this order, skipping x_i = 0 (the float reference's order; adding 0·w
/// changes no value but the sign of a zero).
fn affine(w: &[f64], b: Option<&[f64]>, x: &[f64]) -> Vec<f64> {
    let n_in = x.len();
    (0..w.len() / n_in)
        .map(|o| {
            let mut acc = b.map_or(0.0, |b| b[o]);
            for i in 0..n_in {
                if x[i] != 0.0 {
                    acc += x[i] * w[o * n_in + i];
                }
            }
            acc
        })
        .collect()
}

fn snap(g: f64) -> f64 {
    if (g - 1.0).abs() <= UNIT_GAIN_SNAP {
        1.0
    } else {
        g
    }
}

const EULER: Options = Options { dt: 1e-3, method: Method::Euler, reset: ResetMechanism::Value };

fn trace<'a>(tr: &'a [Trace], name: &str) -> &'a Trace {
    tr.iter().find(|t| t.name == name).unwrap()
}

/// Runs the float reference on `s` and returns per step: per layer (spikes, membranes), and the output.
#[allow(clippy::type_complexity)]
fn reference(s: &SavedNet, x: &[Vec<f64>]) -> Vec<(Vec<(Vec<f64>, Vec<f64>)>, Vec<f64>)> {
    let mut st = NetState::<f64>::new(&s.config);
    let mut rec = StepRecord::default();
    x.iter()
        .map(|u| {
            forward_step::<f64, ModelSpec>(&s.config, &s.params, &mut st, u, &mut rec);
            let layers = s
                .config
                .layers
                .iter()
                .enumerate()
                .map(|(l, c)| {
                    use plasticore::reference::model::NeuronModel;
                    let (sn, m) = (c.neuron.n_states(), c.neuron.membrane_index());
                    (rec.layers[l].s.clone(), (0..c.n).map(|j| st.layers[l].h[j * sn + m]).collect())
                })
                .collect();
            (layers, rec.output.clone())
        })
        .collect()
}

/// lif_2layer (per-neuron τ, v_reset = −0.1 in layer 1) imports as v2 without averaging, and the float
/// reference equals a hand-written forward-Euler simulation bit for bit: β_j = 1 − dt/τ_j,
/// c_j = r_j·dt/τ_j (1 where within 2^-22 of 1, the importer's documented snap), l_j = v_leak_j·dt/τ_j,
/// v ← v_reset_j after a spike, v = β_j·v + c_j·y + l_j, z = [v > θ_j]; the same f64 operations in the
/// same order, so equality is exact.
#[test]
fn lif_2layer_imports_per_neuron_and_runs_like_hand_written_simulation() {
    let f = load("lif_2layer.nir");
    let g = &f.graph;
    let net = lower(g, EULER).unwrap();
    let s = to_saved_net(&net, "lif_2layer").unwrap();
    assert_eq!(s.version, 2, "per-neuron parameters need v2");
    let ModelSpec::PerNeuron(p1) = &s.config.layers[0].neuron else { panic!("layer 0 not per-neuron") };
    let lif1 = params(&g.nodes["lif1"]);
    let beta1: Vec<f64> = lif1["tau"].iter().map(|t| 1.0 - 1e-3 / t).collect();
    assert_eq!(p1.alpha_m, beta1, "the per-neuron decays, not an average");
    assert!(beta1.iter().any(|&b| b != beta1[0]));
    // through the file: save and load (v2 is what is read back)
    let dir = std::env::temp_dir().join(format!("plasticore-nir-pn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    s.save(&dir.join("lif2.json")).unwrap();
    let s = SavedNet::load(&dir.join("lif2.json")).unwrap();
    assert_eq!(s.config.output, Output::Membrane);

    let (fc1, fc2, lif2) = (params(&g.nodes["fc1"]), params(&g.nodes["fc2"]), params(&g.nodes["lif2"]));
    let layer = |p: &BTreeMap<String, Vec<f64>>| {
        let st: Vec<f64> = p["tau"].iter().map(|t| 1e-3 / t).collect();
        let beta: Vec<f64> = st.iter().map(|g| 1.0 - g).collect();
        let c: Vec<f64> = (0..st.len()).map(|j| snap(p["r"][j] * st[j])).collect();
        let l: Vec<f64> = (0..st.len()).map(|j| p["v_leak"][j] * st[j]).collect();
        (beta, c, l)
    };
    let (b1, c1, l1) = layer(&lif1);
    let (b2, c2, l2) = layer(&lif2);
    assert!(lif1["v_reset"].iter().all(|&v| v == lif1["v_reset"][0]) && lif1["v_reset"][0] != 0.0);
    let x = spikes(300, 64, 0.2, 11);
    let got = reference(&s, &x);
    let (mut v1, mut z1, mut v2, mut z2) = (vec![0.0; 20], vec![0.0; 20], vec![0.0; 10], vec![0.0; 10]);
    let mut n = [0usize; 2];
    for t in 0..x.len() {
        let y1 = affine(&fc1["weight"], None, &x[t]);
        for j in 0..20 {
            if z1[j] == 1.0 {
                v1[j] = lif1["v_reset"][j];
            }
            v1[j] = b1[j] * v1[j] + c1[j] * y1[j] + l1[j];
            z1[j] = if v1[j] > lif1["v_threshold"][j] { 1.0 } else { 0.0 };
        }
        let y2 = affine(&fc2["weight"], Some(&fc2["bias"]), &z1);
        for j in 0..10 {
            if z2[j] == 1.0 {
                v2[j] = lif2["v_reset"][j];
            }
            v2[j] = b2[j] * v2[j] + c2[j] * y2[j] + l2[j];
            z2[j] = if v2[j] > lif2["v_threshold"][j] { 1.0 } else { 0.0 };
        }
        let (layers, out) = &got[t];
        assert_eq!(layers[0].1, v1, "lif1 membrane, step {t}");
        assert_eq!(layers[0].0, z1, "lif1 spikes, step {t}");
        assert_eq!(layers[1].1, v2, "lif2 membrane, step {t}");
        assert_eq!(layers[1].0, z2, "lif2 spikes, step {t}");
        assert_eq!(out, &v2, "output = lif2 membrane, step {t}");
        n[0] += z1.iter().filter(|&&z| z == 1.0).count();
        n[1] += z2.iter().filter(|&&z| z == 1.0).count();
    }
    assert!(n[0] > 100 && n[1] > 20, "spikes and resets in both layers: {n:?}");
}

/// ff_cubalif_li (per-neuron τ_syn, τ_mem, thresholds; a readout with a bias) imports as v2: a CubaLIF
/// layer and a non-spiking LI layer whose membrane is the output. Hand-written as in nir_sim.rs (unit
/// gains, snnTorch convention): I = α·I + y1, v = β·v + I, reset to v_reset; u = β2·u + W2·z + b2.
/// Bit for bit.
#[test]
fn ff_cubalif_li_imports_per_neuron_and_runs_like_hand_written_simulation() {
    let f = load("ff_cubalif_li.nir");
    let g = &f.graph;
    let s = to_saved_net(&lower(g, EULER).unwrap(), "ff").unwrap();
    assert_eq!(s.version, 2);
    assert_eq!(s.config.layers.len(), 2);
    assert!(matches!(&s.config.layers[1].neuron, ModelSpec::PerNeuron(p) if p.spiking.is_none()), "li2: a non-spiking layer");
    let (fc1, lif, fc2, li) = (params(&g.nodes["fc1"]), params(&g.nodes["lif1"]), params(&g.nodes["fc2"]), params(&g.nodes["li2"]));
    let alpha: Vec<f64> = lif["tau_syn"].iter().map(|t| 1.0 - 1e-3 / t).collect();
    let beta: Vec<f64> = lif["tau_mem"].iter().map(|t| 1.0 - 1e-3 / t).collect();
    let beta2: Vec<f64> = li["tau"].iter().map(|t| 1.0 - 1e-3 / t).collect();
    let x = spikes(300, 64, 0.2, 7);
    let got = reference(&s, &x);
    let (mut i_syn, mut v, mut z, mut u) = (vec![0.0; 32], vec![0.0; 32], vec![0.0; 32], vec![0.0; 10]);
    let mut n = 0;
    for t in 0..x.len() {
        let y1 = affine(&fc1["weight"], Some(&fc1["bias"]), &x[t]);
        for j in 0..32 {
            if z[j] == 1.0 {
                v[j] = lif["v_reset"][j];
            }
            i_syn[j] = alpha[j] * i_syn[j] + y1[j];
            v[j] = beta[j] * v[j] + i_syn[j];
            z[j] = if v[j] > lif["v_threshold"][j] { 1.0 } else { 0.0 };
        }
        n += z.iter().filter(|&&s| s == 1.0).count();
        let y2 = affine(&fc2["weight"], Some(&fc2["bias"]), &z);
        for k in 0..10 {
            u[k] = beta2[k] * u[k] + y2[k];
        }
        assert_eq!(got[t].0[0].1, v, "lif1 membrane, step {t}");
        assert_eq!(got[t].0[0].0, z, "lif1 spikes, step {t}");
        assert_eq!(got[t].1, u, "output = li2 membrane, step {t}");
        assert!(got[t].0[1].0.iter().all(|&s| s == 0.0), "a non-spiking layer never spikes");
    }
    assert!(n > 100, "{n}");
}

/// The three reset mechanisms and the exact scheme: the float reference on the v2 import equals the NIR
/// simulator (itself checked against hand-written simulations in nir_sim.rs) bit for bit, for both
/// example graphs.
#[test]
fn every_reset_and_scheme_runs_like_the_nir_simulator() {
    for name in ["lif_2layer.nir", "ff_cubalif_li.nir"] {
        let f = load(name);
        for method in [Method::Euler, Method::Exact] {
            for reset in [ResetMechanism::Value, ResetMechanism::Subtract, ResetMechanism::SubtractUndecayed] {
                let net = lower(&f.graph, Options { method, reset, ..EULER }).unwrap();
                let s = to_saved_net(&net, name).unwrap();
                if let ModelSpec::PerNeuron(p) = &s.config.layers[0].neuron {
                    let want = match reset {
                        ResetMechanism::Value => PnReset::Value,
                        ResetMechanism::Subtract => PnReset::Subtract,
                        ResetMechanism::SubtractUndecayed => PnReset::SubtractUndecayed,
                    };
                    assert_eq!(p.spiking.as_ref().unwrap().reset, want);
                } else {
                    panic!("{name}: layer 0 should be per-neuron");
                }
                let x = spikes(200, 64, 0.25, 3);
                let tr = run(&net, &x).unwrap();
                let got = reference(&s, &x);
                // the v2 output stage reads the last layer's membrane (lif_2layer's Output holds lif2's spikes)
                let last = if name.starts_with("lif") { "lif2" } else { "li2" };
                let mut n = 0;
                for t in 0..x.len() {
                    assert_eq!(got[t].0[0].1, trace(&tr, "lif1").v[t], "{name} {method:?} {reset:?}: membrane step {t}");
                    assert_eq!(got[t].0[0].0, trace(&tr, "lif1").out[t], "{name} {method:?} {reset:?}: spikes step {t}");
                    assert_eq!(got[t].1, trace(&tr, last).v[t], "{name} {method:?} {reset:?}: output step {t}");
                    n += got[t].0[0].0.iter().filter(|&&z| z == 1.0).count();
                }
                assert!(n > 50, "{name} {method:?} {reset:?}: {n} spikes");
            }
        }
    }
}

/// v1 files still load (and a v1 file cannot carry per-neuron layers); unknown versions are refused.
#[test]
fn versions_one_and_two_load_others_are_refused() {
    let s = to_saved_net(&lower(&load("rsnn_cubalif_subgraph.nir").graph, EULER).unwrap(), "rsnn").unwrap();
    assert_eq!(s.version, 1, "a network v1 holds is still written as v1");
    let v1 = serde_json::to_vec(&s).unwrap();
    assert!(SavedNet::from_slice(&v1).is_ok());
    let pn = to_saved_net(&lower(&load("lif_2layer.nir").graph, EULER).unwrap(), "lif").unwrap();
    let mut j: serde_json::Value = serde_json::to_value(&pn).unwrap();
    j["version"] = 1.into();
    let e = SavedNet::from_slice(&serde_json::to_vec(&j).unwrap()).unwrap_err().to_string();
    assert!(e.contains("layer 0") && e.contains("version 2"), "{e}");
    j["version"] = 3.into();
    let e = SavedNet::from_slice(&serde_json::to_vec(&j).unwrap()).unwrap_err().to_string();
    assert!(e.contains("version 3"), "{e}");
}

/// Bad per-neuron arrays in a v2 file name the layer, the parameter and the neuron: wrong length, NaN
/// (JSON null), infinity (JSON has none: 1e999 overflows), threshold ≤ 0.
#[test]
fn bad_per_neuron_arrays_in_a_file_are_named() {
    let pn = to_saved_net(&lower(&load("lif_2layer.nir").graph, EULER).unwrap(), "lif").unwrap();
    let base: serde_json::Value = serde_json::to_value(&pn).unwrap();
    let text = |j: &serde_json::Value| serde_json::to_string(j).unwrap();
    let mut j = base.clone();
    j["config"]["layers"][1]["neuron"]["PerNeuron"]["leak"].as_array_mut().unwrap().pop();
    let e = SavedNet::from_slice(text(&j).as_bytes()).unwrap_err().to_string();
    assert!(e.contains("layer 1") && e.contains("leak: 9 values for 10 neurons"), "{e}");
    let mut j = base.clone();
    j["config"]["layers"][0]["neuron"]["PerNeuron"]["spiking"]["v_th"][3] = (-0.5).into();
    let e = SavedNet::from_slice(text(&j).as_bytes()).unwrap_err().to_string();
    assert!(e.contains("layer 0") && e.contains("v_th[3] = -0.5"), "{e}");
    let mut j = base.clone();
    j["config"]["layers"][0]["neuron"]["PerNeuron"]["alpha_m"][2] = serde_json::Value::Null;
    assert!(SavedNet::from_slice(text(&j).as_bytes()).is_err(), "NaN (null) is refused");
    let s = text(&base).replacen("\"gain_m\":[1.0", "\"gain_m\":[1e999", 1);
    assert!(s.contains("1e999"));
    assert!(SavedNet::from_slice(s.as_bytes()).is_err(), "infinity is refused");
    // and a network built in code with a wrong-length array is caught by the file check on save/load
    let mut bad = pn.clone();
    if let ModelSpec::PerNeuron(p) = &mut bad.config.layers[0].neuron {
        p.gain_m.push(1.0);
    }
    let e = SavedNet::from_slice(&serde_json::to_vec(&bad).unwrap()).unwrap_err().to_string();
    assert!(e.contains("gain_m: 21 values for 20 neurons"), "{e}");
}

fn node_mut<'a>(t: &'a mut Tree, path: &[&str]) -> &'a mut Tree {
    let mut g = t;
    for p in path {
        g = match g.children.get_mut(*p) {
            Some(Entry::Group(x)) => x,
            _ => panic!("no group {p}"),
        };
    }
    g
}

/// New dataset shapes of the per-neuron path: every per-neuron array of lif_2layer's and
/// ff_cubalif_li's neuron nodes with the wrong length, a NaN, +inf or −inf gives an error naming the node
/// and the dataset (never a panic, never an import).
#[test]
fn bad_per_neuron_datasets_are_named_by_node_and_dataset() {
    let cases: [(&str, &str, &[&str]); 2] = [
        ("lif_2layer.nir", "lif1", &["tau", "r", "v_leak", "v_reset", "v_threshold"]),
        ("ff_cubalif_li.nir", "lif1", &["tau_mem", "tau_syn", "r", "v_leak", "v_reset", "v_threshold", "w_in"]),
    ];
    let mut checked = 0;
    for (file, node, keys) in cases {
        let tree = h5::read_bytes(&example_bytes(file)).unwrap();
        let n = match &load(file).graph.nodes[node] {
            NodeKind::Known { floats, .. } => floats["v_threshold"].data.len(),
            _ => unreachable!(),
        };
        for key in keys {
            let path = format!("/node/nodes/{node}/{key}");
            for (what, data) in [
                ("short", vec![0.5; n - 1]),
                ("long", vec![0.5; n + 3]),
                ("nan", (0..n).map(|j| if j == n / 2 { f64::NAN } else { 0.02 }).collect()),
                ("+inf", (0..n).map(|j| if j == 1 { f64::INFINITY } else { 0.02 }).collect()),
                ("-inf", (0..n).map(|j| if j == 0 { f64::NEG_INFINITY } else { 0.02 }).collect()),
            ] {
                let mut t = tree.clone();
                let len = data.len();
                node_mut(&mut t, &["node", "nodes", node]).put(key, Value::Float { shape: vec![len], data, width: FloatWidth::F32 });
                let bytes = h5::write_bytes(&t).unwrap();
                let e = match NirFile::from_bytes(&bytes) {
                    Err(e) => e,
                    Ok(f) => match lower(&f.graph, EULER) {
                        Err(e) => e,
                        Ok(d) => to_saved_net(&d, file).expect_err(&format!("{file} {key} {what}: imported")),
                    },
                };
                let msg = e.to_string();
                assert!(msg.contains(&path) || (msg.contains(node) && msg.contains(key)), "{file} {key} {what}: {msg}");
                assert!(matches!(e, NirError::Shape { .. } | NirError::Invalid { .. }), "{file} {key} {what}: {e:?}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 60);
}

/// The fixed-point side (`image write --from-float`, `quantize`): what the core cannot hold (v_reset ≠ 0,
/// a non-spiking layer) is refused naming the layer and the parameter; differing α_m stay a per-neuron
/// layer (per-neuron records, `per_neuron_fixed_point.rs`); uniform arrays convert to the built-in LIF,
/// which runs exactly as the per-neuron layer did (spikes identical).
#[test]
fn fixed_point_conversion_refuses_what_the_core_cannot_hold_and_converts_uniform_arrays() {
    let pn = to_saved_net(&lower(&load("lif_2layer.nir").graph, EULER).unwrap(), "lif").unwrap();
    // per-neuron τ converts (per-neuron records), its v_reset = −0.1 does not
    let e = core_layers(&pn).unwrap_err().to_string();
    assert!(e.contains("layer 0") && e.contains("v_reset"), "{e}");
    let mut z = pn.clone();
    if let ModelSpec::PerNeuron(p) = &mut z.config.layers[0].neuron {
        p.spiking.as_mut().unwrap().v_reset.iter_mut().for_each(|y| *y = 0.0);
    }
    let c = core_layers(&z).unwrap();
    assert!(matches!(&c.config.layers[0].neuron, ModelSpec::PerNeuron(p) if p.gain_m.iter().all(|&g| g == 1.0)), "differing α_m stay per neuron, gains folded");
    // make every array uniform (first neuron's values, v_reset 0): converts
    let mut u = pn.clone();
    for c in &mut u.config.layers {
        if let ModelSpec::PerNeuron(p) = &mut c.neuron {
            let fill = |v: &mut Vec<f64>| {
                let x = v[0];
                v.iter_mut().for_each(|y| *y = x);
            };
            fill(&mut p.alpha_m);
            fill(&mut p.gain_m);
            fill(&mut p.leak);
            let sp = p.spiking.as_mut().unwrap();
            fill(&mut sp.v_th);
            sp.v_reset.iter_mut().for_each(|y| *y = 0.0);
        }
    }
    let b = core_layers(&u).unwrap();
    assert!(b.config.layers.iter().all(|c| matches!(c.neuron, ModelSpec::Builtin(_))));
    assert_eq!(b.version, 1);
    let x = spikes(300, 64, 0.2, 9);
    let (a, bb) = (reference(&u, &x), reference(&b, &x));
    let mut n = 0;
    for t in 0..x.len() {
        for l in 0..2 {
            assert_eq!(a[t].0[l].0, bb[t].0[l].0, "layer {l} spikes step {t}");
            for (p, q) in a[t].0[l].1.iter().zip(&bb[t].0[l].1) {
                // the gain c folds into the weights: c·(b + Σw·x) vs b·c + Σ(c·w)·x, a few ulp
                assert!((p - q).abs() <= 1e-12 * (1.0 + p.abs()), "layer {l} step {t}: {p} vs {q}");
            }
            n += a[t].0[l].0.iter().filter(|&&z| z == 1.0).count();
        }
    }
    assert!(n > 100, "{n}");
    // a non-zero v_reset and a non-spiking layer are refused by name
    let mut r = u.clone();
    if let ModelSpec::PerNeuron(p) = &mut r.config.layers[1].neuron {
        p.spiking.as_mut().unwrap().v_reset.iter_mut().for_each(|y| *y = -0.1);
    }
    let e = core_layers(&r).unwrap_err().to_string();
    assert!(e.contains("layer 1") && e.contains("v_reset"), "{e}");
    let ff = to_saved_net(&lower(&load("ff_cubalif_li.nir").graph, EULER).unwrap(), "ff").unwrap();
    let e = core_layers(&ff).unwrap_err().to_string();
    assert!(e.contains("layer 1") && e.contains("non-spiking"), "{e}");
}

/// v2 → NIR → v2: per-neuron arrays, weights and biases come back (float64 export: weights bit for bit,
/// decays and gains through τ = dt/(1 − β) or −dt/ln β and back within 1e-12 relative), and the
/// re-imported network spikes like the original on the examples, for both schemes.
#[test]
fn per_neuron_networks_export_and_reimport() {
    use plasticore::nir::float_net::{from_saved_net, ExportOptions};
    use plasticore::nir::lower::metadata_reset;
    for name in ["lif_2layer.nir", "ff_cubalif_li.nir"] {
        for method in [Method::Euler, Method::Exact] {
            for reset in [ResetMechanism::Value, ResetMechanism::SubtractUndecayed] {
                let o = Options { method, reset, ..EULER };
                let s = to_saved_net(&lower(&load(name).graph, o).unwrap(), name).unwrap();
                let f = from_saved_net(&s, ExportOptions { method, width: FloatWidth::F64 }).unwrap();
                let f = NirFile::from_bytes(&f.to_bytes().unwrap()).unwrap();
                assert_eq!(metadata_reset(&f.graph), Some(reset), "{name}: the reset hint");
                let back = to_saved_net(&lower(&f.graph, o).unwrap(), name).unwrap();
                assert_eq!(back.version, 2, "{name}");
                for (l, (a, b)) in s.config.layers.iter().zip(&back.config.layers).enumerate() {
                    assert_eq!(s.params.layers[l], back.params.layers[l], "{name} {method:?}: layer {l} weights and bias");
                    let (ModelSpec::PerNeuron(pa), ModelSpec::PerNeuron(pb)) = (&a.neuron, &b.neuron) else { panic!("{name}: per-neuron") };
                    for ((ka, va), (kb, vb)) in pa.arrays().iter().zip(pb.arrays()) {
                        assert_eq!(*ka, kb);
                        for (x, y) in va.iter().zip(vb) {
                            assert!((x - y).abs() <= 1e-12 * x.abs().max(1.0), "{name} {method:?} layer {l} {ka}: {x} vs {y}");
                        }
                    }
                }
                let x = spikes(200, 64, 0.25, 21);
                let (ga, gb) = (reference(&s, &x), reference(&back, &x));
                for t in 0..x.len() {
                    for l in 0..2 {
                        assert_eq!(ga[t].0[l].0, gb[t].0[l].0, "{name} {method:?} {reset:?}: layer {l} spikes step {t}");
                    }
                }
            }
        }
    }
}

/// The on-chip rule (`reference::onchip`, what training runs) on a per-neuron layer: with uniform arrays it
/// learns exactly like the built-in LIF it converts to (same spikes, same weight updates up to rounding:
/// the per-neuron constants ride as states whose traces stay 0, and the value reset's surrogate path
/// equals the built-in hard reset's); with the file's per-neuron decays it learns too (weights move,
/// stay finite).
#[test]
fn on_chip_rule_learns_per_neuron_layers() {
    use plasticore::reference::net::{LayerConfig, LossKind, NetConfig, Params, Target};
    use plasticore::reference::onchip::{Feedback, OnChip, OnChipConfig, UpdateMode};
    let pn = to_saved_net(&lower(&load("lif_2layer.nir").graph, EULER).unwrap(), "lif").unwrap();
    let one_layer = |c: &LayerConfig<ModelSpec>, w: &[f64], b: &[f64]| {
        let mut s = pn.clone();
        s.config = NetConfig { layers: vec![c.clone()], output: Output::LeakyReadout { n_out: 2, kappa: 0.8 }, loss: LossKind::Mse };
        let readout = (0..c.n * 2).map(|k| ((k * 7919 % 13) as f64 - 6.0) / 10.0).collect();
        s.params = Params { layers: vec![plasticore::reference::net::LayerParams { w: w.to_vec(), b: b.to_vec() }], readout };
        s
    };
    let (c0, p0) = (&pn.config.layers[0], &pn.params.layers[0]);
    let hetero = one_layer(c0, &p0.w, &p0.b);
    let mut uc = c0.clone();
    if let ModelSpec::PerNeuron(p) = &mut uc.neuron {
        for v in [&mut p.alpha_m, &mut p.gain_m, &mut p.leak] {
            let x = v[0];
            v.iter_mut().for_each(|y| *y = x);
        }
        let sp = p.spiking.as_mut().unwrap();
        let x = sp.v_th[0];
        sp.v_th.iter_mut().for_each(|y| *y = x);
        sp.v_reset.iter_mut().for_each(|y| *y = 0.0);
    }
    let uniform = one_layer(&uc, &p0.w, &p0.b);
    let builtin = core_layers(&uniform).unwrap();
    let cfg = OnChipConfig { alpha: 0.9, eta: 1e-2, eta_o: 1e-2, feedback: Feedback::Symmetric, mode: UpdateMode::Online };
    let x = spikes(300, 64, 0.2, 5);
    let learn = |s: &SavedNet| {
        let mut oc = OnChip::new(s.config.clone(), s.params.clone(), cfg.clone()).unwrap();
        let mut n = 0;
        for (t, u) in x.iter().enumerate() {
            let tgt = Target::Values(vec![(t % 2) as f64, 1.0 - (t % 2) as f64]);
            oc.step(u, Some(&tgt), None).unwrap();
            n += oc.record().layers[0].s.iter().filter(|&&z| z == 1.0).count();
        }
        (oc.params.clone(), n)
    };
    let ((pu, nu), (pb, nb)) = (learn(&uniform), learn(&builtin));
    assert_eq!(nu, nb, "same spikes");
    assert!(nu > 100, "{nu}");
    let moved = pu.layers[0].w.iter().zip(&p0.w).filter(|(a, b)| a != b).count();
    assert!(moved > 100, "the rule moves the weights ({moved})");
    for (a, b) in pu.layers[0].w.iter().zip(&pb.layers[0].w).chain(pu.readout.iter().zip(&pb.readout)) {
        assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()), "{a} vs {b}");
    }
    let (ph, nh) = learn(&hetero);
    assert!(nh > 100 && ph.layers[0].w.iter().all(|w| w.is_finite()));
    assert!(ph.layers[0].w.iter().zip(&p0.w).filter(|(a, b)| a != b).count() > 100);
}
