//! A 2 s token lifetime over a 10 s run at concurrency 16: no failure and few fetches, however
//! the simulator answers an expired token (design.md §4, invariant 4).

mod common;

use common::{Harness, exit_code, id_list, rows};
use credbulk::sim::{Credentials, ExpiredTokenAnswer, SimConfig};
use std::time::Duration;

async fn ten_second_run(answer: ExpiredTokenAnswer) {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(1_000),
        token_lifetime: Duration::from_secs(2),
        expired_token_answer: answer,
        latency: Duration::from_millis(20),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=1_000));
    // 1,000 ids at 100/s: the run lasts about 10 s, five token lifetimes.
    let result = h
        .run(
            "enable",
            &input,
            &["--rate", "100", "--burst", "16", "--concurrency", "16"],
        )
        .await;
    assert_eq!(exit_code(&result), 0, "{answer:?}: {result:?}");
    let report = h.dir.path().join("ids.enable.report.csv");
    let rows = rows(&report);
    assert_eq!(rows.len(), 1_000);
    assert!(rows.iter().all(|r| r.outcome == "enabled"), "{answer:?}");
    let stats = h.sim.stats();
    // Invariant 4: run time / lifetime + 2, whatever the concurrency.
    assert!(
        stats.token_fetches <= 10 / 2 + 2,
        "{answer:?}: {} token fetches",
        stats.token_fetches
    );
    assert!(
        stats.token_fetches >= 4,
        "{answer:?}: the token must have been refreshed"
    );
    assert!(stats.activations.values().all(|n| *n == 1));
    // An expired token costs one refresh and one replay per id at most.
    assert!(
        stats.requests_per_id.values().all(|n| *n <= 2),
        "{answer:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_token_costs_no_failure_whichever_way_expiry_is_answered() {
    tokio::join!(
        ten_second_run(ExpiredTokenAnswer::Unauthorized401),
        ten_second_run(ExpiredTokenAnswer::NotAuthorized500),
        ten_second_run(ExpiredTokenAnswer::KongNoRoute404),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_second_tokens_behind_a_long_queue_never_stall_the_run() {
    // Seen on the first-round code: 1 s tokens at --rate 8 --concurrency 32 sent 7 changes,
    // then nothing for 4 s: the 31 queued ids took their permits with a stale token and waited
    // for the refresh, which waited behind them for a permit.
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(1_000),
        token_lifetime: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=1_000));
    let control = std::sync::Arc::new(credbulk::control::Control::new());
    let stopper = std::sync::Arc::clone(&control);
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
    assert_eq!(exit_code(&result), 130, "{result:?}");
    let stats = h.sim.stats();
    // 5 s at 8/s is 40 permits; at least 70% of them changes (issue 8 item 7), and about one
    // token per lifetime.
    assert!(
        stats.api_requests >= 28,
        "{} changes and {} token fetches in 5 s",
        stats.api_requests,
        stats.token_requests
    );
    assert!(stats.token_requests <= 5 + 2, "{}", stats.token_requests);
    assert!(
        rows(&h.dir.path().join("ids.enable.report.csv"))
            .iter()
            .all(|r| r.outcome == "enabled")
    );
}
