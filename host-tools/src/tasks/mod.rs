//! Seeded task generators and spike encoders (spec §5, `shared/spec/spike-encoding.md`).
//!
//! Every generator takes a seed and returns [`crate::reference::net::Sequence`]s with per-step targets
//! (`None` outside the loss window) plus the trial label, so any algorithm of the reference can train on it.
pub mod digits;
pub mod dmts;
pub mod evidence;
pub mod mnist;

use crate::reference::rng::Rng;

/// A labelled trial.
#[derive(Clone, Debug)]
pub struct Trial {
    /// Inputs and per-step targets.
    pub seq: crate::reference::net::Sequence,
    /// Class label (what accuracy is measured against).
    pub label: usize,
}

/// Rate (Bernoulli) coding: for each step and channel, spike with probability p_max·x/x_max.
pub fn rate_encode(x: &[f64], x_max: f64, p_max: f64, steps: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
    (0..steps)
        .map(|_| {
            x.iter()
                .map(|&v| {
                    let p = if x_max > 0.0 { (p_max * v / x_max).clamp(0.0, 1.0) } else { 0.0 };
                    if rng.bernoulli(p) {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// Latency (time-to-first-spike) coding: channel i fires once at round((1 − x_i/x_max)·(T−1)); zeros never.
pub fn latency_encode(x: &[f64], x_max: f64, steps: usize) -> Vec<Vec<f64>> {
    let mut out = vec![vec![0.0; x.len()]; steps];
    if steps == 0 || x_max <= 0.0 {
        return out;
    }
    for (i, &v) in x.iter().enumerate() {
        if v > 0.0 {
            let t = ((1.0 - (v / x_max).min(1.0)) * (steps - 1) as f64).round() as usize;
            out[t.min(steps - 1)][i] = 1.0;
        }
    }
    out
}

/// Poisson (Bernoulli per 1 ms step) spike of rate `hz`.
#[inline]
pub fn poisson(rng: &mut Rng, hz: f64) -> f64 {
    if rng.bernoulli(hz * 1e-3) {
        1.0
    } else {
        0.0
    }
}
