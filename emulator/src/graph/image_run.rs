//! Network images (format version 1 or 2, `plasticore_core::graph::image`) on the emulated chip: the
//! image as a [`GraphNetworkSpec`] ([`spec_from_image`]), its seeded stimulus driven through a
//! [`GraphEmulator`] exactly as `plasticore_core::graph::step_graph` drives a `GraphMut`
//! ([`step_image`], [`run_image`]), and the run's summary with the chip's [`GraphEmulator::checksum`]:
//! the `RESULT` line the host and the firmware print, so host = firmware = emulator is one string
//! comparison.

use crate::error::EmuError;
use crate::chip::ChipDesc;
use crate::graph::emu::GraphEmulator;
use crate::graph::mapping::{self, GraphMapping};
use crate::graph::spec::{GraphNetworkSpec, PopWeights};
use crate::network::SparseWeights;
use crate::observe::{Observer, StepReport};
use plasticore_core::checksum::Fnv;
use plasticore_core::format::Weight;
use plasticore_core::graph::image::{GraphImage, PooledStorage};
use plasticore_core::graph::{BiasMode, LambdaSource};
use plasticore_core::image::{RunSummary, Runner, StepTarget, Stimulus};
use plasticore_core::readout::{Feedback, Target};

fn img_err(e: impl std::fmt::Display) -> EmuError {
    EmuError::Network(format!("image: {e}"))
}

/// The network of an image (either version; a version-1 image is a one-population graph) as a graph to
/// place on the chip, with its stimulus if it has one. Everything is validated by
/// `GraphImage::load_pooled` (sections, ranges, the graph's configuration) and then by
/// [`GraphNetworkSpec::validate`]; the learning epoch is online (what `step_graph` runs).
pub fn spec_from_image(bytes: &[u8]) -> Result<(GraphNetworkSpec, Option<Stimulus>), EmuError> {
    let img = GraphImage::parse(bytes).map_err(img_err)?;
    let desc = img.desc().map_err(img_err)?;
    let z = img.pooled_sizes(&desc).map_err(img_err)?;
    let (mut w, mut rs, mut cs, mut ro) = (vec![Weight(0); z.weights], vec![0u32; z.row_start], vec![0u16; z.cols], vec![Weight(0); z.readout]);
    let mut bias = vec![0i32; z.bias];
    let mut params = vec![plasticore_core::neuron::ParamSlot::EMPTY; z.params];
    let loaded = img
        .load_pooled(PooledStorage { weights: &mut w, row_start: &mut rs, cols: &mut cs, readout: &mut ro, bias: &mut bias, params: &mut params })
        .map_err(img_err)?;
    let lay = loaded.layout;
    let np = lay.populations;
    let mut weights = Vec::with_capacity(np);
    let mut biases = Vec::with_capacity(np);
    let mut pparams = Vec::with_capacity(np);
    for p in 0..np {
        let l = lay.pops[p];
        let pw = w.get(l.weight_off..l.weight_off + l.weights).unwrap_or(&[]).to_vec();
        weights.push(match loaded.csr[p] {
            Some((ro_off, rl, co, cl)) => PopWeights::Sparse(SparseWeights {
                row_start: rs.get(ro_off..ro_off + rl).unwrap_or(&[]).to_vec(),
                cols: cs.get(co..co + cl).unwrap_or(&[]).to_vec(),
                weights: pw,
            }),
            None => PopWeights::Dense(pw),
        });
        biases.push(if loaded.config.populations[p].bias == BiasMode::None {
            Vec::new()
        } else {
            bias.get(l.neuron_off..l.neuron_off + l.neurons).unwrap_or(&[]).to_vec()
        });
        pparams.push(if l.params == plasticore_core::graph::ParamMode::Shared {
            Vec::new()
        } else {
            params.get(l.param_off..l.param_off + l.neurons).unwrap_or(&[]).to_vec()
        });
    }
    let pparams = if pparams.iter().all(Vec::is_empty) { Vec::new() } else { pparams };
    let spec = GraphNetworkSpec { config: loaded.config, weights, readout_weights: ro, bias: biases, params: pparams, learn_epoch: 1 };
    spec.validate()?;
    Ok((spec, img.stimulus().map_err(img_err)?))
}

/// The partitioner's mapping of `spec` with every slice of two or more neurons cut in two (so every
/// population of two or more neurons spans several cores and its spikes and learning signals travel
/// between them), one core per tile when the chip has the tiles for it (so packets cross links). The
/// result is checked against every per-core limit when the emulator is built; an error names the
/// population and the limit.
pub fn split_mapping(chip: &ChipDesc, spec: &GraphNetworkSpec) -> Result<GraphMapping, EmuError> {
    let m = mapping::partition(chip, spec)?;
    let lay = spec.validate()?;
    let mut lengths = vec![Vec::new(); lay.populations];
    let mut slices = m.cores.clone();
    slices.sort_by_key(|s| (s.population, s.first));
    for s in slices {
        if s.len >= 2 {
            lengths[s.population].extend([s.len / 2, s.len - s.len / 2]);
        } else {
            lengths[s.population].push(s.len);
        }
    }
    let cores = chip.mesh.cores();
    let m = GraphMapping::from_lengths(&lengths, cores);
    let per_tile = chip.mesh.cores_per_tile as usize;
    Ok(if (m.cores.len() + 1) * per_tile <= cores { m.spread(per_tile) } else { m })
}

/// One step of `emu` driven by `run`, as `plasticore_core::graph::step_graph` drives a `GraphMut`: the
/// Runner's input draw and target (feedback `External` only if every population's λ is), the step with
/// no external λ, then `Runner::record` with every population's spikes and the loss. `input` is scratch
/// of at least the graph's inputs, `values` of exactly its readout outputs.
pub fn step_image(run: &mut Runner, emu: &mut GraphEmulator, input: &mut [u16], values: &mut [i32], obs: &mut dyn Observer) -> Result<StepReport, EmuError> {
    let cfg = &emu.cfg;
    let ext = cfg.inputs as usize;
    let outputs = cfg.readout.outputs as usize;
    if input.len() < ext || values.len() != outputs {
        return Err(EmuError::Network(format!(
            "step_image scratch: {} inputs (≥ {ext} needed), {} values ({outputs} needed)",
            input.len(),
            values.len()
        )));
    }
    let all_external = cfg.populations.iter().all(|p| p.lambda == LambdaSource::External);
    let feedback = if all_external { Feedback::External } else { Feedback::Symmetric };
    let (n, t) = run.draw(ext, cfg.readout.config.loss, feedback, input, values);
    let target = match t {
        StepTarget::None => Target::None,
        StepTarget::Values => Target::Values(values),
        StepTarget::Class(c) => Target::Class(c),
    };
    let rep = emu.step(run.timestep(), input.get(..n).unwrap_or(&[]), target, &[], obs)?;
    run.record(rep.spikes, rep.loss_q16);
    Ok(rep)
}

/// Run the remaining steps of `run`'s stimulus on `emu` and summarise as `graph_summary` does
/// ([`GraphEmulator::summary`]).
pub fn run_image(run: &mut Runner, emu: &mut GraphEmulator, obs: &mut dyn Observer) -> Result<RunSummary, EmuError> {
    let mut input = vec![0u16; emu.cfg.inputs as usize];
    let mut values = vec![0i32; emu.cfg.readout.outputs as usize];
    while run.timestep().0 < run.stimulus().steps {
        step_image(run, emu, &mut input, &mut values, obs)?;
    }
    emu.summary(run)
}

impl GraphEmulator {
    /// `GraphMut::checksum` of the same network state, gathered from the cores: FNV-1a over every
    /// population's weights (dense row-major, or compressed rows in row order: the slices of a row
    /// concatenated in neuron order), states, ẽ^f, ε^x and biases (when it has one), then the readout's
    /// weights, r and ε^o. ε^x of axon a is taken from a core of the population that stores a synapse of
    /// row a (every core that does sees all of the row's spikes, `tests/graph.rs`); a compressed row
    /// with no synapse on any core is kept by no core, and its ε^x is then unknown: an error naming it.
    pub fn checksum(&self) -> Result<u32, EmuError> {
        let mut h = Fnv::new();
        for p in 0..self.lay.populations {
            let l = self.lay.pops[p];
            let cores = &self.pop_cores[p];
            if self.cores[cores[0]].sparse {
                for a in 0..l.axons {
                    for &ci in cores {
                        let c = &self.cores[ci];
                        let (s, e) = (c.row_start[a] as usize, c.row_start[a + 1] as usize);
                        for w in &c.store.weights[s..e] {
                            h.write(&w.0.to_le_bytes());
                        }
                    }
                }
            } else {
                for w in self.dense_weights(p) {
                    h.write(&w.0.to_le_bytes());
                }
            }
            for v in self.gather(p, |c| c.state()).iter().chain(&self.gather(p, |c| c.etrace())) {
                h.write(&v.to_le_bytes());
            }
            for a in 0..l.axons {
                let holder = cores.iter().map(|&ci| &self.cores[ci]).find(|c| c.stored.get(a).copied().unwrap_or(0) > 0);
                let Some(c) = holder else {
                    return Err(EmuError::Network(format!(
                        "population {p}, axon {a}: no core stores a synapse of this row, so the chip keeps no ε^x for it and the checksum is not defined"
                    )));
                };
                h.write(&c.store.xtrace[a].to_le_bytes());
            }
            if l.bias != BiasMode::None {
                for b in self.gather(p, |c| c.bias()) {
                    h.write(&b.to_le_bytes());
                }
            }
        }
        let r = &self.readout.store;
        for w in &r.weights {
            h.write(&w.0.to_le_bytes());
        }
        for v in &r.r {
            h.write(&v.to_le_bytes());
        }
        for t in &r.otrace {
            h.write(&t.to_le_bytes());
        }
        Ok(h.finish())
    }

    /// The run's summary as `plasticore_core::graph::graph_summary` gives it for `GraphMut`: the
    /// Runner's trajectory and sums, [`GraphEmulator::checksum`], and the counters of every population
    /// and the readout (`Saturations::total`; the graph-level dropped events are not in it there, and not
    /// here). A core keeps
    /// the ε^x of its population's rows, so a dense population's ε^x saturations are those of any of its
    /// cores (its first is taken); for a compressed population split over cores the per-row counts are not
    /// kept, and the largest count of its cores is taken (exact when every core stores every row that
    /// saturates, a lower bound otherwise).
    pub fn summary(&self, run: &Runner) -> Result<RunSummary, EmuError> {
        let mut sat = self.readout.store.sat.total();
        for p in 0..self.lay.populations {
            let mut xt = 0u64;
            for (k, &ci) in self.pop_cores[p].iter().enumerate() {
                let s = &self.cores[ci].store.scalars.sat;
                sat = sat.saturating_add(s.state as u64 + s.etrace as u64 + s.weight as u64 + s.grad as u64 + s.dropped_events as u64);
                if k == 0 || self.cores[ci].sparse {
                    xt = xt.max(s.xtrace as u64);
                }
            }
            sat = sat.saturating_add(xt);
        }
        Ok(RunSummary { checksum: self.checksum()?, saturations: sat.min(u32::MAX as u64) as u32, ..run.partial_summary() })
    }
}
