//! `credbulk check`: shows the resolved connection settings (secret redacted) and fetches one
//! token to prove the credentials work. Changes nothing.

use std::fmt::Write as _;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{AuthError, TokenCache};
use crate::config::Connection;
use crate::error::{AbortReason, Error};
use crate::pacer::Pacer;

/// The result of a successful check.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub url: String,
    pub client_id: String,
    pub token_url: String,
    pub credential_url: String,
    pub token_lifetime: Duration,
}

/// Fetches one token with `connection`.
pub async fn check(connection: &Connection) -> Result<CheckReport, Error> {
    let http = crate::http::client(connection, 1)?;
    let pacer = Arc::new(Pacer::new(10.0, NonZeroU32::MIN));
    let tokens = TokenCache::new(
        http,
        connection,
        pacer,
        3,
        tokio_util::sync::CancellationToken::new(),
    );
    let token = tokens.get().await.map_err(|e| match e {
        AuthError::Rejected { status, message } => {
            Error::Aborted(AbortReason::ClientRejected { status, message })
        }
        other => Error::Aborted(AbortReason::TokenUnavailable(other.to_string())),
    })?;
    Ok(CheckReport {
        url: connection.base.to_string(),
        client_id: connection.client_id.clone(),
        token_url: connection.token_url(),
        credential_url: format!("{}{{id}}", connection.credential_url()),
        token_lifetime: token.lifetime,
    })
}

impl CheckReport {
    /// The report as printed on stdout.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "url             {}", self.url);
        let _ = writeln!(out, "client id       {}", self.client_id);
        let _ = writeln!(out, "client secret   (redacted)");
        let _ = writeln!(out, "token endpoint  {}", self.token_url);
        let _ = writeln!(out, "credential API  {}", self.credential_url);
        let _ = writeln!(
            out,
            "token           fetched; lifetime {} s",
            self.token_lifetime.as_secs()
        );
        out
    }
}
