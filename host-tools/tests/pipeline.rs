//! The pipeline end to end on committed fixtures (never skipped): float training of rate-coded digits
//! (`fixtures/digits-500.csv.gz`) → `quantize -o` (8-bit weights, scales searched on the event file
//! `fixtures/digits500-test-50.npz`) → graph image → `run --learn` on the emulated `loihi` chip over the
//! training event file `fixtures/digits500-train-50.npz` → held-out accuracy against float's on the same
//! held-out events. Plus: the chip and core backends give the same bits, and bad input is one line.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_plasticore"));
    c.env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE");
    c
}

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    assert!(p.exists(), "fixture missing: {}", p.display());
    p.to_string_lossy().into_owned()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("plasticore-pipeline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ok(o: Output, what: &str) -> String {
    assert!(o.status.success(), "{what} failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// The last line of stdout that is a JSON object.
fn json(stdout: &str) -> serde_json::Value {
    let l = stdout.lines().rev().find(|l| l.starts_with('{')).expect("no JSON line");
    serde_json::from_str(l).unwrap()
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Float network (32 recurrent LIF, 50 steps per digit) and its 8-bit image in `d`; returns the quantize
/// report.
fn float_and_image(d: &Path, lr_shift: &str, ro_shift: &str) -> serde_json::Value {
    train(d, &["--n-rec", "32"]);
    quantize(d, &["--lr-shift", lr_shift, "--readout-lr-shift", ro_shift])
}

fn train(d: &Path, shape: &[&str]) {
    ok(
        bin()
            .args(["train", "--task", "digits", "--data", &fixture("digits-500.csv.gz"), "--iters", "100", "--batch", "16"])
            .args(shape)
            .args(["--steps", "50", "--eval-every", "50", "--lr", "0.01", "--seed", "1", "--out", &s(d)])
            .output()
            .unwrap(),
        "train",
    );
}

fn quantize(d: &Path, extra: &[&str]) -> serde_json::Value {
    quantize_biases(d, extra, false)
}

/// `quantize` keeping the trained biases (learnt, Q.16) when `keep_bias`, else `--drop-bias`.
fn quantize_biases(d: &Path, extra: &[&str], keep_bias: bool) -> serde_json::Value {
    let q = ok(
        bin()
            .args(["quantize", "--net", &s(&d.join("train_digits_net.json")), "--events", &fixture("digits500-test-50.npz"), "--bits", "8"])
            .args(["-o", &s(&d.join("net.pcimg"))])
            .args(if keep_bias { &[][..] } else { &["--drop-bias"][..] })
            .args(extra)
            .output()
            .unwrap(),
        "quantize",
    );
    json(&q)
}

/// The `weight_frac` of every population line of `image info`, then the readout's.
fn image_fracs(path: &Path) -> Vec<u64> {
    let out = ok(bin().args(["image", "info", &s(path)]).output().unwrap(), "image info");
    out.lines()
        .filter(|l| l.trim_start().starts_with("population ") || l.trim_start().starts_with("readout:"))
        .map(|l| {
            let at = l.find("weight_frac ").expect("weight_frac") + "weight_frac ".len();
            l[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
        })
        .collect()
}

/// The weight shift of every projection line of `image info`.
fn image_shifts(path: &Path) -> Vec<u64> {
    let out = ok(bin().args(["image", "info", &s(path)]).output().unwrap(), "image info");
    out.lines()
        .filter(|l| l.trim_start().starts_with("projection "))
        .map(|l| {
            let at = l.find("weight shift ").expect("weight shift") + "weight shift ".len();
            l[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
        })
        .collect()
}

#[test]
fn quantize_writes_the_points_it_reports_and_names_a_population_that_goes_silent() {
    let d = tmpdir("quantize");
    let q = float_and_image(&d, "14", "16");
    let img = &q["image"];
    // the image holds exactly the per-population points the report gives
    let want: Vec<u64> = ["L0", "readout"].iter().map(|p| img["population_fracs"][p].as_u64().unwrap()).collect();
    assert_eq!(image_fracs(&d.join("net.pcimg")), want);
    // each population's point is the largest searched point of its projections; each projection's weight
    // shift brings it to its own searched point (clamped to 0..=15), and the image holds those shifts
    let searched = |n: &str| q["projections"].as_array().unwrap().iter().find(|p| p["name"] == n).unwrap()["frac"].as_i64().unwrap();
    assert_eq!(want[0] as i64, searched("L0.in").max(searched("L0.rec")).clamp(0, 15));
    let mut shifts = Vec::new();
    for n in ["L0.in", "L0.rec"] {
        let s = img["projection_shifts"][n].as_i64().unwrap();
        assert_eq!(img["projection_fracs_written"][n].as_i64().unwrap(), want[0] as i64 - s, "{n}");
        assert_eq!(img["projection_fracs_written"][n].as_i64().unwrap(), searched(n).clamp(0, 15), "{n}");
        shifts.push(s as u64);
    }
    // (this network's input projection searched a point below the recurrent one's: a shift is exercised)
    assert!(shifts.iter().any(|&s| s > 0), "every projection searched the same point: {shifts:?}");
    assert_eq!(image_shifts(&d.join("net.pcimg")), shifts);
    // binary point 15 at 8 bits: every weight clips at ±127·2⁻¹⁵ ≈ 0.0039 and the hidden population goes
    // silent, named in the report and on stderr (at point 0 it survives: 881 of 2048 input weights round
    // to 0, the rest carry it)
    let o = bin()
        .args(["quantize", "--net", &s(&d.join("train_digits_net.json")), "--events", &fixture("digits500-test-50.npz")])
        .args(["--frac-min", "15", "--frac-max", "15", "-o", &s(&d.join("silent.pcimg")), "--drop-bias"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let j = json(&ok(o, "quantize at frac 15"));
    let problems = j["image"]["problems"].as_array().unwrap();
    assert!(problems.iter().any(|p| p.as_str().unwrap().starts_with("L0 goes silent")), "{problems:?}");
    assert!(stderr.contains("warning: image: L0 goes silent"), "{stderr}");
    assert!(d.join("silent.pcimg").exists());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn train_quantize_run_with_on_chip_learning_stays_within_the_stated_gap_of_float() {
    let d = tmpdir("e2e");
    let q = float_and_image(&d, "14", "16");
    let img = &q["image"];
    assert_eq!(img["per_projection_in_image"], serde_json::json!(true));
    assert!(img["problems"].as_array().unwrap().is_empty(), "quantized populations in trouble: {}", img["problems"]);
    let float = q["accuracy_float"].as_f64().unwrap();
    let out = ok(
        bin()
            .args(["run", "--image", &s(&d.join("net.pcimg")), "--events", &fixture("digits500-train-50.npz")])
            .args(["--test-events", &fixture("digits500-test-50.npz"), "--epochs", "2", "--learn", "--backend", "chip", "--preset", "loihi"])
            .args(["-o", &s(&d.join("learnt.pcimg"))])
            .output()
            .unwrap(),
        "run",
    );
    let r = json(&out);
    let fixed = r["accuracy_test_last"].as_f64().unwrap();
    let n = r["test_samples"].as_f64().unwrap();
    // Gap: the two accuracies are estimates on the same n = 200 held-out samples; even two networks of
    // equal true accuracy p differ by more than 2·sqrt(2·p(1−p)/n) (two standard errors of a difference
    // of two binomial estimates) only 5 % of the time, so a larger shortfall is a real loss. At the
    // measured float accuracy (0.81) that is 7.8 points; the measured shortfall is −1.5 (fixed 0.825).
    let gap = 2.0 * (2.0 * float * (1.0 - float) / n).sqrt();
    eprintln!("float {float:.4}, fixed after on-chip learning {fixed:.4}, allowed gap {gap:.4}");
    assert!(float > 0.5, "float accuracy {float}: the float network did not learn (chance 0.1)");
    assert!(fixed >= float - gap, "fixed {fixed} more than {gap} below float {float}");
    // learning happened on the chip: weight updates per learning step, and the learnt image differs
    assert!(r["learning_weight_updates_per_step"].as_f64().unwrap() > 0.0, "no weight updates: {r}");
    assert_ne!(std::fs::read(d.join("learnt.pcimg")).unwrap(), std::fs::read(d.join("net.pcimg")).unwrap(), "learning changed no weight");
    assert!(r["cores"].as_u64().unwrap() >= 2 && r["learning_energy_nj_per_step"].as_f64().unwrap() > 0.0);
    let _ = std::fs::remove_dir_all(&d);
}

/// `quantize -o` at a chosen format configuration: 8-bit traces and a Q.12 state are written into the
/// image (`image info`) and the image learns on the chip. Mutation tried: `FromFloat::base` ignoring
/// `trace_bits` (the image says 16-bit traces: fails).
#[test]
fn quantize_writes_the_chosen_trace_and_state_formats() {
    let d = tmpdir("formats");
    train(&d, &["--n-rec", "32"]);
    quantize(&d, &["--trace-bits", "8", "--state-frac", "12", "--frac-max", "12"]);
    let info = ok(bin().args(["image", "info", &s(&d.join("net.pcimg"))]).output().unwrap(), "image info");
    let pop = info.lines().find(|l| l.trim_start().starts_with("population 0:")).expect("population line");
    assert!(pop.contains("state Q.12, ε^x 8-bit Q.4"), "{pop}");
    let out = ok(
        bin()
            .args(["run", "--image", &s(&d.join("net.pcimg")), "--events", &fixture("digits500-train-50.npz"), "--limit", "10", "--learn"])
            .output()
            .unwrap(),
        "run",
    );
    assert!(json(&out)["learning_weight_updates_per_step"].as_f64().unwrap() > 0.0, "{out}");
    let (code, err) = {
        let o = bin()
            .args(["quantize", "--net", &s(&d.join("train_digits_net.json")), "--events", &fixture("digits500-test-50.npz"), "--trace-bits", "4", "-o", &s(&d.join("x.pcimg"))])
            .output()
            .unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with("error:") && err.contains("--trace-bits") && err.trim_end().lines().count() == 1, "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn chip_and_core_backends_give_the_same_bits() {
    same_bits("backends", &["--n-rec", "32"], false, false);
}

/// The trained biases kept (learnt on the chip's cores, `GraphNetworkSpec::bias`).
#[test]
fn chip_and_core_backends_give_the_same_bits_with_learnt_biases() {
    same_bits("backends-bias", &["--n-rec", "32"], true, false);
}

/// Two populations (32 recurrent → 16 feed-forward): spikes, learning signals and the Symmetric backprop
/// cross cores on the chip.
#[test]
fn chip_and_core_backends_give_the_same_bits_with_two_populations() {
    same_bits("backends2", &["--hidden", "32,16", "--recurrent", "1,0"], false, true);
}

fn same_bits(name: &str, shape: &[&str], keep_bias: bool, mapped: bool) {
    let d = tmpdir(name);
    // a large learning rate, so that learning moves many weights and a wrong bit would show
    train(&d, shape);
    quantize_biases(&d, &["--lr-shift", "8", "--readout-lr-shift", "10"], keep_bias);
    let mut res = Vec::new();
    for be in ["chip", "core"] {
        let out = ok(
            bin()
                .args(["run", "--image", &s(&d.join("net.pcimg")), "--events", &fixture("digits500-train-50.npz"), "--limit", "40"])
                .args(["--test-events", &fixture("digits500-test-50.npz"), "--epochs", "2", "--learn", "--backend", be])
                .args(["-o", &s(&d.join(format!("{be}.pcimg")))])
                .output()
                .unwrap(),
            be,
        );
        res.push((json(&out), std::fs::read(d.join(format!("{be}.pcimg"))).unwrap()));
    }
    let ((cj, cb), (kj, kb)) = (&res[0], &res[1]);
    assert_ne!(cb, &std::fs::read(d.join("net.pcimg")).unwrap(), "learning changed no weight: vacuous");
    assert!(cb == kb, "learnt images differ between chip and core");
    if mapped {
        // `map -o` places the same network one neuron slice per 8 neurons; `run --mapping` learns the same bits
        let m = d.join("mapping.json");
        ok(bin().args(["map", "--image", &s(&d.join("net.pcimg")), "--neurons-per-core", "8", "--steps", "20", "--anneal-steps", "500", "-o", &s(&m)]).output().unwrap(), "map");
        let out = ok(
            bin()
                .args(["run", "--image", &s(&d.join("net.pcimg")), "--events", &fixture("digits500-train-50.npz"), "--limit", "40"])
                .args(["--test-events", &fixture("digits500-test-50.npz"), "--epochs", "2", "--learn", "--backend", "chip"])
                .args(["--mapping", &s(&m), "-o", &s(&d.join("mapped.pcimg")), "--json", &s(&d.join("mapped.json"))])
                .output()
                .unwrap(),
            "run --mapping",
        );
        let _ = out;
        let mj: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("mapped.json")).unwrap()).unwrap();
        assert!(std::fs::read(d.join("mapped.pcimg")).unwrap() == *cb, "learnt image differs with the mapping file");
        assert!(mj["cores"].as_u64().unwrap() > cj["cores"].as_u64().unwrap(), "the mapping file was not used: {mj}");
    }
    for k in ["accuracy_train_per_epoch", "accuracy_test_per_epoch", "rate_learning_per_population", "rate_inference_per_population", "saturations"] {
        assert_eq!(cj[k], kj[k], "{k}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bad_run_arguments_are_one_line_errors() {
    let d = tmpdir("errors");
    let missing = s(&d.join("nope.pcimg"));
    let o = bin().args(["run", "--image", &missing, "--events", &fixture("digits500-train-50.npz")]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("nope.pcimg"), "{err}");
    // an image whose inputs do not match the event file's channels
    std::fs::write(d.join("small.pcimg"), b"").unwrap();
    let o = bin().args(["image", "write", "--preset", "graph2", "--out", &s(&d.join("g2.pcimg"))]).output().unwrap();
    assert!(o.status.success());
    let o = bin().args(["run", "--image", &s(&d.join("g2.pcimg")), "--events", &fixture("digits500-train-50.npz")]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("label 8 but the image's readout has 4 outputs"), "{err}");
    let o = bin().args(["run", "--image", &s(&d.join("small.pcimg")), "--task", "digits"]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("small.pcimg"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

/// The keys of `compare`'s JSON that `hw-notes/pipeline.md` documents (one population, with --learn).
const COMPARE_KEYS: &[&str] = &[
    "accuracy_float", "accuracy_fixed", "accuracy_float_original_weights", "accuracy_tolerance", "accuracy_pass", "output_agreement",
    "output_agreement_floor", "output_agreement_pass", "spike_agreement_L0", "spike_agreement_floor_L0", "spike_agreement_pass_L0",
    "rate_float_L0", "rate_fixed_L0", "weight_drift_cosine", "weight_drift_distance", "weight_drift_norm_float", "weight_drift_norm_fixed",
    "weight_drift_sr_noise", "weight_drift_tolerance", "weight_drift_pass", "grad_samples", "grad_cosine_fixed_float_esd",
    "grad_cosine_fixed_float_esd_tolerance", "grad_cosine_fixed_float_esd_pass", "grad_cosine_fixed_bptt", "grad_cosine_float_esd_bptt",
    "grad_cosine_fixed_bptt_tolerance", "grad_cosine_fixed_bptt_pass", "pass",
];

#[test]
fn compare_float_and_fixed_passes_every_stated_tolerance() {
    let d = tmpdir("compare");
    float_and_image(&d, "12", "14");
    let out = ok(
        bin()
            .args(["compare", "--net", &s(&d.join("train_digits_net.json")), "--image", &s(&d.join("net.pcimg"))])
            .args(["--events", &fixture("digits500-train-50.npz"), "--test-events", &fixture("digits500-test-50.npz"), "--learn"])
            .args(["--json", &s(&d.join("compare.json"))])
            .output()
            .unwrap(),
        "compare",
    );
    let j = json(&out);
    eprintln!("{j}");
    assert_eq!(j, serde_json::from_slice::<serde_json::Value>(&std::fs::read(d.join("compare.json")).unwrap()).unwrap());
    for k in COMPARE_KEYS {
        assert!(j.get(k).is_some(), "compare JSON lacks {k}");
    }
    assert!(j.as_object().unwrap().values().all(|v| !v.is_object() && !v.is_array()), "the schema is flat");
    for k in ["accuracy_pass", "output_agreement_pass", "spike_agreement_pass_L0", "weight_drift_pass", "grad_cosine_fixed_float_esd_pass", "grad_cosine_fixed_bptt_pass"] {
        assert_eq!(j[k], serde_json::json!(true), "{k} failed: {j}");
    }
    // the fixed rule's gradient is the float rule's up to rounding (measured 0.99998 on this network)
    assert!(j["grad_cosine_fixed_float_esd"].as_f64().unwrap() >= 0.95);
    // the learning pass moved weights on both sides
    assert!(j["weight_drift_norm_float"].as_f64().unwrap() > 0.0 && j["weight_drift_norm_fixed"].as_f64().unwrap() > 0.0);
    let _ = std::fs::remove_dir_all(&d);
}

/// `run` and `quantize` read event files through one reader (`cli::events::read_binned`): an event file
/// with no samples is refused by both, by name, before anything is learnt or written.
#[test]
fn an_event_file_without_samples_is_refused_by_run_and_quantize() {
    let d = tmpdir("empty-events");
    let empty = d.join("empty.csv");
    std::fs::write(&empty, "sample,label,t,channel\n").unwrap();
    let o = bin().args(["image", "write", "--preset", "graph2", "--out", &s(&d.join("g2.pcimg"))]).output().unwrap();
    assert!(o.status.success());
    let o = bin()
        .args(["train", "--task", "digits", "--data", &fixture("digits-500.csv.gz"), "--iters", "1", "--batch", "4", "--n-rec", "8"])
        .args(["--steps", "10", "--eval-every", "1", "--seed", "1", "--out", &s(&d)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let runs: [Vec<String>; 2] = [
        ["run", "--image", &s(&d.join("g2.pcimg")), "--events", &s(&empty), "--sensor", "64"].map(String::from).to_vec(),
        ["quantize", "--net", &s(&d.join("train_digits_net.json")), "--events", &s(&empty), "--sensor", "64"].map(String::from).to_vec(),
    ];
    for args in &runs {
        let o = bin().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("empty.csv") && err.contains("no samples"), "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&d);
}
