//! Reads a `--summary-json` file back (the run record of `outputs::record`) for rendering.
//! Lenient: every field optional, unknown fields ignored, so a summary of an older or newer
//! credbulk still renders; but a JSON file that is not a credbulk summary is refused.
//! Depends on nothing else in the crate.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// The fields of a run record that the rendered report shows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunRecordDoc {
    pub tool: Option<String>,
    pub version: Option<String>,
    pub run_id: Option<String>,
    pub command: Option<String>,
    pub command_line: Option<String>,
    pub note: Option<String>,
    pub user: Option<String>,
    pub host: Option<String>,
    pub input: Option<String>,
    pub input_sha256: Option<String>,
    pub report: Option<String>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration_seconds: Option<f64>,
    pub ending: Option<String>,
    pub exit_code: Option<i64>,
    pub abort_reason: Option<String>,
    pub hint: Option<String>,
    pub outcomes: BTreeMap<String, u64>,
    pub settled_earlier: Option<u64>,
    pub requests: Option<u64>,
    pub retries: Option<u64>,
    pub token_fetches: Option<u64>,
    pub achieved_rate: Option<f64>,
    pub latency_ms: Option<LatencyDoc>,
}

/// Request latency percentiles as the run measured them.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct LatencyDoc {
    pub p50: Option<u64>,
    pub p95: Option<u64>,
    pub p99: Option<u64>,
}

impl RunRecordDoc {
    /// Reads a summary file. Errors are fragments for "summary PATH: …".
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read(path).map_err(|e| format!("cannot read ({e})"))?;
        let doc: Self = serde_json::from_slice(&text)
            .map_err(|e| format!("is not a credbulk --summary-json file ({e})"))?;
        if doc.tool.as_deref() != Some("credbulk") {
            return Err("is not a credbulk --summary-json file (no \"tool\": \"credbulk\")".into());
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_reads_back_and_other_json_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("s.json");
        std::fs::write(
            &good,
            r#"{"tool":"credbulk","run_id":"r1","exit_code":1,"outcomes":{"enabled":3},"future":true}"#,
        )
        .unwrap();
        let doc = RunRecordDoc::read(&good).unwrap();
        assert_eq!(doc.run_id.as_deref(), Some("r1"));
        assert_eq!(doc.outcomes["enabled"], 3);
        let other = dir.path().join("o.json");
        std::fs::write(&other, r#"{"name":"x"}"#).unwrap();
        assert!(
            RunRecordDoc::read(&other)
                .unwrap_err()
                .contains("not a credbulk")
        );
        std::fs::write(&other, "id\n1\n").unwrap();
        assert!(RunRecordDoc::read(&other).is_err());
    }
}
