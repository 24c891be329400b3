//! The reference an operator needs offline: exit codes, outcomes, environment variables and the
//! config file, as data. `--help` ends with parts of it (`cli`), and every man page carries it
//! as sections (`app::shell`), so the two never say different things. A leaf: it depends on
//! nothing but `model` and `error`'s exit codes, so `cli` can use it without a cycle.

use crate::error::exit;
use std::fmt::Write as _;

use crate::model::OutcomeKind;

/// Which reference sections a page or help text carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// `credbulk` itself: everything.
    Top,
    /// `enable` and `disable`: runs that write a report.
    Run,
    /// `check`: settings and one token, no ids.
    Check,
    /// `sim`, `demo`, `completions`, `man`: no appliance settings.
    Other,
}

/// Exit codes and what they mean (design.md §6).
pub const EXIT_CODES: &[(u8, &str)] = &[
    (
        exit::OK,
        "every id ended in a success outcome (duplicates are neutral)",
    ),
    (
        exit::FAILURES,
        "the run finished and some ids failed: the report says which; transient failures retry with --resume",
    ),
    (
        exit::USAGE,
        "usage, configuration or input error (or the report is refused): nothing was sent",
    ),
    (
        exit::ABORTED,
        "aborted on a failure that would repeat for every id (client refused, read-only authorization, wrong URL or prefix, appliance down past --max-outage): fix the cause, then --resume",
    ),
    (
        exit::INTERRUPTED,
        "interrupted by SIGINT/SIGTERM: in-flight ids finished, report flushed; run the printed command (it adds --resume)",
    ),
];

/// `check`'s exit codes.
const CHECK_EXIT_CODES: &[(u8, &str)] = &[
    (
        exit::OK,
        "a token came back: the URL, TLS trust and credentials work",
    ),
    (exit::USAGE, "a configuration error: nothing was sent"),
    (
        exit::ABORTED,
        "the token endpoint refused the client or could not be reached",
    ),
];

/// The exit codes of commands that do not touch an appliance.
const OTHER_EXIT_CODES: &[(u8, &str)] = &[
    (exit::OK, "done (sim: stopped by Ctrl-C or SIGTERM)"),
    (
        exit::USAGE,
        "a bad flag or value, or a port or file that cannot be used",
    ),
];

/// Environment variables that credbulk reads, and what for.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "SENHASEGURA_URL",
        "base URL of the appliance, when --url is not given",
    ),
    (
        "SENHASEGURA_CLIENT_ID",
        "OAuth2 client id, when --client-id is not given",
    ),
    (
        "SENHASEGURA_CLIENT_SECRET",
        "the client secret itself, when --client-secret-file is not given (never a flag: it would show in ps)",
    ),
    (
        "CREDBULK_CONFIG",
        "the config file to read, when --config is not given",
    ),
    (
        "XDG_CONFIG_HOME",
        "where the default config file is looked for on Linux (else HOME/.config), and second on macOS",
    ),
    (
        "APPDATA",
        "where the default config file is looked for on Windows",
    ),
    (
        "RUST_LOG",
        "log filter when neither -q nor -v is given (e.g. credbulk=debug)",
    ),
];

/// What each outcome means (design.md §3), in report order.
#[must_use]
pub fn outcome_meaning(kind: OutcomeKind) -> &'static str {
    use OutcomeKind as K;
    match kind {
        K::Enabled => "200; or 1043 on a retry after a lost answer (confirmed on retry): success",
        K::Disabled => "200; or 1008 on a retry after a lost answer (confirmed on retry): success",
        K::AlreadyEnabled => "1043 (or 1017) on the first answer: already active; success",
        K::AlreadyDisabled => "1008 on the first answer: already inactive; success",
        K::NotFound => "1007: no such credential; failure, settled",
        K::NoAccess => "1009: the authorization cannot reach it; failure, settled",
        K::NotACredential => "1010: the id is a device or another item; failure, settled",
        K::Rejected => "any other application code; failure, settled",
        K::InvalidInput => "the cell is not a positive whole number; never sent; failure, settled",
        K::Duplicate => "the id appeared earlier in the input; sent once; neutral",
        K::Timeout => "no answer in time, 408, 504 after every attempt; failure, --resume retries",
        K::RateLimited => "429 after every attempt; failure, --resume retries",
        K::ServerError => "500, 502, 503 after every attempt; failure, --resume retries",
        K::NetworkError => {
            "refused, reset or dropped connection after every attempt; failure, --resume retries"
        }
        K::UnexpectedResponse => {
            "an answer that cannot be read (redirect, HTML, error on a 2xx); failure, --resume retries"
        }
        K::Forbidden => "1039, read-only authorization: the run aborted (exit 3)",
        K::AuthFailed => "a fresh token refused again: the run aborted (exit 3)",
        K::Misconfigured => "wrong URL or --api-prefix: the run aborted (exit 3)",
    }
}

/// The config file, for the FILES section.
pub const CONFIG_FILE: &str = "TOML, keys named like the long flags (rate = 5 or rate = \"auto\" with rate-max = 100, url = \"https://pam.example.com\", client-secret-file = \"/run/secrets/senhasegura\"). Read from --config, else $CREDBULK_CONFIG, else credbulk/config.toml in the OS's config folder if present ($XDG_CONFIG_HOME or ~/.config on Linux, %APPDATA% on Windows, ~/Library/Application Support then the Linux path on macOS); --no-config reads none. Relative paths in it are taken from its folder. It never holds the secret itself, nor settings of one run (input, report, resume, dry-run, from-report, shard, note, keep-columns); report-dialect may stand in it (for CSV reports). A flag wins over the environment, the environment over the file, the file over the default.";

/// The other files a run reads or leaves, for the FILES section of run pages.
pub const RUN_FILES: &[(&str, &str)] = &[
    (
        "--report PATH",
        "one row per input record, flushed as each id is decided (CSV, or JSON lines for .jsonl); by default beside the input, named after it. Locked while a run owns it; never overwritten without --resume. --keep-columns adds input columns after the fixed ones (a \"kept\" object in JSON lines), and a resumed report must keep the same ones. --report-dialect excel writes a UTF-8 byte order mark, ; and CRLF; a resumed report keeps the dialect it has, and every reader tells it from the first line",
    ),
    (
        "--summary-json PATH",
        "the run's audit record, replaced atomically; it holds rate_limited_answers (the 429s) and, with --rate auto, pace_found (req/s: the median of the paced rate over the run's last minute, or of the rate sent where that was lower; for a --shard, its part of the gateway's limit)",
    ),
    (
        "--metrics-file PATH",
        "Prometheus textfile-collector metrics, replaced atomically (credbulk_rate_limited_answers_total, and credbulk_pace_found_requests_per_second with --rate auto; for a --shard, its part of the limit)",
    ),
];

/// The exit codes `page` documents.
#[must_use]
pub fn exit_codes(page: Page) -> &'static [(u8, &'static str)] {
    match page {
        Page::Top | Page::Run => EXIT_CODES,
        Page::Check => CHECK_EXIT_CODES,
        Page::Other => OTHER_EXIT_CODES,
    }
}

/// The environment variables `page` documents.
#[must_use]
pub fn environment(page: Page) -> &'static [(&'static str, &'static str)] {
    match page {
        Page::Top | Page::Run | Page::Check => ENVIRONMENT,
        // Only the log filter applies to the simulator and the demo.
        Page::Other => &ENVIRONMENT[ENVIRONMENT.len() - 1..],
    }
}

/// The text `--help` ends with: exit codes and environment variables, aligned.
#[must_use]
pub fn after_help(page: Page) -> String {
    let mut text = String::from("Exit status:\n");
    for (code, meaning) in exit_codes(page) {
        let _ = writeln!(text, "  {code:<4} {meaning}");
    }
    text.push_str("\nEnvironment:\n");
    for (name, meaning) in environment(page) {
        let _ = writeln!(text, "  {name:<26} {meaning}");
    }
    if page != Page::Other {
        text.push_str("\nMore: credbulk man");
        if page != Page::Top {
            text.push_str(" COMMAND");
        }
        text.push_str(" (exit status, outcomes, environment, config file).");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_code_of_the_error_module_is_documented() {
        let codes: Vec<u8> = EXIT_CODES.iter().map(|(c, _)| *c).collect();
        assert_eq!(
            codes,
            [
                exit::OK,
                exit::FAILURES,
                exit::USAGE,
                exit::ABORTED,
                exit::INTERRUPTED
            ]
        );
    }

    #[test]
    fn the_help_text_names_every_code_and_variable_of_its_page() {
        let text = after_help(Page::Run);
        for (code, _) in EXIT_CODES {
            assert!(text.contains(&format!("  {code} ")), "{code} in\n{text}");
        }
        for (name, _) in ENVIRONMENT {
            assert!(text.contains(name), "{name} in\n{text}");
        }
        let other = after_help(Page::Other);
        assert!(other.contains("RUST_LOG") && !other.contains("SENHASEGURA_URL"));
    }
}
