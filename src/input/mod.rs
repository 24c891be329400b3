//! Reads credential ids from the input as a stream of records (design.md §2, README "Input"):
//! CSV in UTF-8, UTF-16 or a fallback encoding, or a workbook; the id column by header name or
//! number; bad values become `invalid_input` outcomes and repeats `duplicate` outcomes. Only an
//! input that cannot be used at all is an error, before anything is sent. How the input was
//! read (format, encoding, delimiter, header, column) is logged once. CSV is streamed: memory
//! grows with distinct ids, not with the file. Depends on `model` only.
//!
//! `encoding` says what kind of file it is, `text` reads CSV records, `workbook` reads sheets,
//! `columns` decides the header and the id column, `keep` the columns copied into the report
//! (`--keep-columns`), `lines` counts lines, `shard` splits ids.

mod columns;
mod encoding;
mod keep;
mod lines;
mod shard;
mod text;
mod workbook;

use std::fs::File;
use std::io::{self, Cursor, IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;

use thiserror::Error;
use tracing::info;

use crate::model::{IdRecord, KeptCells, Outcome, OutcomeKind};

pub use columns::IdColumn;
pub use encoding::parse_label as parse_encoding;
pub use keep::{MAX_KEPT_CELL, parse as parse_keep_columns};
pub use shard::Shard;

use encoding::Kind;
use text::{CsvRows, SNIFF_BYTES};
use workbook::SheetRows;

/// Where the ids come from.
#[derive(Debug, Clone)]
pub enum InputSource {
    Path(PathBuf),
    Stdin,
    /// Bytes built into the binary (the demo's sample).
    Bytes(&'static [u8]),
    /// Bytes made at run time (the ids `--from-report` took from a report), named for messages.
    Owned {
        name: String,
        bytes: Arc<[u8]>,
    },
}

impl InputSource {
    /// How the source is named in messages and summaries.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Path(p) => p.display().to_string(),
            Self::Stdin => "(stdin)".to_owned(),
            Self::Bytes(_) => "(built-in sample)".to_owned(),
            Self::Owned { name, .. } => name.clone(),
        }
    }
}

/// How to read the input: the flags `--id-column`, `--no-header`, `--encoding`, `--sheet`.
#[derive(Debug, Clone, Default)]
pub struct InputOptions {
    /// `--id-column`; `None` means the default header name `id` (or a one-column list).
    pub id_column: Option<IdColumn>,
    /// `--no-header`: the first line is data.
    pub no_header: bool,
    /// `--encoding`: the text's encoding, whatever its bytes look like.
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// `--sheet`: the workbook sheet to read (default: the first).
    pub sheet: Option<String>,
    /// `--keep-columns`: columns whose cells are copied into each report row.
    pub keep_columns: Vec<IdColumn>,
}

/// The input cannot be used at all. Every message ends with what to do.
#[derive(Debug, Error)]
pub enum InputError {
    #[error("cannot open input {path}: {source}\n  hint: check the path and its permissions")]
    Open {
        path: String,
        #[source]
        source: io::Error,
    },
    /// An empty input and one with a header but no data end the same way (README "Input").
    #[error(
        "input {path} is empty ({what}): no ids to process\n  hint: check the export that produced it; nothing was sent and no report was written"
    )]
    Empty { path: String, what: &'static str },
    /// No id column could be chosen (see `columns`).
    #[error("input {path} {message}\n  hint: {hint}")]
    Columns {
        path: String,
        message: String,
        hint: String,
    },
    /// A workbook that cannot be read, or a file that is neither CSV nor a workbook.
    #[error("input {path} {message}\n  hint: {hint}")]
    Format {
        path: String,
        message: String,
        hint: String,
    },
    #[error(
        "input is - (stdin), but stdin is a terminal: credbulk would wait for ids typed by hand\n  hint: pipe the ids in (put `cat ids.csv |` in front of this same command) or give the file's path instead of -"
    )]
    StdinIsTerminal,
    #[error(
        "cannot read input {path} near line {line}: {message}\n  hint: check that the file is a complete, readable CSV"
    )]
    Read {
        path: String,
        line: u64,
        message: String,
    },
}

/// One item of the input stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputItem {
    /// An id to send, with its line's kept cells (`--keep-columns`) for its report row.
    Id(IdRecord, KeptCells),
    /// A record decided without sending anything (`invalid_input`, `duplicate`).
    Local(Outcome),
}

/// Ids already seen in this input, for de-duplication. A compressed bitmap: credential ids are
/// assigned in sequence, so ten million of them take a few megabytes, not a set entry each.
#[derive(Debug, Default)]
pub struct SeenIds(roaring::RoaringTreemap);

impl SeenIds {
    /// Records `id`; false when it was seen before.
    pub fn insert(&mut self, id: u64) -> bool {
        self.0.insert(id)
    }
}

/// Longest raw cell copied into a report row; longer ones are shortened with `…`.
const MAX_SHOWN_CELL: usize = 64;

/// Rows of a CSV text or of a workbook sheet.
enum Rows {
    Csv(CsvRows),
    Sheet(SheetRows),
}

impl Rows {
    /// Moves to the next non-blank row: its line, `None` at the end, or (line, why) on error.
    fn next_row(&mut self) -> Result<Option<u64>, (u64, String)> {
        match self {
            Self::Csv(rows) => rows
                .next_row()
                .map_err(|e| (e.position().map_or(0, csv::Position::line), e.to_string())),
            Self::Sheet(rows) => Ok(rows.next_row()),
        }
    }

    fn cell(&self, index: usize) -> Option<&[u8]> {
        match self {
            Self::Csv(rows) => rows.cell(index),
            Self::Sheet(rows) => rows.cell(index),
        }
    }

    fn cells(&self) -> Vec<&[u8]> {
        match self {
            Self::Csv(rows) => rows.cells(),
            Self::Sheet(rows) => rows.cells(),
        }
    }
}

/// Streams records out of the input. Iterate it; each item is one data record.
pub struct InputReader {
    rows: Rows,
    name: String,
    id_column: usize,
    /// The columns copied into each row (`--keep-columns`), in the order named.
    kept: Vec<keep::Kept>,
    /// The line of the current row when it is data not yet handed out.
    pending: Option<u64>,
    seen: SeenIds,
    skip: Option<SkipId>,
    skip_invalid: Option<SkipCell>,
    skip_duplicate: Option<SkipDuplicate>,
    finished: bool,
    shard: Option<Shard>,
}

/// Says whether an earlier run settled an id (`--resume`).
type SkipId = Box<dyn Fn(u64) -> bool + Send>;
/// Says whether an earlier run reported this line as invalid (`--resume`).
type SkipCell = Box<dyn Fn(u64) -> bool + Send>;
/// Says whether an earlier run wrote a `duplicate` row for this line and id (`--resume`).
type SkipDuplicate = Box<dyn Fn(u64, u64) -> bool + Send>;

impl std::fmt::Debug for InputReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputReader")
            .field("name", &self.name)
            .field("id_column", &self.id_column)
            .finish_non_exhaustive()
    }
}

impl InputReader {
    /// Opens the input, finds out what it is, and chooses the header and the id column. Fails
    /// on a missing, empty, unreadable or ambiguous input before anything is sent.
    pub fn open(source: &InputSource, options: &InputOptions) -> Result<Self, InputError> {
        let name = source.describe();
        let raw: Box<dyn Read + Send> = match source {
            InputSource::Path(path) => {
                Box::new(File::open(path).map_err(|source| InputError::Open {
                    path: name.clone(),
                    source,
                })?)
            }
            // Reading a terminal would wait for ids typed by hand: an operator who forgot the
            // pipe sees a hung command, a cron job never has a terminal.
            InputSource::Stdin if io::stdin().is_terminal() => {
                return Err(InputError::StdinIsTerminal);
            }
            InputSource::Stdin => Box::new(io::stdin()),
            InputSource::Bytes(bytes) => Box::new(Cursor::new(*bytes)),
            InputSource::Owned { bytes, .. } => Box::new(Cursor::new(Arc::clone(bytes))),
        };
        let path = match source {
            InputSource::Path(path) => Some(path),
            _ => None,
        };
        Self::build(raw, name, options, path)
    }

    /// Like [`InputReader::open`] over any reader (tests, benchmarks), with the id column
    /// given by header name (`id` is the default rule).
    pub fn from_reader(
        raw: Box<dyn Read + Send>,
        name: String,
        id_column: &str,
    ) -> Result<Self, InputError> {
        let id_column =
            (id_column != IdColumn::DEFAULT_NAME).then(|| IdColumn::Name(id_column.to_owned()));
        Self::from_reader_with(
            raw,
            name,
            &InputOptions {
                id_column,
                ..InputOptions::default()
            },
        )
    }

    /// Like [`InputReader::open`] over any reader, with every option.
    pub fn from_reader_with(
        raw: Box<dyn Read + Send>,
        name: String,
        options: &InputOptions,
    ) -> Result<Self, InputError> {
        Self::build(raw, name, options, None)
    }

    fn build(
        mut raw: Box<dyn Read + Send>,
        name: String,
        options: &InputOptions,
        path: Option<&PathBuf>,
    ) -> Result<Self, InputError> {
        let read_err = |e: io::Error| InputError::Read {
            path: name.clone(),
            line: 1,
            message: e.to_string(),
        };
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        (&mut raw)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(read_err)?;
        let complete = head.len() < SNIFF_BYTES;
        let kind = encoding::classify(&head, options.encoding, complete);
        let format_err = |(message, hint): (String, String)| InputError::Format {
            path: name.clone(),
            message,
            hint,
        };
        let (rows, how) = match kind {
            Kind::Text(detected) => {
                let text = encoding::decoded(Box::new(Cursor::new(head).chain(raw)), detected);
                let rows = CsvRows::open(text).map_err(read_err)?;
                let how = format!(
                    "CSV, encoding {} ({}), delimiter {:?}{}",
                    detected.encoding.name(),
                    detected.why,
                    char::from(rows.delimiter),
                    if rows.from_sep_line {
                        " (from its sep= line)"
                    } else {
                        ""
                    }
                );
                (Rows::Csv(rows), how)
            }
            Kind::Zip | Kind::Ole => {
                let rows = if let Some(path) = path {
                    // A file is re-opened for each format tried; nothing is held twice.
                    SheetRows::open(
                        &|| Ok(Box::new(io::BufReader::new(File::open(path)?))),
                        kind,
                        options.sheet.as_deref(),
                    )
                } else {
                    // A workbook on stdin has to be held whole: calamine seeks in it.
                    let mut bytes = head;
                    raw.read_to_end(&mut bytes).map_err(read_err)?;
                    let bytes: Arc<[u8]> = bytes.into();
                    SheetRows::open(
                        &|| Ok(Box::new(Cursor::new(Arc::clone(&bytes)))),
                        kind,
                        options.sheet.as_deref(),
                    )
                }
                .map_err(format_err)?;
                let how = format!("{} workbook, sheet {:?}", rows.format, rows.sheet);
                (Rows::Sheet(rows), how)
            }
            Kind::Binary(what) => {
                return Err(format_err((
                    format!("is not a CSV or a workbook: {what}"),
                    "give a CSV file or an .xlsx, .xlsm, .xls or .ods workbook; for UTF-16 text without a byte order mark pass --encoding utf-16le".to_owned(),
                )));
            }
        };
        let mut reader = Self {
            rows,
            name,
            id_column: 0,
            kept: Vec::new(),
            pending: None,
            seen: SeenIds::default(),
            skip: None,
            skip_invalid: None,
            skip_duplicate: None,
            finished: false,
            shard: None,
        };
        reader.choose_columns(options, &how)?;
        Ok(reader)
    }

    /// Reads the first non-blank row, decides header and id column (`columns`), logs the
    /// choice, and leaves the first data row pending. No data row at all is `Empty`.
    fn choose_columns(&mut self, options: &InputOptions, how: &str) -> Result<(), InputError> {
        let Some(first) = self.next_row()? else {
            return Err(InputError::Empty {
                path: self.name.clone(),
                what: "no lines with data",
            });
        };
        let layout = columns::decide(
            &self.rows.cells(),
            options.id_column.as_ref(),
            options.no_header,
        )
        .map_err(|e| {
            let (message, hint) = e.message_and_hint(first);
            InputError::Columns {
                path: self.name.clone(),
                message,
                hint,
            }
        })?;
        self.id_column = layout.index;
        self.kept =
            keep::resolve(&self.rows.cells(), &layout, &options.keep_columns).map_err(|e| {
                let (message, hint) = e.message_and_hint(first);
                InputError::Columns {
                    path: self.name.clone(),
                    message,
                    hint,
                }
            })?;
        let column = match &layout.header_name {
            Some(header) => format!("{} ({header:?})", layout.index + 1),
            None => (layout.index + 1).to_string(),
        };
        let header = if layout.header {
            format!("line {first}")
        } else {
            "none (the first line is data)".to_owned()
        };
        if self.kept.is_empty() {
            info!(input = %self.name, read_as = %how, header = %header, id_column = %column, "input");
        } else {
            let kept = self
                .kept
                .iter()
                .map(|k| format!("{} ({:?})", k.index + 1, k.name))
                .collect::<Vec<_>>()
                .join(", ");
            info!(input = %self.name, read_as = %how, header = %header, id_column = %column, kept_columns = %kept, "input");
        }
        self.pending = if layout.header {
            match self.next_row()? {
                Some(line) => Some(line),
                None => {
                    return Err(InputError::Empty {
                        path: self.name.clone(),
                        what: "a header line and no data",
                    });
                }
            }
        } else {
            Some(first)
        };
        Ok(())
    }

    fn next_row(&mut self) -> Result<Option<u64>, InputError> {
        self.rows
            .next_row()
            .map_err(|(line, message)| InputError::Read {
                path: self.name.clone(),
                line,
                message,
            })
    }

    /// Skips ids (and invalid cells) that an earlier run already settled, for `--resume`.
    /// Skipped records produce no item at all, so the report gains no row for them.
    /// A repeat of a settled id still gets its `duplicate` row, unless `duplicate` says an
    /// earlier run already wrote that row for the same line.
    #[must_use]
    pub fn skipping(
        mut self,
        id: impl Fn(u64) -> bool + Send + 'static,
        invalid: impl Fn(u64) -> bool + Send + 'static,
        duplicate: impl Fn(u64, u64) -> bool + Send + 'static,
    ) -> Self {
        self.skip = Some(Box::new(id));
        self.skip_invalid = Some(Box::new(invalid));
        self.skip_duplicate = Some(Box::new(duplicate));
        self
    }

    /// Keeps only the ids of `shard`; other records produce no item.
    #[must_use]
    pub fn sharded(mut self, shard: Option<Shard>) -> Self {
        self.shard = shard;
        self
    }

    /// The report's names of the kept columns (`--keep-columns`), in order; empty without.
    #[must_use]
    pub fn kept_names(&self) -> Vec<String> {
        self.kept.iter().map(|k| k.name.clone()).collect()
    }

    /// The item for the current row, at `line`, carrying the row's kept cells; `None` when it
    /// produces none. A repeated id's `duplicate` row carries the cells of its own line.
    fn decide(&mut self, line: u64) -> Option<InputItem> {
        let item = self.decide_item(line)?;
        if self.kept.is_empty() {
            return Some(item);
        }
        let cells = keep::cells(&self.kept, |i| self.rows.cell(i));
        Some(match item {
            InputItem::Id(record, _) => InputItem::Id(record, cells),
            InputItem::Local(mut outcome) => {
                outcome.kept = cells;
                InputItem::Local(outcome)
            }
        })
    }

    fn decide_item(&mut self, line: u64) -> Option<InputItem> {
        let cell = self.rows.cell(self.id_column);
        match cell.map(parse_id) {
            Some(Ok(id)) => {
                if self.shard.is_some_and(|shard| !shard.owns(id)) {
                    return None;
                }
                let first = self.seen.insert(id);
                if first && self.skip.as_ref().is_some_and(|skip| skip(id)) {
                    return None;
                }
                if first {
                    Some(InputItem::Id(IdRecord { line, id }, KeptCells::default()))
                } else if self
                    .skip_duplicate
                    .as_ref()
                    .is_some_and(|done| done(line, id))
                {
                    None
                } else {
                    Some(InputItem::Local(Outcome::local(
                        line,
                        id.to_string(),
                        OutcomeKind::Duplicate,
                        "id appears earlier in the input; sent once".to_owned(),
                    )))
                }
            }
            Some(Err(_)) | None if self.shard.is_some_and(|s| !s.reports_invalid_lines()) => None,
            Some(Err(_)) | None if self.skip_invalid.as_ref().is_some_and(|skip| skip(line)) => {
                None
            }
            Some(Err(reason)) => {
                let shown = shorten(&String::from_utf8_lossy(cell.unwrap_or_default()));
                Some(InputItem::Local(Outcome::local(
                    line,
                    shown,
                    OutcomeKind::InvalidInput,
                    reason.to_owned(),
                )))
            }
            None => Some(InputItem::Local(Outcome::local(
                line,
                String::new(),
                OutcomeKind::InvalidInput,
                format!("no value in column {}", self.id_column + 1),
            ))),
        }
    }
}

impl Iterator for InputReader {
    type Item = Result<InputItem, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(line) = self.pending.take()
            && let Some(item) = self.decide(line)
        {
            return Some(Ok(item));
        }
        while !self.finished {
            match self.next_row() {
                Ok(Some(line)) => {
                    if let Some(item) = self.decide(line) {
                        return Some(Ok(item));
                    }
                }
                Ok(None) => self.finished = true,
                Err(e) => {
                    self.finished = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

/// Validates an id cell: a positive integer that fits in `u64`, digits only.
pub fn parse_id(cell: &[u8]) -> Result<u64, &'static str> {
    let text = std::str::from_utf8(cell)
        .map_err(|_| "not valid UTF-8 text")?
        .trim();
    if text.is_empty() {
        return Err("empty id");
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a positive whole number");
    }
    match text.parse::<u64>() {
        Ok(0) => Err("0 is not a credential id"),
        Ok(id) => Ok(id),
        Err(_) => Err("too large for a credential id"),
    }
}

fn shorten(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= MAX_SHOWN_CELL {
        one_line
    } else {
        let mut s: String = one_line.chars().take(MAX_SHOWN_CELL).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_separator_only_lines_keep_the_line_bookkeeping_small() {
        let mut text = b"id;x\n1;a\n".to_vec();
        text.extend(b"\n".repeat(200_000));
        text.extend(b"2;b\n");
        text.extend(b";;;\n".repeat(200_000));
        text.extend(b"3;c\n");
        let mut reader =
            InputReader::from_reader(Box::new(Cursor::new(text)), "t".into(), "id").unwrap();
        let mut got = Vec::new();
        for item in reader.by_ref() {
            got.push(item.unwrap());
        }
        assert_eq!(ids(&got), vec![(2, 1), (200_003, 2), (400_004, 3)]);
        let Rows::Csv(rows) = &reader.rows else {
            panic!("a CSV")
        };
        // Bounded by what the csv reader reads ahead (8 KiB: at most 4,096 runs), not by the
        // 400,000 lines skipped.
        assert!(
            rows.line_runs_high_water() <= 4_096,
            "{}",
            rows.line_runs_high_water()
        );
    }

    fn read(text: &'static [u8]) -> Vec<InputItem> {
        InputReader::open(&InputSource::Bytes(text), &InputOptions::default())
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn ids(items: &[InputItem]) -> Vec<(u64, u64)> {
        items
            .iter()
            .filter_map(|i| match i {
                InputItem::Id(r, _) => Some((r.line, r.id)),
                InputItem::Local(_) => None,
            })
            .collect()
    }

    fn locals(items: &[InputItem]) -> Vec<(u64, String, OutcomeKind)> {
        items
            .iter()
            .filter_map(|i| match i {
                InputItem::Local(o) => Some((o.line, o.id.clone(), o.kind)),
                InputItem::Id(..) => None,
            })
            .collect()
    }

    #[test]
    fn headerless_input_uses_the_first_column() {
        assert_eq!(ids(&read(b"5\n7\n")), vec![(1, 5), (2, 7)]);
    }

    #[test]
    fn header_column_is_found_case_insensitively_with_extra_columns() {
        let items = read(b"host,ID,user\nweb1, 12 ,root\nweb2,13,admin\n");
        assert_eq!(ids(&items), vec![(2, 12), (3, 13)]);
    }

    #[test]
    fn semicolons_tabs_bom_crlf_quotes_and_blank_lines_are_handled() {
        assert_eq!(
            ids(&read(b"\xEF\xBB\xBFid;name\r\n1;\"a;b\"\r\n\r\n2;c\r\n")),
            vec![(2, 1), (4, 2)]
        );
        assert_eq!(ids(&read(b"name\tid\nx\t9\n")), vec![(2, 9)]);
        assert_eq!(ids(&read(b"id,name\n\"42\",\"x,y\"\n")), vec![(2, 42)]);
    }

    #[test]
    fn bad_values_become_invalid_input_rows_and_repeats_duplicates() {
        let items = read(b"id\n1\nabc\n-3\n0\n+4\n99999999999999999999999\n1\n\xff\xfe\n");
        assert_eq!(ids(&items), vec![(2, 1)]);
        let kinds: Vec<_> = locals(&items).into_iter().map(|(l, _, k)| (l, k)).collect();
        assert_eq!(
            kinds,
            vec![
                (3, OutcomeKind::InvalidInput),
                (4, OutcomeKind::InvalidInput),
                (5, OutcomeKind::InvalidInput),
                (6, OutcomeKind::InvalidInput),
                (7, OutcomeKind::InvalidInput),
                (8, OutcomeKind::Duplicate),
                (9, OutcomeKind::InvalidInput),
            ]
        );
    }

    #[test]
    fn lines_count_blank_lines_crlf_and_quoted_newlines() {
        let items = read(b"id,note\r\n\r\n1,\"two\r\nlines\"\r\n\n\n2,x\r\n   \r\n3,y");
        assert_eq!(ids(&items), vec![(3, 1), (7, 2), (9, 3)]);
    }

    #[test]
    fn a_short_row_is_invalid_not_a_panic() {
        let items = read(b"name,id\nonly-name\n");
        assert_eq!(locals(&items)[0].2, OutcomeKind::InvalidInput);
    }

    #[test]
    fn a_missing_column_lists_the_columns_found() {
        let err = InputReader::open(
            &InputSource::Bytes(b"host,user\nx,y\n"),
            &InputOptions::default(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("\"host\", \"user\""), "{text}");
        assert!(text.contains("--id-column"), "{text}");
    }

    #[test]
    fn empty_and_blank_inputs_are_errors() {
        for text in [&b""[..], b"\n\n", b"\xEF\xBB\xBF"] {
            let err =
                InputReader::open(&InputSource::Bytes(text), &InputOptions::default()).unwrap_err();
            assert!(matches!(err, InputError::Empty { .. }), "{err}");
        }
    }

    #[test]
    fn a_huge_cell_is_shortened_in_its_row() {
        let mut text = b"id\n".to_vec();
        text.extend(std::iter::repeat_n(b'9', 5_000_000));
        text.extend(b"x\n2\n");
        let reader =
            InputReader::from_reader(Box::new(Cursor::new(text)), "t".into(), "id").unwrap();
        let items: Vec<_> = reader.map(Result::unwrap).collect();
        let (_, shown, kind) = &locals(&items)[0];
        assert_eq!(*kind, OutcomeKind::InvalidInput);
        assert!(shown.chars().count() <= MAX_SHOWN_CELL + 1);
        assert_eq!(ids(&items), vec![(3, 2)]);
    }

    #[test]
    fn resume_skips_settled_ids_without_rows() {
        let reader = InputReader::open(
            &InputSource::Bytes(b"id\n1\n2\n1\nx\n"),
            &InputOptions::default(),
        )
        .unwrap()
        .skipping(
            |id| id == 1,
            |line| line == 5,
            |line, id| (line, id) == (4, 1),
        );
        let items: Vec<_> = reader.map(Result::unwrap).collect();
        assert_eq!(items.len(), 1);
        assert_eq!(ids(&items), vec![(3, 2)]);
    }

    #[test]
    fn resume_keys_invalid_rows_by_line_so_every_bad_line_is_reported_once() {
        let text = b"id\n\n0\nx\n0\n";
        let reader = InputReader::open(&InputSource::Bytes(text), &InputOptions::default())
            .unwrap()
            .skipping(|_| false, |line| line == 3, |_, _| false);
        let lines: Vec<u64> = reader
            .map(Result::unwrap)
            .map(|i| match i {
                InputItem::Local(o) => o.line,
                InputItem::Id(r, _) => r.line,
            })
            .collect();
        assert_eq!(
            lines,
            vec![4, 5],
            "line 3 was reported by an earlier run; 5 holds the same cell"
        );
    }

    #[test]
    fn resume_still_reports_a_repeat_of_a_settled_id_once() {
        let text = b"id\n1\n2\n1\n";
        let fresh = InputReader::open(&InputSource::Bytes(text), &InputOptions::default())
            .unwrap()
            .skipping(|id| id == 1, |_| false, |_, _| false);
        let items: Vec<_> = fresh.map(Result::unwrap).collect();
        assert_eq!(
            locals(&items),
            vec![(4, "1".to_owned(), OutcomeKind::Duplicate)]
        );
        let already = InputReader::open(&InputSource::Bytes(text), &InputOptions::default())
            .unwrap()
            .skipping(|id| id == 1, |_| false, |line, id| (line, id) == (4, 1));
        assert!(locals(&already.map(Result::unwrap).collect::<Vec<_>>()).is_empty());
    }

    #[test]
    fn shards_split_the_ids_without_overlap_or_gaps() {
        let shards: Vec<Shard> = (0..4)
            .map(|k| Shard::parse(&format!("{k}/4")).unwrap())
            .collect();
        let mut sizes = [0u32; 4];
        for id in 1..=10_000u64 {
            let owners: Vec<usize> = (0..4).filter(|k| shards[*k].owns(id)).collect();
            assert_eq!(owners.len(), 1, "id {id}");
            sizes[owners[0]] += 1;
        }
        assert!(
            sizes.iter().all(|n| (2_300..=2_700).contains(n)),
            "{sizes:?}"
        );
        assert!(Shard::parse("4/4").is_err());
        assert!(Shard::parse("1/0").is_err());
        assert!(Shard::parse("x").is_err());
    }

    #[test]
    fn invalid_lines_belong_to_the_first_shard_only() {
        let text = b"id\n1\nabc\n2\n3\n";
        let first = InputReader::open(&InputSource::Bytes(text), &InputOptions::default())
            .unwrap()
            .sharded(Some(Shard::parse("0/2").unwrap()));
        let second = InputReader::open(&InputSource::Bytes(text), &InputOptions::default())
            .unwrap()
            .sharded(Some(Shard::parse("1/2").unwrap()));
        let a: Vec<_> = first.map(Result::unwrap).collect();
        let b: Vec<_> = second.map(Result::unwrap).collect();
        assert_eq!(locals(&a).len(), 1);
        assert_eq!(locals(&b).len(), 0);
        assert_eq!(ids(&a).len() + ids(&b).len(), 3);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_give_items_or_an_error_never_a_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let leaked: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if let Ok(reader) = InputReader::open(&InputSource::Bytes(leaked), &InputOptions::default()) {
                for item in reader {
                    let _ = item;
                }
            }
        }

        #[test]
        fn every_valid_id_is_read_back(ids_in in proptest::collection::vec(1u64..u64::MAX, 1..50)) {
            let text = format!("id\n{}\n", ids_in.iter().map(u64::to_string).collect::<Vec<_>>().join("\n"));
            let reader = InputReader::from_reader(Box::new(Cursor::new(text.into_bytes())), "t".into(), "id").unwrap();
            let mut seen = std::collections::HashSet::new();
            for (item, id) in reader.map(Result::unwrap).zip(&ids_in) {
                match item {
                    InputItem::Id(r, _) => { proptest::prop_assert!(seen.insert(*id)); proptest::prop_assert_eq!(r.id, *id); }
                    InputItem::Local(o) => { proptest::prop_assert_eq!(o.kind, OutcomeKind::Duplicate); proptest::prop_assert!(seen.contains(id)); }
                }
            }
        }
    }
}
