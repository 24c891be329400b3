//! The engine of a run: admits ids from the input under a concurrency bound, sends each through
//! the rate limiter with retries and backoff, honours global pauses, aborts on failures that
//! would repeat for every id, and stops cleanly on cancellation (design.md §3–§4).
//! Generic over [`Backend`], so it is tested with a fake under paused tokio time.
//!
//! `--rate auto` (issue 10) is the [`pace`] controller: the worker feeds it every answer where
//! it records evidence for the outage rules, and it sets the pacer's rate (the period behind
//! the schedule mutex; the window check sized for `--rate-max + --burst`, so invariant 3 holds
//! at the ceiling). Token fetches keep going through `acquire_first` and count toward the pace;
//! `pause_for` stays the global pause. The outage rules need no change: a 429 never starts an
//! outage.

mod outage;
pub mod pace;
mod worker;

pub use crate::attempt::Backend;
pub use pace::{AutoRate, Pace};

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::backoff::Backoff;
use crate::control::Control;
use crate::error::AbortReason;
use crate::input::{InputError, InputItem};
use crate::metrics::Metrics;
use crate::model::{Operation, Outcome};
use crate::pacer::Pacer;

/// Knobs of the pipeline, validated by `config`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub operation: Operation,
    /// Ids in progress at most (each holds one slot through its retries).
    pub concurrency: usize,
    /// Attempts per id, the first included. Failures while the appliance is unreachable for
    /// every id do not count (design.md §10, "Outage by evidence").
    pub max_attempts: u32,
    pub backoff: Backoff,
    /// Abort when the appliance has been unreachable for this long while ids were waiting.
    pub max_outage: Duration,
    /// `--rate auto`: the controller that sets the pacer's rate from the answers; `None` for
    /// a fixed `--rate`.
    pub pace: Option<Arc<Pace>>,
}

/// Shared by every worker of one run.
struct Context<B> {
    backend: Arc<B>,
    pacer: Arc<Pacer>,
    settings: Settings,
    metrics: Arc<Metrics>,
    control: Arc<Control>,
    /// What the answers so far show about the appliance (for `--max-attempts` and the outage
    /// limit).
    watch: outage::Watch,
}

/// Input items taken from the channel at once. Taking a batch frees that many slots together,
/// so the reader thread blocked on a full channel is woken once per batch rather than per id.
const INPUT_BATCH: usize = 256;

/// Runs every input item to an outcome (or stops early), sending outcomes to `outcomes`.
/// Returns when every admitted id is decided or abandoned; how it ended is in `control`.
pub async fn run<B: Backend>(
    backend: Arc<B>,
    pacer: Arc<Pacer>,
    settings: Settings,
    metrics: Arc<Metrics>,
    control: Arc<Control>,
    input: mpsc::Receiver<Result<InputItem, InputError>>,
    outcomes: mpsc::Sender<Outcome>,
) {
    let watch = outage::Watch::new(settings.max_outage, control.waiting_flag());
    let ctx = Arc::new(Context {
        backend,
        pacer,
        settings,
        metrics,
        control: Arc::clone(&control),
        watch,
    });
    // The admission loop runs as a task: awaited in place it would run on whatever thread
    // awaits `run` (the main thread, under `block_on`), and every freed slot would then have to
    // wake that thread through the OS instead of the runtime's own queue.
    let mut admission = AbortOnDrop(tokio::spawn(admit(ctx, control, input, outcomes)));
    if let Err(e) = (&mut admission.0).await
        && e.is_panic()
    {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Stops the admission task (and with it every worker of its `JoinSet`) if `run` is dropped
/// before it finishes, as dropping the loop itself would.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn admit<B: Backend>(
    ctx: Arc<Context<B>>,
    control: Arc<Control>,
    mut input: mpsc::Receiver<Result<InputItem, InputError>>,
    outcomes: mpsc::Sender<Outcome>,
) {
    let slots = Arc::new(Semaphore::new(ctx.settings.concurrency.max(1)));
    let stop = control.token().clone();
    let mut tasks = JoinSet::new();
    // Received items, in reverse order so that `pop` takes the oldest.
    let mut pending = Vec::with_capacity(INPUT_BATCH);
    loop {
        let slot = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        if pending.is_empty() {
            let received = tokio::select! {
                biased;
                () = stop.cancelled() => break,
                n = input.recv_many(&mut pending, INPUT_BATCH) => n,
            };
            if received == 0 {
                break;
            }
            pending.reverse();
        }
        let Some(item) = pending.pop() else { break };
        match item {
            Err(InputError::Read { line, message, .. }) => {
                control.abort(AbortReason::InputBroken { line, message });
                break;
            }
            Err(other) => {
                control.abort(AbortReason::InputBroken {
                    line: 0,
                    message: other.to_string(),
                });
                break;
            }
            Ok(InputItem::Local(outcome)) => {
                drop(slot);
                if outcomes.send(outcome).await.is_err() {
                    break;
                }
            }
            Ok(InputItem::Id(record, kept)) => {
                let ctx = Arc::clone(&ctx);
                let outcomes = outcomes.clone();
                tasks.spawn(async move {
                    let _slot = slot;
                    if let Some(mut outcome) = worker::process(&ctx, record).await {
                        // The input line's kept cells rode along with the id to its row.
                        outcome.kept = kept;
                        // The writer only goes away when the run is over; nothing to do then.
                        let _ = outcomes.send(outcome).await;
                    }
                });
            }
        }
        while let Some(joined) = tasks.try_join_next() {
            abort_on_panic(&control, &joined);
        }
    }
    while let Some(joined) = tasks.join_next().await {
        abort_on_panic(&control, &joined);
    }
}

/// A worker that panicked leaves its id without a row: the run must not pass for complete.
fn abort_on_panic(control: &Control, joined: &Result<(), tokio::task::JoinError>) {
    if joined.as_ref().is_err_and(tokio::task::JoinError::is_panic) {
        control.abort(AbortReason::Internal("a worker failed".to_owned()));
    }
}

#[cfg(test)]
mod tests;
