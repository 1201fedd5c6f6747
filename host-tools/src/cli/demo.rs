//! `plasticore demo`: the main job (on-chip learning on the emulated chip next to float, with a report),
//! or with `--core` the small fixed-point-core demo.
use indicatif::{ProgressBar, ProgressStyle};
use plasticore::demo::{self, DemoConfig};
use plasticore::mainjob::{self, MainConfig};

/// Arguments of `plasticore demo`.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// Run the small 16 → 32 → 2 demo on the fixed-point core alone (no chip, no float, no report).
    #[arg(long)]
    pub core: bool,
    /// A reduced main job that finishes in seconds (tests, CI).
    #[arg(long, conflicts_with = "core")]
    pub quick: bool,
    /// Where the main job writes `report.html` and `main.json`.
    #[arg(long, default_value = "out/main")]
    pub out: std::path::PathBuf,
    /// Chip preset of the main job.
    #[arg(long, default_value = "loihi")]
    pub preset: String,
    /// `--core` only: training sequences.
    #[arg(long, default_value_t = 400)]
    pub sequences: u32,
    /// `--core` only: steps per sequence.
    #[arg(long, default_value_t = 40)]
    pub steps: u32,
    /// Seed of weights and inputs.
    #[arg(long, default_value_t = 7)]
    pub seed: u32,
}

/// Run the demo.
pub fn run(a: DemoArgs) -> anyhow::Result<()> {
    if a.core {
        return run_core(a);
    }
    let mut cfg = if a.quick { MainConfig::quick(a.out.clone()) } else { MainConfig::full(a.out.clone()) };
    cfg.preset = a.preset.clone();
    cfg.seed = a.seed as u64;
    println!(
        "plasticore: {} inputs -> {} recurrent LIF -> {} outputs learning evidence accumulation on the emulated '{}' chip \
         (fixed point, on-chip ES-D-RTRL) next to the float on-chip rule",
        mainjob::INPUTS,
        mainjob::HIDDEN,
        mainjob::OUTPUTS,
        cfg.preset
    );
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} trials ({elapsed}, eta {eta})").expect("static template"));
    let r = mainjob::run(&cfg, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    println!("{:>8} {:>12} {:>12} {:>12} {:>12}", "trials", "acc float", "acc chip", "loss float", "loss chip");
    for p in &r.curve {
        println!(
            "{:>8} {:>11.1}% {:>11.1}% {:>12} {:>12}",
            p.trials,
            100.0 * p.acc_float,
            100.0 * p.acc_chip,
            p.loss_float.map_or("-".into(), |l| format!("{l:.4}")),
            p.loss_chip.map_or("-".into(), |l| format!("{l:.4}"))
        );
    }
    let (l, i) = (&r.learning, &r.inference);
    println!(
        "chip per timestep: learning {:.0} cycles, {:.3} nJ; inference {:.0} cycles, {:.3} nJ; {} cores; {:.1} packets",
        l.cycles, l.energy_nj, i.cycles, i.energy_nj, r.cores, l.packets
    );
    println!("report: {}", mainjob::report_path(&cfg.out).display());
    Ok(())
}

fn run_core(a: DemoArgs) -> anyhow::Result<()> {
    let cfg = DemoConfig { sequences: a.sequences, steps_per_seq: a.steps, seed: a.seed };
    let block = (cfg.sequences / 10).max(1);
    println!("plasticore demo --core: 16 inputs -> 32 recurrent LIF -> 2 readouts, on-chip ES-D-RTRL, fixed point");
    println!("{:>10} {:>12} {:>10}", "sequences", "loss (nats)", "accuracy");
    let blocks = demo::run(cfg, block, |b| {
        println!("{:>4}-{:<5} {:>12.4} {:>9.1}%", b.first, b.first + block, b.loss, 100.0 * b.accuracy);
    })?;
    if let (Some(f), Some(l)) = (blocks.first(), blocks.last()) {
        println!("loss {:.4} -> {:.4} ({:.1}x lower)", f.loss, l.loss, f.loss / l.loss.max(1e-12));
    }
    Ok(())
}
