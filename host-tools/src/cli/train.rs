//! `plasticore train`: trains a seeded task in float with a chosen algorithm (Adam, global-norm clipping),
//! writes the learning curve (CSV + SVG) and the trained network (`plasticore-float-net` JSON, documented in
//! `plasticore::reference::io`) to `--out`. The hidden part is one population (`--n-rec`) or a stack
//! (`--hidden 128,64`, input side first), each recurrent or not (`--recurrent 1,0`); every population uses
//! the task's neuron model, and the leaky readout reads the last one.
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use plasticore::reference::algo::{Algorithm, BiasCorrection};
use plasticore::reference::coba_ei::CobaEi;
use plasticore::reference::gif::Gif;
use plasticore::reference::io::{ModelSpec, SavedNet, FORMAT, VERSION};
use plasticore::reference::model::{Neuron, Presyn};
use plasticore::reference::net::{InitScales, LayerConfig, LossKind, NetConfig, Output, Params, Sequence};
use plasticore::reference::optim::{Optimizer, OptimizerKind};
use plasticore::reference::plot::{line_chart, write_atomic, Scale, Series};
use plasticore::reference::rng::Rng;
use plasticore::reference::train::{accuracy, train_batch_masked};
use plasticore::tasks::mnist::{self, SaccadeConfig};
use plasticore::tasks::{digits, dmts::DmtsConfig, evidence::EvidenceConfig, Trial};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Task {
    Dmts,
    Evidence,
    Digits,
    Mnist,
}

/// Hidden neuron model (dmts / evidence).
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Model {
    /// GIF with a slow adaptation current (the paper's DMS neuron).
    Gif,
    /// The paper's E/I network: EI-GIF with COBA synapses, 4:1 E:I, sparse (see --p-connect).
    CobaEi,
}

/// What the leaky readout reads.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Readout {
    /// The last layer's spikes.
    Spikes,
    /// The last layer's v̂ = (V − V_th)/V_th.
    Membrane,
    /// v̂ standardised over the layer's neurons at every step (the paper's DMS script).
    MembraneStd,
}

/// Weight initialisation.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Init {
    /// sd = sqrt(2/n_x)·scale for the whole input matrix (readout: sqrt(2/n)).
    Kaiming,
    /// sd = sqrt(scale/fan_in) per block, readout with the ff scale (brainstate `KaimingNormal(scale)`).
    FanIn,
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
    /// Neurons of the one hidden population (use --hidden for a stack).
    #[arg(long, default_value_t = 100)]
    n_rec: usize,
    /// Stacked hidden populations, input side first, e.g. `--hidden 128,64` (replaces --n-rec).
    #[arg(long, value_delimiter = ',', conflicts_with = "n_rec")]
    hidden: Vec<usize>,
    /// Per population: recurrent (own spikes of the previous step feed back) or not, e.g. `--recurrent 1,0`
    /// (1/0, true/false, yes/no); one value applies to every population [default: all recurrent].
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::BoolishValueParser::new())]
    recurrent: Vec<bool>,
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
    /// Hidden neuron model for dmts / evidence (digits and mnist use LIF with an exponential synapse).
    #[arg(long, value_enum, default_value = "gif")]
    model: Model,
    /// coba-ei: connection probability of every projection (the paper's sparsity 0.1).
    #[arg(long, default_value_t = 0.1)]
    p_connect: f64,
    /// coba-ei: inhibitory init scale relative to --rec-scale (the paper's w_ei_ratio).
    #[arg(long, default_value_t = 4.0)]
    w_ei_ratio: f64,
    /// Readout input [default: membrane-std for coba-ei (the paper script), spikes otherwise; the paper's
    /// DMS script reads membrane-std too, see ARCHITECTURE.md for why dmts defaults to spikes].
    #[arg(long, value_enum)]
    readout: Option<Readout>,
    /// Readout time constant τ_o in ms [default: 10 for coba-ei (the paper script), 50 for dmts, 5 otherwise].
    #[arg(long)]
    tau_o: Option<f64>,
    /// Weight initialisation [default: fan-in for dmts (the paper script), kaiming otherwise].
    #[arg(long, value_enum)]
    init: Option<Init>,
    /// Input-block init scale (see --init) [default: 4 for coba-ei, 6 otherwise (the paper scripts)].
    #[arg(long)]
    ff_scale: Option<f64>,
    /// Readout init scale [default: 0.1 for dmts (the paper script: the ff scale), 2 for coba-ei
    /// (brainstate's KaimingNormal default), the ff scale with --init fan-in, 1 with kaiming].
    #[arg(long)]
    out_scale: Option<f64>,
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
    /// Digits / MNIST: steps per image [default: 100 for digits, 300 (three 100 ms saccades) for mnist].
    #[arg(long)]
    steps: Option<usize>,
    /// MNIST: directory of the IDX files.
    #[arg(long, default_value = mnist::DEFAULT_DIR)]
    mnist_dir: PathBuf,
    /// MNIST: training images used (the first N of the 60 000; 0 = all).
    #[arg(long, default_value_t = 0)]
    train_images: usize,
    /// MNIST: DVS contrast threshold C.
    #[arg(long, default_value_t = 0.5)]
    contrast: f64,
    /// MNIST: sum the events of pool×pool sensor blocks into one input channel (1 = 2·34² inputs).
    #[arg(long, default_value_t = 1)]
    pool: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory.
    #[arg(long, default_value = "out")]
    out: PathBuf,
}

/// Run the subcommand.
pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.batch > 0 && a.iters > 0, "--batch and --iters must be positive");
    let hidden = if a.hidden.is_empty() { vec![a.n_rec] } else { a.hidden.clone() };
    anyhow::ensure!(hidden.iter().all(|&n| n > 0), "every hidden population needs at least one neuron (--n-rec / --hidden)");
    let recurrent = match a.recurrent.len() {
        0 => vec![true; hidden.len()],
        1 => vec![a.recurrent[0]; hidden.len()],
        k if k == hidden.len() => a.recurrent.clone(),
        k => anyhow::bail!("--recurrent has {k} values but there are {} hidden populations (give one value or one per population)", hidden.len()),
    };
    // the n_rec of the single-population paths below (coba-ei) is the first population's size
    let n_rec = hidden[0];
    let name = match a.task {
        Task::Dmts => "dmts",
        Task::Evidence => "evidence",
        Task::Digits => "digits",
        Task::Mnist => "mnist",
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
            let (steps, bs, seed) = (a.steps.unwrap_or(100), a.batch, a.seed);
            anyhow::ensure!(steps > 0, "--steps must be positive");
            let loss_steps = (steps / 4).max(1);
            let test = test_d
                .iter()
                .take(a.test_trials)
                .enumerate()
                .map(|(k, d)| digits::trial(d, steps, loss_steps, 0.2, seed ^ (k as u64 + 77)))
                .collect();
            let gen = move |it: u64| {
                let mut r = Rng::derive(seed, it);
                (0..bs).map(|k| digits::trial(&train[r.below(train.len())], steps, loss_steps, 0.2, seed ^ (it << 20) ^ k as u64)).collect()
            };
            (64, 10, Box::new(gen), test)
        }
        Task::Mnist => {
            let sc = SaccadeConfig { steps: a.steps.unwrap_or(300), c: a.contrast, ..Default::default() };
            sc.validate()?;
            anyhow::ensure!(a.pool >= 1, "--pool must be at least 1");
            let mut train = mnist::load(&a.mnist_dir, "train")?;
            if a.train_images > 0 {
                train.truncate(a.train_images);
            }
            let test_imgs = mnist::load(&a.mnist_dir, "t10k")?;
            anyhow::ensure!(!train.is_empty() && !test_imgs.is_empty(), "no MNIST images in {}", a.mnist_dir.display());
            let (r0, c0) = (test_imgs[0].rows, test_imgs[0].cols);
            anyhow::ensure!(r0 == c0 && train[0].rows == r0 && train[0].cols == c0, "MNIST: train and test images must be square and of one size");
            let (bs, seed, pool) = (a.batch, a.seed, a.pool);
            let loss_steps = (sc.steps / 4).max(1);
            let side = sc.side(&test_imgs[0]);
            let n_in = 2 * side.div_ceil(pool).pow(2);
            let test = test_imgs
                .iter()
                .take(a.test_trials)
                .enumerate()
                .map(|(k, im)| mnist::trial(&sc, im, loss_steps, pool, seed ^ (k as u64 + 77)))
                .collect::<Result<Vec<_>, _>>()?;
            let gen = move |it: u64| {
                let mut r = Rng::derive(seed, it);
                (0..bs)
                    .map(|k| {
                        let im = &train[r.below(train.len())];
                        // cannot fail: the config is validated and every image has the checked square shape
                        mnist::trial(&sc, im, loss_steps, pool, seed ^ (it << 20) ^ k as u64).unwrap_or_else(|_| Trial {
                            seq: Sequence { inputs: Vec::new(), targets: Vec::new() },
                            label: im.label,
                        })
                    })
                    .collect()
            };
            (n_in, 10, Box::new(gen), test)
        }
    };
    let coba = (a.model == Model::CobaEi && matches!(a.task, Task::Dmts | Task::Evidence)).then(|| CobaEi::paper(n_rec, a.seed));
    if let Some(m) = &coba {
        anyhow::ensure!(hidden.len() == 1 && recurrent[0], "coba-ei builds one recurrent E/I population: give no --hidden stack and no --recurrent 0");
        m.validate()?;
        anyhow::ensure!(m.n_exc > 0 && m.n_exc < n_rec, "coba-ei needs at least 2 neurons (4:1 E:I)");
    }
    let neuron = match (a.task, coba) {
        (Task::Digits | Task::Mnist, _) => {
            ModelSpec::Builtin(Neuron::lif((-1.0f64 / 20.0).exp()).with_exp((-1.0f64 / 5.0).exp()))
        }
        (_, Some(m)) => ModelSpec::CobaEi(m),
        _ => ModelSpec::Gif(Gif::dms(a.seed)),
    };
    let is_dmts = a.task == Task::Dmts;
    // dmts: a leaky spike readout with τ_o = 50 ms and a small initial scale learns the task in tens of
    // steps (the paper's standardised-membrane readout, τ_o = 10 ms, learns it too but far more slowly);
    // coba-ei: the paper's standardised-membrane readout
    let paper_readout = coba.is_some();
    let readout = a.readout.unwrap_or(if paper_readout { Readout::MembraneStd } else { Readout::Spikes });
    let tau_o = a.tau_o.unwrap_or(if paper_readout { 10.0 } else if is_dmts { 50.0 } else { 5.0 });
    anyhow::ensure!(tau_o > 0.0 && tau_o.is_finite(), "--tau-o must be positive");
    let kappa = (-1.0 / tau_o).exp();
    let output = match readout {
        Readout::Spikes => Output::LeakyReadout { n_out, kappa },
        Readout::Membrane => Output::MembraneReadout { n_out, kappa, standardize: false },
        Readout::MembraneStd => Output::MembraneReadout { n_out, kappa, standardize: true },
    };
    let cfg = NetConfig {
        layers: hidden
            .iter()
            .zip(&recurrent)
            .enumerate()
            .map(|(l, (&n, &rec))| LayerConfig { n_in: if l == 0 { n_in } else { hidden[l - 1] }, n, recurrent: rec, neuron: neuron.clone(), presyn: Presyn::None })
            .collect(),
        output,
        loss: LossKind::CrossEntropy,
    };
    cfg.validate()?;
    let algo = match a.algo {
        Algo::Esd => Algorithm::EsdRtrl { alpha: a.alpha, correction: BiasCorrection::Reference },
        Algo::Drtrl => Algorithm::DRtrl { renorm: false },
        Algo::Bptt => Algorithm::Bptt,
        Algo::Eprop => Algorithm::Eprop,
    };
    anyhow::ensure!(!matches!(a.algo, Algo::Eprop) || hidden.len() == 1, "e-prop trains one hidden population: drop the --hidden stack");
    let mut rng = Rng::new(a.seed);
    let ff = a.ff_scale.unwrap_or(if coba.is_some() { 4.0 } else { 6.0 });
    let (mut p, mask) = match (coba, a.init.unwrap_or(if is_dmts { Init::FanIn } else { Init::Kaiming })) {
        (Some(m), _) => {
            let sc = InitScales { ff, rec: a.rec_scale, out: a.out_scale.unwrap_or(2.0) };
            let (p, mask) = m.init_params(&cfg, &mut rng, sc, a.w_ei_ratio, a.p_connect)?;
            (p, Some(mask))
        }
        (None, Init::Kaiming) => {
            (Params::init(&cfg, &mut rng, InitScales { ff, rec: a.rec_scale, out: a.out_scale.unwrap_or(1.0) }), None)
        }
        (None, Init::FanIn) => {
            let out = a.out_scale.unwrap_or(if is_dmts { 0.1 } else { ff });
            (Params::init_fan_in(&cfg, &mut rng, InitScales { ff, rec: a.rec_scale, out }), None)
        }
    };
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
        let (loss, gn) = train_batch_masked(&cfg, &mut p, &mut opt, algo, &batch, clip, mask.as_deref())?;
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
        "n_rec": hidden.iter().sum::<usize>(),
        "hidden": hidden,
        "recurrent": recurrent,
        "connections": mask.as_ref().map(|m| m.iter().flatten().filter(|&&k| k).count()),
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
    println!("{}", serde_json::json!({ "task": name, "algo": saved.algorithm, "n_rec": metrics["n_rec"], "hidden": metrics["hidden"], "metrics": metrics }));
    Ok(())
}
