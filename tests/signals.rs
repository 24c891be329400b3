//! Signals on the real binary (issue 8 item 10): SIGHUP (an ssh session closing) stops a run
//! like SIGTERM; Ctrl-C during `check` or `--dry-run` exits 130 with no resume hint; the first
//! Ctrl-C also cancels a token fetch in flight; a second Ctrl-C exits at once and still prints
//! the command that continues the run.
#![cfg(unix)]

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use common::{BlockingSim, binary, id_list, rows, signal, wait_for_rows};
use credbulk::sim::{Credentials, SimConfig};

/// A token endpoint that never answers, counting the fetches that reached it.
struct Hanging {
    _runtime: tokio::runtime::Runtime,
    url: String,
    fetches: Arc<AtomicU64>,
}

impl Hanging {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let fetches = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&fetches);
        let app = Router::new().route(
            "/iso/oauth2/token",
            post(move || {
                seen.fetch_add(1, Ordering::SeqCst);
                std::future::pending::<String>()
            }),
        );
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, app).await });
        Self {
            _runtime: runtime,
            url,
            fetches,
        }
    }

    /// Waits until a token fetch is hanging on this endpoint.
    fn wait_for_fetch(&self) {
        for _ in 0..3000 {
            if self.fetches.load(Ordering::SeqCst) > 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("no token fetch arrived");
    }
}

/// Collects a child's stderr as it comes.
fn collect_stderr(child: &mut Child) -> (Arc<Mutex<String>>, std::thread::JoinHandle<()>) {
    let mut stderr = child.stderr.take().unwrap();
    let text = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&text);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    (text, reader)
}

/// Waits for the child to exit; a child that does not is killed and the test fails (a bound
/// on a hang: every command here was told to wait an hour for the token).
fn exit_code(mut child: Child, what: &str) -> Option<i32> {
    for _ in 0..6000 {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    panic!("{what}: still running after the signal");
}

/// Starts `args` against the hanging endpoint, Ctrl-C's it while the token fetch hangs.
fn interrupt_while_fetching(args: &[&str]) -> (Option<i32>, String) {
    let hanging = Hanging::start();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=3)).unwrap();
    let mut child = binary(&hanging.url)
        .current_dir(dir.path())
        .args(
            args.iter()
                .map(|a| a.replace("INPUT", input.to_str().unwrap())),
        )
        .args(["--no-config", "--timeout", "3600"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (stderr, reader) = collect_stderr(&mut child);
    hanging.wait_for_fetch();
    signal(&child, "INT");
    let code = exit_code(child, &args.join(" "));
    reader.join().unwrap();
    let text = stderr.lock().unwrap().clone();
    (code, text)
}

#[test]
fn ctrl_c_during_check_exits_130_at_once_with_no_resume_hint() {
    let (code, stderr) = interrupt_while_fetching(&["check"]);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert!(!stderr.contains("--resume"), "{stderr}");
}

#[test]
fn ctrl_c_during_a_dry_run_exits_130_at_once_with_no_resume_hint() {
    let (code, stderr) = interrupt_while_fetching(&["enable", "INPUT", "--dry-run"]);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert!(!stderr.contains("--resume"), "{stderr}");
}

#[test]
fn ctrl_c_cancels_the_first_token_fetch_of_a_run() {
    let (code, stderr) = interrupt_while_fetching(&["enable", "INPUT"]);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("INTERRUPTED"), "{stderr}");
}

fn slow_sim(latency: Duration) -> BlockingSim {
    BlockingSim::start(SimConfig {
        credentials: Credentials::generate(300),
        latency,
        ..SimConfig::default()
    })
}

#[test]
fn sighup_stops_a_run_like_sigterm_and_resume_finishes_it() {
    let sim = slow_sim(Duration::from_millis(10));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=300)).unwrap();
    let report = dir.path().join("ids.enable.report.csv");
    let child = binary(&sim.handle().url())
        .args(["enable", input.to_str().unwrap(), "--no-config"])
        .args(["--rate", "100", "--concurrency", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_rows(&report, 5);
    signal(&child, "HUP");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("INTERRUPTED"), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    let written = rows(&report).len();
    assert!(written < 300, "the run stopped early");
    assert_eq!(written as u64, sim.handle().stats().api_requests);

    let out = binary(&sim.handle().url())
        .args(["enable", input.to_str().unwrap(), "--no-config"])
        .args(["--rate", "1000", "--resume"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(rows(&report).len(), 300);
}

fn wait_for_text(text: &Mutex<String>, wanted: &str) {
    for _ in 0..3000 {
        if text.lock().unwrap().contains(wanted) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("never printed {wanted:?}: {}", text.lock().unwrap());
}

#[test]
fn a_second_ctrl_c_exits_at_once_and_prints_the_resume_command() {
    // Each answer takes seconds: the first Ctrl-C alone would wait for the one in flight.
    let sim = slow_sim(Duration::from_secs(5));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=5)).unwrap();
    let mut child = binary(&sim.handle().url())
        .args(["enable", input.to_str().unwrap(), "--no-config"])
        .args(["--concurrency", "1", "--timeout", "3600"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (stderr, reader) = collect_stderr(&mut child);
    for _ in 0..3000 {
        if sim.handle().stats().api_requests > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(sim.handle().stats().api_requests, 1, "one change in flight");
    signal(&child, "INT");
    wait_for_text(&stderr, "signal again to exit now");
    signal(&child, "INT");
    let code = exit_code(child, "second Ctrl-C");
    reader.join().unwrap();
    let stderr = stderr.lock().unwrap().clone();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("second signal"), "{stderr}");
    let wanted = format!("continue with: credbulk enable {}", input.display());
    assert!(
        stderr.contains(&wanted) && stderr.contains("--resume"),
        "{stderr}"
    );
    assert!(report_is_empty(&dir.path().join("ids.enable.report.csv")));
}

fn report_is_empty(report: &Path) -> bool {
    rows(report).is_empty()
}
