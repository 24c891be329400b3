//! Reading a report's rows back, shared by `--resume` and `--from-report`: only complete lines
//! count (a crash can leave a partial last one), and a CSV report must start with the report's
//! own header, so that no other file is ever taken for a report.

use super::{CSV_HEADER, ReportFormat, Row};

/// What reading found besides the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Extent {
    /// Length of the file up to the end of its last complete line.
    pub complete_len: u64,
    /// Whether a partial last line followed.
    pub dropped_partial: bool,
}

/// Calls `each` with the report line and the row, for every complete row in order. Errors
/// name the first line that is not a report row.
pub(super) fn read_rows(
    bytes: &[u8],
    format: ReportFormat,
    mut each: impl FnMut(u64, Row) -> Result<(), String>,
) -> Result<Extent, String> {
    let complete_len = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let complete = &bytes[..complete_len];
    let extent = Extent {
        complete_len: complete_len as u64,
        dropped_partial: complete_len < bytes.len(),
    };
    match format {
        ReportFormat::Csv if complete.is_empty() => {}
        ReportFormat::Csv => {
            let header_end = complete.iter().position(|b| *b == b'\n').unwrap_or(0);
            let header = String::from_utf8_lossy(&complete[..header_end]);
            if header.trim_end_matches('\r') != CSV_HEADER {
                return Err(
                    "is not a credbulk CSV report (its first line is not the report header)"
                        .to_owned(),
                );
            }
            let mut reader = csv::Reader::from_reader(complete);
            let headers = reader.headers().map_err(|e| e.to_string())?.clone();
            let mut raw = csv::StringRecord::new();
            while reader
                .read_record(&mut raw)
                .map_err(|e| format!("is not a report ({e})"))?
            {
                let line = raw.position().map_or(0, csv::Position::line);
                let row: Row = raw
                    .deserialize(Some(&headers))
                    .map_err(|e| format!("line {line} is not a report row ({e})"))?;
                each(line, row)?;
            }
        }
        ReportFormat::Jsonl => {
            for (i, text) in complete.split(|b| *b == b'\n').enumerate() {
                if text.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let line = i as u64 + 1;
                let row: Row = serde_json::from_slice(text)
                    .map_err(|e| format!("line {line} is not a report row ({e})"))?;
                each(line, row)?;
            }
        }
    }
    Ok(extent)
}
