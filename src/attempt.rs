//! The contract between the pipeline and whatever sends its attempts (design.md §8): the
//! [`Backend`] trait and the classified [`Answer`] it returns. Both sides import this module and
//! neither imports the other, so data flows one way: `pipeline` drives a `Backend`, `api`
//! implements one. Depends only on `auth` for the token error type; knows no HTTP and no
//! pipeline policy beyond what an answer shows about the appliance ([`Evidence`]).

use std::future::Future;
use std::time::Duration;

use crate::auth::AuthError;

/// What the pipeline needs from the API side: a token, a way to drop a rejected one, and one
/// attempt at the change for an id.
pub trait Backend: Send + Sync + 'static {
    /// The token type handed back to [`Backend::send`].
    type Token: Send + Sync;

    /// The current token (fetching one if needed).
    fn token(&self) -> impl Future<Output = Result<Self::Token, AuthError>> + Send;

    /// A freshly fetched token to replay with after `rejected` drew an auth-flavoured answer
    /// (`rejected` is dropped only if it is still the current token).
    fn refresh(
        &self,
        rejected: &Self::Token,
    ) -> impl Future<Output = Result<Self::Token, AuthError>> + Send;

    /// Whether `token` can still be sent: a long wait for a rate permit (a `Retry-After`
    /// pause) can outlast a short-lived token.
    fn is_fresh(&self, token: &Self::Token) -> bool;

    /// One attempt at the change for `id`.
    fn send(&self, id: u64, token: &Self::Token) -> impl Future<Output = Answer> + Send;

    /// One request that changes nothing, only to learn whether the appliance answers at all
    /// (an id whose failures are the only ones in sight is failing on its own only if the
    /// appliance answers something else). `None` when the backend has no such request: the
    /// pipeline then waits for other ids' answers as evidence. A decorator should forward it.
    fn probe(&self, token: &Self::Token) -> impl Future<Output = Option<Answer>> + Send {
        let _ = token;
        std::future::ready(None)
    }
}

/// What an answer shows about the appliance as a whole, apart from the id (design.md §10,
/// "Outage by evidence").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// The appliance itself answered (200, a 4xx with an application code, a 500 envelope,
    /// anything that is not a gateway speaking for a missing upstream): it is up.
    Answered,
    /// Nothing behind the gateway answered: connection refused or reset, no answer in time,
    /// or a gateway's 502/503/504 (or 408).
    Unreachable,
    /// The gateway answered for itself (429): neither up nor down.
    Gateway,
}

/// What an answer means for the id, before retries and aborts are decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerClass {
    /// The change was applied (200).
    Applied,
    /// The credential was already in the wanted state (1043, 1017 "already activ", 1008).
    AlreadyDone,
    NotFound,
    NoAccess,
    NotACredential,
    /// Any other application error code.
    Rejected,
    /// 1039: the authorization is read-only; every id will fail.
    ReadOnly,
    /// `Resource sub not found`: the path or prefix is wrong; every id will fail.
    WrongPrefix,
    /// 401/403, 500 `You are not authorized…`, Kong 404 `no Route matched`: maybe an expired
    /// token; fetch a fresh one and replay once.
    AuthFlavoured,
    /// Client timeout, 408, 504, `Request timed out.`.
    Timeout,
    /// 429.
    RateLimited,
    /// 500 `Unexpected error.`, 502, 503 and other 5xx.
    ServerError,
    /// Connection refused, reset or dropped mid-answer.
    Network,
    /// Anything the tool cannot read (3xx, 2xx with `error:true`, undecodable body, odd 4xx).
    Unexpected,
}

impl AnswerClass {
    /// Worth another attempt after a delay.
    #[must_use]
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Self::Timeout | Self::RateLimited | Self::ServerError | Self::Network
        )
    }
}

/// A classified answer: what it means plus what the report should say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub class: AnswerClass,
    /// `None` when no answer arrived (timeout, connection failure).
    pub http_status: Option<u16>,
    /// Four-digit application code, from `exception.code` else the `NNNN:` prefix.
    pub api_code: Option<u16>,
    /// The server's text, or the tool's explanation.
    pub message: String,
    /// Parsed `Retry-After`, if the server sent one.
    pub retry_after: Option<Duration>,
    /// The change may have been applied although no success came back (lost answer, gateway
    /// timeout, server fault): a later "already" counts as done by this run.
    pub maybe_applied: bool,
    /// The gateway's own account of its rate limit, when the answer carried one (`--rate
    /// auto` paces by it).
    pub gateway: Option<GatewayLimit>,
}

/// What a gateway's rate-limit headers say (`RateLimit-Limit` / `-Remaining` / `-Reset`, or
/// Kong's `X-RateLimit-Limit-Second|Minute` and `X-RateLimit-Remaining-Second|Minute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayLimit {
    /// Requests allowed per `window`.
    pub limit: u64,
    /// The window the limit counts in (one second unless a per-minute header was the only one).
    pub window: Duration,
    /// Requests left in the current window, shared by every client behind the same gateway.
    pub remaining: Option<u64>,
    /// Time until the current window resets.
    pub reset: Option<Duration>,
}

impl GatewayLimit {
    /// The limit as requests per second.
    #[must_use]
    pub fn per_second(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "a request count")]
        let limit = self.limit as f64;
        limit / self.window.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

impl Answer {
    /// No answer: the transport failed. `after_send` is true when the request may have reached
    /// the server (a dropped connection or a timeout, not a refused connect).
    #[must_use]
    pub fn transport(class: AnswerClass, message: String, after_send: bool) -> Self {
        Self {
            class,
            http_status: None,
            api_code: None,
            message,
            retry_after: None,
            maybe_applied: after_send,
            gateway: None,
        }
    }

    /// What this answer shows about the appliance (see [`Evidence`]).
    #[must_use]
    pub fn evidence(&self) -> Evidence {
        match self.http_status {
            None | Some(408 | 502 | 503 | 504) => Evidence::Unreachable,
            Some(429) => Evidence::Gateway,
            Some(_) => Evidence::Answered,
        }
    }
}
