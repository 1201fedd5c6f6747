//! Self-contained HTML reports (issue 11, item 6): charts inlined as SVG (`plotters`), tables, a mesh heat
//! map; no external asset. The main job (`demo`) writes its report with [`main_job::page`]; `plasticore
//! report` builds one page from the files a run produced.
//!
//! Inputs are recognised by their schema: a JSON file by its `kind` field (the main job's `main.json`,
//! `run --json`, `compare --json`) ([`KINDS`]: one entry per kind,
//! so a new producer adds one line and one section module), a CSV by its header line (the sweep's). A file
//! that is neither is refused with its name.
pub mod chart;
pub mod html;
pub mod main_job;
pub mod pipeline;
pub mod sweep;

use std::path::{Path, PathBuf};

/// Why a report cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// An input could not be read or is not a known kind.
    #[error("{0}")]
    Input(String),
}

/// A JSON input kind: its `kind` value and how to render it (the parsed value and the file's path).
pub type JsonKind = (&'static str, fn(&serde_json::Value, &Path) -> Result<Vec<String>, ReportError>);

/// The JSON kinds `report` knows.
pub const KINDS: &[JsonKind] = &[
    (crate::mainjob::KIND, main_json),
    (pipeline::RUN_KIND, pipeline::run_section),
    (pipeline::COMPARE_KIND, pipeline::compare_section),
];

fn main_json(v: &serde_json::Value, path: &Path) -> Result<Vec<String>, ReportError> {
    let r: crate::mainjob::MainResult =
        serde_json::from_value(v.clone()).map_err(|e| ReportError::Input(format!("{}: kind `{}` but {e}", path.display(), crate::mainjob::KIND)))?;
    let dir = path.parent().map_or_else(PathBuf::new, Path::to_path_buf);
    Ok(main_job::sections(&r, &dir))
}

/// The sections of one input file.
pub fn sections_of(path: &Path) -> Result<Vec<String>, ReportError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ReportError::Input(format!("{name}: {e}")))?;
    let head = text.lines().next().unwrap_or("").trim();
    if head == crate::sweep::output::HEADER {
        let rows = crate::sweep::output::parse_csv(&name, &text).map_err(|e| ReportError::Input(e.to_string()))?;
        return Ok(vec![sweep::section(&name, &rows)]);
    }
    if text.trim_start().starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| ReportError::Input(format!("{name}: not valid JSON: {e}")))?;
        let kind = v.get("kind").and_then(|k| k.as_str()).ok_or_else(|| ReportError::Input(format!("{name}: a JSON file without a `kind` field: not a plasticore output the report knows")))?;
        let (_, render) = KINDS.iter().find(|(k, _)| *k == kind).ok_or_else(|| {
            let known: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
            ReportError::Input(format!("{name}: JSON kind `{kind}` is not one the report knows ({})", known.join(", ")))
        })?;
        return render(&v, path);
    }
    Err(ReportError::Input(format!(
        "{name}: not a report input (a sweep CSV starting with the sweep header, or a JSON file with a known `kind`)"
    )))
}

/// One page from `inputs`, in the order given.
pub fn build(inputs: &[PathBuf]) -> Result<String, ReportError> {
    if inputs.is_empty() {
        return Err(ReportError::Input("no input files: give a sweep CSV and/or JSON outputs (main.json, run --json, compare --json)".into()));
    }
    let mut sections = vec!["<h1>Plasticore report</h1>".to_string()];
    for p in inputs {
        sections.extend(sections_of(p)?);
    }
    Ok(html::page("Plasticore report", &sections))
}
