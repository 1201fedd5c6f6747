//! Delayed match-to-sample (spec §5, the DMS task): fixation, a sample direction, a delay, a test direction;
//! the answer (match / non-match) is scored on the test period only.
use super::{poisson, Trial};
use crate::reference::net::{Sequence, Target};
use crate::reference::rng::Rng;
use crate::reference::RefError;

/// Task timing and input coding (dt = 1 ms).
#[derive(Clone, Debug)]
pub struct DmtsConfig {
    /// Direction-tuned input channels (100).
    pub n_in: usize,
    /// Fixation steps (10).
    pub fixation: usize,
    /// Sample steps (500).
    pub sample: usize,
    /// Delay steps (1000).
    pub delay: usize,
    /// Test steps (500).
    pub test: usize,
    /// Number of distinct directions.
    pub n_dirs: usize,
    /// Peak rate of a channel at its preferred direction, Hz (100).
    pub peak_hz: f64,
    /// Background rate, Hz (1), added to every channel at every step.
    pub bg_hz: f64,
    /// Von Mises concentration of the tuning curves (8, as the paper script's `DMS` class).
    pub kappa: f64,
}

impl Default for DmtsConfig {
    fn default() -> Self {
        Self { n_in: 100, fixation: 10, sample: 500, delay: 1000, test: 500, n_dirs: 8, peak_hz: 100.0, bg_hz: 1.0, kappa: 8.0 }
    }
}

impl DmtsConfig {
    /// Total steps.
    pub fn steps(&self) -> usize {
        self.fixation + self.sample + self.delay + self.test
    }
    /// Check.
    pub fn validate(&self) -> Result<(), RefError> {
        let rates_ok = self.peak_hz >= 0.0 && self.bg_hz >= 0.0 && self.peak_hz + self.bg_hz <= 1000.0 && self.kappa >= 0.0;
        if self.n_in == 0 || self.n_dirs < 2 || self.test == 0 || self.sample == 0 || !rates_ok {
            return Err(RefError::Config(
                "DMTS: need inputs, >= 2 directions, sample and test periods, rates in [0, 1000] Hz, kappa >= 0",
            ));
        }
        Ok(())
    }
    /// Rate of channel i for direction d: bg + peak·e^{κ(cos(θ_d − φ_i) − 1)} (von Mises tuning over the
    /// circle, as the paper script: `exp(κ·cos)/exp(κ)·fr + bg`).
    pub fn rate(&self, i: usize, d: usize) -> f64 {
        let th = 2.0 * std::f64::consts::PI * d as f64 / self.n_dirs as f64;
        let phi = 2.0 * std::f64::consts::PI * i as f64 / self.n_in as f64;
        self.bg_hz + self.peak_hz * (self.kappa * ((th - phi).cos() - 1.0)).exp()
    }
    /// One trial: label 0 = match, 1 = non-match (probability ½ each).
    pub fn trial(&self, rng: &mut Rng) -> Trial {
        let ds = rng.below(self.n_dirs);
        let label = rng.below(2);
        let dt = if label == 0 { ds } else { (ds + 1 + rng.below(self.n_dirs - 1)) % self.n_dirs };
        let mut inputs = Vec::with_capacity(self.steps());
        let mut targets = Vec::with_capacity(self.steps());
        let t_sample = self.fixation;
        let t_delay = t_sample + self.sample;
        let t_test = t_delay + self.delay;
        for t in 0..self.steps() {
            let dir = if (t_sample..t_delay).contains(&t) {
                Some(ds)
            } else if t >= t_test {
                Some(dt)
            } else {
                None
            };
            inputs.push((0..self.n_in).map(|i| poisson(rng, dir.map_or(self.bg_hz, |d| self.rate(i, d)))).collect());
            targets.push((t >= t_test).then_some(Target::Class(label)));
        }
        Trial { seq: Sequence { inputs, targets }, label }
    }
    /// `n` seeded trials.
    pub fn trials(&self, n: usize, seed: u64) -> Vec<Trial> {
        (0..n).map(|k| self.trial(&mut Rng::derive(seed, k as u64))).collect()
    }
}
