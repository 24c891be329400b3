//! Checks of single values, each with an error that says how to fix it: URLs (and plain http
//! to anything but loopback), paths, durations, the secret, the private CA. Also the derived
//! strings a run prints: the default report path and the command that resumes it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use url::{Host, Url};

use crate::error::Error;
use crate::input::InputSource;
use crate::secret::Secret;

use super::SECRET_ENV;

/// Parses the appliance URL. Plain `http://` is refused unless the host is loopback or
/// `allow_http`: the secret and every token would otherwise cross the network in clear.
/// `name` is where the value came from (`--url`, `SENHASEGURA_URL`, or the config file's key),
/// so the operator fixes the right place.
pub fn base_url(name: &str, url: &str, allow_http: bool) -> Result<Url, Error> {
    let hint = "give the appliance's base URL, e.g. https://pam.example.com";
    let base = Url::parse(url.trim())
        .map_err(|e| Error::usage(format!("{name} {url:?} is not a URL ({e})"), hint))?;
    if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
        return Err(Error::usage(
            format!("{name} {url:?} must be an http(s) URL with a host"),
            hint,
        ));
    }
    if !base.username().is_empty()
        || base.password().is_some()
        || base.query().is_some()
        || base.fragment().is_some()
    {
        // Credentials in the URL would be printed wherever the URL is; a query or fragment
        // would swallow the paths appended to it, the token endpoint's included.
        return Err(Error::usage(
            format!("{name} must not carry a user, password, query or fragment"),
            "give only scheme, host, port and path; the secret goes in SENHASEGURA_CLIENT_SECRET",
        ));
    }
    if base.scheme() == "http" && !allow_http && !is_loopback(base.host().as_ref()) {
        return Err(Error::usage(
            format!(
                "refusing plain http:// to {} (from {name}): the client secret and tokens would cross the network unencrypted",
                base.host_str().unwrap_or_default()
            ),
            "use https://, or pass --allow-http if this network is trusted",
        ));
    }
    Ok(base)
}

/// 127.0.0.0/8, `::1` and `localhost`.
fn is_loopback(host: Option<&Host<&str>>) -> bool {
    match host {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(*ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(*ip).is_loopback(),
        None => false,
    }
}

/// A file a run will write at its end: its folder must exist now, not after a long run.
pub fn output_path(name: &str, path: PathBuf) -> Result<PathBuf, Error> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    if folder.is_dir() {
        Ok(path)
    } else {
        Err(Error::usage(
            format!(
                "{name} {}: the folder {} does not exist",
                path.display(),
                folder.display()
            ),
            "create the folder or choose another path",
        ))
    }
}

/// Reads the private CA's certificates; a file with none in it is an error, not a no-op.
pub fn ca_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let hint = "give a PEM file holding the CA certificate (-----BEGIN CERTIFICATE-----)";
    let pem = std::fs::read(path).map_err(|e| {
        Error::usage(
            format!("cannot read --ca-cert {} ({e})", path.display()),
            hint,
        )
    })?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::usage(
                format!(
                    "--ca-cert {} is not a PEM certificate ({e})",
                    path.display()
                ),
                hint,
            )
        })?;
    if certs.is_empty() {
        return Err(Error::usage(
            format!("--ca-cert {} holds no certificate", path.display()),
            hint,
        ));
    }
    Ok(certs)
}

/// Reads the secret from `file` (a flag's or the config file's) or takes the variable's value;
/// `name` says which, for the error.
pub fn secret(name: &str, file: Option<&Path>, env_value: Option<String>) -> Result<Secret, Error> {
    let value = if let Some(path) = file {
        std::fs::read_to_string(path).map_err(|e| {
            Error::usage(
                format!("cannot read {name} {} ({e})", path.display()),
                "point it at a readable file holding only the secret",
            )
        })?
    } else {
        env_value.ok_or_else(|| {
            Error::usage(
                "no client secret",
                format!("set {SECRET_ENV} or pass --client-secret-file PATH"),
            )
        })?
    };
    let value = value.trim_end_matches(['\r', '\n']);
    if value.trim().is_empty() {
        return Err(Error::usage(
            format!("the client secret from {name} is empty"),
            format!("set {SECRET_ENV} or pass --client-secret-file PATH"),
        ));
    }
    Ok(Secret::new(value))
}

/// A duration flag in seconds, above 0 and at most a day.
pub fn seconds(flag: &str, value: f64) -> Result<Duration, Error> {
    if value.is_finite() && value > 0.0 && value <= 86_400.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(Error::usage(
            format!("{flag} {value} is out of range"),
            format!("give {flag} in seconds, above 0"),
        ))
    }
}

/// An absolute URL path without a trailing slash.
pub fn path_flag(flag: &str, value: &str) -> Result<String, Error> {
    let trimmed = value.trim().trim_end_matches('/');
    if !trimmed.starts_with('/') || trimmed.contains(['?', '#', ' ']) {
        return Err(Error::usage(
            format!("{flag} {value:?} is not a path"),
            format!("give {flag} as an absolute path, e.g. /api"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// `<input stem>.<operation>.report.csv` beside the input; `credbulk-stdin.<operation>.report.csv`
/// for stdin. The operation is in the name so that `enable ids.csv` and `disable ids.csv` never
/// share a report (a report belongs to one operation), and every default matches `*.report.csv`.
#[must_use]
pub fn default_report_path(input: &InputSource, operation: &str) -> PathBuf {
    match input {
        InputSource::Path(path) => {
            let stem = path
                .file_stem()
                .map_or_else(|| "credbulk".into(), |s| s.to_string_lossy().into_owned());
            path.with_file_name(format!("{stem}.{operation}.report.csv"))
        }
        InputSource::Stdin | InputSource::Bytes(_) | InputSource::Owned { .. } => {
            PathBuf::from(format!("credbulk-stdin.{operation}.report.csv"))
        }
    }
}

/// Beside the report a rollback reads, in its format: `ids.enable.report.csv` →
/// `ids.enable.disable.report.csv`, `run.jsonl` → `run.disable.report.jsonl`. The whole stem is
/// kept so that the undoing never shares a file with the run it undoes nor with a plain
/// `disable ids.csv` (`ids.disable.report.csv`).
#[must_use]
pub fn rollback_report_path(from: &Path, operation: &str) -> PathBuf {
    let stem = from
        .file_stem()
        .map_or_else(|| "credbulk".into(), |s| s.to_string_lossy().into_owned());
    let stem = stem.strip_suffix(".report").unwrap_or(&stem);
    let ext = match crate::report::ReportFormat::for_path(from) {
        crate::report::ReportFormat::Jsonl => "jsonl",
        crate::report::ReportFormat::Csv => "csv",
    };
    from.with_file_name(format!("{stem}.{operation}.report.{ext}"))
}

/// The report's format from its name; a `.json` name is a usage error, never silently CSV.
pub fn report_format(report: &Path) -> Result<crate::report::ReportFormat, Error> {
    crate::report::ReportFormat::for_report_flag(report).map_err(|m| {
        Error::usage(
            m,
            "name a JSON report .jsonl (it is JSON lines), or give any other name for CSV",
        )
    })
}

/// The command line as typed, with `--resume` added if it was missing.
pub fn resume_command(args: impl Iterator<Item = String>) -> String {
    let mut words = quoted_words(args);
    if !words.iter().any(|w| w == "--resume") {
        words.push("--resume".to_owned());
    }
    words.retain(|w| w != "--dry-run");
    words.join(" ")
}

/// The command line as typed, quoted for the platform's shell (it never holds a secret: there
/// is no flag for one).
pub fn command_line(args: impl Iterator<Item = String>) -> String {
    quoted_words(args).join(" ")
}

fn quoted_words(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut words: Vec<String> = args.map(|a| super::quote::for_shell(&a)).collect();
    if let Some(first) = words.first_mut() {
        "credbulk".clone_into(first);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_with_credentials_query_or_fragment_is_refused_without_echoing_it() {
        for bad in [
            "https://user:pw@pam.example.com",
            "https://pam.example.com/?x=1",
            "https://pam.example.com/#f",
        ] {
            let err = base_url("--url", bad, false).unwrap_err().to_string();
            assert!(
                err.contains("user, password, query or fragment"),
                "{bad}: {err}"
            );
            assert!(!err.contains("pw"), "{err}");
        }
    }

    #[test]
    fn plain_http_is_refused_except_to_loopback_or_with_allow_http() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://[::1]:80",
            "http://localhost:1",
            "https://pam.example.com",
        ] {
            assert!(base_url("--url", ok, false).is_ok(), "{ok}");
        }
        let err = base_url("--url", "http://pam.example.com", false).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::USAGE);
        assert!(err.to_string().contains("--allow-http"), "{err}");
        assert!(base_url("--url", "http://10.0.0.5", false).is_err());
        assert!(base_url("--url", "http://pam.example.com", true).is_ok());
    }

    #[test]
    fn a_rollback_report_sits_beside_the_report_it_undoes() {
        assert_eq!(
            rollback_report_path(Path::new("/d/ids.report.csv"), "disable"),
            PathBuf::from("/d/ids.disable.report.csv")
        );
        assert_eq!(
            rollback_report_path(Path::new("run.jsonl"), "disable"),
            PathBuf::from("run.disable.report.jsonl")
        );
        assert_eq!(
            rollback_report_path(Path::new("/d/ids.enable.report.csv"), "disable"),
            PathBuf::from("/d/ids.enable.disable.report.csv")
        );
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = ca_certs(&path).unwrap_err();
        assert!(err.to_string().contains("--ca-cert"), "{err}");
        assert!(ca_certs(&dir.path().join("missing.pem")).is_err());
    }
}
