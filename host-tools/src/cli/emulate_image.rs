//! `plasticore emulate --image FILE`: any network image (format version 1 or 2) on a chip preset, driven
//! by its seeded stimulus (`Runner`, as the host and the firmware run it), with per-population
//! accounting: busy cycles and energy per phase of the cores holding each population, its packets and
//! their NoC energy, and the link hot spots with the populations whose packets use them. Also the
//! `image run --emulator` check of graph images.
//!
//! Attribution: a core's phase intervals and energy (`observe::CoreStep`) go to the population of its
//! slice; the readout's work goes to its own line when it has its own core, else it is counted with the
//! population that shares its core (said in the output). A spike packet belongs to the population of
//! the neuron that fired; a learning-signal (λ) packet to the population whose neuron receives the
//! word. A packet's links are those of the chip's deterministic routing policy from its source tile to
//! its destination tile (the mesh simulation routes it the same way), each hop charged the chip's E-W or
//! N-S hop energy; a packet that stays on its tile is charged the local delivery energy.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use plasticore_core::graph::image::GraphImage;
use plasticore_core::image::{RunSummary, Runner, Stimulus, TargetRule};
use plasticore_emu::graph::emu::TAG_SIGNAL;
use plasticore_emu::graph::{run_image, spec_from_image, split_mapping, step_image, GraphEmulator, GraphMapping};
use plasticore_emu::noc::RoutingPolicy;
use plasticore_emu::observe::{Observer, StepView};
use plasticore_emu::{ChipDesc, EmuOptions};
use serde_json::json;

/// What `emulate --image` was asked for.
pub struct ImageRun {
    /// Image file.
    pub image: PathBuf,
    /// Steps (default: the image's stimulus, else 1000).
    pub steps: Option<u32>,
    /// Probability that an input channel spikes in a step, 0..=1 (default: the image's stimulus, else 0.1).
    pub input_rate: Option<f64>,
    /// Stimulus seed (default: the image's stimulus, else 1).
    pub seed: Option<u32>,
    /// Learning on (default off: inference).
    pub learn: bool,
    /// Worker threads.
    pub threads: usize,
    /// One core per tile.
    pub spread: bool,
    /// Every population's slices cut in two ([`split_mapping`]).
    pub split: bool,
    /// A mapping file (`plasticore map -o`) to place the network with.
    pub mapping: Option<PathBuf>,
    /// Hot links to list.
    pub hot: usize,
    /// Print JSON instead of text.
    pub json: bool,
}

/// Per-population totals over the run.
#[derive(Clone, Debug, Default)]
struct PopTotals {
    /// Busy cycles per phase (deliver, integrate, fire, route, learn), summed over the population's cores.
    busy: [u64; 5],
    /// Dynamic energy per phase, pJ.
    energy: [f64; 5],
    /// Σ over steps of the last phase end of its cores (its finish time inside the step).
    finish: u64,
    spike_packets: u64,
    signal_packets: u64,
    /// NoC energy of its packets, pJ.
    noc_pj: f64,
}

/// Observer that splits the run by population.
struct PopAccount {
    /// Population of each logical core (`None`: the readout's own core).
    pop_of_core: Vec<Option<usize>>,
    /// First global neuron of each population, and its size.
    neurons: Vec<(usize, usize)>,
    chip: ChipDesc,
    /// One per population, then the readout.
    pops: Vec<PopTotals>,
    /// Packets per directed link (`tile·4 + dir`) and class (population, λ?).
    links: BTreeMap<usize, BTreeMap<(usize, bool), u64>>,
    steps: u64,
    cycles: u64,
    energy_phases: [f64; 5],
    energy_noc: f64,
    energy_static: f64,
    packets: u64,
    delayed: u64,
    blocked: u64,
}

impl PopAccount {
    fn new(e: &GraphEmulator) -> Self {
        let m = e.mapping();
        let np = e.layout().populations;
        let mut pop_of_core: Vec<Option<usize>> = m.cores.iter().map(|s| Some(s.population)).collect();
        if m.readout_core >= pop_of_core.len() {
            pop_of_core.resize(m.readout_core + 1, None);
        }
        let neurons = (0..np).map(|p| (e.layout().pops[p].neuron_off, e.layout().pops[p].neurons)).collect();
        PopAccount {
            pop_of_core,
            neurons,
            chip: e.chip().clone(),
            pops: vec![PopTotals::default(); np + 1],
            links: BTreeMap::new(),
            steps: 0,
            cycles: 0,
            energy_phases: [0.0; 5],
            energy_noc: 0.0,
            energy_static: 0.0,
            packets: 0,
            delayed: 0,
            blocked: 0,
        }
    }

    fn pop_of_neuron(&self, g: usize) -> usize {
        self.neurons.iter().position(|&(off, n)| g >= off && g < off + n).unwrap_or(self.neurons.len())
    }
}

impl Observer for PopAccount {
    fn on_step(&mut self, v: &StepView<'_>) {
        let r = v.report;
        self.steps += 1;
        self.cycles += r.cycles.0;
        for (a, b) in self.energy_phases.iter_mut().zip(r.energy.phases) {
            *a += b;
        }
        self.energy_noc += r.energy.noc;
        self.energy_static += r.energy.static_;
        self.packets += r.packets;
        self.delayed += r.delayed_packets;
        self.blocked += r.blocked;
        let np = self.neurons.len();
        let mut finish = vec![0u64; np + 1];
        for c in v.cores {
            let p = self.pop_of_core.get(c.core).copied().flatten().unwrap_or(np);
            let t = &mut self.pops[p];
            for k in 0..5 {
                t.busy[k] += c.phases[k].1 .0.saturating_sub(c.phases[k].0 .0);
                t.energy[k] += c.energy_pj[k];
            }
            finish[p] = finish[p].max(c.phases.iter().map(|x| x.1 .0).max().unwrap_or(0));
        }
        for (t, f) in self.pops.iter_mut().zip(finish) {
            t.finish += f;
        }
        let mesh = v.mesh;
        let (e, routing) = (&self.chip.energy, self.chip.noc.routing);
        for pk in v.packets {
            let signal = pk.tag & TAG_SIGNAL != 0;
            let p = self.pop_of_neuron((pk.tag & !TAG_SIGNAL) as usize);
            let (a, b) = (mesh.tile_of(pk.src as usize), mesh.tile_of(pk.dst as usize));
            let mut here = mesh.xy(a);
            let dst = mesh.xy(b);
            let mut pj = if a == b { e.local_pj } else { 0.0 };
            let mut hops = 0;
            while let Some(d) = routing.next(here, dst) {
                let tile = (here.1 * mesh.width + here.0) as usize;
                *self.links.entry(tile * 4 + d.index()).or_default().entry((p, signal)).or_default() += 1;
                pj += if d.is_ew() { e.hop_ew_pj } else { e.hop_ns_pj };
                here = match d {
                    plasticore_emu::noc::Dir::East => (here.0 + 1, here.1),
                    plasticore_emu::noc::Dir::West => (here.0.wrapping_sub(1), here.1),
                    plasticore_emu::noc::Dir::North => (here.0, here.1.wrapping_sub(1)),
                    plasticore_emu::noc::Dir::South => (here.0, here.1 + 1),
                };
                hops += 1;
                if hops > (mesh.width + mesh.height) as usize {
                    break; // a policy that does not reach the destination (contract: it always does)
                }
            }
            let t = &mut self.pops[p.min(np)];
            if signal {
                t.signal_packets += 1;
            } else {
                t.spike_packets += 1;
            }
            t.noc_pj += pj;
        }
    }
}

fn stimulus(img: Option<Stimulus>, a: &ImageRun) -> Result<(Stimulus, &'static str)> {
    let (mut s, from) = match img {
        Some(s) => (s, "the image's stimulus"),
        None => (Stimulus { seed: 1, rate: 429_496_730, steps: 1000, target: TargetRule::GroupActivity, amplitude: 1 << 16 }, "default stimulus (the image has none)"),
    };
    if let Some(n) = a.steps {
        s.steps = n;
    }
    if let Some(seed) = a.seed {
        s.seed = seed;
    }
    if let Some(r) = a.input_rate {
        if !(0.0..=1.0).contains(&r) {
            bail!("--input-rate {r} is not a probability in 0..=1");
        }
        s.rate = (r * 4_294_967_296.0).round().min(u32::MAX as f64) as u32;
    }
    Ok((s, from))
}

fn describe_mapping(m: &GraphMapping, np: usize) -> Vec<String> {
    let mut out = Vec::new();
    for p in 0..np {
        let sl: Vec<String> = m.cores.iter().enumerate().filter(|(_, s)| s.population == p).map(|(i, s)| format!("core {i}: {}..{}", s.first, s.first + s.len)).collect();
        out.push(format!("population {p} on {} core(s) ({})", sl.len(), sl.join(", ")));
    }
    let ro = if m.readout_core >= m.cores.len() {
        format!("readout on its own core {}", m.readout_core)
    } else {
        format!("readout shares core {} with population {}", m.readout_core, m.cores[m.readout_core].population)
    };
    out.push(format!("{ro}; logical core i on physical core {}·i", m.stride));
    out
}

/// Build the emulator for an image on `chip`: the partitioner's mapping, or [`split_mapping`].
#[allow(clippy::too_many_arguments)]
fn build(chip: ChipDesc, bytes: &[u8], learn: Option<bool>, split: bool, spread: bool, mapping: Option<&Path>, threads: usize, timing: bool) -> Result<(GraphEmulator, Option<Stimulus>)> {
    let (mut spec, stim) = spec_from_image(bytes).map_err(|e| anyhow!("{e}"))?;
    if let Some(l) = learn {
        spec.config.learn = l;
    }
    if let Some(path) = mapping {
        let m = plasticore::map::file::load_checked(path, &spec, &chip).map_err(|e| anyhow!("{e}"))?;
        let opts = EmuOptions { threads, timing, strict: false };
        let e = GraphEmulator::with_mapping(chip, spec, m, opts).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        return Ok((e, stim));
    }
    let mut m = if split {
        split_mapping(&chip, &spec).map_err(|e| anyhow!("the network does not fit the chip: {e}"))?
    } else {
        plasticore_emu::graph::mapping::partition(&chip, &spec).map_err(|e| anyhow!("the network does not fit the chip: {e}"))?
    };
    if spread {
        let per_tile = chip.mesh.cores_per_tile as usize;
        if m.cores_used() * per_tile > chip.mesh.cores() {
            bail!("--spread: {} cores, one per tile, need {} tiles; the chip has {}", m.cores_used(), m.cores_used(), chip.mesh.tiles());
        }
        m = m.spread(per_tile);
    }
    let opts = EmuOptions { threads, timing, strict: false };
    let e = GraphEmulator::with_mapping(chip, spec, m, opts).map_err(|e| anyhow!("the network does not fit the chip: {e}"))?;
    Ok((e, stim))
}

/// `image run FILE --emulator PRESET` for a graph image: the image as it is (its own learning switch
/// and stimulus) on the preset with every population split over several cores ([`split_mapping`]).
/// Returns the summary and a description of the mapping.
pub fn emulator_summary(bytes: &[u8], preset: &str) -> Result<(RunSummary, Vec<String>)> {
    let chip = plasticore_emu::presets::preset(preset).map_err(|e| anyhow!("{e}"))?;
    let (mut e, stim) = build(chip, bytes, None, true, false, None, 2, false)?;
    let stim = stim.ok_or_else(|| anyhow!("image has no stimulus section"))?;
    let s = run_image(&mut Runner::new(stim), &mut e, &mut plasticore_emu::NoObserver).map_err(|e| anyhow!("emulator: {e}"))?;
    Ok((s, describe_mapping(e.mapping(), e.layout().populations)))
}

const PHASES: [&str; 5] = ["deliver", "integrate", "fire", "route", "learn"];

/// Run `emulate --image`.
pub fn run(chip: ChipDesc, chip_name: &str, a: &ImageRun) -> Result<()> {
    let bytes = std::fs::read(&a.image).with_context(|| format!("reading {}", a.image.display()))?;
    let version = GraphImage::parse(&bytes).map_err(|e| anyhow!("{}: {e}", a.image.display()))?.version();
    let (mut e, stim) = build(chip, &bytes, Some(a.learn), a.split, a.spread, a.mapping.as_deref(), a.threads, true).with_context(|| format!("{} on chip {chip_name}", a.image.display()))?;
    let (stim, stim_from) = stimulus(stim, a)?;
    let mut acc = PopAccount::new(&e);
    let mut run = Runner::new(stim);
    let mut input = vec![0u16; e.layout().hist_stride - e.layout().neurons]; // the graph's inputs
    let mut values = vec![0i32; e.readout().outputs().len()];
    while run.timestep().0 < stim.steps {
        step_image(&mut run, &mut e, &mut input, &mut values, &mut acc).map_err(|err| anyhow!("emulator, step {}: {err}", run.timestep().0))?;
    }
    // The checksum is undefined when a compressed row has a synapse on no core (GraphEmulator::checksum).
    let (summary, checksum) = match e.summary(&run) {
        Ok(s) => (s, Ok(s.checksum)),
        Err(err) => (run.partial_summary(), Err(err.to_string())),
    };
    let np = e.layout().populations;
    let t = acc.steps.max(1) as f64;
    let (ew, ns) = (e.chip().energy.hop_ew_pj, e.chip().energy.hop_ns_pj);
    let mut hot: Vec<(usize, u64)> = acc.links.iter().map(|(&l, m)| (l, m.values().sum())).collect();
    hot.sort_by_key(|&(l, n)| (std::cmp::Reverse(n), l));
    hot.truncate(a.hot);
    let mesh = e.chip().mesh;
    let pop_name = |p: usize| if p < np { format!("population {p}") } else { "readout".to_string() };
    let readout_own = e.mapping().readout_core >= e.mapping().cores.len();
    if a.json {
        let pops: Vec<_> = (0..=np)
            .filter(|&p| p < np || readout_own)
            .map(|p| {
                let s = &acc.pops[p];
                json!({
                    "name": pop_name(p),
                    "neurons": if p < np { e.layout().pops[p].neurons } else { e.readout().outputs().len() },
                    "cores": if p < np { e.mapping().cores.iter().filter(|c| c.population == p).count() } else { 1 },
                    "busy_cycles_per_step": PHASES.iter().zip(s.busy).map(|(k, v)| (k.to_string(), json!(v as f64 / t))).collect::<serde_json::Map<_, _>>(),
                    "energy_nj_per_step": PHASES.iter().zip(s.energy).map(|(k, v)| (k.to_string(), json!(v / 1e3 / t))).collect::<serde_json::Map<_, _>>(),
                    "noc_energy_nj_per_step": s.noc_pj / 1e3 / t,
                    "finish_cycle_mean": s.finish as f64 / t,
                    "spike_packets_per_step": s.spike_packets as f64 / t,
                    "signal_packets_per_step": s.signal_packets as f64 / t,
                })
            })
            .collect();
        let links: Vec<_> = hot
            .iter()
            .map(|&(l, n)| {
                let (x, y) = mesh.xy(l / 4);
                let dir = ["E", "W", "N", "S"][l % 4];
                let by: Vec<_> = acc.links[&l]
                    .iter()
                    .map(|(&(p, sig), &k)| json!({"population": pop_name(p), "kind": if sig { "lambda" } else { "spike" }, "packets": k}))
                    .collect();
                json!({"tile": [x, y], "dir": dir, "packets": n, "energy_nj": n as f64 * if l % 4 < 2 { ew } else { ns } / 1e3, "by": by})
            })
            .collect();
        let out = json!({
            "image": a.image.display().to_string(),
            "version": version,
            "chip": chip_name,
            "cores_used": e.mapping().cores_used(),
            "mapping": describe_mapping(e.mapping(), np),
            "learn": a.learn,
            "stimulus": {"steps": stim.steps, "seed": stim.seed, "input_rate": stim.rate as f64 / 4_294_967_296.0, "from": stim_from},
            "cycles_per_step": acc.cycles as f64 / t,
            "energy_nj_per_step": {
                "phases": PHASES.iter().zip(acc.energy_phases).map(|(k, v)| (k.to_string(), json!(v / 1e3 / t))).collect::<serde_json::Map<_, _>>(),
                "noc": acc.energy_noc / 1e3 / t,
                "static": acc.energy_static / 1e3 / t,
            },
            "packets": acc.packets, "delayed_packets": acc.delayed, "back_pressure": acc.blocked,
            "populations": pops,
            "hot_links": links,
            "result": match &checksum { Ok(_) => summary.to_string(), Err(_) => String::new() },
            "trajectory": format!("{:08x}", summary.trajectory),
            "spikes": summary.spikes,
            "loss_sum_q16": summary.loss_sum_q16,
            "checksum": match &checksum { Ok(c) => json!(format!("{c:08x}")), Err(why) => json!({"undefined": why}) },
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{} (image version {version}) on chip {chip_name}: {} cores, learning {}, {} steps at input rate {:.3} (seed {}, {stim_from})",
        a.image.display(),
        e.mapping().cores_used(),
        if a.learn { "on" } else { "off" },
        stim.steps,
        stim.rate as f64 / 4_294_967_296.0,
        stim.seed
    );
    for l in describe_mapping(e.mapping(), np) {
        println!("  {l}");
    }
    println!("cycles per timestep    {:.1}", acc.cycles as f64 / t);
    let total: f64 = acc.energy_phases.iter().sum::<f64>() + acc.energy_noc + acc.energy_static;
    println!("energy per timestep    {:.3} nJ", total / 1e3 / t);
    for (k, name) in PHASES.iter().enumerate() {
        println!("  {name:<10} {:>12.3} nJ/step", acc.energy_phases[k] / 1e3 / t);
    }
    println!("  {:<10} {:>12.3} nJ/step", "noc", acc.energy_noc / 1e3 / t);
    println!("  {:<10} {:>12.3} nJ/step", "static", acc.energy_static / 1e3 / t);
    println!("per population (per timestep; busy cycles summed over its cores, finish = its last core's last phase end):");
    println!(
        "  {:<14} {:>6} {:>5} | {:>9} {:>9} {:>9} {:>9} {:>9} | {:>8} | {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} | {:>7} {:>7}",
        "", "neur.", "cores", "deliver", "integr.", "fire", "route", "learn", "finish", "deliv.nJ", "integ.nJ", "fire nJ", "route nJ", "learn nJ", "noc nJ", "spk pk", "λ pk"
    );
    for p in 0..=np {
        if p == np && !readout_own {
            continue;
        }
        let s = &acc.pops[p];
        let (n, cores) = if p < np {
            (e.layout().pops[p].neurons, e.mapping().cores.iter().filter(|c| c.population == p).count())
        } else {
            (e.readout().outputs().len(), 1)
        };
        println!(
            "  {:<14} {:>6} {:>5} | {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} | {:>8.1} | {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>8.3} | {:>7.1} {:>7.1}",
            pop_name(p),
            n,
            cores,
            s.busy[0] as f64 / t,
            s.busy[1] as f64 / t,
            s.busy[2] as f64 / t,
            s.busy[3] as f64 / t,
            s.busy[4] as f64 / t,
            s.finish as f64 / t,
            s.energy[0] / 1e3 / t,
            s.energy[1] / 1e3 / t,
            s.energy[2] / 1e3 / t,
            s.energy[3] / 1e3 / t,
            s.energy[4] / 1e3 / t,
            s.noc_pj / 1e3 / t,
            s.spike_packets as f64 / t,
            s.signal_packets as f64 / t,
        );
    }
    if !readout_own {
        println!("  (the readout shares core {}: its work is in that population's line)", e.mapping().readout_core);
    }
    println!("packets {} ({:.1}/step), delayed {}, back-pressure events {}", acc.packets, acc.packets as f64 / t, acc.delayed, acc.blocked);
    println!("link hot spots (packets over the run, by population: spikes and λ words):");
    if hot.is_empty() {
        println!("  none: every packet stayed inside its tile");
    }
    for &(l, n) in &hot {
        let (x, y) = mesh.xy(l / 4);
        let dir = ["E", "W", "N", "S"][l % 4];
        let by: Vec<String> = acc.links[&l]
            .iter()
            .map(|(&(p, sig), &k)| format!("{} {} {k}", pop_name(p), if sig { "λ" } else { "spikes" }))
            .collect();
        println!("  tile ({x},{y}) {dir}: {n} packets, {:.3} nJ ({})", n as f64 * if l % 4 < 2 { ew } else { ns } / 1e3, by.join(", "));
    }
    match checksum {
        Ok(_) => println!("emulator {summary}"),
        Err(why) => println!(
            "emulator steps={} trajectory={:08x} spikes={} loss_sum_q16={} (no checksum: {why})",
            summary.steps, summary.trajectory, summary.spikes, summary.loss_sum_q16
        ),
    }
    Ok(())
}
