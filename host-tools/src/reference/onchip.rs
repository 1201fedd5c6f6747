//! The on-chip learning rule of spec §8.1, in float: the same traces as ES-D-RTRL (ε^f stored divided by
//! (1−α)), a learning signal from a feedback matrix instead of a within-step backprop, and per-step (`Online`)
//! or accumulated (`Accumulate`) weight updates. One recurrent layer and a leaky readout.
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

/// State of the on-chip rule for one network.
pub struct OnChip<M: NeuronModel> {
    net: NetConfig<M>,
    cfg: OnChipConfig,
    /// Current weights.
    pub params: Params<f64>,
    st: NetState<f64>,
    rec: StepRecord<f64>,
    ex: Vec<f64>,
    ef: Vec<f64>,
    eo: Vec<f64>,
    acc: Params<f64>,
    e: Vec<f64>,
    lam: Vec<f64>,
}

impl<M: NeuronModel> OnChip<M> {
    /// Validate and build; the network must have one layer and a leaky readout.
    pub fn new(net: NetConfig<M>, params: Params<f64>, cfg: OnChipConfig) -> Result<Self, RefError> {
        net.validate()?;
        params.check(&net)?;
        if net.layers.len() != 1 {
            return Err(RefError::Unsupported("the on-chip rule is defined per layer: one layer"));
        }
        if net.layers[0].neuron.n_ports() != 1 {
            return Err(RefError::Unsupported("the on-chip rule has one input port per neuron"));
        }
        let Output::LeakyReadout { n_out, .. } = net.output else {
            return Err(RefError::Unsupported("the on-chip rule needs a leaky readout"));
        };
        if !(0.0..1.0).contains(&cfg.alpha) || !cfg.eta.is_finite() || !cfg.eta_o.is_finite() {
            return Err(RefError::Config("alpha must be in [0, 1) and learning rates finite"));
        }
        let c = &net.layers[0];
        if let Feedback::RandomFeedback(b) = &cfg.feedback {
            if b.len() != c.n * n_out {
                return Err(RefError::Shape { what: "feedback matrix", expected: c.n * n_out, got: b.len() });
            }
        }
        let s = c.neuron.n_states();
        Ok(Self {
            st: NetState::new(&net),
            rec: StepRecord::default(),
            ex: vec![0.0; c.n_x()],
            ef: vec![0.0; c.n * s],
            eo: vec![0.0; c.n],
            acc: Params::zeros(&net),
            e: vec![0.0; n_out],
            lam: vec![0.0; c.n],
            params,
            net,
            cfg,
        })
    }

    /// Reset neuron states and traces (weights and the accumulator are kept).
    pub fn reset(&mut self) {
        self.st = NetState::new(&self.net);
        self.ex.iter_mut().chain(self.ef.iter_mut()).chain(self.eo.iter_mut()).for_each(|x| *x = 0.0);
    }

    /// One step. `target` = None outside the loss window. `external_lambda` (n values) is required with
    /// [`Feedback::External`] inside the loss window. Returns the step loss.
    pub fn step(&mut self, u: &[f64], target: Option<&Target>, external_lambda: Option<&[f64]>) -> Result<f64, RefError> {
        let c = &self.net.layers[0];
        if u.len() != c.n_in {
            return Err(RefError::Shape { what: "input width", expected: c.n_in, got: u.len() });
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
        let ls = &self.rec.layers[0];
        let (n, s_n, m) = (c.n, c.neuron.n_states(), c.neuron.membrane_index());
        // 3. traces: ε^x ← α ε^x + x;  ẽ^f ← α D ẽ^f + D^f
        let a = self.cfg.alpha;
        for (e, &x) in self.ex.iter_mut().zip(&ls.x) {
            *e = a * *e + x;
        }
        let (mut d, mut df, mut tmp) = (vec![0.0; s_n * s_n], vec![0.0; s_n], vec![0.0; s_n]);
        for j in 0..n {
            c.neuron.jacobians(&ls.h_prev[j * s_n..(j + 1) * s_n], ls.y[j], &mut d, &mut df);
            let f = &mut self.ef[j * s_n..(j + 1) * s_n];
            for k in 0..s_n {
                tmp[k] = a * (0..s_n).map(|q| d[k * s_n + q] * f[q]).sum::<f64>() + df[k];
            }
            f.copy_from_slice(&tmp);
        }
        // 4. readout trace ε^o ← κ ε^o + s
        for (e, &s) in self.eo.iter_mut().zip(&ls.s) {
            *e = kappa * *e + s;
        }
        // 5. error, only inside the loss window
        let Some(tgt) = target else { return Ok(0.0) };
        let loss = loss_grad(self.net.loss, &self.rec.output, tgt, &mut self.e);
        // 6. learning signal λ_j = ψ(v̂_{j,t}) · Σ_k B_kj e_k
        let sur = c.neuron.surrogate();
        match &self.cfg.feedback {
            Feedback::External => {
                let l = external_lambda.ok_or(RefError::Config("External feedback needs a learning signal"))?;
                if l.len() != n {
                    return Err(RefError::Shape { what: "external lambda", expected: n, got: l.len() });
                }
                self.lam.copy_from_slice(l);
            }
            fb => {
                let b = match fb {
                    Feedback::RandomFeedback(b) => b,
                    _ => &self.params.readout,
                };
                for j in 0..n {
                    let psi = sur.psi(c.neuron.vhat(&ls.h[j * s_n..(j + 1) * s_n]));
                    self.lam[j] = psi * (0..n_out).map(|k| b[j * n_out + k] * self.e[k]).sum::<f64>();
                }
            }
        }
        // 7. ΔW_ij = −η ε^x_i ẽ^f_{j,V} λ_j;  ΔV_kj = −η_o e_k ε^o_j
        let target_p = match self.cfg.mode {
            UpdateMode::Online => &mut self.params,
            UpdateMode::Accumulate => &mut self.acc,
        };
        let fj: Vec<f64> = (0..n).map(|j| -self.cfg.eta * self.ef[j * s_n + m] * self.lam[j]).collect();
        let w = &mut target_p.layers[0].w;
        for (i, &exi) in self.ex.iter().enumerate() {
            if exi != 0.0 {
                for j in 0..n {
                    w[i * n + j] += exi * fj[j];
                }
            }
        }
        for j in 0..n {
            if self.eo[j] != 0.0 {
                for k in 0..n_out {
                    target_p.readout[j * n_out + k] -= self.cfg.eta_o * self.e[k] * self.eo[j];
                }
            }
        }
        Ok(loss)
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
