//! A graph image (version 2, or version 1 read as a one-population graph) held in owned vectors: read,
//! turned into the emulator's `GraphNetworkSpec`, written back with learnt weights (atomically). Per-neuron
//! thresholds and decays (`ParamMode::PerNeuron`, the NEURON_PARAMS section) are carried: read, handed to
//! the chip as `GraphNetworkSpec::params` and to the core through the re-encoded image, written back.
use crate::cli::image::graph::OwnedWeights;
use anyhow::{anyhow, ensure, Result};
use plasticore_core::format::Weight;
use plasticore_core::graph::image::{self as gimage, GraphDesc, GraphImage, PopWeights, PopWeightsIn};
use plasticore_core::graph::{BiasMode, GraphConfig};
use plasticore_core::image::Stimulus;
use plasticore_core::neuron::{NeuronParams, ParamSlot};
use plasticore_emu::graph::{GraphNetworkSpec, PopWeights as EmuWeights};
use plasticore_emu::network::SparseWeights;
use std::path::Path;

/// An image's network, owned.
pub struct NetImage {
    /// Description.
    pub desc: GraphDesc,
    /// Weights per population, in its axon layout.
    pub weights: Vec<OwnedWeights>,
    /// Biases per population (empty for a population without).
    pub biases: Vec<Vec<i32>>,
    /// Per-neuron threshold and decays per population (empty for a `ParamMode::Shared` one).
    pub params: Vec<Vec<NeuronParams>>,
    /// Readout weights.
    pub readout: Vec<Weight>,
    /// The image's stimulus section, kept when written back.
    pub stimulus: Option<Stimulus>,
}

fn e<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> anyhow::Error + '_ {
    move |err| anyhow!("image {}: {err}", path.display())
}

impl NetImage {
    /// Read and validate an image file (every check of `GraphImage` and the core's constructors).
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(e(path))?;
        let img = GraphImage::parse(&bytes).map_err(e(path))?;
        let desc = img.desc().map_err(e(path))?;
        desc.config().map_err(e(path))?;
        let mut weights = Vec::new();
        let mut biases = Vec::new();
        let mut params = Vec::new();
        for p in 0..desc.populations.len() {
            weights.push(match img.population_weights(&desc, p).map_err(e(path))? {
                PopWeights::Dense(w) => OwnedWeights::Dense(w.collect()),
                PopWeights::Compressed(c) => OwnedWeights::Csr(c.row_start().collect(), c.cols().collect(), c.weights().collect()),
            });
            biases.push(if desc.populations[p].bias == BiasMode::None { Vec::new() } else { img.population_bias(&desc, p).map_err(e(path))?.collect() });
            params.push(img.population_params(&desc, p).map_err(e(path))?.collect::<Vec<_>>());
        }
        let readout = img.readout_weights(&desc).map_err(e(path))?.collect();
        let stimulus = img.stimulus().map_err(e(path))?;
        let me = NetImage { desc, weights, biases, params, readout, stimulus };
        me.encode().map_err(|err| anyhow!("image {}: {err}", path.display()))?; // full validation (ranges, rows)
        Ok(me)
    }

    /// The validated graph configuration.
    pub fn config(&self) -> Result<GraphConfig> {
        self.desc.config().map_err(|e| anyhow!("{e}"))
    }

    /// The image bytes (validated by the encoder: an invalid network is never written).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let ins: Vec<PopWeightsIn<'_>> = self.weights.iter().map(OwnedWeights::as_in).collect();
        let any_bias = self.biases.iter().any(|b| !b.is_empty());
        let bs: Vec<&[i32]> = if any_bias { self.biases.iter().map(|b| &b[..]).collect() } else { Vec::new() };
        let ps: Vec<&[NeuronParams]> = if self.params.iter().any(|p| !p.is_empty()) { self.params.iter().map(|p| &p[..]).collect() } else { Vec::new() };
        let mut buf = vec![0u8; gimage::encoded_len(&self.desc, &ins, self.stimulus.is_some())];
        let n = gimage::encode_with_params(&self.desc, &ins, &bs, &ps, &self.readout, self.stimulus.as_ref(), &mut buf).map_err(|e| anyhow!("{e}"))?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Write the image atomically.
    pub fn write(&self, path: &Path) -> Result<usize> {
        let b = self.encode()?;
        crate::cli::image::write_atomic(path, &b)?;
        Ok(b.len())
    }

    /// The network as the emulator places it (online learning).
    pub fn spec(&self) -> Result<GraphNetworkSpec> {
        let weights = self
            .weights
            .iter()
            .map(|w| match w {
                OwnedWeights::Dense(w) => EmuWeights::Dense(w.clone()),
                OwnedWeights::Csr(r, c, w) => EmuWeights::Sparse(SparseWeights { row_start: r.clone(), cols: c.clone(), weights: w.clone() }),
            })
            .collect();
        let bias = if self.biases.iter().any(|b| !b.is_empty()) { self.biases.clone() } else { Vec::new() };
        let config = self.config()?;
        // one validated slot per neuron of a per-neuron population (the core's `ParamSlot::new`, as the
        // image loader builds them for the core backend)
        let params = if self.params.iter().any(|p| !p.is_empty()) {
            self.params
                .iter()
                .zip(&config.populations)
                .enumerate()
                .map(|(p, (v, pop))| v.iter().map(|&x| ParamSlot::new(&pop.layer, x).map_err(|e| anyhow!("population {p}: {e}"))).collect::<Result<Vec<_>>>())
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        Ok(GraphNetworkSpec { config, weights, readout_weights: self.readout.clone(), bias, params, learn_epoch: 0 })
    }

    /// Replace population `p`'s weights by `w` (dense: axons × neurons; compressed: the stored synapses in
    /// row order, the topology kept).
    pub fn set_weights(&mut self, p: usize, w: Vec<Weight>) -> Result<()> {
        let slot = self.weights.get_mut(p).ok_or_else(|| anyhow!("no population {p}"))?;
        match slot {
            OwnedWeights::Dense(d) => {
                ensure!(d.len() == w.len(), "population {p}: {} weights, expected {}", w.len(), d.len());
                *d = w;
            }
            OwnedWeights::Csr(_, _, d) => {
                ensure!(d.len() == w.len(), "population {p}: {} synapses, expected {}", w.len(), d.len());
                *d = w;
            }
        }
        Ok(())
    }

    /// Float value of one mantissa LSB on every axon of population `p`, in its axon layout: 2^(s −
    /// weight_frac) with s the weight shift of the axon's projection (`graph::Projection::shift`).
    pub fn axon_lsbs(&self, p: usize) -> Result<Vec<f64>> {
        let cfg = self.config()?;
        // Block offsets do not depend on the storage, so the dense layout gives them for every population.
        let lay = cfg.layout(&[]).map_err(|e| anyhow!("{e}"))?;
        let l = lay.pops.get(p).filter(|_| p < lay.populations).ok_or_else(|| anyhow!("no population {p}"))?;
        let mut out = vec![self.weight_lsb(Some(p)); l.axons];
        for (q, pr) in cfg.projections.iter().enumerate() {
            if pr.target as usize == p {
                let start = lay.block[q];
                for v in out.iter_mut().skip(start).take(cfg.source_width(pr.source)) {
                    *v *= 2f64.powi(pr.shift as i32);
                }
            }
        }
        Ok(out)
    }

    /// Float value of a weight mantissa of population `p` (`None`: the readout) on an axon of shift 0
    /// (see [`NetImage::axon_lsbs`]).
    pub fn weight_lsb(&self, p: Option<usize>) -> f64 {
        let f = match p {
            Some(p) => self.desc.populations[p].layer.formats.weight_frac,
            None => self.desc.readout.config.formats.weight_frac,
        };
        2f64.powi(-(f as i32))
    }
}
