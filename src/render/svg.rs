//! The timeline as one inline SVG: ids decided per second, stacked by what happened to them,
//! over shaded outage periods, and below it the time to decide an id (p50, p95) per column.
//! Plain shapes and `<title>` tooltips only: no script, no external reference, prints as is.
//! Depends on the timeline and the escaping.

use std::fmt::Write as _;

use super::escape::html;
use super::timeline::{Column, Timeline};

const WIDTH: f64 = 960.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const RATE_TOP: f64 = 24.0;
const RATE_HEIGHT: f64 = 170.0;
const LATENCY_TOP: f64 = 250.0;
const LATENCY_HEIGHT: f64 = 100.0;
const HEIGHT: f64 = 380.0;

/// Fill colours, shared with the HTML legend.
pub const SUCCESS: &str = "#2e7d32";
pub const REFUSED: &str = "#ef6c00";
pub const TRANSIENT: &str = "#c62828";
pub const RATE_LIMITED: &str = "#6a1b9a";
pub const LOCAL: &str = "#9e9e9e";
pub const OUTAGE: &str = "#ffcdd2";
pub const P50: &str = "#1565c0";
pub const P95: &str = "#90caf9";

/// The `<svg>` element for `timeline`.
#[must_use]
pub fn timeline_svg(t: &Timeline) -> String {
    let mut out = String::new();
    let columns = t.columns.len().max(1) as f64;
    let step = (WIDTH - LEFT - RIGHT) / columns;
    let per_second = 1000.0 / t.column_ms as f64;
    let rate_max = nice_ceiling(t.peak_per_second());
    let latency_max = nice_ceiling(
        t.columns
            .iter()
            .filter_map(|c| c.latency.as_ref()?.quantile(0.95))
            .max()
            .unwrap_or(0) as f64,
    );
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-labelledby="timeline-title" font-family="sans-serif" font-size="11"><title id="timeline-title">ids decided per second and time to decide, {} to {}</title>"#,
        clock(t.start_ms),
        clock(t.end_ms())
    );
    axes(&mut out, t, rate_max, latency_max);
    for (i, c) in t.columns.iter().enumerate() {
        let x = LEFT + i as f64 * step;
        let at = t.column_start(i);
        let _ = write!(
            out,
            "<g><title>{}</title>",
            html(&tooltip(at, t.column_ms, c))
        );
        if c.looks_down() {
            let _ = write!(
                out,
                r#"<rect x="{x:.2}" y="{RATE_TOP}" width="{step:.2}" height="{RATE_HEIGHT}" fill="{OUTAGE}"/>"#
            );
        }
        let mut bottom = RATE_TOP + RATE_HEIGHT;
        for (n, colour) in [
            (c.success, SUCCESS),
            (c.refused, REFUSED),
            (c.transient, TRANSIENT),
            (c.rate_limited, RATE_LIMITED),
            (c.local, LOCAL),
        ] {
            if n == 0 {
                continue;
            }
            let h = n as f64 * per_second / rate_max * RATE_HEIGHT;
            bottom -= h;
            let _ = write!(
                out,
                r#"<rect x="{x:.2}" y="{bottom:.2}" width="{:.2}" height="{h:.2}" fill="{colour}"/>"#,
                (step - 0.3).max(0.5)
            );
        }
        out.push_str("</g>");
    }
    for (q, colour, dash) in [(0.95, P95, "4 2"), (0.5, P50, "none")] {
        let _ = write!(
            out,
            r#"<path fill="none" stroke="{colour}" stroke-width="1.5" stroke-dasharray="{dash}" d=""#
        );
        let mut pen_down = false;
        for (i, c) in t.columns.iter().enumerate() {
            let Some(ms) = c.latency.as_ref().and_then(|h| h.quantile(q)) else {
                pen_down = false;
                continue;
            };
            let x = LEFT + (i as f64 + 0.5) * step;
            let y = LATENCY_TOP + LATENCY_HEIGHT - ms as f64 / latency_max * LATENCY_HEIGHT;
            let _ = write!(out, "{}{x:.2},{y:.2} ", if pen_down { "L" } else { "M" });
            pen_down = true;
        }
        out.push_str(r#""/>"#);
    }
    out.push_str("</svg>");
    out
}

fn axes(out: &mut String, t: &Timeline, rate_max: f64, latency_max: f64) {
    let right = WIDTH - RIGHT;
    for (top, height, max, label) in [
        (RATE_TOP, RATE_HEIGHT, rate_max, "ids decided / s"),
        (
            LATENCY_TOP,
            LATENCY_HEIGHT,
            latency_max,
            "time to decide, ms",
        ),
    ] {
        let bottom = top + height;
        let _ = write!(
            out,
            r##"<text x="{LEFT}" y="{:.0}" font-weight="bold">{label}</text><line x1="{LEFT}" y1="{top}" x2="{LEFT}" y2="{bottom}" stroke="#444"/><line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#444"/><line x1="{LEFT}" y1="{top}" x2="{right}" y2="{top}" stroke="#ddd"/><text x="{:.0}" y="{:.0}" text-anchor="end">{}</text><text x="{:.0}" y="{bottom}" text-anchor="end">0</text>"##,
            top - 8.0,
            LEFT - 4.0,
            top + 4.0,
            number(max),
            LEFT - 4.0,
        );
    }
    let end = t.end_ms();
    let y = LATENCY_TOP + LATENCY_HEIGHT + 16.0;
    let _ = write!(
        out,
        r#"<text x="{LEFT}" y="{y}">{} UTC</text><text x="{:.0}" y="{y}" text-anchor="middle">{}</text><text x="{right}" y="{y}" text-anchor="end">{}</text><text x="{:.0}" y="{:.0}" text-anchor="middle" fill="{LOCAL}">each column {} s</text>"#,
        html(&stamp(t.start_ms)),
        f64::midpoint(LEFT, right),
        clock(t.start_ms + (end - t.start_ms) / 2),
        clock(end),
        f64::midpoint(LEFT, right),
        y + 14.0,
        t.column_ms / 1000,
    );
}

fn tooltip(at: i64, column_ms: i64, c: &Column) -> String {
    let mut text = format!(
        "{} +{} s: {} decided",
        clock(at),
        column_ms / 1000,
        c.total()
    );
    for (n, what) in [
        (c.success, "succeeded"),
        (c.refused, "refused"),
        (c.transient, "failed transiently"),
        (c.rate_limited, "rate limited"),
        (c.local, "not sent"),
    ] {
        if n > 0 {
            let _ = write!(text, ", {n} {what}");
        }
    }
    if let Some(h) = &c.latency {
        let _ = write!(
            text,
            "; p50 {} ms, p95 {} ms",
            h.quantile(0.5).unwrap_or(0),
            h.quantile(0.95).unwrap_or(0)
        );
    }
    if c.looks_down() {
        text.push_str("; appliance not answering");
    }
    text
}

/// The smallest 1, 2 or 5 × 10ⁿ at least `x` (at least 1).
fn nice_ceiling(x: f64) -> f64 {
    let mut unit = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * unit >= x {
                return m * unit;
            }
        }
        unit *= 10.0;
    }
}

fn number(x: f64) -> String {
    format!("{x}")
}

/// The last millisecond RFC 3339 (and humantime) can write: 9999-12-31T23:59:59.999Z.
const LAST_MS: u64 = 253_402_300_799_999;

/// `2026-11-26T23:41:35Z` for a Unix ms. A report row may say any year up to 9999, and the end
/// of its timeline column lies past it: times beyond what RFC 3339 can write are shown as the
/// last second of 9999 (humantime's formatter fails, and `to_string` would panic, past it).
#[must_use]
pub fn stamp(ms: i64) -> String {
    let ms = u64::try_from(ms).unwrap_or(0).min(LAST_MS);
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// `23:41:35` for a Unix ms.
#[must_use]
pub fn clock(ms: i64) -> String {
    stamp(ms).get(11..19).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OutcomeKind;

    #[test]
    fn the_svg_is_well_formed_shapes_only() {
        let mut t = Timeline::new(1_764_000_000_000, 1_764_000_009_000);
        t.add(1_764_000_000_100, OutcomeKind::Enabled, 1, 12);
        t.add(1_764_000_003_100, OutcomeKind::Timeout, 5, 9000);
        t.add(1_764_000_009_100, OutcomeKind::NotFound, 1, 20);
        let svg = timeline_svg(&t);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(!svg.contains("<script") && !svg.contains("href"));
        assert!(svg.contains(OUTAGE), "the outage second is shaded");
        assert!(svg.contains("16:00:03 +1 s: 1 decided, 1 failed transiently"));
        assert!((nice_ceiling(0.0) - 1.0).abs() < 1e-9);
        assert!((nice_ceiling(130.0) - 200.0).abs() < 1e-9);
    }

    #[test]
    fn a_row_decided_at_the_end_of_year_9999_draws_without_a_panic() {
        let last = 253_402_300_799_500; // 9999-12-31T23:59:59.500Z, a valid finished_at
        let mut t = Timeline::new(last, last);
        t.add(last, OutcomeKind::Enabled, 1, 12);
        assert!(
            t.end_ms() > last,
            "the column ends past what RFC 3339 can write"
        );
        let svg = timeline_svg(&t);
        assert!(svg.contains("9999-12-31T23:59:59Z UTC"), "{svg}");
        assert_eq!(stamp(i64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(stamp(-5), "1970-01-01T00:00:00Z");
    }
}
