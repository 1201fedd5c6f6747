//! Golden test: the worked example of `es-d-rtrl.md` §6.2 (2 inputs → 2 LIF neurons, 3 steps) run
//! through the fixed-point core with λ = V − target injected as an `External` learning signal and the
//! gradient read from the `Accumulate` sums.
//!
//! The on-chip rule stores ẽ^f = ε^f/(1 − α) and has no bias correction (§8.1), so it must match the
//! spec's "ES-D-RTRL, no correction (c ≡ 1)" rows: with η = 1 − α = 0.5 the accumulated ΔW equals −∂L/∂W.
//!
//! Tolerances, derived from the formats used (16-bit weights with 14 fractional bits, Q.20 state and
//! signals, Q.28 decays, ε^x Q.12, ẽ^f Q.24):
//! * against a float re-run with the *quantized* weights: each rounding is ≤ 2⁻²¹ (state, signals) or
//!   ≤ 2⁻²⁵ (ẽ^f), about 10 roundings per step per value over 3 steps → ≤ 3·10·2⁻²¹·|ε^x·ẽ| (≤ 3) ≈ 5e-5;
//!   we assert 1e-4.
//! * against the spec's printed numbers: additionally the weights are off by ≤ 2⁻¹⁵ ≈ 3.1e-5 each, which
//!   moves V (≤ 2 inputs × 3 steps, decays < 1) by ≤ 2e-4 and so λ by ≤ 2e-4; the gradient sums
//!   ε^x·ẽ^f·(1−α)·λ with ε^x ≤ 1.5, (1−α)ẽ^f ≤ 1 over 3 steps → ≤ 3·1.5·2e-4 ≈ 9e-4, plus the printed
//!   6-decimal rounding; we assert 1.5e-3.

mod common;
use common::*;
use plasticore_core::layer::Signal;
use plasticore_core::prelude::*;

const W: [[f64; 2]; 2] = [[0.6, 0.3], [0.5, 0.9]];
const X: [[u16; 2]; 3] = [[1, 0], [1, 1], [0, 1]];
const TGT: [f64; 2] = [0.5, 1.0];

fn fmt() -> Formats {
    Formats {
        weight_bits: 16,
        weight_frac: 14,
        state_frac: 20,
        decay_frac: 28,
        trace_bits: 16,
        trace_frac: 12,
        etrace_frac: 24,
        signal_frac: 20,
    }
}

struct Out {
    grad: [f64; 4],
    xtrace: [f64; 2],
    etrace_v: [f64; 2],
    v: Vec<[f64; 2]>,
}

/// Run the example through the fixed-point layer.
fn run_fixed(expon: bool) -> Out {
    let f = fmt();
    let am = (-0.2f64).exp();
    let syn = if expon { Some(((-0.1f64).exp(), 1.0 - am)) } else { None };
    let cfg = lif_config(f, am, syn, Reset::Soft, false);
    let s = cfg.neuron.states();
    let mut o = Owned::new(2, 2, s);
    for (i, row) in W.iter().enumerate() {
        for (j, &w) in row.iter().enumerate() {
            o.weights[i * 2 + j] = f.weight(fx(w)).0;
        }
    }
    let mut acc = vec![0i32; 4];
    let mut vs = Vec::new();
    let mut l = o.view(&cfg);
    let mut spikes = [0u16; 2];
    for x in X {
        let active: Vec<u16> = (0..2u16).filter(|&i| x[i as usize] == 1).collect();
        l.integrate(&active, true);
        l.fire(true, &mut spikes);
        let st = l.state();
        let v = [st[0], st[s]];
        vs.push([v[0] as f64 / (1u64 << f.state_frac) as f64, v[1] as f64 / (1u64 << f.state_frac) as f64]);
        // λ = V − target in Q.signal_frac (state_frac = signal_frac here).
        let lam: Vec<i32> = (0..2).map(|j| v[j] - f.signal(fx(TGT[j]), Field::Weight).unwrap().0).collect();
        l.accumulate(Signal::Lambda(&lam), &mut acc).unwrap();
    }
    let scale = (1u64 << (16 + f.weight_frac)) as f64;
    let grad = [0, 1, 2, 3].map(|k| -(acc[k] as f64) / scale);
    let xt = l.xtrace();
    let et = l.etrace();
    Out {
        grad,
        xtrace: [xt[0] as f64 / 4096.0, xt[1] as f64 / 4096.0],
        etrace_v: [et[0] as f64 / (1u64 << 24) as f64, et[s] as f64 / (1u64 << 24) as f64],
        v: vs,
    }
}

/// Float re-implementation of the same on-chip rule (a port of `algorithm_vectors.py`, c ≡ 1).
fn run_float(expon: bool, w: [[f64; 2]; 2]) -> Out {
    let am = (-0.2f64).exp();
    let as_ = (-0.1f64).exp();
    let psi = |v: f64| (0.3 * (1.0 - (v - 1.0).abs())).max(0.0);
    let alpha = 0.5;
    let (mut v, mut g) = ([0.0f64; 2], [0.0f64; 2]);
    let mut ex = [0.0f64; 2];
    let mut ef = [[0.0f64; 2]; 2]; // [j][V, g] in ẽ^f units
    let mut grad = [0.0f64; 4];
    let mut vs = Vec::new();
    for x in X {
        let xf = [x[0] as f64, x[1] as f64];
        for j in 0..2 {
            let y = xf[0] * w[0][j] + xf[1] * w[1][j];
            let s = if v[j] > 1.0 { 1.0 } else { 0.0 };
            let p = psi(v[j]);
            let dvv = am * (1.0 - p);
            let (nv, df_v) = if expon {
                g[j] = as_ * g[j] + y;
                (am * (v[j] - s) + (1.0 - am) * g[j], 1.0 - am)
            } else {
                (am * (v[j] - s) + y, 1.0)
            };
            let (ev, eg) = (ef[j][0], ef[j][1]);
            if expon {
                ef[j][0] = alpha * (dvv * ev + (1.0 - am) * as_ * eg) + df_v;
                ef[j][1] = alpha * (as_ * eg) + 1.0;
            } else {
                ef[j][0] = alpha * dvv * ev + df_v;
            }
            v[j] = nv;
        }
        for i in 0..2 {
            ex[i] = alpha * ex[i] + xf[i];
        }
        vs.push(v);
        for i in 0..2 {
            for j in 0..2 {
                grad[i * 2 + j] += ex[i] * (1.0 - alpha) * ef[j][0] * (v[j] - TGT[j]);
            }
        }
    }
    Out { grad, xtrace: ex, etrace_v: [ef[0][0], ef[1][0]], v: vs }
}

fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{what}[{k}]: fixed {g} vs expected {w} (tol {tol})");
    }
}

fn quantized_w() -> [[f64; 2]; 2] {
    let f = fmt();
    W.map(|r| r.map(|w| f.weight(fx(w)).0 .0 as f64 / (1u64 << f.weight_frac) as f64))
}

#[test]
fn delta_synapse_matches_spec_table() {
    let o = run_fixed(false);
    // es-d-rtrl.md §6.2: V_t, ε^x_2, ε^f_2 (= (1 − α)·ẽ^f) and the "no correction" gradient rows.
    assert_close("V0", &o.v[0], &[0.6, 0.3], 1e-4);
    assert_close("V1", &o.v[1], &[1.591238, 1.445619], 3e-4);
    assert_close("V2", &o.v[2], &[0.984065, 1.264842], 5e-4);
    assert_close("eps_x", &o.xtrace, &[0.75, 1.5], 1e-9);
    assert_close("eps_f", &o.etrace_v.map(|e| 0.5 * e), &[0.739865, 0.734209], 2e-4);
    assert_close("grad", &o.grad, &[1.411766, 0.254554, 1.265987, 0.597485], 1.5e-3);
}

#[test]
fn delta_synapse_matches_float_rerun_with_quantized_weights() {
    let o = run_fixed(false);
    let r = run_float(false, quantized_w());
    for t in 0..3 {
        assert_close("V", &o.v[t], &r.v[t], 1e-5);
    }
    assert_close("eps_f", &o.etrace_v, &r.etrace_v, 1e-5);
    assert_close("grad", &o.grad, &r.grad, 1e-4);
}

#[test]
fn exponential_synapse_matches_spec_table() {
    let o = run_fixed(true);
    assert_close("V0", &o.v[0], &[0.108762, 0.054381], 1e-4);
    assert_close("V1", &o.v[1], &[0.386854, 0.311252], 2e-4);
    assert_close("V2", &o.v[2], &[0.676832, 0.659320], 3e-4);
    assert_close("eps_f_V", &o.etrace_v.map(|e| 0.5 * e), &[0.210813, 0.212593], 2e-4);
    assert_close("grad", &o.grad, &[-0.035934, -0.313731, 0.036962, -0.224443], 1.5e-3);
}

#[test]
fn exponential_synapse_matches_float_rerun_with_quantized_weights() {
    let o = run_fixed(true);
    let r = run_float(true, quantized_w());
    for t in 0..3 {
        assert_close("V", &o.v[t], &r.v[t], 1e-5);
    }
    assert_close("eps_f", &o.etrace_v, &r.etrace_v, 1e-5);
    assert_close("grad", &o.grad, &r.grad, 1e-4);
}

#[test]
fn float_port_reproduces_the_spec_exactly() {
    // Guards the float port itself: with exact weights it must give the spec's numbers to 1e-6.
    let r = run_float(false, W);
    assert_close("grad", &r.grad, &[1.411766, 0.254554, 1.265987, 0.597485], 1e-6);
    let r = run_float(true, W);
    assert_close("grad", &r.grad, &[-0.035934, -0.313731, 0.036962, -0.224443], 1e-6);
}
