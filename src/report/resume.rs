//! Reads an existing report back for `--resume`: the last row per id wins (duplicate rows are
//! about a line, not an id's fate, so they never override), and a partial last line left by a
//! crash is detected and ignored.

use std::io::{Read, Seek};

use super::rows::read_rows;
use super::{Columns, OperationSeen, ReportFormat};
use crate::model::{OutcomeKind, Verdict};

/// What an earlier run settled.
#[derive(Debug, Clone, Default)]
pub struct Resumed {
    /// Ids whose last outcome needs no retry (a compressed bitmap: a few bits per id).
    pub settled: roaring::RoaringTreemap,
    /// Input lines already reported as `invalid_input` (an invalid cell has no id to key on).
    /// A bitmap like the others, so a report of a million bad lines stays a few MB.
    pub invalid_lines: roaring::RoaringTreemap,
    /// Lines of the `duplicate` rows already written, and (below) the ids those rows name: a
    /// repeat is skipped when both its line and its id have a row, without keeping pairs.
    pub duplicate_lines: roaring::RoaringTreemap,
    /// Ids named by `duplicate` rows.
    pub duplicate_ids: roaring::RoaringTreemap,
    /// Which operation the rows say wrote the report.
    pub operation: OperationSeen,
    /// Complete rows read.
    pub rows: u64,
    /// Settled ids (and invalid lines) whose last outcome is a failure (`not_found`, …).
    pub settled_failures: u64,
    /// The settled ids whose last outcome is a failure.
    pub failed: roaring::RoaringTreemap,
    /// Length of the file up to the end of its last complete line.
    pub valid_len: u64,
    /// Whether a partial last line was found (and will be cut off).
    pub dropped_partial: bool,
    /// The dialect and kept columns the report's header (or first JSON row) names; `None`
    /// for an empty file.
    pub columns: Option<Columns>,
}

/// Reads a report, streamed: the last row per id is tracked in two bitmaps (settled, and
/// settled as a failure), set by a final outcome and cleared by a later retryable one, so
/// memory stays a few bits per id whatever the report's size. Errors name the first line that
/// is not a report row.
pub(super) fn parse_existing(
    file: &mut (impl Read + Seek),
    format: ReportFormat,
) -> Result<Resumed, String> {
    let mut resumed = Resumed::default();
    let extent = read_rows(file, format, |_, row| {
        let kind = OutcomeKind::parse(&row.outcome)
            .ok_or_else(|| format!("line {}: unknown outcome {:?}", row.line, row.outcome))?;
        resumed.rows += 1;
        resumed.operation.add(kind, &row.run_id);
        if kind == OutcomeKind::Duplicate {
            if let Ok(id) = row.id.parse::<u64>() {
                resumed.duplicate_lines.insert(row.line);
                resumed.duplicate_ids.insert(id);
            }
        } else if kind == OutcomeKind::InvalidInput {
            resumed.invalid_lines.insert(row.line);
        } else if let Ok(id) = row.id.parse::<u64>() {
            if kind.is_final() {
                resumed.settled.insert(id);
            } else {
                resumed.settled.remove(id);
            }
            if kind.is_final() && kind.verdict() == Verdict::Failure {
                resumed.failed.insert(id);
            } else {
                resumed.failed.remove(id);
            }
        }
        Ok(())
    })?;
    resumed.valid_len = extent.complete_len;
    resumed.dropped_partial = extent.dropped_partial;
    resumed.columns = extent.columns;
    resumed.settled_failures = resumed.failed.len() + resumed.invalid_lines.len();
    Ok(resumed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::CSV_HEADER;
    use std::fmt::Write as _;

    fn csv(rows: &[(&str, &str)]) -> Vec<u8> {
        let mut out = format!("{CSV_HEADER}\n");
        for (i, (id, outcome)) in rows.iter().enumerate() {
            writeln!(out, "{},{id},{outcome},,,m,1,1,t,r", i + 2).unwrap();
        }
        out.into_bytes()
    }

    #[test]
    fn the_last_row_per_id_decides_and_duplicates_never_override() {
        let bytes = csv(&[
            ("1", "timeout"),
            ("1", "enabled"),
            ("2", "enabled"),
            ("2", "server_error"),
            ("3", "timeout"),
            ("3", "duplicate"),
            ("x", "invalid_input"),
        ]);
        let r = parse_existing(&mut std::io::Cursor::new(&bytes), ReportFormat::Csv).unwrap();
        assert_eq!(r.settled.iter().collect::<Vec<_>>(), vec![1]);
        assert!(r.invalid_lines.contains(8));
        assert_eq!(r.rows, 7);
        assert!(!r.dropped_partial);
    }

    #[test]
    fn a_partial_last_line_is_ignored_and_marked_for_cutting() {
        let mut bytes = csv(&[("1", "enabled")]);
        let full = bytes.len() as u64;
        bytes.extend_from_slice(b"3,2,enab");
        let r = parse_existing(&mut std::io::Cursor::new(&bytes), ReportFormat::Csv).unwrap();
        assert!(r.dropped_partial);
        assert_eq!(r.valid_len, full);
        assert_eq!(r.settled.iter().collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn jsonl_reports_resume_too() {
        let bytes = b"{\"line\":2,\"id\":\"5\",\"outcome\":\"not_found\",\"http_status\":400,\"api_code\":1007,\"message\":\"m\",\"attempts\":1,\"elapsed_ms\":3,\"finished_at\":\"t\",\"run_id\":\"r\"}\n{\"line\":3,\"id\":\"6\",\"outc";
        let r = parse_existing(&mut std::io::Cursor::new(&bytes[..]), ReportFormat::Jsonl).unwrap();
        assert_eq!(r.settled.iter().collect::<Vec<_>>(), vec![5]);
        assert!(r.dropped_partial);
    }

    #[test]
    fn a_file_that_is_not_a_report_is_refused() {
        let err = parse_existing(&mut std::io::Cursor::new(b"id\n1\n2\n"), ReportFormat::Csv)
            .unwrap_err();
        assert!(err.contains("not a credbulk"), "{err}");
    }

    #[test]
    fn an_excel_report_with_kept_columns_resumes_and_names_its_columns() {
        use crate::report::{Dialect, header_line};
        let mut bytes = header_line(Dialect::Excel, &["Username".into(), "=Device".into()]);
        bytes.extend_from_slice(b"2;1;enabled;200;;ok;1;1;t;r;bob;'=web01\r\n");
        bytes.extend_from_slice(b"3;2;timeout;;;\"a; b\";5;1;t;r;ana;db\r\n");
        let full = bytes.len() as u64;
        bytes.extend_from_slice(b"4;3;enab");
        let r = parse_existing(&mut std::io::Cursor::new(&bytes), ReportFormat::Csv).unwrap();
        assert_eq!(r.settled.iter().collect::<Vec<_>>(), vec![1]);
        assert_eq!(r.rows, 2);
        assert!(r.dropped_partial);
        assert_eq!(r.valid_len, full);
        let columns = r.columns.unwrap();
        assert_eq!(columns.dialect, Dialect::Excel);
        assert_eq!(columns.kept, vec!["Username", "=Device"]);
    }

    #[test]
    fn a_row_that_does_not_fit_the_header_is_refused() {
        let mut bytes = format!("{CSV_HEADER},Username\n").into_bytes();
        bytes.extend_from_slice(b"2,1,enabled,200,,ok,1,1,t,r\n");
        let err = parse_existing(&mut std::io::Cursor::new(&bytes), ReportFormat::Csv).unwrap_err();
        assert!(err.contains("line 2") && err.contains("11"), "{err}");
    }

    #[test]
    fn a_header_cut_short_in_either_dialect_is_a_crash_leftover() {
        use crate::report::{Dialect, header_line};
        for dialect in [Dialect::Standard, Dialect::Excel] {
            let header = header_line(dialect, &["Username".into()]);
            for cut in [2, 20, header.len() - 4] {
                let r =
                    parse_existing(&mut std::io::Cursor::new(&header[..cut]), ReportFormat::Csv)
                        .unwrap();
                assert!(
                    r.dropped_partial && r.valid_len == 0,
                    "{dialect:?} cut at {cut}"
                );
            }
        }
        assert!(
            parse_existing(&mut std::io::Cursor::new(b"line;x"), ReportFormat::Csv).is_err(),
            "not a report header"
        );
    }

    #[test]
    fn jsonl_kept_columns_are_named_by_the_first_row() {
        let row = |id: u64, kept: &str| {
            format!(
                "{{\"line\":2,\"id\":\"{id}\",\"outcome\":\"enabled\",\"http_status\":200,\"api_code\":null,\"message\":\"m\",\"attempts\":1,\"elapsed_ms\":3,\"finished_at\":\"t\",\"run_id\":\"r\"{kept}}}\n"
            )
        };
        let both = r#","kept":{"Username":"bob","Device":"web01"}"#;
        let text = row(1, both) + &row(2, both);
        let r = parse_existing(
            &mut std::io::Cursor::new(text.as_bytes()),
            ReportFormat::Jsonl,
        )
        .unwrap();
        assert_eq!(r.columns.unwrap().kept, vec!["Username", "Device"]);
        let text = row(1, both) + &row(2, r#","kept":{"Device":"x","Username":"y"}"#);
        assert!(
            parse_existing(
                &mut std::io::Cursor::new(text.as_bytes()),
                ReportFormat::Jsonl
            )
            .is_err()
        );
        let plain = row(1, "");
        let r = parse_existing(
            &mut std::io::Cursor::new(plain.as_bytes()),
            ReportFormat::Jsonl,
        )
        .unwrap();
        assert_eq!(r.columns.unwrap().kept, Vec::<String>::new());
    }
}
