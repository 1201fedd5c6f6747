//! Every file in `shared/nir-examples/` reads, with every dataset matching `expected.json` (dtype, shape,
//! strings exactly, first element exactly, sum within a float32 summation bound), and the graphs parse.
use plasticore::nir::graph::{Kind, NirFile, NodeKind};
use plasticore::nir::h5::{self, FloatWidth, Value};
use plasticore::nir::lower::{lower, Method, Options, ResetMechanism};
use plasticore::nir::NirError;
use std::path::PathBuf;

fn examples() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/nir-examples");
    assert!(
        p.join("expected.json").exists(),
        "shared/nir-examples not found at {} (it ships with the checkout's shared/)",
        p.display()
    );
    p
}

#[test]
fn every_dataset_matches_expected_json() {
    let dir = examples();
    let exp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let files = exp.as_object().unwrap();
    assert_eq!(files.len(), 7, "expected.json lists 7 files");
    let mut checked = 0;
    for (file, sets) in files {
        let tree = h5::read_bytes(&std::fs::read(dir.join(file)).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let ours: std::collections::BTreeMap<String, &Value> =
            tree.datasets().into_iter().collect();
        let theirs = sets.as_object().unwrap();
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>(),
            "{file}: dataset paths"
        );
        for (path, e) in theirs {
            let v = ours[path];
            let shape: Vec<usize> = e["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect();
            let at = format!("{file}:{path}");
            match (e["dtype"].as_str().unwrap(), v) {
                ("str", Value::Str(s)) => {
                    assert!(shape.is_empty(), "{at}");
                    assert_eq!(e["value"].as_str().unwrap(), s, "{at}");
                }
                ("str", Value::Strings { shape: sh, data }) => {
                    assert_eq!(*sh, shape, "{at}");
                    let want: Vec<String> = if shape.len() == 2 {
                        e["value"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .flat_map(|r| {
                                r.as_array()
                                    .unwrap()
                                    .iter()
                                    .map(|s| s.as_str().unwrap().to_string())
                            })
                            .collect()
                    } else {
                        e["value"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|s| s.as_str().unwrap().to_string())
                            .collect()
                    };
                    assert_eq!(*data, want, "{at}");
                }
                (
                    dt @ ("float32" | "float64"),
                    Value::Float {
                        shape: sh,
                        data,
                        width,
                    },
                ) => {
                    assert_eq!(*sh, shape, "{at}");
                    assert_eq!(
                        *width,
                        if dt == "float32" {
                            FloatWidth::F32
                        } else {
                            FloatWidth::F64
                        },
                        "{at}"
                    );
                    if let Some(first) = e.get("first") {
                        assert_eq!(data[0], first.as_f64().unwrap(), "{at}: first element");
                    }
                    // numpy sums float32 pairwise in float32: |error| <= ~log2(n)·2^-24·Σ|x|; 1e-5·Σ|x| covers it
                    let s: f64 = data.iter().sum();
                    let abs: f64 = data.iter().map(|x| x.abs()).sum();
                    assert!(
                        (s - e["sum"].as_f64().unwrap()).abs() <= 1e-5 * abs + 1e-12,
                        "{at}: sum {s} vs {}",
                        e["sum"]
                    );
                }
                ("int64", Value::Int { shape: sh, data }) => {
                    assert_eq!(*sh, shape, "{at}");
                    if let Some(first) = e.get("first") {
                        assert_eq!(data[0], first.as_i64().unwrap(), "{at}");
                    }
                    assert_eq!(
                        data.iter().sum::<i64>() as f64,
                        e["sum"].as_f64().unwrap(),
                        "{at}"
                    );
                }
                (d, v) => panic!("{at}: expected {d}, read {}", v.describe()),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 235, "nir-format.md §C counts 235 datasets");
}

#[test]
fn every_example_parses_and_compressed_equals_uncompressed() {
    let dir = examples();
    for name in ["ff_cubalif_li", "lif_2layer", "rsnn_cubalif_subgraph"] {
        let a = NirFile::load(&dir.join(format!("{name}.nir"))).unwrap();
        let b = NirFile::load(&dir.join(format!("{name}.nocompress.nir"))).unwrap();
        assert_eq!(a, b, "{name}");
        assert_eq!(a.version.as_deref(), Some("1.0.8"));
        assert!(a.warnings.is_empty(), "{name}: {:?}", a.warnings);
        let net = lower(
            &a.graph,
            Options {
                dt: 1e-3,
                method: Method::Euler,
                reset: ResetMechanism::Value,
            },
        )
        .unwrap();
        assert!(net.warnings.is_empty(), "{name}: {:?}", net.warnings);
        assert_eq!(net.n_inputs, 64);
    }
    let r = NirFile::load(&dir.join("rsnn_cubalif_subgraph.nir")).unwrap();
    let NodeKind::Graph(sub) = &r.graph.nodes["rsnn"] else {
        panic!("rsnn is a subgraph")
    };
    assert!(matches!(
        sub.nodes["lif"],
        NodeKind::Known {
            kind: Kind::CubaLIF,
            ..
        }
    ));
    assert!(sub.edges.contains(&("w_rec".into(), "lif".into())));
}

#[test]
fn all_primitives_reads_and_unsupported_nodes_are_named() {
    let f = NirFile::load(&examples().join("all_primitives.nir")).unwrap();
    assert_eq!(f.graph.nodes.len(), 15);
    let kinds: Vec<&str> = f
        .graph
        .nodes
        .values()
        .map(|n| match n {
            NodeKind::Known { kind, .. } => kind.type_name(),
            NodeKind::Unsupported { type_name, .. } => type_name.as_str(),
            NodeKind::Graph(_) => "NIRGraph",
        })
        .collect();
    for k in [
        "Input",
        "IF",
        "Flatten",
        "Scale",
        "Delay",
        "I",
        "Threshold",
        "CubaLI",
        "Linear",
        "Output",
    ] {
        assert!(kinds.contains(&k), "{k} parsed as a known node");
    }
    let err = lower(
        &f.graph,
        Options {
            dt: 1e-3,
            method: Method::Euler,
            reset: ResetMechanism::Value,
        },
    )
    .unwrap_err();
    let NirError::Unsupported(list) = &err else {
        panic!("{err}")
    };
    let names: Vec<&str> = list.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["avgpool", "conv1d", "conv2d", "sumpool"]);
    assert!(list.iter().all(|(_, _, why)| !why.is_empty()));
    let msg = err.to_string();
    assert!(
        msg.contains("`conv2d` (Conv2d)") && msg.contains("pooling"),
        "{msg}"
    );
}
