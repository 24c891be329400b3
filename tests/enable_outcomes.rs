//! A mixed input against the simulator: every outcome on its line, with its code and exit code.

mod common;

use std::collections::HashMap;

use common::{Harness, exit_code, id_list, rows};
use credbulk::sim::{Credential, Credentials, Kind, SimConfig};

fn mixed_credentials() -> Credentials {
    let mut c = Credentials::default();
    c.insert(10, Credential::disabled());
    c.insert(
        11,
        Credential {
            active: true,
            ..Credential::disabled()
        },
    );
    c.insert(
        12,
        Credential {
            accessible: false,
            ..Credential::disabled()
        },
    );
    c.insert(
        13,
        Credential {
            kind: Kind::Device,
            ..Credential::disabled()
        },
    );
    c.insert(14, Credential::disabled());
    c
}

#[tokio::test]
async fn a_mixed_input_gives_every_outcome_on_its_line() {
    let h = Harness::start(SimConfig {
        credentials: mixed_credentials(),
        ..SimConfig::default()
    })
    .await;
    let input = h.file(
        "mixed.csv",
        "hostname;ID;user\r\nweb;10;root\r\nweb;11;root\r\n\r\nweb;999;root\r\nweb;12;x\r\nweb;13;x\r\nweb;abc;x\r\nweb;10;again\r\nweb;14;x\r\n",
    );
    let result = h.run("enable", &input, &[]).await;
    assert_eq!(exit_code(&result), 1, "some ids failed");
    let report = h.dir.path().join("mixed.enable.report.csv");
    let got: HashMap<u64, (String, String, Option<u16>, Option<u16>)> = rows(&report)
        .into_iter()
        .map(|r| (r.line, (r.id, r.outcome, r.http_status, r.api_code)))
        .collect();
    let expect = |line: u64, id: &str, outcome: &str, status: Option<u16>, code: Option<u16>| {
        assert_eq!(
            got.get(&line),
            Some(&(id.to_owned(), outcome.to_owned(), status, code)),
            "line {line}"
        );
    };
    expect(2, "10", "enabled", Some(200), None);
    expect(3, "11", "already_enabled", Some(400), Some(1043));
    expect(5, "999", "not_found", Some(400), Some(1007));
    expect(6, "12", "no_access", Some(400), Some(1009));
    expect(7, "13", "not_a_credential", Some(400), Some(1010));
    expect(8, "abc", "invalid_input", None, None);
    expect(9, "10", "duplicate", None, None);
    expect(10, "14", "enabled", Some(200), None);
    assert_eq!(got.len(), 8, "one row per record, blank line skipped");
    let stats = h.sim.stats();
    assert_eq!(
        stats.requests_per_id.get(&10),
        Some(&1),
        "a duplicate is sent once"
    );
    assert!(h.sim.credential(10).unwrap().active);
    assert!(h.sim.credential(14).unwrap().active);
}

#[tokio::test]
async fn an_all_good_input_exits_zero_with_one_token_fetch() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(200),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=200));
    let report = h.dir.path().join("out.jsonl");
    let result = h
        .run(
            "enable",
            &input,
            &[
                "--rate",
                "1000",
                "--concurrency",
                "8",
                "--report",
                report.to_str().unwrap(),
            ],
        )
        .await;
    assert_eq!(exit_code(&result), 0);
    let stats = h.sim.stats();
    assert_eq!(stats.token_fetches, 1);
    assert_eq!(stats.api_requests, 200);
    let text = std::fs::read_to_string(&report).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 200, "JSONL: one object per line, no header");
    for line in lines {
        let row: credbulk::report::Row = serde_json::from_str(line).unwrap();
        assert_eq!(row.outcome, "enabled");
    }
}

#[tokio::test]
async fn disable_rolls_back_what_enable_did() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(20),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=10));
    assert_eq!(
        exit_code(&h.run("enable", &input, &["--rate", "500"]).await),
        0
    );
    let back = h.dir.path().join("back.csv");
    let result = h
        .run(
            "disable",
            &input,
            &["--rate", "500", "--report", back.to_str().unwrap()],
        )
        .await;
    assert_eq!(exit_code(&result), 0);
    assert!(rows(&back).iter().all(|r| r.outcome == "disabled"));
    assert!((1..=10).all(|id| !h.sim.credential(id).unwrap().active));
}

#[tokio::test]
async fn an_existing_report_is_never_overwritten_without_resume() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(5),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=5));
    assert_eq!(
        exit_code(&h.run("enable", &input, &["--rate", "500"]).await),
        0
    );
    let report = h.dir.path().join("ids.enable.report.csv");
    let before = std::fs::read(&report).unwrap();
    let again = h.run("enable", &input, &["--rate", "500"]).await;
    assert_eq!(exit_code(&again), 2);
    assert!(again.unwrap_err().to_string().contains("--resume"));
    assert_eq!(std::fs::read(&report).unwrap(), before);
}

#[tokio::test]
async fn resume_exit_code_counts_only_failures_still_in_the_input() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(5),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list([1, 2, 999, 3]));
    assert_eq!(
        exit_code(&h.run("enable", &input, &["--rate", "500"]).await),
        1
    );
    // Resuming the same input: the settled not_found still fails the run.
    assert_eq!(
        exit_code(
            &h.run("enable", &input, &["--rate", "500", "--resume"])
                .await
        ),
        1
    );
    // The operator drops the bad id: the run is now clean.
    std::fs::write(&input, id_list([1, 2, 3, 4])).unwrap();
    assert_eq!(
        exit_code(
            &h.run("enable", &input, &["--rate", "500", "--resume"])
                .await
        ),
        0
    );
    assert_eq!(
        h.sim.stats().requests_per_id.get(&1),
        Some(&1),
        "settled ids are not sent again"
    );
}
