//! Errors of the simulator as a program: bad flags, an unreadable or malformed credentials CSV,
//! an address that cannot be bound. Messages are lower-case fragments that end with a hint.
//! Request handling never errors: every request gets an answer.

use std::net::SocketAddr;
use std::path::PathBuf;

/// What can stop the simulator from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The credentials CSV could not be opened or read.
    #[error(
        "cannot read credentials file {path}: {source} (hint: check the path, or use --generate N)"
    )]
    ReadCredentials {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The credentials CSV is malformed.
    #[error(
        "credentials csv, line {line}: {reason} (hint: the header must be id,kind,active,accessible; kind is credential, device or other; active and accessible are true or false)"
    )]
    CredentialsCsv { line: u64, reason: String },
    /// A flag has a value the simulator cannot use.
    #[error("invalid {flag} value {value:?}: {reason} (hint: {hint})")]
    InvalidOption {
        flag: &'static str,
        value: String,
        reason: &'static str,
        hint: &'static str,
    },
    /// The listen address could not be bound.
    #[error(
        "cannot listen on {addr}: {source} (hint: pick another --listen address, or 127.0.0.1:0 for a free port)"
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// Writing the `listening on` line, waiting for Ctrl-C or serving failed.
    #[error(
        "simulator i/o failed: {0} (hint: check that stdout is writable and the port is still free)"
    )]
    Io(#[source] std::io::Error),
}
