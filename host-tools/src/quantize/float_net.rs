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
use crate::reference::per_neuron::{PerNeuron, PnReset, PnSpiking, PnSynapse};
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
/// Returns the network with every [`PerNeuron`] layer (a `plasticore-float-net` v2 population, say from
/// `nir import`) rewritten into what `plasticore-core` holds; other layers are unchanged.
/// `image write --from-float`, `quantize` and `compare` call this before converting.
///
/// The core holds, per population, one reset, synapse (α_s and gain k), surrogate, and per neuron a
/// threshold V_th and a membrane decay α_m (`graph::ParamMode::PerNeuron`, `neuron::NeuronParams`).
/// The rewrite is exact in the dynamics (the membrane v of every neuron is unchanged):
/// * the reset `Value` with every v_reset = 0 → the core's hard reset, `Subtract` → soft;
/// * with a synaptic current (I_j = α·I_j + a_j·y_j, v_j = β_j·v_j + c_j·I_j): with K = max_j c_j·a_j,
///   I'_j = (c_j·a_j/K)·I_j/a_j follows I'_j = α·I'_j + (c_j·a_j/K)·y_j and v_j = β_j·v_j + K·I'_j, so
///   column j of the weights (feed-forward and recurrent rows) and bias j are multiplied by
///   c_j·a_j/K (skipped where it is exactly 1: uniform gains leave the weights untouched) and the
///   population's synaptic gain is K (the built-in exponential synapse g = α·g + y, gain K);
/// * without one (v_j = β_j·v_j + c_j·y_j + l_j): column j and bias j are multiplied by c_j (skipped
///   where c_j = 1) and l_j is added to bias j (skipped where l_j = 0).
///
/// Then a layer whose α_m and θ are uniform becomes the built-in LIF (the bytes `image write` wrote for
/// it before per-neuron records existed); otherwise it stays a [`PerNeuron`] layer in the *core form*
/// ([`core_form`]: gains folded, no leak, v_reset = 0, one α_s) whose α_m and θ the converter writes as
/// per-neuron records. Refused, naming the layer and the field: a non-spiking (LI) population, a
/// v_reset ≠ 0, undecayed subtraction, a leak with a synaptic current, α_s differing across neurons
/// (the core has one α_s per population), a non-positive largest gain c·a with differing gains.
pub fn core_layers(saved: &SavedNet) -> Result<SavedNet, QuantizeError> {
    let mut out = saved.clone();
    for (l, (c, p)) in out.config.layers.iter_mut().zip(out.params.layers.iter_mut()).enumerate() {
        let ModelSpec::PerNeuron(pn) = &c.neuron else {
            continue;
        };
        let err = |field: &str, problem: String| QuantizeError::Unconvertible { layer: l, field: field.into(), problem };
        let n = pn.n();
        pn.validate(n).map_err(|e| err("arrays", e))?;
        if n == 0 {
            return Err(err("arrays", "no neurons".into()));
        }
        let Some(sp) = &pn.spiking else {
            return Err(err("spiking", "a non-spiking (LI) population: the fixed-point core has no non-spiking population".into()));
        };
        match sp.reset {
            PnReset::Value => {
                if let Some(j) = sp.v_reset.iter().position(|&v| v != 0.0) {
                    return Err(err("v_reset", format!("v_reset[{j}] = {} ≠ 0: the core resets to 0", sp.v_reset[j])));
                }
            }
            PnReset::Subtract => {}
            PnReset::SubtractUndecayed => {
                return Err(err("reset", "undecayed subtraction (snnTorch's reset): the core's soft reset decays θ with v".into()));
            }
        }
        let cols = p.w.len() / n.max(1);
        let mut scale = |k: &[f64]| {
            for (j, &kj) in k.iter().enumerate() {
                if kj != 1.0 {
                    (0..cols).for_each(|r| p.w[r * n + j] *= kj);
                    if let Some(b) = p.b.get_mut(j) {
                        *b *= kj;
                    }
                }
            }
        };
        let synapse = match &pn.synapse {
            Some(s) => {
                if let Some(j) = pn.leak.iter().position(|&x| x != 0.0) {
                    return Err(err("leak", format!("leak[{j}] = {} with a synaptic current: the core has no constant membrane input there", pn.leak[j])));
                }
                differs(&s.alpha_s).map_or(Ok(()), |m| Err(err("alpha_s", format!("{m}; the core holds one synaptic decay per population"))))?;
                let k: Vec<f64> = pn.gain_m.iter().zip(&s.gain_s).map(|(c, a)| c * a).collect();
                let big = k.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if differs(&k).is_some() {
                    if big.is_nan() || big <= 0.0 {
                        return Err(err("gain_m·gain_s", format!("the gains c·a differ and the largest, {big}, is not positive")));
                    }
                    scale(&k.iter().map(|x| if *x == big { 1.0 } else { x / big }).collect::<Vec<_>>());
                }
                Some((PnSynapse { alpha_s: vec![s.alpha_s[0]; n], gain_s: vec![1.0; n] }, big))
            }
            None => {
                scale(&pn.gain_m);
                for (b, &x) in p.b.iter_mut().zip(&pn.leak) {
                    if x != 0.0 {
                        *b += x;
                    }
                }
                None
            }
        };
        let gain = synapse.as_ref().map_or(1.0, |s| s.1);
        let core = PerNeuron {
            alpha_m: pn.alpha_m.clone(),
            gain_m: vec![gain; n],
            leak: vec![0.0; n],
            synapse: synapse.map(|s| s.0),
            spiking: Some(PnSpiking { v_th: sp.v_th.clone(), v_reset: vec![0.0; n], reset: sp.reset, detach_reset: sp.detach_reset }),
            surrogate: pn.surrogate,
        };
        let (nn, alpha_m, v_th) = core_form(&core).map_err(|m| err("core form", m))?;
        nn.validate().map_err(|e| err("neuron", e.to_string()))?;
        if differs(&alpha_m).is_none() && differs(&v_th).is_none() {
            c.neuron = ModelSpec::Builtin(nn);
        } else {
            c.neuron = ModelSpec::PerNeuron(core);
        }
    }
    out.version = out.required_version();
    Ok(out)
}

/// `None` when every value has the bits of the first; else a message with the range.
fn differs(a: &[f64]) -> Option<String> {
    let x = a.iter().find(|&&x| x.to_bits() != a[0].to_bits())?;
    let (lo, hi) = a.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    Some(format!("differs across its {} neurons ({lo:e} .. {hi:e}, e.g. {} and {x})", a.len(), a[0]))
}

/// A per-neuron layer in the core form ([`core_layers`]) as the core holds it: the built-in LIF with
/// neuron 0's α_m and θ (the population's scalar fields), and every neuron's α_m and θ (what
/// `neuron::NeuronParams` records hold). An error names the field that is not in the core form.
pub fn core_form(pn: &PerNeuron) -> Result<(Neuron, Vec<f64>, Vec<f64>), String> {
    let n = pn.n();
    pn.validate(n)?;
    if n == 0 {
        return Err("no neurons".into());
    }
    let sp = pn.spiking.as_ref().ok_or("spiking: a non-spiking (LI) population")?;
    if pn.leak.iter().any(|&x| x != 0.0) {
        return Err("leak: not folded into the bias".into());
    }
    if let Some(m) = differs(&pn.gain_m) {
        return Err(format!("gain_m {m}: not folded into the weights"));
    }
    if sp.v_reset.iter().any(|&x| x != 0.0) {
        return Err("v_reset: the core resets to 0".into());
    }
    let mut nn = Neuron::lif(pn.alpha_m[0]);
    nn.v_th = sp.v_th[0];
    nn.detach_reset = sp.detach_reset;
    nn.surrogate = pn.surrogate;
    nn.reset = match sp.reset {
        PnReset::Value => ResetMode::Hard,
        PnReset::Subtract => ResetMode::Soft,
        PnReset::SubtractUndecayed => return Err("reset: undecayed subtraction".into()),
    };
    nn.synapse = match &pn.synapse {
        Some(s) => {
            if let Some(m) = differs(&s.alpha_s) {
                return Err(format!("alpha_s {m}"));
            }
            if s.gain_s.iter().any(|&a| a != 1.0) {
                return Err("gain_s: not folded into the weights".into());
            }
            Synapse::Exponential { alpha_s: s.alpha_s[0], gain: pn.gain_m[0] }
        }
        None if pn.gain_m[0] != 1.0 => return Err("gain_m: not folded into the weights".into()),
        None => Synapse::Delta,
    };
    Ok((nn, pn.alpha_m.clone(), sp.v_th.clone()))
}

/// The per-neuron layer of `spec` (a built-in LIF, or a per-neuron layer in the core form) with its α_m
/// and θ replaced by `alpha_m` and `v_th` (say, dequantized from an image's per-neuron records):
/// `compare`'s float twin of a `ParamMode::PerNeuron` population.
pub fn with_per_neuron(spec: &ModelSpec, alpha_m: Vec<f64>, v_th: Vec<f64>) -> Result<ModelSpec, String> {
    let n = alpha_m.len();
    if v_th.len() != n {
        return Err(format!("{} thresholds for {n} decays", v_th.len()));
    }
    let nn = match spec {
        ModelSpec::Builtin(nn) if matches!(nn.kind, crate::reference::model::NeuronKind::Lif) => *nn,
        ModelSpec::PerNeuron(pn) => core_form(pn)?.0,
        _ => return Err("only a LIF population (built-in or per-neuron) has per-neuron records in the core".into()),
    };
    let (synapse, gain) = match nn.synapse {
        Synapse::Delta => (None, 1.0),
        Synapse::Exponential { alpha_s, gain } => (Some(PnSynapse { alpha_s: vec![alpha_s; n], gain_s: vec![1.0; n] }), gain),
    };
    let reset = match nn.reset {
        ResetMode::Hard => PnReset::Value,
        ResetMode::Soft => PnReset::Subtract,
    };
    let pn = PerNeuron {
        alpha_m,
        gain_m: vec![gain; n],
        leak: vec![0.0; n],
        synapse,
        spiking: Some(PnSpiking { v_th, v_reset: vec![0.0; n], reset, detach_reset: nn.detach_reset }),
        surrogate: nn.surrogate,
    };
    pn.validate(n)?;
    Ok(ModelSpec::PerNeuron(pn))
}
