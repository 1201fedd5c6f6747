//! `plasticore bench w2`: the W2 online-learning step cost (shared/benchmarks/WORKLOADS.md), one JSON line.
use clap::{Args, Subcommand, ValueEnum};
use plasticore::reference::fast::{learning_state_bytes, FastAlgo, W2Config, W2Net};
use std::time::Instant;

/// Arguments of `bench`.
#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    kind: BenchKind,
}

#[derive(Subcommand)]
enum BenchKind {
    /// W2: one training step (reset, T steps with per-step MSE, gradient, one SGD update) per sequence batch.
    W2(W2Args),
    /// W1: recurrent LIF inference on the chip emulator (see `cli/bench_w1.rs`).
    W1(super::bench_w1::W1Args),
}

#[derive(Clone, Copy, ValueEnum)]
enum Algo {
    Esd,
    /// ES-D-RTRL without blocking (a dense rank-one gradient update per step; the blocked kernel's oracle).
    #[value(name = "esd-rank1")]
    EsdRank1,
    Drtrl,
    Bptt,
}

#[derive(Args)]
struct W2Args {
    /// Algorithm.
    #[arg(long, value_enum)]
    algo: Algo,
    /// Recurrent neurons N.
    #[arg(long, default_value_t = 1000)]
    neurons: usize,
    /// Sequence length T (1 ms steps).
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    /// Batch size B.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Timed repetitions after two warm-up calls (default: as many as fit in about 10 s, 3 to 21).
    #[arg(long)]
    reps: Option<usize>,
    /// ES-D-RTRL decay α (W2: 0.98).
    #[arg(long, default_value_t = 0.98)]
    alpha: f32,
    /// Seed of weights and data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn peak_rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU seconds (user + system, all threads) the process has used: fields 14 and 15 of /proc/self/stat, in
/// USER_HZ ticks (100 per second on Linux x86-64 and aarch64; 10 ms resolution, so use it over many reps).
fn process_cpu_s() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    // the command name (field 2) may hold spaces: count fields after its closing parenthesis
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let (u, k): (f64, f64) = (f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?);
    Some((u + k) / 100.0)
}

/// Run the subcommand.
pub fn run(a: BenchArgs) -> anyhow::Result<()> {
    let a = match a.kind {
        BenchKind::W2(a) => a,
        BenchKind::W1(a) => return super::bench_w1::run(a),
    };
    anyhow::ensure!(a.neurons > 0 && a.steps > 0 && a.batch > 0, "neurons, steps and batch must be positive");
    anyhow::ensure!((0.0..1.0).contains(&a.alpha), "alpha must be in [0, 1)");
    let cfg = W2Config::new(a.neurons);
    let mut net = W2Net::new(&cfg, a.seed)?;
    let batch = net.make_batch(&cfg, a.steps, a.batch, a.seed.wrapping_add(1));
    let (algo, name) = match a.algo {
        Algo::Esd => (FastAlgo::Esd { alpha: a.alpha }, "esd"),
        Algo::EsdRank1 => (FastAlgo::EsdRankOne { alpha: a.alpha }, "esd-rank1"),
        Algo::Drtrl => (FastAlgo::DRtrl, "drtrl"),
        Algo::Bptt => (FastAlgo::Bptt, "bptt"),
    };
    // every timed call starts from the initial weights (restored outside the timing), so all repetitions
    // run at the initial activity of the workload (10–20 Hz) rather than at whatever SGD drifted to
    let init = net.clone();
    let spikes = net.batch_grad(&batch[..1], algo).spikes;
    let t0 = Instant::now();
    let first_loss = net.train_step(&batch, algo);
    let first_call_s = t0.elapsed().as_secs_f64();
    net.clone_from(&init);
    let t1 = Instant::now();
    net.train_step(&batch, algo);
    let second = t1.elapsed().as_secs_f64();
    let reps = a.reps.unwrap_or_else(|| ((10.0 / second.max(1e-6)) as usize).clamp(3, 21));
    let mut times = Vec::with_capacity(reps);
    let cpu0 = process_cpu_s();
    for _ in 0..reps {
        net.clone_from(&init);
        let t = Instant::now();
        net.train_step(&batch, algo);
        times.push(t.elapsed().as_secs_f64());
    }
    let cpu_s_per_step = cpu0.zip(process_cpu_s()).map(|(a, b)| (b - a) / reps as f64);
    times.sort_by(f64::total_cmp);
    let med = times[times.len() / 2];
    // allocator figures: the process's peak live heap so far, then the peak above the baseline during one
    // training step (gradient buffers and the algorithm's learning state; weights and data already built)
    let process_peak_heap = super::alloc_count::peak();
    net.clone_from(&init);
    let (step_heap, _) = super::alloc_count::peak_during(|| net.train_step(&batch, algo));
    let loss_after = net.batch_grad(&batch, algo).loss / (a.batch * a.steps) as f64;
    let loadavg = std::fs::read_to_string("/proc/loadavg").ok().and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok());
    let out = serde_json::json!({
        "workload": "W2",
        "algo": name,
        "N": a.neurons,
        "T": a.steps,
        "B": a.batch,
        "step_s_median": med,
        "step_s_min": times[0],
        "step_s_max": times[times.len() - 1],
        "reps": reps,
        "cpu_s_per_step": cpu_s_per_step,
        "us_per_timestep": med / a.steps as f64 * 1e6,
        "first_call_s": first_call_s,
        "peak_rss_mb": peak_rss_mb(),
        "peak_heap_mb": process_peak_heap as f64 / 1e6,
        "step_peak_heap_mb": step_heap as f64 / 1e6,
        "threads": rayon::current_num_threads(),
        "hidden_rate_hz": spikes as f64 / a.neurons as f64 / (a.steps as f64 * 1e-3),
        "learning_state_bytes_per_seq": learning_state_bytes(algo, cfg.n_in, a.neurons, a.steps),
        "loss_before_update": first_loss,
        "loss_after_one_update": loss_after,
        "precision": "f32",
        "loadavg_1min": loadavg,
    });
    println!("{out}");
    Ok(())
}
