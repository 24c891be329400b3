//! Turns what was typed (`cli`) plus the environment into one validated, typed configuration.
//! Every check of a flag's value happens here, once, with an error that says how to fix it.

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::cli::{ConnectionArgs, RunArgs};
use crate::error::Error;
use crate::input::{InputSource, Shard};
use crate::model::Operation;
use crate::report::ReportFormat;
use crate::secret::Secret;

/// The variable that carries the client secret (never a plain flag: it would show in `ps`).
pub const SECRET_ENV: &str = "SENHASEGURA_CLIENT_SECRET";

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
}

impl Connection {
    /// Validates connection flags; `env` looks up environment variables (injected for tests).
    pub fn from_args(
        args: ConnectionArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let url = args.url.filter(|u| !u.trim().is_empty()).ok_or_else(|| {
            Error::usage(
                "no appliance URL",
                "pass --url https://pam.example.com or set SENHASEGURA_URL",
            )
        })?;
        let base = Url::parse(url.trim()).map_err(|e| {
            Error::usage(
                format!("--url {url:?} is not a URL ({e})"),
                "give the appliance's base URL, e.g. https://pam.example.com",
            )
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(Error::usage(
                format!("--url {url:?} must be an http(s) URL with a host"),
                "give the appliance's base URL, e.g. https://pam.example.com",
            ));
        }
        let client_id = args
            .client_id
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| {
                Error::usage(
                    "no OAuth2 client id",
                    "pass --client-id or set SENHASEGURA_CLIENT_ID",
                )
            })?;
        let secret = read_secret(args.client_secret_file.as_deref(), env)?;
        let timeout = seconds("--timeout", args.timeout)?;
        Ok(Self {
            base,
            client_id: client_id.trim().to_owned(),
            secret,
            token_path: path_flag("--token-path", &args.token_path)?,
            api_prefix: path_flag("--api-prefix", &args.api_prefix)?,
            timeout,
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

/// Everything an `enable` or `disable` run needs, validated.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub operation: Operation,
    pub connection: Connection,
    pub input: InputSource,
    /// Header name of the id column (compared case-insensitively).
    pub id_column: String,
    /// Requests per second, all requests together.
    pub rate: f64,
    pub burst: NonZeroU32,
    pub concurrency: NonZeroUsize,
    pub max_attempts: NonZeroU32,
    /// Abort when nothing succeeded for this long because the server kept failing.
    pub max_outage: Duration,
    pub report: PathBuf,
    pub report_format: ReportFormat,
    pub resume: bool,
    pub dry_run: bool,
    /// Draw the progress bar (stderr is a terminal and `--no-progress` was not given).
    pub progress: bool,
    /// How to resume this run, shown after an interrupt or abort (no secret in it).
    pub resume_command: String,
    /// Only this slice of the ids (`--shard K/N`).
    pub shard: Option<Shard>,
}

impl RunConfig {
    /// Validates `enable`/`disable` flags.
    pub fn from_args(
        operation: Operation,
        args: RunArgs,
        env: &dyn Fn(&str) -> Option<String>,
        stderr_is_terminal: bool,
    ) -> Result<Self, Error> {
        let connection = Connection::from_args(args.connection, env)?;
        if !(args.rate.is_finite() && args.rate > 0.0 && args.rate <= 1_000_000.0) {
            return Err(Error::usage(
                format!("--rate {} is out of range", args.rate),
                "give requests per second above 0 (decimals allowed, e.g. 0.5)",
            ));
        }
        let burst = NonZeroU32::new(args.burst)
            .ok_or_else(|| Error::usage("--burst 0 would never send", "give --burst 1 or more"))?;
        let concurrency = NonZeroUsize::new(args.concurrency).ok_or_else(|| {
            Error::usage(
                "--concurrency 0 would never send",
                "give --concurrency 1 or more",
            )
        })?;
        let max_attempts = NonZeroU32::new(args.max_attempts).ok_or_else(|| {
            Error::usage(
                "--max-attempts 0 would never send",
                "give --max-attempts 1 or more",
            )
        })?;
        let max_outage = seconds("--max-outage", args.max_outage)?;
        let input = if args.input == "-" {
            InputSource::Stdin
        } else {
            InputSource::Path(PathBuf::from(&args.input))
        };
        let report = args
            .report
            .clone()
            .unwrap_or_else(|| default_report_path(&input));
        let report_format = ReportFormat::for_path(&report);
        let id_column = args.id_column.trim().to_owned();
        if id_column.is_empty() {
            return Err(Error::usage(
                "--id-column is empty",
                "name the column holding the ids",
            ));
        }
        let shard = args
            .shard
            .as_deref()
            .map(Shard::parse)
            .transpose()
            .map_err(|m| {
                Error::usage(m, "give --shard K/N with K from 0 to N-1, e.g. --shard 0/4")
            })?;
        let resume_command = resume_command(std::env::args());
        Ok(Self {
            operation,
            connection,
            input,
            id_column,
            rate: args.rate,
            burst,
            concurrency,
            max_attempts,
            max_outage,
            report,
            report_format,
            resume: args.resume,
            dry_run: args.dry_run,
            progress: stderr_is_terminal && !args.no_progress,
            resume_command,
            shard,
        })
    }
}

/// `<input stem>.report.csv` beside the input; `credbulk-report.csv` for stdin.
#[must_use]
pub fn default_report_path(input: &InputSource) -> PathBuf {
    match input {
        InputSource::Path(path) => {
            let stem = path
                .file_stem()
                .map_or_else(|| "credbulk".into(), |s| s.to_string_lossy().into_owned());
            path.with_file_name(format!("{stem}.report.csv"))
        }
        InputSource::Stdin | InputSource::Bytes(_) => PathBuf::from("credbulk-report.csv"),
    }
}

/// The command line as typed, with `--resume` added if it was missing.
fn resume_command(args: impl Iterator<Item = String>) -> String {
    let mut words: Vec<String> = args.map(|a| shell_quote(&a)).collect();
    if let Some(first) = words.first_mut() {
        "credbulk".clone_into(first);
    }
    if !words.iter().any(|w| w == "--resume") {
        words.push("--resume".to_owned());
    }
    words.retain(|w| w != "--dry-run");
    words.join(" ")
}

fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn read_secret(file: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Result<Secret, Error> {
    let value = if let Some(path) = file {
        std::fs::read_to_string(path).map_err(|e| {
            Error::usage(
                format!("cannot read --client-secret-file {} ({e})", path.display()),
                "point it at a readable file holding only the secret",
            )
        })?
    } else {
        env(SECRET_ENV).ok_or_else(|| {
            Error::usage(
                "no client secret",
                format!("set {SECRET_ENV} or pass --client-secret-file PATH"),
            )
        })?
    };
    let value = value.trim_end_matches(['\r', '\n']);
    if value.trim().is_empty() {
        return Err(Error::usage(
            "the client secret is empty",
            format!("set {SECRET_ENV} or pass --client-secret-file PATH"),
        ));
    }
    Ok(Secret::new(value))
}

fn seconds(flag: &str, value: f64) -> Result<Duration, Error> {
    if value.is_finite() && value > 0.0 && value <= 86_400.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(Error::usage(
            format!("{flag} {value} is out of range"),
            format!("give {flag} in seconds, above 0"),
        ))
    }
}

fn path_flag(flag: &str, value: &str) -> Result<String, Error> {
    let trimmed = value.trim().trim_end_matches('/');
    if !trimmed.starts_with('/') || trimmed.contains(['?', '#', ' ']) {
        return Err(Error::usage(
            format!("{flag} {value:?} is not a path"),
            format!("give {flag} as an absolute path, e.g. /api"),
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn_args(url: &str) -> ConnectionArgs {
        ConnectionArgs {
            url: Some(url.into()),
            client_id: Some("app".into()),
            client_secret_file: None,
            token_path: "/iso/oauth2/token".into(),
            api_prefix: "/api/".into(),
            timeout: 30.0,
        }
    }

    fn env_with_secret(name: &str) -> Option<String> {
        (name == SECRET_ENV).then(|| "s3cret\n".to_owned())
    }

    #[test]
    fn urls_are_joined_without_double_slashes() {
        let c =
            Connection::from_args(conn_args("https://pam.example.com/"), &env_with_secret).unwrap();
        assert_eq!(c.token_url(), "https://pam.example.com/iso/oauth2/token");
        assert_eq!(
            c.credential_url(),
            "https://pam.example.com/api/pam/credential/"
        );
        assert_eq!(c.secret.expose(), "s3cret");
    }

    #[test]
    fn a_missing_secret_is_a_usage_error_naming_the_variable() {
        let err = Connection::from_args(conn_args("https://x"), &|_| None).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::USAGE);
        assert!(err.to_string().contains(SECRET_ENV));
    }

    #[test]
    fn a_url_without_scheme_is_refused() {
        let err =
            Connection::from_args(conn_args("pam.example.com"), &env_with_secret).unwrap_err();
        assert!(err.to_string().contains("--url"));
    }

    #[test]
    fn default_report_sits_beside_the_input() {
        let p = default_report_path(&InputSource::Path("/data/ids.csv".into()));
        assert_eq!(p, PathBuf::from("/data/ids.report.csv"));
        assert_eq!(
            default_report_path(&InputSource::Stdin),
            PathBuf::from("credbulk-report.csv")
        );
    }

    #[test]
    fn resume_command_adds_resume_and_quotes_odd_words() {
        let cmd = resume_command(
            ["/usr/bin/credbulk", "enable", "my ids.csv", "--dry-run"]
                .into_iter()
                .map(String::from),
        );
        assert_eq!(cmd, "credbulk enable 'my ids.csv' --resume");
    }
}
