//! The in-doubt journal (design.md §10, invariant 7): a sidecar `<report>.inflight` that says
//! which ids may have been changed although no row proves it. `+id` is appended before every
//! attempt is sent and `-id` after an answer that proves nothing was applied (for an id not
//! already in doubt), each with one plain `write`: the OS keeps it even if the process is killed
//! the next instant, so no kind of stop (Ctrl-C, abort, write failure, crash, `kill -9`) can
//! forget an attempt that went out. On the next run an id whose last record is `+` and whose
//! last report row is not final is in doubt, and [`InDoubt`] turns its first "already" answer
//! into the confirmation of this tool's own change.
//!
//! Memory is a few bitmaps (roaring); the file is rewritten with only the ids still in doubt
//! when a run opens it and when a run ends with every row written, so it never grows across
//! runs. It is owned with the report, under the report's lock. Depends on the report's lock
//! being held by the caller, the pipeline's `Backend` trait and the API's `Answer`; nothing
//! depends on it but the run's wiring.

mod backend;

pub use backend::InDoubt;

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use roaring::RoaringTreemap;

use crate::error::Error;
use crate::model::Operation;

/// First line of a journal, followed by the operation's name.
const HEADER: &str = "credbulk in-doubt journal v1";

/// `<report>.inflight`.
#[must_use]
pub fn journal_path(report: &Path) -> PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(".inflight");
    PathBuf::from(name)
}

/// The journal of one run, open for appending.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    operation: Operation,
}

impl Journal {
    /// Reads the journal beside `report` (if any), compacts it to the ids still in doubt (last
    /// record `+` and not `settled` by a final row of the report), and opens it for appending.
    /// Returns the journal and the ids in doubt from earlier runs. The report's lock must be held.
    pub fn open(
        report: &Path,
        operation: Operation,
        settled: &RoaringTreemap,
    ) -> Result<(Self, RoaringTreemap), Error> {
        let path = journal_path(report);
        let fail = |message: String, hint: &str| Error::Report {
            path: report.to_owned(),
            message,
            hint: hint.to_owned(),
        };
        let mut doubt = match File::open(&path) {
            Ok(file) => read(file, operation).map_err(|message| {
                fail(
                    format!("its in-doubt journal {} {message}", path.display()),
                    "pass the report of the same operation (enable or disable), or another --report",
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => RoaringTreemap::new(),
            Err(e) => {
                return Err(fail(
                    format!("cannot read its in-doubt journal {} ({e})", path.display()),
                    "check the file's permissions",
                ));
            }
        };
        doubt -= settled;
        let journal = Self {
            file: rewrite(&path, operation, &doubt).map_err(|e| {
                fail(
                    format!("cannot write its in-doubt journal {} ({e})", path.display()),
                    "check free space and permissions",
                )
            })?,
            path,
            operation,
        };
        Ok((journal, doubt))
    }

    /// Records that an attempt at `id` is about to be sent.
    pub fn sent(&self, id: u64) -> std::io::Result<()> {
        self.append(b'+', id)
    }

    /// Records that an answer proved nothing was applied to `id`.
    pub fn refused(&self, id: u64) -> std::io::Result<()> {
        self.append(b'-', id)
    }

    fn append(&self, sign: u8, id: u64) -> std::io::Result<()> {
        let mut line = [0u8; 24];
        line[0] = sign;
        let mut at = 1;
        for digit in id.to_string().bytes() {
            line[at] = digit;
            at += 1;
        }
        line[at] = b'\n';
        // One `write` of a whole record on an append-only file: concurrent workers never
        // interleave within a record, and no lock is needed around the file.
        (&self.file).write_all(&line[..=at])
    }

    /// Rewrites the journal with only `still_in_doubt`, or removes it when nothing is. Call
    /// only once every row of the run is in the report.
    pub fn compact(self, still_in_doubt: &RoaringTreemap) -> std::io::Result<()> {
        if still_in_doubt.is_empty() {
            drop(self.file);
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        rewrite(&self.path, self.operation, still_in_doubt).map(drop)
    }
}

/// The ids the journal beside `report` leaves in doubt (last record `+`), read without
/// changing it; none when there is no journal. For a rollback from `report`: `wrote` is the
/// operation of the run being undone, and a journal of the other operation is refused.
pub fn read_in_doubt(report: &Path, wrote: Operation) -> Result<RoaringTreemap, String> {
    let path = journal_path(report);
    match File::open(&path) {
        Ok(file) => {
            read(file, wrote).map_err(|m| format!("its in-doubt journal {} {m}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RoaringTreemap::new()),
        Err(e) => Err(format!(
            "cannot read its in-doubt journal {} ({e})",
            path.display()
        )),
    }
}

/// Parses a journal: the ids whose last record is `+`. A partial last line (a crash mid-write
/// of a few bytes) is ignored: the attempt it announced was not sent yet.
fn read(file: File, operation: Operation) -> Result<RoaringTreemap, String> {
    let mut lines = BufReader::new(file).split(b'\n');
    let header = lines
        .next()
        .transpose()
        .map_err(|e| format!("cannot be read ({e})"))?
        .unwrap_or_default();
    let header = String::from_utf8_lossy(&header);
    let Some(wrote) = header.strip_prefix(HEADER).map(str::trim) else {
        return Err("is not a credbulk journal".to_owned());
    };
    if wrote != operation.name() {
        return Err(format!(
            "was written by `credbulk {wrote}`, not `credbulk {}`",
            operation.name()
        ));
    }
    let mut plus = RoaringTreemap::new();
    for line in lines {
        let line = line.map_err(|e| format!("cannot be read ({e})"))?;
        let parsed = std::str::from_utf8(line.get(1..).unwrap_or_default())
            .ok()
            .and_then(|n| n.parse::<u64>().ok());
        match (line.first(), parsed) {
            (Some(b'+'), Some(id)) => {
                plus.insert(id);
            }
            (Some(b'-'), Some(id)) => {
                plus.remove(id);
            }
            _ => {}
        }
    }
    Ok(plus)
}

/// Writes a fresh journal holding `ids` beside the old one and renames it over it, so a crash
/// leaves either the old journal or the new one, never a mix; returns it open for appending.
fn rewrite(path: &Path, operation: Operation, ids: &RoaringTreemap) -> std::io::Result<File> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut text = format!("{HEADER} {}\n", operation.name());
    for id in ids {
        text.push('+');
        text.push_str(&id.to_string());
        text.push('\n');
    }
    let mut file = File::create(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    OpenOptions::new().append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitmap(ids: &[u64]) -> RoaringTreemap {
        ids.iter().copied().collect()
    }

    #[test]
    fn the_last_record_decides_and_settled_ids_are_no_longer_in_doubt() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r.csv");
        let (journal, doubt) = Journal::open(&report, Operation::Enable, &bitmap(&[])).unwrap();
        assert!(doubt.is_empty());
        for id in [1, 2, 3, 4] {
            journal.sent(id).unwrap();
        }
        journal.refused(2).unwrap();
        journal.sent(2).unwrap();
        journal.refused(3).unwrap();
        drop(journal);
        // A partial record left by a crash is ignored.
        let mut f = OpenOptions::new()
            .append(true)
            .open(journal_path(&report))
            .unwrap();
        f.write_all(b"+9").unwrap();
        let (_, doubt) = Journal::open(&report, Operation::Enable, &bitmap(&[4])).unwrap();
        assert_eq!(doubt.iter().collect::<Vec<_>>(), vec![1, 2, 9]);
        let text = std::fs::read_to_string(journal_path(&report)).unwrap();
        assert_eq!(
            text,
            format!("{HEADER} enable\n+1\n+2\n+9\n"),
            "compacted on open"
        );
    }

    #[test]
    fn a_journal_of_the_other_operation_or_not_a_journal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r.csv");
        let (journal, _) = Journal::open(&report, Operation::Enable, &bitmap(&[])).unwrap();
        journal.sent(5).unwrap();
        drop(journal);
        let err = Journal::open(&report, Operation::Disable, &bitmap(&[])).unwrap_err();
        assert!(err.to_string().contains("credbulk enable"), "{err}");
        std::fs::write(journal_path(&report), "precious").unwrap();
        assert!(Journal::open(&report, Operation::Enable, &bitmap(&[])).is_err());
        assert_eq!(std::fs::read(journal_path(&report)).unwrap(), b"precious");
    }

    #[test]
    fn compacting_with_nothing_in_doubt_removes_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r.csv");
        let (journal, _) = Journal::open(&report, Operation::Enable, &bitmap(&[])).unwrap();
        journal.sent(5).unwrap();
        journal.compact(&bitmap(&[])).unwrap();
        assert!(!journal_path(&report).exists());
    }
}
