//! The progress bar on stderr: done/total, rate, ETA and failures so far. Drawn only when
//! stderr is a terminal and `--no-progress` was not given; otherwise every call is a no-op.
//! While the appliance is unreachable it says "waiting for the appliance".

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::model::{OutcomeKind, Verdict};

/// A cheap handle to the run's progress bar (or to nothing).
#[derive(Debug, Clone, Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
    failures: Arc<AtomicU64>,
    /// The bar's template, kept to restyle it in [`Progress::show_waiting`].
    template: &'static str,
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
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ids  {rate}{waiting}  eta {eta}  {msg}"
        } else {
            "{spinner} [{elapsed_precise}] {pos} ids  {rate}{waiting}  {msg}"
        };
        if let Some(style) = style(template, None) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        crate::logging::set_progress_bar(Some(bar.clone()));
        Self {
            bar: Some(bar),
            failures: Arc::default(),
            template,
        }
    }

    /// Shows "waiting for the appliance" on the bar while `waiting` is set (by the pipeline,
    /// while the appliance is unreachable), instead of a rate that looks like a hang.
    pub fn show_waiting(&self, waiting: Arc<AtomicBool>) {
        if let (Some(bar), Some(style)) = (&self.bar, style(self.template, Some(waiting))) {
            bar.set_style(style);
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

/// The bar's style: `{rate}` in whole ids per second (indicatif's own `{per_sec}` prints four
/// decimals), and `{waiting}` while the flag is set.
fn style(template: &str, waiting: Option<Arc<AtomicBool>>) -> Option<ProgressStyle> {
    let style = ProgressStyle::with_template(template).ok()?;
    Some(
        style
            .with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}/s", state.per_sec());
                },
            )
            .with_key(
                "waiting",
                move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    if waiting.as_ref().is_some_and(|f| f.load(Ordering::Relaxed)) {
                        let _ = w.write_str("  waiting for the appliance");
                    }
                },
            ),
    )
}
