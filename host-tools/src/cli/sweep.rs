//! `plasticore sweep`: the quantization study (`plasticore::sweep`) over a grid of formats, on the main
//! job's network and task, or on a `train` network (`--net`) with an event file (`--events`); writes `sweep.csv`, `sweep_accuracy.svg` and `sweep_cosine.svg` (atomically) and
//! prints the table.
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use plasticore::events::bins::Binning;
use plasticore::events::{self, Sensor};
use plasticore::mainjob;
use plasticore::reference::io::SavedNet;
use plasticore::sweep::source::{event_trials, from_saved, EventSplit, RuleSettings};
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
    /// Weight-update rounding (comma-separated: stochastic, nearest, truncate).
    #[arg(long, value_delimiter = ',', default_value = "stochastic")]
    pub rounding: Vec<RoundingMode>,
    /// On-chip learning (comma-separated: on, off).
    #[arg(long, value_delimiter = ',', default_value = "on")]
    pub learn: Vec<Learn>,
    /// Readout weight bits (0: the point's weight bits). The main job's readout has 16.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u8).range(0..=16))]
    pub readout_bits: u8,
    /// Built-in task: training trials (float reference and on-chip learning).
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=100_000), conflicts_with = "events")]
    pub train: u64,
    /// Built-in task: held-out trials.
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..=100_000), conflicts_with = "events")]
    pub test: u64,
    /// A float network from `train` (`train_<task>_net.json`; one LIF layer, leaky readout) instead of the
    /// main job's; needs `--events`.
    #[arg(long, requires = "events")]
    pub net: Option<PathBuf>,
    /// Labelled event file for `--net` (`hw-notes/event-files.md`): the last `--test-fraction` of its
    /// samples are held out, the others train.
    #[arg(long, requires = "net")]
    pub events: Option<PathBuf>,
    /// Sensor size W,H,P or C (required for .npy and CSV event files).
    #[arg(long, value_parser = Sensor::parse)]
    pub sensor: Option<Sensor>,
    /// Event file: step length in µs.
    #[arg(long, default_value_t = 1000)]
    pub dt_us: u64,
    /// Event file: steps per sample [default: the longest sample's].
    #[arg(long)]
    pub steps: Option<usize>,
    /// Event file: steps at the end of each sample that carry the target and give the class [default: steps / 4].
    #[arg(long)]
    pub loss_steps: Option<usize>,
    /// Event file: fraction of the samples held out (the last ones).
    #[arg(long, default_value_t = 0.25)]
    pub test_fraction: f64,
    /// `--net`: on-chip hidden learning rate η = 2^-shift.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=40))]
    pub eta_shift: u8,
    /// `--net`: on-chip readout learning rate η_o = 2^-shift.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u8).range(0..=40))]
    pub eta_o_shift: u8,
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
    let readout_bits = (a.readout_bits != 0).then_some(a.readout_bits);
    let (spec, trials, what) = match (&a.net, &a.events) {
        (Some(net), Some(ev)) => {
            let saved = SavedNet::load(net).with_context(|| format!("network file {}", net.display()))?;
            let rule = RuleSettings { eta_shift: a.eta_shift, eta_o_shift: a.eta_o_shift, alpha: None };
            let spec = from_saved(&saved, rule, a.seed as u32, readout_bits).with_context(|| format!("network file {}", net.display()))?;
            let set = events::read(ev, a.sensor)?;
            let split = EventSplit { binning: Binning { dt_us: a.dt_us, steps: a.steps }, loss_steps: a.loss_steps, test_fraction: a.test_fraction, grad: a.grad as usize };
            let trials = event_trials(&ev.display().to_string(), &set, spec.net.n_in(), split)?;
            let l = &spec.net.layers[0];
            let what = format!("{} ({} -> {} LIF -> {}), event file {}", net.display(), l.n_in, l.n, spec.net.n_out(), ev.display());
            (spec, trials, what)
        }
        _ => {
            let (spec, trials) = plasticore::sweep::builtin(a.seed, a.train as usize, a.test as usize, a.grad as usize, readout_bits)?;
            let what = format!(
                "the main job's network ({} -> {} recurrent LIF -> {}), evidence accumulation",
                mainjob::INPUTS,
                mainjob::HIDDEN,
                mainjob::OUTPUTS
            );
            (spec, trials, what)
        }
    };
    let points = grid.points().len();
    println!(
        "plasticore sweep: {what}; {points} points, {} training / {} held-out / {} gradient trials",
        trials.train.len(),
        trials.test.len(),
        trials.grad.len()
    );
    let study = Study::new(spec, trials).with_context(|| format!("sweep on {what}"))?;
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
