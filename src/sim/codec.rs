//! The few encodings the simulator needs, hand-written so the sim adds no dependency: base64url
//! (token parts), standard base64 decoding (HTTP Basic), form-urlencoded decoding (token body)
//! and hex (ids in tokens and Kong's `request_id`). Total functions: bad input gives `None`.

const URL_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding, as in a JWT.
pub(crate) fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..=chunk.len() {
            let six = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(URL_ALPHABET[six as usize]));
        }
    }
    out
}

/// Decodes standard or url-safe base64, padded or not; `None` on any other byte.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for byte in text.bytes() {
        let six = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(six);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    // A single leftover sextet cannot come from whole bytes.
    (bits < 6).then_some(out)
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space); `None` on a bad
/// escape or invalid UTF-8.
pub(crate) fn form_decode(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(byte) = bytes.next() {
        match byte {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex_value(bytes.next()?)?;
                let lo = hex_value(bytes.next()?)?;
                out.push(hi << 4 | lo);
            }
            _ => out.push(byte),
        }
    }
    String::from_utf8(out).ok()
}

/// Parses a form body into `(name, value)` pairs; `None` if any component is malformed.
pub(crate) fn parse_form(body: &str) -> Option<Vec<(String, String)>> {
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((form_decode(name)?, form_decode(value)?))
        })
        .collect()
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|v| u8::try_from(v).ok())
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_known_vectors_and_round_trips() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(base64_decode(&base64url(&bytes)), Some(bytes));
    }

    #[test]
    fn base64_decoding_accepts_padding_and_rejects_garbage() {
        assert_eq!(
            base64_decode("ZGVtbzpkZW1vLXNlY3JldA=="),
            Some(b"demo:demo-secret".to_vec())
        );
        assert_eq!(base64_decode("Zm9v"), Some(b"foo".to_vec()));
        assert_eq!(base64_decode("Zm9v!"), None);
        assert_eq!(base64_decode("Z"), None);
    }

    #[test]
    fn form_bodies_decode_escapes_and_reject_bad_ones() {
        let pairs =
            parse_form("grant_type=client_credentials&client_id=a+b&client_secret=%C3%A9%26x&flag")
                .expect("valid form");
        assert_eq!(pairs[1], ("client_id".to_owned(), "a b".to_owned()));
        assert_eq!(pairs[2].1, "é&x");
        assert_eq!(pairs[3], ("flag".to_owned(), String::new()));
        assert_eq!(parse_form("a=%zz"), None);
        assert_eq!(parse_form("a=%"), None);
        assert_eq!(parse_form("a=%ff"), None);
    }

    #[test]
    fn hex_is_lower_case_and_two_digits_per_byte() {
        assert_eq!(hex(&[0, 0xab, 0x0f]), "00ab0f");
    }
}
