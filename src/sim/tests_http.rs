//! HTTP tests of the simulator's normal behaviour over real loopback: tokens, the documented
//! envelopes and application codes, routing misses, the stats read-out, shutdown.

use std::time::Duration;

use reqwest::Method;

use super::test_support::{Http, start};
use super::{Credential, Credentials, Kind, SimConfig, SimStats};
use crate::wire::{Envelope, text};

const FORM: &str = "grant_type=client_credentials&client_id=demo&client_secret=demo-secret";

fn seeded() -> Credentials {
    let mut creds = Credentials::generate(5);
    let item = |kind, active, accessible| Credential {
        kind,
        active,
        accessible,
    };
    creds.insert(6, item(Kind::Credential, true, true));
    creds.insert(7, item(Kind::Device, false, true));
    creds.insert(8, item(Kind::Other, false, true));
    creds.insert(9, item(Kind::Credential, false, false));
    creds
}

async fn seeded_sim() -> (super::SimHandle, Http) {
    start(SimConfig {
        credentials: seeded(),
        ..SimConfig::default()
    })
    .await
}

#[tokio::test]
async fn tokens_are_issued_for_a_form_body_and_for_http_basic() {
    let (sim, http) = seeded_sim().await;
    let form = http.token_request(FORM, None).await;
    assert_eq!(form.status, 200, "{}", form.text);
    assert_eq!(form.body["token_type"], "Bearer");
    assert_eq!(form.body["expires_in"], 3600);
    assert_eq!(form.header("cache-control"), Some("no-store"));
    let first = form.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(first.split('.').count(), 3);

    // base64("demo:demo-secret")
    let basic = http
        .token_request(
            "grant_type=client_credentials",
            Some("ZGVtbzpkZW1vLXNlY3JldA=="),
        )
        .await;
    assert_eq!(basic.status, 200, "{}", basic.text);
    let second = basic.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_ne!(first, second);

    assert_eq!(sim.issued_tokens(), [first.clone(), second]);
    let reply = http
        .call(Method::PUT, "/api/pam/credential/1", Some(&first))
        .await;
    assert_eq!(reply.status, 200);
    let stats = sim.stats();
    assert_eq!((stats.token_requests, stats.token_fetches), (2, 2));
    assert_eq!(stats.requests["POST /iso/oauth2/token"][&200], 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_token_endpoint_refuses_bad_clients_grants_and_bodies() {
    let (sim, http) = seeded_sim().await;
    let bad = http
        .token_request(
            "grant_type=client_credentials&client_id=demo&client_secret=nope",
            None,
        )
        .await;
    assert_eq!(bad.status, 401);
    assert_eq!(bad.body["error"], "invalid_client");
    assert_eq!(bad.body["message"], text::CLIENT_AUTH_FAILED);
    assert_eq!(
        bad.header("www-authenticate"),
        Some("Basic realm=\"OAuth\"")
    );
    let basic = http
        .token_request("grant_type=client_credentials", Some("ZGVtbzpub3Bl"))
        .await;
    assert_eq!(basic.status, 401);

    for (form, status, error) in [
        (
            "grant_type=password&client_id=demo&client_secret=demo-secret",
            400,
            "unsupported_grant_type",
        ),
        (
            "client_id=demo&client_secret=demo-secret",
            400,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials&client_id=demo",
            400,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials&client_id=%zz",
            400,
            "invalid_request",
        ),
        ("", 400, "invalid_request"),
    ] {
        let reply = http.token_request(form, None).await;
        assert_eq!(
            (reply.status, reply.body["error"].as_str()),
            (status, Some(error)),
            "{form}"
        );
    }

    sim.rotate_secret("new-secret");
    assert_eq!(http.token_request(FORM, None).await.status, 401);
    let rotated = FORM.replace("demo-secret", "new-secret");
    assert_eq!(http.token_request(&rotated, None).await.status, 200);

    sim.set_token_endpoint_down(true);
    let down = http.token_request(&rotated, None).await;
    assert_eq!((down.status, down.message()), (503, text::KONG_UNAVAILABLE));
    assert_eq!(down.header("retry-after"), None);
    sim.set_token_endpoint_down(false);

    let stats = sim.stats();
    assert_eq!((stats.token_requests, stats.token_fetches), (10, 1));
    assert_eq!(sim.issued_tokens().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn enable_and_disable_flip_state_with_the_documented_envelopes() {
    let (sim, http) = seeded_sim().await;
    let token = http.token().await;
    let token = Some(token.as_str());

    let on = http.call(Method::PUT, "/api/pam/credential/1", token).await;
    assert_eq!(on.status, 200);
    assert_eq!(
        on.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let parsed: Envelope = serde_json::from_str(&on.text).expect("envelope");
    assert_eq!(
        on.body,
        serde_json::to_value(Envelope::success(text::ACTIVATED)).expect("json")
    );
    assert_eq!(parsed.code, Some(200));
    assert!(sim.credential(1).is_some_and(|c| c.active));

    let again = http.call(Method::PUT, "/iso/pam/credential/1", token).await;
    assert_eq!((again.status, again.app_code()), (400, Some(1043)));
    assert_eq!(again.message(), "1043: Credential is already activated!");

    let off = http
        .call(Method::DELETE, "/iso/pam/credential/1", token)
        .await;
    assert_eq!((off.status, off.message()), (200, text::DEACTIVATED));
    assert!(sim.credential(1).is_some_and(|c| !c.active));
    let off_again = http
        .call(Method::DELETE, "/api/pam/credential/1", token)
        .await;
    assert_eq!((off_again.status, off_again.app_code()), (400, Some(1008)));
    assert_eq!(off_again.message(), text::ALREADY_DISABLED);
    sim.shutdown().await;
}

#[tokio::test]
async fn each_application_error_code_is_answered_for_its_case() {
    let (sim, http) = seeded_sim().await;
    let token = http.token().await;
    let token = Some(token.as_str());
    for (method, id, code, message) in [
        (Method::PUT, "404", 1007, text::NOT_FOUND),
        (Method::PUT, "abc", 1007, text::NOT_FOUND),
        (Method::DELETE, "alice@db01", 1007, text::NOT_FOUND),
        (Method::PUT, "6", 1043, text::ALREADY_ENABLED),
        (Method::PUT, "7", 1010, text::NOT_A_CREDENTIAL),
        (Method::DELETE, "8", 1010, text::NOT_A_CREDENTIAL),
        (Method::PUT, "9", 1009, text::NO_ACCESS),
        (Method::DELETE, "2", 1008, text::ALREADY_DISABLED),
    ] {
        let reply = http
            .call(method, &format!("/api/pam/credential/{id}"), token)
            .await;
        assert_eq!(
            (reply.status, reply.app_code()),
            (400, Some(code)),
            "{id}: {}",
            reply.text
        );
        assert_eq!(reply.message(), message);
        assert_eq!(reply.body["response"]["error_code"], 1);
    }

    sim.set_read_only(true);
    let read_only = http.call(Method::PUT, "/api/pam/credential/3", token).await;
    assert_eq!((read_only.status, read_only.app_code()), (400, Some(1039)));
    assert_eq!(read_only.message(), text::READ_ONLY);
    sim.set_read_only(false);
    assert!(sim.credential(3).is_some_and(|c| !c.active));
    let stats = sim.stats();
    assert_eq!(stats.requests["PUT /api/pam/credential"][&400], 6);
    assert_eq!(stats.requests_per_id.get(&404), Some(&1));
    assert!(stats.activations.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_read_only_configuration_refuses_every_change_with_1039() {
    let (sim, http) = start(SimConfig {
        read_only: true,
        credentials: seeded(),
        ..SimConfig::default()
    })
    .await;
    let token = http.token().await;
    for method in [Method::PUT, Method::DELETE] {
        let reply = http
            .call(method, "/api/pam/credential/6", Some(&token))
            .await;
        assert_eq!(reply.app_code(), Some(1039));
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_missing_or_garbled_authorization_header_is_kongs_no_route() {
    let (sim, http) = seeded_sim().await;
    let missing = http.call(Method::PUT, "/api/pam/credential/1", None).await;
    assert_eq!(
        (missing.status, missing.message()),
        (404, text::KONG_NO_ROUTE)
    );
    let request_id = missing.body["request_id"].as_str().expect("request_id");
    assert_eq!(request_id.len(), 32);
    assert!(request_id.bytes().all(|b| b.is_ascii_hexdigit()));

    let garbled = http.send(
        http.request(Method::PUT, "/api/pam/credential/1", None)
            .header("authorization", "Token abc"),
    );
    assert_eq!(garbled.await.status, 404);
    let unknown_path = http.call(Method::GET, "/nowhere", None).await;
    assert_eq!(
        (unknown_path.status, unknown_path.message()),
        (404, text::KONG_NO_ROUTE)
    );
    assert!(sim.credential(1).is_some_and(|c| !c.active));
    let stats = sim.stats();
    assert_eq!(stats.api_requests, 2);
    assert!(stats.requests_per_id.is_empty());
    assert_eq!(stats.requests["GET /nowhere"][&404], 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_prefix_that_is_not_served_answers_resource_sub_not_found() {
    let (sim, http) = start(SimConfig {
        prefixes: vec!["/iso".to_owned()],
        credentials: seeded(),
        ..SimConfig::default()
    })
    .await;
    let token = http.token().await;
    let wrong = http
        .call(Method::PUT, "/api/pam/credential/1", Some(&token))
        .await;
    assert_eq!(
        (wrong.status, wrong.message()),
        (404, text::RESOURCE_SUB_NOT_FOUND)
    );
    assert_eq!(wrong.app_code(), None);
    let right = http
        .call(Method::PUT, "/iso/pam/credential/1", Some(&token))
        .await;
    assert_eq!(right.status, 200);
    let other = http
        .call(Method::PUT, "/iso/pam/devices/1", Some(&token))
        .await;
    assert_eq!(other.message(), text::RESOURCE_SUB_NOT_FOUND);
    let stats = sim.stats();
    assert_eq!(stats.requests["PUT /api/pam/credential"][&404], 1);
    assert_eq!(stats.requests["PUT /iso/pam/credential"][&200], 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_outage_answers_kong_503_without_retry_after() {
    let (sim, http) = seeded_sim().await;
    let token = http.token().await;
    sim.set_outage(true);
    let down = http
        .call(Method::PUT, "/api/pam/credential/1", Some(&token))
        .await;
    assert_eq!((down.status, down.message()), (503, text::KONG_UNAVAILABLE));
    assert_eq!(down.header("retry-after"), None);
    sim.set_outage(false);
    assert_eq!(
        http.call(Method::PUT, "/api/pam/credential/1", Some(&token))
            .await
            .status,
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn stats_count_routes_ids_flips_and_the_busiest_second() {
    let (sim, http) = seeded_sim().await;
    let token = http.token().await;
    let token = Some(token.as_str());
    for path in [
        "/api/pam/credential/1",
        "/api/pam/credential/1",
        "/iso/pam/credential/2",
    ] {
        http.call(Method::PUT, path, token).await;
    }
    http.call(Method::DELETE, "/api/pam/credential/1", token)
        .await;
    // Eight concurrent requests, so some overlap in flight.
    let burst = (0..8).map(|_| http.call(Method::PUT, "/api/pam/credential/3", token));
    futures::future::join_all(burst).await;

    let stats = sim.stats();
    assert_eq!(stats.token_requests, 1);
    assert_eq!(stats.api_requests, 12);
    assert_eq!(stats.total_requests, 13);
    assert_eq!(stats.requests["PUT /api/pam/credential"][&200], 2);
    assert_eq!(stats.requests["PUT /api/pam/credential"][&400], 8);
    assert_eq!(stats.requests["PUT /iso/pam/credential"][&200], 1);
    assert_eq!(stats.requests["DELETE /api/pam/credential"][&200], 1);
    assert_eq!(stats.requests_per_id[&1], 3);
    assert_eq!(stats.requests_per_id[&3], 8);
    assert_eq!(stats.activations[&1], 1);
    assert_eq!(stats.activations[&3], 1);
    assert_eq!(stats.deactivations[&1], 1);
    assert!(stats.lost_answers.is_empty());
    assert_eq!(stats.max_requests_per_second, 13);
    assert!(stats.max_in_flight >= 1);

    // The JSON read-out matches and is not itself counted.
    let served = http
        .send(http.client.get(format!("{}/_sim/stats", http.base)))
        .await;
    let served: SimStats = serde_json::from_str(&served.text).expect("stats json");
    assert_eq!(served, stats);
    assert_eq!(sim.stats(), stats);
    sim.shutdown().await;
}

#[tokio::test]
async fn shutdown_cuts_a_hanging_request_short() {
    let (sim, http) = start(SimConfig {
        credentials: seeded(),
        faults: super::Faults {
            hang: 1.0,
            hang_for: Duration::from_secs(60),
            ..super::Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let token = http.token().await;
    let hung = tokio::spawn(async move {
        http.request(Method::PUT, "/api/pam/credential/1", Some(&token))
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    while sim.stats().lost_answers.is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(sim.credential(1).is_some_and(|c| c.active));
    let started = std::time::Instant::now();
    sim.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    // The change was applied before the hang; the client got the answer or a closed connection.
    let _ = hung.await;
}

#[tokio::test]
async fn the_samples_give_the_outcomes_their_readme_promises() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/samples");
    let credentials =
        Credentials::from_csv_path(format!("{dir}/credentials.csv")).expect("sample credentials");
    let (sim, http) = start(SimConfig {
        credentials,
        ..SimConfig::default()
    })
    .await;
    let token = http.token().await;
    let ids = std::fs::read_to_string(format!("{dir}/ids.csv")).expect("sample ids");
    let mut seen = std::collections::BTreeSet::new();
    let (mut invalid, mut duplicate) = (0, 0);
    let mut outcomes = std::collections::BTreeMap::<(u16, Option<u64>), u32>::new();
    for line in ids.lines().skip(1) {
        let raw = line.split(',').next().unwrap_or("");
        let Ok(id) = raw.parse::<u64>() else {
            invalid += 1;
            continue;
        };
        if !seen.insert(id) {
            duplicate += 1;
            continue;
        }
        let path = format!("/api/pam/credential/{id}");
        let reply = http.call(Method::PUT, &path, Some(&token)).await;
        *outcomes
            .entry((reply.status, reply.app_code()))
            .or_default() += 1;
    }
    assert_eq!((invalid, duplicate), (1, 1));
    let want = [
        ((200, None), 273),
        ((400, Some(1007)), 5),
        ((400, Some(1009)), 2),
        ((400, Some(1010)), 4),
        ((400, Some(1043)), 20),
    ];
    assert_eq!(outcomes.into_iter().collect::<Vec<_>>(), want);
    sim.shutdown().await;
}
