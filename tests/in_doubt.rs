//! In doubt is never forgotten (issue 8 item 3, design.md invariant 7): an id whose change may
//! have been applied without an answer is written to the journal beside the report before it is
//! sent, so whatever stops the run, a later "already" answer for it reads `enabled`, and the
//! rollback from the report undoes it.

mod common;

use std::path::Path;

use common::{Harness, exit_code, id_list, last_rows};
use credbulk::sim::{Credentials, Faults, SimConfig, SimHandle};

/// The simulator's current state of ids `1..=n`, to seed the next simulator with.
fn snapshot(sim: &SimHandle, n: u64) -> Credentials {
    let mut c = Credentials::default();
    for id in 1..=n {
        c.insert(id, sim.credential(id).unwrap());
    }
    c
}

#[tokio::test]
async fn an_answer_lost_in_one_run_is_confirmed_as_enabled_by_the_next_and_rolled_back() {
    const IDS: u64 = 6;
    // Every answer is lost after the change is applied.
    let lossy = Harness::start(SimConfig {
        credentials: Credentials::generate(IDS),
        faults: Faults {
            lost: 1.0,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let input = lossy.file("ids.csv", id_list(1..=IDS));
    let report = lossy.dir.path().join("ids.enable.report.csv");
    let report_arg = report.to_str().unwrap();
    let first = lossy
        .run(
            "enable",
            &input,
            &["--rate", "500", "--max-attempts", "1", "--max-outage", "1"],
        )
        .await;
    assert_ne!(exit_code(&first), 0, "{first:?}");
    assert_eq!(
        lossy.sim.stats().activations.len() as u64,
        IDS,
        "all applied"
    );

    // The same appliance, answering again (a new simulator seeded with its state).
    let healthy = Harness::start(SimConfig {
        credentials: snapshot(&lossy.sim, IDS),
        ..SimConfig::default()
    })
    .await;
    let mut args = healthy.connection_args();
    args.extend(["--rate", "500", "--resume", "--report", report_arg].map(String::from));
    let resumed = run_cli("enable", input.to_str().unwrap(), &args).await;
    assert_eq!(exit_code(&resumed), 0, "{resumed:?}");
    let last = last_rows(&report);
    assert_eq!(last.len() as u64, IDS);
    for row in last.values() {
        assert_eq!(row.outcome, "enabled", "{row:?}");
        assert!(
            row.message
                .starts_with("confirmed after an earlier run's unanswered attempt"),
            "{row:?}"
        );
    }
    let mut args = healthy.connection_args();
    args.extend(["--from-report", report_arg, "--rate", "500"].map(String::from));
    let undone = run_cli("disable", "", &args).await;
    assert_eq!(exit_code(&undone), 0, "{undone:?}");
    assert!((1..=IDS).all(|id| !healthy.sim.credential(id).unwrap().active));
    assert!(
        !Path::new(&format!("{report_arg}.inflight")).exists(),
        "a run that ends with nothing in doubt leaves no journal"
    );
}

#[tokio::test]
async fn a_rollback_from_a_run_never_resumed_undoes_the_ids_it_left_in_doubt() {
    const IDS: u64 = 6;
    // Every answer is lost after the change is applied, and the operator rolls back at once,
    // without resuming the enable run first.
    let lossy = Harness::start(SimConfig {
        credentials: Credentials::generate(IDS),
        faults: Faults {
            lost: 1.0,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let input = lossy.file("ids.csv", id_list(1..=IDS));
    let report = lossy.dir.path().join("ids.enable.report.csv");
    let report_arg = report.to_str().unwrap();
    let first = lossy
        .run(
            "enable",
            &input,
            &["--rate", "500", "--max-attempts", "1", "--max-outage", "1"],
        )
        .await;
    assert_ne!(exit_code(&first), 0, "{first:?}");
    assert!((1..=IDS).all(|id| lossy.sim.credential(id).unwrap().active));
    assert!(
        last_rows(&report).values().all(|r| r.outcome != "enabled"),
        "no row proves a change"
    );

    let healthy = Harness::start(SimConfig {
        credentials: snapshot(&lossy.sim, IDS),
        ..SimConfig::default()
    })
    .await;
    let mut args = healthy.connection_args();
    args.extend(["--from-report", report_arg, "--rate", "500"].map(String::from));
    let undone = run_cli("disable", "", &args).await;
    assert_eq!(exit_code(&undone), 0, "{undone:?}");
    assert!(
        (1..=IDS).all(|id| !healthy.sim.credential(id).unwrap().active),
        "the rollback left active credentials the enable run may have enabled"
    );
}

async fn run_cli(
    command: &str,
    input: &str,
    args: &[String],
) -> Result<credbulk::app::Completed, credbulk::error::Error> {
    let mut words = vec!["credbulk".to_owned(), command.to_owned()];
    if !input.is_empty() {
        words.push(input.to_owned());
    }
    words.extend(args.iter().cloned());
    words.extend(["--no-config".to_owned(), "--no-progress".to_owned()]);
    let cli = <credbulk::cli::Cli as clap::Parser>::try_parse_from(words).unwrap();
    credbulk::app::execute(
        cli.command,
        std::sync::Arc::new(credbulk::control::Control::new()),
    )
    .await
}

/// Stopped by signals: SIGINT and `kill -9` are POSIX.
#[cfg(unix)]
mod signalled {
    use std::path::Path;
    use std::process::{Child, Stdio};
    use std::time::Duration;

    use crate::common::{self, BlockingSim, binary, id_list, last_rows, signal, wait_for_rows};
    use credbulk::sim::{Credentials, Faults, SimConfig};

    const IDS: u64 = 300;

    fn start(sim: &BlockingSim, input: &Path, extra: &[&str]) -> Child {
        binary(&sim.handle().url())
            .args([
                "enable",
                input.to_str().unwrap(),
                "--no-progress",
                "--max-attempts",
                "8",
            ])
            .args(["--rate", "300", "--burst", "8", "--concurrency", "8"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Runs `command ARGS --resume` to exit 0 (at most a few runs), the lost answers going on.
    fn resume_until_done(sim: &BlockingSim, args: &[&str]) {
        for _ in 0..6 {
            let out = binary(&sim.handle().url())
                .args(args)
                .args([
                    "--rate",
                    "2000",
                    "--concurrency",
                    "8",
                    "--max-attempts",
                    "8",
                ])
                .args(["--resume", "--no-progress"])
                .output()
                .unwrap();
            match out.status.code() {
                Some(0) => return,
                Some(1) => {}
                other => panic!("{other:?}: {}", String::from_utf8_lossy(&out.stderr)),
            }
        }
        panic!("resume never ended with exit 0");
    }

    #[test]
    fn lost_answers_sigint_and_kill_9_then_resume_leave_every_row_enabled_and_rollback_undoes_all()
    {
        let sim = BlockingSim::start(SimConfig {
            credentials: Credentials::generate(IDS),
            latency: Duration::from_millis(5),
            faults: Faults {
                lost: 0.08,
                ..Faults::default()
            },
            seed: 8,
            ..SimConfig::default()
        });
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("ids.csv");
        std::fs::write(&input, id_list(1..=IDS)).unwrap();
        let report = dir.path().join("ids.enable.report.csv");

        let first = start(&sim, &input, &[]);
        wait_for_rows(&report, 60);
        signal(&first, "INT");
        assert_eq!(first.wait_with_output().unwrap().status.code(), Some(130));
        let so_far = common::rows(&report).len();
        let mut second = start(&sim, &input, &["--resume"]);
        wait_for_rows(&report, so_far + 60);
        signal(&second, "KILL");
        second.wait().unwrap();

        let input_arg = input.to_str().unwrap();
        resume_until_done(&sim, &["enable", input_arg]);
        let last = last_rows(&report);
        assert_eq!(last.len() as u64, IDS, "every id has a row");
        let wrong: Vec<_> = last.values().filter(|r| r.outcome != "enabled").collect();
        assert!(
            wrong.is_empty(),
            "from an all-disabled start every id reads enabled: {wrong:?}"
        );
        let stats = sim.handle().stats();
        assert!(stats.activations.values().all(|n| *n == 1));
        assert!(
            stats.lost_answers.values().sum::<u32>() > 0,
            "answers were lost"
        );

        resume_until_done(
            &sim,
            &["disable", "--from-report", report.to_str().unwrap()],
        );
        let active: Vec<u64> = (1..=IDS)
            .filter(|id| sim.handle().credential(*id).unwrap().active)
            .collect();
        assert!(
            active.is_empty(),
            "the rollback left these active: {active:?}"
        );
    }
}
