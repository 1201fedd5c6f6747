//! The sweep's files: `sweep.csv` (one row per grid point, in grid order) and two SVG plots (accuracy and
//! gradient cosine against weight bits, one line per rounding mode / trace bits / state bits; the
//! accuracy after on-chip learning and the same-weights cosine as dashed twins).
//! [`parse_csv`] reads the CSV back (for `report`), checking the header and every field.
use super::{Row, SweepError};
use crate::report::chart::{line_chart, Line};
use std::fmt::Write as _;

/// The CSV header, the schema `report` recognises.
pub const HEADER: &str =
    "weight_bits,readout_bits,trace_bits,trace_frac,state_frac,rounding,learn,weight_frac,readout_frac,clipped,acc_float,acc_fixed,acc_learned,cos_float,cos_same_w";

/// Rows as CSV (accuracies with 4 decimals, cosines with 6; an empty `acc_learned` when learning is off).
pub fn csv(rows: &[Row]) -> String {
    let mut s = String::from(HEADER);
    s.push('\n');
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{:.4},{:.4},{},{:.6},{:.6}",
            r.weight_bits,
            r.readout_bits,
            r.trace_bits,
            r.trace_frac,
            r.state_frac,
            r.rounding,
            r.learn,
            r.weight_frac,
            r.readout_frac,
            r.clipped,
            r.acc_float,
            r.acc_fixed,
            r.acc_learned.map_or(String::new(), |a| format!("{a:.4}")),
            r.cos_float,
            r.cos_same_w
        );
    }
    s
}

/// Parse a sweep CSV; `name` names the file in errors.
pub fn parse_csv(name: &str, text: &str) -> Result<Vec<Row>, SweepError> {
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some(HEADER) {
        return Err(SweepError::Config(format!("{name}: not a sweep CSV (the first line is not the sweep header)")));
    }
    let mut rows = Vec::new();
    for (k, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = |what: &str| SweepError::Config(format!("{name}: line {}: bad {what}", k + 2));
        let f: Vec<&str> = line.trim().split(',').collect();
        if f.len() != 15 {
            return Err(SweepError::Config(format!("{name}: line {}: {} fields, expected 15", k + 2, f.len())));
        }
        let u8_ = |i: usize, w: &str| f[i].parse::<u8>().map_err(|_| at(w));
        let f64_ = |i: usize, w: &str| f[i].parse::<f64>().map_err(|_| at(w));
        let rounding = super::RoundingMode::parse(f[5]).ok_or_else(|| at("rounding"))?;
        rows.push(Row {
            weight_bits: u8_(0, "weight_bits")?,
            readout_bits: u8_(1, "readout_bits")?,
            trace_bits: u8_(2, "trace_bits")?,
            trace_frac: u8_(3, "trace_frac")?,
            state_frac: u8_(4, "state_frac")?,
            rounding: rounding.name().into(),
            learn: f[6].parse().map_err(|_| at("learn"))?,
            weight_frac: u8_(7, "weight_frac")?,
            readout_frac: u8_(8, "readout_frac")?,
            clipped: f[9].parse().map_err(|_| at("clipped"))?,
            acc_float: f64_(10, "acc_float")?,
            acc_fixed: f64_(11, "acc_fixed")?,
            acc_learned: if f[12].is_empty() { None } else { Some(f64_(12, "acc_learned")?) },
            cos_float: f64_(13, "cos_float")?,
            cos_same_w: f64_(14, "cos_same_w")?,
        });
    }
    if rows.is_empty() {
        return Err(SweepError::Config(format!("{name}: a sweep CSV without rows")));
    }
    Ok(rows)
}

/// Rows grouped into lines: rounding, trace and state bits fixed (learning on and off share a line:
/// inference and the cosines do not depend on it), in the rows' order.
fn groups(rows: &[Row]) -> Vec<(String, Vec<&Row>)> {
    let mut out: Vec<(String, Vec<&Row>)> = Vec::new();
    for r in rows {
        let k = format!("{}, trace {} b, Q.{}", r.rounding, r.trace_bits, r.state_frac);
        match out.iter_mut().find(|(g, _)| *g == k) {
            Some((_, v)) => v.push(r),
            None => out.push((k, vec![r])),
        }
    }
    out
}

/// One point per weight width (the first row of that width), in the rows' order.
fn per_bits(g: &[&Row], y: impl Fn(&Row) -> Option<f64>) -> Vec<(f64, f64)> {
    let mut seen = Vec::new();
    let mut pts = Vec::new();
    for r in g {
        if let Some(v) = y(r) {
            if !seen.contains(&r.weight_bits) {
                seen.push(r.weight_bits);
                pts.push((r.weight_bits as f64, v));
            }
        }
    }
    pts
}

/// Accuracy against weight bits: per line the quantized trained network (solid) and, when learning is
/// on, the accuracy after on-chip learning (dashed); the float reference as a last dashed line.
pub fn accuracy_plot(rows: &[Row]) -> String {
    let mut lines = Vec::new();
    for (k, g) in groups(rows) {
        lines.push(Line { label: format!("inference: {k}"), points: per_bits(&g, |r| Some(r.acc_fixed)), dashed: false, twin: false });
        let learned = per_bits(&g, |r| r.acc_learned);
        if !learned.is_empty() {
            lines.push(Line { label: format!("on-chip learning: {k}"), points: learned, dashed: true, twin: true });
        }
    }
    let xs: Vec<f64> = rows.iter().map(|r| r.weight_bits as f64).collect();
    let (lo, hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    if let Some(r) = rows.first() {
        lines.push(Line { label: "float reference".into(), points: vec![(lo, r.acc_float), (hi, r.acc_float)], dashed: true, twin: false });
    }
    line_chart("Held-out accuracy against weight bits", "hidden weight bits", "accuracy", &lines, None)
}

/// Gradient cosine against weight bits: to the float rule on the float weights (solid) and on the
/// dequantized weights (dashed).
pub fn cosine_plot(rows: &[Row]) -> String {
    let mut lines = Vec::new();
    for (k, g) in groups(rows) {
        lines.push(Line { label: format!("vs float weights: {k}"), points: per_bits(&g, |r| Some(r.cos_float)), dashed: false, twin: false });
        lines.push(Line { label: format!("vs same weights: {k}"), points: per_bits(&g, |r| Some(r.cos_same_w)), dashed: true, twin: true });
    }
    line_chart("Cosine of fixed to float ES-D-RTRL updates", "hidden weight bits", "cosine", &lines, Some((1.0, 1.0)))
}
