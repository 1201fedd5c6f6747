//! Gradient algorithms over a whole sequence: BPTT, D-RTRL (§2), ES-D-RTRL (§3), e-prop and the full-RTRL
//! oracle. All return Σ_t ∂L_t/∂θ over the loss window for one sequence; [`batch_grad`] sums over a batch.
use super::model::NeuronModel;
use super::net::{
    backprop_step, forward_step, loss_grad, loss_value, Adjoint, NetConfig, NetState, Output, Params, Sequence,
    StepRecord,
};
use super::scalar::{Dual, Scalar};
use super::RefError;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// ES-D-RTRL correction c_t of ε^f (spec §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BiasCorrection {
    /// c_t = 1.
    None,
    /// brainscale: c_t = 1 − (1−α)^(n+1) for n < 1000, else 1.
    Reference,
    /// c_t = 1 − α^(n+1) (unbiased EMA).
    Adam,
}

impl BiasCorrection {
    /// c_n for step index n counted from the reset.
    pub fn c(&self, alpha: f64, n: usize) -> f64 {
        match self {
            BiasCorrection::None => 1.0,
            BiasCorrection::Reference => {
                if n < 1000 {
                    1.0 - (1.0 - alpha).powi(n as i32 + 1)
                } else {
                    1.0
                }
            }
            BiasCorrection::Adam => 1.0 - alpha.powi(n.min(i32::MAX as usize) as i32 + 1),
        }
    }
}

/// Which gradient to compute.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Algorithm {
    /// Exact reverse mode through time (hand-written adjoints, surrogate ψ).
    Bptt,
    /// Full RTRL, forward-mode sensitivities of every parameter (one dual pass per parameter: tiny nets only).
    Rtrl,
    /// D-RTRL, per-weight traces ε ← D ε + x ⊗ D^f.
    DRtrl {
        /// brainscale ≥ 2024-11 max-abs renormalisation of the new term and of the trace (per sequence).
        renorm: bool,
    },
    /// ES-D-RTRL, ε^x ⊗ ε^f.
    EsdRtrl {
        /// Trace decay α (rank r ↔ α = (r−1)/(r+1)).
        alpha: f64,
        /// Correction c_t.
        correction: BiasCorrection,
    },
    /// e-prop (Bellec et al. 2020): eligibility vectors with the reset detached from D, eligibility traces
    /// e = ∂s/∂h·ε low-pass filtered with the readout κ, learning signal L_j = Σ_k V_jk e_k (symmetric
    /// feedback). Single hidden layer with a leaky readout only.
    Eprop,
}

impl Algorithm {
    /// ES-D-RTRL α from a rank r: α = (r − 1)/(r + 1).
    pub fn alpha_from_rank(r: f64) -> f64 {
        (r - 1.0) / (r + 1.0)
    }
}

/// Options of the online algorithms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OnlineOptions {
    /// Reproduce brainscale 0.1.0's total-derivative learning signal for the exponential synapse (§4.5:
    /// λ_g := gain·λ_V), which double counts the y→g→V path. Only for showing the discrepancy is understood.
    pub total_lambda: bool,
    /// Start every trace (the readout's included) at the first step that has a target, as the paper's
    /// gradient-cosine script does (`rsnn_weight_gradient_cosine.py`: its `n_sim` warm-up steps run the model
    /// without the trace algorithm, so the traces are zero when the loss window opens). The step counter of
    /// the bias correction c_t still counts the warm-up steps (the script passes the global step index).
    #[serde(default)]
    pub traces_from_loss_window: bool,
    /// Readout-weight gradient: the exact readout trace (default) or brainscale 0.1.0's.
    #[serde(default)]
    pub readout: ReadoutGradient,
}

/// How the online algorithms form the gradient of the leaky readout's weights V (`readout[j*n_out + k]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadoutGradient {
    /// Exact: ∂L_t/∂V_jk = ε^o_{j,t}·e_{k,t} with ε^o ← κ·ε^o + x (x = the readout's input: spikes, or z for
    /// `MembraneReadout`). κ is shared by all outputs, so the exact trace is O(N) and nothing is gained by
    /// approximating it; this is Plasticore's choice for every algorithm.
    #[default]
    Exact,
    /// brainscale 0.1.0 (spec §1.6): the readout r_t = κ·r_{t−1} + x_t·V is an etrace op like any other,
    /// with D = κ and D^f = 1, so V goes through the algorithm's own trace machinery:
    /// * ES-D-RTRL: ε^x_o ← α·ε^x_o + x, ε^f_o ← α·κ·ε^f_o + (1 − α) (one scalar: D and D^f are the same
    ///   for every output), ∂L_t/∂V_jk ≈ ε^x_{o,j}·ε^f_o/c_t·e_k, with the same α and c_t as the hidden
    ///   layers;
    /// * D-RTRL with `renorm`: ε_jk ← κ·ε_jk + x_j·s_new, then ÷ max|ε| if that exceeds 1, with s_new the
    ///   max-abs rescaling of the new term (all columns k are equal, so one vector of length N is stored);
    /// * D-RTRL without renormalisation (pure D-RTRL's readout trace *is* the exact one) and e-prop
    ///   (which has no trace of its own for V): the same as `Exact`.
    Brainscale,
}

/// Per-layer trace state of an online algorithm.
#[derive(Clone, Debug)]
enum Traces {
    D { e: Vec<f64>, eb: Vec<f64> },
    Es { ex: Vec<f64>, ef: Vec<f64> },
    Eprop { e: Vec<f64>, eb: Vec<f64>, fe: Vec<f64>, feb: Vec<f64> },
}

/// Step-by-step online learner (D-RTRL, ES-D-RTRL, e-prop); weights are frozen during the sequence.
pub struct OnlineLearner<'a, M: NeuronModel> {
    cfg: &'a NetConfig<M>,
    p: &'a Params<f64>,
    algo: Algorithm,
    opts: OnlineOptions,
    st: NetState<f64>,
    rec: StepRecord<f64>,
    traces: Vec<Traces>,
    eo: Vec<f64>,
    /// brainscale-mode ES readout traces: ε^x_o (per readout input) and the scalar ε^f_o.
    eo_x: Vec<f64>,
    eo_f: f64,
    n: usize,
    grad: Params<f64>,
    loss: f64,
    lambda: Vec<Vec<f64>>,
    adj: Adjoint,
    e: Vec<f64>,
    window_open: bool,
}

impl<'a, M: NeuronModel> OnlineLearner<'a, M> {
    /// Reset state and traces.
    pub fn new(cfg: &'a NetConfig<M>, p: &'a Params<f64>, algo: Algorithm, opts: OnlineOptions) -> Result<Self, RefError> {
        cfg.validate()?;
        p.check(cfg)?;
        let traces = cfg
            .layers
            .iter()
            .map(|c| {
                let s = c.neuron.n_states();
                let np = c.neuron.n_ports();
                if np == 0 || (0..c.n_x()).any(|i| c.neuron.axon_port(i, c.n_in) >= np) {
                    return Err(RefError::Config("every axon must feed one of the model's input ports"));
                }
                match algo {
                    Algorithm::DRtrl { .. } => Ok(Traces::D { e: vec![0.0; c.n_x() * c.n * s], eb: vec![0.0; c.n * s] }),
                    Algorithm::EsdRtrl { alpha, .. } => {
                        if !(0.0..1.0).contains(&alpha) {
                            return Err(RefError::Config("ES-D-RTRL alpha must be in [0, 1)"));
                        }
                        // ε^f per (neuron, port, state): one per op output as in brainscale (one op per port)
                        Ok(Traces::Es { ex: vec![0.0; c.n_x()], ef: vec![0.0; c.n * np * s] })
                    }
                    Algorithm::Eprop => {
                        if np != 1 {
                            return Err(RefError::Unsupported("e-prop here supports single-port neuron models only"));
                        }
                        if cfg.layers.len() != 1 || !matches!(cfg.output, Output::LeakyReadout { .. }) {
                            return Err(RefError::Unsupported("e-prop needs one hidden layer and a leaky readout"));
                        }
                        Ok(Traces::Eprop {
                            e: vec![0.0; c.n_x() * c.n * s],
                            eb: vec![0.0; c.n * s],
                            fe: vec![0.0; c.n_x() * c.n],
                            feb: vec![0.0; c.n],
                        })
                    }
                    _ => Err(RefError::Unsupported("OnlineLearner runs D-RTRL, ES-D-RTRL and e-prop only")),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let n_last = cfg.layers.last().map_or(0, |l| l.n);
        Ok(Self {
            cfg,
            p,
            algo,
            opts,
            st: NetState::new(cfg),
            rec: StepRecord::default(),
            traces,
            eo: vec![0.0; n_last],
            eo_x: vec![0.0; n_last],
            eo_f: 0.0,
            n: 0,
            grad: Params::zeros(cfg),
            loss: 0.0,
            lambda: vec![Vec::new(); cfg.layers.len()],
            adj: Adjoint::zeros(cfg),
            e: vec![0.0; cfg.n_out()],
            window_open: false,
        })
    }

    /// One step: forward, traces, λ (within-step backprop), gradient accumulation. Returns L_t (0 outside
    /// the loss window). `u` and `target` must have been validated (see [`Sequence::validate`]).
    pub fn step(&mut self, u: &[f64], target: Option<&super::net::Target>) -> f64 {
        let cfg = self.cfg;
        forward_step(cfg, self.p, &mut self.st, u, &mut self.rec);
        if self.opts.traces_from_loss_window && !self.window_open {
            if target.is_none() {
                self.n += 1;
                return 0.0;
            }
            self.window_open = true;
        }
        // traces (always once started, also outside the loss window)
        let mut dm = Vec::new();
        let mut df = Vec::new();
        let mut sg = Vec::new();
        for (l, c) in cfg.layers.iter().enumerate() {
            let s_n = c.neuron.n_states();
            let np = c.neuron.n_ports();
            let ls = &self.rec.layers[l];
            let (n, n_x) = (c.n, c.n_x());
            dm.resize(s_n * s_n, 0.0);
            df.resize(s_n * np, 0.0);
            match &mut self.traces[l] {
                Traces::D { e, eb } => {
                    let renorm = matches!(self.algo, Algorithm::DRtrl { renorm: true });
                    let mut newmax: f64 = 0.0;
                    if renorm {
                        for j in 0..n {
                            c.neuron.jacobians_ports(&ls.h_prev[j * s_n..(j + 1) * s_n], &ls.y[j * np..(j + 1) * np], &mut dm, &mut df);
                            let m = df.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                            for &xi in &ls.x {
                                newmax = newmax.max(xi.abs() * m);
                            }
                        }
                    }
                    let scale_new = if renorm && newmax > 1.0 { 1.0 / newmax } else { 1.0 };
                    let mut tmp = vec![0.0; s_n];
                    // D^f column of each port (S values), so the update reads the column of axon i's port
                    let mut dfp = vec![0.0; s_n * np];
                    for j in 0..n {
                        c.neuron.jacobians_ports(&ls.h_prev[j * s_n..(j + 1) * s_n], &ls.y[j * np..(j + 1) * np], &mut dm, &mut df);
                        for pp in 0..np {
                            for k in 0..s_n {
                                dfp[pp * s_n + k] = df[k * np + pp];
                            }
                        }
                        for i in 0..n_x {
                            let base = (i * n + j) * s_n;
                            let pi = if np == 1 { 0 } else { c.neuron.axon_port(i, c.n_in) };
                            let col = &dfp[pi * s_n..(pi + 1) * s_n];
                            drtrl_update(&mut e[base..base + s_n], &dm, col, ls.x[i] * scale_new, &mut tmp);
                        }
                        drtrl_update(&mut eb[j * s_n..(j + 1) * s_n], &dm, &dfp[..s_n], scale_new, &mut tmp);
                    }
                    if renorm {
                        for v in [e, eb] {
                            let m = v.iter().fold(0.0f64, |a, x| a.max(x.abs()));
                            if m > 1.0 {
                                v.iter_mut().for_each(|x| *x /= m);
                            }
                        }
                    }
                }
                Traces::Es { ex, ef } => {
                    let Algorithm::EsdRtrl { alpha, .. } = self.algo else { unreachable!("trace kind follows algo") };
                    for i in 0..n_x {
                        ex[i] = alpha * ex[i] + ls.x[i];
                    }
                    let mut tmp = vec![0.0; s_n];
                    for j in 0..n {
                        c.neuron.jacobians_ports(&ls.h_prev[j * s_n..(j + 1) * s_n], &ls.y[j * np..(j + 1) * np], &mut dm, &mut df);
                        for pp in 0..np {
                            let f = &mut ef[(j * np + pp) * s_n..(j * np + pp + 1) * s_n];
                            for k in 0..s_n {
                                let mut acc = 0.0;
                                for q in 0..s_n {
                                    acc += dm[k * s_n + q] * f[q];
                                }
                                tmp[k] = alpha * acc + (1.0 - alpha) * df[k * np + pp];
                            }
                            f.copy_from_slice(&tmp);
                        }
                    }
                }
                Traces::Eprop { e, eb, fe, feb } => {
                    // eligibility vectors with the reset detached (Bellec et al. 2020)
                    let mut tmp = vec![0.0; s_n];
                    sg.resize(s_n, 0.0);
                    let kappa = match cfg.output {
                        Output::LeakyReadout { kappa, .. } => kappa,
                        Output::Membrane | Output::MembraneReadout { .. } => 0.0,
                    };
                    for j in 0..n {
                        eprop_jacobians(&c.neuron, &ls.h_prev[j * s_n..(j + 1) * s_n], ls.y[j], &mut dm, &mut df);
                        c.neuron.spike_grad(&ls.h[j * s_n..(j + 1) * s_n], &mut sg);
                        for i in 0..n_x {
                            let base = (i * n + j) * s_n;
                            drtrl_update(&mut e[base..base + s_n], &dm, &df, ls.x[i], &mut tmp);
                            let el: f64 = (0..s_n).map(|k| sg[k] * e[base + k]).sum();
                            fe[i * n + j] = kappa * fe[i * n + j] + el;
                        }
                        drtrl_update(&mut eb[j * s_n..(j + 1) * s_n], &dm, &df, 1.0, &mut tmp);
                        let el: f64 = (0..s_n).map(|k| sg[k] * eb[j * s_n + k]).sum();
                        feb[j] = kappa * feb[j] + el;
                    }
                }
            }
        }
        // readout trace: exact ε^o ← κ ε^o + x_t (κ is shared by all outputs, so the exact trace is O(N)), or
        // brainscale's (see `ReadoutGradient`)
        let readout_in = match cfg.output {
            Output::LeakyReadout { kappa, .. } => Some((kappa, &self.rec.layers[cfg.layers.len() - 1].s)),
            Output::MembraneReadout { kappa, .. } => Some((kappa, &self.rec.z)),
            Output::Membrane => None,
        };
        if let Some((kappa, x)) = readout_in {
            match (self.opts.readout, self.algo) {
                (ReadoutGradient::Brainscale, Algorithm::EsdRtrl { alpha, .. }) => {
                    for (e, &xj) in self.eo_x.iter_mut().zip(x) {
                        *e = alpha * *e + xj;
                    }
                    self.eo_f = alpha * kappa * self.eo_f + (1.0 - alpha);
                }
                (ReadoutGradient::Brainscale, Algorithm::DRtrl { renorm: true }) => {
                    let newmax = x.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                    let scale_new = if newmax > 1.0 { 1.0 / newmax } else { 1.0 };
                    for (e, &xj) in self.eo.iter_mut().zip(x) {
                        *e = kappa * *e + xj * scale_new;
                    }
                    let m = self.eo.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                    if m > 1.0 {
                        self.eo.iter_mut().for_each(|v| *v /= m);
                    }
                }
                _ => {
                    for (e, &xj) in self.eo.iter_mut().zip(x) {
                        *e = kappa * *e + xj;
                    }
                }
            }
        }
        let n_step = self.n;
        self.n += 1;
        let Some(tgt) = target else { return 0.0 };
        let lt = loss_grad(cfg.loss, &self.rec.output, tgt, &mut self.e);
        self.loss += lt;
        // λ_t by a within-step backprop (no temporal carries)
        self.adj.clear();
        backprop_step(cfg, self.p, &self.rec, Some(&self.e), &mut self.adj, None, &mut self.lambda);
        if let Output::LeakyReadout { n_out, .. } | Output::MembraneReadout { n_out, .. } = cfg.output {
            // brainscale's ES readout trace: ε^x_o[j]·ε^f_o/c_t in place of ε^o_j
            let es_readout = match (self.opts.readout, self.algo) {
                (ReadoutGradient::Brainscale, Algorithm::EsdRtrl { alpha, correction }) => {
                    Some(self.eo_f / correction.c(alpha, n_step))
                }
                _ => None,
            };
            let eo_used: &[f64] = if es_readout.is_some() { &self.eo_x } else { &self.eo };
            let f = es_readout.unwrap_or(1.0);
            for (j, &eo) in eo_used.iter().enumerate() {
                let eo = eo * f;
                if eo != 0.0 {
                    for k in 0..n_out {
                        self.grad.readout[j * n_out + k] += eo * self.e[k];
                    }
                }
            }
        }
        for (l, c) in cfg.layers.iter().enumerate() {
            let s_n = c.neuron.n_states();
            let (n, n_x) = (c.n, c.n_x());
            let lam = &mut self.lambda[l];
            if self.opts.total_lambda {
                if let Some(any) = total_lambda_gain(&c.neuron) {
                    for j in 0..n {
                        lam[j * s_n] += any * lam[j * s_n + c.neuron.membrane_index()];
                    }
                }
            }
            let g = &mut self.grad.layers[l];
            match &self.traces[l] {
                Traces::D { e, eb } => {
                    for i in 0..n_x {
                        for j in 0..n {
                            let base = (i * n + j) * s_n;
                            let mut acc = 0.0;
                            for k in 0..s_n {
                                acc += e[base + k] * lam[j * s_n + k];
                            }
                            g.w[i * n + j] += acc;
                        }
                    }
                    for j in 0..n {
                        g.b[j] += (0..s_n).map(|k| eb[j * s_n + k] * lam[j * s_n + k]).sum::<f64>();
                    }
                }
                Traces::Es { ex, ef } => {
                    let Algorithm::EsdRtrl { alpha, correction } = self.algo else { unreachable!("trace kind follows algo") };
                    let c_t = correction.c(alpha, n_step);
                    let np = c.neuron.n_ports();
                    // f[pp*n + j] = Σ_k ε^f[j, pp, k]·λ[j, k] / c_t
                    let f: Vec<f64> = (0..np * n)
                        .map(|q| {
                            let (pp, j) = (q / n, q % n);
                            (0..s_n).map(|k| ef[(j * np + pp) * s_n + k] * lam[j * s_n + k]).sum::<f64>() / c_t
                        })
                        .collect();
                    for i in 0..n_x {
                        if ex[i] != 0.0 {
                            let pi = if np == 1 { 0 } else { c.neuron.axon_port(i, c.n_in) };
                            let fp = &f[pi * n..(pi + 1) * n];
                            for j in 0..n {
                                g.w[i * n + j] += ex[i] * fp[j];
                            }
                        }
                    }
                    for j in 0..n {
                        g.b[j] += f[j];
                    }
                }
                Traces::Eprop { fe, feb, .. } => {
                    // learning signal L_j = Σ_k V_jk e_k (the readout path only)
                    let Output::LeakyReadout { n_out, .. } = cfg.output else { unreachable!("checked in new") };
                    let lsig: Vec<f64> =
                        (0..n).map(|j| (0..n_out).map(|k| self.p.readout[j * n_out + k] * self.e[k]).sum()).collect();
                    for i in 0..n_x {
                        for j in 0..n {
                            g.w[i * n + j] += fe[i * n + j] * lsig[j];
                        }
                    }
                    for j in 0..n {
                        g.b[j] += feb[j] * lsig[j];
                    }
                }
            }
        }
        lt
    }

    /// Gradient accumulated so far.
    pub fn grads(&self) -> &Params<f64> {
        &self.grad
    }
    /// Summed loss so far.
    pub fn loss(&self) -> f64 {
        self.loss
    }
    /// Last outputs.
    pub fn output(&self) -> &[f64] {
        &self.rec.output
    }
    /// Last step record.
    pub fn record(&self) -> &StepRecord<f64> {
        &self.rec
    }
    /// Last within-step learning signal λ_t of layer `l` (n × S).
    pub fn lambda(&self, l: usize) -> &[f64] {
        &self.lambda[l]
    }
    /// D-RTRL trace of layer `l` (`[(i*n + j)*S + k]`), if the algorithm keeps one.
    pub fn drtrl_trace(&self, l: usize) -> Option<&[f64]> {
        match &self.traces[l] {
            Traces::D { e, .. } => Some(e),
            _ => None,
        }
    }
    /// ES-D-RTRL (ε^x, ε^f) of layer `l`; ε^f is `[(j*P + p)*S + k]` (P = 1: `[j*S + k]`).
    pub fn es_traces(&self, l: usize) -> Option<(&[f64], &[f64])> {
        match &self.traces[l] {
            Traces::Es { ex, ef } => Some((ex, ef)),
            _ => None,
        }
    }
}

/// brainscale's total λ_g = gain·λ_V for the built-in exponential synapse; `None` for other models.
fn total_lambda_gain<M: NeuronModel>(m: &M) -> Option<f64> {
    // generic: the within-step derivative ∂V_t/∂g_t is D^f_V / D^f_g when state 0 is a pure integrator of y
    let s = m.n_states();
    if s < 2 || m.membrane_index() == 0 {
        return None;
    }
    let h = m.init_state();
    let mut d = vec![0.0; s * s];
    let mut df = vec![0.0; s];
    m.jacobians(&h, 0.0, &mut d, &mut df);
    if df[0] == 1.0 {
        Some(df[m.membrane_index()])
    } else {
        None
    }
}

/// e-prop eligibility-vector Jacobians: D with the reset path removed.
fn eprop_jacobians<M: NeuronModel>(m: &M, h_prev: &[f64], y: f64, d: &mut [f64], df: &mut [f64]) {
    m.jacobians(h_prev, y, d, df);
    // remove the surrogate part of the reset term: recompute ∂V_t/∂V_{t−1} and ∂V_t/∂a_{t−1} at ψ = 0
    let s = m.n_states();
    let mut hp: Vec<f64> = h_prev.to_vec();
    let vm = m.membrane_index();
    // shift V far below threshold: ψ = 0, then restore the linear entries of the V row that do not
    // depend on ψ (leak and synaptic coupling are state independent for the built-in models)
    hp[vm] = -1e6;
    let mut d0 = vec![0.0; s * s];
    let mut df0 = vec![0.0; s];
    m.jacobians(&hp, y, &mut d0, &mut df0);
    for q in 0..s {
        d[vm * s + q] = d0[vm * s + q];
    }
}

#[inline]
fn drtrl_update(e: &mut [f64], d: &[f64], df: &[f64], x: f64, tmp: &mut [f64]) {
    let s = e.len();
    for k in 0..s {
        let mut acc = 0.0;
        for q in 0..s {
            acc += d[k * s + q] * e[q];
        }
        tmp[k] = acc + x * df[k];
    }
    e.copy_from_slice(&tmp[..s]);
}

/// Exact BPTT for one sequence: returns (Σ_t L_t, Σ_t ∂L_t/∂θ).
pub fn bptt<M: NeuronModel>(cfg: &NetConfig<M>, p: &Params<f64>, seq: &Sequence) -> Result<(f64, Params<f64>), RefError> {
    cfg.validate()?;
    p.check(cfg)?;
    seq.validate(cfg)?;
    let mut st = NetState::<f64>::new(cfg);
    let mut recs: Vec<StepRecord<f64>> = Vec::with_capacity(seq.inputs.len());
    let mut douts: Vec<Option<Vec<f64>>> = Vec::with_capacity(seq.inputs.len());
    let mut loss = 0.0;
    for (u, tgt) in seq.inputs.iter().zip(&seq.targets) {
        let mut rec = StepRecord::default();
        forward_step(cfg, p, &mut st, u, &mut rec);
        douts.push(tgt.as_ref().map(|t| {
            let mut e = vec![0.0; cfg.n_out()];
            loss += loss_grad(cfg.loss, &rec.output, t, &mut e);
            e
        }));
        recs.push(rec);
    }
    let mut g = Params::zeros(cfg);
    let mut adj = Adjoint::zeros(cfg);
    let mut lam = vec![Vec::new(); cfg.layers.len()];
    for t in (0..recs.len()).rev() {
        backprop_step(cfg, p, &recs[t], douts[t].as_deref(), &mut adj, Some(&mut g), &mut lam);
    }
    Ok((loss, g))
}

/// Full RTRL (forward-mode sensitivities): one dual-number pass per parameter. O(P·T·cost of a step).
pub fn rtrl<M: NeuronModel>(cfg: &NetConfig<M>, p: &Params<f64>, seq: &Sequence) -> Result<(f64, Params<f64>), RefError> {
    cfg.validate()?;
    p.check(cfg)?;
    seq.validate(cfg)?;
    let np = p.len();
    let results: Vec<(f64, f64)> = (0..np)
        .into_par_iter()
        .map(|q| {
            let pd = p.lift(|idx, v| Dual::new(v, if idx == q { 1.0 } else { 0.0 }));
            let mut st = NetState::<Dual>::new(cfg);
            let mut rec = StepRecord::default();
            let mut l = Dual::cst(0.0);
            for (u, tgt) in seq.inputs.iter().zip(&seq.targets) {
                let ud: Vec<Dual> = u.iter().map(|&v| Dual::cst(v)).collect();
                forward_step(cfg, &pd, &mut st, &ud, &mut rec);
                if let Some(t) = tgt {
                    l += loss_value(cfg.loss, &rec.output, t);
                }
            }
            (l.v, l.d)
        })
        .collect();
    let mut g = Params::zeros(cfg);
    for (slot, (_, d)) in g.flat_mut().into_iter().zip(&results) {
        *slot = *d;
    }
    Ok((results.first().map_or(0.0, |r| r.0), g))
}

/// Gradient of one sequence with any algorithm.
pub fn sequence_grad<M: NeuronModel>(
    cfg: &NetConfig<M>,
    p: &Params<f64>,
    algo: Algorithm,
    opts: OnlineOptions,
    seq: &Sequence,
) -> Result<(f64, Params<f64>), RefError> {
    match algo {
        Algorithm::Bptt => bptt(cfg, p, seq),
        Algorithm::Rtrl => rtrl(cfg, p, seq),
        _ => {
            seq.validate(cfg)?;
            let mut ol = OnlineLearner::new(cfg, p, algo, opts)?;
            for (u, t) in seq.inputs.iter().zip(&seq.targets) {
                ol.step(u, t.as_ref());
            }
            Ok((ol.loss(), ol.grad))
        }
    }
}

/// Sum of losses and gradients over a batch, in parallel over sequences; the reduction is in sequence order,
/// so the result does not depend on the number of threads.
pub fn batch_grad<M: NeuronModel>(
    cfg: &NetConfig<M>,
    p: &Params<f64>,
    algo: Algorithm,
    opts: OnlineOptions,
    batch: &[Sequence],
) -> Result<(f64, Params<f64>), RefError> {
    let parts: Vec<(f64, Params<f64>)> =
        batch.par_iter().map(|s| sequence_grad(cfg, p, algo, opts, s)).collect::<Result<_, _>>()?;
    let mut g = Params::zeros(cfg);
    let mut loss = 0.0;
    for (l, gi) in &parts {
        loss += l;
        g.axpy(1.0, gi);
    }
    Ok((loss, g))
}

/// Run the network forward only; returns the outputs o_t of every step.
pub fn run_outputs<M: NeuronModel>(cfg: &NetConfig<M>, p: &Params<f64>, inputs: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut st = NetState::<f64>::new(cfg);
    let mut rec = StepRecord::default();
    inputs
        .iter()
        .map(|u| {
            forward_step(cfg, p, &mut st, u, &mut rec);
            rec.output.clone()
        })
        .collect()
}
