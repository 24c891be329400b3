//! `--rate auto`: sets the pacer's rate from what the answers show, within `--rate-max` and
//! above a floor. Fed by the worker with every answer (its send instant and what came back);
//! owns no timer and sends nothing, so under paused tokio time it is driven by the answers
//! alone. Depends on `attempt` (the answer) and `pacer` (the knob) only.
//!
//! The design borrows from three anchors (the notes are in BENCHMARKS.md):
//!
//! - **Signals, in order of trust.** A gateway that states its limit (`RateLimit-Limit`,
//!   `X-RateLimit-Limit-Second`) is paced just under it at once ([`HEADROOM`]), and its
//!   `Remaining` reaching zero before the window resets is a congestion signal that comes
//!   before any 429 (the way ECN comes before a loss). Without numbers, a 429 or 503 is the
//!   signal; and an appliance that slows down instead of refusing shows it in latency: the
//!   quickest of the last few answers well above the quickest ever seen (Vegas and Netflix's
//!   Gradient compare the same two figures).
//! - **How far to fall: the measured delivery rate** (BBR). A gateway that is overdriven
//!   passes exactly its limit, and an appliance working through a queue answers exactly its
//!   capacity, so the rate of accepted answers just before a congestion signal estimates the
//!   limit; the pace drops to [`HEADROOM`] of it instead of a blind fraction of the pace
//!   (plain CUBIC's `beta = 0.7` averages ~85% of the limit).
//! - **How to climb back: CUBIC** (the AWS SDKs' adaptive retry mode), with its plateau at the
//!   limit just measured, so the pace lingers where the last signal came from and probes
//!   beyond it ever faster only when none comes. Growth never outruns twice the rate actually
//!   sent (AWS's cap), so a run held back by `--concurrency` or a slow input does not build up
//!   a pace it has never tried.
//! - **Sharing one gateway** (`--shard K/N`): when the gateway's limit is known and this
//!   process gets well under it, others are using the same counter; then a signal cuts the
//!   pace multiplicatively ([`BETA`] of what was delivered), which is what makes AIMD and
//!   CUBIC converge to fair shares. Alone, a signal only trims the pace to under the limit.
//!   A run that knows it is one of `N` shards (`--shard K/N`) of a gateway stating its limit
//!   does more: it starts at `1/N` of a limit stated in start-up; no gateway signal cuts it
//!   below that share (below 85% of it until the gateway is seen counting down on accepted
//!   answers), so the shard over its share is the one to give way; the gateway's `Remaining`
//!   shows the others' requests, and a window whose whole count, part way through, projects
//!   past the limit cuts this shard's pace early by the factor that would bring the total
//!   under it (XCP's explicit feedback), before the window runs dry and costs a
//!   `Retry-After` pause of every worker; and growth is scaled by the stated limit, the same
//!   for every sharer, so equal additive steps with multiplicative cuts converge (Chiu and
//!   Jain). A client that is not a shard and takes part of the limit makes windows run dry,
//!   which holds dispatch until they reset, not a 429 each.
//! - **One event per round trip.** Answers to requests sent before the last cut were already
//!   in flight when it was made: they say nothing new and cut nothing more.
//!
//! The pace found, reported at the end, is the median over the last minute of the run of the
//! paced rate, or of the rate actually sent where that was lower, sampled with the answers at
//! most every 100 ms ([`Pace::found`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tracing::debug;

use crate::attempt::Answer;
use crate::pacer::{MAX_PAUSE, Pacer};

/// The pace never goes below this many requests per second (or `--rate-max`, or a shard's
/// share of a stated limit, if lower): slow enough to be harmless, fast enough that a run
/// recovers from a long refusal in seconds.
pub const FLOOR: f64 = 1.0;

/// The pace a run starts at (or `--rate-max`, if lower): the fixed default's pace, safe for
/// any appliance, and doubled every [`STARTUP_DOUBLING`] until the first signal.
pub const START: f64 = 10.0;

/// Fraction of a stated or measured limit to pace at: the margin keeps a smooth pace under a
/// fixed window's count and lets a queue that formed drain.
pub const HEADROOM: f64 = 0.97;

/// Fraction of the measured capacity to pace at after a queue was drained by a hold.
const DRAINED_HEADROOM: f64 = 0.99;

/// Multiplicative decrease when the gateway is shared. CUBIC and AWS use 0.7; the cut here is
/// of the share actually delivered, not of the pace, and every cut behind a Kong-like gateway
/// also costs the pause until its window resets, so a shallower cut does: fairness comes
/// from the decrease being multiplicative, at any factor below one.
pub const BETA: f64 = 0.85;

/// Below this fraction of the gateway's stated limit, the rest of the limit is taken by other
/// clients: a signal then cuts multiplicatively.
const ALONE: f64 = 0.85;

/// A window shared with others counts as crowded when, this far into it and with at least
/// [`CROWDED_COUNT`] requests counted, its count projects past [`HEADROOM`] of what it allows.
const CROWDED_AFTER: f64 = 0.4;
const CROWDED_COUNT: u64 = 20;

/// The deepest single cut a crowded window calls for.
const CROWDED_MAX_CUT: f64 = 0.5;

/// With others behind the same gateway, this few requests left in its window count as spent.
const SHARED_SPENT: u64 = 2;

/// CUBIC's scale, as a fraction of the plateau per second cubed: AWS's 0.4 requests per
/// second per second cubed at the 40 requests per second of a typical gateway, so that the
/// time to climb back, and the time a probe beyond the plateau takes, are the same at any
/// limit. Shards of a counting gateway take it as a fraction of the stated limit instead.
const CUBIC_SCALE: f64 = 0.01;

/// Until the first signal the pace doubles this often.
const STARTUP_DOUBLING: Duration = Duration::from_millis(100);

/// Latency counts as risen when the quickest of the last [`LATENCY_SAMPLES`] accepted answers
/// took more than this multiple of the quickest one seen.
const LATENCY_FACTOR: f64 = 1.5;
const LATENCY_SAMPLES: usize = 5;

/// Longest hold to let a queue drain.
const MAX_DRAIN: Duration = Duration::from_secs(2);

/// The delivery rate is measured over at least this long, and over at least
/// [`DELIVERY_ANSWERS`] answers, so a slow limit is not read from two or three of them.
const DELIVERY_WINDOW: Duration = Duration::from_millis(250);
const DELIVERY_ANSWERS: usize = 24;

/// This process's share of a gateway is counted over this long.
const SHARE_SPAN: Duration = Duration::from_secs(1);

/// The sent rate (AWS's cap on growth) is measured over this long.
const SENT_WINDOW: Duration = Duration::from_secs(1);

/// How often, and for how long, the paced rate is sampled for [`Pace::found`].
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
const SAMPLE_SPAN: Duration = Duration::from_secs(60);

/// The bounds `--rate auto` paces within.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoRate {
    /// `--rate-max`: never exceeded.
    pub ceiling: f64,
    /// How many processes were started to share the gateway: `N` of `--shard K/N`, else 1.
    pub sharers: u64,
}

impl AutoRate {
    /// The lowest pace: [`FLOOR`], or the ceiling if that is lower.
    #[must_use]
    pub fn floor(&self) -> f64 {
        FLOOR.min(self.ceiling)
    }

    /// The pace a run starts at.
    #[must_use]
    pub fn start(&self) -> f64 {
        START.min(self.ceiling)
    }
}

/// The controller of one run, shared by its workers.
#[derive(Debug)]
pub struct Pace {
    pacer: Arc<Pacer>,
    state: Mutex<Controller>,
}

impl Pace {
    /// A controller that sets `pacer`'s rate within `bounds`, starting it at
    /// [`AutoRate::start`].
    #[must_use]
    pub fn new(pacer: Arc<Pacer>, bounds: AutoRate) -> Self {
        let controller = Controller::new(bounds, Instant::now());
        pacer.set_rate(controller.rate);
        Self {
            pacer,
            state: Mutex::new(controller),
        }
    }

    /// Takes in one answer to a request sent at `sent_at`, and sets the pace it calls for.
    pub fn observe(&self, sent_at: Instant, answer: &Answer) {
        let now = Instant::now();
        let signal = Signal::of(answer);
        let (rate, changed, pause) = {
            let mut state = self.lock();
            let before = state.rate;
            let pause = state.observe(now, sent_at, &signal);
            (state.rate, state.rate.to_bits() != before.to_bits(), pause)
        };
        // Most answers leave the pace as it was: the pacer's schedule lock is taken per answer
        // only when there is a new period to set.
        if changed {
            self.pacer.set_rate(rate);
        }
        if let Some(pause) = pause {
            self.pacer.pause_for(pause);
        }
    }

    /// The pace found: the median over the last minute of the paced rate, or of the rate
    /// actually sent where that was lower (sampled with the answers, at most every 100 ms);
    /// `None` before the first answer.
    #[must_use]
    pub fn found(&self) -> Option<f64> {
        self.lock().found()
    }

    /// The pacer this controller sets.
    #[must_use]
    pub fn pacer(&self) -> Arc<Pacer> {
        Arc::clone(&self.pacer)
    }

    /// The bounds it paces within.
    #[must_use]
    pub fn bounds(&self) -> AutoRate {
        self.lock().bounds
    }

    /// The gateway's stated limit in requests per second, if it ever stated one.
    #[must_use]
    pub fn stated_limit(&self) -> Option<f64> {
        self.lock().stated
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Controller> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What one answer says about the pace.
#[derive(Debug, Clone, Copy, Default)]
struct Signal {
    /// The gateway refused it (429) or said it is over capacity (503).
    refused: bool,
    /// The gateway's stated limit, requests per second.
    limit: Option<f64>,
    /// What is left of the gateway's window (`Remaining`), and how long until it resets.
    left: Option<(u64, Duration)>,
    /// The gateway's window and the requests it allows in one.
    window: Option<(u64, Duration)>,
}

impl Signal {
    fn of(answer: &Answer) -> Self {
        let refused = matches!(answer.http_status, Some(429 | 503));
        let gateway = answer.gateway;
        Self {
            refused,
            limit: gateway.map(|g| g.per_second()).filter(|l| *l > 0.0),
            window: gateway
                .filter(|g| g.limit > 0 && !g.window.is_zero())
                .map(|g| (g.limit, g.window)),
            left: gateway.filter(|_| !refused).and_then(|g| {
                let reset = g.reset.unwrap_or(g.window).min(g.window);
                g.remaining.map(|left| (left, reset))
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Doubling until the first signal.
    Startup,
    /// CUBIC growth since the last cut.
    Steady,
}

/// The state and arithmetic of the controller, with the clock passed in.
#[derive(Debug)]
struct Controller {
    bounds: AutoRate,
    /// The pace now.
    rate: f64,
    phase: Phase,
    /// When the pace last grew (startup) or was last cut (steady: CUBIC's epoch).
    since: Instant,
    /// CUBIC: the rate to linger at, and the time from `since` to reach it.
    plateau: f64,
    to_plateau: f64,
    /// Answers to requests sent before this instant cut nothing more.
    cut_at: Option<Instant>,
    /// Arrival instants of recent accepted answers (not 429/503), oldest first.
    delivered: VecDeque<Instant>,
    /// Arrival instants of every answer in the last [`SENT_WINDOW`].
    answered: VecDeque<Instant>,
    /// Arrival instants of accepted answers in the last [`SHARE_SPAN`].
    accepted: VecDeque<Instant>,
    /// Quickest accepted answer seen, and the latencies of the latest ones since the last cut.
    quickest: Option<Duration>,
    latest: VecDeque<Duration>,
    /// The gateway's stated limit, requests per second.
    stated: Option<f64>,
    /// The `Remaining` last heard, and when the gateway's window was last seen to open (the
    /// count went up): its `Reset` is in whole seconds, too coarse for a one-second window.
    last_left: Option<u64>,
    window_opened: Option<Instant>,
    /// This process's accepted answers since the gateway's current window was seen to open,
    /// and whether the pace was already cut for a crowded window in it.
    window_own: u64,
    window_cut: bool,
    /// When the controller was made (the sent rate of the first second is over less).
    started: Instant,
    /// (instant, paced rate) every [`SAMPLE_EVERY`] over the last [`SAMPLE_SPAN`].
    samples: VecDeque<(Instant, f64)>,
}

impl Controller {
    fn new(bounds: AutoRate, now: Instant) -> Self {
        Self {
            bounds,
            rate: bounds.start(),
            phase: Phase::Startup,
            since: now,
            plateau: bounds.start(),
            to_plateau: 0.0,
            cut_at: None,
            delivered: VecDeque::new(),
            answered: VecDeque::new(),
            accepted: VecDeque::new(),
            quickest: None,
            latest: VecDeque::new(),
            stated: None,
            last_left: None,
            window_opened: None,
            window_own: 0,
            window_cut: false,
            started: now,
            samples: VecDeque::new(),
        }
    }

    /// Takes in one answer arriving at `now` for a request sent at `sent_at`; returns a pause
    /// to impose when the gateway's window is spent.
    fn observe(&mut self, now: Instant, sent_at: Instant, signal: &Signal) -> Option<Duration> {
        if self.answered.is_empty() && self.samples.is_empty() {
            // The run's first answer: its share and sent rate count from when its request was
            // sent, not from before the token was fetched.
            self.started = sent_at.min(now);
        }
        let fresh = self.cut_at.is_none_or(|cut| sent_at >= cut);
        self.answered.push_back(now);
        while self
            .answered
            .front()
            .is_some_and(|t| now.duration_since(*t) >= SENT_WINDOW)
        {
            self.answered.pop_front();
        }
        if !signal.refused {
            self.accepted.push_back(now);
            while self
                .accepted
                .front()
                .is_some_and(|t| now.duration_since(*t) > SHARE_SPAN)
            {
                self.accepted.pop_front();
            }
            self.delivered.push_back(now);
            while self.delivered.len() > DELIVERY_ANSWERS
                && self
                    .delivered
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > DELIVERY_WINDOW)
            {
                self.delivered.pop_front();
            }
        }
        if let Some(limit) = signal.limit {
            self.learn_limit(now, limit);
        }
        let latency = now.duration_since(sent_at);
        let queued = if !signal.refused && fresh {
            self.queued(latency)
        } else {
            None
        };
        if let Some((left, _)) = signal.left {
            let turned = signal
                .window
                .zip(self.window_opened)
                .and_then(|((_, window), opened)| {
                    // Fixed windows: one whole window after the last opening seen, another has
                    // opened even if others took more of it than this process last saw left.
                    let windows = now.duration_since(opened).as_nanos() / window.as_nanos().max(1);
                    (windows >= 1).then(|| {
                        opened
                            + window.mul_f64(f64::from(u32::try_from(windows).unwrap_or(u32::MAX)))
                    })
                });
            if let Some(opened) = turned {
                self.window_opens(opened);
            }
            if self.last_left.is_some_and(|before| left > before) {
                self.window_opens(now);
            }
            self.last_left = Some(left);
            self.window_own += 1;
        }
        let spent = signal
            .left
            .filter(|(left, _)| *left <= self.spent_at(now))
            .map(|(_, reset)| self.until_reset(now, reset));
        let crowded = if fresh && !signal.refused && spent.is_none() {
            self.crowded(now, signal)
        } else {
            None
        };
        let mut pause = None;
        if let Some(factor) = crowded {
            let to = self.protect(self.rate, self.clamp(self.rate * factor));
            self.window_cut = true;
            self.fall_to(now, to, to);
        } else if fresh && (signal.refused || spent.is_some() || queued.is_some()) {
            self.cut(now, queued.is_some() && !signal.refused && spent.is_none());
            // A spent window: hold until it resets rather than collect its 429s. A queue:
            // hold for as long as it takes the appliance to work it off (BBR's drain), so the
            // next requests meet an empty queue and the next signal is a new one.
            // Capped here as the pacer caps it, so that the answers after the hold are heard
            // (a gateway may state a window of a day, or of `u64::MAX` seconds).
            pause = spent
                .or(queued)
                .map(|d| d.min(MAX_PAUSE))
                .filter(|d| !d.is_zero());
            if let Some(pause) = pause {
                self.cut_at = Some(now + pause);
            }
        } else {
            self.grow(now);
        }
        self.sample(now);
        pause
    }

    /// The gateway's window opened at `at`: nothing of this process counted in it yet, and
    /// no crowded-window cut made.
    fn window_opens(&mut self, at: Instant) {
        self.window_opened = Some(at);
        self.window_own = 0;
        self.window_cut = false;
    }

    /// Whether the gateway's window, shared with others, is being used up faster than it
    /// allows: if so, the factor that would bring everyone's pace to just under it.
    fn crowded(&self, now: Instant, signal: &Signal) -> Option<f64> {
        let (left, _) = signal.left?;
        let (allowed, window) = signal.window?;
        let opened = self.window_opened?;
        // Only shards: a lone run's out-of-order answers can make `Remaining` rise mid-window
        // and its own count look like others'.
        if self.window_cut || self.fair_share().is_none() {
            return None;
        }
        let used = allowed.saturating_sub(left);
        // Others' requests beyond what reordering and this process's own requests in flight
        // explain; and a process getting most of the limit is not crowded by anyone.
        if used <= self.window_own + 1 || !self.shares_gateway(now) {
            return None;
        }
        let elapsed = now.duration_since(opened).as_secs_f64();
        if elapsed < CROWDED_AFTER * window.as_secs_f64() || used < CROWDED_COUNT {
            return None;
        }
        #[expect(clippy::cast_precision_loss, reason = "request counts")]
        let (used, allowed) = (used as f64, allowed as f64);
        let projected = used / elapsed * window.as_secs_f64();
        (projected > HEADROOM * allowed)
            .then(|| (HEADROOM * allowed / projected).max(CROWDED_MAX_CUT))
    }

    /// How long until the gateway's window resets: from when it was seen to open, when that
    /// is known and agrees with `reset` (whole seconds, rounded up), else `reset`.
    fn until_reset(&self, now: Instant, reset: Duration) -> Duration {
        let window = Duration::from_secs(reset.as_secs().max(1));
        self.window_opened
            .and_then(|opened| opened.checked_add(window))
            .map(|closes| closes.saturating_duration_since(now))
            .filter(|left| !left.is_zero() && *left <= reset)
            .unwrap_or(reset)
    }

    /// How few requests left in the gateway's window count as spent: none when this process
    /// has the gateway to itself; a few when others share the counter, since their requests
    /// take the last ones before this process hears the count again.
    fn spent_at(&self, now: Instant) -> u64 {
        if self.shares_gateway(now) {
            SHARED_SPENT
        } else {
            0
        }
    }

    /// Whether other clients use the same gateway counter: it states a limit, and this process
    /// has long enough been delivered well under it.
    fn shares_gateway(&self, now: Instant) -> bool {
        self.stated
            .is_some_and(|limit| self.share_rate(now) < ALONE * limit)
    }

    /// Accepted answers over the last [`SHARE_SPAN`] (a gateway window), per second: this
    /// process's share of the gateway. Counted, not timed: a process alone fills the window
    /// whatever its pace was, a burst between two pauses does not pass for the whole limit,
    /// and a pause (which only lowers the count) errs towards sharing, that is, towards the
    /// cut.
    fn share_rate(&self, now: Instant) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "a count of answers")]
        let accepted = self.accepted.len() as f64;
        // Over less in the first second: a run that just started is not a small share.
        let span = now.duration_since(self.started).min(SHARE_SPAN);
        accepted / span.as_secs_f64().max(SAMPLE_EVERY.as_secs_f64())
    }

    /// A gateway stating its limit: pace just under it from now on, and go there at once
    /// while still finding the pace.
    fn learn_limit(&mut self, now: Instant, limit: f64) {
        self.stated = Some(limit);
        if self.phase == Phase::Startup {
            let share = self.fair_share().unwrap_or(HEADROOM * limit);
            self.rate = self.clamp(share);
            self.steady_from(now, self.rate);
        }
    }

    /// Whether this accepted answer's latency, with the latest ones, shows a queue forming:
    /// if so, the time the queue adds to every answer.
    fn queued(&mut self, latency: Duration) -> Option<Duration> {
        self.quickest = Some(self.quickest.map_or(latency, |q| q.min(latency)));
        self.latest.push_back(latency);
        if self.latest.len() > LATENCY_SAMPLES {
            self.latest.pop_front();
        }
        let (quickest, least) = (self.quickest?, *self.latest.iter().min()?);
        (self.latest.len() == LATENCY_SAMPLES
            && least.as_secs_f64() > LATENCY_FACTOR * quickest.as_secs_f64())
        .then(|| least.saturating_sub(quickest).min(MAX_DRAIN))
    }

    /// Answers per second of the latest accepted ones (see [`DELIVERY_WINDOW`]).
    fn delivery_rate(&self) -> Option<f64> {
        let (first, last) = (self.delivered.front()?, self.delivered.back()?);
        let span = last.duration_since(*first).as_secs_f64();
        #[expect(clippy::cast_precision_loss, reason = "a count of answers")]
        let intervals = (self.delivered.len() - 1) as f64;
        (intervals >= 2.0 && span > 0.0).then(|| intervals / span)
    }

    /// A congestion signal: fall to under the measured limit (alone) or by [`BETA`] (shared).
    /// `drained`: the cut comes with a hold that works off the queue, so no margin is needed
    /// for that.
    fn cut(&mut self, now: Instant, drained: bool) {
        let delivered = self.delivery_rate().unwrap_or(self.rate).min(self.rate);
        let share = self.share_rate(now).min(self.rate);
        let (rate, plateau) = match self.stated {
            // Others take the rest of the gateway's counter: fall multiplicatively.
            Some(_) if self.shares_gateway(now) => (BETA * share, HEADROOM * share),
            // Alone at the stated limit: a window boundary; stay just under it.
            Some(limit) => (HEADROOM * limit, HEADROOM * limit),
            None if drained => (DRAINED_HEADROOM * delivered, delivered),
            None => (HEADROOM * delivered, delivered),
        };
        let before = self.rate;
        // A queue at the appliance is everyone's to drain, fair share or not.
        let to = if drained {
            self.clamp(rate)
        } else {
            self.protect(before, self.clamp(rate))
        };
        self.fall_to(now, to, plateau);
        debug!(
            from = before,
            to,
            delivered,
            share,
            stated = self.stated,
            "pace cut on a congestion signal"
        );
    }

    /// Sets the pace to `to` on a congestion signal and climbs back towards `plateau` from
    /// there: answers to requests already in flight cut nothing more, and the latencies seen
    /// so far were of the old pace, so a queue is judged afresh.
    fn fall_to(&mut self, now: Instant, to: f64, plateau: f64) {
        self.cut_at = Some(now);
        self.latest.clear();
        self.rate = to;
        self.steady_from(now, plateau);
    }

    /// An equal share of the stated limit, when this run is one of `--shard K/N` (`N > 1`).
    fn fair_share(&self) -> Option<f64> {
        if self.bounds.sharers < 2 {
            return None;
        }
        #[expect(clippy::cast_precision_loss, reason = "a small process count")]
        let sharers = self.bounds.sharers as f64;
        self.stated.map(|limit| HEADROOM * limit / sharers)
    }

    /// A cut from `before` to `cut` that stops at this shard's fair share: with the gateway's
    /// numbers, a shard at or under it is not the one over the limit.
    fn protect(&self, before: f64, cut: f64) -> f64 {
        self.fair_share().map_or(cut, |fair| {
            // Without the count on every answer a shard cannot tell it is at its share
            // until the 429: keep a margin under it.
            let floor = if self.counts_seen() {
                fair
            } else {
                BETA * fair
            };
            cut.max(before.min(floor))
        })
    }

    /// Whether the gateway counts down its window on the answers it lets through.
    fn counts_seen(&self) -> bool {
        self.last_left.is_some()
    }

    /// Starts CUBIC growth from the current rate towards `plateau`.
    fn steady_from(&mut self, now: Instant, plateau: f64) {
        self.phase = Phase::Steady;
        self.since = now;
        self.plateau = plateau.max(self.rate);
        self.to_plateau = ((self.plateau - self.rate) / self.scale()).cbrt();
    }

    /// No signal: double in startup, follow CUBIC after.
    fn grow(&mut self, now: Instant) {
        let elapsed = now.duration_since(self.since).as_secs_f64();
        let wanted = match self.phase {
            Phase::Startup => {
                self.since = now;
                self.rate * 2f64.powf(elapsed / STARTUP_DOUBLING.as_secs_f64())
            }
            Phase::Steady => {
                let t = elapsed - self.to_plateau;
                self.plateau + self.scale() * t * t * t
            }
        };
        // Never more than twice what is actually going out.
        let wanted = wanted.min(self.rate.max(2.0 * self.sent_rate(now)));
        self.rate = self.clamp(wanted);
    }

    /// Answers per second over the last [`SENT_WINDOW`] (less at the start): what is actually
    /// going out, which `--concurrency` or a slow input may hold under the pace.
    fn sent_rate(&self, now: Instant) -> f64 {
        let span = now.duration_since(self.started).min(SENT_WINDOW);
        #[expect(clippy::cast_precision_loss, reason = "a count of answers")]
        let answered = self.answered.len() as f64;
        answered / span.as_secs_f64().max(0.05)
    }

    /// CUBIC's scale for the current plateau, requests per second per second cubed.
    fn scale(&self) -> f64 {
        // Shards of a counting gateway: scaled by what every one of them reads alike, so that
        // their equal steps converge to equal shares. Otherwise by the plateau, the same time
        // constants at any limit (a lone run's stated limit may be far above what the
        // appliance behind it takes).
        let base = match self.stated {
            Some(limit) if self.counts_seen() && self.fair_share().is_some() => limit,
            _ => self.plateau,
        };
        CUBIC_SCALE * base.max(self.bounds.floor())
    }

    /// Within the floor, the ceiling and under a stated limit.
    fn clamp(&self, rate: f64) -> f64 {
        let ceiling = self.stated.map_or(self.bounds.ceiling, |l| {
            self.bounds.ceiling.min(HEADROOM * l)
        });
        let floor = self
            .fair_share()
            .map_or(self.bounds.floor(), |fair| self.bounds.floor().min(fair));
        rate.min(ceiling).max(floor)
    }

    /// The median of the samples; `None` before the first.
    fn found(&self) -> Option<f64> {
        let mut rates: Vec<f64> = self.samples.iter().map(|(_, r)| *r).collect();
        if rates.is_empty() {
            return None;
        }
        rates.sort_by(f64::total_cmp);
        Some(rates[rates.len() / 2])
    }

    fn sample(&mut self, now: Instant) {
        if self
            .samples
            .back()
            .is_none_or(|(t, _)| now.duration_since(*t) >= SAMPLE_EVERY)
        {
            // The pace, or less when less went out: a pace that was never sent at says
            // nothing about the appliance, and the summary tells the operator to pin this.
            self.samples
                .push_back((now, self.rate.min(self.sent_rate(now))));
        }
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > SAMPLE_SPAN)
        {
            self.samples.pop_front();
        }
    }
}

#[cfg(test)]
mod tests;
