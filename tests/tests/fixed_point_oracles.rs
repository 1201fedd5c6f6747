//! Fixed-point results against independent float oracles, each tolerance derived from the formats:
//! the spec's ALIF Jacobian numbers (§1.3), the stochastic trace decay's bias, `exp2_neg`'s error bound
//! (which the cross-entropy tolerances rest on), and the softmax / cross-entropy path on logits the
//! scenarios do not reach.
#![allow(clippy::needless_range_loop)]
use plasticore::reference::net::{loss_grad, LossKind, Target as FTarget};
use plasticore_core::layer::{LayerConfig, LearningRate, Saturations};
use plasticore_core::net::{LossWindow, Net, NetConfig, Timestep, UpdateMode};
use plasticore_core::neuron::{Alif, AlifParams, Jacobian, Lif, LifParams, NeuronKind, NeuronModel, Reset, SurrogateParams, Synapse};
use plasticore_core::prelude::{Decay, Formats, PresynKind, Voltage, Weight};
use plasticore_core::readout::{Feedback, Loss, ReadoutBuffers, ReadoutConfig, ReadoutMut, Target};
use plasticore_tests::tolerance::{ce_error, EXP2_ERR_LSB};

fn q(x: f64, frac: u8) -> i64 {
    (x * (1u64 << frac) as f64).round() as i64
}

/// Spec §1.3: τ_m = 5, τ_a = 100, β = 0.5, V = 0.8, a = 0.3 (V_th = 1, soft reset attached, delta synapse);
/// jax gave D = [[0.659078, 0.079826], [0.193060, 0.893520]] (six decimals, so ±0.5·10⁻⁶).
///
/// Tolerance per entry, from the default formats: the inputs V, a are rounded to Q.16 (½·2⁻¹⁶ each), so
/// v̂ = V − 1 − β·a moves by ≤ (1 + β)·½·2⁻¹⁶ plus the core's rounding of β·a (½·2⁻¹⁶), and ψ by
/// 0.3 times that plus ψ's own arithmetic (½·2⁻¹⁶ + 0.3·2⁻¹⁶, `tolerance` module) and the amplitude's
/// rounding to Q.16 (½·2⁻¹⁶ relative to 0.3 → factor 1 − |v̂|); α_m, ρ are rounded to Q.24 (½·2⁻²⁴);
/// each entry adds ≤ 1·2⁻²⁸ of Q3.28 roundings. With |∂D/∂ψ| ≤ max(α_m, α_m·β, ρ, ρ·β) ≤ 1 and
/// |∂D/∂α_m|, |∂D/∂ρ| ≤ 1: |δD| ≤ δψ + ½·2⁻²⁴ + 2⁻²⁸ + 0.5·10⁻⁶.
#[test]
fn alif_jacobian_matches_the_spec_numbers_in_fixed_point() {
    let f = Formats::DEFAULT;
    let (sf, df) = (f.state_frac, f.decay_frac);
    let m = Alif::new(
        AlifParams {
            decay: Decay(q((-1.0f64 / 5.0).exp(), df) as u32),
            adapt_decay: Decay(q((-1.0f64 / 100.0).exp(), df) as u32),
            beta: Voltage(q(0.5, sf) as i32),
            threshold: Voltage(1 << sf),
            reset: Reset::Soft,
            detach_reset: false,
            synapse: Synapse::Delta,
            surrogate: SurrogateParams::paper(&f),
        },
        &f,
    )
    .unwrap();
    let mut st = [q(0.8, sf) as i32, q(0.3, sf) as i32];
    let mut jac = Jacobian::default();
    m.update(&mut st, 0, Some(&mut jac));
    let want = [[0.659078, 0.079826], [0.193060, 0.893520]];
    let l16 = 2f64.powi(-16);
    let d_vhat = 1.5 * 0.5 * l16 + 0.5 * l16;
    let d_psi = 0.3 * d_vhat + 0.5 * l16 + 0.3 * l16 + 0.5 * l16;
    let tol = d_psi + 0.5 * 2f64.powi(-24) + 2f64.powi(-28) + 0.5e-6;
    for k in 0..2 {
        for l in 0..2 {
            let got = jac.d[k][l] as f64 * 2f64.powi(-28);
            println!("D[{k}][{l}] = {got:.7} (spec {:.6}, |err| {:.2e}, tol {tol:.2e})", want[k][l], (got - want[k][l]).abs());
            assert!((got - want[k][l]).abs() <= tol, "D[{k}][{l}] = {got} vs {}", want[k][l]);
        }
    }
    assert_eq!(jac.df[0], 1 << 28);
    assert_eq!(jac.df[1], 0);
}

/// ε^x decays by stochastic rounding (`rng::decay_stochastic`): each step's result is floor or ceil of
/// the exact t·α, with the rounding word's top `decay_frac` bits, so with t·α an integer multiple of
/// 2^-decay_frac the expectation is exact and the bias is 0. Measured through `Net::step`: one input spike
/// at step 0, then silence; over M layer seeds the mean ε^x at step k must equal α^k·1.0 (α the Q.24
/// constant) within 5 standard deviations of the mean: the error at step k is Σ_i α^(k−i)·ρ_i with
/// independent ρ_i in (−1, 1) LSB of variance ≤ ¼, so Var ≤ ¼/(1 − α²) LSB² and the mean's σ ≤
/// √(¼/((1 − α²)·M)) LSB. (Round-down would be biased by about −½/(1 − α) LSB; nearest would stick at a
/// dead band of up to ½/(1 − α) LSB.)
#[test]
fn stochastic_trace_decay_is_unbiased_over_many_draws() {
    let f = Formats::DEFAULT;
    let (df, tf) = (f.decay_frac, f.trace_frac);
    let alpha_raw = q(0.9, df) as u32;
    let alpha = alpha_raw as f64 * 2f64.powi(-(df as i32));
    let (m_seeds, k_max) = (2000u32, 40usize);
    let mut sum = vec![0.0f64; k_max];
    for seed in 0..m_seeds {
        let lif = Lif::new(
            LifParams {
                decay: Decay(q(0.9, df) as u32),
                threshold: Voltage(1 << f.state_frac),
                reset: Reset::Soft,
                detach_reset: false,
                synapse: Synapse::Delta,
                surrogate: SurrogateParams::paper(&f),
            },
            &f,
        )
        .unwrap();
        let cfg = NetConfig {
            layer: LayerConfig {
                formats: f,
                neuron: NeuronKind::Lif(lif),
                presyn: PresynKind::None,
                trace_decay: Decay(alpha_raw),
                learning_rate: LearningRate { mant: 1, shift: 10 },
                seed: seed.wrapping_mul(0x9E37_79B9) ^ 0xABCD,
            },
            readout: ReadoutConfig {
                formats: f,
                decay: Decay(q(0.5, df) as u32),
                loss: Loss::Mse,
                learning_rate: LearningRate { mant: 1, shift: 10 },
                seed,
            },
            feedback: Feedback::Symmetric,
            window: LossWindow { start: u32::MAX, end: u32::MAX },
            recurrent: false,
            learn: true,
        };
        let mut net: Net<1, 1, 1, 1> = Net::new();
        net.configure(cfg).unwrap();
        net.set_weight(0, 0, Weight(0)).unwrap();
        for t in 0..=k_max {
            let input: &[u16] = if t == 0 { &[0] } else { &[] };
            net.step(Timestep(t as u32), input, Target::None, UpdateMode::Online).unwrap();
            if t > 0 {
                sum[t - 1] += net.layer().unwrap().xtrace()[0] as f64;
            }
        }
        assert_eq!(net.saturations().0, Saturations::default());
    }
    let sigma = (0.25 / ((1.0 - alpha * alpha) * m_seeds as f64)).sqrt();
    let mut worst = 0.0f64;
    for k in 1..=k_max {
        let mean = sum[k - 1] / m_seeds as f64;
        let exact = alpha.powi(k as i32) * (1u32 << tf) as f64;
        let err = mean - exact;
        worst = worst.max(err.abs() / sigma);
        assert!(err.abs() <= 5.0 * sigma, "step {k}: mean ε^x {mean} LSB vs exact {exact} LSB (bound {})", 5.0 * sigma);
    }
    println!("stochastic decay: worst |mean − exact| = {worst:.2} σ (σ = {sigma:.4} LSB, bound 5 σ)");
}

/// `exp2_neg` (the softmax's table) against `f64` over every input below its cut-off (17·2¹⁶): the
/// absolute error stays within [`EXP2_ERR_LSB`] (derived in `plasticore_tests::tolerance`).
#[test]
fn exp2_neg_error_is_within_its_derived_bound() {
    let mut worst = (0.0f64, 0u32);
    for x in 0..(17u32 << 16) {
        let exact = (-(x as f64) / 65_536.0).exp2() * 65_536.0;
        let err = (plasticore_core::arith::exp2_neg(x) as f64 - exact).abs();
        if err > worst.0 {
            worst = (err, x);
        }
    }
    println!("exp2_neg: max |err| = {:.3} LSB at x = {} (bound {EXP2_ERR_LSB})", worst.0, worst.1);
    assert!(worst.0 <= EXP2_ERR_LSB);
}

/// The core's softmax / cross-entropy error and loss against the float `loss_grad` on chosen logits,
/// including large spreads where most exponentials underflow the table (z ≥ 17·ln 2 → exp2 = 0), within
/// `tolerance::ce_error` (r exact here, so dr = 0) and the loss bound of the suite.
#[test]
fn softmax_cross_entropy_matches_float_on_extreme_logits() {
    let f = Formats::DEFAULT;
    let cfg = ReadoutConfig {
        formats: f,
        decay: Decay(q(0.5, f.decay_frac) as u32),
        loss: Loss::CrossEntropy,
        learning_rate: LearningRate { mant: 1, shift: 10 },
        seed: 1,
    };
    let cases: [[f64; 4]; 6] = [
        [0.0, 0.0, 0.0, 0.0],
        [1.0, -1.0, 0.5, 0.25],
        [8.0, -8.0, 0.0, 3.0],
        [20.0, -20.0, 19.5, 0.0],
        [-3.3, -3.2, -3.1, -3.0],
        [100.0, -100.0, 99.99, 50.0],
    ];
    let mut compared = 0;
    for r_val in cases {
        for c in 0..4u16 {
            let mut w = [Weight(0); 4];
            let mut r: [i32; 4] = core::array::from_fn(|k| q(r_val[k], f.state_frac) as i32);
            let r_exact: Vec<f64> = r.iter().map(|&x| x as f64 / 65_536.0).collect();
            let (mut ot, mut err, mut grad) = ([0u16; 1], [0i32; 4], [0i64; 4]);
            let (mut sat, mut upd) = (Saturations::default(), 0u32);
            let b = ReadoutBuffers { weights: &mut w, r: &mut r, otrace: &mut ot, err: &mut err, grad: &mut grad, sat: &mut sat, updates: &mut upd };
            let mut ro = ReadoutMut::new(&cfg, b, 1, 4).unwrap();
            let loss = ro.error(Target::Class(c)).unwrap() as f64 / 65_536.0;
            let mut e_f = [0.0; 4];
            let loss_f = loss_grad(LossKind::CrossEntropy, &r_exact, &FTarget::Class(c as usize), &mut e_f);
            let tol = ce_error(&r_exact, 0.0, f.signal_frac);
            for k in 0..4 {
                let got = ro.err()[k] as f64 / 65_536.0;
                assert!((got - e_f[k]).abs() <= tol[k], "r {r_val:?} class {c}: e[{k}] {got} vs {} (tol {})", e_f[k], tol[k]);
            }
            // −ln p_c: the bound of the suite (`compare.rs`) with dr = 0; void below δe_c > p_c/2, where the
            // core clamps v_c to one LSB of exp2 (p_c under the table's range), so its loss is finite and
            // below the float one.
            let sd: f64 = tol.iter().sum();
            let p_c = e_f[c as usize] + 1.0;
            if tol[c as usize] <= 0.5 * p_c {
                let ltol = sd + 2.0 * tol[c as usize] / p_c + 2.0 * 2f64.powi(-13) * std::f64::consts::LN_2 + 2e-6 * loss_f + 2f64.powi(-16);
                assert!((loss - loss_f).abs() <= ltol, "r {r_val:?} class {c}: loss {loss} vs {loss_f} (tol {ltol})");
                compared += 1;
            } else {
                assert!(loss <= loss_f && loss > 8.0, "r {r_val:?} class {c}: loss {loss} vs {loss_f}");
            }
        }
    }
    assert!(compared >= 16, "only {compared} losses compared");
}
