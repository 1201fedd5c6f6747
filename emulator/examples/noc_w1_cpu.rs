//! CPU time per timestep of the mesh alone on W1's real traffic (the CPU-time twin of
//! `benches/noc_route.rs`, steadier than wall time on a shared machine): W1 N = 16000 on `loihi-xl-tiles`
//! with CORE_NEURONS per core runs 300 steps, steps 100..300's packet batches are recorded, then routed
//! REPS times with `MeshSim::run` and with the cycle loop `MeshSim::run_general`, in three alternating
//! rounds; prints µs of this thread's CPU (`/proc/thread-self/schedstat`) per step.
//!
//! `cargo run --release -p plasticore-emu --example noc_w1_cpu -- [CORE_NEURONS (8192)] [REPS (200)]`

use plasticore_core::net::Timestep;
use plasticore_core::readout::Target;
use plasticore_core::rng::XorShift32;
use plasticore_emu::noc::mesh::{MeshSim, Packet};
use plasticore_emu::observe::{Observer, StepView};
use plasticore_emu::{presets, w1, EmuOptions};

struct Record(Vec<Vec<Packet>>);

impl Observer for Record {
    fn on_step(&mut self, v: &StepView<'_>) {
        self.0.push(v.packets.to_vec());
    }
}

fn thread_cpu_s() -> f64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").expect("/proc/thread-self/schedstat");
    s.split_whitespace().next().and_then(|x| x.parse::<u64>().ok()).expect("schedstat's first field") as f64 * 1e-9
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: u32| args.get(i).map_or(d, |s| s.parse().expect("a whole number"));
    let (cn, reps) = (arg(1, 8192), arg(2, 200) as usize);
    let mut chip = presets::preset("loihi-xl-tiles").expect("preset");
    chip.limits.neurons = cn;
    let (mut emu, _, _) = w1::place(chip.clone(), 16000, EmuOptions::default(), 1, 1).expect("W1 placed");
    let mut g = XorShift32::new(9);
    let mut input = Vec::new();
    let mut rec = Record(Vec::new());
    for t in 0..300 {
        w1::inputs(&mut g, &mut input);
        emu.step(Timestep(t), &input, Target::None, &mut rec).expect("step");
    }
    let batches = &rec.0[100..];
    let packets: usize = batches.iter().map(Vec::len).sum();
    println!("{} steps, {:.1} packets per step, {} cores", batches.len(), packets as f64 / batches.len() as f64, emu.cores().len());
    let tiles = chip.mesh.tiles();
    let (mut links, mut locals, mut del) = (vec![0u64; tiles * 4], vec![0u64; tiles], Vec::new());
    for round in 0..3 {
        for general in [false, true] {
            let mut sim = MeshSim::new(chip.mesh, chip.noc);
            let c0 = thread_cpu_s();
            let mut visited = 0;
            for _ in 0..reps {
                for pk in batches {
                    let st = if general {
                        sim.run_general(pk, &mut del, &mut links, &mut locals)
                    } else {
                        sim.run(pk, &mut del, &mut links, &mut locals)
                    };
                    visited += st.visited_cycles;
                }
            }
            let us = (thread_cpu_s() - c0) * 1e6 / (reps * batches.len()) as f64;
            let name = if general { "run_general" } else { "run" };
            println!("round {round} {name:11}: {us:.2} us CPU per step (visited cycles per step {})", visited / (reps * batches.len()) as u64);
        }
    }
}
