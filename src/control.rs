//! How a run is stopped: one cancellation token that every waiting task watches, and the first
//! abort reason recorded. Interrupts cancel without a reason; aborts record theirs first.
//! Also carries whether ids are waiting for an unreachable appliance, for the progress bar.
//! A leaf: shared by the pipeline, the report writer and the signal handler.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;
use tracing::error;

use crate::error::AbortReason;

/// Stop switch of one run.
#[derive(Debug, Default)]
pub struct Control {
    stop: CancellationToken,
    abort: OnceLock<AbortReason>,
    /// Set while the appliance is unreachable and ids wait for it (the progress bar shows it).
    waiting: Arc<AtomicBool>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Every record was decided.
    Finished,
    /// Stopped early on a failure that would repeat for every id.
    Aborted(AbortReason),
    /// Stopped by a signal; in-flight ids finished.
    Interrupted,
}

impl Control {
    /// A fresh, running control.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The token every waiting task selects on.
    #[must_use]
    pub fn token(&self) -> &CancellationToken {
        &self.stop
    }

    /// Stops the run for a reason that would fail every id. The first reason wins.
    pub fn abort(&self, reason: AbortReason) {
        let text = reason.to_string();
        if self.abort.set(reason).is_ok() {
            error!(reason = %text, "aborting the run");
        }
        self.stop.cancel();
    }

    /// Stops admitting ids on a signal; those in flight finish.
    pub fn interrupt(&self) {
        self.stop.cancel();
    }

    /// The flag the pipeline sets while the appliance is unreachable, for whoever shows it.
    #[must_use]
    pub fn waiting_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.waiting)
    }

    /// Whether ids are waiting for an unreachable appliance now.
    #[must_use]
    pub fn is_waiting(&self) -> bool {
        self.waiting.load(Ordering::Relaxed)
    }

    /// How the run ended, once its tasks are done.
    #[must_use]
    pub fn ending(&self) -> Ending {
        match self.abort.get() {
            Some(reason) => Ending::Aborted(reason.clone()),
            None if self.stop.is_cancelled() => Ending::Interrupted,
            None => Ending::Finished,
        }
    }
}
