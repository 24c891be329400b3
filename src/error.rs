//! Errors that end a command before or instead of a normal finish, and the one place that maps
//! them to exit codes (design.md §6). A failed id is never an error: it is an `Outcome`.

use std::path::PathBuf;

use thiserror::Error;

/// Exit codes, documented in the README and design.md §6.
pub mod exit {
    /// Every id ended in a success outcome (duplicates are neutral).
    pub const OK: u8 = 0;
    /// The run finished and some ids failed; the report says which.
    pub const FAILURES: u8 = 1;
    /// Usage, configuration or input error: nothing was sent.
    pub const USAGE: u8 = 2;
    /// Aborted on a failure that would repeat for every id.
    pub const ABORTED: u8 = 3;
    /// Interrupted by SIGINT/SIGTERM/SIGHUP (Ctrl-C, Ctrl-Break or console close on Windows);
    /// `--resume` continues.
    pub const INTERRUPTED: u8 = 130;
}

/// A setting that is wrong in a way retrying cannot fix (a wrong URL or scheme, an untrusted
/// certificate, no token endpoint, a wrong prefix), said the way the operator should read it.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{message}")]
pub struct Problem {
    /// What is wrong, naming the URL, host or certificate concerned.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

impl Problem {
    /// A problem and its hint.
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// Why a run stopped early on something that would fail for every id.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum AbortReason {
    #[error("the token endpoint rejected the client (HTTP {status}: {message})")]
    ClientRejected { status: u16, message: String },
    #[error("the token endpoint could not give a token ({0})")]
    TokenUnavailable(String),
    #[error(
        "the A2A authorization is read-only (1039: Without PAM Configuration Access permission)"
    )]
    ReadOnly,
    #[error("the API path does not exist on this appliance ({0})")]
    WrongPrefix(String),
    #[error("requests are refused even with a freshly fetched token (HTTP {status}: {message})")]
    AuthFailed { status: u16, message: String },
    #[error("the appliance answered nothing for {secs} s (--max-outage): it looks down ({last})")]
    Outage { secs: u64, last: String },
    /// The URL, TLS trust, token endpoint or prefix is wrong for every request.
    #[error("{0}")]
    Misconfigured(Problem),
    #[error("the report could not be written ({0})")]
    ReportWrite(String),
    #[error("the input could not be read past line {line} ({message})")]
    InputBroken { line: u64, message: String },
    /// A bug: a task of credbulk itself failed. The report is true but incomplete.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AbortReason {
    /// What the operator should do next.
    #[must_use]
    pub fn hint(&self) -> String {
        let hint = match self {
            Self::ClientRejected { .. } => {
                "check SENHASEGURA_CLIENT_ID and the secret, and that the A2A application is enabled"
            }
            Self::TokenUnavailable(_) => {
                "check --url and --token-path, and that the appliance is up; then re-run with --resume"
            }
            Self::ReadOnly => {
                "ask the administrator to grant the A2A authorization read and write on PAM Core"
            }
            Self::WrongPrefix(_) => {
                "check --url; appliances before 3.33 serve the API under --api-prefix /iso"
            }
            Self::AuthFailed { .. } => {
                "check the authorization's permissions, expiry and IP allow-list, and --api-prefix"
            }
            Self::Outage { .. } => "wait for the appliance to recover, then re-run with --resume",
            Self::ReportWrite(_) => "free disk space or fix permissions, then re-run with --resume",
            Self::InputBroken { .. } => "fix the input file, then re-run with --resume",
            Self::Internal(_) => {
                "please report this; the report is valid up to here and --resume continues"
            }
            Self::Misconfigured(problem) => return problem.hint.clone(),
        };
        hint.to_owned()
    }

    /// The exit code this abort maps to.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        // Every abort exits 3, an input broken mid-run included: by then ids were sent, and
        // exit 2 promises that nothing was.
        exit::ABORTED
    }
}

/// An error that stops a command before its run starts (or a command that is not a run).
#[derive(Debug, Error)]
pub enum Error {
    /// Bad flags, environment or configuration.
    #[error("{message}\n  hint: {hint}")]
    Usage { message: String, hint: String },
    /// The input cannot be used at all.
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    /// The report cannot be opened, locked or read.
    #[error("report {}: {message}\n  hint: {hint}", path.display())]
    Report {
        path: PathBuf,
        message: String,
        hint: String,
    },
    /// The report is locked by another run, which is still going: that run's summary and
    /// metrics files must be left alone, so this refusal writes none.
    #[error("report {}: {message}\n  hint: {hint}", path.display())]
    ReportLocked {
        path: PathBuf,
        message: String,
        hint: String,
    },
    /// Stopped before any id was sent, on something that would fail for every id.
    #[error("aborted: {0}\n  hint: {hint}", hint = .0.hint())]
    Aborted(AbortReason),
    /// The simulator failed.
    #[cfg(feature = "sim")]
    #[error(transparent)]
    Sim(#[from] crate::sim::SimError),
    /// Stopped by a signal or a "no" before any change was sent (`check`, `--dry-run`, the
    /// confirmation prompt): exit 130 like any interrupt, with no resume to suggest.
    #[error("{0}: nothing was changed")]
    Interrupted(&'static str),
}

impl Error {
    /// A usage error with its hint.
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::Usage {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The exit code for this error (design.md §6).
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage { .. }
            | Self::Input(_)
            | Self::Report { .. }
            | Self::ReportLocked { .. } => exit::USAGE,
            #[cfg(feature = "sim")]
            Self::Sim(_) => exit::USAGE,
            Self::Aborted(reason) => reason.exit_code(),
            Self::Interrupted(_) => exit::INTERRUPTED,
        }
    }
}
