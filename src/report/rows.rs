//! Reading a report's rows back, shared by `--resume` and `--from-report`: streamed, so a
//! report of millions of rows is never held in memory; only complete lines count (a crash can
//! leave a partial last one); and a CSV report must start with the report's own header, so that
//! no other file is ever taken for a report. A partial last line is accepted only if it looks
//! like the start of a row (or of the header): anything else is not a crash's leftover but a
//! file that is not a report, which `--resume` must leave byte for byte as it was.
//!
//! Either CSV dialect is read without being told (the header says which), and the columns a
//! run kept from its input (`--keep-columns`) are read back with each row: after the fixed
//! columns in CSV, as the `"kept"` object in JSONL.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use serde::Deserialize;

use super::dialect::BOM;
use super::{CSV_HEADER, Dialect, ReportFormat, Row, cell_read_back};

/// What a report says about its own columns: how its CSV is spelled and which input columns
/// its rows carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// The CSV dialect (always `Standard` for JSONL, which has none).
    pub dialect: Dialect,
    /// Names of the kept input columns, in order; empty when none are kept.
    pub kept: Vec<String>,
}

/// What reading found besides the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Extent {
    /// Length of the file up to the end of its last complete line.
    pub complete_len: u64,
    /// Whether a partial last line followed.
    pub dropped_partial: bool,
    /// Length of the whole file.
    pub len: u64,
    /// The columns the header (CSV) or first row (JSONL) names; `None` when there is neither.
    pub columns: Option<Columns>,
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
        columns: None,
    })
}

/// Calls `each` with the report line and the row, for every complete row of `file` in order.
/// Errors name the first line that is not a report row.
pub(super) fn read_rows(
    file: &mut (impl Read + Seek),
    format: ReportFormat,
    mut each: impl FnMut(u64, Row) -> Result<(), String>,
) -> Result<Extent, String> {
    let mut extent = extent(file).map_err(|e| format!("cannot read ({e})"))?;
    if extent.dropped_partial {
        check_partial_tail(file, &extent, format)?;
    }
    let mut complete = BufReader::new(file.take(extent.complete_len));
    match format {
        ReportFormat::Csv if extent.complete_len == 0 => {}
        ReportFormat::Csv => {
            let mut header = Vec::new();
            complete
                .read_until(b'\n', &mut header)
                .map_err(|e| format!("cannot read ({e})"))?;
            let columns = csv_header(&header).ok_or_else(|| {
                "is not a credbulk CSV report (its first line is not the report header)".to_owned()
            })?;
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(columns.dialect.separator())
                .from_reader(complete);
            let headers = csv::StringRecord::from(CSV_HEADER.split(',').collect::<Vec<_>>());
            let width = FIXED + columns.kept.len();
            let mut raw = csv::StringRecord::new();
            let mut line = 1u64;
            while reader
                .read_record(&mut raw)
                .map_err(|e| format!("is not a report ({e})"))?
            {
                line += 1;
                if raw.len() != width {
                    return Err(format!(
                        "line {line} is not a report row ({} cells where the header names {width})",
                        raw.len()
                    ));
                }
                let kept = raw.iter().skip(FIXED).map(|c| cell_read_back(c).to_owned());
                let kept = kept.collect();
                raw.truncate(FIXED);
                let mut row: Row = raw
                    .deserialize(Some(&headers))
                    .map_err(|e| format!("line {line} is not a report row ({e})"))?;
                row.kept = kept;
                each(line, row)?;
            }
            extent.columns = Some(columns);
        }
        ReportFormat::Jsonl => {
            // The first row names the kept columns; later rows are only asked for their cells
            // when there are any, so a report without kept columns is parsed once per row.
            let mut kept_names: Option<Vec<String>> = None;
            for (i, text) in complete.split(b'\n').enumerate() {
                let text = text.map_err(|e| format!("cannot read ({e})"))?;
                if text.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let line = i as u64 + 1;
                let bad = |e: serde_json::Error| format!("line {line} is not a report row ({e})");
                let mut row: Row = serde_json::from_slice(&text).map_err(bad)?;
                let names = match &kept_names {
                    Some(names) if names.is_empty() => None,
                    _ => Some(
                        serde_json::from_slice::<KeptOnly>(&text)
                            .map_err(bad)?
                            .kept
                            .unwrap_or_default(),
                    ),
                };
                if let Some(pairs) = names {
                    let expected = kept_names.get_or_insert_with(|| {
                        pairs.0.iter().map(|(name, _)| name.clone()).collect()
                    });
                    if pairs.0.len() != expected.len()
                        || pairs
                            .0
                            .iter()
                            .zip(expected.iter())
                            .any(|((n, _), e)| n != e)
                    {
                        return Err(format!(
                            "line {line} is not a report row (its kept columns differ from the first row's)"
                        ));
                    }
                    row.kept = pairs.0.into_iter().map(|(_, cell)| cell).collect();
                }
                each(line, row)?;
            }
            extent.columns = kept_names.map(|kept| Columns {
                dialect: Dialect::Standard,
                kept,
            });
        }
    }
    Ok(extent)
}

/// The fixed columns of every report.
const FIXED: usize = 10;

/// The columns a CSV report's header line names, or `None` when it is not a report header:
/// the fixed ones in order, separated by `,` or `;` (which tells the dialect), then the kept
/// input columns, read back as written (quoted, formula-safe).
pub(super) fn csv_header(line: &[u8]) -> Option<Columns> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let bare = line.strip_prefix(BOM).unwrap_or(line);
    let dialect = if bare.starts_with(b"line;") {
        Dialect::Excel
    } else {
        Dialect::Standard
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(dialect.separator())
        .from_reader(bare);
    let mut names = csv::StringRecord::new();
    if !reader.read_record(&mut names).ok()? {
        return None;
    }
    let fixed_match = names.len() >= FIXED
        && names
            .iter()
            .zip(CSV_HEADER.split(','))
            .all(|(name, wanted)| name == wanted);
    fixed_match.then(|| Columns {
        dialect,
        kept: names
            .iter()
            .skip(FIXED)
            .map(|n| cell_read_back(n).to_owned())
            .collect(),
    })
}

/// The kept cells of one JSON report row as (column name, cell) pairs in the order written;
/// empty when the row has none (or is not a JSON row).
#[must_use]
pub fn json_row_kept(line: &[u8]) -> Vec<(String, String)> {
    serde_json::from_slice::<KeptOnly>(line)
        .ok()
        .and_then(|k| k.kept)
        .map(|k| k.0)
        .unwrap_or_default()
}

/// The `"kept"` object of a JSON row, its keys in the order written.
#[derive(Deserialize)]
struct KeptOnly {
    #[serde(default)]
    kept: Option<KeptPairs>,
}

#[derive(Default)]
struct KeptPairs(Vec<(String, String)>);

impl<'de> Deserialize<'de> for KeptPairs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> serde::de::Visitor<'de> for Pairs {
            type Value = KeptPairs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of column name to cell")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<KeptPairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(KeptPairs(pairs))
            }
        }
        deserializer.deserialize_map(Pairs)
    }
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
        ReportFormat::Csv if extent.complete_len == 0 => header_start(tail),
        ReportFormat::Csv => {
            let number = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            number > 0 && (number == tail.len() || matches!(tail[number], b',' | b';'))
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

/// Whether `tail` is the start of a report header in either dialect: a prefix of the fixed
/// columns, or all of them followed by the separator and the start of the kept ones.
fn header_start(tail: &[u8]) -> bool {
    if BOM.starts_with(tail) {
        return true;
    }
    let bare = tail.strip_prefix(BOM).unwrap_or(tail);
    [Dialect::Standard, Dialect::Excel].into_iter().any(|d| {
        let fixed = CSV_HEADER.replace(',', &char::from(d.separator()).to_string());
        let fixed = fixed.as_bytes();
        fixed.starts_with(bare)
            || (bare.starts_with(fixed) && bare.get(fixed.len()) == Some(&d.separator()))
    })
}
