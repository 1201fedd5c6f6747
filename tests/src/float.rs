//! The float backend: the scenario on `plasticore::reference::onchip::OnChip` (spec §8.1 in `f64`), with
//! the core's quantized constants and weights converted to `f64` exactly.

use crate::fixed::FixedState;
use crate::scenario::{Loss as L, Mode, Model, Presyn as Pre, Scenario, Signal as Sig, N, NI, O, P};
use plasticore::reference::model::{Neuron, NeuronKind, NeuronModel, Presyn, ResetMode, Synapse};
use plasticore::reference::net::{LayerConfig, LayerParams, LossKind, NetConfig, Output, Params};
use plasticore::reference::onchip::{Feedback, LoihiCuba, OnChip, OnChipConfig, OnChipState, UpdateMode};
use plasticore::reference::scalar::Surrogate;
use plasticore_core::neuron::SurrogateParams;

/// Raw `m · 2^-frac` as f64 (exact for the formats used).
pub fn val(m: i64, frac: u8) -> f64 {
    m as f64 * (-(frac as f64)).exp2()
}

/// The quantized constants, as the core holds them.
pub struct Constants {
    /// α_m, α_s, k, ρ, β, α, κ.
    pub alpha_m: f64,
    /// α_s.
    pub alpha_s: f64,
    /// k.
    pub gain: f64,
    /// ρ.
    pub rho: f64,
    /// β (state units).
    pub beta: f64,
    /// ES α.
    pub alpha: f64,
    /// κ.
    pub kappa: f64,
    /// ψ amplitude (Q.16 rounded 0.3).
    pub amp: f64,
    /// Loihi θ (raw).
    pub theta: f64,
}

impl Constants {
    /// The constants of `sc` after quantization.
    pub fn of(sc: &Scenario) -> Self {
        let f = sc.formats();
        let d = |x: f64| val(crate::scenario::q(x, f.decay_frac), f.decay_frac);
        Constants {
            alpha_m: d(Scenario::ALPHA_M),
            alpha_s: d(Scenario::ALPHA_S),
            gain: d(Scenario::GAIN),
            rho: d(Scenario::RHO),
            beta: val(crate::scenario::q(Scenario::BETA, f.state_frac), f.state_frac),
            alpha: d(Scenario::ALPHA),
            kappa: d(Scenario::KAPPA),
            amp: val(SurrogateParams::paper(&f).amplitude.0 as i64, f.signal_frac),
            theta: Scenario::LOIHI.2 as f64 * 64.0,
        }
    }
}

/// The float twin of the scenario's LIF/ALIF neuron.
pub fn neuron(sc: &Scenario) -> Neuron {
    let c = Constants::of(sc);
    let (kind, expon, hard) = match sc.model {
        Model::Lif { expon, hard } => (NeuronKind::Lif, expon, hard),
        Model::Alif { expon } => (NeuronKind::Alif { rho: c.rho, beta: c.beta }, expon, false),
        Model::Loihi => (NeuronKind::Lif, false, false),
    };
    Neuron {
        kind,
        synapse: if expon { Synapse::Exponential { alpha_s: c.alpha_s, gain: c.gain } } else { Synapse::Delta },
        alpha_m: c.alpha_m,
        v_th: 1.0,
        reset: if hard { ResetMode::Hard } else { ResetMode::Soft },
        detach_reset: false,
        surrogate: Surrogate { height: c.amp, width: 1.0 },
    }
}

/// The float twin of the scenario's Loihi compartment.
pub fn loihi(sc: &Scenario) -> LoihiCuba {
    let (du, dv, vth) = Scenario::LOIHI;
    LoihiCuba::from_registers(du, dv, 0, 0, vth, Surrogate { height: Constants::of(sc).amp, width: 1.0 })
}

/// The float network of `sc` with neuron model `m`.
pub fn net_config<M: NeuronModel>(sc: &Scenario, m: M) -> NetConfig<M> {
    let f = sc.formats();
    let c = Constants::of(sc);
    let d = |x: f64| val(crate::scenario::q(x, f.decay_frac), f.decay_frac);
    let presyn = match sc.presyn {
        Pre::None => Presyn::None,
        Pre::Std => Presyn::Std { u: val(crate::scenario::q(Scenario::STD.1, 16), 16), decay_d: d(Scenario::STD.0) },
        Pre::Stp => Presyn::Stp {
            u: val(crate::scenario::q(Scenario::STP.2, 16), 16),
            decay_f: d(Scenario::STP.0),
            decay_d: d(Scenario::STP.1),
        },
    };
    NetConfig {
        layers: vec![LayerConfig { n_in: NI, n: N, recurrent: true, neuron: m, presyn }],
        output: Output::LeakyReadout { n_out: O, kappa: c.kappa },
        loss: match sc.loss {
            L::Mse => LossKind::Mse,
            L::CrossEntropy => LossKind::CrossEntropy,
        },
    }
}

/// The float learner (spec §8.1) for `sc` with neuron model `m`.
pub fn learner<M: NeuronModel>(sc: &Scenario, m: M) -> OnChip<M> {
    let f = sc.formats();
    let c = Constants::of(sc);
    let net = net_config(sc, m);
    let (w, v) = sc.weights();
    let params = params(sc, &w, &v);
    let wf = f.weight_frac as i32;
    let feedback = match sc.signal {
        Sig::Symmetric => Feedback::Symmetric,
        Sig::External => Feedback::External,
        Sig::Random => Feedback::RandomFeedback(
            (0..N * O).map(|q| val(sc.random_feedback(q / O, q % O) as i64, f.weight_frac)).collect(),
        ),
    };
    let cfg = OnChipConfig {
        alpha: c.alpha,
        // The core moves a weight mantissa by η·ε^x·ẽ·λ·2^weight_frac LSB; in the float's units that is
        // η·2^weight_frac·unit (unit = 2^-weight_frac for LIF/ALIF, so η itself).
        eta: (-(Scenario::SHIFT as f64)).exp2() * (wf as f64).exp2() * sc.hidden_unit(),
        eta_o: (-(Scenario::SHIFT_O as f64)).exp2(),
        feedback,
        mode: match sc.mode {
            Mode::Online => UpdateMode::Online,
            Mode::Accumulate => UpdateMode::Accumulate,
        },
    };
    OnChip::new(net, params, cfg).expect("valid float network")
}

/// Float parameters from the core's mantissas.
pub fn params(sc: &Scenario, w: &[i16], v: &[i16]) -> Params<f64> {
    let wf = sc.formats().weight_frac;
    Params {
        layers: vec![LayerParams { w: w.iter().map(|&m| m as f64 * sc.hidden_unit()).collect(), b: vec![0.0; N] }],
        readout: v.iter().map(|&m| val(m as i64, wf)).collect(),
    }
}

/// The core's state converted to the float learner's layouts (exact). For Loihi the core keeps v after
/// the reset, the float before it: a neuron that spiked gets v = θ + 1, which the float's next step
/// resets to the same 0 (and it gives the same recurrent spike).
pub fn state(sc: &Scenario, fx: &FixedState) -> OnChipState {
    let f = sc.formats();
    let s = sc.states();
    let map = sc.slot_map();
    let mut h = vec![0.0; N * s];
    let mut ef = vec![0.0; N * s];
    for j in 0..N {
        for (fs, &cs) in map.iter().enumerate() {
            h[j * s + fs] = fx.state[j * s + cs] as f64 * sc.state_unit();
            ef[j * s + fs] = val(fx.etrace[j * s + cs] as i64, f.etrace_frac);
        }
    }
    if sc.model == Model::Loihi {
        for &j in &fx.spikes {
            h[j as usize * s + 1] = Constants::of(sc).theta + 1.0;
        }
    }
    let pre = match sc.presyn {
        Pre::None => Vec::new(),
        Pre::Std => fx.presyn.iter().map(|p| val(p[0] as i64, 16)).collect(),
        Pre::Stp => fx.presyn.iter().flat_map(|p| [val(p[0] as i64, 16), val(p[1] as i64, 16)]).collect(),
    };
    debug_assert_eq!(fx.xtrace.len(), P);
    OnChipState {
        h,
        pre,
        r: fx.r.iter().map(|&r| val(r as i64, f.state_frac)).collect(),
        ex: fx.xtrace.iter().map(|&x| val(x as i64, f.trace_frac)).collect(),
        ef,
        eo: fx.otrace.iter().map(|&x| val(x as i64, f.trace_frac)).collect(),
    }
}

/// The float targets of step `t` (`None` outside the loss window or for `External` scenarios).
pub fn target(sc: &Scenario, t: u32) -> Option<plasticore::reference::net::Target> {
    use plasticore::reference::net::Target;
    let gf = sc.formats().signal_frac;
    match sc.target(t) {
        crate::scenario::StepTarget::Values(v) => Some(Target::Values(v.iter().map(|&x| val(x as i64, gf)).collect())),
        crate::scenario::StepTarget::Class(k) => Some(Target::Class(k as usize)),
        _ => None,
    }
}

/// The float input vector of step `t`.
pub fn input(sc: &Scenario, t: u32) -> Vec<f64> {
    let a = sc.input(t);
    (0..NI).map(|i| if a.contains(&(i as u16)) { 1.0 } else { 0.0 }).collect()
}
