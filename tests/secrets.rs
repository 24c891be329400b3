//! Invariant 5: no secret or token appears in stdout, stderr (at any log level), the report or
//! the summary, on success, failure and abort paths alike.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{BlockingSim, binary, id_list};
use credbulk::sim::{Credentials, Faults, SimConfig};

const SECRET: &str = "Zebra-S3cret-0f9c";

/// Every output a command leaves: its stdout and stderr, and every file in `dir`.
fn outputs(out: &std::process::Output, dir: &Path) -> Vec<(String, String)> {
    let mut all = vec![
        (
            "stdout".to_owned(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ),
        (
            "stderr".to_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
    ];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n == "secret") {
            continue;
        }
        if let Ok(text) = std::fs::read(&path) {
            all.push((
                path.display().to_string(),
                String::from_utf8_lossy(&text).into_owned(),
            ));
        }
    }
    all
}

fn assert_clean(what: &str, outputs: &[(String, String)], tokens: &[String]) {
    for (name, text) in outputs {
        assert!(
            !text.contains(SECRET),
            "{what}: the client secret appears in {name}"
        );
        for token in tokens {
            assert!(
                !text.contains(token.as_str()),
                "{what}: an issued token appears in {name}"
            );
            // Any fragment of a token is a leak too.
            assert!(
                !text.contains(&token[token.len() - 24..]),
                "{what}: a token fragment appears in {name}"
            );
        }
        assert!(
            !text.contains("Bearer "),
            "{what}: an Authorization header appears in {name}"
        );
    }
}

/// A simulator with the test secret, short-lived tokens and faults, plus an input file.
fn setup() -> (BlockingSim, tempfile::TempDir, std::path::PathBuf) {
    let sim = BlockingSim::start(SimConfig {
        client_secret: SECRET.to_owned(),
        credentials: Credentials::generate(60),
        token_lifetime: Duration::from_secs(1),
        faults: Faults {
            server_error: 0.1,
            lost: 0.1,
            ..Faults::default()
        },
        ..SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list((1..=60).chain([9_999]))).unwrap();
    (sim, dir, input)
}

#[test]
fn no_command_prints_the_secret_or_a_token_at_any_log_level() {
    let (sim, dir, input) = setup();
    let url = sim.handle().url();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, SECRET).unwrap();
    let input_arg = input.to_str().unwrap();
    let jsonl = dir.path().join("out.jsonl");
    let runs: Vec<(&str, Vec<&str>, bool)> = vec![
        (
            "enable -vv",
            vec!["enable", input_arg, "-vv", "--rate", "200", "--no-progress"],
            false,
        ),
        (
            "enable --resume trace",
            vec!["enable", input_arg, "--rate", "200", "--resume"],
            true,
        ),
        (
            "disable jsonl -vv",
            vec![
                "disable",
                input_arg,
                "-vv",
                "--rate",
                "200",
                "--report",
                jsonl.to_str().unwrap(),
            ],
            false,
        ),
        (
            "dry run -vv",
            vec!["enable", input_arg, "-vv", "--dry-run", "--rate", "200"],
            false,
        ),
        ("check -vv", vec!["check", "-vv"], false),
        (
            "check from a file",
            vec![
                "check",
                "-vv",
                "--client-secret-file",
                secret_file.to_str().unwrap(),
            ],
            false,
        ),
    ];
    for (what, args, trace_env) in runs {
        let mut cmd = binary(&url);
        cmd.env("SENHASEGURA_CLIENT_SECRET", SECRET).args(&args);
        if trace_env {
            cmd.env("RUST_LOG", "trace");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_clean(
            what,
            &outputs(&out, dir.path()),
            &sim.handle().issued_tokens(),
        );
    }
    assert!(
        sim.handle().issued_tokens().len() > 3,
        "tokens were issued and refreshed"
    );
}

#[test]
fn a_refused_secret_is_never_echoed() {
    let (sim, dir, input) = setup();
    let out = binary(&sim.handle().url())
        .env("SENHASEGURA_CLIENT_SECRET", format!("{SECRET}-wrong"))
        .env("RUST_LOG", "trace")
        .args(["enable", input.to_str().unwrap(), "-vv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_clean(
        "refused secret",
        &outputs(&out, dir.path()),
        &sim.handle().issued_tokens(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("-wrong"),
        "the rejected secret is not echoed either"
    );
    assert!(stderr.contains("rejected the client"), "{stderr}");
}

#[test]
fn the_demo_prints_no_token_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin!("credbulk"))
        .args(["demo", "-vv"])
        .env("RUST_LOG", "trace")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    for (name, text) in outputs(&out, dir.path()) {
        // Simulator tokens are JWT-shaped: base64url of `{"typ"…` starts with `eyJ`.
        assert!(!text.contains("eyJ"), "a token appears in {name}");
        assert!(
            !text.contains("Bearer "),
            "an Authorization header appears in {name}"
        );
    }
}
