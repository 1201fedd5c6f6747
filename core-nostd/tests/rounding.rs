//! Weight-update rounding modes ([`Rounding`]): each mode against hand-computed values, for the layer's
//! `apply_accumulated` (accumulator in LSB·2⁻¹⁶), the layer's online `learn` (x·G·2⁻³² from the
//! documented G), the readout's `apply_accumulated`, and a graph population; Stochastic stays the
//! default.
//!
//! Mutations tried (commit message): Nearest rounding half toward zero (`half - 1`) fails the layer's
//! and the readout's apply tests (±2.5 → ±2); Truncate flooring (`p >> s` on the signed value) fails
//! all three on the negative cases (−2.5 → −3).

mod common;
use common::*;
use plasticore_core::layer::{LearningRate, Saturations, Signal};
use plasticore_core::prelude::*;
use plasticore_core::readout::{ReadoutBuffers, ReadoutMut};
use plasticore_core::rng;
use plasticore_core::Rounding;

/// LSB·2⁻¹⁶ accumulator values and what each mode makes of them, in LSBs: the table in `Rounding`'s docs.
const CASES: [(i32, i32, i32); 8] = [
    // (acc, Nearest (half away from zero), Truncate (toward zero))
    (5 << 15, 3, 2),       // +2.5
    (-(5 << 15), -3, -2),  // −2.5
    (26214, 0, 0),         // +0.39999
    (39322, 1, 0),         // +0.60001
    (-39322, -1, 0),       // −0.60001
    (-26214, 0, 0),        // −0.39999
    ((7 << 16) / 4, 2, 1), // +1.75
    (-(1 << 15), -1, 0),   // −0.5 exactly: away from zero
];

fn layer_apply(mode: Option<Rounding>) -> (Vec<i16>, u32) {
    let f = Formats { weight_bits: 8, ..Formats::DEFAULT };
    let cfg = lif_config(f, 0.9, None, Reset::Soft, false);
    let n = CASES.len();
    let mut o = Owned::new(2, n, 1);
    // Axon 0 starts at 0; axon 1 at ±(wmax − 1), so that the larger updates saturate.
    let wmax = f.weight_max() as i16;
    for (j, c) in CASES.iter().enumerate() {
        o.weights[n + j] = Weight(if c.0 > 0 { wmax - 1 } else { -(wmax - 1) });
    }
    let mut l = o.view(&cfg);
    if let Some(m) = mode {
        l.set_rounding(m);
    }
    let mut acc: Vec<i32> = CASES.iter().map(|c| c.0).chain(CASES.iter().map(|c| c.0)).collect();
    l.apply_accumulated(&mut acc).unwrap();
    assert!(acc.iter().all(|&a| a == 0), "apply_accumulated clears the accumulator");
    (l.weights().iter().map(|w| w.0).collect(), l.scalars().sat.weight)
}

#[test]
fn layer_apply_accumulated_rounds_by_mode() {
    let wmax = Formats::DEFAULT.weight_max();
    let n = CASES.len();
    for (mode, pick) in [(Rounding::Nearest, 1), (Rounding::Truncate, 2)] {
        let (w, sat) = layer_apply(Some(mode));
        let mut want_sat = 0;
        for (j, c) in CASES.iter().enumerate() {
            let d = if pick == 1 { c.1 } else { c.2 };
            assert_eq!(w[j] as i32, d, "{mode:?}: {} LSB·2⁻¹⁶ from 0", c.0);
            let start = if c.0 > 0 { wmax - 1 } else { -(wmax - 1) };
            let v = (start + d).clamp(-wmax, wmax);
            want_sat += (v != start + d) as u32;
            assert_eq!(w[n + j] as i32, v, "{mode:?}: saturates at ±{wmax}");
        }
        assert!(want_sat > 0, "the cases must saturate some weights");
        assert_eq!(sat, want_sat, "{mode:?}: saturations counted");
    }
    // Stochastic: floor((a + r) / 2¹⁶) with r the top 16 bits of the SALT_APPLY word of (axon, neuron)
    // (layer seed 1, update counter 0); and the default is Stochastic.
    let (w, _) = layer_apply(Some(Rounding::Stochastic));
    assert_eq!(layer_apply(None).0, w, "the default is Stochastic");
    for (j, c) in CASES.iter().enumerate() {
        let r = (rng::cell(rng::row_key(1 ^ rng::SALT_APPLY, 0, 0), j as u32) >> 16) as i64;
        assert_eq!(w[j] as i64, (c.0 as i64 + r) >> 16, "Stochastic: {} LSB·2⁻¹⁶", c.0);
    }
}

/// Online learning with each mode: every weight moves by x_i·G_j·2⁻³² rounded by the mode, with
/// G_j = nearest(−ẽ_j·λ_j·mant·2^e), e = 32 + weight_frac − trace_frac − etrace_frac − signal_frac − shift
/// (`LayerMut::learn`'s documented factor; no saturation at these sizes).
#[test]
fn layer_online_learning_rounds_by_mode() {
    let f = Formats::DEFAULT;
    let (axons, n) = (6, 5);
    let lam = [3_000_000, -3_000_000, 123_457, -987_654, 0];
    let mut moved = [0usize; 3];
    for (m, mode) in [Rounding::Stochastic, Rounding::Nearest, Rounding::Truncate].into_iter().enumerate() {
        let mut cfg = lif_config(f, 0.9, None, Reset::Soft, false);
        cfg.learning_rate = LearningRate { mant: 3, shift: 2 };
        let mut o = Owned::new(axons, n, 1);
        let mut l = o.view(&cfg);
        l.set_rounding(mode);
        let mut spikes = [0u16; 5];
        for _ in 0..3 {
            l.integrate(&[0, 1, 2, 3, 4, 5], true);
            l.fire(true, &mut spikes);
            let w0: Vec<i64> = l.weights().iter().map(|w| w.0 as i64).collect();
            let x: Vec<i64> = l.xtrace().iter().map(|&x| x as i64).collect();
            let et: Vec<i64> = l.etrace().to_vec().iter().map(|&e| e as i64).collect();
            let upd = l.scalars().updates;
            l.learn(Signal::Lambda(&lam));
            let e = 32 + f.weight_frac as i32 - f.trace_frac as i32 - f.etrace_frac as i32 - f.signal_frac as i32 - 2;
            assert!(e < 0);
            let sh = (-e) as u32;
            for i in 0..axons {
                for j in 0..n {
                    let p = -(et[j] * lam[j] as i64) * 3;
                    let g = (p + (1 << (sh - 1))) >> sh; // nearest (the factor's own rounding)
                    let xg = x[i] * g;
                    let d = match mode {
                        Rounding::Stochastic => {
                            let r = rng::row_key(cfg.seed, upd, i as u32) ^ ((rng::col_word(cfg.seed, upd, j as u32) >> 16) << 16);
                            (xg + r as i64) >> 32
                        }
                        Rounding::Nearest => xg.signum() * ((xg.abs() + (1 << 31)) >> 32),
                        Rounding::Truncate => xg.signum() * (xg.abs() >> 32),
                    };
                    let wmax = f.weight_max() as i64;
                    let want = (w0[i * n + j] + d).clamp(-wmax, wmax);
                    assert_eq!(l.weights()[i * n + j].0 as i64, want, "{mode:?}: synapse ({i}, {j}), x·G = {xg}");
                    moved[m] += (d != 0) as usize;
                }
            }
        }
    }
    assert!(moved.iter().all(|&k| k > 0), "every mode must move some weight: {moved:?}");
}

#[test]
fn readout_apply_accumulated_rounds_by_mode() {
    let f = Formats::DEFAULT;
    let cfg = ReadoutConfig {
        formats: f,
        decay: Decay((1 << f.decay_frac) / 5 * 4),
        loss: Loss::Mse,
        learning_rate: LearningRate { mant: 1, shift: 6 },
        seed: 7,
    };
    for (mode, pick) in [(Rounding::Nearest, 1), (Rounding::Truncate, 2), (Rounding::Stochastic, 0)] {
        let o = CASES.len();
        let mut weights = vec![Weight(0); o];
        let (mut r, mut otrace, mut err, mut grad) = (vec![0i32; o], [0u16; 1], vec![0i32; o], vec![0i64; o]);
        let (mut sat, mut updates) = (Saturations::default(), 0u32);
        let b = ReadoutBuffers {
            weights: &mut weights,
            r: &mut r,
            otrace: &mut otrace,
            err: &mut err,
            grad: &mut grad,
            sat: &mut sat,
            updates: &mut updates,
        };
        let mut ro = ReadoutMut::new(&cfg, b, 1, o).unwrap();
        ro.set_rounding(mode);
        let mut acc: Vec<i32> = CASES.iter().map(|c| c.0).collect();
        ro.apply_accumulated(&mut acc).unwrap();
        for (k, c) in CASES.iter().enumerate() {
            let want = match pick {
                1 => c.1 as i64,
                2 => c.2 as i64,
                _ => (c.0 as i64 + (rng::cell(rng::row_key(7 ^ rng::SALT_APPLY, 0, 0), k as u32) >> 16) as i64) >> 16,
            };
            assert_eq!(ro.weights()[k].0 as i64, want, "readout {mode:?}: {} LSB·2⁻¹⁶", c.0);
        }
    }
}
