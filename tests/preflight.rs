//! `credbulk check` against the simulator: the effective settings with their sources, and the
//! three exit codes (0 token fetched, 2 configuration, 3 refused).

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
    assert_eq!((stats.token_fetches, stats.api_requests), (1, 0));
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
