//! Sections for the pipeline's outputs: `plasticore run --json` (kind [`RUN_KIND`]) and `plasticore compare
//! --json` (kind [`COMPARE_KIND`]); their flat schemas are in `hw-notes/pipeline.md`.
use super::chart::{line_chart, Line};
use super::html::{esc, table};
use super::ReportError;
use serde_json::Value;
use std::path::Path;

/// `kind` of `plasticore run --json`.
pub const RUN_KIND: &str = "plasticore-run";
/// `kind` of `plasticore compare --json`.
pub const COMPARE_KIND: &str = "plasticore-compare";

fn num(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "–".into(),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if n.is_f64() => format!("{x:.4}"),
            _ => n.to_string(),
        },
        Some(Value::String(s)) => esc(s),
        Some(o) => esc(&o.to_string()),
    }
}

fn series(v: &Value, k: &str, path: &Path) -> Result<Vec<f64>, ReportError> {
    match v.get(k) {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_f64().ok_or_else(|| ReportError::Input(format!("{}: `{k}` holds a non-number", path.display()))))
            .collect(),
        Some(_) => Err(ReportError::Input(format!("{}: `{k}` is not an array", path.display()))),
    }
}

/// A `run` output: accuracy per epoch (learning and held out) and the chip's cost per timestep.
pub fn run_section(v: &Value, path: &Path) -> Result<Vec<String>, ReportError> {
    let train = series(v, "accuracy_train_per_epoch", path)?;
    let test = series(v, "accuracy_test_per_epoch", path)?;
    // the held-out list starts with epoch 0 (before learning) when learning ran and a held-out set was given
    let test_first = if test.len() > train.len() { 0.0 } else { 1.0 };
    let mut lines = vec![Line { label: "while learning".into(), points: train.iter().enumerate().map(|(i, a)| (i as f64 + 1.0, *a)).collect(), dashed: false, twin: false }];
    if !test.is_empty() {
        lines.push(Line { label: "held out".into(), points: test.iter().enumerate().map(|(i, a)| (i as f64 + test_first, *a)).collect(), dashed: true, twin: false });
    }
    let keys = [
        "backend", "preset", "cores", "data", "learn", "epochs", "train_samples", "test_samples", "accuracy_train_last", "accuracy_test_last",
        "learning_cycles_per_step", "learning_energy_nj_per_step", "learning_packets_per_step", "learning_weight_updates_per_step",
        "inference_cycles_per_step", "inference_energy_nj_per_step", "inference_packets_per_step", "inference_syn_events_per_step",
    ];
    let rows: Vec<Vec<String>> = keys.iter().filter(|k| v.get(**k).is_some()).map(|k| vec![k.to_string(), cell(v.get(*k))]).collect();
    Ok(vec![format!(
        "<h2>Run: {}</h2><p class=\"note\">From <code>{}</code>.</p>{}{}",
        esc(v.get("image").and_then(Value::as_str).unwrap_or("image")),
        esc(&path.display().to_string()),
        line_chart("Accuracy per epoch", "epoch", "accuracy", &lines, Some((0.0, 1.0))),
        table(&["figure", "value"], &rows)
    )])
}

/// A `compare` output: every check with its value, its tolerance (or floor) and pass/fail.
pub fn compare_section(v: &Value, path: &Path) -> Result<Vec<String>, ReportError> {
    let obj = v.as_object().ok_or_else(|| ReportError::Input(format!("{}: not a JSON object", path.display())))?;
    // (check, value key, tolerance key) in the schema's names; per-population spike agreement by suffix
    let mut checks: Vec<(String, String, String, String)> = vec![
        ("accuracy (fixed ≥ float − tolerance)".into(), "accuracy_fixed".into(), "accuracy_tolerance".into(), "accuracy_pass".into()),
        ("output agreement (> floor)".into(), "output_agreement".into(), "output_agreement_floor".into(), "output_agreement_pass".into()),
        ("weight drift distance (≤ tolerance)".into(), "weight_drift_distance".into(), "weight_drift_tolerance".into(), "weight_drift_pass".into()),
        ("gradient cosine fixed vs float ES-D-RTRL (≥)".into(), "grad_cosine_fixed_float_esd".into(), "grad_cosine_fixed_float_esd_tolerance".into(), "grad_cosine_fixed_float_esd_pass".into()),
        ("gradient cosine fixed vs BPTT (≥)".into(), "grad_cosine_fixed_bptt".into(), "grad_cosine_fixed_bptt_tolerance".into(), "grad_cosine_fixed_bptt_pass".into()),
    ];
    let mut pops: Vec<&String> = obj.keys().filter(|k| k.starts_with("spike_agreement_pass_")).collect();
    pops.sort();
    for k in pops {
        let p = &k["spike_agreement_pass_".len()..];
        checks.push((format!("spike agreement {p} (> floor)"), format!("spike_agreement_{p}"), format!("spike_agreement_floor_{p}"), k.clone()));
    }
    let rows: Vec<Vec<String>> = checks
        .iter()
        .filter(|(_, _, _, pass)| obj.contains_key(pass))
        .map(|(name, val, tol, pass)| {
            let ok = obj.get(pass).and_then(Value::as_bool);
            vec![esc(name), cell(obj.get(val)), cell(obj.get(tol)), match ok { Some(true) => "pass".into(), Some(false) => "<b>FAIL</b>".into(), None => "–".into() }]
        })
        .collect();
    if rows.is_empty() {
        return Err(ReportError::Input(format!("{}: kind `{COMPARE_KIND}` but no checks (`*_pass` fields)", path.display())));
    }
    let acc = |k: &str| num(v, k).map_or("–".into(), |a| format!("{:.1} %", 100.0 * a));
    Ok(vec![format!(
        "<h2>Float vs fixed point: {}</h2><p class=\"note\">From <code>{}</code>: the float on-chip rule and the \
fixed-point {} from the same weights on {} samples. Accuracy float {}, fixed {}; all checks: {}.</p>{}",
        esc(v.get("image").and_then(Value::as_str).unwrap_or("image")),
        esc(&path.display().to_string()),
        esc(v.get("backend").and_then(Value::as_str).unwrap_or("network")),
        cell(v.get("eval_samples")),
        acc("accuracy_float"),
        acc("accuracy_fixed"),
        match v.get("pass").and_then(Value::as_bool) { Some(true) => "pass", Some(false) => "<b>FAIL</b>", None => "–" },
        table(&["check", "value", "tolerance / floor", "result"], &rows)
    )])
}
