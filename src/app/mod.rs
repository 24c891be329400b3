//! The commands: turns a parsed command line into a finished command and an exit code. Owns
//! the runtime, the signal handling and what is printed at the end; the work itself lives in
//! `run` (enable/disable), `plan` (`--dry-run`), `check` and `demo`.

mod check;
mod demo;
mod plan;
mod run;
mod signals;

use std::sync::Arc;

pub use check::{CheckReport, check};
pub use demo::demo;
pub use plan::{Plan, plan};
pub use run::{new_run_id, run};
pub use signals::install_signal_handler;

use crate::cli::{Cli, Command};
use crate::config::{Connection, RunConfig};
use crate::control::Control;
use crate::error::{Error, exit};
use crate::model::Operation;
use crate::summary::RunSummary;

/// What a command produced.
#[derive(Debug)]
pub enum Completed {
    /// An enable/disable run.
    Run(RunSummary),
    /// The demo's run: its failures are by design, so only the ending sets the exit code.
    Demo(RunSummary),
    /// A `--dry-run` plan.
    Plan(Plan),
    /// `check`.
    Check(CheckReport),
    /// `sim` stopped.
    Sim,
}

impl Completed {
    /// The exit code of design.md §6.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Run(s) => s.exit_code(),
            Self::Demo(s) => match s.exit_code() {
                exit::FAILURES => exit::OK,
                code => code,
            },
            Self::Plan(_) | Self::Check(_) | Self::Sim => exit::OK,
        }
    }
}

/// Runs a parsed command line to its exit code, printing results and errors.
#[must_use]
pub fn main(cli: Cli) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime ({e})");
            return exit::USAGE;
        }
    };
    let control = Arc::new(Control::new());
    let result = runtime.block_on(async {
        install_signal_handler(Arc::clone(&control));
        execute(cli.command, control).await
    });
    // In-flight work has finished; don't wait for idle pooled connections.
    runtime.shutdown_background();
    match result {
        Ok(done) => {
            report(&done);
            done.exit_code()
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// Runs one command in-process (tests drive the whole program through this).
pub async fn execute(command: Command, control: Arc<Control>) -> Result<Completed, Error> {
    let env = |name: &str| std::env::var(name).ok();
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    match command {
        Command::Enable(args) => {
            run_or_plan(Operation::Enable, args, &env, terminal, control).await
        }
        Command::Disable(args) => {
            run_or_plan(Operation::Disable, args, &env, terminal, control).await
        }
        Command::Check(args) => {
            let connection = Connection::from_args(args, &env)?;
            check(&connection).await.map(Completed::Check)
        }
        Command::Sim(args) => {
            crate::sim::run(args, control.token().clone().cancelled_owned()).await?;
            Ok(Completed::Sim)
        }
        Command::Demo(args) => demo(args, terminal, control).await.map(Completed::Demo),
    }
}

async fn run_or_plan(
    operation: Operation,
    args: crate::cli::RunArgs,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    terminal: bool,
    control: Arc<Control>,
) -> Result<Completed, Error> {
    let config = RunConfig::from_args(operation, args, env, terminal)?;
    if config.dry_run {
        plan(&config).await.map(Completed::Plan)
    } else {
        run(config, control).await.map(Completed::Run)
    }
}

fn report(done: &Completed) {
    match done {
        Completed::Run(summary) => eprint!("{}", summary.render()),
        Completed::Demo(summary) => {
            eprint!("{}", summary.render());
            if summary.ending == crate::control::Ending::Finished {
                eprintln!("{}", demo::DEMO_EPILOGUE);
            }
        }
        Completed::Plan(plan) => print!("{}", plan.render()),
        Completed::Check(check) => print!("{}", check.render()),
        Completed::Sim => {}
    }
}
