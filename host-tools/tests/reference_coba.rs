//! The E/I COBA network (spec §5 evidence accumulation): its neuron is written only as a generic
//! `step_ports`, so its gradients must be exact through duals (BPTT = full RTRL), the multi-port plumbing of
//! D-RTRL must be exact where D-RTRL is (one feed-forward layer), and the connectivity mask must hold.
use plasticore::reference::algo::{bptt, rtrl, sequence_grad, Algorithm, BiasCorrection, OnlineOptions};
use plasticore::reference::coba_ei::CobaEi;
use plasticore::reference::model::{NeuronModel, Presyn};
use plasticore::reference::net::{InitScales, LayerConfig, LossKind, NetConfig, Output, Params, Sequence, Target};
use plasticore::reference::optim::{Optimizer, OptimizerKind};
use plasticore::reference::rng::Rng;
use plasticore::reference::scalar::{Scalar, Surrogate};
use plasticore::reference::train::train_batch_masked;

fn seq(rng: &mut Rng, n_in: usize, t: usize, p: f64) -> Sequence {
    let inputs = (0..t).map(|_| (0..n_in).map(|_| if rng.bernoulli(p) { 1.0 } else { 0.0 }).collect()).collect();
    let targets = (0..t).map(|s| (s >= t / 2).then(|| Target::Class(rng.below(2)))).collect();
    Sequence { inputs, targets }
}

fn max_rel_diff(a: &Params<f64>, b: &Params<f64>) -> f64 {
    let (fa, fb) = (a.flat(), b.flat());
    let scale = fa.iter().fold(1e-300f64, |m, x| m.max(x.abs()));
    fa.iter().zip(&fb).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max) / scale
}

/// A small E/I model with faster constants so that a short sequence spikes and adapts.
fn small(n: usize, detach: bool) -> CobaEi {
    CobaEi { alpha_m: (-0.1f64).exp(), rho_2: (-0.02f64).exp(), detach_reset: detach, ..CobaEi::paper(n, 3) }
}

#[test]
fn coba_ei_bptt_equals_full_rtrl() {
    let mut rng = Rng::new(5);
    for detach in [true, false] {
        for standardize in [true, false] {
            let m = small(5, detach);
            assert_eq!((m.n_exc, m.n_ports()), (4, 3));
            let cfg = NetConfig {
                layers: vec![LayerConfig { n_in: 3, n: 5, recurrent: true, neuron: m, presyn: Presyn::None }],
                output: Output::MembraneReadout { n_out: 2, kappa: 0.8, standardize },
                loss: LossKind::CrossEntropy,
            };
            let (p, _) = m.init_params(&cfg, &mut rng, InitScales { ff: 40.0, rec: 8.0, out: 2.0 }, 4.0, 0.6).unwrap();
            let s = seq(&mut rng, 3, 40, 0.4);
            let (lb, gb) = bptt(&cfg, &p, &s).unwrap();
            let (lr, gr) = rtrl(&cfg, &p, &s).unwrap();
            assert!((lb - lr).abs() < 1e-9 * lb.abs().max(1.0));
            let d = max_rel_diff(&gb, &gr);
            assert!(d < 1e-9, "detach={detach} standardize={standardize}: BPTT vs RTRL {d}");
            // recurrent E and I rows both carry gradient (ports 1 and 2 are reached)
            let w = &gb.layers[0].w;
            assert!((3 * 5..7 * 5).any(|q| w[q] != 0.0) && (7 * 5..8 * 5).any(|q| w[q] != 0.0));
        }
    }
}

/// A test-only two-port model: conductances g_a (axons with even index) and g_b (odd) into one membrane.
#[derive(Clone, Copy, Debug)]
struct TwoPort;
impl NeuronModel for TwoPort {
    fn n_states(&self) -> usize {
        3
    }
    fn membrane_index(&self) -> usize {
        2
    }
    fn n_ports(&self) -> usize {
        2
    }
    fn axon_port(&self, i: usize, _n_in: usize) -> usize {
        i % 2
    }
    fn surrogate(&self) -> Surrogate {
        Surrogate::default()
    }
    fn vhat<T: Scalar>(&self, h: &[T]) -> T {
        h[2] - T::cst(1.0)
    }
    fn step<T: Scalar>(&self, h_prev: &[T], y: T, h: &mut [T]) {
        self.step_ports(h_prev, &[y, T::zero()], h)
    }
    fn step_ports<T: Scalar>(&self, h_prev: &[T], y: &[T], h: &mut [T]) {
        let s = self.vhat(h_prev).spike(&self.surrogate());
        h[0] = T::cst(0.8) * h_prev[0] + y[0];
        h[1] = T::cst(0.6) * h_prev[1] + y[1];
        let v = h_prev[2] - s;
        // conductance-like: the b input pulls V towards −2
        h[2] = v + T::cst(0.1) * (h[0] * (T::cst(3.0) - v) + h[1] * (T::cst(-2.0) - v) - v);
    }
}

#[test]
fn multi_port_drtrl_equals_bptt_for_one_feedforward_layer() {
    let mut rng = Rng::new(9);
    let cfg = NetConfig {
        layers: vec![LayerConfig { n_in: 4, n: 3, recurrent: false, neuron: TwoPort, presyn: Presyn::None }],
        output: Output::Membrane,
        loss: LossKind::Mse,
    };
    let p = Params::init(&cfg, &mut rng, InitScales { ff: 3.0, rec: 1.0, out: 1.0 });
    let inputs: Vec<Vec<f64>> = (0..30).map(|_| (0..4).map(|_| if rng.bernoulli(0.4) { 1.0 } else { 0.0 }).collect()).collect();
    let targets = (0..30).map(|t| (t > 10).then(|| Target::Values(vec![0.5, 1.2, -0.3]))).collect();
    let s = Sequence { inputs, targets };
    let (_, gb) = bptt(&cfg, &p, &s).unwrap();
    let (_, gr) = rtrl(&cfg, &p, &s).unwrap();
    assert!(max_rel_diff(&gb, &gr) < 1e-9);
    let (_, gd) = sequence_grad(&cfg, &p, Algorithm::DRtrl { renorm: false }, OnlineOptions::default(), &s).unwrap();
    let d = max_rel_diff(&gb, &gd);
    assert!(d < 1e-10, "two-port D-RTRL vs BPTT {d}");
    assert!(gb.layers[0].w.iter().all(|g| g.abs() > 0.0), "both ports carry gradient");
    // ES-D-RTRL with α = 0 keeps only the current step: ε^x ⊗ ε^f = x_t ⊗ D^f_t per port, i.e. the one-step
    // truncation; it must differ from the exact gradient here but be finite and use both ports
    let (_, ge) = sequence_grad(&cfg, &p, Algorithm::EsdRtrl { alpha: 0.0, correction: BiasCorrection::None }, OnlineOptions::default(), &s).unwrap();
    assert!(ge.layers[0].w.iter().all(|g| g.is_finite()));
    assert!(ge.layers[0].w.iter().step_by(3).any(|&g| g != 0.0));
}

#[test]
fn paper_network_shape_and_mask_hold_under_training() {
    let m = CobaEi::paper(800, 1);
    assert_eq!(m.n_exc, 640);
    let cfg = NetConfig {
        layers: vec![LayerConfig { n_in: 100, n: 800, recurrent: true, neuron: m, presyn: Presyn::None }],
        output: Output::MembraneReadout { n_out: 2, kappa: 0.9, standardize: true },
        loss: LossKind::CrossEntropy,
    };
    let (p, mask) = m.init_params(&cfg, &mut Rng::new(2), InitScales { ff: 4.0, rec: 2.0, out: 2.0 }, 4.0, 0.1).unwrap();
    let kept = mask[0].iter().filter(|&&k| k).count() as f64 / mask[0].len() as f64;
    assert!((kept - 0.1).abs() < 0.005, "connection fraction {kept}");
    assert!(p.layers[0].w.iter().zip(&mask[0]).all(|(&w, &k)| k || w == 0.0));
    // bad settings are errors
    assert!(m.init_params(&cfg, &mut Rng::new(2), InitScales::default(), 4.0, 1.5).is_err());
    let bad = NetConfig { layers: vec![LayerConfig { n: 640, ..cfg.layers[0] }], ..cfg.clone() };
    assert!(m.init_params(&bad, &mut Rng::new(2), InitScales::default(), 4.0, 0.1).is_err());
    // a smaller network trained a few steps: absent synapses stay exactly 0, present ones move
    let m = small(20, true);
    let cfg = NetConfig {
        layers: vec![LayerConfig { n_in: 6, n: 20, recurrent: true, neuron: m, presyn: Presyn::None }],
        output: Output::MembraneReadout { n_out: 2, kappa: 0.9, standardize: true },
        loss: LossKind::CrossEntropy,
    };
    let mut rng = Rng::new(4);
    let (mut p, mask) = m.init_params(&cfg, &mut rng, InitScales { ff: 20.0, rec: 4.0, out: 2.0 }, 4.0, 0.3).unwrap();
    let p0 = p.clone();
    let mut opt = Optimizer::new(OptimizerKind::adam(1e-2), p.len()).unwrap();
    let batch: Vec<Sequence> = (0..4).map(|_| seq(&mut rng, 6, 60, 0.3)).collect();
    let algo = Algorithm::EsdRtrl { alpha: 0.9, correction: BiasCorrection::Reference };
    for _ in 0..3 {
        train_batch_masked(&cfg, &mut p, &mut opt, algo, &batch, Some(1.0), Some(&mask)).unwrap();
    }
    let w = &p.layers[0].w;
    assert!(w.iter().zip(&mask[0]).all(|(&w, &k)| k || w == 0.0), "an absent synapse moved");
    assert!(w.iter().zip(&p0.layers[0].w).zip(&mask[0]).any(|((a, b), &k)| k && a != b), "no present synapse moved");
    assert!(train_batch_masked(&cfg, &mut p, &mut opt, algo, &batch, Some(1.0), Some(&[])).is_err());
}
