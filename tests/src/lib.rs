//! Cross-crate tests: **one scenario suite, every backend** (STYLE.md item 12).
//!
//! A [`scenario::Scenario`] names a network (neuron model, synapse, STD/STP, loss, learning signal, update
//! mode), its seeded inputs and targets. Each backend runs the same scenario:
//! * [`fixed`]: the fixed-point core, `plasticore_core::net::Net::step` at [`Formats::DEFAULT`];
//! * [`float`]: the float on-chip rule, `plasticore::reference::onchip::OnChip` (spec §8.1 in `f64`), on the
//!   *same* network: the core's quantized weights and constants converted to `f64` exactly, so that a
//!   difference measures the datapath's arithmetic, not the quantization of the network;
//! * the emulator, `plasticore_emu::Emulator` over three cores, built from the same `fixed::net_config`
//!   (`tests/emulator_vs_fixed.rs`, tolerance zero).
//!
//! [`compare`] runs them side by side, step by step: before every step the float learner is loaded with
//! the core's state (neuron states, STD/STP states, traces, readout, weights), both take the step, and
//! every output of the step (states, spikes, ψ, traces, readout, error, ΔW and ΔV) is compared with a
//! tolerance from [`tolerance`], derived from the formats there, quantity by quantity. Starting each
//! float step from the fixed state is what makes one-step bounds possible: rounding errors do not
//! compound, and spikes can only disagree where a neuron is within the bound of its threshold.
//!
//! The tests: `tests/fixed_vs_float.rs` (the step-by-step comparison), `tests/emulator_vs_fixed.rs`
//! (bit for bit), `tests/gradient_cosine.rs` (fixed ES-D-RTRL against float ES-D-RTRL and BPTT),
//! `tests/fixed_point_oracles.rs` (spec numbers and single-function oracles). The firmware backend is
//! `firmware/ci.sh` (host = QEMU M4 = M0 results), not yet a runner of these scenarios.
//!
//! [`Formats::DEFAULT`]: plasticore_core::format::Formats::DEFAULT
#![deny(missing_docs)]
#![allow(clippy::needless_range_loop)]

pub mod compare;
pub mod fixed;
pub mod float;
pub mod scenario;
pub mod tolerance;
