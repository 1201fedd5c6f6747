//! Where the network to map comes from: a network image (graph format version 2, or version 1 read as
//! a one-population graph; `hw-notes/image-format.md`) or the main job's 40 → 64 → 2 network.
use super::MapError;
use plasticore_core::image::{Stimulus, TargetRule};
use plasticore_emu::graph::GraphNetworkSpec;

/// The stimulus used when a network brings none: 10 % of the inputs spike at each step (rate 0.1 · 2³²),
/// the group-activity target, amplitude 1.0 in Q.16.
pub fn default_stimulus(seed: u32, steps: u32) -> Stimulus {
    Stimulus { seed, rate: 429_496_730, steps, target: TargetRule::GroupActivity, amplitude: 1 << 16 }
}

/// A network image → the graph to place and its stimulus (if the image has one). The image is fully
/// validated first (`GraphImage::load_pooled`: configuration, weight ranges, compressed rows), so a bad
/// image is an error, never a panic. Learning epoch: online (the `Runner` loop's update mode).
pub fn from_image(bytes: &[u8]) -> Result<(GraphNetworkSpec, Option<Stimulus>), MapError> {
    // The emulator's loader (`plasticore_emu::graph::image_run::spec_from_image`): weights, compressed
    // rows and per-population biases, learning epoch 1 (online).
    plasticore_emu::graph::image_run::spec_from_image(bytes).map_err(|e| MapError::Image(e.to_string()))
}

/// The main job's network (`plasticore demo`: 40 inputs → 64 recurrent LIF → 2 cross-entropy outputs,
/// seed 7, as `demo`) as a one-population graph.
pub fn main_job() -> Result<GraphNetworkSpec, MapError> {
    let net = crate::mainjob::fixed_network(7).map_err(|e| MapError::Options(format!("main job network: {e}")))?;
    Ok(GraphNetworkSpec::from_network(&net)?)
}
