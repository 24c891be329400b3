//! Turns one HTTP answer (status, `Retry-After`, body prefix) into a typed [`Answer`]
//! (design.md §3, api-contract.md §2). Pure and total: any bytes give an answer, never a panic.

use std::time::SystemTime;

use crate::attempt::{Answer, AnswerClass};
use crate::backoff::parse_retry_after;
use crate::http::one_line;
use crate::model::Operation;
use crate::redact;
use crate::wire::{Envelope, code};

/// Classifies an answer. `retry_after` is the raw header value.
#[must_use]
pub fn classify(
    operation: Operation,
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
) -> Answer {
    let envelope: Option<Envelope> = serde_json::from_slice(body).ok();
    let (api_code, text) = match &envelope {
        Some(e) => (app_code(e), envelope_text(e)),
        None => (None, None),
    };
    let message = text.unwrap_or_else(|| body_text(status, body));
    let lower = message.to_ascii_lowercase();
    let declares_error = envelope
        .as_ref()
        .and_then(|e| e.response.as_ref())
        .and_then(|r| r.error.or(r.erro))
        .unwrap_or(false);

    let class = if let Some(code) = api_code.filter(|_| status == 400 || declares_error) {
        by_code(operation, code, &lower)
    } else {
        match status {
            // Every documented answer carries `response`; a bare `{}` or another service's JSON
            // on a 2xx is not evidence that anything was changed.
            200..=299
                if envelope.as_ref().is_some_and(|e| e.response.is_some()) && !declares_error =>
            {
                AnswerClass::Applied
            }
            400 if lower.contains("timed out") => AnswerClass::Timeout,
            401 | 403 => AnswerClass::AuthFlavoured,
            404 if lower.contains("resource sub not found") => AnswerClass::WrongPrefix,
            404 if lower.contains("no route matched") => AnswerClass::AuthFlavoured,
            408 | 504 => AnswerClass::Timeout,
            429 => AnswerClass::RateLimited,
            500 if lower.contains("not authorized") => AnswerClass::AuthFlavoured,
            500..=599 if lower.contains("request timed out") => AnswerClass::Timeout,
            500..=599 => AnswerClass::ServerError,
            _ => AnswerClass::Unexpected,
        }
    };
    let message = match class {
        AnswerClass::Unexpected if (300..400).contains(&status) => {
            format!("redirect (HTTP {status}) not followed: check --url")
        }
        AnswerClass::Unexpected if (200..300).contains(&status) => {
            format!("HTTP {status} with an unreadable body: {message}")
        }
        _ => message,
    };
    Answer {
        class,
        http_status: Some(status),
        api_code,
        message,
        retry_after: retry_after.and_then(|v| parse_retry_after(v, SystemTime::now())),
        // A gateway that timed out or lost the upstream's answer may sit in front of an applied
        // change; a 500 `Unexpected error.`, a 503 or a 429 is a refusal, not a lost answer.
        maybe_applied: matches!(status, 502 | 504),
        gateway: None,
    }
}

fn by_code(operation: Operation, api_code: u16, lower_text: &str) -> AnswerClass {
    match (operation, api_code) {
        (_, code::NOT_FOUND) => AnswerClass::NotFound,
        (_, code::NO_ACCESS) => AnswerClass::NoAccess,
        (_, code::NOT_A_CREDENTIAL) => AnswerClass::NotACredential,
        (_, code::READ_ONLY) => AnswerClass::ReadOnly,
        (Operation::Enable, code::ALREADY_ENABLED)
        | (Operation::Disable, code::ALREADY_DISABLED) => AnswerClass::AlreadyDone,
        (Operation::Enable, code::ALREADY_ACTIVE_OLD) if lower_text.contains("already activ") => {
            AnswerClass::AlreadyDone
        }
        _ => AnswerClass::Rejected,
    }
}

/// The four-digit code: `exception.code`, else the `NNNN:` prefix of a message.
fn app_code(envelope: &Envelope) -> Option<u16> {
    if let Some(code) = envelope.exception.as_ref().and_then(|e| e.code) {
        return Some(code);
    }
    let messages = [
        envelope
            .exception
            .as_ref()
            .and_then(|e| e.message.as_deref()),
        envelope
            .response
            .as_ref()
            .and_then(|r| r.message.as_deref()),
        envelope.message.as_deref(),
    ];
    messages.into_iter().flatten().find_map(code_prefix)
}

fn code_prefix(message: &str) -> Option<u16> {
    let (head, _) = message.trim_start().split_once(':')?;
    (head.len() == 4 && head.bytes().all(|b| b.is_ascii_digit()))
        .then(|| head.parse().ok())
        .flatten()
}

fn envelope_text(envelope: &Envelope) -> Option<String> {
    let text = envelope
        .exception
        .as_ref()
        .and_then(|e| e.message.clone())
        .or_else(|| envelope.response.as_ref().and_then(|r| r.message.clone()))
        .or_else(|| envelope.response.as_ref().and_then(|r| r.mensagem.clone()))
        .or_else(|| envelope.message.clone())
        .or_else(|| {
            envelope
                .error
                .as_ref()
                .and_then(|e| e.as_str().map(str::to_owned))
        })?;
    // Scrubbed before it is cut short, so that a cut cannot leave half a token behind.
    Some(one_line(&redact::text(&text)))
}

fn body_text(status: u16, body: &[u8]) -> String {
    let text = one_line(&redact::text(&String::from_utf8_lossy(body)));
    if text.is_empty() {
        format!("HTTP {status} with an empty body")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::wire::text;

    fn enable(status: u16, body: &str) -> Answer {
        classify(Operation::Enable, status, None, body.as_bytes())
    }

    fn app_error(code: u16, message: &str) -> String {
        serde_json::to_string(&Envelope::app_error(400, Some(code), message)).unwrap()
    }

    #[test]
    fn the_documented_success_is_applied() {
        let body = serde_json::to_string(&Envelope::success(text::ACTIVATED)).unwrap();
        let a = enable(200, &body);
        assert_eq!(a.class, AnswerClass::Applied);
        assert_eq!(a.message, text::ACTIVATED);
        assert_eq!(a.api_code, None);
        // The English page's "Message" typo parses too.
        let typo = r#"{"code":200,"response":{"status":200,"Message":"Credential successfully activated","error":false}}"#;
        assert_eq!(enable(200, typo).class, AnswerClass::Applied);
    }

    #[test]
    fn application_codes_map_to_their_classes() {
        let cases = [
            (1007, text::NOT_FOUND, AnswerClass::NotFound),
            (1009, text::NO_ACCESS, AnswerClass::NoAccess),
            (1010, text::NOT_A_CREDENTIAL, AnswerClass::NotACredential),
            (1039, text::READ_ONLY, AnswerClass::ReadOnly),
            (1043, text::ALREADY_ENABLED, AnswerClass::AlreadyDone),
            (
                1017,
                "1017: Credential is already active",
                AnswerClass::AlreadyDone,
            ),
            (1017, "1017: Something else", AnswerClass::Rejected),
            (1008, text::ALREADY_DISABLED, AnswerClass::Rejected),
            (1234, "1234: Other", AnswerClass::Rejected),
        ];
        for (code, message, class) in cases {
            let a = enable(400, &app_error(code, message));
            assert_eq!(a.class, class, "{code}");
            assert_eq!(a.api_code, Some(code));
            assert_eq!(a.message, message);
        }
        let d = classify(
            Operation::Disable,
            400,
            None,
            app_error(1008, text::ALREADY_DISABLED).as_bytes(),
        );
        assert_eq!(d.class, AnswerClass::AlreadyDone);
    }

    #[test]
    fn the_code_is_read_from_the_message_prefix_when_exception_is_missing() {
        let body = r#"{"response":{"message":"1007: Credential not found","error":true}}"#;
        let a = enable(400, body);
        assert_eq!((a.class, a.api_code), (AnswerClass::NotFound, Some(1007)));
    }

    #[test]
    fn gateway_and_server_answers_are_classified() {
        let kong = |m: &str| {
            format!(r#"{{"message":"{m}","request_id":"0123456789abcdef0123456789abcdef"}}"#)
        };
        assert_eq!(
            enable(404, &kong(text::KONG_NO_ROUTE)).class,
            AnswerClass::AuthFlavoured
        );
        assert_eq!(
            enable(401, r#"{"message":"Unauthorized"}"#).class,
            AnswerClass::AuthFlavoured
        );
        let not_auth =
            serde_json::to_string(&Envelope::app_error(500, None, text::NOT_AUTHORIZED)).unwrap();
        assert_eq!(enable(500, &not_auth).class, AnswerClass::AuthFlavoured);
        let sub = serde_json::to_string(&Envelope::app_error(
            404,
            None,
            text::RESOURCE_SUB_NOT_FOUND,
        ))
        .unwrap();
        assert_eq!(enable(404, &sub).class, AnswerClass::WrongPrefix);
        let unexpected =
            serde_json::to_string(&Envelope::app_error(500, None, text::UNEXPECTED_ERROR)).unwrap();
        let a = enable(500, &unexpected);
        assert_eq!(a.class, AnswerClass::ServerError);
        assert!(!a.maybe_applied);
        assert!(enable(504, "").maybe_applied);
        assert_eq!(
            enable(502, "<html><title>502</title></html>").class,
            AnswerClass::ServerError
        );
        let u = enable(503, &kong(text::KONG_UNAVAILABLE));
        assert_eq!(u.class, AnswerClass::ServerError);
        assert!(!u.maybe_applied);
        assert_eq!(
            enable(504, &kong(text::KONG_TIMEOUT)).class,
            AnswerClass::Timeout
        );
        assert_eq!(enable(408, "").class, AnswerClass::Timeout);
        assert_eq!(
            enable(500, r#"{"message":"Request timed out."}"#).class,
            AnswerClass::Timeout
        );
        let limited = classify(
            Operation::Enable,
            429,
            Some("2"),
            kong(text::KONG_RATE_LIMITED).as_bytes(),
        );
        assert_eq!(limited.class, AnswerClass::RateLimited);
        assert_eq!(limited.retry_after, Some(Duration::from_secs(2)));
    }

    #[test]
    fn unreadable_answers_are_unexpected() {
        assert_eq!(enable(200, "OK").class, AnswerClass::Unexpected);
        assert_eq!(enable(200, "{}").class, AnswerClass::Unexpected);
        assert_eq!(
            enable(200, r#"{"message":"maintenance"}"#).class,
            AnswerClass::Unexpected
        );
        assert_eq!(enable(204, "[]").class, AnswerClass::Unexpected);
        assert_eq!(enable(200, "").class, AnswerClass::Unexpected);
        assert_eq!(
            enable(200, r#"{"response":{"error":true,"message":"no"}}"#).class,
            AnswerClass::Unexpected
        );
        let r = enable(302, "");
        assert_eq!(r.class, AnswerClass::Unexpected);
        assert!(r.message.contains("redirect"));
        assert_eq!(
            enable(404, "<h1>Not Found</h1>").class,
            AnswerClass::Unexpected
        );
        assert_eq!(
            enable(200, r#"{"code":200,"response":{"mess"#).class,
            AnswerClass::Unexpected
        );
    }

    proptest::proptest! {
        #[test]
        fn any_status_and_body_classify_without_panicking(status in 100u16..600, body in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let a = classify(Operation::Enable, status, Some("x"), &body);
            proptest::prop_assert!(a.message.chars().count() <= 260);
        }
    }
}
