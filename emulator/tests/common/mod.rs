//! Helpers shared by the emulator's integration tests: random networks and a direct single-core
//! reference that steps one `LayerMut` (+ `ReadoutMut`) over the whole network with the phase order of
//! `plasticore_core::net::Net::step`.
#![allow(dead_code)]

use fixed::types::I32F32;
use plasticore_core::layer::{Csr, LayerConfig, LayerMut, LearningRate, Signal};
use plasticore_core::prelude::*;
use plasticore_core::readout::ReadoutMut;
use plasticore_emu::storage::{LayerStore, ReadoutStore};
use plasticore_core::rng::XorShift32;
use plasticore_emu::network::{NetworkSpec, ReadoutSpec};

pub fn fx(x: f64) -> I32F32 {
    I32F32::from_num(x)
}

/// A LIF layer config.
pub fn lif_layer(expon: bool, hard: bool, seed: u32) -> LayerConfig {
    let fmt = Formats::DEFAULT;
    let syn = if expon {
        Synapse::Expon {
            decay: fmt.decay(fx(0.8), Field::Decay).unwrap(),
            gain: fmt.decay(fx(0.3), Field::Gain).unwrap(),
        }
    } else {
        Synapse::Delta
    };
    let lif = Lif::new(
        LifParams {
            decay: fmt.decay(fx(0.9), Field::Decay).unwrap(),
            threshold: fmt.voltage(fx(1.0), Field::Threshold).unwrap(),
            reset: if hard { Reset::Hard } else { Reset::Soft },
            detach_reset: false,
            synapse: syn,
            surrogate: SurrogateParams::paper(&fmt),
        },
        &fmt,
    )
    .unwrap();
    LayerConfig {
        formats: fmt,
        neuron: NeuronKind::Lif(lif),
        presyn: PresynKind::None,
        trace_decay: fmt.decay(fx(0.6), Field::Decay).unwrap(),
        learning_rate: LearningRate { mant: 1, shift: 2 },
        seed,
    }
}

pub fn readout_config(seed: u32) -> ReadoutConfig {
    let fmt = Formats::DEFAULT;
    ReadoutConfig {
        formats: fmt,
        decay: fmt.decay(fx(0.8), Field::Decay).unwrap(),
        loss: Loss::Mse,
        learning_rate: LearningRate { mant: 1, shift: 3 },
        seed,
    }
}

/// Random network: `ext` inputs, `n` neurons, recurrent, optional readout of `o` units.
#[allow(clippy::too_many_arguments)]
pub fn random_net(seed: u32, ext: usize, n: usize, o: Option<usize>, learn: bool, expon: bool, hard: bool, density: u32) -> NetworkSpec {
    let mut g = XorShift32::new(seed);
    let layer = lif_layer(expon, hard, seed ^ 77);
    let axons = ext + n;
    let wmax = layer.formats.weight_max();
    let weights = (0..axons * n)
        .map(|_| {
            if g.next_u32() % 100 < density {
                Weight(((g.next_u32() % (2 * wmax as u32 + 1)) as i32 - wmax) as i16)
            } else {
                Weight(0)
            }
        })
        .collect();
    let readout = o.map(|o| ReadoutSpec {
        config: readout_config(seed ^ 99),
        outputs: o,
        weights: (0..n * o).map(|_| Weight(((g.next_u32() % 61) as i32 - 30) as i16)).collect(),
    });
    NetworkSpec {
        layer,
        inputs: ext,
        neurons: n,
        recurrent: true,
        weights,
        csr: None,
        sparse: false,
        feedback: if readout.is_some() { Feedback::Symmetric } else { Feedback::External },
        readout,
        window: LossWindow { start: 2, end: u32::MAX },
        learn,
        learn_epoch: 1,
    }
}

/// Inputs for `steps` steps (each axon spikes with probability `pct` %).
pub fn random_inputs(seed: u32, ext: usize, steps: usize, pct: u32) -> Vec<Vec<u16>> {
    let mut g = XorShift32::new(seed ^ 0xABCD);
    (0..steps).map(|_| (0..ext as u16).filter(|_| g.next_u32() % 100 < pct).collect()).collect()
}

/// Targets (Q.16) for `o` outputs.
pub fn random_targets(seed: u32, o: usize, steps: usize) -> Vec<Vec<i32>> {
    let mut g = XorShift32::new(seed ^ 0x1234);
    (0..steps).map(|_| (0..o).map(|_| (g.next_u32() % 65536) as i32 - 16384).collect()).collect()
}

/// The direct single-core reference: one `LayerMut` over the whole layer (+ one `ReadoutMut`), stepped
/// in `Net::step`'s order.
pub struct Reference {
    pub spec: NetworkSpec,
    /// Weights: dense `axons × neurons`, or the non-zero ones in compressed rows when `spec.sparse`.
    pub l: LayerStore,
    pub row_start: Vec<u32>,
    pub cols: Vec<u16>,
    pub prev: Vec<u16>,
    pub spikes: Vec<u16>,
    pub ro: ReadoutStore,
}

impl Reference {
    pub fn new(spec: &NetworkSpec) -> Self {
        let axons = spec.axons();
        let n = spec.neurons;
        let s = spec.layer.neuron.states();
        let o = spec.readout.as_ref().map(|r| r.outputs).unwrap_or(0);
        let (mut weights, mut row_start, mut cols) = (Vec::new(), vec![0u32], Vec::new());
        if spec.sparse {
            for a in 0..axons {
                for j in 0..n {
                    let w = spec.weights[a * n + j];
                    if w.0 != 0 {
                        weights.push(w);
                        cols.push(j as u16);
                    }
                }
                row_start.push(weights.len() as u32);
            }
        } else {
            weights = spec.weights.clone();
        }
        let mut r = Reference {
            spec: spec.clone(),
            l: LayerStore::new(weights, axons, n, s),
            row_start,
            cols,
            prev: Vec::new(),
            spikes: vec![0; n],
            ro: ReadoutStore::new(spec.readout.as_ref().map(|r| r.weights.clone()).unwrap_or_default(), n, o),
        };
        r.layer_split().0.reset_state();
        r
    }

    fn layer_split(&mut self) -> (LayerMut<'_>, Option<ReadoutMut<'_>>) {
        let axons = self.spec.axons();
        let n = self.spec.neurons;
        let b = self.l.buffers();
        let l = if self.spec.sparse {
            let csr = Csr { row_start: &self.row_start, cols: &self.cols };
            LayerMut::new_sparse(&self.spec.layer, b, csr, axons, n, 0).unwrap()
        } else {
            LayerMut::new(&self.spec.layer, b, axons, n, 0).unwrap()
        };
        let r = self.spec.readout.as_ref().map(|ro| {
            ReadoutMut::new(&ro.config, self.ro.buffers(), n, ro.outputs).unwrap()
        });
        (l, r)
    }

    /// One step; returns the spikes (global, ascending) and the loss.
    pub fn step(&mut self, t: u32, input: &[u16], target: Target<'_>) -> (Vec<u16>, Option<i64>) {
        let n_ext = self.spec.inputs;
        let axons = self.spec.axons();
        let mut active: Vec<u16> = Vec::new();
        for &a in input {
            if (a as usize) < n_ext && active.len() < axons {
                active.push(a);
            }
        }
        for &j in &self.prev {
            if active.len() < axons {
                active.push((n_ext + j as usize) as u16);
            }
        }
        let learn = self.spec.learn;
        let window = self.spec.window;
        let feedback = self.spec.feedback;
        let n = self.spec.neurons;
        let mut spikes = std::mem::take(&mut self.spikes);
        let (sp, loss) = {
        let (mut l, mut r) = self.layer_split();
        l.integrate(&active, learn);
        let (_, listed) = l.fire(learn, &mut spikes);
        let sp: Vec<u16> = spikes[..listed].to_vec();
        let in_window = window.contains(Timestep(t));
        let target = if in_window { target } else { Target::None };
        let mut loss = None;
        let mut fb = vec![0i32; n];
        if let Some(r) = r.as_mut() {
            r.integrate(&sp, learn);
            loss = r.error(target);
        }
        if learn && in_window {
            let sig = match (feedback, target) {
                (Feedback::External, Target::Lambda(lam)) => Some(Signal::Lambda(lam)),
                (Feedback::External, _) => None,
                (kind, _) if loss.is_some() => {
                    if let Some(r) = r.as_ref() {
                        r.feedback(kind, 0, &mut fb);
                    }
                    Some(Signal::Feedback(&fb))
                }
                _ => None,
            };
            if let Some(s) = sig {
                l.learn(s);
            }
            if loss.is_some() {
                if let Some(r) = r.as_mut() {
                    r.learn();
                }
            }
        }
        (sp, loss)
        };
        self.spikes = spikes;
        self.prev = sp.clone();
        (sp, loss)
    }
}

impl Reference {
    /// The weights as a dense matrix (zeros where a sparse layer has no synapse).
    pub fn dense_weights(&self) -> Vec<Weight> {
        if !self.spec.sparse {
            return self.l.weights.clone();
        }
        let n = self.spec.neurons;
        let mut w = vec![Weight(0); self.spec.axons() * n];
        for a in 0..self.spec.axons() {
            for k in self.row_start[a] as usize..self.row_start[a + 1] as usize {
                w[a * n + self.cols[k] as usize] = self.l.weights[k];
            }
        }
        w
    }
}

/// Assert the emulator's state equals the reference's, bit for bit.
pub fn assert_same(emu: &plasticore_emu::Emulator, r: &Reference, ctx: &str) {
    assert_eq!(emu.hidden_weights(), r.dense_weights(), "{ctx}: weights");
    assert_eq!(emu.hidden_state(), r.l.state, "{ctx}: neuron state");
    assert_eq!(emu.hidden_etrace(), r.l.etrace, "{ctx}: etrace");
    for (i, c) in emu.cores().iter().enumerate() {
        assert_eq!(c.xtrace(), &r.l.xtrace[..], "{ctx}: xtrace on core {i}");
        assert_eq!(c.scalars().updates, r.l.scalars.updates, "{ctx}: update counter on core {i}");
    }
    if let Some(ro) = emu.readout() {
        assert_eq!(ro.weights(), &r.ro.weights[..], "{ctx}: readout weights");
        assert_eq!(ro.outputs(), &r.ro.r[..], "{ctx}: readout outputs");
        assert_eq!(ro.otrace(), &r.ro.otrace[..], "{ctx}: readout traces");
    }
}

/// Checks every step's latency against what the observer sees, independently of how `emu.rs` adds it
/// up (slowest core + drain + barrier): the report's latency must be the later of the last phase end of
/// any core (`StepView::cores`) and the last packet arrival (`StepView::deliveries`), plus the barrier of
/// the tiles from tile 0 to the last core in use, from the chip's cost table (`barrier_cycles`). It
/// also checks that the slowest core is the last phase end. Panics naming the step on a mismatch.
pub struct LatencyCheck {
    pub cost: plasticore_emu::chip::CostModel,
    /// Physical core = logical core × stride.
    pub stride: usize,
    pub steps: u64,
    /// Steps whose last packet arrived after the last phase (a non-zero drain was checked).
    pub drained: u64,
}

impl LatencyCheck {
    pub fn new(chip: &plasticore_emu::ChipDesc, stride: usize) -> Self {
        LatencyCheck { cost: chip.cost, stride: stride.max(1), steps: 0, drained: 0 }
    }
}

impl plasticore_emu::Observer for LatencyCheck {
    fn on_step(&mut self, v: &plasticore_emu::observe::StepView<'_>) {
        let r = v.report;
        let last_phase = v.cores.iter().flat_map(|c| c.phases.iter().map(|p| p.1 .0)).max().unwrap_or(0);
        let last_arrival = v.deliveries.iter().map(|d| d.arrive.0).max().unwrap_or(0);
        let last_core = (v.cores.len().max(1) - 1) * self.stride;
        let tiles = last_core / v.mesh.cores_per_tile as usize + 1;
        let want = last_phase.max(last_arrival) + self.cost.barrier_cycles(tiles);
        assert_eq!(r.slowest_core.0, last_phase, "step {}: slowest core vs the last phase any core ends", r.step);
        assert_eq!(r.cycles.0, want, "step {}: latency vs last phase {last_phase}, last arrival {last_arrival}, {tiles} tiles", r.step);
        self.steps += 1;
        if last_arrival > last_phase {
            self.drained += 1;
        }
    }
}
