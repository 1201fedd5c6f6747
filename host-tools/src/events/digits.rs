//! Rate-coded 8×8 sklearn digits as an event set: the demonstration input "rate-coded digits read from an
//! event file".
//!
//! Sample k is [`crate::tasks::digits::trial`] of digit k with seed `seed ^ (k + 77)`, the seed
//! `plasticore train --task digits` gives its k-th held-out trial: a file written from the held-out split
//! carries exactly the spikes that command evaluates on. Pixel (row y, column x) is channel y·8 + x of the
//! sensor (8, 8, 1); a spike in step k is an event at t = k·dt.
use super::bins::{from_spikes, BinError, SpikeSample, MAX_STEPS};
use super::{EventSet, Sensor};
use crate::tasks::digits::{trial, Digit};

/// The sensor of the digits: 8 × 8 pixels, one polarity.
pub const SENSOR: Sensor = Sensor::Xyp { width: 8, height: 8, polarities: 1 };

/// How to encode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateCoding {
    /// Steps per image (> 0).
    pub steps: usize,
    /// Spike probability per step of a pixel of value 16, in [0, 1] (`train` uses 0.2).
    pub p_max: f64,
    /// Step length in µs (> 0).
    pub dt_us: u64,
    /// Seed.
    pub seed: u64,
}

/// The spikes of `digits` (sample k: seed `seed ^ (k + 77)`).
pub fn spikes(digits: &[Digit], c: RateCoding) -> Result<Vec<SpikeSample>, String> {
    if c.steps == 0 || c.steps > MAX_STEPS {
        return Err(format!("steps per image must be in 1..={MAX_STEPS}, got {}", c.steps));
    }
    if !(0.0..=1.0).contains(&c.p_max) {
        return Err(format!("p_max must be in [0, 1], got {}", c.p_max));
    }
    Ok(digits
        .iter()
        .enumerate()
        .map(|(k, d)| {
            let tr = trial(d, c.steps, 1, c.p_max, c.seed ^ (k as u64 + 77));
            let steps = tr.seq.inputs.iter().map(|x| x.iter().enumerate().filter(|(_, &v)| v != 0.0).map(|(i, _)| i as u16).collect()).collect();
            SpikeSample { label: d.label as u32, steps }
        })
        .collect())
}

/// The event set of `digits` rate-coded as in [`spikes`].
pub fn rate_coded(digits: &[Digit], c: RateCoding) -> Result<EventSet, String> {
    let s = spikes(digits, c)?;
    from_spikes(SENSOR, &s, c.dt_us).map_err(|e: BinError| e.to_string())
}
