//! Shared by `run` and `compare`: data sets ([`data`]), graph images held as owned vectors
//! ([`netimage`]), the fixed-point backends ([`backend`]) and one sample driven through a backend.
pub mod backend;
pub mod data;
pub mod netimage;

use anyhow::Result;
use backend::Backend;
use data::Sample;

/// What one sample did on a fixed-point backend.
pub struct SampleRun {
    /// Class: argmax of the outputs summed over the loss steps (ties: lower class).
    pub class: usize,
    /// Spikes per population over the sample.
    pub spikes: Vec<u64>,
    /// Per step, per population, the spiking neurons (only when asked for).
    pub trace: Vec<Vec<Vec<u16>>>,
}

/// Argmax, ties to the lower index.
pub fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Run one sample (reset first): the target is the label on loss steps when `learn`, else none.
pub fn run_sample(b: &mut dyn Backend, s: &Sample, populations: usize, outputs: usize, learn: bool, record: bool) -> Result<SampleRun> {
    b.reset()?;
    let mut score = vec![0i64; outputs];
    let mut spikes = vec![0u64; populations];
    let mut trace = Vec::new();
    for (t, (input, &loss)) in s.steps.iter().zip(&s.loss).enumerate() {
        let target = (learn && loss).then_some(s.label as u16);
        b.step(t as u32, input, target)?;
        let mut step_spikes = Vec::new();
        for (p, n) in spikes.iter_mut().enumerate() {
            let sp = b.spikes(p);
            *n += sp.len() as u64;
            if record {
                step_spikes.push(sp);
            }
        }
        let o = b.outputs();
        if loss {
            for (acc, &x) in score.iter_mut().zip(&o) {
                *acc += x as i64;
            }
        }
        if record {
            trace.push(step_spikes);
        }
    }
    Ok(SampleRun { class: argmax(&score), spikes, trace })
}
