//! `plasticore sweep`: the quantization study (`plasticore::sweep`) over a grid of formats, on the main
//! job's network and task; writes `sweep.csv`, `sweep_accuracy.svg` and `sweep_cosine.svg` (atomically) and
//! prints the table.
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use plasticore::mainjob;
use plasticore::reference::plot::write_atomic;
use plasticore::sweep::grid::Grid;
use plasticore::sweep::output::{accuracy_plot, cosine_plot, csv};
use plasticore::sweep::{RoundingMode, Study};
use std::path::PathBuf;

/// Learning on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Learn {
    /// On-chip learning on.
    On,
    /// Inference only.
    Off,
}

/// Arguments of `sweep`.
#[derive(Args)]
pub struct SweepArgs {
    /// Where `sweep.csv` and the plots go.
    #[arg(long, default_value = "out/sweep")]
    pub out: PathBuf,
    /// Hidden weight bits including sign (comma-separated, 2..=16).
    #[arg(long, value_delimiter = ',', default_value = "4,6,8,12,16", value_parser = clap::value_parser!(u8).range(2..=16))]
    pub weight_bits: Vec<u8>,
    /// Trace bits of ε^x / ε^o (comma-separated, 4..=16; fractional bits min(8, bits − 4)).
    #[arg(long, value_delimiter = ',', default_value = "6,8,16", value_parser = clap::value_parser!(u8).range(4..=16))]
    pub trace_bits: Vec<u8>,
    /// Fractional bits of the state V, g, a, r (comma-separated, 8..=24).
    #[arg(long, value_delimiter = ',', default_value = "12,16", value_parser = clap::value_parser!(u8).range(8..=24))]
    pub state_frac: Vec<u8>,
    /// Weight-update rounding (comma-separated; only `stochastic` on this build).
    #[arg(long, value_delimiter = ',', default_value = "stochastic")]
    pub rounding: Vec<RoundingMode>,
    /// On-chip learning (comma-separated: on, off).
    #[arg(long, value_delimiter = ',', default_value = "on")]
    pub learn: Vec<Learn>,
    /// Readout weight bits (0: the point's weight bits). The main job's readout has 16.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u8).range(0..=16))]
    pub readout_bits: u8,
    /// Training trials (float reference and on-chip learning).
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub train: u64,
    /// Held-out trials.
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub test: u64,
    /// Trials over which the gradient updates are accumulated (the first training trials).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub grad: u64,
    /// Seed of the network, the trials and the core's rounding.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Threads (0: one per core). The CSV is the same for any number.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// Run the subcommand.
pub fn run(a: SweepArgs) -> anyhow::Result<()> {
    if a.readout_bits == 1 {
        anyhow::bail!("--readout-bits 1: weights need 2..=16 bits (0 means the point's weight bits)");
    }
    let grid = Grid {
        weight_bits: a.weight_bits.clone(),
        trace_bits: a.trace_bits.clone(),
        state_frac: a.state_frac.clone(),
        rounding: a.rounding.clone(),
        learn: a.learn.iter().map(|l| *l == Learn::On).collect(),
    };
    grid.validate()?;
    let (spec, trials) = plasticore::sweep::builtin(a.seed, a.train as usize, a.test as usize, a.grad as usize, (a.readout_bits != 0).then_some(a.readout_bits))?;
    let points = grid.points().len();
    println!(
        "plasticore sweep: the main job's network ({} -> {} recurrent LIF -> {}), evidence accumulation; {} points, \
         {} training / {} held-out / {} gradient trials",
        mainjob::INPUTS,
        mainjob::HIDDEN,
        mainjob::OUTPUTS,
        points,
        a.train,
        a.test,
        trials.grad.len()
    );
    let study = Study::new(spec, trials)?;
    let bar = ProgressBar::new(points as u64);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} grid points ({elapsed}, eta {eta})").expect("static template"));
    let rows = study.run(&grid, a.threads, &|| bar.inc(1))?;
    bar.finish_and_clear();
    println!("float reference: {:.1} % held out", 100.0 * study.acc_float());
    println!("{:>5} {:>6} {:>6} {:>10} {:>5} {:>10} {:>10} {:>10} {:>9} {:>9}", "wbits", "trace", "state", "rounding", "learn", "acc fixed", "acc learn", "acc float", "cos float", "cos sameW");
    for r in &rows {
        println!(
            "{:>5} {:>6} {:>6} {:>10} {:>5} {:>9.1}% {:>10} {:>9.1}% {:>9.4} {:>9.4}",
            r.weight_bits,
            r.trace_bits,
            r.state_frac,
            r.rounding,
            if r.learn { "on" } else { "off" },
            100.0 * r.acc_fixed,
            r.acc_learned.map_or("-".into(), |x| format!("{:.1}%", 100.0 * x)),
            100.0 * r.acc_float,
            r.cos_float,
            r.cos_same_w
        );
    }
    let path = a.out.join("sweep.csv");
    write_atomic(&path, csv(&rows).as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    write_atomic(&a.out.join("sweep_accuracy.svg"), accuracy_plot(&rows).as_bytes())?;
    write_atomic(&a.out.join("sweep_cosine.svg"), cosine_plot(&rows).as_bytes())?;
    println!("plots: {} {}", a.out.join("sweep_accuracy.svg").display(), a.out.join("sweep_cosine.svg").display());
    println!("csv: {}", path.display());
    Ok(())
}
