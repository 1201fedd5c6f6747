//! Graph images (format version 2) in the CLI: build one from a float network file with the **simple
//! scale**, print one, run one on the host.
//!
//! **Simple scale** (not the quantizer of issue 11): each population stores its weights with the
//! power-of-two `weight_frac` chosen so that the largest |w| of its incoming weights fits the weight
//! bits: the largest f ≤ min(15, state_frac) with round(max|w|·2^f) ≤ 2^(bits−1) − 1; mantissa =
//! round(w·2^f) (nearest, ties away from zero). The core keeps one weight format per population (its
//! `LayerConfig::formats`), so a float layer's feed-forward and recurrent projections share it; the
//! readout gets its own. Decays, thresholds and STD/STP parameters convert **nearest** into their
//! formats (`Formats::decay`, `voltage`, `signal`); a value a format cannot hold is an error naming it.
//! A per-neuron float layer whose α_m or θ differ across neurons (`quantize::float_net::core_layers`)
//! becomes a `ParamMode::PerNeuron` population: every neuron's θ_j and α_m,j go through the same two
//! conversions into its `NeuronParams` record (the population's scalar fields hold neuron 0's values).
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use fixed::types::I32F32;
use plasticore::reference::io::{ModelSpec, SavedNet};
use plasticore::reference::model::{NeuronKind as FKind, Presyn as FPresyn, ResetMode, Synapse as FSynapse};
use plasticore::reference::net::{LossKind, Output};
use plasticore_core::error::Field;
use plasticore_core::format::{Decay, Efficacy, Formats, Weight};
use plasticore_core::graph::image::{self as gimage, GraphDesc, GraphImage, PopWeights, PopWeightsIn, PopulationDesc, PooledStorage};
use plasticore_core::graph::{
    self, BiasMode, LambdaSource, Projection, ProjPresyn, ReadoutSpec, Source,
};
use plasticore_core::image::{LayerDesc, NeuronDesc, PresynDesc, RunSummary, Runner, Stimulus, TargetRule};
use plasticore_core::layer::LearningRate;
use plasticore_core::net::LossWindow;
use plasticore_core::neuron::{AlifParams, LifParams, NeuronParams, ParamSlot, Reset, SurrogateParams, Synapse};
use plasticore_core::presyn::{DepressionParams, FacilitationParams};
use plasticore_core::readout::{Loss, ReadoutConfig};
use plasticore::graph_heap::HeapGraph;

/// Options of `image write --from-float`.
pub struct FromFloat {
    /// Weight bits of every population and the readout (2..=16).
    pub weight_bits: u8,
    /// Learning-signal source of every hidden population.
    pub lambda: LambdaSource,
    /// ES-D-RTRL trace decay α (None: the file's `EsdRtrl.alpha`, else 0.9).
    pub trace_decay: Option<f64>,
    /// Learning-rate shift of the populations (η = 2^−shift) and of the readout.
    pub lr_shift: (u8, u8),
    /// Store the synapses whose float weight is exactly 0 as absent (compressed rows).
    pub sparse: bool,
    /// Drop the biases instead of converting them (learnt biases, Q.state_frac, nearest).
    pub drop_bias: bool,
    /// Learning on.
    pub learn: bool,
    /// Stimulus steps.
    pub steps: u32,
    /// The `weight_frac` of every population and of the readout, chosen by the caller (`quantize -o`:
    /// the searched per-projection points reduced to one per population); `None`: the simple scale.
    /// Weights beyond the range at a given point saturate at ±(2^(bits−1) − 1).
    pub fracs: Option<(Vec<u8>, u8)>,
    /// Per population, the weight shift of its feed-forward and of its recurrent projection
    /// (`graph::Projection::shift`): their weights are stored at `weight_frac − shift` (`quantize -o`:
    /// each projection at its searched point); `None`: shift 0.
    pub shifts: Option<Vec<(u8, u8)>>,
    /// Bits of the input traces ε^x (their binary point: `sweep::grid::trace_frac`, min(8, bits − 4)).
    pub trace_bits: u8,
    /// Fractional bits of the state (V, g, a, r) and the biases.
    pub state_frac: u8,
}

impl FromFloat {
    /// The number formats every population and the readout start from: `Formats::DEFAULT` with the
    /// chosen weight bits, trace bits (and their binary point) and state binary point, validated.
    pub fn base(&self) -> Result<Formats> {
        let f = Formats {
            weight_bits: self.weight_bits,
            state_frac: self.state_frac,
            trace_bits: self.trace_bits,
            trace_frac: plasticore::sweep::grid::trace_frac(self.trace_bits),
            weight_frac: 0,
            ..Formats::DEFAULT
        };
        f.validate().map_err(|e| anyhow!("formats (--trace-bits {}, --state-frac {}): {e}", self.trace_bits, self.state_frac))?;
        Ok(f)
    }
}

/// One population's weights, owned.
#[derive(Clone, Debug)]
pub enum OwnedWeights {
    /// Dense, row-major by axon.
    Dense(Vec<Weight>),
    /// Compressed rows.
    Csr(Vec<u32>, Vec<u16>, Vec<Weight>),
}

impl OwnedWeights {
    pub(crate) fn as_in(&self) -> PopWeightsIn<'_> {
        match self {
            OwnedWeights::Dense(w) => PopWeightsIn::Dense(w),
            OwnedWeights::Csr(r, c, w) => PopWeightsIn::Compressed { row_start: r, cols: c, weights: w },
        }
    }
}

fn fx(x: f64, what: &str) -> Result<I32F32> {
    I32F32::checked_from_num(x).ok_or_else(|| anyhow!("{what} = {x} is not representable"))
}

fn decay(f: &Formats, x: f64, what: &str) -> Result<Decay> {
    f.decay(fx(x, what)?, Field::Decay).map_err(|e| anyhow!("{what} = {x}: {e}"))
}

/// The simple scale: the largest `weight_frac` ≤ min(15, state_frac) at which round(max|w|·2^f) fits.
pub fn simple_frac(max_abs: f64, bits: u8, state_frac: u8) -> Result<u8> {
    let wmax = ((1i64 << (bits - 1)) - 1) as f64;
    let cap = 15.min(state_frac);
    (0..=cap)
        .rev()
        .find(|&f| (max_abs * (1u64 << f) as f64).round() <= wmax)
        .ok_or_else(|| anyhow!("max |w| = {max_abs} does not fit {bits}-bit weights even with weight_frac 0"))
}

/// round(w·2^frac) (nearest, ties away from zero), **saturated** at ±(2^(bits−1) − 1): the simple scale
/// never reaches the limit, a caller-chosen point may.
fn quantize(w: f64, frac: u8, bits: u8) -> Weight {
    let m = ((1i32 << (bits.clamp(2, 16) - 1)) - 1) as f64;
    Weight((w * (1u64 << frac) as f64).round().clamp(-m, m) as i16)
}

/// The caller's `weight_frac` for population `l` (or the readout, `None`), checked against the format.
fn chosen_frac(o: &FromFloat, l: Option<usize>) -> Result<Option<u8>> {
    let Some((pops, ro)) = &o.fracs else { return Ok(None) };
    let f = match l {
        Some(l) => *pops.get(l).ok_or_else(|| anyhow!("no weight_frac given for population {l}"))?,
        None => *ro,
    };
    if f > 15.min(o.state_frac) {
        bail!("weight_frac {f} is outside 0..={}", 15.min(o.state_frac));
    }
    Ok(Some(f))
}

fn alpha_of(saved: &SavedNet) -> Option<f64> {
    saved.algorithm.get("EsdRtrl")?.get("alpha")?.as_f64()
}

/// A float network as a graph: description, weights per population, readout weights, the scale chosen.
pub struct Converted {
    /// The graph.
    pub desc: GraphDesc,
    /// Weights per population.
    pub weights: Vec<OwnedWeights>,
    /// Biases per population (empty without).
    pub biases: Vec<Vec<i32>>,
    /// Per-neuron threshold and decay per population (empty for a `ParamMode::Shared` one; no entry at
    /// all when no population has them).
    pub params: Vec<Vec<NeuronParams>>,
    /// Readout weights.
    pub readout: Vec<Weight>,
    /// `weight_frac` per population.
    pub fracs: Vec<u8>,
    /// `weight_frac` of the readout.
    pub readout_frac: u8,
}

/// Build a graph description and its weights from a float network: layer l is population l (an input
/// projection for layer 0, a delay-0 projection from layer l−1 otherwise, a delay-1 projection onto
/// itself if recurrent, all plastic), the readout reads the last layer. Returns the per-population
/// `weight_frac` chosen and the readout's.
pub fn from_float(saved: &SavedNet, o: &FromFloat) -> Result<Converted> {
    if !(2..=16).contains(&o.weight_bits) {
        bail!("--weight-bits {} is outside 2..=16", o.weight_bits);
    }
    let base = o.base()?;
    let cfg = &saved.config;
    let layers = &cfg.layers;
    if layers.len() > graph::MAX_POPULATIONS {
        bail!("{} layers: a graph holds at most {}", layers.len(), graph::MAX_POPULATIONS);
    }
    let (n_out, kappa) = match cfg.output {
        Output::LeakyReadout { n_out, kappa } => (n_out, kappa),
        ref other => bail!("output {other:?} has no fixed-point readout (only LeakyReadout)"),
    };
    let inputs = u16::try_from(layers[0].n_in).map_err(|_| anyhow!("{} inputs exceed 65535", layers[0].n_in))?;
    let alpha = o.trace_decay.or_else(|| alpha_of(saved)).unwrap_or(0.9);
    let mut populations = heapless::Vec::new();
    let mut projections = heapless::Vec::new();
    let mut weights = Vec::new();
    let mut biases = Vec::new();
    let mut fracs = Vec::new();
    let mut params = Vec::new();
    for (l, (lc, lp)) in layers.iter().zip(&saved.params.layers).enumerate() {
        // Biases: learnt, in the input units y of the model (Q.state_frac), nearest.
        let has_bias = lp.b.iter().any(|b| *b != 0.0) && !o.drop_bias;
        let bias_vals: Vec<i32> = if has_bias {
            let one = (1u64 << o.state_frac) as f64;
            lp.b.iter()
                .map(|b| {
                    let m = (b * one).round();
                    if m.is_finite() && m.abs() <= i32::MAX as f64 {
                        Ok(m as i32)
                    } else {
                        Err(anyhow!("layer {l}: bias {b} does not fit Q.{} in i32", o.state_frac))
                    }
                })
                .collect::<Result<_>>()?
        } else {
            Vec::new()
        };
        let n = u16::try_from(lc.n).map_err(|_| anyhow!("layer {l}: {} neurons exceed 65535", lc.n))?;
        // a per-neuron layer in the core form (`quantize::float_net::core_layers`): neuron 0's values as
        // the population's scalars, every neuron's α_m and θ as its per-neuron record
        let (nm, per_neuron) = match &lc.neuron {
            ModelSpec::Builtin(nm) => (*nm, None),
            ModelSpec::PerNeuron(pn) => {
                let (nm, a, t) = plasticore::quantize::float_net::core_form(pn)
                    .map_err(|e| anyhow!("layer {l} (per-neuron population): {e} (convert it with quantize::float_net::core_layers first)"))?;
                (nm, Some((a, t)))
            }
            _ => bail!("layer {l}: only the built-in LIF/ALIF models and per-neuron LIF populations have a fixed-point counterpart (GIF and COBA E/I do not)"),
        };
        let maxw = lp.w.iter().fold(0f64, |m, w| m.max(w.abs()));
        let frac = match chosen_frac(o, Some(l))? {
            Some(f) => f,
            None => simple_frac(maxw, o.weight_bits, o.state_frac)?,
        };
        fracs.push(frac);
        let (s_in, s_rec) = match &o.shifts {
            Some(s) => *s.get(l).ok_or_else(|| anyhow!("no weight shifts given for population {l}"))?,
            None => (0, 0),
        };
        if s_in.max(s_rec) > frac || s_in.max(s_rec) > plasticore_core::layer::MAX_WEIGHT_SHIFT {
            bail!("layer {l}: weight shifts ({s_in}, {s_rec}) exceed weight_frac {frac} or {}", plasticore_core::layer::MAX_WEIGHT_SHIFT);
        }
        // Row r of the layer's weights is an input row (r < n_in, shift s_in) or a recurrent one.
        let row_frac = |r: usize| frac - if r < lc.n_in { s_in } else { s_rec };
        let f = Formats { weight_frac: frac, ..base };
        let threshold = f.voltage(fx(nm.v_th, "v_th")?, Field::Threshold).map_err(|e| anyhow!("layer {l} v_th: {e}"))?;
        let sur = SurrogateParams {
            amplitude: f.signal(fx(nm.surrogate.height, "surrogate height")?, Field::Surrogate)?,
            width: f.signal(fx(nm.surrogate.width, "surrogate width")?, Field::Surrogate)?,
        };
        let synapse = match nm.synapse {
            FSynapse::Delta => Synapse::Delta,
            FSynapse::Exponential { alpha_s, gain } => {
                Synapse::Expon { decay: decay(&f, alpha_s, "alpha_s")?, gain: decay(&f, gain, "synaptic gain")? }
            }
        };
        let reset = match nm.reset {
            ResetMode::Soft => Reset::Soft,
            ResetMode::Hard => Reset::Hard,
        };
        let dm = decay(&f, nm.alpha_m, "alpha_m")?;
        // Per neuron: θ_j → Q.state_frac and α_m,j → Q.decay_frac with the scalar path's conversions
        // (`Formats::voltage`, `Formats::decay`: f64 → I32F32, then nearest), checked by `ParamSlot::new`
        // when encoded.
        let pn_vals: Vec<NeuronParams> = match &per_neuron {
            None => Vec::new(),
            Some((a, t)) => a
                .iter()
                .zip(t)
                .enumerate()
                .map(|(j, (&am, &th))| -> Result<NeuronParams> {
                    let threshold = f.voltage(fx(th, "v_th")?, Field::Threshold).map_err(|e| anyhow!("layer {l} neuron {j} v_th = {th}: {e}"))?;
                    let d = decay(&f, am, "alpha_m").map_err(|e| anyhow!("layer {l} neuron {j}: {e}"))?;
                    Ok(NeuronParams { threshold: threshold.0, decay: d.0, adapt: 0 })
                })
                .collect::<Result<_>>()?,
        };
        let (neuron, states) = match nm.kind {
            FKind::Lif => (
                NeuronDesc::Lif(LifParams { decay: dm, threshold, reset, detach_reset: nm.detach_reset, synapse, surrogate: sur }),
                1 + matches!(synapse, Synapse::Expon { .. }) as u8,
            ),
            FKind::Alif { rho, beta } => (
                NeuronDesc::Alif(AlifParams {
                    decay: dm,
                    adapt_decay: decay(&f, rho, "rho")?,
                    beta: f.voltage(fx(beta, "beta")?, Field::Beta)?,
                    threshold,
                    reset,
                    detach_reset: nm.detach_reset,
                    synapse,
                    surrogate: sur,
                }),
                2 + matches!(synapse, Synapse::Expon { .. }) as u8,
            ),
        };
        let eff = |u: f64| -> Result<Efficacy> {
            let m = (u * 65536.0).round();
            if !(0.0..=65536.0).contains(&m) {
                bail!("STD/STP U = {u} is outside [0, 1]");
            }
            Ok(Efficacy(m as i32))
        };
        let presyn = match lc.presyn {
            FPresyn::None => PresynDesc::None,
            FPresyn::Std { u, decay_d } => PresynDesc::Depression(DepressionParams { decay: decay(&f, decay_d, "decay_d")?, u: eff(u)? }),
            FPresyn::Stp { u, decay_f, decay_d } => PresynDesc::Facilitation(FacilitationParams {
                decay_f: decay(&f, decay_f, "decay_f")?,
                decay_d: decay(&f, decay_d, "decay_d")?,
                u: eff(u)?,
            }),
        };
        let layer = LayerDesc {
            formats: f,
            neuron,
            presyn,
            trace_decay: decay(&f, alpha, "trace decay")?,
            learning_rate: LearningRate { mant: 1, shift: o.lr_shift.0 },
            seed: 0x5EED_0100 + l as u32,
        };
        if !pn_vals.is_empty() {
            // every record through the core's own check, named by layer and neuron (the encoder checks again)
            let lc = layer.config().map_err(|e| anyhow!("layer {l}: {e}"))?;
            for (j, v) in pn_vals.iter().enumerate() {
                ParamSlot::new(&lc, *v).map_err(|e| anyhow!("layer {l} neuron {j} (θ {}, α_m {}): {e}", v.threshold, v.decay))?;
            }
        }
        let lambda = match o.lambda {
            LambdaSource::RandomFeedback { seed } => LambdaSource::RandomFeedback { seed: seed.wrapping_add(l as u32) },
            x => x,
        };
        populations
            .push(PopulationDesc {
                neurons: n,
                states,
                layer,
                lambda,
                compressed: o.sparse,
                bias: if has_bias { BiasMode::Learned } else { BiasMode::None },
                params: if per_neuron.is_some() { graph::ParamMode::PerNeuron } else { graph::ParamMode::Shared },
                narrow_weights: false,
            })
            .map_err(|_| anyhow!("too many layers"))?;
        params.push(pn_vals);
        let source = if l == 0 { Source::Input { first: 0, width: inputs } } else { Source::Population(l as u8 - 1) };
        let mut push = |p: Projection| projections.push(p).map_err(|_| anyhow!("more than {} projections", graph::MAX_PROJECTIONS));
        push(Projection { source, target: l as u8, delay: 0, learn: true, shift: s_in, presyn: ProjPresyn::Inherit })?;
        if lc.recurrent {
            push(Projection { source: Source::Population(l as u8), target: l as u8, delay: 1, learn: true, shift: s_rec, presyn: ProjPresyn::Inherit })?;
        }
        biases.push(bias_vals);
        let nn = lc.n;
        weights.push(if o.sparse {
            let (mut rs, mut cols, mut ws) = (vec![0u32], Vec::new(), Vec::new());
            for (r, row) in lp.w.chunks(nn).enumerate() {
                for (j, &w) in row.iter().enumerate() {
                    if w != 0.0 {
                        cols.push(j as u16);
                        ws.push(quantize(w, row_frac(r), o.weight_bits));
                    }
                }
                rs.push(cols.len() as u32);
            }
            OwnedWeights::Csr(rs, cols, ws)
        } else {
            OwnedWeights::Dense(lp.w.iter().enumerate().map(|(k, &w)| quantize(w, row_frac(k / nn.max(1)), o.weight_bits)).collect())
        });
    }
    let maxv = saved.params.readout.iter().fold(0f64, |m, w| m.max(w.abs()));
    let rfrac = match chosen_frac(o, None)? {
        Some(f) => f,
        None => simple_frac(maxv, o.weight_bits, o.state_frac)?,
    };
    let rf = Formats { weight_frac: rfrac, ..base };
    let readout = ReadoutSpec {
        source: layers.len() as u8 - 1,
        outputs: u16::try_from(n_out).map_err(|_| anyhow!("{n_out} outputs exceed 65535"))?,
        config: ReadoutConfig {
            formats: rf,
            decay: decay(&rf, kappa, "kappa")?,
            loss: match cfg.loss {
                LossKind::Mse => Loss::Mse,
                LossKind::CrossEntropy => Loss::CrossEntropy,
            },
            learning_rate: LearningRate { mant: 1, shift: o.lr_shift.1 },
            seed: 0x5EED_01FF,
        },
    };
    let ro_w = saved.params.readout.iter().map(|&w| quantize(w, rfrac, o.weight_bits)).collect();
    let desc = GraphDesc { inputs, populations, projections, readout, window: LossWindow::ALWAYS, learn: o.learn };
    if params.iter().all(Vec::is_empty) {
        params.clear();
    }
    Ok(Converted { desc, weights, biases, params, readout: ro_w, fracs, readout_frac: rfrac })
}

/// Encode a converted network as a version-2 image with a seeded group-activity stimulus of `steps`.
pub fn encode_converted(c: &Converted, steps: u32) -> Result<Vec<u8>> {
    let stim = Stimulus { seed: 1, rate: 429_496_730, steps, target: TargetRule::GroupActivity, amplitude: 1 << 16 };
    let ins: Vec<PopWeightsIn<'_>> = c.weights.iter().map(OwnedWeights::as_in).collect();
    let bs: Vec<&[i32]> = c.biases.iter().map(|b| &b[..]).collect();
    let ps: Vec<&[NeuronParams]> = c.params.iter().map(|p| &p[..]).collect();
    let mut buf = vec![0u8; gimage::encoded_len(&c.desc, &ins, true)];
    let n = gimage::encode_with_params(&c.desc, &ins, &bs, &ps, &c.readout, Some(&stim), &mut buf).map_err(|e| anyhow!("{e}"))?;
    buf.truncate(n);
    Ok(buf)
}

/// Encode a float network file into a version-2 image with a seeded group-activity stimulus.
pub fn build_from_float(path: &Path, o: &FromFloat) -> Result<(Vec<u8>, String)> {
    let saved = SavedNet::load(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    // per-neuron (v2) populations: uniform ones become the built-in LIF, differing α_m/θ per-neuron
    // records, what the core cannot hold is refused (one place)
    let saved = plasticore::quantize::float_net::core_layers(&saved).with_context(|| format!("converting {}", path.display()))?;
    let conv = from_float(&saved, o).with_context(|| format!("converting {}", path.display()))?;
    let buf = encode_converted(&conv, o.steps)?;
    let (fracs, rfrac) = (&conv.fracs, conv.readout_frac);
    let note = format!(
        "simple scale (power-of-two weight_frac per population, the full quantizer is issue 11): weight_frac {:?}, readout {rfrac}",
        fracs
    );
    Ok((buf, note))
}

fn lambda_name(l: LambdaSource) -> String {
    match l {
        LambdaSource::Symmetric => "symmetric".into(),
        LambdaSource::RandomFeedback { seed } => format!("random feedback (seed {seed:#x})"),
        LambdaSource::External => "external".into(),
    }
}

fn model_name(l: &LayerDesc) -> String {
    let syn = |s: &Synapse| match s {
        Synapse::Delta => "delta",
        Synapse::Expon { .. } => "exponential synapse",
    };
    let m = match &l.neuron {
        NeuronDesc::Lif(p) => format!("LIF ({})", syn(&p.synapse)),
        NeuronDesc::Alif(p) => format!("ALIF ({})", syn(&p.synapse)),
        NeuronDesc::LoihiCuba(_) => "Loihi CUBA-LIF".into(),
    };
    let pre = match l.presyn {
        PresynDesc::None => "",
        PresynDesc::Depression(_) => " + STD",
        PresynDesc::Facilitation(_) => " + STP",
    };
    format!("{m}{pre}")
}

/// Print a graph image (either version): populations, projections, readout, memory.
pub fn info(img: &GraphImage<'_>) -> Result<()> {
    let d = img.desc().map_err(|e| anyhow!("{e}"))?;
    println!(
        "  graph: {} inputs, {} populations, {} projections, learn {}, window {}..{}",
        d.inputs,
        d.populations.len(),
        d.projections.len(),
        d.learn,
        d.window.start,
        d.window.end
    );
    let (mut syn_total, mut w_bytes, mut learn_bytes, mut neurons_total) = (0usize, 0usize, 0usize, 0usize);
    for (p, pd) in d.populations.iter().enumerate() {
        let axons = d.axons(p);
        let f = pd.layer.formats;
        let wbytes = if pd.narrow_weights { 1 } else { 2 };
        let (synapses, wb, store) = match img.population_weights(&d, p).map_err(|e| anyhow!("{e}"))? {
            PopWeights::Dense(w) => (w.len(), wbytes * w.len(), "dense".to_string()),
            PopWeights::Compressed(c) => (c.synapses(), (2 + wbytes) * c.synapses() + 4 * (axons + 1), "compressed rows".to_string()),
        };
        // Learning state: ε^x 2 B per axon; ẽ^f 4 B per neuron state; ψ 4, gradient 8, Σ B·e 4 B per neuron.
        let n = pd.neurons as usize;
        let per_neuron = 4 * pd.states as usize + 16;
        let lb = 2 * axons + per_neuron * n;
        println!(
            "  population {p}: {n} neurons, {} ({} states), weights {}-bit (weight_frac {}), state Q.{}, ε^x {}-bit Q.{}, λ {}, bias {}, thresholds/decays {}, {store}, {axons} axons, {synapses} synapses",
            model_name(&pd.layer),
            pd.states,
            f.weight_bits,
            f.weight_frac,
            f.state_frac,
            f.trace_bits,
            f.trace_frac,
            lambda_name(pd.lambda),
            match pd.bias {
                BiasMode::None => "none",
                BiasMode::Fixed => "fixed",
                BiasMode::Learned => "learnt",
            },
            match pd.params {
                graph::ParamMode::Shared => "shared",
                graph::ParamMode::PerNeuron => "per neuron (32 B/neuron)",
            }
        );
        println!(
            "    memory: weights {wb} B ({:.2} B/synapse), learning {lb} B = ε^x 2 B/axon + {per_neuron} B/neuron (ẽ^f 4×{} + ψ 4 + grad 8 + fb 4): {:.3} B/synapse",
            wb as f64 / synapses.max(1) as f64,
            pd.states,
            lb as f64 / synapses.max(1) as f64
        );
        syn_total += synapses;
        w_bytes += wb;
        learn_bytes += lb;
        neurons_total += n;
    }
    for (q, pr) in d.projections.iter().enumerate() {
        let src = match pr.source {
            Source::Input { first, width } => format!("inputs {first}..{}", first as u32 + width as u32),
            Source::Population(s) => format!("population {s}"),
        };
        let presyn = match pr.presyn {
            ProjPresyn::Inherit => "STD/STP of its population".to_string(),
            ProjPresyn::None => "no STD/STP".to_string(),
            ProjPresyn::Depression(p) => format!("own STD (decay {}, U {})", p.decay.0, p.u.0),
            ProjPresyn::Facilitation(p) => format!("own STP (decay_f {}, decay_d {}, U {})", p.decay_f.0, p.decay_d.0, p.u.0),
        };
        println!(
            "  projection {q}: {src} -> population {}, delay {}, {}, weight shift {} (a mantissa is m·2^{} LSBs), {presyn}",
            pr.target,
            pr.delay,
            if pr.learn { "plastic" } else { "frozen" },
            pr.shift,
            pr.shift
        );
    }
    let r = &d.readout;
    println!(
        "  readout: population {} -> {} outputs, {:?}, weights {}-bit (weight_frac {}), κ {}",
        r.source, r.outputs, r.config.loss, r.config.formats.weight_bits, r.config.formats.weight_frac, r.config.decay.0
    );
    println!(
        "  memory: {syn_total} synapses, weights {w_bytes} B, learning state {learn_bytes} B ({:.3} B/synapse, {:.1} B/neuron)",
        learn_bytes as f64 / syn_total.max(1) as f64,
        learn_bytes as f64 / neurons_total.max(1) as f64
    );
    match d.config().map_err(|e| anyhow!("{e}")).and_then(|_| {
        let z = img.pooled_sizes(&d).map_err(|e| anyhow!("{e}"))?;
        let mut w = vec![Weight(0); z.weights];
        let mut rs = vec![0u32; z.row_start];
        let mut cs = vec![0u16; z.cols];
        let mut ro = vec![Weight(0); z.readout];
        let mut bias = vec![0i32; z.bias];
        let mut params = vec![ParamSlot::EMPTY; z.params];
        img.load_pooled(PooledStorage { weights: &mut w, row_start: &mut rs, cols: &mut cs, readout: &mut ro, bias: &mut bias, params: &mut params })
            .map_err(|e| anyhow!("{e}"))
    }) {
        Ok(_) => println!("  configuration: valid"),
        Err(e) => println!("  configuration: INVALID: {e}"),
    }
    if let Some(s) = img.stimulus().map_err(|e| anyhow!("{e}"))? {
        println!("  stimulus: {s:?}");
    }
    Ok(())
}

/// Run an image (either version) as a graph on the host: pooled buffers, the image's stimulus through
/// `graph::run_graph`. For a version-1 image this is the same `RunSummary` as the `Net` path.
pub fn run(bytes: &[u8]) -> Result<RunSummary> {
    let img = GraphImage::parse(bytes).map_err(|e| anyhow!("{e}"))?;
    let d = img.desc().map_err(|e| anyhow!("{e}"))?;
    let stim = img.stimulus().map_err(|e| anyhow!("{e}"))?.ok_or_else(|| anyhow!("image has no stimulus section"))?;
    let z = img.pooled_sizes(&d).map_err(|e| anyhow!("{e}"))?;
    let (mut w, mut rs, mut cs, mut ro) = (vec![Weight(0); z.weights], vec![0u32; z.row_start], vec![0u16; z.cols], vec![Weight(0); z.readout]);
    let mut bias = vec![0i32; z.bias];
    let mut params = vec![ParamSlot::EMPTY; z.params];
    let l = img
        .load_pooled(PooledStorage { weights: &mut w, row_start: &mut rs, cols: &mut cs, readout: &mut ro, bias: &mut bias, params: &mut params })
        .map_err(|e| anyhow!("{e}"))?;
    let np = l.desc.populations.len();
    let topo = l.topology(&rs, &cs);
    let mut pool = HeapGraph::new(&l.config, &topo[..np], w, ro, bias, params).map_err(|e| anyhow!("{e}"))?;
    let mut g = pool.view(&l.config, &topo[..np]).map_err(|e| anyhow!("{e}"))?;
    let mut input = vec![0u16; l.config.inputs as usize];
    let mut values = vec![0i32; l.config.readout.outputs as usize];
    graph::run_graph(&mut Runner::new(stim), &mut g, &mut input, &mut values).map_err(|e| anyhow!("{e}"))
}

/// The two-layer firmware image (`image write --preset graph2`): 64 inputs → 96 LIF (feed-forward) → 64
/// LIF (recurrent, delay 1) → 4 MSE readouts, both populations with the symmetric (within-step backprop)
/// learning signal, 8-bit weights (stored as i16, as today) drawn from a seeded `XorShift32`, 10 % input
/// activity, 1000 steps. Layer and readout parameters are `image::example_desc`'s.
pub fn preset_graph2(steps: Option<u32>, learn: bool) -> Result<Vec<u8>> {
    use plasticore_core::rng::XorShift32;
    let base = plasticore_core::image::example_desc(64, 96, 4, false);
    let pop = |seed: u32, neurons: u16| PopulationDesc {
        neurons,
        states: 1,
        layer: LayerDesc { seed, ..base.layer },
        lambda: LambdaSource::Symmetric,
        compressed: false,
        bias: BiasMode::None,
        params: graph::ParamMode::Shared,
        narrow_weights: false,
    };
    let mut populations = heapless::Vec::new();
    let mut projections = heapless::Vec::new();
    for p in [pop(0x5EED_0201, 96), pop(0x5EED_0202, 64)] {
        populations.push(p).map_err(|_| anyhow!("populations"))?;
    }
    for p in [
        Projection { source: Source::Input { first: 0, width: 64 }, target: 0, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit },
        Projection { source: Source::Population(0), target: 1, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit },
        Projection { source: Source::Population(1), target: 1, delay: 1, learn: true, shift: 0, presyn: ProjPresyn::Inherit },
    ] {
        projections.push(p).map_err(|_| anyhow!("projections"))?;
    }
    let desc = GraphDesc {
        inputs: 64,
        populations,
        projections,
        readout: ReadoutSpec { source: 1, outputs: 4, config: base.readout },
        window: LossWindow::ALWAYS,
        learn,
    };
    let mut rng = XorShift32::new(0xC0FF_EE21);
    let mut uniform = |(lo, hi): (i32, i32)| {
        let span = (hi - lo + 1) as u64;
        Weight((lo as i64 + ((rng.next_u32() as u64 * span) >> 32) as i64) as i16)
    };
    let w0: Vec<Weight> = (0..64 * 96).map(|_| uniform((-28, 34))).collect();
    let w1: Vec<Weight> = (0..(96 + 64) * 64).map(|k| uniform(if k < 96 * 64 { (-12, 16) } else { (-6, 6) })).collect();
    let ro: Vec<Weight> = (0..64 * 4).map(|_| uniform((-8, 8))).collect();
    let stim = Stimulus { seed: 4, rate: 429_496_730, steps: steps.unwrap_or(1000), target: TargetRule::GroupActivity, amplitude: 1 << 16 };
    let ins = [PopWeightsIn::Dense(&w0), PopWeightsIn::Dense(&w1)];
    let mut buf = vec![0u8; gimage::encoded_len(&desc, &ins, true)];
    let n = gimage::encode(&desc, &ins, &[], &ro, Some(&stim), &mut buf).map_err(|e| anyhow!("{e}"))?;
    buf.truncate(n);
    Ok(buf)
}
