//! Every fault at once — 500s, 504s, 503s, hangs past the timeout, lost answers, 429s above a
//! server-side limit, a 1 s token lifetime — plus a `kill -9` and `--resume` cycle. The
//! invariants of design.md §9 are checked from the simulator's side and the report.
#![cfg(unix)]

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{
    BlockingSim, assert_all_enabled_once, binary, id_list, rows, signal, unexplained_resends,
    wait_for_rows,
};
use credbulk::sim::{Credentials, Faults, SimConfig};

const IDS: u64 = 600;
const RATE: u64 = 200;
const BURST: u64 = 20;
const CONCURRENCY: usize = 16;

fn flags(input: &str) -> Vec<String> {
    [
        "enable",
        input,
        "--rate",
        "200",
        "--burst",
        "20",
        "--concurrency",
        "16",
        "--timeout",
        "1",
        "--max-attempts",
        "8",
        "--no-progress",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn every_fault_at_once_with_a_crash_still_ends_with_one_true_row_per_id() {
    let sim = BlockingSim::start(SimConfig {
        credentials: Credentials::generate(IDS),
        token_lifetime: Duration::from_secs(1),
        rate_limit: Some(150),
        latency: Duration::from_millis(2),
        jitter: Duration::from_millis(10),
        faults: Faults {
            server_error: 0.05,
            gateway_timeout: 0.05,
            unavailable: 0.02,
            html: 0.02,
            lost: 0.05,
            hang: 0.02,
            hang_for: Duration::from_secs(5),
        },
        seed: 99,
        ..SimConfig::default()
    });
    let url = sim.handle().url();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=IDS)).unwrap();
    let report = dir.path().join("ids.enable.report.csv");
    let started = Instant::now();

    let mut first = binary(&url)
        .args(flags(input.to_str().unwrap()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_rows(&report, 150);
    signal(&first, "KILL");
    first.wait().unwrap();
    let reported_at_crash = rows(&report).len();
    // Let every one-second window of the dead run close before the next run starts.
    std::thread::sleep(Duration::from_millis(1_100));

    let mut runs = 1;
    let mut last_code = None;
    while runs < 5 {
        runs += 1;
        let mut args = flags(input.to_str().unwrap());
        args.push("--resume".into());
        let out = binary(&url).args(&args).output().unwrap();
        last_code = out.status.code();
        if last_code == Some(0) {
            break;
        }
        assert_eq!(
            last_code,
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(1_100));
    }
    assert_eq!(last_code, Some(0), "resume converges on a complete run");
    let elapsed = started.elapsed().as_secs();
    assert_invariants(&sim, &report, reported_at_crash, runs, elapsed);
}

/// Design.md §9, from the simulator's side and the report.
fn assert_invariants(
    sim: &BlockingSim,
    report: &std::path::Path,
    reported_at_crash: usize,
    runs: u64,
    elapsed: u64,
) {
    // Invariants 1 and 2: one final row per id, applied once; resent only after a failed or
    // lost answer, or for the ids in progress when the process was killed.
    let stats = sim.handle().stats();
    let already = assert_all_enabled_once(&stats, report, IDS);
    assert_eq!(
        already, 0,
        "from an all-disabled start no id is reported as enabled by someone else"
    );
    assert!(reported_at_crash >= 150);
    let unexplained = unexplained_resends(&stats, report);
    assert!(
        unexplained.len() <= CONCURRENCY,
        "ids sent again with no failed or lost answer: {unexplained:?}"
    );
    // Invariant 3: never more than rate + burst in any one-second window.
    assert!(
        stats.max_requests_per_second <= RATE + BURST,
        "busiest second: {}",
        stats.max_requests_per_second
    );
    // Invariant 4: token fetches about run time / lifetime, plus one per run.
    assert!(
        stats.token_fetches <= elapsed + 2 * runs + 2,
        "{} token fetches in {elapsed} s over {runs} runs",
        stats.token_fetches
    );
    assert!(
        elapsed < 60,
        "the chaos run must stay under a minute: {elapsed} s"
    );
}
