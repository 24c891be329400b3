//! `--keep-columns`: which cells of each input line are copied into that line's report row, so
//! the report reads without the export beside it. Columns are named exactly as `--id-column`
//! names them (a header name matched the same way, or a 1-based number) and resolved against
//! the same first row once `columns` has decided whether it is a header, with the same kind of
//! one-line errors. Pure: no I/O, no knowledge of CSV or workbooks.

use std::num::NonZeroUsize;

use super::columns::{IdColumn, Layout, cell_text, fold, list_cells};
use crate::model::KeptCells;

/// Longest kept cell copied into a report row, in characters; longer ones are shortened with
/// `…`, so one huge cell cannot make a row (or the memory of the ids in flight) grow with it.
pub const MAX_KEPT_CELL: usize = 256;

/// One kept column: where it is and what the report calls it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// 0-based index in a row.
    pub index: usize,
    /// The report column's name: the input's header cell, or `column N` without a header.
    pub name: String,
}

/// Reads `--keep-columns "Username,Device"`: comma-separated, each a header name or a 1-based
/// column number, as for `--id-column`.
pub fn parse(text: &str) -> Result<Vec<IdColumn>, String> {
    let mut columns = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(format!(
                "--keep-columns {text:?} has an empty column between its commas"
            ));
        }
        if part.bytes().all(|b| b.is_ascii_digit()) {
            let n = part
                .parse::<usize>()
                .ok()
                .and_then(NonZeroUsize::new)
                .ok_or_else(|| {
                    format!("--keep-columns {part} is not a column number (columns count from 1)")
                })?;
            columns.push(IdColumn::Position(n));
        } else {
            columns.push(IdColumn::Name(part.to_owned()));
        }
    }
    Ok(columns)
}

/// Why the kept columns could not be found. The caller adds the path and the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepError {
    /// A name, but the first line is data.
    NameWithoutHeader { wanted: String, columns: usize },
    /// A name the header does not have.
    MissingColumn { wanted: String, found: String },
    /// A number past the first row's last column.
    PastLastColumn { wanted: usize, columns: usize },
    /// One column named twice (`User,user`, or a name and its number).
    Twice { column: usize },
}

/// Finds each of `wanted` in the first row, whose layout `columns::decide` settled.
pub fn resolve(
    row: &[&[u8]],
    layout: &Layout,
    wanted: &[IdColumn],
) -> Result<Vec<Kept>, KeepError> {
    let mut kept: Vec<Kept> = Vec::with_capacity(wanted.len());
    for column in wanted {
        let index = match column {
            IdColumn::Position(n) if n.get() > row.len() => {
                return Err(KeepError::PastLastColumn {
                    wanted: n.get(),
                    columns: row.len(),
                });
            }
            IdColumn::Position(n) => n.get() - 1,
            IdColumn::Name(name) if !layout.header => {
                return Err(KeepError::NameWithoutHeader {
                    wanted: name.clone(),
                    columns: row.len(),
                });
            }
            IdColumn::Name(name) => {
                // A header broken across lines is named on one line, as the report shows it.
                let key = fold(&one_line(name));
                row.iter()
                    .position(|cell| fold(&one_line(&cell_text(cell))) == key)
                    .ok_or_else(|| KeepError::MissingColumn {
                        wanted: name.clone(),
                        found: list_cells(row),
                    })?
            }
        };
        if kept.iter().any(|k| k.index == index) {
            return Err(KeepError::Twice { column: index + 1 });
        }
        // On one line, as every cell of the report is: a CSV header cannot hold a line break
        // (it would read back as a space), and the name must read back as written.
        let header = if layout.header {
            one_line(&cell_text(row[index]))
        } else {
            String::new()
        };
        let name = if header.is_empty() {
            format!("column {}", index + 1)
        } else {
            header
        };
        kept.push(Kept { index, name });
    }
    // Two columns with one header name ("Name;Name") would be one key in a JSON row: each gets
    // its number, so every report column says which input column it is.
    let names: Vec<String> = kept.iter().map(|k| k.name.clone()).collect();
    for k in &mut kept {
        if names.iter().filter(|n| **n == k.name).count() > 1 {
            k.name = format!("{} (column {})", k.name, k.index + 1);
        }
    }
    Ok(kept)
}

impl KeepError {
    /// The message (without the path) and the hint, for the caller's error.
    #[must_use]
    pub fn message_and_hint(&self, line: u64) -> (String, String) {
        match self {
            Self::NameWithoutHeader { wanted, columns } => (
                format!(
                    "--keep-columns {wanted:?} is a header name, but line {line} is data (the input has no header row)"
                ),
                format!(
                    "give the columns' numbers instead (--keep-columns N,M counting from 1; line {line} has {columns} column(s))"
                ),
            ),
            Self::MissingColumn { wanted, found } => (
                format!("has no column {wanted:?} for --keep-columns; columns found: {found}"),
                "pass --keep-columns with names from those, or column numbers counting from 1"
                    .to_owned(),
            ),
            Self::PastLastColumn { wanted, columns } => (
                format!(
                    "has {columns} column(s) on line {line}; --keep-columns {wanted} is past the last one"
                ),
                format!("give column numbers from 1 to {columns}"),
            ),
            Self::Twice { column } => (
                format!("--keep-columns names column {column} twice"),
                "name each column once".to_owned(),
            ),
        }
    }
}

/// The kept cells of the current row: trimmed, on one line (control characters become
/// spaces, so CSV and JSON rows show the same text), at most [`MAX_KEPT_CELL`] characters. A
/// row shorter than a kept column gets an empty cell.
pub fn cells<'a>(kept: &[Kept], cell: impl Fn(usize) -> Option<&'a [u8]>) -> KeptCells {
    kept.iter()
        .map(|k| one_cell(cell(k.index).unwrap_or_default()))
        .collect()
}

/// `text` with each control character (a line break, a tab) as a space.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn one_cell(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len().min(MAX_KEPT_CELL));
    for (i, c) in text.trim().chars().enumerate() {
        if i == MAX_KEPT_CELL {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells_of(text: &str) -> Vec<&[u8]> {
        text.split(';').map(str::as_bytes).collect()
    }

    fn header() -> Layout {
        Layout {
            header: true,
            index: 0,
            header_name: Some("id".into()),
        }
    }

    fn data() -> Layout {
        Layout {
            header: false,
            index: 0,
            header_name: None,
        }
    }

    fn names(kept: &[Kept]) -> Vec<(usize, &str)> {
        kept.iter().map(|k| (k.index, k.name.as_str())).collect()
    }

    #[test]
    fn names_and_numbers_are_read_as_for_the_id_column() {
        let parsed = parse(" Username , 3,Device").unwrap();
        assert_eq!(
            parsed,
            vec![
                IdColumn::Name("Username".into()),
                IdColumn::Position(NonZeroUsize::new(3).unwrap()),
                IdColumn::Name("Device".into()),
            ]
        );
        assert!(parse("a,,b").unwrap_err().contains("empty"));
        assert!(parse("0").unwrap_err().contains("count from 1"));
    }

    #[test]
    fn names_match_over_unicode_case_and_keep_the_input_spelling() {
        let row = cells_of("ID; Usuário ;Device");
        let wanted = parse("usuÁrio,3").unwrap();
        let kept = resolve(&row, &header(), &wanted).unwrap();
        assert_eq!(names(&kept), vec![(1, "Usuário"), (2, "Device")]);
    }

    #[test]
    fn a_header_broken_across_lines_is_named_and_matched_on_one_line() {
        let row: Vec<&[u8]> = vec![b"ID", b"User\nname"];
        for wanted in ["2", "user name", "User\nName"] {
            let kept = resolve(&row, &header(), &parse(wanted).unwrap()).unwrap();
            assert_eq!(names(&kept), vec![(1, "User name")], "{wanted:?}");
        }
    }

    #[test]
    fn a_headerless_input_takes_numbers_named_by_position_and_refuses_names() {
        let row = cells_of("58001;web01;root");
        let kept = resolve(&row, &data(), &parse("3,2").unwrap()).unwrap();
        assert_eq!(names(&kept), vec![(2, "column 3"), (1, "column 2")]);
        let err = resolve(&row, &data(), &parse("Username").unwrap()).unwrap_err();
        let (message, hint) = err.message_and_hint(1);
        assert!(message.contains("no header row"), "{message}");
        assert!(
            hint.contains("--keep-columns N,M") && hint.contains("3 column"),
            "{hint}"
        );
    }

    #[test]
    fn unknown_names_numbers_past_the_end_and_repeats_are_refused_with_hints() {
        let row = cells_of("id;Username;Device");
        let err = resolve(&row, &header(), &parse("Usernme").unwrap()).unwrap_err();
        let (message, hint) = err.message_and_hint(1);
        assert!(
            message.contains("\"id\", \"Username\", \"Device\""),
            "{message}"
        );
        assert!(hint.contains("--keep-columns"), "{hint}");
        let err = resolve(&row, &header(), &parse("4").unwrap()).unwrap_err();
        assert_eq!(
            err,
            KeepError::PastLastColumn {
                wanted: 4,
                columns: 3
            }
        );
        assert!(err.message_and_hint(1).1.contains("from 1 to 3"));
        let err = resolve(&row, &header(), &parse("username,2").unwrap()).unwrap_err();
        assert_eq!(err, KeepError::Twice { column: 2 });
    }

    #[test]
    fn the_id_column_may_be_kept_and_shared_names_get_their_numbers() {
        let row = cells_of("id;Name;Name;");
        let kept = resolve(&row, &header(), &parse("2,3,1,4").unwrap()).unwrap();
        assert_eq!(
            names(&kept),
            vec![
                (1, "Name (column 2)"),
                (2, "Name (column 3)"),
                (0, "id"),
                (3, "column 4")
            ]
        );
    }

    #[test]
    fn cells_are_trimmed_one_line_short_and_missing_ones_empty() {
        let kept = vec![
            Kept {
                index: 0,
                name: "a".into(),
            },
            Kept {
                index: 1,
                name: "b".into(),
            },
            Kept {
                index: 5,
                name: "c".into(),
            },
        ];
        let long = "x".repeat(MAX_KEPT_CELL + 10);
        let row: Vec<&[u8]> = vec![b"  two\nlines ", long.as_bytes()];
        let got = cells(&kept, |i| row.get(i).copied());
        assert_eq!(got[0], "two lines");
        assert_eq!(got[1].chars().count(), MAX_KEPT_CELL + 1);
        assert!(got[1].ends_with('…'));
        assert_eq!(got[2], "");
    }
}
