//! End-to-end figures of `credbulk enable` against the in-process simulator, each printed next
//! to its yardstick from the same run, because these machines are too noisy for absolute times
//! to compare from run to run:
//!
//! 1. zero latency: credbulk's ids/s against a bare reqwest loop sending the same PUTs over the
//!    same number of connections (no CSV, no report, no classification), as a ratio;
//! 2. 20 ms simulated latency: credbulk's ids/s against the Little's-law bound
//!    (concurrency / latency);
//! 3. `--rate 1000` for 20 s: the rate the server saw and its busiest one-second window;
//! 4. start to first request (token fetch included), in-process and as a fresh process.
//!
//! `cargo bench --bench throughput`. Sizes can be shrunk for a smoke run with
//! `CREDBULK_BENCH_IDS`, `CREDBULK_BENCH_LATENCY_IDS`, `CREDBULK_BENCH_RATE_SECS` and
//! `CREDBULK_BENCH_ROUNDS`. The simulator runs on its own two threads; its CPU time is shown
//! apart so it is plain whether it, rather than the client, is what limits a figure.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser as _;
use credbulk::app::{Completed, execute};
use credbulk::cli::Cli;
use credbulk::control::Control;
use support::{Cpu, Sim, Workspace, env_count, median, verdict};

const CONCURRENCY: usize = 64;
const LATENCY: Duration = Duration::from_millis(20);
const RATE: u64 = 1000;

/// One timed run of a client against a fresh simulator.
struct Measured {
    ids: u64,
    wall: Duration,
    client_cpu: Duration,
    sim_cpu: Duration,
}

impl Measured {
    fn ids_per_sec(&self) -> f64 {
        self.ids as f64 / self.wall.as_secs_f64()
    }

    /// Milliseconds of CPU per 1,000 ids: (client, simulator).
    fn cpu_per_k(&self) -> (f64, f64) {
        let per_k = |d: Duration| d.as_secs_f64() * 1e6 / self.ids as f64;
        (per_k(self.client_cpu), per_k(self.sim_cpu))
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

    fn argv(&self, url: &str, input: &Path, extra: &[&str]) -> Vec<String> {
        let report = self.ws.dir.path().join("bench.report.csv");
        let _ = std::fs::remove_file(&report);
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
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        argv.extend(extra.iter().map(|s| (*s).to_owned()));
        argv
    }

    /// `credbulk enable` in-process, from command line to summary.
    fn credbulk(&self, sim: &Sim, ids: u64, extra: &[&str]) -> Measured {
        let input = self.input(ids);
        let cli = Cli::try_parse_from(self.argv(&sim.url(), &input, extra)).expect("arguments");
        let cpu = Cpu::now();
        let started = Instant::now();
        let done = self
            .ws
            .client
            .block_on(execute(cli.command, Arc::new(Control::new())));
        let wall = started.elapsed();
        let (client_cpu, sim_cpu) = Cpu::now().since(cpu);
        match done {
            Ok(Completed::Run { summary, .. }) => {
                assert_eq!(summary.exit_code(), 0, "{}", summary.render());
                assert_eq!(summary.tally.total(), ids, "{}", summary.render());
            }
            other => panic!("credbulk did not run: {other:?}"),
        }
        Measured {
            ids,
            wall,
            client_cpu,
            sim_cpu,
        }
    }

    /// The raw baseline: a token, then `concurrency` loops of bare PUTs on one client.
    fn raw(&self, sim: &Sim, ids: u64) -> Measured {
        let url = sim.url();
        let cpu = Cpu::now();
        let started = Instant::now();
        let ok = self.ws.client.block_on(raw_loop(&url, ids, CONCURRENCY));
        let wall = started.elapsed();
        let (client_cpu, sim_cpu) = Cpu::now().since(cpu);
        assert_eq!(ok, ids, "every raw PUT answers 200");
        Measured {
            ids,
            wall,
            client_cpu,
            sim_cpu,
        }
    }
}

/// What a careful person would write by hand: no input file, no report, no classification.
async fn raw_loop(url: &str, ids: u64, concurrency: usize) -> u64 {
    use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .build()
        .expect("client");
    let token = client
        .post(format!("{url}/iso/oauth2/token"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=demo&client_secret=demo-secret")
        .send()
        .await
        .expect("token")
        .bytes()
        .await
        .expect("token body");
    let token: serde_json::Value = serde_json::from_slice(&token).expect("token JSON");
    let bearer = Arc::new(format!(
        "Bearer {}",
        token["access_token"].as_str().expect("access_token")
    ));
    let next = Arc::new(AtomicU64::new(1));
    let mut loops = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, bearer, next) = (client.clone(), Arc::clone(&bearer), Arc::clone(&next));
        let base = format!("{url}/api/pam/credential/");
        loops.spawn(async move {
            let mut ok = 0;
            loop {
                let id = next.fetch_add(1, Ordering::Relaxed);
                if id > ids {
                    return ok;
                }
                let response = client
                    .put(format!("{base}{id}"))
                    .header(AUTHORIZATION, bearer.as_str())
                    .header(ACCEPT, "application/json")
                    .header(CONTENT_LENGTH, "0")
                    .send()
                    .await
                    .expect("PUT");
                ok += u64::from(response.status() == 200);
                let _ = response.bytes().await;
            }
        });
    }
    let mut ok = 0;
    while let Some(n) = loops.join_next().await {
        ok += n.expect("loop");
    }
    ok
}

fn row(label: &str, m: &Measured) {
    let (client, sim) = m.cpu_per_k();
    println!(
        "  {label:<22} {:>9.0} ids/s   wall {:>6.2} s   cpu/1k ids: client {:>5.1} ms, simulator {:>5.1} ms",
        m.ids_per_sec(),
        m.wall.as_secs_f64(),
        client,
        sim
    );
}

fn zero_latency(bench: &Bench) {
    let ids = env_count("CREDBULK_BENCH_IDS", 100_000);
    let rounds = env_count("CREDBULK_BENCH_ROUNDS", 3).max(1);
    let conc = CONCURRENCY.to_string();
    let burst = CONCURRENCY.to_string();
    println!(
        "\n1. zero latency: {ids} ids, --concurrency {CONCURRENCY}, --rate 1000000 --burst {burst} (no effective limit)"
    );
    let (mut raw, mut ours) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        // A fresh simulator per run, so every PUT is a first enable (a 200).
        let sim = Sim::start(ids, Duration::ZERO);
        let r = bench.raw(&sim, ids);
        sim.stop();
        let sim = Sim::start(ids, Duration::ZERO);
        let c = bench.credbulk(
            &sim,
            ids,
            &[
                "--concurrency",
                &conc,
                "--rate",
                "1000000",
                "--burst",
                &burst,
            ],
        );
        sim.stop();
        row(&format!("round {round} raw baseline"), &r);
        row(&format!("round {round} credbulk"), &c);
        raw.push(r);
        ours.push(c);
    }
    let rates = |ms: &[Measured]| ms.iter().map(Measured::ids_per_sec).collect::<Vec<_>>();
    let (raw_rate, our_rate) = (median(&rates(&raw)), median(&rates(&ours)));
    let ratio = our_rate / raw_rate;
    let cpu =
        |ms: &[Measured], f: fn(&Measured) -> f64| median(&ms.iter().map(f).collect::<Vec<_>>());
    println!(
        "  median: raw {raw_rate:.0} ids/s, credbulk {our_rate:.0} ids/s → ratio {ratio:.2}× (target ≥ 0.80: {})",
        verdict(ratio >= 0.8)
    );
    println!(
        "  median cpu/1k ids: raw client {:.1} ms, credbulk {:.1} ms, simulator {:.1} ms",
        cpu(&raw, |m| m.cpu_per_k().0),
        cpu(&ours, |m| m.cpu_per_k().0),
        cpu(&ours, |m| m.cpu_per_k().1),
    );
}

fn with_latency(bench: &Bench) {
    let ids = env_count("CREDBULK_BENCH_LATENCY_IDS", 100_000);
    let conc = CONCURRENCY.to_string();
    let bound = CONCURRENCY as f64 / LATENCY.as_secs_f64();
    println!(
        "\n2. {} ms simulated latency: {ids} ids, --concurrency {CONCURRENCY}; Little's-law bound {bound:.0} ids/s",
        LATENCY.as_millis()
    );
    let sim = Sim::start(ids, LATENCY);
    let r = bench.raw(&sim, ids);
    sim.stop();
    let sim = Sim::start(ids, LATENCY);
    let c = bench.credbulk(
        &sim,
        ids,
        &[
            "--concurrency",
            &conc,
            "--rate",
            "1000000",
            "--burst",
            &conc,
        ],
    );
    let max_in_flight = sim.handle().stats().max_in_flight;
    sim.stop();
    row("raw baseline", &r);
    row("credbulk", &c);
    println!(
        "  implied round trip (concurrency / ids per s): raw {:.2} ms, credbulk {:.2} ms",
        CONCURRENCY as f64 / r.ids_per_sec() * 1e3,
        CONCURRENCY as f64 / c.ids_per_sec() * 1e3
    );
    let share = c.ids_per_sec() / bound;
    println!(
        "  credbulk {:.0} ids/s = {:.1}% of the bound (target ≥ 95%: {}); raw {:.1}%; most in flight at the server {max_in_flight}",
        c.ids_per_sec(),
        share * 100.0,
        verdict(share >= 0.95),
        r.ids_per_sec() / bound * 100.0
    );
}

fn rate_accuracy(bench: &Bench) {
    let secs = env_count("CREDBULK_BENCH_RATE_SECS", 20);
    let ids = RATE * secs;
    println!(
        "\n3. rate accuracy: --rate {RATE} (burst 1) for {secs} s, {ids} ids, --concurrency {CONCURRENCY}"
    );
    let sim = Sim::start(ids, Duration::ZERO);
    let conc = CONCURRENCY.to_string();
    let m = bench.credbulk(
        &sim,
        ids,
        &["--concurrency", &conc, "--rate", &RATE.to_string()],
    );
    let stats = sim.handle().stats();
    let arrivals = sim.handle().arrivals();
    sim.stop();
    // Token fetches take permits too: every request the server saw counts.
    let span = arrivals
        .last
        .zip(arrivals.first)
        .map_or(Duration::ZERO, |(last, first)| last - first);
    let achieved = (stats.total_requests - 1) as f64 / span.as_secs_f64();
    let error = (achieved / RATE as f64 - 1.0).abs();
    let ceiling = RATE + 1;
    println!(
        "  server saw {} requests over {:.3} s: {achieved:.1} req/s, {:+.2}% off --rate (target within 2%: {})",
        stats.total_requests,
        span.as_secs_f64(),
        (achieved / RATE as f64 - 1.0) * 100.0,
        verdict(error <= 0.02)
    );
    println!(
        "  busiest one-second window: {} requests (rate + burst = {ceiling}: {}); client wall {:.2} s",
        stats.max_requests_per_second,
        verdict(stats.max_requests_per_second <= ceiling),
        m.wall.as_secs_f64()
    );
}

/// Median and worst milliseconds from start to the first PUT (and to the token request), over
/// `trials` fresh simulators, in-process or as a fresh process.
fn time_to_first(
    bench: &Bench,
    trials: usize,
    spawn: bool,
    extra: &[&str],
) -> (Vec<f64>, Vec<f64>) {
    let input = bench.input(1);
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_credbulk"));
    let (mut first_put, mut token) = (Vec::new(), Vec::new());
    for _ in 0..trials {
        let sim = Sim::start(1, Duration::ZERO);
        let argv = bench.argv(&sim.url(), &input, extra);
        let started;
        if spawn {
            started = Instant::now();
            let status = std::process::Command::new(&binary)
                .args(&argv[1..])
                .arg("-q")
                .stderr(std::process::Stdio::null())
                .status()
                .expect("credbulk runs");
            assert!(status.success(), "{status}");
        } else {
            let cli = Cli::try_parse_from(argv).expect("arguments");
            started = Instant::now();
            let done = bench
                .ws
                .client
                .block_on(execute(cli.command, Arc::new(Control::new())));
            assert!(matches!(done, Ok(Completed::Run { .. })), "{done:?}");
        }
        let arrivals = sim.handle().arrivals();
        sim.stop();
        first_put.push(ms(arrivals.first_api.expect("a PUT arrived") - started));
        token.push(ms(
            arrivals.first.expect("a token request arrived") - started
        ));
    }
    (first_put, token)
}

fn first_request(bench: &Bench) {
    let trials = 15;
    println!(
        "\n4. start to first request (token fetch included), {trials} trials each, 1-id input"
    );
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    for (label, extra) in [
        ("--burst 2", &["--burst", "2"][..]),
        ("defaults (--rate 10 --burst 1)", &[][..]),
    ] {
        let (put, token) = time_to_first(bench, trials, false, extra);
        println!(
            "  {label}, in-process: token request after {:.2} ms, first PUT after {:.2} ms (median; worst {:.2} ms)",
            median(&token),
            median(&put),
            max(&put)
        );
        let (put, token) = time_to_first(bench, trials, true, extra);
        println!(
            "  {label}, fresh process (exec included): token request after {:.2} ms, first PUT after {:.2} ms (median; worst {:.2} ms) (target < 50 ms: {})",
            median(&token),
            median(&put),
            max(&put),
            verdict(median(&put) < 50.0)
        );
    }
    println!(
        "  (with --burst 1 the token fetch takes the one permit an idle start allows, so the first PUT waits 1/rate for the next: design.md §4)"
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this with no such flag and
    // only checks that it starts.
    if !std::env::args().any(|a| a == "--bench") {
        println!("throughput: run with `cargo bench --bench throughput`");
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!("credbulk throughput bench: {cores} cores; figures are ratios within this one run");
    let bench = Bench::new();
    let only = std::env::var("CREDBULK_BENCH_ONLY").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|o| o == name);
    if wanted("first") {
        first_request(&bench);
    }
    if wanted("zero") {
        zero_latency(&bench);
    }
    if wanted("latency") {
        with_latency(&bench);
    }
    if wanted("rate") {
        rate_accuracy(&bench);
    }
}
