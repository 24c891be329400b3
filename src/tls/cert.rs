//! What an operator needs to know about one X.509 certificate: subject, issuer, validity, the
//! names it is for, whether it is self-signed or a CA, and its SHA-256 fingerprint (to compare
//! with the appliance's console). Pure parsing with x509-parser; no I/O, no TLS policy.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use rustls::pki_types::ServerName;
use sha2::Digest as _;
use x509_parser::extensions::GeneralName;

/// One certificate, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// Seconds since the Unix epoch.
    pub not_before: i64,
    /// Seconds since the Unix epoch.
    pub not_after: i64,
    /// DNS names and IP addresses of subjectAltName; the common names when there is no
    /// subjectAltName at all (as `openssl req -x509 -subj /CN=host` makes them).
    pub names: Vec<String>,
    /// Whether the names came from the common name (no subjectAltName).
    pub names_from_cn: bool,
    pub is_ca: bool,
    /// `AA:BB:…`, upper-case, over the DER bytes.
    pub fingerprint: String,
}

impl CertInfo {
    /// Reads a DER certificate; `None` if it does not parse.
    #[must_use]
    pub fn parse(der: &[u8]) -> Option<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let mut names = Vec::new();
        let san = cert.subject_alternative_name().ok().flatten();
        if let Some(san) = &san {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(dns) => names.push((*dns).to_owned()),
                    GeneralName::IPAddress(bytes) => {
                        if let Some(ip) = ip_from_bytes(bytes) {
                            names.push(ip.to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        let names_from_cn = san.is_none();
        if names_from_cn {
            names.extend(
                cert.subject()
                    .iter_common_name()
                    .filter_map(|cn| cn.as_str().ok())
                    .map(str::to_owned),
            );
        }
        let is_ca = cert
            .basic_constraints()
            .ok()
            .flatten()
            .is_some_and(|bc| bc.value.ca);
        Some(Self {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            names,
            names_from_cn,
            is_ca,
            fingerprint: fingerprint(der),
        })
    }

    /// Issued by itself.
    #[must_use]
    pub fn is_self_signed(&self) -> bool {
        self.subject == self.issuer
    }

    /// Whether `host` is one of the certificate's names (a `*.` wildcard covers one label).
    #[must_use]
    pub fn is_for(&self, host: &ServerName<'_>) -> bool {
        match host {
            ServerName::DnsName(dns) => {
                let host = dns.as_ref().trim_end_matches('.');
                self.names.iter().any(|name| dns_matches(name, host))
            }
            ServerName::IpAddress(ip) => {
                let ip = IpAddr::from(*ip);
                self.names
                    .iter()
                    .any(|name| name.parse::<IpAddr>().is_ok_and(|n| n == ip))
            }
            _ => false,
        }
    }

    /// The names, comma-separated, or "no names".
    #[must_use]
    pub fn names_text(&self) -> String {
        if self.names.is_empty() {
            "no host names".to_owned()
        } else {
            self.names.join(", ")
        }
    }
}

/// RFC 3339 UTC date of a Unix timestamp (clamped to the epoch).
#[must_use]
pub fn date(unix: i64) -> String {
    let secs = u64::try_from(unix).unwrap_or(0);
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .to_string()
}

/// SHA-256 of the DER bytes as `AA:BB:…`, as `openssl x509 -fingerprint -sha256` prints it.
#[must_use]
pub fn fingerprint(der: &[u8]) -> String {
    let digest = sha2::Sha256::digest(der);
    let mut out = String::with_capacity(digest.len() * 3);
    for (i, byte) in digest.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{byte:02X}");
    }
    out
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

fn dns_matches(name: &str, host: &str) -> bool {
    let name = name.trim_end_matches('.');
    if let Some(suffix) = name.strip_prefix("*.") {
        return host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(suffix));
    }
    name.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

    fn server(name: &str) -> ServerName<'static> {
        ServerName::try_from(name.to_owned()).unwrap()
    }

    #[test]
    fn an_openssl_style_certificate_is_for_its_common_name() {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "pam.example.com");
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let info = CertInfo::parse(cert.der()).unwrap();
        assert!(info.is_ca && info.is_self_signed() && info.names_from_cn);
        assert_eq!(info.names, vec!["pam.example.com"]);
        assert!(info.is_for(&server("PAM.example.com")));
        assert!(!info.is_for(&server("other.example.com")));
        assert!(info.subject.contains("pam.example.com"));
        assert_eq!(info.fingerprint.len(), 32 * 3 - 1);
    }

    #[test]
    fn alt_names_win_over_the_common_name_and_wildcards_cover_one_label() {
        let mut params =
            CertificateParams::new(vec!["*.example.com".to_owned(), "10.0.0.5".to_owned()])
                .unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "cn.example.org");
        let key = KeyPair::generate().unwrap();
        let info = CertInfo::parse(params.self_signed(&key).unwrap().der()).unwrap();
        assert!(!info.is_ca && !info.names_from_cn);
        assert!(info.is_for(&server("pam.example.com")));
        assert!(!info.is_for(&server("a.pam.example.com")));
        assert!(!info.is_for(&server("example.com")));
        assert!(
            !info.is_for(&server("cn.example.org")),
            "CN ignored when SANs exist"
        );
        assert!(info.is_for(&server("10.0.0.5")));
        assert!(!info.is_for(&server("10.0.0.6")));
    }

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(date(1_614_816_000), "2021-03-04T00:00:00Z");
        assert_eq!(date(-5), "1970-01-01T00:00:00Z");
    }
}
