//! A private CA: an HTTPS front (a certificate from a CA generated here) in front of the
//! simulator on 127.0.0.1. Accepted with `--ca-cert`, refused without it (exit 3 with a hint
//! that names the flag), accepted with `--insecure`.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use common::{Harness, exit_code, id_list};
use credbulk::app::{Completed, execute};
use credbulk::cli::Cli;
use credbulk::control::Control;
use credbulk::error::Error;
use credbulk::sim::{Credentials, SimConfig};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// A CA (its PEM) and a TLS server config whose certificate it signed for 127.0.0.1.
fn private_ca() -> (String, rustls::ServerConfig) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "credbulk test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            pki_types::PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into(),
        )
        .unwrap();
    (ca.pem(), server)
}

/// Terminates TLS on a free loopback port and relays each connection to `backend`.
async fn https_front(backend: SocketAddr, config: rustls::ServerConfig) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that distrusts the certificate ends the handshake: nothing to relay.
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
    addr
}

async fn run(h: &Harness, url: &str, args: &[&str]) -> Result<Completed, Error> {
    let secret = h.secret_file.display().to_string();
    let mut words = vec!["credbulk"];
    words.extend_from_slice(args);
    words.extend([
        "--no-config",
        "--url",
        url,
        "--client-id",
        "demo",
        "--client-secret-file",
        &secret,
    ]);
    let cli = Cli::try_parse_from(words).expect("arguments parse");
    execute(cli.command, Arc::new(Control::new())).await
}

#[tokio::test]
async fn a_private_ca_is_trusted_with_ca_cert_and_refused_without() {
    let h = Harness::start(SimConfig {
        credentials: Credentials::generate(3),
        ..SimConfig::default()
    })
    .await;
    let (ca_pem, server) = private_ca();
    let front = https_front(h.sim.addr, server).await;
    let url = format!("https://127.0.0.1:{}", front.port());
    let ca = h.file("ca.pem", ca_pem);
    let ca = ca.to_str().unwrap();

    let refused = run(&h, &url, &["check"]).await;
    assert_eq!(exit_code(&refused), 3);
    let text = refused.unwrap_err().to_string();
    assert!(text.contains("TLS certificate"), "{text}");
    assert!(
        text.contains("--ca-cert"),
        "the hint names the flag: {text}"
    );
    assert_eq!(h.sim.stats().total_requests, 0, "nothing got through");

    let trusted = run(&h, &url, &["check", "--ca-cert", ca]).await;
    assert_eq!(exit_code(&trusted), 0, "{trusted:?}");

    let input = h.file("ids.csv", id_list(1..=3));
    let report = h.dir.path().join("tls.enable.report.csv");
    let enabled = run(
        &h,
        &url,
        &[
            "enable",
            input.to_str().unwrap(),
            "--ca-cert",
            ca,
            "--no-progress",
            "--rate",
            "500",
            "--report",
            report.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(
        exit_code(&enabled),
        0,
        "the API calls go over the same trust"
    );
    assert!((1..=3).all(|id| h.sim.credential(id).unwrap().active));

    let insecure = run(&h, &url, &["check", "--insecure"]).await;
    assert_eq!(exit_code(&insecure), 0);
    let Ok(Completed::Check(report)) = insecure else {
        panic!("not a check")
    };
    assert!(report.render().contains("NOT VERIFIED"));
}
