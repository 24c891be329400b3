//! `--rate auto` against the simulator's three gateway modes (issue 10), each figure a ratio to
//! a yardstick measured in the same run:
//!
//! 1. the issue's table: nginx `limit_req` at 40 r/s, burst 5, 20 ms, 600 ids; `--rate 40`
//!    (the operator who knows the limit) against the defaults and `--rate 400 --concurrency 16`;
//! 2. for each gateway mode (nginx burst 5, Kong, capacity) at 40 and 200 requests/s, 20 ms
//!    latency, `--concurrency 16` on every row: `--rate L` (known), `--rate 10` (the default
//!    pace), `--rate 400` (a guess too high) and `--rate auto`; time against known, 429s per
//!    id, and in the capacity mode the server-side latency against the unloaded one, each
//!    marked against the issue's targets;
//! 3. shards: 2 and 4 `--shard K/N` runs at once behind one gateway, with `--rate auto` and
//!    with the limit split by hand (`--rate L/N`), against one process at `--rate L`: time,
//!    each shard's share of what the gateway served while all were running, 429s in total.
//!
//! `cargo bench --bench rate_auto` (about 25 minutes). Smaller: `CREDBULK_BENCH_SECS=4` sizes
//! every run for that many seconds at the known limit (default 25); `CREDBULK_BENCH_ONLY=issue`
//! (or `grid`, `shards`, comma-separated) runs one part; `CREDBULK_BENCH_MODES=nginx,kong` and
//! `CREDBULK_BENCH_LIMITS=40` narrow the grid and the shards.

mod support;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser as _;
use credbulk::app::{Completed, execute};
use credbulk::cli::Cli;
use credbulk::control::Control;
use credbulk::sim::{Credentials, Gateway, NGINX_DEFAULT_BURST, SimConfig, SimStats, Timeline};
use support::{Sim, Workspace, env_count, median, verdict};

/// The appliance's unloaded latency on every row.
const LATENCY: Duration = Duration::from_millis(20);
/// The same on every row of the grid and every shard, so only the pace differs.
const CONCURRENCY: &str = "16";
/// How `--rate auto` is asked for, in one place: the ceiling well above every limit tried.
const AUTO: &[&str] = &["--rate", "auto", "--rate-max", "1000"];
/// The default pace, and the guess that is too high (issue 10's table).
const DEFAULT_RATE: u32 = 10;
const HIGH_RATE: &str = "400";
/// The issue's targets for `--rate auto`.
const TIME_TARGET: f64 = 1.15;
const LATENCY_TARGET: f64 = 2.0;
const SHARD_TIME_TARGET: f64 = 1.25;
const SHARE_TARGET: f64 = 0.25;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Mode {
    Nginx,
    Kong,
    Capacity,
}

impl Mode {
    const ALL: [Self; 3] = [Self::Nginx, Self::Kong, Self::Capacity];

    fn name(self) -> &'static str {
        match self {
            Self::Nginx => "nginx",
            Self::Kong => "kong",
            Self::Capacity => "capacity",
        }
    }

    fn gateway(self, limit: u32) -> Gateway {
        match self {
            Self::Nginx => Gateway::nginx(limit, NGINX_DEFAULT_BURST),
            Self::Kong => Gateway::kong(limit),
            Self::Capacity => Gateway::capacity(limit),
        }
        .expect("limits are positive")
    }

    fn describe(self, limit: u32) -> String {
        match self {
            Self::Nginx => format!(
                "nginx limit_req {limit} r/s burst {NGINX_DEFAULT_BURST} nodelay (429, no headers)"
            ),
            Self::Kong => {
                format!("kong rate limiting {limit}/s (RateLimit-* headers, 429 + Retry-After)")
            }
            Self::Capacity => format!("capacity {limit}/s (FIFO queue, nothing refused)"),
        }
    }

    /// 429s allowed per id: 1% where the gateway sends its numbers, 3% where it does not.
    fn refusal_target(self) -> f64 {
        match self {
            Self::Kong => 0.01,
            Self::Nginx | Self::Capacity => 0.03,
        }
    }
}

/// One finished run, as the simulator saw it.
struct Run {
    ids: u64,
    wall: Duration,
    stats: SimStats,
    timeline: Timeline,
    failed: u64,
}

impl Run {
    fn per_id(&self) -> Duration {
        self.wall / u32::try_from(self.ids).unwrap_or(u32::MAX)
    }

    fn refused_per_id(&self) -> f64 {
        self.stats.gateway_refused as f64 / self.ids as f64
    }

    /// The median of the requests served per second, whole seconds between the first and the
    /// last (the pace the appliance actually saw).
    fn served_per_second(&self) -> f64 {
        let seconds = self.timeline.per_second();
        let first = seconds.iter().position(|n| *n > 0).unwrap_or(0);
        let inner: Vec<f64> = seconds
            .get(first + 1..seconds.len().saturating_sub(1))
            .unwrap_or_default()
            .iter()
            .map(|n| *n as f64)
            .collect();
        median(&inner)
    }

    fn latency(&self, q: f64) -> Duration {
        self.timeline.latency_quantile(q).unwrap_or_default()
    }
}

struct Bench {
    ws: Workspace,
}

impl Bench {
    fn new() -> Self {
        Self {
            ws: Workspace::new(),
        }
    }

    fn input(&self, n: u64) -> PathBuf {
        self.ws.input(n)
    }

    fn argv(&self, url: &str, input: &Path, report: &Path, extra: &[String]) -> Vec<String> {
        let _ = std::fs::remove_file(report);
        let mut argv: Vec<String> = [
            "credbulk",
            "enable",
            &input.display().to_string(),
            "--url",
            url,
            "--client-id",
            "demo",
            "--client-secret-file",
            &self.ws.secret.display().to_string(),
            "--report",
            &report.display().to_string(),
            "--no-progress",
            "--yes",
            "-q",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        argv.extend(extra.iter().cloned());
        argv
    }

    /// `shards` runs of `credbulk enable` at once (`--shard K/N` when more than one), each
    /// with `extra`, against a fresh simulator behind `gateway` serving `ids` ids. Returns
    /// the run and, per shard, the ids its report holds.
    fn run(&self, gateway: Gateway, ids: u64, shards: u64, extra: &[&str]) -> (Run, Vec<Vec<u64>>) {
        let sim = Sim::with(SimConfig {
            credentials: Credentials::generate(ids),
            latency: LATENCY,
            gateway,
            record_timeline: true,
            ..SimConfig::default()
        });
        let input = self.input(ids);
        let mut commands = Vec::new();
        let mut reports = Vec::new();
        for k in 0..shards {
            let report = self.ws.dir.path().join(format!("shard-{k}.report.csv"));
            let mut args: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
            if shards > 1 {
                args.extend(["--shard".to_owned(), format!("{k}/{shards}")]);
            }
            let cli = Cli::try_parse_from(self.argv(&sim.url(), &input, &report, &args))
                .unwrap_or_else(|error| panic!("credbulk refused {extra:?}: {error}"));
            commands.push(cli.command);
            reports.push(report);
        }
        let started = Instant::now();
        let done = self.ws.client.block_on(futures::future::join_all(
            commands
                .into_iter()
                .map(|command| execute(command, Arc::new(Control::new()))),
        ));
        let wall = started.elapsed();
        let stats = sim.handle().stats();
        let timeline = sim.handle().timeline();
        sim.stop();
        let mut failed = 0;
        for result in done {
            match result {
                Ok(Completed::Run { summary, .. }) => failed += summary.failures(),
                Ok(other) => panic!("credbulk did not run: {other:?}"),
                Err(error) => panic!("credbulk failed with {extra:?}: {error}"),
            }
        }
        let owned = reports.iter().map(|r| report_ids(r)).collect();
        (
            Run {
                ids,
                wall,
                stats,
                timeline,
                failed,
            },
            owned,
        )
    }

    fn one(&self, gateway: Gateway, ids: u64, extra: &[&str]) -> Run {
        self.run(gateway, ids, 1, extra).0
    }
}

/// The ids in a report (its second column).
fn report_ids(path: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(path).expect("report");
    text.lines()
        .skip(1)
        .filter_map(|line| line.split(',').nth(1)?.parse().ok())
        .collect()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// 1. Does the simulator reproduce issue 10's table?
fn issue_table(bench: &Bench) {
    let ids = 600;
    let gateway = Mode::Nginx.gateway(40);
    println!(
        "\n1. issue 10's table: {}, {} ms, {ids} ids",
        Mode::Nginx.describe(40),
        LATENCY.as_millis()
    );
    let rows: [(&str, &[&str]); 3] = [
        ("--rate 40 (known limit)", &["--rate", "40"]),
        ("defaults (--rate 10)", &[]),
        (
            "--rate 400 --concurrency 16",
            &["--rate", HIGH_RATE, "--concurrency", CONCURRENCY],
        ),
    ];
    let mut known = None;
    for (label, extra) in rows {
        let run = bench.one(gateway, ids, extra);
        let base = *known.get_or_insert(run.wall);
        println!(
            "  {label:<30} {:>6.2} s  {:>5.2}× known   429s per id {:.2}   failed ids {}",
            secs(run.wall),
            secs(run.wall) / secs(base),
            run.refused_per_id(),
            run.failed
        );
    }
    println!(
        "  (issue 10, measured against a real nginx: defaults 4.0×; --rate 400 1.6× with 0.83 429s per id)"
    );
}

/// What the grid found for one gateway, for the shard section to compare with.
struct Known {
    ids: u64,
    wall: Duration,
}

/// 2. Every mode at every limit, four ways of choosing the pace.
fn grid(
    bench: &Bench,
    modes: &[Mode],
    limits: &[u32],
    secs_each: u64,
) -> HashMap<(Mode, u32), Known> {
    println!(
        "\n2. gateways: {} ms latency, --concurrency {CONCURRENCY} on every row; ids = limit × {secs_each} s; targets for --rate auto: time ≤ {TIME_TARGET}× known, 429s ≤ 3% of ids (≤ 1% kong), capacity latency ≤ {LATENCY_TARGET}× unloaded",
        LATENCY.as_millis()
    );
    let mut found = HashMap::new();
    for &mode in modes {
        for &limit in limits {
            let ids = u64::from(limit) * secs_each;
            let gateway = mode.gateway(limit);
            println!("  {}, {ids} ids", mode.describe(limit));
            let limit_arg = limit.to_string();
            let known = bench.one(
                gateway,
                ids,
                &["--rate", &limit_arg, "--concurrency", CONCURRENCY],
            );
            // The default pace takes limit / 10 times as long per id: run it on as many ids
            // as fit in the same time, and compare time per id.
            let slow_ids = (ids * u64::from(DEFAULT_RATE) / u64::from(limit)).max(1);
            let slow = bench.one(
                gateway,
                slow_ids,
                &[
                    "--rate",
                    &DEFAULT_RATE.to_string(),
                    "--concurrency",
                    CONCURRENCY,
                ],
            );
            // Served far below every limit: the appliance's unloaded latency, this run.
            let unloaded = slow.latency(0.5);
            let line = |label: &str, run: &Run, per_id: bool| {
                row(mode, label, run, &known, unloaded, per_id);
            };
            row(
                mode,
                &format!("--rate {limit} (known limit)"),
                &known,
                &known,
                unloaded,
                false,
            );
            line(
                &format!("--rate {DEFAULT_RATE} (default pace; {slow_ids} ids)"),
                &slow,
                true,
            );
            let high = bench.one(
                gateway,
                ids,
                &["--rate", HIGH_RATE, "--concurrency", CONCURRENCY],
            );
            line(&format!("--rate {HIGH_RATE}"), &high, false);
            let mut auto_args = AUTO.to_vec();
            auto_args.extend(["--concurrency", CONCURRENCY]);
            let auto = bench.one(gateway, ids, &auto_args);
            line(&AUTO.join(" "), &auto, false);
            if mode == Mode::Capacity {
                println!(
                    "    (unloaded latency at the server, the --rate {DEFAULT_RATE} row's median: {:.1} ms)",
                    ms(unloaded)
                );
            }
            found.insert(
                (mode, limit),
                Known {
                    ids,
                    wall: known.wall,
                },
            );
        }
    }
    found
}

/// One grid row: time against known (per id when `per_id`), 429s per id, the pace served,
/// and in the capacity mode the latency against the unloaded one; each with its verdict.
fn row(mode: Mode, label: &str, run: &Run, known: &Run, unloaded: Duration, per_id: bool) {
    let ratio = if per_id {
        secs(run.per_id()) / secs(known.per_id())
    } else {
        secs(run.wall) / secs(known.wall)
    };
    let refused = run.refused_per_id();
    let mut line = format!(
        "    {label:<34} {:>6.2} s  {ratio:>5.2}× {} ({})   429s {:>5.1}% of ids ({})   served {:>4.0}/s",
        secs(run.wall),
        if per_id { "per id" } else { "time  " },
        verdict(ratio <= TIME_TARGET),
        refused * 100.0,
        verdict(refused <= mode.refusal_target()),
        run.served_per_second(),
    );
    if mode == Mode::Capacity {
        let (p50, p95) = (run.latency(0.5), run.latency(0.95));
        let ratio = secs(p50) / secs(unloaded);
        let _ = write!(
            line,
            "   latency p50 {:.1} ms = {ratio:.2}× unloaded ({}), p95 {:.1} ms = {:.2}×",
            ms(p50),
            verdict(ratio <= LATENCY_TARGET),
            ms(p95),
            secs(p95) / secs(unloaded)
        );
    }
    if run.failed > 0 {
        let _ = write!(line, "   failed ids {}", run.failed);
    }
    println!("{line}");
}

/// 3. Shards behind one gateway.
fn shards(
    bench: &Bench,
    modes: &[Mode],
    limits: &[u32],
    secs_each: u64,
    known: &HashMap<(Mode, u32), Known>,
) {
    println!(
        "\n3. shards behind one gateway, --concurrency {CONCURRENCY} each, against one process at --rate L; targets for --rate auto: time ≤ {SHARD_TIME_TARGET}×, each share within ±{:.0}% of equal, 429s as above in total",
        SHARE_TARGET * 100.0
    );
    for &mode in modes {
        for &limit in limits {
            let gateway = mode.gateway(limit);
            let yardstick = known.get(&(mode, limit)).map_or_else(
                || {
                    let ids = u64::from(limit) * secs_each;
                    let limit_arg = limit.to_string();
                    let run = bench.one(
                        gateway,
                        ids,
                        &["--rate", &limit_arg, "--concurrency", CONCURRENCY],
                    );
                    Known {
                        ids,
                        wall: run.wall,
                    }
                },
                |k| Known {
                    ids: k.ids,
                    wall: k.wall,
                },
            );
            println!(
                "  {}, {} ids; one process at --rate {limit}: {:.2} s",
                mode.describe(limit),
                yardstick.ids,
                secs(yardstick.wall)
            );
            for n in [2u64, 4] {
                let split = format!("{}", f64::from(limit) / n as f64);
                let mut auto_args = AUTO.to_vec();
                auto_args.extend(["--concurrency", CONCURRENCY]);
                for (label, extra) in [
                    (AUTO.join(" "), auto_args),
                    (
                        format!("--rate {split} each"),
                        vec!["--rate", split.as_str(), "--concurrency", CONCURRENCY],
                    ),
                ] {
                    let label = format!("{n} shards, {label}");
                    let (run, owned) = bench.run(gateway, yardstick.ids, n, &extra);
                    shard_row(mode, &label, &run, &owned, &yardstick);
                }
            }
        }
    }
}

fn shard_row(mode: Mode, label: &str, run: &Run, owned: &[Vec<u64>], yardstick: &Known) {
    let ratio = secs(run.wall) / secs(yardstick.wall);
    let shard_of: HashMap<u64, usize> = owned
        .iter()
        .enumerate()
        .flat_map(|(k, ids)| ids.iter().map(move |id| (*id, k)))
        .collect();
    let shares = run
        .timeline
        .shares(owned.len(), |id| shard_of.get(&id).copied());
    let fairness = shares.map_or_else(
        || "shards never overlapped".to_owned(),
        |shares| {
            let total: u64 = shares.counts.iter().sum();
            let equal = total as f64 / owned.len() as f64;
            let off: Vec<f64> = shares
                .counts
                .iter()
                .map(|c| (*c as f64 / equal - 1.0) * 100.0)
                .collect();
            let worst = off.iter().copied().map(f64::abs).fold(0.0, f64::max);
            format!(
                "shares vs equal over {:.1} s together: {} ({})",
                secs(shares.to.saturating_sub(shares.from)),
                off.iter()
                    .map(|o| format!("{o:+.0}%"))
                    .collect::<Vec<_>>()
                    .join(" "),
                verdict(worst <= SHARE_TARGET * 100.0)
            )
        },
    );
    let refused = run.refused_per_id();
    println!(
        "    {label:<40} {:>6.2} s  {ratio:.2}× ({})   {fairness}   429s {:.1}% of ids ({}){}",
        secs(run.wall),
        verdict(ratio <= SHARD_TIME_TARGET),
        refused * 100.0,
        verdict(refused <= mode.refusal_target()),
        if run.failed > 0 {
            format!("   failed ids {}", run.failed)
        } else {
            String::new()
        }
    );
}

fn list<T>(name: &str, default: &[T], parse: impl Fn(&str) -> Option<T>) -> Vec<T>
where
    T: Clone,
{
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value
            .split(',')
            .map(|v| parse(v.trim()).unwrap_or_else(|| panic!("{name}: cannot use {v:?}")))
            .collect(),
        _ => default.to_vec(),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this with no such flag and
    // only checks that it starts.
    if !std::env::args().any(|a| a == "--bench") {
        println!("rate_auto: run with `cargo bench --bench rate_auto`");
        return;
    }
    let secs_each = env_count("CREDBULK_BENCH_SECS", 25).max(1);
    let modes = list("CREDBULK_BENCH_MODES", &Mode::ALL, |v| {
        Mode::ALL.into_iter().find(|m| m.name() == v)
    });
    let limits = list("CREDBULK_BENCH_LIMITS", &[40, 200], |v| {
        v.parse().ok().filter(|l| *l > 0)
    });
    let only = std::env::var("CREDBULK_BENCH_ONLY").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|o| o == name);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!("credbulk --rate auto bench: {cores} cores; figures are ratios within this one run");
    let bench = Bench::new();
    if wanted("issue") {
        issue_table(&bench);
    }
    let known = if wanted("grid") {
        grid(&bench, &modes, &limits, secs_each)
    } else {
        HashMap::new()
    };
    if wanted("shards") {
        shards(&bench, &modes, &limits, secs_each, &known);
    }
}
