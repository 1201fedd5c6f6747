//! Export → import round trips: NIR graph ↔ HDF5 bytes bit for bit (every example, float32 and float64
//! preserved), and plasticore-float-net → NIR → plasticore-float-net exactly (float64 export, both schemes,
//! both resets, both output stages); the exported graph simulates like the float reference.
// the loops index several arrays with the same t, i, j, as the equations do
#![allow(clippy::needless_range_loop)]
use plasticore::nir::float_net::{from_saved_net, to_saved_net, ExportOptions};
use plasticore::nir::graph::NirFile;
use plasticore::nir::h5::{self, FloatWidth};
use plasticore::nir::lower::{lower, metadata_dt, metadata_reset, Method, Options, ResetMechanism};
use plasticore::nir::sim::run;
use plasticore::reference::io::{ModelSpec, SavedNet, FORMAT, VERSION};
use plasticore::reference::model::{Neuron, Presyn, ResetMode};
use plasticore::reference::net::{
    forward_step, InitScales, LayerConfig, LossKind, NetConfig, NetState, Output, Params,
    StepRecord,
};
use plasticore::reference::rng::Rng;
use std::path::PathBuf;

#[test]
fn every_example_round_trips_through_our_writer() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/nir-examples");
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "nir") {
            continue;
        }
        let a = NirFile::load(&p).unwrap();
        let bytes = a.to_bytes().unwrap();
        let b = NirFile::from_bytes(&bytes).unwrap();
        assert_eq!(a, b, "{}", p.display());
        // and at the HDF5 level: every dataset with its type, shape and bits
        let ta = h5::read_bytes(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(ta, h5::read_bytes(&bytes).unwrap(), "{}", p.display());
    }
}

fn net(recurrent: bool, exp_syn: bool, reset: ResetMode, output: Output, seed: u64) -> SavedNet {
    let mut n0 = Neuron::lif(0.9);
    if exp_syn {
        n0 = n0.with_exp_gain(0.8, 1.0);
    }
    n0.reset = reset;
    let mut n1 = Neuron::lif(0.95);
    n1.reset = reset;
    n1.v_th = 0.7;
    let layers = vec![
        LayerConfig {
            n_in: 12,
            n: 16,
            recurrent,
            neuron: ModelSpec::Builtin(n0),
            presyn: Presyn::None,
        },
        LayerConfig {
            n_in: 16,
            n: 6,
            recurrent: false,
            neuron: ModelSpec::Builtin(n1),
            presyn: Presyn::None,
        },
    ];
    let config = NetConfig {
        layers,
        output,
        loss: LossKind::Mse,
    };
    let mut params = Params::init(&config, &mut Rng::new(seed), InitScales::default());
    for (l, lp) in params.layers.iter_mut().enumerate() {
        for (j, b) in lp.b.iter_mut().enumerate() {
            *b = 0.01 * (j as f64 - 3.0) * (l as f64 + 1.0);
        }
    }
    SavedNet {
        format: FORMAT.into(),
        version: VERSION,
        task: "test".into(),
        algorithm: serde_json::Value::Null,
        dt_ms: 1.0,
        config,
        params,
        metrics: serde_json::Value::Null,
    }
}

fn variants() -> Vec<SavedNet> {
    let mut v = Vec::new();
    for (i, (rec, syn)) in [(true, true), (false, false), (true, false)]
        .into_iter()
        .enumerate()
    {
        for reset in [ResetMode::Hard, ResetMode::Soft] {
            for out in [
                Output::Membrane,
                Output::LeakyReadout {
                    n_out: 3,
                    kappa: 0.8,
                },
                Output::LeakyReadout {
                    n_out: 2,
                    kappa: 0.0,
                },
            ] {
                v.push(net(rec, syn, reset, out, 40 + i as u64));
            }
        }
    }
    v
}

#[test]
fn float_net_export_import_is_exact_in_float64() {
    for s in variants() {
        for method in [Method::Euler, Method::Exact] {
            let f = from_saved_net(
                &s,
                ExportOptions {
                    method,
                    width: FloatWidth::F64,
                },
            )
            .unwrap();
            let back = NirFile::from_bytes(&f.to_bytes().unwrap()).unwrap();
            assert_eq!(back, f);
            let dt = metadata_dt(&back.graph).unwrap();
            let reset = metadata_reset(&back.graph).unwrap();
            let d = lower(&back.graph, Options { dt, method, reset }).unwrap();
            let s2 = to_saved_net(&d, "x").unwrap();
            let ctx = format!(
                "{method:?} {:?} rec {}",
                s.config.output, s.config.layers[0].recurrent
            );
            assert_eq!(
                serde_json::to_value(&s.config).unwrap(),
                serde_json::to_value(&s2.config).unwrap(),
                "{ctx}: config"
            );
            assert_eq!(s.params, s2.params, "{ctx}: weights bit for bit");
            assert_eq!(s.dt_ms, s2.dt_ms);
        }
    }
}

#[test]
fn float32_export_rounds_weights_to_float32_only() {
    let s = net(true, true, ResetMode::Hard, Output::Membrane, 9);
    let f = from_saved_net(
        &s,
        ExportOptions {
            method: Method::Euler,
            width: FloatWidth::F32,
        },
    )
    .unwrap();
    let back = NirFile::from_bytes(&f.to_bytes().unwrap()).unwrap();
    let d = lower(
        &back.graph,
        Options {
            dt: 1e-3,
            method: Method::Euler,
            reset: ResetMechanism::Value,
        },
    )
    .unwrap();
    let s2 = to_saved_net(&d, "x").unwrap();
    for (a, b) in s.params.layers[0].w.iter().zip(&s2.params.layers[0].w) {
        // the gain and threshold folded back are exactly 1 (snapped within 2^-22), so w is f32(w)
        assert_eq!(*a as f32 as f64, *b);
    }
}

/// The exported NIR file, lowered and simulated, spikes like the float reference runs the original
/// network (tolerance 1e-9 on outputs; see nir_sim.rs for why the sums differ in the last bits).
#[test]
fn exported_graph_simulates_like_the_float_reference() {
    for s in variants() {
        let f = from_saved_net(
            &s,
            ExportOptions {
                method: Method::Exact,
                width: FloatWidth::F64,
            },
        )
        .unwrap();
        let reset = metadata_reset(&f.graph).unwrap();
        let d = lower(
            &f.graph,
            Options {
                dt: 1e-3,
                method: Method::Exact,
                reset,
            },
        )
        .unwrap();
        let mut rng = Rng::new(3);
        let x: Vec<Vec<f64>> = (0..200)
            .map(|_| {
                (0..12)
                    .map(|_| if rng.uniform() < 0.3 { 1.0 } else { 0.0 })
                    .collect()
            })
            .collect();
        let tr = run(&d, &x).unwrap();
        let (l0, l1) = if s.config.layers[0].recurrent {
            ("rsnn0.lif", "lif1")
        } else {
            ("lif0", "lif1")
        };
        let find = |n: &str| tr.iter().find(|t| t.name == n).unwrap();
        let mut st = NetState::<f64>::new(&s.config);
        let mut rec = StepRecord::default();
        let mut n = [0usize; 2];
        for t in 0..x.len() {
            forward_step::<f64, ModelSpec>(&s.config, &s.params, &mut st, &x[t], &mut rec);
            assert_eq!(rec.layers[0].s, find(l0).out[t], "layer 0 step {t}");
            assert_eq!(rec.layers[1].s, find(l1).out[t], "layer 1 step {t}");
            for (k, c) in n.iter_mut().enumerate() {
                *c += rec.layers[k].s.iter().filter(|&&z| z == 1.0).count();
            }
            if let Output::LeakyReadout { .. } = s.config.output {
                for (a, b) in rec.output.iter().zip(&find("output").out[t]) {
                    assert!((a - b).abs() <= 1e-9, "readout step {t}: {a} vs {b}");
                }
            }
        }
        assert!(n[0] > 50 && n[1] > 5, "spikes {n:?}");
    }
}
