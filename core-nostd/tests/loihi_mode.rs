//! Loihi CUBA-LIF mode against hand-computed vectors of `hardware.md` §2.2: decay truncation toward zero
//! on the magnitude, the 24-bit two's-complement wrap of u, voltage saturation at ±(2²³ − 1), the
//! strict `>` threshold with hard reset, bias mantissa/exponent and the 6-bit MSB alignment. Every
//! expected value was computed by hand (shown in the comments); equality is exact.

use plasticore_core::layer::LayerConfig;
use plasticore_core::neuron::loihi::V_MAX;
use plasticore_core::neuron::{LoihiCuba, LoihiParams, NeuronKind, NeuronModel, SurrogateParams, Wrap24};
use plasticore_core::prelude::{Decay, Formats, Layer, LearningRate, PresynKind, Weight};

fn model(du: u16, dv: u16, bias_mant: i16, bias_exp: u8, vth: u32, wexp: i8) -> LoihiCuba {
    model_wrap(du, dv, bias_mant, bias_exp, vth, wexp, Wrap24::TwosComplement)
}

fn model_wrap(du: u16, dv: u16, bias_mant: i16, bias_exp: u8, vth: u32, wexp: i8, wrap: Wrap24) -> LoihiCuba {
    let fmt = Formats::DEFAULT;
    LoihiCuba::new(
        LoihiParams {
            du,
            dv,
            bias_mant,
            bias_exp,
            vth_mant: vth,
            weight_exp: wexp,
            surrogate: SurrogateParams::paper(&fmt),
            wrap,
        },
        &fmt,
    )
    .unwrap()
}

/// Slots: [v, u].
fn step(m: &LoihiCuba, st: &mut [i32; 2], acc: i32) -> bool {
    let y = m.input(acc, 0);
    m.update(st, y, None).spike
}

#[test]
fn current_decay_truncates_toward_zero_on_the_magnitude() {
    // du = 2047 → factor 4096 − 2048 = 2048; u = −4097: |−4097|·2048 ≫ 12 = 2048 (2048.5 truncated),
    // so u → −2048 (an arithmetic shift would give −2049).
    let m = model(2047, 4095, 0, 0, 1000, 0);
    let mut st = [0, -4097];
    step(&m, &mut st, 0);
    assert_eq!(st[1], -2048);
    // dv = 100 → factor 3996; v = −1000 (and u = 0 next): −(1000·3996 ≫ 12) = −975.
    let m = model(4095, 100, 0, 0, 1000, 0);
    let mut st = [-1000, 0];
    step(&m, &mut st, 0);
    assert_eq!(st[0], -975);
}

#[test]
fn current_wraps_at_24_bits() {
    // u = 2²³ − 1, du = 0 → tdiv(8388607, 4095) = 8386559; input acc = 100, weight_exp 0 → 100 ≪ 6 = 6400;
    // 8386559 + 6400 = 8392959 > 2²³ − 1 → wraps to 8392959 − 2²⁴ = −8384257.
    let m = model(0, 4095, 0, 0, 131_071, 0);
    let mut st = [0, (1 << 23) - 1];
    step(&m, &mut st, 100);
    assert_eq!(st[1], -8_384_257);
    // The edge: exactly −2²³ is representable, 2²³ is not (two's complement, not Lava's one-sided test).
    assert_eq!(plasticore_core::arith::wrap24(1 << 23), -(1 << 23));
    assert_eq!(plasticore_core::arith::wrap24(-(1 << 23)), -(1 << 23));
}

#[test]
fn voltage_saturates_and_does_not_wrap() {
    // dv = 0 → v kept: tdiv(8388000, 4096) = 8388000; + u (= 3000 ≪ … see below) → clipped at 2²³ − 1.
    // u after the step: tdiv(0, ·) + (47 ≪ 6) = 3008; v = 8388000 + 3008 = 8391008 → 8388607.
    let m = model(4095, 0, 0, 0, 131_071, 0);
    let mut st = [8_388_000, 0];
    let spiked = step(&m, &mut st, 47);
    assert_eq!(st[1], 3008);
    // vth = 131071 ≪ 6 = 8388544 < 8388607, so it spikes and resets; check the pre-reset clip via a
    // larger threshold is impossible (vth is 17-bit), so check the negative side instead.
    assert!(spiked);
    assert_eq!(st[0], 0);
    let mut st = [-8_388_000, 0];
    step(&m, &mut st, -47);
    assert_eq!(st[0], -V_MAX);
}

#[test]
fn threshold_is_strict_and_reset_is_hard() {
    // vth = 10 → θ = 640. du = 4095 (u fully decays), dv = 4095 (v fully decays), so v = u = acc ≪ 6.
    let m = model(4095, 4095, 0, 0, 10, 0);
    let mut st = [0, 0];
    assert!(!step(&m, &mut st, 10), "v = 640 = θ must not spike (strict >)");
    assert_eq!(st[0], 640);
    let mut st = [0, 0];
    // v = 704 > 640: spike and v ← 0 in the same step; u keeps its value.
    assert!(step(&m, &mut st, 11));
    assert_eq!(st, [0, 704]);
}

#[test]
fn bias_and_weight_exponent() {
    // bias = −4096 ≪ 7 = −524288 added to v every step.
    let m = model(4095, 4095, -4096, 7, 131_071, 0);
    let mut st = [0, 0];
    step(&m, &mut st, 0);
    assert_eq!(st[0], -524_288);
    // weight_exp = −3: acc = −9 ≫ 3 = −2 (floor, as Lava's right_shift), then ≪ 6 = −128.
    let m = model(4095, 4095, 0, 0, 131_071, -3);
    let mut st = [0, 0];
    step(&m, &mut st, -9);
    assert_eq!(st[1], -128);
    // weight_exp = +2: acc = 3 ≪ 2 ≪ 6 = 768.
    let m = model(4095, 4095, 0, 0, 131_071, 2);
    let mut st = [0, 0];
    step(&m, &mut st, 3);
    assert_eq!(st[1], 768);
}

#[test]
fn multi_step_trajectory_matches_hand_computation() {
    // du = 1024 → ku = 3071, dv = 512 → kv = 3584, vth = 100 → θ = 6400, acc = 50 at t = 0 only.
    // t0: u = 0 + 3200 = 3200;           v = 0 + 3200 = 3200
    // t1: u = 3200·3071 ≫ 12 = 2399;    v = 3200·3584 ≫ 12 (= 2800) + 2399 = 5199
    // t2: u = 2399·3071 ≫ 12 = 1798;    v = 5199·3584 ≫ 12 (= 4549) + 1798 = 6347  (≤ 6400: no spike)
    // t3: u = 1798·3071 ≫ 12 = 1348;    v = 6347·3584 ≫ 12 (= 5553) + 1348 = 6901  (> 6400: spike, v ← 0)
    let m = model(1024, 512, 0, 0, 100, 0);
    let mut st = [0, 0];
    let mut got = Vec::new();
    for t in 0..4 {
        let s = step(&m, &mut st, if t == 0 { 50 } else { 0 });
        got.push((st[0], st[1], s));
    }
    assert_eq!(got, vec![(3200, 3200, false), (5199, 2399, false), (6347, 1798, false), (0, 1348, true)]);
}

/// The neuron update (not only the wrap helper) driven to a current of exactly ±2²³, in both wrap modes.
/// du = 4095 (u fully decays), dv = 4095 (v fully decays), θ = 1000 ≪ 6 = 64 000, weight_exp = 7, so
/// a_in ≪ 6 = acc ≪ 13 and acc = ±2¹⁰ gives a sum of exactly ±2²³.
#[test]
fn neuron_update_at_exactly_plus_minus_2_pow_23_in_both_wrap_modes() {
    let edge = 1i32 << 23;
    let cases = [
        // (wrap, acc, u after the step, v after the step, spike)
        // +2²³: two's complement stores −2²³ (a sign flip of 2²⁴), v = −2²³ saturates to −(2²³ − 1);
        (Wrap24::TwosComplement, 1 << 10, -edge, -V_MAX, false),
        // Lava keeps +2²³; v = 2²³ saturates to 2²³ − 1 > θ: spike and hard reset.
        (Wrap24::Lava, 1 << 10, edge, 0, true),
        // −2²³: two's complement keeps it; Lava stores +2²³ (and the neuron spikes).
        (Wrap24::TwosComplement, -(1 << 10), -edge, -V_MAX, false),
        (Wrap24::Lava, -(1 << 10), edge, 0, true),
    ];
    for (wrap, acc, u, v, spike) in cases {
        let m = model_wrap(4095, 4095, 0, 0, 1000, 7, wrap);
        let mut st = [0, 0];
        let s = step(&m, &mut st, acc);
        assert_eq!((st[1], st[0], s), (u, v, spike), "{wrap:?}, acc = {acc}");
    }
    // Inside the range the modes agree: acc = ±(2¹⁷ − 1) gives u = ±(2²³ − 64).
    for acc_lsb in [-1i32, 1] {
        let got: Vec<[i32; 2]> = [Wrap24::TwosComplement, Wrap24::Lava]
            .iter()
            .map(|&w| {
                let m = model_wrap(4095, 4095, 0, 0, 1000, 0, w);
                let mut st = [0, 0];
                step(&m, &mut st, if acc_lsb > 0 { (1 << 17) - 1 } else { -(1 << 17) + 1 });
                st
            })
            .collect();
        assert_eq!(got[0], got[1], "modes must agree away from ±2²³");
    }
}

/// Through a whole layer: a neuron whose current lands on +2²³ at step 0 and then decays slowly. The two
/// conventions give u values 2²⁴ apart, so v and the spikes differ at every following step (the
/// divergence hw-notes/loihi.md describes), not by one LSB.
#[test]
fn a_layer_whose_current_lands_on_2_pow_23_diverges_between_wrap_modes() {
    let fmt = Formats { weight_bits: 16, weight_frac: 0, ..Formats::DEFAULT };
    let run = |wrap: Wrap24| {
        let neuron = NeuronKind::LoihiCuba(model_wrap(8, 4000, 0, 0, 1000, 7, wrap));
        let cfg = LayerConfig {
            formats: fmt,
            neuron,
            presyn: PresynKind::None,
            trace_decay: Decay(0),
            learning_rate: LearningRate { mant: 0, shift: 0 },
            seed: 1,
        };
        let mut l: Layer<1, 1, 2> = Layer::new();
        l.configure(cfg).unwrap();
        l.set_weight(0, 0, Weight(1 << 10)).unwrap();
        let mut v = l.view().unwrap();
        let mut trace = Vec::new();
        for t in 0..6 {
            let input: &[u16] = if t == 0 { &[0] } else { &[] };
            v.integrate(input, false);
            let mut spikes = [0u16; 1];
            let (_, n) = v.fire(false, &mut spikes);
            trace.push((v.state()[1], v.state()[0], n == 1));
        }
        trace
    };
    let (two, lava) = (run(Wrap24::TwosComplement), run(Wrap24::Lava));
    assert_eq!(two[0].0, -(1 << 23));
    assert_eq!(lava[0].0, 1 << 23);
    for t in 0..6 {
        // u differs by exactly 2²⁴ minus the truncations of the decay: never by one LSB.
        assert!((lava[t].0 as i64 - two[t].0 as i64) > (1 << 23), "step {t}: {:?} vs {:?}", lava[t], two[t]);
        assert!(lava[t].2 && !two[t].2, "step {t}: Lava spikes every step, two's complement never");
    }
}
