//! Where the network to map comes from: a network image (graph format version 2, or version 1 read as
//! a one-population graph; `hw-notes/image-format.md`) or the main job's 40 → 64 → 2 network.
use super::MapError;
use plasticore_core::graph::image::{GraphImage, PooledStorage, PopWeights as ImgWeights};
use plasticore_core::format::Weight;
use plasticore_core::image::{Stimulus, TargetRule};
use plasticore_emu::graph::{GraphNetworkSpec, PopWeights};
use plasticore_emu::SparseWeights;

/// The stimulus used when a network brings none: 10 % of the inputs spike at each step (rate 0.1 · 2³²),
/// the group-activity target, amplitude 1.0 in Q.16.
pub fn default_stimulus(seed: u32, steps: u32) -> Stimulus {
    Stimulus { seed, rate: 429_496_730, steps, target: TargetRule::GroupActivity, amplitude: 1 << 16 }
}

/// A network image → the graph to place and its stimulus (if the image has one). The image is fully
/// validated first (`GraphImage::load_pooled`: configuration, weight ranges, compressed rows), so a bad
/// image is an error, never a panic. Learning epoch: online (the `Runner` loop's update mode).
pub fn from_image(bytes: &[u8]) -> Result<(GraphNetworkSpec, Option<Stimulus>), MapError> {
    let e = |x: plasticore_core::image::ImageError| MapError::Image(x.to_string());
    let img = GraphImage::parse(bytes).map_err(e)?;
    let d = img.desc().map_err(e)?;
    // Full validation through the core's loader before anything is read for the chip.
    let z = img.pooled_sizes(&d).map_err(e)?;
    let (mut w, mut rs, mut cs, mut ro) = (vec![Weight(0); z.weights], vec![0u32; z.row_start], vec![0u16; z.cols], vec![Weight(0); z.readout]);
    let mut bias = vec![0i32; z.bias];
    let loaded = img
        .load_pooled(PooledStorage { weights: &mut w, row_start: &mut rs, cols: &mut cs, readout: &mut ro, bias: &mut bias })
        .map_err(e)?;
    let mut weights = Vec::with_capacity(d.populations.len());
    for p in 0..d.populations.len() {
        weights.push(match img.population_weights(&d, p).map_err(e)? {
            ImgWeights::Dense(ws) => PopWeights::Dense(ws.collect()),
            ImgWeights::Compressed(c) => PopWeights::Sparse(SparseWeights {
                row_start: c.row_start().collect(),
                cols: c.cols().collect(),
                weights: c.weights().collect(),
            }),
        });
    }
    let spec = GraphNetworkSpec { config: loaded.config, weights, readout_weights: ro, learn_epoch: 0 };
    spec.validate()?;
    Ok((spec, img.stimulus().map_err(e)?))
}

/// The main job's network (`plasticore demo`: 40 inputs → 64 recurrent LIF → 2 cross-entropy outputs,
/// seed 7, as `demo`) as a one-population graph.
pub fn main_job() -> Result<GraphNetworkSpec, MapError> {
    let net = crate::mainjob::fixed_network(7).map_err(|e| MapError::Options(format!("main job network: {e}")))?;
    Ok(GraphNetworkSpec::from_network(&net)?)
}
