//! The `credbulk` binary: parse, check the OS gives random numbers, set up logging, run, exit
//! with the documented code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match credbulk::app::parse(&std::env::args_os().collect::<Vec<_>>()) {
        Ok(cli) => cli,
        Err(code) => return ExitCode::from(code),
    };
    if let Err(code) = credbulk::app::preflight(cli.log_format) {
        return ExitCode::from(code);
    }
    credbulk::logging::init(cli.quiet, cli.verbose, cli.log_format);
    ExitCode::from(credbulk::app::main(cli))
}
