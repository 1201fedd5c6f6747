//! The main job's sections (`mainjob::MainResult`, JSON kind `plasticore-main`): learning curves float vs
//! fixed, chip cost per timestep by phase, core use and link load on the mesh, NeuroBench-named metrics.
//! `demo` writes its `report.html` with [`page`]; `report` renders the same sections from `main.json`.
use super::chart::{line_chart, mesh_heat_map, Line};
use super::html::{esc, page as html_page};
use crate::mainjob::{MainResult, Point, CORES, HIDDEN, INPUTS, OUTPUTS};
use plasticore_emu::observe::PHASES;
use std::fmt::Write as _;
use std::path::Path;

/// The main job's own report: its sections on a page. `out` is the run's output directory (for the
/// reproduce line).
pub fn page(r: &MainResult, out: &Path) -> String {
    html_page("Plasticore: on-chip learning report", &sections(r, out))
}

fn last(r: &MainResult) -> Point {
    r.curve.last().copied().unwrap_or(Point { trials: 0, acc_float: 0.0, acc_chip: 0.0, loss_float: None, loss_chip: None })
}

/// The sections, in order: summary, learning curves, chip cost, mesh, NeuroBench metrics, reproduce.
pub fn sections(r: &MainResult, out: &Path) -> Vec<String> {
    vec![summary(r), curves(r), cost(r), mesh(r), neurobench(r), reproduce(r, out)]
}

fn summary(r: &MainResult) -> String {
    let l = last(r);
    format!(
        "<h1>On-chip learning: evidence accumulation on the emulated <code>{preset}</code> chip</h1>\
<p>{INPUTS} inputs → {HIDDEN} recurrent LIF neurons → {OUTPUTS} leaky readouts, learning online with ES-D-RTRL \
(symmetric feedback, softmax cross-entropy during the recall, stochastic-rounding weight updates on 8-bit weights), \
next to the float on-chip rule on the same trials from the same initial weights. {train} training trials of {steps} \
timesteps, held-out accuracy on {test} trials after every {block} trials.</p>\
<table><tr><th>final held-out accuracy</th><th>float</th><th>fixed point on chip</th><th>gap</th></tr>\
<tr><td>after {trials} trials</td><td>{af:.1} %</td><td>{ac:.1} %</td><td>{gap:+.1} points</td></tr></table>",
        preset = esc(&r.preset),
        train = r.run.train_trials,
        steps = r.steps_per_trial,
        test = r.run.test_trials,
        block = r.run.block,
        trials = l.trials,
        af = 100.0 * l.acc_float,
        ac = 100.0 * l.acc_chip,
        gap = 100.0 * (l.acc_chip - l.acc_float),
    )
}

fn curves(r: &MainResult) -> String {
    let pts = |f: fn(&Point) -> Option<f64>| r.curve.iter().filter_map(|p| f(p).map(|y| (p.trials as f64, y))).collect::<Vec<_>>();
    let chip = format!("fixed point on {}", r.preset);
    let acc = line_chart(
        "Held-out accuracy while learning on-chip",
        "training trials",
        "accuracy",
        &[
            Line { label: chip.clone(), points: pts(|p| Some(p.acc_chip)), dashed: false, twin: false },
            Line { label: "float on-chip rule".into(), points: pts(|p| Some(p.acc_float)), dashed: true, twin: false },
        ],
        Some((0.0, 1.0)),
    );
    let loss = line_chart(
        "Training loss (recall steps)",
        "training trials",
        "cross-entropy (nats)",
        &[
            Line { label: chip, points: pts(|p| p.loss_chip), dashed: false, twin: false },
            Line { label: "float on-chip rule".into(), points: pts(|p| p.loss_float), dashed: true, twin: false },
        ],
        None,
    );
    format!("<h2>Learning curves</h2>{acc}{loss}")
}

fn cost(r: &MainResult) -> String {
    let mut h = format!(
        "<h2>Chip cost per timestep</h2><p>{cores} cores ({CORES} hidden cores, one per tile, and the readout's), \
clock from the preset; energy from its cost model (<code>hw-notes/emulator-presets.md</code>). Cycles by phase are \
the longest any core spent in the phase; cores work in parallel, so they overlap and do not add up to the latency.</p>\
<table><tr><th></th><th>learning</th><th>inference</th></tr>",
        cores = r.cores,
    );
    let row = |h: &mut String, name: &str, a: f64, b: f64, unit: &str| {
        let _ = write!(h, "<tr><td>{name}</td><td>{a:.3} {unit}</td><td>{b:.3} {unit}</td></tr>");
    };
    let (l, i) = (&r.learning, &r.inference);
    row(&mut h, "timesteps", l.steps as f64, i.steps as f64, "");
    row(&mut h, "cycles", l.cycles, i.cycles, "");
    for (k, p) in PHASES.iter().enumerate() {
        row(&mut h, &format!("&nbsp;&nbsp;{p} (busiest core)"), l.phases_cycles[k], i.phases_cycles[k], "");
    }
    row(&mut h, "&nbsp;&nbsp;network drain", l.drain_cycles, i.drain_cycles, "");
    row(&mut h, "&nbsp;&nbsp;barrier", l.barrier_cycles, i.barrier_cycles, "");
    row(&mut h, "chip time", l.us, i.us, "µs");
    row(&mut h, "energy", l.energy_nj, i.energy_nj, "nJ");
    for (k, p) in PHASES.iter().enumerate() {
        row(&mut h, &format!("&nbsp;&nbsp;{p}"), l.phases_nj[k], i.phases_nj[k], "nJ");
    }
    row(&mut h, "&nbsp;&nbsp;network", l.noc_nj, i.noc_nj, "nJ");
    row(&mut h, "&nbsp;&nbsp;static", l.static_nj, i.static_nj, "nJ");
    row(&mut h, "packets", l.packets, i.packets, "");
    row(&mut h, "synaptic operations", l.syn_ops, i.syn_ops, "");
    row(&mut h, "weight updates", l.weight_updates, i.weight_updates, "");
    row(&mut h, "hidden spikes", l.spikes, i.spikes, "");
    h.push_str("</table>");
    h
}

/// Core use and link load on the mesh while learning: two heat maps (tiles as cells) and the busiest links.
fn mesh(r: &MainResult) -> String {
    let l = &r.learning;
    let [w, ht, cpt] = l.mesh;
    let mut h = String::from("<h3>Core use and link load (learning)</h3>");
    if w > 0 && ht > 0 && cpt > 0 {
        let tile = |x: u32, y: u32| (y * w + x) as usize;
        h.push_str("<p class=\"note\">One cell per tile of the mesh; colour scaled to the largest cell.</p>");
        h += &mesh_heat_map("core use: busy fraction of the busiest core of the tile", w, ht, |x, y| {
            let t = tile(x, y);
            let busy = (0..cpt as usize).filter_map(|k| l.utilisation.get(t * cpt as usize + k)).fold(0.0f64, |a, &b| a.max(b));
            (busy, if busy > 0.0 { format!("{:.1} %", 100.0 * busy) } else { String::new() })
        });
        h += &mesh_heat_map("link load: packets leaving the tile (E / W / N / S)", w, ht, |x, y| {
            let t = tile(x, y);
            let d: Vec<u64> = (0..4).map(|k| l.link_load.get(t * 4 + k).copied().unwrap_or(0)).collect();
            let sum: u64 = d.iter().sum();
            (sum as f64, if sum > 0 { format!("{} / {} / {} / {}", d[0], d[1], d[2], d[3]) } else { String::new() })
        });
    }
    h.push_str("<table><tr><th>core</th><th>busy</th></tr>");
    for (c, u) in l.utilisation.iter().enumerate().filter(|(_, u)| **u > 0.0) {
        let _ = write!(h, "<tr><td>{c}</td><td>{:.1} %</td></tr>", 100.0 * u);
    }
    h.push_str("</table><table><tr><th>busiest links</th><th>packets</th></tr>");
    if l.hotspots.is_empty() {
        h.push_str("<tr><td>none: every packet stayed inside its tile</td><td>0</td></tr>");
    }
    for (x, y, d, p) in &l.hotspots {
        let _ = write!(h, "<tr><td>tile ({x},{y}) {}</td><td>{p}</td></tr>", esc(d));
    }
    h.push_str("</table>");
    h
}

fn neurobench(r: &MainResult) -> String {
    format!(
        "<h2>NeuroBench-style metrics</h2><p class=\"note\">Names as NeuroBench uses them; values for the \
fixed-point network on the chip after training (synaptic operations and activation sparsity during held-out \
inference).</p><table><tr><th>metric</th><th>value</th></tr>\
<tr><td>footprint</td><td>{fp} bytes</td></tr>\
<tr><td>connection sparsity</td><td>{cs:.3}</td></tr>\
<tr><td>activation sparsity</td><td>{asp:.3}</td></tr>\
<tr><td>synaptic operations (effective ACs per timestep)</td><td>{acs:.1}</td></tr>\
<tr><td>synaptic operations (MACs per timestep)</td><td>0 (binary spikes)</td></tr>\
<tr><td>classification accuracy</td><td>{ac:.1} %</td></tr></table>",
        fp = r.footprint_bytes,
        cs = r.connection_sparsity,
        asp = r.activation_sparsity,
        acs = r.inference.syn_ops,
        ac = 100.0 * last(r).acc_chip,
    )
}

fn reproduce(r: &MainResult, out: &Path) -> String {
    format!(
        "<h2>Reproduce</h2><pre>cargo run --release -p plasticore -- demo{quick} --out {out}</pre>\
<p class=\"note\">Figures: <code>main.json</code> next to this file.</p>",
        quick = if r.run.quick { " --quick" } else { "" },
        out = esc(&out.display().to_string()),
    )
}
