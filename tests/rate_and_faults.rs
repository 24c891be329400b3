//! Rate as the server sees it, and transient faults that every id survives without being
//! applied twice (invariants 2 and 3).

mod common;

use std::time::Duration;

use common::{Harness, exit_code, id_list, rows};
use credbulk::sim::{Credentials, Faults, SimConfig};

#[tokio::test]
async fn rate_50_burst_5_never_puts_more_than_55_requests_in_one_second() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(300),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=300));
    let result = h
        .run(
            "enable",
            &input,
            &["--rate", "50", "--burst", "5", "--concurrency", "16"],
        )
        .await;
    assert_eq!(exit_code(&result), 0);
    let stats = h.sim.stats();
    assert_eq!(stats.api_requests, 300);
    assert!(
        stats.max_requests_per_second <= 55,
        "busiest one-second window: {}",
        stats.max_requests_per_second
    );
    assert!(
        stats.max_requests_per_second >= 45,
        "the rate should be used: {}",
        stats.max_requests_per_second
    );
}

#[tokio::test]
async fn transient_faults_and_lost_answers_end_enabled_and_never_apply_twice() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(300),
        faults: Faults {
            gateway_timeout: 0.10,
            server_error: 0.05,
            lost: 0.05,
            ..Faults::default()
        },
        seed: 7,
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=300));
    let result = h
        .run(
            "enable",
            &input,
            &[
                "--rate",
                "2000",
                "--burst",
                "20",
                "--concurrency",
                "16",
                "--max-attempts",
                "10",
            ],
        )
        .await;
    assert_eq!(exit_code(&result), 0, "{result:?}");
    let rows = rows(&h.dir.path().join("ids.enable.report.csv"));
    assert_eq!(rows.len(), 300);
    assert!(
        rows.iter().all(|r| r.outcome == "enabled"),
        "every id ends enabled"
    );
    let stats = h.sim.stats();
    assert!(
        !stats.lost_answers.is_empty(),
        "the fault mix must include lost answers"
    );
    assert!(
        stats.activations.values().all(|n| *n == 1),
        "no id activated twice"
    );
    assert_eq!(stats.activations.len(), 300);
    let confirmed = rows
        .iter()
        .filter(|r| r.message.contains("confirmed on retry"))
        .count();
    assert!(
        confirmed > 0,
        "a 1043 after a lost answer is reported as enabled"
    );
    // Invariant 2: an id is sent again only after an attempt whose answer was lost or failed.
    let retried = stats.requests_per_id.values().filter(|n| **n > 1).count();
    assert!(retried > 0);
    assert!(rows.iter().all(|r| r.attempts >= 1 && r.attempts <= 10));
    let _ = Duration::ZERO;
}
