//! The main job (the README's run command): a recurrent spiking network learns a built-in task — evidence
//! accumulation — **on the emulated chip** with the fixed-point on-chip ES-D-RTRL rule, the float on-chip
//! rule learns the same task from the same weights on the same trials, and one self-contained HTML report
//! puts the two learning curves, the chip's cycles and energy per timestep (learning and inference), core
//! use, link load and NeuroBench-style metrics side by side.
//!
//! Task (`tasks::evidence`, shortened to run in seconds): 5 cues of 10 steps after 5-step gaps on a left
//! or a right group of 10 input channels (30 % spike probability per step), a 20-step delay, a 10-step
//! recall cue; the answer is the side with more cues (softmax cross-entropy during the recall, class =
//! argmax of the readout summed over the recall). Network: 40 inputs → 64 recurrent LIF neurons (delta
//! synapse, α_m = 0.95, soft reset) → 2 leaky readouts (κ = 0.99). Learning: online, symmetric feedback,
//! stochastic rounding (fixed) / exact (float); hidden η = 2⁻¹⁰, readout η_o = 2⁻¹², ES trace α = 0.9.
//! The fixed network's initial weights are seeded 8-bit mantissas (Q.6); the float network starts from the
//! same values, dequantized. Readout weights start at zero (chance).
//!
//! The chip run places the 64 neurons on 4 cores, one per tile (plus the readout's core), so spikes and
//! learning signals cross the mesh and the report's link figures are real traffic.

use crate::reference::model::{Neuron, Presyn};
use crate::reference::net::{LayerConfig as FLayer, LossKind, NetConfig as FNet, Output, Params, Target as FTarget};
use crate::reference::onchip::{Feedback as FFeedback, OnChip, OnChipConfig, UpdateMode as FMode};
use crate::reference::plot::write_atomic;
use crate::reference::scalar::Surrogate as FSurrogate;
use crate::reference::RefError;
use crate::tasks::evidence::EvidenceConfig;
use crate::sweep::network::events;
use crate::tasks::Trial;
use fixed::types::I32F32;
use plasticore_core::layer::MemoryReport;
use plasticore_core::prelude::*;
use plasticore_core::rng::XorShift32;
use plasticore_emu::mapping::Mapping;
use plasticore_emu::network::{NetworkSpec, ReadoutSpec};
use plasticore_emu::observe::Stats;
use plasticore_emu::{presets, EmuOptions, Emulator};
use std::path::{Path, PathBuf};

/// Input channels.
pub const INPUTS: usize = 40;
/// Hidden neurons.
pub const HIDDEN: usize = 64;
/// Readout units (classes).
pub const OUTPUTS: usize = 2;
/// Cores the hidden neurons are split over.
pub const CORES: usize = 4;

/// What to run.
#[derive(Clone, Debug)]
pub struct MainConfig {
    /// Chip preset (`plasticore_emu::presets`).
    pub preset: String,
    /// Training trials.
    pub train_trials: usize,
    /// Held-out trials, evaluated after every block.
    pub test_trials: usize,
    /// Evaluation points along training.
    pub blocks: usize,
    /// Seed of the weights and the trials.
    pub seed: u64,
    /// Where the report and its data go.
    pub out: PathBuf,
}

impl MainConfig {
    /// The default run (a few minutes on 2 cores at most).
    pub fn full(out: PathBuf) -> Self {
        MainConfig { preset: "loihi".into(), train_trials: 600, test_trials: 200, blocks: 10, seed: 7, out }
    }

    /// A reduced run for tests (seconds).
    pub fn quick(out: PathBuf) -> Self {
        MainConfig { preset: "loihi".into(), train_trials: 160, test_trials: 60, blocks: 4, seed: 7, out }
    }
}

/// Errors of the main job.
#[derive(Debug, thiserror::Error)]
pub enum MainError {
    /// The float reference refused something.
    #[error(transparent)]
    Reference(#[from] RefError),
    /// The emulator refused something.
    #[error("emulator: {0}")]
    Emulator(#[from] plasticore_emu::EmuError),
    /// The core refused a configuration.
    #[error("core configuration: {0}")]
    Core(ConfigError),
    /// A setting is out of range.
    #[error("{0}")]
    Config(String),
}

impl From<ConfigError> for MainError {
    fn from(e: ConfigError) -> Self {
        MainError::Core(e)
    }
}

/// One evaluation point.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Point {
    /// Training trials seen.
    pub trials: usize,
    /// Held-out accuracy of the float rule.
    pub acc_float: f64,
    /// Held-out accuracy on the chip.
    pub acc_chip: f64,
    /// Mean recall-step cross-entropy of the float rule over the block's training trials (nats); none
    /// before training.
    pub loss_float: Option<f64>,
    /// Same on the chip.
    pub loss_chip: Option<f64>,
}

/// Chip figures per timestep, averaged over a phase of the run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChipFigures {
    /// Timesteps averaged.
    pub steps: u64,
    /// Cycles per timestep (latency: slowest core + network drain + barrier).
    pub cycles: f64,
    /// Cycles per timestep by phase (deliver, integrate, fire, route, learn): the longest any core spent
    /// in the phase (cores run in parallel, so these overlap and do not add up to `cycles`).
    pub phases_cycles: [f64; 5],
    /// Cycles per timestep the network kept delivering after the slowest core finished.
    pub drain_cycles: f64,
    /// Barrier cycles per timestep.
    pub barrier_cycles: f64,
    /// Microseconds of chip time per timestep.
    pub us: f64,
    /// Energy per timestep, nJ (all parts).
    pub energy_nj: f64,
    /// Energy per timestep by phase (deliver, integrate, fire, route, learn), nJ.
    pub phases_nj: [f64; 5],
    /// Network energy per timestep, nJ.
    pub noc_nj: f64,
    /// Static energy per timestep, nJ.
    pub static_nj: f64,
    /// Packets per timestep.
    pub packets: f64,
    /// Synaptic operations (accumulates) per timestep.
    pub syn_ops: f64,
    /// Weight updates per timestep.
    pub weight_updates: f64,
    /// Hidden spikes per timestep.
    pub spikes: f64,
    /// Busy fraction of each core.
    pub utilisation: Vec<f64>,
    /// Busiest links: (tile x, tile y, direction, packets).
    pub hotspots: Vec<(u32, u32, String, u64)>,
    /// Mesh: tiles across, tiles down, cores per tile (cores are numbered tile-major).
    pub mesh: [u32; 3],
    /// Packets per directed link, index tile · 4 + direction (E, W, N, S; tiles row-major).
    pub link_load: Vec<u64>,
}

/// The `kind` of the main job's JSON (`report` recognises its inputs by it).
pub const KIND: &str = "plasticore-main";

/// How the run was set up (for the report).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunInfo {
    /// Training trials.
    pub train_trials: usize,
    /// Held-out trials.
    pub test_trials: usize,
    /// Training trials between evaluations.
    pub block: usize,
    /// The reduced run (`demo --quick`).
    pub quick: bool,
}

/// Everything the main job measured.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct MainResult {
    /// [`KIND`].
    pub kind: String,
    /// Schema version of this JSON (1).
    pub schema: u32,
    /// How the run was set up.
    pub run: RunInfo,
    /// Preset.
    pub preset: String,
    /// Learning curve.
    pub curve: Vec<Point>,
    /// Chip figures while learning.
    pub learning: ChipFigures,
    /// Chip figures during held-out inference.
    pub inference: ChipFigures,
    /// Cores used (hidden + readout).
    pub cores: usize,
    /// Bytes of weights, traces and state on the chip (core-nostd's storage formats).
    pub footprint_bytes: usize,
    /// Fraction of hidden and readout synapses whose weight is zero at the end.
    pub connection_sparsity: f64,
    /// 1 − mean spikes per neuron per timestep (held-out inference).
    pub activation_sparsity: f64,
    /// Timesteps per trial.
    pub steps_per_trial: usize,
}

/// The main job's task (shortened evidence accumulation; see the module doc).
pub fn task() -> EvidenceConfig {
    EvidenceConfig { group: 10, cues: 7, cue: 10, gap: 5, delay: 40, recall: 10, on_hz: 100.0, noise_hz: 40.0 }
}

fn dec(x: &str) -> Result<Decay, ConfigError> {
    Formats::DEFAULT.decay(I32F32::lit(x), Field::Decay)
}

fn dec_f(d: Decay) -> f64 {
    d.0 as f64 / (1u64 << Formats::DEFAULT.decay_frac) as f64
}

/// The main job's fixed-point network: 40 inputs → 64 recurrent LIF → 2 cross-entropy outputs, weights seeded by `seed`
/// (also mapped by `plasticore map --main-job`).
pub fn fixed_network(seed: u64) -> Result<NetworkSpec, MainError> {
    let fmt = Formats::DEFAULT;
    let lif = Lif::new(
        LifParams {
            decay: dec("0.95")?,
            threshold: fmt.voltage(I32F32::ONE, Field::Threshold)?,
            reset: Reset::Soft,
            detach_reset: false,
            synapse: Synapse::Delta,
            surrogate: SurrogateParams::paper(&fmt),
        },
        &fmt,
    )?;
    let layer = LayerConfig {
        formats: fmt,
        neuron: NeuronKind::Lif(lif),
        presyn: PresynKind::None,
        trace_decay: dec("0.9")?,
        learning_rate: LearningRate { mant: 1, shift: 10 },
        seed: seed as u32,
    };
    let readout = ReadoutConfig {
        formats: Formats { weight_bits: 16, weight_frac: 12, ..fmt },
        decay: dec("0.99")?,
        loss: Loss::CrossEntropy,
        learning_rate: LearningRate { mant: 1, shift: 15 },
        seed: seed as u32 ^ 0xABCD,
    };
    let mut rng = XorShift32::new(seed as u32 | 1);
    let axons = INPUTS + HIDDEN;
    let weights = (0..axons * HIDDEN)
        .map(|q| {
            let span = if q / HIDDEN < INPUTS { 40 } else { 8 };
            Weight(((rng.next_u32() % (2 * span + 1)) as i32 - span as i32) as i16)
        })
        .collect();
    Ok(NetworkSpec {
        layer,
        inputs: INPUTS,
        neurons: HIDDEN,
        recurrent: true,
        weights,
        csr: None,
        sparse: false,
        readout: Some(ReadoutSpec { config: readout, outputs: OUTPUTS, weights: vec![Weight(0); HIDDEN * OUTPUTS] }),
        feedback: Feedback::Symmetric,
        window: LossWindow::ALWAYS,
        learn: true,
        learn_epoch: 0,
    })
}

/// The float network with the same conventions and the dequantized weights of `spec`: configuration,
/// weights and the on-chip rule's settings.
fn float_parts(spec: &NetworkSpec) -> Result<(FNet<Neuron>, Params<f64>, OnChipConfig), MainError> {
    let fmt = spec.layer.formats;
    let (alpha_m, surrogate) = match spec.layer.neuron {
        NeuronKind::Lif(m) => (dec_f(m.params().decay), m.params().surrogate),
        _ => return Err(MainError::Config("the main job's float twin is written for LIF".into())),
    };
    let mut n = Neuron::lif(alpha_m);
    let sf = (1u64 << fmt.signal_frac) as f64;
    n.surrogate = FSurrogate { height: surrogate.amplitude.0 as f64 / sf, width: surrogate.width.0 as f64 / sf };
    let ro = spec.readout.as_ref().ok_or_else(|| MainError::Config("no readout".into()))?;
    let cfg = FNet {
        layers: vec![FLayer { n_in: INPUTS, n: HIDDEN, recurrent: true, neuron: n, presyn: Presyn::None }],
        output: Output::LeakyReadout { n_out: OUTPUTS, kappa: dec_f(ro.config.decay) },
        loss: LossKind::CrossEntropy,
    };
    let mut p = Params::zeros(&cfg);
    let wv = |w: &Weight, f: &Formats| w.0 as f64 / (1u64 << f.weight_frac) as f64;
    p.layers[0].w = spec.weights.iter().map(|w| wv(w, &fmt)).collect();
    p.readout = ro.weights.iter().map(|w| wv(w, &ro.config.formats)).collect();
    let lr = |l: LearningRate| l.mant as f64 * 2f64.powi(-(l.shift as i32));
    let oc = OnChipConfig {
        alpha: dec_f(spec.layer.trace_decay),
        eta: lr(spec.layer.learning_rate),
        eta_o: lr(ro.config.learning_rate),
        feedback: FFeedback::Symmetric,
        mode: FMode::Online,
    };
    Ok((cfg, p, oc))
}

/// The float on-chip rule on the main job's network.
fn float_network(spec: &NetworkSpec) -> Result<OnChip<Neuron>, MainError> {
    let (cfg, p, oc) = float_parts(spec)?;
    Ok(OnChip::new(cfg, p, oc)?)
}

/// The main job's network in float (its initial weights are the fixed network's, dequantized) with the
/// on-chip rule's settings: what `sweep` studies by default.
pub fn float_twin(seed: u64) -> Result<(FNet<Neuron>, Params<f64>, OnChipConfig), MainError> {
    float_parts(&fixed_network(seed)?)
}

/// One trial on the chip; returns (correct, Σ loss, loss steps). `learn` applies the recall targets.
fn chip_trial(emu: &mut Emulator, trial: &Trial, learn: bool, obs: &mut dyn plasticore_emu::Observer) -> Result<(bool, f64, usize), MainError> {
    emu.reset_state()?;
    let mut score = [0i64; OUTPUTS];
    let (mut loss, mut n) = (0.0, 0);
    for (t, (ev, tgt)) in events(trial).iter().zip(&trial.seq.targets).enumerate() {
        let target = match (learn, tgt) {
            (true, Some(FTarget::Class(c))) => Target::Class(*c as u16),
            _ => Target::None,
        };
        let r = emu.step(Timestep(t as u32), ev, target, obs)?;
        if let Some(l) = r.loss_q16 {
            loss += l as f64 / 65536.0;
            n += 1;
        }
        if tgt.is_some() {
            for (s, &o) in score.iter_mut().zip(emu.outputs()) {
                *s += o as i64;
            }
        }
    }
    let guess = (score[1] > score[0]) as usize;
    Ok((guess == trial.label, loss, n))
}

/// One trial on the float rule.
fn float_trial(f: &mut OnChip<Neuron>, trial: &Trial, learn: bool) -> Result<(bool, f64, usize), MainError> {
    f.reset();
    let mut score = [0.0f64; OUTPUTS];
    let (mut loss, mut n) = (0.0, 0);
    for (u, tgt) in trial.seq.inputs.iter().zip(&trial.seq.targets) {
        let l = f.step(u, if learn { tgt.as_ref() } else { None }, None)?;
        if learn && tgt.is_some() {
            loss += l;
            n += 1;
        }
        if tgt.is_some() {
            for (s, &o) in score.iter_mut().zip(f.output()) {
                *s += o;
            }
        }
    }
    let guess = (score[1] > score[0]) as usize;
    Ok((guess == trial.label, loss, n))
}

fn figures(s: &Stats, chip: &plasticore_emu::ChipDesc, weight_updates: u64, hidden_spikes: u64) -> ChipFigures {
    let chip_mhz = chip.clock_mhz;
    let t = s.steps.max(1) as f64;
    let e = &s.energy;
    ChipFigures {
        steps: s.steps,
        cycles: s.cycles as f64 / t,
        phases_cycles: [0.0; 5],
        drain_cycles: 0.0,
        barrier_cycles: 0.0,
        us: s.cycles as f64 / t / chip_mhz,
        energy_nj: e.total() / 1e3 / t,
        phases_nj: e.phases.map(|x| x / 1e3 / t),
        noc_nj: e.noc / 1e3 / t,
        static_nj: e.static_ / 1e3 / t,
        packets: s.packets as f64 / t,
        syn_ops: 0.0,
        weight_updates: weight_updates as f64 / t,
        spikes: hidden_spikes as f64 / t,
        utilisation: s.utilisation(),
        hotspots: s.hotspots(5).iter().map(|h| (h.tile.0, h.tile.1, h.dir.to_string(), h.packets)).collect(),
        mesh: [chip.mesh.width, chip.mesh.height, chip.mesh.cores_per_tile],
        link_load: s.link_load.clone(),
    }
}

/// Observer that counts what the figures need besides `Stats`.
#[derive(Default)]
struct Counts {
    stats: Stats,
    syn: u64,
    updates: u64,
    spikes: u64,
    /// Σ over steps of the longest time any core spent in each phase.
    phase_cycles: [u64; 5],
    drain: u64,
    barrier: u64,
}

impl Counts {
    /// The figures per timestep.
    fn figures(&self, chip: &plasticore_emu::ChipDesc) -> ChipFigures {
        let mut f = figures(&self.stats, chip, self.updates, self.spikes);
        let t = self.stats.steps.max(1) as f64;
        f.syn_ops = self.syn as f64 / t;
        f.phases_cycles = self.phase_cycles.map(|c| c as f64 / t);
        f.drain_cycles = self.drain as f64 / t;
        f.barrier_cycles = self.barrier as f64 / t;
        f
    }
}

impl plasticore_emu::observe::Observer for Counts {
    fn on_step(&mut self, v: &plasticore_emu::observe::StepView<'_>) {
        self.syn += v.report.syn_events;
        self.updates += v.report.ops.weight_updates as u64;
        self.spikes += v.report.spikes as u64;
        for (k, acc) in self.phase_cycles.iter_mut().enumerate() {
            *acc += v.cores.iter().map(|c| c.phases[k].1 .0.saturating_sub(c.phases[k].0 .0)).max().unwrap_or(0);
        }
        self.drain += v.report.drain.0;
        self.barrier += v.report.barrier.0;
        self.stats.on_step(v);
    }
}

/// Run the main job; `progress(done, total)` is called after every trial. Writes `report.html` and
/// `main.json` into `cfg.out` (atomically) and returns the figures.
pub fn run(cfg: &MainConfig, mut progress: impl FnMut(u64, u64)) -> Result<MainResult, MainError> {
    if cfg.blocks == 0 || cfg.train_trials < cfg.blocks || cfg.test_trials == 0 {
        return Err(MainError::Config(format!(
            "need blocks ≥ 1, train trials ≥ blocks and test trials ≥ 1 (got {}, {}, {})",
            cfg.blocks, cfg.train_trials, cfg.test_trials
        )));
    }
    let chip = presets::preset(&cfg.preset)?;
    let spec = fixed_network(cfg.seed)?;
    let mut float = float_network(&spec)?;
    let per_tile = chip.mesh.cores_per_tile as usize;
    let mapping = Mapping::from_lengths(&[HIDDEN / CORES; CORES], true, chip.mesh.cores()).spread(per_tile);
    let mut emu = Emulator::with_mapping(chip.clone(), spec.clone(), mapping, EmuOptions { threads: 1, timing: true, strict: false })?;
    let cores = emu.mapping().cores_used();
    let task = task();
    let train = task.trials(cfg.train_trials, cfg.seed);
    let test = task.trials(cfg.test_trials, cfg.seed ^ 0x7E57);
    let total = (cfg.train_trials + (cfg.blocks + 1) * cfg.test_trials) as u64;
    let mut done = 0u64;
    let (mut learn_obs, mut infer_obs) = (Counts::default(), Counts::default());
    let mut curve = Vec::new();
    let evaluate = |emu: &mut Emulator, float: &mut OnChip<Neuron>, obs: &mut Counts, done: &mut u64, progress: &mut dyn FnMut(u64, u64)| -> Result<(f64, f64), MainError> {
        let (mut cf, mut cc) = (0usize, 0usize);
        for t in &test {
            cc += chip_trial(emu, t, false, obs)?.0 as usize;
            cf += float_trial(float, t, false)?.0 as usize;
            *done += 1;
            progress(*done, total);
        }
        Ok((cf as f64 / test.len() as f64, cc as f64 / test.len() as f64))
    };
    // Before any learning: chance, since the readout starts at zero.
    let (af, ac) = evaluate(&mut emu, &mut float, &mut infer_obs, &mut done, &mut progress)?;
    curve.push(Point { trials: 0, acc_float: af, acc_chip: ac, loss_float: None, loss_chip: None });
    let per_block = cfg.train_trials / cfg.blocks;
    let (mut lf, mut lc, mut nf, mut nc) = (0.0, 0.0, 0usize, 0usize);
    for (k, trial) in train.iter().enumerate() {
        let (_, l, n) = chip_trial(&mut emu, trial, true, &mut learn_obs)?;
        lc += l;
        nc += n;
        let (_, l, n) = float_trial(&mut float, trial, true)?;
        lf += l;
        nf += n;
        done += 1;
        progress(done, total);
        if (k + 1) % per_block == 0 && curve.len() <= cfg.blocks {
            let (af, ac) = evaluate(&mut emu, &mut float, &mut infer_obs, &mut done, &mut progress)?;
            curve.push(Point {
                trials: k + 1,
                acc_float: af,
                acc_chip: ac,
                loss_float: Some(lf / nf.max(1) as f64),
                loss_chip: Some(lc / nc.max(1) as f64),
            });
            (lf, lc, nf, nc) = (0.0, 0.0, 0, 0);
        }
    }
    let learning = learn_obs.figures(&chip);
    let inference = infer_obs.figures(&chip);
    let mem = MemoryReport::layer(INPUTS + HIDDEN, HIDDEN, 1);
    let footprint_bytes = mem.total() + 2 * HIDDEN * OUTPUTS + 2 * HIDDEN + 4 * OUTPUTS;
    let hw = emu.hidden_weights();
    let rw = emu.readout().map(|r| r.weights().to_vec()).unwrap_or_default();
    let zeros = hw.iter().chain(&rw).filter(|w| w.0 == 0).count();
    let result = MainResult {
        kind: KIND.into(),
        schema: 1,
        run: RunInfo {
            train_trials: cfg.train_trials,
            test_trials: cfg.test_trials,
            block: cfg.train_trials / cfg.blocks.max(1),
            quick: cfg.train_trials == MainConfig::quick(PathBuf::new()).train_trials,
        },
        preset: cfg.preset.clone(),
        curve,
        activation_sparsity: 1.0 - inference.spikes / HIDDEN as f64,
        learning,
        inference,
        cores,
        footprint_bytes,
        connection_sparsity: zeros as f64 / (hw.len() + rw.len()) as f64,
        steps_per_trial: task.steps(),
    };
    let json = serde_json::to_string_pretty(&result).map_err(|e| MainError::Config(e.to_string()))?;
    write_atomic(&cfg.out.join("main.json"), json.as_bytes())?;
    write_atomic(&cfg.out.join("report.html"), crate::report::main_job::page(&result, &cfg.out).as_bytes())?;
    Ok(result)
}

/// The path of the report inside `out`.
pub fn report_path(out: &Path) -> PathBuf {
    out.join("report.html")
}

