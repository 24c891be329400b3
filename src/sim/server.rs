//! Routing and the request loop: classifies each request (stats, token, credential API, a
//! prefix that is not served, anything else), counts it, calls the handler, records the status
//! and logs one debug line. Paths are matched by hand so every miss gets the server's or Kong's
//! own answer rather than a framework default.

use std::future::Future;

use axum::Router;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::Response;

use super::api::{Answer, Change, credential};
use super::responses::{json, no_route, plain_error};
use super::state::SimState;
use super::token::token;
use crate::wire::text;

/// The simulator's own read-out, outside any API prefix.
const STATS_PATH: &str = "/_sim/stats";
/// Largest token request body read; the real one is under 200 bytes.
const MAX_TOKEN_BODY: usize = 64 * 1024;
/// Longest path kept as a stats key for unmatched requests.
const MAX_ROUTE_KEY: usize = 120;
/// The prefixes any senhasegura version serves; under them, a miss is the server's own 404.
const KNOWN_PREFIXES: [&str; 2] = ["/api", "/iso"];

/// Serves the simulator on `listener` until `shutdown` completes, then stops gracefully:
/// in-flight requests finish and hung ones are cut short. The caller binds and decides what
/// shutdown means.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: SimState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopping = state.shared().stopping.clone();
    let app = Router::new().fallback(dispatch).with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            stopping.cancel();
        })
        .await
}

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    /// The token endpoint.
    Token,
    /// PUT/DELETE on a credential under a served prefix: `prefix`, raw id segment, change.
    Credential(&'a str, &'a str, Change),
    /// Under a known prefix but no route there (wrong prefix, other resource, other method).
    /// Carries the prefix when the path is a credential path, for the stats key.
    NotFound(Option<&'a str>),
    /// Nowhere: Kong has no route.
    Nowhere,
}

fn classify<'a>(method: &Method, path: &'a str, state: &'a SimState) -> Route<'a> {
    let config = state.config();
    if path == config.token_path {
        return if method == Method::POST {
            Route::Token
        } else {
            Route::Nowhere
        };
    }
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    for prefix in config.prefixes.iter().map(String::as_str) {
        if let Some(rest) = under(prefix) {
            if let Some(id) = credential_id(rest) {
                return match Change::from_method(method) {
                    Some(change) => Route::Credential(prefix, id, change),
                    None => Route::NotFound(Some(prefix)),
                };
            }
            return Route::NotFound(None);
        }
    }
    for prefix in KNOWN_PREFIXES {
        if let Some(rest) = under(prefix) {
            return Route::NotFound(credential_id(rest).map(|_| prefix));
        }
    }
    Route::Nowhere
}

/// The id segment of `/pam/credential/{id}`.
fn credential_id(rest: &str) -> Option<&str> {
    rest.strip_prefix("/pam/credential/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

async fn dispatch(State(state): State<SimState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (method, path) = (&parts.method, parts.uri.path());
    if method == Method::GET && path == STATS_PATH {
        // Not counted: polling the stats must not change them.
        return json(200, &state.stats());
    }
    let route = classify(method, path, &state);
    let key = match route {
        Route::Credential(prefix, ..) | Route::NotFound(Some(prefix)) => {
            format!("{method} {prefix}/pam/credential")
        }
        _ => {
            let mut end = path.len().min(MAX_ROUTE_KEY);
            while !path.is_char_boundary(end) {
                end -= 1;
            }
            format!("{method} {}", &path[..end])
        }
    };
    let is_api = matches!(route, Route::Credential(..))
        || (matches!(route, Route::NotFound(Some(_))) && Change::from_method(method).is_some());
    let _in_flight = state.arrive(is_api);

    let (answer, id) = match route {
        Route::Token => {
            state.lock().recorder.stats.token_requests += 1;
            let body = to_bytes(body, MAX_TOKEN_BODY).await.ok();
            (
                Answer::Now(token(&state, &parts.headers, body.as_ref())),
                "",
            )
        }
        Route::Credential(_, id, change) => {
            (credential(&state, change, id, &parts.headers).await, id)
        }
        Route::NotFound(_) => (
            Answer::Now(plain_error(404, text::RESOURCE_SUB_NOT_FOUND)),
            "",
        ),
        Route::Nowhere => (Answer::Now(no_route()), ""),
    };

    let response = match answer {
        Answer::Now(response) => response,
        Answer::Hang(response, hang_for) => {
            record(&state, &key, id, &response);
            tokio::select! {
                () = tokio::time::sleep(hang_for) => {}
                () = state.shared().stopping.cancelled() => {}
            }
            return response;
        }
    };
    record(&state, &key, id, &response);
    response
}

fn record(state: &SimState, key: &str, id: &str, response: &Response) {
    let status = response.status().as_u16();
    state.lock().recorder.answered(key, status);
    tracing::debug!(route = %key, id = %id, status, "sim request");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimConfig;

    fn state(prefixes: &[&str]) -> SimState {
        SimState::new(SimConfig {
            prefixes: prefixes.iter().map(|p| (*p).to_owned()).collect(),
            ..SimConfig::default()
        })
    }

    #[test]
    fn requests_are_routed_by_method_prefix_and_shape() {
        let both = state(&["/api", "/iso"]);
        let (put, get, post) = (Method::PUT, Method::GET, Method::POST);
        assert_eq!(classify(&post, "/iso/oauth2/token", &both), Route::Token);
        assert_eq!(classify(&get, "/iso/oauth2/token", &both), Route::Nowhere);
        assert_eq!(
            classify(&put, "/api/pam/credential/5", &both),
            Route::Credential("/api", "5", Change::Enable)
        );
        assert_eq!(
            classify(&Method::DELETE, "/iso/pam/credential/x@y", &both),
            Route::Credential("/iso", "x@y", Change::Disable)
        );
        assert_eq!(
            classify(&get, "/api/pam/credential/5", &both),
            Route::NotFound(Some("/api"))
        );
        assert_eq!(
            classify(&put, "/api/pam/credential/5/x", &both),
            Route::NotFound(None)
        );
        assert_eq!(
            classify(&put, "/api/pam/credential/", &both),
            Route::NotFound(None)
        );
        assert_eq!(
            classify(&put, "/apix/pam/credential/5", &both),
            Route::Nowhere
        );
        assert_eq!(classify(&put, "/", &both), Route::Nowhere);
    }

    #[test]
    fn a_prefix_that_is_not_served_is_the_servers_not_found() {
        let iso = state(&["/iso"]);
        assert_eq!(
            classify(&Method::PUT, "/api/pam/credential/5", &iso),
            Route::NotFound(Some("/api"))
        );
        assert_eq!(classify(&Method::PUT, "/api", &iso), Route::NotFound(None));
        let custom = state(&["/pam-gw/api"]);
        assert_eq!(
            classify(&Method::PUT, "/pam-gw/api/pam/credential/5", &custom),
            Route::Credential("/pam-gw/api", "5", Change::Enable)
        );
    }
}
