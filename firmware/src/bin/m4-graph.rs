//! The two-layer graph image on the Cortex-M4F (issue 10 item 7): 64 inputs → 96 LIF → 64 recurrent LIF →
//! 4 readouts (`images/graph2.pcimg`, format version 2, written by `plasticore image write --preset
//! graph2`), loaded in place into a `plasticore_core::graph::Graph` static (zero-initialised, in .bss)
//! and run with its seeded stimulus through `graph::run_graph`, learning on (symmetric within-step
//! backprop into both layers). Prints the `graph2 RESULT ...` line the CI compares with
//! `plasticore image run`, then instructions per timestep under `-icount shift=0` (toolchain.md §3 A:
//! one instruction = 1 ns, SysTick at 25 MHz ticks every 40 instructions), learning and inference, and
//! the RAM of the graph static. Then the same image again in a second static with 8-bit weight storage
//! (`Weight8`, one byte per synapse: the image's weights are 8-bit): its `graph2-w8 RESULT` line must
//! equal the 16-bit one (the CI checks it), with its own instructions per timestep and RAM.
#![no_std]
#![no_main]

use core::cell::RefCell;
use cortex_m::interrupt::Mutex;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::entry;
use plasticore_core::graph::image::GraphImage;
use plasticore_core::format::{Weight, WeightStore, Weight8};
use plasticore_core::graph::{self, Graph};
use plasticore_core::image::Runner;
use plasticore_core::layer::OpCounts;
use plasticore_firmware::{exit, report};

/// 64 → 96 → 64 (recurrent) → 4: 160 neurons, 160 states, 64 + 160 axons, 64·96 + 160·64 weights, 4
/// outputs, spike history 2 × (64 + 160).
type Graph2 = Graph<160, 160, 224, 16384, 4, 448>;
/// The same capacities with one byte per weight.
type Graph2w8 = Graph<160, 160, 224, 16384, 4, 448, 0, Weight8>;

static GRAPH2_IMAGE: &[u8] = include_bytes!("../../images/graph2.pcimg");
static GRAPH: Mutex<RefCell<Graph2>> = Mutex::new(RefCell::new(Graph2::new()));
static GRAPH_W8: Mutex<RefCell<Graph2w8>> = Mutex::new(RefCell::new(Graph2w8::new()));

const CHUNK: u32 = 50;
const INSNS_PER_TICK: u64 = 40;

fn ticks_of(mut f: impl FnMut()) -> u64 {
    let s0 = SYST::get_current();
    f();
    let s1 = SYST::get_current();
    (s0.wrapping_sub(s1) & 0x00FF_FFFF) as u64
}

#[entry]
fn main() -> ! {
    let Some(mut cp) = cortex_m::Peripherals::take() else { exit(false) };
    cp.SYST.set_clock_source(SystClkSource::Core);
    cp.SYST.set_reload(0x00FF_FFFF);
    cp.SYST.clear_current();
    cp.SYST.enable_counter();

    let ok = cortex_m::interrupt::free(|cs| {
        let ok16 = run_image::<Weight>(&mut GRAPH.borrow(cs).borrow_mut(), "graph2");
        defmt::println!("RAM graph2 graph_static_bytes={=usize}", core::mem::size_of::<Graph2>());
        let ok8 = run_image::<Weight8>(&mut GRAPH_W8.borrow(cs).borrow_mut(), "graph2-w8");
        defmt::println!("RAM graph2-w8 graph_static_bytes={=usize}", core::mem::size_of::<Graph2w8>());
        ok16 && ok8
    });
    exit(ok)
}

/// Load the image into `g` and run it twice: learning (the image's configuration: prints `name RESULT`)
/// and inference (learn off), each with its instructions per timestep.
fn run_image<WS: WeightStore>(g: &mut Graph<160, 160, 224, 16384, 4, 448, 0, WS>, name: &str) -> bool {
    let img = match GraphImage::parse(GRAPH2_IMAGE) {
        Ok(i) => i,
        Err(e) => {
            defmt::error!("{=str}: image rejected: {}", name, e);
            return false;
        }
    };
    let Ok(Some(stim)) = img.stimulus() else { return false };
    let mut input = [0u16; 64];
    let mut values = [0i32; 4];
    // learning (the image's own configuration: its RESULT line), then inference (learn off).
    for learn in [true, false] {
        if let Err(e) = img.load(g) {
            defmt::error!("{=str}: load failed: {}", name, e);
            return false;
        }
        if !learn {
            let Some(mut cfg) = g.config().cloned() else { return false };
            cfg.learn = false;
            if g.configure(cfg).is_err() {
                return false;
            }
        }
        let Ok(mut v) = g.view() else { return false };
        let mut run = Runner::new(stim);
        let mut ops = OpCounts::default();
        let mut ticks = 0u64;
        let mut failed = false;
        while run.timestep().0 < stim.steps {
            ticks += ticks_of(|| {
                for _ in 0..CHUNK {
                    if run.timestep().0 >= stim.steps {
                        break;
                    }
                    match graph::step_graph(&mut run, &mut v, &mut input, &mut values) {
                        Ok(r) => ops.add(&r.ops),
                        Err(_) => failed = true,
                    }
                }
            });
        }
        if failed {
            return false;
        }
        if learn {
            report(name, &graph::graph_summary(&run, &v));
        }
        let insns = ticks * INSNS_PER_TICK;
        defmt::println!(
            "BENCH {=str}-{=str} steps={=u32} systick_ticks={=u64} instructions={=u64} per_step={=u64} weight_updates={=u32} syn_ops={=u32} spikes={=u32}",
            name,
            if learn { "learning" } else { "inference" },
            stim.steps,
            ticks,
            insns,
            insns / stim.steps.max(1) as u64,
            ops.weight_updates,
            ops.syn_ops,
            ops.spikes
        );
    }
    true
}
