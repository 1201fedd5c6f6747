//! `MeshSim::run_free` computes a batch in which no packet can wait for another in closed form, or
//! refuses it; `MeshSim::run` takes it whenever it accepts. Checked against the cycle-by-cycle simulation
//! (`run_general`) on random meshes, NoC parameters, routing policies, injection-queue bounds, starting
//! round-robin pointers and traffic (sparse enough to be often accepted, bursty enough to be often
//! refused): every delivery, the round's statistics (incl. visited cycles), the per-link and per-tile
//! loads (added to what the caller's arrays held), and the router state after the batch; a refused batch
//! must leave the router state and the loads untouched. Then W1 across tiles, step by step: what the
//! emulator reports for its NoC equals the cycle loop replayed on the same packets.

use plasticore_core::prelude::*;
use plasticore_core::rng::XorShift32;
use plasticore_emu::chip::{Mesh, NocDesc};
use plasticore_emu::noc::mesh::{Delivery, MeshSim, Packet, RoundStats};
use plasticore_emu::noc::RoutingKind;
use plasticore_emu::observe::{Observer, StepView};
use plasticore_emu::{presets, w1, Cycle, EmuOptions};
use proptest::prelude::*;

#[derive(Clone, Copy, Debug)]
struct Params {
    w: u32,
    h: u32,
    cpt: u32,
    hop_ew: u32,
    hop_ns: u32,
    local: u32,
    k: u32,
    buf: u32,
    inj: u32,
    yx: bool,
}

fn noc(p: &Params) -> (Mesh, NocDesc) {
    let mesh = Mesh { width: p.w, height: p.h, cores_per_tile: p.cpt };
    let noc = NocDesc {
        routing: if p.yx { RoutingKind::Yx } else { RoutingKind::Xy },
        hop_ew: p.hop_ew,
        hop_ns: p.hop_ns,
        local: p.local,
        link_packets_per_cycle: p.k,
        buffer_packets: p.buf,
        packet_bits: 32,
        inject_packets: p.inj,
    };
    (mesh, noc)
}

struct Outcome {
    del: Vec<Delivery>,
    st: RoundStats,
    links: Vec<u64>,
    locals: Vec<u64>,
}

/// Loads start non-zero: both simulators add to them.
fn loads(mesh: &Mesh) -> (Vec<u64>, Vec<u64>) {
    ((0..mesh.tiles() * 4).map(|i| i as u64 * 7).collect(), (0..mesh.tiles()).map(|i| i as u64 * 3).collect())
}

fn general(sim: &mut MeshSim, mesh: &Mesh, pk: &[Packet]) -> Outcome {
    let (mut links, mut locals) = loads(mesh);
    let mut del = Vec::new();
    let st = sim.run_general(pk, &mut del, &mut links, &mut locals);
    Outcome { del, st, links, locals }
}

/// Route `pk` with `run_free` on `a` (falling back to `run_general` when refused, after checking that
/// the refusal changed nothing) and with `run_general` on `b`; returns whether `run_free` accepted it.
fn compare(a: &mut MeshSim, b: &mut MeshSim, mesh: &Mesh, pk: &[Packet]) -> Result<bool, TestCaseError> {
    let before = a.arbitration().to_vec();
    let (mut links, mut locals) = loads(mesh);
    let mut del = Vec::new();
    let free = a.run_free(pk, &mut del, &mut links, &mut locals);
    let want = general(b, mesh, pk);
    let accepted = free.is_some();
    match free {
        Some(st) => {
            prop_assert_eq!(&del, &want.del, "deliveries");
            prop_assert_eq!(st, want.st, "round statistics");
            prop_assert_eq!(&links, &want.links, "link loads");
            prop_assert_eq!(&locals, &want.locals, "local loads");
            prop_assert_eq!(st.delayed, 0);
            prop_assert_eq!(st.blocked, 0);
        }
        None => {
            prop_assert_eq!(a.arbitration(), &before[..], "a refused batch changed the routers");
            prop_assert_eq!((links, locals), loads(mesh), "a refused batch changed the loads");
            general(a, mesh, pk);
        }
    }
    prop_assert_eq!(a.arbitration(), b.arbitration(), "router state after the batch");
    Ok(accepted)
}

fn batch(cores: u32, spec: &[(u32, u32, u64)], per_core_runs: bool) -> Vec<Packet> {
    let mut t = 0u64;
    let mut pk: Vec<Packet> = spec
        .iter()
        .enumerate()
        .map(|(i, &(s, d, gap))| {
            t += gap;
            Packet { src: s % cores, dst: d % cores, inject: Cycle(t), tag: i as u32 }
        })
        .collect();
    if per_core_runs {
        // As `Emulator::route` makes them: each source core's packets together, in injection order.
        pk.sort_by_key(|p| p.src);
    }
    pk
}

fn params() -> impl Strategy<Value = Params> {
    (1u32..5, 1u32..4, 1u32..3, 1u32..5, 1u32..6, 0u32..4, 1u32..4, 1u32..5, 0u32..4, any::<bool>()).prop_map(
        |(w, h, cpt, hop_ew, hop_ns, local, k, buf, inj, yx)| Params { w, h, cpt, hop_ew, hop_ns, local, k, buf, inj, yx },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn free_batches_equal_the_cycle_simulation(
        p in params(),
        rr in proptest::collection::vec(0u8..5, 16 * 5 * 4),
        // (source core, destination core, injection gap): gaps of 0 make bursts, larger ones sparse traffic.
        batches in proptest::collection::vec(
            (proptest::collection::vec((0u32..64, 0u32..64, 0u64..8), 0..40), any::<bool>()), 1..8),
    ) {
        let (mesh, desc) = noc(&p);
        let (mut a, mut b) = (MeshSim::new(mesh, desc), MeshSim::new(mesh, desc));
        let start = &rr[..mesh.tiles() * 5];
        a.set_arbitration(start).unwrap();
        b.set_arbitration(start).unwrap();
        let cores = mesh.cores() as u32;
        // `run` (which picks the closed forms when they apply, and skips `run_free` for a while after
        // a refusal) on `c`, batch after batch, against the cycle loop on `g`.
        let (mut c, mut g) = (MeshSim::new(mesh, desc), MeshSim::new(mesh, desc));
        c.set_arbitration(start).unwrap();
        g.set_arbitration(start).unwrap();
        for (spec, runs) in &batches {
            let pk = batch(cores, spec, *runs);
            compare(&mut a, &mut b, &mesh, &pk)?;
            let (mut links, mut locals) = loads(&mesh);
            let mut del = Vec::new();
            let st = c.run(&pk, &mut del, &mut links, &mut locals);
            let want = general(&mut g, &mesh, &pk);
            prop_assert_eq!(&del, &want.del);
            prop_assert_eq!(st, want.st);
            prop_assert_eq!((&links, &locals), (&want.links, &want.locals));
            prop_assert_eq!(c.arbitration(), g.arbitration());
        }
    }
}

/// The proptest above is only meaningful if `run_free` both accepts and refuses a good share of such
/// batches: counted here on a fixed stream of random batches of the same kind.
#[test]
fn free_path_accepts_sparse_and_refuses_contended_batches() {
    let mut g = XorShift32::new(7);
    let mut r = |n: u32| g.next_u32() % n;
    let (mut accepted, mut refused, mut delayed_refused) = (0, 0, 0);
    for _ in 0..2000 {
        let p = Params {
            w: 1 + r(4),
            h: 1 + r(3),
            cpt: 1 + r(2),
            hop_ew: 1 + r(4),
            hop_ns: 1 + r(5),
            local: r(4),
            k: 1 + r(3),
            buf: 1 + r(4),
            inj: r(4),
            yx: r(2) == 1,
        };
        let (mesh, desc) = noc(&p);
        let n = r(40);
        let gmax = 1 + r(8) as u64;
        let spec: Vec<(u32, u32, u64)> = (0..n).map(|_| (r(64), r(64), (r(1000) as u64) % gmax)).collect();
        let pk = batch(mesh.cores() as u32, &spec, r(2) == 1);
        let (mut a, mut b) = (MeshSim::new(mesh, desc), MeshSim::new(mesh, desc));
        let res = compare(&mut a, &mut b, &mesh, &pk);
        assert!(res.is_ok(), "{p:?}: {res:?}");
        if res.unwrap() {
            accepted += 1;
        } else {
            refused += 1;
            let w = general(&mut MeshSim::new(mesh, desc), &mesh, &pk);
            if w.st.delayed > 0 || w.st.blocked > 0 {
                delayed_refused += 1;
            }
        }
    }
    assert!(accepted > 400, "accepted {accepted} of 2000");
    assert!(refused > 400, "refused {refused} of 2000");
    assert!(delayed_refused > 200, "refused with real contention {delayed_refused} of {refused}");
}

/// Replays every step's packets on a cycle-loop mesh and compares with what the emulator reported.
struct Replay {
    energy: plasticore_emu::chip::EnergyModel,
    general: MeshSim,
    free: MeshSim,
    steps: u32,
    free_steps: u32,
    packets: u64,
    crossing: u64,
}

impl Observer for Replay {
    fn on_step(&mut self, v: &StepView<'_>) {
        let tiles = v.mesh.tiles();
        let step = v.report.step;
        // How often the closed form applies, from the same router state as the cycle loop below.
        self.free.set_arbitration(self.general.arbitration()).unwrap();
        let (mut l2, mut c2) = (vec![0u64; tiles * 4], vec![0u64; tiles]);
        let mut d2 = Vec::new();
        if self.free.run_free(v.packets, &mut d2, &mut l2, &mut c2).is_some() {
            self.free_steps += 1;
        }
        let (mut links, mut locals) = (vec![0u64; tiles * 4], vec![0u64; tiles]);
        let mut del = Vec::new();
        let st = self.general.run_general(v.packets, &mut del, &mut links, &mut locals);
        assert_eq!(del, v.deliveries, "step {step}: deliveries");
        assert_eq!(links, v.link_load, "step {step}: link loads");
        assert_eq!(locals, v.local_load, "step {step}: local loads");
        let r = v.report;
        assert_eq!((st.delayed, st.delay_cycles, st.blocked), (r.delayed_packets, r.delay_cycles, r.blocked), "step {step}");
        // The step's cycles: slowest core, then the drain to the last arrival, then the barrier.
        assert_eq!(r.drain.0, st.last_arrival.0.saturating_sub(r.slowest_core.0), "step {step}: drain");
        // The NoC energy: every link in order, then the within-tile deliveries, to the bit.
        let e = &self.energy;
        let mut noc = 0.0;
        for (i, &n) in links.iter().enumerate() {
            noc += n as f64 * if i % 4 < 2 { e.hop_ew_pj } else { e.hop_ns_pj };
        }
        noc += locals.iter().sum::<u64>() as f64 * e.local_pj;
        assert_eq!(r.energy.noc.to_bits(), noc.to_bits(), "step {step}: NoC energy");
        self.steps += 1;
        self.packets += v.packets.len() as u64;
        self.crossing += del.iter().filter(|d| d.hops_ew + d.hops_ns > 0).count() as u64;
    }
}

/// W1 (N = 1000) on `loihi-xl-tiles` with `core_neurons` per core, 200 steps, replayed.
fn w1_replayed(core_neurons: u32, threads: usize) -> Replay {
    let mut chip = presets::preset("loihi-xl-tiles").unwrap();
    chip.limits.neurons = core_neurons;
    chip.validate().unwrap();
    let opts = EmuOptions { threads, ..EmuOptions::default() };
    let (mut emu, _, _) = w1::place(chip.clone(), 1000, opts, 3, 1).unwrap();
    let mut rep = Replay {
        energy: chip.energy,
        general: MeshSim::new(chip.mesh, chip.noc),
        free: MeshSim::new(chip.mesh, chip.noc),
        steps: 0,
        free_steps: 0,
        packets: 0,
        crossing: 0,
    };
    let mut g = XorShift32::new(11);
    let mut input = Vec::new();
    for t in 0..200 {
        w1::inputs(&mut g, &mut input);
        emu.step(Timestep(t), &input, Target::None, &mut rep).unwrap();
    }
    rep
}

/// Two cores on two tiles (W1's shape at N = 16000 on `loihi-xl-tiles`): every step takes the closed
/// form and equals the cycle loop.
#[test]
fn w1_across_two_tiles_takes_the_closed_form_and_equals_the_cycle_loop() {
    let r = w1_replayed(500, 1);
    assert_eq!(r.steps, 200);
    assert!(r.crossing > 1000, "{} packets crossed a link", r.crossing);
    assert_eq!(r.free_steps, r.steps, "steps in closed form");
}

/// Eight cores on eight tiles (each spike makes 8 packets, 5 cycles apart): many steps contend and take
/// the cycle loop; every step still equals it, on 1 and 2 threads.
#[test]
fn w1_across_eight_tiles_equals_the_cycle_loop() {
    for threads in [1, 2] {
        let r = w1_replayed(125, threads);
        assert_eq!(r.steps, 200);
        assert!(r.crossing > 10_000, "{} packets crossed a link", r.crossing);
        assert!(r.free_steps < r.steps, "no step contended: {} of {}", r.free_steps, r.steps);
    }
}
