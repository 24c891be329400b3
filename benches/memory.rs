//! Peak resident memory of a whole `credbulk enable` process over 1M and 10M ids. The input is
//! written on the fly into a temp dir; the simulator is a separate `credbulk sim --generate N`
//! process, so only the client is measured. The peak is the child's `VmHWM` (the kernel's
//! high-water mark of its RSS), read from `/proc/PID/status` until it exits.
//!
//! `cargo bench --bench memory` (both sizes; about 15 minutes on two cores), or choose sizes:
//! `CREDBULK_BENCH_MEMORY_IDS=1000000 cargo bench --bench memory`.
//!
//! Then blank input: ids between 10M blank lines, and between 10M separator-only lines
//! (`;;;`), each of which must stay within 40 MB. `CREDBULK_BENCH_MEMORY_BLANK=N` changes
//! the count (0 skips them); `CREDBULK_BENCH_MEMORY_IDS=` (empty) runs only these.

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
    let blank: u64 = std::env::var("CREDBULK_BENCH_MEMORY_BLANK")
        .ok()
        .and_then(|s| s.trim().replace('_', "").parse().ok())
        .unwrap_or(10_000_000);
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
    if blank > 0 {
        blank_lines(blank);
    }
}

/// Two ids with `lines` blank lines between them, then with `lines` separator-only lines.
fn blank_lines(lines: u64) {
    use std::io::Write as _;
    for (label, filler) in [("blank", &b"\n"[..]), ("separator-only", b";;;\n")] {
        let dir = tempfile::tempdir().expect("temp dir");
        let input = dir.path().join("ids.csv");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&input).expect("input"));
        out.write_all(b"id;a;b;c\n1;x;y;z\n").expect("write");
        for _ in 0..lines {
            out.write_all(filler).expect("write");
        }
        out.write_all(b"2;x;y;z\n").expect("write");
        out.flush().expect("flush");
        drop(out);
        let input_mb = std::fs::metadata(&input).map_or(0, |m| m.len()) / 1_000_000;
        let sim = SimProcess::start(2);
        let m = enable(dir.path(), &input, &sim.url);
        drop(sim);
        let report = std::fs::read_to_string(dir.path().join("ids.report.csv")).expect("report");
        let last_line = (lines + 3).to_string();
        assert!(
            report
                .lines()
                .any(|l| l.starts_with(&format!("{last_line},2,"))),
            "id 2 is on line {last_line}"
        );
        let peak_mb = m.peak_kib as f64 * 1024.0 / 1e6;
        println!(
            "  2 ids between {lines} {label} lines ({input_mb} MB input): peak RSS {peak_mb:.1} MB (target ≤ 40 MB: {}), wall {:.1} s",
            verdict(peak_mb <= 40.0),
            m.wall.as_secs_f64()
        );
    }
}
