//! `plasticore emulate`: run W1 on the chip emulator and print cycles per timestep, energy per timestep
//! (by phase), per-core utilisation and the link hot spots; optionally CSV and VCD traces of a few
//! timesteps, or print a preset's TOML description. With `--image FILE`, run a network image (version 1
//! or 2) instead, with cycles, energy and link hot spots per population ([`super::emulate_image`]).
use clap::Args;
use plasticore_emu::observe::{CsvTrace, VcdTrace};
use plasticore_emu::{presets, w1, ChipDesc, EmuOptions};

/// Arguments of `emulate`.
#[derive(Args)]
pub struct EmulateArgs {
    /// Chip preset: loihi, loihi-sana-fe, reckon, brainscales2, mcu, loihi-xl, loihi-xl-tiles.
    #[arg(long, default_value = "loihi")]
    preset: String,
    /// A chip description in TOML instead of a preset.
    #[arg(long)]
    chip: Option<std::path::PathBuf>,
    /// Print the chip description as TOML and exit.
    #[arg(long)]
    print_chip: bool,
    /// Run this network image (format version 1 or 2, `plasticore image write`) instead of W1, driven by
    /// its seeded stimulus: cycles, energy and link hot spots per population.
    #[arg(long)]
    image: Option<std::path::PathBuf>,
    /// `--image`: probability that each input channel spikes in a step, 0..=1 (default: the image's
    /// stimulus rate).
    #[arg(long)]
    input_rate: Option<f64>,
    /// `--image`: learning on (default: off, inference only, whatever the image says).
    #[arg(long)]
    learn: bool,
    /// `--image`: cut every population's slices in two (so populations span several cores).
    #[arg(long)]
    split: bool,
    /// `--image`: place the network as this mapping file says (`plasticore map -o`, `hw-notes/mapping.md`;
    /// checked against the chip's limits), instead of the partitioner's packing.
    #[arg(long, conflicts_with_all = ["split", "spread"])]
    mapping: Option<std::path::PathBuf>,
    /// `--image`: print one JSON document instead of text.
    #[arg(long)]
    json: bool,
    /// `--image`: number of hot links listed.
    #[arg(long, default_value_t = 8)]
    hot: usize,
    /// W1 neurons.
    #[arg(long, default_value_t = 1000)]
    neurons: usize,
    /// Timesteps (W1: default 1000; `--image`: default the image's stimulus).
    #[arg(long)]
    steps: Option<u32>,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Seed (W1: default 1; `--image`: the stimulus seed, default the image's).
    #[arg(long)]
    seed: Option<u32>,
    /// Put one core on each tile (logical core i on physical core i · cores-per-tile) so spikes cross
    /// links; by default cores are packed tile by tile.
    #[arg(long)]
    spread: bool,
    /// Write a CSV trace (phases, packets, barriers) of the first `--trace-steps` timesteps.
    #[arg(long)]
    csv: Option<std::path::PathBuf>,
    /// Write a VCD trace (per-core phase signals, barrier) of the first `--trace-steps` timesteps.
    #[arg(long)]
    vcd: Option<std::path::PathBuf>,
    /// Timesteps covered by `--csv` / `--vcd`.
    #[arg(long, default_value_t = 5)]
    trace_steps: u64,
}

/// Run the subcommand.
pub fn run(a: EmulateArgs) -> anyhow::Result<()> {
    let chip: ChipDesc = match &a.chip {
        Some(p) => ChipDesc::from_toml(&std::fs::read_to_string(p)?)?,
        None => presets::preset(&a.preset)?,
    };
    if a.print_chip {
        print!("{}", chip.to_toml());
        return Ok(());
    }
    if a.mapping.is_some() && a.image.is_none() {
        anyhow::bail!("--mapping needs --image (W1 is placed by the partitioner)");
    }
    if let Some(image) = a.image {
        let name = match &a.chip {
            Some(p) => p.display().to_string(),
            None => a.preset.clone(),
        };
        let r = super::emulate_image::ImageRun {
            image,
            steps: a.steps,
            input_rate: a.input_rate,
            seed: a.seed,
            learn: a.learn,
            threads: a.threads,
            spread: a.spread,
            split: a.split,
            mapping: a.mapping,
            hot: a.hot,
            json: a.json,
        };
        return super::emulate_image::run(chip, &name, &r);
    }
    let (steps, seed) = (a.steps.unwrap_or(1000), a.seed.unwrap_or(1));
    let (ew, ns) = (chip.energy.hop_ew_pj, chip.energy.hop_ns_pj);
    let opts = EmuOptions { threads: a.threads, timing: true, strict: false };
    let stride = if a.spread { chip.mesh.cores_per_tile as usize } else { 1 };
    let mut csv = CsvTrace::new(0, a.trace_steps);
    let mut vcd = VcdTrace::new(0, a.trace_steps);
    let r = w1::run_observed(chip, a.neurons, steps, opts, seed, stride, &mut (&mut csv, &mut vcd))?;
    if let Some(p) = &a.csv {
        std::fs::write(p, &csv.csv)?;
    }
    if let Some(p) = &a.vcd {
        std::fs::write(p, vcd.finish())?;
    }
    let t = r.t.max(1) as f64;
    println!("W1 N={} T={} on {} ({} cores, 8-bit weights Q.{})", r.n, r.t, r.chip, r.cores, r.weight_frac);
    println!("mean rate              {:.2} Hz", r.mean_rate_hz);
    println!("cycles per timestep    {:.1} ({:.3} us of chip time)", r.cycles_per_step, r.chip_us_per_step);
    println!("energy per timestep    {:.3} nJ", r.energy_per_step_nj);
    let e = &r.stats.energy;
    let names = ["deliver", "integrate", "fire", "route", "learn"];
    for (k, name) in names.iter().enumerate() {
        println!("  {name:<10} {:>12.3} nJ/step", e.phases[k] / 1e3 / t);
    }
    println!("  {:<10} {:>12.3} nJ/step", "noc", e.noc / 1e3 / t);
    println!("  {:<10} {:>12.3} nJ/step", "static", e.static_ / 1e3 / t);
    for (c, u) in r.stats.utilisation().iter().enumerate() {
        println!("core {c:>3}: utilisation {:>5.1} %, {:.3} nJ/step", 100.0 * u, r.stats.core_energy_pj[c] / 1e3 / t);
    }
    println!(
        "packets {} ({:.1}/step), delayed {}, back-pressure events {}, within-tile deliveries {}",
        r.packets,
        r.packets as f64 / t,
        r.stats.delayed_packets,
        r.stats.blocked,
        r.stats.local_load.iter().sum::<u64>()
    );
    println!("link hot spots (packets over the run):");
    if r.hotspots.is_empty() {
        println!("  none: every packet stayed inside its tile");
    }
    for h in &r.hotspots {
        let pj = if h.dir == "E" || h.dir == "W" { ew } else { ns };
        println!("  tile ({},{}) {}: {} packets, {:.3} nJ", h.tile.0, h.tile.1, h.dir, h.packets, h.packets as f64 * pj / 1e3);
    }
    println!("{}", r.json());
    Ok(())
}
