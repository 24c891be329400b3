//! Reads a gateway's rate-limit headers into a [`GatewayLimit`]: the IETF draft's
//! `RateLimit-Limit` / `-Remaining` / `-Reset` (Kong sends them, as may nginx modules), and
//! Kong's own `X-RateLimit-Limit-Second|Minute` / `X-RateLimit-Remaining-Second|Minute`. Pure:
//! headers in, numbers out; a header that does not parse is ignored, never an error.

use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::attempt::GatewayLimit;

/// The gateway's numbers in `headers`, if it sent a limit. The per-second limit is preferred
/// (it is the one a pace can run into), then the draft's `RateLimit-Limit` with a `;w=`
/// window, then Kong's per-minute limit, then the draft's limit without a window, read as one
/// second (what Kong's per-second plugin means by it).
#[must_use]
pub fn read(headers: &HeaderMap) -> Option<GatewayLimit> {
    let number = |name: &str| headers.get(name)?.to_str().ok().and_then(leading_number);
    let reset = number("ratelimit-reset").map(Duration::from_secs);
    if let Some(limit) = number("x-ratelimit-limit-second") {
        return Some(GatewayLimit {
            limit,
            window: Duration::from_secs(1),
            remaining: number("x-ratelimit-remaining-second").or(number("ratelimit-remaining")),
            reset,
        });
    }
    let draft = headers
        .get("ratelimit-limit")
        .and_then(|v| v.to_str().ok())
        .and_then(|raw| Some((leading_number(raw)?, window_parameter(raw))));
    if let Some((limit, Some(window))) = draft {
        return Some(GatewayLimit {
            limit,
            window: Duration::from_secs(window),
            remaining: number("ratelimit-remaining"),
            reset,
        });
    }
    // Kong sends the draft's headers without `w=` beside its own per-period ones, for
    // whichever period is nearest its end: with only a per-minute limit, its
    // `RateLimit-Limit: 600` is 600 a minute, not a second.
    if let Some(limit) = number("x-ratelimit-limit-minute") {
        return Some(GatewayLimit {
            limit,
            window: Duration::from_secs(60),
            remaining: number("x-ratelimit-remaining-minute"),
            reset,
        });
    }
    let (limit, _) = draft?;
    Some(GatewayLimit {
        limit,
        window: Duration::from_secs(1),
        remaining: number("ratelimit-remaining"),
        reset,
    })
}

/// The whole number a header value starts with (`40`, `40, 40;w=1`).
fn leading_number(value: &str) -> Option<u64> {
    let digits: String = value
        .trim()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The draft's `w=` window parameter in seconds (`40;w=1`), when positive.
fn window_parameter(value: &str) -> Option<u64> {
    value
        .split([';', ','])
        .filter_map(|part| part.trim().strip_prefix("w="))
        .find_map(leading_number)
        .filter(|w| *w > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn kongs_per_second_headers_give_the_limit_and_what_is_left() {
        let limit = read(&headers(&[
            ("ratelimit-limit", "40"),
            ("ratelimit-remaining", "7"),
            ("ratelimit-reset", "1"),
            ("x-ratelimit-limit-second", "40"),
            ("x-ratelimit-remaining-second", "7"),
        ]))
        .unwrap();
        assert_eq!(limit.limit, 40);
        assert_eq!(limit.remaining, Some(7));
        assert_eq!(limit.reset, Some(Duration::from_secs(1)));
        assert!((limit.per_second() - 40.0).abs() < 1e-9);
    }

    #[test]
    fn a_per_minute_limit_is_read_as_its_share_of_a_second() {
        let limit = read(&headers(&[
            ("x-ratelimit-limit-minute", "600"),
            ("x-ratelimit-remaining-minute", "599"),
        ]))
        .unwrap();
        assert!((limit.per_second() - 10.0).abs() < 1e-9);
        assert_eq!(limit.remaining, Some(599));
    }

    #[test]
    fn the_drafts_window_parameter_sets_the_window() {
        let limit = read(&headers(&[("ratelimit-limit", "100, 100;w=10")])).unwrap();
        assert!((limit.per_second() - 10.0).abs() < 1e-9);
    }

    #[test]
    fn kongs_draft_headers_beside_a_per_minute_limit_are_read_per_minute() {
        // Kong with only `config.minute = 600`: the draft's headers name the same limit, with
        // no `w=`, and a reset up to a minute away. That is 10 a second, not 600.
        let limit = read(&headers(&[
            ("ratelimit-limit", "600"),
            ("ratelimit-remaining", "598"),
            ("ratelimit-reset", "47"),
            ("x-ratelimit-limit-minute", "600"),
            ("x-ratelimit-remaining-minute", "598"),
        ]))
        .unwrap();
        assert!((limit.per_second() - 10.0).abs() < 1e-9, "{limit:?}");
        assert_eq!(limit.window, Duration::from_secs(60));
        assert_eq!(limit.reset, Some(Duration::from_secs(47)));
    }

    #[test]
    fn no_or_unreadable_headers_give_nothing() {
        assert_eq!(read(&HeaderMap::new()), None);
        assert_eq!(read(&headers(&[("ratelimit-limit", "lots")])), None);
    }
}
