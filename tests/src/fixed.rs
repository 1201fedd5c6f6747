//! The fixed-point backend: the scenario on `plasticore_core::net::Net` (one `Net::step` per timestep).

use crate::scenario::{q, Loss as L, Mode, Model, Presyn as Pre, Scenario, Signal as Sig, StepTarget, N, O, P};
use plasticore_core::layer::{LayerConfig, LearningRate};
use plasticore_core::net::{Accumulator, LossWindow, Net, NetConfig, Timestep, UpdateMode};
use plasticore_core::neuron::{
    Alif, AlifParams, Lif, LifParams, LoihiCuba, LoihiParams, NeuronKind, Reset, SurrogateParams, Synapse, Wrap24,
};
use plasticore_core::prelude::{
    Decay, Depression, DepressionParams, Efficacy, Facilitation, FacilitationParams, PresynKind, Voltage, Weight,
};
use plasticore_core::readout::{Feedback, Loss, ReadoutConfig, Target};

/// Everything the comparison reads from the core after a step, as raw integers.
#[derive(Clone, Debug, Default)]
pub struct FixedState {
    /// Neuron states, `j * S + slot` (core slot order).
    pub state: Vec<i32>,
    /// ẽ^f, same layout, Q.etrace_frac.
    pub etrace: Vec<i32>,
    /// ε^x, Q.trace_frac.
    pub xtrace: Vec<u16>,
    /// STD/STP states per axon, Q.16.
    pub presyn: Vec<[i32; 2]>,
    /// ψ of the last step, Q.signal_frac.
    pub psi: Vec<i32>,
    /// Hidden neurons that spiked at the last step.
    pub spikes: Vec<u16>,
    /// Readout r, Q.state_frac.
    pub r: Vec<i32>,
    /// ε^o, Q.trace_frac.
    pub otrace: Vec<u16>,
    /// e of the last step, Q.signal_frac.
    pub err: Vec<i32>,
    /// Hidden weights (mantissas), readout weights.
    pub w: Vec<i16>,
    /// Readout weight mantissas.
    pub v: Vec<i16>,
    /// Accumulators (weight LSB · 2⁻¹⁶), empty in `Online` mode.
    pub acc_w: Vec<i32>,
    /// Readout accumulator.
    pub acc_v: Vec<i32>,
    /// Loss of the last step (Q.16), if any.
    pub loss_q16: Option<i64>,
    /// Total chip effects (saturations, drops) so far.
    pub chip_effects: u64,
}

/// A core network of any state count, behind one interface.
pub trait FixedBackend {
    /// Run step `t` of the scenario.
    fn step(&mut self, t: u32);
    /// Read everything back.
    fn snapshot(&mut self) -> FixedState;
    /// Start sequence `q` of the scenario: clear neuron state, traces and readout (weights and the
    /// accumulator are kept).
    fn start_sequence(&mut self, q: u32);
}

/// The core's configuration for a scenario.
pub fn net_config(sc: &Scenario) -> NetConfig {
    let f = sc.formats();
    let (df, sf, gf) = (f.decay_frac, f.state_frac, f.signal_frac);
    let dec = |x: f64| Decay(q(x, df) as u32);
    let sur = SurrogateParams::paper(&f);
    let synapse = |expon: bool| {
        if expon {
            Synapse::Expon { decay: dec(Scenario::ALPHA_S), gain: dec(Scenario::GAIN) }
        } else {
            Synapse::Delta
        }
    };
    let neuron = match sc.model {
        Model::Lif { expon, hard } => NeuronKind::Lif(
            Lif::new(
                LifParams {
                    decay: dec(Scenario::ALPHA_M),
                    threshold: Voltage(1 << sf),
                    reset: if hard { Reset::Hard } else { Reset::Soft },
                    detach_reset: false,
                    synapse: synapse(expon),
                    surrogate: sur,
                },
                &f,
            )
            .expect("valid LIF"),
        ),
        Model::Alif { expon } => NeuronKind::Alif(
            Alif::new(
                AlifParams {
                    decay: dec(Scenario::ALPHA_M),
                    adapt_decay: dec(Scenario::RHO),
                    beta: Voltage(q(Scenario::BETA, sf) as i32),
                    threshold: Voltage(1 << sf),
                    reset: Reset::Soft,
                    detach_reset: false,
                    synapse: synapse(expon),
                    surrogate: sur,
                },
                &f,
            )
            .expect("valid ALIF"),
        ),
        Model::Loihi => {
            let (du, dv, vth) = Scenario::LOIHI;
            NeuronKind::LoihiCuba(
                LoihiCuba::new(
                    LoihiParams {
                        du,
                        dv,
                        bias_mant: 0,
                        bias_exp: 0,
                        vth_mant: vth,
                        weight_exp: 0,
                        surrogate: sur,
                        wrap: Wrap24::TwosComplement,
                    },
                    &f,
                )
                .expect("valid Loihi"),
            )
        }
    };
    let presyn = match sc.presyn {
        Pre::None => PresynKind::None,
        Pre::Std => PresynKind::Depression(
            Depression::new(
                DepressionParams { decay: dec(Scenario::STD.0), u: Efficacy(q(Scenario::STD.1, 16) as i32) },
                &f,
            )
            .expect("valid STD"),
        ),
        Pre::Stp => PresynKind::Facilitation(
            Facilitation::new(
                FacilitationParams {
                    decay_f: dec(Scenario::STP.0),
                    decay_d: dec(Scenario::STP.1),
                    u: Efficacy(q(Scenario::STP.2, 16) as i32),
                },
                &f,
            )
            .expect("valid STP"),
        ),
    };
    let _ = gf;
    NetConfig {
        layer: LayerConfig {
            formats: f,
            neuron,
            presyn,
            trace_decay: dec(Scenario::ALPHA),
            learning_rate: LearningRate { mant: 1, shift: Scenario::SHIFT },
            seed: Scenario::SEEDS.0,
        },
        readout: ReadoutConfig {
            formats: f,
            decay: dec(Scenario::KAPPA),
            loss: match sc.loss {
                L::Mse => Loss::Mse,
                L::CrossEntropy => Loss::CrossEntropy,
            },
            learning_rate: LearningRate { mant: 1, shift: Scenario::SHIFT_O },
            seed: Scenario::SEEDS.1,
        },
        feedback: match sc.signal {
            Sig::Symmetric => Feedback::Symmetric,
            Sig::Random => Feedback::Random { seed: Scenario::SEEDS.2 },
            Sig::External => Feedback::External,
        },
        window: LossWindow { start: crate::scenario::WINDOW_START, end: u32::MAX },
        recurrent: true,
        learn: true,
    }
}

/// The scenario on a `Net` with `S` states per neuron.
pub struct Fixed<const S: usize> {
    sc: Scenario,
    net: Box<Net<P, N, O, S>>,
    acc: Box<Accumulator<P, N, O>>,
    loss: Option<i64>,
}

impl<const S: usize> Fixed<S> {
    /// Configure the network and load the scenario's weights.
    pub fn new(sc: &Scenario) -> Self {
        let mut net = Box::new(Net::<P, N, O, S>::new());
        net.configure(net_config(sc)).expect("valid network");
        let (w, v) = sc.weights();
        for a in 0..P {
            for j in 0..N {
                net.set_weight(a, j, Weight(w[a * N + j])).expect("weight in range");
            }
        }
        for j in 0..N {
            for k in 0..O {
                net.set_readout_weight(j, k, Weight(v[j * O + k])).expect("weight in range");
            }
        }
        Fixed { sc: *sc, net, acc: Box::new(Accumulator::new()), loss: None }
    }

    /// The network (for tests that drive it directly).
    pub fn net(&mut self) -> &mut Net<P, N, O, S> {
        &mut self.net
    }

    /// The accumulator.
    pub fn accumulator(&self) -> &Accumulator<P, N, O> {
        &self.acc
    }
}

impl<const S: usize> FixedBackend for Fixed<S> {
    fn step(&mut self, t: u32) {
        let input = self.sc.input(t);
        let tgt = self.sc.target(t);
        let target = match &tgt {
            StepTarget::None => Target::None,
            StepTarget::Values(v) => Target::Values(v),
            StepTarget::Class(c) => Target::Class(*c),
            StepTarget::Lambda(l) => Target::Lambda(l),
        };
        let mode = match self.sc.mode {
            Mode::Online => UpdateMode::Online,
            Mode::Accumulate => UpdateMode::Accumulate(&mut self.acc),
        };
        let rep = self.net.step(Timestep(t), &input, target, mode).expect("configured");
        self.loss = rep.loss_q16;
    }

    fn start_sequence(&mut self, q: u32) {
        self.sc.sequence = q;
        self.net.reset_state();
    }

    fn snapshot(&mut self) -> FixedState {
        let (sh, sr) = self.net.saturations();
        let spikes = self.net.spikes().to_vec();
        let w: Vec<i16> = self.net.weights().iter().map(|w| w.0).collect();
        let v: Vec<i16> = self.net.readout_weights().iter().map(|w| w.0).collect();
        let (acc_w, acc_v) = match self.sc.mode {
            Mode::Online => (Vec::new(), Vec::new()),
            Mode::Accumulate => (self.acc.hidden().to_vec(), self.acc.readout().to_vec()),
        };
        let l = self.net.layer().expect("configured");
        let (state, etrace, xtrace, presyn, psi) =
            (l.state().to_vec(), l.etrace().to_vec(), l.xtrace().to_vec(), l.presyn().to_vec(), l.psi().to_vec());
        let r = self.net.readout().expect("configured");
        FixedState {
            state,
            etrace,
            xtrace,
            presyn,
            psi,
            spikes,
            r: r.output().to_vec(),
            otrace: r.otrace().to_vec(),
            err: r.err().to_vec(),
            w,
            v,
            acc_w,
            acc_v,
            loss_q16: self.loss,
            chip_effects: sh.total() + sr.total(),
        }
    }
}

/// The backend for a scenario, with the right state count.
pub fn backend(sc: &Scenario) -> Box<dyn FixedBackend> {
    match sc.states() {
        1 => Box::new(Fixed::<1>::new(sc)),
        2 => Box::new(Fixed::<2>::new(sc)),
        _ => Box::new(Fixed::<3>::new(sc)),
    }
}

