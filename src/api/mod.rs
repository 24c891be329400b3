//! The senhasegura A2A client: one request per attempt (PUT to enable, DELETE to disable, no
//! body, bearer token), its answer classified. Knows the API, not the pipeline: retries, rate
//! and aborts are decided by the caller.

mod classify;
mod gateway;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderValue;

use tokio::time::Instant;
use tracing::debug;

pub use crate::attempt::{Answer, AnswerClass};
pub use classify::classify;

use crate::attempt::Backend;
use crate::auth::{AuthError, Token, TokenCache};
use crate::config::Connection;
use crate::http::{describe_error, read_bounded};
use crate::metrics::Metrics;
use crate::model::Operation;

/// The id [`ApiClient`]'s probe asks about unless `--probe-id` says otherwise (the same
/// setting as `check`'s probe).
pub use crate::config::DEFAULT_PROBE_ID;

/// Sends one change per call to the appliance.
#[derive(Debug)]
pub struct ApiClient {
    http: reqwest::Client,
    operation: Operation,
    /// `{base}{prefix}/pam/credential/`; the id is appended.
    credential_url: String,
    /// The same, parsed once: a request then only sets its path, instead of parsing the whole
    /// URL (scheme, host, IDNA) again for every id. `None` if it does not parse (the request
    /// then fails as it always did).
    credential_base: Option<reqwest::Url>,
    timeout: Duration,
    tokens: Arc<TokenCache>,
    metrics: Arc<Metrics>,
    /// `Authorization` value of the token generation last used, so the header (hundreds of
    /// bytes, checked byte by byte) is built once per token rather than once per request.
    bearer: Mutex<Option<(u64, HeaderValue)>>,
    /// The id the probe sends the change for: one that cannot exist (see [`DEFAULT_PROBE_ID`]).
    probe_id: u64,
}

impl ApiClient {
    /// A client for `operation` that takes its tokens from `tokens`.
    #[must_use]
    pub fn new(
        http: reqwest::Client,
        connection: &Connection,
        operation: Operation,
        tokens: Arc<TokenCache>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let credential_url = connection.credential_url();
        let credential_base = reqwest::Url::parse(&credential_url)
            .ok()
            .filter(|url| !url.cannot_be_a_base() && url.query().is_none());
        Self {
            http,
            operation,
            credential_url,
            credential_base,
            timeout: connection.timeout,
            tokens,
            metrics,
            bearer: Mutex::new(None),
            probe_id: connection.probe_id,
        }
    }

    /// Probes with the change for `id` instead of [`DEFAULT_PROBE_ID`] (`--probe-id`).
    #[must_use]
    pub fn with_probe_id(mut self, id: u64) -> Self {
        self.probe_id = id;
        self
    }

    /// `{credential_url}{id}`.
    fn url_for(&self, id: u64) -> Result<reqwest::Url, String> {
        match &self.credential_base {
            Some(base) => {
                let mut url = base.clone();
                let path = format!("{}{id}", base.path());
                url.set_path(&path);
                Ok(url)
            }
            None => Err(format!("{}{id}", self.credential_url)),
        }
    }

    /// The `Authorization` header for `token`, built once per token.
    fn authorization(&self, token: &Token) -> Option<HeaderValue> {
        let mut cached = self
            .bearer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((generation, value)) = cached.as_ref()
            && *generation == token.generation()
        {
            return Some(value.clone());
        }
        let mut value = HeaderValue::try_from(format!("Bearer {}", token.bearer())).ok()?;
        value.set_sensitive(true);
        *cached = Some((token.generation(), value.clone()));
        Some(value)
    }

    /// Sends the change for `id` once and classifies the answer.
    pub async fn change(&self, id: u64, token: &Token) -> Answer {
        let method = match self.operation {
            Operation::Enable => reqwest::Method::PUT,
            Operation::Disable => reqwest::Method::DELETE,
        };
        let started = Instant::now();
        let request = match self.url_for(id) {
            Ok(url) => self.http.request(method, url),
            Err(text) => self.http.request(method, text),
        };
        let request = match self.authorization(token) {
            Some(value) => request.header(reqwest::header::AUTHORIZATION, value),
            // Not a valid header value: let reqwest report it as it always did.
            None => request.bearer_auth(token.bearer()),
        };
        let request = request
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_LENGTH, "0")
            .timeout(self.timeout);
        let answer = match request.send().await {
            Err(e) => transport_answer(&e, false),
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let limit = gateway::read(response.headers());
                let mut answer = match read_bounded(response).await {
                    Ok(body) => classify(self.operation, status, retry_after.as_deref(), &body),
                    Err(e) => {
                        let mut answer = transport_answer(&e, true);
                        answer.http_status = Some(status);
                        answer
                    }
                };
                answer.gateway = limit;
                answer
            }
        };
        let elapsed = started.elapsed();
        self.metrics.record_request(elapsed);
        debug!(
            id,
            status = answer.http_status,
            class = ?answer.class,
            elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            "answer"
        );
        answer
    }
}

/// An answer for a request that got no complete response.
fn transport_answer(error: &reqwest::Error, body_started: bool) -> Answer {
    let message = describe_error(error);
    // A refused or timed-out connect never reached the server; anything later may have.
    let after_send = body_started || !error.is_connect();
    if error.is_timeout() {
        Answer::transport(
            AnswerClass::Timeout,
            format!("no answer within --timeout ({message})"),
            after_send,
        )
    } else {
        Answer::transport(AnswerClass::Network, message, after_send)
    }
}

impl Backend for ApiClient {
    type Token = Arc<Token>;

    async fn token(&self) -> Result<Arc<Token>, AuthError> {
        self.tokens.get().await
    }

    async fn refresh(&self, rejected: &Arc<Token>) -> Result<Arc<Token>, AuthError> {
        self.tokens.refresh(rejected).await
    }

    fn is_fresh(&self, token: &Arc<Token>) -> bool {
        token.is_fresh()
    }

    async fn send(&self, id: u64, token: &Arc<Token>) -> Answer {
        self.change(id, token).await
    }

    /// The change for the probe id, which no credential has (see [`DEFAULT_PROBE_ID`]): the
    /// appliance answers 1007 and changes nothing, which is all the pipeline needs to know
    /// that it answers. (Id 0 is not used: ids are positive, and an appliance may route a
    /// zero or read it as "no id" rather than answer 1007.)
    async fn probe(&self, token: &Arc<Token>) -> Option<Answer> {
        let answer = self.change(self.probe_id, token).await;
        if matches!(
            answer.class,
            AnswerClass::Applied | AnswerClass::AlreadyDone
        ) {
            tracing::warn!(
                probe_id = self.probe_id,
                "the probe's id is a real credential on this appliance: the probe changed it"
            );
        }
        Some(answer)
    }
}
