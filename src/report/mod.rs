//! The per-id report (design.md §5): one row per input record, written and flushed as soon as
//! the id is decided, by a single writer that owns the file and its lock. CSV by default, JSON
//! lines for `.jsonl`, in either CSV dialect (`dialect`), with the input columns a run keeps
//! after the fixed ones. Also reads an existing report back for `--resume` and
//! `--from-report`, whatever its dialect.

mod dialect;
mod lock;
mod operation;
mod resume;
mod rollback;
mod row;
mod rows;
mod writer;

pub use dialect::{BOM, Dialect, header_line};
pub use lock::{ReportLock, lock_holder, lock_path};
pub use operation::{OperationSeen, run_id_operation};
pub use resume::Resumed;
pub use rollback::{TakenId, as_input_csv, ids_with_last_outcome};
pub use row::{CSV_HEADER, Row, cell_read_back, formula_safe};
pub use rows::{Columns, json_row_kept};
pub use writer::{ReportWriter, Tally, check_columns, read_existing, spawn_writer};

use std::path::Path;

/// How the report is written, from its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Csv,
    Jsonl,
}

impl ReportFormat {
    /// The format of a report named on the command line: as [`ReportFormat::for_path`], but a
    /// `.json` name is refused rather than silently written as CSV (a report is JSON *lines*).
    pub fn for_report_flag(path: &Path) -> Result<Self, String> {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => Err(format!(
                "--report {} ends in .json, but a report is JSON lines or CSV",
                path.display()
            )),
            _ => Ok(Self::for_path(path)),
        }
    }

    /// `.jsonl` (any case) → JSON lines, anything else → CSV.
    #[must_use]
    pub fn for_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("jsonl") => Self::Jsonl,
            _ => Self::Csv,
        }
    }
}
