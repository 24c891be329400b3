//! Builders for every answer shape the simulator sends: the application envelope, Kong's
//! gateway errors, league/oauth2-server's errors, an HTML proxy page, and the body that dies
//! half-way (a lost answer). The texts come from `crate::wire`; only the shapes live here.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::wire::{Envelope, text};

use super::codec::hex;
use super::gateway::KongWindow;

/// league/oauth2-server's text for `access_denied`.
pub(crate) const ACCESS_DENIED: &str =
    "The resource owner or authorization server denied the request.";
/// league/oauth2-server's text for `invalid_request`.
pub(crate) const INVALID_REQUEST: &str = "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.";
/// league/oauth2-server's text for `unsupported_grant_type`.
pub(crate) const UNSUPPORTED_GRANT: &str =
    "The authorization grant type is not supported by the authorization server.";

const JSON: &str = "application/json; charset=utf-8";

/// A JSON answer with the given status.
pub(crate) fn json(status: u16, body: &impl serde::Serialize) -> Response {
    // Serializing these plain structs cannot fail; an empty object is a safe fallback anyway.
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    with_type(status, JSON, Body::from(bytes))
}

/// The application envelope (success or error).
pub(crate) fn envelope(status: u16, body: &Envelope) -> Response {
    json(status, body)
}

/// `200` success envelope.
pub(crate) fn success(message: &str) -> Response {
    envelope(200, &Envelope::success(message))
}

/// `400` application error with its four-digit code.
pub(crate) fn app_error(app_code: u16, message: &str) -> Response {
    envelope(400, &Envelope::app_error(400, Some(app_code), message))
}

/// An error envelope without an application code (`Resource sub not found`, 500s).
pub(crate) fn plain_error(status: u16, message: &str) -> Response {
    envelope(status, &Envelope::app_error(status, None, message))
}

/// Kong's own answer: `{"message":…,"request_id":"<32 hex>"}`.
pub(crate) fn kong(status: u16, message: &str) -> Response {
    let mut id = [0u8; 16];
    rand::fill(&mut id);
    let body = serde_json::json!({ "message": message, "request_id": hex(&id) });
    let mut response = json(status, &body);
    set(&mut response, header::SERVER, "kong/3.9.1");
    response
}

/// Kong's 404 for a missing route (also its answer to a missing Authorization header).
pub(crate) fn no_route() -> Response {
    kong(404, text::KONG_NO_ROUTE)
}

/// Kong's 503; `retry_after` adds the header.
pub(crate) fn unavailable(retry_after: bool) -> Response {
    let mut response = kong(503, text::KONG_UNAVAILABLE);
    if retry_after {
        set(&mut response, header::RETRY_AFTER, "1");
    }
    response
}

/// Kong's rate-limiting plugin answer: its window's headers and `Retry-After`.
pub(crate) fn rate_limited(window: KongWindow) -> Response {
    let mut response = kong(429, text::KONG_RATE_LIMITED);
    stamp_kong_window(&mut response, window);
    set(
        &mut response,
        header::RETRY_AFTER,
        &window.reset.to_string(),
    );
    response
}

/// The headers Kong's rate-limiting plugin adds to every answer it lets through (and to its
/// 429): the IETF draft's `RateLimit-*` and its own `X-RateLimit-*-Second`.
pub(crate) fn stamp_kong_window(response: &mut Response, window: KongWindow) {
    let (limit, remaining, reset) = (
        window.limit.to_string(),
        window.remaining.to_string(),
        window.reset.to_string(),
    );
    for (name, value) in [
        ("ratelimit-limit", &limit),
        ("ratelimit-remaining", &remaining),
        ("ratelimit-reset", &reset),
        ("x-ratelimit-limit-second", &limit),
        ("x-ratelimit-remaining-second", &remaining),
    ] {
        set(response, HeaderName::from_static(name), value);
    }
}

/// nginx's own 429 from `limit_req` (with `limit_req_status 429`): its stock HTML page and no
/// hint of when to come back.
pub(crate) fn nginx_too_many_requests() -> Response {
    let page = "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    let mut response = with_type(429, "text/html", Body::from(page));
    set(&mut response, header::SERVER, "nginx");
    response
}

/// league/oauth2-server's error shape: `{"error":…,"error_description":…,"message":…}`.
pub(crate) fn league(status: u16, error: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "error": error,
        "error_description": message,
        "message": message,
    });
    let mut response = json(status, &body);
    if status == 401 {
        set(
            &mut response,
            header::WWW_AUTHENTICATE,
            "Basic realm=\"OAuth\"",
        );
    }
    response
}

/// A 502 with an HTML page, as a proxy in front of Kong would send.
pub(crate) fn html_bad_gateway() -> Response {
    let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    with_type(502, "text/html", Body::from(page))
}

/// 200 headers, the start of a success body, then an error: hyper aborts the connection and
/// the client sees a body that ends early. The short pause lets the headers and first chunk be
/// flushed before the abort, so the client gets a status and then a broken body.
pub(crate) fn lost() -> Response {
    use futures::StreamExt as _;
    let head = futures::stream::once(async { Ok(Bytes::from_static(b"{\"code\":200,")) });
    let abort = futures::stream::once(async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated lost answer",
        ))
    });
    with_type(200, JSON, Body::from_stream(head.chain(abort)))
}

fn with_type(status: u16, content_type: &'static str, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    set(&mut response, header::CONTENT_TYPE, content_type);
    response
}

fn set(response: &mut Response, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}
