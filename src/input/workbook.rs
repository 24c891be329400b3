//! Workbooks (`.xlsx`, `.xlsm`, `.xlsb`, `.ods`, `.xls`) read with calamine: the first sheet or
//! `--sheet NAME`, each row's cells turned into text so that the CSV rules apply unchanged. A
//! cell holding the number 11 or 11.0 reads as `11`; any other number (11.5, a date, a
//! boolean, an error) reads as text that is not an id, so its row is `invalid_input`. A row's
//! line is the sheet's row number. The whole sheet is held in memory (calamine reads it at
//! once): see the README for what that costs. Depends on nothing else in the crate.

use std::io::{Read, Seek};

use calamine::{Data, Ods, Range, Reader, Xls, Xlsb, Xlsx, open_workbook_from_rs};

use super::encoding::Kind;

/// Something calamine can read from.
pub(super) trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// Opens the workbook afresh (each format is tried on its own reader).
pub(super) type Opener<'a> = &'a dyn Fn() -> std::io::Result<Box<dyn ReadSeek>>;

/// The rows of one sheet, blank ones skipped.
pub(super) struct SheetRows {
    range: Range<Data>,
    /// Sheet row number (1-based) of the range's first row.
    first_line: u64,
    /// Empty sheet columns left of the range (calamine's range starts at the first used
    /// column): padded back so that column N is the sheet's column N, as the operator sees it.
    first_column: usize,
    /// Index in the range of the next row to read.
    next: usize,
    cells: Vec<Vec<u8>>,
    /// The sheet read.
    pub sheet: String,
    /// The format, for the log line.
    pub format: &'static str,
}

/// Why a workbook could not be read: the message and the hint.
pub(super) type WorkbookError = (String, String);

impl SheetRows {
    /// Reads sheet `wanted` (else the first one) of the workbook `open` gives.
    pub fn open(open: Opener<'_>, kind: Kind, wanted: Option<&str>) -> Result<Self, WorkbookError> {
        let io = |e: std::io::Error| {
            (
                format!("cannot be read ({e})"),
                "check the file and its permissions".to_owned(),
            )
        };
        let (format, names, range) = match kind {
            Kind::Zip => {
                if let Ok(book) = open_workbook_from_rs::<Xlsx<_>, _>(open().map_err(io)?) {
                    read(book, "xlsx", wanted)?
                } else if let Ok(book) = open_workbook_from_rs::<Ods<_>, _>(open().map_err(io)?) {
                    read(book, "ods", wanted)?
                } else if let Ok(book) = open_workbook_from_rs::<Xlsb<_>, _>(open().map_err(io)?) {
                    read(book, "xlsb", wanted)?
                } else {
                    return Err(not_a_workbook(
                        "a zip archive that is not an .xlsx, .xlsm, .xlsb or .ods workbook",
                    ));
                }
            }
            Kind::Ole => match open_workbook_from_rs::<Xls<_>, _>(open().map_err(io)?) {
                Ok(book) => read(book, "xls", wanted)?,
                Err(_) => {
                    return Err(not_a_workbook(
                        "an Office file that is not an .xls workbook",
                    ));
                }
            },
            Kind::Text(_) | Kind::Binary(_) => {
                return Err(not_a_workbook("not a workbook"));
            }
        };
        let (first_line, first_column) = range.start().map_or((1, 0), |(row, column)| {
            (u64::from(row) + 1, column as usize)
        });
        Ok(Self {
            range,
            first_line,
            first_column,
            next: 0,
            cells: Vec::new(),
            sheet: names,
            format,
        })
    }

    /// Moves to the next row that is not blank; its sheet row number, or `None` at the end.
    pub fn next_row(&mut self) -> Option<u64> {
        let (height, width) = self.range.get_size();
        while self.next < height {
            let index = self.next;
            self.next += 1;
            self.cells.clear();
            self.cells
                .extend(std::iter::repeat_n(Vec::new(), self.first_column));
            // Indexed, not `rows().nth(index)`: that walks every row before it, each time.
            self.cells.extend((0..width).map(|column| {
                self.range
                    .get((index, column))
                    .map_or_else(Vec::new, cell_text)
            }));
            if self
                .cells
                .iter()
                .any(|c| !c.iter().all(u8::is_ascii_whitespace))
            {
                return Some(self.first_line + index as u64);
            }
        }
        None
    }

    /// Cell `index` of the current row, as text.
    pub fn cell(&self, index: usize) -> Option<&[u8]> {
        self.cells.get(index).map(Vec::as_slice)
    }

    /// Every cell of the current row, as text.
    pub fn cells(&self) -> Vec<&[u8]> {
        self.cells.iter().map(Vec::as_slice).collect()
    }
}

/// Picks the sheet and reads it whole.
fn read<RS: Read + Seek, R: Reader<RS>>(
    mut book: R,
    format: &'static str,
    wanted: Option<&str>,
) -> Result<(&'static str, String, Range<Data>), WorkbookError>
where
    R::Error: std::fmt::Display,
{
    let names = book.sheet_names();
    let listed = || {
        names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let name = match wanted {
        None => names.first().cloned().ok_or_else(|| {
            (
                "has no sheets".to_owned(),
                "save the ids in the workbook's first sheet".to_owned(),
            )
        })?,
        Some(wanted) => {
            let key = wanted.trim().to_lowercase();
            names
                .iter()
                .find(|n| n.as_str() == wanted)
                .or_else(|| names.iter().find(|n| n.trim().to_lowercase() == key))
                .cloned()
                .ok_or_else(|| {
                    (
                        format!("has no sheet {wanted:?}; sheets found: {}", listed()),
                        "pass --sheet NAME with one of those".to_owned(),
                    )
                })?
        }
    };
    let range = book.worksheet_range(&name).map_err(|e| {
        (
            format!("sheet {name:?} cannot be read ({e})"),
            "open it in a spreadsheet and save it again, or export it as CSV".to_owned(),
        )
    })?;
    Ok((format, name, range))
}

fn not_a_workbook(what: &str) -> WorkbookError {
    (
        format!("is not a CSV or a workbook: {what}"),
        "give a CSV file or an .xlsx, .xlsm, .xls or .ods workbook".to_owned(),
    )
}

/// 2^53: below it every whole number is held exactly; 2^53 itself is also what 2^53 + 1
/// rounds to, so it is not certain either.
const EXACT_FLOAT: f64 = 9_007_199_254_740_992.0;

/// A cell as the text the CSV rules read. Only whole numbers become digits; everything else
/// that is not a string keeps a form that is not an id, so its row is `invalid_input`.
fn cell_text(cell: &Data) -> Vec<u8> {
    match cell {
        Data::Empty => Vec::new(),
        Data::String(s) => s.as_bytes().to_vec(),
        Data::Int(i) => i.to_string().into_bytes(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < EXACT_FLOAT => {
            #[expect(clippy::cast_possible_truncation, reason = "a whole number below 2^53")]
            let whole = *f as i64;
            whole.to_string().into_bytes()
        }
        // Past 2^53 the cell no longer holds the digits typed (12345678901234567 is stored as
        // ...568): printed in exponent form, never as the digits of some other id.
        Data::Float(f) if f.fract() == 0.0 => format!("{f:e}").into_bytes(),
        Data::Float(f) => format!("{f}").into_bytes(),
        Data::Bool(b) => format!("{b}").into_bytes(),
        Data::DateTime(d) => format!("date {d}").into_bytes(),
        Data::DateTimeIso(d) => format!("date {d}").into_bytes(),
        Data::DurationIso(d) => format!("duration {d}").into_bytes(),
        Data::Error(e) => format!("#{e:?}").into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_in_one_pass_not_one_walk_per_row() {
        let height: u32 = 300_000;
        let mut range = Range::new((0, 0), (height - 1, 0));
        for row in 0..height {
            range.set_value((row, 0), Data::Float(f64::from(row + 1)));
        }
        let mut rows = SheetRows {
            range,
            first_line: 1,
            first_column: 0,
            next: 0,
            cells: Vec::new(),
            sheet: "s".to_owned(),
            format: "xlsx",
        };
        let started = std::time::Instant::now();
        let mut count = 0u32;
        while rows.next_row().is_some() {
            count += 1;
        }
        assert_eq!(count, height);
        // Walking to each row from the first is 4.5e10 steps: minutes, not this.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn whole_numbers_read_as_ids_and_other_cells_do_not() {
        let id = |d: Data| super::super::parse_id(&cell_text(&d)).ok();
        assert_eq!(id(Data::Float(11.0)), Some(11));
        assert_eq!(id(Data::Int(11)), Some(11));
        assert_eq!(id(Data::String(" 11 ".into())), Some(11));
        assert_eq!(id(Data::Float(11.5)), None);
        assert_eq!(id(Data::Float(-3.0)), None);
        assert_eq!(id(Data::Float(1e300)), None);
        assert_eq!(
            id(Data::Float(12_345_678_901_234_567.0)),
            None,
            "stored as 12345678901234568: not the id typed"
        );
        assert_eq!(id(Data::Float(1e19)), None);
        assert_eq!(
            id(Data::Float(1e3)),
            Some(1000),
            "the number 1000, however shown"
        );
        assert_eq!(id(Data::Float(-0.0)), None);
        assert_eq!(
            id(Data::Float(9_007_199_254_740_992.0)),
            None,
            "2^53: maybe 2^53 + 1"
        );
        assert_eq!(
            id(Data::Float(9_007_199_254_740_991.0)),
            Some(9_007_199_254_740_991)
        );
        assert_eq!(id(Data::Bool(true)), None);
        assert_eq!(id(Data::Empty), None);
    }
}
