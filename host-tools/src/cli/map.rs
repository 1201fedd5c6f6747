//! `plasticore map`: a fixed-point network (a network image, or the main job's network) onto a chip:
//! slices within every per-core limit, cores placed on the mesh to lower hop-weighted traffic (greedy,
//! then seeded simulated annealing), and the traffic of the chosen placement against a seeded random one,
//! both measured by the emulator over the same stimulus (`plasticore::map`, `hw-notes/mapping.md`).
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use plasticore::map::{self, file::MappingFile, measure::Measured, source, PlaceOptions};
use plasticore_emu::{presets, ChipDesc};
use std::path::PathBuf;

/// Arguments of `map`.
#[derive(Args)]
#[command(group(clap::ArgGroup::new("network").required(true).args(["image", "main_job"])))]
pub struct MapArgs {
    /// A network image (graph format version 2, or version 1), e.g. from `plasticore image write`.
    #[arg(long)]
    image: Option<PathBuf>,
    /// Map the main job's network (40 inputs → 64 recurrent LIF → 2, as `plasticore demo`).
    #[arg(long)]
    main_job: bool,
    /// Chip preset: loihi, loihi-sana-fe, reckon, brainscales2, mcu, loihi-xl, loihi-xl-tiles.
    #[arg(long, default_value = "loihi", conflicts_with = "chip")]
    preset: String,
    /// A chip description in TOML instead of a preset (`plasticore emulate --print-chip` prints one).
    #[arg(long)]
    chip: Option<PathBuf>,
    /// Seed of the annealing, of the random placement compared against, and of the default stimulus (a
    /// network without a stimulus section).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulated-annealing moves after the greedy placement (0: greedy only).
    #[arg(long, default_value_t = 200_000)]
    anneal_steps: u64,
    /// Timesteps of the profiling and measurement runs [default: the image's stimulus, else 200].
    #[arg(long)]
    steps: Option<u32>,
    /// Measure on the stimulus with this seed instead of the one profiled for the placement (inputs the
    /// optimiser has not seen; the predicted hop counts then no longer apply exactly).
    #[arg(long)]
    measure_seed: Option<u32>,
    /// At most this many neurons per core (below the chip's own limit), to spread a small network.
    #[arg(long)]
    neurons_per_core: Option<usize>,
    /// Write the mapping file (`plasticore-mapping` v1, JSON) here.
    #[arg(short = 'o', long)]
    out: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

fn figures(m: &Measured) -> serde_json::Value {
    let t = m.steps.max(1) as f64;
    serde_json::json!({
        "steps": m.steps,
        "packets": m.packets,
        "hop_weighted_packets": m.hop_packets,
        "max_link_load": m.max_link_load,
        "within_tile_deliveries": m.local_deliveries,
        "delayed_packets": m.delayed.0,
        "delay_cycles": m.delayed.1,
        "cycles": m.cycles,
        "cycles_per_step": m.cycles as f64 / t,
        "energy_nj_per_step": m.energy_pj / 1e3 / t,
        "noc_energy_nj_per_step": m.noc_pj / 1e3 / t,
        "cores_spanned": m.cores_spanned,
    })
}

/// Run the subcommand.
pub fn run(a: MapArgs) -> anyhow::Result<()> {
    let chip: ChipDesc = match &a.chip {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading chip description {}", p.display()))?;
            ChipDesc::from_toml(&text).with_context(|| format!("chip description {}", p.display()))?
        }
        None => presets::preset(&a.preset)?,
    };
    let (spec, stim, what) = match &a.image {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            let (spec, stim) = map::source::from_image(&bytes).with_context(|| format!("{}", p.display()))?;
            (spec, stim, p.display().to_string())
        }
        None => (map::source::main_job()?, None, "the main job's network".to_string()),
    };
    let mut stim = stim.unwrap_or_else(|| source::default_stimulus(a.seed as u32, 200));
    if let Some(s) = a.steps {
        anyhow::ensure!(s > 0, "--steps must be at least 1");
        stim.steps = s;
    }
    // one bar per stage (profile run, annealing, two measurement runs); hidden when stderr is no terminal
    let bar = ProgressBar::new(1);
    bar.set_style(ProgressStyle::with_template("{msg:32} {bar:40} {pos}/{len} ({eta})").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let opts = PlaceOptions { seed: a.seed, anneal_steps: a.anneal_steps };
    let measure_stim = match a.measure_seed {
        Some(s) => plasticore_core::image::Stimulus { seed: s, ..stim },
        None => stim,
    };
    let mut stage = String::new();
    let r = map::map_and_measure(&chip, &spec, stim, measure_stim, a.neurons_per_core, opts, |s, d, n| {
        if s != stage {
            stage = s.to_string();
            bar.set_message(stage.clone());
            bar.set_length(n);
        }
        bar.set_position(d);
    })
    .with_context(|| format!("mapping {what} onto {}", chip.name))?;
    bar.finish_and_clear();
    let m = &r.plan.mapping;
    let mesh = chip.mesh;
    let provenance = serde_json::json!({
        "seed": a.seed,
        "anneal_steps": a.anneal_steps,
        "measurement_steps": stim.steps,
        "profile_stimulus_seed": stim.seed,
        "measurement_stimulus_seed": measure_stim.seed,
        "predicted_hop_weighted_packets": { "greedy": r.plan.greedy_cost, "chosen": r.plan.cost, "random": r.random_cost },
        "measured": { "chosen": figures(&r.chosen), "random": figures(&r.random) },
    });
    let file = MappingFile::new(&chip, &spec, m, provenance.clone());
    if let Some(out) = &a.out {
        map::save(out, &file)?;
    }
    if a.json {
        let mut v = serde_json::to_value(&file)?;
        v["random_placement"] = serde_json::json!(r.random_placement);
        v["network_source"] = serde_json::json!(what);
        println!("{}", serde_json::to_string(&v)?);
        return Ok(());
    }
    let l = &chip.limits;
    println!("{what} on {} ({} x {} tiles x {} cores), {} logical cores", chip.name, mesh.width, mesh.height, mesh.cores_per_tile, m.cores_used());
    println!("core  what                   physical  tile    neurons  in axons  out axons  synapse bits");
    for (i, u) in r.usage.iter().enumerate() {
        let what = match m.cores.get(i) {
            Some(s) if i != m.readout_core => format!("pop {} [{}..{})", s.population, s.first, s.first + s.len),
            Some(s) => format!("pop {} [{}..{}) +readout", s.population, s.first, s.first + s.len),
            None => "readout".to_string(),
        };
        let p = m.physical(i);
        let (x, y) = mesh.xy(mesh.tile_of(p));
        println!(
            "{i:>4}  {what:<22} {p:>8}  ({x},{y}) {:>6}/{:<5} {:>4}/{:<5} {:>4}/{:<5} {:>7}/{}",
            u.neurons, l.neurons, u.input_axons, l.input_axons, u.output_axons, l.output_axons, u.syn_bits, l.syn_mem_bits
        );
    }
    println!(
        "predicted hop-weighted packets: greedy {}, after {} annealing moves ({} accepted, seed {}) {}, random placement {}",
        r.plan.greedy_cost, a.anneal_steps, r.plan.accepted, a.seed, r.plan.cost, r.random_cost
    );
    let inputs = if measure_stim == stim { "the profiled inputs".to_string() } else { format!("stimulus seed {} (profiled on seed {})", measure_stim.seed, stim.seed) };
    println!("measured over {} steps of {inputs} (bits identical between the placements: checked)", stim.steps);
    println!("                          chosen       random");
    let row = |name: &str, c: f64, x: f64, prec: usize| println!("{name:<22} {c:>10.prec$}   {x:>10.prec$}");
    let t = stim.steps.max(1) as f64;
    let (c, x) = (&r.chosen, &r.random);
    row("packets", c.packets as f64, x.packets as f64, 0);
    row("hop-weighted packets", c.hop_packets as f64, x.hop_packets as f64, 0);
    row("max link load", c.max_link_load as f64, x.max_link_load as f64, 0);
    row("within-tile deliveries", c.local_deliveries as f64, x.local_deliveries as f64, 0);
    row("cycles per step", c.cycles as f64 / t, x.cycles as f64 / t, 1);
    row("energy nJ per step", c.energy_pj / 1e3 / t, x.energy_pj / 1e3 / t, 3);
    row("NoC energy nJ per step", c.noc_pj / 1e3 / t, x.noc_pj / 1e3 / t, 3);
    if let Some(out) = &a.out {
        println!("wrote {}", out.display());
    }
    Ok(())
}
