//! Owned, run-time-sized storage behind core-nostd's borrowed buffers: [`LayerStore`] for a layer (or a
//! core's slice of one, [`Buffers`]) and [`ReadoutStore`] for a readout ([`ReadoutBuffers`]). The
//! emulator's cores own them, and so does the direct reference of the emulator's tests, so the
//! field-by-field borrowing is written once.

use plasticore_core::format::Weight;
use plasticore_core::layer::{Buffers, LayerScalars, Saturations};
use plasticore_core::readout::ReadoutBuffers;

/// The buffers of `axons` × `neurons` with `states` state variables per neuron (lengths as
/// `LayerMut::new` checks them; `weights` as given: dense, compressed rows, or empty when frozen).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayerStore {
    /// Weights (see `Buffers::weights`).
    pub weights: Vec<Weight>,
    /// Neuron states, `neurons × states`.
    pub state: Vec<i32>,
    /// ẽ^f, `neurons × states`.
    pub etrace: Vec<i32>,
    /// ε^x per axon.
    pub xtrace: Vec<u16>,
    /// STD/STP state per axon.
    pub presyn: Vec<[i32; 2]>,
    /// Released efficacy per axon.
    pub efficacy: Vec<i32>,
    /// Dendritic accumulators per neuron.
    pub acc: Vec<i32>,
    /// ψ per neuron.
    pub psi: Vec<i32>,
    /// Gradient factors per neuron (scratch).
    pub grad: Vec<i64>,
    /// Counters and update count.
    pub scalars: LayerScalars,
}

impl LayerStore {
    /// Zeroed buffers around `weights`.
    pub fn new(weights: Vec<Weight>, axons: usize, neurons: usize, states: usize) -> Self {
        LayerStore {
            weights,
            state: vec![0; neurons * states],
            etrace: vec![0; neurons * states],
            xtrace: vec![0; axons],
            presyn: vec![[0; 2]; axons],
            efficacy: vec![0; axons],
            acc: vec![0; neurons],
            psi: vec![0; neurons],
            grad: vec![0; neurons],
            scalars: LayerScalars::default(),
        }
    }

    /// Borrow every buffer, for `LayerMut::new` and its siblings.
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
}

/// The buffers of a readout of `outputs` units over `inputs` hidden neurons.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadoutStore {
    /// V, `inputs × outputs`.
    pub weights: Vec<Weight>,
    /// r_k.
    pub r: Vec<i32>,
    /// ε^o per input.
    pub otrace: Vec<u16>,
    /// Error per output.
    pub err: Vec<i32>,
    /// Gradient factors per output (scratch).
    pub grad: Vec<i64>,
    /// Counters.
    pub sat: Saturations,
    /// Learning steps so far.
    pub updates: u32,
}

impl ReadoutStore {
    /// Zeroed buffers around `weights`.
    pub fn new(weights: Vec<Weight>, inputs: usize, outputs: usize) -> Self {
        ReadoutStore {
            weights,
            r: vec![0; outputs],
            otrace: vec![0; inputs],
            err: vec![0; outputs],
            grad: vec![0; outputs],
            sat: Saturations::default(),
            updates: 0,
        }
    }

    /// Borrow every buffer, for `ReadoutMut::new`.
    pub fn buffers(&mut self) -> ReadoutBuffers<'_> {
        ReadoutBuffers {
            weights: &mut self.weights,
            r: &mut self.r,
            otrace: &mut self.otrace,
            err: &mut self.err,
            grad: &mut self.grad,
            sat: &mut self.sat,
            updates: &mut self.updates,
        }
    }
}
