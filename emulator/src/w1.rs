//! Workload W1 of `/work/shared/benchmarks/WORKLOADS.md`: 100 Poisson inputs (20 Hz, dt = 1 ms) → N
//! recurrent current-based LIF neurons (τ_syn = 5 ms, τ_mem = 20 ms, threshold 1, reset to 0),
//! input connectivity p = 0.1 with weight 0.03, recurrent p = 0.1 with N(0, (0.2/√(0.1·N))²) weights.
//!
//! On the chip it runs core-nostd's LIF with an exponential synapse and gain 1 (the CUBA form
//! I ← β·I + in, V ← α·V + I), hard reset, and 8-bit weights: the binary point is the largest that keeps
//! the largest |w| within ±127 (nearest rounding), written in compressed rows (`SparseWeights`: a
//! weight that rounds to zero is a missing synapse, as in a dense matrix with zeros). The graph (edges,
//! out-degrees) and the input spikes come from seeded `XorShift32` streams; normal weights from
//! Box–Muller on those streams (host-side floats, only to build the network).
//!
//! Synaptic events are counted as W1 defines them: Σ over spikes of the spiking neuron's (or input's)
//! out-degree in the generated graph.

use crate::chip::ChipDesc;
use crate::emu::{EmuOptions, Emulator};
use crate::error::EmuError;
use crate::network::{NetworkSpec, SparseWeights};
use crate::observe::{Hotspot, Observer, Stats};
use fixed::types::I32F32;
use plasticore_core::error::Field;
use plasticore_core::format::{Formats, Weight};
use plasticore_core::layer::{LayerConfig, LearningRate};
use plasticore_core::net::{LossWindow, Timestep};
use plasticore_core::neuron::{Lif, LifParams, NeuronKind, Reset, SurrogateParams, Synapse};
use plasticore_core::presyn::PresynKind;
use plasticore_core::readout::{Feedback, Target};
use plasticore_core::rng::XorShift32;
use std::time::Instant;

/// W1's external inputs.
pub const INPUTS: usize = 100;

/// The W1 network.
pub struct W1 {
    /// The network to place.
    pub spec: NetworkSpec,
    /// Out-degree of every axon (inputs, then recurrent neurons) in the generated graph.
    pub out_degree: Vec<u32>,
    /// Binary point chosen for the 8-bit weights.
    pub weight_frac: u8,
    /// Weights saturated by the quantization (should be 0).
    pub clipped: u64,
}

fn fx(x: f64) -> I32F32 {
    I32F32::from_num(x)
}

fn unit(r: &mut XorShift32) -> f64 {
    (r.next_u32() as f64 + 0.5) / 4_294_967_296.0
}

/// Build W1 with `n` neurons from `seed`.
pub fn build(n: usize, seed: u32) -> Result<W1, EmuError> {
    if n == 0 || n + INPUTS > u16::MAX as usize {
        return Err(EmuError::Network(format!("W1: N = {n} must be in 1..={}", u16::MAX as usize - INPUTS)));
    }
    let axons = INPUTS + n;
    if (axons as u64) * (n as u64) > u32::MAX as u64 {
        return Err(EmuError::Network(format!("W1: N = {n} gives {} synapse slots, more than 2^32 - 1", axons as u64 * n as u64)));
    }
    let p = (0.1 * 4_294_967_296.0) as u32;
    let sd = 0.2 / (0.1 * n as f64).sqrt();
    let mut g = XorShift32::new(seed);
    // Edges first, in compressed rows (row = axon, ascending neurons), quantized once the largest |w| is
    // known.
    let mut row_start: Vec<u32> = Vec::with_capacity(axons + 1);
    row_start.push(0);
    let mut cols: Vec<u16> = Vec::with_capacity(axons * n / 9);
    let mut wf: Vec<f32> = Vec::with_capacity(axons * n / 9);
    let mut deg = vec![0u32; axons];
    let mut maxw = 0.03f64;
    for (a, d) in deg.iter_mut().enumerate() {
        for j in 0..n {
            if g.next_u32() < p {
                let w = if a < INPUTS {
                    0.03
                } else {
                    let (u1, u2) = (unit(&mut g), unit(&mut g));
                    sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
                };
                maxw = maxw.max(w.abs());
                cols.push(j as u16);
                wf.push(w as f32);
                *d += 1;
            }
        }
        row_start.push(cols.len() as u32);
    }
    // 8-bit weights: the largest binary point with max|w|·2^f ≤ 127 (f ≤ state_frac = 16).
    let mut frac = 0u8;
    while frac < 16 && maxw * (1u64 << (frac + 1)) as f64 <= 127.0 {
        frac += 1;
    }
    let fmt = Formats { weight_bits: 8, weight_frac: frac, state_frac: 16, ..Formats::DEFAULT };
    let mut clipped = 0;
    let weights: Vec<Weight> = wf
        .iter()
        .map(|&w| {
            let (q, s) = fmt.weight(fx(w as f64));
            clipped += s as u64;
            q
        })
        .collect();
    drop(wf);
    let lif = Lif::new(
        LifParams {
            decay: fmt.decay(fx((-1.0f64 / 20.0).exp()), Field::Decay)?,
            threshold: fmt.voltage(fx(1.0), Field::Threshold)?,
            reset: Reset::Hard,
            detach_reset: true,
            synapse: Synapse::Expon {
                decay: fmt.decay(fx((-1.0f64 / 5.0).exp()), Field::Decay)?,
                gain: fmt.decay(fx(1.0), Field::Gain)?,
            },
            surrogate: SurrogateParams::paper(&fmt),
        },
        &fmt,
    )?;
    let layer = LayerConfig {
        formats: fmt,
        neuron: NeuronKind::Lif(lif),
        presyn: PresynKind::None,
        trace_decay: fmt.decay(fx(0.5), Field::Decay)?,
        learning_rate: LearningRate { mant: 1, shift: 8 },
        seed,
    };
    let spec = NetworkSpec {
        layer,
        inputs: INPUTS,
        neurons: n,
        recurrent: true,
        weights: Vec::new(),
        csr: Some(SparseWeights { row_start, cols, weights }),
        sparse: true,
        readout: None,
        feedback: Feedback::External,
        window: LossWindow::ALWAYS,
        learn: false,
        learn_epoch: 1,
    };
    Ok(W1 { spec, out_degree: deg, weight_frac: frac, clipped })
}

/// W1's Poisson input of one step: each of the 100 inputs spikes with probability 0.02.
pub fn inputs(g: &mut XorShift32, out: &mut Vec<u16>) {
    out.clear();
    let p = (0.02 * 4_294_967_296.0) as u32;
    for i in 0..INPUTS as u16 {
        if g.next_u32() < p {
            out.push(i);
        }
    }
}

/// Result of one W1 run (the fields of the benchmark's JSON line).
#[derive(Clone, Debug)]
pub struct W1Result {
    /// Neurons.
    pub n: usize,
    /// Steps.
    pub t: u32,
    /// Threads.
    pub threads: usize,
    /// Timing model on.
    pub timing: bool,
    /// Preset / chip name.
    pub chip: String,
    /// Cores used.
    pub cores: usize,
    /// Network construction and placement, seconds.
    pub build_s: f64,
    /// The T-step loop, seconds.
    pub wall_s: f64,
    /// CPU time of the whole process (all threads) during the loop, seconds, where the OS tells it
    /// (Linux `/proc/self/task/*/schedstat`): on a shared machine `wall_s` − `cpu_s` is time spent waiting
    /// for a core.
    pub cpu_s: Option<f64>,
    /// T / wall_s.
    pub steps_per_s: f64,
    /// Hidden spikes.
    pub spikes: u64,
    /// Input spikes.
    pub input_spikes: u64,
    /// Mean hidden rate, Hz (dt = 1 ms).
    pub mean_rate_hz: f64,
    /// Recurrent synaptic events.
    pub syn_events_rec: u64,
    /// Input synaptic events.
    pub syn_events_in: u64,
    /// Both.
    pub syn_events_total: u64,
    /// Per second of wall time.
    pub syn_events_per_s: f64,
    /// Mean timestep latency, cycles (0 with timing off).
    pub cycles_per_step: f64,
    /// Mean timestep latency in µs of chip time.
    pub chip_us_per_step: f64,
    /// Mean energy per timestep, nJ (0 with timing off).
    pub energy_per_step_nj: f64,
    /// Weight binary point.
    pub weight_frac: u8,
    /// Packets routed.
    pub packets: u64,
    /// Hottest links.
    pub hotspots: Vec<Hotspot>,
    /// Statistics.
    pub stats: Stats,
}

impl W1Result {
    /// One JSON line.
    pub fn json(&self) -> String {
        let hs: Vec<String> = self
            .hotspots
            .iter()
            .map(|h| format!("{{\"tile\":[{},{}],\"dir\":\"{}\",\"packets\":{}}}", h.tile.0, h.tile.1, h.dir, h.packets))
            .collect();
        format!(
            "{{\"workload\":\"w1\",\"N\":{},\"T\":{},\"threads\":{},\"timing\":{},\"chip\":\"{}\",\"cores\":{},\"build_s\":{:.3},\"wall_s\":{:.4},\"cpu_s\":{},\"steps_per_s\":{:.1},\"spikes\":{},\"input_spikes\":{},\"mean_rate_hz\":{:.2},\"syn_events_rec\":{},\"syn_events_in\":{},\"syn_events_total\":{},\"syn_events_per_s\":{:.0},\"cycles_per_step\":{:.1},\"chip_us_per_step\":{:.3},\"energy_per_step_nj\":{:.3},\"weight_frac\":{},\"packets\":{},\"hotspots\":[{}]}}",
            self.n,
            self.t,
            self.threads,
            self.timing,
            self.chip.replace('"', "'"),
            self.cores,
            self.build_s,
            self.wall_s,
            self.cpu_s.map_or("null".to_string(), |c| format!("{c:.4}")),
            self.steps_per_s,
            self.spikes,
            self.input_spikes,
            self.mean_rate_hz,
            self.syn_events_rec,
            self.syn_events_in,
            self.syn_events_total,
            self.syn_events_per_s,
            self.cycles_per_step,
            self.chip_us_per_step,
            self.energy_per_step_nj,
            self.weight_frac,
            self.packets,
            hs.join(",")
        )
    }
}

/// Build W1 with `n` neurons, place it on `chip` with the partitioner and run `steps` steps.
pub fn run(chip: ChipDesc, n: usize, steps: u32, opts: EmuOptions, seed: u32) -> Result<W1Result, EmuError> {
    run_spread(chip, n, steps, opts, seed, 1)
}

/// Like [`run`], with logical core i placed on physical core i · `stride` (`stride` = cores per tile
/// puts one core on each tile).
pub fn run_spread(chip: ChipDesc, n: usize, steps: u32, opts: EmuOptions, seed: u32, stride: usize) -> Result<W1Result, EmuError> {
    run_observed(chip, n, steps, opts, seed, stride, &mut crate::observe::NoObserver)
}

/// Like [`run_spread`], with an extra observer (a CSV or VCD trace, a recorder) watching every step.
pub fn run_observed(
    chip: ChipDesc,
    n: usize,
    steps: u32,
    opts: EmuOptions,
    seed: u32,
    stride: usize,
    extra: &mut dyn Observer,
) -> Result<W1Result, EmuError> {
    let t0 = Instant::now();
    let w = build(n, seed)?;
    let deg = w.out_degree;
    let name = chip.name.clone();
    let clock = chip.clock_mhz;
    let (m, _) = crate::mapping::partition(&chip, &w.spec)?;
    let mut emu = Emulator::with_mapping(chip, w.spec, m.spread(stride), opts)?;
    let build_s = t0.elapsed().as_secs_f64();
    let mut g = XorShift32::new(seed ^ 0x5151_0001);
    let mut input = Vec::with_capacity(INPUTS);
    let mut stats = Stats::default();
    let (mut spikes, mut in_spikes, mut ev_rec, mut ev_in) = (0u64, 0u64, 0u64, 0u64);
    let (mut cycles, mut energy) = (0u64, 0f64);
    let mut packets = 0u64;
    let cpu0 = process_cpu_s();
    let t1 = Instant::now();
    for t in 0..steps {
        inputs(&mut g, &mut input);
        in_spikes += input.len() as u64;
        ev_in += input.iter().map(|&a| deg[a as usize] as u64).sum::<u64>();
        let mut obs = (&mut stats, &mut *extra);
        let r = emu.step(Timestep(t), &input, Target::None, &mut obs)?;
        spikes += r.spikes as u64;
        ev_rec += emu.last_spikes().iter().map(|&j| deg[INPUTS + j as usize] as u64).sum::<u64>();
        cycles += r.cycles.0;
        energy += r.energy.total();
        packets += r.packets;
    }
    let wall_s = t1.elapsed().as_secs_f64();
    let cpu_s = match (cpu0, process_cpu_s()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let total = ev_rec + ev_in;
    let st = steps.max(1) as f64;
    Ok(W1Result {
        n,
        t: steps,
        threads: opts.threads.max(1),
        timing: opts.timing,
        chip: name,
        cores: emu.mapping().cores_used(),
        build_s,
        wall_s,
        cpu_s,
        steps_per_s: steps as f64 / wall_s,
        spikes,
        input_spikes: in_spikes,
        mean_rate_hz: spikes as f64 / (n as f64 * st * 1e-3),
        syn_events_rec: ev_rec,
        syn_events_in: ev_in,
        syn_events_total: total,
        syn_events_per_s: total as f64 / wall_s,
        cycles_per_step: cycles as f64 / st,
        chip_us_per_step: cycles as f64 / st / clock,
        energy_per_step_nj: energy / st / 1000.0,
        weight_frac: w.weight_frac,
        packets,
        hotspots: stats.hotspots(5),
        stats,
    })
}

/// CPU time of every thread of this process so far, seconds (Linux: the first field of each thread's
/// `schedstat`, in ns; threads that already ended are not counted). `None` where unavailable.
pub fn process_cpu_s() -> Option<f64> {
    let mut ns = 0u64;
    for e in std::fs::read_dir("/proc/self/task").ok()? {
        let p = e.ok()?.path().join("schedstat");
        let s = std::fs::read_to_string(p).ok()?;
        ns += s.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(ns as f64 * 1e-9)
}
