//! The `OAuth2` token endpoint (client credentials grant), answering like league/oauth2-server:
//! client id and secret in the form body or in HTTP Basic, `grant_type` in the form, a
//! JWT-looking random `access_token` on success. Never logs the secret or the token.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde_json::json;
use tokio::time::Instant;

use crate::wire::{TokenResponse, text};

use super::codec::{base64_decode, base64url, hex, parse_form};
use super::responses::{INVALID_REQUEST, UNSUPPORTED_GRANT, json, league, unavailable};
use super::state::SimState;

/// Answers one POST to the token path.
pub(crate) fn token(state: &SimState, headers: &HeaderMap, body: Option<&Bytes>) -> Response {
    let shared = state.shared();
    if shared.token_down.load(std::sync::atomic::Ordering::Relaxed) {
        return unavailable(false);
    }
    let Some(form) = body
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(parse_form)
    else {
        return invalid_request();
    };
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    match field("grant_type") {
        None => return invalid_request(),
        Some("client_credentials") => {}
        Some(_) => return league(400, "unsupported_grant_type", UNSUPPORTED_GRANT),
    }
    let (client_id, secret) = match basic_credentials(headers) {
        Some((id, secret)) => (id, secret),
        None => match (field("client_id"), field("client_secret")) {
            (Some(id), Some(secret)) => (id.to_owned(), secret.to_owned()),
            _ => return invalid_request(),
        },
    };

    let config = state.config();
    let lifetime = config.token_lifetime;
    let access_token = mint(&client_id, lifetime.as_secs());
    {
        let mut core = state.lock();
        if client_id != config.client_id || secret != core.secret {
            drop(core);
            return league(401, "invalid_client", text::CLIENT_AUTH_FAILED);
        }
        let expires = Instant::now() + lifetime;
        core.tokens.insert(access_token.clone(), expires);
        core.issued.push(access_token.clone());
        core.recorder.stats.token_fetches += 1;
    }
    let body = TokenResponse {
        token_type: Some("Bearer".to_owned()),
        expires_in: Some(lifetime.as_secs().max(1)),
        access_token,
    };
    let mut response = json(200, &body);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn invalid_request() -> Response {
    league(400, "invalid_request", INVALID_REQUEST)
}

/// `Authorization: Basic base64(id:secret)`, if present and well-formed.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// A random token shaped like the RS256 JWT the real server issues (header, claims, 256-byte
/// signature), so clients that peek at it or size buffers for it see something realistic.
fn mint(client_id: &str, lifetime_secs: u64) -> String {
    let mut jti = [0u8; 40];
    let mut signature = [0u8; 256];
    rand::fill(&mut jti);
    rand::fill(&mut signature);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let header = json!({ "typ": "JWT", "alg": "RS256", "jti": hex(&jti) });
    let claims = json!({
        "aud": client_id,
        "jti": hex(&jti),
        "iat": now,
        "nbf": now,
        "exp": now.saturating_add(lifetime_secs),
        "sub": "",
        "scopes": [],
    });
    format!(
        "{}.{}.{}",
        base64url(header.to_string().as_bytes()),
        base64url(claims.to_string().as_bytes()),
        base64url(&signature)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_look_like_jwts_and_never_repeat() {
        let a = mint("demo", 60);
        let b = mint("demo", 60);
        assert_ne!(a, b);
        let parts: Vec<&str> = a.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims = base64_decode(parts[1]).expect("base64url claims");
        let claims: serde_json::Value = serde_json::from_slice(&claims).expect("json claims");
        assert_eq!(claims["aud"], "demo");
    }

    #[test]
    fn basic_credentials_need_the_basic_scheme_and_a_colon() {
        let mut headers = HeaderMap::new();
        let header_for = |value: &str| HeaderValue::from_str(value).expect("header");
        headers.insert(
            header::AUTHORIZATION,
            header_for("basic ZGVtbzpkZW1vLXNlY3JldA=="),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("demo".to_owned(), "demo-secret".to_owned()))
        );
        headers.insert(header::AUTHORIZATION, header_for("Basic ZGVtbw=="));
        assert_eq!(basic_credentials(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            header_for("Bearer ZGVtbzpkZW1vLXNlY3JldA=="),
        );
        assert_eq!(basic_credentials(&headers), None);
        headers.insert(header::AUTHORIZATION, header_for("Basic !!!"));
        assert_eq!(basic_credentials(&headers), None);
    }
}
