//! `plasticore emulate --image FILE`: any image on a chip preset, with cycles, energy and link hot spots
//! per population. Questions answered:
//! * does the two-layer firmware image, split over cores, report every population's cycles and energy by
//!   phase, its packets, and hot links with the populations that use them (JSON)?
//! * is the run the host's: `--steps`, `--learn` on the image's stimulus give the RESULT line of
//!   `image run` on the same image written with that many steps?
//! * are bad arguments and images that do not fit refused with what is wrong (preset, population, limit)?
use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_plasticore"))
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn err(o: Output) -> String {
    assert!(!o.status.success(), "expected a failure, got: {}", String::from_utf8_lossy(&o.stdout));
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn graph2() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware/images/graph2.pcimg").to_string_lossy().to_string()
}

#[test]
fn graph_image_reports_cycles_energy_and_hot_links_per_population() {
    let out = ok(bin().args(["emulate", "--image", &graph2(), "--steps", "60", "--learn", "--split", "--json"]).output().unwrap());
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let pops = j["populations"].as_array().unwrap();
    assert_eq!(pops.len(), 3, "two populations and the readout's own core: {out}");
    for (k, p) in pops.iter().take(2).enumerate() {
        assert_eq!(p["name"], format!("population {k}"));
        assert_eq!(p["cores"], 2, "split: {out}");
        for phase in ["integrate", "fire", "learn"] {
            assert!(p["busy_cycles_per_step"][phase].as_f64().unwrap() > 0.0, "population {k} {phase}: {out}");
            assert!(p["energy_nj_per_step"][phase].as_f64().unwrap() > 0.0, "population {k} {phase}: {out}");
        }
        assert!(p["spike_packets_per_step"].as_f64().unwrap() > 0.0);
        // Both layers learn from the within-step backprop: λ words travel to their cores.
        assert!(p["signal_packets_per_step"].as_f64().unwrap() > 0.0, "{out}");
    }
    // Population 0 (96 neurons) and population 1 (64) send as many spike packets as their spikes times
    // their cores' destinations: the split run's packets are all attributed.
    let attributed: f64 = pops.iter().map(|p| p["spike_packets_per_step"].as_f64().unwrap() + p["signal_packets_per_step"].as_f64().unwrap()).sum();
    assert!((attributed * 60.0 - j["packets"].as_f64().unwrap()).abs() < 1e-6, "{out}");
    let hot = j["hot_links"].as_array().unwrap();
    assert!(!hot.is_empty(), "one core per tile: packets cross links");
    for h in hot {
        let by: u64 = h["by"].as_array().unwrap().iter().map(|b| b["packets"].as_u64().unwrap()).sum();
        assert_eq!(by, h["packets"].as_u64().unwrap(), "a link's packets are split over populations: {h}");
    }
    assert!(hot.windows(2).all(|w| w[0]["packets"].as_u64() >= w[1]["packets"].as_u64()), "busiest first");
}

#[test]
fn emulate_image_is_the_hosts_run() {
    let d = std::env::temp_dir().join(format!("plasticore-emulate-image-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let ip = d.join("g60.pcimg").to_string_lossy().to_string();
    ok(bin().args(["image", "write", "--preset", "graph2", "--steps", "60", "--out", &ip]).output().unwrap());
    let host = ok(bin().args(["image", "run", &ip]).output().unwrap());
    let emu = ok(bin().args(["emulate", "--image", &graph2(), "--steps", "60", "--learn", "--split"]).output().unwrap());
    let line = emu.lines().find(|l| l.starts_with("emulator RESULT")).unwrap_or_else(|| panic!("{emu}"));
    assert_eq!(line.trim_start_matches("emulator "), host.trim());
    assert!(emu.contains("population 1 on 2 core(s)") && emu.contains("link hot spots"), "{emu}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn emulate_image_errors_name_what_is_wrong() {
    let e = err(bin().args(["emulate", "--image", &graph2(), "--preset", "loihi9"]).output().unwrap());
    assert!(e.contains("unknown preset `loihi9`") && e.contains("loihi-xl"), "{e}");
    // 8-bit weights on a chip that stores 6: the population and the limit are named.
    let e = err(bin().args(["emulate", "--image", &graph2(), "--preset", "brainscales2"]).output().unwrap());
    assert!(e.contains("does not fit") && e.contains("population 0") && e.contains("weight bits"), "{e}");
    let e = err(bin().args(["emulate", "--image", &graph2(), "--input-rate", "1.5"]).output().unwrap());
    assert!(e.contains("--input-rate 1.5"), "{e}");
    let e = err(bin().args(["emulate", "--image", "/nonexistent/x.pcimg"]).output().unwrap());
    assert!(e.contains("/nonexistent/x.pcimg"), "{e}");
    let e = err(bin().args(["emulate", "--image", &format!("{}/Cargo.toml", env!("CARGO_MANIFEST_DIR"))]).output().unwrap());
    assert!(e.contains("Cargo.toml"), "{e}");
}
