//! The seeded stimulus loop of [`crate::image::Runner`] over a graph: the same input draws, targets and
//! trajectory hash as version 1, so a version-1 image run as a one-population graph gives the
//! [`RunSummary`] of `Runner::run` on a `Net` bit for bit (`tests/graph_image.rs`).
//!
//! Per step: [`Runner::draw`] (every external input spikes with probability `rate / 2³²`; the target from
//! the stimulus' rule), [`GraphMut::step`] in [`GraphUpdate::Online`] with no external λ (populations
//! whose λ source is `External` do not learn; if every population's is, no target is given, as version
//! 1 does for `Feedback::External`), then [`Runner::record`] with the spikes of every population and the
//! loss.

use super::{GraphMut, GraphUpdate, LambdaSource};
use crate::error::{ConfigError, Field};
use crate::image::{RunSummary, Runner, StepTarget};
use crate::format::WeightStore;
use crate::net::StepReport;
use crate::readout::{Feedback, Target};

/// Run one step of `g` driven by `run`. `input` is scratch of at least the graph's `inputs` entries,
/// `values` of exactly its readout outputs. Fails only on wrong scratch lengths.
pub fn step_graph<W: WeightStore>(run: &mut Runner, g: &mut GraphMut<'_, W>, input: &mut [u16], values: &mut [i32]) -> Result<StepReport, ConfigError> {
    let cfg = g.config();
    let ext = cfg.inputs as usize;
    let outputs = cfg.readout.outputs as usize;
    if input.len() < ext {
        return Err(ConfigError::SizeMismatch { field: Field::Buffer, expected: ext, found: input.len() });
    }
    if values.len() != outputs {
        return Err(ConfigError::SizeMismatch { field: Field::Buffer, expected: outputs, found: values.len() });
    }
    let all_external = cfg.populations.iter().all(|p| p.lambda == LambdaSource::External);
    let feedback = if all_external { Feedback::External } else { Feedback::Symmetric };
    let loss = cfg.readout.config.loss;
    let (n, t) = run.draw(ext, loss, feedback, input, values);
    let target = match t {
        StepTarget::None => Target::None,
        StepTarget::Values => Target::Values(values),
        StepTarget::Class(c) => Target::Class(c),
    };
    let rep = g.step(run.timestep(), input.get(..n).unwrap_or(&[]), target, &[], GraphUpdate::Online)?;
    run.record(rep.ops.spikes, rep.loss_q16);
    Ok(rep)
}

/// Run the remaining steps of `run`'s stimulus on `g` (scratch as [`step_graph`]).
pub fn run_graph<W: WeightStore>(run: &mut Runner, g: &mut GraphMut<'_, W>, input: &mut [u16], values: &mut [i32]) -> Result<RunSummary, ConfigError> {
    while run.timestep().0 < run.stimulus().steps {
        step_graph(run, g, input, values)?;
    }
    Ok(graph_summary(run, g))
}

/// The run's summary with `g`'s checksum ([`GraphMut::checksum`]) and the saturations of every population
/// and the readout.
pub fn graph_summary<W: WeightStore>(run: &Runner, g: &GraphMut<'_, W>) -> RunSummary {
    let mut sat = g.readout_saturations().total();
    for p in 0..g.layout().populations {
        sat = sat.saturating_add(g.saturations(p).map_or(0, |s| s.total()));
    }
    RunSummary { checksum: g.checksum(), saturations: sat.min(u32::MAX as u64) as u32, ..run.partial_summary() }
}
