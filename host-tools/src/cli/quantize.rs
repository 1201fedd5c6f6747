//! `plasticore quantize`: the per-projection weight scale search (`plasticore::quantize`) on a trained float
//! network (`plasticore-float-net`, from `train`), calibrated and evaluated on an event file. Prints one
//! JSON object: the binary point per projection, every population's float and quantized activity with its
//! verdict, the problems (populations that go silent or saturate, with the reason), and the accuracy on the
//! event file in float, with the searched scales and with the no-clip scales. Weight rounding only: the
//! state formats are the fixed-point run's (see `quantize::float_net`).
//!
//! With `-o NET.pcimg` it also writes the fixed-point network as a graph image (version 2, atomically)
//! with **per-projection** points: each population's `weight_frac` (core-nostd's `LayerConfig::formats`)
//! is the largest searched point of its incoming projections, clamped to 0..=min(15, state_frac), and
//! each projection gets the weight shift s = weight_frac − its point (`graph::Projection::shift`, clamped
//! to 0..=min(15, weight_frac)), its mantissas m = round(w·2^(weight_frac − s)), so it is stored at its own searched
//! point unless a clamp moved it. The readout has one projection and no shift. The written points are
//! evaluated again and reported (`image.problems`, `image.accuracy_written_weights`,
//! `image.projection_fracs_written`, `image.projection_shifts`) next to the searched ones: what is
//! written is what is reported.
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use plasticore::events::bins::Binning;
use plasticore::events::Sensor;
use plasticore::quantize::float_net::{projections, FloatNet};
use plasticore::quantize::search::{evaluate, search, SearchConfig, Verdict};
use plasticore::quantize::weights::{no_clip_frac, quantize};
use plasticore::quantize::{Activity, Calibration, QuantizeError};
use plasticore::reference::io::SavedNet;
use plasticore::reference::net::Sequence;
use plasticore::sweep::source::labelled_trials;
use plasticore::reference::train::accuracy;
use std::path::PathBuf;

/// Arguments of `quantize`.
#[derive(Args)]
pub struct QuantizeArgs {
    /// Trained float network (`train_<task>_net.json`).
    #[arg(long)]
    net: PathBuf,
    /// Event file of labelled samples (calibration and evaluation input; `hw-notes/event-files.md`).
    #[arg(long)]
    events: PathBuf,
    /// Sensor size W,H,P or C (required for .npy and CSV event files).
    #[arg(long, value_parser = Sensor::parse)]
    sensor: Option<Sensor>,
    /// Step length in µs.
    #[arg(long, default_value_t = 1000)]
    dt_us: u64,
    /// Steps per sample [default: the longest sample's].
    #[arg(long)]
    steps: Option<usize>,
    /// Steps at the end of each sample whose outputs are summed for the class [default: steps / 4, as train].
    #[arg(long)]
    loss_steps: Option<usize>,
    /// Calibrate on the first N samples (accuracy uses all).
    #[arg(long, default_value_t = 50)]
    calib: usize,
    /// Weight bits including sign (8 or 16 on the chips; 2..=16).
    #[arg(long, default_value_t = 8)]
    bits: u8,
    /// Smallest binary point tried.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    frac_min: i8,
    /// Largest binary point tried.
    #[arg(long, default_value_t = 15, allow_hyphen_values = true)]
    frac_max: i8,
    /// Write the fixed-point network as a graph image (version 2) to this file (see the module doc for
    /// the scale it holds).
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Image: learning signal of every population (symmetric, random or external).
    #[arg(long, default_value = "symmetric")]
    lambda: String,
    /// Image: ES-D-RTRL trace decay α (default: the file's EsdRtrl alpha, else 0.9).
    #[arg(long)]
    trace_decay: Option<f64>,
    /// Image: learning-rate shift of the populations, η = 2^−shift.
    #[arg(long, default_value_t = 7)]
    lr_shift: u8,
    /// Image: learning-rate shift of the readout.
    #[arg(long, default_value_t = 8)]
    readout_lr_shift: u8,
    /// Image: drop the float biases (the emulated chip does not place per-neuron biases yet).
    #[arg(long)]
    drop_bias: bool,
    /// Image: learning off.
    #[arg(long)]
    no_learn: bool,
    /// Image: bits of the input traces ε^x (binary point min(8, bits − 4)).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u8).range(6..=16))]
    trace_bits: u8,
    /// Image: fractional bits of the state and the biases.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u8).range(8..=24))]
    state_frac: u8,
}

/// The learning-signal source named on the command line.
pub fn parse_lambda(s: &str) -> anyhow::Result<plasticore_core::graph::LambdaSource> {
    use plasticore_core::graph::LambdaSource;
    Ok(match s {
        "symmetric" => LambdaSource::Symmetric,
        "random" => LambdaSource::RandomFeedback { seed: 0xFEED_0001 },
        "external" => LambdaSource::External,
        other => anyhow::bail!("--lambda {other:?}: expected symmetric, random or external"),
    })
}

/// The written points from the searched per-projection points (module docs): per population (in
/// `pops` order) its `weight_frac`, the largest point of its incoming projections clamped to
/// 0..=`cap`, or for `unshifted` (the readout, which has no weight shift) the smallest; per projection
/// its weight shift (weight_frac − point, clamped to 0..=15; 0 for `unshifted`) and the point it is
/// written with (weight_frac − shift).
pub fn projection_points(pops: &[String], targets: &[(String, i8)], cap: u8, unshifted: &str) -> anyhow::Result<(Vec<u8>, Vec<u8>, Vec<i8>)> {
    let mut out = Vec::with_capacity(pops.len());
    for p in pops {
        let pts = targets.iter().filter(|(t, _)| t == p).map(|(_, f)| *f);
        let f = if p == unshifted { pts.min() } else { pts.max() }.ok_or_else(|| anyhow::anyhow!("population {p} has no incoming projection"))?;
        out.push(f.clamp(0, cap as i8) as u8);
    }
    let mut shifts = Vec::with_capacity(targets.len());
    let mut written = Vec::with_capacity(targets.len());
    for (t, f) in targets {
        let i = pops.iter().position(|p| p == t).ok_or_else(|| anyhow::anyhow!("unknown population {t}"))?;
        let wf = out[i] as i16;
        // A mantissa is stored at weight_frac − shift ≥ 0.
        let s = if t == unshifted { 0 } else { (wf - *f as i16).clamp(0, wf.min(plasticore_core::layer::MAX_WEIGHT_SHIFT as i16)) };
        shifts.push(s as u8);
        written.push((wf - s) as i8);
    }
    Ok((out, shifts, written))
}

/// Observes the calibration runs with a progress bar (the search makes one per candidate and projection).
struct Progress<'a, C> {
    inner: C,
    bar: &'a ProgressBar,
}

impl<C: Calibration> Calibration for Progress<'_, C> {
    fn populations(&self) -> Vec<String> {
        self.inner.populations()
    }
    fn run(&mut self, weights: &[Vec<f64>]) -> Result<Vec<Activity>, QuantizeError> {
        let r = self.inner.run(weights);
        self.bar.inc(1);
        r
    }
}

/// Run the subcommand.
pub fn run(a: QuantizeArgs) -> anyhow::Result<()> {
    let net = SavedNet::load(&a.net).with_context(|| format!("network file {}", a.net.display()))?;
    // per-neuron (v2) populations: uniform ones become the built-in LIF, differing α_m/θ per-neuron
    // records, what the core cannot hold is refused (one place)
    let net = plasticore::quantize::float_net::core_layers(&net).with_context(|| format!("network file {}", a.net.display()))?;
    let (set, spikes, st) = crate::cli::events::read_binned(&a.events, a.sensor, Binning { dt_us: a.dt_us, steps: a.steps })?;
    let n_in = net.config.n_in();
    anyhow::ensure!(
        set.sensor.channels() == n_in as u64,
        "event file {}: the sensor {} has {} channels, the network {} inputs",
        a.events.display(),
        set.sensor,
        set.sensor.channels(),
        n_in
    );
    let loss_steps = a.loss_steps.unwrap_or((st.steps / 4).max(1)).clamp(1, st.steps);
    let trials: Vec<(Sequence, usize)> = labelled_trials(&spikes, st.steps, n_in, loss_steps).into_iter().map(|t| (t.seq, t.label)).collect();
    let calib: Vec<Vec<Vec<f64>>> = trials.iter().take(a.calib.max(1)).map(|t| t.0.inputs.clone()).collect();
    let cfg = SearchConfig { frac_min: a.frac_min, frac_max: a.frac_max, ..SearchConfig::new(a.bits) };
    let projs = projections(&net.config, &net.params)?;
    let n_runs = 2 + projs.len() as u64 * (cfg.frac_max as i64 - cfg.frac_min as i64 + 1).max(0) as u64;
    let bar = ProgressBar::new(n_runs);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} calibration runs [{elapsed}<{eta}]")?);
    let mut cal = Progress { inner: FloatNet::new(&net.config, &net.params, &calib)?, bar: &bar };
    let rep = search(&projs, &mut cal, &cfg)?;
    bar.finish_and_clear();
    // the no-clip choice, for comparison
    let naive: Vec<i8> = projs.iter().map(|p| no_clip_frac(&p.w, a.bits).unwrap_or(0).clamp(a.frac_min as i32, a.frac_max as i32) as i8).collect();
    let naive_rep = evaluate(&projs, &naive, &mut cal.inner, &cfg)?;
    let with = |fracs: &[i8]| -> anyhow::Result<f64> {
        let w: Vec<Vec<f64>> = projs.iter().zip(fracs).map(|(p, &f)| quantize(&p.w, a.bits, f).0).collect();
        Ok(accuracy(&net.config, &cal.inner.params_with(&w)?, &trials))
    };
    let chosen: Vec<i8> = rep.projections.iter().map(|c| c.frac).collect();
    let verdict = |v: &Verdict| match v {
        Verdict::Alive => "alive",
        Verdict::Silent(_) => "silent",
        Verdict::Saturated(_) => "saturated",
        Verdict::SilentInFloat => "silent in float",
    };
    let pops: Vec<serde_json::Value> = rep
        .populations
        .iter()
        .zip(&naive_rep.populations)
        .map(|(p, n)| {
            serde_json::json!({ "name": p.name, "float_rate": p.float.rate, "rate": p.fixed.rate, "no_clip_rate": n.fixed.rate,
                                "float_range": [p.float.lo, p.float.hi], "range": [p.fixed.lo, p.fixed.hi],
                                "verdict": verdict(&p.verdict), "no_clip_verdict": verdict(&n.verdict) })
        })
        .collect();
    let prj: Vec<serde_json::Value> = rep
        .projections
        .iter()
        .map(|c| {
            serde_json::json!({ "name": c.name, "target": c.target, "frac": c.frac, "no_clip_frac": c.no_clip_frac,
                                "weights": c.stats.n, "zeroed": c.stats.zeroed, "clipped": c.stats.clipped, "rms_err": c.stats.rms_err })
        })
        .collect();
    let image = match &a.out {
        None => serde_json::Value::Null,
        Some(path) => {
            let pops_names = cal.inner.populations();
            let targets: Vec<(String, i8)> = rep.projections.iter().map(|c| (c.target.clone(), c.frac)).collect();
            let (pop_fracs, shifts, written) = projection_points(&pops_names, &targets, 15.min(a.state_frac), "readout")?;
            let nl = net.config.layers.len();
            let ro_frac = if pops_names.len() > nl { pop_fracs[nl] } else { anyhow::bail!("the network has no readout to write") };
            // Per layer, the shifts of its projections "L{l}.in" and "L{l}.rec" (`quantize::float_net`).
            let shift_of = |name: String| rep.projections.iter().position(|c| c.name == name).map_or(0, |i| shifts[i]);
            let layer_shifts: Vec<(u8, u8)> = (0..nl).map(|l| (shift_of(format!("L{l}.in")), shift_of(format!("L{l}.rec")))).collect();
            let o = super::image::graph::FromFloat {
                weight_bits: a.bits,
                lambda: parse_lambda(&a.lambda)?,
                trace_decay: a.trace_decay,
                lr_shift: (a.lr_shift, a.readout_lr_shift),
                sparse: false,
                drop_bias: a.drop_bias,
                learn: !a.no_learn,
                steps: st.steps as u32,
                fracs: Some((pop_fracs[..nl].to_vec(), ro_frac)),
                shifts: Some(layer_shifts),
                trace_bits: a.trace_bits,
                state_frac: a.state_frac,
            };
            let conv = super::image::graph::from_float(&net, &o).with_context(|| format!("converting {}", a.net.display()))?;
            let bytes = super::image::graph::encode_converted(&conv, o.steps)?;
            super::image::write_atomic(path, &bytes)?;
            // evaluated as written: without the biases when they are dropped
            let mut base = net.params.clone();
            if a.drop_bias {
                base.layers.iter_mut().for_each(|l| l.b.iter_mut().for_each(|b| *b = 0.0));
            }
            let mut cal_w = FloatNet::new(&net.config, &base, &calib)?;
            let written_rep = evaluate(&projs, &written, &mut cal_w, &cfg)?;
            let wq: Vec<Vec<f64>> = projs.iter().zip(&written).map(|(p, &f)| quantize(&p.w, a.bits, f).0).collect();
            let acc_written = accuracy(&net.config, &cal_w.params_with(&wq)?, &trials);
            let same = written.iter().zip(&chosen).all(|(w, c)| w == c);
            serde_json::json!({
                "path": path.display().to_string(), "bytes": bytes.len(), "weight_bits": a.bits,
                "population_fracs": pops_names.iter().zip(&pop_fracs).map(|(n, f)| (n.clone(), serde_json::json!(f))).collect::<serde_json::Map<_, _>>(),
                "projection_fracs_written": rep.projections.iter().zip(&written).map(|(c, f)| (c.name.clone(), serde_json::json!(f))).collect::<serde_json::Map<_, _>>(),
                "projection_shifts": rep.projections.iter().zip(&shifts).map(|(c, s)| (c.name.clone(), serde_json::json!(s))).collect::<serde_json::Map<_, _>>(),
                "per_projection_in_image": true,
                "note": if same { "each population's weight_frac is the largest point of its projections and each projection's weight shift brings it to its own searched point: the image holds the searched points exactly".to_string() }
                        else { format!("each population's weight_frac is the largest point of its projections (clamped to 0..={}), each projection's weight shift (0..=15) brings it as close to its searched point as the clamps allow; the points that moved are in projection_fracs_written", 15.min(a.state_frac)) },
                "biases": if a.drop_bias { "dropped" } else { "converted nearest to Q.16 (learnt)" },
                "populations": written_rep.populations.iter().map(|p| serde_json::json!({"name": p.name, "rate": p.fixed.rate, "float_rate": p.float.rate, "verdict": verdict(&p.verdict)})).collect::<Vec<_>>(),
                "problems": written_rep.problems(),
                "accuracy_written_weights": acc_written,
            })
        }
    };
    for p in image.get("problems").and_then(|v| v.as_array()).into_iter().flatten() {
        eprintln!("warning: image: {}", p.as_str().unwrap_or_default());
    }
    for p in rep.problems() {
        eprintln!("warning: {p}");
    }
    println!(
        "{}",
        serde_json::json!({
            "image": image,
            "net": a.net.display().to_string(), "events": a.events.display().to_string(), "bits": a.bits,
            "samples": trials.len(), "calibration_samples": calib.len(), "steps": st.steps, "loss_steps": loss_steps,
            "projections": prj, "populations": pops,
            "problems": rep.problems(), "no_clip_problems": naive_rep.problems(),
            "accuracy_float": accuracy(&net.config, &net.params, &trials),
            "accuracy_quantized_weights": with(&chosen)?,
            "accuracy_no_clip_weights": with(&naive)?,
        })
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::projection_points;

    #[test]
    fn each_projection_is_written_at_its_own_point_through_its_shift() {
        let pops = ["L0".to_string(), "readout".to_string()];
        let t = |n: &str, f: i8| (n.to_string(), f);
        // L0's point is the larger one (9), the other projection is shifted by 4 to its 5; the readout
        // keeps its point without a shift.
        let (p, s, w) = projection_points(&pops, &[t("L0", 5), t("L0", 9), t("readout", 7)], 15, "readout").unwrap();
        assert_eq!((p, s, w), (vec![9, 7], vec![4, 0, 0], vec![5, 9, 7]));
        // Clamps: the population's point to 0..=cap (20 -> 12), a shift to 0..=min(15, point) (12 - (-6)
        // = 18 -> 12, written at 0), and 15 at most.
        let (p, s, w) = projection_points(&pops, &[t("L0", 20), t("L0", -6), t("readout", 3)], 12, "readout").unwrap();
        assert_eq!((p, s, w), (vec![12, 3], vec![0, 12, 0], vec![12, 0, 3]));
        let (_, s, w) = projection_points(&pops, &[t("L0", 20), t("L0", 0), t("readout", 3)], 24, "readout").unwrap();
        assert_eq!((s, w), (vec![0, 15, 0], vec![20, 5, 3]));
        assert!(projection_points(&pops, &[t("L0", 1)], 15, "readout").is_err());
    }
}
