//! Which column holds the id and whether the first line is a header: the rule written in the
//! README's "Input" section, decided from the first non-blank row alone. The rule is certain
//! or it refuses with a hint naming the flags that settle it; it never falls back to column 1
//! on a guess. Pure: no I/O, no knowledge of CSV or workbooks (rows arrive as cells of bytes).

use std::fmt;
use std::num::NonZeroUsize;

use super::parse_id;

/// `--id-column`: a header name, or a 1-based column number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdColumn {
    /// A header name, matched case-insensitively over Unicode, surrounding spaces ignored.
    Name(String),
    /// A 1-based column number.
    Position(NonZeroUsize),
}

impl IdColumn {
    /// The header name used when `--id-column` is not given.
    pub const DEFAULT_NAME: &'static str = "id";

    /// Reads `--id-column`: digits only is a column number (`0` is refused), anything else a
    /// name. A header literally named `2` cannot be chosen by name; its number does the job.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("--id-column is empty".to_owned());
        }
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return text
                .parse::<usize>()
                .ok()
                .and_then(NonZeroUsize::new)
                .map(Self::Position)
                .ok_or_else(|| {
                    format!("--id-column {text} is not a column number (columns count from 1)")
                });
        }
        Ok(Self::Name(text.to_owned()))
    }
}

impl fmt::Display for IdColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => write!(f, "{name:?}"),
            Self::Position(n) => write!(f, "{n}"),
        }
    }
}

/// What the first non-blank row turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The first row is a header (it gets no report row).
    pub header: bool,
    /// 0-based index of the id column.
    pub index: usize,
    /// The header cell of the id column, when there is a header.
    pub header_name: Option<String>,
}

/// Why no id column could be chosen. The caller adds the path and the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutError {
    /// `--no-header` with a column name.
    NameWithoutHeader {
        wanted: String,
        /// 1-based columns of the first row that hold an id, for the hint.
        numeric: Vec<usize>,
    },
    /// The name is not in the first row, and that row holds ids: it is data, not a header.
    LooksLikeData {
        wanted: String,
        /// 1-based columns of the first row that hold an id.
        numeric: Vec<usize>,
        /// The first row, shortened, for the message.
        shown: String,
    },
    /// The first row is a header without the name.
    MissingColumn { wanted: String, found: String },
    /// `--id-column N` beyond the first row's columns.
    PastLastColumn { wanted: usize, columns: usize },
}

/// Decides the layout from the first non-blank row.
///
/// - `--no-header`: the row is data; the id is in column N (default 1); a name is refused.
/// - a name (default `id`) equal to one of the row's cells: the row is the header.
/// - a number N: the row is data when its column N holds an id, else it is the header.
/// - a name not found: when the row holds ids it is data, so a header name cannot apply. Only
///   with no `--id-column` at all and a row of one cell is that certain to be a plain list of
///   ids (column 1); otherwise the operator is asked for `--no-header --id-column N`.
pub fn decide(
    row: &[&[u8]],
    id_column: Option<&IdColumn>,
    no_header: bool,
) -> Result<Layout, LayoutError> {
    let position_in_row = |n: NonZeroUsize| {
        if n.get() > row.len() {
            Err(LayoutError::PastLastColumn {
                wanted: n.get(),
                columns: row.len(),
            })
        } else {
            Ok(n.get() - 1)
        }
    };
    if no_header {
        return match id_column {
            None => Ok(Layout {
                header: false,
                index: 0,
                header_name: None,
            }),
            Some(IdColumn::Position(n)) => Ok(Layout {
                header: false,
                index: position_in_row(*n)?,
                header_name: None,
            }),
            Some(IdColumn::Name(name)) => Err(LayoutError::NameWithoutHeader {
                wanted: name.clone(),
                numeric: numeric_columns(row),
            }),
        };
    }
    let wanted = match id_column {
        Some(IdColumn::Position(n)) => {
            let index = position_in_row(*n)?;
            let header = parse_id(row[index]).is_err();
            return Ok(Layout {
                header,
                index,
                header_name: header.then(|| cell_text(row[index])),
            });
        }
        Some(IdColumn::Name(name)) => name.as_str(),
        None => IdColumn::DEFAULT_NAME,
    };
    let key = fold(wanted);
    if let Some(index) = row.iter().position(|cell| fold(&cell_text(cell)) == key) {
        return Ok(Layout {
            header: true,
            index,
            header_name: Some(cell_text(row[index])),
        });
    }
    let numeric = numeric_columns(row);
    if numeric.is_empty() {
        return Err(LayoutError::MissingColumn {
            wanted: wanted.to_owned(),
            found: list_cells(row),
        });
    }
    let filled = row.iter().filter(|c| !cell_text(c).is_empty()).count();
    if id_column.is_none() && filled == 1 && numeric == [1] {
        return Ok(Layout {
            header: false,
            index: 0,
            header_name: None,
        });
    }
    Err(LayoutError::LooksLikeData {
        wanted: wanted.to_owned(),
        numeric,
        shown: list_cells(row),
    })
}

impl LayoutError {
    /// The message (without the path) and the hint, for the caller's error.
    #[must_use]
    pub fn message_and_hint(&self, line: u64) -> (String, String) {
        match self {
            Self::NameWithoutHeader { wanted, numeric } => (
                format!(
                    "--id-column {wanted:?} is a header name, but --no-header says there is no header row"
                ),
                // Never a fixed example number: copied as is, it would pick some column.
                match numeric.as_slice() {
                    [n] => format!(
                        "give the column's number instead: --no-header --id-column {n} (column {n} of line {line} holds numbers)"
                    ),
                    [] => format!(
                        "give the column's number instead (--no-header --id-column N); no column of line {line} holds an id, so check the file"
                    ),
                    many => format!(
                        "give the column's number instead: --no-header --id-column N with N the column of the credential ids (columns of line {line} holding numbers: {}), e.g. --no-header --id-column {}",
                        many.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                        many[0]
                    ),
                },
            ),
            Self::LooksLikeData {
                wanted,
                numeric,
                shown,
            } => {
                let message = format!(
                    "has no column {wanted:?}: line {line} holds ids ({shown}), so it is data, not a header"
                );
                let hint = match numeric.as_slice() {
                    [n] => format!(
                        "if line {line} is data, pass --no-header --id-column {n} (column {n} holds numbers); if it is a header, pass --id-column with one of its names"
                    ),
                    many => format!(
                        "if line {line} is data, pass --no-header --id-column N with N the column of the credential ids (columns holding numbers: {}), e.g. --no-header --id-column {}",
                        many.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                        many[0]
                    ),
                };
                (message, hint)
            }
            Self::MissingColumn { wanted, found } => (
                format!("has no column {wanted:?}; columns found: {found}"),
                "pass --id-column NAME with one of those, or --id-column N for the N-th column"
                    .to_owned(),
            ),
            Self::PastLastColumn { wanted, columns } => (
                format!(
                    "has {columns} column(s) on line {line}; --id-column {wanted} is past the last one"
                ),
                format!("give a column number from 1 to {columns}"),
            ),
        }
    }
}

/// 1-based columns of `row` that hold an id.
fn numeric_columns(row: &[&[u8]]) -> Vec<usize> {
    row.iter()
        .enumerate()
        .filter(|(_, cell)| parse_id(cell).is_ok())
        .map(|(i, _)| i + 1)
        .collect()
}

/// Case-folded, trimmed form of a header cell or name. `to_lowercase` folds every Unicode
/// letter that has a lower case (`CÓDIGO` → `código`); trimming covers Unicode spaces, the
/// no-break space of spreadsheet exports included.
pub(super) fn fold(text: &str) -> String {
    text.trim().to_lowercase()
}

/// A cell as text, trimmed (undecodable bytes shown as U+FFFD).
pub(super) fn cell_text(cell: &[u8]) -> String {
    String::from_utf8_lossy(cell).trim().to_owned()
}

/// The cells of a row for a message: quoted, shortened, comma-separated.
pub(super) fn list_cells(row: &[&[u8]]) -> String {
    row.iter()
        .map(|c| format!("{:?}", super::shorten(&cell_text(c))))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(text: &str) -> Vec<&[u8]> {
        text.split(';').map(str::as_bytes).collect()
    }

    fn name(n: &str) -> IdColumn {
        IdColumn::Name(n.to_owned())
    }

    fn pos(n: usize) -> IdColumn {
        IdColumn::Position(NonZeroUsize::new(n).unwrap())
    }

    #[test]
    fn id_column_numbers_are_positions_and_anything_else_a_name() {
        assert_eq!(IdColumn::parse(" 2 "), Ok(pos(2)));
        assert_eq!(IdColumn::parse("Credential ID"), Ok(name("Credential ID")));
        assert!(IdColumn::parse("0").is_err());
        assert!(IdColumn::parse("  ").is_err());
        assert!(IdColumn::parse("99999999999999999999999").is_err());
    }

    #[test]
    fn a_name_matches_over_unicode_case_and_surrounding_spaces() {
        let layout = decide(
            &cells("Host;  Código \u{a0};x"),
            Some(&name("CÓDIGO")),
            false,
        )
        .unwrap();
        assert_eq!((layout.header, layout.index), (true, 1));
        assert_eq!(layout.header_name.as_deref(), Some("Código"));
        let layout = decide(&cells("ID"), None, false).unwrap();
        assert_eq!((layout.header, layout.index), (true, 0));
    }

    #[test]
    fn a_name_on_a_row_of_ids_is_refused_with_the_numeric_columns() {
        let err = decide(&cells("58001;58101"), Some(&name("Credential ID")), false).unwrap_err();
        assert!(matches!(&err, LayoutError::LooksLikeData { numeric, .. } if numeric == &[1, 2]));
        let err = decide(&cells("web01;11"), Some(&name("id")), false).unwrap_err();
        assert!(matches!(&err, LayoutError::LooksLikeData { numeric, .. } if numeric == &[2]));
        let (_, hint) = err.message_and_hint(1);
        assert!(hint.contains("--no-header --id-column 2"), "{hint}");
    }

    #[test]
    fn only_a_one_cell_row_of_an_id_is_a_plain_list_without_flags() {
        let layout = decide(&cells("5"), None, false).unwrap();
        assert_eq!((layout.header, layout.index), (false, 0));
        let layout = decide(&cells("5;"), None, false).unwrap();
        assert_eq!((layout.header, layout.index), (false, 0));
        assert!(
            decide(&cells("5;web01"), None, false).is_err(),
            "column 1 would be a guess"
        );
        assert!(
            decide(&cells("5"), Some(&name("id")), false).is_err(),
            "an explicit name"
        );
    }

    #[test]
    fn a_number_reads_the_first_row_as_data_when_that_cell_is_an_id() {
        let layout = decide(&cells("58001;58101"), Some(&pos(2)), false).unwrap();
        assert_eq!((layout.header, layout.index), (false, 1));
        let layout = decide(&cells("host;cred"), Some(&pos(2)), false).unwrap();
        assert_eq!((layout.header, layout.index), (true, 1));
        assert_eq!(
            decide(&cells("a;b"), Some(&pos(3)), false),
            Err(LayoutError::PastLastColumn {
                wanted: 3,
                columns: 2
            })
        );
    }

    #[test]
    fn no_header_takes_numbers_and_refuses_names() {
        let layout = decide(&cells("id;x"), Some(&pos(2)), true).unwrap();
        assert_eq!((layout.header, layout.index), (false, 1));
        let layout = decide(&cells("id;x"), None, true).unwrap();
        assert_eq!((layout.header, layout.index), (false, 0));
        assert!(matches!(
            decide(&cells("1;2"), Some(&name("id")), true),
            Err(LayoutError::NameWithoutHeader { .. })
        ));
    }

    #[test]
    fn a_name_with_no_header_hints_the_column_that_holds_ids_not_a_fixed_one() {
        let err = decide(&cells("58001;web01"), Some(&name("Credential ID")), true).unwrap_err();
        let (_, hint) = err.message_and_hint(1);
        assert!(hint.contains("--no-header --id-column 1 "), "{hint}");
        assert!(!hint.contains("--id-column 2"), "{hint}");
    }

    #[test]
    fn a_header_without_the_name_lists_its_columns() {
        let err = decide(&cells("host;user"), None, false).unwrap_err();
        let (message, hint) = err.message_and_hint(1);
        assert!(message.contains("\"host\", \"user\""), "{message}");
        assert!(hint.contains("--id-column"), "{hint}");
    }
}
