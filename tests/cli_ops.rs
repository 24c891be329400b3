//! The real binary in the places operators put it: every stderr line a JSON object under
//! `--log-format json` (logs, errors, the summary), shell completions and the man page, and a
//! config file found through `CREDBULK_CONFIG`.

mod common;

use std::path::Path;

use assert_cmd::Command;
use credbulk::sim::{Credentials, SimConfig};
use predicates::prelude::*;
use serde_json::Value;

/// The binary with no inherited settings and no config file from the developer's machine.
fn credbulk(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("credbulk").unwrap();
    cmd.env_remove("RUST_LOG")
        .env_remove("SENHASEGURA_URL")
        .env_remove("SENHASEGURA_CLIENT_ID")
        .env_remove("SENHASEGURA_CLIENT_SECRET")
        .env_remove("CREDBULK_CONFIG")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("xdg"));
    cmd
}

/// A simulator with `ids` disabled credentials, for the duration of a synchronous test.
fn start_sim(ids: u64) -> common::BlockingSim {
    common::BlockingSim::start(SimConfig {
        credentials: Credentials::generate(ids),
        ..SimConfig::default()
    })
}

/// Parses every stderr line as a JSON object, failing on the first that is not one.
fn json_lines(stderr: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(stderr);
    assert!(!text.trim().is_empty(), "something was logged");
    text.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\nall stderr:\n{text}"));
            assert!(v.is_object(), "{line}");
            v
        })
        .collect()
}

#[test]
fn every_stderr_line_is_a_json_object_under_log_format_json() {
    let sim = start_sim(10);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, "id\n1\n2\n999\nabc\n").unwrap();
    let output = credbulk(dir.path())
        .args([
            "enable",
            input.to_str().unwrap(),
            "--log-format",
            "json",
            "-vv",
            "--rate",
            "500",
            "--insecure",
        ])
        .env("SENHASEGURA_URL", sim.handle().url())
        .env("SENHASEGURA_CLIENT_ID", "demo")
        .env("SENHASEGURA_CLIENT_SECRET", "demo-secret")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "999 and abc fail");
    let lines = json_lines(&output.stderr);
    assert!(lines.len() > 3, "debug logs too: {}", lines.len());
    let summary = lines
        .iter()
        .find(|l| l["fields"]["message"] == "run summary")
        .expect("the summary is one JSON object");
    assert_eq!(summary["fields"]["outcomes"]["enabled"], 2);
    assert_eq!(summary["fields"]["outcomes"]["not_found"], 1);
    assert_eq!(summary["fields"]["exit_code"], 1);
    assert!(
        lines.iter().any(|l| l["level"] == "WARN"
            && l["fields"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("--insecure")),
        "the --insecure warning is there, as JSON"
    );
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(!text.contains("demo-secret"), "no secret at any level");
    assert!(output.stdout.is_empty());
}

#[test]
fn errors_are_json_too_from_a_bad_flag_to_a_refused_client() {
    let sim = start_sim(3);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, "id\n1\n").unwrap();
    let input = input.to_str().unwrap();
    let url = sim.handle().url();
    let cases: Vec<(Vec<&str>, &str, i32, &str)> = vec![
        (vec!["enable", input, "--bogus"], "x", 2, "--bogus"),
        (vec!["enable", input], "x", 2, "no appliance URL"),
        (
            vec!["enable", input, "--url", &url],
            "wrong",
            3,
            "rejected the client",
        ),
    ];
    for (args, secret, code, expected) in cases {
        let output = credbulk(dir.path())
            .args(&args)
            .args(["--log-format", "json", "--no-progress"])
            .env("SENHASEGURA_CLIENT_ID", "demo")
            .env("SENHASEGURA_CLIENT_SECRET", secret)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(code), "{args:?}");
        let lines = json_lines(&output.stderr);
        let error = lines
            .iter()
            .find(|l| l["level"] == "ERROR")
            .expect("an error line");
        let message = error["fields"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{args:?}: {message}");
        assert!(error["fields"]["hint"].is_string(), "{error}");
        std::fs::remove_file(dir.path().join("ids.enable.report.csv")).ok();
    }
}

#[test]
fn completions_are_printed_for_every_shell_and_the_man_page_is_roff() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        credbulk(dir.path())
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(
                predicate::str::contains("from-report")
                    .and(predicate::function(|s: &str| s.len() > 1000)),
            );
    }
    credbulk(dir.path())
        .args(["completions", "tcsh"])
        .assert()
        .code(2);
    credbulk(dir.path())
        .arg("man")
        .assert()
        .success()
        .stdout(predicate::str::contains(".TH credbulk").and(predicate::str::contains("disable")));
}

#[test]
fn a_config_file_named_by_credbulk_config_is_read_and_shown_by_check() {
    let sim = start_sim(3);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "demo-secret\n").unwrap();
    let config = dir.path().join("credbulk.toml");
    std::fs::write(
        &config,
        format!(
            "url = \"{}\"\nclient-id = \"demo\"\nclient-secret-file = \"secret\"\nrate = 4\n",
            sim.handle().url()
        ),
    )
    .unwrap();
    credbulk(dir.path())
        .args(["check", "--rate", "2"])
        .env("CREDBULK_CONFIG", &config)
        .assert()
        .success()
        .stdout(
            predicate::str::contains(format!("config file        {}", config.display()))
                .and(predicate::str::is_match(r"rate\s+2\s+\(flag\)").unwrap())
                .and(predicate::str::is_match(r"client-id\s+demo\s+\(file ").unwrap())
                .and(predicate::str::contains("demo-secret").not()),
        );
    std::fs::write(&config, "client-secret = \"demo-secret\"\n").unwrap();
    credbulk(dir.path())
        .arg("check")
        .env("CREDBULK_CONFIG", &config)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("client-secret-file")
                .and(predicate::str::contains("demo-secret").not()),
        );
}
