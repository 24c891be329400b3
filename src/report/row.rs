//! One report row and its two encodings. CSV is written by hand (quoting only where needed)
//! because it is on the per-id path; JSONL goes through serde. Kept input cells
//! (`--keep-columns`) follow the fixed columns in CSV, and are one `"kept"` object of
//! column name → cell in JSONL (an object, so that an input column named like a fixed field,
//! `id` or `message`, can never shadow it).

use serde::ser::SerializeMap as _;
use serde::{Deserialize, Serialize};

use super::Dialect;
use crate::model::Outcome;

/// The CSV header, in column order.
pub const CSV_HEADER: &str =
    "line,id,outcome,http_status,api_code,message,attempts,elapsed_ms,finished_at,run_id";

/// A report row as written and read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub line: u64,
    pub id: String,
    pub outcome: String,
    pub http_status: Option<u16>,
    pub api_code: Option<u16>,
    pub message: String,
    pub attempts: u32,
    pub elapsed_ms: u64,
    /// RFC 3339 UTC.
    pub finished_at: String,
    pub run_id: String,
    /// The kept input cells, in the report's column order. Written by `write_csv` and
    /// `write_jsonl`, which know the columns' names; not a serde field of its own.
    #[serde(skip)]
    pub kept: Vec<String>,
}

impl Row {
    /// The row for an outcome decided now.
    #[must_use]
    pub fn new(outcome: &Outcome, finished_at: String, run_id: &str) -> Self {
        Self {
            line: outcome.line,
            id: outcome.id.clone(),
            outcome: outcome.kind.as_str().to_owned(),
            http_status: outcome.http_status,
            api_code: outcome.api_code,
            message: crate::redact::text(&outcome.message).into_owned(),
            attempts: outcome.attempts,
            elapsed_ms: u64::try_from(outcome.elapsed.as_millis()).unwrap_or(u64::MAX),
            finished_at,
            run_id: run_id.to_owned(),
            kept: outcome.kept.to_vec(),
        }
    }

    /// Appends the row as one CSV line in `dialect`. Cells from outside (the id cell, the
    /// message, kept input cells) are made formula-safe.
    pub fn write_csv(&self, out: &mut Vec<u8>, dialect: Dialect) {
        use std::io::Write as _;
        let opt = |v: Option<u16>| v.map(|n| n.to_string()).unwrap_or_default();
        let s = char::from(dialect.separator());
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{}{s}", self.line);
        push_field(out, &formula_safe(&self.id), dialect.separator());
        let _ = write!(
            out,
            "{s}{}{s}{}{s}{}{s}",
            self.outcome,
            opt(self.http_status),
            opt(self.api_code)
        );
        push_field(out, &formula_safe(&self.message), dialect.separator());
        let _ = write!(out, "{s}{}{s}{}{s}", self.attempts, self.elapsed_ms);
        push_field(out, &self.finished_at, dialect.separator());
        out.push(dialect.separator());
        push_field(out, &self.run_id, dialect.separator());
        for cell in &self.kept {
            out.push(dialect.separator());
            push_field(out, &formula_safe(cell), dialect.separator());
        }
        out.extend_from_slice(dialect.line_end());
    }

    /// Appends the row as one JSON line; `kept_names` name the kept cells (none: no `"kept"`).
    pub fn write_jsonl(&self, out: &mut Vec<u8>, kept_names: &[String]) {
        #[derive(Serialize)]
        struct WithKept<'a> {
            #[serde(flatten)]
            row: &'a Row,
            #[serde(skip_serializing_if = "KeptObject::is_empty")]
            kept: KeptObject<'a>,
        }
        if kept_names.is_empty() {
            // The common case keeps the plain struct's serializer (no map buffering).
            let _ = serde_json::to_writer(&mut *out, self);
            out.push(b'\n');
            return;
        }
        let with = WithKept {
            row: self,
            kept: KeptObject {
                names: kept_names,
                cells: &self.kept,
            },
        };
        // Serializing plain strings and numbers into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &with);
        out.push(b'\n');
    }
}

/// The kept cells as one JSON object, in column order.
struct KeptObject<'a> {
    names: &'a [String],
    cells: &'a [String],
}

impl KeptObject<'_> {
    fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

impl Serialize for KeptObject<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.names.len()))?;
        for (i, name) in self.names.iter().enumerate() {
            map.serialize_entry(name, self.cells.get(i).map_or("", String::as_str))?;
        }
        map.end()
    }
}

/// A cell from outside (the appliance's message, an input cell) as written to a CSV report or a
/// rendered table: OWASP's CSV-injection rule, so that a spreadsheet never runs it as a
/// formula. A cell starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` (which Excel
/// hides); so does one that already starts with `'`, so that [`cell_read_back`] can undo it
/// exactly and the report keeps the appliance's own words.
#[must_use]
pub fn formula_safe(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r', '\'']) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

/// The original text of a cell read back from a CSV report: undoes [`formula_safe`].
#[must_use]
pub fn cell_read_back(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

/// Appends one cell, quoted when it holds the separator, a quote, a line end or a leading space.
pub(super) fn push_field(out: &mut Vec<u8>, value: &str, separator: u8) {
    // Newlines are flattened so that every row is exactly one line (resume relies on it).
    let needs_quotes =
        value.contains(['"', '\n', '\r', char::from(separator)]) || value.starts_with(' ');
    if !needs_quotes {
        out.extend_from_slice(value.as_bytes());
        return;
    }
    out.push(b'"');
    for c in value.chars() {
        match c {
            '"' => out.extend_from_slice(b"\"\""),
            '\n' | '\r' => out.push(b' '),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(message: &str) -> Row {
        Row {
            line: 7,
            id: "42".into(),
            outcome: "enabled".into(),
            http_status: Some(200),
            api_code: None,
            message: message.into(),
            attempts: 1,
            elapsed_ms: 12,
            finished_at: "2026-11-26T12:00:00.000Z".into(),
            run_id: "r1".into(),
            kept: Vec::new(),
        }
    }

    #[test]
    fn csv_rows_quote_only_what_needs_it_and_stay_on_one_line() {
        let mut out = Vec::new();
        row("plain").write_csv(&mut out, Dialect::Standard);
        row("a, \"b\"\nc").write_csv(&mut out, Dialect::Standard);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "7,42,enabled,200,,plain,1,12,2026-11-26T12:00:00.000Z,r1\n\
             7,42,enabled,200,,\"a, \"\"b\"\" c\",1,12,2026-11-26T12:00:00.000Z,r1\n"
        );
    }

    #[test]
    fn csv_rows_read_back_through_the_csv_crate() {
        let mut out = format!("{CSV_HEADER}\n").into_bytes();
        row("x, \"y\"").write_csv(&mut out, Dialect::Standard);
        let mut reader = csv::Reader::from_reader(&out[..]);
        let back: Row = reader.deserialize().next().unwrap().unwrap();
        assert_eq!(back, row("x, \"y\""));
    }

    #[test]
    fn cells_that_a_spreadsheet_would_run_get_a_quote_and_read_back_whole() {
        let mut out = format!("{CSV_HEADER}\n").into_bytes();
        let risky = [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-1",
            "@SUM(A1)",
            "\tx",
            "'quoted",
            "plain",
        ];
        for m in risky {
            row(m).write_csv(&mut out, Dialect::Standard);
        }
        let mut reader = csv::Reader::from_reader(&out[..]);
        let back: Vec<Row> = reader.deserialize().map(Result::unwrap).collect();
        for (m, r) in risky.iter().zip(&back) {
            let neutral = !m.starts_with(['=', '+', '-', '@', '\t', '\r']);
            assert!(
                neutral || r.message.starts_with('\''),
                "{m:?} → {:?}",
                r.message
            );
            assert_eq!(cell_read_back(&r.message), *m);
        }
        assert_eq!(
            back[6].message, "plain",
            "safe cells are written as they are"
        );
    }

    #[test]
    fn jsonl_rows_round_trip() {
        let mut out = Vec::new();
        row("m").write_jsonl(&mut out, &[]);
        assert_eq!(out.last(), Some(&b'\n'));
        let back: Row = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, row("m"));
    }

    #[test]
    fn kept_cells_follow_the_fixed_columns_formula_safe_in_either_dialect() {
        let mut kept = row("m");
        kept.kept = vec!["bob".into(), "=HYPERLINK(\"x\")".into(), "a;b, c".into()];
        let mut out = Vec::new();
        kept.write_csv(&mut out, Dialect::Standard);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "7,42,enabled,200,,m,1,12,2026-11-26T12:00:00.000Z,r1,bob,\"'=HYPERLINK(\"\"x\"\")\",\"a;b, c\"\n"
        );
        let mut out = Vec::new();
        kept.write_csv(&mut out, Dialect::Excel);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "7;42;enabled;200;;m;1;12;2026-11-26T12:00:00.000Z;r1;bob;\"'=HYPERLINK(\"\"x\"\")\";\"a;b, c\"\r\n"
        );
    }

    #[test]
    fn jsonl_rows_carry_kept_cells_as_one_object_by_column_name() {
        let mut kept = row("m");
        kept.kept = vec!["bob".into(), "=1".into()];
        let mut out = Vec::new();
        kept.write_jsonl(&mut out, &["id".into(), "Device".into()]);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with(",\"kept\":{\"id\":\"bob\",\"Device\":\"=1\"}}\n"),
            "{text}"
        );
        let back: Row = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back.id, "42",
            "a kept column named id never shadows the row's id"
        );
    }
}
