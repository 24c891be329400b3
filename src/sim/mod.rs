//! An in-process HTTP simulator of the senhasegura PAM A2A API (api-contract.md): the `OAuth2`
//! token endpoint, `PUT`/`DELETE {prefix}/pam/credential/{id}` with the documented envelopes and
//! codes, Kong-shaped gateway errors, and seeded fault injection. Tests, benchmarks and
//! `credbulk sim` / `credbulk demo` run against it.
//!
//! Depends on nothing in the crate but `crate::wire`; the client code never imports it.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use credbulk::sim::{self, Credentials, SimConfig};
//! let sim = sim::spawn(SimConfig {
//!     credentials: Credentials::generate(100),
//!     ..SimConfig::default()
//! })
//! .await?;
//! println!("{}", sim.url());
//! let stats = sim.stats();
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod api;
pub mod cli;
mod codec;
mod config;
mod credentials;
mod error;
mod gateway;
mod responses;
mod server;
mod state;
mod stats;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests_faults;
#[cfg(test)]
mod tests_gateway;
#[cfg(test)]
mod tests_http;
mod timeline;
mod token;

use std::net::SocketAddr;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use cli::{SimArgs, run};
pub use config::{ExpiredTokenAnswer, Faults, SimConfig};
pub use credentials::{Credential, Credentials, Kind};
pub use error::SimError;
pub use gateway::{Gateway, NGINX_DEFAULT_BURST};
pub use server::serve;
pub use state::SimState;
pub use stats::{Arrivals, SimStats};
pub use timeline::{Served, Shares, Timeline};

/// Binds `config.listen` and serves in a background task.
pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let state = SimState::new(config);
    let (stop, stopped) = oneshot::channel::<()>();
    // A dropped handle also stops the server: the receiver then resolves with an error.
    let task = tokio::spawn(serve(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    Ok(SimHandle {
        addr,
        state,
        stop,
        task,
    })
}

/// A simulator running in the background. Dropping it stops the server too (without waiting).
#[derive(Debug)]
pub struct SimHandle {
    /// The bound address (the real port when `listen` asked for port 0).
    pub addr: SocketAddr,
    state: SimState,
    /// Sending (or dropping) this starts the graceful shutdown.
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl SimHandle {
    /// `http://ADDR`, the base URL clients use.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The shared state, for code that wants more than the methods below.
    #[must_use]
    pub fn state(&self) -> &SimState {
        &self.state
    }

    /// A snapshot of the counters.
    #[must_use]
    pub fn stats(&self) -> SimStats {
        self.state.stats()
    }

    /// Every access token issued so far, oldest first.
    #[must_use]
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.issued_tokens()
    }

    /// The API requests the gateway let through, with arrival, id, status and server-side
    /// latency (empty unless `SimConfig::record_timeline` is set).
    #[must_use]
    pub fn timeline(&self) -> Timeline {
        self.state.timeline()
    }

    /// The current state of one item.
    #[must_use]
    pub fn credential(&self, id: u64) -> Option<Credential> {
        self.state.credential(id)
    }

    /// When the first, first API and latest requests arrived (for benchmarks).
    #[must_use]
    pub fn arrivals(&self) -> Arrivals {
        self.state.arrivals()
    }

    /// The token endpoint refuses the old secret and accepts `new_secret` from now on.
    pub fn rotate_secret(&self, new_secret: &str) {
        self.state.rotate_secret(new_secret);
    }

    /// While set, the token endpoint answers Kong 503.
    pub fn set_token_endpoint_down(&self, down: bool) {
        self.state.set_token_endpoint_down(down);
    }

    /// While set, every API request answers Kong 503 (no `Retry-After`).
    pub fn set_outage(&self, down: bool) {
        self.state.set_outage(down);
    }

    /// While set, every PUT/DELETE answers 400 code 1039.
    pub fn set_read_only(&self, on: bool) {
        self.state.set_read_only(on);
    }

    /// While set, every PUT/DELETE answers the 500 `Unexpected error.` envelope (the appliance
    /// answering and failing, which unlike `set_outage` is not an outage).
    pub fn set_failing(&self, on: bool) {
        self.state.set_failing(on);
    }

    /// Stops accepting, lets in-flight requests finish (hung ones are cut short), and waits for
    /// the server task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "simulator stopped with an error"),
            Err(error) => tracing::warn!(%error, "simulator task failed"),
        }
    }
}
