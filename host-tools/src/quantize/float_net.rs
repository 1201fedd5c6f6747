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
use crate::reference::io::{ModelSpec, SavedNet};
use crate::reference::model::{Neuron, NeuronModel, ResetMode, Synapse};
use crate::reference::per_neuron::PnReset;
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

/// **The one place where a float network's per-neuron parameters meet the fixed-point core.**
///
/// Returns the network with every [`crate::reference::per_neuron::PerNeuron`] layer (a `plasticore-float-net` v2 population, say from
/// `nir import`) replaced by the built-in LIF it equals when its arrays are uniform; other layers are
/// unchanged. The core (`plasticore-core`) holds one decay, threshold and gain per population today, so a
/// population whose neurons differ is an error naming the layer and the parameter (with its range).
/// `image write --from-float` and `quantize` call this before converting. When per-neuron arrays land in
/// core-nostd, convert `PerNeuron` there instead of refusing here.
///
/// Uniform conversion (exact in the dynamics): β → α_m, θ → V_th, reset `Value` with v_reset = 0 →
/// `Hard`, `Subtract` → `Soft`; with a synaptic current (I = α·I + a·y, v = β·v + c·I) the built-in
/// exponential synapse g = α·g + y with gain c·a (g = I/a: weights unchanged); without one
/// (v = β·v + c·y + l) the weights and bias are multiplied by c and l is added to the bias (unchanged when
/// c = 1 and l = 0, the snnTorch convention). Refused: v_reset ≠ 0, undecayed subtraction, a leak with a
/// synaptic current, a non-spiking (LI) population: the core has none of these.
pub fn uniform_layers(saved: &SavedNet) -> Result<SavedNet, QuantizeError> {
    let mut out = saved.clone();
    for (l, (c, p)) in out.config.layers.iter_mut().zip(out.params.layers.iter_mut()).enumerate() {
        let ModelSpec::PerNeuron(pn) = &c.neuron else {
            continue;
        };
        let err = |m: String| QuantizeError::Calibration(format!("layer {l} (per-neuron population): {m}"));
        for (name, a) in pn.arrays() {
            if let Some(&x) = a.iter().find(|&&x| x.to_bits() != a[0].to_bits()) {
                let (lo, hi) = a.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
                return Err(err(format!(
                    "{name} differs across its {} neurons ({lo:e} .. {hi:e}, e.g. {} and {x}); this converter writes one {name} per population (core-nostd's per-neuron thresholds and decays, graph::ParamMode, are not filled from a float network yet)",
                    a.len(),
                    a[0]
                )));
            }
        }
        let first = |a: &[f64]| a.first().copied().unwrap_or(0.0);
        let Some(sp) = &pn.spiking else {
            return Err(err("a non-spiking (LI) population: the fixed-point core has no non-spiking population".into()));
        };
        let (beta, gain_m, leak) = (first(&pn.alpha_m), first(&pn.gain_m), first(&pn.leak));
        let mut nn = Neuron::lif(beta);
        nn.v_th = first(&sp.v_th);
        nn.detach_reset = sp.detach_reset;
        nn.surrogate = pn.surrogate;
        nn.reset = match sp.reset {
            PnReset::Value if first(&sp.v_reset) == 0.0 => ResetMode::Hard,
            PnReset::Value => return Err(err(format!("v_reset = {} ≠ 0: the core resets to 0", first(&sp.v_reset)))),
            PnReset::Subtract => ResetMode::Soft,
            PnReset::SubtractUndecayed => return Err(err("undecayed subtraction (snnTorch's reset): the core's soft reset decays θ with v".into())),
        };
        match &pn.synapse {
            Some(s) => {
                if leak != 0.0 {
                    return Err(err(format!("leak = {leak} with a synaptic current: the core has no constant membrane input there")));
                }
                nn.synapse = Synapse::Exponential { alpha_s: first(&s.alpha_s), gain: gain_m * first(&s.gain_s) };
            }
            None => {
                if gain_m != 1.0 {
                    p.w.iter_mut().for_each(|w| *w *= gain_m);
                    p.b.iter_mut().for_each(|b| *b *= gain_m);
                }
                if leak != 0.0 {
                    p.b.iter_mut().for_each(|b| *b += leak);
                }
            }
        }
        nn.validate().map_err(|e| err(e.to_string()))?;
        c.neuron = ModelSpec::Builtin(nn);
    }
    out.version = out.required_version();
    Ok(out)
}
