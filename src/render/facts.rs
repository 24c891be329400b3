//! The sentences and key/value lists that both the HTML and the Markdown pages show, worded
//! once so the two formats never disagree. Plain text: each renderer escapes it.
//! Depends on the digest, the run record and `model`.

use std::fmt::Write as _;

use super::digest::Digest;
use super::record::RunRecordDoc;
use super::svg::stamp;
use crate::model::{OutcomeKind, Verdict};

/// One line saying how the change went.
#[must_use]
pub fn headline(d: &Digest) -> String {
    let mut text = format!(
        "{} records: {} succeeded, {} failed",
        d.total(),
        d.with_verdict(Verdict::Success),
        d.with_verdict(Verdict::Failure)
    );
    let neutral = d.with_verdict(Verdict::Neutral);
    if neutral > 0 {
        let _ = write!(text, ", {neutral} duplicate lines (sent once)");
    }
    text
}

/// Who ran the change, when, on what: one line from the summaries (none without them).
#[must_use]
pub fn provenance(d: &Digest) -> Option<String> {
    fn distinct(values: impl Iterator<Item = String>) -> String {
        let mut seen: Vec<String> = Vec::new();
        for v in values {
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
        seen.join(", ")
    }
    let records = || d.records.iter().map(|(_, r)| r);
    if d.records.is_empty() {
        return None;
    }
    let who = distinct(records().map(|r| {
        format!(
            "{}@{}",
            r.user.as_deref().unwrap_or("?"),
            r.host.as_deref().unwrap_or("?")
        )
    }));
    let start = records().filter_map(|r| r.started_at.clone()).min();
    let end = records().filter_map(|r| r.ended_at.clone()).max();
    let input = distinct(records().map(|r| {
        format!(
            "{} (SHA-256 {})",
            r.input.as_deref().unwrap_or("?"),
            r.input_sha256.as_deref().unwrap_or("unknown")
        )
    }));
    let mut line = format!(
        "{} run(s) by {who}, {} to {}, input {input}",
        d.records.len(),
        start.as_deref().unwrap_or("?"),
        end.as_deref().unwrap_or("?")
    );
    let notes = distinct(records().filter_map(|r| r.note.clone()));
    if !notes.is_empty() {
        let _ = write!(line, ", note: {notes}");
    }
    Some(line)
}

/// "succeeded", "failed" or "neutral".
#[must_use]
pub fn verdict(kind: OutcomeKind) -> &'static str {
    match kind.verdict() {
        Verdict::Success => "success",
        Verdict::Neutral => "neutral",
        Verdict::Failure if kind.is_final() => "failure",
        Verdict::Failure => "failure, retried by --resume",
    }
}

/// The fields of a run record, in the order shown; absent ones are left out.
#[must_use]
pub fn record_fields(r: &RunRecordDoc) -> Vec<(&'static str, String)> {
    let mut fields: Vec<(&'static str, Option<String>)> = vec![
        ("run id", r.run_id.clone()),
        ("command", r.command.clone()),
        ("command line", r.command_line.clone()),
        ("note", r.note.clone()),
        ("user", r.user.clone()),
        ("host", r.host.clone()),
        ("input", r.input.clone()),
        ("input SHA-256", r.input_sha256.clone()),
        ("report", r.report.clone()),
        ("started", r.started_at.clone()),
        ("ended", r.ended_at.clone()),
        ("duration", r.duration_seconds.map(|s| format!("{s:.1} s"))),
        ("ending", r.ending.clone()),
        ("exit code", r.exit_code.map(|c| c.to_string())),
        ("abort reason", r.abort_reason.clone()),
        ("what to do", r.hint.clone()),
        (
            "settled by earlier runs",
            r.settled_earlier.map(|n| n.to_string()),
        ),
        ("requests", r.requests.map(|n| n.to_string())),
        ("retries", r.retries.map(|n| n.to_string())),
        ("token fetches", r.token_fetches.map(|n| n.to_string())),
        (
            "achieved rate",
            r.achieved_rate.map(|x| format!("{x:.1} req/s")),
        ),
    ];
    if let Some(l) = r.latency_ms {
        let ms = |v: Option<u64>| v.map_or("–".to_owned(), |v| format!("{v} ms"));
        fields.push((
            "request latency",
            Some(format!(
                "p50 {} · p95 {} · p99 {}",
                ms(l.p50),
                ms(l.p95),
                ms(l.p99)
            )),
        ));
    }
    if !r.outcomes.is_empty() {
        let list: Vec<String> = r.outcomes.iter().map(|(k, n)| format!("{k} {n}")).collect();
        fields.push(("rows this run wrote", Some(list.join(", "))));
    }
    fields
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

/// Lines about the run over time (span, pace, time to decide, 429s, outages).
#[must_use]
pub fn over_time(d: &Digest) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(t) = &d.timeline {
        let end = t.end_ms();
        lines.push(format!(
            "From {} to {} ({} s); at most {:.1} ids decided per second{}.",
            stamp(t.start_ms),
            stamp(end),
            (end - t.start_ms) / 1000,
            t.peak_per_second(),
            if t.column_ms > 1000 {
                format!(" (averaged over {} s columns)", t.column_ms / 1000)
            } else {
                String::new()
            }
        ));
    }
    let q = |p| {
        d.latency
            .quantile(p)
            .map_or("–".to_owned(), |v| v.to_string())
    };
    if !d.latency.is_empty() {
        lines.push(format!(
            "Time to decide an id (first attempt to outcome, retries included, over {} rows): p50 {} ms, p95 {} ms, p99 {} ms (within 6.25 %).",
            d.latency.len(),
            q(0.5),
            q(0.95),
            q(0.99)
        ));
    }
    let limited = d
        .counts
        .get(&OutcomeKind::RateLimited)
        .copied()
        .unwrap_or(0);
    let in_summaries: u64 = d
        .records
        .iter()
        .filter_map(|(_, r)| r.outcomes.get("rate_limited"))
        .sum();
    lines.push(format!(
        "Rate limiting (429 after every attempt): {limited} ids end that way{}.",
        if d.records.is_empty() {
            String::new()
        } else {
            format!("; the runs' summaries count {in_summaries} such rows")
        }
    ));
    if let Some(t) = &d.timeline {
        let outages = t.outages();
        if outages.is_empty() {
            lines.push("No period in which every id decided failed transiently.".to_owned());
        } else {
            let list: Vec<String> = outages
                .iter()
                .map(|(a, b)| format!("{} – {} ({} s)", stamp(*a), stamp(*b), (b - a) / 1000))
                .collect();
            lines.push(format!(
                "Appliance not answering (every id decided failed with a timeout, server or network error): {}.",
                list.join("; ")
            ));
        }
    }
    for (_, r) in &d.records {
        if let (Some(reason), Some(id)) = (&r.abort_reason, &r.run_id) {
            lines.push(format!("Run {id} stopped: {reason}."));
        }
    }
    if d.untimed > 0 {
        lines.push(format!(
            "{} rows have no readable finished_at and are not on the timeline.",
            d.untimed
        ));
    }
    lines
}

/// Warnings about the inputs themselves.
#[must_use]
pub fn caveats(d: &Digest) -> Vec<String> {
    let mut lines = Vec::new();
    for r in &d.reports {
        if r.dropped_partial {
            lines.push(format!(
                "{} ends with a partial line (a run stopped mid-write); it was ignored, as --resume ignores it.",
                r.path.display()
            ));
        }
    }
    for (path, r) in &d.records {
        if let Some(id) = &r.run_id
            && !d.runs.contains_key(id)
        {
            lines.push(format!(
                "The summary {} is of run {id}, which wrote no row in these reports.",
                path.display()
            ));
        }
    }
    if d.in_several_reports > 0 {
        lines.push(format!(
            "{} ids have rows in more than one report: for them the report listed last decides, so list a change's reports oldest first (shards share no id; a run and its resumes share one file).",
            d.in_several_reports
        ));
    }
    if d.rows_of_unlisted_runs > 0 {
        lines.push(format!(
            "{} rows belong to runs past the first {} listed.",
            d.rows_of_unlisted_runs,
            super::digest::MAX_RUNS
        ));
    }
    lines
}

/// Where the rest of an outcome's rows are, when not all are listed.
#[must_use]
pub fn more_rows(kind: OutcomeKind, shown: usize, total: u64, d: &Digest) -> Option<String> {
    (total > shown as u64).then(|| {
        // One grep per pattern (CSV and JSON lines reports name the outcome differently).
        let mut commands: Vec<(String, Vec<String>)> = Vec::new();
        for r in &d.reports {
            let pattern = r.outcome_pattern(kind);
            let file = shell_word(&r.path.display().to_string());
            match commands.iter_mut().find(|(p, _)| *p == pattern) {
                Some((_, files)) => files.push(file),
                None => commands.push((pattern, vec![file])),
            }
        }
        let commands: Vec<String> = commands
            .into_iter()
            .map(|(pattern, files)| format!("grep -F {} {}", shell_word(&pattern), files.join(" ")))
            .collect();
        format!(
            "{shown} of {total} shown (the latest); every row with this outcome, earlier ones included: {}",
            commands.join("; ")
        )
    })
}

/// `text` as one POSIX shell word: as is when plain, else in single quotes.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./-+=:@%".contains(&b));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
