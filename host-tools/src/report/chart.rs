//! Charts for the reports: line charts drawn with `plotters` into an SVG string (inlined in the HTML; text
//! stays `<text>`, so no font files are read), and a mesh heat map as an HTML grid.
use plotters::prelude::*;
use std::fmt::Write as _;

/// One line of a chart.
#[derive(Clone, Debug)]
pub struct Line {
    /// Legend label.
    pub label: String,
    /// (x, y) points, drawn in order; non-finite points are left out.
    pub points: Vec<(f64, f64)>,
    /// Dashed (float references, second measures).
    pub dashed: bool,
    /// Drawn in the colour of the line before it (the same configuration, another measure).
    pub twin: bool,
}

/// Size of a chart in pixels, and the legend column's width.
const WIDTH: u32 = 1000;
const HEIGHT: u32 = 480;
/// Vertical space of one legend entry.
const ENTRY: u32 = 18;
const LEGEND: u32 = 340;

const COLORS: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// A line chart as one `<svg>` element. `y_range` widens the y axis to include it (0..1 for an
/// accuracy, so that noise is not magnified). Colours repeat after ten lines; a `twin` line takes the
/// colour of the line before it. The legend is a column right of the plot.
pub fn line_chart(title: &str, xlabel: &str, ylabel: &str, lines: &[Line], y_range: Option<(f64, f64)>) -> String {
    let pts = || lines.iter().flat_map(|l| l.points.iter().copied()).filter(|p| p.0.is_finite() && p.1.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for (x, y) in pts() {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if let Some((a, b)) = y_range {
        (y0, y1) = (y0.min(a), y1.max(b));
    }
    if x1 - x0 < 1e-12 {
        x1 = x0 + 1.0;
    }
    if y1 - y0 < 1e-12 {
        y1 = y0 + 1.0;
    }
    let pad = 0.05 * (y1 - y0);
    let mut s = String::new();
    // Drawing into a String cannot fail; an error would only lose the chart, so it becomes a note.
    if let Err(e) = draw(&mut s, title, xlabel, ylabel, lines, (x0, x1), (y0 - pad, y1 + pad)) {
        s = format!("<p>chart {title}: {e}</p>");
    }
    s.push('\n');
    s
}

fn draw(s: &mut String, title: &str, xlabel: &str, ylabel: &str, lines: &[Line], xr: (f64, f64), yr: (f64, f64)) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    // the chart grows when the legend needs more room than its height
    let height = HEIGHT.max(60 + ENTRY * lines.len() as u32);
    let root = SVGBackend::with_string(s, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    // the plot on the left, the legend in its own column on the right (never over the lines)
    let (plot, legend) = root.split_horizontally(WIDTH - LEGEND);
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(62)
        .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
        .map_err(|x| e(&x))?;
    chart.configure_mesh().x_desc(xlabel).y_desc(ylabel).light_line_style(RGBColor(0xee, 0xee, 0xee)).draw().map_err(|x| e(&x))?;
    let mut colour = 0usize;
    for (k, l) in lines.iter().enumerate() {
        if k > 0 && !l.twin {
            colour += 1;
        }
        let c = COLORS[colour % COLORS.len()];
        let style = ShapeStyle { color: c.to_rgba(), filled: false, stroke_width: 2 };
        let p: Vec<(f64, f64)> = l.points.iter().copied().filter(|p| p.0.is_finite() && p.1.is_finite()).collect();
        if l.dashed {
            chart.draw_series(DashedLineSeries::new(p.clone(), 6, 4, style)).map_err(|x| e(&x))?;
        } else {
            chart.draw_series(LineSeries::new(p.clone(), style)).map_err(|x| e(&x))?;
        }
        chart.draw_series(p.iter().map(|&q| Circle::new(q, 3, c.filled()))).map_err(|x| e(&x))?;
        // legend entry: a solid or dashed sample and the label
        let y = 44 + (ENTRY as usize * k) as i32;
        let segs: &[(i32, i32)] = if l.dashed { &[(4, 12), (18, 26)] } else { &[(4, 26)] };
        for &(a, b) in segs {
            legend.draw(&PathElement::new(vec![(a, y), (b, y)], style)).map_err(|x| e(&x))?;
        }
        legend.draw(&Text::new(l.label.clone(), (32, y - 6), ("sans-serif", 12))).map_err(|x| e(&x))?;
    }
    root.present().map_err(|x| e(&x))?;
    Ok(())
}

/// Background colour for a value in 0..=1 (white → dark red).
fn heat(v: f64) -> String {
    let v = if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 };
    let g = (255.0 - 200.0 * v) as u8;
    let b = (255.0 - 230.0 * v) as u8;
    format!("rgb(255,{g},{b})")
}

/// A heat map of a mesh as an HTML grid: one cell per tile (row y, column x), coloured by `value / max`,
/// with the cell's `text`. `cell(x, y) -> (value, text)`.
pub fn mesh_heat_map(caption: &str, width: u32, height: u32, cell: impl Fn(u32, u32) -> (f64, String)) -> String {
    let cells: Vec<Vec<(f64, String)>> = (0..height).map(|y| (0..width).map(|x| cell(x, y)).collect()).collect();
    let max = cells.iter().flatten().map(|c| c.0).fold(0.0f64, f64::max);
    let mut h = format!("<table class=\"heat\"><caption>{}</caption><tr><th>y \\ x</th>", super::html::esc(caption));
    for x in 0..width {
        let _ = write!(h, "<th>{x}</th>");
    }
    h.push_str("</tr>");
    for (y, row) in cells.iter().enumerate() {
        let _ = write!(h, "<tr><th>{y}</th>");
        for (v, t) in row {
            let _ = write!(h, "<td style=\"background:{}\">{}</td>", heat(if max > 0.0 { v / max } else { 0.0 }), t);
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    h
}
