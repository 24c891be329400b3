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

#[test]
fn with_stdin_as_input_the_resume_advice_says_to_pipe_the_same_input_again() {
    let sim = common::BlockingSim::start(SimConfig {
        credentials: Credentials::generate(30),
        faults: credbulk::sim::Faults {
            gateway_timeout: 0.5,
            ..credbulk::sim::Faults::default()
        },
        seed: 7,
        ..SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let ids = (1..=30)
        .map(|i: u32| i.to_string() + "\n")
        .collect::<String>();
    let output = credbulk(dir.path())
        .current_dir(dir.path())
        .args([
            "enable",
            "-",
            "--rate",
            "500",
            "--max-attempts",
            "1",
            "--no-progress",
            "--note",
            "CHG - 7",
        ])
        .env("SENHASEGURA_URL", sim.handle().url())
        .env("SENHASEGURA_CLIENT_ID", "demo")
        .env("SENHASEGURA_CLIENT_SECRET", "demo-secret")
        .write_stdin(ids.clone())
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let next = stderr
        .lines()
        .find(|l| l.starts_with("next:"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(next.contains("pipe the same input into it again"), "{next}");
    assert!(
        next.ends_with("| credbulk enable - --rate 500 --max-attempts 1 --no-progress --note 'CHG - 7' --resume"),
        "{next}"
    );
    // Following the advice (the appliance back to health) finishes every id.
    drop(sim);
    let sim = start_sim(30);
    credbulk(dir.path())
        .current_dir(dir.path())
        .args([
            "enable",
            "-",
            "--rate",
            "500",
            "--max-attempts",
            "1",
            "--no-progress",
            "--note",
            "CHG - 7",
            "--resume",
        ])
        .env("SENHASEGURA_URL", sim.handle().url())
        .env("SENHASEGURA_CLIENT_ID", "demo")
        .env("SENHASEGURA_CLIENT_SECRET", "demo-secret")
        .write_stdin(ids)
        .assert()
        .code(0);
    let last = common::last_rows(&dir.path().join("credbulk-stdin.enable.report.csv"));
    assert_eq!(last.len(), 30, "{last:?}");
    assert!(last.values().all(|r| r.outcome == "enabled"), "{last:?}");
}

/// Runs `credbulk enable` of 40 ids (about 1 s) with stdout and stderr on a pseudo-terminal
/// (`script`), `TERM` set to `term`; what the terminal got, or `None` without `script`.
#[cfg(unix)]
fn enable_on_a_terminal(term: &str) -> Option<String> {
    let sim = start_sim(40);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ids.csv"), common::id_list(1..=40)).unwrap();
    let bin = assert_cmd::cargo::cargo_bin!("credbulk");
    let line = format!(
        "{} enable ids.csv --rate 40 --no-config --yes",
        bin.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env("TERM", term)
        .env("SENHASEGURA_URL", sim.handle().url())
        .env("SENHASEGURA_CLIENT_ID", "demo")
        .env("SENHASEGURA_CLIENT_SECRET", "demo-secret")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{out:?}\n{text}");
    assert!(text.contains("every id succeeded"), "{text}");
    Some(text)
}

#[cfg(unix)]
#[test]
fn the_progress_bar_is_drawn_on_a_terminal_but_not_on_a_dumb_one_nor_without_one() {
    /// The bar erases its row with this before each redraw.
    const ERASE: &str = "\r\u{1b}[J";
    let Some(xterm) = enable_on_a_terminal("xterm") else {
        return;
    };
    assert!(xterm.contains(ERASE) && xterm.contains("/40"), "{xterm:?}");
    let dumb = enable_on_a_terminal("dumb").unwrap();
    assert!(!dumb.contains(ERASE) && !dumb.contains("/40 "), "{dumb:?}");
    // No terminal at all: nothing of the bar on stderr.
    let sim = start_sim(40);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ids.csv"), common::id_list(1..=40)).unwrap();
    let out = credbulk(dir.path())
        .current_dir(dir.path())
        .args(["enable", "ids.csv", "--rate", "40", "--no-config"])
        .env("TERM", "xterm")
        .env("SENHASEGURA_URL", sim.handle().url())
        .env("SENHASEGURA_CLIENT_ID", "demo")
        .env("SENHASEGURA_CLIENT_SECRET", "demo-secret")
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains("/40 "),
        "{stderr:?}"
    );
}

#[cfg(unix)]
#[test]
fn a_second_signal_leaves_no_progress_bar_under_the_shell_prompt() {
    let sim = common::BlockingSim::start(SimConfig {
        credentials: Credentials::generate(200),
        latency: std::time::Duration::from_secs(3),
        ..SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ids.csv"), common::id_list(1..=200)).unwrap();
    let bin = assert_cmd::cargo::cargo_bin!("credbulk");
    // The shell writes its pid and becomes credbulk, so the signals reach credbulk itself.
    let line = format!(
        "echo $$ > pid; exec {} enable ids.csv --rate 100 --concurrency 4 --no-config --yes",
        bin.display()
    );
    let Ok(child) = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env("TERM", "xterm")
        .env("SENHASEGURA_URL", sim.handle().url())
        .env("SENHASEGURA_CLIENT_ID", "demo")
        .env("SENHASEGURA_CLIENT_SECRET", "demo-secret")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
    else {
        return;
    };
    let pid_file = dir.path().join("pid");
    let mut pid = String::new();
    for _ in 0..200 {
        pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
        if !pid.trim().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Let the bar draw (it ticks every 200 ms) while the first requests are in flight.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    for _ in 0..2 {
        let killed = std::process::Command::new("kill")
            .args(["-TERM", pid.trim()])
            .status()
            .unwrap();
        assert!(killed.success());
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let last = text
        .rfind("exiting now")
        .unwrap_or_else(|| panic!("{text:?}"));
    let after = &text[last..];
    assert!(text[..last].contains("/200"), "the bar was drawn: {text:?}");
    assert!(
        !after.contains("/200"),
        "the bar was drawn again after the last line: {after:?}"
    );
}
