//! `--dry-run`: reads the whole input, checks the credentials with one token fetch, probes the
//! credential API as `check` does (`probe`, with the run's method), and says what a real run
//! would do. Sends no change (unless the probe id exists; the plan then says so).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use super::probe::{ProbeResult, probe, token_error};
use crate::auth::TokenCache;
use crate::config::RunConfig;
use crate::error::{Error, exit};
use crate::input::{InputItem, InputReader};
use crate::model::{Operation, OutcomeKind};
use crate::pacer::Pacer;
use crate::report::read_existing;

/// What a run would do.
#[derive(Debug, Clone)]
pub struct Plan {
    pub operation: Operation,
    pub input: String,
    pub to_send: u64,
    pub invalid: u64,
    pub duplicate: u64,
    pub settled_earlier: u64,
    pub token_lifetime: Duration,
    pub rate: f64,
    pub report: String,
    /// What the credential API answered to the probe.
    pub probe: ProbeResult,
}

/// Builds the plan for `config`.
/// `cancel` is the command's interrupt: a signal stops a hanging fetch.
pub async fn plan(
    config: &RunConfig,
    cancel: tokio_util::sync::CancellationToken,
) -> Result<Plan, Error> {
    let settled = if config.resume {
        read_existing(&config.report, config.report_format, config.operation)?
    } else {
        crate::report::Resumed::default()
    };
    let reader = InputReader::open(&config.input, &config.input_options)?.sharded(config.shard);
    if config.resume {
        crate::report::check_columns(&config.report, &settled, &reader.kept_names())?;
    }
    let ids = settled.settled.clone();
    let invalid = settled.invalid_lines.clone();
    let settled_earlier = ids.len() + invalid.len();
    let duplicate_lines = settled.duplicate_lines.clone();
    let duplicate_ids = settled.duplicate_ids.clone();
    let reader = reader.skipping(
        move |id| ids.contains(id),
        move |line| invalid.contains(line),
        move |line, id| duplicate_lines.contains(line) && duplicate_ids.contains(id),
    );
    let counts = tokio::task::spawn_blocking(move || -> Result<[u64; 3], Error> {
        let mut counts = [0u64; 3];
        for item in reader {
            match item? {
                InputItem::Id(..) => counts[0] += 1,
                InputItem::Local(o) if o.kind == OutcomeKind::Duplicate => counts[2] += 1,
                InputItem::Local(_) => counts[1] += 1,
            }
        }
        Ok(counts)
    })
    .await
    .map_err(|e| Error::usage(format!("reading the input failed ({e})"), "try again"))??;

    let http = crate::http::client(&config.connection, 1)?;
    let pacer = Arc::new(Pacer::new(config.rate, config.burst));
    let tokens = Arc::new(TokenCache::new(
        http.clone(),
        &config.connection,
        pacer,
        config.max_attempts.get(),
        cancel,
    ));
    let token = tokens.get().await.map_err(token_error)?;
    let probe = probe(&http, &config.connection, config.operation, &tokens).await?;
    Ok(Plan {
        probe,
        operation: config.operation,
        input: config.input.describe(),
        to_send: counts[0],
        invalid: counts[1],
        duplicate: counts[2],
        settled_earlier,
        token_lifetime: token.lifetime,
        rate: config.rate,
        report: config.report.display().to_string(),
    })
}

impl Plan {
    /// 0, or 1 when the probe changed an id that turned out to exist.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        if self.probe.changed() {
            exit::FAILURES
        } else {
            exit::OK
        }
    }

    /// The plan as printed on stdout.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        let secs = self.to_send as f64 / self.rate;
        let _ = writeln!(
            out,
            "dry run: credbulk {} {}{}",
            self.operation.name(),
            self.input,
            if self.probe.changed() {
                ""
            } else {
                " (nothing was changed)"
            }
        );
        let _ = writeln!(out, "  ids to send          {:>8}", self.to_send);
        let _ = writeln!(out, "  invalid lines        {:>8}", self.invalid);
        let _ = writeln!(out, "  duplicate lines      {:>8}", self.duplicate);
        let _ = writeln!(out, "  settled in report    {:>8}", self.settled_earlier);
        let _ = writeln!(
            out,
            "credentials: accepted; token lifetime {} s",
            self.token_lifetime.as_secs()
        );
        let _ = writeln!(out, "probe: {}", self.probe.line());
        let _ = writeln!(
            out,
            "estimated duration at --rate {}: about {} (more with retries)",
            self.rate,
            humantime::format_duration(Duration::from_secs_f64(secs.ceil().clamp(0.0, 1e9)))
        );
        let _ = writeln!(out, "report would be written to {}", self.report);
        out
    }
}
