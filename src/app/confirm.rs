//! The confirmation of an `enable`/`disable` run typed at a terminal: the plan (operation, how
//! many ids, appliance, report) on stderr, then `Proceed? [y/N]`. Asked only when stdin and
//! stderr are both terminals, not for `--dry-run`, and never with `--yes`: cron, CI, pipes and
//! the demo are never asked anything.
//!
//! Asked after the configuration is validated and before anything is sent — not even a token
//! fetch, which the appliance audits like any call — so a "no" leaves no trace anywhere: no
//! request, no report, no summary file. Knows the run's settings, not how the run goes.

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use crate::config::RunConfig;
use crate::control::Control;
use crate::error::Error;
use crate::input::InputSource;

/// Whether a run must be confirmed: a person at a terminal, a real run, no `--yes`.
#[must_use]
pub fn wanted(config: &RunConfig, yes: bool) -> bool {
    !yes && !config.dry_run && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Shows the plan and asks; `Ok` on `y`/`yes`. Anything else (an empty line, end of input)
/// is a "no": exit 2, nothing sent. A signal while asking is an interrupt: exit 130.
pub async fn ask(config: &RunConfig, control: &Arc<Control>) -> Result<(), Error> {
    let question = question(config);
    let answer = tokio::task::spawn_blocking(move || {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(crate::redact::text(&question).as_bytes());
        let _ = stderr.flush();
        drop(stderr);
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    });
    // The reading thread cannot be stopped; on a signal it is left behind and dies with the
    // process.
    let answer = tokio::select! {
        () = control.token().cancelled() => return Err(Error::Interrupted("interrupted at the confirmation")),
        answer = answer => answer,
    };
    match answer {
        Ok(Ok(line)) if is_yes(&line) => Ok(()),
        _ => Err(Error::usage(
            "not confirmed: nothing was sent",
            "answer y to proceed, or pass --yes to skip the question (runs without a terminal are never asked)",
        )),
    }
}

/// Whether an answer is a yes (`y` or `yes`, any case, spaces ignored).
fn is_yes(answer: &str) -> bool {
    let answer = answer.trim();
    answer.eq_ignore_ascii_case("y") || answer.eq_ignore_ascii_case("yes")
}

/// The plan and the question.
fn question(config: &RunConfig) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "credbulk {}: {} from {}",
        config.operation.name(),
        ids(&config.input),
        config.input.describe()
    );
    let host = config
        .connection
        .base
        .host_str()
        .map_or_else(|| config.connection.base.to_string(), str::to_owned);
    let _ = writeln!(out, "  appliance  {host}");
    let report = if config.resume {
        " (resumed: ids it already settled are skipped)"
    } else {
        ""
    };
    let _ = writeln!(out, "  report     {}{report}", config.report.display());
    out.push_str("Proceed? [y/N] ");
    out
}

/// How many ids, as far as it is cheap to know: the data lines of a file, else its size.
fn ids(input: &InputSource) -> String {
    match input {
        InputSource::Path(path) => match super::run::estimate_records(input) {
            Some(n) => format!("about {n} ids (data lines)"),
            None => std::fs::metadata(path)
                .map_or_else(|_| "ids".to_owned(), |m| format!("ids ({} bytes)", m.len())),
        },
        InputSource::Stdin => "the ids typed or piped on stdin".to_owned(),
        _ => super::run::estimate_records(input)
            .map_or_else(|| "ids".to_owned(), |n| format!("about {n} ids")),
    }
}

#[cfg(test)]
mod tests {
    use super::is_yes;

    #[test]
    fn only_y_or_yes_is_a_yes() {
        for yes in ["y\n", "Y", " yes \r\n", "YES"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yep", "y y", "sim"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }
}
