//! The server-certificate check: the platform's verifier (system trust store plus `--ca-cert`)
//! decides; on its refusal the certificate is read and the refusal is said plainly (untrusted
//! issuer with its name, host-name mismatch with both sides, expiry with the date). One
//! exception, what `curl --cacert` also accepts: a self-signed certificate marked `CA:TRUE`
//! (as `openssl req -x509` makes it) that is byte for byte one of the `--ca-cert`
//! certificates, within its validity period and made for the URL's host. Depends on `cert` only.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};

use super::cert::{CertInfo, date};
use crate::error::Problem;

/// The last end-entity certificate a server presented, for `check` to show.
#[derive(Debug, Clone, Default)]
pub struct PeerCert(Arc<Mutex<Option<Vec<u8>>>>);

impl PeerCert {
    fn set(&self, der: &[u8]) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(der.to_vec());
    }

    /// The certificate last presented, read; `None` before any TLS handshake.
    #[must_use]
    pub fn get(&self) -> Option<CertInfo> {
        let der = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()?;
        CertInfo::parse(&der)
    }
}

/// The refusal of a certificate, carried through rustls and reqwest to `http::diagnose`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", .0.message)]
pub struct CertProblem(pub Problem);

/// Verifies the appliance's certificate (see the module doc).
#[derive(Debug)]
pub struct Verifier {
    /// `None` with `--insecure`: every certificate is accepted (signatures are still checked).
    inner: Option<Arc<dyn ServerCertVerifier>>,
    provider: Arc<CryptoProvider>,
    /// The `--ca-cert` certificates, for the self-signed `CA:TRUE` exception.
    pinned: Vec<CertificateDer<'static>>,
    seen: PeerCert,
}

impl Verifier {
    /// `inner` decides; `pinned` are the `--ca-cert` certificates.
    #[must_use]
    pub fn new(
        inner: Option<Arc<dyn ServerCertVerifier>>,
        provider: Arc<CryptoProvider>,
        pinned: Vec<CertificateDer<'static>>,
        seen: PeerCert,
    ) -> Self {
        Self {
            inner,
            provider,
            pinned,
            seen,
        }
    }

    /// After `inner` refused with `error`: accept the pinned self-signed case, else explain.
    fn second_look(
        &self,
        error: CertificateError,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        host: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(info) = CertInfo::parse(end_entity) else {
            return Err(refuse(Problem::new(
                format!("the server's TLS certificate cannot be read ({error:?})"),
                "check that --url points at the appliance",
            )));
        };
        let host_text = host.to_str();
        let ca_used_as_leaf = matches!(&error, CertificateError::Other(OtherError(e))
            if matches!(e.downcast_ref::<webpki::Error>(), Some(webpki::Error::CaUsedAsEndEntity)));
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        if ca_used_as_leaf
            && self
                .pinned
                .iter()
                .any(|p| p.as_ref() == end_entity.as_ref())
        {
            if now > info.not_after {
                return Err(refuse(expired(&info)));
            }
            if now < info.not_before {
                return Err(refuse(not_yet(&info)));
            }
            if !info.is_for(host) {
                return Err(refuse(mismatch(&info, &host_text)));
            }
            return Ok(ServerCertVerified::assertion());
        }
        let problem = match error {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => expired(&info),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                not_yet(&info)
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                mismatch(&info, &host_text)
            }
            _ if ca_used_as_leaf || info.is_self_signed() => Problem::new(
                format!(
                    "the server's self-signed certificate `{}` is not trusted (SHA-256 {})",
                    info.subject, info.fingerprint
                ),
                "compare the fingerprint with the appliance's console, then pass --ca-cert with that certificate (PEM)",
            ),
            CertificateError::UnknownIssuer => {
                // The top of what the server sent names the issuer nobody vouched for.
                let top = intermediates
                    .last()
                    .and_then(|c| CertInfo::parse(c))
                    .map_or_else(|| info.issuer.clone(), |c| c.issuer);
                Problem::new(
                    format!(
                        "the server's certificate `{}` is issued by `{top}`, which is not trusted",
                        info.subject
                    ),
                    format!(
                        "pass --ca-cert with the PEM certificate of `{top}` (or fix the system trust store)"
                    ),
                )
            }
            other => Problem::new(
                format!(
                    "the server's certificate `{}` is not trusted ({other:?})",
                    info.subject
                ),
                "check the appliance's certificate and --ca-cert",
            ),
        };
        Err(refuse(problem))
    }
}

fn refuse(problem: Problem) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(CertProblem(
        problem,
    )))))
}

fn expired(info: &CertInfo) -> Problem {
    Problem::new(
        format!(
            "the server's certificate `{}` expired on {}",
            info.subject,
            date(info.not_after)
        ),
        "renew the appliance's certificate (and check this machine's clock)",
    )
}

fn not_yet(info: &CertInfo) -> Problem {
    Problem::new(
        format!(
            "the server's certificate `{}` is not valid before {}",
            info.subject,
            date(info.not_before)
        ),
        "check this machine's clock and the appliance's",
    )
}

fn mismatch(info: &CertInfo, host: &str) -> Problem {
    Problem::new(
        format!(
            "the server's certificate is for {}, not for the URL's host {host}",
            info.names_text()
        ),
        format!(
            "use one of the certificate's names in --url, or have the certificate reissued for {host}"
        ),
    )
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.seen.set(end_entity);
        let Some(inner) = &self.inner else {
            return Ok(ServerCertVerified::assertion());
        };
        match inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(error)) => {
                self.second_look(error, end_entity, intermediates, server_name, now)
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match &self.inner {
            Some(inner) => inner.verify_tls12_signature(message, cert, dss),
            None => rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            ),
        }
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match &self.inner {
            Some(inner) => inner.verify_tls13_signature(message, cert, dss),
            None => rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            ),
        }
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        match &self.inner {
            Some(inner) => inner.supported_verify_schemes(),
            None => self
                .provider
                .signature_verification_algorithms
                .supported_schemes(),
        }
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.inner.as_ref().and_then(|i| i.root_hint_subjects())
    }
}
