//! `plasticore bench w1`: WORKLOADS.md W1 (recurrent LIF, Poisson input) on the chip emulator, one JSON
//! line (`N, T, wall_s, steps_per_s, spikes, mean_rate_hz, syn_events_total, syn_events_per_s,
//! cycles_per_step, energy_per_step_nj`, …). `wall_s` is the T-step loop only (`cpu_s` its CPU time);
//! `build_s` is separate; `loadavg_1min` is the machine's load when the run ended.
use clap::{Args, ValueEnum};
use plasticore_emu::{presets, w1, ChipDesc, EmuOptions};

/// On or off.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

/// Arguments of `bench w1`.
#[derive(Args)]
pub struct W1Args {
    /// Recurrent neurons N.
    #[arg(long, default_value_t = 1000)]
    neurons: usize,
    /// Timesteps T (1 ms each).
    #[arg(long, default_value_t = 1000)]
    steps: u32,
    /// Worker threads for the per-core phases.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Cycle, network and energy accounting.
    #[arg(long, value_enum, default_value = "on")]
    timing: OnOff,
    /// Chip preset (`loihi` refuses N ≥ 4000 as nengo-loihi does; `loihi-xl` lifts the per-core limits).
    #[arg(long, default_value = "loihi-xl")]
    preset: String,
    /// A chip description in TOML instead of a preset.
    #[arg(long)]
    chip: Option<std::path::PathBuf>,
    /// Seed of the graph and the inputs.
    #[arg(long, default_value_t = 1)]
    seed: u32,
    /// Override the chip's neurons per core (e.g. 2000 splits N = 4000 over two cores, one per thread).
    #[arg(long)]
    core_neurons: Option<u32>,
}

/// Run the benchmark and print one JSON line.
pub fn run(a: W1Args) -> anyhow::Result<()> {
    anyhow::ensure!(a.neurons > 0 && a.steps > 0 && a.threads > 0, "neurons, steps and threads must be positive");
    let mut chip: ChipDesc = match &a.chip {
        Some(p) => ChipDesc::from_toml(&std::fs::read_to_string(p)?)?,
        None => presets::preset(&a.preset)?,
    };
    if let Some(k) = a.core_neurons {
        chip.limits.neurons = k;
        chip.validate()?;
    }
    let opts = EmuOptions { threads: a.threads, timing: a.timing == OnOff::On, strict: false };
    let r = w1::run(chip, a.neurons, a.steps, opts, a.seed)?;
    // The machine's load when the run ended (one-minute average), so every figure carries it.
    let load = std::fs::read_to_string("/proc/loadavg").ok().and_then(|s| s.split_whitespace().next().map(str::to_owned));
    let json = r.json();
    match load {
        Some(l) => println!("{},\"loadavg_1min\":{l}}}", &json[..json.len() - 1]),
        None => println!("{json}"),
    }
    Ok(())
}
