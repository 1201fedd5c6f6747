//! `plasticore report`: one self-contained HTML page (`report.html`) from the files runs produced: sweep
//! CSVs and main-job JSON (`plasticore::report` recognises each by its schema).
use clap::Args;
use plasticore::reference::plot::write_atomic;
use std::path::PathBuf;

/// Arguments of `report`.
#[derive(Args)]
pub struct ReportArgs {
    /// Where `report.html` goes.
    #[arg(long, default_value = "out/report")]
    pub out: PathBuf,
    /// Inputs: `sweep.csv` from `sweep`, `main.json` from `demo`; sections follow their order.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

/// Run the subcommand.
pub fn run(a: ReportArgs) -> anyhow::Result<()> {
    let html = plasticore::report::build(&a.inputs)?;
    let path = a.out.join("report.html");
    write_atomic(&path, html.as_bytes())?;
    println!("report: {}", path.display());
    Ok(())
}
