//! The HTTP plumbing shared by the token cache and the API client: one configured reqwest
//! client, bounded body reads, and short descriptions of transport failures. No API knowledge.

use std::error::Error as _;
use std::time::Duration;

use tracing::warn;

use crate::config::Connection;
use crate::error::Error;

/// Most of an answer's body that is ever read; the rest is dropped with the connection.
pub const MAX_BODY: usize = 64 * 1024;

/// Longest server text kept for a report row or a log line.
const MAX_TEXT: usize = 200;

/// Builds the one client every request goes through. Redirects are never followed: a 3xx would
/// carry the bearer token to wherever it points.
/// TLS is rustls with the platform's verifier (the system trust store), plus the private CA of
/// `--ca-cert` when given. `--insecure` turns verification off, and says so on every run.
pub fn client(connection: &Connection, concurrency: usize) -> Result<reqwest::Client, Error> {
    let tls = &connection.tls;
    if tls.insecure {
        warn!(
            url = %connection.base,
            "--insecure: the appliance's TLS certificate is NOT verified; anyone in between can read the secret and tokens"
        );
    }
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("credbulk/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connection.timeout.min(Duration::from_secs(10)))
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .tls_danger_accept_invalid_certs(tls.insecure);
    if connection.base.scheme() == "http" {
        // Every request goes to this plain-HTTP origin (redirects are not followed), so the
        // system's CA roots would never be used; reading them is most of the start-up time.
        builder = builder.tls_certs_only(std::iter::empty());
    } else {
        builder = builder.tls_certs_merge(tls.ca_certs.iter().cloned());
    }
    builder.build().map_err(|e| {
        Error::usage(
            format!("cannot set up HTTPS ({})", describe_error(&e)),
            "check the system's CA certificates and --ca-cert",
        )
    })
}

/// Reads at most [`MAX_BODY`] bytes of the body.
pub async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_BODY {
            break;
        }
    }
    Ok(body)
}

/// What went wrong on the wire, in a few words (no URL, no headers).
#[must_use]
pub fn describe_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".to_owned();
    }
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            let text = one_line(&io.to_string());
            // rustls reports an untrusted or mismatched certificate as an I/O error whose text
            // names the certificate; say so plainly, it is the one a private CA causes.
            if text.contains("certificate") {
                return format!("TLS certificate not trusted ({text})");
            }
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                std::io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
                std::io::ErrorKind::ConnectionAborted => "connection aborted".to_owned(),
                std::io::ErrorKind::TimedOut => "timed out".to_owned(),
                _ => text,
            };
        }
        source = cause.source();
    }
    if error.is_connect() {
        "could not connect".to_owned()
    } else if error.is_body() || error.is_decode() {
        "connection dropped while reading the answer".to_owned()
    } else if error.is_request() {
        "request failed".to_owned()
    } else {
        let mut text = error.to_string();
        if let Some(url) = error.url() {
            text = text.replace(url.as_str(), "the server");
        }
        one_line(&text)
    }
}

/// A body or message squeezed onto one short line (tags and control characters dropped).
#[must_use]
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT));
    let mut in_tag = false;
    let mut last_space = true;
    let mut kept = 0;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => continue,
            c if c.is_whitespace() || c.is_control() => {
                if last_space {
                    continue;
                }
                out.push(' ');
                last_space = true;
            }
            c => {
                out.push(c);
                last_space = false;
            }
        }
        kept += 1;
        if kept >= MAX_TEXT {
            out.push('…');
            break;
        }
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn html_is_reduced_to_its_text_on_one_line() {
        let html = "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>oops</body></html>";
        assert_eq!(one_line(html), "502 Bad Gateway oops");
    }

    #[test]
    fn long_text_is_cut() {
        let long = "x".repeat(10_000);
        assert!(one_line(&long).chars().count() <= 201);
    }
}
