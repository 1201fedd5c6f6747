//! One emulator timestep of W1, reported by criterion as time per step and as W1 synaptic events per
//! second (mean events per step measured over a warm-up): N = 4000 on `loihi-xl` (one core) with timing
//! on and off, and N = 16000 on `loihi-xl-tiles` (two cores on two tiles, spikes cross a link, timing
//! on) on one and two threads. The chip is placed as `plasticore bench w1` places it (`w1::place`:
//! frozen cores built directly, huge pages).
//!
//! `cargo bench -p plasticore-emu --bench emu_step` (figures in `hw-notes/emulator-w1.md`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use plasticore_core::net::Timestep;
use plasticore_core::readout::Target;
use plasticore_core::rng::XorShift32;
use plasticore_emu::{presets, w1, EmuOptions, NoObserver};

fn case(c: &mut Criterion, preset: &str, n: usize, timing: bool, threads: usize) {
    let chip = presets::preset(preset).unwrap();
    let (mut emu, deg, _) = w1::place(chip, n, EmuOptions { timing, threads, strict: false }, 1, 1).unwrap();
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
    let name = format!("w1_n{n}_{preset}_timing_{}_threads_{threads}", if timing { "on" } else { "off" });
    let mut grp = c.benchmark_group(name);
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

fn bench(c: &mut Criterion) {
    for timing in [true, false] {
        case(c, "loihi-xl", 4000, timing, 1);
    }
    for threads in [1, 2] {
        case(c, "loihi-xl-tiles", 16000, true, threads);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
