//! Input-side (AlignPre) short-term plasticity: one state per presynaptic axon that scales the spike
//! into a released efficacy x_i ∈ [0, 1] before it multiplies W (`es-d-rtrl.md` §1.5, §1.7). Because the
//! state lives in presynaptic space, the neuron's hidden group (and its Jacobian) is unchanged; the
//! filtered release enters learning through ε^x.
//!
//! # Contract of a [`Presyn`] variant
//! * State: two Q.16 efficacies per axon ([`crate::format::EFF_FRAC`]), initialised by [`Presyn::init`].
//! * [`Presyn::step`] advances one axon by one timestep given whether it spiked, and returns the released
//!   efficacy (0 when it did not spike), Q.16 in [0, 1]. It runs for every axon every step (relaxation
//!   is not event-driven); results are clamped to [0, 1], products round **nearest**.

pub mod stp;
pub mod std_dep;

pub use std_dep::{Depression, DepressionParams};
pub use stp::{Facilitation, FacilitationParams};

/// One Q.16 unit (efficacy 1.0).
pub const ONE: i32 = 1 << crate::format::EFF_FRAC;

/// An input-side plasticity model (see the module contract).
pub trait Presyn {
    /// Initial state of one axon.
    fn init(&self) -> [i32; 2];
    /// One step of one axon; returns the released efficacy (Q.16).
    fn step(&self, st: &mut [i32; 2], spike: bool) -> i32;
}

/// Input-side plasticity of a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PresynKind {
    /// Spikes enter as 1.0.
    None,
    /// Short-term depression (STD).
    Depression(Depression),
    /// Short-term plasticity with facilitation and depression (STP).
    Facilitation(Facilitation),
}

/// `x · y` for Q.16 values (**nearest**).
#[inline(always)]
pub(crate) fn mul16(x: i32, y: i32) -> i32 {
    crate::arith::shr_nearest(x as i64 * y as i64, 16) as i32
}

/// Relax toward 1: `1 − (1 − x)·d`, with `d` in Q.`df` (**nearest**).
#[inline(always)]
pub(crate) fn relax(x: i32, d: u32, df: u32) -> i32 {
    ONE - crate::arith::shr_nearest((ONE - x) as i64 * d as i64, df) as i32
}
