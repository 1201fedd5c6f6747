//! `plasticore-float-net` (v1, v2) ↔ NIR.
//!
//! **Import** ([`to_saved_net`]): a [`Discrete`] network becomes a v1 file where v1 holds it exactly; else
//! a v2 file whose populations are [`PerNeuron`] layers holding the lowered per-neuron arrays as they are
//! (weights and biases unfolded, all three resets, a non-spiking last population as `Output::Membrane`);
//! otherwise [`NirError::NotExpressible`] lists every reason by node. v1 is a chain of layers, each one
//! neuron configuration (one α_m, one V_th, V_reset = 0, optional exponential synapse with one α_s) with a
//! dense `w[i*n + j]` over axons [inputs; own spikes of t−1] and a bias; plus an output stage. Exact
//! transformations used:
//! - chains of Affine/Linear/Scale/Flatten between two populations compose into one affine map;
//! - the per-neuron input gain c_j (and a_j of the Cuba models) folds into column j of the weights and the
//!   bias (it is exactly 1 for files in the snnTorch convention, see [`super::lower::UNIT_GAIN_SNAP`]);
//! - one threshold for the population is kept as V_th; per-neuron thresholds θ_j > 0 fold into column j:
//!   V = v/θ_j, V_th = 1 (spikes are unchanged: the dynamics are linear in v, the reset is to 0 or by θ_j);
//! - a constant leak term l_j (from v_leak) folds into the bias (models without a synaptic current only);
//! - `Threshold` is a layer with α_m = 0 (V_t = y_t); `IF` has α_m = 1;
//! - a last non-spiking `LI` population fed by the last spiking layer without bias becomes a `LeakyReadout`
//!   (κ = β, `readout[j*n_out + k]` = c_k·W_kj); a last spiking layer read directly by the Output gives
//!   `Output::Membrane`, read through a bias-free Affine/Linear a `LeakyReadout` with κ = 0 (r_t = s_t·V).
//!
//! What v1 cannot hold (v2 then takes over for the first four): per-neuron membrane or synaptic decays
//! (heterogeneous τ), a non-zero `v_reset` with reset-to-value, `v_leak` ≠ 0 with a synaptic current,
//! `Delay` nodes, non-spiking populations before the last, a readout with a bias, connections that skip a
//! layer or recur across layers, several top-level outputs.
//!
//! **Export** ([`from_saved_net`]): each layer becomes `fc<l>` (Affine, `weight[n, n_in]` = the input block
//! of W transposed, bias b) → `lif<l>` (LIF, CubaLIF with an exponential synapse, IF when α_m = 1); a
//! recurrent layer is the subgraph `rsnn<l>` of `nir-format.md` §B.4 (`input → lif`, `lif → w_rec → lif`,
//! `lif → output`). A v2 [`PerNeuron`] layer exports its arrays per neuron (`per_neuron_node`). Parameters invert the import: with Euler τ = dt/(1 − β), r = gain·τ/dt, w_in = τ_syn/dt;
//! exact: τ = −dt/ln β, r = gain/(1 − β), w_in = 1/(1 − α). v_leak = 0, v_reset = 0. Metadata: `dt` (s),
//! `discretisation`, `reset_mechanism`, `generator`, `source_format`, `fixed_point_formats`.
use super::graph::{Array, Graph, Kind, NirFile, NodeKind};
use super::h5::{FloatWidth, Value};
use super::lower::{Discrete, Method, Op, ResetMechanism};
use super::populations::{feed, is_pop, Origin};
use super::NirError;
use crate::reference::io::{ModelSpec, SavedNet, FORMAT};
use crate::reference::per_neuron::{PerNeuron, PnReset, PnSpiking, PnSynapse};
use crate::reference::scalar::Surrogate;
use crate::reference::model::{Neuron, NeuronKind, Presyn, ResetMode, Synapse};
use crate::reference::net::{LayerConfig, LayerParams, LossKind, NetConfig, Output, Params};
use std::collections::BTreeMap;

fn all_equal(v: &[f64]) -> bool {
    v.iter().all(|&x| x == v[0])
}

fn range(v: &[f64]) -> String {
    let (lo, hi) = v
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    format!("{lo:.6e} .. {hi:.6e}")
}

/// Convert to a `plasticore-float-net` v1 file (see the module documentation for what is exact and what
/// is refused). `source` names the NIR file in the file's `algorithm` field.
pub fn to_saved_net(net: &Discrete, source: &str) -> Result<SavedNet, NirError> {
    match convert(net, source, false) {
        Err(NirError::NotExpressible(_)) => convert(net, source, true),
        r => r,
    }
}

/// `per_neuron`: false, version 1 (one neuron configuration per layer, folded exactly); true, version 2
/// (populations as [`PerNeuron`] layers with the file's arrays, weights as in the file).
fn convert(net: &Discrete, source: &str, per_neuron: bool) -> Result<SavedNet, NirError> {
    let mut errs = Vec::new();
    let pops: Vec<usize> = (0..net.nodes.len())
        .filter(|&k| is_pop(&net.nodes[k].op))
        .collect();
    if pops.is_empty() {
        return Err(NirError::NotExpressible(vec![
            "the graph has no neuron population".into(),
        ]));
    }
    if net.n_inputs == 0 {
        return Err(NirError::NotExpressible(vec![
            "the graph has no top-level Input".into(),
        ]));
    }
    let outputs: Vec<usize> = (0..net.nodes.len())
        .filter(|&k| net.nodes[k].is_output)
        .collect();
    if outputs.len() != 1 {
        errs.push(format!(
            "{} top-level Output nodes (v1 has one output stage)",
            outputs.len()
        ));
    }
    // which population does the output read, and through which matrix?
    let out_map = outputs.first().and_then(|&o| {
        let a = feed(net, o, 0, &mut errs)?;
        let only = a.terms.into_iter().collect::<Vec<_>>();
        match only.as_slice() {
            [(Origin::Pop(p, 0), m)] if a.b.iter().all(|&x| x == 0.0) => Some((*p, m.clone())),
            [(Origin::Pop(_, 0), _)] => {
                errs.push(format!(
                    "Output `{}`: a bias after the last population (v1's output stages have none)",
                    net.nodes[o].name
                ));
                None
            }
            _ => {
                errs.push(format!(
                    "Output `{}` does not read exactly one population",
                    net.nodes[o].name
                ));
                None
            }
        }
    });
    let last = *pops.last().unwrap_or(&0);
    if out_map.as_ref().is_some_and(|(p, _)| *p != last) {
        errs.push("the Output does not read the last population".into());
    }
    let n_last = net.nodes[last].n_out;
    let out_identity = out_map.as_ref().is_none_or(|(_, m)| {
        m.len() == n_last * n_last
            && (0..n_last)
                .all(|r| (0..n_last).all(|c| m[r * n_last + c] == if r == c { 1.0 } else { 0.0 }))
    });
    let mut layers = Vec::new();
    let mut params = Vec::new();
    let mut output = Output::Membrane;
    let mut readout = Vec::new();
    let mut prev: Option<usize> = None; // previous layer's node
    let mut membrane_layer = false; // v2: the last layer is non-spiking, its membrane the output
    for (li, &k) in pops.iter().enumerate() {
        let d = &net.nodes[k];
        let Some(a) = feed(net, k, 0, &mut errs) else {
            continue;
        };
        let n = d.n_out;
        let want_ff = match prev {
            None => Origin::Input(0),
            Some(p) => Origin::Pop(p, 0),
        };
        for org in a.terms.keys() {
            if *org != want_ff && *org != Origin::Pop(k, 1) {
                let what = match org {
                    Origin::Input(dl) => {
                        format!("the input delayed by {dl} steps (v1 has no axonal delay)")
                    }
                    Origin::Pop(p, dl) => format!("`{}` delayed by {dl} steps", net.nodes[*p].name),
                };
                errs.push(format!("`{}` receives from {what}: v1 layers receive only the previous layer (and themselves, one step later)", d.name));
            }
        }
        let Some(m_ff) = a.terms.get(&want_ff) else {
            errs.push(format!(
                "`{}` receives nothing from the previous layer",
                d.name
            ));
            continue;
        };
        let n_in = m_ff.len() / n;
        let m_rec = a.terms.get(&Origin::Pop(k, 1));
        let is_last = li + 1 == pops.len();
        // neuron model and the per-neuron column scale s_j
        let mut pn_model: Option<PerNeuron> = None;
        let (neuron, scale, leak_b): (Neuron, Vec<f64>, Vec<f64>) = match &d.op {
            Op::Threshold(th) => {
                if th.iter().any(|&t| !(t > 0.0)) {
                    errs.push(format!(
                        "`{}`: thresholds must be > 0 to be folded into the weights (range {})",
                        d.name,
                        range(th)
                    ));
                }
                let mut nn = Neuron::lif(0.0);
                nn.reset = ResetMode::Hard;
                // one threshold: kept; per-neuron thresholds: folded into the columns (V_th = 1)
                let th_j: Vec<f64> = if all_equal(th) {
                    vec![1.0; n]
                } else {
                    th.clone()
                };
                nn.v_th = if all_equal(th) { th[0] } else { 1.0 };
                (nn, th_j.iter().map(|t| 1.0 / t).collect(), vec![0.0; n])
            }
            Op::Neuron(p) if p.spiking.is_none() => {
                if is_last
                    && p.syn.is_none()
                    && m_rec.is_none()
                    && a.b.iter().all(|&x| x == 0.0)
                    && p.leak.iter().all(|&x| x == 0.0)
                    && all_equal(&p.beta)
                    && prev.is_some()
                {
                    output = Output::LeakyReadout {
                        n_out: n,
                        kappa: p.beta[0],
                    };
                    if !(0.0..=1.0).contains(&p.beta[0]) {
                        errs.push(format!(
                            "`{}`: readout decay {} outside [0, 1] (tau below dt?)",
                            d.name, p.beta[0]
                        ));
                    }
                    readout = vec![0.0; n_in * n];
                    for kk in 0..n {
                        for j in 0..n_in {
                            readout[j * n + kk] = p.gain[kk] * m_ff[kk * n_in + j];
                        }
                    }
                } else if per_neuron && is_last && m_rec.is_none() {
                    // v2: a non-spiking last population whose membrane is the output (Output::Membrane)
                    membrane_layer = true;
                    pn_model = Some(PerNeuron {
                        alpha_m: p.beta.clone(),
                        gain_m: p.gain.clone(),
                        leak: p.leak.clone(),
                        synapse: p.syn.as_ref().map(|(al, a)| PnSynapse { alpha_s: al.clone(), gain_s: a.clone() }),
                        spiking: None,
                        surrogate: Surrogate::default(),
                    });
                } else {
                    let mut why = Vec::new();
                    if per_neuron && m_rec.is_some() {
                        why.push("recurrence of a non-spiking population (its membrane, not spikes, would feed back)");
                    }
                    if !is_last {
                        why.push("it is not the last population (v1 layers pass spikes on)");
                    }
                    if !per_neuron && prev.is_none() {
                        why.push("no spiking layer before it");
                    }
                    if !per_neuron && p.syn.is_some() {
                        why.push("a synaptic current (CubaLI)");
                    }
                    if !per_neuron && m_rec.is_some() {
                        why.push("recurrence");
                    }
                    if !per_neuron && a.b.iter().any(|&x| x != 0.0) {
                        why.push("a bias on its input projection (the LeakyReadout has none)");
                    }
                    if !per_neuron && p.leak.iter().any(|&x| x != 0.0) {
                        why.push("v_leak ≠ 0");
                    }
                    if !per_neuron && !all_equal(&p.beta) {
                        why.push("per-neuron decay");
                    }
                    errs.push(format!(
                        "`{}` ({}) outputs its membrane; v1 holds that only as a LeakyReadout, which cannot hold: {}",
                        d.name,
                        d.kind.type_name(),
                        why.join(", ")
                    ));
                }
                if pn_model.is_none() {
                    continue;
                }
                (Neuron::lif(0.0), vec![1.0; n], vec![0.0; n])
            }
            Op::Neuron(p) if per_neuron => {
                let s = p.spiking.as_ref().expect("spiking: the arm above takes the others");
                pn_model = Some(PerNeuron {
                    alpha_m: p.beta.clone(),
                    gain_m: p.gain.clone(),
                    leak: p.leak.clone(),
                    synapse: p.syn.as_ref().map(|(al, a)| PnSynapse { alpha_s: al.clone(), gain_s: a.clone() }),
                    spiking: Some(PnSpiking {
                        v_th: s.v_th.clone(),
                        v_reset: s.v_reset.clone(),
                        reset: match s.reset {
                            ResetMechanism::Value => PnReset::Value,
                            ResetMechanism::Subtract => PnReset::Subtract,
                            ResetMechanism::SubtractUndecayed => PnReset::SubtractUndecayed,
                        },
                        detach_reset: false,
                    }),
                    surrogate: Surrogate::default(),
                });
                (Neuron::lif(0.0), vec![1.0; n], vec![0.0; n])
            }
            Op::Neuron(p) => {
                let s = p.spiking.as_ref().expect("spiking checked above");
                if !all_equal(&p.beta) {
                    errs.push(format!(
                        "`{}`: per-neuron membrane decay (β {}); v1 has one α_m per layer",
                        d.name,
                        range(&p.beta)
                    ));
                }
                if let Some((al, _)) = &p.syn {
                    if !all_equal(al) {
                        errs.push(format!(
                            "`{}`: per-neuron synaptic decay (α {}); v1 has one α_s per layer",
                            d.name,
                            range(al)
                        ));
                    }
                    if p.leak.iter().any(|&x| x != 0.0) {
                        errs.push(format!("`{}`: v_leak ≠ 0 with a synaptic current (v1 has no constant membrane input there)", d.name));
                    }
                }
                if s.v_th.iter().any(|&t| !(t > 0.0)) {
                    errs.push(format!(
                        "`{}`: thresholds must be > 0 to be folded into the weights (range {})",
                        d.name,
                        range(&s.v_th)
                    ));
                }
                if s.reset == ResetMechanism::Value && s.v_reset.iter().any(|&x| x != 0.0) {
                    errs.push(format!(
                        "`{}`: v_reset ≠ 0 ({}); v1 resets to 0",
                        d.name,
                        range(&s.v_reset)
                    ));
                }
                if s.reset == ResetMechanism::SubtractUndecayed {
                    errs.push(format!("`{}`: snnTorch's undecayed subtraction (v1's soft reset decays the subtracted θ with v)", d.name));
                }
                let mut nn = Neuron::lif(p.beta[0]);
                nn.reset = match s.reset {
                    ResetMechanism::Value => ResetMode::Hard,
                    ResetMechanism::Subtract | ResetMechanism::SubtractUndecayed => ResetMode::Soft,
                };
                if let Some((al, _)) = &p.syn {
                    nn.synapse = Synapse::Exponential {
                        alpha_s: al[0],
                        gain: 1.0,
                    };
                }
                // one threshold: kept; per-neuron thresholds: folded into the columns (V_th = 1)
                let th_j: Vec<f64> = if all_equal(&s.v_th) {
                    vec![1.0; n]
                } else {
                    s.v_th.clone()
                };
                nn.v_th = if all_equal(&s.v_th) { s.v_th[0] } else { 1.0 };
                let scale: Vec<f64> = (0..n)
                    .map(|j| {
                        let a = p.syn.as_ref().map_or(1.0, |(_, a)| a[j]);
                        a * p.gain[j] / th_j[j]
                    })
                    .collect();
                let leak_b = (0..n)
                    .map(|j| {
                        if p.syn.is_none() {
                            p.leak[j] / th_j[j]
                        } else {
                            0.0
                        }
                    })
                    .collect();
                (nn, scale, leak_b)
            }
            _ => unreachable!("populations only"),
        };
        let model = match pn_model {
            Some(pm) => {
                if let Err(e) = pm.validate(n) {
                    errs.push(format!("`{}`: {e}", d.name));
                }
                ModelSpec::PerNeuron(pm)
            }
            None => {
                if let Err(e) = neuron.validate() {
                    errs.push(format!("`{}`: {e} (is a time constant below dt?)", d.name));
                }
                ModelSpec::Builtin(neuron)
            }
        };
        let recurrent = m_rec.is_some();
        let n_x = n_in + if recurrent { n } else { 0 };
        let mut w = vec![0.0; n_x * n];
        for j in 0..n {
            for i in 0..n_in {
                w[i * n + j] = scale[j] * m_ff[j * n_in + i];
            }
            if let Some(mr) = m_rec {
                for i in 0..n {
                    w[(n_in + i) * n + j] = scale[j] * mr[j * n + i];
                }
            }
        }
        let b = (0..n).map(|j| scale[j] * a.b[j] + leak_b[j]).collect();
        layers.push(LayerConfig {
            n_in,
            n,
            recurrent,
            neuron: model,
            presyn: Presyn::None,
        });
        params.push(LayerParams { w, b });
        prev = Some(k);
    }
    if !out_identity && membrane_layer {
        errs.push("a weight matrix after the non-spiking output population".into());
    } else if !out_identity {
        // a weight matrix between the last spiking layer and the Output: a LeakyReadout with κ = 0
        // (r_t = s_t·V) holds it exactly; after a LeakyReadout (LI) v1 has no second matrix
        match (output, out_map.as_ref()) {
            (Output::Membrane, Some((_, m))) => {
                let n_out = m.len() / n_last;
                output = Output::LeakyReadout { n_out, kappa: 0.0 };
                readout = vec![0.0; n_last * n_out];
                for k in 0..n_out {
                    for j in 0..n_last {
                        readout[j * n_out + k] = m[k * n_last + j];
                    }
                }
            }
            _ => errs.push(
                "a weight matrix after the readout population (v1 has one readout matrix)".into(),
            ),
        }
    }
    if !errs.is_empty() {
        errs.dedup();
        return Err(NirError::NotExpressible(errs));
    }
    let o = net.opts;
    let mut saved = SavedNet {
        format: FORMAT.into(),
        version: 1,
        task: "nir-import".into(),
        algorithm: serde_json::json!({ "nir_import": { "source": source, "dt_s": o.dt, "method": o.method, "reset": o.reset } }),
        dt_ms: o.dt * 1e3,
        config: NetConfig {
            layers,
            output,
            loss: LossKind::Mse,
        },
        params: Params {
            layers: params,
            readout,
        },
        metrics: serde_json::json!({ "warnings": net.warnings }),
    };
    saved.version = saved.required_version();
    let bytes = serde_json::to_vec(&saved).map_err(|e| NirError::Invalid {
        path: "float-net".into(),
        msg: e.to_string(),
    })?;
    SavedNet::from_slice(&bytes).map_err(|e| {
        NirError::NotExpressible(vec![format!(
            "the converted network does not validate: {e}"
        )])
    })?;
    Ok(saved)
}

/// Export options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExportOptions {
    /// Scheme the decays are inverted with.
    pub method: Method,
    /// Width of the parameter arrays written.
    pub width: FloatWidth,
}

fn arr(v: Vec<f64>, w: FloatWidth) -> Array {
    Array::vec(v, w)
}

fn node(kind: Kind, floats: Vec<(&str, Array)>) -> NodeKind {
    NodeKind::Known {
        kind,
        floats: floats
            .into_iter()
            .map(|(k, a)| (k.to_string(), a))
            .collect(),
        ints: BTreeMap::new(),
    }
}

fn io_node(kind: Kind, n: usize) -> NodeKind {
    NodeKind::Known {
        kind,
        floats: BTreeMap::new(),
        ints: [("shape".to_string(), (vec![1], vec![n as i64]))].into(),
    }
}

/// Export a v1 float network to NIR (see the module documentation).
pub fn from_saved_net(s: &SavedNet, o: ExportOptions) -> Result<NirFile, NirError> {
    let dt = s.dt_ms * 1e-3;
    let bad = |msg: String| NirError::Invalid {
        path: "float-net".into(),
        msg,
    };
    if !(dt > 0.0 && dt.is_finite()) {
        return Err(bad(format!("dt_ms {} is not positive", s.dt_ms)));
    }
    let wd = o.width;
    // τ and the factor that makes the per-step gain 1
    let inv = |beta: f64, what: &str| -> Result<(f64, f64), NirError> {
        if !(beta > 0.0 && beta < 1.0) {
            return Err(bad(format!(
                "{what} decay {beta} must be in (0, 1) to give a finite positive time constant"
            )));
        }
        Ok(match o.method {
            Method::Euler => (dt / (1.0 - beta), 1.0 / (1.0 - beta)), // r = τ/dt = 1/(1−β)
            Method::Exact => (-dt / beta.ln(), 1.0 / (1.0 - beta)),
        })
    };
    let mut g = Graph::default();
    let mut edges: Vec<(String, String)> = Vec::new();
    let mut resets = Vec::new();
    let mut pn_resets: Vec<PnReset> = Vec::new();
    g.nodes
        .insert("input".into(), io_node(Kind::Input, s.config.n_in()));
    let mut prev = "input".to_string();
    for (l, (c, p)) in s.config.layers.iter().zip(&s.params.layers).enumerate() {
        let nn = match &c.neuron {
            ModelSpec::Builtin(nn) => nn,
            ModelSpec::PerNeuron(pn) => {
                let (neuron, reset) = per_neuron_node(pn, l, dt, o)?;
                if let Some(r) = reset {
                    pn_resets.push(r);
                }
                // the same wiring as a built-in layer, below, with this node
                let (n, n_in) = (c.n, c.n_in);
                let mut wt = vec![0.0; n * n_in];
                for i in 0..n_in {
                    for j in 0..n {
                        wt[j * n_in + i] = p.w[i * n + j];
                    }
                }
                let fc = format!("fc{l}");
                g.nodes.insert(fc.clone(), node(Kind::Affine, vec![("weight", Array { shape: vec![n, n_in], data: wt, width: wd }), ("bias", arr(p.b.clone(), wd))]));
                edges.push((prev.clone(), fc.clone()));
                let name = wire_neuron(&mut g, l, n, n_in, c.recurrent, &p.w, neuron, wd);
                edges.push((fc, name.clone()));
                prev = name;
                continue;
            }
            _ => return Err(bad(format!("layer {l}: only the built-in LIF neuron and per-neuron populations export to NIR (GIF and COBA E/I have no NIR node)"))),
        };
        if let NeuronKind::Alif { .. } = nn.kind {
            return Err(bad(format!("layer {l}: ALIF has no NIR node (adaptation)")));
        }
        if c.presyn != Presyn::None {
            return Err(bad(format!(
                "layer {l}: presynaptic STD/STP has no NIR node"
            )));
        }
        resets.push(nn.reset);
        let (n, n_in) = (c.n, c.n_in);
        let mut wt = vec![0.0; n * n_in];
        for i in 0..n_in {
            for j in 0..n {
                wt[j * n_in + i] = p.w[i * n + j];
            }
        }
        let fc = format!("fc{l}");
        g.nodes.insert(
            fc.clone(),
            node(
                Kind::Affine,
                vec![
                    (
                        "weight",
                        Array {
                            shape: vec![n, n_in],
                            data: wt,
                            width: wd,
                        },
                    ),
                    ("bias", arr(p.b.clone(), wd)),
                ],
            ),
        );
        edges.push((prev.clone(), fc.clone()));
        let full = |v: f64| arr(vec![v; n], wd);
        let neuron = match nn.synapse {
            Synapse::Delta if nn.alpha_m == 1.0 => node(
                Kind::IF,
                vec![
                    ("r", full(1.0 / dt)),
                    ("v_threshold", full(nn.v_th)),
                    ("v_reset", full(0.0)),
                ],
            ),
            Synapse::Delta => {
                let (tau, r) = inv(nn.alpha_m, "membrane")?;
                node(
                    Kind::LIF,
                    vec![
                        ("tau", full(tau)),
                        ("r", full(r)),
                        ("v_leak", full(0.0)),
                        ("v_threshold", full(nn.v_th)),
                        ("v_reset", full(0.0)),
                    ],
                )
            }
            Synapse::Exponential { alpha_s, gain } => {
                let (tau_m, r) = inv(nn.alpha_m, "membrane")?;
                let (tau_s, w_in) = inv(alpha_s, "synaptic")?;
                node(
                    Kind::CubaLIF,
                    vec![
                        ("tau_syn", full(tau_s)),
                        ("tau_mem", full(tau_m)),
                        ("r", full(r * gain)),
                        ("v_leak", full(0.0)),
                        ("v_threshold", full(nn.v_th)),
                        ("v_reset", full(0.0)),
                        ("w_in", full(w_in)),
                    ],
                )
            }
        };
        let name = wire_neuron(&mut g, l, n, n_in, c.recurrent, &p.w, neuron, wd);
        edges.push((fc, name.clone()));
        prev = name;
    }
    match s.config.output {
        Output::Membrane => {
            let n = s.config.layers.last().map_or(0, |l| l.n);
            g.nodes.insert("output".into(), io_node(Kind::Output, n));
            edges.push((prev, "output".into()));
        }
        Output::LeakyReadout { n_out, kappa } => {
            let n = s.config.layers.last().map_or(0, |l| l.n);
            let readout_w = |wt: Vec<f64>| {
                node(
                    Kind::Linear,
                    vec![(
                        "weight",
                        Array {
                            shape: vec![n_out, n],
                            data: wt,
                            width: wd,
                        },
                    )],
                )
            };
            let mut wt = vec![0.0; n_out * n];
            for j in 0..n {
                for k in 0..n_out {
                    wt[k * n + j] = s.params.readout[j * n_out + k];
                }
            }
            g.nodes.insert("fc_out".into(), readout_w(wt));
            g.nodes
                .insert("output".into(), io_node(Kind::Output, n_out));
            edges.push((prev, "fc_out".into()));
            if kappa == 0.0 {
                // r_t = s_t·V: the matrix alone
                edges.push(("fc_out".into(), "output".into()));
            } else {
                let (tau, r) = inv(kappa, "readout")?;
                g.nodes.insert(
                    "li_out".into(),
                    node(
                        Kind::LI,
                        vec![
                            ("tau", arr(vec![tau; n_out], wd)),
                            ("r", arr(vec![r; n_out], wd)),
                            ("v_leak", arr(vec![0.0; n_out], wd)),
                        ],
                    ),
                );
                edges.push(("fc_out".into(), "li_out".into()));
                edges.push(("li_out".into(), "output".into()));
            }
        }
        Output::MembraneReadout { .. } => {
            return Err(bad(
                "the standardised membrane readout has no NIR node".into()
            ))
        }
    }
    // one reset mechanism for the file (built-in Hard = value with v_reset 0, Soft = subtract)
    resets.extend(pn_resets.iter().map(|r| match r {
        PnReset::Value => ResetMode::Hard,
        _ => ResetMode::Soft,
    }));
    let undecayed = pn_resets.iter().filter(|r| **r == PnReset::SubtractUndecayed).count();
    let reset = match (
        resets.iter().all(|r| *r == ResetMode::Hard),
        resets.iter().all(|r| *r == ResetMode::Soft),
    ) {
        _ if undecayed > 0 && undecayed < resets.len() => {
            return Err(bad("layers mix snnTorch's undecayed subtraction with other resets; NIR files carry one reset_mechanism hint".into()))
        }
        _ if undecayed > 0 => "subtract-undecayed",
        (true, _) => "value",
        (_, true) => "subtract",
        _ => {
            return Err(bad(
                "layers mix soft and hard reset; NIR files carry one reset_mechanism hint".into(),
            ))
        }
    };
    g.edges = edges;
    let f64s = |v: f64| Value::Float {
        shape: vec![],
        data: vec![v],
        width: FloatWidth::F64,
    };
    g.metadata.insert("dt".into(), f64s(dt));
    g.metadata.insert(
        "discretisation".into(),
        Value::Str(format!("{:?}", o.method).to_lowercase()),
    );
    g.metadata
        .insert("reset_mechanism".into(), Value::Str(reset.into()));
    g.metadata.insert(
        "generator".into(),
        Value::Str(format!("plasticore {}", env!("CARGO_PKG_VERSION"))),
    );
    g.metadata.insert(
        "source_format".into(),
        Value::Str(format!("{FORMAT} v{}", s.version)),
    );
    g.metadata.insert(
        "fixed_point_formats".into(),
        Value::Str("none: float network".into()),
    );
    Ok(NirFile {
        version: Some("1.0.8".into()),
        graph: g,
        warnings: Vec::new(),
    })
}

/// The layer's neuron node: `lif<l>`, or the subgraph `rsnn<l>` (input → lif, lif → w_rec → lif,
/// lif → output) for a recurrent layer; returns its name.
#[allow(clippy::too_many_arguments)]
fn wire_neuron(g: &mut Graph, l: usize, n: usize, n_in: usize, recurrent: bool, w: &[f64], neuron: NodeKind, wd: FloatWidth) -> String {
    if recurrent {
        let mut wr = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                wr[j * n + i] = w[(n_in + i) * n + j];
            }
        }
        let mut sub = Graph::default();
        sub.nodes.insert("input".into(), io_node(Kind::Input, n));
        sub.nodes.insert("lif".into(), neuron);
        sub.nodes.insert("w_rec".into(), node(Kind::Linear, vec![("weight", Array { shape: vec![n, n], data: wr, width: wd })]));
        sub.nodes.insert("output".into(), io_node(Kind::Output, n));
        sub.edges = [("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        let name = format!("rsnn{l}");
        g.nodes.insert(name.clone(), NodeKind::Graph(Box::new(sub)));
        name
    } else {
        let name = format!("lif{l}");
        g.nodes.insert(name.clone(), neuron);
        name
    }
}

/// A per-neuron (v2) population as a NIR node, inverting the discretisation per neuron: with either
/// scheme c = r·(1 − β), l = v_leak·(1 − β), a = w_in·(1 − α), so r = c/(1 − β), v_leak = l/(1 − β),
/// w_in = a/(1 − α); τ = dt/(1 − β) (Euler) or −dt/ln β (exact). β = 1 for every neuron is an `IF`
/// (r = c/dt; it has no leak, so l must be 0). LIF/CubaLIF when spiking, LI/CubaLI otherwise. Returns the
/// node and the reset (None for a non-spiking population).
fn per_neuron_node(pn: &PerNeuron, l: usize, dt: f64, o: ExportOptions) -> Result<(NodeKind, Option<PnReset>), NirError> {
    let bad = |msg: String| NirError::Invalid { path: format!("float-net layer {l}"), msg };
    let wd = o.width;
    let n = pn.n();
    pn.validate(n).map_err(bad)?;
    let tau_of = |b: f64, what: &str, j: usize| -> Result<f64, NirError> {
        if !(b > 0.0 && b < 1.0) {
            return Err(bad(format!("{what}[{j}] = {b} must be in (0, 1) to give a finite positive time constant")));
        }
        Ok(match o.method {
            Method::Euler => dt / (1.0 - b),
            Method::Exact => -dt / b.ln(),
        })
    };
    let beta = &pn.alpha_m;
    let sp = pn.spiking.as_ref();
    let mut f: Vec<(&str, Array)> = Vec::new();
    let kind = if beta.iter().all(|&b| b == 1.0) && pn.synapse.is_none() && sp.is_some() {
        if let Some(j) = pn.leak.iter().position(|&x| x != 0.0) {
            return Err(bad(format!("leak[{j}] ≠ 0 with β = 1: an IF node has no v_leak")));
        }
        f.push(("r", arr(pn.gain_m.iter().map(|c| c / dt).collect(), wd)));
        Kind::IF
    } else {
        let tau: Vec<f64> = (0..n).map(|j| tau_of(beta[j], "alpha_m", j)).collect::<Result<_, _>>()?;
        let one_m: Vec<f64> = beta.iter().map(|b| 1.0 - b).collect();
        f.push((if pn.synapse.is_some() { "tau_mem" } else { "tau" }, arr(tau, wd)));
        f.push(("r", arr((0..n).map(|j| pn.gain_m[j] / one_m[j]).collect(), wd)));
        f.push(("v_leak", arr((0..n).map(|j| pn.leak[j] / one_m[j]).collect(), wd)));
        if let Some(syn) = &pn.synapse {
            let ts: Vec<f64> = (0..n).map(|j| tau_of(syn.alpha_s[j], "alpha_s", j)).collect::<Result<_, _>>()?;
            f.push(("tau_syn", arr(ts, wd)));
            f.push(("w_in", arr((0..n).map(|j| syn.gain_s[j] / (1.0 - syn.alpha_s[j])).collect(), wd)));
        }
        match (pn.synapse.is_some(), sp.is_some()) {
            (false, true) => Kind::LIF,
            (true, true) => Kind::CubaLIF,
            (false, false) => Kind::LI,
            (true, false) => Kind::CubaLI,
        }
    };
    if let Some(s) = sp {
        f.push(("v_threshold", arr(s.v_th.clone(), wd)));
        f.push(("v_reset", arr(s.v_reset.clone(), wd)));
    }
    Ok((node(kind, f), sp.map(|s| s.reset)))
}
