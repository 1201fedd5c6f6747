//! Where a learning step's instructions go: runs the reference image for `WARMUP` learning steps, then
//! `PROFILED` more between two marker functions. `firmware/profile.sh` single-steps QEMU with an exec
//! trace, counts the executed PCs between the markers and attributes them to the core's phases through
//! the inlining debug info (toolchain.md §3 method B). Not part of CI (it takes ~1 min).
//!
//! The window is chosen at build time: `PROFILE_FROM` (steps run before the first marker, default 300)
//! and `PROFILE_STEPS` (steps between the markers, default 20), e.g. `PROFILE_FROM=1 PROFILE_STEPS=3 bash
//! firmware/profile.sh` profiles steps 1–3 (index from 0, as in BENCH.md's `WORST` line). A value that is
//! not a decimal number fails the build.
#![no_std]
#![no_main]

use core::cell::RefCell;
use cortex_m::interrupt::Mutex;
use cortex_m_rt::entry;
use plasticore_core::image::{Image, Runner};
use plasticore_core::layer::OpCounts;
use plasticore_firmware::{exit, ReferenceNet, REFERENCE_IMAGE};

static NET: Mutex<RefCell<ReferenceNet>> = Mutex::new(RefCell::new(ReferenceNet::new()));

/// Steps run before the first marker (build-time `PROFILE_FROM`, default 300).
const WARMUP: u32 = parse_or(option_env!("PROFILE_FROM"), 300);
/// Steps between the markers (build-time `PROFILE_STEPS`, default 20).
const PROFILED: u32 = parse_or(option_env!("PROFILE_STEPS"), 20);

/// A decimal number from a build-time variable, or `default` if unset; anything else stops the build
/// (a const panic is a compile error, never a run-time one).
const fn parse_or(v: Option<&str>, default: u32) -> u32 {
    let Some(s) = v else { return default };
    let b = s.as_bytes();
    assert!(!b.is_empty(), "PROFILE_FROM / PROFILE_STEPS must be a decimal number");
    let mut n: u32 = 0;
    let mut i = 0;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "PROFILE_FROM / PROFILE_STEPS must be a decimal number");
        n = match n.checked_mul(10) {
            Some(m) => match m.checked_add((b[i] - b'0') as u32) {
                Some(m) => m,
                None => panic!("PROFILE_FROM / PROFILE_STEPS out of range"),
            },
            None => panic!("PROFILE_FROM / PROFILE_STEPS out of range"),
        };
        i += 1;
    }
    n
}

#[no_mangle]
#[inline(never)]
pub extern "C" fn plasticore_profile_begin() -> u32 {
    core::hint::black_box(0x0B)
}

#[no_mangle]
#[inline(never)]
pub extern "C" fn plasticore_profile_end() -> u32 {
    core::hint::black_box(0x0E)
}

#[entry]
fn main() -> ! {
    let ok = cortex_m::interrupt::free(|cs| {
        let net = &mut *NET.borrow(cs).borrow_mut();
        let Ok(img) = Image::parse(REFERENCE_IMAGE) else { return false };
        let Ok(Some(stim)) = img.stimulus() else { return false };
        if img.load(net).is_err() {
            return false;
        }
        let mut run = Runner::new(stim);
        for _ in 0..WARMUP {
            if run.step(net).is_err() {
                return false;
            }
        }
        let mut ops = OpCounts::default();
        plasticore_profile_begin();
        for _ in 0..PROFILED {
            match run.step(net) {
                Ok(r) => ops.add(&r.ops),
                Err(_) => return false,
            }
        }
        plasticore_profile_end();
        defmt::println!("profiled {=u32} learning steps after {=u32}", PROFILED, WARMUP);
        // What the emulator's cost model charges, summed over the profiled steps (hw-notes/emulator-presets.md).
        defmt::println!(
            "OPS syn_ops={=u32} events_in={=u32} neuron_updates={=u32} trace_updates={=u32} presyn_updates={=u32} weight_updates={=u32} spikes={=u32}",
            ops.syn_ops,
            ops.events_in,
            ops.neuron_updates,
            ops.trace_updates,
            ops.presyn_updates,
            ops.weight_updates,
            ops.spikes
        );
        true
    });
    exit(ok)
}
