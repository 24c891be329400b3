//! CSV records out of UTF-8 text: Excel's `sep=X` first line, the delimiter sniffed from the
//! first line otherwise (`,` `;` or tab), quotes, trimming, blank and separator-only lines
//! skipped, and each record's line number. Streams: only the csv reader's buffer and the
//! current record are held. Depends on `lines` only.

use std::io::{self, Cursor, Read};

use super::lines::LineCounter;

/// How much of the start of the text is examined for `sep=` and the delimiter.
pub(super) const SNIFF_BYTES: usize = 64 * 1024;

/// The records of a CSV text, blank ones skipped.
pub(super) struct CsvRows {
    reader: csv::Reader<Box<dyn Read + Send>>,
    record: csv::ByteRecord,
    lines: LineCounter,
    /// The delimiter in use.
    pub delimiter: u8,
    /// Whether a `sep=X` first line chose it (and was taken off the data).
    pub from_sep_line: bool,
}

impl CsvRows {
    /// Reads the head of `text` (UTF-8) to choose the delimiter, then streams the rest.
    pub fn open(mut text: Box<dyn Read + Send>) -> io::Result<Self> {
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        (&mut text)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)?;
        let (delimiter, skip) = match sep_line(&head) {
            Some((delimiter, len)) => (delimiter, len),
            None => (sniff_delimiter(&head), 0),
        };
        head.drain(..skip);
        let lines = LineCounter::starting_at(if skip > 0 { 2 } else { 1 });
        let chained: Box<dyn Read + Send> = Box::new(lines.reader(Cursor::new(head).chain(text)));
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .delimiter(delimiter)
            .from_reader(chained);
        Ok(Self {
            reader,
            record: csv::ByteRecord::new(),
            lines,
            delimiter,
            from_sep_line: skip > 0,
        })
    }

    /// Moves to the next record that is not blank; its line, or `None` at the end.
    pub fn next_row(&mut self) -> Result<Option<u64>, csv::Error> {
        loop {
            if !self.reader.read_byte_record(&mut self.record)? {
                return Ok(None);
            }
            // Every record settles the line bookkeeping, blank ones too, so it stays small.
            let line = self
                .lines
                .line_at(self.record.position().map_or(0, csv::Position::byte));
            if !is_blank(&self.record) {
                return Ok(Some(line));
            }
        }
    }

    /// Cell `index` of the current record.
    pub fn cell(&self, index: usize) -> Option<&[u8]> {
        self.record.get(index)
    }

    /// Every cell of the current record.
    pub fn cells(&self) -> Vec<&[u8]> {
        self.record.iter().collect()
    }

    /// The most line runs held at once (tests of the memory bound).
    #[cfg(test)]
    pub fn line_runs_high_water(&self) -> usize {
        self.lines.high_water()
    }
}

/// Excel's `sep=X` first line: the delimiter and the length of the line with its end.
fn sep_line(head: &[u8]) -> Option<(u8, usize)> {
    let prefix = head.get(..4)?;
    if !prefix.eq_ignore_ascii_case(b"sep=") {
        return None;
    }
    let delimiter = *head.get(4)?;
    let rest = &head[5..];
    let end = if rest.starts_with(b"\r\n") {
        2
    } else if rest.starts_with(b"\n") || rest.starts_with(b"\r") {
        1
    } else if rest.is_empty() {
        0
    } else {
        return None;
    };
    let usable = delimiter.is_ascii() && !matches!(delimiter, b'"' | b'\r' | b'\n');
    usable.then_some((delimiter, 5 + end))
}

fn is_blank(record: &csv::ByteRecord) -> bool {
    record
        .iter()
        .all(|cell| cell.iter().all(u8::is_ascii_whitespace))
}

/// Picks `,`, `;` or tab: whichever occurs most on the first line that is not blank, outside
/// quotes.
fn sniff_delimiter(head: &[u8]) -> u8 {
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(head.len(), |at| {
            head[..at]
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |nl| nl + 1)
        });
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in &head[start..] {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sep_line_chooses_the_delimiter_and_is_not_data() {
        assert_eq!(sep_line(b"sep=;\r\nid;x\n"), Some((b';', 7)));
        assert_eq!(sep_line(b"SEP=|\nid|x\n"), Some((b'|', 6)));
        assert_eq!(sep_line(b"sep=;"), Some((b';', 5)));
        assert_eq!(sep_line(b"sep=;;\n"), None);
        assert_eq!(sep_line(b"id,sep\n"), None);
    }

    #[test]
    fn the_delimiter_is_the_commonest_on_the_first_line_outside_quotes() {
        assert_eq!(sniff_delimiter(b"a;b;c\n1,2"), b';');
        assert_eq!(sniff_delimiter(b"\"a;b\",c\n"), b',');
        assert_eq!(sniff_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(sniff_delimiter(b"id\n"), b',');
        assert_eq!(
            sniff_delimiter(b"\n \r\n a;b;c\n"),
            b';',
            "blank lines first"
        );
    }
}
