//! The record of one run for auditors and log shippers (`--summary-json`, and the summary line
//! under `--log-format json`): who ran what, when, against which input, with what result.
//! `run_id` ties it to the report's rows. Built from a finished summary or from the error that
//! stopped the run before its first id.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::config::Outputs;
use crate::control::Ending;
use crate::error::Error;
use crate::model::{Operation, Verdict};
use crate::summary::RunSummary;

/// What is known about a run before it starts.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub operation: Operation,
    pub started_at: SystemTime,
    pub outputs: Outputs,
    /// The input as named in messages (`(stdin)` for stdin).
    pub input: String,
    /// SHA-256 of the input file as it was when the run started.
    pub input_sha256: Option<String>,
    pub report: PathBuf,
    pub resume_command: String,
}

/// The summary of one run, as written to `--summary-json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub run_id: String,
    pub tool: &'static str,
    pub version: &'static str,
    pub command: &'static str,
    pub command_line: String,
    pub note: Option<String>,
    /// The OS user who ran it.
    pub user: Option<String>,
    pub host: Option<String>,
    pub input: String,
    pub input_sha256: Option<String>,
    pub report: String,
    /// RFC 3339 UTC.
    pub started_at: String,
    pub ended_at: String,
    /// `ended_at` as Unix time, for the metrics file.
    #[serde(skip)]
    pub ended_unix: f64,
    pub duration_seconds: f64,
    /// `finished`, `aborted`, `interrupted`, or `error` (stopped before the first id).
    pub ending: &'static str,
    pub exit_code: u8,
    pub abort_reason: Option<String>,
    /// What to do about the abort or error.
    pub hint: Option<String>,
    /// Rows this run wrote, per outcome.
    pub outcomes: BTreeMap<&'static str, u64>,
    /// One line per failing outcome of this run: what to do about those ids.
    pub outcome_hints: BTreeMap<&'static str, &'static str>,
    /// Ids skipped because an earlier run settled them (`--resume`), and how many had failed.
    pub settled_earlier: u64,
    pub settled_earlier_failures: u64,
    pub requests: u64,
    pub retries: u64,
    pub token_replays: u64,
    pub token_fetches: u64,
    /// Requests (token fetches included) per second over the run.
    pub achieved_rate: f64,
    pub latency_ms: Latency,
    /// Answers that were a gateway's 429.
    pub rate_limited_answers: u64,
    /// `--rate auto`: the pace found (the median over the run's last minute of the paced
    /// rate, or of the rate sent where that was lower), requests per second; `null` for a
    /// fixed `--rate`.
    pub pace_found: Option<f64>,
    /// The command that continues this run.
    pub resume_command: String,
}

/// Latency percentiles in milliseconds (`null` when no request was answered).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    pub p50: Option<u64>,
    pub p95: Option<u64>,
    pub p99: Option<u64>,
}

impl RunRecord {
    /// The record of a run that ended `result`, at `ended_at`.
    #[must_use]
    pub fn new(
        context: &RunContext,
        ended_at: SystemTime,
        result: &Result<RunSummary, Error>,
    ) -> Self {
        let mut record = Self {
            run_id: String::new(),
            tool: "credbulk",
            version: env!("CARGO_PKG_VERSION"),
            command: context.operation.name(),
            command_line: context.outputs.command_line.clone(),
            note: context.outputs.note.clone(),
            user: user_name(whoami::username().ok(), |name| std::env::var(name).ok()),
            host: whoami::hostname().ok(),
            input: context.input.clone(),
            input_sha256: context.input_sha256.clone(),
            report: context.report.display().to_string(),
            started_at: rfc3339(context.started_at),
            ended_at: rfc3339(ended_at),
            ended_unix: ended_at
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64(),
            duration_seconds: ended_at
                .duration_since(context.started_at)
                .unwrap_or_default()
                .as_secs_f64(),
            ending: "error",
            exit_code: 0,
            abort_reason: None,
            hint: None,
            outcomes: BTreeMap::new(),
            outcome_hints: BTreeMap::new(),
            settled_earlier: 0,
            settled_earlier_failures: 0,
            requests: 0,
            retries: 0,
            token_replays: 0,
            token_fetches: 0,
            achieved_rate: 0.0,
            latency_ms: Latency::default(),
            rate_limited_answers: 0,
            pace_found: None,
            resume_command: context.resume_command.clone(),
        };
        match result {
            Ok(summary) => record.fill_from(summary),
            Err(error) => {
                record.run_id = crate::app::new_run_id();
                record.exit_code = error.exit_code();
                let (message, hint) = split_hint(&error.to_string());
                if let Error::Aborted(_) = error {
                    record.ending = "aborted";
                }
                record.abort_reason = Some(message);
                record.hint = hint;
            }
        }
        record
    }

    fn fill_from(&mut self, summary: &RunSummary) {
        self.run_id.clone_from(&summary.run_id);
        self.exit_code = summary.exit_code();
        self.ending = match &summary.ending {
            Ending::Finished => "finished",
            Ending::Aborted(reason) => {
                self.abort_reason = Some(reason.to_string());
                self.hint = Some(reason.hint());
                "aborted"
            }
            Ending::Interrupted => "interrupted",
        };
        for (kind, n) in summary.tally.iter() {
            self.outcomes.insert(kind.as_str(), n);
            if kind.verdict() == Verdict::Failure
                && let Some(hint) = kind.hint()
            {
                self.outcome_hints.insert(kind.as_str(), hint);
            }
        }
        self.settled_earlier = summary.settled_earlier;
        self.settled_earlier_failures = summary.settled_earlier_failures;
        let m = &summary.metrics;
        self.requests = m.requests;
        self.retries = m.retries;
        self.token_replays = m.replays;
        self.token_fetches = summary.token_fetches;
        self.rate_limited_answers = m.throttled;
        self.pace_found = summary.pace.map(|p| (p.rate * 10.0).round() / 10.0);
        let secs = summary.duration.as_secs_f64();
        self.achieved_rate = if secs > 0.0 {
            (m.requests + summary.token_fetches) as f64 / secs
        } else {
            0.0
        };
        let ms = |d: Option<Duration>| d.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.latency_ms = Latency {
            p50: ms(m.p50),
            p95: ms(m.p95),
            p99: ms(m.p99),
        };
    }
}

/// Splits an error's text at its `hint:` line.
#[must_use]
pub fn split_hint(text: &str) -> (String, Option<String>) {
    match text.split_once("\n  hint: ") {
        Some((message, hint)) => (message.trim().to_owned(), Some(hint.trim().to_owned())),
        None => (text.trim().to_owned(), None),
    }
}

fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// Who ran it. The account lookup goes through the C library's NSS, which a static build cannot
/// load for directory users (sss, LDAP): then the login name the shell set is the best evidence.
fn user_name(lookup: Option<String>, env: impl Fn(&str) -> Option<String>) -> Option<String> {
    let present = |name: String| (!name.trim().is_empty()).then_some(name);
    lookup
        .and_then(present)
        .or_else(|| env("USER").and_then(present))
        .or_else(|| env("LOGNAME").and_then(present))
}

/// A record to test renderers with: an enable run that stopped on a usage error.
#[cfg(test)]
pub(crate) fn sample() -> RunRecord {
    let c = tests::context();
    RunRecord::new(
        &c,
        c.started_at + Duration::from_secs(2),
        &Err(Error::usage("m", "h")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AbortReason;

    pub(super) fn context() -> RunContext {
        RunContext {
            operation: Operation::Enable,
            started_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            outputs: Outputs {
                note: Some("CHG-1".into()),
                command_line: "credbulk enable ids.csv".into(),
                ..Outputs::default()
            },
            input: "ids.csv".into(),
            input_sha256: Some("ab".repeat(32)),
            report: "ids.report.csv".into(),
            resume_command: "credbulk enable ids.csv --resume".into(),
        }
    }

    #[test]
    fn an_error_before_the_first_id_is_recorded_with_its_hint() {
        let c = context();
        let err = Error::Aborted(AbortReason::ClientRejected {
            status: 401,
            message: "Client authentication failed".into(),
        });
        let r = RunRecord::new(&c, c.started_at + Duration::from_secs(2), &Err(err));
        assert_eq!(r.ending, "aborted");
        assert_eq!(r.exit_code, 3);
        assert!(r.abort_reason.unwrap().contains("rejected the client"));
        assert!(r.hint.unwrap().contains("SENHASEGURA_CLIENT_ID"));
        assert!((r.duration_seconds - 2.0).abs() < 1e-9);
        assert_eq!(r.started_at, "2023-11-14T22:13:20.000Z");
        assert!(!r.run_id.is_empty());
        assert_eq!(r.note.as_deref(), Some("CHG-1"));
    }

    #[test]
    fn the_user_falls_back_to_the_login_name_when_the_account_lookup_fails() {
        let env = |name: &str| match name {
            "USER" => Some(String::new()),
            "LOGNAME" => Some("ana".to_owned()),
            _ => None,
        };
        assert_eq!(super::user_name(None, env).as_deref(), Some("ana"));
        assert_eq!(
            super::user_name(Some("root".to_owned()), env).as_deref(),
            Some("root")
        );
        assert_eq!(super::user_name(None, |_| None), None);
    }
}
