//! `plasticore run`: a graph image on the emulated chip (`--backend chip`, a preset of
//! `plasticore_emu::presets`) or on core-nostd directly (`--backend core`) over a data set (an event file
//! or a built-in task), inference or on-chip learning (`--learn`: the label is the class target on the
//! loss steps, online ES-D-RTRL with the image's learning rates and stochastic rounding) for `--epochs`
//! passes. Prints per epoch the accuracy while learning (each sample scored in the pass that learns from
//! it) and on the held-out set (learning off); spikes per neuron and step per population; on the chip,
//! cycles and energy per timestep (learning and inference apart) and the cores used. `-o` writes the
//! learnt network as an image (atomically); `--json` writes the figures as one flat JSON object
//! (schema: `hw-notes/pipeline.md`).
//!
//! The two backends run the same core-nostd phases and give the same bits for the same image and data
//! (`tests/run_backends.rs`).
use super::pipeline::backend::{with_core, Backend, Chip, Counts};
use super::pipeline::data::{self, DataArgs, Sample};
use super::pipeline::netimage::NetImage;
use super::pipeline::run_sample;
use anyhow::{ensure, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use plasticore_emu::presets;
use serde_json::json;
use std::path::PathBuf;

/// Where the fixed-point network runs.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// The emulated chip (cycles, energy, cores).
    Chip,
    /// core-nostd's graph directly (same bits, no timing).
    Core,
}

/// Arguments of `run`.
#[derive(Args)]
pub struct RunArgs {
    /// Graph image (from `quantize -o` or `image write --from-float`).
    #[arg(long)]
    image: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Passes over the learning set.
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// On-chip learning (the label as target on the loss steps); without it the image runs with learning off.
    #[arg(long)]
    learn: bool,
    /// chip (the emulator) or core (core-nostd directly).
    #[arg(long, value_enum, default_value = "chip")]
    backend: BackendKind,
    /// Chip preset (`plasticore emulate --print-chip --preset NAME` shows one).
    #[arg(long, default_value = "loihi")]
    preset: String,
    /// `--backend chip`: place the network as this mapping file says (`plasticore map -o`,
    /// `hw-notes/mapping.md`) instead of the partitioner's packing.
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// Write the learnt network as an image.
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Write the figures as one JSON object.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Accuracy of one epoch.
#[derive(Clone, Copy, Debug, serde::Serialize)]
struct Epoch {
    epoch: usize,
    /// While learning from the samples (None for epoch 0, before any learning).
    train: Option<f64>,
    /// Held-out, learning off (None without a held-out set).
    test: Option<f64>,
}

struct Outcome {
    epochs: Vec<Epoch>,
    /// Spikes per population (learning passes, inference passes) and the steps of each.
    spikes: (Vec<u64>, Vec<u64>),
    steps: (u64, u64),
    learnt: NetImage,
    saturations: String,
}

/// A line above the progress bar (or plainly when the bar is hidden, e.g. not a terminal).
fn say(bar: &ProgressBar, m: String) {
    if bar.is_hidden() {
        println!("{m}");
    } else {
        bar.println(m);
    }
}

/// Spikes per population and timesteps of one kind of pass.
struct Tally {
    spikes: Vec<u64>,
    steps: u64,
}

fn pass(b: &mut dyn Backend, set: &[Sample], (np, no): (usize, usize), learn: bool, tally: &mut Tally, bar: &ProgressBar) -> Result<f64> {
    b.set_learning(learn);
    let mut right = 0usize;
    for s in set {
        let r = run_sample(b, s, np, no, learn, false)?;
        right += (r.class == s.label) as usize;
        tally.spikes.iter_mut().zip(&r.spikes).for_each(|(a, x)| *a += x);
        tally.steps += s.steps.len() as u64;
        bar.inc(1);
    }
    Ok(right as f64 / set.len().max(1) as f64)
}

fn session(b: &mut dyn Backend, img: &NetImage, d: &data::Data, a: &RunArgs, bar: &ProgressBar) -> Result<Outcome> {
    let np = img.desc.populations.len();
    let no = img.desc.readout.outputs as usize;
    let (mut tl, mut ti) = (Tally { spikes: vec![0; np], steps: 0 }, Tally { spikes: vec![0; np], steps: 0 });
    let mut epochs = Vec::new();
    if !d.test.is_empty() {
        let t = pass(b, &d.test, (np, no), false, &mut ti, bar)?;
        epochs.push(Epoch { epoch: 0, train: None, test: Some(t) });
        say(bar, format!("epoch 0: held-out accuracy {:.4}", t));
    }
    for e in 1..=a.epochs {
        let tr = if a.learn { pass(b, &d.train, (np, no), true, &mut tl, bar)? } else { pass(b, &d.train, (np, no), false, &mut ti, bar)? };
        let te = if d.test.is_empty() { None } else { Some(pass(b, &d.test, (np, no), false, &mut ti, bar)?) };
        say(bar, format!(
            "epoch {e}: {} accuracy {tr:.4}{}",
            if a.learn { "learning" } else { "inference" },
            te.map_or(String::new(), |t| format!(", held-out accuracy {t:.4}"))
        ));
        epochs.push(Epoch { epoch: e, train: Some(tr), test: te });
    }
    let mut learnt = NetImage { desc: img.desc.clone(), weights: img.weights.clone(), biases: img.biases.clone(), params: img.params.clone(), readout: b.readout_weights(), stimulus: img.stimulus };
    for p in 0..np {
        learnt.set_weights(p, b.weights(p))?;
        let bias = b.biases(p);
        if img.desc.populations[p].bias != plasticore_core::graph::BiasMode::None {
            learnt.biases[p] = bias;
        }
    }
    Ok(Outcome { epochs, spikes: (tl.spikes, ti.spikes), steps: (tl.steps, ti.steps), learnt, saturations: format!("{:?}", b.saturations()) })
}

fn figures(c: &Counts, mhz: f64) -> serde_json::Value {
    let t = c.stats.steps.max(1) as f64;
    let e = &c.stats.energy;
    json!({
        "steps": c.stats.steps, "cycles_per_step": c.stats.cycles as f64 / t, "us_per_step": c.stats.cycles as f64 / t / mhz,
        "energy_nj_per_step": e.total() / 1e3 / t,
        "energy_nj_per_step_deliver": e.phases[0] / 1e3 / t, "energy_nj_per_step_integrate": e.phases[1] / 1e3 / t,
        "energy_nj_per_step_fire": e.phases[2] / 1e3 / t, "energy_nj_per_step_route": e.phases[3] / 1e3 / t,
        "energy_nj_per_step_learn": e.phases[4] / 1e3 / t, "energy_nj_per_step_noc": e.noc / 1e3 / t,
        "energy_nj_per_step_static": e.static_ / 1e3 / t, "packets_per_step": c.stats.packets as f64 / t,
        "syn_events_per_step": c.syn as f64 / t, "weight_updates_per_step": c.updates as f64 / t,
    })
}

/// Run the subcommand.
pub fn run(a: RunArgs) -> Result<()> {
    ensure!(a.epochs >= 1, "--epochs must be at least 1");
    let mut img = NetImage::read(&a.image)?;
    img.desc.learn = a.learn;
    img.config().with_context(|| format!("image {}", a.image.display()))?;
    let d = data::load(&a.data)?;
    ensure!(
        d.inputs == img.desc.inputs as usize,
        "{}: {} input channels, but the image {} has {} inputs",
        d.source,
        d.inputs,
        a.image.display(),
        img.desc.inputs
    );
    let no = img.desc.readout.outputs as usize;
    if let Some(s) = d.train.iter().chain(&d.test).find(|s| s.label >= no) {
        anyhow::bail!("{}: label {} but the image's readout has {no} outputs", d.source, s.label);
    }
    ensure!(!d.train.is_empty(), "{}: no samples", d.source);
    let total = (a.epochs * (d.train.len() + d.test.len()) + d.test.len()) as u64;
    let bar = ProgressBar::new(total);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} samples [{elapsed}<{eta}]")?);
    let np = img.desc.populations.len();
    let neurons: Vec<usize> = img.desc.populations.iter().map(|p| p.neurons as usize).collect();
    let (out, chip_json) = match a.backend {
        BackendKind::Core if a.mapping.is_some() => anyhow::bail!("--mapping places the network on the chip: use it with --backend chip"),
        BackendKind::Core => (with_core(&img, |c| session(c, &img, &d, &a, &bar))?, serde_json::Value::Null),
        BackendKind::Chip => {
            let desc = presets::preset(&a.preset).map_err(|e| anyhow::anyhow!("{e}"))?;
            let mhz = desc.clock_mhz;
            let mut chip = Chip::new(desc, &img, a.mapping.as_deref())?;
            let o = session(&mut chip, &img, &d, &a, &bar)?;
            let m = chip.emu.mapping();
            let j = json!({ "preset": a.preset, "cores": m.cores_used(), "learning": figures(&chip.learning, mhz), "inference": figures(&chip.inference, mhz) });
            (o, j)
        }
    };
    bar.finish_and_clear();
    let rate = |s: &[u64], steps: u64| -> Vec<f64> { s.iter().zip(&neurons).map(|(&x, &n)| x as f64 / (n as f64 * steps.max(1) as f64)).collect() };
    let (rl, ri) = (rate(&out.spikes.0, out.steps.0), rate(&out.spikes.1, out.steps.1));
    for p in 0..np {
        println!("population {p} ({} neurons): {:.4} spikes/neuron/step learning, {:.4} inference", neurons[p], rl[p], ri[p]);
    }
    if let Some(c) = chip_json.as_object() {
        println!("chip {}: {} cores", a.preset, c["cores"]);
        for ph in ["learning", "inference"] {
            let f = &c[ph];
            if f["steps"].as_u64().unwrap_or(0) > 0 {
                println!(
                    "  {ph}: {:.1} cycles/step ({:.3} us), {:.3} nJ/step ({} steps)",
                    f["cycles_per_step"].as_f64().unwrap_or(0.0),
                    f["us_per_step"].as_f64().unwrap_or(0.0),
                    f["energy_nj_per_step"].as_f64().unwrap_or(0.0),
                    f["steps"]
                );
            }
        }
    }
    println!("chip effects: {}", out.saturations);
    if let Some(p) = &a.out {
        let n = out.learnt.write(p)?;
        println!("wrote {} ({n} bytes, graph image version 2)", p.display());
    }
    let last = out.epochs.last().copied();
    let mut j = json!({
        "kind": plasticore::report::pipeline::RUN_KIND,
        "image": a.image.display().to_string(), "data": d.source, "backend": format!("{:?}", a.backend).to_lowercase(),
        "learn": a.learn, "epochs": a.epochs, "train_samples": d.train.len(), "test_samples": d.test.len(),
        "accuracy_train_last": last.and_then(|e| e.train), "accuracy_test_last": last.and_then(|e| e.test),
        "accuracy_train_per_epoch": out.epochs.iter().filter_map(|e| e.train).collect::<Vec<_>>(),
        "accuracy_test_per_epoch": out.epochs.iter().filter_map(|e| e.test).collect::<Vec<_>>(),
        "rate_learning_per_population": rl, "rate_inference_per_population": ri, "saturations": out.saturations,
    });
    if let Some(c) = chip_json.as_object() {
        j["preset"] = c["preset"].clone();
        j["cores"] = c["cores"].clone();
        for ph in ["learning", "inference"] {
            for (k, v) in c[ph].as_object().into_iter().flatten() {
                j[format!("{ph}_{k}")] = v.clone();
            }
        }
    }
    if let Some(p) = &a.json {
        crate::cli::image::write_atomic(p, serde_json::to_string_pretty(&j)?.as_bytes())?;
    }
    println!("{j}");
    Ok(())
}
