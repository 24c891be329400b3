//! Command-line types: what was typed, exactly as clap parsed it. Nothing here validates,
//! derives or fills in defaults: a value not typed stays `None`, so that `config` can take it
//! from the environment, the config file or the default in that order and say where each came
//! from. Nothing below `config` sees these types.
#![expect(
    clippy::doc_markdown,
    reason = "doc comments here are clap's --help text, where backticks would print literally"
)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Enable senhasegura PAM credentials in bulk, from a CSV of ids, with a per-id report.
#[derive(Debug, Parser)]
#[command(
    name = "credbulk",
    version,
    about,
    long_about = None,
    after_help = crate::manual::after_help(crate::manual::Page::Top)
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Less output: warnings and errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More output: -v for debug, -vv for trace (default: info, or RUST_LOG).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// How stderr is written: text for people, json for log shippers (one JSON object per
    /// line: logs, errors and the summary). A flag only, never from the config file: errors in
    /// that file must already come out in the chosen format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// The shape of every line credbulk writes to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Enable every credential id in INPUT (PUT {prefix}/pam/credential/{id}).
    #[command(after_help = crate::manual::after_help(crate::manual::Page::Run))]
    Enable(RunArgs),
    /// Disable every credential id in INPUT (DELETE …), to roll an enable back; with
    /// --from-report, exactly the ids an earlier enable run enabled.
    #[command(after_help = crate::manual::after_help(crate::manual::Page::Run))]
    Disable(RunArgs),
    /// Show the effective settings and where each came from, fetch one token; change nothing.
    /// Exits 0 when a token came back, 2 on a configuration error, 3 when it was refused.
    #[command(after_help = crate::manual::after_help(crate::manual::Page::Check))]
    Check(CheckArgs),
    /// Run the API simulator until Ctrl-C.
    #[cfg(feature = "sim")]
    #[command(after_help = crate::manual::after_help(crate::manual::Page::Other))]
    Sim(crate::sim::SimArgs),
    /// Start the simulator on a free port and enable the bundled sample ids, end to end.
    #[cfg(feature = "sim")]
    #[command(after_help = crate::manual::after_help(crate::manual::Page::Other))]
    Demo(DemoArgs),
    /// Render reports of one change (a run, its resumes, its shards) as one document for an
    /// auditor: run record, counts per outcome, failures with what to do, and (HTML) a timeline.
    Report(RenderArgs),
    /// Print a shell completion script on stdout (e.g. credbulk completions bash >
    /// /etc/bash_completion.d/credbulk).
    #[command(after_help = crate::manual::after_help(crate::manual::Page::Other))]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff) on stdout: credbulk's, or COMMAND's (e.g. credbulk man enable >
    /// /usr/local/share/man/man1/credbulk-enable.1; read one with man -l FILE).
    #[command(after_help = crate::manual::after_help(crate::manual::Page::Other))]
    Man {
        /// The command whose page to print (enable, disable, check, sim, demo, completions,
        /// man); none for the top page.
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
    },
}

/// Which config file to read, and how to reach and authenticate to the appliance. Every value
/// here may also come from the config file (keys named like the long flags).
#[derive(Debug, Args, Clone, Default)]
pub struct ConnectionArgs {
    /// Config file (TOML, keys named like the long flags); default: $CREDBULK_CONFIG, else
    /// credbulk/config.toml in the OS's config folder if present: $XDG_CONFIG_HOME (else
    /// ~/.config) on Linux, %APPDATA% on Windows, ~/Library/Application Support (else the
    /// Linux path) on macOS.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Read no config file at all.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Base URL of the appliance, e.g. https://pam.example.com [env: SENHASEGURA_URL].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// OAuth2 client id of the A2A application [env: SENHASEGURA_CLIENT_ID].
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// File holding the client secret (else the SENHASEGURA_CLIENT_SECRET variable).
    #[arg(long, value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,
    /// Token endpoint path [default: /iso/oauth2/token].
    #[arg(long, value_name = "PATH")]
    pub token_path: Option<String>,
    /// API prefix: /api (v3.33 and later) or /iso (older) [default: /api].
    #[arg(long, value_name = "PREFIX")]
    pub api_prefix: Option<String>,
    /// Per-request timeout in seconds [default: 30].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// PEM file with the CA certificate(s) of a private CA, trusted on top of the system's.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// Skip TLS certificate verification (warned about on every run). For a lab only.
    #[arg(long)]
    pub insecure: bool,
    /// Credential id the preflight of `check` and --dry-run sends its probe for: one that cannot
    /// exist, so the expected answer is 1007 and nothing changes [default: 2147483647].
    #[arg(long, value_name = "N")]
    pub probe_id: Option<u64>,
    /// Allow plain http:// to a host other than loopback (the secret and token would cross the
    /// network unencrypted).
    #[arg(long)]
    pub allow_http: bool,
}

/// Pace and retry settings, shared by `enable`, `disable` and `check` (which shows them).
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct TuningArgs {
    /// Requests per second, all requests together (retries and token fetches included), or
    /// `auto` to find the appliance's pace from its answers, within --rate-max [default: 10].
    #[arg(long, value_name = "N|auto")]
    pub rate: Option<RateArg>,
    /// With --rate auto: the ceiling, never exceeded [default: 100].
    #[arg(long, value_name = "N")]
    pub rate_max: Option<f64>,
    /// Requests that may go at once after an idle spell [default: 1].
    #[arg(long, value_name = "N")]
    pub burst: Option<u32>,
    /// Requests in flight at most [default: 4].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Attempts per id, the first one included [default: 5].
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
    /// Abort when the appliance has been unreachable for this many seconds while ids wait for
    /// it (idle time does not count) [default: 300].
    #[arg(long, value_name = "SECS")]
    pub max_outage: Option<f64>,
}

/// `--rate` as typed: requests per second, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateArg {
    PerSecond(f64),
    Auto,
}

impl std::str::FromStr for RateArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        s.parse()
            .map(Self::PerSecond)
            .map_err(|_| format!("`{s}` is not a rate: give requests per second (5, 0.5) or auto"))
    }
}

impl<'de> serde::Deserialize<'de> for RateArg {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// A number, or text that must say `auto`.
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        match Raw::deserialize(deserializer) {
            Ok(Raw::Number(n)) => Ok(Self::PerSecond(n)),
            Ok(Raw::Text(t)) if t.trim().eq_ignore_ascii_case("auto") => Ok(Self::Auto),
            _ => Err(serde::de::Error::custom(
                "rate must be requests per second (rate = 5) or \"auto\"",
            )),
        }
    }
}

/// Options of `check`.
#[derive(Debug, Args, Clone, Default)]
pub struct CheckArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub tuning: TuningArgs,
}

/// Options of `enable` and `disable`.
#[derive(Debug, Args, Clone)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each bool is one command-line switch, as typed"
)]
pub struct RunArgs {
    /// CSV of credential ids, or - for stdin.
    #[arg(required_unless_present = "from_report")]
    pub input: Option<String>,
    /// Take the ids from an earlier report instead of INPUT: disable takes the ids whose last
    /// row is `enabled` (enable takes `disabled`), so a run can be rolled back exactly.
    #[arg(
        long,
        value_name = "REPORT",
        conflicts_with_all = ["input", "id_column", "no_header", "encoding", "sheet", "keep_columns"]
    )]
    pub from_report: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub tuning: TuningArgs,
    /// Report path (.jsonl for JSON lines, else CSV; .json is refused); default
    /// <input stem>.<enable|disable>.report.csv.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// How a CSV report is spelled: standard (",", LF) or excel (UTF-8 byte order mark, ";",
    /// CRLF: Excel in a pt-BR locale opens it in columns). A resumed report keeps the dialect
    /// it has [default: standard].
    #[arg(long, value_name = "DIALECT", value_enum)]
    pub report_dialect: Option<ReportDialectArg>,
    /// Continue an earlier run: skip ids the report already settled, append the rest.
    #[arg(long)]
    pub resume: bool,
    /// Column holding the id: a header name (case-insensitive, spaces around ignored) or a
    /// 1-based column number [default: id].
    #[arg(long, value_name = "NAME|N")]
    pub id_column: Option<String>,
    /// The input has no header row: its first line is data (give --id-column as a number).
    #[arg(long)]
    pub no_header: bool,
    /// Text encoding of a CSV input, e.g. utf-8, utf-16le, windows-1252 [default: from its
    /// byte order mark, else UTF-8 when valid, else Windows-1252].
    #[arg(long, value_name = "LABEL")]
    pub encoding: Option<String>,
    /// Workbook sheet to read (.xlsx, .xlsm, .xls, .ods) [default: the first sheet].
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// Copy these input columns into every report row, after the fixed columns (names or
    /// 1-based numbers, comma-separated, matched as --id-column), e.g. "Username,Device".
    /// Resuming a report takes the same columns its first run kept.
    #[arg(long, value_name = "COLUMNS")]
    pub keep_columns: Option<String>,
    /// Validate the input and credentials, print the plan, send no change.
    #[arg(long)]
    pub dry_run: bool,
    /// Hide the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Do not ask "Proceed? [y/N]" at a terminal (runs without a terminal are never asked).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Process only shard K of N (0-based K, e.g. $JOB_COMPLETION_INDEX/4): a stable split of
    /// the ids so several machines can share one input without overlap.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Write a JSON summary of the run here (run id, who, where, input hash, counts, timing,
    /// exit code), also for aborted and interrupted runs.
    #[arg(long, value_name = "PATH")]
    pub summary_json: Option<PathBuf>,
    /// Write Prometheus textfile-collector metrics of the run here (replaced atomically).
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
    /// A change or ticket reference recorded in the summary, e.g. "CHG-1234".
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
}

/// `--report-dialect`, as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportDialectArg {
    Standard,
    Excel,
}

/// Options of `report`.
#[derive(Debug, Args, Clone)]
pub struct RenderArgs {
    /// Report files (CSV or .jsonl) of one input: the run, its resumes, its shards. The last
    /// row per id wins, as --resume reads them; list files oldest first.
    #[arg(required = true, value_name = "REPORT")]
    pub reports: Vec<PathBuf>,
    /// A run's --summary-json file, for the run record (who, where, input SHA-256, note, start,
    /// end, exit code); repeat for each run.
    #[arg(long, value_name = "SUMMARY.json")]
    pub summary: Vec<PathBuf>,
    /// html: one self-contained page with a timeline (no scripts, prints well); md: Markdown
    /// for a ticket or wiki.
    #[arg(long, value_enum)]
    pub format: RenderFormat,
    /// Write the document to FILE (replaced atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The document `report` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RenderFormat {
    Html,
    Md,
}

/// Options of `demo`.
#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Where to write the demo report.
    #[arg(long, default_value = "credbulk-demo.report.csv", value_name = "PATH")]
    pub report: PathBuf,
    /// Hide the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}
