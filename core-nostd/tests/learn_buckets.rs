//! The narrow listed weight update that visits only the buckets of columns where a stochastically
//! rounded update can be non-zero (`layer/buckets.rs`) gives the dense loop's bits: weights and the
//! saturation count, over many steps, with few and many active columns, small and large |x·G| (including
//! |x·G| ≥ 2³², where every bucket is visited), both signs of G and saturating weights.
//!
//! Mutation tried (commit message): dropping the last bucket of the positive block (`a + c - 1`) and
//! rounding the span down instead of up both fail `grouped_listed_loop_equals_dense`; the block mask one
//! bit too narrow (`span_mask`) fails it (active 20); the negative sign's block sized by the positive
//! sign's |G|max fails both tests (the heavy-tailed case with 12 active columns).
//! The split grouping (two classes of |G| per sign from `SPLIT_FROM` listed columns on, which the cases
//! with 60 and 64 active columns take): the small class's block an eighth of the large one's instead of
//! a quarter, and the quarter taken after the clamp to B instead of before, each fail
//! `grouped_listed_loop_equals_dense` (active 60).

mod common;
use common::*;
use plasticore_core::layer::{LearningRate, Signal};
use plasticore_core::prelude::*;
use plasticore_core::rng::XorShift32;

/// How the λ of a step are drawn: magnitudes uniform in [1, lam_max] or heavy-tailed (lam_max ≫ 0..11,
/// a few large |G| among many small ones, as on the reference image's busiest steps); signs mixed or
/// all positive or all negative (then the other sign has no column: |G|max = 0).
#[derive(Clone, Copy, Debug)]
enum Lam {
    Uniform,
    HeavyTail,
    AllPositive,
    AllNegative,
}

/// Run `steps` learning steps on a 96-axon × 512-neuron layer with `active` columns of λ ≠ 0 per step
/// (at most 512 / 8, so the host takes the listed loop unless `dense`) and λ magnitudes up to `lam_max`.
fn run(dense: bool, active: usize, lam_max: u32, lr_shift: u8, seed: u32) -> (Vec<Weight>, u64, u32) {
    run_with(dense, active, lam_max, lr_shift, seed, Lam::Uniform)
}

fn run_with(dense: bool, active: usize, lam_max: u32, lr_shift: u8, seed: u32, shape: Lam) -> (Vec<Weight>, u64, u32) {
    let (axons, n) = (96, 512);
    let f = Formats { weight_bits: 10, ..Formats::DEFAULT };
    let mut cfg = lif_config(f, 0.9, None, Reset::Soft, false);
    cfg.learning_rate = LearningRate { mant: 1, shift: lr_shift };
    cfg.seed = seed;
    let mut o = Owned::new(axons, n, cfg.neuron.states());
    let mut rng = XorShift32::new(seed);
    let wmax = f.weight_max();
    for w in o.weights.iter_mut() {
        // Some weights near the range ends, so that updates saturate.
        *w = Weight(((rng.next_u32() % (2 * wmax as u32 + 1)) as i32 - wmax) as i16);
    }
    let mut spikes = vec![0u16; n];
    let mut l = o.view(&cfg);
    l.force_dense_learning(dense);
    let mut pairs = 0u32;
    for _ in 0..40 {
        let ev: Vec<u16> = (0..axons as u16).filter(|_| rng.chance(u32::MAX / 4)).collect();
        l.integrate(&ev, true);
        l.fire(true, &mut spikes);
        let mut lam = vec![0i32; n];
        for _ in 0..active {
            let j = (rng.next_u32() % n as u32) as usize;
            let m = match shape {
                Lam::HeavyTail => (lam_max >> (rng.next_u32() % 12)).max(1) as i32,
                _ => (rng.next_u32() % lam_max) as i32 + 1,
            };
            let positive = match shape {
                Lam::AllPositive => true,
                Lam::AllNegative => false,
                _ => rng.chance(u32::MAX / 2),
            };
            lam[j] = if positive { m } else { -m };
        }
        pairs += l.learn(Signal::Lambda(&lam)).weight_updates;
    }
    (l.weights().to_vec(), l.scalars().sat.weight as u64, pairs)
}

#[test]
fn grouped_listed_loop_equals_dense() {
    let mut saturated = false;
    let mut moved = false;
    for (active, lam_max, shift) in [(3, 1 << 10, 8u8), (20, 1 << 14, 8), (60, 1 << 20, 4), (64, 1 << 30, 0), (8, 1 << 24, 0)] {
        for seed in 1..4 {
            let a = run(false, active, lam_max, shift, seed);
            let b = run(true, active, lam_max, shift, seed);
            assert_eq!(a, b, "grouped listed loop differs from the dense loop (active {active}, λ < {lam_max}, seed {seed})");
            saturated |= a.1 > 0;
            moved |= a.2 > 0;
        }
    }
    // The cases must exercise what they claim: updates happen and some saturate.
    assert!(moved && saturated, "the cases neither updated nor saturated a weight");
}

/// The shapes of λ the block bound depends on: heavy-tailed magnitudes (a few columns set |G|max, so
/// most rows' blocks are sized by columns they rarely hit) and a sign without any column (|G|max = 0:
/// the block of that sign is the whole, empty, sign).
#[test]
fn grouped_listed_loop_equals_dense_for_heavy_tails_and_one_sign() {
    let mut moved = false;
    for shape in [Lam::HeavyTail, Lam::AllPositive, Lam::AllNegative] {
        for (active, lam_max, shift) in [(60, 1 << 22, 4u8), (64, 1 << 30, 0), (12, 1 << 18, 2)] {
            for seed in 1..3 {
                let a = run_with(false, active, lam_max, shift, seed, shape);
                let b = run_with(true, active, lam_max, shift, seed, shape);
                assert_eq!(a, b, "grouped listed loop differs from the dense loop ({shape:?}, active {active}, λ ≤ {lam_max}, seed {seed})");
                moved |= a.2 > 0;
            }
        }
    }
    assert!(moved, "no weight update happened");
}
