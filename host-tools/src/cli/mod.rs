//! One module per subcommand: argument parsing and output only; the work is done by the library.
pub mod alloc_count;
pub mod demo;
pub mod image;
pub mod bench;
pub mod grad_study;
pub mod mem_study;
pub mod train;
pub mod bench_w1;
pub mod emulate;
pub mod errors;
pub mod events;
pub mod quantize;
pub mod nir;
pub mod report;
pub mod sweep;
