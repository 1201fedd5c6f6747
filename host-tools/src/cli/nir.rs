//! `plasticore nir`: NIR import, export, inspection and float simulation (`hw-notes/nir.md`).
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use plasticore::nir::float_net::{from_saved_net, to_saved_net, ExportOptions};
use plasticore::nir::graph::{NirFile, NodeKind};
use plasticore::nir::h5::FloatWidth;
use plasticore::nir::image::from_image;
use plasticore::nir::lower::{
    lower, metadata_dt, metadata_reset, Discrete, Method, Options, ResetMechanism,
};
use plasticore::nir::{input, sim};
use plasticore::reference::io::SavedNet;
use plasticore::reference::plot::write_atomic;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Arguments of `nir`.
#[derive(Args)]
pub struct NirArgs {
    #[command(subcommand)]
    cmd: NirCmd,
}

/// How a NIR graph is discretised.
#[derive(Args, Clone)]
struct Discretise {
    /// Step in seconds. Default: the file's metadata `dt` / `dt_hint_s`; NIR files from snnTorch and Norse
    /// carry none, then this is required (snnTorch's own convention is 1e-4 s).
    #[arg(long)]
    dt: Option<f64>,
    /// Integration scheme: euler (β = 1 − dt/τ, snnTorch) or exact (β = e^{−dt/τ}).
    #[arg(long, value_enum, default_value = "euler")]
    method: Method,
    /// Reset on a spike (a NIR file cannot say): value (v ← v_reset, the NIR definition), subtract
    /// (v ← v − v_threshold at the spike, decaying with v: the float reference's soft reset) or
    /// subtract-undecayed (snnTorch's default "subtract": θ taken off after the next decay). Default: the
    /// file's `reset_mechanism` metadata if present (written by `nir export`), else value.
    #[arg(long, value_enum)]
    reset: Option<ResetMechanism>,
}

#[derive(Subcommand)]
enum NirCmd {
    /// Read a NIR file and write a plasticore-float-net network: v1 where it holds the graph exactly, else
    /// v2 with per-neuron populations (refused, with every reason, where neither does).
    Import {
        /// NIR file.
        file: PathBuf,
        /// Output network file (JSON, plasticore-float-net).
        #[arg(short, long)]
        out: PathBuf,
        #[command(flatten)]
        d: Discretise,
    },
    /// Write a plasticore-float-net network, or a fixed-point image (.pcimg v1/v2, e.g. learned on chip;
    /// weights dequantized), as a NIR file (dt and the fixed-point formats in the metadata).
    Export {
        /// Network file (plasticore-float-net JSON) or Plasticore image.
        net: PathBuf,
        /// The chip's step in ms, for an image (images carry none; float networks carry their own).
        #[arg(long, default_value_t = 1.0)]
        dt_ms: f64,
        /// Output NIR file.
        #[arg(short, long)]
        out: PathBuf,
        /// Scheme used to turn the per-step decays back into time constants.
        #[arg(long, value_enum, default_value = "euler")]
        method: Method,
        /// Width of the parameter arrays.
        #[arg(long, value_enum, default_value = "f32")]
        dtype: Dtype,
    },
    /// Print a NIR file's nodes, edges, metadata and, with a dt, the lowered network and its warnings.
    Info {
        /// NIR file.
        file: PathBuf,
        #[command(flatten)]
        d: Discretise,
    },
    /// Run a NIR graph in float under NIR semantics; write spikes and membranes of every node as CSV.
    Simulate {
        /// NIR file.
        file: PathBuf,
        /// Input: CSV events `t,channel` (t = step index) or a dense float .npy of shape [T, n_in].
        #[arg(long)]
        input: PathBuf,
        /// Steps to run (default: the input's length).
        #[arg(long)]
        steps: Option<usize>,
        /// Output directory (spikes.csv, membranes.csv, outputs.csv).
        #[arg(long, default_value = "out/nir-sim")]
        out: PathBuf,
        #[command(flatten)]
        d: Discretise,
    },
}

/// Parameter width on export.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Dtype {
    F32,
    F64,
}

fn options(d: &Discretise, f: &NirFile) -> anyhow::Result<Options> {
    let dt = match (d.dt, metadata_dt(&f.graph)) {
        (Some(dt), _) => dt,
        (None, Some(dt)) => {
            eprintln!("dt = {dt} s (from the file's metadata)");
            dt
        }
        (None, None) => bail!("the file has no dt in its metadata; pass --dt SECONDS (NIR time constants are in seconds; snnTorch assumes 1e-4)"),
    };
    let reset = d
        .reset
        .or_else(|| metadata_reset(&f.graph))
        .unwrap_or(ResetMechanism::Value);
    Ok(Options {
        dt,
        method: d.method,
        reset,
    })
}

fn load_lower(file: &Path, d: &Discretise) -> anyhow::Result<(NirFile, Discrete)> {
    let f = NirFile::load(file)?;
    for w in &f.warnings {
        eprintln!("warning: {w}");
    }
    let o = options(d, &f)?;
    let net = lower(&f.graph, o).with_context(|| format!("lowering {}", file.display()))?;
    for w in &net.warnings {
        eprintln!("warning: {w}");
    }
    Ok((f, net))
}

/// Run `nir`.
pub fn run(a: NirArgs) -> anyhow::Result<()> {
    match a.cmd {
        NirCmd::Import { file, out, d } => {
            let (_, net) = load_lower(&file, &d)?;
            let saved = to_saved_net(&net, &file.display().to_string())?;
            saved.save(&out)?;
            let shape: Vec<String> = saved
                .config
                .layers
                .iter()
                .map(|l| format!("{}{}", l.n, if l.recurrent { "r" } else { "" }))
                .collect();
            println!(
                "wrote {} (plasticore-float-net v{}): {} inputs -> [{}] -> {:?}, dt {} ms, {:?}, reset {:?}",
                out.display(),
                saved.version,
                saved.config.n_in(),
                shape.join(", "),
                saved.config.output,
                saved.dt_ms,
                net.opts.method,
                net.opts.reset
            );
        }
        NirCmd::Export {
            net,
            dt_ms,
            out,
            method,
            dtype,
        } => {
            let width = match dtype {
                Dtype::F32 => FloatWidth::F32,
                Dtype::F64 => FloatWidth::F64,
            };
            let o = ExportOptions { method, width };
            let raw = std::fs::read(&net).with_context(|| format!("reading {}", net.display()))?;
            let (f, what, dt_s) = if raw.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
                let s = SavedNet::from_slice(&raw).with_context(|| format!("{}", net.display()))?;
                (from_saved_net(&s, o)?, format!("plasticore-float-net v{}", s.version), s.dt_ms * 1e-3)
            } else {
                let f = from_image(&raw, dt_ms, o).with_context(|| format!("{} (read as a Plasticore image)", net.display()))?;
                (f, "fixed-point image, weights dequantized".to_string(), dt_ms * 1e-3)
            };
            let bytes = f.to_bytes()?;
            write_atomic(&out, &bytes)?;
            println!(
                "wrote {} ({} bytes, {} top-level nodes, dt {} s) from {what}",
                out.display(),
                bytes.len(),
                f.graph.nodes.len(),
                dt_s
            );
        }
        NirCmd::Info { file, d } => {
            let f = NirFile::load(&file)?;
            let mut s = String::new();
            writeln!(
                s,
                "{}: nir version {}",
                file.display(),
                f.version.as_deref().unwrap_or("(none)")
            )?;
            print_graph(&f.graph, "", &mut s)?;
            for w in &f.warnings {
                writeln!(s, "warning: {w}")?;
            }
            print!("{s}");
            if d.dt.is_some() || metadata_dt(&f.graph).is_some() {
                let o = options(&d, &f)?;
                let net = lower(&f.graph, o)?;
                println!(
                    "lowered (dt {} s, {:?}, reset {:?}), evaluation order:",
                    o.dt, o.method, o.reset
                );
                for n in &net.nodes {
                    let ins: Vec<String> = n
                        .inputs
                        .iter()
                        .map(|&(i, dl)| {
                            format!("{}{}", net.nodes[i].name, if dl { " (t-1)" } else { "" })
                        })
                        .collect();
                    println!(
                        "  {:<20} {:<9} {:>5} -> {:<5} from [{}]",
                        n.name,
                        n.kind.type_name(),
                        n.n_in,
                        n.n_out,
                        ins.join(", ")
                    );
                }
                for w in &net.warnings {
                    println!("warning: {w}");
                }
            }
        }
        NirCmd::Simulate {
            file,
            input: inp,
            steps,
            out,
            d,
        } => {
            let (_, net) = load_lower(&file, &d)?;
            let mut x = if inp.extension().is_some_and(|e| e == "npy") {
                input::dense_npy(&inp, net.n_inputs)?
            } else {
                let text = std::fs::read_to_string(&inp)
                    .with_context(|| format!("reading {}", inp.display()))?;
                input::events_csv(&text, net.n_inputs, steps)?
            };
            if let Some(t) = steps {
                if t > x.len() {
                    x.resize(t, vec![0.0; net.n_inputs]);
                }
                x.truncate(t);
            }
            let tr = sim::run(&net, &x)?;
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let (sp, mem, outs) = csvs(&net, &tr);
            write_atomic(&out.join("spikes.csv"), sp.as_bytes())?;
            write_atomic(&out.join("membranes.csv"), mem.as_bytes())?;
            write_atomic(&out.join("outputs.csv"), outs.as_bytes())?;
            let n_spikes = sp.lines().count().saturating_sub(1);
            println!("simulated {} steps of {} nodes: {} spikes; wrote spikes.csv, membranes.csv, outputs.csv in {}", x.len(), net.nodes.len(), n_spikes, out.display());
        }
    }
    Ok(())
}

fn print_graph(g: &plasticore::nir::graph::Graph, ind: &str, s: &mut String) -> std::fmt::Result {
    for (name, n) in &g.nodes {
        match n {
            NodeKind::Known { kind, floats, ints } => {
                let ps: Vec<String> = floats
                    .iter()
                    .map(|(k, a)| {
                        format!(
                            "{k}{:?}:{}",
                            a.shape,
                            if a.width == FloatWidth::F32 {
                                "f32"
                            } else {
                                "f64"
                            }
                        )
                    })
                    .chain(ints.iter().map(|(k, (_, v))| format!("{k}={v:?}")))
                    .collect();
                writeln!(s, "{ind}{name}: {} {}", kind.type_name(), ps.join(" "))?;
            }
            NodeKind::Graph(sub) => {
                writeln!(s, "{ind}{name}: NIRGraph")?;
                print_graph(sub, &format!("{ind}  "), s)?;
            }
            NodeKind::Unsupported {
                type_name, reason, ..
            } => writeln!(s, "{ind}{name}: {type_name} (unsupported: {reason})")?,
        }
    }
    for (a, b) in &g.edges {
        writeln!(s, "{ind}edge {a} -> {b}")?;
    }
    for (k, v) in &g.metadata {
        writeln!(
            s,
            "{ind}metadata {k}: {}",
            match v {
                plasticore::nir::h5::Value::Str(x) => x.clone(),
                plasticore::nir::h5::Value::Float { data, .. } if data.len() == 1 =>
                    data[0].to_string(),
                o => o.describe(),
            }
        )?;
    }
    Ok(())
}

/// spikes.csv (`t,node,neuron`, one line per spike), membranes.csv (wide: `t` then `node[j]` per neuron of
/// every neuron node), outputs.csv (wide: `t` then `node[j]` per top-level Output).
fn csvs(net: &Discrete, tr: &[sim::Trace]) -> (String, String, String) {
    let steps = tr.first().map_or(0, |t| t.out.len());
    let mut sp = String::from("t,node,neuron\n");
    let spiking: Vec<usize> = (0..net.nodes.len())
        .filter(|&k| match &net.nodes[k].op {
            plasticore::nir::lower::Op::Neuron(p) => p.spiking.is_some(),
            plasticore::nir::lower::Op::Threshold(_) => true,
            _ => false,
        })
        .collect();
    for t in 0..steps {
        for &k in &spiking {
            for (j, &z) in tr[k].out[t].iter().enumerate() {
                if z != 0.0 {
                    let _ = writeln!(sp, "{t},{},{j}", tr[k].name);
                }
            }
        }
    }
    let mem = wide(
        steps,
        (0..net.nodes.len())
            .filter(|&k| !tr[k].v.is_empty())
            .map(|k| (&tr[k].name, &tr[k].v))
            .collect(),
    );
    let outs = wide(
        steps,
        (0..net.nodes.len())
            .filter(|&k| net.nodes[k].is_output)
            .map(|k| (&tr[k].name, &tr[k].out))
            .collect(),
    );
    (sp, mem, outs)
}

fn wide(steps: usize, cols: Vec<(&String, &Vec<Vec<f64>>)>) -> String {
    let mut s = String::from("t");
    for (name, v) in &cols {
        for j in 0..v.first().map_or(0, |r| r.len()) {
            let _ = write!(s, ",{name}[{j}]");
        }
    }
    s.push('\n');
    for t in 0..steps {
        let _ = write!(s, "{t}");
        for (_, v) in &cols {
            for x in &v[t] {
                let _ = write!(s, ",{x:e}");
            }
        }
        s.push('\n');
    }
    s
}
