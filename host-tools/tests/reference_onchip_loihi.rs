//! The float on-chip rule's extensions for the fixed-point cross-checks (`tests/` crate): the float Loihi
//! CUBA model, state snapshots, and `External` λ on a step without a target.
use plasticore::reference::model::{dual_jacobians, NeuronModel, Neuron, Presyn};
use plasticore::reference::net::{LayerConfig, LossKind, NetConfig, Output, Params, Target};
use plasticore::reference::onchip::{Feedback, LoihiCuba, OnChip, OnChipConfig, UpdateMode};
use plasticore::reference::scalar::Surrogate;

/// du = 410, dv = 205, bias −3 ≪ 2, θ = 10 ≪ 6 = 640, by hand: δu = 3685/4096, δv = 3891/4096.
#[test]
fn loihi_float_model_steps_resets_and_has_the_cores_jacobians() {
    let m = LoihiCuba::from_registers(410, 205, -3, 2, 10, Surrogate::default());
    assert_eq!((m.decay_u, m.decay_v, m.bias, m.theta), (3685.0 / 4096.0, 3891.0 / 4096.0, -12.0, 640.0));
    // no spike before: u = δu·100 + 50, v = δv·300 + u − 12
    let mut h = [0.0; 2];
    m.step(&[100.0, 300.0], 50.0, &mut h);
    let u = 3685.0 / 4096.0 * 100.0 + 50.0;
    assert_eq!(h, [u, 3891.0 / 4096.0 * 300.0 + u - 12.0]);
    // v = 700 > θ spiked at the previous step: its reset (to 0) is applied now, v = 0·δv + u − 12
    m.step(&[100.0, 700.0], 50.0, &mut h);
    assert_eq!(h, [u, u - 12.0]);
    // Jacobians by duals equal core-nostd's closed form D = [[δu, 0], [δu, δv]] (states [u, v]), D^f = [1, 1],
    // with and without a spike at the previous step (the reset is detached).
    for v in [300.0, 700.0] {
        let (mut d, mut df) = ([0.0; 4], [0.0; 2]);
        dual_jacobians(&m, &[100.0, v], 50.0, &mut d, &mut df);
        assert_eq!(d, [m.decay_u, 0.0, m.decay_u, m.decay_v], "v = {v}");
        assert_eq!(df, [1.0, 1.0]);
    }
    assert_eq!(m.vhat(&[0.0, 960.0]), 0.5);
}

fn net() -> NetConfig<Neuron> {
    NetConfig {
        layers: vec![LayerConfig { n_in: 3, n: 4, recurrent: true, neuron: Neuron::lif(0.9), presyn: Presyn::None }],
        output: Output::LeakyReadout { n_out: 2, kappa: 0.8 },
        loss: LossKind::Mse,
    }
}

#[test]
fn external_lambda_without_target_trains_hidden_weights_only() {
    let cfg = net();
    let mut p = Params::zeros(&cfg);
    p.layers[0].w.iter_mut().enumerate().for_each(|(q, w)| *w = 0.3 + 0.05 * q as f64);
    p.readout.iter_mut().for_each(|v| *v = 0.5);
    let oc = OnChipConfig { alpha: 0.9, eta: 0.1, eta_o: 0.1, feedback: Feedback::External, mode: UpdateMode::Accumulate };
    let mut chip = OnChip::new(cfg, p, oc).unwrap();
    let lam = [0.1, -0.2, 0.3, 0.05];
    for _ in 0..5 {
        assert_eq!(chip.step(&[1.0, 0.0, 1.0], None, Some(&lam)).unwrap(), 0.0);
    }
    let acc = chip.accumulated();
    assert!(acc.readout.iter().all(|&v| v == 0.0), "no target: the readout must not learn");
    // ΔW_ij = −η·ε^x_i·ẽ_j·λ_j each step: the sign of a column follows −λ_j on an active row.
    for (j, l) in lam.iter().enumerate() {
        let d = acc.layers[0].w[j];
        assert!(d != 0.0 && d.signum() == -l.signum(), "column {j}: {d}");
    }
    assert!(chip.step(&[1.0, 0.0, 1.0], None, Some(&[0.0; 3])).is_err(), "λ of the wrong length");
}

#[test]
fn snapshot_and_load_round_trip_and_reject_wrong_shapes() {
    let cfg = net();
    let mut p = Params::zeros(&cfg);
    p.layers[0].w.iter_mut().for_each(|w| *w = 0.6);
    let oc = OnChipConfig { alpha: 0.9, eta: 0.0, eta_o: 0.0, feedback: Feedback::Symmetric, mode: UpdateMode::Online };
    let mut a = OnChip::new(cfg.clone(), p.clone(), oc.clone()).unwrap();
    let mut b = OnChip::new(cfg, p, oc).unwrap();
    let tgt = Target::Values(vec![0.2, -0.1]);
    for t in 0..7 {
        a.step(&[1.0, (t % 2) as f64, 0.0], Some(&tgt), None).unwrap();
    }
    b.load(&a.snapshot()).unwrap();
    assert_eq!(b.snapshot(), a.snapshot());
    for _ in 0..5 {
        let (la, lb) = (a.step(&[0.0, 1.0, 1.0], Some(&tgt), None).unwrap(), b.step(&[0.0, 1.0, 1.0], Some(&tgt), None).unwrap());
        assert_eq!(la, lb);
    }
    assert_eq!(b.snapshot(), a.snapshot());
    let mut bad = a.snapshot();
    bad.ef.pop();
    assert!(b.load(&bad).is_err());
}
