//! Multi-layer recurrent networks: configuration, parameters, the generic forward step, losses and the
//! within-step / through-time adjoint step shared by BPTT and the online algorithms.
//!
//! Step t, in order (spec §4.1, §8.1):
//! 1. layer l's axons a = [input of this step (external input for l = 0, spikes s^{l−1}_t otherwise);
//!    own spikes s^l_{t−1} if recurrent]; the presynaptic filter (STD/STP) turns a into x;
//! 2. y = x·W + b (W row-major `w[i*n + j]`, i = axon, j = neuron); a multi-port model gets one y per
//!    port, axon i adding to port `axon_port(i)` (see [`NeuronModel`]);
//! 3. h_t = f(h_{t−1}, y) per neuron, s_t = H(v̂(h_t));
//! 4. output: `LeakyReadout` r_t = κ·r_{t−1} + Σ_j s^{L−1}_t[j]·V[j,k] (`readout[j*n_out + k]`), or
//!    `Membrane` (the last layer's membrane potentials are the outputs);
//! 5. loss L_t on the output if step t has a target (per-step loss window).
use super::model::{NeuronModel, Presyn};
use super::rng::Rng;
use super::scalar::Scalar;
use super::RefError;
use serde::{Deserialize, Serialize};

/// One layer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LayerConfig<M> {
    /// Feed-forward input width (external inputs for layer 0, neurons of the previous layer otherwise).
    pub n_in: usize,
    /// Neurons.
    pub n: usize,
    /// Own spikes of the previous step are concatenated to x.
    pub recurrent: bool,
    /// Neuron model.
    pub neuron: M,
    /// Presynaptic filter on every axon of x.
    pub presyn: Presyn,
}

impl<M> LayerConfig<M> {
    /// Axons n_x = n_in (+ n if recurrent).
    pub fn n_x(&self) -> usize {
        self.n_in + if self.recurrent { self.n } else { 0 }
    }
}

/// What the loss reads.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Output {
    /// Leaky rate readout of the last layer's spikes, r_t = κ·r_{t−1} + s_t·V.
    LeakyReadout {
        /// Outputs.
        n_out: usize,
        /// κ = e^{−dt/τ_o}.
        kappa: f64,
    },
    /// The last layer's membrane potentials are the outputs (spec §6.2 worked example).
    Membrane,
    /// Leaky readout of the last layer's normalised membrane distance to threshold z_t = v̂(h_t) (optionally
    /// standardised over the layer's neurons, `jax.nn.standardize`, ε = 1e-5): r_t = κ·r_{t−1} + z_t·V.
    /// This is the DMS readout of braintrace-snn-experiments' `alif_working_memory` script, whose GIF layer
    /// outputs `standardize(V − V_th)`: the slow adaptation current reaches the readout through V without
    /// having to be turned into spikes first.
    MembraneReadout {
        /// Outputs.
        n_out: usize,
        /// κ = e^{−dt/τ_o}.
        kappa: f64,
        /// Standardise z over the neurons of the layer at every step.
        standardize: bool,
    },
}

/// ε of the standardisation (jax.nn.standardize's default).
pub const STANDARDIZE_EPS: f64 = 1e-5;

/// Per-step loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LossKind {
    /// ½·Σ_k (o_k − target_k)².
    Mse,
    /// −log softmax(o)_c.
    CrossEntropy,
}

/// A network.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NetConfig<M> {
    /// Layers, input first.
    pub layers: Vec<LayerConfig<M>>,
    /// Output stage.
    pub output: Output,
    /// Loss.
    pub loss: LossKind,
}

impl<M: NeuronModel> NetConfig<M> {
    /// Check shapes.
    pub fn validate(&self) -> Result<(), RefError> {
        if self.layers.is_empty() {
            return Err(RefError::Config("a network needs at least one layer"));
        }
        for (l, c) in self.layers.iter().enumerate() {
            if c.n == 0 {
                return Err(RefError::Config("a layer needs at least one neuron"));
            }
            if l > 0 && c.n_in != self.layers[l - 1].n {
                return Err(RefError::Shape { what: "layer n_in vs previous layer n", expected: self.layers[l - 1].n, got: c.n_in });
            }
            c.presyn.validate()?;
        }
        if let Output::LeakyReadout { n_out, kappa } | Output::MembraneReadout { n_out, kappa, .. } = self.output {
            if n_out == 0 || !(0.0..=1.0).contains(&kappa) {
                return Err(RefError::Config("readout needs n_out > 0 and kappa in [0, 1]"));
            }
        }
        Ok(())
    }
    /// Number of outputs.
    pub fn n_out(&self) -> usize {
        match self.output {
            Output::LeakyReadout { n_out, .. } | Output::MembraneReadout { n_out, .. } => n_out,
            Output::Membrane => self.layers.last().map_or(0, |l| l.n),
        }
    }
    /// External inputs.
    pub fn n_in(&self) -> usize {
        self.layers[0].n_in
    }
}

/// Weights of one layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerParams<T> {
    /// W, `w[i*n + j]`, n_x × n.
    pub w: Vec<T>,
    /// Bias, n.
    pub b: Vec<T>,
}

/// All trainable parameters (also used as the gradient container).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params<T> {
    /// Per layer.
    pub layers: Vec<LayerParams<T>>,
    /// Readout V, `readout[j*n_out + k]` (empty for `Output::Membrane`).
    pub readout: Vec<T>,
}

/// Weight initialisation scales: Kaiming-normal sd = sqrt(2/fan_in)·scale, fan_in = n_x of the layer.
#[derive(Clone, Copy, Debug)]
pub struct InitScales {
    /// Multiplier of the feed-forward block.
    pub ff: f64,
    /// Multiplier of the recurrent block.
    pub rec: f64,
    /// Multiplier of the readout (fan_in = last layer n).
    pub out: f64,
}

impl Default for InitScales {
    fn default() -> Self {
        Self { ff: 1.0, rec: 1.0, out: 1.0 }
    }
}

impl Params<f64> {
    /// All zeros, shaped for `cfg`.
    pub fn zeros<M: NeuronModel>(cfg: &NetConfig<M>) -> Self {
        let layers = cfg.layers.iter().map(|c| LayerParams { w: vec![0.0; c.n_x() * c.n], b: vec![0.0; c.n] }).collect();
        let readout = match cfg.output {
            Output::LeakyReadout { n_out, .. } | Output::MembraneReadout { n_out, .. } => {
                vec![0.0; cfg.layers.last().map_or(0, |l| l.n) * n_out]
            }
            Output::Membrane => Vec::new(),
        };
        Self { layers, readout }
    }
    /// Kaiming-normal weights (zero biases).
    pub fn init<M: NeuronModel>(cfg: &NetConfig<M>, rng: &mut Rng, sc: InitScales) -> Self {
        let mut p = Self::zeros(cfg);
        for (c, lp) in cfg.layers.iter().zip(p.layers.iter_mut()) {
            let sd = (2.0 / c.n_x() as f64).sqrt();
            for i in 0..c.n_x() {
                let s = if i < c.n_in { sc.ff } else { sc.rec };
                for j in 0..c.n {
                    lp.w[i * c.n + j] = rng.normal() * sd * s;
                }
            }
        }
        let n_last = cfg.layers.last().map_or(1, |l| l.n);
        let sd = (2.0 / n_last as f64).sqrt() * sc.out;
        p.readout.iter_mut().for_each(|v| *v = rng.normal() * sd);
        p
    }
    /// Variance-scaling normal weights as brainstate's `KaimingNormal(scale)` (the paper scripts' init):
    /// sd = sqrt(scale / fan_in) with the fan-in of each block (inputs: n_in; recurrent: n; readout: the last
    /// layer's n); plain, not truncated, normal; zero biases.
    pub fn init_fan_in<M: NeuronModel>(cfg: &NetConfig<M>, rng: &mut Rng, sc: InitScales) -> Self {
        let mut p = Self::zeros(cfg);
        for (c, lp) in cfg.layers.iter().zip(p.layers.iter_mut()) {
            let sd_ff = (sc.ff / c.n_in.max(1) as f64).sqrt();
            let sd_rec = (sc.rec / c.n as f64).sqrt();
            for i in 0..c.n_x() {
                let sd = if i < c.n_in { sd_ff } else { sd_rec };
                for j in 0..c.n {
                    lp.w[i * c.n + j] = rng.normal() * sd;
                }
            }
        }
        let n_last = cfg.layers.last().map_or(1, |l| l.n);
        let sd = (sc.out / n_last as f64).sqrt();
        p.readout.iter_mut().for_each(|v| *v = rng.normal() * sd);
        p
    }
    /// Number of scalars.
    pub fn len(&self) -> usize {
        self.layers.iter().map(|l| l.w.len() + l.b.len()).sum::<usize>() + self.readout.len()
    }
    /// True if there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Flattened view in a fixed order (layers: w then b; then readout).
    pub fn flat(&self) -> Vec<f64> {
        let mut v = Vec::with_capacity(self.len());
        for l in &self.layers {
            v.extend_from_slice(&l.w);
            v.extend_from_slice(&l.b);
        }
        v.extend_from_slice(&self.readout);
        v
    }
    /// Mutable references in the order of [`Params::flat`].
    pub fn flat_mut(&mut self) -> Vec<&mut f64> {
        let mut v = Vec::with_capacity(self.len());
        for l in &mut self.layers {
            v.extend(l.w.iter_mut());
            v.extend(l.b.iter_mut());
        }
        v.extend(self.readout.iter_mut());
        v
    }
    /// self += a·o (same shapes).
    pub fn axpy(&mut self, a: f64, o: &Self) {
        for (x, y) in self.flat_mut().into_iter().zip(o.flat()) {
            *x += a * y;
        }
    }
    /// Euclidean norm over all parameters.
    pub fn norm(&self) -> f64 {
        self.flat().iter().map(|x| x * x).sum::<f64>().sqrt()
    }
    /// Scale in place.
    pub fn scale(&mut self, a: f64) {
        for x in self.flat_mut() {
            *x *= a;
        }
    }
    /// Convert to another scalar; `seed` gives the flat index whose tangent is 1 (for [`super::scalar::Dual`]).
    pub fn lift<T: Scalar>(&self, f: impl Fn(usize, f64) -> T) -> Params<T> {
        let mut idx = 0;
        let mut conv = |v: &Vec<f64>| {
            v.iter()
                .map(|&x| {
                    let r = f(idx, x);
                    idx += 1;
                    r
                })
                .collect::<Vec<T>>()
        };
        let layers = self.layers.iter().map(|l| LayerParams { w: conv(&l.w), b: conv(&l.b) }).collect();
        let readout = conv(&self.readout);
        Params { layers, readout }
    }
    /// Check shapes against `cfg` (for parameters read from files).
    pub fn check<M: NeuronModel>(&self, cfg: &NetConfig<M>) -> Result<(), RefError> {
        let z = Self::zeros(cfg);
        if z.layers.len() != self.layers.len() {
            return Err(RefError::Shape { what: "layers", expected: z.layers.len(), got: self.layers.len() });
        }
        for (a, b) in z.layers.iter().zip(&self.layers) {
            if a.w.len() != b.w.len() || a.b.len() != b.b.len() {
                return Err(RefError::Shape { what: "layer weights", expected: a.w.len(), got: b.w.len() });
            }
        }
        if z.readout.len() != self.readout.len() {
            return Err(RefError::Shape { what: "readout", expected: z.readout.len(), got: self.readout.len() });
        }
        if self.flat().iter().any(|x| !x.is_finite()) {
            return Err(RefError::Config("parameters must be finite"));
        }
        Ok(())
    }
}

/// Target of one step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Target {
    /// Per-output values (MSE).
    Values(Vec<f64>),
    /// Class index (cross-entropy).
    Class(usize),
}

/// One input sequence with its per-step targets (`None` = outside the loss window).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sequence {
    /// T × n_in inputs.
    pub inputs: Vec<Vec<f64>>,
    /// T targets.
    pub targets: Vec<Option<Target>>,
}

impl Sequence {
    /// Check against the network.
    pub fn validate<M: NeuronModel>(&self, cfg: &NetConfig<M>) -> Result<(), RefError> {
        if self.inputs.len() != self.targets.len() {
            return Err(RefError::Shape { what: "targets vs inputs length", expected: self.inputs.len(), got: self.targets.len() });
        }
        let n_in = cfg.n_in();
        let n_out = cfg.n_out();
        for u in &self.inputs {
            if u.len() != n_in {
                return Err(RefError::Shape { what: "input width", expected: n_in, got: u.len() });
            }
        }
        for t in self.targets.iter().flatten() {
            match (t, cfg.loss) {
                (Target::Values(v), LossKind::Mse) if v.len() == n_out => {}
                (Target::Values(v), LossKind::Mse) => {
                    return Err(RefError::Shape { what: "target width", expected: n_out, got: v.len() })
                }
                (Target::Class(c), LossKind::CrossEntropy) if *c < n_out => {}
                _ => return Err(RefError::Config("target kind does not match the loss or class out of range")),
            }
        }
        Ok(())
    }
}

/// Loss of one step, generic (for the forward-mode oracle).
pub fn loss_value<T: Scalar>(loss: LossKind, out: &[T], tgt: &Target) -> T {
    match (loss, tgt) {
        (LossKind::Mse, Target::Values(v)) => {
            let mut l = T::zero();
            for (o, t) in out.iter().zip(v) {
                let d = *o - T::cst(*t);
                l += T::cst(0.5) * d * d;
            }
            l
        }
        (LossKind::CrossEntropy, Target::Class(c)) => {
            let m = out.iter().map(|o| o.val()).fold(f64::NEG_INFINITY, f64::max);
            let mut z = T::zero();
            for o in out {
                z += (*o - T::cst(m)).exp();
            }
            z.ln() - (out[*c] - T::cst(m))
        }
        _ => T::zero(),
    }
}

/// Loss and ∂L/∂output of one step (`e` in spec §8.1).
pub fn loss_grad(loss: LossKind, out: &[f64], tgt: &Target, e: &mut [f64]) -> f64 {
    match (loss, tgt) {
        (LossKind::Mse, Target::Values(v)) => {
            let mut l = 0.0;
            for k in 0..out.len() {
                e[k] = out[k] - v[k];
                l += 0.5 * e[k] * e[k];
            }
            l
        }
        (LossKind::CrossEntropy, Target::Class(c)) => {
            let m = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = out.iter().map(|o| (o - m).exp()).sum();
            for k in 0..out.len() {
                e[k] = (out[k] - m).exp() / z - if k == *c { 1.0 } else { 0.0 };
            }
            z.ln() - (out[*c] - m)
        }
        _ => {
            e.iter_mut().for_each(|x| *x = 0.0);
            0.0
        }
    }
}

/// Dynamic state of one layer.
#[derive(Clone, Debug)]
pub struct LayerState<T> {
    /// Hidden states, n × S (`h[j*S + k]`).
    pub h: Vec<T>,
    /// Presynaptic filter states, n_x × P.
    pub pre: Vec<T>,
}

/// Dynamic state of the network.
#[derive(Clone, Debug)]
pub struct NetState<T> {
    /// Per layer.
    pub layers: Vec<LayerState<T>>,
    /// Readout state r.
    pub r: Vec<T>,
}

impl<T: Scalar> NetState<T> {
    /// Reset state (h from the model's initial state, filters at rest, r = 0).
    pub fn new<M: NeuronModel>(cfg: &NetConfig<M>) -> Self {
        let layers = cfg
            .layers
            .iter()
            .map(|c| {
                let h = (0..c.n).flat_map(|j| c.neuron.init_state_for(j).into_iter().map(T::cst)).collect();
                let p0 = c.presyn.init_state();
                let pre = (0..c.n_x()).flat_map(|_| p0.iter().map(|&v| T::cst(v))).collect();
                LayerState { h, pre }
            })
            .collect();
        let r = match cfg.output {
            Output::LeakyReadout { n_out, .. } | Output::MembraneReadout { n_out, .. } => vec![T::zero(); n_out],
            Output::Membrane => Vec::new(),
        };
        Self { layers, r }
    }
}

/// What one layer did in one step (kept by BPTT, used for λ by the online algorithms).
#[derive(Clone, Debug, Default)]
pub struct LayerStep<T> {
    /// Raw axon values a (n_x).
    pub a: Vec<T>,
    /// Released values x (n_x).
    pub x: Vec<T>,
    /// Presynaptic states before the step (n_x × P).
    pub pre_prev: Vec<T>,
    /// h_{t−1} (n × S).
    pub h_prev: Vec<T>,
    /// y_t (n × P, `y[j*P + p]`; n for single-port models).
    pub y: Vec<T>,
    /// h_t (n × S).
    pub h: Vec<T>,
    /// s_t (n).
    pub s: Vec<T>,
}

/// One step of the whole network.
#[derive(Clone, Debug, Default)]
pub struct StepRecord<T> {
    /// Per layer.
    pub layers: Vec<LayerStep<T>>,
    /// Outputs o_t (readout r_t or last-layer V_t).
    pub output: Vec<T>,
    /// Readout input z_t of `Output::MembraneReadout` (after standardisation); empty otherwise.
    pub z: Vec<T>,
    /// 1/σ of the standardisation (1 when off), kept for the adjoint.
    pub z_inv_sd: f64,
}

/// Advance the network by one step with external input `u`, writing what happened into `rec`.
pub fn forward_step<T: Scalar, M: NeuronModel>(
    cfg: &NetConfig<M>,
    p: &Params<T>,
    st: &mut NetState<T>,
    u: &[T],
    rec: &mut StepRecord<T>,
) {
    rec.layers.resize_with(cfg.layers.len(), Default::default);
    for (l, c) in cfg.layers.iter().enumerate() {
        let s_n = c.neuron.n_states();
        let pn = c.presyn.n_states();
        let sur = c.neuron.surrogate();
        let (below, rest) = rec.layers.split_at_mut(l);
        let ls = &mut rest[0];
        // axons: input of this step, then own spikes of the previous step
        ls.a.clear();
        if l == 0 {
            ls.a.extend_from_slice(u);
        } else {
            ls.a.extend_from_slice(&below[l - 1].s);
        }
        let lst = &mut st.layers[l];
        if c.recurrent {
            for j in 0..c.n {
                ls.a.push(c.neuron.vhat(&lst.h[j * s_n..(j + 1) * s_n]).spike(&sur));
            }
        }
        ls.pre_prev.clear();
        ls.pre_prev.extend_from_slice(&lst.pre);
        ls.x.clear();
        for i in 0..c.n_x() {
            let xi = c.presyn.step(&mut lst.pre[i * pn..(i + 1) * pn], ls.a[i]);
            ls.x.push(xi);
        }
        let lp = &p.layers[l];
        let np = c.neuron.n_ports();
        ls.y.clear();
        if np == 1 {
            ls.y.extend_from_slice(&lp.b);
        } else {
            // y[j*P + p]; the bias drives port 0
            ls.y.resize(c.n * np, T::zero());
            for j in 0..c.n {
                ls.y[j * np] = lp.b[j];
            }
        }
        for (i, &xi) in ls.x.iter().enumerate() {
            if xi.is_exact_zero() {
                continue;
            }
            let row = &lp.w[i * c.n..(i + 1) * c.n];
            if np == 1 {
                for j in 0..c.n {
                    ls.y[j] += xi * row[j];
                }
            } else {
                let port = c.neuron.axon_port(i, c.n_in);
                for j in 0..c.n {
                    ls.y[j * np + port] += xi * row[j];
                }
            }
        }
        ls.h_prev.clear();
        ls.h_prev.extend_from_slice(&lst.h);
        for j in 0..c.n {
            let (hp, h) = (&ls.h_prev[j * s_n..(j + 1) * s_n], &mut lst.h[j * s_n..(j + 1) * s_n]);
            if np == 1 {
                c.neuron.step(hp, ls.y[j], h);
            } else {
                c.neuron.step_ports(hp, &ls.y[j * np..(j + 1) * np], h);
            }
        }
        ls.h.clear();
        ls.h.extend_from_slice(&lst.h);
        ls.s.clear();
        for j in 0..c.n {
            ls.s.push(c.neuron.vhat(&lst.h[j * s_n..(j + 1) * s_n]).spike(&sur));
        }
    }
    let last = cfg.layers.len() - 1;
    rec.output.clear();
    match cfg.output {
        Output::LeakyReadout { n_out, kappa } => {
            let s = &rec.layers[last].s;
            for k in 0..n_out {
                st.r[k] *= T::cst(kappa);
            }
            for (j, &sj) in s.iter().enumerate() {
                if sj.is_exact_zero() {
                    continue;
                }
                for k in 0..n_out {
                    st.r[k] += sj * p.readout[j * n_out + k];
                }
            }
            rec.output.extend_from_slice(&st.r);
        }
        Output::Membrane => {
            let c = &cfg.layers[last];
            let m = c.neuron.membrane_index();
            let s_n = c.neuron.n_states();
            for j in 0..c.n {
                rec.output.push(st.layers[last].h[j * s_n + m]);
            }
        }
        Output::MembraneReadout { n_out, kappa, standardize } => {
            let c = &cfg.layers[last];
            let s_n = c.neuron.n_states();
            rec.z.clear();
            for j in 0..c.n {
                rec.z.push(c.neuron.vhat(&st.layers[last].h[j * s_n..(j + 1) * s_n]));
            }
            rec.z_inv_sd = 1.0;
            if standardize {
                let nf = T::cst(c.n as f64);
                let mut mean = T::zero();
                for &z in &rec.z {
                    mean += z;
                }
                mean = mean / nf;
                let mut var = T::zero();
                for &z in &rec.z {
                    var += (z - mean) * (z - mean);
                }
                let sd = (var / nf + T::cst(STANDARDIZE_EPS)).sqrt();
                rec.z_inv_sd = 1.0 / sd.val();
                for z in rec.z.iter_mut() {
                    *z = (*z - mean) / sd;
                }
            }
            for k in 0..n_out {
                st.r[k] *= T::cst(kappa);
            }
            for (j, &zj) in rec.z.iter().enumerate() {
                for k in 0..n_out {
                    st.r[k] += zj * p.readout[j * n_out + k];
                }
            }
            rec.output.extend_from_slice(&st.r);
        }
    }
}

/// Adjoints carried backwards in time (for step t on entry, for step t−1 on exit).
#[derive(Clone, Debug)]
pub struct Adjoint {
    /// ∂L/∂h_t per layer (from later steps).
    pub dh: Vec<Vec<f64>>,
    /// ∂L/∂s_t per layer (from later steps: recurrence, filters).
    pub ds: Vec<Vec<f64>>,
    /// ∂L/∂(presynaptic state after step t) per layer.
    pub dp: Vec<Vec<f64>>,
    /// ∂L/∂r_t.
    pub dr: Vec<f64>,
}

impl Adjoint {
    /// Zeros shaped for `cfg`.
    pub fn zeros<M: NeuronModel>(cfg: &NetConfig<M>) -> Self {
        Self {
            dh: cfg.layers.iter().map(|c| vec![0.0; c.n * c.neuron.n_states()]).collect(),
            ds: cfg.layers.iter().map(|c| vec![0.0; c.n]).collect(),
            dp: cfg.layers.iter().map(|c| vec![0.0; c.n_x() * c.presyn.n_states()]).collect(),
            dr: vec![0.0; cfg.n_out()],
        }
    }
    /// Set to zero.
    pub fn clear(&mut self) {
        for v in self.dh.iter_mut().chain(self.ds.iter_mut()).chain(self.dp.iter_mut()) {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
        self.dr.iter_mut().for_each(|x| *x = 0.0);
    }
}

/// Reverse of one [`forward_step`].
///
/// On entry `adj` holds the adjoints of step t's outputs coming from later steps (all zero for the
/// within-step learning signal of the online algorithms); `d_out` is ∂L_t/∂o_t. On exit `adj` holds the
/// adjoints for step t−1, `lambda[l]` = ∂L/∂h^l_t (with zero `adj` on entry: the partial, within-step λ_t
/// of spec §4.1/§4.5), and `grads` (if given) has the step-t parameter gradient added.
pub fn backprop_step<M: NeuronModel>(
    cfg: &NetConfig<M>,
    p: &Params<f64>,
    rec: &StepRecord<f64>,
    d_out: Option<&[f64]>,
    adj: &mut Adjoint,
    mut grads: Option<&mut Params<f64>>,
    lambda: &mut [Vec<f64>],
) {
    let nl = cfg.layers.len();
    let last = nl - 1;
    // output stage
    match cfg.output {
        Output::LeakyReadout { n_out, kappa } => {
            if let Some(d) = d_out {
                for k in 0..n_out {
                    adj.dr[k] += d[k];
                }
            }
            let s = &rec.layers[last].s;
            for j in 0..s.len() {
                let mut acc = 0.0;
                for k in 0..n_out {
                    acc += p.readout[j * n_out + k] * adj.dr[k];
                }
                adj.ds[last][j] += acc;
                if let Some(g) = grads.as_deref_mut() {
                    if s[j] != 0.0 {
                        for k in 0..n_out {
                            g.readout[j * n_out + k] += s[j] * adj.dr[k];
                        }
                    }
                }
            }
            for k in 0..n_out {
                adj.dr[k] *= kappa;
            }
        }
        Output::Membrane => {
            if let Some(d) = d_out {
                let c = &cfg.layers[last];
                let (m, s_n) = (c.neuron.membrane_index(), c.neuron.n_states());
                for j in 0..c.n {
                    adj.dh[last][j * s_n + m] += d[j];
                }
            }
        }
        Output::MembraneReadout { n_out, kappa, standardize } => {
            if let Some(d) = d_out {
                for k in 0..n_out {
                    adj.dr[k] += d[k];
                }
            }
            let c = &cfg.layers[last];
            let s_n = c.neuron.n_states();
            let z = &rec.z;
            let mut dz = vec![0.0; c.n];
            for j in 0..c.n {
                let mut acc = 0.0;
                for k in 0..n_out {
                    acc += p.readout[j * n_out + k] * adj.dr[k];
                }
                dz[j] = acc;
                if let Some(g) = grads.as_deref_mut() {
                    for k in 0..n_out {
                        g.readout[j * n_out + k] += z[j] * adj.dr[k];
                    }
                }
            }
            for k in 0..n_out {
                adj.dr[k] *= kappa;
            }
            if standardize {
                // z = (v − μ)/σ: ∂L/∂v = (dz − mean(dz) − z·mean(dz·z))/σ
                let nf = c.n as f64;
                let m1 = dz.iter().sum::<f64>() / nf;
                let m2 = dz.iter().zip(z).map(|(a, b)| a * b).sum::<f64>() / nf;
                for j in 0..c.n {
                    dz[j] = (dz[j] - m1 - z[j] * m2) * rec.z_inv_sd;
                }
            }
            let mut vg = vec![0.0; s_n];
            for j in 0..c.n {
                if dz[j] != 0.0 {
                    c.neuron.vhat_grad(&rec.layers[last].h[j * s_n..(j + 1) * s_n], &mut vg);
                    for k in 0..s_n {
                        adj.dh[last][j * s_n + k] += vg[k] * dz[j];
                    }
                }
            }
        }
    }
    let mut sg = Vec::new();
    let mut dmat = Vec::new();
    let mut df = Vec::new();
    for l in (0..nl).rev() {
        let c = &cfg.layers[l];
        let ls = &rec.layers[l];
        let s_n = c.neuron.n_states();
        sg.resize(s_n, 0.0);
        dmat.resize(s_n * s_n, 0.0);
        df.resize(s_n, 0.0);
        // λ_t = ∂L/∂h_t: from later steps plus through s_t
        let mut dh = std::mem::take(&mut adj.dh[l]);
        for j in 0..c.n {
            let dsj = adj.ds[l][j];
            if dsj != 0.0 {
                c.neuron.spike_grad(&ls.h[j * s_n..(j + 1) * s_n], &mut sg);
                for k in 0..s_n {
                    dh[j * s_n + k] += sg[k] * dsj;
                }
            }
        }
        lambda[l].clear();
        lambda[l].extend_from_slice(&dh);
        // through the neuron: dy (n × P, `dy[j*P + p]`) and dh_{t−1}
        let np = c.neuron.n_ports();
        df.resize(s_n * np, 0.0);
        let mut dy = vec![0.0; c.n * np];
        let mut dh_prev = vec![0.0; c.n * s_n];
        for j in 0..c.n {
            let hj = &dh[j * s_n..(j + 1) * s_n];
            if hj.iter().all(|&v| v == 0.0) {
                continue;
            }
            c.neuron.jacobians_ports(&ls.h_prev[j * s_n..(j + 1) * s_n], &ls.y[j * np..(j + 1) * np], &mut dmat, &mut df);
            for k in 0..s_n {
                for pp in 0..np {
                    dy[j * np + pp] += df[k * np + pp] * hj[k];
                }
                for q in 0..s_n {
                    dh_prev[j * s_n + q] += dmat[k * s_n + q] * hj[k];
                }
            }
        }
        // through y = x·W + b (axon i feeds port(i) of every neuron)
        let lp = &p.layers[l];
        let n_x = c.n_x();
        let port = |i: usize| if np == 1 { 0 } else { c.neuron.axon_port(i, c.n_in) };
        let mut dx = vec![0.0; n_x];
        for i in 0..n_x {
            let row = &lp.w[i * c.n..(i + 1) * c.n];
            let pi = port(i);
            let mut acc = 0.0;
            for j in 0..c.n {
                acc += row[j] * dy[j * np + pi];
            }
            dx[i] = acc;
        }
        if let Some(g) = grads.as_deref_mut() {
            let gl = &mut g.layers[l];
            for i in 0..n_x {
                let xi = ls.x[i];
                if xi != 0.0 {
                    let pi = port(i);
                    let row = &mut gl.w[i * c.n..(i + 1) * c.n];
                    for j in 0..c.n {
                        row[j] += xi * dy[j * np + pi];
                    }
                }
            }
            for j in 0..c.n {
                gl.b[j] += dy[j * np];
            }
        }
        // through the presynaptic filter: da and dp_{t−1}
        let pn = c.presyn.n_states();
        let mut da = vec![0.0; n_x];
        let mut dp_prev = vec![0.0; n_x * pn];
        if pn == 0 {
            da.copy_from_slice(&dx);
        } else {
            let (mut dx_dst, mut dst_dst, mut dst_dsp) = ([0.0; 2], [0.0; 4], [0.0; 2]);
            for i in 0..n_x {
                let stp = &ls.pre_prev[i * pn..(i + 1) * pn];
                let dx_dsp = c.presyn.partials(stp, ls.a[i], &mut dx_dst, &mut dst_dst, &mut dst_dsp);
                let dpi = &adj.dp[l][i * pn..(i + 1) * pn];
                let mut d = dx_dsp * dx[i];
                for k in 0..pn {
                    d += dst_dsp[k] * dpi[k];
                }
                da[i] = d;
                for q in 0..pn {
                    let mut acc = dx_dst[q] * dx[i];
                    for k in 0..pn {
                        acc += dst_dst[k * pn + q] * dpi[k];
                    }
                    dp_prev[i * pn + q] = acc;
                }
            }
        }
        // route axon adjoints: inputs to the layer below (same step), recurrent part to s_{t−1}
        let mut ds_prev = vec![0.0; c.n];
        if l > 0 {
            for i in 0..c.n_in {
                adj.ds[l - 1][i] += da[i];
            }
        }
        if c.recurrent {
            ds_prev.copy_from_slice(&da[c.n_in..]);
        }
        adj.dh[l] = dh_prev;
        adj.ds[l] = ds_prev;
        adj.dp[l] = dp_prev;
        drop(dh);
    }
}
