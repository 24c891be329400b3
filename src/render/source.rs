//! Reads credbulk reports for rendering, newest row first: the last row per id is then simply
//! the first one seen, so deciding an id's final outcome needs one bit per id and no second
//! look. Accepts what the writer produces: CSV (`,` or `;` separated, with or without a UTF-8
//! BOM, LF or CRLF, extra columns after the fixed ones) and JSON lines. Like `--resume`, a
//! partial last line left by a crash is ignored and a file that is not a report is refused.
//! Depends only on `report` (the row type and the cell read-back); knows nothing of output.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::report::{CSV_HEADER, ReportFormat, Row, cell_read_back, json_row_kept};

/// How far back one read goes.
const BLOCK: u64 = 64 * 1024;

/// One report file, its header checked.
#[derive(Debug)]
pub struct ReportFile {
    path: PathBuf,
    format: ReportFormat,
    /// CSV only: the separator and, per fixed column, its position in a row.
    delimiter: u8,
    positions: [usize; 10],
    /// Names of the input columns the run kept (`--keep-columns`), and (CSV) where they are.
    kept: Vec<String>,
    kept_positions: Vec<usize>,
    /// Length up to the end of the last complete line.
    complete_len: u64,
    /// Whether a partial last line was found (and is ignored).
    pub dropped_partial: bool,
}

impl ReportFile {
    /// Opens `path` and checks that it is a report. Errors are fragments for "report PATH: …".
    pub fn open(path: &Path) -> Result<Self, String> {
        let mut file = File::open(path).map_err(|e| format!("cannot read ({e})"))?;
        let len = file.seek(SeekFrom::End(0)).map_err(io)?;
        let complete_len = last_newline_end(&mut file, len).map_err(io)?;
        let mut report = Self {
            path: path.to_owned(),
            format: ReportFormat::for_path(path),
            delimiter: b',',
            positions: std::array::from_fn(|i| i),
            kept: Vec::new(),
            kept_positions: Vec::new(),
            complete_len,
            dropped_partial: complete_len < len,
        };
        if complete_len > 0 {
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            let mut first = Vec::new();
            file.take(BLOCK).read_to_end(&mut first).map_err(io)?;
            let header = first.split(|b| *b == b'\n').next().unwrap_or_default();
            match report.format {
                ReportFormat::Csv => report.read_header(header)?,
                // Every row of a report names the same kept columns: the first row says which.
                ReportFormat::Jsonl => {
                    report.kept = json_row_kept(header).into_iter().map(|(n, _)| n).collect();
                }
            }
        }
        Ok(report)
    }

    /// Names of the input columns the report's rows carry (`--keep-columns`).
    #[must_use]
    pub fn kept_names(&self) -> &[String] {
        &self.kept
    }

    /// The file's path, as given.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A fixed string that `grep -F` finds in this file's rows of `outcome` (and, in a CSV
    /// report, only in those unless a message quotes it).
    #[must_use]
    pub fn outcome_pattern(&self, outcome: &str) -> String {
        match self.format {
            ReportFormat::Csv => {
                let d = char::from(self.delimiter);
                format!("{d}{outcome}{d}")
            }
            ReportFormat::Jsonl => format!("\"outcome\":\"{outcome}\""),
        }
    }

    /// Finds the fixed columns in a CSV header (its separator is sniffed from it).
    fn read_header(&mut self, header: &[u8]) -> Result<(), String> {
        let header = header.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(header);
        let header = header.strip_suffix(b"\r").unwrap_or(header);
        self.delimiter = if header.starts_with(b"line;") {
            b';'
        } else {
            b','
        };
        let names = split_csv(header, self.delimiter);
        for (slot, wanted) in self.positions.iter_mut().zip(CSV_HEADER.split(',')) {
            *slot = names.iter().position(|n| n == wanted).ok_or_else(|| {
                "is not a credbulk report (its first line is not the report header)".to_owned()
            })?;
        }
        for (i, name) in names.iter().enumerate() {
            if !self.positions.contains(&i) {
                self.kept.push(cell_read_back(name).to_owned());
                self.kept_positions.push(i);
            }
        }
        Ok(())
    }

    /// Calls `each` with every complete row, last row first. Returns how many rows were read.
    pub fn rows_backwards(&self, mut each: impl FnMut(Row)) -> Result<u64, String> {
        let mut file = File::open(&self.path).map_err(|e| format!("cannot read ({e})"))?;
        let mut rows = 0u64;
        let mut parse = |line: &[u8], first_line: bool| -> Result<(), String> {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace)
                || (first_line && self.format == ReportFormat::Csv)
            {
                return Ok(());
            }
            let row = match self.format {
                ReportFormat::Csv => self.csv_row(line),
                ReportFormat::Jsonl => serde_json::from_slice(line)
                    .map(|mut row: Row| {
                        if !self.kept.is_empty() {
                            row.kept = json_row_kept(line).into_iter().map(|(_, c)| c).collect();
                        }
                        row
                    })
                    .map_err(|e| e.to_string()),
            }
            .map_err(|e| {
                format!(
                    "holds a line that is not a report row ({e}): {}",
                    shown(line)
                )
            })?;
            rows += 1;
            each(row);
            Ok(())
        };
        lines_backwards(&mut file, self.complete_len, &mut parse)?;
        Ok(rows)
    }

    fn csv_row(&self, line: &[u8]) -> Result<Row, String> {
        let cells = split_csv(line, self.delimiter);
        let cell = |i: usize| -> Result<&str, String> {
            cells
                .get(self.positions[i])
                .map(String::as_str)
                .ok_or_else(|| "too few cells".to_owned())
        };
        let number = |i: usize| -> Result<u64, String> {
            cell(i)?.parse().map_err(|_| {
                format!(
                    "{} is not a number",
                    CSV_HEADER.split(',').nth(i).unwrap_or("")
                )
            })
        };
        let optional = |i: usize| -> Result<Option<u16>, String> {
            let text = cell(i)?;
            if text.is_empty() {
                Ok(None)
            } else {
                text.parse()
                    .map(Some)
                    .map_err(|_| format!("{text:?} is not a status or code"))
            }
        };
        Ok(Row {
            line: number(0)?,
            id: cell_read_back(cell(1)?).to_owned(),
            outcome: cell(2)?.to_owned(),
            http_status: optional(3)?,
            api_code: optional(4)?,
            message: cell_read_back(cell(5)?).to_owned(),
            attempts: u32::try_from(number(6)?).map_err(|e| e.to_string())?,
            elapsed_ms: number(7)?,
            finished_at: cell(8)?.to_owned(),
            run_id: cell(9)?.to_owned(),
            kept: self
                .kept_positions
                .iter()
                .map(|i| cells.get(*i).map_or("", |c| cell_read_back(c)).to_owned())
                .collect(),
        })
    }
}

#[expect(clippy::needless_pass_by_value, reason = "used as map_err(io)")]
fn io(e: std::io::Error) -> String {
    format!("cannot read ({e})")
}

/// The first characters of a bad line, for the error message.
fn shown(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut short: String = text.chars().take(80).collect();
    if text.chars().count() > 80 {
        short.push('…');
    }
    format!("{short:?}")
}

/// Where the last complete line of the first `len` bytes of `file` ends.
fn last_newline_end(file: &mut File, len: u64) -> std::io::Result<u64> {
    let mut end = len;
    let mut block = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(BLOCK);
        read_range(file, start, end, &mut block)?;
        if let Some(i) = block.iter().rposition(|b| *b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

fn read_range(file: &mut File, start: u64, end: u64, into: &mut Vec<u8>) -> std::io::Result<()> {
    into.clear();
    file.seek(SeekFrom::Start(start))?;
    file.take(end - start).read_to_end(into)?;
    Ok(())
}

/// Calls `each(line, is_first_line)` for every line of the first `complete_len` bytes (which
/// end with a newline), last line first, reading `BLOCK` bytes at a time.
fn lines_backwards(
    file: &mut File,
    complete_len: u64,
    each: &mut impl FnMut(&[u8], bool) -> Result<(), String>,
) -> Result<(), String> {
    if complete_len == 0 {
        return Ok(());
    }
    // The bytes not yet handed out are [pos, pos + tail.len()); the final newline is skipped.
    let mut pos = complete_len - 1;
    let mut tail: Vec<u8> = Vec::new();
    let mut block = Vec::new();
    loop {
        if let Some(i) = tail.iter().rposition(|b| *b == b'\n') {
            each(&tail[i + 1..], false)?;
            tail.truncate(i);
            continue;
        }
        if pos == 0 {
            return each(&tail, true);
        }
        let start = pos.saturating_sub(BLOCK);
        read_range(file, start, pos, &mut block).map_err(io)?;
        block.extend_from_slice(&tail);
        std::mem::swap(&mut tail, &mut block);
        pos = start;
    }
}

/// Splits one CSV line (RFC 4180 quoting; a row never spans lines in a credbulk report).
fn split_csv(line: &[u8], delimiter: u8) -> Vec<String> {
    let mut cells = Vec::with_capacity(10);
    let mut cell = Vec::new();
    let mut quoted = false;
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if quoted {
            if b == b'"' && line.get(i + 1) == Some(&b'"') {
                cell.push(b'"');
                i += 1;
            } else if b == b'"' {
                quoted = false;
            } else {
                cell.push(b);
            }
        } else if b == b'"' {
            quoted = true;
        } else if b == delimiter {
            cells.push(String::from_utf8_lossy(&cell).into_owned());
            cell.clear();
        } else {
            cell.push(b);
        }
        i += 1;
    }
    cells.push(String::from_utf8_lossy(&cell).into_owned());
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    fn file(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    fn ids(report: &ReportFile) -> Vec<String> {
        let mut ids = Vec::new();
        report.rows_backwards(|r| ids.push(r.id)).unwrap();
        ids
    }

    #[test]
    fn rows_come_back_last_first_across_block_boundaries_and_a_partial_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = format!("{CSV_HEADER}\n");
        for i in 0..5000u64 {
            let message = format!(
                "\"a, \"\"quoted\"\" message {}\"",
                "x".repeat((i % 40) as usize)
            );
            writeln!(text, "{},{i},enabled,200,,{message},1,3,t,r", i + 2).unwrap();
        }
        text.push_str("5002,99999,enab");
        let path = file(dir.path(), "r.csv", text.as_bytes());
        let report = ReportFile::open(&path).unwrap();
        assert!(report.dropped_partial);
        let back = ids(&report);
        assert_eq!(back.len(), 5000);
        assert_eq!(back[0], "4999");
        assert_eq!(back[4999], "0");
        let mut messages = Vec::new();
        report.rows_backwards(|r| messages.push(r.message)).unwrap();
        assert!(messages[0].starts_with("a, \"quoted\" message"));
    }

    #[test]
    fn excel_style_and_extra_columns_and_jsonl_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let header = CSV_HEADER.replace(',', ";");
        let text =
            format!("\u{feff}{header};Username\r\n2;7;not_found;400;1007;'=1+1;1;3;t;r;bob\r\n");
        let report = ReportFile::open(&file(dir.path(), "r.csv", text.as_bytes())).unwrap();
        let mut rows = Vec::new();
        report.rows_backwards(|r| rows.push(r)).unwrap();
        assert_eq!(rows[0].message, "=1+1", "the formula guard is read back");
        assert_eq!(rows[0].api_code, Some(1007));
        assert_eq!(report.kept_names(), ["Username"]);
        assert_eq!(rows[0].kept, ["bob"]);
        let json = b"{\"line\":2,\"id\":\"5\",\"outcome\":\"timeout\",\"http_status\":null,\"api_code\":null,\"message\":\"m\",\"attempts\":5,\"elapsed_ms\":3,\"finished_at\":\"t\",\"run_id\":\"r\",\"kept\":{\"Device\":\"web01\"}}\n";
        let report = ReportFile::open(&file(dir.path(), "r.jsonl", json)).unwrap();
        assert_eq!(ids(&report), vec!["5"]);
        assert_eq!(report.kept_names(), ["Device"]);
        let mut rows = Vec::new();
        report.rows_backwards(|r| rows.push(r)).unwrap();
        assert_eq!(rows[0].kept, ["web01"]);
    }

    #[test]
    fn files_that_are_not_reports_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = ReportFile::open(&file(dir.path(), "ids.csv", b"id\n1\n")).unwrap_err();
        assert!(err.contains("not a credbulk report"), "{err}");
        let bad = format!("{CSV_HEADER}\nnot,a,row\n");
        let report = ReportFile::open(&file(dir.path(), "b.csv", bad.as_bytes())).unwrap();
        assert!(
            report
                .rows_backwards(|_| {})
                .unwrap_err()
                .contains("not a report row")
        );
        assert!(ReportFile::open(&dir.path().join("missing.csv")).is_err());
    }
}
