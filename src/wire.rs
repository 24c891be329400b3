//! Wire shapes of the senhasegura A2A API that both the client (`api`, `auth`) and the simulator
//! (`sim`) speak. Only data and the exact documented texts live here: no I/O, no policy.
//!
//! Parsing is deliberately lenient (every field optional, unknown fields ignored) because the
//! vendor's pages disagree on field names and older appliances omit fields.

use serde::{Deserialize, Serialize};

/// Application codes the tool branches on (api-contract.md §2).
pub mod code {
    /// No credential with this id.
    pub const NOT_FOUND: u16 = 1007;
    /// Already disabled (DELETE).
    pub const ALREADY_DISABLED: u16 = 1008;
    /// This authorization cannot reach this credential.
    pub const NO_ACCESS: u16 = 1009;
    /// The id belongs to another kind of item.
    pub const NOT_A_CREDENTIAL: u16 = 1010;
    /// Old Portuguese page's "already active" code; counts only with "already activ" text.
    pub const ALREADY_ACTIVE_OLD: u16 = 1017;
    /// Read-only authorization: every id will fail the same way.
    pub const READ_ONLY: u16 = 1039;
    /// Already enabled (PUT).
    pub const ALREADY_ENABLED: u16 = 1043;
}

/// Exact texts of the documented answers.
pub mod text {
    pub const ACTIVATED: &str = "Credential successfully activated";
    pub const DEACTIVATED: &str = "Credential successfully deactivated";
    pub const NOT_FOUND: &str = "1007: Credential not found";
    pub const ALREADY_DISABLED: &str = "1008: Credential inactive";
    pub const NO_ACCESS: &str = "1009: No access to credential";
    pub const NOT_A_CREDENTIAL: &str = "1010: The item is not a credential";
    pub const READ_ONLY: &str = "1039: Without PAM Configuration Access permission";
    pub const ALREADY_ENABLED: &str = "1043: Credential is already activated!";
    pub const RESOURCE_SUB_NOT_FOUND: &str = "Resource sub not found";
    pub const UNEXPECTED_ERROR: &str = "Unexpected error.";
    pub const NOT_AUTHORIZED: &str = "You are not authorized to access this resource.";
    pub const CLIENT_AUTH_FAILED: &str = "Client authentication failed";
    pub const KONG_NO_ROUTE: &str = "no Route matched with those values";
    pub const KONG_RATE_LIMITED: &str = "API rate limit exceeded";
    pub const KONG_BAD_GATEWAY: &str = "An invalid response was received from the upstream server";
    pub const KONG_UNAVAILABLE: &str = "The upstream server is currently unavailable";
    pub const KONG_TIMEOUT: &str = "The upstream server is timing out";
    pub const REQUEST_TIMED_OUT: &str = "Request timed out.";
}

/// The application envelope: `{"code":…,"response":{…},"exception":{…}}`.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::u16"
    )]
    pub code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<EnvelopeResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<EnvelopeException>,
    /// Kong and league/oauth2-server put their text at the top level.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub message: Option<String>,
    /// league/oauth2-server error name (`invalid_client`, `access_denied`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<serde_json::Value>,
}

/// `response` inside the envelope; the Portuguese twins are accepted but never relied on.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct EnvelopeResponse {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::u16"
    )]
    pub status: Option<u16>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "Message",
        deserialize_with = "lenient::string"
    )]
    pub message: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::bool"
    )]
    pub error: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::u16"
    )]
    pub error_code: Option<u16>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub detail: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub mensagem: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::bool"
    )]
    pub erro: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::u16"
    )]
    pub cod_erro: Option<u16>,
}

/// `exception` inside the envelope: carries the four-digit application code.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct EnvelopeException {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::u16"
    )]
    pub code: Option<u16>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub detail: Option<String>,
}

impl Envelope {
    /// A success envelope as the vendor documents it.
    #[must_use]
    pub fn success(message: &str) -> Self {
        Self {
            code: Some(200),
            response: Some(EnvelopeResponse {
                status: Some(200),
                message: Some(message.to_owned()),
                error: Some(false),
                error_code: Some(0),
                detail: Some(String::new()),
                mensagem: Some(message.to_owned()),
                erro: Some(false),
                cod_erro: Some(0),
            }),
            ..Self::default()
        }
    }

    /// An application error (400) envelope with its four-digit code in `exception.code`.
    #[must_use]
    pub fn app_error(status: u16, app_code: Option<u16>, message: &str) -> Self {
        Self {
            code: Some(status),
            response: Some(EnvelopeResponse {
                status: Some(status),
                message: Some(message.to_owned()),
                error: Some(true),
                error_code: Some(1),
                detail: Some(String::new()),
                mensagem: Some(message.to_owned()),
                erro: Some(true),
                cod_erro: Some(1),
            }),
            exception: app_code.map(|code| EnvelopeException {
                code: Some(code),
                message: Some(message.to_owned()),
                detail: None,
            }),
            ..Self::default()
        }
    }
}

/// Successful token answer (`token_type` may be lower-case).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    #[serde(default, deserialize_with = "lenient::string")]
    pub token_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::u64")]
    pub expires_in: Option<u64>,
    pub access_token: String,
}

/// Field readers that take what PHP back ends actually send: numbers as strings, booleans as
/// 0/1, `[]` for an empty object. A value of the wrong shape reads as absent instead of
/// failing the whole answer.
mod lenient {
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
    }

    pub fn u16<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
        Ok(u64(d)?.and_then(|n| n.try_into().ok()))
    }

    pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => Some(b),
            Value::Number(n) => n.as_u64().map(|n| n != 0),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" | "" => Some(false),
                _ => None,
            },
            _ => None,
        })
    }

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mistyped_fields_read_as_absent_or_converted_never_failing_the_answer() {
        let body = r#"{"code":"400","response":{"status":"400","message":"1007: Credential not found","error":1,"detail":[],"error_code":"1"},"exception":{"code":"1007","message":"1007: Credential not found","detail":{}}}"#;
        let e: Envelope = serde_json::from_str(body).unwrap();
        assert_eq!(e.code, Some(400));
        let r = e.response.unwrap();
        assert_eq!((r.status, r.error, r.detail), (Some(400), Some(true), None));
        assert_eq!(e.exception.unwrap().code, Some(1007));
        let t: TokenResponse = serde_json::from_str(
            r#"{"token_type":"bearer","expires_in":"3600","access_token":"x"}"#,
        )
        .unwrap();
        assert_eq!(t.expires_in, Some(3600));
    }
}
