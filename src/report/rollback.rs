//! `--from-report`: the ids an earlier run changed, read back from its report so that a runbook
//! can undo exactly that run (`disable` takes the `enabled` rows, never `already_enabled` ones,
//! which were active before the run). The last row per id decides, as for `--resume`; CSV and
//! JSONL reports both work, and a partial last line left by a crash is ignored.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use super::ReportFormat;
use super::rows::read_rows;
use crate::model::OutcomeKind;

/// An id to send again and the report line whose row decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakenId {
    pub line: u64,
    pub id: u64,
}

/// Reads `path` and returns the ids whose last row is `wanted`, in report order.
pub fn ids_with_last_outcome(path: &Path, wanted: OutcomeKind) -> Result<Vec<TakenId>, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot read ({e})"))?;
    // id → (line of its last row, its outcome)
    let mut last: HashMap<u64, (u64, OutcomeKind)> = HashMap::new();
    read_rows(&mut file, ReportFormat::for_path(path), |line, row| {
        let kind = OutcomeKind::parse(&row.outcome)
            .ok_or_else(|| format!("line {line}: unknown outcome {:?}", row.outcome))?;
        // A duplicate row is about an input line, never about the id's fate.
        if kind != OutcomeKind::Duplicate
            && let Ok(id) = row.id.parse::<u64>()
        {
            last.insert(id, (line, kind));
        }
        Ok(())
    })?;
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
    use crate::report::CSV_HEADER;

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
