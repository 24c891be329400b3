//! Signals and crashes on the real binary: SIGINT/SIGTERM finish in-flight ids and exit 130,
//! SIGKILL loses at most the ids in flight, and `--resume` completes the run with one final row
//! per id and no id applied twice (design.md §5, invariants 1 and 2).

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{BlockingSim, binary, id_list, last_rows, rows, signal, wait_for_rows};
use credbulk::sim::{Credentials, SimConfig};

const IDS: u64 = 2_000;

fn sim() -> BlockingSim {
    BlockingSim::start(SimConfig {
        credentials: Credentials::generate(IDS),
        latency: Duration::from_millis(5),
        ..SimConfig::default()
    })
}

/// Asserts the end state of a completed, resumed run. `unreported` ids were applied by a run
/// that died before writing their rows: on resume the server calls them already active.
/// `crashed_in_flight` requests lost their answers with the process that sent them.
fn assert_complete(
    sim: &BlockingSim,
    report: &std::path::Path,
    unreported: usize,
    crashed_in_flight: usize,
) {
    let last = last_rows(report);
    assert_eq!(last.len() as u64, IDS, "every id has a row");
    let already = last
        .values()
        .filter(|r| r.outcome == "already_enabled")
        .count();
    assert!(
        last.values()
            .all(|r| r.outcome == "enabled" || r.outcome == "already_enabled"),
        "every id's last row is a success"
    );
    assert_eq!(
        already, unreported,
        "only ids applied without a row come back as already enabled"
    );
    let stats = sim.handle().stats();
    assert_eq!(stats.activations.len() as u64, IDS);
    assert!(
        stats.activations.values().all(|n| *n == 1),
        "no id activated twice"
    );
    // An id is sent again only when an answer was lost: by the network, or by the crash.
    let resent = stats
        .requests_per_id
        .iter()
        .filter(|(id, sent)| **sent > 1 + stats.lost_answers.get(id).copied().unwrap_or(0))
        .count();
    assert!(
        resent <= crashed_in_flight,
        "{resent} ids sent again without a lost answer"
    );
    assert!((1..=IDS).all(|id| sim.handle().credential(id).unwrap().active));
}

fn interrupted_then_resumed(sig: &str) {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=IDS)).unwrap();
    let report = dir.path().join("ids.report.csv");
    let child = binary(&sim.handle().url())
        .args([
            "enable",
            input.to_str().unwrap(),
            "--rate",
            "400",
            "--burst",
            "8",
            "--concurrency",
            "8",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
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
    let applied = sim.handle().stats().activations.len();
    assert_eq!(
        applied,
        first.len(),
        "every id the server applied was reported"
    );

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
    assert_eq!(
        rows(&report).len() as u64,
        IDS,
        "resume appends only the undecided ids"
    );
    assert_complete(&sim, &report, 0, 0);
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
    let sim = BlockingSim::start(SimConfig {
        credentials: Credentials::generate(IDS),
        // Long answers keep ids in flight after the first signal.
        latency: Duration::from_secs(3),
        ..SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=IDS)).unwrap();
    let report = dir.path().join("ids.report.csv");
    let child = binary(&sim.handle().url())
        .args([
            "enable",
            input.to_str().unwrap(),
            "--rate",
            "1000",
            "--concurrency",
            "16",
            "--burst",
            "16",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
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
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=IDS)).unwrap();
    let report = dir.path().join("ids.report.csv");
    let mut child = binary(&sim.handle().url())
        .args([
            "enable",
            input.to_str().unwrap(),
            "--rate",
            "400",
            "--burst",
            "8",
            "--concurrency",
            "8",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_rows(&report, 300);
    signal(&child, "KILL");
    child.wait().unwrap();
    // A crash mid-write can leave a partial last line: simulate the worst case too.
    let mut text = std::fs::read(&report).unwrap();
    text.extend_from_slice(b"999999,17,enab");
    std::fs::write(&report, text).unwrap();
    let decided_before = rows_until_partial(&report);
    let applied = sim.handle().stats().activations.len();
    assert!(
        applied >= decided_before && applied <= decided_before + 8,
        "at most the ids in flight are lost: {applied} applied, {decided_before} reported"
    );

    // Resume with the input re-ordered, de-duplicated and extended: keyed on the id.
    let mut ids: Vec<u64> = (1..=IDS).rev().collect();
    ids.push(IDS); // a duplicate
    std::fs::write(&input, id_list(ids)).unwrap();
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
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("incomplete"),
        "the partial line is reported"
    );
    assert_complete(&sim, &report, applied - decided_before, 8);
}

fn rows_until_partial(path: &std::path::Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().count() - 2
}

#[test]
fn a_second_run_on_a_locked_report_exits_2_at_once() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=IDS)).unwrap();
    let report = dir.path().join("ids.report.csv");
    let mut first = binary(&sim.handle().url())
        .args([
            "enable",
            input.to_str().unwrap(),
            "--rate",
            "50",
            "--no-progress",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_rows(&report, 5);
    let requests_before = sim.handle().stats().total_requests;
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
        stderr.contains("locked") && stderr.contains("ids.report.csv"),
        "{stderr}"
    );
    assert!(
        sim.handle().stats().total_requests - requests_before <= 5,
        "the second run sent nothing of its own"
    );
}
