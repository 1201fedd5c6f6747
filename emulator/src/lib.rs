//! # plasticore-emu: a cycle-level many-core neuromorphic chip emulator
//!
//! Cores run the `plasticore-core` datapath on slices of a network; this crate adds what a chip adds
//! around it: placement under per-core limits, a timestep as an ordered list of phases with cycle costs,
//! a cycle-level mesh network-on-chip with contention and back-pressure, energy, observers and snapshots.
//! It contains **no neuron or learning arithmetic**: spikes, weights and traces equal a direct
//! core-nostd run bit for bit, whatever the mapping, the thread count or the timing switch.
//!
//! Module map (the layer diagram):
//! * [`time`]: `Cycle`, `EmuTime`.
//! * [`chip`] and [`presets`]: the chip description (TOML) and the named presets with sources.
//! * [`network`] and [`mapping`]: what to place and where (contiguous-slice partitioner).
//! * [`graph`]: graph networks (populations, projections, delays): spec, mapping with routing tables,
//!   population cores, and their timestep.
//! * [`core_unit`]: a core's hidden slice or readout, owning buffers and calling core-nostd.
//! * [`noc`]: routing policies (one file each) and the cycle-level mesh.
//! * [`emu`]: the chip and its timestep: deliver → integrate → fire → route → learn → barrier.
//! * [`observe`]: statistics, recorders, CSV and VCD traces (observers never change results).
//! * [`snapshot`]: versioned, checksummed, atomically written chip state.
//! * [`storage`]: owned storage behind core-nostd's borrowed buffers.
//! * [`w1`]: the W1 workload (`/work/shared/benchmarks/WORKLOADS.md`).
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod chip;
pub mod core_unit;
pub mod emu;
pub mod error;
pub mod graph;
mod hugepage;
pub mod mapping;
pub mod network;
pub mod noc;
pub mod observe;
mod prefetch;
pub mod simd;
pub mod presets;
pub mod snapshot;
mod spin;
pub mod storage;
pub mod time;
pub mod w1;

pub use chip::ChipDesc;
pub use emu::{EmuOptions, Emulator};
pub use error::EmuError;
pub use network::{NetworkSpec, ReadoutSpec, SparseWeights};
pub use observe::{NoObserver, Observer, StepReport, Stats};
pub use time::{Cycle, EmuTime};
