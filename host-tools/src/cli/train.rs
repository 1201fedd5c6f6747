//! `plasticore train`: trains a seeded task in float with a chosen algorithm (Adam, global-norm clipping),
//! writes the learning curve (CSV + SVG) and the trained network (`plasticore-float-net` JSON, documented in
//! `plasticore::reference::io`) to `--out`.
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use plasticore::reference::algo::{Algorithm, BiasCorrection};
use plasticore::reference::gif::Gif;
use plasticore::reference::io::{ModelSpec, SavedNet, FORMAT, VERSION};
use plasticore::reference::model::{Neuron, Presyn};
use plasticore::reference::net::{InitScales, LayerConfig, LossKind, NetConfig, Output, Params, Sequence};
use plasticore::reference::optim::{Optimizer, OptimizerKind};
use plasticore::reference::plot::{line_chart, write_atomic, Scale, Series};
use plasticore::reference::rng::Rng;
use plasticore::reference::train::{accuracy, train_batch};
use plasticore::tasks::{digits, dmts::DmtsConfig, evidence::EvidenceConfig, Trial};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Task {
    Dmts,
    Evidence,
    Digits,
}

#[derive(Clone, Copy, ValueEnum)]
enum Algo {
    Esd,
    Drtrl,
    Bptt,
    Eprop,
}

/// Draws the training batch of optimiser step `it`.
type TrialGen = Box<dyn Fn(u64) -> Vec<Trial>>;

/// Arguments of `train`.
#[derive(Args)]
pub struct TrainArgs {
    /// Task.
    #[arg(long, value_enum)]
    task: Task,
    /// Algorithm.
    #[arg(long, value_enum, default_value = "esd")]
    algo: Algo,
    /// Recurrent neurons.
    #[arg(long, default_value_t = 100)]
    n_rec: usize,
    /// Optimiser steps (batches).
    #[arg(long, default_value_t = 300)]
    iters: usize,
    /// Sequences per batch.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 3e-3)]
    lr: f64,
    /// Global-norm clip (0 = off).
    #[arg(long, default_value_t = 1.0)]
    clip: f64,
    /// ES-D-RTRL decay α.
    #[arg(long, default_value_t = 0.99)]
    alpha: f64,
    /// Input-block init multiplier (Kaiming normal).
    #[arg(long, default_value_t = 6.0)]
    ff_scale: f64,
    /// Recurrent-block init multiplier.
    #[arg(long, default_value_t = 2.0)]
    rec_scale: f64,
    /// Evaluate every this many steps.
    #[arg(long, default_value_t = 10)]
    eval_every: usize,
    /// Held-out test trials (a separate seed stream).
    #[arg(long, default_value_t = 128)]
    test_trials: usize,
    /// Stop when the test accuracy reaches this value.
    #[arg(long, default_value_t = 0.95)]
    target_acc: f64,
    /// DMTS sample period (ms).
    #[arg(long, default_value_t = 500)]
    sample: usize,
    /// DMTS / evidence delay (ms).
    #[arg(long, default_value_t = 1000)]
    delay: usize,
    /// DMTS test period (ms).
    #[arg(long, default_value_t = 500)]
    test: usize,
    /// DMTS number of directions.
    #[arg(long, default_value_t = 8)]
    dirs: usize,
    /// Digits data file (gzip CSV).
    #[arg(long, default_value = digits::DEFAULT_PATH)]
    data: PathBuf,
    /// Digits: steps per image.
    #[arg(long, default_value_t = 100)]
    steps: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory.
    #[arg(long, default_value = "out")]
    out: PathBuf,
}

/// Run the subcommand.
pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.batch > 0 && a.iters > 0 && a.n_rec > 0, "batch, iters and n-rec must be positive");
    let name = match a.task {
        Task::Dmts => "dmts",
        Task::Evidence => "evidence",
        Task::Digits => "digits",
    };
    // task generators: train trials from one seed stream, test trials from another
    let dm = DmtsConfig { sample: a.sample, delay: a.delay, test: a.test, n_dirs: a.dirs, ..Default::default() };
    let ev = EvidenceConfig { delay: a.delay, ..Default::default() };
    let (n_in, n_out, train_gen, test): (usize, usize, TrialGen, Vec<Trial>) = match a.task {
        Task::Dmts => {
            dm.validate()?;
            let d2 = dm.clone();
            let bs = a.batch;
            let test = dm.trials(a.test_trials, a.seed ^ 0x7E57);
            (dm.n_in, 2, Box::new(move |it| d2.trials(bs, a.seed.wrapping_mul(1_000_003).wrapping_add(it))), test)
        }
        Task::Evidence => {
            let e2 = ev.clone();
            let bs = a.batch;
            let test = ev.trials(a.test_trials, a.seed ^ 0x7E57);
            (ev.n_in(), 2, Box::new(move |it| e2.trials(bs, a.seed.wrapping_mul(1_000_003).wrapping_add(it))), test)
        }
        Task::Digits => {
            let data = digits::load(&a.data)?;
            let (train, test_d) = digits::split(data, 360, a.seed);
            anyhow::ensure!(!train.is_empty(), "no training images in {}", a.data.display());
            let (steps, bs, seed) = (a.steps, a.batch, a.seed);
            let loss_steps = (steps / 4).max(1);
            let test = test_d.iter().enumerate().map(|(k, d)| digits::trial(d, steps, loss_steps, 0.2, seed ^ (k as u64 + 77))).collect();
            let gen = move |it: u64| {
                let mut r = Rng::derive(seed, it);
                (0..bs).map(|k| digits::trial(&train[r.below(train.len())], steps, loss_steps, 0.2, seed ^ (it << 20) ^ k as u64)).collect()
            };
            (64, 10, Box::new(gen), test)
        }
    };
    let neuron = match a.task {
        Task::Digits => ModelSpec::Builtin(Neuron::lif((-1.0f64 / 20.0).exp()).with_exp((-1.0f64 / 5.0).exp())),
        _ => ModelSpec::Gif(Gif::dms(a.seed)),
    };
    let cfg = NetConfig {
        layers: vec![LayerConfig { n_in, n: a.n_rec, recurrent: true, neuron, presyn: Presyn::None }],
        output: Output::LeakyReadout { n_out, kappa: (-0.2f64).exp() },
        loss: LossKind::CrossEntropy,
    };
    cfg.validate()?;
    let algo = match a.algo {
        Algo::Esd => Algorithm::EsdRtrl { alpha: a.alpha, correction: BiasCorrection::Reference },
        Algo::Drtrl => Algorithm::DRtrl { renorm: false },
        Algo::Bptt => Algorithm::Bptt,
        Algo::Eprop => Algorithm::Eprop,
    };
    let mut rng = Rng::new(a.seed);
    let mut p = Params::init(&cfg, &mut rng, InitScales { ff: a.ff_scale, rec: a.rec_scale, out: 1.0 });
    let mut opt = Optimizer::new(OptimizerKind::adam(a.lr), p.len())?;
    let test_set: Vec<(Sequence, usize)> = test.into_iter().map(|t| (t.seq, t.label)).collect();
    let clip = (a.clip > 0.0).then_some(a.clip);
    let pb = ProgressBar::new(a.iters as u64);
    pb.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} steps {msg} [{elapsed}<{eta}]")?);
    let t0 = Instant::now();
    let mut csv = String::from("step,train_loss,grad_norm,test_accuracy,elapsed_s\n");
    let mut loss_pts = Vec::new();
    let mut acc_pts = Vec::new();
    let mut best = (0.0, 0usize);
    let mut reached = None;
    let mut steps_done = 0;
    for it in 0..a.iters {
        let batch: Vec<Sequence> = train_gen(it as u64).into_iter().map(|t| t.seq).collect();
        let (loss, gn) = train_batch(&cfg, &mut p, &mut opt, algo, &batch, clip)?;
        steps_done = it + 1;
        loss_pts.push((steps_done as f64, loss));
        let eval = steps_done % a.eval_every.max(1) == 0 || steps_done == a.iters;
        let acc = if eval { Some(accuracy(&cfg, &p, &test_set)) } else { None };
        csv.push_str(&format!(
            "{steps_done},{loss:.6},{gn:.6},{},{:.2}\n",
            acc.map_or(String::new(), |v| format!("{v:.4}")),
            t0.elapsed().as_secs_f64()
        ));
        if let Some(acc) = acc {
            acc_pts.push((steps_done as f64, acc));
            if acc > best.0 {
                best = (acc, steps_done);
            }
            pb.set_message(format!("loss {loss:.3} acc {acc:.3}"));
            if pb.is_hidden() {
                eprintln!("step {steps_done} loss {loss:.4} grad_norm {gn:.3} test_acc {acc:.4} t {:.0}s", t0.elapsed().as_secs_f64());
            }
            // the curve so far survives an interrupted run
            write_atomic(&a.out.join(format!("train_{name}_curve.csv")), csv.as_bytes())?;
        }
        pb.inc(1);
        if acc.is_some_and(|v| v >= a.target_acc) {
            reached = Some(steps_done);
            break;
        }
    }
    pb.finish();
    let final_acc = acc_pts.last().map_or(0.0, |p| p.1);
    write_atomic(&a.out.join(format!("train_{name}_curve.csv")), csv.as_bytes())?;
    let svg = line_chart(
        &format!("{name}: test accuracy ({} held-out trials)", a.test_trials),
        "optimiser step",
        "accuracy",
        &[Series { label: "test accuracy".into(), points: acc_pts.clone(), dashed: false }],
        Scale::Linear,
        Scale::Linear,
    );
    write_atomic(&a.out.join(format!("train_{name}_accuracy.svg")), svg.as_bytes())?;
    let svg = line_chart(
        &format!("{name}: training loss per sequence"),
        "optimiser step",
        "loss",
        &[Series { label: "train loss".into(), points: loss_pts, dashed: false }],
        Scale::Linear,
        Scale::Linear,
    );
    write_atomic(&a.out.join(format!("train_{name}_loss.svg")), svg.as_bytes())?;
    let metrics = serde_json::json!({
        "final_test_accuracy": final_acc,
        "best_test_accuracy": best.0,
        "best_at_step": best.1,
        "reached_target_at_step": reached,
        "target_accuracy": a.target_acc,
        "steps": steps_done,
        "batch": a.batch,
        "test_trials": a.test_trials,
        "wall_s": t0.elapsed().as_secs_f64(),
    });
    let saved = SavedNet {
        format: FORMAT.into(),
        version: VERSION,
        task: name.into(),
        algorithm: serde_json::to_value(algo)?,
        dt_ms: 1.0,
        config: cfg,
        params: p,
        metrics: metrics.clone(),
    };
    saved.save(&a.out.join(format!("train_{name}_net.json")))?;
    println!("{}", serde_json::json!({ "task": name, "algo": saved.algorithm, "n_rec": a.n_rec, "metrics": metrics }));
    Ok(())
}
