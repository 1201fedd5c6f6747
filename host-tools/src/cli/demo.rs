//! `plasticore demo`: train the built-in network on the fixed-point core and print the loss falling.
use plasticore::demo::{self, DemoConfig};

/// Arguments of `plasticore demo`.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// Training sequences.
    #[arg(long, default_value_t = 400)]
    pub sequences: u32,
    /// Steps per sequence.
    #[arg(long, default_value_t = 40)]
    pub steps: u32,
    /// Seed of weights and inputs.
    #[arg(long, default_value_t = 7)]
    pub seed: u32,
}

/// Run the demo.
pub fn run(a: DemoArgs) -> anyhow::Result<()> {
    let cfg = DemoConfig { sequences: a.sequences, steps_per_seq: a.steps, seed: a.seed };
    let block = (cfg.sequences / 10).max(1);
    println!("plasticore demo: 16 inputs -> 32 recurrent LIF -> 2 readouts, on-chip ES-D-RTRL, fixed point");
    println!("{:>10} {:>12} {:>10}", "sequences", "loss (nats)", "accuracy");
    let blocks = demo::run(cfg, block, |b| {
        println!("{:>4}-{:<5} {:>12.4} {:>9.1}%", b.first, b.first + block, b.loss, 100.0 * b.accuracy);
    })?;
    if let (Some(f), Some(l)) = (blocks.first(), blocks.last()) {
        println!("loss {:.4} -> {:.4} ({:.1}x lower)", f.loss, l.loss, f.loss / l.loss.max(1e-12));
    }
    Ok(())
}
