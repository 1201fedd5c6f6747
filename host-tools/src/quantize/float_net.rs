//! A [`Calibration`] over the float reference network (`reference::net`): the network runs the calibration
//! inputs in `f64` with the given (quantized) weights substituted. This models the weight rounding only;
//! state, trace and decay formats are the fixed-point run's business (the graph network's calibration
//! will replace this one for that).
//!
//! Projections of a `NetConfig` (input side first, the order [`projections`] returns): per layer l,
//! `Ll.in` (rows 0..n_in of W) and, if recurrent, `Ll.rec` (rows n_in..n_in + n), both driving population
//! `Ll`; then `readout` (V) driving `readout` for a leaky or membrane readout. Biases stay in float (they
//! are state-format values in the core, Q.`state_frac`, not weights).
use super::{Activity, Calibration, Projection, QuantizeError};
use crate::reference::model::NeuronModel;
use crate::reference::net::{forward_step, NetConfig, NetState, Output, Params, StepRecord};

/// The projections of a float network, in the order above.
pub fn projections<M: NeuronModel>(cfg: &NetConfig<M>, p: &Params<f64>) -> Result<Vec<Projection>, QuantizeError> {
    cfg.validate().map_err(|e| QuantizeError::Calibration(e.to_string()))?;
    p.check(cfg).map_err(|e| QuantizeError::Calibration(e.to_string()))?;
    let mut out = Vec::new();
    for (l, (c, lp)) in cfg.layers.iter().zip(&p.layers).enumerate() {
        let split = c.n_in * c.n;
        out.push(Projection { name: format!("L{l}.in"), target: format!("L{l}"), n_source: c.n_in, n_target: c.n, w: lp.w[..split].to_vec() });
        if c.recurrent {
            out.push(Projection { name: format!("L{l}.rec"), target: format!("L{l}"), n_source: c.n, n_target: c.n, w: lp.w[split..].to_vec() });
        }
    }
    if has_readout(cfg) {
        let n_last = cfg.layers.last().map_or(0, |l| l.n);
        out.push(Projection { name: "readout".into(), target: "readout".into(), n_source: n_last, n_target: cfg.n_out(), w: p.readout.clone() });
    }
    Ok(out)
}

fn has_readout<M>(cfg: &NetConfig<M>) -> bool {
    matches!(cfg.output, Output::LeakyReadout { .. } | Output::MembraneReadout { .. })
}

/// The float network run on calibration inputs.
pub struct FloatNet<'a, M> {
    cfg: &'a NetConfig<M>,
    base: Params<f64>,
    inputs: &'a [Vec<Vec<f64>>],
}

impl<'a, M: NeuronModel> FloatNet<'a, M> {
    /// `inputs`: calibration sequences, each T × n_in.
    pub fn new(cfg: &'a NetConfig<M>, p: &Params<f64>, inputs: &'a [Vec<Vec<f64>>]) -> Result<Self, QuantizeError> {
        cfg.validate().map_err(|e| QuantizeError::Calibration(e.to_string()))?;
        p.check(cfg).map_err(|e| QuantizeError::Calibration(e.to_string()))?;
        if inputs.is_empty() || inputs.iter().any(|s| s.is_empty()) {
            return Err(QuantizeError::Calibration("no calibration input (or an empty sequence)".into()));
        }
        if let Some(x) = inputs.iter().flatten().find(|x| x.len() != cfg.n_in()) {
            return Err(QuantizeError::Calibration(format!("a calibration input has {} channels, the network {}", x.len(), cfg.n_in())));
        }
        Ok(Self { cfg, base: p.clone(), inputs })
    }

    /// The parameters with `weights` (in the order of [`projections`]) substituted.
    pub fn params_with(&self, weights: &[Vec<f64>]) -> Result<Params<f64>, QuantizeError> {
        let mut p = self.base.clone();
        let mut it = weights.iter();
        let mut next = |what: &str, len: usize| -> Result<Vec<f64>, QuantizeError> {
            match it.next() {
                Some(w) if w.len() == len => Ok(w.clone()),
                Some(w) => Err(QuantizeError::Calibration(format!("{what}: {} weights, expected {len}", w.len()))),
                None => Err(QuantizeError::Calibration(format!("{what}: no weights given"))),
            }
        };
        for (l, c) in self.cfg.layers.iter().enumerate() {
            let mut w = next(&format!("L{l}.in"), c.n_in * c.n)?;
            if c.recurrent {
                w.extend(next(&format!("L{l}.rec"), c.n * c.n)?);
            }
            p.layers[l].w = w;
        }
        if has_readout(self.cfg) {
            p.readout = next("readout", p.readout.len())?;
        }
        Ok(p)
    }
}

/// The 1st and 99th percentiles (nearest rank) of `v` (sorted in place); (0, 0) if empty.
fn range(v: &mut [f64]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    v.sort_unstable_by(f64::total_cmp);
    let at = |q: f64| v[((q * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
    (at(0.01), at(0.99))
}

impl<M: NeuronModel> Calibration for FloatNet<'_, M> {
    fn populations(&self) -> Vec<String> {
        let mut v: Vec<String> = (0..self.cfg.layers.len()).map(|l| format!("L{l}")).collect();
        if has_readout(self.cfg) {
            v.push("readout".into());
        }
        v
    }

    fn run(&mut self, weights: &[Vec<f64>]) -> Result<Vec<Activity>, QuantizeError> {
        let p = self.params_with(weights)?;
        let nl = self.cfg.layers.len();
        let mut spikes = vec![0.0f64; nl];
        let mut v: Vec<Vec<f64>> = vec![Vec::new(); nl];
        let mut out = Vec::new();
        let mut steps = 0usize;
        let mut rec = StepRecord::default();
        for seq in self.inputs {
            let mut st = NetState::<f64>::new(self.cfg);
            for u in seq {
                forward_step(self.cfg, &p, &mut st, u, &mut rec);
                for (l, c) in self.cfg.layers.iter().enumerate() {
                    spikes[l] += rec.layers[l].s.iter().sum::<f64>();
                    let (s_n, m) = (c.neuron.n_states(), c.neuron.membrane_index());
                    v[l].extend((0..c.n).map(|j| st.layers[l].h[j * s_n + m]));
                }
                out.extend_from_slice(&rec.output);
                steps += 1;
            }
        }
        let mut acts: Vec<Activity> = self
            .cfg
            .layers
            .iter()
            .enumerate()
            .map(|(l, c)| {
                let (lo, hi) = range(&mut v[l]);
                Activity { rate: Some(spikes[l] / (c.n * steps) as f64), lo, hi }
            })
            .collect();
        if has_readout(self.cfg) {
            let (lo, hi) = range(&mut out);
            acts.push(Activity { rate: None, lo, hi });
        }
        Ok(acts)
    }
}
