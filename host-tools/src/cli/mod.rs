//! One module per subcommand: argument parsing and output only; the work is done by the library.
pub mod demo;
pub mod image;
pub mod bench;
pub mod bench_w1;
pub mod emulate;
