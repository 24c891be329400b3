//! The API gateway in front of the simulated appliance, in one of three shapes that real sites
//! run: an nginx `limit_req` leaky bucket (429, no headers), Kong's rate-limiting plugin (fixed
//! one-second windows, `RateLimit-*` headers on every answer, 429 with `Retry-After`), or no
//! refusing gateway but an appliance that serves N requests a second through a queue (latency
//! grows, nothing is refused). Pure bookkeeping on instants handed in by the caller, so the
//! unit tests below run on paused tokio time; `api` turns the decisions into answers.
//!
//! Only the credential routes are limited. The token route is a separate route in real
//! deployments (Kong attaches plugins per route or service, and an nginx `limit_req` sits in
//! the API's `location`), and a run fetches a token about once an hour, so counting it would
//! change no figure.

use std::num::NonZeroU32;
use std::time::Duration;

use tokio::time::Instant;

/// nginx's `burst` when `--gateway-burst` is not given.
pub const NGINX_DEFAULT_BURST: u32 = 5;

const SECOND: Duration = Duration::from_secs(1);

/// Which gateway sits in front of the credential API, and its limit. Every client shares one
/// budget: all of them come from 127.0.0.1, so nginx's `$binary_remote_addr` zone and Kong's
/// `limit_by = ip` both see one key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Gateway {
    /// Nothing limits the API.
    #[default]
    Open,
    /// `limit_req zone=… rate={rate}r/s burst={burst} nodelay; limit_req_status 429;`
    Nginx {
        /// Requests per second the bucket leaks.
        rate: NonZeroU32,
        /// Requests above the rate that are let through at once.
        burst: u32,
    },
    /// Kong's rate-limiting plugin with `second = limit`.
    Kong {
        /// Requests per fixed one-second window.
        limit: NonZeroU32,
    },
    /// No refusals: the appliance completes `per_second` requests a second, first come first
    /// served, so above that rate requests queue and latency grows.
    Capacity {
        /// Requests per second the appliance sustains.
        per_second: NonZeroU32,
    },
}

impl Gateway {
    /// nginx with the given rate and burst (`None` for a zero rate).
    #[must_use]
    pub fn nginx(rate: u32, burst: u32) -> Option<Self> {
        NonZeroU32::new(rate).map(|rate| Self::Nginx { rate, burst })
    }

    /// Kong at `limit` per second (`None` for zero).
    #[must_use]
    pub fn kong(limit: u32) -> Option<Self> {
        NonZeroU32::new(limit).map(|limit| Self::Kong { limit })
    }

    /// An appliance that sustains `per_second` requests a second (`None` for zero).
    #[must_use]
    pub fn capacity(per_second: u32) -> Option<Self> {
        NonZeroU32::new(per_second).map(|per_second| Self::Capacity { per_second })
    }
}

/// What Kong's plugin tells the client about its window, on every answer it lets through and
/// on its 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KongWindow {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    /// Whole seconds until the window resets, at least 1 (Kong rounds up).
    pub(crate) reset: u64,
}

/// The gateway's decision on one API request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Through to the appliance; Kong also stamps its window on the answer.
    Pass(Option<KongWindow>),
    /// nginx's plain 429.
    NginxRefused,
    /// Kong's 429 with `Retry-After`.
    KongRefused(KongWindow),
}

/// The gateway's state: one bucket, window or queue, whichever the mode uses.
#[derive(Debug)]
pub(crate) struct Limiter {
    gateway: Gateway,
    /// Time zero of nginx's millisecond clock and of Kong's aligned windows.
    epoch: Instant,
    /// nginx: excess in thousandths of a request, and the millisecond clock at the last
    /// accepted request (nginx keeps both in integers, so does this).
    excess_milli: u64,
    last_ms: Option<u64>,
    /// Kong: the current window's index (whole seconds since `epoch`) and requests let
    /// through in it.
    window: (u64, u32),
    /// Capacity: when the appliance can start its next request.
    free_at: Instant,
}

impl Limiter {
    pub(crate) fn new(gateway: Gateway, epoch: Instant) -> Self {
        Self {
            gateway,
            epoch,
            excess_milli: 0,
            last_ms: None,
            window: (0, 0),
            free_at: epoch,
        }
    }

    /// Decides on an API request arriving at `now` (capacity mode passes everything; its cost
    /// is [`Limiter::queue`]).
    pub(crate) fn admit(&mut self, now: Instant) -> Admission {
        match self.gateway {
            Gateway::Open | Gateway::Capacity { .. } => Admission::Pass(None),
            Gateway::Nginx { rate, burst } => self.nginx(now, rate.get(), burst),
            Gateway::Kong { limit } => self.kong(now, limit.get()),
        }
    }

    /// `ngx_http_limit_req_lookup` for one zone key, with `nodelay`:
    /// `excess = max(0, excess - rate * ms / 1000 + 1)` (in thousandths of a request, on a
    /// millisecond clock), refused when above the burst;
    /// a refused request changes neither the excess nor the clock. (So from idle `burst + 1`
    /// requests pass at once: the first one finds the bucket empty.)
    fn nginx(&mut self, now: Instant, rate: u32, burst: u32) -> Admission {
        let now_ms = u64::try_from(now.saturating_duration_since(self.epoch).as_millis())
            .unwrap_or(u64::MAX);
        let Some(last_ms) = self.last_ms else {
            // A new node in the zone starts with no excess and is let through.
            self.last_ms = Some(now_ms);
            return Admission::Pass(None);
        };
        let ms = now_ms.saturating_sub(last_ms);
        // The clamp comes after adding this request, as in nginx: a bucket drained for a whole
        // interval or more takes the request at zero excess, so `burst 0` passes a steady
        // `rate` rather than refusing everything after the first request.
        let leaked = u64::from(rate).saturating_mul(ms);
        let excess = (self.excess_milli + 1000).saturating_sub(leaked);
        if excess > u64::from(burst) * 1000 {
            return Admission::NginxRefused;
        }
        self.excess_milli = excess;
        if ms > 0 {
            self.last_ms = Some(now_ms);
        }
        Admission::Pass(None)
    }

    /// Kong's fixed windows, aligned on whole seconds as Kong aligns them on the clock; a
    /// refused request is not counted (Kong increments only what it lets through).
    fn kong(&mut self, now: Instant, limit: u32) -> Admission {
        let since = now.saturating_duration_since(self.epoch);
        let index = since.as_secs();
        if self.window.0 != index {
            self.window = (index, 0);
        }
        let into = since.saturating_sub(Duration::from_secs(index));
        let reset = whole_seconds(SECOND.saturating_sub(into));
        if self.window.1 >= limit {
            return Admission::KongRefused(KongWindow {
                limit,
                remaining: 0,
                reset,
            });
        }
        self.window.1 += 1;
        Admission::Pass(Some(KongWindow {
            limit,
            remaining: limit - self.window.1,
            reset,
        }))
    }

    /// Capacity mode: how long a request that reaches the appliance at `now` waits in its
    /// queue before the appliance takes it. The appliance starts one request every
    /// `1 / per_second`, first come first served, and the start overlaps the configured base
    /// latency: below `per_second` requests wait for nothing and take the base latency; above
    /// it the queue, and the wait, grow. Zero in the other modes.
    pub(crate) fn queue(&mut self, now: Instant) -> Duration {
        let Gateway::Capacity { per_second } = self.gateway else {
            return Duration::ZERO;
        };
        let start = self.free_at.max(now);
        self.free_at = start + SECOND / per_second.get();
        start - now
    }
}

/// Rounds up to whole seconds, at least 1.
fn whole_seconds(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn passes(a: Admission) -> bool {
        matches!(a, Admission::Pass(_))
    }

    #[tokio::test(start_paused = true)]
    async fn nginx_lets_burst_plus_one_through_at_once_then_one_per_interval() {
        let t0 = Instant::now();
        let mut nginx = Limiter::new(Gateway::nginx(40, 5).expect("rate"), t0);
        // From idle: the first request finds an empty bucket, the next five fill the burst.
        let at_once: Vec<bool> = (0..8).map(|_| passes(nginx.admit(t0))).collect();
        assert_eq!(at_once, [true, true, true, true, true, true, false, false]);
        // 40 r/s leaks one request per 25 ms: 24 ms is not enough, 25 ms is.
        assert!(!passes(nginx.admit(t0 + ms(24))));
        assert!(passes(nginx.admit(t0 + ms(25))));
        assert!(!passes(nginx.admit(t0 + ms(25))));
        assert!(passes(nginx.admit(t0 + ms(50))));
    }

    #[tokio::test(start_paused = true)]
    async fn nginx_refusals_do_not_fill_the_bucket() {
        let t0 = Instant::now();
        let mut nginx = Limiter::new(Gateway::nginx(10, 0).expect("rate"), t0);
        assert!(passes(nginx.admit(t0)));
        // A hundred refused requests in the next 99 ms leave the bucket as it was ...
        for at in 1..100 {
            assert_eq!(nginx.admit(t0 + ms(at)), Admission::NginxRefused);
        }
        // ... so the request at 100 ms (one interval at 10 r/s) passes.
        assert!(passes(nginx.admit(t0 + ms(100))));
    }

    #[tokio::test(start_paused = true)]
    async fn nginx_at_its_rate_refuses_nothing_and_above_it_refuses_the_excess() {
        let t0 = Instant::now();
        let mut steady = Limiter::new(Gateway::nginx(40, 5).expect("rate"), t0);
        assert!((0..400).all(|i| passes(steady.admit(t0 + ms(25 * i)))));
        // Twice the rate for ten seconds (the last request at 9.9875 s): what leaks in that
        // time, 399.5 requests, plus the burst, and the first request that found it empty.
        let mut fast = Limiter::new(Gateway::nginx(40, 5).expect("rate"), t0);
        let passed = (0..800)
            .filter(|i| passes(fast.admit(t0 + Duration::from_micros(12_500 * i))))
            .count();
        assert!((399..=405).contains(&passed), "{passed}");
    }

    #[tokio::test(start_paused = true)]
    async fn kong_counts_fixed_aligned_windows_and_reports_what_remains() {
        let t0 = Instant::now();
        let mut kong = Limiter::new(Gateway::kong(3).expect("limit"), t0);
        let window = |remaining, reset| KongWindow {
            limit: 3,
            remaining,
            reset,
        };
        assert_eq!(
            kong.admit(t0 + ms(100)),
            Admission::Pass(Some(window(2, 1)))
        );
        assert_eq!(
            kong.admit(t0 + ms(200)),
            Admission::Pass(Some(window(1, 1)))
        );
        assert_eq!(
            kong.admit(t0 + ms(900)),
            Admission::Pass(Some(window(0, 1)))
        );
        assert_eq!(
            kong.admit(t0 + ms(950)),
            Admission::KongRefused(window(0, 1))
        );
        // The window is the clock's second, not a second from the first request.
        assert_eq!(
            kong.admit(t0 + ms(1000)),
            Admission::Pass(Some(window(2, 1)))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn capacity_queues_above_its_rate_and_waits_for_nothing_below_it() {
        let t0 = Instant::now();
        let mut appliance = Limiter::new(Gateway::capacity(100).expect("rate"), t0);
        assert!(passes(appliance.admit(t0)));
        // Requests 10 ms apart (its rate) never wait.
        assert!((0..50).all(|i| appliance.queue(t0 + ms(10 * i)).is_zero()));
        // Five at once: each waits 10 ms more than the one before.
        let t1 = t0 + Duration::from_secs(1);
        let waits: Vec<Duration> = (0..5).map(|_| appliance.queue(t1)).collect();
        assert_eq!(waits, [ms(0), ms(10), ms(20), ms(30), ms(40)]);
        // The queue drains at its rate: 25 ms later the next one still waits 25 ms.
        assert_eq!(appliance.queue(t1 + ms(25)), ms(25));
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_gateway_passes_everything_without_waiting() {
        let t0 = Instant::now();
        let mut open = Limiter::new(Gateway::Open, t0);
        assert!((0..1000).all(|_| open.admit(t0) == Admission::Pass(None)));
        assert!(open.queue(t0).is_zero());
        assert_eq!(Gateway::kong(0), None);
    }
}
