//! Signals (design.md §6, style rule 7): the first SIGINT, SIGTERM or SIGHUP (an ssh session
//! closing) — on Windows Ctrl-C, Ctrl-Break or the console closing — stops admitting ids and
//! cancels whatever waits (a token fetch in flight included), so in-flight ids finish and the
//! command exits 130; the second exits at once, printing the command that continues the run
//! (every row already written stays: rows are flushed as they are decided).
//! Knows the control switch only, not what the command is doing.

use std::sync::{Arc, OnceLock};

use tracing::warn;

use crate::control::Control;
use crate::error::exit;

/// The command that continues the run, once a run (not `check` or a dry run) has one.
static RESUME_COMMAND: OnceLock<String> = OnceLock::new();

/// Tells the handler how to continue the run, for the message of a second signal.
pub fn set_resume_command(command: &str) {
    let _ = RESUME_COMMAND.set(command.to_owned());
}

/// Spawns the task that turns signals into an interrupt, then an immediate exit.
pub fn install_signal_handler(control: Arc<Control>) {
    // Registered before the task starts, so that no signal goes to the default handler (which
    // would kill the process without a summary) between the two waits.
    let Ok(mut signals) = Signals::new() else {
        warn!("signals cannot be caught: Ctrl-C will stop credbulk without a summary");
        return;
    };
    tokio::spawn(async move {
        signals.next().await;
        warn!("interrupted: finishing what is in flight (signal again to exit now)");
        control.interrupt();
        signals.next().await;
        crate::logging::clear_progress_bar();
        let next = RESUME_COMMAND.get().map_or_else(
            || "nothing was changed".to_owned(),
            |command| format!("continue with: {command}"),
        );
        crate::logging::print_line(
            "WARN",
            &format!(
                "credbulk: second signal, exiting now; the report holds every row written so far; {next}"
            ),
            serde_json::Map::new(),
        );
        std::process::exit(i32::from(exit::INTERRUPTED));
    });
}

/// The signals that stop a command.
#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
            _ = self.hangup.recv() => {}
        }
    }
}

/// The signals that stop a command: Ctrl-C, Ctrl-Break and the console window closing (the
/// process then has a few seconds before Windows ends it).
#[cfg(windows)]
struct Signals {
    interrupt: tokio::signal::windows::CtrlC,
    break_key: tokio::signal::windows::CtrlBreak,
    console_close: tokio::signal::windows::CtrlClose,
}

#[cfg(windows)]
impl Signals {
    fn new() -> std::io::Result<Self> {
        use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close};
        Ok(Self {
            interrupt: ctrl_c()?,
            break_key: ctrl_break()?,
            console_close: ctrl_close()?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.break_key.recv() => {}
            _ = self.console_close.recv() => {}
        }
    }
}

/// Elsewhere: Ctrl-C, as tokio knows it.
#[cfg(not(any(unix, windows)))]
struct Signals;

#[cfg(not(any(unix, windows)))]
impl Signals {
    #[expect(clippy::unnecessary_wraps, reason = "the same shape on every platform")]
    fn new() -> std::io::Result<Self> {
        Ok(Self)
    }

    async fn next(&mut self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
