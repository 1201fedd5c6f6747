//! `plasticore`: the command-line front end. Every subcommand lives in `cli/` and calls the library.
use clap::{Parser, Subcommand};

mod cli;

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
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.command {
        Command::Demo(a) => cli::demo::run(a),
    }
}
