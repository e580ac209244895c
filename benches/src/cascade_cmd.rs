//! `patchbench cascade ...`: calibrate (validation table), build and evaluate.

use anyhow::Result;

/// Cascade subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum CascadeCommand {
    /// Run a model at every resolution on labelled photos and write a validation table.
    Table(crate::table::TableArgs),
}

/// Runs a cascade subcommand.
pub fn run(command: &CascadeCommand) -> Result<()> {
    match command {
        CascadeCommand::Table(args) => crate::table::run(args),
    }
}
