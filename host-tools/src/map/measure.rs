//! The measured side: run the network on the emulated chip with a given mapping over a stimulus, and keep
//! the emulator's own link statistics and the bits the run produced.
//!
//! The loop is `plasticore_core::graph::step_graph`'s on the emulator: [`Runner::draw`], one
//! [`GraphEmulator::step`] (online update, no external λ; no target when every population's λ source is
//! `External`), [`Runner::record`]. Two placements of the same slices must produce equal [`Bits`]: the
//! emulator's results do not depend on where a core sits, only its cycles, packets' hops and energy do.
use super::MapError;
use plasticore_core::checksum::Fnv;
use plasticore_core::format::Weight;
use plasticore_core::graph::LambdaSource;
use plasticore_core::image::{RunSummary, Runner, StepTarget, Stimulus};
use plasticore_core::readout::{Feedback, Target};
use plasticore_emu::graph::{GraphEmulator, GraphMapping, GraphNetworkSpec};
use plasticore_emu::{ChipDesc, EmuOptions, Observer, Stats};

/// An observer that calls `f(steps done)` after every step (progress bars).
pub struct Steps<F: FnMut(u64)>(pub F);

impl<F: FnMut(u64)> Observer for Steps<F> {
    fn on_step(&mut self, v: &plasticore_emu::observe::StepView<'_>) {
        (self.0)(v.report.step + 1);
    }
}

/// What a run computed, bit for bit: equal for every placement of the same slices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bits {
    /// The `Runner`'s summary (trajectory hash of spike counts and losses, totals; checksum 0).
    pub summary: RunSummary,
    /// FNV-1a over every step's spike ids of every population, in population order.
    pub spikes: u32,
    /// Final weights of every population (dense `axons × neurons`).
    pub weights: Vec<Vec<Weight>>,
    /// Final readout weights.
    pub readout: Vec<Weight>,
}

/// The emulator's figures for one run (totals over the run).
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// Timesteps run.
    pub steps: u64,
    /// Packets routed (spikes and learning-signal words; one packet = one 32-bit flit).
    pub packets: u64,
    /// Hop-weighted packets: Σ over directed mesh links of the packets that crossed it.
    pub hop_packets: u64,
    /// The most packets one directed link carried.
    pub max_link_load: u64,
    /// Deliveries that stayed inside their tile.
    pub local_deliveries: u64,
    /// Σ timestep latencies, cycles.
    pub cycles: u64,
    /// Total energy, pJ (all phases + NoC + static).
    pub energy_pj: f64,
    /// Of which the NoC, pJ.
    pub noc_pj: f64,
    /// Packets delayed by contention, and their total delay in cycles.
    pub delayed: (u64, u64),
    /// Physical cores spanned (one past the highest in use): the barrier's tile count follows it.
    pub cores_spanned: usize,
    /// The bits the run produced.
    pub bits: Bits,
}

/// Run `spec` with mapping `m` on `chip` over `stim` (its `steps`), single-threaded, timing on, strict
/// off; `obs` sees every step too (the traffic profile uses it).
pub fn run(chip: &ChipDesc, spec: &GraphNetworkSpec, m: &GraphMapping, stim: Stimulus, obs: &mut dyn Observer) -> Result<Measured, MapError> {
    let mut emu = GraphEmulator::with_mapping(chip.clone(), spec.clone(), m.clone(), EmuOptions { threads: 1, timing: true, strict: false })?;
    let cfg = spec.config.clone();
    let np = cfg.populations.len();
    let ext = cfg.inputs as usize;
    let all_external = cfg.populations.iter().all(|p| p.lambda == LambdaSource::External);
    let feedback = if all_external { Feedback::External } else { Feedback::Symmetric };
    let loss = cfg.readout.config.loss;
    let mut input = vec![0u16; ext];
    let mut values = vec![0i32; cfg.readout.outputs as usize];
    let mut run = Runner::new(stim);
    let mut stats = Stats::default();
    let mut hash = Fnv::new();
    while run.timestep().0 < stim.steps {
        let (n, t) = run.draw(ext, loss, feedback, &mut input, &mut values);
        let target = match t {
            StepTarget::None => Target::None,
            StepTarget::Values => Target::Values(&values),
            StepTarget::Class(c) => Target::Class(c),
        };
        let rep = emu.step(run.timestep(), input.get(..n).unwrap_or(&[]), target, &[], &mut (&mut stats, &mut *obs))?;
        run.record(rep.ops.spikes, rep.loss_q16);
        for p in 0..np {
            let s = emu.spikes(p);
            hash.write(&(s.len() as u32).to_le_bytes());
            for id in s {
                hash.write(&id.to_le_bytes());
            }
        }
    }
    let bits = Bits {
        summary: run.partial_summary(),
        spikes: hash.finish(),
        weights: (0..np).map(|p| emu.dense_weights(p)).collect(),
        readout: emu.readout().weights().to_vec(),
    };
    Ok(Measured {
        steps: stats.steps,
        packets: stats.packets,
        hop_packets: stats.link_load.iter().sum(),
        max_link_load: stats.link_load.iter().copied().max().unwrap_or(0),
        local_deliveries: stats.local_load.iter().sum(),
        cycles: stats.cycles,
        energy_pj: stats.energy.total(),
        noc_pj: stats.energy.noc,
        delayed: (stats.delayed_packets, stats.delay_cycles),
        cores_spanned: m.cores_spanned(),
        bits,
    })
}
