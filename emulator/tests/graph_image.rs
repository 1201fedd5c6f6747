//! host = firmware = emulator on the committed firmware images: each image's seeded stimulus runs through
//! the emulated chip (`graph::image_run`, on the `loihi` preset with every population split over several
//! cores, one core per tile, so spikes and learning signals cross the mesh) and gives the `RESULT` line of
//! the host (`GraphMut` driven by core-nostd's `run_graph`) bit for bit, and the checksum the firmware
//! prints under QEMU: `graph2.pcimg` (two layers, learning) on the Cortex-M4 (`firmware/ci.sh`,
//! checksum 9b84a3ec), the version-1 images as recorded in `firmware/images/results.txt`.

use plasticore_core::format::Weight;
use plasticore_core::graph::image::{GraphImage, PooledStorage};
use plasticore_core::graph::run_graph;
use plasticore_core::image::{RunSummary, Runner};
use plasticore_emu::graph::{run_image, spec_from_image, split_mapping, GraphEmulator};
use plasticore_emu::observe::NoObserver;
use plasticore_emu::storage::GraphStore;
use plasticore_emu::{presets, EmuOptions};
use std::path::PathBuf;

fn image(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware/images").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e} (the committed firmware image is missing)", p.display()))
}

/// The host: `GraphMut` over pooled buffers, the image's stimulus through `run_graph`.
fn host(bytes: &[u8]) -> RunSummary {
    host_with(bytes, None)
}

/// [`host`] with the image's learning switch overridden when `learn` is given.
fn host_with(bytes: &[u8], learn: Option<bool>) -> RunSummary {
    let img = GraphImage::parse(bytes).unwrap();
    let d = img.desc().unwrap();
    let z = img.pooled_sizes(&d).unwrap();
    let (mut w, mut rs, mut cs, mut ro) = (vec![Weight(0); z.weights], vec![0u32; z.row_start], vec![0u16; z.cols], vec![Weight(0); z.readout]);
    let mut bias = vec![0i32; z.bias];
    let mut params = vec![plasticore_core::neuron::ParamSlot::EMPTY; z.params];
    let l = img.load_pooled(PooledStorage { weights: &mut w, row_start: &mut rs, cols: &mut cs, readout: &mut ro, bias: &mut bias, params: &mut params }).unwrap();
    let topo = l.topology(&rs, &cs);
    let np = l.desc.populations.len();
    let mut store = GraphStore::new(&l.layout, w, ro, l.config.readout.outputs as usize);
    store.bias = bias;
    store.params = params;
    let mut cfg = l.config.clone();
    if let Some(on) = learn {
        cfg.learn = on;
    }
    let mut g = store.view(&cfg, &topo[..np]).unwrap();
    g.reset_state();
    let mut input = vec![0u16; l.config.inputs as usize];
    let mut values = vec![0i32; l.config.readout.outputs as usize];
    run_graph(&mut Runner::new(img.stimulus().unwrap().unwrap()), &mut g, &mut input, &mut values).unwrap()
}

/// The emulated chip: `loihi`, every population split over several cores, `threads` workers.
fn emulated(bytes: &[u8], threads: usize) -> (RunSummary, GraphEmulator) {
    emulated_with(bytes, threads, None)
}

/// [`emulated`] with the image's learning switch overridden when `learn` is given.
fn emulated_with(bytes: &[u8], threads: usize, learn: Option<bool>) -> (RunSummary, GraphEmulator) {
    let (mut spec, stim) = spec_from_image(bytes).unwrap();
    if let Some(on) = learn {
        spec.config.learn = on;
    }
    let chip = presets::loihi();
    let m = split_mapping(&chip, &spec).unwrap();
    let opts = EmuOptions { threads, timing: false, strict: false };
    let mut e = GraphEmulator::with_mapping(chip, spec, m, opts).unwrap();
    let s = run_image(&mut Runner::new(stim.unwrap()), &mut e, &mut NoObserver).unwrap();
    (s, e)
}

#[test]
fn graph2_image_learns_on_the_emulated_chip_to_the_firmware_checksum() {
    let bytes = image("graph2.pcimg");
    let want = host(&bytes);
    // The checksum the Cortex-M4 prints under QEMU for this image (firmware/ci.sh compares the lines).
    assert_eq!(want.checksum, 0x9b84_a3ec, "host: {want}");
    let (got, e) = emulated(&bytes, 2);
    assert_eq!(got.to_string(), want.to_string());
    // The mapping is what the check is about: both populations on several cores, spread over tiles.
    for p in 0..2 {
        let cores = e.mapping().cores.iter().filter(|s| s.population == p).count();
        assert!(cores >= 2, "population {p} on {cores} core(s)");
    }
    assert!(e.mapping().stride > 1, "one core per tile, so packets cross links");
}

#[test]
fn version_1_images_run_on_the_emulated_chip_to_the_recorded_results() {
    let results = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware/images/results.txt")).unwrap();
    for name in ["smoke", "m0"] {
        let line = results.lines().find(|l| l.starts_with(&format!("{name} RESULT"))).unwrap_or_else(|| panic!("no {name} in results.txt"));
        let (got, _) = emulated(&image(&format!("{name}.pcimg")), 1);
        assert_eq!(format!("{name} {got}"), line);
    }
}

/// Per-neuron thresholds and decays on the emulated chip (`GraphNetworkSpec::params`, each core's slice
/// given to `LayerMut::set_neuron_params`): the fuzz corpus's two-population image with per-neuron
/// records (LIF + STP with a fixed bias, ALIF + STD with a learnt bias, 8-bit weights, compressed rows,
/// delays) runs to the host's RESULT line with every population split over cores, learning off (as the
/// image says) and on, 1 and 3 threads. Mutation tried: `PopCore::view` not setting the records (the
/// neurons then use the model's scalars): fails.
#[test]
fn per_neuron_parameters_run_on_the_emulated_chip_as_on_the_host() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../core-nostd/fuzz/seeds-graph/v2_two_pop_neuron_params.pcimg");
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e} (the committed seed image is missing)", p.display()));
    let (spec, _) = spec_from_image(&bytes).unwrap();
    assert!(spec.params.iter().all(|v| !v.is_empty()), "both populations carry per-neuron records");
    for learn in [false, true] {
        let want = host_with(&bytes, Some(learn));
        for threads in [1, 3] {
            let (got, e) = emulated_with(&bytes, threads, Some(learn));
            assert_eq!(got.to_string(), want.to_string(), "learn {learn}, {threads} threads");
            assert!(e.mapping().cores.iter().filter(|s| s.population == 1).count() >= 2, "population 1 split over cores");
        }
    }
}
