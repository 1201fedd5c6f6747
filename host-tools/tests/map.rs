//! `plasticore::map` and `plasticore map`: limits, measured traffic against random, determinism, bits,
//! the mapping file, CLI errors.
use plasticore::map::{self, file::MappingFile, measure, partition::partition, place, source, traffic::Traffic, MapError, PlaceOptions};
use plasticore_core::format::Weight;
use plasticore_core::graph::{BiasMode, GraphConfig, LambdaSource, Population, Projection, ProjPresyn, ReadoutSpec, Source};
use plasticore_core::net::LossWindow;
use plasticore_core::rng::XorShift32;
use plasticore_emu::graph::mapping::check;
use plasticore_emu::graph::{GraphEmulator, GraphNetworkSpec, PopWeights};
use plasticore_emu::{presets, ChipDesc, EmuOptions, SparseWeights};
use proptest::prelude::*;
use std::process::Command;

/// A random chain of 1–3 populations (input → p0 → p1 → …, delay 0; optional recurrence with delay 1;
/// optional input skips), dense or compressed, the main job's layer and readout configuration.
fn random_net(seed: u32, max_neurons: u16) -> GraphNetworkSpec {
    let base = plasticore::mainjob::fixed_network(7).expect("main job network");
    let ro = base.readout.as_ref().expect("readout");
    let mut rng = XorShift32::new(seed);
    let mut r = |n: u32| rng.next_u32() % n;
    let np = 1 + r(3) as usize;
    let inputs = 1 + r(48) as u16;
    let mut pops = heapless::Vec::new();
    let mut projs = heapless::Vec::new();
    for p in 0..np {
        let neurons = 1 + r(max_neurons as u32) as u16;
        pops.push(Population { neurons, layer: base.layer, lambda: LambdaSource::Symmetric, bias: BiasMode::None, params: plasticore_core::graph::ParamMode::Shared }).unwrap();
        let source = if p == 0 { Source::Input { first: 0, width: inputs } } else { Source::Population(p as u8 - 1) };
        projs.push(Projection { source, target: p as u8, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
        if r(2) == 0 {
            projs.push(Projection { source: Source::Population(p as u8), target: p as u8, delay: 1, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
        }
        if p > 0 && r(3) == 0 {
            let first = r(inputs as u32) as u16;
            projs.push(Projection { source: Source::Input { first, width: inputs - first }, target: p as u8, delay: 0, learn: false, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
        }
    }
    let outputs = 1 + r(4) as u16;
    let config = GraphConfig {
        inputs,
        populations: pops,
        projections: projs,
        readout: ReadoutSpec { source: np as u8 - 1, outputs, config: ro.config },
        window: LossWindow::ALWAYS,
        learn: r(2) == 0,
    };
    let lay = config.layout(&[]).expect("valid graph");
    let mut weights = Vec::new();
    for p in 0..np {
        let l = lay.pops[p];
        let sparse = r(2) == 0;
        let density = 1 + r(4);
        if sparse {
            let mut sw = SparseWeights { row_start: vec![0], ..Default::default() };
            for _ in 0..l.axons {
                for j in 0..l.neurons {
                    if r(density) == 0 {
                        sw.cols.push(j as u16);
                        sw.weights.push(Weight(r(61) as i16 - 30));
                    }
                }
                sw.row_start.push(sw.cols.len() as u32);
            }
            weights.push(PopWeights::Sparse(sw));
        } else {
            weights.push(PopWeights::Dense((0..l.axons * l.neurons).map(|_| Weight(r(61) as i16 - 30)).collect()));
        }
    }
    let n_ro = lay.pops[np - 1].neurons;
    let readout_weights = (0..n_ro * outputs as usize).map(|_| Weight(r(61) as i16 - 30)).collect();
    let spec = GraphNetworkSpec { config, weights, readout_weights, bias: Vec::new(), params: Vec::new(), learn_epoch: 0 };
    spec.validate().expect("valid spec");
    spec
}

/// `loihi` with small, random per-core limits and mesh.
fn small_chip(seed: u32) -> ChipDesc {
    let mut chip = presets::preset("loihi").unwrap();
    let mut rng = XorShift32::new(seed ^ 0x5151);
    let mut r = |lo: u32, hi: u32| lo + rng.next_u32() % (hi - lo + 1);
    chip.limits.neurons = r(2, 64);
    chip.limits.input_axons = r(8, 256);
    chip.limits.output_axons = r(8, 512);
    chip.limits.syn_mem_bits = 1 << r(10, 18);
    chip.mesh.width = r(1, 4);
    chip.mesh.height = r(1, 4);
    chip.mesh.cores_per_tile = r(1, 4);
    chip
}

/// Every core of `m` within every limit of `chip`, counted by the emulator's own check (`usage`), and
/// compared here limit by limit; the placement one distinct physical core per logical core, on the chip.
fn assert_within(chip: &ChipDesc, spec: &GraphNetworkSpec, m: &plasticore_emu::graph::GraphMapping) {
    let lay = spec.validate().unwrap();
    let (usage, _) = check(chip, spec, &lay, m).expect("mapping passes the emulator's check");
    let l = &chip.limits;
    for (c, u) in usage.iter().enumerate() {
        assert!(u.neurons <= l.neurons as u64, "core {c}: {} neurons > {}", u.neurons, l.neurons);
        assert!(u.input_axons <= l.input_axons as u64, "core {c}: {} input axons > {}", u.input_axons, l.input_axons);
        assert!(u.output_axons <= l.output_axons as u64, "core {c}: {} output axons > {}", u.output_axons, l.output_axons);
        assert!(u.syn_bits <= l.syn_mem_bits, "core {c}: {} synapse bits > {}", u.syn_bits, l.syn_mem_bits);
    }
    assert_eq!(m.placement.len(), m.cores_used());
    let mut seen = std::collections::BTreeSet::new();
    for &p in &m.placement {
        assert!(p < chip.mesh.cores(), "physical core {p} beyond the chip's {}", chip.mesh.cores());
        assert!(seen.insert(p), "physical core {p} used twice");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Random networks on random small chips: a partition, its optimised placement and a random
    /// placement all stay within every per-core limit; a network that does not fit is refused with an
    /// error that names a population (or the core count) and the limit.
    #[test]
    fn every_placement_respects_every_limit(net_seed in any::<u32>(), chip_seed in any::<u32>(), cap in prop::option::of(1usize..40), seed in any::<u64>()) {
        let spec = random_net(net_seed | 1, 80);
        let chip = small_chip(chip_seed);
        match partition(&chip, &spec, cap) {
            Ok(sliced) => {
                if let Some(c) = cap {
                    prop_assert!(sliced.cores.iter().all(|s| s.len <= c));
                }
                let t = Traffic::estimate(&spec, &sliced, 10).unwrap();
                let plan = map::plan(&chip, sliced.clone(), &t, PlaceOptions { seed, anneal_steps: 2_000 }, |_, _| {}).unwrap();
                assert_within(&chip, &spec, &plan.mapping);
                let topo = place::Topology::new(&chip);
                let rnd = place::random(&topo, sliced.cores_used(), seed).unwrap();
                assert_within(&chip, &spec, &sliced.placed(rnd));
                prop_assert!(plan.cost <= plan.greedy_cost, "annealing returned a worse placement than it started from");
            }
            Err(MapError::DoesNotFit { detail, .. }) => {
                prop_assert!(["input axons", "output axons", "synapse memory bits", "weight bits", "neurons"].iter().any(|l| detail.starts_with(l)), "{detail}");
            }
            Err(MapError::Options(msg)) => prop_assert!(msg.contains("cores"), "{msg}"),
            Err(MapError::Emu(e)) => prop_assert!(e.to_string().contains("readout"), "{e}"),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}

/// The main job's 40 → 64 → 2 network at 8 neurons per core (8 cores + the readout's) on `loihi`.
fn main_job_case() -> (ChipDesc, GraphNetworkSpec, plasticore_core::image::Stimulus) {
    (presets::preset("loihi").unwrap(), source::main_job().unwrap(), source::default_stimulus(3, 120))
}

#[test]
fn optimised_placement_lowers_measured_hop_traffic_against_random() {
    let (chip, spec, stim) = main_job_case();
    let r = map::map_and_measure(&chip, &spec, stim, stim, Some(8), PlaceOptions { seed: 5, anneal_steps: 20_000 }, |_, _, _| {}).unwrap();
    assert_eq!(r.plan.mapping.cores_used(), 9);
    // measured by the emulator's link statistics, not the model
    assert_eq!(r.chosen.packets, r.random.packets, "the same packets are sent");
    assert!(r.chosen.hop_packets * 2 < r.random.hop_packets, "chosen {} vs random {} hop-weighted packets", r.chosen.hop_packets, r.random.hop_packets);
    assert!(r.chosen.noc_pj < r.random.noc_pj, "NoC energy {} vs {}", r.chosen.noc_pj, r.random.noc_pj);
    // 9 cores fill 3 tiles of 4: the best placement keeps most packets inside tiles
    assert!(r.chosen.local_deliveries > r.random.local_deliveries);
    // the model's prediction equals the measurement (checked inside too)
    assert_eq!(r.chosen.hop_packets, r.plan.cost);
    // and on inputs the placement was not profiled on (another seed), it still wins
    let other = source::default_stimulus(4, 120);
    let r = map::map_and_measure(&chip, &spec, stim, other, Some(8), PlaceOptions { seed: 5, anneal_steps: 20_000 }, |_, _, _| {}).unwrap();
    assert_eq!(r.chosen.bits, r.random.bits);
    assert!(r.chosen.hop_packets * 2 < r.random.hop_packets, "unseen inputs: chosen {} vs random {}", r.chosen.hop_packets, r.random.hop_packets);
}

#[test]
fn same_seed_same_placement() {
    let (chip, spec, stim) = main_job_case();
    let sliced = partition(&chip, &spec, Some(4)).unwrap();
    let (t, _) = Traffic::profile(&chip, &spec, &sliced, stim, &mut plasticore_emu::NoObserver).unwrap();
    let o = PlaceOptions { seed: 11, anneal_steps: 30_000 };
    let a = map::plan(&chip, sliced.clone(), &t, o, |_, _| {}).unwrap();
    let b = map::plan(&chip, sliced.clone(), &t, o, |_, _| {}).unwrap();
    assert_eq!(a.mapping, b.mapping);
    assert_eq!((a.cost, a.accepted), (b.cost, b.accepted));
    let topo = place::Topology::new(&chip);
    assert_eq!(place::random(&topo, 17, 9).unwrap(), place::random(&topo, 17, 9).unwrap());
    assert_ne!(place::random(&topo, 17, 9).unwrap(), place::random(&topo, 17, 10).unwrap(), "the seed must matter");
}

#[test]
fn bits_are_identical_across_placements() {
    let (chip, spec, stim) = main_job_case();
    let sliced = partition(&chip, &spec, Some(16)).unwrap();
    let k = sliced.cores_used();
    let topo = place::Topology::new(&chip);
    let n = chip.mesh.cores();
    let placements = [
        (0..k).collect::<Vec<_>>(),
        (0..k).map(|i| n - 1 - i).collect(),
        place::random(&topo, k, 1).unwrap(),
        place::random(&topo, k, 2).unwrap(),
    ];
    let runs: Vec<measure::Measured> = placements
        .iter()
        .map(|p| measure::run(&chip, &spec, &sliced.clone().placed(p.clone()), stim, &mut plasticore_emu::NoObserver).unwrap())
        .collect();
    assert!(runs[0].bits.summary.spikes > 0, "the network must spike for the comparison to mean something");
    for (i, r) in runs.iter().enumerate().skip(1) {
        let (a, b) = (&runs[0].bits, &r.bits);
        assert_eq!(a.summary, b.summary, "placement {i}: run summary (spike/loss trajectory)");
        assert_eq!(a.spikes, b.spikes, "placement {i}: hash of every step's spike ids");
        assert!(a.weights == b.weights, "placement {i}: final population weights differ");
        assert!(a.readout == b.readout, "placement {i}: final readout weights differ");
    }
    // ... while the traffic does differ (the reversed placement is the identity's point reflection: the
    // same hops)
    assert_ne!(runs[0].hop_packets, runs[2].hop_packets);
}

#[test]
fn explicit_placement_is_validated_naming_the_limit() {
    let (chip, spec, _) = main_job_case();
    let sliced = partition(&chip, &spec, Some(32)).unwrap();
    assert_eq!(sliced.cores_used(), 3);
    let opts = EmuOptions::default();
    let err = |p: Vec<usize>| GraphEmulator::with_mapping(chip.clone(), spec.clone(), sliced.clone().placed(p), opts).err().expect("refused").to_string();
    let e = err(vec![0, 5, 5]);
    assert!(e.contains("logical cores 1 and 2 both on physical core 5"), "{e}");
    let e = err(vec![0, 1, 128]);
    assert!(e.contains("physical core 128, the chip has 128 cores"), "{e}");
    let e = err(vec![0, 1]);
    assert!(e.contains("2 physical cores given for 3 logical cores"), "{e}");
    assert!(GraphEmulator::with_mapping(chip.clone(), spec.clone(), sliced.placed(vec![127, 64, 3]), opts).is_ok());
}

#[test]
fn a_network_that_cannot_fit_names_the_population_and_the_limit() {
    let (mut chip, spec, _) = main_job_case();
    chip.limits.input_axons = 100; // the hidden population has 40 + 64 = 104 dense axons
    let e = partition(&chip, &spec, None).unwrap_err().to_string();
    assert!(e.contains("population 0 (64 neurons)") && e.contains("input axons: 104 > 100 per core"), "{e}");
    let chip = presets::preset("brainscales2").unwrap();
    let net = random_net(3, 20);
    let e = partition(&chip, &net, None).unwrap_err().to_string();
    assert!(e.contains("population 0") && e.contains("weight bits: 8 > 6"), "{e}");
}

#[test]
fn mapping_file_round_trips_and_refuses_another_network() {
    let (chip, spec, stim) = main_job_case();
    let sliced = partition(&chip, &spec, Some(16)).unwrap();
    let (t, _) = Traffic::profile(&chip, &spec, &sliced, stim, &mut plasticore_emu::NoObserver).unwrap();
    let plan = map::plan(&chip, sliced, &t, PlaceOptions { seed: 1, anneal_steps: 1000 }, |_, _| {}).unwrap();
    let dir = std::env::temp_dir().join(format!("plasticore-map-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.json");
    map::save(&path, &MappingFile::new(&chip, &spec, &plan.mapping, serde_json::json!({"seed": 1}))).unwrap();
    assert!(!dir.join("m.json.tmp").exists());
    assert_eq!(map::load(&path, &spec).unwrap(), plan.mapping);
    assert_eq!(map::file::load_checked(&path, &spec, &chip).unwrap(), plan.mapping);
    // another network
    let other = random_net(9, 30);
    let e = map::load(&path, &other).unwrap_err().to_string();
    assert!(e.contains("made for a network of populations [64]"), "{e}");
    // a bad version and a broken cover
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"version\": 1", "\"version\": 2")).unwrap();
    assert!(map::load(&path, &spec).unwrap_err().to_string().contains("version 2 is not supported"));
    std::fs::write(&path, text.replace("\"first\": 16", "\"first\": 17")).unwrap();
    assert!(map::load(&path, &spec).unwrap_err().to_string().contains("contiguous"));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn plasticore(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_plasticore")).args(args).env_remove("RUST_BACKTRACE").output().unwrap();
    (o.status.success(), String::from_utf8_lossy(&o.stdout).into(), String::from_utf8_lossy(&o.stderr).into())
}

#[test]
fn cli_maps_graph2_and_fails_in_one_line() {
    let dir = std::env::temp_dir().join(format!("plasticore-map-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let img = dir.join("graph2.pcimg");
    let out = dir.join("mapping.json");
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    assert!(plasticore(&["image", "write", "--preset", "graph2", "--out", &s(&img)]).0);
    let (ok, stdout, stderr) = plasticore(&["map", "--image", &s(&img), "--neurons-per-core", "16", "--steps", "60", "--anneal-steps", "5000", "-o", &s(&out), "--json"]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["format"], "plasticore-mapping");
    let chosen = v["provenance"]["measured"]["chosen"]["hop_weighted_packets"].as_u64().unwrap();
    let random = v["provenance"]["measured"]["random"]["hop_weighted_packets"].as_u64().unwrap();
    assert!(chosen < random, "{chosen} vs {random}");
    let (spec, _) = source::from_image(&std::fs::read(&img).unwrap()).unwrap();
    let m = map::file::load_checked(&out, &spec, &presets::preset("loihi").unwrap()).unwrap();
    assert_eq!(m.cores.len(), 6 + 4);
    // the mapping file places the network for `emulate --image`: its cores, the same bits as the
    // partitioner's packing, different cycles
    let emulate = |extra: &[&str]| {
        let mut args = vec!["emulate", "--image", &s(&img), "--steps", "40", "--learn", "--json"].iter().map(|a| a.to_string()).collect::<Vec<_>>();
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, stdout, stderr) = plasticore(&args);
        assert!(ok, "{stderr}");
        serde_json::from_str::<serde_json::Value>(stdout.trim()).unwrap()
    };
    let (packed, placed) = (emulate(&[]), emulate(&["--mapping", &s(&out)]));
    assert_eq!(placed["cores_used"].as_u64().unwrap(), m.cores_used() as u64);
    assert_ne!(placed["cores_used"], packed["cores_used"], "the mapping file was not used");
    assert_eq!(placed["checksum"], packed["checksum"]);
    assert_ne!(placed["cycles_per_step"], packed["cycles_per_step"]);
    // errors: one line, non-zero exit
    for (args, want) in [
        (vec!["map", "--image", "/nonexistent/x.pcimg"], "reading /nonexistent/x.pcimg"),
        (vec!["map", "--image", &s(&img), "--preset", "brainscales2"], "weight bits: 8 > 6"),
        (vec!["map", "--image", &s(&out)], "image"),
        (vec!["map", "--main-job", "--steps", "0"], "--steps must be at least 1"),
        (vec!["map", "--main-job", "--image", &s(&img)], "cannot be used with"),
        (vec!["map"], "required"),
        (vec!["emulate", "--image", &s(&img), "--mapping", "/nonexistent/m.json"], "/nonexistent/m.json"),
        (vec!["emulate", "--image", &s(&img), "--mapping", &s(&out), "--split"], "cannot be used with"),
        (vec!["emulate", "--mapping", &s(&out)], "--mapping needs --image"),
    ] {
        let (ok, _, stderr) = plasticore(&args);
        assert!(!ok, "{args:?} succeeded");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: ") && stderr.contains(want), "{args:?}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
