//! `credbulk report`: renders one or more reports of one change (a run, its resumes, its
//! shards), with the runs' summaries when given, as a document an auditor can read: the run
//! record, counts per outcome, the failures grouped by outcome with the appliance's code and
//! message and what to do, and (HTML) a timeline. The reports are streamed (see `digest` for
//! the memory bound). Depends on `model` and `report` only; nothing in the run path imports it.

mod digest;
mod escape;
mod facts;
mod html;
mod latency;
mod markdown;
mod record;
mod source;
mod svg;
mod timeline;

pub use digest::{Digest, DigestError, MAX_GROUPS, MAX_MESSAGE, MAX_RUNS, MAX_SAMPLES};
pub use facts::headline;
pub use timeline::MAX_COLUMNS;

/// What to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One self-contained HTML page.
    Html,
    /// GitHub-flavoured Markdown.
    Markdown,
}

/// The document for `digest`.
#[must_use]
pub fn render(digest: &Digest, format: Format) -> String {
    match format {
        Format::Html => html::page(digest),
        Format::Markdown => markdown::document(digest),
    }
}
