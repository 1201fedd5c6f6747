//! Minimal SVG line plots and atomic file writes for the study commands (no system fonts or libraries).
use super::RefError;
use std::fmt::Write as _;
use std::path::Path;

/// One line of a plot.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// (x, y) points, drawn in order.
    pub points: Vec<(f64, f64)>,
    /// Dashed line.
    pub dashed: bool,
}

/// Axis scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Linear.
    Linear,
    /// Base-10 logarithmic (values must be > 0).
    Log,
}

const COLORS: [&str; 10] =
    ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/// Render series as an SVG line chart.
pub fn line_chart(title: &str, xlabel: &str, ylabel: &str, series: &[Series], xs: Scale, ys: Scale) -> String {
    line_chart_y(title, xlabel, ylabel, series, xs, ys, None)
}

/// [`line_chart`] with the y range widened to include `y_range` (e.g. 0..1 for an accuracy, so that
/// noise is not magnified), in data units.
pub fn line_chart_y(title: &str, xlabel: &str, ylabel: &str, series: &[Series], xs: Scale, ys: Scale, y_range: Option<(f64, f64)>) -> String {
    let (w, h, ml, mr, mt, mb) = (760.0, 480.0, 70.0, 230.0, 40.0, 50.0);
    let tx = |v: f64, s: Scale| if s == Scale::Log { v.max(1e-300).log10() } else { v };
    let pts: Vec<(f64, f64)> =
        series.iter().flat_map(|s| s.points.iter().map(|&(x, y)| (tx(x, xs), tx(y, ys)))).filter(|p| p.0.is_finite() && p.1.is_finite()).collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in &pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if let Some((a, b)) = y_range {
        y0 = y0.min(tx(a, ys));
        y1 = y1.max(tx(b, ys));
    }
    if x1 - x0 < 1e-12 {
        x1 = x0 + 1.0;
    }
    if y1 - y0 < 1e-12 {
        y1 = y0 + 1.0;
    }
    let pad = 0.05 * (y1 - y0);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let px = |x: f64| ml + (x - x0) / (x1 - x0) * (w - ml - mr);
    let py = |y: f64| h - mb - (y - y0) / (y1 - y0) * (h - mt - mb);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"#,
        (ml + w - mr) / 2.0,
        esc(title)
    );
    let _ = write!(s, r#"<rect x="{ml}" y="{mt}" width="{}" height="{}" fill="none" stroke="black"/>"#, w - ml - mr, h - mt - mb);
    for q in 0..=5 {
        let fx = x0 + (x1 - x0) * q as f64 / 5.0;
        let fy = y0 + (y1 - y0) * q as f64 / 5.0;
        let lx = if xs == Scale::Log { 10f64.powf(fx) } else { fx };
        let ly = if ys == Scale::Log { 10f64.powf(fy) } else { fy };
        let _ = write!(s, r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#, px(fx), h - mb + 16.0, fmt(lx));
        let _ = write!(s, r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#, ml - 5.0, py(fy) + 4.0, fmt(ly));
        let _ = write!(s, r##"<line x1="{ml}" x2="{}" y1="{}" y2="{}" stroke="#ddd"/>"##, w - mr, py(fy), py(fy));
    }
    let _ = write!(s, r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#, (ml + w - mr) / 2.0, h - 12.0, esc(xlabel));
    let _ = write!(s, r#"<text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">{}</text>"#, h / 2.0, h / 2.0, esc(ylabel));
    for (k, se) in series.iter().enumerate() {
        let c = COLORS[k % COLORS.len()];
        let d: Vec<String> = se
            .points
            .iter()
            .map(|&(x, y)| (tx(x, xs), tx(y, ys)))
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let dash = if se.dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let _ = write!(s, r#"<polyline fill="none" stroke="{c}" stroke-width="2"{dash} points="{}"/>"#, d.join(" "));
        for p in &d {
            let (a, b) = p.split_once(',').unwrap_or(("0", "0"));
            let _ = write!(s, r#"<circle cx="{a}" cy="{b}" r="2.5" fill="{c}"/>"#);
        }
        let ly = mt + 14.0 + 16.0 * k as f64;
        let _ = write!(s, r#"<line x1="{}" x2="{}" y1="{ly}" y2="{ly}" stroke="{c}" stroke-width="2"{dash}/>"#, w - mr + 10.0, w - mr + 34.0);
        let _ = write!(s, r#"<text x="{}" y="{}">{}</text>"#, w - mr + 40.0, ly + 4.0, esc(&se.label));
    }
    s.push_str("</svg>\n");
    s
}

fn fmt(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e4 || v.abs() < 1e-2) {
        format!("{v:.1e}")
    } else {
        format!("{:.3}", v).trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Write `contents` to `path` atomically (write `path.tmp`, then rename), creating parent directories.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), RefError> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| RefError::File(format!("{}: {e}", dir.display())))?;
        }
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, contents).map_err(|e| RefError::File(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| RefError::File(format!("{}: {e}", path.display())))
}
