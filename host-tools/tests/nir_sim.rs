//! Import → float simulation against hand-written simulations of the same graphs, and against the float
//! reference running the imported `plasticore-float-net`.
// the loops index several arrays with the same t, i, j, as the equations do
#![allow(clippy::needless_range_loop)]
use plasticore::nir::float_net::to_saved_net;
use plasticore::nir::graph::{NirFile, NodeKind};
use plasticore::nir::lower::{lower, Method, Options, ResetMechanism};
use plasticore::nir::sim::{run, Trace};
use plasticore::reference::io::ModelSpec;
use plasticore::reference::net::{forward_step, NetState, StepRecord};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn load(name: &str) -> NirFile {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/nir-examples")
        .join(name);
    NirFile::load(&p).unwrap()
}

/// Seeded Bernoulli spike trains, `[t][channel]`.
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
        NodeKind::Known { floats, .. } => floats
            .iter()
            .map(|(k, a)| (k.clone(), a.data.clone()))
            .collect(),
        _ => panic!("not a parameter node"),
    }
}

/// y = b + Σ_i W[o][i]·x_i, in this order (the simulator's order, so results are bit-identical).
fn affine(w: &[f64], b: Option<&[f64]>, x: &[f64]) -> Vec<f64> {
    let n_in = x.len();
    (0..w.len() / n_in)
        .map(|o| {
            let mut acc = b.map_or(0.0, |b| b[o]);
            for i in 0..n_in {
                acc += w[o * n_in + i] * x[i];
            }
            acc
        })
        .collect()
}

fn trace<'a>(tr: &'a [Trace], name: &str) -> &'a Trace {
    tr.iter().find(|t| t.name == name).unwrap()
}

const EULER: Options = Options {
    dt: 1e-3,
    method: Method::Euler,
    reset: ResetMechanism::Value,
};

/// ff_cubalif_li by hand in the snnTorch convention of nir-format.md §B.5 (the file has r = τ/dt and
/// w_in = τ_syn/dt: unit gains): I = α·I + W1·x + b1, v = β·v + I, spike v > θ, reset to v_reset before
/// the next update; LI: u = β2·u + W2·z + b2. Bit-identical: the same f64 operations in the same order.
#[test]
fn ff_cubalif_li_equals_hand_written_simulation() {
    let f = load("ff_cubalif_li.nir");
    let g = &f.graph;
    let (fc1, lif, fc2, li) = (
        params(&g.nodes["fc1"]),
        params(&g.nodes["lif1"]),
        params(&g.nodes["fc2"]),
        params(&g.nodes["li2"]),
    );
    let x = spikes(300, 64, 0.2, 7);
    let net = lower(g, EULER).unwrap();
    let tr = run(&net, &x).unwrap();
    let alpha: Vec<f64> = lif["tau_syn"].iter().map(|t| 1.0 - 1e-3 / t).collect();
    let beta: Vec<f64> = lif["tau_mem"].iter().map(|t| 1.0 - 1e-3 / t).collect();
    let beta2: Vec<f64> = li["tau"].iter().map(|t| 1.0 - 1e-3 / t).collect();
    let (mut i_syn, mut v, mut z, mut u) =
        (vec![0.0; 32], vec![0.0; 32], vec![0.0; 32], vec![0.0; 10]);
    let mut n_spikes = 0;
    for t in 0..x.len() {
        let y1 = affine(&fc1["weight"], Some(&fc1["bias"]), &x[t]);
        for j in 0..32 {
            if z[j] == 1.0 {
                v[j] = lif["v_reset"][j];
            }
            i_syn[j] = alpha[j] * i_syn[j] + y1[j];
            v[j] = beta[j] * v[j] + i_syn[j];
            z[j] = if v[j] > lif["v_threshold"][j] {
                1.0
            } else {
                0.0
            };
        }
        n_spikes += z.iter().filter(|&&s| s == 1.0).count();
        let y2 = affine(&fc2["weight"], Some(&fc2["bias"]), &z);
        for k in 0..10 {
            u[k] = beta2[k] * u[k] + y2[k];
        }
        assert_eq!(trace(&tr, "lif1").v[t], v, "lif1 membrane, step {t}");
        assert_eq!(trace(&tr, "lif1").i_syn[t], i_syn, "lif1 current, step {t}");
        assert_eq!(trace(&tr, "lif1").out[t], z, "lif1 spikes, step {t}");
        assert_eq!(trace(&tr, "li2").v[t], u, "li2 membrane, step {t}");
        assert_eq!(trace(&tr, "output").out[t], u, "output, step {t}");
    }
    assert!(
        n_spikes > 100,
        "the test must exercise spikes and resets ({n_spikes})"
    );
}

/// lif_2layer by hand with the exact (ZOH) scheme, per-neuron τ and v_reset = −0.1:
/// β = e^{−dt/τ_j}, v = v_leak + (v − v_leak)·β + r·(1 − β)·I (nir-format.md §B.5) with the gain snapped to
/// 1 only where it is within 2^-22 of 1 (here r(1 − β) = τ/dt·(1 − e^{−dt/τ}) ≈ 0.95 — not snapped).
/// Tolerance 1e-12 on membranes: the simulator evaluates β·v + gain·I + leak, an algebraically equal but
/// differently rounded form (a few ulp of values of order 1); spikes must be identical.
#[test]
fn lif_2layer_per_neuron_exact_equals_hand_written_simulation() {
    let f = load("lif_2layer.nir");
    let g = &f.graph;
    let (fc1, l1, fc2, l2) = (
        params(&g.nodes["fc1"]),
        params(&g.nodes["lif1"]),
        params(&g.nodes["fc2"]),
        params(&g.nodes["lif2"]),
    );
    let o = Options {
        method: Method::Exact,
        ..EULER
    };
    let net = lower(g, o).unwrap();
    let x = spikes(300, 64, 0.25, 11);
    let tr = run(&net, &x).unwrap();
    let step = |p: &BTreeMap<String, Vec<f64>>, v: &mut [f64], z: &mut [f64], input: &[f64]| {
        for j in 0..v.len() {
            if z[j] == 1.0 {
                v[j] = p["v_reset"][j];
            }
            let b = (-1e-3 / p["tau"][j]).exp();
            v[j] = p["v_leak"][j] + (v[j] - p["v_leak"][j]) * b + p["r"][j] * (1.0 - b) * input[j];
            z[j] = if v[j] > p["v_threshold"][j] { 1.0 } else { 0.0 };
        }
    };
    let (mut v1, mut z1, mut v2, mut z2) =
        (vec![0.0; 20], vec![0.0; 20], vec![0.0; 10], vec![0.0; 10]);
    let (mut s1, mut s2, mut resets_below_zero) = (0, 0, 0);
    for t in 0..x.len() {
        step(&l1, &mut v1, &mut z1, &affine(&fc1["weight"], None, &x[t]));
        step(
            &l2,
            &mut v2,
            &mut z2,
            &affine(&fc2["weight"], Some(&fc2["bias"]), &z1),
        );
        s1 += z1.iter().filter(|&&s| s == 1.0).count();
        s2 += z2.iter().filter(|&&s| s == 1.0).count();
        for (a, b) in trace(&tr, "lif1").v[t].iter().zip(&v1) {
            assert!((a - b).abs() <= 1e-12, "lif1 step {t}: {a} vs {b}");
        }
        for (a, b) in trace(&tr, "lif2").v[t].iter().zip(&v2) {
            assert!((a - b).abs() <= 1e-12, "lif2 step {t}: {a} vs {b}");
        }
        assert_eq!(trace(&tr, "lif1").out[t], z1, "lif1 spikes step {t}");
        assert_eq!(trace(&tr, "lif2").out[t], z2, "lif2 spikes step {t}");
        resets_below_zero += v1.iter().filter(|&&x| x < 0.0).count();
    }
    assert!(
        s1 > 50 && s2 > 10 && resets_below_zero > 0,
        "spikes {s1} {s2}, negative membranes {resets_below_zero}"
    );
}

/// rsnn_cubalif_subgraph by hand: the recurrent w_rec sees the spikes of the previous step.
#[test]
fn recurrent_subgraph_equals_hand_written_simulation() {
    let f = load("rsnn_cubalif_subgraph.nir");
    let g = &f.graph;
    let NodeKind::Graph(sub) = &g.nodes["rsnn"] else {
        panic!()
    };
    let (fc1, lif, wr) = (
        params(&g.nodes["fc1"]),
        params(&sub.nodes["lif"]),
        params(&sub.nodes["w_rec"]),
    );
    let net = lower(g, EULER).unwrap();
    let x = spikes(300, 64, 0.2, 3);
    let tr = run(&net, &x).unwrap();
    let alpha: Vec<f64> = lif["tau_syn"].iter().map(|t| 1.0 - 1e-3 / t).collect();
    let beta: Vec<f64> = lif["tau_mem"].iter().map(|t| 1.0 - 1e-3 / t).collect();
    let (mut i_syn, mut v, mut z) = (vec![0.0; 32], vec![0.0; 32], vec![0.0; 32]);
    let mut n = 0;
    for t in 0..x.len() {
        let ff = affine(&fc1["weight"], Some(&fc1["bias"]), &x[t]);
        let rec = affine(&wr["weight"], None, &z); // z still holds step t−1
        for j in 0..32 {
            if z[j] == 1.0 {
                v[j] = 0.0;
            }
            i_syn[j] = alpha[j] * i_syn[j] + (ff[j] + rec[j]);
            v[j] = beta[j] * v[j] + i_syn[j];
        }
        for j in 0..32 {
            z[j] = if v[j] > 1.0 { 1.0 } else { 0.0 };
        }
        n += z.iter().filter(|&&s| s == 1.0).count();
        let got = trace(&tr, "rsnn.lif");
        for (a, b) in got.v[t].iter().zip(&v) {
            assert!((a - b).abs() <= 1e-12, "step {t}: {a} vs {b}");
        }
        assert_eq!(got.out[t], z, "spikes step {t}");
    }
    assert!(n > 100, "{n} spikes");
}

/// The imported float-net, run by the float reference (`forward_step`), gives the simulator's spikes and
/// readout. Tolerance 1e-9 on outputs: the reference sums bias, input and recurrent terms in one loop, the
/// simulator per node (same terms, different association; |terms| ≲ 10, so differences are ~1e-14).
#[test]
fn imported_float_net_runs_like_the_simulation() {
    let f = load("rsnn_cubalif_subgraph.nir");
    for method in [Method::Euler, Method::Exact] {
        let o = Options { method, ..EULER };
        let net = lower(&f.graph, o).unwrap();
        let saved = to_saved_net(&net, "rsnn").unwrap();
        assert_eq!(saved.config.layers.len(), 1);
        assert!(saved.config.layers[0].recurrent);
        let x = spikes(300, 64, 0.2, 5);
        let tr = run(&net, &x).unwrap();
        let mut st = NetState::<f64>::new(&saved.config);
        let mut rec = StepRecord::default();
        let mut n = 0;
        for t in 0..x.len() {
            forward_step::<f64, ModelSpec>(&saved.config, &saved.params, &mut st, &x[t], &mut rec);
            assert_eq!(
                rec.layers[0].s,
                trace(&tr, "rsnn.lif").out[t],
                "{method:?} spikes step {t}"
            );
            n += rec.layers[0].s.iter().filter(|&&s| s == 1.0).count();
            for (a, b) in rec.output.iter().zip(&trace(&tr, "output").out[t]) {
                assert!(
                    (a - b).abs() <= 1e-9,
                    "{method:?} step {t}: readout {a} vs li2 {b}"
                );
            }
        }
        assert!(n > 100, "{n}");
    }
}

/// The population view (what a graph of populations and projections is built from): the examples'
/// populations with their projections, matrices taken from the file, the recurrent one one step late.
#[test]
fn population_view_of_the_examples() {
    use plasticore::nir::populations::{populations, Origin};
    let f = load("lif_2layer.nir");
    let d = lower(&f.graph, EULER).unwrap();
    let p = populations(&d).unwrap();
    let names: Vec<&str> = p.iter().map(|x| d.nodes[x.node].name.as_str()).collect();
    assert_eq!(names, ["lif1", "lif2"]);
    assert_eq!(p[0].projections.len(), 1);
    assert_eq!(p[0].projections[0].0, Origin::Input(0));
    assert_eq!(
        p[0].projections[0].1,
        params(&f.graph.nodes["fc1"])["weight"]
    );
    assert_eq!(p[1].projections[0].0, Origin::Pop(p[0].node, 0));
    assert_eq!(p[1].bias, params(&f.graph.nodes["fc2"])["bias"]);
    let f = load("rsnn_cubalif_subgraph.nir");
    let d = lower(&f.graph, EULER).unwrap();
    let p = populations(&d).unwrap();
    let NodeKind::Graph(sub) = &f.graph.nodes["rsnn"] else {
        panic!()
    };
    let lif = &p[0];
    let origins: Vec<Origin> = lif.projections.iter().map(|x| x.0).collect();
    assert_eq!(origins, [Origin::Input(0), Origin::Pop(lif.node, 1)]);
    assert_eq!(lif.projections[1].1, params(&sub.nodes["w_rec"])["weight"]);
    assert_eq!(d.nodes[p[1].node].name, "li2");
}
