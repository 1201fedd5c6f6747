//! Cycle-level many-core chip emulator (issue 4). Cores run the `plasticore-core` datapath; this crate adds
//! time, traffic and energy around it. Work in progress: nothing is exported yet.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
