//! The confirmation prompt (issue 8 item 9), on the real binary under a pseudo-terminal: a
//! person at a terminal is shown the plan and asked `Proceed? [y/N]`; anything but yes sends
//! nothing (the simulator's counts prove it) and writes no report; `--yes` and a run without a
//! terminal are never asked.
#![cfg(unix)]

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{BlockingSim, binary, id_list};
use credbulk::sim::{Credentials, SimConfig};

const PROMPT: &str = "Proceed? [y/N]";

struct Setup {
    sim: BlockingSim,
    _dir: tempfile::TempDir,
    input: PathBuf,
    report: PathBuf,
}

fn setup() -> Setup {
    let sim = BlockingSim::start(SimConfig {
        credentials: Credentials::generate(20),
        ..SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=20)).unwrap();
    let report = dir.path().join("ids.enable.report.csv");
    Setup {
        sim,
        _dir: dir,
        input,
        report,
    }
}

/// What a terminal showed, and how the command ended.
struct Session {
    screen: String,
    code: Option<i32>,
}

/// Runs `credbulk enable INPUT extra…` on a pseudo-terminal (stdin, stdout and stderr), typing
/// `answer` once the prompt shows (or never, when `answer` is `None`).
fn on_terminal(setup: &Setup, extra: &[&str], answer: Option<&str>) -> Session {
    let (pty, pts) = pty_process::blocking::open().unwrap();
    pty.resize(pty_process::Size::new(24, 200)).unwrap();
    let mut cmd = pty_process::blocking::Command::new(assert_cmd::cargo::cargo_bin!("credbulk"))
        .env_remove("RUST_LOG")
        .env("SENHASEGURA_URL", setup.sim.handle().url())
        .env("SENHASEGURA_CLIENT_ID", "demo")
        .env("SENHASEGURA_CLIENT_SECRET", "demo-secret")
        .args(["enable", setup.input.to_str().unwrap(), "--no-config"])
        .args(["--report", setup.report.to_str().unwrap(), "--no-progress"]);
    cmd = cmd.args(extra);
    let mut child = cmd.spawn(pts).unwrap();
    let pty = Arc::new(pty);
    let screen = Arc::new(Mutex::new(String::new()));
    let reader = {
        let (pty, screen) = (Arc::clone(&pty), Arc::clone(&screen));
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends with an error (EIO) once the child is gone.
            while let Ok(n) = (&*pty).read(&mut buf) {
                if n == 0 {
                    break;
                }
                screen
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    if let Some(answer) = answer {
        // A bound on a hang, not a timing claim: the prompt comes before any request.
        let mut shown = false;
        for _ in 0..3000 {
            if screen.lock().unwrap().contains(PROMPT) {
                shown = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(shown, "no prompt: {}", screen.lock().unwrap());
        (&*pty).write_all(answer.as_bytes()).unwrap();
    }
    let status = child.wait().unwrap();
    drop(pty);
    let _ = reader.join();
    let screen = screen.lock().unwrap().clone();
    Session {
        screen,
        code: status.code(),
    }
}

fn requests(sim: &BlockingSim) -> (u64, u64) {
    let stats = sim.handle().stats();
    (stats.token_requests, stats.api_requests)
}

fn report_rows(report: &Path) -> usize {
    std::fs::read_to_string(report).map_or(0, |t| t.lines().count().saturating_sub(1))
}

#[test]
fn answering_no_at_a_terminal_sends_nothing_and_writes_no_report() {
    for answer in ["n\n", "\n", "yep\n", "\u{4}"] {
        let setup = setup();
        let session = on_terminal(&setup, &[], Some(answer));
        assert_eq!(session.code, Some(2), "{answer:?}: {}", session.screen);
        assert!(
            session.screen.contains("credbulk enable: about 20 ids"),
            "the plan is shown: {}",
            session.screen
        );
        assert!(session.screen.contains("appliance  127.0.0.1"));
        assert!(session.screen.contains("not confirmed: nothing was sent"));
        assert_eq!(
            requests(&setup.sim),
            (0, 0),
            "nothing reached the appliance"
        );
        assert!(!setup.report.exists(), "no report is written");
    }
}

#[test]
fn answering_yes_at_a_terminal_runs() {
    let setup = setup();
    let session = on_terminal(&setup, &[], Some("y\n"));
    assert_eq!(session.code, Some(0), "{}", session.screen);
    assert_eq!(requests(&setup.sim).1, 20);
    assert_eq!(report_rows(&setup.report), 20);
}

#[test]
fn yes_flag_is_never_asked_at_a_terminal() {
    let setup = setup();
    let session = on_terminal(&setup, &["--yes"], None);
    assert_eq!(session.code, Some(0), "{}", session.screen);
    assert!(!session.screen.contains(PROMPT), "{}", session.screen);
    assert_eq!(requests(&setup.sim).1, 20);
}

#[test]
fn dry_runs_at_a_terminal_are_never_asked() {
    let setup = setup();
    let session = on_terminal(&setup, &["--dry-run"], None);
    assert_eq!(session.code, Some(0), "{}", session.screen);
    assert!(!session.screen.contains(PROMPT), "{}", session.screen);
    // Only the preflight's probe, for an id that cannot exist: nothing of the input is sent.
    assert_eq!(requests(&setup.sim).1, 1);
}

#[test]
fn without_a_terminal_nothing_is_asked() {
    let setup = setup();
    // stdin a pipe (as under cron or CI), stderr captured.
    let out = binary(&setup.sim.handle().url())
        .args(["enable", setup.input.to_str().unwrap(), "--no-config"])
        .args(["--report", setup.report.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(PROMPT));
    assert_eq!(requests(&setup.sim).1, 20);
}
