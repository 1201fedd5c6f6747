//! Optimisers and global-norm clipping.
use super::net::Params;
use super::RefError;
use serde::{Deserialize, Serialize};

/// Optimiser choice.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// θ ← θ − lr·g.
    Sgd {
        /// Learning rate.
        lr: f64,
    },
    /// Adam (Kingma & Ba), bias-corrected moments.
    Adam {
        /// Learning rate.
        lr: f64,
        /// β1.
        beta1: f64,
        /// β2.
        beta2: f64,
        /// ε.
        eps: f64,
    },
}

impl OptimizerKind {
    /// Adam with the usual β1 = 0.9, β2 = 0.999, ε = 1e-8.
    pub fn adam(lr: f64) -> Self {
        Self::Adam { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }
}

/// Optimiser state.
#[derive(Clone, Debug)]
pub struct Optimizer {
    kind: OptimizerKind,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Optimizer {
    /// New optimiser for `n` parameters.
    pub fn new(kind: OptimizerKind, n: usize) -> Result<Self, RefError> {
        let ok = match kind {
            OptimizerKind::Sgd { lr } => lr.is_finite() && lr >= 0.0,
            OptimizerKind::Adam { lr, beta1, beta2, eps } => {
                lr.is_finite() && lr >= 0.0 && (0.0..1.0).contains(&beta1) && (0.0..1.0).contains(&beta2) && eps > 0.0
            }
        };
        if !ok {
            return Err(RefError::Config("optimiser hyper-parameters out of range"));
        }
        Ok(Self { kind, m: vec![0.0; n], v: vec![0.0; n], t: 0 })
    }
    /// Apply one step with gradient `g`.
    pub fn step(&mut self, p: &mut Params<f64>, g: &Params<f64>) {
        let gf = g.flat();
        self.t = self.t.saturating_add(1);
        match self.kind {
            OptimizerKind::Sgd { lr } => {
                for (x, gi) in p.flat_mut().into_iter().zip(gf) {
                    *x -= lr * gi;
                }
            }
            OptimizerKind::Adam { lr, beta1, beta2, eps } => {
                let b1 = 1.0 - beta1.powi(self.t);
                let b2 = 1.0 - beta2.powi(self.t);
                for (q, (x, gi)) in p.flat_mut().into_iter().zip(gf).enumerate() {
                    self.m[q] = beta1 * self.m[q] + (1.0 - beta1) * gi;
                    self.v[q] = beta2 * self.v[q] + (1.0 - beta2) * gi * gi;
                    *x -= lr * (self.m[q] / b1) / ((self.v[q] / b2).sqrt() + eps);
                }
            }
        }
    }
}

/// Scale `g` so that its global norm is at most `max_norm`; returns the norm before clipping.
pub fn clip_global_norm(g: &mut Params<f64>, max_norm: f64) -> f64 {
    let n = g.norm();
    if n > max_norm && n > 0.0 {
        g.scale(max_norm / n);
    }
    n
}
