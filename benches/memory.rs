//! Peak resident memory of a whole `credbulk enable` process over 1M and 10M ids. The input is
//! written on the fly into a temp dir; the simulator is a separate `credbulk sim --generate N`
//! process, so only the client is measured. The peak is the child's `VmHWM` (the kernel's
//! high-water mark of its RSS), read from `/proc/PID/status` until it exits.
//!
//! `cargo bench --bench memory` (both sizes; about 15 minutes on two cores), or choose sizes:
//! `CREDBULK_BENCH_MEMORY_IDS=1000000 cargo bench --bench memory`.

mod support;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{verdict, write_ids};

const BINARY: &str = env!("CARGO_BIN_EXE_credbulk");

/// A `credbulk sim` process, killed when dropped.
struct SimProcess {
    child: Child,
    url: String,
}

impl SimProcess {
    fn start(ids: u64) -> Self {
        let mut child = Command::new(BINARY)
            .args([
                "sim",
                "--listen",
                "127.0.0.1:0",
                "--generate",
                &ids.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("credbulk sim starts");
        let stdout = child.stdout.take().expect("sim stdout");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("sim prints its address");
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .expect("`listening on URL` first")
            .to_owned();
        Self { child, url }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `VmHWM` of a running process, in KiB.
fn high_water_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct Measured {
    peak_kib: u64,
    wall: Duration,
}

fn enable(dir: &Path, input: &Path, url: &str) -> Measured {
    let secret = dir.join("secret");
    std::fs::write(&secret, "demo-secret\n").expect("secret file");
    let started = Instant::now();
    let mut child = Command::new(BINARY)
        .arg("enable")
        .arg(input)
        .args(["--url", url, "--client-id", "demo", "--client-secret-file"])
        .arg(&secret)
        .args(["--report"])
        .arg(dir.join("ids.report.csv"))
        .args([
            "--concurrency",
            "64",
            "--rate",
            "1000000",
            "--burst",
            "64",
            "--no-progress",
            "-q",
        ])
        .stderr(Stdio::inherit())
        .spawn()
        .expect("credbulk enable starts");
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = high_water_kib(child.id()) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "credbulk enable exited with {status}");
    Measured {
        peak_kib: peak,
        wall: started.elapsed(),
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("memory: run with `cargo bench --bench memory`");
        return;
    }
    let sizes: Vec<u64> = std::env::var("CREDBULK_BENCH_MEMORY_IDS")
        .unwrap_or_else(|_| "1000000,10000000".to_owned())
        .split(',')
        .filter_map(|s| s.trim().replace('_', "").parse().ok())
        .collect();
    println!("credbulk peak RSS bench: `credbulk enable` as a child process, simulator apart");
    for ids in sizes {
        let dir = tempfile::tempdir().expect("temp dir");
        let input = dir.path().join("ids.csv");
        write_ids(&input, ids);
        let input_mb = std::fs::metadata(&input).map_or(0, |m| m.len()) / 1_000_000;
        let sim = SimProcess::start(ids);
        let m = enable(dir.path(), &input, &sim.url);
        drop(sim);
        let report = std::fs::File::open(dir.path().join("ids.report.csv")).expect("report");
        // Streamed: the 10M-id report is most of a gigabyte.
        let rows = BufReader::new(report).lines().count() as u64 - 1;
        assert_eq!(rows, ids, "one report row per id");
        let peak_mb = m.peak_kib as f64 * 1024.0 / 1e6;
        let target = if ids <= 1_000_000 { 50.0 } else { 100.0 };
        println!(
            "  {ids:>9} ids ({input_mb} MB input): peak RSS {peak_mb:.1} MB (target ≤ {target} MB: {}), {:.0} ids/s, wall {:.1} s",
            verdict(peak_mb <= target),
            ids as f64 / m.wall.as_secs_f64(),
            m.wall.as_secs_f64()
        );
    }
}
