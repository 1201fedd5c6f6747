//! Per-projection weight formats and STD/STP (`es-d-rtrl.md` §8.2 "i8 mantissa and a per-projection
//! shift", §1.5; `layer::AxonGroup`): a projection with shift s and mantissas m integrates exactly like
//! the same projection with shift 0 and weights m·2^s; an overflowing shift is refused naming the
//! projection; the learning update of a shifted row is the unshifted one scaled by 2^−s (exactly under
//! truncation, in expectation under stochastic rounding).

mod common;

use fixed::types::I32F32;
use plasticore_core::error::ConfigError;
use plasticore_core::format::{Rounding, Weight8};
use plasticore_core::graph::{
    BiasMode, Graph, GraphConfig, GraphUpdate, LambdaSource, ParamMode, Population, ProjPresyn, Projection, ReadoutSpec, Source,
};
use plasticore_core::layer::{AxonGroup, Signal};
use plasticore_core::prelude::*;
use plasticore_core::rng::XorShift32;

const I: usize = 16;
const H: usize = 24;
const AX: usize = I + H;
/// One population of H LIF neurons over the 40 axons of three projections; one-byte or two-byte weights;
/// STD/STP state for every axon.
type G<WS> = Graph<H, H, AX, { AX * H }, 2, { 2 * (I + H) }, 0, WS, AX>;

fn d(x: &str) -> Decay {
    Formats::DEFAULT.decay(I32F32::lit(x), Field::Decay).unwrap()
}

fn formats(weight_bits: u8) -> Formats {
    Formats { weight_bits, ..Formats::DEFAULT }
}

fn lif(weight_bits: u8) -> LayerConfig {
    LayerConfig { trace_decay: d("0.8"), seed: 5, ..common::lif_config(formats(weight_bits), 0.9, None, Reset::Soft, false) }
}

/// Input channels 0..10 (shift `s0`, STD of its own if `std`), channels 10..16 (shift 0), the population
/// onto itself with delay 1 (shift `s2`); inference only.
fn config(weight_bits: u8, s0: u8, s2: u8, std: bool) -> GraphConfig {
    let mut populations = heapless::Vec::new();
    populations
        .push(Population { neurons: H as u16, layer: lif(weight_bits), lambda: LambdaSource::Symmetric, bias: BiasMode::None, params: ParamMode::Shared })
        .unwrap();
    let presyn = if std { ProjPresyn::Depression(DepressionParams { decay: d("0.8"), u: Efficacy(20000) }) } else { ProjPresyn::Inherit };
    let mut projections = heapless::Vec::new();
    projections.push(Projection { shift: s0, presyn, ..Projection::new(Source::Input { first: 0, width: 10 }, 0, 0, true) }).unwrap();
    projections.push(Projection::new(Source::Input { first: 10, width: 6 }, 0, 0, true)).unwrap();
    projections.push(Projection { shift: s2, ..Projection::new(Source::Population(0), 0, 1, true) }).unwrap();
    let readout = ReadoutConfig { formats: Formats::DEFAULT, decay: d("0.7"), loss: Loss::Mse, learning_rate: LearningRate { mant: 1, shift: 8 }, seed: 3 };
    GraphConfig {
        inputs: I as u16,
        populations,
        projections,
        readout: ReadoutSpec { source: 0, outputs: 2, config: readout },
        window: LossWindow::ALWAYS,
        learn: false,
    }
}

/// Run the 8-bit graph with shifts (3 on the first input projection, 1 on the recurrent one) and the
/// reference with shift 0 and 12-bit weights m·2^s for 300 steps: spikes, neuron states and readout
/// outputs must be equal every step. Returns the number of spikes (so a silent run cannot pass).
fn shifted_equals_scaled(std: bool) -> u32 {
    let (s0, s2) = (3u8, 1u8);
    let mut a: Box<G<Weight8>> = Box::default();
    let mut b: Box<G<Weight>> = Box::default();
    a.configure(config(8, s0, s2, std)).unwrap();
    b.configure(config(12, 0, 0, std)).unwrap();
    let mut rng = XorShift32::new(17);
    for ax in 0..AX {
        let (lo, hi, s) = if ax < 10 { (-12, 16, s0) } else if ax < 16 { (-60, 80, 0) } else { (-20, 20, s2) };
        for j in 0..H {
            let m = lo + (rng.next_u32() % (hi - lo + 1) as u32) as i32;
            a.set_weight(0, ax, j, Weight(m as i16)).unwrap();
            b.set_weight(0, ax, j, Weight((m << s) as i16)).unwrap();
        }
    }
    for j in 0..H {
        for k in 0..2 {
            let w = Weight((rng.next_u32() % 41) as i16 - 20);
            a.set_readout_weight(j, k, w).unwrap();
            b.set_readout_weight(j, k, w).unwrap();
        }
    }
    let (mut ga, mut gb) = (a.view().unwrap(), b.view().unwrap());
    let mut spikes = 0u32;
    for t in 0..300u32 {
        let ev: Vec<u16> = (0..I as u16).filter(|_| rng.chance(u32::MAX / 4)).collect();
        let ra = ga.step(Timestep(t), &ev, Target::None, &[], GraphUpdate::Online).unwrap();
        let rb = gb.step(Timestep(t), &ev, Target::None, &[], GraphUpdate::Online).unwrap();
        assert_eq!(ga.spikes(0), gb.spikes(0), "step {t}: spikes");
        assert_eq!(ga.state(0), gb.state(0), "step {t}: neuron states");
        assert_eq!(ga.outputs(), gb.outputs(), "step {t}: readout");
        assert_eq!(ra.ops.spikes, rb.ops.spikes);
        spikes += ra.ops.spikes;
    }
    assert_eq!(ga.saturations(0), gb.saturations(0));
    spikes
}

#[test]
fn a_shifted_projection_integrates_like_its_scaled_sixteen_bit_weights() {
    // Without STD/STP the reference runs the loops of a layer without groups (all shifts 0, every
    // STD/STP inherited), the one-byte graph the grouped ones.
    let n = shifted_equals_scaled(false);
    assert!(n > 300, "only {n} spikes in 300 steps");
    // With an STD of its own on the shifted projection (efficacy × mantissa × 2^s; both grouped).
    let n = shifted_equals_scaled(true);
    assert!(n > 300, "only {n} spikes in 300 steps");
}

#[test]
fn an_overflowing_shift_is_refused_naming_the_projection() {
    // 16 axons of 12-bit weights (max 2047): 16·2047·2^s < 2³¹ for s ≤ 15; 40 axons with the recurrent
    // block: 40·2047·2^15 = 2.68·10⁹ > 2³¹ − 1, so shift 15 on projection 2 overflows, 14 does not.
    let c = config(12, 2, 15, false);
    let e = c.layout(&[]).unwrap_err();
    assert_eq!(e, ConfigError::ProjectionOverflow { projection: 2, shift: 15 });
    assert!(e.to_string().contains("projection 2"), "{e}");
    assert!(config(12, 2, 14, false).layout(&[]).is_ok());
    // With STD/STP the sum has 12 more fractional bits: 40·2047·2^(3+12) = 2.68·10⁹ overflows.
    let e = config(12, 3, 0, true).layout(&[]).unwrap_err();
    assert_eq!(e, ConfigError::ProjectionOverflow { projection: 0, shift: 3 });
    assert!(config(12, 2, 0, true).layout(&[]).is_ok());
    // The owner refuses it too and keeps nothing.
    let mut g: Box<G<Weight>> = Box::default();
    assert_eq!(g.configure(config(12, 2, 15, false)), Err(ConfigError::ProjectionOverflow { projection: 2, shift: 15 }));
    assert!(g.config().is_none());
    // A shift above MAX_WEIGHT_SHIFT, and an STD/STP of its own onto a population-wide one.
    assert!(matches!(config(8, 16, 0, false).layout(&[]), Err(ConfigError::OutOfRange { field: Field::WeightShift, value: 16, .. })));
    let mut c = config(8, 0, 0, true);
    c.populations[0].layer.presyn = PresynKind::Depression(Depression::new(DepressionParams { decay: d("0.5"), u: Efficacy(1000) }, &Formats::DEFAULT).unwrap());
    assert_eq!(c.layout(&[]), Err(ConfigError::Inconsistent { field: Field::Presyn, with: Field::Projection }));
}

const A: usize = 64;
const N: usize = 64;

/// One learning step of an `A × N` layer of 16-bit weights starting at 0: every axon active once, then
/// `learn` with λ_j growing with j, rounded by `mode`; with a single axon group of shift `s` if given.
fn one_update(shift: Option<u8>, mode: Rounding) -> Vec<i32> {
    let cfg = LayerConfig { learning_rate: LearningRate { mant: 1, shift: 0 }, seed: 77, ..common::lif_config(formats(16), 0.9, None, Reset::Soft, false) };
    let mut o = common::Owned::new(A, N, 1);
    o.presyn.clear();
    o.efficacy.clear();
    let groups = [AxonGroup { start: 0, end: A as u32, shift: shift.unwrap_or(0), presyn: PresynKind::None, state: 0 }];
    let mut l = o.view(&cfg);
    if shift.is_some() {
        l.set_axon_groups(&groups).unwrap();
    }
    l.set_rounding(mode);
    let all: Vec<u16> = (0..A as u16).collect();
    l.integrate(&all, true);
    let mut spikes = [0u16; N];
    l.fire(true, &mut spikes);
    // ΔW_ij = ε^x·G_j·2⁻³² = (j + 1)·1500/1024 LSB here (ε^x = 1.0, ẽ^f = 1.0 after one step, η = 1).
    let lam: Vec<i32> = (0..N as i32).map(|j| -(j + 1) * 1500).collect();
    l.learn(Signal::Lambda(&lam));
    l.weights().iter().map(|w| w.0 as i32).collect()
}

#[test]
fn a_shifted_row_learns_the_unshifted_update_scaled_by_two_to_the_minus_shift() {
    let s = 4u8;
    // Truncation toward zero nests: trunc(trunc(y)/2^s) = trunc(y/2^s), so the shifted mantissa moves by
    // exactly the unshifted update divided by 2^s (Rust's `/` truncates toward zero).
    let w0 = one_update(None, Rounding::Truncate);
    let ws = one_update(Some(s), Rounding::Truncate);
    assert!(w0.iter().any(|&w| w >= 3 << s), "updates too small to test: max {}", w0.iter().max().unwrap());
    for (k, (&a, &b)) in w0.iter().zip(&ws).enumerate() {
        assert_eq!(b, a / (1 << s), "synapse {k}: unshifted {a}");
    }
    // Shift 0 as a group: the bits of the layer without groups (here with stochastic rounding).
    assert_eq!(one_update(Some(0), Rounding::Stochastic), one_update(None, Rounding::Stochastic));
    // Stochastic rounding: E[Δm·2^s] = E[Δw] (to 2⁻³² LSB per synapse). Over K = 4096 synapses each
    // rounding has variance ≤ 1/4 of its LSB², so the sums S_s·2^s and S_0 have standard deviations
    // ≤ √K·2^s/2 and ≤ √K/2; their difference (the two share random words, so take the sum of the
    // deviations) has σ ≤ √K·(2^s + 1)/2 = 544. Tolerance: 5σ = 2720, against sums of ~10⁵.
    let w0 = one_update(None, Rounding::Stochastic);
    let ws = one_update(Some(s), Rounding::Stochastic);
    let s0: i64 = w0.iter().map(|&w| w as i64).sum();
    let ss: i64 = ws.iter().map(|&w| (w as i64) << s).sum();
    let k = (A * N) as f64;
    let tol = 5.0 * k.sqrt() * ((1u32 << s) as f64 + 1.0) / 2.0;
    assert!(s0.abs() as f64 > 20.0 * tol, "updates too small to test: {s0}");
    assert!(((ss - s0) as f64).abs() <= tol, "shifted sum {ss} vs unshifted {s0}: |difference| > {tol}");
    // And the shifted weights are not just the truncated ones (sub-LSB updates move in expectation).
    assert!(ws.iter().zip(&w0).any(|(&b, &a)| b != a / (1 << s)));
}

const H0: usize = 16;
const H1: usize = 12;
/// Inputs (16) → population 0 (16) → population 1 (12, delay 0) → readout (2).
type G2<WS> = Graph<{ H0 + H1 }, { H0 + H1 }, { I + H0 }, { I * H0 + H0 * H1 }, 2, { I + H0 + H1 }, 0, WS>;

fn deep(weight_bits: u8, s: u8) -> GraphConfig {
    let layer = LayerConfig { learning_rate: LearningRate { mant: 1, shift: 40 }, ..lif(weight_bits) };
    let mut populations = heapless::Vec::new();
    for n in [H0, H1] {
        populations.push(Population { neurons: n as u16, layer, lambda: LambdaSource::Symmetric, bias: BiasMode::None, params: ParamMode::Shared }).unwrap();
    }
    let mut projections = heapless::Vec::new();
    projections.push(Projection::new(Source::Input { first: 0, width: I as u16 }, 0, 0, true)).unwrap();
    projections.push(Projection { shift: s, ..Projection::new(Source::Population(0), 1, 0, true) }).unwrap();
    let readout = ReadoutConfig { formats: Formats::DEFAULT, decay: d("0.7"), loss: Loss::Mse, learning_rate: LearningRate { mant: 1, shift: 8 }, seed: 3 };
    GraphConfig {
        inputs: I as u16,
        populations,
        projections,
        readout: ReadoutSpec { source: 1, outputs: 2, config: readout },
        window: LossWindow::ALWAYS,
        learn: true,
    }
}

#[test]
fn symmetric_backprop_uses_the_effective_weights_of_a_shifted_projection() {
    // Population 0's λ comes through the shifted projection 0 → 1 (m·2^s) and the readout. With η =
    // 2⁻⁴⁰ and truncation no population weight ever moves, so the 8-bit shifted graph and the 12-bit
    // graph with weights m·2^s stay identical, and population 0's Σ W·δ must be equal every step.
    let s = 2u8;
    let mut a: Box<G2<Weight8>> = Box::default();
    let mut b: Box<G2<Weight>> = Box::default();
    a.configure(deep(8, s)).unwrap();
    b.configure(deep(12, 0)).unwrap();
    let mut rng = XorShift32::new(23);
    for ax in 0..I {
        for j in 0..H0 {
            let w = Weight((rng.next_u32() % 121) as i16 - 50);
            a.set_weight(0, ax, j, w).unwrap();
            b.set_weight(0, ax, j, w).unwrap();
        }
    }
    for ax in 0..H0 {
        for j in 0..H1 {
            let m = (rng.next_u32() % 61) as i32 - 25;
            a.set_weight(1, ax, j, Weight(m as i16)).unwrap();
            b.set_weight(1, ax, j, Weight((m << s) as i16)).unwrap();
        }
    }
    for j in 0..H1 {
        for k in 0..2 {
            let w = Weight((rng.next_u32() % 41) as i16 - 20);
            a.set_readout_weight(j, k, w).unwrap();
            b.set_readout_weight(j, k, w).unwrap();
        }
    }
    let (mut ga, mut gb) = (a.view().unwrap(), b.view().unwrap());
    for p in 0..2 {
        ga.set_rounding(p, Rounding::Truncate).unwrap();
        gb.set_rounding(p, Rounding::Truncate).unwrap();
    }
    let one = 1i32 << 16;
    let mut nonzero = 0usize;
    for t in 0..200u32 {
        let ev: Vec<u16> = (0..I as u16).filter(|_| rng.chance(u32::MAX / 3)).collect();
        let target = if (t / 20) % 2 == 0 { [one, -one] } else { [-one, one] };
        ga.step(Timestep(t), &ev, Target::Values(&target), &[], GraphUpdate::Online).unwrap();
        gb.step(Timestep(t), &ev, Target::Values(&target), &[], GraphUpdate::Online).unwrap();
        assert_eq!(ga.feedback(0), gb.feedback(0), "step {t}: population 0's backprop");
        assert_eq!(ga.state(1), gb.state(1), "step {t}");
        nonzero += ga.feedback(0).iter().filter(|&&f| f != 0).count();
    }
    assert!(nonzero > 100, "population 0 got a learning signal only {nonzero} times");
}
