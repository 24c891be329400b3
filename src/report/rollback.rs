//! `--from-report`: the ids an earlier run changed, read back from its report so that a runbook
//! can undo exactly that run (`disable` takes the `enabled` rows, never `already_enabled` ones,
//! which were active before the run). The last row per id decides, as for `--resume`; CSV and
//! JSONL reports both work, and a partial last line left by a crash is ignored.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use super::{CSV_HEADER, ReportFormat, Row};
use crate::model::OutcomeKind;

/// An id to send again and the report line whose row decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakenId {
    pub line: u64,
    pub id: u64,
}

/// Reads `path` and returns the ids whose last row is `wanted`, in report order.
pub fn ids_with_last_outcome(path: &Path, wanted: OutcomeKind) -> Result<Vec<TakenId>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read ({e})"))?;
    let complete_len = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let complete = &bytes[..complete_len];
    // id → (line of its last row, its outcome)
    let mut last: HashMap<u64, (u64, OutcomeKind)> = HashMap::new();
    let mut record = |line: u64, row: &Row| -> Result<(), String> {
        let kind = OutcomeKind::parse(&row.outcome)
            .ok_or_else(|| format!("line {line}: unknown outcome {:?}", row.outcome))?;
        // A duplicate row is about an input line, never about the id's fate.
        if kind != OutcomeKind::Duplicate
            && let Ok(id) = row.id.parse::<u64>()
        {
            last.insert(id, (line, kind));
        }
        Ok(())
    };
    match ReportFormat::for_path(path) {
        ReportFormat::Csv => {
            let header_end = complete.iter().position(|b| *b == b'\n').unwrap_or(0);
            let header = String::from_utf8_lossy(&complete[..header_end]);
            if header.trim_end_matches('\r') != CSV_HEADER {
                return Err(
                    "is not a credbulk CSV report (its first line is not the report header)"
                        .to_owned(),
                );
            }
            let mut reader = csv::Reader::from_reader(complete);
            let mut raw = csv::StringRecord::new();
            let headers = reader.headers().map_err(|e| e.to_string())?.clone();
            while reader
                .read_record(&mut raw)
                .map_err(|e| format!("is not a report ({e})"))?
            {
                let line = raw.position().map_or(0, csv::Position::line);
                let row: Row = raw
                    .deserialize(Some(&headers))
                    .map_err(|e| format!("line {line} is not a report row ({e})"))?;
                record(line, &row)?;
            }
        }
        ReportFormat::Jsonl => {
            for (i, text) in complete.split(|b| *b == b'\n').enumerate() {
                if text.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let line = i as u64 + 1;
                let row: Row = serde_json::from_slice(text)
                    .map_err(|e| format!("line {line} is not a report row ({e})"))?;
                record(line, &row)?;
            }
        }
    }
    let mut taken: Vec<TakenId> = last
        .into_iter()
        .filter(|(_, (_, kind))| *kind == wanted)
        .map(|(id, (line, _))| TakenId { line, id })
        .collect();
    taken.sort_unstable_by_key(|t| t.line);
    Ok(taken)
}

/// A headerless CSV holding each id on the line its row had in the report (blank lines in
/// between are skipped by the reader but counted), so the new report's `line` column points
/// at the row of the run being undone.
#[must_use]
pub fn as_input_csv(taken: &[TakenId]) -> Vec<u8> {
    let mut out = String::new();
    let mut at = 1u64;
    for t in taken {
        while at < t.line {
            out.push('\n');
            at += 1;
        }
        let _ = writeln!(out, "{}", t.id);
        at += 1;
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{InputItem, InputReader};

    fn write(dir: &Path, name: &str, content: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn only_ids_whose_last_row_is_enabled_are_taken() {
        let dir = tempfile::tempdir().unwrap();
        let report = format!(
            "{CSV_HEADER}\n2,1,enabled,200,,ok,1,1,t,r\n3,2,already_enabled,400,1043,m,1,1,t,r\n4,3,timeout,,,m,5,1,t,r\n5,4,enabled,200,,ok,1,1,t,r\n6,4,duplicate,,,m,0,0,t,r\n3,3,enabled,200,,ok,1,1,t,r2\n7,5,enabled,200,,ok,1,1,t,r\n8,5,server_error,500,,m,5,1,t,r2\n9,6,enab"
        );
        let path = write(dir.path(), "ids.report.csv", &report);
        let taken = ids_with_last_outcome(&path, OutcomeKind::Enabled).unwrap();
        let ids: Vec<u64> = taken.iter().map(|t| t.id).collect();
        assert_eq!(ids, vec![1, 4, 3], "in report order; 5's last row failed");
        assert_eq!(taken[2].line, 7, "the line of the deciding row");
    }

    #[test]
    fn jsonl_reports_are_read_too() {
        let dir = tempfile::tempdir().unwrap();
        let row = |id: u64, outcome: &str| {
            format!(
                "{{\"line\":2,\"id\":\"{id}\",\"outcome\":\"{outcome}\",\"http_status\":200,\"api_code\":null,\"message\":\"m\",\"attempts\":1,\"elapsed_ms\":3,\"finished_at\":\"t\",\"run_id\":\"r\"}}\n"
            )
        };
        let content = row(7, "enabled") + &row(8, "not_found") + &row(9, "enabled");
        let path = write(dir.path(), "r.jsonl", &content);
        let taken = ids_with_last_outcome(&path, OutcomeKind::Enabled).unwrap();
        assert_eq!(
            taken,
            vec![TakenId { line: 1, id: 7 }, TakenId { line: 3, id: 9 }]
        );
    }

    #[test]
    fn a_file_that_is_not_a_report_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "ids.csv", "id\n1\n");
        assert!(ids_with_last_outcome(&path, OutcomeKind::Enabled).is_err());
        assert!(ids_with_last_outcome(&dir.path().join("none.csv"), OutcomeKind::Enabled).is_err());
    }

    #[test]
    fn the_input_made_from_a_report_keeps_the_report_lines() {
        let taken = [TakenId { line: 1, id: 7 }, TakenId { line: 4, id: 9 }];
        let bytes = as_input_csv(&taken);
        let reader =
            InputReader::from_reader(Box::new(std::io::Cursor::new(bytes)), "r".into(), "id")
                .unwrap();
        let items: Vec<InputItem> = reader.map(Result::unwrap).collect();
        let lines: Vec<(u64, u64)> = items
            .iter()
            .map(|i| match i {
                InputItem::Id(r) => (r.line, r.id),
                InputItem::Local(o) => panic!("unexpected {o:?}"),
            })
            .collect();
        assert_eq!(lines, vec![(1, 7), (4, 9)]);
    }
}
