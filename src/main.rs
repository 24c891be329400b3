//! The `credbulk` binary: parse, set up logging, run, exit with the documented code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = credbulk::cli::Cli::parse();
    credbulk::logging::init(cli.quiet, cli.verbose);
    ExitCode::from(credbulk::app::main(cli))
}
