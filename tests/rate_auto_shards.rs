//! `--rate auto` with `--shard K/2`: two real processes behind one Kong-like gateway (the
//! simulator's `rate_limit`: fixed one-second windows, 429 with `Retry-After` and `RateLimit-*`)
//! must share it fairly and keep the 429s within budget. Judged from the simulator's counts,
//! not from clocks.

mod common;

use std::collections::HashSet;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{BlockingSim, binary, id_list, rows};
use credbulk::sim::{Credentials, SimConfig};

const IDS: u64 = 1_200;
const LIMIT: u32 = 80;

fn spawn(url: &str, input: &std::path::Path, shard: &str, report: &std::path::Path) -> Child {
    binary(url)
        .args([
            "enable",
            &input.display().to_string(),
            "--no-config",
            "--no-progress",
            "-q",
        ])
        .args(["--shard", shard, "--rate", "auto", "--rate-max", "1000"])
        .args(["--concurrency", "16", "--yes", "--report"])
        .arg(report)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("credbulk starts")
}

#[test]
fn two_auto_shards_share_one_gateway_fairly_within_the_429_budget() {
    let sim = BlockingSim::start(SimConfig {
        credentials: Credentials::generate(IDS),
        latency: Duration::from_millis(20),
        rate_limit: Some(LIMIT),
        ..SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=IDS)).unwrap();
    let reports = [dir.path().join("a.csv"), dir.path().join("b.csv")];
    let url = sim.handle().url();
    let mut children = [
        spawn(&url, &input, "0/2", &reports[0]),
        spawn(&url, &input, "1/2", &reports[1]),
    ];
    // The moment the first one finishes, the server's counts say how far the other got: over
    // the period both ran, each share must be within 25% of an equal one.
    let (first, at_first_end) = loop {
        if let Some(i) = (0..2).find(|i| children[*i].try_wait().unwrap().is_some()) {
            break (i, sim.handle().stats());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    for child in &mut children {
        assert!(child.wait().unwrap().success());
    }
    let ids_of = |path| -> HashSet<u64> {
        rows(path)
            .into_iter()
            .map(|r| r.id.parse().unwrap())
            .collect()
    };
    let finished = ids_of(&reports[first]);
    let other = ids_of(&reports[1 - first]);
    assert_eq!(finished.len() + other.len(), usize::try_from(IDS).unwrap());
    let done = |ids: &HashSet<u64>| {
        ids.iter()
            .filter(|id| at_first_end.activations.contains_key(id))
            .count()
    };
    let (a, b) = (done(&finished), done(&other));
    assert_eq!(a, finished.len());
    #[expect(clippy::cast_precision_loss, reason = "counts")]
    let share = |n: usize| n as f64 / (a + b) as f64;
    eprintln!(
        "shares while both ran: {a} and {b} ({:.3} / {:.3})",
        share(a),
        share(b)
    );
    assert!(
        (0.375..=0.625).contains(&share(b)),
        "{a} and {b}: not within 25% of an equal share"
    );

    // The 429 budget, in total. This simulator states its limit on the 429 only, so the
    // budget is that of a gateway that sends no numbers ahead: 3% of the ids. (The 1% budget
    // of a gateway that counts down on every answer is held in the model tests of
    // src/pipeline/pace/tests.rs, under paused time.)
    let stats = sim.handle().stats();
    let throttled: u64 = stats
        .requests
        .values()
        .filter_map(|by_status| by_status.get(&429))
        .sum();
    eprintln!("429s: {throttled} for {IDS} ids");
    assert!(throttled * 100 <= 3 * IDS, "{throttled} 429s for {IDS} ids");
    assert!((1..=IDS).all(|id| stats.activations.get(&id) == Some(&1)));
}
