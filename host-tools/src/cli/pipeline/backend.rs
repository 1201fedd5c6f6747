//! The two fixed-point backends of `run` and `compare` behind one trait: the emulated chip
//! (`plasticore_emu::graph::GraphEmulator`, with cycles and energy) and core-nostd's `GraphMut` run
//! directly over heap buffers. Both execute the same core-nostd phases, so for the same image, inputs and
//! targets they give the same bits (`tests/run_backends.rs` checks outputs, spikes and weights).
use super::netimage::NetImage;
use crate::cli::image::graph::OwnedWeights;
use plasticore::graph_heap::HeapGraph;
use anyhow::{anyhow, Result};
use plasticore_core::format::Weight;
use plasticore_core::graph::image::{GraphImage, PooledStorage};
use plasticore_core::graph::{GraphMut, GraphUpdate};
use plasticore_core::layer::Saturations;
use plasticore_core::net::Timestep;
use plasticore_core::readout::{Loss, ReadoutConfig, Target};
use plasticore_emu::graph::GraphEmulator;
use plasticore_emu::observe::{Observer, Stats, StepView};
use plasticore_emu::{ChipDesc, EmuOptions};

/// A fixed-point network that runs sample by sample.
pub trait Backend {
    /// Start a new sample (states, traces, pending spikes cleared; weights and counters kept).
    fn reset(&mut self) -> Result<()>;
    /// One timestep: input spikes and, when learning, the class target.
    fn step(&mut self, t: u32, input: &[u16], target: Option<u16>) -> Result<()>;
    /// The readout's outputs r (Q.state_frac).
    fn outputs(&self) -> Vec<i32>;
    /// Spikes of population `p` in the last step (ascending).
    fn spikes(&self, p: usize) -> Vec<u16>;
    /// Population `p`'s weights in the image's layout (dense, or the stored synapses in row order).
    fn weights(&self, p: usize) -> Vec<Weight>;
    /// Readout weights.
    fn readout_weights(&self) -> Vec<Weight>;
    /// Population `p`'s biases (empty without).
    fn biases(&self, p: usize) -> Vec<i32>;
    /// Chip-effect counters (saturations, dropped events).
    fn saturations(&self) -> Saturations;
    /// Count the following steps as learning (true) or inference (the chip keeps two sets of figures).
    fn set_learning(&mut self, _on: bool) {}
}

/// How a class label becomes the readout's target. Cross-entropy takes the class itself; an MSE readout
/// (what `nir import` gives, NIR carrying no loss) is trained towards the label's one-hot vector: 1.0
/// (2^`signal_frac`, `Target::Values`' format) at the class and 0 at every other output, the usual
/// regression target for classification. Accuracy is the argmax of the outputs either way.
#[derive(Clone, Debug)]
pub struct ClassTargets(Option<Vec<Vec<i32>>>);

impl ClassTargets {
    /// The targets of a readout with `outputs` units trained with `cfg.loss`.
    pub fn new(cfg: &ReadoutConfig, outputs: usize) -> Self {
        let one = 1i32 << cfg.formats.signal_frac.min(30);
        Self((cfg.loss == Loss::Mse).then(|| (0..outputs).map(|c| (0..outputs).map(|k| if k == c { one } else { 0 }).collect()).collect()))
    }

    /// The target of a step with label `label` (`None`: no target). A label without an output is
    /// refused by the callers before a run starts; here it becomes a target the readout rejects.
    pub fn of(&self, label: Option<u16>) -> Target<'_> {
        match (label, &self.0) {
            (None, _) => Target::None,
            (Some(c), None) => Target::Class(c),
            (Some(c), Some(v)) => v.get(c as usize).map_or(Target::Class(c), |t| Target::Values(t)),
        }
    }
}

/// Counts per phase of a run, on top of the emulator's `Stats`.
#[derive(Default, Clone, Debug)]
pub struct Counts {
    /// Cycles, energy, packets, utilisation.
    pub stats: Stats,
    /// Synaptic events.
    pub syn: u64,
    /// Weight updates.
    pub updates: u64,
    /// Spikes (all populations).
    pub spikes: u64,
}

impl Observer for Counts {
    fn on_step(&mut self, v: &StepView<'_>) {
        self.syn += v.report.syn_events;
        self.updates += v.report.ops.weight_updates as u64;
        self.spikes += v.report.spikes as u64;
        self.stats.on_step(v);
    }
}

/// The emulated chip.
pub struct Chip {
    /// The chip.
    pub emu: GraphEmulator,
    /// Figures of the learning passes.
    pub learning: Counts,
    /// Figures of the inference passes.
    pub inference: Counts,
    /// Which of the two the next steps count into.
    pub learning_now: bool,
    topo: Vec<Option<(Vec<u32>, Vec<u16>)>>,
    targets: ClassTargets,
}

impl Chip {
    /// Place `img` on `chip` with the emulator's partitioner, or as the mapping file `mapping` says
    /// (`plasticore map -o`; checked against the chip). 1 thread: results do not depend on it.
    pub fn new(chip: ChipDesc, img: &NetImage, mapping: Option<&std::path::Path>) -> Result<Self> {
        let spec = img.spec()?;
        let opts = EmuOptions { threads: 1, timing: true, strict: false };
        let emu = match mapping {
            None => GraphEmulator::new(chip, spec, opts).map_err(|e| anyhow!("emulator: {e}"))?,
            Some(path) => {
                let m = plasticore::map::file::load_checked(path, &spec, &chip).map_err(|e| anyhow!("{e}"))?;
                GraphEmulator::with_mapping(chip, spec, m, opts).map_err(|e| anyhow!("{}: {e}", path.display()))?
            }
        };
        let topo = img
            .weights
            .iter()
            .map(|w| match w {
                OwnedWeights::Dense(_) => None,
                OwnedWeights::Csr(r, c, _) => Some((r.clone(), c.clone())),
            })
            .collect();
        let targets = ClassTargets::new(&img.desc.readout.config, img.desc.readout.outputs as usize);
        Ok(Chip { emu, learning: Counts::default(), inference: Counts::default(), learning_now: false, topo, targets })
    }
}

impl Backend for Chip {
    fn reset(&mut self) -> Result<()> {
        self.emu.reset_state().map_err(|e| anyhow!("emulator: {e}"))
    }
    fn step(&mut self, t: u32, input: &[u16], target: Option<u16>) -> Result<()> {
        let tg = self.targets.of(target);
        let obs = if self.learning_now { &mut self.learning } else { &mut self.inference };
        self.emu.step(Timestep(t), input, tg, &[], obs).map_err(|e| anyhow!("emulator: {e}"))?;
        Ok(())
    }
    fn outputs(&self) -> Vec<i32> {
        self.emu.readout().outputs().to_vec()
    }
    fn spikes(&self, p: usize) -> Vec<u16> {
        self.emu.spikes(p)
    }
    fn weights(&self, p: usize) -> Vec<Weight> {
        let d = self.emu.dense_weights(p);
        match self.topo.get(p) {
            Some(Some((rs, cs))) => {
                let n = self.emu.layout().pops[p].neurons;
                let mut v = Vec::with_capacity(cs.len());
                for a in 0..rs.len().saturating_sub(1) {
                    for k in rs[a] as usize..rs[a + 1] as usize {
                        v.push(d[a * n + cs[k] as usize]);
                    }
                }
                v
            }
            _ => d,
        }
    }
    fn readout_weights(&self) -> Vec<Weight> {
        self.emu.readout().weights().to_vec()
    }
    fn set_learning(&mut self, on: bool) {
        self.learning_now = on;
    }
    fn biases(&self, p: usize) -> Vec<i32> {
        // Empty for a population without a bias (its cores hold none).
        self.emu.gather(p, |c| c.bias())
    }
    fn saturations(&self) -> Saturations {
        self.emu.saturations()
    }
}

/// core-nostd's `GraphMut` over heap buffers.
pub struct Core<'a> {
    g: GraphMut<'a>,
    targets: ClassTargets,
}

impl Backend for Core<'_> {
    fn reset(&mut self) -> Result<()> {
        self.g.reset_state();
        Ok(())
    }
    fn step(&mut self, t: u32, input: &[u16], target: Option<u16>) -> Result<()> {
        let tg = self.targets.of(target);
        self.g.step(Timestep(t), input, tg, &[], GraphUpdate::Online).map_err(|e| anyhow!("core: {e}"))?;
        Ok(())
    }
    fn outputs(&self) -> Vec<i32> {
        self.g.outputs().to_vec()
    }
    fn spikes(&self, p: usize) -> Vec<u16> {
        self.g.spikes(p).to_vec()
    }
    fn weights(&self, p: usize) -> Vec<Weight> {
        self.g.weights(p).to_vec()
    }
    fn readout_weights(&self) -> Vec<Weight> {
        self.g.readout_weights().to_vec()
    }
    fn biases(&self, p: usize) -> Vec<i32> {
        self.g.bias(p).to_vec()
    }
    fn saturations(&self) -> Saturations {
        let mut s = self.g.readout_saturations();
        for p in 0..self.g.layout().populations {
            if let Some(k) = self.g.saturations(p) {
                s.state += k.state;
                s.xtrace += k.xtrace;
                s.etrace += k.etrace;
                s.weight += k.weight;
                s.grad += k.grad;
                s.dropped_events += k.dropped_events;
            }
        }
        s
    }
}

impl Core<'_> {
    /// One sample in accumulate mode (weights unchanged): the class target on the loss steps; the
    /// hidden populations' accumulated ΔW per population in weight units (`acc · 2⁻¹⁶ · 2^−weight_frac`,
    /// the accumulator's LSB), in each population's axon layout.
    pub fn accumulate(&mut self, steps: &[Vec<u16>], loss: &[bool], label: u16) -> Result<Vec<Vec<f64>>> {
        let lay = *self.g.layout();
        let mut acc = vec![0i32; lay.accumulator];
        self.g.reset_state();
        for (t, (input, &l)) in steps.iter().zip(loss).enumerate() {
            let tg = self.targets.of(l.then_some(label));
            self.g.step(Timestep(t as u32), input, tg, &[], GraphUpdate::Accumulate(&mut acc)).map_err(|e| anyhow!("core: {e}"))?;
        }
        let cfg = self.g.config();
        Ok((0..lay.populations)
            .map(|p| {
                let pl = lay.pops[p];
                let scale = 2f64.powi(-16 - cfg.populations[p].layer.formats.weight_frac as i32);
                acc[pl.acc_off..pl.acc_off + pl.weights].iter().map(|&a| a as f64 * scale).collect()
            })
            .collect())
    }
}

/// Build core-nostd's graph of `img` on the heap and hand it to `f` (the buffers live for the call).
pub fn with_core<R>(img: &NetImage, f: impl FnOnce(&mut Core<'_>) -> Result<R>) -> Result<R> {
    let bytes = img.encode()?;
    let gi = GraphImage::parse(&bytes).map_err(|e| anyhow!("{e}"))?;
    let d = gi.desc().map_err(|e| anyhow!("{e}"))?;
    let z = gi.pooled_sizes(&d).map_err(|e| anyhow!("{e}"))?;
    let (mut w, mut rs, mut cs, mut ro) = (vec![Weight(0); z.weights], vec![0u32; z.row_start], vec![0u16; z.cols], vec![Weight(0); z.readout]);
    let mut bias = vec![0i32; z.bias];
    let mut params = vec![plasticore_core::neuron::ParamSlot::EMPTY; z.params];
    let l = gi
        .load_pooled(PooledStorage { weights: &mut w, row_start: &mut rs, cols: &mut cs, readout: &mut ro, bias: &mut bias, params: &mut params })
        .map_err(|e| anyhow!("{e}"))?;
    let np = l.desc.populations.len();
    let topo = l.topology(&rs, &cs);
    let mut pool = HeapGraph::new(&l.config, &topo[..np], w, ro, bias, params).map_err(|e| anyhow!("{e}"))?;
    let g = pool.view(&l.config, &topo[..np]).map_err(|e| anyhow!("{e}"))?;
    let targets = ClassTargets::new(&img.desc.readout.config, img.desc.readout.outputs as usize);
    f(&mut Core { g, targets })
}
