//! One timestep of a 256-input × 256-neuron recurrent LIF layer (512 axons: 256 external + 256
//! recurrent), 10 % input activity, learning on (ε^x, ẽ^f, λ = ψ·(a zero-mean random feedback drawn each
//! step), online
//! stochastic-rounding updates). Reported by criterion as time per step and as synaptic updates
//! (synapses read in `integrate` + weights updated in `learn`) per second, using the mean operation count
//! per step measured over a warm-up run.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fixed::types::I32F32;
use plasticore_core::layer::{Buffers, LayerConfig, LayerMut, LayerScalars, LearningRate, OpCounts, Signal};
use plasticore_core::prelude::*;
use plasticore_core::rng::XorShift32;
use std::hint::black_box;

const EXT: usize = 256;
const N: usize = 256;
const P: usize = EXT + N;

struct Bufs {
    w: Vec<Weight>,
    st: Vec<i32>,
    et: Vec<i32>,
    xt: Vec<u16>,
    pre: Vec<[i32; 2]>,
    eff: Vec<i32>,
    acc: Vec<i32>,
    psi: Vec<i32>,
    grad: Vec<i64>,
    sc: LayerScalars,
}

fn config() -> LayerConfig {
    let f = Formats::DEFAULT;
    let d = |x: &str| f.decay(I32F32::lit(x), Field::Decay).unwrap();
    LayerConfig {
        formats: f,
        neuron: NeuronKind::Lif(
            Lif::new(
                LifParams {
                    decay: d("0.95"),
                    threshold: f.voltage(I32F32::ONE, Field::Threshold).unwrap(),
                    reset: Reset::Soft,
                    detach_reset: false,
                    synapse: Synapse::Delta,
                    surrogate: SurrogateParams::paper(&f),
                },
                &f,
            )
            .unwrap(),
        ),
        presyn: PresynKind::None,
        trace_decay: d("0.9"),
        learning_rate: LearningRate { mant: 1, shift: 10 },
        seed: 1,
    }
}

struct Sim {
    b: Bufs,
    rng: XorShift32,
    prev: Vec<u16>,
    spikes: Vec<u16>,
    active: Vec<u16>,
    fb: Vec<i32>,
}

impl Sim {
    fn new() -> Self {
        let mut rng = XorShift32::new(42);
        let w = (0..P * N)
            .map(|i| {
                let span = if i / N < EXT { 10 } else { 3 };
                Weight(((rng.next_u32() % (2 * span + 1)) as i32 - span as i32) as i16)
            })
            .collect();
        let fb = (0..N).map(|_| (rng.next_u32() % 65536) as i32 - 32768).collect();
        Sim {
            b: Bufs {
                w,
                st: vec![0; N],
                et: vec![0; N],
                xt: vec![0; P],
                pre: vec![[0; 2]; P],
                eff: vec![0; P],
                acc: vec![0; N],
                psi: vec![0; N],
                grad: vec![0; N],
                sc: LayerScalars::default(),
            },
            rng,
            prev: Vec::with_capacity(N),
            spikes: vec![0; N],
            active: Vec::with_capacity(P),
            fb,
        }
    }

    fn step(&mut self, cfg: &LayerConfig, dense: bool) -> OpCounts {
        self.active.clear();
        for a in 0..EXT as u16 {
            if self.rng.chance(u32::MAX / 10) {
                self.active.push(a);
            }
        }
        self.active.extend(self.prev.iter().map(|&j| EXT as u16 + j));
        // A fresh zero-mean feedback each step (a fixed one would drive every weight one way).
        for f in self.fb.iter_mut() {
            *f = (self.rng.next_u32() % 65536) as i32 - 32768;
        }
        let b = &mut self.b;
        let mut l = LayerMut::new(
            cfg,
            Buffers {
                weights: &mut b.w,
                state: &mut b.st,
                etrace: &mut b.et,
                xtrace: &mut b.xt,
                presyn: &mut b.pre,
                efficacy: &mut b.eff,
                acc: &mut b.acc,
                psi: &mut b.psi,
                grad: &mut b.grad,
                scalars: &mut b.sc,
            },
            P,
            N,
            0,
        )
        .unwrap();
        l.force_dense_learning(dense);
        let mut c = l.integrate(&self.active, true);
        let (f, listed) = l.fire(true, &mut self.spikes);
        c.add(&f);
        c.add(&l.learn(Signal::Feedback(&self.fb)));
        self.prev.clear();
        self.prev.extend_from_slice(&self.spikes[..listed]);
        c
    }
}

fn bench(c: &mut Criterion) {
    let cfg = config();
    let mut sim = Sim::new();
    // Warm up into a steady state and measure the mean work per step.
    let warm = 2000u64;
    let (mut syn, mut upd, mut spk) = (0u64, 0u64, 0u64);
    for _ in 0..warm {
        let o = sim.step(&cfg, false);
        syn += o.syn_ops as u64;
        upd += o.weight_updates as u64;
        spk += o.spikes as u64;
    }
    let per_step = (syn + upd) / warm;
    eprintln!(
        "steady state per step: {} synapses read, {} weight updates, {:.1} spikes ({:.1} % of neurons)",
        syn / warm,
        upd / warm,
        spk as f64 / warm as f64,
        100.0 * spk as f64 / warm as f64 / N as f64
    );
    let mut g = c.benchmark_group("layer_step_256x256_lif_10pct_learning");
    g.throughput(Throughput::Elements(per_step));
    g.bench_function("step", |bch| bch.iter(|| black_box(sim.step(&cfg, false))));
    // The same step with the dense weight-update loop forced (the loop before the sparse path existed).
    g.bench_function("step_dense_learn_loop", |bch| bch.iter(|| black_box(sim.step(&cfg, true))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
