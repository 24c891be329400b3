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
