//! Instructions per timestep on the reference layer (64 inputs → 128 recurrent LIF → 4 readouts, 10 %
//! input activity), Cortex-M4F under QEMU mps2-an386 with `-icount shift=0` (toolchain.md §3, method A):
//! one guest instruction = 1 ns of virtual time and SysTick (core clock, 25 MHz) ticks every 40
//! instructions. Without `-icount` the counts follow host time and mean nothing.
//!
//! Four loops of `STEPS` steps:
//! * `stimulus`: only the input draws of the `Runner` (64 Bernoulli draws per step), for reference;
//! * `inference`: `Runner::step` with learning off (deliver, integrate, fire, readout, error);
//! * `learning`: `Runner::step` with learning on (+ ε^x/ẽ^f/ε^o traces, learning signal, ΔW, ΔV);
//! * `learning-alpha-0.25`: the same with the trace decay α = 0.25 instead of the image's 0.5 (a
//!   diagnostic for BENCH.md: with α < 0.5 a 1-LSB ε^x rounds down to 0, so idle rows leave the loop).
//!
//! Every step is timed on its own: SysTick is read once per step boundary and each step's count is the
//! difference of two consecutive reads (masked to 24 bits, so a reload between them is harmless; one step
//! is far below the 671 M instructions of a full SysTick period). The per-step counts therefore add up
//! exactly to the whole loop (the mean is exact to ±40 instructions over the run) and each one is exact to
//! ±40 instructions (one tick). They include the `Runner` (input draws and target) and the few
//! instructions of the loop and the SysTick read. Printed per loop: the mean (`per_step`), the 99th
//! percentile by nearest rank (`p99`: the ⌈0.99·STEPS⌉-th smallest step) and the worst step (`max`, and
//! the first step `max_at` that took it); then a `WORST` line with the number of steps above the
//! 100 000-instruction target and the five slowest steps (index from 0, instructions, weight updates).
#![no_std]
#![no_main]

use core::cell::RefCell;
use cortex_m::interrupt::Mutex;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::entry;
use plasticore_core::format::Decay;
use plasticore_core::image::{Image, Runner};
use plasticore_core::layer::OpCounts;
use plasticore_core::rng::XorShift32;
use plasticore_firmware::{exit, ReferenceNet, REFERENCE_IMAGE};

static NET: Mutex<RefCell<ReferenceNet>> = Mutex::new(RefCell::new(ReferenceNet::new()));

const STEPS: usize = 1000;
/// Instructions per SysTick tick under `-icount shift=0` on mps2-an386 (1 ns/insn, 25 MHz SysTick).
const INSNS_PER_TICK: u64 = 40;
/// The real-time target per learning step (instructions); `over_budget` counts the steps above it.
const BUDGET: u64 = 100_000;

/// Run `step` `STEPS` times, recording each step's SysTick ticks in `ticks` (see the module docs).
fn time_steps(ticks: &mut [u32; STEPS], mut step: impl FnMut(usize)) {
    let mut prev = SYST::get_current();
    for (i, t) in ticks.iter_mut().enumerate() {
        step(i);
        let now = SYST::get_current();
        *t = prev.wrapping_sub(now) & 0x00FF_FFFF;
        prev = now;
    }
}

/// Print one loop's figures (`pairs`: each step's weight updates); sorts `ticks`.
fn print(what: &str, ticks: &mut [u32; STEPS], pairs: &[u32; STEPS], ops: &OpCounts) {
    let total: u64 = ticks.iter().map(|&t| t as u64).sum();
    // The first step that took the most (before sorting).
    let (mut max_at, mut max) = (0usize, 0u32);
    for (i, &t) in ticks.iter().enumerate() {
        if t > max {
            (max_at, max) = (i, t);
        }
    }
    // The five slowest steps (first occurrence on ties), for BENCH-notes.md.
    let mut worst_at = [0u32; 5];
    let mut worst = [0u32; 5];
    let mut worst_pairs = [0u32; 5];
    for k in 0..worst.len() {
        let mut best: Option<(usize, u32)> = None;
        for (i, &t) in ticks.iter().enumerate() {
            let taken = worst_at[..k].contains(&(i as u32));
            if !taken && best.is_none_or(|(_, b)| t > b) {
                best = Some((i, t));
            }
        }
        if let Some((i, t)) = best {
            (worst_at[k], worst[k], worst_pairs[k]) = (i as u32, t * INSNS_PER_TICK as u32, pairs[i]);
        }
    }
    let over = ticks.iter().filter(|&&t| t as u64 * INSNS_PER_TICK > BUDGET).count() as u32;
    ticks.sort_unstable();
    // Nearest rank: the ⌈0.99·STEPS⌉-th smallest, index ⌈0.99·STEPS⌉ − 1 (989 of 0..1000).
    let p99 = ticks[(99 * STEPS).div_ceil(100) - 1];
    let insns = total * INSNS_PER_TICK;
    defmt::println!(
        "BENCH {=str} steps={=u32} systick_ticks={=u64} instructions={=u64} per_step={=u64} p99={=u64} max={=u64} max_at={=u32} weight_updates={=u32} syn_ops={=u32} spikes={=u32}",
        what,
        STEPS as u32,
        total,
        insns,
        insns / STEPS as u64,
        p99 as u64 * INSNS_PER_TICK,
        max as u64 * INSNS_PER_TICK,
        max_at as u32,
        ops.weight_updates,
        ops.syn_ops,
        ops.spikes
    );
    defmt::println!(
        "WORST {=str} over_budget={=u32} steps={=[?]} instructions={=[?]} weight_updates={=[?]}",
        what,
        over,
        worst_at[..],
        worst[..],
        worst_pairs[..]
    );
}

#[entry]
fn main() -> ! {
    let Some(mut cp) = cortex_m::Peripherals::take() else { exit(false) };
    cp.SYST.set_clock_source(SystClkSource::Core);
    cp.SYST.set_reload(0x00FF_FFFF);
    cp.SYST.clear_current();
    cp.SYST.enable_counter();

    let ok = cortex_m::interrupt::free(|cs| {
        let net = &mut *NET.borrow(cs).borrow_mut();
        let Ok(img) = Image::parse(REFERENCE_IMAGE) else { return false };
        let Ok(Some(stim)) = img.stimulus() else { return false };

        // stimulus only: the Runner's 64 draws per step.
        let mut rng = XorShift32::new(stim.seed);
        let mut acc = 0u32;
        let mut ticks = [0u32; STEPS];
        time_steps(&mut ticks, |_| {
            for i in 0..64u32 {
                acc = acc.wrapping_add(rng.chance(stim.rate) as u32 * i);
            }
            acc = core::hint::black_box(acc);
        });
        print("stimulus", &mut ticks, &[0; STEPS], &OpCounts::default());

        // (learn, trace decay α override): α = 0.25 shows the cost when ε^x can decay to 0 (see BENCH.md).
        for (name, learn, alpha) in [
            ("inference", false, None),
            ("learning", true, None),
            ("learning-alpha-0.25", true, Some(Decay(1 << 22))),
        ] {
            if img.load(net).is_err() {
                return false;
            }
            let Some(mut cfg) = net.config().copied() else { return false };
            cfg.learn = learn;
            if let Some(a) = alpha {
                cfg.layer.trace_decay = a;
            }
            if net.configure(cfg).is_err() {
                return false;
            }
            let mut run = Runner::new(stim);
            let mut ops = OpCounts::default();
            let mut failed = false;
            let mut pairs = [0u32; STEPS];
            time_steps(&mut ticks, |i| match run.step(net) {
                Ok(r) => {
                    ops.add(&r.ops);
                    pairs[i] = r.ops.weight_updates;
                }
                Err(_) => failed = true,
            });
            if failed {
                return false;
            }
            print(name, &mut ticks, &pairs, &ops);
            defmt::println!("checksum {=u32:08x}", net.checksum());
        }
        true
    });
    exit(ok)
}
