//! The single owner of the report file: takes the lock, writes the header, then writes and
//! flushes one row per decided outcome, counting outcomes for the summary and the progress bar.
//!
//! The writer is a task on the runtime, not a thread of its own: a thread parked on the channel
//! had to be woken through the OS for every row, which at tens of thousands of ids per second
//! cost more CPU than writing the rows. Each wake-up takes every outcome already decided and
//! hands them to the OS in one `write`, before waiting for more, so no row waits for another.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::mpsc;

use super::resume::{Resumed, parse_existing};
use super::{CSV_HEADER, ReportFormat, Row};
use crate::control::Control;
use crate::error::{AbortReason, Error};
use crate::model::{Outcome, OutcomeKind};
use crate::progress::Progress;

/// Counts of outcomes written by this run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    counts: [u64; OutcomeKind::ALL.len()],
}

impl Tally {
    /// Counts one outcome.
    pub fn add(&mut self, kind: OutcomeKind) {
        self.counts[index(kind)] += 1;
    }

    /// How many outcomes of `kind`.
    #[must_use]
    pub fn count(&self, kind: OutcomeKind) -> u64 {
        self.counts[index(kind)]
    }

    /// Rows written in all.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Non-zero counts in report order.
    pub fn iter(&self) -> impl Iterator<Item = (OutcomeKind, u64)> + '_ {
        OutcomeKind::ALL
            .into_iter()
            .map(|k| (k, self.count(k)))
            .filter(|(_, n)| *n > 0)
    }
}

fn index(kind: OutcomeKind) -> usize {
    OutcomeKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(0)
}

/// Why the report could not be locked. Only a lock held by another run is `ReportLocked`
/// (whose refusal leaves that run's summary and metrics alone); a file system that cannot lock
/// at all is an ordinary refusal, recorded like any other, or a cron job there would exit 2
/// forever with its metrics still showing the last good run.
fn lock_refusal(path: &Path, error: std::fs::TryLockError) -> Error {
    match error {
        std::fs::TryLockError::WouldBlock => Error::ReportLocked {
            path: path.to_owned(),
            message: format!(
                "is locked by another credbulk run (advisory lock on {})",
                path.display()
            ),
            hint: "wait for that run to finish, or choose another --report".to_owned(),
        },
        std::fs::TryLockError::Error(e) => Error::Report {
            path: path.to_owned(),
            message: format!("cannot be locked ({e})"),
            hint: "put the report on a local file system that supports locks (--report PATH)"
                .to_owned(),
        },
    }
}

/// The open, locked report.
#[derive(Debug)]
pub struct ReportWriter {
    file: File,
    path: PathBuf,
    format: ReportFormat,
    run_id: String,
    buf: Vec<u8>,
}

impl ReportWriter {
    /// Opens and locks the report. Without `resume` the file must be new or empty, so that an
    /// earlier run's evidence is never overwritten; with `resume` its rows are read back, a
    /// partial last line (a crash mid-write) is cut off, and new rows are appended.
    pub fn open(
        path: &Path,
        format: ReportFormat,
        run_id: &str,
        resume: bool,
    ) -> Result<(Self, Resumed), Error> {
        let fail = |message: String, hint: &str| Error::Report {
            path: path.to_owned(),
            message,
            hint: hint.to_owned(),
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| {
                fail(
                    format!("cannot open ({e})"),
                    "check the directory exists and is writable, or pass --report PATH",
                )
            })?;
        if let Err(e) = file.try_lock() {
            return Err(lock_refusal(path, e));
        }
        let mut resumed = parse_existing(&mut file, format).map_err(|message| {
            fail(
                message,
                "pass the report this input was run with, or another --report",
            )
        })?;
        // Only a report without rows is small enough to look at whole.
        let mut existing = Vec::new();
        if resumed.rows == 0 {
            file.seek(SeekFrom::Start(0))
                .map_err(|e| fail(format!("cannot read ({e})"), "check the file's permissions"))?;
            (&mut file)
                .take(64 * 1024)
                .read_to_end(&mut existing)
                .map_err(|e| fail(format!("cannot read ({e})"), "check the file's permissions"))?;
        }
        if !resume && (resumed.rows > 0 || !is_empty_report(&existing, format)) {
            return Err(fail(
                "already exists and holds rows".to_owned(),
                "pass --resume to continue that run, or choose another --report (nothing was overwritten)",
            ));
        }
        if !resume {
            resumed = Resumed::default();
        }
        file.set_len(resumed.valid_len).map_err(|e| {
            fail(
                format!("cannot cut a partial last line ({e})"),
                "check the file's permissions",
            )
        })?;
        file.seek(SeekFrom::End(0))
            .map_err(|e| fail(format!("cannot seek ({e})"), "check the file system"))?;
        let mut writer = Self {
            file,
            path: path.to_owned(),
            format,
            run_id: run_id.to_owned(),
            buf: Vec::with_capacity(512),
        };
        if resumed.valid_len == 0 && format == ReportFormat::Csv {
            writer
                .file
                .write_all(format!("{CSV_HEADER}\n").as_bytes())
                .map_err(|e| {
                    fail(
                        format!("cannot write ({e})"),
                        "check free space and permissions",
                    )
                })?;
        }
        Ok((writer, resumed))
    }

    /// Writes one row and hands it to the OS before returning, so a crash cannot lose it.
    pub fn write(&mut self, outcome: &Outcome) -> std::io::Result<()> {
        self.write_all(std::slice::from_ref(outcome))
    }

    /// Writes one row per outcome, in order, and hands them all to the OS in one call before
    /// returning.
    pub fn write_all(&mut self, outcomes: &[Outcome]) -> std::io::Result<()> {
        self.buf.clear();
        let finished_at = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        for outcome in outcomes {
            let row = Row::new(outcome, finished_at.clone(), &self.run_id);
            match self.format {
                ReportFormat::Csv => row.write_csv(&mut self.buf),
                ReportFormat::Jsonl => row.write_jsonl(&mut self.buf),
            }
        }
        self.file.write_all(&self.buf)
    }

    /// Where the report is.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether `existing` holds no row: nothing, the CSV header (or part of it, from a run that
/// stopped before its first row), or blank lines. Anything else is never overwritten.
fn is_empty_report(existing: &[u8], format: ReportFormat) -> bool {
    let text = String::from_utf8_lossy(existing);
    let text = text.trim();
    text.is_empty() || (format == ReportFormat::Csv && CSV_HEADER.starts_with(text))
}

/// Outcomes written with one `write` at most: enough to drain a busy channel, small enough
/// that a batch's rows leave the process within microseconds of each other.
const WRITE_BATCH: usize = 256;

/// Runs the writer as a task: every outcome received is written, counted and shown on the
/// progress bar. A write failure aborts the run. Returns the tally when the channel closes.
pub fn spawn_writer(
    mut writer: ReportWriter,
    mut outcomes: mpsc::Receiver<Outcome>,
    progress: Progress,
    control: Arc<Control>,
) -> tokio::task::JoinHandle<Tally> {
    tokio::spawn(async move {
        let mut tally = Tally::default();
        let mut broken = false;
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        while outcomes.recv_many(&mut batch, WRITE_BATCH).await > 0 {
            if !broken {
                if let Err(e) = writer.write_all(&batch) {
                    control.abort(AbortReason::ReportWrite(format!(
                        "{}: {e}",
                        writer.path().display()
                    )));
                    broken = true;
                } else {
                    for outcome in &batch {
                        tally.add(outcome.kind);
                        progress.record(outcome.kind);
                    }
                }
            }
            batch.clear();
        }
        tally
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lock_held_by_another_run_is_a_locked_report() {
        let path = Path::new("ids.report.csv");
        let held = lock_refusal(path, std::fs::TryLockError::WouldBlock);
        assert!(matches!(held, Error::ReportLocked { .. }), "{held}");
        let unsupported = lock_refusal(
            path,
            std::fs::TryLockError::Error(std::io::Error::from_raw_os_error(37)),
        );
        assert!(matches!(unsupported, Error::Report { .. }), "{unsupported}");
        assert!(unsupported.to_string().contains("cannot be locked"));
        assert_eq!(unsupported.exit_code(), crate::error::exit::USAGE);
    }
}
