//! The progress bar on stderr: done/total, rate, ETA and failures so far. Drawn only when
//! stderr is a terminal and `--no-progress` was not given; otherwise every call is a no-op.
//!
//! The bar owns exactly one terminal row, whatever the width (`OneLine`): it is drawn one
//! column short of the width and cut to fit, the cursor goes back to the row's start after each
//! draw, and every redraw first erases to the end of the screen. A terminal narrowed under a
//! drawn bar re-wraps that row onto the rows below it; erasing from the row's start takes those
//! too, so a resize leaves no stale line, and the bar never moves the cursor up (which would eat
//! a log line above it). Depends on indicatif and console, and reads the pacer's rate.
//!
//! While the appliance is unreachable it says "waiting for the appliance"; under `--rate auto`
//! it shows the pace set now (`pace 38/s`).

use std::fmt::Debug;
use std::io::{self, Write as _};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

use crate::model::{OutcomeKind, Verdict};
use crate::pacer::Pacer;

/// A cheap handle to the run's progress bar (or to nothing).
#[derive(Debug, Clone, Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
    failures: Arc<AtomicU64>,
    /// The bar's template, kept to restyle it in [`Progress::show_waiting`].
    template: &'static str,
    /// `--rate auto`: the pacer whose current rate the bar shows (set once, by
    /// [`Progress::show_pace`]).
    pace: Arc<OnceLock<Arc<Pacer>>>,
}

impl Progress {
    /// A bar on stderr when `draw` and the terminal can take one; `total` is the estimated
    /// number of records, if known.
    #[must_use]
    pub fn new(draw: bool, total: Option<u64>) -> Self {
        if !draw
            || !understands_escapes(std::env::var("TERM").ok().as_deref())
            || !windows_console_takes_escapes()
        {
            return Self::default();
        }
        Self::on(Box::new(Stderr), total).start()
    }

    /// A bar drawn on `screen` (stderr, or a fixed-width screen in tests).
    #[must_use]
    pub fn on(screen: Box<dyn Screen>, total: Option<u64>) -> Self {
        let target = ProgressDrawTarget::term_like_with_hz(Box::new(OneLine { screen }), 20);
        let bar = ProgressBar::with_draw_target(total, target);
        // Short fixed parts, so that at 40 columns the bar itself still shows.
        let template = if total.is_some() {
            "{spinner} {wide_bar} {pos}/{len} {rate}{pace}{waiting} eta {eta} {msg}"
        } else {
            "{spinner} {pos} ids {rate}{pace}{waiting} {msg}"
        };
        let pace = Arc::<OnceLock<Arc<Pacer>>>::default();
        if let Some(style) = style(template, None, &pace) {
            bar.set_style(style);
        }
        Self {
            bar: Some(bar),
            failures: Arc::default(),
            template,
            pace,
        }
    }

    /// Shows "waiting for the appliance" on the bar while `waiting` is set (by the pipeline,
    /// while the appliance is unreachable), instead of a rate that looks like a hang.
    pub fn show_waiting(&self, waiting: Arc<AtomicBool>) {
        if let (Some(bar), Some(style)) =
            (&self.bar, style(self.template, Some(waiting), &self.pace))
        {
            bar.set_style(style);
        }
    }

    /// Shows the pace `--rate auto` has set on `pacer` (`pace 38/s`) beside the ids per
    /// second; nothing for `None` (a fixed `--rate`).
    pub fn show_pace(&self, pacer: Option<Arc<Pacer>>) {
        if let Some(pacer) = pacer {
            let _ = self.pace.set(pacer);
        }
    }

    /// Starts redrawing on its own (the spinner and the rate move while ids are slow) and
    /// routes log lines around the bar.
    fn start(self) -> Self {
        if let Some(bar) = &self.bar {
            bar.enable_steady_tick(Duration::from_millis(200));
            crate::logging::set_progress_bar(Some(bar.clone()));
        }
        self
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
fn style(
    template: &str,
    waiting: Option<Arc<AtomicBool>>,
    pace: &Arc<OnceLock<Arc<Pacer>>>,
) -> Option<ProgressStyle> {
    let style = ProgressStyle::with_template(template).ok()?;
    let pace = Arc::clone(pace);
    Some(
        style
            .with_key(
                "pace",
                move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    if let Some(pacer) = pace.get() {
                        let _ = write!(w, " pace {:.0}/s", pacer.rate());
                    }
                },
            )
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

/// Whether a terminal of type `term` (`TERM`) takes the escape the bar erases with. As
/// indicatif's own stderr target decides: not `dumb` (Emacs' shell, some CI consoles), and on
/// Unix not unset either; Windows consoles leave `TERM` unset.
fn understands_escapes(term: Option<&str>) -> bool {
    match term {
        Some(term) => term != "dumb",
        None => cfg!(windows),
    }
}

/// On Windows, whether stderr's console interprets escapes: asking console turns on its
/// virtual-terminal mode where it can (indicatif's own target cleared through the console API
/// instead; the one-row screen writes an escape). Elsewhere always true.
fn windows_console_takes_escapes() -> bool {
    !cfg!(windows) || console::Term::stderr().features().colors_supported()
}

/// Where the bar is drawn: a width and a byte sink.
pub trait Screen: Debug + Send + Sync {
    /// Columns now (asked at every draw, so a resize is seen at once).
    fn width(&self) -> u16;
    fn write(&self, text: &str) -> io::Result<()>;
    fn flush(&self) -> io::Result<()>;
}

/// The process's stderr.
#[derive(Debug)]
struct Stderr;

impl Screen for Stderr {
    fn width(&self) -> u16 {
        console::Term::stderr().size().1
    }

    fn write(&self, text: &str) -> io::Result<()> {
        io::stderr().write_all(text.as_bytes())
    }

    fn flush(&self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Erase from the cursor to the end of the screen.
const ERASE_BELOW: &str = "\r\x1b[J";

/// A terminal of one row for indicatif (see the module doc).
#[derive(Debug)]
struct OneLine {
    screen: Box<dyn Screen>,
}

impl OneLine {
    /// Columns the bar may use: one short of the width, so the cursor never sits in the last
    /// column, where terminals differ on when they wrap.
    fn columns(&self) -> u16 {
        self.screen.width().saturating_sub(1).max(1)
    }
}

impl TermLike for OneLine {
    fn width(&self) -> u16 {
        self.columns()
    }

    fn height(&self) -> u16 {
        // One row is all the bar takes; a large height keeps indicatif from skipping it.
        u16::MAX
    }

    // The cursor is always at the start of the bar's row: there is nowhere to move to.
    fn move_cursor_up(&self, _: usize) -> io::Result<()> {
        Ok(())
    }

    fn move_cursor_down(&self, _: usize) -> io::Result<()> {
        Ok(())
    }

    fn move_cursor_right(&self, _: usize) -> io::Result<()> {
        Ok(())
    }

    fn move_cursor_left(&self, _: usize) -> io::Result<()> {
        Ok(())
    }

    fn write_line(&self, _: &str) -> io::Result<()> {
        // Only used to pad multi-bar layouts; one bar never needs it.
        Ok(())
    }

    fn write_str(&self, text: &str) -> io::Result<()> {
        if text.trim_matches(' ').is_empty() {
            // indicatif pads each line to the width to push the cursor to the next row; this
            // row keeps the cursor instead, at its start.
            return self.screen.write("\r");
        }
        let fitted = console::truncate_str(text, usize::from(self.columns()), "");
        self.screen.write(&fitted)
    }

    fn clear_line(&self) -> io::Result<()> {
        self.screen.write(ERASE_BELOW)
    }

    fn flush(&self) -> io::Result<()> {
        self.screen.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicU16;

    use super::*;

    /// A screen of a given width that records what was written.
    #[derive(Debug, Default)]
    struct Recorder {
        width: AtomicU16,
        written: Mutex<String>,
    }

    #[derive(Debug)]
    struct Shared(Arc<Recorder>);

    impl Screen for Shared {
        fn width(&self) -> u16 {
            self.0.width.load(Ordering::Relaxed)
        }
        fn write(&self, text: &str) -> io::Result<()> {
            self.0.written.lock().unwrap().push_str(text);
            Ok(())
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    fn recorder(width: u16) -> Arc<Recorder> {
        let r = Arc::new(Recorder::default());
        r.width.store(width, Ordering::Relaxed);
        r
    }

    /// What the last draw left on the bar's row: the text after the last erase, up to the
    /// carriage return that ends it.
    fn last_row(r: &Recorder) -> String {
        let written = r.written.lock().unwrap().clone();
        let after = written
            .rsplit(ERASE_BELOW)
            .next()
            .unwrap_or_default()
            .to_owned();
        after.split('\r').next().unwrap_or_default().to_owned()
    }

    fn draw(progress: &Progress, done: u64, failed: u64) {
        let bar = progress.bar.as_ref().unwrap();
        for _ in 0..failed {
            progress.record(OutcomeKind::NotFound);
        }
        bar.set_position(done);
        bar.tick();
    }

    #[test]
    fn a_dumb_or_unset_terminal_gets_no_bar() {
        assert!(!understands_escapes(Some("dumb")));
        assert_eq!(understands_escapes(None), cfg!(windows));
        assert!(understands_escapes(Some("xterm-256color")));
        // The decision is Progress::new's: a bar asked for on such a terminal is not drawn.
        if std::env::var("TERM").ok().as_deref() == Some("dumb")
            || (std::env::var_os("TERM").is_none() && !cfg!(windows))
        {
            assert!(Progress::new(true, Some(5)).bar.is_none());
        }
    }

    #[test]
    fn the_bar_fits_one_row_at_40_to_60_columns() {
        for width in [40u16, 45, 50, 55, 60] {
            for total in [Some(1_000_000), Some(500), None] {
                let r = recorder(width);
                let progress = Progress::on(Box::new(Shared(Arc::clone(&r))), total);
                draw(&progress, 123_456.min(total.unwrap_or(u64::MAX)), 12);
                let row = last_row(&r);
                let columns = console::measure_text_width(&row);
                assert!(
                    columns > 0 && columns < usize::from(width),
                    "{width} cols, total {total:?}: {columns} cols: {row:?}"
                );
                assert!(!row.contains('\n'), "{row:?}");
                if total.is_some() {
                    assert!(
                        row.contains("/1000000") || row.contains("/500"),
                        "{width}: {row:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_narrowed_terminal_gets_its_rewrapped_row_erased_and_no_cursor_moves() {
        let r = recorder(120);
        let progress = Progress::on(Box::new(Shared(Arc::clone(&r))), Some(50_000));
        draw(&progress, 10_000, 0);
        assert!(console::measure_text_width(&last_row(&r)) > 60);
        r.width.store(40, Ordering::Relaxed);
        let before = r.written.lock().unwrap().len();
        draw(&progress, 20_000, 1);
        let redraw = r.written.lock().unwrap()[before..].to_owned();
        // The wide row, re-wrapped by the terminal onto the rows below, is erased from its
        // start (where the cursor was left) to the end of the screen before the new one.
        assert!(redraw.starts_with(ERASE_BELOW), "{redraw:?}");
        assert!(console::measure_text_width(&last_row(&r)) < 40);
        let all = r.written.lock().unwrap().clone();
        assert!(
            !all.contains("\x1b[1A") && !all.contains('\n'),
            "never moves up: {all:?}"
        );
        progress.finish();
        assert!(r.written.lock().unwrap().ends_with(ERASE_BELOW) || last_row(&r).is_empty());
    }

    #[test]
    fn under_auto_the_bar_shows_the_pace_set_now() {
        let r = recorder(100);
        let progress = Progress::on(Box::new(Shared(Arc::clone(&r))), Some(1_000));
        let pacer = Arc::new(Pacer::adjustable(10.0, 100.0, std::num::NonZeroU32::MIN));
        progress.show_pace(Some(Arc::clone(&pacer)));
        pacer.set_rate(38.4);
        draw(&progress, 10, 0);
        assert!(last_row(&r).contains("pace 38/s"), "{:?}", last_row(&r));
    }
}
