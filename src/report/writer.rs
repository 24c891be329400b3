//! The single owner of the report file: checks it is a report of this operation before touching
//! it, writes the header, then writes one row per decided outcome, fsyncs at least once a second
//! and at the end, and counts outcomes for the summary and the progress bar.
//!
//! The writer is a task on the runtime, not a thread of its own: a thread parked on the channel
//! had to be woken through the OS for every row, which at tens of thousands of ids per second
//! cost more CPU than writing the rows. Each wake-up takes every outcome already decided and
//! hands them to the OS in one `write`, before waiting for more, so no row waits for another.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::resume::{Resumed, parse_existing};
use super::{Columns, Dialect, ReportFormat, Row, header_line};
use crate::control::Control;
use crate::error::{AbortReason, Error};
use crate::model::{Operation, Outcome, OutcomeKind};
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

/// The open report. Its lock ([`super::ReportLock`]) is taken by the caller before opening.
#[derive(Debug)]
pub struct ReportWriter {
    file: File,
    path: PathBuf,
    format: ReportFormat,
    /// The CSV dialect rows are written in: the file's own when it has rows, so that one file
    /// never mixes two.
    dialect: Dialect,
    /// Names of the kept input columns (`--keep-columns`), for JSON rows.
    kept: Vec<String>,
    run_id: String,
    buf: Vec<u8>,
    /// End of each row of `buf`, to tell how many rows a failed write left whole.
    ends: Vec<usize>,
    /// Length of the file: every byte up to here is a whole row (or the header).
    len: u64,
    /// fsyncs of the rows done so far, so that a test can hold the once-a-second promise.
    syncs: Arc<AtomicU64>,
}

impl ReportWriter {
    /// Opens the report for `operation`. Without `resume` the file must be new or hold no row,
    /// so that an earlier run's evidence is never overwritten; with `resume` its rows are read
    /// back, a partial last line (a crash mid-write) is cut off, and new rows are appended.
    /// Everything is checked before the file is first opened for writing, so a file that is not
    /// a report, or one written by the other operation, is left exactly as it was.
    ///
    /// `columns` is what this run asks for: the dialect of a new report and its kept columns.
    /// A report with rows keeps its own dialect (a different one asked for is noted in the
    /// log) and must keep the same columns ([`check_columns`]); one with a header and no rows
    /// yet is started afresh in what this run asks for.
    pub fn open(
        path: &Path,
        format: ReportFormat,
        run_id: &str,
        operation: Operation,
        resume: bool,
        columns: &Columns,
    ) -> Result<(Self, Resumed), Error> {
        let fail = |message: String, hint: &str| Error::Report {
            path: path.to_owned(),
            message,
            hint: hint.to_owned(),
        };
        let existed = path.exists();
        let mut resumed = read_existing(path, format, operation)?;
        if !resume && resumed.rows > 0 {
            return Err(fail(
                "already exists and holds rows".to_owned(),
                "pass --resume to continue that run, or choose another --report (nothing was overwritten)",
            ));
        }
        if !resume {
            resumed.settled.clear();
            resumed.failed.clear();
        }
        check_columns(path, &resumed, &columns.kept)?;
        let dialect = match &resumed.columns {
            Some(found) if resumed.rows > 0 && format == ReportFormat::Csv => {
                if found.dialect != columns.dialect {
                    tracing::warn!(
                        report = %path.display(),
                        dialect = found.dialect.name(),
                        "the report is written in the {} dialect: rows are appended in it, so that one file never mixes two (--report-dialect {} applies to new reports)",
                        found.dialect.name(),
                        columns.dialect.name()
                    );
                }
                found.dialect
            }
            _ => columns.dialect,
        };
        // A header without rows: this run's header replaces it (its dialect and columns).
        let restart = resumed.rows == 0 && format == ReportFormat::Csv && resumed.valid_len > 0;
        if restart {
            resumed.valid_len = 0;
        }
        let file = OpenOptions::new()
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
        let mut writer = Self {
            file,
            path: path.to_owned(),
            format,
            dialect,
            // Rows appended to a report are named as its earlier rows are (their spelling may
            // differ from this input's header only in case): one file, one set of names.
            kept: match &resumed.columns {
                Some(found) if resumed.rows > 0 => found.kept.clone(),
                _ => columns.kept.clone(),
            },
            run_id: run_id.to_owned(),
            buf: Vec::with_capacity(512),
            ends: Vec::new(),
            len: resumed.valid_len,
            syncs: Arc::default(),
        };
        let io = |what: &str, e: std::io::Error| {
            fail(
                format!("cannot {what} ({e})"),
                "check free space and permissions",
            )
        };
        if resumed.dropped_partial || restart {
            writer
                .file
                .set_len(resumed.valid_len)
                .map_err(|e| io("cut a partial last line", e))?;
        }
        writer
            .file
            .seek(SeekFrom::Start(resumed.valid_len))
            .map_err(|e| io("seek", e))?;
        if resumed.valid_len == 0 && format == ReportFormat::Csv {
            let header = header_line(dialect, &columns.kept);
            writer.file.write_all(&header).map_err(|e| io("write", e))?;
            writer.len = header.len() as u64;
        }
        if !existed {
            // A new file's name lives in its folder: without this a power cut can lose the
            // whole report, rows fsync'd or not.
            writer.file.sync_all().map_err(|e| io("sync", e))?;
            sync_parent(path).map_err(|e| io("sync its folder", e))?;
        }
        Ok((writer, resumed))
    }

    /// Writes one row and hands it to the OS before returning, so a crash cannot lose it.
    pub fn write(&mut self, outcome: &Outcome) -> std::io::Result<()> {
        self.write_all(std::slice::from_ref(outcome))
            .map_err(|(_, e)| e)
    }

    /// Writes one row per outcome, in order, and hands them all to the OS before returning.
    /// On failure returns how many rows are whole in the file; the part of a row a short write
    /// left behind is cut off, so the file holds exactly the rows counted.
    pub fn write_all(&mut self, outcomes: &[Outcome]) -> Result<(), (usize, std::io::Error)> {
        self.buf.clear();
        self.ends.clear();
        let finished_at = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        for outcome in outcomes {
            let row = Row::new(outcome, finished_at.clone(), &self.run_id);
            match self.format {
                ReportFormat::Csv => row.write_csv(&mut self.buf, self.dialect),
                ReportFormat::Jsonl => row.write_jsonl(&mut self.buf, &self.kept),
            }
            self.ends.push(self.buf.len());
        }
        let mut written = 0;
        while written < self.buf.len() {
            match self.file.write(&self.buf[written..]) {
                Ok(0) => {
                    return Err(self.cut_to_whole_rows(
                        written,
                        std::io::Error::from(std::io::ErrorKind::WriteZero),
                    ));
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.cut_to_whole_rows(written, e)),
            }
        }
        self.len += written as u64;
        Ok(())
    }

    fn cut_to_whole_rows(
        &mut self,
        written: usize,
        error: std::io::Error,
    ) -> (usize, std::io::Error) {
        let whole = self.ends.iter().take_while(|end| **end <= written).count();
        let kept = whole.checked_sub(1).map_or(0, |last| self.ends[last]);
        self.len += kept as u64;
        if kept < written {
            // Shrinking a file works on a full disk; if even that fails, resume cuts the
            // partial line next time.
            let _ = self.file.set_len(self.len);
            let _ = self.file.seek(SeekFrom::Start(self.len));
        }
        (whole, error)
    }

    /// Forces the rows written so far to the disk.
    pub fn sync(&self) -> std::io::Result<()> {
        self.syncs.fetch_add(1, Ordering::Relaxed);
        self.file.sync_data()
    }

    /// A live count of the fsyncs of rows done by this writer.
    #[must_use]
    pub fn syncs(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.syncs)
    }

    /// Where the report is.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads a report without opening it for writing (for `--resume` and `--dry-run`), and refuses
/// a file that is not a credbulk report or that another operation wrote. A missing file is
/// empty.
pub fn read_existing(
    path: &Path,
    format: ReportFormat,
    operation: Operation,
) -> Result<Resumed, Error> {
    let fail = |message: String, hint: String| Error::Report {
        path: path.to_owned(),
        message,
        hint,
    };
    let resumed = match File::open(path) {
        Ok(mut file) => parse_existing(&mut file, format).map_err(|message| {
            fail(
                message,
                "pass the report this input was run with, or another --report (the file was not changed)"
                    .to_owned(),
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Resumed::default(),
        Err(e) => {
            return Err(fail(
                format!("cannot read ({e})"),
                "check the file's permissions".to_owned(),
            ));
        }
    };
    if let Some(message) = resumed.operation.refusal(operation) {
        let other = match operation {
            Operation::Enable => Operation::Disable,
            Operation::Disable => Operation::Enable,
        };
        return Err(fail(
            message,
            format!(
                "a report belongs to one operation: resume it with `credbulk {} … --resume`, undo that run with `credbulk {} --from-report {}`, or choose another --report",
                other.name(),
                operation.name(),
                path.display()
            ),
        ));
    }
    Ok(resumed)
}

/// Refuses to append rows with other kept columns than the report's rows have: a CSV row must
/// fit its header, and an auditor reads one set of columns per file. A report without rows
/// takes any. The hint gives the flag that continues it.
pub fn check_columns(path: &Path, resumed: &Resumed, kept: &[String]) -> Result<(), Error> {
    let found: &[String] = resumed.columns.as_ref().map_or(&[], |c| &c.kept);
    if resumed.rows == 0 || same_names(found, kept) {
        return Ok(());
    }
    let list = |names: &[String]| {
        if names.is_empty() {
            "no input columns".to_owned()
        } else {
            names
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let hint = if found.is_empty() {
        "resume it without --keep-columns (a report's columns are set by its first run), or choose another --report".to_owned()
    } else {
        format!(
            "resume it with the columns its first run kept: --keep-columns {} (a report's columns are set by its first run), or choose another --report",
            shell_word(&keep_flag_value(found))
        )
    };
    Err(Error::Report {
        path: path.to_owned(),
        message: format!(
            "keeps {} from the input, but this run keeps {}",
            list(found),
            list(kept)
        ),
        hint,
    })
}

/// Whether two lists name the same columns, matched as `--keep-columns` matches a header (any
/// case, spaces around ignored): a later export that spells a header in capitals still holds
/// the column the report keeps, and the hint's own names must be accepted.
fn same_names(found: &[String], kept: &[String]) -> bool {
    let key = |name: &String| name.trim().to_lowercase();
    found.len() == kept.len() && found.iter().zip(kept).all(|(f, k)| key(f) == key(k))
}

/// The `--keep-columns` value that names `names` again: a name credbulk made up for a column
/// without a header (`column 3`, `Name (column 3)`) is given by its number.
fn keep_flag_value(names: &[String]) -> String {
    names
        .iter()
        .map(|name| {
            let number = name
                .strip_suffix(')')
                .and_then(|n| n.rsplit_once("(column "))
                .map(|(_, n)| n)
                .or_else(|| name.strip_prefix("column "))
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            number.unwrap_or(name).to_owned()
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `word` as one POSIX shell word, for a hint to be pasted as it is.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_,.-/".contains(&b))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Makes a new file's directory entry durable.
#[cfg_attr(
    not(unix),
    expect(clippy::unnecessary_wraps, reason = "the same shape on every platform")
)]
fn sync_parent(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)?.sync_all()
    }
    // Elsewhere a directory cannot be opened as a file; NTFS journals the entry itself.
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Outcomes written with one `write` at most: enough to drain a busy channel, small enough
/// that a batch's rows leave the process within microseconds of each other.
const WRITE_BATCH: usize = 256;

/// Rows reach the disk at most this long after they were written.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// Runs the writer as a task: every outcome received is written, counted and shown on the
/// progress bar, and fsync'd within [`SYNC_EVERY`] and once more when the channel closes,
/// however the run ended. A write or sync failure aborts the run; the tally then counts
/// exactly the rows in the file. Returns the tally and whether every row received was written.
pub fn spawn_writer(
    mut writer: ReportWriter,
    mut outcomes: mpsc::Receiver<Outcome>,
    progress: Progress,
    control: Arc<Control>,
) -> tokio::task::JoinHandle<(Tally, bool)> {
    tokio::spawn(async move {
        let mut tally = Tally::default();
        let mut broken = false;
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        // When the rows written since the last sync must be synced.
        let mut sync_at: Option<Instant> = None;
        let fail = |control: &Control, writer: &ReportWriter, e: &std::io::Error| {
            control.abort(AbortReason::ReportWrite(format!(
                "{}: {e}",
                writer.path().display()
            )));
        };
        loop {
            let received = match sync_at {
                Some(at) => tokio::select! {
                    n = outcomes.recv_many(&mut batch, WRITE_BATCH) => n,
                    () = tokio::time::sleep_until(at) => {
                        sync_at = None;
                        if let Err(e) = sync(&writer).await {
                            fail(&control, &writer, &e);
                            broken = true;
                        }
                        continue;
                    }
                },
                None => outcomes.recv_many(&mut batch, WRITE_BATCH).await,
            };
            if received == 0 {
                break;
            }
            if !broken {
                let whole = match writer.write_all(&batch) {
                    Ok(()) => batch.len(),
                    Err((whole, e)) => {
                        fail(&control, &writer, &e);
                        broken = true;
                        whole
                    }
                };
                for outcome in &batch[..whole] {
                    tally.add(outcome.kind);
                    progress.record(outcome.kind);
                }
                sync_at.get_or_insert_with(|| Instant::now() + SYNC_EVERY);
            }
            batch.clear();
        }
        if let Err(e) = sync(&writer).await {
            fail(&control, &writer, &e);
            broken = true;
        }
        (tally, !broken)
    })
}

/// fsync on a blocking thread, so the runtime's workers keep running meanwhile.
async fn sync(writer: &ReportWriter) -> std::io::Result<()> {
    let file = writer.file.try_clone()?;
    writer.syncs.fetch_add(1, Ordering::Relaxed);
    tokio::task::spawn_blocking(move || file.sync_data())
        .await
        .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(line: u64) -> Outcome {
        Outcome {
            line,
            id: line.to_string(),
            kind: OutcomeKind::Enabled,
            http_status: Some(200),
            api_code: None,
            message: "ok".to_owned(),
            attempts: 1,
            elapsed: Duration::ZERO,
            kept: Box::default(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn rows_that_keep_flowing_are_synced_every_second_and_once_more_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.report.csv");
        let (writer, _) = ReportWriter::open(
            &path,
            ReportFormat::Csv,
            "enable-r",
            Operation::Enable,
            false,
            &Columns::default(),
        )
        .unwrap();
        let syncs = writer.syncs();
        let (tx, rx) = mpsc::channel(16);
        let control = Arc::new(Control::new());
        let task = spawn_writer(writer, rx, Progress::new(false, None), control);
        // A row every 100 ms for 3.5 s: never a quiet moment for the writer.
        for line in 0..35 {
            tx.send(outcome(line + 2)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let flowing = syncs.load(Ordering::Relaxed);
        assert!((3..=4).contains(&flowing), "{flowing} fsyncs in 3.5 s");
        // Idle: nothing new to sync.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let idle = syncs.load(Ordering::Relaxed);
        assert_eq!(idle, flowing + 1, "the last rows once, then nothing");
        drop(tx);
        let (tally, complete) = task.await.unwrap();
        assert!(complete);
        assert_eq!(tally.total(), 35);
        assert_eq!(
            syncs.load(Ordering::Relaxed),
            idle + 1,
            "one more at the end"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 36);
    }
}
