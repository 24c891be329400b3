//! The run report as Markdown (GitHub-flavoured tables) for a ticket or a wiki: the same facts
//! as the HTML page, the timeline as sentences instead of a picture. Every cell is escaped so
//! no pipe, markup or link takes effect; cells from outside are formula-safe too. Depends on
//! the digest, the shared wording and the escaping.

use std::fmt::Write as _;

use super::digest::Digest;
use super::escape::{md, md_outside};
use super::facts;

/// The whole document.
#[must_use]
pub fn document(d: &Digest) -> String {
    let mut out = String::from("# credbulk run report\n\n");
    let _ = writeln!(out, "**{}**\n", md(&facts::headline(d)));
    if let Some(line) = facts::provenance(d) {
        let _ = writeln!(out, "{}\n", md(&line));
    }
    out.push_str("## Outcomes\n\n| outcome | ids | counts as | what to do |\n|---|---:|---|---|\n");
    for (kind, n) in &d.counts {
        let _ = writeln!(
            out,
            "| {} | {n} | {} | {} |",
            md(kind.as_str()),
            md(facts::verdict(*kind)),
            md(kind.hint().unwrap_or(""))
        );
    }
    let _ = writeln!(out, "| **total** | **{}** | | |", d.total());
    out.push_str("\n## Over time\n\n");
    for line in facts::over_time(d) {
        let _ = writeln!(out, "- {}", md(&line));
    }
    failures(&mut out, d);
    record(&mut out, d);
    out
}

fn record(out: &mut String, d: &Digest) {
    out.push_str("\n## Run record\n\n");
    if d.records.is_empty() {
        out.push_str("No `--summary` was given: who ran it, where, and the input's SHA-256 are in the runs' `--summary-json` files.\n\n");
    }
    for (path, r) in &d.records {
        let _ = writeln!(
            *out,
            "### Run {}\n\n| field | value |\n|---|---|",
            md(r.run_id.as_deref().unwrap_or("?"))
        );
        for (key, value) in facts::record_fields(r) {
            let _ = writeln!(*out, "| {key} | {} |", md(&value));
        }
        let _ = writeln!(
            *out,
            "| summary file | {} |\n",
            md(&path.display().to_string())
        );
    }
    out.push_str("| run id | rows |\n|---|---:|\n");
    for (id, run) in &d.runs {
        let _ = writeln!(*out, "| {} | {} |", md(id), run.rows);
    }
    out.push_str("\n| report file | rows |\n|---|---:|\n");
    for r in &d.reports {
        let _ = writeln!(
            *out,
            "| {} | {} |",
            md(&r.path.display().to_string()),
            r.rows
        );
    }
    for c in facts::caveats(d) {
        let _ = writeln!(*out, "\n> {}", md(&c));
    }
}

fn failures(out: &mut String, d: &Digest) {
    out.push_str("\n## Failures\n\n");
    if d.failures.is_empty() {
        out.push_str("No id failed.\n");
    }
    for (kind, f) in &d.failures {
        let total = d.counts.get(kind).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "### {}: {total} ids\n\n_{}_\n\n| HTTP | code | message | ids |\n|---:|---:|---|---:|",
            md(kind.as_str()),
            md(kind.hint().unwrap_or(""))
        );
        for g in &f.groups {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                opt(g.http_status),
                opt(g.api_code),
                md_outside(&g.message),
                g.ids
            );
        }
        if f.ungrouped > 0 {
            let _ = writeln!(out, "| | | other answers | {} |", f.ungrouped);
        }
        out.push_str("\n| line | id | HTTP | code | message | attempts | finished at | run |");
        for name in &d.kept_names {
            let _ = write!(out, " {} |", md_outside(name));
        }
        out.push_str("\n|---:|---|---:|---:|---|---:|---|---|");
        out.push_str(&"---|".repeat(d.kept_names.len()));
        out.push('\n');
        let mut rows: Vec<_> = f.samples.iter().collect();
        rows.sort_by_key(|r| r.line);
        for r in rows {
            let _ = write!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                r.line,
                md_outside(&r.id),
                opt(r.http_status),
                opt(r.api_code),
                md_outside(&r.message),
                r.attempts,
                md(&r.finished_at),
                md(&r.run_id)
            );
            for i in 0..d.kept_names.len() {
                let cell = r.kept.get(i).map_or("", String::as_str);
                let _ = write!(out, " {} |", md_outside(cell));
            }
            out.push('\n');
        }
        if let Some(more) = facts::more_rows(*kind, f.samples.len(), total, d) {
            let _ = writeln!(out, "\n{}", md(&more));
        }
        out.push('\n');
    }
}

fn opt(v: Option<u16>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}
