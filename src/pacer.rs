//! The global pace of a run: one rate limiter that every request passes through — first
//! attempts, retries and token fetches alike — plus the global pause a `Retry-After` imposes on
//! all dispatch. All time is tokio's, so paused-time tests drive it. Depends on nothing else in
//! the crate.
//!
//! The limiter is GCRA (the algorithm governor implements), written out here because tokio's
//! timer wakes a sleeper up to a couple of milliseconds late: a plain GCRA, checked on waking,
//! counts each late wake as idle time and loses it, so at `--rate 1000` (a 1 ms period) it
//! delivered half the rate. Here a caller that was already waiting when its permit fell due is
//! charged from when it was due (up to [`FORGIVEN_LATENESS`]), so the schedule keeps its pace.
//! That catch-up could let a late second squeeze in a permit or two more than `rate + burst`,
//! so an exact sliding-window check backs it: no permit is handed out while the last
//! `rate + burst` permits all lie within one second (design.md §9, invariant 3), with a few
//! milliseconds to spare for the way to the server.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Longest pause a server's `Retry-After` may impose (design.md §4).
pub const MAX_PAUSE: Duration = Duration::from_secs(300);

/// How late a waiter may be woken without the delay costing rate: tokio's timer has a 1 ms
/// tick and a busy two-core machine adds a few more.
pub const FORGIVEN_LATENESS: Duration = Duration::from_millis(10);

/// The window of invariant 3.
const WINDOW: Duration = Duration::from_secs(1);

/// The window the exact check keeps permits within: a little longer than [`WINDOW`], because
/// the server counts arrivals, and requests handed out close together can reach it closer
/// still (one waits for a CPU on a busy machine, the next does not: 5 ms of that was seen on
/// a loaded two-core machine). It costs at most 1% of the rate, and only where the schedule
/// would otherwise fill the window (100 requests per second and up).
const GUARDED_WINDOW: Duration = Duration::from_millis(1010);

/// Above this many permits per window the exact window check would keep too many instants, and
/// a period of under 15 µs never waits on the timer anyway: plain GCRA then.
const MAX_WINDOW_LOG: usize = 65_536;

/// Hands out one permit per request, at `rate` per second with `burst` after an idle spell.
#[derive(Debug)]
pub struct Pacer {
    /// Permits that may go at once after an idle spell.
    burst: u32,
    /// The highest rate [`Pacer::set_rate`] may set (the rate itself for a fixed pacer): the
    /// window check is sized for it, so invariant 3 holds at the ceiling.
    max_rate: f64,
    /// The current rate in millionths of a request per second, for readers that must not take
    /// the schedule's lock (the progress bar).
    rate_micros: AtomicU64,
    /// Lateness forgiven to a waiter (zero when there is no window check to back it).
    forgiven: Duration,
    schedule: Mutex<Schedule>,
    /// Dispatch is held until this instant (a 429/503 `Retry-After`).
    paused_until: Mutex<Option<Instant>>,
    /// Permits handed out: the number of requests sent.
    permits: AtomicU64,
    /// Waiters take turns in arrival order (tokio's mutex is fair): without it, a waiter can
    /// lose the race for the next permit again and again, and wait seconds at a modest rate.
    turn: tokio::sync::Mutex<()>,
    /// Callers queued for a turn or holding it. While there are none, a permit that is free
    /// now is taken without the turn: a fair mutex hands itself from task to task, and at
    /// tens of thousands of permits a second that hand-over was a queue of its own.
    queued: AtomicUsize,
    /// Callers of [`Pacer::acquire_first`] waiting: queued callers let them go first.
    first: AtomicUsize,
    /// Woken when a caller of [`Pacer::acquire_first`] leaves.
    first_done: tokio::sync::Notify,
}

/// The limiter's state.
#[derive(Debug, Default)]
struct Schedule {
    /// Time between permits at the steady rate. Behind the same lock as `next`, so a change of
    /// rate (`--rate auto`) applies from the next permit on and never to half of one.
    period: Duration,
    /// How far ahead of the schedule a permit may go: `burst - 1` periods.
    tolerance: Duration,
    /// GCRA's theoretical arrival time of the next permit; `None` before the first.
    next: Option<Instant>,
    /// When the latest permits were handed out, oldest first, at most `window_cap` of them.
    recent: VecDeque<Instant>,
    /// `floor(rate + burst)`: permits allowed in any one second; 0 turns the check off.
    window_cap: usize,
}

impl Pacer {
    /// A pacer for `rate` requests per second (decimals allowed) and `burst`.
    #[must_use]
    pub fn new(rate: f64, burst: NonZeroU32) -> Self {
        Self::adjustable(rate, rate, burst)
    }

    /// A pacer starting at `rate` whose rate [`Pacer::set_rate`] may change up to `max_rate`
    /// (`--rate auto` within `--rate-max`). No one-second window ever holds more than
    /// `max_rate + burst` permits, whatever the rate is set to.
    #[must_use]
    pub fn adjustable(rate: f64, max_rate: f64, burst: NonZeroU32) -> Self {
        let rate = rate.min(max_rate);
        let (period, tolerance) = spacing(rate, burst.get());
        let per_window = (max_rate * WINDOW.as_secs_f64() + f64::from(burst.get())).floor();
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a positive whole number at most MAX_WINDOW_LOG"
        )]
        let window_cap = if per_window <= MAX_WINDOW_LOG as f64 {
            (per_window as usize).max(1)
        } else {
            0
        };
        Self {
            burst: burst.get(),
            max_rate,
            rate_micros: AtomicU64::new(micros(rate)),
            forgiven: if window_cap > 0 {
                FORGIVEN_LATENESS
            } else {
                Duration::ZERO
            },
            schedule: Mutex::new(Schedule {
                period,
                tolerance,
                window_cap,
                ..Schedule::default()
            }),
            paused_until: Mutex::new(None),
            permits: AtomicU64::new(0),
            turn: tokio::sync::Mutex::new(()),
            queued: AtomicUsize::new(0),
            first: AtomicUsize::new(0),
            first_done: tokio::sync::Notify::new(),
        }
    }

    /// Waits for the global pause and a rate permit. Returns false, without a permit, as soon
    /// as `cancel` fires.
    pub async fn acquire(&self, cancel: &CancellationToken) -> bool {
        let arrived = Instant::now();
        if cancel.is_cancelled() {
            return false;
        }
        if self.queued.load(Ordering::Acquire) == 0
            && self.first.load(Ordering::Acquire) == 0
            && !self.is_paused(arrived)
            && self.take(arrived, arrived).is_ok()
        {
            self.permits.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        self.queued.fetch_add(1, Ordering::AcqRel);
        let _queued = Dequeue(&self.queued);
        let _turn = tokio::select! {
            () = cancel.cancelled() => return false,
            turn = self.turn.lock() => turn,
        };
        loop {
            match self.wait_out_pause(cancel).await {
                Step::Cancelled => return false,
                Step::Again => continue,
                Step::Granted => {}
            }
            if self.first.load(Ordering::Acquire) > 0 {
                let done = self.first_done.notified();
                tokio::pin!(done);
                done.as_mut().enable();
                if self.first.load(Ordering::Acquire) > 0 {
                    tokio::select! {
                        () = cancel.cancelled() => return false,
                        () = done => continue,
                    }
                }
            }
            match self.take_or_wait(cancel, arrived).await {
                Step::Cancelled => return false,
                Step::Granted => return true,
                Step::Again => {}
            }
        }
    }

    /// Sleeps out a global pause, if one is in force: `Again` after it (look again), `Granted`
    /// when there was none to wait for.
    async fn wait_out_pause(&self, cancel: &CancellationToken) -> Step {
        let paused = *self
            .paused_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match paused.filter(|u| *u > Instant::now()) {
            Some(until) => tokio::select! {
                () = cancel.cancelled() => Step::Cancelled,
                () = tokio::time::sleep_until(until) => Step::Again,
            },
            None => Step::Granted,
        }
    }

    /// Takes a permit now, or sleeps until one may fall due (`Again`).
    async fn take_or_wait(&self, cancel: &CancellationToken, arrived: Instant) -> Step {
        match self.take(Instant::now(), arrived) {
            Ok(()) => {
                self.permits.fetch_add(1, Ordering::Relaxed);
                Step::Granted
            }
            Err(at) => tokio::select! {
                () = cancel.cancelled() => Step::Cancelled,
                () = tokio::time::sleep_until(at) => Step::Again,
            },
        }
    }

    /// Like [`Pacer::acquire`], but ahead of every queued caller: the next permit the rate
    /// allows is this caller's. For token fetches, which every queued request needs: behind a
    /// queue longer than a token's life, the token would be stale before anyone could use it.
    /// Counted in the rate like any permit.
    pub async fn acquire_first(&self, cancel: &CancellationToken) -> bool {
        let arrived = Instant::now();
        self.first.fetch_add(1, Ordering::AcqRel);
        let _first = First(self);
        loop {
            if cancel.is_cancelled() {
                return false;
            }
            match self.wait_out_pause(cancel).await {
                Step::Cancelled => return false,
                Step::Again => continue,
                Step::Granted => {}
            }
            match self.take_or_wait(cancel, arrived).await {
                Step::Cancelled => return false,
                Step::Granted => return true,
                Step::Again => {}
            }
        }
    }

    fn is_paused(&self, now: Instant) -> bool {
        self.paused_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|until| until > now)
    }

    /// Hands out a permit at `now` to a caller waiting since `arrived`, or says when to retry.
    fn take(&self, now: Instant, arrived: Instant) -> Result<(), Instant> {
        let mut s = self
            .schedule
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = s.next.unwrap_or(now);
        if let Some(allowed) = due.checked_sub(s.tolerance).filter(|at| now < *at) {
            return Err(allowed);
        }
        if s.window_cap > 0 && s.recent.len() >= s.window_cap {
            let frees = s.recent.front().map(|oldest| *oldest + GUARDED_WINDOW);
            if let Some(frees) = frees.filter(|at| now < *at) {
                return Err(frees);
            }
        }
        // Charged from when it was due if the caller was already waiting then, so a late
        // wake-up costs no rate; an idle spell (the caller came later) is not caught up.
        let charged = now
            .checked_sub(self.forgiven)
            .map_or(arrived, |earliest| earliest.max(arrived));
        let from = due.max(charged);
        s.next = Some(from.checked_add(s.period).unwrap_or(from));
        if s.window_cap > 0 {
            if s.recent.len() >= s.window_cap {
                s.recent.pop_front();
            }
            s.recent.push_back(now);
        }
        Ok(())
    }

    /// Holds all dispatch for `delay` (capped at [`MAX_PAUSE`]); a longer pause already in
    /// force is kept.
    pub fn pause_for(&self, delay: Duration) {
        let until = Instant::now() + delay.min(MAX_PAUSE);
        let mut paused = self
            .paused_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    /// Sets the steady rate (clamped to the pacer's maximum), from the next permit on. The
    /// permit already scheduled keeps its instant: a slower rate spaces the ones after it, a
    /// faster one brings them closer, and the order of waiters is untouched.
    pub fn set_rate(&self, rate: f64) {
        if !(rate.is_finite() && rate > 0.0) {
            return;
        }
        let rate = rate.min(self.max_rate);
        let (period, tolerance) = spacing(rate, self.burst);
        let mut s = self
            .schedule
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.period = period;
        s.tolerance = tolerance;
        self.rate_micros.store(micros(rate), Ordering::Relaxed);
    }

    /// The steady rate now, in requests per second.
    #[must_use]
    pub fn rate(&self) -> f64 {
        #[expect(
            clippy::cast_precision_loss,
            reason = "millionths of a rate of at most a million"
        )]
        let micros = self.rate_micros.load(Ordering::Relaxed) as f64;
        micros / 1e6
    }

    /// The highest rate the pacer may be set to.
    #[must_use]
    pub fn max_rate(&self) -> f64 {
        self.max_rate
    }

    /// Requests sent so far (permits handed out).
    #[must_use]
    pub fn permits(&self) -> u64 {
        self.permits.load(Ordering::Relaxed)
    }
}

/// Period and burst tolerance of `rate` permits a second.
fn spacing(rate: f64, burst: u32) -> (Duration, Duration) {
    let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1));
    (period, period.saturating_mul(burst - 1))
}

#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a positive rate of at most a million, in millionths"
)]
fn micros(rate: f64) -> u64 {
    (rate * 1e6).round() as u64
}

/// Counts a caller of [`Pacer::acquire_first`] out however it leaves, and lets the queue go on.
struct First<'a>(&'a Pacer);

impl Drop for First<'_> {
    fn drop(&mut self) {
        self.0.first.fetch_sub(1, Ordering::AcqRel);
        self.0.first_done.notify_waiters();
    }
}

/// Counts a queued caller out however it leaves (permit, cancel, or its future dropped).
struct Dequeue<'a>(&'a AtomicUsize);

impl Drop for Dequeue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What one wait of [`Pacer::acquire`] and [`Pacer::acquire_first`] came to.
enum Step {
    /// `cancel` fired: no permit.
    Cancelled,
    /// Nothing to wait for, or the permit was taken.
    Granted,
    /// Slept: look again.
    Again,
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn permits_in(pacer: &Pacer, window: Duration) -> u64 {
        let cancel = CancellationToken::new();
        let end = Instant::now() + window;
        let mut n = 0;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(end) => return n,
                ok = pacer.acquire(&cancel) => { assert!(ok); n += 1; }
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_steady_rate_is_allowed() {
        let pacer = Pacer::new(50.0, NonZeroU32::new(5).unwrap());
        let first_second = permits_in(&pacer, Duration::from_millis(999)).await;
        assert!((54..=55).contains(&first_second), "{first_second}");
        let next_second = permits_in(&pacer, Duration::from_secs(1)).await;
        assert!((49..=51).contains(&next_second), "{next_second}");
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_are_served_in_arrival_order() {
        let pacer = std::sync::Arc::new(Pacer::new(10.0, NonZeroU32::new(1).unwrap()));
        let order = std::sync::Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (pacer, order) = (pacer.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                assert!(pacer.acquire(&CancellationToken::new()).await);
                order.lock().unwrap().push((i, Instant::now()));
            }));
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap();
        let ids: Vec<_> = order.iter().map(|(i, _)| *i).collect();
        assert_eq!(ids, (0..20).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn decimal_rates_space_requests_seconds_apart() {
        let pacer = Pacer::new(0.5, NonZeroU32::new(1).unwrap());
        assert_eq!(permits_in(&pacer, Duration::from_millis(5_999)).await, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_caller_until_it_ends() {
        let pacer = Pacer::new(1000.0, NonZeroU32::new(10).unwrap());
        pacer.pause_for(Duration::from_secs(2));
        let start = Instant::now();
        assert!(pacer.acquire(&CancellationToken::new()).await);
        assert!(start.elapsed() >= Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn pauses_are_capped_at_five_minutes() {
        let pacer = Pacer::new(10.0, NonZeroU32::new(1).unwrap());
        pacer.pause_for(Duration::from_secs(3600));
        let start = Instant::now();
        assert!(pacer.acquire(&CancellationToken::new()).await);
        assert_eq!(start.elapsed().as_secs(), MAX_PAUSE.as_secs());
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_wake_up_is_caught_up_without_exceeding_rate_plus_burst() {
        let pacer = Pacer::new(1000.0, NonZeroU32::new(1).unwrap());
        let start = Instant::now();
        let mut granted = Vec::new();
        for _ in 0..3000 {
            // A waiter that was queued all along, woken 0.7 ms late now and then, as tokio's
            // 1 ms timer does.
            let arrived = start;
            let mut now = Instant::now();
            loop {
                match pacer.take(now, arrived) {
                    Ok(()) => break,
                    Err(at) => {
                        let late = if granted.len() % 3 == 0 { 700 } else { 0 };
                        tokio::time::sleep_until(at + Duration::from_micros(late)).await;
                        now = Instant::now();
                    }
                }
            }
            granted.push(now);
        }
        let span = *granted.last().unwrap() - granted[0];
        // 3000 permits at 1000/s kept their pace despite the late wakes (dropping the lateness
        // would take 3.23 s; the guarded window costs up to 1%).
        assert!(span < Duration::from_millis(3040), "{span:?}");
        for (i, at) in granted.iter().enumerate() {
            let in_window = granted[i..]
                .iter()
                .take_while(|t| **t - *at < WINDOW)
                .count();
            assert!(in_window <= 1001, "{in_window} permits within one second");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_spell_is_not_caught_up() {
        let pacer = Pacer::new(10.0, NonZeroU32::new(2).unwrap());
        let cancel = CancellationToken::new();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let start = Instant::now();
        for _ in 0..3 {
            assert!(pacer.acquire(&cancel).await);
        }
        // Two at once (the burst), then the steady 100 ms.
        assert_eq!(start.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_caller_goes_ahead_of_the_queue_within_the_rate() {
        let pacer = std::sync::Arc::new(Pacer::new(4.0, NonZeroU32::new(1).unwrap()));
        let cancel = CancellationToken::new();
        assert!(pacer.acquire(&cancel).await);
        let start = Instant::now();
        let mut queued = Vec::new();
        for _ in 0..16 {
            let (pacer, cancel) = (pacer.clone(), cancel.clone());
            queued.push(tokio::spawn(async move {
                assert!(pacer.acquire(&cancel).await);
            }));
            tokio::task::yield_now().await;
        }
        assert!(pacer.acquire_first(&cancel).await);
        // The next permit of the rate, not the seventeenth.
        assert_eq!(start.elapsed(), Duration::from_millis(250));
        for t in queued {
            t.await.unwrap();
        }
        // Still one permit per period for everyone: 17 after the first, 250 ms apart.
        assert_eq!(start.elapsed(), Duration::from_millis(17 * 250));
        assert_eq!(pacer.permits(), 18);
    }

    #[tokio::test(start_paused = true)]
    async fn cancel_releases_a_waiting_caller_without_a_permit() {
        let pacer = Pacer::new(0.1, NonZeroU32::new(1).unwrap());
        let cancel = CancellationToken::new();
        assert!(pacer.acquire(&cancel).await);
        cancel.cancel();
        assert!(!pacer.acquire(&cancel).await);
        assert_eq!(pacer.permits(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_rate_applies_from_the_next_permit() {
        let pacer = Pacer::adjustable(10.0, 100.0, NonZeroU32::MIN);
        assert_eq!(permits_in(&pacer, Duration::from_millis(999)).await, 10);
        pacer.set_rate(50.0);
        assert!((pacer.rate() - 50.0).abs() < 1e-9);
        let next = permits_in(&pacer, Duration::from_secs(1)).await;
        assert!((49..=51).contains(&next), "{next}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_set_above_the_maximum_is_held_at_it_token_fetches_included() {
        let pacer = std::sync::Arc::new(Pacer::adjustable(10.0, 40.0, NonZeroU32::new(2).unwrap()));
        pacer.set_rate(10_000.0);
        assert!((pacer.rate() - 40.0).abs() < 1e-9);
        let cancel = CancellationToken::new();
        let granted = std::sync::Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (pacer, cancel, granted) = (pacer.clone(), cancel.clone(), granted.clone());
            tasks.push(tokio::spawn(async move {
                for n in 0..30 {
                    // Every fifth permit of one caller is a token fetch's.
                    let ok = if i == 0 && n % 5 == 0 {
                        pacer.acquire_first(&cancel).await
                    } else {
                        pacer.acquire(&cancel).await
                    };
                    assert!(ok);
                    granted.lock().unwrap().push(Instant::now());
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut granted = granted.lock().unwrap().clone();
        granted.sort();
        assert_eq!(granted.len(), 240);
        assert_eq!(pacer.permits(), 240);
        for (i, at) in granted.iter().enumerate() {
            let in_window = granted[i..]
                .iter()
                .take_while(|t| **t - *at < WINDOW)
                .count();
            assert!(in_window <= 42, "{in_window} permits within one second");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_keep_their_arrival_order_across_a_change_of_rate() {
        let pacer = std::sync::Arc::new(Pacer::adjustable(10.0, 100.0, NonZeroU32::MIN));
        let order = std::sync::Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (pacer, order) = (pacer.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                assert!(pacer.acquire(&CancellationToken::new()).await);
                order.lock().unwrap().push(i);
            }));
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(450)).await;
        pacer.set_rate(40.0);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
    }
}
