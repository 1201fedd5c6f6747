//! The quantization sweep (issue 11, item 5): fixed-point accuracy and gradient direction of a network
//! over a grid of number formats, next to the float reference.
//!
//! For a float network ([`network::FloatSpec`]: the main job's built-in one, or one from `train`) and a
//! classification task (train / test / gradient trials):
//! 1. once, in float: the on-chip rule learns the training trials from the initial weights (the float
//!    reference: its held-out accuracy is `acc_float`), and the float ES-D-RTRL update of the trained
//!    network is accumulated over the gradient trials;
//! 2. per grid point ([`grid::Point`]), in fixed point on the core (`plasticore_core::graph`, no chip
//!    timing):
//!    - `acc_fixed`: held-out accuracy of the float-trained network quantized at the point (inference);
//!    - `acc_learned` (learning on): held-out accuracy after the core's on-chip ES-D-RTRL learned the
//!      training trials from the quantized *initial* weights;
//!    - `cos_float`: cosine of the core's accumulated ES-D-RTRL update (`GraphUpdate::Accumulate`, weights
//!      frozen, the hidden weights' part) with the float update of step 1, over the gradient trials; what
//!      the formats cost the learning direction, weight quantization included;
//!    - `cos_same_w`: the same against the float rule run on the *dequantized* weights, so weight
//!      quantization is excluded and only the datapath's state, trace and update rounding remain (the
//!      comparison of `tests/tests/gradient_cosine.rs`).
//!
//! Determinism: every point is computed from the same inputs with the core's seeded (counter-based)
//! rounding, independently of the others; points run in parallel with rayon and are collected in grid
//! order, so the CSV has the same bytes for any thread count (test `sweep::determinism`).
pub mod grid;
pub mod network;
pub mod output;
pub mod rounding;
pub mod source;

use crate::reference::net::Params;
use crate::reference::onchip::UpdateMode as FMode;
use crate::reference::study::cosine;
use crate::reference::RefError;
use crate::tasks::Trial;
use grid::{Grid, Point};
use network::{fixed_trial, float_trial, FixedNet, FloatSpec, Fracs, Update};
use rayon::prelude::*;
pub use rounding::RoundingMode;

/// Why a sweep cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A bad grid (range, repeat, empty axis).
    #[error("sweep grid: {0}")]
    Grid(String),
    /// A rounding mode this build's core does not implement.
    #[error(
        "rounding `{0}` is not implemented by this build's core (sweep::rounding::AVAILABLE)"
    )]
    Unavailable(&'static str),
    /// The network or the task does not fit the sweep, or a format refused a value.
    #[error("{0}")]
    Config(String),
    /// The float reference refused something.
    #[error(transparent)]
    Reference(#[from] RefError),
    /// A thread pool could not be built.
    #[error("thread pool: {0}")]
    Threads(String),
}

/// The trials of a study.
#[derive(Clone, Debug)]
pub struct Trials {
    /// Learning (float reference and on-chip learning).
    pub train: Vec<Trial>,
    /// Held-out accuracy.
    pub test: Vec<Trial>,
    /// Trials over which the gradient updates are accumulated.
    pub grad: Vec<Trial>,
}

/// One row of the result (one grid point).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Row {
    /// Hidden weight bits.
    pub weight_bits: u8,
    /// Readout weight bits.
    pub readout_bits: u8,
    /// Trace bits.
    pub trace_bits: u8,
    /// Trace fractional bits.
    pub trace_frac: u8,
    /// State fractional bits.
    pub state_frac: u8,
    /// Rounding of weight updates.
    pub rounding: String,
    /// Learning on.
    pub learn: bool,
    /// Binary point of the hidden weights.
    pub weight_frac: u8,
    /// Binary point of the readout weights.
    pub readout_frac: u8,
    /// Weights that saturated when the trained network was quantized.
    pub clipped: usize,
    /// Held-out accuracy of the float reference (on-chip rule in float).
    pub acc_float: f64,
    /// Held-out accuracy of the quantized float-trained network (inference).
    pub acc_fixed: f64,
    /// Held-out accuracy after on-chip learning in fixed point (learning on only).
    pub acc_learned: Option<f64>,
    /// Cosine of the fixed ES-D-RTRL update to the float one on the float weights.
    pub cos_float: f64,
    /// Cosine of the fixed ES-D-RTRL update to the float one on the dequantized weights.
    pub cos_same_w: f64,
}

/// What is computed once, in float.
pub struct Study {
    spec: FloatSpec,
    trials: Trials,
    trained: Params<f64>,
    acc_float: f64,
    grad_float: Vec<f64>,
}

fn accuracy(n_ok: usize, n: usize) -> f64 {
    n_ok as f64 / n.max(1) as f64
}

impl Study {
    /// Validate, train the float reference and accumulate its update (the serial part).
    pub fn new(spec: FloatSpec, trials: Trials) -> Result<Study, SweepError> {
        spec.validate()?;
        if trials.train.is_empty() || trials.test.is_empty() || trials.grad.is_empty() {
            return Err(SweepError::Config("the sweep needs training, test and gradient trials (one at least of each)".into()));
        }
        let n_out = spec.net.n_out();
        for (what, set) in [("training", &trials.train), ("held-out", &trials.test), ("gradient", &trials.grad)] {
            if let Some((k, t)) = set.iter().enumerate().find(|(_, t)| t.label >= n_out) {
                return Err(SweepError::Config(format!("{what} trial {k}: label {}, but the network has {n_out} outputs", t.label)));
            }
        }
        let mut f = spec.float(&spec.init, FMode::Online)?;
        for t in &trials.train {
            float_trial(&mut f, t, true)?;
        }
        let trained = f.params.clone();
        let mut ok = 0;
        for t in &trials.test {
            ok += float_trial(&mut f, t, false)? as usize;
        }
        let acc_float = accuracy(ok, trials.test.len());
        let grad_float = float_update(&spec, &trained, &trials.grad)?;
        Ok(Study { spec, trials, trained, acc_float, grad_float })
    }

    /// Held-out accuracy of the float reference.
    pub fn acc_float(&self) -> f64 {
        self.acc_float
    }

    /// One grid point.
    pub fn point(&self, pt: &Point) -> Result<Row, SweepError> {
        pt.rounding.check()?;
        let fr = Fracs::choose(&self.spec, &self.trained, pt);
        // inference of the quantized trained network
        let mut net = FixedNet::new(&self.spec, &self.trained, pt, fr, false)?;
        let clipped = net.clipped;
        let mut g = net.view(pt.rounding)?;
        let mut ok = 0;
        for t in &self.trials.test {
            ok += fixed_trial(&mut g, t, Update::None)? as usize;
        }
        let acc_fixed = accuracy(ok, self.trials.test.len());
        // on-chip learning from the quantized initial weights
        let acc_learned = if pt.learn {
            let mut net = FixedNet::new(&self.spec, &self.spec.init, pt, fr, true)?;
            let mut g = net.view(pt.rounding)?;
            for t in &self.trials.train {
                fixed_trial(&mut g, t, Update::Online)?;
            }
            let mut ok = 0;
            for t in &self.trials.test {
                ok += fixed_trial(&mut g, t, Update::None)? as usize;
            }
            Some(accuracy(ok, self.trials.test.len()))
        } else {
            None
        };
        // the accumulated ES-D-RTRL update of the quantized trained network
        let mut net = FixedNet::new(&self.spec, &self.trained, pt, fr, true)?;
        let mut g = net.view(pt.rounding)?;
        let lay = *g.layout();
        let mut acc = vec![0i32; lay.accumulator];
        for t in &self.trials.grad {
            fixed_trial(&mut g, t, Update::Accumulate(&mut acc))?;
        }
        let p0 = lay.pops[0];
        let fixed: Vec<f64> = acc[p0.acc_off..p0.acc_off + p0.weights].iter().map(|&a| a as f64).collect();
        let deq = self.dequantized(pt, fr);
        let same_w = float_update(&self.spec, &deq, &self.trials.grad)?;
        Ok(Row {
            weight_bits: pt.weight_bits,
            readout_bits: self.spec.readout_bits.unwrap_or(pt.weight_bits),
            trace_bits: pt.trace_bits,
            trace_frac: grid::trace_frac(pt.trace_bits),
            state_frac: pt.state_frac,
            rounding: pt.rounding.name().into(),
            learn: pt.learn,
            weight_frac: fr.hidden,
            readout_frac: fr.readout,
            clipped,
            acc_float: self.acc_float,
            acc_fixed,
            acc_learned,
            cos_float: cosine(&fixed, &self.grad_float),
            cos_same_w: cosine(&fixed, &same_w),
        })
    }

    /// The float-trained parameters with the weights the fixed network holds (dequantized).
    fn dequantized(&self, pt: &Point, fr: Fracs) -> Params<f64> {
        use crate::quantize::weights::quantize;
        let mut q = self.trained.clone();
        q.layers[0].w = quantize(&self.trained.layers[0].w, pt.weight_bits, fr.hidden as i8).0;
        q.readout = quantize(&self.trained.readout, self.spec.readout_bits.unwrap_or(pt.weight_bits), fr.readout as i8).0;
        q
    }

    /// Every point of `grid` on `threads` threads (0: rayon's default), in grid order; `done()` is called
    /// after each point.
    pub fn run(&self, grid: &Grid, threads: usize, done: &(dyn Fn() + Sync)) -> Result<Vec<Row>, SweepError> {
        grid.validate()?;
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| SweepError::Threads(e.to_string()))?;
        let points = grid.points();
        pool.install(|| {
            points
                .par_iter()
                .map(|p| {
                    let r = self.point(p);
                    done();
                    r
                })
                .collect()
        })
    }
}

/// The main job's network and task (`mainjob::float_twin`, `mainjob::task`): `train` training trials
/// (the first `grad` of them also accumulate the gradient), `test` held-out trials from another seed.
pub fn builtin(seed: u64, train: usize, test: usize, grad: usize, readout_bits: Option<u8>) -> Result<(FloatSpec, Trials), SweepError> {
    let (net, init, onchip) = crate::mainjob::float_twin(seed).map_err(|e| SweepError::Config(e.to_string()))?;
    let spec = FloatSpec { net, init, onchip, seed: seed as u32, readout_bits };
    let task = crate::mainjob::task();
    let train = task.trials(train, seed);
    let trials = Trials { grad: train.iter().take(grad).cloned().collect(), train, test: task.trials(test, seed ^ 0x7E57) };
    Ok((spec, trials))
}

/// The float rule's update accumulated over `trials` from `p` (hidden weights).
fn float_update(spec: &FloatSpec, p: &Params<f64>, trials: &[Trial]) -> Result<Vec<f64>, SweepError> {
    let mut f = spec.float(p, FMode::Accumulate)?;
    for t in trials {
        float_trial(&mut f, t, true)?;
    }
    Ok(f.accumulated().layers[0].w.clone())
}

