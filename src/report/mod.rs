//! The per-id report (design.md §5): one row per input record, written and flushed as soon as
//! the id is decided, by a single writer that owns the file and its lock. CSV by default, JSON
//! lines for `.jsonl`. Also reads an existing report back for `--resume` and `--from-report`.

mod resume;
mod rollback;
mod row;
mod rows;
mod writer;

pub use resume::{Resumed, read_existing};
pub use rollback::{TakenId, as_input_csv, ids_with_last_outcome};
pub use row::{CSV_HEADER, Row, cell_read_back, formula_safe};
pub use writer::{ReportWriter, Tally, spawn_writer};

use std::path::Path;

/// How the report is written, from its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Csv,
    Jsonl,
}

impl ReportFormat {
    /// `.jsonl` (any case) → JSON lines, anything else → CSV.
    #[must_use]
    pub fn for_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("jsonl") => Self::Jsonl,
            _ => Self::Csv,
        }
    }
}
