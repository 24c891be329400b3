//! The report file as evidence (issue 8 items 2 and 5, issue 9 item 8): a report belongs to one
//! operation, default paths of enable and disable never collide, a file that is not a report
//! is never touched by `--resume` or `--from-report`, and a report that cannot be written aborts
//! the run with a summary that counts exactly the rows in the file.

mod common;

use std::process::Stdio;

use common::{BlockingSim, Harness, exit_code, id_list, rows};
use credbulk::sim::{Credentials, SimConfig};

async fn harness(ids: u64) -> Harness {
    Harness::start(SimConfig {
        credentials: Credentials::generate(ids),
        ..SimConfig::default()
    })
    .await
}

#[tokio::test]
async fn enable_and_disable_of_one_input_write_two_reports() {
    let h = harness(3).await;
    let input = h.file("ids.csv", id_list(1..=3));
    assert_eq!(
        exit_code(&h.run("enable", &input, &["--rate", "500"]).await),
        0
    );
    assert_eq!(
        exit_code(&h.run("disable", &input, &["--rate", "500"]).await),
        0
    );
    let enabled = rows(&h.dir.path().join("ids.enable.report.csv"));
    let disabled = rows(&h.dir.path().join("ids.disable.report.csv"));
    assert!(
        enabled
            .iter()
            .all(|r| r.outcome == "enabled" && r.run_id.starts_with("enable-"))
    );
    assert!(
        disabled
            .iter()
            .all(|r| r.outcome == "disabled" && r.run_id.starts_with("disable-"))
    );
    assert_eq!((enabled.len(), disabled.len()), (3, 3));
}

#[tokio::test]
async fn resuming_a_report_of_the_other_operation_is_refused_before_anything_is_sent() {
    let h = harness(4).await;
    let input = h.file("ids.csv", id_list(1..=4));
    let report = h.dir.path().join("ids.enable.report.csv");
    let report_arg = report.to_str().unwrap();
    let first = h
        .run("enable", &input, &["--rate", "500", "--report", report_arg])
        .await;
    assert_eq!(exit_code(&first), 0);
    let before = std::fs::read(&report).unwrap();
    let sent = h.sim.stats().api_requests;
    let result = h
        .run("disable", &input, &["--resume", "--report", report_arg])
        .await;
    assert_eq!(exit_code(&result), 2);
    let err = result.unwrap_err().to_string();
    assert!(err.contains("written by `credbulk enable`"), "{err}");
    assert!(
        err.contains("--from-report"),
        "the hint names the rollback: {err}"
    );
    assert_eq!(h.sim.stats().api_requests, sent, "nothing sent");
    assert_eq!(std::fs::read(&report).unwrap(), before, "report untouched");
    assert!((1..=4).all(|id| h.sim.credential(id).unwrap().active));
}

#[tokio::test]
async fn a_report_with_only_neutral_rows_still_names_its_operation() {
    let h = harness(0).await;
    // Ids the appliance does not know: every row is `not_found`, which names no operation.
    let input = h.file("ids.csv", id_list(900..=902));
    let report = h.dir.path().join("ids.enable.report.csv");
    assert_eq!(
        exit_code(&h.run("enable", &input, &["--rate", "500"]).await),
        1
    );
    let report_arg = report.to_str().unwrap();
    let result = h
        .run("disable", &input, &["--resume", "--report", report_arg])
        .await;
    assert_eq!(exit_code(&result), 2, "{result:?}");
    // A dry run says the same.
    let result = h
        .run(
            "disable",
            &input,
            &["--resume", "--dry-run", "--report", report_arg],
        )
        .await;
    assert_eq!(exit_code(&result), 2, "{result:?}");
}

#[tokio::test]
async fn resume_and_from_report_leave_a_file_that_is_not_a_report_byte_for_byte() {
    let h = harness(3).await;
    let input = h.file("ids.csv", id_list(1..=3));
    let cases: [(&str, &[u8]); 4] = [
        ("x.txt", b"precious data"),
        ("x.jsonl", b"{\"a\":1}"),
        ("y.csv", b"line,id\nprecious"),
        ("z.jsonl", b"{\"line\":1}\nprecious"),
    ];
    for (name, content) in cases {
        let path = h.file(name, content);
        let arg = path.to_str().unwrap();
        let result = h
            .run("enable", &input, &["--resume", "--report", arg])
            .await;
        assert_eq!(exit_code(&result), 2, "{name}: {result:?}");
        assert!(
            result.unwrap_err().to_string().contains("not a credbulk"),
            "{name}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), content, "{name} untouched");
        let mut words = vec!["credbulk", "disable", "--from-report", arg];
        let conn = h.connection_args();
        words.extend(conn.iter().map(String::as_str));
        words.extend(["--no-config", "--no-progress"]);
        let cli = <credbulk::cli::Cli as clap::Parser>::try_parse_from(words).unwrap();
        let result = credbulk::app::execute(
            cli.command,
            std::sync::Arc::new(credbulk::control::Control::new()),
        )
        .await;
        assert_eq!(exit_code(&result), 2, "{name}: {result:?}");
        assert_eq!(std::fs::read(&path).unwrap(), content, "{name} untouched");
    }
    assert_eq!(h.sim.stats().api_requests, 0);
}

#[test]
fn a_report_that_cannot_be_written_aborts_and_the_summary_counts_the_rows_in_it() {
    let sim = BlockingSim::start(SimConfig {
        credentials: Credentials::generate(300),
        ..SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=300)).unwrap();
    let report = dir.path().join("ids.enable.report.csv");
    // A file size limit stands in for a full disk: writes past it fail with EFBIG (SIGXFSZ is
    // ignored, and that disposition survives exec).
    let credbulk = assert_cmd::cargo::cargo_bin!("credbulk");
    let script = format!(
        "trap '' XFSZ; exec prlimit --fsize=6000 {} enable {} --report {} --rate 3000 --concurrency 8 --no-progress",
        credbulk.display(),
        input.display(),
        report.display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .env_remove("RUST_LOG")
        .env("SENHASEGURA_URL", sim.handle().url())
        .env("SENHASEGURA_CLIENT_ID", "demo")
        .env("SENHASEGURA_CLIENT_SECRET", "demo-secret")
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("could not be written"), "{stderr}");
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.ends_with('\n'), "no partial row is left");
    let in_file = rows(&report).len();
    assert!(in_file > 10 && in_file < 300, "{in_file} rows");
    let decided: usize = stderr
        .split(" records decided")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the summary's count");
    assert_eq!(decided, in_file, "{stderr}");
}

/// A report of an earlier version: default name `<stem>.report.csv`, run ids without the
/// operation.
const OLD_REPORT: &str = "line,id,outcome,http_status,api_code,message,attempts,elapsed_ms,finished_at,run_id
2,1,enabled,200,,Credential successfully activated,1,15,2026-11-26T23:39:44.432Z,20261126T233944Z-5de236
3,2,enabled,200,,Credential successfully activated,1,15,2026-11-26T23:39:44.433Z,20261126T233944Z-5de236
4,3,timeout,,,no answer within 30 s,5,900,2026-11-26T23:39:45.433Z,20261126T233944Z-5de236
";

#[tokio::test]
async fn resume_without_report_refuses_to_start_over_beside_a_report_of_an_earlier_version() {
    // 1 and 2 were enabled by the earlier run.
    let mut credentials = Credentials::generate(4);
    for id in [1, 2] {
        credentials.insert(
            id,
            credbulk::sim::Credential {
                active: true,
                ..credbulk::sim::Credential::disabled()
            },
        );
    }
    let h = Harness::start(SimConfig {
        credentials,
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=4));
    let old = h.file("ids.report.csv", OLD_REPORT);
    let result = h
        .run("enable", &input, &["--rate", "500", "--resume"])
        .await;
    assert_eq!(exit_code(&result), 2, "{result:?}");
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains(&format!("--report {}", old.display())),
        "{err}"
    );
    assert_eq!(h.sim.stats().api_requests, 0, "nothing sent");
    assert!(!h.dir.path().join("ids.enable.report.csv").exists());
    // The hint, followed: the old report resumes, only 3 and 4 are sent.
    let arg = old.to_str().unwrap();
    let result = h
        .run(
            "enable",
            &input,
            &["--rate", "500", "--resume", "--report", arg],
        )
        .await;
    assert_eq!(exit_code(&result), 0, "{result:?}");
    assert_eq!(h.sim.stats().api_requests, 2);
    let rows = rows(&old);
    assert_eq!(rows.len(), 5);
    assert!(
        rows[3..]
            .iter()
            .all(|r| r.outcome == "enabled" && r.run_id.starts_with("enable-"))
    );
    assert!((1..=4).all(|id| h.sim.credential(id).unwrap().active));
}
