//! `plasticore mem-study`: learning-state bytes of BPTT, D-RTRL and ES-D-RTRL as T and N grow: the analytic
//! count (f64 generic reference and f32 W2 kernels) and the measured peak heap of one W2 sequence gradient
//! (B = 1, f32 kernels) from the binary's counting allocator ([`super::alloc_count`]). The measured figure is
//! the peak of live heap bytes above those live before the call (network and data already built), minus the
//! gradient itself (n_x·N + N + 4N floats, the same for every algorithm): what the algorithm needs to learn.
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use super::alloc_count;
use plasticore::reference::fast::{learning_state_bytes, FastAlgo, W2Config, W2Net};
use plasticore::reference::plot::{line_chart, write_atomic, Scale, Series};
use plasticore::reference::study::learning_state_bytes_f64;
use std::path::PathBuf;

/// Arguments of `mem-study`.
#[derive(Args)]
pub struct MemStudyArgs {
    /// Output directory.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Skip the measured part (one gradient per cell).
    #[arg(long)]
    analytic_only: bool,
}

const ALGOS: [&str; 3] = ["bptt", "drtrl", "esd"];

fn fast(a: &str) -> FastAlgo {
    match a {
        "esd" => FastAlgo::Esd { alpha: 0.98 },
        "drtrl" => FastAlgo::DRtrl,
        _ => FastAlgo::Bptt,
    }
}

/// (peak heap above the baseline, gradient bytes) of one W2 sequence gradient.
fn measure(n: usize, t: usize, algo: &str) -> anyhow::Result<(usize, usize)> {
    let cfg = W2Config::new(n);
    let net = W2Net::new(&cfg, 1)?;
    let batch = net.make_batch(&cfg, t, 1, 2);
    let (peak, g) = alloc_count::peak_during(|| net.batch_grad(&batch, fast(algo)));
    anyhow::ensure!(g.spikes > 0, "silent network at N = {n}");
    Ok((peak, 4 * (g.w.len() + g.b.len() + g.wout.len())))
}

/// Run the subcommand.
pub fn run(a: MemStudyArgs) -> anyhow::Result<()> {
    let n_in = 100;
    let t_sweep = [50usize, 100, 200, 400, 600, 800, 1000];
    let n_sweep = [100usize, 200, 500, 1000, 2000];
    let mut cells: Vec<(&str, usize, usize)> = Vec::new();
    for &t in &t_sweep {
        cells.push(("T", 1000, t));
    }
    for &n in &n_sweep {
        cells.push(("N", n, 200));
    }
    let total = cells.len() * ALGOS.len();
    let pb = ProgressBar::new(total as u64);
    pb.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} cells {msg} [{elapsed}]")?);
    if !a.analytic_only {
        // start rayon's pool outside the measured calls
        measure(50, 10, "esd")?;
    }
    let mut csv = String::from(
        "sweep,algo,N,T,analytic_bytes_f64,analytic_bytes_fast_f32,measured_peak_heap_bytes,gradient_bytes,measured_learning_state_bytes\n",
    );
    let mut rows = Vec::new();
    for &(sweep, n, t) in &cells {
        for algo in ALGOS {
            pb.set_message(format!("{algo} N={n} T={t}"));
            let b64 = learning_state_bytes_f64(algo, n_in + n, n, 2, t, 1).unwrap_or(0);
            let b32 = learning_state_bytes(fast(algo), n_in, n, t);
            let measured = if a.analytic_only { None } else { Some(measure(n, t, algo)?) };
            let cols = measured.map_or(",,".to_string(), |(p, g)| format!("{p},{g},{}", p.saturating_sub(g)));
            csv.push_str(&format!("{sweep},{algo},{n},{t},{b64},{b32},{cols}\n"));
            rows.push((sweep, algo, n, t, b32, measured.map(|(p, g)| p.saturating_sub(g))));
            pb.inc(1);
        }
    }
    pb.finish_with_message("done");
    write_atomic(&a.out.join("mem_study.csv"), csv.as_bytes())?;
    for (sweep, xl) in [("T", "sequence length T (N = 1000)"), ("N", "neurons N (T = 200)")] {
        let mut series = Vec::new();
        for algo in ALGOS {
            let pts = rows
                .iter()
                .filter(|r| r.0 == sweep && r.1 == algo)
                .map(|r| (if sweep == "T" { r.3 } else { r.2 } as f64, r.4 as f64 / 1e6))
                .collect();
            series.push(Series { label: format!("{algo} analytic (f32 kernel)"), points: pts, dashed: false });
            let pts: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r.0 == sweep && r.1 == algo)
                .filter_map(|r| r.5.map(|m| (if sweep == "T" { r.3 } else { r.2 } as f64, m as f64 / 1e6)))
                .collect();
            if !pts.is_empty() {
                series.push(Series { label: format!("{algo} measured peak heap"), points: pts, dashed: true });
            }
        }
        let svg = line_chart(
            &format!("Learning-state memory vs {sweep} (MB, B = 1)"),
            xl,
            "MB",
            &series,
            Scale::Log,
            Scale::Log,
        );
        write_atomic(&a.out.join(format!("mem_study_{sweep}.svg")), svg.as_bytes())?;
    }
    print!("{csv}");
    eprintln!("wrote {}", a.out.join("mem_study.csv").display());
    Ok(())
}
