//! The built-in demo: a small recurrent spiking network learns, on the fixed-point core, to tell two
//! input patterns apart, with the on-chip ES-D-RTRL rule (symmetric feedback, softmax cross-entropy,
//! online stochastic-rounding updates). It is the README's run command.
//!
//! Task: 16 input axons; class 0 drives inputs 0–7 and class 1 inputs 8–15 at 10 % spike probability
//! per step, the others at 4 %; readout weights start at zero (loss ln 2). 32 recurrent LIF neurons (delta synapse, α_m = 0.9), 2 leaky readouts
//! (κ = 0.8). Each sequence lasts `steps_per_seq` steps; the loss window is its second half.

use fixed::types::I32F32;
use plasticore_core::prelude::*;
use plasticore_core::rng::XorShift32;

/// External inputs of the demo network.
pub const INPUTS: usize = 16;
/// Hidden neurons.
pub const HIDDEN: usize = 32;
/// Readout units (classes).
pub const OUTPUTS: usize = 2;
/// The demo network type: 16 external + 32 recurrent axons, 32 LIF neurons, 2 outputs, 1 state each.
pub type DemoNet = Net<{ INPUTS + HIDDEN }, HIDDEN, OUTPUTS, 1>;

/// Demo settings.
#[derive(Clone, Copy, Debug)]
pub struct DemoConfig {
    /// Training sequences.
    pub sequences: u32,
    /// Steps per sequence.
    pub steps_per_seq: u32,
    /// Seed of weights and inputs.
    pub seed: u32,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig { sequences: 400, steps_per_seq: 40, seed: 7 }
    }
}

/// Mean loss and accuracy over a block of sequences.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Block {
    /// Index of the first sequence of the block.
    pub first: u32,
    /// Mean cross-entropy over the loss-window steps (nats).
    pub loss: f64,
    /// Fraction of sequences whose summed readout picked the right class.
    pub accuracy: f64,
}

/// Build the demo network with seeded random weights.
pub fn build(seed: u32) -> Result<DemoNet, ConfigError> {
    let fmt = Formats::DEFAULT;
    let d = |x: &str| fmt.decay(I32F32::lit(x), Field::Decay);
    let lif = Lif::new(
        LifParams {
            decay: d("0.9")?,
            threshold: fmt.voltage(I32F32::ONE, Field::Threshold)?,
            reset: Reset::Soft,
            detach_reset: false,
            synapse: Synapse::Delta,
            surrogate: SurrogateParams::paper(&fmt),
        },
        &fmt,
    )?;
    let cfg = NetConfig {
        layer: LayerConfig {
            formats: fmt,
            neuron: NeuronKind::Lif(lif),
            presyn: PresynKind::None,
            trace_decay: d("0.9")?,
            learning_rate: LearningRate { mant: 1, shift: 8 },
            seed,
        },
        readout: ReadoutConfig {
            formats: fmt,
            decay: d("0.8")?,
            loss: Loss::CrossEntropy,
            learning_rate: LearningRate { mant: 1, shift: 10 },
            seed: seed ^ 0xABCD,
        },
        feedback: Feedback::Symmetric,
        window: LossWindow { start: 0, end: u32::MAX },
        recurrent: true,
        learn: true,
    };
    let mut net = DemoNet::new();
    net.configure(cfg)?;
    let mut rng = XorShift32::new(seed);
    let mut small = |span: i32| (rng.next_u32() % (2 * span as u32 + 1)) as i32 - span;
    for a in 0..INPUTS + HIDDEN {
        for j in 0..HIDDEN {
            let span = if a < INPUTS { 40 } else { 12 };
            net.set_weight(a, j, Weight(small(span) as i16))?;
        }
    }
    // Readout weights start at zero, so the first loss is ln 2 (chance) and every gain is learnt.
    Ok(net)
}

/// Train and call `on_block` every `block` sequences with the block's mean loss and accuracy.
pub fn run(cfg: DemoConfig, block: u32, mut on_block: impl FnMut(Block)) -> Result<Vec<Block>, ConfigError> {
    let mut net = build(cfg.seed)?;
    let mut rng = XorShift32::new(cfg.seed.wrapping_mul(31).wrapping_add(1));
    let half = cfg.steps_per_seq / 2;
    let mut blocks = Vec::new();
    let (mut loss_sum, mut loss_n, mut correct, mut seen) = (0i64, 0u64, 0u32, 0u32);
    let hi = u32::MAX / 10; // 10 %
    let lo = u32::MAX / 25; // 4 %
    for s in 0..cfg.sequences {
        let class = (rng.next_u32() & 1) as u16;
        net.reset_state();
        let mut score = [0i64; OUTPUTS];
        for t in 0..cfg.steps_per_seq {
            let mut input = heapless::Vec::<u16, INPUTS>::new();
            for a in 0..INPUTS as u16 {
                let on = (a as usize / (INPUTS / 2)) as u16 == class;
                if rng.chance(if on { hi } else { lo }) {
                    let _ = input.push(a);
                }
            }
            let target = if t >= half { Target::Class(class) } else { Target::None };
            let rep = net.step(Timestep(t), &input, target, UpdateMode::Online)?;
            if let Some(l) = rep.loss_q16 {
                loss_sum += l;
                loss_n += 1;
                for (sc, &r) in score.iter_mut().zip(net.outputs()) {
                    *sc += r as i64;
                }
            }
        }
        let guess = if score[1] > score[0] { 1 } else { 0 };
        correct += (guess == class) as u32;
        seen += 1;
        if (s + 1) % block == 0 {
            let b = Block {
                first: s + 1 - block,
                loss: loss_sum as f64 / 65536.0 / loss_n.max(1) as f64,
                accuracy: correct as f64 / seen as f64,
            };
            on_block(b);
            blocks.push(b);
            (loss_sum, loss_n, correct, seen) = (0, 0, 0, 0);
        }
    }
    Ok(blocks)
}
