//! The `OAuth2` token shared by every worker (design.md §4): fetched once before any id is
//! touched, trusted for its `expires_in`, refreshed ahead of expiry by exactly one task while the
//! others wait, and invalidated only if the token an answer rejected is still the current one.
//! Every fetch takes a rate permit like any other request, ahead of the queued requests that
//! wait for it. Knows the token endpoint only.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use thiserror::Error;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::backoff::Backoff;
use crate::config::Connection;
use crate::error::{AbortReason, Problem};
use crate::http::read_bounded;
use crate::pacer::Pacer;
use crate::secret::Secret;
use crate::wire::{Envelope, TokenResponse};

/// Longest token lifetime believed, whatever `expires_in` says.
const MAX_LIFETIME_SECS: u64 = 365 * 24 * 3600;

/// Refresh this long before expiry at most; shorter lifetimes refresh at nine tenths.
const MAX_MARGIN: Duration = Duration::from_secs(60);

/// An access token and when to stop using it.
#[derive(Debug)]
pub struct Token {
    value: Secret,
    /// Distinguishes tokens, so an answer to an old token never discards a newer one.
    generation: u64,
    fetched_at: Instant,
    refresh_at: Instant,
    /// Lifetime the server gave (`expires_in`).
    pub lifetime: Duration,
}

impl Token {
    /// The bearer value, for the `Authorization` header only.
    #[must_use]
    pub fn bearer(&self) -> &str {
        self.value.expose()
    }

    /// Which fetch produced this token (1 for the first).
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether the token is still before its refresh point.
    #[must_use]
    pub fn is_fresh(&self) -> bool {
        Instant::now() < self.refresh_at
    }
}

/// The token endpoint would not give a token.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum AuthError {
    /// The client was refused: every later fetch would be refused too.
    #[error("the token endpoint rejected the client (HTTP {status}: {message})")]
    Rejected { status: u16, message: String },
    /// The URL, TLS trust or token path is wrong: retrying cannot help, and the client id and
    /// secret were never judged.
    #[error("{0}")]
    Misconfigured(Problem),
    /// The endpoint kept failing transiently for every attempt.
    #[error("no token after {attempts} attempts ({last})")]
    Unavailable { attempts: u32, last: String },
    /// The run is stopping; no fetch was made.
    #[error("cancelled")]
    Cancelled,
}

/// Fetches and caches the access token for all workers.
#[derive(Debug)]
pub struct TokenCache {
    http: reqwest::Client,
    url: String,
    client_id: String,
    secret: Secret,
    timeout: Duration,
    pacer: Arc<Pacer>,
    max_attempts: u32,
    /// How long a mid-run token endpoint failure is retried before the run aborts.
    max_outage: Duration,
    backoff: Backoff,
    cancel: CancellationToken,
    /// The current token; the lock is held during a fetch so only one task fetches.
    current: Mutex<Option<Arc<Token>>>,
    fetches: AtomicU64,
}

impl TokenCache {
    /// A cache with no token yet; call [`TokenCache::get`] to fetch the first.
    #[must_use]
    pub fn new(
        http: reqwest::Client,
        connection: &Connection,
        pacer: Arc<Pacer>,
        max_attempts: u32,
        cancel: CancellationToken,
    ) -> Self {
        // A server may echo Basic credentials: scrub them exactly, id and all.
        crate::redact::register_basic(&connection.client_id, connection.secret.expose());
        Self {
            http,
            url: connection.token_url(),
            client_id: connection.client_id.clone(),
            secret: connection.secret.clone(),
            timeout: connection.timeout,
            pacer,
            max_attempts: max_attempts.max(1),
            max_outage: Duration::from_secs(300),
            backoff: Backoff::default(),
            cancel,
            current: Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// The current token, fetching a new one first if there is none or it is near expiry.
    pub async fn get(&self) -> Result<Arc<Token>, AuthError> {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(Arc::clone(token));
        }
        let token = Arc::new(self.fetch().await?);
        *current = Some(Arc::clone(&token));
        Ok(token)
    }

    /// A token to replay with after `rejected` drew an auth-flavoured answer. `rejected` is
    /// dropped only if it is still the current token; a newer current token is reused only
    /// while it is in the first half of its life, so that a replay always goes out with a
    /// freshly fetched token and a second rejection means a real permission failure.
    pub async fn refresh(&self, rejected: &Token) -> Result<Arc<Token>, AuthError> {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref().filter(|t| {
            t.generation > rejected.generation && t.fetched_at.elapsed() < t.lifetime / 2
        }) {
            return Ok(Arc::clone(token));
        }
        debug!(
            rejected = rejected.generation,
            "fetching a fresh token for a replay"
        );
        let token = Arc::new(self.fetch().await?);
        *current = Some(Arc::clone(&token));
        Ok(token)
    }

    /// Sets how long a mid-run token endpoint failure is retried (`--max-outage`).
    #[must_use]
    pub fn with_max_outage(mut self, max_outage: Duration) -> Self {
        self.max_outage = max_outage;
        self
    }

    /// Tokens fetched so far.
    #[must_use]
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Fetches a token, retrying transient failures. The first fetch of a run gives up after
    /// `max_attempts` (a wrong URL should fail fast, with nothing sent); once a token was had,
    /// the endpoint failing is an outage like any other and is retried for `max_outage`.
    async fn fetch(&self) -> Result<Token, AuthError> {
        let started = Instant::now();
        let patient = self.fetches.load(Ordering::Relaxed) > 0;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            // Ahead of the requests queued for permits: they all wait for this token.
            if !self.pacer.acquire_first(&self.cancel).await {
                return Err(AuthError::Cancelled);
            }
            // The first signal also stops a fetch in flight (a token endpoint that hangs).
            let fetched = tokio::select! {
                () = self.cancel.cancelled() => return Err(AuthError::Cancelled),
                fetched = self.fetch_once() => fetched,
            };
            match fetched {
                Ok(token) => return Ok(token),
                Err(FetchFailure::Rejected { status, message }) => {
                    return Err(AuthError::Rejected { status, message });
                }
                Err(FetchFailure::Misconfigured(problem)) => {
                    return Err(AuthError::Misconfigured(problem));
                }
                Err(FetchFailure::Transient(last)) => {
                    warn!(attempt, error = %last, "token fetch failed, will retry");
                    let more = if patient {
                        started.elapsed() < self.max_outage
                    } else {
                        attempt < self.max_attempts
                    };
                    if !more {
                        return Err(AuthError::Unavailable {
                            attempts: attempt,
                            last,
                        });
                    }
                }
            }
            let delay = self
                .backoff
                .delay(attempt, None, &mut crate::backoff::jitter_rng());
            tokio::select! {
                () = self.cancel.cancelled() => return Err(AuthError::Cancelled),
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    async fn fetch_once(&self) -> Result<Token, FetchFailure> {
        let body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            form_encode(&self.client_id),
            form_encode(self.secret.expose())
        );
        let sent = self
            .http
            .post(&self.url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(self.timeout)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                return Err(match crate::http::diagnose(&e).await {
                    Some(problem) => FetchFailure::Misconfigured(problem),
                    None => FetchFailure::Transient(crate::http::describe_error(&e)),
                });
            }
        };
        let status = response.status().as_u16();
        let bytes = read_bounded(response)
            .await
            .map_err(|e| FetchFailure::Transient(crate::http::describe_error(&e)))?;
        if status == 200 {
            let Ok(parsed) = serde_json::from_slice::<TokenResponse>(&bytes) else {
                return Err(self.not_a_token_endpoint(status, &bytes).await);
            };
            // Trusted, but bounded: a year is longer than any real token and keeps the
            // arithmetic on instants far from overflow.
            let lifetime = Duration::from_secs(
                parsed
                    .expires_in
                    .unwrap_or(3600)
                    .clamp(1, MAX_LIFETIME_SECS),
            );
            let margin = MAX_MARGIN.min(lifetime / 10);
            let generation = self.fetches.fetch_add(1, Ordering::Relaxed) + 1;
            info!(
                generation,
                lifetime_secs = lifetime.as_secs(),
                "access token fetched"
            );
            let now = Instant::now();
            return Ok(Token {
                value: Secret::token(parsed.access_token),
                generation,
                fetched_at: now,
                refresh_at: now + lifetime - margin,
                lifetime,
            });
        }
        let message = error_text(&bytes);
        if status == 408 || status == 429 || status >= 500 {
            Err(FetchFailure::Transient(format!("HTTP {status}: {message}")))
        } else if is_oauth_refusal(status, &bytes) {
            Err(FetchFailure::Rejected { status, message })
        } else {
            Err(self.not_a_token_endpoint(status, &bytes).await)
        }
    }

    /// An answer that no token endpoint gives (a 404, a proxy's page, another service's JSON):
    /// the URL or the token path is wrong, or a plain-HTTP URL reached a TLS port.
    async fn not_a_token_endpoint(&self, status: u16, bytes: &[u8]) -> FetchFailure {
        if let Ok(url) = url::Url::parse(&self.url)
            && url.scheme() == "http"
            && crate::http::speaks_tls(&url).await
        {
            return FetchFailure::Misconfigured(crate::http::wrong_scheme(&url, "TLS (HTTPS)"));
        }
        let text = not_a_token_text(bytes);
        FetchFailure::Misconfigured(Problem::new(
            format!("no token endpoint at {} (HTTP {status}: {text})", self.url),
            "check --url (the appliance's base URL, without a path such as /senhasegura) and --token-path (default /iso/oauth2/token)",
        ))
    }
}

/// What an answer that is not a token said, for the operator: the text of a page, or a JSON
/// body's `message`/`error` only. Never the rest of a JSON body, which may hold a token that
/// is merely wrapped or typed differently (invariant 10).
fn not_a_token_text(bytes: &[u8]) -> String {
    if serde_json::from_slice::<serde_json::Value>(bytes).is_ok() {
        let said = serde_json::from_slice::<Envelope>(bytes)
            .ok()
            .and_then(|e| {
                e.message
                    .or_else(|| e.error.as_ref().and_then(|v| v.as_str()).map(str::to_owned))
            });
        return match said {
            Some(text) => crate::http::one_line(&crate::redact::text(&text)),
            None => "a JSON answer without a usable access_token".to_owned(),
        };
    }
    let text = error_text(bytes);
    if text.is_empty() {
        "empty body".to_owned()
    } else {
        text
    }
}

/// Whether a 4xx answer is the token server judging the client (its `OAuth2` JSON error), as
/// opposed to a page from something else at that URL.
fn is_oauth_refusal(status: u16, bytes: &[u8]) -> bool {
    matches!(status, 400 | 401 | 403)
        && serde_json::from_slice::<Envelope>(bytes)
            .is_ok_and(|e| e.error.is_some() || e.message.is_some())
}

impl AuthError {
    /// Why a run that got this error must stop; `None` when it was cancelled.
    #[must_use]
    pub fn abort_reason(self) -> Option<AbortReason> {
        match self {
            Self::Cancelled => None,
            Self::Rejected { status, message } => {
                Some(AbortReason::ClientRejected { status, message })
            }
            Self::Misconfigured(problem) => Some(AbortReason::Misconfigured(problem)),
            e @ Self::Unavailable { .. } => Some(AbortReason::TokenUnavailable(e.to_string())),
        }
    }
}

enum FetchFailure {
    Rejected { status: u16, message: String },
    Misconfigured(Problem),
    Transient(String),
}

/// The server's text of a token error on one short line, scrubbed (before it is cut short) of
/// the secret in any encoding, in case the server echoes the form back.
fn error_text(bytes: &[u8]) -> String {
    let text = serde_json::from_slice::<Envelope>(bytes)
        .ok()
        .and_then(|e| {
            e.message
                .or_else(|| e.error.as_ref().and_then(|v| v.as_str()).map(str::to_owned))
        })
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned());
    crate::http::one_line(&crate::redact::text(&text))
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::{Secret, error_text, form_encode};

    #[test]
    fn token_errors_are_one_short_line_without_the_secret() {
        let _secret = Secret::new("s3cr3t");
        let body =
            br#"{"error":"invalid_client","message":"bad client_secret=s3cr3t\nsecond line"}"#;
        assert_eq!(error_text(body), "bad client_secret=(redacted) second line");
        let html = b"<html><body>client_secret=s3cr3t</body></html>";
        assert_eq!(error_text(html), "client_secret=(redacted)");
    }

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(form_encode("a b&c=d+é"), "a+b%26c%3Dd%2B%C3%A9");
    }
}
