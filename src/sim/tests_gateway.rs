//! HTTP tests of the three gateway modes over real loopback: what each answers and with which
//! headers, what it counts, and what the timeline records. Counts and orders only; the timing
//! of each mode is unit-tested in `gateway` under paused time.

use std::time::Duration;

use reqwest::Method;

use super::test_support::{Http, Reply, start};
use super::{Credentials, Gateway, SimConfig};
use crate::wire::text;

const RATE_HEADERS: [&str; 6] = [
    "retry-after",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "x-ratelimit-limit-second",
    "x-ratelimit-remaining-second",
];

fn behind(gateway: Option<Gateway>) -> SimConfig {
    SimConfig {
        gateway: gateway.expect("a non-zero limit"),
        credentials: Credentials::generate(10),
        record_timeline: true,
        ..SimConfig::default()
    }
}

async fn put(http: &Http, token: &str, id: u64) -> Reply {
    http.call(
        Method::PUT,
        &format!("/api/pam/credential/{id}"),
        Some(token),
    )
    .await
}

#[tokio::test]
async fn nginx_refuses_past_its_burst_with_a_plain_429_and_no_headers() {
    // 1 r/s, burst 2: the first request and two more get through, then the bucket is full.
    let (sim, http) = start(behind(Gateway::nginx(1, 2))).await;
    let token = http.token().await;
    let mut replies = Vec::new();
    for id in 1..=5 {
        replies.push(put(&http, &token, id).await);
    }
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    let refused = &replies[3];
    assert_eq!(refused.header("content-type"), Some("text/html"));
    assert_eq!(refused.header("server"), Some("nginx"));
    assert!(
        refused
            .text
            .contains("<center><h1>429 Too Many Requests</h1></center>"),
        "{}",
        refused.text
    );
    // nginx says nothing about its limit, on a refusal or on a success.
    for reply in &replies {
        for name in RATE_HEADERS {
            assert_eq!(reply.header(name), None, "{name} on a {}", reply.status);
        }
    }
    assert!(sim.credential(4).is_some_and(|c| !c.active));
    let stats = sim.stats();
    assert_eq!((stats.gateway_passed, stats.gateway_refused), (3, 2));
    assert_eq!(stats.requests["PUT /api/pam/credential"][&429], 2);
    let served: Vec<Option<u64>> = sim.timeline().served().iter().map(|s| s.id).collect();
    assert_eq!(served, [Some(1), Some(2), Some(3)]);
    // The token route is not limited.
    assert!(!http.token().await.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn kong_stamps_its_window_on_every_answer_and_refuses_with_retry_after() {
    let (sim, http) = start(behind(Gateway::kong(3))).await;
    let token = http.token().await;
    // A success, an application error (already enabled) and a not-found all carry the window.
    let first = put(&http, &token, 1).await;
    let again = put(&http, &token, 1).await;
    let missing = put(&http, &token, 99).await;
    let refused = put(&http, &token, 2).await;
    assert_eq!(
        [first.status, again.status, missing.status, refused.status],
        [200, 400, 400, 429]
    );
    assert_eq!(
        (again.app_code(), missing.app_code()),
        (Some(1043), Some(1007))
    );
    for (reply, remaining) in [(&first, "2"), (&again, "1"), (&missing, "0")] {
        for (name, value) in [
            ("ratelimit-limit", "3"),
            ("ratelimit-remaining", remaining),
            ("ratelimit-reset", "1"),
            ("x-ratelimit-limit-second", "3"),
            ("x-ratelimit-remaining-second", remaining),
        ] {
            assert_eq!(reply.header(name), Some(value), "{name} on {}", reply.text);
        }
        assert_eq!(reply.header("retry-after"), None);
    }
    assert_eq!(refused.message(), text::KONG_RATE_LIMITED);
    for (name, value) in [
        ("retry-after", "1"),
        ("ratelimit-limit", "3"),
        ("ratelimit-remaining", "0"),
        ("ratelimit-reset", "1"),
        ("x-ratelimit-limit-second", "3"),
        ("x-ratelimit-remaining-second", "0"),
    ] {
        assert_eq!(refused.header(name), Some(value), "{name}");
    }
    let stats = sim.stats();
    assert_eq!((stats.gateway_passed, stats.gateway_refused), (3, 1));
    let statuses: Vec<u16> = sim.timeline().served().iter().map(|s| s.status).collect();
    assert_eq!(statuses, [200, 400, 400]);
    sim.shutdown().await;
}

#[tokio::test]
async fn capacity_refuses_nothing_and_queues_what_arrives_above_its_rate() {
    // Two requests a second: four sent at once are all answered, the last after the three
    // before it took their half-seconds.
    let (sim, http) = start(behind(Gateway::capacity(2))).await;
    let token = http.token().await;
    let replies = futures::future::join_all((1..=4).map(|id| put(&http, &token, id))).await;
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text);
        for name in RATE_HEADERS {
            assert_eq!(reply.header(name), None, "{name}");
        }
    }
    assert!((1..=4).all(|id| sim.credential(id).is_some_and(|c| c.active)));
    let stats = sim.stats();
    assert_eq!((stats.gateway_passed, stats.gateway_refused), (4, 0));
    let timeline = sim.timeline();
    assert_eq!(timeline.served().len(), 4);
    // The queue waits are 0, 0.5, 1 and 1.5 s less how far apart the four arrived; the
    // arrivals are well within half a second of each other, so the longest wait passes 1 s.
    let longest = timeline.latency_quantile(1.0).expect("served");
    assert!(longest >= Duration::from_secs(1), "{longest:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn without_a_gateway_every_request_passes_and_no_timeline_is_kept_unless_asked() {
    let (sim, http) = start(SimConfig {
        credentials: Credentials::generate(10),
        ..SimConfig::default()
    })
    .await;
    let token = http.token().await;
    for id in 1..=10 {
        assert_eq!(put(&http, &token, id).await.status, 200);
    }
    let stats = sim.stats();
    assert_eq!((stats.gateway_passed, stats.gateway_refused), (10, 0));
    assert!(sim.timeline().served().is_empty());
    sim.shutdown().await;
}
