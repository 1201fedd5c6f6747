//! Impulse responses of every neuron model and of STD/STP against their closed forms.
//!
//! Bound: each step rounds a state product once (≤ ½ LSB) and the decay itself is quantized to
//! Q.`decay_frac` (|δα| ≤ 2^-(df+1)), so after t steps the error is at most t·(½ + |x|max·2^sf·δα) LSB
//! for a single-state recursion; a two-state cascade adds the upstream error scaled by the gain sum
//! k·Σα_m^k ≤ k/(1 − α_m) (= 1 for the reference gain k = 1 − α_m), giving t·(1 + ...) LSB. The tests
//! assert these per-step bounds.

mod common;
use common::*;
use plasticore_core::neuron::NeuronModel;
use plasticore_core::presyn::Presyn;
use plasticore_core::prelude::*;

const SF: u32 = 16;
const DF: u32 = 24;

fn lsb() -> f64 {
    1.0 / (1u64 << SF) as f64
}

fn value(x: i32) -> f64 {
    x as f64 * lsb()
}

fn fmt() -> Formats {
    Formats::DEFAULT
}

/// Decay quantization error bound contribution per step for a state of magnitude ≤ `xmax`, in LSB.
fn decay_err_lsb(xmax: f64) -> f64 {
    xmax * (1u64 << SF) as f64 / (1u64 << (DF + 1)) as f64
}

fn lif(decay: f64, synapse: Synapse, reset: Reset) -> Lif {
    let f = fmt();
    Lif::new(
        LifParams {
            decay: f.decay(fx(decay), Field::Decay).unwrap(),
            threshold: f.voltage(fx(1.0), Field::Threshold).unwrap(),
            reset,
            detach_reset: false,
            synapse,
            surrogate: SurrogateParams::paper(&f),
        },
        &f,
    )
    .unwrap()
}

#[test]
fn lif_delta_impulse_decays_geometrically() {
    let am = 0.95;
    let m = lif(am, Synapse::Delta, Reset::Soft);
    let w = 0.7;
    let mut st = [0i32];
    for t in 0..200 {
        let y = if t == 0 { m.input((w * 64.0) as i32, 0) } else { 0 };
        let f = m.update(&mut st, y, None);
        assert!(!f.spike);
        let exact = (44.0 / 64.0) * am.powi(t); // w quantized to 44/64 at 6 fractional bits
        let err = (value(st[0]) - exact).abs() / lsb();
        let bound = t as f64 * (0.5 + decay_err_lsb(1.0)) + 1e-9;
        assert!(err <= bound, "t={t}: error {err} LSB > bound {bound}");
    }
}

#[test]
fn lif_expon_impulse_is_difference_of_exponentials() {
    let (am, as_) = (0.9, 0.8);
    let k = 1.0 - am;
    let f = fmt();
    let syn = Synapse::Expon {
        decay: f.decay(fx(as_), Field::Decay).unwrap(),
        gain: f.decay(fx(k), Field::Gain).unwrap(),
    };
    let m = lif(am, syn, Reset::Soft);
    let w = 1.5; // exactly 96/64
    let mut st = [0i32; 2];
    for t in 0..150i32 {
        let y = if t == 0 { m.input(96, 0) } else { 0 };
        m.update(&mut st, y, None);
        let g = w * as_.powi(t);
        let v = k * w * (as_.powi(t + 1) - am.powi(t + 1)) / (as_ - am);
        let eg = (value(st[1]) - g).abs() / lsb();
        let ev = (value(st[0]) - v).abs() / lsb();
        let bg = t as f64 * (0.5 + decay_err_lsb(w)) + 1e-9;
        // V: own rounding (½ for the leak, ½ for the gain product) + gain quantization + g's error
        // scaled by k/(1 − α_m) = 1.
        let bv = (t as f64 + 1.0) * (1.0 + decay_err_lsb(w) * 2.0) + bg + 1e-9;
        assert!(eg <= bg, "t={t}: g error {eg} > {bg}");
        assert!(ev <= bv, "t={t}: V error {ev} > {bv}");
    }
}

#[test]
fn lif_soft_and_hard_reset_after_one_spike() {
    let am = 0.9;
    for reset in [Reset::Soft, Reset::Hard] {
        let m = lif(am, Synapse::Delta, reset);
        let mut st = [0i32];
        // V_0 = 1.5 > θ: spike at t = 0; the reset acts at t = 1.
        let f0 = m.update(&mut st, m.input(96, 0), None);
        assert!(f0.spike);
        for t in 1..60 {
            m.update(&mut st, 0, None);
            let exact = match reset {
                Reset::Soft => (1.5 - 1.0) * am.powi(t),
                Reset::Hard => 0.0,
            };
            let err = (value(st[0]) - exact).abs() / lsb();
            let bound = t as f64 * (0.5 + decay_err_lsb(1.5)) + 1e-9;
            assert!(err <= bound, "{reset:?} t={t}: {err} > {bound}");
        }
    }
}

#[test]
fn alif_adaptation_after_one_spike() {
    let (am, rho, beta) = (0.9, 0.97, 0.5);
    let f = fmt();
    let m = Alif::new(
        AlifParams {
            decay: f.decay(fx(am), Field::Decay).unwrap(),
            adapt_decay: f.decay(fx(rho), Field::Decay).unwrap(),
            beta: f.voltage(fx(beta), Field::Beta).unwrap(),
            threshold: f.voltage(fx(1.0), Field::Threshold).unwrap(),
            reset: Reset::Soft,
            detach_reset: false,
            synapse: Synapse::Delta,
            surrogate: SurrogateParams::paper(&f),
        },
        &f,
    )
    .unwrap();
    let mut st = [0i32; 2];
    assert!(m.update(&mut st, m.input(80, 0), None).spike); // V_0 = 1.25
    for t in 1..100 {
        let fired = m.update(&mut st, 0, None);
        assert!(!fired.spike);
        // a_t = ρ·(a_{t−1} + s_{t−1}) with s_0 = 1: a_t = ρ^t; V_t = α_m^t·(1.25 − 1).
        let ea = (value(st[1]) - rho.powi(t)).abs() / lsb();
        let ev = (value(st[0]) - 0.25 * am.powi(t)).abs() / lsb();
        let bound = t as f64 * (0.5 + decay_err_lsb(1.25)) + 1e-9;
        assert!(ea <= bound && ev <= bound, "t={t}: a err {ea}, V err {ev} > {bound}");
    }
}

#[test]
fn std_and_stp_recover_after_one_spike() {
    let f = fmt();
    let (d, u) = (0.99f64, 0.3f64);
    let std = Depression::new(
        DepressionParams { decay: f.decay(fx(d), Field::Presyn).unwrap(), u: Efficacy((u * 65536.0).round() as i32) },
        &f,
    )
    .unwrap();
    let one = 65536.0;
    let mut st = std.init();
    assert_eq!(std.step(&mut st, true), 65536); // x̃ = 1 released in full
    for t in 1..300 {
        assert_eq!(std.step(&mut st, false), 0);
        // x_d(t) = 1 − U·d^t.
        let err = (st[0] as f64 / one - (1.0 - u * d.powi(t))).abs() * one;
        assert!(err <= t as f64 * 0.5 + 1.0, "STD t={t}: {err} LSB");
    }
    let (fd, dd) = (0.9f64, 0.98f64);
    let stp = Facilitation::new(
        FacilitationParams {
            decay_f: f.decay(fx(fd), Field::Presyn).unwrap(),
            decay_d: f.decay(fx(dd), Field::Presyn).unwrap(),
            u: Efficacy((u * 65536.0).round() as i32),
        },
        &f,
    )
    .unwrap();
    let mut st = stp.init();
    let rel = stp.step(&mut st, true) as f64 / one; // u = U, x̃ = 1 → released U
    assert!((rel - u).abs() < 1e-4);
    for t in 1..200 {
        stp.step(&mut st, false);
        let eu = (st[0] as f64 / one - u * fd.powi(t)).abs() * one;
        let ex = (st[1] as f64 / one - (1.0 - u * dd.powi(t))).abs() * one;
        assert!(eu <= t as f64 * 0.5 + 1.0 && ex <= t as f64 * 0.5 + 1.0, "STP t={t}: {eu} {ex} LSB");
    }
}
