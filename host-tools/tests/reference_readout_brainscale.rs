//! `OnlineOptions::readout`: the exact readout trace (default) against brainscale 0.1.0's readout gradient
//! (spec §1.6: the readout goes through the algorithm's own trace machinery with D = κ, D^f = 1).
//!
//! The network is built so that the readout's input is known in closed form: one input, one
//! feed-forward LIF neuron with α_m = 0 and W_in = 2 (so V_t = 2·u_t and s_t = u_t), one output with
//! V = 1, κ = 0.5, MSE against 0 on every step (e_t = r_t). Input spikes u = [1, 0, 1, 1].
//!
//! By hand (every value a dyadic fraction, exact in f64):
//! * r_t = κ·r_{t−1} + s_t = 1, 0.5, 1.25, 1.625 = e_t.
//! * exact: ε^o = r (V = 1), ∂L/∂V = Σ e·ε^o = 1 + 0.25 + 1.5625 + 2.640625 = **5.453125**.
//! * ES-D-RTRL, α = 0.75, c ≡ 1: ε^x_o = 1, 0.75, 1.5625, 2.171875; ε^f_o ← 0.375·ε^f_o + 0.25 = 0.25,
//!   0.34375, 0.37890625, 0.39208984375; Σ e·ε^x_o·ε^f_o = 0.25 + 0.12890625 + 0.740051269531 25 +
//!   1.383801460266 113 28 = **2.502758979797363 28125**.
//! * the same with brainscale's c_t = 1 − (1 − α)^(t+1) = 0.75, 0.9375, 0.984375, 0.99609375:
//!   0.333… + 0.1375 + 0.751798120… + 1.389220853… = **2.611859581072012**.
//! * D-RTRL with max-abs renormalisation: ε ← κ·ε + s = 1, 0.5, 1.25 → 1, 1.5 → 1;
//!   Σ e·ε = 1 + 0.25 + 1.25 + 1.625 = **4.125**.
use plasticore::reference::algo::{sequence_grad, Algorithm, BiasCorrection, OnlineOptions, ReadoutGradient};
use plasticore::reference::model::{Neuron, Presyn};
use plasticore::reference::net::{InitScales, LayerConfig, LossKind, NetConfig, Output, Params, Sequence, Target};
use plasticore::reference::rng::Rng;

fn tiny() -> (NetConfig<Neuron>, Params<f64>, Sequence) {
    let cfg = NetConfig {
        layers: vec![LayerConfig { n_in: 1, n: 1, recurrent: false, neuron: Neuron::lif(0.0), presyn: Presyn::None }],
        output: Output::LeakyReadout { n_out: 1, kappa: 0.5 },
        loss: LossKind::Mse,
    };
    let mut p = Params::zeros(&cfg);
    p.layers[0].w[0] = 2.0;
    p.readout[0] = 1.0;
    let seq = Sequence {
        inputs: [1.0, 0.0, 1.0, 1.0].iter().map(|&u| vec![u]).collect(),
        targets: (0..4).map(|_| Some(Target::Values(vec![0.0]))).collect(),
    };
    (cfg, p, seq)
}

fn readout_grad(algo: Algorithm, readout: ReadoutGradient) -> f64 {
    let (cfg, p, seq) = tiny();
    let opts = OnlineOptions { readout, ..Default::default() };
    sequence_grad(&cfg, &p, algo, opts, &seq).unwrap().1.readout[0]
}

#[test]
fn brainscale_readout_gradient_matches_hand_computation() {
    let es = |c| Algorithm::EsdRtrl { alpha: 0.75, correction: c };
    let drtrl = |renorm| Algorithm::DRtrl { renorm };
    // The default is exact, for every algorithm.
    for algo in [es(BiasCorrection::None), es(BiasCorrection::Reference), drtrl(true), drtrl(false), Algorithm::Bptt] {
        assert_eq!(readout_grad(algo, ReadoutGradient::default()), 5.453125, "{algo:?}");
    }
    // 2.50275897979736328125 exactly = 2 624 333 / 2²⁰
    assert_eq!(readout_grad(es(BiasCorrection::None), ReadoutGradient::Brainscale), 2_624_333.0 / 1_048_576.0);
    let r = readout_grad(es(BiasCorrection::Reference), ReadoutGradient::Brainscale);
    assert!((r - 2.611_859_581_072_012).abs() < 1e-13, "{r}");
    assert_eq!(readout_grad(drtrl(true), ReadoutGradient::Brainscale), 4.125);
    // Pure D-RTRL's readout trace is the exact one.
    assert_eq!(readout_grad(drtrl(false), ReadoutGradient::Brainscale), 5.453125);
}

/// The option changes only the readout's gradient: hidden weights, biases and the loss are bit-identical,
/// on a recurrent network with an exponential synapse and a cross-entropy loss.
#[test]
fn brainscale_readout_option_leaves_hidden_gradients_alone() {
    let cfg = NetConfig {
        layers: vec![LayerConfig {
            n_in: 4,
            n: 6,
            recurrent: true,
            neuron: Neuron::lif(0.9).with_exp(0.8),
            presyn: Presyn::None,
        }],
        output: Output::LeakyReadout { n_out: 3, kappa: 0.8 },
        loss: LossKind::CrossEntropy,
    };
    let mut rng = Rng::new(5);
    let p = Params::init(&cfg, &mut rng, InitScales { ff: 4.0, rec: 1.0, out: 1.0 });
    let seq = Sequence {
        inputs: (0..40).map(|_| (0..4).map(|_| if rng.bernoulli(0.3) { 1.0 } else { 0.0 }).collect()).collect(),
        targets: (0..40).map(|t| (t >= 20).then_some(Target::Class(t % 3))).collect(),
    };
    for algo in [Algorithm::EsdRtrl { alpha: 0.9, correction: BiasCorrection::Reference }, Algorithm::DRtrl { renorm: true }] {
        let run = |readout| {
            sequence_grad(&cfg, &p, algo, OnlineOptions { readout, ..Default::default() }, &seq).unwrap()
        };
        let (la, a) = run(ReadoutGradient::Exact);
        let (lb, b) = run(ReadoutGradient::Brainscale);
        assert_eq!(la, lb);
        assert_eq!(a.layers, b.layers, "{algo:?}");
        assert!(a.readout.iter().any(|&v| v != 0.0));
        assert_ne!(a.readout, b.readout, "{algo:?}: the readout gradient must differ");
    }
}
