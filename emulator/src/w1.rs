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
use crate::core_unit::FrozenSynapses;
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

/// The recurrent weight's normal draw (Box–Muller on two uniforms), before the `f32` cast.
#[inline(always)]
fn normal(sd: f64, u1: f64, u2: f64) -> f64 {
    sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Check `n` and give (axons, p as a u32 threshold, recurrent standard deviation).
fn shape(n: usize) -> Result<(usize, u32, f64), EmuError> {
    if n == 0 || n + INPUTS > u16::MAX as usize {
        return Err(EmuError::Network(format!("W1: N = {n} must be in 1..={}", u16::MAX as usize - INPUTS)));
    }
    let axons = INPUTS + n;
    if (axons as u64) * (n as u64) > u32::MAX as u64 {
        return Err(EmuError::Network(format!("W1: N = {n} gives {} synapse slots, more than 2^32 - 1", axons as u64 * n as u64)));
    }
    Ok((axons, (0.1 * 4_294_967_296.0) as u32, 0.2 / (0.1 * n as f64).sqrt()))
}

/// W1's graph from `seed`, in generation order: `edge(j, w)` for every edge of the current axon (rows
/// in axon order, neurons ascending; `w` the float weight before the `f32` cast), `row_end()` after
/// each axon's row. The one place the random streams are consumed (`scan` mirrors it without the
/// transcendental functions; a test compares the two paths' networks).
fn generate(n: usize, seed: u32, mut edge: impl FnMut(usize, f64), mut row_end: impl FnMut()) -> Result<(), EmuError> {
    let (axons, p, sd) = shape(n)?;
    let mut g = XorShift32::new(seed);
    for a in 0..axons {
        for j in 0..n {
            if g.next_u32() < p {
                let w = if a < INPUTS {
                    0.03
                } else {
                    let (u1, u2) = (unit(&mut g), unit(&mut g));
                    normal(sd, u1, u2)
                };
                edge(j, w);
            }
        }
        row_end();
    }
    Ok(())
}

/// 8-bit weights: the largest binary point with max|w|·2^f ≤ 127 (f ≤ state_frac = 16).
fn weight_frac(maxw: f64) -> u8 {
    let mut frac = 0u8;
    while frac < 16 && maxw * (1u64 << (frac + 1)) as f64 <= 127.0 {
        frac += 1;
    }
    frac
}

/// W1's layer configuration (LIF, exponential synapse, 8-bit weights at binary point `frac`).
fn layer(frac: u8, seed: u32) -> Result<LayerConfig, EmuError> {
    let fmt = Formats { weight_bits: 8, weight_frac: frac, state_frac: 16, ..Formats::DEFAULT };
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
    Ok(LayerConfig {
        formats: fmt,
        neuron: NeuronKind::Lif(lif),
        presyn: PresynKind::None,
        trace_decay: fmt.decay(fx(0.5), Field::Decay)?,
        learning_rate: LearningRate { mant: 1, shift: 8 },
        seed,
    })
}

/// W1's network around the hidden weights `csr`.
fn spec(layer: LayerConfig, n: usize, csr: SparseWeights) -> NetworkSpec {
    NetworkSpec {
        layer,
        inputs: INPUTS,
        neurons: n,
        recurrent: true,
        weights: Vec::new(),
        csr: Some(csr),
        sparse: true,
        readout: None,
        feedback: Feedback::External,
        window: LossWindow::ALWAYS,
        learn: false,
        learn_epoch: 1,
    }
}

/// Build W1 with `n` neurons from `seed`.
pub fn build(n: usize, seed: u32) -> Result<W1, EmuError> {
    let (axons, _, _) = shape(n)?;
    // Edges first, in compressed rows (row = axon, ascending neurons), quantized once the largest |w| is
    // known.
    let mut row_start: Vec<u32> = Vec::with_capacity(axons + 1);
    row_start.push(0);
    let mut cols: Vec<u16> = Vec::with_capacity(axons * n / 9);
    let mut wf: Vec<f32> = Vec::with_capacity(axons * n / 9);
    let mut deg = vec![0u32; axons];
    let mut maxw = 0.03f64;
    let mut row = 0usize;
    {
        let (cols, wf, row_start, deg, maxw, row) = (&mut cols, &mut wf, &mut row_start, &mut deg, &mut maxw, &mut row);
        let cell = std::cell::RefCell::new((cols, wf, row_start, deg, maxw, row));
        generate(
            n,
            seed,
            |j, w| {
                let mut c = cell.borrow_mut();
                *c.4 = c.4.max(w.abs());
                c.0.push(j as u16);
                c.1.push(w as f32);
                let r = *c.5;
                c.3[r] += 1;
            },
            || {
                let mut c = cell.borrow_mut();
                let len = c.0.len() as u32;
                c.2.push(len);
                *c.5 += 1;
            },
        )?;
    }
    let frac = weight_frac(maxw);
    let layer = layer(frac, seed)?;
    let fmt = layer.formats;
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
    Ok(W1 { spec: spec(layer, n, SparseWeights { row_start, cols, weights }), out_degree: deg, weight_frac: frac, clipped })
}

/// W1 built straight into the compact storage of frozen cores ([`build_frozen`]).
pub struct W1Frozen {
    /// The network with **no** hidden synapses of its own (an empty compressed structure); its
    /// synapses are `cores`. Give both to [`Emulator::with_frozen_synapses`].
    pub spec: NetworkSpec,
    /// The synapses of hidden slice k = neurons `k · len .. min((k + 1) · len, N)`, local columns, 8-bit
    /// weights, only the non-zero ones (a weight that quantizes to zero is no synapse, as in [`build`]).
    pub cores: Vec<FrozenSynapses>,
    /// Out-degree of every axon in the generated graph.
    pub out_degree: Vec<u32>,
    /// Binary point chosen for the 8-bit weights.
    pub weight_frac: u8,
    /// Weights saturated by the quantization (should be 0).
    pub clipped: u64,
}

impl W1Frozen {
    /// Bytes held by the synapse storage of every core (row offsets, columns and weights, by length).
    pub fn synapse_bytes(&self) -> usize {
        self.cores.iter().map(frozen_bytes).sum()
    }
}

/// Bytes of one frozen core's storage (row offsets `u32`, columns `u16`, weights `i8`, by length).
pub fn frozen_bytes(f: &FrozenSynapses) -> usize {
    let csr = f.csr();
    csr.row_start.len() * 4 + csr.cols.len() * 2 + f.weights().len()
}

/// The first pass of [`build_frozen`]: the same random streams as [`generate`] (every draw, in the
/// same order), giving the out-degrees, the largest |w| and the edges per hidden slice of `len`
/// neurons, but computing the Box–Muller weight only where it can exceed the largest |w| so far:
/// |w| ≤ sd·√(−2 ln u1), so with u1 ≥ exp(−(m/sd)²/2)·(1 + 10⁻⁶) the weight is below m (the margin
/// covers the rounding of `ln`, `sqrt` and the products, ≈ 10⁻¹⁵ relative), and `max` would not change.
fn scan(n: usize, seed: u32, len: usize) -> Result<(Vec<u32>, f64, Vec<usize>), EmuError> {
    let (axons, p, sd) = shape(n)?;
    let mut g = XorShift32::new(seed);
    let mut deg = vec![0u32; axons];
    let mut per_core = vec![0usize; n.div_ceil(len)];
    let mut maxw = 0.03f64;
    let bound = |m: f64| (-0.5 * (m / sd) * (m / sd)).exp() * (1.0 + 1e-6);
    let mut thr = bound(maxw);
    for (a, d) in deg.iter_mut().enumerate() {
        for (k, pc) in per_core.iter_mut().enumerate() {
            let mut e = 0usize;
            for _ in k * len..((k + 1) * len).min(n) {
                if g.next_u32() < p {
                    e += 1;
                    if a >= INPUTS {
                        let (u1, u2) = (unit(&mut g), unit(&mut g));
                        if u1 < thr {
                            let w = normal(sd, u1, u2);
                            if w.abs() > maxw {
                                maxw = w.abs();
                                thr = bound(maxw);
                            }
                        }
                    }
                }
            }
            *pc += e;
            *d += e as u32;
        }
    }
    Ok((deg, maxw, per_core))
}

/// Build W1 with `n` neurons from `seed` directly as frozen cores of `len` neurons each (the slices
/// [`crate::mapping::partition`] gives when synapse memory is not the limit): two passes over the
/// random streams ([`scan`] for the binary point and the sizes, then the weights, written straight into
/// each core's `u16` columns and `i8` weights), so the peak memory is the final storage, 3 bytes per
/// stored synapse plus `4 · (axons + 1)` bytes of row offsets per core, instead of [`build`]'s
/// network-wide rows (4 bytes per synapse, plus 4 more while quantizing) that the emulator then copies.
/// The same weights, columns and order as [`build`] + [`Emulator::with_mapping`] (`tests/w1_frozen.rs`).
pub fn build_frozen(n: usize, seed: u32, len: usize) -> Result<W1Frozen, EmuError> {
    let (axons, _, _) = shape(n)?;
    if len == 0 {
        return Err(EmuError::Network("W1: core length 0".into()));
    }
    let (deg, maxw, per_core) = scan(n, seed, len)?;
    let frac = weight_frac(maxw);
    let layer = layer(frac, seed)?;
    let fmt = layer.formats;
    let k_cores = per_core.len();
    let mut rows: Vec<Vec<u32>> = (0..k_cores).map(|_| Vec::with_capacity(axons + 1)).collect();
    let mut cols: Vec<Vec<u16>> = per_core.iter().map(|&e| crate::hugepage::vec(e)).collect();
    let mut ws: Vec<Vec<i8>> = per_core.iter().map(|&e| crate::hugepage::vec(e)).collect();
    for r in &mut rows {
        r.push(0);
    }
    let mut clipped = 0u64;
    {
        let cell = std::cell::RefCell::new((&mut rows, &mut cols, &mut ws, &mut clipped));
        generate(
            n,
            seed,
            |j, w| {
                let (q, s) = fmt.weight(fx(w as f32 as f64));
                let mut c = cell.borrow_mut();
                *c.3 += s as u64;
                if q.0 != 0 {
                    let k = j / len;
                    // q fits 8 bits: weight_bits = 8 saturates it to ±127.
                    c.1[k].push((j - k * len) as u16);
                    c.2[k].push(q.0 as i8);
                }
            },
            || {
                let mut c = cell.borrow_mut();
                let (rows, cols, _, _) = &mut *c;
                for (r, cs) in rows.iter_mut().zip(cols.iter()) {
                    r.push(cs.len() as u32);
                }
            },
        )?;
    }
    let mut cores = Vec::with_capacity(k_cores);
    for (k, ((r, c), w)) in rows.into_iter().zip(cols).zip(ws).enumerate() {
        let l = len.min(n - k * len);
        cores.push(FrozenSynapses::new(r, c, w, axons, l)?);
    }
    let empty = SparseWeights { row_start: vec![0; axons + 1], cols: Vec::new(), weights: Vec::new() };
    Ok(W1Frozen { spec: spec(layer, n, empty), cores, out_degree: deg, weight_frac: frac, clipped })
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
    /// Synapses the cores store (non-zero weights; W1's edges that quantized to 0 are not stored).
    pub syn_stored: u64,
    /// Bytes of the cores' synapse storage by length (frozen cores: `u32` row offsets, `u16` columns,
    /// `i8` weights; a core that is not frozen, which W1 never places, counts its 16-bit weights only).
    pub syn_bytes: u64,
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
            "{{\"workload\":\"w1\",\"N\":{},\"T\":{},\"threads\":{},\"timing\":{},\"chip\":\"{}\",\"cores\":{},\"build_s\":{:.3},\"wall_s\":{:.4},\"cpu_s\":{},\"steps_per_s\":{:.1},\"spikes\":{},\"input_spikes\":{},\"mean_rate_hz\":{:.2},\"syn_events_rec\":{},\"syn_events_in\":{},\"syn_events_total\":{},\"syn_events_per_s\":{:.0},\"cycles_per_step\":{:.1},\"chip_us_per_step\":{:.3},\"energy_per_step_nj\":{:.3},\"weight_frac\":{},\"packets\":{},\"syn_stored\":{},\"syn_bytes\":{},\"hotspots\":[{}]}}",
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
            self.syn_stored,
            self.syn_bytes,
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
    let name = chip.name.clone();
    let clock = chip.clock_mhz;
    let (mut emu, deg, weight_frac) = place(chip, n, opts, seed, stride)?;
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
    let (mut syn_stored, mut syn_bytes) = (0u64, 0u64);
    for c in emu.cores() {
        match c.frozen_synapses() {
            Some(f) => {
                syn_stored += f.synapses() as u64;
                syn_bytes += frozen_bytes(f) as u64;
            }
            None => {
                syn_stored += c.stored().iter().map(|&k| k as u64).sum::<u64>();
                syn_bytes += (c.weights().len() * 2) as u64;
            }
        }
    }
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
        weight_frac,
        packets,
        syn_stored,
        syn_bytes,
        hotspots: stats.hotspots(5),
        stats,
    })
}

/// Build W1 and place it on `chip` (logical core i on physical core i · `stride`): straight into frozen
/// cores ([`build_frozen`], 3 bytes per synapse at the peak) when the partitioner's slices are the
/// neuron-limited ones, i.e. synapse memory is not what limits them; otherwise (e.g. `loihi` at
/// N = 1000) through [`build`] and the partitioner's search. Both give the same chip
/// (`tests/w1_frozen.rs`). Returns the emulator, the out-degrees and the weights' binary point.
pub fn place(chip: ChipDesc, n: usize, opts: EmuOptions, seed: u32, stride: usize) -> Result<(Emulator, Vec<u32>, u8), EmuError> {
    let len = (chip.limits.neurons as usize).min(n).max(1);
    let f = build_frozen(n, seed, len)?;
    // The neuron and axon limits (the network holds no synapse yet, so the slices are `len` long).
    let (m, _) = crate::mapping::partition(&chip, &f.spec)?;
    if m.hidden.len() == f.cores.len() && m.hidden.iter().all(|s| s.first % len == 0) {
        let fits = f.cores.iter().all(|c| {
            let bits: u64 = (0..c.axons()).map(|a| chip.row_bits(c.row(a).0.len() as u64, c.neurons() as u64)).sum();
            bits <= chip.limits.syn_mem_bits
        });
        if fits && !matches!(chip.limits.encoding, crate::chip::SynEncoding::Dense) {
            let emu = Emulator::with_frozen_synapses(chip, f.spec, m.spread(stride), opts, f.cores)?;
            return Ok((emu, f.out_degree, f.weight_frac));
        }
    }
    drop(f);
    let w = build(n, seed)?;
    let (m, _) = crate::mapping::partition(&chip, &w.spec)?;
    let emu = Emulator::with_mapping(chip, w.spec, m.spread(stride), opts)?;
    Ok((emu, w.out_degree, w.weight_frac))
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
