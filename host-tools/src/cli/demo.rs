//! `plasticore demo`.
/// Arguments.
#[derive(clap::Args)]
pub struct DemoArgs {}
/// Run.
pub fn run(_a: DemoArgs) -> anyhow::Result<()> { Ok(()) }
