//! HTTP tests of the simulator's failure modes over real loopback: expired and unknown tokens
//! under each configured answer, injected faults (lost, hung, 500/504/503/HTML), the Kong rate
//! limiter, latency, and seeded reproducibility.

use std::time::{Duration, Instant};

use reqwest::Method;

use super::test_support::start;
use super::{Credentials, ExpiredTokenAnswer, Faults, SimConfig};
use crate::wire::text;

fn with_faults(faults: Faults) -> SimConfig {
    SimConfig {
        credentials: Credentials::generate(50),
        faults,
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn expired_and_unknown_tokens_get_the_configured_answer() {
    let cases = [
        (
            ExpiredTokenAnswer::Unauthorized401,
            401,
            "The resource owner or authorization server denied the request.",
        ),
        (
            ExpiredTokenAnswer::NotAuthorized500,
            500,
            text::NOT_AUTHORIZED,
        ),
        (ExpiredTokenAnswer::KongNoRoute404, 404, text::KONG_NO_ROUTE),
    ];
    let mut running = Vec::new();
    for (answer, status, message) in cases {
        let (sim, http) = start(SimConfig {
            token_lifetime: Duration::from_secs(1),
            expired_token_answer: answer,
            credentials: Credentials::generate(3),
            ..SimConfig::default()
        })
        .await;
        let token = http.token().await;
        let fresh = http
            .call(Method::PUT, "/api/pam/credential/1", Some(&token))
            .await;
        assert_eq!(fresh.status, 200);
        let unknown = http
            .call(Method::PUT, "/api/pam/credential/2", Some("a.b.c"))
            .await;
        assert_eq!(
            (unknown.status, unknown.message()),
            (status, message),
            "{answer:?}"
        );
        running.push((sim, http, token, status, message));
    }
    let first = &running[0];
    assert_eq!(
        first
            .1
            .send(
                first
                    .1
                    .request(Method::PUT, "/api/pam/credential/2", Some("x"))
            )
            .await
            .body["error"],
        "access_denied"
    );

    // One real wait covers all three simulators.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for (sim, http, token, status, message) in running {
        let expired = http
            .call(Method::PUT, "/api/pam/credential/2", Some(&token))
            .await;
        assert_eq!((expired.status, expired.message()), (status, message));
        assert!(sim.credential(2).is_some_and(|c| !c.active));
        let renewed = http.token().await;
        let ok = http
            .call(Method::PUT, "/api/pam/credential/2", Some(&renewed))
            .await;
        assert_eq!(ok.status, 200);
        assert_eq!(sim.stats().token_fetches, 2);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_lost_answer_applies_the_change_then_breaks_the_body() {
    let (sim, http) = start(with_faults(Faults {
        lost: 1.0,
        ..Faults::default()
    }))
    .await;
    let token = http.token().await;
    let response = http
        .request(Method::PUT, "/api/pam/credential/4", Some(&token))
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.bytes().await.is_err(),
        "the body must end in an error"
    );
    assert!(sim.credential(4).is_some_and(|c| c.active));

    // The retry a client makes finds the change already applied (and is lost again).
    let retry = http
        .request(Method::PUT, "/api/pam/credential/4", Some(&token))
        .send()
        .await
        .expect("headers arrive");
    assert!(retry.bytes().await.is_err());
    let stats = sim.stats();
    assert_eq!(stats.lost_answers[&4], 2);
    assert_eq!(stats.activations[&4], 1);
    assert_eq!(stats.requests_per_id[&4], 2);
    assert_eq!(stats.requests["PUT /api/pam/credential"][&200], 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_hung_request_applies_the_change_and_answers_late() {
    let (sim, http) = start(with_faults(Faults {
        hang: 1.0,
        hang_for: Duration::from_millis(150),
        ..Faults::default()
    }))
    .await;
    let token = http.token().await;
    let started = Instant::now();
    let reply = http
        .call(Method::DELETE, "/api/pam/credential/5", Some(&token))
        .await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(reply.app_code(), Some(1008));
    let reply = http
        .call(Method::PUT, "/api/pam/credential/5", Some(&token))
        .await;
    assert_eq!(reply.message(), text::ACTIVATED);
    assert_eq!(sim.stats().lost_answers[&5], 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn transient_faults_answer_without_applying_the_change() {
    let only = |rates: [f64; 4]| Faults {
        server_error: rates[0],
        gateway_timeout: rates[1],
        unavailable: rates[2],
        html: rates[3],
        ..Faults::default()
    };
    let cases = [
        (only([1.0, 0.0, 0.0, 0.0]), 500, text::UNEXPECTED_ERROR),
        (only([0.0, 1.0, 0.0, 0.0]), 504, text::KONG_TIMEOUT),
        (only([0.0, 0.0, 1.0, 0.0]), 503, text::KONG_UNAVAILABLE),
        (only([0.0, 0.0, 0.0, 1.0]), 502, ""),
    ];
    for (faults, status, message) in cases {
        let (sim, http) = start(with_faults(faults)).await;
        let token = http.token().await;
        let reply = http
            .call(Method::PUT, "/api/pam/credential/1", Some(&token))
            .await;
        assert_eq!(reply.status, status, "{}", reply.text);
        assert_eq!(reply.message(), message);
        if status == 502 {
            assert_eq!(reply.header("content-type"), Some("text/html"));
            assert!(reply.text.contains("502 Bad Gateway"));
        }
        let retry_after = reply.header("retry-after");
        assert_eq!(retry_after, (status == 503).then_some("1"));
        assert!(sim.credential(1).is_some_and(|c| !c.active));
        assert!(sim.stats().lost_answers.is_empty());
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn requests_over_the_rate_limit_get_kongs_429_with_its_headers() {
    let (sim, http) = start(SimConfig {
        rate_limit: Some(3),
        credentials: Credentials::generate(10),
        ..SimConfig::default()
    })
    .await;
    let token = http.token().await;
    let mut statuses = Vec::new();
    let mut limited = None;
    for id in 1..=6 {
        let reply = http
            .call(
                Method::PUT,
                &format!("/api/pam/credential/{id}"),
                Some(&token),
            )
            .await;
        statuses.push(reply.status);
        if reply.status == 429 {
            limited.get_or_insert(reply);
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429]);
    let limited = limited.expect("a 429");
    assert_eq!(limited.message(), text::KONG_RATE_LIMITED);
    for (name, value) in [
        ("retry-after", "1"),
        ("ratelimit-limit", "3"),
        ("ratelimit-remaining", "0"),
        ("ratelimit-reset", "1"),
        ("x-ratelimit-limit-second", "3"),
        ("x-ratelimit-remaining-second", "0"),
    ] {
        assert_eq!(limited.header(name), Some(value), "{name}");
    }
    assert!(sim.credential(4).is_some_and(|c| !c.active));
    // The token endpoint is not rate limited.
    assert_eq!(
        http.token_request(
            "grant_type=client_credentials&client_id=demo&client_secret=demo-secret",
            None
        )
        .await
        .status,
        200
    );
    assert_eq!(sim.stats().requests["PUT /api/pam/credential"][&429], 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn latency_delays_each_api_request() {
    let (sim, http) = start(SimConfig {
        latency: Duration::from_millis(60),
        jitter: Duration::from_millis(20),
        credentials: Credentials::generate(2),
        ..SimConfig::default()
    })
    .await;
    let token = http.token().await;
    let started = Instant::now();
    let reply = http
        .call(Method::PUT, "/api/pam/credential/1", Some(&token))
        .await;
    assert_eq!(reply.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(60));
    sim.shutdown().await;
}

#[tokio::test]
async fn the_same_seed_draws_the_same_faults() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (sim, http) = start(SimConfig {
            seed: 42,
            ..with_faults(Faults {
                server_error: 0.5,
                ..Faults::default()
            })
        })
        .await;
        let token = http.token().await;
        let mut statuses = Vec::new();
        for id in 1..=20 {
            let path = format!("/api/pam/credential/{id}");
            statuses.push(http.call(Method::PUT, &path, Some(&token)).await.status);
        }
        runs.push(statuses);
        sim.shutdown().await;
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&500) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
}
