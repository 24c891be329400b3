//! Scrubs secrets out of text on its way to any output (design.md §9 invariants 5 and 10).
//!
//! Two kinds of knowledge: the values this process must hide (the client secret and every
//! access token it was issued, registered by [`crate::secret::Secret::new`], so no code path
//! can forget one), and shapes that are secrets whoever issued them (an `Authorization` value,
//! anything JWT-shaped, the value of a `client_secret=` / `"access_token":` field). A known
//! value is found in any encoding a server could echo it in: raw, percent/form-encoded (either
//! hex case, `+` or `%20` for a space, even encoded twice), JSON-escaped, and base64 (a Basic
//! `id:secret`, at any alignment). The sinks (log writer, report rows, summary, summary file,
//! printed errors and results) call [`text`]; the places that build a message from an answer
//! call it too, before the message is cut short, so that a cut cannot leave half a secret.
//!
//! A leaf: depends on nothing in the crate.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::RwLock;

/// What a scrubbed value is replaced with.
pub const MARK: &str = "(redacted)";

/// Known values shorter than this are not searched for: they would blank out ordinary words.
const MIN_SECRET_CHARS: usize = 4;

/// A start of a known value this long, and at least half of it, counts as the value.
const MIN_PREFIX_CHARS: usize = 12;

/// A base64 fragment shorter than this is too likely to occur by chance.
const MIN_BASE64_CHARS: usize = 8;

/// Field names whose value is a secret whoever sent it (matched case-insensitively).
const SECRET_KEYS: [&str; 5] = [
    "client_secret",
    "access_token",
    "refresh_token",
    "id_token",
    "password",
];

/// Issued tokens searched for: the newest this many. Every row's message is searched for every
/// registered value, so the list must not grow with the run: 1 s tokens for hours would make
/// it thousands long and each row milliseconds slow. An older token has expired and is no
/// longer sent; an echo of it still reads `Bearer …` or is JWT-shaped, which is scrubbed anyway.
pub const RECENT_TOKENS: usize = 8;

/// Everything registered so far: the secrets for good, the newest [`RECENT_TOKENS`] tokens.
static REGISTRY: RwLock<Registry> = RwLock::new(Registry {
    values: Vec::new(),
    base64: Vec::new(),
    tokens: VecDeque::new(),
});

#[derive(Debug)]
struct Registry {
    /// Values matched in any percent/JSON encoding.
    values: Vec<String>,
    /// Base64 forms matched literally, then widened to the whole base64 word around them.
    base64: Vec<String>,
    /// The issued tokens in `values`, oldest first, with their base64 forms.
    tokens: VecDeque<(String, Vec<String>)>,
}

impl Registry {
    /// Adds `value` and its base64 forms; `None` if it was there already.
    fn add(&mut self, value: &str) -> Option<Vec<String>> {
        if value.chars().count() < MIN_SECRET_CHARS || self.values.iter().any(|v| v == value) {
            return None;
        }
        self.values.push(value.to_owned());
        let mut added = Vec::new();
        for form in base64_forms(value.as_bytes()) {
            if !self.base64.contains(&form) {
                self.base64.push(form.clone());
                added.push(form);
            }
        }
        Some(added)
    }
}

fn registry() -> std::sync::RwLockWriteGuard<'static, Registry> {
    REGISTRY
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Registers a value that must never be printed, for as long as the process lives (the client
/// secret).
pub fn register(value: &str) {
    registry().add(value);
}

/// Registers an issued access token; only the newest [`RECENT_TOKENS`] stay registered.
pub fn register_token(value: &str) {
    let mut registry = registry();
    let Some(forms) = registry.add(value) else {
        return;
    };
    registry.tokens.push_back((value.to_owned(), forms));
    while registry.tokens.len() > RECENT_TOKENS {
        let Some((old, forms)) = registry.tokens.pop_front() else {
            break;
        };
        registry.values.retain(|v| *v != old);
        registry.base64.retain(|f| !forms.contains(f));
    }
}

/// How many values are searched for (the secrets and the recent tokens), for tests.
#[must_use]
pub fn registered() -> usize {
    REGISTRY
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .values
        .len()
}

/// Registers the Basic credentials `base64(client_id:secret)` exactly, so that not even the
/// characters that mix the id's last byte with the secret's first survive.
pub fn register_basic(client_id: &str, secret: &str) {
    let pair = format!("{client_id}:{secret}");
    let mut registry = registry();
    for alphabet in [STANDARD, URL_SAFE] {
        let form = base64(pair.as_bytes(), alphabet);
        let form = form.trim_end_matches('=').to_owned();
        if form.len() >= MIN_BASE64_CHARS && !registry.base64.contains(&form) {
            registry.base64.push(form);
        }
    }
}

/// `text` with every secret in it replaced by [`MARK`]; borrowed when there was none.
#[must_use]
pub fn text(text: &str) -> Cow<'_, str> {
    let mut ranges = Vec::new();
    {
        let registry = REGISTRY
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for value in &registry.values {
            find_encoded(text, value, &mut ranges);
        }
        if !registry.base64.is_empty() {
            find_base64(text, &registry.base64, &mut ranges);
        }
    }
    find_authorization(text, &mut ranges);
    find_jwts(text, &mut ranges);
    find_secret_fields(text, &mut ranges);
    if ranges.is_empty() {
        return Cow::Borrowed(text);
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in merged {
        out.push_str(&text[at..start]);
        out.push_str(MARK);
        at = end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// Byte ranges of `value` in `text`, in any mix of the encodings [`match_char`] knows.
fn find_encoded(text: &str, value: &str, ranges: &mut Vec<(usize, usize)>) {
    let Some(first) = value.as_bytes().first().copied() else {
        return;
    };
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // Every encoding of the first character starts with one of these bytes.
        if (b == first || matches!(b, b'%' | b'+' | b'\\'))
            && let Some(len) = match_at(&bytes[i..], value)
        {
            ranges.push((i, i + len));
            i += len;
            continue;
        }
        i += 1;
    }
}

/// How many bytes of `s` spell `value`, if they do; or spell a long enough start of it (an
/// echo cut short still gives most of the value away).
fn match_at(s: &[u8], value: &str) -> Option<usize> {
    let mut pos = 0;
    for (matched, c) in value.chars().enumerate() {
        let Some(len) = match_char(&s[pos..], c) else {
            let total = value.chars().count();
            return (matched >= MIN_PREFIX_CHARS && matched * 2 >= total).then_some(pos);
        };
        pos += len;
    }
    Some(pos)
}

/// How many bytes of `s` spell the character `c`: itself, `+` for a space, its UTF-8 bytes
/// percent-encoded (`%2b`, `%2B`, or `%252B` when encoded twice), or a JSON escape.
fn match_char(s: &[u8], c: char) -> Option<usize> {
    let mut buf = [0u8; 4];
    let utf8 = c.encode_utf8(&mut buf).as_bytes();
    if s.starts_with(utf8) {
        return Some(utf8.len());
    }
    match s.first()? {
        b'+' if c == ' ' => Some(1),
        b'%' => match_percent(s, utf8),
        b'\\' => match_json_escape(s, c),
        _ => None,
    }
}

fn match_percent(s: &[u8], utf8: &[u8]) -> Option<usize> {
    let pair = |rest: &[u8], at: usize| -> Option<u8> {
        Some(hex(*rest.get(at)?)? * 16 + hex(*rest.get(at + 1)?)?)
    };
    let mut pos = 0;
    for &byte in utf8 {
        let rest = &s[pos..];
        if rest.first() != Some(&b'%') {
            return None;
        }
        if pair(rest, 1) == Some(byte) {
            pos += 3;
        } else if rest.get(1..3) == Some(b"25") && pair(rest, 3) == Some(byte) {
            // `%25` is an encoded `%`: the value was encoded twice.
            pos += 5;
        } else {
            return None;
        }
    }
    Some(pos)
}

fn match_json_escape(s: &[u8], c: char) -> Option<usize> {
    let short = match c {
        '"' => Some(b'"'),
        '\\' => Some(b'\\'),
        '/' => Some(b'/'),
        '\n' => Some(b'n'),
        '\t' => Some(b't'),
        '\r' => Some(b'r'),
        _ => None,
    };
    if short.is_some() && s.get(1).copied() == short {
        return Some(2);
    }
    let mut units = [0u16; 2];
    let units = c.encode_utf16(&mut units);
    let mut pos = 0;
    for unit in units.iter() {
        let rest = s.get(pos..pos + 6)?;
        if rest[0] != b'\\' || rest[1] != b'u' {
            return None;
        }
        let mut v = 0u16;
        for &h in &rest[2..6] {
            v = v * 16 + u16::from(hex(h)?);
        }
        if v != *unit {
            return None;
        }
        pos += 6;
    }
    Some(pos)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(char::from(alphabet[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The characters every base64 encoding of a text holding `value` must contain, whatever
/// precedes it: for each of the three alignments, the encoding of the whole 3-byte groups that
/// lie inside `value`, in both alphabets.
fn base64_forms(value: &[u8]) -> Vec<String> {
    let mut forms = Vec::new();
    for offset in 0..3usize {
        // `offset` unknown bytes precede the value; the first group holding them is skipped.
        let skip = (3 - offset) % 3;
        let Some(inner) = value.get(skip..) else {
            continue;
        };
        let whole = inner.len() / 3 * 3;
        if whole == 0 {
            continue;
        }
        for alphabet in [STANDARD, URL_SAFE] {
            let form = base64(&inner[..whole], alphabet);
            if form.len() >= MIN_BASE64_CHARS && !forms.contains(&form) {
                forms.push(form);
            }
        }
    }
    forms
}

fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=')
}

/// The base64 words (maximal runs of base64 characters) of `text` that hold one of `forms`,
/// whole: the characters beside a form still carry bits of the value. A form is all base64
/// characters, so it can only lie inside one word; ordinary words are shorter than any form,
/// which keeps this cheap on every row (design: tens of thousands of rows a second).
fn find_base64(text: &str, forms: &[String], ranges: &mut Vec<(usize, usize)>) {
    let Some(shortest) = forms.iter().map(String::len).min() else {
        return;
    };
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !is_base64_byte(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_base64_byte(bytes[i]) {
            i += 1;
        }
        if i - start < shortest {
            continue;
        }
        let word = &text[start..i];
        if forms
            .iter()
            .any(|f| f.len() <= word.len() && word.contains(f.as_str()))
        {
            ranges.push((start, i));
        }
    }
}

/// `Bearer <token>` and `Basic <credentials>` (any case), scheme included.
fn find_authorization(text: &str, ranges: &mut Vec<(usize, usize)>) {
    let bytes = text.as_bytes();
    for scheme in ["bearer", "basic"] {
        let mut i = 0;
        while let Some(found) = find_ignore_case(&bytes[i..], scheme.as_bytes()) {
            let start = i + found;
            i = start + scheme.len();
            if start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
                continue;
            }
            let mut j = i;
            while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                j += 1;
            }
            if j == i {
                continue;
            }
            let value_start = j;
            // token68 (RFC 7235)
            while j < bytes.len()
                && (bytes[j].is_ascii_alphanumeric()
                    || matches!(bytes[j], b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
            {
                j += 1;
            }
            while j < bytes.len() && bytes[j] == b'=' {
                j += 1;
            }
            // A short word after "basic" is prose ("Basic realm"), not credentials, and so is
            // a plain word ("Basic authentication failed", "Bearer credentials required").
            if j - value_start >= MIN_BASE64_CHARS && !is_word(&bytes[value_start..j]) {
                ranges.push((start, j));
                i = j;
            }
        }
    }
}

/// A word of prose: letters only, lower case after the first. A credential of eight or more
/// characters is never one (an issued token that is would still be found as a known value).
fn is_word(value: &[u8]) -> bool {
    value.iter().all(u8::is_ascii_alphabetic) && value[1..].iter().all(u8::is_ascii_lowercase)
}

fn is_base64url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Anything JWT-shaped: `eyJ…` (base64url of `{"`) `.` payload `.` signature.
fn find_jwts(text: &str, ranges: &mut Vec<(usize, usize)>) {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = text[from..].find("eyJ") {
        let start = from + found;
        from = start + 3;
        if start > 0 && is_base64url_byte(bytes[start - 1]) {
            continue;
        }
        let mut j = start;
        let mut dots = 0;
        loop {
            while j < bytes.len() && is_base64url_byte(bytes[j]) {
                j += 1;
            }
            if dots < 2
                && j + 1 < bytes.len()
                && bytes[j] == b'.'
                && is_base64url_byte(bytes[j + 1])
            {
                dots += 1;
                j += 1;
            } else {
                break;
            }
        }
        // A header and a payload at least; an unsigned JWT has an empty third part.
        if dots >= 1 {
            if dots == 1 && j < bytes.len() && bytes[j] == b'.' {
                j += 1;
            }
            ranges.push((start, j));
            from = j;
        }
    }
}

/// The value of `client_secret=…`, `"access_token": "…"` and the like (form, JSON, or JSON
/// inside a JSON string), whatever the value: a rejected secret is still somebody's secret.
fn find_secret_fields(text: &str, ranges: &mut Vec<(usize, usize)>) {
    let bytes = text.as_bytes();
    for key in SECRET_KEYS {
        let mut i = 0;
        while let Some(found) = find_ignore_case(&bytes[i..], key.as_bytes()) {
            let start = i + found;
            i = start + key.len();
            if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
                continue;
            }
            // "password" is also a word of prose ("Invalid password: too short"): only a form
            // field (`password=`) or a quoted JSON key counts.
            if key == "password" {
                let quoted = start > 0
                    && bytes[start - 1] == b'"'
                    && bytes.get(i).is_some_and(|b| matches!(b, b'"' | b'\\'));
                if !quoted && bytes.get(i) != Some(&b'=') {
                    continue;
                }
            }
            let mut j = i;
            let skip = |j: &mut usize| {
                while *j < bytes.len() && matches!(bytes[*j], b'"' | b'\\' | b' ') {
                    *j += 1;
                }
            };
            skip(&mut j);
            if j >= bytes.len() || !matches!(bytes[j], b'=' | b':') {
                continue;
            }
            j += 1;
            skip(&mut j);
            let value_start = j;
            while j < bytes.len() {
                match bytes[j] {
                    b'&' | b'"' | b'\'' | b',' | b';' | b'}' | b'<' | b' ' | b'\n' | b'\r'
                    | b'\t' => break,
                    b'\\' if bytes.get(j + 1) == Some(&b'"') => break,
                    _ => j += 1,
                }
            }
            if j > value_start {
                ranges.push((value_start, j));
                i = j;
            }
        }
    }
}

fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::{
        MARK, RECENT_TOKENS, base64, register, register_basic, register_token, registered, text,
    };

    /// The secret of these tests: a space, `+`, `/`, `=` and a non-ASCII letter all need encoding.
    const SECRET: &str = "s3cr3t+K/9== ção";

    fn clean(s: &str) -> bool {
        let out = text(s);
        !out.contains("s3cr3t") && !out.contains("K/9") && !out.contains("2BK")
    }

    #[test]
    fn the_secret_is_found_in_every_encoding() {
        register(SECRET);
        let cases = [
            "raw s3cr3t+K/9== ção here",
            "client_secret=s3cr3t%2BK%2F9%3D%3D+%C3%A7%C3%A3o&grant_type=x",
            "s3cr3t%2bK%2f9%3d%3d%20%c3%a7%c3%a3o",
            "s3cr3t%252BK%252F9%253D%253D%2520%25C3%25A7%25C3%25A3o",
            r#"{"echo":"s3cr3t+K\/9== \u00e7\u00e3o"}"#,
            r#"{"echo":"s3cr3t\u002bK/9\u003d= ção"}"#,
        ];
        for case in cases {
            assert!(clean(case), "{case} → {}", text(case));
        }
    }

    #[test]
    fn basic_credentials_and_any_base64_of_the_secret_are_found() {
        register(SECRET);
        register_basic("app-7", SECRET);
        let basic = base64(format!("app-7:{SECRET}").as_bytes(), super::STANDARD);
        let out = text(&format!("Authorisation was {basic} (echoed)")).into_owned();
        assert!(!out.contains(&basic[4..]), "{out}");
        assert!(out.ends_with(" (echoed)"), "{out}");
        // Another client id, any alignment, either alphabet.
        for prefix in ["x:", "xy:", "xyz:"] {
            for alphabet in [super::STANDARD, super::URL_SAFE] {
                let encoded = base64(format!("{prefix}{SECRET}").as_bytes(), alphabet);
                assert_eq!(text(&format!("[{encoded}]")), format!("[{MARK}]"));
            }
        }
    }

    #[test]
    fn bearer_values_and_jwts_are_scrubbed_whoever_issued_them() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let out = text(&format!("400: Authorization: Bearer {jwt} rejected")).into_owned();
        assert_eq!(out, format!("400: Authorization: {MARK} rejected"));
        let out = text(&format!(r#"{{"seen":"{jwt}"}}"#)).into_owned();
        assert_eq!(out, format!(r#"{{"seen":"{MARK}"}}"#));
        assert_eq!(text("bearer opaque-token-123"), MARK);
        // Prose stays.
        let prose = "WWW-Authenticate: Basic realm=\"OAuth\"; Bearer tokens expire";
        assert_eq!(text(prose), prose);
    }

    #[test]
    fn values_of_secret_fields_are_scrubbed_even_when_unknown() {
        let cases = [
            (
                "grant_type=client_credentials&client_id=a&client_secret=Wr0ng%21&x=1",
                "grant_type=client_credentials&client_id=a&client_secret=(redacted)&x=1",
            ),
            (
                r#"{"access_token": "abc.def", "expires_in": 3600}"#,
                r#"{"access_token": "(redacted)", "expires_in": 3600}"#,
            ),
            (
                r#"{"message":"{\"client_secret\":\"Wr0ng\"}"}"#,
                r#"{"message":"{\"client_secret\":\"(redacted)\"}"}"#,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(text(input), want);
        }
        // Names in prose and in variable names are not fields.
        let hint = "set SENHASEGURA_CLIENT_SECRET or pass --client-secret-file PATH";
        assert_eq!(text(hint), hint);
    }

    #[test]
    fn ordinary_appliance_messages_are_left_intact() {
        register(SECRET);
        register_token("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJlLTEyMw");
        let messages = [
            "Credential not found.",
            "1007: Credential not found (HTTP 400)",
            "Credential successfully activated",
            "Credential 58001 is already enabled (code 1043)",
            "Basic authentication failed",
            "Bearer credentials required",
            "Invalid password: too short",
            "Password: must be changed at first login",
            "connection refused: pam.example.com:443 (10.0.0.7)",
            "request_id 0123456789abcdef0123456789abcdef",
        ];
        for m in messages {
            assert_eq!(text(m), m);
        }
        // The shapes they resemble are still secrets.
        assert_eq!(
            text("Authorization: Basic YXBwOnMzY3IzdA=="),
            format!("Authorization: {MARK}")
        );
        assert_eq!(text("bearer Opaque9Token"), MARK);
        assert_eq!(
            text("user=a&password=hunter22"),
            format!("user=a&password={MARK}")
        );
        assert_eq!(
            text(r#"{"password": "hunter22"}"#),
            format!(r#"{{"password": "{MARK}"}}"#)
        );
        assert_eq!(
            text(r#"{"m":"{\"password\":\"hunter22\"}"}"#),
            format!(r#"{{"m":"{{\"password\":\"{MARK}\"}}"}}"#)
        );
    }

    #[test]
    fn an_echo_cut_short_is_scrubbed_when_it_gives_most_of_the_value_away() {
        register("Opaque-token-0123456789abc");
        assert_eq!(text("seen Opaque-token-01234…"), "seen (redacted)…");
        assert_eq!(text("an Opaque-tok"), "an Opaque-tok");
    }

    #[test]
    fn text_without_secrets_is_borrowed_unchanged() {
        register(SECRET);
        let s = "1007: Credential not found (HTTP 400) %41 + \\u0041";
        assert!(matches!(text(s), std::borrow::Cow::Borrowed(_)));
        assert_eq!(text(""), "");
    }

    #[test]
    fn tokens_registered_over_a_long_run_do_not_pile_up() {
        // 1 s tokens for three hours: the list (and so each row's cost) stays small, the
        // secret and the newest tokens are still scrubbed.
        register("Long-run-secret-Xq7");
        for i in 0..10_800 {
            register_token(&format!("opaque-token-{i:05}-abcdefghijklmnop"));
        }
        assert!(registered() <= 64, "{} values registered", registered());
        assert_eq!(text("echo Long-run-secret-Xq7"), format!("echo {MARK}"));
        for i in 10_800 - RECENT_TOKENS..10_800 {
            let token = format!("opaque-token-{i:05}-abcdefghijklmnop");
            assert_eq!(text(&format!("seen {token}")), format!("seen {MARK}"));
        }
    }

    #[test]
    fn short_values_are_not_registered() {
        register("ab");
        assert_eq!(text("ab cab"), "ab cab");
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_scrubbed_without_panicking(s in "\\PC{0,200}") {
            let _ = text(&s);
        }
    }
}
