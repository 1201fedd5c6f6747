//! Graph images (format version 2). Questions answered:
//! * round trip: on random graphs (1–4 populations, feed-forward and recurrent, delays, dense and
//!   compressed rows, LIF/ALIF/Loihi, delta/exponential synapses, STD/STP, 8- and 16-bit weights), does
//!   encode → parse → load give back the description and every weight, and re-encode to the same bytes?
//! * fidelity: does the loaded graph run bit for bit like the graph it was written from (checksum and
//!   step report at every step)?
//! * compatibility: is a version-1 image read as a one-population graph whose run equals `Net`'s
//!   (`RunSummary` bit for bit), and does the version-1 reader refuse version 2 naming the version?
//!   Populations have per-neuron thresholds and decays (NEURON_PARAMS) in about a third of the cases.
//! * integrity: is every single-bit flip and every truncation of a v2 image rejected?
//! * robustness: do random edits with a recomputed CRC ever panic in parse / desc / load / a few steps?

use plasticore_core::format::{Decay, Efficacy, Formats, Signal, Voltage, Weight};
use plasticore_core::graph::image::{self as gimage, GraphDesc, GraphImage, PopWeights, PopWeightsIn, PopulationDesc, PooledStorage};
use plasticore_core::graph::{
    self, BiasMode, Graph, GraphBuffers, GraphConfig, GraphMut, GraphScalars, LambdaSource, PoolBuffers, Projection, ProjPresyn, ReadoutSpec,
    Source, MAX_DELAY,
};
use plasticore_core::image::{self, Image, ImageError, LayerDesc, NeuronDesc, PresynDesc, Runner, Stimulus, TargetRule};
use plasticore_core::layer::{Csr, LayerScalars, LearningRate, Saturations};
use plasticore_core::net::{LossWindow, Net};
use plasticore_core::neuron::{AlifParams, LifParams, LoihiParams, NeuronParams, ParamSlot, Reset, SurrogateParams, Synapse};
use plasticore_core::error::{ConfigError, Field};
use plasticore_core::graph::ParamMode;
use plasticore_core::presyn::{DepressionParams, FacilitationParams};
use plasticore_core::readout::{Loss, ReadoutBuffers, ReadoutConfig};
use plasticore_core::rng::XorShift32;
use proptest::prelude::*;

// ---- pooled storage for any layout (what an emulator core or a host run allocates) ------------------

/// Every buffer of a graph, sized from its layout.
struct Pool {
    weights: Vec<Weight>,
    state: Vec<i32>,
    etrace: Vec<i32>,
    xtrace: Vec<u16>,
    presyn: Vec<[i32; 2]>,
    efficacy: Vec<i32>,
    acc: Vec<i32>,
    psi: Vec<i32>,
    grad: Vec<i64>,
    bias: Vec<i32>,
    params: Vec<ParamSlot>,
    scalars: Vec<LayerScalars>,
    ro_weights: Vec<Weight>,
    ro_r: Vec<i32>,
    ro_otrace: Vec<u16>,
    ro_err: Vec<i32>,
    ro_grad: Vec<i64>,
    ro_sat: Saturations,
    ro_updates: u32,
    fb: Vec<i32>,
    hist: Vec<u16>,
    hist_count: Vec<u16>,
    active: Vec<u16>,
    spikes: Vec<u16>,
    delta: Vec<i32>,
    gs: GraphScalars,
}

impl Pool {
    fn new(cfg: &GraphConfig, topo: &[Option<Csr<'_>>]) -> Pool {
        let l = cfg.layout(topo).unwrap();
        let o = cfg.readout.outputs as usize;
        Pool {
            weights: vec![Weight(0); l.weights],
            state: vec![0; l.states],
            etrace: vec![0; l.states],
            xtrace: vec![0; l.axons],
            presyn: vec![[0; 2]; l.presyn],
            efficacy: vec![0; l.presyn],
            acc: vec![0; l.neurons],
            psi: vec![0; l.neurons],
            grad: vec![0; l.neurons],
            bias: vec![0; l.neurons],
            params: vec![ParamSlot::EMPTY; l.param_slots],
            scalars: vec![LayerScalars::default(); l.populations],
            ro_weights: vec![Weight(0); l.readout_weights],
            ro_r: vec![0; o],
            ro_otrace: vec![0; l.readout_weights / o],
            ro_err: vec![0; o],
            ro_grad: vec![0; o],
            ro_sat: Saturations::default(),
            ro_updates: 0,
            fb: vec![0; l.neurons],
            hist: vec![0; l.hist_len()],
            hist_count: vec![0; l.hist_counts()],
            active: vec![0; l.max_axons],
            spikes: vec![0; l.max_neurons],
            delta: vec![0; l.max_neurons],
            gs: GraphScalars::default(),
        }
    }

    fn view<'a>(&'a mut self, cfg: &'a GraphConfig, topo: &[Option<Csr<'a>>]) -> GraphMut<'a> {
        let b = GraphBuffers {
            pool: PoolBuffers {
                weights: &mut self.weights,
                state: &mut self.state,
                etrace: &mut self.etrace,
                xtrace: &mut self.xtrace,
                presyn: &mut self.presyn,
                efficacy: &mut self.efficacy,
                acc: &mut self.acc,
                psi: &mut self.psi,
                grad: &mut self.grad,
                bias: &mut self.bias,
                params: &mut self.params,
                scalars: &mut self.scalars,
            },
            readout: ReadoutBuffers {
                weights: &mut self.ro_weights,
                r: &mut self.ro_r,
                otrace: &mut self.ro_otrace,
                err: &mut self.ro_err,
                grad: &mut self.ro_grad,
                sat: &mut self.ro_sat,
                updates: &mut self.ro_updates,
            },
            fb: &mut self.fb,
            hist: &mut self.hist,
            hist_count: &mut self.hist_count,
            active: &mut self.active,
            spikes: &mut self.spikes,
            delta: &mut self.delta,
            scalars: &mut self.gs,
        };
        let mut g = GraphMut::new(cfg, topo, b).unwrap();
        g.reset_state();
        g
    }
}

// ---- random graphs ---------------------------------------------------------------------------------

/// One population's weights as owned vectors.
#[derive(Clone, Debug, PartialEq)]
enum OwnedW {
    Dense(Vec<Weight>),
    Csr(Vec<u32>, Vec<u16>, Vec<Weight>),
}

impl OwnedW {
    fn as_in(&self) -> PopWeightsIn<'_> {
        match self {
            OwnedW::Dense(w) => PopWeightsIn::Dense(w),
            OwnedW::Csr(r, c, w) => PopWeightsIn::Compressed { row_start: r, cols: c, weights: w },
        }
    }
    fn csr(&self) -> Option<Csr<'_>> {
        match self {
            OwnedW::Dense(_) => None,
            OwnedW::Csr(r, c, _) => Some(Csr { row_start: r, cols: c }),
        }
    }
    fn weights(&self) -> &[Weight] {
        match self {
            OwnedW::Dense(w) | OwnedW::Csr(_, _, w) => w,
        }
    }
}

struct RandomGraph {
    desc: GraphDesc,
    weights: Vec<OwnedW>,
    /// Per population: its biases (empty without a bias).
    biases: Vec<Vec<i32>>,
    /// Per population: its per-neuron threshold and decays (empty with shared parameters).
    params: Vec<Vec<NeuronParams>>,
    readout: Vec<Weight>,
    stim: Stimulus,
}

fn pick(r: &mut XorShift32, n: u32) -> u32 {
    r.next_u32() % n
}

fn layer(r: &mut XorShift32, model: u32) -> (LayerDesc, u8) {
    let wide = pick(r, 3) == 0;
    let f = if wide { Formats { weight_bits: 16, weight_frac: 12, ..Formats::DEFAULT } } else { Formats::DEFAULT };
    let one = 1u32 << f.decay_frac;
    let sur = SurrogateParams::paper(&f);
    let expon = pick(r, 2) == 0;
    let synapse = if expon { Synapse::Expon { decay: Decay(one / 10 * 7), gain: Decay(one / 4) } } else { Synapse::Delta };
    let reset = if pick(r, 2) == 0 { Reset::Soft } else { Reset::Hard };
    let (neuron, states) = match model {
        0 => (
            NeuronDesc::Lif(LifParams {
                decay: Decay(one / 10 * 9),
                threshold: Voltage(1 << f.state_frac),
                reset,
                detach_reset: pick(r, 2) == 0,
                synapse,
                surrogate: sur,
            }),
            1 + expon as u8,
        ),
        1 => (
            NeuronDesc::Alif(AlifParams {
                decay: Decay(one / 10 * 9),
                adapt_decay: Decay(one / 100 * 97),
                beta: Voltage(1 << 14),
                threshold: Voltage(1 << f.state_frac),
                reset,
                detach_reset: false,
                synapse,
                surrogate: sur,
            }),
            2 + expon as u8,
        ),
        _ => (
            NeuronDesc::LoihiCuba(LoihiParams {
                du: 400 + pick(r, 400) as u16,
                dv: 200 + pick(r, 400) as u16,
                bias_mant: pick(r, 200) as i16 - 100,
                bias_exp: pick(r, 4) as u8,
                vth_mant: 100 + pick(r, 400),
                weight_exp: pick(r, 4) as i8,
                surrogate: SurrogateParams { amplitude: Signal(1 << 15), width: Signal(1 << 22) },
                wrap: Default::default(),
            }),
            2,
        ),
    };
    // STD/STP scale the accumulator by 2^16 (`LayerConfig::acc_frac`): only 8-bit weights fit it.
    let presyn = match (model, pick(r, 3)) {
        _ if wide => PresynDesc::None,
        (2, _) | (_, 0) => PresynDesc::None,
        (_, 1) => PresynDesc::Depression(DepressionParams { decay: Decay(one / 2), u: Efficacy(1 << 14) }),
        _ => PresynDesc::Facilitation(FacilitationParams { decay_f: Decay(one / 3), decay_d: Decay(one / 5), u: Efficacy(1 << 13) }),
    };
    let desc = LayerDesc {
        formats: f,
        neuron,
        presyn,
        trace_decay: Decay(one / 10 * 8),
        learning_rate: LearningRate { mant: 1, shift: 3 + pick(r, 4) as u8 },
        seed: r.next_u32(),
    };
    (desc, states)
}

fn random_graph(seed: u32) -> RandomGraph {
    let mut r = XorShift32::new(seed | 1);
    let inputs = 2 + pick(&mut r, 7) as u16;
    let np = 1 + pick(&mut r, 4) as usize;
    let mut projections: heapless::Vec<Projection, 16> = heapless::Vec::new();
    let mut add = |p: Projection| {
        let _ = projections.push(p);
    };
    for p in 0..np as u8 {
        let learn = pick(&mut r, 4) != 0;
        if p == 0 {
            add(Projection { source: Source::Input { first: 0, width: inputs }, target: 0, delay: pick(&mut r, 3) as u8, learn, shift: 0, presyn: ProjPresyn::Inherit });
        } else {
            let delay = if pick(&mut r, 2) == 0 { 0 } else { 1 + pick(&mut r, MAX_DELAY as u32) as u8 };
            add(Projection { source: Source::Population(p - 1), target: p, delay, learn, shift: 0, presyn: ProjPresyn::Inherit });
            if pick(&mut r, 2) == 0 {
                let first = pick(&mut r, inputs as u32) as u16;
                let width = 1 + pick(&mut r, (inputs - first) as u32) as u16;
                add(Projection { source: Source::Input { first, width }, target: p, delay: pick(&mut r, 4) as u8, learn: pick(&mut r, 2) == 0, shift: 0, presyn: ProjPresyn::Inherit });
            }
            if pick(&mut r, 4) == 0 {
                // A backward edge needs a delay of at least 1.
                let to = pick(&mut r, p as u32) as u8;
                add(Projection { source: Source::Population(p), target: to, delay: 1 + pick(&mut r, 3) as u8, learn: pick(&mut r, 2) == 0, shift: 0, presyn: ProjPresyn::Inherit });
            }
        }
        if pick(&mut r, 2) == 0 {
            add(Projection { source: Source::Population(p), target: p, delay: 1 + pick(&mut r, MAX_DELAY as u32) as u8, learn: true, shift: 0, presyn: ProjPresyn::Inherit });
        }
    }
    let ro_source = if pick(&mut r, 3) == 0 { pick(&mut r, np as u32) as u8 } else { np as u8 - 1 };
    let mut populations = heapless::Vec::new();
    for p in 0..np {
        let model = pick(&mut r, 3);
        let (l, states) = layer(&mut r, model);
        let symmetric_ok =
            p == ro_source as usize || projections.iter().any(|q| q.delay == 0 && q.source == Source::Population(p as u8));
        let lambda = match pick(&mut r, 4) {
            0 | 1 if symmetric_ok => LambdaSource::Symmetric,
            3 => LambdaSource::External,
            _ => LambdaSource::RandomFeedback { seed: r.next_u32() },
        };
        // A learnt bias needs LIF/ALIF; Loihi's fixed bias replaces its register.
        let bias = match (pick(&mut r, 3), model) {
            (0, _) => BiasMode::None,
            (1, _) | (_, 2) => BiasMode::Fixed,
            _ => BiasMode::Learned,
        };
        populations
            .push(PopulationDesc { neurons: 2 + pick(&mut r, 9) as u16, states, layer: l, lambda, compressed: pick(&mut r, 2) == 0, bias, params: ParamMode::Shared, narrow_weights: false })
            .unwrap();
    }
    let f = Formats::DEFAULT;
    let one = 1u32 << f.decay_frac;
    let window = if pick(&mut r, 2) == 0 { LossWindow::ALWAYS } else { LossWindow { start: pick(&mut r, 5), end: 10 + pick(&mut r, 30) } };
    let outputs = 1 + pick(&mut r, 3) as u16;
    let desc = GraphDesc {
        inputs,
        populations,
        projections,
        readout: ReadoutSpec {
            source: ro_source,
            outputs,
            config: ReadoutConfig {
                formats: f,
                decay: Decay(one / 5 * 4),
                loss: if pick(&mut r, 2) == 0 { Loss::Mse } else { Loss::CrossEntropy },
                learning_rate: LearningRate { mant: 1, shift: 6 },
                seed: r.next_u32(),
            },
        },
        window,
        learn: pick(&mut r, 5) != 0,
    };
    let mut weights = Vec::new();
    for (p, pd) in desc.populations.iter().enumerate() {
        let (a, n) = (desc.axons(p), pd.neurons as usize);
        let scale = 1i32 << (pd.layer.formats.weight_frac - 6);
        let w = |r: &mut XorShift32| Weight(((pick(r, 121) as i32 - 50) * scale) as i16);
        if pd.compressed {
            let (mut rs, mut cols, mut ws) = (vec![0u32], Vec::new(), Vec::new());
            for _ in 0..a {
                for j in 0..n {
                    if pick(&mut r, 2) == 0 {
                        cols.push(j as u16);
                        ws.push(w(&mut r));
                    }
                }
                rs.push(cols.len() as u32);
            }
            weights.push(OwnedW::Csr(rs, cols, ws));
        } else {
            weights.push(OwnedW::Dense((0..a * n).map(|_| w(&mut r)).collect()));
        }
    }
    let biases = desc
        .populations
        .iter()
        .map(|p| match p.bias {
            BiasMode::None => Vec::new(),
            _ => (0..p.neurons).map(|_| pick(&mut r, 1 << 15) as i32 - (1 << 14)).collect(),
        })
        .collect();
    let n_ro = desc.populations[ro_source as usize].neurons as usize;
    let readout = (0..n_ro * outputs as usize).map(|_| Weight(pick(&mut r, 81) as i16 - 40)).collect();
    let stim = Stimulus { seed: r.next_u32() | 1, rate: 1 << 30, steps: 40, target: TargetRule::GroupActivity, amplitude: 1 << 16 };
    // Per-neuron thresholds and decays, drawn from a second generator after everything else, so the
    // graphs of the rest of the description are those of before they existed.
    let mut desc = desc;
    let mut r2 = XorShift32::new(seed.wrapping_mul(0x9E37_79B9) | 1);
    let mut params = Vec::new();
    for pd in desc.populations.iter_mut() {
        // One-byte weight storage for some 8-bit populations.
        pd.narrow_weights = pd.layer.formats.weight_bits <= 8 && pick(&mut r2, 2) == 0;
        if pick(&mut r2, 3) != 0 {
            params.push(Vec::new());
            continue;
        }
        pd.params = ParamMode::PerNeuron;
        let one = 1i64 << pd.layer.formats.decay_frac;
        let th = 1i64 << pd.layer.formats.state_frac;
        params.push(
            (0..pd.neurons)
                .map(|_| match pd.layer.neuron {
                    // V_th in [0.5, 1.5), α_m in [0.75, 1.0), ρ in [0.9, 1.0).
                    NeuronDesc::Lif(_) => NeuronParams {
                        threshold: (th / 2 + pick(&mut r2, th as u32) as i64) as i32,
                        decay: (one * 3 / 4 + pick(&mut r2, (one / 4) as u32) as i64) as u32,
                        adapt: 0,
                    },
                    NeuronDesc::Alif(_) => NeuronParams {
                        threshold: (th / 2 + pick(&mut r2, th as u32) as i64) as i32,
                        decay: (one * 3 / 4 + pick(&mut r2, (one / 4) as u32) as i64) as u32,
                        adapt: (one * 9 / 10 + pick(&mut r2, (one / 10) as u32) as i64) as u32,
                    },
                    NeuronDesc::LoihiCuba(_) => NeuronParams {
                        threshold: 50 + pick(&mut r2, 500) as i32,
                        decay: 100 + pick(&mut r2, 600),
                        adapt: 200 + pick(&mut r2, 800),
                    },
                })
                .collect(),
        );
    }
    // Per-projection weight shifts and STD/STP, from a third generator (the rest of the graph is that of
    // before they existed); kept only if the graph stays valid (a shift or an STD/STP of its own can
    // overflow a population's dendritic sum, which `layout` refuses).
    let mut r3 = XorShift32::new(seed.wrapping_mul(0x85EB_CA6B) | 1);
    if pick(&mut r3, 3) != 0 {
        let mut d2 = desc.clone();
        for q in d2.projections.iter_mut() {
            q.shift = [0, 0, 1, 3, 7][pick(&mut r3, 5) as usize];
            let t = &d2.populations[q.target as usize].layer;
            let one = 1u32 << t.formats.decay_frac;
            if t.presyn == PresynDesc::None && !matches!(t.neuron, NeuronDesc::LoihiCuba(_)) {
                q.presyn = match pick(&mut r3, 4) {
                    0 => ProjPresyn::Inherit,
                    1 => ProjPresyn::None,
                    2 => ProjPresyn::Depression(DepressionParams { decay: Decay(one / 3), u: Efficacy(1 << 14) }),
                    _ => ProjPresyn::Facilitation(FacilitationParams { decay_f: Decay(one / 2), decay_d: Decay(one / 4), u: Efficacy(1 << 13) }),
                };
            }
        }
        if d2.config().and_then(|c| c.layout(&[])).is_ok() {
            desc = d2;
        }
    }
    RandomGraph { desc, weights, biases, params, readout, stim }
}

/// The same graph without per-projection formats (shift 0, STD/STP inherited).
fn plain_formats(mut g: RandomGraph) -> RandomGraph {
    for q in g.desc.projections.iter_mut() {
        q.shift = 0;
        q.presyn = ProjPresyn::Inherit;
    }
    g
}

/// The same graph with shared parameters and two-byte weights everywhere (the per-neuron arrays
/// dropped): what the generator made before those existed.
fn shared(g: RandomGraph) -> RandomGraph {
    let mut g = plain_formats(g);
    for pd in g.desc.populations.iter_mut() {
        pd.params = ParamMode::Shared;
        pd.narrow_weights = false;
    }
    g.params = vec![Vec::new(); g.desc.populations.len()];
    g
}

fn encode(g: &RandomGraph, stim: bool) -> Vec<u8> {
    let ins: Vec<PopWeightsIn<'_>> = g.weights.iter().map(OwnedW::as_in).collect();
    let bs: Vec<&[i32]> = g.biases.iter().map(|b| &b[..]).collect();
    let ps: Vec<&[NeuronParams]> = g.params.iter().map(|b| &b[..]).collect();
    let mut buf = vec![0u8; gimage::encoded_len(&g.desc, &ins, stim)];
    let n = gimage::encode_with_params(&g.desc, &ins, &bs, &ps, &g.readout, stim.then_some(&g.stim), &mut buf).unwrap();
    assert_eq!(n, buf.len());
    buf
}

/// Load an image into freshly allocated pooled buffers; returns the loaded description + the buffers.
/// What `load_pooled` returns: the loaded description and the filled weights, row starts, columns and
/// readout weights.
type Pooled = (gimage::Loaded, Vec<Weight>, Vec<u32>, Vec<u16>, Vec<Weight>, Vec<i32>, Vec<ParamSlot>);

fn load_pooled(bytes: &[u8]) -> Result<Pooled, ImageError> {
    let img = GraphImage::parse(bytes)?;
    let d = img.desc()?;
    let z = img.pooled_sizes(&d)?;
    // A hostile image may declare huge sizes; they are bounded by its own length.
    assert!(z.weights + z.cols + z.row_start + z.readout <= bytes.len() && z.bias <= 8 * 65535);
    let (mut w, mut rs, mut cs, mut ro) = (vec![Weight(0); z.weights], vec![0u32; z.row_start], vec![0u16; z.cols], vec![Weight(0); z.readout]);
    let mut bias = vec![0i32; z.bias];
    assert!(z.params <= 8 * 65535);
    let mut params = vec![ParamSlot::EMPTY; z.params];
    let l = img.load_pooled(PooledStorage { weights: &mut w, row_start: &mut rs, cols: &mut cs, readout: &mut ro, bias: &mut bias, params: &mut params })?;
    Ok((l, w, rs, cs, ro, bias, params))
}

/// The graph built directly from the random description (no image involved).
fn direct_pool(g: &RandomGraph, cfg: &GraphConfig) -> Pool {
    let topo: Vec<Option<Csr<'_>>> = g.weights.iter().map(OwnedW::csr).collect();
    let mut pool = Pool::new(cfg, &topo);
    pool.weights = g.weights.iter().flat_map(|w| w.weights().iter().copied()).collect();
    pool.ro_weights = g.readout.clone();
    let mut off = 0;
    for (pd, b) in g.desc.populations.iter().zip(&g.biases) {
        pool.bias[off..off + b.len()].copy_from_slice(b);
        off += pd.neurons as usize;
    }
    pool.params = cfg
        .populations
        .iter()
        .zip(&g.params)
        .flat_map(|(pop, v)| v.iter().map(|x| ParamSlot::new(&pop.layer, *x).unwrap()))
        .collect();
    pool
}

fn check_round_trip_and_run(seed: u32) -> u32 {
    let g = random_graph(seed);
    let cfg = g.desc.config().expect("generator makes valid graphs");
    let bytes = encode(&g, true);
    // parse → desc / weights / stimulus
    let img = GraphImage::parse(&bytes).unwrap();
    assert_eq!(img.version(), 2);
    let d = img.desc().unwrap();
    assert_eq!(d, g.desc);
    assert_eq!(img.stimulus().unwrap(), Some(g.stim));
    for (p, w) in g.weights.iter().enumerate() {
        match (img.population_weights(&d, p).unwrap(), w) {
            (PopWeights::Dense(x), OwnedW::Dense(y)) => assert_eq!(x.collect::<Vec<_>>(), *y),
            (PopWeights::Compressed(x), OwnedW::Csr(rs, cs, ws)) => {
                assert_eq!(x.row_start().collect::<Vec<_>>(), *rs);
                assert_eq!(x.cols().collect::<Vec<_>>(), *cs);
                assert_eq!(x.weights().collect::<Vec<_>>(), *ws);
            }
            _ => panic!("population {p}: storage kind changed"),
        }
        assert_eq!(img.population_bias(&d, p).unwrap().collect::<Vec<_>>(), g.biases[p], "population {p} biases");
        assert_eq!(img.population_params(&d, p).unwrap().collect::<Vec<_>>(), g.params[p], "population {p} parameters");
    }
    // load into pooled buffers, re-encode from them: the same bytes.
    let (l, w, rs, cs, ro, bias, params) = load_pooled(&bytes).unwrap();
    assert_eq!(l.config, cfg);
    let mut again = Vec::new();
    for p in 0..d.populations.len() {
        let lp = l.layout.pops[p];
        let ws = w[lp.weight_off..lp.weight_off + lp.weights].to_vec();
        again.push(match l.csr[p] {
            Some((a, b, c, e)) => OwnedW::Csr(rs[a..a + b].to_vec(), cs[c..c + e].to_vec(), ws),
            None => OwnedW::Dense(ws),
        });
    }
    assert_eq!(again, g.weights);
    assert_eq!(ro, g.readout);
    let biases_again: Vec<Vec<i32>> = (0..d.populations.len())
        .map(|p| {
            let lp = l.layout.pops[p];
            if d.populations[p].bias == BiasMode::None { Vec::new() } else { bias[lp.neuron_off..lp.neuron_off + lp.neurons].to_vec() }
        })
        .collect();
    assert_eq!(biases_again, g.biases);
    let params_again: Vec<Vec<NeuronParams>> = (0..d.populations.len())
        .map(|p| {
            let lp = l.layout.pops[p];
            if lp.params == ParamMode::Shared { Vec::new() } else { params[lp.param_off..lp.param_off + lp.neurons].iter().map(ParamSlot::values).collect() }
        })
        .collect();
    assert_eq!(params_again, g.params);
    let again = RandomGraph { desc: d.clone(), weights: again, biases: biases_again, params: params_again, readout: ro.clone(), stim: g.stim };
    assert_eq!(encode(&again, true), bytes);

    // run both: the loaded graph and the original, step by step.
    let mut orig = direct_pool(&g, &cfg);
    let topo_o: Vec<Option<Csr<'_>>> = g.weights.iter().map(OwnedW::csr).collect();
    let mut go = orig.view(&cfg, &topo_o);
    let mut loaded = Pool::new(&l.config, &l.topology(&rs, &cs)[..d.populations.len()]);
    loaded.weights = w.clone();
    loaded.ro_weights = ro.clone();
    loaded.bias = bias.clone();
    loaded.params = params.clone();
    let topo_l = l.topology(&rs, &cs);
    let mut gl = loaded.view(&l.config, &topo_l[..d.populations.len()]);
    let (mut ro_run, mut rl_run) = (Runner::new(g.stim), Runner::new(g.stim));
    let mut input = vec![0u16; d.inputs as usize];
    let mut values = vec![0i32; d.readout.outputs as usize];
    for t in 0..g.stim.steps {
        let a = graph::step_graph(&mut ro_run, &mut go, &mut input, &mut values).unwrap();
        let b = graph::step_graph(&mut rl_run, &mut gl, &mut input, &mut values).unwrap();
        assert_eq!(a, b, "seed {seed} step {t}");
        assert_eq!(go.checksum(), gl.checksum(), "seed {seed} step {t}");
    }
    let sum = graph::graph_summary(&ro_run, &go);
    assert_eq!(sum, graph::graph_summary(&rl_run, &gl));
    sum.spikes
}

#[test]
fn random_graphs_cover_the_generator_space() {
    // The property below is only as good as the graphs it sees: check that the generator reaches every
    // case the module docs promise (over the first 300 seeds).
    let (mut pops, mut models, mut compressed, mut dense, mut delays, mut rec, mut presyn, mut wide) =
        ([false; 4], [false; 3], false, false, false, false, [false; 3], false);
    let mut biases = [false; 3];
    let mut per_neuron = [false; 3];
    let mut shared_params = false;
    let (mut shifts, mut own_presyn) = (false, [false; 4]);
    for s in 0..300 {
        let g = random_graph(s);
        g.desc.config().unwrap();
        pops[g.desc.populations.len() - 1] = true;
        for (p, pd) in g.desc.populations.iter().enumerate() {
            models[match pd.layer.neuron {
                NeuronDesc::Lif(_) => 0,
                NeuronDesc::Alif(_) => 1,
                NeuronDesc::LoihiCuba(_) => 2,
            }] = true;
            presyn[match pd.layer.presyn {
                PresynDesc::None => 0,
                PresynDesc::Depression(_) => 1,
                PresynDesc::Facilitation(_) => 2,
            }] = true;
            compressed |= pd.compressed;
            dense |= !pd.compressed;
            wide |= pd.layer.formats.weight_bits == 16;
            rec |= g.desc.projections.iter().any(|q| q.source == Source::Population(p as u8) && q.target as usize == p);
            biases[match pd.bias {
                BiasMode::None => 0,
                BiasMode::Fixed => 1,
                BiasMode::Learned => 2,
            }] = true;
            if pd.params == ParamMode::PerNeuron {
                per_neuron[match pd.layer.neuron {
                    NeuronDesc::Lif(_) => 0,
                    NeuronDesc::Alif(_) => 1,
                    NeuronDesc::LoihiCuba(_) => 2,
                }] = true;
            } else {
                shared_params = true;
            }
        }
        delays |= g.desc.projections.iter().any(|q| q.delay > 1);
        for q in &g.desc.projections {
            shifts |= q.shift > 0;
            own_presyn[match q.presyn {
                ProjPresyn::Inherit => 0,
                ProjPresyn::None => 1,
                ProjPresyn::Depression(_) => 2,
                ProjPresyn::Facilitation(_) => 3,
            }] = true;
        }
    }
    assert!(shifts && own_presyn.iter().all(|&x| x), "per-projection formats: shifts {shifts}, STD/STP kinds {own_presyn:?}");
    assert!(pops.iter().all(|&x| x) && models.iter().all(|&x| x) && presyn.iter().all(|&x| x));
    assert!(compressed && dense && delays && rec && wide && biases.iter().all(|&x| x));
    assert!(shared_params && per_neuron.iter().all(|&x| x), "per-neuron parameters of every model: {per_neuron:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_graphs_round_trip_and_run_bit_identically(seed in any::<u32>()) {
        let _ = check_round_trip_and_run(seed);
    }

    #[test]
    fn random_edits_with_recomputed_crc_never_panic(seed in any::<u32>(), edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let mut b = encode(&random_graph(seed), seed & 1 == 0);
        for (at, v) in edits {
            let n = b.len();
            b[at % n] ^= v | 1;
        }
        fix_crc(&mut b);
        let _ = exercise(&b);
    }
}

fn fix_crc(b: &mut [u8]) {
    let n = b.len();
    if n >= 4 {
        let c = image::crc32(&b[..n - 4]);
        b[n - 4..].copy_from_slice(&c.to_le_bytes());
    }
}

/// Everything a backend does with an image; must return, never panic.
fn exercise(b: &[u8]) -> Result<(), ImageError> {
    let img = GraphImage::parse(b)?;
    let d = img.desc()?;
    let _ = d.config();
    let st = img.stimulus()?;
    let mut dense: Box<Graph<64, 192, 256, 4096, 4, 2048, 64, plasticore_core::format::Weight, 256>> = Box::default();
    let _ = img.load(&mut dense);
    let (l, w, rs, cs, ro, bias, params) = load_pooled(b)?;
    let topo = l.topology(&rs, &cs);
    let np = l.desc.populations.len();
    let mut pool = Pool::new(&l.config, &topo[..np]);
    pool.weights = w;
    pool.ro_weights = ro;
    pool.bias = bias;
    pool.params = params;
    let mut g = pool.view(&l.config, &topo[..np]);
    let mut run = Runner::new(Stimulus { steps: 3, ..st.unwrap_or(Stimulus { seed: 1, rate: 1 << 30, steps: 3, target: TargetRule::GroupActivity, amplitude: 1 << 16 }) });
    let mut input = vec![0u16; l.config.inputs as usize];
    let mut values = vec![0i32; l.config.readout.outputs as usize];
    graph::run_graph(&mut run, &mut g, &mut input, &mut values)?;
    Ok(())
}

/// A fixed two-population image with a compressed population and every section.
fn two_pop_image() -> Vec<u8> {
    (0..)
        .map(random_graph)
        .find(|g| g.desc.populations.len() == 2 && g.desc.populations.iter().any(|p| p.compressed))
        .map(|g| encode(&g, true))
        .unwrap()
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let b = two_pop_image();
    for i in 0..b.len() {
        for bit in 0..8 {
            let mut c = b.clone();
            c[i] ^= 1 << bit;
            assert!(GraphImage::parse(&c).is_err(), "flip of byte {i} bit {bit} was accepted");
        }
    }
}

#[test]
fn every_truncation_is_rejected() {
    let b = two_pop_image();
    for n in 0..b.len() {
        let e = GraphImage::parse(&b[..n]).unwrap_err();
        assert!(matches!(e, ImageError::Truncated { .. } | ImageError::BadLength { .. }), "{n}: {e:?}");
    }
}

#[test]
fn the_version_1_reader_refuses_version_2_naming_it() {
    let b = two_pop_image();
    let e = Image::parse(&b).unwrap_err();
    assert_eq!(e, ImageError::UnsupportedVersion(2));
    assert!(e.to_string().contains("version 2"), "{e}");
    // And the graph reader refuses versions it does not know.
    let mut c = b.clone();
    c[4] = 3;
    fix_crc(&mut c);
    assert_eq!(GraphImage::parse(&c).unwrap_err(), ImageError::UnsupportedVersion(3));
}

fn v1_image(feedback: plasticore_core::readout::Feedback) -> Vec<u8> {
    let mut d = image::example_desc(4, 8, 2, true);
    d.feedback = feedback;
    let mut r = XorShift32::new(5);
    let hidden: Vec<Weight> = (0..12 * 8).map(|k| Weight((r.next_u32() % 101) as i16 - if k < 32 { 20 } else { 50 })).collect();
    let readout: Vec<Weight> = (0..16).map(|_| Weight((r.next_u32() % 41) as i16 - 20)).collect();
    let stim = Stimulus { seed: 9, rate: 1 << 30, steps: 300, target: TargetRule::GroupActivity, amplitude: 1 << 16 };
    let mut buf = vec![0u8; image::encoded_len(&d, true).unwrap()];
    image::encode(&d, &hidden, &readout, Some(&stim), &mut buf).unwrap();
    buf
}

#[test]
fn a_version_1_image_runs_as_a_graph_exactly_like_net() {
    use plasticore_core::readout::Feedback;
    for fb in [Feedback::Symmetric, Feedback::Random { seed: 7 }, Feedback::External] {
        let b = v1_image(fb);
        let img = Image::parse(&b).unwrap();
        let mut net: Box<Net<12, 8, 2, 1>> = Box::default();
        img.load(&mut net).unwrap();
        let stim = img.stimulus().unwrap().unwrap();
        let want = Runner::new(stim).run(&mut net).unwrap();

        let gi = GraphImage::parse(&b).unwrap();
        assert_eq!(gi.version(), 1);
        let mut g: Box<Graph<8, 8, 12, 96, 2, 24>> = Box::default();
        let d = gi.load(&mut g).unwrap();
        assert_eq!(d, GraphDesc::from_net(&img.desc().unwrap()));
        let mut v = g.view().unwrap();
        let got = graph::run_graph(&mut Runner::new(stim), &mut v, &mut [0; 4], &mut [0; 2]).unwrap();
        assert_eq!(got, want, "{fb:?}");
        assert!(want.spikes > 100, "{fb:?}: the comparison needs an active network ({} spikes)", want.spikes);
    }
}

#[test]
fn dense_owner_refuses_compressed_rows_and_a_failed_load_changes_nothing() {
    let b = two_pop_image();
    let img = GraphImage::parse(&b).unwrap();
    let d = img.desc().unwrap();
    let p = d.populations.iter().position(|p| p.compressed).unwrap() as u8;
    let mut g: Box<Graph<64, 192, 256, 4096, 4, 2048>> = Box::default();
    assert_eq!(img.load(&mut g).unwrap_err(), ImageError::Compressed { population: p });
    assert!(g.config().is_none());
    // A dense image into a graph too small for it: a capacity error, and the loaded graph is untouched.
    let v1 = v1_image(plasticore_core::readout::Feedback::Symmetric);
    let gi = GraphImage::parse(&v1).unwrap();
    let mut ok: Box<Graph<8, 8, 12, 96, 2, 24>> = Box::default();
    gi.load(&mut ok).unwrap();
    let before = ok.view().unwrap().checksum();
    let mut small: Box<Graph<8, 8, 12, 95, 2, 24>> = Box::default();
    assert!(matches!(gi.load(&mut small).unwrap_err(), ImageError::Config(_)));
    assert!(small.config().is_none());
    // An out-of-range weight: rejected before the (configured) graph changes.
    let mut bad = v1.clone();
    let img1 = Image::parse(&bad).unwrap();
    let off = (0..img1.section_count()).map(|i| img1.entry(i)).find(|e| e.kind == image::SECTION_HIDDEN_WEIGHTS).unwrap().offset as usize;
    bad[off..off + 2].copy_from_slice(&300i16.to_le_bytes());
    fix_crc(&mut bad);
    assert!(matches!(GraphImage::parse(&bad).unwrap().load(&mut ok).unwrap_err(), ImageError::Config(_)));
    assert_eq!(ok.view().unwrap().checksum(), before);
}

#[test]
fn an_image_loaded_into_a_used_graph_runs_like_a_fresh_load() {
    let b = v1_image(plasticore_core::readout::Feedback::Symmetric);
    let gi = GraphImage::parse(&b).unwrap();
    let stim = gi.stimulus().unwrap().unwrap();
    let run = |g: &mut Graph<8, 8, 12, 96, 2, 24>| {
        let mut v = g.view().unwrap();
        graph::run_graph(&mut Runner::new(stim), &mut v, &mut [0; 4], &mut [0; 2]).unwrap()
    };
    let mut fresh: Box<Graph<8, 8, 12, 96, 2, 24>> = Box::default();
    gi.load(&mut fresh).unwrap();
    let want = run(&mut fresh);
    // `fresh` has now learned (its step counters advanced): load the image again and run it again.
    gi.load(&mut fresh).unwrap();
    assert_eq!(run(&mut fresh), want);
}

// STD/STP capacity for every axon (PS = AX): random graphs give projections STD/STP.
type Dense16 = Graph<64, 192, 256, 4096, 4, 2048, 64, plasticore_core::format::Weight, 256>;
type Dense8 = Graph<64, 192, 256, 4096, 4, 2048, 64, plasticore_core::format::Weight8, 256>;

/// 8-bit weight storage (one byte per synapse) runs every dense random graph whose populations have
/// ≤ 8-bit weights to the same bits as 16-bit storage (checksum and report at every step, learning on),
/// and refuses a graph with a 16-bit population without touching itself.
#[test]
fn eight_bit_weight_storage_runs_like_sixteen_bit_storage() {
    let (mut compared, mut refused) = (0, 0);
    for seed in 0..200 {
        let g = random_graph(seed);
        if g.desc.populations.iter().any(|p| p.compressed) {
            continue;
        }
        let bytes = encode(&g, true);
        let img = GraphImage::parse(&bytes).unwrap();
        let (mut a, mut b): (Box<Dense16>, Box<Dense8>) = (Box::default(), Box::default());
        if g.desc.populations.iter().any(|p| p.layer.formats.weight_bits > 8) {
            assert!(matches!(img.load(&mut b), Err(ImageError::Config(ConfigError::OutOfRange { field: Field::WeightBits, .. }))));
            assert!(b.config().is_none(), "seed {seed}: a refused load configured the graph");
            refused += 1;
            continue;
        }
        img.load(&mut a).unwrap();
        img.load(&mut b).unwrap();
        let (mut va, mut vb) = (a.view().unwrap(), b.view().unwrap());
        let (mut ra, mut rb) = (Runner::new(g.stim), Runner::new(g.stim));
        let mut input = vec![0u16; g.desc.inputs as usize];
        let mut values = vec![0i32; g.desc.readout.outputs as usize];
        for t in 0..g.stim.steps {
            let x = graph::step_graph(&mut ra, &mut va, &mut input, &mut values).unwrap();
            let y = graph::step_graph(&mut rb, &mut vb, &mut input, &mut values).unwrap();
            assert_eq!(x, y, "seed {seed} step {t}");
            assert_eq!(va.checksum(), vb.checksum(), "seed {seed} step {t}");
        }
        for p in 0..g.desc.populations.len() {
            assert!(va.weights(p).iter().zip(vb.weights(p)).all(|(x, y)| x.0 as i32 == y.0 as i32), "seed {seed} population {p}");
        }
        compared += 1;
    }
    assert!(compared >= 10 && refused >= 5, "{compared} graphs compared, {refused} refused");
}

#[test]
fn writer_refuses_invalid_graphs() {
    let g = (0..).map(|s| shared(random_graph(s))).find(|g| g.desc.populations.len() >= 2).unwrap();
    let ins: Vec<PopWeightsIn<'_>> = g.weights.iter().map(OwnedW::as_in).collect();
    let bs: Vec<&[i32]> = g.biases.iter().map(|b| &b[..]).collect();
    let mut buf = vec![0u8; 1 << 16];
    // A delay-0 edge backwards in the update order.
    let mut d = g.desc.clone();
    d.projections.push(Projection { source: Source::Population(1), target: 0, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).ok();
    assert!(gimage::encode(&d, &ins, &bs, &g.readout, None, &mut buf).is_err());
    // Wrong number of weight blocks.
    assert!(gimage::encode(&g.desc, &ins[..1], &bs, &g.readout, None, &mut buf).is_err());
    // A weight out of range.
    let mut w = g.weights.clone();
    let m = match &mut w[0] {
        OwnedW::Dense(x) | OwnedW::Csr(_, _, x) => x,
    };
    if let Some(x) = m.first_mut() {
        x.0 = i16::MAX;
        let ins: Vec<PopWeightsIn<'_>> = w.iter().map(OwnedW::as_in).collect();
        assert!(matches!(gimage::encode(&g.desc, &ins, &bs, &g.readout, None, &mut buf), Err(ImageError::Config(_))));
    }
    // A bias slice of the wrong length, and too many steps.
    if let Some(p) = g.desc.populations.iter().position(|p| p.bias != BiasMode::None) {
        let mut short = bs.clone();
        short[p] = &short[p][1..];
        assert!(gimage::encode(&g.desc, &ins, &short, &g.readout, None, &mut buf).is_err());
    }
    let many = Stimulus { steps: image::MAX_STEPS + 1, ..g.stim };
    assert_eq!(
        gimage::encode(&g.desc, &ins, &bs, &g.readout, Some(&many), &mut buf),
        Err(ImageError::TooManySteps { steps: image::MAX_STEPS + 1 })
    );
    // The buffer too small.
    let n = gimage::encoded_len(&g.desc, &ins, false);
    assert_eq!(gimage::encode(&g.desc, &ins, &bs, &g.readout, None, &mut buf[..n - 1]), Err(ImageError::BufferTooSmall { needed: n }));
    // Per-neuron parameters: missing, of the wrong length, or out of their model's range.
    let g = (0..).map(random_graph).find(|g| g.desc.populations.iter().any(|p| p.params == ParamMode::PerNeuron)).unwrap();
    let p = g.desc.populations.iter().position(|p| p.params == ParamMode::PerNeuron).unwrap();
    let ins: Vec<PopWeightsIn<'_>> = g.weights.iter().map(OwnedW::as_in).collect();
    let bs: Vec<&[i32]> = g.biases.iter().map(|b| &b[..]).collect();
    assert!(matches!(gimage::encode(&g.desc, &ins, &bs, &g.readout, None, &mut buf), Err(ImageError::Config(_))));
    let mut ps: Vec<&[NeuronParams]> = g.params.iter().map(|b| &b[..]).collect();
    ps[p] = &ps[p][1..];
    assert!(gimage::encode_with_params(&g.desc, &ins, &bs, &ps, &g.readout, None, &mut buf).is_err());
    let mut bad = g.params.clone();
    bad[p][0].decay = u32::MAX;
    let ps: Vec<&[NeuronParams]> = bad.iter().map(|b| &b[..]).collect();
    assert!(matches!(gimage::encode_with_params(&g.desc, &ins, &bs, &ps, &g.readout, None, &mut buf), Err(ImageError::Config(_))));
    let ps: Vec<&[NeuronParams]> = g.params.iter().map(|b| &b[..]).collect();
    assert!(gimage::encode_with_params(&g.desc, &ins, &bs, &ps, &g.readout, None, &mut buf).is_ok());
}

#[test]
fn random_round_trip_fixed_seeds() {
    // The property test's body on fixed seeds, so a failure reproduces without proptest.
    let active = (0..24).filter(|&s| check_round_trip_and_run(s) > 0).count();
    // Bit identity of silent networks would prove little: most of these graphs spike.
    assert!(active >= 16, "only {active} of 24 random graphs spiked");
}

/// The fuzz target's seed corpus (`fuzz/seeds-graph/`): valid v2 images of 1, 2 and 4 populations (dense
/// and compressed, with and without a stimulus), a v1 image, and a CRC-fixed edit of each kind of
/// section. `PLASTICORE_UPDATE_SEEDS=1` rewrites them; otherwise the committed files must equal what this
/// writes (so they stay valid as the format evolves).
#[test]
fn fuzz_seeds() {
    // The seeds of before per-neuron parameters existed keep their bytes (`shared`).
    let by_pops = |n: usize, compressed: bool| {
        (0..).map(|s| shared(random_graph(s))).find(|g| g.desc.populations.len() == n && g.desc.populations.iter().any(|p| p.compressed) == compressed).unwrap()
    };
    let narrow = (0..)
        .map(|s| plain_formats(random_graph(s)))
        .find(|g| g.desc.populations.len() == 2 && g.desc.populations.iter().all(|p| p.narrow_weights) && g.desc.populations.iter().any(|p| p.compressed))
        .unwrap();
    let with_params = (0..)
        .map(|s| plain_formats(random_graph(s)))
        .find(|g| g.desc.populations.len() == 2 && g.desc.populations.iter().all(|p| p.params == ParamMode::PerNeuron))
        .unwrap();
    let mut seeds: Vec<(&str, Vec<u8>)> = vec![
        ("v2_one_pop_dense.pcimg", encode(&by_pops(1, false), true)),
        ("v2_two_pop_compressed.pcimg", encode(&by_pops(2, true), true)),
        ("v2_three_pop_dense_no_stimulus.pcimg", encode(&by_pops(3, false), false)),
        ("v2_four_pop_compressed.pcimg", encode(&by_pops(4, true), true)),
        ("v1_lif_recurrent.pcimg", v1_image(plasticore_core::readout::Feedback::Symmetric)),
        ("v2_two_pop_neuron_params.pcimg", encode(&with_params, true)),
        ("v2_narrow_weights.pcimg", encode(&narrow, true)),
    ];
    // Per-projection shifts and STD/STP (every kind) in the PROJECTION_FORMATS section, and a shift of
    // 16 (above `MAX_WEIGHT_SHIFT`) and an unknown STD/STP tag in it.
    let formats = (0..)
        .map(random_graph)
        .find(|g| {
            let q = &g.desc.projections;
            q.len() >= 3
                && q.iter().any(|q| q.shift > 0)
                && q.iter().any(|q| matches!(q.presyn, ProjPresyn::Depression(_) | ProjPresyn::Facilitation(_)))
                && q.iter().any(|q| q.presyn == ProjPresyn::None)
        })
        .unwrap();
    let fbase = encode(&formats, true);
    seeds.push(("v2_projection_formats.pcimg", fbase.clone()));
    let fimg = GraphImage::parse(&fbase).unwrap();
    for (name, at, v) in [("crcfix_projection_shift_16.bin", 0usize, 16u8), ("crcfix_projection_presyn_tag_9.bin", 1, 9)] {
        let mut b = fbase.clone();
        let e = (0..fimg.envelope().section_count()).map(|i| fimg.envelope().entry(i)).find(|e| e.kind == gimage::SECTION_PROJECTION_FORMATS).unwrap();
        b[e.offset as usize + at] = v;
        fix_crc(&mut b);
        seeds.push((name, b));
    }
    // A per-neuron decay above 1.0 (the first neuron's `decay` field, top byte) and a per-neuron
    // parameter flag on a population whose values are not in the image.
    let pbase = encode(&with_params, true);
    let pimg = GraphImage::parse(&pbase).unwrap();
    let entry = |img: &GraphImage<'_>, kind: u16| (0..img.envelope().section_count()).map(|i| img.envelope().entry(i)).find(|e| e.kind == kind).unwrap();
    let mut b = pbase.clone();
    b[entry(&pimg, gimage::SECTION_NEURON_PARAMS).offset as usize + 7] = 0x7f;
    fix_crc(&mut b);
    seeds.push(("crcfix_neuron_params_decay_0x7f.bin", b));
    let base = encode(&by_pops(2, true), true);
    let img = GraphImage::parse(&base).unwrap();
    for (name, kind, at, v) in [
        ("crcfix_graph_population_count_9.bin", gimage::SECTION_GRAPH, 2usize, 9u8),
        ("crcfix_population_lambda_tag_5.bin", gimage::SECTION_POPULATIONS, 3, 5),
        ("crcfix_projection_delay_16.bin", gimage::SECTION_PROJECTIONS, 3, 16),
        ("crcfix_readout_source_7.bin", gimage::SECTION_GRAPH_READOUT, 0, 7),
        ("crcfix_population_weights_byte3_0x7f.bin", gimage::SECTION_POPULATION_WEIGHTS, 3, 0x7f),
        // Population 0's parameter mode (byte 10) set without a NEURON_PARAMS section.
        ("crcfix_population_params_flag_1.bin", gimage::SECTION_POPULATIONS, 10, 1),
    ] {
        let e = (0..img.envelope().section_count()).map(|i| img.envelope().entry(i)).find(|e| e.kind == kind).unwrap();
        let mut b = base.clone();
        b[e.offset as usize + at] = v;
        fix_crc(&mut b);
        seeds.push((name, b));
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds-graph");
    if std::env::var_os("PLASTICORE_UPDATE_SEEDS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, b) in &seeds {
            std::fs::write(dir.join(name), b).unwrap();
        }
    }
    for (name, b) in &seeds {
        let committed = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e} (PLASTICORE_UPDATE_SEEDS=1 writes it)"));
        assert_eq!(&committed, b, "{name} differs from what the generator writes");
        let r = exercise(b);
        assert_eq!(r.is_ok(), name.ends_with(".pcimg"), "{name}: {r:?}");
    }
}
