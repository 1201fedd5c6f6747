//! Networks as graphs (`plasticore_core::graph`): a one-population graph is today's `Net` bit for bit; a
//! two-layer graph learns; the deep learning signals; delays; frozen projections; configuration errors.

mod common;

use fixed::types::I32F32;
use plasticore_core::graph::{BiasMode, 
    Graph, GraphConfig, GraphUpdate, LambdaSource, Population, Projection, ProjPresyn, ReadoutSpec, Source, MAX_DELAY,
};
use plasticore_core::prelude::*;
use plasticore_core::rng::XorShift32;

const I: usize = 8;
const H: usize = 24;
type TestNet = Net<{ I + H }, H, 2, 1>;
/// One population of H neurons, I + H axons, history depth 2.
type OneGraph = Graph<H, H, { I + H }, { (I + H) * H }, 2, { 2 * (I + H) }>;

fn d(x: &str) -> Decay {
    Formats::DEFAULT.decay(I32F32::lit(x), Field::Decay).unwrap()
}

/// The LIF of `tests/common` (α_m = 0.9, V_th = 1, soft reset, delta synapse) with trace decay 0.8.
fn lif_layer(seed: u32, shift: u8) -> LayerConfig {
    LayerConfig {
        trace_decay: d("0.8"),
        learning_rate: LearningRate { mant: 1, shift },
        seed,
        ..common::lif_config(Formats::DEFAULT, 0.9, None, Reset::Soft, false)
    }
}

fn readout_cfg() -> ReadoutConfig {
    ReadoutConfig {
        formats: Formats::DEFAULT,
        decay: d("0.7"),
        loss: Loss::Mse,
        learning_rate: LearningRate { mant: 1, shift: 8 },
        seed: 12,
    }
}

fn lambda_of(fb: Feedback) -> LambdaSource {
    match fb {
        Feedback::Symmetric => LambdaSource::Symmetric,
        Feedback::Random { seed } => LambdaSource::RandomFeedback { seed },
        Feedback::External => LambdaSource::External,
    }
}

/// The same network as a `Net` and as a one-population graph (input projection, delay-1 recurrent
/// projection), with the same random weights.
fn pair(feedback: Feedback) -> (Box<TestNet>, Box<OneGraph>) {
    let window = LossWindow { start: 10, end: 30 };
    let mut n = Box::new(TestNet::new());
    n.configure(NetConfig { layer: lif_layer(11, 7), readout: readout_cfg(), feedback, window, recurrent: true, learn: true })
        .unwrap();
    let mut g = Box::new(OneGraph::new());
    let mut pops = heapless::Vec::new();
    pops.push(Population { neurons: H as u16, layer: lif_layer(11, 7), lambda: lambda_of(feedback), bias: BiasMode::None, params: plasticore_core::graph::ParamMode::Shared }).unwrap();
    let mut projs = heapless::Vec::new();
    projs.push(Projection { source: Source::Input { first: 0, width: I as u16 }, target: 0, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    projs.push(Projection { source: Source::Population(0), target: 0, delay: 1, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    g.configure(GraphConfig {
        inputs: I as u16,
        populations: pops,
        projections: projs,
        readout: ReadoutSpec { source: 0, outputs: 2, config: readout_cfg() },
        window,
        learn: true,
    })
    .unwrap();
    let mut rng = XorShift32::new(3);
    for a in 0..I + H {
        for j in 0..H {
            let span = if a < I { 60 } else { 10 };
            let w = Weight(((rng.next_u32() % (2 * span + 1)) as i32 - span as i32) as i16);
            n.set_weight(a, j, w).unwrap();
            g.set_weight(0, a, j, w).unwrap();
        }
    }
    for j in 0..H {
        for k in 0..2 {
            let w = Weight(((rng.next_u32() % 41) as i32 - 20) as i16);
            n.set_readout_weight(j, k, w).unwrap();
            g.set_readout_weight(j, k, w).unwrap();
        }
    }
    (n, g)
}

fn events(rng: &mut XorShift32, class: usize) -> heapless::Vec<u16, I> {
    let mut ev = heapless::Vec::new();
    for a in 0..I {
        let on = (a < I / 2) == (class == 0);
        if rng.chance(if on { u32::MAX / 5 } else { u32::MAX / 50 }) {
            ev.push(a as u16).unwrap();
        }
    }
    ev
}

fn compare_with_net(feedback: Feedback, accumulate: bool) {
    let (mut n, mut g) = pair(feedback);
    let mut acc_n = Box::new(Accumulator::<{ I + H }, H, 2>::new());
    let mut acc_g = vec![0i32; (I + H) * H + H * 2];
    let mut rng = XorShift32::new(99);
    let one = 1i32 << 16;
    let mut learned = 0u32;
    for s in 0..60 {
        let class = (rng.next_u32() & 1) as usize;
        let target = if class == 0 { [one, -one / 2] } else { [-one / 2, one] };
        let lam: Vec<i32> = (0..H).map(|j| ((j as i32 * 7919 + s) % 2001 - 1000) * 64).collect();
        n.reset_state();
        g.view().unwrap().reset_state();
        for t in 0..30u32 {
            let ev = events(&mut rng, class);
            let (tn, tg, ext): (Target<'_>, Target<'_>, &[i32]) = match feedback {
                Feedback::External => (Target::Lambda(&lam), Target::Lambda(&lam), &lam),
                _ => (Target::Values(&target), Target::Values(&target), &[]),
            };
            let (mn, mg) = if accumulate {
                (UpdateMode::Accumulate(&mut acc_n), GraphUpdate::Accumulate(&mut acc_g))
            } else {
                (UpdateMode::Online, GraphUpdate::Online)
            };
            let rn = n.step(Timestep(t), &ev, tn, mn).unwrap();
            let mut v = g.view().unwrap();
            let rg = v.step(Timestep(t), &ev, tg, ext, mg).unwrap();
            assert_eq!(rn, rg, "step report, sequence {s} step {t}");
            assert_eq!(n.checksum(), v.checksum(), "checksum, sequence {s} step {t}");
            assert_eq!(&n.outputs()[..], v.outputs());
            learned += rn.ops.weight_updates;
        }
        if accumulate {
            let cn = n.apply(&mut acc_n).unwrap();
            let cg = g.view().unwrap().apply(&mut acc_g).unwrap();
            assert_eq!(cn, cg);
        }
    }
    let v = g.view().unwrap();
    assert_eq!(n.weights(), v.weights(0));
    assert_eq!(n.readout_weights(), v.readout_weights());
    // The comparison is about learning networks: weights must have moved.
    assert!(learned > 1000, "only {learned} weight updates");
}

#[test]
fn one_population_graph_equals_net_symmetric_online() {
    compare_with_net(Feedback::Symmetric, false);
}

#[test]
fn one_population_graph_equals_net_random_feedback_online() {
    compare_with_net(Feedback::Random { seed: 5 }, false);
}

#[test]
fn one_population_graph_equals_net_external_lambda() {
    compare_with_net(Feedback::External, false);
}

#[test]
fn one_population_graph_equals_net_accumulate() {
    compare_with_net(Feedback::Symmetric, true);
}

// ---- two layers ----------------------------------------------------------------------------------

const H1: usize = 32;
const H2: usize = 16;
/// inputs → pop 0 (H1, feed-forward) → pop 1 (H2, recurrent) → readout.
type TwoGraph = Graph<{ H1 + H2 }, { H1 + H2 }, { I + H1 + H2 }, { I * H1 + (H1 + H2) * H2 }, 2, { 2 * (I + H1 + H2) }>;

fn two_layer(l0: LambdaSource, l1: LambdaSource, learn0: bool) -> Box<TwoGraph> {
    let mut g = Box::new(TwoGraph::new());
    let mut pops = heapless::Vec::new();
    pops.push(Population { neurons: H1 as u16, layer: lif_layer(21, 7), lambda: l0, bias: BiasMode::None, params: plasticore_core::graph::ParamMode::Shared }).unwrap();
    pops.push(Population { neurons: H2 as u16, layer: lif_layer(22, 7), lambda: l1, bias: BiasMode::None, params: plasticore_core::graph::ParamMode::Shared }).unwrap();
    let mut projs = heapless::Vec::new();
    projs.push(Projection { source: Source::Input { first: 0, width: I as u16 }, target: 0, delay: 0, learn: learn0, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    projs.push(Projection { source: Source::Population(0), target: 1, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    projs.push(Projection { source: Source::Population(1), target: 1, delay: 1, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    g.configure(GraphConfig {
        inputs: I as u16,
        populations: pops,
        projections: projs,
        readout: ReadoutSpec { source: 1, outputs: 2, config: readout_cfg() },
        window: LossWindow { start: 10, end: 30 },
        learn: true,
    })
    .unwrap();
    let mut rng = XorShift32::new(7);
    let mut rand = |span: i32| Weight(((rng.next_u32() % (2 * span as u32 + 1)) as i32 - span) as i16);
    for a in 0..I {
        for j in 0..H1 {
            g.set_weight(0, a, j, rand(60)).unwrap();
        }
    }
    for a in 0..H1 + H2 {
        for j in 0..H2 {
            g.set_weight(1, a, j, rand(if a < H1 { 30 } else { 10 })).unwrap();
        }
    }
    for j in 0..H2 {
        for k in 0..2 {
            g.set_readout_weight(j, k, rand(20)).unwrap();
        }
    }
    g
}

/// Mean loss (Q.16 → f64) of blocks of 40 sequences.
fn train_two(g: &mut TwoGraph, sequences: usize) -> Vec<f64> {
    let mut rng = XorShift32::new(99);
    let one = 1i32 << 16;
    let (mut blocks, mut sum, mut cnt) = (Vec::new(), 0i64, 0i64);
    for s in 0..sequences {
        let class = (rng.next_u32() & 1) as usize;
        let target = if class == 0 { [one, -one / 2] } else { [-one / 2, one] };
        let mut v = g.view().unwrap();
        v.reset_state();
        for t in 0..30u32 {
            let ev = events(&mut rng, class);
            let r = v.step(Timestep(t), &ev, Target::Values(&target), &[], GraphUpdate::Online).unwrap();
            if let Some(l) = r.loss_q16 {
                sum += l;
                cnt += 1;
            }
        }
        if (s + 1) % 40 == 0 {
            blocks.push(sum as f64 / 65536.0 / cnt as f64);
            (sum, cnt) = (0, 0);
        }
    }
    blocks
}

fn reduction(b: &[f64]) -> f64 {
    b[0] / (b[b.len() - 3..].iter().sum::<f64>() / 3.0)
}

#[test]
fn two_layer_graph_learns_with_symmetric_backprop() {
    let mut g = two_layer(LambdaSource::Symmetric, LambdaSource::Symmetric, true);
    let w0 = g.view().unwrap().weights(0).to_vec();
    let b = train_two(&mut g, 400);
    eprintln!("two-layer symmetric: {b:?}, {:.1}x", reduction(&b));
    assert!(reduction(&b) >= 4.0, "{b:?}");
    // The first layer learned through the downstream projection's transposed weights.
    assert_ne!(g.view().unwrap().weights(0), &w0[..]);
}

#[test]
fn two_layer_graph_learns_with_random_feedback() {
    let mut g = two_layer(LambdaSource::RandomFeedback { seed: 31 }, LambdaSource::RandomFeedback { seed: 32 }, true);
    let b = train_two(&mut g, 400);
    eprintln!("two-layer random feedback: {b:?}, {:.1}x", reduction(&b));
    assert!(reduction(&b) >= 4.0, "{b:?}");
}

#[test]
fn frozen_projection_keeps_its_weights_and_traces() {
    let mut g = two_layer(LambdaSource::Symmetric, LambdaSource::Symmetric, false);
    let w0 = g.view().unwrap().weights(0).to_vec();
    let w1 = g.view().unwrap().weights(1).to_vec();
    train_two(&mut g, 40);
    let mut v = g.view().unwrap();
    assert_eq!(v.weights(0), &w0[..], "the frozen input projection moved");
    assert_ne!(v.weights(1), &w1[..], "the plastic projections did not learn");
    assert!(v.population(0).unwrap().xtrace().iter().all(|&x| x == 0), "a frozen projection kept ε^x");
}

/// Symmetric λ of the first layer against the within-step backprop of §4.1 in f64 on the same integers.
/// For LIF with a delta synapse (∂V/∂y = 1), ∂L/∂s_{0,j} = Σ_i W_{j→i}·λ_{1,i} with
/// λ_{1,i} = ψ_{1,i}·fb_{1,i} (the layer's own signal). The fixed-point path rounds each λ_{1,i} to
/// Q.16 (error ≤ ½ LSB), sums exactly, and rounds the sum once (≤ ½ LSB): so
/// |fb_fixed − fb_exact| ≤ ½·Σ_i |W_{j→i}|·2^−weight_frac + ½ LSB, checked for every neuron and step.
#[test]
fn symmetric_deep_signal_matches_float_backprop_within_rounding() {
    let mut g = two_layer(LambdaSource::Symmetric, LambdaSource::Symmetric, true);
    let mut rng = XorShift32::new(5);
    let one = 1i32 << 16;
    let wf = Formats::DEFAULT.weight_frac as i32;
    let mut checked = 0;
    for s in 0..20 {
        let class = s % 2;
        let target = if class == 0 { [one, -one / 2] } else { [-one / 2, one] };
        let mut v = g.view().unwrap();
        v.reset_state();
        for t in 0..30u32 {
            let ev = events(&mut rng, class);
            // Weights before this step's learning: the backprop reads them before the update.
            let w1 = v.weights(1).to_vec();
            v.step(Timestep(t), &ev, Target::Values(&target), &[], GraphUpdate::Online).unwrap();
            if !(10..30).contains(&t) {
                continue;
            }
            let (psi0, fb0, psi1, fb1) = (v.psi(0).to_vec(), v.feedback(0).to_vec(), v.psi(1).to_vec(), v.feedback(1).to_vec());
            for j in 0..H1 {
                if psi0[j] == 0 {
                    continue;
                }
                let (mut exact, mut bound) = (0.0f64, 0.5f64);
                for i in 0..H2 {
                    let w = w1[j * H2 + i].0 as f64;
                    let lam = psi1[i] as f64 * fb1[i] as f64 / 65536.0;
                    exact += w * lam / (1 << wf) as f64;
                    bound += 0.5 * w.abs() / (1 << wf) as f64;
                }
                let err = (fb0[j] as f64 - exact).abs();
                assert!(err <= bound, "seq {s} step {t} neuron {j}: fixed {} vs exact {exact} (bound {bound})", fb0[j]);
                checked += 1;
            }
        }
    }
    assert!(checked > 200, "only {checked} neurons had ψ ≠ 0");
}

#[test]
fn random_feedback_is_reproducible_from_its_seed() {
    let run = |seed: u32| {
        let mut g = two_layer(LambdaSource::RandomFeedback { seed }, LambdaSource::RandomFeedback { seed: seed + 1 }, true);
        train_two(&mut g, 40);
        g.view().unwrap().checksum()
    };
    assert_eq!(run(31), run(31));
    assert_ne!(run(31), run(32));
}

#[test]
fn a_projection_delivers_after_its_delay() {
    for delay in [0u8, 1, 3, MAX_DELAY] {
        // One input channel → one neuron with a weight far above threshold: it spikes exactly `delay`
        // steps after the input event.
        const D: usize = MAX_DELAY as usize + 1;
        let mut g = Box::new(Graph::<1, 1, 1, 1, 1, { D * 2 }>::new());
        let mut pops = heapless::Vec::new();
        pops.push(Population { neurons: 1, layer: lif_layer(1, 7), lambda: LambdaSource::Symmetric, bias: BiasMode::None, params: plasticore_core::graph::ParamMode::Shared }).unwrap();
        let mut projs = heapless::Vec::new();
        projs.push(Projection { source: Source::Input { first: 0, width: 1 }, target: 0, delay, learn: false, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
        g.configure(GraphConfig {
            inputs: 1,
            populations: pops,
            projections: projs,
            readout: ReadoutSpec { source: 0, outputs: 1, config: readout_cfg() },
            window: LossWindow { start: 0, end: 0 },
            learn: false,
        })
        .unwrap();
        g.set_weight(0, 0, 0, Weight(127)).unwrap();
        let mut v = g.view().unwrap();
        let mut fired = Vec::new();
        for t in 0..40u32 {
            let ev: &[u16] = if t == 5 { &[0] } else { &[] };
            v.step(Timestep(t), ev, Target::None, &[], GraphUpdate::Online).unwrap();
            if !v.spikes(0).is_empty() {
                fired.push(t);
            }
        }
        assert_eq!(fired, vec![5 + delay as u32], "delay {delay}");
    }
}

fn base_config() -> GraphConfig {
    let mut pops = heapless::Vec::new();
    pops.push(Population { neurons: 4, layer: lif_layer(1, 7), lambda: LambdaSource::Symmetric, bias: BiasMode::None, params: plasticore_core::graph::ParamMode::Shared }).unwrap();
    pops.push(Population { neurons: 4, layer: lif_layer(2, 7), lambda: LambdaSource::Symmetric, bias: BiasMode::None, params: plasticore_core::graph::ParamMode::Shared }).unwrap();
    let mut projs = heapless::Vec::new();
    projs.push(Projection { source: Source::Input { first: 0, width: 4 }, target: 0, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    projs.push(Projection { source: Source::Population(0), target: 1, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    GraphConfig {
        inputs: 4,
        populations: pops,
        projections: projs,
        readout: ReadoutSpec { source: 1, outputs: 2, config: readout_cfg() },
        window: LossWindow::ALWAYS,
        learn: true,
    }
}

#[test]
fn configuration_errors_name_the_field() {
    assert!(base_config().layout(&[]).is_ok());
    // A delay-0 edge backwards in the update order.
    let mut c = base_config();
    c.projections.push(Projection { source: Source::Population(1), target: 0, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    assert_eq!(c.layout(&[]), Err(ConfigError::Inconsistent { field: Field::Delay, with: Field::Population }));
    // The same edge with a delay is fine (recurrence through the delay).
    c.projections[2].delay = 1;
    assert!(c.layout(&[]).is_ok());
    // A delay beyond the maximum.
    let mut c = base_config();
    c.projections[1].delay = MAX_DELAY + 1;
    assert!(matches!(c.layout(&[]), Err(ConfigError::OutOfRange { field: Field::Delay, .. })));
    // Input channels beyond the graph's inputs.
    let mut c = base_config();
    c.projections[0].source = Source::Input { first: 2, width: 4 };
    assert!(matches!(c.layout(&[]), Err(ConfigError::OutOfRange { field: Field::Axons, .. })));
    // A Symmetric population that reaches neither the readout nor a downstream population.
    let mut c = base_config();
    c.projections[1].delay = 1;
    assert_eq!(c.layout(&[]), Err(ConfigError::Inconsistent { field: Field::Feedback, with: Field::Population }));
    // A target that does not exist.
    let mut c = base_config();
    c.projections[1].target = 5;
    assert!(matches!(c.layout(&[]), Err(ConfigError::OutOfRange { field: Field::Projection, .. })));
    // A population without inputs.
    let mut c = base_config();
    c.projections.pop();
    assert!(matches!(c.layout(&[]), Err(ConfigError::OutOfRange { field: Field::Axons, .. })));
    // Too large for the owner's capacity: nothing changes.
    let mut small = Box::new(Graph::<4, 4, 4, 16, 2, 8>::new());
    assert!(matches!(small.configure(base_config()), Err(ConfigError::OutOfRange { field: Field::Neurons, .. })));
    assert!(small.config().is_none());
}

#[test]
fn external_lambda_of_the_wrong_length_is_an_error() {
    let mut g = two_layer(LambdaSource::External, LambdaSource::Symmetric, true);
    let mut v = g.view().unwrap();
    assert_eq!(v.external_len(), H1);
    let r = v.step(Timestep(12), &[], Target::None, &[0; 3], GraphUpdate::Online);
    assert_eq!(r, Err(ConfigError::SizeMismatch { field: Field::Feedback, expected: H1, found: 3 }));
}

// ---- biases ----------------------------------------------------------------------------------------

/// One LIF neuron (α_m = 0.9, V_th = 1) with no input and a fixed bias b:
/// V_t = round(0.9·(V_{t−1} − s_{t−1}·V_th)) + b, computed here step by step on the same integers.
#[test]
fn a_fixed_bias_drives_the_membrane_as_an_input_would() {
    let mut g = Box::new(Graph::<1, 1, 1, 1, 1, 2>::new());
    let mut pops = heapless::Vec::new();
    pops.push(Population { neurons: 1, layer: lif_layer(1, 7), lambda: LambdaSource::Symmetric, bias: BiasMode::Fixed, params: plasticore_core::graph::ParamMode::Shared }).unwrap();
    let mut projs = heapless::Vec::new();
    projs.push(Projection { source: Source::Input { first: 0, width: 1 }, target: 0, delay: 0, learn: false, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    g.configure(GraphConfig {
        inputs: 1,
        populations: pops,
        projections: projs,
        readout: ReadoutSpec { source: 0, outputs: 1, config: readout_cfg() },
        window: LossWindow { start: 0, end: 0 },
        learn: false,
    })
    .unwrap();
    let b = 15_000; // 0.229 in Q.16
    g.set_bias(0, 0, b).unwrap();
    let alpha = d("0.9").0 as i64;
    let (mut v, mut spiked_prev) = (0i64, false);
    let mut spikes = 0;
    let mut view = g.view().unwrap();
    for t in 0..60u32 {
        view.step(Timestep(t), &[], Target::None, &[], GraphUpdate::Online).unwrap();
        // Soft reset of the previous step's spike, leak (nearest), bias.
        let base = if spiked_prev { v - (1 << 16) } else { v };
        v = ((base * alpha + (1 << 23)) >> 24) + b as i64;
        let spike = v > 1 << 16;
        assert_eq!(view.state(0)[0] as i64, v, "step {t}");
        assert_eq!(!view.spikes(0).is_empty(), spike, "step {t}");
        spikes += spike as u32;
        spiked_prev = spike;
    }
    assert!(spikes >= 5, "the bias should make the neuron fire regularly ({spikes} spikes)");
}

#[test]
fn bias_configuration_is_checked() {
    let mut c = base_config();
    c.populations[0].bias = BiasMode::Learned;
    assert!(c.layout(&[]).is_ok());
    let lay = c.layout(&[]).unwrap();
    assert_eq!(lay.pops[0].acc_len, lay.pops[0].weights + 4);
    assert_eq!(lay.accumulator, lay.weights + 4 + lay.readout_weights);
    let mut g = Box::new(Graph::<8, 8, 8, 32, 2, 16>::new());
    g.configure(base_config()).unwrap();
    assert_eq!(g.set_bias(0, 0, 1), Err(ConfigError::Unsupported { field: Field::Population }));
}

/// A learnt bias moves with the population's weights and only when learning is on.
#[test]
fn a_learned_bias_moves_while_learning() {
    let mut g = two_layer(LambdaSource::Symmetric, LambdaSource::Symmetric, true);
    let mut cfg = g.config().unwrap().clone();
    cfg.populations[1].bias = BiasMode::Learned;
    let mut g2 = Box::new(TwoGraph::new());
    g2.configure(cfg).unwrap();
    for p in 0..2 {
        let w = g.view().unwrap().weights(p).to_vec();
        let l = g.view().unwrap().layout().pops[p];
        for (q, w) in w.iter().enumerate() {
            g2.set_weight(p, q / l.neurons, q % l.neurons, *w).unwrap();
        }
    }
    let rw = g.view().unwrap().readout_weights().to_vec();
    for (q, w) in rw.iter().enumerate() {
        g2.set_readout_weight(q / 2, q % 2, *w).unwrap();
    }
    train_two(&mut g2, 40);
    let v = g2.view().unwrap();
    assert!(v.bias(1).iter().any(|&b| b != 0), "the learnable bias did not move");
    assert!(v.bias(0).iter().all(|&b| b == 0), "population 0 has no bias");
}

/// One learning step (a loss window of one step), online against accumulate-then-apply: both round the
/// same exact Δb (and ΔW) stochastically once, so they differ by at most one unit, and the biases must
/// have moved by far more than that for the comparison to mean anything.
#[test]
fn online_and_accumulated_bias_steps_agree_to_one_unit() {
    let build = || {
        let g0 = two_layer(LambdaSource::Symmetric, LambdaSource::Symmetric, true);
        let mut cfg = g0.config().unwrap().clone();
        cfg.populations[1].bias = BiasMode::Learned;
        cfg.populations[0].bias = BiasMode::Learned;
        cfg.window = LossWindow { start: 12, end: 13 };
        // A large rate (η = 1) so one step moves biases by many units.
        for p in cfg.populations.iter_mut() {
            p.layer.learning_rate = LearningRate { mant: 1, shift: 0 };
        }
        let mut g = Box::new(TwoGraph::new());
        g.configure(cfg).unwrap();
        let mut g0 = g0;
        let v0 = g0.view().unwrap();
        for p in 0..2 {
            let l = v0.layout().pops[p];
            for (q, w) in v0.weights(p).iter().enumerate() {
                g.set_weight(p, q / l.neurons, q % l.neurons, *w).unwrap();
            }
        }
        for (q, w) in v0.readout_weights().iter().enumerate() {
            g.set_readout_weight(q / 2, q % 2, *w).unwrap();
        }
        g
    };
    let (mut on, mut ac) = (build(), build());
    let lay = *ac.view().unwrap().layout();
    let mut acc = vec![0i32; lay.accumulator];
    let one = 1i32 << 16;
    let target = [one, -one / 2];
    let mut rng = XorShift32::new(4);
    let evs: Vec<_> = (0..20).map(|_| events(&mut rng, 0)).collect();
    let (mut vo, mut va) = (on.view().unwrap(), ac.view().unwrap());
    for (t, ev) in evs.iter().enumerate() {
        vo.step(Timestep(t as u32), ev, Target::Values(&target), &[], GraphUpdate::Online).unwrap();
        va.step(Timestep(t as u32), ev, Target::Values(&target), &[], GraphUpdate::Accumulate(&mut acc)).unwrap();
    }
    va.apply(&mut acc).unwrap();
    let mut moved = 0;
    for p in 0..2 {
        for (a, b) in vo.bias(p).iter().zip(va.bias(p)) {
            assert!((a - b).abs() <= 1, "population {p}: online bias {a} vs accumulated {b}");
            moved += (a.abs() > 8) as usize;
        }
        for (a, b) in vo.weights(p).iter().zip(va.weights(p)) {
            assert!((a.0 - b.0).abs() <= 1, "population {p}: weights {a:?} vs {b:?}");
        }
    }
    assert!(moved >= 4, "only {moved} biases moved by more than 8 units");
}

fn loihi_layer(bias_mant: i16, bias_exp: u8, vth_mant: u32) -> LayerConfig {
    let f = Formats::DEFAULT;
    let m = LoihiCuba::new(
        LoihiParams { du: 400, dv: 200, bias_mant, bias_exp, vth_mant, weight_exp: 0, surrogate: SurrogateParams::paper(&f), wrap: Default::default() },
        &f,
    )
    .unwrap();
    LayerConfig {
        formats: f,
        neuron: NeuronKind::LoihiCuba(m),
        presyn: PresynKind::None,
        trace_decay: d("0.8"),
        learning_rate: LearningRate { mant: 1, shift: 7 },
        seed: 3,
    }
}

type LoihiGraph = Graph<H, { 2 * H }, I, { I * H }, 2, { 2 * (I + H) }>;

fn loihi_graph(layer: LayerConfig, bias: BiasMode) -> Box<LoihiGraph> {
    let mut g = Box::new(LoihiGraph::new());
    let mut pops = heapless::Vec::new();
    pops.push(Population { neurons: H as u16, layer, lambda: LambdaSource::Symmetric, bias, params: plasticore_core::graph::ParamMode::Shared }).unwrap();
    let mut projs = heapless::Vec::new();
    projs.push(Projection { source: Source::Input { first: 0, width: I as u16 }, target: 0, delay: 0, learn: false, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    g.configure(GraphConfig {
        inputs: I as u16,
        populations: pops,
        projections: projs,
        readout: ReadoutSpec { source: 0, outputs: 2, config: readout_cfg() },
        window: LossWindow { start: 0, end: 0 },
        learn: false,
    })
    .unwrap();
    let mut rng = XorShift32::new(8);
    for a in 0..I {
        for j in 0..H {
            g.set_weight(0, a, j, Weight(((rng.next_u32() % 201) as i32 - 100) as i16)).unwrap();
        }
    }
    g
}

/// Loihi's per-compartment bias: an array equal to the register's `bias_mant ≪ bias_exp` everywhere gives
/// the register's bits; removing it from the odd compartments changes exactly those.
#[test]
fn loihi_per_compartment_bias_replaces_the_register() {
    let (mant, exp) = (300i16, 3u8);
    let mut reg = loihi_graph(loihi_layer(mant, exp, 200), BiasMode::None);
    let mut arr = loihi_graph(loihi_layer(0, 0, 200), BiasMode::Fixed);
    let mut odd = loihi_graph(loihi_layer(0, 0, 200), BiasMode::Fixed);
    for j in 0..H {
        arr.set_bias(0, j, (mant as i32) << exp).unwrap();
        odd.set_bias(0, j, if j % 2 == 1 { 0 } else { (mant as i32) << exp }).unwrap();
    }
    let mut rng = XorShift32::new(2);
    let (mut vr, mut va, mut vo) = (reg.view().unwrap(), arr.view().unwrap(), odd.view().unwrap());
    let (mut spikes, mut differed) = (0, 0);
    for t in 0..100u32 {
        let ev: Vec<u16> = (0..I as u16).filter(|_| rng.chance(u32::MAX / 5)).collect();
        for v in [&mut vr, &mut va, &mut vo] {
            v.step(Timestep(t), &ev, Target::None, &[], GraphUpdate::Online).unwrap();
        }
        assert_eq!(vr.state(0), va.state(0), "step {t}");
        assert_eq!(vr.spikes(0), va.spikes(0), "step {t}");
        for j in 0..H {
            if j % 2 == 0 {
                assert_eq!(vr.state(0)[2 * j..2 * j + 2], vo.state(0)[2 * j..2 * j + 2], "step {t} neuron {j}");
            } else {
                differed += (vr.state(0)[2 * j] != vo.state(0)[2 * j]) as u32;
            }
        }
        spikes += vr.spikes(0).len();
    }
    assert!(spikes > 50, "{spikes} spikes: the comparison needs activity");
    assert!(differed > 200, "compartments without their bias differed on only {differed} neuron-steps");
}

/// vth = 0 is accepted, as Lava accepts it: a compartment spikes whenever v > 0 (and is reset to 0).
#[test]
fn loihi_zero_threshold_is_accepted_and_spikes_on_positive_v() {
    let mut g = loihi_graph(loihi_layer(1, 0, 0), BiasMode::None);
    let mut v = g.view().unwrap();
    for t in 0..5u32 {
        v.step(Timestep(t), &[], Target::None, &[], GraphUpdate::Online).unwrap();
        // bias 1 each step, no input: v = 1 > 0 → spike and reset every step.
        assert_eq!(v.spikes(0).len(), H, "step {t}");
        assert!(v.state(0).chunks(2).all(|s| s[0] == 0));
    }
}

/// `GraphMut::set_rounding` reaches the population's weight loop: an explicit Stochastic run equals the
/// default bit for bit, Truncate (which never rounds a sub-LSB update away from 0) moves fewer weights,
/// and a population index out of range is an error. (The modes' arithmetic: `tests/rounding.rs`.)
#[test]
fn graph_rounding_is_set_per_population() {
    fn run(mode: Option<plasticore_core::Rounding>) -> Vec<Weight> {
        let (_, mut g) = pair(Feedback::Symmetric);
        let mut rng = XorShift32::new(5);
        let one = 1i32 << 16;
        let mut v = g.view().unwrap();
        if let Some(m) = mode {
            v.set_rounding(0, m).unwrap();
        }
        for t in 0..30u32 {
            let ev = events(&mut rng, (t % 2) as usize);
            v.step(Timestep(t), &ev, Target::Values(&[one, -one / 2]), &[], GraphUpdate::Online).unwrap();
        }
        v.weights(0).to_vec()
    }
    let (_, mut init) = pair(Feedback::Symmetric);
    let w0 = init.view().unwrap().weights(0).to_vec();
    let moved = |w: &[Weight]| w.iter().zip(&w0).filter(|(a, b)| a != b).count();
    let stochastic = run(None);
    assert_eq!(run(Some(plasticore_core::Rounding::Stochastic)), stochastic, "explicit Stochastic = default");
    let truncated = run(Some(plasticore_core::Rounding::Truncate));
    assert!(moved(&stochastic) > 0, "the stochastic run must learn");
    assert!(moved(&truncated) < moved(&stochastic), "Truncate must reach the population's loop");
    let (_, mut g) = pair(Feedback::Symmetric);
    assert!(g.view().unwrap().set_rounding(1, plasticore_core::Rounding::Nearest).is_err(), "population 1 does not exist");
}

/// `GraphMut::set_readout_rounding` reaches the readout's weight loop: an explicit Stochastic run equals
/// the default bit for bit and Truncate moves fewer readout weights. Mutation tried: the setter not
/// applied in `GraphMut::step` (Truncate = Stochastic there, fails).
#[test]
fn graph_readout_rounding_reaches_the_readout() {
    fn run(mode: Option<plasticore_core::Rounding>) -> Vec<Weight> {
        let (_, mut g) = pair(Feedback::Symmetric);
        let mut rng = XorShift32::new(5);
        let one = 1i32 << 16;
        let mut v = g.view().unwrap();
        if let Some(m) = mode {
            v.set_readout_rounding(m);
        }
        for t in 0..30u32 {
            let ev = events(&mut rng, (t % 2) as usize);
            v.step(Timestep(t), &ev, Target::Values(&[one, -one / 2]), &[], GraphUpdate::Online).unwrap();
        }
        v.readout().unwrap().weights().to_vec()
    }
    let (_, mut init) = pair(Feedback::Symmetric);
    let w0 = init.view().unwrap().readout().unwrap().weights().to_vec();
    let moved = |w: &[Weight]| w.iter().zip(&w0).filter(|(a, b)| a != b).count();
    let stochastic = run(None);
    assert_eq!(run(Some(plasticore_core::Rounding::Stochastic)), stochastic, "explicit Stochastic = default");
    assert!(moved(&stochastic) > 0, "the stochastic run must learn the readout");
    assert!(moved(&run(Some(plasticore_core::Rounding::Truncate))) < moved(&stochastic), "Truncate must reach the readout's loop");
}
