//! Mapping a fixed-point graph network onto a chip (issue 11 item 2): which neurons go on which core, and
//! which core goes where on the mesh. In the order the work is done:
//!
//! 1. [`source`]: a network image (graph format version 2, or version 1 as a one-population graph) →
//!    [`GraphNetworkSpec`] + its stimulus; or the main job's network.
//! 2. [`partition`]: each population cut into contiguous slices, one per core, within every per-core
//!    limit of the chip (neurons, input axons, output axons, synapse memory, weight bits; the emulator's
//!    accounting, `hw-notes/emulator-graph.md`). A network that cannot fit is an error naming the
//!    population and the limit.
//! 3. [`traffic`]: the packets between logical cores per run. They do not depend on where the cores
//!    sit (results are bit-identical for every placement), so a profiling run of the emulator gives them
//!    exactly; a static estimate (every neuron spikes once per step) exists for networks without inputs.
//! 4. [`place`]: logical cores onto physical cores to lower hop-weighted traffic Σ packets(a, b) ×
//!    hops(a, b) (XY and YX routes are both minimal, so hops = Manhattan distance of the tiles): greedy,
//!    then simulated annealing with a seed (same seed → same placement); and the seeded random placement
//!    it is compared with.
//! 5. [`measure`]: the emulator runs the network with a placement over the stimulus and reports its link
//!    statistics (hop-weighted packets, max link load, cycles, energy) and the bits it produced, so a
//!    report compares measured figures, and a caller can assert that placements change no bit.
//! 6. [`file`]: the mapping file (`plasticore-mapping` v1, JSON, `hw-notes/mapping.md`), written
//!    atomically and loaded back into a [`GraphMapping`].
use plasticore_emu::graph::{GraphMapping, GraphNetworkSpec};
use plasticore_emu::{ChipDesc, EmuError};
use thiserror::Error;

pub mod file;
pub mod measure;
pub mod partition;
pub mod place;
pub mod source;
pub mod traffic;

pub use file::{load, save};

/// Everything mapping can reject.
#[derive(Debug, Error)]
pub enum MapError {
    /// A population cannot be placed within a per-core limit, whatever the split.
    #[error("population {population} ({neurons} neurons) does not fit on {chip}: {detail}")]
    DoesNotFit {
        /// Population index.
        population: usize,
        /// Its neurons.
        neurons: usize,
        /// Chip name.
        chip: String,
        /// The limit and the counts ("input axons: 5000 > 4096 per core even with one neuron per core").
        detail: String,
    },
    /// Two placements of the same slices produced different bits (a bug in the emulator: placement must
    /// change only time, traffic and energy).
    #[error("placements disagree on the bits of the run: {0}")]
    BitsDiffer(String),
    /// The emulator refused the network, the chip or a mapping.
    #[error("{0}")]
    Emu(#[from] EmuError),
    /// A network image is malformed.
    #[error("image: {0}")]
    Image(String),
    /// A mapping file is malformed or belongs to another network.
    #[error("mapping file {path}: {what}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        what: String,
    },
    /// Bad options.
    #[error("{0}")]
    Options(String),
}

/// What to optimise and how hard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaceOptions {
    /// Seed of the annealing (and of nothing else).
    pub seed: u64,
    /// Annealing moves (0 = greedy only).
    pub anneal_steps: u64,
}

/// A complete mapping with the figures of its optimisation.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Slices, readout and explicit placement (`GraphMapping::placement` set).
    pub mapping: GraphMapping,
    /// Predicted hop-weighted packets of the greedy placement (the traffic matrix × hops).
    pub greedy_cost: u64,
    /// Predicted hop-weighted packets of the final placement.
    pub cost: u64,
    /// Annealing moves accepted.
    pub accepted: u64,
}

/// Place the cores of `sliced` (a partition, logical order) to lower the hop-weighted traffic `t`: greedy,
/// then `o.anneal_steps` annealing moves seeded by `o.seed`, then the block moved towards tile (0, 0)
/// ([`place::to_origin`]). `progress(done, total)` is called during annealing.
pub fn plan(chip: &ChipDesc, sliced: GraphMapping, t: &traffic::Traffic, o: PlaceOptions, progress: impl FnMut(u64, u64)) -> Result<Plan, MapError> {
    let k = sliced.cores_used();
    if t.cores() != k {
        return Err(MapError::Options(format!("traffic over {} cores for a mapping of {k} cores", t.cores())));
    }
    let topo = place::Topology::new(chip);
    let greedy = place::greedy(&topo, t)?;
    let greedy_cost = place::cost(&topo, t, &greedy);
    let (best, accepted) = place::anneal(&topo, t, greedy, o.seed, o.anneal_steps, progress);
    let best = place::to_origin(&topo, &best);
    let cost = place::cost(&topo, t, &best);
    let mapping = sliced.placed(best);
    Ok(Plan { mapping, greedy_cost, cost, accepted })
}

/// The comparison `plasticore map` prints: the chosen placement against a seeded random one, both measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// The chosen mapping and its optimisation figures.
    pub plan: Plan,
    /// The traffic matrix the placement was optimised for.
    pub traffic: traffic::Traffic,
    /// The random placement (physical core of each logical core) and its predicted hop-weighted packets.
    pub random_placement: Vec<usize>,
    /// Predicted hop-weighted packets of the random placement.
    pub random_cost: u64,
    /// Measured with the chosen placement.
    pub chosen: measure::Measured,
    /// Measured with the random placement.
    pub random: measure::Measured,
    /// Per-core usage of the chosen mapping (then the readout's core, when separate).
    pub usage: Vec<plasticore_emu::mapping::CoreUsage>,
}

/// The whole of `plasticore map`: partition (`cap` neurons per core at most), profile the traffic over
/// `stim`, place (greedy + annealing), then run the chosen and a random placement (seeded by `o.seed`)
/// over `measure_stim`, check that their bits are equal and, when `measure_stim` is `stim`, that the
/// measured hop-weighted packets are the predicted ones, and return both sets of figures. `progress(stage, done, total)` reports the
/// annealing moves and the measurement runs' steps.
pub fn map_and_measure(
    chip: &ChipDesc,
    spec: &GraphNetworkSpec,
    stim: plasticore_core::image::Stimulus,
    measure_stim: plasticore_core::image::Stimulus,
    cap: Option<usize>,
    o: PlaceOptions,
    mut progress: impl FnMut(&str, u64, u64),
) -> Result<Report, MapError> {
    let sliced = partition::partition(chip, spec, cap)?;
    let (steps, msteps) = (stim.steps as u64, measure_stim.steps as u64);
    let (traffic, _profile) = traffic::Traffic::profile(chip, spec, &sliced, stim, &mut measure::Steps(|d| progress("profiling the traffic", d, steps)))?;
    let plan = plan(chip, sliced.clone(), &traffic, o, |d, n| progress("annealing", d, n))?;
    let topo = place::Topology::new(chip);
    let random_placement = place::random(&topo, sliced.cores_used(), o.seed)?;
    let random_cost = place::cost(&topo, &traffic, &random_placement);
    let chosen = measure::run(chip, spec, &plan.mapping, measure_stim, &mut measure::Steps(|d| progress("measuring the chosen placement", d, msteps)))?;
    let random = measure::run(chip, spec, &sliced.placed(random_placement.clone()), measure_stim, &mut measure::Steps(|d| progress("measuring the random placement", d, msteps)))?;
    if chosen.bits != random.bits {
        return Err(MapError::BitsDiffer(format!("chosen {:?} vs random {:?} (run summaries)", chosen.bits.summary, random.bits.summary)));
    }
    for (name, m, pred) in [("chosen", &chosen, plan.cost), ("random", &random, random_cost)] {
        if measure_stim == stim && m.hop_packets != pred {
            return Err(MapError::Options(format!(
                "{name} placement: measured {} hop-weighted packets, the profile predicts {pred} (a bug: the traffic should not depend on the placement)",
                m.hop_packets
            )));
        }
    }
    let lay = spec.validate()?;
    let (usage, _) = plasticore_emu::graph::mapping::check(chip, spec, &lay, &plan.mapping)?;
    Ok(Report { plan, traffic, random_placement, random_cost, chosen, random, usage })
}

/// The network's fingerprint in a mapping file: population sizes and the projection list, so a mapping
/// is not loaded against another network by mistake.
pub fn shape(spec: &GraphNetworkSpec) -> (Vec<usize>, usize) {
    (spec.config.populations.iter().map(|p| p.neurons as usize).collect(), spec.config.projections.len())
}
