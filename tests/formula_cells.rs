//! Formula-safe report cells (OWASP CSV injection): an appliance whose messages begin with `=`,
//! `+`, `-` or `@` must not turn the report into a spreadsheet that runs them, and resume and
//! rollback must still read such a report back. A test-local axum server on loopback port 0
//! plays the appliance, since the simulator only says the documented messages.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{post, put};
use common::{exit_code, rows};
use credbulk::wire::Envelope;

/// What the test appliance answered, per method and id.
type Seen = Arc<Mutex<HashMap<(&'static str, u64), u32>>>;

const EVIL: &str = "=HYPERLINK(\"http://attacker.example/x\",\"click\")";

async fn token() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "token_type": "Bearer", "expires_in": 3600, "access_token": "t0k3n"
    }))
}

async fn enable(State(seen): State<Seen>, Path(id): Path<u64>) -> (StatusCode, String) {
    *seen.lock().unwrap().entry(("PUT", id)).or_default() += 1;
    let (status, body) = match id {
        1 => (200, Envelope::success(EVIL)),
        2 => (400, Envelope::app_error(400, Some(1234), "-1234+1 refused")),
        3 => (200, Envelope::success("@SUM(A1:A9)")),
        _ => (200, Envelope::success("Credential successfully activated")),
    };
    (
        StatusCode::from_u16(status).unwrap(),
        serde_json::to_string(&body).unwrap(),
    )
}

async fn disable(State(seen): State<Seen>, Path(id): Path<u64>) -> String {
    *seen.lock().unwrap().entry(("DELETE", id)).or_default() += 1;
    serde_json::to_string(&Envelope::success("+Credential successfully deactivated")).unwrap()
}

/// Starts the test appliance on 127.0.0.1:0 and returns its URL.
async fn appliance(seen: Seen) -> String {
    let app = Router::new()
        .route("/iso/oauth2/token", post(token))
        .route("/api/pam/credential/{id}", put(enable).delete(disable))
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// Runs `credbulk ARGS… --url URL` in-process against the test appliance.
async fn credbulk(
    args: &[&str],
    url: &str,
    secret: &std::path::Path,
) -> Result<credbulk::app::Completed, credbulk::error::Error> {
    let mut words = vec!["credbulk"];
    words.extend(args);
    let secret = secret.display().to_string();
    words.extend([
        "--url",
        url,
        "--client-id",
        "demo",
        "--client-secret-file",
        &secret,
        "--rate",
        "500",
        "--no-progress",
        "--no-config",
    ]);
    let cli = <credbulk::cli::Cli as clap::Parser>::try_parse_from(words).unwrap();
    credbulk::app::execute(cli.command, Arc::default()).await
}

#[tokio::test]
async fn messages_that_look_like_formulas_are_quoted_and_resume_and_rollback_still_work() {
    let seen: Seen = Arc::default();
    let url = appliance(Arc::clone(&seen)).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s3cret\n").unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, "id\n1\n2\n3\n4\n").unwrap();
    let input = input.to_str().unwrap();
    let report = dir.path().join("ids.enable.report.csv");

    assert_eq!(
        exit_code(&credbulk(&["enable", input], &url, &secret).await),
        1
    );
    let text = std::fs::read_to_string(&report).unwrap();
    for line in text.lines().skip(1) {
        let message = line.split(',').nth(5).unwrap();
        assert!(
            !message.starts_with(['=', '+', '-', '@', '"']) || message.starts_with("\"'"),
            "a formula reached the CSV: {line}"
        );
    }
    let by_id: HashMap<String, String> = rows(&report)
        .into_iter()
        .map(|r| (r.id, r.message))
        .collect();
    assert_eq!(by_id["1"], format!("'{EVIL}"));
    assert_eq!(by_id["2"], "'-1234+1 refused");
    assert_eq!(by_id["3"], "'@SUM(A1:A9)");
    assert_eq!(by_id["4"], "Credential successfully activated");
    assert_eq!(
        credbulk::report::cell_read_back(&by_id["1"]),
        EVIL,
        "the appliance's own words are kept"
    );

    // Resume reads the report back: every id is settled (enabled, or rejected for good).
    let resumed = credbulk(&["enable", input, "--resume"], &url, &secret).await;
    assert_eq!(exit_code(&resumed), 1);
    let puts: u32 = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|((m, _), _)| *m == "PUT")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(puts, 4, "resume sent nothing again");

    // Rollback takes exactly the ids whose last row is `enabled`.
    let undo = dir.path().join("undo.report.csv");
    let (report_arg, undo_arg) = (report.display().to_string(), undo.display().to_string());
    let args = [
        "disable",
        "--from-report",
        &report_arg,
        "--report",
        &undo_arg,
    ];
    assert_eq!(exit_code(&credbulk(&args, &url, &secret).await), 0);
    let mut deleted: Vec<u64> = seen
        .lock()
        .unwrap()
        .keys()
        .filter(|(m, _)| *m == "DELETE")
        .map(|(_, id)| *id)
        .collect();
    deleted.sort_unstable();
    assert_eq!(deleted, vec![1, 3, 4]);
    assert!(
        rows(&undo).iter().all(|r| r.message.starts_with("'+")),
        "the rollback report is formula-safe too"
    );

    // The rendered tables quote them too (id 2's rejection is listed among the failures).
    for (format, quoted) in [
        ("html", "&#39;-1234+1 refused"),
        ("md", "| '-1234+1 refused |"),
    ] {
        let out = dir.path().join(format!("page.{format}"));
        let out_arg = out.display().to_string();
        let words = [
            "credbulk",
            "report",
            &report_arg,
            "--format",
            format,
            "-o",
            &out_arg,
        ];
        let cli = <credbulk::cli::Cli as clap::Parser>::try_parse_from(words).unwrap();
        assert_eq!(
            exit_code(&credbulk::app::execute(cli.command, Arc::default()).await),
            0
        );
        let page = std::fs::read_to_string(&out).unwrap();
        assert!(page.contains(quoted), "{format}: {page}");
    }
}
