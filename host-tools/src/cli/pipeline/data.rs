//! Data sets for `run` and `compare`: labelled samples as per-step spike lists with a loss mask, from an
//! event file (`hw-notes/event-files.md`) or a built-in task (`tasks/`).
//!
//! A sample's class is the argmax of the readout summed over its loss steps (ties: the lower class), the
//! rule of `train` (`reference::train::accuracy`). Event files carry no loss window: the last
//! `loss_steps` steps (default steps / 4, as `train --task digits`) are the loss steps.
use anyhow::{anyhow, bail, ensure, Context, Result};
use plasticore::events::bins::Binning;
use plasticore::events::Sensor;
use plasticore::tasks::{digits, evidence::EvidenceConfig, Trial};
use std::path::{Path, PathBuf};

/// One labelled sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Input channels spiking in each step (ascending).
    pub steps: Vec<Vec<u16>>,
    /// Whether step t is a loss step (target given when learning, output summed for the class).
    pub loss: Vec<bool>,
    /// Class.
    pub label: usize,
}

impl Sample {
    /// The float input of step t (1.0 on a spiking channel), `n_in` wide.
    pub fn dense(&self, t: usize, n_in: usize) -> Vec<f64> {
        let mut x = vec![0.0; n_in];
        for &c in &self.steps[t] {
            x[c as usize] = 1.0;
        }
        x
    }
}

/// Where samples come from (the CLI's `--events/--sensor/--dt-us/--steps/--loss-steps` or `--task`).
#[derive(clap::Args, Clone, Debug)]
pub struct DataArgs {
    /// Event file of labelled samples (`hw-notes/event-files.md`); learning (with `--learn`) runs on it.
    #[arg(long, required_unless_present = "task", conflicts_with = "task")]
    pub events: Option<PathBuf>,
    /// Held-out event file: accuracy without learning after every epoch (default: none).
    #[arg(long, conflicts_with = "task")]
    pub test_events: Option<PathBuf>,
    /// Sensor size W,H,P or C (required for .npy and CSV event files).
    #[arg(long, value_parser = Sensor::parse)]
    pub sensor: Option<Sensor>,
    /// Step length in µs (event files).
    #[arg(long, default_value_t = 1000)]
    pub dt_us: u64,
    /// Steps per sample [event files: the longest sample's; digits: 100].
    #[arg(long)]
    pub steps: Option<usize>,
    /// Loss steps at the end of each sample [default: steps / 4, as train].
    #[arg(long)]
    pub loss_steps: Option<usize>,
    /// Built-in task instead of an event file: `digits` (rate-coded sklearn digits, the split and spikes
    /// of `train --task digits --seed S`) or `evidence` (evidence accumulation, `tasks::evidence`).
    #[arg(long)]
    pub task: Option<String>,
    /// Digits data file (`--task digits`).
    #[arg(long, default_value = digits::DEFAULT_PATH)]
    pub data: PathBuf,
    /// Seed of the task's split and spikes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Use only the first N samples of each set (0 = all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
}

/// Learning set and held-out set (possibly empty).
pub struct Data {
    /// Samples learnt from (and scored while learning).
    pub train: Vec<Sample>,
    /// Held-out samples, scored without learning.
    pub test: Vec<Sample>,
    /// Input channels.
    pub inputs: usize,
    /// Where it came from, for the report.
    pub source: String,
}

fn from_trial(t: &Trial) -> Sample {
    Sample {
        steps: t.seq.inputs.iter().map(|u| u.iter().enumerate().filter(|(_, &x)| x != 0.0).map(|(i, _)| i as u16).collect()).collect(),
        loss: t.seq.targets.iter().map(Option::is_some).collect(),
        label: t.label,
    }
}

fn read_events(path: &Path, a: &DataArgs) -> Result<(Vec<Sample>, usize)> {
    let (set, spikes, st) = crate::cli::events::read_binned(path, a.sensor, Binning { dt_us: a.dt_us, steps: a.steps })?;
    let channels = set.sensor.channels();
    ensure!(channels <= 65_536, "event file {}: {channels} channels", path.display());
    let ls = a.loss_steps.unwrap_or((st.steps / 4).max(1));
    ensure!((1..=st.steps).contains(&ls), "--loss-steps {ls} is outside 1..={}", st.steps);
    let v = spikes
        .into_iter()
        .map(|s| Sample { loss: (0..st.steps).map(|t| t + ls >= st.steps).collect(), steps: s.steps, label: s.label as usize })
        .collect();
    Ok((v, channels as usize))
}

/// Read the samples `a` names.
pub fn load(a: &DataArgs) -> Result<Data> {
    let cut = |mut v: Vec<Sample>| {
        if a.limit > 0 {
            v.truncate(a.limit);
        }
        v
    };
    if let Some(path) = &a.events {
        let (train, inputs) = read_events(path, a)?;
        let test = match &a.test_events {
            Some(p) => {
                let (t, n) = read_events(p, a)?;
                ensure!(n == inputs, "event file {}: {n} channels, but {} has {inputs}", p.display(), path.display());
                t
            }
            None => Vec::new(),
        };
        return Ok(Data { train: cut(train), test: cut(test), inputs, source: path.display().to_string() });
    }
    let task = a.task.as_deref().ok_or_else(|| anyhow!("give --events FILE or --task NAME"))?;
    match task {
        "digits" => {
            let data = digits::load(&a.data).with_context(|| format!("digits data {}", a.data.display()))?;
            let (tr, te) = digits::split(data, 360, a.seed);
            let steps = a.steps.unwrap_or(100);
            ensure!(steps > 0, "--steps must be positive");
            let ls = a.loss_steps.unwrap_or((steps / 4).max(1)).clamp(1, steps);
            // sample k of either split as `events digits --split train|test` makes it (the held-out ones are
            // `train --task digits`'s held-out trials)
            let mk = |v: &[digits::Digit]| v.iter().enumerate().map(|(k, d)| from_trial(&digits::trial(d, steps, ls, 0.2, a.seed ^ (k as u64 + 77)))).collect();
            let (train, test) = (mk(&tr), mk(&te));
            Ok(Data { train: cut(train), test: cut(test), inputs: 64, source: format!("task digits (seed {})", a.seed) })
        }
        "evidence" => {
            let c = EvidenceConfig::default();
            let n = if a.limit > 0 { a.limit } else { 400 };
            let train = c.trials(n, a.seed).iter().map(from_trial).collect();
            let test = c.trials(n / 4 + 1, a.seed ^ 0x7E57).iter().map(from_trial).collect();
            Ok(Data { train, test, inputs: c.n_in(), source: format!("task evidence (seed {})", a.seed) })
        }
        other => bail!("--task {other:?}: expected digits or evidence"),
    }
}
