//! The progress bar on stderr: done/total, rate, ETA and failures so far. Drawn only when
//! stderr is a terminal and `--no-progress` was not given; otherwise every call is a no-op.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::model::{OutcomeKind, Verdict};

/// A cheap handle to the run's progress bar (or to nothing).
#[derive(Debug, Clone, Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
    failures: Arc<AtomicU64>,
}

impl Progress {
    /// A bar on stderr when `draw`; `total` is the estimated number of records, if known.
    #[must_use]
    pub fn new(draw: bool, total: Option<u64>) -> Self {
        if !draw {
            return Self::default();
        }
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let template = if total.is_some() {
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ids  {rate}  eta {eta}  {msg}"
        } else {
            "{spinner} [{elapsed_precise}] {pos} ids  {rate}  {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            // indicatif's own `{per_sec}` prints four decimals; whole ids per second read better.
            bar.set_style(style.with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}/s", state.per_sec());
                },
            ));
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        crate::logging::set_progress_bar(Some(bar.clone()));
        Self {
            bar: Some(bar),
            failures: Arc::default(),
        }
    }

    /// Counts one decided record.
    pub fn record(&self, kind: OutcomeKind) {
        let Some(bar) = &self.bar else { return };
        if kind.verdict() == Verdict::Failure {
            let failed = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
            bar.set_message(format!("{failed} failed"));
        }
        bar.inc(1);
    }

    /// Removes the bar so that the summary prints on a clean line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            crate::logging::set_progress_bar(None);
            bar.finish_and_clear();
        }
    }
}
