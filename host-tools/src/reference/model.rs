//! Neuron and presynaptic-filter models (spec §1), written once over [`Scalar`].
//!
//! Conventions shared with core-nostd: V_reset = 0, Δ = V_th − V_reset = V_th; v̂ = (V − V_th − β·a)/Δ;
//! the spike emitted at step t is s_t = H(v̂(h_t)) (strict `>`), and its reset is applied in step t+1:
//! V_t = α_m·(V_{t−1} − R·s_{t−1}) + input term, with R = Δ (soft) or stop_gradient(V_{t−1}) (hard).
//! Per-neuron state vector h = [g (exponential synapse only), V, a (ALIF only)].
use super::scalar::{Dual, Scalar, Surrogate};
use super::RefError;
use serde::{Deserialize, Serialize};

/// A per-neuron hidden-group model: what D-RTRL / ES-D-RTRL need from a neuron.
///
/// Contract: `step` is element-wise over neurons (neuron j sees only its own h_{t−1} and y_t); it must use
/// [`Scalar::spike`] for every spike it computes so duals carry the surrogate. `jacobians` and
/// `spike_grad` default to forward-mode duals; built-in models override them with closed forms that a test
/// checks against the default.
///
/// Input ports: a model may take P > 1 synaptic inputs per neuron (say excitatory and inhibitory
/// conductances). Each axon of the layer feeds one port ([`NeuronModel::axon_port`]), so
/// y_t[j, p] = Σ_{i: port(i) = p} x_i·W_ij (+ b_j on port 0), and D^f_t is S × P. Such a model implements
/// `step_ports`; `step` is then the same step with all input on port 0. Single-port models implement only
/// `step`.
pub trait NeuronModel: Clone + Send + Sync {
    /// Number of states S per neuron.
    fn n_states(&self) -> usize;
    /// Index of the membrane potential in the state vector (the state λ is read from in the on-chip rule).
    fn membrane_index(&self) -> usize;
    /// Initial state of one neuron (length S).
    fn init_state(&self) -> Vec<f64> {
        vec![0.0; self.n_states()]
    }
    /// Initial state of neuron `j` of a layer (default: [`NeuronModel::init_state`]); lets a model carry
    /// per-neuron constants as states that never change (their D^f is 0, so they get no trace).
    fn init_state_for(&self, j: usize) -> Vec<f64> {
        let _ = j;
        self.init_state()
    }
    /// Surrogate used by [`NeuronModel::vhat`] spikes.
    fn surrogate(&self) -> Surrogate;
    /// Normalised distance to threshold v̂(h); the neuron spikes when v̂ > 0.
    fn vhat<T: Scalar>(&self, h: &[T]) -> T;
    /// One step h_t = f(h_{t−1}, y_t) for one neuron.
    fn step<T: Scalar>(&self, h_prev: &[T], y: T, h: &mut [T]);
    /// D_t (row-major S×S, `d[k*S + l] = ∂h_t[k]/∂h_{t−1}[l]`) and D^f_t (`df[k] = ∂h_t[k]/∂y_t`).
    fn jacobians(&self, h_prev: &[f64], y: f64, d: &mut [f64], df: &mut [f64]) {
        dual_jacobians(self, h_prev, y, d, df);
    }
    /// Input ports P per neuron (default 1).
    fn n_ports(&self) -> usize {
        1
    }
    /// Port fed by axon `i` of a layer with `n_in` feed-forward inputs (axons `n_in..` are the layer's own
    /// neurons); default 0. Must be < `n_ports()`.
    fn axon_port(&self, i: usize, n_in: usize) -> usize {
        let _ = (i, n_in);
        0
    }
    /// One step with per-port inputs `y` (length P); default: [`NeuronModel::step`] with `y[0]`.
    fn step_ports<T: Scalar>(&self, h_prev: &[T], y: &[T], h: &mut [T]) {
        self.step(h_prev, y[0], h)
    }
    /// D_t (S×S) and D^f_t (S×P, `df[k*P + p] = ∂h_t[k]/∂y_t[p]`); for P = 1 the same as
    /// [`NeuronModel::jacobians`], otherwise by duals.
    fn jacobians_ports(&self, h_prev: &[f64], y: &[f64], d: &mut [f64], df: &mut [f64]) {
        if self.n_ports() == 1 {
            self.jacobians(h_prev, y[0], d, df)
        } else {
            dual_jacobians_ports(self, h_prev, y, d, df)
        }
    }
    /// ∂v̂/∂h (what `Output::MembraneReadout` reads), length S; default by duals.
    fn vhat_grad(&self, h: &[f64], out: &mut [f64]) {
        let mut hd: Vec<Dual> = h.iter().map(|&v| Dual::cst(v)).collect();
        for l in 0..self.n_states() {
            hd[l].d = 1.0;
            out[l] = self.vhat(&hd).d;
            hd[l].d = 0.0;
        }
    }
    /// ∂s_t/∂h_t (surrogate), length S.
    fn spike_grad(&self, h: &[f64], out: &mut [f64]) {
        let s = self.n_states();
        let mut hd: Vec<Dual> = h.iter().map(|&v| Dual::cst(v)).collect();
        let sur = self.surrogate();
        for l in 0..s {
            hd[l].d = 1.0;
            out[l] = self.vhat(&hd).spike(&sur).d;
            hd[l].d = 0.0;
        }
    }
}

/// D_t and D^f_t of any model by forward-mode duals (S+1 passes of `step`).
pub fn dual_jacobians<M: NeuronModel>(m: &M, h_prev: &[f64], y: f64, d: &mut [f64], df: &mut [f64]) {
    let s = m.n_states();
    let mut hp: Vec<Dual> = h_prev.iter().map(|&v| Dual::cst(v)).collect();
    let mut out = vec![Dual::default(); s];
    for l in 0..s {
        hp[l].d = 1.0;
        m.step(&hp, Dual::cst(y), &mut out);
        for k in 0..s {
            d[k * s + l] = out[k].d;
        }
        hp[l].d = 0.0;
    }
    m.step(&hp, Dual::new(y, 1.0), &mut out);
    for k in 0..s {
        df[k] = out[k].d;
    }
}

/// D_t and D^f_t (S × P) of a multi-port model by forward-mode duals (S + P passes of `step_ports`).
pub fn dual_jacobians_ports<M: NeuronModel>(m: &M, h_prev: &[f64], y: &[f64], d: &mut [f64], df: &mut [f64]) {
    let s = m.n_states();
    let np = y.len();
    let mut hp: Vec<Dual> = h_prev.iter().map(|&v| Dual::cst(v)).collect();
    let mut yd: Vec<Dual> = y.iter().map(|&v| Dual::cst(v)).collect();
    let mut out = vec![Dual::default(); s];
    for l in 0..s {
        hp[l].d = 1.0;
        m.step_ports(&hp, &yd, &mut out);
        for k in 0..s {
            d[k * s + l] = out[k].d;
        }
        hp[l].d = 0.0;
    }
    for p in 0..np {
        yd[p].d = 1.0;
        m.step_ports(&hp, &yd, &mut out);
        for k in 0..s {
            df[k * np + p] = out[k].d;
        }
        yd[p].d = 0.0;
    }
}

/// LIF or ALIF.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum NeuronKind {
    /// Leaky integrate-and-fire.
    Lif,
    /// Adaptive LIF: a_t = ρ·(a_{t−1} + s_{t−1}), threshold V_th + β·a.
    Alif {
        /// Adaptation decay ρ = e^{−dt/τ_a}.
        rho: f64,
        /// Threshold increase per unit adaptation β.
        beta: f64,
    },
}

/// Postsynaptic current synapse (AlignPost).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Synapse {
    /// y_t is added to V after the leak.
    Delta,
    /// g_t = α_s·g_{t−1} + y_t; input term k·g_t.
    Exponential {
        /// Synaptic decay α_s = e^{−dt/τ_s}.
        alpha_s: f64,
        /// Gain k (brainpy CUBA: 1 − α_m; W1-style CUBA: 1).
        gain: f64,
    },
}

/// Reset flavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResetMode {
    /// Subtract Δ·s_{t−1}.
    Soft,
    /// Subtract stop_gradient(V_{t−1})·s_{t−1} (to V_reset = 0).
    Hard,
}

/// Built-in neuron: LIF/ALIF × delta/exponential synapse (spec §1.2–1.4).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Neuron {
    /// LIF or ALIF.
    pub kind: NeuronKind,
    /// Current synapse.
    pub synapse: Synapse,
    /// Membrane decay α_m = e^{−dt/τ_m}.
    pub alpha_m: f64,
    /// Threshold V_th (> 0; V_reset = 0 so Δ = V_th).
    pub v_th: f64,
    /// Soft or hard reset.
    pub reset: ResetMode,
    /// Detach the reset spike (no surrogate through the reset term; adaptation keeps it).
    pub detach_reset: bool,
    /// Surrogate ψ.
    pub surrogate: Surrogate,
}

impl Neuron {
    /// A soft-reset, non-detached LIF with delta synapse, V_th = 1 and the ReluGrad(0.3, 1) surrogate.
    pub fn lif(alpha_m: f64) -> Self {
        Self {
            kind: NeuronKind::Lif,
            synapse: Synapse::Delta,
            alpha_m,
            v_th: 1.0,
            reset: ResetMode::Soft,
            detach_reset: false,
            surrogate: Surrogate::default(),
        }
    }
    /// Builder: ALIF adaptation.
    pub fn with_alif(mut self, rho: f64, beta: f64) -> Self {
        self.kind = NeuronKind::Alif { rho, beta };
        self
    }
    /// Builder: exponential synapse with the default gain 1 − α_m.
    pub fn with_exp(mut self, alpha_s: f64) -> Self {
        self.synapse = Synapse::Exponential { alpha_s, gain: 1.0 - self.alpha_m };
        self
    }
    /// Builder: exponential synapse with an explicit gain.
    pub fn with_exp_gain(mut self, alpha_s: f64, gain: f64) -> Self {
        self.synapse = Synapse::Exponential { alpha_s, gain };
        self
    }
    /// Check ranges.
    pub fn validate(&self) -> Result<(), RefError> {
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        if !unit(self.alpha_m) {
            return Err(RefError::Config("alpha_m must be in [0, 1]"));
        }
        if !(self.v_th > 0.0 && self.v_th.is_finite()) {
            return Err(RefError::Config("v_th must be positive and finite"));
        }
        if let NeuronKind::Alif { rho, beta } = self.kind {
            if !unit(rho) || !beta.is_finite() {
                return Err(RefError::Config("ALIF rho must be in [0, 1] and beta finite"));
            }
        }
        if let Synapse::Exponential { alpha_s, gain } = self.synapse {
            if !unit(alpha_s) || !gain.is_finite() {
                return Err(RefError::Config("alpha_s must be in [0, 1] and gain finite"));
            }
        }
        if !(self.surrogate.height >= 0.0 && self.surrogate.width > 0.0) {
            return Err(RefError::Config("surrogate height must be >= 0 and width > 0"));
        }
        Ok(())
    }
    #[inline]
    fn has_g(&self) -> bool {
        matches!(self.synapse, Synapse::Exponential { .. })
    }
    /// Index of the adaptation state, if any.
    #[inline]
    pub fn adaptation_index(&self) -> Option<usize> {
        match self.kind {
            NeuronKind::Alif { .. } => Some(self.membrane_index() + 1),
            NeuronKind::Lif => None,
        }
    }
    /// Index of the synaptic current state, if any.
    #[inline]
    pub fn current_index(&self) -> Option<usize> {
        if self.has_g() {
            Some(0)
        } else {
            None
        }
    }
}

impl NeuronModel for Neuron {
    fn n_states(&self) -> usize {
        1 + self.has_g() as usize + matches!(self.kind, NeuronKind::Alif { .. }) as usize
    }
    fn membrane_index(&self) -> usize {
        self.has_g() as usize
    }
    fn surrogate(&self) -> Surrogate {
        self.surrogate
    }
    #[inline]
    fn vhat<T: Scalar>(&self, h: &[T]) -> T {
        let v = h[self.membrane_index()];
        let th = match self.kind {
            NeuronKind::Lif => T::cst(self.v_th),
            NeuronKind::Alif { beta, .. } => T::cst(self.v_th) + T::cst(beta) * h[self.membrane_index() + 1],
        };
        (v - th) / T::cst(self.v_th)
    }
    #[inline]
    fn step<T: Scalar>(&self, h_prev: &[T], y: T, h: &mut [T]) {
        let m = self.membrane_index();
        let v = h_prev[m];
        let s_prev = self.vhat(h_prev).spike(&self.surrogate);
        let s_reset = if self.detach_reset { s_prev.detach() } else { s_prev };
        let r = match self.reset {
            ResetMode::Soft => T::cst(self.v_th),
            ResetMode::Hard => v.detach(),
        };
        let input = match self.synapse {
            Synapse::Delta => y,
            Synapse::Exponential { alpha_s, gain } => {
                let g = T::cst(alpha_s) * h_prev[0] + y;
                h[0] = g;
                T::cst(gain) * g
            }
        };
        h[m] = T::cst(self.alpha_m) * (v - r * s_reset) + input;
        if let NeuronKind::Alif { rho, .. } = self.kind {
            h[m + 1] = T::cst(rho) * (h_prev[m + 1] + s_prev);
        }
    }
    /// Closed forms of spec §1.2–1.4 (checked against [`dual_jacobians`] in tests).
    fn jacobians(&self, h_prev: &[f64], _y: f64, d: &mut [f64], df: &mut [f64]) {
        let s = self.n_states();
        d[..s * s].iter_mut().for_each(|x| *x = 0.0);
        let m = self.membrane_index();
        let delta = self.v_th;
        let psi = self.surrogate.psi(self.vhat(h_prev));
        // reset multiplier R (0 when the reset is detached)
        let r = if self.detach_reset {
            0.0
        } else {
            match self.reset {
                ResetMode::Soft => delta,
                ResetMode::Hard => h_prev[m],
            }
        };
        d[m * s + m] = self.alpha_m * (1.0 - r * psi / delta);
        match self.synapse {
            Synapse::Delta => {
                df[m] = 1.0;
            }
            Synapse::Exponential { alpha_s, gain } => {
                d[0] = alpha_s;
                d[m * s] = gain * alpha_s;
                df[0] = 1.0;
                df[m] = gain;
            }
        }
        if let NeuronKind::Alif { rho, beta } = self.kind {
            let a = m + 1;
            d[m * s + a] = self.alpha_m * r * beta * psi / delta;
            d[a * s + m] = rho * psi / delta;
            d[a * s + a] = rho * (1.0 - beta * psi / delta);
            df[a] = 0.0;
        }
    }
    fn spike_grad(&self, h: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|x| *x = 0.0);
        let m = self.membrane_index();
        let p = self.surrogate.psi(self.vhat(h)) / self.v_th;
        out[m] = p;
        if let NeuronKind::Alif { beta, .. } = self.kind {
            out[m + 1] = -beta * p;
        }
    }
}

/// Presynaptic (AlignPre) short-term plasticity applied to every axon of x (inputs and recurrent spikes),
/// literal spec §1.5. State per axon: STD [x_d] (initially 1), STP [u, x] (initially [0, 1]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Presyn {
    /// x = raw axon value.
    None,
    /// Short-term depression.
    Std {
        /// Release fraction U.
        u: f64,
        /// e^{−dt/τ_d}.
        decay_d: f64,
    },
    /// Short-term plasticity (facilitation + depression).
    Stp {
        /// Increment U of the utilisation.
        u: f64,
        /// e^{−dt/τ_f}.
        decay_f: f64,
        /// e^{−dt/τ_d}.
        decay_d: f64,
    },
}

impl Presyn {
    /// States per axon.
    pub fn n_states(&self) -> usize {
        match self {
            Presyn::None => 0,
            Presyn::Std { .. } => 1,
            Presyn::Stp { .. } => 2,
        }
    }
    /// Initial per-axon state.
    pub fn init_state(&self) -> &'static [f64] {
        match self {
            Presyn::None => &[],
            Presyn::Std { .. } => &[1.0],
            Presyn::Stp { .. } => &[0.0, 1.0],
        }
    }
    /// Check ranges.
    pub fn validate(&self) -> Result<(), RefError> {
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        let ok = match *self {
            Presyn::None => true,
            Presyn::Std { u, decay_d } => unit(u) && unit(decay_d),
            Presyn::Stp { u, decay_f, decay_d } => unit(u) && unit(decay_f) && unit(decay_d),
        };
        if ok {
            Ok(())
        } else {
            Err(RefError::Config("presynaptic U and decays must be in [0, 1]"))
        }
    }
    /// One step for one axon: updates `st` and returns the released value that enters x.
    #[inline]
    pub fn step<T: Scalar>(&self, st: &mut [T], spike: T) -> T {
        match *self {
            Presyn::None => spike,
            Presyn::Std { u, decay_d } => {
                let xd = st[0];
                let xt = T::cst(1.0) - (T::cst(1.0) - xd) * T::cst(decay_d);
                st[0] = xt - T::cst(u) * spike * xd;
                xt * spike
            }
            Presyn::Stp { u, decay_f, decay_d } => {
                let (u_old, x_old) = (st[0], st[1]);
                let u_new = u_old * T::cst(decay_f) + T::cst(u) * spike * (T::cst(1.0) - u_old);
                let xt = T::cst(1.0) - (T::cst(1.0) - x_old) * T::cst(decay_d);
                st[0] = u_new;
                st[1] = xt - spike * u_new * x_old;
                u_new * xt * spike
            }
        }
    }
    /// Local partials by duals: returns (∂x/∂state, ∂x/∂spike, ∂state'/∂state (P×P row-major), ∂state'/∂spike).
    pub fn partials(&self, st: &[f64], spike: f64, dx_dst: &mut [f64], dst_dst: &mut [f64], dst_dsp: &mut [f64]) -> f64 {
        let p = self.n_states();
        let mut buf = [Dual::default(); 2];
        for l in 0..p {
            for q in 0..p {
                buf[q] = Dual::new(st[q], if q == l { 1.0 } else { 0.0 });
            }
            let x = self.step(&mut buf[..p], Dual::cst(spike));
            dx_dst[l] = x.d;
            for k in 0..p {
                dst_dst[k * p + l] = buf[k].d;
            }
        }
        for q in 0..p {
            buf[q] = Dual::cst(st[q]);
        }
        let x = self.step(&mut buf[..p], Dual::new(spike, 1.0));
        for k in 0..p {
            dst_dsp[k] = buf[k].d;
        }
        x.d
    }
}
