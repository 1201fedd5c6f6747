//! One emulator timestep of W1 (N = 4000 on `loihi-xl`, timing on and off), reported by criterion as
//! time per step and as W1 synaptic events per second (mean events per step measured over a warm-up).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use plasticore_core::net::Timestep;
use plasticore_core::readout::Target;
use plasticore_core::rng::XorShift32;
use plasticore_emu::{presets, w1, EmuOptions, Emulator, NoObserver};

fn bench(c: &mut Criterion) {
    let n = 4000;
    for timing in [true, false] {
        let w = w1::build(n, 1).unwrap();
        let deg = w.out_degree;
        let mut emu = Emulator::new(presets::loihi_xl(), w.spec, EmuOptions { timing, ..EmuOptions::default() }).unwrap();
        let mut g = XorShift32::new(9);
        let mut input = Vec::new();
        // Warm up into the stationary regime and measure events per step.
        let mut events = 0u64;
        let warm = 200u32;
        for t in 0..warm {
            w1::inputs(&mut g, &mut input);
            events += input.iter().map(|&a| deg[a as usize] as u64).sum::<u64>();
            emu.step(Timestep(t), &input, Target::None, &mut NoObserver).unwrap();
            events += emu.last_spikes().iter().map(|&j| deg[w1::INPUTS + j as usize] as u64).sum::<u64>();
        }
        let mut grp = c.benchmark_group(format!("w1_n{n}_timing_{}", if timing { "on" } else { "off" }));
        grp.throughput(Throughput::Elements(events / warm as u64));
        let mut t = warm;
        grp.bench_function("step", |b| {
            b.iter(|| {
                w1::inputs(&mut g, &mut input);
                emu.step(Timestep(t), &input, Target::None, &mut NoObserver).unwrap();
                t += 1;
            })
        });
        grp.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
