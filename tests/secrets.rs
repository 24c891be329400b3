//! Invariant 5: no secret or token appears in stdout, stderr (at any log level), the report or
//! the summary, on success, failure and abort paths alike.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{BlockingSim, binary, id_list};
use credbulk::sim::{Credentials, Faults, SimConfig};

const SECRET: &str = "Zebra-S3cret-0f9c";

/// Every output a command leaves: its stdout and stderr, and every file in `dir`.
fn outputs(out: &std::process::Output, dir: &Path) -> Vec<(String, String)> {
    let mut all = vec![
        (
            "stdout".to_owned(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ),
        (
            "stderr".to_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
    ];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n == "secret") {
            continue;
        }
        if let Ok(text) = std::fs::read(&path) {
            all.push((
                path.display().to_string(),
                String::from_utf8_lossy(&text).into_owned(),
            ));
        }
    }
    all
}

fn assert_clean(what: &str, outputs: &[(String, String)], tokens: &[String]) {
    for (name, text) in outputs {
        assert!(
            !text.contains(SECRET),
            "{what}: the client secret appears in {name}"
        );
        for token in tokens {
            assert!(
                !text.contains(token.as_str()),
                "{what}: an issued token appears in {name}"
            );
            // Any fragment of a token is a leak too.
            assert!(
                !text.contains(&token[token.len() - 24..]),
                "{what}: a token fragment appears in {name}"
            );
        }
        assert!(
            !text.contains("Bearer "),
            "{what}: an Authorization header appears in {name}"
        );
    }
}

/// A simulator with the test secret, short-lived tokens and faults, plus an input file.
fn setup() -> (BlockingSim, tempfile::TempDir, std::path::PathBuf) {
    let sim = BlockingSim::start(SimConfig {
        client_secret: SECRET.to_owned(),
        credentials: Credentials::generate(60),
        token_lifetime: Duration::from_secs(1),
        faults: Faults {
            server_error: 0.1,
            lost: 0.1,
            ..Faults::default()
        },
        ..SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list((1..=60).chain([9_999]))).unwrap();
    (sim, dir, input)
}

#[test]
fn no_command_prints_the_secret_or_a_token_at_any_log_level() {
    let (sim, dir, input) = setup();
    let url = sim.handle().url();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, SECRET).unwrap();
    let input_arg = input.to_str().unwrap();
    let jsonl = dir.path().join("out.jsonl");
    let runs: Vec<(&str, Vec<&str>, bool)> = vec![
        (
            "enable -vv",
            vec!["enable", input_arg, "-vv", "--rate", "200", "--no-progress"],
            false,
        ),
        (
            "enable --resume trace",
            vec!["enable", input_arg, "--rate", "200", "--resume"],
            true,
        ),
        (
            "disable jsonl -vv",
            vec![
                "disable",
                input_arg,
                "-vv",
                "--rate",
                "200",
                "--report",
                jsonl.to_str().unwrap(),
            ],
            false,
        ),
        (
            "dry run -vv",
            vec!["enable", input_arg, "-vv", "--dry-run", "--rate", "200"],
            false,
        ),
        ("check -vv", vec!["check", "-vv"], false),
        (
            "check from a file",
            vec![
                "check",
                "-vv",
                "--client-secret-file",
                secret_file.to_str().unwrap(),
            ],
            false,
        ),
    ];
    for (what, args, trace_env) in runs {
        let mut cmd = binary(&url);
        cmd.env("SENHASEGURA_CLIENT_SECRET", SECRET).args(&args);
        if trace_env {
            cmd.env("RUST_LOG", "trace");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_clean(
            what,
            &outputs(&out, dir.path()),
            &sim.handle().issued_tokens(),
        );
    }
    assert!(
        sim.handle().issued_tokens().len() > 3,
        "tokens were issued and refreshed"
    );
}

#[test]
fn a_refused_secret_is_never_echoed() {
    let (sim, dir, input) = setup();
    let out = binary(&sim.handle().url())
        .env("SENHASEGURA_CLIENT_SECRET", format!("{SECRET}-wrong"))
        .env("RUST_LOG", "trace")
        .args(["enable", input.to_str().unwrap(), "-vv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_clean(
        "refused secret",
        &outputs(&out, dir.path()),
        &sim.handle().issued_tokens(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("-wrong"),
        "the rejected secret is not echoed either"
    );
    assert!(stderr.contains("rejected the client"), "{stderr}");
}

#[test]
fn the_demo_prints_no_token_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin!("credbulk"))
        .args(["demo", "-vv"])
        .env("RUST_LOG", "trace")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    for (name, text) in outputs(&out, dir.path()) {
        // Simulator tokens are JWT-shaped: base64url of `{"typ"…` starts with `eyJ`.
        assert!(!text.contains("eyJ"), "a token appears in {name}");
        assert!(
            !text.contains("Bearer "),
            "an Authorization header appears in {name}"
        );
    }
}

/// Invariant 10: an appliance that echoes what it was sent — the token request's body, the
/// `Authorization` header — gets none of it into any output, in any encoding.
mod echoes {
    use std::path::Path;

    use axum::Router;
    use axum::extract::Path as UrlPath;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::{post, put};

    use super::common::id_list;

    /// Needs encoding in every way: `+`, `/`, `=`, a space, `~` and non-ASCII letters.
    const SECRET: &str = "s3cr3t+K/9== x~ção";
    /// An opaque token (not JWT-shaped) with characters that get percent-encoded.
    const TOKEN: &str = "Tok+en/opaque=9f3e2a71c4d";
    /// A JWT credbulk was never issued, echoed by the server.
    const FOREIGN_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNpZw";

    fn form(value: &str) -> String {
        url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
    }

    fn base64(bytes: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..4 {
                out.push(if i <= chunk.len() {
                    char::from(A[(n >> (18 - 6 * i)) as usize & 63])
                } else {
                    '='
                });
            }
        }
        out
    }

    /// Every way a value may be echoed: raw, form-encoded with either hex case and either
    /// spelling of a space, JSON-escaped (`\/` and `\u00e7` too), and base64.
    fn encodings(value: &str) -> Vec<String> {
        let upper = form(value);
        let lower = {
            let mut s = String::new();
            let mut chars = upper.chars().peekable();
            while let Some(c) = chars.next() {
                s.push(c);
                if c == '%' {
                    s.extend(chars.next().map(|c| c.to_ascii_lowercase()));
                    s.extend(chars.next().map(|c| c.to_ascii_lowercase()));
                }
            }
            s
        };
        let json = serde_json::to_string(value).unwrap();
        let json = json.trim_matches('"').to_owned();
        let json_escaped: String = value
            .chars()
            .map(|c| match c {
                '/' => "\\/".to_owned(),
                c if !c.is_ascii() => format!("\\u{:04x}", c as u32),
                c => c.to_string(),
            })
            .collect();
        let b64 = base64(value.as_bytes());
        vec![
            value.to_owned(),
            upper.clone(),
            upper.replace('+', "%20"),
            lower,
            json,
            json_escaped,
            b64[..b64.len() - 4].to_owned(),
        ]
    }

    /// The echoes of the token request: which one the server sends is picked by the client id.
    fn token_echo(client_id: &str, body: &str, headers: &HeaderMap) -> (StatusCode, String) {
        let secret_form = form(SECRET);
        let basic = base64(format!("{client_id}:{SECRET}").as_bytes());
        let message = match client_id {
            "echo-raw" => body.to_owned(),
            "echo-lower" => body
                .replace("%2B", "%2b")
                .replace("%2F", "%2f")
                .replace("%3D", "%3d"),
            "echo-space" => body.replace('+', "%20"),
            "echo-decoded" => format!("bad client_secret {SECRET} for {client_id}"),
            "echo-basic" => format!("Authorization: Basic {basic} rejected"),
            "echo-basic-bare" => format!("credentials {basic} rejected"),
            "echo-html" => {
                return (
                    StatusCode::UNAUTHORIZED,
                    format!("<html><body><p>request was</p><pre>{body}</pre></body></html>"),
                );
            }
            "echo-5xx" => {
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("upstream failed on {secret_form}"),
                );
            }
            _ => {
                let _ = headers;
                if body.contains(&format!("client_secret={secret_form}")) {
                    let token = serde_json::json!({
                        "token_type": "Bearer", "expires_in": 3600, "access_token": TOKEN,
                    });
                    return (StatusCode::OK, token.to_string());
                }
                return (StatusCode::UNAUTHORIZED, body.to_owned());
            }
        };
        let json = serde_json::json!({"error": "invalid_client", "message": message});
        (StatusCode::UNAUTHORIZED, json.to_string())
    }

    /// The echoes of the change: a 400 quoting the `Authorization` header, the token alone,
    /// percent-encoded, a JWT nobody issued; a 5xx and an odd 2xx quoting it (logged); a 401
    /// quoting it (the abort reason in the summary).
    fn change_echo(id: u64, headers: &HeaderMap) -> (StatusCode, String) {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let token = auth.trim_start_matches("Bearer ");
        let app_error = |status: StatusCode, text: String| {
            let body = serde_json::json!({
                "code": status.as_u16(),
                "response": {"status": status.as_u16(), "message": text, "error": true},
            });
            (status, body.to_string())
        };
        match id {
            1 => app_error(
                StatusCode::BAD_REQUEST,
                format!("1234: bad header Authorization: {auth}"),
            ),
            2 => app_error(
                StatusCode::BAD_REQUEST,
                format!("1235: token {token} is not valid here"),
            ),
            3 => app_error(
                StatusCode::BAD_REQUEST,
                format!("1236: seen ?t={}", form(token)),
            ),
            4 => app_error(StatusCode::BAD_REQUEST, format!("1237: sub {FOREIGN_JWT}")),
            5 => app_error(StatusCode::OK, format!("odd answer for {auth}")),
            6 => (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("<h1>Error</h1> {auth}"),
            ),
            7 => app_error(
                StatusCode::BAD_REQUEST,
                format!("1238: {}", &token[..token.len() - 2]),
            ),
            _ => app_error(StatusCode::UNAUTHORIZED, format!("denied: {auth}")),
        }
    }

    /// An echoing appliance on loopback port 0.
    struct Echo {
        /// Serves the echoing appliance for as long as the test holds it.
        _runtime: tokio::runtime::Runtime,
        url: String,
    }

    impl Echo {
        fn start() -> Self {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let app = Router::new()
                .route(
                    "/iso/oauth2/token",
                    post(|headers: HeaderMap, body: String| async move {
                        let client_id = url::form_urlencoded::parse(body.as_bytes())
                            .find(|(k, _)| k == "client_id")
                            .map(|(_, v)| v.into_owned())
                            .unwrap_or_default();
                        token_echo(&client_id, &body, &headers)
                    }),
                )
                .route(
                    "/api/pam/credential/{id}",
                    put(|UrlPath(id): UrlPath<u64>, headers: HeaderMap| async move {
                        change_echo(id, &headers)
                    }),
                );
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            runtime.spawn(async move { axum::serve(listener, app).await });
            Self {
                _runtime: runtime,
                url,
            }
        }
    }

    fn command(echo: &Echo, client_id: &str) -> std::process::Command {
        let mut cmd = super::binary(&echo.url);
        cmd.env("SENHASEGURA_CLIENT_ID", client_id)
            .env("SENHASEGURA_CLIENT_SECRET", SECRET);
        cmd
    }

    fn assert_nothing_leaks(what: &str, outputs: &[(String, String)], client_id: &str) {
        let mut needles: Vec<(&str, String)> = Vec::new();
        for e in encodings(SECRET) {
            needles.push(("the secret", e));
        }
        needles.push((
            "the Basic credentials",
            base64(format!("{client_id}:{SECRET}").as_bytes()),
        ));
        for e in encodings(TOKEN) {
            needles.push(("the token", e));
        }
        needles.push(("the token's start", TOKEN[..TOKEN.len() - 2].to_owned()));
        needles.push(("a foreign JWT", FOREIGN_JWT[..20].to_owned()));
        needles.push(("a foreign JWT's signature", "c2lnbmF0dXJl".to_owned()));
        needles.push(("part of the secret", "s3cr3t".to_owned()));
        for (name, text) in outputs {
            for (kind, needle) in &needles {
                assert!(
                    !text.contains(needle.as_str()),
                    "{what}: {kind} ({needle}) appears in {name}:\n{text}"
                );
            }
        }
    }

    fn run_outputs(out: &std::process::Output, dir: &Path) -> Vec<(String, String)> {
        super::outputs(out, dir)
    }

    #[test]
    fn a_token_endpoint_echoing_the_request_leaks_the_secret_in_no_encoding() {
        let echo = Echo::start();
        let variants = [
            "echo-raw",
            "echo-lower",
            "echo-space",
            "echo-decoded",
            "echo-basic",
            "echo-basic-bare",
            "echo-html",
            "echo-5xx",
        ];
        for variant in variants {
            for json_logs in [false, true] {
                let dir = tempfile::tempdir().unwrap();
                let input = dir.path().join("ids.csv");
                std::fs::write(&input, id_list([7])).unwrap();
                let mut cmd = command(&echo, variant);
                cmd.args(["enable", input.to_str().unwrap(), "--no-config", "-vv"])
                    .args(["--max-attempts", "2"])
                    .args([
                        "--summary-json",
                        dir.path().join("s.json").to_str().unwrap(),
                    ])
                    .args([
                        "--metrics-file",
                        dir.path().join("m.prom").to_str().unwrap(),
                    ]);
                if json_logs {
                    cmd.args(["--log-format", "json"]);
                }
                let out = cmd.output().unwrap();
                let what = format!("{variant} json={json_logs}");
                assert_eq!(out.status.code(), Some(3), "{what}");
                assert_nothing_leaks(&what, &run_outputs(&out, dir.path()), variant);
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr.contains("(redacted)"), "{what}: {stderr}");
                // `check` prints to stdout and stops on the same answer.
                let out = command(&echo, variant)
                    .args(["check", "--no-config", "-vv"])
                    .output()
                    .unwrap();
                assert_eq!(out.status.code(), Some(3), "{what} check");
                assert_nothing_leaks(
                    &format!("{what} check"),
                    &run_outputs(&out, dir.path()),
                    variant,
                );
            }
        }
    }

    #[test]
    fn answers_echoing_the_bearer_token_leak_it_into_no_report_log_or_summary() {
        let echo = Echo::start();
        for (report, json_logs) in [("r.csv", false), ("r.jsonl", true)] {
            let dir = tempfile::tempdir().unwrap();
            let input = dir.path().join("ids.csv");
            std::fs::write(&input, id_list(1..=8)).unwrap();
            let report = dir.path().join(report);
            let mut cmd = command(&echo, "app");
            cmd.args(["enable", input.to_str().unwrap(), "--no-config", "-vv"])
                .args(["--concurrency", "1"])
                .args(["--max-attempts", "2", "--rate", "100"])
                .args(["--report", report.to_str().unwrap()])
                .args([
                    "--summary-json",
                    dir.path().join("s.json").to_str().unwrap(),
                ])
                .args([
                    "--metrics-file",
                    dir.path().join("m.prom").to_str().unwrap(),
                ]);
            if json_logs {
                cmd.args(["--log-format", "json"]);
            }
            let out = cmd.output().unwrap();
            let what = format!("report {}", report.display());
            let stderr = String::from_utf8_lossy(&out.stderr);
            // Id 8 draws a 401 with a fresh token too: the run aborts, quoting the server.
            assert_eq!(out.status.code(), Some(3), "{what}: {stderr}");
            assert_nothing_leaks(&what, &run_outputs(&out, dir.path()), "app");
            let text = std::fs::read_to_string(&report).unwrap();
            assert_eq!(
                text.lines().count(),
                if json_logs { 8 } else { 9 },
                "{text}"
            );
            assert!(
                text.contains("1234: bad header Authorization: (redacted)"),
                "{text}"
            );
            assert!(
                text.contains("1235: token (redacted) is not valid here"),
                "{text}"
            );
            assert!(stderr.contains("denied: (redacted)"), "{stderr}");
        }
    }
}
