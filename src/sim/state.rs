//! The simulator's shared state: fixed settings, the switches tests flip while it runs, and one
//! mutex around everything a request changes (credentials, tokens, counters, the fault RNG).
//! Critical sections are a few map operations long, so one lock serves 100k requests at
//! concurrency 64 without being the bottleneck. Nothing in here blocks or awaits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::SimConfig;
use super::credentials::{Credential, Credentials};
use super::gateway::Limiter;
use super::stats::{Arrivals, Recorder, SimStats};
use super::timeline::Timeline;

/// A running simulator's state; cheap to clone (one `Arc`). Build it with [`SimState::new`] and
/// hand it to [`super::serve`], or let [`super::spawn`] do both.
#[derive(Clone)]
pub struct SimState {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    /// Settings that never change while running (its `credentials` field is left empty: the
    /// live ones are in `core`).
    pub(crate) config: SimConfig,
    /// Every PUT/DELETE answers 1039 while set.
    pub(crate) read_only: AtomicBool,
    /// Every API request answers Kong 503 while set.
    pub(crate) outage: AtomicBool,
    /// While set, every API request that passed auth answers the 500 `Unexpected error.`
    /// envelope: the appliance itself answering and failing, not unreachable.
    pub(crate) failing: AtomicBool,
    /// The token endpoint answers Kong 503 while set.
    pub(crate) token_down: AtomicBool,
    /// Cancelled when the server shuts down, so hung requests stop hanging.
    pub(crate) stopping: CancellationToken,
    /// When the state was built: time zero of the timeline and of the gateway's clock.
    pub(crate) epoch: Instant,
    core: Mutex<Core>,
}

/// Everything a request may change, behind one lock.
pub(crate) struct Core {
    pub(crate) credentials: Credentials,
    /// The secret the token endpoint accepts now.
    pub(crate) secret: String,
    /// Issued token → when it stops being valid.
    pub(crate) tokens: HashMap<String, Instant>,
    /// Every token ever issued, in order, for tests that grep outputs for them.
    pub(crate) issued: Vec<String>,
    pub(crate) recorder: Recorder,
    /// The gateway's bucket, window or queue.
    pub(crate) gateway: Limiter,
    /// Seeded RNG for faults and jitter.
    pub(crate) rng: StdRng,
}

/// Prints no token and no secret: the state holds both.
impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimState")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl SimState {
    /// Builds the state from a configuration (the credentials move into the live state).
    #[must_use]
    pub fn new(mut config: SimConfig) -> Self {
        let credentials = std::mem::take(&mut config.credentials);
        let epoch = Instant::now();
        let mut recorder = Recorder::default();
        recorder.timeline = config.record_timeline.then(Timeline::default);
        let core = Core {
            credentials,
            secret: config.client_secret.clone(),
            tokens: HashMap::new(),
            issued: Vec::new(),
            recorder,
            gateway: Limiter::new(config.effective_gateway(), epoch),
            rng: StdRng::seed_from_u64(config.seed),
        };
        Self {
            shared: Arc::new(Shared {
                read_only: AtomicBool::new(config.read_only),
                outage: AtomicBool::new(false),
                failing: AtomicBool::new(false),
                token_down: AtomicBool::new(false),
                stopping: CancellationToken::new(),
                epoch,
                core: Mutex::new(core),
                config,
            }),
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    pub(crate) fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// Locks the mutable state. A panic elsewhere cannot poison it for good: counters stay
    /// usable, which is all a test double needs.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Core> {
        self.shared
            .core
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A snapshot of the counters.
    #[must_use]
    pub fn stats(&self) -> SimStats {
        self.lock().recorder.stats.clone()
    }

    /// Every access token issued so far, oldest first.
    #[must_use]
    pub fn issued_tokens(&self) -> Vec<String> {
        self.lock().issued.clone()
    }

    /// When the first, first API and latest requests arrived.
    #[must_use]
    pub fn arrivals(&self) -> Arrivals {
        self.lock().recorder.arrivals
    }

    /// The API requests served so far (empty unless `SimConfig::record_timeline` is set).
    #[must_use]
    pub fn timeline(&self) -> Timeline {
        self.lock().recorder.timeline.clone().unwrap_or_default()
    }

    /// The current state of one item.
    #[must_use]
    pub fn credential(&self, id: u64) -> Option<Credential> {
        self.lock().credentials.get(id)
    }

    /// The token endpoint accepts `new_secret` from now on and refuses the old one. Tokens
    /// already issued stay valid.
    pub fn rotate_secret(&self, new_secret: &str) {
        new_secret.clone_into(&mut self.lock().secret);
    }

    /// While set, the token endpoint answers Kong 503.
    pub fn set_token_endpoint_down(&self, down: bool) {
        self.shared.token_down.store(down, Ordering::Relaxed);
    }

    /// While set, every API request answers Kong 503 (no `Retry-After`).
    pub fn set_outage(&self, down: bool) {
        self.shared.outage.store(down, Ordering::Relaxed);
    }

    /// While set, every PUT/DELETE answers 400 code 1039.
    pub fn set_read_only(&self, on: bool) {
        self.shared.read_only.store(on, Ordering::Relaxed);
    }

    /// While set, every PUT/DELETE answers the 500 `Unexpected error.` envelope.
    pub fn set_failing(&self, on: bool) {
        self.shared.failing.store(on, Ordering::Relaxed);
    }

    /// Counts a request in and returns a guard that counts it out when dropped, even if the
    /// client goes away and the handler's future is dropped mid-way.
    /// `api` marks a PUT/DELETE on a credential path.
    pub(crate) fn arrive(&self, api: bool) -> InFlight {
        let mut core = self.lock();
        core.recorder.arrive(Instant::now(), api);
        core.recorder.stats.api_requests += u64::from(api);
        drop(core);
        InFlight(self.clone())
    }
}

/// A request being handled; see [`SimState::arrive`].
pub(crate) struct InFlight(SimState);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().recorder.depart();
    }
}
