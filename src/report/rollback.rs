//! `--from-report`: the ids an earlier run changed, read back from its report so that a runbook
//! can undo exactly that run (`disable` takes the `enabled` rows, never `already_enabled` ones,
//! which were active before the run). The last row per id decides, as for `--resume`; CSV and
//! JSONL reports both work, and a partial last line left by a crash is ignored.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use roaring::RoaringTreemap;

use super::ReportFormat;
use super::rows::read_rows;
use crate::model::OutcomeKind;

/// An id to send again and the report line whose row decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakenId {
    pub line: u64,
    pub id: u64,
}

/// Reads `path` and returns the ids whose last row is `wanted`, in report order, followed by
/// the ids of `in_doubt` (an attempt went out and no answer proved what it did: the run being
/// undone may have changed them) whose last row is not final or which have no row at all (a
/// `kill -9` between the change and its row). An in-doubt id without a row is given a line past
/// the report's end. Returns the ids and how many of them came from `in_doubt` alone.
pub fn ids_with_last_outcome(
    path: &Path,
    wanted: OutcomeKind,
    in_doubt: &RoaringTreemap,
) -> Result<(Vec<TakenId>, usize), String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot read ({e})"))?;
    // id → (line of its last row, its outcome)
    let mut last: HashMap<u64, (u64, OutcomeKind)> = HashMap::new();
    let mut end = 0u64;
    read_rows(&mut file, ReportFormat::for_path(path), |line, row| {
        let kind = OutcomeKind::parse(&row.outcome)
            .ok_or_else(|| format!("line {line}: unknown outcome {:?}", row.outcome))?;
        end = end.max(line);
        // A duplicate row is about an input line, never about the id's fate.
        if kind != OutcomeKind::Duplicate
            && let Ok(id) = row.id.parse::<u64>()
        {
            last.insert(id, (line, kind));
        }
        Ok(())
    })?;
    let mut doubtful = 0;
    let mut taken: Vec<TakenId> = Vec::new();
    for id in in_doubt {
        match last.get(&id) {
            Some((_, kind)) if *kind == wanted => {}
            Some((_, kind)) if kind.is_final() => {}
            Some((line, _)) => {
                doubtful += 1;
                taken.push(TakenId { line: *line, id });
            }
            None => {
                doubtful += 1;
                end += 1;
                taken.push(TakenId { line: end, id });
            }
        }
    }
    taken.extend(
        last.into_iter()
            .filter(|(_, (_, kind))| *kind == wanted)
            .map(|(id, (line, _))| TakenId { line, id }),
    );
    taken.sort_unstable_by_key(|t| t.line);
    Ok((taken, doubtful))
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
        let taken = ids_with_last_outcome(&path, OutcomeKind::Enabled, &RoaringTreemap::new())
            .unwrap()
            .0;
        let ids: Vec<u64> = taken.iter().map(|t| t.id).collect();
        assert_eq!(ids, vec![1, 4, 3], "in report order; 5's last row failed");
        assert_eq!(taken[2].line, 7, "the line of the deciding row");
    }

    #[test]
    fn ids_in_doubt_are_taken_unless_a_final_row_decided_them() {
        let dir = tempfile::tempdir().unwrap();
        let report = format!(
            "{CSV_HEADER}\n2,1,enabled,200,,ok,1,1,t,r\n3,2,timeout,,,m,5,1,t,r\n4,3,not_found,400,1007,m,1,1,t,r\n"
        );
        let path = write(dir.path(), "ids.report.csv", &report);
        // 1 is enabled anyway, 2 timed out, 3 was not found, 4 has no row (killed before it).
        let doubt: RoaringTreemap = [1, 2, 3, 4].into_iter().collect();
        let (taken, doubtful) = ids_with_last_outcome(&path, OutcomeKind::Enabled, &doubt).unwrap();
        assert_eq!(
            taken,
            vec![
                TakenId { line: 2, id: 1 },
                TakenId { line: 3, id: 2 },
                TakenId { line: 5, id: 4 }
            ]
        );
        assert_eq!(doubtful, 2);
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
        let taken = ids_with_last_outcome(&path, OutcomeKind::Enabled, &RoaringTreemap::new())
            .unwrap()
            .0;
        assert_eq!(
            taken,
            vec![TakenId { line: 1, id: 7 }, TakenId { line: 3, id: 9 }]
        );
    }

    #[test]
    fn a_file_that_is_not_a_report_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "ids.csv", "id\n1\n");
        assert!(
            ids_with_last_outcome(&path, OutcomeKind::Enabled, &RoaringTreemap::new()).is_err()
        );
        assert!(
            ids_with_last_outcome(
                &dir.path().join("none.csv"),
                OutcomeKind::Enabled,
                &RoaringTreemap::new()
            )
            .is_err()
        );
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
                InputItem::Id(r, _) => (r.line, r.id),
                InputItem::Local(o) => panic!("unexpected {o:?}"),
            })
            .collect();
        assert_eq!(lines, vec![(1, 7), (4, 9)]);
    }
}
