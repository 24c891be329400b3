//! What the operator sees at the end of a command, and the one place that decides its shape:
//! text for people, or under `--log-format json` one JSON object per stderr line (the summary,
//! errors, even clap's complaints about a bad flag). Results meant for stdout (the plan,
//! `check`, completions) stay text there: stdout is data, not log.

use std::ffi::OsString;

use clap::Parser;
use serde_json::{Map, Value};

use super::Completed;
use crate::cli::Cli;
use crate::error::{Error, exit};
use crate::logging::{is_json, print_line};
use crate::outputs::split_hint;
use crate::redact;

/// Parses the command line; on a bad one prints clap's message (as JSON when `--log-format
/// json` was asked for, which clap itself cannot know yet) and returns the exit code.
pub fn parse(args: &[OsString]) -> Result<Cli, u8> {
    match Cli::try_parse_from(args) {
        Ok(cli) => Ok(cli),
        Err(e) if e.use_stderr() && wants_json(args) => {
            let text = e.render().to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("bad command line")
                .trim_start_matches("error: ");
            let mut fields = Map::new();
            fields.insert(
                "hint".to_owned(),
                "run credbulk --help (or credbulk COMMAND --help) for the flags".into(),
            );
            eprint!("{}", crate::logging::json_line("ERROR", first, fields));
            Err(exit::USAGE)
        }
        Err(e) => {
            let _ = e.print();
            Err(u8::try_from(e.exit_code()).unwrap_or(exit::USAGE))
        }
    }
}

/// Whether the raw arguments ask for JSON on stderr.
fn wants_json(args: &[OsString]) -> bool {
    args.windows(2)
        .any(|w| w[0] == "--log-format" && w[1] == "json")
        || args.iter().any(|a| a == "--log-format=json")
}

/// Prints a finished command's result.
pub fn completed(done: &Completed) -> Result<(), Error> {
    match done {
        Completed::Run { summary, record } => {
            if is_json() {
                let level = if summary.exit_code() == exit::OK {
                    "INFO"
                } else {
                    "WARN"
                };
                let fields = match serde_json::to_value(record.as_ref()) {
                    Ok(Value::Object(map)) => map,
                    _ => Map::new(),
                };
                print_line(level, "run summary", fields);
            } else {
                print_line("INFO", &summary.render(), Map::new());
            }
        }
        #[cfg(feature = "sim")]
        Completed::Demo(summary) => {
            print_line("INFO", &summary.render(), Map::new());
            if summary.ending == crate::control::Ending::Finished {
                print_line("INFO", super::demo::DEMO_EPILOGUE, Map::new());
            }
        }
        Completed::Plan(plan) => return to_stdout(&redact::text(&plan.render())),
        Completed::Check(check) => return to_stdout(&redact::text(&check.render())),
        Completed::Text(text) => return to_stdout(text),
        Completed::Rendered { path, headline } => print_line(
            "INFO",
            &format!("report written to {} ({headline})", path.display()),
            Map::new(),
        ),
        #[cfg(feature = "sim")]
        Completed::Sim => {}
    }
    Ok(())
}

/// Writes a result meant for stdout. A reader that went away (`credbulk report … | head`)
/// ends the output quietly, as for any Unix filter; any other failure (a full disk behind
/// `> page.html`) is an error, since what was written is incomplete.
fn to_stdout(text: &str) -> Result<(), Error> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::usage(
            format!("cannot write to stdout ({e})"),
            "check where stdout goes (disk space, the pipe's reader), or write to a file with -o FILE where the command has it",
        )),
        _ => Ok(()),
    }
}

/// Prints an error that ended a command, with its hint.
pub fn error(e: &Error) {
    if is_json() {
        let (message, hint) = split_hint(&e.to_string());
        let mut fields = Map::new();
        if let Some(hint) = hint {
            fields.insert("hint".to_owned(), hint.into());
        }
        fields.insert("exit_code".to_owned(), e.exit_code().into());
        print_line("ERROR", &message, fields);
    } else {
        print_line("ERROR", &format!("error: {e}"), Map::new());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_wanted_in_either_spelling_of_the_flag() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(wants_json(&args(&[
            "credbulk",
            "--log-format",
            "json",
            "x"
        ])));
        assert!(wants_json(&args(&["credbulk", "x", "--log-format=json"])));
        assert!(!wants_json(&args(&["credbulk", "--log-format", "text"])));
    }
}
