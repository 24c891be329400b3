//! `credbulk check`: the preflight of a runbook or a new crontab. Shows every effective setting
//! and where it came from (flag, env, file, default; the secret redacted), then fetches one
//! token to prove the URL, the TLS trust and the credentials work. Changes nothing. Exits 0,
//! 2 on a configuration error (before any request), 3 when the token is refused.

use std::fmt::Write as _;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{AuthError, TokenCache};
use crate::config::{CheckConfig, Setting};
use crate::error::{AbortReason, Error};
use crate::pacer::Pacer;

/// Token fetch attempts: enough to ride out a blip, few enough to answer quickly.
const ATTEMPTS: u32 = 3;

/// The result of a successful check.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub settings: Vec<Setting>,
    pub config_file: Option<PathBuf>,
    pub token_url: String,
    pub credential_url: String,
    pub token_lifetime: Duration,
    pub insecure: bool,
}

/// Fetches one token with the resolved connection.
/// `cancel` is the command's interrupt: a signal stops a hanging fetch.
pub async fn check(
    config: CheckConfig,
    cancel: tokio_util::sync::CancellationToken,
) -> Result<CheckReport, Error> {
    let connection = &config.connection;
    let http = crate::http::client(connection, 1)?;
    let pacer = Arc::new(Pacer::new(config.tuning.rate, NonZeroU32::MIN));
    let tokens = TokenCache::new(http, connection, pacer, ATTEMPTS, cancel);
    let token = tokens.get().await.map_err(|e| match e {
        AuthError::Rejected { status, message } => {
            Error::Aborted(AbortReason::ClientRejected { status, message })
        }
        // A signal during the fetch: the operator stopped a command that changes nothing.
        AuthError::Cancelled => Error::Interrupted("interrupted"),
        other @ AuthError::Unavailable { .. } => {
            Error::Aborted(AbortReason::TokenUnavailable(other.to_string()))
        }
    })?;
    Ok(CheckReport {
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
        let _ = writeln!(
            out,
            "token              fetched; lifetime {} s",
            self.token_lifetime.as_secs()
        );
        let _ = writeln!(out, "ok: the credentials work; nothing was changed");
        out
    }
}
