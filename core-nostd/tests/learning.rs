//! The on-chip rule learns: a recurrent network trained online with random feedback on a toy regression
//! task (two input patterns → two target output levels, MSE inside a loss window) reduces its loss by at
//! least 4× between the first 40 sequences and the last 120, on the default formats; the `Accumulate` mode
//! learns the same task too. The factor is a stated floor with margin: the runs reach 9–19× (printed with `--nocapture`).

use fixed::types::I32F32;
use plasticore_core::prelude::*;
use plasticore_core::rng::XorShift32;

const I: usize = 8;
const H: usize = 24;
type TestNet = Net<{ I + H }, H, 2, 1>;

fn net(feedback: Feedback) -> TestNet {
    let f = Formats::DEFAULT;
    let d = |x: &str| f.decay(I32F32::lit(x), Field::Decay).unwrap();
    let lif = Lif::new(
        LifParams {
            decay: d("0.9"),
            threshold: f.voltage(I32F32::ONE, Field::Threshold).unwrap(),
            reset: Reset::Soft,
            detach_reset: false,
            synapse: Synapse::Delta,
            surrogate: SurrogateParams::paper(&f),
        },
        &f,
    )
    .unwrap();
    let mut n = TestNet::new();
    n.configure(NetConfig {
        layer: LayerConfig {
            formats: f,
            neuron: NeuronKind::Lif(lif),
            presyn: PresynKind::None,
            trace_decay: d("0.8"),
            learning_rate: LearningRate { mant: 1, shift: 7 },
            seed: 11,
        },
        readout: ReadoutConfig {
            formats: f,
            decay: d("0.7"),
            loss: Loss::Mse,
            learning_rate: LearningRate { mant: 1, shift: 8 },
            seed: 12,
        },
        feedback,
        window: LossWindow { start: 10, end: 30 },
        recurrent: true,
        learn: true,
    })
    .unwrap();
    let mut rng = XorShift32::new(3);
    for a in 0..I + H {
        for j in 0..H {
            let span = if a < I { 60 } else { 10 };
            let w = (rng.next_u32() % (2 * span + 1)) as i32 - span as i32;
            n.set_weight(a, j, Weight(w as i16)).unwrap();
        }
    }
    n
}

/// Mean MSE loss (Q.16 → f64) of consecutive blocks of 40 sequences.
fn train(feedback: Feedback, accumulate: bool) -> Vec<f64> {
    let mut n = net(feedback);
    let mut acc = Accumulator::<{ I + H }, H, 2>::new();
    let mut rng = XorShift32::new(99);
    let one = 1i32 << 16;
    let mut blocks = Vec::new();
    let (mut sum, mut cnt) = (0i64, 0i64);
    for s in 0..400 {
        let class = (rng.next_u32() & 1) as usize;
        let target = if class == 0 { [one, -one / 2] } else { [-one / 2, one] };
        n.reset_state();
        for t in 0..30u32 {
            let mut ev = heapless::Vec::<u16, I>::new();
            for a in 0..I {
                let on = (a < I / 2) == (class == 0);
                if rng.chance(if on { u32::MAX / 5 } else { u32::MAX / 50 }) {
                    ev.push(a as u16).unwrap();
                }
            }
            let mode = if accumulate { UpdateMode::Accumulate(&mut acc) } else { UpdateMode::Online };
            let r = n.step(Timestep(t), &ev, Target::Values(&target), mode).unwrap();
            if let Some(l) = r.loss_q16 {
                sum += l;
                cnt += 1;
            }
        }
        if accumulate {
            n.apply(&mut acc).unwrap();
        }
        if (s + 1) % 40 == 0 {
            blocks.push(sum as f64 / 65536.0 / cnt as f64);
            (sum, cnt) = (0, 0);
        }
    }
    blocks
}

#[test]
fn online_random_feedback_reduces_loss_4x() {
    let b = train(Feedback::Random { seed: 5 }, false);
    let (first, last) = (b[0], b[b.len() - 3..].iter().sum::<f64>() / 3.0);
    eprintln!("loss {first:.4} -> {last:.4}: {:.1}x", first / last);
    assert!(first / last >= 4.0, "loss {first} -> {last}: {:?}", b);
}

#[test]
fn online_symmetric_feedback_reduces_loss_4x() {
    let b = train(Feedback::Symmetric, false);
    let (first, last) = (b[0], b[b.len() - 3..].iter().sum::<f64>() / 3.0);
    eprintln!("loss {first:.4} -> {last:.4}: {:.1}x", first / last);
    assert!(first / last >= 4.0, "loss {first} -> {last}: {:?}", b);
}

#[test]
fn accumulate_mode_reduces_loss_4x() {
    let b = train(Feedback::Symmetric, true);
    let (first, last) = (b[0], b[b.len() - 3..].iter().sum::<f64>() / 3.0);
    eprintln!("loss {first:.4} -> {last:.4}: {:.1}x", first / last);
    assert!(first / last >= 4.0, "loss {first} -> {last}: {:?}", b);
}
