//! Whether the appliance is reachable, decided from evidence rather than a clock (style.md
//! habit 17, design.md §10 "Outage by evidence"). Every answer is evidence: the appliance itself
//! answered (it is up), nothing answered (connection refused or reset, a timeout, a gateway's
//! 502/503/504), or the gateway spoke for itself (429, which says nothing either way).
//!
//! Unreachable answers sent after the appliance last answered open a *spell*. The spell ends
//! when the appliance answers a request sent since it began. If only one id (the probe apart)
//! failed in it, those failures were that id's own and count toward `--max-attempts`; if more
//! than one did, the appliance was down and they do not count. The outage clock runs from the
//! spell's first failing request, minus any time when no id was in progress (a slow producer on
//! stdin is not an outage), and aborts the run past `--max-outage`.
//!
//! Depends on `attempt` (the evidence of an answer) and `error`; knows nothing of the worker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::attempt::Evidence;

/// The source id of the probe request (real ids are positive).
pub(super) const PROBE: u64 = 0;

/// How a spell ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resolution {
    /// Only one id failed while the appliance answered others: its failures were its own.
    Own,
    /// Several ids failed together: the appliance was down; those failures do not count.
    Outage,
}

/// One spell of unreachable answers, as the ids that failed in it hold it.
#[derive(Debug, Default)]
pub(super) struct Spell {
    resolution: OnceLock<Resolution>,
    /// More than one id (or the probe) failed in it: an outage unless proven otherwise.
    many: AtomicBool,
}

impl Spell {
    /// How the spell ended, if it has.
    pub(super) fn resolution(&self) -> Option<Resolution> {
        self.resolution.get().copied()
    }

    /// Whether failures of more than one id are in it (the appliance looks down).
    pub(super) fn is_shared(&self) -> bool {
        self.many.load(Ordering::Acquire)
    }
}

/// What an answer means for the id that got it.
#[derive(Debug)]
pub(super) enum Verdict {
    /// The failure counts toward `--max-attempts` now.
    Counts,
    /// Unreachable: whether it counts depends on how this spell ends.
    InDoubt(Arc<Spell>),
    /// The appliance has been unreachable past `--max-outage`.
    Exceeded,
}

/// The reachability evidence of one run, shared by its workers.
#[derive(Debug)]
pub(super) struct Watch {
    max_outage: Duration,
    state: Mutex<State>,
    /// Woken whenever a spell ends, for ids waiting to learn whether their failure counts.
    resolved: Notify,
    /// Set while the appliance is known to be unreachable (the progress bar says "waiting").
    waiting: Arc<AtomicBool>,
}

#[derive(Debug, Default)]
struct State {
    /// Latest send time of a request the appliance answered.
    answered_sent: Option<Instant>,
    current: Option<Current>,
    /// Ids in progress; while there are none the run is idle and no outage clock runs.
    active: usize,
    /// Idle time before `idle_since`.
    idle_total: Duration,
    /// Since when the run has had no id in progress.
    idle_since: Option<Instant>,
}

/// The spell in progress.
#[derive(Debug)]
struct Current {
    spell: Arc<Spell>,
    /// Send time of its earliest failing request.
    since: Instant,
    /// Idle time of the run when the spell began (subtracted from its clock).
    idle_at_start: Duration,
    first_source: u64,
    announced: bool,
}

impl Watch {
    /// A watch for a run with `--max-outage`; `waiting` mirrors "the appliance is unreachable".
    pub(super) fn new(max_outage: Duration, waiting: Arc<AtomicBool>) -> Self {
        Self {
            max_outage,
            state: Mutex::new(State {
                idle_since: Some(Instant::now()),
                ..State::default()
            }),
            resolved: Notify::new(),
            waiting,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts an id in progress until the guard drops.
    pub(super) fn active(&self) -> Active<'_> {
        let mut s = self.lock();
        s.active += 1;
        if let Some(since) = s.idle_since.take() {
            s.idle_total += since.elapsed();
        }
        Active(self)
    }

    /// Records what the answer to a request of `source` sent at `sent_at` shows.
    pub(super) fn record(&self, source: u64, sent_at: Instant, evidence: Evidence) -> Verdict {
        let mut s = self.lock();
        match evidence {
            Evidence::Answered => {
                s.answered_sent = Some(s.answered_sent.map_or(sent_at, |a| a.max(sent_at)));
                if s.current.as_ref().is_some_and(|c| sent_at >= c.since) {
                    let ended = s.current.take();
                    drop(s);
                    if let Some(ended) = ended {
                        self.end(&ended);
                    }
                }
                Verdict::Counts
            }
            Evidence::Gateway => Verdict::Counts,
            Evidence::Unreachable => {
                // The appliance already answered a request sent after this one: the failure
                // was this request's own.
                if s.answered_sent.is_some_and(|a| a >= sent_at) {
                    return Verdict::Counts;
                }
                let idle = s.idle_now();
                let current = s.current.get_or_insert_with(|| Current {
                    spell: Arc::default(),
                    since: sent_at,
                    idle_at_start: idle,
                    first_source: source,
                    announced: false,
                });
                current.since = current.since.min(sent_at);
                if current.first_source != source {
                    current.spell.many.store(true, Ordering::Release);
                }
                let down_for = current
                    .since
                    .elapsed()
                    .saturating_sub(idle.saturating_sub(current.idle_at_start));
                if current.spell.is_shared() && !current.announced {
                    current.announced = true;
                    self.waiting.store(true, Ordering::Relaxed);
                    let limit = self.max_outage.saturating_sub(down_for);
                    warn!(
                        since = %wall_clock(current.since, Duration::ZERO),
                        abort_at = %wall_clock(Instant::now(), limit),
                        "appliance unreachable since {}; aborting at {} unless it answers",
                        wall_clock(current.since, Duration::ZERO),
                        wall_clock(Instant::now(), limit),
                    );
                }
                if down_for > self.max_outage {
                    return Verdict::Exceeded;
                }
                Verdict::InDoubt(Arc::clone(&current.spell))
            }
        }
    }

    /// A future that completes when a spell ends; enable it before checking a resolution.
    pub(super) fn resolved(&self) -> tokio::sync::futures::Notified<'_> {
        self.resolved.notified()
    }

    fn end(&self, ended: &Current) {
        let resolution = if ended.spell.is_shared() {
            Resolution::Outage
        } else {
            Resolution::Own
        };
        let _ = ended.spell.resolution.set(resolution);
        if ended.announced {
            self.waiting.store(false, Ordering::Relaxed);
            info!(
                down_secs = ended.since.elapsed().as_secs(),
                "appliance answering again after {} s unreachable",
                ended.since.elapsed().as_secs()
            );
        }
        self.resolved.notify_waiters();
    }
}

impl State {
    /// Idle time of the run up to now.
    fn idle_now(&self) -> Duration {
        self.idle_total + self.idle_since.map_or(Duration::ZERO, |s| s.elapsed())
    }
}

/// An id in progress (see [`Watch::active`]).
pub(super) struct Active<'a>(&'a Watch);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.active = s.active.saturating_sub(1);
        if s.active == 0 {
            s.idle_since = Some(Instant::now());
        }
    }
}

/// `at + later` on the wall clock, RFC 3339 to the second, for the operator.
fn wall_clock(at: Instant, later: Duration) -> String {
    let now = Instant::now();
    let wall = SystemTime::now();
    let wall = if at <= now {
        wall.checked_sub(now - at).unwrap_or(wall)
    } else {
        wall.checked_add(at - now).unwrap_or(wall)
    };
    humantime::format_rfc3339_seconds(wall.checked_add(later).unwrap_or(wall)).to_string()
}
