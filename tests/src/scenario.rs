//! The scenario type: a small recurrent network (6 inputs, 8 hidden neurons, 3 outputs) with every
//! constant given once, as the raw fixed-point integer both backends read.

use plasticore_core::format::Formats;
use plasticore_core::rng::{self, XorShift32};

/// External inputs.
pub const NI: usize = 6;
/// Hidden neurons.
pub const N: usize = 8;
/// Outputs.
pub const O: usize = 3;
/// Hidden-layer axons: the inputs, then the hidden spikes of the previous step (recurrent).
pub const P: usize = NI + N;

/// Neuron model of the hidden layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// LIF, delta or exponential synapse, soft or hard reset (reset attached).
    Lif {
        /// Exponential synapse.
        expon: bool,
        /// Hard reset.
        hard: bool,
    },
    /// ALIF (soft reset, attached), delta or exponential synapse.
    Alif {
        /// Exponential synapse.
        expon: bool,
    },
    /// Loihi CUBA-LIF (two's-complement wrap, never reached here).
    Loihi,
}

/// Input-side plasticity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presyn {
    /// Spikes enter as 1.
    None,
    /// Short-term depression.
    Std,
    /// Short-term facilitation and depression.
    Stp,
}

/// Readout loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// ½Σ(r − target)².
    Mse,
    /// Softmax cross-entropy.
    CrossEntropy,
}

/// Learning-signal source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// B = V.
    Symmetric,
    /// The core's hashed random matrix (the float backend gets the same matrix).
    Random,
    /// λ given per step (seeded), no readout learning on those steps.
    External,
}

/// Update mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Weights move every step (stochastic rounding in the core).
    Online,
    /// ΔW is summed in an accumulator.
    Accumulate,
}

/// One scenario of the suite.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// Name in test output.
    pub name: &'static str,
    /// Hidden neuron model.
    pub model: Model,
    /// STD/STP on every axon.
    pub presyn: Presyn,
    /// Loss.
    pub loss: Loss,
    /// Learning signal.
    pub signal: Signal,
    /// Update mode.
    pub mode: Mode,
    /// Steps of the run.
    pub steps: u32,
    /// Seed of inputs, weights and targets.
    pub seed: u32,
    /// Sequence number: varies the inputs and targets (not the weights) between sequences of a batch.
    pub sequence: u32,
}

/// The per-step target of a scenario (raw integers of the core).
#[derive(Clone, Debug, PartialEq)]
pub enum StepTarget {
    /// Outside the loss window.
    None,
    /// MSE targets, Q.`signal_frac`.
    Values([i32; O]),
    /// Cross-entropy class.
    Class(u16),
    /// External λ per hidden neuron, Q.`signal_frac`.
    Lambda([i32; N]),
}

/// First step of the loss window.
pub const WINDOW_START: u32 = 3;

/// `round(x · 2^frac)` for the configuration constants below.
pub fn q(x: f64, frac: u8) -> i64 {
    (x * (1u64 << frac) as f64).round() as i64
}

impl Scenario {
    /// Number formats (the defaults of spec §8.2).
    pub fn formats(&self) -> Formats {
        Formats::DEFAULT
    }

    /// State variables per neuron in the core.
    pub fn states(&self) -> usize {
        match self.model {
            Model::Lif { expon, .. } => 1 + expon as usize,
            Model::Alif { expon } => 2 + expon as usize,
            Model::Loihi => 2,
        }
    }

    /// Membrane decay α_m (LIF/ALIF).
    pub const ALPHA_M: f64 = 0.9;
    /// Synaptic decay α_s and gain k of the exponential synapse.
    pub const ALPHA_S: f64 = 0.8;
    /// Gain k of the exponential synapse.
    pub const GAIN: f64 = 0.5;
    /// ALIF adaptation decay ρ and β.
    pub const RHO: f64 = 0.95;
    /// ALIF β.
    pub const BETA: f64 = 0.5;
    /// ES trace decay α.
    pub const ALPHA: f64 = 0.9;
    /// Readout decay κ.
    pub const KAPPA: f64 = 0.8;
    /// Learning rates η = 2^-SHIFT (hidden) and η_o = 2^-SHIFT_O.
    pub const SHIFT: u8 = 10;
    /// Readout learning-rate shift.
    pub const SHIFT_O: u8 = 10;
    /// Loihi registers: du, dv, threshold mantissa (bias 0, weight exponent 0).
    pub const LOIHI: (u16, u16, u32) = (410, 205, 120);
    /// STD: decay_d, U. STP: decay_f, decay_d, U.
    pub const STD: (f64, f64) = (0.9, 0.3);
    /// STP parameters.
    pub const STP: (f64, f64, f64) = (0.8, 0.9, 0.2);
    /// Stochastic-rounding seeds and the random-feedback seed.
    pub const SEEDS: (u32, u32, u32) = (11, 22, 33);

    fn rng(&self, stream: u32) -> XorShift32 {
        XorShift32::new(self.seed.wrapping_mul(0x9E37_79B9) ^ stream)
    }

    /// Hidden weight mantissas (`w[axon * N + j]`) and readout mantissas (`v[j * O + k]`).
    pub fn weights(&self) -> (Vec<i16>, Vec<i16>) {
        let mut r = self.rng(1);
        let mut uni = |lo: i32, hi: i32| lo + (r.next_u32() % (hi - lo + 1) as u32) as i32;
        // Inputs excite on average, recurrent weights are balanced; Loihi's input is ≪ 6 in raw units
        // with θ = 120 ≪ 6, so the same mantissas drive it similarly.
        let (lo, hi) = match self.model {
            Model::Loihi => (-40, 90),
            _ => (-50, 90),
        };
        let w = (0..P * N).map(|q| if q < NI * N { uni(lo, hi) } else { uni(-40, 40) } as i16).collect();
        let v = (0..N * O).map(|_| uni(-60, 60) as i16).collect();
        (w, v)
    }

    /// External axons active at step `t` (each with probability 0.3).
    pub fn input(&self, t: u32) -> Vec<u16> {
        let mut r = XorShift32::new(self.seed ^ t.wrapping_mul(0x85EB_CA77) ^ 0x1234 ^ self.sequence.wrapping_mul(0x27D4_EB2F));
        (0..NI as u16).filter(|_| r.chance(0x4CCC_CCCD)).collect()
    }

    /// The target of step `t`.
    pub fn target(&self, t: u32) -> StepTarget {
        if t < WINDOW_START {
            return StepTarget::None;
        }
        let mut r = XorShift32::new(self.seed ^ t.wrapping_mul(0x2545_F491) ^ 0x77 ^ self.sequence.wrapping_mul(0x1656_67B1));
        let gf = self.formats().signal_frac;
        match (self.signal, self.loss) {
            (Signal::External, _) => {
                // λ uniform in ±0.05 (Q.16).
                let lim = q(0.05, gf) as u32;
                StepTarget::Lambda(core::array::from_fn(|_| (r.next_u32() % (2 * lim + 1)) as i32 - lim as i32))
            }
            (_, Loss::Mse) => {
                // targets in [−0.5, 1.5], a multiple of 2^-8 (any Q.16 value would do)
                StepTarget::Values(core::array::from_fn(|_| ((r.next_u32() % 513) as i32 - 128) << (gf - 8)))
            }
            (_, Loss::CrossEntropy) => StepTarget::Class((r.next_u32() % O as u32) as u16),
        }
    }

    /// Mantissa of the core's random feedback B_jk (`Feedback::Random`), as `readout.rs` hashes it.
    pub fn random_feedback(&self, j: usize, k: usize) -> i32 {
        let f = self.formats();
        let key = rng::row_key(Self::SEEDS.2, 0x5EED_FEED, j as u32);
        ((rng::cell(key, k as u32) as i32) >> (32 - f.weight_bits as u32)).clamp(-f.weight_max(), f.weight_max())
    }

    /// Value of one weight mantissa in the units the float backend uses for the hidden layer's input:
    /// 2^-weight_frac for LIF/ALIF, raw register units (2^(weight_exp + 6) = 64) for Loihi.
    pub fn hidden_unit(&self) -> f64 {
        match self.model {
            Model::Loihi => 64.0,
            _ => (-(self.formats().weight_frac as f64)).exp2(),
        }
    }

    /// Value of one LSB of the neuron state in the float backend's units (Q.state_frac, or raw for Loihi).
    pub fn state_unit(&self) -> f64 {
        match self.model {
            Model::Loihi => 1.0,
            _ => (-(self.formats().state_frac as f64)).exp2(),
        }
    }

    /// For each float state slot, the core slot it mirrors (the float keeps [g, V, a] / [u, v], the core
    /// [V, a, g] / [v, u]).
    pub fn slot_map(&self) -> Vec<usize> {
        match self.model {
            Model::Lif { expon: false, .. } => vec![0],
            Model::Lif { expon: true, .. } => vec![1, 0],
            Model::Alif { expon: false } => vec![0, 1],
            Model::Alif { expon: true } => vec![2, 0, 1],
            Model::Loihi => vec![1, 0],
        }
    }
}

/// The suite: every neuron model, synapse, STD/STP, both losses, each learning signal and both update
/// modes appear at least once (a full cross product would add run time without adding paths).
pub fn suite() -> Vec<Scenario> {
    use Loss::*;
    use Mode::*;
    use Signal::*;
    let s = |name, model, presyn, loss, signal, mode, seed| Scenario { name, model, presyn, loss, signal, mode, steps: 300, seed, sequence: 0 };
    let lif = |expon, hard| Model::Lif { expon, hard };
    vec![
        s("lif-delta-mse-symmetric-online", lif(false, false), Presyn::None, Mse, Symmetric, Online, 1),
        s("lif-delta-hard-ce-symmetric-accumulate", lif(false, true), Presyn::None, CrossEntropy, Symmetric, Accumulate, 2),
        s("lif-expon-mse-random-accumulate", lif(true, false), Presyn::None, Mse, Random, Accumulate, 3),
        s("lif-expon-ce-external-online", lif(true, false), Presyn::None, CrossEntropy, External, Online, 4),
        s("lif-expon-std-mse-symmetric-accumulate", lif(true, false), Presyn::Std, Mse, Symmetric, Accumulate, 5),
        s("lif-delta-stp-ce-random-online", lif(false, false), Presyn::Stp, CrossEntropy, Random, Online, 6),
        s("alif-delta-mse-symmetric-accumulate", Model::Alif { expon: false }, Presyn::None, Mse, Symmetric, Accumulate, 7),
        s("alif-delta-ce-random-online", Model::Alif { expon: false }, Presyn::None, CrossEntropy, Random, Online, 8),
        s("alif-expon-stp-mse-external-accumulate", Model::Alif { expon: true }, Presyn::Stp, Mse, External, Accumulate, 9),
        s("alif-expon-std-ce-symmetric-online", Model::Alif { expon: true }, Presyn::Std, CrossEntropy, Symmetric, Online, 10),
        s("loihi-mse-symmetric-accumulate", Model::Loihi, Presyn::None, Mse, Symmetric, Accumulate, 11),
        s("loihi-ce-external-online", Model::Loihi, Presyn::None, CrossEntropy, External, Online, 12),
        s("loihi-mse-random-online", Model::Loihi, Presyn::None, Mse, Random, Online, 13),
    ]
}
