//! `plasticore nir …` end to end on the example files: each command runs, writes what it promises
//! atomically, and fails with a clear message where it must.
use plasticore::reference::io::SavedNet;
use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_plasticore"))
}
fn ex(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/nir-examples")
        .join(name)
        .display()
        .to_string()
}
fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("plasticore-nir-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
fn run(args: &[&str]) -> (bool, String, String) {
    let o = bin()
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

#[test]
fn import_export_info_round_trip() {
    let d = tmpdir("rt");
    let net = d.join("rsnn.json").display().to_string();
    let (ok, out, err) = run(&[
        "nir",
        "import",
        &ex("rsnn_cubalif_subgraph.nir"),
        "-o",
        &net,
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("64 inputs -> [32r] -> LeakyReadout"), "{out}");
    let s = SavedNet::load(std::path::Path::new(&net)).unwrap();
    assert_eq!(s.dt_ms, 1.0);
    let nir = d.join("rsnn.nir").display().to_string();
    let (ok, _, err) = run(&["nir", "export", &net, "-o", &nir, "--dtype", "f64"]);
    assert!(ok, "{err}");
    let (ok, out, err) = run(&["nir", "info", &nir]);
    assert!(ok, "{err}");
    assert!(
        out.contains("rsnn0: NIRGraph") && out.contains("rsnn0.w_rec") && out.contains("(t-1)"),
        "{out}"
    );
    let net2 = d.join("rsnn2.json").display().to_string();
    assert!(run(&["nir", "import", &nir, "-o", &net2]).0);
    assert_eq!(
        SavedNet::load(std::path::Path::new(&net2)).unwrap().params,
        s.params
    );
    assert!(std::fs::read_dir(&d).unwrap().all(|e| !e
        .unwrap()
        .path()
        .to_string_lossy()
        .ends_with(".tmp")));
}

#[test]
fn refusals_and_missing_dt_are_clear() {
    let d = tmpdir("refuse");
    let net = d.join("x.json").display().to_string();
    // per-neuron τ and v_reset = −0.1: imported as v2; the fixed-point conversion takes the per-neuron τ
    // (per-neuron records) but refuses the v_reset by layer and field
    let (ok, out, err) = run(&["nir", "import", &ex("lif_2layer.nir"), "-o", &net]);
    assert!(ok && out.contains("plasticore-float-net v2"), "{out}{err}");
    let img = d.join("x.pcimg").display().to_string();
    let (ok, _, err) = run(&["image", "write", "--from-float", &net, "--out", &img]);
    assert!(!ok && err.contains("layer 0") && err.contains("v_reset"), "{err}");
    assert!(!PathBuf::from(&img).exists(), "nothing written on refusal");
    std::fs::remove_file(&net).unwrap();
    let (ok, _, err) = run(&["nir", "import", &ex("all_primitives.nir"), "-o", &net]);
    assert!(!ok && err.contains("--dt"), "{err}");
    let (ok, _, err) = run(&[
        "nir",
        "import",
        &ex("all_primitives.nir"),
        "-o",
        &net,
        "--dt",
        "1e-3",
    ]);
    assert!(!ok && err.contains("`conv2d` (Conv2d)"), "{err}");
    let (ok, out, _) = run(&["nir", "info", &ex("all_primitives.nir")]);
    assert!(ok && out.contains("conv1d: Conv1d (unsupported"), "{out}");
    let (ok, _, err) = run(&["nir", "info", "/nonexistent.nir"]);
    assert!(!ok && err.contains("/nonexistent.nir"), "{err}");
}

#[test]
fn simulate_writes_spikes_and_membranes_from_csv_and_npy() {
    use ndarray_npy::WriteNpyExt;
    let d = tmpdir("sim");
    let csv = d.join("ev.csv");
    let mut text = String::from("t,channel\n");
    for t in 0..40 {
        for c in (t % 5..64).step_by(5) {
            text.push_str(&format!("{t},{c}\n"));
        }
    }
    std::fs::write(&csv, &text).unwrap();
    let out = d.join("a");
    let (ok, so, err) = run(&[
        "nir",
        "simulate",
        &ex("ff_cubalif_li.nir"),
        "--input",
        csv.to_str().unwrap(),
        "--steps",
        "50",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(so.contains("simulated 50 steps"), "{so}");
    let mem = std::fs::read_to_string(out.join("membranes.csv")).unwrap();
    assert_eq!(mem.lines().count(), 51);
    assert!(
        mem.lines().next().unwrap().starts_with("t,lif1[0],"),
        "{}",
        &mem[..60]
    );
    let spikes = std::fs::read_to_string(out.join("spikes.csv")).unwrap();
    assert!(spikes.lines().count() > 10, "the input drives lif1");
    // the same input as a dense .npy gives the same files
    let mut x = ndarray::Array2::<f32>::zeros((50, 64));
    for l in text.lines().skip(1) {
        let (t, c) = l.split_once(',').unwrap();
        x[[t.parse().unwrap(), c.parse().unwrap()]] += 1.0;
    }
    let npy = d.join("ev.npy");
    x.write_npy(std::fs::File::create(&npy).unwrap()).unwrap();
    let out2 = d.join("b");
    assert!(
        run(&[
            "nir",
            "simulate",
            &ex("ff_cubalif_li.nir"),
            "--input",
            npy.to_str().unwrap(),
            "--out",
            out2.to_str().unwrap()
        ])
        .0
    );
    for f in ["spikes.csv", "membranes.csv", "outputs.csv"] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(out2.join(f)).unwrap(),
            "{f}"
        );
    }
    std::fs::write(&csv, "t,channel\n0,64\n").unwrap();
    let (ok, _, err) = run(&[
        "nir",
        "simulate",
        &ex("ff_cubalif_li.nir"),
        "--input",
        csv.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("line 2: channel 64"), "{err}");
}
