//! The gradient of fixed-point ES-D-RTRL (the core's `Accumulate` mode with symmetric feedback, weights
//! frozen over the batch) against float ES-D-RTRL and BPTT (`plasticore::reference::algo`) on the same
//! quantized network, free running (no state is copied between the backends).
//!
//! With V_th = Δ = 1 and no bias correction, the core's accumulated ΔW is −η/(1 − α)·∇_ES up to rounding
//! (spec §8.1; `host-tools/tests/reference_onchip.rs` checks the float identity exactly), so the cosine of
//! −ΔW_acc with the float ES-D-RTRL gradient measures what fixed point loses: the per-step roundings
//! bounded in `plasticore_tests::tolerance`, and the spikes that flip where a neuron is within them of its
//! threshold (after which the trajectories differ).
//!
//! To BPTT: for unit vectors â, b̂, ĉ, |â·ĉ − b̂·ĉ| ≤ ‖â − b̂‖ = √(2 − 2·â·b̂), so
//! cos(fixed, BPTT) ≥ cos(float ES, BPTT) − √(2·(1 − cos(fixed, float ES))): the fixed gradient is as
//! close to BPTT as float ES-D-RTRL is, up to what it loses to float.
use plasticore::reference::algo::{bptt, sequence_grad, Algorithm, BiasCorrection, OnlineOptions};
use plasticore::reference::model::NeuronModel;
use plasticore::reference::net::{Params, Sequence};
use plasticore_tests::fixed::backend;
use plasticore_tests::float::{self, Constants};
use plasticore_tests::scenario::{Loss, Mode, Model, Presyn, Scenario, Signal, N, P};

fn cos(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// (cos(fixed, float ES), cos(fixed, BPTT), cos(float ES, BPTT)) of the hidden weights' gradient, and
/// cos(fixed, float) of the readout's, over `seqs` sequences of `sc`.
fn cosines<M: NeuronModel>(sc: &Scenario, m: M, seqs: u32) -> (f64, f64, f64, f64) {
    assert_eq!(sc.mode, Mode::Accumulate);
    let mut fx = backend(sc);
    let cfg = float::net_config(sc, m);
    let (w, v) = sc.weights();
    let p: Params<f64> = float::params(sc, &w, &v);
    let algo = Algorithm::EsdRtrl { alpha: Constants::of(sc).alpha, correction: BiasCorrection::None };
    let (mut g_es, mut g_bptt) = (Params::zeros(&cfg), Params::zeros(&cfg));
    for q in 0..seqs {
        fx.start_sequence(q);
        for t in 0..sc.steps {
            fx.step(t);
        }
        let sq = Scenario { sequence: q, ..*sc };
        let seq = Sequence {
            inputs: (0..sc.steps).map(|t| float::input(&sq, t)).collect(),
            targets: (0..sc.steps).map(|t| float::target(&sq, t)).collect(),
        };
        g_es.axpy(1.0, &sequence_grad(&cfg, &p, algo, OnlineOptions::default(), &seq).unwrap().1);
        g_bptt.axpy(1.0, &bptt(&cfg, &p, &seq).unwrap().1);
    }
    let snap = fx.snapshot();
    assert_eq!(snap.chip_effects, 0, "{}: the fixed run saturated", sc.name);
    let fixed_w: Vec<f64> = snap.acc_w.iter().map(|&a| -(a as f64)).collect();
    let fixed_v: Vec<f64> = snap.acc_v.iter().map(|&a| -(a as f64)).collect();
    assert_eq!(fixed_w.len(), P * N);
    (
        cos(&fixed_w, &g_es.layers[0].w),
        cos(&fixed_w, &g_bptt.layers[0].w),
        cos(&g_es.layers[0].w, &g_bptt.layers[0].w),
        cos(&fixed_v, &g_es.readout),
    )
}

#[test]
fn fixed_es_d_rtrl_gradient_is_aligned_with_float_es_d_rtrl_and_bptt() {
    let base = |name, model, loss, seed| Scenario {
        name,
        model,
        presyn: Presyn::None,
        loss,
        signal: Signal::Symmetric,
        mode: Mode::Accumulate,
        steps: 100,
        seed,
        sequence: 0,
    };
    let cases = [
        base("lif-delta-mse", Model::Lif { expon: false, hard: false }, Loss::Mse, 21),
        base("lif-expon-ce", Model::Lif { expon: true, hard: false }, Loss::CrossEntropy, 22),
        base("alif-delta-mse", Model::Alif { expon: false }, Loss::Mse, 23),
        base("alif-expon-ce", Model::Alif { expon: true }, Loss::CrossEntropy, 24),
    ];
    for sc in cases {
        let (es, bp, es_bp, ro) = cosines(&sc, float::neuron(&sc), 8);
        println!("{}: cos(fixed, float ES) {es:.5}, cos(fixed, BPTT) {bp:.5}, cos(float ES, BPTT) {es_bp:.5}, readout cos(fixed, float) {ro:.5}", sc.name);
        assert!(es >= 0.95, "{}: cos(fixed, float ES-D-RTRL) = {es}", sc.name);
        assert!(ro >= 0.95, "{}: readout cos(fixed, float) = {ro}", sc.name);
        let slack = (2.0 * (1.0 - es)).max(0.0).sqrt();
        assert!(bp >= es_bp - slack, "{}: cos(fixed, BPTT) {bp} < cos(float ES, BPTT) {es_bp} − {slack}", sc.name);
    }
}
