//! The quantization sweep (`plasticore sweep`, `plasticore::sweep`): the same CSV bytes for any thread
//! count, the CSV's schema and value ranges, and bad grids refused with one line.
use plasticore::sweep::grid::Grid;
use plasticore::sweep::output::{csv, parse_csv, HEADER};
use plasticore::sweep::{builtin, RoundingMode, Study};
use std::process::Command;

/// A tiny grid: 2 weight bits × 2 trace bits × learning on/off = 8 points.
fn tiny() -> Grid {
    Grid { weight_bits: vec![4, 8], trace_bits: vec![8, 16], state_frac: vec![16], rounding: vec![RoundingMode::Stochastic], learn: vec![true, false] }
}

fn study() -> Study {
    let (spec, trials) = builtin(7, 24, 12, 3, None).unwrap();
    Study::new(spec, trials).unwrap()
}

/// Mutation tried: seeding each point's core with `rayon::current_thread_index()` mixed in — the CSVs of
/// 1 and 3 threads then differ and this test fails.
#[test]
fn same_csv_bytes_for_any_thread_count() {
    let s = study();
    let count = std::sync::atomic::AtomicUsize::new(0);
    let done = || {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let one = csv(&s.run(&tiny(), 1, &done).unwrap());
    let two = csv(&s.run(&tiny(), 2, &done).unwrap());
    let three = csv(&s.run(&tiny(), 3, &done).unwrap());
    assert_eq!(count.into_inner(), 3 * 8, "progress is reported once per point");
    assert_eq!(one, two);
    assert_eq!(one, three);
}

/// The rounding axis reaches the core: with on-chip learning at 4- and 8-bit weights, truncation (which
/// drops every sub-LSB update) and nearest learn differently from stochastic rounding. Mutation tried:
/// `sweep::rounding::apply` not calling the core's setters (every mode gives stochastic's row: fails).
#[test]
fn rounding_modes_reach_the_core() {
    let g = Grid { weight_bits: vec![4, 8], trace_bits: vec![16], state_frac: vec![16], rounding: vec![RoundingMode::Stochastic, RoundingMode::Nearest, RoundingMode::Truncate], learn: vec![true] };
    // enough trials that learning moves the held-out accuracy (the tiny study's 24 do not)
    let (spec, trials) = builtin(7, 200, 100, 3, None).unwrap();
    let rows = Study::new(spec, trials).unwrap().run(&g, 0, &|| {}).unwrap();
    eprintln!("{}", csv(&rows));
    let by = |m: &str| rows.iter().filter(|r| r.rounding == m).map(|r| (r.acc_learned, r.cos_float.to_bits(), r.cos_same_w.to_bits())).collect::<Vec<_>>();
    assert_eq!(by("stochastic").len(), 2);
    assert_ne!(by("truncate"), by("stochastic"), "truncate learns like stochastic: the mode did not reach the core");
    assert_ne!(by("nearest"), by("stochastic"), "nearest learns like stochastic: the mode did not reach the core");
}

/// Mutation tried: leaving `acc_learned` out of the CSV rows — the field count check fails.
#[test]
fn csv_has_the_schema_and_values_in_range() {
    let rows = study().run(&tiny(), 0, &|| {}).unwrap();
    let text = csv(&rows);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(HEADER));
    let n = HEADER.split(',').count();
    assert_eq!(n, 15);
    assert_eq!(lines.clone().count(), 8, "one row per point");
    for l in lines {
        assert_eq!(l.split(',').count(), n, "{l}");
    }
    // grid order: weight bits innermost, then learning
    let order: Vec<(u8, bool, u8)> = rows.iter().map(|r| (r.trace_bits, r.learn, r.weight_bits)).collect();
    assert_eq!(&order[..4], &[(8, true, 4), (8, true, 8), (8, false, 4), (8, false, 8)]);
    for r in &rows {
        assert_eq!(r.acc_learned.is_some(), r.learn, "{r:?}");
        for a in [r.acc_float, r.acc_fixed].into_iter().chain(r.acc_learned) {
            assert!((0.0..=1.0).contains(&a), "{r:?}");
        }
        for c in [r.cos_float, r.cos_same_w] {
            assert!((-1.0..=1.0).contains(&c), "{r:?}");
        }
        assert_eq!(r.readout_bits, r.weight_bits, "readout bits follow the weight bits with readout_bits None");
        assert_eq!(r.trace_frac, if r.trace_bits == 8 { 4 } else { 8 });
    }
    // the learning direction survives 8-bit weights (measured ≈ 0.93 to float weights, ≈ 0.99 to the same
    // weights on these 3 trials); 0.5 only says the update is not noise
    assert!(rows.iter().filter(|r| r.weight_bits == 8).all(|r| r.cos_float > 0.5 && r.cos_same_w > 0.5), "{rows:?}");
    // the CSV reads back to the same bytes
    assert_eq!(csv(&parse_csv("t.csv", &text).unwrap()), text);
}

fn sweep_cli(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_plasticore")).env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE").arg("sweep").args(args).arg("--out").arg(std::env::temp_dir().join(format!("plasticore-sweep-bad-{}", std::process::id()))).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Mutation tried: removing the repeat check from `Grid::validate` — the `8,8` case runs the sweep and
/// fails on the missing error.
#[test]
fn bad_grid_arguments_give_one_clear_line() {
    for (args, code, needle) in [
        (&["--weight-bits", "4,40"][..], 2, "40"),
        (&["--weight-bits", "8,8"][..], 1, "weight bits 8 is given twice"),
        (&["--trace-bits", "2"][..], 2, "--trace-bits"),
        (&["--state-frac", "30"][..], 2, "--state-frac"),
        (&["--rounding", "nearest,nearest"][..], 1, "given twice"),
        (&["--rounding", "ceil"][..], 2, "ceil"),
        (&["--learn", "maybe"][..], 2, "maybe"),
        (&["--readout-bits", "1"][..], 1, "--readout-bits 1"),
    ] {
        let (c, err) = sweep_cli(args);
        assert_eq!(c, code, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: ") && err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn library_refuses_the_same_grids() {
    let mut g = tiny();
    g.rounding.clear();
    assert!(g.validate().is_err());
    let mut g = tiny();
    g.learn.clear();
    assert!(g.validate().unwrap_err().to_string().contains("learn: no value given"));
    let mut g = tiny();
    g.weight_bits.push(1);
    assert!(g.validate().unwrap_err().to_string().contains("weight bits 1 is outside 2..=16"));
}

/// The sweep on a `train` network with a digits event file: the last quarter of the samples held out,
/// every grid point computed; a network the sweep cannot convert is one line naming the file.
/// Mutation tried: holding out ⌊·⌋ instead of ⌈·⌉ of the samples — the split line changes and this fails.
#[test]
fn sweep_runs_a_trained_network_on_an_event_file() {
    let d = std::env::temp_dir().join(format!("plasticore-sweep-net-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let bin = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_plasticore"));
        c.env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE").current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        c
    };
    let run = |c: &mut Command| {
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let ds = d.to_string_lossy().into_owned();
    run(bin().args(["train", "--task", "digits", "--hidden", "16", "--iters", "10", "--batch", "8", "--steps", "20", "--test-trials", "20"]).args(["--eval-every", "10", "--out", &ds]));
    let ev = d.join("digits.npz").to_string_lossy().into_owned();
    // 50 samples → 13 held out (⌈0.25 · 50⌉), 37 train
    run(bin().args(["events", "digits", "-o", &ev, "--limit", "50", "--steps", "20"]));
    let net = d.join("train_digits_net.json").to_string_lossy().into_owned();
    let out = d.join("sweep");
    let stdout = run(bin().args(["sweep", "--net", &net, "--events", &ev, "--weight-bits", "8,16", "--trace-bits", "16", "--state-frac", "16", "--grad", "4", "--out"]).arg(&out));
    let samples = plasticore::events::read(std::path::Path::new(&ev), None).unwrap().samples.len();
    let test = (samples as f64 * 0.25).ceil() as usize;
    assert!(stdout.contains(&format!("2 points, {} training / {test} held-out / 4 gradient trials", samples - test)), "{stdout}");
    let rows = parse_csv("sweep.csv", &std::fs::read_to_string(out.join("sweep.csv")).unwrap()).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.acc_learned.is_some() && r.cos_float.is_finite()), "{rows:?}");
    assert!(out.join("sweep_accuracy.svg").exists() && out.join("sweep_cosine.svg").exists());
    // two hidden layers: refused, naming the file and why
    let d2 = d.join("deep");
    let d2s = d2.to_string_lossy().into_owned();
    run(bin().args(["train", "--task", "digits", "--hidden", "8,8", "--recurrent", "1,0", "--iters", "2", "--batch", "4", "--steps", "20"]).args(["--test-trials", "10", "--eval-every", "2", "--out", &d2s]));
    let deep = d2.join("train_digits_net.json").to_string_lossy().into_owned();
    let o = bin().args(["sweep", "--net", &deep, "--events", &ev, "--out"]).arg(&out).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.lines().count() == 1 && err.contains(&deep) && err.contains("2 hidden layers: the sweep handles one"), "{err}");
    // a label the network has no output for: one line naming the files and the trial
    let csv = d.join("labels.csv");
    std::fs::write(&csv, "sample,label,t,channel\n0,10,0,1\n1,3,0,2\n").unwrap();
    let cs = csv.to_string_lossy().into_owned();
    let o = bin().args(["sweep", "--net", &net, "--events", &cs, "--sensor", "64", "--out"]).arg(&out).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.lines().count() == 1 && err.contains(&cs) && err.contains("training trial 0: label 10, but the network has 10 outputs"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}
