//! Where a sweep's network and trials come from besides the built-in ones ([`super::builtin`]): a float
//! network written by `train` (`plasticore-float-net`) and a labelled event file
//! (`hw-notes/event-files.md`), binned as `quantize` bins it (targets on the last `loss_steps` steps).
use super::network::FloatSpec;
use super::{SweepError, Trials};
use crate::events::bins::{to_spikes, Binning, SpikeSample};
use crate::events::EventSet;
use crate::reference::io::{ModelSpec, SavedNet};
use crate::reference::net::{LayerConfig, NetConfig, Sequence, Target};
use crate::reference::onchip::{Feedback, OnChipConfig, UpdateMode};
use crate::tasks::Trial;

/// The on-chip rule's settings for a network file (it records only how it was trained in float).
#[derive(Clone, Copy, Debug)]
pub struct RuleSettings {
    /// Hidden learning rate η = 2^−shift.
    pub eta_shift: u8,
    /// Readout learning rate η_o = 2^−shift.
    pub eta_o_shift: u8,
    /// Trace decay α (`None`: the file's ES-D-RTRL α, else 0.9).
    pub alpha: Option<f64>,
}

/// A `train` network as the sweep's float network: built-in LIF/ALIF models only (the sweep's fixed
/// conversion then refuses what is not a one-layer delta-synapse LIF, naming it).
pub fn from_saved(saved: &SavedNet, rule: RuleSettings, seed: u32, readout_bits: Option<u8>) -> Result<FloatSpec, SweepError> {
    let layers = saved
        .config
        .layers
        .iter()
        .enumerate()
        .map(|(l, c)| match c.neuron {
            ModelSpec::Builtin(n) => Ok(LayerConfig { n_in: c.n_in, n: c.n, recurrent: c.recurrent, neuron: n, presyn: c.presyn }),
            _ => Err(SweepError::Config(format!("layer {l}: the sweep handles the built-in LIF model (GIF and COBA E/I have no fixed-point twin)"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let net = NetConfig { layers, output: saved.config.output.clone(), loss: saved.config.loss };
    let alpha = rule.alpha.or_else(|| saved.algorithm.get("EsdRtrl")?.get("alpha")?.as_f64()).unwrap_or(0.9);
    let onchip = OnChipConfig {
        alpha,
        eta: 2f64.powi(-(rule.eta_shift as i32)),
        eta_o: 2f64.powi(-(rule.eta_o_shift as i32)),
        feedback: Feedback::Symmetric,
        mode: UpdateMode::Online,
    };
    let spec = FloatSpec { net, init: saved.params.clone(), onchip, seed, readout_bits };
    spec.validate()?;
    Ok(spec)
}

/// How an event file is split and binned.
#[derive(Clone, Copy, Debug)]
pub struct EventSplit {
    /// Binning of the events.
    pub binning: Binning,
    /// Steps at the end of each sample whose outputs give the class (and carry the target); `None`:
    /// steps / 4, as `train`.
    pub loss_steps: Option<usize>,
    /// Held-out samples: the last ⌈fraction · samples⌉ in file order (0 < fraction < 1).
    pub test_fraction: f64,
    /// Gradient trials: the first this many training samples.
    pub grad: usize,
}

/// Trials from an event file for a network with `n_in` inputs; `name` names the file in errors.
pub fn event_trials(name: &str, set: &EventSet, n_in: usize, s: EventSplit) -> Result<Trials, SweepError> {
    let bad = |m: String| SweepError::Config(format!("event file {name}: {m}"));
    if set.sensor.channels() != n_in as u64 {
        return Err(bad(format!("the sensor {} has {} channels, the network {n_in} inputs", set.sensor, set.sensor.channels())));
    }
    if !(s.test_fraction > 0.0 && s.test_fraction < 1.0) {
        return Err(SweepError::Config(format!("test fraction {} is outside (0, 1)", s.test_fraction)));
    }
    let (spikes, st) = to_spikes(set, s.binning).map_err(|e| bad(e.to_string()))?;
    if st.steps == 0 || spikes.len() < 2 {
        return Err(bad(format!("{} samples of {} steps: too few to train and test", spikes.len(), st.steps)));
    }
    let loss_steps = s.loss_steps.unwrap_or((st.steps / 4).max(1)).clamp(1, st.steps);
    let trials = labelled_trials(&spikes, st.steps, n_in, loss_steps);
    let n_test = ((s.test_fraction * trials.len() as f64).ceil() as usize).clamp(1, trials.len() - 1);
    let split = trials.len() - n_test;
    let train = trials[..split].to_vec();
    Ok(Trials { grad: train.iter().take(s.grad.max(1)).cloned().collect(), train, test: trials[split..].to_vec() })
}

/// Binned samples as trials for a network with `n_in` inputs (every channel < `n_in`, as `to_spikes`
/// checks against the sensor): inputs 1.0 where a channel spiked, the class target on the last
/// `loss_steps` of `steps` steps (the steps whose outputs give the class).
pub fn labelled_trials(spikes: &[SpikeSample], steps: usize, n_in: usize, loss_steps: usize) -> Vec<Trial> {
    spikes
        .iter()
        .map(|sp| {
            let inputs = sp
                .steps
                .iter()
                .map(|ch| {
                    let mut x = vec![0.0; n_in];
                    ch.iter().filter(|&&c| (c as usize) < n_in).for_each(|&c| x[c as usize] = 1.0);
                    x
                })
                .collect();
            let targets = (0..steps).map(|t| (t + loss_steps >= steps).then_some(Target::Class(sp.label as usize))).collect();
            Trial { seq: Sequence { inputs, targets }, label: sp.label as usize }
        })
        .collect()
}
