//! The run report as one self-contained HTML page: inline CSS (print-friendly), the timeline as
//! inline SVG, no script, no font, image or stylesheet fetched from anywhere. Every cell is
//! HTML-escaped; cells from outside are formula-safe too. Depends on the digest, the shared
//! wording, the SVG and the escaping.

use std::fmt::Write as _;

use super::digest::Digest;
use super::escape::{html, html_outside};
use super::facts;
use super::svg;
use crate::model::OutcomeKind;

const STYLE: &str = r"
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1b1b1b;
  max-width: 1100px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px;
  border-bottom: 1px solid #ccc; padding-bottom: 3px; } h3 { font-size: 15px; margin: 18px 0 4px; }
.lead { font-size: 16px; margin: 4px 0 16px; }
table { border-collapse: collapse; margin: 6px 0 12px; width: 100%; }
th, td { border: 1px solid #d0d0d0; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; font-weight: 600; }
td.n, th.n { text-align: right; white-space: nowrap; width: 1%; }
table.kv th:first-child { width: 170px; } #provenance { margin: 0 0 10px; color: #333; } td.mono, .mono { font-family: ui-monospace, Menlo, Consolas, monospace;
  font-size: 12px; word-break: break-all; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 8px 0; }
.card { border: 1px solid #d0d0d0; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.card b { display: block; font-size: 24px; } .ok b { color: #2e7d32; } .bad b { color: #c62828; }
.hint { color: #444; font-style: italic; margin: 2px 0 6px; } .note { color: #555; font-size: 12px; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; }
ul.caveats li { color: #8a4b00; }
@media print {
  @page { size: A4; margin: 14mm; }
  body { font-size: 10pt; margin: 0; max-width: none; }
  h2 { break-after: avoid; } tr, .card, svg { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
";

/// The whole page.
#[must_use]
pub fn page(d: &Digest) -> String {
    let mut out = String::new();
    let title = title(d);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        html(&title)
    );
    let _ = writeln!(
        out,
        "<header><h1>{}</h1><p class=\"lead\">{}</p></header>",
        html(&title),
        html(&facts::headline(d))
    );
    if let Some(line) = facts::provenance(d) {
        let _ = writeln!(out, "<p id=\"provenance\">{}</p>", html(&line));
    }
    cards(&mut out, d);
    outcomes(&mut out, d);
    timeline(&mut out, d);
    failures(&mut out, d);
    record(&mut out, d);
    let _ = write!(
        out,
        "<footer class=\"note\"><p>Rendered by credbulk {} from {} rows of {} report(s); the last row per id decides, as <code>--resume</code> reads it ({} earlier rows overridden).</p></footer>\n</body></html>\n",
        env!("CARGO_PKG_VERSION"),
        d.rows,
        d.reports.len(),
        d.superseded
    );
    out
}

fn title(d: &Digest) -> String {
    let commands: Vec<&str> = d
        .records
        .iter()
        .filter_map(|(_, r)| r.command.as_deref())
        .collect();
    match commands.first() {
        Some(c) if commands.iter().all(|x| x == c) => format!("credbulk {c}: run report"),
        _ => "credbulk run report".to_owned(),
    }
}

fn cards(out: &mut String, d: &Digest) {
    use crate::model::Verdict;
    out.push_str("<div class=\"cards\">");
    for (class, label, n) in [
        ("", "records", d.total()),
        ("ok", "succeeded", d.with_verdict(Verdict::Success)),
        ("bad", "failed", d.with_verdict(Verdict::Failure)),
        ("", "duplicate lines", d.with_verdict(Verdict::Neutral)),
    ] {
        let _ = write!(
            out,
            "<div class=\"card {class}\" id=\"count-{}\"><b>{n}</b>{label}</div>",
            label.replace(' ', "-")
        );
    }
    out.push_str("</div>\n");
}

fn record(out: &mut String, d: &Digest) {
    out.push_str("<section id=\"record\"><h2>Run record</h2>\n");
    if d.records.is_empty() {
        out.push_str("<p class=\"note\">No <code>--summary</code> was given: who ran it, where, and the input's SHA-256 are in the runs' <code>--summary-json</code> files.</p>\n");
    }
    // Runs side by side, a few per table, so the record stays compact.
    for chunk in d.records.chunks(3) {
        out.push_str("<table class=\"kv\"><tr><th></th>");
        for (_, r) in chunk {
            let _ = write!(
                out,
                "<th>run {}</th>",
                html(r.run_id.as_deref().unwrap_or("?"))
            );
        }
        out.push_str("</tr>");
        let columns: Vec<Vec<(&str, String)>> =
            chunk.iter().map(|(_, r)| facts::record_fields(r)).collect();
        let mut keys: Vec<&str> = Vec::new();
        for (key, _) in columns.iter().flatten() {
            if !keys.contains(key) {
                keys.push(key);
            }
        }
        for key in keys {
            let class = if key.contains("SHA") || key.contains("line") {
                " class=\"mono\""
            } else {
                ""
            };
            let _ = write!(out, "<tr><th>{key}</th>");
            for fields in &columns {
                let value = fields
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map_or("", |(_, v)| v);
                let _ = write!(out, "<td{class}>{}</td>", html(value));
            }
            out.push_str("</tr>");
        }
        out.push_str("<tr><th>summary file</th>");
        for (path, _) in chunk {
            let _ = write!(
                out,
                "<td class=\"mono\">{}</td>",
                html(&path.display().to_string())
            );
        }
        out.push_str("</tr></table>\n");
    }
    out.push_str("<h3>Runs in the reports</h3><table><tr><th>run id</th><th class=\"n\">rows</th><th>first row</th><th>last row</th></tr>");
    for (id, run) in &d.runs {
        let at = |ms: Option<i64>| ms.map(svg::stamp).unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td class=\"mono\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            html(id),
            run.rows,
            at(run.first_ms),
            at(run.last_ms)
        );
    }
    out.push_str("</table><table><tr><th>report file</th><th class=\"n\">rows</th></tr>");
    for r in &d.reports {
        let _ = write!(
            out,
            "<tr><td class=\"mono\">{}</td><td class=\"n\">{}</td></tr>",
            html(&r.path.display().to_string()),
            r.rows
        );
    }
    out.push_str("</table>");
    let caveats = facts::caveats(d);
    if !caveats.is_empty() {
        out.push_str("<ul class=\"caveats\">");
        for c in caveats {
            let _ = write!(out, "<li>{}</li>", html(&c));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>\n");
}

fn outcomes(out: &mut String, d: &Digest) {
    out.push_str("<section id=\"outcomes\"><h2>Outcomes</h2><table><tr><th>outcome</th><th class=\"n\">ids</th><th>counts as</th><th>what to do</th></tr>");
    for (kind, n) in &d.counts {
        let _ = write!(
            out,
            "<tr id=\"outcome-{k}\"><td>{k}</td><td class=\"n\">{n}</td><td>{}</td><td>{}</td></tr>",
            facts::verdict(*kind),
            html(kind.hint().unwrap_or("")),
            k = kind.as_str()
        );
    }
    let _ = writeln!(
        out,
        "<tr><th>total</th><th class=\"n\">{}</th><th></th><th></th></tr></table></section>",
        d.total()
    );
}

fn timeline(out: &mut String, d: &Digest) {
    out.push_str("<section id=\"timeline\"><h2>Over time</h2>\n");
    if let Some(t) = &d.timeline {
        out.push_str(&svg::timeline_svg(t));
        out.push_str("\n<p class=\"legend\">");
        for (colour, label) in [
            (svg::SUCCESS, "succeeded"),
            (svg::REFUSED, "refused by the appliance"),
            (svg::TRANSIENT, "timeout / server / network error"),
            (svg::RATE_LIMITED, "rate limited (429)"),
            (svg::LOCAL, "not sent (invalid, duplicate)"),
            (svg::OUTAGE, "appliance not answering"),
            (svg::P50, "p50 time to decide"),
            (svg::P95, "p95 time to decide"),
        ] {
            let _ = write!(
                out,
                "<span><i style=\"background:{colour}\"></i>{label}</span>"
            );
        }
        out.push_str("</p>\n");
    }
    out.push_str("<ul>");
    for line in facts::over_time(d) {
        let _ = write!(out, "<li>{}</li>", html(&line));
    }
    out.push_str("</ul></section>\n");
}

fn failures(out: &mut String, d: &Digest) {
    out.push_str("<section id=\"failures\"><h2>Failures</h2>\n");
    if d.failures.is_empty() {
        out.push_str("<p>No id failed.</p>");
    }
    for (kind, f) in &d.failures {
        let total = d.counts.get(kind).copied().unwrap_or(0);
        let _ = write!(
            out,
            "<h3 id=\"failures-{k}\">{k}: {total} ids</h3><p class=\"hint\">{}</p>",
            html(kind.hint().unwrap_or("")),
            k = kind.as_str()
        );
        out.push_str("<table><tr><th class=\"n\">HTTP</th><th class=\"n\">code</th><th>message</th><th class=\"n\">ids</th></tr>");
        for g in &f.groups {
            let _ = write!(
                out,
                "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                opt(g.http_status),
                opt(g.api_code),
                html_outside(&g.message),
                g.ids
            );
        }
        if f.ungrouped > 0 {
            let _ = write!(
                out,
                "<tr><td></td><td></td><td>other answers</td><td class=\"n\">{}</td></tr>",
                f.ungrouped
            );
        }
        out.push_str("</table>");
        sample_rows(out, *kind, f, total, d);
    }
    out.push_str("</section>\n");
}

fn sample_rows(
    out: &mut String,
    kind: OutcomeKind,
    f: &super::digest::Failures,
    total: u64,
    d: &Digest,
) {
    let mut rows: Vec<&crate::report::Row> = f.samples.iter().collect();
    rows.sort_by_key(|r| r.line);
    out.push_str("<table><tr><th class=\"n\">line</th><th>id</th><th class=\"n\">HTTP</th><th class=\"n\">code</th><th>message</th><th class=\"n\">attempts</th><th>finished at</th><th>run</th>");
    for name in &d.kept_names {
        let _ = write!(out, "<th>{}</th>", html_outside(name));
    }
    out.push_str("</tr>");
    for r in rows {
        let _ = write!(
            out,
            "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"mono\">{}</td>",
            r.line,
            html_outside(&r.id),
            opt(r.http_status),
            opt(r.api_code),
            html_outside(&r.message),
            r.attempts,
            html(&r.finished_at),
            html(&r.run_id)
        );
        for i in 0..d.kept_names.len() {
            let cell = r.kept.get(i).map_or("", String::as_str);
            let _ = write!(out, "<td>{}</td>", html_outside(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    if let Some(more) = facts::more_rows(kind, f.samples.len(), total, d) {
        let _ = write!(out, "<p class=\"note\">{}</p>", html(&more));
    }
}

fn opt(v: Option<u16>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}
