//! Plasticore host tools: the float reference, quantization, mapping onto cores, emulator runs and reports.
//!
//! The `plasticore` binary (`src/main.rs`) is a thin clap front end over this library; `anyhow` is used only
//! there, at the CLI edge.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod demo;
pub mod graph_heap;
pub mod events;
pub mod mainjob;
pub mod map;
pub mod nir;
pub mod quantize;
pub mod reference;
pub mod report;
pub mod sweep;
pub mod tasks;
