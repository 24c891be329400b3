//! Reads credential ids from CSV as a stream of records (design.md §2): header or none, the id
//! column by name, `,` `;` or tab sniffed, BOM, CRLF, quotes, blank lines, trimming.
//! Bad values become `invalid_input` outcomes and repeats become `duplicate` outcomes; only a
//! file that cannot be used at all is an error. Memory grows with distinct ids, not the file.
//! Depends on `model` only.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use thiserror::Error;

use crate::model::{IdRecord, Outcome, OutcomeKind};

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

/// The input cannot be used at all. Every message ends with what to do.
#[derive(Debug, Error)]
pub enum InputError {
    #[error("cannot open input {path}: {source}\n  hint: check the path and its permissions")]
    Open {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "input {path} is empty: no ids to process\n  hint: export the credential ids with a header line such as `id`"
    )]
    Empty { path: String },
    #[error(
        "input {path} has no column {wanted:?}; columns found: {found}\n  hint: pass --id-column NAME with one of those"
    )]
    MissingColumn {
        path: String,
        wanted: String,
        found: String,
    },
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
    /// An id to send.
    Id(IdRecord),
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
/// How much of the start of the input is examined to choose the delimiter.
const SNIFF_BYTES: usize = 64 * 1024;

/// Streams records out of a CSV input. Iterate it; each item is one data record.
pub struct InputReader {
    reader: csv::Reader<Box<dyn Read + Send>>,
    name: String,
    id_column: usize,
    first: Option<csv::ByteRecord>,
    record: csv::ByteRecord,
    seen: SeenIds,
    skip: Option<SkipId>,
    skip_invalid: Option<SkipCell>,
    skip_duplicate: Option<SkipDuplicate>,
    finished: bool,
    lines: LineCounter,
    shard: Option<Shard>,
}

/// One slice of the ids, for splitting one input across several machines (`--shard K/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index of this shard (Kubernetes' `JOB_COMPLETION_INDEX`).
    pub index: u64,
    /// How many shards there are.
    pub count: u64,
}

impl Shard {
    /// Parses `K/N` with `0 <= K < N`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("--shard {text:?} is not K/N"))?;
        let index: u64 = k
            .trim()
            .parse()
            .map_err(|_| format!("--shard {text:?}: K is not a number"))?;
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("--shard {text:?}: N is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "--shard {text:?}: K must be from 0 to N-1 (0-based, like JOB_COMPLETION_INDEX)"
            ));
        }
        Ok(Self { index, count })
    }

    /// Whether `id` belongs to this shard. A fixed mix of the id (splitmix64), so the split is
    /// the same on every machine and every run, and even for sequential ids.
    #[must_use]
    pub fn owns(self, id: u64) -> bool {
        let mut z = id.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        z % self.count == self.index
    }

    /// Lines that are not ids (invalid input) are reported by the first shard only.
    #[must_use]
    pub fn reports_invalid_lines(self) -> bool {
        self.index == 0
    }
}

/// Says whether an earlier run settled an id (`--resume`).
type SkipId = Box<dyn Fn(u64) -> bool + Send>;
/// Says whether an earlier run reported this line as invalid (`--resume`).
type SkipCell = Box<dyn Fn(u64) -> bool + Send>;
/// Says whether an earlier run wrote a `duplicate` row for this line and id (`--resume`).
type SkipDuplicate = Box<dyn Fn(u64, u64) -> bool + Send>;

/// Line numbers by byte offset. The csv crate's own line count skips blank lines and lags on
/// CRLF, and its record offsets point at the end of the previous record, before any blank
/// lines. So end-of-line bytes are noted as the reader pulls them; a record's line is found by
/// stepping over the CR/LF bytes at its offset. Only the bytes between the current record and
/// the reader's read-ahead are kept.
#[derive(Debug, Clone, Default)]
struct LineCounter {
    /// Offsets of `\r` (false) and `\n` (true) bytes not yet passed.
    pending: Arc<Mutex<VecDeque<(u64, bool)>>>,
    passed: u64,
}

impl LineCounter {
    /// The 1-based line of the record that csv places at `offset` (offsets never decrease).
    fn line_at(&mut self, mut offset: u64) -> u64 {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some(&(at, newline)) = pending.front() {
            match at.cmp(&offset) {
                std::cmp::Ordering::Less => self.passed += u64::from(newline),
                std::cmp::Ordering::Equal => {
                    self.passed += u64::from(newline);
                    offset += 1;
                }
                std::cmp::Ordering::Greater => break,
            }
            pending.pop_front();
        }
        self.passed + 1
    }
}

/// Passes bytes through, noting where each end-of-line byte is.
struct CountingReader<R> {
    inner: R,
    offset: u64,
    eols: Arc<Mutex<VecDeque<(u64, bool)>>>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut eols = self
            .eols
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (i, b) in buf[..n].iter().enumerate() {
            if *b == b'\n' || *b == b'\r' {
                eols.push_back((self.offset + i as u64, *b == b'\n'));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

impl std::fmt::Debug for InputReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputReader")
            .field("name", &self.name)
            .field("id_column", &self.id_column)
            .finish_non_exhaustive()
    }
}

impl InputReader {
    /// Opens the input, sniffs the delimiter and finds the id column. Fails on a missing or
    /// empty file and on a header without the id column, before anything is sent.
    pub fn open(source: &InputSource, id_column: &str) -> Result<Self, InputError> {
        let name = source.describe();
        let raw: Box<dyn Read + Send> = match source {
            InputSource::Path(path) => {
                Box::new(File::open(path).map_err(|source| InputError::Open {
                    path: name.clone(),
                    source,
                })?)
            }
            InputSource::Stdin => Box::new(io::stdin()),
            InputSource::Bytes(bytes) => Box::new(Cursor::new(*bytes)),
            InputSource::Owned { bytes, .. } => Box::new(Cursor::new(Arc::clone(bytes))),
        };
        Self::from_reader(raw, name, id_column)
    }

    /// Like [`InputReader::open`] over any reader (tests, benchmarks).
    pub fn from_reader(
        raw: Box<dyn Read + Send>,
        name: String,
        id_column: &str,
    ) -> Result<Self, InputError> {
        let mut buffered = BufReader::with_capacity(SNIFF_BYTES, raw);
        let read_err = |e: io::Error| InputError::Read {
            path: name.clone(),
            line: 1,
            message: e.to_string(),
        };
        let mut head = buffered.fill_buf().map_err(read_err)?.to_vec();
        buffered.consume(head.len());
        if head.starts_with(b"\xEF\xBB\xBF") {
            head.drain(..3);
        }
        let delimiter = sniff_delimiter(&head);
        let lines = LineCounter::default();
        let chained: Box<dyn Read + Send> = Box::new(CountingReader {
            inner: Cursor::new(head).chain(buffered),
            offset: 0,
            eols: Arc::clone(&lines.pending),
        });
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .delimiter(delimiter)
            .from_reader(chained);

        let mut first = csv::ByteRecord::new();
        loop {
            let more = reader
                .read_byte_record(&mut first)
                .map_err(|e| InputError::Read {
                    path: name.clone(),
                    line: e.position().map_or(1, csv::Position::line),
                    message: e.to_string(),
                })?;
            if !more {
                return Err(InputError::Empty { path: name });
            }
            if !is_blank(&first) {
                break;
            }
        }

        let headerless = first.get(0).is_some_and(|cell| parse_id(cell).is_ok());
        let (id_index, pending) = if headerless {
            (0, Some(first))
        } else {
            let wanted = id_column.trim();
            let index = first.iter().position(|cell| {
                String::from_utf8_lossy(cell)
                    .trim()
                    .eq_ignore_ascii_case(wanted)
            });
            if let Some(i) = index {
                (i, None)
            } else {
                let found = first
                    .iter()
                    .map(|c| format!("{:?}", shorten(&String::from_utf8_lossy(c))))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(InputError::MissingColumn {
                    path: name,
                    wanted: wanted.to_owned(),
                    found,
                });
            }
        };
        Ok(Self {
            reader,
            name,
            id_column: id_index,
            first: pending,
            record: csv::ByteRecord::new(),
            seen: SeenIds::default(),
            skip: None,
            skip_invalid: None,
            skip_duplicate: None,
            finished: false,
            lines,
            shard: None,
        })
    }

    /// Skips ids (and invalid cells) that an earlier run already settled, for `--resume`.
    /// Skipped records produce no item at all, so the report gains no row for them.
    #[must_use]
    /// A repeat of a settled id still gets its `duplicate` row, unless `duplicate` says an
    /// earlier run already wrote that row for the same line.
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

    fn decide(&mut self, record_is_first: bool) -> Option<InputItem> {
        let record = if record_is_first {
            self.first.as_ref()?
        } else {
            &self.record
        };
        let line = self
            .lines
            .line_at(record.position().map_or(0, csv::Position::byte));
        let cell = record.get(self.id_column);
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
                    Some(InputItem::Id(IdRecord { line, id }))
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
        if self.first.is_some() {
            let item = self.decide(true);
            self.first = None;
            if item.is_some() {
                return item.map(Ok);
            }
        }
        while !self.finished {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(true) => {
                    if is_blank(&self.record) {
                        continue;
                    }
                    if let Some(item) = self.decide(false) {
                        return Some(Ok(item));
                    }
                }
                Ok(false) => self.finished = true,
                Err(e) => {
                    self.finished = true;
                    return Some(Err(InputError::Read {
                        path: self.name.clone(),
                        line: e.position().map_or(0, csv::Position::line),
                        message: e.to_string(),
                    }));
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

fn is_blank(record: &csv::ByteRecord) -> bool {
    record
        .iter()
        .all(|cell| cell.iter().all(u8::is_ascii_whitespace))
}

/// Picks `,`, `;` or tab: whichever occurs most on the first line, outside quotes.
fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let best = (0..3)
        .max_by_key(|&i| (counts[i], usize::from(i == 0)))
        .unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        candidates[best]
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

    fn read(text: &'static [u8]) -> Vec<InputItem> {
        InputReader::open(&InputSource::Bytes(text), "id")
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn ids(items: &[InputItem]) -> Vec<(u64, u64)> {
        items
            .iter()
            .filter_map(|i| match i {
                InputItem::Id(r) => Some((r.line, r.id)),
                InputItem::Local(_) => None,
            })
            .collect()
    }

    fn locals(items: &[InputItem]) -> Vec<(u64, String, OutcomeKind)> {
        items
            .iter()
            .filter_map(|i| match i {
                InputItem::Local(o) => Some((o.line, o.id.clone(), o.kind)),
                InputItem::Id(_) => None,
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
        let err = InputReader::open(&InputSource::Bytes(b"host,user\nx,y\n"), "id").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("\"host\", \"user\""), "{text}");
        assert!(text.contains("--id-column"), "{text}");
    }

    #[test]
    fn empty_and_blank_inputs_are_errors() {
        for text in [&b""[..], b"\n\n", b"\xEF\xBB\xBF"] {
            let err = InputReader::open(&InputSource::Bytes(text), "id").unwrap_err();
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
        let reader = InputReader::open(&InputSource::Bytes(b"id\n1\n2\n1\nx\n"), "id")
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
        let reader = InputReader::open(&InputSource::Bytes(text), "id")
            .unwrap()
            .skipping(|_| false, |line| line == 3, |_, _| false);
        let lines: Vec<u64> = reader
            .map(Result::unwrap)
            .map(|i| match i {
                InputItem::Local(o) => o.line,
                InputItem::Id(r) => r.line,
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
        let fresh = InputReader::open(&InputSource::Bytes(text), "id")
            .unwrap()
            .skipping(|id| id == 1, |_| false, |_, _| false);
        let items: Vec<_> = fresh.map(Result::unwrap).collect();
        assert_eq!(
            locals(&items),
            vec![(4, "1".to_owned(), OutcomeKind::Duplicate)]
        );
        let already = InputReader::open(&InputSource::Bytes(text), "id")
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
        let first = InputReader::open(&InputSource::Bytes(text), "id")
            .unwrap()
            .sharded(Some(Shard::parse("0/2").unwrap()));
        let second = InputReader::open(&InputSource::Bytes(text), "id")
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
            if let Ok(reader) = InputReader::open(&InputSource::Bytes(leaked), "id") {
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
                    InputItem::Id(r) => { proptest::prop_assert!(seen.insert(*id)); proptest::prop_assert_eq!(r.id, *id); }
                    InputItem::Local(o) => { proptest::prop_assert_eq!(o.kind, OutcomeKind::Duplicate); proptest::prop_assert!(seen.contains(id)); }
                }
            }
        }
    }
}
