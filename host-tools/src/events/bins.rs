//! Events ↔ per-timestep spike lists, the input form of a network run.
//!
//! Binning: an event at `t` µs falls in step `k = ⌊t / dt⌋` (steps are `[k·dt, (k+1)·dt)`); its channel
//! spikes in step k. Several events of one channel in one step are one spike (a spike is binary per step);
//! their number is reported as `merged`, never dropped silently. Each step's channels come out sorted
//! ascending. Back ([`from_spikes`]): a spike in step k is an event at `t = k·dt`, so
//! `to_spikes(from_spikes(s, dt), dt) == s` exactly (a test says so).
use super::{Event, EventSet, Sample, Sensor};

/// Longest sample, in steps (2^20): a guard against a time stamp far in the future turning into a huge
/// allocation. A longer recording needs a larger `dt`.
pub const MAX_STEPS: usize = 1 << 20;

/// How to cut time into steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binning {
    /// Step length in µs (> 0).
    pub dt_us: u64,
    /// Steps per sample; `None`: the longest sample's, ⌊t_last/dt⌋ + 1, for every sample. With `Some(n)`, an
    /// event at step ≥ n is an error (crop the recording first if that is what you want).
    pub steps: Option<usize>,
}

/// One sample as spikes: `steps[k]` lists the channels that spike in step k, ascending, no repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpikeSample {
    /// Class label.
    pub label: u32,
    /// Per step, the spiking channels.
    pub steps: Vec<Vec<u16>>,
}

/// What binning did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinStats {
    /// Events read.
    pub events: u64,
    /// Events that fell on a (step, channel) that already had one (merged into one spike).
    pub merged: u64,
    /// Steps per sample.
    pub steps: usize,
}

/// Why events could not be binned, or spikes not turned into events.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BinError {
    /// dt is 0.
    #[error("the step length dt must be positive")]
    ZeroDt,
    /// A sample is longer than [`MAX_STEPS`] or than the steps asked for.
    #[error("sample {sample}: an event at t = {t_us} µs falls in step {step}, beyond the {steps} steps per sample{hint}")]
    TooLong {
        /// Sample.
        sample: usize,
        /// Time of the event.
        t_us: u64,
        /// Its step.
        step: u64,
        /// The limit.
        steps: usize,
        /// What to do.
        hint: &'static str,
    },
    /// More steps per sample asked for than [`MAX_STEPS`].
    #[error("{steps} steps per sample asked for; at most {} are allowed", MAX_STEPS)]
    TooManySteps {
        /// Asked for.
        steps: usize,
    },
    /// A spike list names a channel outside the sensor or is not ascending without repeats.
    #[error("sample {sample}, step {step}: {what}")]
    BadSpikes {
        /// Sample.
        sample: usize,
        /// Step.
        step: usize,
        /// What is wrong.
        what: String,
    },
    /// `step·dt` does not fit in 63 bits of µs.
    #[error("{steps} steps of {dt_us} µs overflow the time stamps")]
    Overflow {
        /// Steps.
        steps: usize,
        /// dt.
        dt_us: u64,
    },
}

/// Turn every sample into spike lists of one common length.
pub fn to_spikes(set: &EventSet, b: Binning) -> Result<(Vec<SpikeSample>, BinStats), BinError> {
    if b.dt_us == 0 {
        return Err(BinError::ZeroDt);
    }
    if let Some(n) = b.steps.filter(|&n| n > MAX_STEPS) {
        return Err(BinError::TooManySteps { steps: n });
    }
    let (limit, hint) = match b.steps {
        Some(n) => (n, " asked for"),
        None => (MAX_STEPS, " (the most a sample may have; use a larger dt)"),
    };
    // the common length: asked for, or the longest sample's (checked against the limit here, so the
    // allocations below are bounded)
    let mut steps = b.steps.unwrap_or(0);
    for (s, smp) in set.samples.iter().enumerate() {
        if let Some(e) = smp.events.last() {
            let step = e.t_us / b.dt_us;
            if step >= limit as u64 {
                return Err(BinError::TooLong { sample: s, t_us: e.t_us, step, steps: limit, hint });
            }
            if b.steps.is_none() {
                steps = steps.max(step as usize + 1);
            }
        }
    }
    let mut stats = BinStats { steps, ..Default::default() };
    let out = set
        .samples
        .iter()
        .map(|smp| {
            let mut st: Vec<Vec<u16>> = vec![Vec::new(); steps];
            for e in &smp.events {
                st[(e.t_us / b.dt_us) as usize].push(e.channel);
            }
            for v in &mut st {
                let before = v.len();
                v.sort_unstable();
                v.dedup();
                stats.merged += (before - v.len()) as u64;
            }
            stats.events += smp.events.len() as u64;
            SpikeSample { label: smp.label, steps: st }
        })
        .collect();
    Ok((out, stats))
}

/// Turn spike lists into events at `t = k·dt` (the inverse of [`to_spikes`] for lists of its form).
pub fn from_spikes(sensor: Sensor, samples: &[SpikeSample], dt_us: u64) -> Result<EventSet, BinError> {
    if dt_us == 0 {
        return Err(BinError::ZeroDt);
    }
    let n = sensor.channels();
    let mut out = Vec::with_capacity(samples.len());
    for (s, smp) in samples.iter().enumerate() {
        let last = smp.steps.len().saturating_sub(1) as u64;
        if last.checked_mul(dt_us).is_none_or(|t| t > i64::MAX as u64) {
            return Err(BinError::Overflow { steps: smp.steps.len(), dt_us });
        }
        let mut events = Vec::with_capacity(smp.steps.iter().map(Vec::len).sum());
        for (k, chans) in smp.steps.iter().enumerate() {
            for (i, &c) in chans.iter().enumerate() {
                if c as u64 >= n {
                    return Err(BinError::BadSpikes { sample: s, step: k, what: format!("channel {c} outside the sensor {sensor}") });
                }
                if i > 0 && c <= chans[i - 1] {
                    return Err(BinError::BadSpikes { sample: s, step: k, what: "channels must be ascending without repeats".into() });
                }
                events.push(Event { t_us: k as u64 * dt_us, channel: c });
            }
        }
        out.push(Sample { label: smp.label, events });
    }
    Ok(EventSet { sensor, samples: out })
}
