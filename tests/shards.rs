//! `--shard K/N`: two runs share one input and one simulator, as two pods of an Indexed Job
//! would, and between them send every id exactly once.

mod common;

use std::collections::HashSet;

use common::{Harness, exit_code, id_list, rows};
use credbulk::sim::{Credentials, SimConfig};

const IDS: u64 = 2_000;

#[tokio::test]
async fn two_shards_send_every_id_exactly_once_between_them() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(IDS),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=IDS));
    let report = |k: u64| h.dir.path().join(format!("shard-{k}.report.csv"));
    let (first, second) = (report(0), report(1));
    let args = |shard: &'static str, report: &std::path::Path| {
        vec![
            "--shard".to_owned(),
            shard.to_owned(),
            "--report".to_owned(),
            report.display().to_string(),
            "--rate".to_owned(),
            "5000".to_owned(),
            "--burst".to_owned(),
            "16".to_owned(),
            "--concurrency".to_owned(),
            "8".to_owned(),
        ]
    };
    let (a, b) = (args("0/2", &first), args("1/2", &second));
    let ra: Vec<&str> = a.iter().map(String::as_str).collect();
    let rb: Vec<&str> = b.iter().map(String::as_str).collect();
    let (one, two) = tokio::join!(h.run("enable", &input, &ra), h.run("enable", &input, &rb));
    assert_eq!(exit_code(&one), 0, "{one:?}");
    assert_eq!(exit_code(&two), 0, "{two:?}");

    // From the server's side: every id arrived once, and was enabled once.
    let stats = h.sim.stats();
    assert_eq!(stats.api_requests, IDS);
    assert_eq!(stats.requests_per_id.len() as u64, IDS);
    assert!(stats.requests_per_id.values().all(|n| *n == 1));
    assert!((1..=IDS).all(|id| stats.activations.get(&id) == Some(&1)));

    // Each pod's report holds its own ids only, and together they cover the input.
    let ids_in = |path| -> HashSet<String> { rows(path).into_iter().map(|r| r.id).collect() };
    let (mine, theirs) = (ids_in(&first), ids_in(&second));
    assert!(mine.is_disjoint(&theirs));
    assert_eq!((mine.len() + theirs.len()) as u64, IDS);
    // The split is even enough that neither pod idles while the other works.
    assert!(
        mine.len() > 800 && theirs.len() > 800,
        "{} / {}",
        mine.len(),
        theirs.len()
    );
}
