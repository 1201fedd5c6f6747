//! `plasticore report`: one self-contained, well-formed HTML page from the committed fixture outputs of a
//! sweep and of the main job, with every plot and table; inputs it does not know are refused naming the file.
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report").join(name)
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("plasticore-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn report(out: &Path, inputs: &[&Path]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_plasticore"))
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .arg("report")
        .arg("--out")
        .arg(out)
        .args(inputs)
        .output()
        .unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// Every element closed in order (void elements and `/>` aside); returns the first problem.
fn well_formed(html: &str) -> Result<(), String> {
    const VOID: [&str; 6] = ["meta", "br", "hr", "img", "input", "link"];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        let j = rest[i..].find('>').ok_or_else(|| format!("unclosed tag at …{}", &rest[i..(i + 40).min(rest.len())]))? + i;
        let tag = &rest[i + 1..j];
        rest = &rest[j + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let name: String = tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if name.is_empty() {
            return Err(format!("bad tag <{tag}>"));
        }
        if tag.starts_with('/') {
            match stack.pop() {
                Some(open) if open == name => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
        } else if !tag.ends_with('/') && !VOID.contains(&name.as_str()) {
            stack.push(name);
        }
    }
    if stack.is_empty() {
        Ok(())
    } else {
        Err(format!("unclosed: {stack:?}"))
    }
}

/// Mutations tried: leaving the mesh section out of `report::main_job::sections` (fails on "core use"),
/// dropping `</tr>` from `report::html::table` (fails the well-formedness check), an empty `KINDS` (the
/// main.json is refused).
#[test]
fn report_from_a_sweep_and_a_main_job_has_every_plot_and_table() {
    let dir = out_dir("full");
    let (code, stdout, stderr) = report(&dir, &[&fixture("sweep.csv"), &fixture("main.json")]);
    assert_eq!(code, 0, "{stderr}");
    let path = dir.join("report.html");
    assert_eq!(stdout.lines().last(), Some(format!("report: {}", path.display()).as_str()));
    assert!(!dir.join("report.html.tmp").exists());
    let html = std::fs::read_to_string(&path).unwrap();
    well_formed(&html).unwrap();
    // self-contained: nothing loaded from elsewhere, no script
    for bad in ["<script", "<link", " src=", " href=", "<img"] {
        assert!(!html.contains(bad), "report contains {bad}");
    }
    // plots: two from the sweep, two from the main job, inline
    assert_eq!(html.matches("<svg").count(), 4);
    for title in [
        "Held-out accuracy against weight bits",
        "Cosine of fixed to float ES-D-RTRL updates",
        "Held-out accuracy while learning on-chip",
        "Training loss (recall steps)",
    ] {
        assert!(html.contains(title), "no plot {title}");
    }
    // tables: the sweep's (one row per CSV row), chip cost by phase, the mesh heat maps, NeuroBench's names
    let sweep_rows = std::fs::read_to_string(fixture("sweep.csv")).unwrap().lines().count() - 1;
    assert_eq!(html.matches("<td>stochastic</td>").count(), sweep_rows);
    for needle in [
        "Chip cost per timestep",
        "&nbsp;&nbsp;deliver",
        "&nbsp;&nbsp;integrate",
        "&nbsp;&nbsp;fire",
        "&nbsp;&nbsp;route",
        "&nbsp;&nbsp;learn",
        "&nbsp;&nbsp;integrate (busiest core)",
        "&nbsp;&nbsp;barrier",
        "core use: busy fraction",
        "link load: packets leaving the tile",
        "footprint",
        "connection sparsity",
        "activation sparsity",
        "effective ACs",
        "MACs",
        "classification accuracy",
    ] {
        assert!(html.contains(needle), "report lacks {needle}");
    }
    // the heat maps are the loihi mesh: 8 × 4 tiles each
    assert_eq!(html.matches("<table class=\"heat\">").count(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The pipeline's outputs (`run --json`, `compare --json`): the accuracy chart, the run's cost table, and
/// every compare check with its tolerance and result. Mutations tried: the compare kind left out of
/// `KINDS` (refused), the spike-agreement rows skipped in `report::pipeline::compare_section` (fails on
/// "spike agreement L0").
#[test]
fn report_from_run_and_compare_has_the_accuracy_chart_and_every_check() {
    let dir = out_dir("pipeline");
    let (code, _, stderr) = report(&dir, &[&fixture("run.json"), &fixture("compare.json")]);
    assert_eq!(code, 0, "{stderr}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    well_formed(&html).unwrap();
    assert_eq!(html.matches("<svg").count(), 1);
    assert!(html.contains("Accuracy per epoch"));
    for needle in ["learning_cycles_per_step", "learning_energy_nj_per_step", "inference_cycles_per_step", "<td>cores</td><td>2</td>"] {
        assert!(html.contains(needle), "report lacks {needle}");
    }
    let cmp: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture("compare.json")).unwrap()).unwrap();
    let checks = cmp.as_object().unwrap().keys().filter(|k| k.contains("pass") && *k != "pass").count();
    assert_eq!(html.matches("<td>pass</td>").count(), checks, "one row per check");
    for needle in ["accuracy (fixed", "output agreement", "weight drift", "fixed vs float ES-D-RTRL", "fixed vs BPTT", "spike agreement L0"] {
        assert!(html.contains(needle), "report lacks {needle}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_main_jobs_own_report_is_well_formed() {
    let json: plasticore::mainjob::MainResult = serde_json::from_str(&std::fs::read_to_string(fixture("main.json")).unwrap()).unwrap();
    let html = plasticore::report::main_job::page(&json, Path::new("out/main"));
    well_formed(&html).unwrap();
    assert_eq!(html.matches("<svg").count(), 2);
}

/// Mutation tried: returning an empty section list for an unknown input instead of the error — every case
/// then exits 0 and fails.
#[test]
fn inputs_it_does_not_know_are_refused_naming_the_file() {
    let dir = out_dir("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let txt = write("notes.txt", "hello\n");
    let nokind = write("nokind.json", "{\"curve\": []}");
    let unknown = write("other.json", "{\"kind\": \"plasticore-unknown\"}");
    let cmpbad = write("compare-bad.json", "{\"kind\": \"plasticore-compare\"}");
    let badjson = write("broken.json", "{\"kind\": ");
    let mainbad = write("main-bad.json", "{\"kind\": \"plasticore-main\", \"schema\": 1}");
    let header = std::fs::read_to_string(fixture("sweep.csv")).unwrap().lines().next().unwrap().to_string();
    let badcsv = write("bad.csv", &format!("{header}\n4,4,8,4,16,stochastic,true,2,8,0,x,0.5,,0.9,0.9\n"));
    let missing = dir.join("missing.csv");
    for (p, needle) in [
        (&txt, "not a report input"),
        (&nokind, "without a `kind` field"),
        (&unknown, "JSON kind `plasticore-unknown` is not one the report knows"),
        (&cmpbad, "kind `plasticore-compare` but no checks"),
        (&badjson, "not valid JSON"),
        (&mainbad, "kind `plasticore-main` but"),
        (&badcsv, "line 2: bad acc_float"),
        (&missing, "missing.csv"),
    ] {
        let (code, _, err) = report(&dir.join("out"), &[&fixture("main.json"), p]);
        assert_eq!(code, 1, "{}: {err}", p.display());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: ") && err.contains(&p.display().to_string()) && err.contains(needle), "{}: {err}", p.display());
    }
    assert!(!dir.join("out/report.html").exists(), "nothing is written when an input is refused");
    let (code, _, err) = report(&dir.join("out"), &[]);
    assert_eq!(code, 2, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
