//! Impulse responses of every neuron model and of STD/STP against their closed forms.
//!
//! Bound, derived from the formats (all in LSB of Q.`state_frac` = Q.16, decays in Q.24): a leaky state
//! computes x_t = round(α_q·x_{t−1}) (+ an exact input), rounding **nearest** (|r_t| ≤ ½ LSB), with the
//! decay quantized to α_q = round(α·2^24)/2^24 (|α_q − α| ≤ 2^-25 plus the I32F32 literal's 2^-33).
//! Against the exact y_t = α·y_{t−1} the error e_t = x_t − y_t obeys
//! e_t = α_q·e_{t−1} + (α_q − α)·y_{t−1} + r_t, so |e_t| ≤ B_t with
//! B_t = α_q·B_{t−1} + |α_q − α|·|y_{t−1}| + ½ and B_0 the initial quantization error.
//! B_t does not grow with t: it converges to (½ + |α_q − α|·max|y|)/(1 − α_q) ≈ ½/(1 − α) LSB (10 LSB at
//! α = 0.95, 50 at 0.99), and that worst case is reached: nearest rounding stalls a decaying state at
//! any x ≤ ½/(1 − α) (round(α·x) = x there), while the exact value goes on to 0 (`decay_to_dead_band`).
//! A two-state cascade (exponential synapse g → V) adds, per step, the gain's rounding (½) and its
//! quantization error times |g|, and g's bound times the gain. The old bound grew as t·(½ + …) (100 LSB
//! at t = 199 for α = 0.95).

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

/// A decay or gain as the core holds it (Q.24), as a real number.
fn quantized(a: f64, field: Field) -> f64 {
    fmt().decay(fx(a), field).unwrap().0 as f64 / (1u64 << DF) as f64
}

/// The worst-case error bound B_t of the module docs for one leaky state with decay `a`.
struct Bound {
    aq: f64,
    da: f64,
    b: f64,
}

impl Bound {
    /// Starting from an initial error bound `b0` (LSB).
    fn new(a: f64, b0: f64) -> Self {
        let aq = quantized(a, Field::Decay);
        Bound { aq, da: (aq - a).abs(), b: b0 }
    }
    /// B_t from B_{t−1} and the exact previous value y_{t−1} (real units); `extra` adds per-step terms.
    fn step(&mut self, y_prev: f64, extra: f64) -> f64 {
        self.b = self.aq * self.b + self.da * y_prev.abs() / lsb() + 0.5 + extra;
        self.b
    }
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
    let v0 = 44.0 / 64.0; // w quantized to 44/64 at 6 fractional bits: V_0 is exact
    let mut b = Bound::new(am, 0.0);
    let mut worst = 0f64;
    for t in 0..200 {
        let y = if t == 0 { m.input((w * 64.0) as i32, 0) } else { 0 };
        let f = m.update(&mut st, y, None);
        assert!(!f.spike);
        let exact = v0 * am.powi(t);
        let bound = if t == 0 { 0.0 } else { b.step(v0 * am.powi(t - 1), 0.0) } + 1e-9;
        let err = (value(st[0]) - exact).abs() / lsb();
        assert!(err <= bound, "t={t}: error {err} LSB > bound {bound}");
        worst = worst.max(err);
    }
    // The bound stays near ½/(1 − α) = 10 LSB; the error reaches 7.3 LSB at t = 199 (the dead band).
    assert!(b.b < 10.1 && worst > 5.0, "bound {} LSB, worst error {worst} LSB", b.b);
}

#[test]
fn decay_to_dead_band() {
    // Long after the impulse, nearest rounding holds V at the largest x with round(α·x) = x, at most
    // ½/(1 − α) LSB, while the exact value is 0: the bound's limit is reached, so it is tight.
    for am in [0.9, 0.95, 0.99] {
        let m = lif(am, Synapse::Delta, Reset::Soft);
        let mut st = [0i32];
        m.update(&mut st, m.input(44, 0), None);
        for _ in 1..5000 {
            m.update(&mut st, 0, None);
        }
        let band = 0.5 / (1.0 - quantized(am, Field::Decay));
        let x = st[0] as f64;
        assert!(x <= band && x >= band - 1.0, "α = {am}: V stalls at {x} LSB, dead band {band}");
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
    let kq = quantized(k, Field::Gain);
    let (mut bg, mut bv) = (Bound::new(as_, 0.0), Bound::new(am, 0.0));
    let (mut wg, mut wv) = (0f64, 0f64);
    for t in 0..150i32 {
        let y = if t == 0 { m.input(96, 0) } else { 0 };
        m.update(&mut st, y, None);
        let g = w * as_.powi(t);
        let v = k * w * (as_.powi(t + 1) - am.powi(t + 1)) / (as_ - am);
        // g_0 = w exactly; then g's own recursion.
        let eg_b = if t == 0 { 0.0 } else { bg.step(w * as_.powi(t - 1), 0.0) };
        // V_t = round(α_m·V_{t−1}) + round(k_q·g_t): V's recursion (its leak's ½ and α_m's quantization,
        // none at t = 0 where V_{−1} = 0) plus the gain product's rounding ½, its quantization |k_q − k|·g
        // and k_q times g's error bound.
        let gain = 0.5 + (kq - k).abs() * g.abs() / lsb() + kq * eg_b;
        let ev_b = if t == 0 {
            gain
        } else {
            let vp = k * w * (as_.powi(t) - am.powi(t)) / (as_ - am);
            bv.step(vp, gain)
        };
        if t == 0 {
            bv.b = ev_b;
        }
        let eg = (value(st[1]) - g).abs() / lsb();
        let ev = (value(st[0]) - v).abs() / lsb();
        assert!(eg <= eg_b + 1e-9, "t={t}: g error {eg} > {eg_b}");
        assert!(ev <= ev_b + 1e-9, "t={t}: V error {ev} > {ev_b}");
        (wg, wv) = (wg.max(eg), wv.max(ev));
    }
    // Limits: g ½/(1 − α_s) = 2.5 LSB, V (1 + k·2.5)/(1 − α_m) = 12.5 LSB (measured worst: g 2.0, V 4.0).
    assert!(bg.b < 2.6 && bv.b < 12.6, "bounds g {} V {}", bg.b, bv.b);
    assert!(wg > 1.0 && wv > 1.0, "errors g {wg} V {wv}");
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
        // After the reset V_0 − θ = 0.5 exactly (hard: 0, and 0 stays exactly 0).
        let mut b = Bound::new(am, 0.0);
        for t in 1..60 {
            m.update(&mut st, 0, None);
            let exact = match reset {
                Reset::Soft => (1.5 - 1.0) * am.powi(t),
                Reset::Hard => 0.0,
            };
            let err = (value(st[0]) - exact).abs() / lsb();
            let bound = match reset {
                Reset::Soft => b.step(0.5 * am.powi(t - 1), 0.0),
                Reset::Hard => 0.0,
            };
            assert!(err <= bound + 1e-9, "{reset:?} t={t}: {err} > {bound}");
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
    // a_t = ρ·(a_{t−1} + s_{t−1}) with s_0 = 1: a_t = ρ^t (a_0 + s_0 = 1 exactly); V_t = α_m^t·(1.25 − 1)
    // (V_0 − θ = 0.25 exactly). Both are single leaky states from an exact start.
    let (mut ba, mut bv) = (Bound::new(rho, 0.0), Bound::new(am, 0.0));
    for t in 1..100 {
        let fired = m.update(&mut st, 0, None);
        assert!(!fired.spike);
        let ea = (value(st[1]) - rho.powi(t)).abs() / lsb();
        let ev = (value(st[0]) - 0.25 * am.powi(t)).abs() / lsb();
        let (ba_t, bv_t) = (ba.step(rho.powi(t - 1), 0.0), bv.step(0.25 * am.powi(t - 1), 0.0));
        assert!(ea <= ba_t + 1e-9 && ev <= bv_t + 1e-9, "t={t}: a err {ea} > {ba_t} or V err {ev} > {bv_t}");
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
    // The deficit 1 − x relaxes as z_t = round(d_q·z_{t−1}) from z_0 = U_q (U quantized to Q.16 nearest:
    // |U_q − U| ≤ ½ LSB, the initial error).
    let u_q = (u * one).round() / one;
    let b0 = (u_q - u).abs() * one;
    let mut st = std.init();
    assert_eq!(std.step(&mut st, true), 65536); // x̃ = 1 released in full
    let mut b = Bound { da: (quantized(d, Field::Presyn) - d).abs(), aq: quantized(d, Field::Presyn), b: b0 };
    for t in 1..300 {
        assert_eq!(std.step(&mut st, false), 0);
        // x_d(t) = 1 − U·d^t.
        let err = (st[0] as f64 / one - (1.0 - u * d.powi(t))).abs() * one;
        let bound = b.step(u * d.powi(t - 1), 0.0);
        assert!(err <= bound + 1e-9, "STD t={t}: {err} > {bound} LSB");
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
    assert_eq!(rel, u_q, "released U_q exactly");
    // u_t = round(f_q·u_{t−1}) from u_0 = U_q; the deficit of x from U_q likewise with d.
    let q = |a: f64| quantized(a, Field::Presyn);
    let (mut bu, mut bx) = (Bound { aq: q(fd), da: (q(fd) - fd).abs(), b: b0 }, Bound { aq: q(dd), da: (q(dd) - dd).abs(), b: b0 });
    for t in 1..200 {
        stp.step(&mut st, false);
        let eu = (st[0] as f64 / one - u * fd.powi(t)).abs() * one;
        let ex = (st[1] as f64 / one - (1.0 - u * dd.powi(t))).abs() * one;
        let (bu_t, bx_t) = (bu.step(u * fd.powi(t - 1), 0.0), bx.step(u * dd.powi(t - 1), 0.0));
        assert!(eu <= bu_t + 1e-9 && ex <= bx_t + 1e-9, "STP t={t}: {eu} > {bu_t} or {ex} > {bx_t} LSB");
    }
}
