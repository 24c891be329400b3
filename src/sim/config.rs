//! The simulator's validated settings: who may fetch tokens, which prefixes are served, how an
//! expired token is answered, and which faults are injected at what rates. Plain data with sane
//! defaults; no I/O and no clap types (the CLI turns its flags into this in `cli`).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::credentials::Credentials;
use super::gateway::Gateway;

/// Everything one simulator instance needs to start. Its `Debug` redacts the secret.
#[derive(Clone)]
pub struct SimConfig {
    /// Address to bind; port 0 picks a free port (read it back from `SimHandle::addr`).
    pub listen: SocketAddr,
    /// The one `OAuth2` client the token endpoint accepts.
    pub client_id: String,
    /// Its secret (a test double, so a plain string is fine); `SimHandle::rotate_secret` changes it.
    pub client_secret: String,
    /// How long an issued token stays valid; announced as `expires_in` in whole seconds (min 1),
    /// checked against `tokio::time::Instant` with the exact duration.
    pub token_lifetime: Duration,
    /// Path of the token endpoint.
    pub token_path: String,
    /// API prefixes served (`/api` on v3.33+, `/iso` on older appliances); a request under a
    /// prefix not listed gets `404 Resource sub not found`.
    pub prefixes: Vec<String>,
    /// How an unknown or expired bearer token is answered (the API leaves it undocumented).
    pub expired_token_answer: ExpiredTokenAnswer,
    /// The authorization is read-only: every PUT/DELETE answers 400 code 1039.
    pub read_only: bool,
    /// Fixed delay added to every API request (after the auth check).
    pub latency: Duration,
    /// Extra uniform random delay in `0..=jitter` added on top of `latency`.
    pub jitter: Duration,
    /// Injected fault rates.
    pub faults: Faults,
    /// The gateway in front of the credential API: nginx `limit_req`, Kong's rate limiting, or
    /// an appliance of limited capacity (see [`Gateway`]).
    pub gateway: Gateway,
    /// The older spelling of `gateway: Gateway::Kong { limit }`, kept because many tests use
    /// it: used only while `gateway` is `Open`; `Some(0)` limits nothing.
    pub rate_limit: Option<u32>,
    /// Keep one record per API request that passes the gateway (`SimHandle::timeline`). Off by
    /// default: memory grows with every request.
    pub record_timeline: bool,
    /// Seed of the fault and jitter RNG, so runs are reproducible.
    pub seed: u64,
    /// Initial credential state.
    pub credentials: Credentials,
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("listen", &self.listen)
            .field("client_id", &self.client_id)
            .field("client_secret", &"(redacted)")
            .field("token_lifetime", &self.token_lifetime)
            .field("token_path", &self.token_path)
            .field("prefixes", &self.prefixes)
            .field("expired_token_answer", &self.expired_token_answer)
            .field("read_only", &self.read_only)
            .field("latency", &self.latency)
            .field("jitter", &self.jitter)
            .field("faults", &self.faults)
            .field("gateway", &self.gateway)
            .field("rate_limit", &self.rate_limit)
            .field("record_timeline", &self.record_timeline)
            .field("seed", &self.seed)
            .field("credentials", &self.credentials.len())
            .finish()
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            client_id: "demo".to_owned(),
            client_secret: "demo-secret".to_owned(),
            token_lifetime: Duration::from_secs(3600),
            token_path: "/iso/oauth2/token".to_owned(),
            prefixes: vec!["/api".to_owned(), "/iso".to_owned()],
            expired_token_answer: ExpiredTokenAnswer::default(),
            read_only: false,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            faults: Faults::default(),
            gateway: Gateway::Open,
            rate_limit: None,
            record_timeline: false,
            seed: 0,
            credentials: Credentials::default(),
        }
    }
}

impl SimConfig {
    /// The gateway in force: `gateway`, or Kong at `rate_limit` when `gateway` is `Open`.
    #[must_use]
    pub fn effective_gateway(&self) -> Gateway {
        match self.gateway {
            Gateway::Open => self.rate_limit.and_then(Gateway::kong).unwrap_or_default(),
            chosen => chosen,
        }
    }
}

/// The three answers seen in the wild for an expired or revoked bearer token (api-contract §2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExpiredTokenAnswer {
    /// `401 {"error":"access_denied","message":"The resource owner or authorization server denied the request."}`
    #[default]
    Unauthorized401,
    /// `500` envelope with `You are not authorized to access this resource.`
    NotAuthorized500,
    /// Kong's `404 {"message":"no Route matched with those values","request_id":"…"}`
    KongNoRoute404,
}

/// Injected fault rates, each `0.0..=1.0`, drawn once per API request that passed auth and the
/// read-only check. One uniform draw is compared against the cumulative rates in field order, so
/// the rates are exact while they add up to at most 1.
#[derive(Clone, Debug)]
pub struct Faults {
    /// Apply the change, then sleep `hang_for` before answering (past any sane client timeout).
    pub hang: f64,
    /// Apply the change, send 200 headers, then abort the body so the client sees a dropped
    /// connection.
    pub lost: f64,
    /// `500` envelope `Unexpected error.`; nothing applied.
    pub server_error: f64,
    /// Kong `504 The upstream server is timing out`; nothing applied.
    pub gateway_timeout: f64,
    /// Kong `503 The upstream server is currently unavailable` with `Retry-After: 1`; nothing
    /// applied.
    pub unavailable: f64,
    /// `502` with an HTML body (a proxy's error page); nothing applied.
    pub html: f64,
    /// How long a hung request sleeps before answering.
    pub hang_for: Duration,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            hang: 0.0,
            lost: 0.0,
            server_error: 0.0,
            gateway_timeout: 0.0,
            unavailable: 0.0,
            html: 0.0,
            hang_for: Duration::from_secs(120),
        }
    }
}

/// The outcome of one fault draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    Hang,
    Lost,
    ServerError,
    GatewayTimeout,
    Unavailable,
    Html,
}

impl Faults {
    /// Maps one uniform draw in `0.0..1.0` to a fault.
    pub(crate) fn pick(&self, draw: f64) -> Fault {
        let table = [
            (self.hang, Fault::Hang),
            (self.lost, Fault::Lost),
            (self.server_error, Fault::ServerError),
            (self.gateway_timeout, Fault::GatewayTimeout),
            (self.unavailable, Fault::Unavailable),
            (self.html, Fault::Html),
        ];
        let mut edge = 0.0;
        for (rate, fault) in table {
            edge += rate.clamp(0.0, 1.0);
            if draw < edge {
                return fault;
            }
        }
        Fault::None
    }

    /// True when no fault can ever be drawn (saves the RNG call).
    pub(crate) fn is_quiet(&self) -> bool {
        [
            self.hang,
            self.lost,
            self.server_error,
            self.gateway_timeout,
            self.unavailable,
            self.html,
        ]
        .iter()
        .all(|rate| *rate <= 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_draws_follow_cumulative_rates_in_field_order() {
        let faults = Faults {
            hang: 0.1,
            lost: 0.1,
            server_error: 0.1,
            ..Faults::default()
        };
        assert_eq!(faults.pick(0.05), Fault::Hang);
        assert_eq!(faults.pick(0.15), Fault::Lost);
        assert_eq!(faults.pick(0.25), Fault::ServerError);
        assert_eq!(faults.pick(0.35), Fault::None);
        assert!(!faults.is_quiet());
        assert!(Faults::default().is_quiet());
    }

    #[test]
    fn the_older_rate_limit_field_means_kong_unless_a_gateway_is_chosen() {
        let older = SimConfig {
            rate_limit: Some(30),
            ..SimConfig::default()
        };
        assert_eq!(older.effective_gateway(), Gateway::kong(30).expect("limit"));
        let both = SimConfig {
            gateway: Gateway::capacity(50).expect("rate"),
            ..older
        };
        assert_eq!(
            both.effective_gateway(),
            Gateway::capacity(50).expect("rate")
        );
        assert_eq!(SimConfig::default().effective_gateway(), Gateway::Open);
    }

    #[test]
    fn a_rate_of_one_always_fires() {
        let faults = Faults {
            html: 1.0,
            ..Faults::default()
        };
        assert_eq!(faults.pick(0.0), Fault::Html);
        assert_eq!(faults.pick(0.999_999), Fault::Html);
    }
}
