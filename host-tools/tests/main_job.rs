//! The main job (README's run command) in its reduced form: the network learns on the emulated chip next
//! to the float rule, the chip figures are consistent, the report and its data are written, runs are
//! reproducible, and bad settings are refused.
use plasticore::mainjob::{run, MainConfig};
use std::path::PathBuf;

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("plasticore-main-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn quick_main_job_learns_on_chip_next_to_float_and_writes_the_report() {
    let dir = out_dir("quick");
    let cfg = MainConfig::quick(dir.clone());
    let r = run(&cfg, |_, _| {}).unwrap();
    assert_eq!(r.curve.len(), cfg.blocks + 1);
    let (first, last) = (r.curve[0], *r.curve.last().unwrap());
    // Before learning the readout is zero in both, so both pick the same (tie) class.
    assert_eq!(first.trials, 0);
    assert_eq!(first.acc_chip, first.acc_float);
    // Both learn; with 60 held-out trials the binomial standard error is about 6 points, so the chip must
    // be within 10 points of float (measured: 83.3 % both).
    assert!(last.acc_float >= 0.7 && last.acc_chip >= 0.7, "{last:?}");
    assert!(last.acc_chip >= first.acc_chip + 0.2, "the chip did not learn: {:?}", r.curve);
    assert!((last.acc_chip - last.acc_float).abs() <= 0.10, "{last:?}");
    // Learning costs cycles and energy on top of inference; only learning updates weights.
    let (l, i) = (&r.learning, &r.inference);
    assert!(l.cycles > i.cycles && l.energy_nj > i.energy_nj, "{l:?} vs {i:?}");
    assert!(l.weight_updates > 0.0 && i.weight_updates == 0.0);
    assert!(l.phases_nj[4] > 0.0 && i.phases_nj[4] == 0.0, "learn-phase energy");
    // Cycles by phase: the busiest core's time in each, so each is within the step's latency; only
    // learning has a learn phase.
    assert!(l.phases_cycles[4] > 0.0 && i.phases_cycles[4] == 0.0, "learn-phase cycles");
    for f in [l, i] {
        assert!(f.phases_cycles.iter().all(|&c| c <= f.cycles) && f.phases_cycles[1] > 0.0, "{f:?}");
        assert!(f.phases_cycles.iter().sum::<f64>() + f.drain_cycles + f.barrier_cycles >= f.cycles, "{f:?}");
    }
    // One hidden core per tile: spikes cross links.
    assert_eq!(r.cores, 5);
    assert!(l.packets > 0.0 && !l.hotspots.is_empty());
    assert!(i.syn_ops > 0.0 && (0.0..1.0).contains(&r.activation_sparsity));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 2, "two inline charts");
    for needle in ["Held-out accuracy", "Chip cost per timestep", "NeuroBench", "connection sparsity", "demo --quick"] {
        assert!(html.contains(needle), "report lacks {needle}");
    }
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("main.json")).unwrap()).unwrap();
    assert_eq!(json["curve"].as_array().unwrap().len(), cfg.blocks + 1);
    assert!(!dir.join("report.html.tmp").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn same_seed_gives_the_same_figures() {
    let (a, b) = (out_dir("det-a"), out_dir("det-b"));
    run(&MainConfig::quick(a.clone()), |_, _| {}).unwrap();
    run(&MainConfig::quick(b.clone()), |_, _| {}).unwrap();
    let (ja, jb) = (std::fs::read(a.join("main.json")).unwrap(), std::fs::read(b.join("main.json")).unwrap());
    assert_eq!(ja, jb);
    let _ = (std::fs::remove_dir_all(&a), std::fs::remove_dir_all(&b));
}

#[test]
fn bad_settings_are_refused_with_a_message() {
    let mut cfg = MainConfig::quick(out_dir("bad"));
    cfg.blocks = 0;
    let e = run(&cfg, |_, _| {}).unwrap_err().to_string();
    assert!(e.contains("blocks"), "{e}");
    let mut cfg = MainConfig::quick(out_dir("bad2"));
    cfg.preset = "no-such-chip".into();
    let e = run(&cfg, |_, _| {}).unwrap_err().to_string();
    assert!(e.contains("no-such-chip"), "{e}");
}

#[test]
fn cli_prints_where_the_report_is() {
    let dir = out_dir("cli");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plasticore"))
        .args(["demo", "--quick", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap();
    assert_eq!(last, format!("report: {}", dir.join("report.html").display()));
    let _ = std::fs::remove_dir_all(&dir);
}
