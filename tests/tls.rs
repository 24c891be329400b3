//! TLS as operators have it: an HTTPS front (tokio-rustls, certificates made here with rcgen the
//! way `openssl req -x509` and a private CA make them) in front of the simulator on 127.0.0.1.
//! A self-signed `CA:TRUE` certificate, a private CA and a chain file are trusted with
//! `--ca-cert`; the host name is still checked; every refusal names what is wrong.

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
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyIdMethod, KeyPair,
    date_time_ymd,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// Parameters of a CA certificate named `cn`.
fn ca_params(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, cn);
    params
}

/// A certificate exactly as `openssl req -x509 -subj /CN=<cn>` makes it: self-signed, `CA:TRUE`
/// (critical), subject and authority key identifiers, the host in the common name and no
/// subjectAltName at all.
fn openssl_like(cn: &str) -> (CertificateParams, KeyPair) {
    let mut params = ca_params(cn);
    params.key_identifier_method = KeyIdMethod::Sha256;
    params.use_authority_key_identifier_extension = true;
    (params, KeyPair::generate().unwrap())
}

/// A TLS server config presenting `chain` (leaf first) with `key`.
fn server(chain: Vec<pki_types::CertificateDer<'static>>, key: &KeyPair) -> rustls::ServerConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            chain,
            pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        )
        .unwrap()
}

/// A leaf for `names`, signed by `issuer`.
fn leaf(names: &[&str], issuer: &CertifiedIssuer<'_, KeyPair>) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let cert = CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, issuer)
        .unwrap();
    (cert, key)
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

async fn harness() -> Harness {
    Harness::start(SimConfig {
        credentials: Credentials::generate(3),
        ..SimConfig::default()
    })
    .await
}

/// The error text of a refused `check`, asserting it exits 3 having reached nothing.
async fn refused(h: &Harness, url: &str, args: &[&str]) -> String {
    let mut words = vec!["check"];
    words.extend_from_slice(args);
    let result = run(h, url, &words).await;
    assert_eq!(exit_code(&result), 3, "{result:?}");
    assert_eq!(h.sim.stats().total_requests, 0, "nothing got through");
    result.unwrap_err().to_string()
}

#[tokio::test]
async fn a_private_ca_is_trusted_with_ca_cert_and_refused_naming_the_issuer_without() {
    let h = harness().await;
    let ca =
        CertifiedIssuer::self_signed(ca_params("credbulk test CA"), KeyPair::generate().unwrap())
            .unwrap();
    let (cert, key) = leaf(&["127.0.0.1", "localhost"], &ca);
    let front = https_front(h.sim.addr, server(vec![cert.der().clone()], &key)).await;
    let url = format!("https://127.0.0.1:{}", front.port());
    let ca_file = h.file("ca.pem", ca.pem());
    let ca_file = ca_file.to_str().unwrap();

    let text = refused(&h, &url, &[]).await;
    assert!(
        text.contains("credbulk test CA"),
        "names the issuer: {text}"
    );
    assert!(text.contains("not trusted"), "{text}");
    assert!(
        text.contains("--ca-cert"),
        "the hint names the flag: {text}"
    );
    assert!(
        !text.contains("CaUsedAsEndEntity") && !text.contains("Other("),
        "{text}"
    );

    let trusted = run(&h, &url, &["check", "--ca-cert", ca_file]).await;
    assert_eq!(exit_code(&trusted), 0, "{trusted:?}");
    let Ok(Completed::Check(report)) = trusted else {
        panic!("not a check")
    };
    let shown = report.render();
    let fingerprint = sha256_hex(cert.der());
    assert!(shown.contains(&fingerprint), "SHA-256 fingerprint: {shown}");
    assert!(shown.contains("credbulk test CA"), "issuer: {shown}");
    assert!(shown.contains("expires"), "expiry: {shown}");

    let input = h.file("ids.csv", id_list(1..=3));
    let report = h.dir.path().join("tls.enable.report.csv");
    let enabled = run(
        &h,
        &url,
        &[
            "enable",
            input.to_str().unwrap(),
            "--ca-cert",
            ca_file,
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

#[tokio::test]
async fn a_self_signed_ca_true_certificate_as_openssl_makes_it_is_trusted_with_ca_cert() {
    let h = harness().await;
    let (params, key) = openssl_like("127.0.0.1");
    let cert = params.self_signed(&key).unwrap();
    let front = https_front(h.sim.addr, server(vec![cert.der().clone()], &key)).await;
    let url = format!("https://127.0.0.1:{}", front.port());
    let pem = h.file("appliance.pem", cert.pem());

    let text = refused(&h, &url, &[]).await;
    assert!(text.contains("self-signed"), "{text}");
    assert!(text.contains("--ca-cert"), "{text}");

    let trusted = run(&h, &url, &["check", "--ca-cert", pem.to_str().unwrap()]).await;
    assert_eq!(exit_code(&trusted), 0, "{trusted:?}");
    assert_eq!(h.sim.stats().token_fetches, 1);

    // Another self-signed certificate for the same host is not the one pinned.
    let (other, other_key) = openssl_like("127.0.0.1");
    let other = other.self_signed(&other_key).unwrap();
    let front = https_front(h.sim.addr, server(vec![other.der().clone()], &other_key)).await;
    let url = format!("https://127.0.0.1:{}", front.port());
    let result = run(&h, &url, &["check", "--ca-cert", pem.to_str().unwrap()]).await;
    assert_eq!(exit_code(&result), 3);
    let text = result.unwrap_err().to_string();
    assert!(
        text.contains("not trusted") && text.contains("self-signed"),
        "{text}"
    );
    assert_eq!(h.sim.stats().token_fetches, 1, "the impostor got nothing");
}

#[tokio::test]
async fn the_host_name_is_still_checked_and_a_mismatch_names_both_sides() {
    let h = harness().await;
    // Pinned self-signed, but made for another host.
    let (params, key) = openssl_like("pam.example.com");
    let cert = params.self_signed(&key).unwrap();
    let front = https_front(h.sim.addr, server(vec![cert.der().clone()], &key)).await;
    let url = format!("https://127.0.0.1:{}", front.port());
    let pem = h.file("appliance.pem", cert.pem());
    let text = refused(&h, &url, &["--ca-cert", pem.to_str().unwrap()]).await;
    assert!(
        text.contains("127.0.0.1") && text.contains("pam.example.com"),
        "names the URL's host and the certificate's names: {text}"
    );
    assert!(
        !text.contains("pass --ca-cert"),
        "the CA is not the problem: {text}"
    );

    // Issued by a trusted private CA, for another host.
    let ca =
        CertifiedIssuer::self_signed(ca_params("credbulk test CA"), KeyPair::generate().unwrap())
            .unwrap();
    let (cert, key) = leaf(&["pam.example.com", "pam2.example.com"], &ca);
    let front = https_front(h.sim.addr, server(vec![cert.der().clone()], &key)).await;
    let url = format!("https://127.0.0.1:{}", front.port());
    let ca_file = h.file("ca.pem", ca.pem());
    let text = refused(&h, &url, &["--ca-cert", ca_file.to_str().unwrap()]).await;
    assert!(
        text.contains("127.0.0.1") && text.contains("pam2.example.com"),
        "{text}"
    );
}

#[tokio::test]
async fn an_expired_certificate_is_refused_with_its_end_date() {
    let h = harness().await;
    let ca =
        CertifiedIssuer::self_signed(ca_params("credbulk test CA"), KeyPair::generate().unwrap())
            .unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(2021, 3, 4);
    let cert = params.signed_by(&key, &ca).unwrap();
    let front = https_front(h.sim.addr, server(vec![cert.der().clone()], &key)).await;
    let url = format!("https://127.0.0.1:{}", front.port());
    let ca_file = h.file("ca.pem", ca.pem());
    let text = refused(&h, &url, &["--ca-cert", ca_file.to_str().unwrap()]).await;
    assert!(text.contains("expired"), "{text}");
    assert!(text.contains("2021-03-04"), "gives the end date: {text}");

    // The same for a pinned self-signed certificate.
    let (mut params, key) = openssl_like("127.0.0.1");
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(2021, 3, 4);
    let cert = params.self_signed(&key).unwrap();
    let front = https_front(h.sim.addr, server(vec![cert.der().clone()], &key)).await;
    let url = format!("https://127.0.0.1:{}", front.port());
    let pem = h.file("appliance.pem", cert.pem());
    let text = refused(&h, &url, &["--ca-cert", pem.to_str().unwrap()]).await;
    assert!(
        text.contains("expired") && text.contains("2021-03-04"),
        "{text}"
    );
}

#[tokio::test]
async fn a_chain_file_with_the_intermediate_and_the_root_is_trusted() {
    let h = harness().await;
    let root =
        CertifiedIssuer::self_signed(ca_params("credbulk root CA"), KeyPair::generate().unwrap())
            .unwrap();
    let intermediate = CertifiedIssuer::signed_by(
        ca_params("credbulk issuing CA"),
        KeyPair::generate().unwrap(),
        &root,
    )
    .unwrap();
    let (cert, key) = leaf(&["127.0.0.1"], &intermediate);
    // The appliance sends only its own certificate, as many do.
    let front = https_front(h.sim.addr, server(vec![cert.der().clone()], &key)).await;
    let url = format!("https://127.0.0.1:{}", front.port());

    let text = refused(&h, &url, &[]).await;
    assert!(text.contains("credbulk issuing CA"), "{text}");

    let chain = h.file("chain.pem", format!("{}{}", intermediate.pem(), root.pem()));
    let trusted = run(&h, &url, &["check", "--ca-cert", chain.to_str().unwrap()]).await;
    assert_eq!(exit_code(&trusted), 0, "{trusted:?}");
}

fn sha256_hex(der: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[tokio::test]
async fn an_accepted_pinned_certificate_logs_no_verification_error() {
    let h = harness().await;
    let (params, key) = openssl_like("127.0.0.1");
    let cert = params.self_signed(&key).unwrap();
    let front = https_front(h.sim.addr, server(vec![cert.der().clone()], &key)).await;
    let url = format!("https://127.0.0.1:{}", front.port());
    let pem = h.file("appliance.pem", cert.pem());
    let secret = h.secret_file.clone();
    // The real binary, for its real log set-up (the verifier library logs through `log`).
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin!("credbulk"))
            .args(["check", "--no-config", "--url", &url, "--client-id", "demo"])
            .arg("--client-secret-file")
            .arg(&secret)
            .arg("--ca-cert")
            .arg(&pem)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("CaUsedAsEndEntity") && !stderr.contains("ERROR"),
        "an accepted certificate is not reported as a failure: {stderr}"
    );
}
