//! Rollback and the dry run against the simulator: `disable --from-report` undoes exactly what
//! an enable run changed, and `--dry-run` sends nothing but one token request and one probe.

mod common;

use std::sync::Arc;

use clap::Parser;
use common::{Harness, exit_code, id_list, rows};
use credbulk::app::{Completed, execute};
use credbulk::cli::Cli;
use credbulk::control::Control;
use credbulk::error::Error;
use credbulk::sim::{Credential, Credentials, SimConfig};

/// Ids 1..=10 disabled, 11 and 12 already active.
fn credentials() -> Credentials {
    let mut c = Credentials::generate(10);
    for id in [11, 12] {
        c.insert(
            id,
            Credential {
                active: true,
                ..Credential::disabled()
            },
        );
    }
    c
}

/// Runs `credbulk ARGS <connection flags> --no-progress --no-config` in-process.
async fn run_argv(h: &Harness, args: &[&str]) -> Result<Completed, Error> {
    let mut words: Vec<String> = vec!["credbulk".into()];
    words.extend(args.iter().map(|s| (*s).to_owned()));
    words.extend(h.connection_args());
    words.extend(["--no-progress".into(), "--no-config".into()]);
    let cli = Cli::try_parse_from(words).expect("arguments parse");
    execute(cli.command, Arc::new(Control::new())).await
}

#[tokio::test]
async fn disable_from_report_undoes_exactly_the_ids_the_enable_run_enabled() {
    let h = Harness::start(SimConfig {
        credentials: credentials(),
        ..SimConfig::default()
    })
    .await;
    // 1..=6 get enabled, 11 and 12 were active already, 999 does not exist, x is invalid.
    let input = h.file("ids.csv", "id\n1\n2\n11\n3\n999\n4\nx\n12\n5\n6\n2\n");
    let result = h.run("enable", &input, &["--rate", "500"]).await;
    assert_eq!(exit_code(&result), 1, "999 and x failed");
    let report = h.dir.path().join("ids.enable.report.csv");

    let result = run_argv(
        &h,
        &[
            "disable",
            "--from-report",
            report.to_str().unwrap(),
            "--rate",
            "500",
        ],
    )
    .await;
    assert_eq!(exit_code(&result), 0);
    for id in 1..=6 {
        assert!(!h.sim.credential(id).unwrap().active, "{id} rolled back");
    }
    for id in [11, 12] {
        assert!(
            h.sim.credential(id).unwrap().active,
            "{id} was active before the run and stays so"
        );
    }
    let deletes = h
        .sim
        .stats()
        .requests
        .get("DELETE /api/pam/credential")
        .cloned();
    assert_eq!(
        deletes.map(|by_status| by_status.values().sum::<u64>()),
        Some(6)
    );

    let back = rows(&h.dir.path().join("ids.enable.disable.report.csv"));
    assert_eq!(back.len(), 6);
    assert!(back.iter().all(|r| r.outcome == "disabled"));
    let enabled_rows: Vec<(u64, String)> = rows(&report)
        .into_iter()
        .filter(|r| r.outcome == "enabled")
        .map(|r| (r.line, r.id))
        .collect();
    assert_eq!(enabled_rows.len(), 6);
    let report_text = std::fs::read_to_string(&report).unwrap();
    let report_lines: Vec<&str> = report_text.lines().collect();
    for row in &back {
        // `line` points at the row of the enable report that decided the id.
        let source = report_lines[usize::try_from(row.line).unwrap() - 1];
        assert!(
            source.contains(&format!(",{},enabled,", row.id)),
            "line {} of the enable report is {source}",
            row.line
        );
    }
}

#[tokio::test]
async fn disable_from_a_jsonl_report_takes_the_last_row_per_id() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(10),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=4));
    let report = h.dir.path().join("run.jsonl");
    let result = h
        .run(
            "enable",
            &input,
            &["--rate", "500", "--report", report.to_str().unwrap()],
        )
        .await;
    assert_eq!(exit_code(&result), 0);
    // A later row for id 3 (as a resumed run might append) decides: it is no longer `enabled`.
    let mut text = std::fs::read_to_string(&report).unwrap();
    text.push_str("{\"line\":9,\"id\":\"3\",\"outcome\":\"timeout\",\"http_status\":null,\"api_code\":null,\"message\":\"m\",\"attempts\":5,\"elapsed_ms\":1,\"finished_at\":\"t\",\"run_id\":\"r\"}\n");
    std::fs::write(&report, text).unwrap();
    let back = h.dir.path().join("back.csv");
    let result = run_argv(
        &h,
        &[
            "disable",
            "--from-report",
            report.to_str().unwrap(),
            "--rate",
            "500",
            "--report",
            back.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(exit_code(&result), 0);
    let mut ids: Vec<String> = rows(&back).into_iter().map(|r| r.id).collect();
    ids.sort();
    assert_eq!(ids, ["1", "2", "4"]);
    assert!(h.sim.credential(3).unwrap().active);
}

#[tokio::test]
async fn from_report_with_an_input_too_is_refused_by_the_parser() {
    let parsed = Cli::try_parse_from(["credbulk", "disable", "ids.csv", "--from-report", "r.csv"]);
    assert!(
        parsed.is_err(),
        "INPUT and --from-report exclude each other"
    );
    assert!(
        Cli::try_parse_from(["credbulk", "disable"]).is_err(),
        "one of them is needed"
    );
}

#[tokio::test]
async fn a_dry_run_fetches_one_token_and_sends_no_change() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(100),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", "id\n1\n2\n3\nabc\n2\n4\n");
    for command in ["enable", "disable"] {
        let result = h
            .run(command, &input, &["--dry-run", "--rate", "2"])
            .await
            .unwrap();
        let Completed::Plan(plan) = &result else {
            panic!("a dry run gives a plan, got {result:?}");
        };
        assert_eq!((plan.to_send, plan.invalid, plan.duplicate), (4, 1, 1));
        let text = plan.render();
        assert!(text.contains("nothing was changed"), "{text}");
        assert!(text.contains("about 2s"), "4 ids at 2/s: {text}");
        assert_eq!(result.exit_code(), 0);
    }
    let stats = h.sim.stats();
    assert_eq!(stats.api_requests, 2, "only the probe of each dry run");
    assert!(
        stats.activations.is_empty() && stats.deactivations.is_empty(),
        "no change"
    );
    assert_eq!(
        stats.total_requests, 4,
        "one token request and one probe per dry run"
    );
    assert_eq!(stats.token_fetches, 2);
    assert!(
        !h.dir.path().join("ids.enable.report.csv").exists(),
        "no report"
    );
}

#[tokio::test]
async fn a_dry_run_with_resume_counts_the_ids_the_report_already_decided() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(10),
        ..SimConfig::default()
    })
    .await;
    let first = h.file("first.csv", id_list(1..=3));
    let report = h.dir.path().join("r.csv");
    let report_arg = report.to_str().unwrap();
    let result = h
        .run("enable", &first, &["--rate", "500", "--report", report_arg])
        .await;
    assert_eq!(exit_code(&result), 0);
    let all = h.file("all.csv", id_list(1..=8));
    let result = h
        .run(
            "enable",
            &all,
            &["--dry-run", "--resume", "--report", report_arg],
        )
        .await
        .unwrap();
    let Completed::Plan(plan) = result else {
        panic!("not a plan")
    };
    assert_eq!((plan.to_send, plan.settled_earlier), (5, 3));
}

#[tokio::test]
async fn a_rollback_from_a_jsonl_report_writes_jsonl_beside_it() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(4),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=4));
    let report = h.dir.path().join("run.jsonl");
    let report_arg = report.to_str().unwrap();
    let result = h
        .run("enable", &input, &["--rate", "500", "--report", report_arg])
        .await;
    assert_eq!(exit_code(&result), 0);
    let result = run_argv(
        &h,
        &["disable", "--from-report", report_arg, "--rate", "500"],
    )
    .await;
    assert_eq!(exit_code(&result), 0);
    let back = h.dir.path().join("run.disable.report.jsonl");
    let text = std::fs::read_to_string(&back).expect("the rollback report is JSON lines");
    let outcomes: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<credbulk::report::Row>(l)
                .unwrap()
                .outcome
        })
        .collect();
    assert_eq!(outcomes, ["disabled"; 4]);
    assert!((1..=4).all(|id| !h.sim.credential(id).unwrap().active));
}

#[tokio::test]
async fn a_report_named_json_is_refused_not_written_as_csv() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(2),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=2));
    let report = h.dir.path().join("run.json");
    let result = h
        .run("enable", &input, &["--report", report.to_str().unwrap()])
        .await;
    assert_eq!(exit_code(&result), 2);
    let err = result.unwrap_err().to_string();
    assert!(err.contains(".jsonl"), "{err}");
    assert!(!report.exists());
    assert_eq!(h.sim.stats().api_requests, 0);
}

#[tokio::test]
async fn a_rollback_from_a_report_still_being_written_is_refused() {
    let h = Harness::start(SimConfig {
        credentials: credentials(),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=3));
    assert_eq!(
        exit_code(&h.run("enable", &input, &["--rate", "500"]).await),
        0
    );
    let report = h.dir.path().join("ids.enable.report.csv");
    // The enable run is still going (resumed, say): it holds the report's lock.
    let held = credbulk::report::ReportLock::acquire(&report).unwrap();
    let args = ["disable", "--from-report", report.to_str().unwrap()];
    let result = run_argv(&h, &args).await;
    assert_eq!(exit_code(&result), 2, "{result:?}");
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("still being written") && err.contains("pid "),
        "{err}"
    );
    assert!(
        (1..=3).all(|id| h.sim.credential(id).unwrap().active),
        "nothing sent"
    );
    drop(held);
    assert_eq!(exit_code(&run_argv(&h, &args).await), 0);
    assert!((1..=3).all(|id| !h.sim.credential(id).unwrap().active));
}
