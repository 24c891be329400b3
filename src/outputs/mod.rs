//! The files a run leaves besides its report: `--summary-json` (the audit record of who ran
//! what, when, against which input, with what result) and `--metrics-file` (Prometheus
//! textfile-collector metrics for cron monitoring). Both are written for every run that got
//! past configuration, aborted, interrupted and refused ones (an existing report, exit 2)
//! included, except a run refused because another run holds the report lock: those files are
//! that running job's. Both are replaced atomically.

mod atomic;
mod prometheus;
mod record;

use std::io::Read;
use std::path::Path;
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use tracing::error;

use crate::config::RunConfig;

pub use atomic::write as write_atomically;
pub use prometheus::render as render_metrics;
pub use record::{Latency, RunContext, RunRecord, split_hint};

impl RunContext {
    /// Notes the start of a run of `config`, hashing its input file as it is now.
    pub async fn start(config: &RunConfig) -> Self {
        let started_at = SystemTime::now();
        let wanted = config.outputs.summary_json.is_some();
        // Only a regular file can be read twice: hashing a pipe or FIFO would eat the input.
        let file = config
            .outputs
            .input_file
            .clone()
            .filter(|path| wanted && std::fs::metadata(path).is_ok_and(|m| m.is_file()));
        let input_sha256 = match file {
            Some(path) => tokio::task::spawn_blocking(move || sha256_file(&path).ok())
                .await
                .ok()
                .flatten(),
            None => None,
        };
        Self {
            operation: config.operation,
            started_at,
            outputs: config.outputs.clone(),
            input: config.input.describe(),
            input_sha256,
            report: config.report.clone(),
            resume_command: config.resume_command.clone(),
        }
    }

    /// Whether any file is to be written.
    #[must_use]
    pub fn wants_files(&self) -> bool {
        self.outputs.summary_json.is_some() || self.outputs.metrics_file.is_some()
    }
}

/// Writes the summary and metrics files `context` asks for. A failure is logged, not fatal:
/// the run itself is over and its report stands, so its exit code stays what the ids made it.
pub fn write_files(context: &RunContext, record: &RunRecord) {
    if let Some(path) = &context.outputs.summary_json {
        let json = serde_json::to_string_pretty(record).unwrap_or_default();
        let mut json = crate::redact::text(&json).into_owned().into_bytes();
        json.push(b'\n');
        report_failure("--summary-json", path, write_atomically(path, &json));
    }
    if let Some(path) = &context.outputs.metrics_file {
        let text = crate::redact::text(&render_metrics(record)).into_owned();
        report_failure(
            "--metrics-file",
            path,
            write_atomically(path, text.as_bytes()),
        );
    }
}

fn report_failure(flag: &str, path: &Path, result: std::io::Result<()>) {
    if let Err(e) = result {
        error!(
            path = %path.display(),
            error = %e,
            hint = "check the folder exists and is writable",
            "{flag} could not be written"
        );
    }
}

/// Hex SHA-256 of a file, read in blocks.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
            hex
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_hash_is_the_sha256_of_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids.csv");
        std::fs::write(&path, "abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
