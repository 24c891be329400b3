//! The leaf of the crate: what an id is, what can happen to it, and what a run is doing.
//! No I/O and no dependency on any other module, so every layer can share these types.

use std::fmt;
use std::time::Duration;

/// One id read from the input, tied to its line so the report can point back at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRecord {
    /// 1-based line of the input file where the record starts.
    pub line: u64,
    /// The credential id, already validated as a positive integer.
    pub id: u64,
}

/// Cells of one input line copied into its report row (`--keep-columns`), in the order the
/// flag named them. Empty (and allocation-free) when no column is kept. They travel with the
/// id through the run, so no table of them is ever held.
pub type KeptCells = Box<[String]>;

/// Which change a run applies to every id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `PUT …/pam/credential/{id}`.
    Enable,
    /// `DELETE …/pam/credential/{id}` (rollback).
    Disable,
}

impl Operation {
    /// The command name, as typed on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Enable => "enable",
            Self::Disable => "disable",
        }
    }
}

/// The final state of one input record (design.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutcomeKind {
    Enabled,
    AlreadyEnabled,
    Disabled,
    AlreadyDisabled,
    NotFound,
    NoAccess,
    NotACredential,
    Rejected,
    InvalidInput,
    Duplicate,
    Timeout,
    RateLimited,
    ServerError,
    NetworkError,
    UnexpectedResponse,
    /// The id that hit a read-only authorization (1039); the run aborted.
    Forbidden,
    /// The id whose auth-flavoured answer persisted after a fresh token; the run aborted.
    AuthFailed,
    /// The id that hit a wrong prefix or path; the run aborted.
    Misconfigured,
}

/// How an outcome counts towards the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Success,
    Neutral,
    Failure,
}

impl OutcomeKind {
    /// Every kind, in report order (used for summaries and metrics).
    pub const ALL: [Self; 18] = [
        Self::Enabled,
        Self::AlreadyEnabled,
        Self::Disabled,
        Self::AlreadyDisabled,
        Self::NotFound,
        Self::NoAccess,
        Self::NotACredential,
        Self::Rejected,
        Self::InvalidInput,
        Self::Duplicate,
        Self::Timeout,
        Self::RateLimited,
        Self::ServerError,
        Self::NetworkError,
        Self::UnexpectedResponse,
        Self::Forbidden,
        Self::AuthFailed,
        Self::Misconfigured,
    ];

    /// The name written in the report.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::AlreadyEnabled => "already_enabled",
            Self::Disabled => "disabled",
            Self::AlreadyDisabled => "already_disabled",
            Self::NotFound => "not_found",
            Self::NoAccess => "no_access",
            Self::NotACredential => "not_a_credential",
            Self::Rejected => "rejected",
            Self::InvalidInput => "invalid_input",
            Self::Duplicate => "duplicate",
            Self::Timeout => "timeout",
            Self::RateLimited => "rate_limited",
            Self::ServerError => "server_error",
            Self::NetworkError => "network_error",
            Self::UnexpectedResponse => "unexpected_response",
            Self::Forbidden => "forbidden",
            Self::AuthFailed => "auth_failed",
            Self::Misconfigured => "misconfigured",
        }
    }

    /// Parses a report's outcome name back.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether the outcome is a success, neutral or a failure for the exit code.
    #[must_use]
    pub fn verdict(self) -> Verdict {
        match self {
            Self::Enabled | Self::AlreadyEnabled | Self::Disabled | Self::AlreadyDisabled => {
                Verdict::Success
            }
            Self::Duplicate => Verdict::Neutral,
            _ => Verdict::Failure,
        }
    }

    /// Whether `--resume` treats the id as settled: retrying it would change nothing.
    #[must_use]
    pub fn is_final(self) -> bool {
        matches!(self.verdict(), Verdict::Success | Verdict::Neutral)
            || matches!(
                self,
                Self::NotFound
                    | Self::NoAccess
                    | Self::NotACredential
                    | Self::Rejected
                    | Self::InvalidInput
            )
    }

    /// One line telling the operator what to do about ids that ended this way.
    #[must_use]
    pub fn hint(self) -> Option<&'static str> {
        Some(match self {
            Self::NotFound => {
                "check these ids against the appliance's credential list (GET /api/pam/credential)"
            }
            Self::NoAccess => {
                "ask the administrator to give the A2A authorization access to these credentials"
            }
            Self::NotACredential => {
                "these ids belong to devices or other items: check the input column"
            }
            Self::Rejected => {
                "read the message column: the appliance refused these ids for its own reasons"
            }
            Self::InvalidInput => "fix these lines: an id is a positive whole number",
            Self::Timeout | Self::ServerError | Self::NetworkError | Self::RateLimited => {
                "transient failures: re-run with --resume to retry only these ids"
            }
            Self::UnexpectedResponse => {
                "an answer credbulk could not read: check --url and any proxy in between, then --resume"
            }
            Self::Forbidden => "the A2A authorization needs read and write permission on PAM Core",
            Self::AuthFailed => {
                "check the client id and secret, and that the authorization is enabled and allows this IP"
            }
            Self::Misconfigured => "check --url and try --api-prefix /iso (appliances before 3.33)",
            _ => return None,
        })
    }
}

impl fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to one input record: one report row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Input line of the record.
    pub line: u64,
    /// The id as it will be written: the number, or the raw (shortened) cell for invalid input.
    pub id: String,
    pub kind: OutcomeKind,
    /// Status of the last answer, if any answer came.
    pub http_status: Option<u16>,
    /// Four-digit application code of the last answer, if any.
    pub api_code: Option<u16>,
    /// The server's text or the tool's own explanation. Never a secret.
    pub message: String,
    /// Attempts spent on the id (replays after a token refresh not counted).
    pub attempts: u32,
    /// Time from the first attempt to the decision.
    pub elapsed: Duration,
    /// The input line's cells kept for the report (`--keep-columns`); empty when none.
    pub kept: KeptCells,
}

impl Outcome {
    /// An outcome decided without any request (`invalid_input`, `duplicate`).
    #[must_use]
    pub fn local(line: u64, id: String, kind: OutcomeKind, message: String) -> Self {
        Self {
            line,
            id,
            kind,
            http_status: None,
            api_code: None,
            message,
            attempts: 0,
            elapsed: Duration::ZERO,
            kept: KeptCells::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_report_name() {
        for kind in OutcomeKind::ALL {
            assert_eq!(OutcomeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(OutcomeKind::parse("bogus"), None);
    }

    #[test]
    fn resume_settles_successes_and_permanent_failures_only() {
        let final_kinds: Vec<_> = OutcomeKind::ALL
            .into_iter()
            .filter(|k| k.is_final())
            .collect();
        assert!(final_kinds.contains(&OutcomeKind::Enabled));
        assert!(final_kinds.contains(&OutcomeKind::Duplicate));
        assert!(final_kinds.contains(&OutcomeKind::NotFound));
        for retried in [
            OutcomeKind::Timeout,
            OutcomeKind::RateLimited,
            OutcomeKind::ServerError,
            OutcomeKind::NetworkError,
            OutcomeKind::UnexpectedResponse,
            OutcomeKind::Forbidden,
            OutcomeKind::AuthFailed,
            OutcomeKind::Misconfigured,
        ] {
            assert!(!retried.is_final(), "{retried} must be retried on resume");
        }
    }

    #[test]
    fn every_failure_carries_a_hint() {
        for kind in OutcomeKind::ALL {
            if kind.verdict() == Verdict::Failure {
                assert!(kind.hint().is_some(), "{kind} has no hint");
            }
        }
    }
}
