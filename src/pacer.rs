//! The global pace of a run: one rate limiter (governor, on tokio's clock) that every request
//! passes through — first attempts, retries and token fetches alike — plus the global pause a
//! `Retry-After` imposes on all dispatch. Depends on nothing else in the crate.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Longest pause a server's `Retry-After` may impose (design.md §4).
pub const MAX_PAUSE: Duration = Duration::from_secs(300);

/// governor's clock on top of tokio time, so paused-time tests drive the limiter too.
#[derive(Debug, Clone)]
pub struct TokioClock {
    start: Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.start)
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>;

/// Hands out one permit per request, at `rate` per second with `burst` after an idle spell.
#[derive(Debug)]
pub struct Pacer {
    limiter: Limiter,
    clock: TokioClock,
    /// Dispatch is held until this instant (a 429/503 `Retry-After`).
    paused_until: Mutex<Option<Instant>>,
    /// Permits handed out: the number of requests sent.
    permits: AtomicU64,
    /// Waiters take turns in arrival order (tokio's mutex is fair): without it, a waiter can
    /// lose the race for the next permit again and again, and wait seconds at a modest rate.
    turn: tokio::sync::Mutex<()>,
}

impl Pacer {
    /// A pacer for `rate` requests per second (decimals allowed) and `burst`.
    #[must_use]
    pub fn new(rate: f64, burst: NonZeroU32) -> Self {
        let period = Duration::from_secs_f64(1.0 / rate).max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(burst);
        let clock = TokioClock {
            start: Instant::now(),
        };
        Self {
            limiter: RateLimiter::direct_with_clock(quota, clock.clone()),
            clock,
            paused_until: Mutex::new(None),
            permits: AtomicU64::new(0),
            turn: tokio::sync::Mutex::new(()),
        }
    }

    /// Waits for the global pause and a rate permit. Returns false, without a permit, as soon
    /// as `cancel` fires.
    pub async fn acquire(&self, cancel: &CancellationToken) -> bool {
        let _turn = tokio::select! {
            () = cancel.cancelled() => return false,
            turn = self.turn.lock() => turn,
        };
        loop {
            let paused = *self
                .paused_until
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(until) = paused.filter(|u| *u > Instant::now()) {
                tokio::select! {
                    () = cancel.cancelled() => return false,
                    () = tokio::time::sleep_until(until) => continue,
                }
            }
            match self.limiter.check() {
                Ok(()) => {
                    self.permits.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                Err(not_until) => {
                    let wait = not_until.wait_time_from(self.clock.now());
                    tokio::select! {
                        () = cancel.cancelled() => return false,
                        () = tokio::time::sleep(wait.max(Duration::from_micros(1))) => {}
                    }
                }
            }
        }
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

    /// Requests sent so far (permits handed out).
    #[must_use]
    pub fn permits(&self) -> u64 {
        self.permits.load(Ordering::Relaxed)
    }
}

// governor's `Reference` is implemented for `Duration`; this assertion keeps the clock honest.
const _: fn() = || {
    fn is_reference<T: Reference>() {}
    is_reference::<Duration>();
};

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
    async fn cancel_releases_a_waiting_caller_without_a_permit() {
        let pacer = Pacer::new(0.1, NonZeroU32::new(1).unwrap());
        let cancel = CancellationToken::new();
        assert!(pacer.acquire(&cancel).await);
        cancel.cancel();
        assert!(!pacer.acquire(&cancel).await);
        assert_eq!(pacer.permits(), 1);
    }
}
