//! Log set-up: tracing to stderr, level from -q/-v/-vv or `RUST_LOG` (default info), written
//! through the progress bar so a log line never tears it. Dependencies' transport chatter is
//! capped at info whatever the level, as it is never needed to run credbulk and could carry
//! request details.

use std::io::Write;
use std::sync::Mutex;

use indicatif::ProgressBar;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The bar log lines must be printed around, while one is drawn.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Directives appended to every filter (they win over a broad `RUST_LOG=trace`).
const CAPS: &str = "hyper=info,hyper_util=info,reqwest=info,h2=info,rustls=info,tower=info,tower_http=info,axum=info";

/// Registers (or clears) the bar that log lines are printed around.
pub fn set_progress_bar(bar: Option<ProgressBar>) {
    *BAR.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = bar;
}

/// The filter for a verbosity: `quiet` → warn, 0 → `RUST_LOG` or info, 1 → debug, 2+ → trace.
#[must_use]
pub fn filter(quiet: bool, verbose: u8, rust_log: Option<&str>) -> EnvFilter {
    let base = match (quiet, verbose) {
        (true, _) => "warn".to_owned(),
        (false, 0) => rust_log
            .filter(|s| !s.trim().is_empty())
            .unwrap_or("info")
            .to_owned(),
        (false, 1) => "debug".to_owned(),
        (false, _) => "trace".to_owned(),
    };
    EnvFilter::try_new(format!("{base},{CAPS}"))
        .unwrap_or_else(|_| EnvFilter::new(format!("info,{CAPS}")))
}

/// Installs the global subscriber. Safe to call twice (the second call does nothing).
pub fn init(quiet: bool, verbose: u8) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(quiet, verbose, rust_log.as_deref()))
        .with_writer(BarAwareStderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Hands out writers that print a finished log line above the bar.
struct BarAwareStderr;

impl<'a> MakeWriter<'a> for BarAwareStderr {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(Vec::with_capacity(256))
    }
}

/// Buffers one event and prints it in one piece when dropped.
struct LineWriter(Vec<u8>);

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let print = || {
            let _ = std::io::stderr().lock().write_all(&self.0);
        };
        let bar = BAR
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        match bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::filter;

    #[test]
    fn verbosity_flags_win_over_rust_log_and_caps_stay() {
        let directives = |f: tracing_subscriber::EnvFilter| -> Vec<String> {
            f.to_string().split(',').map(str::to_owned).collect()
        };
        let has = |f, d: &str| directives(f).iter().any(|x| x == d);
        assert!(has(filter(false, 2, Some("warn")), "trace"));
        assert!(has(filter(false, 1, None), "debug"));
        assert!(has(filter(false, 0, Some("warn")), "warn"));
        assert!(has(filter(true, 0, None), "warn"));
        assert!(has(filter(false, 0, None), "info"));
        assert!(has(filter(false, 2, None), "hyper=info"));
        assert!(has(filter(false, 0, Some("[[[")), "info"));
    }
}
