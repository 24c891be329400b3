//! The request the pipeline sends to learn whether the appliance answers at all (design.md
//! §10, "Outage by evidence"): the change for an id that cannot exist, never id 0.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use credbulk::api::{AnswerClass, ApiClient, DEFAULT_PROBE_ID};
use credbulk::attempt::Backend;
use credbulk::auth::TokenCache;
use credbulk::config::{Connection, Tls};
use credbulk::metrics::Metrics;
use credbulk::model::Operation;
use credbulk::pacer::Pacer;
use credbulk::secret::Secret;
use credbulk::sim::{self, Credentials, SimConfig};
use tokio_util::sync::CancellationToken;

fn client(url: &str) -> ApiClient {
    let connection = Connection {
        base: url.parse().unwrap(),
        client_id: "demo".into(),
        secret: Secret::new("demo-secret"),
        token_path: "/iso/oauth2/token".into(),
        api_prefix: "/api".into(),
        timeout: Duration::from_secs(5),
        tls: Tls {
            ca_certs: Vec::new(),
            insecure: false,
        },
        probe_id: DEFAULT_PROBE_ID,
    };
    let http = credbulk::http::client(&connection, 1).unwrap();
    let pacer = Arc::new(Pacer::new(100.0, NonZeroU32::new(1).unwrap()));
    let tokens = Arc::new(TokenCache::new(
        http.clone(),
        &connection,
        pacer,
        3,
        CancellationToken::new(),
    ));
    ApiClient::new(
        http,
        &connection,
        Operation::Enable,
        tokens,
        Arc::new(Metrics::default()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_asks_about_an_id_that_cannot_exist_and_its_id_is_a_setting() {
    let sim = sim::spawn(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        credentials: Credentials::generate(3),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let api = client(&sim.url());
    let token = api.token().await.unwrap();
    let answer = api.probe(&token).await.expect("the API client probes");
    assert_eq!(answer.class, AnswerClass::NotFound, "{answer:?}");
    let stats = sim.stats();
    assert_eq!(DEFAULT_PROBE_ID, 2_147_483_647);
    assert_eq!(
        stats.requests_per_id.keys().copied().collect::<Vec<_>>(),
        vec![DEFAULT_PROBE_ID],
        "never id 0: ids are positive"
    );
    assert!(stats.activations.is_empty());

    // The id is a parameter (the integrator wires `--probe-id` to it).
    let api = api.with_probe_id(3);
    let answer = api.probe(&token).await.unwrap();
    assert_eq!(answer.class, AnswerClass::Applied);
    assert_eq!(sim.stats().requests_per_id.get(&3), Some(&1));
    sim.shutdown().await;
}
