//! Helpers shared by the core's integration tests (host only; floats are allowed here, never in src/).
#![allow(dead_code)]

use fixed::types::I32F32;
use plasticore_core::layer::{Buffers, Csr, LayerConfig, LayerMut, LayerScalars, LearningRate};
use plasticore_core::prelude::*;

pub fn fx(x: f64) -> I32F32 {
    I32F32::from_num(x)
}

/// Owned, run-time-sized buffers for a LayerMut (what the emulator does too).
pub struct Owned {
    pub weights: Vec<Weight>,
    pub state: Vec<i32>,
    pub etrace: Vec<i32>,
    pub xtrace: Vec<u16>,
    pub presyn: Vec<[i32; 2]>,
    pub efficacy: Vec<i32>,
    pub acc: Vec<i32>,
    pub psi: Vec<i32>,
    pub grad: Vec<i64>,
    pub scalars: LayerScalars,
    pub axons: usize,
    pub n: usize,
}

impl Owned {
    pub fn new(axons: usize, n: usize, s: usize) -> Self {
        Owned {
            weights: vec![Weight(0); axons * n],
            state: vec![0; n * s],
            etrace: vec![0; n * s],
            xtrace: vec![0; axons],
            presyn: vec![[0; 2]; axons],
            efficacy: vec![0; axons],
            acc: vec![0; n],
            psi: vec![0; n],
            grad: vec![0; n],
            scalars: LayerScalars::default(),
            axons,
            n,
        }
    }

    /// Borrow every buffer.
    pub fn buffers(&mut self) -> Buffers<'_> {
        Buffers {
            weights: &mut self.weights,
            state: &mut self.state,
            etrace: &mut self.etrace,
            xtrace: &mut self.xtrace,
            presyn: &mut self.presyn,
            efficacy: &mut self.efficacy,
            acc: &mut self.acc,
            psi: &mut self.psi,
            grad: &mut self.grad,
            scalars: &mut self.scalars,
        }
    }

    pub fn view<'a>(&'a mut self, cfg: &'a LayerConfig) -> LayerMut<'a> {
        let (axons, n) = (self.axons, self.n);
        LayerMut::new(
            cfg,
            self.buffers(),
            axons,
            n,
            0,
        )
        .expect("valid buffers")
    }
}

/// A LIF layer config from float parameters (test convenience), threshold 1.0.
pub fn lif_config(fmt: Formats, decay: f64, synapse: Option<(f64, f64)>, reset: Reset, detach: bool) -> LayerConfig {
    lif_config_th(fmt, decay, synapse, reset, detach, 1.0)
}

/// [`lif_config`] with threshold `th`.
pub fn lif_config_th(fmt: Formats, decay: f64, synapse: Option<(f64, f64)>, reset: Reset, detach: bool, th: f64) -> LayerConfig {
    let syn = match synapse {
        None => Synapse::Delta,
        Some((ds, gain)) => Synapse::Expon {
            decay: fmt.decay(fx(ds), Field::Decay).unwrap(),
            gain: fmt.decay(fx(gain), Field::Gain).unwrap(),
        },
    };
    let lif = Lif::new(
        LifParams {
            decay: fmt.decay(fx(decay), Field::Decay).unwrap(),
            threshold: fmt.voltage(fx(th), Field::Threshold).unwrap(),
            reset,
            detach_reset: detach,
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
        trace_decay: fmt.decay(fx(0.5), Field::Decay).unwrap(),
        learning_rate: LearningRate { mant: 1, shift: 1 },
        seed: 1,
    }
}

/// A sparse (CSR) layer's owned storage: the buffers (one weight per listed synapse) and the structure.
pub struct SparseOwned {
    pub o: Owned,
    pub row_start: Vec<u32>,
    pub cols: Vec<u16>,
}

/// A `LayerMut` over a [`SparseOwned`] (`LayerMut::new_sparse`, validated).
pub fn sparse_view<'a>(n: &'a mut SparseOwned, cfg: &'a LayerConfig) -> LayerMut<'a> {
    let (axons, neurons) = (n.o.axons, n.o.n);
    LayerMut::new_sparse(cfg, n.o.buffers(), Csr { row_start: &n.row_start, cols: &n.cols }, axons, neurons, 0)
        .unwrap()
}
