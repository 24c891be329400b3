//! Reading a report's rows back, shared by `--resume` and `--from-report`: streamed, so a
//! report of millions of rows is never held in memory; only complete lines count (a crash can
//! leave a partial last one); and a CSV report must start with the report's own header, so that
//! no other file is ever taken for a report. A partial last line is accepted only if it looks
//! like the start of a row (or of the header): anything else is not a crash's leftover but a
//! file that is not a report, which `--resume` must leave byte for byte as it was.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use super::{CSV_HEADER, ReportFormat, Row};

/// What reading found besides the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Extent {
    /// Length of the file up to the end of its last complete line.
    pub complete_len: u64,
    /// Whether a partial last line followed.
    pub dropped_partial: bool,
    /// Length of the whole file.
    pub len: u64,
}

/// Finds where the last complete line of `file` ends, reading backwards from its end.
pub(super) fn extent(file: &mut (impl Read + Seek)) -> std::io::Result<Extent> {
    let len = file.seek(SeekFrom::End(0))?;
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    let complete_len = loop {
        if end == 0 {
            break 0;
        }
        let start = end.saturating_sub(chunk.len() as u64);
        let size = usize::try_from(end - start).unwrap_or(chunk.len());
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk[..size])?;
        if let Some(i) = chunk[..size].iter().rposition(|b| *b == b'\n') {
            break start + i as u64 + 1;
        }
        end = start;
    };
    file.seek(SeekFrom::Start(0))?;
    Ok(Extent {
        complete_len,
        dropped_partial: complete_len < len,
        len,
    })
}

/// Calls `each` with the report line and the row, for every complete row of `file` in order.
/// Errors name the first line that is not a report row.
pub(super) fn read_rows(
    file: &mut (impl Read + Seek),
    format: ReportFormat,
    mut each: impl FnMut(u64, Row) -> Result<(), String>,
) -> Result<Extent, String> {
    let extent = extent(file).map_err(|e| format!("cannot read ({e})"))?;
    if extent.dropped_partial {
        check_partial_tail(file, &extent, format)?;
    }
    let mut complete = BufReader::new(file.take(extent.complete_len));
    match format {
        ReportFormat::Csv if extent.complete_len == 0 => {}
        ReportFormat::Csv => {
            let mut header = String::new();
            complete
                .read_line(&mut header)
                .map_err(|e| format!("cannot read ({e})"))?;
            if header.trim_end_matches(['\r', '\n']) != CSV_HEADER {
                return Err(
                    "is not a credbulk CSV report (its first line is not the report header)"
                        .to_owned(),
                );
            }
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(complete);
            let headers = csv::StringRecord::from(CSV_HEADER.split(',').collect::<Vec<_>>());
            let mut raw = csv::StringRecord::new();
            let mut line = 1u64;
            while reader
                .read_record(&mut raw)
                .map_err(|e| format!("is not a report ({e})"))?
            {
                line += 1;
                let row: Row = raw
                    .deserialize(Some(&headers))
                    .map_err(|e| format!("line {line} is not a report row ({e})"))?;
                each(line, row)?;
            }
        }
        ReportFormat::Jsonl => {
            for (i, text) in complete.split(b'\n').enumerate() {
                let text = text.map_err(|e| format!("cannot read ({e})"))?;
                if text.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let line = i as u64 + 1;
                let row: Row = serde_json::from_slice(&text)
                    .map_err(|e| format!("line {line} is not a report row ({e})"))?;
                each(line, row)?;
            }
        }
    }
    Ok(extent)
}

/// What a write cut short by a crash can leave after the last complete line: the start of the
/// CSV header (a run stopped before its header was whole), the start of a CSV row (its line
/// number first), or the start of a JSON row that is not yet a whole JSON value.
fn check_partial_tail(
    file: &mut (impl Read + Seek),
    extent: &Extent,
    format: ReportFormat,
) -> Result<(), String> {
    let size = usize::try_from(extent.len - extent.complete_len)
        .unwrap_or(usize::MAX)
        .min(64 * 1024);
    let mut tail = vec![0u8; size];
    file.seek(SeekFrom::Start(extent.complete_len))
        .and_then(|_| file.read_exact(&mut tail))
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .map_err(|e| format!("cannot read ({e})"))?;
    let tail = tail.strip_suffix(b"\r").unwrap_or(&tail);
    let ok = match format {
        ReportFormat::Csv if extent.complete_len == 0 => CSV_HEADER.as_bytes().starts_with(tail),
        ReportFormat::Csv => {
            let number = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            number > 0 && (number == tail.len() || tail[number] == b',')
        }
        ReportFormat::Jsonl => {
            const START: &[u8] = b"{\"line\":";
            let starts = if tail.len() < START.len() {
                START.starts_with(tail)
            } else {
                tail.starts_with(START)
            };
            starts && serde_json::from_slice::<serde_json::Value>(tail).is_err()
        }
    };
    if ok {
        Ok(())
    } else {
        Err(
            "is not a credbulk report (its last line is neither a report row nor the start of one)"
                .to_owned(),
        )
    }
}
