//! Evidence accumulation (spec §5): 7 cues of 100 ms, each after a 50 ms gap, then a 1000 ms delay and a
//! 150 ms recall; answer = the side with more cues. Inputs: 4 groups of 25 (left, right, recall, noise).
use super::{poisson, Trial};
use crate::reference::net::{Sequence, Target};
use crate::reference::rng::Rng;

/// Task settings (dt = 1 ms).
#[derive(Clone, Debug)]
pub struct EvidenceConfig {
    /// Channels per group (25).
    pub group: usize,
    /// Cues (7).
    pub cues: usize,
    /// Cue length (100).
    pub cue: usize,
    /// Gap before each cue (50).
    pub gap: usize,
    /// Delay (1000).
    pub delay: usize,
    /// Recall (150).
    pub recall: usize,
    /// Rate of an active cue / recall group, Hz (40).
    pub on_hz: f64,
    /// Rate of the noise group, Hz (10).
    pub noise_hz: f64,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        Self { group: 25, cues: 7, cue: 100, gap: 50, delay: 1000, recall: 150, on_hz: 40.0, noise_hz: 10.0 }
    }
}

impl EvidenceConfig {
    /// Inputs (4 groups).
    pub fn n_in(&self) -> usize {
        4 * self.group
    }
    /// Total steps.
    pub fn steps(&self) -> usize {
        self.cues * (self.cue + self.gap) + self.delay + self.recall
    }
    /// One trial: label 0 = left majority, 1 = right majority (cues drawn with p = 0.5 per side; odd count).
    pub fn trial(&self, rng: &mut Rng) -> Trial {
        let sides: Vec<usize> = (0..self.cues).map(|_| rng.below(2)).collect();
        let right = sides.iter().sum::<usize>();
        let label = (2 * right > self.cues) as usize;
        let t_recall = self.cues * (self.cue + self.gap) + self.delay;
        let g = self.group;
        let mut inputs = Vec::with_capacity(self.steps());
        let mut targets = Vec::with_capacity(self.steps());
        for t in 0..self.steps() {
            let cue_side = if t < self.cues * (self.cue + self.gap) {
                let (k, off) = (t / (self.cue + self.gap), t % (self.cue + self.gap));
                (off >= self.gap).then(|| sides[k])
            } else {
                None
            };
            let recall = t >= t_recall;
            let u = (0..4 * g)
                .map(|i| {
                    let grp = i / g;
                    let hz = match grp {
                        0 | 1 if cue_side == Some(grp) => self.on_hz,
                        2 if recall => self.on_hz,
                        3 => self.noise_hz,
                        _ => 0.0,
                    };
                    poisson(rng, hz)
                })
                .collect();
            inputs.push(u);
            targets.push(recall.then_some(Target::Class(label)));
        }
        Trial { seq: Sequence { inputs, targets }, label }
    }
    /// `n` seeded trials.
    pub fn trials(&self, n: usize, seed: u64) -> Vec<Trial> {
        (0..n).map(|k| self.trial(&mut Rng::derive(seed, k as u64))).collect()
    }
}
