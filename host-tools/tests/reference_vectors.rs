//! Spec §6.2 worked example: every row of both tables to 1e-6 (fidelity test against the spec vectors that
//! `shared/spec/algorithm_vectors.py` regenerates).
#![allow(clippy::needless_range_loop)]
use plasticore::reference::algo::{bptt, Algorithm, BiasCorrection, OnlineLearner, OnlineOptions};
use plasticore::reference::model::Neuron;
use plasticore::reference::net::{LayerConfig, LayerParams, LossKind, NetConfig, Output, Params, Sequence, Target};
use plasticore::reference::model::Presyn;

const TOL: f64 = 1e-6;
const X: [[f64; 2]; 3] = [[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];

fn cfg(exp: bool) -> NetConfig<Neuron> {
    let am = (-0.2f64).exp();
    let mut n = Neuron::lif(am);
    if exp {
        n = n.with_exp((-0.1f64).exp());
    }
    NetConfig {
        layers: vec![LayerConfig { n_in: 2, n: 2, recurrent: false, neuron: n, presyn: Presyn::None }],
        output: Output::Membrane,
        loss: LossKind::Mse,
    }
}

fn params() -> Params<f64> {
    Params { layers: vec![LayerParams { w: vec![0.6, 0.3, 0.5, 0.9], b: vec![0.0, 0.0] }], readout: vec![] }
}

fn tgt() -> Option<Target> {
    Some(Target::Values(vec![0.5, 1.0]))
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= TOL, "{what}: got {got:?}, want {want:?}");
    }
}

/// Cumulative ∂L/∂W after each step for an online algorithm.
fn online_rows(exp: bool, algo: Algorithm, opts: OnlineOptions) -> Vec<Vec<f64>> {
    let c = cfg(exp);
    let p = params();
    let mut ol = OnlineLearner::new(&c, &p, algo, opts).unwrap();
    X.iter()
        .map(|x| {
            ol.step(x, tgt().as_ref());
            ol.grads().layers[0].w.clone()
        })
        .collect()
}

fn bptt_rows(exp: bool) -> Vec<Vec<f64>> {
    let c = cfg(exp);
    let p = params();
    (1..=3)
        .map(|t| {
            let seq = Sequence { inputs: X[..t].iter().map(|x| x.to_vec()).collect(), targets: vec![tgt(); t] };
            bptt(&c, &p, &seq).unwrap().1.layers[0].w.clone()
        })
        .collect()
}

const ES_REF: [[f64; 4]; 3] = [
    [0.1, -0.7, 0.0, 0.0],
    [1.557545, -0.088378, 0.971697, 0.407748],
    [1.864525, 0.078293, 1.585656, 0.741090],
];
const ES_NONE: [[f64; 4]; 3] = [
    [0.05, -0.35, 0.0, 0.0],
    [1.143159, 0.108717, 0.728772, 0.305811],
    [1.411766, 0.254554, 1.265987, 0.597485],
];
const D_PURE: [[f64; 4]; 3] = [
    [0.1, -0.7, 0.0, 0.0],
    [1.923851, 0.077626, 1.091238, 0.445619],
    [2.505015, 0.393081, 1.923023, 0.891233],
];
const D_RENORM: [[f64; 4]; 3] = [
    [0.1, -0.7, 0.0, 0.0],
    [1.145160, -0.254381, 0.625335, 0.255363],
    [1.381082, -0.126323, 1.109401, 0.516360],
];

fn es(c: BiasCorrection) -> Algorithm {
    Algorithm::EsdRtrl { alpha: 0.5, correction: c }
}

#[test]
fn delta_es_reference_correction_rows() {
    for (t, row) in online_rows(false, es(BiasCorrection::Reference), OnlineOptions::default()).iter().enumerate() {
        assert_close(row, &ES_REF[t], &format!("ES ref t={t}"));
    }
}

#[test]
fn delta_es_no_correction_rows() {
    for (t, row) in online_rows(false, es(BiasCorrection::None), OnlineOptions::default()).iter().enumerate() {
        assert_close(row, &ES_NONE[t], &format!("ES c=1 t={t}"));
    }
}

#[test]
fn delta_pure_drtrl_rows_and_bptt_rows() {
    let d = online_rows(false, Algorithm::DRtrl { renorm: false }, OnlineOptions::default());
    let b = bptt_rows(false);
    for t in 0..3 {
        assert_close(&d[t], &D_PURE[t], &format!("D-RTRL t={t}"));
        assert_close(&b[t], &D_PURE[t], &format!("BPTT t={t}"));
    }
}

#[test]
fn delta_renormalised_drtrl_rows() {
    for (t, row) in online_rows(false, Algorithm::DRtrl { renorm: true }, OnlineOptions::default()).iter().enumerate() {
        assert_close(row, &D_RENORM[t], &format!("D-RTRL renorm t={t}"));
    }
}

#[test]
fn delta_intermediate_quantities() {
    // V_t, λ_t, ε^x_t, ε^f_t and c_t of the first table, and the D-RTRL traces (pure and renormalised).
    let c = cfg(false);
    let p = params();
    let v = [[0.6, 0.3], [1.591238, 1.445619], [0.984065, 1.264842]];
    let lam = [[0.1, -0.7], [1.091238, 0.445619], [0.484065, 0.264842]];
    let ex = [[1.0, 0.0], [1.5, 1.0], [0.75, 1.5]];
    let ef = [[0.5, 0.5], [0.667840, 0.686261], [0.739865, 0.734209]];
    let c_ref = [0.5, 0.75, 0.875];
    let mut es_l = OnlineLearner::new(&c, &p, es(BiasCorrection::Reference), OnlineOptions::default()).unwrap();
    let mut d_l = OnlineLearner::new(&c, &p, Algorithm::DRtrl { renorm: false }, OnlineOptions::default()).unwrap();
    let mut r_l = OnlineLearner::new(&c, &p, Algorithm::DRtrl { renorm: true }, OnlineOptions::default()).unwrap();
    let pure = [[1.0, 1.0, 0.0, 0.0], [1.671359, 1.745045, 1.0, 1.0], [1.200589, 1.191105, 1.718331, 1.682564]];
    let ren = [None, Some([0.957774, 1.0, 0.573051, 0.573051]), Some([0.487376, 0.483526, 1.0, 0.985481])];
    for t in 0..3 {
        es_l.step(&X[t], tgt().as_ref());
        d_l.step(&X[t], tgt().as_ref());
        r_l.step(&X[t], tgt().as_ref());
        assert_close(es_l.output(), &v[t], "V_t");
        assert_close(es_l.lambda(0), &lam[t], "lambda_t");
        let (x, f) = es_l.es_traces(0).unwrap();
        assert_close(x, &ex[t], "eps_x");
        assert_close(f, &ef[t], "eps_f");
        assert!((BiasCorrection::Reference.c(0.5, t) - c_ref[t]).abs() < 1e-12);
        assert_close(d_l.drtrl_trace(0).unwrap(), &pure[t], "D-RTRL trace");
        if let Some(r) = ren[t] {
            assert_close(r_l.drtrl_trace(0).unwrap(), &r, "renormalised trace");
        }
    }
}

#[test]
fn exponential_synapse_partial_lambda() {
    let es_ref = [-0.076878, -0.465099, 0.038632, -0.278564];
    let es_none = [-0.035934, -0.313731, 0.036962, -0.224443];
    let pure = [-0.008423, -0.740451, 0.063746, -0.288321];
    let o = OnlineOptions::default();
    assert_close(&online_rows(true, es(BiasCorrection::Reference), o)[2], &es_ref, "exp ES ref");
    assert_close(&online_rows(true, es(BiasCorrection::None), o)[2], &es_none, "exp ES c=1");
    assert_close(&online_rows(true, Algorithm::DRtrl { renorm: false }, o)[2], &pure, "exp D-RTRL");
    assert_close(&bptt_rows(true)[2], &pure, "exp BPTT");
    // V_t and final ε^f (rows j, columns [g, V])
    let c = cfg(true);
    let p = params();
    let mut l = OnlineLearner::new(&c, &p, es(BiasCorrection::Reference), o).unwrap();
    let v = [[0.108762, 0.054381], [0.386854, 0.311252], [0.676832, 0.659320]];
    for t in 0..3 {
        l.step(&X[t], tgt().as_ref());
        assert_close(l.output(), &v[t], "exp V_t");
    }
    assert_close(l.es_traces(0).unwrap().1, &[0.828551, 0.210813, 0.828551, 0.212593], "exp eps_f");
}

#[test]
fn exponential_synapse_double_counting_reproduces_brainscale() {
    // brainscale 0.1.0 uses the total λ_g = (1−α_m)·λ_V: these numbers confirm the discrepancy is understood.
    let o = OnlineOptions { total_lambda: true, ..Default::default() };
    let es_bs = [-0.154822, -0.861701, 0.064301, -0.487168];
    let d_bs = [-0.129794, -0.765290, 0.050830, -0.270910];
    let es_rows = online_rows(true, es(BiasCorrection::Reference), o);
    assert_close(&es_rows[2], &es_bs, "brainscale ES");
    assert_close(&online_rows(true, Algorithm::DRtrl { renorm: true }, o)[2], &d_bs, "brainscale D-RTRL");
    // first step exactly 2x the partial-λ value
    let partial = online_rows(true, es(BiasCorrection::Reference), OnlineOptions::default());
    assert_close(&es_rows[0], &[-0.141839, -0.342823, 0.0, 0.0], "first step, total");
    assert_close(&partial[0], &[-0.070919, -0.171412, 0.0, 0.0], "first step, partial");
}
