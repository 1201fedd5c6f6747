//! Inputs at the edge of the core's API are errors or documented wraps, never silent zeros, overflows or
//! panics. Questions answered:
//! * targets: is an MSE target of the wrong length (or a class outside the outputs) an error at
//!   `Net::step`, before any state changes, and no target at all (not a zero-padded one) for a direct
//!   `ReadoutMut::error` call?
//! * image length: does `image::encoded_len` give the exact length when it fits the header's u32 field and
//!   an error otherwise, for every dimension up to the u16 maxima?
//! * step counters: do the hidden layer's and the readout's learning-step counters wrap after 2³² learning
//!   steps (documented in `hw-notes/formats.md`), so that step 2³² uses the random words of step 0?

mod common;

use common::{lif_config, Owned};
use plasticore_core::image::{self, ImageError, Runner, Stimulus, TargetRule};
use plasticore_core::layer::{OpCounts, Signal};
use plasticore_core::prelude::*;
use plasticore_core::readout::{ReadoutBuffers, ReadoutMut};
use plasticore_core::rng::XorShift32;

type Small = Net<12, 8, 2, 1>;

/// The firmware's smoke network (4 inputs, 8 recurrent LIF, 2 outputs) with random weights, run for 20
/// steps so that its state, traces and weights are not all zero.
fn warm_net(loss: Loss) -> Box<Small> {
    let mut d = image::example_desc(4, 8, 2, true);
    d.readout.loss = loss;
    let mut net: Box<Small> = Box::default();
    net.configure(d.config().unwrap()).unwrap();
    let mut r = XorShift32::new(5);
    for a in 0..12 {
        for j in 0..8 {
            net.set_weight(a, j, Weight((r.next_u32() % 121) as i16 - 40)).unwrap();
        }
    }
    for j in 0..8 {
        for k in 0..2 {
            net.set_readout_weight(j, k, Weight((r.next_u32() % 41) as i16 - 20)).unwrap();
        }
    }
    let mut run = Runner::new(Stimulus { seed: 3, rate: 1 << 30, steps: 20, target: TargetRule::GroupActivity, amplitude: 1 << 16 });
    run.run(&mut *net).unwrap();
    assert!(net.weights().iter().any(|w| w.0 != 0) && net.outputs().iter().any(|&r| r != 0));
    net
}

#[test]
fn mse_target_of_the_wrong_length_is_an_error_before_the_step() {
    let mut net = warm_net(Loss::Mse);
    let before = net.checksum();
    let one = 1 << 16;
    for bad in [&[][..], &[one][..], &[one, one, one][..]] {
        let e = net.step(Timestep(20), &[0, 1], Target::Values(bad), UpdateMode::Online).unwrap_err();
        assert_eq!(e, ConfigError::SizeMismatch { field: Field::Target, expected: 2, found: bad.len() });
        assert!(e.to_string().contains("target"), "{e}");
        // Nothing moved: not the hidden layer, not the readout, not the traces.
        assert_eq!(net.checksum(), before, "a rejected step changed the network ({} values)", bad.len());
    }
    // The right length steps and learns.
    let rep = net.step(Timestep(20), &[0, 1], Target::Values(&[one, -one]), UpdateMode::Online).unwrap();
    assert!(rep.loss_q16.is_some());
    assert_ne!(net.checksum(), before);
}

#[test]
fn cross_entropy_class_outside_the_outputs_is_an_error_before_the_step() {
    let mut net = warm_net(Loss::CrossEntropy);
    let before = net.checksum();
    for c in [2u16, 7, u16::MAX] {
        let e = net.step(Timestep(20), &[0], Target::Class(c), UpdateMode::Online).unwrap_err();
        assert_eq!(e, ConfigError::OutOfRange { field: Field::Target, value: c as i64, min: 0, max: 1 });
        assert_eq!(net.checksum(), before);
    }
    assert!(net.step(Timestep(20), &[0], Target::Class(1), UpdateMode::Online).unwrap().loss_q16.is_some());
}

/// A direct `ReadoutMut::error` (the datapath, no error path) with a target `Target::check` rejects:
/// no loss and e = 0, so nothing learns — not e = r − 0 for the missing outputs.
#[test]
fn readout_error_phase_treats_an_unchecked_short_target_as_no_target() {
    let f = Formats::DEFAULT;
    let cfg = ReadoutConfig {
        formats: f,
        decay: Decay((1 << f.decay_frac) / 5 * 4),
        loss: Loss::Mse,
        learning_rate: LearningRate { mant: 1, shift: 6 },
        seed: 7,
    };
    let mut weights = [Weight(50); 4 * 3];
    let (mut r, mut otrace, mut err, mut grad) = ([0i32; 3], [0u16; 4], [0i32; 3], [0i64; 3]);
    let (mut sat, mut updates) = (Saturations::default(), 0u32);
    let b = ReadoutBuffers {
        weights: &mut weights,
        r: &mut r,
        otrace: &mut otrace,
        err: &mut err,
        grad: &mut grad,
        sat: &mut sat,
        updates: &mut updates,
    };
    let mut ro = ReadoutMut::new(&cfg, b, 4, 3).unwrap();
    ro.integrate(&[0, 1, 2], true);
    assert!(ro.output().iter().all(|&r| r != 0));
    let t = [1 << 16, 1 << 16, 1 << 16];
    assert!(ro.error(Target::Values(&t)).is_some());
    assert!(ro.err().iter().all(|&e| e != 0));
    assert_eq!(
        ro.check_target(Target::Values(&t[..2])),
        Err(ConfigError::SizeMismatch { field: Field::Target, expected: 3, found: 2 })
    );
    assert_eq!(ro.error(Target::Values(&t[..2])), None);
    assert_eq!(ro.err(), &[0, 0, 0]);
    let w0 = ro.weights().to_vec();
    assert_eq!(ro.learn(), OpCounts::default());
    assert_eq!(ro.weights(), &w0[..]);
}

/// `encoded_len` against the exact length in u128 (fixed part measured from a weightless description):
/// `Ok(exact)` iff the image fits the u32 length field, else `OutOfRange` on `Field::Image`. Covers the
/// u16 maxima (≈ 1.7·10¹⁰ bytes: a wrapped or saturated usize would give a wrong `Ok`, on a 32-bit MCU
/// even a small one) and random dimensions around the 2³² boundary.
#[test]
fn encoded_len_is_exact_or_an_error_never_wrapped() {
    let base = image::example_desc(4, 8, 2, true);
    let mut empty = base;
    (empty.inputs, empty.neurons, empty.outputs) = (0, 0, 0);
    for stim in [false, true] {
        let fixed = image::encoded_len(&empty, stim).unwrap() as u128;
        let mut r = XorShift32::new(77);
        let mut cases = vec![(4u16, 8u16, 2u16, true), (u16::MAX, u16::MAX, u16::MAX, true), (0, u16::MAX, u16::MAX, false)];
        // Near the boundary: n·(inputs + n + o)·2 ≈ 2³² for n ≈ 26 000 (recurrent, 2 outputs).
        for _ in 0..2000 {
            let n = 25_000 + (r.next_u32() % 30_000) as u16;
            cases.push(((r.next_u32() % 30_000) as u16, n, (r.next_u32() % 300) as u16, r.next_u32() & 1 == 1));
            cases.push((r.next_u32() as u16, r.next_u32() as u16, r.next_u32() as u16, r.next_u32() & 1 == 1));
        }
        let (mut ok, mut err) = (0, 0);
        for (i, n, o, rec) in cases {
            let mut d = base;
            (d.inputs, d.neurons, d.outputs, d.recurrent) = (i, n, o, rec);
            let axons = i as u128 + if rec { n as u128 } else { 0 };
            let exact = fixed + 2 * (axons * n as u128 + n as u128 * o as u128);
            match image::encoded_len(&d, stim) {
                Ok(len) => {
                    assert_eq!(len as u128, exact, "dims {i}/{n}/{o} rec={rec}");
                    assert!(exact <= u32::MAX as u128);
                    ok += 1;
                }
                Err(e) => {
                    assert!(exact > u32::MAX as u128, "dims {i}/{n}/{o}: {e} for {exact} bytes");
                    assert!(matches!(e, ImageError::Config(ConfigError::OutOfRange { field: Field::Image, .. })), "{e}");
                    err += 1;
                }
            }
        }
        assert!(ok > 500 && err > 500, "both sides of the boundary covered: {ok} ok, {err} errors");
    }
    // The small network's length is the length `encode` writes.
    let hidden = vec![Weight(1); 12 * 8];
    let readout = vec![Weight(1); 8 * 2];
    let mut buf = vec![0u8; 4096];
    let n = image::encode(&base, &hidden, &readout, None, &mut buf).unwrap();
    assert_eq!(image::encoded_len(&base, false).unwrap(), n);
}

/// A LIF layer of 16 axons × 8 neurons with random weights, driven for `steps` learning steps with
/// random input and a fixed learning signal; returns every buffer.
fn drive_layer(o: &mut Owned, steps: u32, seed: u32) {
    let cfg = lif_config(Formats::DEFAULT, 0.9, None, Reset::Soft, false);
    let mut r = XorShift32::new(seed);
    let lam: Vec<i32> = (0..8).map(|j| (j as i32 - 4) << 13).collect();
    let mut spikes = [0u16; 8];
    for _ in 0..steps {
        let active: Vec<u16> = (0..16u16).filter(|_| r.chance(u32::MAX / 3)).collect();
        let mut l = o.view(&cfg);
        l.integrate(&active, true);
        l.fire(true, &mut spikes);
        l.learn(Signal::Lambda(&lam));
    }
}

fn layer(start_counter: u32) -> Owned {
    let mut o = Owned::new(16, 8, 1);
    let mut r = XorShift32::new(9);
    o.weights.iter_mut().for_each(|w| *w = Weight((r.next_u32() % 161) as i16 - 60));
    o.scalars.updates = start_counter;
    o
}

/// Step 2³² uses the random words of step 0: a layer whose counter stands at 2³² − 1 takes one learning
/// step with no input and no traces (only the counter moves), and then runs exactly as a fresh layer.
#[test]
fn layer_step_counter_wraps_after_2_pow_32_learning_steps() {
    let mut fresh = layer(0);
    let mut wrapped = layer(u32::MAX);
    let cfg = lif_config(Formats::DEFAULT, 0.9, None, Reset::Soft, false);
    wrapped.view(&cfg).integrate(&[], true);
    assert_eq!(wrapped.scalars.updates, 0, "the counter wraps to 0, it does not saturate");
    assert_eq!((&wrapped.weights, &wrapped.state, &wrapped.xtrace), (&fresh.weights, &fresh.state, &fresh.xtrace));
    drive_layer(&mut fresh, 40, 1);
    drive_layer(&mut wrapped, 40, 1);
    assert_eq!(fresh.scalars.updates, 40);
    assert!(fresh.xtrace.iter().any(|&x| x != 0) && fresh.weights != layer(0).weights, "the run learned");
    assert_eq!(wrapped.scalars.updates, 40);
    assert_eq!(wrapped.weights, fresh.weights);
    assert_eq!(wrapped.xtrace, fresh.xtrace);
    assert_eq!(wrapped.etrace, fresh.etrace);
    assert_eq!(wrapped.state, fresh.state);
    // Control: a counter that does not wrap (here: one that starts at 1) gives other random words.
    let mut other = layer(1);
    drive_layer(&mut other, 40, 1);
    assert_ne!((other.weights, other.xtrace), (fresh.weights, fresh.xtrace));
}

/// The readout's own counter wraps the same way (one learning `integrate` with no spikes moves only it).
#[test]
fn readout_step_counter_wraps_after_2_pow_32_learning_steps() {
    let f = Formats::DEFAULT;
    let cfg = ReadoutConfig {
        formats: f,
        decay: Decay((1 << f.decay_frac) / 5 * 4),
        loss: Loss::Mse,
        learning_rate: LearningRate { mant: 1, shift: 4 },
        seed: 7,
    };
    let run = |start: u32, pre_step: bool| {
        let mut weights = [Weight(20); 6 * 2];
        let (mut r, mut otrace, mut err, mut grad) = ([0i32; 2], [0u16; 6], [0i32; 2], [0i64; 2]);
        let (mut sat, mut updates) = (Saturations::default(), start);
        let b = ReadoutBuffers {
            weights: &mut weights,
            r: &mut r,
            otrace: &mut otrace,
            err: &mut err,
            grad: &mut grad,
            sat: &mut sat,
            updates: &mut updates,
        };
        let mut ro = ReadoutMut::new(&cfg, b, 6, 2).unwrap();
        if pre_step {
            ro.integrate(&[], true);
        }
        let mut rng = XorShift32::new(4);
        for _ in 0..40 {
            let s: Vec<u16> = (0..6u16).filter(|_| rng.chance(u32::MAX / 3)).collect();
            ro.integrate(&s, true);
            ro.error(Target::Values(&[1 << 15, -(1 << 15)]));
            ro.learn();
        }
        let out = (ro.weights().to_vec(), ro.otrace().to_vec(), ro.output().to_vec());
        drop(ro);
        (out, updates)
    };
    let (fresh, n_fresh) = run(0, false);
    let (wrapped, n_wrapped) = run(u32::MAX, true);
    assert_eq!((n_fresh, n_wrapped), (40, 40));
    assert!(fresh.0.iter().any(|w| w.0 != 20), "the readout learned");
    assert_eq!(wrapped, fresh);
    let (other, _) = run(1, false);
    assert_ne!(other.0, fresh.0);
}

/// Loading an image into a network that already ran gives the run of a fresh load: `Net::configure`
/// resets the learning-step and chip-effect counters with the state. (Found by the image fuzz target's
/// reload property: the counters survived a reload, so the reloaded network drew other random words.)
#[test]
fn a_network_reloaded_from_an_image_runs_as_a_fresh_one() {
    let desc = image::example_desc(4, 8, 2, true);
    let mut r = XorShift32::new(21);
    let hidden: Vec<Weight> = (0..12 * 8).map(|_| Weight((r.next_u32() % 121) as i16 - 40)).collect();
    let readout: Vec<Weight> = (0..8 * 2).map(|_| Weight((r.next_u32() % 41) as i16 - 20)).collect();
    let stim = Stimulus { seed: 8, rate: 1 << 30, steps: 30, target: TargetRule::GroupActivity, amplitude: 1 << 16 };
    let mut buf = vec![0u8; image::encoded_len(&desc, true).unwrap()];
    image::encode(&desc, &hidden, &readout, Some(&stim), &mut buf).unwrap();
    let img = image::Image::parse(&buf).unwrap();
    let mut fresh: Box<Small> = Box::default();
    img.load(&mut *fresh).unwrap();
    let want = Runner::new(stim).run(&mut *fresh).unwrap();
    let mut used = warm_net(Loss::Mse);
    img.load(&mut *used).unwrap();
    assert_eq!(Runner::new(stim).run(&mut *used).unwrap(), want);
    // And the network's own second run after a reload equals its first.
    img.load(&mut *fresh).unwrap();
    assert_eq!(Runner::new(stim).run(&mut *fresh).unwrap(), want);
}

/// `GraphMut::step` checks the target at its entry as `Net::step` does (a one-population graph).
#[test]
fn graph_step_rejects_a_target_of_the_wrong_length_before_the_step() {
    use plasticore_core::graph::{Graph, GraphConfig, GraphUpdate, LambdaSource, Population, Projection, ProjPresyn, ReadoutSpec, Source};
    let cfg = lif_config(Formats::DEFAULT, 0.9, None, Reset::Soft, false);
    let f = Formats::DEFAULT;
    let ro = ReadoutConfig {
        formats: f,
        decay: Decay((1 << f.decay_frac) / 5 * 4),
        loss: Loss::Mse,
        learning_rate: LearningRate { mant: 1, shift: 6 },
        seed: 3,
    };
    let mut pops = heapless::Vec::new();
    pops.push(Population { neurons: 8, layer: cfg, lambda: LambdaSource::Symmetric, bias: plasticore_core::graph::BiasMode::None, params: plasticore_core::graph::ParamMode::Shared }).unwrap();
    let mut projs = heapless::Vec::new();
    projs.push(Projection { source: Source::Input { first: 0, width: 4 }, target: 0, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    let mut g = Box::new(Graph::<8, 8, 4, 32, 2, 24>::new());
    g.configure(GraphConfig {
        inputs: 4,
        populations: pops,
        projections: projs,
        readout: ReadoutSpec { source: 0, outputs: 2, config: ro },
        window: LossWindow::ALWAYS,
        learn: true,
    })
    .unwrap();
    for a in 0..4 {
        for j in 0..8 {
            g.set_weight(0, a, j, Weight(40 + (a * 8 + j) as i16)).unwrap();
        }
    }
    let mut v = g.view().unwrap();
    let one = 1 << 16;
    for t in 0..5 {
        v.step(Timestep(t), &[0, 1, 2, 3], Target::Values(&[one, -one]), &[], GraphUpdate::Online).unwrap();
    }
    let before = v.checksum();
    let e = v.step(Timestep(5), &[0, 1], Target::Values(&[one]), &[], GraphUpdate::Online).unwrap_err();
    assert_eq!(e, ConfigError::SizeMismatch { field: Field::Target, expected: 2, found: 1 });
    assert_eq!(v.checksum(), before);
    v.step(Timestep(5), &[0, 1], Target::Values(&[one, one]), &[], GraphUpdate::Online).unwrap();
    assert_ne!(v.checksum(), before);
}
