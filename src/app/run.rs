//! One enable/disable run, start to finish: validate the input, take the report, fetch the
//! first token (so bad credentials fail before any id is touched), then stream ids through the
//! pipeline into the report writer and build the summary.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::warn;

use crate::api::ApiClient;
use crate::auth::{AuthError, TokenCache};
use crate::backoff::Backoff;
use crate::config::{RateMode, RunConfig};
use crate::control::Control;
use crate::error::{AbortReason, Error};
use crate::input::{InputReader, InputSource};
use crate::journal::{InDoubt, Journal};
use crate::metrics::Metrics;
use crate::pacer::Pacer;
use crate::pipeline::{self, AutoRate, Pace, Settings};
use crate::progress::Progress;
use crate::report::{Columns, ReportLock, ReportWriter, Resumed, spawn_writer};
use crate::summary::{PaceFound, RunSummary};
use roaring::RoaringTreemap;

/// Items buffered between the input reader, the pipeline and the writer.
const CHANNEL: usize = 1024;

/// Runs `config` to completion, interruption or abort.
pub async fn run(config: RunConfig, control: Arc<Control>) -> Result<RunSummary, Error> {
    let started = Instant::now();
    // The run id names the operation, so that every row says which operation wrote it.
    let run_id = format!("{}-{}", config.operation.name(), new_run_id());
    let reader = InputReader::open(&config.input, &config.input_options)?.sharded(config.shard);
    let (lock, writer, resumed, journal, in_doubt) =
        open_report(&config, &run_id, reader.kept_names())?;
    let settled_in_report = resumed.settled.len() + resumed.invalid_lines.len();
    // What this input skipped because the report settled it, counted as it is read: ids the
    // operator dropped from the input since must not keep the exit code at 1.
    let skipped = Arc::new(SkipCounts::default());
    let reader = if config.resume {
        skip_settled(reader, resumed, &skipped)
    } else {
        reader
    };

    let connection = &config.connection;
    let http = crate::http::client(connection, config.concurrency.get())?;
    let (pacer, pace) = pacing(&config);
    let tokens = Arc::new(
        TokenCache::new(
            http.clone(),
            connection,
            Arc::clone(&pacer),
            config.max_attempts.get(),
            control.token().clone(),
        )
        .with_max_outage(config.max_outage),
    );
    first_token(&tokens).await?;

    let total = if config.progress {
        estimate_records(&config.input).map(|n| n.saturating_sub(settled_in_report))
    } else {
        None
    };
    let progress = Progress::new(config.progress, total);
    progress.show_waiting(control.waiting_flag());
    progress.show_pace(pace.as_deref().map(Pace::pacer));
    let (input_tx, input_rx) = mpsc::channel(CHANNEL);
    let reader_thread = spawn_reader(reader, input_tx);
    let (outcome_tx, outcome_rx) = mpsc::channel(CHANNEL);
    let writer_task = spawn_writer(writer, outcome_rx, progress.clone(), Arc::clone(&control));

    let metrics = Arc::new(Metrics::default());
    let api = Arc::new(InDoubt::new(
        ApiClient::new(
            http,
            connection,
            config.operation,
            Arc::clone(&tokens),
            Arc::clone(&metrics),
        ),
        journal,
        in_doubt,
        Arc::clone(&control),
    ));
    let settings = Settings {
        operation: config.operation,
        concurrency: config.concurrency.get(),
        max_attempts: config.max_attempts.get(),
        backoff: Backoff::default(),
        max_outage: config.max_outage,
        pace: pace.clone(),
    };
    pipeline::run(
        Arc::clone(&api),
        pacer,
        settings,
        Arc::clone(&metrics),
        Arc::clone(&control),
        input_rx,
        outcome_tx,
    )
    .await;
    let (tally, rows_complete) = writer_task.await.unwrap_or_else(|e| {
        control.abort(AbortReason::Internal(format!(
            "the report writer failed: {e}"
        )));
        (crate::report::Tally::default(), false)
    });
    finish_journal(api, rows_complete);
    drop(lock);
    progress.finish();
    // The reader stops on its own once the pipeline dropped its channel.
    drop(reader_thread);

    Ok(RunSummary {
        operation: config.operation,
        ending: control.ending(),
        tally,
        metrics: metrics.snapshot(),
        token_fetches: tokens.fetches(),
        duration: started.elapsed(),
        report: config.report,
        run_id,
        settled_earlier: skipped.settled.load(Ordering::Relaxed),
        settled_earlier_failures: skipped.failed.load(Ordering::Relaxed),
        resume_command: config.resume_command,
        pace: pace.and_then(|p| found(&p)),
    })
}

/// The run's pacer, and the `--rate auto` controller that sets it, if asked for.
fn pacing(config: &RunConfig) -> (Arc<Pacer>, Option<Arc<Pace>>) {
    let pacer = Arc::new(Pacer::new(config.rate, config.burst));
    let pace = (config.rate_mode == RateMode::Auto).then(|| {
        let bounds = AutoRate {
            ceiling: config.rate,
            sharers: config.shard.map_or(1, |shard| shard.count),
        };
        Arc::new(Pace::new(Arc::clone(&pacer), bounds))
    });
    (pacer, pace)
}

/// What `--rate auto` found, for the summary; `None` before any answer.
fn found(pace: &Pace) -> Option<PaceFound> {
    let bounds = pace.bounds();
    Some(PaceFound {
        rate: pace.found()?,
        ceiling: bounds.ceiling,
        stated: pace.stated_limit(),
        sharers: bounds.sharers,
    })
}

/// Takes the report's lock, then opens the report (in the run's dialect, with the input columns
/// it keeps) and its in-doubt journal (design §10).
fn open_report(
    config: &RunConfig,
    run_id: &str,
    kept: Vec<String>,
) -> Result<(ReportLock, ReportWriter, Resumed, Journal, RoaringTreemap), Error> {
    // The lock first: the report and its journal are read and written only by their owner.
    let lock = ReportLock::acquire(&config.report)?;
    let (writer, resumed) = ReportWriter::open(
        &config.report,
        config.report_format,
        run_id,
        config.operation,
        config.resume,
        &Columns {
            dialect: config.report_dialect,
            kept,
        },
    )?;
    if resumed.dropped_partial {
        warn!(report = %config.report.display(), "the report's last line was incomplete (a crash mid-write); it was cut off and that id will be retried");
    }
    let (journal, in_doubt) = Journal::open(&config.report, config.operation, &resumed.settled)?;
    if !in_doubt.is_empty() {
        warn!(
            ids = in_doubt.len(),
            "ids an earlier run may have changed without an answer; an \"already\" answer for them counts as this tool's change"
        );
    }
    Ok((lock, writer, resumed, journal, in_doubt))
}

/// Compacts the journal once the run is over (every worker done, so the pipeline dropped its
/// handle on the backend); a journal left as it is stays valid.
fn finish_journal(api: Arc<InDoubt<ApiClient>>, rows_complete: bool) {
    let Ok(api) = Arc::try_unwrap(api) else {
        warn!("the in-doubt journal was left as it is (still in use)");
        return;
    };
    if let Err(e) = api.finish(rows_complete) {
        warn!(error = %e, "the in-doubt journal could not be compacted; it stays valid as it is");
    }
}

/// Fetches the first token before any id is touched, so bad credentials stop the run with
/// nothing sent. A signal during the fetch is not an error: the pipeline then stops at once.
async fn first_token(tokens: &TokenCache) -> Result<(), Error> {
    match tokens.get().await {
        // Cancelled: a signal came during the first fetch; the pipeline stops at once.
        Ok(_) | Err(AuthError::Cancelled) => {}
        Err(AuthError::Rejected { status, message }) => {
            return Err(Error::Aborted(AbortReason::ClientRejected {
                status,
                message,
            }));
        }
        Err(AuthError::Misconfigured(problem)) => {
            return Err(Error::Aborted(AbortReason::Misconfigured(problem)));
        }
        Err(e @ AuthError::Unavailable { .. }) => {
            return Err(Error::Aborted(AbortReason::TokenUnavailable(e.to_string())));
        }
    }
    Ok(())
}

/// Makes `reader` skip what the report already settled, counting what it skips.
fn skip_settled(
    reader: InputReader,
    resumed: crate::report::Resumed,
    skipped: &Arc<SkipCounts>,
) -> InputReader {
    let ids = resumed.settled;
    let failed = resumed.failed;
    let invalid = resumed.invalid_lines;
    let (duplicate_lines, duplicate_ids) = (resumed.duplicate_lines, resumed.duplicate_ids);
    let (on_id, on_line) = (Arc::clone(skipped), Arc::clone(skipped));
    reader.skipping(
        move |id| {
            let settled = ids.contains(id);
            if settled {
                on_id.count(failed.contains(id));
            }
            settled
        },
        move |line| {
            let settled = invalid.contains(line);
            if settled {
                on_line.count(true);
            }
            settled
        },
        move |line, id| duplicate_lines.contains(line) && duplicate_ids.contains(id),
    )
}

/// Records of the input that an earlier run settled, and how many of those failed.
#[derive(Debug, Default)]
struct SkipCounts {
    settled: AtomicU64,
    failed: AtomicU64,
}

impl SkipCounts {
    fn count(&self, failed: bool) {
        self.settled.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A run id: UTC start time plus a random suffix, e.g. `20261126T224512Z-3f9a1c`.
#[must_use]
pub fn new_run_id() -> String {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let compact: String = stamp.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("{compact}-{:06x}", rand::random::<u32>() & 0x00ff_ffff)
}

/// Counts the input's lines cheaply, for the progress bar's total (header included, so it is
/// an estimate); `None` for stdin.
pub(super) fn estimate_records(source: &InputSource) -> Option<u64> {
    let mut reader: Box<dyn Read> = match source {
        // A pipe or FIFO can be read once only: no estimate.
        InputSource::Path(p) if !std::fs::metadata(p).ok()?.is_file() => return None,
        InputSource::Path(p) => Box::new(std::fs::File::open(p).ok()?),
        InputSource::Bytes(b) => Box::new(*b),
        InputSource::Owned { bytes, .. } => Box::new(std::io::Cursor::new(Arc::clone(bytes))),
        InputSource::Stdin => return None,
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut lines = 0u64;
    let mut last = b'\n';
    loop {
        let n = reader.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        #[expect(
            clippy::naive_bytecount,
            reason = "one pass for a progress estimate; not worth a dependency"
        )]
        let found = buf[..n].iter().filter(|b| **b == b'\n').count();
        lines += found as u64;
        last = buf[n - 1];
    }
    if last != b'\n' {
        lines += 1;
    }
    Some(lines.saturating_sub(1).max(1))
}

/// Reads the input on a blocking thread into the pipeline's channel; it stops on its own once
/// the pipeline drops the channel.
fn spawn_reader<I>(reader: I, input_tx: mpsc::Sender<I::Item>) -> tokio::task::JoinHandle<()>
where
    I: Iterator + Send + 'static,
    I::Item: Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        for item in reader {
            if input_tx.blocking_send(item).is_err() {
                break;
            }
        }
    })
}
