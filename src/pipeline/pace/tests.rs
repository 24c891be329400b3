//! `--rate auto` against model gateways under paused tokio time: the totals the benchmark
//! judges (virtual time against `ids / L`, the share of 429s, latency at the pace found) as
//! counts and virtual time, side by side with a fixed `--rate L` where the limit is known.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{AutoRate, Pace};
use crate::attempt::{Answer, AnswerClass, Backend, GatewayLimit};
use crate::auth::AuthError;
use crate::backoff::Backoff;
use crate::control::Control;
use crate::input::InputItem;
use crate::metrics::Metrics;
use crate::model::{IdRecord, Operation, OutcomeKind};
use crate::pacer::Pacer;
use crate::pipeline::{Settings, run};

/// The appliance behind every gateway answers in this long unloaded.
const BASE: Duration = Duration::from_millis(20);

/// nginx `limit_req` burst.
const NGINX_BURST: f64 = 5.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// nginx `limit_req`: a leaky bucket, 429 without headers.
    Nginx,
    /// Kong's rate-limiting plugin: fixed one-second windows, `RateLimit-*` on every answer,
    /// 429 with `Retry-After`.
    Kong,
    /// The simulator's Kong on main: windows that open with the first request after the last
    /// one closed, refused requests counted too, and the headers on the 429 only.
    KongOn429,
    /// Nothing refused: one FIFO server that finishes a request every `1/N` s, plus [`BASE`].
    Capacity,
}

/// The gateway's state (one per mode is used).
#[derive(Debug, Default)]
struct State {
    /// nginx: the bucket's excess and when it was last let through.
    excess: f64,
    last: Option<Instant>,
    /// Kong: the current window's index (for `KongOn429`, `last` is when it opened) and the requests counted in it.
    window: u64,
    count: u64,
    /// Capacity: when the server is free again.
    free_at: Option<Instant>,
}

/// One request as the gateway saw it.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    id: u64,
    at: Instant,
    refused: bool,
    latency: Duration,
}

/// A model gateway in front of an appliance that applies every change.
struct Gateway {
    mode: Mode,
    limit: f64,
    started: Instant,
    state: Mutex<State>,
    log: Mutex<Vec<Arrival>>,
    /// Kong: requests per second from a client other than the runs driven here.
    background: f64,
    /// Non-zero: each answer takes up to 4 ms more, varying per request (a real network's
    /// jitter, which breaks the lockstep of shards started together).
    seed: u64,
}

impl Gateway {
    fn new(mode: Mode, limit: f64) -> Arc<Self> {
        Arc::new(Self {
            mode,
            limit,
            started: Instant::now(),
            state: Mutex::default(),
            log: Mutex::default(),
            seed: 0,
            background: 0.0,
        })
    }

    /// [`Gateway::new`] with jitter drawn from `seed`.
    fn jittered(mode: Mode, limit: f64, seed: u64) -> Arc<Self> {
        let mut gateway = Self::new(mode, limit);
        Arc::get_mut(&mut gateway).unwrap().seed = seed;
        gateway
    }

    /// The extra time answer `n` takes: up to 4 ms when jittered.
    fn jitter(&self, n: u64) -> Duration {
        if self.seed == 0 {
            return Duration::ZERO;
        }
        let mut x = n ^ self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Duration::from_micros((x ^ (x >> 31)) % 4_000)
    }

    /// What the gateway does with a request arriving now: `Err` is its refusal, `Ok` the
    /// time until the answer and the headers it carries.
    fn admit(&self, now: Instant) -> Result<(Duration, Option<GatewayLimit>), Answer> {
        let mut s = self.state.lock().unwrap();
        match self.mode {
            Mode::Nginx => {
                let dt = s.last.map_or(0.0, |t| now.duration_since(t).as_secs_f64());
                let excess = (s.excess - self.limit * dt).max(0.0) + 1.0;
                if excess > NGINX_BURST {
                    return Err(refusal(None, None));
                }
                s.excess = excess;
                s.last = Some(now);
                Ok((BASE, None))
            }
            Mode::Kong => {
                let since = now.duration_since(self.started);
                let window = since.as_secs();
                if window != s.window {
                    s.window = window;
                    s.count = 0;
                }
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "a small whole limit"
                )]
                let limit = self.limit as u64;
                // Kong rounds the time to the window's end up to whole seconds: one, here.
                let headers = |remaining| GatewayLimit {
                    limit,
                    window: Duration::from_secs(1),
                    remaining: Some(remaining),
                    reset: Some(Duration::from_secs(1)),
                };
                // Another client's requests, spread evenly over the window, count too.
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "a small whole count"
                )]
                let others = (self.background * f64::from(since.subsec_nanos()) / 1e9) as u64;
                let counted = s.count + others;
                if counted >= limit {
                    return Err(refusal(Some(Duration::from_secs(1)), Some(headers(0))));
                }
                s.count += 1;
                Ok((BASE, Some(headers(limit - counted - 1))))
            }
            Mode::KongOn429 => {
                let opened = s
                    .last
                    .filter(|t| now.duration_since(*t) < Duration::from_secs(1));
                if opened.is_none() {
                    s.last = Some(now);
                    s.count = 0;
                }
                s.count += 1;
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "a small whole limit"
                )]
                let limit = self.limit as u64;
                if s.count > limit {
                    let headers = GatewayLimit {
                        limit,
                        window: Duration::from_secs(1),
                        remaining: Some(0),
                        reset: Some(Duration::from_secs(1)),
                    };
                    return Err(refusal(Some(Duration::from_secs(1)), Some(headers)));
                }
                Ok((BASE, None))
            }
            Mode::Capacity => {
                let start = s.free_at.map_or(now, |f| f.max(now));
                let finish = start + Duration::from_secs_f64(1.0 / self.limit);
                s.free_at = Some(finish);
                Ok((finish - now + BASE, None))
            }
        }
    }

    fn arrivals(&self) -> Vec<Arrival> {
        self.log.lock().unwrap().clone()
    }

    /// The unloaded latency: a lone request's.
    fn unloaded(&self) -> Duration {
        match self.mode {
            Mode::Capacity => BASE + Duration::from_secs_f64(1.0 / self.limit),
            _ => BASE,
        }
    }
}

fn refusal(retry_after: Option<Duration>, gateway: Option<GatewayLimit>) -> Answer {
    Answer {
        class: AnswerClass::RateLimited,
        http_status: Some(429),
        api_code: None,
        message: "API rate limit exceeded".into(),
        retry_after,
        maybe_applied: false,
        gateway,
    }
}

impl Backend for Gateway {
    type Token = ();

    async fn token(&self) -> Result<(), AuthError> {
        Ok(())
    }

    async fn refresh(&self, _rejected: &()) -> Result<(), AuthError> {
        Ok(())
    }

    fn is_fresh(&self, _token: &()) -> bool {
        true
    }

    async fn send(&self, id: u64, _token: &()) -> Answer {
        let now = Instant::now();
        let admitted = self.admit(now);
        let n = self.log.lock().unwrap().len() as u64;
        let (latency, answer) = match admitted {
            Ok((latency, gateway)) => (
                latency,
                Answer {
                    class: AnswerClass::Applied,
                    http_status: Some(200),
                    api_code: None,
                    message: "ok".into(),
                    retry_after: None,
                    maybe_applied: false,
                    gateway,
                },
            ),
            // A gateway answers for itself at once.
            Err(answer) => (Duration::from_millis(1), answer),
        };
        self.log.lock().unwrap().push(Arrival {
            id,
            at: now,
            refused: answer.http_status == Some(429),
            latency,
        });
        tokio::time::sleep(latency + self.jitter(n)).await;
        answer
    }
}

/// What one run against a gateway came to.
struct Run {
    /// Virtual time from start to the last outcome.
    took: Duration,
    applied: usize,
    throttled: u64,
    found: Option<f64>,
    arrivals: Vec<Arrival>,
}

/// Runs `ids` ids at concurrency 16 through `gateway`, at a fixed `rate` or with `auto`.
async fn drive(gateway: Arc<Gateway>, ids: u64, rate: f64, auto: bool) -> Run {
    drive_ids(gateway, 1..=ids, rate, auto, 1).await
}

/// [`drive`] over the ids `ids`.
async fn drive_ids(
    gateway: Arc<Gateway>,
    ids: std::ops::RangeInclusive<u64>,
    rate: f64,
    auto: bool,
    sharers: u64,
) -> Run {
    let started = Instant::now();
    let pacer = Arc::new(Pacer::new(rate, NonZeroU32::MIN));
    let pace = auto.then(|| {
        Arc::new(Pace::new(
            Arc::clone(&pacer),
            AutoRate {
                ceiling: rate,
                sharers,
            },
        ))
    });
    let settings = Settings {
        operation: Operation::Enable,
        concurrency: 16,
        max_attempts: 5,
        backoff: Backoff::default(),
        max_outage: Duration::from_secs(300),
        pace: pace.clone(),
    };
    let range = ids.clone();
    let metrics = Arc::new(Metrics::default());
    let control = Arc::new(Control::new());
    let (in_tx, in_rx) = mpsc::channel(64);
    tokio::spawn(async move {
        for id in ids {
            let item = Ok(InputItem::Id(IdRecord { line: id + 1, id }, Box::default()));
            if in_tx.send(item).await.is_err() {
                break;
            }
        }
    });
    let (out_tx, mut out_rx) = mpsc::channel::<crate::model::Outcome>(64);
    let collector = tokio::spawn(async move {
        let mut applied = 0;
        while let Some(o) = out_rx.recv().await {
            if o.kind == OutcomeKind::Enabled {
                applied += 1;
            }
        }
        applied
    });
    run(
        Arc::clone(&gateway),
        pacer,
        settings,
        Arc::clone(&metrics),
        control,
        in_rx,
        out_tx,
    )
    .await;
    let arrivals = gateway.arrivals();
    // The 429s as the gateway counted them, and as the run did.
    let throttled = arrivals
        .iter()
        .filter(|a| a.refused && range.contains(&a.id))
        .count() as u64;
    assert_eq!(metrics.snapshot().throttled, throttled);
    Run {
        took: started.elapsed(),
        applied: collector.await.unwrap(),
        throttled,
        found: pace.and_then(|p| p.found()),
        arrivals,
    }
}

/// Runs auto (ceiling `ceiling`) and the known `--rate limit` side by side; checks every id was
/// applied in both and returns (auto, known).
async fn side_by_side(mode: Mode, limit: f64, ceiling: f64, ids: u64) -> (Run, Run) {
    let auto = drive(Gateway::new(mode, limit), ids, ceiling, true).await;
    let known = drive(Gateway::new(mode, limit), ids, limit, false).await;
    let ids = usize::try_from(ids).unwrap();
    assert_eq!(auto.applied, ids, "auto: every id applied");
    assert_eq!(known.applied, ids, "known: every id applied");
    eprintln!(
        "{mode:?} L={limit}: auto {:.2} s vs known {:.2} s ({:.3}x), 429s {} ({:.2}% of ids), pace found {:?}",
        auto.took.as_secs_f64(),
        known.took.as_secs_f64(),
        auto.took.as_secs_f64() / known.took.as_secs_f64(),
        auto.throttled,
        share(auto.throttled, ids),
        auto.found,
    );
    (auto, known)
}

#[expect(clippy::cast_precision_loss, reason = "counts")]
fn share(n: u64, of: usize) -> f64 {
    100.0 * n as f64 / of as f64
}

fn ratio(auto: &Run, known: &Run) -> f64 {
    auto.took.as_secs_f64() / known.took.as_secs_f64()
}

const IDS: u64 = 2_000;

#[tokio::test(start_paused = true)]
async fn behind_nginx_at_40_auto_finishes_near_the_known_pace_with_few_429s() {
    let (auto, known) = side_by_side(Mode::Nginx, 40.0, 1000.0, IDS).await;
    assert!(ratio(&auto, &known) <= 1.15, "{:.3}", ratio(&auto, &known));
    assert!(share(auto.throttled, 2000) <= 3.0, "{}", auto.throttled);
}

#[tokio::test(start_paused = true)]
async fn behind_nginx_at_200_auto_finishes_near_the_known_pace_with_few_429s() {
    let (auto, known) = side_by_side(Mode::Nginx, 200.0, 1000.0, IDS).await;
    assert!(ratio(&auto, &known) <= 1.15, "{:.3}", ratio(&auto, &known));
    assert!(share(auto.throttled, 2000) <= 3.0, "{}", auto.throttled);
}

#[tokio::test(start_paused = true)]
async fn behind_kong_at_40_auto_paces_by_its_headers_with_almost_no_429s() {
    let (auto, known) = side_by_side(Mode::Kong, 40.0, 1000.0, IDS).await;
    assert!(ratio(&auto, &known) <= 1.15, "{:.3}", ratio(&auto, &known));
    assert!(share(auto.throttled, 2000) <= 1.0, "{}", auto.throttled);
}

#[tokio::test(start_paused = true)]
async fn behind_kong_at_200_auto_paces_by_its_headers_with_almost_no_429s() {
    let (auto, known) = side_by_side(Mode::Kong, 200.0, 1000.0, IDS).await;
    assert!(ratio(&auto, &known) <= 1.15, "{:.3}", ratio(&auto, &known));
    assert!(share(auto.throttled, 2000) <= 1.0, "{}", auto.throttled);
}

/// Mean latency of the answers in the second half of the run, against the unloaded one.
fn latency_ratio(run: &Run, unloaded: Duration) -> f64 {
    let late = &run.arrivals[run.arrivals.len() / 2..];
    let total: Duration = late.iter().map(|a| a.latency).sum();
    let mean = total / u32::try_from(late.len()).unwrap();
    mean.as_secs_f64() / unloaded.as_secs_f64()
}

async fn capacity(limit: f64) {
    let (auto, known) = side_by_side(Mode::Capacity, limit, 1000.0, IDS).await;
    let unloaded = Gateway::new(Mode::Capacity, limit).unloaded();
    let latency = latency_ratio(&auto, unloaded);
    eprintln!("Capacity N={limit}: latency at the pace found {latency:.2}x unloaded");
    assert!(ratio(&auto, &known) <= 1.15, "{:.3}", ratio(&auto, &known));
    assert!(latency <= 2.0, "{latency:.2}");
    assert_eq!(auto.throttled, 0);
}

#[tokio::test(start_paused = true)]
async fn at_a_capacity_of_40_auto_keeps_latency_near_unloaded() {
    capacity(40.0).await;
}

#[tokio::test(start_paused = true)]
async fn at_a_capacity_of_200_auto_keeps_latency_near_unloaded() {
    capacity(200.0).await;
}

#[tokio::test(start_paused = true)]
async fn the_pace_never_exceeds_the_ceiling_plus_burst_in_any_second() {
    // Nothing refuses and nothing slows: only the ceiling holds the pace.
    let gateway = Gateway::new(Mode::Capacity, 100_000.0);
    let run = drive(Arc::clone(&gateway), 1_500, 50.0, true).await;
    assert_eq!(run.applied, 1_500);
    let at: Vec<Instant> = run.arrivals.iter().map(|a| a.at).collect();
    let busiest = at
        .iter()
        .enumerate()
        .map(|(i, t)| {
            at[i..]
                .iter()
                .take_while(|u| u.duration_since(*t) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    eprintln!("busiest second at --rate-max 50: {busiest}");
    assert!(busiest <= 51, "{busiest} requests in one second");
    // And it got there: the pace found is the ceiling.
    assert!(
        run.found.is_some_and(|f| (f - 50.0).abs() < 0.5),
        "{:?}",
        run.found
    );
}

/// A backend whose first answer is a 429 with `Retry-After`, and every later one a success.
struct RetryAfterOnce {
    sends: Mutex<Vec<Instant>>,
}

impl Backend for RetryAfterOnce {
    type Token = ();

    async fn token(&self) -> Result<(), AuthError> {
        Ok(())
    }

    async fn refresh(&self, _rejected: &()) -> Result<(), AuthError> {
        Ok(())
    }

    fn is_fresh(&self, _token: &()) -> bool {
        true
    }

    async fn send(&self, _id: u64, _token: &()) -> Answer {
        let first = {
            let mut sends = self.sends.lock().unwrap();
            sends.push(Instant::now());
            sends.len() == 1
        };
        tokio::time::sleep(BASE).await;
        if first {
            refusal(Some(Duration::from_secs(3)), None)
        } else {
            Answer {
                class: AnswerClass::Applied,
                http_status: Some(200),
                api_code: None,
                message: "ok".into(),
                retry_after: None,
                maybe_applied: false,
                gateway: None,
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn under_auto_a_retry_after_still_pauses_every_worker() {
    let backend = Arc::new(RetryAfterOnce {
        sends: Mutex::default(),
    });
    let pacer = Arc::new(Pacer::new(100.0, NonZeroU32::MIN));
    let pace = Arc::new(Pace::new(
        Arc::clone(&pacer),
        AutoRate {
            ceiling: 100.0,
            sharers: 1,
        },
    ));
    let settings = Settings {
        operation: Operation::Enable,
        concurrency: 8,
        max_attempts: 5,
        backoff: Backoff::default(),
        max_outage: Duration::from_secs(300),
        pace: Some(pace),
    };
    let (in_tx, in_rx) = mpsc::channel(64);
    for id in 1..=40 {
        in_tx
            .send(Ok(InputItem::Id(
                IdRecord { line: id + 1, id },
                Box::default(),
            )))
            .await
            .unwrap();
    }
    drop(in_tx);
    let (out_tx, mut out_rx) = mpsc::channel(64);
    let metrics = Arc::new(Metrics::default());
    run(
        Arc::clone(&backend),
        pacer,
        settings,
        metrics,
        Arc::new(Control::new()),
        in_rx,
        out_tx,
    )
    .await;
    let mut applied = 0;
    while let Some(o) = out_rx.recv().await {
        applied += usize::from(o.kind == OutcomeKind::Enabled);
    }
    assert_eq!(applied, 40);
    let sends = backend.sends.lock().unwrap();
    let refused_answer = sends[0] + BASE;
    let during: Vec<_> = sends
        .iter()
        .filter(|t| **t > refused_answer && **t < refused_answer + Duration::from_secs(3))
        .collect();
    assert!(during.is_empty(), "{} sends during the pause", during.len());
}

mod controller {
    //! The controller's arithmetic alone, with the clock passed in.

    use super::super::{AutoRate, BETA, Controller, HEADROOM, Signal};
    use crate::attempt::{Answer, AnswerClass, GatewayLimit};
    use std::time::Duration;
    use tokio::time::Instant;

    const MS: Duration = Duration::from_millis(1);

    /// A controller made at `start` with `--rate-max ceiling`, one of `sharers` shards.
    fn controller(ceiling: f64, sharers: u64, start: Instant) -> Controller {
        Controller::new(AutoRate { ceiling, sharers }, start)
    }

    /// An accepted answer carrying the gateway's numbers `limit`.
    fn counting(limit: GatewayLimit) -> Signal {
        Signal::of(&Answer {
            gateway: Some(limit),
            http_status: Some(200),
            ..Answer::transport(AnswerClass::Applied, String::new(), false)
        })
    }

    fn refused() -> Signal {
        Signal {
            refused: true,
            ..Signal::default()
        }
    }

    fn stated(limit: f64, refused: bool) -> Signal {
        Signal {
            refused,
            limit: Some(limit),
            ..Signal::default()
        }
    }

    /// Accepted answers at `rate` for `secs` from `from`; returns the instant after.
    fn accepted(c: &mut Controller, from: Instant, rate: f64, secs: f64) -> Instant {
        let gap = Duration::from_secs_f64(1.0 / rate);
        let mut t = from;
        while t < from + Duration::from_secs_f64(secs) {
            c.observe(t, t - 20 * MS, &Signal::default());
            t += gap;
        }
        t
    }

    #[test]
    fn the_429s_already_in_flight_count_as_one_congestion_event() {
        let start = Instant::now();
        let mut c = controller(1000.0, 1, start);
        let t = accepted(&mut c, start, 100.0, 1.0);
        c.observe(t, t - 20 * MS, &refused());
        let after_one = c.rate;
        // Eight more 429s for requests sent before the cut: no further cut.
        for i in 1..=8 {
            c.observe(t + i * MS, t - 10 * MS + i * MS, &refused());
        }
        assert!(c.rate >= after_one, "{after_one} then {}", c.rate);
        // A 429 for a request sent after the cut is a new event.
        c.observe(t + 50 * MS, t + 30 * MS, &refused());
        assert!(c.rate < after_one, "{after_one} then {}", c.rate);
    }

    #[test]
    fn alone_at_a_stated_limit_a_429_trims_to_just_under_it() {
        let start = Instant::now();
        let mut c = controller(1000.0, 1, start);
        let t = accepted(&mut c, start, 40.0, 1.0);
        c.observe(t, t - 20 * MS, &stated(40.0, true));
        assert!((c.rate - HEADROOM * 40.0).abs() < 1e-9, "{}", c.rate);
    }

    #[test]
    fn sharing_a_stated_limit_a_429_cuts_multiplicatively() {
        let start = Instant::now();
        let mut c = controller(1000.0, 1, start);
        // This process gets 20 of the gateway's 40 a second: another takes the rest.
        let t = accepted(&mut c, start, 20.0, 2.0);
        c.observe(t, t - 20 * MS, &stated(40.0, true));
        assert!(
            (c.rate - BETA * 20.0).abs() < 1.0,
            "{} (wanted about {})",
            c.rate,
            BETA * 20.0
        );
    }

    /// A Kong answer: `left` of `limit` left in the one-second window.
    fn counted(limit: u64, left: u64) -> Signal {
        counting(GatewayLimit {
            limit,
            window: Duration::from_secs(1),
            remaining: Some(left),
            reset: Some(Duration::from_secs(1)),
        })
    }

    /// Feeds one second-long window of a counting gateway allowing `limit`: this process's
    /// answers at `own` a second, among requests at `total` a second from everyone (left at
    /// `limit` when the window opens); returns the instant after.
    fn window(c: &mut Controller, from: Instant, limit: u64, own: f64, total: f64) -> Instant {
        let gap = Duration::from_secs_f64(1.0 / own);
        let mut t = from;
        while t < from + Duration::from_secs(1) {
            let elapsed = t.duration_since(from).as_secs_f64();
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "counts"
            )]
            let used = ((elapsed * total) as u64 + 1).min(limit);
            c.observe(t, t - 20 * MS, &counted(limit, limit - used));
            t += gap;
        }
        from + Duration::from_secs(1)
    }

    /// One window of a gateway allowing 100 a second, used by this run alone at `rate`, in
    /// which the first answer `at` seconds in or later is preceded by one that took `latency`
    /// and carries `left(used)` left, `used` being the count of the moment.
    fn lone_window_with_a_late_answer(
        c: &mut Controller,
        from: Instant,
        rate: f64,
        at: f64,
        latency: Duration,
        left: impl Fn(u64) -> u64,
    ) {
        let gap = Duration::from_secs_f64(1.0 / rate);
        let mut t = from;
        let mut late = false;
        while t < from + Duration::from_secs(1) {
            let into = t.duration_since(from).as_secs_f64();
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "counts"
            )]
            let used = (into * rate) as u64 + 1;
            if into >= at && !late {
                late = true;
                c.observe(t, t - latency, &counted(100, left(used)));
            }
            c.observe(t, t - 20 * MS, &counted(100, 100 - used));
            t += gap;
        }
    }

    #[test]
    fn one_of_n_shards_starts_at_its_share_of_a_stated_limit() {
        let start = Instant::now();
        let mut c = controller(1000.0, 4, start);
        c.observe(start, start - 20 * MS, &counted(200, 199));
        assert!((c.rate - HEADROOM * 50.0).abs() < 1e-9, "{}", c.rate);
        let mut alone = controller(1000.0, 1, start);
        alone.observe(start, start - 20 * MS, &counted(200, 199));
        assert!(
            (alone.rate - HEADROOM * 200.0).abs() < 1e-9,
            "{}",
            alone.rate
        );
    }

    #[test]
    fn a_window_crowded_by_others_cuts_before_it_runs_dry() {
        let start = Instant::now();
        // One of four shards of a gateway allowing 100 a second, over its share of 24.25.
        let mut c = controller(1000.0, 4, start);
        let share = HEADROOM * 25.0;
        // Two windows at 60 of everyone's 90 a second: nothing to cut.
        let mut t = window(&mut c, start, 100, 60.0, 90.0);
        t = window(&mut c, t, 100, 60.0, 90.0);
        assert!(c.rate > share, "{}", c.rate);
        // Then the others push the total to 150 a second: the window would run dry at two
        // thirds. The cut comes part way through, with plenty left, proportional to the
        // overrun, and no lower than the share.
        let gap = Duration::from_secs_f64(1.0 / 60.0);
        let mut cut = None;
        let mut u = t;
        while u < t + Duration::from_millis(600) {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "counts"
            )]
            let used = (u.duration_since(t).as_secs_f64() * 150.0) as u64 + 1;
            let before = c.rate;
            c.observe(u, u - 20 * MS, &counted(100, 100 - used));
            if c.rate < 0.95 * before && cut.is_none() {
                cut = Some((before, c.rate, 100 - used));
            }
            u += gap;
        }
        let (before, after, left) = cut.expect("a cut before the window ran dry");
        assert!(left >= 20, "cut with only {left} left");
        let wanted = (before * HEADROOM * 100.0 / 150.0).max(share);
        assert!(
            (after - wanted).abs() < 0.1 * wanted,
            "{before} to {after} (wanted about {wanted})"
        );
        // A lone run under the same count is not cut: its own late answers could look alike.
        let mut alone = controller(1000.0, 1, start);
        let mut t = window(&mut alone, start, 100, 60.0, 90.0);
        t = window(&mut alone, t, 100, 60.0, 90.0);
        let before = alone.rate;
        let mut u = t;
        // Up to just before the window runs dry (two thirds of it).
        while u < t + Duration::from_millis(600) {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "counts"
            )]
            let used = (u.duration_since(t).as_secs_f64() * 150.0) as u64 + 1;
            alone.observe(u, u - 20 * MS, &counted(100, 100 - used));
            u += gap;
        }
        assert!(alone.rate >= before - 1e-9, "{before} then {}", alone.rate);
    }

    #[test]
    fn alone_in_a_counting_window_nothing_counts_as_crowded() {
        let start = Instant::now();
        let mut c = controller(1000.0, 1, start);
        let mut t = start;
        for _ in 0..4 {
            t = window(&mut c, t, 100, 90.0, 90.0);
        }
        assert!(c.rate >= HEADROOM * 100.0 - 1e-9, "{}", c.rate);
    }

    #[test]
    fn a_late_answer_from_the_last_window_does_not_crowd_a_lone_run() {
        let start = Instant::now();
        let mut c = controller(1000.0, 1, start);
        let mut t = start;
        for _ in 0..3 {
            t = window(&mut c, t, 100, 97.0, 97.0);
        }
        let before = c.rate;
        // Half a window in, an answer to a request sent late in the last window arrives with
        // that window's count (3 left), then the current window's answers go on.
        lone_window_with_a_late_answer(&mut c, t, 97.0, 0.49, 500 * MS, |_| 3);
        assert!(c.rate >= before - 1e-9, "{before} then {}", c.rate);
    }

    #[test]
    fn a_window_taken_by_others_is_still_seen_to_open() {
        let start = Instant::now();
        let mut c = controller(1000.0, 2, start);
        let mut t = window(&mut c, start, 100, 40.0, 80.0);
        t = window(&mut c, t, 100, 40.0, 80.0);
        let opened = c.window_opened.unwrap();
        // The next window: others take 90 before this process's first answer in it, so its
        // count never goes up from the 20 left it last saw; the window still turns over.
        c.observe(t + 300 * MS, t + 280 * MS, &counted(100, 9));
        assert!(c.window_opened.unwrap() > opened);
        assert_eq!(c.window_own, 1);
    }

    #[test]
    fn the_floor_never_lifts_a_shard_over_its_share() {
        let start = Instant::now();
        // Twenty shards of 600 a minute: 0.485 a second each, under the usual floor of 1.
        let mut c = controller(100.0, 20, start);
        c.observe(
            start,
            start - 20 * MS,
            &counting(GatewayLimit {
                limit: 600,
                window: Duration::from_secs(60),
                remaining: Some(599),
                reset: Some(Duration::from_secs(60)),
            }),
        );
        assert!((c.rate - HEADROOM * 10.0 / 20.0).abs() < 1e-9, "{}", c.rate);
    }

    #[test]
    fn a_lone_run_held_under_the_limit_is_never_crowded_by_its_own_late_answers() {
        let start = Instant::now();
        let mut c = controller(1000.0, 1, start);
        // Held at 70 of the gateway's 100 a second (by `--concurrency`, say).
        let mut t = start;
        for _ in 0..3 {
            t = window(&mut c, t, 100, 70.0, 70.0);
        }
        let before = c.rate;
        // 0.3 s into the next window one answer comes late, with the count of a moment
        // earlier: `Remaining` rises mid-window, which looks like a window opening.
        lone_window_with_a_late_answer(&mut c, t, 70.0, 0.3, 60 * MS, |used| 100 - used + 4);
        assert!(c.rate >= before - 1e-9, "{before} then {}", c.rate);
    }

    #[test]
    fn a_run_spending_a_window_in_its_first_second_trims_to_the_limit() {
        // Half a second in, alone at a stated limit of 40, the window is spent: a lone run
        // trims to just under the limit. Counted over a whole second it read as a 20/s share
        // of the gateway and was cut to 0.85 of that.
        let start = Instant::now();
        let mut c = controller(1000.0, 1, start);
        let gap = Duration::from_secs_f64(1.0 / 40.0);
        let mut t = start + 20 * MS;
        let mut used = 0;
        while used < 19 {
            used += 1;
            c.observe(t, t - 20 * MS, &counted(40, 40 - used));
            t += gap;
        }
        c.observe(t, t - 20 * MS, &stated(40.0, true));
        assert!(c.rate >= HEADROOM * 40.0 - 1e-9, "{}", c.rate);
    }

    #[test]
    fn a_shard_at_its_share_is_not_the_one_cut() {
        let start = Instant::now();
        // One of two shards of a gateway allowing 100 a second.
        let mut c = controller(1000.0, 2, start);
        c.observe(start, start - 20 * MS, &stated(100.0, false));
        let share = HEADROOM * 50.0;
        // Before the gateway was seen to count on its answers: a margin under the share.
        assert!((c.protect(40.0, 20.0) - 40.0).abs() < 1e-9);
        assert!((c.protect(60.0, 20.0) - BETA * share).abs() < 1e-9);
        window(&mut c, start, 100, 40.0, 90.0);
        // Counting: under its share a cut leaves it where it was; over it, at the share.
        assert!((c.protect(40.0, 20.0) - 40.0).abs() < 1e-9);
        assert!((c.protect(60.0, 30.0) - share).abs() < 1e-9);
        assert!((c.protect(60.0, 55.0) - 55.0).abs() < 1e-9);
        // Not a shard: cuts as asked.
        let mut alone = controller(1000.0, 1, start);
        window(&mut alone, start, 100, 40.0, 90.0);
        assert!((alone.protect(40.0, 20.0) - 20.0).abs() < 1e-9);
    }

    #[test]
    fn no_signal_climbs_to_the_ceiling_and_no_further() {
        let start = Instant::now();
        let mut c = controller(60.0, 1, start);
        accepted(&mut c, start, 200.0, 3.0);
        assert!((c.rate - 60.0).abs() < 1e-9, "{}", c.rate);
    }

    /// A gateway's spent window with a `w=` or `Reset` as large as a header can say.
    fn spent(window: Duration, reset: Option<Duration>) -> Signal {
        counting(GatewayLimit {
            limit: 5,
            window,
            remaining: Some(0),
            reset,
        })
    }

    #[test]
    fn a_spent_window_of_any_length_holds_at_most_the_longest_pause_without_panicking() {
        let huge = Duration::from_secs(u64::MAX);
        for (window, reset) in [
            (huge, None),
            (huge, Some(huge)),
            (
                Duration::from_secs(86_400),
                Some(Duration::from_secs(86_400)),
            ),
        ] {
            let start = Instant::now();
            let mut c = controller(100.0, 1, start);
            let t = accepted(&mut c, start, 20.0, 1.0);
            // The count goes up (a window opened), then is spent.
            let mut opening = spent(window, reset);
            opening.left = opening.left.map(|(_, r)| (3, r));
            c.observe(t, t - 20 * MS, &opening);
            let pause = c.observe(t + MS, t - 19 * MS, &spent(window, reset));
            assert_eq!(pause, Some(crate::pacer::MAX_PAUSE), "{window:?} {reset:?}");
            // The hold ends when the pacer's pause does: answers sent after it are heard.
            assert_eq!(c.cut_at, Some(t + MS + crate::pacer::MAX_PAUSE));
        }
    }

    #[test]
    fn a_run_held_back_below_its_pace_reports_what_went_out_not_the_pace() {
        // --concurrency (or a slow input) lets 10 a second go out, nothing refuses: the pace
        // may grow to twice that, but the appliance only ever showed it takes 10.
        let start = Instant::now();
        let mut c = controller(100.0, 1, start);
        accepted(&mut c, start, 10.0, 90.0);
        assert!(c.rate > 15.0, "the pace ran ahead: {}", c.rate);
        let found = c.found().unwrap();
        assert!((9.0..=10.5).contains(&found), "found {found}");
    }

    #[test]
    fn refusals_without_end_hold_the_pace_at_the_floor() {
        let start = Instant::now();
        let mut c = controller(100.0, 1, start);
        let mut t = start;
        for _ in 0..200 {
            t += 100 * MS;
            c.observe(t, t - MS, &refused());
        }
        assert!((c.rate - 1.0).abs() < 1e-9, "{}", c.rate);
    }
}

/// `n` `--shard K/n` runs of `ids` ids each behind one gateway, started together: each one's
/// share of the accepted requests while all ran, the 429s in total per id, and the time to
/// finish against `n × ids / L`.
async fn shards(mode: Mode, limit: f64, n: u64, ids: u64) -> (Vec<f64>, f64, f64) {
    shards_jittered(mode, limit, n, ids, 0).await
}

/// [`shards`] behind a gateway jittered by `seed`.
async fn shards_jittered(
    mode: Mode,
    limit: f64,
    n: u64,
    ids: u64,
    seed: u64,
) -> (Vec<f64>, f64, f64) {
    let gateway = Gateway::jittered(mode, limit, seed);
    let runs = futures::future::join_all((0..n).map(|k| {
        drive_ids(
            Arc::clone(&gateway),
            k * ids + 1..=(k + 1) * ids,
            1000.0,
            true,
            n,
        )
    }))
    .await;
    let count = usize::try_from(ids).unwrap();
    assert!(runs.iter().all(|r| r.applied == count));
    let start = gateway.started;
    let all_ran = start + runs.iter().map(|r| r.took).min().unwrap();
    let arrivals = gateway.arrivals();
    let accepted: Vec<usize> = (0..n)
        .map(|k| {
            let shard = k * ids + 1..=(k + 1) * ids;
            arrivals
                .iter()
                .filter(|x| !x.refused && x.at < all_ran && shard.contains(&x.id))
                .count()
        })
        .collect();
    let together: usize = accepted.iter().sum();
    #[expect(clippy::cast_precision_loss, reason = "counts")]
    let shares: Vec<f64> = accepted
        .iter()
        .map(|a| *a as f64 / together as f64)
        .collect();
    let throttled = arrivals.iter().filter(|x| x.refused).count();
    let total = usize::try_from(n * ids).unwrap();
    let per_id = share(throttled as u64, total);
    let took = runs.iter().map(|r| r.took).max().unwrap();
    #[expect(clippy::cast_precision_loss, reason = "counts")]
    let time = took.as_secs_f64() / (total as f64 / limit);
    eprintln!(
        "{n} shards, {mode:?} L={limit}: shares {}, 429s {throttled} ({per_id:.2}% of ids), {:.2} s for {total} ids ({time:.3}x ids/L)",
        shares
            .iter()
            .map(|s| format!("{:+.0}%", 100.0 * (s * n as f64 - 1.0)))
            .collect::<Vec<_>>()
            .join(" "),
        took.as_secs_f64(),
    );
    (shares, per_id, time)
}

/// Two shards (see [`shards`]).
async fn two_shards(mode: Mode, limit: f64, ids: u64) -> ([f64; 2], f64, f64) {
    let (shares, per_id, time) = shards(mode, limit, 2, ids).await;
    ([shares[0], shares[1]], per_id, time)
}

#[tokio::test(start_paused = true)]
async fn two_shards_behind_kong_share_it_fairly_within_the_429_budget() {
    for mode in [Mode::Kong, Mode::KongOn429] {
        let (shares, throttled, _) = two_shards(mode, 80.0, 600).await;
        assert!(
            shares.iter().all(|s| (0.375..=0.625).contains(s)),
            "{shares:?}"
        );
        assert!(throttled <= 1.0, "{throttled:.2}% 429s");
    }
}

#[tokio::test(start_paused = true)]
async fn two_shards_behind_nginx_share_it_fairly_within_the_429_budget() {
    let (shares, throttled, _) = two_shards(Mode::Nginx, 80.0, 600).await;
    assert!(
        shares.iter().all(|s| (0.375..=0.625).contains(s)),
        "{shares:?}"
    );
    assert!(throttled <= 3.0, "{throttled:.2}% 429s");
}

/// The bench's shard rows behind a Kong that counts on every answer, with jitter that breaks
/// the shards' lockstep: equal shares, almost no 429s, and about the time of one process at
/// the known limit (tighter than issue 10's ≤ 1.25×, ±25%, ≤ 1%: the model has no loopback
/// noise).
#[tokio::test(start_paused = true)]
async fn shards_behind_a_counting_kong_share_it_fairly_and_lose_little_time() {
    for (limit, n) in [(40.0, 4), (200.0, 2), (200.0, 4)] {
        for seed in 1..=2 {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "25 s of ids"
            )]
            let ids = (limit * 25.0) as u64 / n;
            let (shares, throttled, time) = shards_jittered(Mode::Kong, limit, n, ids, seed).await;
            #[expect(clippy::cast_precision_loss, reason = "a shard count")]
            let equal = 1.0 / n as f64;
            assert!(
                shares.iter().all(|s| (s / equal - 1.0).abs() <= 0.15),
                "L={limit} x{n} seed {seed}: {shares:?}"
            );
            assert!(
                throttled <= 1.0,
                "L={limit} x{n} seed {seed}: {throttled:.2}% 429s"
            );
            assert!(time <= 1.2, "L={limit} x{n} seed {seed}: {time:.3}x");
        }
    }
}

/// Four shards behind an nginx that sends no numbers, over a migration-length run (250 s at
/// the limit). Start-up leaves their shares uneven, by up to about ±110% over a 25 s run in
/// this model (issue 10's open cells, BENCHMARKS §5.1); what evens them out is that the shard
/// over its share meets more of the 429s, which takes tens of seconds to minutes. A guard on
/// the model, not proof for the field: one bench run at 250 s and 200/s still had a shard at
/// +41%. The 429s are printed, not asserted: at 40/s they stay near 4.7% of ids, above issue
/// 10's 3%.
#[tokio::test(start_paused = true)]
async fn four_blind_shards_even_out_over_a_long_run() {
    for (limit, seed) in [(40.0, 1), (40.0, 2), (200.0, 2)] {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "250 s of ids"
        )]
        let ids = (limit * 250.0) as u64 / 4;
        let (shares, _, time) = shards_jittered(Mode::Nginx, limit, 4, ids, seed).await;
        assert!(
            shares.iter().all(|s| (s / 0.25 - 1.0).abs() <= 0.25),
            "L={limit} seed {seed}: {shares:?}"
        );
        assert!(time <= 1.1, "L={limit} seed {seed}: {time:.3}x");
    }
}

/// Two shards behind a Kong that a third client also uses at a quarter of its limit: the
/// shards' fair-share floors (half the limit each) sum past what is left, so windows run
/// dry; dispatch then holds until each resets instead of collecting 429s, and the shards get
/// about what is left.
#[tokio::test(start_paused = true)]
async fn shards_give_way_to_a_client_that_is_not_one_of_them() {
    let mut gateway = Gateway::new(Mode::Kong, 80.0);
    Arc::get_mut(&mut gateway).unwrap().background = 20.0;
    let (a, b) = tokio::join!(
        drive_ids(Arc::clone(&gateway), 1..=600, 1000.0, true, 2),
        drive_ids(Arc::clone(&gateway), 601..=1200, 1000.0, true, 2),
    );
    assert_eq!((a.applied, b.applied), (600, 600));
    let throttled = a.throttled + b.throttled;
    let took = a.took.max(b.took).as_secs_f64();
    eprintln!(
        "two shards and a 20/s client behind Kong 80/s: {throttled} 429s, {took:.2} s for 1200 ids (at 60/s: 20 s)"
    );
    assert!(throttled <= 3, "{throttled} 429s for 1,200 ids");
    assert!(
        took <= 1.1 * 20.0,
        "{took:.2} s for 1,200 ids at the 60/s left"
    );
}
