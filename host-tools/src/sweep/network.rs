//! The network a sweep studies, in float ([`FloatSpec`]), and its fixed-point graph at a grid point's
//! formats ([`FixedNet`]): one recurrent (or feed-forward) LIF population (delta or exponential synapse)
//! and a leaky readout, the shape of the main job's network and of `train`'s one-layer networks.
//!
//! Float → fixed (the study's one conversion; every rounding is to nearest, as the configuration-time
//! conversions of the core): weights become mantissas of the point's bits with one binary point per
//! population (`quantize::weights::mantissas`, saturating, clipped weights counted), chosen so that twice
//! the largest |w| the float network reaches (initial or trained) fits: one bit of headroom for learning.
//! Decays, the threshold and the surrogate convert into the point's formats; learning rates must be
//! powers of two (the core's `LearningRate` is a mantissa and a shift; the sweep uses mantissa 1).
use super::grid::{trace_frac, Point};
use super::SweepError;
use crate::graph_heap::HeapGraph;
use crate::quantize::weights::{mantissas, no_clip_frac};
use crate::reference::model::{Neuron, NeuronKind as FKind, Presyn, ResetMode, Synapse as FSynapse};
use crate::reference::net::{LossKind, NetConfig, Output, Params, Target as FTarget};
use crate::reference::onchip::{Feedback as FFeedback, OnChip, OnChipConfig, UpdateMode as FMode};
use crate::tasks::Trial;
use fixed::types::I32F32;
use plasticore_core::graph::{BiasMode, GraphConfig, GraphMut, GraphUpdate, LambdaSource, Population, Projection, ProjPresyn, ReadoutSpec, Source};
use plasticore_core::prelude::*;

/// A float network with the on-chip rule's settings: what the sweep quantizes.
#[derive(Clone, Debug)]
pub struct FloatSpec {
    /// One LIF layer (delta synapse) and a leaky readout.
    pub net: NetConfig<Neuron>,
    /// Weights on-chip learning starts from.
    pub init: Params<f64>,
    /// The rule (α, η, η_o; symmetric feedback).
    pub onchip: OnChipConfig,
    /// Seed of the core's stochastic rounding.
    pub seed: u32,
    /// Weight bits of the readout (`None`: the point's weight bits).
    pub readout_bits: Option<u8>,
}

fn cfg_err(what: &str) -> impl Fn(ConfigError) -> SweepError + '_ {
    move |e| SweepError::Config(format!("{what}: {e}"))
}

fn fx(x: f64, what: &str) -> Result<I32F32, SweepError> {
    I32F32::checked_from_num(x).ok_or_else(|| SweepError::Config(format!("{what} = {x} is not representable")))
}

fn rate(eta: f64, what: &str) -> Result<LearningRate, SweepError> {
    let shift = -eta.log2();
    if eta > 0.0 && shift.fract() == 0.0 && (0.0..=40.0).contains(&shift) {
        Ok(LearningRate { mant: 1, shift: shift as u8 })
    } else {
        Err(SweepError::Config(format!("{what} = {eta} is not a power of two 2^-k with k in 0..=40")))
    }
}

impl FloatSpec {
    /// Check the shape the sweep handles, naming what is not.
    pub fn validate(&self) -> Result<(), SweepError> {
        let bad = |m: String| Err(SweepError::Config(m));
        if self.net.layers.len() != 1 {
            return bad(format!("{} hidden layers: the sweep handles one", self.net.layers.len()));
        }
        let l = &self.net.layers[0];
        if l.neuron.kind != FKind::Lif || l.presyn != Presyn::None {
            return bad("the sweep handles LIF neurons (delta or exponential synapse) without a presynaptic filter".into());
        }
        if !matches!(self.net.output, Output::LeakyReadout { .. }) {
            return bad("the sweep needs a leaky readout".into());
        }
        if self.onchip.feedback != FFeedback::Symmetric {
            return bad("the sweep runs symmetric feedback".into());
        }
        rate(self.onchip.eta, "η")?;
        rate(self.onchip.eta_o, "η_o")?;
        self.init.check(&self.net).map_err(|e| SweepError::Config(e.to_string()))?;
        Ok(())
    }

    /// The float on-chip rule from `p` in `mode`.
    pub fn float(&self, p: &Params<f64>, mode: FMode) -> Result<OnChip<Neuron>, SweepError> {
        Ok(OnChip::new(self.net.clone(), p.clone(), OnChipConfig { mode, ..self.onchip.clone() })?)
    }
}

/// Binary points of the hidden population and of the readout for a point (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fracs {
    /// Hidden weights.
    pub hidden: u8,
    /// Readout weights.
    pub readout: u8,
}

/// The binary point at which twice the largest |w| of `ws` fits `bits`, in 0..=cap (0 when all are 0
/// is replaced by `cap`: nothing to keep).
fn frac_for(ws: &[&[f64]], bits: u8, cap: u8) -> u8 {
    let all: Vec<f64> = ws.iter().flat_map(|w| w.iter().map(|x| 2.0 * x)).collect();
    no_clip_frac(&all, bits).map_or(cap, |f| f.clamp(0, cap as i32) as u8)
}

impl Fracs {
    /// From the initial and the float-trained weights.
    pub fn choose(spec: &FloatSpec, trained: &Params<f64>, pt: &Point) -> Fracs {
        let cap = 15.min(pt.state_frac);
        let rb = spec.readout_bits.unwrap_or(pt.weight_bits);
        Fracs {
            hidden: frac_for(&[&spec.init.layers[0].w, &trained.layers[0].w], pt.weight_bits, cap),
            readout: frac_for(&[&spec.init.readout, &trained.readout], rb, cap),
        }
    }
}

/// A fixed-point graph of a [`FloatSpec`] at a point's formats.
pub struct FixedNet {
    /// The graph configuration.
    pub config: GraphConfig,
    store: HeapGraph,
    /// Weights that saturated when quantized (hidden + readout).
    pub clipped: usize,
}

impl FixedNet {
    /// Quantize `p` at point `pt` with binary points `fr`; `learn` turns the core's learning on.
    pub fn new(spec: &FloatSpec, p: &Params<f64>, pt: &Point, fr: Fracs, learn: bool) -> Result<FixedNet, SweepError> {
        let l = &spec.net.layers[0];
        let fmt = Formats {
            weight_bits: pt.weight_bits,
            weight_frac: fr.hidden,
            state_frac: pt.state_frac,
            trace_bits: pt.trace_bits,
            trace_frac: trace_frac(pt.trace_bits),
            ..Formats::DEFAULT
        };
        let rb = spec.readout_bits.unwrap_or(pt.weight_bits);
        let rfmt = Formats { weight_bits: rb, weight_frac: fr.readout, ..fmt };
        fmt.validate().map_err(cfg_err("formats"))?;
        rfmt.validate().map_err(cfg_err("readout formats"))?;
        let n = &l.neuron;
        let sf = |x: f64, w: &str| fx(x, w).and_then(|v| fmt.signal(v, Field::Surrogate).map_err(cfg_err(w)));
        let lif = Lif::new(
            LifParams {
                decay: fmt.decay(fx(n.alpha_m, "α_m")?, Field::Decay).map_err(cfg_err("α_m"))?,
                threshold: fmt.voltage(fx(n.v_th, "V_th")?, Field::Threshold).map_err(cfg_err("V_th"))?,
                reset: if n.reset == ResetMode::Soft { Reset::Soft } else { Reset::Hard },
                detach_reset: n.detach_reset,
                synapse: match n.synapse {
                    FSynapse::Delta => Synapse::Delta,
                    FSynapse::Exponential { alpha_s, gain } => Synapse::Expon {
                        decay: fmt.decay(fx(alpha_s, "α_s")?, Field::Decay).map_err(cfg_err("α_s"))?,
                        gain: fmt.decay(fx(gain, "synapse gain")?, Field::Decay).map_err(cfg_err("synapse gain"))?,
                    },
                },
                surrogate: SurrogateParams { amplitude: sf(n.surrogate.height, "surrogate height")?, width: sf(n.surrogate.width, "surrogate width")? },
            },
            &fmt,
        )
        .map_err(cfg_err("LIF"))?;
        let layer = LayerConfig {
            formats: fmt,
            neuron: NeuronKind::Lif(lif),
            presyn: PresynKind::None,
            trace_decay: fmt.decay(fx(spec.onchip.alpha, "α")?, Field::Decay).map_err(cfg_err("α"))?,
            learning_rate: rate(spec.onchip.eta, "η")?,
            seed: spec.seed,
        };
        let (n_out, kappa) = match spec.net.output {
            Output::LeakyReadout { n_out, kappa } => (n_out, kappa),
            _ => return Err(SweepError::Config("the sweep needs a leaky readout".into())),
        };
        let readout = ReadoutConfig {
            formats: rfmt,
            decay: rfmt.decay(fx(kappa, "κ")?, Field::Decay).map_err(cfg_err("κ"))?,
            loss: if spec.net.loss == LossKind::CrossEntropy { Loss::CrossEntropy } else { Loss::Mse },
            learning_rate: rate(spec.onchip.eta_o, "η_o")?,
            seed: spec.seed ^ 0xABCD,
        };
        let too_big = |x: usize, w: &str| u16::try_from(x).map_err(|_| SweepError::Config(format!("{w} = {x} exceeds 65535")));
        let mut pops = heapless::Vec::new();
        let _ = pops.push(Population { neurons: too_big(l.n, "neurons")?, layer, lambda: LambdaSource::Symmetric, bias: BiasMode::None, params: plasticore_core::graph::ParamMode::Shared });
        let mut projs = heapless::Vec::new();
        let _ = projs.push(Projection { source: Source::Input { first: 0, width: too_big(l.n_in, "inputs")? }, target: 0, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit });
        if l.recurrent {
            let _ = projs.push(Projection { source: Source::Population(0), target: 0, delay: 1, learn: true, shift: 0, presyn: ProjPresyn::Inherit });
        }
        let config = GraphConfig {
            inputs: too_big(l.n_in, "inputs")?,
            populations: pops,
            projections: projs,
            readout: ReadoutSpec { source: 0, outputs: too_big(n_out, "outputs")?, config: readout },
            window: LossWindow::ALWAYS,
            learn,
        };
        let (wm, ws) = mantissas(&p.layers[0].w, pt.weight_bits, fr.hidden as i8);
        let (rm, rs) = mantissas(&p.readout, rb, fr.readout as i8);
        let w = wm.into_iter().map(|m| Weight(m as i16)).collect();
        let ro = rm.into_iter().map(|m| Weight(m as i16)).collect();
        let neurons = l.n;
        let store = HeapGraph::new(&config, &[None], w, ro, vec![0; neurons], Vec::new()).map_err(cfg_err("graph"))?;
        Ok(FixedNet { config, store, clipped: ws.clipped + rs.clipped })
    }

    /// The datapath, state reset, with the point's rounding applied.
    pub fn view(&mut self, rounding: super::RoundingMode) -> Result<GraphMut<'_>, SweepError> {
        let mut g = self.store.view(&self.config, &[None]).map_err(cfg_err("graph"))?;
        super::rounding::apply(&mut g, rounding)?;
        Ok(g)
    }
}

/// Spike lists of a trial's inputs (non-zero entries).
pub fn events(trial: &Trial) -> Vec<Vec<u16>> {
    trial.seq.inputs.iter().map(|u| u.iter().enumerate().filter(|(_, &x)| x != 0.0).map(|(i, _)| i as u16).collect()).collect()
}

/// Index of the largest score (the first on ties).
fn argmax(s: &[f64]) -> usize {
    s.iter().enumerate().fold(0, |b, (k, &x)| if x > s[b] { k } else { b })
}

/// How a fixed trial updates the weights.
pub enum Update<'a> {
    /// Inference.
    None,
    /// Online learning with the trial's targets.
    Online,
    /// Sum ΔW into the accumulator (weights frozen).
    Accumulate(&'a mut [i32]),
}

/// One trial on the fixed graph; true if the class (argmax of the readout summed over the target steps)
/// is the label.
pub fn fixed_trial(g: &mut GraphMut<'_>, trial: &Trial, mut up: Update<'_>) -> Result<bool, SweepError> {
    g.reset_state();
    let mut score = vec![0.0f64; g.config().readout.outputs as usize];
    for (t, (ev, tgt)) in events(trial).iter().zip(&trial.seq.targets).enumerate() {
        let target = match (&up, tgt) {
            (Update::None, _) | (_, None) => Target::None,
            (_, Some(FTarget::Class(c))) => Target::Class(*c as u16),
            (_, Some(_)) => return Err(SweepError::Config("the sweep's tasks are classifications (class targets)".into())),
        };
        let mode = match &mut up {
            Update::Accumulate(a) => GraphUpdate::Accumulate(a),
            _ => GraphUpdate::Online,
        };
        g.step(Timestep(t as u32), ev, target, &[], mode).map_err(cfg_err("step"))?;
        if tgt.is_some() {
            for (s, &o) in score.iter_mut().zip(g.outputs()) {
                *s += o as f64;
            }
        }
    }
    Ok(argmax(&score) == trial.label)
}

/// One trial on the float rule; `learn` applies the targets (online or accumulated, as built).
pub fn float_trial(f: &mut OnChip<Neuron>, trial: &Trial, learn: bool) -> Result<bool, SweepError> {
    f.reset();
    let mut score = vec![0.0f64; f.output().len()];
    for (u, tgt) in trial.seq.inputs.iter().zip(&trial.seq.targets) {
        f.step(u, if learn { tgt.as_ref() } else { None }, None)?;
        if tgt.is_some() {
            for (s, &o) in score.iter_mut().zip(f.output()) {
                *s += o;
            }
        }
    }
    Ok(argmax(&score) == trial.label)
}
