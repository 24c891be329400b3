//! `credbulk check` and `--dry-run` against the simulator: the effective settings with their
//! sources, the exit codes (0 proven, 2 configuration, 3 refused), and the probe of the
//! credential API (a PUT for an id that cannot exist, expecting 1007) that proves the URL, the
//! prefix and the token, and catches a read-only authorization and a wrong prefix.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use clap::Parser;
use common::{Harness, exit_code};
use credbulk::app::{Completed, execute_in};
use credbulk::cli::Cli;
use credbulk::control::Control;
use credbulk::error::Error;
use credbulk::sim::{Credentials, SimConfig};

async fn check(args: &[&str], env: &[(&str, &str)]) -> Result<Completed, Error> {
    let mut words = vec!["credbulk", "check"];
    words.extend_from_slice(args);
    let cli = Cli::try_parse_from(words).expect("arguments parse");
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = move |name: &str| env.get(name).cloned();
    execute_in(cli.command, Arc::new(Control::new()), &lookup).await
}

async fn sim() -> Harness {
    Harness::start(SimConfig {
        credentials: Credentials::generate(5),
        ..SimConfig::default()
    })
    .await
}

#[tokio::test]
async fn check_shows_each_setting_with_its_source_and_exits_0() {
    let h = sim().await;
    let config = h.file(
        "config.toml",
        "client-id = \"demo\"\nclient-secret-file = \"secret\"\nrate = 3\n",
    );
    let url = h.sim.url();
    let result = check(
        &["--concurrency", "2"],
        &[
            ("SENHASEGURA_URL", url.as_str()),
            ("CREDBULK_CONFIG", config.to_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(exit_code(&result), 0);
    let Ok(Completed::Check(report)) = result else {
        panic!("not a check report")
    };
    let text = report.render();
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or_else(|| panic!("no {key} line in\n{text}"))
            .to_owned()
    };
    assert!(line("url").ends_with("(env SENHASEGURA_URL)"), "{text}");
    assert!(line("client-id").contains("(file "), "{text}");
    assert!(line("client-secret").contains("(redacted)"), "{text}");
    assert!(
        line("rate").contains(" 3 ") && line("rate").contains("(file "),
        "{text}"
    );
    assert!(line("concurrency").ends_with("(flag)"), "{text}");
    assert!(line("burst").ends_with("(default)"), "{text}");
    assert!(text.contains("lifetime 3600 s"), "{text}");
    assert!(!text.contains("demo-secret"), "the secret never shows");
    let stats = h.sim.stats();
    assert_eq!(
        (stats.token_fetches, stats.api_requests),
        (1, 1),
        "one token, one probe"
    );
}

#[tokio::test]
async fn check_exits_3_when_the_token_endpoint_refuses_the_client() {
    let h = sim().await;
    std::fs::write(&h.secret_file, "wrong\n").unwrap();
    let url = h.sim.url();
    let secret = h.secret_file.display().to_string();
    let result = check(
        &[
            "--no-config",
            "--url",
            &url,
            "--client-id",
            "demo",
            "--client-secret-file",
            &secret,
        ],
        &[],
    )
    .await;
    assert_eq!(exit_code(&result), 3);
    let text = result.unwrap_err().to_string();
    assert!(
        text.contains("rejected the client") && text.contains("hint:"),
        "{text}"
    );
    assert_eq!(h.sim.stats().token_requests, 1, "a refusal is not retried");
}

#[tokio::test]
async fn check_exits_2_on_a_configuration_error_before_any_request() {
    let h = sim().await;
    let url = h.sim.url();
    let secret = h.secret_file.display().to_string();
    let config = h.file("bad.toml", "url = \"x\"\nratee = 5\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--config", config.to_str().unwrap()],
            "unknown key `ratee`",
        ),
        (
            vec!["--no-config", "--url", &url, "--client-id", "demo"],
            "no client secret",
        ),
        (
            vec![
                "--no-config",
                "--url",
                "http://pam.example.com",
                "--client-id",
                "demo",
                "--client-secret-file",
                &secret,
            ],
            "--allow-http",
        ),
        (
            vec![
                "--no-config",
                "--url",
                &url,
                "--client-id",
                "demo",
                "--client-secret-file",
                &secret,
                "--rate",
                "0",
            ],
            "--rate",
        ),
    ];
    for (args, expected) in cases {
        let result = check(&args, &[]).await;
        assert_eq!(exit_code(&result), 2, "{args:?}");
        let text = result.unwrap_err().to_string();
        assert!(text.contains(expected), "{args:?}: {text}");
        assert!(text.contains("hint:"), "{text}");
    }
    assert_eq!(h.sim.stats().total_requests, 0);
}

fn connection(h: &Harness) -> Vec<String> {
    vec![
        "--no-config".to_owned(),
        "--url".to_owned(),
        h.sim.url(),
        "--client-id".to_owned(),
        "demo".to_owned(),
        "--client-secret-file".to_owned(),
        h.secret_file.display().to_string(),
    ]
}

async fn check_sim(h: &Harness, extra: &[&str]) -> Result<Completed, Error> {
    let mut args = connection(h);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    check(&args, &[]).await
}

#[tokio::test]
async fn check_probes_the_credential_api_with_an_id_that_cannot_exist() {
    let h = sim().await;
    let result = check_sim(&h, &[]).await;
    assert_eq!(exit_code(&result), 0, "{result:?}");
    let Ok(Completed::Check(report)) = result else {
        panic!("not a check report")
    };
    let text = report.render();
    assert!(
        text.contains("2147483647") && text.contains("1007"),
        "{text}"
    );
    let stats = h.sim.stats();
    assert_eq!(stats.requests_per_id.get(&2_147_483_647), Some(&1));
    assert!(stats.activations.is_empty(), "nothing was changed");

    let result = check_sim(&h, &["--probe-id", "999"]).await;
    assert_eq!(exit_code(&result), 0, "{result:?}");
    assert_eq!(h.sim.stats().requests_per_id.get(&999), Some(&1));
}

#[tokio::test]
async fn check_exits_3_on_a_read_only_authorization() {
    let h = Harness::start(SimConfig {
        read_only: true,
        ..SimConfig::default()
    })
    .await;
    let result = check_sim(&h, &[]).await;
    assert_eq!(exit_code(&result), 3, "{result:?}");
    let text = result.unwrap_err().to_string();
    assert!(
        text.contains("read-only") && text.contains("1039"),
        "{text}"
    );
}

#[tokio::test]
async fn check_exits_3_naming_the_prefix_that_works() {
    let h = Harness::start(SimConfig {
        prefixes: vec!["/iso".to_owned()],
        ..SimConfig::default()
    })
    .await;
    let result = check_sim(&h, &[]).await;
    assert_eq!(exit_code(&result), 3, "{result:?}");
    let text = result.unwrap_err().to_string();
    assert!(text.contains("Resource sub not found"), "{text}");
    assert!(text.contains("--api-prefix /iso"), "{text}");
    // The hint is a path that works.
    let result = check_sim(&h, &["--api-prefix", "/iso"]).await;
    assert_eq!(exit_code(&result), 0, "{result:?}");
}

#[tokio::test]
async fn a_custom_prefix_that_kong_has_no_route_for_is_named_with_the_prefix_that_works() {
    for (served, works) in [("/api", "/api"), ("/iso", "/iso")] {
        let h = Harness::start(SimConfig {
            prefixes: vec![served.to_owned()],
            ..SimConfig::default()
        })
        .await;
        let result = check_sim(&h, &["--api-prefix", "/nope"]).await;
        assert_eq!(exit_code(&result), 3, "{result:?}");
        let text = result.unwrap_err().to_string();
        assert!(text.contains("/nope"), "{text}");
        assert!(
            text.contains(&format!("pass --api-prefix {works}")),
            "{text}"
        );
        assert!(
            !text.contains("fresh token"),
            "not blamed on the token: {text}"
        );
        // The hint is a path that works.
        let result = check_sim(&h, &["--api-prefix", works]).await;
        assert_eq!(exit_code(&result), 0, "{result:?}");
    }
}

#[tokio::test]
async fn a_probe_id_that_exists_is_reported_and_check_exits_1() {
    let h = sim().await;
    let result = check_sim(&h, &["--probe-id", "3"]).await;
    assert_eq!(exit_code(&result), 1, "{result:?}");
    let Ok(Completed::Check(report)) = result else {
        panic!("not a check report")
    };
    let text = report.render();
    assert!(
        text.contains("credential 3 exists") && text.contains("enabled"),
        "{text}"
    );
    assert!(!text.contains("nothing was changed"), "{text}");
}

#[tokio::test]
async fn dry_run_runs_the_same_probe() {
    let cases = [
        (SimConfig::default(), 0, ""),
        (
            SimConfig {
                read_only: true,
                ..SimConfig::default()
            },
            3,
            "read-only",
        ),
        (
            SimConfig {
                prefixes: vec!["/iso".to_owned()],
                ..SimConfig::default()
            },
            3,
            "--api-prefix /iso",
        ),
    ];
    for (config, code, expected) in cases {
        let h = Harness::start(SimConfig {
            credentials: Credentials::generate(5),
            ..config
        })
        .await;
        let input = h.file("ids.csv", "id\n1\n2\n");
        let result = h.run("enable", &input, &["--dry-run"]).await;
        assert_eq!(exit_code(&result), code, "{result:?}");
        match result {
            Ok(Completed::Plan(plan)) => {
                let text = plan.render();
                assert!(text.contains("1007"), "{text}");
            }
            Err(e) => assert!(e.to_string().contains(expected), "{e}"),
            Ok(other) => panic!("not a plan: {other:?}"),
        }
        let stats = h.sim.stats();
        assert!(stats.activations.is_empty(), "a dry run changes nothing");
        assert_eq!(
            stats.requests_per_id.keys().copied().collect::<Vec<_>>(),
            vec![2_147_483_647]
        );
    }
}
