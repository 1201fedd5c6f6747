//! Instructions per timestep on the reference layer (64 inputs → 128 recurrent LIF → 4 readouts, 10 %
//! input activity), Cortex-M4F under QEMU mps2-an386 with `-icount shift=0` (toolchain.md §3, method A):
//! one guest instruction = 1 ns of virtual time and SysTick (core clock, 25 MHz) ticks every 40
//! instructions. Without `-icount` the counts follow host time and mean nothing.
//!
//! Three loops of `STEPS` steps, each timed in chunks (the 24-bit SysTick would wrap after 671 M
//! instructions):
//! * `stimulus`: only the input draws of the `Runner` (64 Bernoulli draws per step), for reference;
//! * `inference`: `Runner::step` with learning off (deliver, integrate, fire, readout, error);
//! * `learning`: `Runner::step` with learning on (+ ε^x/ẽ^f/ε^o traces, learning signal, ΔW, ΔV);
//! * `learning-alpha-0.25`: the same with the trace decay α = 0.25 instead of the image's 0.5 (a
//!   diagnostic for BENCH.md: with α < 0.5 a 1-LSB ε^x rounds down to 0, so idle rows leave the loop).
//!
//! The figures include the `Runner` (input draws and target) but not the loop overhead of the chunks.
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

const STEPS: u32 = 1000;
const CHUNK: u32 = 50;
/// Instructions per SysTick tick under `-icount shift=0` on mps2-an386 (1 ns/insn, 25 MHz SysTick).
const INSNS_PER_TICK: u64 = 40;

fn ticks_of(mut f: impl FnMut()) -> u64 {
    let s0 = SYST::get_current();
    f();
    let s1 = SYST::get_current();
    (s0.wrapping_sub(s1) & 0x00FF_FFFF) as u64
}

fn print(what: &str, ticks: u64, ops: &OpCounts) {
    let insns = ticks * INSNS_PER_TICK;
    defmt::println!(
        "BENCH {=str} steps={=u32} systick_ticks={=u64} instructions={=u64} per_step={=u64} weight_updates={=u32} syn_ops={=u32} spikes={=u32}",
        what,
        STEPS,
        ticks,
        insns,
        insns / STEPS as u64,
        ops.weight_updates,
        ops.syn_ops,
        ops.spikes
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
        let mut ticks = 0;
        for _ in 0..STEPS / CHUNK {
            ticks += ticks_of(|| {
                for _ in 0..CHUNK {
                    for i in 0..64u32 {
                        acc = acc.wrapping_add(rng.chance(stim.rate) as u32 * i);
                    }
                    acc = core::hint::black_box(acc);
                }
            });
        }
        print("stimulus", ticks, &OpCounts::default());

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
            let mut ticks = 0;
            let mut failed = false;
            for _ in 0..STEPS / CHUNK {
                ticks += ticks_of(|| {
                    for _ in 0..CHUNK {
                        match run.step(net) {
                            Ok(r) => ops.add(&r.ops),
                            Err(_) => failed = true,
                        }
                    }
                });
            }
            if failed {
                return false;
            }
            print(name, ticks, &ops);
            defmt::println!("checksum {=u32:08x}", net.checksum());
        }
        true
    });
    exit(ok)
}
