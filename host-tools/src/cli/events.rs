//! `plasticore events`: write rate-coded digits as an event file, inspect an event file (read it, bin it
//! into spikes, print one JSON line), convert between `.npz`, `.npy` and CSV. Format:
//! `hw-notes/event-files.md`.
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use plasticore::events::bins::{to_spikes, Binning};
use plasticore::events::digits::{rate_coded, RateCoding};
use plasticore::events::{self, Sensor};
use plasticore::tasks::digits;
use std::path::{Path, PathBuf};

/// Read a labelled event file and bin it into spikes, for the commands that learn or evaluate on it:
/// refuses an empty file and one whose binning yields no steps, with the file's name in every error.
pub(crate) fn read_binned(path: &Path, sensor: Option<Sensor>, binning: Binning) -> anyhow::Result<(events::EventSet, Vec<events::bins::SpikeSample>, events::bins::BinStats)> {
    let set = events::read(path, sensor)?;
    anyhow::ensure!(!set.samples.is_empty(), "event file {}: no samples", path.display());
    let (spikes, st) = to_spikes(&set, binning).with_context(|| format!("event file {}", path.display()))?;
    anyhow::ensure!(st.steps > 0, "event file {}: no events, so no steps", path.display());
    Ok((set, spikes, st))
}

/// Arguments of `events`.
#[derive(Args)]
pub struct EventsArgs {
    #[command(subcommand)]
    cmd: EventsCmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum Split {
    /// Every image, in file order.
    All,
    /// The training images of `train --task digits` (same seed: same split).
    Train,
    /// Its 360 held-out images: sample k = held-out trial k of `train --task digits --seed S`.
    Test,
}

#[derive(Subcommand)]
enum EventsCmd {
    /// Rate-code the 8×8 sklearn digits into an event file (sensor 8,8,1; extension picks the format).
    Digits {
        /// Output file (.npz, .npy or .csv).
        #[arg(short, long)]
        out: PathBuf,
        /// Digits data file (gzip CSV).
        #[arg(long, default_value = digits::DEFAULT_PATH)]
        data: PathBuf,
        /// Which images.
        #[arg(long, value_enum, default_value = "test")]
        split: Split,
        /// Keep the first N images of the split (0 = all).
        #[arg(long, default_value_t = 0)]
        limit: usize,
        /// Steps per image.
        #[arg(long, default_value_t = 100)]
        steps: usize,
        /// Spike probability per step of a full-intensity pixel.
        #[arg(long, default_value_t = 0.2)]
        p_max: f64,
        /// Step length in µs (event times are k·dt).
        #[arg(long, default_value_t = 1000)]
        dt_us: u64,
        /// Seed (of the split and of the spikes).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Read an event file, bin it into spikes and print one JSON line of counts.
    Info {
        /// Event file.
        file: PathBuf,
        /// Sensor size W,H,P or C (required for .npy and CSV; must match a .npz's).
        #[arg(long, value_parser = Sensor::parse)]
        sensor: Option<Sensor>,
        /// Step length in µs.
        #[arg(long, default_value_t = 1000)]
        dt_us: u64,
        /// Steps per sample [default: the longest sample's].
        #[arg(long)]
        steps: Option<usize>,
    },
    /// Convert between .npz, .npy and CSV (by extension).
    Convert {
        /// Input event file.
        input: PathBuf,
        /// Output event file.
        output: PathBuf,
        /// Sensor size W,H,P or C (required for .npy and CSV input).
        #[arg(long, value_parser = Sensor::parse)]
        sensor: Option<Sensor>,
    },
}

/// Run the subcommand.
pub fn run(a: EventsArgs) -> anyhow::Result<()> {
    match a.cmd {
        EventsCmd::Digits { out, data, split, limit, steps, p_max, dt_us, seed } => {
            anyhow::ensure!(dt_us > 0, "--dt-us must be positive");
            let all = digits::load(&data)?;
            let mut images = match split {
                Split::All => all,
                Split::Train => digits::split(all, 360, seed).0,
                Split::Test => digits::split(all, 360, seed).1,
            };
            if limit > 0 {
                images.truncate(limit);
            }
            anyhow::ensure!(!images.is_empty(), "no images in {}", data.display());
            let set = rate_coded(&images, RateCoding { steps, p_max, dt_us, seed }).map_err(anyhow::Error::msg)?;
            events::write(&out, &set)?;
            println!(
                "{}",
                serde_json::json!({ "file": out.display().to_string(), "samples": set.samples.len(), "events": set.n_events(),
                                    "sensor": [8, 8, 1], "steps": steps, "dt_us": dt_us })
            );
            Ok(())
        }
        EventsCmd::Info { file, sensor, dt_us, steps } => {
            let set = events::read(&file, sensor)?;
            let (spk, st) = to_spikes(&set, Binning { dt_us, steps }).with_context(|| format!("event file {}", file.display()))?;
            let mut labels = std::collections::BTreeMap::<u32, usize>::new();
            for s in &set.samples {
                *labels.entry(s.label).or_default() += 1;
            }
            let spikes: usize = spk.iter().flat_map(|s| &s.steps).map(Vec::len).sum();
            let bins = (spk.len() * st.steps) as f64 * set.sensor.channels() as f64;
            let sensor_v = match set.sensor {
                Sensor::Xyp { width, height, polarities } => serde_json::json!([width, height, polarities]),
                Sensor::Channels { n } => serde_json::json!([n]),
            };
            println!(
                "{}",
                serde_json::json!({
                    "file": file.display().to_string(), "samples": set.samples.len(), "events": st.events,
                    "sensor": sensor_v, "channels": set.sensor.channels(), "dt_us": dt_us, "steps": st.steps,
                    "spikes": spikes, "merged": st.merged,
                    "spike_probability": if bins > 0.0 { spikes as f64 / bins } else { 0.0 },
                    "max_t_us": set.samples.iter().filter_map(|s| s.events.last()).map(|e| e.t_us).max(),
                    "labels": labels,
                })
            );
            Ok(())
        }
        EventsCmd::Convert { input, output, sensor } => {
            let set = events::read(&input, sensor)?;
            events::write(&output, &set)?;
            println!("{}", serde_json::json!({ "input": input.display().to_string(), "output": output.display().to_string(), "samples": set.samples.len(), "events": set.n_events() }));
            Ok(())
        }
    }
}
