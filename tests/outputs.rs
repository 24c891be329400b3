//! `--summary-json` and `--metrics-file` against the simulator: the fields an auditor and a
//! cron monitor need, for finished, aborted and refused runs alike.

mod common;

use common::{Harness, exit_code, id_list, rows};
use credbulk::sim::{Credentials, SimConfig};
use serde_json::Value;

/// The value of the metrics-file sample whose series is exactly `series`.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .parse()
        .unwrap()
}

/// What a run left besides its report: its exit code, the summary file's text and the
/// metrics file's text.
struct Files {
    code: u8,
    summary: String,
    metrics: String,
}

/// Runs `command` on `input` with `extra` flags plus `--summary-json` and `--metrics-file`.
async fn run_with_files(
    h: &Harness,
    command: &str,
    input: &std::path::Path,
    extra: &[&str],
) -> Files {
    let summary = h.dir.path().join("summary.json");
    let metrics = h.dir.path().join("credbulk.prom");
    let mut flags = extra.to_vec();
    flags.extend([
        "--summary-json",
        summary.to_str().unwrap(),
        "--metrics-file",
        metrics.to_str().unwrap(),
    ]);
    let result = h.run(command, input, &flags).await;
    Files {
        code: exit_code(&result),
        summary: std::fs::read_to_string(&summary).unwrap(),
        metrics: std::fs::read_to_string(&metrics).unwrap(),
    }
}

#[tokio::test]
async fn the_summary_and_metrics_files_hold_the_whole_run() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(8),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list([1, 2, 3, 4, 5, 999]));
    let files = run_with_files(
        &h,
        "enable",
        &input,
        &["--rate", "500", "--note", "CHG-4711 audit remediation"],
    )
    .await;
    assert_eq!(files.code, 1);
    let s: Value = serde_json::from_str(&files.summary).unwrap();
    let report_rows = rows(&h.dir.path().join("ids.enable.report.csv"));
    assert!(
        report_rows.iter().all(|r| r.run_id == s["run_id"]),
        "run_id ties rows to the summary"
    );
    assert_eq!(s["tool"], "credbulk");
    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(s["command"], "enable");
    assert_eq!(s["note"], "CHG-4711 audit remediation");
    assert_eq!(s["input"], input.display().to_string());
    assert_eq!(
        s["input_sha256"],
        credbulk::outputs::sha256_file(&input).unwrap()
    );
    assert!(s["user"].is_string() && s["host"].is_string(), "{s}");
    assert!(s["started_at"].as_str().unwrap() <= s["ended_at"].as_str().unwrap());
    assert_eq!(s["ending"], "finished");
    assert_eq!(s["exit_code"], 1);
    assert!(s["abort_reason"].is_null());
    assert_eq!(s["outcomes"]["enabled"], 5);
    assert_eq!(s["outcomes"]["not_found"], 1);
    assert!(
        s["outcome_hints"]["not_found"]
            .as_str()
            .unwrap()
            .contains("credential list")
    );
    assert_eq!(s["requests"], 6);
    assert_eq!(s["retries"], 0);
    assert_eq!(s["token_fetches"], 1);
    assert!(s["achieved_rate"].as_f64().unwrap() > 0.0);
    for p in ["p50", "p95", "p99"] {
        assert!(s["latency_ms"][p].is_u64(), "{p}: {s}");
    }

    let m = files.metrics;
    assert!(
        sample(
            &m,
            "credbulk_last_run_timestamp_seconds{command=\"enable\"}"
        ) > 1.0e9
    );
    assert!(
        (sample(
            &m,
            "credbulk_ids_total{command=\"enable\",outcome=\"enabled\"}"
        ) - 5.0)
            .abs()
            < f64::EPSILON
    );
    assert!(
        (sample(
            &m,
            "credbulk_ids_total{command=\"enable\",outcome=\"not_found\"}"
        ) - 1.0)
            .abs()
            < f64::EPSILON
    );
    assert!(sample(&m, "credbulk_run_duration_seconds{command=\"enable\"}") >= 0.0);
    assert!((sample(&m, "credbulk_exit_code{command=\"enable\"}") - 1.0).abs() < f64::EPSILON);
    let leftovers = std::fs::read_dir(h.dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert_eq!(leftovers, 0, "written atomically, no temporary left");
}

#[tokio::test]
async fn an_aborted_run_still_writes_both_files_with_the_reason_and_hint() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(50),
        read_only: true,
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=50));
    let files = run_with_files(&h, "enable", &input, &["--rate", "500"]).await;
    assert_eq!(files.code, 3);
    let s: Value = serde_json::from_str(&files.summary).unwrap();
    assert_eq!(s["ending"], "aborted");
    assert_eq!(s["exit_code"], 3);
    assert!(s["abort_reason"].as_str().unwrap().contains("1039"), "{s}");
    assert!(
        s["hint"].as_str().unwrap().contains("read and write"),
        "{s}"
    );
    assert!(s["outcomes"]["forbidden"].as_u64().unwrap() >= 1);
    let m = files.metrics;
    assert!((sample(&m, "credbulk_exit_code{command=\"enable\"}") - 3.0).abs() < f64::EPSILON);
}

#[tokio::test]
async fn a_run_refused_at_its_first_token_still_writes_both_files() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(5),
        ..SimConfig::default()
    })
    .await;
    std::fs::write(&h.secret_file, "wrong-secret\n").unwrap();
    let input = h.file("ids.csv", id_list(1..=5));
    let files = run_with_files(&h, "disable", &input, &[]).await;
    assert_eq!(files.code, 3);
    let s: Value = serde_json::from_str(&files.summary).unwrap();
    assert_eq!(
        (s["command"].as_str(), s["ending"].as_str()),
        (Some("disable"), Some("aborted"))
    );
    assert!(
        s["abort_reason"]
            .as_str()
            .unwrap()
            .contains("rejected the client")
    );
    assert!(
        s["hint"]
            .as_str()
            .unwrap()
            .contains("SENHASEGURA_CLIENT_ID")
    );
    let text = files.summary;
    assert!(!text.contains("wrong-secret"), "no secret in the summary");
    let m = files.metrics;
    assert!((sample(&m, "credbulk_exit_code{command=\"disable\"}") - 3.0).abs() < f64::EPSILON);
    assert!(m.contains("outcome=\"disabled\"") && !m.contains("outcome=\"enabled\""));
}

#[tokio::test]
async fn an_output_folder_that_does_not_exist_is_a_usage_error_before_the_run() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(5),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=5));
    let missing = h.dir.path().join("no/such/dir/m.prom");
    let result = h
        .run(
            "enable",
            &input,
            &["--metrics-file", missing.to_str().unwrap()],
        )
        .await;
    assert_eq!(exit_code(&result), 2);
    assert!(result.unwrap_err().to_string().contains("does not exist"));
    assert_eq!(h.sim.stats().total_requests, 0);
}

#[tokio::test]
async fn a_run_refused_on_an_existing_report_writes_both_files_with_exit_code_2() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(5),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=5));
    let first = run_with_files(&h, "enable", &input, &[]).await;
    assert_eq!(first.code, 0);
    assert!(
        (sample(&first.metrics, "credbulk_exit_code{command=\"enable\"}")).abs() < f64::EPSILON
    );
    // The same command again (cron's second run of the day): the report holds rows.
    let second = run_with_files(&h, "enable", &input, &[]).await;
    assert_eq!(second.code, 2);
    let s: Value = serde_json::from_str(&second.summary).unwrap();
    assert_eq!(
        (s["exit_code"].as_u64(), s["ending"].as_str()),
        (Some(2), Some("error"))
    );
    assert!(
        s["abort_reason"].as_str().unwrap().contains("holds rows"),
        "{s}"
    );
    assert!(s["hint"].as_str().unwrap().contains("--resume"), "{s}");
    assert!(
        (sample(&second.metrics, "credbulk_exit_code{command=\"enable\"}") - 2.0).abs()
            < f64::EPSILON,
        "the metrics no longer show the first run's 0:\n{}",
        second.metrics
    );
    assert_eq!(
        h.sim.stats().total_requests,
        6,
        "the refused run sent nothing: the first run's token fetch and 5 ids only"
    );
}

#[tokio::test]
async fn a_run_refused_on_a_report_locked_by_a_running_job_leaves_that_jobs_files_alone() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(5),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=5));
    let report = h.dir.path().join("ids.enable.report.csv");
    // The running job: it owns the report and will write these files at its end.
    let _running = credbulk::report::ReportLock::acquire(&report).unwrap();
    let summary = h.file("summary.json", "{\"run_id\": \"running-job\"}\n");
    let metrics = h.file(
        "credbulk.prom",
        "credbulk_exit_code{command=\"enable\"} 0\n",
    );
    let result = h
        .run(
            "enable",
            &input,
            &[
                "--summary-json",
                summary.to_str().unwrap(),
                "--metrics-file",
                metrics.to_str().unwrap(),
            ],
        )
        .await;
    assert_eq!(exit_code(&result), 2);
    assert!(result.unwrap_err().to_string().contains("locked"));
    assert_eq!(
        std::fs::read_to_string(&summary).unwrap(),
        "{\"run_id\": \"running-job\"}\n"
    );
    assert_eq!(
        std::fs::read_to_string(&metrics).unwrap(),
        "credbulk_exit_code{command=\"enable\"} 0\n"
    );
}
