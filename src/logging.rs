//! Log set-up: tracing to stderr, level from -q/-v/-vv or `RUST_LOG` (default info), written
//! through the progress bar so a log line never tears it. Dependencies' transport chatter is
//! capped at info whatever the level, as it is never needed to run credbulk and could carry
//! request details. Under `--log-format json` every line on stderr is one JSON object: the
//! logs (tracing-subscriber's JSON formatter) and, through [`print_line`], everything else
//! credbulk prints there, in the same shape. Every line passes through [`crate::redact`] on its
//! way out, whatever produced it, so no log call can leak a secret or a token.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::LogFormat;

use indicatif::ProgressBar;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Chooses the shape of printed lines without starting the log subscriber, for an error found
/// before it can start (see `app::preflight`).
pub fn set_format(format: LogFormat) {
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
}

/// Whether stderr carries JSON lines (set once by [`init`]; in-process tests leave it off).
static JSON: AtomicBool = AtomicBool::new(false);

/// The bar log lines must be printed around, while one is drawn.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Directives appended to every filter (they win over a broad `RUST_LOG=trace`). The platform
/// verifier is silenced: it logs its raw refusal (`CaUsedAsEndEntity`) at ERROR even for a
/// pinned certificate `tls` then accepts, and `tls` explains every real refusal itself.
const CAPS: &str = "hyper=info,hyper_util=info,reqwest=info,h2=info,rustls=info,tower=info,tower_http=info,axum=info,rustls_platform_verifier=off";

/// Registers (or clears) the bar that log lines are printed around.
pub fn set_progress_bar(bar: Option<ProgressBar>) {
    *BAR.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = bar;
}

/// Erases the bar for good, before an exit that skips the run's own `Progress::finish` (a
/// second signal): the bar leaves the cursor at the start of its row, so a bar still drawn
/// when the process ends would sit under the shell's prompt.
pub fn clear_progress_bar() {
    let bar = BAR
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
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
pub fn init(quiet: bool, verbose: u8, format: LogFormat) {
    set_format(format);
    let rust_log = std::env::var("RUST_LOG").ok();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(quiet, verbose, rust_log.as_deref()))
        .with_writer(BarAwareStderr)
        .with_target(false);
    match format {
        LogFormat::Text => {
            let _ = builder
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .try_init();
        }
        LogFormat::Json => {
            let _ = builder
                .json()
                .with_ansi(false)
                .with_current_span(false)
                .with_span_list(false)
                .try_init();
        }
    }
}

/// Whether stderr carries JSON lines (`--log-format json`).
#[must_use]
pub fn is_json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// Prints what is not a log event (the summary, an error, a note): as is, or under
/// `--log-format json` as one JSON object shaped like the log lines, with `fields` added.
pub fn print_line(level: &str, text: &str, fields: serde_json::Map<String, serde_json::Value>) {
    let line = if is_json() {
        json_line(level, text, fields)
    } else {
        let mut t = text.to_owned();
        if !t.ends_with('\n') {
            t.push('\n');
        }
        t
    };
    // Dropping the writer prints it, around the progress bar if one is drawn.
    drop(LineWriter(line.into_bytes()));
}

/// One JSON object in the shape of tracing-subscriber's: timestamp, level, fields.message.
#[must_use]
pub fn json_line(
    level: &str,
    message: &str,
    mut fields: serde_json::Map<String, serde_json::Value>,
) -> String {
    fields.insert("message".to_owned(), message.trim_end().into());
    // Keys in tracing's order (timestamp, level, fields), which a `json!` map would sort.
    let timestamp = humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string();
    format!(
        "{{\"timestamp\":{},\"level\":{},\"fields\":{}}}\n",
        serde_json::Value::from(timestamp),
        serde_json::Value::from(level),
        serde_json::Value::Object(fields)
    )
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
        let line = String::from_utf8_lossy(&self.0);
        let line = crate::redact::text(&line);
        let print = || {
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
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

    #[test]
    fn a_json_line_is_one_object_with_the_message_in_its_fields() {
        let mut fields = serde_json::Map::new();
        fields.insert("hint".into(), "do this".into());
        let line = super::json_line("ERROR", "it broke\n", fields);
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "ERROR");
        assert_eq!(v["fields"]["message"], "it broke");
        assert_eq!(v["fields"]["hint"], "do this");
    }
}
