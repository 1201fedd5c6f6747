//! Observers never change results; statistics and traces report what happened; strict mode turns chip
//! effects into errors.

mod common;
use common::*;
use plasticore_core::format::Weight;
use plasticore_core::prelude::*;
use plasticore_emu::mapping::Mapping;
use plasticore_emu::observe::{CsvTrace, Recorder, VcdTrace};
use plasticore_emu::{presets, EmuError, EmuOptions, Emulator, NoObserver, Stats};

fn build() -> Emulator {
    let spec = random_net(44, 8, 40, Some(2), true, false, false, 60);
    let chip = presets::loihi();
    // 8 slices of 5 neurons: cores 0-3 on tile 0, 4-7 on tile 1, the readout on core 8 (tile 2), so
    // packets cross links.
    let m = Mapping::from_lengths(&[5; 8], true, chip.mesh.cores());
    Emulator::with_mapping(chip, spec, m, EmuOptions::default()).unwrap()
}

#[test]
fn observers_do_not_change_results_and_see_everything() {
    let inputs = random_inputs(44, 8, 40, 40);
    let targets = random_targets(44, 2, 40);
    let mut a = build();
    let mut b = build();
    let mut stats = Stats::default();
    let mut rec = Recorder::new(1_000_000);
    let mut csv = CsvTrace::new(2, 4);
    let mut vcd = VcdTrace::new(1, 3);
    let mut spikes = 0u64;
    let mut packets = 0u64;
    for t in 0..40 {
        let tg = Target::Values(&targets[t]);
        let ra = a.step(Timestep(t as u32), &inputs[t], tg, &mut NoObserver).unwrap();
        let mut obs = (&mut stats, (&mut rec, (&mut csv, &mut vcd)));
        let rb = b.step(Timestep(t as u32), &inputs[t], tg, &mut obs).unwrap();
        assert_eq!(ra, rb);
        spikes += ra.spikes as u64;
        packets += ra.packets;
    }
    assert_eq!(a.snapshot_bytes(), b.snapshot_bytes());
    assert_eq!(stats.steps, 40);
    assert_eq!(stats.packets, packets);
    assert_eq!(rec.spikes.len() as u64, spikes);
    assert_eq!(rec.packets.len() as u64, packets);
    assert!(spikes > 0);
    // Every recorded packet arrived no earlier than its contention-free latency, computed here from the
    // XY hops between the source and destination tiles and the preset's hop and within-tile costs, and
    // exactly that latency plus the delay it reports; some packets cross E-W links.
    let (mesh, noc) = (presets::loihi().mesh, presets::loihi().noc);
    let mut crossed = 0u64;
    for p in &rec.packets {
        let tile = |core: u32| core as i64 / mesh.cores_per_tile as i64;
        let xy = |t: i64| (t % mesh.width as i64, t / mesh.width as i64);
        let ((sx, sy), (dx, dy)) = (xy(tile(p.packet.src)), xy(tile(p.packet.dst)));
        let (ew, ns) = ((dx - sx).unsigned_abs(), (dy - sy).unsigned_abs());
        let free = if ew + ns == 0 { noc.local as u64 } else { ew * noc.hop_ew as u64 + ns * noc.hop_ns as u64 };
        let d = &p.delivery;
        assert_eq!((d.hops_ew as u64, d.hops_ns as u64), (ew, ns), "{p:?}");
        assert!(d.arrive.0 >= p.packet.inject.0 + free, "{p:?} arrived before its contention-free latency {free}");
        assert_eq!(d.arrive.0, p.packet.inject.0 + free + d.delay, "{p:?}");
        crossed += (ew > 0) as u64;
    }
    assert!(crossed > 0, "some packets cross E-W links");
    // Cores 0-3 share tile 0 and cores 4-7 tile 1 (the readout is core 8, tile 2): eastward links carry
    // the traffic, and hot spots are sorted by load.
    let hs = stats.hotspots(3);
    assert!(!hs.is_empty());
    assert!(hs.windows(2).all(|w| w[0].packets >= w[1].packets));
    assert_eq!(stats.link_load.iter().sum::<u64>(), rec.packets.iter().map(|p| (p.delivery.hops_ew + p.delivery.hops_ns) as u64).sum::<u64>());
    let u = stats.utilisation();
    assert_eq!(u.len(), 9);
    assert!(u.iter().all(|&x| x > 0.0 && x <= 1.0), "{u:?}");
    // The CSV holds steps 2 and 3 only, with a header, phases, packets and barriers.
    assert!(csv.csv.starts_with("kind,step,"));
    assert!(csv.csv.lines().skip(1).all(|l| l.split(',').nth(1) == Some("2") || l.split(',').nth(1) == Some("3")));
    assert_eq!(csv.csv.lines().filter(|l| l.starts_with("barrier,")).count(), 2);
    assert!(csv.csv.contains(",integrate,"));
    // The VCD declares 9 core signals and the barrier, and its timestamps never go backwards.
    let v = vcd.finish();
    assert_eq!(v.lines().filter(|l| l.starts_with("$var wire 3")).count(), 9);
    assert!(v.contains("$enddefinitions $end"));
    let times: Vec<u64> = v.lines().filter_map(|l| l.strip_prefix('#')).map(|t| t.parse().unwrap()).collect();
    assert!(times.len() > 4 && times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    assert!(v.lines().any(|l| l.starts_with("b010 ")), "an integrate phase is recorded");
}

#[test]
fn strict_mode_turns_saturation_into_an_error() {
    // A 4-bit ε^x (2 fractional bits, max 3.75) with decay 0.95 saturates after a few spikes on the
    // same axon (steady state 1/(1 − 0.95) = 20).
    let mut spec = random_net(45, 3, 4, None, true, false, false, 100);
    spec.layer.formats.trace_bits = 4;
    spec.layer.formats.trace_frac = 2;
    spec.layer.trace_decay = spec.layer.formats.decay(fx(0.95), Field::Decay).unwrap();
    spec.weights = vec![Weight(1); spec.weights.len()];
    let chip = presets::loihi();
    let lam = [1000; 4];
    let run = |strict: bool| -> Result<u64, EmuError> {
        let m = Mapping::from_lengths(&[4], false, chip.mesh.cores());
        let mut e = Emulator::with_mapping(chip.clone(), spec.clone(), m, EmuOptions { strict, ..EmuOptions::default() }).unwrap();
        for t in 0..20 {
            e.step(Timestep(t), &[0, 1, 2], Target::Lambda(&lam), &mut NoObserver)?;
        }
        Ok(e.saturations().total())
    };
    let relaxed = run(false).unwrap();
    assert!(relaxed > 0, "the scenario must saturate");
    match run(true) {
        Err(EmuError::ChipEffect { what, .. }) => assert!(what.contains("saturation")),
        other => panic!("expected a chip-effect error, got {other:?}"),
    }
}
