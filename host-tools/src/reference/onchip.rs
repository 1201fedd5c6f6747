//! The on-chip learning rule of spec §8.1, in float: the same traces as ES-D-RTRL (ε^f stored divided by
//! (1−α)), a learning signal from a feedback matrix instead of a within-step backprop, and per-step (`Online`)
//! or accumulated (`Accumulate`) weight updates. Stacked layers (each optionally recurrent) and a leaky
//! readout of the last one; each layer's learning signal comes from its own source ([`DeepOptions`]).
//!
//! Phases of one step, in this order: integrate → neuron update → traces → readout → error → learning
//! signal → weight update. In float no rounding is applied (the fixed-point core rounds ΔW stochastically).
use super::model::NeuronModel;
use super::net::{forward_step, loss_grad, LossKind, NetConfig, NetState, Output, Params, StepRecord, Target};
use super::RefError;
use serde::{Deserialize, Serialize};

/// Where λ comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Feedback {
    /// B = V (the readout weights).
    Symmetric,
    /// A fixed matrix B, stored like the readout: `b[j*n_out + k]`.
    RandomFeedback(Vec<f64>),
    /// λ is passed to [`OnChip::step`] by the caller (host or neighbouring core).
    External,
}

/// When weights move.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateMode {
    /// Apply ΔW every step (weights change during the sequence).
    Online,
    /// Sum ΔW; apply on [`OnChip::apply_accumulated`] (O(N²) extra memory).
    Accumulate,
}

/// Hyper-parameters of the rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OnChipConfig {
    /// Trace decay α.
    pub alpha: f64,
    /// Learning rate η of W (the (1−α) of ε^f is folded into it).
    pub eta: f64,
    /// Learning rate η_o of the readout.
    pub eta_o: f64,
    /// Learning-signal source.
    pub feedback: Feedback,
    /// Update mode.
    pub mode: UpdateMode,
}

/// Options for deep networks and bias learning (issue "Networks as graphs"); the default is the
/// one-layer rule: one learning-signal source ([`OnChipConfig::feedback`]) for every layer, biases fixed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeepOptions {
    /// One learning-signal source per layer (empty: [`OnChipConfig::feedback`] for every layer). For a
    /// layer below the last, `Symmetric` is the within-step backprop of §4.1 through the next layer's
    /// feed-forward weights: λ^l_j = ψ^l_j·Σ_i W^{l+1}_{ji}·λ^{l+1}_i·∂V^{l+1}_i/∂y^{l+1}_i, with the next
    /// layer's λ whatever its own source (as `plasticore_core::graph` computes it);
    /// `RandomFeedback(b)` has `b` of `n_l × n_out`; `External` takes this layer's slice of the step's
    /// external λ (the External layers' λ concatenated in layer order).
    pub per_layer: Vec<Feedback>,
    /// Learn the biases: Δb_j = −η·ẽ^f_{j,V}·λ_j (the ES-D-RTRL gradient of a bias, ε^x = 1).
    pub learn_bias: bool,
}

/// Per-layer traces and signals.
struct LayerTraces {
    ex: Vec<f64>,
    ef: Vec<f64>,
    /// ∂V_t/∂y_t of each neuron at this step (from its Jacobian D^f).
    dvdy: Vec<f64>,
    lam: Vec<f64>,
}

/// State of the on-chip rule for one network.
pub struct OnChip<M: NeuronModel> {
    net: NetConfig<M>,
    cfg: OnChipConfig,
    feedback: Vec<Feedback>,
    learn_bias: bool,
    /// Current weights.
    pub params: Params<f64>,
    st: NetState<f64>,
    rec: StepRecord<f64>,
    tr: Vec<LayerTraces>,
    eo: Vec<f64>,
    acc: Params<f64>,
    e: Vec<f64>,
}

impl<M: NeuronModel> OnChip<M> {
    /// Validate and build the one-layer-style rule ([`DeepOptions::default`]); the network needs a leaky
    /// readout and one input port per neuron.
    pub fn new(net: NetConfig<M>, params: Params<f64>, cfg: OnChipConfig) -> Result<Self, RefError> {
        Self::with_deep(net, params, cfg, DeepOptions::default())
    }

    /// Validate and build with per-layer learning signals and optional bias learning.
    pub fn with_deep(net: NetConfig<M>, params: Params<f64>, cfg: OnChipConfig, deep: DeepOptions) -> Result<Self, RefError> {
        net.validate()?;
        params.check(&net)?;
        if net.layers.iter().any(|c| c.neuron.n_ports() != 1) {
            return Err(RefError::Unsupported("the on-chip rule has one input port per neuron"));
        }
        let Output::LeakyReadout { n_out, .. } = net.output else {
            return Err(RefError::Unsupported("the on-chip rule needs a leaky readout"));
        };
        if !(0.0..1.0).contains(&cfg.alpha) || !cfg.eta.is_finite() || !cfg.eta_o.is_finite() {
            return Err(RefError::Config("alpha must be in [0, 1) and learning rates finite"));
        }
        let nl = net.layers.len();
        let feedback = if deep.per_layer.is_empty() { vec![cfg.feedback.clone(); nl] } else { deep.per_layer.clone() };
        if feedback.len() != nl {
            return Err(RefError::Shape { what: "per-layer feedback", expected: nl, got: feedback.len() });
        }
        for (c, fb) in net.layers.iter().zip(&feedback) {
            if let Feedback::RandomFeedback(b) = fb {
                if b.len() != c.n * n_out {
                    return Err(RefError::Shape { what: "feedback matrix", expected: c.n * n_out, got: b.len() });
                }
            }
        }
        let tr = net
            .layers
            .iter()
            .map(|c| LayerTraces {
                ex: vec![0.0; c.n_x()],
                ef: vec![0.0; c.n * c.neuron.n_states()],
                dvdy: vec![0.0; c.n],
                lam: vec![0.0; c.n],
            })
            .collect();
        Ok(Self {
            st: NetState::new(&net),
            rec: StepRecord::default(),
            tr,
            eo: vec![0.0; net.layers[nl - 1].n],
            acc: Params::zeros(&net),
            e: vec![0.0; n_out],
            feedback,
            learn_bias: deep.learn_bias,
            params,
            net,
            cfg,
        })
    }

    /// Reset neuron states and traces (weights and the accumulator are kept).
    pub fn reset(&mut self) {
        self.st = NetState::new(&self.net);
        for t in &mut self.tr {
            t.ex.iter_mut().chain(t.ef.iter_mut()).for_each(|x| *x = 0.0);
        }
        self.eo.iter_mut().for_each(|x| *x = 0.0);
    }

    /// Number of λ values [`OnChip::step`] expects with `External` layers (their neurons, in layer order).
    pub fn external_len(&self) -> usize {
        self.net.layers.iter().zip(&self.feedback).filter(|(_, f)| **f == Feedback::External).map(|(c, _)| c.n).sum()
    }

    /// One step. `target` = None outside the loss window. `external_lambda` ([`OnChip::external_len`]
    /// values) is required when a layer's feedback is `External`, inside the loss window. Returns the
    /// step loss.
    pub fn step(&mut self, u: &[f64], target: Option<&Target>, external_lambda: Option<&[f64]>) -> Result<f64, RefError> {
        let n_in = self.net.layers[0].n_in;
        if u.len() != n_in {
            return Err(RefError::Shape { what: "input width", expected: n_in, got: u.len() });
        }
        let Output::LeakyReadout { n_out, kappa } = self.net.output else { unreachable!("checked in new") };
        match (target, self.net.loss) {
            (None, _) => {}
            (Some(Target::Values(v)), LossKind::Mse) if v.len() == n_out => {}
            (Some(Target::Class(k)), LossKind::CrossEntropy) if *k < n_out => {}
            _ => return Err(RefError::Config("target does not match the loss or the readout size")),
        }
        // 1–2. integrate, neuron update, spike (and the readout r_t, computed by the shared forward step)
        forward_step(&self.net, &self.params, &mut self.st, u, &mut self.rec);
        // 3. traces per layer: ε^x ← α ε^x + x;  ẽ^f ← α D ẽ^f + D^f
        let a = self.cfg.alpha;
        for ((c, ls), t) in self.net.layers.iter().zip(&self.rec.layers).zip(&mut self.tr) {
            let (n, s_n, m) = (c.n, c.neuron.n_states(), c.neuron.membrane_index());
            for (e, &x) in t.ex.iter_mut().zip(&ls.x) {
                *e = a * *e + x;
            }
            let (mut d, mut df, mut tmp) = (vec![0.0; s_n * s_n], vec![0.0; s_n], vec![0.0; s_n]);
            for j in 0..n {
                c.neuron.jacobians(&ls.h_prev[j * s_n..(j + 1) * s_n], ls.y[j], &mut d, &mut df);
                let f = &mut t.ef[j * s_n..(j + 1) * s_n];
                for k in 0..s_n {
                    tmp[k] = a * (0..s_n).map(|q| d[k * s_n + q] * f[q]).sum::<f64>() + df[k];
                }
                f.copy_from_slice(&tmp);
                t.dvdy[j] = df[m];
            }
        }
        // 4. readout trace ε^o ← κ ε^o + s (of the last layer)
        let nl = self.net.layers.len();
        for (e, &s) in self.eo.iter_mut().zip(&self.rec.layers[nl - 1].s) {
            *e = kappa * *e + s;
        }
        // 5. error, only inside the loss window
        let Some(tgt) = target else { return Ok(0.0) };
        let loss = loss_grad(self.net.loss, &self.rec.output, tgt, &mut self.e);
        // 6. learning signals, last layer first: λ_j = ψ(v̂_{j,t}) · (Σ_k B_kj e_k, or the backprop sum)
        let ext_len = self.external_len();
        let ext = match external_lambda {
            Some(l) if l.len() == ext_len => Some(l),
            Some(l) => return Err(RefError::Shape { what: "external lambda", expected: ext_len, got: l.len() }),
            None if ext_len > 0 => return Err(RefError::Config("External feedback needs a learning signal")),
            None => None,
        };
        let mut ext_off = vec![0usize; nl];
        let mut o = 0;
        for (l, c) in self.net.layers.iter().enumerate() {
            if self.feedback[l] == Feedback::External {
                ext_off[l] = o;
                o += c.n;
            }
        }
        for l in (0..nl).rev() {
            let c = &self.net.layers[l];
            let (n, s_n) = (c.n, c.neuron.n_states());
            let sur = c.neuron.surrogate();
            let h = &self.rec.layers[l].h;
            let psi: Vec<f64> = (0..n).map(|j| sur.psi(c.neuron.vhat(&h[j * s_n..(j + 1) * s_n]))).collect();
            let lam: Vec<f64> = match &self.feedback[l] {
                Feedback::External => ext.map_or(vec![0.0; n], |e| e[ext_off[l]..ext_off[l] + n].to_vec()),
                Feedback::RandomFeedback(b) => {
                    (0..n).map(|j| psi[j] * (0..n_out).map(|k| b[j * n_out + k] * self.e[k]).sum::<f64>()).collect()
                }
                Feedback::Symmetric if l == nl - 1 => (0..n)
                    .map(|j| psi[j] * (0..n_out).map(|k| self.params.readout[j * n_out + k] * self.e[k]).sum::<f64>())
                    .collect(),
                Feedback::Symmetric => {
                    // Through the next layer's feed-forward rows (its axons 0..n_l carry this layer's spikes).
                    let (cn, tn) = (&self.net.layers[l + 1], &self.tr[l + 1]);
                    let w = &self.params.layers[l + 1].w;
                    (0..n)
                        .map(|j| {
                            let sum: f64 = (0..cn.n).map(|i| w[j * cn.n + i] * tn.lam[i] * tn.dvdy[i]).sum();
                            psi[j] * sum
                        })
                        .collect()
                }
            };
            self.tr[l].lam = lam;
        }
        // 7. ΔW_ij = −η ε^x_i ẽ^f_{j,V} λ_j (Δb_j = −η ẽ^f_{j,V} λ_j);  ΔV_kj = −η_o e_k ε^o_j
        let target_p = match self.cfg.mode {
            UpdateMode::Online => &mut self.params,
            UpdateMode::Accumulate => &mut self.acc,
        };
        for ((c, t), lp) in self.net.layers.iter().zip(&self.tr).zip(target_p.layers.iter_mut()) {
            let (n, s_n, m) = (c.n, c.neuron.n_states(), c.neuron.membrane_index());
            let fj: Vec<f64> = (0..n).map(|j| -self.cfg.eta * t.ef[j * s_n + m] * t.lam[j]).collect();
            for (i, &exi) in t.ex.iter().enumerate() {
                if exi != 0.0 {
                    for j in 0..n {
                        lp.w[i * n + j] += exi * fj[j];
                    }
                }
            }
            if self.learn_bias {
                for (b, f) in lp.b.iter_mut().zip(&fj) {
                    *b += f;
                }
            }
        }
        for j in 0..self.eo.len() {
            if self.eo[j] != 0.0 {
                for k in 0..n_out {
                    target_p.readout[j * n_out + k] -= self.cfg.eta_o * self.e[k] * self.eo[j];
                }
            }
        }
        Ok(loss)
    }

    /// Neuron and readout state after the last step.
    pub fn state(&self) -> &NetState<f64> {
        &self.st
    }

    /// λ of layer `l` at the last step inside the loss window (membrane state).
    pub fn lambda(&self, l: usize) -> &[f64] {
        self.tr.get(l).map_or(&[], |t| &t.lam)
    }

    /// Accumulated ΔW and ΔV (`Accumulate` mode).
    pub fn accumulated(&self) -> &Params<f64> {
        &self.acc
    }

    /// Apply and clear the accumulator.
    pub fn apply_accumulated(&mut self) {
        self.params.axpy(1.0, &self.acc);
        self.acc.scale(0.0);
    }

    /// Outputs r_t of the last step.
    pub fn output(&self) -> &[f64] {
        &self.rec.output
    }
}
