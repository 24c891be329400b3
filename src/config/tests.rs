//! Resolution of whole commands: precedence across flag, env, file and default, and the
//! errors a bad value gives.

use std::collections::HashMap;

use clap::Parser;

use super::*;
use crate::cli::{Cli, Command};

fn parse(argv: &[&str]) -> Command {
    let mut full = vec!["credbulk"];
    full.extend_from_slice(argv);
    Cli::try_parse_from(full).expect("arguments parse").command
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name: &str| map.get(name).cloned()
}

fn check(argv: &[&str], env: &dyn Fn(&str) -> Option<String>) -> Result<CheckConfig, Error> {
    match parse(argv) {
        Command::Check(check_args) => CheckConfig::from_args(check_args, env),
        other => panic!("not check: {other:?}"),
    }
}

fn setting<'a>(config: &'a CheckConfig, key: &str) -> &'a Setting {
    config
        .settings
        .iter()
        .find(|s| s.key == key)
        .unwrap_or_else(|| panic!("no setting {key}"))
}

#[test]
fn flags_win_over_env_which_wins_over_the_file_which_wins_over_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "file-secret\n").unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        "url = \"https://from-file.example\"\nclient-id = \"file-app\"\nclient-secret-file = \"secret\"\nrate = 7\nconcurrency = 3\napi-prefix = \"/iso\"\n",
    )
    .unwrap();
    let env = env_of(&[
        (URL_ENV, "https://from-env.example"),
        (CONFIG_ENV, config_path.to_str().unwrap()),
    ]);
    let c = check(&["check", "--concurrency", "9"], &env).unwrap();
    assert_eq!(c.config_file.as_deref(), Some(config_path.as_path()));
    assert_eq!(c.connection.base.as_str(), "https://from-env.example/");
    assert_eq!(setting(&c, "url").source, Source::Env(URL_ENV));
    assert_eq!(c.connection.client_id, "file-app");
    assert_eq!(
        setting(&c, "client-id").source,
        Source::File(config_path.clone())
    );
    assert_eq!(c.connection.secret.expose(), "file-secret");
    assert!((c.tuning.rate - 7.0).abs() < f64::EPSILON);
    assert_eq!(
        setting(&c, "rate").source,
        Source::File(config_path.clone())
    );
    assert_eq!(c.tuning.concurrency.get(), 9);
    assert_eq!(setting(&c, "concurrency").source, Source::Flag);
    assert_eq!(c.tuning.burst.get(), 1);
    assert_eq!(setting(&c, "burst").source, Source::Default);
    assert_eq!(c.connection.api_prefix, "/iso");
    let secret = setting(&c, "client-secret");
    assert!(secret.value.starts_with("(redacted)"), "{}", secret.value);
    assert!(
        c.settings.iter().all(|s| !s.value.contains("file-secret")),
        "the secret is never a shown value"
    );
}

#[test]
fn the_secret_variable_wins_over_the_files_secret_path() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        "url = \"https://pam\"\nclient-id = \"a\"\nclient-secret-file = \"missing\"\n",
    )
    .unwrap();
    let env = env_of(&[(SECRET_ENV, "env-secret")]);
    let c = check(&["check", "--config", config_path.to_str().unwrap()], &env).unwrap();
    assert_eq!(c.connection.secret.expose(), "env-secret");
    assert_eq!(setting(&c, "client-secret").value, "(redacted)");
}

#[test]
fn a_bad_value_in_the_file_is_named_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, "rate = 0\n").unwrap();
    let env = env_of(&[(SECRET_ENV, "s")]);
    let err = check(
        &[
            "check",
            "--url",
            "https://pam",
            "--client-id",
            "a",
            "--config",
            config_path.to_str().unwrap(),
        ],
        &env,
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), crate::error::exit::USAGE);
    let text = err.to_string();
    assert!(
        text.contains("`rate` in") && text.contains("config.toml"),
        "{text}"
    );
}

#[test]
fn an_explicit_config_file_that_is_missing_is_an_error() {
    let env = env_of(&[]);
    let err = check(&["check", "--config", "/nonexistent/credbulk.toml"], &env).unwrap_err();
    assert_eq!(err.exit_code(), crate::error::exit::USAGE);
    assert!(err.to_string().contains("cannot read config file"), "{err}");
}

#[test]
fn urls_are_joined_without_double_slashes() {
    let env = env_of(&[(SECRET_ENV, "s3cret\n")]);
    let c = check(
        &[
            "check",
            "--no-config",
            "--url",
            "https://pam.example.com/",
            "--client-id",
            "app",
            "--api-prefix",
            "/api/",
        ],
        &env,
    )
    .unwrap();
    assert_eq!(
        c.connection.token_url(),
        "https://pam.example.com/iso/oauth2/token"
    );
    assert_eq!(
        c.connection.credential_url(),
        "https://pam.example.com/api/pam/credential/"
    );
    assert_eq!(c.connection.secret.expose(), "s3cret");
}

#[test]
fn a_missing_secret_is_a_usage_error_naming_the_variable() {
    let err = check(
        &[
            "check",
            "--no-config",
            "--url",
            "https://x",
            "--client-id",
            "app",
        ],
        &env_of(&[]),
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), crate::error::exit::USAGE);
    assert!(err.to_string().contains(SECRET_ENV));
}

#[test]
fn a_url_without_scheme_is_refused() {
    let err = check(
        &[
            "check",
            "--no-config",
            "--url",
            "pam.example.com",
            "--client-id",
            "app",
        ],
        &env_of(&[(SECRET_ENV, "s")]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("--url"));
}

#[test]
fn from_report_with_nothing_to_undo_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("ids.enable.report.csv");
    std::fs::write(
        &report,
        format!(
            "{}\n2,1,already_enabled,400,1043,m,1,1,t,r\n",
            crate::report::CSV_HEADER
        ),
    )
    .unwrap();
    let Command::Disable(args) = parse(&[
        "disable",
        "--no-config",
        "--from-report",
        report.to_str().unwrap(),
        "--url",
        "https://pam",
        "--client-id",
        "a",
    ]) else {
        panic!("not disable")
    };
    let err = RunConfig::from_args(
        Operation::Disable,
        args,
        &env_of(&[(SECRET_ENV, "s")]),
        false,
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), crate::error::exit::USAGE);
    assert!(err.to_string().contains("no `enabled` rows"), "{err}");
}

#[test]
fn resume_command_adds_resume_and_quotes_odd_words() {
    let cmd = validate::resume_command(
        ["/usr/bin/credbulk", "enable", "my ids.csv", "--dry-run"]
            .into_iter()
            .map(String::from),
    );
    assert_eq!(cmd, "credbulk enable 'my ids.csv' --resume");
}

#[test]
fn default_report_sits_beside_the_input() {
    let p = default_report_path(&InputSource::Path("/data/ids.csv".into()), "enable");
    assert_eq!(p, PathBuf::from("/data/ids.enable.report.csv"));
    let q = default_report_path(&InputSource::Path("/data/ids.csv".into()), "disable");
    assert_eq!(q, PathBuf::from("/data/ids.disable.report.csv"));
    assert_eq!(
        default_report_path(&InputSource::Stdin, "enable"),
        PathBuf::from("credbulk-stdin.enable.report.csv")
    );
}

#[test]
fn every_missing_required_setting_is_reported_at_once() {
    let err = check(&["check", "--no-config"], &env_of(&[])).unwrap_err();
    assert_eq!(err.exit_code(), crate::error::exit::USAGE);
    let text = err.to_string();
    for wanted in [
        "--url",
        URL_ENV,
        "--client-id",
        CLIENT_ID_ENV,
        "--client-secret-file",
        SECRET_ENV,
    ] {
        assert!(text.contains(wanted), "{wanted} in: {text}");
    }
    assert_eq!(text.lines().count(), 2, "one line and its hint: {text}");
    // Only what is missing is listed.
    let env = env_of(&[(URL_ENV, "https://pam.example.com")]);
    let text = check(&["check", "--no-config"], &env)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains(CLIENT_ID_ENV) && text.contains(SECRET_ENV),
        "{text}"
    );
    assert!(!text.contains(URL_ENV), "{text}");
}

#[test]
fn an_error_about_a_value_from_the_environment_names_the_variable_not_the_flag() {
    let env = env_of(&[
        (URL_ENV, "pam.example.com"),
        (CLIENT_ID_ENV, "app"),
        (SECRET_ENV, "s3cret"),
    ]);
    let text = check(&["check", "--no-config"], &env)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains(&format!("{URL_ENV} \"pam.example.com\"")),
        "{text}"
    );
    assert!(!text.contains("--url \""), "{text}");
    // The same value typed as a flag is named as the flag.
    let text = check(&["check", "--no-config", "--url", "pam.example.com"], &env)
        .unwrap_err()
        .to_string();
    assert!(text.contains("--url \"pam.example.com\""), "{text}");
    let env = env_of(&[
        (URL_ENV, "http://pam.example.com"),
        (CLIENT_ID_ENV, "app"),
        (SECRET_ENV, "s3cret"),
    ]);
    let text = check(&["check", "--no-config"], &env)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains(URL_ENV),
        "plain http from the variable: {text}"
    );
}

#[test]
fn rate_auto_comes_from_the_flag_or_the_file_with_its_ceiling() {
    let env = env_of(&[(SECRET_ENV, "s")]);
    let base = [
        "check",
        "--url",
        "https://pam",
        "--client-id",
        "a",
        "--no-config",
    ];
    let c = check(&[&base[..], &["--rate", "auto"]].concat(), &env).unwrap();
    assert!((c.tuning.mode == RateMode::Auto));
    assert!((c.tuning.rate - DEFAULT_RATE_MAX).abs() < f64::EPSILON);
    assert_eq!(setting(&c, "rate").value, "auto");
    assert_eq!(setting(&c, "rate-max").source, Source::Default);
    let c = check(
        &[&base[..], &["--rate", "AUTO", "--rate-max", "40"]].concat(),
        &env,
    )
    .unwrap();
    assert!((c.tuning.mode == RateMode::Auto) && (c.tuning.rate - 40.0).abs() < f64::EPSILON);

    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, "rate = \"auto\"\nrate-max = 250\n").unwrap();
    let with_file = [
        "check",
        "--url",
        "https://pam",
        "--client-id",
        "a",
        "--config",
        config_path.to_str().unwrap(),
    ];
    let c = check(&with_file, &env).unwrap();
    assert!((c.tuning.mode == RateMode::Auto) && (c.tuning.rate - 250.0).abs() < f64::EPSILON);
    // A fixed --rate typed over the file's auto pins the pace; the file's ceiling stays unused.
    let c = check(&[&with_file[..], &["--rate", "5"]].concat(), &env).unwrap();
    assert!(!(c.tuning.mode == RateMode::Auto) && (c.tuning.rate - 5.0).abs() < f64::EPSILON);
    // The default is the fixed pace.
    let c = check(&base, &env).unwrap();
    assert!(!(c.tuning.mode == RateMode::Auto) && (c.tuning.rate - 10.0).abs() < f64::EPSILON);
}

#[test]
fn rate_max_without_rate_auto_or_out_of_range_is_a_usage_error() {
    let env = env_of(&[(SECRET_ENV, "s")]);
    let base = [
        "check",
        "--url",
        "https://pam",
        "--client-id",
        "a",
        "--no-config",
    ];
    let err = check(
        &[&base[..], &["--rate", "5", "--rate-max", "50"]].concat(),
        &env,
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), crate::error::exit::USAGE);
    assert!(err.to_string().contains("--rate auto"), "{err}");
    let err = check(
        &[&base[..], &["--rate", "auto", "--rate-max", "0"]].concat(),
        &env,
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), crate::error::exit::USAGE);
    assert!(
        err.to_string().contains("--rate-max 0 is out of range"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, "rate = \"fast\"\n").unwrap();
    let err = check(
        &[
            "check",
            "--url",
            "https://pam",
            "--client-id",
            "a",
            "--config",
            config_path.to_str().unwrap(),
        ],
        &env,
    )
    .unwrap_err();
    assert!(err.to_string().contains("\"auto\""), "{err}");
}
