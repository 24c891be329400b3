//! The HTTP plumbing shared by the token cache and the API client: one configured reqwest
//! client (its TLS from `tls`), bounded body reads, short descriptions of transport failures
//! that name the host and port, and the diagnosis of the ones retrying cannot fix (a wrong
//! scheme, an untrusted certificate). No API knowledge.

use std::error::Error as _;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tracing::warn;
use url::Url;

use crate::config::Connection;
use crate::error::{Error, Problem};
use crate::tls::{CertProblem, PeerCert};

/// Most of an answer's body that is ever read; the rest is dropped with the connection.
pub const MAX_BODY: usize = 64 * 1024;

/// Longest server text kept for a report row or a log line.
const MAX_TEXT: usize = 200;

/// Builds the one client every request goes through. Redirects are never followed: a 3xx would
/// carry the bearer token to wherever it points.
/// TLS is rustls with the platform's verifier (the system trust store), plus the private CA of
/// `--ca-cert` when given. `--insecure` turns verification off, and says so on every run.
pub fn client(connection: &Connection, concurrency: usize) -> Result<reqwest::Client, Error> {
    client_seeing(connection, concurrency, PeerCert::default())
}

/// Like [`client`], recording in `seen` the certificate each TLS server presents.
pub fn client_seeing(
    connection: &Connection,
    concurrency: usize,
    seen: PeerCert,
) -> Result<reqwest::Client, Error> {
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
        .tcp_nodelay(true);
    if connection.base.scheme() == "http" {
        // Every request goes to this plain-HTTP origin (redirects are not followed), so the
        // system's CA roots would never be used; reading them is most of the start-up time.
        builder = builder.tls_certs_only(std::iter::empty());
    } else {
        let config = crate::tls::client_config(&tls.ca_certs, tls.insecure, seen)?;
        builder = builder.tls_backend_preconfigured(config);
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

/// What went wrong on the wire, in a few words (host and port, never the path or headers).
#[must_use]
pub fn describe_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".to_owned();
    }
    let endpoint = error
        .url()
        .map_or_else(|| "the server".to_owned(), endpoint);
    if let Some(problem) = tls_problem(error) {
        return problem.message;
    }
    if chain(error).any(|text| text.contains("dns error")) {
        return format!("cannot resolve the host name of {endpoint}");
    }
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            let text = one_line(&io.to_string());
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    format!("connection refused by {endpoint}")
                }
                std::io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
                std::io::ErrorKind::ConnectionAborted => "connection aborted".to_owned(),
                std::io::ErrorKind::TimedOut => "timed out".to_owned(),
                _ => text,
            };
        }
        source = cause.source();
    }
    if error.is_connect() {
        format!("could not connect to {endpoint}")
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

/// `host:port` of `url`, the port spelled out even when it is the scheme's default.
#[must_use]
pub fn endpoint(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// `url` reduced to its scheme, host and port.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// `url`'s origin with the other scheme and the same port.
fn other_scheme(url: &Url) -> String {
    let scheme = if url.scheme() == "https" {
        "http"
    } else {
        "https"
    };
    let host = url.host_str().unwrap_or("?");
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    match url.port_or_known_default() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    }
}

/// The texts of an error and of every cause below it.
fn chain(error: &reqwest::Error) -> impl Iterator<Item = String> + '_ {
    let first: &(dyn std::error::Error + 'static) = error;
    std::iter::successors(Some(first), |e| (*e).source()).map(ToString::to_string)
}

/// The rustls error under a failed request, if the TLS layer failed.
fn rustls_error(error: &reqwest::Error) -> Option<&rustls::Error> {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // tokio-rustls wraps its error in an io::Error (sometimes twice), whose `source`
        // skips the wrapped error itself.
        let mut wrapped = cause
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref);
        while let Some(inner) = wrapped {
            if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                return Some(tls);
            }
            wrapped = inner
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref);
        }
        source = cause.source();
    }
    None
}

/// A refused certificate, as the verifier explained it.
fn tls_problem(error: &reqwest::Error) -> Option<Problem> {
    match rustls_error(error)? {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) => {
            other.0.downcast_ref::<CertProblem>().map(|p| p.0.clone())
        }
        rustls::Error::InvalidCertificate(other) => Some(Problem::new(
            format!("the server's TLS certificate is not trusted ({other:?})"),
            "check the appliance's certificate and --ca-cert",
        )),
        _ => None,
    }
}

/// The failures of a request that will repeat on every attempt, said for the operator: an
/// untrusted certificate, `https://` to a port that speaks plain HTTP, `http://` to a port
/// that speaks TLS (asked of the port itself with one TLS hello, which sends no request).
pub async fn diagnose(error: &reqwest::Error) -> Option<Problem> {
    let url = error.url()?;
    if let Some(problem) = tls_problem(error) {
        return Some(problem);
    }
    if url.scheme() == "https"
        && matches!(
            rustls_error(error),
            Some(rustls::Error::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType
            ))
        )
    {
        return Some(wrong_scheme(url, "plain HTTP"));
    }
    // A refused connect or a timeout says nothing about the protocol; anything else on a plain
    // HTTP URL (an answer that is not HTTP, a connection closed unanswered) may be TLS.
    if url.scheme() == "http" && !error.is_connect() && !error.is_timeout() && speaks_tls(url).await
    {
        return Some(wrong_scheme(url, "TLS (HTTPS)"));
    }
    None
}

/// `http://` to a port that speaks TLS, or the other way round.
#[must_use]
pub fn wrong_scheme(url: &Url, speaks: &str) -> Problem {
    let corrected = other_scheme(url);
    Problem::new(
        format!(
            "{} speaks {speaks}, not {}: the URL is {corrected}",
            origin(url),
            if url.scheme() == "https" {
                "HTTPS"
            } else {
                "plain HTTP"
            },
        ),
        if url.scheme() == "https" {
            format!(
                "check the port; if the appliance really serves plain HTTP there, pass --url {corrected} (with --allow-http unless it is loopback)"
            )
        } else {
            format!("pass --url {corrected}")
        },
    )
}

/// Whether `url`'s host and port answer a TLS hello with a TLS record. One connection, no
/// HTTP request, a few seconds at most; any doubt is "no".
pub async fn speaks_tls(url: &Url) -> bool {
    let wait = Duration::from_secs(3);
    let Some(host) = url.host_str() else {
        return false;
    };
    let Some(port) = url.port_or_known_default() else {
        return false;
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let Some(hello) = client_hello(&host) else {
        return false;
    };
    let attempt = async {
        let mut tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .ok()?;
        tcp.write_all(&hello).await.ok()?;
        let mut head = [0u8; 2];
        tcp.read_exact(&mut head).await.ok()?;
        // A handshake (22) or an alert (21) record of TLS 1.x.
        Some(matches!(head, [21 | 22, 3]))
    };
    tokio::time::timeout(wait, attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// The bytes of a TLS client hello for `host` (nothing is verified: it never gets that far).
fn client_hello(host: &str) -> Option<Vec<u8>> {
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).ok()?;
    let config = crate::tls::client_config(&[], true, PeerCert::default()).ok()?;
    let mut connection = rustls::ClientConnection::new(std::sync::Arc::new(config), name).ok()?;
    let mut hello = Vec::new();
    connection.write_tls(&mut hello).ok()?;
    Some(hello)
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
