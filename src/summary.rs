//! What a finished (or stopped) run tells the operator on stderr: counts per outcome with a hint
//! for each failure, requests, retries, token fetches, rate, latency, the report path and the
//! next step; and the exit code that goes with it (design.md §5–§6).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::control::Ending;
use crate::error::exit;
use crate::metrics::MetricsSnapshot;
use crate::model::{Operation, Verdict};
use crate::pipeline::pace::HEADROOM;
use crate::report::Tally;

/// Everything the summary shows.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub operation: Operation,
    pub ending: Ending,
    pub tally: Tally,
    pub metrics: MetricsSnapshot,
    pub token_fetches: u64,
    pub duration: Duration,
    pub report: PathBuf,
    pub run_id: String,
    /// Ids an earlier run settled (skipped by `--resume`), and how many of those failed.
    pub settled_earlier: u64,
    pub settled_earlier_failures: u64,
    /// The command that continues this run.
    pub resume_command: String,
    /// What `--rate auto` found; `None` for a fixed `--rate`.
    pub pace: Option<PaceFound>,
}

/// The pace `--rate auto` settled on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaceFound {
    /// The median over the run's last minute of the paced rate, or of the rate sent where
    /// that was lower, requests per second.
    pub rate: f64,
    /// `--rate-max`.
    pub ceiling: f64,
    /// The limit the gateway stated, requests per second, if it stated one.
    pub stated: Option<f64>,
    /// `N` of `--shard K/N` (1 without `--shard`): a shard's pace is its part of the limit.
    pub sharers: u64,
}

impl PaceFound {
    /// The pace as a `--rate` value to pin: whole requests per second, rounded down (one
    /// decimal below 10), so that pinning it stays at or under what was found.
    #[must_use]
    pub fn pin(&self) -> String {
        pin(self.rate)
    }

    /// The line the summary prints.
    #[must_use]
    pub fn line(&self) -> String {
        let stated = self
            .stated
            .map(|l| format!(" (the gateway states {} req/s)", shown(l)))
            .unwrap_or_default();
        if self.rate >= self.ceiling * 0.99 {
            format!(
                "pace: held at the --rate-max ceiling of {} req/s{stated}: the appliance may take more; raise --rate-max to find out",
                self.pin()
            )
        } else if self.sharers > 1 {
            // What one shard sustained is its part of the limit, not the limit: pinning it
            // as the appliance's pace would be wrong, and a shard cannot see the others'.
            let n = self.sharers;
            #[expect(clippy::cast_precision_loss, reason = "a small process count")]
            let split = match self.stated {
                // Under each share by the controller's own margin: a fixed pace at exactly
                // the limit still meets a 429 now and then.
                Some(limit) => format!(
                    "pin --rate {} on each of the {n} shards (less if other clients use the gateway)",
                    pin(HEADROOM * limit / n as f64)
                ),
                None => format!(
                    "the {n} shards' paces add up to about the gateway's limit if they ran together to the end: pin --rate (that sum / {n}) on each"
                ),
            };
            format!(
                "pace: this shard, one of {n}, sustained ~{} req/s{stated}; {split}",
                self.pin()
            )
        } else {
            format!(
                "pace: the appliance sustained ~{} req/s{stated}; pin it with --rate {}",
                self.pin(),
                self.pin()
            )
        }
    }
}

/// A pace as a `--rate` value, rounded down so that pinning it stays at or under the pace:
/// whole requests per second from 10, one decimal from 1, three below (`--rate` takes 0.001).
fn pin(rate: f64) -> String {
    // A hair over, so that 72/min over 3 shards (0.4/s) is not floored to 0.3.
    let rate = rate * (1.0 + 1e-9);
    let places = if rate >= 10.0 {
        1.0
    } else if rate >= 1.0 {
        10.0
    } else {
        1000.0
    };
    format!("{}", ((rate * places).floor() / places).max(0.001))
}

/// A stated limit for the eye: whole requests per second from 10, else two decimals (a
/// per-minute limit of 20 is 0.33/s, not 0).
fn shown(rate: f64) -> String {
    if rate >= 10.0 {
        format!("{rate:.0}")
    } else {
        format!("{rate:.2}")
    }
}

impl RunSummary {
    /// Records that ended in a failure, this run and settled earlier.
    #[must_use]
    pub fn failures(&self) -> u64 {
        self.tally
            .iter()
            .filter(|(k, _)| k.verdict() == Verdict::Failure)
            .map(|(_, n)| n)
            .sum::<u64>()
            + self.settled_earlier_failures
    }

    /// Failed ids that `--resume` would try again (transient or unexplained failures).
    #[must_use]
    pub fn retryable(&self) -> u64 {
        self.tally
            .iter()
            .filter(|(k, _)| !k.is_final())
            .map(|(_, n)| n)
            .sum()
    }

    /// The exit code of design.md §6.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match &self.ending {
            Ending::Aborted(reason) => reason.exit_code(),
            Ending::Interrupted => exit::INTERRUPTED,
            Ending::Finished if self.failures() > 0 => exit::FAILURES,
            Ending::Finished => exit::OK,
        }
    }

    /// The summary text, scrubbed of secrets (an abort reason may quote the server).
    #[must_use]
    pub fn render(&self) -> String {
        crate::redact::text(&self.render_raw()).into_owned()
    }

    fn render_raw(&self) -> String {
        let mut out = String::new();
        let secs = self.duration.as_secs_f64();
        let state = match &self.ending {
            Ending::Finished => "finished",
            Ending::Aborted(_) => "ABORTED",
            Ending::Interrupted => "INTERRUPTED",
        };
        let _ = writeln!(
            out,
            "credbulk {} {state} in {secs:.1} s: {} records decided",
            self.operation.name(),
            self.tally.total()
        );
        for (kind, n) in self.tally.iter() {
            let _ = write!(out, "  {:<20} {n:>8}", kind.as_str());
            if let Some(hint) = kind.hint().filter(|_| kind.verdict() == Verdict::Failure) {
                let _ = write!(out, "   → {hint}");
            }
            out.push('\n');
        }
        if self.settled_earlier > 0 {
            let _ = writeln!(
                out,
                "  {:<20} {:>8}   (settled by earlier runs; {} of them failed)",
                "skipped (resume)", self.settled_earlier, self.settled_earlier_failures
            );
        }
        let m = &self.metrics;
        let rate = if secs > 0.0 {
            (m.requests + self.token_fetches) as f64 / secs
        } else {
            0.0
        };
        let ms = |d: Option<Duration>| {
            d.map_or_else(|| "-".to_owned(), |d| format!("{} ms", d.as_millis()))
        };
        let _ = writeln!(
            out,
            "requests {} (retries {}, token replays {}), token fetches {}, {rate:.1} req/s, latency p50 {} p95 {} p99 {}",
            m.requests,
            m.retries,
            m.replays,
            self.token_fetches,
            ms(m.p50),
            ms(m.p95),
            ms(m.p99),
        );
        if m.throttled > 0 || self.pace.is_some() {
            let _ = writeln!(out, "rate limited (429) answers: {}", m.throttled);
        }
        if let Some(pace) = &self.pace {
            let _ = writeln!(out, "{}", pace.line());
        }
        let _ = writeln!(
            out,
            "report: {} (run {})",
            self.report.display(),
            self.run_id
        );
        match &self.ending {
            Ending::Aborted(reason) => {
                let _ = writeln!(out, "aborted: {reason}");
                let _ = writeln!(out, "  hint: {}", reason.hint());
                let _ = writeln!(
                    out,
                    "next: fix that, then continue with: {}",
                    crate::config::resume_advice(&self.resume_command)
                );
            }
            Ending::Interrupted => {
                let _ = writeln!(
                    out,
                    "next: in-flight ids finished and the report is complete up to here; continue with: {}",
                    crate::config::resume_advice(&self.resume_command)
                );
            }
            Ending::Finished if self.retryable() > 0 => {
                let _ = writeln!(
                    out,
                    "next: {} ids failed for reasons that may pass on a retry; retry only those with: {}",
                    self.retryable(),
                    crate::config::resume_advice(&self.resume_command)
                );
            }
            Ending::Finished if self.failures() > 0 => {
                let _ = writeln!(
                    out,
                    "next: the report lists the {} failed ids with the reason for each; running again would fail them the same way",
                    self.failures()
                );
            }
            Ending::Finished => {
                let _ = writeln!(out, "next: nothing; every id succeeded.");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AbortReason;
    use crate::model::OutcomeKind;

    fn summary(kinds: &[OutcomeKind], ending: Ending) -> RunSummary {
        let mut tally = Tally::default();
        for k in kinds {
            tally.add(*k);
        }
        RunSummary {
            operation: Operation::Enable,
            ending,
            tally,
            metrics: MetricsSnapshot::default(),
            token_fetches: 1,
            duration: Duration::from_secs(2),
            report: "r.csv".into(),
            run_id: "run".into(),
            settled_earlier: 0,
            settled_earlier_failures: 0,
            resume_command: "credbulk enable ids.csv --resume".into(),
            pace: None,
        }
    }

    #[test]
    fn exit_codes_follow_the_outcomes_and_the_ending() {
        use OutcomeKind::*;
        assert_eq!(
            summary(&[Enabled, AlreadyEnabled, Duplicate], Ending::Finished).exit_code(),
            0
        );
        assert_eq!(
            summary(&[Enabled, NotFound], Ending::Finished).exit_code(),
            1
        );
        assert_eq!(summary(&[Enabled], Ending::Interrupted).exit_code(), 130);
        assert_eq!(
            summary(&[Forbidden], Ending::Aborted(AbortReason::ReadOnly)).exit_code(),
            3
        );
        let mut earlier = summary(&[Enabled], Ending::Finished);
        earlier.settled_earlier_failures = 1;
        assert_eq!(earlier.exit_code(), 1);
    }

    #[test]
    fn the_text_names_failures_with_hints_and_the_way_to_resume() {
        let text = summary(&[OutcomeKind::NotFound], Ending::Interrupted).render();
        assert!(text.contains("not_found"));
        assert!(text.contains("check these ids"));
        assert!(text.contains("credbulk enable ids.csv --resume"));
    }

    #[test]
    fn the_pace_found_is_shown_with_the_flag_that_pins_it() {
        let mut s = summary(&[OutcomeKind::Enabled], Ending::Finished);
        s.metrics.throttled = 7;
        s.pace = Some(PaceFound {
            rate: 38.8,
            ceiling: 100.0,
            stated: None,
            sharers: 1,
        });
        let text = s.render();
        assert!(text.contains("rate limited (429) answers: 7"), "{text}");
        assert!(
            text.contains("the appliance sustained ~38 req/s; pin it with --rate 38"),
            "{text}"
        );
        s.pace = Some(PaceFound {
            rate: 10.0,
            ceiling: 10.0,
            stated: None,
            sharers: 1,
        });
        assert!(s.render().contains("raise --rate-max"));
        let slow = PaceFound {
            rate: 2.37,
            ceiling: 10.0,
            stated: None,
            sharers: 1,
        };
        assert_eq!(slow.pin(), "2.3");
    }

    #[test]
    fn a_shard_is_not_told_its_pace_is_the_appliance_s() {
        let mut s = summary(&[OutcomeKind::Enabled], Ending::Finished);
        // (pace found, stated limit, shards, what the line must say)
        let cases = [
            (
                12.4,
                None,
                4,
                "pace: this shard, one of 4, sustained ~12 req/s; the 4 shards' paces add up to about the gateway's limit if they ran together to the end: pin --rate (that sum / 4) on each",
            ),
            (
                9.7,
                Some(40.0),
                4,
                "pace: this shard, one of 4, sustained ~9.7 req/s (the gateway states 40 req/s); pin --rate 9.7 on each of the 4 shards (less if other clients use the gateway)",
            ),
            // 60 a minute over 16 shards: 0.06/s each, not 0.1 (which would add up to 1.6/s).
            (
                0.05,
                Some(1.0),
                16,
                "(the gateway states 1.00 req/s); pin --rate 0.06 on each of the 16 shards",
            ),
        ];
        for (rate, stated, sharers, wanted) in cases {
            s.pace = Some(PaceFound {
                rate,
                ceiling: 1000.0,
                stated,
                sharers,
            });
            let text = s.render();
            assert!(!text.contains("the appliance sustained"), "{text}");
            assert!(text.contains(wanted), "{text}");
        }
    }
}
