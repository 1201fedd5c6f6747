//! Graph networks on the chip (issue 10 item 6): a `plasticore_core::graph::GraphConfig` with its
//! weights ([`spec`]), split over cores within every per-core limit ([`mapping`]), each core a slice of
//! one population running core-nostd's `LayerMut` phases ([`core`]), spikes routed by per-core routing
//! tables with axonal delays in the destination cores' delay buffers, and the `Symmetric` learning
//! signal of deep populations computed as exact partial sums on the downstream cores ([`emu`]). The
//! results equal `plasticore_core::graph::GraphMut` bit for bit for any mapping and thread count
//! (`tests/graph.rs`).
//!
//! The single-layer [`crate::NetworkSpec`] keeps its own path ([`crate::Emulator`], W1's hot path,
//! unchanged bits and cycles); a one-population graph is the same network in this path.

pub mod core;
pub mod emu;
pub mod image_run;
pub mod mapping;
pub mod snapshot;
pub mod spec;

pub use emu::GraphEmulator;
pub use image_run::{run_image, spec_from_image, split_mapping, step_image};
pub use mapping::{GraphMapping, PopSlice, RouteEntry};
pub use spec::{GraphNetworkSpec, PopWeights};
