//! Every way a run can abort tells the operator, in one line, what to do; so does every failing
//! outcome in the summary.

mod common;

use common::{Harness, exit_code, id_list};
use credbulk::app::Completed;
use credbulk::error::Error;
use credbulk::sim::{Credentials, SimConfig};

/// What the operator reads on stderr for this result.
fn shown(result: &Result<Completed, Error>) -> String {
    match result {
        Ok(Completed::Run { summary, .. }) => summary.render(),
        Ok(other) => panic!("not a run: {other:?}"),
        Err(e) => format!("error: {e}"),
    }
}

async fn abort_text(config: SimConfig, extra: &[&str], setup: impl FnOnce(&Harness)) -> String {
    let h = Harness::start(config).await;
    setup(&h);
    let input = h.file("ids.csv", id_list(1..=40));
    let mut args = vec!["--rate", "500"];
    args.extend_from_slice(extra);
    let result = h.run("enable", &input, &args).await;
    assert_eq!(exit_code(&result), 3, "{}", shown(&result));
    shown(&result)
}

fn sim(n: u64) -> SimConfig {
    SimConfig {
        credentials: Credentials::generate(n),
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn a_read_only_authorization_says_to_grant_read_and_write() {
    let text = abort_text(
        SimConfig {
            read_only: true,
            ..sim(40)
        },
        &[],
        |_| {},
    )
    .await;
    assert!(
        text.contains(
            "hint: ask the administrator to grant the A2A authorization read and write on PAM Core"
        ),
        "{text}"
    );
    assert!(
        text.contains("forbidden") && text.contains("→ the A2A authorization needs read and write"),
        "{text}"
    );
}

#[tokio::test]
async fn a_wrong_prefix_says_to_try_iso() {
    let text = abort_text(
        SimConfig {
            prefixes: vec!["/iso".to_owned()],
            ..sim(40)
        },
        &[],
        |_| {},
    )
    .await;
    assert!(text.contains("--api-prefix /iso"), "{text}");
}

#[tokio::test]
async fn a_refused_client_says_to_check_the_id_and_secret() {
    let text = abort_text(sim(40), &[], |h| {
        std::fs::write(&h.secret_file, "nope\n").unwrap();
    })
    .await;
    assert!(
        text.contains("hint: check SENHASEGURA_CLIENT_ID and the secret"),
        "{text}"
    );
}

#[tokio::test]
async fn a_token_endpoint_that_stays_down_says_to_check_the_url() {
    let text = abort_text(sim(40), &["--max-attempts", "2"], |h| {
        h.sim.set_token_endpoint_down(true);
    })
    .await;
    assert!(
        text.contains("hint: check --url and --token-path"),
        "{text}"
    );
}

#[tokio::test]
async fn an_outage_says_to_wait_and_resume() {
    let text = abort_text(sim(40), &["--max-outage", "1"], |h| {
        h.sim.set_outage(true);
    })
    .await;
    assert!(
        text.contains("hint: wait for the appliance to recover, then re-run with --resume"),
        "{text}"
    );
    assert!(text.contains("--resume"), "{text}");
}
