//! Graph networks on the emulated chip: the emulator equals `plasticore_core::graph::GraphMut` run
//! directly, bit for bit, on random graphs (1–4 populations, feed-forward and recurrent, delays, dense
//! and compressed, LIF / ALIF / Loihi CUBA, STD / STP per population or per projection, per-projection
//! weight shifts, fixed and learnt biases, every learning-signal
//! source, online and learning epochs), for random mappings and 1, 2 and 3 threads, down to the image
//! checksum; routing reaches exactly the cores
//! holding a spike's targets; splitting a population changes cycles and energy, never bits; mapping
//! errors name the population and the limit.

mod common;

use common::fx;
use plasticore_core::format::Weight;
use plasticore_core::graph::{BiasMode, GraphConfig, GraphUpdate, LambdaSource, Population, Projection, ProjPresyn, ReadoutSpec, Source};
use plasticore_core::layer::{LayerConfig, LearningRate};
use plasticore_core::net::{LossWindow, Timestep};
use plasticore_core::prelude::*;
use plasticore_core::readout::Target;
use plasticore_core::rng::XorShift32;
use plasticore_emu::graph::{GraphEmulator, GraphMapping, GraphNetworkSpec, PopSlice, PopWeights};
use plasticore_emu::network::SparseWeights;
use plasticore_emu::observe::{NoObserver, Observer, StepView};
use plasticore_emu::storage::GraphStore;
use plasticore_emu::{presets, EmuError, EmuOptions};
use proptest::prelude::*;

/// A population's layer: model 0 LIF delta, 1 LIF exponential, 2 ALIF delta, 3 ALIF exponential, 4 Loihi
/// CUBA; presyn 0 none, 1 STD, 2 STP (not with Loihi).
fn layer(model: u8, presyn: u8, seed: u32, shift: u8) -> LayerConfig {
    let f = Formats::DEFAULT;
    let d = |x: f64| f.decay(fx(x), Field::Decay).unwrap();
    let sur = SurrogateParams::paper(&f);
    let th = f.voltage(fx(0.4), Field::Threshold).unwrap();
    let syn = if model % 2 == 1 { Synapse::Expon { decay: d(0.7), gain: d(0.4) } } else { Synapse::Delta };
    let neuron = match model {
        0 | 1 => NeuronKind::Lif(
            Lif::new(LifParams { decay: d(0.85), threshold: th, reset: Reset::Soft, detach_reset: false, synapse: syn, surrogate: sur }, &f).unwrap(),
        ),
        2 | 3 => NeuronKind::Alif(
            Alif::new(
                AlifParams {
                    decay: d(0.85),
                    adapt_decay: d(0.9),
                    beta: f.voltage(fx(0.2), Field::Beta).unwrap(),
                    threshold: th,
                    reset: Reset::Hard,
                    detach_reset: false,
                    synapse: syn,
                    surrogate: sur,
                },
                &f,
            )
            .unwrap(),
        ),
        _ => NeuronKind::LoihiCuba(
            LoihiCuba::new(
                LoihiParams { du: 1000, dv: 600, bias_mant: 40, bias_exp: 2, vth_mant: 300, weight_exp: 0, surrogate: sur, wrap: Default::default() },
                &f,
            )
            .unwrap(),
        ),
    };
    let presyn = match (presyn, &neuron) {
        (_, NeuronKind::LoihiCuba(_)) | (0, _) => PresynKind::None,
        (1, _) => PresynKind::Depression(Depression::new(DepressionParams { decay: d(0.8), u: Efficacy(20000) }, &f).unwrap()),
        _ => PresynKind::Facilitation(
            Facilitation::new(FacilitationParams { decay_f: d(0.7), decay_d: d(0.8), u: Efficacy(15000) }, &f).unwrap(),
        ),
    };
    LayerConfig { formats: f, neuron, presyn, trace_decay: d(0.6), learning_rate: LearningRate { mant: 1, shift }, seed }
}

/// A random graph and its stimulus.
#[derive(Clone, Debug)]
struct Case {
    spec: GraphNetworkSpec,
    /// Per step: input events (a channel 0 to 2 times: duplicates overflow active lists, which `GraphMut`
    /// cuts at the axon count), regression targets, external λ.
    steps: Vec<(Vec<u16>, Vec<i32>, Vec<i32>)>,
    /// Per population: slice lengths; core order permutation seed; readout on its own core or shared.
    split_seed: u32,
    own_readout: bool,
}

#[derive(Clone, Debug)]
struct Shape {
    inputs: u16,
    pops: Vec<(u16, u8, u8, u8, bool, u8)>, // neurons, model, presyn, lambda kind, sparse, bias (0 none, 1 fixed, 2 learnt)
    edges: Vec<(u8, u8, u8, bool)>,     // source (0 = input, s + 1 = population s), target, delay, learn
    readout_src: u8,
    outputs: u16,
    window: (u32, u32),
    epoch: u32,
    learn: bool,
    seed: u32,
    steps: usize,
}

fn shape() -> impl Strategy<Value = Shape> {
    (1usize..=4, 1u16..=6)
        .prop_flat_map(|(np, inputs)| {
            (
                Just(inputs),
                prop::collection::vec((1u16..=9, 0u8..5, 0u8..3, 0u8..4, any::<bool>(), 0u8..3), np),
                prop::collection::vec((0u8..=np as u8, 0u8..np as u8, 0u8..3, any::<bool>()), 1..=8),
                0u8..np as u8,
                1u16..=3,
                (0u32..4, 4u32..14),
                prop_oneof![3 => Just(1u32), 1 => Just(3u32)],
                prop_oneof![5 => Just(true), 1 => Just(false)],
                any::<u32>(),
                10usize..22,
            )
        })
        .prop_map(|(inputs, pops, edges, readout_src, outputs, window, epoch, learn, seed, steps)| Shape {
            inputs,
            pops,
            edges,
            readout_src,
            outputs,
            window,
            epoch,
            learn,
            seed,
            steps,
        })
}

/// Build a valid graph from a shape: every population gets an input projection; edges whose delay-0
/// rule fails get delay ≥ 1; a Symmetric population without a signal path becomes RandomFeedback.
fn build(s: &Shape) -> Case {
    let mut rng = XorShift32::new(s.seed | 1);
    let np = s.pops.len();
    let mut pops = heapless::Vec::new();
    for (p, &(n, model, presyn, lam, _, bias)) in s.pops.iter().enumerate() {
        let lambda = match lam {
            0 | 1 => LambdaSource::Symmetric,
            2 => LambdaSource::RandomFeedback { seed: 77 + p as u32 },
            _ => LambdaSource::External,
        };
        // Loihi CUBA has a fixed per-compartment bias only.
        let bias = match (bias, model) {
            (0, _) => BiasMode::None,
            (1, _) | (_, 4) => BiasMode::Fixed,
            _ => BiasMode::Learned,
        };
        pops.push(Population { neurons: n, layer: layer(model, presyn, 1000 + p as u32, 3 + (p as u8 % 3)), lambda, bias, params: plasticore_core::graph::ParamMode::Shared }).unwrap();
    }
    let mut projs: heapless::Vec<Projection, 16> = heapless::Vec::new();
    for p in 0..np {
        let first = (rng.next_u32() % s.inputs as u32) as u16;
        let width = 1 + (rng.next_u32() % (s.inputs - first) as u32) as u16;
        let delay = (rng.next_u32() % 3) as u8;
        projs.push(Projection { source: Source::Input { first, width }, target: p as u8, delay, learn: !rng.next_u32().is_multiple_of(4), shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    }
    // A feed-forward chain with delay 0 half of the time (so the Symmetric backprop crosses cores).
    for p in 1..np {
        if rng.next_u32().is_multiple_of(2) {
            projs.push(Projection { source: Source::Population(p as u8 - 1), target: p as u8, delay: 0, learn: !rng.next_u32().is_multiple_of(4), shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
        }
    }
    for &(src, tgt, delay, learn) in &s.edges {
        if projs.is_full() {
            break;
        }
        let tgt = tgt as usize % np;
        let source = if src == 0 {
            let first = (rng.next_u32() % s.inputs as u32) as u16;
            Source::Input { first, width: s.inputs - first }
        } else {
            Source::Population(((src - 1) as usize % np) as u8)
        };
        let delay = match source {
            Source::Population(q) if delay == 0 && q as usize >= tgt => 1,
            _ => delay,
        };
        projs.push(Projection { source, target: tgt as u8, delay, learn, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    }
    // Per-projection formats: a random weight shift (0 half of the time), and onto a population without a
    // population-wide STD/STP (Loihi CUBA takes none) a random STD/STP of its own or none.
    let d = |x: f64| Formats::DEFAULT.decay(fx(x), Field::Decay).unwrap();
    for q in projs.iter_mut() {
        q.shift = [0, 0, 1, 2, 3, 0][(rng.next_u32() % 6) as usize];
        let t = &pops[q.target as usize];
        if matches!(t.layer.presyn, PresynKind::None) && !matches!(t.layer.neuron, NeuronKind::LoihiCuba(_)) {
            q.presyn = match rng.next_u32() % 4 {
                0 => ProjPresyn::Inherit,
                1 => ProjPresyn::None,
                2 => ProjPresyn::Depression(DepressionParams { decay: d(0.75), u: Efficacy(24000) }),
                _ => ProjPresyn::Facilitation(FacilitationParams { decay_f: d(0.6), decay_d: d(0.85), u: Efficacy(12000) }),
            };
        }
    }
    let readout_src = s.readout_src as usize % np;
    for p in 0..np {
        let has_path = p == readout_src || projs.iter().any(|q| q.delay == 0 && q.source == Source::Population(p as u8));
        if pops[p].lambda == LambdaSource::Symmetric && !has_path {
            pops[p].lambda = LambdaSource::RandomFeedback { seed: 5 };
        }
    }
    let ro_cfg = common::readout_config(31);
    let config = GraphConfig {
        inputs: s.inputs,
        populations: pops,
        projections: projs,
        readout: ReadoutSpec { source: readout_src as u8, outputs: s.outputs, config: ro_cfg },
        window: LossWindow { start: s.window.0, end: s.window.1 },
        learn: s.learn,
    };
    let lay = config.layout(&[]).expect("valid graph");
    let wmax = Formats::DEFAULT.weight_max();
    let mut weights = Vec::new();
    for (p, &(_, _, _, _, sparse, _)) in s.pops.iter().enumerate() {
        let l = lay.pops[p];
        let w = |rng: &mut XorShift32| Weight(((rng.next_u32() % (2 * 90 + 1)) as i32 - 80).clamp(-wmax, wmax) as i16);
        if sparse {
            let mut sw = SparseWeights { row_start: vec![0], ..Default::default() };
            for _ in 0..l.axons {
                for j in 0..l.neurons {
                    if rng.next_u32().is_multiple_of(3) {
                        sw.cols.push(j as u16);
                        sw.weights.push(w(&mut rng));
                    }
                }
                sw.row_start.push(sw.cols.len() as u32);
            }
            weights.push(PopWeights::Sparse(sw));
        } else {
            weights.push(PopWeights::Dense((0..l.axons * l.neurons).map(|_| w(&mut rng)).collect()));
        }
    }
    let n_ro = lay.pops[readout_src].neurons;
    let readout_weights = (0..n_ro * s.outputs as usize).map(|_| Weight(((rng.next_u32() % 61) as i32 - 30) as i16)).collect();
    let bias = config.populations.iter().map(|p| random_bias(p, &mut rng)).collect();
    let spec = GraphNetworkSpec { config, weights, readout_weights, bias, params: Vec::new(), learn_epoch: s.epoch };
    let ext_len: usize = spec.config.populations.iter().filter(|p| p.lambda == LambdaSource::External).map(|p| p.neurons as usize).sum();
    let one = 1i32 << 16;
    let steps = (0..s.steps)
        .map(|_| {
            let ev: Vec<u16> = (0..s.inputs).flat_map(|a| std::iter::repeat_n(a, (rng.next_u32() % 3) as usize)).collect();
            let tg: Vec<i32> = (0..s.outputs).map(|_| (rng.next_u32() % (2 * one as u32)) as i32 - one).collect();
            let ex: Vec<i32> = (0..ext_len).map(|_| (rng.next_u32() % 8192) as i32 - 4096).collect();
            (ev, tg, ex)
        })
        .collect();
    Case { spec, steps, split_seed: rng.next_u32(), own_readout: rng.next_u32().is_multiple_of(2) }
}

/// Random biases for a population (none without a bias): ±0.15 in Q.state_frac for LIF / ALIF (the
/// threshold is 0.4), ±400 raw for Loihi CUBA (its own bias is 40 ≪ 2).
fn random_bias(p: &Population, rng: &mut XorShift32) -> Vec<i32> {
    if p.bias == BiasMode::None {
        return Vec::new();
    }
    let span = if matches!(p.layer.neuron, NeuronKind::LoihiCuba(_)) { 400 } else { (0.15 * 65536.0) as u32 };
    (0..p.neurons).map(|_| (rng.next_u32() % (2 * span + 1)) as i32 - span as i32).collect()
}

/// A random mapping: each population cut at random points, the cores in a random order, the readout on
/// its own core or sharing one.
fn random_mapping(c: &Case) -> GraphMapping {
    let lay = c.spec.validate().unwrap();
    let mut rng = XorShift32::new(c.split_seed | 1);
    let mut cores = Vec::new();
    for p in 0..lay.populations {
        let n = lay.pops[p].neurons;
        let mut first = 0;
        while first < n {
            let len = 1 + (rng.next_u32() as usize % (n - first));
            cores.push(PopSlice { population: p, first, len });
            first += len;
        }
    }
    for i in (1..cores.len()).rev() {
        let j = rng.next_u32() as usize % (i + 1);
        cores.swap(i, j);
    }
    let readout_core = if c.own_readout { cores.len() } else { rng.next_u32() as usize % cores.len() };
    GraphMapping { cores, readout_core, stride: 1 + (rng.next_u32() as usize % 3), placement: Vec::new() }
}

/// Everything compared, per step.
#[derive(Debug, PartialEq)]
struct Snap {
    spikes: Vec<Vec<u16>>,
    loss: Option<i64>,
    state: Vec<Vec<i32>>,
    etrace: Vec<Vec<i32>>,
    fb: Vec<Vec<i32>>,
    bias: Vec<Vec<i32>>,
    weights: Vec<Vec<Weight>>,
    readout_w: Vec<Weight>,
    outputs: Vec<i32>,
}

fn dense_of(spec: &GraphNetworkSpec, p: usize, w: &[Weight], axons: usize, n: usize) -> Vec<Weight> {
    match &spec.weights[p] {
        PopWeights::Dense(_) => w.to_vec(),
        PopWeights::Sparse(s) => {
            let mut d = vec![Weight(0); axons * n];
            for a in 0..axons {
                for k in s.row_start[a] as usize..s.row_start[a + 1] as usize {
                    d[a * n + s.cols[k] as usize] = w[k];
                }
            }
            d
        }
    }
}

/// The reference: `GraphMut` over one pooled store. Returns every step's values, the final ε^x and the
/// final `GraphMut::checksum`.
fn reference(c: &Case) -> (Vec<Snap>, Vec<Vec<u16>>, u32) {
    let spec = &c.spec;
    let topo = spec.topology();
    let lay = spec.config.layout(&topo).unwrap();
    let mut pool_w = Vec::new();
    for w in &spec.weights {
        match w {
            PopWeights::Dense(d) => pool_w.extend_from_slice(d),
            PopWeights::Sparse(s) => pool_w.extend_from_slice(&s.weights),
        }
    }
    let mut store = GraphStore::new(&lay, pool_w, spec.readout_weights.clone(), spec.config.readout.outputs as usize);
    for (p, b) in spec.bias.iter().enumerate() {
        let off = lay.pops[p].neuron_off;
        store.bias[off..off + b.len()].copy_from_slice(b);
    }
    let mut acc = vec![0i32; lay.accumulator];
    let epoch = spec.learn_epoch.max(1);
    let mut out = Vec::new();
    let mut xtraces = Vec::new();
    let mut g = store.view(&spec.config, &topo).unwrap();
    g.reset_state();
    for (t, (ev, tg, ex)) in c.steps.iter().enumerate() {
        let mode = if epoch > 1 { GraphUpdate::Accumulate(&mut acc) } else { GraphUpdate::Online };
        let r = g.step(Timestep(t as u32), ev, Target::Values(tg), ex, mode).unwrap();
        if spec.config.learn && epoch > 1 && (t as u64 + 1).is_multiple_of(epoch as u64) {
            g.apply(&mut acc).unwrap();
        }
        let np = lay.populations;
        out.push(Snap {
            spikes: (0..np).map(|p| g.spikes(p).to_vec()).collect(),
            loss: r.loss_q16,
            state: (0..np).map(|p| g.state(p).to_vec()).collect(),
            etrace: (0..np).map(|p| g.population(p).unwrap().etrace().to_vec()).collect(),
            fb: (0..np).map(|p| g.feedback(p).to_vec()).collect(),
            bias: (0..np).map(|p| if lay.pops[p].bias == BiasMode::None { Vec::new() } else { g.bias(p).to_vec() }).collect(),
            weights: (0..np).map(|p| dense_of(spec, p, g.weights(p), lay.pops[p].axons, lay.pops[p].neurons)).collect(),
            readout_w: g.readout_weights().to_vec(),
            outputs: g.outputs().to_vec(),
        });
    }
    for p in 0..lay.populations {
        xtraces.push(g.population(p).unwrap().xtrace().to_vec());
    }
    let sum = g.checksum();
    (out, xtraces, sum)
}

fn emulate(c: &Case, m: &GraphMapping, threads: usize, timing: bool, obs: &mut dyn Observer) -> (Vec<Snap>, GraphEmulator) {
    let opts = EmuOptions { threads, timing, strict: false };
    // A bounded injection queue, so back-pressure into the cores is exercised (timing only).
    let mut chip = presets::loihi();
    chip.noc.inject_packets = 2;
    let mut e = GraphEmulator::with_mapping(chip, c.spec.clone(), m.clone(), opts).unwrap();
    let np = e.layout().populations;
    let mut out = Vec::new();
    for (t, (ev, tg, ex)) in c.steps.iter().enumerate() {
        let r = e.step(Timestep(t as u32), ev, Target::Values(tg), ex, obs).unwrap();
        out.push(Snap {
            spikes: (0..np).map(|p| e.spikes(p)).collect(),
            loss: r.loss_q16,
            state: (0..np).map(|p| e.gather(p, |c| c.state())).collect(),
            etrace: (0..np).map(|p| e.gather(p, |c| c.etrace())).collect(),
            fb: (0..np).map(|p| e.gather(p, |c| c.feedback())).collect(),
            bias: (0..np).map(|p| e.gather(p, |c| c.bias())).collect(),
            weights: (0..np).map(|p| e.dense_weights(p)).collect(),
            readout_w: e.readout().weights().to_vec(),
            outputs: e.readout().outputs().to_vec(),
        });
    }
    (out, e)
}

/// ε^x of every row with a synapse on a core equals the reference's (rows without one are not stored
/// on that core: it receives no spikes for them).
fn check_xtrace(e: &GraphEmulator, x_ref: &[Vec<u16>]) {
    for c in e.cores() {
        for (a, (&st, &x)) in c.stored().iter().zip(c.xtrace()).enumerate() {
            if st > 0 {
                assert_eq!(x, x_ref[c.population][a], "ε^x of population {} axon {a} on the core at {}", c.population, c.first);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn emulator_equals_graphmut_for_any_mapping_and_thread_count(s in shape()) {
        let c = build(&s);
        let (want, x_ref, sum) = reference(&c);
        let m = random_mapping(&c);
        for threads in [1, 2, 3] {
            let (got, e) = emulate(&c, &m, threads, threads != 2, &mut NoObserver);
            for (t, (g, w)) in got.iter().zip(&want).enumerate() {
                prop_assert_eq!(g, w, "step {} with {} threads, mapping {:?}", t, threads, m);
            }
            check_xtrace(&e, &x_ref);
            // The checksum is defined unless a compressed row has a synapse on no core at all.
            let orphan = (0..e.layout().populations).any(|p| {
                let cs: Vec<_> = e.cores().iter().filter(|k| k.population == p).collect();
                (0..e.layout().pops[p].axons).any(|a| cs.iter().all(|k| k.stored()[a] == 0))
            });
            match e.checksum() {
                Ok(h) => prop_assert_eq!(h, sum, "checksum with {} threads", threads),
                Err(err) => prop_assert!(orphan, "checksum refused without an orphan row: {}", err),
            }
        }
    }
}

/// A fixed three-population graph: 0 → 1 (dense, delay 0), 0 → 2 (sparse, only the first half of 0
/// reaches a synapse, delay 2), 2 → 2 recurrent (delay 1), readout on 1.
fn fixed_case() -> Case {
    let s = Shape {
        inputs: 4,
        pops: vec![(8, 0, 0, 0, false, 0), (6, 2, 0, 0, false, 2), (6, 4, 0, 2, true, 1)],
        edges: vec![],
        readout_src: 1,
        outputs: 2,
        window: (0, 30),
        epoch: 1,
        learn: true,
        seed: 9,
        steps: 20,
    };
    let mut c = build(&s);
    let cfg = &mut c.spec.config;
    cfg.projections.push(Projection { source: Source::Population(0), target: 1, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    cfg.projections.push(Projection { source: Source::Population(0), target: 2, delay: 2, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    cfg.projections.push(Projection { source: Source::Population(2), target: 2, delay: 1, learn: false, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    let lay = cfg.layout(&[]).unwrap();
    let mut rng = XorShift32::new(4);
    let mut weights = Vec::new();
    for p in 0..3 {
        let l = lay.pops[p];
        if p == 2 {
            // Rows of population 0's neurons 4..8 have no synapse (they reach nothing in population 2).
            let block = lay.block[4];
            let mut sw = SparseWeights { row_start: vec![0], ..Default::default() };
            for a in 0..l.axons {
                let silent = a >= block + 4 && a < block + 8;
                for j in 0..l.neurons {
                    if !silent && (a + j) % 2 == 0 {
                        sw.cols.push(j as u16);
                        sw.weights.push(Weight((rng.next_u32() % 81) as i16 - 40));
                    }
                }
                sw.row_start.push(sw.cols.len() as u32);
            }
            weights.push(PopWeights::Sparse(sw));
        } else {
            weights.push(PopWeights::Dense((0..l.axons * l.neurons).map(|_| Weight((rng.next_u32() % 81) as i16 - 40)).collect()));
        }
    }
    c.spec.weights = weights;
    c
}

/// Counts spike packets per (source core, destination core) and learning-signal packets.
#[derive(Default)]
struct PacketLog {
    spike: Vec<(u32, u32, u32)>,
    signal: usize,
    cycles: u64,
    energy: f64,
}
impl Observer for PacketLog {
    fn on_step(&mut self, v: &StepView<'_>) {
        for p in v.packets {
            if p.tag & plasticore_emu::graph::emu::TAG_SIGNAL != 0 {
                self.signal += 1;
            } else {
                self.spike.push((p.src, p.dst, p.tag));
            }
        }
        self.cycles += v.report.cycles.0;
        self.energy += v.report.energy.total();
    }
}

#[test]
fn a_spike_reaches_exactly_the_cores_holding_its_targets() {
    let c = fixed_case();
    // Population 0 on cores 0 (neurons 0..4) and 1 (4..8); population 1 on core 2; population 2 on cores
    // 3 (0..3) and 4 (3..6); the readout on core 5.
    let lens = vec![vec![4, 4], vec![6], vec![3, 3]];
    let m = GraphMapping::from_lengths(&lens, 128);
    let mut log = PacketLog::default();
    let (_, e) = emulate(&c, &m, 1, true, &mut log);
    let routes = e.routes();
    let dsts = |core: usize| routes[core].iter().map(|r| r.dst).collect::<Vec<_>>();
    // Core 0's neurons reach population 1 (dense) and population 2 (sparse rows with synapses on both).
    assert_eq!(dsts(0), vec![2, 3, 4]);
    // Core 1's neurons have no synapse in population 2: only population 1.
    assert_eq!(dsts(1), vec![2]);
    // Population 1 feeds only the readout; population 2 only itself.
    assert_eq!(dsts(2), vec![5]);
    assert_eq!(dsts(3), vec![3, 4]);
    assert_eq!(dsts(4), vec![3, 4]);
    // Every spike of the run left as exactly one packet per destination of its core.
    let mut spikes = 0usize;
    let mut per_src = std::collections::BTreeMap::<u32, Vec<u32>>::new();
    for &(src, dst, tag) in &log.spike {
        per_src.entry(tag * 1000 + src).or_default().push(dst);
    }
    let mut sent_spikes = std::collections::BTreeMap::<usize, usize>::new();
    for (key, d) in &per_src {
        let src = (key % 1000) as usize;
        let g = (key / 1000) as usize;
        let ci = (0..e.cores().len()).find(|&i| m.physical(i) == src).unwrap();
        let want: Vec<u32> = routes[ci].iter().map(|r| m.physical(r.dst) as u32).collect();
        // A neuron may spike several times: its packets come in whole sets of its destinations.
        assert_eq!(d.len() % want.len(), 0, "neuron {g}");
        let mut got = d.clone();
        got.sort_unstable();
        got.dedup();
        assert_eq!(got, want, "neuron {g} from core {ci}");
        *sent_spikes.entry(ci).or_default() += d.len() / want.len();
        spikes += d.len() / want.len();
    }
    assert!(spikes > 20, "the run must spike to test routing ({spikes})");
    assert!(sent_spikes.get(&1).copied().unwrap_or(0) > 0, "core 1 must spike");
}

#[test]
fn splitting_a_population_changes_cycles_and_energy_not_bits() {
    let c = fixed_case();
    let (want, _, _) = reference(&c);
    let whole = GraphMapping::from_lengths(&[vec![8], vec![6], vec![6]], 128);
    let split = GraphMapping::from_lengths(&[vec![2, 2, 2, 2], vec![3, 3], vec![1, 5]], 128).spread(4);
    let (mut l1, mut l2) = (PacketLog::default(), PacketLog::default());
    let (a, _) = emulate(&c, &whole, 1, true, &mut l1);
    let (b, _) = emulate(&c, &split, 2, true, &mut l2);
    assert_eq!(a, want);
    assert_eq!(b, want);
    assert_ne!(l1.cycles, l2.cycles);
    assert_ne!(l1.energy, l2.energy);
    assert!(l2.spike.len() > l1.spike.len(), "more destination cores, more packets");
    assert!(l1.signal > 0 && l2.signal > 0, "learning-signal packets are routed");
}

#[test]
fn a_mapping_error_names_the_population_and_the_limit() {
    let c = fixed_case();
    let mut chip = presets::loihi();
    chip.limits.neurons = 7;
    // Population 0 has 8 neurons: on one core it exceeds the neuron limit.
    let m = GraphMapping::from_lengths(&[vec![8], vec![6], vec![6]], 128);
    let err = GraphEmulator::with_mapping(chip.clone(), c.spec.clone(), m, EmuOptions::default()).err().unwrap();
    assert!(matches!(err, EmuError::PopCapacity { population: 0, limit: "neurons", count: 8, max: 7, .. }), "{err}");
    assert!(err.to_string().contains("population 0"), "{err}");
    // The partitioner splits it instead, and the result is the same network.
    let e = GraphEmulator::new(chip.clone(), c.spec.clone(), EmuOptions::default()).unwrap();
    assert_eq!(e.mapping().cores.iter().filter(|s| s.population == 0).count(), 2);
    // Synapse memory: a limit no slice of population 1 fits names population 1... or 0, whichever
    // comes first in core order; with population 0 tiny it is population 1.
    chip.limits.syn_mem_bits = 1;
    let err = GraphEmulator::new(chip, c.spec.clone(), EmuOptions::default()).err().unwrap();
    assert!(matches!(err, EmuError::PopCapacity { limit: "synapse memory bits", .. }), "{err}");
}

#[test]
fn sparse_axons_and_csr_are_checked() {
    let mut c = fixed_case();
    if let PopWeights::Sparse(s) = &mut c.spec.weights[2] {
        s.weights.pop();
    }
    let err = GraphEmulator::new(presets::loihi(), c.spec.clone(), EmuOptions::default()).err().unwrap();
    assert!(err.to_string().contains("population 2"), "{err}");
}

/// Per step: every compared value plus the timing report (cycles, delays, back-pressure).
fn run_steps(e: &mut GraphEmulator, c: &Case, from: usize, to: usize) -> Vec<(Snap, u64, u64, u64)> {
    let np = e.layout().populations;
    (from..to)
        .map(|t| {
            let (ev, tg, ex) = &c.steps[t % c.steps.len()];
            let r = e.step(Timestep(t as u32), ev, Target::Values(tg), ex, &mut NoObserver).unwrap();
            let s = Snap {
                spikes: (0..np).map(|p| e.spikes(p)).collect(),
                loss: r.loss_q16,
                state: (0..np).map(|p| e.gather(p, |c| c.state())).collect(),
                etrace: (0..np).map(|p| e.gather(p, |c| c.etrace())).collect(),
                fb: (0..np).map(|p| e.gather(p, |c| c.feedback())).collect(),
                bias: (0..np).map(|p| e.gather(p, |c| c.bias())).collect(),
                weights: (0..np).map(|p| e.dense_weights(p)).collect(),
                readout_w: e.readout().weights().to_vec(),
                outputs: e.readout().outputs().to_vec(),
            };
            (s, r.cycles.0, r.delay_cycles, r.blocked)
        })
        .collect()
}

#[test]
fn graph_snapshot_continues_bit_and_cycle_for_cycle() {
    let mut c = fixed_case();
    c.spec.learn_epoch = 3;
    // Contention: every core on its own tile of a 2 x 2 corner, a 1-packet injection queue and 1-packet
    // link buffers, so arbitration decides which packet goes first.
    let mut chip = presets::loihi();
    chip.noc.inject_packets = 1;
    chip.noc.buffer_packets = 1;
    let m = GraphMapping::from_lengths(&[vec![2, 2, 2, 2], vec![3, 3], vec![2, 4]], 128).spread(4);
    let opts = EmuOptions { threads: 2, timing: true, strict: false };
    let mut a = GraphEmulator::with_mapping(chip.clone(), c.spec.clone(), m.clone(), opts).unwrap();
    run_steps(&mut a, &c, 0, 7);
    let path = std::env::temp_dir().join(format!("plasticore-graph-snap-{}.bin", std::process::id()));
    a.save(&path).unwrap();
    let want = run_steps(&mut a, &c, 7, 20);
    assert!(want.iter().map(|w| w.2).sum::<u64>() > 0, "the run must contend for the test to mean something");
    let mut b = GraphEmulator::with_mapping(chip.clone(), c.spec.clone(), m.clone(), opts).unwrap();
    let fresh = b.snapshot_bytes();
    // A damaged file is refused and leaves the chip as it was.
    let mut bytes = std::fs::read(&path).unwrap();
    let k = bytes.len() / 2;
    bytes[k] ^= 0x40;
    assert!(matches!(b.restore_bytes(&bytes), Err(EmuError::Snapshot(_))));
    assert!(b.restore_bytes(&bytes[..bytes.len() - 3]).is_err());
    // A snapshot of the previous format version (2: STD/STP state for every axon) is refused by name.
    let mut old = std::fs::read(&path).unwrap();
    old[8..12].copy_from_slice(&2u32.to_le_bytes());
    match b.restore_bytes(&old) {
        Err(EmuError::Snapshot(m)) => assert!(m.contains("version 2") && m.contains("reads 3"), "{m}"),
        other => panic!("a version-2 snapshot must be refused naming the version, got {other:?}"),
    }
    assert_eq!(b.snapshot_bytes(), fresh);
    // A snapshot of another mapping is refused.
    let other = GraphMapping::from_lengths(&[vec![8], vec![6], vec![6]], 128);
    let mut o = GraphEmulator::with_mapping(chip, c.spec.clone(), other, opts).unwrap();
    assert!(o.load(&path).is_err());
    b.load(&path).unwrap();
    // Everything came back, the routers' arbitration state included.
    assert_eq!(b.snapshot_bytes(), std::fs::read(&path).unwrap());
    let got = run_steps(&mut b, &c, 7, 20);
    assert_eq!(got, want);
    let _ = std::fs::remove_file(&path);
}

/// Today's single-layer network, converted to a one-population graph, runs on the graph path to the same
/// spikes, states, weights and readout as on the single-layer path (dense and sparse, online and epochs).
#[test]
fn single_layer_network_as_a_graph_equals_the_single_layer_path() {
    for (sparse, epoch, threads) in [(false, 1, 1), (true, 1, 2), (false, 4, 3)] {
        let mut net = common::random_net(5 + epoch, 6, 14, Some(2), true, true, false, 40);
        net.sparse = sparse;
        net.learn_epoch = epoch;
        let spec = GraphNetworkSpec::from_network(&net).unwrap();
        let opts = EmuOptions { threads, timing: true, strict: false };
        let mut a = plasticore_emu::Emulator::with_mapping(
            presets::loihi(),
            net.clone(),
            plasticore_emu::mapping::Mapping::from_lengths(&[5, 9], true, 128),
            opts,
        )
        .unwrap();
        let m = GraphMapping::from_lengths(&[vec![9, 5]], 128);
        let mut b = GraphEmulator::with_mapping(presets::loihi(), spec, m, opts).unwrap();
        let ins = common::random_inputs(3, 6, 40, 30);
        let tgs = common::random_targets(4, 2, 40);
        let mut spikes = 0;
        for t in 0..40 {
            let ra = a.step(Timestep(t as u32), &ins[t], Target::Values(&tgs[t]), &mut NoObserver).unwrap();
            let rb = b.step(Timestep(t as u32), &ins[t], Target::Values(&tgs[t]), &[], &mut NoObserver).unwrap();
            assert_eq!(ra.loss_q16, rb.loss_q16, "step {t}");
            assert_eq!(a.last_spikes(), &b.spikes(0)[..], "step {t}");
            spikes += b.spikes(0).len();
            assert_eq!(a.hidden_state(), b.gather(0, |c| c.state()), "step {t}");
            assert_eq!(a.hidden_etrace(), b.gather(0, |c| c.etrace()), "step {t}");
            assert_eq!(a.hidden_weights(), b.dense_weights(0), "step {t}");
            assert_eq!(a.readout().unwrap().weights(), b.readout().weights(), "step {t}");
            assert_eq!(a.readout().unwrap().outputs(), b.readout().outputs(), "step {t}");
        }
        assert!(spikes > 10, "the network must spike ({spikes})");
    }
}

/// A bias array that does not match its population's bias mode is refused with an error naming the
/// population (a bias is never silently dropped or invented).
#[test]
fn a_bias_of_the_wrong_length_is_refused_by_name() {
    let c = fixed_case();
    let m = GraphMapping::from_lengths(&[vec![8], vec![6], vec![6]], 128);
    // Population 1 learns its bias: 6 values; give it 5.
    let mut spec = c.spec.clone();
    spec.bias[1].pop();
    let e = GraphEmulator::with_mapping(presets::loihi(), spec, m.clone(), EmuOptions::default()).err().expect("refused");
    assert!(e.to_string().contains("population 1") && e.to_string().contains("bias"), "{e}");
    // Population 0 has none: giving it one is an error too.
    let mut spec = c.spec.clone();
    spec.bias[0] = vec![1; 8];
    let e = GraphEmulator::with_mapping(presets::loihi(), spec, m, EmuOptions::default()).err().expect("refused");
    assert!(e.to_string().contains("population 0"), "{e}");
}

/// `GraphMut` caps a population's active list at its axon count (only duplicate host events in one step
/// can exceed it) and drops the events beyond the cap, in block order. A core that stores only some of
/// the population's rows sees fewer events; it must still drop exactly the events `GraphMut` drops.
/// Here population 1 (2 neurons, 6 axons: inputs 0..2, then population 0's 4 neurons) receives 3 input
/// events (channel 0 three times) and all 4 spikes of population 0 (a bias of 1.0 makes it fire every
/// step): 7 events, so `GraphMut` drops population 0's neuron 3. Population 0 is split {0} | {1, 2, 3}
/// and neuron 0's row has its only synapse on population 1's second core, so the first core is sent 3
/// spikes and, counting only its own list, would keep neuron 3's.
#[test]
fn duplicate_input_events_are_dropped_as_graphmut_drops_them() {
    let f = Formats::DEFAULT;
    let mut pops = heapless::Vec::new();
    pops.push(Population { neurons: 4, layer: layer(0, 0, 11, 4), lambda: LambdaSource::RandomFeedback { seed: 3 }, bias: BiasMode::Fixed, params: plasticore_core::graph::ParamMode::Shared }).unwrap();
    pops.push(Population { neurons: 2, layer: layer(0, 0, 12, 4), lambda: LambdaSource::Symmetric, bias: BiasMode::None, params: plasticore_core::graph::ParamMode::Shared }).unwrap();
    let mut projections = heapless::Vec::new();
    projections.push(Projection { source: Source::Input { first: 0, width: 4 }, target: 0, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    projections.push(Projection { source: Source::Input { first: 0, width: 2 }, target: 1, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    projections.push(Projection { source: Source::Population(0), target: 1, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    let config = GraphConfig {
        inputs: 4,
        populations: pops,
        projections,
        readout: ReadoutSpec { source: 1, outputs: 1, config: common::readout_config(5) },
        window: LossWindow::ALWAYS,
        learn: true,
    };
    let w = |x: i16| Weight(x);
    // Population 1's rows: inputs 0 and 1 onto both neurons; population 0's neuron 0 onto neuron 1 only,
    // neurons 1..4 onto neuron 0 only.
    let p1 = SparseWeights {
        row_start: vec![0, 2, 4, 5, 6, 7, 8],
        cols: vec![0, 1, 0, 1, 1, 0, 0, 0],
        weights: vec![w(30), w(30), w(20), w(20), w(40), w(50), w(60), w(90)],
    };
    let spec = GraphNetworkSpec {
        config,
        weights: vec![PopWeights::Dense(vec![w(60); 16]), PopWeights::Sparse(p1)],
        readout_weights: vec![w(20), w(-20)],
        bias: vec![vec![1 << f.state_frac; 4], Vec::new()],
        params: Vec::new(),
        learn_epoch: 1,
    };
    let steps = (0..12i32).map(|t| (vec![0u16, 0, 0], vec![(t % 3 - 1) << 15], Vec::new())).collect();
    let c = Case { spec, steps, split_seed: 1, own_readout: true };
    let (want, _, sum) = reference(&c);
    assert!(want.iter().all(|s| s.spikes[0].len() == 4), "population 0 must fire all 4 neurons every step");
    let m = GraphMapping::from_lengths(&[vec![1, 3], vec![1, 1]], 128);
    for threads in [1, 2] {
        let (got, e) = emulate(&c, &m, threads, true, &mut NoObserver);
        // The case is what the test is about: population 0's first core sends only to population 1's
        // second core.
        assert_eq!(e.routes()[0].iter().map(|r| r.dst).collect::<Vec<_>>(), vec![3]);
        for (t, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "step {t}, {threads} threads");
        }
        assert_eq!(e.checksum().unwrap(), sum);
        // One event (population 0's neuron 3 into population 1) dropped per step, counted once.
        assert_eq!(e.saturations().dropped_events, 12);
    }
}
