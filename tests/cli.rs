//! The real binary: exit codes, messages for bad input, the demo and the help text.

mod common;

use std::path::Path;

use assert_cmd::Command;
use credbulk::sim::{Credentials, SimConfig};
use predicates::prelude::*;

fn credbulk() -> Command {
    let mut cmd = Command::cargo_bin("credbulk").unwrap();
    cmd.env_remove("RUST_LOG")
        .env_remove("SENHASEGURA_URL")
        .env_remove("SENHASEGURA_CLIENT_ID")
        .env_remove("SENHASEGURA_CLIENT_SECRET");
    cmd
}

/// A simulator with `ids` disabled credentials, for the duration of a synchronous test.
fn start_sim(ids: u64) -> common::BlockingSim {
    common::BlockingSim::start(SimConfig {
        credentials: Credentials::generate(ids),
        ..SimConfig::default()
    })
}

fn enable(url: &str, input: &Path) -> Command {
    let mut cmd = credbulk();
    cmd.args([
        "enable",
        input.to_str().unwrap(),
        "--rate",
        "500",
        "--no-progress",
    ])
    .env("SENHASEGURA_URL", url)
    .env("SENHASEGURA_CLIENT_ID", "demo")
    .env("SENHASEGURA_CLIENT_SECRET", "demo-secret");
    cmd
}

fn no_panic() -> impl Predicate<str> {
    predicate::str::contains("panicked")
        .not()
        .and(predicate::str::contains("RUST_BACKTRACE").not())
}

#[test]
fn help_lists_the_commands() {
    credbulk().arg("--help").assert().success().stdout(
        predicate::str::contains("enable")
            .and(predicate::str::contains("disable"))
            .and(predicate::str::contains("check"))
            .and(predicate::str::contains("sim"))
            .and(predicate::str::contains("demo")),
    );
}

#[test]
fn the_secret_is_never_a_plain_flag() {
    credbulk()
        .args(["enable", "x.csv", "--client-secret", "s"])
        .assert()
        .code(2)
        .stderr(no_panic());
}

#[test]
fn bad_input_files_exit_2_with_one_clear_message() {
    let sim = start_sim(10);
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.csv", Vec::new(), "is empty"),
        ("blank.csv", b"\n\n  \n".to_vec(), "is empty"),
        (
            "nocol.csv",
            b"host,user\nweb,root\n".to_vec(),
            "no column \"id\"",
        ),
    ];
    for (name, content, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        enable(&sim.handle().url(), &path).assert().code(2).stderr(
            predicate::str::contains(expected)
                .and(predicate::str::contains("hint:"))
                .and(no_panic()),
        );
    }
    enable(&sim.handle().url(), &dir.path().join("missing.csv"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot open input").and(no_panic()));
    assert_eq!(
        sim.handle().stats().api_requests,
        0,
        "nothing is sent for unusable input"
    );
}

#[test]
fn undecodable_bytes_and_a_5_mb_line_become_invalid_input_rows() {
    let sim = start_sim(10);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd.csv");
    let mut content = b"id\n1\n\xff\xfe\xfd\n".to_vec();
    content.extend(std::iter::repeat_n(b'7', 5 * 1024 * 1024));
    content.extend(b"z\n2\n");
    std::fs::write(&path, content).unwrap();
    enable(&sim.handle().url(), &path)
        .assert()
        .code(1)
        .stderr(no_panic());
    let report = std::fs::read_to_string(dir.path().join("odd.enable.report.csv")).unwrap();
    let outcomes: Vec<&str> = report
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "invalid_input").count(),
        2
    );
    assert_eq!(outcomes.iter().filter(|o| **o == "enabled").count(), 2);
    assert!(
        report.len() < 10_000,
        "the huge cell is not copied into the report"
    );
}

#[test]
fn missing_settings_exit_2_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ids.csv");
    std::fs::write(&path, "id\n1\n").unwrap();
    credbulk()
        .args(["enable", path.to_str().unwrap()])
        .env("SENHASEGURA_CLIENT_ID", "demo")
        .env("SENHASEGURA_CLIENT_SECRET", "x")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("no appliance URL")
                .and(predicate::str::contains("SENHASEGURA_URL")),
        );
    credbulk()
        .args([
            "enable",
            path.to_str().unwrap(),
            "--url",
            "http://127.0.0.1:9",
        ])
        .env("SENHASEGURA_CLIENT_ID", "demo")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("SENHASEGURA_CLIENT_SECRET"));
    credbulk()
        .args([
            "enable",
            path.to_str().unwrap(),
            "--rate",
            "0",
            "--url",
            "http://127.0.0.1:9",
        ])
        .env("SENHASEGURA_CLIENT_ID", "demo")
        .env("SENHASEGURA_CLIENT_SECRET", "x")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--rate"));
}

#[test]
fn the_demo_exits_0_and_leaves_its_report() {
    let dir = tempfile::tempdir().unwrap();
    credbulk()
        .arg("demo")
        .current_dir(dir.path())
        .assert()
        .success()
        .stderr(predicate::str::contains("credbulk enable finished").and(no_panic()));
    let report = std::fs::read_to_string(dir.path().join("credbulk-demo.report.csv")).unwrap();
    let lines = report.lines().count();
    assert!(lines > 250, "{lines} report lines");
    for outcome in [
        "enabled",
        "already_enabled",
        "not_found",
        "no_access",
        "not_a_credential",
        "invalid_input",
        "duplicate",
    ] {
        assert!(
            report.contains(&format!(",{outcome},")),
            "the demo shows {outcome}"
        );
    }
}
