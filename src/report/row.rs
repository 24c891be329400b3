//! One report row and its two encodings. CSV is written by hand (quoting only where needed)
//! because it is on the per-id path; JSONL goes through serde.

use serde::{Deserialize, Serialize};

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
        }
    }

    /// Appends the row as one CSV line.
    pub fn write_csv(&self, out: &mut Vec<u8>) {
        use std::io::Write as _;
        let opt = |v: Option<u16>| v.map(|n| n.to_string()).unwrap_or_default();
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{},", self.line);
        push_field(out, &formula_safe(&self.id));
        out.push(b',');
        push_field(out, &self.outcome);
        let _ = write!(out, ",{},{},", opt(self.http_status), opt(self.api_code));
        push_field(out, &formula_safe(&self.message));
        let _ = write!(out, ",{},{},", self.attempts, self.elapsed_ms);
        push_field(out, &self.finished_at);
        out.push(b',');
        push_field(out, &self.run_id);
        out.push(b'\n');
    }

    /// Appends the row as one JSON line.
    pub fn write_jsonl(&self, out: &mut Vec<u8>) {
        // Serializing plain strings and numbers into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, self);
        out.push(b'\n');
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

fn push_field(out: &mut Vec<u8>, value: &str) {
    // Newlines are flattened so that every row is exactly one line (resume relies on it).
    let needs_quotes = value.contains([',', '"', '\n', '\r']) || value.starts_with(' ');
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
        }
    }

    #[test]
    fn csv_rows_quote_only_what_needs_it_and_stay_on_one_line() {
        let mut out = Vec::new();
        row("plain").write_csv(&mut out);
        row("a, \"b\"\nc").write_csv(&mut out);
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
        row("x, \"y\"").write_csv(&mut out);
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
            row(m).write_csv(&mut out);
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
        row("m").write_jsonl(&mut out);
        assert_eq!(out.last(), Some(&b'\n'));
        let back: Row = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, row("m"));
    }
}
