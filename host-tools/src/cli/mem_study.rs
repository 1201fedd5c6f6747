//! `plasticore mem-study`: learning-state bytes of BPTT, D-RTRL and ES-D-RTRL as T and N grow (analytic) and
//! the measured peak RSS of a child process running one W2 training step (`bench w2`, f32 kernels).
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use plasticore::reference::fast::{learning_state_bytes, FastAlgo};
use plasticore::reference::plot::{line_chart, write_atomic, Scale, Series};
use plasticore::reference::study::learning_state_bytes_f64;
use std::path::PathBuf;
use std::process::Command;

/// Arguments of `mem-study`.
#[derive(Args)]
pub struct MemStudyArgs {
    /// Output directory.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Skip the measured (child-process) part.
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

fn measure(n: usize, t: usize, algo: &str) -> anyhow::Result<f64> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe)
        .args(["bench", "w2", "--algo", algo, "--neurons", &n.to_string(), "--steps", &t.to_string(), "--batch", "1", "--reps", "1"])
        .output()?;
    anyhow::ensure!(out.status.success(), "child bench failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    v["peak_rss_mb"].as_f64().ok_or_else(|| anyhow::anyhow!("no peak_rss_mb in child output"))
}

/// Run the subcommand.
pub fn run(a: MemStudyArgs) -> anyhow::Result<()> {
    let n_in = 100;
    let t_sweep = [50usize, 100, 200, 400, 600, 800, 1000];
    let n_sweep = [100usize, 200, 500, 1000, 2000];
    let meas_t = [50usize, 200, 1000];
    let meas_n = [100usize, 500, 1000, 2000];
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
    let mut csv = String::from("sweep,algo,N,T,analytic_bytes_f64,analytic_bytes_fast_f32,measured_peak_rss_mb\n");
    let mut rows = Vec::new();
    for &(sweep, n, t) in &cells {
        for algo in ALGOS {
            pb.set_message(format!("{algo} N={n} T={t}"));
            let b64 = learning_state_bytes_f64(algo, n_in + n, n, 2, t, 1).unwrap_or(0);
            let b32 = learning_state_bytes(fast(algo), n_in, n, t);
            let measured = if a.analytic_only || !(if sweep == "T" { meas_t.contains(&t) } else { meas_n.contains(&n) }) {
                None
            } else {
                Some(measure(n, t, algo)?)
            };
            csv.push_str(&format!("{sweep},{algo},{n},{t},{b64},{b32},{}\n", measured.map_or(String::new(), |m| format!("{m:.2}"))));
            rows.push((sweep, algo, n, t, b64, measured));
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
            series.push(Series { label: format!("{algo} analytic (f64)"), points: pts, dashed: false });
            let pts: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r.0 == sweep && r.1 == algo)
                .filter_map(|r| r.5.map(|m| (if sweep == "T" { r.3 } else { r.2 } as f64, m)))
                .collect();
            if !pts.is_empty() {
                series.push(Series { label: format!("{algo} peak RSS (f32)"), points: pts, dashed: true });
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
