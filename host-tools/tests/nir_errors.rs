//! Bad files give clear errors, never panics: truncated and corrupted HDF5, wrong dataset types, missing
//! datasets, shape mismatches, unknown edge names, implausible parameters; and what real exporters write
//! (snnTorch 1.0 / Norse 1.1 habits) is accepted, with warnings where a value is implausible.
// the loops index several arrays with the same t, i, j, as the equations do
#![allow(clippy::needless_range_loop)]
use plasticore::nir::graph::{Array, Graph, Kind, NirFile, NodeKind};
use plasticore::nir::h5::{self, Entry, FloatWidth, Tree, Value};
use plasticore::nir::lower::{lower, Method, Options, ResetMechanism};
use plasticore::nir::sim::run;
use plasticore::nir::{float_net, NirError};
use std::path::PathBuf;

const O: Options = Options {
    dt: 1e-3,
    method: Method::Euler,
    reset: ResetMechanism::Value,
};

fn example(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/nir-examples")
            .join(name),
    )
    .unwrap()
}

fn tree(name: &str) -> Tree {
    h5::read_bytes(&example(name)).unwrap()
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

fn parse(t: &Tree) -> Result<NirFile, NirError> {
    // through the writer and the reader, as a file would come
    NirFile::from_bytes(&h5::write_bytes(t).unwrap())
}

#[test]
fn truncated_files_are_errors() {
    for name in ["ff_cubalif_li.nir", "rsnn_cubalif_subgraph.nocompress.nir"] {
        let b = example(name);
        for cut in [
            0,
            4,
            8,
            47,
            100,
            1000,
            b.len() / 2,
            b.len() - 100,
            b.len() - 1,
        ] {
            let e = NirFile::from_bytes(&b[..cut]).expect_err(&format!("{name} cut at {cut}"));
            assert!(matches!(e, NirError::Hdf5(_)), "{name} cut {cut}: {e}");
        }
    }
}

#[test]
fn corrupted_files_never_panic() {
    let b = example("lif_2layer.nir");
    let mut errors = 0;
    for (k, pos) in (0..b.len()).step_by(13).enumerate() {
        let mut c = b.clone();
        c[pos] ^= [0xff, 0x01, 0x80, 0x55][k % 4];
        if NirFile::from_bytes(&c).is_err() {
            errors += 1;
        }
    }
    assert!(errors > 10, "some corruptions must be detected ({errors})");
}

#[test]
fn wrong_types_are_named() {
    let mut t = tree("lif_2layer.nir");
    node_mut(&mut t, &["node", "nodes", "lif1"]).put("tau", Value::Str("10 ms".into()));
    let e = parse(&t).unwrap_err();
    assert_eq!(
        e,
        NirError::Type {
            path: "/node/nodes/lif1/tau".into(),
            expected: "float32 or float64 array".into(),
            got: "string scalar".into()
        }
    );
    let mut t = tree("lif_2layer.nir");
    node_mut(&mut t, &["node", "nodes", "lif1"]).put(
        "type",
        Value::Int {
            shape: vec![],
            data: vec![3],
        },
    );
    assert!(
        matches!(parse(&t).unwrap_err(), NirError::Type { path, .. } if path == "/node/nodes/lif1/type")
    );
    let mut t = tree("lif_2layer.nir");
    node_mut(&mut t, &["node"]).put(
        "edges",
        Value::Float {
            shape: vec![2, 2],
            data: vec![0.0; 4],
            width: FloatWidth::F32,
        },
    );
    assert!(matches!(parse(&t).unwrap_err(), NirError::Type { path, .. } if path == "/node/edges"));
}

#[test]
fn missing_datasets_are_named() {
    for (path, ds) in [
        (vec!["node", "nodes", "lif1"], "tau"),
        (vec!["node", "nodes", "fc2"], "bias"),
        (vec!["node"], "edges"),
        (vec!["node", "nodes", "input"], "shape"),
    ] {
        let mut t = tree("lif_2layer.nir");
        node_mut(&mut t, &path).children.remove(ds);
        let e = parse(&t).unwrap_err();
        assert_eq!(
            e,
            NirError::Missing(format!("/{}/{ds}", path.join("/"))),
            "{e}"
        );
    }
    let mut t = tree("lif_2layer.nir");
    t.children.remove("node");
    assert!(matches!(parse(&t).unwrap_err(), NirError::Missing(m) if m.starts_with("/node")));
    // v_reset is optional (older files): zeros and a warning
    let mut t = tree("lif_2layer.nir");
    node_mut(&mut t, &["node", "nodes", "lif2"])
        .children
        .remove("v_reset");
    let f = parse(&t).unwrap();
    assert!(
        f.warnings.iter().any(|w| w.contains("v_reset")),
        "{:?}",
        f.warnings
    );
}

#[test]
fn shape_mismatches_are_named() {
    let mut t = tree("lif_2layer.nir");
    node_mut(&mut t, &["node", "nodes", "fc2"]).put(
        "bias",
        Value::Float {
            shape: vec![9],
            data: vec![0.0; 9],
            width: FloatWidth::F32,
        },
    );
    assert!(
        matches!(parse(&t).unwrap_err(), NirError::Shape { path, .. } if path == "/node/nodes/fc2/bias")
    );
    let mut t = tree("lif_2layer.nir");
    node_mut(&mut t, &["node", "nodes", "lif1"]).put(
        "r",
        Value::Float {
            shape: vec![3],
            data: vec![1.0; 3],
            width: FloatWidth::F32,
        },
    );
    assert!(
        matches!(parse(&t).unwrap_err(), NirError::Shape { path, .. } if path == "/node/nodes/lif1/r")
    );
    // sizes along an edge: lif2 has 10 neurons, fc1 gives 20
    let mut f = parse(&tree("lif_2layer.nir")).unwrap();
    f.graph.edges.push(("fc1".into(), "lif2".into()));
    let e = lower(&f.graph, O).unwrap_err();
    assert!(
        matches!(&e, NirError::Shape { path, msg } if path == "lif2" && msg.contains("fc1 → lif2: 20 values arrive, the node takes 10")),
        "{e}"
    );
    let mut f = parse(&tree("lif_2layer.nir")).unwrap();
    f.graph.edges.push(("fc1".into(), "nowhere".into()));
    let e = lower(&f.graph, O).unwrap_err();
    assert!(e.to_string().contains("no node `nowhere`"), "{e}");
}

#[test]
fn bad_values_are_named() {
    let mut t = tree("lif_2layer.nir");
    node_mut(&mut t, &["node", "nodes", "lif2"]).put(
        "tau",
        Value::Float {
            shape: vec![10],
            data: vec![0.0; 10],
            width: FloatWidth::F64,
        },
    );
    let e = lower(&parse(&t).unwrap().graph, O).unwrap_err();
    assert!(
        e.to_string().contains("lif2/tau") && e.to_string().contains("positive"),
        "{e}"
    );
    let mut t = tree("lif_2layer.nir");
    node_mut(&mut t, &["node", "nodes", "lif2"]).put(
        "v_threshold",
        Value::Float {
            shape: vec![10],
            data: vec![f64::NAN; 10],
            width: FloatWidth::F32,
        },
    );
    assert!(
        matches!(parse(&t).unwrap_err(), NirError::Invalid { path, .. } if path == "/node/nodes/lif2/v_threshold")
    );
    assert!(lower(&Graph::default(), O).is_err());
    assert!(lower(
        &parse(&tree("lif_2layer.nir")).unwrap().graph,
        Options { dt: 0.0, ..O }
    )
    .is_err());
}

fn f32v(v: Vec<f64>) -> Array {
    Array::vec(
        v.iter().map(|&x| x as f32 as f64).collect(),
        FloatWidth::F32,
    )
}
fn f64v(v: Vec<f64>) -> Array {
    Array::vec(v, FloatWidth::F64)
}
fn known(kind: Kind, f: Vec<(&str, Array)>) -> NodeKind {
    NodeKind::Known {
        kind,
        floats: f.into_iter().map(|(k, a)| (k.to_string(), a)).collect(),
        ints: Default::default(),
    }
}
fn io(kind: Kind, n: i64) -> NodeKind {
    NodeKind::Known {
        kind,
        floats: Default::default(),
        ints: [("shape".to_string(), (vec![1], vec![n]))].into(),
    }
}

/// What snnTorch 1.0 writes for `Linear → RLeaky(all_to_all, linear_features) → Linear`: flat dotted names
/// (`1.lif`, `1.w_rec`), `w_rec` as an Affine with a bias, float64 neuron parameters next to float32
/// weights, no dt, v_reset = 0 for a subtract-reset model, tau = dt/(1 − β) with dt = 1e-4, r = tau/dt.
fn snntorch_like(n_in: usize, n: usize, beta: f64) -> Graph {
    let dt = 1e-4;
    let tau = dt / (1.0 - beta);
    let mut g = Graph::default();
    let w = |r: usize, c: usize, s: f64| {
        f32v(
            (0..r * c)
                .map(|k| ((k * 37 % 11) as f64 - 5.0) * s)
                .collect(),
        )
    };
    g.nodes.insert("input".into(), io(Kind::Input, n_in as i64));
    g.nodes.insert(
        "0".into(),
        known(
            Kind::Affine,
            vec![
                (
                    "weight",
                    Array {
                        shape: vec![n, n_in],
                        ..w(n, n_in, 0.2)
                    },
                ),
                ("bias", f32v(vec![0.01; n])),
            ],
        ),
    );
    g.nodes.insert(
        "1.lif".into(),
        known(
            Kind::LIF,
            vec![
                ("tau", f64v(vec![tau; n])),
                ("r", f64v(vec![tau / dt; n])),
                ("v_leak", f64v(vec![0.0; n])),
                ("v_threshold", f64v(vec![1.0; n])),
                ("v_reset", f64v(vec![0.0; n])),
            ],
        ),
    );
    g.nodes.insert(
        "1.w_rec".into(),
        known(
            Kind::Affine,
            vec![
                (
                    "weight",
                    Array {
                        shape: vec![n, n],
                        ..w(n, n, 0.03)
                    },
                ),
                ("bias", f32v(vec![0.02; n])),
            ],
        ),
    );
    g.nodes.insert(
        "2".into(),
        known(
            Kind::Affine,
            vec![
                (
                    "weight",
                    Array {
                        shape: vec![3, n],
                        ..w(3, n, 0.1)
                    },
                ),
                ("bias", f32v(vec![0.0; 3])),
            ],
        ),
    );
    g.nodes.insert("output".into(), io(Kind::Output, 3));
    g.edges = [
        ("input", "0"),
        ("0", "1.lif"),
        ("1.lif", "1.w_rec"),
        ("1.w_rec", "1.lif"),
        ("1.lif", "2"),
        ("2", "output"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    g
}

#[test]
fn snntorch_style_flat_recurrent_export_is_accepted() {
    let g = snntorch_like(8, 12, 0.9);
    let f = NirFile {
        version: Some("1.0.8".into()),
        graph: g,
        warnings: vec![],
    };
    let back = NirFile::from_bytes(&f.to_bytes().unwrap()).unwrap();
    assert_eq!(back.graph, f.graph);
    assert!(
        plasticore::nir::lower::metadata_dt(&back.graph).is_none(),
        "no dt in snnTorch files"
    );
    let o = Options {
        dt: 1e-4,
        method: Method::Euler,
        reset: ResetMechanism::SubtractUndecayed,
    };
    let d = lower(&back.graph, o).unwrap();
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    let rec = d.nodes.iter().find(|n| n.name == "1.w_rec").unwrap();
    assert_eq!(rec.inputs.len(), 1);
    assert!(
        rec.inputs[0].1,
        "the edge 1.lif → 1.w_rec carries the previous step"
    );
    // hand-written snnTorch RLeaky (reset_mechanism="subtract"): mem = β·mem + W x + b + V z_{t−1} + b_rec − θ·z_{t−1}
    let x: Vec<Vec<f64>> = (0..100)
        .map(|t| {
            (0..8)
                .map(|i| ((t * 3 + i * 5) % 7 == 0) as u8 as f64)
                .collect()
        })
        .collect();
    let tr = run(&d, &x).unwrap();
    let NodeKind::Known { floats: f0, .. } = &back.graph.nodes["0"] else {
        panic!()
    };
    let NodeKind::Known { floats: fr, .. } = &back.graph.nodes["1.w_rec"] else {
        panic!()
    };
    let NodeKind::Known { floats: fl, .. } = &back.graph.nodes["1.lif"] else {
        panic!()
    };
    let beta = 1.0 - 1e-4 / fl["tau"].data[0];
    let (mut mem, mut z) = (vec![0.0; 12], vec![0.0; 12]);
    let mut n = 0;
    for t in 0..x.len() {
        for j in 0..12 {
            let mut ff = f0["bias"].data[j];
            for i in 0..8 {
                ff += f0["weight"].data[j * 8 + i] * x[t][i];
            }
            let mut rc = fr["bias"].data[j];
            for i in 0..12 {
                rc += fr["weight"].data[j * 12 + i] * z[i];
            }
            mem[j] = beta * mem[j] + (ff + rc) - z[j];
        }
        for j in 0..12 {
            z[j] = (mem[j] > 1.0) as u8 as f64;
        }
        n += z.iter().filter(|&&s| s == 1.0).count();
        let got = tr.iter().find(|s| s.name == "1.lif").unwrap();
        for (a, b) in got.v[t].iter().zip(&mem) {
            assert!((a - b).abs() <= 1e-12, "step {t}: {a} vs {b}");
        }
        assert_eq!(got.out[t], z, "step {t}");
    }
    assert!(n > 20, "{n} spikes");
    // as a float-net: v1 cannot hold the undecayed subtraction, v2 (per-neuron layer) does; the
    // fixed-point conversion names it as what the core cannot do. With reset = value it imports as a v1
    // recurrent layer with w_rec's bias folded into b
    let s = float_net::to_saved_net(&d, "x").unwrap();
    assert_eq!(s.version, 2);
    assert!(matches!(&s.config.layers[0].neuron, plasticore::reference::io::ModelSpec::PerNeuron(p)
        if p.spiking.as_ref().unwrap().reset == plasticore::reference::per_neuron::PnReset::SubtractUndecayed));
    let e = plasticore::quantize::float_net::core_layers(&s).unwrap_err();
    assert!(e.to_string().contains("undecayed"), "{e}");
    let d2 = lower(
        &back.graph,
        Options {
            reset: ResetMechanism::Value,
            ..o
        },
    )
    .unwrap();
    let s = float_net::to_saved_net(&d2, "x").unwrap();
    assert!(s.config.layers[0].recurrent && s.config.layers.len() == 1);
    let b_want = (0.01f32 as f64) + (0.02f32 as f64);
    assert!(
        s.params.layers[0].b.iter().all(|&b| b == b_want),
        "w_rec's bias folded into b"
    );
    assert_eq!(
        s.config.output,
        plasticore::reference::net::Output::LeakyReadout {
            n_out: 3,
            kappa: 0.0
        },
        "Affine `2` as a κ = 0 readout"
    );
    assert_eq!(s.params.readout[1], fl_dummy(&back.graph));
}

/// readout[0*n_out + 1] = weight of `2`[1][0].
fn fl_dummy(g: &Graph) -> f64 {
    let NodeKind::Known { floats, .. } = &g.nodes["2"] else {
        panic!()
    };
    floats["weight"].data[12]
}

#[test]
fn norse_tau_in_wrong_unit_warns() {
    let mut g = snntorch_like(4, 5, 0.9);
    if let Some(NodeKind::Known { floats, .. }) = g.nodes.get_mut("1.lif") {
        floats.insert("tau".into(), f64v(vec![1e-5; 5]));
    }
    let d = lower(
        &g,
        Options {
            dt: 1e-3,
            method: Method::Exact,
            reset: ResetMechanism::Value,
        },
    )
    .unwrap();
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("1.lif") && w.contains("below dt") && w.contains("Norse")),
        "{:?}",
        d.warnings
    );
    let d = lower(
        &g,
        Options {
            dt: 1e-3,
            method: Method::Euler,
            reset: ResetMechanism::Value,
        },
    )
    .unwrap();
    assert!(
        d.warnings.iter().any(|w| w.contains("unstable")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn delay_scale_threshold_flatten_and_integrators_run() {
    // input → scale → delay → flatten → i (integrator) ; input → threshold ; if fed by a Linear
    let mut g = Graph::default();
    g.nodes.insert("input".into(), io(Kind::Input, 3));
    g.nodes.insert(
        "scale".into(),
        known(Kind::Scale, vec![("scale", f32v(vec![2.0, 3.0, 4.0]))]),
    );
    g.nodes.insert(
        "delay".into(),
        known(Kind::Delay, vec![("delay", f32v(vec![0.0, 1e-3, 2e-3]))]),
    );
    g.nodes.insert(
        "flat".into(),
        NodeKind::Known {
            kind: Kind::Flatten,
            floats: Default::default(),
            ints: [
                ("start_dim".into(), (vec![], vec![0])),
                ("end_dim".into(), (vec![], vec![-1])),
            ]
            .into(),
        },
    );
    g.nodes.insert(
        "integ".into(),
        known(Kind::I, vec![("r", f32v(vec![1000.0; 3]))]),
    );
    g.nodes.insert(
        "th".into(),
        known(Kind::Threshold, vec![("threshold", f32v(vec![0.5; 3]))]),
    );
    g.nodes.insert(
        "lin".into(),
        known(
            Kind::Linear,
            vec![(
                "weight",
                Array {
                    shape: vec![1, 3],
                    ..f32v(vec![1.0, 1.0, 1.0])
                },
            )],
        ),
    );
    g.nodes.insert(
        "iff".into(),
        known(
            Kind::IF,
            vec![
                ("r", f32v(vec![1000.0])),
                ("v_threshold", f32v(vec![2.5])),
                ("v_reset", f32v(vec![0.0])),
            ],
        ),
    );
    g.nodes.insert("o1".into(), io(Kind::Output, 3));
    g.nodes.insert("o2".into(), io(Kind::Output, 1));
    g.edges = [
        ("input", "scale"),
        ("scale", "delay"),
        ("delay", "flat"),
        ("flat", "integ"),
        ("integ", "o1"),
        ("input", "th"),
        ("th", "lin"),
        ("lin", "iff"),
        ("iff", "o2"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let d = lower(&g, O).unwrap();
    let x = vec![
        vec![1.0, 1.0, 1.0],
        vec![0.0; 3],
        vec![0.0; 3],
        vec![1.0, 0.0, 0.0],
    ];
    let tr = run(&d, &x).unwrap();
    let get = |n: &str| tr.iter().find(|t| t.name == n).unwrap();
    // integrator of delayed scaled input: channel 0 at t0 (+2), channel 1 at t1 (+3), channel 2 at t2 (+4)
    assert_eq!(
        get("o1").out,
        vec![
            vec![2.0, 0.0, 0.0],
            vec![2.0, 3.0, 0.0],
            vec![2.0, 3.0, 4.0],
            vec![4.0, 3.0, 4.0]
        ]
    );
    // threshold 0.5 → 3 spikes at t0, 1 at t3; IF integrates 3 (no spike: 3 > 2.5 → spike!), then resets
    assert_eq!(get("th").out[0], vec![1.0; 3]);
    assert_eq!(
        get("iff").v,
        vec![vec![3.0], vec![0.0], vec![0.0], vec![1.0]]
    );
    assert_eq!(
        get("iff").out,
        vec![vec![1.0], vec![0.0], vec![0.0], vec![0.0]]
    );
}

/// A file written by Python `nir` 1.0.8 (h5py) in snnTorch's layout (`scripts/nir_snntorch_style.py`, seed 0;
/// shipped so this runs without Python): it reads, names the float64 neuron parameters next to float32
/// weights, needs a dt (none in the file), and imports as a recurrent layer with a κ = 0 readout.
#[test]
fn python_written_snntorch_style_fixture_imports() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nir/snntorch_style.nir");
    let f = NirFile::load(&p).unwrap();
    let NodeKind::Known { floats, .. } = &f.graph.nodes["1.lif"] else { panic!() };
    assert_eq!(floats["tau"].width, FloatWidth::F64);
    let NodeKind::Known { floats, .. } = &f.graph.nodes["1.w_rec"] else { panic!() };
    assert_eq!(floats["weight"].width, FloatWidth::F32);
    assert!(floats["bias"].data.iter().all(|&b| b == 0.01f32 as f64));
    assert!(plasticore::nir::lower::metadata_dt(&f.graph).is_none());
    let d = lower(&f.graph, Options { dt: 1e-4, ..O }).unwrap();
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    let s = float_net::to_saved_net(&d, "fixture").unwrap();
    assert!(s.config.layers[0].recurrent);
    assert_eq!(s.config.output, plasticore::reference::net::Output::LeakyReadout { n_out: 3, kappa: 0.0 });
    // unit gain: r = τ/dt in float64 comes back as exactly 1, so the weights are the file's
    let NodeKind::Known { floats: f0, .. } = &f.graph.nodes["0"] else { panic!() };
    assert_eq!(s.params.layers[0].w[12], f0["weight"].data[1], "w[1*n + 0] = weight[0][1]");
}
