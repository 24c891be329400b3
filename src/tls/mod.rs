//! TLS to the appliance as operators have it: the rustls client configuration reqwest is given
//! (system trust store plus `--ca-cert`, the pinned self-signed exception, `--insecure`), the
//! certificate the server presented (for `check`), and a certificate's facts. Knows nothing of
//! HTTP or the API; `http` builds the client from it.

mod cert;
mod verify;

use std::sync::Arc;

use rustls::pki_types::CertificateDer;

pub use cert::{CertInfo, date, fingerprint};
pub use verify::{CertProblem, PeerCert, Verifier};

use crate::error::Error;

/// A rustls client configuration trusting the system's roots plus `ca_certs` (or nothing is
/// checked when `insecure`), recording each presented certificate in `seen`.
pub fn client_config(
    ca_certs: &[CertificateDer<'static>],
    insecure: bool,
    seen: PeerCert,
) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let setup = |e: &dyn std::fmt::Display| {
        Error::usage(
            format!("cannot set up HTTPS ({e})"),
            "check the system's CA certificates and --ca-cert",
        )
    };
    let inner: Option<Arc<dyn rustls::client::danger::ServerCertVerifier>> = if insecure {
        None
    } else if ca_certs.is_empty() {
        Some(Arc::new(
            rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
                .map_err(|e| setup(&e))?,
        ))
    } else {
        Some(Arc::new(
            rustls_platform_verifier::Verifier::new_with_extra_roots(
                ca_certs.iter().cloned(),
                Arc::clone(&provider),
            )
            .map_err(|e| setup(&e))?,
        ))
    };
    let verifier = Verifier::new(inner, Arc::clone(&provider), ca_certs.to_vec(), seen);
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(&e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
