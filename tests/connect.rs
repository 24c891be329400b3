//! Wrong URLs named as such: https to a plain-HTTP port and http to a TLS port get the corrected
//! URL at once (no retries); a token endpoint that is not there (a 404, a proxy's HTML page) is
//! never blamed on the client id or secret; refused connections and names that do not resolve
//! say which host and port. Everything stays on loopback (`.invalid` names never resolve).

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Parser;
use common::{Harness, exit_code};
use credbulk::app::{Completed, execute_in};
use credbulk::cli::Cli;
use credbulk::control::Control;
use credbulk::error::Error;
use credbulk::sim::{Credentials, SimConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

async fn check(h: &Harness, url: &str, extra: &[&str]) -> Result<Completed, Error> {
    let secret = h.secret_file.display().to_string();
    let mut words = vec![
        "credbulk",
        "check",
        "--no-config",
        "--url",
        url,
        "--client-id",
        "demo",
        "--client-secret-file",
        &secret,
    ];
    words.extend_from_slice(extra);
    let cli = Cli::try_parse_from(words).expect("arguments parse");
    let env: HashMap<String, String> = HashMap::new();
    let lookup = move |name: &str| env.get(name).cloned();
    execute_in(cli.command, Arc::new(Control::new()), &lookup).await
}

async fn harness() -> Harness {
    Harness::start(SimConfig {
        credentials: Credentials::generate(3),
        ..SimConfig::default()
    })
    .await
}

fn error_text(result: Result<Completed, Error>) -> String {
    assert_eq!(exit_code(&result), 3, "{result:?}");
    result.unwrap_err().to_string()
}

/// A plain-HTTP server that answers every request with `answer` and counts connections, like a
/// web server or proxy on a port that is not the appliance's TLS port.
async fn plain_server(answer: &'static str) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp.write_all(answer.as_bytes()).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    (addr, connections)
}

/// A TLS server (self-signed certificate) relaying to `backend`, counting connections.
async fn tls_front(backend: SocketAddr) -> (SocketAddr, Arc<AtomicUsize>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        )
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut upstream) = TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    (addr, connections)
}

#[tokio::test]
async fn https_to_a_plain_http_port_gives_the_http_url_at_once() {
    let h = harness().await;
    let (addr, connections) =
        plain_server("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
    let text = error_text(check(&h, &format!("https://127.0.0.1:{}", addr.port()), &[]).await);
    assert!(
        text.contains(&format!("http://127.0.0.1:{}", addr.port())),
        "gives the corrected URL: {text}"
    );
    assert!(!text.contains("InvalidContentType"), "{text}");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "no retries");
}

#[tokio::test]
async fn http_to_a_tls_port_gives_the_https_url_at_once() {
    let h = harness().await;
    let (addr, connections) = tls_front(h.sim.addr).await;
    let text = error_text(check(&h, &format!("http://127.0.0.1:{}", addr.port()), &[]).await);
    assert!(
        text.contains(&format!("https://127.0.0.1:{}", addr.port())),
        "gives the corrected URL: {text}"
    );
    // One request, plus one TLS hello that proves what the port speaks; never a retry.
    assert!(connections.load(Ordering::SeqCst) <= 2, "no retries");
    assert_eq!(h.sim.stats().total_requests, 0);
}

#[tokio::test]
async fn a_wrong_base_path_is_no_token_endpoint_not_a_bad_client() {
    let h = harness().await;
    let url = format!("{}/senhasegura", h.sim.url());
    let text = error_text(check(&h, &url, &[]).await);
    assert!(
        text.contains(&format!("no token endpoint at {url}/iso/oauth2/token")),
        "{text}"
    );
    assert!(
        text.contains("--url") && text.contains("--token-path"),
        "{text}"
    );
    assert!(
        !text.contains("CLIENT_ID") && !text.contains("rejected the client"),
        "{text}"
    );
    assert_eq!(h.sim.stats().token_requests, 0);
}

#[tokio::test]
async fn a_proxy_html_page_at_the_token_path_is_no_token_endpoint() {
    let h = harness().await;
    for answer in [
        "HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\ncontent-length: 48\r\nconnection: close\r\n\r\n<html><body><h1>404 Not Found</h1></body></html>",
        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 39\r\nconnection: close\r\n\r\n<html><body>Sign in to proxy</body></html>",
        "HTTP/1.1 401 Unauthorized\r\ncontent-type: text/html\r\ncontent-length: 36\r\nconnection: close\r\n\r\n<html><body>Proxy login</body></html>",
    ] {
        let (addr, connections) = plain_server(answer).await;
        let url = format!("http://127.0.0.1:{}", addr.port());
        let text = error_text(check(&h, &url, &[]).await);
        assert!(text.contains("no token endpoint at"), "{answer}: {text}");
        assert!(!text.contains("CLIENT_ID"), "{text}");
        assert!(
            connections.load(Ordering::SeqCst) <= 2,
            "no retries: {text}"
        );
    }
}

#[tokio::test]
async fn a_refused_connection_names_host_and_port() {
    let h = harness().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let text = error_text(
        check(
            &h,
            &format!("http://127.0.0.1:{port}"),
            &["--max-attempts", "1"],
        )
        .await,
    );
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("refused"), "{text}");
}

#[tokio::test]
async fn a_name_that_does_not_resolve_names_host_and_port() {
    let h = harness().await;
    let text = error_text(
        check(
            &h,
            "https://pam.credbulk.invalid:8443",
            &["--max-attempts", "1"],
        )
        .await,
    );
    assert!(text.contains("pam.credbulk.invalid:8443"), "{text}");
    assert!(text.contains("resolve"), "{text}");
}

#[tokio::test]
async fn a_token_endpoint_answer_that_is_not_a_token_is_never_echoed() {
    let h = harness().await;
    // A 200 whose JSON holds a token where credbulk does not look for one (a wrapper, a
    // number): the answer is not usable, and its text must not reach the error either.
    for answer in [
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 43\r\nconnection: close\r\n\r\n{\"data\":{\"access_token\":\"eyJleakedtoken1\"}}",
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 42\r\nconnection: close\r\n\r\n{\"access_token\":[\"eyJleakedtoken1\"],\"x\":1}",
    ] {
        let (addr, _) = plain_server(answer).await;
        let url = format!("http://127.0.0.1:{}", addr.port());
        let text = error_text(check(&h, &url, &[]).await);
        assert!(text.contains("no token endpoint at"), "{answer}: {text}");
        assert!(
            !text.contains("eyJleakedtoken1"),
            "the token is echoed: {text}"
        );
    }
}

const UNAVAILABLE: &str = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";

#[tokio::test]
async fn check_fetches_the_token_max_attempts_times() {
    let h = harness().await;
    for (attempts, expected) in [("1", 1), ("2", 2)] {
        let (addr, connections) = plain_server(UNAVAILABLE).await;
        let url = format!("http://127.0.0.1:{}", addr.port());
        let text = error_text(check(&h, &url, &["--max-attempts", attempts]).await);
        assert!(text.contains("503"), "{text}");
        assert_eq!(connections.load(Ordering::SeqCst), expected, "{text}");
    }
}

#[tokio::test]
async fn a_token_endpoint_that_keeps_failing_gets_a_hint_for_check_not_resume() {
    let h = harness().await;
    let (addr, _) = plain_server(UNAVAILABLE).await;
    let url = format!("http://127.0.0.1:{}", addr.port());
    let text = error_text(check(&h, &url, &["--max-attempts", "1"]).await);
    assert!(text.contains("hint:"), "{text}");
    assert!(
        !text.contains("--resume"),
        "check writes no report to resume: {text}"
    );
}
