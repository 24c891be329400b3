//! The preflight probe of `check` and `--dry-run`: one change request (PUT for enable and
//! `check`, DELETE for disable) for an id that cannot exist (`--probe-id`, default 2147483647),
//! expecting `1007: Credential not found`. That answer comes from the credential API itself,
//! so it proves the URL, the prefix and that the token is accepted. `1039` means a read-only
//! authorization, `Resource sub not found` (or Kong's `no Route matched` even with a fresh
//! token) a wrong prefix (the other ones are tried, to name the one that works). What it cannot
//! prove: an appliance that looks the id up before it checks write permission answers 1007 to a
//! read-only authorization too. Depends on `api` and `auth`.

use std::sync::Arc;
use std::time::Duration;

use crate::api::{Answer, AnswerClass, ApiClient};
use crate::attempt::GatewayLimit;
use crate::auth::{AuthError, TokenCache};
use crate::config::Connection;
use crate::error::{AbortReason, Error, Problem};
use crate::metrics::Metrics;
use crate::model::Operation;

/// Attempts at the probe when the answer is transient (a 5xx, a timeout, a 429).
const ATTEMPTS: u32 = 3;

/// What the probe found, when the run can go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    /// The method and URL probed, e.g. `PUT https://pam/api/pam/credential/2147483647`.
    pub request: String,
    pub id: u64,
    pub verdict: ProbeVerdict,
    /// The rate limit the gateway stated in its answer's headers, if it did.
    pub gateway: Option<GatewayLimit>,
}

/// The credential API's answer to the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeVerdict {
    /// 1007, as expected: URL, prefix and token proven, nothing changed.
    NotFound,
    /// The id exists and was left as it was (already in that state, no access, not a
    /// credential): the API answered, but the id is not a good probe.
    Exists(String),
    /// The id exists and the probe changed it. Only an id that exists can get here.
    Changed(String),
    /// Another application code: the API answered; what it means is for the operator.
    OtherCode(String),
}

impl ProbeResult {
    /// One line for the `check` and `--dry-run` output.
    #[must_use]
    pub fn line(&self) -> String {
        let id = self.id;
        match &self.verdict {
            ProbeVerdict::NotFound => format!(
                "{} answered 1007 (no such id), as expected: URL, prefix and token work; nothing was changed",
                self.request
            ),
            ProbeVerdict::Exists(message) => format!(
                "{} answered {message:?}: the API works, but credential {id} exists; pass --probe-id with an id that does not",
                self.request
            ),
            ProbeVerdict::Changed(message) => format!(
                "WARNING: {} answered {message:?}: credential {id} exists and this probe {} it; undo that if needed and pass --probe-id with an id that does not exist",
                self.request,
                if message.contains("deactivated") {
                    "disabled"
                } else {
                    "enabled"
                }
            ),
            ProbeVerdict::OtherCode(message) => format!(
                "{} answered {message:?} (1007 expected): the API answers, but check this code before a run",
                self.request
            ),
        }
    }

    /// The line naming the gateway's stated limit, when its answer carried one.
    #[must_use]
    pub fn gateway_line(&self) -> Option<String> {
        let g = self.gateway?;
        let per = if g.window == Duration::from_secs(1) {
            "second".to_owned()
        } else if g.window == Duration::from_secs(60) {
            "minute".to_owned()
        } else {
            format!("{} s", g.window.as_secs())
        };
        let left = g
            .remaining
            .map(|r| format!(", {r} left in the current window"))
            .unwrap_or_default();
        Some(format!(
            "{} requests per {per} ({:.1} req/s){left}: --rate auto paces under it; a fixed --rate should stay below it",
            g.limit,
            g.per_second()
        ))
    }

    /// Whether the probe changed something (exit 1: the preflight did not leave all as it was).
    #[must_use]
    pub fn changed(&self) -> bool {
        matches!(self.verdict, ProbeVerdict::Changed(_))
    }
}

/// Probes the credential API of `connection` for `operation` with `tokens`' token.
pub async fn probe(
    http: &reqwest::Client,
    connection: &Connection,
    operation: Operation,
    tokens: &Arc<TokenCache>,
) -> Result<ProbeResult, Error> {
    let first = ask(http, connection, operation, tokens).await?;
    // `Resource sub not found`, or Kong's `no Route matched` (404) that a fresh token did not
    // cure: nothing is routed there, which is what a prefix nobody serves (`/nope`) gets.
    let unrouted = first.class == AnswerClass::AuthFlavoured && first.http_status == Some(404);
    if first.class != AnswerClass::WrongPrefix && !unrouted {
        return judge(connection, operation, first);
    }
    // Find the prefix that works, to name it.
    let others: &[&str] = match connection.api_prefix.as_str() {
        "/api" => &["/iso"],
        "/iso" => &["/api"],
        _ => &["/api", "/iso"],
    };
    for other in others {
        let mut alternative = connection.clone();
        (*other).clone_into(&mut alternative.api_prefix);
        let answer = ask(http, &alternative, operation, tokens).await?;
        if answer.api_code.is_some() {
            return Err(Error::Aborted(AbortReason::Misconfigured(Problem::new(
                format!(
                    "the credential API is not under --api-prefix {} ({}), it answers under {other}",
                    connection.api_prefix, first.message
                ),
                format!("pass --api-prefix {other}"),
            ))));
        }
    }
    if unrouted {
        return judge(connection, operation, first);
    }
    Err(Error::Aborted(AbortReason::WrongPrefix(first.message)))
}

/// One probe request, retried while transient, replayed once with a fresh token if refused.
async fn ask(
    http: &reqwest::Client,
    connection: &Connection,
    operation: Operation,
    tokens: &Arc<TokenCache>,
) -> Result<Answer, Error> {
    let api = ApiClient::new(
        http.clone(),
        connection,
        operation,
        Arc::clone(tokens),
        Arc::new(Metrics::default()),
    );
    let mut token = tokens.get().await.map_err(token_error)?;
    let mut replayed = false;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let answer = api.change(connection.probe_id, &token).await;
        match answer.class {
            AnswerClass::AuthFlavoured if !replayed => {
                replayed = true;
                token = tokens.refresh(&token).await.map_err(token_error)?;
            }
            class if class.is_transient() && attempt < ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt))).await;
            }
            _ => return Ok(answer),
        }
    }
}

/// A token error of the preflight (`check`, `--dry-run`, the probe), whose hints must not send
/// the operator to `--resume`: a preflight writes no report.
pub(super) fn token_error(error: AuthError) -> Error {
    match error.abort_reason() {
        Some(reason @ AbortReason::TokenUnavailable(_)) => {
            Error::Aborted(AbortReason::Misconfigured(Problem::new(
                reason.to_string(),
                "check --url and --token-path, and that the appliance is up; then run this command again",
            )))
        }
        Some(reason) => Error::Aborted(reason),
        // A signal during the fetch: the operator stopped a command that changes nothing.
        None => Error::Interrupted("interrupted"),
    }
}

fn judge(
    connection: &Connection,
    operation: Operation,
    answer: Answer,
) -> Result<ProbeResult, Error> {
    let method = match operation {
        Operation::Enable => "PUT",
        Operation::Disable => "DELETE",
    };
    let id = connection.probe_id;
    let request = format!("{method} {}{id}", connection.credential_url());
    let gateway = answer.gateway;
    let verdict = match answer.class {
        AnswerClass::NotFound => ProbeVerdict::NotFound,
        AnswerClass::ReadOnly => return Err(Error::Aborted(AbortReason::ReadOnly)),
        AnswerClass::Applied => ProbeVerdict::Changed(answer.message),
        AnswerClass::AlreadyDone | AnswerClass::NoAccess | AnswerClass::NotACredential => {
            ProbeVerdict::Exists(answer.message)
        }
        AnswerClass::Rejected => ProbeVerdict::OtherCode(answer.message),
        AnswerClass::AuthFlavoured => {
            return Err(Error::Aborted(AbortReason::AuthFailed {
                status: answer.http_status.unwrap_or(0),
                message: answer.message,
            }));
        }
        AnswerClass::WrongPrefix => {
            return Err(Error::Aborted(AbortReason::WrongPrefix(answer.message)));
        }
        AnswerClass::Timeout
        | AnswerClass::RateLimited
        | AnswerClass::ServerError
        | AnswerClass::Network
        | AnswerClass::Unexpected => {
            let status = answer
                .http_status
                .map_or_else(String::new, |s| format!("HTTP {s}: "));
            return Err(Error::Aborted(AbortReason::Misconfigured(Problem::new(
                format!(
                    "the credential API did not answer the probe {request} as an appliance would ({status}{})",
                    answer.message
                ),
                "check --url and --api-prefix, and that the appliance is up",
            ))));
        }
    };
    Ok(ProbeResult {
        request,
        id,
        verdict,
        gateway,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(gateway: Option<GatewayLimit>) -> ProbeResult {
        ProbeResult {
            request: "PUT https://pam/api/pam/credential/2147483647".into(),
            id: 2_147_483_647,
            verdict: ProbeVerdict::NotFound,
            gateway,
        }
    }

    #[test]
    fn the_gateways_stated_limit_is_named_when_its_answer_carries_one() {
        assert_eq!(result(None).gateway_line(), None);
        let line = result(Some(GatewayLimit {
            limit: 40,
            window: Duration::from_secs(1),
            remaining: Some(39),
            reset: Some(Duration::from_secs(1)),
        }))
        .gateway_line()
        .unwrap();
        assert!(
            line.starts_with("40 requests per second (40.0 req/s), 39 left"),
            "{line}"
        );
    }
}
