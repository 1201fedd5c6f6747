//! NIR (Neuromorphic Intermediate Representation) import, export and simulation (issue 12).
//!
//! Layers, each only calling the ones below it:
//! - [`h5`]: HDF5 file ↔ a tree of groups and typed datasets (pure-Rust `hdf5-reader` / `hdf5-writer`).
//! - [`graph`]: the tree ↔ a NIR graph (node types, parameter arrays, edges, subgraphs, metadata), with
//!   type, presence and per-node shape checks.
//! - [`lower`]: a NIR graph → a flat, discretised network for a chosen dt, method and reset mechanism
//!   ([`lower::Discrete`]): subgraphs and dotted names resolved, sizes inferred and checked, cycles broken
//!   by a one-step delay, per-neuron decays and gains computed. Unsupported nodes are reported here.
//! - [`populations`]: the population/projection view of a [`lower::Discrete`] (dense matrix per source
//!   and delay): what a graph of populations (issue 10) is built from.
//! - [`sim`]: runs a [`lower::Discrete`] in `f64` and records every node (`plasticore nir simulate`).
//! - [`float_net`]: [`lower::Discrete`] → `plasticore-float-net` v1 where that is exact, else v2 with
//!   per-neuron populations (otherwise an error listing each feature neither holds), and
//!   `plasticore-float-net` → NIR (export).
//! - [`image`]: a fixed-point image (`.pcimg` v1/v2, learned on chip or not) → dequantized float-net → NIR,
//!   with the number formats in the metadata.
//! - [`input`]: the small input readers of `nir simulate` (CSV events `t,channel`, dense `.npy`).
//!
//! Semantics, discretisation and what is lost are documented in `hw-notes/nir.md`.
// `!(x > 0.0)` is meant: it is true for NaN, which must be rejected too.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod float_net;
pub mod graph;
pub mod h5;
pub mod image;
pub mod input;
pub mod lower;
pub mod populations;
pub mod sim;

/// Errors of NIR reading, lowering, conversion and simulation. Every variant names where the problem is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NirError {
    /// Reading the file failed.
    #[error("{0}")]
    Io(String),
    /// The HDF5 layer rejected the file (truncated, corrupted, unsupported HDF5 feature).
    #[error("HDF5: {0}")]
    Hdf5(String),
    /// A required dataset or group is missing.
    #[error("missing {0}")]
    Missing(String),
    /// A dataset has the wrong type.
    #[error("{path}: expected {expected}, found {got}")]
    Type {
        /// Dataset path.
        path: String,
        /// What was expected.
        expected: String,
        /// What was found.
        got: String,
    },
    /// A dataset has the wrong shape, or sizes do not match along an edge.
    #[error("shape mismatch at {path}: {msg}")]
    Shape {
        /// Dataset path or node name.
        path: String,
        /// Details.
        msg: String,
    },
    /// A value or the wiring is invalid.
    #[error("{path}: {msg}")]
    Invalid {
        /// Dataset path or node name.
        path: String,
        /// Details.
        msg: String,
    },
    /// Nodes Plasticore does not run, each with its reason.
    #[error("unsupported nodes: {}", .0.iter().map(|(n, t, r)| format!("`{n}` ({t}): {r}")).collect::<Vec<_>>().join("; "))]
    Unsupported(Vec<(String, String, String)>),
    /// The network cannot be written as a `plasticore-float-net` (v1, or v2 with per-neuron parameters)
    /// without loss; every reason is listed.
    #[error("not expressible as plasticore-float-net (v1 or v2) without loss (`plasticore nir simulate` runs it as it is):\n  - {}", .0.join("\n  - "))]
    NotExpressible(Vec<String>),
    /// Simulation input does not fit the graph.
    #[error("input: {0}")]
    Input(String),
}

impl NirError {
    /// Prefix the message with a file name.
    pub fn in_file(self, path: &std::path::Path) -> Self {
        match self {
            NirError::Hdf5(m) => NirError::Hdf5(format!("{}: {m}", path.display())),
            NirError::Io(m) => NirError::Io(format!("{}: {m}", path.display())),
            other => other,
        }
    }
}
