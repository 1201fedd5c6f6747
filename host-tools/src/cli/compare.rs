//! `plasticore compare`: the float reference against the fixed-point network of an image, on the same
//! network and inputs, with the same learning rule (`reference::onchip::OnChip`, deep Symmetric signals,
//! online updates — the rule the core implements). The float side runs the image's own weights (and
//! biases) dequantized, with the image's trace decay and learning rates; its neuron constants (decays,
//! threshold, surrogate) are the float file's, which the image holds rounded to nearest in Q.24 / Q.16 —
//! except a population with per-neuron records (`ParamMode::PerNeuron`), whose float twin is a per-neuron
//! layer with every neuron's α_m and θ dequantized from the image (decay·2^−decay_frac,
//! threshold·2^−state_frac: exact in f64). The file goes through `quantize::float_net::core_layers`
//! first, as `image write --from-float` and `quantize` did (gains folded into the weights the image
//! holds).
//! So what differs is the fixed-point arithmetic (states, traces, roundings; stochastic weight rounding
//! when learning), not the weight quantization, which `quantize` reports; the original float network's
//! accuracy is printed beside it.
//!
//! Figures and tolerances (each with pass/fail; the schema is flat, `hw-notes/pipeline.md`):
//! - **spike agreement** per population: the fraction of (neuron, step) pairs where both spike or both
//!   stay silent, on the evaluation set. Floor: the agreement of two *independent* spike trains at the two
//!   measured rates, r_f·r_q + (1 − r_f)(1 − r_q) (a free-running fixed network departs from the float
//!   trajectory at the first threshold crossing that rounding flips, so no format-derived bound holds for
//!   whole samples; the floor says the fixed network still tracks the float one better than chance).
//! - **output agreement**: the fraction of samples where both choose the same class. Floor: two
//!   independent classifiers with the two accuracies over K classes, a_f·a_q + (1 − a_f)(1 − a_q)/(K − 1).
//! - **accuracy**: fixed ≥ float − 2·√(2·a_f(1 − a_f)/n) (two standard errors of the difference of two
//!   binomial estimates on n samples: a larger shortfall is not sampling noise).
//! - **weight drift** (`--learn`): the weight changes over the learning pass, ΔW_q (fixed) and ΔW_f
//!   (float), hidden populations and readout in weight units: their distance |ΔW_q − ΔW_f|, cosine and
//!   norms. Tolerance |ΔW_q − ΔW_f| ≤ 3·σ_SR + ½·|ΔW_f|. σ_SR is derived: the core rounds every online
//!   update stochastically to the weight LSB (unbiased), adding per update a zero-mean error of variance
//!   δ(LSB − δ) ≤ LSB·|ΔW| (δ = |ΔW| mod LSB), independent across updates, so the summed noise has
//!   σ_SR² ≤ Σ_classes LSB·Σ_steps Σ_w |ΔW_f,step| (measured on the float run, whose per-step updates
//!   the fixed ones follow); 3σ_SR covers it. The ½·|ΔW_f| term is a chosen allowance for the
//!   trajectories parting as spikes flip (not derived). When η is far below the weight LSB, σ_SR dwarfs
//!   |ΔW_f| and the cosine falls towards 0: the learning is unbiased but noise-dominated (printed).
//! - **gradient cosine** on the first `--grad-samples` samples, at the image's weights, summed over the
//!   samples (hidden populations; accumulate mode, weights held): fixed ES-D-RTRL against float ES-D-RTRL,
//!   tolerance ≥ 0.95 (the default formats' bound of `tests/gradient_cosine.rs`); fixed against float
//!   BPTT, tolerance cos(fixed, BPTT) ≥ cos(float ES, BPTT) − √(2(1 − cos(fixed, float ES))) (the
//!   triangle inequality for angles: the fixed rule cannot be further from BPTT than the float rule plus
//!   its own distance to the float rule, as a chord bound).
use super::pipeline::backend::{with_core, Backend, Chip};
use super::pipeline::data::{self, DataArgs, Sample};
use super::pipeline::netimage::NetImage;
use super::pipeline::{argmax, run_sample};
use crate::cli::image::graph::OwnedWeights;
use anyhow::{anyhow, bail, ensure, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use plasticore::reference::algo::{sequence_grad, Algorithm, OnlineOptions};
use plasticore::reference::io::{ModelSpec, SavedNet};
use plasticore::reference::net::{LossKind, NetConfig, Output, Params, Sequence, Target as FTarget};
use plasticore::reference::onchip::{DeepOptions, Feedback, OnChip, OnChipConfig, UpdateMode};
use plasticore::quantize::float_net::{core_layers, with_per_neuron};
use plasticore_core::graph::{BiasMode, LambdaSource, ParamMode};
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `compare`.
#[derive(Args)]
pub struct CompareArgs {
    /// The float network (`plasticore-float-net`, from `train`) the image was made from.
    #[arg(long)]
    net: PathBuf,
    /// The fixed-point image (from `quantize -o`).
    #[arg(long)]
    image: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Learn one pass over the learning set on both sides (online, label as target) before comparing.
    #[arg(long)]
    learn: bool,
    /// Fixed-point backend: core or chip (the same bits, `tests/pipeline.rs`).
    #[arg(long, value_enum, default_value = "core")]
    backend: super::run::BackendKind,
    /// Chip preset (`--backend chip`).
    #[arg(long, default_value = "loihi")]
    preset: String,
    /// Samples whose gradients are compared.
    #[arg(long, default_value_t = 8)]
    grad_samples: usize,
    /// Write the JSON object to this file too.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = a.iter().map(|x| x * x).sum::<f64>().sqrt() * b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if n == 0.0 {
        0.0
    } else {
        dot / n
    }
}

fn dense(w: &OwnedWeights) -> Result<&[plasticore_core::format::Weight]> {
    match w {
        OwnedWeights::Dense(v) => Ok(v),
        OwnedWeights::Csr(..) => bail!("compare handles dense images (this one has compressed rows)"),
    }
}

/// The float twin of the image: the file's configuration with the image's weights (and biases)
/// dequantized, and the image's rule constants.
fn float_twin(saved: &SavedNet, img: &NetImage) -> Result<(NetConfig<ModelSpec>, Params<f64>, OnChipConfig)> {
    let mut cfg = saved.config.clone();
    // the image's readout rule is what the fixed side runs (an MSE readout learns one-hot targets)
    cfg.loss = match img.desc.readout.config.loss {
        plasticore_core::readout::Loss::Mse => LossKind::Mse,
        plasticore_core::readout::Loss::CrossEntropy => LossKind::CrossEntropy,
    };
    let np = img.desc.populations.len();
    ensure!(cfg.layers.len() == np, "the network has {} layers, the image {np} populations", cfg.layers.len());
    ensure!(matches!(cfg.output, Output::LeakyReadout { .. }), "only a leaky readout has a fixed-point counterpart");
    ensure!(cfg.n_in() == img.desc.inputs as usize, "the network has {} inputs, the image {}", cfg.n_in(), img.desc.inputs);
    let mut p = Params::zeros(&cfg);
    for (l, (pd, c)) in img.desc.populations.iter().zip(&saved.config.layers).enumerate() {
        ensure!(pd.neurons as usize == c.n, "layer {l}: {} neurons in the network, {} in the image", c.n, pd.neurons);
        ensure!(pd.lambda == LambdaSource::Symmetric, "population {l}: compare runs the Symmetric learning signal (the image has {:?})", pd.lambda);
        let w = dense(&img.weights[l])?;
        ensure!(w.len() == p.layers[l].w.len(), "layer {l}: {} weights in the image, {} in the network", w.len(), p.layers[l].w.len());
        // Per axon: its projection's weight shift scales the mantissa LSB.
        let lsb = img.axon_lsbs(l)?;
        let n = pd.neurons as usize;
        p.layers[l].w = w.iter().enumerate().map(|(k, m)| m.0 as f64 * lsb[k / n.max(1)]).collect();
        if pd.params == ParamMode::PerNeuron {
            let f = pd.layer.formats;
            let (dl, sl) = (2f64.powi(-(f.decay_frac as i32)), 2f64.powi(-(f.state_frac as i32)));
            let (am, th): (Vec<f64>, Vec<f64>) = img.params[l].iter().map(|v| (v.decay as f64 * dl, v.threshold as f64 * sl)).unzip();
            cfg.layers[l].neuron = with_per_neuron(&c.neuron, am, th).map_err(|e| anyhow!("layer {l} (per-neuron records in the image): {e}"))?;
        }
        if pd.bias != BiasMode::None {
            let sf = 2f64.powi(pd.layer.formats.state_frac as i32);
            p.layers[l].b = img.biases[l].iter().map(|&b| b as f64 / sf).collect();
        }
    }
    ensure!(img.readout.len() == p.readout.len(), "readout: {} weights in the image, {} in the network", img.readout.len(), p.readout.len());
    let lsb = img.weight_lsb(None);
    p.readout = img.readout.iter().map(|m| m.0 as f64 * lsb).collect();
    let l0 = &img.desc.populations[0].layer;
    ensure!(
        img.desc.populations.iter().all(|p| p.layer.trace_decay == l0.trace_decay && p.layer.learning_rate == l0.learning_rate),
        "compare needs one trace decay and one learning rate for all populations (the float rule has one)"
    );
    let rate = |m: u16, s: u8| m as f64 * 2f64.powi(-(s as i32));
    let ro = &img.desc.readout.config;
    let oc = OnChipConfig {
        alpha: l0.trace_decay.0 as f64 / 2f64.powi(l0.formats.decay_frac as i32),
        eta: rate(l0.learning_rate.mant, l0.learning_rate.shift),
        eta_o: rate(ro.learning_rate.mant, ro.learning_rate.shift),
        feedback: Feedback::Symmetric,
        mode: UpdateMode::Online,
    };
    Ok((cfg, p, oc))
}

/// The float target of a labelled step, as the fixed backends give it (`backend::ClassTargets`): the
/// class for cross-entropy, its one-hot vector for MSE.
fn class_target(cfg: &NetConfig<ModelSpec>, label: usize) -> FTarget {
    match cfg.loss {
        LossKind::CrossEntropy => FTarget::Class(label),
        LossKind::Mse => FTarget::Values((0..cfg.n_out()).map(|k| if k == label { 1.0 } else { 0.0 }).collect()),
    }
}

fn sequence(cfg: &NetConfig<ModelSpec>, s: &Sample, n_in: usize) -> Sequence {
    Sequence {
        inputs: (0..s.steps.len()).map(|t| s.dense(t, n_in)).collect(),
        targets: s.loss.iter().map(|&l| l.then(|| class_target(cfg, s.label))).collect(),
    }
}

/// Float sample: class, and per step per population the spikes (as neuron lists).
fn float_sample(f: &mut OnChip<ModelSpec>, cfg: &NetConfig<ModelSpec>, s: &Sample, n_in: usize, learn: bool) -> Result<(usize, Vec<Vec<Vec<u16>>>)> {
    f.reset();
    let no = f.output().len().max(1);
    let mut score = vec![0.0f64; 0];
    let mut trace = Vec::with_capacity(s.steps.len());
    let tgt = class_target(cfg, s.label);
    for t in 0..s.steps.len() {
        let target = (learn && s.loss[t]).then_some(&tgt);
        f.step(&s.dense(t, n_in), target, None).map_err(|e| anyhow!("float: {e}"))?;
        if score.is_empty() {
            score = vec![0.0; f.output().len().max(no)];
        }
        if s.loss[t] {
            score.iter_mut().zip(f.output()).for_each(|(a, &o)| *a += o);
        }
        trace.push(f.record().layers.iter().map(|l| l.s.iter().enumerate().filter(|(_, &x)| x > 0.5).map(|(j, _)| j as u16).collect()).collect());
    }
    Ok((argmax(&score), trace))
}

struct Side {
    classes: Vec<usize>,
    traces: Vec<Vec<Vec<Vec<u16>>>>,
}

/// Run the subcommand.
pub fn run(a: CompareArgs) -> Result<()> {
    let saved = SavedNet::load(&a.net).with_context(|| format!("network file {}", a.net.display()))?;
    // what the image was converted from (per-neuron layers in the core's form)
    let saved = core_layers(&saved).with_context(|| format!("network file {}", a.net.display()))?;
    let mut img = NetImage::read(&a.image)?;
    img.desc.learn = true; // the gradient and learning passes need it; inference passes give no target
    let (cfg, p_twin, oc) = float_twin(&saved, &img).with_context(|| format!("{} against {}", a.net.display(), a.image.display()))?;
    let d = data::load(&a.data)?;
    ensure!(d.inputs == cfg.n_in(), "{}: {} channels, the network {} inputs", d.source, d.inputs, cfg.n_in());
    let eval: &[Sample] = if d.test.is_empty() { &d.train } else { &d.test };
    ensure!(!eval.is_empty(), "{}: no samples", d.source);
    let n_in = cfg.n_in();
    let np = cfg.layers.len();
    let no = img.desc.readout.outputs as usize;
    if let Some(s) = d.train.iter().chain(eval).find(|s| s.label >= no) {
        bail!("{}: label {} but the image's readout has {no} outputs", d.source, s.label);
    }
    let learn_set: &[Sample] = if a.learn { &d.train } else { &[] };
    let gs = a.grad_samples.min(eval.len());
    let bar = ProgressBar::new((2 * (learn_set.len() + eval.len()) + 3 * gs + eval.len()) as u64);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} samples [{elapsed}<{eta}]")?);

    // --- float side: learning pass, evaluation with spike traces
    let mut fl = OnChip::with_deep(cfg.clone(), p_twin.clone(), oc.clone(), DeepOptions::default()).map_err(|e| anyhow!("float: {e}"))?;
    // Σ over steps of |ΔW| per weight class (population l, then the readout): the stochastic-rounding
    // noise the fixed run adds to these updates has variance Σ δ(LSB − δ) ≤ LSB·Σ|ΔW| (δ = |ΔW| mod LSB)
    let mut l1 = vec![0.0f64; np + 1];
    for s in learn_set {
        fl.reset();
        let tgt = class_target(&cfg, s.label);
        for t in 0..s.steps.len() {
            let before = fl.params.clone();
            fl.step(&s.dense(t, n_in), s.loss[t].then_some(&tgt), None).map_err(|e| anyhow!("float: {e}"))?;
            for (acc, (now, was)) in l1.iter_mut().zip(fl.params.layers.iter().zip(&before.layers)) {
                *acc += now.w.iter().zip(&was.w).map(|(a, b)| (a - b).abs()).sum::<f64>();
            }
            l1[np] += fl.params.readout.iter().zip(&before.readout).map(|(a, b)| (a - b).abs()).sum::<f64>();
        }
        bar.inc(1);
    }
    // The largest mantissa LSB of each population (a shifted projection's rows have the coarser one):
    // an upper bound of the stochastic-rounding noise.
    let max_lsb = |l: usize| -> Result<f64> {
        if l < np {
            Ok(img.axon_lsbs(l)?.into_iter().fold(0.0, f64::max))
        } else {
            Ok(img.weight_lsb(None))
        }
    };
    let sr_noise = (0..=np).map(|l| Ok(max_lsb(l)? * l1[l])).sum::<Result<f64>>()?.sqrt();
    let mut float = Side { classes: Vec::new(), traces: Vec::new() };
    for s in eval {
        let (c, tr) = float_sample(&mut fl, &cfg, s, n_in, false)?;
        float.classes.push(c);
        float.traces.push(tr);
        bar.inc(1);
    }
    let p_float_end = fl.params.clone();
    // the original float network (its own constants and weights), inference only (what quantization
    // costs, for reference)
    let mut orig = OnChip::with_deep(saved.config.clone(), saved.params.clone(), oc.clone(), DeepOptions::default()).map_err(|e| anyhow!("float: {e}"))?;
    let mut orig_right = 0usize;
    for s in eval {
        orig_right += (float_sample(&mut orig, &cfg, s, n_in, false)?.0 == s.label) as usize;
        bar.inc(1);
    }

    // --- fixed side
    let fixed_pass = |b: &mut dyn Backend| -> Result<(Side, Vec<Vec<f64>>, Vec<f64>)> {
        for s in learn_set {
            b.set_learning(true);
            run_sample(b, s, np, no, true, false)?;
            bar.inc(1);
        }
        b.set_learning(false);
        let mut side = Side { classes: Vec::new(), traces: Vec::new() };
        for s in eval {
            let r = run_sample(b, s, np, no, false, true)?;
            side.classes.push(r.class);
            side.traces.push(r.trace);
            bar.inc(1);
        }
        let mut w = Vec::with_capacity(np);
        for p in 0..np {
            let (lsb, n) = (img.axon_lsbs(p)?, img.desc.populations[p].neurons as usize);
            w.push(b.weights(p).iter().enumerate().map(|(k, m)| m.0 as f64 * lsb[k / n.max(1)]).collect());
        }
        let ro = b.readout_weights().iter().map(|m| m.0 as f64 * img.weight_lsb(None)).collect();
        Ok((side, w, ro))
    };
    let (fixed, w_end, ro_end) = match a.backend {
        super::run::BackendKind::Core => with_core(&img, |c| fixed_pass(c))?,
        super::run::BackendKind::Chip => {
            let desc = plasticore_emu::presets::preset(&a.preset).map_err(|e| anyhow!("{e}"))?;
            fixed_pass(&mut Chip::new(desc, &img, None)?)?
        }
    };

    // --- gradients at the image's weights
    let (mut g_fixed, mut g_float, mut g_bptt) = (Vec::new(), Vec::new(), Vec::new());
    let grads_fixed: Vec<Vec<Vec<f64>>> = with_core(&img, |c| {
        eval[..gs]
            .iter()
            .map(|s| {
                bar.inc(1);
                c.accumulate(&s.steps, &s.loss, s.label as u16)
            })
            .collect()
    })?;
    for (s, gf) in eval[..gs].iter().zip(&grads_fixed) {
        let mut f = OnChip::with_deep(cfg.clone(), p_twin.clone(), OnChipConfig { mode: UpdateMode::Accumulate, ..oc.clone() }, DeepOptions::default())
            .map_err(|e| anyhow!("float: {e}"))?;
        float_sample(&mut f, &cfg, s, n_in, true)?;
        bar.inc(1);
        let (_, g) = sequence_grad(&cfg, &p_twin, Algorithm::Bptt, OnlineOptions::default(), &sequence(&cfg, s, n_in)).map_err(|e| anyhow!("BPTT: {e}"))?;
        bar.inc(1);
        for (l, gfl) in gf.iter().enumerate() {
            // summed over samples into one flat vector, populations in order
            let fl_acc = &f.accumulated().layers[l].w;
            let bp = &g.layers[l].w;
            let off: usize = (0..l).map(|q| cfg.layers[q].n * (cfg.layers[q].n_in + if cfg.layers[q].recurrent { cfg.layers[q].n } else { 0 })).sum();
            let len = gfl.len();
            if g_fixed.len() < off + len {
                g_fixed.resize(off + len, 0.0);
                g_float.resize(off + len, 0.0);
                g_bptt.resize(off + len, 0.0);
            }
            for k in 0..len {
                g_fixed[off + k] += gfl[k];
                g_float[off + k] += fl_acc[k];
                g_bptt[off + k] -= bp[k]; // an update is −η·gradient
            }
        }
    }
    bar.finish_and_clear();

    // --- figures
    let n = eval.len() as f64;
    let acc = |c: &[usize]| c.iter().zip(eval).filter(|(c, s)| **c == s.label).count() as f64 / n;
    let (acc_f, acc_q) = (acc(&float.classes), acc(&fixed.classes));
    let acc_tol = 2.0 * (2.0 * acc_f * (1.0 - acc_f) / n).sqrt();
    let out_agree = float.classes.iter().zip(&fixed.classes).filter(|(a, b)| a == b).count() as f64 / n;
    let k = no.max(2) as f64;
    let out_floor = acc_f * acc_q + (1.0 - acc_f) * (1.0 - acc_q) / (k - 1.0);
    let mut j = json!({
        "kind": plasticore::report::pipeline::COMPARE_KIND,
        "net": a.net.display().to_string(), "image": a.image.display().to_string(), "data": d.source,
        "backend": format!("{:?}", a.backend).to_lowercase(), "learn": a.learn, "learn_samples": learn_set.len(),
        "eval_samples": eval.len(), "populations": np,
        "accuracy_float": acc_f, "accuracy_fixed": acc_q, "accuracy_float_original_weights": orig_right as f64 / n,
        "accuracy_tolerance": acc_tol, "accuracy_pass": acc_q >= acc_f - acc_tol,
        "output_agreement": out_agree, "output_agreement_floor": out_floor, "output_agreement_pass": out_agree > out_floor,
    });
    let mut all_pass = acc_q >= acc_f - acc_tol && out_agree > out_floor;
    for (p, layer) in cfg.layers.iter().enumerate() {
        let (mut same, mut sf, mut sq, mut cells) = (0u64, 0u64, 0u64, 0u64);
        for (tf, tq) in float.traces.iter().zip(&fixed.traces) {
            for (stf, stq) in tf.iter().zip(tq) {
                let (a, b) = (&stf[p], &stq[p]);
                let both = a.iter().filter(|x| b.contains(x)).count() as u64;
                sf += a.len() as u64;
                sq += b.len() as u64;
                cells += layer.n as u64;
                same += layer.n as u64 - (a.len() as u64 + b.len() as u64 - 2 * both);
            }
        }
        let (rf, rq) = (sf as f64 / cells.max(1) as f64, sq as f64 / cells.max(1) as f64);
        let agree = same as f64 / cells.max(1) as f64;
        let floor = rf * rq + (1.0 - rf) * (1.0 - rq);
        all_pass &= agree > floor;
        j[format!("spike_agreement_L{p}")] = json!(agree);
        j[format!("spike_agreement_floor_L{p}")] = json!(floor);
        j[format!("spike_agreement_pass_L{p}")] = json!(agree > floor);
        j[format!("rate_float_L{p}")] = json!(rf);
        j[format!("rate_fixed_L{p}")] = json!(rq);
    }
    if a.learn {
        let (mut dq, mut df) = (Vec::new(), Vec::new());
        for (l, we) in w_end.iter().enumerate() {
            for ((e, s0), f) in we.iter().zip(&p_twin.layers[l].w).zip(&p_float_end.layers[l].w) {
                dq.push(e - s0);
                df.push(f - s0);
            }
        }
        for ((e, s0), f) in ro_end.iter().zip(&p_twin.readout).zip(&p_float_end.readout) {
            dq.push(e - s0);
            df.push(f - s0);
        }
        let c = cosine(&dq, &df);
        let nf = df.iter().map(|x| x * x).sum::<f64>().sqrt();
        let nq = dq.iter().map(|x| x * x).sum::<f64>().sqrt();
        let dist = dq.iter().zip(&df).map(|(q, f)| (q - f) * (q - f)).sum::<f64>().sqrt();
        let tol = 3.0 * sr_noise + 0.5 * nf;
        all_pass &= dist <= tol;
        j["weight_drift_cosine"] = json!(c);
        j["weight_drift_distance"] = json!(dist);
        j["weight_drift_norm_float"] = json!(nf);
        j["weight_drift_norm_fixed"] = json!(nq);
        j["weight_drift_sr_noise"] = json!(sr_noise);
        j["weight_drift_tolerance"] = json!(tol);
        j["weight_drift_pass"] = json!(dist <= tol);
    }
    let c_ff = cosine(&g_fixed, &g_float);
    let c_fb = cosine(&g_fixed, &g_bptt);
    let c_eb = cosine(&g_float, &g_bptt);
    let bptt_floor = c_eb - (2.0 * (1.0 - c_ff)).max(0.0).sqrt();
    let grad_nonzero = g_float.iter().any(|&x| x != 0.0) && g_fixed.iter().any(|&x| x != 0.0);
    all_pass &= c_ff >= 0.95 && c_fb >= bptt_floor && grad_nonzero;
    j["grad_samples"] = json!(gs);
    j["grad_cosine_fixed_float_esd"] = json!(c_ff);
    j["grad_cosine_fixed_float_esd_tolerance"] = json!(0.95);
    j["grad_cosine_fixed_float_esd_pass"] = json!(c_ff >= 0.95 && grad_nonzero);
    j["grad_cosine_fixed_bptt"] = json!(c_fb);
    j["grad_cosine_float_esd_bptt"] = json!(c_eb);
    j["grad_cosine_fixed_bptt_tolerance"] = json!(bptt_floor);
    j["grad_cosine_fixed_bptt_pass"] = json!(c_fb >= bptt_floor && grad_nonzero);
    j["pass"] = json!(all_pass);
    if let Some(p) = &a.json {
        crate::cli::image::write_atomic(p, serde_json::to_string_pretty(&j)?.as_bytes())?;
    }
    println!("{j}");
    Ok(())
}
