//! The mesh alone on W1's real traffic: 100 timesteps of W1 N = 16000 on `loihi-xl-tiles` (as
//! `plasticore bench w1` places it) are run once and every step's packet batch is recorded; criterion
//! then times routing all 100 batches, back to back, with `MeshSim::run` (which takes the closed forms
//! where they apply) and with the cycle loop `MeshSim::run_general` (what every batch that crossed a tile
//! cost before `run_free`). Two placements: 8192-neuron cores (2 cores on 2 tiles, W1's shape in
//! `side-by-side.sh --preset loihi-xl-tiles`, no contention) and 2000-neuron cores (8 cores on 8 tiles,
//! contended: most steps fall back to the cycle loop). Both routes give the same bits
//! (`tests/noc_free.rs`); this measures their cost with the mesh's tables warm in cache.
//!
//! `cargo bench -p plasticore-emu --bench noc_route` (figures in `hw-notes/emulator-w1.md`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use plasticore_core::net::Timestep;
use plasticore_core::readout::Target;
use plasticore_core::rng::XorShift32;
use plasticore_emu::chip::ChipDesc;
use plasticore_emu::noc::mesh::{MeshSim, Packet};
use plasticore_emu::observe::{Observer, StepView};
use plasticore_emu::{presets, w1, EmuOptions};

struct Record(Vec<Vec<Packet>>);

impl Observer for Record {
    fn on_step(&mut self, v: &StepView<'_>) {
        self.0.push(v.packets.to_vec());
    }
}

fn traffic(chip: &ChipDesc, n: usize, steps: u32) -> Vec<Vec<Packet>> {
    let (mut emu, _, _) = w1::place(chip.clone(), n, EmuOptions::default(), 1, 1).unwrap();
    let mut g = XorShift32::new(9);
    let mut input = Vec::new();
    let mut rec = Record(Vec::new());
    for t in 0..steps {
        w1::inputs(&mut g, &mut input);
        emu.step(Timestep(t), &input, Target::None, &mut rec).unwrap();
    }
    rec.0
}

fn case(c: &mut Criterion, core_neurons: u32) {
    let mut chip = presets::preset("loihi-xl-tiles").unwrap();
    chip.limits.neurons = core_neurons;
    let batches = traffic(&chip, 16000, 100);
    let packets: usize = batches.iter().map(Vec::len).sum();
    let mut grp = c.benchmark_group(format!("noc_w1_n16000_loihi-xl-tiles_core_neurons_{core_neurons}_100_steps"));
    grp.throughput(Throughput::Elements(packets as u64));
    let tiles = chip.mesh.tiles();
    let (mut links, mut locals, mut del) = (vec![0u64; tiles * 4], vec![0u64; tiles], Vec::new());
    for general in [false, true] {
        let mut sim = MeshSim::new(chip.mesh, chip.noc);
        grp.bench_function(if general { "run_general" } else { "run" }, |b| {
            b.iter(|| {
                let mut last = 0;
                for pk in &batches {
                    links.iter_mut().for_each(|x| *x = 0);
                    locals.iter_mut().for_each(|x| *x = 0);
                    let st = if general {
                        sim.run_general(pk, &mut del, &mut links, &mut locals)
                    } else {
                        sim.run(pk, &mut del, &mut links, &mut locals)
                    };
                    last += st.last_arrival.0;
                }
                last
            })
        });
    }
    grp.finish();
}

fn bench(c: &mut Criterion) {
    case(c, 8192);
    case(c, 2000);
}

criterion_group!(benches, bench);
criterion_main!(benches);
