//! `credbulk check`: the preflight of a runbook or a new crontab. Shows every effective setting
//! and where it came from (flag, env, file, default; the secret redacted) and the appliance's
//! certificate (subject, issuer, expiry, SHA-256), fetches one token to prove the URL, the TLS
//! trust and the credentials, then probes the credential API (`probe`) to prove the prefix, the
//! token's acceptance and write permission. Exits 0, 2 on a configuration error (before any
//! request), 3 when anything a run needs is refused, 1 if the probe id turned out to exist and
//! was changed.

use std::fmt::Write as _;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::probe::{ProbeResult, probe, token_error};
use crate::auth::TokenCache;
use crate::config::{CheckConfig, Setting};
use crate::error::{Error, exit};
use crate::model::Operation;
use crate::pacer::Pacer;
use crate::tls::{CertInfo, PeerCert, date};

/// The result of a successful check.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub settings: Vec<Setting>,
    pub config_file: Option<PathBuf>,
    pub token_url: String,
    pub credential_url: String,
    pub token_lifetime: Duration,
    pub insecure: bool,
    /// The certificate the appliance presented (`None` over plain http).
    pub certificate: Option<CertInfo>,
    /// What the credential API answered to the probe.
    pub probe: ProbeResult,
}

/// Fetches one token with the resolved connection.
/// `cancel` is the command's interrupt: a signal stops a hanging fetch.
pub async fn check(
    config: CheckConfig,
    cancel: tokio_util::sync::CancellationToken,
) -> Result<CheckReport, Error> {
    let connection = &config.connection;
    let seen = PeerCert::default();
    let http = crate::http::client_seeing(connection, 1, seen.clone())?;
    let pacer = Arc::new(Pacer::new(config.tuning.rate, NonZeroU32::MIN));
    let tokens = Arc::new(TokenCache::new(
        http.clone(),
        connection,
        pacer,
        config.tuning.max_attempts.get(),
        cancel,
    ));
    let token = tokens.get().await.map_err(token_error)?;
    let probe = probe(&http, connection, Operation::Enable, &tokens).await?;
    Ok(CheckReport {
        certificate: seen.get(),
        probe,
        token_url: connection.token_url(),
        credential_url: format!("{}{{id}}", connection.credential_url()),
        token_lifetime: token.lifetime,
        insecure: connection.tls.insecure,
        settings: config.settings,
        config_file: config.config_file,
    })
}

impl CheckReport {
    /// The report as printed on stdout.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        let file = self
            .config_file
            .as_ref()
            .map_or_else(|| "none".to_owned(), |p| p.display().to_string());
        let _ = writeln!(out, "config file        {file}");
        let width = self
            .settings
            .iter()
            .map(|s| s.value.chars().count())
            .max()
            .unwrap_or(0)
            .min(48);
        for s in &self.settings {
            let _ = writeln!(out, "{:<18} {:<width$}  ({})", s.key, s.value, s.source);
        }
        let _ = writeln!(out, "token endpoint     {}", self.token_url);
        let _ = writeln!(out, "credential API     {}", self.credential_url);
        if self.insecure {
            let _ = writeln!(
                out,
                "TLS                NOT VERIFIED (--insecure): fix the trust (--ca-cert) before real use"
            );
        }
        if let Some(cert) = &self.certificate {
            let _ = writeln!(out, "certificate        {}", cert.subject);
            let _ = writeln!(out, "  issuer           {}", cert.issuer);
            let _ = writeln!(out, "  for              {}", cert.names_text());
            let _ = writeln!(out, "  expires          {}", date(cert.not_after));
            let _ = writeln!(out, "  SHA-256          {}", cert.fingerprint);
        }
        let _ = writeln!(
            out,
            "token              fetched; lifetime {} s",
            self.token_lifetime.as_secs()
        );
        let _ = writeln!(out, "probe              {}", self.probe.line());
        if let Some(line) = self.probe.gateway_line() {
            let _ = writeln!(out, "gateway limit      {line}");
        }
        if self.probe.changed() {
            let _ = writeln!(
                out,
                "not ok: the probe id exists and was changed; see the probe line"
            );
        } else {
            let _ = writeln!(
                out,
                "ok: the credentials and the credential API work; nothing was changed"
            );
        }
        out
    }

    /// 0, or 1 when the probe changed an id that turned out to exist.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        if self.probe.changed() {
            exit::FAILURES
        } else {
            exit::OK
        }
    }
}
