//! The commands: turns a parsed command line into a finished command and an exit code. Owns
//! the runtime and the signal handling; the work itself lives in `run` (enable/disable), `plan`
//! (`--dry-run`), `check`, `demo` and `shell` (completions, man page); `confirm` asks a person
//! at a terminal before a run; `print` owns what is shown at the end.

mod check;
mod confirm;
#[cfg(feature = "sim")]
mod demo;
mod plan;
mod print;
mod probe;
mod render;
mod run;
mod shell;
mod signals;

use std::sync::Arc;
use std::time::SystemTime;

pub use check::{CheckReport, check};
#[cfg(feature = "sim")]
pub use demo::demo;
pub use plan::{Plan, plan};
pub use print::parse;
pub use probe::{ProbeResult, ProbeVerdict};
pub use run::{new_run_id, run};
pub use signals::{install_signal_handler, set_resume_command};

use crate::cli::{Cli, Command};
use crate::config::{CheckConfig, RunConfig};
use crate::control::Control;
use crate::error::{Error, exit};
use crate::model::Operation;
use crate::outputs::{RunContext, RunRecord};
use crate::summary::RunSummary;

/// What a command produced.
#[derive(Debug)]
pub enum Completed {
    /// An enable/disable run, with its audit record.
    Run {
        summary: RunSummary,
        record: Box<RunRecord>,
    },
    /// The demo's run: its failures are by design, so only the ending sets the exit code.
    #[cfg(feature = "sim")]
    Demo(RunSummary),
    /// A `--dry-run` plan.
    Plan(Plan),
    /// `check`.
    Check(CheckReport),
    /// Text for stdout (completions, the man page, a rendered report).
    Text(String),
    /// `report -o FILE`: the document was written there.
    Rendered {
        path: std::path::PathBuf,
        headline: String,
    },
    /// `sim` stopped.
    #[cfg(feature = "sim")]
    Sim,
}

impl Completed {
    /// The exit code of design.md §6.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Run { summary, .. } => summary.exit_code(),
            #[cfg(feature = "sim")]
            Self::Demo(s) => match s.exit_code() {
                exit::FAILURES => exit::OK,
                code => code,
            },
            Self::Plan(plan) => plan.exit_code(),
            Self::Check(report) => report.exit_code(),
            Self::Text(_) | Self::Rendered { .. } => exit::OK,
            #[cfg(feature = "sim")]
            Self::Sim => exit::OK,
        }
    }
}

/// What must hold before logging starts, since its filter already hashes with random keys: the
/// OS gives random numbers (`crate::entropy`). Prints the refusal itself, in the chosen format.
pub fn preflight(format: crate::cli::LogFormat) -> Result<(), u8> {
    crate::entropy::check().map_err(|e| {
        crate::logging::set_format(format);
        print::error(&e);
        e.exit_code()
    })
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
            print::error(&Error::usage(
                format!("cannot start the async runtime ({e})"),
                "check the process limits (threads, memory)",
            ));
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
        Ok(done) => match print::completed(&done) {
            Ok(()) => done.exit_code(),
            Err(e) => {
                print::error(&e);
                e.exit_code()
            }
        },
        Err(e) => {
            print::error(&e);
            e.exit_code()
        }
    }
}

/// Runs one command in-process (tests drive the whole program through this), with settings
/// from the process environment.
pub async fn execute(command: Command, control: Arc<Control>) -> Result<Completed, Error> {
    let env = |name: &str| std::env::var(name).ok();
    execute_in(command, control, &env).await
}

/// Like [`execute`] with the environment given (tests use this to stay hermetic).
pub async fn execute_in(
    command: Command,
    control: Arc<Control>,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Completed, Error> {
    // A bar would interleave with JSON lines, which must each be whole.
    let terminal =
        std::io::IsTerminal::is_terminal(&std::io::stderr()) && !crate::logging::is_json();
    match command {
        Command::Enable(args) => run_or_plan(Operation::Enable, args, env, terminal, control).await,
        Command::Disable(args) => {
            run_or_plan(Operation::Disable, args, env, terminal, control).await
        }
        Command::Check(args) => {
            let config = CheckConfig::from_args(args, env)?;
            check(config, control.token().clone())
                .await
                .map(Completed::Check)
        }
        #[cfg(feature = "sim")]
        Command::Sim(args) => {
            crate::sim::run(args, control.token().clone().cancelled_owned()).await?;
            Ok(Completed::Sim)
        }
        #[cfg(feature = "sim")]
        Command::Demo(args) => demo(args, terminal, control).await.map(Completed::Demo),
        Command::Report(args) => render::report(&args),
        Command::Completions { shell } => Ok(Completed::Text(shell::completions(shell))),
        Command::Man { command } => shell::man_page(command.as_deref()).map(Completed::Text),
    }
}

async fn run_or_plan(
    operation: Operation,
    args: crate::cli::RunArgs,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    terminal: bool,
    control: Arc<Control>,
) -> Result<Completed, Error> {
    let yes = args.yes;
    let config = RunConfig::from_args(operation, args, env, terminal)?;
    if config.dry_run {
        return plan(&config, control.token().clone())
            .await
            .map(Completed::Plan);
    }
    // Before anything is sent or written: a "no" leaves no trace.
    if confirm::wanted(&config, yes) {
        confirm::ask(&config, &control).await?;
    }
    set_resume_command(&config.resume_command);
    // From here on the run counts: whatever happens, its summary and metrics are written.
    let context = RunContext::start(&config).await;
    let result = run(config, control).await;
    let record = RunRecord::new(&context, SystemTime::now(), &result);
    // Every refusal is recorded (a monitor must see the exit 2), except a report locked by a
    // running job: the files are that job's, and it writes them when it ends.
    if !matches!(result, Err(Error::ReportLocked { .. })) {
        crate::outputs::write_files(&context, &record);
    }
    result.map(|summary| Completed::Run {
        summary,
        record: Box::new(record),
    })
}
