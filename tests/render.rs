//! `credbulk report` end to end: runs against the simulator, then their reports and summaries
//! rendered as HTML and Markdown. Checks what an auditor reads (counts, run record, failures)
//! and what must never happen (markup or formulas from a cell taking effect, an input
//! overwritten, a panic on a file that is not a report).

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Parser;
use common::{Harness, exit_code, id_list};
use credbulk::app::{Completed, execute};
use credbulk::cli::Cli;
use credbulk::error::Error;
use credbulk::report::CSV_HEADER;
use credbulk::sim::{Credentials, SimConfig};

/// Runs `credbulk report ARGS…` in-process.
async fn report(args: &[&str]) -> Result<Completed, Error> {
    let mut words = vec!["credbulk", "report"];
    words.extend(args);
    let cli = Cli::try_parse_from(words).expect("arguments parse");
    execute(cli.command, Arc::default()).await
}

/// Renders to `out` and returns the document.
async fn render(inputs: &[&Path], extra: &[&str], out: &Path) -> String {
    let mut args: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args.extend(["-o".to_owned(), out.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(exit_code(&report(&args).await), 0);
    std::fs::read_to_string(out).unwrap()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test]
async fn a_run_and_its_resume_render_as_one_document_with_both_run_records() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(20),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list((1..=20).chain([999, 5])));
    let report_path = h.dir.path().join("ids.enable.report.csv");
    let (s1, s2) = (
        h.dir.path().join("run1.json"),
        h.dir.path().join("run2.json"),
    );
    // The first run meets an appliance that answers 500 `Unexpected error.` to everything:
    // the appliance is up, so every id fails after its one attempt.
    h.sim.set_failing(true);
    let first = [
        "--rate",
        "500",
        "--max-attempts",
        "1",
        "--note",
        "CHG-7 | <b>x</b>",
    ];
    let first: Vec<&str> = first
        .iter()
        .copied()
        .chain(["--summary-json", path_str(&s1)])
        .collect();
    assert_eq!(exit_code(&h.run("enable", &input, &first).await), 1);
    h.sim.set_failing(false);
    let resume = ["--rate", "500", "--resume", "--summary-json", path_str(&s2)];
    assert_eq!(exit_code(&h.run("enable", &input, &resume).await), 1);

    let html_path = h.dir.path().join("run.html");
    let summaries = ["--summary", path_str(&s1), "--summary", path_str(&s2)];
    let mut flags = summaries.to_vec();
    flags.extend(["--format", "html"]);
    let page = render(&[&report_path], &flags, &html_path).await;
    // 20 enabled, 999 not found, a duplicate of 5: as the resumed report reads, not as the
    // first run's server errors did.
    assert!(page.contains(r#"id="count-records"><b>22</b>"#), "{page}");
    assert!(page.contains(r#"id="count-succeeded"><b>20</b>"#));
    assert!(page.contains(r#"id="count-failed"><b>1</b>"#));
    assert!(page.contains(r#"<tr id="outcome-not_found"><td>not_found</td><td class="n">1</td>"#));
    assert!(
        !page.contains("outcome-server_error"),
        "superseded rows do not count"
    );
    assert!(page.contains("1007: Credential not found"));
    for (key, summary) in [("s1", &s1), ("s2", &s2)] {
        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(summary).unwrap()).unwrap();
        for field in [
            "run_id",
            "user",
            "host",
            "input_sha256",
            "started_at",
            "ended_at",
        ] {
            let value = record[field].as_str().unwrap();
            assert!(page.contains(value), "{key} {field} {value} is on the page");
        }
    }
    assert!(
        page.contains("CHG-7 | &lt;b&gt;x&lt;/b&gt;"),
        "the note is escaped"
    );
    assert!(page.contains("<svg"), "the timeline is drawn");
    assert!(
        page.contains(" failed transiently"),
        "the first run is on the timeline"
    );
    for fetch in [
        "<script", "src=", "href=", "<link", "@import", "url(", "http://", "https://",
    ] {
        assert!(!page.contains(fetch), "the page is self-contained: {fetch}");
    }

    let md_path = h.dir.path().join("run.md");
    let mut flags = summaries.to_vec();
    flags.extend(["--format", "md"]);
    let doc = render(&[&report_path], &flags, &md_path).await;
    assert!(doc.contains("| not\\_found | 1 | failure |"), "{doc}");
    assert!(
        doc.contains("| note | CHG-7 \\| \\<b\\>x\\</b\\> |"),
        "pipes are escaped"
    );
    assert!(doc.contains("22 records: 20 succeeded, 1 failed, 1 duplicate lines"));
}

#[tokio::test]
async fn the_reports_of_two_shards_render_as_the_whole_input() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(40),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=40));
    let mut reports: Vec<PathBuf> = Vec::new();
    for k in 0..2 {
        let path = h.dir.path().join(format!("ids.shard-{k}.report.csv"));
        let shard = format!("{k}/2");
        let flags = [
            "--rate",
            "500",
            "--shard",
            &shard,
            "--report",
            path_str(&path),
        ];
        assert_eq!(exit_code(&h.run("enable", &input, &flags).await), 0);
        reports.push(path);
    }
    let out = h.dir.path().join("all.md");
    let inputs: Vec<&Path> = reports.iter().map(PathBuf::as_path).collect();
    let doc = render(&inputs, &["--format", "md"], &out).await;
    assert!(doc.contains("| enabled | 40 | success |"), "{doc}");
    assert!(doc.contains("| **total** | **40** |"));
}

#[tokio::test]
async fn cells_from_the_appliance_never_take_effect_as_markup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.csv");
    let hostile = "\"<img src=x onerror=alert(1)> | [link](http://e.x) **b**\"";
    std::fs::write(
        &path,
        format!(
            "{CSV_HEADER}\n2,7,rejected,400,1234,{hostile},1,5,2026-11-26T12:00:00.000Z,r<1>\n"
        ),
    )
    .unwrap();
    let page = render(&[&path], &["--format", "html"], &dir.path().join("p.html")).await;
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!page.contains("<img"));
    assert!(page.contains("r&lt;1&gt;"));
    let doc = render(&[&path], &["--format", "md"], &dir.path().join("p.md")).await;
    assert!(
        doc.contains("\\<img src=x onerror=alert(1)\\> \\| \\[link\\](http://e.x) \\*\\*b\\*\\*"),
        "{doc}"
    );
}

#[tokio::test]
async fn bad_inputs_exit_2_with_a_hint_and_no_input_is_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let ids = dir.path().join("ids.csv");
    std::fs::write(&ids, "id\n1\n").unwrap();
    let err = report(&[path_str(&ids), "--format", "html"])
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("not a credbulk report"), "{err}");
    assert!(err.to_string().contains("hint:"));

    let good = dir.path().join("r.csv");
    std::fs::write(
        &good,
        format!("{CSV_HEADER}\n2,1,enabled,200,,ok,1,5,t,r\n"),
    )
    .unwrap();
    let before = std::fs::read(&good).unwrap();
    let err = report(&[path_str(&good), "--format", "md", "-o", path_str(&good)])
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("would overwrite"), "{err}");
    assert_eq!(std::fs::read(&good).unwrap(), before);

    let err = report(&[
        path_str(&good),
        "--summary",
        path_str(&ids),
        "--format",
        "md",
    ])
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("--summary-json"), "{err}");
    let missing = dir.path().join("missing.csv");
    let err = report(&[path_str(&missing), "--format", "md"])
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 2);
}

/// The page's words for a shell command, HTML entities undone.
fn unescape_html(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn the_grep_the_page_gives_for_unlisted_rows_finds_every_one_in_csv_and_jsonl_reports() {
    let dir = tempfile::tempdir().unwrap();
    let t = "2026-11-26T12:00:00.000Z";
    let csv_path = dir.path().join("shard 0.report.csv");
    let mut csv = format!("{CSV_HEADER}\n");
    for i in 1..=30u64 {
        writeln!(csv, "{},{i},rejected,400,1234,no,1,5,{t},r1", i + 1).unwrap();
    }
    std::fs::write(&csv_path, csv).unwrap();
    let jsonl_path = dir.path().join("shard-1.report.jsonl");
    let mut jsonl = String::new();
    for i in 31..=60u64 {
        let row = serde_json::json!({
            "line": i + 1, "id": i.to_string(), "outcome": "rejected", "http_status": 400,
            "api_code": 1234, "message": "no", "attempts": 1, "elapsed_ms": 5,
            "finished_at": t, "run_id": "r2"
        });
        writeln!(jsonl, "{row}").unwrap();
    }
    std::fs::write(&jsonl_path, jsonl).unwrap();
    let page = render(
        &[&csv_path, &jsonl_path],
        &["--format", "html"],
        &dir.path().join("p.html"),
    )
    .await;
    let note = page
        .split("<p class=\"note\">")
        .find(|s| s.contains("grep"))
        .expect("the page says how to find the rows it does not list");
    let note = unescape_html(&note[..note.find("</p>").unwrap()]);
    let command = &note[note.find("grep").unwrap()..];
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let lines = String::from_utf8(found.stdout).unwrap();
    assert_eq!(lines.lines().count(), 60, "{command}\n{lines}");
}

#[test]
fn a_reader_that_stops_early_ends_the_document_quietly_without_a_panic() {
    // `credbulk report … --format md | head -5`, as the README shows, with a document longer
    // than a pipe holds: the reader is gone before credbulk writes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.csv");
    let mut text = format!("{CSV_HEADER}\n");
    for i in 1..=2000u64 {
        let message = format!("refused {i} {}", "x".repeat(300));
        writeln!(
            text,
            "{},{i},rejected,400,{},{message},1,5,2026-11-26T12:00:00.000Z,r",
            i + 1,
            1000 + i % 40
        )
        .unwrap();
    }
    std::fs::write(&path, text).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_credbulk"))
        .args(["report", path_str(&path), "--format", "html"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");

    // A stdout that cannot take the document (a full disk) is an error, not a quiet success.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_credbulk"))
        .args(["report", path_str(&path), "--format", "md"])
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write to stdout"), "{stderr}");
}
