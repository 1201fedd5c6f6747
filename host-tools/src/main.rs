//! `plasticore`: the command-line front end. Every subcommand lives in `cli/` and calls the library.
use clap::{Parser, Subcommand};

mod cli;

/// Counts live heap bytes (`mem-study` and `bench` report measured peaks from it).
#[global_allocator]
static ALLOC: cli::alloc_count::Counting = cli::alloc_count::Counting;

/// Plasticore: on-chip ES-D-RTRL learning, from float reference to fixed-point chip emulation.
#[derive(Parser)]
#[command(name = "plasticore", version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a small recurrent network with the fixed-point on-chip rule and print its loss falling.
    Demo(cli::demo::DemoArgs),
    /// Write, inspect and run network images (`hw-notes/image-format.md`).
    Image(cli::image::ImageArgs),
    /// Benchmarks of the float reference (`bench w2`: WORKLOADS.md W2, one JSON line).
    Bench(cli::bench::BenchArgs),
    /// Cosine similarity to BPTT of D-RTRL and ES-D-RTRL for six neuron dynamics (CSV + SVG).
    GradStudy(cli::grad_study::GradStudyArgs),
    /// Learning-state memory of BPTT, D-RTRL and ES-D-RTRL vs T and N, analytic and measured (CSV + SVG).
    MemStudy(cli::mem_study::MemStudyArgs),
    /// Train a seeded task (dmts, evidence, digits) in float; learning curves and the trained network.
    Train(cli::train::TrainArgs),
    /// Run a workload on the cycle-level chip emulator and print cycles, energy and link hot spots.
    Emulate(cli::emulate::EmulateArgs),
    /// Event files (`hw-notes/event-files.md`): write rate-coded digits, inspect, convert.
    Events(cli::events::EventsArgs),
    /// Per-projection weight scale search of a trained float network, calibrated on an event file.
    Quantize(cli::quantize::QuantizeArgs),
    /// Map a network image onto a chip: slices within the per-core limits, placement on the mesh, traffic vs random.
    Map(cli::map::MapArgs),
    /// Run a graph image on the emulated chip or the core over a data set: inference or on-chip learning.
    Run(cli::run::RunArgs),
    /// Float reference vs the fixed-point network of an image: spikes, outputs, accuracy, drift, gradients.
    Compare(cli::compare::CompareArgs),
    /// NIR graphs: import to / export from plasticore-float-net, inspect, simulate in float (hw-notes/nir.md).
    Nir(cli::nir::NirArgs),
    /// Quantization study over a grid of formats (weight, trace, state bits; rounding; learning): CSV + plots.
    Sweep(cli::sweep::SweepArgs),
    /// One self-contained HTML report from a run's outputs (sweep CSV, main-job JSON).
    Report(cli::report::ReportArgs),
}

fn main() -> std::process::ExitCode {
    // one line per error, a backtrace only with RUST_BACKTRACE (`cli/errors.rs`)
    cli::errors::install_panic_hook();
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => return cli::errors::usage(e, &<Args as clap::CommandFactory>::command()),
    };
    cli::errors::report(match args.command {
        Command::Demo(a) => cli::demo::run(a),
        Command::Image(a) => cli::image::run(a),
        Command::Bench(a) => cli::bench::run(a),
        Command::GradStudy(a) => cli::grad_study::run(a),
        Command::MemStudy(a) => cli::mem_study::run(a),
        Command::Train(a) => cli::train::run(a),
        Command::Emulate(a) => cli::emulate::run(a),
        Command::Events(a) => cli::events::run(a),
        Command::Quantize(a) => cli::quantize::run(a),
        Command::Nir(a) => cli::nir::run(a),
        Command::Map(a) => cli::map::run(a),
        Command::Run(a) => cli::run::run(a),
        Command::Compare(a) => cli::compare::run(a),
        Command::Sweep(a) => cli::sweep::run(a),
        Command::Report(a) => cli::report::run(a),
    })
}
