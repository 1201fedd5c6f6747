//! `MeshSim::run` computes a batch whose packets all stay on their tile in closed form
//! (`run_local`); this checks it against the cycle-by-cycle simulation (`run_general`) on random
//! meshes, NoC parameters and bursty batches: every delivery, the round's statistics, the per-tile
//! local loads, and the router state left behind (a random mixed batch routed afterwards by both
//! simulators must come out the same, which it would not if a round-robin pointer differed).

use plasticore_emu::chip::{Mesh, NocDesc};
use plasticore_emu::noc::mesh::{MeshSim, Packet};
use plasticore_emu::noc::RoutingKind;
use plasticore_emu::Cycle;
use proptest::prelude::*;

fn sims(w: u32, h: u32, cpt: u32, local: u32, k: u32, buf: u32, yx: bool) -> (MeshSim, MeshSim, Mesh) {
    let mesh = Mesh { width: w, height: h, cores_per_tile: cpt };
    let noc = NocDesc {
        routing: if yx { RoutingKind::Yx } else { RoutingKind::Xy },
        hop_ew: 2,
        hop_ns: 3,
        local,
        link_packets_per_cycle: k,
        buffer_packets: buf,
        packet_bits: 32,
        inject_packets: 0,
    };
    (MeshSim::new(mesh, noc), MeshSim::new(mesh, noc), mesh)
}

/// Route `pk` on `a` with `run` and on `b` with `run_general`; every output must agree.
fn route_both(a: &mut MeshSim, b: &mut MeshSim, mesh: &Mesh, pk: &[Packet]) -> Result<(), TestCaseError> {
    let (mut da, mut db) = (Vec::new(), Vec::new());
    let (mut la, mut lb) = (vec![0u64; mesh.tiles() * 4], vec![0u64; mesh.tiles() * 4]);
    let (mut ca, mut cb) = (vec![0u64; mesh.tiles()], vec![0u64; mesh.tiles()]);
    let sa = a.run(pk, &mut da, &mut la, &mut ca);
    let sb = b.run_general(pk, &mut db, &mut lb, &mut cb);
    prop_assert_eq!(&da, &db);
    prop_assert_eq!(sa, sb);
    prop_assert_eq!(&la, &lb);
    prop_assert_eq!(&ca, &cb);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn local_batches_equal_the_cycle_simulation(
        w in 1u32..4, h in 1u32..4, cpt in 1u32..4,
        local in 0u32..5, k in 1u32..4, buf in 1u32..4, yx in any::<bool>(),
        // (source core, destination core offset within the tile, injection gap)
        batches in proptest::collection::vec(proptest::collection::vec((0u32..64, 0u32..4, 0u64..4), 0..60), 1..4),
        mixed in proptest::collection::vec((0u32..64, 0u32..64, 0u64..3), 0..30),
        sorted in any::<bool>(),
    ) {
        let (mut a, mut b, mesh) = sims(w, h, cpt, local, k, buf, yx);
        let cores = mesh.tiles() as u32 * cpt;
        for batch in &batches {
            let mut t = 0u64;
            let mut pk: Vec<Packet> = batch
                .iter()
                .enumerate()
                .map(|(i, &(s, off, gap))| {
                    t += gap;
                    let src = s % cores;
                    let dst = (src / cpt) * cpt + off % cpt;
                    Packet { src, dst, inject: Cycle(t), tag: i as u32 }
                })
                .collect();
            if !sorted {
                pk.reverse();
            }
            route_both(&mut a, &mut b, &mesh, &pk)?;
        }
        // Router state: a mixed batch (links and contention) behaves the same on both.
        let mut t = 0u64;
        let pk: Vec<Packet> = mixed
            .iter()
            .enumerate()
            .map(|(i, &(s, d, gap))| {
                t += gap;
                Packet { src: s % cores, dst: d % cores, inject: Cycle(t), tag: i as u32 }
            })
            .collect();
        route_both(&mut a, &mut b, &mesh, &pk)?;
    }
}
