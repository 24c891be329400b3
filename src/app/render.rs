//! `credbulk report`: reads the reports and summaries named on the command line, renders them
//! and writes the document to stdout or, atomically, to `-o FILE`. Never writes over one of its
//! own inputs: those are the evidence. Depends on `render`, `outputs` (atomic write) and the
//! clap types of its own command.

use std::path::Path;

use crate::cli::{RenderArgs, RenderFormat};
use crate::error::Error;
use crate::render::{Digest, DigestError, Format, render};

use super::Completed;

/// Runs `credbulk report`.
pub fn report(args: &RenderArgs) -> Result<Completed, Error> {
    let format = match args.format {
        RenderFormat::Html => Format::Html,
        RenderFormat::Md => Format::Markdown,
    };
    if let Some(out) = &args.output
        && let Some(input) = args
            .reports
            .iter()
            .chain(&args.summary)
            .find(|input| same_file(input, out))
    {
        return Err(Error::usage(
            format!(
                "-o {} would overwrite the input {}",
                out.display(),
                input.display()
            ),
            "write the document to a new file, e.g. -o run-report.html",
        ));
    }
    let digest = Digest::build(&args.reports, &args.summary).map_err(|e| match e {
        DigestError::Report { path, message } => Error::Report {
            path,
            message,
            hint: "pass report files written by credbulk enable/disable (CSV or .jsonl)".to_owned(),
        },
        DigestError::Summary { path, message } => Error::usage(
            format!("summary {}: {message}", path.display()),
            "pass the file a run wrote with --summary-json, or leave --summary out",
        ),
    })?;
    let text = render(&digest, format);
    let Some(path) = &args.output else {
        return Ok(Completed::Text(text));
    };
    crate::outputs::write_atomically(path, text.as_bytes()).map_err(|e| {
        Error::usage(
            format!("cannot write {} ({e})", path.display()),
            "check that the folder exists and is writable",
        )
    })?;
    Ok(Completed::Rendered {
        path: path.clone(),
        headline: crate::render::headline(&digest),
    })
}

/// Whether two paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
