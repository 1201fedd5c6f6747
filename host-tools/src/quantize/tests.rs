//! The search on small float networks whose failure modes are known by construction: a weight outlier that
//! makes the no-clip binary point round every other weight to 0 (silence), and strong inhibition that a
//! too-fine binary point clips (saturation).
use super::float_net::{projections, FloatNet};
use super::search::{evaluate, search, SearchConfig, Verdict};
use super::*;
use crate::reference::model::Neuron;
use crate::reference::net::{LayerConfig, LossKind, NetConfig, Output, Params};
use crate::reference::rng::Rng;

fn lif() -> Neuron {
    Neuron::lif((-1.0f64 / 20.0).exp())
}

/// One feed-forward LIF layer n_in → n with a 2-output leaky readout.
fn ff(n_in: usize, n: usize) -> NetConfig<Neuron> {
    NetConfig {
        layers: vec![LayerConfig { n_in, n, recurrent: false, neuron: lif(), presyn: crate::reference::model::Presyn::None }],
        output: Output::LeakyReadout { n_out: 2, kappa: 0.9 },
        loss: LossKind::CrossEntropy,
    }
}

/// `seqs` sequences of `steps` steps: channel i spikes with probability `p(i)`.
fn inputs(n_in: usize, seqs: usize, steps: usize, p: impl Fn(usize) -> f64, seed: u64) -> Vec<Vec<Vec<f64>>> {
    let mut r = Rng::new(seed);
    (0..seqs).map(|_| (0..steps).map(|_| (0..n_in).map(|i| if r.bernoulli(p(i)) { 1.0 } else { 0.0 }).collect()).collect()).collect()
}

fn readout(p: &mut Params<f64>, r: &mut Rng) {
    p.readout.iter_mut().for_each(|v| *v = 0.2 * r.normal());
}

/// Silence: input 0 never spikes but carries a weight of 50 to every neuron; the other 39 inputs carry
/// 0.008–0.020. At 8 bits the no-clip point is frac 1 (LSB 0.5): every small weight rounds to 0.
fn outlier_net() -> (NetConfig<Neuron>, Params<f64>, Vec<Vec<Vec<f64>>>) {
    let (n_in, n) = (40, 20);
    let cfg = ff(n_in, n);
    let mut p = Params::zeros(&cfg);
    let mut r = Rng::new(3);
    for i in 0..n_in {
        for j in 0..n {
            p.layers[0].w[i * n + j] = if i == 0 { 50.0 } else { 0.008 + 0.012 * r.uniform() };
        }
    }
    readout(&mut p, &mut r);
    let x = inputs(n_in, 4, 100, |i| if i == 0 { 0.0 } else { 0.2 }, 5);
    (cfg, p, x)
}

/// Saturation: 20 excitatory inputs (p = 0.5, w ≈ 0.35) against 2 always-on inhibitory ones (w ≈ −1.6);
/// net drive ≈ 0.3 per step in float. A binary point of 7 clips the inhibition at −127/128.
fn inhibition_net() -> (NetConfig<Neuron>, Params<f64>, Vec<Vec<Vec<f64>>>) {
    let (n_in, n) = (22, 16);
    let cfg = ff(n_in, n);
    let mut p = Params::zeros(&cfg);
    let mut r = Rng::new(4);
    for i in 0..n_in {
        for j in 0..n {
            p.layers[0].w[i * n + j] = if i < 20 { 0.35 * (0.9 + 0.2 * r.uniform()) } else { -1.6 * (0.95 + 0.1 * r.uniform()) };
        }
    }
    readout(&mut p, &mut r);
    let x = inputs(n_in, 4, 100, |i| if i < 20 { 0.5 } else { 1.0 }, 6);
    (cfg, p, x)
}

fn rate(a: &Activity) -> f64 {
    a.rate.unwrap()
}

#[test]
fn the_search_keeps_alive_a_population_the_no_clip_point_silences() {
    let (cfg, p, x) = outlier_net();
    let projs = projections(&cfg, &p).unwrap();
    let mut cal = FloatNet::new(&cfg, &p, &x).unwrap();
    let sc = SearchConfig::new(8);
    let naive: Vec<i8> = projs.iter().map(|q| weights::no_clip_frac(&q.w, 8).unwrap() as i8).collect();
    assert_eq!(naive[0], 1, "50 · 2^1 = 100 ≤ 127 < 50 · 2^2");
    let rep = evaluate(&projs, &naive, &mut cal, &sc).unwrap();
    let l0 = &rep.populations[0];
    assert!(rate(&l0.float) > 0.05, "the float layer is active: {:?}", l0.float);
    assert!(matches!(l0.verdict, Verdict::Silent(_)), "{:?}", l0.verdict);
    let problems = rep.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("L0 goes silent: 0.0000 spikes/neuron/step"), "{}", problems[0]);
    assert!(problems[0].contains("L0.in at 8 bits, frac 1: 780 of 800 weights round to 0"), "{}", problems[0]);

    let rep = search(&projs, &mut cal, &sc).unwrap();
    let (c, l0) = (&rep.projections[0], &rep.populations[0]);
    assert_eq!(l0.verdict, Verdict::Alive);
    assert!(rep.problems().is_empty());
    // the outlier clips (input 0 never spikes, so that costs nothing) and the small weights keep 7 bits:
    // frac 12 (measured; 13 would clip the largest small weights, 0.02·2^13 = 164 > 127)
    assert_eq!(c.frac, 12);
    assert_eq!((c.stats.clipped, c.stats.zeroed), (20, 0));
    // tolerance: at frac 12 every small weight is within 2^-13 of its float value (≤ 1.6 % of 0.008), so the
    // membrane sums differ by at most that and only neurons near threshold flip; measured 0.07625 against
    // 0.076375 spikes/neuron/step (0.2 %); 5 % leaves room for a different seed
    let err = (rate(&l0.fixed) - rate(&l0.float)).abs() / rate(&l0.float);
    assert!(err < 0.05, "rate {} against float {}", rate(&l0.fixed), rate(&l0.float));
    assert_eq!(c.candidates.len(), 16);
    // deterministic
    assert_eq!(search(&projs, &mut cal, &sc).unwrap(), rep);
}

#[test]
fn clipped_inhibition_saturates_and_is_reported_and_the_search_avoids_it() {
    let (cfg, p, x) = inhibition_net();
    let projs = projections(&cfg, &p).unwrap();
    let mut cal = FloatNet::new(&cfg, &p, &x).unwrap();
    let sc = SearchConfig::new(8);
    let rep = evaluate(&projs, &[7, 7], &mut cal, &sc).unwrap();
    let l0 = &rep.populations[0];
    assert!(rate(&l0.float) < 0.6, "float rate {}", rate(&l0.float));
    assert!(matches!(l0.verdict, Verdict::Saturated(_)), "{:?}", l0.verdict);
    let problems = rep.problems();
    assert!(problems[0].starts_with("L0 saturates: "), "{problems:?}");
    assert!(problems[0].contains("32 clip at ±0.9921875"), "{}", problems[0]);
    let rep = search(&projs, &mut cal, &sc).unwrap();
    assert_eq!(rep.populations[0].verdict, Verdict::Alive);
    assert_eq!(rep.projections[0].stats.clipped, 0, "frac {}", rep.projections[0].frac);
    let l0 = &rep.populations[0];
    assert!((rate(&l0.fixed) - rate(&l0.float)).abs() / rate(&l0.float) < 0.1, "{:?} vs {:?}", l0.fixed, l0.float);
}

#[test]
fn a_population_silent_in_float_is_not_blamed_on_quantization() {
    let cfg = ff(5, 4);
    let p = Params::zeros(&cfg);
    let x = inputs(5, 1, 20, |_| 0.5, 1);
    let projs = projections(&cfg, &p).unwrap();
    let rep = search(&projs, &mut FloatNet::new(&cfg, &p, &x).unwrap(), &SearchConfig::new(8)).unwrap();
    assert_eq!(rep.populations[0].verdict, Verdict::SilentInFloat);
    assert!(rep.problems().is_empty());
    assert_eq!(rep.projections[0].no_clip_frac, None);
}

#[test]
fn stacked_networks_split_into_named_projections_that_reassemble_bit_for_bit() {
    let cfg = NetConfig {
        layers: vec![
            LayerConfig { n_in: 6, n: 5, recurrent: true, neuron: lif(), presyn: crate::reference::model::Presyn::None },
            LayerConfig { n_in: 5, n: 3, recurrent: false, neuron: lif(), presyn: crate::reference::model::Presyn::None },
        ],
        output: Output::LeakyReadout { n_out: 2, kappa: 0.9 },
        loss: LossKind::CrossEntropy,
    };
    let p = Params::init(&cfg, &mut Rng::new(2), Default::default());
    let projs = projections(&cfg, &p).unwrap();
    let names: Vec<(&str, &str, usize, usize)> = projs.iter().map(|q| (q.name.as_str(), q.target.as_str(), q.n_source, q.n_target)).collect();
    assert_eq!(names, vec![("L0.in", "L0", 6, 5), ("L0.rec", "L0", 5, 5), ("L1.in", "L1", 5, 3), ("readout", "readout", 3, 2)]);
    let x = inputs(6, 2, 30, |_| 0.3, 2);
    let cal = FloatNet::new(&cfg, &p, &x).unwrap();
    let w: Vec<Vec<f64>> = projs.iter().map(|q| q.w.clone()).collect();
    assert_eq!(cal.params_with(&w).unwrap(), p);
    assert_eq!(cal.populations(), vec!["L0", "L1", "readout"]);
    let rep = search(&projs, &mut FloatNet::new(&cfg, &p, &x).unwrap(), &SearchConfig::new(16)).unwrap();
    assert_eq!(rep.projections.len(), 4);
    assert_eq!(rep.populations.len(), 3);
}

#[test]
fn bad_inputs_are_errors() {
    let (cfg, p, x) = outlier_net();
    let projs = projections(&cfg, &p).unwrap();
    let mut cal = FloatNet::new(&cfg, &p, &x).unwrap();
    for bits in [1u8, 17] {
        assert!(matches!(search(&projs, &mut cal, &SearchConfig::new(bits)), Err(QuantizeError::Config(_))));
    }
    let mut bad = projs.clone();
    bad[0].w[3] = f64::NAN;
    assert_eq!(search(&bad, &mut cal, &SearchConfig::new(8)), Err(QuantizeError::NonFinite { projection: "L0.in".into(), index: 3 }));
    let mut bad = projs.clone();
    bad[0].target = "L9".into();
    assert!(matches!(search(&bad, &mut cal, &SearchConfig::new(8)), Err(QuantizeError::UnknownTarget { .. })));
    let mut bad = projs.clone();
    bad[0].w.pop();
    assert!(matches!(search(&bad, &mut cal, &SearchConfig::new(8)), Err(QuantizeError::Shape { .. })));
    assert!(evaluate(&projs, &[1], &mut cal, &SearchConfig::new(8)).is_err());
    let sc = SearchConfig { frac_min: 5, frac_max: 4, ..SearchConfig::new(8) };
    assert!(search(&projs, &mut cal, &sc).is_err());
    assert!(FloatNet::new(&cfg, &p, &[]).is_err());
    assert!(FloatNet::new(&cfg, &p, &[vec![vec![0.0; 3]]]).is_err());
}
