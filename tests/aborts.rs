//! Failures that would repeat for every id stop the run early with exit 3.

mod common;

use common::{Harness, exit_code, id_list, rows};
use credbulk::sim::{Credentials, SimConfig};

#[tokio::test]
async fn a_wrong_client_secret_exits_3_before_any_api_request() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(50),
        ..SimConfig::default()
    })
    .await;
    std::fs::write(&h.secret_file, "wrong-secret\n").unwrap();
    let input = h.file("ids.csv", id_list(1..=50));
    let result = h.run("enable", &input, &[]).await;
    assert_eq!(exit_code(&result), 3);
    let message = result.unwrap_err().to_string();
    assert!(message.contains("rejected the client"), "{message}");
    assert!(!message.contains("wrong-secret"));
    let stats = h.sim.stats();
    assert_eq!(stats.api_requests, 0);
    assert_eq!(stats.token_requests, 1, "a rejection is not retried");
}

#[tokio::test]
async fn a_wrong_prefix_exits_3_after_a_handful_of_requests() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(500),
        prefixes: vec!["/iso".to_owned()],
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=500));
    let result = h
        .run("enable", &input, &["--rate", "1000", "--concurrency", "4"])
        .await;
    assert_eq!(exit_code(&result), 3);
    let stats = h.sim.stats();
    assert!(stats.api_requests <= 8, "{} requests", stats.api_requests);
    let rows = rows(&h.dir.path().join("ids.enable.report.csv"));
    assert!(!rows.is_empty() && rows.len() <= 8);
    assert!(rows.iter().all(|r| r.outcome == "misconfigured"));
    // The right prefix then works.
    let again = h.dir.path().join("again.csv");
    let result = h
        .run(
            "enable",
            &input,
            &[
                "--rate",
                "1000",
                "--api-prefix",
                "/iso",
                "--report",
                again.to_str().unwrap(),
            ],
        )
        .await;
    assert_eq!(exit_code(&result), 0);
}

#[tokio::test]
async fn a_read_only_authorization_exits_3_after_a_handful_of_requests() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(500),
        read_only: true,
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=500));
    let result = h
        .run("enable", &input, &["--rate", "1000", "--concurrency", "4"])
        .await;
    assert_eq!(exit_code(&result), 3);
    let stats = h.sim.stats();
    assert!(stats.api_requests <= 4, "{} requests", stats.api_requests);
    let rows = rows(&h.dir.path().join("ids.enable.report.csv"));
    assert!(
        rows.iter()
            .all(|r| r.outcome == "forbidden" && r.api_code == Some(1039))
    );
}
