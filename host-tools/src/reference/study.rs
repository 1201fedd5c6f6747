//! The gradient-cosine study (spec §5, `rsnn_weight_gradient_cosine.py` analogue) and the analytic
//! learning-state memory counts used by `plasticore grad-study` / `mem-study`.
use super::algo::{batch_grad, Algorithm, BiasCorrection, OnlineOptions};
use super::model::{Neuron, Presyn};
use super::net::{InitScales, LayerConfig, LossKind, NetConfig, Output, Params, Sequence, Target};
use super::rng::Rng;
use super::RefError;
use serde::Serialize;

/// Settings of the cosine study.
#[derive(Clone, Debug)]
pub struct GradStudyConfig {
    /// Input channels.
    pub n_in: usize,
    /// Recurrent neurons (200 in the paper's script).
    pub n_rec: usize,
    /// Classes (readout outputs).
    pub n_out: usize,
    /// Steps per sequence (dt = 1 ms).
    pub steps: usize,
    /// Loss on the last `loss_steps` steps only.
    pub loss_steps: usize,
    /// Sequences per gradient (summed).
    pub batch: usize,
    /// ES-D-RTRL ranks (α = (r−1)/(r+1)).
    pub ranks: Vec<f64>,
    /// Target mean hidden rate for the input-scale calibration, Hz.
    pub target_rate_hz: f64,
    /// Seed.
    pub seed: u64,
    /// Online traces start when the loss window opens (the paper's script; see
    /// [`OnlineOptions::traces_from_loss_window`]); `false` runs them from step 0.
    pub traces_from_loss_window: bool,
    /// Recurrent block initialised as in the paper's script for N-MNIST: Kaiming-normal with fan-in n_rec and
    /// the model's variance scale `rec_wscale` ([`paper_rec_wscale`]), i.e. sd = sqrt(rec_wscale / n_rec);
    /// `false`: sd = sqrt(2 / (n_in + n_rec)), the single fan-in of the whole matrix.
    pub paper_rec_init: bool,
}

impl Default for GradStudyConfig {
    fn default() -> Self {
        Self {
            n_in: 100,
            n_rec: 200,
            n_out: 10,
            steps: 300,
            loss_steps: 3,
            batch: 4,
            ranks: vec![4.0, 10.0, 20.0, 40.0, 100.0],
            target_rate_hz: 15.0,
            seed: 1,
            traces_from_loss_window: true,
            paper_rec_init: false,
        }
    }
}

/// The six dynamics of the study with the typical parameters of spec §1.6 (τ_mem 10, τ_syn 10, τ_std 200,
/// τ_a 100, β 0.1; STD release U = 0.2, an assumption: the spec gives none).
pub fn study_models() -> Vec<(String, Neuron, Presyn)> {
    let am = (-0.1f64).exp();
    let a_s = (-0.1f64).exp();
    let lif = Neuron::lif(am);
    let alif = lif.with_alif((-0.01f64).exp(), 0.1);
    let std = Presyn::Std { u: 0.2, decay_d: (-1.0f64 / 200.0).exp() };
    vec![
        ("LIF+Delta".into(), lif, Presyn::None),
        ("LIF+ExpCu".into(), lif.with_exp(a_s), Presyn::None),
        ("LIF+STD+ExpCu".into(), lif.with_exp(a_s), std),
        ("ALIF+Delta".into(), alif, Presyn::None),
        ("ALIF+ExpCu".into(), alif.with_exp(a_s), Presyn::None),
        ("ALIF+STD+ExpCu".into(), alif.with_exp(a_s), std),
    ]
}

/// The recurrent-weight variance scale `rec_wscale` of the paper's script for N-MNIST
/// (`rsnn_hidden_jacobian_cosine.py`, `model_setting_1`; brainstate's `KaimingNormal(scale)` draws with
/// variance scale / fan_in). The input scale is not taken from there: it belongs to N-MNIST's 2312 event
/// channels, so it is calibrated here for the synthetic input instead.
pub fn paper_rec_wscale(model: &str) -> Option<f64> {
    Some(match model {
        "LIF+Delta" => 0.2,
        "LIF+ExpCu" => 10.0,
        "LIF+STD+ExpCu" => 40.0,
        "ALIF+Delta" => 1.0,
        "ALIF+ExpCu" => 20.0,
        "ALIF+STD+ExpCu" => 10.0,
        _ => return None,
    })
}

/// One row of the study result.
#[derive(Clone, Debug, Serialize)]
pub struct GradRow {
    /// Dynamics.
    pub model: String,
    /// `drtrl` or `esd`.
    pub algo: String,
    /// ES rank (None for D-RTRL).
    pub rank: Option<f64>,
    /// ES α.
    pub alpha: Option<f64>,
    /// Cosine to BPTT of the recurrent layer's weight matrix W ([input; recurrent] × N).
    pub cos_w: f64,
    /// Cosine to BPTT of the input block of W.
    pub cos_w_in: f64,
    /// Cosine to BPTT of the recurrent block of W.
    pub cos_w_rec: f64,
    /// Cosine to BPTT of W and the bias together (the paper compares per parameter module: a `Linear`'s
    /// weight and bias).
    pub cos_wb: f64,
    /// Cosine to BPTT of all parameters (W, bias, readout; the readout gradient is exact in all algorithms).
    pub cos_all: f64,
    /// Mean hidden rate, Hz.
    pub rate_hz: f64,
    /// Calibrated input-block scale.
    pub ff_scale: f64,
}

/// Cosine of two vectors (NaN if either is zero).
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let d: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        f64::NAN
    } else {
        d / (na * nb)
    }
}

/// Seeded class-pattern Poisson task: class c raises the rate of its input group from 5 Hz to 50 Hz;
/// cross-entropy on the last `loss_steps` steps.
pub fn pattern_batch(c: &GradStudyConfig, rng: &mut Rng) -> Vec<Sequence> {
    let group = (c.n_in / c.n_out).max(1);
    (0..c.batch)
        .map(|_| {
            let cls = rng.below(c.n_out);
            let inputs = (0..c.steps)
                .map(|_| {
                    (0..c.n_in)
                        .map(|i| {
                            let p = if i / group == cls { 0.05 } else { 0.005 };
                            if rng.bernoulli(p) {
                                1.0
                            } else {
                                0.0
                            }
                        })
                        .collect()
                })
                .collect();
            let targets = (0..c.steps).map(|t| (t + c.loss_steps >= c.steps).then_some(Target::Class(cls))).collect();
            Sequence { inputs, targets }
        })
        .collect()
}

fn net_for(c: &GradStudyConfig, n: Neuron, pre: Presyn) -> NetConfig<Neuron> {
    NetConfig {
        layers: vec![LayerConfig { n_in: c.n_in, n: c.n_rec, recurrent: true, neuron: n, presyn: pre }],
        output: Output::LeakyReadout { n_out: c.n_out, kappa: (-0.1f64).exp() },
        loss: LossKind::CrossEntropy,
    }
}

/// Mean hidden rate (Hz) of the network on a batch.
pub fn mean_rate(cfg: &NetConfig<Neuron>, p: &Params<f64>, batch: &[Sequence]) -> f64 {
    use super::net::{forward_step, NetState, StepRecord};
    let mut spikes = 0.0;
    let mut steps = 0.0;
    for s in batch {
        let mut st = NetState::<f64>::new(cfg);
        let mut rec = StepRecord::default();
        for u in &s.inputs {
            forward_step(cfg, p, &mut st, u, &mut rec);
            spikes += rec.layers[0].s.iter().sum::<f64>();
            steps += 1.0;
        }
    }
    spikes / (steps * cfg.layers[0].n as f64) * 1000.0
}

/// Scale the input block so the mean hidden rate is near `target` (geometric bisection, 12 iterations).
pub fn calibrate(c: &GradStudyConfig, n: Neuron, pre: Presyn, rec: f64, batch: &[Sequence]) -> (f64, Params<f64>, f64) {
    let cfg = net_for(c, n, pre);
    let (mut lo, mut hi) = (0.05f64, 200.0f64);
    let mut best = (1.0, Params::zeros(&cfg), 0.0);
    let mut best_err = f64::INFINITY;
    for _ in 0..12 {
        let s = (lo * hi).sqrt();
        let mut rng = Rng::new(c.seed ^ 0xC0FFEE);
        let p = Params::init(&cfg, &mut rng, InitScales { ff: s, rec, out: 1.0 });
        let r = mean_rate(&cfg, &p, batch);
        let err = (r.max(1e-3) / c.target_rate_hz).ln().abs();
        if err < best_err {
            best_err = err;
            best = (s, p, r);
        }
        if r > c.target_rate_hz {
            hi = s;
        } else {
            lo = s;
        }
    }
    best
}

/// Run the study for one model; `tick` is called after every gradient computed (for progress bars).
pub fn grad_study_model(
    c: &GradStudyConfig,
    name: &str,
    n: Neuron,
    pre: Presyn,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<GradRow>, RefError> {
    if c.loss_steps == 0 || c.loss_steps > c.steps || c.n_out == 0 || c.batch == 0 {
        return Err(RefError::Config("grad study: need 0 < loss_steps <= steps, n_out > 0, batch > 0"));
    }
    let mut rng = Rng::new(c.seed);
    let batch = pattern_batch(c, &mut rng);
    let cfg = net_for(c, n, pre);
    // Params::init draws sd = mult·sqrt(2 / n_x); the paper's recurrent block has sd = sqrt(rec_wscale / n_rec)
    let rec = match (c.paper_rec_init, paper_rec_wscale(name)) {
        (true, Some(ws)) => (ws / c.n_rec as f64).sqrt() / (2.0 / (c.n_in + c.n_rec) as f64).sqrt(),
        (true, None) => return Err(RefError::Config("grad study: no paper rec_wscale for this model")),
        (false, _) => 1.0,
    };
    let (ff, p, rate) = calibrate(c, n, pre, rec, &batch);
    let o = OnlineOptions { traces_from_loss_window: c.traces_from_loss_window, ..Default::default() };
    let (_, gb) = batch_grad(&cfg, &p, Algorithm::Bptt, o, &batch)?;
    tick();
    let bw = gb.layers[0].w.clone();
    let ball = gb.flat();
    let split = c.n_in * c.n_rec;
    let wb = |g: &Params<f64>| [g.layers[0].w.as_slice(), g.layers[0].b.as_slice()].concat();
    let bwb = wb(&gb);
    let mut rows = Vec::new();
    let mut push = |algo: &str, rank: Option<f64>, alpha: Option<f64>, g: &Params<f64>| {
        rows.push(GradRow {
            model: name.to_string(),
            algo: algo.to_string(),
            rank,
            alpha,
            cos_w: cosine(&g.layers[0].w, &bw),
            cos_w_in: cosine(&g.layers[0].w[..split], &bw[..split]),
            cos_w_rec: cosine(&g.layers[0].w[split..], &bw[split..]),
            cos_wb: cosine(&wb(g), &bwb),
            cos_all: cosine(&g.flat(), &ball),
            rate_hz: rate,
            ff_scale: ff,
        })
    };
    let (_, gd) = batch_grad(&cfg, &p, Algorithm::DRtrl { renorm: false }, o, &batch)?;
    tick();
    push("drtrl", None, None, &gd);
    for &r in &c.ranks {
        let alpha = Algorithm::alpha_from_rank(r);
        let (_, ge) = batch_grad(&cfg, &p, Algorithm::EsdRtrl { alpha, correction: BiasCorrection::Reference }, o, &batch)?;
        tick();
        push("esd", Some(r), Some(alpha), &ge);
    }
    Ok(rows)
}

/// Learning-state bytes of one layer for the generic f64 reference, batch B: BPTT keeps h_t (N·S) and x_t
/// (n_x) for every step; D-RTRL one trace per weight and state (n_x·N·S, plus N·S for the bias); ES-D-RTRL
/// ε^x (n_x) and ε^f (N·S). Parameters and optimiser state are not included (equal for all three).
pub fn learning_state_bytes_f64(algo: &str, n_x: usize, n: usize, s: usize, t: usize, b: usize) -> Option<usize> {
    let per = match algo {
        "bptt" => t * (n * s + n_x),
        "drtrl" => n_x * n * s + n * s,
        "esd" => n_x + n * s,
        _ => return None,
    };
    Some(8 * b * per)
}
