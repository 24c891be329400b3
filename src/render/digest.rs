//! Everything a rendered report shows, gathered from the reports (and summaries) in two
//! streamed passes: the first decides each id's outcome (the last row per id wins, duplicate
//! rows never override and invalid lines are keyed by line, exactly as `--resume` reads a
//! report) and keeps the failures; the second draws the timeline over the span the first
//! found. Memory bound, whatever the number of rows: one bit per id for dense ids (up to about
//! 2 bytes per id for scattered ones) in compressed bitmaps, the `MAX_COLUMNS` timeline
//! columns (under 5 KiB each), and per failing outcome `MAX_GROUPS` message groups and
//! `MAX_SAMPLES` sample rows with messages cut to `MAX_MESSAGE` characters; at most `MAX_RUNS`
//! run ids. Depends on `model`, `report` and the render readers; knows nothing of output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use roaring::RoaringTreemap;

use super::latency::Histogram;
use super::record::RunRecordDoc;
use super::source::ReportFile;
use super::timeline::Timeline;
use crate::model::{OutcomeKind, Verdict};
use crate::report::Row;

/// Distinct (status, code, message) groups listed per failing outcome.
pub const MAX_GROUPS: usize = 20;
/// Sample rows listed per failing outcome.
pub const MAX_SAMPLES: usize = 50;
/// Characters of a message kept for display.
pub const MAX_MESSAGE: usize = 300;
/// Run ids listed.
pub const MAX_RUNS: usize = 1000;

/// A report file that was read.
#[derive(Debug, Clone)]
pub struct ReportSeen {
    pub path: PathBuf,
    pub rows: u64,
    /// A partial last line (a crash mid-write) was ignored.
    pub dropped_partial: bool,
    /// `outcome_pattern("OUTCOME")` of the file: what `grep -F` finds its rows of an outcome by.
    pub pattern: String,
}

impl ReportSeen {
    /// What `grep -F` finds this file's rows of `kind` by.
    #[must_use]
    pub fn outcome_pattern(&self, kind: OutcomeKind) -> String {
        self.pattern.replace("OUTCOME", kind.as_str())
    }
}

/// The rows one run wrote.
#[derive(Debug, Clone, Default)]
pub struct RunSeen {
    pub rows: u64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

/// Ids that share an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub http_status: Option<u16>,
    pub api_code: Option<u16>,
    pub message: String,
    pub ids: u64,
}

/// The ids whose final outcome is one failure.
#[derive(Debug, Clone, Default)]
pub struct Failures {
    pub groups: Vec<Group>,
    /// Ids whose answer fell outside the listed groups.
    pub ungrouped: u64,
    /// The last rows of this outcome (latest first as read; sort for display).
    pub samples: Vec<Row>,
}

/// What went wrong reading an input of `credbulk report`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestError {
    Report { path: PathBuf, message: String },
    Summary { path: PathBuf, message: String },
}

/// The gathered facts.
#[derive(Debug, Clone, Default)]
pub struct Digest {
    pub reports: Vec<ReportSeen>,
    pub records: Vec<(PathBuf, RunRecordDoc)>,
    pub runs: BTreeMap<String, RunSeen>,
    /// Rows of runs past `MAX_RUNS`.
    pub rows_of_unlisted_runs: u64,
    /// Final outcome per id (per line for `invalid_input` and `duplicate`).
    pub counts: BTreeMap<OutcomeKind, u64>,
    pub failures: BTreeMap<OutcomeKind, Failures>,
    /// Rows read, and rows overridden by a later row of the same id.
    pub rows: u64,
    pub superseded: u64,
    /// Ids with rows in more than one report: the file listed later decided them, so the
    /// order the files were given matters for these (and only these).
    pub in_several_reports: u64,
    /// Rows whose `finished_at` could not be read (left out of the timeline).
    pub untimed: u64,
    /// Time to decide each id that was sent, over every row (`elapsed_ms`).
    pub latency: Histogram,
    pub timeline: Option<Timeline>,
    /// The input columns every report kept (`--keep-columns`), shown beside the failed rows;
    /// empty when none did, or when the reports kept different ones.
    pub kept_names: Vec<String>,
}

impl Digest {
    /// Reads `reports` (oldest first: a later file's row wins) and `summaries`.
    pub fn build(reports: &[PathBuf], summaries: &[PathBuf]) -> Result<Self, DigestError> {
        let mut digest = Self::default();
        for path in summaries {
            let doc = RunRecordDoc::read(path).map_err(|message| DigestError::Summary {
                path: path.clone(),
                message,
            })?;
            digest.records.push((path.clone(), doc));
        }
        let report_error = |path: &Path| {
            let path = path.to_owned();
            move |message| DigestError::Report { path, message }
        };
        let files = reports
            .iter()
            .map(|p| ReportFile::open(p).map_err(report_error(p)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut kept = files.iter().map(ReportFile::kept_names);
        if let Some(first) = kept.next()
            && kept.all(|k| k == first)
        {
            digest.kept_names = first.to_vec();
        }
        let mut pass = FirstPass::default();
        let mut seen = Vec::new();
        for file in files.iter().rev() {
            file.path().clone_into(&mut pass.current);
            pass.decided_in_later_files.clone_from(&pass.decided);
            let rows = file
                .rows_backwards(|row| pass.add(&mut digest, row))
                .map_err(report_error(file.path()))?;
            seen.push(ReportSeen {
                path: file.path().to_owned(),
                rows,
                dropped_partial: file.dropped_partial,
                pattern: file.outcome_pattern("OUTCOME"),
            });
        }
        seen.reverse();
        digest.reports = seen;
        digest.in_several_reports = pass.in_several_reports.len();
        if let Some(bad) = pass.unknown {
            return Err(DigestError::Report {
                path: bad.0,
                message: format!("holds an unknown outcome {:?}", bad.1),
            });
        }
        if let (Some(first), Some(last)) = (pass.first_ms, pass.last_ms) {
            let mut timeline = Timeline::new(first, last);
            for file in &files {
                file.rows_backwards(|row| {
                    if let (Some(at), Some(kind)) =
                        (millis(&row.finished_at), OutcomeKind::parse(&row.outcome))
                    {
                        timeline.add(at, kind, row.attempts, row.elapsed_ms);
                    }
                })
                .map_err(report_error(file.path()))?;
            }
            digest.timeline = Some(timeline);
        }
        Ok(digest)
    }

    /// Ids (and lines) counted, whatever their outcome.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Ids (and lines) whose final outcome is `verdict`.
    #[must_use]
    pub fn with_verdict(&self, verdict: Verdict) -> u64 {
        self.counts
            .iter()
            .filter(|(k, _)| k.verdict() == verdict)
            .map(|(_, n)| n)
            .sum()
    }
}

/// State of the first pass that does not end up in the digest.
#[derive(Default)]
struct FirstPass {
    /// Ids whose final row has been seen (reading backwards, the first row seen is the last).
    decided: RoaringTreemap,
    /// `decided` as it was before the file being read: ids that a later file decided.
    decided_in_later_files: RoaringTreemap,
    /// Ids of the file being read that a later file decided.
    in_several_reports: RoaringTreemap,
    /// Lines whose `invalid_input` / `duplicate` row has been seen.
    invalid_lines: RoaringTreemap,
    duplicate_lines: RoaringTreemap,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    /// The file being read, and the first row with an outcome this credbulk does not know.
    current: PathBuf,
    unknown: Option<(PathBuf, String)>,
}

impl FirstPass {
    fn add(&mut self, digest: &mut Digest, row: Row) {
        digest.rows += 1;
        let at = millis(&row.finished_at);
        match at {
            Some(ms) => {
                self.first_ms = Some(self.first_ms.map_or(ms, |f| f.min(ms)));
                self.last_ms = Some(self.last_ms.map_or(ms, |l| l.max(ms)));
            }
            None => digest.untimed += 1,
        }
        if row.attempts > 0 {
            digest.latency.add(row.elapsed_ms);
        }
        note_run(digest, &row.run_id, at);
        let Some(kind) = OutcomeKind::parse(&row.outcome) else {
            if self.unknown.is_none() {
                self.unknown = Some((self.current.clone(), row.outcome));
            }
            return;
        };
        let is_last = match kind {
            OutcomeKind::Duplicate => self.duplicate_lines.insert(row.line),
            OutcomeKind::InvalidInput => self.invalid_lines.insert(row.line),
            // An id the report could not key on (never written by credbulk) counts as is.
            _ => row.id.parse::<u64>().map_or(true, |id| {
                if self.decided_in_later_files.contains(id) {
                    self.in_several_reports.insert(id);
                }
                self.decided.insert(id)
            }),
        };
        if !is_last {
            digest.superseded += 1;
            return;
        }
        *digest.counts.entry(kind).or_default() += 1;
        if kind.verdict() == Verdict::Failure {
            note_failure(digest.failures.entry(kind).or_default(), row);
        }
    }
}

fn note_run(digest: &mut Digest, run_id: &str, at: Option<i64>) {
    if digest.runs.len() >= MAX_RUNS && !digest.runs.contains_key(run_id) {
        digest.rows_of_unlisted_runs += 1;
        return;
    }
    let run = digest.runs.entry(run_id.to_owned()).or_default();
    run.rows += 1;
    if let Some(ms) = at {
        run.first_ms = Some(run.first_ms.map_or(ms, |f| f.min(ms)));
        run.last_ms = Some(run.last_ms.map_or(ms, |l| l.max(ms)));
    }
}

fn note_failure(failures: &mut Failures, mut row: Row) {
    row.message = shortened(&row.message);
    let group = failures.groups.iter().position(|g| {
        g.http_status == row.http_status && g.api_code == row.api_code && g.message == row.message
    });
    match group {
        Some(i) => failures.groups[i].ids += 1,
        None if failures.groups.len() < MAX_GROUPS => failures.groups.push(Group {
            http_status: row.http_status,
            api_code: row.api_code,
            message: row.message.clone(),
            ids: 1,
        }),
        None => failures.ungrouped += 1,
    }
    if failures.samples.len() < MAX_SAMPLES {
        failures.samples.push(row);
    }
}

fn shortened(message: &str) -> String {
    if message.chars().count() <= MAX_MESSAGE {
        return message.to_owned();
    }
    let mut short: String = message.chars().take(MAX_MESSAGE).collect();
    short.push('…');
    short
}

/// `finished_at` as Unix milliseconds.
#[must_use]
pub fn millis(rfc3339: &str) -> Option<i64> {
    let at = humantime::parse_rfc3339_weak(rfc3339).ok()?;
    i64::try_from(at.duration_since(UNIX_EPOCH).ok()?.as_millis()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::CSV_HEADER;

    fn report(dir: &Path, name: &str, rows: &[&str]) -> PathBuf {
        let path = dir.join(name);
        let mut text = format!("{CSV_HEADER}\n");
        for r in rows {
            text.push_str(r);
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn the_last_row_per_id_decides_across_runs_and_shards() {
        let dir = tempfile::tempdir().unwrap();
        let t = "2026-11-26T12:00:00.000Z";
        let shard0 = report(
            dir.path(),
            "s0.csv",
            &[
                &format!("2,1,timeout,504,,gateway,5,900,{t},r1"),
                &format!("3,2,not_found,400,1007,1007: Credential not found,1,20,{t},r1"),
                &format!("4,x,invalid_input,,,not an id,0,0,{t},r1"),
                &format!("5,2,duplicate,,,repeat,0,0,{t},r1"),
                "2,1,enabled,200,,ok,1,30,2026-11-26T12:00:09.000Z,r2",
                &format!("5,2,duplicate,,,repeat,0,0,{t},r2"),
            ],
        );
        let shard1 = report(
            dir.path(),
            "s1.csv",
            &[&format!(
                "6,7,server_error,500,,Unexpected error.,5,100,{t},r3"
            )],
        );
        let d = Digest::build(&[shard0, shard1], &[]).unwrap();
        let counts: Vec<(&str, u64)> = d.counts.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        assert_eq!(
            counts,
            vec![
                ("enabled", 1),
                ("not_found", 1),
                ("invalid_input", 1),
                ("duplicate", 1),
                ("server_error", 1)
            ]
        );
        assert_eq!((d.rows, d.superseded), (7, 2));
        assert!(
            !d.failures.contains_key(&OutcomeKind::Timeout),
            "id 1 ended enabled"
        );
        assert_eq!(
            d.failures[&OutcomeKind::NotFound].groups[0].api_code,
            Some(1007)
        );
        assert_eq!(d.runs.len(), 3);
        assert_eq!(d.in_several_reports, 0, "shards share no id");
        let timeline = d.timeline.unwrap();
        assert_eq!(timeline.columns.len(), 10);
        assert_eq!(timeline.columns[9].success, 1);
        assert_eq!(
            timeline.columns[0].transient, 2,
            "history: the timeout, then the 500"
        );
    }

    #[test]
    fn ids_in_several_reports_are_counted_so_the_page_can_say_the_order_decided_them() {
        let dir = tempfile::tempdir().unwrap();
        let t = "2026-11-26T12:00:00.000Z";
        let old = report(
            dir.path(),
            "old.csv",
            &[
                &format!("2,1,timeout,504,,gateway,5,900,{t},r1"),
                &format!("3,2,enabled,200,,ok,1,9,{t},r1"),
            ],
        );
        let new = report(
            dir.path(),
            "new.csv",
            &[&format!("2,1,enabled,200,,ok,1,9,{t},r2")],
        );
        let d = Digest::build(&[old.clone(), new.clone()], &[]).unwrap();
        assert_eq!(d.counts[&OutcomeKind::Enabled], 2);
        assert_eq!(d.in_several_reports, 1);
        let caveats = super::super::facts::caveats(&d);
        assert!(
            caveats
                .iter()
                .any(|c| c.contains("1 ids have rows in more than one report")),
            "{caveats:?}"
        );
        let swapped = Digest::build(&[new, old], &[]).unwrap();
        assert_eq!(
            swapped.counts[&OutcomeKind::Timeout],
            1,
            "the file listed last decides"
        );
        assert_eq!(swapped.in_several_reports, 1);
    }

    #[test]
    fn samples_and_groups_stay_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<String> = (0..500)
            .map(|i| format!("{},{i},rejected,400,{},m{i},1,1,t,r", i + 2, 2000 + i))
            .collect();
        let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
        let d = Digest::build(&[report(dir.path(), "r.csv", &refs)], &[]).unwrap();
        let f = &d.failures[&OutcomeKind::Rejected];
        assert_eq!(f.groups.len(), MAX_GROUPS);
        assert_eq!(f.samples.len(), MAX_SAMPLES);
        assert_eq!(
            f.ungrouped + f.groups.iter().map(|g| g.ids).sum::<u64>(),
            500
        );
        assert_eq!(d.untimed, 500);
        assert!(d.timeline.is_none());
    }

    #[test]
    fn an_unknown_outcome_or_a_bad_summary_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = report(dir.path(), "r.csv", &["2,1,exploded,,,m,1,1,t,r"]);
        let err = Digest::build(std::slice::from_ref(&path), &[]).unwrap_err();
        assert!(matches!(err, DigestError::Report { message, .. } if message.contains("exploded")));
        let err = Digest::build(&[], std::slice::from_ref(&path)).unwrap_err();
        assert!(matches!(err, DigestError::Summary { .. }));
    }
}
