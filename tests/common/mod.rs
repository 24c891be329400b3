//! Shared harness of the integration tests: a simulator on loopback port 0, a temporary
//! directory, and the whole command line run in-process.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Parser;
use credbulk::app::{Completed, execute};
use credbulk::cli::Cli;
use credbulk::control::Control;
use credbulk::error::Error;
use credbulk::report::Row;
use credbulk::sim::{self, SimConfig, SimHandle};
use tempfile::TempDir;

/// A simulator plus a scratch directory with the client secret in a file.
pub struct Harness {
    pub sim: SimHandle,
    pub dir: TempDir,
    pub secret_file: PathBuf,
}

impl Harness {
    /// Starts a simulator with `config` (its listen address forced to loopback port 0).
    pub async fn start(config: SimConfig) -> Self {
        let secret = config.client_secret.clone();
        let sim = sim::spawn(SimConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..config
        })
        .await
        .expect("simulator starts");
        let dir = tempfile::tempdir().unwrap();
        let secret_file = dir.path().join("secret");
        std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
        Self {
            sim,
            dir,
            secret_file,
        }
    }

    /// Writes a file into the scratch directory.
    pub fn file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    /// The connection flags for this simulator.
    pub fn connection_args(&self) -> Vec<String> {
        vec![
            "--url".into(),
            self.sim.url(),
            "--client-id".into(),
            "demo".into(),
            "--client-secret-file".into(),
            self.secret_file.display().to_string(),
        ]
    }

    /// Runs `credbulk <command> <input> <connection flags> <extra>` in-process.
    pub async fn run(
        &self,
        command: &str,
        input: &Path,
        extra: &[&str],
    ) -> Result<Completed, Error> {
        self.run_with(command, input, extra, Arc::new(Control::new()))
            .await
    }

    /// Like [`Harness::run`] with a control the test can interrupt.
    pub async fn run_with(
        &self,
        command: &str,
        input: &Path,
        extra: &[&str],
        control: Arc<Control>,
    ) -> Result<Completed, Error> {
        let mut argv: Vec<String> = vec![
            "credbulk".into(),
            command.into(),
            input.display().to_string(),
        ];
        argv.extend(self.connection_args());
        // --no-config: a config file on the developer's machine must not change the tests.
        argv.extend(["--no-progress".to_owned(), "--no-config".to_owned()]);
        argv.extend(extra.iter().map(|s| (*s).to_owned()));
        let cli = Cli::try_parse_from(argv).expect("arguments parse");
        execute(cli.command, control).await
    }
}

/// The exit code of a command's result.
pub fn exit_code(result: &Result<Completed, Error>) -> u8 {
    match result {
        Ok(done) => done.exit_code(),
        Err(e) => e.exit_code(),
    }
}

/// Reads a CSV report's rows.
pub fn rows(path: &Path) -> Vec<Row> {
    let mut reader = csv::Reader::from_path(path).expect("report exists");
    reader
        .deserialize()
        .map(|r| r.expect("report row parses"))
        .collect()
}

/// `ids` one per line under an `id` header.
pub fn id_list(ids: impl IntoIterator<Item = u64>) -> String {
    let mut s = String::from("id\n");
    for id in ids {
        s.push_str(&id.to_string());
        s.push('\n');
    }
    s
}

/// A simulator on its own runtime, for tests that drive the real binary synchronously.
pub struct BlockingSim {
    pub runtime: tokio::runtime::Runtime,
    handle: Option<SimHandle>,
}

impl BlockingSim {
    /// Starts a simulator with `config` on loopback port 0.
    pub fn start(config: SimConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let handle = runtime
            .block_on(sim::spawn(SimConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                ..config
            }))
            .unwrap();
        Self {
            runtime,
            handle: Some(handle),
        }
    }

    /// The running simulator.
    pub fn handle(&self) -> &SimHandle {
        self.handle.as_ref().unwrap()
    }
}

impl Drop for BlockingSim {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.runtime.block_on(h.shutdown());
        }
    }
}

/// The real binary, with a clean environment pointing at `url` with the simulator's client.
pub fn binary(url: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("credbulk"));
    cmd.env_remove("RUST_LOG")
        .env("SENHASEGURA_URL", url)
        .env("SENHASEGURA_CLIENT_ID", "demo")
        .env("SENHASEGURA_CLIENT_SECRET", "demo-secret");
    cmd
}

/// Sends `signal` (e.g. "INT", "TERM", "KILL") to a child process (POSIX only: tests that
/// send signals are `cfg(unix)`).
#[cfg(unix)]
pub fn signal(child: &std::process::Child, signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Waits until the report at `path` holds at least `rows` complete lines after its header.
pub fn wait_for_rows(path: &Path, rows: usize) {
    for _ in 0..600 {
        if std::fs::read_to_string(path).is_ok_and(|text| text.matches('\n').count() > rows) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the report never reached {rows} rows");
}

/// The last row per id of a CSV report (ids that parse as numbers).
pub fn last_rows(path: &Path) -> std::collections::BTreeMap<u64, Row> {
    let mut last = std::collections::BTreeMap::new();
    for row in rows(path) {
        if row.outcome == "duplicate" {
            continue;
        }
        if let Ok(id) = row.id.parse::<u64>() {
            last.insert(id, row);
        }
    }
    last
}

/// Asserts the end state of a completed run over ids `1..=ids`: every id's last row is a
/// success and the server applied each exactly once. Returns how many ids came back as
/// `already_enabled` (applied by a run that died before writing their rows).
pub fn assert_all_enabled_once(stats: &credbulk::sim::SimStats, report: &Path, ids: u64) -> usize {
    let last = last_rows(report);
    assert_eq!(last.len() as u64, ids, "every id has a row");
    assert!(
        last.values()
            .all(|r| r.outcome == "enabled" || r.outcome == "already_enabled"),
        "every id's last row is a success"
    );
    assert_eq!(stats.activations.len() as u64, ids);
    assert!(
        stats.activations.values().all(|n| *n == 1),
        "no id activated twice"
    );
    last.values()
        .filter(|r| r.outcome == "already_enabled")
        .count()
}

/// Ids the server saw more than once plus once per lost answer, with no retry recorded in the
/// report either: only a crash (ids in progress when the process died) explains those.
pub fn unexplained_resends(stats: &credbulk::sim::SimStats, report: &Path) -> Vec<u64> {
    let retried: std::collections::HashSet<u64> = rows(report)
        .iter()
        .filter(|r| r.attempts > 1)
        .filter_map(|r| r.id.parse().ok())
        .collect();
    stats
        .requests_per_id
        .iter()
        .filter(|(id, sent)| **sent > 1 + stats.lost_answers.get(id).copied().unwrap_or(0))
        .map(|(id, _)| *id)
        .filter(|id| !retried.contains(id))
        .collect()
}
