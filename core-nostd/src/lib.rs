//! # plasticore-core: the on-chip ES-D-RTRL learning core
//!
//! A `#![no_std]`, allocation-free, fixed-point implementation of the on-chip learning rule of
//! ES-D-RTRL (`es-d-rtrl.md` §8): spiking neurons with per-neuron eligibility traces (memory O(N), not
//! O(N²)), a leaky readout, a learning signal, and weight updates with stochastic rounding. It is the
//! datapath that the emulator's cores and the microcontroller firmware both run, so the three agree bit
//! for bit.
//!
//! Layers of the crate (the module tree is the layer diagram):
//! * [`format`], [`arith`], [`rng`]: number formats (the one table), named rounding/overflow operations,
//!   counter-based random numbers.
//! * [`neuron`] (one file per model: LIF, ALIF, Loihi CUBA-LIF; ReluGrad surrogate) and [`presyn`]
//!   (STD, STP): the per-neuron and per-axon dynamics with their Jacobians.
//! * [`layer`]: the phases integrate → fire → learn over borrowed buffers ([`layer::LayerMut`]) and a
//!   const-generic owner ([`layer::Layer`]).
//! * [`readout`]: leaky readout, MSE / cross-entropy error, feedback, readout learning.
//! * [`net`]: a hidden layer + readout stepped as the ordered phases of §8.1.
//! * [`graph`]: a network of several populations and projections (delays, plastic or frozen, deep
//!   learning signals), each population run by the same [`layer::LayerMut`] phases.
//! * `hal` (feature `hal`): an address-event input adapter over an `embedded-hal` SPI device.
//!
//! Guarantees: no heap, no `unsafe`, no floating point, no clock (the caller passes
//! [`net::Timestep`] in). Configurations are validated once by constructors; after that the datapath has
//! no error path and does not panic: overflow saturates and is counted ([`layer::Saturations`]).
//!
//! ```
//! use plasticore_core::prelude::*;
//! use fixed::types::I32F32;
//!
//! let fmt = Formats::DEFAULT;
//! let lif = Lif::new(LifParams {
//!     decay: fmt.decay(I32F32::lit("0.9"), Field::Decay).unwrap(),
//!     threshold: fmt.voltage(I32F32::ONE, Field::Threshold).unwrap(),
//!     reset: Reset::Soft,
//!     detach_reset: false,
//!     synapse: Synapse::Delta,
//!     surrogate: SurrogateParams::paper(&fmt),
//! }, &fmt).unwrap();
//! assert_eq!(NeuronKind::Lif(lif).states(), 1);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod arith;
pub mod checksum;
pub mod error;
pub mod format;
pub mod graph;
pub mod image;
#[cfg(feature = "hal")]
pub mod hal;
pub mod layer;
pub mod net;
pub mod neuron;
pub mod presyn;
pub mod readout;
pub mod rng;
mod slot;

pub use format::Rounding;

/// The types most users need.
pub mod prelude {
    pub use crate::error::{ConfigError, Field};
    pub use crate::format::{Decay, Efficacy, Formats, Rounding, Signal, Trace, Voltage, Weight};
    pub use crate::layer::{Layer, LayerConfig, LayerMut, LearningRate, OpCounts, Saturations};
    pub use crate::net::{Accumulator, LossWindow, Net, NetConfig, StepReport, Timestep, UpdateMode};
    pub use crate::neuron::{
        Alif, AlifParams, LifParams, Lif, LoihiCuba, LoihiParams, NeuronKind, Reset, SurrogateParams, Synapse, Wrap24,
    };
    pub use crate::presyn::{Depression, DepressionParams, Facilitation, FacilitationParams, PresynKind};
    pub use crate::readout::{Feedback, Loss, ReadoutConfig, Target};
}
