//! Signals and crashes on the real binary: SIGINT/SIGTERM finish in-flight ids and exit 130,
//! SIGKILL loses at most the ids in flight, and `--resume` completes the run with one final row
//! per id and no id applied twice (design.md §5, invariants 1 and 2).
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use common::{
    BlockingSim, assert_all_enabled_once, binary, id_list, rows, signal, unexplained_resends,
    wait_for_rows,
};
use credbulk::sim::{Credentials, SimConfig};

const IDS: u64 = 2_000;
/// Requests in flight in the interrupted runs.
const CONCURRENCY: usize = 8;

fn sim(latency: Duration, credentials: u64) -> BlockingSim {
    BlockingSim::start(SimConfig {
        credentials: Credentials::generate(credentials),
        latency,
        ..SimConfig::default()
    })
}

/// The pace of the interrupted runs: slow enough to stop them midway.
const PACE: &[&str] = &["--rate", "400", "--burst", "8", "--concurrency", "8"];

/// Starts `credbulk enable INPUT` with `pace` in the background.
fn start(sim: &BlockingSim, input: &Path, pace: &[&str]) -> Child {
    binary(&sim.handle().url())
        .args(["enable", input.to_str().unwrap()])
        .args(pace)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `credbulk enable INPUT --resume`, fast, to completion.
fn resume(sim: &BlockingSim, input: &Path) -> Output {
    let out = binary(&sim.handle().url())
        .args([
            "enable",
            input.to_str().unwrap(),
            "--rate",
            "2000",
            "--concurrency",
            "8",
            "--resume",
            "--no-progress",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn interrupted_then_resumed(sig: &str) {
    let sim = sim(Duration::from_millis(5), IDS);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=IDS)).unwrap();
    let report = dir.path().join("ids.enable.report.csv");
    let child = start(&sim, &input, PACE);
    wait_for_rows(&report, 200);
    signal(&child, sig);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("INTERRUPTED"), "{stderr}");
    assert!(
        stderr.contains("--resume"),
        "the summary names the command to resume: {stderr}"
    );
    let first = rows(&report);
    assert!((200..2_000).contains(&first.len()), "{} rows", first.len());
    // In-flight ids finished: every id the server applied has its row.
    assert_eq!(
        sim.handle().stats().activations.len(),
        first.len(),
        "every applied id was reported"
    );

    resume(&sim, &input);
    assert_eq!(
        rows(&report).len() as u64,
        IDS,
        "resume appends only the undecided ids"
    );
    let stats = sim.handle().stats();
    assert_eq!(assert_all_enabled_once(&stats, &report, IDS), 0);
    assert_eq!(unexplained_resends(&stats, &report), Vec::<u64>::new());
}

#[test]
fn sigint_finishes_in_flight_ids_and_resume_completes_the_run() {
    interrupted_then_resumed("INT");
}

#[test]
fn sigterm_behaves_like_sigint() {
    interrupted_then_resumed("TERM");
}

#[test]
fn a_second_signal_exits_at_once_with_a_parseable_report() {
    // Long answers keep ids in flight after the first signal.
    let sim = sim(Duration::from_secs(3), IDS);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=IDS)).unwrap();
    let report = dir.path().join("ids.enable.report.csv");
    let child = start(
        &sim,
        &input,
        &["--rate", "1000", "--concurrency", "16", "--burst", "16"],
    );
    wait_for_rows(&report, 16);
    signal(&child, "INT");
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "INT");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&out.stderr).contains("second signal"));
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.ends_with('\n'), "no partial row");
    let _ = rows(&report);
}

#[test]
fn kill_9_loses_at_most_the_ids_in_flight_and_resume_completes_the_run() {
    let extended = IDS + 100;
    let sim = sim(Duration::from_millis(5), extended);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=IDS)).unwrap();
    let report = dir.path().join("ids.enable.report.csv");
    let mut child = start(&sim, &input, PACE);
    wait_for_rows(&report, 300);
    signal(&child, "KILL");
    child.wait().unwrap();
    // A crash mid-write can leave a partial last line: simulate the worst case too.
    let mut text = std::fs::read(&report).unwrap();
    text.extend_from_slice(b"999999,17,enab");
    std::fs::write(&report, text).unwrap();
    let reported = std::fs::read_to_string(&report).unwrap().lines().count() - 2;
    let applied = sim.handle().stats().activations.len();
    assert!(
        applied >= reported && applied <= reported + CONCURRENCY,
        "at most the ids in flight are lost: {applied} applied, {reported} reported"
    );

    // Resume with the input re-sorted, with a duplicate, and extended: keyed on the id.
    let mut ids: Vec<u64> = (1..=extended).rev().collect();
    ids.push(IDS);
    std::fs::write(&input, id_list(ids)).unwrap();
    let out = resume(&sim, &input);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("incomplete"),
        "the partial line is reported"
    );
    let stats = sim.handle().stats();
    let already = assert_all_enabled_once(&stats, &report, extended);
    assert_eq!(
        already, 0,
        "no id credbulk enabled is reported as enabled by someone else"
    );
    let confirmed = rows(&report)
        .iter()
        .filter(|r| {
            r.message
                .starts_with("confirmed after an earlier run's unanswered attempt")
        })
        .count();
    assert_eq!(
        confirmed,
        applied - reported,
        "ids applied without a row come back as enabled, confirmed"
    );
    assert!(unexplained_resends(&stats, &report).len() <= CONCURRENCY);
}

#[test]
fn a_second_run_on_a_locked_report_exits_2_at_once() {
    let sim = sim(Duration::from_millis(5), IDS);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=IDS)).unwrap();
    let report = dir.path().join("ids.enable.report.csv");
    let mut first = start(&sim, &input, &["--rate", "50"]);
    wait_for_rows(&report, 5);
    // The lock is on a sidecar: the report itself stays free for readers (and viewers that
    // lock, as every program does on Windows).
    let reader = std::fs::File::open(&report).unwrap();
    assert!(reader.try_lock_shared().is_ok(), "the report is not locked");
    drop(reader);
    let tokens_before = sim.handle().stats().token_fetches;
    let out = binary(&sim.handle().url())
        .args([
            "enable",
            input.to_str().unwrap(),
            "--resume",
            "--no-progress",
        ])
        .output()
        .unwrap();
    first.kill().unwrap();
    first.wait().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("locked") && stderr.contains("ids.enable.report.csv"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {}", first.id())) && stderr.contains("host "),
        "{stderr}"
    );
    // The first run's token lives an hour: any token fetch would be the second run's, and a run
    // fetches its token before it sends anything. (Counting requests would race the first run.)
    assert_eq!(
        sim.handle().stats().token_fetches,
        tokens_before,
        "the second run sent nothing of its own"
    );
}
