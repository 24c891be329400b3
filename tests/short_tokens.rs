//! Tokens that live less than the wait for a rate permit still leave most permits to the
//! changes, with about one fetch per token lifetime (issue 8 item 7, design.md §4). Its own
//! test binary, so that no other run shares the machine's time with it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Harness, exit_code, id_list, rows};
use credbulk::control::Control;
use credbulk::sim::{Credentials, SimConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_shorter_than_the_queue_for_a_permit_leave_most_permits_to_changes() {
    // 1 s tokens (refreshed at 0.9 s) while 32 ids queue for permits at 8/s (a 4 s wait): the
    // issue's 2 s tokens at --rate 4 --concurrency 16, twice as fast.
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(1_000),
        token_lifetime: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=1_000));
    let control = Arc::new(Control::new());
    let stopper = Arc::clone(&control);
    let started = std::time::Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        stopper.interrupt();
    });
    let result = h
        .run_with(
            "enable",
            &input,
            &["--rate", "8", "--concurrency", "32"],
            control,
        )
        .await;
    let lifetimes = started.elapsed().as_secs_f64() / 0.9;
    assert_eq!(exit_code(&result), 130, "{result:?}");
    let stats = h.sim.stats();
    let changes = stats.api_requests;
    let permits = changes + stats.token_requests;
    assert!(
        changes * 10 >= permits * 7,
        "{changes} changes of {permits} requests"
    );
    assert!(
        stats.token_fetches as f64 <= lifetimes + 2.0,
        "{} token fetches in {lifetimes:.1} token lifetimes",
        stats.token_fetches
    );
    assert!(
        rows(&h.dir.path().join("ids.report.csv"))
            .iter()
            .all(|r| r.outcome == "enabled")
    );
}
