//! What the harness-less benches share: id files written on the fly, CPU time read from
//! `/proc` (per process, and per thread for the in-process simulator's threads), and a
//! simulator on a runtime of its own so that its threads can be told apart from the client's.
//! Linux only, like the machines the figures in BENCHMARKS.md come from.

#![allow(
    dead_code,
    reason = "each bench binary uses a different part of the support code"
)]

use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use credbulk::sim::{self, Credentials, SimConfig, SimHandle};

/// Thread name of the simulator's runtime, so its CPU time can be read apart from the client's.
pub const SIM_THREAD: &str = "sim-worker";

/// Writes `id` then `1..=n`, one per line.
pub fn write_ids(path: &Path, n: u64) {
    let file = std::fs::File::create(path).expect("create the id file");
    let mut out = BufWriter::with_capacity(1 << 20, file);
    out.write_all(b"id\n").expect("write ids");
    for id in 1..=n {
        writeln!(out, "{id}").expect("write ids");
    }
    out.flush().expect("write ids");
}

/// Where a bench's runs live: the client's runtime (one worker per core, the runtime `credbulk`
/// builds in main), a temporary folder, the secret file and the id files written into it.
pub struct Workspace {
    pub client: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
    pub secret: PathBuf,
}

impl Workspace {
    pub fn new() -> Self {
        let client = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("client runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "demo-secret\n").expect("secret file");
        Self {
            client,
            dir,
            secret,
        }
    }

    /// An id file of `1..=n`, written once per size.
    pub fn input(&self, n: u64) -> PathBuf {
        let path = self.dir.path().join(format!("ids-{n}.csv"));
        if !path.exists() {
            write_ids(&path, n);
        }
        path
    }
}

/// CPU time used so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    /// The whole process, exited threads included.
    pub process: Duration,
    /// The threads of the in-process simulator.
    pub sim: Duration,
}

impl Cpu {
    /// Reads this process's CPU time and its simulator threads' share.
    #[must_use]
    pub fn now() -> Self {
        let process = stat_cpu(Path::new("/proc/self/stat")).unwrap_or_default();
        let mut sim = Duration::ZERO;
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            for task in tasks.flatten() {
                let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
                if comm.trim_end() == SIM_THREAD {
                    sim += stat_cpu(&task.path().join("stat")).unwrap_or_default();
                }
            }
        }
        Self { process, sim }
    }

    /// CPU used since `earlier`: (client side, simulator).
    #[must_use]
    pub fn since(self, earlier: Self) -> (Duration, Duration) {
        let sim = self.sim.saturating_sub(earlier.sim);
        let process = self.process.saturating_sub(earlier.process);
        (process.saturating_sub(sim), sim)
    }
}

/// User plus system time from a `/proc/.../stat` file.
fn stat_cpu(path: &Path) -> Option<Duration> {
    let text = std::fs::read_to_string(path).ok()?;
    // The command name may hold spaces and parentheses; the fields after its last ')' do not.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of proc(5), counted from the state field (3).
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / clock_ticks()))
}

/// `sysconf(_SC_CLK_TCK)`, asked of `getconf` (the crate forbids the unsafe a direct call needs).
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// A simulator serving on a two-thread runtime of its own.
pub struct Sim {
    runtime: tokio::runtime::Runtime,
    handle: Option<SimHandle>,
}

impl Sim {
    /// Serves ids `1..=ids` (all disabled credentials) with `latency` added to each API request.
    #[must_use]
    pub fn start(ids: u64, latency: Duration) -> Self {
        Self::with(SimConfig {
            credentials: Credentials::generate(ids),
            latency,
            ..SimConfig::default()
        })
    }

    /// Serves `config` (its `listen` should stay at the default, 127.0.0.1:0).
    #[must_use]
    pub fn with(config: SimConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(SIM_THREAD)
            .enable_all()
            .build()
            .expect("simulator runtime");
        let handle = runtime
            .block_on(sim::spawn(config))
            .expect("simulator binds 127.0.0.1:0");
        Self {
            runtime,
            handle: Some(handle),
        }
    }

    /// The running simulator.
    #[must_use]
    pub fn handle(&self) -> &SimHandle {
        self.handle.as_ref().expect("running")
    }

    /// `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> String {
        self.handle().url()
    }

    /// Stops the server and its runtime.
    pub fn stop(mut self) {
        if let Some(handle) = self.handle.take() {
            self.runtime.block_on(handle.shutdown());
        }
        self.runtime.shutdown_background();
    }
}

/// Median of a few figures.
#[must_use]
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => f64::midpoint(sorted[n / 2 - 1], sorted[n / 2]),
    }
}

/// A count from the environment (`name=N`), else `default`.
#[must_use]
pub fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// "met" or "MISSED".
#[must_use]
pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}
