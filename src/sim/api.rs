//! `PUT|DELETE {prefix}/pam/credential/{id}`: the gateway checks (Authorization header shape,
//! the gateway's limit, outage), the bearer token, the capacity queue and latency, read-only,
//! fault injection, then the state change with the documented application codes. Decides the
//! answer; `server` sends it.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use rand::RngExt as _;
use tokio::time::Instant;

use crate::wire::{code, text};

use super::config::{ExpiredTokenAnswer, Fault};
use super::credentials::{Credentials, Kind};
use super::gateway::Admission;
use super::responses::{
    ACCESS_DENIED, app_error, html_bad_gateway, kong, league, lost, nginx_too_many_requests,
    no_route, plain_error, rate_limited, stamp_kong_window, success, unavailable,
};
use super::state::SimState;
use super::stats::bump;
use super::timeline::Served;

/// What to send, and whether to sit on it first.
pub(crate) enum Answer {
    /// Send this now.
    Now(Response),
    /// The change was applied; send this after the configured hang (or at shutdown).
    Hang(Response, Duration),
}

impl Answer {
    fn response(&self) -> &Response {
        match self {
            Self::Now(response) | Self::Hang(response, _) => response,
        }
    }

    fn response_mut(&mut self) -> &mut Response {
        match self {
            Self::Now(response) | Self::Hang(response, _) => response,
        }
    }
}

/// Enable (`PUT`) or disable (`DELETE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    Enable,
    Disable,
}

impl Change {
    pub(crate) fn from_method(method: &Method) -> Option<Self> {
        match *method {
            Method::PUT => Some(Self::Enable),
            Method::DELETE => Some(Self::Disable),
            _ => None,
        }
    }
}

/// Handles one API request for the raw path segment `id` (already routed to a served prefix):
/// the gateway first, then the appliance.
pub(crate) async fn credential(
    state: &SimState,
    change: Change,
    id: &str,
    headers: &HeaderMap,
) -> Answer {
    // Kong: the route requires an Authorization header that looks like a bearer token.
    let Some(token) = bearer(headers) else {
        return Answer::Now(no_route());
    };
    let arrived = Instant::now();
    let admission = {
        let mut core = state.lock();
        let admission = core.gateway.admit(arrived);
        let counters = &mut core.recorder.stats;
        match admission {
            Admission::Pass(_) => counters.gateway_passed += 1,
            Admission::NginxRefused | Admission::KongRefused(_) => counters.gateway_refused += 1,
        }
        admission
    };
    let kong_window = match admission {
        Admission::Pass(window) => window,
        Admission::NginxRefused => return Answer::Now(nginx_too_many_requests()),
        Admission::KongRefused(window) => return Answer::Now(rate_limited(window)),
    };
    let id = parse_id(id);
    let mut answer = appliance(state, change, id, token, arrived).await;
    if let Some(window) = kong_window {
        stamp_kong_window(answer.response_mut(), window);
    }
    state.lock().recorder.served(Served {
        at: arrived.saturating_duration_since(state.shared().epoch),
        id,
        status: answer.response().status().as_u16(),
        latency: arrived.elapsed(),
    });
    answer
}

/// What the gateway let through: outage, the bearer token, the capacity queue and latency,
/// read-only, faults, then the change itself.
async fn appliance(
    state: &SimState,
    change: Change,
    id: Option<u64>,
    token: &str,
    arrived: Instant,
) -> Answer {
    let shared = state.shared();
    let config = state.config();
    if shared.outage.load(Ordering::Relaxed) {
        return Answer::Now(unavailable(false));
    }

    let delay = {
        let mut core = state.lock();
        let valid = core
            .tokens
            .get(token)
            .is_some_and(|expires| Instant::now() < *expires);
        if !valid {
            drop(core);
            return Answer::Now(expired(config.expired_token_answer));
        }
        if let Some(id) = id {
            bump(&mut core.recorder.stats.requests_per_id, id);
        }
        let jitter = if config.jitter.is_zero() {
            Duration::ZERO
        } else {
            config.jitter.mul_f64(core.rng.random::<f64>())
        };
        core.gateway.queue(arrived) + config.latency + jitter
    };
    if !delay.is_zero() {
        sleep_precisely(delay).await;
    }

    if shared.read_only.load(Ordering::Relaxed) {
        return Answer::Now(app_error(code::READ_ONLY, text::READ_ONLY));
    }
    if shared.failing.load(Ordering::Relaxed) {
        return Answer::Now(plain_error(500, text::UNEXPECTED_ERROR));
    }
    let mut core = state.lock();
    let fault = if config.faults.is_quiet() {
        Fault::None
    } else {
        let draw = core.rng.random::<f64>();
        config.faults.pick(draw)
    };
    match fault {
        Fault::ServerError => return Answer::Now(plain_error(500, text::UNEXPECTED_ERROR)),
        Fault::GatewayTimeout => return Answer::Now(kong(504, text::KONG_TIMEOUT)),
        Fault::Unavailable => return Answer::Now(unavailable(true)),
        Fault::Html => return Answer::Now(html_bad_gateway()),
        Fault::None | Fault::Hang | Fault::Lost => {}
    }
    let core = &mut *core;
    let answer = apply(&mut core.credentials, change, id);
    let counters = &mut core.recorder.stats;
    if let (Ok(()), Some(id)) = (answer, id) {
        match change {
            Change::Enable => bump(&mut counters.activations, id),
            Change::Disable => bump(&mut counters.deactivations, id),
        }
    }
    if let (Fault::Hang | Fault::Lost, Some(id)) = (fault, id) {
        bump(&mut counters.lost_answers, id);
    }
    let response = match answer {
        Ok(()) => success(match change {
            Change::Enable => text::ACTIVATED,
            Change::Disable => text::DEACTIVATED,
        }),
        Err((app_code, message)) => app_error(app_code, message),
    };
    match fault {
        Fault::Lost => Answer::Now(lost()),
        Fault::Hang => Answer::Hang(response, config.faults.hang_for),
        _ => Answer::Now(response),
    }
}

/// How early the coarse tokio sleep ends before the deadline: its timer ticks in whole
/// milliseconds, rounds up, and wakes a busy process a little later still.
const COARSE_MARGIN: Duration = Duration::from_millis(3);

/// Sleeps for `delay` to within a fraction of a millisecond. tokio's timer alone made a 20 ms
/// latency about 22 ms, so no client could come near the concurrency / latency bound that a
/// benchmark measures against; the last few milliseconds are slept by the OS, on a blocking
/// thread, which keeps to tens of microseconds.
async fn sleep_precisely(delay: Duration) {
    let deadline = Instant::now() + delay;
    if let Some(coarse) = deadline
        .checked_sub(COARSE_MARGIN)
        .filter(|at| *at > Instant::now())
    {
        tokio::time::sleep_until(coarse).await;
    }
    let rest = deadline.saturating_duration_since(Instant::now());
    if !rest.is_zero() {
        // The sleeper only ends early if the runtime is shutting down; nothing to do then.
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
    }
}

/// The token in `Authorization: Bearer <token>`, if the header has that shape.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

/// A positive decimal id; anything else (`username@hostname`, `12x`) addresses nothing here.
fn parse_id(raw: &str) -> Option<u64> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok().filter(|id| *id > 0)
}

/// The state change and its documented application errors, in the server's order.
fn apply(
    credentials: &mut Credentials,
    change: Change,
    id: Option<u64>,
) -> Result<(), (u16, &'static str)> {
    let Some(item) = id.and_then(|id| credentials.get_mut(id)) else {
        return Err((code::NOT_FOUND, text::NOT_FOUND));
    };
    if item.kind != Kind::Credential {
        return Err((code::NOT_A_CREDENTIAL, text::NOT_A_CREDENTIAL));
    }
    if !item.accessible {
        return Err((code::NO_ACCESS, text::NO_ACCESS));
    }
    match (change, item.active) {
        (Change::Enable, true) => Err((code::ALREADY_ENABLED, text::ALREADY_ENABLED)),
        (Change::Disable, false) => Err((code::ALREADY_DISABLED, text::ALREADY_DISABLED)),
        (Change::Enable, false) | (Change::Disable, true) => {
            item.active = change == Change::Enable;
            Ok(())
        }
    }
}

/// The configured answer to an unknown or expired bearer token.
fn expired(answer: ExpiredTokenAnswer) -> Response {
    match answer {
        ExpiredTokenAnswer::Unauthorized401 => league(401, "access_denied", ACCESS_DENIED),
        ExpiredTokenAnswer::NotAuthorized500 => plain_error(500, text::NOT_AUTHORIZED),
        ExpiredTokenAnswer::KongNoRoute404 => no_route(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::credentials::Credential;

    #[test]
    fn ids_must_be_positive_decimal_numbers() {
        assert_eq!(parse_id("42"), Some(42));
        assert_eq!(parse_id("007"), Some(7));
        for bad in [
            "",
            "0",
            "12x",
            "-1",
            "+1",
            "alice@host",
            "99999999999999999999",
        ] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn state_changes_follow_the_documented_codes_in_order() {
        let mut creds = Credentials::generate(1);
        let item = |kind, active, accessible| Credential {
            kind,
            active,
            accessible,
        };
        creds.insert(2, item(Kind::Device, false, false));
        creds.insert(3, item(Kind::Credential, false, false));
        assert_eq!(
            apply(&mut creds, Change::Enable, None),
            Err((1007, text::NOT_FOUND))
        );
        assert_eq!(
            apply(&mut creds, Change::Enable, Some(9)),
            Err((1007, text::NOT_FOUND))
        );
        assert_eq!(
            apply(&mut creds, Change::Enable, Some(2)),
            Err((1010, text::NOT_A_CREDENTIAL))
        );
        assert_eq!(
            apply(&mut creds, Change::Disable, Some(3)),
            Err((1009, text::NO_ACCESS))
        );
        assert_eq!(
            apply(&mut creds, Change::Disable, Some(1)),
            Err((1008, text::ALREADY_DISABLED))
        );
        assert_eq!(apply(&mut creds, Change::Enable, Some(1)), Ok(()));
        assert!(creds.get(1).is_some_and(|c| c.active));
        assert_eq!(
            apply(&mut creds, Change::Enable, Some(1)),
            Err((1043, text::ALREADY_ENABLED))
        );
        assert_eq!(apply(&mut creds, Change::Disable, Some(1)), Ok(()));
    }

    #[test]
    fn only_a_well_formed_bearer_header_carries_a_token() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        for (value, want) in [
            ("Bearer abc", Some("abc")),
            ("bearer  abc ", Some("abc")),
            ("Bearer", None),
            ("Bearer ", None),
            ("Basic abc", None),
            ("Bearer a b", None),
        ] {
            headers.insert(header::AUTHORIZATION, value.parse().expect("header"));
            assert_eq!(bearer(&headers), want, "{value}");
        }
    }
}
