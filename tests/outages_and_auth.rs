//! A whole run through rate limiting, an appliance outage, an appliance restart, a token
//! endpoint hiccup and a rotated secret: true reports, nothing applied twice, a clear exit code
//! (design.md §4, §6, §10 "Outage by evidence").

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Harness, exit_code, id_list, last_rows, rows};
use credbulk::app::Completed;
use credbulk::control::{Control, Ending};
use credbulk::error::AbortReason;
use credbulk::sim::{self, Credentials, SimConfig, SimState};

async fn wait_for_rows(path: &std::path::Path, n: usize) {
    for _ in 0..500 {
        if std::fs::read_to_string(path).is_ok_and(|t| t.lines().count() > n) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the report never reached {n} rows");
}

#[tokio::test]
async fn rate_limit_answers_pause_dispatch_and_every_id_still_ends_enabled() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(90),
        rate_limit: Some(30),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=90));
    let result = h
        .run(
            "enable",
            &input,
            &["--rate", "100", "--burst", "10", "--concurrency", "8"],
        )
        .await;
    assert_eq!(exit_code(&result), 0, "{result:?}");
    let stats = h.sim.stats();
    let limited: u64 = stats.requests.values().filter_map(|by| by.get(&429)).sum();
    assert!(limited > 0, "the simulator's limit was hit");
    assert!(stats.activations.values().all(|n| *n == 1));
    assert_eq!(stats.activations.len(), 90);
}

#[tokio::test]
async fn an_outage_past_the_limit_aborts_with_exit_3_and_resume_finishes_the_job() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(400),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=400));
    let report = h.dir.path().join("ids.enable.report.csv");
    let run = {
        let args = h.connection_args();
        let input = input.clone();
        tokio::spawn(async move {
            let mut command_line = vec![
                "credbulk".to_owned(),
                "enable".into(),
                input.display().to_string(),
            ];
            command_line.extend(args);
            command_line.extend(
                [
                    "--rate",
                    "100",
                    "--concurrency",
                    "4",
                    "--max-outage",
                    "2",
                    "--no-progress",
                ]
                .map(String::from),
            );
            let cli = <credbulk::cli::Cli as clap::Parser>::try_parse_from(command_line).unwrap();
            credbulk::app::execute(cli.command, Arc::new(Control::new())).await
        })
    };
    wait_for_rows(&report, 50).await;
    h.sim.set_outage(true);
    let result = run.await.unwrap();
    assert_eq!(exit_code(&result), 3);
    let Ok(Completed::Run { summary, .. }) = &result else {
        panic!("{result:?}")
    };
    assert!(
        matches!(summary.ending, Ending::Aborted(AbortReason::Outage { .. })),
        "{:?}",
        summary.ending
    );
    assert!(summary.render().contains("looks down"));
    let first = rows(&report);
    // Ids wait for the appliance instead of failing: every row written is a success.
    assert!(
        first.iter().all(|r| r.outcome == "enabled"),
        "no id failed by the outage"
    );
    assert!(first.len() < 400);

    h.sim.set_outage(false);
    let result = h
        .run("enable", &input, &["--rate", "1000", "--resume"])
        .await;
    assert_eq!(exit_code(&result), 0);
    let last = last_rows(&report);
    assert_eq!(last.len(), 400);
    assert!(h.sim.stats().activations.values().all(|n| *n == 1));
}

#[tokio::test]
async fn a_token_endpoint_hiccup_mid_run_is_retried_without_failing_any_id() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(300),
        token_lifetime: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=300));
    let report = h.dir.path().join("ids.enable.report.csv");
    let sim_state = h.sim.state().clone();
    let flip = tokio::spawn({
        let report = report.clone();
        async move {
            wait_for_rows(&report, 30).await;
            sim_state.set_token_endpoint_down(true);
            tokio::time::sleep(Duration::from_millis(2_500)).await;
            sim_state.set_token_endpoint_down(false);
        }
    });
    let result = h
        .run("enable", &input, &["--rate", "100", "--concurrency", "4"])
        .await;
    flip.await.unwrap();
    assert_eq!(exit_code(&result), 0, "{result:?}");
    assert!(rows(&report).iter().all(|r| r.outcome == "enabled"));
    let stats = h.sim.stats();
    let refused: u64 = stats
        .requests
        .iter()
        .filter(|(route, _)| route.contains("oauth2"))
        .filter_map(|(_, by)| by.get(&503))
        .sum();
    assert!(refused > 0, "the token endpoint was down for a while");
}

#[tokio::test]
async fn a_secret_rotated_mid_run_aborts_with_exit_3_and_a_consistent_report() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(400),
        token_lifetime: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await;
    let input = h.file("ids.csv", id_list(1..=400));
    let report = h.dir.path().join("ids.enable.report.csv");
    let sim_state = h.sim.state().clone();
    let rotate = tokio::spawn({
        let report = report.clone();
        async move {
            wait_for_rows(&report, 20).await;
            sim_state.rotate_secret("rotated-secret");
        }
    });
    let result = h
        .run("enable", &input, &["--rate", "100", "--concurrency", "4"])
        .await;
    rotate.await.unwrap();
    assert_eq!(exit_code(&result), 3);
    let Ok(Completed::Run { summary, .. }) = &result else {
        panic!("{result:?}")
    };
    assert!(matches!(
        summary.ending,
        Ending::Aborted(AbortReason::ClientRejected { status: 401, .. })
    ));
    let first = rows(&report);
    assert!(first.len() < 400);
    let mut ids: Vec<_> = first.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), first.len(), "one row per id");
    assert!(first.iter().all(|r| r.outcome == "enabled"));

    std::fs::write(&h.secret_file, "rotated-secret\n").unwrap();
    let result = h
        .run("enable", &input, &["--rate", "1000", "--resume"])
        .await;
    assert_eq!(exit_code(&result), 0);
    assert_eq!(last_rows(&report).len(), 400);
    assert!(h.sim.stats().activations.values().all(|n| *n == 1));
}

/// Serves `state` on `listener` until `stop` fires; the server task ends once it has stopped.
fn serve_until(
    listener: tokio::net::TcpListener,
    state: SimState,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        sim::serve(listener, state, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (stop, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appliance_restart_shorter_than_the_outage_limit_fails_no_id() {
    // The listener really goes away (connections refused) and comes back on the same port with
    // the same state, as an appliance restart does. Issue 8: 31 ids network_error, exit 1.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = SimState::new(SimConfig {
        credentials: Credentials::generate(300),
        ..SimConfig::default()
    });
    let (stop, server) = serve_until(listener, state.clone());
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "demo-secret\n").unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=300)).unwrap();
    let report = dir.path().join("ids.enable.report.csv");
    let run = tokio::spawn({
        let (input, secret) = (input.clone(), secret.clone());
        async move {
            let mut argv: Vec<String> = ["credbulk", "enable"].map(String::from).to_vec();
            argv.push(input.display().to_string());
            argv.extend(
                [
                    "--url",
                    &format!("http://{addr}"),
                    "--client-id",
                    "demo",
                    "--client-secret-file",
                    &secret.display().to_string(),
                    "--rate",
                    "100",
                    "--concurrency",
                    "4",
                    "--max-attempts",
                    "3",
                    "--max-outage",
                    "60",
                    "--no-progress",
                    "--no-config",
                ]
                .map(String::from),
            );
            let cli = <credbulk::cli::Cli as clap::Parser>::try_parse_from(argv).unwrap();
            credbulk::app::execute(cli.command, Arc::new(Control::new())).await
        }
    });
    wait_for_rows(&report, 40).await;
    stop.send(()).unwrap();
    server.await.unwrap();
    let rows_when_down = rows(&report).len();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let (stop, server) = serve_until(listener, state.clone());
    let result = run.await.unwrap();
    assert_eq!(exit_code(&result), 0, "{result:?}");
    let all = rows(&report);
    assert!(rows_when_down < 300, "the restart came mid-run");
    assert_eq!(all.len(), 300);
    let failed: Vec<_> = all.iter().filter(|r| r.outcome != "enabled").collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert!(state.stats().activations.values().all(|n| *n == 1));
    assert_eq!(state.stats().activations.len(), 300);
    stop.send(()).unwrap();
    server.await.unwrap();
}
