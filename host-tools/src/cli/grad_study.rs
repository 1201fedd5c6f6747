//! `plasticore grad-study`: cosine similarity to BPTT of D-RTRL and ES-D-RTRL (ranks 4…100) for six
//! dynamics; writes `grad_study.csv` and `grad_study.svg` to `--out`.
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use plasticore::reference::plot::{line_chart, write_atomic, Scale, Series};
use plasticore::reference::study::{grad_study_model, study_models, GradRow, GradStudyConfig};
use std::path::PathBuf;

/// Arguments of `grad-study`.
#[derive(Args)]
pub struct GradStudyArgs {
    /// Output directory.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Recurrent neurons.
    #[arg(long, default_value_t = 200)]
    n_rec: usize,
    /// Steps per sequence (1 ms).
    #[arg(long, default_value_t = 300)]
    steps: usize,
    /// Loss on the last this many steps (the paper: the last 1 %).
    #[arg(long, default_value_t = 3)]
    loss_steps: usize,
    /// Sequences per gradient.
    #[arg(long, default_value_t = 4)]
    batch: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run the online traces from step 0 (the paper's script starts them when the loss window opens).
    #[arg(long)]
    traces_from_start: bool,
    /// Recurrent block with the paper's per-model N-MNIST `rec_wscale` and fan-in n_rec (default: the whole
    /// matrix's fan-in and scale 1; the paper's scales belong to N-MNIST's input and make the exponential-
    /// synapse models chaotic with this synthetic input).
    #[arg(long)]
    paper_rec_init: bool,
}

/// Run the subcommand.
pub fn run(a: GradStudyArgs) -> anyhow::Result<()> {
    let c = GradStudyConfig {
        n_rec: a.n_rec,
        steps: a.steps,
        loss_steps: a.loss_steps,
        batch: a.batch,
        seed: a.seed,
        traces_from_loss_window: !a.traces_from_start,
        paper_rec_init: a.paper_rec_init,
        ..Default::default()
    };
    let models = study_models();
    let pb = ProgressBar::new((models.len() * (2 + c.ranks.len())) as u64);
    pb.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} gradients {msg} [{elapsed}]")?);
    let mut rows: Vec<GradRow> = Vec::new();
    for (name, n, pre) in &models {
        pb.set_message(name.clone());
        let tick = || pb.inc(1);
        rows.extend(grad_study_model(&c, name, *n, *pre, &tick)?);
    }
    pb.finish_with_message("done");
    let mut csv = String::from("model,algo,rank,alpha,cos_w,cos_w_in,cos_w_rec,cos_wb,cos_all,rate_hz,ff_scale\n");
    for r in &rows {
        csv.push_str(&format!(
            "{},{},{},{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.2},{:.4}\n",
            r.model,
            r.algo,
            r.rank.map_or(String::new(), |v| v.to_string()),
            r.alpha.map_or(String::new(), |v| format!("{v:.6}")),
            r.cos_w,
            r.cos_w_in,
            r.cos_w_rec,
            r.cos_wb,
            r.cos_all,
            r.rate_hz,
            r.ff_scale
        ));
    }
    write_atomic(&a.out.join("grad_study.csv"), csv.as_bytes())?;
    let mut series = Vec::new();
    for (name, _, _) in &models {
        let es: Vec<(f64, f64)> =
            rows.iter().filter(|r| &r.model == name && r.algo == "esd").map(|r| (r.rank.unwrap_or(0.0), r.cos_w)).collect();
        series.push(Series { label: format!("{name} ES"), points: es.clone(), dashed: false });
        if let Some(d) = rows.iter().find(|r| &r.model == name && r.algo == "drtrl") {
            let (x0, x1) = (es.first().map_or(4.0, |p| p.0), es.last().map_or(100.0, |p| p.0));
            series.push(Series { label: format!("{name} D-RTRL"), points: vec![(x0, d.cos_w), (x1, d.cos_w)], dashed: true });
        }
    }
    let svg = line_chart(
        &format!("Cosine to BPTT of dL/dW (n_rec = {}, loss on last {} of {} steps)", c.n_rec, c.loss_steps, c.steps),
        "ES-D-RTRL rank r (alpha = (r-1)/(r+1))",
        "cosine similarity",
        &series,
        Scale::Log,
        Scale::Linear,
    );
    write_atomic(&a.out.join("grad_study.svg"), svg.as_bytes())?;
    print!("{csv}");
    eprintln!("wrote {} and {}", a.out.join("grad_study.csv").display(), a.out.join("grad_study.svg").display());
    Ok(())
}
