//! Answers no appliance should give but gateways and proxies do: HTML, plain text, empty and
//! truncated bodies, a 10 MB body, a wrong content type, a trickled body, a redirect to another
//! host. Each is classified per design.md §3, none panics, none is retried forever, and the
//! bearer token never follows a redirect.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use common::{exit_code, id_list, rows};
use credbulk::wire::{Envelope, text};

#[derive(Clone)]
struct Hostile {
    /// Where the redirect points.
    elsewhere: SocketAddr,
}

async fn token() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"token_type":"bearer","expires_in":3600,"access_token":"hostile-test-token"}"#,
    )
}

async fn credential(State(h): State<Hostile>, Path((mode, _id)): Path<(String, u64)>) -> Response {
    let success = serde_json::to_string(&Envelope::success(text::ACTIVATED)).unwrap();
    match mode.as_str() {
        "html" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>Welcome to nginx!</h1></body></html>",
        )
            .into_response(),
        "html502" => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><head><title>502 Bad Gateway</title></head></html>",
        )
            .into_response(),
        "text" => (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain")],
            "Bad Request",
        )
            .into_response(),
        "empty" => StatusCode::OK.into_response(),
        "truncated" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"code":200,"response":{"status":200,"mess"#,
        )
            .into_response(),
        "huge" => {
            let mut body = b"{\"code\":200,\"response\":{\"message\":\"".to_vec();
            body.resize(10 * 1024 * 1024, b'x');
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
        "wrongtype" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=iso-8859-1")],
            success,
        )
            .into_response(),
        "trickle" => {
            let stream = futures::stream::unfold(0u32, |n| async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                (n < 10_000).then(|| {
                    (
                        Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b" ")),
                        n + 1,
                    )
                })
            });
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                Body::from_stream(stream),
            )
                .into_response()
        }
        "redirect" => (
            StatusCode::FOUND,
            [(header::LOCATION, format!("http://{}/steal", h.elsewhere))],
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A second host on another loopback address that records any request reaching it.
async fn elsewhere() -> (SocketAddr, Arc<AtomicU64>, Arc<AtomicU64>) {
    let hits = Arc::new(AtomicU64::new(0));
    let with_token = Arc::new(AtomicU64::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(any({
        let (hits, with_token) = (hits.clone(), with_token.clone());
        move |headers: HeaderMap| async move {
            hits.fetch_add(1, Ordering::SeqCst);
            if headers.contains_key(header::AUTHORIZATION) {
                with_token.fetch_add(1, Ordering::SeqCst);
            }
            "stolen"
        }
    }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, hits, with_token)
}

async fn hostile_server(elsewhere: SocketAddr) -> SocketAddr {
    let app = Router::new()
        .route("/iso/oauth2/token", post(token))
        .route("/{mode}/pam/credential/{id}", any(credential))
        .with_state(Hostile { elsewhere });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn run_mode(addr: SocketAddr, mode: &str) -> (u8, Vec<credbulk::report::Row>) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ids.csv");
    std::fs::write(&input, id_list(1..=2)).unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s").unwrap();
    let report = dir.path().join("r.csv");
    let prefix = format!("/{mode}");
    let url = format!("http://{addr}");
    let argv = [
        "credbulk",
        "enable",
        input.to_str().unwrap(),
        "--url",
        &url,
        "--client-id",
        "c",
        "--client-secret-file",
        secret.to_str().unwrap(),
        "--api-prefix",
        &prefix,
        "--timeout",
        "1",
        "--max-attempts",
        "2",
        "--rate",
        "100",
        "--max-outage",
        "2",
        "--no-progress",
        "--report",
        report.to_str().unwrap(),
    ];
    let cli = <credbulk::cli::Cli as clap::Parser>::try_parse_from(argv).unwrap();
    let result =
        credbulk::app::execute(cli.command, Arc::new(credbulk::control::Control::new())).await;
    (exit_code(&result), rows(&report))
}

#[tokio::test]
async fn hostile_answers_are_classified_never_followed_and_never_retried_forever() {
    let (other, hits, with_token) = elsewhere().await;
    let addr = hostile_server(other).await;
    let cases = [
        ("html", "unexpected_response", 1),
        // Nothing but a gateway's 502 for every id and the probe: the
        // appliance is unreachable, so the run aborts at --max-outage and ids get no row.
        ("html502", "", 0),
        ("text", "unexpected_response", 1),
        ("empty", "unexpected_response", 1),
        ("truncated", "unexpected_response", 1),
        ("huge", "unexpected_response", 1),
        ("wrongtype", "enabled", 1),
        ("trickle", "timeout", 2),
        ("redirect", "unexpected_response", 1),
    ];
    for (mode, outcome, attempts) in cases {
        let (code, rows) = tokio::time::timeout(Duration::from_secs(30), run_mode(addr, mode))
            .await
            .unwrap_or_else(|_| panic!("{mode}: the run did not finish"));
        if outcome.is_empty() {
            assert_eq!((code, rows.len()), (3, 0), "{mode}");
            continue;
        }
        assert_eq!(rows.len(), 2, "{mode}");
        for row in &rows {
            assert_eq!(row.outcome, outcome, "{mode}: {row:?}");
            assert_eq!(row.attempts, attempts, "{mode}");
            assert!(
                row.message.chars().count() <= 300,
                "{mode}: the message is bounded"
            );
        }
        let expected_code = u8::from(outcome != "enabled");
        assert_eq!(code, expected_code, "{mode}");
        if mode == "redirect" {
            assert!(rows[0].message.contains("redirect"), "{}", rows[0].message);
        }
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the redirect was never followed"
    );
    assert_eq!(with_token.load(Ordering::SeqCst), 0);
}
