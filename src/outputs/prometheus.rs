//! `--metrics-file`: the run in Prometheus' text exposition format, for `node_exporter`'s
//! textfile collector. Every outcome the command can produce is written, zeros included, so an alert on
//! `credbulk_ids_total{outcome="not_found"} > 0` never sees its series vanish.

use std::fmt::Write as _;

use crate::model::{Operation, OutcomeKind};

use super::RunRecord;

/// The metrics text of `record`.
#[must_use]
pub fn render(record: &RunRecord) -> String {
    let command = record.command;
    let mut out = String::new();
    header(
        &mut out,
        "credbulk_last_run_timestamp_seconds",
        "When the last run ended, as Unix time.",
    );
    let _ = writeln!(
        out,
        "credbulk_last_run_timestamp_seconds{{command=\"{command}\"}} {:.3}",
        record.ended_unix
    );
    header(
        &mut out,
        "credbulk_ids_total",
        "Report rows the last run wrote, per outcome.",
    );
    for kind in outcomes_of(command) {
        let n = record.outcomes.get(kind.as_str()).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "credbulk_ids_total{{command=\"{command}\",outcome=\"{kind}\"}} {n}"
        );
    }
    header(
        &mut out,
        "credbulk_run_duration_seconds",
        "How long the last run took.",
    );
    let _ = writeln!(
        out,
        "credbulk_run_duration_seconds{{command=\"{command}\"}} {:.3}",
        record.duration_seconds
    );
    header(
        &mut out,
        "credbulk_rate_limited_answers_total",
        "Answers of the last run that were a gateway's 429.",
    );
    let _ = writeln!(
        out,
        "credbulk_rate_limited_answers_total{{command=\"{command}\"}} {}",
        record.rate_limited_answers
    );
    if let Some(pace) = record.pace_found {
        header(
            &mut out,
            "credbulk_pace_found_requests_per_second",
            "With --rate auto: the pace the last run found (median of its last minute).",
        );
        let _ = writeln!(
            out,
            "credbulk_pace_found_requests_per_second{{command=\"{command}\"}} {pace:.1}"
        );
    }
    header(
        &mut out,
        "credbulk_exit_code",
        "Exit code of the last run: 0 all succeeded, 1 some ids failed, 2 usage or input error, 3 aborted, 130 interrupted.",
    );
    let _ = writeln!(
        out,
        "credbulk_exit_code{{command=\"{command}\"}} {}",
        record.exit_code
    );
    out
}

fn header(out: &mut String, name: &str, help: &str) {
    // A per-run value, not a running total, hence a gauge even where the name ends in _total
    // (the issue fixes the name).
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
}

/// Every outcome `command` can produce (the other command's two successes left out).
fn outcomes_of(command: &str) -> impl Iterator<Item = OutcomeKind> {
    let other = if command == Operation::Enable.name() {
        [OutcomeKind::Disabled, OutcomeKind::AlreadyDisabled]
    } else {
        [OutcomeKind::Enabled, OutcomeKind::AlreadyEnabled]
    };
    OutcomeKind::ALL
        .into_iter()
        .filter(move |k| !other.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_line_has_a_name_labels_and_a_number() {
        let mut record = super::super::record::sample();
        record.exit_code = 1;
        record.outcomes.insert("enabled", 3);
        record.outcomes.insert("not_found", 1);
        let text = render(&record);
        assert!(text.contains("credbulk_ids_total{command=\"enable\",outcome=\"enabled\"} 3\n"));
        assert!(text.contains("credbulk_ids_total{command=\"enable\",outcome=\"timeout\"} 0\n"));
        assert!(!text.contains("outcome=\"disabled\""));
        assert!(text.contains("credbulk_exit_code{command=\"enable\"} 1\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(series.starts_with("credbulk_"), "{line}");
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
