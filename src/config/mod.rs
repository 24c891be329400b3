//! Turns what was typed (`cli`), the environment and the config file into one validated, typed
//! configuration: a flag wins over the environment, the environment over the file, the file
//! over the default (design.md §1), and where each setting came from is recorded for `check`.
//! Every check of a value happens here, once, with an error that says how to fix it. Nothing
//! below this module sees clap types.

mod file;
mod location;
mod quote;
mod source;
mod validate;

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::cli::{CheckArgs, ConnectionArgs, RateArg, RunArgs, TuningArgs};
use crate::error::Error;
use crate::input::{IdColumn, InputOptions, InputSource, Shard};
use crate::model::{Operation, OutcomeKind};
use crate::report::{Dialect, ReportFormat};
use crate::secret::Secret;

pub use file::{CONFIG_ENV, FileSettings};
pub use quote::resume_advice;
pub use source::{Layers, Setting, Source};
pub use validate::{default_report_path, rollback_report_path};

/// The variable that carries the client secret (never a plain flag: it would show in `ps`).
pub const SECRET_ENV: &str = "SENHASEGURA_CLIENT_SECRET";
/// The variable that carries the appliance URL.
pub const URL_ENV: &str = "SENHASEGURA_URL";
/// The variable that carries the `OAuth2` client id.
pub const CLIENT_ID_ENV: &str = "SENHASEGURA_CLIENT_ID";

/// How the appliance's certificate is checked.
#[derive(Debug, Clone, Default)]
pub struct Tls {
    /// A private CA's certificates (or the appliance's own self-signed one), trusted on top of
    /// the system's (`--ca-cert`), as DER.
    pub ca_certs: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// No verification at all (`--insecure`); warned about whenever a client is built.
    pub insecure: bool,
}

/// How to reach and authenticate to the appliance.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Base URL without a trailing slash.
    pub base: Url,
    pub client_id: String,
    pub secret: Secret,
    /// Token endpoint path, starting with `/`.
    pub token_path: String,
    /// `/api` or `/iso`, without a trailing slash.
    pub api_prefix: String,
    /// Bound on each request, body included.
    pub timeout: Duration,
    pub tls: Tls,
    /// The id the preflight probes (`--probe-id`): one that should not exist.
    pub probe_id: u64,
}

/// The default `--probe-id`: the largest 32-bit signed id, far beyond any real appliance's.
pub const DEFAULT_PROBE_ID: u64 = 2_147_483_647;

impl Connection {
    /// Resolves and validates the connection settings.
    pub fn resolve(args: ConnectionArgs, layers: &mut Layers) -> Result<Self, Error> {
        let url = layers.pick_text("url", args.url, URL_ENV, |f| f.url.clone());
        let client_id = layers.pick_text("client-id", args.client_id, CLIENT_ID_ENV, |f| {
            f.client_id.clone()
        });
        let secret = resolve_secret(args.client_secret_file, layers)?;
        // Every missing one at once: an operator setting up cron should not discover them one
        // run at a time.
        let missing = (url.is_none(), client_id.is_none(), secret.is_none());
        let (Some(url), Some(client_id), Some(secret)) = (url, client_id, secret) else {
            return Err(missing_settings(missing.0, missing.1, missing.2));
        };
        let allow_http = layers.pick(
            "allow-http",
            args.allow_http.then_some(true),
            |f| f.allow_http,
            false,
        );
        let base = validate::base_url(&layers.name_of("url"), &url, allow_http)?;
        let token_path = layers.pick(
            "token-path",
            args.token_path,
            |f| f.token_path.clone(),
            "/iso/oauth2/token".to_owned(),
        );
        let api_prefix = layers.pick(
            "api-prefix",
            args.api_prefix,
            |f| f.api_prefix.clone(),
            "/api".to_owned(),
        );
        let timeout = layers.pick("timeout", args.timeout, |f| f.timeout, 30.0);
        let timeout = validate::seconds(&layers.name_of("timeout"), timeout)?;
        let ca_cert = layers.pick_opt("ca-cert", args.ca_cert, |f| f.ca_cert.clone());
        let insecure = layers.pick(
            "insecure",
            args.insecure.then_some(true),
            |f| f.insecure,
            false,
        );
        let ca_certs = ca_cert
            .as_deref()
            .map(validate::ca_certs)
            .transpose()?
            .unwrap_or_default();
        let probe_id = layers.pick("probe-id", args.probe_id, |f| f.probe_id, DEFAULT_PROBE_ID);
        if probe_id == 0 {
            return Err(Error::usage(
                format!("{} 0 is not a credential id", layers.name_of("probe-id")),
                "give a positive id that does not exist on the appliance, or leave the default",
            ));
        }
        Ok(Self {
            probe_id,
            base,
            client_id: client_id.trim().to_owned(),
            secret,
            token_path: validate::path_flag(&layers.name_of("token-path"), &token_path)?,
            api_prefix: validate::path_flag(&layers.name_of("api-prefix"), &api_prefix)?,
            timeout,
            tls: Tls { ca_certs, insecure },
        })
    }

    /// Full URL of the token endpoint.
    #[must_use]
    pub fn token_url(&self) -> String {
        format!("{}{}", self.base_str(), self.token_path)
    }

    /// URL of the credential collection, to which `/{id}` is appended.
    #[must_use]
    pub fn credential_url(&self) -> String {
        format!("{}{}/pam/credential/", self.base_str(), self.api_prefix)
    }

    fn base_str(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }
}

/// The secret: `--client-secret-file`, else `SENHASEGURA_CLIENT_SECRET`, else the file's
/// `client-secret-file`; `None` when none of them is set. Recorded for `check` as redacted,
/// with the path it was read from.
fn resolve_secret(flag: Option<PathBuf>, layers: &mut Layers) -> Result<Option<Secret>, Error> {
    let (path, source, name) = if let Some(path) = flag {
        (path, Source::Flag, "--client-secret-file".to_owned())
    } else if let Some(value) = layers.env(SECRET_ENV) {
        let secret = validate::secret(SECRET_ENV, None, Some(value))?;
        layers.record(
            "client-secret",
            "(redacted)".to_owned(),
            Source::Env(SECRET_ENV),
        );
        return Ok(Some(secret));
    } else if let Some(path) = layers.file().and_then(|f| f.client_secret_file.clone()) {
        let name = layers.file_path().map_or_else(
            || "client-secret-file".to_owned(),
            |p| format!("`client-secret-file` in {}", p.display()),
        );
        (path, layers.file_source(), name)
    } else {
        return Ok(None);
    };
    let secret = validate::secret(&name, Some(&path), None)?;
    layers.record(
        "client-secret",
        format!("(redacted), read from {}", path.display()),
        source,
    );
    Ok(Some(secret))
}

/// One error naming every required setting that nothing gave, and each one's flag and variable.
fn missing_settings(url: bool, client_id: bool, secret: bool) -> Error {
    let mut missing = Vec::new();
    let mut hint = Vec::new();
    if url {
        missing.push(format!("no appliance URL (--url or {URL_ENV})"));
        hint.push(format!("--url https://pam.example.com (or {URL_ENV})"));
    }
    if client_id {
        missing.push(format!(
            "no OAuth2 client id (--client-id or {CLIENT_ID_ENV})"
        ));
        hint.push(format!("--client-id ID (or {CLIENT_ID_ENV})"));
    }
    if secret {
        missing.push(format!(
            "no client secret (--client-secret-file or {SECRET_ENV})"
        ));
        hint.push(format!("--client-secret-file PATH (or {SECRET_ENV})"));
    }
    Error::usage(
        missing.join(", "),
        format!(
            "pass {}, or put them in the config file (see credbulk man)",
            hint.join(", ")
        ),
    )
}

/// Pace and retry settings.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// Requests per second, all requests together; with `auto`, the ceiling (`--rate-max`).
    pub rate: f64,
    /// Fixed, or `--rate auto` (the pace follows the appliance's answers, never above `rate`).
    pub mode: RateMode,
    pub burst: NonZeroU32,
    pub concurrency: NonZeroUsize,
    pub max_attempts: NonZeroU32,
    pub max_outage: Duration,
}

/// How the pace is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateMode {
    /// `--rate N`: always `N`.
    Fixed,
    /// `--rate auto`: from the answers, within `--rate-max`.
    Auto,
}

/// `--rate` when nobody set it. `RateArg::Auto` here makes `--rate auto` the default (within
/// [`DEFAULT_RATE_MAX`]); see README, "Finding the pace", for why it is not (yet).
pub const DEFAULT_RATE: RateArg = RateArg::PerSecond(10.0);

/// `--rate-max` when nobody set it: the ceiling of `--rate auto`.
pub const DEFAULT_RATE_MAX: f64 = 100.0;

/// Largest `--burst` accepted.
pub const MAX_BURST: u32 = 10_000;
/// Largest `--concurrency` accepted.
pub const MAX_CONCURRENCY: usize = 4_096;

impl Tuning {
    /// Resolves and validates the pace and retry settings.
    pub fn resolve(args: TuningArgs, layers: &mut Layers) -> Result<Self, Error> {
        let (rate, mode) = match layers.pick("rate", args.rate, |f| f.rate, DEFAULT_RATE) {
            RateArg::PerSecond(rate) => {
                if args.rate_max.is_some() {
                    return Err(Error::usage(
                        format!(
                            "--rate-max is the ceiling of --rate auto, but {} is {rate}",
                            layers.name_of("rate")
                        ),
                        "pass --rate auto with --rate-max, or a fixed --rate alone",
                    ));
                }
                (rate, RateMode::Fixed)
            }
            RateArg::Auto => (
                layers.pick("rate-max", args.rate_max, |f| f.rate_max, DEFAULT_RATE_MAX),
                RateMode::Auto,
            ),
        };
        let key = match mode {
            RateMode::Auto => "rate-max",
            RateMode::Fixed => "rate",
        };
        // Bounds keep the rate limiter's arithmetic sound (a period over centuries, or a burst
        // tolerance that overflows, panics inside it) and stay far beyond any real appliance.
        if !(rate.is_finite() && (0.001..=1_000_000.0).contains(&rate)) {
            return Err(Error::usage(
                format!("{} {rate} is out of range", layers.name_of(key)),
                "give requests per second from 0.001 to 1000000 (decimals allowed, e.g. 0.5)",
            ));
        }
        let burst = layers.pick("burst", args.burst, |f| f.burst, 1);
        let burst = NonZeroU32::new(burst)
            .filter(|b| b.get() <= MAX_BURST)
            .ok_or_else(|| {
                Error::usage(
                    format!("{} {burst} is out of range", layers.name_of("burst")),
                    format!("give a burst from 1 to {MAX_BURST}"),
                )
            })?;
        let concurrency = layers.pick("concurrency", args.concurrency, |f| f.concurrency, 4);
        let concurrency = NonZeroUsize::new(concurrency)
            .filter(|c| c.get() <= MAX_CONCURRENCY)
            .ok_or_else(|| {
                Error::usage(
                    format!(
                        "{} {concurrency} is out of range",
                        layers.name_of("concurrency")
                    ),
                    format!("give a concurrency from 1 to {MAX_CONCURRENCY}"),
                )
            })?;
        let max_attempts = layers.pick("max-attempts", args.max_attempts, |f| f.max_attempts, 5);
        let max_attempts = NonZeroU32::new(max_attempts).ok_or_else(|| {
            Error::usage(
                format!("{} 0 would never send", layers.name_of("max-attempts")),
                "give max attempts of 1 or more",
            )
        })?;
        let max_outage = layers.pick("max-outage", args.max_outage, |f| f.max_outage, 300.0);
        let max_outage = validate::seconds(&layers.name_of("max-outage"), max_outage)?;
        Ok(Self {
            rate,
            mode,
            burst,
            concurrency,
            max_attempts,
            max_outage,
        })
    }
}

/// Finds and reads the config file the connection flags point at (or the default one).
pub fn layers<'a>(
    args: &ConnectionArgs,
    env: &'a dyn Fn(&str) -> Option<String>,
) -> Result<Layers<'a>, Error> {
    let path = file::locate(args.config.as_deref(), args.no_config, env);
    let file = path
        .map(|p| file::load(&p).map(|settings| (p, settings)))
        .transpose()?;
    Ok(Layers::new(env, file))
}

/// Everything `check` needs, with the record of where each setting came from.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    pub connection: Connection,
    pub tuning: Tuning,
    /// Every effective setting and its source, in flag order. No secret in it.
    pub settings: Vec<Setting>,
    /// The config file read, if any.
    pub config_file: Option<PathBuf>,
}

impl CheckConfig {
    /// Resolves `check`'s flags over the environment and the config file.
    pub fn from_args(args: CheckArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut layers = layers(&args.connection, env)?;
        let connection = Connection::resolve(args.connection, &mut layers)?;
        let tuning = Tuning::resolve(args.tuning, &mut layers)?;
        Ok(Self {
            connection,
            tuning,
            config_file: layers.file_path().map(Path::to_owned),
            settings: layers.settings,
        })
    }
}

/// The audit and monitoring files a run leaves, and what they record about it.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// `--summary-json`.
    pub summary_json: Option<PathBuf>,
    /// `--metrics-file` (Prometheus textfile collector).
    pub metrics_file: Option<PathBuf>,
    /// `--note`: a change or ticket reference.
    pub note: Option<String>,
    /// The file the ids came from (the input, or the report for `--from-report`), hashed into
    /// the summary; `None` for stdin and the demo's sample.
    pub input_file: Option<PathBuf>,
    /// The command line as typed (it never holds a secret: there is no flag for one).
    pub command_line: String,
}

/// Everything an `enable` or `disable` run needs, validated.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub operation: Operation,
    pub connection: Connection,
    pub input: InputSource,
    /// How to read the input: id column, header, encoding, sheet.
    pub input_options: InputOptions,
    /// Requests per second, all requests together; with `auto`, the ceiling (`--rate-max`).
    pub rate: f64,
    /// Fixed, or `--rate auto` (the pace follows the appliance's answers, never above `rate`).
    pub rate_mode: RateMode,
    pub burst: NonZeroU32,
    pub concurrency: NonZeroUsize,
    pub max_attempts: NonZeroU32,
    /// Abort when nothing succeeded for this long because the server kept failing.
    pub max_outage: Duration,
    pub report: PathBuf,
    pub report_format: ReportFormat,
    /// The CSV dialect of a new report (a resumed one keeps its own).
    pub report_dialect: Dialect,
    pub resume: bool,
    pub dry_run: bool,
    /// Draw the progress bar (stderr is a terminal and `--no-progress` was not given).
    pub progress: bool,
    /// How to resume this run, shown after an interrupt or abort (no secret in it).
    pub resume_command: String,
    /// Only this slice of the ids (`--shard K/N`).
    pub shard: Option<Shard>,
    /// Summary and metrics files, and what they record.
    pub outputs: Outputs,
}

impl RunConfig {
    /// Validates `enable`/`disable` flags over the environment and the config file.
    pub fn from_args(
        operation: Operation,
        args: RunArgs,
        env: &dyn Fn(&str) -> Option<String>,
        stderr_is_terminal: bool,
    ) -> Result<Self, Error> {
        let mut layers = layers(&args.connection, env)?;
        let connection = Connection::resolve(args.connection, &mut layers)?;
        let tuning = Tuning::resolve(args.tuning, &mut layers)?;
        let (input, input_file, default_report) = match (args.from_report, args.input) {
            (Some(from), _) => {
                let input = from_report(&from, operation)?;
                let report = rollback_report_path(&from, operation.name());
                (input, Some(from), report)
            }
            (None, Some(text)) if text == "-" => (
                InputSource::Stdin,
                None,
                default_report_path(&InputSource::Stdin, operation.name()),
            ),
            (None, Some(text)) => {
                let input = InputSource::Path(PathBuf::from(&text));
                let report = default_report_path(&input, operation.name());
                (input, Some(PathBuf::from(text)), report)
            }
            (None, None) => {
                return Err(Error::usage(
                    "no input",
                    "give INPUT (a CSV of ids, or - for stdin) or --from-report REPORT",
                ));
            }
        };
        if args.report.is_none() && args.resume {
            refuse_legacy_default(&input, &default_report)?;
        }
        let report = args.report.unwrap_or(default_report);
        let report_format = validate::report_format(&report)?;
        let report_dialect = report_dialect(args.report_dialect, report_format, &mut layers)?;
        let input_options = input_options(
            InputArgs {
                id_column: args.id_column,
                no_header: args.no_header,
                encoding: args.encoding,
                sheet: args.sheet,
                keep_columns: args.keep_columns,
            },
            &mut layers,
        )?;
        let no_progress = layers.pick(
            "no-progress",
            args.no_progress.then_some(true),
            |f| f.no_progress,
            false,
        );
        let shard = args
            .shard
            .as_deref()
            .map(Shard::parse)
            .transpose()
            .map_err(|m| {
                Error::usage(m, "give --shard K/N with K from 0 to N-1, e.g. --shard 0/4")
            })?;
        let summary_json = layers
            .pick_opt("summary-json", args.summary_json, |f| {
                f.summary_json.clone()
            })
            .map(|p| validate::output_path(&layers.name_of("summary-json"), p))
            .transpose()?;
        let metrics_file = layers
            .pick_opt("metrics-file", args.metrics_file, |f| {
                f.metrics_file.clone()
            })
            .map(|p| validate::output_path(&layers.name_of("metrics-file"), p))
            .transpose()?;
        let outputs = Outputs {
            summary_json,
            metrics_file,
            note: args
                .note
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty()),
            input_file,
            command_line: validate::command_line(lossy_args()),
        };
        Ok(Self {
            operation,
            connection,
            input,
            input_options,
            rate: tuning.rate,
            rate_mode: tuning.mode,
            burst: tuning.burst,
            concurrency: tuning.concurrency,
            max_attempts: tuning.max_attempts,
            max_outage: tuning.max_outage,
            report,
            report_format,
            report_dialect,
            resume: args.resume,
            dry_run: args.dry_run,
            progress: stderr_is_terminal && !no_progress,
            resume_command: validate::resume_command(lossy_args()),
            shard,
            outputs,
        })
    }
}

/// `--resume` without `--report` where only the default name of earlier versions
/// (`<input stem>.report.csv`, `credbulk-report.csv` for stdin) holds a report: resuming into the
/// new default name would start over and write `already_enabled` for every id that run enabled,
/// so the run is refused with the flag that continues it.
fn refuse_legacy_default(input: &InputSource, default_report: &Path) -> Result<(), Error> {
    let legacy = match input {
        InputSource::Path(path) => {
            let stem = path
                .file_stem()
                .map_or_else(|| "credbulk".into(), |s| s.to_string_lossy().into_owned());
            path.with_file_name(format!("{stem}.report.csv"))
        }
        InputSource::Stdin => PathBuf::from("credbulk-report.csv"),
        // A rollback's default name has not changed for reports named the old way.
        InputSource::Bytes(_) | InputSource::Owned { .. } => return Ok(()),
    };
    let holds_rows = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.len() > 0);
    if holds_rows(&legacy) && !holds_rows(default_report) {
        return Err(Error::usage(
            format!(
                "--resume: no report at {}, but {} exists (the default report name of earlier versions)",
                default_report.display(),
                legacy.display()
            ),
            format!(
                "to continue that run pass --report {}",
                quote::for_shell(&legacy.display().to_string())
            ),
        ));
    }
    Ok(())
}

/// The input flags as typed.
struct InputArgs {
    id_column: Option<String>,
    no_header: bool,
    encoding: Option<String>,
    sheet: Option<String>,
    keep_columns: Option<String>,
}

/// `--report-dialect`, else `report-dialect` in the config file, else `standard`. The flag
/// with a JSON-lines report is refused (it would do nothing); the file's standing choice
/// applies to CSV reports only.
fn report_dialect(
    flag: Option<crate::cli::ReportDialectArg>,
    format: ReportFormat,
    layers: &mut Layers,
) -> Result<Dialect, Error> {
    use crate::cli::ReportDialectArg;
    let flag = flag.map(|d| match d {
        ReportDialectArg::Standard => Dialect::Standard.name().to_owned(),
        ReportDialectArg::Excel => Dialect::Excel.name().to_owned(),
    });
    if format == ReportFormat::Jsonl {
        if let Some(name) = flag {
            return Err(Error::usage(
                format!(
                    "--report-dialect {name} is for CSV reports, but --report names a JSON-lines (.jsonl) report"
                ),
                "drop --report-dialect, or give --report a .csv name",
            ));
        }
        return Ok(Dialect::Standard);
    }
    let name = layers.pick(
        "report-dialect",
        flag,
        |f| f.report_dialect.clone(),
        Dialect::Standard.name().to_owned(),
    );
    Dialect::parse(&name).map_err(|m| {
        Error::usage(
            format!("{}: {m}", layers.name_of("report-dialect")),
            "give standard or excel",
        )
    })
}

/// `--id-column`, `--no-header`, `--encoding` and `--sheet`, checked. Without `--id-column`
/// the input's own header rule applies (README "Input"), so the default is recorded as `id`.
fn input_options(args: InputArgs, layers: &mut Layers) -> Result<InputOptions, Error> {
    let id_column = layers
        .pick_opt("id-column", args.id_column, |f| f.id_column.clone())
        .map(|text| IdColumn::parse(&text))
        .transpose()
        .map_err(|m| {
            Error::usage(
                m,
                "give the header name of the id column, or its number counting from 1",
            )
        })?;
    let encoding = layers
        .pick_opt("encoding", args.encoding, |f| f.encoding.clone())
        .map(|label| crate::input::parse_encoding(&label))
        .transpose()
        .map_err(|m| {
            Error::usage(
                m,
                "give utf-8, utf-16le, utf-16be or windows-1252 (any WHATWG encoding label)",
            )
        })?;
    let keep_columns = args
        .keep_columns
        .as_deref()
        .map(crate::input::parse_keep_columns)
        .transpose()
        .map_err(|m| {
            Error::usage(
                m,
                "give header names or column numbers counting from 1, separated by commas, e.g. --keep-columns \"Username,Device\"",
            )
        })?
        .unwrap_or_default();
    Ok(InputOptions {
        id_column,
        no_header: args.no_header,
        encoding,
        sheet: args.sheet.filter(|s| !s.trim().is_empty()),
        keep_columns,
    })
}

/// The input of `--from-report`: the ids the run being undone changed (`enabled` rows for a
/// `disable`, `disabled` rows for an `enable`), and those its in-doubt journal says it may have
/// changed without a row to show for it.
fn from_report(path: &Path, operation: Operation) -> Result<InputSource, Error> {
    let wanted = match operation {
        Operation::Disable => OutcomeKind::Enabled,
        Operation::Enable => OutcomeKind::Disabled,
    };
    let fail = |message: String| Error::Report {
        path: path.to_owned(),
        message,
        hint: format!(
            "pass the report (CSV or .jsonl) of the run to undo: its `{wanted}` rows are the ids to {}",
            operation.name()
        ),
    };
    // A run still writing the report would change it after it was read: the rollback would
    // miss what that run enables from here on.
    if let Some(holder) = crate::report::lock_holder(path) {
        return Err(Error::Report {
            path: path.to_owned(),
            message: format!("is still being written by a credbulk run ({holder})"),
            hint: "let that run finish (or stop it with Ctrl-C), then roll back from its report"
                .to_owned(),
        });
    }
    // Ids the run being undone sent without an answer may have been changed by it: a rollback
    // that skipped them could leave active a credential this tool enabled (design.md §10).
    let wrote = match operation {
        Operation::Disable => Operation::Enable,
        Operation::Enable => Operation::Disable,
    };
    let in_doubt = crate::journal::read_in_doubt(path, wrote).map_err(fail)?;
    let (taken, doubtful) =
        crate::report::ids_with_last_outcome(path, wanted, &in_doubt).map_err(fail)?;
    if taken.is_empty() {
        return Err(fail(format!("holds no `{wanted}` rows: nothing to undo")));
    }
    if doubtful > 0 {
        tracing::warn!(
            ids = doubtful,
            journal = %crate::journal::journal_path(path).display(),
            "ids the run being undone sent without an answer (it may have changed them) are undone too; an \"already\" answer for them means it had not"
        );
    }
    Ok(InputSource::Owned {
        name: path.display().to_string(),
        bytes: crate::report::as_input_csv(&taken).into(),
    })
}

#[cfg(test)]
mod tests;

/// The command line as typed; `std::env::args` would panic on an argument that is not UTF-8
/// (a Latin-1 file name, say), so each is converted lossily.
fn lossy_args() -> impl Iterator<Item = String> {
    std::env::args_os().map(|a| a.to_string_lossy().into_owned())
}
